"""``ganpage export-onnx``: files, manifest and the parity it prints; a bad --out is one line."""

import json

import pytest

from ganpage import onnx_export
from ganpage.cli.export_onnx import export_onnx
from ganpage.errors import GanpageError
from helpers.cli import ganpage


@pytest.mark.slow
def test_export_onnx_prints_parity_and_sizes(tiny_model, tmp_path):
    out = tmp_path / "web-model"
    result = ganpage("export-onnx", str(tiny_model), "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{out / 'generator.float32.onnx'}: ")
    assert "max abs diff" in lines[0] and "within the goal 0.001" in lines[0]
    assert "within the goal 0.03" in lines[1] and lines[2] == f"manifest: {out / 'manifest.json'}"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["file"] for f in manifest["files"]] == ["generator.float32.onnx",
                                                      "generator.float16.onnx"]
    assert "torchvision" not in result.stderr


@pytest.mark.slow
def test_export_onnx_into_a_file_is_one_line(tiny_model, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    result = ganpage("export-onnx", str(tiny_model), "--out", str(target))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "is a file, not a folder" in result.stderr


@pytest.mark.slow
def test_a_file_over_its_parity_goal_fails_the_export_and_is_kept(tiny_model, tmp_path,
                                                                  monkeypatch, capsys):
    monkeypatch.setitem(onnx_export.GOALS, "float16", 0.0)  # no float16 file is exact
    out = tmp_path / "web-model"
    with pytest.raises(GanpageError, match=r"generator\.float16\.onnx \(.* > 0\): onnxruntime"):
        export_onnx(str(tiny_model), out)
    printed = capsys.readouterr().out
    assert "OVER the goal 0" in printed and "within the goal 0.001" in printed
    assert (out / "generator.float16.onnx").is_file() and (out / "manifest.json").is_file()
