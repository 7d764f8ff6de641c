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

This file also holds the argument checking shared with ``conv.pyx`` and ``conv_naive.py`` (the
``check_*`` functions): the three rungs accept and reject exactly the same inputs, with the same
messages.
"""

import sys
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..arguments import int_pair

# ---------------------------------------------------------------------------------------------
# Argument checking and output-size arithmetic, shared by the twin and the compiled module.


class ConvGeometry(NamedTuple):
    """Every size of one convolution, checked: what the kernels loop over."""

    batch: int
    in_channels: int
    out_channels: int  # 0 for im2col / col2im, which see no weight
    in_hw: tuple  # (H, W) of the input, before padding
    kernel_hw: tuple  # (kH, kW)
    stride: tuple  # (sH, sW)
    padding: tuple  # (pH, pW)
    out_hw: tuple  # (H_out, W_out)

    @property
    def col_rows(self):
        """Rows of the im2col matrix: one per (input channel, kernel row, kernel column)."""
        return self.in_channels * self.kernel_hw[0] * self.kernel_hw[1]


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _pair(op, name, value, minimum):
    """An int or a pair of ints, each >= minimum, as a tuple (h, w): the project's one
    normaliser (tinygan/arguments.py). The functional ops and layers have already applied it;
    it is applied again here because these kernels are also called directly, and a stride of
    0 or a float would reach the size arithmetic below."""
    return int_pair(op, name, value, minimum)


def _array4d(op, name, a):
    """Check that `a` is a 4-D float32/float64 ndarray (its memory is not read yet)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")
    if a.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D, got {a.ndim}-D with shape {a.shape}")


def _same_dtype(op, name_a, a, name_b, b):
    if a.dtype != b.dtype:
        raise TypeError(
            f"{op}: {name_a} and {name_b} must have the same dtype, got {a.dtype} and {b.dtype}"
        )


def _out_hw(op, in_hw, kernel_hw, stride, padding):
    """H_out, W_out = (H + 2*pH - kH) // sH + 1, ...; the kernel must fit the padded input."""
    out = []
    for axis, size, k, s, p in zip(
        ("height", "width"), in_hw, kernel_hw, stride, padding, strict=True
    ):
        if size + 2 * p < k:
            raise ValueError(
                f"{op}: kernel {axis} {k} is larger than the padded input {axis} "
                f"{size + 2 * p} (input {size} + 2 * padding {p})"
            )
        out.append((size + 2 * p - k) // s + 1)
    return tuple(out)


def _geometry(op, batch, in_channels, out_channels, in_hw, kernel_hw, stride, padding):
    """The ConvGeometry of one convolution, its output size computed (and checked) here.

    Also refuses a geometry whose arrays could not exist (``padding=2**40``): the padded input
    plane, the output and the im2col matrix must each have fewer elements than the largest
    array of 8-byte values the address space can hold. The sizes are Python integers, so this
    arithmetic cannot overflow.
    """
    out_hw = _out_hw(op, in_hw, kernel_hw, stride, padding)
    (H, W), (pH, pW) = in_hw, padding
    sizes = {
        "padded input plane": (H + 2 * pH) * (W + 2 * pW),
        "output": batch * out_channels * out_hw[0] * out_hw[1],
        "im2col matrix": in_channels * kernel_hw[0] * kernel_hw[1] * batch * out_hw[0] * out_hw[1],
    }
    for what, size in sizes.items():
        if size > _MAX_ELEMENTS:
            raise ValueError(
                f"{op}: an input of {H}x{W} with kernel {kernel_hw[0]}x{kernel_hw[1]}, stride "
                f"{stride} and padding {padding} needs a {what} of {size} values, more than any "
                f"array can hold ({_MAX_ELEMENTS})"
            )
    return ConvGeometry(batch, in_channels, out_channels, in_hw, kernel_hw, stride, padding,
                        out_hw)


_MAX_ELEMENTS = sys.maxsize // 8  # elements of the largest float64 array that can be addressed


def _positive_dims(op, name, a, axes, what):
    for axis, label in zip(axes, what, strict=True):
        if a.shape[axis] < 1:
            raise ValueError(f"{op}: {name} must have at least one {label}, got shape {a.shape}")


def check_conv2d(x, weight, stride, padding, op="conv2d"):
    """Check conv2d's arguments; return contiguous (x, weight) and the ConvGeometry."""
    _array4d(op, "input", x)
    _array4d(op, "weight", weight)
    _same_dtype(op, "input", x, "weight", weight)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    _positive_dims(
        op,
        "weight",
        weight,
        (0, 1, 2, 3),
        ("output channel", "input channel", "kernel row", "kernel column"),
    )
    _positive_dims(op, "input", x, (2, 3), ("row", "column"))
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but weight expects {weight.shape[1]} "
            f"(input shape {x.shape}, weight shape {weight.shape})"
        )
    in_hw, kernel_hw = x.shape[2:], weight.shape[2:]
    geometry = _geometry(op, x.shape[0], x.shape[1], weight.shape[0], in_hw, kernel_hw,
                         stride, padding)
    return np.ascontiguousarray(x), np.ascontiguousarray(weight), geometry


