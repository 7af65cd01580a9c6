import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganpage.errors import GanpageError
from ganpage.interpolate import interpolate
from ganpage.models import load_generator


def test_morph_ends_are_the_two_pictures(tiny_model):
    generator = load_generator(tiny_model)
    frames = generator.morph((0, 2), (5, 9), steps=6, truncation=0.7)
    assert frames.shape == (6, 32, 32, 3)
    assert np.array_equal(frames[0], generator.sample([0], [5], 0.7)[0])
    assert np.abs(frames[-1].astype(int) - generator.sample([2], [9], 0.7)[0]).max() <= 1
    assert not np.array_equal(frames[2], frames[3])


def test_animation_and_grid_files(tiny_model, tmp_path):
    generator = load_generator(tiny_model)
    interpolate(generator, ("hamster", "bagel"), (1, 1), 5, 0.8, tmp_path / "m.gif",
                tmp_path / "m.png")
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.n_frames == 8  # 5 there, 3 back
    with Image.open(tmp_path / "m.png") as grid:
        assert grid.size == (8 * 32, 32)
    with pytest.raises(GanpageError, match=".gif or .webp"):
        interpolate(generator, ("hamster", "bagel"), (1, 1), 3, 0.8, tmp_path / "m.mp3", None)


@pytest.mark.slow
def test_cli_interpolate(tiny_model, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "interpolate", str(tmp_path / "a.webp"), "--model",
         str(tiny_model), "--from", "mailbox", "--to-seed", "3", "--steps", "4"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "a.webp") as animation:
        assert animation.n_frames == 6
