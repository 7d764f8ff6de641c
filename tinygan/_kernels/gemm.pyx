# cython: language_level=3
"""GEMM, compiled: C = op(A) @ op(B) for float32/float64, 2-D or batched 3-D, any strides.

This is the fast twin of ``gemm_numpy.py`` (read that file first for the math and the shapes).
It is organised the way BLIS and the "how to optimize GEMM" tutorials teach, as five loops
around a tiny register kernel::

    for jc in range(0, n, NC):          # 5th loop: an NC-wide panel of columns of C and B
        for pc in range(0, k, KC):      # 4th loop: a KC-deep slice of the inner dimension
            pack B[pc:pc+KC, jc:jc+NC]  #   -> b_pack, slivers of NR columns   (lives in L3)
            for ic in range(0, m, MC):  # 3rd loop: an MC-tall block of rows
                pack A[ic:ic+MC, pc:pc+KC]  # -> a_pack, slivers of MR rows    (lives in L2)
                for jr in range(0, NC, NR):     # 2nd loop: one NR-wide sliver of b_pack
                    for ir in range(0, MC, MR): # 1st loop: one MR-tall sliver of a_pack
                        C[ir:ir+MR, jr:jr+NR] += a_sliver @ b_sliver   # micro-kernel

Why this shape is fast:

* Arithmetic is cheap, memory is slow. An m x k by k x n product does m*n*k multiply-adds on
  only m*k + k*n + m*n numbers, so each number can be reused many times -- if it is still in a
  fast cache (or a register) when it is needed again. Each loop above fixes one piece so it
  stays in one level of the memory hierarchy: the C tile in registers, the A block and the
  current B sliver in L2, the B panel in L3 (sizes derived from the caches: gemm_blocking.py).
* Packing copies a block into a small contiguous buffer in exactly the order the micro-kernel
  reads it. The copy costs O(block) but is reused O(block * other dimension) times, and
  afterwards every read is unit-stride, aligned, and never conflicts in the cache. Packing is
  also where strides are dealt with: transposed operands, sliced views with steps and batch
  strides are all read through their strides here, so no operand is ever copied as a whole.
* A transpose moves no data: op(A)[i, p] = A[p, i], so op(A) is just A with its two strides
  swapped. Packing reads through whichever strides it is given.
* Edge tiles (m or n not a multiple of MR or NR) are padded with zeros when packing, so the
  micro-kernel always computes a full tile; it only stores the part that lies inside C.
* Threads (OpenMP, with the GIL released) each take one band of rows of C (or of columns,
  when C is wider than tall) and run all five loops on it with their own buffers. A batch of
  many products is split by product instead. Small products run on one thread: waking
  threads costs microseconds.
* Thin products (a single output column, a batch of one row) cannot fill micro-tiles and
  give packing nothing to reuse; they take an unpacked "thin" kernel or dot products (Step 5).

The register micro-kernel itself is in ``gemm_microkernel.h``.
"""

import os
import warnings

import numpy as np

cimport numpy as cnp
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy, memset

from .transpose cimport transpose

from .gemm_blocking import machine_block_sizes
from .gemm_checks import check_gemm_args
from .gemm_checks import describe as _describe

cnp.import_array()


cdef extern from "gemm_microkernel.h" nogil:
    const char *SIMD_NAME "TINYGAN_SIMD_NAME"
    enum:  # compile-time constants (C macros): the tile shape and the build
        MR "TINYGAN_MR"
        NR_F32 "TINYGAN_NR_F32"
        NR_F64 "TINYGAN_NR_F64"
        HAVE_OPENMP "TINYGAN_HAVE_OPENMP"
        HAVE_NATIVE "TINYGAN_HAVE_NATIVE"
        THIN_KBLOCK "TINYGAN_THIN_KBLOCK"
    void *aligned_malloc "tinygan_aligned_malloc"(size_t bytes)
    void aligned_free "tinygan_aligned_free"(void *aligned)
    void microkernel_f32 "tinygan_microkernel_f32"(
        Py_ssize_t kc, const float *a_sliver, const float *b_sliver, float *c_tile,
        Py_ssize_t ldc, int rows, int cols, int accumulate)
    void microkernel_f64 "tinygan_microkernel_f64"(
        Py_ssize_t kc, const double *a_sliver, const double *b_sliver, double *c_tile,
        Py_ssize_t ldc, int rows, int cols, int accumulate)
    void microkernel_rows_f32 "tinygan_microkernel_rows_f32"(
        Py_ssize_t kc, const float *a, Py_ssize_t lda, const float *b_sliver, float *c_tile,
        Py_ssize_t ldc, int cols, int accumulate)
    void microkernel_rows_f64 "tinygan_microkernel_rows_f64"(
        Py_ssize_t kc, const double *a, Py_ssize_t lda, const double *b_sliver, double *c_tile,
        Py_ssize_t ldc, int cols, int accumulate)
    float dot_f32 "tinygan_dot_f32"(const float *x, const float *y, Py_ssize_t length)
    double dot_f64 "tinygan_dot_f64"(const double *x, const double *y, Py_ssize_t length)
    void thin_f32 "tinygan_thin_f32"(
        Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const float *coef, Py_ssize_t coef_rs,
        Py_ssize_t coef_cs, const float *src, Py_ssize_t src_rs, float *out, Py_ssize_t out_rs,
        Py_ssize_t out_cs)
    void thin_f64 "tinygan_thin_f64"(
        Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const double *coef,
        Py_ssize_t coef_rs, Py_ssize_t coef_cs, const double *src, Py_ssize_t src_rs,
        double *out, Py_ssize_t out_rs, Py_ssize_t out_cs)
    void thin_long_f32 "tinygan_thin_f32_long_k"(
        Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const float *coef, Py_ssize_t coef_rs,
        Py_ssize_t coef_cs, const float *src, Py_ssize_t src_rs, float *out, Py_ssize_t out_rs,
        Py_ssize_t out_cs)
    void thin_long_f64 "tinygan_thin_f64_long_k"(
        Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const double *coef,
        Py_ssize_t coef_rs, Py_ssize_t coef_cs, const double *src, Py_ssize_t src_rs,
        double *out, Py_ssize_t out_rs, Py_ssize_t out_cs)


# One source, two instantiations: every function below taking `real` is compiled once for float
# and once for double.
ctypedef fused real:
    float
    double


# A product with fewer multiply-adds than this per thread runs on fewer threads: below it,
# waking a thread costs more than the work it would take over.
cdef Py_ssize_t MIN_MULTIPLY_ADDS_PER_THREAD = 64 * 64 * 64
cdef Py_ssize_t MIN_ELEMENTS_PER_THIN_THREAD = 256 * 1024
# The macro-kernel walks C's tiles along rows when a product's whole sum is this short (see
# macro_kernel).
cdef Py_ssize_t SHORT_DEPTH = 128


