"""The layer library: im2col/col2im and layers with forward/backward.

Arrays are NCHW: N images, C channels, H rows, W columns. Every layer has

* ``forward(x)``  — the training pass; keeps only what ``backward`` needs,
* ``backward(dout)`` — returns dL/dx and fills ``self.grads`` (named like ``self.params``),
* ``predict(x)`` — the inference pass; keeps nothing, so it is safe to call from threads.

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


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    if pad == 0:
        return x
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    padded[:, :, pad : pad + h, pad : pad + w] = x
    return padded


def _windows(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """A read-only view (C, FH, FW, N, OH, OW) of every filter window of x (N, C, H, W).

    Window offsets come first and output positions last, so that copying the view streams
    along image rows (OW contiguous elements at a time) instead of 5-element window rows.
    """
    n, c, h, w = x.shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    padded = np.ascontiguousarray(_pad(x, pad))
    sn, sc, sh, sw = padded.strides
    # np.ndarray over the same buffer is as_strided without its Python overhead (~3 µs,
    # a tenth of a single-image prediction).
    windows = np.ndarray(
        (c, fh, fw, n, oh, ow), padded.dtype, padded, 0, (sc, sh, sw, sn, sh * stride, sw * stride)
    )
    windows.flags.writeable = False
    return windows


def im2col(x: np.ndarray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unfold x (N, C, H, W) into rows of filter windows: (N·OH·OW, C·FH·FW).

    Rows run over (n, oh, ow); columns over (c, fh, fw), matching W.reshape(FN, -1).
    One strided view and one copy, no Python loop. The result is Fortran-ordered (the
    transpose of a C-ordered copy); BLAS takes it as it is.
    """
    windows = _windows(x, fh, fw, stride, pad)
    c, _, _, n, oh, ow = windows.shape
    return windows.reshape(c * fh * fw, n * oh * ow).T


def col2im(
    col: np.ndarray, x_shape: tuple, fh: int, fw: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """The adjoint of im2col: sum each row's window back into an image (N, C, H, W)."""
    n, c, h, w = x_shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    windows = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    # A loop over the FH·FW filter offsets (not over the data): each adds one strided block.
    for i in range(fh):
        rows = slice(i, i + stride * oh, stride)
        for j in range(fw):
            img[:, :, rows, j : j + stride * ow : stride] += windows[:, :, i, j]
    return img[:, :, pad : pad + h, pad : pad + w]


class Layer:
    """A layer without parameters; subclasses override forward/backward/predict."""

    params: dict[str, np.ndarray] = {}

    def __init__(self) -> None:
        self.params = {}
        self.grads: dict[str, np.ndarray] = {}

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x)


def column_sums(rows: np.ndarray) -> np.ndarray:
    """Σ over rows of a (R, K) matrix → (K,).

    A matrix-vector product: NumPy's sum(axis=0) over a few dozen narrow columns is ~5×
    slower, and this runs for every convolution bias gradient.
    """
    return np.ones(len(rows), dtype=rows.dtype) @ rows


class Convolution(Layer):
    """2-D convolution. W: (FN, C, FH, FW), b: (FN,); x (N, C, H, W) → (N, FN, OH, OW).

    With ``input_grad=False`` backward skips dL/dx: the first layer's input is the image,
    whose gradient nobody needs, and col2im is the most expensive step of backward.
    ``bias=False`` leaves the bias out (see ConvReluMaxPool, which adds it later).
    """

    def __init__(self, W, b, stride: int = 1, pad: int = 0, input_grad: bool = True):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.stride, self.pad, self.input_grad = stride, pad, input_grad

    def _convolve(self, x: np.ndarray, bias: bool) -> tuple[np.ndarray, np.ndarray]:
        """(col, output) for x (N, C, H, W)."""
        W, b = self.params["W"], self.params["b"]
        fn, c, fh, fw = W.shape
        col = im2col(x, fh, fw, self.stride, self.pad)
        out = col @ W.reshape(fn, -1).T
        if bias:
            out += b
        oh = output_size(x.shape[2], fh, self.stride, self.pad)
        ow = output_size(x.shape[3], fw, self.stride, self.pad)
        # Rows come out as (n, oh, ow); the NCHW result is a view of that NHWC memory.
        return col, out.reshape(len(x), oh, ow, fn).transpose(0, 3, 1, 2)

    def predict(self, x, bias: bool = True):
        return self._convolve(x, bias)[1]

    def forward(self, x, bias: bool = True):
        self.x_shape = x.shape
        self.col, out = self._convolve(x, bias)
        return out

    def backward(self, dout, bias: bool = True):
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, fn)  # (N·OH·OW, FN)
        self.grads = {"W": (self.col.T @ dout_rows).T.reshape(W.shape)}
        if bias:
            self.grads["b"] = column_sums(dout_rows)
        if not self.input_grad:
            return None
        dcol = dout_rows @ W.reshape(fn, -1)
        return col2im(dcol, self.x_shape, fh, fw, self.stride, self.pad)


