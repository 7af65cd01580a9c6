"""ganpage's class-conditional GAN: a compact BigGAN-style generator, projection discriminator.

Recipe (see docs/internals.md for the reasons): residual up/down blocks, conditional batch norm in G
fed by [z, class embedding], spectral norm and a projection head in D (Miyato & Koyama 2018),
hinge loss, DiffAugment for small data (Zhao et al. 2020), EMA of G for sampling.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from ganpage.configs import known_fields


@dataclass
class CGANConfig:
    """Everything needed to rebuild the networks; saved as config.json beside the weights."""

    num_classes: int
    image_size: int = 64  # 32..256, a power of two
    z_dim: int = 128
    embed_dim: int = 128  # shared class embedding fed to every conditional batch norm
    g_channels: int = 32  # width multiplier of G; the 4x4 stage has 8x this
    d_channels: int = 32  # width multiplier of D
    # a second label (the emoji set a picture comes from: its art style), 0 for none. G takes
    # it beside the class, D projects both; a sample's style is drawn from its seed (noise.py)
    num_styles: int = 0
    style_dim: int = 32  # size of G's style embedding (when num_styles > 0)

    def __post_init__(self) -> None:
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}")
        if self.num_classes < 2:
            raise ValueError(f"a class-conditional GAN needs >= 2 classes, got {self.num_classes}")
        if self.num_styles < 0 or self.num_styles == 1:
            raise ValueError(f"num_styles must be 0 (no style label) or >= 2, got "
                             f"{self.num_styles}")

    @property
    def embedding_dim(self) -> int:
        """Size of G's conditioning beside z: the class embedding, then the style's if any."""
        return self.embed_dim + (self.style_dim if self.num_styles else 0)

    @property
    def num_blocks(self) -> int:
        return int(math.log2(self.image_size)) - 2  # 4x4 -> image_size

    def channel_schedule(self, width: int) -> list[int]:
        """Channels at 4x4, 8x8, ..., image_size: 8w, 8w, 4w, 2w, w (capped at 8w)."""
        return [width * min(8, 2 ** (self.num_blocks - i)) for i in range(self.num_blocks + 1)]

    @classmethod
    def from_dict(cls, raw: dict) -> CGANConfig:
        return cls(**known_fields(cls, raw, "model's config"))

    def to_dict(self) -> dict:
        return asdict(self)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose gain and bias are linear functions of the conditioning vector."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels)
        self.bias = nn.Linear(cond_dim, channels)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.gain.bias)
        nn.init.zeros_(self.bias.weight)
        nn.init.zeros_(self.bias.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(cond)[:, :, None, None]  # (B, C, 1, 1)
        bias = self.bias(cond)[:, :, None, None]
        return self.norm(x) * gain + bias


class GBlock(nn.Module):
    """Residual block that doubles the resolution: (B, Cin, H, W) -> (B, Cout, 2H, 2W)."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm(in_channels, cond_dim)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.bn2 = ConditionalBatchNorm(out_channels, cond_dim)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x, cond))
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        h = self.conv1(h)
        h = self.conv2(F.relu(self.bn2(h, cond)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CGANGenerator(nn.Module):
    """z (B, z_dim) + labels (B,) [+ styles (B,)] -> images (B, 3, S, S) in [-1, 1]."""

    def __init__(self, config: CGANConfig):
        super().__init__()
        self.config = config
        channels = config.channel_schedule(config.g_channels)
        cond_dim = config.z_dim + config.embedding_dim
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        if config.num_styles:
            self.style_embed = nn.Embedding(config.num_styles, config.style_dim)
        self.stem = nn.Linear(cond_dim, channels[0] * 4 * 4)
        self.blocks = nn.ModuleList(
            GBlock(c_in, c_out, cond_dim) for c_in, c_out in pairwise(channels)
        )
        self.out_norm = nn.BatchNorm2d(channels[-1])
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    @property
    def num_styles(self) -> int:
        return self.config.num_styles

    def forward(self, z: torch.Tensor, labels: torch.Tensor, condition: float = 1.0,
                styles: torch.Tensor | None = None) -> torch.Tensor:
        """``condition`` scales the class embedding: 0 is an unconditional G (transitional
        conditioning fades it in while training, see ``ganpage.losses``); sampling uses 1.
        ``styles`` (B,) is required exactly when the model has a style label."""
        class_part = self.embed(labels) * condition
        if not self.num_styles:
            return self.generate_embedded(z, class_part, 1.0)
        return self.generate_embedded(z, torch.cat([class_part, self._style(styles)], 1), 1.0)

    def class_embedding(self, labels: torch.Tensor,
                        styles: torch.Tensor | None = None) -> torch.Tensor:
        """G's conditioning beside z: (B, embedding_dim), interpolated for morphs."""
        if not self.num_styles:
            return self.embed(labels)
        return torch.cat([self.embed(labels), self._style(styles)], 1)

    def _style(self, styles: torch.Tensor | None) -> torch.Tensor:
        if styles is None:
            raise ValueError("this model has a style label: give each picture's style "
                             "(ganpage.noise.style_ids draws it from the seed)")
        return self.style_embed(styles)

    def prepare_for_inference(self) -> CGANGenerator:
        """Nothing to precompute: batch norm already uses its running statistics in eval."""
        return self

    def generate_embedded(self, z: torch.Tensor, embedding: torch.Tensor,
                          truncation: float) -> torch.Tensor:
        """z (B, z_dim) + ``class_embedding`` (B, embedding_dim) -> images; mixtures make
        morphs."""
        del truncation  # our G takes truncation through z alone
        cond = torch.cat([z, embedding], dim=1)  # (B, z_dim + embed_dim)
        h = self.stem(cond).view(z.shape[0], -1, 4, 4)  # (B, 8w, 4, 4)
        for block in self.blocks:
            h = block(h, cond)
        return torch.tanh(self.to_rgb(F.relu(self.out_norm(h))))  # (B, 3, S, S)

    def generate(self, z: torch.Tensor, labels: torch.Tensor, truncation: float,
                 styles: torch.Tensor | None = None) -> torch.Tensor:
        """Sampling entry point shared with other models; z is already truncated and scaled."""
        del truncation  # our G takes truncation through z alone
        return self(z, labels, styles=styles)


class DBlock(nn.Module):
    """Residual block that halves the resolution: (B, Cin, H, W) -> (B, Cout, H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int, first: bool = False):
        super().__init__()
        self.first = first
        self.conv1 = spectral_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = spectral_norm(nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        h = F.avg_pool2d(h, 2)
        return h + self.skip(F.avg_pool2d(x, 2))


class CGANDiscriminator(nn.Module):
    """images (B, 3, S, S) + labels (B,) [+ styles (B,)] -> realness logits (B,) with a
    projection head for the class (and one for the style), and class logits (B, num_classes):
    the same class embeddings scored against every class, which the trainer can use as an
    auxiliary classifier (AC-GAN, Odena et al. 2017)."""

    def __init__(self, config: CGANConfig):
        super().__init__()
        self.config = config
        channels = list(reversed(config.channel_schedule(config.d_channels)))  # w, 2w, ..., 8w
        in_channels = [3, *channels[:-1]]
        self.blocks = nn.ModuleList(
            DBlock(c_in, c_out, first=(i == 0))
            for i, (c_in, c_out) in enumerate(zip(in_channels, channels, strict=True))
        )
        self.linear = spectral_norm(nn.Linear(channels[-1], 1))
        self.embed = spectral_norm(nn.Embedding(config.num_classes, channels[-1]))
        self.num_styles = config.num_styles
        if config.num_styles:
            self.style_embed = spectral_norm(nn.Embedding(config.num_styles, channels[-1]))
        self.register_buffer("class_ids", torch.arange(config.num_classes), persistent=False)

    def forward(self, images: torch.Tensor, labels: torch.Tensor, condition: float = 1.0,
                styles: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``condition`` scales the class's projection term: 0 is an unconditional D. The
        style's term is never scaled: a style has hundreds of pictures, nothing to collapse."""
        h = images
        for block in self.blocks:
            h = block(h)  # ends at (B, 8w, 2, 2)
        h = F.relu(h).sum(dim=(2, 3))  # (B, 8w) global sum pooling
        # one call of the embedding per forward: one power iteration of its spectral norm
        class_logits = h @ self.embed(self.class_ids).T  # (B, num_classes)
        projection = class_logits.gather(1, labels[:, None]).squeeze(1)  # (B,)
        realness = self.linear(h).squeeze(1) + condition * projection
        if self.num_styles:
            if styles is None:
                raise ValueError("this discriminator has a style label: give each picture's "
                                 "style")
            realness = realness + (h * self.style_embed(styles)).sum(1)
        return realness, class_logits
