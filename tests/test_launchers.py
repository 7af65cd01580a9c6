"""The launcher examples of docs/scale.md (deploy/slurm, deploy/kubernetes): well formed, and
their ganpage command run here as two processes with the launcher's variables."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganpage.gallery import Gallery

ROOT = Path(__file__).resolve().parents[1]
SBATCH = ROOT / "deploy" / "slurm" / "generate.sbatch"
MANIFEST = ROOT / "deploy" / "kubernetes" / "generate-job.yaml"
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS",
                      "SLURM_LOCALID", "JOB_COMPLETION_INDEX", "JOB_COMPLETIONS")


def srun_command() -> list[str]:
    """The sbatch script's srun line (with its continuation lines), as words."""
    text = SBATCH.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("srun "))
    return shlex.split(line.replace('"$OUT/', '"OUT/'))


@pytest.mark.slow
def test_the_slurm_script_is_bash_that_runs_one_task_per_gpu():
    assert subprocess.run(["bash", "-n", str(SBATCH)]).returncode == 0
    text = SBATCH.read_text()
    assert "#SBATCH --gpus-per-task=1" in text and "#SBATCH --ntasks-per-node=4" in text
    words = srun_command()
    assert words[:3] == ["srun", "ganpage", "generate"]
    assert "--shard" in words and words[words.index("--shard") + 1] == "auto"
    assert words[3] == "OUT/gallery-{shard}/"


def test_the_kubernetes_job_is_indexed_and_tells_each_pod_the_count():
    job = yaml.safe_load(MANIFEST.read_text())
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == spec["completions"]
    container = spec["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert int(env["JOB_COMPLETIONS"]) == spec["completions"]
    assert "--shard=auto" in container["command"]
    assert container["command"][2].endswith("gallery-{shard}/")
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1


def run_as_two_shards(words: list[str], variables: list[dict], tiny_model: Path,
                      folder: Path) -> list[Path]:
    """The example's `ganpage generate` with a tiny model on the CPU, once per shard."""
    replace = {"--model": str(tiny_model), "--per-category": "2", "--device": "cpu",
               "--preset": None}
    args, skip = ["generate"], False
    for word in words[2:]:
        if skip:
            skip = False
            continue
        name, _, value = word.partition("=")
        if name in replace:
            if replace[name] is not None:
                args += [name, replace[name]]
            skip = not value
            continue
        args.append(word)
    args[1] = str(folder / Path(args[1]).name)
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    for shard in variables:
        done = subprocess.run([sys.executable, "-m", "ganpage", *args], env=env | shard,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
    return sorted(folder.glob("gallery-*"))


@pytest.mark.slow
def test_each_examples_command_runs_as_two_shards(tiny_model, tmp_path):
    job = yaml.safe_load(MANIFEST.read_text())
    pod = job["spec"]["template"]["spec"]["containers"][0]["command"]
    examples = {
        "slurm": (srun_command()[1:], [{"SLURM_PROCID": str(i), "SLURM_NTASKS": "2"}
                                       for i in range(2)]),
        "kubernetes": (pod, [{"JOB_COMPLETION_INDEX": str(i), "JOB_COMPLETIONS": "2"}
                             for i in range(2)]),
    }
    for name, (words, variables) in examples.items():
        galleries = run_as_two_shards(words, variables, tiny_model, tmp_path / name)
        assert [g.name for g in galleries] == ["gallery-00000-of-00002",
                                               "gallery-00001-of-00002"]
        counts = []
        for gallery in galleries:
            with Gallery.open(gallery) as opened:
                counts.append(len(opened.records()))
        assert sum(counts) == 3 * 2 and min(counts) > 0  # 3 classes x 2 seeds, split
