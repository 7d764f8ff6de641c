"""Floating-point types: float32 for training, float64 for gradient checks.

A Tensor always holds floating-point numbers, because only they have derivatives. Integers, bools
and Python numbers are converted to the default dtype (float32 unless changed with
``set_default_dtype``); float32 and float64 arrays keep their dtype.

Mixing float32 and float64 in one op follows NumPy's promotion: the result is float64. The
gradient that flows back to a float32 input is cast back to float32, so a parameter's ``.grad``
always has the parameter's dtype.
"""

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_default = np.dtype(np.float32)


def get_default_dtype():
    """The dtype new tensors get from Python numbers, lists and integer arrays (float32)."""
    return _default


def set_default_dtype(dtype):
    """Set the default dtype to float32 or float64; returns the previous one.

    Lessons that gradient-check whole models set float64 first, so every initialised weight is
    float64 too.
    """
    global _default
    previous = _default
    _default = float_dtype(dtype)
    return previous


def float_dtype(dtype):
    """np.dtype for float32/float64 (given as a dtype, a type or a name); TypeError otherwise.

    This is the one normaliser of ``dtype`` arguments (factories, layers, ``astype``). A dtype
    in the other byte order ('>f8') names the same numbers and gives the native dtype.
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"tinygan tensors hold float32 or float64, got dtype={dtype!r}, "
                        "which is not a dtype") from None
    if resolved.kind == "f" and resolved.itemsize in (4, 8):
        resolved = resolved.newbyteorder("=")
    if resolved not in FLOAT_DTYPES:
        raise TypeError(f"tinygan tensors hold float32 or float64, got dtype {resolved}")
    return resolved
