"""The decoding work a file's structure declares, checked from its headers before any of it is
done: guards, not decoders. Each reads only lengths, counts and types, a bounded number of them,
and leaves a truncated or malformed file to the decoder to refuse.

Pillow parses some structures in Python, one step per unit: PNG chunks (and it inflates each
compressed ancillary chunk, up to PngImagePlugin.MAX_TEXT_CHUNK each, with no total), JPEG
segments and stray bytes before the first scan, GIF extension blocks before the first image.
libjpeg, in C, passes over every block of a component once per scan of a progressive JPEG, and a
scan takes a dozen bytes to declare. A few KiB of headers can declare far more of that work than
decoding the pixels would take; a real image needs little of it. Pillow also parses metadata
entry by entry in Python: EXIF (a 768 KiB EXIF of 65,535 tags costs seconds) and Photoshop's
resources.

Decoding the pixels costs what the decoder writes, not only how many pixels there are: a 16-bit
RGBA PNG inflates 8 bytes a pixel where an 8-bit grey one inflates 1, and a WebP is decoded onto
libwebp's canvases. ``check_header`` returns that weight, bytes per pixel, read from the header;
``decoding`` multiplies it by width × height and holds the product to a budget.
docs/api-limits.md has every bound below in one table.
"""

from __future__ import annotations

import re
import struct

from app.preprocessing.exceptions import ImageTooLarge

# Bytes a decoder writes per pixel, by format; a PNG's come from its header (_png_bytes_per_pixel).
# An image may cost width × height × these up to DECODING_BUDGET_BYTES_PER_PIXEL × the pixel
# limit: an 8-bit RGBA PNG at the pixel limit fits, a 16-bit RGBA one only at half the pixels.
DECODING_BUDGET_BYTES_PER_PIXEL = 4
BYTES_PER_PIXEL = {
    # At most (colour); a large one is decoded at reduced scale (decoding.JPEG_DRAFT_SIDE), but a
    # progressive one's coefficients are still read at full size once per pass over a component.
    "JPEG": 3,
    "GIF": 1,  # palette indices
    # Lossy or lossless, libwebp decodes onto an RGBA canvas, keeps the previous one (for
    # animations) and Pillow copies the result: three times an RGBA PNG's memory a pixel, and
    # a lossy WebP of noise as much time.
    "WEBP": 12,
}
# Each of those passes counts a quarter byte a pixel: 32 of them over 4096² cost libjpeg about
# what a 16-bit RGBA PNG (8 bytes a pixel) costs to inflate.
JPEG_BYTES_PER_SCAN_PASS = 0.25
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type: grey, RGB, palette, grey + alpha, RGBA
# An Adam7-interlaced PNG is inflated in seven passes, each scattered over the image: counted
# twice, more than the passes add to any bit depth.
PNG_INTERLACE_FACTOR = 2
# EXIF (PNG eXIf, WebP EXIF, JPEG APP1 segments, which Pillow joins) and Photoshop's resources
# (JPEG APP13): what JPEG allows one segment, and any camera's EXIF fits. Refused over it rather
# than dropped: dropping would silently lose the Orientation, and the digit be read on its side.
MAX_PARSED_METADATA_BYTES = 64 * 1024

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
# The segments Pillow parses entry by entry, by marker: APP1 (EXIF) and APP13 (Photoshop).
_JPEG_PARSED_METADATA = {0xE1: (b"Exif\0\0", "EXIF"), 0xED: (b"Photoshop 3.0\0", "Photoshop")}
# Extensions (comments, application data such as XMP) before a GIF's first image and their
# sub-blocks of ≤ 255 bytes: Pillow reads each extension in Python, even an empty one, and joins
# a comment's sub-blocks by repeated concatenation.
MAX_GIF_EXTENSION_BLOCKS = 1024
# A WebP's chunks (VP8X, a colour profile, EXIF, XMP, an animation's frames): walked in Python here.
MAX_WEBP_CHUNKS = 4096


