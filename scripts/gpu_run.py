"""The GPU run: everything one short loan of a GPU is for, in one command that cannot stop
half-way without leaving its results.

  bash scripts/gpu_run.sh --out $OUT                      # on the GPU machine, ~9 minutes
  bash scripts/gpu_run.sh --out $OUT --continue DIR       # carry on from a run's files
  bash scripts/gpu_run.sh --out $OUT --width 48           # carry on, the networks grown wider
  bash scripts/gpu_run.sh --out $OUT --fresh              # a new run, not the committed one
  python scripts/gpu_run.py --smoke --out /tmp/smoke      # the whole run on a CPU in < 1 min

Stages, each with its own time cap, on one deadline (``--minutes`` from the start):
1. ``tests``: the CUDA tests (tests/test_cuda.py: bf16 autocast, channels_last, DDP over NCCL,
   generate and sample on CUDA, BigGAN on CUDA, live drawing), run beside ``train``, after
   ``speed``, so they never disturb its timings.
2. ``speed``: training images/s of ganpage at the data's size, batch 64, at each candidate width
   on the real data, and of lightweight-gan, batch 64 (its defaults, float16 amp).
3. ``train``: by default the committed v2 run (``training/emoji-v2``, packed by ``ganpage run
   pack``) goes on where the CPU left it, with its own recipe and width; with ``--fresh``,
   emoji v2 from scratch with ``RECIPE`` at the widest candidate width that reaches
   ``TARGET_KIMG`` in the minutes left (by the measured speed), checkpointing as it goes; the
   transitional-conditioning schedule is set in proportion to the kimg it can reach.
4. ``package``: at most 8 files of at most 16 MB in ``--out``: ``results.json`` (every figure
   above), ``log.txt`` (all output), ``tests.txt``, ``grid.png`` (the EMA generator, 16 classes
   x 8 seeds), ``ema.safetensors`` (the EMA generator, bf16), ``G.safetensors`` and
   ``D.safetensors`` (bf16 weights for a continuation; Adam's moments do not fit and restart)
   and ``run.tar`` (config, classes, log.jsonl, loss plot, config changes).
``--continue DIR`` reads such a folder, rebuilds the run folder around a checkpoint of those
weights and goes on training it (stage 3 without the width choice; ``--width N`` grows a
continued run's networks to N channels first, as ``ganpage train --resume RUN --g-channels N
--d-channels N`` does on the CPU: they draw what they drew, and the new channels start silent).
Back on the project's machine, ``ganpage run unpack DIR --data DATA --out RUN`` rebuilds the
same run folder for evaluation, a release (scripts/release_model.py) or more training on the
CPU.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ganpage.atomic import atomic_write_text  # noqa: E402
from ganpage.checkpoints import latest_checkpoint  # noqa: E402
from ganpage.data.synthetic import write_noise_dataset  # noqa: E402
from ganpage.errors import GanpageError  # noqa: E402
from ganpage.reporting import read_log  # noqa: E402
from ganpage.run_pack import pack_run, unpack_run  # noqa: E402

# the recipe benchmarks/recipe_ab.py chose (training/README.md has the A/Bs); the schedule's
# kimg are filled in from the kimg the run can reach
RECIPE = {"loss": "relativistic", "r1_gamma": 0.1, "class_loss_weight": 1.0,
          "diversity_loss_weight": 0.2, "ema_kimg": 10.0, "style_label": "source"}
COMMITTED_RUN = ROOT / "training" / "emoji-v2"  # the CPU run, packed: --continue's default
CONDITION_START_SHARE, CONDITION_FADE_SHARE = 0.1, 0.25  # of the reachable kimg
WIDTHS = (48, 32)  # widest first; 48 is the widest whose bf16 G fits one 16 MB file
TARGET_KIMG = 400.0
BATCH_SIZE = 64
DATA_ARCHIVE = ROOT / ".gpu" / "emoji32-top128.tar.gz"  # scripts/gpu_prepare.py


class Clock:
    """The run's one deadline; ``reserve`` seconds of it are kept for packaging."""

    def __init__(self, minutes: float, reserve: float):
        self.started = time.monotonic()
        self.deadline = self.started + 60 * minutes
        self.reserve = reserve

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Log:
    """Every line goes to stdout and to ``log.txt``, flushed as it is written."""

    def __init__(self, path: Path):
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 (closed at exit)

    def __call__(self, text: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        print(line, flush=True)
        self.file.write(line + "\n")


def run_command(command: list[str], log: Log, timeout: float, env: dict | None = None,
                output: Path | None = None) -> tuple[int, str]:
    """Run a stage's command with a time cap; its output goes to the log (and ``output``).
    Returns (exit code, output); 124 when it ran out of time (it gets SIGTERM first)."""
    log(f"$ {' '.join(command)}  (cap {timeout:.0f} s)")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, **(env or {})}, cwd=ROOT)
    try:
        text, _ = process.communicate(timeout=max(timeout, 1))
        code = process.returncode
    except subprocess.TimeoutExpired:
        process.terminate()  # training checkpoints on SIGTERM
        try:
            text, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            text, _ = process.communicate()
        code = 124
    log.file.write(text)
    if output is not None:
        output.write_text(text)
    tail = text.strip().splitlines()[-3:] if text.strip() else []
    log(f"exit {code}: {' | '.join(tail)[:400]}")
    return code, text


