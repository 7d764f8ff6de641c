# cython: language_level=3
"""The blocked transpose of transpose.h, for the compiled kernels that change layouts (cimported
by conv.pyx and gemm.pyx)."""

from cython cimport floating


cdef extern from "transpose.h" nogil:
    void transpose_f32 "tinygan_transpose_f32"(const float *src, Py_ssize_t src_rs, float *dst,
                                               const Py_ssize_t *at, Py_ssize_t rows,
                                               Py_ssize_t cols)
    void transpose_f64 "tinygan_transpose_f64"(const double *src, Py_ssize_t src_rs,
                                               double *dst, const Py_ssize_t *at,
                                               Py_ssize_t rows, Py_ssize_t cols)


cdef inline void transpose(const floating *src, Py_ssize_t src_rs, floating *dst,
                           const Py_ssize_t *at, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """dst[at[j] + i] = src[i * src_rs + j] for i < rows, j < cols (transpose.h): a transpose
    whose destination rows start where the table at says."""
    if floating is float:
        transpose_f32(src, src_rs, dst, at, rows, cols)
    else:
        transpose_f64(src, src_rs, dst, at, rows, cols)