cdef struct Matrix:
    # One operand as the kernel sees it: strides in elements (not bytes), after any transpose.
    # op(X)[t, i, j] is at data[t * batch_stride + i * row_stride + j * col_stride]; a 2-D
    # operand shared by a batch has batch_stride 0.
    Py_ssize_t row_stride
    Py_ssize_t col_stride
    Py_ssize_t batch_stride


# ---------------------------------------------------------------------------------------------
# Step 1: small helpers; the micro-kernel and the tile width, per dtype.
#
# The loops below count tiles and blocks (`for sliver in range(ceil_div(mc, MR))`) rather than
# stepping through indices (`range(0, mc, MR)`): Cython compiles a range to a plain C loop only
# when its step is a literal number.


cdef inline Py_ssize_t ceil_div(Py_ssize_t value, Py_ssize_t divisor) noexcept nogil:
    return (value + divisor - 1) // divisor


cdef inline Py_ssize_t round_up(Py_ssize_t value, Py_ssize_t multiple) noexcept nogil:
    return ceil_div(value, multiple) * multiple


# Overflow-checked size arithmetic, for every size that feeds an allocation (see gemm()). The
# compiler builtins test the carry of the one machine instruction; the portable versions test
# with a division.
cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define tinygan_size_mul_overflows(a, b, out) __builtin_mul_overflow((a), (b), (out))
    #define tinygan_size_add_overflows(a, b, out) __builtin_add_overflow((a), (b), (out))
    #else
    static int tinygan_size_mul_overflows(Py_ssize_t a, Py_ssize_t b, Py_ssize_t *out)
    {
        if (a < 0 || b < 0 || (a != 0 && b > PY_SSIZE_T_MAX / a)) return 1;
        *out = a * b;
        return 0;
    }
    static int tinygan_size_add_overflows(Py_ssize_t a, Py_ssize_t b, Py_ssize_t *out)
    {
        if (a < 0 || b < 0 || b > PY_SSIZE_T_MAX - a) return 1;
        *out = a + b;
        return 0;
    }
    #endif
    """
    bint size_mul_overflows "tinygan_size_mul_overflows"(Py_ssize_t a, Py_ssize_t b,
                                                         Py_ssize_t *out) noexcept nogil
    bint size_add_overflows "tinygan_size_add_overflows"(Py_ssize_t a, Py_ssize_t b,
                                                         Py_ssize_t *out) noexcept nogil
    const Py_ssize_t PY_SSIZE_T_MAX


cdef inline Py_ssize_t mul(Py_ssize_t a, Py_ssize_t b) except? -1:
    """a * b, or OverflowError when it does not fit in a Py_ssize_t."""
    cdef Py_ssize_t out
    if size_mul_overflows(a, b, &out):
        raise OverflowError("size overflow")
    return out


cdef inline Py_ssize_t add(Py_ssize_t a, Py_ssize_t b) except? -1:
    """a + b, or OverflowError when it does not fit in a Py_ssize_t."""
    cdef Py_ssize_t out
    if size_add_overflows(a, b, &out):
        raise OverflowError("size overflow")
    return out


cdef inline Py_ssize_t round_up_checked(Py_ssize_t value, Py_ssize_t multiple) except? -1:
    """round_up, or OverflowError: value + multiple - 1 can itself overflow."""
    return mul(add(value, multiple - 1) // multiple, multiple)


cdef inline Py_ssize_t tile_cols(const real *typed) noexcept nogil:
    """NR, the micro-tile's width: one register row holds twice as many floats as doubles."""
    if real is float:
        return NR_F32
    else:
        return NR_F64


# The cache blocks: KC (depth), MC (rows of A) and NC (columns of B), derived when this module is
# imported from the caches this CPU reports (gemm_blocking.py says how, and why). MC and NC are
# counted in elements, so they differ per dtype; KC counts steps of a sliver that is 256 bytes
# wide for both dtypes.
cdef Py_ssize_t KC = 384
cdef Py_ssize_t MC_F32 = 120, MC_F64 = 120
cdef Py_ssize_t NC_F32 = 4096, NC_F64 = 4096


cdef inline Py_ssize_t block_rows(const real *typed) noexcept nogil:
    """MC for this dtype."""
    if real is float:
        return MC_F32
    else:
        return MC_F64


cdef inline Py_ssize_t block_cols(const real *typed) noexcept nogil:
    """NC for this dtype."""
    if real is float:
        return NC_F32
    else:
        return NC_F64


cdef inline void microkernel(Py_ssize_t kc, const real *a_sliver, const real *b_sliver,
                             real *c_tile, Py_ssize_t ldc, int rows, int cols,
                             int accumulate) noexcept nogil:
    if real is float:
        microkernel_f32(kc, a_sliver, b_sliver, c_tile, ldc, rows, cols, accumulate)
    else:
        microkernel_f64(kc, a_sliver, b_sliver, c_tile, ldc, rows, cols, accumulate)


cdef inline void microkernel_rows(Py_ssize_t kc, const real *a, Py_ssize_t lda,
                                  const real *b_sliver, real *c_tile, Py_ssize_t ldc, int cols,
                                  int accumulate) noexcept nogil:
    """The micro-kernel on MR whole rows of a row-major A, read in place (row stride lda)."""
    if real is float:
        microkernel_rows_f32(kc, a, lda, b_sliver, c_tile, ldc, cols, accumulate)
    else:
        microkernel_rows_f64(kc, a, lda, b_sliver, c_tile, ldc, cols, accumulate)


# ---------------------------------------------------------------------------------------------
# Step 2: packing. Copy a block of op(A) or op(B), read through any strides, into the order in
# which the micro-kernel will read it, padding the last sliver with zeros.


cdef void pack_a_sliver(const real *a, Matrix op_a, Py_ssize_t rows, Py_ssize_t kc,
                        real *sliver) noexcept nogil:
    """sliver[p * MR + r] = op(A)[r, p] for r < rows, p < kc; zeros for rows <= r < MR.

    `a` points at the sliver's first element. The source is walked in whichever order reads
    memory with unit stride when there is one: along rows when A is row-major.
    """
    cdef Py_ssize_t r, p
    cdef const real *src
    if rows < MR:
        memset(sliver, 0, MR * kc * sizeof(real))
    if op_a.col_stride == 1:  # each row of the sliver is contiguous in memory
        for r in range(rows):
            src = a + r * op_a.row_stride
            for p in range(kc):
                sliver[p * MR + r] = src[p]
    elif op_a.row_stride == 1 and rows == MR:  # each column is contiguous (a transposed A):
        # MR values in a row, a fixed-size copy (measured on the DCGAN generator's Dense weight
        # gradient, g^T x with g 64 x 6272 and x 64 x 100, one thread: the whole product 1.0
        # ms with the strided loop below, 0.75 ms this way)
        for p in range(kc):
            memcpy(&sliver[p * MR], a + p * op_a.col_stride, MR * sizeof(real))
    else:  # neither, or a last sliver of a transposed A: walk column by column
        for p in range(kc):
            src = a + p * op_a.col_stride
            for r in range(rows):
                sliver[p * MR + r] = src[r * op_a.row_stride]


