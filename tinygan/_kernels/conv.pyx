"""2-D convolution, compiled: every multiply in a GEMM over the im2col matrix, never stored.

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

This file does exactly that in three steps, in the section "im2col + GEMM + col2im" below
(``_im2col_conv2d`` and friends: the twin's method, compiled). But ``cols`` is 16x the size of
the input for a 4x4 kernel at stride 2 (12.8 MB for the DCGAN's 64->128 layer), and writing it
and reading it back costs as much as the GEMM's arithmetic. So the kernels themselves use an
*implicit GEMM* (section "Implicit GEMM" below): the GEMM's packing step, which copies small
blocks of an operand into the order its micro-kernel reads anyway, copies them straight from
the image, so ``cols`` never exists:

- conv2d: ``w @ cols`` with the blocks of ``cols`` gathered from x (or, for an input of
  INDIRECT_MIN_CHANNELS or more, as an indirect GEMM: see the input gradient below);
- conv2d_grad_weight: ``g_rows @ cols.T`` (or its transpose when cols has few rows), the same
  (or, for an input of INDIRECT_MIN_CHANNELS or more, tap by tap, with x channels-last: the
  rows of each tap's operand are then contiguous and are read in place or copied, not
  gathered);
- conv2d_grad_input: either as ``sH*sW`` small stride-1 convolutions of g, one per class of
  input pixels (the "phases": every input pixel written once), or, for inputs with few
  channels, ``w.T @ g_rows`` with each micro-tile added onto dx the moment it is computed
  (col2im folded into the product). The phases go one step further than packing from the
  image: with g stored channels-last, the O values one tap of one output position needs are
  contiguous, so the micro-kernel reads them where they lie, each of its MR rows through its
  own pointer (an *indirect* GEMM), and nothing is gathered at all. Its result comes out
  channels-last, a few images at a time, and is transposed back while still in cache.

im2col and col2im run in parallel (OpenMP) over (image n, channel c) pairs. Pair (n, c) owns
the rows (c, p, q) of ``cols`` in the columns of image n, and the plane dx[n, c] of the input
gradient, so no two threads ever write the same memory: the scatter-add of col2im needs no
atomics and no locks. The implicit GEMMs split their columns among threads the same way: a
task owns whole images when it adds onto dx, and its own partial sum when it sums over pixels.

Threads: the GEMM's setting (``TINYGAN_NUM_THREADS``, else every core; changed with
``tinygan.kernels.set_num_threads``). Built without OpenMP, the loops run on one thread with
the same results.
"""

import functools
import math

import numpy as np

from cython.parallel cimport prange, threadid
from cython cimport floating
from libc.string cimport memset

from .transpose cimport transpose

from .conv_checks import (check_col2im, check_conv2d, check_conv2d_grad_input,
                         check_conv2d_grad_weight, check_conv_bias, check_im2col)
from .gemm import gemm as _gemm
from .gemm import build_info as _gemm_info
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
# The same three products with the column matrix built in memory: im2col, one GEMM, col2im.
# This is how the kernels below worked before the implicit GEMM, kept as the step between the
# twin and them (same method as the twin, compiled) and so that benchmarks/bench_conv.py can
# measure what building the matrix costs. Same signatures, checks and results as conv2d etc.


def _im2col_conv2d(x, weight, stride=(1, 1), padding=(0, 0)):
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


def _im2col_conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
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


def _im2col_conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
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
# Implicit GEMM: the column matrix is never built. Each GEMM above reads `cols` only through its
# packing step, which copies small blocks of it into the order the micro-kernel reads
# (gemm.pyx, Step 2). So the packing can read those blocks straight from the image: the value
# cols[r, k] is x_pad[n, c, i*sH + p, j*sW + q], with r = (c, p, q) and k = (n, i, j), and its
# address is a sum of a part that depends only on the row and a part that depends only on the
# column. With x_pad stored (x copied once into a zero border: one pass over x, cheap):
#
#     cols[r, k] = x_pad_flat[col_base[k] + row_off[r]],
#     row_off[r] = c*Hp*Wp + p*Wp + q,      col_base[k] = n*C*Hp*Wp + i*sH*Wp + j*sW,
#
# with Hp = H + 2*pH, Wp = W + 2*pW. The two tables (_window_tables) are small: one entry per
# row and per column. Packing a sliver is then a plain gather, ``dst[j] = src[col_base[j]]``,
# with no "is this the padding?" test, done with vector gather instructions (conv_pack.h).
# Packing from x costs what packing from `cols` cost, and the 16x-the-input matrix is never
# written to memory and read back.
#
# col2im folds into the product the same way: dcols[r, k] adds onto dx_pad_flat[col_base[k] +
# row_off[r]], so each micro-tile of dcols, as soon as the micro-kernel has computed it, is
# added onto the padded input gradient with these addresses (scatter_tile), and dcols is never
# stored; dx is the centre of dx_pad, as in col2im.
#
# The output gradient g (N, C_out, H_out, W_out) enters as g_rows[o, k] = g_flat[out_base[k] +
# o * L], with out_base[k] = n*C_out*L + i*W_out + j and L = H_out*W_out: read in place, so the
# (N, C) <-> (C, N) layout swaps are gone too.


cdef extern from "gemm_microkernel.h" nogil:
    enum:
        MR "TINYGAN_MR"
        NR_F32 "TINYGAN_NR_F32"
        NR_F64 "TINYGAN_NR_F64"
    void *aligned_malloc "tinygan_aligned_malloc"(size_t bytes)
    void aligned_free "tinygan_aligned_free"(void *aligned)
    void microkernel_f32 "tinygan_microkernel_f32"(
        Py_ssize_t kc, const float *a_sliver, const float *b_sliver, float *c_tile,
        Py_ssize_t ldc, int rows, int cols, int accumulate)
    void microkernel_f64 "tinygan_microkernel_f64"(
        Py_ssize_t kc, const double *a_sliver, const double *b_sliver, double *c_tile,
        Py_ssize_t ldc, int rows, int cols, int accumulate)
    void microkernel_indirect_f32 "tinygan_microkernel_indirect_f32"(
        Py_ssize_t kc, const float **a_rows, Py_ssize_t taps, const Py_ssize_t *tap_off,
        const float *b_sliver, float *c_tile, Py_ssize_t ldc, int rows, int cols)
    void microkernel_indirect_f64 "tinygan_microkernel_indirect_f64"(
        Py_ssize_t kc, const double **a_rows, Py_ssize_t taps, const Py_ssize_t *tap_off,
        const double *b_sliver, double *c_tile, Py_ssize_t ldc, int rows, int cols)
    void microkernel_b_rows_f32 "tinygan_microkernel_b_rows_f32"(
        Py_ssize_t kc, const float *a_sliver, const float **b_rows, float *c_tile,
        Py_ssize_t ldc, int cols, int accumulate)
    void microkernel_b_rows_f64 "tinygan_microkernel_b_rows_f64"(
        Py_ssize_t kc, const double *a_sliver, const double **b_rows, double *c_tile,
        Py_ssize_t ldc, int cols, int accumulate)


cdef extern from "conv_pack.h" nogil:
    void gather_f32 "tinygan_gather_f32"(float *dst, const float *src, const Py_ssize_t *index,
                                         Py_ssize_t n)
    void gather_f64 "tinygan_gather_f64"(double *dst, const double *src,
                                         const Py_ssize_t *index, Py_ssize_t n)


cdef inline void gather(floating *dst, const floating *src, const Py_ssize_t *index,
                        Py_ssize_t n) noexcept nogil:
    """dst[j] = src[index[j]] for j < n (vectorised in conv_pack.h)."""
    if floating is float:
        gather_f32(dst, src, index, n)
    else:
        gather_f64(dst, src, index, n)


cdef struct Windows:
    # The column matrix of one batch, described by its address tables (see above).
    Py_ssize_t *row_off   # c*Hp*Wp + p*Wp + q
    Py_ssize_t *col_base  # n*C*Hp*Wp + i*sH*Wp + j*sW
    Py_ssize_t *out_base  # n*C_out*L + i*W_out + j: column k's pixel in an (N, C_out, L) array
    Py_ssize_t L          # H_out * W_out: the stride of one output channel


cdef inline Py_ssize_t ceil_div(Py_ssize_t value, Py_ssize_t divisor) noexcept nogil:
    return (value + divisor - 1) // divisor


cdef inline Py_ssize_t round_up(Py_ssize_t value, Py_ssize_t multiple) noexcept nogil:
    return ceil_div(value, multiple) * multiple


cdef inline Py_ssize_t tile_cols(const floating *typed) noexcept nogil:
    if floating is float:
        return NR_F32
    else:
        return NR_F64


cdef inline void microkernel(Py_ssize_t kc, const floating *a_sliver, const floating *b_sliver,
                             floating *c_tile, Py_ssize_t ldc, Py_ssize_t rows, Py_ssize_t cols,
                             bint accumulate) noexcept nogil:
    if floating is float:
        microkernel_f32(kc, a_sliver, b_sliver, c_tile, ldc, <int>rows, <int>cols, accumulate)
    else:
        microkernel_f64(kc, a_sliver, b_sliver, c_tile, ldc, <int>rows, <int>cols, accumulate)


