"""A seeded real-world test set: the kinds of images people upload, with their true digit.

Three families of images, generated in memory (nothing is written unless asked):

* ``typed_*`` — digits typeset from the installed DejaVu and Liberation fonts, at random size and
  position, dark on light (and a few light on dark);
* ``canvas_*`` — strokes drawn the way a mouse or finger draws on a 280×280 transparent canvas:
  polyline digit skeletons with jitter, a thin, normal or thick round brush, anti-aliased, placed
  normally, small in a corner, or filling the frame;
* ``mnist_*`` — MNIST *test* digits re-rendered as uploads: inverted, off-centre on a large page,
  alpha ink on transparency, on noisy shadowed paper as a JPEG, in coloured ink, as a low-quality
  JPEG, EXIF-rotated, as palette / 16-bit / grey+alpha / CMYK / 1-bit images, chalk on a board,
  faint pencil on a large scan, a multi-megapixel phone photo, a sharp shadow across the page,
  tiny, cropped tight to the ink,
  on a page with dust and stray marks.

``python -m tests.realworld.generate --report`` runs the set through ``POST /predict`` of the real
app with the committed weights and prints accuracy per kind (``--grid-dir D`` also saves, per
kind, a PNG grid of the 28×28 inputs the network saw).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

SEED = 20261128
MNIST_PER_KIND = 25

# Font files from Debian's fonts-dejavu-core and fonts-liberation (what CI installs, so the set
# is the same there); missing ones are skipped.
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationSans-Italic.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationSerif-Bold.ttf",
    "LiberationSerif-Italic.ttf",
    "LiberationMono-Regular.ttf",
    "LiberationSansNarrow-Regular.ttf",
    "LiberationSansNarrow-Bold.ttf",
)
FONT_DIRECTORIES = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@dataclass(frozen=True)
class Sample:
    """One upload: its kind, true digit, file bytes and content type, and what it shows."""

    kind: str
    label: int
    data: bytes
    content_type: str
    note: str


# ---------------------------------------------------------------------------------------------
# Encoding helpers


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png(image: Image.Image) -> tuple[bytes, str]:
    return _encode(image, "PNG"), "image/png"


def _jpeg(image: Image.Image, quality: int, **options) -> tuple[bytes, str]:
    return _encode(image, "JPEG", quality=quality, **options), "image/jpeg"


def _paint(ink: np.ndarray, paper: np.ndarray, colour: Iterable[float]) -> np.ndarray:
    """Ink coverage (H, W) in [0, 1] laid in ``colour`` (RGB) over ``paper`` (H, W, 3): uint8."""
    coverage = ink[..., None]
    mixed = paper * (1 - coverage) + np.asarray(colour, dtype=np.float32) * coverage
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def _plain_paper(shape: tuple[int, int], colour: Iterable[float]) -> np.ndarray:
    return np.broadcast_to(np.asarray(colour, dtype=np.float32), (*shape, 3)).copy()


def _shadowed_paper(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Off-white paper, darker towards a random side (a phone's shadow), with grain."""
    height, width = shape
    base = rng.uniform(200, 245) * np.array([1.0, 0.98, 0.93], dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5)) + 0.5
    shade = 1.0 - rng.uniform(0.25, 0.45) * np.clip(ramp, 0, 1) ** 1.5
    paper = base * shade[..., None]
    return paper + rng.normal(0, rng.uniform(3, 7), (height, width, 1)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# MNIST digits re-rendered


def _upscaled_ink(digit: np.ndarray, size: int) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 as ink coverage (size, size) float32 in [0, 1]."""
    image = Image.fromarray(digit.astype(np.float32) / 255, "F").resize(
        (size, size), Image.Resampling.BICUBIC
    )
    return np.clip(np.asarray(image, dtype=np.float32), 0, 1)


def _mnist_plain(rng, digit):
    return (*_png(Image.fromarray(digit, "L")), "28×28 MNIST as is")


def _mnist_inverted(rng, digit):
    size = int(rng.integers(56, 200))
    ink = _upscaled_ink(digit, size)
    grey = np.clip(255 - 255 * ink + 0.5, 0, 255).astype(np.uint8)
    return (*_png(Image.fromarray(grey, "L")), f"dark on white, {size}px")


def _mnist_offcentre(rng, digit):
    width, height = int(rng.integers(400, 800)), int(rng.integers(300, 600))
    size = int(rng.integers(40, 160))
    ink = np.zeros((height, width), dtype=np.float32)
    x = int(rng.integers(0, width - size))
    y = int(rng.integers(0, height - size))
    ink[y : y + size, x : x + size] = _upscaled_ink(digit, size)
    rgb = _paint(ink, _plain_paper(ink.shape, (250, 250, 250)), (20, 20, 20))
    return (*_png(Image.fromarray(rgb, "RGB")), f"{size}px digit at ({x},{y}) on {width}×{height}")


def _mnist_transparent(rng, digit):
    ink = _upscaled_ink(digit, 280)
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8)
    return (*_png(Image.fromarray(rgba, "RGBA")), "black alpha ink on a transparent 280×280 canvas")


def _mnist_paper(rng, digit):
    size = int(rng.integers(300, 520))
    ink = np.zeros((size, size), dtype=np.float32)
    digit_size = int(size * rng.uniform(0.35, 0.7))
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink[y : y + digit_size, x : x + digit_size] = _upscaled_ink(digit, digit_size)
    rgb = _paint(ink * rng.uniform(0.75, 0.95), _shadowed_paper(rng, ink.shape), (25, 25, 35))
    quality = int(rng.integers(60, 90))
    return (*_jpeg(Image.fromarray(rgb, "RGB"), quality), f"shadowed noisy paper, JPEG q{quality}")


INK_COLOURS = {"blue ballpoint": (30, 50, 170), "red marker": (200, 30, 40), "green pen": (20, 120, 50)}


def _mnist_colour(rng, digit):
    name = list(INK_COLOURS)[int(rng.integers(len(INK_COLOURS)))]
    size = int(rng.integers(100, 300))
    ink = _upscaled_ink(digit, size)
    rgb = _paint(ink, _plain_paper(ink.shape, (245, 243, 235)), INK_COLOURS[name])
    return (*_png(Image.fromarray(rgb, "RGB")), name)


def _mnist_jpeg(rng, digit):
    size = int(rng.integers(80, 220))
    ink = _upscaled_ink(digit, size)
    rgb = _paint(ink, _plain_paper(ink.shape, (240, 240, 240)), (30, 30, 30))
    quality = int(rng.integers(8, 25))
    return (*_jpeg(Image.fromarray(rgb, "RGB"), quality), f"JPEG q{quality}")


# EXIF orientation → the transpose that turns the displayed image into the stored one.
EXIF_STORAGE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    5: Image.Transpose.TRANSPOSE,
    7: Image.Transpose.TRANSVERSE,
}


def _mnist_exif(rng, digit):
    orientation = list(EXIF_STORAGE)[int(rng.integers(len(EXIF_STORAGE)))]
    ink = _upscaled_ink(digit, int(rng.integers(120, 300)))
    rgb = _paint(ink, _plain_paper(ink.shape, (235, 235, 230)), (20, 20, 30))
    stored = Image.fromarray(rgb, "RGB").transpose(EXIF_STORAGE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return (*_jpeg(stored, 90, exif=exif.tobytes()), f"EXIF orientation {orientation}")


def _mnist_palette(rng, digit):
    ink = _upscaled_ink(digit, int(rng.integers(80, 200)))
    rgb = _paint(ink, _plain_paper(ink.shape, (250, 250, 245)), (10, 10, 60))
    image = Image.fromarray(rgb, "RGB").quantize(colors=int(rng.choice([4, 16, 64])))
    if rng.random() < 0.5:
        # An animated GIF whose second frame is blank: only the first frame counts.
        blank = Image.new("P", image.size, 0)
        blank.putpalette(image.getpalette())
        data = _encode(image, "GIF", save_all=True, append_images=[blank], duration=200, loop=0)
        return data, "image/gif", "animated palette GIF, digit in frame 1"
    return (*_png(image), "palette PNG")


def _mnist_16bit(rng, digit):
    ink = _upscaled_ink(digit, int(rng.integers(80, 240)))
    paper, dark = rng.uniform(40000, 64000), rng.uniform(0, 12000)
    values = paper - (paper - dark) * ink + rng.normal(0, 300, ink.shape)
    image = Image.fromarray(np.clip(values, 0, 65535).astype(np.uint16))
    return (*_png(image), "16-bit grey PNG scan")


def _mnist_la(rng, digit):
    ink = _upscaled_ink(digit, int(rng.integers(100, 280)))
    la = np.zeros((*ink.shape, 2), dtype=np.uint8)
    la[..., 0] = int(rng.integers(0, 60))
    la[..., 1] = np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8)
    return (*_png(Image.fromarray(la, "LA")), "grey + alpha PNG, transparent background")


def _mnist_other_modes(rng, digit):
    ink = _upscaled_ink(digit, int(rng.integers(100, 240)))
    rgb = _paint(ink, _plain_paper(ink.shape, (245, 245, 245)), (15, 15, 15))
    image = Image.fromarray(rgb, "RGB")
    if rng.random() < 0.5:
        return (*_jpeg(image.convert("CMYK"), 85), "CMYK JPEG")
    return (*_png(image.convert("L").convert("1")), "1-bit dithered PNG")


def _mnist_chalkboard(rng, digit):
    size = int(rng.integers(200, 400))
    ink = np.zeros((size, size), dtype=np.float32)
    digit_size = int(size * rng.uniform(0.4, 0.8))
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink[y : y + digit_size, x : x + digit_size] = _upscaled_ink(digit, digit_size)
    board = _plain_paper(ink.shape, (35, 60, 45)) + rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    rgb = _paint(ink * rng.uniform(0.7, 0.95), board, (235, 235, 225))
    return (*_jpeg(Image.fromarray(rgb, "RGB"), 80), "chalk on a green board (light on dark), JPEG")


def _noise_tile(rng: np.random.Generator, size: tuple[int, int], sigma: float) -> Image.Image:
    """Seeded grain centred on 128, one 256×256 tile repeated (a full-frame draw is slow)."""
    width, height = size
    tile = np.clip(rng.normal(128, sigma, (256, 256)), 0, 255).astype(np.uint8)
    return Image.fromarray(np.tile(tile, (height // 256 + 1, width // 256 + 1))[:height, :width], "L")


def _add_grain(image: Image.Image, grain: Image.Image) -> Image.Image:
    return ImageChops.add(image, Image.merge("RGB", (grain, grain, grain)), offset=-128)


def _mnist_pencil(rng, digit):
    size = int(rng.integers(600, 1200))
    digit_size = int(size * rng.uniform(0.2, 0.5))
    grain = np.clip(rng.normal(1.0, 0.35, (digit_size, digit_size)), 0, 1.4).astype(np.float32)
    contrast = rng.uniform(0.25, 0.45)
    ink = np.clip(_upscaled_ink(digit, digit_size) * grain * contrast * 255, 0, 255).astype(np.uint8)
    coverage = Image.new("L", (size, size), 0)
    coverage.paste(Image.fromarray(ink, "L"), tuple(int(v) for v in rng.integers(0, size - digit_size, 2)))
    paper = _add_grain(Image.new("RGB", (size, size), (248, 247, 243)), _noise_tile(rng, (size, size), 2.5))
    image = Image.composite(Image.new("RGB", (size, size), (40, 40, 45)), paper, coverage)
    return (*_jpeg(image, 88), f"faint grainy pencil ({contrast:.2f}) on a {size}px scan")


def _mnist_photo(rng, digit):
    width, height = int(rng.integers(1600, 2400)), int(rng.integers(1200, 1800))
    digit_size = int(min(width, height) * rng.uniform(0.15, 0.45))
    # Vignetting and a soft shadow, computed at 1/16 scale and enlarged.
    ys, xs = np.mgrid[0:height:16, 0:width:16].astype(np.float32)
    radius = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) ** 0.5
    light = 1.0 - rng.uniform(0.2, 0.4) * radius**2 * 2
    edge = rng.uniform(0.5, 0.9)
    light *= 1.0 - rng.uniform(0.1, 0.3) / (1 + np.exp(-(xs / width - edge) * 8))
    base = rng.uniform(190, 235) * np.array([1.0, 0.97, 0.9], dtype=np.float32)
    small_paper = np.clip(base * light[..., None], 0, 255).astype(np.uint8)
    # Composed at half size and enlarged: the enlargement is the camera's softness.
    half = (width // 2, height // 2)
    paper = Image.fromarray(small_paper, "RGB").resize(half, Image.Resampling.BILINEAR)
    coverage = Image.new("L", half, 0)
    ink = np.clip(_upscaled_ink(digit, digit_size // 2) * 230, 0, 255).astype(np.uint8)
    x, y = int(rng.integers(0, half[0] - digit_size // 2)), int(rng.integers(0, half[1] - digit_size // 2))
    coverage.paste(Image.fromarray(ink, "L"), (x, y))
    image = Image.composite(Image.new("RGB", half, (30, 30, 40)), paper, coverage)
    image = _add_grain(image, _noise_tile(rng, half, 6)).resize((width, height), Image.Resampling.BICUBIC)
    return (*_jpeg(image, 80), f"{width}×{height} phone photo, {digit_size}px digit")


def _mnist_hard_shadow(rng, digit):
    size = int(rng.integers(500, 900))
    digit_size = int(size * rng.uniform(0.3, 0.55))
    ink = np.zeros((size, size), dtype=np.float32)
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink[y : y + digit_size, x : x + digit_size] = _upscaled_ink(digit, digit_size)
    # The sharp shadow of a phone held over the page: a straight edge at a random angle, through
    # a random point of the digit's box, darkening one side by 20–40%.
    angle = rng.uniform(0, math.pi)
    cx, cy = x + rng.uniform(0.2, 0.8) * digit_size, y + rng.uniform(0.2, 0.8) * digit_size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    side = (xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle)
    shade = 1.0 - rng.uniform(0.2, 0.4) / (1 + np.exp(np.clip(-side / rng.uniform(1.0, 4.0), -50, 50)))
    paper = np.float32([238, 235, 226]) * shade[..., None]
    rgb = _paint(ink * 0.9, paper, (25, 25, 35))
    image = _add_grain(Image.fromarray(rgb, "RGB"), _noise_tile(rng, (size, size), 4))
    return (*_jpeg(image, 85), "a sharp shadow edge across the page and the digit")


def _mnist_tiny(rng, digit):
    size = int(rng.integers(14, 26))
    width, height = int(rng.integers(150, 400)), int(rng.integers(150, 400))
    ink = np.zeros((height, width), dtype=np.float32)
    x, y = int(rng.integers(0, width - size)), int(rng.integers(0, height - size))
    ink[y : y + size, x : x + size] = _upscaled_ink(digit, size)
    rgb = _paint(ink, _plain_paper(ink.shape, (245, 245, 245)), (20, 20, 20))
    return (*_png(Image.fromarray(rgb, "RGB")), f"{size}px digit on {width}×{height}")


def _mnist_tight_crop(rng, digit):
    rows = np.flatnonzero(digit.max(axis=1) > 30)
    cols = np.flatnonzero(digit.max(axis=0) > 30)
    cropped = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(5, 12)
    size = (max(1, round(cropped.shape[1] * scale)), max(1, round(cropped.shape[0] * scale)))
    ink = Image.fromarray(cropped.astype(np.float32) / 255, "F").resize(size, Image.Resampling.BICUBIC)
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0, 1)
    rgb = _paint(ink, _plain_paper(ink.shape, (240, 240, 240)), (10, 10, 10))
    return (*_png(Image.fromarray(rgb, "RGB")), f"cropped to the ink, {size[0]}×{size[1]}")


def _mnist_speckled(rng, digit):
    size = int(rng.integers(250, 450))
    ink = np.zeros((size, size), dtype=np.float32)
    digit_size = int(size * rng.uniform(0.35, 0.6))
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink[y : y + digit_size, x : x + digit_size] = _upscaled_ink(digit, digit_size)
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8), "L")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):  # dust and dirt
        cx, cy, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.7, 2.5)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    if rng.random() < 0.5:  # a stray pen mark near an edge, far from the digit
        edge = int(rng.integers(4))
        along = rng.uniform(0.1, 0.5) * size
        start = rng.uniform(0, size - along)
        line = [(start, 3), (start + along, 5)] if edge == 0 else [(3, start), (5, start + along)]
        if edge >= 2:
            line = [(size - 1 - a, size - 1 - b) for a, b in line]
        far = all(
            abs(px - (x + digit_size / 2)) + abs(py - (y + digit_size / 2)) > digit_size for px, py in line
        )
        if far:
            draw.line(line, fill=255, width=2)
    coverage = np.asarray(image, dtype=np.float32) / 255
    rgb = _paint(coverage, _plain_paper(coverage.shape, (242, 240, 236)), (25, 25, 30))
    return (*_jpeg(Image.fromarray(rgb, "RGB"), 85), "dust specks and stray marks on the page")


MNIST_KINDS: dict[str, Callable] = {
    "mnist_plain": _mnist_plain,
    "mnist_inverted": _mnist_inverted,
    "mnist_offcentre": _mnist_offcentre,
    "mnist_transparent": _mnist_transparent,
    "mnist_paper": _mnist_paper,
    "mnist_colour": _mnist_colour,
    "mnist_jpeg": _mnist_jpeg,
    "mnist_exif": _mnist_exif,
    "mnist_palette": _mnist_palette,
    "mnist_16bit": _mnist_16bit,
    "mnist_la": _mnist_la,
    "mnist_other_modes": _mnist_other_modes,
    "mnist_chalkboard": _mnist_chalkboard,
    "mnist_pencil": _mnist_pencil,
    "mnist_photo": _mnist_photo,
    "mnist_hard_shadow": _mnist_hard_shadow,
    "mnist_tiny": _mnist_tiny,
    "mnist_tight_crop": _mnist_tight_crop,
    "mnist_speckled": _mnist_speckled,
}


def mnist_samples(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> list[Sample]:
    """MNIST_PER_KIND different test digits per MNIST kind (images (N, 28, 28) uint8)."""
    chosen = rng.choice(len(images), size=MNIST_PER_KIND * len(MNIST_KINDS), replace=False)
    samples = []
    for k, (kind, render) in enumerate(MNIST_KINDS.items()):
        for index in chosen[k * MNIST_PER_KIND : (k + 1) * MNIST_PER_KIND]:
            data, content_type, note = render(rng, images[index])
            samples.append(
                Sample(kind, int(labels[index]), data, content_type, f"MNIST test #{index}: {note}")
            )
    return samples


# ---------------------------------------------------------------------------------------------
# Typed digits


def font_paths() -> list[Path]:
    """The FONT_FILES that are installed, in FONT_FILES order."""
    found: dict[str, Path] = {}
    for directory in FONT_DIRECTORIES:
        if directory.is_dir():
            for path in directory.rglob("*.ttf"):
                found.setdefault(path.name, path)
    return [found[name] for name in FONT_FILES if name in found]


def typed_samples(rng: np.random.Generator) -> list[Sample]:
    """Every digit in every installed font: random size and place, mostly dark on light."""
    samples = []
    for path in font_paths():
        for digit in range(10):
            size = int(rng.integers(24, 180))
            font = ImageFont.truetype(str(path), size)
            left, top, right, bottom = font.getbbox(str(digit))
            width = max(int(rng.integers(right - left + 8, right - left + 300)), 32)
            height = max(int(rng.integers(bottom - top + 8, bottom - top + 240)), 32)
            light_on_dark = rng.random() < 0.2
            paper, ink = (
                (20, 230) if light_on_dark else (int(rng.integers(225, 256)), int(rng.integers(0, 60)))
            )
            image = Image.new("L", (width, height), paper)
            x = int(rng.integers(0, width - (right - left) + 1)) - left
            y = int(rng.integers(0, height - (bottom - top) + 1)) - top
            ImageDraw.Draw(image).text((x, y), str(digit), fill=ink, font=font)
            kind = "typed_light_on_dark" if light_on_dark else "typed"
            samples.append(Sample(kind, digit, *_png(image), f"{path.stem} {size}pt"))
    return samples


# ---------------------------------------------------------------------------------------------
# Mouse / finger strokes on a transparent canvas


def _arc(cx, cy, rx, ry, start, stop, steps=20):
    """Points on an ellipse from angle ``start`` to ``stop`` (degrees; 0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, stop, steps))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Digit skeletons in a unit box (x right, y down), as people draw them: a list of strokes.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[_arc(0.5, 0.5, 0.3, 0.5, -90, 275, 36)], [_arc(0.5, 0.5, 0.34, 0.48, -100, 250, 36)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]], [[(0.32, 0.18), (0.55, 0.0), (0.5, 1.0)]], [[(0.58, 0.0), (0.42, 1.0)]]],
    2: [
        [_arc(0.5, 0.28, 0.3, 0.28, 190, 390) + [(0.18, 1.0), (0.85, 1.0)]],
        [_arc(0.48, 0.3, 0.3, 0.3, 200, 400) + [(0.2, 0.95), (0.3, 0.9), (0.85, 0.98)]],
    ],
    3: [
        [_arc(0.5, 0.27, 0.27, 0.26, 200, 450) + _arc(0.5, 0.74, 0.3, 0.26, 270, 520)],
        [[(0.2, 0.02), (0.75, 0.02), (0.45, 0.45)] + _arc(0.5, 0.72, 0.3, 0.27, 260, 510)],
    ],
    4: [
        [[(0.6, 0.0), (0.12, 0.66), (0.88, 0.66)], [(0.66, 0.3), (0.66, 1.0)]],
        [[(0.25, 0.0), (0.2, 0.6), (0.85, 0.6)], [(0.72, 0.05), (0.7, 1.0)]],
    ],
    5: [
        [[(0.78, 0.0), (0.3, 0.0), (0.27, 0.46)] + _arc(0.48, 0.7, 0.3, 0.28, 235, 500)],
        [[(0.3, 0.0), (0.25, 0.45)] + _arc(0.48, 0.7, 0.3, 0.28, 235, 500), [(0.3, 0.0), (0.8, 0.02)]],
    ],
    6: [
        [[(0.72, 0.02), (0.45, 0.15), (0.28, 0.45)] + _arc(0.5, 0.72, 0.28, 0.27, 180, -180, 30)],
        [_arc(0.9, 0.55, 0.65, 0.55, 250, 180, 10) + _arc(0.52, 0.74, 0.27, 0.25, 180, -175, 30)],
    ],
    7: [
        [[(0.12, 0.02), (0.88, 0.02), (0.4, 1.0)]],
        [[(0.15, 0.05), (0.85, 0.02), (0.5, 1.0)], [(0.4, 0.5), (0.8, 0.5)]],
    ],
    8: [
        [_arc(0.5, 0.26, 0.24, 0.25, 0, 360, 28), _arc(0.5, 0.74, 0.3, 0.26, 0, 360, 28)],
        [
            _arc(0.5, 0.25, 0.25, 0.24, 0, -270, 20)
            + _arc(0.5, 0.73, 0.28, 0.26, 270, 630, 32)
            + _arc(0.5, 0.25, 0.25, 0.24, 90, 0, 8)
        ],
    ],
    9: [
        [_arc(0.45, 0.28, 0.27, 0.27, 0, 360, 30), [(0.72, 0.28), (0.66, 1.0)]],
        [_arc(0.5, 0.3, 0.28, 0.28, 10, 370, 30) + [(0.76, 0.6), (0.62, 1.0)]],
    ],
}

