"""Max pooling: the largest value of each window, the lecture's classic down-sampling.

Shapes: input x (N, C, H, W) -> y (N, C, H_out, W_out), with kernel (kH, kW), stride (sH, sW)
(the kernel size by default: windows side by side) and padding (pH, pW):

    H_out = (H + 2 pH - kH) // sH + 1          (the same for W)
    y[n, c, i, j] = max_{0 <= p < kH, 0 <= q < kW} x_pad[n, c, i sH + p, j sW + q]

where x_pad is x with pH rows and pW columns of -inf on each side (padding never wins).

The derivative. Inside each window only the maximum matters, so
dy[n, c, i, j] / dx[n, c, h, w] = 1 when (h, w) is the position of that window's maximum (the
first one in row-major order when several tie, as PyTorch), and 0 otherwise. So the op is a
gather, y = x.flat[index], with ``index`` (N, C, H_out, W_out) the flat position of each
window's maximum, and its backward is the matching scatter-add, dL/dx.flat[index] += g (windows
that overlap can pick the same element, which then receives both gradients). Scatter-add is
linear in g with the gather as its adjoint, so the backward run on Tensors records a graph whose
own backward is the gather again: second derivatives work.
"""

import numpy as np

from ..arguments import int_pair
from ..engine import Tensor, as_tensor, record


def max_pool2d(input, kernel_size, stride=None, padding=0):  # noqa: A002 (PyTorch's names)
    """Max pooling of x (N, C, H, W) over kH x kW windows; see the module docstring.

    ``kernel_size``, ``stride`` (default: ``kernel_size``), ``padding``: an int or an (h, w) pair;
    padding must be at most half the kernel (as in PyTorch), so no window is all padding.
    """
    x = as_tensor(input)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d: input must be 4-D (N, C, H, W), got shape {x.shape}")
    kernel = int_pair("max_pool2d", "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else int_pair("max_pool2d", "stride", stride, 1)
    padding = int_pair("max_pool2d", "padding", padding, 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"max_pool2d: padding {padding} must be at most half of kernel_size "
                         f"{kernel}")
    out_hw = tuple((n + 2 * p - k) // s + 1
                   for n, p, k, s in zip(x.shape[2:], padding, kernel, stride))
    if min(out_hw) < 1:
        raise ValueError(f"max_pool2d: input {x.shape} is smaller than the kernel {kernel} "
                         f"(with padding {padding})")
    index = _argmax_index(x.data, kernel, stride, padding, out_hw)
    return _gather(x, index, "max_pool2d")


def _argmax_index(x, kernel, stride, padding, out_hw):
    """(N, C, H_out, W_out) flat indices into x of each window's (first) maximum."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = kernel, stride, padding, out_hw
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    windows = windows[:, :, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw]  # (N, C, oh, ow, kh, kw)
    best = windows.reshape(n, c, oh, ow, kh * kw).argmax(axis=-1)  # the first maximum (or NaN)
    rows = np.arange(oh).reshape(-1, 1) * sh + best // kw - ph  # position in the unpadded x
    cols = np.arange(ow) * sw + best % kw - pw
    planes = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    return planes + rows * w + cols


def _gather(x, index, op):
    """y = x.flat[index]; dL/dx is the scatter-add of g at ``index``. On an ndarray, the plain
    gather (the backward of ``_scatter_add`` outside a recorded graph)."""
    if not isinstance(x, Tensor):
        return x.reshape(-1)[index]

    shape = x.shape

    def backward(g, out, x_):
        return (_scatter_add(g, index, shape),)

    return record(x.data.reshape(-1)[index], (x,), backward, op)


def _scatter_add(g, index, shape):
    """zeros(shape) with g[k] added at flat position index[k]; for Tensors a recorded op whose
    backward is the gather (the adjoint)."""
    if isinstance(g, Tensor):
        def backward(gg, out, g_):
            return (_gather(gg, index, "gather"),)

        return record(_scatter_add(g.data, index, shape), (g,), backward, "scatter_add")
    summed = np.bincount(index.reshape(-1), weights=g.reshape(-1), minlength=int(np.prod(shape)))
    return summed.astype(g.dtype, copy=False).reshape(shape)
