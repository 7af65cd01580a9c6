"""ONNX export: onnxruntime's pictures match PyTorch's (float32 and float16 tolerances), for
ganpage-cgan models and BigGAN-deep (truncation as an input), and the manifest describes them."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from ganpage.data.synthetic import write_noise_dataset
from ganpage.export import export_run
from ganpage.models import load_generator
from ganpage.models.generator import to_uint8
from ganpage.noise import truncated_noise
from ganpage.onnx_export import (
    GOALS,
    MANIFEST,
    ExportedFile,
    OnnxExportError,
    cached_export,
    export_onnx,
)
from ganpage.train import train
from ganpage.train_config import TrainConfig
from helpers.models import make_tiny_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_biggan_model):
    """model name -> (generator, exported files). emoji64 and the tiny BigGAN-deep go through
    cached_export (which runs export_onnx into the session's cache): the live-page tests and
    servers use the same exports instead of making their own. The files are the manifest's,
    as export_onnx wrote them."""
    root = tmp_path_factory.mktemp("onnx")
    sources = {"tiny": make_tiny_model(root / "tiny"), "biggan": tiny_biggan_model,
               "emoji64": "emoji64",
               "tiny-style": make_tiny_model(root / "tiny-style", num_styles=4)}
    made = {}

    def export(name):
        if name not in made:
            generator = load_generator(sources[name], dtype="float32")
            if name in ("biggan", "emoji64"):
                folder = cached_export(sources[name])
                files = [ExportedFile(folder / f["file"], f["dtype"], f["max_abs_diff"],
                                      f["bytes"], f["sha256"])
                         for f in json.loads((folder / MANIFEST).read_text())["files"]]
            else:
                files = export_onnx(generator, root / f"{name}-onnx")
            made[name] = generator, files
        return made[name]
    return export


@pytest.mark.parametrize("model", ["tiny", pytest.param("emoji64", marks=pytest.mark.slow),
                                   pytest.param("biggan", marks=pytest.mark.slow), "tiny-style"])
def test_exported_onnx_matches_pytorch(model, exported):
    _, files = exported(model)
    assert [f.dtype for f in files] == ["float32", "float16"]
    for file in files:
        assert file.size == file.path.stat().st_size > 0
        assert file.max_abs_diff <= GOALS[file.dtype], file


@pytest.mark.slow
@pytest.mark.parametrize("size", [32, 256])  # the smallest and the largest `train` makes
def test_what_train_makes_exports_within_the_goals(size, tmp_path):
    data = write_noise_dataset(tmp_path / "shapes", 3, 4, size)
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), batch_size=4, z_dim=8,
                         embed_dim=8, g_channels=4, d_channels=4, grid_classes=2, grid_seeds=2,
                         threads=1)
    run = train(config, show_progress=False, stop_after_steps=2)
    generator = load_generator(export_run(run, tmp_path / "model", "trained"), dtype="float32")
    files = export_onnx(generator, tmp_path / "onnx")
    assert [f.max_abs_diff <= GOALS[f.dtype] for f in files] == [True, True]
    import onnxruntime
    session = onnxruntime.InferenceSession(str(files[0].path), providers=["CPUExecutionProvider"])
    z = truncated_noise([5], generator.z_dim, 0.7)
    onnx_picture = to_uint8(torch.from_numpy(session.run(None, {"noise": z,
                                                               "labels": np.array([2])})[0]))
    assert onnx_picture.shape == (1, size, size, 3)
    assert np.abs(onnx_picture.astype(int) - generator.sample([2], [5], 0.7).astype(int)).max() <= 1


@pytest.mark.slow
def test_biggan_onnx_takes_truncation_off_the_grid(exported):
    """Truncation is an input, and picks the statistics Python's float64 arithmetic picks."""
    import onnxruntime

    generator, files = exported("biggan")
    session = onnxruntime.InferenceSession(str(files[0].path))
    assert [i.name for i in session.get_inputs()] == ["noise", "labels", "truncation"]
    pictures = []
    for truncation in (0.7, 0.555, 0.02, 0.999):
        z = truncated_noise([5, 6], generator.z_dim, truncation)
        images = session.run(None, {"noise": z, "labels": np.array([4, 0]),
                                    "truncation": np.array([truncation])})[0]
        got = to_uint8(torch.from_numpy(images))
        expected = generator.sample([4, 0], [5, 6], truncation)
        assert np.abs(got.astype(int) - expected).max() <= 1, truncation
        pictures.append(got)
    assert not np.array_equal(pictures[0], pictures[1])


def test_manifest_names_inputs_classes_and_checksums(exported):
    _, files = exported("tiny")
    folder = files[0].path.parent
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["model_id"] == "tiny-0" and manifest["z_dim"] == 8
    assert manifest["resolution"] == 32 and list(manifest["inputs"]) == ["noise", "labels"]
    assert manifest["output"]["range"] == [-1.0, 1.0] and manifest["output"]["layout"] == "NCHW"
    assert [c["slug"] for c in manifest["classes"]] == ["hamster", "bagel", "mailbox"]
    for entry in manifest["files"]:
        data = (folder / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert not list(folder.glob(".*"))  # no temporary files left


def test_other_networks_are_refused(tiny_model):
    generator = load_generator(tiny_model, dtype="float32")
    generator.net = torch.nn.Identity()
    with pytest.raises(OnnxExportError, match="only ganpage-cgan and BigGAN-deep"):
        export_onnx(generator, tiny_model / "onnx")


def test_names_agree_with_the_live_page():
    from ganpage.onnx_export import onnx_file_name
    from ganpage.web import live_page

    assert onnx_file_name("float32") == live_page.ONNX_FILE and live_page.MANIFEST == MANIFEST


def test_a_style_model_takes_the_style_its_seed_draws(exported):
    import onnxruntime

    from ganpage.noise import style_ids

    generator, files = exported("tiny-style")
    manifest = json.loads((files[0].path.parent / MANIFEST).read_text())
    assert list(manifest["inputs"]) == ["noise", "labels", "styles"]
    assert manifest["num_styles"] == 4
    session = onnxruntime.InferenceSession(str(files[0].path),
                                           providers=["CPUExecutionProvider"])
    seeds = list(range(6))
    feeds = {"noise": truncated_noise(seeds, 8, 0.7), "labels": np.full(6, 2, dtype=np.int64),
             "styles": style_ids(seeds, 8, 4)}
    got = to_uint8(torch.from_numpy(session.run(None, feeds)[0]))
    assert np.abs(got.astype(int) - generator.sample([2] * 6, seeds, 0.7)).max() <= 1
