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
to see how the same math is made fast. The input checks live here, in ``_check_gemm_args``, and
the naive and compiled kernels call the same function, so all three raise the same errors with
the same messages.
"""

import numpy as np

from ..arguments import integer

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(shape, transposed):
    """How an operand appears in error messages: its shape, with ``.T`` when it is transposed."""
    return f"{tuple(shape)}{'.T' if transposed else ''}"


def _check_gemm_args(a, b, transpose_a, transpose_b):
    """Check the operands of gemm; return ``(m, k, n, out_shape)`` or raise TypeError/ValueError.

    This is the one place where gemm's inputs are checked, for the twin and for the compiled
    kernel alike, before any memory is touched. It is called on every multiply, so it is kept
    short: attribute reads and integer comparisons only.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(
            f"gemm: expected two numpy arrays, got {type(a).__name__} and {type(b).__name__}"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"gemm: operands must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"gemm: expected float32 or float64 arrays, got {a.dtype}")
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError(
            f"gemm: expected 2-D or 3-D (batched) operands, got {a.ndim}-D {tuple(a.shape)} "
            f"and {b.ndim}-D {tuple(b.shape)}"
        )

    a_shape, b_shape = a.shape, b.shape
    m, k = a_shape[-2:]
    if transpose_a:
        m, k = k, m
    k_b, n = b_shape[-2:]
    if transpose_b:
        k_b, n = n, k_b
    if k != k_b:
        raise ValueError(
            f"gemm: {_describe(a_shape, transpose_a)} @ {_describe(b_shape, transpose_b)}: "
            f"inner dimensions {k} and {k_b} differ"
        )

    if a.ndim == 2 and b.ndim == 2:
        return m, k, n, (m, n)
    if a.ndim == 3 and b.ndim == 3 and a_shape[0] != b_shape[0]:
        raise ValueError(
            f"gemm: {_describe(a_shape, transpose_a)} @ {_describe(b_shape, transpose_b)}: "
            f"batch sizes {a_shape[0]} and {b_shape[0]} differ"
        )
    batch = a_shape[0] if a.ndim == 3 else b_shape[0]
    return m, k, n, (batch, m, n)


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) as a new C-contiguous array (see the module docstring for the shapes).

    ``a`` and ``b`` are float32 or float64 arrays of the same dtype, 2-D or batched 3-D, with any
    strides. ``transpose_a`` / ``transpose_b`` swap the last two axes of that operand first.
    """
    _check_gemm_args(a, b, transpose_a, transpose_b)
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
