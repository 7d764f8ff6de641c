"""Batch normalization kernels, the naive rung: the formulas of ``norm_numpy.py`` as loops.

One channel at a time, one value at a time, so each sum can be followed in a debugger
(``tinygan.kernels.use("naive")``). Slow: tiny shapes only. Sums are taken in float64 (as the
compiled kernel does), the results are returned in the input's dtype.
"""

import math

import numpy as np

from .norm_checks import check_affine, check_backward, check_train


def batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    """(y, mean, var, inv_std), as ``norm_numpy.batch_norm_train``."""
    x3, shape, weight, bias, eps = check_train(x, weight, bias, eps)
    N, C, S = x3.shape
    n = N * S
    y = np.empty_like(x3)
    mean, var, inv_std = (np.empty(C, x3.dtype) for _ in range(3))
    for c in range(C):
        total = 0.0
        for i in range(N):
            for s in range(S):
                total += float(x3[i, c, s])
        mean_c = total / n
        squares = 0.0
        for i in range(N):
            for s in range(S):
                squares += (float(x3[i, c, s]) - mean_c) ** 2
        var_c = squares / n
        inv_std_c = 1.0 / math.sqrt(var_c + eps)
        for i in range(N):
            for s in range(S):
                x_hat = (float(x3[i, c, s]) - mean_c) * inv_std_c
                y[i, c, s] = float(weight[c]) * x_hat + float(bias[c])
        mean[c], var[c], inv_std[c] = mean_c, var_c, inv_std_c
    return y.reshape(shape), mean, var, inv_std


def channel_affine(x, scale, shift=None):
    """y[:, c] = x[:, c] * scale[c] + shift[c], as ``norm_numpy.channel_affine``."""
    x3, shape, scale, shift = check_affine(x, scale, shift)
    N, C, S = x3.shape
    y = np.empty_like(x3)
    for i in range(N):
        for c in range(C):
            for s in range(S):
                y[i, c, s] = x3[i, c, s] * scale[c] + shift[c]
    return y.reshape(shape)


def batch_norm_backward(g, x, mean, inv_std, weight=None, training=True):
    """(dx, dweight, dbias), as ``norm_numpy.batch_norm_backward``."""
    g3, x3, shape, mean, inv_std, weight = check_backward(g, x, mean, inv_std, weight)
    N, C, S = x3.shape
    n = N * S
    dx = np.empty_like(x3)
    dweight, dbias = np.empty(C, x3.dtype), np.empty(C, x3.dtype)
    for c in range(C):
        m, r, w = float(mean[c]), float(inv_std[c]), float(weight[c])
        sum_g = sum_g_xhat = 0.0
        for i in range(N):
            for s in range(S):
                sum_g += float(g3[i, c, s])
                sum_g_xhat += float(g3[i, c, s]) * (float(x3[i, c, s]) - m) * r
        for i in range(N):
            for s in range(S):
                if training:
                    x_hat = (float(x3[i, c, s]) - m) * r
                    dx[i, c, s] = w * r * (float(g3[i, c, s]) - sum_g / n - x_hat * sum_g_xhat / n)
                else:
                    dx[i, c, s] = w * r * float(g3[i, c, s])
        dweight[c], dbias[c] = sum_g_xhat, sum_g
    return dx.reshape(shape), dweight, dbias
