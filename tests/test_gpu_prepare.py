"""scripts/gpu_prepare.py: what the device tool will copy is counted as it copies it, the
files the GPU run does not need go aside and come back, and the repository leaves room for the
data set and wheels under the 64 MiB budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_prepare  # noqa: E402

# measured: .gpu/emoji32-top128.tar.gz 2.1 MB (6 December), .whl/ 7.5 MB (training/README.md)
DATA_AND_WHEELS = int(9.6e6)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.mark.slow
def test_counts_tracked_untracked_and_carried_files_not_ignored_ones(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("/.gpu/\n/big/\n")
    (tmp_path / "tracked.txt").write_bytes(b"x" * 100)
    git(tmp_path, "add", ".")
    (tmp_path / "untracked.txt").write_bytes(b"y" * 10)
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "ignored.bin").write_bytes(b"z" * 10_000)
    (tmp_path / ".gpu").mkdir()
    (tmp_path / ".gpu" / "data.tar.gz").write_bytes(b"d" * 1000)
    gitignore = len((tmp_path / ".gitignore").read_bytes())
    assert gpu_prepare.travelling_bytes(tmp_path, (".gpu",)) == 100 + 10 + 1000 + gitignore
    assert gpu_prepare.travelling_bytes(tmp_path, ()) == 110 + gitignore
    (tmp_path / "tracked.txt").unlink()  # a tracked file moved away does not travel
    assert gpu_prepare.travelling_bytes(tmp_path, ()) == 10 + gitignore


def test_set_aside_then_restore_gives_back_the_same_files(tmp_path):
    vendor = tmp_path / "src" / "ganpage" / "web" / "vendor"
    (vendor / "onnxruntime-web").mkdir(parents=True)
    (vendor / "onnxruntime-web" / "ort.wasm").write_bytes(b"wasm")
    assert gpu_prepare.set_aside(tmp_path) == [Path("src/ganpage/web/vendor")]
    assert not vendor.exists()
    assert (tmp_path / ".gpu-aside" / "src/ganpage/web/vendor/onnxruntime-web/ort.wasm").is_file()
    assert gpu_prepare.set_aside(tmp_path) == []  # twice is harmless
    assert gpu_prepare.restore(tmp_path) == [Path("src/ganpage/web/vendor")]
    assert (vendor / "onnxruntime-web" / "ort.wasm").read_bytes() == b"wasm"
    assert gpu_prepare.restore(tmp_path) == []


def test_the_repository_without_the_set_aside_files_leaves_room_for_data_and_wheels():
    aside = [ROOT / p for p in gpu_prepare.NOT_NEEDED_ON_THE_GPU]
    files = [p for p in gpu_prepare.travelling_files(ROOT, ())
             if not any(folder in p.parents for folder in aside)]
    tree = sum(p.stat().st_size for p in files)
    room = gpu_prepare.BUDGET_BYTES - gpu_prepare.MARGIN_BYTES - DATA_AND_WHEELS
    assert tree < room, f"the tree is {tree / 2**20:.1f} MiB; {room / 2**20:.1f} MiB fit"
    with_vendor = gpu_prepare.travelling_bytes(ROOT, ())
    assert with_vendor > room  # why the vendored runtime must go aside for the run
