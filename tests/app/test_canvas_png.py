"""The canvas-export reader: the alpha plane of simple RGBA PNGs, exactly as Pillow decodes it,
and None for anything it does not fully understand."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app import canvas_png, preprocessing
from app.canvas_png import read_alpha
from app.preprocessing import NoDigitFound, PreprocessingError, load_image, preprocess, to_mnist
from tests.app.conftest import draw_digit_seven
from tests.conftest import ROOT

LIMIT = 4096 * 4096
CHROMIUM_SEVEN = ROOT / "bench" / "canvas-seven.png"  # what the page sent, captured from Chromium


# --- a PNG writer with a chosen filter for each row -----------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(pixels: np.ndarray, filters: list[int]) -> bytes:
    """The PNG scanlines of ``pixels`` (H, W, channels) uint8, row y filtered with filters[y]."""
    height, width, channels = pixels.shape
    rows = pixels.reshape(height, width * channels).astype(np.int64)
    out = bytearray()
    previous = np.zeros(width * channels, np.int64)
    for row, kind in zip(rows, filters, strict=True):
        left = np.concatenate([np.zeros(channels, np.int64), row[:-channels]])
        upper_left = np.concatenate([np.zeros(channels, np.int64), previous[:-channels]])
        if kind == 0:
            predicted = np.zeros_like(row)
        elif kind == 1:
            predicted = left
        elif kind == 2:
            predicted = previous
        elif kind == 3:
            predicted = (left + previous) // 2
        else:
            predicted = np.array(
                [_paeth(a, b, c) for a, b, c in zip(left, previous, upper_left, strict=True)]
            )
        out.append(kind)
        out += ((row - predicted) % 256).astype(np.uint8).tobytes()
        previous = row
    return bytes(out)


def chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind)) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_bytes(
    pixels: np.ndarray,
    filters: list[int] | None = None,
    *,
    colour_type: int | None = None,
    depth: int = 8,
    interlace: int = 0,
    split: int | None = None,
    extra: list[bytes] = (),
    stream: bytes | None = None,
) -> bytes:
    """A PNG of ``pixels`` (H, W, 4 or 2) uint8: IHDR, ``extra`` chunks, the IDAT data (``stream``
    or the filtered rows, zlib-compressed) in chunks of ``split`` bytes, IEND."""
    height, width, channels = pixels.shape
    colour_type = {4: 6, 2: 4}[channels] if colour_type is None else colour_type
    filters = [2] * height if filters is None else filters
    if stream is None:
        stream = zlib.compress(filter_rows(pixels, filters), 6)
    split = split or len(stream)
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    parts = [chunk(b"IDAT", stream[i : i + split]) for i in range(0, len(stream), split)]
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + b"".join(extra)
        + b"".join(parts)
        + chunk(b"IEND", b"")
    )


def pillow_alpha(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).getchannel("A"))


def drawing(height=40, width=50, seed=0, channels=4) -> np.ndarray:
    """Ink in alpha on a transparent canvas: a soft blob, with arbitrary colour under it."""
    rng = np.random.default_rng(seed)
    pixels = np.zeros((height, width, channels), np.uint8)
    rows, cols = np.indices((height, width))
    blob = np.exp(-(((rows - height / 2) / (height / 5)) ** 2) - ((cols - width / 2) / (width / 6)) ** 2)
    pixels[..., -1] = np.clip(blob * 300, 0, 255).astype(np.uint8)
    pixels[..., :-1] = rng.integers(0, 256, (height, width, channels - 1))
    return pixels


# --- what it reads ----------------------------------------------------------------------------


def test_a_chromium_canvas_export_is_read_exactly_as_pillow_decodes_it():
    data = CHROMIUM_SEVEN.read_bytes()
    alpha = read_alpha(data, LIMIT)
    assert alpha is not None and alpha.shape == (280, 280) and alpha.dtype == np.uint8
    np.testing.assert_array_equal(alpha, pillow_alpha(data))


@pytest.mark.parametrize("channels", [4, 2], ids=["RGBA", "grey+alpha"])
@pytest.mark.parametrize(
    "filters",
    [
        [0] * 40,
        [1] * 40,
        [2] * 40,
        [4] * 40,
        [0, 2, 2, 1, 2, 2, 2, 0] * 5,
        [2, 2, 1] + [2] * 37,
        [1, 0] * 20,
        [2] * 15 + [4, 4, 2, 1, 4, 2, 2, 4] + [2] * 17,
    ],
    ids=["none", "sub", "up", "paeth", "mixed", "up-run-then-sub", "alternating", "paeth-among-up"],
)
def test_rows_filtered_with_none_sub_up_or_paeth_are_reconstructed(filters, channels):
    pixels = drawing(channels=channels)
    data = png_bytes(pixels, filters)
    np.testing.assert_array_equal(read_alpha(data, LIMIT), pillow_alpha(data))


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 24),
    width=st.integers(1, 24),
    seed=st.integers(0, 2**32 - 1),
    filters=st.data(),
    split=st.integers(1, 64),
)
def test_any_png_without_average_rows_reads_as_pillow_decodes_it(height, width, seed, filters, split):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)
    # Level patches and repeated rows: the Sub-like stretches of Paeth rows.
    pixels[: height // 2, : width // 2] = pixels[0, 0]
    chosen = filters.draw(st.lists(st.sampled_from([0, 1, 2, 4]), min_size=height, max_size=height))
    data = png_bytes(pixels, chosen, split=split)
    np.testing.assert_array_equal(read_alpha(data, LIMIT), pillow_alpha(data))


def test_colour_chunks_that_do_not_change_the_opacity_are_ignored():
    pixels = drawing()
    extra = [chunk(b"gAMA", struct.pack(">I", 45455)), chunk(b"sRGB", b"\0"), chunk(b"pHYs", bytes(9))]
    data = png_bytes(pixels, extra=extra)
    np.testing.assert_array_equal(read_alpha(data, LIMIT), pixels[..., 3])


# --- what it leaves to Pillow ----------------------------------------------------------------


def _declined_cases() -> dict[str, bytes]:
    pixels = drawing()
    good = png_bytes(pixels)
    stream = zlib.compress(filter_rows(pixels, [2] * 40))
    return {
        "average filter": png_bytes(pixels, [2] * 20 + [3] + [2] * 19),
        "RGB without alpha": png_bytes(np.ascontiguousarray(pixels[..., :3]), colour_type=2),
        "16-bit": png_bytes(pixels, depth=16),
        "interlaced": png_bytes(pixels, interlace=1),
        "EXIF orientation": png_bytes(pixels, extra=[chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")]),
        "text (may hold EXIF)": png_bytes(pixels, extra=[chunk(b"tEXt", b"Comment\0hi")]),
        "animation": png_bytes(pixels, extra=[chunk(b"acTL", bytes(8))]),
        "bad CRC": good[:-20] + bytes([good[-20] ^ 1]) + good[-19:],
        "no IEND": good[:-12],
        "data after IEND": good + b"\0",
        "truncated": good[: len(good) // 2],
        "IDAT chunks apart": good[:33]  # signature and IHDR
        + chunk(b"IDAT", stream[:20])
        + chunk(b"gAMA", bytes(4))
        + chunk(b"IDAT", stream[20:])
        + chunk(b"IEND", b""),
        "damaged stream": png_bytes(pixels, stream=stream[:2] + bytes(len(stream) - 2)),
        "stream too short": png_bytes(pixels, stream=zlib.compress(filter_rows(pixels, [2] * 40)[:-7])),
        "stream too long": png_bytes(pixels, stream=zlib.compress(filter_rows(pixels, [2] * 40) + bytes(41))),
        "preset dictionary": png_bytes(pixels, stream=bytes([0x78, 0xBB]) + stream[2:]),
        "not a PNG": b"GIF89a" + good[6:],
        "empty": b"",
    }


@pytest.mark.parametrize("case", list(_declined_cases()))
def test_anything_it_does_not_fully_understand_is_left_to_pillow(case):
    assert read_alpha(_declined_cases()[case], LIMIT) is None


def test_more_pixels_than_the_limit_is_left_to_pillow_which_refuses_it():
    data = png_bytes(drawing(height=40, width=50))
    assert read_alpha(data, 40 * 50) is not None
    assert read_alpha(data, 40 * 50 - 1) is None


def test_paeth_rows_under_noisy_rows_are_left_to_pillow():
    noise = np.random.default_rng(1).integers(0, 256, (80, 80, 4), dtype=np.uint8)
    data = png_bytes(noise, [4] * 80)  # every pixel of a noisy row above is a break
    assert read_alpha(data, LIMIT) is None
    assert read_alpha(png_bytes(noise[:20], [4] * 20), LIMIT) is not None


def test_a_header_far_larger_than_its_image_data_could_fill_is_left_to_pillow():
    small = png_bytes(drawing(height=40, width=50))
    header = struct.pack(">IIBBBBB", 4000, 4000, 8, 6, 0, 0, 0)
    claiming = small[:8] + chunk(b"IHDR", header) + small[33:]
    assert read_alpha(claiming, LIMIT) is None
    with pytest.raises(PreprocessingError):
        preprocess(claiming, LIMIT)


def test_image_data_that_could_inflate_without_bound_is_left_to_pillow():
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 4), dtype=np.uint8)
    data = png_bytes(noise, [0] * 200)
    assert len(data) > canvas_png.MAX_IMAGE_DATA
    assert read_alpha(data, LIMIT) is None


# --- preprocess: the same network input by either road ---------------------------------------


def _canvas_png(alpha: np.ndarray) -> bytes:
    pixels = np.zeros((*alpha.shape, 4), np.uint8)
    pixels[..., 3] = alpha
    return png_bytes(pixels)


def _seven_alpha(shift_left: int = 0) -> np.ndarray:
    """The opacity of the app tests' canvas 7, moved ``shift_left`` pixels left (cut at the edge)."""
    alpha = np.asarray(draw_digit_seven().getchannel("A"))
    return np.pad(alpha[:, shift_left:], ((0, 0), (0, shift_left)))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(CHROMIUM_SEVEN.read_bytes(), id="chromium export"),
        pytest.param(_canvas_png(_seven_alpha()), id="drawing clear of the border"),
        pytest.param(_canvas_png(_seven_alpha(shift_left=68)), id="drawing touching the border"),
    ],
)
def test_preprocess_gives_exactly_what_decoding_with_pillow_gives(data):
    np.testing.assert_array_equal(preprocess(data, LIMIT), to_mnist(load_image(data, LIMIT)))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(CHROMIUM_SEVEN.read_bytes(), id="chromium export"),
        pytest.param(_canvas_png(_seven_alpha()), id="drawing clear of the border"),
    ],
)
def test_a_canvas_export_is_preprocessed_without_pillows_decoder(data, monkeypatch):
    expected = to_mnist(load_image(data, LIMIT))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded with Pillow")

    monkeypatch.setattr(preprocessing, "load_image", no_decoding)
    np.testing.assert_array_equal(preprocess(data, LIMIT), expected)


