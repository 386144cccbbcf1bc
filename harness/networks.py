"""Network specs for tests: small enough for numerical gradients, varied enough to use every
layer type with strides, padding and both kinds of pooling."""

from __future__ import annotations

SMALL_SPEC = {
    "input_shape": [2, 9, 9],
    "layers": [
        {"name": "conv", "type": "Convolution", "filters": 3, "size": 3, "stride": 2, "pad": 1},
        {"name": "relu", "type": "Relu"},
        {"name": "pool", "type": "AveragePooling", "size": 2, "stride": 1},
        {"name": "conv2", "type": "Convolution", "filters": 2, "size": 2},
        {"name": "max", "type": "MaxPooling", "size": 2},
        {"name": "out", "type": "Affine", "units": 4},
    ],
}