def ganpage_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganpage", *args]


# -- stage 0: environment and data -----------------------------------------------------------


def environment() -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.is_available(), "cpus": os.cpu_count()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda_version"] = torch.version.cuda
    return info


def unpack_data(archive: Path, work: Path) -> Path:
    """The data set archive (a ``tar czf`` of the data set folder), unpacked as data only."""
    with tarfile.open(archive) as tar:
        tar.extractall(work / "data", filter="data")
    folders = [p.parent for p in (work / "data").glob("*/manifest.jsonl")]
    if len(folders) != 1:
        raise SystemExit(f"{archive} should hold one data set folder, found {len(folders)}")
    return folders[0]


# -- stage 1: tests --------------------------------------------------------------------------


def run_tests(out: Path, log: Log, cap: float) -> dict:
    started = time.monotonic()
    code, text = run_command([sys.executable, "-m", "pytest", "tests/test_cuda.py", "-q", "-rs",
                              "--durations=5",
                              "-p", "no:cacheprovider", "-o", "addopts="], log, cap,
                             output=out / "tests.txt")
    summary = text.strip().splitlines()[-1] if text.strip() else ""
    return {"exit_code": code, "summary": summary, "seconds": round(time.monotonic() - started)}


# -- stage 2: speed --------------------------------------------------------------------------


def steady_images_per_s(run_dir: Path) -> float | None:
    """Training images/s between the second and the last log row (warm-up left out)."""
    rows = read_log(run_dir)
    if len(rows) < 3:  # too short to leave the warm-up out
        return rows[-1]["images_per_s"] if rows else None
    first, last = rows[1], rows[-1]
    return (last["kimg"] - first["kimg"]) * 1000 / (last["time"] - first["time"])


def ganpage_speed(data: Path, work: Path, width: int, seconds: float, device: str, log: Log,
                  smoke: bool) -> float | None:
    out = work / f"speed-{width}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["train", str(data), "--out", str(out), "--device", device, "--kimg", "1000000",
            "--minutes", str(seconds / 60), "--batch-size", str(4 if smoke else BATCH_SIZE),
            "--g-channels", str(width), "--d-channels", str(width), "--grid-every", "1000000",
            "--checkpoint-every", "1000000", "--quiet",
            *recipe_options(RECIPE), *smoke_options(smoke)]
    run_command(ganpage_command(*args), log, seconds + 60)
    runs = sorted(p for p in out.glob("*") if p.is_dir()) if out.is_dir() else []
    return steady_images_per_s(runs[-1]) if runs else None


def lightweight_gan_speed(data: Path, work: Path, seconds: float, log: Log,
                          device: str) -> dict:
    out = work / "lwg"
    command = [sys.executable, str(ROOT / "benchmarks" / "lightweight_gan_peer.py"),
               "--device", device, "--data", str(data), "--out", str(out), "--image-size", "64",
               "--batch", str(BATCH_SIZE), "--seconds", str(seconds)]
    if device == "cuda":
        command.append("--amp")
    code, text = run_command(command, log, seconds + 90)
    result = out / "result.json"
    if code == 0 and result.is_file():
        return json.loads(result.read_text())
    lines = text.strip().splitlines()
    return {"not_run": lines[-1][:300] if lines else f"exit {code}"}


def run_speed(data: Path, work: Path, log: Log, smoke: bool) -> dict:
    device = "cpu" if smoke else "cuda"
    seconds = 2 if smoke else 12  # the rehearsal needs a figure, not a good one
    speeds = {}
    for width in (WIDTHS[-1:] if smoke else WIDTHS):
        speeds[width] = ganpage_speed(data, work, 4 if smoke else width, seconds, device, log,
                                      smoke)
        log(f"ganpage width {width}: {speeds[width]} training images/s")
    peer = ({"not_run": "smoke rehearsal"} if smoke
            else lightweight_gan_speed(data, work, 25, log, device))
    log(f"lightweight-gan: {peer}")
    return {"ganpage_images_per_s": speeds, "lightweight_gan": peer,
            "image_size": 64, "batch_size": BATCH_SIZE, "device": device}


