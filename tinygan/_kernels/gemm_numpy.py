"""GEMM, the NumPy twin: the same functions as the compiled ``gemm.pyx``, written with np.matmul.

GEMM ("general matrix multiply") computes

    C = op(A) @ op(B),   C[i, j] = sum_p op(A)[i, p] * op(B)[p, j]

where ``op(X)`` is ``X`` or, when ``transpose_x`` is set, ``X`` with its last two axes swapped.
The shapes are

    op(A): (m, k)   op(B): (k, n)   C: (m, n)

or batched: when ``a`` or ``b`` is 3-D, the leading axis counts independent products, and a 2-D
operand is shared by every product in the batch:

    (batch, m, k) @ (batch, k, n) -> (batch, m, n)
    (batch, m, k) @ (k, n)        -> (batch, m, n)
    (m, k)        @ (batch, k, n) -> (batch, m, n)

Read ``gemm_naive.py`` for the triple loop, this file to see the math in one line, ``gemm.pyx``
to see how the same math is made fast. The input checks live in ``gemm_checks.py``; all
three rungs call the same function, so they raise the same errors with the same messages.
"""

import numpy as np

from ..arguments import integer
from .gemm_checks import check_gemm_args


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) as a new C-contiguous array (see the module docstring for the shapes).

    ``a`` and ``b`` are float32 or float64 arrays of the same dtype, 2-D or batched 3-D, with any
    strides. ``transpose_a`` / ``transpose_b`` swap the last two axes of that operand first.
    """
    check_gemm_args(a, b, transpose_a, transpose_b)
    op_a = np.swapaxes(a, -1, -2) if transpose_a else a  # a view: no data is moved
    op_b = np.swapaxes(b, -1, -2) if transpose_b else b
    # C[..., i, j] = sum_p op_a[..., i, p] * op_b[..., p, j]; a 2-D operand broadcasts over the
    # batch. np.matmul hands the work to the BLAS library NumPy was built with.
    return np.ascontiguousarray(np.matmul(op_a, op_b))


def get_num_threads():
    """Always 1: the twin leaves threading to NumPy's BLAS library."""
    return 1


def set_num_threads(n):
    """Accepted for symmetry with the compiled kernel, and ignored (after checking ``n``)."""
    integer("set_num_threads", "n", n, minimum=1)


def build_info():
    """What this implementation is: NumPy's matmul, no OpenMP, no native code of its own."""
    return {"implementation": "numpy", "openmp": False, "native": False}
