"""The paper and the ink against it.

The paper is modelled as a smooth quadratic surface in coordinates normalised to [-1, 1] over
the whole image, fitted robustly (the ink is the minority that does not fit), so gradients and
shadows drop out; a broad faint shade that the surface cannot follow (a sharp shadow edge) is
taken out by a morphological opening. The ink is what stands out from the paper, on the side of
it (darker or lighter) where the outlying thin strokes lie.
"""

from __future__ import annotations

import math

import numpy as np

from app.preprocessing.geometry import border, stroke_width
from app.preprocessing.morphology import erode, opening, reconstruct
from app.preprocessing.quantiles import QUANTILE_BINS, high_quantile, quantiles


def fit_paper(
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
    ring = border(grey)
    level = float(np.median(ring))
    coefficients = np.array([level, 0, 0, 0, 0, 0], dtype=np.float64)
    if inliers is None and float(ring.max() - ring.min()) <= 2 / 255:
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
    spread = 1.4826 * float(np.median(np.abs(ring - level)))
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


def paper_surface(coefficients: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The surface (H, W) at normalised column coordinates ``u`` (W,) and row coordinates ``v`` (H,)."""
    c0, cu, cv, cuu, cuv, cvv = (np.float32(c) for c in coefficients)
    u = u.astype(np.float32)
    v = v.astype(np.float32)[:, None]
    return c0 + (cu + cuu * u) * u + (cv + cuv * u + cvv * v) * v


def unit_coordinates(count: int) -> np.ndarray:
    """The centres of ``count`` pixels in coordinates normalised to [-1, 1]: (count,)."""
    return (np.arange(count) + 0.5) / count * 2 - 1


def paper_noise(deviation: np.ndarray) -> tuple[float, float]:
    """Noise standard deviation of the paper in ``deviation`` (H, W; paper ≈ 0), estimated from
    below and from above zero separately: (below, above). The ink lies on one side only, so the
    other side's estimate holds however much of the image is ink."""
    sample = deviation[:: max(1, deviation.shape[0] // 64), :: max(1, deviation.shape[1] // 64)]
    below = float(np.count_nonzero(sample < 0)) / sample.size
    above = float(np.count_nonzero(sample > 0)) / sample.size
    low, high = quantiles(sample, (below / 2, 1 - above / 2))
    # Half-normal: the median of |x| is 0.6745 σ. A histogram bin's half-width is the
    # resolution, so a flat canvas has no noise at all.
    resolution = 1 / QUANTILE_BINS
    return (
        max(-low - resolution, 0.0) / 0.6745 if below > 0.01 else 0.0,
        max(high - resolution, 0.0) / 0.6745 if above > 0.01 else 0.0,
    )


def ink_is_dark(deviation: np.ndarray, even_paper: bool) -> bool:
    """Whether the ink is darker than the paper (``deviation``: image − paper model, (H, W)).

    The ink is the side with more outlying mass — unless that mass is broad and fainter than the
    other side's thin strokes: the lit part of a page whose border lies in a shadow."""
    floor = max(4 * min(paper_noise(deviation)), 0.03)
    darker = np.clip(-deviation - floor, 0, None)
    lighter = np.clip(deviation - floor, 0, None)
    dark_mass, light_mass = float(darker.sum()), float(lighter.sum())
    if not even_paper and min(dark_mass, light_mass) > 0:
        dark_thin = float((darker - opening(darker)).sum()) / dark_mass
        light_thin = float((lighter - opening(lighter)).sum()) / light_mass
        dark_top, light_top = high_quantile(darker, 0.0005), high_quantile(lighter, 0.0005)
        # "Much thinner" and stronger: a lit region is as broad as it gets, strokes are not.
        if dark_thin > max(4 * light_thin, 0.1) and dark_top > light_top:
            return True
        if light_thin > max(4 * dark_thin, 0.1) and light_top > dark_top:
            return False
    return dark_mass >= light_mass


def ink_strength(values: np.ndarray, paper: np.ndarray, dark_ink: bool) -> np.ndarray:
    """How much ink each pixel of ``values`` (H, W) holds against the ``paper`` surface (H, W).

    Light falls on paper and ink alike, so dark ink is measured relative to the paper's brightness
    (in a shadow both are darker by the same factor). Light ink on a dark ground is what it adds."""
    if dark_ink:
        return np.float32(1) - values / np.maximum(paper, np.float32(0.05))
    return values - paper


def broad_shade(strength: np.ndarray, noise: float) -> np.ndarray:
    """The part of ``strength`` (H, W) that is a broad, faint shade — a sharp shadow edge the smooth
    paper model cannot follow — rather than pen strokes: (H, W), zero elsewhere.

    Regions wider than the opening's window, fainter than half the strongest ink and clear of
    the paper's ``noise``, are shade when they hold a part wider than three strong strokes that
    reaches the image's border: a shadow falls from outside the picture and is far broader than
    a pen stroke, while a bold stroke faded on one side (or the blur around an enlarged scan's
    strokes) is as narrow as the rest of it. The small window follows a shadow into its corners."""
    opened = opening(strength)
    ink_level = high_quantile(strength, 0.0005)
    broad = (opened > 2 * noise) & (opened < 0.5 * ink_level)
    wide = erode(broad, math.ceil(1.5 * stroke_width(strength > 0.5 * ink_level)))
    edge = np.zeros_like(broad)
    edge[[0, -1]] = True
    edge[:, [0, -1]] = True
    shade = np.where(reconstruct(wide & edge, broad), opened, np.float32(0))
    return np.minimum(shade, np.float32(0.9)).astype(np.float32)


def unshade(strength: np.ndarray, shade: np.ndarray, dark_ink: bool) -> np.ndarray:
    """``strength`` (H, W) with a broad ``shade`` (H, W; see broad_shade) taken out: divided out
    for dark ink (a shadow dims the paper by a factor), subtracted for light ink."""
    if dark_ink:
        return (strength - shade) / (np.float32(1) - shade)
    return strength - shade