cdef inline void microkernel_indirect(Py_ssize_t kc, const floating **a_rows, Py_ssize_t taps,
                                      const Py_ssize_t *tap_off, const floating *b_sliver,
                                      floating *c_tile, Py_ssize_t ldc, Py_ssize_t rows,
                                      Py_ssize_t cols) noexcept nogil:
    """The micro-kernel with A's MR rows anywhere in memory, summing over taps: C = sum over
    taps t of A_t @ B_t, where row r of A_t is a_rows[r][tap_off[t]:tap_off[t] + kc] and B_t is
    the t-th kc x NR block of b_sliver. The tile stays in registers through all the taps."""
    if floating is float:
        microkernel_indirect_f32(kc, a_rows, taps, tap_off, b_sliver, c_tile, ldc, <int>rows,
                                 <int>cols)
    else:
        microkernel_indirect_f64(kc, a_rows, taps, tap_off, b_sliver, c_tile, ldc, <int>rows,
                                 <int>cols)


cdef inline void microkernel_b_rows(Py_ssize_t kc, const floating *a_sliver,
                                    const floating **b_rows, floating *c_tile, Py_ssize_t ldc,
                                    Py_ssize_t cols, bint accumulate) noexcept nogil:
    """The micro-kernel with a packed A and B's kc rows anywhere: row p is b_rows[p][0:NR]."""
    if floating is float:
        microkernel_b_rows_f32(kc, a_sliver, b_rows, c_tile, ldc, <int>cols, accumulate)
    else:
        microkernel_b_rows_f64(kc, a_sliver, b_rows, c_tile, ldc, <int>cols, accumulate)


cdef void pack_b_windows(const floating *x_pad, const Windows *v, Py_ssize_t r0, Py_ssize_t kc,
                         Py_ssize_t k0, Py_ssize_t cols, floating *sliver) noexcept nogil:
    """sliver[p * NR + j] = cols[r0 + p, k0 + j], read from x_pad; zeros for cols <= j < NR."""
    cdef Py_ssize_t nr = tile_cols(sliver)
    cdef Py_ssize_t p, j
    cdef Py_ssize_t *base = v.col_base + k0
    cdef const floating *src
    cdef floating *dst
    for p in range(kc):
        src = x_pad + v.row_off[r0 + p]
        dst = sliver + p * nr
        gather(dst, src, base, cols)
        for j in range(cols, nr):
            dst[j] = 0


cdef void pack_a_windows(const floating *x_pad, const Windows *v, Py_ssize_t r0, Py_ssize_t rows,
                         Py_ssize_t k0, Py_ssize_t kc, floating *sliver) noexcept nogil:
    """sliver[p * MR + i] = cols[r0 + i, k0 + p], read from x_pad; zeros for rows <= i < MR."""
    cdef Py_ssize_t i, p
    cdef Py_ssize_t *base = v.col_base + k0
    cdef const floating *src
    for i in range(MR):
        if i < rows:
            src = x_pad + v.row_off[r0 + i]
            for p in range(kc):
                sliver[p * MR + i] = src[base[p]]
        else:
            for p in range(kc):
                sliver[p * MR + i] = 0


cdef void pack_b_grad_rows(const floating *g, const Windows *v, Py_ssize_t o0, Py_ssize_t kc,
                           Py_ssize_t k0, Py_ssize_t cols, floating *sliver) noexcept nogil:
    """sliver[p * NR + j] = g_rows[o0 + p, k0 + j] = g_flat[out_base[k0 + j] + (o0 + p) * L]."""
    cdef Py_ssize_t nr = tile_cols(sliver)
    cdef Py_ssize_t p, j
    cdef Py_ssize_t *base = v.out_base + k0
    cdef const floating *src
    for p in range(kc):
        src = g + (o0 + p) * v.L
        gather(sliver + p * nr, src, base, cols)
        for j in range(cols, nr):
            sliver[p * nr + j] = 0


cdef void pack_b_grad_columns(const floating *g, const Windows *v, Py_ssize_t k0, Py_ssize_t kc,
                              Py_ssize_t o0, Py_ssize_t cols, floating *sliver) noexcept nogil:
    """sliver[p * NR + j] = g_rows[o0 + j, k0 + p] (g_rows transposed): for dw^T = cols @ g_rows.T.

    A transpose: g's channel o is contiguous along k. So, as gemm.pyx's pack_b_sliver does, go
    in steps of 16 values of p: the 16 sliver rows being written stay in L1 while each channel
    j reads its 16 neighbouring values.
    """
    cdef Py_ssize_t nr = tile_cols(sliver)
    cdef Py_ssize_t step, first, last, p, j
    cdef Py_ssize_t *base = v.out_base + k0
    cdef const floating *src
    if cols < nr:
        for p in range(kc):
            for j in range(cols, nr):
                sliver[p * nr + j] = 0
    for step in range(ceil_div(kc, 16)):
        first = step * 16
        last = min(first + 16, kc)
        for j in range(cols):
            src = g + (o0 + j) * v.L
            for p in range(first, last):
                sliver[p * nr + j] = src[base[p]]


cdef void scatter_tile(const floating *tile, const Windows *v, Py_ssize_t r0, Py_ssize_t rows,
                       Py_ssize_t k0, Py_ssize_t cols, floating *dx_pad) noexcept nogil:
    """col2im of one micro-tile: dx_pad_flat[col_base[k] + row_off[r]] += dcols[r, k] for the
    tile's rows r0.. and columns k0.. ."""
    cdef Py_ssize_t nr = tile_cols(tile)
    cdef Py_ssize_t i, j
    cdef Py_ssize_t *base = v.col_base + k0
    cdef floating *dst
    for i in range(rows):
        dst = dx_pad + v.row_off[r0 + i]
        for j in range(cols):
            dst[base[j]] += tile[i * nr + j]


cdef void implicit_conv(const floating *x, const Windows *v, const floating *weight_pack,
                        const floating *bias, Py_ssize_t M, Py_ssize_t K, Py_ssize_t columns,
                        floating *y, Py_ssize_t chunk, Py_ssize_t KC, Py_ssize_t MC,
                        int threads, floating *workspace, Py_ssize_t per_thread) noexcept nogil:
    """y_flat[out_base[k] + o * L] = sum_r weight[o, r] * cols[r, k] (+ bias[o] unless bias
    is NULL): conv2d, with cols packed from x through the tables of v.

    The columns are cut into chunks (one task each, one thread's workspace each): for every KC
    slice of r, the chunk's B panel is packed from x, then the micro-kernel runs over every MC
    block of the weight's rows; the products accumulate in a chunk of C (M x chunk), which is
    finally copied into y. The weight is small and every task reads all of it, so it arrives
    packed once for all of them (_pack_weight_slivers: slice pc's sliver of rows i.. starts at
    weight_pack + Mp * pc + i * kc, Mp = M rounded up to MR).
    """
    cdef Py_ssize_t nr = tile_cols(y)
    cdef Py_ssize_t task, k0, cols, slice_, pc, kc, block, ic, mc, s, a, rows, o, j, width
    cdef const floating *a_pack
    cdef floating *b_pack
    cdef floating *c_chunk
    cdef floating *src
    cdef Py_ssize_t padded = round_up(chunk, nr)
    cdef Py_ssize_t Mp = round_up(M, MR)
    for task in prange(ceil_div(columns, chunk), nogil=True, schedule="dynamic",
                       num_threads=threads):
        b_pack = workspace + threadid() * per_thread  # 64-byte aligned
        c_chunk = b_pack + padded * KC
        k0 = task * chunk
        cols = min(chunk, columns - k0)
        for slice_ in range(ceil_div(K, KC)):
            pc = slice_ * KC
            kc = min(KC, K - pc)
            for s in range(ceil_div(cols, nr)):
                width = min(nr, cols - s * nr)
                pack_b_windows(x, v, pc, kc, k0 + s * nr, width, b_pack + s * nr * kc)
            for block in range(ceil_div(M, MC)):
                ic = block * MC
                mc = min(MC, M - ic)
                a_pack = weight_pack + Mp * pc + ic * kc
                for s in range(ceil_div(cols, nr)):
                    width = min(nr, cols - s * nr)
                    for a in range(ceil_div(mc, MR)):
                        rows = min(MR, mc - a * MR)
                        microkernel(kc, a_pack + a * MR * kc, b_pack + s * nr * kc,
                                    c_chunk + (ic + a * MR) * padded + s * nr, padded, rows,
                                    width, pc > 0)
        for o in range(M):  # C chunk (rows o, columns k) -> y[n, o, i, j], + the bias
            src = c_chunk + o * padded
            if bias == NULL:
                for j in range(cols):
                    y[v.out_base[k0 + j] + o * v.L] = src[j]
            else:  # added here, while the chunk is in cache: no pass of its own over y
                for j in range(cols):
                    y[v.out_base[k0 + j] + o * v.L] = src[j] + bias[o]


