"""One sample of the real-world set, and the encodings its images are uploaded in."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from harness.images import encode


@dataclass(frozen=True)
class Sample:
    """One upload: its kind, true digit, file bytes and content type, what it shows, and the
    MNIST test digit it was rendered from (None for typed and drawn digits)."""

    kind: str
    label: int
    data: bytes
    content_type: str
    note: str
    mnist_index: int | None = None


def png_upload(image: Image.Image) -> tuple[bytes, str]:
    """``image`` as a PNG upload: (file bytes, content type)."""
    return encode(image, "PNG"), "image/png"


def jpeg_upload(image: Image.Image, quality: int, **options) -> tuple[bytes, str]:
    """``image`` as a JPEG upload at ``quality``: (file bytes, content type)."""
    return encode(image, "JPEG", quality=quality, **options), "image/jpeg"
