"""The textbook layers: im2col/col2im, Convolution, Relu, pooling, Affine, SoftmaxWithLoss.

These are the layers of the seed tutorial (Deep Learning from Scratch style), and
``Network(spec, fast=False)`` runs exactly them. ``model.fast`` holds a fused
convolution → ReLU → max-pooling block that computes the same function faster; it is
tested equal to these layers.

Arrays are NCHW: N images, C channels, H rows, W columns. Every layer has

* ``forward(x)`` — the training pass; keeps only what ``backward`` needs,
* ``backward(dout)`` — returns dL/dx and fills ``self.grads`` (named like ``self.params``),
* ``predict(x)`` — the inference pass; keeps nothing, so threads may share the layer.

Parameters are NumPy arrays shared with the network's parameter dict; optimizers update
them in place, so the layers always see the current values.
"""

from __future__ import annotations

import numpy as np


def output_size(size: int, filter_size: int, stride: int, pad: int) -> int:
    """Length of one spatial axis after a sliding window: (size + 2·pad − filter) / stride + 1."""
    span = size + 2 * pad - filter_size
    if span < 0:
        raise ValueError(f"a window of {filter_size} does not fit in {size} (+2×{pad} padding)")
    return span // stride + 1


def im2col(x: np.ndarray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unfold x (N, C, H, W) into one row per filter window: (N·OH·OW, C·FH·FW).

    Rows run over (n, oh, ow); columns over (c, fh, fw), matching W.reshape(FN, -1).
    The loop runs over the FH·FW offsets inside a window, not over the data.
    """
    n, c, h, w = x.shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.zeros((n, c, fh, fw, oh, ow), dtype=x.dtype)
    for y in range(fh):
        for x_ in range(fw):
            col[:, :, y, x_, :, :] = img[:, :, y : y + stride * oh : stride, x_ : x_ + stride * ow : stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def col2im(col: np.ndarray, x_shape: tuple, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The adjoint of im2col: add each row's window back onto an image (N, C, H, W)."""
    n, c, h, w = x_shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    col = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for y in range(fh):
        for x_ in range(fw):
            img[:, :, y : y + stride * oh : stride, x_ : x_ + stride * ow : stride] += col[:, :, y, x_, :, :]
    return img[:, :, pad : pad + h, pad : pad + w]


class Layer:
    """A layer without parameters; subclasses override predict/forward/backward."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x)


class Convolution(Layer):
    """2-D convolution by im2col. W: (FN, C, FH, FW), b: (FN,); x (N, C, H, W) → (N, FN, OH, OW).

    With ``input_grad=False`` backward skips dL/dx: the first layer's input is the image,
    whose gradient nobody needs.
    """

    def __init__(self, W, b, stride: int = 1, pad: int = 0, input_grad: bool = True):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.stride, self.pad, self.input_grad = stride, pad, input_grad

    def _convolve(self, x):
        """(col, out): the im2col rows of x and the convolution (N, FN, OH, OW)."""
        W, b = self.params["W"], self.params["b"]
        fn, c, fh, fw = W.shape
        n, _, h, w = x.shape
        oh = output_size(h, fh, self.stride, self.pad)
        ow = output_size(w, fw, self.stride, self.pad)
        col = im2col(x, fh, fw, self.stride, self.pad)
        out = col @ W.reshape(fn, -1).T + b  # (N·OH·OW, FN)
        return col, out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    def predict(self, x):
        return self._convolve(x)[1]

    def forward(self, x):
        self.x_shape = x.shape
        self.col, out = self._convolve(x)
        return out

    def backward(self, dout):
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)  # (N·OH·OW, FN)
        self.grads = {"W": (self.col.T @ dout).T.reshape(W.shape), "b": dout.sum(axis=0)}
        if not self.input_grad:
            return None
        dcol = dout @ W.reshape(fn, -1)
        return col2im(dcol, self.x_shape, fh, fw, self.stride, self.pad)


class Relu(Layer):
    """max(0, x), elementwise."""

    def predict(self, x):
        return np.maximum(x, 0)

    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0, x)

    def backward(self, dout):
        return np.where(self.mask, 0, dout)


class Pooling(Layer):
    """Shared window logic of max and average pooling over size×size windows."""

    def __init__(self, size: int = 2, stride: int | None = None, pad: int = 0):
        super().__init__()
        self.size, self.stride, self.pad = size, stride or size, pad

    def _windows(self, x):
        """x (N, C, H, W) → (rows (N·OH·OW·C, size·size), output shape (N, C, OH, OW))."""
        n, c, h, w = x.shape
        oh = output_size(h, self.size, self.stride, self.pad)
        ow = output_size(w, self.size, self.stride, self.pad)
        col = im2col(x, self.size, self.size, self.stride, self.pad)
        return col.reshape(-1, self.size * self.size), (n, c, oh, ow)

    def _to_nchw(self, values, shape):
        n, c, oh, ow = shape
        return values.reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def _from_window_grads(self, dcol, x_shape):
        """Per-window gradients (N·OH·OW·C, size·size) added back onto x (N, C, H, W)."""
        return col2im(dcol.reshape(-1, x_shape[1] * self.size * self.size), x_shape, self.size, self.size,
                      self.stride, self.pad)


class MaxPooling(Pooling):
    """The maximum of each size×size window (stride defaults to size); padding counts as 0.

    The gradient goes to the first position holding a window's maximum.
    """

    def predict(self, x):
        rows, shape = self._windows(x)
        return self._to_nchw(rows.max(axis=1), shape)

    def forward(self, x):
        rows, shape = self._windows(x)
        self.x_shape = x.shape
        self.argmax = rows.argmax(axis=1)
        return self._to_nchw(rows[np.arange(len(rows)), self.argmax], shape)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1).ravel()  # (N·OH·OW·C,), the rows' order
        dmax = np.zeros((len(dout), self.size * self.size), dtype=dout.dtype)
        dmax[np.arange(len(dout)), self.argmax] = dout
        return self._from_window_grads(dmax, self.x_shape)


class AveragePooling(Pooling):
    """The mean of each size×size window (stride defaults to size); padding counts as 0."""

    def predict(self, x):
        rows, shape = self._windows(x)
        return self._to_nchw(rows.mean(axis=1), shape)

    def forward(self, x):
        self.x_shape = x.shape
        return self.predict(x)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, 1)
        share = np.repeat(dout / (self.size * self.size), self.size * self.size, axis=1)
        return self._from_window_grads(share.astype(dout.dtype, copy=False), self.x_shape)


class Affine(Layer):
    """Fully connected: x (N, …) flattened in C order to (N, D); W: (D, M), b: (M,) → (N, M).

    An image batch (N, C, H, W) flattens as in the book: channel by channel, row by row.
    """

    def __init__(self, W, b, input_grad: bool = True):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.input_grad = input_grad

    def predict(self, x):
        return x.reshape(len(x), -1) @ self.params["W"] + self.params["b"]

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads = {"W": self.x.T @ dout, "b": dout.sum(axis=0)}
        if not self.input_grad:
            return None
        return (dout @ self.params["W"].T).reshape(self.x_shape)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of scores (N, K), stable for large scores."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy against integer labels t (N,)."""

    def forward(self, scores: np.ndarray, labels: np.ndarray) -> float:
        self.probabilities = softmax(scores)
        self.labels = labels
        picked = self.probabilities[np.arange(len(labels)), labels]
        return float(-np.log(picked + 1e-7).mean())

    def backward(self) -> np.ndarray:
        dscores = self.probabilities.copy()
        dscores[np.arange(len(self.labels)), self.labels] -= 1
        dscores /= len(self.labels)
        return dscores
