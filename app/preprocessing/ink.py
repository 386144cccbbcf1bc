"""Finding the ink: where the digit is in a coarse map of ink strength, and the box of the full
image to read again at the MNIST form's scale. Shared by both roads (on a drawing the paper's
noise is zero)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

from app.preprocessing.exceptions import NoDigitFound
from app.preprocessing.geometry import border
from app.preprocessing.mnist_form import FINE_BOX, MIN_CONTRAST
from app.preprocessing.morphology import dilate, erode, reconstruct

COARSE_SIDE = 128  # the paper model and the search for the ink run at this size
MIN_SIGNAL_TO_NOISE = 6.0  # ink must differ from the paper by ≥ 6 noise standard deviations
MAX_BORDER_INK = 0.35  # "ink" along more of the image's border than this is shade, not a digit
# A run of ink beside the main one is part of the digit when the gap is under PART_GAP of the
# digit's extent and it holds at least PART_MASS of the ink so far.
PART_GAP = 0.35
PART_MASS = 0.03
# Ink at STRONG_SHARE of the strongest is surely a stroke; fainter ink, down to FAINT_SHARE,
# belongs to the digit when it joins a stroke (a faded side, a light pencil line, the soft edge
# of an enlarged scan): paper texture and specks do not.
STRONG_SHARE = 0.35
FAINT_SHARE = 0.08
INK_NOISE = 4.0  # and either stands this many standard deviations of the paper's noise above it


def find_ink(strength: np.ndarray, contrast: float, noise: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the digit's main ink in a coarse ``strength`` map (H, W) whose
    strongest ink is ``contrast`` over paper noise ``noise``. Raises NoDigitFound when nothing
    there is ink."""
    check_ink(strength, contrast, noise)
    strong = strong_ink(strength, contrast, noise)
    return _ink_box(with_faint_ink(strong, strength, contrast, noise), strength)


def check_ink(strength: np.ndarray, contrast: float, noise: float) -> None:
    """Raise NoDigitFound when nothing in a coarse ``strength`` map (H, W), whose strongest ink is
    ``contrast`` over paper noise ``noise``, is ink: blank, noise only, or shade along the edge."""
    # Half the contrast floor here: area averaging dims a tiny thin digit in the coarse image; the
    # fine pass checks the full floor.
    if contrast < MIN_CONTRAST / 2:
        raise NoDigitFound("no digit found: the image is blank or nearly uniform")
    if contrast < MIN_SIGNAL_TO_NOISE * noise:
        raise NoDigitFound("no digit found: nothing stands out from the noise or paper texture")
    # Only ink at half the strongest: fainter broad shade is taken out as shade (broad_shade), and
    # the soft edges of a bold stroke cropped tight may run along the border too.
    ring = border(strength)
    if np.count_nonzero(ring > max(0.5 * contrast, 4 * noise)) > MAX_BORDER_INK * ring.size:
        # Even a digit cropped tight to its ink touches the border at a few strokes only.
        raise NoDigitFound(
            "no digit found: the dark area runs along the image's edge (a shadow or the page's edge?)"
        )


def strong_ink(strength: np.ndarray, contrast: float, noise: float) -> np.ndarray:
    """The surely-stroke pixels (H, W bool) of an ink ``strength`` map whose strongest ink is
    ``contrast`` over paper noise ``noise``."""
    return strength > max(STRONG_SHARE * contrast, INK_NOISE * noise)


def with_faint_ink(strong: np.ndarray, strength: np.ndarray, contrast: float, noise: float) -> np.ndarray:
    """The ``strong`` strokes (H, W bool) and the fainter ink of ``strength`` connected to them.

    Faint ink comes in patches at least 3×3 pixels wide (a morphological opening): grain, dots
    of dithering and specks of texture beside a stroke do not, so they cannot creep outwards
    from it."""
    faint = strength > max(FAINT_SHARE * contrast, INK_NOISE * noise)
    return reconstruct(strong, strong | dilate(erode(faint, 1), 1))


def main_run(profile: np.ndarray, gap: int) -> tuple[int, int, bool]:
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
    """(top, bottom, left, right) of the main ink mass of ``ink_mask`` (H, W): the main run (see
    main_run) of the row and column profiles of ink ``strength``, so specks cut off by empty
    space are dropped."""
    gap = max(2, round(0.06 * max(ink_mask.shape)))  # the widest empty stretch inside one run
    weights = np.where(ink_mask, strength, 0.0)
    top, bottom, left, right = 0, ink_mask.shape[0], 0, ink_mask.shape[1]
    for _ in range(2):
        box = (top, bottom, left, right)
        left, right, all_columns = main_run(weights[top:bottom].sum(axis=0), gap)
        top, bottom, all_rows = main_run(weights[:, left:right].sum(axis=1), gap)
        if (all_columns and all_rows) or (top, bottom, left, right) == box:
            break
    inside = ink_mask[top:bottom, left:right]
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return top + int(rows[0]), top + int(rows[-1]) + 1, left + int(cols[0]), left + int(cols[-1]) + 1


class InkReading(NamedTuple):
    """What either road found: the ink around the digit at about FINE_BOX pixels across, for
    finish(), and where it came from."""

    ink: np.ndarray  # (H, W) in [0, 1]
    mask: np.ndarray  # (H, W) bool, the strokes
    contrast: float  # the strongest ink's strength
    box: tuple[int, int, int, int]  # (left, top, right, bottom) of the flattened image it was read from
    dark_ink: bool  # whether the ink was darker than its paper


class FineCrop(NamedTuple):
    """The ink's box in the full image (plus a coarse pixel of margin), and the size at which it
    is read again so that the ink's longer side is FINE_BOX pixels."""

    box: tuple[int, int, int, int]  # (left, top, right, bottom) in source pixels
    size: tuple[int, int]  # (width, height) of the crop once read
    scale: float  # crop pixels per source pixel

    def read(self, image: Image.Image) -> Image.Image:
        """The crop of ``image``, resampled to ``size`` (area averaging when it shrinks)."""
        resample = Image.Resampling.BOX if self.scale < 1 else Image.Resampling.BILINEAR
        return image.resize(self.size, resample, box=self.box)


def fine_crop(coarse_box: tuple[int, int, int, int], factor: int, size: tuple[int, int]) -> FineCrop:
    """The FineCrop around ``coarse_box`` (top, bottom, left, right) of a coarse map reduced
    ``factor``× from an image of ``size``. Raises NoDigitFound when the ink is only a speck."""
    top, bottom, left, right = coarse_box
    ink_side = max(bottom - top, right - left) * factor  # in source pixels
    if ink_side < 5:
        raise NoDigitFound("no digit found: only a speck of ink")
    scale = FINE_BOX / ink_side
    margin = factor + 1
    width, height = size
    x0, y0 = max(left * factor - margin, 0), max(top * factor - margin, 0)
    x1, y1 = min(right * factor + margin, width), min(bottom * factor + margin, height)
    crop_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    return FineCrop((x0, y0, x1, y1), crop_size, scale)