def check_header(data: bytes) -> float:
    """Refuse ``data`` whose PNG, JPEG, GIF or WebP structure declares more work than our limits
    (ImageTooLarge), from its headers alone, before Pillow opens it. Returns the bytes its
    decoder writes per pixel (0 when it is none of these: Pillow will refuse it)."""
    if bytes(data[:8]) == PNG_SIGNATURE:
        return _check_png_chunks(data)
    if bytes(data[:3]) == b"\xff\xd8\xff":
        data = bytes(data)
        first_scan = _check_jpeg_segments(data)
        passes = 0 if first_scan is None else _check_jpeg_scans(data, first_scan)
        return max(BYTES_PER_PIXEL["JPEG"], passes * JPEG_BYTES_PER_SCAN_PASS)
    if bytes(data[:3]) == b"GIF":
        _check_gif_blocks(data)
        return BYTES_PER_PIXEL["GIF"]
    if bytes(data[:4]) == b"RIFF" and bytes(data[8:12]) == b"WEBP":
        _check_webp_chunks(data)
        return BYTES_PER_PIXEL["WEBP"]
    return 0


def _check_metadata(fmt: str, kind: str, size: int) -> None:
    if size > MAX_PARSED_METADATA_BYTES:
        raise ImageTooLarge(
            f"the {fmt} has more than {MAX_PARSED_METADATA_BYTES} bytes of {kind} metadata, the limit"
        )


def _png_bytes_per_pixel(header: bytes) -> float:
    """From the IHDR chunk's data: bit depth × channels, at least a byte (Pillow holds no less),
    counted twice when interlaced."""
    bit_depth, colour_type, interlace = header[8], header[9], header[12]
    stored = max(1.0, bit_depth * PNG_CHANNELS.get(colour_type, 4) / 8)
    return stored * (PNG_INTERLACE_FACTOR if interlace else 1)


def _check_png_chunks(data: bytes) -> float:
    """The chunk headers (length and type) of a PNG, up to IEND: their count, the compressed
    ancillary ones, the bytes of every ancillary one and of EXIF. Returns the bytes per pixel
    its header declares."""
    chunks = compressed = ancillary_bytes = exif_bytes = 0
    bytes_per_pixel = 1.0
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        if offset + 12 + length > len(data):
            break  # a chunk longer than the file: truncated or corrupt, for the decoder to refuse
        if kind == b"IHDR" and length >= 13:
            bytes_per_pixel = _png_bytes_per_pixel(data[offset + 8 : offset + 21])
        if kind == b"eXIf":
            exif_bytes += length
            _check_metadata("PNG", "EXIF", exif_bytes)
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
            break
        offset += 12 + length  # length, type, data, CRC
    return bytes_per_pixel


def _check_jpeg_segments(data: bytes) -> int | None:
    """The segments of a JPEG before its first scan, and the padding or stray bytes between
    them, each of which Pillow steps over in Python. Returns where the first scan starts (None
    when there is none)."""
    steps = 0
    parsed = dict.fromkeys(_JPEG_PARSED_METADATA, 0)
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
            length = int.from_bytes(data[offset : offset + 2], "big")
            if code in parsed and data.startswith(_JPEG_PARSED_METADATA[code][0], offset + 2):
                parsed[code] += length - 2
                _check_metadata("JPEG", _JPEG_PARSED_METADATA[code][1], parsed[code])
            offset += length


def _check_jpeg_scans(data: bytes, offset: int) -> int:
    """The scans of a JPEG from its first (at ``offset``) to its end of image, and the segments
    between them: each scan is a pass of libjpeg over every block of a component. Returns the
    passes."""
    passes = segments = 0
    while found := _JPEG_MARKER.search(data, offset):
        code = data[found.start() + 1]
        if code == 0xD9:  # end of image: what follows (an MPO's next picture) is not decoded
            break
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
    return passes


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


def _check_webp_chunks(data: bytes) -> None:
    """The chunks of a WebP (RIFF) file: their count and the bytes of EXIF."""
    chunks = exif_bytes = 0
    offset = 12  # after "RIFF", the file's length and "WEBP"
    while offset + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, offset)
        chunks += 1
        if chunks > MAX_WEBP_CHUNKS:
            raise ImageTooLarge(f"the WebP has more than {MAX_WEBP_CHUNKS} chunks, the limit")
        if kind == b"EXIF":
            exif_bytes += size
            _check_metadata("WebP", "EXIF", exif_bytes)
        offset += 8 + size + (size & 1)  # type, size, data padded to an even length
