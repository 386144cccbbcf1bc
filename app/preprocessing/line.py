"""A line of digits read as ink, the way either road reads one digit, but around all of the line.

The coarse pass is the one-digit road's (``drawing.coarse_opacity`` or ``photo.model_paper``,
with ``ink.check_ink``'s refusals); its box is the main run of inked rows (``ink.main_run``:
a stray mark far above or below the line is left out) and every inked column in them. That box
is read again (``drawing.read_drawn_crop`` or ``photo.read_crop``) at the scale that makes the
line LINE_HEIGHT pixels high, about the one-digit road's FINE_BOX, so each digit cut out of it
is already at the scale ``mnist_form.finish`` expects; a long line is read smaller, to at most
MAX_LINE_WIDTH pixels across.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

from app.preprocessing.drawing import coarse_opacity, read_drawn_crop
from app.preprocessing.exceptions import NoDigitFound
from app.preprocessing.flattening import Drawing, flatten
from app.preprocessing.ink import FineCrop, InkReading, check_ink, main_run, strong_ink, with_faint_ink
from app.preprocessing.mnist_form import FINE_BOX
from app.preprocessing.photo import model_paper, read_crop
from app.preprocessing.quantiles import high_quantile

LINE_HEIGHT = FINE_BOX  # the line's ink is read this many pixels high
MAX_LINE_WIDTH = 16 * LINE_HEIGHT  # and at most this wide (twelve digits with room between them)


class Line(NamedTuple):
    """The ink of a line of digits, and where it came from."""

    reading: InkReading  # ink and strokes (H, W) at line scale; its box in ``picture``'s pixels
    picture: Image.Image  # the flattened image (a drawing's opacity, or the page), ≤ SOURCE_MAX_SIDE
    drawn: bool  # whether it was a drawing on transparency


def read_line(image: Image.Image) -> Line:
    """The ink of the line of digits in the decoded ``image``. Raises NoDigitFound when there is
    no ink."""
    source = flatten(image)
    if isinstance(source, Drawing):
        coarse, factor = coarse_opacity(source.ink)
        contrast, noise = float(coarse.max()), 0.0
        crop = _line_crop(_line_box(coarse, contrast, noise), factor, source.ink.size)
        return Line(read_drawn_crop(source.ink, crop), source.ink, True)
    paper = model_paper(source.image)
    contrast = high_quantile(paper.strength, 0.0005)
    crop = _line_crop(_line_box(paper.strength, contrast, paper.noise), paper.factor, source.image.size)
    # Dust is told from digits by size later, among the line's parts: the one-digit road's
    # test (a share of the heaviest part's ink) would take a thin 1 beside a bold 8 for dust.
    return Line(read_crop(source.image, paper, crop, drop_dust=False), source.image, False)


def _line_box(strength: np.ndarray, contrast: float, noise: float) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the line's ink in a coarse ``strength`` map (H, W)."""
    check_ink(strength, contrast, noise)
    ink = with_faint_ink(strong_ink(strength, contrast, noise), strength, contrast, noise)
    weights = np.where(ink, strength, 0.0)
    gap = max(2, round(0.06 * max(ink.shape)))  # as ink._ink_box: the widest gap inside one run
    top, bottom, _ = main_run(weights.sum(axis=1), gap)
    columns = np.flatnonzero(ink[top:bottom].any(axis=0))
    if columns.size == 0:
        raise NoDigitFound("no digit found")
    return top, bottom, int(columns[0]), int(columns[-1]) + 1


def _line_crop(coarse_box: tuple[int, int, int, int], factor: int, size: tuple[int, int]) -> FineCrop:
    """The crop of an image of ``size`` around ``coarse_box`` (of a map reduced ``factor``×), read
    so that the line is LINE_HEIGHT high and at most MAX_LINE_WIDTH wide. Raises NoDigitFound
    when the ink is only a speck."""
    top, bottom, left, right = coarse_box
    ink_height, ink_width = (bottom - top) * factor, (right - left) * factor
    if max(ink_height, ink_width) < 5:
        raise NoDigitFound("no digit found: only a speck of ink")
    scale = min(LINE_HEIGHT / ink_height, MAX_LINE_WIDTH / ink_width)
    margin = factor + 1
    width, height = size
    x0, y0 = max(left * factor - margin, 0), max(top * factor - margin, 0)
    x1, y1 = min(right * factor + margin, width), min(bottom * factor + margin, height)
    crop_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    return FineCrop((x0, y0, x1, y1), crop_size, scale)
