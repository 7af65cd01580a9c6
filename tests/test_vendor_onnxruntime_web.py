"""The vendored onnxruntime-web: files match SHA256SUMS, the pinned version, the size budget,
and pip installs them (package-data)."""

import hashlib
import re
import tomllib
from pathlib import Path

import ganpage

VENDOR = Path(ganpage.__file__).parent / "web" / "vendor" / "onnxruntime-web"
SCRIPT = Path(__file__).parents[1] / "scripts" / "vendor_onnxruntime_web.sh"
SIZE_BUDGET = 16_000_000  # bytes: the runtime alone, before the model


def listed_sums() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_every_vendored_file_matches_its_checksum():
    sums = listed_sums()
    assert set(sums) == {p.name for p in VENDOR.iterdir()} - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert {"ort.wasm.min.mjs", "ort-wasm-simd-threaded.wasm", "LICENSE"} <= set(sums)


def test_the_files_are_the_pinned_release_under_the_budget():
    version = re.search(r"^VERSION=(\S+)$", SCRIPT.read_text(), re.M).group(1)
    assert (VENDOR / "VERSION").read_text().startswith(f"onnxruntime-web {version}\n")
    header = (VENDOR / "ort.wasm.min.mjs").read_text()[:200]
    assert f"ONNX Runtime Web v{version}" in header
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert sum(p.stat().st_size for p in VENDOR.iterdir()) < SIZE_BUDGET


def test_pip_installs_the_vendored_files():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ganpage"]
    root = Path(ganpage.__file__).parent
    shipped = {p for pattern in patterns for p in root.glob(pattern)}
    assert set(VENDOR.iterdir()) <= shipped