CANVAS = 280
SUPERSAMPLE = 4  # strokes are drawn at 4× and reduced, as anti-aliased as a browser's canvas
CANVAS_STYLES = {
    # kind: (brush width range in canvas px, digit height range, placement)
    "canvas": ((9, 16), (150, 230), "centre"),
    "canvas_thin": ((1, 3), (150, 240), "centre"),
    "canvas_thick": ((24, 36), (170, 250), "centre"),
    "canvas_small_corner": ((5, 10), (45, 90), "corner"),
    "canvas_offcentre": ((8, 16), (100, 160), "anywhere"),
}


def _jittered(strokes, rng: np.random.Generator, height: float, origin: tuple[float, float]):
    """The unit-box strokes slanted, rotated, squeezed and wobbled, in canvas pixels."""
    angle = math.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.25, 0.15)
    squeeze = rng.uniform(0.75, 1.15)
    cos, sin = math.cos(angle), math.sin(angle)
    result = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        points = points + rng.normal(0, 0.012, points.shape)
        x = (points[:, 0] - 0.5) * squeeze + shear * (points[:, 1] - 0.5)
        y = points[:, 1] - 0.5
        xr, yr = cos * x - sin * y, sin * x + cos * y
        result.append(
            [(origin[0] + px * height, origin[1] + py * height) for px, py in zip(xr, yr, strict=True)]
        )
    return result


