"""BigGAN-deep: parity with the reference package on random weights, and checkpoint loading."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganpage.models import ModelLoadError, load_generator
from ganpage.models.biggan import (
    FOLDED_SIGMA_TOLERANCE,
    LAYERS_128,
    LAYERS_256,
    BigGANConfig,
    BigGANDeep,
    SpectralNormed,
    attend,
)
from ganpage.noise import truncated_noise
from helpers.biggan import config_dict, random_state, reference_model, write_published_checkpoint


@pytest.mark.slow
@pytest.mark.parametrize("layers, size, width", [
    (LAYERS_128, 128, 128),  # the published 128 config, full width
    (LAYERS_256, 256, 16),  # the published 256 layer structure, narrower to stay fast on CPU
])
def test_parity_with_reference(layers, size, width):
    config = config_dict(layers, size, width)
    ref, state = reference_model(config)
    ours = BigGANDeep(BigGANConfig.from_dict(config))
    ours.load_state_dict(state, strict=True)
    ours.fold_spectral_norm().eval()
    labels = torch.tensor([1, 207, 980])
    one_hot = torch.nn.functional.one_hot(labels, 1000).float()
    with torch.no_grad():
        for truncation in (0.4, 1.0, 0.02, 0.37, 0.555, 0.999):  # on and off the stats grid
            z = torch.from_numpy(truncated_noise([11, 12, 13], 128, truncation))
            expected = ref(z, one_hot, truncation)
            got = ours.generate(z, labels, truncation)
            assert expected.shape == (3, 3, size, size)
            assert expected.std() > 0.2 and (expected.abs() < 0.999).float().mean() > 0.5
            assert (expected - got).abs().max().item() <= 1e-4, truncation


@pytest.fixture
def small_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPAGE_CACHE", str(tmp_path / "cache"))
    config = config_dict(LAYERS_128, 128, 4)
    shapes = {k: v.shape for k, v in BigGANDeep(BigGANConfig.from_dict(config))
              .state_dict().items()}
    return tmp_path / "published", random_state(shapes), config


def test_published_checkpoint_loads_and_converts_once(small_checkpoint):
    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    generator = load_generator(folder)
    assert generator.image_size == 128 and len(generator.categories) == 1000
    elkhound = generator.categories.lookup("Norwegian elkhound").id
    first = generator.sample([elkhound, 1], [3, 4], 0.5)
    assert first.shape == (2, 128, 128, 3) and first.std() > 5
    converted = list((Path(folder).parent / "cache" / "converted").iterdir())
    assert len(converted) == 1 and (converted[0] / "model.safetensors").is_file()
    stamp = (converted[0] / "model.safetensors").stat().st_mtime_ns
    again = load_generator(folder).sample([elkhound, 1], [3, 4], 0.5)
    assert np.array_equal(first, again)
    assert (converted[0] / "model.safetensors").stat().st_mtime_ns == stamp


def test_converted_weights_are_saved_folded_and_load_to_the_same_pictures(small_checkpoint):
    """The conversion saves W / sigma; loading it leaves the weights as they are (sigma is 1)
    and draws what the published weights folded in memory draw, bit for bit."""
    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    # float32: on a CPU with native bfloat16, dtype auto would round sigma to bf16's 2**-7
    loaded = load_generator(folder, dtype="float32").net
    sigmas = [float(m.sigma()) for m in loaded.modules() if isinstance(m, SpectralNormed)]
    assert max(abs(s - 1) for s in sigmas) < FOLDED_SIGMA_TOLERANCE
    in_memory = BigGANDeep(BigGANConfig.from_dict(config))
    in_memory.load_state_dict(state, strict=True)
    in_memory.fold_spectral_norm()
    z = torch.from_numpy(truncated_noise([1, 2], 128, 0.5))
    with torch.no_grad():
        assert torch.equal(loaded.generate(z, torch.tensor([3, 500]), 0.5),
                           in_memory.generate(z, torch.tensor([3, 500]), 0.5))


def test_a_checkpoint_changed_in_place_is_converted_again(small_checkpoint):
    """The file's digest is remembered by its identity; new contents are hashed afresh."""
    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    first = load_generator(folder).sample([1], [3], 0.5)
    changed = {**state, "embeddings.weight": -state["embeddings.weight"]}
    write_published_checkpoint(folder, changed, config)
    assert not np.array_equal(load_generator(folder).sample([1], [3], 0.5), first)
    assert len(list((Path(folder).parent / "cache" / "converted").iterdir())) == 2


