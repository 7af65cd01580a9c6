"""A GPU run's files (the ``--out`` folder of scripts/gpu_run.sh) as a run folder on this
machine: a checkpoint of its weights (G, D and the EMA generator; Adam's moments start afresh)
with its config, classes and log, on a local copy of its data set. From there the usual tools
take it: ``ganpage train --resume RUN`` (more training), ``ganpage eval`` of its export, and
scripts/release_emoji64.py (a release).

Usage: python scripts/gpu_unpack.py OUT RUN --data data/emoji64v2 [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_run import rebuild_run  # noqa: E402

from ganpage.checkpoints import latest_checkpoint  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the GPU run's --out folder")
    parser.add_argument("run", type=Path, help="the run folder to make (runs/ is not tracked)")
    parser.add_argument("--data", type=Path, required=True,
                        help="the data set it trained on, here (ganpage data emoji ...)")
    parser.add_argument("--device", default="cpu", help="for ganpage train --resume")
    args = parser.parse_args()
    missing = [name for name in ("results.json", "run.tar", "G.safetensors", "D.safetensors",
                                 "ema.safetensors") if not (args.out / name).is_file()]
    if missing:
        sys.exit(f"error: {args.out} lacks {', '.join(missing)}: not a finished GPU run's "
                 "--out folder")
    if latest_checkpoint(args.run) is not None:
        sys.exit(f"error: {args.run} already holds a run; choose a new folder")
    run = rebuild_run(args.out, args.run, args.data, args.device)
    print(f"{run}: {latest_checkpoint(run).name}; next: ganpage train --resume {run}, or "
          f"python scripts/release_emoji64.py {run} CLASSIFIER EVAL.json (see its docstring)")


if __name__ == "__main__":
    main()
