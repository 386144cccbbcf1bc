"""Convolution → ReLU → max pooling as one fused block: the same function as the textbook
layers in ``model.layers``, computed faster. ``Network(spec, fast=True)`` uses it wherever
the spec has those three layers in a row and the pooling windows tile the image.

Three rearrangements make it faster, all exact:

* The bias and the ReLU act *after* pooling, on a quarter of the values (2×2 windows):
  relu(max(z) + b) = max(relu(z + b)), because max commutes with adding a per-channel
  constant and with the ReLU.
* Its im2col gives each image one matrix per position *inside* the pooling window,
  (i, j) for output pixels (a·s + i, b·s + j), so the convolution W @ col comes out as
  (N, s², FN, A·B): s² whole blocks, each laid out like the pooled maps. Pooling is then
  s² − 1 elementwise maxima of whole blocks, and its gradient s² masks. As in the
  textbook MaxPooling, a window's gradient goes to the first position holding its maximum.
* Small matrix products, (FN, K) @ (K, A·B) per image and position, rather than one for
  the whole batch: the output is NCHW as it stands, so nothing is transposed on the way
  to Affine's C-order flatten or back, and BLAS handles these shapes better than one
  long, thin product.
"""

from __future__ import annotations

import numpy as np

from model.layers import col2im, output_size

#: Images per piece of a batch. Each piece's convolution and gradient are used while they
#: are still in the CPU's cache; a whole batch's (several MB each) would be written to
#: memory and read back.
CHUNK = 16


def tiles(size: int, stride: int, pad: int, height: int, width: int) -> bool:
    """Whether size×size pooling windows tile a height×width map exactly, without overlap."""
    return stride == size and pad == 0 and height % size == 0 and width % size == 0


def pooled_im2col(x: np.ndarray, fh: int, fw: int, stride: int, pad: int, size: int) -> np.ndarray:
    """im2col of x (N, C, H, W), one matrix per image and pooling-window position: (N, s², K, A·B).

    Matrix (n, (i, j)) holds in column (a, b) the filter window of convolution output pixel
    (a·s + i, b·s + j), where s = ``size`` and A, B are the pooled height and width; its
    rows run over K = (c, fh, fw), as in W.reshape(FN, -1).

    Two copies that each stream: first ``phase`` (N, C, TY, TX, A, B), every input pixel
    a pooled pixel (a, b) can see, phase[n, c, ty, tx, a, b] = x[n, c, s·stride·a + ty,
    s·stride·b + tx]; then row (c, u, v) at window position (i, j) is the contiguous block
    phase[n, c, stride·i + u, stride·j + v]. Copying the windows straight from x would read
    every other pixel of a row instead. Views are built with np.ndarray over a buffer, as
    np.lib.stride_tricks.as_strided does, without its Python overhead, which a
    single-image prediction would feel.
    """
    n, c, h, w = x.shape
    oh = output_size(h, fh, stride, pad)
    ow = output_size(w, fw, stride, pad)
    if not tiles(size, size, 0, oh, ow):
        raise ValueError(f"{size}×{size} pooling does not tile a {oh}×{ow} convolution output")
    a, b, s = oh // size, ow // size, size
    if pad:
        x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    x = np.ascontiguousarray(x)
    sn, sc, sh, sw = x.strides
    ty, tx = stride * (s - 1) + fh, stride * (s - 1) + fw
    phase_strides = (sn, sc, sh, sw, sh * stride * s, sw * stride * s)
    phase = np.ndarray((n, c, ty, tx, a, b), x.dtype, x, 0, phase_strides).copy()
    qn, qc, qy, qx, qa, qb = phase.strides
    by_position = np.ndarray(
        (n, s, s, c, fh, fw, a, b), x.dtype, phase, 0, (qn, qy * stride, qx * stride, qc, qy, qx, qa, qb)
    )
    return by_position.reshape(n, s * s, c * fh * fw, a * b)


