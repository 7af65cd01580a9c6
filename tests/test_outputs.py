"""Outputs: proven writable before work starts, removed again after a user's mistake."""

import pytest

from ganpage.errors import GanpageError
from ganpage.outputs import first_missing, removed_on_error, writable_file, writable_folder


def test_writable_folder_makes_the_folder_and_names_the_option_when_it_cannot(tmp_path):
    assert writable_folder(tmp_path / "a" / "b", "--out").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanpageError, match="is a file, not a folder; choose another --out"):
        writable_folder(tmp_path / "file", "--out")
    with pytest.raises(GanpageError, match=r"cannot write to .*file/sub \(Not a directory\); "
                                           "choose another --out"):
        writable_folder(tmp_path / "file" / "sub", "--out")


def test_writable_file_refuses_folders_and_files_as_folders(tmp_path):
    (tmp_path / "file").write_text("x")
    assert writable_file(tmp_path / "new" / "x.json", "--json").parent.is_dir()
    with pytest.raises(GanpageError, match="is a folder; --json names a file"):
        writable_file(tmp_path, "--json")
    with pytest.raises(GanpageError, match="file is a file, not a folder; choose another --json"):
        writable_file(tmp_path / "file" / "x.json", "--json")


def test_a_mistake_removes_what_the_block_created_and_nothing_else(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(GanpageError), removed_on_error(tmp_path / "new" / "deeper"):
        (tmp_path / "new" / "deeper").mkdir(parents=True)
        (tmp_path / "new" / "deeper" / "half.png").write_bytes(b"x")
        raise GanpageError("a mistake")
    assert not (tmp_path / "new").exists()
    with pytest.raises(GanpageError), removed_on_error(tmp_path / "kept"):
        (tmp_path / "kept" / "written.png").write_bytes(b"x")
        raise GanpageError("a mistake")
    assert (tmp_path / "kept" / "written.png").exists()


def test_ctrl_c_and_bugs_keep_what_was_written_for_a_resume(tmp_path):
    for error in (KeyboardInterrupt, RuntimeError):
        with pytest.raises(error), removed_on_error(tmp_path / error.__name__):
            (tmp_path / error.__name__).mkdir()
            raise error()
        assert (tmp_path / error.__name__).is_dir()


def test_first_missing(tmp_path):
    assert first_missing(tmp_path) is None
    assert first_missing(tmp_path / "a" / "b") == tmp_path / "a"
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert first_missing(tmp_path / "link") is None  # a dangling link is there: never removed
