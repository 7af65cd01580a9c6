import pytest
import torch
from torch import nn

from ganpage.errors import GanpageError
from ganpage.losses import (
    adversarial_loss,
    condition_strength,
    gradient_penalty,
    hinge_d,
    mode_seeking_loss,
    relativistic_d,
    relativistic_g,
)


def test_condition_strength_is_zero_then_fades_in_linearly():
    assert condition_strength(5.0, start_kimg=10, fade_kimg=20) == 0.0
    assert condition_strength(10.0, start_kimg=10, fade_kimg=20) == 0.0
    assert condition_strength(20.0, start_kimg=10, fade_kimg=20) == pytest.approx(0.5)
    assert condition_strength(30.0, start_kimg=10, fade_kimg=20) == 1.0
    assert condition_strength(99.0, start_kimg=10, fade_kimg=20) == 1.0
    assert condition_strength(0.0, start_kimg=0, fade_kimg=0) == 1.0  # plain conditional run
    assert condition_strength(3.0, start_kimg=5, fade_kimg=0) == 0.0  # a step, no fade


def test_relativistic_losses_compare_pairs_and_mirror_each_other():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.0, -1.0])
    # softplus(fake - real) = [softplus(-2), softplus(0)]
    expected = (torch.nn.functional.softplus(torch.tensor(-2.0)) + torch.log(torch.tensor(2.0)))
    assert relativistic_d(real, fake).item() == pytest.approx(expected.item() / 2)
    assert relativistic_g(fake, real).item() == pytest.approx(relativistic_d(fake, real).item())
    # a shift of every logit changes nothing: only differences of pairs count
    assert relativistic_d(real + 5, fake + 5).item() == pytest.approx(
        relativistic_d(real, fake).item())
    assert hinge_d(real + 5, fake + 5).item() != pytest.approx(hinge_d(real, fake).item())


def test_relativistic_g_refuses_to_run_without_real_logits():
    with pytest.raises(ValueError, match="real pictures"):
        relativistic_g(torch.zeros(2), None)


def test_unknown_loss_names_give_one_line():
    with pytest.raises(GanpageError, match="unknown loss 'wgan'; use hinge or relativistic"):
        adversarial_loss("wgan")


class LinearCritic(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so the penalty is |w|^2."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, images, labels, condition=1.0):
        return (images * self.weight).sum(dim=(1, 2, 3)), None


def test_gradient_penalty_is_the_squared_input_gradient_and_trains_d():
    weight = torch.randn(3, 4, 4)
    critic = LinearCritic(weight.clone())
    penalty = gradient_penalty(critic, torch.randn(5, 3, 4, 4), torch.zeros(5, dtype=torch.long),
                               1.0)
    assert penalty.item() == pytest.approx(weight.square().sum().item(), rel=1e-5)
    penalty.backward()  # d|w|^2/dw = 2w: the penalty pushes D towards a flat gradient
    assert torch.allclose(critic.weight.grad, 2 * weight, atol=1e-5)


def test_mode_seeking_loss_punishes_identical_pairs():
    z = torch.randn(4, 8)
    same = torch.ones(2, 3, 4, 4).repeat(2, 1, 1, 1)
    loss, ratio = mode_seeking_loss(same, z)
    assert ratio == 0 and loss.item() == pytest.approx(1e5)
    varied = torch.randn(4, 3, 4, 4)
    loss, ratio = mode_seeking_loss(varied, z)
    assert ratio > 0.5 and loss.item() < 2