class ConvReluMaxPool:
    """relu(maxpool(conv(x))) for x (N, C, H, W); W: (FN, C, FH, FW), b: (FN,) → (N, FN, OH/s, OW/s).

    ``params`` and ``grads`` are named like the Convolution's ("W", "b"); the pooling size
    s must tile the convolution's output (see ``tiles``). Outputs are C-contiguous NCHW.
    """

    def __init__(self, W, b, stride: int = 1, pad: int = 0, pool: int = 2, input_grad: bool = True):
        self.params = {"W": W, "b": b}
        self.grads: dict[str, np.ndarray] = {}
        self.stride, self.pad, self.size, self.input_grad = stride, pad, pool, input_grad

    def _convolve(self, x):
        """(col, z, pooled shape): col (N, s², K, A·B) from ``pooled_im2col``, and the
        convolution without bias as z (N, s², FN, A·B); pooled shape is (N, FN, A, B)."""
        W = self.params["W"]
        fn, _, fh, fw = W.shape
        s = self.size
        col = pooled_im2col(x, fh, fw, self.stride, self.pad, s)
        z = np.matmul(W.reshape(fn, -1), col)
        a = output_size(x.shape[2], fh, self.stride, self.pad) // s
        b = output_size(x.shape[3], fw, self.stride, self.pad) // s
        return col, z, (len(x), fn, a, b)

    @staticmethod
    def _maxima_and_winners(z, maxima, winners):
        """Fill maxima (N, FN, R) and winners (N, FN, R) from z (N, s², FN, R): the maximum
        over the window positions and the first position holding it, which gets the gradient
        (as in the textbook MaxPooling)."""
        maxima[...] = z[:, 0]
        winners[...] = 0
        for position in range(1, z.shape[1]):
            block = z[:, position]
            # Positions only grow, so max(winner, position · [block > maxima]) marks a new
            # winner with plain arithmetic over whole blocks, no masked copy.
            np.maximum(winners, (block > maxima) * np.uint8(position), out=winners)
            np.maximum(maxima, block, out=maxima)

    def _relu_maps(self, z, shape):
        """The convolution with bias, and its ReLU, as (N, FN, OH, OW) from z (N, s², FN, R)."""
        n, fn, a, b = shape
        s = self.size
        conv = z.reshape(n, s, s, fn, a, b).transpose(0, 3, 4, 1, 5, 2).reshape(n, fn, a * s, b * s)
        conv += self.params["b"][:, None, None]
        return conv, np.maximum(conv, 0)

    def predict(self, x, maps: bool = False):
        """(pooled (N, FN, A, B), maps). With ``maps``, maps = {"conv", "relu"}: the
        convolution's and the ReLU's outputs (N, FN, OH, OW) from this same pass; else {}."""
        pieces = [self._predict_piece(x[start : start + CHUNK], maps) for start in range(0, len(x), CHUNK)]
        if len(pieces) == 1:
            return pieces[0]
        pooled = np.concatenate([piece_pooled for piece_pooled, _ in pieces])
        return pooled, {name: np.concatenate([m[name] for _, m in pieces]) for name in pieces[0][1]}

    def _predict_piece(self, x, maps):
        _, z, shape = self._convolve(x)
        pooled = z.max(axis=1)  # (N, FN, R): the maximum over the window positions
        pooled += self.params["b"][:, None]
        np.maximum(pooled, 0, out=pooled)
        pooled = pooled.reshape(shape)
        if not maps:
            return pooled, {}
        conv, relu = self._relu_maps(z, shape)
        return pooled, {"conv": conv, "relu": relu}

    def forward(self, x):
        self.x_shape = x.shape
        fn = self.params["W"].shape[0]
        # Backward needs the windows (col) and, per pooled value, which position won and
        # whether the ReLU let it through; not the convolution itself.
        self.cols = []
        for start in range(0, len(x), CHUNK):
            col, z, (_, _, a, b) = self._convolve(x[start : start + CHUNK])
            if start == 0:
                pooled = np.empty((len(x), fn, a * b), dtype=z.dtype)
                self.winners = np.empty(pooled.shape, dtype=np.uint8)
            piece = slice(start, start + CHUNK)
            self._maxima_and_winners(z, pooled[piece], self.winners[piece])
            self.cols.append(col)
        pooled += self.params["b"][:, None]
        self.positive = pooled > 0
        np.maximum(pooled, 0, out=pooled)
        return pooled.reshape(len(x), fn, a, b)

    def backward(self, dout):
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        s = self.size
        n, _, a, b = dout.shape
        dpooled = dout.reshape(n, fn, a * b) * self.positive
        dW = np.zeros((fn, c * fh * fw), dtype=dpooled.dtype)
        dcol = np.empty((n, s * s, c * fh * fw, a * b), dtype=dpooled.dtype) if self.input_grad else None
        for start, col in zip(range(0, n, CHUNK), self.cols, strict=True):
            piece = slice(start, start + CHUNK)
            # Each window position gets the gradient where it won its window.
            winners = self.winners[piece]
            dz = np.empty((len(winners), s * s, fn, a * b), dtype=dpooled.dtype)
            for position in range(s * s):
                np.equal(winners, position, out=dz[:, position], casting="unsafe")
            dz *= dpooled[piece, None]
            dW += np.matmul(dz, col.transpose(0, 1, 3, 2)).sum(axis=(0, 1))
            if dcol is not None:
                np.matmul(W.reshape(fn, -1).T, dz, out=dcol[piece])
        self.grads = {"W": dW.reshape(W.shape), "b": dpooled.sum(axis=2).sum(axis=0)}
        if dcol is None:
            return None
        # The windows' gradients in the textbook im2col's layout, rows (n, a, i, b, j).
        dcol = dcol.reshape(n, s, s, c * fh * fw, a, b).transpose(0, 4, 1, 5, 2, 3)
        return col2im(dcol.reshape(n * a * s * b * s, -1), self.x_shape, fh, fw, self.stride, self.pad)
