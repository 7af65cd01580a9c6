"""What the trainer optimises: adversarial losses, gradient penalties, the mode-seeking term and
the transitional-conditioning schedule, as plain functions of logits and tensors.

- ``hinge``: D minimises relu(1 - D(real)) + relu(1 + D(fake)), G minimises -D(fake) (Lim & Ye
  2017; BigGAN's loss).
- ``relativistic``: the relativistic pairing loss of R3GAN (Huang et al., NeurIPS 2024, after
  Jolicoeur-Martineau 2018): D minimises softplus(D(fake) - D(real)) over pairs of one class,
  G the same with the roles swapped. R3GAN shows it converges locally only with both zero-centred
  penalties, R1 on reals and R2 on fakes, which ``gradient_penalty`` gives.
- Transitional conditioning (Shahbazi et al., "Collapse by Conditioning", ICLR 2022): on small
  data the class input itself collapses modes, so training starts unconditional and fades the
  class input in; ``condition_strength`` is that schedule.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganpage.errors import GanpageError


def hinge_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g(fake_logits: torch.Tensor, real_logits: torch.Tensor | None) -> torch.Tensor:
    del real_logits  # hinge G loss does not look at reals
    return -fake_logits.mean()


def relativistic_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(fake_logits - real_logits).mean()


def relativistic_g(fake_logits: torch.Tensor, real_logits: torch.Tensor | None) -> torch.Tensor:
    if real_logits is None:
        raise ValueError("the relativistic G loss needs the logits of real pictures")
    return F.softplus(real_logits - fake_logits).mean()


# name -> (D loss, G loss, whether the G loss needs real logits)
ADVERSARIAL_LOSSES: dict[str, tuple[Callable, Callable, bool]] = {
    "hinge": (hinge_d, hinge_g, False),
    "relativistic": (relativistic_d, relativistic_g, True),
}


def adversarial_loss(name: str) -> tuple[Callable, Callable, bool]:
    if name not in ADVERSARIAL_LOSSES:
        raise GanpageError(f"unknown loss {name!r}; use {' or '.join(ADVERSARIAL_LOSSES)}")
    return ADVERSARIAL_LOSSES[name]


def gradient_penalty(D: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     condition: float, styles: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared norm of D's gradient with respect to its input pictures (B, 3, S, S): R1
    when they are real, R2 when generated, the mean of both for a batch of each. Keeps the
    graph, so the penalty itself can be trained on."""
    images = images.detach().requires_grad_(True)
    style = () if styles is None else (styles,)  # a D without a style label takes none
    realness, _ = D(images, labels, condition, *style)
    (gradient,) = torch.autograd.grad(realness.float().sum(), images, create_graph=True)
    return gradient.float().square().sum(dim=(1, 2, 3)).mean()


def mode_seeking_loss(fakes: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MSGAN's term (Mao et al. 2019) for a batch whose second half repeats the first half's
    labels: 1 / (ratio + 1e-5), ratio = mean |fake_a - fake_b| / mean |z_a - z_b|. Returns
    (loss, ratio), the ratio a detached 0-d tensor."""
    fakes_a, fakes_b = fakes.float().chunk(2)
    z_a, z_b = z.chunk(2)
    ratio = (fakes_a - fakes_b).abs().mean() / (z_a - z_b).abs().mean()
    return 1 / (ratio + 1e-5), ratio.detach()


def condition_strength(kimg: float, start_kimg: float, fade_kimg: float) -> float:
    """How much of the class input G and D get at ``kimg``: 0 before ``start_kimg``, rising
    linearly to 1 over ``fade_kimg``; always 1 when both are 0 (a plain conditional run)."""
    if kimg < start_kimg:
        return 0.0
    if fade_kimg <= 0:
        return 1.0
    return min(1.0, (kimg - start_kimg) / fade_kimg)
