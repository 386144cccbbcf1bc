"""Image files in memory, as a client would upload them: saved by Pillow, or PNGs made by hand
chunk by chunk (to declare what Pillow would never write)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """``image`` saved as a ``fmt`` file ("PNG", "JPEG", "GIF", ...) with Pillow's ``options``; an
    RGBA image saved as JPEG, which has no alpha, is first laid on white."""
    if fmt == "JPEG" and image.mode == "RGBA":
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(image, mask=image.getchannel("A"))
        image = white
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes = b"") -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, colour_type: int = 0, rows: bytes = b"\0\0", before: bytes = b"",
        after: bytes = b"", idat_chunks: int = 1) -> bytes:
    """An 8-bit PNG (grey: ``colour_type`` 0) of already-filtered ``rows`` (filter byte and pixels
    per row), its image data split in ``idat_chunks`` pieces (the extra ones empty, first), with
    the chunks ``before`` and ``after`` the image data."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    image_data = png_chunk(b"IDAT") * (idat_chunks - 1) + png_chunk(b"IDAT", zlib.compress(rows, 9))
    return PNG_SIGNATURE + header + before + image_data + after + png_chunk(b"IEND")
