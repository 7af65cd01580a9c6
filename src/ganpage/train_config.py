"""A training run's settings: ``TrainConfig`` (saved as ``config.json`` in the run folder),
what a resumed run may change, and the checks every setting passes before a run starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganpage.configs import known_fields
from ganpage.errors import GanpageError

if TYPE_CHECKING:
    from ganpage.models.cgan import CGANConfig

PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass
class TrainConfig:
    """Every knob of a run; saved as ``config.json`` in the run folder."""

    data: str
    out: str = "runs"
    total_kimg: float = 500.0
    batch_size: int = 32
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)
    ema_kimg: float = 2.0  # half-life of the EMA generator, in thousands of images
    augment: str = "color,translation-edge,cutout"  # edge fill: see augment.translate_edge
    # weight of D's auxiliary class loss (cross-entropy of its class logits on real pictures
    # for D, on generated ones for G); 0 is a pure projection discriminator
    class_loss_weight: float = 0.0
    # weight of the mode-seeking term (MSGAN, Mao et al. 2019): G is penalised when two noise
    # vectors of one class give near-identical pictures; 0 turns it off
    diversity_loss_weight: float = 0.0
    loss: str = "hinge"  # or "relativistic" (R3GAN's pairing loss; give it r1_gamma)
    # weight gamma of the zero-centred gradient penalties, gamma/2 (R1 on reals + R2 on fakes),
    # applied every r1_every steps as a separate step of D (lazy regularisation, StyleGAN2)
    r1_gamma: float = 0.0
    r1_every: int = 16
    # transitional conditioning: unconditional until condition_start_kimg, then the class input
    # fades in over condition_fade_kimg (both 0: conditional from the start)
    condition_start_kimg: float = 0.0
    condition_fade_kimg: float = 0.0
    # warm start: a new run whose G, D and EMA G begin as this checkpoint's (a ckpt-*.pt file or
    # a run folder's newest); optimisers, counters and RNG start fresh. "" starts from scratch
    init_from: str = ""
    # a manifest field whose values are a second label, the picture's style (``source``: the
    # emoji set it comes from); "" trains on the class alone. See CGANConfig.num_styles
    style_label: str = ""
    style_dim: int = 32
    xflip: bool = True
    z_dim: int = 128
    embed_dim: int = 128
    g_channels: int = 32
    d_channels: int = 32
    grid_every_kimg: float = 10.0
    checkpoint_every_kimg: float = 10.0
    log_every_steps: int = 20
    grid_classes: int = 16
    grid_seeds: int = 8
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    precision: str = "auto"  # float32, bfloat16, or auto: bfloat16 where the hardware has it

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        """A config from JSON; a key this version does not know is named, never dropped."""
        values = known_fields(cls, raw, "run's config.json")
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)

    def validate(self) -> None:
        """One line for the first setting that cannot work, before anything is written."""
        for problem in _problems(self):
            raise GanpageError(problem)

    def model_config(self, num_classes: int, image_size: int,
                     num_styles: int = 0) -> CGANConfig:
        from ganpage.models.cgan import CGANConfig  # torch: not for `ganpage --help`

        return CGANConfig(num_classes=num_classes, image_size=image_size, z_dim=self.z_dim,
                          embed_dim=self.embed_dim, g_channels=self.g_channels,
                          d_channels=self.d_channels, num_styles=num_styles,
                          style_dim=self.style_dim)


# what a resumed run may change: how it goes on, and wider networks (they grow from the
# checkpoint's, ganpage.widen). The rest fixes the networks, the data and the sampling order,
# so changing it would not continue the same run.
RESUME_CHANGEABLE = frozenset({
    "g_channels", "d_channels",
    "total_kimg", "g_lr", "d_lr", "ema_kimg", "augment", "class_loss_weight",
    "diversity_loss_weight", "loss", "r1_gamma", "r1_every", "condition_start_kimg",
    "condition_fade_kimg", "grid_every_kimg", "checkpoint_every_kimg", "log_every_steps",
    "device", "threads", "precision"})



def _problems(config: TrainConfig) -> list[str]:
    """Every setting that cannot work, as one line each naming the fix."""
    from ganpage.augment import parse_policy  # torch: not for `ganpage --help`
    from ganpage.losses import ADVERSARIAL_LOSSES

    problems = []
    positive = {"total_kimg": "--kimg", "batch_size": "--batch-size", "g_lr": "--lr",
                "d_lr": "--lr", "g_channels": "--g-channels", "d_channels": "--d-channels",
                "grid_every_kimg": "--grid-every", "checkpoint_every_kimg": "--checkpoint-every",
                "log_every_steps": "--log-every", "r1_every": "r1_every", "z_dim": "z_dim",
                "embed_dim": "embed_dim", "style_dim": "style_dim", "grid_classes": "grid_classes",
                "grid_seeds": "grid_seeds"}
    for name, option in positive.items():
        if not getattr(config, name) > 0:
            problems.append(f"{option} must be above 0, got {getattr(config, name)}")
    not_negative = {"ema_kimg": "--ema-kimg", "class_loss_weight": "--class-loss-weight",
                    "diversity_loss_weight": "--diversity-loss-weight",
                    "r1_gamma": "--r1-gamma", "condition_start_kimg": "--condition-start",
                    "condition_fade_kimg": "--condition-fade", "threads": "--threads",
                    "seed": "--seed"}
    for name, option in not_negative.items():
        if getattr(config, name) < 0:
            problems.append(f"{option} must be 0 or more, got {getattr(config, name)}")
    if config.loss not in ADVERSARIAL_LOSSES:
        problems.append(f"unknown loss {config.loss!r}; use {' or '.join(ADVERSARIAL_LOSSES)}")
    if config.precision not in PRECISIONS:
        problems.append(f"unknown precision {config.precision!r}; use auto, float32 or "
                        "bfloat16")
    if config.init_from and not Path(config.init_from).exists():
        problems.append(f"--init-from: nothing at {config.init_from}; give a ckpt-*.pt file or a "
                        "run folder")
    try:
        parse_policy(config.augment)
    except ValueError as error:
        problems.append(f"--augment: {error}")
    return problems
