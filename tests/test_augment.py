"""DiffAugment ops: shifts move pictures exactly, and the fill of the uncovered strip is what
the policy says (zeros, or repeated edge pixels so a white background stays white)."""

import pytest
import torch

from ganpage.augment import diff_augment, parse_policy, translate


def numbered(batch: int = 32, size: int = 16) -> torch.Tensor:
    """Pictures whose every pixel value is unique, so a shift can be read back: (B, 3, S, S)."""
    return torch.arange(batch * 3 * size * size, dtype=torch.float32).view(batch, 3, size, size) + 1


def shift_of(x: torch.Tensor, out: torch.Tensor, b: int) -> tuple[int, int]:
    """(dy, dx) such that out[b, :, i, j] == x[b, :, i + dy, j + dx] at the centre pixel."""
    size = x.shape[-1]
    centre = out[b, 0, size // 2, size // 2]
    i, j = (x[b, 0] == centre).nonzero()[0].tolist()
    return i - size // 2, j - size // 2


@pytest.mark.parametrize("fill", ["zeros", "edge"])
def test_translate_moves_each_picture_by_one_shift_and_fills_the_rest(fill):
    torch.manual_seed(0)
    x = numbered()
    out = translate(x, ratio=0.125, fill=fill)
    size = x.shape[-1]
    shifts = set()
    for b in range(x.shape[0]):
        dy, dx = shift_of(x, out, b)
        shifts.add((dy, dx))
        for i in range(size):
            for j in range(size):
                inside = 0 <= i + dy < size and 0 <= j + dx < size
                if inside:
                    expected = x[b, :, i + dy, j + dx]
                elif fill == "edge":
                    expected = x[b, :, min(max(i + dy, 0), size - 1), min(max(j + dx, 0), size - 1)]
                else:
                    expected = torch.zeros(3)
                assert torch.equal(out[b, :, i, j], expected), (b, i, j, dy, dx)
    assert len(shifts) > 5 and all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in shifts)


def test_edge_fill_keeps_a_white_background_white_and_zero_fill_does_not():
    torch.manual_seed(1)
    white = torch.ones(64, 3, 32, 32)
    assert torch.equal(translate(white, fill="edge"), white)
    zeros_filled = translate(white)
    assert (zeros_filled == 0).any() and ((zeros_filled == 0) | (zeros_filled == 1)).all()


def test_augment_policy_names_and_gradients():
    assert parse_policy("color, translation-edge,cutout") == ["color", "translation-edge",
                                                              "cutout"]
    with pytest.raises(ValueError, match="unknown augment"):
        parse_policy("color,rotate")
    with pytest.raises(ValueError, match="fill must be"):
        translate(torch.zeros(1, 3, 8, 8), fill="mirror")
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    diff_augment(x, ["color", "translation-edge", "cutout"]).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
