"""One backward pass and a few SGD steps on one image: how the network would learn from it.

Training shows the network a digit and its true label K, measures how wrong it was, and moves
every weight a little against its gradient. Here that happens once (or a few times) on one image:

* the loss: −log p[K], the cross-entropy of ``model.layers.SoftmaxWithLoss`` (which adds 1e-7
  inside the log, so that a probability of 0 gives a large loss rather than infinity);
* its gradient with respect to the 10 scores: p − one-hot(K), where backpropagation starts;
* the gradient reaching the hidden units (the output of ``relu2``), the gradient of the first
  convolution's filters (``conv1.W``) and the gradient reaching the input pixels — each layer's
  own ``backward`` in ``model.layers``, run from the last layer to the first;
* then ``steps`` updates θ ← θ − lr·∇θ by ``model.optimizers.SGD``, each from a fresh
  forward and backward pass, and what they did: this image's probabilities after, how far each
  filter moved, and the accuracy on other digits (``model.sample``) before and after.

Everything runs on a private copy of the network: the network given is never changed, and its
layers keep no state from here (``forward`` stores what ``backward`` needs on the layer, so
layers shared between threads must not run it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.network import FILTERS_LAYER, HIDDEN_LAYER, Network
from model.optimizers import SGD
from model.sample import Sample


@dataclass(frozen=True)
class Gradients:
    """One backward pass on one image with its true label."""

    loss: float  # −log(p[label] + 1e-7)
    probabilities: np.ndarray  # (K,) softmax of the scores
    scores: np.ndarray  # (K,) dL/d scores = probabilities − one-hot(label)
    hidden: np.ndarray  # dL/d (output of the hidden layer), its shape without N (e.g. (100,))
    filters: np.ndarray  # dL/d W of the filters layer (FN, C, FH, FW)
    input: np.ndarray  # dL/d image (C, H, W)
    params: dict[str, np.ndarray]  # dL/d every parameter, named as in network.params


@dataclass(frozen=True)
class Lesson:
    """The backward pass on the network as it was, and what ``steps`` SGD steps did."""

    label: int
    learning_rate: float
    steps: int
    gradients: Gradients
    probabilities_after: np.ndarray  # (K,) the image's probabilities after the steps
    filter_change: np.ndarray  # (FN,) ‖W_after − W_before‖₂ of each filter
    # The share of the sample's digits read right before and after the steps (None: no sample).
    sample_accuracy: tuple[float, float] | None


def private_copy(network: Network) -> Network:
    """A network of its own: the same spec and dtype, a copy of the parameters (safe to train).

    Its first convolution also computes the gradient of its input (the image), which training
    skips and the lesson shows.
    """
    params = {name: value.copy() for name, value in network.params.items()}
    student = Network(network.spec, params, dtype=network.dtype)
    first = student.layers[0][1]
    if hasattr(first, "input_grad"):
        first.input_grad = True
    return student


def _as_batch(network: Network, image: np.ndarray) -> np.ndarray:
    """One image (H, W) (one channel) or (C, H, W) as a batch of one (1, C, H, W) in the network's dtype."""
    x = np.asarray(image, dtype=network.dtype)
    if x.ndim == 2:
        x = x[np.newaxis]
    if x.shape != tuple(network.spec["input_shape"]):
        raise ValueError(f"the network reads images {network.spec['input_shape']}, not {np.shape(image)}")
    return x[np.newaxis]


def backward_pass(
    student: Network, image: np.ndarray, label: int,
    hidden_layer: str = HIDDEN_LAYER, filters_layer: str = FILTERS_LAYER,
) -> Gradients:
    """Forward and backward through ``student``'s textbook layers (``student.layers``, whatever
    ``fast`` says) for one image (H, W) or (C, H, W) and its true ``label``.

    The layers keep what backward needs: ``student`` must be a network no other thread runs
    (see ``private_copy``).
    """
    x = _as_batch(student, image)
    labels = np.array([label])
    for _, layer in student.layers:
        x = layer.forward(x)
    if not 0 <= label < x.shape[1]:
        raise ValueError(f"label must be a class 0–{x.shape[1] - 1}, not {label}")
    loss = student.head.forward(x, labels)
    dout = student.head.backward()
    dscores, hidden = dout[0], None
    for name, layer in reversed(student.layers):
        if name == hidden_layer:
            hidden = dout[0]  # the gradient reaching this layer's output
        dout = layer.backward(dout)
    if hidden is None:
        raise ValueError(f"no layer named {hidden_layer!r}; layers are {student.layer_names}")
    params = {f"{name}.{key}": grad for name, layer in student.layers for key, grad in layer.grads.items()}
    return Gradients(
        loss=loss, probabilities=student.head.probabilities[0], scores=dscores, hidden=hidden,
        filters=params[f"{filters_layer}.W"], input=dout[0], params=params,
    )


def teach(
    network: Network, image: np.ndarray, label: int, learning_rate: float, steps: int,
    sample: Sample | None = None, hidden_layer: str = HIDDEN_LAYER, filters_layer: str = FILTERS_LAYER,
) -> Lesson:
    """The gradients of one image (H, W) or (C, H, W) in [0, 1] with its true ``label`` on
    ``network``, then ``steps`` SGD steps of ``learning_rate`` on a private copy.

    Costs ``steps`` forward and backward passes of one image, one forward pass of the sample
    after the steps and, the first time for each ``network``, one before (remembered: the network
    given never changes here).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    student = private_copy(network)
    filters_before = student.params[f"{filters_layer}.W"].copy()
    first = backward_pass(student, image, label, hidden_layer, filters_layer)
    optimizer = SGD(learning_rate)
    gradients = first
    for step in range(steps):
        if step:
            gradients = backward_pass(student, image, label, hidden_layer, filters_layer)
        optimizer.update(student.params, gradients.params)
    probabilities_after, _ = student.predict(_as_batch(student, image))
    moved = student.params[f"{filters_layer}.W"] - filters_before
    accuracy = None
    if sample is not None:
        accuracy = (sample.accuracy(network, remember=True), sample.accuracy(student))
    return Lesson(
        label=label, learning_rate=learning_rate, steps=steps, gradients=first,
        probabilities_after=probabilities_after[0],
        filter_change=np.sqrt((moved.astype(np.float64) ** 2).sum(axis=(1, 2, 3))),
        sample_accuracy=accuracy,
    )
