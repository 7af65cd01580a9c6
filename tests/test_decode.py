import io
import struct
import zlib

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


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny (wrong) body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


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
