"""Saliency: how much each input pixel pushes the network's answer up or down.

The saliency of an image for class ``target`` is the gradient of that class's score (the logit,
before softmax) with respect to every input pixel (Simonyan et al., 2014). Asked "why ``target``
and not ``versus``?", it is the gradient of the difference of the two scores:

    saliency[y, x] = d(logit[target] − logit[versus]) / d image[y, x]

Positive pixels push toward ``target`` (more ink there would raise its score), negative ones
away from it. The gradient comes from the network's own backward pass: the textbook layers of
``model.layers`` run forward and then backward from a one-hot (or +1/−1) gradient on the scores,
exactly as training runs backward from the loss, down to the image itself.
"""

from __future__ import annotations

import copy

import numpy as np

from model.network import Network


def _private_layers(network: Network) -> list:
    """A shallow copy of each textbook layer of ``network``, sharing its parameters.

    ``forward`` keeps what ``backward`` needs on the layer, so layers shared between threads
    (a server answers several requests at once) would overwrite each other's state: each call
    runs its own copies. The first convolution is told to compute the gradient of its input,
    which training skips: that input is the image, and its gradient is the saliency.
    """
    layers = []
    for _, layer in network.layers:
        private = copy.copy(layer)
        if hasattr(private, "input_grad"):
            private.input_grad = True
        layers.append(private)
    return layers


def input_gradients(
    network: Network, images: np.ndarray, targets: list[int], versus: list[int | None]
) -> np.ndarray:
    """The saliency (N, H, W) of each image of ``images`` (N, H, W) in [0, 1], white ink on black.

    Row i is d(logit[targets[i]] − logit[versus[i]]) / d images[i], or d logit[targets[i]] /
    d images[i] where versus[i] is None. The images are independent of each other, so one
    forward and one backward pass over the whole batch give every image's gradient at once.
    Computed in the network's dtype (float32 when serving, float64 for gradient checks).
    """
    images = np.asarray(images, dtype=network.dtype)
    if images.ndim != 3 or len(targets) != len(images) or len(versus) != len(images):
        raise ValueError(f"images must be (N, H, W) with one target and one versus each, "
                         f"not {images.shape}, {len(targets)} targets, {len(versus)} versus")
    layers = _private_layers(network)
    x = images[:, np.newaxis]  # (N, 1, H, W): one grey channel
    for layer in layers:
        x = layer.forward(x)
    classes = x.shape[1]
    for value in [*targets, *versus]:
        if value is not None and not 0 <= value < classes:
            raise ValueError(f"targets and versus must be classes 0–{classes - 1}, not {value}")
    # d(the compared score) / d(every score), (N, classes): +1 on the target, −1 on versus.
    dout = np.zeros_like(x)
    for row, (target, other) in enumerate(zip(targets, versus, strict=True)):
        dout[row, target] += 1.0
        if other is not None:
            dout[row, other] -= 1.0
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout[:, 0]


def input_gradient(network: Network, image: np.ndarray, target: int, versus: int | None = None) -> np.ndarray:
    """The saliency (H, W) of one image (H, W): d(logit[target] − logit[versus]) / d image,
    or d logit[target] / d image when ``versus`` is None."""
    return input_gradients(network, np.asarray(image)[np.newaxis], [target], [versus])[0]