@pytest.mark.parametrize("change, message", [
    (lambda s, c: s.pop("generator.gen_z.weight_orig"), "missing: generator.gen_z.weight_orig"),
    (lambda s, c: s.update(extra=torch.zeros(2)), "unexpected: extra"),
    (lambda s, c: s.update({"embeddings.weight": torch.zeros(3, 3)}),
     "wrong shape: embeddings.weight"),
])
def test_bad_checkpoints_are_refused_by_name(small_checkpoint, change, message):
    folder, state, config = small_checkpoint
    change(state, config)
    write_published_checkpoint(folder, state, config)
    with pytest.raises(ModelLoadError, match=message):
        load_generator(folder)


class RunsCode:
    def __reduce__(self):
        return (Path("/tmp/ganpage-pwned").touch, ())


def test_pickle_carrying_code_is_refused(small_checkpoint):
    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    torch.save({"generator.gen_z.weight_orig": RunsCode()}, folder / "pytorch_model.bin",
               pickle_module=pickle)
    Path("/tmp/ganpage-pwned").unlink(missing_ok=True)
    with pytest.raises(ModelLoadError, match="refused"):
        load_generator(folder)
    assert not Path("/tmp/ganpage-pwned").exists()


def test_not_a_biggan_config_is_refused(small_checkpoint):
    folder, state, _ = small_checkpoint
    write_published_checkpoint(folder, state, {"hidden_size": 3})
    with pytest.raises(ModelLoadError, match="not a BigGAN-deep config"):
        load_generator(folder)


def test_folded_state_dict_is_still_a_checkpoint_of_the_same_network(small_checkpoint):
    """Folding divides the weights by sigma in place; the stored u and v then give sigma 1."""
    _, state, config = small_checkpoint
    folded = BigGANDeep(BigGANConfig.from_dict(config))
    folded.load_state_dict(state, strict=True)
    folded.fold_spectral_norm()
    again = BigGANDeep(BigGANConfig.from_dict(config))
    again.load_state_dict(folded.state_dict(), strict=True)
    again.fold_spectral_norm()
    z = torch.from_numpy(truncated_noise([1, 2], 128, 0.5))
    with torch.no_grad():
        expected = folded.generate(z, torch.tensor([3, 500]), 0.5)
        assert (again.generate(z, torch.tensor([3, 500]), 0.5) - expected).abs().max() < 1e-5


def test_attention_one_picture_at_a_time_equals_the_batched_formula():
    generator = torch.Generator().manual_seed(0)
    query, key, value = (torch.randn(shape, generator=generator)
                         for shape in ((3, 64, 4), (3, 4, 16), (3, 16, 8)))
    batched = torch.softmax(query @ key, dim=-1) @ value
    assert torch.allclose(attend(query, key, value), batched, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_bfloat16_pictures_stay_within_one_level_of_float32(small_checkpoint):
    """Full width (random weights, 16 pictures at 0.4/0.7/1.0) measured mean 0.27-0.33, max 2."""
    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    labels, seeds = [3, 500, 207, 980], [1, 2, 3, 4]
    for truncation in (0.4, 1.0):
        exact = load_generator(folder, dtype="float32").sample(labels, seeds, truncation)
        fast = load_generator(folder, dtype="bfloat16").sample(labels, seeds, truncation)
        difference = np.abs(exact.astype(int) - fast.astype(int))
        assert difference.mean() < 1.0, truncation
        assert difference.max() > 0  # it really ran in bfloat16


@pytest.mark.slow
def test_generate_command_with_a_biggan_folder_and_preset(small_checkpoint, tmp_path):
    import subprocess
    import sys

    from ganpage.gallery import Gallery

    folder, state, config = small_checkpoint
    write_published_checkpoint(folder, state, config)
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "generate", str(tmp_path / "g"), "--model",
         str(folder), "--preset", "seed", "--random-categories", "3", "--per-category", "2",
         "--truncation", "0.4:0.6", "--batch-size", "3", "--quiet"],
        capture_output=True, text=True, env={**__import__("os").environ})
    assert result.returncode == 0, result.stderr
    with Gallery.open(tmp_path / "g") as gallery:
        records = gallery.records()
    assert len(records) == 6 and records[0].width == 128
    dogs_and_people = set(range(151, 269)) | {981, 982, 983}
    assert not {r.label for r in records} & dogs_and_people
