"""A hostile corpus: small requests built to cost the server CPU or memory, or to reach a 500.

Each ``HostileCase`` is one HTTP request (path, content type, body) with the answers it may get.
tests/ sends them through the app at its test limits, and every case to gunicorn at the shipped
limits (the chunked framing cases only a real server reads). ``python -m bench.hostile`` sends
every case to gunicorn as shipped and prints each one's CPU seconds and peak memory. Bodies are
built on demand (some are megabytes) and deterministically.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from harness.images import PNG_SIGNATURE, encode, png, png_chunk

# Grey + alpha, 8 bits: what the hostile PNGs used.
_GREY_ALPHA = 4


@dataclass(frozen=True)
class HostileCase:
    """One request; ``statuses`` are the answers it may get (never a 5xx)."""

    name: str
    path: str
    content_type: str
    build: Callable[[], bytes]
    statuses: frozenset[int]
    code: str | None = None  # the error code expected, when one is
    # Sent with "Transfer-Encoding: chunked" exactly as ``build`` frames it (no Content-Length):
    # only a real server (gunicorn) reads such a body.
    raw_chunked: bool = False


def tall_paeth_png(rows: int) -> bytes:
    """1 px wide, ``rows`` tall, every row Paeth-filtered (filter 4), grey + alpha."""
    return png(1, rows, _GREY_ALPHA, b"\x04\x00\x00" * rows)


def wide_paeth_png(width: int) -> bytes:
    """``width`` × 1 px, one Paeth row of grey + alpha."""
    return png(width, 1, _GREY_ALPHA, b"\x04" + b"\x00" * (2 * width))


def iccp_png(count: int) -> bytes:
    """A tiny PNG carrying ``count`` iCCP chunks, each inflating to 1 MiB."""
    profile = png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * (1 << 20), 9))
    return png(8, 8, 0, b"\x00" + b"\x00" * 8, before=profile * count)


def empty_idat_png(count: int) -> bytes:
    """A tiny PNG whose image data follows ``count`` empty IDAT chunks, with an Average row."""
    return png(8, 8, 0, b"\x03" + b"\x00" * 8, idat_chunks=count)


def unknown_chunks_png(count: int) -> bytes:
    """A tiny PNG with ``count`` empty private ancillary chunks before its image data."""
    return png(8, 8, 0, b"\x00" + b"\x00" * 8, before=png_chunk(b"prVt") * count)


def noise(side: int) -> Image.Image:
    """A ``side``² grey image of noise (incompressible: decoding costs what the pixels cost)."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8))


def noise_png(side: int) -> bytes:
    return encode(noise(side), "PNG", compress_level=1)


# IFD pointers and the Orientation tag itself: what a flood of plain tags must not be.
_SPECIAL_EXIF_TAGS = {0x0112, 0x014A, 0x8769, 0x8825, 0xA005}


def exif_flood(tags: int = 0xFFFF) -> bytes:
    """EXIF (a little-endian TIFF directory) of ``tags`` entries: Orientation 6 ("rotate 90°
    clockwise") then distinct plain tags, each a SHORT. 65,535 entries (the most a directory
    counts) take 768 KiB."""
    plain = [tag for tag in range(1, 0x10000) if tag not in _SPECIAL_EXIF_TAGS][: tags - 1]
    entries = struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + b"".join(
        struct.pack("<HHIHH", tag, 3, 1, 1, 0) for tag in plain)
    return b"II*\x00" + struct.pack("<IH", 8, len(plain) + 1) + entries + b"\0\0\0\0"


def jpeg_segments(marker: int, prefix: bytes, payload: bytes, data: bytes) -> bytes:
    """``data`` (a JPEG) with ``payload`` inserted after its start in segments of type ``marker``
    (0xE1 is APP1), each of them ``prefix`` then as much of the payload as a segment holds."""
    room = 0xFFFF - 2 - len(prefix)
    pieces = [prefix + payload[i : i + room] for i in range(0, len(payload), room)]
    segments = b"".join(bytes([0xFF, marker]) + struct.pack(">H", len(piece) + 2) + piece for piece in pieces)
    return data[:2] + segments + data[2:]


