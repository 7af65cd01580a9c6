"""Tiny randomly initialised models: a ganpage-cgan small enough to run in milliseconds."""

from __future__ import annotations

from pathlib import Path

import torch

from ganpage.categories import CategorySet
from ganpage.models.cgan import CGANConfig, CGANGenerator
from ganpage.models.loading import save_model

TINY_CLASSES = ["Hamster", "Bagel", "Mailbox"]


def make_tiny_model(folder: Path, classes: list[str] = TINY_CLASSES, image_size: int = 32,
                    seed: int = 0, num_styles: int = 0, g_channels: int = 4) -> Path:
    """A random ganpage-cgan small enough to run in milliseconds, saved as a model folder;
    with ``num_styles``, one that takes a style beside the class; with more ``g_channels``, a
    slower one (the cost of a picture grows with their square)."""
    torch.manual_seed(seed)
    config = CGANConfig(num_classes=len(classes), image_size=image_size, z_dim=8, embed_dim=8,
                        g_channels=g_channels, d_channels=4, num_styles=num_styles,
                        style_dim=8)
    net = CGANGenerator(config)
    # BatchNorm running stats at their defaults make flat pictures; give them some spread.
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
    return save_model(folder, architecture="ganpage-cgan", model_id=f"tiny-{seed}",
                      config=config.to_dict(), net=net,
                      categories=CategorySet.from_names(classes),
                      card="# tiny\n\nA randomly initialised test model.\n")
