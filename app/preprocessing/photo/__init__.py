"""Road 2: ink on paper — a photo, a scan, or any image without a transparent surround.

A drawing's opacity is its ink, exactly. A page's pixels hold paper and ink together, under light
that changes across the page, with grain, JPEG noise, shadows, faded strokes and dust; so the
ink must first be told from the paper:

1. ``page`` makes the image grey or RGB: alpha over white paper, 16-bit rescaled, dithered 1-bit
   smoothed;
2. in a coarse copy (≤ COARSE_SIDE) the paper is modelled as a smooth quadratic surface fitted
   from the border inwards (the ink is the minority that does not fit), so gradients drop out,
   and broad faint shade (a sharp shadow edge) is taken out by a morphological opening
   (``paper``). The ink's polarity is decided from which side of the paper the outlying thin
   strokes lie; coloured ink is read through its extreme channel. The paper's noise and the
   ink's contrast are measured: an image whose strongest "ink" is a faint smudge or no stronger
   than its noise has no digit;
3. the ink is found as on a drawing (``ink.find_ink``) and just its box read again from the full
   image. Faint ink counts where it joins a strong stroke (a faded side, a light pencil line, the
   soft strokes of an enlarged scan) and each stroke is read against its own darkness, so faint
   parts become full ink; grain, dithering and specks do not join, and dust is dropped
   (``strokes``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image, ImageChops

from app.preprocessing.exceptions import NoDigitFound
from app.preprocessing.geometry import reduced, reduction_factor, unit_array
from app.preprocessing.ink import (
    COARSE_SIDE,
    FineCrop,
    InkReading,
    find_ink,
    fine_crop,
    strong_ink,
    with_faint_ink,
)
from app.preprocessing.morphology import dilate
from app.preprocessing.photo.paper import (
    broad_shade,
    fit_paper,
    ink_is_dark,
    ink_strength,
    paper_noise,
    paper_surface,
    unit_coordinates,
    unshade,
)
from app.preprocessing.photo.strokes import drop_specks, even_ink
from app.preprocessing.quantiles import high_quantile, quantiles


class Paper(NamedTuple):
    """What the coarse pass learnt of a page: its paper model and ink, for reading any box of it."""

    coefficients: np.ndarray  # (6,) the quadratic paper surface (see paper.fit_paper)
    dark_ink: bool  # whether the ink is darker than the paper
    noise: float  # the paper's noise, in units of ink strength at the coarse scale
    shade: np.ndarray  # (h, w) broad shade taken out of the coarse map (zeros when none)
    strength: np.ndarray  # (h, w) the coarse map of ink strength, shade taken out
    factor: int  # the coarse map is the page reduced factor×


def read_photo(source: Image.Image) -> InkReading:
    """The ink of a photo or scan (``source``: mode "L" or "RGB") around the digit at about
    FINE_BOX pixels across, for finish().
    Raises NoDigitFound when nothing stands out from the paper."""
    paper = model_paper(source)
    contrast = high_quantile(paper.strength, 0.0005)
    crop = fine_crop(find_ink(paper.strength, contrast, paper.noise), paper.factor, source.size)
    return read_crop(source, paper, crop)


def model_paper(source: Image.Image) -> Paper:
    """The coarse pass over a page (``source``: mode "L" or "RGB"): paper, polarity, noise, and
    the map of ink strength in which to find the ink."""
    colour = source.mode == "RGB"
    factor = reduction_factor(source.size, COARSE_SIDE)
    coarse = reduced(source, factor)
    grey = unit_array(coarse.convert("L") if colour else coarse)
    coefficients, inliers, spread = fit_paper(grey)
    u, v = unit_coordinates(grey.shape[1]), unit_coordinates(grey.shape[0])
    # A perfectly even border (inliers is None): a digital drawing, with no shadows to undo.
    even_paper = inliers is None
    surface = paper_surface(coefficients, u, v)
    dark_ink = ink_is_dark(grey - surface, even_paper)
    if colour:
        grey = unit_array(_extreme_channel(coarse, dark_ink))
        coefficients, _, spread = fit_paper(grey, inliers)
        surface = paper_surface(coefficients, u, v)
    strength = ink_strength(grey, surface, dark_ink)
    if even_paper:
        noise = min(paper_noise(strength))
        shade = np.zeros_like(strength)
    else:
        # The paper's own spread about its model, in units of ink strength.
        noise = spread / max(float(coefficients[0]), 0.05) if dark_ink else spread
        shade = broad_shade(strength, noise)
    if shade.any():
        strength = unshade(strength, shade, dark_ink)
    return Paper(coefficients, dark_ink, noise, shade, strength, factor)


def read_crop(source: Image.Image, paper: Paper, crop: FineCrop, drop_dust: bool = True) -> InkReading:
    """The fine pass: the ``crop`` of the page ``source`` read again against its ``paper``, faint
    strokes made whole and (with ``drop_dust``) specks of dust beside the ink dropped.
    Raises NoDigitFound when no stroke is there."""
    fine_image = crop.read(source)
    if source.mode == "RGB":
        fine_image = _extreme_channel(fine_image, paper.dark_ink)
    (x0, y0, x1, y1), (fine_width, fine_height), scale = crop
    width, height = source.size
    factor, shade, dark_ink = paper.factor, paper.shade, paper.dark_ink
    fine_u = ((x0 + (np.arange(fine_width) + 0.5) / scale) / width) * 2 - 1
    fine_v = ((y0 + (np.arange(fine_height) + 0.5) / scale) / height) * 2 - 1
    surface = paper_surface(paper.coefficients, fine_u, fine_v)
    strength = ink_strength(unit_array(fine_image), surface, dark_ink)
    if shade.any():
        box = (x0 / factor, y0 / factor, x1 / factor, y1 / factor)
        fine_shade = Image.fromarray(shade).resize(crop.size, Image.Resampling.BILINEAR, box=box)
        strength = unshade(strength, np.asarray(fine_shade), dark_ink)
    # White noise averages down with the area of a pixel (fine pixels are 1/scale source
    # pixels, coarse ones factor source pixels), but a camera's noise is not white: the paper
    # side of the fine crop itself bounds it too.
    noise = min(paper.noise * factor * min(scale, 1.0), paper_noise(strength)[0])
    contrast = high_quantile(strength, 0.01)
    strong = strong_ink(strength, contrast, noise)
    if not strong.any():
        raise NoDigitFound("no digit found")
    ink_mask = with_faint_ink(strong, strength, contrast, noise)
    core = min(quantiles(strength[strong], (0.75,))[0], contrast)
    ink = even_ink(strength, ink_mask, contrast, noise, core)
    # Sub-threshold texture away from any stroke is not ink, nor are specks of dust.
    near_strokes = dilate(ink_mask, 2)
    ink = np.where(near_strokes, ink, np.float32(0))
    if drop_dust:
        ink = drop_specks(ink, near_strokes)
    return InkReading(ink, ink_mask & (ink > 0), contrast, crop.box, dark_ink)


def _extreme_channel(image: Image.Image, dark_ink: bool) -> Image.Image:
    """Coloured ink (blue ballpoint, red marker) is dark in at least one channel while paper is
    light in all: the minimum channel holds dark ink at full contrast (the maximum, light ink)."""
    red, green, blue = image.split()
    pick = ImageChops.darker if dark_ink else ImageChops.lighter
    return pick(pick(red, green), blue)
