"""``ganpage export-onnx``: files, manifest and the parity it prints; a bad --out is one line."""

import json

from test_cli import ganpage


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


def test_export_onnx_into_a_file_is_one_line(tiny_model, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    result = ganpage("export-onnx", str(tiny_model), "--out", str(target))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "is a file, not a folder" in result.stderr
