"""A job split over processes: ``Shard`` is this process's part, ``I/N``, given by hand or read
from the launcher that started it (``--shard auto``), so one command line serves every process
of a torchrun, Slurm or Kubernetes job. Each shard writes its own gallery (``{shard}`` in the
path), and ``ganpage gallery merge`` joins them.

What each launcher sets (read in this order, so torchrun started inside a Slurm job wins):

- torchrun: ``RANK`` and ``WORLD_SIZE`` (and ``LOCAL_RANK``: the GPU on this machine);
- Slurm (``srun``): ``SLURM_PROCID`` and ``SLURM_NTASKS`` (and ``SLURM_LOCALID``);
- a Kubernetes Indexed Job: ``JOB_COMPLETION_INDEX``, set by Kubernetes, and ``JOB_COMPLETIONS``,
  which the Job's manifest sets to its ``completions`` (Kubernetes has no variable for it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ganpage.errors import GanpageError

PLACEHOLDER = "{shard}"
# (launcher, its variable for this process's index, for the count, for the index on this machine)
LAUNCHERS = (
    ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"),
    ("Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"),
    ("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS", None),
)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based), parsed from 'I/N' or read from a launcher."""

    index: int = 0
    count: int = 1
    local_rank: int | None = None  # the launcher's process number on this machine
    launcher: str = ""  # who set it; "" when given by hand

    @classmethod
    def parse(cls, text: str, environ: Mapping[str, str] = os.environ) -> Shard:
        """'I/N', or 'auto': from the launcher's variables in ``environ``."""
        if text == "auto":
            return cls.from_launcher(environ)
        try:
            index, count = (int(p) for p in text.split("/"))
        except ValueError:
            index, count = -1, 0
        if not 0 <= index < count:
            raise GanpageError(f"bad shard {text!r}: write I/N with 0 <= I < N, e.g. 0/4, or "
                               "auto under torchrun, Slurm or a Kubernetes Indexed Job")
        return cls(index, count)

    @classmethod
    def from_launcher(cls, environ: Mapping[str, str]) -> Shard:
        for launcher, index_name, count_name, local_name in LAUNCHERS:
            if index_name not in environ:
                continue
            if count_name not in environ:
                raise GanpageError(f"--shard auto: {launcher} set {index_name} but not "
                                   f"{count_name}; set {count_name} to the number of shards")
            index, count = _integer(environ, index_name), _integer(environ, count_name)
            if not 0 <= index < count:
                raise GanpageError(f"--shard auto: {index_name}={index} is not below "
                                   f"{count_name}={count}")
            local = (_integer(environ, local_name)
                     if local_name is not None and local_name in environ else None)
            return cls(index, count, local, launcher)
        raise GanpageError("--shard auto found no launcher: expected torchrun's RANK and "
                           "WORLD_SIZE, Slurm's SLURM_PROCID and SLURM_NTASKS, or a Kubernetes "
                           "Indexed Job's JOB_COMPLETION_INDEX and JOB_COMPLETIONS; give "
                           "--shard I/N instead")

    @property
    def name(self) -> str:
        """What ``{shard}`` becomes in a path: '00003-of-00008'."""
        return f"{self.index:05d}-of-{self.count:05d}"

    def gallery(self, path: Path) -> Path:
        """This shard's own gallery: ``{shard}`` in ``path`` replaced by its name. A launched
        job of several shards must have the placeholder, or every process would write one
        gallery at once."""
        if PLACEHOLDER in str(path):
            return Path(str(path).replace(PLACEHOLDER, self.name))
        if self.launcher and self.count > 1:
            raise GanpageError(f"--shard auto: {self.count} processes would write {path} at "
                               f"once; put {PLACEHOLDER} in the gallery path (e.g. "
                               f"'gallery-{PLACEHOLDER}/'), then ganpage gallery merge them")
        return path

    def device(self, device: str) -> str:
        """``cuda`` becomes this process's own GPU, ``cuda:<local rank>``, under a launcher
        that starts one process per GPU; any other device is left as given."""
        if device == "cuda" and self.local_rank is not None:
            return f"cuda:{self.local_rank}"
        return device


WHOLE = Shard()  # the whole job, one process


def _integer(environ: Mapping[str, str], name: str) -> int:
    try:
        return int(environ[name])
    except ValueError:
        raise GanpageError(f"--shard auto: {name}={environ[name]!r} is not a whole "
                           "number") from None
