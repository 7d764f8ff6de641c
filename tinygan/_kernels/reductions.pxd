# cython: language_level=3
"""Sums along one contiguous row, in double, shared by the compiled kernels (cimported).

Each keeps eight independent partial sums: a single running sum is one long chain of dependent
additions (each waits ~4 cycles for the previous one), eight chains keep the adder busy and let
the compiler use vector registers. Measured on the batch-norm forward of a 64 x 128 x 7 x 7
float32 input, one thread: 1.5 ms with one running sum, 0.37 ms with eight.
"""

from cython cimport floating

cdef inline double row_sum(const floating *p, Py_ssize_t n) noexcept nogil:
    cdef double s[8]
    cdef Py_ssize_t i, k
    for k in range(8):
        s[k] = 0
    i = 0
    while i + 8 <= n:
        for k in range(8):
            s[k] += p[i + k]
        i += 8
    while i < n:
        s[0] += p[i]
        i += 1
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


cdef inline double row_centered_squares(const floating *p, Py_ssize_t n, double m) noexcept nogil:
    """sum (p[i] - m)^2."""
    cdef double s[8]
    cdef double d
    cdef Py_ssize_t i, k
    for k in range(8):
        s[k] = 0
    i = 0
    while i + 8 <= n:
        for k in range(8):
            d = p[i + k] - m
            s[k] += d * d
        i += 8
    while i < n:
        d = p[i] - m
        s[0] += d * d
        i += 1
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


cdef inline double row_centered_dot(const floating *g, const floating *p, Py_ssize_t n,
                                    double m) noexcept nogil:
    """sum g[i] (p[i] - m)."""
    cdef double s[8]
    cdef Py_ssize_t i, k
    for k in range(8):
        s[k] = 0
    i = 0
    while i + 8 <= n:
        for k in range(8):
            s[k] += g[i + k] * (p[i + k] - m)
        i += 8
    while i < n:
        s[0] += g[i] * (p[i] - m)
        i += 1
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


