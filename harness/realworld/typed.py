"""Typed digits: every digit in every installed DejaVu and Liberation font, at random size and
position, mostly dark on light."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.realworld.samples import Sample, png_upload

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
            samples.append(Sample(kind, digit, *png_upload(image), f"{path.stem} {size}pt"))
    return samples
