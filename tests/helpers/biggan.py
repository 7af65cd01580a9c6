"""Random BigGAN-deep weights spread like a trained checkpoint's, for the BigGAN tests on the
CPU (test_biggan.py) and on CUDA (test_cuda.py, where the reference package is absent); folders
laid out as the published checkpoints, and a tiny BigGAN-deep model folder."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ganpage.categories import CategorySet
from ganpage.models.biggan import BigGANConfig, BigGANDeep
from ganpage.models.loading import save_model


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


TINY_BIGGAN_LAYERS = [(False, 16, 16), (True, 16, 4), (False, 4, 4), (True, 4, 1)]


def tiny_biggan(folder):
    """A BigGAN-deep with the published block structure cut to 16 px and 4 channels a unit."""
    config = BigGANConfig(output_dim=16, z_dim=8, class_embed_dim=8, channel_width=4,
                          num_classes=5, layers=TINY_BIGGAN_LAYERS, attention_layer_position=2)
    net = BigGANDeep(config)
    net.load_state_dict(random_state({k: v.shape for k, v in net.state_dict().items()}))
    categories = CategorySet.from_names(["Husky", "Tabby cat", "Bagel", "Mailbox", "Ferret"])
    save_model(folder, architecture="biggan-deep", model_id="tiny-biggan",
               config=config.to_dict(), net=net, categories=categories, card="# tiny\n")
    return folder


def config_dict(layers, output_dim: int, channel_width: int) -> dict:
    """A published BigGAN-deep config.json's values, for ``layers`` at ``output_dim`` px."""
    return dict(output_dim=output_dim, z_dim=128, class_embed_dim=128,
                channel_width=channel_width, num_classes=1000, layers=layers,
                attention_layer_position=8, eps=1e-4, n_stats=51)


def reference_model(config: dict):
    """pytorch-pretrained-biggan's BigGAN of ``config`` with random weights, and those weights."""
    import pytorch_pretrained_biggan as reference  # a test dependency, absent on the GPU box

    model = reference.BigGAN(reference.BigGANConfig(**config)).eval()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    state = random_state(shapes)
    model.load_state_dict(state, strict=True)
    return model, state


def write_published_checkpoint(folder: Path, state: dict, config: dict) -> Path:
    """A folder laid out as the published checkpoints are: config.json, pytorch_model.bin."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(state, folder / "pytorch_model.bin")
    return folder