cdef void pack_b_sliver(const real *b, Matrix op_b, Py_ssize_t kc, Py_ssize_t cols,
                        real *sliver) noexcept nogil:
    """sliver[p * NR + j] = op(B)[p, j] for p < kc, j < cols; zeros for cols <= j < NR."""
    cdef Py_ssize_t nr = tile_cols(sliver)
    cdef Py_ssize_t j, p, step, first, last
    cdef const real *src
    if cols < nr:
        memset(sliver, 0, nr * kc * sizeof(real))
    if op_b.row_stride == 1 and op_b.col_stride != 1:  # columns contiguous (a transposed B)
        # This is a transpose: each column of B becomes a stride-NR column of the sliver. Going
        # down one whole column at a time would write kc different cache lines per column (96
        # KiB for kc = 384: more than L1 holds), and the next column would find them evicted.
        # So go in steps of 16 rows: the 16 lines being written stay in L1 while every column
        # visits them, and each column's 16 values are one cache line of B.
        for step in range(ceil_div(kc, 16)):
            first = step * 16
            last = min(first + 16, kc)
            for j in range(cols):
                src = b + j * op_b.col_stride
                for p in range(first, last):
                    sliver[p * nr + j] = src[p]
    else:  # rows contiguous (the usual row-major B), or neither
        for p in range(kc):
            src = b + p * op_b.row_stride
            for j in range(cols):
                sliver[p * nr + j] = src[j * op_b.col_stride]


cdef void pack_a_block(const real *a, Matrix op_a, Py_ssize_t mc, Py_ssize_t kc,
                       real *a_pack) noexcept nogil:
    """Pack op(A)[0:mc, 0:kc] (from `a`) as consecutive MR x kc slivers."""
    cdef Py_ssize_t sliver, i
    for sliver in range(ceil_div(mc, MR)):
        i = sliver * MR
        pack_a_sliver(a + i * op_a.row_stride, op_a, min(MR, mc - i), kc, a_pack + i * kc)


cdef void pack_b_panel(const real *b, Matrix op_b, Py_ssize_t kc, Py_ssize_t nc,
                       real *b_pack) noexcept nogil:
    """Pack op(B)[0:kc, 0:nc] (from `b`) as consecutive kc x NR slivers."""
    cdef Py_ssize_t nr = tile_cols(b_pack)
    cdef Py_ssize_t sliver, j
    for sliver in range(ceil_div(nc, nr)):
        j = sliver * nr
        pack_b_sliver(b + j * op_b.col_stride, op_b, kc, min(nr, nc - j), b_pack + j * kc)


# ---------------------------------------------------------------------------------------------
# Step 3: the macro-kernel, loops 2 and 1: every micro-tile of one packed A block times one
# packed B panel. The B sliver of the outer loop is reused by every A sliver of the inner loop.


cdef void macro_kernel(const real *a_pack, const real *b_pack, real *c, Py_ssize_t ldc,
                       Py_ssize_t mc, Py_ssize_t nc, Py_ssize_t kc,
                       int accumulate) noexcept nogil:
    cdef Py_ssize_t nr = tile_cols(a_pack)
    cdef Py_ssize_t a_slivers = ceil_div(mc, MR), b_slivers = ceil_div(nc, nr)
    cdef Py_ssize_t outer, inner, a_sliver, b_sliver, i, j
    # Usually down columns of tiles: the B sliver of the outer loop stays in L1 while every A
    # sliver uses it. But a short sum written into C once (the first and only KC slice) is
    # paced by C's traffic, not by the FMAs: then along rows of tiles, so that C is written
    # row after row as streams, where down the columns every tile opens MR new rows far apart.
    # Measured on a Dense layer's weight gradient, 1024 x 64 x 6272 (bench_gemm.py, one
    # thread): 11.2 ms down the columns, 6.0 ms along the rows (OpenBLAS 5.3).
    cdef bint along_rows = kc <= SHORT_DEPTH and not accumulate
    for outer in range(a_slivers if along_rows else b_slivers):
        for inner in range(b_slivers if along_rows else a_slivers):
            a_sliver, b_sliver = (outer, inner) if along_rows else (inner, outer)
            i = a_sliver * MR
            j = b_sliver * nr
            microkernel(kc, a_pack + i * kc, b_pack + j * kc, c + i * ldc + j, ldc,
                        <int>min(MR, mc - i), <int>min(nr, nc - j), accumulate)


cdef void macro_kernel_in_place(const real *a, Matrix op_a, const real *b_pack, real *c,
                                Py_ssize_t ldc, Py_ssize_t mc, Py_ssize_t nc, Py_ssize_t kc,
                                int accumulate, real *a_pack) noexcept nogil:
    """macro_kernel for a C of at most NR columns, with A's rows contiguous (op_a.col_stride
    == 1), from `a` = op(A)[ic, pc]: the A slivers are read in place, not packed.

    Packing A pays for itself by reuse: each packed sliver is read once per B sliver. With one
    B sliver there is no reuse, and the copy is pure cost (one more pass over A, which in
    this case is the big operand: C^T = W @ x^T of a Dense layer on a batch of <= NR, Step 7).
    Only a last sliver of fewer than MR rows is packed, with its zero padding.
    """
    cdef Py_ssize_t a_sliver, i, rows
    for a_sliver in range(ceil_div(mc, MR)):
        i = a_sliver * MR
        rows = min(MR, mc - i)
        if rows == MR:
            microkernel_rows(kc, a + i * op_a.row_stride, op_a.row_stride, b_pack, c + i * ldc,
                             ldc, <int>nc, accumulate)
        else:
            pack_a_sliver(a + i * op_a.row_stride, op_a, rows, kc, a_pack)
            microkernel(kc, a_pack, b_pack, c + i * ldc, ldc, <int>rows, <int>nc, accumulate)


cdef void macro_kernel_one_block(const real *a_pack, const real *b, Matrix op_b, real *c,
                                 Py_ssize_t ldc, Py_ssize_t mc, Py_ssize_t nc, Py_ssize_t kc,
                                 int accumulate, real *b_pack) noexcept nogil:
    """macro_kernel for a C with one A block (m <= MC), from `b` = op(B)[pc, jc]: each B sliver
    is packed just before its micro-kernel calls, into the one-sliver buffer `b_pack`.

    A packed B panel pays for itself by reuse: every A block of the column panel reads it.
    With one A block, the panel (kc x nc, megabytes: more than L2 holds) would be written to
    memory and read back once, a second and third pass over B, which is then the big operand
    (a Dense layer's input gradient on a batch: g @ W, g 64 x 1024, W 1024 x 6272). One sliver
    at a time stays in cache between its packing and its use. Measured (interleaved medians,
    one thread): 64 x 1024 x 6272 6.5 -> 5.7 ms, 500 x 300 x 1000 1.83 -> 1.73 ms; two threads
    3.5 -> 3.1 ms and 1.23 -> 1.04 ms. (Reading B's rows in place instead, without packing,
    was slower: the rows are far apart, 4 KiB for a 1024-wide float32 B, and evict each other
    from the caches: 128 x 1024 x 1024 took 1.2-1.3x as long.)
    """
    cdef Py_ssize_t nr = tile_cols(a_pack)
    cdef Py_ssize_t b_sliver, a_sliver, i, j, cols
    for b_sliver in range(ceil_div(nc, nr)):
        j = b_sliver * nr
        cols = min(nr, nc - j)
        pack_b_sliver(b + j * op_b.col_stride, op_b, kc, cols, b_pack)
        for a_sliver in range(ceil_div(mc, MR)):
            i = a_sliver * MR
            microkernel(kc, a_pack + i * kc, b_pack, c + i * ldc + j, ldc,
                        <int>min(MR, mc - i), <int>cols, accumulate)


