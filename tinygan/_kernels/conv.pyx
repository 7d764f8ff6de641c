"""2-D convolution, compiled: im2col / col2im in Cython, every multiply in one big GEMM.

The math is in ``conv_numpy.py`` (the twin); read it first. This file computes the same sums
in a different order, chosen for speed:

    y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]

Fix a row r = (c, p, q) and a column k = (n, i, j) and call ``cols[r, k]`` the input value
``x_pad[n, c, i*sH + p, j*sW + q]``. Then the sum is ``y[o, k] = sum_r w[o, r] * cols[r, k]``:
a plain matrix product of the weight, reshaped to (C_out, C_in*kH*kW), with ``cols``. Copying
the input into ``cols`` ("im2col") costs kH*kW copies of x, but afterwards ALL the arithmetic
is one GEMM, the one kernel that runs near the machine's peak. Putting the whole batch in the
columns (N*H_out*W_out of them) makes that GEMM as big as possible, instead of N small ones.

The two gradients are GEMMs against the same matrix:

- ``dL/dw = g_rows @ cols.T``, with ``g_rows[o, (n, i, j)] = g[n, o, i, j]``;
- ``dcols = w.T @ g_rows``, then "col2im" adds each ``dcols[r, k]`` back onto the input pixel
  that ``cols[r, k]`` was copied from. It must ADD, not assign: when windows overlap
  (stride < kernel) one pixel was copied into several columns and gets a gradient from each.

im2col and col2im run in parallel (OpenMP) over (image n, channel c) pairs. Pair (n, c) owns
the rows (c, p, q) of ``cols`` in the columns of image n, and the plane dx[n, c] of the input
gradient, so no two threads ever write the same memory: the scatter-add of col2im needs no
atomics and no locks.

Threads: the GEMM's setting (``TINYGAN_NUM_THREADS``, else every core; changed with
``tinygan.kernels.set_num_threads``). Built without OpenMP, the loops run on one thread with
the same results.
"""

import os

import numpy as np

from cython.parallel cimport prange, threadid
from cython cimport floating

from .conv_checks import (check_col2im, check_conv2d, check_conv2d_grad_input,
                         check_conv2d_grad_weight, check_im2col)
from .gemm import gemm as _gemm
from .gemm import get_num_threads as _gemm_threads


def get_num_threads():
    """Threads of im2col and col2im: the GEMM's setting (TINYGAN_NUM_THREADS, set_num_threads),
    so one number governs every compiled kernel."""
    return _gemm_threads()


# ---------------------------------------------------------------------------------------------
# Every matrix product of this file is the project's GEMM (gemm.pyx), on 2-D arrays. It runs on
# the same OpenMP threads as im2col/col2im, so no second thread pool competes for the cores.

# ---------------------------------------------------------------------------------------------
# im2col and col2im. Each parallel task is one (image n, channel c) plane. The task first copies
# its plane into a scratch plane with a zero border of the padding's width: every window then
# lies inside the scratch, so the copy loops need no "is this pixel in the padding?" tests.
# Each thread has its own scratch row, `scratch[threadid()]`, so threads never share one.


def _check_windows(what, rows, columns, N, C, H, W, scratch_rows, scratch_columns, kH, kW,
                   sH, sW, pH, pW, H_out, W_out, threads):
    """Refuse any geometry under which the loops below would step outside an array.

    conv2d and its gradients call these helpers only after conv_checks.py's checks, so this never
    fires for them; it guards the helpers themselves, which Python code can also call, with
    any integers. The arguments are deliberately untyped: every product and sum below is taken
    on Python integers, which cannot overflow. (Typed as Py_ssize_t, sizes near 2**62 would
    wrap around in C, every comparison would pass, and the loops would index far outside the
    arrays.) Once these checks pass, every index the loops compute is below an actual array
    size, so the loops' own C arithmetic cannot overflow either.
    """
    if min(kH, kW, sH, sW) < 1 or min(pH, pW, H_out, W_out) < 0:
        raise ValueError(f"{what}: kernel and stride must be >= 1, padding and output >= 0, got "
                         f"kernel ({kH}, {kW}), stride ({sH}, {sW}), padding ({pH}, {pW}), "
                         f"output ({H_out}, {W_out})")
    if (H_out and (H_out - 1) * sH + kH > H + 2 * pH) or (
            W_out and (W_out - 1) * sW + kW > W + 2 * pW):
        raise ValueError(f"{what}: windows of {kH}x{kW}, stride ({sH}, {sW}) for a "
                         f"{H_out}x{W_out} output do not fit a padded {H}x{W} input")
    if rows != C * kH * kW or columns != N * H_out * W_out:
        raise ValueError(f"{what}: the column matrix is ({rows}, {columns}), expected "
                         f"({C * kH * kW}, {N * H_out * W_out})")
    if scratch_rows < threads or scratch_columns < (H + 2 * pH) * (W + 2 * pW):
        raise ValueError(f"{what}: scratch of shape {(scratch_rows, scratch_columns)} is too small "
                         f"for {threads} threads of {(H + 2 * pH) * (W + 2 * pW)} pixels")


