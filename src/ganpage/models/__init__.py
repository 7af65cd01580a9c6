"""Generators and their loading: ganpage's conditional GAN, the common interface, model folders."""

from ganpage.models.generator import Generator
from ganpage.models.loading import ModelLoadError, load_generator

__all__ = ["Generator", "ModelLoadError", "load_generator"]
