"""The convolution lab: one filter slid over one picture, then pooled, by the network's own layers.

The tutorial's lesson on sizes — filter size, stride and padding set how large a feature map is,
and pooling shrinks it again — run on any small square picture. Nothing new is computed here:
``Convolution`` and ``MaxPooling``/``AveragePooling`` from ``model.layers`` do the work, with one
filter, one channel and a zero bias, so the map is the plain convolution (no bias, no ReLU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.layers import AveragePooling, Convolution, MaxPooling, output_size

POOLINGS = {"max": MaxPooling, "average": AveragePooling}


@dataclass(frozen=True)
class Window:
    """How a size × size window slides along one axis of ``length`` values.

    ``count`` positions: count = 1 + (length + 2·pad − size) // stride. ``remainder`` =
    (length + 2·pad − size) % stride is how many of the last (padded) values no window reaches:
    the floor in the formula drops them.
    """

    length: int
    size: int
    stride: int
    pad: int = 0

    @property
    def fits(self) -> bool:
        return self.size <= self.length + 2 * self.pad

    @property
    def count(self) -> int:
        return output_size(self.length, self.size, self.stride, self.pad)

    @property
    def remainder(self) -> int:
        return (self.length + 2 * self.pad - self.size) % self.stride


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The plain convolution of image (H, W) with kernel (F, F): (OH, OW), no bias, no ReLU.

    Run by the network's ``Convolution`` with W (1, 1, F, F) and a zero bias, on x (1, 1, H, W).
    """
    image = np.asarray(image, dtype=np.float64)
    weights = np.asarray(kernel, dtype=np.float64)[np.newaxis, np.newaxis]  # (FN=1, C=1, F, F)
    layer = Convolution(weights, np.zeros(1), stride=stride, pad=pad)
    return layer.predict(image[np.newaxis, np.newaxis])[0, 0]


def pool(feature_map: np.ndarray, kind: str, size: int, stride: int) -> np.ndarray:
    """feature_map (H, W) pooled by ``POOLINGS[kind]`` over size × size windows: (PH, PW)."""
    layer = POOLINGS[kind](size=size, stride=stride)
    return layer.predict(np.asarray(feature_map, dtype=np.float64)[np.newaxis, np.newaxis])[0, 0]
