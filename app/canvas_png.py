"""The opacity of a canvas export, read straight from its PNG bytes.

A drawing exported by a browser's canvas (``toDataURL``/``toBlob``) is an 8-bit RGBA PNG with
nothing but IHDR, IDAT and IEND chunks, rows filtered with None, Sub or Up, and its ink is all
in the alpha channel. Pillow decodes such a file in about a third of a millisecond, most of it
inflating row by row and checksumming the 300 KB of RGBA; the preprocessing then needs only the
alpha plane. Here the image data is inflated in one call into a buffer of exactly the right size,
and only the alpha bytes are unfiltered: each filter predicts a byte from the same channel of a
neighbouring pixel, so the alpha plane can be reconstructed on its own. That takes about a third
of Pillow's time.

``read_alpha`` declines (returns None) anything else: other colour types or bit depths,
interlacing, the Average and Paeth filters (their predictions run pixel by pixel along a row),
chunks that could change the image (EXIF orientation, animation), a bad CRC, a zlib stream that
is damaged or does not inflate to exactly the image's size. The caller then decodes the file
with Pillow, which also says what is wrong with a broken one. Every chunk's CRC is checked, which
covers the compressed data, so the zlib stream's own checksum of the inflated data is not
recomputed.
"""

from __future__ import annotations

import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A deflate stream inflates to at most 1032 times its size; past this many compressed bytes, a
# hostile file could make zlib.decompress, which has no output limit, allocate too much.
MAX_IMAGE_DATA = 32 * 1024
# Chunks that describe how to show the colours and are safe to ignore for the opacity.
IGNORED_CHUNKS = frozenset({b"sRGB", b"gAMA", b"cHRM", b"iCCP", b"pHYs", b"sBIT", b"tIME", b"bKGD"})
COLOUR_TYPES = {6: 4, 4: 2}  # PNG colour type → bytes per pixel (RGBA, grey + alpha), alpha last
NONE, SUB, UP = 0, 1, 2


def read_alpha(data: bytes, max_pixels: int) -> np.ndarray | None:
    """The alpha plane (H, W) uint8 of a simple 8-bit RGBA (or grey + alpha) PNG, or None when
    ``data`` is anything else or has more than ``max_pixels`` pixels (see the module's docstring).
    """
    parsed = _image_data(data, max_pixels)
    if parsed is None:
        return None
    width, height, channels, compressed = parsed
    row_bytes = 1 + channels * width
    # zlib header: deflate, no preset dictionary; the stream itself is inflated raw (wbits -15).
    if len(compressed) < 6 or compressed[0] & 0x0F != 8 or compressed[0] >> 4 > 7:
        return None
    if (compressed[0] << 8 | compressed[1]) % 31 or compressed[1] & 0x20:
        return None
    try:
        raw = zlib.decompress(memoryview(compressed)[2:], -15, height * row_bytes)
    except zlib.error:
        return None
    if len(raw) != height * row_bytes:
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, row_bytes)
    filters = rows[:, 0]
    if filters.max() > UP:
        return None
    return _unfilter(rows[:, channels::channels], filters)


def _image_data(data: bytes, max_pixels: int) -> tuple[int, int, int, bytes] | None:
    """(width, height, bytes per pixel, the joined IDAT data) of a PNG whose chunks are all
    understood and intact, or None."""
    if not data.startswith(SIGNATURE) or len(data) < 8 + 25 + 12:
        return None
    view = memoryview(data)
    position = 8
    header = None
    parts: list[memoryview] = []
    size = 0
    previous = b""  # the kind of the chunk before this one
    while position + 12 <= len(data):
        length = int.from_bytes(view[position : position + 4], "big")
        kind = bytes(view[position + 4 : position + 8])
        end = position + 12 + length
        if end > len(data):
            return None
        body = view[position + 8 : end - 4]
        if zlib.crc32(body, zlib.crc32(kind)) != int.from_bytes(view[end - 4 : end], "big"):
            return None
        if header is None:
            if kind != b"IHDR" or length != 13:
                return None
            header = bytes(body)
        elif kind == b"IDAT":
            if parts and previous != b"IDAT":
                return None  # the image data must be consecutive
            parts.append(body)
            size += length
            if size > MAX_IMAGE_DATA:
                return None
        elif kind == b"IEND":
            break
        elif kind not in IGNORED_CHUNKS:
            return None
        previous = kind
        position = end
    else:
        return None  # no IEND
    if end != len(data) or not parts:
        return None
    width = int.from_bytes(header[0:4], "big")
    height = int.from_bytes(header[4:8], "big")
    depth, colour_type, compression, filter_method, interlace = header[8:13]
    channels = COLOUR_TYPES.get(colour_type)
    if channels is None or depth != 8 or compression or filter_method or interlace:
        return None
    if not (width > 0 and height > 0 and width * height <= max_pixels):
        return None
    return width, height, channels, b"".join(parts)


def _unfilter(filtered: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Reconstruct one channel, ``filtered`` (H, W) uint8 with each row's filter type in
    ``filters`` (H,), all None, Sub or Up; arithmetic is modulo 256, as uint8's is.

    Sub adds the byte to the left and Up the byte above, each already reconstructed: Sub rows
    are prefix sums along the row; a run of Up rows is a prefix sum down the columns, restarted
    at each None or Sub row. The prefix sums are Hillis–Steele scans: log₂ n whole-array adds.
    """
    plane = np.ascontiguousarray(filtered)
    sub_rows = np.flatnonzero(filters == SUB)
    if sub_rows.size:
        plane[sub_rows] = _prefix_sums(plane[sub_rows], axis=1)
    up = filters == UP
    if not up.any():
        return plane
    sums = _prefix_sums(plane, axis=0)
    if up.all():
        return sums
    # Row r continues from the last None/Sub row a ≤ r (the anchor): sums[r] − sums[a − 1].
    rows = np.arange(len(filters))
    anchor = np.maximum.accumulate(np.where(up, -1, rows))
    before_anchor = np.concatenate([np.zeros_like(sums[:1]), sums])[np.maximum(anchor, 0)]
    return sums - before_anchor


def _prefix_sums(values: np.ndarray, axis: int) -> np.ndarray:
    """Inclusive prefix sums of uint8 ``values`` along ``axis`` (0 or 1), modulo 256, in place."""
    count = values.shape[axis]
    step = 1
    while step < count:
        if axis == 0:
            values[step:] += values[:-step]  # NumPy reads the right side before it writes
        else:
            values[:, step:] += values[:, :-step]
        step *= 2
    return values
