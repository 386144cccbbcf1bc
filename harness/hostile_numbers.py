"""Hostile images for ``POST /predict/number``: ink that would cost segmentation dearly if its
pieces were not bounded (added to the corpus by ``harness.hostile.cases``)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from harness.hostile import HostileCase
from harness.images import encode

_REFUSED = frozenset({400, 413, 422})


def speckle_field(side: int, density: float = 0.03, seed: int = 0) -> bytes:
    """A ``side``² 1-bit PNG of black specks (``density`` of the pixels) on white."""
    specks = np.random.default_rng(seed).random((side, side)) < density
    return encode(Image.fromarray(~specks), "PNG", optimize=True)


def blobs(side: int, count: int, radius: int, seed: int = 0) -> bytes:
    """A ``side``² grey PNG of ``count`` black discs of ``radius`` pixels, scattered on white."""
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for x, y in np.random.default_rng(seed).integers(radius, side - radius, (count, 2)).tolist():
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return encode(image, "PNG")


def bars(count: int, height: int = 80) -> bytes:
    """A PNG of ``count`` upright bars in a row, each the size of a digit (a row of 1s)."""
    gap, width = height // 2, max(4, height // 10)
    image = Image.new("L", (count * (gap + width) + gap, height * 2), 255)
    draw = ImageDraw.Draw(image)
    for k in range(count):
        x = gap + k * (gap + width)
        draw.rectangle((x, height // 2, x + width, height // 2 + height), fill=0)
    return encode(image, "PNG")


def wide_pieces(count: int = 3, height: int = 120) -> bytes:
    """A PNG of ``count`` wide pieces of ink in a row, each a chain of rings as wide as three
    digits: every one is tried for cuts, the most work a number can ask of the cutting."""
    image = Image.new("L", (count * 4 * height, 2 * height), 255)
    draw = ImageDraw.Draw(image)
    for k in range(count):
        for ring in range(4):
            x = k * 4 * height + ring * height * 3 // 4
            draw.ellipse((x, height // 2, x + height, height // 2 + height), outline=0, width=height // 10)
    return encode(image, "PNG")


def number_cases(max_image_pixels: int = 4096 * 4096) -> list[HostileCase]:
    """The cases, for a server whose images hold at most ``max_image_pixels``."""
    side = int(max_image_pixels**0.5)
    return [
        HostileCase(f"number: speckle field {side} x {side}", "/predict/number", "image/png",
                    lambda: speckle_field(side), _REFUSED | {200}),
        HostileCase(f"number: 1,000 blobs on {side // 2} x {side // 2}", "/predict/number", "image/png",
                    lambda: blobs(side // 2, 1000, max(2, side // 1000)), _REFUSED | {200}),
        HostileCase(f"number: 10,000 blobs on {side} x {side}", "/predict/number", "image/png",
                    lambda: blobs(side, 10_000, max(2, side // 2000)), _REFUSED | {200}),
        HostileCase("number: 3 pieces each 3 digits wide (the most cutting)", "/predict/number", "image/png",
                    lambda: wide_pieces(), _REFUSED | {200}),
        HostileCase("number: 40 digit-sized bars", "/predict/number", "image/png",
                    lambda: bars(40), frozenset({422}), "too_many_digits"),
    ]
