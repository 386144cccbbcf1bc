"""A network built from a declarative spec: a plain list of named layers.

The spec is JSON-compatible, so it travels inside the weights file and rebuilds the
network exactly (see ``model.checkpoint``)::

    {"input_shape": [1, 28, 28],
     "layers": [{"name": "conv1", "type": "Convolution", "filters": 30, "size": 5, ...}, ...]}

Parameters live in one dict named ``"<layer>.<param>"`` (e.g. ``"conv1.W"``), shared with
the layers, which is what optimizers update.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from model.layers import (
    Affine,
    AveragePooling,
    Convolution,
    ConvReluMaxPool,
    MaxPooling,
    Relu,
    SoftmaxWithLoss,
    output_size,
    softmax,
)

DTYPE = np.float32

#: The seed tutorial's network: Conv(30×5×5) → ReLU → MaxPool 2×2 → Affine(100) → ReLU →
#: Affine(10) → Softmax. Inputs are 28×28 grey images in [0, 1], white ink on black.
DEFAULT_SPEC = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"name": "conv1", "type": "Convolution", "filters": 30, "size": 5, "stride": 1, "pad": 0},
        {"name": "relu1", "type": "Relu"},
        {"name": "pool1", "type": "MaxPooling", "size": 2, "stride": 2},
        {"name": "affine1", "type": "Affine", "units": 100},
        {"name": "relu2", "type": "Relu"},
        {"name": "affine2", "type": "Affine", "units": 10},
    ],
}

# Images per step of a large inference batch (see Network.predict).
PREDICT_CHUNK = 250

LAYER_TYPES = ("Convolution", "Relu", "MaxPooling", "AveragePooling", "Affine")


class SpecError(ValueError):
    """A network spec that cannot be built."""


def _require_int(entry: dict, key: str, default: int | None = None, minimum: int = 1) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"layer {entry.get('name')!r}: {key!r} must be an integer ≥ {minimum}")
    return value


def parameter_shapes(spec: dict) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter the spec needs, by name; also validates the spec."""
    try:
        shape = tuple(int(d) for d in spec["input_shape"])
        layers = list(spec["layers"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError("a spec needs 'input_shape' (C, H, W) and a list of 'layers'") from exc
    if len(shape) != 3 or min(shape) < 1:
        raise SpecError(f"input_shape must be (C, H, W) of positive sizes, not {shape}")
    shapes: dict[str, tuple[int, ...]] = {}
    names = set()
    for entry in layers:
        name, kind = entry.get("name"), entry.get("type")
        if not isinstance(name, str) or not name or name in names:
            raise SpecError(f"every layer needs a unique name; got {name!r}")
        names.add(name)
        if kind not in LAYER_TYPES:
            raise SpecError(f"layer {name!r}: unknown type {kind!r} (known: {LAYER_TYPES})")
        try:
            if kind == "Convolution":
                filters, size = _require_int(entry, "filters"), _require_int(entry, "size")
                stride = _require_int(entry, "stride", 1)
                pad = _require_int(entry, "pad", 0, minimum=0)
                c, h, w = shape
                shapes[f"{name}.W"] = (filters, c, size, size)
                shapes[f"{name}.b"] = (filters,)
                shape = (filters, output_size(h, size, stride, pad), output_size(w, size, stride, pad))
            elif kind in ("MaxPooling", "AveragePooling"):
                size = _require_int(entry, "size", 2)
                stride = _require_int(entry, "stride", size)
                pad = _require_int(entry, "pad", 0, minimum=0)
                c, h, w = shape
                shape = (c, output_size(h, size, stride, pad), output_size(w, size, stride, pad))
            elif kind == "Affine":
                units = _require_int(entry, "units")
                shapes[f"{name}.W"] = (math.prod(shape), units)
                shapes[f"{name}.b"] = (units,)
                shape = (units,)
        except ValueError as exc:
            if isinstance(exc, SpecError):
                raise
            raise SpecError(f"layer {name!r}: {exc}") from exc
    return shapes


def output_shapes(spec: dict) -> list[tuple[str, tuple[int, ...]]]:
    """(name, output shape without N) of every layer, in order: the architecture diagram."""
    return Network(spec, rng=np.random.default_rng(0))._output_shapes()


def init_params(spec: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """He-initialised weights (std √(2/fan-in), right for ReLU) and zero biases."""
    params = {}
    for name, shape in parameter_shapes(spec).items():
        if name.endswith(".b"):
            params[name] = np.zeros(shape, dtype=DTYPE)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
            params[name] = (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(DTYPE)
    return params


class Network:
    """Layers in order, a softmax-cross-entropy head, and the shared parameter dict."""

    def __init__(self, spec: dict | None = None, params: dict | None = None, rng=None, dtype=DTYPE):
        """Build the layers of ``spec``; ``params`` by name, else He-initialised from ``rng``.

        float32 is the run-time type; float64 serves the numerical gradient checks.
        """
        self.spec = copy.deepcopy(spec if spec is not None else DEFAULT_SPEC)
        self.dtype = np.dtype(dtype)
        expected = parameter_shapes(self.spec)
        if params is None:
            params = init_params(self.spec, rng if rng is not None else np.random.default_rng())
        self._check_params(params, expected)
        self.params = {name: np.ascontiguousarray(params[name], dtype=self.dtype) for name in expected}
        self.layers = [(entry["name"], self._build(entry, i)) for i, entry in enumerate(self.spec["layers"])]
        self.head = SoftmaxWithLoss()
        self._fused = self._fuse_conv_relu_pool()
        # Training runs through the layers with every fusable triple replaced by its block.
        self._training_steps = []
        i = 0
        while i < len(self.layers):
            self._training_steps.append(self._fused.get(i, self.layers[i][1]))
            i += 3 if i in self._fused else 1

    @staticmethod
    def _check_params(params: dict, expected: dict) -> None:
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        if missing or extra:
            raise SpecError(f"parameters do not match the spec: missing {missing}, unexpected {extra}")
        for name, shape in expected.items():
            if tuple(params[name].shape) != shape:
                raise SpecError(f"parameter {name} has shape {params[name].shape}, spec needs {shape}")

    def _build(self, entry: dict, index: int):
        name, kind = entry["name"], entry["type"]
        # Nobody needs the gradient of the image itself.
        input_grad = index > 0
        if kind == "Convolution":
            return Convolution(
                self.params[f"{name}.W"], self.params[f"{name}.b"],
                stride=entry.get("stride", 1), pad=entry.get("pad", 0), input_grad=input_grad,
            )
        if kind == "Affine":
            return Affine(self.params[f"{name}.W"], self.params[f"{name}.b"], input_grad=input_grad)
        if kind == "Relu":
            return Relu()
        pooling = MaxPooling if kind == "MaxPooling" else AveragePooling
        return pooling(entry.get("size", 2), entry.get("stride"), entry.get("pad", 0))

    def _output_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        x = np.zeros((1, *self.spec["input_shape"]), dtype=self.dtype)
        shapes = []
        for name, layer in self.layers:
            x = layer.predict(x)
            shapes.append((name, tuple(x.shape[1:])))
        return shapes

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers]

    @property
    def parameter_count(self) -> int:
        return sum(p.size for p in self.params.values())

    # --- inference: a pure function of the parameters ---------------------------------

    def predict(self, x: np.ndarray, keep: tuple[str, ...] | list[str] = ()):
        """Class probabilities (N, K) for images x (N, C, H, W) in [0, 1].

        Also returns a dict of the outputs of the layers named in ``keep`` (e.g. ``"relu1"``,
        ``"pool1"``). Keeps no state, so several threads may call it at once.
        """
        unknown = set(keep) - set(self.layer_names) if keep else ()
        if unknown:
            raise KeyError(f"no layer named {sorted(unknown)}; layers are {self.layer_names}")
        x = np.asarray(x, dtype=self.dtype)
        if len(x) <= PREDICT_CHUNK:
            scores, activations = self._scores(x, keep)
            return softmax(scores), activations
        # A few hundred images at a time keep every intermediate array in the CPU's cache; a
        # whole large batch at once spends its time streaming them through memory.
        chunks = [self._scores(x[i : i + PREDICT_CHUNK], keep) for i in range(0, len(x), PREDICT_CHUNK)]
        scores = np.concatenate([chunk_scores for chunk_scores, _ in chunks])
        activations = {name: np.concatenate([a[name] for _, a in chunks]) for name in keep}
        return softmax(scores), activations

    def _scores(self, x: np.ndarray, keep) -> tuple[np.ndarray, dict]:
        activations = {}
        i = 0
        while i < len(self.layers):
            name, layer = self.layers[i]
            if i in self._fused and not {name, self.layers[i + 1][0]} & set(keep):
                x = self._fused[i].predict(x)
                i += 2
                name = self.layers[i][0]
            else:
                x = layer.predict(x)
            if name in keep:
                activations[name] = x
            i += 1
        return x, activations

    def _fuse_conv_relu_pool(self) -> dict[int, ConvReluMaxPool]:
        """A fused block for each i where layers i, i+1, i+2 are Convolution, Relu and a
        MaxPooling whose windows tile its input."""
        shapes = [tuple(self.spec["input_shape"])] + [shape for _, shape in self._output_shapes()]
        fused = {}
        for i in range(len(self.layers) - 2):
            conv, relu, pool = (layer for _, layer in self.layers[i : i + 3])
            if (
                isinstance(conv, Convolution) and isinstance(relu, Relu) and isinstance(pool, MaxPooling)
                and pool.tiles((1, *shapes[i + 2]))
            ):
                fused[i] = ConvReluMaxPool(conv, pool)
        return fused

    # --- training ----------------------------------------------------------------------

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward pass that keeps what backward needs; the mean cross-entropy."""
        for step in self._training_steps:
            x = step.forward(x)
        return self.head.forward(x, labels)

    def backward(self) -> dict[str, np.ndarray]:
        """Gradients of the last ``loss`` with respect to every parameter, by name."""
        dout = self.head.backward()
        for step in reversed(self._training_steps):
            dout = step.backward(dout)
        return {f"{name}.{key}": grad for name, layer in self.layers for key, grad in layer.grads.items()}

    def gradient(self, x: np.ndarray, labels: np.ndarray):
        """(loss, grads) for one batch."""
        loss = self.loss(x, labels)
        return loss, self.backward()
