"""The CUDA paths on a real GPU: bfloat16 autocast and channels_last training, exact resume, DDP
over NCCL, torchrun, bfloat16 sampling and generation, BigGAN-deep. Skipped without CUDA.

On a GPU machine, with ganpage not installed: PYTHONPATH=src python3 -m pytest tests/test_cuda.py
It imports only torch, numpy, Pillow, safetensors, rich, typer, matplotlib, httpx (conftest) and
pytest; pyproject's `timeout` option also needs pytest-timeout, or else pass
-W ignore::pytest.PytestConfigWarning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel

import ganpage
from ganpage.augment import parse_policy
from ganpage.categories import CategorySet
from ganpage.checkpoints import TrainState, latest_checkpoint, load_checkpoint, save_checkpoint
from ganpage.gallery import Gallery
from ganpage.generate import TruncationRange, choose_categories, generate, plan
from ganpage.models import load_generator
from ganpage.models.biggan import BigGANConfig, BigGANDeep
from ganpage.models.loading import save_model
from ganpage.train import Objective, autocast_dtype, build_state, d_step, g_step, train, update_ema
from ganpage.train_config import TrainConfig
from helpers.biggan import random_state
from helpers.servers import free_port
from helpers.training import assert_same_networks, make_dataset, straight_and_resumed, tiny_config

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                                   reason="needs an NVIDIA GPU and CUDA torch")]

CUDA = torch.device("cuda")
SRC = Path(ganpage.__file__).resolve().parents[1]  # for subprocesses: ganpage may not be installed


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


@pytest.fixture(autouse=True)
def deterministic():
    """cuDNN's deterministic kernels and no autotuning, so equal inputs give equal bits. On an
    H200 it was also faster: the first tests left on cuDNN's default choice took 4-26 s each,
    the ones with this setting under 1 s (first use of each layer shape, it seems)."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def subprocess_env() -> dict[str, str]:
    paths = [str(SRC), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


# -- training steps -----------------------------------------------------------------------------


def small_config(**changes) -> TrainConfig:
    """tiny_config's networks and batch (the layer shapes other tests use too), with the class
    and mode-seeking terms on, so more of the step runs."""
    values = dict(data="unused", batch_size=4, z_dim=8, embed_dim=8, g_channels=4, d_channels=4,
                  class_loss_weight=0.5, diversity_loss_weight=0.5)
    return TrainConfig(**(values | changes))


def quick_config(dataset: Path, out: Path, **changes) -> TrainConfig:
    """tiny_config on CUDA without sample grids (each also draws the loss plot)."""
    return tiny_config(dataset, out, device="cuda", grid_every_kimg=1.0, **changes)


def bf16_autocast():
    return torch.autocast("cuda", dtype=torch.bfloat16)


def one_step(state: TrainState, config: TrainConfig, reals: torch.Tensor, labels: torch.Tensor,
             autocast) -> tuple[list[float], list[float]]:
    """d_step, g_step and update_ema as train._loop calls them (hinge loss); returns D's and
    G's losses as floats (adversarial, classification[, diversity])."""
    policy = parse_policy(config.augment)
    objective = Objective.at(config, state.kimg)
    d_losses, _ = d_step(state, reals, labels, policy, config.z_dim, objective, autocast)
    g_losses = g_step(state, labels, policy, config.z_dim, objective, autocast)
    update_ema(state, len(labels), config.ema_kimg)
    return ([float(d_losses.adversarial), float(d_losses.classification)],
            [float(g_losses.adversarial), float(g_losses.classification),
             float(g_losses.diversity)])


def real_inputs(batch_size: int = 4, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Random pictures in [-1, 1] (B, 3, 32, 32), channels_last as real_batch makes them."""
    reals = torch.rand(batch_size, 3, 32, 32, device=CUDA) * 2 - 1
    labels = torch.arange(batch_size, device=CUDA) % classes
    return reals.contiguous(memory_format=torch.channels_last), labels


def is_channels_last(tensor: torch.Tensor) -> bool:
    return tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last)


def parameters(state: TrainState) -> dict[str, torch.Tensor]:
    return {f"{name}.{key}": value for name in ("G", "D", "G_ema")
            for key, value in getattr(state, name).named_parameters()}


def test_bf16_autocast_steps_train_every_weight_and_keep_channels_last():
    assert autocast_dtype("auto", CUDA) is torch.bfloat16
    config = small_config()
    torch.manual_seed(0)
    state = build_state(config, config.model_config(3, 32), CUDA)
    before = {name: p.detach().clone() for name, p in parameters(state).items()}
    nhwc = {name for name, p in parameters(state).items() if is_channels_last(p)}
    assert any(not p.is_contiguous() for name, p in parameters(state).items() if name in nhwc)
    conv_dtypes = []
    for conv in (state.G.blocks[0].conv1, state.D.blocks[1].conv1):
        conv.register_forward_hook(lambda module, inputs, output: conv_dtypes.append(output.dtype))
    reals, labels = real_inputs()
    for _ in range(3):
        d_losses, g_losses = one_step(state, config, reals, labels, bf16_autocast)
        assert np.isfinite(d_losses + g_losses).all() and g_losses[2] > 0
    assert set(conv_dtypes) == {torch.bfloat16}, "autocast did not run the convolutions in bf16"
    after = parameters(state)
    # D's output bias cancels out of the hinge loss while every logit is inside the margin
    # (gradient -1 on reals, +1 on fakes); every other weight must have moved
    unchanged = {name for name, p in after.items() if torch.equal(p, before[name])}
    assert unchanged <= {"D.linear.bias"}
    assert all(p.dtype == torch.float32 and p.is_cuda for p in after.values())
    assert sorted(name for name in nhwc if not is_channels_last(after[name])) == []


def test_bf16_step_approximates_the_float32_step():
    """One step from one start in both precisions: bfloat16 approximates the float32 step."""
    losses = {}
    for dtype in (torch.float32, torch.bfloat16):
        config = small_config()
        torch.manual_seed(0)
        state = build_state(config, config.model_config(3, 32), CUDA)
        reals, labels = real_inputs()
        d_losses, g_losses = one_step(state, config, reals, labels, lambda dtype=dtype: (
            torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype is torch.bfloat16)))
        losses[dtype] = (d_losses[0], g_losses[0])  # the adversarial losses
    assert losses[torch.float32] != losses[torch.bfloat16], "bfloat16 autocast was not applied"
    for exact, approximate in zip(losses[torch.float32], losses[torch.bfloat16], strict=True):
        assert approximate == pytest.approx(exact, rel=0.05, abs=0.02)


# -- whole runs ---------------------------------------------------------------------------------


def test_train_on_cuda_logs_grids_and_checkpoints_that_export_to_the_cpu(dataset, tmp_path):
    from ganpage.export import export_run

    run = train(tiny_config(dataset, tmp_path / "runs", device="cuda"), show_progress=False,
                stop_after_steps=2)  # a grid and the loss plot after step 2
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(np.isfinite([r["d_loss"], r["g_loss"]]).all() for r in rows)
    with Image.open(run / "fakes000000.png") as grid:
        assert grid.size == (3 * 32, 2 * 32) and np.asarray(grid).std() > 1
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert checkpoint["images_seen"] == 8 and "cuda" in checkpoint["rng_by_rank"][0]
    assert all(t.device.type == "cpu" for t in checkpoint["G_ema"].values())  # map_location
    on_cpu = load_generator(export_run(run, tmp_path / "model"))
    assert on_cpu.sample([0, 1], [0, 1], 0.7).shape == (2, 32, 32, 3)


def test_relativistic_loss_with_r1_r2_penalties_trains_on_cuda(dataset, tmp_path):
    """The penalties' double backward through spectral norm, in float32 beside bf16 steps."""
    run = train(quick_config(dataset, tmp_path / "runs", loss="relativistic", r1_gamma=1.0,
                             r1_every=2), show_progress=False, stop_after_steps=4)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    penalties = [r["gradient_penalty"] for r in rows if "gradient_penalty" in r]
    assert penalties and all(np.isfinite(p) and p >= 0 for p in penalties)
    assert all(np.isfinite([r["d_loss"], r["g_loss"]]).all() for r in rows)


@pytest.mark.parametrize("precision", ["float32", "auto"])
def test_resume_on_cuda_reproduces_the_uninterrupted_run(dataset, tmp_path, precision):
    """2 + 2 steps with a resume between them equal 4 steps in one go, bit for bit: the CUDA
    RNG state is in the checkpoint, and with cuDNN's deterministic kernels nothing else in the
    step varies between runs (so it was on an H200 with torch 2.11, in both precisions)."""
    config = lambda out: quick_config(dataset, out, precision=precision)  # noqa: E731
    a, b, _ = straight_and_resumed(config, tmp_path, before=2, after=2)
    assert (a["step"], a["images_seen"]) == (b["step"], b["images_seen"]) == (4, 16)
    assert_same_networks(a, b)
    assert torch.equal(a["rng_by_rank"][0]["cuda"], b["rng_by_rank"][0]["cuda"])


# -- DDP ----------------------------------------------------------------------------------------


@pytest.fixture
def nccl_group(monkeypatch):
    """A one-process NCCL group on this GPU, as torchrun's env:// rendezvous would make it."""
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", world_size=1, rank=0)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_over_nccl_matches_the_plain_networks(nccl_group, tmp_path):
    """G and D wrapped as train() wraps them under torchrun: the same losses, gradients and
    weights as unwrapped networks from the same seeds, and checkpoints without "module."."""
    config = small_config()
    runs = {}
    for wrapped in (False, True):
        torch.manual_seed(0)
        state = build_state(config, config.model_config(3, 32), CUDA)
        if wrapped:
            state.G = DistributedDataParallel(state.G)
            state.D = DistributedDataParallel(state.D)
        reals, labels = real_inputs()
        losses = [one_step(state, config, reals, labels, bf16_autocast) for _ in range(2)]
        runs[wrapped] = state, losses
    (plain, plain_losses), (ddp, ddp_losses) = runs[False], runs[True]
    for (d_plain, g_plain), (d_ddp, g_ddp) in zip(plain_losses, ddp_losses, strict=True):
        assert np.isfinite(d_ddp + g_ddp).all()
        assert d_ddp + g_ddp == pytest.approx(d_plain + g_plain, rel=1e-4, abs=1e-6)
    for name in ("G", "D"):
        ours, theirs = getattr(plain, name), getattr(ddp, name).module
        for (key, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            assert torch.allclose(p, q, rtol=1e-4, atol=1e-6), f"{name}.{key}"
            if p.grad is not None:  # the last g_step's gradients, all-reduced over NCCL
                assert torch.allclose(p.grad, q.grad, rtol=1e-3, atol=1e-6), f"{name}.{key}"
    for p, q in zip(plain.G_ema.parameters(), ddp.G_ema.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-6)
    saved = load_checkpoint(save_checkpoint(tmp_path, ddp, config))
    assert set(saved["G"]) == set(plain.G.state_dict())
    assert set(saved["D"]) == set(plain.D.state_dict())
    flag = torch.ones(2, device=CUDA)
    dist.all_reduce(flag)
    assert dist.get_backend() == "nccl" and flag.tolist() == [1.0, 1.0]


@pytest.mark.slow
def test_torchrun_trains_on_cuda(dataset, tmp_path):
    """`torchrun --nproc-per-node 1 -m ganpage train --device cuda`. With WORLD_SIZE=1 train()
    joins no process group and wraps nothing in DDP: this is the launcher path on one GPU."""
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1",
         "--master-port", str(free_port()), "-m", "ganpage", "train", str(dataset), "--out",
         str(tmp_path / "runs"), "--device", "cuda", "--kimg", "0.008", "--batch-size", "4",
         "--g-channels", "4", "--d-channels", "4", "--grid-every", "1", "--checkpoint-every",
         "1", "--class-loss-weight", "1", "--diversity-loss-weight", "0.2",
         "--quiet"],
        capture_output=True, text=True, timeout=180, env=subprocess_env())
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "runs" / "00000-shapes-32"
    checkpoint = load_checkpoint(latest_checkpoint(run))
    assert (checkpoint["step"], checkpoint["images_seen"]) == (2, 8)
    assert "cuda" in checkpoint["rng_by_rank"][0]


# -- sampling and generation --------------------------------------------------------------------

LABELS, SEEDS = [0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 4, 5]
TRUNCATIONS = [0.5, 0.5, 0.7, 0.7, 1.0, 1.0]


def mean_level_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 picture arrays, in levels of 0..255."""
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_cuda_sampling_is_bf16_close_to_the_cpu_and_repeatable(tiny_model):
    exact = load_generator(tiny_model).sample(LABELS, SEEDS, TRUNCATIONS)
    fast = load_generator(tiny_model, device="cuda")
    assert fast.dtype is torch.bfloat16 and all(p.is_cuda for p in fast.net.parameters())
    pictures = fast.sample(LABELS, SEEDS, TRUNCATIONS)
    assert pictures.shape == exact.shape == (6, 32, 32, 3) and pictures.dtype == np.uint8
    assert mean_level_difference(pictures, exact) < 2.0
    assert not np.array_equal(pictures, exact)  # it really ran in bfloat16
    assert np.array_equal(pictures, fast.sample(LABELS, SEEDS, TRUNCATIONS))
    float32 = load_generator(tiny_model, device="cuda", dtype="float32")
    assert mean_level_difference(float32.sample(LABELS, SEEDS, TRUNCATIONS), exact) < 0.5
    morph = fast.morph((0, 2), (1, 2), steps=5, truncation=0.6)
    on_cpu = load_generator(tiny_model).morph((0, 2), (1, 2), steps=5, truncation=0.6)
    assert morph.shape == on_cpu.shape == (5, 32, 32, 3)
    assert mean_level_difference(morph, on_cpu) < 2.0


def test_a_cuda_picture_does_not_depend_on_its_batch(tiny_model):
    """A picture is a function of (model, category, seed, truncation): the batch it was made in
    (a resumed `generate` batches differently) must not change it. With cuDNN's default
    choice of kernels, as `ganpage generate` runs (the autouse fixture restores the setting)."""
    torch.backends.cudnn.deterministic = False
    fast = load_generator(tiny_model, device="cuda")
    labels, seeds = [0, 1, 2, 0, 1, 2, 0, 1], list(range(8))
    together = fast.sample(labels, seeds, 0.7)
    alone = np.concatenate([fast.sample([label], [seed], 0.7)
                            for label, seed in zip(labels, seeds, strict=True)])
    assert np.array_equal(together, alone)


def test_generate_on_cuda_fills_a_gallery(tiny_model, tmp_path):
    fast = load_generator(tiny_model, device="cuda")
    exact = load_generator(tiny_model)
    jobs = plan(fast, choose_categories(fast), 4, TruncationRange(0.5, 0.9))
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        assert generate(fast, gallery, jobs, batch_size=5, image_format="png",
                        show_progress=False) == 12
        assert generate(fast, gallery, jobs, batch_size=5, show_progress=False) == 0
        records = gallery.records()
        assert len(records) == 12 and gallery.verify() == []
        made, expected = [], []
        for record in records:
            with Image.open(gallery.path_of(record)) as image:
                made.append(np.asarray(image.convert("RGB")))
            expected.append(exact.sample([record.label], [record.seed], record.truncation)[0])
    assert mean_level_difference(np.stack(made), np.stack(expected)) < 2.0


@pytest.mark.slow
def test_generate_command_on_cuda(tiny_model, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "generate", str(tmp_path / "g"), "--model",
         str(tiny_model), "--per-category", "3", "--batch-size", "4", "--device", "cuda",
         "--quiet"], capture_output=True, text=True, timeout=120, env=subprocess_env())
    assert result.returncode == 0, result.stderr[-3000:]
    with Gallery.open(tmp_path / "g") as gallery:
        assert len(gallery.records()) == 9 and gallery.verify() == []


# -- BigGAN-deep --------------------------------------------------------------------------------


def random_biggan(folder: Path, channel_width: int = 4, num_classes: int = 10) -> Path:
    """A BigGAN-deep 128 of random weights, spread like a trained one, as a model folder."""
    config = BigGANConfig(channel_width=channel_width, num_classes=num_classes)
    net = BigGANDeep(config)
    state = random_state({key: value.shape for key, value in net.state_dict().items()})
    net.load_state_dict(state, strict=True)
    categories = CategorySet.from_names([f"Class {i}" for i in range(num_classes)])
    return save_model(folder, architecture="biggan-deep", model_id="tiny-biggan",
                      config=config.to_dict(), net=net, categories=categories, card="")


def test_biggan_deep_on_cuda_is_close_to_the_cpu(tmp_path):
    """Folded spectral-norm and sub-pixel weights must follow the network to the GPU."""
    folder = random_biggan(tmp_path / "biggan")
    labels, seeds, truncations = [1, 3, 5, 7], [11, 12, 13, 14], [0.4, 0.4, 0.37, 1.0]
    exact = load_generator(folder).sample(labels, seeds, truncations)
    assert exact.shape == (4, 128, 128, 3) and exact.std() > 5
    fast = load_generator(folder, device="cuda")
    pictures = fast.sample(labels, seeds, truncations)
    assert mean_level_difference(pictures, exact) < 2.0
    assert np.array_equal(pictures, fast.sample(labels, seeds, truncations))
    float32 = load_generator(folder, device="cuda", dtype="float32")
    assert mean_level_difference(float32.sample(labels, seeds, truncations), exact) < 1.0


def live_pictures(model: Path, device: str, max_batch: int, seeds: list[int]) -> list[bytes]:
    """The encoded pictures `serve --live` draws for bagel at these seeds, asked for at once
    (so with ``max_batch`` > 1 they are drawn in micro-batches)."""
    import asyncio

    from ganpage.live.engine import LiveEngine
    from ganpage.live.settings import LiveSettings
    from ganpage.recipe import parse_recipe

    engine = LiveEngine(str(model), LiveSettings(
        device=device, max_batch=max_batch, max_wait_seconds=0.05, pool_size=0,
        rate_per_second=0, threads=1))
    engine.start()

    async def draw_all() -> list[bytes]:
        await engine.ready()
        recipes = [parse_recipe(engine.categories, "bagel", str(seed)) for seed in seeds]
        return await asyncio.gather(*(engine.picture(recipe, "test") for recipe in recipes))

    try:
        return asyncio.run(draw_all())
    finally:
        engine.close()


def test_live_drawing_on_cuda_gives_the_bytes_a_picture_drawn_alone_gets(tiny_model):
    """`serve --live MODEL --live-device cuda` (issue 20): pictures drawn together in
    micro-batches on the GPU are the ones drawn one at a time, so a permalink redraws its picture
    whatever else was being drawn."""
    seeds = list(range(100, 112))
    together = live_pictures(tiny_model, "cuda", 16, seeds)
    alone = live_pictures(tiny_model, "cuda", 1, [seeds[i] for i in (0, 5, 11)])
    assert alone == [together[i] for i in (0, 5, 11)]
    assert len(set(together)) == len(seeds)  # twelve different pictures, not one repeated