def exif_png(tags: int = 0xFFFF) -> bytes:
    """A white 64² PNG whose eXIf chunk holds ``exif_flood(tags)``."""
    return png(64, 64, 0, (b"\0" + b"\xff" * 64) * 64, before=png_chunk(b"eXIf", exif_flood(tags)))


def exif_webp(tags: int = 0xFFFF) -> bytes:
    """A white 64² WebP whose EXIF chunk holds ``exif_flood(tags)``."""
    return encode(Image.new("L", (64, 64), 255), "WEBP", exif=exif_flood(tags))


def exif_jpeg(tags: int = 0xFFFF) -> bytes:
    """A white 64² JPEG whose APP1 segments hold ``exif_flood(tags)``: Pillow joins every APP1
    that starts "Exif" into one EXIF block, so the 64 KiB of one segment is no bound."""
    return jpeg_segments(0xE1, b"Exif\0\0", exif_flood(tags), encode(Image.new("L", (64, 64), 255), "JPEG"))


def photoshop_jpeg(size: int) -> bytes:
    """A white 64² JPEG with about ``size`` bytes of Photoshop (APP13) segments, each full of the
    smallest image resource blocks (12 bytes): Pillow reads them one by one in Python."""
    blocks = b"8BIM\x04\x04\0\0\0\0\0\0" * ((0xFFFF - 2 - 14) // 12)  # whole blocks per segment
    segment = b"\xff\xed" + struct.pack(">H", 2 + 14 + len(blocks)) + b"Photoshop 3.0\0" + blocks
    data = encode(Image.new("L", (64, 64), 255), "JPEG")
    return data[:2] + segment * (size // len(segment)) + data[2:]


# Adam7's seven passes: first column and row, then column and row steps.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by PNG colour type


def zero_png(side: int, bit_depth: int = 8, colour_type: int = 0, interlaced: bool = False) -> bytes:
    """A ``side``² PNG of zeros (black, or transparent), of any bit depth, colour type and
    interlacing: its image data compresses about a thousandfold, built without holding it."""
    compressor, pieces = zlib.compressobj(9), []
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        width, height = -(-(side - x0) // dx), -(-(side - y0) // dy)
        if width > 0 and height > 0:
            row = bytes(1 + -(-width * _CHANNELS[colour_type] * bit_depth // 8))  # filter 0, zeros
            for start in range(0, height, 256):
                pieces.append(compressor.compress(row * min(256, height - start)))
    pieces.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, bit_depth, colour_type, 0, 0, int(interlaced))
    image_data = png_chunk(b"IDAT", b"".join(pieces))
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + image_data + png_chunk(b"IEND")


def many_frames_gif(frames: int) -> bytes:
    images = [Image.new("L", (64, 64), i % 256) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:])


def jpeg_with_empty_comments(count: int) -> bytes:
    """A tiny JPEG with ``count`` empty comment segments before its tables."""
    data = encode(Image.new("L", (8, 8), 255), "JPEG")
    return data[:2] + b"\xff\xfe\x00\x02" * count + data[2:]


def progressive_jpeg_scans(side: int, scans: int, max_bytes: int) -> bytes:
    """A blank grey ``side``² progressive JPEG whose last scan (an AC refinement of a dozen
    bytes: one pass of libjpeg over every block) is repeated until the file has ``scans`` scans
    or is ``max_bytes`` long."""
    data = encode(Image.new("L", (side, side), 255), "JPEG", progressive=True)
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    repeats = min(scans - data.count(b"\xff\xda"), (max_bytes - len(data)) // len(last_scan))
    return data[:-2] + last_scan * repeats + data[-2:]


def gif_with_extensions(extension: bytes, count: int) -> bytes:
    """A tiny GIF whose image follows ``count`` copies of ``extension`` (introducer to terminator)."""
    data = encode(Image.new("P", (8, 8), 0), "GIF")
    colour_table_end = 13 + 3 * 2 ** ((data[10] & 7) + 1)
    return data[:colour_table_end] + extension * count + data[colour_table_end:]


def tiff_strip_per_row(rows: int) -> bytes:
    """A white TIFF 1 px wide and ``rows`` tall, stored one strip per row."""
    return encode(Image.new("L", (1, rows), 255), "TIFF", tiffinfo={278: 1})  # RowsPerStrip


def rle_bmp_one_pixel_rows(side: int) -> bytes:
    """A ``side``² 8-bit run-length BMP whose every row is one pixel then end-of-line: the
    decoder pads each row pixel by pixel."""
    codes = b"\x01\xff\x00\x00" * side + b"\x00\x01"  # run of 1, end of line...; end of bitmap
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 8, 1, len(codes), 2835, 2835, 256, 0)
    offset = 14 + len(info) + 256 * 4  # file header, info header, palette
    return b"BM" + struct.pack("<IHHI", offset + len(codes), 0, 0, offset) + info + bytes(1024) + codes


def _bar_digit() -> list[list[int]]:
    """A 28x28 MNIST-form "1": a vertical bar of ink, 0-255."""
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:24, 13:16] = 255
    return pixels.tolist()


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "hostile") -> bytes:
    """A multipart body of (name, filename or None, data) parts."""
    lines = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        lines.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(lines) + f"--{boundary}--\r\n".encode()


def chunked(payload: bytes, size: int) -> bytes:
    """``payload`` in chunked transfer encoding, ``size`` bytes a chunk."""
    pieces = [b"%x\r\n%s\r\n" % (len(payload[i : i + size]), payload[i : i + size])
              for i in range(0, len(payload), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


MULTIPART = "multipart/form-data; boundary=hostile"
_REFUSED = frozenset({400, 413, 422})


def cases(
    max_image_pixels: int = 4096 * 4096,
    max_batch_size: int = 32,
    max_content_length: int = 5 * 1024 * 1024,
    max_request_pixels: int = 2 * 4096 * 4096,
) -> list[HostileCase]:
    """The corpus, for a server with these limits (the defaults are the shipped ones): each body
    stays under the body limit, so that the case tests what lies past it. The cases for
    /predict/number are ``harness.hostile_numbers``'s."""
    from harness.hostile_numbers import number_cases  # it builds on HostileCase, defined here

    side = int(max_image_pixels**0.5)
    room = max_content_length - 1024  # for the PNG's header, image data and end
    iccp_size = len(iccp_png(1)) - len(iccp_png(0))
    blank_webp = encode(Image.new("L", (side, side), 255), "WEBP", lossless=True)
    small_png = encode(Image.new("L", (28, 28), 255), "PNG")
    strip_rows = min(300_000, room // 9, max_image_pixels)  # offset, byte count, pixel per row
    batch_side = int((max_request_pixels / max_batch_size) ** 0.5)  # a full batch within the budget
    exif_tags = min(0xFFFF, room // 12)  # 12 bytes a tag
    blank_png = encode(Image.new("L", (side, side), 255), "PNG")
    # The largest WebP (12 bytes a pixel) and 16-bit RGBA PNG (8) the decoding budget (4 bytes a
    # pixel at the pixel limit) allows, and as many of them as a request may decode.
    webp_side, deep_side = int((max_image_pixels / 3) ** 0.5), int((max_image_pixels / 2) ** 0.5)
    webp_batch, deep_batch = max_request_pixels // webp_side**2, max_request_pixels // deep_side**2
    full_batch = max_request_pixels // max_image_pixels  # images at the pixel limit a request may decode
    batch_exif_tags = min(0xFFFF, (room // 6 - 512) // 12)  # room for each part's PNG and headers
    bar, every_extra = _bar_digit(), "feature_maps,saliency,layers,steps"
    return [
        HostileCase("tall Paeth PNG, 300,000 rows", "/predict", "image/png",
                    lambda: tall_paeth_png(300_000), _REFUSED),
        HostileCase("tall Paeth PNG, 1,000,000 rows", "/predict", "image/png",
                    lambda: tall_paeth_png(1_000_000), _REFUSED),
        HostileCase("wide PNG, 16,777,216 x 1, one Paeth row", "/predict", "image/png",
                    lambda: wide_paeth_png(max_image_pixels), _REFUSED),
        HostileCase("PNG at the pixel limit, blank", "/predict", "image/png",
                    lambda: encode(Image.new("L", (side, side), 255), "PNG"), _REFUSED | {200}),
        HostileCase("PNG of noise, 2048 x 2048 (4 MiB)", "/predict", "image/png",
                    lambda: noise_png(2048), _REFUSED | {200}),
        HostileCase("PNG declaring 20000 x 20000 (Pillow's bomb check)", "/predict", "image/png",
                    lambda: png(20_000, 20_000, 0, b""), frozenset({413}), "image_too_large"),
        HostileCase("lossless WebP at the pixel limit, blank", "/predict", "image/webp",
                    lambda: blank_webp, frozenset({413}), "image_too_large"),
        HostileCase("JPEG at the pixel limit, noise", "/predict", "image/jpeg",
                    lambda: encode(Image.fromarray(np.random.default_rng(1).integers(
                        0, 256, (side, side), dtype=np.uint8)), "JPEG", quality=5), _REFUSED | {200}),
        HostileCase(f"batch of {webp_batch} lossless WebPs {webp_side} x {webp_side}, as many as a request "
                    "may decode", "/predict/batch", MULTIPART,
                    lambda: multipart([("image", f"{i}.webp", encode(Image.new("L", (webp_side,) * 2, 255),
                                                                     "WEBP", lossless=True))
                                       for i in range(webp_batch)]), frozenset({200})),
        HostileCase(f"batch of {max_batch_size} blank PNGs at the pixel limit", "/predict/batch",
                    MULTIPART, lambda: multipart([("image", "blank.png", blank_png)] * max_batch_size),
                    frozenset({413}), "too_many_pixels"),
        HostileCase(f"{room // iccp_size:,} iCCP chunks of 1 MiB each", "/predict", "image/png",
                    lambda: iccp_png(room // iccp_size), frozenset({413}), "image_too_large"),
        HostileCase(f"{room // 12:,} empty IDAT chunks, Average row", "/predict", "image/png",
                    lambda: empty_idat_png(room // 12), frozenset({413}), "image_too_large"),
        HostileCase(f"{room // 12:,} unknown chunks", "/predict", "image/png",
                    lambda: unknown_chunks_png(room // 12), frozenset({413}), "image_too_large"),
        HostileCase("GIF of 2,000 frames", "/predict", "image/gif",
                    lambda: many_frames_gif(2_000), _REFUSED | {200}),
        HostileCase(f"JPEG with {room // 4:,} empty comments", "/predict", "image/jpeg",
                    lambda: jpeg_with_empty_comments(room // 4), frozenset({413}), "image_too_large"),
        HostileCase(f"progressive JPEG {side} x {side}, 32 scans", "/predict", "image/jpeg",
                    lambda: progressive_jpeg_scans(side, 32, room), frozenset({413}), "image_too_large"),
        HostileCase(f"progressive JPEG {deep_side} x {deep_side}, 32 scans", "/predict", "image/jpeg",
                    lambda: progressive_jpeg_scans(deep_side, 32, room), _REFUSED | {200}),
        HostileCase(f"progressive JPEG {side} x {side}, scans to the body limit", "/predict",
                    "image/jpeg", lambda: progressive_jpeg_scans(side, room, room),
                    frozenset({413}), "image_too_large"),
        HostileCase(f"batch of {max_batch_size} progressive JPEGs {batch_side} x {batch_side}, 32 scans",
                    "/predict/batch", MULTIPART,
                    lambda: multipart([("image", f"{i}.jpg", progressive_jpeg_scans(batch_side, 32, room))
                                       for i in range(max_batch_size)]), frozenset({200})),
        HostileCase(f"GIF with {room // 5:,} one-byte comments", "/predict", "image/gif",
                    lambda: gif_with_extensions(b"!\xfe\x01x\x00", room // 5),
                    frozenset({413}), "image_too_large"),
        HostileCase(f"GIF with {room // 3:,} empty comments", "/predict", "image/gif",
                    lambda: gif_with_extensions(b"!\xfe\x00", room // 3),
                    frozenset({413}), "image_too_large"),
        # Metadata that Pillow parses tag by tag, and encodings that cost more per pixel.
        HostileCase(f"PNG with {exif_tags:,} EXIF tags (eXIf)", "/predict", "image/png",
                    lambda: exif_png(exif_tags), frozenset({413}), "image_too_large"),
        HostileCase(f"WebP with {exif_tags:,} EXIF tags", "/predict", "image/webp",
                    lambda: exif_webp(exif_tags), frozenset({413}), "image_too_large"),
        HostileCase(f"JPEG with {exif_tags:,} EXIF tags over APP1 segments", "/predict", "image/jpeg",
                    lambda: exif_jpeg(exif_tags), frozenset({413}), "image_too_large"),
        HostileCase("JPEG with one full APP1 segment of EXIF tags", "/predict", "image/jpeg",
                    lambda: exif_jpeg((0xFFFF - 2 - 6 - 14) // 12), _REFUSED | {200}),
        HostileCase(f"batch of 6 PNGs with {batch_exif_tags:,} EXIF tags each", "/predict/batch", MULTIPART,
                    lambda: multipart([("image", f"{i}.png", exif_png(batch_exif_tags)) for i in range(6)]),
                    frozenset({200})),
        HostileCase(f"JPEG with {room // 1024:,} KiB of Photoshop resource blocks", "/predict", "image/jpeg",
                    lambda: photoshop_jpeg(room), frozenset({413}), "image_too_large"),
        HostileCase(f"PNG 16-bit RGBA Adam7 {side} x {side}, zeros", "/predict", "image/png",
                    lambda: zero_png(side, 16, 6, interlaced=True), frozenset({413}), "image_too_large"),
        HostileCase(f"PNG 8-bit RGBA {side} x {side}, zeros", "/predict", "image/png",
                    lambda: zero_png(side, 8, 6), _REFUSED | {200}),
        HostileCase(f"batch of {full_batch} PNGs 8-bit RGBA {side} x {side}, zeros", "/predict/batch",
                    MULTIPART, lambda: multipart([("image", "rgba.png", zero_png(side, 8, 6))] * full_batch),
                    frozenset({200})),
        HostileCase(f"PNG 1-bit grey {side} x {side}, zeros", "/predict", "image/png",
                    lambda: zero_png(side, 1, 0), _REFUSED | {200}),
        HostileCase(f"GIF {side} x {side}, blank", "/predict", "image/gif",
                    lambda: encode(Image.new("P", (side, side), 0), "GIF"), _REFUSED | {200}),
        HostileCase(f"lossy WebP {side} x {side}, blank", "/predict", "image/webp",
                    lambda: encode(Image.new("L", (side, side), 255), "WEBP", quality=50),
                    frozenset({413}), "image_too_large"),
        HostileCase(f"lossy WebP {side} x {side}, noise", "/predict", "image/webp",
                    lambda: encode(noise(side), "WEBP", quality=0), frozenset({413}), "image_too_large"),
        HostileCase(f"lossy WebP {webp_side} x {webp_side}, noise", "/predict", "image/webp",
                    lambda: encode(noise(webp_side), "WEBP", quality=10), _REFUSED | {200}),
        HostileCase(f"PNG 16-bit RGBA {deep_side} x {deep_side}, zeros", "/predict", "image/png",
                    lambda: zero_png(deep_side, 16, 6), _REFUSED | {200}),
        HostileCase(f"batch of {deep_batch} PNGs 16-bit RGBA {deep_side} x {deep_side}, zeros",
                    "/predict/batch", MULTIPART,
                    lambda: multipart([("image", "deep.png", zero_png(deep_side, 16, 6))] * deep_batch),
                    frozenset({200})),
        # Formats no longer accepted, as built to cost a decoder once: refused from their signature.
        HostileCase(f"TIFF 1 x {strip_rows:,}, one strip per row", "/predict", MULTIPART,
                    lambda: multipart([("image", "rows.tiff", tiff_strip_per_row(strip_rows))]),
                    frozenset({400}), "invalid_image"),
        HostileCase(f"run-length BMP {side} x {side}, one pixel per row", "/predict", MULTIPART,
                    lambda: multipart([("image", "rows.bmp", rle_bmp_one_pixel_rows(side))]),
                    frozenset({400}), "invalid_image"),
        HostileCase("1,001 multipart parts", "/predict/batch", MULTIPART,
                    lambda: multipart([("include", None, b"feature_maps")] * 1_001),
                    frozenset({400}), "too_many_parts"),
        HostileCase("multipart cut short", "/predict", MULTIPART,
                    lambda: multipart([("image", "a.png", small_png)])[:-12],
                    frozenset({400}), "invalid_multipart"),
        HostileCase("JSON nested 100,000 deep", "/predict", "application/json",
                    lambda: b"[" * 100_000 + b"]" * 100_000, frozenset({400}), "invalid_json"),
        HostileCase(f"JSON of {room // 3:,} empty objects in a batch", "/predict/batch", "application/json",
                    lambda: b'{"images":[' + b"{}," * (room // 3) + b"{}]}",
                    frozenset({413}), "batch_too_large"),
        HostileCase(f"JSON of {room // 5:,} tiny pixel rows", "/predict", "application/json",
                    lambda: json.dumps({"pixels": [[0]] * (room // 5)}).encode(),
                    frozenset({400}), "invalid_json"),
        HostileCase(f"JSON of {room // 7:,} numbers 1e308", "/predict", "application/json",
                    lambda: json.dumps({"pixels": [1e308] * (room // 7)}, separators=(",", ":")).encode(),
                    frozenset({400}), "invalid_pixels"),
        # The costliest lesson (include=gradients): the most steps at the highest rate, every extra.
        HostileCase("include=gradients, 20 steps at learning rate 1, every extra",
                    f"/predict?include=gradients,{every_extra}&label=9&learning_rate=1&steps=20",
                    "application/json", lambda: json.dumps({"pixels": bar}).encode(), frozenset({200})),
        HostileCase("include=gradients in a batch", "/predict/batch?include=gradients&steps=20",
                    "application/json",
                    lambda: json.dumps({"images": [{"pixels": bar}] * max_batch_size}).encode(),
                    frozenset({400}), "invalid_parameter"),
        # Framing only a real server sees.
        HostileCase("chunked: bad chunk size", "/predict", "image/png",
                    lambda: b"zz\r\nabc\r\n0\r\n\r\n", frozenset({400}), raw_chunked=True),
        HostileCase("chunked: missing CRLF after data", "/predict", "image/png",
                    lambda: b"3\r\nabcXY0\r\n\r\n", frozenset({400}), raw_chunked=True),
        HostileCase("chunked: bad extension", "/predict", "image/png",
                    lambda: b"3;\x01=\r\nabc\r\n0\r\n\r\n", frozenset({400}), raw_chunked=True),
        HostileCase("chunked: size line over 8 KiB", "/predict", "image/png",
                    lambda: b"3;" + b"a" * 9000 + b"\r\nabc\r\n0\r\n\r\n", frozenset({400}),
                    raw_chunked=True),
        HostileCase("chunked: over 100 trailers", "/predict", "image/png",
                    lambda: b"3\r\nabc\r\n0\r\n" + b"X-T: 1\r\n" * 120 + b"\r\n", frozenset({400}),
                    raw_chunked=True),
        HostileCase("chunked: 1 MiB in 1-byte chunks", "/predict", "image/png",
                    lambda: chunked(b"\x00" * (1 << 20), 1), frozenset({400}), raw_chunked=True),
        # Multipart framing: part headers Werkzeug would parse a character at a time.
        HostileCase(f"multipart part with a {room // 1024:,} KiB filename", "/predict", MULTIPART,
                    lambda: multipart([("image", "a" * room, small_png)]),
                    frozenset({400}), "invalid_multipart"),
        HostileCase(f"multipart part with {room // 8300:,} headers of 8 KB", "/predict", MULTIPART,
                    lambda: b"--hostile\r\n" + (b"X-Note: " + b"v" * 8190 + b"\r\n") * (room // 8300)
                    + b'Content-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
                    + small_png + b"\r\n--hostile--\r\n", frozenset({400}), "invalid_multipart"),
        HostileCase(f"multipart boundary {room // 12:,} times inside a part", "/predict/batch", MULTIPART,
                    lambda: multipart([("image", "a.png", small_png + b"x--hostile\r\n" * (room // 12))]),
                    frozenset({400}), "too_many_parts"),
        *number_cases(max_image_pixels),
    ]


def send(port: int, case: HostileCase, body: bytes | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send ``case`` to 127.0.0.1:``port`` on a new connection: (status, response body).

    A raw-chunked case goes out byte for byte as built; the rest with a Content-Length.
    """
    body = case.build() if body is None else body
    framing = "Transfer-Encoding: chunked" if case.raw_chunked else f"Content-Length: {len(body)}"
    head = (f"POST {case.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {case.content_type}\r\n"
            f"{framing}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        # The server may answer and close before reading all of it: its answer is still read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head + body)
        response = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                response += chunk
    status_line, _, rest = response.partition(b"\r\n")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, rest.partition(b"\r\n\r\n")[2]