class Relu(Layer):
    """max(0, x), elementwise."""

    def predict(self, x):
        return np.maximum(x, 0)

    def forward(self, x):
        out = np.maximum(x, 0)
        self.positive = out > 0
        return out

    def backward(self, dout):
        return dout * self.positive


class _Pooling(Layer):
    """Shared shape logic of max and average pooling over size×size windows."""

    def __init__(self, size: int = 2, stride: int | None = None, pad: int = 0):
        super().__init__()
        self.size, self.stride, self.pad = size, stride or size, pad

    def tiles(self, shape: tuple) -> bool:
        """Whether the windows tile an input of this NCHW shape exactly, without overlap:
        then pooling needs no window copies."""
        s = self.size
        return self.stride == s and self.pad == 0 and shape[2] % s == 0 and shape[3] % s == 0

    def _blocks(self, x):
        """x (N, C, H, W) as channels-last blocks (N, OH, size, OW, size, C).

        A view when x lies channels-last in memory, as a convolution's output does; the
        window axes then sit outside the contiguous channel axis, so each step streams.
        """
        n, c, h, w = x.shape
        s = self.size
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n, h // s, s, w // s, s, c)

    def _window_rows(self, x):
        """Windows of x as (N, C, OH, OW, size·size), a copy."""
        windows = _windows(x, self.size, self.size, self.stride, self.pad)
        c, fh, fw, n, oh, ow = windows.shape
        return windows.transpose(3, 0, 4, 5, 1, 2).reshape(n, c, oh, ow, fh * fw)

    def _scatter(self, window_grads, x_shape):
        """Sum per-window gradients (N, C, OH, OW, size·size) back onto x (N, C, H, W)."""
        n, c, oh, ow, k = window_grads.shape
        col = window_grads.transpose(0, 2, 3, 1, 4).reshape(n * oh * ow, c * k)
        return col2im(col, x_shape, self.size, self.size, self.stride, self.pad)


class MaxPooling(_Pooling):
    """The maximum of each size×size window (stride defaults to size).

    Where a window holds its maximum twice, each copy gets the gradient. After a ReLU
    the only likely tie is an all-zero window, whose gradient the ReLU drops anyway.
    """

    def predict(self, x):
        if not self.tiles(x.shape):
            return self._window_rows(x).max(axis=-1)
        return self._max_of_blocks(self._blocks(x)).transpose(0, 3, 1, 2)

    @staticmethod
    def _max_of_blocks(blocks):
        """(N, OH, s, OW, s, C) → (N, OH, OW, C): rows first, then columns, each a plain
        elementwise maximum over contiguous runs (several times faster than .max(axis=(2, 4)))."""
        rows = blocks[:, :, 0].copy()
        for i in range(1, blocks.shape[2]):
            np.maximum(rows, blocks[:, :, i], out=rows)
        out = rows[:, :, :, 0].copy()
        for j in range(1, blocks.shape[4]):
            np.maximum(out, rows[:, :, :, j], out=out)
        return out

    def forward(self, x):
        self.x_shape = x.shape
        self.tiling = self.tiles(x.shape)
        if self.tiling:
            self.blocks = self._blocks(x)
            self.out = self._max_of_blocks(self.blocks)
            return self.out.transpose(0, 3, 1, 2)
        rows = self._window_rows(x)
        self.argmax = rows.argmax(axis=-1)
        self.window = rows.shape[-1]
        return np.take_along_axis(rows, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, dout):
        if self.tiling:
            n, c, h, w = self.x_shape
            dout_blocks = dout.transpose(0, 2, 3, 1)[:, :, None, :, None, :]
            dx = np.empty_like(self.blocks)
            np.equal(self.blocks, self.out[:, :, None, :, None, :], out=dx)
            dx *= dout_blocks
            return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        one_hot = self.argmax[..., None] == np.arange(self.window)
        return self._scatter(one_hot * dout[..., None], self.x_shape)


