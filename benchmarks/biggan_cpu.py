"""BigGAN-deep images/s on CPU: ganpage vs the reference package (pytorch-pretrained-biggan
0.1.1), same random weights, batch and thread count, in one run, at 128 and 256 px.

Goal (issue 5): >= 2.5x the reference at 128 px on the 2-core machine.
Usage: python benchmarks/biggan_cpu.py [--sizes 128 256] [--batch 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from ganpage.models.biggan import LAYERS_128, LAYERS_256, LAYERS_512  # noqa: E402
from ganpage.models.generator import Generator  # noqa: E402
from ganpage.models.loading import build_biggan_deep  # noqa: E402
from ganpage.noise import truncated_noise  # noqa: E402
from test_biggan import config_dict, reference_model  # noqa: E402

LAYERS = {128: LAYERS_128, 256: LAYERS_256, 512: LAYERS_512}


def images_per_second(run, batch: int, repeats: int) -> float:
    run()  # warm-up (allocations, oneDNN primitive caches)
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    return batch * repeats / (time.perf_counter() - started)


def bench(size: int, batch: int, repeats: int) -> tuple[float, float, float, float]:
    config = config_dict(LAYERS[size], size, 128)
    ref, state = reference_model(config)
    net, z_dim, image_size = build_biggan_deep(config)
    net.load_state_dict(state)
    net.fold_spectral_norm()
    from ganpage.categories import imagenet_categories

    ours = Generator(net, imagenet_categories(), "bench", z_dim, image_size)
    labels = list(range(0, 1000, 1000 // batch))[:batch]
    seeds = list(range(batch))
    z = torch.from_numpy(truncated_noise(seeds, 128, 0.5))
    one_hot = torch.nn.functional.one_hot(torch.tensor(labels), 1000).float()

    def run_reference():
        with torch.no_grad():
            ref(z, one_hot, 0.5)

    def run_ours():
        ours.sample(labels, seeds, 0.5)  # includes noise, uint8 conversion

    reference_rate = images_per_second(run_reference, batch, repeats)
    float32_rate = images_per_second(run_ours, batch, repeats)
    float32_pictures = ours.sample(labels, seeds, 0.5).astype(int)
    ours.to("cpu", torch.bfloat16)
    bfloat16_rate = images_per_second(run_ours, batch, repeats)
    difference = abs(ours.sample(labels, seeds, 0.5).astype(int) - float32_pictures).mean()
    return reference_rate, float32_rate, bfloat16_rate, float(difference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for size in args.sizes:
        reference_rate, float32_rate, bfloat16_rate, difference = bench(
            size, args.batch, args.repeats)
        print(f"{size}px batch {args.batch}, {args.threads} threads: reference (float32) "
              f"{reference_rate:.2f} img/s | ganpage float32 {float32_rate:.2f} img/s "
              f"({float32_rate / reference_rate:.2f}x) | ganpage bfloat16 {bfloat16_rate:.2f} "
              f"img/s ({bfloat16_rate / reference_rate:.2f}x, mean |difference| from float32 "
              f"{difference:.2f} of 255 levels)  goal at 128: >= 2.5x")


if __name__ == "__main__":
    main()
