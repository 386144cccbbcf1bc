"""Images that are not digits, for outlier exposure in training (see ``model.outlier_exposure``).

Four kinds, each drawn large with Pillow and then put in MNIST's form (ink fitted to a
20×20 box, centred by mass in 28×28, white on black) like the app's preprocessing does:

* ``letters``: letters typeset in the installed DejaVu fonts that look like no digit
  (Latin, a few Greek and Cyrillic), at random size, slant and weight;
* ``symbols``: typeset signs (# % & @ € …);
* ``shapes``: polygons, stars, crosses, hashes, spirals, waves, arrows, filled blobs;
* ``scribbles``: random smooth strokes;
* ``glyphs``: made-up letters, 3–5 pen strokes (lines and arcs), often starting where the last ended;
* ``words``: two of the letters side by side.

Left out, because drawn by hand they look like digits: O o Q D C c (0), I l i j J T t (1, 7),
Z z (2), S s (5), G b (6), B (8), g q (9); ! ? / \\ | ( ) [ ] { } . , - _ : ; $; plain circles,
ovals and single straight lines. The non-digit test set in ``harness/nondigits`` uses other
fonts (Liberation) and other drawing code, so what it measures is not what was trained on.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model import mnist_geometry

KINDS = ("letters", "symbols", "shapes", "scribbles", "glyphs", "words")
LETTERS = "AEFHKLMNPRUVWXYadefhkmnpruvwxy" + "ΓΔΛΞΠΣΦΨΩαβδζλμξπφψω" + "ДЖИЛФШЩЫЮЯжилфшщыюя"
SYMBOLS = "#%&@*+=<>~^§¶©®€£¥±×÷∞≈≠√∑♠♣♥♦★☺"
FONT_DIRECTORIES = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
CANVAS = 112  # drawn at this size, then fitted to MNIST's 20×20 box


def font_paths() -> list[Path]:
    """The installed DejaVu fonts (Debian's fonts-dejavu-core), sorted; empty if there are none."""
    found = {p for d in FONT_DIRECTORIES if d.is_dir() for p in d.rglob("DejaVu*.ttf")}
    # The math font draws letters as symbols only; the rest cover Latin, Greek and Cyrillic.
    return sorted(p for p in found if "Math" not in p.name)


def to_mnist_form(ink: np.ndarray) -> np.ndarray:
    """Ink strength (H, W) in [0, 1] → (28, 28) float32: cropped, longer side fitted to 20 px
    (Lanczos), centred by mass, as MNIST digits (and the app's preprocessing) are."""
    crop = mnist_geometry.ink_crop(ink)
    if crop is None:
        return np.zeros((28, 28), dtype=np.float32)
    size = mnist_geometry.fitted_size(crop.shape, mnist_geometry.BOX)
    fitted = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS))
    # Half a pixel right of and below the app's centre: what the committed weights were trained on.
    return mnist_geometry.centre_by_mass(fitted.astype(np.float32) / 255.0, centre=14.5)


def _blank() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (CANVAS, CANVAS), 0)
    return image, ImageDraw.Draw(image)


def _ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


def _brush(rng: np.random.Generator, extent: float = CANVAS * 0.76) -> int:
    """A pen width that ends up 1.5–3 px wide once a drawing ``extent`` px across is fitted to
    the 20 px box, as MNIST's strokes are."""
    return max(2, round(extent * rng.uniform(0.075, 0.15)))


def _extent(strokes) -> float:
    points = np.vstack(strokes)
    return float(np.ptp(points, axis=0).max())


def _stroke(draw, points, width: int) -> None:
    draw.line([tuple(map(float, p)) for p in points], fill=255, width=width, joint="curve")
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)