class AveragePooling(_Pooling):
    """The mean of each size×size window (stride defaults to size)."""

    def predict(self, x):
        if not self.tiles(x.shape):
            return self._window_rows(x).mean(axis=-1)
        return self._blocks(x).mean(axis=(2, 4)).transpose(0, 3, 1, 2)

    def forward(self, x):
        self.x_shape = x.shape
        self.tiling = self.tiles(x.shape)
        return self.predict(x)

    def backward(self, dout):
        k = self.size * self.size
        share = (dout / k).astype(dout.dtype, copy=False)
        if self.tiling:
            n, c, h, w = self.x_shape
            s = self.size
            blocks = share.transpose(0, 2, 3, 1)[:, :, None, :, None, :]
            dx = np.broadcast_to(blocks, (n, h // s, s, w // s, s, c))
            return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return self._scatter(np.broadcast_to(share[..., None], share.shape + (k,)), self.x_shape)


class ConvReluMaxPool:
    """Convolution → ReLU → max pooling (windows that tile the image), as one block.

    It computes relu(pool(conv(x)) + b), the same function: max commutes with a
    per-channel constant and with the ReLU, so the bias and the ReLU act after pooling, on
    a quarter of the values (2×2 windows). And its im2col orders the rows by position
    *inside* the pooling window first, (i, j, n, a, b) for output pixel (a·s + i, b·s + j),
    so the convolution's output is s² contiguous blocks, one per window position, and
    pooling is s² − 1 elementwise maxima of whole blocks; its gradient is s² contiguous
    masks. The network uses this block for training and plain inference; the three layers
    stay separate objects (named as in the spec) for anyone who asks for their outputs.
    """

    def __init__(self, conv: Convolution, pool: MaxPooling):
        self.conv, self.pool = conv, pool

    def _convolve_by_window_position(self, x):
        """(col, z): im2col rows in (i, j, n, a, b) order, and the convolution without bias
        as (s², N·OH/s·OW/s, FN)."""
        W = self.conv.params["W"]
        fn, c, fh, fw = W.shape
        s = self.pool.size
        windows = _windows(x, fh, fw, self.conv.stride, self.conv.pad)  # (C, FH, FW, N, OH, OW)
        n, oh, ow = windows.shape[3:]
        by_position = windows.reshape(c, fh, fw, n, oh // s, s, ow // s, s).transpose(0, 1, 2, 5, 7, 3, 4, 6)
        col = by_position.reshape(c * fh * fw, -1).T
        z = (col @ W.reshape(fn, -1).T).reshape(s * s, n * (oh // s) * (ow // s), fn)
        return col, z, (n, oh // s, ow // s, fn)

    @staticmethod
    def _maxima(z):
        """(s², R, FN) → (R, FN): the maximum over the window positions."""
        maxima = z[0].copy()
        for block in z[1:]:
            np.maximum(maxima, block, out=maxima)
        return maxima

    def predict(self, x):
        _, z, shape = self._convolve_by_window_position(x)
        pooled = self._maxima(z)
        pooled += self.conv.params["b"]
        np.maximum(pooled, 0, out=pooled)
        return pooled.reshape(shape).transpose(0, 3, 1, 2)

    def forward(self, x):
        self.x_shape = x.shape
        self.col, self.z, shape = self._convolve_by_window_position(x)
        self.maxima = self._maxima(self.z)
        pooled = self.maxima + self.conv.params["b"]
        self.positive = pooled > 0
        np.maximum(pooled, 0, out=pooled)
        return pooled.reshape(shape).transpose(0, 3, 1, 2)

    def backward(self, dout):
        W = self.conv.params["W"]
        fn, c, fh, fw = W.shape
        s = self.pool.size
        n, a, b, _ = dout.transpose(0, 2, 3, 1).shape
        dpooled = dout.transpose(0, 2, 3, 1).reshape(-1, fn) * self.positive
        # Each window position gets the gradient where it held the maximum.
        dz = np.empty_like(self.z)
        np.equal(self.z, self.maxima, out=dz)
        dz *= dpooled
        rows = dz.reshape(-1, fn)
        self.conv.grads = {"W": (self.col.T @ rows).T.reshape(W.shape), "b": column_sums(dpooled)}
        if not self.conv.input_grad:
            return None
        dcol = (rows @ W.reshape(fn, -1)).reshape(s, s, n, a, b, -1).transpose(2, 3, 0, 4, 1, 5)
        return col2im(
            dcol.reshape(n * a * s * b * s, -1), self.x_shape, fh, fw, self.conv.stride, self.conv.pad
        )


class Affine(Layer):
    """Fully connected: x (N, …) is flattened to (N, D); W: (D, M), b: (M,) → (N, M).

    A 4-D input (N, C, H, W) is flattened channels-last, in (H, W, C) order: that is how a
    convolution's output already lies in memory, so the flattening costs no copy.
    """

    def __init__(self, W, b, input_grad: bool = True):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.input_grad = input_grad

    @staticmethod
    def flatten(x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) → (N, H·W·C); other shapes → (N, D) in C order."""
        if x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)
        return x.reshape(len(x), -1)

    def predict(self, x):
        out = self.flatten(x) @ self.params["W"]
        out += self.params["b"]
        return out

    def forward(self, x):
        self.x_shape = x.shape
        self.x = self.flatten(x)
        out = self.x @ self.params["W"]
        out += self.params["b"]
        return out

    def backward(self, dout):
        self.grads = {"W": self.x.T @ dout, "b": dout.sum(axis=0)}
        if not self.input_grad:
            return None
        dx = dout @ self.params["W"].T
        if len(self.x_shape) == 4:
            n, c, h, w = self.x_shape
            return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return dx.reshape(self.x_shape)


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
