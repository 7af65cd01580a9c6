"""Train lucidrains' lightweight-gan (the peer of benchmarks/train_speed.py and
quality_at_equal_time.py) with its own Trainer, on CUDA or on the CPU, for a step count or a
wall-clock budget; then save samples of its generator.

With ``--device cuda`` (the default where CUDA is present) lightweight-gan is imported and run
as it is, with ``--amp`` passed on (this path has not been run yet: this project has had no
GPU). lightweight-gan 1.2.1 only runs on CUDA: it asserts a GPU when imported, moves every
tensor with ``.cuda(rank)`` and builds ``torch.device('cuda:0')`` in ``Trainer.train``. With
``--device cpu`` this script changes nothing in its training step; it only points those three
places at the CPU:
- ``torch.cuda.is_available`` answers True while the package is imported;
- ``Tensor.cuda`` and ``Module.cuda`` return the object unchanged (it stays on the CPU);
- the package's global ``torch`` is a view of torch whose ``device(...)`` is the CPU.
amp stays off (its amp path is CUDA float16 with GradScaler), so it trains in float32.
PyPI's torchvision wheels are CUDA builds whose C++ ops cannot load beside the CPU torch; its
Python transforms (all lightweight-gan uses) still work once ``register_fake`` of the missing ops
is skipped, which this script does while torchvision is imported.

Run it with an interpreter where lightweight-gan is installed (its dependencies are not
ganpage's; see benchmarks/README.md):
  python benchmarks/lightweight_gan_peer.py --data data/emoji64 --seconds 900 --samples 2728 \
      --out /tmp/lwg
Writes OUT/result.json (steps, seconds, training images/s) and, with --samples, OUT/samples.npz
(uint8 (N, H, W, 3) pictures of G and of its EMA copy GE).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import torch.library


def _import_torchvision_without_its_cuda_ops() -> None:
    real_register_fake = torch.library.register_fake

    def tolerant_register_fake(op, *args, **kwargs):
        try:
            decorator = real_register_fake(op, *args, **kwargs)
        except RuntimeError:
            return lambda fn: fn

        def apply(fn):
            try:
                return decorator(fn)
            except RuntimeError:  # the op's C++ kernel is in the CUDA build's missing library
                return fn
        return apply

    torch.library.register_fake = tolerant_register_fake
    try:
        import torchvision  # noqa: F401
        from torchvision import transforms  # noqa: F401
    finally:
        torch.library.register_fake = real_register_fake


class _TorchOnCpu(types.ModuleType):
    """torch, except that ``device(...)`` is always the CPU."""

    def __getattr__(self, name: str):
        return getattr(torch, name)

    @staticmethod
    def device(*args, **kwargs) -> torch.device:
        return torch.device("cpu")


def import_trainer(device: str):
    """lightweight-gan's Trainer class, as it is on CUDA, or set up to run on the CPU."""
    if device == "cuda":
        from lightweight_gan import Trainer
        return Trainer
    return import_trainer_on_cpu()


def import_trainer_on_cpu():
    """lightweight-gan's Trainer class, set up to run on the CPU (see the module docstring)."""
    _import_torchvision_without_its_cuda_ops()
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    really_available = torch.cuda.is_available
    torch.cuda.is_available = lambda: True
    try:
        import lightweight_gan.lightweight_gan as package
    finally:
        torch.cuda.is_available = really_available
    package.torch = _TorchOnCpu("torch")
    return package.Trainer


def peer_command(python: str, device: str, **options) -> list[str]:
    """The command line that runs this script in ``python`` (an interpreter with
    lightweight-gan), with its float16 amp on CUDA; the two training benchmarks use it."""
    command = [python, str(Path(__file__)), "--device", device]
    command += ["--amp"] if device == "cuda" else []
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


@torch.no_grad()
def sample(generator: torch.nn.Module, count: int, latent_dim: int, batch: int = 64) -> np.ndarray:
    """``count`` pictures as uint8 (N, H, W, 3), from fixed latents (seed 0)."""
    generator.eval()
    latents = torch.randn(count, latent_dim, generator=torch.Generator().manual_seed(0))
    latents = latents.to(next(generator.parameters()).device)
    pictures = [generator(latents[i:i + batch]).clamp(0, 1) for i in range(0, count, batch)]
    return (torch.cat(pictures) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of pictures (searched "
                        "recursively, as lightweight-gan does)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cuda", "cpu"],
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", action="store_true", help="its CUDA float16 mixed precision")
    parser.add_argument("--seconds", type=float, help="wall-clock training budget")
    parser.add_argument("--steps", type=int, help="training steps (instead of --seconds)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="steps before the clock starts")
    parser.add_argument("--fmap-max", type=int, default=512, help="its widest layer (default 512)")
    parser.add_argument("--attn-res-layers", type=int, nargs="*", default=[],
                        help="resolutions with linear attention (its CLI's default is 32)")
    parser.add_argument("--samples", type=int, default=0, help="pictures to save after training")
    args = parser.parse_args()
    if (args.seconds is None) == (args.steps is None):
        sys.exit("give --seconds or --steps")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    Trainer = import_trainer(args.device)
    # lightweight-gan's command-line defaults, at ganpage's resolution and batch (no gradient
    # accumulation, so that one step sees the same number of pictures as one ganpage step), with
    # one data-loading worker: its default, one per core, would crowd the 2 training threads.
    trainer = Trainer(name="benchmark", base_dir=str(args.out), image_size=args.image_size,
                      batch_size=args.batch, gradient_accumulate_every=1,
                      fmap_max=args.fmap_max, attn_res_layers=args.attn_res_layers,
                      disc_output_size=1, num_workers=1, use_aim=False,
                      amp=args.amp and args.device == "cuda")
    trainer.set_data_src(str(args.data))
    for _ in range(args.warmup_steps):
        trainer.train()
    started, steps = time.perf_counter(), 0
    while (steps < args.steps) if args.steps else (time.perf_counter() - started < args.seconds):
        trainer.train()
        steps += 1
    seconds = time.perf_counter() - started
    result = {"steps": steps + args.warmup_steps, "seconds": seconds,
              "images_per_s": steps * args.batch / seconds}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.samples:
        latent_dim = trainer.GAN.latent_dim
        np.savez_compressed(args.out / "samples.npz",
                            G=sample(trainer.GAN.G, args.samples, latent_dim),
                            GE=sample(trainer.GAN.GE, args.samples, latent_dim))
    (args.out / "result.json").write_text(json.dumps(result) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
