"""The one generator interface every model is used through: categories in, uint8 pictures out.

``Generator.sample(labels, seeds, truncation)`` is deterministic for a given (model, category,
seed, truncation) on a given device: the noise comes from ``ganpage.noise``, the network runs in
eval mode under ``torch.inference_mode``, and each distinct truncation is run as its own batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ganpage.categories import CategorySet
from ganpage.noise import noise_and_styles, style_ids, truncated_noise
from ganpage.precision import bfloat16_is_native


class GeneratorNet(Protocol):
    """What a network must offer to be wrapped: eval-mode sampling from (z, labels, truncation),
    class embeddings for morphs, and a hook the loader calls once the weights are in."""

    def generate(self, z: torch.Tensor, labels: torch.Tensor, truncation: float) -> torch.Tensor:
        """(B, z_dim) truncated noise + (B,) class ids -> (B, 3, H, W) in [-1, 1]."""
        ...

    def class_embedding(self, labels: torch.Tensor) -> torch.Tensor: ...

    def generate_embedded(self, z: torch.Tensor, embedding: torch.Tensor,
                          truncation: float) -> torch.Tensor: ...

    def prepare_for_inference(self) -> GeneratorNet: ...


@dataclass
class Generator:
    """A loaded model: its network, categories and identity, with a deterministic ``sample``."""

    net: nn.Module
    categories: CategorySet
    model_id: str
    z_dim: int
    image_size: int
    card: str = ""
    category_scores: dict[int, float] = field(default_factory=dict)  # class id -> 0..1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        self.net.eval().requires_grad_(False)

    @property
    def num_styles(self) -> int:
        """Styles the network takes beside the class (0: none); a seed draws its own."""
        return getattr(self.net, "num_styles", 0)

    def styles_of(self, seeds: Sequence[int]) -> torch.Tensor | None:
        """The style each seed draws (``noise.style_ids``), or None for a model without."""
        if not self.num_styles:
            return None
        drawn = style_ids(list(seeds), self.z_dim, self.num_styles)
        return torch.from_numpy(drawn).to(self.device)

    def to(self, device: str | torch.device, dtype: torch.dtype | None = None) -> Generator:
        """Move to a device and weight dtype; None picks bfloat16 where the device computes it
        faster than float32 (CUDA, CPUs with AMX or AMD's AVX512-BF16: ``precision.py``) and
        float32 elsewhere.

        bfloat16 runs the whole network in bf16 (no per-call casts); its pictures differ from
        float32's by a fraction of one 8-bit level on average (tests/test_models.py).
        """
        self.device = torch.device(device)
        if dtype is None:
            dtype = torch.bfloat16 if bfloat16_is_native(self.device) else torch.float32
        self.dtype = dtype
        self.net.to(device=self.device, dtype=dtype)
        return self

    def sample(
        self,
        labels: Sequence[int],
        seeds: Sequence[int],
        truncation: float | Sequence[float] = 1.0,
    ) -> np.ndarray:
        """Pictures for each (label, seed, truncation): uint8 RGB, shape (B, H, W, 3)."""
        labels, seeds = list(labels), list(seeds)
        truncations = _broadcast_truncation(truncation, len(labels))
        if len(seeds) != len(labels):
            raise ValueError(f"got {len(labels)} labels but {len(seeds)} seeds")
        for label in labels:
            if not 0 <= label < len(self.categories):
                raise ValueError(f"label {label} out of range 0..{len(self.categories) - 1}")
        out = np.empty((len(labels), self.image_size, self.image_size, 3), dtype=np.uint8)
        for value in sorted(set(truncations)):
            rows = [i for i, t in enumerate(truncations) if t == value]
            out[rows] = self._sample_one_truncation(
                [labels[i] for i in rows], [seeds[i] for i in rows], value
            )
        return out

    def sample_every_class(self, seeds: int, truncation: float = 1.0, batch_size: int = 256,
                           first_seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Seeds ``first_seed`` .. ``first_seed + seeds - 1`` of every class, class by class, in
        batches: yields (labels (B,), uint8 pictures (B, H, W, 3))."""
        labels = np.repeat(np.arange(len(self.categories)), seeds)
        noise_seeds = np.tile(np.arange(first_seed, first_seed + seeds), len(self.categories))
        for start in range(0, len(labels), batch_size):
            batch = labels[start:start + batch_size]
            yield batch, self.sample(batch.tolist(),
                                     noise_seeds[start:start + batch_size].tolist(), truncation)

    def morph(self, labels: tuple[int, int], seeds: tuple[int, int], steps: int,
              truncation: float = 1.0) -> np.ndarray:
        """``steps`` pictures morphing from (labels[0], seeds[0]) to (labels[1], seeds[1]):
        noise and class embedding are interpolated linearly. Returns (steps, H, W, 3) uint8."""
        if steps < 2:
            raise ValueError("a morph needs at least 2 steps")
        z = torch.from_numpy(truncated_noise(list(seeds), self.z_dim, truncation))
        alpha = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
        styles = self.styles_of(seeds)
        style_kwargs = {} if styles is None else {"styles": styles}
        with torch.inference_mode():
            ends = self.net.class_embedding(torch.tensor(labels, device=self.device),
                                            **style_kwargs).float()
            embedding = torch.lerp(ends[0].cpu(), ends[1].cpu(), alpha)
            noise = torch.lerp(z[0], z[1], alpha)
            images = self.net.generate_embedded(noise.to(self.device, self.dtype),
                                                embedding.to(self.device, self.dtype), truncation)
        return to_uint8(images)

    def _sample_one_truncation(self, labels: list[int], seeds: list[int], truncation: float):
        style_kwargs = {}
        if self.num_styles:  # the seed's noise and style from one pass over its stream
            noise, styles = noise_and_styles(seeds, self.z_dim, truncation, self.num_styles)
            style_kwargs["styles"] = torch.from_numpy(styles).to(self.device)
        else:
            noise = truncated_noise(seeds, self.z_dim, truncation)
        z = torch.from_numpy(noise).to(device=self.device, dtype=self.dtype)
        y = torch.tensor(labels, dtype=torch.long, device=self.device)
        with torch.inference_mode():
            images = self.net.generate(z, y, truncation, **style_kwargs)  # (B, 3, H, W)
        return to_uint8(images)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) floats in [-1, 1] -> (B, H, W, 3) uint8, rounding to nearest."""
    scaled = (images.float().clamp(-1, 1) + 1) * 127.5
    return scaled.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def _broadcast_truncation(truncation: float | Sequence[float], count: int) -> list[float]:
    values = [float(truncation)] * count if isinstance(truncation, int | float) else [
        float(t) for t in truncation]
    if len(values) != count:
        raise ValueError(f"got {count} labels but {len(values)} truncation values")
    for value in values:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"truncation must be in (0, 1], got {value}")
    return values
