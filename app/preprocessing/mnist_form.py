"""The MNIST form, the finishing step of both roads: the ink's bounding box scaled, aspect ratio
kept, to fit 20×20 with anti-aliasing, in a 28×28 frame with the ink's centre of mass at the
centre; white ink (1.0) on black (0.0), strokes about as wide as MNIST's."""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.preprocessing.exceptions import NoDigitFound
from app.preprocessing.geometry import stroke_width
from app.preprocessing.morphology import dilate, erode
from app.preprocessing.quantiles import quantiles
from app.preprocessing.steps import Step, light_step
from model.mnist_geometry import BOX, centre_by_mass, fitted_size, ink_crop

SUPERSAMPLE = 4  # stroke width is normalised at SUPERSAMPLE× the output resolution
FINE_BOX = BOX * SUPERSAMPLE
MIN_CONTRAST = 0.10  # ink must differ from the paper by ≥ 10% of the full range
BLOT_RATIO = 0.36  # stroke width / longest bbox side above this: a blot, not a digit
# Median stroke width of MNIST test digits upscaled SUPERSAMPLE× (bilinear), measured as finish()
# does (10th percentile 5.5, 90th 10.2); much thinner or thicker strokes are brought towards it.
TARGET_STROKE_WIDTH = 7.3


def finish(
    ink: np.ndarray, ink_mask: np.ndarray, contrast: float, steps: list[Step] | None = None
) -> np.ndarray:
    """The network input (28, 28) float32 in [0, 1] for ``ink`` (H, W) in [0, 1], read at about
    FINE_BOX pixels across the digit, where ``ink_mask`` (H, W) marks the strokes and ``contrast``
    is the strongest ink's strength. Raises NoDigitFound for faint ink, no strokes or a blot.
    Appends the "cropped", "fitted" and "centred" stages to ``steps`` when it is a list."""
    if contrast < MIN_CONTRAST or not ink_mask.any():
        raise NoDigitFound("no digit found: the image is blank or nearly uniform")
    rows = np.flatnonzero(ink_mask.any(axis=1))
    cols = np.flatnonzero(ink_mask.any(axis=0))
    ink = ink[max(rows[0] - 1, 0) : rows[-1] + 2, max(cols[0] - 1, 0) : cols[-1] + 2]

    # The crop is at about FINE_BOX scale already: widths are measured there, and the box is
    # fitted once, after the pen was changed (MNIST's box is around the pen strokes).
    # The ink's mass over half the outline of its solid part, the image's edge included.
    width = stroke_width(np.pad(ink > 0.5, 1), float(ink.sum())) * FINE_BOX / max(ink.shape)
    if width > BLOT_RATIO * FINE_BOX:
        raise NoDigitFound("no digit found: the ink is a blot, not a stroke")
    normalised = _normalise_stroke(np.ascontiguousarray(ink), width)
    if steps is not None:
        steps.append(light_step("cropped", normalised))
    fine_values = _fit_box(normalised, FINE_BOX)
    solid = fine_values > 0.05
    solid_count = np.count_nonzero(solid)
    if solid_count == 0:
        raise NoDigitFound("no digit found")
    # A faint (thin, then thickened) stroke is stretched so that its core is full ink again.
    if np.count_nonzero(fine_values >= 0.99) < 0.1 * solid_count:
        fine_values = np.clip(fine_values / max(quantiles(fine_values[solid], (0.9,))[0], 0.25), 0.0, 1.0)
    out_size = (
        max(1, round(fine_values.shape[1] / SUPERSAMPLE)),
        max(1, round(fine_values.shape[0] / SUPERSAMPLE)),
    )
    patch_values = np.asarray(Image.fromarray(fine_values).resize(out_size, Image.Resampling.BOX))
    peak = float(patch_values.max())
    if peak <= 0:
        raise NoDigitFound("no digit found")
    # Every MNIST digit reaches full ink somewhere; a stroke under two pixels wide would not.
    patch = np.clip(patch_values / peak, 0.0, 1.0)
    network_input = centre_by_mass(patch)
    if steps is not None:
        steps.append(light_step("fitted", _in_box(patch)))
        steps.append(light_step("centred", network_input))
    return network_input


def _normalise_stroke(ink: np.ndarray, width: float) -> np.ndarray:
    """Thicken hair-thin and thin very fat strokes of ``ink`` (H, W) towards MNIST's width.
    Thickened ink is padded first, so it may grow past the old box."""
    if width < 0.7 * TARGET_STROKE_WIDTH:
        passes = min(6, round((TARGET_STROKE_WIDTH - width) / 2))
        return dilate(np.pad(ink, passes), passes)
    if width > 1.7 * TARGET_STROKE_WIDTH:
        # A small digit drawn with a broad brush is mostly brush: its strokes may be thinned to
        # a quarter of their ink (a digit 15% of the pad high, drawn with the default 22 px brush).
        mass = float(ink.sum())
        for _ in range(min(8, round((width - 1.2 * TARGET_STROKE_WIDTH) / 2))):
            thinner = erode(ink, 1)
            if float(thinner.sum()) < 0.25 * mass:
                break  # erosion would start deleting strokes, not thinning them
            ink = thinner
    return ink


def _fit_box(ink: np.ndarray, side: int) -> np.ndarray:
    """``ink`` (H, W) cropped to its ink and scaled, aspect kept, so its longer side is ``side``."""
    crop = ink_crop(ink)
    if crop is None:
        raise NoDigitFound("no digit found")
    ink = np.ascontiguousarray(crop, dtype=np.float32)
    scale = side / max(ink.shape)
    if abs(scale - 1) <= 0.02:
        return ink
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(ink).resize(fitted_size(ink.shape, side), resample))


def _in_box(patch: np.ndarray) -> np.ndarray:
    """``patch`` (h, w ≤ BOX) in the middle of a BOX×BOX frame: the box it was fitted to."""
    height, width = patch.shape
    frame = np.zeros((BOX, BOX), dtype=np.float32)
    top, left = (BOX - height) // 2, (BOX - width) // 2
    frame[top : top + height, left : left + width] = patch
    return frame