def _check_grad_out_hw(op, grad_out, geometry):
    if tuple(grad_out.shape[2:]) != geometry.out_hw:
        raise ValueError(
            f"{op}: grad_out is {grad_out.shape[2]}x{grad_out.shape[3]} but an input of "
            f"{geometry.in_hw[0]}x{geometry.in_hw[1]} with kernel "
            f"{geometry.kernel_hw[0]}x{geometry.kernel_hw[1]}, stride {geometry.stride} and "
            f"padding {geometry.padding} gives {geometry.out_hw[0]}x{geometry.out_hw[1]}"
        )


def check_conv2d_grad_input(grad_out, weight, input_hw, stride, padding, op="conv2d_grad_input"):
    """Check conv2d_grad_input's arguments; return contiguous (grad_out, weight), geometry."""
    _array4d(op, "grad_out", grad_out)
    _array4d(op, "weight", weight)
    _same_dtype(op, "grad_out", grad_out, "weight", weight)
    in_hw = _pair(op, "input_hw", input_hw, 1)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    _positive_dims(
        op,
        "weight",
        weight,
        (0, 1, 2, 3),
        ("output channel", "input channel", "kernel row", "kernel column"),
    )
    if grad_out.shape[1] != weight.shape[0]:
        raise ValueError(
            f"{op}: grad_out has {grad_out.shape[1]} channels but weight has "
            f"{weight.shape[0]} output channels (weight shape {weight.shape})"
        )
    kernel_hw = weight.shape[2:]
    geometry = _geometry(op, grad_out.shape[0], weight.shape[1], weight.shape[0], in_hw, kernel_hw,
                         stride, padding)
    _check_grad_out_hw(op, grad_out, geometry)
    return np.ascontiguousarray(grad_out), np.ascontiguousarray(weight), geometry


def check_conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding, op="conv2d_grad_weight"):
    """Check conv2d_grad_weight's arguments; return contiguous (x, grad_out), geometry."""
    _array4d(op, "input", x)
    _array4d(op, "grad_out", grad_out)
    _same_dtype(op, "input", x, "grad_out", grad_out)
    kernel_hw = _pair(op, "kernel_hw", kernel_hw, 1)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    _positive_dims(op, "input", x, (1, 2, 3), ("channel", "row", "column"))
    _positive_dims(op, "grad_out", grad_out, (1,), ("channel",))
    if x.shape[0] != grad_out.shape[0]:
        raise ValueError(
            f"{op}: input has batch {x.shape[0]} but grad_out has batch {grad_out.shape[0]}"
        )
    in_hw = x.shape[2:]
    geometry = _geometry(op, x.shape[0], x.shape[1], grad_out.shape[1], in_hw, kernel_hw,
                         stride, padding)
    _check_grad_out_hw(op, grad_out, geometry)
    return np.ascontiguousarray(x), np.ascontiguousarray(grad_out), geometry


def check_im2col(x, kernel_hw, stride, padding, op="im2col"):
    """Check im2col's arguments; return contiguous x and the ConvGeometry (C_out 0)."""
    _array4d(op, "input", x)
    kernel_hw = _pair(op, "kernel_hw", kernel_hw, 1)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    _positive_dims(op, "input", x, (1, 2, 3), ("channel", "row", "column"))
    geometry = _geometry(op, x.shape[0], x.shape[1], 0, x.shape[2:], kernel_hw, stride,
                         padding)
    return np.ascontiguousarray(x), geometry


def check_col2im(cols, input_shape, kernel_hw, stride, padding, op="col2im"):
    """Check col2im's arguments; return contiguous cols and the ConvGeometry (C_out 0)."""
    if not isinstance(cols, np.ndarray):
        raise TypeError(f"{op}: cols must be a numpy.ndarray, got {type(cols).__name__}")
    if cols.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{op}: cols must be float32 or float64, got {cols.dtype}")
    if cols.ndim != 2:
        raise ValueError(f"{op}: cols must be 2-D, got {cols.ndim}-D with shape {cols.shape}")
    try:
        N, C, H, W = (int(n) for n in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: input_shape must be (N, C, H, W), got {input_shape!r}") from None
    if N < 0 or min(C, H, W) < 1:
        raise ValueError(f"{op}: input_shape must have N >= 0 and C, H, W >= 1, got "
                         f"{tuple(input_shape)}")
    kernel_hw = _pair(op, "kernel_hw", kernel_hw, 1)
    stride = _pair(op, "stride", stride, 1)
    padding = _pair(op, "padding", padding, 0)
    geometry = _geometry(op, N, C, 0, (H, W), kernel_hw, stride, padding)
    expected = (geometry.col_rows, N * geometry.out_hw[0] * geometry.out_hw[1])
    if cols.shape != expected:
        raise ValueError(f"{op}: cols has shape {cols.shape} but an input of shape "
                         f"{(N, C, H, W)} with kernel {kernel_hw}, stride {stride} and padding "
                         f"{padding} gives {expected}")
    return np.ascontiguousarray(cols), geometry


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


def conv2d(x, weight, stride=(1, 1), padding=(0, 0)):
    """y = conv2d(x, weight): x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y.

    ``y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]``,
    of shape (N, C_out, H_out, W_out) with ``H_out = (H + 2*pH - kH) // sH + 1``.
    """
    x, weight, geometry = check_conv2d(x, weight, stride, padding)
    windows = _windows(x, geometry)
    return np.einsum("ncijpq,ocpq->noij", windows, weight, optimize=True)


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
