"""Any uploaded image in, the 28×28 MNIST-style network input out.

MNIST digits are white ink (1.0) on black (0.0): the ink's bounding box scaled, aspect ratio
kept, to fit 20×20 with anti-aliasing, then placed in 28×28 with the centre of mass of the ink
at the centre. Uploads look nothing like that, so ``to_mnist``:

1. flattens the image (a drawing on transparency read from its opacity, other alpha composited
   over white paper, 16-bit rescaled, dithered 1-bit smoothed) to grey or RGB of bounded size;
2. in a coarse copy (≤ COARSE_SIDE), models the paper as a smooth quadratic surface fitted from
   the border inwards (the ink is the minority that does not fit), so gradients drop out, and
   takes out broad faint shade (a sharp shadow edge) by a morphological opening;
3. decides the ink polarity from which side of the paper the outlying thin strokes lie, and
   reads coloured ink through the minimum (or maximum) channel;
4. measures the paper's noise and the ink's contrast: an image whose strongest "ink" is a faint
   smudge or no stronger than its noise has no digit;
5. finds the main ink mass (specks cut off by empty space are dropped, detached strokes near the
   digit kept), then re-reads just that box from the full image at 4× the output scale, drops
   dust blobs, normalises the stroke width to MNIST's, fits 20×20 with area averaging and
   centres by mass.

All functions are pure and thread-safe: nothing global is read or written at call time.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageOps

from app import canvas_png

SIZE = 28  # side of the network input
BOX = 20  # the ink's bounding box fits in BOX×BOX, as in MNIST
SUPERSAMPLE = 4  # stroke width is normalised at SUPERSAMPLE× the output resolution
FINE_BOX = BOX * SUPERSAMPLE
SOURCE_MAX_SIDE = 1024  # larger images are reduced (area averaging) first: plenty for one digit
COARSE_SIDE = 128  # the paper model and the search for the ink run at this size
JPEG_DRAFT_SIDE = 1024  # large JPEGs are decoded at 1/2, 1/4 or 1/8 scale, but not below this
# Decoders tried, and no others (JPEG covers MPO, the multi-picture JPEG of some phones).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
QUANTILE_BINS = 1024
_NUMBER_TYPES = frozenset({int, float})  # what a JSON number parses to

# Register every Pillow decoder now, at import (start-up), rather than inside the first request
# that names a format Pillow does not preload (WebP, TIFF).
Image.init()

MIN_CONTRAST = 0.10  # ink must differ from the paper by ≥ 10% of the full range...
MIN_SIGNAL_TO_NOISE = 6.0  # ...and by ≥ 6 noise standard deviations
# A run of ink beside the main one is part of the digit when the gap is under PART_GAP of the
# digit's extent and it holds at least PART_MASS of the ink so far.
PART_GAP = 0.35
PART_MASS = 0.03
SPECK_MASS = 0.06  # a separate blob with less ink than this share of the digit's main part is dust
MAX_BORDER_INK = 0.35  # "ink" along more of the image's border than this is shade, not a digit
BLOT_RATIO = 0.36  # stroke width / longest bbox side above this: a blot, not a digit
# Median stroke width of MNIST test digits upscaled SUPERSAMPLE× (bilinear), by _stroke_width
# (10th percentile 5.5, 90th 10.2); much thinner or thicker strokes are brought towards it.
TARGET_STROKE_WIDTH = 7.3


class PreprocessingError(ValueError):
    """An upload that cannot become a network input; ``code`` and ``status`` go to the client."""

    code = "invalid_image"
    status = 400


class InvalidImage(PreprocessingError):
    """Not a decodable image: unknown format, truncated, corrupt."""

    code = "invalid_image"
    status = 400


class ImageTooLarge(PreprocessingError):
    """Declared width × height above the pixel limit (checked before decoding)."""

    code = "image_too_large"
    status = 413


class InvalidPixels(PreprocessingError):
    """A JSON pixel array that is not 28 rows of 28 numbers in [0, 1] or [0, 255]."""

    code = "invalid_pixels"
    status = 400


class NoDigitFound(PreprocessingError):
    """A decodable image with no ink on it (blank, uniform, noise or paper texture only)."""

    code = "no_digit_found"
    status = 422


# ---------------------------------------------------------------------------------------------
# Decoding


def load_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode ``data`` (PNG, JPEG, WebP, GIF, BMP, TIFF; first frame), honouring EXIF rotation.

    The declared size is checked against ``max_pixels`` from the header alone, before any pixel
    is decoded. Large JPEGs are decoded at a reduced scale (the digit needs far fewer pixels).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidImage(f"image data must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise InvalidImage("the image is empty (0 bytes)")
    try:
        # Image.open reads the header only. Pillow's own bomb check (a warning above its limit,
        # an error above twice that) may fire here; a warning turned into an error by the
        # warnings filter lands in the same place. Neither is configured globally here: the
        # caller's max_pixels is checked right below.
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"the image is far too large: {exc}") from exc
    except Exception as exc:  # Pillow raises many exception types for junk; all mean "not an image"
        raise InvalidImage(
            "not a readable image (accepted formats: PNG, JPEG, WebP, GIF, BMP, TIFF)"
        ) from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage(f"the image has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}×{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    try:
        if image.format in ("JPEG", "MPO") and max(width, height) > 2 * JPEG_DRAFT_SIDE:
            scale = max(width, height) / JPEG_DRAFT_SIDE
            image.draft(image.mode, (max(1, int(width / scale)), max(1, int(height / scale))))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"the image is far too large: {exc}") from exc
    except Exception as exc:  # truncated data, bad compressed stream, decoder errors
        raise InvalidImage(f"the image could not be decoded: {exc}") from exc
    # A corrupt EXIF block should not cost the user the image: keep it unrotated. In place:
    # otherwise every image without a rotation would be copied whole.
    with contextlib.suppress(Exception):
        ImageOps.exif_transpose(image, in_place=True)
    return image


# ---------------------------------------------------------------------------------------------
# Flattening to one grey (or colour) image of bounded size


class _Flat(NamedTuple):
    image: Image.Image  # mode "L" or "RGB", longest side ≤ SOURCE_MAX_SIDE
    # A drawing on transparency: ``image`` is then its opacity, the ink itself (mode "L", 255 =
    # full ink, 0 = none: no paper, no noise), all of it inside this (left, top, right, bottom).
    ink_box: tuple[int, int, int, int] | None = None


def _flatten(image: Image.Image) -> _Flat:
    """Any mode → "L" or "RGB" with alpha composited, reduced to ≤ SOURCE_MAX_SIDE."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return _Flat(_high_depth_to_grey(image))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "1":
        # Bilevel scans are often dithered: a 3×3 mean turns the dot patterns back into grey.
        image = image.convert("L").filter(ImageFilter.BoxBlur(1))
    elif mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            image = image.convert("RGB")
        except Exception as exc:
            raise InvalidImage(f"unsupported image mode {mode}") from exc
    factor = math.ceil(max(image.size) / SOURCE_MAX_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    if image.mode in ("LA", "RGBA"):
        return _composite_alpha(image)
    return _Flat(image)


def _composite_alpha(image: Image.Image) -> _Flat:
    """An image with alpha, flattened. A drawing on transparency (a canvas export) keeps its ink
    in alpha: the colour of its transparent pixels means nothing (often black), and a browser
    keeps the ink's colour exactly only where the ink is solid. So its opacity is the ink,
    whatever the colour. Opaque paper with transparent holes is composited over white."""
    ink_box = image.getbbox(alpha_only=True)  # around every pixel that is not fully transparent
    if ink_box is None:  # a blank canvas
        return _Flat(Image.new("L", image.size, 0), (0, 0, 0, 0))
    if not _clear_of_border(image.size, ink_box):
        colour_mode = "RGB" if image.mode == "RGBA" else "L"
        alpha = image.getchannel("A")
        if alpha.getextrema()[0] == 255:
            return _Flat(image.convert(colour_mode))
        # Is the border opaque? Judged on a reduced copy: a few opaque border pixels are not paper.
        factor = _border_block(image.size)
        small_alpha = np.asarray(alpha.reduce(factor), dtype=np.float32)
        border = np.concatenate([small_alpha[0], small_alpha[-1], small_alpha[:, 0], small_alpha[:, -1]])
        if 2 * np.count_nonzero(border >= 128) >= border.size:
            # Opaque paper with transparent holes: the holes are paper too.
            backdrop = Image.new(colour_mode, image.size, (255,) * len(colour_mode))
            return _Flat(Image.composite(image.convert(colour_mode), backdrop, alpha))
    # Transparent surroundings: the opacity is the ink, all of it inside ink_box, so only that
    # box is read.
    ink = Image.new("L", image.size, 0)
    ink.paste(image.crop(ink_box).getchannel("A"), ink_box)
    return _Flat(ink, ink_box)


def _border_block(size: tuple[int, int]) -> int:
    """Side of the blocks in which the border of an image with alpha is judged."""
    return max(1, min(size) // 32)


def _clear_of_border(size: tuple[int, int], ink_box: tuple[int, int, int, int]) -> bool:
    """Whether the non-transparent pixels (in ``ink_box``) of an image of ``size`` keep clear of
    its border, beyond the outer ring of blocks that the border test of _composite_alpha judges:
    then the image is a drawing on transparency."""
    width, height = size
    factor = _border_block(size)
    inner_right = (math.ceil(width / factor) - 1) * factor
    inner_bottom = (math.ceil(height / factor) - 1) * factor
    left, top, right, bottom = ink_box
    return left >= factor and top >= factor and right <= inner_right and bottom <= inner_bottom


def _drawing_from_alpha(alpha: np.ndarray) -> _Flat | None:
    """The _Flat of an image with alpha known only by its alpha plane ``alpha`` (H, W) uint8:
    what _composite_alpha makes of it when it is a drawing on transparency (or blank), else None."""
    height, width = alpha.shape
    if max(width, height) > SOURCE_MAX_SIDE:
        return None  # _flatten would reduce it first
    ink = Image.frombuffer("L", (width, height), alpha, "raw", "L", 0, 1)
    ink_box = ink.getbbox()
    if ink_box is None:
        return _Flat(ink, (0, 0, 0, 0))
    if not _clear_of_border(ink.size, ink_box):
        return None
    return _Flat(ink, ink_box)


def _reduced_drawing(flat: _Flat, factor: int) -> np.ndarray:
    """The ink of a drawing on transparency (``flat`` with an ink box) reduced ``factor``× by area
    averaging: (H', W') uint8. Only the cells that overlap the ink box are computed (the same
    values as reducing the whole image); the others hold no ink."""
    image = flat.image
    if factor == 1:
        return _pixels(image)
    width, height = image.size
    reduced = np.zeros((math.ceil(height / factor), math.ceil(width / factor)), np.uint8)
    left, top, right, bottom = flat.ink_box
    left, top = left // factor, top // factor
    right, bottom = math.ceil(right / factor), math.ceil(bottom / factor)
    if right > left and bottom > top:
        box = (left * factor, top * factor, min(right * factor, width), min(bottom * factor, height))
        reduced[top:bottom, left:right] = _pixels(image.reduce(factor, box=box))
    return reduced


# Ink strength in [0, 1] of each level of a drawing's ink (float32).
_LEVEL_STRENGTH = np.arange(256, dtype=np.uint8) * np.float32(1 / 255)


def _high_depth_to_grey(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer or float images, rescaled by their evident range, as mode "L"."""
    if image.mode not in ("I", "F"):
        image = image.convert("I")
    factor = math.ceil(max(image.size) / SOURCE_MAX_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    values = np.asarray(image, dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        raise NoDigitFound("no digit found: the image holds no finite pixel values")
    high = float(values[finite].max())
    if image.mode == "F" and high <= 1.0:
        full_scale = 1.0
    elif high <= 255:
        full_scale = 255.0
    elif high <= 65535:
        full_scale = 65535.0
    else:
        full_scale = high
    values = np.where(finite, values, 0.0) * np.float32(255 / full_scale)
    return Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), "L")


def _extreme_channel(image: Image.Image, dark_ink: bool) -> Image.Image:
    """Coloured ink (blue ballpoint, red marker) is dark in at least one channel while paper is
    light in all: the minimum channel holds dark ink at full contrast (the maximum, light ink)."""
    red, green, blue = image.split()
    pick = ImageChops.darker if dark_ink else ImageChops.lighter
    return pick(pick(red, green), blue)


def _pixels(image: Image.Image) -> np.ndarray:
    """The pixels of a one-band image as a read-only (H, W) array: np.asarray goes through
    Pillow's array interface, several times slower for the small images read here."""
    dtype = {"L": np.uint8, "F": np.float32, "I": np.int32}[image.mode]
    return np.frombuffer(image.tobytes(), dtype=dtype).reshape(image.height, image.width)


def _unit_image(values: np.ndarray) -> Image.Image:
    """A mode "F" image sharing the memory of C-contiguous float32 ``values`` (H, W)."""
    return Image.frombuffer("F", (values.shape[1], values.shape[0]), values, "raw", "F", 0, 1)


def _as_unit_array(image: Image.Image) -> np.ndarray:
    return _pixels(image) * np.float32(1 / 255)


# ---------------------------------------------------------------------------------------------
# Paper model: a smooth quadratic surface in coordinates normalised to [-1, 1] over the whole
# image, fitted robustly (the ink is the minority that does not fit), so shadows drop out.


def _fit_paper(
    grey: np.ndarray, inliers: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Coefficients (6,) of the quadratic surface c0 + c1 u + c2 v + c3 u² + c4 uv + c5 v² that
    fits the paper of ``grey`` (H, W), which of the sampled pixels are paper (None for an even
    border), and the paper's noise (robust standard deviation of those pixels about the surface).

    The paper is found from the image's border (a digit is a line drawing: even one that fills
    the frame leaves most of the border bare), then the fit is refined on the pixels it explains,
    so ink covering half the image does not drag the surface down. A perfectly even border (a
    digital drawing) is taken as flat paper at once. Given ``inliers`` from a fit of another
    channel of the same image, one fit on those pixels is made.
    """
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    level = float(np.median(border))
    coefficients = np.array([level, 0, 0, 0, 0, 0], dtype=np.float64)
    if inliers is None and float(border.max() - border.min()) <= 2 / 255:
        return coefficients, None, 0.0
    height, width = grey.shape
    step_y, step_x = max(1, height // 32), max(1, width // 32)
    sample = grey[step_y // 2 :: step_y, step_x // 2 :: step_x].astype(np.float64)
    v = (np.arange(sample.shape[0]) * step_y + step_y // 2 + 0.5) / height * 2 - 1
    u = (np.arange(sample.shape[1]) * step_x + step_x // 2 + 0.5) / width * 2 - 1
    uu, vv = (grid.ravel() for grid in np.meshgrid(u, v))
    design = np.stack([np.ones_like(uu), uu, vv, uu * uu, uu * vv, vv * vv], axis=1)
    sample = sample.ravel()
    rounds = 1
    spread = 1.4826 * float(np.median(np.abs(border - level)))
    if inliers is None:
        inliers = np.abs(sample - level) <= max(3 * spread, 0.05)
        rounds = 3
    for _ in range(rounds):
        if inliers.sum() < 12:
            break
        chosen = design[inliers]
        try:
            coefficients = np.linalg.solve(chosen.T @ chosen + 1e-6 * np.eye(6), chosen.T @ sample[inliers])
        except np.linalg.LinAlgError:
            break
        residual = sample - design @ coefficients
        spread = 1.4826 * float(np.median(np.abs(residual[inliers])))
        inliers = np.abs(residual) <= max(2.5 * spread, 0.02)
    return coefficients, inliers, spread


def _paper_surface(coefficients: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The surface at normalised column coordinates ``u`` (W,) and row coordinates ``v`` (H,)."""
    c0, cu, cv, cuu, cuv, cvv = (np.float32(c) for c in coefficients)
    u = u.astype(np.float32)
    v = v.astype(np.float32)[:, None]
    return c0 + (cu + cuu * u) * u + (cv + cuv * u + cvv * v) * v


def _unit_coordinates(count: int) -> np.ndarray:
    return (np.arange(count) + 0.5) / count * 2 - 1


def _quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Quantiles of ``values`` (in [-1, 1]) to within 1/1024, from a histogram: np.partition and
    np.median slow down badly on the many equal values of a clean canvas."""
    flat = values.ravel()
    if flat.size == 0:
        return [0.0] * len(fractions)
    bins = np.clip(((flat + 1) * QUANTILE_BINS / 2).astype(np.int32), 0, QUANTILE_BINS - 1)
    cumulative = np.cumsum(np.bincount(bins, minlength=QUANTILE_BINS))
    ranks = [min(max(fraction * flat.size, 1), flat.size) for fraction in fractions]
    found = np.searchsorted(cumulative, ranks)
    return [float((index + 0.5) * 2 / QUANTILE_BINS - 1) for index in found]


def _paper_noise(deviation: np.ndarray) -> tuple[float, float]:
    """Noise standard deviation of the paper in ``deviation`` (H, W; paper ≈ 0), estimated from
    below and from above zero separately: (below, above). The ink lies on one side only, so the
    other side's estimate holds however much of the image is ink."""
    sample = deviation[:: max(1, deviation.shape[0] // 64), :: max(1, deviation.shape[1] // 64)]
    below = float(np.count_nonzero(sample < 0)) / sample.size
    above = float(np.count_nonzero(sample > 0)) / sample.size
    low, high = _quantiles(sample, (below / 2, 1 - above / 2))
    # Half-normal: the median of |x| is 0.6745 σ. A histogram bin's half-width is the
    # resolution, so a flat canvas has no noise at all.
    resolution = 1 / QUANTILE_BINS
    return (
        max(-low - resolution, 0.0) / 0.6745 if below > 0.01 else 0.0,
        max(high - resolution, 0.0) / 0.6745 if above > 0.01 else 0.0,
    )


def _dark_ink(deviation: np.ndarray, even_paper: bool) -> bool:
    """Whether the ink is darker than the paper (``deviation``: image − paper model, (H, W)).

    The ink is the side with more outlying mass — unless that mass is broad and fainter than the
    other side's thin strokes: the lit part of a page whose border lies in a shadow."""
    floor = max(4 * min(_paper_noise(deviation)), 0.03)
    darker = np.clip(-deviation - floor, 0, None)
    lighter = np.clip(deviation - floor, 0, None)
    dark_mass, light_mass = float(darker.sum()), float(lighter.sum())
    if not even_paper and min(dark_mass, light_mass) > 0:
        dark_thin = float((darker - _opening(darker)).sum()) / dark_mass
        light_thin = float((lighter - _opening(lighter)).sum()) / light_mass
        dark_top, light_top = _top_value(darker, 0.0005), _top_value(lighter, 0.0005)
        # "Much thinner" and stronger: a lit region is as broad as it gets, strokes are not.
        if dark_thin > max(4 * light_thin, 0.1) and dark_top > light_top:
            return True
        if light_thin > max(4 * dark_thin, 0.1) and light_top > dark_top:
            return False
    return dark_mass >= light_mass


def _opening(values: np.ndarray) -> np.ndarray:
    """Morphological opening of ``values`` (H, W) with a square window of ~1/20 of the image:
    what remains is only regions wider than the window, never a pen stroke of ordinary width."""
    passes = max(2, round(max(values.shape) / 40))
    return _spread(_spread(values, passes, np.minimum), passes, np.maximum)


def _ink_strength(values: np.ndarray, paper: np.ndarray, dark_ink: bool) -> np.ndarray:
    """How much ink each pixel of ``values`` (H, W) holds against the ``paper`` surface (H, W).

    Light falls on paper and ink alike, so dark ink is measured relative to the paper's brightness
    (in a shadow both are darker by the same factor). Light ink on a dark ground is what it adds."""
    if dark_ink:
        return np.float32(1) - values / np.maximum(paper, np.float32(0.05))
    return values - paper


def _unshade(strength: np.ndarray, shade: np.ndarray, dark_ink: bool) -> np.ndarray:
    """``strength`` with a broad ``shade`` (see _broad_shade) taken out: divided out for dark ink
    (a shadow dims the paper by a factor), subtracted for light ink."""
    if dark_ink:
        return (strength - shade) / (np.float32(1) - shade)
    return strength - shade


def _broad_shade(strength: np.ndarray) -> np.ndarray:
    """The part of ``strength`` (H, W) that is a broad, faint shade — a sharp shadow edge the smooth
    paper model cannot follow — rather than pen strokes: (H, W), zero elsewhere.

    Of the regions wider than the opening's window, the ones fainter than half the strongest
    ink are shade, not ink (a bold stroke wider than the window is as dark as the ink and stays).
    A small window follows the corners of a shadow more closely."""
    opened = _opening(strength)
    ink_level = _top_value(strength, 0.0005)
    shade = np.where((opened > 0) & (opened < 0.5 * ink_level), opened, np.float32(0))
    return np.minimum(shade, np.float32(0.9)).astype(np.float32)


def _top_value(values: np.ndarray, fraction: float) -> float:
    """A high order statistic of ``values``: robust to a few hot pixels, unlike the maximum."""
    rank = 1 - max(3, values.size * fraction) / max(values.size, 1)
    return _quantiles(values, (rank,))[0]


# ---------------------------------------------------------------------------------------------
# Finding the ink


def _main_run(profile: np.ndarray, gap: int) -> tuple[int, int, bool]:
    """The [start, stop) span of the main ink in a projection ``profile``, and whether it holds
    all of the profile's ink.

    Runs of non-zero entries separated by at most ``gap`` empty ones count as one. The heaviest
    run is kept, and grows by each neighbouring run that is near it for its size and holds real
    ink (a detached bar of a 5, a broken pencil stroke); far or tiny runs (dust, stray marks) are
    left out."""
    nonzero = np.flatnonzero(profile > 0)
    if nonzero.size == 0:
        return 0, 0, True
    breaks = np.flatnonzero(np.diff(nonzero) > gap)
    if breaks.size == 0:
        return int(nonzero[0]), int(nonzero[-1]) + 1, True
    starts = np.concatenate([[nonzero[0]], nonzero[breaks + 1]])
    stops = np.concatenate([nonzero[breaks], [nonzero[-1]]]) + 1
    cumulative = np.concatenate([[0.0], np.cumsum(profile, dtype=np.float64)])
    masses = cumulative[stops] - cumulative[starts]
    first = last = int(np.argmax(masses))
    while True:
        extent = stops[last] - starts[first]
        kept = masses[first : last + 1].sum()
        neighbours = []
        if first > 0:
            neighbours.append((starts[first] - stops[first - 1], first - 1))
        if last + 1 < len(starts):
            neighbours.append((starts[last + 1] - stops[last], last + 1))
        joined = [
            k
            for distance, k in sorted(neighbours)
            if distance <= PART_GAP * extent and masses[k] >= PART_MASS * kept
        ]
        if not joined:
            return int(starts[first]), int(stops[last]), first == 0 and last == len(starts) - 1
        first, last = min(first, joined[0]), max(last, joined[0])


def _ink_box(ink_mask: np.ndarray, strength: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the main ink mass; specks cut off by empty space are dropped."""
    gap = _run_gap(ink_mask)
    rows = np.flatnonzero(ink_mask.any(axis=1))
    cols = np.flatnonzero(ink_mask.any(axis=0))
    if rows.size and np.diff(rows).max(initial=0) <= gap and np.diff(cols).max(initial=0) <= gap:
        # No empty stretch wider than the gap either way (the usual case): one run in each
        # direction, all of the ink, which is what the search below would find.
        return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return _ink_box_by_runs(ink_mask, strength)


def _run_gap(ink_mask: np.ndarray) -> int:
    """The widest empty stretch that still joins two runs of ink into one."""
    return max(2, round(0.06 * max(ink_mask.shape)))


def _ink_box_by_runs(ink_mask: np.ndarray, strength: np.ndarray) -> tuple[int, int, int, int]:
    """_ink_box by searching the row and column profiles for the main run (see _main_run)."""
    gap = _run_gap(ink_mask)
    weights = np.where(ink_mask, strength, 0.0)
    top, bottom, left, right = 0, ink_mask.shape[0], 0, ink_mask.shape[1]
    for _ in range(2):
        box = (top, bottom, left, right)
        left, right, all_columns = _main_run(weights[top:bottom].sum(axis=0), gap)
        top, bottom, all_rows = _main_run(weights[:, left:right].sum(axis=1), gap)
        if (all_columns and all_rows) or (top, bottom, left, right) == box:
            break
    inside = ink_mask[top:bottom, left:right]
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return top + int(rows[0]), top + int(rows[-1]) + 1, left + int(cols[0]), left + int(cols[-1]) + 1


def _drop_specks(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``ink`` (H, W) without the connected parts of ``mask`` (8-connected) that hold less than
    SPECK_MASS of the heaviest part's ink: dust beside a digit, which the empty-space test of
    _ink_box cannot separate. Connected runs are joined row by row with a union-find."""
    height = mask.shape[0]
    edges = np.diff(mask.astype(np.int8), axis=1, prepend=0, append=0)
    rows, starts = np.nonzero(edges == 1)
    stops = np.nonzero(edges == -1)[1]
    count = len(rows)
    if count <= 1:
        return ink
    cumulative = np.zeros((height, mask.shape[1] + 1), dtype=np.float64)
    np.cumsum(ink, axis=1, out=cumulative[:, 1:])
    run_mass = cumulative[rows, stops] - cumulative[rows, starts]
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(rows, np.arange(height + 1)).tolist()
    run_starts, run_stops = starts.tolist(), stops.tolist()
    for row in range(1, height):
        i, i_end = row_first[row - 1], row_first[row]
        j, j_end = row_first[row], row_first[row + 1]
        while i < i_end and j < j_end:
            if run_starts[j] <= run_stops[i] and run_starts[i] <= run_stops[j]:  # touching, diagonals too
                parent[root(i)] = root(j)
            if run_stops[i] < run_stops[j]:
                i += 1
            else:
                j += 1
    roots = np.array([root(i) for i in range(count)])
    mass = np.bincount(roots, weights=run_mass, minlength=count)
    small = mass[roots] < SPECK_MASS * mass.max()
    if not small.any():
        return ink
    ink = ink.copy()
    for row, start, stop in zip(
        rows[small].tolist(), starts[small].tolist(), stops[small].tolist(), strict=True
    ):
        ink[row, start:stop] = 0
    return ink


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels of a soft ink image (H, W): ink mass / half the outline length."""
    solid = ink > 0.5
    edges = np.count_nonzero(solid[:, 1:] != solid[:, :-1]) + np.count_nonzero(solid[1:] != solid[:-1])
    edges += np.count_nonzero(solid[:, 0]) + np.count_nonzero(solid[:, -1])
    edges += np.count_nonzero(solid[0]) + np.count_nonzero(solid[-1])
    return float(ink.sum()) / max(edges / 2, 1.0)


def _spread(values: np.ndarray, passes: int, pick=np.maximum) -> np.ndarray:
    """``passes`` rounds of a 3×3 maximum (dilation; ``pick=np.minimum``: erosion) of ``values``
    (H, W), separably with NumPy: Pillow's rank filters sort every window and are far slower."""
    out = values.copy()
    for _ in range(passes):
        pick(out[:, 1:], values[:, :-1], out=out[:, 1:])
        pick(out[:, :-1], values[:, 1:], out=out[:, :-1])
        values = out.copy()
        pick(out[1:], values[:-1], out=out[1:])
        pick(out[:-1], values[1:], out=out[:-1])
        values = out.copy()
    return out


def _normalise_stroke(ink: np.ndarray, width: float) -> np.ndarray:
    """Thicken hair-thin and thin very fat strokes of ``ink`` (H, W) towards MNIST's width.
    Thickened ink is padded first, so it may grow past the old box."""
    if width < 0.7 * TARGET_STROKE_WIDTH:
        passes = min(6, round((TARGET_STROKE_WIDTH - width) / 2))
        return _spread(np.pad(ink, passes), passes)
    if width > 1.7 * TARGET_STROKE_WIDTH:
        mass = float(ink.sum())
        for _ in range(min(4, round((width - 1.2 * TARGET_STROKE_WIDTH) / 2))):
            thinner = _spread(ink, 1, np.minimum)
            if float(thinner.sum()) < 0.4 * mass:
                break  # erosion would start deleting strokes, not thinning them
            ink = thinner
    return ink


def _fit_box(ink: np.ndarray, side: int) -> np.ndarray:
    """``ink`` (H, W) cropped to its ink and scaled, aspect kept, so its longer side is ``side``."""
    rows = np.flatnonzero(ink.max(axis=1) > 0.05)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    if rows.size == 0:
        raise NoDigitFound("no digit found")
    ink = np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)
    scale = side / max(ink.shape)
    if abs(scale - 1) <= 0.02:
        return ink
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return _pixels(_unit_image(ink).resize(size, resample))


def _centre_by_mass(patch: np.ndarray) -> np.ndarray:
    """Place ``patch`` (h, w ≤ BOX) in a SIZE×SIZE frame with its centre of mass at the centre."""
    height, width = patch.shape
    mass = float(patch.sum())
    centre_row = float(patch.sum(axis=1) @ np.arange(height)) / mass + 0.5
    centre_col = float(patch.sum(axis=0) @ np.arange(width)) / mass + 0.5
    top = min(max(round(SIZE / 2 - centre_row), 0), SIZE - height)
    left = min(max(round(SIZE / 2 - centre_col), 0), SIZE - width)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + height, left : left + width] = patch
    return frame


def to_mnist(image: Image.Image) -> np.ndarray:
    """The digit in ``image`` as the network expects it: (28, 28) float32 in [0, 1], white ink on
    black, fitted to 20×20 and centred by mass. Raises NoDigitFound when there is no ink.

    Two passes: a coarse one (≤ COARSE_SIDE) models the paper and finds the ink; a fine one
    re-reads just the ink's box from the full-resolution image at 4× the output scale.
    """
    return _flat_to_mnist(_flatten(image))


def preprocess(data: bytes, max_pixels: int) -> np.ndarray:
    """``to_mnist(load_image(data, max_pixels))``: the network input (28, 28) for the image file
    ``data``. A canvas export (see app.canvas_png) is read from its alpha plane without Pillow's
    decoder, to the same result."""
    if isinstance(data, bytes | bytearray):
        alpha = canvas_png.read_alpha(data, max_pixels)
        flat = None if alpha is None else _drawing_from_alpha(alpha)
        if flat is not None:
            return _flat_to_mnist(flat)
    return to_mnist(load_image(data, max_pixels))


def _flat_to_mnist(flat: _Flat) -> np.ndarray:
    """to_mnist of a flattened image."""
    source = flat.image
    colour = source.mode == "RGB"

    # Coarse pass: paper, polarity, noise, contrast, where the ink is.
    factor = max(1, math.ceil(max(source.size) / COARSE_SIDE))
    drawing = flat.ink_box is not None
    if drawing:
        strength = _reduced_drawing(flat, factor) * np.float32(1 / 255)
        # Alpha is exact: a drawing on transparency has no paper noise.
        noise, contrast = 0.0, float(strength.max())
    else:
        coarse = source.reduce(factor) if factor > 1 else source
        grey = _as_unit_array(coarse.convert("L") if colour else coarse)
        coefficients, paper, spread = _fit_paper(grey)
        u, v = _unit_coordinates(grey.shape[1]), _unit_coordinates(grey.shape[0])
        # A perfectly even border (paper is None): a digital drawing, with no shadows to undo.
        even_paper = paper is None
        dark_ink = _dark_ink(grey - _paper_surface(coefficients, u, v), even_paper)
        if colour:
            grey = _as_unit_array(_extreme_channel(coarse, dark_ink))
            coefficients, _, spread = _fit_paper(grey, paper)
        strength = _ink_strength(grey, _paper_surface(coefficients, u, v), dark_ink)
        shade = np.zeros_like(strength) if even_paper else _broad_shade(strength)
        strength = _unshade(strength, shade, dark_ink)
        if even_paper:
            noise = min(_paper_noise(strength))
        else:
            # The paper's own spread about its model, in units of ink strength.
            noise = spread / max(float(coefficients[0]), 0.05) if dark_ink else spread
        contrast = _top_value(strength, 0.0005)
    # Half the contrast floor here: area averaging dims a tiny thin digit in the coarse image; the
    # fine pass checks the full floor.
    if contrast < MIN_CONTRAST / 2:
        raise NoDigitFound("no digit found: the image is blank or nearly uniform")
    if contrast < MIN_SIGNAL_TO_NOISE * noise:
        raise NoDigitFound("no digit found: nothing stands out from the noise or paper texture")
    ink_mask = strength > max(0.35 * contrast, 4 * noise)
    border = np.concatenate([ink_mask[0], ink_mask[-1], ink_mask[:, 0], ink_mask[:, -1]])
    if np.count_nonzero(border) > MAX_BORDER_INK * border.size:
        # Even a digit cropped tight to its ink touches the border at a few strokes only.
        raise NoDigitFound(
            "no digit found: the dark area runs along the image's edge (a shadow or the page's edge?)"
        )
    top, bottom, left, right = _ink_box(ink_mask, strength)
    ink_side = max(bottom - top, right - left) * factor  # in source pixels
    if ink_side < 5:
        raise NoDigitFound("no digit found: only a speck of ink")

    # Fine pass: the ink's box (plus a coarse pixel of margin) at FINE_BOX pixels.
    scale = FINE_BOX / ink_side
    margin = factor + 1
    width, height = source.size
    x0, y0 = max(left * factor - margin, 0), max(top * factor - margin, 0)
    x1, y1 = min(right * factor + margin, width), min(bottom * factor + margin, height)
    fine_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    fine_image = source.resize(fine_size, resample, box=(x0, y0, x1, y1))
    if colour:
        fine_image = _extreme_channel(fine_image, dark_ink)
    if drawing:
        # Exact ink, no paper, no noise. Every step maps each level to a value, so it is done
        # once per level and looked up for the pixels.
        levels = _pixels(fine_image)
        contrast = core = float(_LEVEL_STRENGTH[levels.max()])
        # Strength rises strictly with the level: the mask is the levels above the faint ones.
        ink_mask = levels >= np.searchsorted(_LEVEL_STRENGTH, np.float32(0.35 * contrast), side="right")
        floor = 0.15 * contrast
        ink = np.clip((_LEVEL_STRENGTH - floor) / max(core - floor, 1e-6), 0.0, 1.0)[levels]
    else:
        fine_u = ((x0 + (np.arange(fine_size[0]) + 0.5) / scale) / width) * 2 - 1
        fine_v = ((y0 + (np.arange(fine_size[1]) + 0.5) / scale) / height) * 2 - 1
        surface = _paper_surface(coefficients, fine_u, fine_v)
        strength = _ink_strength(_as_unit_array(fine_image), surface, dark_ink)
        if shade.any():
            box = (x0 / factor, y0 / factor, x1 / factor, y1 / factor)
            fine_shade = Image.fromarray(shade, "F").resize(fine_size, Image.Resampling.BILINEAR, box=box)
            strength = _unshade(strength, np.asarray(fine_shade, dtype=np.float32), dark_ink)
        # White noise averages down with the area of a pixel (fine pixels are 1/scale source
        # pixels, coarse ones factor source pixels), but a camera's noise is not white: the paper
        # side of the fine crop itself bounds it too.
        noise = min(noise * factor * min(scale, 1.0), _paper_noise(strength)[0])
        contrast = _top_value(strength, 0.01)
        ink_mask = strength > max(0.35 * contrast, 4 * noise)
        if not ink_mask.any():
            raise NoDigitFound("no digit found")
        core = min(_quantiles(strength[ink_mask], (0.75,))[0], contrast)
        floor = max(0.15 * contrast, 3 * noise)
        ink = np.clip((strength - floor) / max(core - floor, 1e-6), 0.0, 1.0)
        # Sub-threshold texture away from any stroke is not ink, nor are specks of dust.
        near_strokes = _spread(ink_mask, 2, np.logical_or)
        ink = _drop_specks(np.where(near_strokes, ink, np.float32(0)), near_strokes)
        ink_mask &= ink > 0
    if contrast < MIN_CONTRAST or not ink_mask.any():
        raise NoDigitFound("no digit found: the image is blank or nearly uniform")
    rows = np.flatnonzero(ink_mask.any(axis=1))
    cols = np.flatnonzero(ink_mask.any(axis=0))
    ink = ink[max(rows[0] - 1, 0) : rows[-1] + 2, max(cols[0] - 1, 0) : cols[-1] + 2]

    # The crop is at about FINE_BOX scale already: widths are measured there, and the box is
    # fitted once, after the pen was changed (MNIST's box is around the pen strokes).
    stroke_width = _stroke_width(ink) * FINE_BOX / max(ink.shape)
    if stroke_width > BLOT_RATIO * FINE_BOX:
        raise NoDigitFound("no digit found: the ink is a blot, not a stroke")
    fine_values = _fit_box(_normalise_stroke(np.ascontiguousarray(ink), stroke_width), FINE_BOX)
    solid = fine_values > 0.05
    solid_count = np.count_nonzero(solid)
    if solid_count == 0:
        raise NoDigitFound("no digit found")
    # A faint (thin, then thickened) stroke is stretched so that its core is full ink again.
    if np.count_nonzero(fine_values >= 0.99) < 0.1 * solid_count:
        fine_values = np.clip(fine_values / max(_quantiles(fine_values[solid], (0.9,))[0], 0.25), 0.0, 1.0)
    out_size = (
        max(1, round(fine_values.shape[1] / SUPERSAMPLE)),
        max(1, round(fine_values.shape[0] / SUPERSAMPLE)),
    )
    patch_values = _pixels(_unit_image(fine_values).resize(out_size, Image.Resampling.BOX))
    peak = float(patch_values.max())
    if peak <= 0:
        raise NoDigitFound("no digit found")
    # Every MNIST digit reaches full ink somewhere; a stroke under two pixels wide would not.
    return _centre_by_mass(np.clip(patch_values / peak, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------
# JSON pixel arrays


def _check_pixel_types(flat: list) -> None:
    """Refuse any value of the row-major ``flat`` pixels that is not a JSON number (a bool is an
    int subclass, and not a pixel: the types are compared exactly)."""
    if not _NUMBER_TYPES.issuperset(map(type, flat)):
        position = next(i for i, value in enumerate(flat) if type(value) not in _NUMBER_TYPES)
        row, column = divmod(position, SIZE)
        raise InvalidPixels(f"pixels[{row}][{column}] must be a number; got {type(flat[position]).__name__}")


def from_pixels(pixels: object) -> np.ndarray:
    """A JSON pixel array, 28 rows of 28 numbers, white ink on black, all in [0, 1] or all in
    [0, 255] (255-scale when any value exceeds 1), as (28, 28) float32 in [0, 1]."""
    if not isinstance(pixels, list) or len(pixels) != SIZE:
        got = f"a list of {len(pixels)}" if isinstance(pixels, list) else type(pixels).__name__
        raise InvalidPixels(f"pixels must be a list of {SIZE} rows of {SIZE} numbers; got {got}")
    # One flat list, checked and converted in single C-speed passes; the first problem in row
    # order is the one reported.
    flat: list = []
    for index, row in enumerate(pixels):
        if not isinstance(row, list) or len(row) != SIZE:
            _check_pixel_types(flat)
            got = f"a list of {len(row)}" if isinstance(row, list) else type(row).__name__
            raise InvalidPixels(f"pixels row {index} must be a list of {SIZE} numbers; got {got}")
        flat += row
    _check_pixel_types(flat)
    try:
        values = np.fromiter(flat, dtype=np.float64, count=SIZE * SIZE).reshape(SIZE, SIZE)
    except OverflowError as exc:
        raise InvalidPixels("a pixel value is out of range: values must be in [0, 1] or [0, 255]") from exc
    return from_pixel_values(values)


def from_pixel_values(values: np.ndarray) -> np.ndarray:
    """from_pixels for pixels already read into (28, 28) float64 ``values``: all in [0, 1] or all
    in [0, 255] (255-scale when any value exceeds 1), as (28, 28) float32 in [0, 1]."""
    low, high = float(values.min()), float(values.max())
    if not (low >= 0 and high <= 255):  # also when NaN made both NaN
        if not np.isfinite(values).all():
            row, column = np.argwhere(~np.isfinite(values))[0]
            raise InvalidPixels(f"pixels[{row}][{column}] is not a finite number")
        bad = low if low < 0 else high
        row, column = np.argwhere(values == bad)[0]
        raise InvalidPixels(
            f"pixels[{row}][{column}] = {bad:g} is out of range: values must be in [0, 1] or [0, 255]"
        )
    if high > 1:
        values = values / 255.0
    return values.astype(np.float32)
