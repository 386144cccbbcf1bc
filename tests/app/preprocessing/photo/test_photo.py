"""Road 2: a photo or scan — ink on paper of any colour, shade and image mode — or a refusal."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.preprocessing import NoDigitFound, to_mnist
from harness.drawings import (
    LIMIT,
    assert_mnist_like,
    canvas,
    encode,
    ink_away_from,
    paint,
    roundtrip,
    seven_coverage,
    sharp_shadow,
    similarity,
)
from harness.preprocessing import load_image


def test_inverted_upload_is_read_as_dark_ink(reference):
    light_on_dark = roundtrip(paint(seven_coverage(), paper=(10, 10, 10), ink=(250, 250, 250)))
    assert_mnist_like(light_on_dark)
    assert similarity(light_on_dark, reference) > 0.95


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


@pytest.mark.parametrize(("angle", "offset"), [(35, 0), (100, -30), (200, 60)])
def test_sharp_shadow_edge_across_the_digit_is_not_ink(reference, angle, offset):
    light = sharp_shadow(280, angle, offset)
    paper = np.float32([240, 238, 230]) * light[..., None]
    x = roundtrip(paint(seven_coverage(), paper=paper, ink=np.float32([25, 25, 35]) * light[..., None]))
    assert_mnist_like(x)
    assert similarity(x, reference) > 0.9


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


def _as_mode(mode: str) -> Image.Image:
    rgb = paint(seven_coverage(), paper=(240, 240, 240), ink=(15, 15, 15))
    if mode == "P":
        return rgb.quantize(16)
    if mode == "P-transparent":
        image = canvas(seven_coverage()).convert("RGBA").quantize(16)
        image.info["transparency"] = image.getpixel((0, 0))
        return image
    if mode == "I;16":
        return Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257)
    if mode == "I;16-low-range":  # a 16-bit file that only uses 0..255
        return Image.fromarray(np.asarray(rgb.convert("L"), np.uint16))
    if mode == "I":
        return rgb.convert("L").convert("I")
    if mode == "F":
        return Image.fromarray(np.asarray(rgb.convert("L"), np.float32) / 255)
    if mode == "LA":
        return canvas(seven_coverage()).convert("LA")
    if mode == "1":
        return rgb.convert("L").convert("1")
    return rgb.convert(mode)


@pytest.mark.parametrize(
    "mode", ["L", "RGB", "RGBA", "P", "P-transparent", "LA", "I;16", "I;16-low-range", "I", "F", "1", "CMYK"]
)
def test_every_image_mode_is_accepted(reference, mode):
    # No accepted file format holds 32-bit integer or float pixels: those come decoded.
    image = _as_mode(mode)
    result = to_mnist(image) if mode in ("I", "F") else roundtrip(image, "JPEG" if mode == "CMYK" else "PNG")
    assert_mnist_like(result)
    assert similarity(result, reference) > 0.9


def test_sixteen_bit_png_keeps_its_full_range(reference):
    loaded = load_image(encode(_as_mode("I;16")), LIMIT)
    assert loaded.mode.startswith("I")
    assert similarity(to_mnist(loaded), reference) > 0.95


def _blank_images():
    rng = np.random.default_rng(5)
    noise = np.clip(rng.normal(128, 25, (200, 200)), 0, 255).astype(np.uint8)
    texture = Image.fromarray(np.clip(rng.normal(225, 12, (300, 300, 3)), 0, 255).astype(np.uint8), "RGB")
    ys, xs = np.mgrid[0:240, 0:320]
    gradient = Image.fromarray((120 + 100 * xs / 320 + 20 * ys / 240).astype(np.uint8), "L")
    return {
        "white": Image.new("RGB", (280, 280), (255, 255, 255)),
        "black": Image.new("L", (64, 64), 0),
        "uniform-colour": Image.new("RGB", (150, 100), (30, 120, 200)),
        "uniform-16-bit": Image.fromarray(np.full((50, 50), 40000, np.uint16)),
        "not-a-number-float": Image.fromarray(np.full((50, 50), np.nan, np.float32)),
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
    with pytest.raises(NoDigitFound, match="no digit"):
        to_mnist(_blank_images()[name])


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
        image = Image.fromarray(pixels[..., 0].astype(np.float32) * 3.5)
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
