import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from ganpage.errors import GanpageError
from ganpage.models import ModelLoadError, load_generator
from ganpage.models.cgan import CGANConfig, CGANDiscriminator, CGANGenerator
from ganpage.models.generator import to_uint8
from ganpage.models.loading import check_device, resolve_model_dir
from ganpage.noise import style_ids, truncated_noise
from helpers.models import make_tiny_model


def test_sample_shape_dtype_and_determinism(tiny_model):
    generator = load_generator(tiny_model)
    first = generator.sample([0, 1, 2], [10, 11, 12], 0.7)
    again = load_generator(tiny_model).sample([0, 1, 2], [10, 11, 12], 0.7)
    assert first.shape == (3, 32, 32, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert first.std() > 1  # not a flat picture


def test_picture_does_not_depend_on_batch_companions(tiny_model):
    generator = load_generator(tiny_model)
    alone = generator.sample([1], [42], 0.6)[0]
    batched = generator.sample([0, 1, 2, 1], [5, 42, 6, 9], [0.9, 0.6, 0.6, 0.5])[1]
    assert np.abs(alone.astype(int) - batched.astype(int)).max() <= 1


def test_recipe_changes_change_the_picture(tiny_model):
    generator = load_generator(tiny_model)
    base = generator.sample([1], [42], 0.6)[0]
    for labels, seeds, truncation in (([2], [42], 0.6), ([1], [43], 0.6), ([1], [42], 1.0)):
        assert not np.array_equal(base, generator.sample(labels, seeds, truncation)[0])


def test_bad_sample_arguments(tiny_model):
    generator = load_generator(tiny_model)
    with pytest.raises(ValueError, match="out of range"):
        generator.sample([3], [0])
    with pytest.raises(ValueError, match="seeds"):
        generator.sample([0, 1], [0])
    with pytest.raises(ValueError, match="truncation"):
        generator.sample([0], [0], 1.5)


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_networks_at_every_resolution(size):
    config = CGANConfig(num_classes=3, image_size=size, z_dim=8, embed_dim=8, g_channels=2,
                        d_channels=2)
    images = CGANGenerator(config)(torch.randn(2, 8), torch.tensor([0, 2]))
    assert images.shape == (2, 3, size, size)
    realness, class_logits = CGANDiscriminator(config)(images, torch.tensor([0, 2]))
    assert realness.shape == (2,) and class_logits.shape == (2, config.num_classes)


def test_projection_realness_is_the_class_logit_of_the_label_plus_a_shared_term():
    config = CGANConfig(num_classes=5, image_size=32, z_dim=8, embed_dim=8, g_channels=2,
                        d_channels=2)
    D = CGANDiscriminator(config).eval()  # eval: spectral norm does no power iteration
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        real_a, logits_a = D(images, torch.tensor([0, 1, 2]))
        real_b, logits_b = D(images, torch.tensor([4, 3, 2]))
    torch.testing.assert_close(logits_a, logits_b)
    shared_a = real_a - logits_a[torch.arange(3), torch.tensor([0, 1, 2])]
    shared_b = real_b - logits_b[torch.arange(3), torch.tensor([4, 3, 2])]
    torch.testing.assert_close(shared_a, shared_b)
    assert not torch.allclose(real_a[:2], real_b[:2])  # the label matters


def test_config_validation():
    with pytest.raises(ValueError, match="image_size"):
        CGANConfig(num_classes=3, image_size=48)
    with pytest.raises(ValueError, match="2 classes"):
        CGANConfig(num_classes=1)


def _rewrite_weights(folder, change):
    state = load_file(str(folder / "model.safetensors"))
    change(state)
    save_file(state, str(folder / "model.safetensors"))


def test_missing_key_is_named(tiny_model):
    _rewrite_weights(tiny_model, lambda s: s.pop("to_rgb.weight"))
    with pytest.raises(ModelLoadError, match="missing: to_rgb.weight"):
        load_generator(tiny_model)


def test_unexpected_key_is_named(tiny_model):
    _rewrite_weights(tiny_model, lambda s: s.update(extra=torch.zeros(1)))
    with pytest.raises(ModelLoadError, match="unexpected: extra"):
        load_generator(tiny_model)


def test_misshaped_key_is_named(tiny_model):
    _rewrite_weights(tiny_model, lambda s: s.update({"to_rgb.bias": torch.zeros(4)}))
    with pytest.raises(ModelLoadError, match="wrong shape: to_rgb.bias"):
        load_generator(tiny_model)


def test_corrupt_weights_file(tiny_model):
    (tiny_model / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="not a readable safetensors"):
        load_generator(tiny_model)


def test_damaged_classes_json_is_named(tiny_model):
    (tiny_model / "classes.json").write_text('[{"id": 0}]')
    with pytest.raises(GanpageError, match="classes.json does not list categories"):
        load_generator(tiny_model)


def test_unknown_architecture(tiny_model):
    meta = json.loads((tiny_model / "config.json").read_text())
    meta["architecture"] = "stylegan9"
    (tiny_model / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="unknown architecture 'stylegan9'"):
        load_generator(tiny_model)


def test_unknown_name_lists_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match="not a built-in name"):
        resolve_model_dir("no-such-model")


