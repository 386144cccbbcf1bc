"""Image files in, Pillow images out, at a cost bounded by what the file declares.

``open_image`` reads the header only and refuses, before any pixel is decoded, a file that
declares more pixels than the caller allows or a costlier structure than a digit needs (see
``containers``). ``decode`` then loads the pixels of the first frame.
"""

from __future__ import annotations

import contextlib
import io

from PIL import ExifTags, Image

from app.preprocessing.containers import DECODING_BUDGET_BYTES_PER_PIXEL, check_header
from app.preprocessing.exceptions import ImageTooLarge, InvalidImage

# Decoders tried, and no others (JPEG covers MPO, the multi-picture JPEG of some phones): the
# formats people upload. Each one more is one more file structure to defend (see containers).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
JPEG_DRAFT_SIDE = 1024  # large JPEGs are decoded at 1/2, 1/4 or 1/8 scale, but not below this
# How to turn the stored pixels upright, by EXIF Orientation (2 to 8; 1 is upright): the table
# inside Pillow's ImageOps.exif_transpose, which is not public. That function also writes the
# EXIF back without the tag, re-serialising every tag: at the 64 KiB EXIF bound about five times
# the cost of reading the tag and transposing, paid per image of a batch.
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Register every Pillow decoder now, at import (start-up), rather than inside the first request
# that names a format Pillow does not preload (WebP).
Image.init()


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """The image in ``data`` (PNG, JPEG, WebP, GIF), opened lazily: only its header
    is read. Raises ImageTooLarge when its declared width × height exceeds ``max_pixels``, its
    decoding would write more than DECODING_BUDGET_BYTES_PER_PIXEL × ``max_pixels`` bytes, or its
    structure declares more decoding work than our limits; InvalidImage when it is no image."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidImage(f"image data must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise InvalidImage("the image is empty (0 bytes)")
    # Before Image.open: it already parses (and inflates) some of what check_header counts.
    bytes_per_pixel = check_header(data)
    try:
        # Pillow's own bomb check (a warning above its limit, an error above twice that) may fire
        # here; a warning turned into an error by the warnings filter lands here too.
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        message = f"the image declares far more pixels than allowed; the limit is {max_pixels}"
        raise ImageTooLarge(message) from exc
    except Exception as exc:  # Pillow raises many exception types for junk; all mean "not an image"
        raise InvalidImage("not a readable image (accepted formats: PNG, JPEG, WebP, GIF)") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage(f"the image has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    budget = DECODING_BUDGET_BYTES_PER_PIXEL * max_pixels
    if width * height * bytes_per_pixel > budget:
        raise ImageTooLarge(
            f"the {image.format} is {width}×{height} at {bytes_per_pixel:g} bytes per pixel to decode = "
            f"{int(width * height * bytes_per_pixel)} bytes; the limit is {budget} "
            f"({DECODING_BUDGET_BYTES_PER_PIXEL} bytes × the {max_pixels}-pixel limit)"
        )
    return image


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
    # Only the Orientation tag is read, from EXIF whose size check_header bounded; nothing is
    # written back (Pillow's exif_transpose re-serialises every tag). ImageMagick's old hex text
    # form of EXIF is dropped unparsed: its inflated size is not in the header. A corrupt EXIF
    # block should not cost the user the image: it stays as stored.
    image.info.pop("Raw profile type exif", None)
    with contextlib.suppress(Exception):
        method = UPRIGHT.get(image.getexif().get(ExifTags.Base.Orientation))
        if method is not None:
            return image.transpose(method)
    return image

