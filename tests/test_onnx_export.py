"""ONNX export: onnxruntime's pictures match PyTorch's (float32 and float16 tolerances)."""

from __future__ import annotations

import pytest

from ganpage.models import load_generator
from ganpage.onnx_export import export_onnx

TOLERANCE = {"float32": 1e-3, "float16": 3e-2}


@pytest.mark.parametrize("model", ["tiny", "emoji64"])
def test_exported_onnx_matches_pytorch(model, tiny_model, tmp_path):
    generator = load_generator(tiny_model if model == "tiny" else model, dtype="float32")
    files = export_onnx(generator, tmp_path / "onnx")
    assert [f.dtype for f in files] == ["float32", "float16"]
    for exported in files:
        assert exported.path.stat().st_size > 0
        assert exported.max_abs_diff <= TOLERANCE[exported.dtype], exported