def _inside_canvas(strokes, brush: float):
    """The strokes shrunk and shifted, if need be, so that the whole brush stays on the canvas."""
    points = np.array([p for stroke in strokes for p in stroke])
    margin = brush / 2 + 3
    low, high = points.min(axis=0), points.max(axis=0)
    shrink = min(1.0, (CANVAS - 2 * margin) / max(float((high - low).max()), 1.0))
    centre = (low + high) / 2
    points = [[centre + (np.array(p) - centre) * shrink for p in stroke] for stroke in strokes]
    low, high = centre + (low - centre) * shrink - margin, centre + (high - centre) * shrink + margin
    shift = np.clip(0 - low, 0, None) - np.clip(high - CANVAS, 0, None)
    return [[(float(x + shift[0]), float(y + shift[1])) for x, y in stroke] for stroke in points]


def _draw_canvas(strokes, width: float) -> Image.Image:
    """Black round-brush strokes on a transparent CANVAS×CANVAS RGBA image, anti-aliased."""
    big = Image.new("L", (CANVAS * SUPERSAMPLE, CANVAS * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    brush = max(1, round(width * SUPERSAMPLE))
    for stroke in strokes:
        scaled = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in stroke]
        draw.line(scaled, fill=255, width=brush, joint="curve")
        radius = brush / 2
        for x, y in (scaled[0], scaled[-1]):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = big.reduce(SUPERSAMPLE)
    canvas = Image.new("RGBA", alpha.size, (0, 0, 0, 0))
    canvas.putalpha(alpha)
    return canvas


def canvas_samples(rng: np.random.Generator) -> list[Sample]:
    """Every template of every digit in every canvas style."""
    samples = []
    for kind, ((thin, thick), (low, high), placement) in CANVAS_STYLES.items():
        for digit, variants in TEMPLATES.items():
            for variant, strokes in enumerate(variants):
                brush = rng.uniform(thin, thick)
                height = rng.uniform(low, high)
                half = height / 2 + brush
                if placement == "centre":
                    origin = (CANVAS / 2 + rng.uniform(-15, 15), CANVAS / 2 + rng.uniform(-15, 15))
                elif placement == "corner":
                    cx = half + 4 if rng.random() < 0.5 else CANVAS - half - 4
                    cy = half + 4 if rng.random() < 0.5 else CANVAS - half - 4
                    origin = (cx, cy)
                else:
                    origin = (rng.uniform(half, CANVAS - half), rng.uniform(half, CANVAS - half))
                image = _draw_canvas(_inside_canvas(_jittered(strokes, rng, height, origin), brush), brush)
                note = f"template {variant}, brush {brush:.1f}px, height {height:.0f}px"
                samples.append(Sample(kind, digit, *_png(image), note))
    return samples


# ---------------------------------------------------------------------------------------------
# The whole set and its evaluation


ALL_KINDS = ("typed", "typed_light_on_dark", *CANVAS_STYLES, *MNIST_KINDS)


def generate(mnist_images: np.ndarray, mnist_labels: np.ndarray, seed: int = SEED) -> list[Sample]:
    """The full set, deterministic for a seed: typed, canvas and MNIST-derived samples."""
    rng = np.random.default_rng(seed)
    return typed_samples(rng) + canvas_samples(rng) + mnist_samples(mnist_images, mnist_labels, rng)


@dataclass
class Outcome:
    sample: Sample
    predicted: int | None  # None when the API refused the image
    error: str | None
    network_input: np.ndarray | None  # (28, 28) uint8, what the network saw

    @property
    def correct(self) -> bool:
        return self.predicted == self.sample.label


def api_classifier(app) -> Callable[[Sample], Outcome]:
    """Classify a sample through ``POST /predict`` of ``app`` with a raw image body."""
    client = app.test_client()

    def classify(sample: Sample) -> Outcome:
        response = client.post("/predict", data=sample.data, content_type=sample.content_type)
        body = response.get_json(silent=True) or {}
        if response.status_code != 200:
            code = (body.get("error") or {}).get("code", f"HTTP {response.status_code}")
            return Outcome(sample, None, code, None)
        return Outcome(sample, int(body["digit"]), None, np.asarray(body["input"], dtype=np.uint8))

    return classify


def evaluate(samples: list[Sample], classify: Callable[[Sample], Outcome]) -> dict[str, list[Outcome]]:
    """Outcomes grouped by kind, in order of first appearance."""
    by_kind: dict[str, list[Outcome]] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(classify(sample))
    return by_kind


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.correct for o in outcomes) / max(len(outcomes), 1)


