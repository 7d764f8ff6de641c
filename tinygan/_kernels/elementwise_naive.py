"""Elementwise kernels, the naive rung: ``elementwise_numpy.py``'s formulas as loops, one
element at a time (``tinygan.kernels.use("naive")``). Tiny shapes only."""

import numpy as np

from .elementwise_checks import (
    check_bias_add,
    check_bias_grad,
    check_leaky_relu,
    check_leaky_relu_backward,
)


def leaky_relu(x, slope):
    """x where x > 0, slope x elsewhere."""
    x, slope = check_leaky_relu(x, slope)
    y = np.empty_like(x)
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    for i in range(flat_x.size):
        value = flat_x[i]
        if value > 0 or value != value:  # positive, or NaN (passed on)
            flat_y[i] = value
        elif slope == 0:
            flat_y[i] = 0.0  # ReLU: +0.0 (value * 0 would be -0.0 for a negative value)
        else:
            flat_y[i] = value * x.dtype.type(slope)
    return y


def leaky_relu_backward(x, g, slope):
    """g where x > 0, slope g elsewhere."""
    x, g, slope = check_leaky_relu_backward(x, g, slope)
    dx = np.empty_like(x)
    flat_x, flat_g, flat_dx = x.reshape(-1), g.reshape(-1), dx.reshape(-1)
    for i in range(flat_x.size):
        flat_dx[i] = flat_g[i] if flat_x[i] > 0 else flat_g[i] * x.dtype.type(slope)
    return dx


def bias_add(x, bias):
    """x[n, c, s] + bias[c]."""
    x3, shape, bias = check_bias_add(x, bias)
    y = np.empty_like(x3)
    N, C, S = x3.shape
    for n in range(N):
        for c in range(C):
            for s in range(S):
                y[n, c, s] = x3[n, c, s] + bias[c]
    return y.reshape(shape)


def bias_grad(g):
    """sum over n and s of g[n, c, s], for each c (summed in float64)."""
    g3 = check_bias_grad(g)
    N, C, S = g3.shape
    out = np.empty(C, g3.dtype)
    for c in range(C):
        total = 0.0
        for n in range(N):
            for s in range(S):
                total += float(g3[n, c, s])
        out[c] = total
    return out
