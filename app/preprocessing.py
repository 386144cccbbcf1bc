"""Any uploaded image in, the 28×28 MNIST-style network input out.

MNIST digits are white ink (1.0) on black (0.0): the ink's bounding box scaled, aspect ratio
kept, to fit 20×20 with anti-aliasing, then placed in 28×28 with the centre of mass of the ink
at the centre. Uploads look nothing like that, so ``to_mnist``:

1. flattens the image to grey in [0, 1] (alpha composited over a contrasting backdrop, colour
   ink kept dark through the minimum channel, 16-bit rescaled) at a bounded working size;
2. models the paper as a smooth quadratic surface fitted robustly (the ink is the minority
   that does not fit), so shadows and gradients drop out;
3. decides the ink polarity from which side of the surface the outliers lie;
4. measures the noise and the ink contrast; an image whose strongest "ink" is no stronger than
   its noise or than a faint smudge has no digit;
5. keeps the main ink mass (specks separated from it by empty rows/columns are dropped), crops,
   normalises the stroke width to MNIST's, scales to fit 20×20 with area averaging and centres
   by mass.

All functions are pure and thread-safe: nothing global is read or written at call time.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SIZE = 28  # side of the network input
BOX = 20  # the ink's bounding box fits in BOX×BOX, as in MNIST
SUPERSAMPLE = 4  # stroke width is normalised at SUPERSAMPLE× the output resolution
WORK_MAX_SIDE = 448  # larger images are reduced (area averaging) before the heavy steps
JPEG_DRAFT_SIDE = 1024  # large JPEGs are decoded at 1/2, 1/4 or 1/8 scale, but not below this
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF")
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

MIN_CONTRAST = 0.10  # ink must differ from the paper by ≥ 10% of the full range...
MIN_SIGNAL_TO_NOISE = 6.0  # ...and by ≥ 6 noise standard deviations
BLOT_RATIO = 0.36  # stroke width / longest bbox side above this: a blot, not a digit
# Median stroke width of MNIST test digits upscaled SUPERSAMPLE×, by _stroke_width (see
# bench/preprocessing.py --calibrate); thinner or much thicker strokes are brought towards it.
TARGET_STROKE_WIDTH = 9.0


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
    # A corrupt EXIF block should not cost the user the image: keep it unrotated.
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    return image


# ---------------------------------------------------------------------------------------------
# Flattening to one grey channel


def _flatten(image: Image.Image) -> np.ndarray:
    """The image as float32 (H, W) or (H, W, 3) in [0, 1], alpha composited, at ≤ WORK_MAX_SIDE."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return _flatten_high_depth(image)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        try:
            image = image.convert("RGB")
        except Exception as exc:
            raise InvalidImage(f"unsupported image mode {mode}") from exc
    if image.mode in ("LA", "RGBA"):
        image = _composite_alpha(image)
    image = _reduce(image)
    return np.asarray(image, dtype=np.float32) * np.float32(1 / 255)


def _reduce(image: Image.Image) -> Image.Image:
    factor = math.ceil(max(image.size) / WORK_MAX_SIDE)
    return image.reduce(factor) if factor > 1 else image


def _composite_alpha(image: Image.Image) -> Image.Image:
    """Alpha ink onto a backdrop that contrasts with it: canvas drawings keep the ink only in alpha,
    and the colour under transparent pixels is meaningless (often black)."""
    alpha = np.asarray(image.getchannel("A"))
    if alpha.min() == 255:
        return image.convert("RGB" if image.mode == "RGBA" else "L")
    border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
    if np.median(border) >= 128:
        backdrop_level = 255  # opaque paper with transparent holes: treat holes as white paper
    else:
        # Transparent surroundings: the ink is whatever is opaque. Put it on a backdrop of the
        # opposite lightness so that dark ink stays dark-on-light and light ink light-on-dark.
        grey = np.asarray(image.convert("L"), dtype=np.float32)
        weight = alpha.astype(np.float32)
        ink_level = float((grey * weight).sum() / max(weight.sum(), 1.0))
        backdrop_level = 255 if ink_level < 128 else 0
    rgba = image.convert("RGBA")
    backdrop = Image.new("RGBA", rgba.size, (backdrop_level,) * 3 + (255,))
    flat = Image.alpha_composite(backdrop, rgba)
    return flat.convert("RGB" if image.mode == "RGBA" else "L")