def report_table(by_kind: dict[str, list[Outcome]]) -> str:
    """A Markdown table of accuracy per kind and overall."""
    lines = ["| kind | images | correct | accuracy |", "| --- | ---: | ---: | ---: |"]
    everything = []
    for kind, outcomes in by_kind.items():
        everything += outcomes
        correct = sum(o.correct for o in outcomes)
        lines.append(f"| {kind} | {len(outcomes)} | {correct} | {100 * accuracy(outcomes):.1f}% |")
    correct = sum(o.correct for o in everything)
    lines.append(f"| **all** | {len(everything)} | {correct} | **{100 * accuracy(everything):.1f}%** |")
    return "\n".join(lines)


def save_grids(by_kind: dict[str, list[Outcome]], directory: Path) -> None:
    """Per kind, a grid of the 28×28 network inputs (misread ones framed in grey)."""
    directory.mkdir(parents=True, exist_ok=True)
    for kind, outcomes in by_kind.items():
        columns = 10
        rows = math.ceil(len(outcomes) / columns)
        grid = Image.new("L", (columns * 30, rows * 30), 0)
        for i, outcome in enumerate(outcomes):
            x, y = (i % columns) * 30, (i // columns) * 30
            if not outcome.correct:
                grid.paste(96, (x, y, x + 30, y + 30))
            if outcome.network_input is not None:
                grid.paste(Image.fromarray(outcome.network_input, "L"), (x + 1, y + 1))
        grid.resize((grid.width * 3, grid.height * 3), Image.Resampling.NEAREST).save(
            directory / f"{kind}.png"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--report", action="store_true", help="classify the set through /predict, print the table"
    )
    parser.add_argument(
        "--weights", help="weights file (default: the committed model/weights/digit_lens.npz)"
    )
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR, else data/mnist)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--grid-dir", type=Path, help="save per-kind grids of the network inputs here")
    parser.add_argument("--failures", action="store_true", help="list every misread image")
    args = parser.parse_args(argv)

    from model import checkpoint, mnist

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    started = time.perf_counter()
    samples = generate(data.test_images, data.test_labels, args.seed)
    generated = time.perf_counter() - started
    print(f"generated {len(samples)} images in {generated:.1f} s (seed {args.seed})")
    if not args.report:
        return 0

    from app import create_app

    weights = args.weights or str(checkpoint.DEFAULT_WEIGHTS)
    app = create_app({"WEIGHTS_PATH": weights, "TESTING": True})
    started = time.perf_counter()
    by_kind = evaluate(samples, api_classifier(app))
    print(f"classified through POST /predict in {time.perf_counter() - started:.1f} s with {weights}\n")
    print(report_table(by_kind))
    if args.failures:
        print()
        for outcomes in by_kind.values():
            for o in outcomes:
                if not o.correct:
                    got = o.predicted if o.error is None else o.error
                    print(f"{o.sample.kind}: true {o.sample.label}, got {got} — {o.sample.note}")
    if args.grid_dir:
        save_grids(by_kind, args.grid_dir)
        print(f"\ngrids of the network inputs in {args.grid_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
