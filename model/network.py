"""A network built from a declarative spec: a plain list of named layers.

The spec is JSON-compatible, so it travels inside the weights file and rebuilds the
network exactly (see ``model.checkpoint``)::

    {"input_shape": [1, 28, 28],
     "layers": [{"name": "conv1", "type": "Convolution", "filters": 30, "size": 5, ...}, ...]}

Parameters live in one dict named ``"<layer>.<param>"`` (e.g. ``"conv1.W"``), shared with
the layers, which is what optimizers update.

``Network(spec)`` runs the fused convolution → ReLU → max-pooling block of ``model.fast``
wherever the spec allows it; ``Network(spec, fast=False)`` runs the textbook layers of
``model.layers`` only. Both compute the same function and the same gradients.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from model import fast as fast_blocks
from model.layers import (
    Affine,
    AveragePooling,
    Convolution,
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
#: The layers of DEFAULT_SPEC read outside the network: the filters the model card shows, the
#: feature maps and their pooled form the page draws, the hidden units the verdict reads and the
#: scores before softmax.
FILTERS_LAYER, MAPS_LAYER, POOLED_LAYER = "conv1", "relu1", "pool1"
HIDDEN_LAYER, LOGITS_LAYER = "relu2", "affine2"

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


def architecture(network: Network) -> list[dict]:
    """The spec's layers, each with its output shape (C, H, W) and parameter count (the model card's form)."""
    layers = []
    for entry, (name, shape) in zip(network.spec["layers"], network.output_shapes(), strict=True):
        parameters = sum(value.size for key, value in network.params.items() if key.startswith(f"{name}."))
        layers.append({**entry, "output_shape": list(shape), "parameters": parameters})
    return layers


#: Starting weights, recorded in the model card. The filters start as the seed tutorial's
#: do, small (std 0.01) against the steps Adam takes, so that what they end up as is learned:
#: from He's larger start (std √(2/25) ≈ 0.28) Adam's steps barely moved them. The affine
#: layers keep He's scale, right for the ReLUs that follow them.
INIT = {
    "Convolution": {"weights": "normal", "std": 0.01},
    "Affine": {"weights": "normal", "std": "sqrt(2 / fan_in) (He)"},
    "biases": "zeros",
}
CONV_INIT_STD = INIT["Convolution"]["std"]


def init_params(spec: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Starting parameters by name (see ``INIT``): filters N(0, 0.01²), affine weights
    N(0, 2/fan-in), zero biases."""
    params = {}
    for name, shape in parameter_shapes(spec).items():
        if name.endswith(".b"):
            params[name] = np.zeros(shape, dtype=DTYPE)
        elif len(shape) == 4:
            params[name] = (rng.standard_normal(shape) * CONV_INIT_STD).astype(DTYPE)
        else:
            params[name] = (rng.standard_normal(shape) * math.sqrt(2.0 / shape[0])).astype(DTYPE)
    return params


class Network:
    """Layers in order, a softmax-cross-entropy head, and the shared parameter dict.

    ``layers`` is the plain list of (name, textbook layer), one per spec entry. ``steps``
    is what runs, in order: (names, layer) where a fused block stands for the three
    layers it replaces (``fast=True``), else each layer alone.
    """

    def __init__(self, spec: dict | None = None, params: dict | None = None, rng=None, dtype=DTYPE,
                 fast: bool = True):
        """Build the layers of ``spec``; ``params`` by name, else initialised from ``rng``.

        float32 is the run-time type; float64 serves the numerical gradient checks.
        """
        self.spec = copy.deepcopy(spec if spec is not None else DEFAULT_SPEC)
        self.dtype = np.dtype(dtype)
        expected = parameter_shapes(self.spec)
        if params is None:
            params = init_params(self.spec, rng if rng is not None else np.random.default_rng())
        self._check_params(params, expected)
        self.params = {name: np.ascontiguousarray(params[name], dtype=self.dtype) for name in expected}
        entries = self.spec["layers"]
        self.layers = [(entry["name"], self._build(entry, i)) for i, entry in enumerate(entries)]
        self.head = SoftmaxWithLoss()
        shapes = self.output_shapes() if fast else None
        self.steps = []
        i = 0
        while i < len(entries):
            block = self._fused_block(i, shapes[i][1]) if fast else None
            if block is not None:
                self.steps.append((tuple(entry["name"] for entry in entries[i : i + 3]), block))
                i += 3
            else:
                self.steps.append(((entries[i]["name"],), self.layers[i][1]))
                i += 1

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

    def _fused_block(self, i: int, conv_shape: tuple[int, int, int]):
        """The fused block for layers i, i+1, i+2 if they are Convolution, Relu and a
        MaxPooling whose windows tile the convolution's output (C, H, W); else None."""
        triple = [layer for _, layer in self.layers[i : i + 3]]
        if [type(layer) for layer in triple] != [Convolution, Relu, MaxPooling]:
            return None
        conv, _, pool = triple
        _, h, w = conv_shape
        if not fast_blocks.tiles(pool.size, pool.stride, pool.pad, h, w):
            return None
        return fast_blocks.ConvReluMaxPool(
            conv.params["W"], conv.params["b"], conv.stride, conv.pad, pool.size, conv.input_grad
        )

    def output_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, output shape without N) of every layer: the textbook layers run on one blank image."""
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

        Also returns a dict of the outputs (N, C, H, W) of the layers named in ``keep``
        (e.g. ``"relu1"``, ``"pool1"``), taken from the same pass that makes the
        probabilities. Keeps no state, so several threads may call it at once.
        """
        if keep:
            unknown = set(keep) - set(self.layer_names)
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
        for names, layer in self.steps:
            if len(names) == 1:
                x = layer.predict(x)
                if keep and names[0] in keep:
                    activations[names[0]] = x
                continue
            conv, relu, pool = names
            wanted = bool(keep) and (conv in keep or relu in keep)
            x, maps = layer.predict(x, maps=wanted)
            for name, value in ((conv, maps.get("conv")), (relu, maps.get("relu")), (pool, x)):
                if keep and name in keep:
                    activations[name] = value
        return x, activations

    # --- training ----------------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Forward pass that keeps what backward needs; the class scores (N, K) before softmax."""
        for _, layer in self.steps:
            x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward pass that keeps what backward needs; the mean cross-entropy."""
        return self.head.forward(self.forward(x), labels)

    def backward(self, dscores: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Gradients of the last ``loss`` with respect to every parameter, by name; or, after
        ``forward``, of any loss whose gradient with respect to the scores is ``dscores`` (N, K)."""
        dout = self.head.backward() if dscores is None else dscores
        for _, layer in reversed(self.steps):
            dout = layer.backward(dout)
        # A fused block's parameters are its convolution's, named after the first layer.
        return {f"{names[0]}.{key}": grad for names, layer in self.steps for key, grad in layer.grads.items()}

    def gradient(self, x: np.ndarray, labels: np.ndarray):
        """(loss, grads) for one batch."""
        loss = self.loss(x, labels)
        return loss, self.backward()

