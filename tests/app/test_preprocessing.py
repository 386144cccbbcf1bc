"""Preprocessing: every kind of upload becomes an MNIST-like 28×28 input, or a clear refusal."""

from __future__ import annotations

import io
import math
import struct
import threading
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from app import preprocessing
from app.preprocessing import (
    ImageTooLarge,
    InvalidImage,
    InvalidPixels,
    NoDigitFound,
    PreprocessingError,
    from_pixels,
    load_image,
    to_mnist,
)

LIMIT = 4096 * 4096


# ---------------------------------------------------------------------------------------------
# Drawing helpers: ink coverage in [0, 1], then painted into images of any kind


def seven_coverage(size=280, width=None, box=None) -> np.ndarray:
    """An anti-aliased 7 (top bar and a slanted stem) as ink coverage (size, size) in [0, 1];
    by default the same drawing at any size."""
    width = 18 * size / 280 if width is None else width
    box = tuple(v * size / 280 for v in (70, 50, 210, 240)) if box is None else box
    scale = 4
    big = Image.new("L", (size * scale, size * scale), 0)
    left, top, right, bottom = (v * scale for v in box)
    points = [(left, top), (right, top), (left + (right - left) * 0.35, bottom)]
    draw = ImageDraw.Draw(big)
    draw.line(points, fill=255, width=max(1, round(width * scale)), joint="curve")
    for x, y in (points[0], points[-1]):
        r = width * scale / 2
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(big.reduce(scale), dtype=np.float32) / 255


def paint(coverage, paper=(245, 243, 238), ink=(20, 20, 25)) -> Image.Image:
    """Coverage laid in ``ink`` over ``paper`` (RGB colours, or arrays broadcastable to H×W×3)."""
    mixed = (
        np.asarray(paper, np.float32) * (1 - coverage[..., None])
        + np.asarray(ink, np.float32) * coverage[..., None]
    )
    return Image.fromarray(np.clip(mixed + 0.5, 0, 255).astype(np.uint8), "RGB")


