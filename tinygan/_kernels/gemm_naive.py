"""GEMM, the naive rung: the triple loop of the definition, one multiply-add at a time.

    C[i, j] = sum_p op(A)[i, p] * op(B)[p, j]      op(A): (m, k)   op(B): (k, n)   C: (m, n)

The same function as ``gemm_numpy.gemm`` (the vectorised twin) and ``gemm.pyx`` (the compiled
kernel): same signature, same batched shapes, same errors. It is here to be stepped through in
a debugger (``tinygan.kernels.use("naive")``, or ``TINYGAN_KERNELS=naive``), not to be fast:
every multiply-add is a Python statement, a few million per second, so keep the matrices small
(a 64 x 64 product takes about 0.1 s of CPU; one step of the benchmark's 128-wide MLP, ~10 s).
"""

import numpy as np

from .gemm_checks import check_gemm_args


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) as a new C-contiguous array (shapes as in ``gemm_numpy.gemm``).

    ``a`` and ``b`` are float32 or float64 arrays of the same dtype, 2-D or batched 3-D (a 2-D
    operand is shared by every product of the batch); ``transpose_a`` / ``transpose_b`` swap the
    last two axes of that operand first.
    """
    m, k, n, out_shape = check_gemm_args(a, b, transpose_a, transpose_b)
    c = np.zeros(out_shape, dtype=a.dtype)
    batch = out_shape[0] if len(out_shape) == 3 else 1
    for item in range(batch):
        a_item = a[item] if a.ndim == 3 else a  # a 2-D operand is the same for every item
        b_item = b[item] if b.ndim == 3 else b
        c_item = c[item] if c.ndim == 3 else c  # a view: writing into it fills c
        multiply_into(c_item, a_item, b_item, m, k, n, transpose_a, transpose_b)
    return c


def multiply_into(c, a, b, m, k, n, transpose_a, transpose_b):
    """c[i, j] = sum_p op(a)[i, p] * op(b)[p, j] for the 2-D matrices of one product."""
    for i in range(m):
        for j in range(n):
            total = c.dtype.type(0)  # summed in the arrays' own precision, like the others
            for p in range(k):
                a_ip = a[p, i] if transpose_a else a[i, p]
                b_pj = b[j, p] if transpose_b else b[p, j]
                total += a_ip * b_pj
            c[i, j] = total


def get_num_threads():
    """Always 1: the loops run in the interpreter, one multiply-add after the other."""
    return 1


def set_num_threads(n):
    """Accepted for symmetry with the compiled kernel, and ignored (after checking ``n``)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: expected a count >= 1, got {n}")


def build_info():
    """What this implementation is: Python loops, no OpenMP, no native code."""
    return {"implementation": "naive", "openmp": False, "native": False}