cdef void implicit_conv_grad_input(const floating *g, const Windows *v,
                                   const floating *weight_t_pack, Py_ssize_t K_rows,
                                   Py_ssize_t M_out, Py_ssize_t images, floating *dx,
                                   Py_ssize_t images_per_task, int threads,
                                   floating *workspace, Py_ssize_t per_thread) noexcept nogil:
    """dx += col2im(weight.T @ g_rows), one micro-tile at a time, never storing dcols.

    The reduction (over the C_out output channels) is short, so each micro-tile is computed in
    one micro-kernel call over all of it (kc = C_out) and scattered at once. Each task owns
    whole images, and so whole planes of dx: no two threads ever add onto the same pixel.
    weight_t_pack holds weight.T (K_rows x C_out) already packed as MR-row slivers.
    """
    cdef Py_ssize_t nr = tile_cols(dx)
    cdef Py_ssize_t L = v.L
    cdef Py_ssize_t task, k0, cols, s, a, width, rows
    cdef floating *b_pack
    cdef floating *tile
    for task in prange(ceil_div(images, images_per_task), nogil=True, schedule="dynamic",
                       num_threads=threads):
        tile = workspace + threadid() * per_thread
        b_pack = tile + MR * nr
        k0 = task * images_per_task * L
        cols = min(images_per_task, images - task * images_per_task) * L
        for s in range(ceil_div(cols, nr)):
            width = min(nr, cols - s * nr)
            pack_b_grad_rows(g, v, 0, M_out, k0 + s * nr, width, b_pack)
            for a in range(ceil_div(K_rows, MR)):
                rows = min(MR, K_rows - a * MR)
                microkernel(M_out, weight_t_pack + a * MR * M_out, b_pack, tile, nr, MR, nr,
                            False)
                scatter_tile(tile, v, a * MR, rows, k0 + s * nr, width, dx)


cdef void implicit_conv_grad_weight(const floating *x, const Windows *v, const floating *g,
                                    Py_ssize_t K_rows, Py_ssize_t M_out, Py_ssize_t columns,
                                    floating *partials, Py_ssize_t span, Py_ssize_t KC,
                                    Py_ssize_t MC, int threads, floating *workspace,
                                    Py_ssize_t per_thread) noexcept nogil:
    """partials[t] = cols[:, span t] @ g_rows[:, span t].T: dw^T summed over one span of columns.

    dw^T (K_rows x C_out) has the long column matrix as its A operand, packed from x as MR-row
    slivers (each read of x along a row of cols); g_rows.T is the B operand, small (span x
    C_out), packed once per KC slice and reused by every sliver of A: no transposing copy of
    the big operand. The spans (at most 8 KC slices each, so each partial is an accurate short
    sum) are the parallel tasks; the caller adds the partials up.
    """
    cdef Py_ssize_t nr = tile_cols(x)
    cdef Py_ssize_t task, k0, cols, slice_, pc, kc, block, ic, mc, s, a, rows, width
    cdef floating *a_pack
    cdef floating *b_pack
    cdef floating *c
    for task in prange(ceil_div(columns, span), nogil=True, schedule="dynamic",
                       num_threads=threads):
        a_pack = workspace + threadid() * per_thread
        b_pack = a_pack + round_up(round_up(MC, MR) * KC, 16)  # 64-byte aligned
        c = partials + task * K_rows * M_out
        k0 = task * span
        cols = min(span, columns - k0)
        for slice_ in range(ceil_div(cols, KC)):
            pc = slice_ * KC
            kc = min(KC, cols - pc)
            for s in range(ceil_div(M_out, nr)):
                width = min(nr, M_out - s * nr)
                pack_b_grad_columns(g, v, k0 + pc, kc, s * nr, width, b_pack + s * nr * kc)
            for block in range(ceil_div(K_rows, MC)):
                ic = block * MC
                mc = min(MC, K_rows - ic)
                for a in range(ceil_div(mc, MR)):
                    rows = min(MR, mc - a * MR)
                    pack_a_windows(x, v, ic + a * MR, rows, k0 + pc, kc, a_pack + a * MR * kc)
                for s in range(ceil_div(M_out, nr)):
                    width = min(nr, M_out - s * nr)
                    for a in range(ceil_div(mc, MR)):
                        rows = min(MR, mc - a * MR)
                        microkernel(kc, a_pack + a * MR * kc, b_pack + s * nr * kc,
                                    c + (ic + a * MR) * M_out + s * nr, M_out, rows, width,
                                    pc > 0)


cdef void pack_b_windows_transposed(const floating *x_pad, const Windows *v, Py_ssize_t k0,
                                    Py_ssize_t kc, Py_ssize_t r0, Py_ssize_t cols,
                                    floating *sliver) noexcept nogil:
    """sliver[p * NR + j] = cols[r0 + j, k0 + p] (cols transposed), read from x_pad: for each
    column k of cols the addresses x_pad + col_base[k] + row_off[r] are again one gather."""
    cdef Py_ssize_t nr = tile_cols(sliver)
    cdef Py_ssize_t p, j
    for p in range(kc):
        gather(sliver + p * nr, x_pad + v.col_base[k0 + p], v.row_off + r0, cols)
        for j in range(cols, nr):
            sliver[p * nr + j] = 0


cdef void pack_a_grad_rows(const floating *g, const Windows *v, Py_ssize_t o0, Py_ssize_t rows,
                           Py_ssize_t k0, Py_ssize_t kc, floating *sliver) noexcept nogil:
    """sliver[p * MR + i] = g_rows[o0 + i, k0 + p] = g_flat[out_base[k0 + p] + (o0 + i) * L]."""
    cdef Py_ssize_t p, i
    cdef const floating *src
    for p in range(kc):
        src = g + v.out_base[k0 + p] + o0 * v.L
        for i in range(MR):
            sliver[p * MR + i] = src[i * v.L] if i < rows else 0


cdef void implicit_conv_grad_weight_rows(const floating *x, const Windows *v, const floating *g,
                                         Py_ssize_t K_rows, Py_ssize_t M_out,
                                         Py_ssize_t columns, floating *partials, Py_ssize_t span,
                                         Py_ssize_t chunk, Py_ssize_t KC, Py_ssize_t MC,
                                         int threads, floating *workspace,
                                         Py_ssize_t per_thread) noexcept nogil:
    """partials[t] = g_rows[:, span t] @ cols[:, span t].T: dw summed over one span of columns.

    The other orientation of implicit_conv_grad_weight, for many rows of cols (C_in*kH*kW at
    least one micro-tile wide): cols.T is the B operand, packed by gathers along its rows with
    unit-stride stores, in chunks of `chunk` of its columns; g_rows is the small A operand.
    """
    cdef Py_ssize_t nr = tile_cols(x)
    cdef Py_ssize_t task, k0, cols, slice_, pc, kc, jb, j0, part, block, ic, mc, s, a, rows, width
    cdef floating *a_pack
    cdef floating *b_pack
    cdef floating *c
    for task in prange(ceil_div(columns, span), nogil=True, schedule="dynamic",
                       num_threads=threads):
        a_pack = workspace + threadid() * per_thread
        b_pack = a_pack + round_up(round_up(MC, MR) * KC, 16)  # 64-byte aligned
        c = partials + task * M_out * K_rows
        k0 = task * span
        cols = min(span, columns - k0)
        for slice_ in range(ceil_div(cols, KC)):
            pc = slice_ * KC
            kc = min(KC, cols - pc)
            for jb in range(ceil_div(K_rows, chunk)):
                j0 = jb * chunk
                part = min(chunk, K_rows - j0)
                for s in range(ceil_div(part, nr)):
                    width = min(nr, part - s * nr)
                    pack_b_windows_transposed(x, v, k0 + pc, kc, j0 + s * nr, width,
                                              b_pack + s * nr * kc)
                for block in range(ceil_div(M_out, MC)):
                    ic = block * MC
                    mc = min(MC, M_out - ic)
                    for a in range(ceil_div(mc, MR)):
                        rows = min(MR, mc - a * MR)
                        pack_a_grad_rows(g, v, ic + a * MR, rows, k0 + pc, kc,
                                         a_pack + a * MR * kc)
                    for s in range(ceil_div(part, nr)):
                        width = min(nr, part - s * nr)
                        for a in range(ceil_div(mc, MR)):
                            rows = min(MR, mc - a * MR)
                            microkernel(kc, a_pack + a * MR * kc, b_pack + s * nr * kc,
                                        c + (ic + a * MR) * K_rows + j0 + s * nr, K_rows, rows,
                                        width, pc > 0)


