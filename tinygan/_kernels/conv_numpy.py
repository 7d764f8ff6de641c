"""2-D convolution in plain NumPy: the readable twin of ``conv.pyx``.

The forward pass (cross-correlation, like PyTorch; no bias, the layer adds it)::

    y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]

where ``x_pad`` is ``x`` with ``pH`` zero rows above and below and ``pW`` zero columns left and
right, and the output has ``H_out = (H + 2*pH - kH) // sH + 1`` rows (``W_out`` likewise).

Both gradients come from differentiating that one sum. Given ``g = dL/dy``:

- ``dL/dw[o, c, p, q] = sum_{n, i, j} g[n, o, i, j] * x_pad[n, c, i*sH + p, j*sW + q]``
  (each weight touched every output pixel, so its gradient sums over all of them);
- ``dL/dx_pad[n, c, i*sH + p, j*sW + q] += sum_o g[n, o, i, j] * w[o, c, p, q]``
  for every ``(i, j, p, q)``, and ``dL/dx`` is the centre of ``dL/dx_pad`` (the padding is not
  an input). It is ``+=`` because with ``stride < kernel`` the windows overlap, so one input
  pixel feeds several outputs and collects a gradient from each.

The second formula is also the transposed convolution: ``conv_transpose2d(x, w)`` is
``conv2d_grad_input(x, w, out_hw, ...)``. Several input sizes give the same ``H_out`` (the
floor division drops up to ``sH - 1`` rows), which is why the caller passes ``input_hw``.

The argument checks shared by the three rungs live in ``conv_checks.py``; the functions below
call them first and then hold only the math.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .conv_checks import (  # noqa: F401 (check_* re-exported: tests call them on the twin)
    check_col2im,
    check_conv2d,
    check_conv2d_grad_input,
    check_conv2d_grad_weight,
    check_conv_bias,
    check_im2col,
)

# ---------------------------------------------------------------------------------------------
# The twin kernels.


def _windows(x, geometry):
    """Every kernel-sized window of the padded input, as a view: (N, C, H_out, W_out, kH, kW).

    ``windows[n, c, i, j, p, q] == x_pad[n, c, i*sH + p, j*sW + q]``: sliding_window_view
    gives the windows at every position (stride 1) without copying, and slicing with the
    stride keeps the ones the convolution uses.
    """
    (pH, pW), (sH, sW) = geometry.padding, geometry.stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))
    windows = sliding_window_view(x_pad, geometry.kernel_hw, axis=(2, 3))
    return windows[:, :, ::sH, ::sW]


def conv2d(x, weight, stride=(1, 1), padding=(0, 0), bias=None):
    """y = conv2d(x, weight) (+ bias): x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y.

    ``y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]``
    (``+ bias[o]`` when a bias (C_out,) is given, added to the finished sum), of shape
    (N, C_out, H_out, W_out) with ``H_out = (H + 2*pH - kH) // sH + 1``.
    """
    x, weight, geometry = check_conv2d(x, weight, stride, padding)
    bias = check_conv_bias("conv2d", bias, geometry, x.dtype)
    windows = _windows(x, geometry)
    y = np.einsum("ncijpq,ocpq->noij", windows, weight, optimize=True)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d, given grad_out = dL/dy: shape (N, C_in, H, W) with (H, W) = input_hw.

    ``dL/dx_pad[n, c, i*sH + p, j*sW + q] += sum_o g[n, o, i, j] * w[o, c, p, q]``.
    For each kernel offset (p, q) the products for all (i, j) at once form one einsum, and
    they land on a strided grid of x_pad (rows p, p + sH, ...). Offsets land on overlapping
    grids, hence ``+=``. Padding rows/columns are then cut off: they were not inputs.
    """
    grad_out, weight, geometry = check_conv2d_grad_input(
        grad_out, weight, input_hw, stride, padding
    )
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW) = geometry.stride, geometry.padding
    H_out, W_out = geometry.out_hw
    grad_pad = np.zeros(
        (geometry.batch, geometry.in_channels, H + 2 * pH, W + 2 * pW), dtype=grad_out.dtype
    )
    for p in range(kH):
        for q in range(kW):
            contribution = np.einsum("noij,oc->ncij", grad_out, weight[:, :, p, q], optimize=True)
            grad_pad[:, :, p : p + sH * H_out : sH, q : q + sW * W_out : sW] += contribution
    return np.ascontiguousarray(grad_pad[:, :, pH : pH + H, pW : pW + W])


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d, given grad_out = dL/dy: shape (C_out, C_in, kH, kW).

    ``dL/dw[o, c, p, q] = sum_{n, i, j} g[n, o, i, j] * x_pad[n, c, i*sH + p, j*sW + q]``:
    the same windows as the forward pass, contracted with grad_out instead of the weight.
    """
    x, grad_out, geometry = check_conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)
    windows = _windows(x, geometry)
    return np.einsum("ncijpq,noij->ocpq", windows, grad_out, optimize=True)


def im2col(x, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """Every window of the padded input as a column: (C*kH*kW, N*H_out*W_out).

    ``cols[(c, p, q), (n, i, j)] = x_pad[n, c, i*sH + p, j*sW + q]``; then
    ``conv2d(x, w) = w.reshape(C_out, C*kH*kW) @ cols``, rearranged to (N, C_out, H_out, W_out).
    """
    x, geometry = check_im2col(x, kernel_hw, stride, padding)
    windows = _windows(x, geometry)  # (N, C, H_out, W_out, kH, kW)
    rows = windows.transpose(1, 4, 5, 0, 2, 3)  # (C, kH, kW, N, H_out, W_out)
    H_out, W_out = geometry.out_hw
    return np.ascontiguousarray(rows.reshape(geometry.col_rows, geometry.batch * H_out * W_out))


def col2im(cols, input_shape, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """The adjoint of im2col: (C*kH*kW, N*H_out*W_out) -> (N, C, H, W) = input_shape.

    ``dx_pad[n, c, i*sH + p, j*sW + q] += cols[(c, p, q), (n, i, j)]``, then the centre of dx_pad.
    """
    cols, geometry = check_col2im(cols, input_shape, kernel_hw, stride, padding)
    N, C = geometry.batch, geometry.in_channels
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw
    blocks = cols.reshape(C, kH, kW, N, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=cols.dtype)
    for p in range(kH):
        for q in range(kW):
            dx_pad[:, :, p : p + sH * H_out : sH, q : q + sW * W_out : sW] += (
                blocks[:, p, q].transpose(1, 0, 2, 3))
    return np.ascontiguousarray(dx_pad[:, :, pH : pH + H, pW : pW + W])
