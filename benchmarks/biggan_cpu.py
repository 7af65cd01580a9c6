"""BigGAN-deep 128 on the CPU, as whole commands with default options: `ganpage generate` of N
pictures against a pytorch-pretrained-biggan (0.1.1) script that makes and saves the same
number, both loading one random-weight checkpoint in the published layout, timed in one run.

Goal (issue 17): >= 2.5x the reference's pictures/s. Each command is a fresh process (Python
start, imports, weight loading, generation, encoding and writing the files), so the time is
what a user waits. Each round runs the reference, `ganpage generate` with default options
(--precision auto) and with the other precision; medians over --repeats rounds are reported,
and the median of each round's ratio. The checkpoint is converted once before timing, as
`ganpage generate --model biggan-deep-128` does once per download.

Usage: python benchmarks/biggan_cpu.py [--pictures 24] [--repeats 5] [--work bench-biggan]
           [--network] [--auto-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.models.biggan import LAYERS_128  # noqa: E402
from ganpage.noise import truncated_noise  # noqa: E402
from ganpage.precision import bfloat16_is_native  # noqa: E402
from helpers.biggan import config_dict, reference_model, write_published_checkpoint  # noqa: E402

PER_CATEGORY = 8  # `ganpage generate`'s default --per-category

# What pytorch-pretrained-biggan's README does, for N pictures: one batch, PNG files.
REFERENCE_SCRIPT = """
import sys, numpy as np, torch
import PIL.Image  # save_as_images calls PIL.Image but imports only PIL
from pytorch_pretrained_biggan import (BigGAN, one_hot_from_int, save_as_images,
                                       truncated_noise_sample)
folder, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = BigGAN.from_pretrained(folder).eval()
labels = np.random.RandomState(0).randint(0, 1000, count).tolist()
class_vector = torch.from_numpy(one_hot_from_int(labels, batch_size=count))
noise = torch.from_numpy(truncated_noise_sample(truncation=0.7, batch_size=count))
with torch.no_grad():
    output = model(noise, class_vector, 0.7)
save_as_images(output, file_name=out + '/picture')
"""


def checkpoint(work: Path) -> Path:
    """BigGAN-deep 128 (full width) with random weights, as pytorch_model.bin + config.json."""
    folder = work / "biggan-deep-128-random"
    if not (folder / "pytorch_model.bin").is_file():
        config = config_dict(LAYERS_128, 128, 128)
        _, state = reference_model(config)
        write_published_checkpoint(folder, state, config)
    return folder


def timed(command: list[str], out: Path, env: dict[str, str]) -> float:
    """Wall-clock seconds of one command writing into a fresh ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def network_seconds(folder: Path, pictures: int, repeats: int,
                    precisions: tuple[str, ...]) -> dict[str, list[float]]:
    """The networks alone, in this process: the reference's forward pass against
    ``Generator.sample`` (noise, forward, uint8) in each of ``precisions``, alternating."""
    from pytorch_pretrained_biggan import BigGAN

    from ganpage.models import load_generator

    reference = BigGAN.from_pretrained(str(folder)).eval()
    ours = {p: load_generator(folder, dtype=p) for p in precisions}
    labels, seeds = list(range(0, 1000, 1000 // pictures))[:pictures], list(range(pictures))
    one_hot = torch.nn.functional.one_hot(torch.tensor(labels), 1000).float()
    z = torch.from_numpy(truncated_noise(seeds, 128, 0.7))

    def run_reference():
        with torch.no_grad():
            reference(z, one_hot, 0.7)

    runs = {"reference": run_reference,
            **{f"ganpage {p}": (lambda g=g: g.sample(labels, seeds, 0.7)) for p, g in ours.items()}}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats + 1):  # round 0 warms up (allocations, oneDNN primitives)
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            if round_:
                seconds[name].append(time.perf_counter() - started)
    return seconds


def report(seconds: dict[str, list[float]], pictures: int) -> None:
    reference = seconds["reference"]
    for name, values in seconds.items():
        median = statistics.median(values)
        ratio = statistics.median(r / v for r, v in zip(reference, values, strict=True))
        print(f"  {name:28s} {pictures} pictures: median {median:5.2f} s "
              f"({pictures / median:5.2f} pictures/s), median of the rounds' ratios "
              f"{ratio:.2f}x the reference; runs {' '.join(f'{v:.2f}' for v in values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=24, help="a multiple of 8")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("bench-biggan"))
    parser.add_argument("--network", action="store_true",
                        help="also time the networks alone, in this process")
    parser.add_argument("--auto-only", action="store_true",
                        help="leave out the other precision (bfloat16 takes minutes where the "
                             "CPU emulates it)")
    args = parser.parse_args()
    if args.pictures % PER_CATEGORY:
        parser.error(f"--pictures must be a multiple of {PER_CATEGORY}")
    folder = checkpoint(args.work)
    env = {**os.environ, "GANPAGE_CACHE": str(args.work / "cache")}
    ganpage = [sys.executable, "-m", "ganpage", "generate", str(args.work / "out"), "--model",
               str(folder), "--random-categories", str(args.pictures // PER_CATEGORY),
               "--quiet"]
    auto = "bfloat16" if bfloat16_is_native(torch.device("cpu")) else "float32"
    other = {"float32": "bfloat16", "bfloat16": "float32"}[auto]
    commands = {
        "reference": [sys.executable, "-c", REFERENCE_SCRIPT, str(folder),
                      str(args.work / "out"), str(args.pictures)],
        f"ganpage (auto: {auto})": ganpage,
        f"ganpage --precision {other}": [*ganpage, "--precision", other],
    }
    if args.auto_only:
        del commands[f"ganpage --precision {other}"]
    conversion = timed(ganpage, args.work / "out", env)
    print(f"first ganpage run, converting the checkpoint once: {conversion:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):  # one round: each command once, so load drifts hit all
        for name, command in commands.items():
            seconds[name].append(timed(command, args.work / "out", env))
    print("whole commands:")
    report(seconds, args.pictures)
    if args.network:
        os.environ["GANPAGE_CACHE"] = env["GANPAGE_CACHE"]
        print("the networks alone, in one process:")
        precisions = (auto,) if args.auto_only else ("float32", "bfloat16")
        report(network_seconds(folder, args.pictures, args.repeats, precisions), args.pictures)
    print(f"goal: ganpage >= 2.5x the reference as whole commands; load average at the end "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
