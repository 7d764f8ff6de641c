"""The argument checks of the batch-norm kernels, shared by all three rungs.

``norm_naive.py``, ``norm_numpy.py`` and ``norm.pyx`` call these first, so the three accept and
reject the same inputs with the same messages. Each returns the arrays the kernels loop over:
the input as a C-contiguous (N, C, S) array (S = the product of the spatial axes, 1 for (N, C))
and every per-channel vector as a contiguous (C,) array of the input's dtype.
"""

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_channels(op, name, x):
    """``x`` (N, C, *) as a C-contiguous (N, C, S) float array, and its original shape."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: {name} must have shape (N, C, ...), got {x.shape}")
    N, C = x.shape[:2]
    S = 1
    for size in x.shape[2:]:
        S *= size
    return np.ascontiguousarray(x).reshape(N, C, S), x.shape


def per_channel(op, name, value, channels, dtype, default=None):
    """A (C,) vector of ``dtype`` (contiguous), or ``default`` filled in when value is None."""
    if value is None:
        if default is None:
            raise ValueError(f"{op}: {name} is required")
        return np.full(channels, default, dtype=dtype)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(value).__name__}")
    if value.shape != (channels,):
        raise ValueError(f"{op}: {name} of shape {value.shape} does not match the {channels} "
                         f"channels (expected ({channels},))")
    if value.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a float array, got {value.dtype}")
    return np.ascontiguousarray(value, dtype=dtype)


def check_eps(op, eps):
    eps = float(eps)
    if not eps >= 0:  # also refuses NaN
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")
    return eps


def check_train(x, weight, bias, eps):
    """batch_norm_train's arguments: (x3, shape, weight, bias, eps)."""
    op = "batch_norm_train"
    x3, shape = as_channels(op, "x", x)
    N, C, S = x3.shape
    if N * S < 1:
        raise ValueError(f"{op}: x of shape {shape} has no values per channel")
    weight = per_channel(op, "weight", weight, C, x3.dtype, default=1.0)
    bias = per_channel(op, "bias", bias, C, x3.dtype, default=0.0)
    return x3, shape, weight, bias, check_eps(op, eps)


def check_affine(x, scale, shift):
    """channel_affine's arguments: (x3, shape, scale, shift)."""
    op = "channel_affine"
    x3, shape = as_channels(op, "x", x)
    C = x3.shape[1]
    return (x3, shape, per_channel(op, "scale", scale, C, x3.dtype),
            per_channel(op, "shift", shift, C, x3.dtype, default=0.0))


def check_backward(g, x, mean, inv_std, weight):
    """batch_norm_backward's arguments: (g3, x3, shape, mean, inv_std, weight)."""
    op = "batch_norm_backward"
    x3, shape = as_channels(op, "x", x)
    g3, g_shape = as_channels(op, "g", g)
    if g_shape != shape:
        raise ValueError(f"{op}: g of shape {g_shape} differs from x of shape {shape}")
    if g3.dtype != x3.dtype:
        g3 = g3.astype(x3.dtype)
    C = x3.shape[1]
    return (g3, x3, shape, per_channel(op, "mean", mean, C, x3.dtype),
            per_channel(op, "inv_std", inv_std, C, x3.dtype),
            per_channel(op, "weight", weight, C, x3.dtype, default=1.0))
