"""A small ResNet classifier over a data set's classes: it names pictures (curation), scores
generators (Classification Accuracy Score) and gives a feature space for offline FID/KID and
memorisation checks, with no download."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ganpage.configs import known_fields


@dataclass
class ClassifierConfig:
    num_classes: int
    image_size: int = 64
    channels: int = 32  # width of the first stage; doubles at each of the 4 stages

    @classmethod
    def from_dict(cls, raw: dict) -> ClassifierConfig:
        return cls(**known_fields(cls, raw, "classifier's config"))

    def to_dict(self) -> dict:
        return asdict(self)


class ResidualStage(nn.Module):
    """Two 3x3 convs with a residual connection, then 2x average-pool down."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.avg_pool2d(F.relu(h + self.skip(x)), 2)


class Classifier(nn.Module):
    """images (B, 3, S, S) in [-1, 1] -> logits (B, num_classes); ``features`` -> (B, 8w)."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        w = config.channels
        widths = [w, 2 * w, 4 * w, 8 * w]
        self.stem = nn.Conv2d(3, w, 3, padding=1)
        self.stages = nn.ModuleList(
            ResidualStage(c_in, c_out) for c_in, c_out in zip([w, *widths[:-1]], widths,
                                                              strict=True))
        self.head = nn.Linear(widths[-1], config.num_classes)

    @property
    def feature_dim(self) -> int:
        return 8 * self.config.channels

    def features(self, images: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.stem(images))
        for stage in self.stages:
            h = stage(h)
        return h.mean(dim=(2, 3))  # (B, 8w) global average pool

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def fold_batch_norms(self) -> Classifier:
        """For inference only (eval mode): fold each batch norm into the conv before it, in
        place (torch's ``fuse_conv_bn_eval``). The same outputs within float error; emoji64's
        classifier ran 666 instead of 622 pictures/s per CPU core at batch 32."""
        if self.training:
            raise RuntimeError("fold_batch_norms is for a network in eval mode")
        for stage in self.stages:
            if isinstance(stage.bn1, nn.BatchNorm2d):
                stage.conv1, stage.bn1 = fuse_conv_bn_eval(stage.conv1, stage.bn1), nn.Identity()
                stage.conv2, stage.bn2 = fuse_conv_bn_eval(stage.conv2, stage.bn2), nn.Identity()
        return self
