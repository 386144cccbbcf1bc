"""Decoding: files in, images out; a file that declares too much is refused from its header,
before any pixel is decoded, with a message naming our limit."""

from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFile

from app import preprocessing
from app.preprocessing import ImageTooLarge, InvalidImage, PreprocessingError, decode, open_image, to_mnist
from harness.drawings import LIMIT, paint, seven_coverage, similarity
from harness.hostile import rle_bmp_one_pixel_rows, tiff_strip_per_row
from harness.images import encode, png, png_chunk
from harness.preprocessing import load_image, preprocess


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width×height, followed by far too little image data."""
    return png(width, height, rows=b"\0" * 16)


def gif_with_comments(sub_blocks: int, comments: int = 1) -> bytes:
    """A GIF whose first image follows ``comments`` comments of ``sub_blocks`` full sub-blocks."""
    data = encode(Image.new("P", (8, 8), 0), "GIF")
    colour_table_end = 13 + 3 * 2 ** ((data[10] & 7) + 1)
    comment = b"!\xfe" + (b"\xff" + b"x" * 255) * sub_blocks + b"\0"
    return data[:colour_table_end] + comment * comments + data[colour_table_end:]


def jpeg_with_comments(count: int, stray: bytes = b"") -> bytes:
    """A small JPEG with ``count`` empty comment segments (and ``stray`` bytes) after its start."""
    data = encode(paint(seven_coverage(64)), "JPEG")
    return data[:2] + b"\xff\xfe\x00\x02" * count + stray + data[2:]


def progressive_jpeg(side: int, scans: int, after_end: bytes = b"") -> bytes:
    """A blank grey side×side progressive JPEG whose last scan is repeated until it has
    ``scans`` scans, with ``after_end`` after its end of image."""
    data = encode(Image.new("L", (side, side), 255), "JPEG", progressive=True)
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    return data[:-2] + last_scan * (scans - data.count(b"\xff\xda")) + data[-2:] + after_end


@pytest.fixture()
def no_decoding(monkeypatch):
    """Any attempt to load pixels fails the test: what is refused is refused from the header."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.fixture()
def no_pillow(monkeypatch):
    """Any attempt to parse the file with Pillow fails the test: refused from our own walk of
    the chunk headers, before Pillow reads (and inflates) a chunk."""

    def refuse(*args, **kwargs):
        raise AssertionError("Pillow opened the file")

    monkeypatch.setattr(Image, "open", refuse)


# ---------------------------------------------------------------------------------------------
# Pixel limits


# Pillow warns about the 12000×12000 header before ours refuses it: expected here.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 12_000), (5000, 4000), (16_777_217, 1)])
def test_a_declared_size_over_the_limit_is_refused_before_decoding(no_decoding, size):
    with pytest.raises(ImageTooLarge, match="the limit is 16777216"):
        open_image(png_header_claiming(*size), max_pixels=4096 * 4096)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pillows_own_bomb_check_is_reported_with_our_limit():
    # Pillow refuses 100,000² itself, before our check; the message is still about our limit.
    with pytest.raises(ImageTooLarge) as caught:
        open_image(png_header_claiming(100_000, 100_000), max_pixels=1000)
    assert "1000" in str(caught.value)
    assert "178956970" not in str(caught.value) and "178,956,970" not in str(caught.value)


def test_pillows_bomb_warning_raised_as_an_error_is_still_image_too_large():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLarge, match="16777216"):
            open_image(png_header_claiming(12_000, 12_000), max_pixels=4096 * 4096)


def test_an_image_exactly_at_the_limit_is_accepted_and_one_pixel_more_is_not():
    data = encode(paint(seven_coverage(100)))
    assert load_image(data, max_pixels=100 * 100).size == (100, 100)
    with pytest.raises(ImageTooLarge, match="10000 pixels; the limit is 9999"):
        load_image(data, max_pixels=100 * 100 - 1)


# ---------------------------------------------------------------------------------------------
# Declared structure: PNG chunks, JPEG segments and scans, GIF blocks


def _ztxt(i: int) -> bytes:
    return png_chunk(b"zTXt", b"note%d\0\0" % i + zlib.compress(b"x" * 1000))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(png(before=png_chunk(b"abCd") * 4097), "4096 chunks", id="too-many-unknown-chunks"),
        pytest.param(png(after=png_chunk(b"IDAT") * 4097), "4096 chunks", id="too-many-empty-idat-chunks"),
        pytest.param(
            png(before=png_chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * (1 << 20))) * 17),
            "compressed",
            id="too-many-colour-profiles",
        ),
        pytest.param(png(after=b"".join(_ztxt(i) for i in range(17))), "compressed", id="too-many-ztxt"),
        pytest.param(
            png(before=png_chunk(b"tEXt", b"k\0" + b"x" * (2 << 20))), "ancillary", id="too-much-text"
        ),
        # Each comment counts once, and each of its sub-blocks once more.
        pytest.param(gif_with_comments(1024), "1024 blocks", id="gif-comment-too-long"),
        pytest.param(gif_with_comments(0, 1025), "1024 blocks", id="gif-too-many-empty-comments"),
        pytest.param(jpeg_with_comments(4100), "4096 segments", id="jpeg-too-many-segments"),
        pytest.param(jpeg_with_comments(1, b"\0" * 5000), "4096 segments", id="jpeg-stray-bytes"),
    ],
)
def test_a_file_declaring_too_many_chunks_or_blocks_is_refused_from_its_headers(
    no_pillow, data, message
):
    with pytest.raises(ImageTooLarge, match=message):
        open_image(data, LIMIT)


