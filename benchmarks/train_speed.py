"""Training images/s of ganpage's 64x64 config on this machine (CPU, or CUDA when present), in
float32 and in the precision ``--precision auto`` picks, beside lucidrains' lightweight-gan at
the same resolution and batch, in one run.

lightweight-gan 1.2.1 needs CUDA; benchmarks/lightweight_gan_peer.py runs its own Trainer on the
CPU, in the interpreter given by --lwg-python (see benchmarks/README.md), at the widths given by
--lwg-fmap-max (512 is its default; 64 gives a D of ganpage's emoji64 size). Quality at equal
time is benchmarks/quality_at_equal_time.py.
Usage: python benchmarks/train_speed.py [--steps 20] [--batch 32] [--widths 16 32]
           [--lwg-python /tmp/lwg/bin/python] [--lwg-steps 3] [--lwg-fmap-max 64 512]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from lightweight_gan_peer import peer_command  # noqa: E402

from ganpage.train import TrainConfig, autocast_dtype, train  # noqa: E402
from helpers.training import make_dataset  # noqa: E402


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


def lightweight_gan_images_per_s(python: str, data: Path, out: Path, steps: int, batch: int,
                                 fmap_max: int, device: str) -> str:
    """lightweight-gan's training images/s (float16 amp on CUDA), or why it could not run."""
    command = peer_command(python, device, data=data, out=out, steps=steps, batch=batch,
                           threads=torch.get_num_threads(), fmap_max=fmap_max)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode
        return f"not run: {reason}"
    return f"{json.loads((out / 'result.json').read_text())['images_per_s']:.1f} training images/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--lwg-python", default=sys.executable,
                        help="interpreter with lightweight-gan installed")
    parser.add_argument("--lwg-steps", type=int, default=3)
    parser.add_argument("--lwg-fmap-max", type=int, nargs="*", default=[64, 512])
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
        for fmap_max in args.lwg_fmap_max:
            rate = lightweight_gan_images_per_s(args.lwg_python, data,
                                                Path(scratch) / f"lwg{fmap_max}", args.lwg_steps,
                                                args.batch, fmap_max, device)
            print(f"lightweight-gan 64x64, fmap_max {fmap_max}, batch {args.batch}, {device} "
                  f"({'float16 amp' if device == 'cuda' else 'float32'}): {rate}")


if __name__ == "__main__":
    main()
