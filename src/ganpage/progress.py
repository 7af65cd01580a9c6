"""Progress display for long jobs: a live bar with items/s and ETA on a terminal (rich), and a
status line every few seconds when the output is a log file (CI, nohup)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LOG_INTERVAL_SECONDS = 10.0
# Units measured in fractions (kimg: thousands of training images seen); every other unit
# counts whole things (img, file, step) and is shown as an integer.
FRACTIONAL_UNITS = frozenset({"kimg"})
NOTHING_TO_DO = "nothing to do"


def amount(value: float, unit: str) -> str:
    """A progress amount as shown: "8,544" for counted things, "1,250.5" for kimg."""
    return f"{value:,.1f}" if unit in FRACTIONAL_UNITS else f"{round(value):,}"


def done_of_total(completed: float, total: float, unit: str) -> str:
    """"64/800 img", or "nothing to do" when the job has no work (a re-run)."""
    if total <= 0:
        return NOTHING_TO_DO
    return f"{amount(completed, unit)}/{amount(total, unit)} {unit}"


def seconds_left(total: float, completed: float, rate: float,
                 deadline: float | None = None, now: float | None = None) -> tuple[float, bool]:
    """Seconds until the job ends and whether its time limit (a ``time.monotonic()``
    ``deadline``, as ``ganpage train --minutes`` sets) ends it before its work does: a run
    told to train 100,000 kimg for 150 minutes ends in at most 150 minutes."""
    work = (total - completed) / rate if rate > 0 else float("inf")
    if deadline is None:
        return work, False
    limit = max(deadline - (time.monotonic() if now is None else now), 0.0)
    return (limit, True) if limit < work else (work, False)


class RateColumn(ProgressColumn):
    """Items per second, named by the task's ``unit`` field ("img/s", "kimg/s")."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "it")
        speed = task.finished_speed or task.speed
        label = f"{speed:,.1f} {unit}/s" if speed else f"- {unit}/s"
        return Text(label, style="progress.data.speed")


class CountColumn(ProgressColumn):
    """Done/total in the task's ``unit``, as ``done_of_total`` writes it."""

    def render(self, task: Task) -> Text:
        return Text(done_of_total(task.completed, task.total or 0, task.fields.get("unit", "it")),
                    style="progress.download")


class RemainingColumn(TimeRemainingColumn):
    """rich's time remaining, or the time to the task's ``deadline`` field where that is
    sooner (marked "limit")."""

    def render(self, task: Task) -> Text:
        deadline = task.fields.get("deadline")
        if deadline is None or task.total is None:
            return super().render(task)
        speed = task.finished_speed or task.speed or 0.0
        left, limited = seconds_left(task.total, task.completed, speed, deadline)
        if not limited:
            return super().render(task)
        return Text(f"{timedelta(seconds=int(left))} (limit)", style="progress.remaining")


@dataclass
class LoggedTask:
    description: str
    total: float
    completed: float = 0.0
    visible: bool = True
    fields: dict = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    start_completed: float = 0.0
    printed: float | None = None  # ``completed`` when its last line was printed


class LogProgress:
    """The subset of rich's Progress API that ganpage uses, printing plain status lines."""

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS):
        self.interval = interval
        self.tasks: dict[int, LoggedTask] = {}
        self._last_print = 0.0

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        # The closing line, unless the last line printed already says it (a short job's
        # only update, or a re-run with nothing to do, printed it once).
        for task_id, task in self.tasks.items():
            if task.printed != task.completed:
                self._print(task_id)

    def add_task(self, description: str, total: float, completed: float = 0.0,
                 visible: bool = True, **fields: object) -> int:
        task_id = len(self.tasks)
        self.tasks[task_id] = LoggedTask(description, total, completed, visible, dict(fields),
                                         start_completed=completed)
        return task_id

    def update(self, task_id: int, advance: float = 0.0, completed: float | None = None,
               **fields: object) -> None:
        task = self.tasks[task_id]
        task.completed = completed if completed is not None else task.completed + advance
        task.fields.update(fields)
        if time.monotonic() - self._last_print >= self.interval:
            self._print(task_id)

    def advance(self, task_id: int, amount: float = 1.0) -> None:
        self.update(task_id, advance=amount)

    def _print(self, task_id: int) -> None:
        task = self.tasks[task_id]
        if not task.visible:
            return
        self._last_print = time.monotonic()
        task.printed = task.completed
        unit, stats = task.fields.get("unit", "it"), task.fields.get("stats", "")
        if task.total <= 0:
            print(f"{task.description}: {NOTHING_TO_DO} {stats}".rstrip(), file=sys.stderr,
                  flush=True)
            return
        elapsed = max(self._last_print - task.started, 1e-9)
        rate = (task.completed - task.start_completed) / elapsed
        left, limited = seconds_left(task.total, task.completed, rate,
                                     task.fields.get("deadline"), self._last_print)
        eta = "-" if left == float("inf") else f"{left / 60:,.1f} min"
        if limited:
            eta += " (time limit)"
        print(f"{task.description}: {done_of_total(task.completed, task.total, unit)}, "
              f"{rate:,.2f} {unit}/s, ETA {eta} {stats}", file=sys.stderr, flush=True)


def progress_bar(transient: bool = False) -> Progress | LogProgress:
    """A live bar on a terminal; periodic status lines otherwise."""
    if not sys.stderr.isatty():
        return LogProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        CountColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        RemainingColumn(),
        TextColumn("{task.fields[stats]}"),
        transient=transient,
    )
