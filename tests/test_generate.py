import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ganpage.errors import GanpageError
from ganpage.gallery import Gallery
from ganpage.generate import TruncationRange, choose_categories, generate, plan
from ganpage.models import load_generator
from ganpage.shards import Shard
from helpers.models import make_tiny_model
from helpers.servers import wait_until


def test_truncation_parsing():
    assert TruncationRange.parse("0.5") == TruncationRange(0.5, 0.5)
    assert TruncationRange.parse("0.4:0.7") == TruncationRange(0.4, 0.7)
    for bad in ("0", "1.5", "0.7:0.4", "a:b", "0.1:0.2:0.3", ""):
        with pytest.raises(GanpageError, match="bad truncation"):
            TruncationRange.parse(bad)


def test_truncation_range_is_per_picture_and_deterministic():
    spread = TruncationRange(0.4, 0.7)
    values = [spread.for_picture(0, seed) for seed in range(100)]
    assert all(0.4 <= v <= 0.7 for v in values) and len(set(values)) > 10
    assert values == [spread.for_picture(0, seed) for seed in range(100)]


def test_shards_partition_the_plan(tiny_model):
    generator = load_generator(tiny_model)
    everything = plan(generator, choose_categories(generator), 7, TruncationRange(0.5, 0.9))
    parts = [plan(generator, choose_categories(generator), 7, TruncationRange(0.5, 0.9),
                  shard=Shard(i, 3)) for i in range(3)]
    ids = [job.id for part in parts for job in part]
    assert sorted(ids) == sorted(job.id for job in everything) and len(set(ids)) == 21


def test_choose_categories(tiny_model):
    generator = load_generator(tiny_model)
    assert [c.name for c in choose_categories(generator, ["bagel", "0"])] == ["Bagel", "Hamster"]
    assert choose_categories(generator, random_count=2, seed=5) == \
        choose_categories(generator, random_count=2, seed=5)
    with pytest.raises(GanpageError, match="between 1 and 3"):
        choose_categories(generator, random_count=4)
    with pytest.raises(GanpageError, match="Did you mean: Mailbox"):
        choose_categories(generator, ["mailbx"])


def test_seeds_beyond_the_noise_seeds_are_refused(tiny_model):
    """Noise seeds are 32-bit: 2**32 would draw the picture of seed 0 under another id."""
    generator = load_generator(tiny_model)
    assert plan(generator, choose_categories(generator), 1, TruncationRange(0.5, 0.5),
                first_seed=2**32 - 1)[0].seed == 2**32 - 1
    for first_seed, per_category in ((2**32, 1), (2**32 - 1, 2), (-1, 3)):
        with pytest.raises(GanpageError, match="leave the noise seeds 0..4294967295"):
            plan(generator, choose_categories(generator), per_category,
                 TruncationRange(0.5, 0.5), first_seed=first_seed)


def test_random_categories_are_fixed_for_a_seed(tmp_path):
    """The draw is written out (ganpage.rng), so every Python picks the same categories."""
    generator = load_generator(make_tiny_model(tmp_path / "m", [f"C{i}" for i in range(10)]))
    assert [c.id for c in choose_categories(generator, random_count=4, seed=5)] == [0, 5, 8, 9]
    assert [c.id for c in choose_categories(generator, random_count=4, seed=6)] == [2, 4, 6, 8]


def test_generate_resumes_without_duplicates(tiny_model, tmp_path):
    generator = load_generator(tiny_model)
    jobs = plan(generator, choose_categories(generator), 5, TruncationRange(0.5, 0.5))
    with Gallery.open(tmp_path / "g", create=True) as gallery:
        assert generate(generator, gallery, jobs[:7], batch_size=3, show_progress=False) == 7
        assert generate(generator, gallery, jobs, batch_size=3, show_progress=False) == 8
        assert generate(generator, gallery, jobs, batch_size=3, show_progress=False) == 0
        assert len(gallery.records()) == 15 and gallery.verify() == []


def test_shards_merge_into_the_unsharded_gallery(tiny_model, tmp_path):
    generator = load_generator(tiny_model)
    categories = choose_categories(generator)
    for index in range(2):
        jobs = plan(generator, categories, 4, TruncationRange(0.6, 0.6), shard=Shard(index, 2))
        with Gallery.open(tmp_path / f"shard{index}", create=True) as gallery:
            generate(generator, gallery, jobs, show_progress=False)
    whole = plan(generator, categories, 4, TruncationRange(0.6, 0.6))
    with Gallery.open(tmp_path / "whole", create=True) as gallery:
        generate(generator, gallery, whole, show_progress=False)
        expected = {r.id: r.sha256 for r in gallery.records()}
    with Gallery.open(tmp_path / "merged", create=True) as merged:
        for index in range(2):
            with Gallery.open(tmp_path / f"shard{index}") as shard:
                merged.merge_from(shard)
        assert {r.id: r.sha256 for r in merged.records()} == expected


def _generate_command(model: Path, gallery: Path) -> list[str]:
    return [sys.executable, "-m", "ganpage", "generate", str(gallery), "--model", str(model),
            "--per-category", str(PER_CATEGORY), "--batch-size", "4", "--truncation", "0.4:0.9",
            "--quiet"]


PER_CATEGORY = 200  # x 3 categories
# One torch thread: on a busy machine two OpenMP threads on two shared cores spin-wait for each
# other, and a batch of 4 tiny pictures took ~100x longer than on a quiet one (the 300 s
# timeout this test once hit was that, not a hang: the final run went on drawing).
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


def _indexed_pictures(gallery: Path) -> int:
    """Rows in a gallery's index, read without writing (0 while the index is not there yet)."""
    try:
        with sqlite3.connect(f"file:{gallery / 'gallery.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM images").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or its table not yet made
        return 0


def _kill_9_once_indexed(command: list[str], gallery: Path, count: int) -> None:
    """Start the command and SIGKILL it as soon as the index holds ``count`` pictures."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ONE_THREAD)
    try:
        wait_until(lambda: process.poll() is not None or _indexed_pictures(gallery) >= count,
                   120, f"generate did not reach {count} pictures", interval=0.02)
    finally:
        process.kill()  # SIGKILL; a no-op if the run already ended, which the assert reports
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"


@pytest.mark.slow
def test_kill_9_at_several_points_then_resume_completes(tiny_model, tmp_path):
    """The fault test: SIGKILL mid-run, several times, then one clean run finishes the set.

    The kills are timed by progress, not by the clock, so a fast machine cannot finish the set
    before the first kill."""
    gallery = tmp_path / "g"
    command = _generate_command(tiny_model, gallery)
    total = 3 * PER_CATEGORY
    for count in (100, 250, 400):
        _kill_9_once_indexed(command, gallery, count)
    partial = _indexed_pictures(gallery)
    assert 400 <= partial < total, "the kills came too late to interrupt anything"
    try:
        subprocess.run(command, check=True, capture_output=True, env=ONE_THREAD, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the clean resume did not finish in 180 s: {_indexed_pictures(gallery)} "
                    f"of {total} pictures indexed (from {partial})")
    with Gallery.open(gallery) as result:
        records = result.records()
        assert len(records) == total and len({r.id for r in records}) == total
        assert result.verify() == []
        for record in records[::37]:
            with Image.open(result.path_of(record)) as image:
                image.load()
                assert image.size == (32, 32)
    files = [p for p in gallery.rglob("*") if p.is_file() and p.suffix == ".webp"]
    assert len(files) == total
    assert not list(gallery.rglob("*.partial"))
