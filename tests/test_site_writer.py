"""The incremental writer of a static site: unchanged files stay, stale ones go, all atomic."""

import hashlib
import json
import os

import pytest

from ganpage.errors import GanpageError
from ganpage.site_writer import LEGACY_MANIFEST_NAME, MANIFEST_NAME, BuiltFrom, Scope, SiteWriter


def build(out, files: dict[str, bytes]):
    with SiteWriter(out) as writer:
        writer.claim(list(files))
        for path, data in files.items():
            writer.write(path, data)
        return writer.finish()


def test_a_rebuild_writes_only_what_changed_and_removes_what_is_gone(tmp_path):
    out = tmp_path / "site"
    first = build(out, {"index.html": b"home", "p/a.html": b"a", "p/b.html": b"b"})
    assert (first.written, first.unchanged, first.removed) == (3, 0, 0)
    before = (out / "p" / "a.html").stat().st_mtime_ns
    second = build(out, {"index.html": b"home 2", "p/a.html": b"a"})
    assert (second.written, second.unchanged, second.removed) == (1, 1, 1)
    assert (out / "p" / "a.html").stat().st_mtime_ns == before  # not rewritten
    assert (out / "index.html").read_bytes() == b"home 2"
    assert not (out / "p" / "b.html").exists()
    third = build(out, {"index.html": b"home 2"})
    assert third.removed == 1 and not (out / "p").exists()  # an emptied folder goes too


def test_a_file_changed_behind_the_builds_back_is_rewritten_and_a_touched_one_is_not(tmp_path):
    out = tmp_path / "site"
    build(out, {"a.html": b"a", "b.html": b"b"})
    (out / "a.html").write_bytes(b"edited by hand")
    os.utime(out / "b.html", ns=(1, 1))  # same bytes, another mtime: hashed again, kept
    counts = build(out, {"a.html": b"a", "b.html": b"b"})
    assert (counts.written, counts.unchanged) == (1, 1)
    assert (out / "a.html").read_bytes() == b"a"


def test_copy_checks_the_sha256_and_skips_a_damaged_source(tmp_path):
    out, source = tmp_path / "site", tmp_path / "picture.webp"
    source.write_bytes(b"pixels")
    good = hashlib.sha256(b"pixels").hexdigest()
    with SiteWriter(out) as writer:
        writer.claim(["images/x/a.webp", "images/x/b.webp", "images/x/c.webp"])
        assert writer.copy("images/x/a.webp", source, good)
        assert not writer.copy("images/x/b.webp", source, "0" * 64)
        assert not writer.copy("images/x/c.webp", tmp_path / "missing.webp", good)
        writer.finish()
    assert (out / "images" / "x" / "a.webp").read_bytes() == b"pixels"
    assert sorted(p.name for p in (out / "images" / "x").iterdir()) == ["a.webp"]


def test_files_claimed_by_a_killed_build_are_removed_by_the_next(tmp_path):
    out = tmp_path / "site"
    build(out, {"index.html": b"home"})
    with SiteWriter(out) as writer:
        writer.claim(["p/new.html"])
        writer.write("p/new.html", b"half a build")  # killed here: no finish()
    (out / ".p.x.partial").write_bytes(b"torn")  # and a temporary file of the kill
    counts = build(out, {"index.html": b"home"})
    assert counts.removed == 1 and not (out / "p" / "new.html").exists()
    assert not (out / ".p.x.partial").exists()


def test_a_folder_that_is_not_a_site_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(GanpageError, match="not empty and was not made by"):
        SiteWriter(tmp_path)


@pytest.mark.parametrize("path", ["../outside.html", "/etc/passwd", "p/../../x", ".git/config"])
def test_a_manifest_naming_a_path_outside_the_site_is_refused(tmp_path, path):
    (tmp_path / LEGACY_MANIFEST_NAME).write_text(json.dumps(
        {"version": 1, "files": {path: ["0" * 64, 1, 1]}}))
    with pytest.raises(GanpageError, match="unsafe site path"):
        SiteWriter(tmp_path)


def test_a_damaged_manifest_is_one_line_naming_the_fix(tmp_path):
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(GanpageError, match="damaged.*build again"):
        SiteWriter(tmp_path)


def test_a_second_build_of_the_same_folder_at_once_is_refused(tmp_path):
    with SiteWriter(tmp_path / "site") as first:
        with pytest.raises(GanpageError, match="another `ganpage build-site` is writing"):
            SiteWriter(tmp_path / "site")
        first.finish()
    with SiteWriter(tmp_path / "site") as again:  # free once the first is closed
        again.finish()


def test_a_manifest_of_version_1_is_read_so_its_site_is_brought_up_to_date(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "a.html").write_bytes(b"a")
    (out / "old.html").write_bytes(b"old")
    stat = (out / "a.html").stat()
    (out / LEGACY_MANIFEST_NAME).write_text(json.dumps({"version": 1, "files": {
        "a.html": [hashlib.sha256(b"a").hexdigest(), stat.st_size, stat.st_mtime_ns],
        "old.html": [hashlib.sha256(b"old").hexdigest(), 3, 1]}}))
    counts = build(out, {"a.html": b"a"})
    assert (counts.written, counts.unchanged, counts.removed) == (0, 1, 1)
    assert not (out / LEGACY_MANIFEST_NAME).exists() and (out / MANIFEST_NAME).is_file()


def test_a_scoped_finish_removes_only_the_stale_files_in_its_scope(tmp_path):
    out = tmp_path / "site"
    build(out, {"index.html": b"home", "p/a.html": b"a", "p/b.html": b"b",
                "c/x.html": b"x", "c/x.page2.html": b"x2", "c/xy.html": b"xy"})
    with SiteWriter(out) as writer:
        writer.claim(["index.html", "c/x.html"])
        writer.write("index.html", b"home 2")
        writer.write("c/x.html", b"x")
        counts = writer.finish(BuiltFrom("key", 7), Scope({"index.html", "p/a.html"}, {"c/x."}))
    assert counts.removed == 2  # p/a.html and c/x.page2.html; p/b.html, c/xy.html not in scope
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == [
        "c/x.html", "c/xy.html", "index.html", "p/b.html"]
    with SiteWriter(out) as writer:
        assert writer.built_from == BuiltFrom("key", 7)
        writer.finish(writer.built_from)


def test_what_a_build_was_made_from_is_kept_until_the_next_one_finishes(tmp_path):
    out = tmp_path / "site"
    with SiteWriter(out) as writer:
        writer.finish(BuiltFrom("key", 3))
    with SiteWriter(out) as writer:
        writer.forget_built_from()  # a full build, then killed
    with SiteWriter(out) as writer:
        assert writer.built_from == BuiltFrom("key", None)


def test_the_totals_come_from_the_manifest(tmp_path, monkeypatch):
    monkeypatch.setattr("ganpage.site_writer.LARGE_FILE_BYTES", 1)
    out = tmp_path / "site"
    build(out, {"index.html": b"home", "p/a.html": b"aa", "p/b.html": b"b", "c/x.html": b"x"})
    (out / "p" / "a.html").unlink()  # not walked: what the manifest says
    with SiteWriter(out) as writer:
        totals = writer.totals()
        writer.finish()
    assert (totals.files, totals.size) == (4, 8)
    assert totals.large == [("index.html", 4), ("p/a.html", 2)]
