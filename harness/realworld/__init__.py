"""A seeded real-world test set: the kinds of images people upload, with their true digit.

Four families of images, generated in memory (nothing is written unless asked):

* ``typed_*`` — digits typeset from the installed DejaVu and Liberation fonts, at random size and
  position, dark on light (and a few light on dark);
* ``canvas_*`` — strokes drawn the way a mouse or finger draws on a 280×280 transparent canvas:
  polyline digit skeletons with jitter, a thin, normal or thick round brush, anti-aliased, placed
  normally, small in a corner, or filling the frame;
* ``mnist_*`` — MNIST *test* digits re-rendered as uploads: inverted, off-centre on a large page,
  alpha ink on transparency, on noisy shadowed paper as a JPEG, in coloured ink, as a low-quality
  JPEG, EXIF-rotated, as palette / 16-bit / grey+alpha / CMYK / 1-bit images, chalk on a board,
  faint pencil on a large scan, a multi-megapixel phone photo, a sharp shadow across the page,
  tiny, cropped tight to the ink,
  on a page with dust and stray marks;
* faint ink (``faint``) — strokes not equally dark: MNIST and typeset digits with one side
  faded, 8×8–16×16 scans enlarged bicubically on noisy paper, pencil pressed unevenly.

``python -m harness.realworld --report`` runs the set through ``POST /predict`` of the real
app with the committed weights and prints accuracy per kind (``--grid-dir D`` also saves, per
kind, a PNG grid of the 28×28 inputs the network saw).

Modules: ``typed``, ``canvas``, ``mnist_renderings`` and ``faint`` make the four families; ``samples``
holds one upload; ``evaluation`` reads the set through the API; ``__main__`` is the command.
"""

from __future__ import annotations

import numpy as np

from harness.realworld.canvas import CANVAS_STYLES, canvas_samples
from harness.realworld.evaluation import (
    Outcome,
    accuracy,
    api_classifier,
    evaluate,
    failure_lines,
    report_table,
    save_grids,
)
from harness.realworld.faint import FAINT_KINDS, faint_samples
from harness.realworld.mnist_renderings import MNIST_KINDS, mnist_samples
from harness.realworld.samples import Sample
from harness.realworld.typed import FONT_FILES, typed_samples

__all__ = [
    "ALL_KINDS",
    "FAINT_KINDS",
    "FONT_FILES",
    "MNIST_KINDS",
    "SEED",
    "Outcome",
    "Sample",
    "accuracy",
    "api_classifier",
    "canvas_samples",
    "faint_samples",
    "evaluate",
    "generate",
    "failure_lines",
    "report_table",
    "save_grids",
]

SEED = 20261128

ALL_KINDS = ("typed", "typed_light_on_dark", *CANVAS_STYLES, *MNIST_KINDS, *FAINT_KINDS, "typed_faded_side")


def generate(mnist_images: np.ndarray, mnist_labels: np.ndarray, seed: int = SEED) -> list[Sample]:
    """The full set, deterministic for a seed: typed, canvas, MNIST-derived and faint samples.
    The faint ones draw from their own stream of the seed, so the others stay as they were."""
    rng = np.random.default_rng(seed)
    samples = typed_samples(rng) + canvas_samples(rng) + mnist_samples(mnist_images, mnist_labels, rng)
    return samples + faint_samples(mnist_images, mnist_labels, np.random.default_rng([seed, 1]))
