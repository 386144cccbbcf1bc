"""The decoding work a file's structure declares, checked from its headers before any of it is
done: guards, not decoders. Each reads only lengths, counts and types, a bounded number of them,
and leaves a truncated or malformed file to the decoder to refuse.

Pillow parses some structures in Python, one step per unit: PNG chunks (and it inflates each
compressed ancillary chunk, up to PngImagePlugin.MAX_TEXT_CHUNK each, with no total), JPEG
segments and stray bytes before the first scan, GIF extension blocks before the first image.
libjpeg, in C, passes over every block of a component once per scan of a progressive JPEG, and a
scan takes a dozen bytes to declare. A few KiB of headers can declare far more of that work than
decoding the pixels would take; a real image needs little of it.
"""

from __future__ import annotations

import re
import struct

from app.preprocessing.exceptions import ImageTooLarge

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A real PNG has a handful of chunks: its data split in 8 KiB IDATs at most a few hundred times
# within the body limit, one colour profile and a few text notes.
MAX_PNG_CHUNKS = 4096
MAX_PNG_COMPRESSED_CHUNKS = 16  # iCCP, zTXt and iTXt together
COMPRESSED_PNG_CHUNKS = frozenset({b"iCCP", b"zTXt", b"iTXt"})
MAX_PNG_ANCILLARY_BYTES = 2 * 1024 * 1024  # declared length of the chunks that are not pixels
# Segments (a real JPEG has a dozen: APPn, DQT, SOF, DHT...) and padding or stray bytes before
# the first scan: Pillow reads them marker by marker, a stray byte at a time.
MAX_JPEG_HEADER_STEPS = 4096
# Passes of libjpeg over a component, one per scan and component it names (a progressive JPEG
# from libjpeg has 14 in colour, 6 in grey): its work is passes × pixels. One count for every
# size, so that a batch's pixel budget also bounds its passes × pixels.
MAX_JPEG_SCAN_PASSES = 32
# Scans and the tables between them: the walk that counts them is Python.
MAX_JPEG_SEGMENTS_AFTER_FIRST_SCAN = 1024
# A marker inside or after entropy-coded data: 0xFF then neither a stuffed zero, a restart
# marker (RST0-7) nor more 0xFF fill.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Extensions (comments, application data such as XMP) before a GIF's first image and their
# sub-blocks of ≤ 255 bytes: Pillow reads each extension in Python, even an empty one, and joins
# a comment's sub-blocks by repeated concatenation.
MAX_GIF_EXTENSION_BLOCKS = 1024


def check_header(data: bytes) -> None:
    """Refuse ``data`` whose PNG, JPEG or GIF structure declares more work than our limits
    (ImageTooLarge), from its headers alone, before Pillow opens it."""
    if bytes(data[:8]) == PNG_SIGNATURE:
        _check_png_chunks(data)
    elif bytes(data[:3]) == b"\xff\xd8\xff":
        data = bytes(data)
        first_scan = _check_jpeg_segments(data)
        if first_scan is not None:
            _check_jpeg_scans(data, first_scan)
    elif bytes(data[:3]) == b"GIF":
        _check_gif_blocks(data)


def _check_png_chunks(data: bytes) -> None:
    """The chunk headers (length and type) of a PNG, up to IEND: their count, the compressed
    ancillary ones, and the bytes of every ancillary one."""
    chunks = compressed = ancillary_bytes = 0
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        if offset + 12 + length > len(data):
            return  # a chunk longer than the file: truncated or corrupt, for the decoder to refuse
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
        # A lower-case first letter: ancillary, not needed for the pixels. An animation's later
        # frames (fdAT) are only counted: the first frame is all that is read.
        if kind[0] & 0x20 and kind != b"fdAT":
            ancillary_bytes += length
            if ancillary_bytes > MAX_PNG_ANCILLARY_BYTES:
                raise ImageTooLarge(
                    f"the PNG has more than {MAX_PNG_ANCILLARY_BYTES} bytes of ancillary chunks "
                    "(metadata), the limit"
                )
        if kind == b"IEND":
            return
        offset += 12 + length  # length, type, data, CRC


def _check_jpeg_segments(data: bytes) -> int | None:
    """The segments of a JPEG before its first scan, and the padding or stray bytes between
    them, each of which Pillow steps over in Python. Returns where the first scan starts (None
    when there is none)."""
    steps = 0
    offset = 2  # after the start-of-image marker
    while True:
        marker = data.find(b"\xff", offset)
        if marker < 0:
            return None
        steps += marker - offset + 1  # stray bytes, then the 0xFF
        offset = marker + 1
        while offset < len(data) and data[offset] == 0xFF and steps <= MAX_JPEG_HEADER_STEPS:
            offset += 1  # padding
            steps += 1
        if steps > MAX_JPEG_HEADER_STEPS:
            raise ImageTooLarge(
                f"the JPEG has more than {MAX_JPEG_HEADER_STEPS} segments or padding bytes before "
                "its image data, the limit"
            )
        if offset + 2 >= len(data) or data[offset] == 0xD9:  # end of image
            return None
        code = data[offset]
        if code == 0xDA:  # start of scan
            return offset - 1
        offset += 1
        if code not in (0x00, 0x01) and not 0xD0 <= code <= 0xD7:  # markers with a length
            offset += int.from_bytes(data[offset : offset + 2], "big")


def _check_jpeg_scans(data: bytes, offset: int) -> None:
    """The scans of a JPEG from its first (at ``offset``) to its end of image, and the segments
    between them: each scan is a pass of libjpeg over every block of a component."""
    passes = segments = 0
    while found := _JPEG_MARKER.search(data, offset):
        code = data[found.start() + 1]
        if code == 0xD9:  # end of image: what follows (an MPO's next picture) is not decoded
            return
        segments += 1
        if segments > MAX_JPEG_SEGMENTS_AFTER_FIRST_SCAN:
            raise ImageTooLarge(
                f"the JPEG has more than {MAX_JPEG_SEGMENTS_AFTER_FIRST_SCAN} scans and segments "
                "after its first scan, the limit"
            )
        if code == 0xDA:  # start of scan: its number of components follows its length
            passes += int.from_bytes(data[found.start() + 4 : found.start() + 5], "big")
            if passes > MAX_JPEG_SCAN_PASSES:
                raise ImageTooLarge(
                    f"the JPEG's scans pass over its components more than {MAX_JPEG_SCAN_PASSES} "
                    "times (a scan of three colours counts three), the limit"
                )
        offset = found.start() + 2
        if code != 0x01:  # every marker found here but TEM has a length
            offset += int.from_bytes(data[offset : offset + 2], "big")


def _check_gif_blocks(data: bytes) -> None:
    """The extensions and their sub-blocks before a GIF's first image."""
    if len(data) < 13:
        return
    flags = data[10]
    offset = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global colour table
    blocks = 0
    while offset + 2 < len(data) and data[offset] == 0x21:  # "!": an extension
        offset += 2  # the introducer and the extension's label
        blocks += 1  # the extension itself, even one without sub-blocks
        while offset < len(data) and data[offset] != 0 and blocks <= MAX_GIF_EXTENSION_BLOCKS:
            blocks += 1  # sub-blocks until an empty one
            offset += 1 + data[offset]
        if blocks > MAX_GIF_EXTENSION_BLOCKS:
            raise ImageTooLarge(
                f"the GIF has more than {MAX_GIF_EXTENSION_BLOCKS} blocks of comments or "
                "application data before its first image, the limit"
            )
        offset += 1
