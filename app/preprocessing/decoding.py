"""Image files in, Pillow images out, at a cost bounded by what the file declares.

``open_image`` reads the header only and refuses, before any pixel is decoded, a file that
declares more pixels than the caller allows or a costlier structure than a digit needs (too many
PNG chunks, too much ancillary PNG data, too many decoder tiles). ``decode`` then loads the
pixels of the first frame.
"""

from __future__ import annotations

import contextlib
import io
import struct

from PIL import Image, ImageOps

from app.preprocessing.exceptions import ImageTooLarge, InvalidImage

# Decoders tried, and no others (JPEG covers MPO, the multi-picture JPEG of some phones).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
JPEG_DRAFT_SIDE = 1024  # large JPEGs are decoded at 1/2, 1/4 or 1/8 scale, but not below this

# Pillow reads a PNG chunk by chunk in Python, and inflates each compressed ancillary chunk (up
# to PngImagePlugin.MAX_TEXT_CHUNK each, with no total): a few KiB of headers can declare
# seconds of that work. A real image has a handful of chunks (its data split in 8 KiB IDATs at
# most a few hundred times within the body limit), one colour profile and a few text notes.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_CHUNKS = 4096
MAX_PNG_COMPRESSED_CHUNKS = 16  # iCCP, zTXt and iTXt together
COMPRESSED_PNG_CHUNKS = frozenset({b"iCCP", b"zTXt", b"iTXt"})
MAX_PNG_ANCILLARY_BYTES = 2 * 1024 * 1024  # declared length of every chunk that is not pixels
# Pillow decodes each tile (a TIFF strip or tile) in a Python loop: one strip per row would be
# per-row Python work.
MAX_TILES = 4096

# Register every Pillow decoder now, at import (start-up), rather than inside the first request
# that names a format Pillow does not preload (WebP, TIFF).
Image.init()


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """The image in ``data`` (PNG, JPEG, WebP, GIF, BMP, TIFF), opened lazily: only its header
    is read. Raises ImageTooLarge when its declared width × height exceeds ``max_pixels`` or its
    structure declares more decoding work than our limits, InvalidImage when it is no image."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidImage(f"image data must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise InvalidImage("the image is empty (0 bytes)")
    if bytes(data[:8]) == PNG_SIGNATURE:
        # Before Image.open: it already inflates the colour profile.
        _check_png_chunks(data)
    try:
        # Pillow's own bomb check (a warning above its limit, an error above twice that) may fire
        # here; a warning turned into an error by the warnings filter lands here too.
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        message = f"the image declares far more pixels than allowed; the limit is {max_pixels}"
        raise ImageTooLarge(message) from exc
    except Exception as exc:  # Pillow raises many exception types for junk; all mean "not an image"
        raise InvalidImage(
            "not a readable image (accepted formats: PNG, JPEG, WebP, GIF, BMP, TIFF)"
        ) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage(f"the image has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    if len(image.tile) > MAX_TILES:
        raise ImageTooLarge(
            f"the image is stored in {len(image.tile)} separate strips or tiles; the limit is {MAX_TILES}"
        )
    return image


def _check_png_chunks(data: bytes) -> None:
    """Refuse a PNG whose chunk headers (length and type: no chunk is read) declare more chunks,
    compressed ancillary chunks or ancillary bytes than our limits. A truncated or malformed
    chunk list is left to the decoder to refuse."""
    chunks = compressed = ancillary_bytes = 0
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise ImageTooLarge(f"the PNG has more than {MAX_PNG_CHUNKS} chunks, the limit")
        if kind in COMPRESSED_PNG_CHUNKS:
            compressed += 1
            if compressed > MAX_PNG_COMPRESSED_CHUNKS:
                raise ImageTooLarge(
                    f"the PNG has more than {MAX_PNG_COMPRESSED_CHUNKS} compressed iCCP, zTXt "
                    "and iTXt chunks, the limit"
                )
        if kind[0] & 0x20:  # a lower-case first letter: ancillary, not needed for the pixels
            ancillary_bytes += length
            if ancillary_bytes > MAX_PNG_ANCILLARY_BYTES:
                raise ImageTooLarge(
                    f"the PNG has more than {MAX_PNG_ANCILLARY_BYTES} bytes of ancillary chunks "
                    "(metadata), the limit"
                )
        if kind == b"IEND":
            return
        offset += 12 + length  # length, type, data, CRC


def decode(image: Image.Image) -> Image.Image:
    """The pixels of ``image`` (from open_image; the first frame of an animation) loaded, the
    EXIF rotation applied. Large JPEGs are decoded at a reduced scale (the digit needs far
    fewer pixels). Raises InvalidImage when the data cannot be decoded."""
    width, height = image.size
    try:
        if image.format in ("JPEG", "MPO") and max(width, height) > 2 * JPEG_DRAFT_SIDE:
            scale = max(width, height) / JPEG_DRAFT_SIDE
            image.draft(image.mode, (max(1, int(width / scale)), max(1, int(height / scale))))
        image.load()
    except Exception as exc:  # truncated data, bad compressed stream, decoder errors
        raise InvalidImage(f"the image could not be decoded: {exc}") from exc
    # A corrupt EXIF block should not cost the user the image: keep it unrotated. In place:
    # otherwise every image without a rotation would be copied whole.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    return image


def load_image(data: bytes, max_pixels: int) -> Image.Image:
    """``decode(open_image(data, max_pixels))``: the decoded image in the file ``data``."""
    return decode(open_image(data, max_pixels))
