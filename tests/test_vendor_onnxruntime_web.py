"""The vendored onnxruntime-web: files match SHA256SUMS, the pinned version, the size budget,
and pip installs them (package-data)."""

import hashlib
import re
import tomllib
from pathlib import Path

import ganpage

VENDOR = Path(ganpage.__file__).parent / "web" / "vendor" / "onnxruntime-web"
SCRIPT = Path(__file__).parents[1] / "scripts" / "vendor_onnxruntime_web.sh"
# bytes a visitor downloads for each runtime, before the model: the page loads one of the two
RUNTIMES = {"wasm": (("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                      "ort-wasm-simd-threaded.wasm"), 16_000_000),
            "webgpu": (("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                        "ort-wasm-simd-threaded.asyncify.wasm"), 30_000_000)}


def listed_sums() -> dict[str, str]:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_every_vendored_file_matches_its_checksum():
    sums = listed_sums()
    assert set(sums) == {p.name for p in VENDOR.iterdir()} - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert {name for files, _ in RUNTIMES.values() for name in files} | {"LICENSE"} <= set(sums)


def test_the_files_are_the_pinned_release_under_the_budget():
    version = re.search(r"^VERSION=(\S+)$", SCRIPT.read_text(), re.M).group(1)
    assert (VENDOR / "VERSION").read_text().startswith(f"onnxruntime-web {version}\n")
    for api in ("ort.wasm.min.mjs", "ort.webgpu.min.mjs"):
        assert f"ONNX Runtime Web v{version}" in (VENDOR / api).read_text()[:200], api
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    for backend, (files, budget) in RUNTIMES.items():
        assert sum((VENDOR / name).stat().st_size for name in files) < budget, backend


def test_each_api_module_loads_its_own_build():
    """ort.webgpu.min.mjs asks for the asyncify build, ort.wasm.min.mjs for the plain one: a
    vendored API beside the wrong build would fail only in a visitor's browser."""
    for api, glue in (("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs"),
                      ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs")):
        asked = set(re.findall(r"ort-wasm-simd-threaded[a-z.]*\.mjs", (VENDOR / api).read_text()))
        assert asked == {glue}, api


def test_pip_installs_the_vendored_files():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ganpage"]
    root = Path(ganpage.__file__).parent
    shipped = {p for pattern in patterns for p in root.glob(pattern)}
    assert set(VENDOR.iterdir()) <= shipped
