"""Progress display for long jobs: a bar with items/s and ETA (rich), quiet when not a terminal."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, named by the task's ``unit`` field ("img/s", "kimg/s")."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "it")
        speed = task.finished_speed or task.speed
        label = f"{speed:,.1f} {unit}/s" if speed else f"- {unit}/s"
        return Text(label, style="progress.data.speed")


def progress_bar(transient: bool = False) -> Progress:
    """A progress bar: description, bar, done/total, rate, elapsed, ETA, and free-form stats."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
        transient=transient,
    )
