"""Training images/s of ganpage's 64x64 config on this machine (CPU, or CUDA when present), in
float32 and in the precision ``--precision auto`` picks, beside lucidrains' lightweight-gan at
the same resolution and batch when it can run, in one run.

Goal (issue 4): better quality than lightweight-gan at equal wall-clock. lightweight-gan 1.2.1
asserts CUDA when imported, so on a CPU-only machine only ganpage's figures are measured.
Usage: python benchmarks/train_speed.py [--steps 20] [--batch 32] [--widths 16 32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.train import TrainConfig, autocast_dtype, train  # noqa: E402
from test_train import make_dataset  # noqa: E402


def ganpage_images_per_s(data: Path, out: Path, steps: int, batch: int, width: int,
                         device: str, precision: str) -> float:
    config = TrainConfig(data=str(data), out=str(out), total_kimg=1e9, batch_size=batch,
                         g_channels=width, d_channels=width, grid_every_kimg=1e9,
                         checkpoint_every_kimg=1e9, log_every_steps=10**9, device=device,
                         precision=precision)
    train(config, show_progress=False, stop_after_steps=2)  # warm-up run
    started = time.perf_counter()
    train(config, show_progress=False, stop_after_steps=steps)
    return steps * batch / (time.perf_counter() - started)


def lightweight_gan_status() -> str:
    """Why lightweight-gan is not measured in this run (it never is without CUDA)."""
    if not torch.cuda.is_available():
        return "not run: lightweight-gan asserts CUDA at import and this machine has none"
    return ("not run: the CUDA comparison is not written yet; it needs a session with a GPU "
            "to be written and checked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as scratch:
        data = make_dataset(Path(scratch) / "data", classes=8, per_class=16, size=64)
        for width in args.widths:
            rates = {precision: ganpage_images_per_s(data, Path(scratch) / f"{width}{precision}",
                                                     args.steps, args.batch, width, device,
                                                     precision)
                     for precision in ("float32", "auto")}
            auto = autocast_dtype("auto", torch.device(device)) or torch.float32
            print(f"ganpage 64x64, width {width}, batch {args.batch}, {device} "
                  f"({torch.get_num_threads()} threads): float32 {rates['float32']:.1f}, "
                  f"auto ({str(auto).removeprefix('torch.')}) {rates['auto']:.1f} training "
                  f"images/s = {rates['auto'] / rates['float32']:.2f}x")
        print(f"lightweight-gan: {lightweight_gan_status()}")


if __name__ == "__main__":
    main()