def test_hub_repo_id_offline_gives_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelLoadError, match="could not fetch 'someone/tiny-gan'"):
        resolve_model_dir("someone/tiny-gan")


@pytest.mark.parametrize("name, message", [
    ("models/nope", "no model folder models/nope; give a model folder"),
    ("./nope", "no model folder ./nope;"),
    ("a/b/c", r"no model folder a/b/c \(a does not exist\)"),
    ("some-file", "some-file is a file; give a model folder"),
])
def test_a_missing_local_folder_is_not_blamed_on_the_hub(tmp_path, monkeypatch, name, message):
    """'models/nope' beside a models/ folder is a typo of a local path, not a Hub repo id."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "some-file").write_text("x")
    monkeypatch.setattr("huggingface_hub.snapshot_download", pytest.fail)
    with pytest.raises(ModelLoadError, match=message):
        resolve_model_dir(name)


@pytest.mark.parametrize("device, message", [
    ("bogus", "unknown device 'bogus'; use cpu, cuda, cuda:N or mps"),
    ("cuda:x", "unknown device"),
    ("cuda:99", "this machine has no cuda:99 device; use one of: cpu"),
])
def test_devices_are_checked_before_loading(tiny_model, device, message):
    with pytest.raises(ModelLoadError, match=message):
        load_generator(tiny_model, device=device)
    assert check_device("cpu") == torch.device("cpu")


def test_hub_repo_id_resolves_through_snapshot_download(tmp_path, monkeypatch):
    folder = make_tiny_model(tmp_path / "snapshot")
    calls = []

    def fake_snapshot_download(repo_id, allow_patterns):
        calls.append((repo_id, allow_patterns))
        return str(folder)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    generator = load_generator("someone/tiny-gan")
    assert calls[0][0] == "someone/tiny-gan" and "model.safetensors" in calls[0][1]
    assert generator.categories.lookup("bagel").id == 1


def test_builtin_emoji64_ships_its_classifier_and_card_within_20_mb():
    from ganpage.classifiers.trained import bundled_classifier, load_classifier
    from ganpage.models.loading import builtin_models

    folder = builtin_models()["emoji64"]
    generator = load_generator("emoji64")
    classifier = load_classifier(bundled_classifier("emoji64"))
    assert [c.name for c in classifier.categories] == [c.name for c in generator.categories]
    assert len(generator.categories) == 682 and 0 < classifier.held_out_accuracy <= 1
    card = (folder / "README.md").read_text()
    for section in ("## Data", "## Metrics", "memorisation rate", "samples.png", "Hardware"):
        assert section in card
    assert "{" not in card, "a template field was left unfilled"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 20 * 2**20, f"emoji64 is {size / 2**20:.1f} MB"


def test_emoji64_in_bfloat16_differs_from_float32_by_under_one_level():
    """Permalinks: a picture made on a bfloat16 machine is a fraction of a level off the
    float32 one on average (measured on every class, seeds 0-1: mean 0.27-0.29, worst picture
    0.78; a few edge pixels, 0.15%, differ by more than 8 levels)."""
    exact = load_generator("emoji64", dtype="float32")
    fast = load_generator("emoji64", dtype="bfloat16")
    labels = list(range(0, 682, 11)) * 2
    seeds = [0] * 62 + [1] * 62
    difference = np.abs(exact.sample(labels, seeds, 0.7).astype(int)
                        - fast.sample(labels, seeds, 0.7).astype(int))
    assert difference.mean() < 1.0
    assert difference.reshape(len(labels), -1).mean(axis=1).max() < 1.5
    assert difference.max() > 0  # it really ran in bfloat16


@pytest.mark.parametrize("native, chosen", [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_precision_is_bfloat16_only_where_the_cpu_runs_it_faster(tiny_model, monkeypatch,
                                                                     native, chosen):
    monkeypatch.setattr("ganpage.precision.cpu_has_native_bfloat16", lambda: native)
    assert load_generator(tiny_model).dtype == chosen
    assert load_generator(tiny_model, dtype="auto").dtype == chosen
    assert load_generator(tiny_model, dtype="float32").dtype == torch.float32
    assert load_generator(tiny_model, dtype="bfloat16").dtype == torch.bfloat16
    with pytest.raises(ModelLoadError, match="unknown precision 'float16'; use auto"):
        load_generator(tiny_model, dtype="float16")


@pytest.mark.parametrize("amx, avx512_bf16, vendor, native", [
    (True, True, "GenuineIntel", True),  # Sapphire Rapids and later with AMX
    (False, True, "GenuineIntel", False),  # half float32's multiply-adds without AMX
    (False, True, "AuthenticAMD", True),  # Zen 4 and later
    (False, False, "AuthenticAMD", False),
    (False, False, "", False),
])
def test_cpu_bfloat16_probe(monkeypatch, amx, avx512_bf16, vendor, native):
    from ganpage import precision

    assert isinstance(precision.cpu_vendor(), str)  # this machine's, read for real
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16,
                        raising=False)
    monkeypatch.setattr(precision, "cpu_vendor", lambda: vendor)
    assert precision.cpu_has_native_bfloat16() is native
    assert precision.bfloat16_is_native(torch.device("cpu")) is native
    assert precision.bfloat16_is_native(torch.device("cuda"))


def test_strict_loading_adopts_the_given_tensors_without_copying_them():
    from ganpage.models.loading import load_state_dict_strict

    net = torch.nn.Linear(3, 2)
    state = {"weight": torch.randn(2, 3), "bias": torch.randn(2)}
    load_state_dict_strict(net, state)
    assert net.weight.data_ptr() == state["weight"].data_ptr()
    assert isinstance(net.weight, torch.nn.Parameter) and net.weight.requires_grad


def test_strict_loading_keeps_the_modules_dtypes():
    from ganpage.models.loading import load_state_dict_strict

    net = torch.nn.Linear(3, 2)
    load_state_dict_strict(net, {"weight": torch.randn(2, 3, dtype=torch.bfloat16),
                                 "bias": torch.randn(2, dtype=torch.bfloat16)})
    assert net.weight.dtype == torch.float32


def test_a_model_without_a_style_label_has_no_style_parameters(tiny_model):
    config = CGANConfig(num_classes=3, image_size=32, z_dim=8, embed_dim=8, g_channels=2,
                        d_channels=2)
    for net in (CGANGenerator(config), CGANDiscriminator(config)):
        assert not [name for name in net.state_dict() if "style" in name]
    assert CGANGenerator(config).stem.in_features == 16  # z and the class embedding alone
    assert load_generator(tiny_model).num_styles == 0


def test_a_style_model_draws_the_style_its_seed_picks(tmp_path):
    generator = load_generator(make_tiny_model(tmp_path / "styled", num_styles=4),
                               dtype="float32")
    assert generator.num_styles == 4
    seeds = list(range(8))
    drawn = generator.sample([1] * 8, seeds, 0.8)
    z = torch.from_numpy(truncated_noise(seeds, 8, 0.8))
    styles = torch.from_numpy(style_ids(seeds, 8, 4))
    labels = torch.ones(8, dtype=torch.long)
    with torch.inference_mode():
        explicit = generator.net.generate(z, labels, 0.8, styles=styles)
        other = generator.net.generate(z, labels, 0.8, styles=(styles + 1) % 4)
    assert np.array_equal(drawn, to_uint8(explicit))
    assert not np.array_equal(drawn, to_uint8(other))  # the style changes the picture
    assert len(set(styles.tolist())) > 1
    assert generator.morph((0, 1), (0, 5), 3).shape == (3, 32, 32, 3)
    with pytest.raises(ValueError, match="style"):
        generator.net.generate(z, labels, 0.8)


def test_the_discriminator_projects_the_style():
    config = CGANConfig(num_classes=3, image_size=32, z_dim=8, embed_dim=8, g_channels=2,
                        d_channels=2, num_styles=3)
    D = CGANDiscriminator(config).eval()
    images, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 2])
    with torch.no_grad():
        a, class_a = D(images, labels, styles=torch.tensor([0, 0]))
        b, class_b = D(images, labels, styles=torch.tensor([1, 2]))
    assert not torch.allclose(a, b) and torch.equal(class_a, class_b)
    with pytest.raises(ValueError, match="style"):
        D(images, labels)
    with pytest.raises(ValueError, match="num_styles"):
        CGANConfig(num_classes=3, num_styles=1)
