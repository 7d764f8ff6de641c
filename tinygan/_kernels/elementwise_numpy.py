"""Elementwise kernels, the NumPy twin: LeakyReLU (ReLU is slope 0) and the bias of a layer.

    leaky_relu(x)[i]          = x[i] if x[i] > 0 else slope x[i]          (0 <= slope <= 1)
    leaky_relu_backward(x, g) = g[i] if x[i] > 0 else slope g[i]          (dL/dx given dL/dy)
    bias_add(x, b)[n, c, ...] = x[n, c, ...] + b[c]                       (channel axis 1)
    bias_grad(g)[c]           = sum over n and the spatial axes of g[n, c, ...]

Both LeakyReLU lines avoid selecting through a data-dependent mask (``np.where(x > 0, ...)``):
a select on random signs mispredicts a branch per element. For 0 <= slope <= 1 the forward is
max(x, slope x); the backward multiplies g by m = [x > 0] (1 - slope) + slope, which is exactly
1 or slope when (1 - slope) + slope rounds to 1 (else the select is used). ReLU (slope 0) gives
+0.0 below zero, as max(x, 0) does; NaN stays NaN in every rung. The same functions
as ``elementwise_naive.py`` (loops) and ``elementwise.pyx`` (compiled, on several threads).
"""

import numpy as np

from .elementwise_checks import (
    check_bias_add,
    check_bias_grad,
    check_leaky_relu,
    check_leaky_relu_backward,
)


def leaky_relu(x, slope):
    """max(x, slope x), elementwise: x where x > 0, slope x elsewhere."""
    x, slope = check_leaky_relu(x, slope)
    if slope == 0:  # ReLU: max(x, 0) is +0.0 below zero (max(x, 0 * x) would give -0.0)
        return np.maximum(x, x.dtype.type(0))
    return np.maximum(x, x * x.dtype.type(slope))


def leaky_relu_backward(x, g, slope):
    """g where x > 0, slope g elsewhere (branch-free: g times a 0/1 mask mapped to slope/1)."""
    x, g, slope = check_leaky_relu_backward(x, g, slope)
    one_minus, exact_slope = x.dtype.type(1 - slope), x.dtype.type(slope)
    if one_minus + exact_slope != 1:
        return np.where(x > 0, g, g * exact_slope)
    multiplier = (x > 0).astype(x.dtype)
    multiplier *= one_minus
    multiplier += exact_slope
    return g * multiplier


def bias_add(x, bias):
    """x + bias[c] along axis 1 (for an (N, C) input, the last axis)."""
    x3, shape, bias = check_bias_add(x, bias)
    return (x3 + bias[:, None]).reshape(shape)


def bias_grad(g):
    """The gradient of bias_add's bias: g summed over every axis but 1, shape (C,)."""
    return check_bias_grad(g).sum(axis=(0, 2))
