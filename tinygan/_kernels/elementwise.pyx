"""Elementwise kernels, compiled: LeakyReLU (ReLU is slope 0) and a layer's bias, on threads.

The math is in ``elementwise_numpy.py`` (the twin); same functions, same checks
(``elementwise_checks.py``), bit-for-bit the same LeakyReLU results (each output is one exact
select-or-multiply), the bias gradient up to rounding (summed in double here).

* LeakyReLU: ``v > 0 ? v : v * slope`` in a plain counted loop; the compiler turns the select
  into a vector blend, so there is no branch to mispredict, and the loop reads each input once
  (the twin's backward builds and rescales a mask array first).
* Bias: one pass adding bias[c] to each (n, c) row; its gradient sums each channel in double
  with the row sums of ``reductions.pxd``, channels on several threads.

Threads: the GEMM's setting (``tinygan.kernels.set_num_threads``), but at least
MIN_VALUES_PER_THREAD values per thread: below that, waking a thread costs more than it saves.
"""

import numpy as np

from cython.parallel cimport prange
from cython cimport floating

from .elementwise_checks import (check_bias_add, check_bias_grad, check_leaky_relu,
                                 check_leaky_relu_backward)
from .gemm import get_num_threads as _gemm_threads
from .reductions cimport PREFETCH_ROWS, prefetch_row, row_sum

# NOT tuned: an estimate of where a second thread starts to pay on an idle machine. On a busy
# one it may never pay: on the loaded 2-core test machine (load average ~10) the batch-norm
# kernels at 64 x 128 x 7 x 7 took 3.5 ms on one thread and 47 ms on two, waiting for a thread
# the OS had not scheduled (benchmarks/bench_fused.py). The threads setting is the user's lever.
MIN_VALUES_PER_THREAD = 1 << 17
cdef Py_ssize_t CHUNK = 1 << 14  # values per parallel task


def get_num_threads():
    """Threads of the elementwise kernels: the GEMM's setting."""
    return _gemm_threads()


cdef int _threads(Py_ssize_t values, Py_ssize_t tasks):
    return <int>max(1, min(<Py_ssize_t>_gemm_threads(), tasks, values // MIN_VALUES_PER_THREAD))


def _leaky(const floating[::1] x, floating[::1] y, double slope):
    cdef Py_ssize_t n = x.shape[0], chunks = (n + CHUNK - 1) // CHUNK
    cdef int threads = _threads(n, chunks)
    cdef floating s = <floating>slope
    cdef floating v
    cdef Py_ssize_t part, i, last
    if s == 0:  # ReLU: +0.0 below zero (v * 0 would be -0.0), NaN passed on as NaN
        for part in prange(chunks, nogil=True, schedule="static", num_threads=threads):
            last = min(n, (part + 1) * CHUNK)
            for i in range(part * CHUNK, last):
                v = x[i]
                y[i] = 0 if v <= 0 else v
        return
    for part in prange(chunks, nogil=True, schedule="static", num_threads=threads):
        last = min(n, (part + 1) * CHUNK)
        for i in range(part * CHUNK, last):
            v = x[i]
            y[i] = v if v > 0 else v * s


def leaky_relu(x, slope):
    """x where x > 0, slope x elsewhere (as ``elementwise_numpy.leaky_relu``)."""
    x, slope = check_leaky_relu(x, slope)
    y = np.empty_like(x)
    _leaky(x.reshape(-1), y.reshape(-1), slope)
    return y


def _leaky_backward(const floating[::1] x, const floating[::1] g, floating[::1] dx,
                    double slope):
    cdef Py_ssize_t n = x.shape[0], chunks = (n + CHUNK - 1) // CHUNK
    cdef int threads = _threads(n, chunks)
    cdef floating s = <floating>slope
    cdef Py_ssize_t part, i, last
    for part in prange(chunks, nogil=True, schedule="static", num_threads=threads):
        last = min(n, (part + 1) * CHUNK)
        for i in range(part * CHUNK, last):
            dx[i] = g[i] if x[i] > 0 else g[i] * s


def leaky_relu_backward(x, g, slope):
    """g where x > 0, slope g elsewhere (as ``elementwise_numpy.leaky_relu_backward``)."""
    x, g, slope = check_leaky_relu_backward(x, g, slope)
    dx = np.empty_like(x)
    _leaky_backward(x.reshape(-1), g.reshape(-1), dx.reshape(-1), slope)
    return dx


def _bias_add(const floating[:, :, ::1] x, const floating[::1] bias, floating[:, :, ::1] y):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef int threads = _threads(N * C * S, N)
    cdef Py_ssize_t n, c, s
    cdef floating b
    cdef const floating *row
    cdef floating *out
    if S == 1:  # (N, C): each row gets the whole bias vector (vectorises across c)
        for n in prange(N, nogil=True, schedule="static", num_threads=threads):
            row = &x[n, 0, 0]
            out = &y[n, 0, 0]
            for c in range(C):
                out[c] = row[c] + bias[c]
        return
    for n in prange(N, nogil=True, schedule="static", num_threads=threads):
        for c in range(C):
            b = bias[c]
            for s in range(S):
                y[n, c, s] = x[n, c, s] + b


def bias_add(x, bias):
    """x + bias[c] along axis 1 (as ``elementwise_numpy.bias_add``)."""
    x3, shape, bias = check_bias_add(x, bias)
    y = np.empty_like(x3)
    _bias_add(x3, bias, y)
    return y.reshape(shape)


def _bias_grad(const floating[:, :, ::1] g, floating[::1] out, double[::1] acc):
    cdef Py_ssize_t N = g.shape[0], C = g.shape[1], S = g.shape[2]
    cdef int threads = _threads(N * C * S, C)
    cdef Py_ssize_t n, c
    cdef double total
    cdef double *sums = &acc[0]
    cdef const floating *row
    if S == 1:  # (N, C): add the rows into C double accumulators (vectorises across c)
        for c in range(C):
            sums[c] = 0
        with nogil:
            for n in range(N):
                row = &g[n, 0, 0]
                for c in range(C):
                    sums[c] += row[c]
        for c in range(C):
            out[c] = <floating>acc[c]
        return
    for c in prange(C, nogil=True, schedule="static", num_threads=threads):
        total = 0
        for n in range(min(N, PREFETCH_ROWS)):
            prefetch_row(&g[n, c, 0], S)
        for n in range(N):
            if n + PREFETCH_ROWS < N:  # each row in its own page (see prefetch_row)
                prefetch_row(&g[n + PREFETCH_ROWS, c, 0], S)
            total = total + row_sum(&g[n, c, 0], S)
        out[c] = <floating>total


def bias_grad(g):
    """g summed over every axis but 1 (as ``elementwise_numpy.bias_grad``)."""
    g3 = check_bias_grad(g)
    out = np.empty(g3.shape[1], g3.dtype)
    _bias_grad(g3, out, np.empty(g3.shape[1], np.float64))
    return out
