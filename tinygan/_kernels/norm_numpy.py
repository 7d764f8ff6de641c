"""Batch normalization kernels, the NumPy twin: the per-channel formulas in vectorised lines.

The input is viewed as (N, C, S): N examples, C channels, S values per channel and example (the
product of the spatial axes; 1 for an (N, C) input). Channel c has n = N * S values.

Forward (training), per channel c:

    mean_c = (1/n) sum x[:, c]        var_c = (1/n) sum (x[:, c] - mean_c)^2      (biased)
    inv_std_c = 1 / sqrt(var_c + eps)
    x_hat = (x - mean_c) inv_std_c    y = weight_c x_hat + bias_c

Backward, given g = dL/dy (the derivation is in ``tinygan/functional/normalization.py``):

    dbias_c   = sum g[:, c]
    dweight_c = sum g[:, c] x_hat[:, c]
    dx        = weight_c inv_std_c (g - dbias_c / n - x_hat dweight_c / n)    (training)
    dx        = weight_c inv_std_c g                                           (evaluation:
                                                      mean and inv_std are constants then)

Evaluation's forward is an affine map per channel, ``channel_affine``: y = x scale_c + shift_c.
The same functions as ``norm_naive.py`` (loops) and ``norm.pyx`` (compiled, one pass per channel
on several threads), with the same checks (``norm_checks.py``).
"""

import numpy as np

from .norm_checks import check_affine, check_backward, check_train

_AXES = (0, 2)  # of the (N, C, S) view: every axis but the channels


def batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    """(y, mean, var, inv_std): y of x's shape, the rest (C,); weight/bias None mean 1 and 0."""
    x3, shape, weight, bias, eps = check_train(x, weight, bias, eps)
    mean = x3.mean(axis=_AXES)
    centered = x3 - mean[:, None]
    var = (centered * centered).mean(axis=_AXES)
    inv_std = 1 / np.sqrt(var + x3.dtype.type(eps))
    y = centered * (inv_std * weight)[:, None] + bias[:, None]
    return y.reshape(shape), mean, var, inv_std


def channel_affine(x, scale, shift=None):
    """y[:, c] = x[:, c] * scale[c] + shift[c] (shift None means 0), y of x's shape."""
    x3, shape, scale, shift = check_affine(x, scale, shift)
    return (x3 * scale[:, None] + shift[:, None]).reshape(shape)


def batch_norm_backward(g, x, mean, inv_std, weight=None, training=True):
    """(dx, dweight, dbias) of batch norm; ``mean``/``inv_std`` are the ones the forward used."""
    g3, x3, shape, mean, inv_std, weight = check_backward(g, x, mean, inv_std, weight)
    n = x3.shape[0] * x3.shape[2]
    x_hat = (x3 - mean[:, None]) * inv_std[:, None]
    dbias = g3.sum(axis=_AXES)
    dweight = (g3 * x_hat).sum(axis=_AXES)
    if training:
        dx = (g3 - (dbias / n)[:, None] - x_hat * (dweight / n)[:, None]) \
            * (weight * inv_std)[:, None]
    else:
        dx = g3 * (weight * inv_std)[:, None]
    return dx.reshape(shape), dweight, dbias