def canvas(coverage, colour=(0, 0, 0)) -> Image.Image:
    """Ink only in alpha on a transparent canvas, the way a browser exports a drawing."""
    rgba = np.zeros((*coverage.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.clip(coverage * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def encode(image: Image.Image, fmt="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def roundtrip(image: Image.Image, fmt="PNG", **options) -> np.ndarray:
    return to_mnist(load_image(encode(image, fmt, **options), LIMIT))


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel-edge coordinates (the frame's centre is 14)."""
    rows, cols = np.indices(x.shape)
    return float(((rows + 0.5) * x).sum() / x.sum()), float(((cols + 0.5) * x).sum() / x.sum())


def assert_mnist_like(x: np.ndarray) -> None:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x.max() > 0.9, "the stroke core should be full ink"
    ink = np.argwhere(x > 0.05)
    height, width = ink.max(axis=0) - ink.min(axis=0) + 1
    assert 17 <= max(height, width) <= 20, "the ink's box should fit 20×20"


def _soften(x: np.ndarray) -> np.ndarray:
    """A 3×3 mean: strokes one pixel apart still overlap."""
    padded = np.pad(x, 1)
    return sum(padded[dy : dy + 28, dx : dx + 28] for dy in range(3) for dx in range(3)) / 9


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two 28×28 inputs, softened and at the best shift of up to a pixel (centring
    by mass rounds to whole pixels, and resampling moves a thin stroke by a pixel): 1 for the
    same picture, ~0.5 for two different digits."""
    a, b = _soften(a), _soften(b)
    best = -1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(b, (dy, dx), axis=(0, 1))
            best = max(best, float(np.corrcoef(a.ravel(), shifted.ravel())[0, 1]))
    return best


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The 7 drawn black on white, plainly."""
    return roundtrip(paint(seven_coverage(), paper=(255, 255, 255), ink=(0, 0, 0)))


# ---------------------------------------------------------------------------------------------
# Ink, polarity, alpha, colour


def test_output_is_white_ink_on_black_fitted_and_centred(reference):
    assert_mnist_like(reference)
    row, col = centre_of_mass(reference)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_inverted_upload_is_read_as_dark_ink(reference):
    light_on_dark = roundtrip(paint(seven_coverage(), paper=(10, 10, 10), ink=(250, 250, 250)))
    assert_mnist_like(light_on_dark)
    assert similarity(light_on_dark, reference) > 0.95


@pytest.mark.parametrize(
    "colour",
    [(0, 0, 0), (255, 255, 255), (40, 60, 200)],
    ids=["black-ink", "white-ink", "blue-ink"],
)
def test_transparent_canvas_is_composited_from_alpha(reference, colour):
    # The colour under transparent pixels is black here (as browsers export it); ink of any colour
    # lives in alpha.
    x = roundtrip(canvas(seven_coverage(), colour))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.95


def browser_canvas(coverage, colour) -> Image.Image:
    """A drawing as a browser's canvas exports it: the colour only where there is ink (and
    rounded through premultiplied alpha, so faint edge pixels drift darker), transparent black
    everywhere else."""
    alpha = np.clip(coverage * 255 + 0.5, 0, 255).astype(np.uint8)
    premultiplied = np.rint(np.float32(colour) * alpha[..., None] / 255)
    rgba = np.zeros((*coverage.shape, 4), np.uint8)
    rgba[..., :3] = np.clip(np.rint(premultiplied * 255 / np.maximum(alpha[..., None], 1)), 0, 255)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba, "RGBA")


@pytest.mark.parametrize("width", [1, 2, 3, 8])
def test_thin_light_ink_exported_by_a_browser_is_read_as_light_ink(reference, width):
    # The black under the transparent pixels is no part of the ink: once it dragged the estimate
    # of a thin white stroke's lightness below half, and the stroke vanished on a white backdrop.
    x = roundtrip(browser_canvas(seven_coverage(width=width), (255, 255, 255)))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


def test_dark_ink_over_white_transparent_pixels_is_read_as_dark_ink(reference):
    coverage = seven_coverage(width=3)
    image = canvas(coverage, (0, 0, 0))
    white_under_transparency = np.asarray(image).copy()
    white_under_transparency[coverage == 0, :3] = 255
    x = roundtrip(Image.fromarray(white_under_transparency, "RGBA"))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


@pytest.mark.parametrize(
    "colour", [(17, 17, 17), (255, 255, 255), (40, 60, 200), (200, 200, 40), (128, 128, 128)]
)
@pytest.mark.parametrize(
    "box",
    [(70, 50, 210, 240), (0, 0, 60, 90), (200, 150, 280, 280), (3, 100, 277, 140)],
    ids=["centre", "top-left-edge", "bottom-right-edge", "side-to-side"],
)
@pytest.mark.parametrize("export", [canvas, browser_canvas], ids=["plain", "browser"])
def test_a_drawing_on_transparency_is_read_from_its_opacity_whatever_the_ink_colour(colour, box, export):
    coverage = seven_coverage(box=box)
    image = export(coverage, colour)
    flat = preprocessing._flatten(image)
    assert flat.image.mode == "L"
    assert np.array_equal(np.asarray(flat.image), np.asarray(image.getchannel("A")))
    assert np.array_equal(roundtrip(image), roundtrip(canvas(coverage, (0, 0, 0))))


@pytest.mark.parametrize("size", [(280, 280), (281, 200), (97, 350)])
@pytest.mark.parametrize("factor", [2, 3, 5])
def test_a_drawing_reduced_from_its_ink_box_is_the_whole_canvas_reduced(size, factor):
    rng = np.random.default_rng(factor)
    width, height = size
    for _ in range(20):
        left, right = sorted(rng.integers(0, width + 1, 2))
        top, bottom = sorted(rng.integers(0, height + 1, 2))
        right, bottom = max(right, left + 1), max(bottom, top + 1)
        ink = np.zeros((height, width), np.uint8)
        ink[top:bottom, left:right] = rng.integers(0, 256, (bottom - top, right - left))
        image = Image.fromarray(ink, "L")
        reduced = preprocessing._reduced_drawing(
            preprocessing._Flat(image, (left, top, right, bottom)), factor
        )
        assert np.array_equal(reduced, np.asarray(image.reduce(factor)))


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(8, 60), st.integers(8, 60)),
    blobs=st.integers(1, 4),
)
def test_the_ink_box_shortcut_finds_what_the_search_for_the_main_run_finds(seed, shape, blobs):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    for _ in range(blobs):
        top, left = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        mask[top : top + rng.integers(1, 20), left : left + rng.integers(1, 20)] = True
    mask &= rng.random(shape) < rng.uniform(0.3, 1.0)
    mask.flat[rng.integers(mask.size)] = True
    strength = np.where(mask, rng.uniform(0.4, 1.0, shape), rng.uniform(0.0, 0.3, shape)).astype(np.float32)
    assert preprocessing._ink_box(mask, strength) == preprocessing._ink_box_by_runs(mask, strength)


@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["joined", "at-the-gap", "apart"])
def test_the_ink_box_shortcut_agrees_at_the_edge_of_the_gap(extra):
    mask = np.zeros((50, 50), bool)
    gap = preprocessing._run_gap(mask)
    mask[10:40, 5:20] = True
    mask[20:22, 20 + gap + extra : 24 + gap + extra] = True  # a small part beside the main one
    strength = mask.astype(np.float32)
    assert preprocessing._ink_box(mask, strength) == preprocessing._ink_box_by_runs(mask, strength)


@pytest.mark.parametrize(
    "ink",
    [(30, 50, 170), (200, 30, 40), (20, 120, 50), (230, 200, 20)],
    ids=["blue-ballpoint", "red-marker", "green-pen", "yellow-highlighter"],
)
def test_coloured_ink_is_read_like_black_ink(reference, ink):
    x = roundtrip(paint(seven_coverage(), paper=(250, 250, 247), ink=ink))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.93


def test_uneven_shadowed_paper_does_not_count_as_ink(reference):
    ys, xs = np.mgrid[0:280, 0:280].astype(np.float32)
    light = 1.0 - 0.45 * (xs / 280) ** 1.5 * (0.5 + ys / 560)
    paper = np.array([238, 236, 228], np.float32) * light[..., None]
    rng = np.random.default_rng(0)
    paper = paper + rng.normal(0, 5, (280, 280, 1))
    x = roundtrip(paint(seven_coverage(), paper=paper, ink=(35, 35, 45)), "JPEG", quality=70)
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9


def sharp_shadow(size: int, angle_degrees: float, offset: float, depth: float = 0.35) -> np.ndarray:
    """A phone's shadow: paper brightness (size, size) with one side of a straight edge darker."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = math.radians(angle_degrees)
    side = (xs - size / 2) * math.cos(angle) + (ys - size / 2) * math.sin(angle) - offset
    return 1.0 - depth * (side > 0)


@pytest.mark.parametrize(("angle", "offset"), [(35, 0), (100, -30), (200, 60)])
def test_sharp_shadow_edge_across_the_digit_is_not_ink(reference, angle, offset):
    light = sharp_shadow(280, angle, offset)
    paper = np.float32([240, 238, 230]) * light[..., None]
    x = roundtrip(paint(seven_coverage(), paper=paper, ink=np.float32([25, 25, 35]) * light[..., None]))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9


def ink_away_from(x: np.ndarray, reference: np.ndarray) -> float:
    """Ink in ``x`` more than two pixels from any stroke of ``reference`` (both 28×28)."""
    near = reference > 0.05
    for _ in range(2):
        grown = near.copy()
        grown[1:] |= near[:-1]
        grown[:-1] |= near[1:]
        grown[:, 1:] |= near[:, :-1]
        grown[:, :-1] |= near[:, 1:]
        near = grown
    return float(x[~near].sum())


def test_dust_beside_the_digit_is_dropped():
    page = np.zeros((400, 400), np.float32)
    page[60:340, 60:340] = seven_coverage()
    clean = roundtrip(paint(page))
    page[212:226, 143:157] = 1.0  # a pen tap inside the 7's box, away from its strokes
    page[288:295, 298:305] = 1.0  # and dust just outside it
    dusty = roundtrip(paint(page))
    assert similarity(dusty, clean) > 0.95
    assert ink_away_from(dusty, clean) < 0.2


def test_faint_pencil_on_a_large_scan_is_found(reference):
    coverage = np.zeros((1200, 1000), np.float32)
    coverage[300:580, 500:780] = seven_coverage() * 0.3
    x = roundtrip(paint(coverage, paper=(250, 250, 250), ink=(0, 0, 0)), "JPEG", quality=85)
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9


# ---------------------------------------------------------------------------------------------
# Placement, size, stroke width


@pytest.mark.parametrize("corner", ["top-left", "bottom-right", "top-right"])
def test_digit_in_a_corner_is_fitted_and_centred_by_mass(reference, corner):
    page = np.zeros((600, 800), np.float32)
    digit = seven_coverage(120)
    y = 0 if corner.startswith("top") else 600 - 120
    x = 0 if corner.endswith("left") else 800 - 120
    page[y : y + 120, x : x + 120] = digit
    result = roundtrip(paint(page))
    assert_mnist_like(result)
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert similarity(result, reference) > 0.9


def test_tiny_digit_is_enlarged_to_fill_the_box(reference):
    page = np.zeros((300, 300), np.float32)
    page[140:164, 200:224] = seven_coverage(24)
    result = roundtrip(paint(page))
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.85


def test_digit_filling_the_frame_is_read(reference):
    coverage = seven_coverage(280)[45:243, 55:225]  # cropped to the ink: strokes touch the edges
    result = roundtrip(paint(coverage))
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.85


def mean_stroke_width(x: np.ndarray) -> float:
    """Width of a vertical bar: ink per row, over the rows in the middle of the bar."""
    rows = np.flatnonzero(x.sum(axis=1) > 0.5)
    middle = rows[len(rows) // 4 : 3 * len(rows) // 4]
    return float(x[middle].sum(axis=1).mean())


@pytest.mark.parametrize("brush", [1, 3, 10, 24])
def test_hair_thin_and_thick_strokes_come_out_with_mnist_stroke_width(brush):
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(140, 30), (140, 250)], fill=0, width=brush)
    result = roundtrip(image)
    assert result.max() > 0.95
    # MNIST strokes are ~2–3 px wide; a 1-px line on a 280-px canvas would otherwise be 0.1 px.
    assert 1.5 <= mean_stroke_width(result) <= 4.5


def test_specks_and_stray_marks_far_from_the_digit_are_ignored():
    page = np.zeros((400, 400), np.float32)
    page[100:380, 60:340] = seven_coverage()
    clean = roundtrip(paint(page))
    page[10:16, 380:386] = 1.0  # dust in the corner
    page[30:33, 20:24] = 1.0
    page[390:393, 5:60] = 1.0  # a stray pen mark
    dirty = roundtrip(paint(page))
    assert_mnist_like(dirty)
    assert similarity(dirty, clean) > 0.97


def test_a_detached_stroke_stays_part_of_the_digit():
    # A 7 whose top bar the pen lifted off: a gap of a sixth of the digit's height.
    image = Image.new("L", (280, 280), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(60, 40), (220, 40)], fill=0, width=14)
    draw.line([(200, 75), (110, 250)], fill=0, width=14)
    result = roundtrip(image)
    assert_mnist_like(result)
    rows = np.flatnonzero(result.max(axis=1) > 0.5)
    top_bar = result[rows[0] : rows[0] + 2]
    assert np.count_nonzero(top_bar.max(axis=0) > 0.5) >= 12, "the bar must be kept, full width"


# ---------------------------------------------------------------------------------------------
# Formats and modes


def test_exif_rotation_is_honoured(reference):
    upright = paint(seven_coverage())
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the stored pixels are turned the other way
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    loaded = load_image(encode(stored, "JPEG", quality=92, exif=exif.tobytes()), LIMIT)
    assert loaded.size == upright.size
    assert similarity(to_mnist(loaded), reference) > 0.95


def _as_mode(mode: str) -> Image.Image:
    rgb = paint(seven_coverage(), paper=(240, 240, 240), ink=(15, 15, 15))
    if mode == "P":
        return rgb.quantize(16)
    if mode == "P-transparent":
        image = canvas(seven_coverage()).convert("RGBA").quantize(16)
        image.info["transparency"] = image.getpixel((0, 0))
        return image
    if mode == "I;16":
        grey = np.asarray(rgb.convert("L"), np.uint16) * 257
        return Image.fromarray(grey)
    if mode == "I;16-low-range":  # a 16-bit file that only uses 0..255
        return Image.fromarray(np.asarray(rgb.convert("L"), np.uint16))
    if mode == "I":
        return rgb.convert("L").convert("I")
    if mode == "F":
        return Image.fromarray(np.asarray(rgb.convert("L"), np.float32) / 255, "F")
    if mode == "LA":
        return canvas(seven_coverage()).convert("LA")
    if mode == "1":
        return rgb.convert("L").convert("1")
    return rgb.convert(mode)


@pytest.mark.parametrize(
    "mode", ["L", "RGB", "RGBA", "P", "P-transparent", "LA", "I;16", "I;16-low-range", "I", "F", "1", "CMYK"]
)
def test_every_image_mode_is_accepted(reference, mode):
    image = _as_mode(mode)
    fmt = {"CMYK": "JPEG", "I": "TIFF", "F": "TIFF"}.get(mode, "PNG")
    result = roundtrip(image, fmt)
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.9


def test_sixteen_bit_png_keeps_its_full_range(reference):
    image = _as_mode("I;16")
    loaded = load_image(encode(image), LIMIT)
    assert loaded.mode.startswith("I")
    assert similarity(to_mnist(loaded), reference) > 0.95


def test_animated_gif_is_read_from_its_first_frame(reference):
    first = paint(seven_coverage()).quantize(8)
    second = Image.new("P", first.size, 0)
    second.putpalette(first.getpalette())
    ImageDraw.Draw(second).rectangle((20, 120, 260, 160), fill=1)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    assert similarity(to_mnist(load_image(data, LIMIT)), reference) > 0.95


def test_large_jpeg_is_decoded_at_a_reduced_scale(reference):
    page = np.zeros((3000, 4000), np.float32)
    page[1000:2120, 1500:2620] = seven_coverage(1120)
    loaded = load_image(encode(paint(page), "JPEG", quality=80), LIMIT)
    assert max(loaded.size) <= 2048
    assert similarity(to_mnist(loaded), reference) > 0.9


# ---------------------------------------------------------------------------------------------
# No ink → NoDigitFound


def _blank_images():
    rng = np.random.default_rng(5)
    noise = np.clip(rng.normal(128, 25, (200, 200)), 0, 255).astype(np.uint8)
    texture = Image.fromarray(np.clip(rng.normal(225, 12, (300, 300, 3)), 0, 255).astype(np.uint8), "RGB")
    ys, xs = np.mgrid[0:240, 0:320]
    gradient = Image.fromarray((120 + 100 * xs / 320 + 20 * ys / 240).astype(np.uint8), "L")
    return {
        "white": Image.new("RGB", (280, 280), (255, 255, 255)),
        "black": Image.new("L", (64, 64), 0),
        "transparent-canvas": Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
        "uniform-colour": Image.new("RGB", (150, 100), (30, 120, 200)),
        "uniform-16-bit": Image.fromarray(np.full((50, 50), 40000, np.uint16)),
        "gradient-only": gradient,
        "gaussian-noise": Image.fromarray(noise, "L"),
        "paper-texture-jpeg": Image.open(io.BytesIO(encode(texture, "JPEG", quality=50))),
        "one-pixel": Image.new("L", (1, 1), 0),
        "a-dot": paint(np.pad(np.ones((2, 2), np.float32), 99)),
        "sharp-shadow-only": paint(
            np.zeros((300, 300), np.float32), paper=240 * sharp_shadow(300, 60, 20)[..., None]
        ),
    }


@pytest.mark.parametrize("name", list(_blank_images()))
def test_image_without_ink_has_no_digit(name):
    with pytest.raises(NoDigitFound) as caught:
        to_mnist(_blank_images()[name])
    assert caught.value.status == 422 and caught.value.code == "no_digit_found"
    assert "no digit" in str(caught.value)


def test_a_single_blot_of_ink_is_not_a_digit():
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((100, 100, 160, 160), fill=(0, 0, 0, 255))
    with pytest.raises(NoDigitFound):
        roundtrip(image)


# ---------------------------------------------------------------------------------------------
# Refusals before and during decoding


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width×height, followed by a tiny (wrong) IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


# Pillow warns about the 12000×12000 header before ours refuses it: expected here.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 12_000), (5000, 4000)])
def test_header_larger_than_the_limit_is_refused_before_decoding(size):
    # The pixel data is far too short for the declared size: decoding would fail with
    # InvalidImage, so ImageTooLarge proves the size was refused from the header alone.
    with pytest.raises(ImageTooLarge) as caught:
        load_image(png_header_claiming(*size), max_pixels=4096 * 4096)
    assert caught.value.status == 413 and caught.value.code == "image_too_large"
    assert "limit" in str(caught.value) or "too large" in str(caught.value)


def test_pillow_bomb_warning_raised_as_an_error_is_still_image_too_large():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLarge):
            load_image(png_header_claiming(12_000, 12_000), max_pixels=4096 * 4096)


def test_image_exactly_at_the_limit_is_accepted_and_one_pixel_more_is_not():
    data = encode(paint(seven_coverage(100)))
    assert load_image(data, max_pixels=100 * 100).size == (100, 100)
    with pytest.raises(ImageTooLarge):
        load_image(data, max_pixels=100 * 100 - 1)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_file_is_an_invalid_image(fmt, keep):
    image = paint(np.random.default_rng(1).random((120, 120)).astype(np.float32))
    data = encode(image if fmt != "GIF" else image.quantize(64), fmt)
    with pytest.raises(InvalidImage) as caught:
        load_image(data[: int(len(data) * keep)], LIMIT)
    assert caught.value.status == 400 and caught.value.code == "invalid_image"


@pytest.mark.parametrize("data", [b"", b"hello", b"\x89PNG\r\n\x1a\n", b"%PDF-1.4 ...", b"GIF89a"], ids=repr)
def test_junk_bytes_are_an_invalid_image(data):
    with pytest.raises(InvalidImage):
        load_image(data, LIMIT)


def test_formats_outside_the_accepted_list_are_refused():
    image = paint(seven_coverage(60))
    for fmt in ("PPM", "TGA", "PCX", "ICO"):
        with pytest.raises(InvalidImage):
            load_image(encode(image, fmt), LIMIT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(
        [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBP"]
    ),
    body=st.binary(max_size=400),
)
def test_random_bytes_never_escape_as_anything_but_a_preprocessing_error(prefix, body):
    try:
        image = load_image(prefix + body, LIMIT)
        result = to_mnist(image)
    except PreprocessingError:
        return
    assert result.shape == (28, 28) and result.dtype == np.float32


@settings(max_examples=120, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB", "RGBA", "LA", "P", "I;16", "1", "F", "CMYK"]),
    height=st.integers(1, 48),
    width=st.integers(1, 48),
    seed=st.integers(0, 2**32 - 1),
    pattern=st.sampled_from(["noise", "uniform", "block", "sparse"]),
)
def test_any_decoded_image_gives_an_mnist_input_or_no_digit_found(mode, height, width, seed, pattern):
    rng = np.random.default_rng(seed)
    if pattern == "noise":
        pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    elif pattern == "uniform":
        pixels = np.broadcast_to(rng.integers(0, 256, 4, dtype=np.uint8), (height, width, 4)).copy()
    elif pattern == "block":
        pixels = np.full((height, width, 4), 255, np.uint8)
        y, x = rng.integers(0, height), rng.integers(0, width)
        pixels[y : y + int(rng.integers(1, 12)), x : x + int(rng.integers(1, 12))] = rng.integers(0, 256, 4)
    else:
        pixels = (rng.random((height, width, 4)) < 0.1).astype(np.uint8) * 255
    image = Image.fromarray(pixels, "RGBA")
    if mode == "I;16":
        image = Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)
    elif mode == "F":
        image = Image.fromarray(pixels[..., 0].astype(np.float32) * 3.5, "F")
    elif mode == "P":
        image = image.convert("RGB").quantize(8)
    else:
        image = image.convert(mode)
    try:
        result = to_mnist(image)
    except NoDigitFound:
        return
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert np.isfinite(result).all() and result.min() >= 0 and result.max() <= 1


# ---------------------------------------------------------------------------------------------
# Purity


def test_preprocessing_is_thread_safe(reference):
    images = [paint(seven_coverage(280, w)) for w in (4, 12, 24)] + [canvas(seven_coverage())]
    expected = [to_mnist(image.copy()) for image in images]
    results: dict[int, list[np.ndarray]] = {}

    def work(index: int) -> None:
        results[index] = [to_mnist(image.copy()) for image in images for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outputs in results.values():
        for i, output in enumerate(outputs):
            np.testing.assert_array_equal(output, expected[i // 3])


# ---------------------------------------------------------------------------------------------
# JSON pixel arrays


def grid(value=0.0, rows=28, cols=28) -> list:
    return [[value] * cols for _ in range(rows)]


def test_pixels_in_unit_range_are_kept():
    pixels = grid()
    pixels[3][4] = 0.5
    pixels[10][10] = 1
    result = from_pixels(pixels)
    assert result.dtype == np.float32 and result.shape == (28, 28)
    assert result[3, 4] == 0.5 and result[10, 10] == 1.0 and result.sum() == 1.5


def test_pixels_on_the_255_scale_are_divided_by_255():
    pixels = grid(0)
    pixels[0][0] = 255
    pixels[5][5] = 51
    result = from_pixels(pixels)
    assert result[0, 0] == 1.0 and math.isclose(result[5, 5], 0.2, rel_tol=1e-6)


def _with(value, row=2, col=3):
    pixels = grid()
    pixels[row][col] = value
    return pixels


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        ("not a list", "list of 28 rows"),
        (None, "list of 28 rows"),
        ({"rows": 28}, "list of 28 rows"),
        (grid(rows=27), "got a list of 27"),
        (grid(rows=29), "got a list of 29"),
        ([[0] * 28] * 27 + [[0] * 27], "row 27"),
        ([[0] * 28] * 27 + ["x" * 28], "row 27"),
        (_with("0.5"), "pixels[2][3] must be a number"),
        (_with(True), "pixels[2][3] must be a number"),
        (_with(None), "pixels[2][3] must be a number"),
        (_with([0.5]), "pixels[2][3] must be a number"),
        (_with(float("nan")), "pixels[2][3] is not a finite number"),
        (_with(float("inf")), "pixels[2][3] is not a finite number"),
        (_with(-0.1), "pixels[2][3] = -0.1 is out of range"),
        (_with(256), "pixels[2][3] = 256 is out of range"),
        (_with(10**400), "out of range"),
        (_with("x", row=2)[:20] + [[0] * 27] + grid(rows=7), "pixels[2][3] must be a number"),
        (grid(rows=1) + [[0] * 27] + _with(None, row=2)[2:], "row 1"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_pixel_arrays_are_refused_with_a_message_saying_what_is_wrong(pixels, message):
    with pytest.raises(InvalidPixels) as caught:
        from_pixels(pixels)
    assert message in str(caught.value)
    assert caught.value.status == 400 and caught.value.code == "invalid_pixels"