# ---------------------------------------------------------------------------------------------
# Step 4: loops 5, 4 and 3 for one product, on one thread or split across threads.


cdef void gemm_one_thread(const real *a, Matrix op_a, const real *b, Matrix op_b, real *c,
                          Py_ssize_t ldc, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                          real *a_pack, real *b_pack) noexcept nogil:
    """C = op(A) @ op(B) on the calling thread; C is m x n, row-major with row stride ldc."""
    cdef Py_ssize_t column_panel, depth_slice, row_block, jc, pc, ic, nc, kc, mc
    cdef Py_ssize_t MC = block_rows(a), NC = block_cols(a)
    cdef bint in_place = n <= tile_cols(a) and op_a.col_stride == 1  # macro_kernel_in_place
    # macro_kernel_one_block; not for a short k, which macro_kernel walks along C's rows
    cdef bint one_block = m <= MC and k > SHORT_DEPTH and not in_place
    for column_panel in range(ceil_div(n, NC)):
        jc = column_panel * NC
        nc = min(NC, n - jc)
        for depth_slice in range(ceil_div(k, KC)):
            pc = depth_slice * KC
            kc = min(KC, k - pc)
            if one_block:  # B packed one sliver at a time, as it is used
                pack_a_block(a + pc * op_a.col_stride, op_a, m, kc, a_pack)
                macro_kernel_one_block(a_pack, b + pc * op_b.row_stride + jc * op_b.col_stride,
                                       op_b, c + jc, ldc, m, nc, kc, pc > 0, b_pack)
                continue
            pack_b_panel(b + pc * op_b.row_stride + jc * op_b.col_stride, op_b, kc, nc, b_pack)
            for row_block in range(ceil_div(m, MC)):
                ic = row_block * MC
                mc = min(MC, m - ic)
                # The first KC slice writes C; later slices add to it (so C needs no zeroing).
                if in_place:
                    macro_kernel_in_place(a + ic * op_a.row_stride + pc, op_a, b_pack,
                                          c + ic * ldc + jc, ldc, mc, nc, kc, pc > 0, a_pack)
                    continue
                pack_a_block(a + ic * op_a.row_stride + pc * op_a.col_stride, op_a, mc, kc,
                             a_pack)
                macro_kernel(a_pack, b_pack, c + ic * ldc + jc, ldc, mc, nc, kc, pc > 0)


cdef void gemm_in_bands(const real *a, Matrix op_a, const real *b, Matrix op_b, real *c,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, real *a_packs,
                        Py_ssize_t a_pack_size, real *b_packs, Py_ssize_t b_pack_size,
                        int num_threads) noexcept nogil:
    """One product on several threads: C is cut into one band per thread, and each thread
    computes its band with gemm_one_thread and its own packing buffers.

    Bands of rows (a multiple of MR each) when C is taller than wide, else bands of columns (a
    multiple of NR). Each thread packs the part of B (or A) that all bands share, so a little
    packing is done twice -- but the threads never wait for each other until the very end, and
    no thread can disturb another's buffers. Waiting is what hurts: on a busy machine a thread
    that must wait for a descheduled partner can lose milliseconds.
    """
    cdef bint split_rows = m >= n
    cdef Py_ssize_t band = (round_up(ceil_div(m, num_threads), MR) if split_rows
                            else round_up(ceil_div(n, num_threads), tile_cols(a)))
    cdef Py_ssize_t part, first
    cdef int thread
    for part in prange(ceil_div(m if split_rows else n, band), num_threads=num_threads,
                       schedule="static"):
        thread = threadid()
        first = part * band
        if split_rows:
            gemm_one_thread(a + first * op_a.row_stride, op_a, b, op_b, c + first * n, n,
                            min(band, m - first), n, k, a_packs + thread * a_pack_size,
                            b_packs + thread * b_pack_size)
        else:
            gemm_one_thread(a, op_a, b + first * op_b.col_stride, op_b, c + first, n,
                            m, min(band, n - first), k, a_packs + thread * a_pack_size,
                            b_packs + thread * b_pack_size)


# ---------------------------------------------------------------------------------------------
# Step 5: thin products. Packing pays for itself by reuse: a packed B panel is reused by all m
# rows, a packed A block by all n columns. When m or n is tiny (a layer with one output, a
# batch of one) there is no reuse, and an MR x NR tile would be mostly zero padding. The thin
# kernel (gemm_microkernel.h, section 6) reads the long operand in place along its contiguous
# axis, keeping the few rows of the result in registers; dot products cover the layouts where
# that axis is not contiguous. Which one is chosen, and why, is in gemm() (Step 7).

cdef enum Path:
    BLOCKED = 0  # the five loops above
    DOT = 1      # C[i, j] = dot(row i of A, column j of B): thin C whose short side is not
                 # contiguous, with a long inner dimension (k >= 32)
    THIN_SHORT = 2   # out = C, coef = op(A), src = op(B): few rows of C (or a tiny k), B's
                     # rows contiguous
    THIN_NARROW = 3  # out = C^T, coef = op(B)^T, src = op(A)^T: few columns of C, A's columns
                     # contiguous (a transposed A, e.g. x.T @ grad)
    THIN_SHORT_PACKED = 4   # THIN_SHORT after copying op(B) row by row into the workspace
    THIN_NARROW_PACKED = 5  # THIN_NARROW after copying op(A)^T row by row into the workspace


# C is "thin" when its short side has at most this many rows/columns: the thin kernel then
# re-reads the long operand at most twice (in groups of 8 rows), from cache.
cdef Py_ssize_t THIN_SIDE = 16
# With an inner dimension this short (k <= THIN_DEPTH) the thin kernel beats the blocked one at
# any m and n: packing, and loading/storing each C tile, would cost more than the k FMAs.
cdef Py_ssize_t THIN_DEPTH = 8


