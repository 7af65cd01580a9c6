"""Differentiable augmentation for training a GAN on small data (DiffAugment, Zhao et al. 2020).

The same random colour, translation and cutout transforms are applied to real and generated
pictures before the discriminator sees them, so D cannot overfit a few hundred pictures while
G still learns the un-augmented distribution. All ops are differentiable and use the global
torch RNG, so a resumed run restores them exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def adjust_color(x: torch.Tensor) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5); x in [-1, 1]."""
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translate(x: torch.Tensor, ratio: float = 0.125, fill: str = "zeros") -> torch.Tensor:
    """Shift each picture by up to ``ratio`` of its size, filling the uncovered strip with
    zeros (mid grey, as DiffAugment does) or by repeating the edge pixels (``fill="edge"``)."""
    if fill not in ("zeros", "edge"):
        raise ValueError(f"fill must be 'zeros' or 'edge', got {fill!r}")
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # (B, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx  # (B, 1, W)
    border = 1 if fill == "zeros" else 0  # a zero border to read from when shifted out
    padded = F.pad(x, (border,) * 4)
    rows = (rows + border).clamp(0, h - 1 + 2 * border).expand(b, h, w)
    cols = (cols + border).clamp(0, w - 1 + 2 * border).expand(b, h, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def translate_edge(x: torch.Tensor) -> torch.Tensor:
    """``translate`` that repeats edge pixels: no grey strips, so G cannot learn to draw them
    (on white-background emoji the zero fill leaked into G as grey frames)."""
    return translate(x, fill="edge")


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of ``ratio`` times the picture size in each picture."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows - cy).abs() <= size_y // 2) & ((cols - cx).abs() <= size_x // 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "color": adjust_color,
    "translation": translate,
    "translation-edge": translate_edge,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[str]:
    """'color,translation,cutout' -> names, checked against the known augments."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in AUGMENTS]
    if unknown:
        raise ValueError(f"unknown augment {unknown}; known: {', '.join(AUGMENTS)}")
    return names


def diff_augment(x: torch.Tensor, policy: list[str]) -> torch.Tensor:
    """Apply the augments of ``policy`` in order."""
    for name in policy:
        x = AUGMENTS[name](x)
    return x
