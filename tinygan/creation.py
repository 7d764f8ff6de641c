"""Making new tensors: filled with a constant, a range, or random numbers.

The names and arguments follow PyTorch (``zeros(2, 3)`` or ``zeros((2, 3))``). Random tensors are
drawn from the library's one generator (``tinygan.manual_seed``), so a seeded script is
reproducible. Every factory takes ``dtype`` (default: ``tinygan.get_default_dtype()``, float32)
and ``requires_grad``.
"""

import numpy as np

from . import arguments, dtypes
from .engine import Tensor
from .random import generator


def _shape(shape, op="tensor factory"):
    """Accept both zeros(2, 3) and zeros((2, 3)); every size an int >= 0 (2.5 is an error,
    not silently 2)."""
    return arguments.shape(op, shape)


def _dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_shape(shape, "zeros"), _dtype(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(np.ones(_shape(shape, "ones"), _dtype(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = _shape((shape,), "full")
    return Tensor(np.full(shape, fill_value, _dtype(dtype)), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), like np.arange (as floats)."""
    if stop is None:  # arange(n) counts from 0 to n, as in NumPy
        start, stop = 0, start
    values = np.arange(start, stop, step)
    return Tensor(values.astype(_dtype(dtype)), requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    values = generator().random(_shape(shape, "rand"), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples N(0, 1), e.g. the generator's noise z."""
    values = generator().standard_normal(_shape(shape, "randn")).astype(_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad)


def _like(function, other, dtype, requires_grad, *args):
    return function(other.shape, *args, dtype=other.dtype if dtype is None else dtype,
                    requires_grad=requires_grad)


def zeros_like(other, dtype=None, requires_grad=False):
    return _like(zeros, other, dtype, requires_grad)


def ones_like(other, dtype=None, requires_grad=False):
    return _like(ones, other, dtype, requires_grad)


def full_like(other, fill_value, dtype=None, requires_grad=False):
    return _like(full, other, dtype, requires_grad, fill_value)


def rand_like(other, dtype=None, requires_grad=False):
    return _like(rand, other, dtype, requires_grad)


def randn_like(other, dtype=None, requires_grad=False):
    return _like(randn, other, dtype, requires_grad)