def test_a_drawing_touching_the_border_is_decoded_with_pillow(monkeypatch):
    data = _canvas_png(_seven_alpha(shift_left=68))
    assert read_alpha(data, LIMIT) is not None
    calls = []
    monkeypatch.setattr(preprocessing, "load_image", lambda *args: calls.append(args) or load_image(*args))
    preprocess(data, LIMIT)
    assert calls, "a drawing that touches the border needs its colours: Pillow decodes it"


def test_a_blank_canvas_export_has_no_digit_by_either_road():
    data = _canvas_png(np.zeros((280, 280), np.uint8))
    assert read_alpha(data, LIMIT) is not None
    with pytest.raises(NoDigitFound) as fast:
        preprocess(data, LIMIT)
    with pytest.raises(NoDigitFound) as pillow:
        to_mnist(load_image(data, LIMIT))
    assert str(fast.value) == str(pillow.value)


@settings(max_examples=150, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10**6), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    )
)
def test_damaged_canvas_exports_are_read_or_declined_never_a_crash(edits):
    data = bytearray(CHROMIUM_SEVEN.read_bytes())
    for kind, position, value in edits:
        position %= len(data) + (kind == "insert")
        if kind == "flip" and position < len(data):
            data[position] ^= value or 1
        elif kind == "insert":
            data[position:position] = bytes([value])
        elif position < len(data):
            del data[position]
    data = bytes(data)
    alpha = read_alpha(data, LIMIT)
    assert alpha is None or (alpha.shape == (280, 280) and alpha.dtype == np.uint8)
    with contextlib.suppress(PreprocessingError):  # a refusal is fine; anything else is not
        preprocess(data, LIMIT)


def _chromium_stream() -> bytes:
    data = CHROMIUM_SEVEN.read_bytes()
    stream, position = b"", 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        if data[position + 4 : position + 8] == b"IDAT":
            stream += data[position + 8 : position + 8 + length]
        position += 12 + length
    return stream


@settings(max_examples=150, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=3),
    cut=st.integers(0, 40),
)
def test_damaged_image_data_with_good_checksums_is_read_or_declined_never_a_crash(flips, cut):
    stream = bytearray(_chromium_stream())
    for position, value in flips:
        stream[2 + position % (len(stream) - 2)] ^= value
    data = png_bytes(np.zeros((280, 280, 4), np.uint8), stream=bytes(stream[: len(stream) - cut]))
    alpha = read_alpha(data, LIMIT)
    assert alpha is None or (alpha.shape == (280, 280) and alpha.dtype == np.uint8)
    with contextlib.suppress(PreprocessingError):  # a refusal is fine; anything else is not
        preprocess(data, LIMIT)
