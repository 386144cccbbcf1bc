"""Image files in memory, as a client would upload them."""

from __future__ import annotations

import io

from PIL import Image


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
