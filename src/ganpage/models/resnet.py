"""ResNet-50 (He et al. 2016, "v1.5": the stride sits on the 3x3 conv) for ImageNet classifiers,
written for ganpage with torchvision's parameter names, which timm's ``resnet50`` shares
(``conv1``, ``bn1``, ``layer1.0.conv1`` ... ``layer4.2.bn3``, ``fc``), so either library's
weight files load with a strict key and shape check.

``ImageNetClassifierNet`` wraps it with the ImageNet input step (resize, centre crop, mean/std),
so it takes the pictures every ganpage classifier takes: (B, 3, H, W) in [-1, 1], any size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganpage.configs import known_fields
from ganpage.errors import GanpageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESNET50_BLOCKS = (3, 4, 6, 3)  # bottleneck blocks per stage
INTERPOLATIONS = ("bilinear", "bicubic")


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here) -> 1x1 (4x wider), plus the shortcut (``downsample``)."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(h + shortcut)


class ResNet50(nn.Module):
    """Normalised pictures (B, 3, 224, 224) -> logits (B, num_classes); features (B, 2048)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        in_channels = 64
        for index, (blocks, width) in enumerate(zip(RESNET50_BLOCKS, (64, 128, 256, 512),
                                                    strict=True)):
            stride = 1 if index == 0 else 2
            layer = []
            for block in range(blocks):
                layer.append(Bottleneck(in_channels, width, stride if block == 0 else 1))
                in_channels = width * Bottleneck.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*layer))
        self.fc = nn.Linear(in_channels, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))  # (B, 64, 112, 112)
        h = F.max_pool2d(h, 3, stride=2, padding=1)  # (B, 64, 56, 56)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            h = getattr(self, name)(h)  # ... (B, 2048, 7, 7)
        return h.mean(dim=(2, 3))  # (B, 2048)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@dataclass
class ImageNetInput:
    """How pictures are prepared: resize the shorter side to ``image_size / crop_fraction``,
    crop the centre ``image_size`` square, normalise with ``mean``/``std`` (0-1 pixels).

    Defaults are torchvision's ResNet-50 evaluation (bilinear, 256 then 224); timm's files say
    theirs in ``config.json`` (``pretrained_cfg``: bicubic, crop_pct 0.95 for ``a1_in1k``)."""

    image_size: int = 224
    crop_fraction: float = 0.875
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    std: tuple[float, float, float] = field(default=IMAGENET_STD)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise GanpageError(f"unknown interpolation {self.interpolation!r} for the "
                               f"classifier's input; use {' or '.join(INTERPOLATIONS)}")
        if not 0 < self.crop_fraction <= 1 or self.image_size < 32:
            raise GanpageError(f"the classifier's crop fraction {self.crop_fraction} must be "
                               f"in (0, 1] and its input size {self.image_size} at least 32")
        self.mean, self.std = tuple(self.mean), tuple(self.std)  # type: ignore[assignment]

    @classmethod
    def from_dict(cls, raw: dict) -> ImageNetInput:
        return cls(**known_fields(cls, raw, "ImageNet input settings"))

    def to_dict(self) -> dict:
        return asdict(self)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, 3, image_size, image_size), normalised."""
        height, width = images.shape[-2:]
        resized = round(self.image_size / self.crop_fraction)
        scale = resized / min(height, width)
        size = (max(resized, round(height * scale)), max(resized, round(width * scale)))
        x = F.interpolate((images + 1) / 2, size=size, mode=self.interpolation,
                          align_corners=False, antialias=True)
        top = (size[0] - self.image_size) // 2
        left = (size[1] - self.image_size) // 2
        x = x[..., top:top + self.image_size, left:left + self.image_size]
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device)[:, None, None]
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device)[:, None, None]
        return (x - mean) / std


class ImageNetClassifierNet(nn.Module):
    """A ResNet-50 behind its input step: the ``features``/``head`` calls of ganpage's own
    ``Classifier`` (pictures in [-1, 1], any size), so ``LoadedClassifier`` uses either."""

    def __init__(self, resnet: ResNet50, preprocess: ImageNetInput):
        super().__init__()
        self.resnet = resnet
        self.preprocess = preprocess

    @property
    def head(self) -> nn.Linear:
        return self.resnet.fc

    @property
    def feature_dim(self) -> int:
        return self.resnet.fc.in_features

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.resnet.features(self.preprocess(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
