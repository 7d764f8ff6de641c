"""Checking arguments once, at the public boundary: one normaliser per kind of argument.

Every public entry point -- a layer's constructor, a ``functional`` op, a factory, an optimizer,
``set_num_threads`` -- passes its plain arguments through one of these before doing anything
else. Each returns the argument in one canonical form (a Python int, a pair of ints, a float)
or raises an error that names the op, the argument, what was expected and what was given::

    Conv2d(3, 8, 4, stride=0)   ->  ValueError: Conv2d: stride must be >= 1, got 0
    zeros(2.5)                  ->  TypeError: zeros: size must be an int, got 2.5 (float)

Why not ``int(value)``: it truncates (2.7 becomes 2) and accepts True as 1, so a typo gives a
model of the wrong size instead of an error. Only Python and NumPy integers are integers here.

Below this boundary (the kernels) arguments are trusted to have been normalised; the compiled
kernels keep only the checks that protect memory.

This module sits at the bottom of the layers (it imports only NumPy), so every layer can use it.
"""

import math

import numpy as np


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


def is_integer(value):
    """True for Python and NumPy integers; False for bools, floats (even 2.0) and the rest."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def integer(op, name, value, minimum=None, maximum=None):
    """``value`` as a Python int, checked: a TypeError for a non-integer, ValueError outside
    [minimum, maximum] (each bound optional)."""
    if not is_integer(value):
        raise TypeError(f"{op}: {name} must be an int, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{op}: {name} must be <= {maximum}, got {value}")
    return value


def int_pair(op, name, value, minimum):
    """An int or a pair of ints (each >= minimum) as a tuple (h, w): kernel_size, stride,
    padding and output_padding of the convolutions all go through here."""
    if is_integer(value):
        h = w = value
    elif isinstance(value, tuple | list) and len(value) == 2:
        h, w = value
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if not (is_integer(h) and is_integer(w)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(h, w) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(h), int(w)


def real(op, name, value, minimum=None, maximum=None, below=None):
    """``value`` as a finite Python float in [minimum, maximum] (or < below), else an error.

    NaN fails every comparison, so ``lr < 0`` lets it through; here it is refused explicitly,
    as are strings ('0.1'), bools and infinities.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{op}: {name} must be a real number, got {_describe(value)}")
    if isinstance(value, complex | np.complexfloating):
        raise TypeError(f"{op}: {name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{op}: {name} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{op}: {name} must be <= {maximum}, got {value}")
    if below is not None and not value < below:
        raise ValueError(f"{op}: {name} must be < {below}, got {value}")
    return value


def shape(op, sizes):
    """A shape given PyTorch's two ways, ``zeros(2, 3)`` or ``zeros((2, 3))``, as a tuple of
    non-negative ints."""
    if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
        sizes = tuple(sizes[0])
    return tuple(integer(op, "size", n, minimum=0) for n in sizes)


def axis(op, value, ndim, shape_=None):
    """An axis argument, checked against the number of dimensions, as a non-negative int.

    NumPy-style negative axes count from the end (-1 is the last axis); anything outside
    [-ndim, ndim) is an error naming the axis and the shape (not reduced modulo ndim)."""
    if not is_integer(value):
        raise TypeError(f"{op}: an axis must be an int, got {_describe(value)}")
    if not -ndim <= value < ndim:
        where = f"shape {tuple(shape_)}" if shape_ is not None else f"{ndim} dimensions"
        # AxisError is both a ValueError and an IndexError, like NumPy's own
        raise np.exceptions.AxisError(f"{op}: axis {value} is out of range for a tensor of "
                                      f"{where} (valid axes: {-ndim} to {ndim - 1})")
    return int(value) % ndim
