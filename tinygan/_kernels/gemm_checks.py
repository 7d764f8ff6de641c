"""The argument checks of GEMM, shared by all three rungs.

``gemm_naive.py``, ``gemm_numpy.py`` and ``gemm.pyx`` call ``check_gemm_args`` first, so the
three raise the same errors with the same messages; the kernels then hold only their math.
"""

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(shape, transposed):
    """How an operand appears in error messages: its shape, with ``.T`` when it is transposed."""
    return f"{tuple(shape)}{'.T' if transposed else ''}"


def check_gemm_args(a, b, transpose_a, transpose_b):
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
            f"gemm: {describe(a_shape, transpose_a)} @ {describe(b_shape, transpose_b)}: "
            f"inner dimensions {k} and {k_b} differ"
        )

    if a.ndim == 2 and b.ndim == 2:
        return m, k, n, (m, n)
    if a.ndim == 3 and b.ndim == 3 and a_shape[0] != b_shape[0]:
        raise ValueError(
            f"gemm: {describe(a_shape, transpose_a)} @ {describe(b_shape, transpose_b)}: "
            f"batch sizes {a_shape[0]} and {b_shape[0]} differ"
        )
    batch = a_shape[0] if a.ndim == 3 else b_shape[0]
    return m, k, n, (batch, m, n)