def _has_glyph(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """False when the font would draw its "missing glyph" box for ``text``."""
    missing = font.getmask("\U000e0fff")
    drawn = font.getmask(text)
    return drawn.size != missing.size or bytes(drawn) != bytes(missing)


def _typeset(text: str, fonts: list[Path], rng: np.random.Generator) -> np.ndarray:
    """One character in a random font that has it, slanted and stretched a little."""
    size = int(rng.integers(60, 90))
    for index in rng.permutation(len(fonts)):
        font = ImageFont.truetype(str(fonts[index]), size)
        if _has_glyph(font, text):
            break
    image, draw = _blank()
    draw.text((CANVAS / 2, CANVAS / 2), text, fill=255, font=font, anchor="mm")
    shear, stretch = rng.uniform(-0.3, 0.3), rng.uniform(0.8, 1.25)
    image = image.transform(
        image.size, Image.Transform.AFFINE, (stretch, shear, -shear * CANVAS / 2, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )
    return _ink(image)


def _around(rng, n: int, radius: float, wobble: float) -> np.ndarray:
    """n points around the centre at random angles' order, radius jittered (n, 2)."""
    angles = np.sort(rng.uniform(0, 2 * math.pi, n)) + rng.uniform(0, 2 * math.pi)
    r = radius * (1 + rng.uniform(-wobble, wobble, n))
    return np.stack([CANVAS / 2 + r * np.cos(angles), CANVAS / 2 + r * np.sin(angles)], axis=1)


def _shape(rng: np.random.Generator) -> np.ndarray:
    image, draw = _blank()
    width = _brush(rng)
    c, r = CANVAS / 2, CANVAS * 0.38
    kind = rng.integers(10)
    if kind == 0:  # polygon of 3–7 corners
        points = _around(rng, int(rng.integers(3, 8)), r, 0.3)
        _stroke(draw, np.vstack([points, points[:1]]), width)
    elif kind == 1:  # star of 5–8 points
        n = int(rng.integers(5, 9))
        angles = np.arange(2 * n) * math.pi / n + rng.uniform(0, math.pi)
        radii = np.where(np.arange(2 * n) % 2 == 0, r, r * rng.uniform(0.3, 0.55))
        points = np.stack([c + radii * np.cos(angles), c + radii * np.sin(angles)], axis=1)
        _stroke(draw, np.vstack([points, points[:1]]), width)
    elif kind == 2:  # cross, X or asterisk of 2–4 bars
        for angle in np.arange(int(rng.integers(2, 5))) * math.pi / rng.integers(2, 5) + rng.uniform(0, 1):
            dx, dy = r * math.cos(angle), r * math.sin(angle)
            _stroke(draw, [(c - dx, c - dy), (c + dx, c + dy)], width)
    elif kind == 3:  # hash / grid: 2–4 lines each way
        for i in np.linspace(-r * 0.6, r * 0.6, int(rng.integers(2, 5))):
            _stroke(draw, [(c + i, c - r), (c + i, c + r)], width)
            _stroke(draw, [(c - r, c + i), (c + r, c + i)], width)
    elif kind == 4:  # spiral of 1.5–3 turns
        t = np.linspace(0, rng.uniform(3, 6) * math.pi, 80)
        radius = r * (0.1 + 0.9 * t / t[-1])
        _stroke(draw, np.stack([c + radius * np.cos(t), c + radius * np.sin(t)], axis=1), width)
    elif kind == 5:  # wave or zig-zag across
        x = np.linspace(c - r, c + r, 60 if rng.random() < 0.5 else int(rng.integers(5, 10)))
        y = c + r * 0.5 * np.sin(np.linspace(0, rng.uniform(3, 8) * math.pi, len(x)))
        _stroke(draw, np.stack([x, y], axis=1), width)
    elif kind == 6:  # filled blob
        draw.polygon([tuple(p) for p in _around(rng, 9, r, 0.35)], fill=255)
    elif kind == 7:  # arrow
        _stroke(draw, [(c - r, c), (c + r, c)], width)
        _stroke(draw, [(c + r * 0.5, c - r * 0.45), (c + r, c), (c + r * 0.5, c + r * 0.45)], width)
        image = image.rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR)
    elif kind == 8:  # two or three separate small shapes
        for _ in range(int(rng.integers(2, 4))):
            x, y = rng.uniform(c - r * 0.7, c + r * 0.7, 2)
            s = r * rng.uniform(0.2, 0.4)
            draw.rectangle((x - s, y - s, x + s, y + s), outline=255, width=width)
    else:  # rectangle, tilted
        w, h = r * rng.uniform(0.5, 1.0), r * rng.uniform(0.5, 1.0)
        draw.rectangle((c - w, c - h, c + w, c + h), outline=255, width=width)
        image = image.rotate(rng.uniform(-30, 30), resample=Image.Resampling.BILINEAR)
    return _ink(image)


def _scribble(rng: np.random.Generator) -> np.ndarray:
    """A smooth random stroke through 5–14 points (a closed-form spline of random points)."""
    image, draw = _blank()
    n = int(rng.integers(5, 15))
    points = rng.uniform(CANVAS * 0.1, CANVAS * 0.9, (n, 2))
    t = np.linspace(0, n - 1, 12 * n)
    smooth = np.stack([np.interp(t, np.arange(n), points[:, k]) for k in range(2)], axis=1)
    kernel = np.ones(9) / 9
    smooth = np.stack(
        [np.convolve(np.pad(smooth[:, k], 4, mode="edge"), kernel, "valid") for k in range(2)], axis=1
    )
    _stroke(draw, smooth, _brush(rng, _extent([smooth])))
    return _ink(image)


def _glyph(rng: np.random.Generator) -> np.ndarray:
    """A made-up letter: 3–5 strokes, each a line or an arc, most starting where the last ended."""
    low, high = CANVAS * 0.12, CANVAS * 0.88
    point = rng.uniform(low, high, 2)
    strokes = []
    for _ in range(int(rng.integers(3, 6))):
        start = point if rng.random() < 0.7 else rng.uniform(low, high, 2)
        if rng.random() < 0.55:
            end = rng.uniform(low, high, 2)
            points = np.stack([start, end])
        else:
            radius = rng.uniform(0.12, 0.35) * CANVAS
            begin = rng.uniform(0, 2 * math.pi)
            turn = rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) * math.pi
            angles = begin + np.linspace(0, turn, 16)
            centre = start - radius * np.array([math.cos(begin), math.sin(begin)])
            points = centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            points = np.clip(points, low, high)
        strokes.append(points)
        point = points[-1]
    image, draw = _blank()
    width = _brush(rng, _extent(strokes))
    for points in strokes:
        _stroke(draw, points, width)
    return _ink(image)