cdef inline void thin(Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const real *coef,
                      Py_ssize_t coef_rs, Py_ssize_t coef_cs, const real *src,
                      Py_ssize_t src_rs, real *out, Py_ssize_t out_rs,
                      Py_ssize_t out_cs) noexcept nogil:
    if k > THIN_KBLOCK:  # a long sum: in blocks, added pairwise (gemm_microkernel.h, section 6)
        if real is float:
            thin_long_f32(rows, k, length, coef, coef_rs, coef_cs, src, src_rs, out, out_rs,
                          out_cs)
        else:
            thin_long_f64(rows, k, length, coef, coef_rs, coef_cs, src, src_rs, out, out_rs,
                          out_cs)
    elif real is float:
        thin_f32(rows, k, length, coef, coef_rs, coef_cs, src, src_rs, out, out_rs, out_cs)
    else:
        thin_f64(rows, k, length, coef, coef_rs, coef_cs, src, src_rs, out, out_rs, out_cs)


cdef void thin_product(Py_ssize_t rows, Py_ssize_t k, Py_ssize_t length, const real *coef,
                       Py_ssize_t coef_rs, Py_ssize_t coef_cs, const real *src,
                       Py_ssize_t src_rs, real *out, Py_ssize_t out_rs, Py_ssize_t out_cs,
                       int num_threads) noexcept nogil:
    """out[r, l] = sum_p coef[r, p] * src[p, l] (see gemm_microkernel.h, section 6).

    Threads split the long side l into equal chunks of whole cache lines: each thread reads
    its own columns of src and writes its own columns of out, so nobody waits for anybody.
    """
    cdef Py_ssize_t chunk, part, first
    if num_threads == 1:
        thin(rows, k, length, coef, coef_rs, coef_cs, src, src_rs, out, out_rs, out_cs)
        return
    chunk = round_up(ceil_div(length, num_threads), 64 // sizeof(real))
    for part in prange(ceil_div(length, chunk), num_threads=num_threads, schedule="static"):
        first = part * chunk
        thin(rows, k, min(chunk, length - first), coef, coef_rs, coef_cs, src + first, src_rs,
             out + first * out_cs, out_rs, out_cs)


cdef void gemm_thin_path(const real *a, Matrix op_a, const real *b, Matrix op_b, real *c,
                         Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, Path path, real *scratch,
                         int num_threads) noexcept nogil:
    """One thin product. C = op(A) @ op(B) is computed as

    - THIN_SHORT:  C   = op(A)   @ op(B):   rows of C from rows of B (B row-major);
    - THIN_NARROW: C^T = op(B)^T @ op(A)^T: rows of C^T (columns of C) from columns of A,
      written into C through swapped strides (C^T[j, i] is at c + i * n + j). No transpose
      is ever materialised.

    The _PACKED variants first copy the long operand into `scratch` in the layout the thin
    kernel reads (contiguous rows): k * n or k * m elements, cheap next to the k * m * n
    multiply-adds because they are only chosen for short or narrow C.
    """
    cdef Py_ssize_t i, j, p
    if path == THIN_SHORT_PACKED:
        for p in range(k):
            for j in range(n):
                scratch[p * n + j] = b[p * op_b.row_stride + j * op_b.col_stride]
        b = scratch
        op_b.row_stride, op_b.col_stride = n, 1
        path = THIN_SHORT
    elif path == THIN_NARROW_PACKED:
        for i in range(m):  # op(A)^T[p, i] = op(A)[i, p]: walk A along its rows
            for p in range(k):
                scratch[p * m + i] = a[i * op_a.row_stride + p * op_a.col_stride]
        a = scratch
        op_a.row_stride, op_a.col_stride = 1, m
        path = THIN_NARROW
    if path == THIN_SHORT:
        thin_product(m, k, n, a, op_a.row_stride, op_a.col_stride, b, op_b.row_stride,
                     c, n, 1, num_threads)
    else:
        thin_product(n, k, m, b, op_b.col_stride, op_b.row_stride, a, op_a.col_stride,
                     c, 1, n, num_threads)


cdef inline real dot(const real *x, const real *y, Py_ssize_t length) noexcept nogil:
    if real is float:
        return dot_f32(x, y, length)
    else:
        return dot_f64(x, y, length)


cdef void dot_path_row(const real *a, Matrix op_a, const real *b_columns,
                       Py_ssize_t column_step, real *c_row, Py_ssize_t first_column,
                       Py_ssize_t end_column, Py_ssize_t k, real *row_buffer) noexcept nogil:
    """c_row[j] = dot(op(A)[i, :], op(B)[:, j]) for one row i of C and first <= j < end.

    `a` points at op(A)[i, 0]. Column j of B is contiguous at b_columns + j * column_step.
    The row of A is used as it is when contiguous, else first copied into row_buffer.
    """
    cdef Py_ssize_t j, p
    if op_a.col_stride != 1:
        for p in range(k):
            row_buffer[p] = a[p * op_a.col_stride]
        a = row_buffer
    for j in range(first_column, end_column):
        c_row[j] = dot(a, b_columns + j * column_step, k)


cdef void gemm_dot_path(const real *a, Matrix op_a, const real *b, Matrix op_b, real *c,
                        Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, real *row_buffers,
                        Py_ssize_t row_buffer_size, real *b_columns,
                        int num_threads) noexcept nogil:
    """Every entry of C as one dot product; threads share out the rows of C (or, when there
    are fewer rows than threads, the columns of each row).

    The columns of op(B) must be contiguous for the dot products. They are when B is
    transposed; otherwise they are copied into b_columns first (k * n elements: cheap, since
    this path is mostly chosen when n is small).
    """
    cdef Py_ssize_t column_step, i, j, p, part
    cdef Py_ssize_t chunk = ceil_div(n, num_threads)
    if op_b.row_stride == 1:
        column_step = op_b.col_stride
    else:
        column_step = k
        for j in range(n):
            for p in range(k):
                b_columns[j * k + p] = b[p * op_b.row_stride + j * op_b.col_stride]
        b = b_columns
    if num_threads == 1:
        for i in range(m):
            dot_path_row(a + i * op_a.row_stride, op_a, b, column_step, c + i * n, 0, n, k,
                         row_buffers)
    elif m >= num_threads:
        for i in prange(m, num_threads=num_threads, schedule="static"):
            dot_path_row(a + i * op_a.row_stride, op_a, b, column_step, c + i * n, 0, n, k,
                         row_buffers + threadid() * row_buffer_size)
    else:
        for i in range(m):
            for part in prange(num_threads, num_threads=num_threads, schedule="static"):
                dot_path_row(a + i * op_a.row_stride, op_a, b, column_step, c + i * n,
                             part * chunk, min(n, (part + 1) * chunk), k,
                             row_buffers + threadid() * row_buffer_size)


# ---------------------------------------------------------------------------------------------
# Step 6: a batch of products. Many blocked products: one per thread, no waiting on each
# other. Otherwise: one product after the other, each split across the threads.


cdef void gemm_batch(const real *a, Matrix op_a, const real *b, Matrix op_b, real *c,
                     Py_ssize_t batch, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, Path path,
                     real *a_packs, Py_ssize_t a_pack_size, real *b_packs,
                     Py_ssize_t b_pack_size, int num_threads) noexcept nogil:
    cdef Py_ssize_t t
    cdef int thread
    if path == DOT:
        for t in range(batch):
            gemm_dot_path(a + t * op_a.batch_stride, op_a, b + t * op_b.batch_stride, op_b,
                          c + t * m * n, m, n, k, a_packs, a_pack_size, b_packs, num_threads)
    elif path != BLOCKED:
        for t in range(batch):
            gemm_thin_path(a + t * op_a.batch_stride, op_a, b + t * op_b.batch_stride, op_b,
                           c + t * m * n, m, n, k, path, a_packs, num_threads)
    elif num_threads == 1:
        for t in range(batch):
            gemm_one_thread(a + t * op_a.batch_stride, op_a, b + t * op_b.batch_stride, op_b,
                            c + t * m * n, n, m, n, k, a_packs, b_packs)
    elif batch % num_threads == 0 or batch >= 4 * num_threads:
        for t in prange(batch, num_threads=num_threads, schedule="static"):
            thread = threadid()
            gemm_one_thread(a + t * op_a.batch_stride, op_a, b + t * op_b.batch_stride, op_b,
                            c + t * m * n, n, m, n, k, a_packs + thread * a_pack_size,
                            b_packs + thread * b_pack_size)
    else:
        for t in range(batch):
            gemm_in_bands(a + t * op_a.batch_stride, op_a, b + t * op_b.batch_stride, op_b,
                          c + t * m * n, m, n, k, a_packs, a_pack_size, b_packs, b_pack_size,
                          num_threads)


# ---------------------------------------------------------------------------------------------
# Step 7: the Python entry point. Check, describe the operands, allocate, release the GIL.


cdef Matrix describe(cnp.ndarray x, bint transpose):
    """The strides of op(X) in elements; the batch stride is 0 for a 2-D (shared) operand."""
    cdef int ndim = cnp.PyArray_NDIM(x)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(x)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(x)
    cdef Matrix op_x
    op_x.row_stride = strides[ndim - 2] // itemsize
    op_x.col_stride = strides[ndim - 1] // itemsize
    op_x.batch_stride = strides[0] // itemsize if ndim == 3 else 0
    if transpose:
        op_x.row_stride, op_x.col_stride = op_x.col_stride, op_x.row_stride
    return op_x


cdef cnp.ndarray readable(cnp.ndarray x):
    """`x` itself when the kernel can read it through its strides, else a contiguous copy.

    The kernel reads elements at data + i * stride, so the data pointer and every stride must
    be whole multiples of the item size. NumPy views almost always are (negative strides are
    fine too); only hand-made views (np.lib.stride_tricks, unaligned buffers) need the copy.
    """
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(x)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(x)
    cdef int axis
    if (<size_t>cnp.PyArray_DATA(x)) % itemsize != 0:
        return np.ascontiguousarray(x)
    for axis in range(cnp.PyArray_NDIM(x)):
        if strides[axis] % itemsize != 0:
            return np.ascontiguousarray(x)
    return x


cdef int _num_threads = 1


# Products with a longer inner dimension than this are split in two (see gemm): 8 KC slices
# (set with the block sizes, at the end of this file).
SPLIT_DEPTH = 8 * 384


def _split_along_k(a, b, transpose_a, transpose_b, k):
    """op(A) @ op(B) as op(A)[:, :h] @ op(B)[:h] + op(A)[:, h:] @ op(B)[h:], h a multiple of KC."""
    h = _round_up(k // 2, KC)
    a1, a2 = (a[..., :h, :], a[..., h:, :]) if transpose_a else (a[..., :h], a[..., h:])
    b1, b2 = (b[..., :h], b[..., h:]) if transpose_b else (b[..., :h, :], b[..., h:, :])
    c = gemm(a1, b1, transpose_a, transpose_b)
    c += gemm(a2, b2, transpose_a, transpose_b)
    return c


# Bands of this many rows of C^T per task of _transposed (a whole number of 16-row blocks).
cdef Py_ssize_t TRANSPOSE_BAND = 256


cdef void transpose_bands(const real *src, real *out, const Py_ssize_t *at, Py_ssize_t batch,
                          Py_ssize_t n, Py_ssize_t m, Py_ssize_t band, int threads) noexcept nogil:
    """out[b, j, i] = src[b, i, j] (i < n, j < m), in bands of `band` rows of src per task."""
    cdef Py_ssize_t bands = ceil_div(n, band), task, b, r0
    for task in prange(batch * bands, schedule="static", num_threads=threads):
        b = task // bands
        r0 = (task % bands) * band
        transpose(src + (b * n + r0) * m, m, out + b * m * n + r0, at, min(band, n - r0), m)


def _transposed(c_t):
    """c_t (n x m, or a batch of them, C-contiguous) as a new C-contiguous (m x n) array.

    transpose.h's blocked transpose, bands of TRANSPOSE_BAND rows of c_t in parallel. Measured
    on the DCGAN generator's Dense forward pass, C^T 6272 x 64 float32 (medians of 200, three
    runs): 0.18 ms on one thread, 0.075 ms on two; NumPy's ascontiguousarray(c_t.T), which
    runs on one thread, 0.51-0.56 ms (more than the product itself, 0.45 ms on one thread).
    """
    shape = c_t.shape  # (wraparound is off in this module: no negative indexes)
    cdef cnp.ndarray src = c_t.reshape(-1, shape[len(shape) - 2], shape[len(shape) - 1])
    cdef Py_ssize_t batch = src.shape[0], n = src.shape[1], m = src.shape[2]
    lead = shape[:len(shape) - 2]
    cdef cnp.ndarray out = np.empty((batch, m, n), dtype=c_t.dtype)
    cdef int threads = <int>max(1, min(_num_threads, batch * ceil_div(n, TRANSPOSE_BAND),
                                       2 * src.size // MIN_ELEMENTS_PER_THIN_THREAD))
    cdef const Py_ssize_t[::1] at = np.arange(m, dtype=np.intp) * n
    if src.size == 0:
        return out.reshape(*lead, m, n)
    if cnp.PyArray_ITEMSIZE(src) == 4:
        transpose_bands(<float *>cnp.PyArray_DATA(src), <float *>cnp.PyArray_DATA(out), &at[0],
                        batch, n, m, TRANSPOSE_BAND, threads)
    else:
        transpose_bands(<double *>cnp.PyArray_DATA(src), <double *>cnp.PyArray_DATA(out),
                        &at[0], batch, n, m, TRANSPOSE_BAND, threads)
    return out.reshape(*lead, m, n)


def _round_up(value, multiple):
    """round_up on Python integers (for _split_along_k)."""
    return -(-value // multiple) * multiple


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) as a new C-contiguous array; the same contract as gemm_numpy.gemm.

    ``a`` and ``b`` are float32 or float64 arrays of the same dtype, 2-D ``(m, k) @ (k, n)`` or
    batched 3-D (a 2-D operand is shared by the batch), with any strides; ``transpose_a`` /
    ``transpose_b`` swap the last two axes of that operand first. Raises TypeError/ValueError,
    before touching any memory, when the operands do not fit together.
    """
    m, k, n, out_shape = check_gemm_args(a, b, transpose_a, transpose_b)
    cdef cnp.ndarray a_array = readable(a)
    cdef cnp.ndarray b_array = readable(b)
    cdef cnp.ndarray c_array = np.empty(out_shape, dtype=a_array.dtype)
    cdef Py_ssize_t batch = out_shape[0] if len(out_shape) == 3 else 1
    if cnp.PyArray_SIZE(c_array) == 0:
        return c_array
    if k == 0:  # an empty sum is zero
        c_array.fill(0)
        return c_array

    cdef Matrix op_a = describe(a_array, transpose_a)
    cdef Matrix op_b = describe(b_array, transpose_b)
    cdef Py_ssize_t rows = m, cols = n, depth = k
    cdef bint is_float32 = cnp.PyArray_ITEMSIZE(a_array) == 4
    cdef Py_ssize_t nr = NR_F32 if is_float32 else NR_F64

    # Threads: no more than there is work for (MIN_MULTIPLY_ADDS_PER_THREAD each). Every size
    # product in this function is overflow-checked (mul, add, round_up_checked: Step 1): with
    # zero-stride (broadcast) operands each of m, n, k can be near 2**63 with no memory behind
    # it, and a plain product of them in Py_ssize_t would silently wrap around. A product that
    # overflows is only ever "more work than any thread count": saturate it.
    cdef Py_ssize_t work
    if size_mul_overflows(batch, rows, &work) or size_mul_overflows(work, cols, &work) or \
            size_mul_overflows(work, depth, &work):
        work = PY_SSIZE_T_MAX
    cdef int num_threads = <int>max(1, min(_num_threads, work // MIN_MULTIPLY_ADDS_PER_THREAD))

    # Which loops: blocked, unless C is too thin to fill micro-tiles (see Step 5). A thin C
    # goes to the thin kernel, which reads its long operand in place along contiguous rows; it
    # only needs to know which operand is long, and which of its axes is contiguous:
    #   few rows of C    -> the long operand is B: THIN_SHORT reads B's rows;
    #   few columns of C -> the long operand is A: THIN_NARROW reads A's columns (C^T = B^T A^T).
    # When that axis is not contiguous, a long k goes to the dot products (which read along
    # the other axis), and a short k copies the operand first (the copy is cheap then).
    cdef Path path = BLOCKED
    cdef bint narrow = cols <= THIN_SIDE and cols < rows
    cdef bint short = rows <= THIN_SIDE and rows <= cols
    if narrow:
        if op_a.row_stride == 1:
            path = THIN_NARROW
        elif depth >= 32:
            path = DOT
        else:
            path = THIN_NARROW_PACKED
    elif short:
        if op_b.col_stride == 1:
            path = THIN_SHORT
        elif depth >= 32:
            path = DOT
        else:
            path = THIN_SHORT_PACKED
    elif depth <= THIN_DEPTH:
        # a short k, big m and n: one pass of FMAs per C element, nothing for packing to save
        if op_b.col_stride == 1:
            path = THIN_SHORT
        elif op_a.row_stride == 1:
            path = THIN_NARROW
        else:
            path = THIN_SHORT_PACKED

    # A short C times a transposed B, as in a Dense layer's forward pass on a batch: x (m x k)
    # @ W^T with W (n x k) row-major and m <= NR (a batch of up to 64 float32). Packing op(B) =
    # W^T would be a transposing copy of the big operand, element by element (pack_b_sliver),
    # for only m / MR micro-kernel calls per packed sliver. Computed as C^T = W @ x^T instead,
    # W is the A operand with contiguous rows and C^T has at most NR columns, so W is read
    # in place and never copied (macro_kernel_in_place); only x^T is packed, and the C^T of m x
    # n values is transposed back. Measured on the image recipe's Dense layers (batch 64, 6272
    # <-> 1024 units; benchmarks/bench_gemm.py, one thread): 13.1 -> 7.2 ms (6272 -> 1024) and
    # 24.3 -> 5.8 ms (1024 -> 6272); OpenBLAS 8.5 and 11.6 ms.
    if (path == BLOCKED and rows <= nr and cols > rows and op_b.row_stride == 1
            and op_b.col_stride != 1):
        return _transposed(gemm(b, a, not transpose_b, not transpose_a))

    # A long k on the blocked path: C accumulates one KC slice after the other, so each entry
    # of C is a sum of k / KC slice sums added in sequence, and its rounding error grows with
    # k / KC. Past SPLIT_DEPTH the product is split in two along k, each half computed (and split
    # again) by this same function, and the halves added: pairwise summation, whose error grows
    # with log2(k) instead. The halves are views (no copy); C costs one addition per split.
    if path == BLOCKED and k > SPLIT_DEPTH:
        return _split_along_k(a, b, transpose_a, transpose_b, k)

    # The thin kernel does about one FMA per element it streams: it is bound by memory, not by
    # arithmetic, so what a thread should get is a share of the elements read and written
    # (A, B and C), not of the multiply-adds. Waking a thread costs tens of microseconds
    # (measured: 700x3 @ 3x300 took 35 us on one thread, 75 us on two), so a thread gets at
    # least MIN_ELEMENTS_PER_THIN_THREAD of them (1 MiB of float32).
    cdef Py_ssize_t streamed
    if path != BLOCKED and path != DOT:
        # batch * (m*n + m*k + k*n), saturating (see above); each product is the size of an
        # array that exists (C, op(A), op(B)), so only the sums and the batch can overflow
        if (size_add_overflows(rows * cols, rows * depth, &streamed)
                or size_add_overflows(streamed, depth * cols, &streamed)
                or size_mul_overflows(streamed, batch, &streamed)):
            streamed = PY_SSIZE_T_MAX
        num_threads = <int>max(1, min(_num_threads, streamed // MIN_ELEMENTS_PER_THIN_THREAD))

    # Workspace, each part a whole number of 64-byte lines so that every part starts aligned.
    # Blocked: one A block per thread, and one B panel per thread (batch-parallel) or a shared
    # one. Dot: one row of A per thread, and the columns of B. Thin: the copied operand, if any.
    # This is the check that protects memory: every size is computed with overflow-checked
    # arithmetic, because a size that wrapped around would allocate a few bytes that the loops
    # then write far past (k = 768614336404564656, float64, 2 threads: 3 k * 8 = 2**64 + 128).
    cdef Py_ssize_t kc = min(KC, depth)
    cdef Py_ssize_t MC = MC_F32 if is_float32 else MC_F64
    cdef Py_ssize_t NC = NC_F32 if is_float32 else NC_F64
    cdef Py_ssize_t a_pack_size = 0, b_pack_size = 0, itemsize = cnp.PyArray_ITEMSIZE(a_array)
    cdef Py_ssize_t a_pack_count = 1 if path >= THIN_SHORT else num_threads
    cdef Py_ssize_t b_pack_count = num_threads
    cdef Py_ssize_t workspace_bytes
    try:
        if path == BLOCKED:
            a_pack_size = round_up_checked(round_up(min(MC, rows), MR) * kc, 16)
            b_pack_size = round_up_checked(round_up(min(NC, cols), nr) * kc, 16)
        elif path == DOT:
            a_pack_size = round_up_checked(depth, 16)
            b_pack_size = round_up_checked(mul(depth, cols), 16)
            b_pack_count = 1
        else:
            if path == THIN_SHORT_PACKED:
                a_pack_size = round_up_checked(mul(depth, cols), 16)
            elif path == THIN_NARROW_PACKED:
                a_pack_size = round_up_checked(mul(depth, rows), 16)
            b_pack_count = 0
        workspace_bytes = mul(add(mul(a_pack_count, a_pack_size), mul(b_pack_count, b_pack_size)),
                              itemsize)
    except OverflowError:
        raise MemoryError(
            f"gemm: {_describe(a.shape, transpose_a)} @ {_describe(b.shape, transpose_b)} would "
            "need more bytes of packing buffers than any address space holds"
        ) from None
    cdef char *workspace = <char *>aligned_malloc(<size_t>workspace_bytes)
    if workspace == NULL:
        raise MemoryError(
            f"gemm: {_describe(a.shape, transpose_a)} @ {_describe(b.shape, transpose_b)}: "
            f"could not allocate {workspace_bytes} bytes of packing buffers"
        )
    cdef char *b_packs = workspace + a_pack_count * a_pack_size * itemsize  # < workspace_bytes

    cdef char *a_data = <char *>cnp.PyArray_DATA(a_array)
    cdef char *b_data = <char *>cnp.PyArray_DATA(b_array)
    cdef char *c_data = <char *>cnp.PyArray_DATA(c_array)
    try:
        with nogil:
            if is_float32:
                gemm_batch(<float *>a_data, op_a, <float *>b_data, op_b, <float *>c_data,
                           batch, rows, cols, depth, path, <float *>workspace, a_pack_size,
                           <float *>b_packs, b_pack_size, num_threads)
            else:
                gemm_batch(<double *>a_data, op_a, <double *>b_data, op_b, <double *>c_data,
                           batch, rows, cols, depth, path, <double *>workspace, a_pack_size,
                           <double *>b_packs, b_pack_size, num_threads)
    finally:
        aligned_free(workspace)
    return c_array


# ---------------------------------------------------------------------------------------------
# Threads and build information.


def available_cores():
    """The cores this process may run on: its CPU affinity where the OS reports one (a shared
    server or a container that grants 2 of 64 cores reports 2), else os.cpu_count()."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


# The most threads set_num_threads below accepts: far more than any core count this course will
# meet, few enough that OpenMP can always create them (a failed thread creation aborts).
MAX_THREADS = 256


def capped_num_threads(n, source):
    """n threads, at most one per available core (with a RuntimeWarning when n is more): more
    would only make threads wait for each other, and every thread gets its own packing buffers,
    so memory grows with the count. The public ``tinygan.kernels.set_num_threads`` and the
    TINYGAN_NUM_THREADS variable go through this."""
    cores = available_cores()
    if n > cores:
        warnings.warn(f"tinygan: {source} asks for {n} threads but this process can use only "
                      f"{cores} cores; using {cores}", RuntimeWarning, stacklevel=3)
        return cores
    return n


def _default_num_threads():
    """TINYGAN_NUM_THREADS when set to a positive integer (at most the available cores), else
    every available core."""
    setting = os.environ.get("TINYGAN_NUM_THREADS", "").strip()
    if setting:
        try:
            if int(setting) >= 1:
                return capped_num_threads(int(setting), f"TINYGAN_NUM_THREADS={setting}")
        except ValueError:
            pass
        warnings.warn(
            f"tinygan: TINYGAN_NUM_THREADS={setting!r} is not a positive integer; "
            "using every available core",
            RuntimeWarning,
            stacklevel=2,
        )
    return available_cores()


def get_num_threads():
    """The number of threads gemm may use (1 when compiled without OpenMP)."""
    return _num_threads if HAVE_OPENMP else 1


def set_num_threads(n):
    """Let gemm use up to ``n`` threads, an int in [1, MAX_THREADS].

    Unlike the public ``tinygan.kernels.set_num_threads``, this does not cap ``n`` at the
    available cores: the tests oversubscribe on purpose, to run the 4-thread partitions on a
    2-core machine. MAX_THREADS is the check that protects the process."""
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads: expected an int, got {n!r} ({type(n).__name__})")
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"set_num_threads: expected a count in [1, {MAX_THREADS}], got {n}")
    _num_threads = int(n)


def build_info():
    """How this module was compiled, and the blocking it uses."""
    return {
        "implementation": "compiled",
        "openmp": bool(HAVE_OPENMP),
        "native": bool(HAVE_NATIVE),
        "simd": SIMD_NAME.decode(),
        "micro_kernel_float32": (MR, NR_F32),
        "micro_kernel_float64": (MR, NR_F64),
        "blocks_kc_mc_nc": (KC, MC_F32, NC_F32),
        "blocks_kc_mc_nc_float64": (KC, MC_F64, NC_F64),
    }


def set_block_sizes(kc, mc_f32, nc_f32, mc_f64=None, nc_f64=None):
    """Use these cache blocks from now on (for experiments and tests: benchmarks/bench_gemm.py
    --sweep tries several). MC must be a multiple of MR and NC of the dtype's NR; float64
    defaults to half of float32's MC (its values are twice as big) and the same NC bytes."""
    global KC, MC_F32, MC_F64, NC_F32, NC_F64, SPLIT_DEPTH
    mc_f64 = max(MR, mc_f32 // 2 // MR * MR) if mc_f64 is None else mc_f64
    nc_f64 = max(NR_F64, nc_f32 // 2 // NR_F64 * NR_F64) if nc_f64 is None else nc_f64
    for name, value, multiple in (("kc", kc, 1), ("mc_f32", mc_f32, MR), ("mc_f64", mc_f64, MR),
                                  ("nc_f32", nc_f32, NR_F32), ("nc_f64", nc_f64, NR_F64)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1 \
                or value % multiple or value > 1 << 20:
            raise ValueError(f"set_block_sizes: {name} must be a positive multiple of {multiple} "
                             f"up to 2**20, got {value!r}")
    KC, MC_F32, MC_F64, NC_F32, NC_F64 = kc, mc_f32, mc_f64, nc_f32, nc_f64
    SPLIT_DEPTH = 8 * KC


def _machine_block_sizes():
    """The blocks gemm_blocking.py derives from this CPU's caches, per dtype."""
    kc, mc_f32, nc_f32 = machine_block_sizes(MR, NR_F32, 4)
    _, mc_f64, nc_f64 = machine_block_sizes(MR, NR_F64, 8)
    return kc, mc_f32, nc_f32, mc_f64, nc_f64


set_block_sizes(*_machine_block_sizes())


_num_threads = _default_num_threads()
