"""Image files in memory, as a client would upload them."""

from __future__ import annotations

import io

from PIL import Image


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """``image`` saved as a ``fmt`` file ("PNG", "JPEG", "GIF", ...) with Pillow's ``options``."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()
