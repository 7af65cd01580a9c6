"""The ONNX files of BigGAN-deep 128: their sizes and parity with PyTorch (README, "ONNX").

The published weights cannot be downloaded on every machine, and a file's size does not depend
on the values in it, so this exports the published 128 px architecture with random weights
spread like a trained checkpoint's (tests/helpers/biggan.py) through `ganpage.onnx_export`, the
code behind `ganpage export-onnx`. About 2 minutes and 2.7 GB of memory (peak resident) on 2 cores.

Usage: python scripts/biggan_onnx_size.py [--work biggan-onnx]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ganpage.categories import CategorySet  # noqa: E402
from ganpage.models import load_generator  # noqa: E402
from ganpage.models.biggan import BigGANConfig, BigGANDeep  # noqa: E402
from ganpage.models.loading import save_model  # noqa: E402
from ganpage.onnx_export import GOALS, export_onnx  # noqa: E402
from helpers.biggan import random_state  # noqa: E402


def random_biggan_128(folder: Path) -> Path:
    """BigGAN-deep 128 (the published config) with random weights, saved as a model folder."""
    config = BigGANConfig()
    net = BigGANDeep(config)
    net.load_state_dict(random_state({k: v.shape for k, v in net.state_dict().items()}))
    categories = CategorySet.from_names([f"Class {i}" for i in range(config.num_classes)])
    return save_model(folder, architecture="biggan-deep", model_id="biggan-deep-128-random",
                      config=config.to_dict(), net=net, categories=categories,
                      card="# BigGAN-deep 128, random weights\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("biggan-onnx"))
    args = parser.parse_args()
    start = time.perf_counter()
    generator = load_generator(random_biggan_128(args.work / "model"), dtype="float32")
    for file in export_onnx(generator, args.work / "onnx"):
        print(f"{file.dtype}: {file.size / 1e6:.0f} MB, max abs diff {file.max_abs_diff:.2g} "
              f"against PyTorch float32 (goal {GOALS[file.dtype]:g})")
    print(f"in {(time.perf_counter() - start) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
