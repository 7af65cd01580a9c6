"""Safe image decoding shared by every importer: bytes in, square RGB picture out, or a reason.

Checks, in order: byte size, pixel count from the header (before any pixel is decoded, so a
decompression bomb costs nothing), a full decode, EXIF orientation, conversion of palette, alpha,
grey, CMYK and 16-bit modes to RGB (alpha composited on a chosen background), then a resize to a
square by centre-crop, pad or stretch. When the caller says what size it makes, the pixel count
is capped by that too (``scaled_max_pixels``): a 249 kB PNG of 8000x8000, under the absolute
cap, cost 1.5 GB and 7.5 s to decode, for a 64 px picture.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_PIXELS = 64_000_000
# Made into an output of N px, a picture may be decoded at up to SIDE_PER_OUTPUT x N a side, and
# 4096 x 4096 (about 300 MB at its worst, RGBA and its copies) whatever N: enough for every
# photo (a JPEG is decoded at 1/2 .. 1/8 scale first) and screenshot worth learning from.
SIDE_PER_OUTPUT = 16
MIN_SCALED_PIXELS = 4096 * 4096
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


class ResizeMode(StrEnum):
    CROP = "crop"  # centre-crop to a square, then scale
    PAD = "pad"  # scale the long side, pad the short side with the background
    STRETCH = "stretch"  # scale both sides, ignoring the aspect ratio


class RejectedImage(ValueError):
    """An input that is not a usable picture; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_side: int = 16


def scaled_max_pixels(output_size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """The most pixels decoded for a square output of ``output_size`` px (``max_pixels`` at
    most, ``MIN_SCALED_PIXELS`` at least)."""
    return min(max_pixels, max(MIN_SCALED_PIXELS, (SIDE_PER_OUTPUT * output_size) ** 2))


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits(),
                 background: tuple[int, int, int] = (255, 255, 255),
                 at_least: int | None = None, output_size: int | None = None) -> Image.Image:
    """Decode untrusted bytes into an upright RGB image, or raise ``RejectedImage``.

    ``at_least``: the caller will shrink the picture to this size anyway, so a JPEG may be
    decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) as long as both sides stay >= it.
    ``output_size`` (``at_least`` if not given): the size the caller makes; the pixels decoded
    (after that scaling) are capped by ``scaled_max_pixels`` of it.
    """
    if len(data) > limits.max_bytes:
        raise RejectedImage("too_large", f"{len(data)} bytes > {limits.max_bytes}")
    if not data:
        raise RejectedImage("empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
            width, height = image.size
            if width * height > limits.max_pixels:
                raise RejectedImage("too_many_pixels", f"{width}x{height}")
            if min(width, height) < limits.min_side:
                raise RejectedImage("too_small", f"{width}x{height}")
            if at_least and image.format == "JPEG":
                image.draft("RGB", (at_least, at_least))
            output_size = output_size or at_least
            if output_size and image.width * image.height > scaled_max_pixels(
                    output_size, limits.max_pixels):
                raise RejectedImage("too_many_pixels",
                                    f"{width}x{height} for a {output_size} px picture")
            image.load()  # the real decode: truncated or corrupt data fails here
    except RejectedImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise RejectedImage("too_many_pixels", str(error)) from error
    except UnidentifiedImageError as error:
        raise RejectedImage("not_an_image") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise RejectedImage("corrupt", str(error).splitlines()[0] if str(error) else "") from error
    return to_rgb(ImageOps.exif_transpose(image), background)


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any mode -> RGB; transparency is composited over ``background``."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if pixels.max() > 255 else 255.0
        image = Image.fromarray((pixels / peak * 255).round().astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def to_square(image: Image.Image, size: int, mode: ResizeMode = ResizeMode.CROP,
              background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Resize to ``size`` x ``size`` by centre-crop, pad or stretch (Lanczos filtering)."""
    if mode is ResizeMode.STRETCH:
        return image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if mode is ResizeMode.CROP:
        return ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    return ImageOps.pad(image, (size, size), Image.Resampling.LANCZOS, color=background)


def difference_hash(image: Image.Image, hash_size: int = 8) -> int:
    """64-bit dHash: sign of horizontal gradients of a (hash_size, hash_size+1) grey thumbnail."""
    grey = np.asarray(image.convert("L").resize((hash_size + 1, hash_size),
                                                Image.Resampling.LANCZOS), dtype=np.int16)
    bits = (grey[:, 1:] > grey[:, :-1]).ravel()
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
