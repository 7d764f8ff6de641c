"""Batch normalization kernels, compiled: each channel in one task, channels on several threads.

The math is in ``norm_numpy.py`` (the twin); read it first. Same functions, same checks
(``norm_checks.py``), same results up to rounding. What this file changes is the order of work:

* The twin makes a pass over the whole activation for each line (mean, centering, variance,
  scaling: about six full-size temporaries forward, more backward). Here one task handles one
  channel from start to end: its N * S values (50 KB for a 64 x 14 x 14 float32 channel) are
  read from memory once and the later passes find them in the core's cache.
* Channels are independent, so tasks run in parallel (OpenMP ``prange`` over channels, the GIL
  released) with no shared writes: a thread writes only its own channels' outputs.
* Sums are accumulated in double, so a float32 channel of 10^4 values loses no digits.

Threads: the GEMM's setting (``TINYGAN_NUM_THREADS``, ``tinygan.kernels.set_num_threads``), but
a small input stays on one thread: waking threads costs more than the work
(MIN_VALUES_PER_THREAD).
"""

import numpy as np

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt

from .reductions cimport (PREFETCH_ROWS, prefetch_row, row_centered_dot, row_centered_squares,
                         row_sum)

from .gemm import get_num_threads as _gemm_threads
from .norm_checks import check_affine, check_backward, check_train

# NOT tuned: an estimate of where a second thread starts to pay on an idle machine. On a busy
# one it may never pay: on the loaded 2-core test machine (load average ~10) the batch-norm
# kernels at 64 x 128 x 7 x 7 took 3.5 ms on one thread and 47 ms on two, waiting for a thread
# the OS had not scheduled (benchmarks/bench_fused.py). The threads setting is the user's lever.
MIN_VALUES_PER_THREAD = 32768


def get_num_threads():
    """Threads of the batch-norm kernels: the GEMM's setting, so one number governs all."""
    return _gemm_threads()


cdef int _threads(Py_ssize_t values, Py_ssize_t tasks):
    cdef Py_ssize_t by_work = values // MIN_VALUES_PER_THREAD
    return <int>max(1, min(<Py_ssize_t>_gemm_threads(), tasks, by_work))


def _train(const floating[:, :, ::1] x, const floating[::1] weight, const floating[::1] bias,
           double eps, floating[:, :, ::1] y, floating[::1] mean, floating[::1] var,
           floating[::1] inv_std):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef double n = <double>(N * S)
    cdef int threads = _threads(N * C * S, C)
    cdef Py_ssize_t c, i, s
    cdef double total, squares, m, r, scale, shift
    for c in prange(C, nogil=True, schedule="static", num_threads=threads):
        total = 0
        for i in range(min(N, PREFETCH_ROWS)):
            prefetch_row(&x[i, c, 0], S)
        for i in range(N):
            if i + PREFETCH_ROWS < N:
                prefetch_row(&x[i + PREFETCH_ROWS, c, 0], S)
            total = total + row_sum(&x[i, c, 0], S)
        m = total / n
        squares = 0
        for i in range(N):
            squares = squares + row_centered_squares(&x[i, c, 0], S, m)
        r = 1 / sqrt(squares / n + eps)
        scale = weight[c] * r
        shift = bias[c] - m * scale
        for i in range(N):
            for s in range(S):
                y[i, c, s] = <floating>(x[i, c, s] * scale + shift)
        mean[c] = <floating>m
        var[c] = <floating>(squares / n)
        inv_std[c] = <floating>r


def batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    """(y, mean, var, inv_std), as ``norm_numpy.batch_norm_train``."""
    x3, shape, weight, bias, eps = check_train(x, weight, bias, eps)
    C = x3.shape[1]
    flat = _is_flat(x3)
    if flat:
        x3 = _rows_as_channels(x3)
    y = np.empty_like(x3)
    mean, var, inv_std = (np.empty(C, x3.dtype) for _ in range(3))
    _train(x3, weight, bias, eps, y, mean, var, inv_std)
    return (_channels_as_rows(y) if flat else y.reshape(shape)), mean, var, inv_std


