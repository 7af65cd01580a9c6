"""Pictures made byte by byte for the decoding limits: PNG bombs and huge flat PNGs."""

from __future__ import annotations

import struct
import zlib


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny (wrong) body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def flat_png(width: int, height: int) -> bytes:
    """A whole, valid RGBA PNG of one colour, compressed a row at a time (about 250 kB for
    8000 x 8000, and little memory to make)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    compressor = zlib.compressobj(6)
    row = b"\0" + b"\x10\x20\x30\xff" * width
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))