def choose_width(speeds: dict, train_seconds: float) -> tuple[int, float]:
    """The widest width whose measured speed reaches TARGET_KIMG in ``train_seconds``, else
    the fastest one; with the kimg it is expected to reach."""
    measured = {w: s for w, s in speeds.items() if s}
    if not measured:
        raise SystemExit("no training speed was measured; see log.txt")
    for width in sorted(measured, reverse=True):
        if measured[width] * train_seconds / 1000 >= TARGET_KIMG:
            return width, measured[width] * train_seconds / 1000
    width = max(measured, key=measured.get)
    return width, measured[width] * train_seconds / 1000


# -- stage 3: train --------------------------------------------------------------------------


def recipe_options(recipe: dict) -> list[str]:
    names = {"class_loss_weight": "--class-loss-weight",
             "diversity_loss_weight": "--diversity-loss-weight", "ema_kimg": "--ema-kimg",
             "loss": "--loss", "r1_gamma": "--r1-gamma",
             "condition_start_kimg": "--condition-start",
             "condition_fade_kimg": "--condition-fade", "style_label": "--style-label"}
    return [part for name, value in recipe.items() for part in (names[name], str(value))]


def train_options(width: int, reach_kimg: float, smoke: bool) -> list[str]:
    recipe = {**RECIPE, "condition_start_kimg": round(CONDITION_START_SHARE * reach_kimg, 3),
              "condition_fade_kimg": round(CONDITION_FADE_SHARE * reach_kimg, 3)}
    every = max(round(reach_kimg / 10, 3), 0.001)
    return ["--g-channels", str(width), "--d-channels", str(width),
            "--batch-size", str(4 if smoke else BATCH_SIZE), "--kimg", "1000000",
            "--grid-every", str(every), "--checkpoint-every", str(every),
            *recipe_options(recipe), *smoke_options(smoke)]


def grow_options(width: int | None) -> list[str]:
    """``ganpage train --resume``'s options that grow a run to ``width`` channels (none: as
    it is)."""
    return [] if width is None else ["--g-channels", str(width), "--d-channels", str(width)]


def smoke_options(smoke: bool) -> list[str]:
    """One thread: on a busy CPU, torch's threads spin against each other (10x slower)."""
    return ["--threads", "1", "--log-every", "5"] if smoke else []


def run_training(command: list[str], clock: Clock, log: Log, smoke: bool) -> dict:
    """Train until the deadline (less the packaging reserve); SIGTERM if it overruns. The
    rehearsal trains a fixed few seconds with a loose cap: a busy CPU may take long to start
    Python, and the rehearsal is about every stage running, not about its timing."""
    if smoke:  # the clock starts after the set-up, and a run stops after a step: one at least
        minutes, cap = 0.03, 120.0
    else:
        startup = 20  # loading the data and building the networks
        minutes = max((clock.left() - clock.reserve - startup) / 60, 0.05)
        cap = clock.left() - clock.reserve
    code, _ = run_command([*command, "--minutes", f"{minutes:.3f}", "--quiet"], log, cap)
    return {"exit_code": code, "minutes_asked": round(minutes, 2)}


def run_to_continue(given: Path | None, fresh: bool, smoke: bool,
                    committed: Path = COMMITTED_RUN) -> Path | None:
    """The packed run to go on with: the one given, else the committed CPU run (not for a
    ``--fresh`` run or the rehearsal), else none (train from scratch)."""
    if given is not None or fresh or smoke:
        return given
    return committed if committed.is_dir() else None


def continue_run(previous: Path, work: Path, data: Path, device: str) -> Path:
    """A run folder around a checkpoint of ``previous``'s weights, for ``--continue``."""
    return rebuild_run(previous, work / "runs" / "00000-continued", data, device)


def rebuild_run(previous: Path, run_dir: Path, data: Path, device: str) -> Path:
    """``run_dir``: a run folder around a checkpoint of ``previous``'s weights (a GPU run's
    ``--out`` or any packed run: ``ganpage run unpack``; fresh Adam moments) on the data set
    ``data``."""
    try:
        return unpack_run(previous, run_dir, data, device)
    except GanpageError as error:
        raise SystemExit(f"error: {error}") from None


# -- stage 4: package ------------------------------------------------------------------------


