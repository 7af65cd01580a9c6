import pickle

import pytest
import torch

from ganpage.checkpoints import (
    CheckpointError,
    checkpoint_paths,
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from ganpage.errors import GanpageError
from ganpage.train import build_state, train
from helpers.training import make_dataset, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "shapes")


def tiny_state(config):
    return build_state(config, config.model_config(2, 32), torch.device("cpu"))


def test_checkpoints_are_ordered_by_images_seen_past_ten_million(dataset, tmp_path):
    """Past 10,000 kimg the names grow an eighth digit; sorted as text, the newest would be
    pruned right after it was written and resume would pick a stale one."""
    config = tiny_config(dataset, tmp_path)
    state = tiny_state(config)
    for images in (9_980_000, 9_990_000, 9_995_000):
        state.images_seen = images
        save_checkpoint(tmp_path, state, config)
    state.images_seen = 10_000_000
    newest = save_checkpoint(tmp_path, state, config)
    assert newest.exists() and latest_checkpoint(tmp_path) == newest
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-9990000.pt", "ckpt-9995000.pt", "ckpt-10000000.pt"]


def test_a_checkpoint_proves_its_integrity(dataset, tmp_path):
    config = tiny_config(dataset, tmp_path)
    path = save_checkpoint(tmp_path, tiny_state(config), config)
    payload = torch.load(path, weights_only=True)
    assert len(payload["sha256"]) == 64
    payload["G"]["stem.weight"][0, 0] += 1.0  # garbage inside the tensor data
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="does not match its digest"):
        load_checkpoint(path)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.pop("G_ema"), "no 'G_ema'"),
    (lambda p: p.update(step=float("nan")), "invalid step"),
    (lambda p: p.update(images_seen=-4), "invalid images_seen"),
])
def test_wrong_keys_and_counters_are_one_line_errors(dataset, tmp_path, damage, message):
    config = tiny_config(dataset, tmp_path)
    path = save_checkpoint(tmp_path, tiny_state(config), config)
    payload = torch.load(path, weights_only=True)
    damage(payload)
    payload.pop("sha256")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_corrupt_files_and_pickled_code_are_refused(tmp_path):
    path = tmp_path / "ckpt-0000001.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)

    class Evil:
        def __reduce__(self):
            return (print, ("this ran",))

    torch.save({"G": Evil()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_resume_falls_back_to_the_newest_intact_checkpoint(dataset, tmp_path, capsys):
    config = tiny_config(dataset, tmp_path / "runs", checkpoint_every_kimg=0.008)
    run = train(config, show_progress=False, stop_after_steps=4)
    newest = latest_checkpoint(run)
    assert newest.name == "ckpt-0000016.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a kill in the middle of the disk's write
    train(config, resume=run, show_progress=False, stop_after_steps=2)
    assert "skipping ckpt-0000016.pt" in capsys.readouterr().out
    # on from the intact ckpt-0000008.pt (step 2): two steps write a whole ckpt-0000016.pt
    assert load_checkpoint(latest_checkpoint(run))["step"] == 4


def test_a_run_whose_only_checkpoint_is_damaged_says_so(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=1)
    checkpoint = latest_checkpoint(run)
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        train(tiny_config(dataset, tmp_path / "runs"), resume=run, show_progress=False)


def test_checkpoint_of_other_networks_is_a_one_line_error(dataset, tmp_path):
    run = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                stop_after_steps=1)
    from ganpage.checkpoints import restore
    for other in ({"z_dim": 16}, {"g_channels": 2}, {"d_channels": 8, "embed_dim": 4}):
        state = tiny_state(tiny_config(dataset, tmp_path / "runs", **other))
        with pytest.raises(CheckpointError, match="does not fit this run's networks"):
            restore(state, load_checkpoint(latest_checkpoint(run)))


def test_each_rank_takes_back_its_own_rng_and_new_world_sizes_get_distinct_seeds():
    states = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        states.append({"torch": torch.get_rng_state()})
    payload = {"rng_torch": states[0]["torch"], "rng_by_rank": states}
    draws = []
    for rank in (0, 1):
        restore_rng(payload, rank, 2, step=10)
        draws.append(torch.rand(3))
    torch.manual_seed(2)
    assert torch.equal(draws[1], torch.rand(3))  # rank 1 continues rank 1's stream
    assert not torch.equal(draws[0], draws[1])
    notes = []
    fresh = []
    for rank in (0, 1, 2):  # three ranks now: no saved state fits
        restore_rng(payload, rank, 3, step=10, note=notes.append)
        fresh.append(torch.rand(3))
    assert len(notes) == 1 and "2 rank(s)" in notes[0]
    assert not torch.equal(fresh[0], fresh[1]) and not torch.equal(fresh[1], fresh[2])


def test_a_wider_run_grows_from_a_narrower_one(dataset, tmp_path, capsys):
    first = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                  stop_after_steps=2)
    source = load_checkpoint(latest_checkpoint(first))
    wider = train(tiny_config(dataset, tmp_path / "runs", init_from=str(first), g_channels=8,
                              d_channels=6), show_progress=False, stop_after_steps=1)
    assert "grown to widths G 8 / D 6" in capsys.readouterr().out
    started = load_checkpoint(latest_checkpoint(wider))
    old, new = source["G_ema"]["to_rgb.weight"], started["G_ema"]["to_rgb.weight"]
    assert new.shape[1] == 2 * old.shape[1]  # (3, 8, 3, 3) from (3, 4, 3, 3), one step on
    assert torch.allclose(new[:, :4].float(), old.float(), atol=0.05)
    assert all(torch.isfinite(t).all() for t in started["D"].values() if t.is_floating_point())


def test_a_new_run_can_start_from_another_runs_networks(dataset, tmp_path):
    first = train(tiny_config(dataset, tmp_path / "runs"), show_progress=False,
                  stop_after_steps=2)
    source = load_checkpoint(latest_checkpoint(first))
    second = train(tiny_config(dataset, tmp_path / "runs", init_from=str(first), g_lr=1e-12,
                               d_lr=1e-12, ema_kimg=1e6), show_progress=False, stop_after_steps=1)
    started = load_checkpoint(latest_checkpoint(second))
    assert started["step"] == 1 and second != first  # a new run, counted from zero
    weights = [name for name in source["G_ema"] if "running" not in name and "batches" not in name]
    for name in weights:  # a negligible step from the same weights (batch-norm statistics move)
        tensor = source["G_ema"][name]
        assert torch.allclose(tensor.float(), started["G_ema"][name].float(), atol=1e-5), name
    with pytest.raises(CheckpointError, match="does not fit this run's networks"):
        train(tiny_config(dataset, tmp_path / "runs", init_from=str(first), g_channels=2),
              show_progress=False, stop_after_steps=1)  # narrower than its source
    with pytest.raises(CheckpointError, match=r"networks \(size mismatch for embed\.weight"):
        train(tiny_config(dataset, tmp_path / "runs", init_from=str(first), g_channels=8,
                          embed_dim=4), show_progress=False, stop_after_steps=1)
    with pytest.raises(GanpageError, match="--init-from: nothing at"):
        train(tiny_config(dataset, tmp_path / "runs", init_from=str(tmp_path / "nope")),
              show_progress=False)
