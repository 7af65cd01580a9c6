"""`ganpage demo` (demo.py): a gallery curated by `ganpage curate`'s rules before it is served,
so the demo shows approved pictures as the README and the about page say; a re-run redoes
nothing; the README's build-site command works on its gallery."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ganpage.demo import build_demo_gallery
from ganpage.gallery import Gallery

README = Path(__file__).parents[1] / "README.md"


def statuses(folder: Path) -> dict[str, tuple[str, str]]:
    with Gallery.open(folder) as gallery:
        return {r.id: (r.status, r.decided_by) for r in gallery.records()}


def test_the_demo_gallery_is_curated_before_it_is_served(tmp_path, monkeypatch):
    """emoji64's 3 best categories, 3 pictures each, scored by its own classifier."""
    monkeypatch.chdir(tmp_path)  # no data/emoji64 here: memorisation is not checked
    built = build_demo_gallery(tmp_path / "demo", "emoji64", per_category=3, best=3,
                               show_progress=False)
    decided = statuses(tmp_path / "demo")
    assert built.made == built.scored == len(decided) == 9
    assert {status for status, _ in decided.values()} <= {"approved", "rejected"}  # none pending
    assert all(decider.startswith("rule:") for _, decider in decided.values())
    approved = sum(status == "approved" for status, _ in decided.values())
    assert (built.approved, built.rejected) == (approved, 9 - approved) and approved >= 3
    with Gallery.open(tmp_path / "demo") as gallery:
        assert all("class_probability" in r.scores for r in gallery.records())
    assert built.line(Path("demo")) == (
        f"demo gallery: demo (9 new pictures; {approved} approved and {9 - approved} rejected "
        "by `ganpage curate`'s rules)")


def test_a_second_demo_run_makes_and_scores_nothing(tmp_path, tiny_model):
    first = build_demo_gallery(tmp_path / "demo", str(tiny_model), per_category=2, best=0,
                               show_progress=False)
    before = statuses(tmp_path / "demo")
    again = build_demo_gallery(tmp_path / "demo", str(tiny_model), per_category=2, best=0,
                               show_progress=False)
    assert (again.made, again.scored) == (0, 0)
    assert (again.approved, again.rejected) == (first.approved, first.rejected)
    assert statuses(tmp_path / "demo") == before


@pytest.mark.slow
def test_the_readmes_build_site_command_works_on_the_demo_gallery(tmp_path):
    """`ganpage demo` then the README's `ganpage build-site demo-gallery/ ...`: it failed ("has
    no approved picture to put on a site") while the demo left every picture pending."""
    command = re.search(r"^ganpage build-site demo-gallery/.*$", README.read_text(), re.M)
    assert command, "the README shows how to build the demo's static site"
    # the session's $GANPAGE_CACHE (conftest): emoji64's ONNX export for the live page is
    # made once a session, here or by whichever test asks first
    env = {**os.environ, "HOME": str(tmp_path)}
    for args in (["demo", "--no-serve", "--per-category", "1", "--best-categories", "2"],
                 shlex.split(command.group(0))[1:]):
        result = subprocess.run([sys.executable, "-m", "ganpage", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
    assert "2 pictures in 2 categories" in result.stdout
    assert len(list((tmp_path / "site" / "p").glob("*.html"))) == 2