def _word(fonts: list[Path], rng: np.random.Generator) -> np.ndarray:
    """Two letters side by side in one font."""
    text = "".join(LETTERS[i] for i in rng.integers(len(LETTERS), size=2))
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(rng.integers(36, 60)))
    image = Image.new("L", (CANVAS * 2, CANVAS), 0)
    ImageDraw.Draw(image).text((CANVAS, CANVAS / 2), text, fill=255, font=font, anchor="mm")
    return _ink(image)


def generate(count: int, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> np.ndarray:
    """``count`` outlier images (count, 1, 28, 28) float32 in [0, 1], the kinds taking turns.

    Without DejaVu fonts, letters, symbols and words are left out (the kinds that need none remain).
    """
    fonts = font_paths()
    if not fonts:
        kinds = tuple(k for k in kinds if k not in ("letters", "symbols", "words"))
    images = np.empty((count, 1, 28, 28), dtype=np.float32)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "letters":
            ink = _typeset(LETTERS[rng.integers(len(LETTERS))], fonts, rng)
        elif kind == "symbols":
            ink = _typeset(SYMBOLS[rng.integers(len(SYMBOLS))], fonts, rng)
        elif kind == "shapes":
            ink = _shape(rng)
        elif kind == "glyphs":
            ink = _glyph(rng)
        elif kind == "words":
            ink = _word(fonts, rng)
        else:
            ink = _scribble(rng)
        images[i, 0] = to_mnist_form(ink)
    return images
