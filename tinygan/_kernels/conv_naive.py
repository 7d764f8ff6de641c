"""2-D convolution, the naive rung: loops over output positions, one multiply-add at a time.

The same functions as ``conv_numpy.py`` (the vectorised twin, where the formulas are derived)
and ``conv.pyx`` (the compiled kernels): same signatures, same checks, same results. Written to
be stepped through in a debugger (``tinygan.kernels.use("naive")``), so keep the shapes tiny::

    y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]

Every function below is a loop over the output positions (n, i, j); at each one it visits the
window of x_pad that the position reads, ``x_pad[n, :, i*sH : i*sH + kH, j*sW : j*sW + kW]``.
``x_pad`` is x with ``pH`` zero rows above and below and ``pW`` zero columns on each side, so
the loops need no "is this pixel in the padding?" tests.
"""

import numpy as np

from .conv_checks import (
    check_col2im,
    check_conv2d,
    check_conv2d_grad_input,
    check_conv2d_grad_weight,
    check_conv_bias,
    check_im2col,
)


def _padded(x, padding):
    """x with a zero border: pH rows above and below, pW columns left and right."""
    pH, pW = padding
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=x.dtype)
    x_pad[:, :, pH : pH + H, pW : pW + W] = x
    return x_pad


def conv2d(x, weight, stride=(1, 1), padding=(0, 0), bias=None):
    """y = conv2d(x, weight) (+ bias): x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y.

    ``y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]``
    (``+ bias[o]``, added to the finished sum).
    """
    x, weight, geometry = check_conv2d(x, weight, stride, padding)
    bias = check_conv_bias("conv2d", bias, geometry, x.dtype)
    N, C, O = geometry.batch, geometry.in_channels, geometry.out_channels
    (kH, kW), (sH, sW), (H_out, W_out) = geometry.kernel_hw, geometry.stride, geometry.out_hw
    x_pad = _padded(x, geometry.padding)
    y = np.zeros((N, O, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):  # output position (i, j) of image n
                for o in range(O):
                    total = x.dtype.type(0)
                    for c in range(C):
                        for p in range(kH):
                            for q in range(kW):
                                total += x_pad[n, c, i * sH + p, j * sW + q] * weight[o, c, p, q]
                    y[n, o, i, j] = total if bias is None else total + bias[o]
    return y


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d, given grad_out = dL/dy: shape (N, C_in, H, W) with (H, W) = input_hw.

    Output position (n, i, j) read the window at (i*sH, j*sW); each pixel of that window gets
    ``g[n, o, i, j] * w[o, c, p, q]`` added for every output channel o. Overlapping windows add
    into the same pixel, hence ``+=``; the padding's share is then cut off.
    """
    grad_out, weight, geometry = check_conv2d_grad_input(
        grad_out, weight, input_hw, stride, padding
    )
    N, C, O = geometry.batch, geometry.in_channels, geometry.out_channels
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw
    grad_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=grad_out.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for o in range(O):
                    g = grad_out[n, o, i, j]
                    for c in range(C):
                        for p in range(kH):
                            for q in range(kW):
                                grad_pad[n, c, i * sH + p, j * sW + q] += g * weight[o, c, p, q]
    return np.ascontiguousarray(grad_pad[:, :, pH : pH + H, pW : pW + W])


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d, given grad_out = dL/dy: shape (C_out, C_in, kH, kW).

    Every output position used every weight once: ``dL/dw[o, c, p, q]`` collects
    ``g[n, o, i, j] * x_pad[n, c, i*sH + p, j*sW + q]`` from all of them.
    """
    x, grad_out, geometry = check_conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)
    N, C, O = geometry.batch, geometry.in_channels, geometry.out_channels
    (kH, kW), (sH, sW), (H_out, W_out) = geometry.kernel_hw, geometry.stride, geometry.out_hw
    x_pad = _padded(x, geometry.padding)
    grad_w = np.zeros((O, C, kH, kW), dtype=x.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for o in range(O):
                    g = grad_out[n, o, i, j]
                    for c in range(C):
                        for p in range(kH):
                            for q in range(kW):
                                grad_w[o, c, p, q] += g * x_pad[n, c, i * sH + p, j * sW + q]
    return grad_w


def im2col(x, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """Every window of the padded input as a column: (C*kH*kW, N*H_out*W_out).

    ``cols[(c, p, q), (n, i, j)] = x_pad[n, c, i*sH + p, j*sW + q]``: column (n, i, j) is the
    window that output position reads, so ``w.reshape(C_out, -1) @ cols`` is the convolution
    (the compiled kernel computes it that way, as one big GEMM).
    """
    x, geometry = check_im2col(x, kernel_hw, stride, padding)
    N, C = geometry.batch, geometry.in_channels
    (kH, kW), (sH, sW), (H_out, W_out) = geometry.kernel_hw, geometry.stride, geometry.out_hw
    x_pad = _padded(x, geometry.padding)
    cols = np.zeros((C * kH * kW, N * H_out * W_out), dtype=x.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                column = (n * H_out + i) * W_out + j
                for c in range(C):
                    for p in range(kH):
                        for q in range(kW):
                            row = (c * kH + p) * kW + q
                            cols[row, column] = x_pad[n, c, i * sH + p, j * sW + q]
    return cols


def col2im(cols, input_shape, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """The adjoint of im2col: (C*kH*kW, N*H_out*W_out) -> (N, C, H, W) = input_shape.

    Each entry goes back to the pixel im2col copied it from, ``dx_pad[n, c, i*sH + p, j*sW + q]
    += cols[(c, p, q), (n, i, j)]``: ADDED, because with overlapping windows one pixel was
    copied into several columns. The padding's share is then cut off.
    """
    cols, geometry = check_col2im(cols, input_shape, kernel_hw, stride, padding)
    N, C = geometry.batch, geometry.in_channels
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw
    dx_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=cols.dtype)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                column = (n * H_out + i) * W_out + j
                for c in range(C):
                    for p in range(kH):
                        for q in range(kW):
                            row = (c * kH + p) * kW + q
                            dx_pad[n, c, i * sH + p, j * sW + q] += cols[row, column]
    return np.ascontiguousarray(dx_pad[:, :, pH : pH + H, pW : pW + W])
