"""Which float type a device computes fastest: the bfloat16 probe that training (autocast) and
generation (weights) share, so that ``--precision auto`` picks the same on both."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

import torch

PRECISIONS = ("auto", "float32", "bfloat16")


def cpu_has_native_bfloat16() -> bool:
    """True on CPUs whose bfloat16 instructions outrun float32: AMX (Intel Sapphire Rapids and
    later), or AVX512-BF16 on AMD (Zen 4 and later; benchmarks/train_speed.py: 1.67x the
    float32 training images/s on an AMD EPYC). Intel's AVX512-BF16 without AMX issues half
    float32's multiply-adds: on an Emerald Rapids VM that hides AMX, a bf16 matrix product ran
    at 0.53x float32, BigGAN-deep 128 sampling at 0.8x and 64 px training at 0.6x, so auto
    keeps float32 there and on every other CPU."""
    if _torch_probe("_is_amx_tile_supported"):
        return True
    return _torch_probe("_is_avx512_bf16_supported") and cpu_vendor() == "AuthenticAMD"


def bfloat16_is_native(device: torch.device) -> bool:
    """Whether ``auto`` runs in bfloat16 on ``device``: CUDA, or a CPU as above."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bfloat16())


@functools.cache
def cpu_vendor() -> str:
    """'GenuineIntel', 'AuthenticAMD', ... as the CPU names itself; '' where it cannot be read."""
    try:
        with open(Path("/proc/cpuinfo")) as lines:
            for line in lines:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    known = ("GenuineIntel", "AuthenticAMD")  # Windows: 'Intel64 Family 6 ..., GenuineIntel'
    return next((name for name in known if name in platform.processor()), "")


def _torch_probe(name: str) -> bool:
    return bool(getattr(torch.cpu, name, lambda: False)())
