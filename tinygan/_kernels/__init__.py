"""Kernel dispatch: the compiled Cython kernels and their NumPy twins behind one set of names.

Every hot kernel exists twice, with the same signature:

=====================  ==============================  ==============================
kernel                 compiled (Cython, ``*.pyx``)    NumPy twin (read it, step it)
=====================  ==============================  ==============================
GEMM                   ``gemm.pyx``                    ``gemm_numpy.py``
convolution            ``conv.pyx``                    ``conv_numpy.py``
=====================  ==============================  ==============================

The rest of tinygan calls the names below (``gemm``, ``conv2d``, ...), never a module directly,
so ``use("numpy")`` (or ``TINYGAN_KERNELS=numpy`` in the environment) switches the whole engine to
the twins: a student can then step through every multiply in a debugger, and a test can compare
the two implementations on the same input.

This layer works on plain ``np.ndarray`` s only; it knows nothing of Tensors or graphs.

(``tinygan._kernels.gemm`` is the dispatching function below, which hides the compiled module
of the same name; to open that module itself use
``importlib.import_module("tinygan._kernels.gemm")``.)
"""

import importlib
import math
import os
import warnings

import numpy as np

from ..arguments import integer
from . import conv_numpy, gemm_numpy


def _load_compiled():
    """Import the compiled modules; None (with one warning) when they were never built."""
    try:
        return {
            "gemm": importlib.import_module(".gemm", __name__),
            "conv": importlib.import_module(".conv", __name__),
        }
    except ImportError as error:
        warnings.warn(
            f"tinygan: the compiled kernels are not built ({error}); using the NumPy twins, "
            "which are correct but slower. Build them with `pip install -e .` from the "
            "project's root (a C compiler is needed).",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


_compiled = _load_compiled()
_twins = {"gemm": gemm_numpy, "conv": conv_numpy}
_active_name = None
_active = None


def available():
    """Names of the kernel sets that can be used here: always 'numpy', 'compiled' when built."""
    return ("compiled", "numpy") if _compiled is not None else ("numpy",)


def use(name):
    """Switch every kernel to the 'compiled' set or to the 'numpy' twins.

    Returns the name that was active before, so a test can switch back::

        previous = tinygan.kernels.use("numpy")
        ...
        tinygan.kernels.use(previous)
    """
    global _active_name, _active
    if name not in ("compiled", "numpy"):
        raise ValueError(f"kernels.use: expected 'compiled' or 'numpy', got {name!r}")
    if name == "compiled" and _compiled is None:
        raise RuntimeError(
            "kernels.use('compiled'): the compiled kernels are not built; "
            "run `pip install -e .` from the project's root"
        )
    previous = _active_name
    _active_name, _active = name, (_compiled if name == "compiled" else _twins)
    return previous


def active():
    """The name of the active kernel set: 'compiled' or 'numpy'."""
    return _active_name


def get_num_threads():
    """Threads the compiled kernels use (1 with the twins, which leave threading to NumPy)."""
    if _compiled is None:
        return 1
    return _compiled["gemm"].get_num_threads()


def set_num_threads(n):
    """Set the compiled kernels' thread count (the default comes from TINYGAN_NUM_THREADS).

    ``n`` is an int >= 1 (1.5 is an error, not 1); more than the cores this process may use
    (its CPU affinity, on a shared server) is capped at them, with a RuntimeWarning."""
    n = integer("set_num_threads", "n", n, minimum=1)
    if _compiled is not None:
        n = _compiled["gemm"].capped_num_threads(n, f"set_num_threads({n})")
        _compiled["gemm"].set_num_threads(n)


def info():
    """What is running: the active kernel set, threads, and what the build compiled in."""
    details = {"active": _active_name, "available": available(), "num_threads": get_num_threads()}
    if _compiled is not None:
        details.update(_compiled["gemm"].build_info())
    return details


# ---------------------------------------------------------------------------------------------
# The kernels. Each forwards to the active set; the docstrings live with the implementations.


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) for 2-D or batched 3-D float32/float64 arrays (see gemm_numpy.gemm)."""
    return _active["gemm"].gemm(a, b, transpose_a, transpose_b)


def matmul(a, b):
    """np.matmul on the active GEMM, for arrays of 2 or more dimensions.

    Leading (batch) axes broadcast as in NumPy. The work is reduced to one call of ``gemm``:
    when only ``a`` has batch axes and is C-contiguous, (..., m, k) @ (k, n) is one big
    (batch*m, k) @ (k, n) product; otherwise both are broadcast to a common batch and flattened
    to 3-D. Mixed float32/float64 operands are promoted to float64, as NumPy does.
    Operands that are not arrays of 2 or more dimensions, inner dimensions that differ and batch
    axes that do not broadcast are errors naming ``matmul`` and both shapes.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul: expected two numpy arrays, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: expected arrays of 2 or more dimensions, got shapes "
                         f"{a.shape} and {b.shape} (make a vector a row or a column first)")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and "
                         f"{b.shape[-2]} differ")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: the batch axes {a.shape[:-2]} and "
                         f"{b.shape[:-2]} cannot be broadcast together") from None
    if a.dtype != b.dtype:
        common = np.result_type(a.dtype, b.dtype)
        a, b = a.astype(common, copy=False), b.astype(common, copy=False)
    if a.ndim == 2 and b.ndim == 2:
        return gemm(a, b)
    # sizes are spelled out instead of -1: with a zero-size axis, -1 would be ambiguous
    if b.ndim == 2 and a.flags.c_contiguous:
        rows = gemm(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), b)
        return rows.reshape(*a.shape[:-1], b.shape[-1])
    a3 = np.broadcast_to(a, batch + a.shape[-2:]).reshape(math.prod(batch), *a.shape[-2:])
    b3 = np.broadcast_to(b, batch + b.shape[-2:]).reshape(math.prod(batch), *b.shape[-2:])
    return gemm(a3, b3).reshape(*batch, a.shape[-2], b.shape[-1])


def conv2d(x, weight, stride=(1, 1), padding=(0, 0)):
    """y = conv2d(x, weight) without bias (see conv_numpy.conv2d)."""
    return _active["conv"].conv2d(x, weight, stride, padding)


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d given dL/dy (see conv_numpy.conv2d_grad_input)."""
    return _active["conv"].conv2d_grad_input(grad_out, weight, input_hw, stride, padding)


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d given dL/dy (see conv_numpy.conv2d_grad_weight)."""
    return _active["conv"].conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)


# TINYGAN_KERNELS picks the set at import; a bad value fails the import naming the variable.
_setting = os.environ.get("TINYGAN_KERNELS", "").strip()
if _setting not in ("", "compiled", "numpy") or (_setting == "compiled" and _compiled is None):
    raise ImportError(f"tinygan: TINYGAN_KERNELS={_setting!r}: expected 'compiled' or 'numpy' "
                      f"(or unset), and one of the available sets {available()}")
use(_setting or ("compiled" if _compiled is not None else "numpy"))
