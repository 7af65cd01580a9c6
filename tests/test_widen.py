"""Growing a trained network wider: the wider one computes what the trained one did."""

from dataclasses import replace

import pytest
import torch

from ganpage.models.cgan import CGANConfig, CGANDiscriminator, CGANGenerator
from ganpage.widen import WidenError, widen_state_dict

NARROW = CGANConfig(num_classes=5, image_size=32, z_dim=8, embed_dim=8, g_channels=4,
                    d_channels=4, num_styles=3, style_dim=4)
WIDE = replace(NARROW, g_channels=8, d_channels=6)


def trained(net: torch.nn.Module, seed: int = 0, scale: float = 0.3) -> torch.nn.Module:
    """``net`` with every parameter and batch-norm statistic random, as after training (the
    fresh zeros of conditional batch norm would hide what the conditioning does)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point() and not name.endswith(("weight_u", "weight_v")):
                noise = torch.randn(tensor.shape, generator=generator) * scale
                tensor.copy_(noise.abs() + 0.5 if "running_var" in name else noise)
    return net


def grown(narrow: torch.nn.Module, wide_config: CGANConfig) -> torch.nn.Module:
    wide = type(narrow)(wide_config).to(next(narrow.parameters()).dtype)
    wide.load_state_dict(widen_state_dict(narrow.state_dict(), wide.state_dict()))
    return wide


# float64: in float32 more channels change the convolutions' order of summation (~1e-4)
EXACT = {"atol": 1e-9, "rtol": 1e-9}


def inputs(batch: int = 6):
    generator = torch.Generator().manual_seed(1)
    return (torch.randn(batch, NARROW.z_dim, generator=generator),
            torch.randint(0, NARROW.num_classes, (batch,), generator=generator),
            torch.randint(0, NARROW.num_styles, (batch,), generator=generator))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_grown_generator_draws_what_it_drew(mode):
    narrow = trained(CGANGenerator(NARROW)).double()
    wide = grown(narrow, WIDE)
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(
        p.numel() for p in narrow.parameters())
    z, labels, styles = inputs()
    z = z.double()
    narrow.train(mode == "train")
    wide.train(mode == "train")  # batch statistics are per channel: the same in training
    with torch.no_grad():
        before, after = narrow(z, labels, styles=styles), wide(z, labels, styles=styles)
    torch.testing.assert_close(after, before, **EXACT)


def test_a_grown_discriminator_scores_what_it_scored():
    narrow = trained(CGANDiscriminator(NARROW)).double().eval()
    wide = grown(narrow, WIDE).eval()
    images = torch.rand(6, 3, 32, 32, dtype=torch.float64) * 2 - 1
    _, labels, styles = inputs()
    with torch.no_grad():
        before, after = narrow(images, labels, styles=styles), wide(images, labels, styles=styles)
    for old, new in zip(before, after, strict=True):  # realness, then every class's logit
        torch.testing.assert_close(new, old, **EXACT)


def test_spectral_norm_finds_nearly_the_same_scale_while_training():
    # trained weights far smaller than fresh ones: unshrunk, the new rows would set the scale
    narrow = trained(CGANDiscriminator(NARROW), scale=0.01).double()
    images = torch.rand(6, 3, 32, 32, dtype=torch.float64) * 2 - 1
    _, labels, styles = inputs()
    with torch.no_grad():
        before = converged(narrow, images, labels, styles)
        after = converged(grown(narrow, WIDE), images, labels, styles)
    # each of D's normalised weights may divide by up to 0.5% more
    assert (after - before).abs().max() <= 0.05 * before.abs().max()


def converged(discriminator, images, labels, styles) -> torch.Tensor:
    """Realness after spectral norm's power iterations have settled (as in a trained D)."""
    discriminator.train()
    for _ in range(50):
        discriminator(images, labels, styles=styles)
    return discriminator.eval()(images, labels, styles=styles)[0]


def test_new_channels_learn_from_the_first_steps():
    wide = grown(trained(CGANGenerator(NARROW)), WIDE).train()
    z, labels, styles = inputs()
    wide(z, labels, styles=styles).square().mean().backward()
    readers = wide.blocks[0].conv1.weight.grad  # (out, in, 3, 3): old outputs, new inputs
    assert readers[:, 4 * 8:].abs().sum() > 0  # the zero weights reading new channels move


def test_old_outputs_read_nothing_from_new_inputs_and_new_rows_stay_fresh():
    narrow = CGANGenerator(NARROW)
    fresh = CGANGenerator(WIDE).state_dict()
    state = widen_state_dict(trained(narrow).state_dict(), fresh)
    weight, old = state["blocks.0.conv1.weight"], narrow.state_dict()["blocks.0.conv1.weight"]
    out_old, in_old = old.shape[:2]
    assert torch.equal(weight[:out_old, :in_old], old)
    assert not weight[:out_old, in_old:].any()
    assert torch.equal(weight[out_old:], fresh["blocks.0.conv1.weight"][out_old:])


def test_only_widths_can_grow():
    narrow = CGANGenerator(NARROW).state_dict()
    with pytest.raises(WidenError, match="not narrower"):
        widen_state_dict(CGANGenerator(WIDE).state_dict(), narrow)
    with pytest.raises(WidenError, match="style_embed.weight is only in the trained one"):
        widen_state_dict(narrow, CGANGenerator(replace(WIDE, num_styles=0)).state_dict())
    with pytest.raises(WidenError, match="kernel"):
        widen_state_dict({"w": torch.zeros(2, 2, 3, 3)}, {"w": torch.zeros(4, 4, 5, 5)})
