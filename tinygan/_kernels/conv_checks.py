"""The argument checks of the convolution kernels, shared by all three rungs.

``conv_naive.py``, ``conv_numpy.py`` and ``conv.pyx`` call the ``check_*`` functions below
before they compute anything, so the three rungs accept and reject exactly the same inputs, with
the same messages; the kernels themselves then hold only their math (and the compiled one only
the checks that protect its memory). ``ConvGeometry`` is what a check returns: every size of the
convolution, computed once.
"""

import sys
from typing import NamedTuple

import numpy as np

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


def check_conv_bias(op, bias, geometry, dtype):
    """None, or the bias (C_out,) of the input's dtype as a contiguous array."""
    if bias is None:
        return None
    if not isinstance(bias, np.ndarray):
        raise TypeError(f"{op}: bias must be a numpy.ndarray or None, got {type(bias).__name__}")
    if bias.dtype != dtype:
        raise TypeError(f"{op}: bias is {bias.dtype}, the input is {dtype}; they must match")
    if bias.shape != (geometry.out_channels,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match the "
                         f"{geometry.out_channels} output channels (expected "
                         f"({geometry.out_channels},))")
    return np.ascontiguousarray(bias)


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
