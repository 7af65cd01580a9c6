"""Grow a trained network into a wider one that draws what it drew.

A run that has trained for days at ``--g-channels 16`` should not start over from noise to try
width 32: ``ganpage train --init-from RUN --g-channels 32`` copies each trained tensor into the
leading block of the wider one (Net2Net's function-preserving growth, Chen, Goodfellow &
Shlens, ICLR 2016, with zeros instead of their replicated units). The rule, for every weight
whose last dimensions are the input and whose first is the output (``nn.Linear``, ``nn.Conv2d``,
``nn.Embedding`` used as a projection):

- the trained block stays where it was;
- old outputs read nothing from new inputs (that block is zero), so every old channel computes
  exactly what it did;
- new outputs keep the wider network's fresh initialisation, so the new channels differ from
  each other and receive gradients as soon as their readers' zero weights move.

Batch norm is per channel, so its trained statistics carry over unchanged. Spectral norm (D)
divides a weight by its largest singular value: its power-iteration vectors are extended with
zeros, which gives exactly the old value in evaluation, and new output rows are scaled down to a
tenth of that value so that training's iterations find almost the same one (at most 0.5% more).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ganpage.errors import GanpageError

# the new rows of a spectrally normalised weight: their largest singular value, at most this
# fraction of the trained weight's, keeps the whole matrix's within sqrt(1 + 0.1**2) = 1.005
NEW_ROWS_SPECTRAL_FRACTION = 0.1
SPECTRAL_VECTORS = ("weight_u", "weight_v")


class WidenError(GanpageError):
    """Two networks that differ in more than their widths."""


def widen_state_dict(trained: Mapping[str, torch.Tensor],
                     fresh: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``trained`` (a state dict) grown to the shapes of ``fresh`` (the wider network's freshly
    initialised state dict, same keys): a state dict that makes the wider network compute what
    the trained one did. Raises WidenError when the two differ in anything but widths."""
    _check_same_names(trained, fresh)
    return {name: _widen_tensor(name, trained[name], new) for name, new in fresh.items()}


def _check_same_names(trained: Mapping[str, torch.Tensor],
                      fresh: Mapping[str, torch.Tensor]) -> None:
    missing, extra = sorted(set(fresh) - set(trained)), sorted(set(trained) - set(fresh))
    if missing or extra:
        first = (missing or extra)[0]
        where = "the wider network" if missing else "the trained one"
        raise WidenError(f"{first} is only in {where}: only widths can grow; give the same "
                         "classes, styles and resolution as the trained run")


def _widen_tensor(name: str, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    old = old.to(new.dtype)
    if old.shape == new.shape:
        return old.clone()
    if old.dim() != new.dim() or any(a > b for a, b in zip(old.shape, new.shape, strict=True)):
        raise WidenError(f"{name}: {tuple(old.shape)} does not fit in {tuple(new.shape)}; a "
                         "network can grow wider, not narrower or otherwise reshaped")
    if old.dim() >= 3 and old.shape[2:] != new.shape[2:]:
        raise WidenError(f"{name}: kernel {tuple(old.shape[2:])} against "
                         f"{tuple(new.shape[2:])}; only channel counts can grow")
    spectral_vector = name.rsplit(".", 1)[-1] in SPECTRAL_VECTORS
    grown = torch.zeros_like(new) if spectral_vector else new.clone()
    rows = old.shape[0]
    if name.endswith("weight_orig") and grown.shape[0] > rows:
        _shrink_new_rows(grown, old)
    grown[:rows] = 0  # old outputs read nothing new ...
    grown[tuple(slice(0, size) for size in old.shape)] = old  # ... and keep what they learnt
    return grown


def _shrink_new_rows(grown: torch.Tensor, old: torch.Tensor) -> None:
    """Scale the new output rows of a spectrally normalised weight (in place) so that their
    largest singular value is at most NEW_ROWS_SPECTRAL_FRACTION of the trained weight's."""
    rows = old.shape[0]
    trained_norm = torch.linalg.matrix_norm(old.reshape(rows, -1).float(), ord=2)
    new_rows = grown[rows:]
    new_norm = torch.linalg.matrix_norm(new_rows.reshape(new_rows.shape[0], -1).float(), ord=2)
    limit = NEW_ROWS_SPECTRAL_FRACTION * trained_norm
    if new_norm > limit:
        new_rows.mul_((limit / new_norm).to(grown.dtype))