def test_a_png_within_the_chunk_limits_is_read():
    rows = b"".join(b"\0" + bytes([255 - 40 * (y % 2)]) * 4 for y in range(4))
    data = png(4, 4, rows=rows, before=b"".join(_ztxt(i) for i in range(16)), after=png_chunk(b"abCd") * 100)
    assert np.array_equal(np.asarray(load_image(data, LIMIT))[:, 0], [255, 215, 255, 215])


def test_an_animated_png_with_megabytes_of_later_frames_is_read_from_its_first_frame():
    rng = np.random.default_rng(3)
    first = Image.new("L", (1024, 1024), 200)
    later = [Image.fromarray(rng.integers(0, 256, (1024, 1024), dtype=np.uint8)) for _ in range(3)]
    data = encode(first, "PNG", save_all=True, append_images=later)
    assert len(data) > 3 * 1024 * 1024
    assert np.asarray(load_image(data, LIMIT)).max() == 200


def test_image_data_split_into_many_idat_chunks_is_read():
    image = paint(np.random.default_rng(2).random((64, 64)).astype(np.float32))
    data = encode(image)
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    stream = data[start + 8 : start + 8 + length]
    pieces = b"".join(png_chunk(b"IDAT", stream[i : i + 16]) for i in range(0, len(stream), 16))
    split = data[:start] + pieces + data[start + 12 + length :]
    assert split.count(b"IDAT") > 100
    assert np.array_equal(np.asarray(load_image(split, LIMIT)), np.asarray(image))


def test_a_gif_comment_and_jpeg_segments_within_the_limits_are_read():
    assert load_image(gif_with_comments(1023), LIMIT).size == (8, 8)
    assert load_image(gif_with_comments(0, 1024), LIMIT).size == (8, 8)
    assert load_image(jpeg_with_comments(2000), LIMIT).size == (64, 64)


@pytest.mark.parametrize(
    "options",
    [
        {"progressive": True},
        {"icc_profile": bytes(200_000)},  # split over several APP2 segments
        {"exif": Image.Exif().tobytes(), "comment": b"scanned"},
        {"subsampling": 0, "qtables": "web_high"},
    ],
    ids=["progressive", "large-colour-profile", "exif-and-comment", "other-tables"],
)
def test_jpeg_variants_pass_the_segment_walk(reference, options):
    data = encode(
        paint(seven_coverage(), paper=(255, 255, 255), ink=(0, 0, 0)), "JPEG", quality=90, **options
    )
    assert similarity(preprocess(data, LIMIT), reference) > 0.95


@pytest.mark.parametrize("side", [4096, 64])
def test_a_jpeg_of_more_than_32_scans_is_refused_before_pillow_at_any_size(no_pillow, side):
    # libjpeg passes over every block once per scan; in a batch, small images add up.
    with pytest.raises(ImageTooLarge, match="more than 32 times"):
        open_image(progressive_jpeg(side, 33), LIMIT)


def test_a_scan_of_three_colours_counts_three_passes(no_pillow):
    data = encode(Image.new("RGB", (64, 64), "white"), "JPEG", progressive=True)
    first_scan = data[data.index(b"\xff\xda") : data.index(b"\xff", data.index(b"\xff\xda") + 2)]
    assert first_scan[4] == 3  # the DC scan of Y, Cb and Cr together
    with pytest.raises(ImageTooLarge, match="more than 32 times"):
        open_image(data[:-2] + first_scan * 8 + data[-2:], LIMIT)  # 18 scans: 14 + 24 passes


def test_a_jpeg_of_many_segments_between_its_scans_is_refused_before_pillow(no_pillow):
    data = progressive_jpeg(8, 6)
    comments = b"\xff\xfe\x00\x02" * 1025
    with pytest.raises(ImageTooLarge, match="more than 1024 scans and segments"):
        open_image(data[:-2] + comments + data[-2:], LIMIT)


def test_a_progressive_jpeg_of_32_scans_is_read():
    assert load_image(progressive_jpeg(256, 32), LIMIT).size == (256, 256)


def test_bytes_after_a_jpegs_end_of_image_are_not_counted_as_its_scans():
    # An MPO's second picture or a phone's appended video follows the first end of image.
    data = progressive_jpeg(64, 6, after_end=b"\xff\xda\x00\x08" * 5000)
    assert load_image(data, LIMIT).size == (64, 64)


# ---------------------------------------------------------------------------------------------
# Frames, rotation, reduced decoding


