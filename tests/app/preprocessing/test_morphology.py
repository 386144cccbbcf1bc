"""Dilation and erosion in NumPy are Pillow's rank filters (MaxFilter, MinFilter) on a square of
side 2 × passes + 1, value for value: the separable NumPy form is what runs, Pillow's the plain
definition it is held to."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from app.preprocessing.morphology import dilate, erode


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (40, 33), (128, 128)])
@pytest.mark.parametrize("passes", [1, 2, 5])
@pytest.mark.parametrize(
    ("numpy_form", "pillow_filter"), [(dilate, ImageFilter.MaxFilter), (erode, ImageFilter.MinFilter)]
)
def test_dilate_and_erode_equal_pillows_rank_filters(shape, passes, numpy_form, pillow_filter):
    values = np.random.default_rng(sum(shape) + passes).random(shape, dtype=np.float32)
    expected = np.asarray(Image.fromarray(values).filter(pillow_filter(2 * passes + 1)))
    np.testing.assert_array_equal(numpy_form(values, passes), expected)
