"""Shards (ganpage.shards): I/N by hand or from the launcher's variables, each shard's own
gallery and GPU, and a launched job's galleries merging into the unsharded one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.shards import Shard

LAUNCHED = {  # launcher -> the variables it sets for process 1 of 3
    "torchrun": {"RANK": "1", "WORLD_SIZE": "3", "LOCAL_RANK": "1"},
    "Slurm": {"SLURM_PROCID": "1", "SLURM_NTASKS": "3", "SLURM_LOCALID": "1"},
    "a Kubernetes Indexed Job": {"JOB_COMPLETION_INDEX": "1", "JOB_COMPLETIONS": "3"},
}


@pytest.mark.parametrize("launcher", LAUNCHED)
def test_auto_reads_each_launchers_variables(launcher):
    shard = Shard.parse("auto", LAUNCHED[launcher])
    assert (shard.index, shard.count, shard.launcher) == (1, 3, launcher)
    assert shard.device("cuda") == ("cuda" if launcher.startswith("a Kube") else "cuda:1")
    assert shard.device("cpu") == "cpu" and shard.device("cuda:0") == "cuda:0"


@pytest.mark.slow
def test_torchrun_inside_slurm_wins_and_mistakes_are_one_line():
    both = LAUNCHED["Slurm"] | {"RANK": "2", "WORLD_SIZE": "4"}
    assert (Shard.parse("auto", both).index, Shard.parse("auto", both).count) == (2, 4)
    for environ, message in (({}, "found no launcher"),
                             ({"JOB_COMPLETION_INDEX": "0"}, "set JOB_COMPLETIONS to"),
                             ({"RANK": "3", "WORLD_SIZE": "3"}, "RANK=3 is not below"),
                             ({"SLURM_PROCID": "x", "SLURM_NTASKS": "2"}, "not a whole")):
        with pytest.raises(GanpageError, match=message):
            Shard.parse("auto", environ)
    assert Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "-1/2", "x", "1/0"):
        with pytest.raises(GanpageError, match="bad shard"):
            Shard.parse(bad)


def test_each_shard_names_its_own_gallery(tmp_path):
    launched = Shard.parse("auto", LAUNCHED["Slurm"])
    assert launched.gallery(tmp_path / "g-{shard}") == tmp_path / "g-00001-of-00003"
    with pytest.raises(GanpageError, match="put {shard} in the gallery path"):
        launched.gallery(tmp_path / "g")
    assert Shard(1, 3).gallery(tmp_path / "g") == tmp_path / "g"  # by hand: the user's path
    alone = Shard.parse("auto", {"RANK": "0", "WORLD_SIZE": "1"})
    assert alone.gallery(tmp_path / "g") == tmp_path / "g"


def ganpage(*args: str, environ: dict | None = None) -> subprocess.CompletedProcess:
    launcher_names = {name for variables in LAUNCHED.values() for name in variables}
    env = {k: v for k, v in os.environ.items() if k not in launcher_names} | (environ or {})
    done = subprocess.run([sys.executable, "-m", "ganpage", *args], capture_output=True,
                          text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
@pytest.mark.parametrize("launcher", LAUNCHED)
def test_a_launched_job_merges_into_the_unsharded_gallery(launcher, tiny_model, tmp_path):
    job = ["--model", str(tiny_model), "--per-category", "3", "--truncation", "0.6"]
    ganpage("generate", str(tmp_path / "whole"), *job)
    for index in range(2):
        variables = {name: value for name, value in LAUNCHED[launcher].items()}
        index_name, count_name = list(variables)[:2]
        variables.update({index_name: str(index), count_name: "2"})
        said = ganpage("generate", str(tmp_path / "g-{shard}"), *job, "--shard", "auto",
                       environ=variables).stdout
        assert f"shard {index}/2 from {launcher}" in said
    ganpage("gallery", "merge", str(tmp_path / "merged"), str(tmp_path / "g-00000-of-00002"),
            str(tmp_path / "g-00001-of-00002"))
    with Gallery.open(tmp_path / "whole") as whole, Gallery.open(tmp_path / "merged") as merged:
        assert {r.id: r.sha256 for r in merged.records()} == {
            r.id: r.sha256 for r in whole.records()}
        assert len(whole.records()) == 9