def _flatten_high_depth(image: Image.Image) -> np.ndarray:
    """16-bit and 32-bit integer or float images: rescale by their evident range."""
    if image.mode != "F":
        image = image.convert("I") if image.mode != "I" else image
    image = _reduce(image)
    values = np.asarray(image, dtype=np.float32)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise NoDigitFound("no digit found: the image holds no finite pixel values")
    high = float(finite.max())
    if image.mode == "F" and high <= 1.0:
        full_scale = 1.0
    elif high <= 255:
        full_scale = 255.0
    elif high <= 65535:
        full_scale = 65535.0
    else:
        full_scale = high
    values = np.nan_to_num(values, nan=0.0, posinf=full_scale, neginf=0.0)
    return np.clip(values / np.float32(full_scale), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Paper model: a smooth surface fitted robustly, the ink being the outliers


def _fit_paper(grey: np.ndarray) -> np.ndarray:
    """Fit a quadratic surface to the paper of ``grey`` (H, W); returns the surface (H, W)."""
    height, width = grey.shape
    thumb_w, thumb_h = min(width, 32), min(height, 32)
    thumb = np.asarray(
        Image.fromarray(grey, "F").resize((thumb_w, thumb_h), Image.Resampling.BOX), dtype=np.float32
    ).ravel()
    u = (np.arange(thumb_w, dtype=np.float32) + 0.5) / thumb_w * 2 - 1
    v = (np.arange(thumb_h, dtype=np.float32) + 0.5) / thumb_h * 2 - 1
    uu, vv = np.meshgrid(u, v)
    uu, vv = uu.ravel(), vv.ravel()
    design = np.stack([np.ones_like(uu), uu, vv, uu * uu, uu * vv, vv * vv], axis=1)
    # Start from the median (the paper is the majority), then refit on the inliers.
    coefficients = np.zeros(6, dtype=np.float32)
    coefficients[0] = np.median(thumb)
    for _ in range(4):
        residual = thumb - design @ coefficients
        spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
        inliers = np.abs(residual) <= max(2.5 * spread, 0.02)
        if inliers.sum() < 12:
            break
        coefficients = np.linalg.lstsq(design[inliers], thumb[inliers], rcond=None)[0].astype(np.float32)
    u = (np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1
    v = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2 - 1)[:, None]
    c0, cu, cv, cuu, cuv, cvv = (np.float32(c) for c in coefficients)
    return c0 + (cu + cuu * u) * u + (cv + cuv * u + cvv * v) * v


def _robust_spread(values: np.ndarray) -> float:
    """Standard deviation of the bulk of ``values`` (MAD-based, on a subsample for speed)."""
    sample = values[:: max(1, values.shape[0] // 96), :: max(1, values.shape[1] // 96)]
    return 1.4826 * float(np.median(np.abs(sample - np.median(sample))))


def _ink_strength(pixels: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, ≥ 0 on the paper's side: (H, W) float32.

    Polarity comes from the image: the side of the paper surface with more outlying mass is ink.
    """
    grey = pixels @ LUMA if pixels.ndim == 3 else pixels
    deviation = grey - _fit_paper(grey)
    spread = _robust_spread(deviation)
    floor = max(4 * spread, 0.03)
    darker = float(np.clip(-deviation - floor, 0, None).sum())
    lighter = float(np.clip(deviation - floor, 0, None).sum())
    dark_ink = darker >= lighter
    if pixels.ndim == 3:
        # Coloured ink (blue ballpoint, red marker) is dark in at least one channel while paper is
        # light in all: the minimum channel holds dark ink at full contrast (maximum for light ink).
        channel = pixels.min(axis=2) if dark_ink else pixels.max(axis=2)
        deviation = channel - _fit_paper(channel)
    return -deviation if dark_ink else deviation


# ---------------------------------------------------------------------------------------------
# Finding the ink


def _main_run(profile: np.ndarray, gap: int) -> tuple[int, int]:
    """The [start, stop) span of non-zero entries in ``profile`` holding the most mass, where runs
    separated by fewer than ``gap`` empty entries count as one."""
    nonzero = np.flatnonzero(profile > 0)
    if nonzero.size == 0:
        return 0, 0
    breaks = np.flatnonzero(np.diff(nonzero) > gap)
    starts = np.concatenate([[nonzero[0]], nonzero[breaks + 1]])
    stops = np.concatenate([nonzero[breaks], [nonzero[-1]]]) + 1
    cumulative = np.concatenate([[0.0], np.cumsum(profile, dtype=np.float64)])
    masses = cumulative[stops] - cumulative[starts]
    best = int(np.argmax(masses))
    return int(starts[best]), int(stops[best])


def _ink_box(ink_mask: np.ndarray, strength: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the main ink mass; specks cut off by empty space are dropped."""
    gap = max(2, round(0.05 * max(ink_mask.shape)))
    weights = np.where(ink_mask, strength, 0.0)
    top, bottom, left, right = 0, ink_mask.shape[0], 0, ink_mask.shape[1]
    for _ in range(2):
        left, right = _main_run(weights[top:bottom].sum(axis=0), gap)
        top, bottom = _main_run(weights[:, left:right].sum(axis=1), gap)
    # Tighten to the mask inside the chosen span.
    inside = ink_mask[top:bottom, left:right]
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return top + rows[0], top + rows[-1] + 1, left + cols[0], left + cols[-1] + 1


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in pixels of a soft ink image (H, W): ink mass / half the outline length."""
    solid = ink > 0.5
    edges = np.count_nonzero(solid[:, 1:] != solid[:, :-1]) + np.count_nonzero(solid[1:] != solid[:-1])
    edges += np.count_nonzero(solid[:, 0]) + np.count_nonzero(solid[:, -1])
    edges += np.count_nonzero(solid[0]) + np.count_nonzero(solid[-1])
    return float(ink.sum()) / max(edges / 2, 1.0)


def _normalise_stroke(ink: Image.Image) -> Image.Image:
    """Thicken hair-thin and thin very fat strokes towards MNIST's width (``ink``: mode F)."""
    values = np.asarray(ink, dtype=np.float32)
    width = _stroke_width(values)
    if width < 0.6 * TARGET_STROKE_WIDTH:
        passes = min(6, round((0.85 * TARGET_STROKE_WIDTH - width) / 2))
        for _ in range(passes):
            ink = ink.filter(ImageFilter.MaxFilter(3))
    elif width > 1.7 * TARGET_STROKE_WIDTH:
        passes = min(4, round((width - 1.2 * TARGET_STROKE_WIDTH) / 2))
        mass = values.sum()
        for _ in range(passes):
            thinner = ink.filter(ImageFilter.MinFilter(3))
            if np.asarray(thinner, dtype=np.float32).sum() < 0.35 * mass:
                break  # erosion would start deleting strokes, not thinning them
            ink = thinner
    return ink


def _centre_by_mass(patch: np.ndarray) -> np.ndarray:
    """Place ``patch`` (h, w ≤ BOX) in a SIZE×SIZE frame with its centre of mass at the centre."""
    height, width = patch.shape
    mass = float(patch.sum())
    rows = np.arange(height, dtype=np.float64)
    cols = np.arange(width, dtype=np.float64)
    centre_row = float(patch.sum(axis=1) @ rows) / mass + 0.5
    centre_col = float(patch.sum(axis=0) @ cols) / mass + 0.5
    top = min(max(round(SIZE / 2 - centre_row), 0), SIZE - height)
    left = min(max(round(SIZE / 2 - centre_col), 0), SIZE - width)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + height, left : left + width] = patch
    return frame


def to_mnist(image: Image.Image) -> np.ndarray:
    """The digit in ``image`` as the network expects it: (28, 28) float32 in [0, 1], white ink on
    black, fitted to 20×20 and centred by mass. Raises NoDigitFound when there is no ink."""
    pixels = _flatten(image)
    strength = _ink_strength(pixels)
    noise = _robust_spread(strength)
    flat = strength.ravel()
    top_count = max(3, flat.size // 4000)
    contrast = float(np.partition(flat, flat.size - top_count)[flat.size - top_count])
    if contrast < MIN_CONTRAST:
        raise NoDigitFound("no digit found: the image is blank or nearly uniform")
    if contrast < MIN_SIGNAL_TO_NOISE * noise:
        raise NoDigitFound("no digit found: nothing stands out from the noise or paper texture")

    ink_mask = strength > max(0.35 * contrast, 4 * noise)
    top, bottom, left, right = _ink_box(ink_mask, strength)
    core = min(
        float(np.percentile(strength[top:bottom, left:right][ink_mask[top:bottom, left:right]], 75)), contrast
    )
    floor = max(0.15 * contrast, 3 * noise)
    # One pixel of margin keeps the anti-aliased fringe of the outermost strokes.
    top, left = max(top - 1, 0), max(left - 1, 0)
    bottom, right = min(bottom + 1, strength.shape[0]), min(right + 1, strength.shape[1])
    ink = np.clip((strength[top:bottom, left:right] - floor) / max(core - floor, 1e-6), 0.0, 1.0)
    # Sub-threshold texture far from any stroke is not ink.
    near_strokes = Image.fromarray(ink_mask[top:bottom, left:right].astype(np.uint8) * 255, "L")
    near_strokes = np.asarray(near_strokes.filter(ImageFilter.MaxFilter(5))) > 0
    ink = np.where(near_strokes, ink, 0.0).astype(np.float32)

    height, width = ink.shape
    if max(height, width) < 4 or np.count_nonzero(ink_mask[top:bottom, left:right]) < 6:
        raise NoDigitFound("no digit found: only a speck of ink")
    if _stroke_width(ink) > BLOT_RATIO * max(height, width):
        raise NoDigitFound("no digit found: the ink is a blot, not a stroke")

    scale = BOX / max(height, width)
    fine_size = (max(1, round(width * scale * SUPERSAMPLE)), max(1, round(height * scale * SUPERSAMPLE)))
    resample = Image.Resampling.BOX if scale * SUPERSAMPLE < 1 else Image.Resampling.BILINEAR
    fine = Image.fromarray(ink, "F").resize(fine_size, resample)
    fine = _normalise_stroke(fine)
    fine_values = np.asarray(fine, dtype=np.float32)
    solid = fine_values[fine_values > 0.05]
    if solid.size:
        # A faint (thin, then thickened) stroke is stretched so that its core is full ink again.
        fine_values = np.clip(fine_values / max(float(np.percentile(solid, 90)), 0.25), 0.0, 1.0)
    out_size = (max(1, round(fine_size[0] / SUPERSAMPLE)), max(1, round(fine_size[1] / SUPERSAMPLE)))
    patch = Image.fromarray(fine_values, "F").resize(out_size, Image.Resampling.BOX)
    patch_values = np.clip(np.asarray(patch, dtype=np.float32), 0.0, 1.0)
    if patch_values.sum() <= 0:
        raise NoDigitFound("no digit found")
    return _centre_by_mass(patch_values)


# ---------------------------------------------------------------------------------------------
# JSON pixel arrays


def from_pixels(pixels: object) -> np.ndarray:
    """A JSON pixel array, 28 rows of 28 numbers, white ink on black, all in [0, 1] or all in
    [0, 255] (255-scale when any value exceeds 1), as (28, 28) float32 in [0, 1]."""
    if not isinstance(pixels, list) or len(pixels) != SIZE:
        got = f"a list of {len(pixels)}" if isinstance(pixels, list) else type(pixels).__name__
        raise InvalidPixels(f"pixels must be a list of {SIZE} rows of {SIZE} numbers; got {got}")
    for index, row in enumerate(pixels):
        if not isinstance(row, list) or len(row) != SIZE:
            got = f"a list of {len(row)}" if isinstance(row, list) else type(row).__name__
            raise InvalidPixels(f"pixels row {index} must be a list of {SIZE} numbers; got {got}")
        for column, value in enumerate(row):
            if type(value) not in (int, float):  # bool is an int subclass, and not a pixel
                raise InvalidPixels(f"pixels[{index}][{column}] must be a number; got {type(value).__name__}")
    try:
        values = np.array(pixels, dtype=np.float64)
    except OverflowError as exc:
        raise InvalidPixels("pixel values must be in [0, 1] or [0, 255]; got a huge number") from exc
    if not np.isfinite(values).all():
        row, column = np.argwhere(~np.isfinite(values))[0]
        raise InvalidPixels(f"pixels[{row}][{column}] is not a finite number")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 255:
        bad = values.min() if low < 0 else values.max()
        row, column = np.argwhere(values == bad)[0]
        raise InvalidPixels(
            f"pixels[{row}][{column}] = {bad:g} is out of range: values must be in [0, 1] or [0, 255]"
        )
    if high > 1:
        values = values / 255.0
    return values.astype(np.float32)
