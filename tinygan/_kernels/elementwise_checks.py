"""The argument checks of the elementwise kernels, shared by all three rungs.

``elementwise_naive.py``, ``elementwise_numpy.py`` and ``elementwise.pyx`` call these first, so
the three accept and reject the same inputs with the same messages.
"""

import math

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(op, name, x):
    """``x`` as a C-contiguous float32/float64 array (a copy only when it is not one already)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {x.dtype}")
    return np.ascontiguousarray(x)


def check_slope(op, slope):
    """The negative slope as a float in [0, 1] (the range where max(x, slope x) is the op)."""
    if isinstance(slope, bool) or not isinstance(slope, int | float | np.floating | np.integer):
        raise TypeError(f"{op}: negative_slope must be a number, got {type(slope).__name__}")
    if not 0 <= slope <= 1:
        raise ValueError(f"{op}: negative_slope must be in [0, 1], got {slope}")
    return float(slope)


def check_leaky_relu(x, slope):
    return float_array("leaky_relu", "x", x), check_slope("leaky_relu", slope)


def check_leaky_relu_backward(x, g, slope):
    op = "leaky_relu_backward"
    x, g = float_array(op, "x", x), float_array(op, "g", g)
    if g.shape != x.shape:
        raise ValueError(f"{op}: g of shape {g.shape} differs from x of shape {x.shape}")
    return x, g.astype(x.dtype, copy=False), check_slope(op, slope)


def channels_view(op, x):
    """(x as (N, C, S), C): the channel axis is 1 (the last one for a 2-D (N, C) input)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an array of shape (N, C, ...), got {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:])), x.shape[1]


def check_bias_add(x, bias):
    op = "bias_add"
    x = float_array(op, "x", x)
    x3, channels = channels_view(op, x)
    bias = float_array(op, "bias", bias)
    if bias.shape != (channels,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match x of shape {x.shape} "
                         f"(expected ({channels},), one value per channel of axis 1)")
    return x3, x.shape, bias.astype(x.dtype, copy=False)


def check_bias_grad(g):
    op = "bias_grad"
    return channels_view(op, float_array(op, "g", g))[0]
