import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ganpage.noise import Mulberry32, style_ids, truncated_noise

NOISE_JS = Path(__file__).parents[1] / "src" / "ganpage" / "web" / "static" / "noise.js"


def test_same_seed_same_noise_and_batch_independent():
    alone = truncated_noise([7], 32, 0.8)
    batched = truncated_noise([3, 7, 11], 32, 0.8)
    assert np.array_equal(alone[0], batched[1])
    assert not np.array_equal(batched[0], batched[1])


def test_truncation_bounds_and_scaling():
    z = truncated_noise(list(range(200)), 64, 1.0)
    assert z.dtype == np.float32 and z.shape == (200, 64)
    assert np.abs(z).max() <= 2.0
    assert 0.7 < z.std() < 0.95  # a normal truncated at 2 sigma has std ~0.88
    assert np.allclose(truncated_noise([5], 64, 0.5), z[5] * 0.5, atol=1e-6)


def scalar_mulberry32(seed: int, count: int) -> list[int]:
    """The algorithm as written in noise.py's docstring, one 32-bit integer at a time."""
    mask, state, out = 0xFFFFFFFF, seed & 0xFFFFFFFF, []
    for _ in range(count):
        state = (state + 0x6D2B79F5) & mask
        t = ((state ^ (state >> 15)) * (state | 1)) & mask
        t ^= (t + ((t ^ (t >> 7)) * (t | 61))) & mask
        out.append((t ^ (t >> 14)) & mask)
    return out


@pytest.mark.parametrize("seed", [0, 1, 123456789, 2**32 - 1])
def test_vectorised_stream_matches_scalar_definition(seed):
    rng = Mulberry32([seed, 99])
    values = [int(rng.uniform()[0] * 2**32) for _ in range(50)]
    assert values == scalar_mulberry32(seed, 50)


def test_bad_truncation_is_refused():
    with pytest.raises(ValueError, match="truncation"):
        truncated_noise([1], 8, 0.0)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_browser_noise_is_bit_identical(tmp_path):
    script = tmp_path / "noise.mjs"
    script.write_text(
        f"import {{ truncatedNoise }} from '{NOISE_JS.as_posix()}';\n"
        "const out = [0, 1, 42, 4294967295].map(s => Array.from(truncatedNoise(s, 128, 0.7)));\n"
        "console.log(JSON.stringify(out));\n"
    )
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    from_js = np.array(json.loads(result.stdout), dtype=np.float32)
    from_python = truncated_noise([0, 1, 42, 4294967295], 128, 0.7)
    assert np.array_equal(from_js, from_python)


def scalar_style(seed: int, z_dim: int, num_styles: int) -> int:
    """Step 4 as the docstring writes it: the stream's next uniform after the latent's
    accepted normals (rejected ones skipped), floor(u * num_styles)."""
    draws = iter(scalar_mulberry32(seed, 20 * z_dim + 10))

    def uniform() -> float:
        return next(draws) / 2**32

    for _ in range(z_dim):
        while True:
            u1, u2 = uniform(), uniform()
            if abs(math.sqrt(-2 * math.log1p(-u1)) * math.cos(2 * math.pi * u2)) <= 2:
                break
    return math.floor(uniform() * num_styles)


def test_a_seed_draws_its_style_from_the_stream_after_its_latent():
    seeds = list(range(400))
    styles = style_ids(seeds, 16, 12)
    assert styles.dtype == np.int64 and styles.shape == (400,)
    assert [int(s) for s in styles[:40]] == [scalar_style(s, 16, 12) for s in seeds[:40]]
    counts = np.bincount(styles, minlength=12)
    assert counts.min() >= 15 and counts.max() <= 55  # about 33 each: every style is drawn
    assert np.array_equal(style_ids([7, 3], 16, 12), styles[[7, 3]])  # batch independent
    assert not np.array_equal(style_ids(seeds, 17, 12), styles)  # after the latent, not before
    with pytest.raises(ValueError, match="num_styles"):
        style_ids([1], 16, 0)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_browser_style_is_identical(tmp_path):
    seeds = [0, 1, 42, 123456789, 4294967295, *range(100, 160)]
    script = tmp_path / "style.mjs"
    script.write_text(
        f"import {{ styleId }} from '{NOISE_JS.as_posix()}';\n"
        f"const seeds = {json.dumps(seeds)};\n"
        "console.log(JSON.stringify([12, 7].map(k => seeds.map(s => styleId(s, 128, k)))));\n"
    )
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    from_js = json.loads(result.stdout)
    assert from_js == [style_ids(seeds, 128, k).tolist() for k in (12, 7)]
    assert len(set(from_js[0])) > 6  # the seeds draw many styles, not one
