"""Optimizer updates, compiled: Adam's and RMSprop's step on one parameter in one pass.

The math and the order of operations are in ``optim_numpy.py`` (the twin); read it first. The
twin makes one pass over the parameter per NumPy operation (about a dozen for Adam, each
reading and writing a full-size array); here each element is read once, updated through all the
formulas in registers, and its new values written once, on several threads for big parameters.

Same bits as the twin: every scalar is rounded to the parameter's dtype first (what NumPy does
with a Python float), and every operation is done in that dtype, in the twin's order. This needs
the compiler NOT to fuse a multiply and an add into one FMA (one rounding instead of two), so
setup.py builds this file with ``-ffp-contract=off`` (EXACT_ROUNDING_MODULES there), and with
``-fno-math-errno``, without which the loop calling sqrt is not vectorised (15x slower).

Arrays that are not all C-contiguous (or all Fortran-contiguous) are handed to the twin,
which gives the same result.
"""

import math

import numpy as np

from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf

from .gemm import get_num_threads as _gemm_threads
from . import optim_numpy as _twin
from .optim_checks import check_update

# NOT tuned: an estimate of where a second thread starts to pay on an idle machine. On a busy
# one it may never pay: on the loaded 2-core test machine (load average ~10) the batch-norm
# kernels at 64 x 128 x 7 x 7 took 3.5 ms on one thread and 47 ms on two, waiting for a thread
# the OS had not scheduled (benchmarks/bench_fused.py). The threads setting is the user's lever.
MIN_VALUES_PER_THREAD = 1 << 16
cdef Py_ssize_t CHUNK = 1 << 13


def get_num_threads():
    """Threads of the optimizer kernels: the GEMM's setting."""
    return _gemm_threads()


cdef int _threads(Py_ssize_t values, Py_ssize_t tasks):
    return <int>max(1, min(<Py_ssize_t>_gemm_threads(), tasks, values // MIN_VALUES_PER_THREAD))


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


def _flat(arrays):
    """Flat views of the arrays in memory order, or None when they do not share one layout."""
    if all(a is None or a.flags.c_contiguous for a in arrays):
        return [None if a is None else a.reshape(-1) for a in arrays]
    if all(a is None or a.flags.f_contiguous for a in arrays):
        return [None if a is None else a.T.reshape(-1) for a in arrays]
    return None


def _adam(const floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v,
          floating[::1] out, double step_size, double bias2, double beta1, double beta2,
          double eps, double weight_decay):
    cdef Py_ssize_t n = p.shape[0], chunks = (n + CHUNK - 1) // CHUNK
    cdef int threads = _threads(n, chunks)
    cdef floating w1 = <floating>(1 - beta1), keep1 = <floating>(1 - (1 - beta1))  # as lerp_
    cdef floating b2 = <floating>beta2, w2 = <floating>(1 - beta2)
    cdef floating s = <floating>step_size, c2 = <floating>bias2, e = <floating>eps
    cdef floating wd = <floating>weight_decay
    cdef bint decay = weight_decay != 0, small_weight = abs(1 - beta1) < 0.5
    cdef Py_ssize_t part, i, last
    cdef floating gi, mi, vi
    for part in prange(chunks, nogil=True, schedule="static", num_threads=threads):
        last = min(n, (part + 1) * CHUNK)
        for i in range(part * CHUNK, last):
            gi = g[i]
            if decay:
                gi = gi + wd * p[i]
            mi = m[i]
            if small_weight:  # lerp: m + w (g - m), or g - (g - m) (1 - w) for w >= 0.5
                mi = mi + w1 * (gi - mi)
            else:
                mi = gi - (gi - mi) * keep1
            vi = v[i] * b2
            vi = vi + w2 * gi * gi
            m[i] = mi
            v[i] = vi
            out[i] = p[i] - s * (mi / (_sqrt(vi) / c2 + e))


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam step (as ``optim_numpy.adam_update``); returns the new parameter."""
    grad = check_update("adam_update", param, grad,
                        (("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)))
    out = np.empty_like(param)
    flat = _flat([param, grad, exp_avg, exp_avg_sq, out])
    if flat is None:
        return _twin.adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
                                 weight_decay)
    p, g, m, v, o = flat
    # the scalars exactly as the twin computes them in Python (double), rounded in the kernel
    step_size = lr / (1 - beta1**step)
    bias2 = math.sqrt(1 - beta2**step)
    _adam(p, g, m, v, o, step_size, bias2, beta1, beta2, eps, weight_decay)
    return out


def _rmsprop(const floating[::1] p, const floating[::1] g, floating[::1] sq, floating[::1] ga,
             floating[::1] buf, floating[::1] out, bint centered, bint has_momentum, double lr,
             double alpha, double eps, double weight_decay, double momentum):
    cdef Py_ssize_t n = p.shape[0], chunks = (n + CHUNK - 1) // CHUNK
    cdef int threads = _threads(n, chunks)
    cdef floating a = <floating>alpha, w = <floating>(1 - alpha)
    cdef floating keep = <floating>(1 - (1 - alpha))  # as lerp_ computes it
    cdef floating e = <floating>eps, rate = <floating>lr, mu = <floating>momentum
    cdef floating wd = <floating>weight_decay
    cdef bint decay = weight_decay != 0, small_weight = abs(1 - alpha) < 0.5
    cdef Py_ssize_t part, i, last
    cdef floating gi, si, ai, d, bi
    for part in prange(chunks, nogil=True, schedule="static", num_threads=threads):
        last = min(n, (part + 1) * CHUNK)
        for i in range(part * CHUNK, last):
            gi = g[i]
            if decay:
                gi = gi + wd * p[i]
            si = sq[i] * a
            si = si + w * gi * gi
            sq[i] = si
            if centered:
                ai = ga[i]
                if small_weight:
                    ai = ai + w * (gi - ai)
                else:
                    ai = gi - (gi - ai) * keep
                ga[i] = ai
                d = _sqrt(si - ai * ai) + e
            else:
                d = _sqrt(si) + e
            if has_momentum:
                bi = buf[i] * mu
                bi = bi + gi / d
                buf[i] = bi
                out[i] = p[i] - rate * bi
            else:
                out[i] = p[i] - rate * (gi / d)


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum):
    """One RMSprop step (as ``optim_numpy.rmsprop_update``); returns the new parameter."""
    grad = check_update("rmsprop_update", param, grad,
                        (("square_avg", square_avg), ("grad_avg", grad_avg),
                         ("momentum_buffer", momentum_buffer)))
    out = np.empty_like(param)
    flat = _flat([param, grad, square_avg, grad_avg, momentum_buffer, out])
    if flat is None:
        return _twin.rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr,
                                    alpha, eps, weight_decay, momentum)
    p, g, sq, ga, buf, o = flat
    centered, has_momentum = ga is not None, buf is not None
    # unused states get the output as a stand-in (never read or written by the loop)
    _rmsprop(p, g, sq, ga if centered else o, buf if has_momentum else o, o, centered,
             has_momentum, lr, alpha, eps, weight_decay, momentum)
    return out
