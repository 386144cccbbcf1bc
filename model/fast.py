"""Convolution → ReLU → max pooling as one fused block: the same function as the textbook
layers in ``model.layers``, computed faster. ``Network(spec, fast=True)`` uses it wherever
the spec has those three layers in a row and the pooling windows tile the image.

Two rearrangements make it faster, both exact:

* The bias and the ReLU act *after* pooling, on a quarter of the values (2×2 windows):
  relu(max(z) + b) = max(relu(z + b)), because max commutes with adding a per-channel
  constant and with the ReLU.
* Its im2col orders the rows by position *inside* the pooling window first,
  (i, j, n, a, b) for output pixel (a·s + i, b·s + j), so the convolution comes out as s²
  contiguous blocks, one per window position. Pooling is then s² − 1 elementwise maxima of
  whole blocks, and its gradient s² contiguous masks. As in the textbook MaxPooling, a
  window's gradient goes to the first position holding its maximum.

Activations lie channels-last in memory (N, H, W, C) and are handed out as NCHW views.
"""

from __future__ import annotations

import numpy as np

from model.layers import col2im, output_size


def tiles(size: int, stride: int, pad: int, height: int, width: int) -> bool:
    """Whether size×size pooling windows tile a height×width map exactly, without overlap."""
    return stride == size and pad == 0 and height % size == 0 and width % size == 0


def windows(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """A read-only view (C, FH, FW, N, OH, OW) of every filter window of x (N, C, H, W).

    Window offsets come first and output positions last, so that copying the view streams
    along image rows. Built with np.ndarray over x's buffer: the same view as
    np.lib.stride_tricks.as_strided, without its Python overhead, which is a tenth of a
    single-image prediction.
    """
    n, c, h, w = x.shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    if pad:
        x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    x = np.ascontiguousarray(x)
    sn, sc, sh, sw = x.strides
    view = np.ndarray((c, fh, fw, n, oh, ow), x.dtype, x, 0, (sc, sh, sw, sn, sh * stride, sw * stride))
    view.flags.writeable = False
    return view


class ConvReluMaxPool:
    """relu(maxpool(conv(x))) for x (N, C, H, W); W: (FN, C, FH, FW), b: (FN,) → (N, FN, OH/s, OW/s).

    ``params`` and ``grads`` are named like the Convolution's ("W", "b"); the pooling size
    s must tile the convolution's output (see ``tiles``).
    """

    def __init__(self, W, b, stride: int = 1, pad: int = 0, pool: int = 2, input_grad: bool = True):
        self.params = {"W": W, "b": b}
        self.grads: dict[str, np.ndarray] = {}
        self.stride, self.pad, self.size, self.input_grad = stride, pad, pool, input_grad

    def _convolve(self, x):
        """(col, z, pooled shape): im2col rows in (i, j, n, a, b) order, and the convolution
        without bias as (s², N·A·B, FN), where A, B are the pooled height and width."""
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        s = self.size
        view = windows(x, fh, fw, self.stride, self.pad)
        n, oh, ow = view.shape[3:]
        if not tiles(s, s, 0, oh, ow):
            raise ValueError(f"{s}×{s} pooling does not tile a {oh}×{ow} convolution output")
        by_position = view.reshape(c, fh, fw, n, oh // s, s, ow // s, s).transpose(0, 1, 2, 5, 7, 3, 4, 6)
        col = by_position.reshape(c * fh * fw, -1).T  # a Fortran-ordered copy; BLAS takes it as it is
        z = (col @ W.reshape(fn, -1).T).reshape(s * s, -1, fn)
        return col, z, (n, oh // s, ow // s, fn)

    @staticmethod
    def _maxima(z):
        """(s², R, FN) → (R, FN): the maximum over the window positions."""
        maxima = z[0].copy()
        for block in z[1:]:
            np.maximum(maxima, block, out=maxima)
        return maxima

    @staticmethod
    def _maxima_and_winners(z):
        """(maxima (R, FN), winners (R, FN)): the maximum over the window positions and the
        first position holding it, which gets the gradient (as in the textbook MaxPooling)."""
        maxima = z[0].copy()
        winners = np.zeros(maxima.shape, dtype=np.uint8)
        for position, block in enumerate(z[1:], start=1):
            # Positions only grow, so max(winner, position · [block > maxima]) marks a new
            # winner: plain arithmetic, several times faster than np.copyto(..., where=).
            np.maximum(winners, (block > maxima) * np.uint8(position), out=winners)
            np.maximum(maxima, block, out=maxima)
        return maxima, winners

    def _relu_maps(self, z, shape):
        """The convolution with bias, and its ReLU, as (N, FN, OH, OW) from z (s², R, FN)."""
        n, a, b, fn = shape
        s = self.size
        conv = z.reshape(s, s, n, a, b, fn).transpose(2, 3, 0, 4, 1, 5).reshape(n, a * s, b * s, fn)
        conv += self.params["b"]
        return conv.transpose(0, 3, 1, 2), np.maximum(conv, 0).transpose(0, 3, 1, 2)

    def predict(self, x, maps: bool = False):
        """(pooled (N, FN, A, B), maps). With ``maps``, maps = {"conv", "relu"}: the
        convolution's and the ReLU's outputs (N, FN, OH, OW) from this same pass; else {}."""
        _, z, shape = self._convolve(x)
        pooled = self._maxima(z)
        pooled += self.params["b"]
        np.maximum(pooled, 0, out=pooled)
        pooled = pooled.reshape(shape).transpose(0, 3, 1, 2)
        if not maps:
            return pooled, {}
        conv, relu = self._relu_maps(z, shape)
        return pooled, {"conv": conv, "relu": relu}

    def forward(self, x):
        self.x_shape = x.shape
        # Backward needs the windows (col) and, per pooled value, which position won and
        # whether the ReLU let it through; not the convolution itself.
        self.col, z, shape = self._convolve(x)
        maxima, self.winners = self._maxima_and_winners(z)
        pooled = maxima + self.params["b"]
        self.positive = pooled > 0
        np.maximum(pooled, 0, out=pooled)
        return pooled.reshape(shape).transpose(0, 3, 1, 2)

    def backward(self, dout):
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        s = self.size
        dout = dout.transpose(0, 2, 3, 1)  # (N, A, B, FN)
        n, a, b, _ = dout.shape
        dpooled = dout.reshape(-1, fn) * self.positive
        # Each window position gets the gradient where it won its window.
        dz = np.empty((s * s, *self.winners.shape), dtype=dpooled.dtype)
        for position in range(s * s):
            np.equal(self.winners, position, out=dz[position], casting="unsafe")
        dz *= dpooled
        rows = dz.reshape(-1, fn)
        # Σ over rows as a matrix-vector product: sum(axis=0) over 30 narrow columns is slower.
        db = np.ones(len(dpooled), dpooled.dtype) @ dpooled
        self.grads = {"W": (self.col.T @ rows).T.reshape(W.shape), "b": db}
        if not self.input_grad:
            return None
        dcol = (rows @ W.reshape(fn, -1)).reshape(s, s, n, a, b, -1).transpose(2, 3, 0, 4, 1, 5)
        return col2im(dcol.reshape(n * a * s * b * s, -1), self.x_shape, fh, fw, self.stride, self.pad)
