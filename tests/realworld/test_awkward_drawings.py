"""The awkward drawings of issue 11 (small digits in the default brush, flagged 1s) are drawn as
described: the right size on the pad, with the page's brush, the same for a seed."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from harness import awkward_drawings


def _alpha(sample) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(sample.data)).getchannel("A"))


def test_the_drawings_are_the_same_for_a_seed():
    first = [s.data for s in awkward_drawings.generate(seed=4)]
    assert first == [s.data for s in awkward_drawings.generate(seed=4)]


def test_small_digits_span_their_share_of_the_pad_plus_the_brush():
    for sample in awkward_drawings.small_digits(np.random.default_rng(1)):
        share = int(sample.kind.removeprefix("small_")) / 100
        rows = np.flatnonzero(_alpha(sample).max(axis=1) > 128)
        span = rows[-1] - rows[0] + 1
        height = share * awkward_drawings.CANVAS
        assert 0.6 * height <= span <= 1.3 * height + awkward_drawings.DEFAULT_BRUSH, sample.note


def test_a_flagged_one_has_its_flag_to_the_left_of_its_stem_and_below_its_top():
    [stroke] = awkward_drawings.flagged_one(0.4, 45)
    start, top, bottom = stroke
    assert start[0] < top[0] == bottom[0]
    assert top[1] < start[1] < bottom[1]