def package(run_dir: Path, out: Path, log: Log) -> dict:
    """The run's latest checkpoint as bf16 safetensors, a grid of its EMA generator, its small
    files (``ganpage.run_pack``)."""
    if latest_checkpoint(run_dir) is None:
        log(f"no checkpoint in {run_dir}")
        return {}
    counters = pack_run(run_dir, out)
    return {"checkpoint": counters.pop("checkpoint"), "counters": counters}


def check_outputs(out: Path, log: Log) -> list[str]:
    """The device tool returns at most 8 files of at most 16 MB: say so if we broke that."""
    files = [p for p in out.rglob("*") if p.is_file()]
    problems = [f"{p.name} is {p.stat().st_size / 2**20:.1f} MiB" for p in files
                if p.stat().st_size > 16 * 2**20]
    count = len(files) + (not (out / "results.json").is_file())  # it is written after this
    if count > 8:
        problems.append(f"{count} files (at most 8 come back)")
    for problem in problems:
        log(f"OUTPUT PROBLEM: {problem}")
    return problems


# -- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=9.0, help="wall-clock for everything")
    parser.add_argument("--continue", dest="previous", type=Path,
                        help="a previous run's --out folder (or any packed run) to carry on "
                             f"from; default: {COMMITTED_RUN.relative_to(ROOT)} when present")
    parser.add_argument("--fresh", action="store_true",
                        help="train a new run instead of continuing the committed one")
    parser.add_argument("--width", type=int, help="grow a continued run's networks to this "
                        "many channels (default: the run's own width)")
    parser.add_argument("--data", type=Path, help="data set folder (default: unpack "
                        ".gpu/emoji32-top128.tar.gz)")
    parser.add_argument("--smoke", action="store_true",
                        help="rehearse every stage on the CPU with a tiny config")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tests", "speed"])
    args = parser.parse_args()
    args.previous = run_to_continue(args.previous, args.fresh, args.smoke)
    if args.width is not None and args.previous is None:
        parser.error("--width grows a continued run; a fresh run chooses its width by speed")
    clock = Clock(0.8, reserve=5) if args.smoke else Clock(args.minutes, reserve=45)
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(os.environ.get("GPU_RUN_WORK", "/tmp/ganpage-gpu-run"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = Log(args.out / "log.txt")
    results: dict = {"environment": environment(), "smoke": args.smoke, "recipe": RECIPE}
    log(f"environment: {results['environment']}")
    try:
        stages(args, work, clock, log, results)
    finally:
        results["wall_seconds"] = round(clock.elapsed())
        results["output_problems"] = check_outputs(args.out, log)
        atomic_write_text(args.out / "results.json", json.dumps(results, indent=1) + "\n")
        log(f"done in {results['wall_seconds']} s; results.json written")


def stages(args: argparse.Namespace, work: Path, clock: Clock, log: Log, results: dict) -> None:
    device = "cpu" if args.smoke else "cuda"
    if args.data:
        data = args.data
    elif args.smoke:
        data = write_noise_dataset(work / "data" / "tiny", classes=4, styles=2)
    else:
        data = unpack_data(DATA_ARCHIVE, work)
    log(f"data: {data}")
    if args.previous:
        run_dir = continue_run(args.previous, work, data, device)
        command = ganpage_command("train", "--resume", str(run_dir), "--device", device,
                                  *grow_options(args.width),
                                  *(["--threads", "1"] if args.smoke else []))
    else:
        if "speed" not in args.skip:
            results["speed"] = run_speed(data, work, log, args.smoke)
            speeds = results["speed"]["ganpage_images_per_s"]
        else:
            speeds = {WIDTHS[-1]: 1.0}
        train_seconds = max(clock.left() - clock.reserve, 10)
        width, reach = choose_width(speeds, train_seconds)
        width = 4 if args.smoke else width
        results["train"] = {"width": width, "expected_kimg": round(reach, 1)}
        log(f"training at width {width}, expecting {reach:.0f} kimg in {train_seconds:.0f} s")
        command = ganpage_command("train", str(data), "--out", str(work / "runs"), "--device",
                                  device, *train_options(width, reach, args.smoke))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        tests = None
        if "tests" not in args.skip and not args.previous:
            cap = 120 if args.smoke else min(150, clock.left() - clock.reserve)
            tests = pool.submit(run_tests, args.out, log, cap)
        results.setdefault("train", {}).update(run_training(command, clock, log, args.smoke))
        if tests is not None:
            results["tests"] = tests.result()
    run_dir = sorted(p for p in (work / "runs").glob("*") if p.is_dir())[-1]
    results["train"].update(package(run_dir, args.out, log))


if __name__ == "__main__":
    main()
