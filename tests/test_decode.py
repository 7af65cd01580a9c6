import io

import numpy as np
import pytest
from PIL import Image

from ganpage.data.decode import (
    DecodeLimits,
    RejectedImage,
    ResizeMode,
    decode_image,
    difference_hash,
    hamming,
    to_square,
)
from helpers.images import flat_png, png_bomb


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def reason(data: bytes, limits: DecodeLimits | None = None) -> str:
    with pytest.raises(RejectedImage) as error:
        decode_image(data, limits or DecodeLimits())
    return error.value.reason


def test_good_jpeg_and_png_decode_to_rgb():
    picture = Image.new("RGB", (40, 30), (10, 200, 30))
    for fmt in ("JPEG", "PNG", "WEBP"):
        decoded = decode_image(encode(picture, fmt))
        assert decoded.mode == "RGB" and decoded.size == (40, 30)


def test_rejections_have_reasons():
    assert reason(b"") == "empty"
    assert reason(b"<html>404 not found</html>") == "not_an_image"
    assert reason(b"x" * 2000, DecodeLimits(max_bytes=1000)) == "too_large"
    assert reason(png_bomb(20000, 20000)) == "too_many_pixels"
    assert reason(encode(Image.new("RGB", (8, 8)))) == "too_small"
    jpeg = encode(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG")
    assert reason(jpeg[: len(jpeg) // 2]) == "corrupt"


def test_alpha_is_composited_on_the_background():
    transparent = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    on_white = decode_image(encode(transparent))
    assert on_white.getpixel((5, 5)) == (255, 255, 255)
    on_black = decode_image(encode(transparent), background=(0, 0, 0))
    assert on_black.getpixel((5, 5)) == (0, 0, 0)


@pytest.mark.parametrize("mode", ["P", "L", "LA", "CMYK", "I;16"])
def test_other_modes_become_rgb(mode):
    source = Image.new("RGB", (20, 20), (120, 60, 200))
    if mode == "I;16":
        converted = Image.fromarray(np.full((20, 20), 40000, dtype=np.uint16))
        data = encode(converted)
    else:
        fmt = "JPEG" if mode == "CMYK" else "PNG"
        data = encode(source.convert(mode), fmt)
    assert decode_image(data).mode == "RGB"


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    decoded = decode_image(encode(wide, "JPEG", exif=exif.tobytes()))
    assert decoded.size == (20, 40)


@pytest.mark.parametrize("mode", list(ResizeMode))
def test_resize_modes_give_squares(mode):
    wide = Image.new("RGB", (200, 100), "red")
    square = to_square(wide, 64, mode)
    assert square.size == (64, 64)
    corner = square.getpixel((0, 0))
    assert corner == ((255, 255, 255) if mode is ResizeMode.PAD else (255, 0, 0))


def test_difference_hash_finds_near_duplicates():
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    brighter = Image.fromarray(np.clip(np.asarray(base).astype(int) + 6, 0, 255).astype(np.uint8))
    other = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert hamming(difference_hash(base), difference_hash(brighter)) <= 4
    assert hamming(difference_hash(base), difference_hash(other)) > 10


# The child's peak memory is its VmHWM (this process's own: getrusage's ru_maxrss keeps the
# peak of the process it was forked from, here pytest's)
DECODE_IN_A_CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from helpers.images import flat_png
from ganpage.data.decode import RejectedImage, decode_image
data = flat_png(8000, 8000)
started = time.perf_counter()
try:
    decode_image(data, at_least=64)
    verdict = "decoded"
except RejectedImage as error:
    verdict = error.reason
seconds = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(len(data), verdict, seconds, peak_kb // 1024)
"""


@pytest.mark.slow
def test_a_small_png_of_many_pixels_is_refused_before_it_costs_memory():
    """8000 x 8000 is under the absolute cap (64 MP): made into a 64 px picture it is refused
    by the cap scaled to that size, before a pixel is decoded (it took 1.5 GB and 7.5 s)."""
    import subprocess
    import sys
    from pathlib import Path

    code = DECODE_IN_A_CHILD.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)
    size, verdict, seconds, peak_mb = done.stdout.split()
    assert int(size) < 300_000 and verdict == "too_many_pixels"
    assert float(seconds) < 0.5 and int(peak_mb) < 200, done.stdout


def test_the_scaled_cap_leaves_pictures_worth_decoding():
    from ganpage.data.decode import MIN_SCALED_PIXELS, scaled_max_pixels

    assert scaled_max_pixels(64) == MIN_SCALED_PIXELS == 4096 * 4096
    assert scaled_max_pixels(512) == 64_000_000  # never past the absolute cap
    assert decode_image(flat_png(4096, 4096), at_least=64).size == (4096, 4096)
    # a 20 MP photo is decoded at 1/8 scale, so it is cheap and passes for a 64 px picture
    photo = encode(Image.new("RGB", (5000, 4000), (90, 120, 30)), "JPEG", quality=70)
    assert decode_image(photo, at_least=64).size == (625, 500)
    with pytest.raises(RejectedImage, match="too_many_pixels"):
        decode_image(flat_png(4097, 4096), output_size=64)  # no scaled decode for a PNG