cdef void indirect_tiles(const floating *g_cl, Py_ssize_t O, const Py_ssize_t *pos_in,
                         const Py_ssize_t *pos_out, Py_ssize_t k0, Py_ssize_t k1,
                         const Py_ssize_t *tap_off, Py_ssize_t taps, const floating *b_pack,
                         Py_ssize_t C, floating *dx, Py_ssize_t out_shift) noexcept nogil:
    """indirect_conv for the positions k0 <= k < k1: MR positions at a time, each sliver of NR
    output channels one micro-kernel call over all the taps. Position k's row of C values
    goes to dx + pos_out[k] - out_shift. The tile goes straight there when its positions'
    rows are evenly spaced (a row stride: always in conv2d, along an image row in a phase);
    else through a scratch tile, row by row."""
    cdef Py_ssize_t nr = tile_cols(dx)
    cdef Py_ssize_t slivers = ceil_div(C, nr)
    cdef Py_ssize_t k, rows, r, s, width, j, ldc
    cdef bint direct
    cdef const floating *a_rows[MR]
    cdef floating tile[MR * NR_F32]  # MR x NR of either dtype (NR_F64 = NR_F32 / 2)
    cdef floating *dst
    k = k0
    while k < k1:
        rows = min(MR, k1 - k)
        for r in range(MR):  # rows past the last position repeat it; never stored
            a_rows[r] = g_cl + pos_in[k + min(r, rows - 1)]
        ldc = pos_out[k + 1] - pos_out[k] if rows > 1 else C
        direct = True
        for r in range(2, rows):
            if pos_out[k + r] - pos_out[k] != r * ldc:
                direct = False
        for s in range(slivers):
            width = min(nr, C - s * nr)
            if direct:
                microkernel_indirect(O, a_rows, taps, tap_off, b_pack + s * taps * O * nr,
                                     dx + pos_out[k] - out_shift + s * nr, ldc, rows, width)
                continue
            microkernel_indirect(O, a_rows, taps, tap_off, b_pack + s * taps * O * nr, tile, nr,
                                 MR, nr)
            for r in range(rows):  # channels-last: each row of the tile is contiguous in dx
                dst = dx + pos_out[k + r] - out_shift + s * nr
                for j in range(width):
                    dst[j] = tile[r * nr + j]
        k += MR


cdef struct Phase:
    # One sum of indirect_conv (below): its address tables, its taps' packed weights, and how
    # many of its positions each image has (the tables go image by image).
    const Py_ssize_t *pos_in
    const Py_ssize_t *pos_out
    const Py_ssize_t *tap_off
    Py_ssize_t taps
    const void *b_pack
    Py_ssize_t per_image


cdef void indirect_conv(const floating *g_cl, Py_ssize_t O, const Phase *phases,
                        Py_ssize_t n_phases, Py_ssize_t N, Py_ssize_t L, Py_ssize_t C,
                        bint zero_first, floating *dx, const Py_ssize_t *at, Py_ssize_t chunk,
                        int threads, floating *workspace, Py_ssize_t per_thread) noexcept nogil:
    """dx[n, c, l] = sum over the phases' positions k of image n that write pixel l, of
    sum_{tap, o} g_cl[pos_in[k] + tap_off[tap] + o] * w_tap[o, c]: a convolution as an
    *indirect* GEMM, with no packing of its input at all, and its output channels-first.

    The input g_cl is channels-last with a zero border, (N, Hg, Wg, O): the O values one tap of
    one output position reads are contiguous, so the micro-kernel reads each of its MR rows
    in place from its own address (a table of row pointers: "indirect" GEMM) instead of
    gathering them into a packed panel. Each phase's b_pack holds its taps, per NR-sliver of
    the output channels c, per tap, as O x NR blocks: a sliver's taps follow each other, and
    the micro-kernel sums over all of them with the tile in registers. (Measured on the
    DCGAN's 64 -> 128 layer, one thread, three interleaved runs: one call per tap, loading
    and storing the tile each time, 4.34-4.73 ms; all taps in one call, 4.14-4.18 ms.)

    The GEMM's rows are positions and its columns channels, so it writes channels-last, one
    contiguous row per position. So each task takes `chunk` whole images: it computes their
    output channels-last into its own scratch (pos_out[k] counts from image 0: shifted to
    the chunk's first image), small enough to stay in the core's cache, then transposes it into
    dx's channels-first planes (channel c's plane at at[c] = c * L). (Measured on the 64 -> 128
    layer's input gradient, three interleaved runs: 5.31-5.35 ms on one thread and 2.91-3.59 ms
    on two when the whole channels-last output was transposed at the end; 4.99-5.27 and
    2.76-3.03 ms by chunks.)

    Used for conv2d (one phase: taps = the kernel's kH*kW, positions = the output pixels) and
    for conv2d_grad_input (one phase per stride class, below); zero_first when the phases do
    not cover every pixel.
    """
    cdef Py_ssize_t task, n0, n1, n, p
    cdef floating *scratch
    for task in prange(ceil_div(N, chunk), nogil=True, schedule="dynamic",
                       num_threads=threads):
        scratch = workspace + threadid() * per_thread
        n0 = task * chunk
        n1 = min(N, n0 + chunk)
        if zero_first:
            memset(scratch, 0, (n1 - n0) * L * C * sizeof(floating))
        for p in range(n_phases):
            indirect_tiles(g_cl, O, phases[p].pos_in, phases[p].pos_out,
                           n0 * phases[p].per_image, n1 * phases[p].per_image,
                           phases[p].tap_off, phases[p].taps,
                           <const floating *>phases[p].b_pack, C, scratch, n0 * L * C)
        for n in range(n0, n1):  # (L, C) -> (C, L), from the cache
            transpose(scratch + (n - n0) * L * C, C, dx + n * C * L, at, L, C)