def test_open_image_reads_only_the_header(no_decoding):
    image = open_image(encode(paint(seven_coverage(60))), LIMIT)
    assert image.size == (60, 60) and image.format == "PNG"


def test_load_image_is_open_image_then_decode(reference):
    data = encode(paint(seven_coverage(), paper=(255, 255, 255), ink=(0, 0, 0)))
    decoded = decode(open_image(data, LIMIT))
    assert np.array_equal(np.asarray(decoded), np.asarray(load_image(data, LIMIT)))
    assert np.array_equal(to_mnist(decoded), reference)
    assert np.array_equal(preprocess(data, LIMIT), reference)


def test_exif_rotation_is_honoured(reference):
    upright = paint(seven_coverage())
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the stored pixels are turned the other way
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    loaded = load_image(encode(stored, "JPEG", quality=92, exif=exif.tobytes()), LIMIT)
    assert loaded.size == upright.size
    assert similarity(to_mnist(loaded), reference) > 0.95


def _second_frame_with_a_bar(first: Image.Image) -> Image.Image:
    second = first.copy()
    ImageDraw.Draw(second).rectangle((20, 120, 260, 160), fill=1 if first.mode == "P" else (0, 0, 0))
    return second


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_an_animation_or_multi_page_file_is_read_from_its_first_frame(reference, fmt):
    first = paint(seven_coverage())
    if fmt == "GIF":
        first = first.quantize(8)
    data = encode(first, fmt, save_all=True, append_images=[_second_frame_with_a_bar(first)] * 3)
    assert similarity(to_mnist(load_image(data, LIMIT)), reference) > 0.95


def test_large_jpeg_is_decoded_at_a_reduced_scale(reference):
    page = np.zeros((3000, 4000), np.float32)
    page[1000:2120, 1500:2620] = seven_coverage(1120)
    loaded = load_image(encode(paint(page), "JPEG", quality=80), LIMIT)
    assert max(loaded.size) <= 2048
    assert similarity(to_mnist(loaded), reference) > 0.9


# ---------------------------------------------------------------------------------------------
# Not an image


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_file_is_an_invalid_image(fmt, keep):
    image = paint(np.random.default_rng(1).random((120, 120)).astype(np.float32))
    data = encode(image if fmt != "GIF" else image.quantize(64), fmt)
    with pytest.raises(InvalidImage):
        load_image(data[: int(len(data) * keep)], LIMIT)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"\x89PNG\r\n\x1a\n",
        b"%PDF-1.4 ...",
        b"GIF89a",
        png_header_claiming(10, 10)[:40],
        png(before=struct.pack(">I", 2**32 - 1) + b"tEXt" + b"k\0text"),  # longer than the file
    ],
    ids=repr,
)
def test_junk_bytes_are_an_invalid_image(data):
    with pytest.raises(InvalidImage):
        load_image(data, LIMIT)


@pytest.mark.parametrize("data", ["a string", None, 42, [1, 2, 3]], ids=repr)
def test_data_that_is_not_bytes_is_an_invalid_image(data):
    with pytest.raises(InvalidImage, match="must be bytes"):
        open_image(data, LIMIT)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PPM", "TGA", "PCX", "ICO"])
def test_formats_outside_the_accepted_list_are_refused(fmt):
    with pytest.raises(InvalidImage, match=r"accepted formats: PNG, JPEG, WebP, GIF\)"):
        open_image(encode(paint(seven_coverage(60)), fmt), LIMIT)


@pytest.mark.parametrize(
    "data",
    [
        rle_bmp_one_pixel_rows(2048),  # Pillow's run-length decoder pads each row pixel by pixel
        tiff_strip_per_row(5000),  # Pillow decodes each strip in a Python loop
        encode(paint(seven_coverage(60)), "TIFF", save_all=True, append_images=[paint(seven_coverage(60))]),
    ],
    ids=["run-length-bmp", "tiff-strip-per-row", "multi-page-tiff"],
)
def test_a_bmp_or_tiff_built_to_cost_is_refused_as_an_invalid_image_before_decoding(no_decoding, data):
    with pytest.raises(InvalidImage, match="accepted formats"):
        open_image(data, LIMIT)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow on junk TIFF headers
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(
        [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBP", b"II*\0"]
    ),
    body=st.binary(max_size=400),
)
def test_random_bytes_never_escape_as_anything_but_a_preprocessing_error(prefix, body):
    try:
        result = preprocess(prefix + body, LIMIT)
    except PreprocessingError:
        return
    assert result.shape == (28, 28) and result.dtype == np.float32


@pytest.mark.parametrize("name", ["InvalidImage", "ImageTooLarge", "InvalidPixels", "NoDigitFound"])
def test_preprocessing_errors_are_value_errors(name):
    # Each also carries its own API code since issue 18 (tests/app/test_errors.py checks them).
    error = getattr(preprocessing, name)("message")
    assert isinstance(error, PreprocessingError) and isinstance(error, ValueError)