def _check_distinct(what, output, *inputs):
    """Refuse an output array that overlaps an input or the scratch: the loops would read
    values they have already overwritten (memory-safe, but a wrong answer)."""
    for name, array in inputs:
        if np.may_share_memory(output, array):
            raise ValueError(f"{what}: the output overlaps {name}; pass separate arrays")


def _im2col(const floating[:, :, :, ::1] x, floating[:, ::1] cols, floating[:, ::1] scratch,
            Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW,
            Py_ssize_t pH, Py_ssize_t pW, Py_ssize_t H_out, Py_ssize_t W_out):
    """x (N, C, H, W) -> cols (C*kH*kW, N*H_out*W_out).

    ``cols[(c, p, q), (n, i, j)] = x_pad[n, c, i*sH + p, j*sW + q]``. scratch is
    (threads, (H + 2*pH) * (W + 2*pW)).
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int threads = _gemm_threads()
    _check_windows("im2col", cols.shape[0], cols.shape[1], N, C, H, W, scratch.shape[0],
                   scratch.shape[1], kH, kW, sH, sW, pH, pW, H_out, W_out, threads)
    _check_distinct("im2col", cols, ("the input", x), ("the scratch", scratch))
    _check_distinct("im2col", scratch, ("the input", x))
    cdef Py_ssize_t Wp = W + 2 * pW, plane = (H + 2 * pH) * Wp
    cdef Py_ssize_t L = H_out * W_out  # columns per image
    cdef Py_ssize_t nc, n, c, p, q, i, j, h
    cdef floating* pad
    cdef const floating* src
    cdef floating* dst
    for nc in prange(N * C, nogil=True, schedule="guided", num_threads=threads):
        n = nc // C
        c = nc % C
        pad = &scratch[threadid(), 0]
        # x_pad[n, c]: zeros, then the image in the middle
        for h in range(plane):
            pad[h] = 0
        for h in range(H):
            for j in range(W):
                pad[(h + pH) * Wp + pW + j] = x[n, c, h, j]
        for p in range(kH):
            for q in range(kW):
                # the (c, p, q) row of cols, the columns of image n: H_out*W_out in a row
                dst = &cols[(c * kH + p) * kW + q, n * L]
                for i in range(H_out):
                    src = pad + (i * sH + p) * Wp + q
                    for j in range(W_out):
                        dst[i * W_out + j] = src[j * sW]


def _col2im(const floating[:, ::1] dcols, floating[:, :, :, ::1] dx, floating[:, ::1] scratch,
            Py_ssize_t kH, Py_ssize_t kW, Py_ssize_t sH, Py_ssize_t sW,
            Py_ssize_t pH, Py_ssize_t pW, Py_ssize_t H_out, Py_ssize_t W_out):
    """The adjoint of im2col: dcols (C*kH*kW, N*H_out*W_out) -> dx (N, C, H, W).

    ``dx_pad[n, c, i*sH + p, j*sW + q] += dcols[(c, p, q), (n, i, j)]``, then dx is the centre
    of dx_pad. Where im2col copied one pixel into several columns (overlapping windows), col2im
    ADDS all of those columns back into that pixel. Task nc writes only the plane dx[n, c] (and
    its own thread's scratch), so these additions never race.
    """
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef int threads = _gemm_threads()
    _check_windows("col2im", dcols.shape[0], dcols.shape[1], N, C, H, W, scratch.shape[0],
                   scratch.shape[1], kH, kW, sH, sW, pH, pW, H_out, W_out, threads)
    _check_distinct("col2im", dx, ("the column matrix", dcols), ("the scratch", scratch))
    _check_distinct("col2im", scratch, ("the column matrix", dcols))
    cdef Py_ssize_t Wp = W + 2 * pW, plane = (H + 2 * pH) * Wp
    cdef Py_ssize_t L = H_out * W_out
    cdef Py_ssize_t nc, n, c, p, q, i, j, h
    cdef floating* pad
    cdef const floating* src
    cdef floating* dst
    for nc in prange(N * C, nogil=True, schedule="guided", num_threads=threads):
        n = nc // C
        c = nc % C
        pad = &scratch[threadid(), 0]
        for h in range(plane):
            pad[h] = 0
        for p in range(kH):
            for q in range(kW):
                src = &dcols[(c * kH + p) * kW + q, n * L]
                for i in range(H_out):
                    dst = pad + (i * sH + p) * Wp + q
                    for j in range(W_out):
                        dst[j * sW] += src[i * W_out + j]
        # the border of dx_pad is the padding: its gradient goes nowhere
        for h in range(H):
            for j in range(W):
                dx[n, c, h, j] = pad[(h + pH) * Wp + pW + j]


# ---------------------------------------------------------------------------------------------
# Layout change. The GEMMs work on the "rows" layout (C, N*H*W), where one row holds a channel of
# every image; the tensors are (N, C, H, W). Converting swaps the first two axes: one copy,
# parallel over the rows.


def _swap_first_axes(const floating[:, :, ::1] src, floating[:, :, ::1] dst):
    """dst[b, a, k] = src[a, b, k]: (A, B, K) -> (B, A, K)."""
    cdef Py_ssize_t A = src.shape[0], B = src.shape[1], K = src.shape[2]
    cdef Py_ssize_t a, b, k
    cdef int threads = _gemm_threads()
    if dst.shape[0] != B or dst.shape[1] != A or dst.shape[2] != K:
        actual = (dst.shape[0], dst.shape[1], dst.shape[2])
        raise ValueError(f"swap_first_axes: dst has shape {actual}, expected {(B, A, K)}")
    _check_distinct("swap_first_axes", dst, ("src", src))
    for b in prange(B, nogil=True, schedule="guided", num_threads=threads):
        for a in range(A):
            for k in range(K):
                dst[b, a, k] = src[a, b, k]


def _batch_to_rows(a):
    """(N, C, H, W) -> (C, N*H*W)."""
    N, C, H, W = a.shape
    rows = np.empty((C, N, H * W), dtype=a.dtype)
    _swap_first_axes(a.reshape(N, C, H * W), rows)
    return rows.reshape(C, N * H * W)


def _rows_to_batch(rows, N, H, W):
    """(C, N*H*W) -> (N, C, H, W)."""
    C = rows.shape[0]
    batch = np.empty((N, C, H * W), dtype=rows.dtype)
    _swap_first_axes(rows.reshape(C, N, H * W), batch)
    return batch.reshape(N, C, H, W)


def _scratch(geometry, dtype):
    """One zero-bordered plane per thread, for im2col / col2im."""
    (H, W), (pH, pW) = geometry.in_hw, geometry.padding
    return np.empty((_gemm_threads(), (H + 2 * pH) * (W + 2 * pW)), dtype=dtype)


def _cols_of(x, geometry):
    """The im2col matrix of x: (C_in*kH*kW, N*H_out*W_out)."""
    (kH, kW), (sH, sW), (pH, pW) = geometry.kernel_hw, geometry.stride, geometry.padding
    H_out, W_out = geometry.out_hw
    cols = np.empty((geometry.col_rows, geometry.batch * H_out * W_out), dtype=x.dtype)
    _im2col(x, cols, _scratch(geometry, x.dtype), kH, kW, sH, sW, pH, pW, H_out, W_out)
    return cols


# ---------------------------------------------------------------------------------------------
# The three kernels. Same signatures, checks and results as the twins in conv_numpy.py.


def conv2d(x, weight, stride=(1, 1), padding=(0, 0)):
    """y = conv2d(x, weight): x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y.

    ``y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]``, of shape
    (N, C_out, H_out, W_out), computed as ``w (C_out, C_in*kH*kW) @ im2col(x)``.
    """
    x, weight, g = check_conv2d(x, weight, stride, padding)
    H_out, W_out = g.out_hw
    if g.batch == 0:
        return np.zeros((0, g.out_channels, H_out, W_out), dtype=x.dtype)
    y_rows = _gemm(weight.reshape(g.out_channels, g.col_rows), _cols_of(x, g))
    return _rows_to_batch(y_rows, g.batch, H_out, W_out)


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d, given grad_out = dL/dy: shape (N, C_in, H, W) with (H, W) = input_hw.

    ``dcols = w.T @ g_rows`` holds, for every column the forward pass would have built, the
    gradient of the input values in it; col2im adds them back onto the input pixels.
    """
    grad_out, weight, g = check_conv2d_grad_input(grad_out, weight, input_hw, stride, padding)
    (H, W), (kH, kW) = g.in_hw, g.kernel_hw
    (sH, sW), (pH, pW) = g.stride, g.padding
    H_out, W_out = g.out_hw
    if g.batch == 0:
        return np.zeros((0, g.in_channels, H, W), dtype=grad_out.dtype)
    grad_x = np.empty((g.batch, g.in_channels, H, W), dtype=grad_out.dtype)  # col2im fills it
    dcols = _gemm(
        weight.reshape(g.out_channels, g.col_rows), _batch_to_rows(grad_out), transpose_a=True
    )
    _col2im(dcols, grad_x, _scratch(g, grad_x.dtype), kH, kW, sH, sW, pH, pW, H_out, W_out)
    return grad_x


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d, given grad_out = dL/dy: shape (C_out, C_in, kH, kW).

    ``dL/dw[o, (c, p, q)] = sum_{(n, i, j)} g_rows[o, (n, i, j)] * cols[(c, p, q), (n, i, j)]``:
    one GEMM, ``g_rows @ cols.T``, summing over every output pixel of every image at once.
    """
    x, grad_out, g = check_conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)
    kH, kW = g.kernel_hw
    if g.batch == 0:
        return np.zeros((g.out_channels, g.in_channels, kH, kW), dtype=x.dtype)
    grad_w = _gemm(_batch_to_rows(grad_out), _cols_of(x, g), transpose_b=True)
    return grad_w.reshape(g.out_channels, g.in_channels, kH, kW)


# ---------------------------------------------------------------------------------------------
# im2col and col2im on their own, with the twins' signatures (for tests and for students).


def im2col(x, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """Every window of the padded input as a column: (C*kH*kW, N*H_out*W_out).

    ``cols[(c, p, q), (n, i, j)] = x_pad[n, c, i*sH + p, j*sW + q]`` (see conv_numpy.im2col).
    """
    x, g = check_im2col(x, kernel_hw, stride, padding)
    if g.batch == 0:
        return np.zeros((g.col_rows, 0), dtype=x.dtype)
    return _cols_of(x, g)


def col2im(cols, input_shape, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """The adjoint of im2col: (C*kH*kW, N*H_out*W_out) -> (N, C, H, W) = input_shape."""
    cols, g = check_col2im(cols, input_shape, kernel_hw, stride, padding)
    (H, W), (kH, kW) = g.in_hw, g.kernel_hw
    (sH, sW), (pH, pW) = g.stride, g.padding
    H_out, W_out = g.out_hw
    dx = np.zeros((g.batch, g.in_channels, H, W), dtype=cols.dtype)
    if g.batch == 0:
        return dx
    _col2im(cols, dx, _scratch(g, cols.dtype), kH, kW, sH, sW, pH, pW, H_out, W_out)
    return dx
