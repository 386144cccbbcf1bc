"""Digits whose ink is not equally dark everywhere, as in real scans of handwriting: one side
faded (a pen running dry, uneven pressure), low-resolution scans enlarged, pencil pressed
unevenly on textured paper. Each is on paper with grain, so "keep the faint ink" cannot mean
"keep everything faint".

Kinds (FAINT_KINDS):

* ``mnist_faded_side`` — an MNIST test digit on a grainy scan, one side of it fading to
  12–40% of the ink's darkness (a 0 whose left half is faint must not become a "C");
* ``typed_faded_side`` — a typeset digit, faded the same way;
* ``mnist_lowres_scan`` — the digit scanned at 8×8 to 16×16 pixels on noisy paper (thin
  strokes average to grey) and enlarged bicubically 8–24×: thick, blurred, soft strokes
  with blotchy paper around them;
* ``mnist_pencil_pressure`` — pencil: graphite grain, pressure varying along the strokes down
  to 15–40%, on paper with a fibre texture.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.realworld.mnist_renderings import add_grain, noise_tile, paint, upscaled_ink
from harness.realworld.samples import Sample, jpeg_upload, png_upload
from harness.realworld.typed import font_paths

FAINT_PER_KIND = 25


def _fade(rng: np.random.Generator, shape: tuple[int, int], faint: float) -> np.ndarray:
    """A factor (H, W): full (1) on one side of the image, falling to ``faint`` on the other
    across a soft edge through the middle, in a random direction."""
    height, width = shape
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = (np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5)) * 2
    softness = rng.uniform(0.15, 0.5)
    centre = rng.uniform(-0.25, 0.25)
    return faint + (1 - faint) / (1 + np.exp(np.clip((along - centre) / softness, -50, 50)))


def _smooth_field(rng: np.random.Generator, size: int, low: float) -> np.ndarray:
    """A random smooth factor (size, size) between ``low`` and 1: a few bumps across the image."""
    coarse = rng.uniform(0, 1, (4, 4)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse, "F").resize((size, size), Image.Resampling.BICUBIC))
    field = (field - field.min()) / max(float(field.max() - field.min()), 1e-6)
    return low + (1 - low) * field


def _grainy_paper(rng: np.random.Generator, size: tuple[int, int], sigma: float) -> Image.Image:
    """Off-white paper (width, height) with grain of standard deviation ``sigma`` (of 255)."""
    tone = rng.uniform(225, 250)
    paper = Image.new("RGB", size, (int(tone), int(tone - 2), int(tone - 8)))
    return add_grain(paper, noise_tile(rng, size, sigma))


def _mnist_faded_side(rng, digit):
    size = int(rng.integers(200, 500))
    digit_size = int(size * rng.uniform(0.4, 0.8))
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    faint = rng.uniform(0.12, 0.4)
    ink = np.zeros((size, size), dtype=np.float32)
    ink[y : y + digit_size, x : x + digit_size] = upscaled_ink(digit, digit_size) * _fade(
        rng, (digit_size, digit_size), faint
    )
    paper = np.asarray(_grainy_paper(rng, (size, size), rng.uniform(2, 6)), dtype=np.float32)
    image = Image.fromarray(paint(ink * rng.uniform(0.8, 0.95), paper, (25, 25, 40)), "RGB")
    quality = int(rng.integers(70, 93))
    return (*jpeg_upload(image, quality), f"one side faded to {faint:.2f}, JPEG q{quality}")


def _mnist_lowres_scan(rng, digit):
    side = int(rng.integers(8, 17))
    # The scanner's sensor averages the digit over its pixels; thin strokes turn grey.
    coverage = np.asarray(
        Image.fromarray(digit.astype(np.float32) / 255, "F").resize((side, side), Image.Resampling.BOX)
    )
    paper_tone, ink_tone = rng.uniform(190, 240), rng.uniform(20, 90)
    noise = rng.normal(0, rng.uniform(3, 9), (side, side)).astype(np.float32)
    grey = paper_tone - (paper_tone - ink_tone) * np.clip(coverage, 0, 1) + noise
    small = Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L")
    factor = int(rng.integers(8, 25))
    image = small.resize((side * factor, side * factor), Image.Resampling.BICUBIC)
    note = f"{side}×{side} scan enlarged {factor}× bicubically"
    if rng.random() < 0.5:
        return (*jpeg_upload(image, int(rng.integers(75, 95))), note + ", JPEG")
    return (*png_upload(image), note)


def _mnist_pencil_pressure(rng, digit):
    size = int(rng.integers(300, 800))
    digit_size = int(size * rng.uniform(0.3, 0.7))
    low = rng.uniform(0.15, 0.4)
    grain = np.clip(rng.normal(1.0, 0.3, (digit_size, digit_size)), 0, 1.5).astype(np.float32)
    pressure = _smooth_field(rng, digit_size, low)
    darkness = rng.uniform(0.45, 0.8)
    coverage = upscaled_ink(digit, digit_size) * pressure * grain * darkness
    ink = np.zeros((size, size), dtype=np.float32)
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink[y : y + digit_size, x : x + digit_size] = np.clip(coverage, 0, 1)
    # Paper fibres: grain stretched along one direction.
    fibres = noise_tile(rng, (size // 4 + 1, size + 1), rng.uniform(3, 6)).resize(
        (size + 1, size + 1), Image.Resampling.BILINEAR
    )
    if rng.random() < 0.5:
        fibres = fibres.transpose(Image.Transpose.TRANSPOSE)
    paper = add_grain(Image.new("RGB", (size, size), (246, 245, 240)), fibres.crop((0, 0, size, size)))
    image = Image.fromarray(paint(ink, np.asarray(paper, dtype=np.float32), (50, 50, 55)), "RGB")
    return (*jpeg_upload(image, int(rng.integers(80, 93))), f"pencil, pressure down to {low:.2f}")


def _typed_faded_side(rng, path, digit):
    size = int(rng.integers(60, 200))
    font = ImageFont.truetype(str(path), size)
    left, top, right, bottom = font.getbbox(str(digit))
    width, height = right - left + int(rng.integers(16, 120)), bottom - top + int(rng.integers(16, 120))
    coverage = Image.new("L", (width, height), 0)
    x = int(rng.integers(0, width - (right - left) + 1)) - left
    y = int(rng.integers(0, height - (bottom - top) + 1)) - top
    ImageDraw.Draw(coverage).text((x, y), str(digit), fill=255, font=font)
    faint = rng.uniform(0.12, 0.4)
    ink = np.asarray(coverage, dtype=np.float32) / 255 * _fade(rng, (height, width), faint)
    paper = np.asarray(_grainy_paper(rng, (width, height), rng.uniform(2, 5)), dtype=np.float32)
    image = Image.fromarray(paint(ink * 0.9, paper, (20, 20, 20)), "RGB")
    return (*png_upload(image), f"{path.stem} {size}pt, one side faded to {faint:.2f}")


FAINT_KINDS: dict[str, Callable] = {
    "mnist_faded_side": _mnist_faded_side,
    "mnist_lowres_scan": _mnist_lowres_scan,
    "mnist_pencil_pressure": _mnist_pencil_pressure,
}


def faint_samples(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> list[Sample]:
    """FAINT_PER_KIND MNIST test digits (images (N, 28, 28) uint8) per kind of FAINT_KINDS, then
    FAINT_PER_KIND typeset digits faded on one side (``typed_faded_side``; none without fonts)."""
    chosen = rng.choice(len(images), size=FAINT_PER_KIND * len(FAINT_KINDS), replace=False)
    samples = []
    for k, (kind, render) in enumerate(FAINT_KINDS.items()):
        for index in chosen[k * FAINT_PER_KIND : (k + 1) * FAINT_PER_KIND]:
            data, content_type, note = render(rng, images[index])
            samples.append(
                Sample(
                    kind, int(labels[index]), data, content_type, f"MNIST test #{index}: {note}", int(index)
                )
            )
    fonts = font_paths()
    for k in range(FAINT_PER_KIND if fonts else 0):
        path, digit = fonts[int(rng.integers(len(fonts)))], k % 10
        data, content_type, note = _typed_faded_side(rng, path, digit)
        samples.append(Sample("typed_faded_side", digit, data, content_type, note))
    return samples