def _is_flat(x3):
    """An (N, C) input (S = 1): each channel is a column, read with a stride of C values."""
    return x3.shape[2] == 1 and x3.shape[0] > 1


def _rows_as_channels(x3):
    """(N, C, 1) -> (1, C, N): each channel contiguous, so the row sums above apply (one copy
    of a small array instead of N one-value rows per channel)."""
    return np.ascontiguousarray(x3[:, :, 0].T)[None]


def _channels_as_rows(y3):
    """(1, C, N) -> (N, C), C-contiguous."""
    return np.ascontiguousarray(y3[0].T)


def _affine(const floating[:, :, ::1] x, const floating[::1] scale, const floating[::1] shift,
            floating[:, :, ::1] y):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef int threads = _threads(N * C * S, N * C)
    cdef Py_ssize_t nc, i, c, s
    cdef floating a, b
    for nc in prange(N * C, nogil=True, schedule="static", num_threads=threads):
        i = nc // C
        c = nc % C
        a = scale[c]
        b = shift[c]
        for s in range(S):
            y[i, c, s] = x[i, c, s] * a + b


def channel_affine(x, scale, shift=None):
    """y[:, c] = x[:, c] * scale[c] + shift[c], as ``norm_numpy.channel_affine``."""
    x3, shape, scale, shift = check_affine(x, scale, shift)
    y = np.empty_like(x3)
    _affine(x3, scale, shift, y)
    return y.reshape(shape)


def _backward(const floating[:, :, ::1] g, const floating[:, :, ::1] x,
              const floating[::1] mean, const floating[::1] inv_std, const floating[::1] weight,
              bint training, floating[:, :, ::1] dx, floating[::1] dweight, floating[::1] dbias):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef double n = <double>(N * S)
    cdef int threads = _threads(N * C * S, C)
    cdef Py_ssize_t c, i, s
    cdef double sum_g, sum_gx, m, r, wr, a, b
    for c in prange(C, nogil=True, schedule="static", num_threads=threads):
        m = mean[c]
        r = inv_std[c]
        sum_g = 0
        sum_gx = 0
        for i in range(min(N, PREFETCH_ROWS)):
            prefetch_row(&g[i, c, 0], S)
            prefetch_row(&x[i, c, 0], S)
        for i in range(N):
            if i + PREFETCH_ROWS < N:
                prefetch_row(&g[i + PREFETCH_ROWS, c, 0], S)
                prefetch_row(&x[i + PREFETCH_ROWS, c, 0], S)
            sum_g = sum_g + row_sum(&g[i, c, 0], S)
            sum_gx = sum_gx + row_centered_dot(&g[i, c, 0], &x[i, c, 0], S, m)
        dbias[c] = <floating>sum_g
        dweight[c] = <floating>(sum_gx * r)
        wr = weight[c] * r
        if training:
            # dx = w r (g - sum_g / n - (x - m) r^2 sum_gx / n) = wr g - a (x - m) - b
            a = wr * r * r * sum_gx / n
            b = wr * sum_g / n
            for i in range(N):
                for s in range(S):
                    dx[i, c, s] = <floating>(wr * g[i, c, s] - a * (x[i, c, s] - m) - b)
        else:
            for i in range(N):
                for s in range(S):
                    dx[i, c, s] = <floating>(wr * g[i, c, s])


def batch_norm_backward(g, x, mean, inv_std, weight=None, training=True):
    """(dx, dweight, dbias), as ``norm_numpy.batch_norm_backward``."""
    g3, x3, shape, mean, inv_std, weight = check_backward(g, x, mean, inv_std, weight)
    C = x3.shape[1]
    flat = _is_flat(x3)
    if flat:
        g3, x3 = _rows_as_channels(g3), _rows_as_channels(x3)
    dx = np.empty_like(x3)
    dweight, dbias = np.empty(C, x3.dtype), np.empty(C, x3.dtype)
    _backward(g3, x3, mean, inv_std, weight, training, dx, dweight, dbias)
    return (_channels_as_rows(dx) if flat else dx.reshape(shape)), dweight, dbias
