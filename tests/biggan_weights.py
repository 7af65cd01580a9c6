"""Random BigGAN-deep weights spread like a trained checkpoint's, for the BigGAN tests on the
CPU (test_biggan.py) and on CUDA (test_cuda.py, where the reference package is absent)."""

from __future__ import annotations

import torch


def random_state(keys_and_shapes: dict[str, torch.Size], seed: int = 0) -> dict:
    """Random weights in the published layout, with u and v set to each weight's top singular
    vectors (so spectral norm divides by the true norm, as in a trained checkpoint)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in keys_and_shapes.items():
        if key.endswith("running_vars"):
            state[key] = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif key.endswith("gamma"):
            state[key] = torch.full(shape, 0.7)
        elif key == "generator.bn.weight":
            state[key] = torch.randn(shape, generator=g) * 0.3  # spread the output over tanh
        else:
            state[key] = torch.randn(shape, generator=g) * (0.1 if "running" in key else 1.0)
    for key in [k for k in state if k.endswith("weight_orig")]:
        matrix = state[key].flatten(1)
        v = torch.randn(matrix.shape[1], generator=g)
        for _ in range(30):
            u = matrix @ v
            u /= u.norm()
            v = matrix.t() @ u
            v /= v.norm()
        state[key[:-4] + "u"], state[key[:-4] + "v"] = u, v
    return state
