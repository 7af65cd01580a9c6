"""Get the working tree ready for the GPU run (scripts/gpu_run.sh) and check that what travels
fits: the device tool copies the tracked and untracked-but-not-ignored files plus the carried
folders, 64 MiB in all.

1. the v2 run's data set: `ganpage data emoji --size 32` into data/emoji32 (from npm, unless
   there), its 128 best-stocked classes by `ganpage data subset` into data/emoji32-top128,
   packed into .gpu/emoji32-top128.tar.gz;
2. the wheels of scripts/gpu_wheels.txt downloaded into .whl/ (unless there);
3. the vendored onnxruntime-web (44 MB, only the browser's live page needs it) moved aside into
   .gpu-aside/ (ignored, so it stays here);
4. the bytes that will travel, counted, and refused over the budget.

After the run, `python scripts/gpu_prepare.py --restore` puts the runtime back (so does
`git checkout -- src/ganpage/web/vendor`).

Usage: python scripts/gpu_prepare.py [--check] [--restore]
           --check: only steps 3 and 4 (nothing downloaded)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARRY = (".gpu", ".whl")  # the run tool's carry=[...]
BUDGET_BYTES = 64 * 2**20
MARGIN_BYTES = 4 * 2**20  # the run writes nothing into the tree, but leave room for a rerun
ASIDE = Path(".gpu-aside")  # ignored: kept here, never sent
NOT_NEEDED_ON_THE_GPU = (Path("src/ganpage/web/vendor"),)
SOURCE_DATA = Path("data/emoji32")
DATA = Path("data/emoji32-top128")
ARCHIVE = Path(".gpu/emoji32-top128.tar.gz")
WHEELS_DOWNLOAD = ["--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                   "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
                   "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


def travelling_files(root: Path, carry: tuple[str, ...] = CARRY) -> list[Path]:
    """The files the device tool copies: tracked ones still on disk, untracked ones git does
    not ignore, and everything under the carried folders."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], capture_output=True, check=True).stdout
    files = {root / name for name in listed.decode().split("\0") if name}
    for folder in carry:
        files.update(p for p in (root / folder).rglob("*") if p.is_file())
    return sorted(p for p in files if p.is_file() and not p.is_symlink())


def travelling_bytes(root: Path, carry: tuple[str, ...] = CARRY) -> int:
    return sum(p.stat().st_size for p in travelling_files(root, carry))


def set_aside(root: Path) -> list[Path]:
    """Move what the GPU run does not need into the ignored ASIDE folder; what was moved."""
    return [relative for relative in NOT_NEEDED_ON_THE_GPU
            if _move(root / relative, root / ASIDE / relative)]


def restore(root: Path) -> list[Path]:
    """Put back what ``set_aside`` moved; what was put back."""
    return [relative for relative in NOT_NEEDED_ON_THE_GPU
            if _move(root / ASIDE / relative, root / relative)]


def _move(source: Path, target: Path) -> bool:
    """``source`` moved to ``target`` (replacing it); False when there is no ``source``."""
    if not source.exists():
        return False
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)
    return True


def prepare_data(root: Path) -> None:
    if not (root / SOURCE_DATA).is_dir():
        subprocess.run([sys.executable, "-m", "ganpage", "data", "emoji", "--size", "32",
                        "--out", str(root / SOURCE_DATA)], check=True)
    if not (root / DATA).is_dir():
        subprocess.run([sys.executable, "-m", "ganpage", "data", "subset", str(root / SOURCE_DATA),
                        "--classes", "128", "--out", str(root / DATA)], check=True)
    if not (root / ARCHIVE).is_file():
        (root / ARCHIVE).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "czf", str(root / ARCHIVE), "-C", str((root / DATA).parent),
                        DATA.name], check=True)


def prepare_wheels(root: Path) -> None:
    if not list((root / ".whl").glob("*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", *WHEELS_DOWNLOAD, "-d",
                        str(root / ".whl"), "-r", str(root / "scripts" / "gpu_wheels.txt")],
                       check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="download nothing")
    parser.add_argument("--restore", action="store_true", help="put the set-aside files back")
    args = parser.parse_args()
    if args.restore:
        print("restored:", ", ".join(map(str, restore(ROOT))) or "nothing was set aside")
        return 0
    if not args.check:
        prepare_data(ROOT)
        prepare_wheels(ROOT)
    for moved in set_aside(ROOT):
        print(f"set aside {moved} in {ASIDE}/ (restore: python scripts/gpu_prepare.py "
              "--restore)")
    total = travelling_bytes(ROOT)
    print(f"travels: {total / 2**20:.1f} MiB (budget {BUDGET_BYTES / 2**20:.0f} MiB, "
          f"carry {list(CARRY)})")
    if total > BUDGET_BYTES - MARGIN_BYTES:
        biggest = sorted(travelling_files(ROOT), key=lambda p: p.stat().st_size)[-3:]
        print("too big for the device tool; the biggest files: " + ", ".join(
            f"{p.relative_to(ROOT)} ({p.stat().st_size / 2**20:.1f} MiB)" for p in biggest),
            file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