cdef void indirect_grad_weight(const floating *x_cl, Py_ssize_t C, const Py_ssize_t *pos_in,
                               const Py_ssize_t *tap_off, Py_ssize_t taps, const floating *g,
                               const Windows *v, Py_ssize_t O, Py_ssize_t columns,
                               floating *partials, Py_ssize_t span, Py_ssize_t KC,
                               int threads, floating *workspace,
                               Py_ssize_t per_thread) noexcept nogil:
    """partials[t, tap, o, c] = sum over the positions k of span t of g_rows[o, k] *
    x_cl_flat[pos_in[k] + tap_off[tap] + c]: conv2d's weight gradient, tap by tap.

    For one tap, dW_tap (O x C) = g_rows (O x positions) @ X_tap (positions x C), and row k of
    X_tap is the C values of one pixel of x channels-last: contiguous. So the micro-kernel
    reads B's rows in place, through a table of row pointers, for every whole NR-sliver of
    channels; only a last, partial sliver is copied row by row (zero-padded). Measured on the
    DCGAN's 64 -> 128 layer, one thread, three interleaved runs: 5.26-5.56 ms copying every
    sliver, 4.89-5.04 ms in place. The A block of g_rows, packed once per KC slice of
    positions, serves every tap. Each task sums one span of positions into its own partial
    (taps x Op x Cp, Op and Cp rounded up to MR and NR); the caller adds them up.
    """
    cdef Py_ssize_t nr = tile_cols(x_cl)
    cdef Py_ssize_t Op = round_up(O, MR), Cp = round_up(C, nr)
    cdef Py_ssize_t task, k0, cols, slice_, pc, kc, a, rows, tap, s, width, p, j
    cdef floating *a_pack
    cdef floating *b_pack
    cdef const floating **b_rows
    cdef floating *c
    cdef const floating *src
    cdef floating *dst
    for task in prange(ceil_div(columns, span), nogil=True, schedule="dynamic",
                       num_threads=threads):
        a_pack = workspace + threadid() * per_thread
        b_pack = a_pack + round_up(Op * KC, 16)  # 64-byte aligned
        b_rows = <const floating **>(b_pack + round_up(KC * nr, 16))
        c = partials + task * taps * Op * Cp
        k0 = task * span
        cols = min(span, columns - k0)
        for slice_ in range(ceil_div(cols, KC)):
            pc = slice_ * KC
            kc = min(KC, cols - pc)
            for a in range(Op // MR):
                rows = min(MR, O - a * MR)
                pack_a_grad_rows(g, v, a * MR, rows, k0 + pc, kc, a_pack + a * MR * kc)
            for tap in range(taps):
                for s in range(Cp // nr):
                    width = min(nr, C - s * nr)
                    for p in range(kc):  # B's row p: pixel k0 + pc + p's channels of sliver s
                        src = x_cl + pos_in[k0 + pc + p] + tap_off[tap] + s * nr
                        if width == nr:  # a whole sliver of x_cl's row: read in place
                            b_rows[p] = src
                            continue
                        # the last, partial sliver: copied (NR values in place could run past
                        # x_cl's end) and zero-filled (its columns past C only reach the
                        # partials' padding, cropped below, but garbage there could be a NaN or
                        # a slow subnormal)
                        dst = b_pack + p * nr
                        for j in range(width):
                            dst[j] = src[j]
                        for j in range(width, nr):
                            dst[j] = 0
                        b_rows[p] = dst
                    for a in range(Op // MR):
                        microkernel_b_rows(kc, a_pack + a * MR * kc, b_rows,
                                           c + (tap * Op + a * MR) * Cp + s * nr, Cp, nr, pc > 0)


def _channels_last_padded(const floating[:, :, :, ::1] g, floating[:, :, :, ::1] g_cl,
                          Py_ssize_t top, Py_ssize_t left):
    """g_cl[n, top + h, left + w, o] = g[n, o, h, w], and 0 on g_cl's border (g_cl's values
    before the call do not matter).

    Per image, the (O, H*W) planes go through the blocked transpose (transpose.h) with a table
    of where each pixel's row of O channels starts in the padded image, and only the border
    is zeroed. Measured on the DCGAN's 64 x 64 x 14 x 14 input (medians of 50, three runs
    each): 0.49-0.53 ms on one thread and 0.37-0.46 ms on two as np.zeros of the whole padded
    array then a loop writing along o (np.zeros runs on one thread); 0.32-0.41 and 0.17 ms
    this way."""
    cdef Py_ssize_t N = g.shape[0], O = g.shape[1], H = g.shape[2], W = g.shape[3]
    cdef Py_ssize_t Hp = g_cl.shape[1], Wp = g_cl.shape[2], row = Wp * O
    cdef Py_ssize_t n, h, bottom, right
    cdef floating *image
    cdef int threads = _gemm_threads()
    if g_cl.shape[0] != N or g_cl.shape[3] != O or top < 0 or left < 0 or \
            Hp < H + top or Wp < W + left:
        raise ValueError(f"channels_last_padded: cannot place {tuple(g.shape)[:4]} at "
                         f"({top}, {left}) in {tuple(g_cl.shape)[:4]}")
    if N * Hp * Wp * O == 0:
        return
    bottom, right = Hp - H - top, Wp - W - left
    h_of, w_of = np.divmod(np.arange(H * W), W)
    cdef const Py_ssize_t[::1] at = _index_tables(((top + h_of) * Wp + left + w_of) * O)[0]
    for n in prange(N, nogil=True, schedule="static", num_threads=threads):
        image = &g_cl[n, 0, 0, 0]
        memset(image, 0, top * row * sizeof(floating))
        memset(image + (top + H) * row, 0, bottom * row * sizeof(floating))
        for h in range(top, top + H):
            memset(image + h * row, 0, left * O * sizeof(floating))
            memset(image + h * row + (left + W) * O, 0, right * O * sizeof(floating))
        if H * W > 0:
            transpose(&g[n, 0, 0, 0], H * W, image, &at[0], O, H * W)


def _to_channels_last(x, top, bottom, left, right):
    """x (N, C, H, W) as a new (N, top + H + bottom, left + W + right, C) array, zero border."""
    N, C, H, W = x.shape
    x_cl = _aligned_empty((N, top + H + bottom, left + W + right, C), x.dtype)
    _channels_last_padded(x, x_cl, top, left)
    return x_cl


# ---------------------------------------------------------------------------------------------
# Python side of the implicit GEMM: the address tables, the workspace, the calls.


def _index_tables(*tables):
    """The address tables, as contiguous read-only intp arrays (the kernels read them through
    pointers; the caches below hand the same arrays to every call)."""
    tables = tuple(np.ascontiguousarray(t.ravel(), dtype=np.intp) for t in tables)
    for t in tables:
        t.flags.writeable = False
    return tables


@functools.lru_cache(maxsize=64)
def _window_tables(geometry):
    """(row_off, col_base, out_base) of one geometry, as intp arrays (see the formulas above).
    Cached: a training step meets the same few geometries again and again."""
    N, C = geometry.batch, geometry.in_channels
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw
    Hp, Wp = H + 2 * pH, W + 2 * pW
    c, p, q = np.meshgrid(np.arange(C), np.arange(kH), np.arange(kW), indexing="ij")
    n, i, j = np.meshgrid(np.arange(N), np.arange(H_out), np.arange(W_out), indexing="ij")
    L = H_out * W_out
    return _index_tables(c * Hp * Wp + p * Wp + q, n * C * Hp * Wp + i * sH * Wp + j * sW,
                         n * geometry.out_channels * L + i * W_out + j)


cdef Windows _windows_of(tuple tables, geometry):
    """The Windows struct pointing into the (cached, read-only) tables."""
    cdef Windows v
    cdef const Py_ssize_t[::1] t
    t = tables[0]
    v.row_off = <Py_ssize_t *>&t[0]
    t = tables[1]
    v.col_base = <Py_ssize_t *>&t[0]
    t = tables[2]
    v.out_base = <Py_ssize_t *>&t[0]
    v.L = geometry.out_hw[0] * geometry.out_hw[1]
    return v


def _pad_planes(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] x_pad):
    """x_pad[n, c, pH + h, pW + w] = x[n, c, h, w]; x_pad arrives zeroed (its border stays 0)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t pH = (x_pad.shape[2] - H) // 2, pW = (x_pad.shape[3] - W) // 2
    cdef Py_ssize_t nc, n, c, h, w
    cdef int threads = _gemm_threads()
    if x_pad.shape[0] != N or x_pad.shape[1] != C or pH < 0 or pW < 0 or \
            x_pad.shape[2] != H + 2 * pH or x_pad.shape[3] != W + 2 * pW:
        raise ValueError(f"pad_planes: cannot centre {tuple(x.shape)[:4]} in "
                         f"{tuple(x_pad.shape)[:4]}")
    for nc in prange(N * C, nogil=True, schedule="static", num_threads=threads):
        n = nc // C
        c = nc % C
        for h in range(H):
            for w in range(W):
                x_pad[n, c, pH + h, pW + w] = x[n, c, h, w]


def _crop_planes(const floating[:, :, :, ::1] x_pad, floating[:, :, :, ::1] x):
    """x[n, c, h, w] = x_pad[n, c, pH + h, pW + w]: the centre (the adjoint of _pad_planes)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t pH = (x_pad.shape[2] - H) // 2, pW = (x_pad.shape[3] - W) // 2
    cdef Py_ssize_t nc, n, c, h, w
    cdef int threads = _gemm_threads()
    if x_pad.shape[0] != N or x_pad.shape[1] != C or pH < 0 or pW < 0 or \
            x_pad.shape[2] != H + 2 * pH or x_pad.shape[3] != W + 2 * pW:
        raise ValueError(f"crop_planes: cannot take {tuple(x.shape)[:4]} from the centre of "
                         f"{tuple(x_pad.shape)[:4]}")
    for nc in prange(N * C, nogil=True, schedule="static", num_threads=threads):
        n = nc // C
        c = nc % C
        for h in range(H):
            for w in range(W):
                x[n, c, h, w] = x_pad[n, c, pH + h, pW + w]


def _padded(x, geometry):
    """x with its zero border (x itself when the padding is 0)."""
    (pH, pW) = geometry.padding
    if pH == 0 and pW == 0:
        return x
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=x.dtype)
    _pad_planes(x, x_pad)
    return x_pad


def _blocks(itemsize):
    """(KC, MC) of the GEMM (derived from this CPU's caches, see gemm_blocking.py)."""
    info = _gemm_info()
    kc, mc, _ = info["blocks_kc_mc_nc"] if itemsize == 4 else info["blocks_kc_mc_nc_float64"]
    return kc, mc


cdef class _Workspace:
    """64-byte aligned scratch for the packing buffers (the micro-kernel's aligned loads need
    it), freed with the object."""
    cdef void *data

    def __cinit__(self, Py_ssize_t elements, Py_ssize_t itemsize):
        self.data = aligned_malloc(<size_t>(max(elements, 1) * itemsize))
        if self.data == NULL:
            raise MemoryError(f"conv: could not allocate {elements * itemsize} bytes of "
                              "packing buffers")

    def __dealloc__(self):
        aligned_free(self.data)


def _implicit_conv2d(x, weight, g, bias=None):
    """conv2d's product without the column matrix (implicit_conv), + bias; x, weight, bias
    contiguous, checked by conv2d."""
    y = np.empty((g.batch, g.out_channels, *g.out_hw), dtype=x.dtype)
    x_pad = _padded(x, g)
    weight = weight.reshape(g.out_channels, g.col_rows)
    cdef tuple tables = _window_tables(g)
    cdef Windows v = _windows_of(tables, g)
    cdef Py_ssize_t M = weight.shape[0], K = weight.shape[1], columns = len(tables[1])
    cdef int threads = _gemm_threads()
    cdef Py_ssize_t KC, MC
    KC, MC = _blocks(x_pad.itemsize)
    cdef Py_ssize_t nr = NR_F32 if x_pad.dtype == np.float32 else NR_F64
    # chunks of whole slivers, at most an MC-wide panel, and a whole number of them per thread
    cdef Py_ssize_t chunk = max(nr, MC // nr * nr)
    cdef Py_ssize_t tasks = threads * ceil_div(columns, threads * chunk)
    chunk = round_up(ceil_div(columns, tasks), nr)
    threads = min(threads, ceil_div(columns, chunk))
    cdef Py_ssize_t kc = min(KC, K)
    cdef Py_ssize_t per_thread = round_up(chunk * kc + M * chunk, 16)
    work = _Workspace(per_thread * threads, x_pad.itemsize)
    packed = _pack_weight_slivers(weight, kc)
    cdef const float[::1] w32, b32
    cdef const double[::1] w64, b64
    cdef const float[:, :, :, ::1] x32
    cdef const double[:, :, :, ::1] x64
    cdef float[:, :, :, ::1] y32
    cdef double[:, :, :, ::1] y64
    cdef const float *bias32 = NULL
    cdef const double *bias64 = NULL
    if x_pad.dtype == np.float32:
        x32, w32, y32 = x_pad, packed, y
        if bias is not None:
            b32 = bias
            bias32 = &b32[0]
        with nogil:
            implicit_conv(&x32[0, 0, 0, 0], &v, &w32[0], bias32, M, K, columns,
                          &y32[0, 0, 0, 0], chunk, kc, MC, threads, <float *>work.data,
                          per_thread)
    else:
        x64, w64, y64 = x_pad, packed, y
        if bias is not None:
            b64 = bias
            bias64 = &b64[0]
        with nogil:
            implicit_conv(&x64[0, 0, 0, 0], &v, &w64[0], bias64, M, K, columns,
                          &y64[0, 0, 0, 0], chunk, kc, MC, threads, <double *>work.data,
                          per_thread)
    return y


def _pack_weight_slivers(weight, KC):
    """weight (M, K) as implicit_conv reads it: for each KC slice of its columns, its rows in
    MR-row slivers, each sliver kc steps of MR values (``[p * MR + r] = weight[i + r, pc + p]``,
    zero past row M). Slice pc starts at Mp * pc (Mp = M rounded up to MR), its sliver of rows
    i.. at Mp * pc + i * kc. One NumPy transpose per slice, instead of every task packing it."""
    M, K = weight.shape
    Mp = ceil_div(M, MR) * MR
    padded = np.zeros((Mp, K), dtype=weight.dtype)
    padded[:M] = weight
    slices = [padded[:, pc:pc + KC].reshape(Mp // MR, MR, -1).transpose(0, 2, 1).ravel()
              for pc in range(0, K, KC)]
    return np.concatenate(slices)


# The input gradient of a strided convolution as s_H * s_W small convolutions ("phases"). Write
# h + pH = i*sH + p for an input row h, an output row i and a kernel row p: only the kernel rows
# p with p = (h + pH) mod sH touch row h. So the input rows fall into sH classes h = h0 + sH*a
# (h0 = 0 .. sH-1), and class h0 receives
#
#     dx[n, c, h0 + sH a, w0 + sW b] = sum_{o, t, u} g[n, o, a + e_h - t, b + e_w - u]
#                                                    * w[o, c, p0 + sH t, q0 + sW u]
#
# with p0 = (h0 + pH) mod sH, e_h = (h0 + pH - p0) / sH (q0, e_w likewise), and g taken as 0
# outside its H_out x W_out: a stride-1 convolution of g with a kernel of about (kH/sH) x (kW/sW)
# taps, flipped. Together they compute every product of dcols once, as col2im would add them,
# but each input pixel is written once instead of being added to kH*kW/(sH*sW) times. Each is
# one indirect GEMM (indirect_conv, which takes all the classes in one call): its rows are the
# class's pixels, its columns the input channels, its sum over (o, t, u) one micro-kernel call
# over all the taps, reading g's O channels of one pixel in place from a channels-last copy of
# g. Measured (benchmarks/bench_conv.py, 1 thread, the DCGAN's 64 -> 128 layer): 12.2 ms with
# each phase an implicit_conv gathering g into packed panels, 8.0 ms as indirect GEMMs (PyTorch
# 5.8). Worth it when the input has enough channels to fill micro-tiles; a 1-channel input uses
# the folded col2im below.


@functools.lru_cache(maxsize=64)
def _phase_plan(geometry):
    """The phases of the input gradient: (g padding (top, bottom, left, right), [per phase:
    (h0, w0, p0, q0, Ha, Wa, e_h, e_w, Tp, Tq)])."""
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw

    def axis(size, k, s, p, size_out):
        classes = []
        for h0 in range(min(s, size)):
            p0 = (h0 + p) % s
            taps = len(range(p0, k, s))
            count = len(range(h0, size, s))
            e = (h0 + p - p0) // s
            classes.append((h0, p0, count, e, taps))
        before = max([taps - 1 - e for _, _, _, e, taps in classes if taps] + [0])
        after = max([count - 1 + e - (size_out - 1) for _, _, count, e, taps in classes
                     if taps] + [0])
        return classes, before, after

    rows, top, bottom = axis(H, kH, sH, pH, H_out)
    cols, left, right = axis(W, kW, sW, pW, W_out)
    phases = [(h0, w0, p0, q0, Ha, Wa, e_h, e_w, Tp, Tq)
              for h0, p0, Ha, e_h, Tp in rows for w0, q0, Wa, e_w, Tq in cols]
    return (top, bottom, left, right), phases


@functools.lru_cache(maxsize=256)
def _phase_positions(geometry, phase, g_padding):
    """(pos_in, pos_out, tap_off) of one phase, as intp arrays: position k = (n, a, b) reads
    g_cl[n, a + e_h + top - t, b + e_w + left - u, :] for tap (t, u), at pos_in[k] +
    tap_off[(t, u)], and writes dx_cl[n, h0 + sH a, w0 + sW b, :] (channels-last), at
    pos_out[k] + c."""
    h0, w0, p0, q0, Ha, Wa, e_h, e_w, Tp, Tq = phase
    top, bottom, left, right = g_padding
    N, C, O = geometry.batch, geometry.in_channels, geometry.out_channels
    (H, W), (H_out, W_out) = geometry.in_hw, geometry.out_hw
    (sH, sW) = geometry.stride
    Hg, Wg = H_out + top + bottom, W_out + left + right
    n, a, b = np.meshgrid(np.arange(N), np.arange(Ha), np.arange(Wa), indexing="ij")
    t, u = np.meshgrid(np.arange(Tp), np.arange(Tq), indexing="ij")
    return _index_tables(((n * Hg + a + e_h + top) * Wg + b + e_w + left) * O,
                         ((n * H + h0 + sH * a) * W + (w0 + sW * b)) * C,
                         -(t * Wg + u) * O)


def _tap_slivers(taps, nr):
    """taps (T1, T2, K, C): the weights of each tap, K summed over, C output channels, as
    indirect_conv reads them: per NR-sliver of c, per tap, a K x NR block (c zero-padded to
    whole slivers), 64-byte aligned."""
    T1, T2, K, C = taps.shape
    slivers = -(-C // nr)
    if C % nr:  # pad c with zeros to whole slivers (else one copy does it all)
        padded = np.zeros((T1, T2, K, slivers * nr), dtype=taps.dtype)
        padded[..., :C] = taps
        taps = padded
    return _aligned(taps.reshape(T1 * T2, K, slivers, nr).transpose(2, 0, 1, 3))


def _aligned(array):
    """A C-contiguous copy of ``array`` starting on a 64-byte boundary: the micro-kernel reads
    its B slivers with aligned vector loads (NumPy promises only the item size's alignment)."""
    out = _aligned_empty(array.shape, array.dtype)
    out[...] = array
    return out


def _aligned_empty(shape, dtype):
    """np.empty(shape, dtype), C-contiguous, starting on a 64-byte boundary (a cache line).

    The channels-last arrays of the indirect GEMMs are made this way: their pixels' rows of
    channels are then whole cache lines (for 16 float32 channels or a multiple), which the
    micro-kernel loads and stores as vectors. Measured on the 64 -> 128 layer's weight
    gradient, one thread (x_cl's rows read in place as B rows, the partial sums' rows
    stored): 4.9-5.0 ms aligned; 5.0 or 6.2-6.4 ms with np.empty, depending on where the
    allocator happened to place the arrays."""
    itemsize = np.dtype(dtype).itemsize
    size = math.prod(shape)
    buffer = np.empty(size + 64 // itemsize, dtype=dtype)
    start = (-buffer.ctypes.data % 64) // itemsize
    return buffer[start:start + size].reshape(shape)


# indirect_conv's tasks compute this many bytes of output (whole images) in their scratch, at
# most, before transposing it: well inside a core's L2 cache (512 KiB to 2 MiB on the CPUs this
# course meets), so the transpose reads it from there and not from memory.
INDIRECT_CHUNK_BYTES = 256 * 1024


def _run_indirect_conv(x_cl, phases, out):
    """indirect_conv: out[n, c] (channels-first, (N, C, H, W), C-contiguous) = for each phase
    (tables, taps) in phases, sum_{tap, o} x_cl_flat[pos_in[k] + tap_off[tap] + o] * taps[tap,
    o, c] at the pixel pos_out[k] of image n, with tables = (pos_in, pos_out, tap_off) (pos_out
    counting channels-last values from image 0), taps (T1, T2, K, C) and x_cl channels-last
    (K = x_cl's channels). Pixels no phase writes are 0 when the phases do not cover them all
    (then fewer positions than pixels)."""
    cdef Py_ssize_t K = x_cl.shape[3], N = out.shape[0], C = out.shape[1]
    cdef Py_ssize_t L = out.shape[2] * out.shape[3], n_phases = len(phases), p
    cdef Py_ssize_t nr = NR_F32 if x_cl.dtype == np.float32 else NR_F64
    cdef Py_ssize_t itemsize = x_cl.itemsize
    keep = []  # the tables and packed taps the kernel reads, alive until it returns
    cdef Phase *ph = <Phase *>aligned_malloc(max(n_phases, 1) * sizeof(Phase))
    if ph == NULL:
        raise MemoryError("indirect conv: could not allocate the phase table")
    try:
        covered = 0
        for p, (tables, taps) in enumerate(phases):
            n_taps = len(tables[2])
            if taps.shape[2] != K or taps.shape[3] != C or taps.shape[0] * taps.shape[1] != n_taps:
                raise ValueError(f"indirect conv: taps {taps.shape} do not match {K} -> {C} "
                                 f"channels and {n_taps} taps")
            packed = _tap_slivers(taps, nr)
            keep.append(packed)
            ph[p].pos_in = <const Py_ssize_t *><size_t>tables[0].ctypes.data
            ph[p].pos_out = <const Py_ssize_t *><size_t>tables[1].ctypes.data
            ph[p].tap_off = <const Py_ssize_t *><size_t>tables[2].ctypes.data
            ph[p].taps = n_taps
            ph[p].b_pack = <const void *><size_t>packed.ctypes.data
            ph[p].per_image = len(tables[0]) // N
            covered += len(tables[0])
        threads = _gemm_threads()
        # whole images per task, at most INDIRECT_CHUNK_BYTES of output, about 4 tasks a thread
        chunk = max(1, min(INDIRECT_CHUNK_BYTES // max(1, L * C * itemsize),
                           ceil_div(N, 4 * threads)))
        threads = min(threads, ceil_div(N, chunk))
        per_thread = round_up(chunk * L * C, 16)  # each thread: its chunk's output
        work = _Workspace(per_thread * threads, itemsize)
        _indirect_conv_call(x_cl, ph, n_phases, N, L, C, covered < N * L, out,
                            _index_tables(np.arange(C) * L)[0], chunk, threads, work,
                            per_thread)
    finally:
        aligned_free(ph)


cdef _indirect_conv_call(x_cl, const Phase *ph, Py_ssize_t n_phases, Py_ssize_t N,
                         Py_ssize_t L, Py_ssize_t C, bint zero_first, out,
                         const Py_ssize_t[::1] at, Py_ssize_t chunk, int threads,
                         _Workspace work, Py_ssize_t per_thread):
    """indirect_conv on x_cl's dtype, the GIL released."""
    cdef const float[:, :, :, ::1] x32
    cdef const double[:, :, :, ::1] x64
    cdef float[:, :, :, ::1] o32
    cdef double[:, :, :, ::1] o64
    cdef Py_ssize_t K = x_cl.shape[3]
    if x_cl.dtype == np.float32:
        x32, o32 = x_cl, out
        with nogil:
            indirect_conv(&x32[0, 0, 0, 0], K, ph, n_phases, N, L, C, zero_first,
                          &o32[0, 0, 0, 0], &at[0], chunk, threads, <float *>work.data,
                          per_thread)
    else:
        x64, o64 = x_cl, out
        with nogil:
            indirect_conv(&x64[0, 0, 0, 0], K, ph, n_phases, N, L, C, zero_first,
                          &o64[0, 0, 0, 0], &at[0], chunk, threads, <double *>work.data,
                          per_thread)


def _phase_conv2d_grad_input(grad_out, weight, g):
    """dx as sH*sW stride-1 convolutions of g (above), each an indirect GEMM (indirect_conv)
    over g channels-last; arguments checked."""
    (sH, sW), (H, W) = g.stride, g.in_hw
    g_padding, phases = _phase_plan(g)
    top, bottom, left, right = g_padding
    g_cl = _to_channels_last(grad_out, top, bottom, left, right)
    sums = []
    for phase in phases:
        h0, w0, p0, q0, Ha, Wa, e_h, e_w, Tp, Tq = phase
        if Tp * Tq == 0 or Ha * Wa == 0:
            continue  # no taps: these pixels' gradient is 0; no pixels: nothing to do
        # the phase's taps w[o, c, p0 + sH t, q0 + sW u], summed over o: (Tp, Tq, O, C_in)
        taps = weight[:, :, p0::sH, q0::sW].transpose(2, 3, 0, 1)
        sums.append((_phase_positions(g, phase, g_padding), taps))
    dx = np.empty((g.batch, g.in_channels, H, W), grad_out.dtype)
    _run_indirect_conv(g_cl, sums, dx)
    return dx


@functools.lru_cache(maxsize=64)
def _forward_positions(geometry):
    """(pos_in, pos_out, tap_off) of conv2d as an indirect GEMM: output pixel k = (n, i, j)
    reads x_cl[n, i sH + p, j sW + q, :] (x channels-last with its zero border) for tap (p, q),
    at pos_in[k] + tap_off[(p, q)], and writes y_cl[n, i, j, :], at pos_out[k] + o."""
    N, C = geometry.batch, geometry.in_channels
    (H, W), (kH, kW) = geometry.in_hw, geometry.kernel_hw
    (sH, sW), (pH, pW), (H_out, W_out) = geometry.stride, geometry.padding, geometry.out_hw
    Hp, Wp = H + 2 * pH, W + 2 * pW
    n, i, j = np.meshgrid(np.arange(N), np.arange(H_out), np.arange(W_out), indexing="ij")
    p, q = np.meshgrid(np.arange(kH), np.arange(kW), indexing="ij")
    return _index_tables(((n * Hp + i * sH) * Wp + j * sW) * C,
                         ((n * H_out + i) * W_out + j) * geometry.out_channels,
                         (p * Wp + q) * C)


def _indirect_conv2d_grad_weight(x, grad_out, g):
    """conv2d's weight gradient tap by tap over x channels-last (indirect_grad_weight);
    arguments checked."""
    C, O = g.in_channels, g.out_channels
    (kH, kW), (pH, pW) = g.kernel_hw, g.padding
    x_cl = _to_channels_last(x, pH, pH, pW, pW)
    cdef tuple windows = _window_tables(g)
    cdef Windows v = _windows_of(windows, g)
    cdef tuple tables = _forward_positions(g)
    cdef const Py_ssize_t[::1] pos_in = tables[0], tap_off = tables[2]
    cdef Py_ssize_t taps = kH * kW, columns = len(tables[0]), channels = C, out_channels = O
    cdef int threads = _gemm_threads()
    cdef Py_ssize_t nr = NR_F32 if x.dtype == np.float32 else NR_F64
    cdef Py_ssize_t KC = _blocks(x.itemsize)[0]
    # spans of at most 8 KC slices (short accurate partial sums), a whole number per thread
    cdef Py_ssize_t tasks = threads * ceil_div(columns, threads * 8 * KC)
    cdef Py_ssize_t span = ceil_div(columns, tasks)
    tasks = ceil_div(columns, span)
    threads = min(threads, tasks)
    cdef Py_ssize_t kc = min(KC, span)
    cdef Py_ssize_t Op = round_up(O, MR), Cp = round_up(C, nr)
    # A block, B sliver, and B's row pointers (kc of them, as many bytes as kc float64s),
    # each part a whole number of 64-byte lines (every thread's part starts aligned)
    cdef Py_ssize_t per_thread = (round_up(Op * kc, 16) + round_up(kc * nr, 16)
                                  + round_up(kc * (8 // x.itemsize), 16))
    partials = _aligned_empty((tasks, taps, Op, Cp), x.dtype)
    work = _Workspace(per_thread * threads, x.itemsize)
    cdef const float[:, :, :, ::1] x32, g32
    cdef const double[:, :, :, ::1] x64, g64
    cdef float[:, :, :, ::1] c32
    cdef double[:, :, :, ::1] c64
    if x.dtype == np.float32:
        x32, g32, c32 = x_cl, grad_out, partials
        with nogil:
            indirect_grad_weight(&x32[0, 0, 0, 0], channels, &pos_in[0], &tap_off[0], taps,
                                 &g32[0, 0, 0, 0], &v, out_channels, columns, &c32[0, 0, 0, 0],
                                 span, kc, threads, <float *>work.data, per_thread)
    else:
        x64, g64, c64 = x_cl, grad_out, partials
        with nogil:
            indirect_grad_weight(&x64[0, 0, 0, 0], channels, &pos_in[0], &tap_off[0], taps,
                                 &g64[0, 0, 0, 0], &v, out_channels, columns, &c64[0, 0, 0, 0],
                                 span, kc, threads, <double *>work.data, per_thread)
    total = partials[0] if tasks == 1 else partials.sum(axis=0)  # (taps, Op, Cp)
    dw = total[:, :O, :C].reshape(kH, kW, O, C).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(dw)


def _indirect_conv2d(x, weight, g):
    """conv2d as one indirect GEMM over x channels-last (indirect_conv); arguments checked."""
    (pH, pW), (H_out, W_out) = g.padding, g.out_hw
    x_cl = _to_channels_last(x, pH, pH, pW, pW)
    y = np.empty((g.batch, g.out_channels, H_out, W_out), x.dtype)
    # the taps w[o, c, p, q], summed over c: (kH, kW, C_in, C_out)
    _run_indirect_conv(x_cl, [(_forward_positions(g), weight.transpose(2, 3, 1, 0))], y)
    return y



def _implicit_conv2d_grad_input(grad_out, weight, g):
    """col2im(weight.T @ g_rows) without dcols; grad_out, weight contiguous, checked."""
    cdef tuple tables = _window_tables(g)
    cdef Windows v = _windows_of(tables, g)
    cdef Py_ssize_t M_out = g.out_channels, K_rows = g.col_rows, L = v.L
    cdef int threads = _gemm_threads()
    cdef Py_ssize_t nr = NR_F32 if grad_out.dtype == np.float32 else NR_F64
    cdef Py_ssize_t MC = _blocks(grad_out.itemsize)[1]
    # whole images per task, about an MC-wide panel of columns, a whole number per thread
    cdef Py_ssize_t per_task = max(1, MC // L)
    cdef Py_ssize_t tasks = threads * ceil_div(g.batch, threads * per_task)
    per_task = ceil_div(g.batch, tasks)
    threads = min(threads, ceil_div(g.batch, per_task))
    cdef Py_ssize_t per_thread = round_up(MR * nr + M_out * nr, 16)
    cdef Py_ssize_t images = g.batch
    # weight.T (K_rows x C_out) in MR-row slivers, its whole sum (C_out) as one slice
    packed = _pack_weight_slivers(weight.reshape(M_out, K_rows).T, M_out)
    (H, W), (pH, pW) = g.in_hw, g.padding
    dx = np.zeros((g.batch, g.in_channels, H + 2 * pH, W + 2 * pW), dtype=grad_out.dtype)
    work = _Workspace(per_thread * threads, grad_out.itemsize)
    cdef const float[:, :, :, ::1] g32
    cdef const double[:, :, :, ::1] g64
    cdef const float[::1] p32
    cdef const double[::1] p64
    cdef float[:, :, :, ::1] dx32
    cdef double[:, :, :, ::1] dx64
    if grad_out.dtype == np.float32:
        g32, p32, dx32 = grad_out, packed, dx
        with nogil:
            implicit_conv_grad_input(&g32[0, 0, 0, 0], &v, &p32[0], K_rows, M_out,
                                     images, &dx32[0, 0, 0, 0], per_task, threads,
                                     <float *>work.data, per_thread)
    else:
        g64, p64, dx64 = grad_out, packed, dx
        with nogil:
            implicit_conv_grad_input(&g64[0, 0, 0, 0], &v, &p64[0], K_rows, M_out,
                                     images, &dx64[0, 0, 0, 0], per_task, threads,
                                     <double *>work.data, per_thread)
    if pH == 0 and pW == 0:
        return dx
    grad_x = np.empty((g.batch, g.in_channels, H, W), dtype=dx.dtype)
    _crop_planes(dx, grad_x)
    return grad_x


def _implicit_conv2d_grad_weight(x, grad_out, g):
    """g_rows @ cols.T without the column matrix; x, grad_out contiguous, checked.

    Computed as dw (implicit_conv_grad_weight_rows) when cols has at least NR rows, else as
    dw^T = cols @ g_rows.T (implicit_conv_grad_weight): either way the operand packed by
    gathers is cols, and the micro-tiles are not mostly padding."""
    cdef tuple tables = _window_tables(g)
    cdef Windows v = _windows_of(tables, g)
    cdef Py_ssize_t M_out = g.out_channels, K_rows = g.col_rows, L = v.L
    cdef Py_ssize_t columns = g.batch * L
    cdef int threads = _gemm_threads()
    cdef Py_ssize_t nr = NR_F32 if x.dtype == np.float32 else NR_F64
    cdef Py_ssize_t KC, MC
    KC, MC = _blocks(x.itemsize)
    cdef bint rows_first = K_rows >= nr
    # spans of at most 8 KC slices, a whole number of them per thread
    cdef Py_ssize_t tasks = threads * ceil_div(columns, threads * 8 * KC)
    cdef Py_ssize_t span = ceil_div(columns, tasks)
    tasks = ceil_div(columns, span)
    threads = min(threads, tasks)
    cdef Py_ssize_t kc = min(KC, span)
    cdef Py_ssize_t chunk = max(nr, MC // nr * nr)  # columns of cols.T per packed B panel
    cdef Py_ssize_t b_size = chunk * kc if rows_first else round_up(M_out, nr) * kc
    cdef Py_ssize_t per_thread = round_up(round_up(MC, MR) * kc, 16) + round_up(b_size, 16)
    shape = (tasks, M_out, K_rows) if rows_first else (tasks, K_rows, M_out)
    partials = np.empty(shape, dtype=x.dtype)
    x = _padded(x, g)
    work = _Workspace(per_thread * threads, x.itemsize)
    cdef const float[:, :, :, ::1] x32, g32
    cdef const double[:, :, :, ::1] x64, g64
    cdef float[:, :, ::1] c32
    cdef double[:, :, ::1] c64
    if x.dtype == np.float32:
        x32, g32, c32 = x, grad_out, partials
        with nogil:
            if rows_first:
                implicit_conv_grad_weight_rows(&x32[0, 0, 0, 0], &v, &g32[0, 0, 0, 0], K_rows,
                                               M_out, columns, &c32[0, 0, 0], span, chunk, kc,
                                               MC, threads, <float *>work.data, per_thread)
            else:
                implicit_conv_grad_weight(&x32[0, 0, 0, 0], &v, &g32[0, 0, 0, 0], K_rows, M_out,
                                          columns, &c32[0, 0, 0], span, kc, MC, threads,
                                          <float *>work.data, per_thread)
    else:
        x64, g64, c64 = x, grad_out, partials
        with nogil:
            if rows_first:
                implicit_conv_grad_weight_rows(&x64[0, 0, 0, 0], &v, &g64[0, 0, 0, 0], K_rows,
                                               M_out, columns, &c64[0, 0, 0], span, chunk, kc,
                                               MC, threads, <double *>work.data, per_thread)
            else:
                implicit_conv_grad_weight(&x64[0, 0, 0, 0], &v, &g64[0, 0, 0, 0], K_rows, M_out,
                                          columns, &c64[0, 0, 0], span, kc, MC, threads,
                                          <double *>work.data, per_thread)
    total = partials[0] if tasks == 1 else partials.sum(axis=0)
    kH, kW = g.kernel_hw
    if not rows_first:
        total = np.ascontiguousarray(total.T)
    return total.reshape(M_out, g.in_channels, kH, kW)


# ---------------------------------------------------------------------------------------------
# The three kernels. Same signatures, checks and results as the twins in conv_numpy.py.

# conv2d_grad_input computes by phases when the input has at least this many channels (the rows
# of the phases' GEMMs: below 2 micro-tiles' worth most of each tile would be padding), else by
# the folded col2im.
PHASE_MIN_CHANNELS = 2 * MR
# conv2d and its weight gradient work on x channels-last (indirect GEMMs) when the input has at
# least this many channels: each micro-kernel call of conv2d then sums over C_in values of one
# tap, enough to pay for loading and storing its tile once per tap; else they are implicit GEMMs
# (the image packed by gathers). Measured on the DCGAN's 64 -> 128 layer, 1 thread
# (interleaved, medians of 9): conv2d 7.3 -> 6.2 ms, its weight gradient 6.9 -> 6.0 ms.
INDIRECT_MIN_CHANNELS = 16


def conv2d(x, weight, stride=(1, 1), padding=(0, 0), bias=None):
    """y = conv2d(x, weight) (+ bias): x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y.

    ``y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]`` (``+
    bias[o]``, added to the finished sum), of shape (N, C_out, H_out, W_out), computed as ``w
    (C_out, C_in*kH*kW) @ im2col(x)`` with the columns packed straight from x (implicit GEMM,
    above; the bias is added as the result is written), or, for an input of
    INDIRECT_MIN_CHANNELS or more, its transpose ``im2col(x)^T @ w^T`` read through row pointers
    into x channels-last (indirect GEMM, above; the bias is added in a pass of its own).
    """
    x, weight, g = check_conv2d(x, weight, stride, padding)
    bias = check_conv_bias("conv2d", bias, g, x.dtype)
    H_out, W_out = g.out_hw
    if g.batch == 0 or H_out * W_out == 0:
        return np.zeros((g.batch, g.out_channels, H_out, W_out), dtype=x.dtype)
    if g.in_channels >= INDIRECT_MIN_CHANNELS:
        y = _indirect_conv2d(x, weight, g)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y
    return _implicit_conv2d(x, weight, g, bias)


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d, given grad_out = dL/dy: shape (N, C_in, H, W) with (H, W) = input_hw.

    ``dcols = w.T @ g_rows`` holds, for every column the forward pass would have built, the
    gradient of the input values in it; col2im adds them back onto the input pixels. Here each
    micro-tile of dcols is added back as soon as it is computed (implicit GEMM, above).
    """
    grad_out, weight, g = check_conv2d_grad_input(grad_out, weight, input_hw, stride, padding)
    H_out, W_out = g.out_hw
    if g.batch == 0 or H_out * W_out == 0:
        return np.zeros((g.batch, g.in_channels, *g.in_hw), dtype=grad_out.dtype)
    if g.in_channels >= PHASE_MIN_CHANNELS:
        return _phase_conv2d_grad_input(grad_out, weight, g)
    return _implicit_conv2d_grad_input(grad_out, weight, g)


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d, given grad_out = dL/dy: shape (C_out, C_in, kH, kW).

    ``dL/dw[o, (c, p, q)] = sum_{(n, i, j)} g_rows[o, (n, i, j)] * cols[(c, p, q), (n, i, j)]``:
    one GEMM summing over every output pixel of every image at once, computed with cols packed
    straight from x (implicit GEMM, above), or, for an input of INDIRECT_MIN_CHANNELS or more,
    as one such GEMM per tap (p, q) over x channels-last (indirect_grad_weight).
    """
    x, grad_out, g = check_conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)
    kH, kW = g.kernel_hw
    H_out, W_out = g.out_hw
    if g.batch == 0 or H_out * W_out == 0:
        return np.zeros((g.out_channels, g.in_channels, kH, kW), dtype=x.dtype)
    if g.in_channels >= INDIRECT_MIN_CHANNELS:
        return _indirect_conv2d_grad_weight(x, grad_out, g)
    return _implicit_conv2d_grad_weight(x, grad_out, g)


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
