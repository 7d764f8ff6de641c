/*
 * gemm_microkernel.h -- the innermost piece of tinygan's GEMM: the register micro-kernel.
 *
 * gemm.pyx does everything else (checking, blocking, packing, threads). This file holds only
 * the part that must be written close to the hardware: a function that multiplies
 *
 *     one packed sliver of A   (MR rows    x kc columns, stored column by column)
 *     one packed sliver of B   (kc rows    x NR columns, stored row by row)
 *
 * and adds the MR x NR result into C. Everything it touches in its hot loop is either in a
 * register (the MR x NR accumulators) or read with unit stride from a packed buffer.
 *
 * Why a micro-kernel is fast
 * --------------------------
 * A fused multiply-add (FMA) unit can do one vector FMA per cycle, but only if its operands are
 * already in registers. The trick is to keep a whole MR x NR tile of C in registers for the
 * entire k loop. Per step p of that loop we
 *
 *     load   NR/VLEN vectors of B[p, 0:NR]            (unit stride: the sliver is packed)
 *     load   MR scalars of A[0:MR, p], broadcast each  (unit stride: the sliver is packed)
 *     do     MR * NR/VLEN vector FMAs                  (acc[r][v] += a[r] * b[v])
 *
 * so every value loaded is reused NR (for A) or MR (for B) times. With AVX-512 we use
 * MR = 6 and NR = 4 vectors (64 floats or 32 doubles): 24 accumulator registers + 4 for B +
 * 1 for the broadcast A value = 29 of the 32 vector registers. 24 independent FMAs per step also
 * hide the FMA latency (4 cycles, 1-2 issued per cycle: at least 8 must be in flight).
 * With AVX2 or SSE there are only 16 registers, so we use MR = 6, NR = 2 vectors (12
 * accumulators), the classic shape of the "how to optimize GEMM" tutorials.
 *
 * We write vectors with GCC's vector extensions (also understood by clang): `vf32 x` is a
 * SIMD register's worth of floats, and `x * y + z` compiles to one FMA instruction when the
 * compiler targets a CPU with FMA (setup.py passes -march=native). Other compilers (MSVC) get a
 * plain C loop with the same tile shape: correct, and left to the auto-vectorizer.
 */
#ifndef TINYGAN_GEMM_MICROKERNEL_H
#define TINYGAN_GEMM_MICROKERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * 1. The vector width and the tile shape MR x NR.
 */
#if defined(__GNUC__) && defined(__AVX512F__)
#define TINYGAN_SIMD_NAME "avx512"
#define TINYGAN_SIMD_BYTES 64
#define TINYGAN_NR_VECTORS 4
#elif defined(__GNUC__) && defined(__AVX__)
#define TINYGAN_SIMD_NAME "avx2"
#define TINYGAN_SIMD_BYTES 32
#define TINYGAN_NR_VECTORS 2
#elif defined(__GNUC__)
#define TINYGAN_SIMD_NAME "generic-16-byte-vectors"
#define TINYGAN_SIMD_BYTES 16
#define TINYGAN_NR_VECTORS 2
#else
#define TINYGAN_SIMD_NAME "scalar"
#define TINYGAN_SIMD_BYTES 16
#define TINYGAN_NR_VECTORS 2
#endif

#define TINYGAN_MR 6                                    /* rows of C per micro-tile */
#define TINYGAN_VLEN_F32 (TINYGAN_SIMD_BYTES / 4)       /* floats per vector register */
#define TINYGAN_VLEN_F64 (TINYGAN_SIMD_BYTES / 8)       /* doubles per vector register */
#define TINYGAN_NR_F32 (TINYGAN_NR_VECTORS * TINYGAN_VLEN_F32) /* columns of C per micro-tile */
#define TINYGAN_NR_F64 (TINYGAN_NR_VECTORS * TINYGAN_VLEN_F64)

/* Packed buffers start on a 64-byte boundary (one cache line, one AVX-512 register), so the
 * micro-kernel's loads of B never straddle two cache lines. */
#define TINYGAN_ALIGN 64

/* ---------------------------------------------------------------------------------------------
 * 2. Cache blocking sizes (KC, MC, NC) are not constants of this file: gemm.pyx derives them at
 *    import from the cache sizes the CPU reports (gemm_blocking.py has the rules and why).
 */

/* ---------------------------------------------------------------------------------------------
 * 3. Aligned allocation that works with every C compiler: over-allocate with malloc, round the
 *    pointer up, and remember the original pointer just before the aligned block.
 */
static inline void *tinygan_aligned_malloc(size_t bytes)
{
    void *raw = malloc(bytes + TINYGAN_ALIGN + sizeof(void *));
    if (raw == NULL) {
        return NULL;
    }
    uintptr_t aligned = ((uintptr_t)raw + sizeof(void *) + TINYGAN_ALIGN - 1)
                        & ~(uintptr_t)(TINYGAN_ALIGN - 1);
    ((void **)aligned)[-1] = raw;
    return (void *)aligned;
}

static inline void tinygan_aligned_free(void *aligned)
{
    if (aligned != NULL) {
        free(((void **)aligned)[-1]);
    }
}

/* ---------------------------------------------------------------------------------------------
 * 4. The micro-kernels, one per dtype.
 *
 *    c_tile += (or =) A @ b_sliver, where
 *      A:        MR rows, kc steps: A[r, p] = a[r][p * a_cs], a[r] pointing at row r.
 *                Packed (tinygan_microkernel_*): the MR x kc sliver of gemm.pyx's packing,
 *                a[r] = a_sliver + r, a_cs = MR, 64-byte aligned. In place
 *                (tinygan_microkernel_rows_*): MR rows of a row-major matrix, a[r] = a_first +
 *                r * lda, a_cs = 1 (gemm.pyx, macro_kernel_in_place, says when that pays).
 *                Indirect (tinygan_microkernel_indirect_*): MR rows anywhere, a_cs = 1
 *                (conv.pyx's indirect GEMMs), and a sum over `taps` blocks of kc steps:
 *                block t reads A[r, p] = a[r][tap_off[t] + p] and B's t-th block of kc rows
 *                (a convolution's kernel taps; the tile stays in registers through all of
 *                them). The other entry points have one tap at offset 0.
 *      B:        kc steps of NR values. Packed: b_sliver[p*NR + j] = B[p, j], 64-byte aligned.
 *                Rows anywhere (tinygan_microkernel_b_rows_*, with a packed A): B[p, j] =
 *                b_rows[p][j], NR values each, no alignment promised (conv.pyx's weight
 *                gradient reads the image's channels-last pixels where they lie).
 *      c_tile:   row-major with row stride ldc (C's own memory: no alignment promised)
 *      rows <= MR, cols <= NR: how much of the tile lies inside C. Edge tiles were padded
 *      with zeros when packing, so the arithmetic is always a full MR x NR tile; only the
 *      store has to stay within C. (In place, A must have all MR rows.)
 *      accumulate: 0 for the first kc block (C = AB: C is not read), 1 afterwards (C += AB).
 *
 *    One body per dtype (tinygan_tile_*), always inlined: with the packed sliver's row pointers
 *    and step, which are constants, it compiles to exactly the kernel it would be if written
 *    for them alone (the same instructions, checked in the assembly).
 */
#if defined(__GNUC__)

typedef float vf32 __attribute__((vector_size(TINYGAN_SIMD_BYTES)));
typedef double vf64 __attribute__((vector_size(TINYGAN_SIMD_BYTES)));

static inline __attribute__((always_inline)) void tinygan_tile_f32(
    ptrdiff_t kc, const float *const *a, ptrdiff_t a_cs, ptrdiff_t taps, const ptrdiff_t *tap_off,
    const float *b_sliver, const float *const *b_rows, float *c_tile, ptrdiff_t ldc, int rows,
    int cols, int accumulate)
{
    enum { MR = TINYGAN_MR, NV = TINYGAN_NR_VECTORS, VLEN = TINYGAN_VLEN_F32 };
    /* The accumulators: MR x NV vector registers. gcc keeps this small array entirely in
     * registers once the loops over r and v below are fully unrolled. */
    vf32 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            acc[r][v] = (vf32){0};
        }
    }

    /* The hot loop: one rank-1 update of the register tile per step p (per tap t: see
     * above; one tap, at offset 0, but for the indirect GEMM of a convolution). */
    for (ptrdiff_t t = 0; t < taps; t++) {
    const ptrdiff_t off = tap_off == NULL ? 0 : tap_off[t];
    for (ptrdiff_t p = 0; p < kc; p++) {
        const ptrdiff_t step = t * kc + p; /* B's row */
        vf32 b[NV];
        if (b_rows == NULL) { /* the packed sliver: aligned loads */
            const vf32 *b_row = (const vf32 *)(b_sliver + step * NV * VLEN);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                b[v] = b_row[v];
            }
        } else { /* row p wherever it lies: unaligned loads */
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                memcpy(&b[v], b_rows[step] + v * VLEN, sizeof b[v]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            /* scalar * vector: the scalar is broadcast to every lane. Written this way (not
             * as `(vf32){0} + a`, which C must compute as an addition: -0.0 + 0 is +0.0) the
             * compiler reads A[r, p] straight from memory into the FMA ({1to16} broadcast
             * operand): no separate add and shuffle instructions competing with the FMAs. */
            const float a_value = a[r][off + p * a_cs];
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                acc[r][v] += a_value * b[v]; /* one FMA instruction */
            }
        }
    }
    }

    if (rows == MR && cols == NV * VLEN) {
        /* A full tile: add the registers straight into C, one unaligned vector at a time.
         * memcpy with a constant size is the portable spelling of an unaligned vector
         * load/store; it compiles to a single instruction. */
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                float *c = c_tile + r * ldc + v * VLEN;
                vf32 sum = acc[r][v];
                if (accumulate) {
                    vf32 old;
                    memcpy(&old, c, sizeof old);
                    sum += old;
                }
                memcpy(c, &sum, sizeof sum);
            }
        }
    } else {
        /* An edge tile: spill the registers to a scratch tile, then copy only the part of it
         * that lies inside C. This runs once per tile, not once per step, so it is cheap. */
        float scratch[MR * NV * VLEN];
        memcpy(scratch, acc, sizeof scratch);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                float value = scratch[r * NV * VLEN + j];
                c_tile[r * ldc + j] = accumulate ? c_tile[r * ldc + j] + value : value;
            }
        }
    }
}

/* The same tile for float64: identical code with `double` and vf64 (half as many lanes). */
static inline __attribute__((always_inline)) void tinygan_tile_f64(
    ptrdiff_t kc, const double *const *a, ptrdiff_t a_cs, ptrdiff_t taps, const ptrdiff_t *tap_off,
    const double *b_sliver, const double *const *b_rows, double *c_tile, ptrdiff_t ldc, int rows,
    int cols, int accumulate)
{
    enum { MR = TINYGAN_MR, NV = TINYGAN_NR_VECTORS, VLEN = TINYGAN_VLEN_F64 };
    vf64 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            acc[r][v] = (vf64){0};
        }
    }

    for (ptrdiff_t t = 0; t < taps; t++) {
    const ptrdiff_t off = tap_off == NULL ? 0 : tap_off[t];
    for (ptrdiff_t p = 0; p < kc; p++) {
        const ptrdiff_t step = t * kc + p;
        vf64 b[NV];
        if (b_rows == NULL) {
            const vf64 *b_row = (const vf64 *)(b_sliver + step * NV * VLEN);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                b[v] = b_row[v];
            }
        } else {
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                memcpy(&b[v], b_rows[step] + v * VLEN, sizeof b[v]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const double a_value = a[r][off + p * a_cs];
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                acc[r][v] += a_value * b[v];
            }
        }
    }
    }

    if (rows == MR && cols == NV * VLEN) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                double *c = c_tile + r * ldc + v * VLEN;
                vf64 sum = acc[r][v];
                if (accumulate) {
                    vf64 old;
                    memcpy(&old, c, sizeof old);
                    sum += old;
                }
                memcpy(c, &sum, sizeof sum);
            }
        }
    } else {
        double scratch[MR * NV * VLEN];
        memcpy(scratch, acc, sizeof scratch);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                double value = scratch[r * NV * VLEN + j];
                c_tile[r * ldc + j] = accumulate ? c_tile[r * ldc + j] + value : value;
            }
        }
    }
}

#else /* not GCC or clang: the same tile, as plain scalar C */

#define TINYGAN_DEFINE_SCALAR_TILE(NAME, REAL, NR)                                            \
    static void NAME(ptrdiff_t kc, const REAL *const *a, ptrdiff_t a_cs, ptrdiff_t taps,      \
                     const ptrdiff_t *tap_off, const REAL *b_sliver,                          \
                     const REAL *const *b_rows, REAL *c_tile, ptrdiff_t ldc, int rows,        \
                     int cols, int accumulate)                                                \
    {                                                                                         \
        REAL acc[TINYGAN_MR][NR] = {{0}};                                                     \
        for (ptrdiff_t t = 0; t < taps; t++) {                                                \
            ptrdiff_t off = tap_off == NULL ? 0 : tap_off[t];                                 \
            for (ptrdiff_t p = 0; p < kc; p++) {                                              \
                ptrdiff_t step = t * kc + p;                                                  \
                const REAL *b_row = b_rows == NULL ? b_sliver + step * NR : b_rows[step];     \
                for (int r = 0; r < TINYGAN_MR; r++) {                                        \
                    for (int j = 0; j < NR; j++) {                                            \
                        acc[r][j] += a[r][off + p * a_cs] * b_row[j];                         \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < rows; r++) {                                                      \
            for (int j = 0; j < cols; j++) {                                                  \
                c_tile[r * ldc + j] = accumulate ? c_tile[r * ldc + j] + acc[r][j] : acc[r][j]; \
            }                                                                                 \
        }                                                                                     \
    }
TINYGAN_DEFINE_SCALAR_TILE(tinygan_tile_f32, float, TINYGAN_NR_F32)
TINYGAN_DEFINE_SCALAR_TILE(tinygan_tile_f64, double, TINYGAN_NR_F64)

#endif /* __GNUC__ */

/* The three ways of reading A (see above): a packed sliver, MR rows of a matrix in place, MR
 * rows anywhere (a table of row pointers); and a packed A with B's rows anywhere. */
#define TINYGAN_DEFINE_MICROKERNELS(SUFFIX, REAL)                                                \
    static inline void tinygan_microkernel_##SUFFIX(ptrdiff_t kc, const REAL *a_sliver,         \
                                                    const REAL *b_sliver, REAL *c_tile,         \
                                                    ptrdiff_t ldc, int rows, int cols,          \
                                                    int accumulate)                             \
    {                                                                                           \
        const REAL *a[TINYGAN_MR];                                                              \
        for (int r = 0; r < TINYGAN_MR; r++) a[r] = a_sliver + r;                               \
        tinygan_tile_##SUFFIX(kc, a, TINYGAN_MR, 1, NULL, b_sliver, NULL, c_tile, ldc, rows,     \
                              cols, accumulate);                                                \
    }                                                                                           \
    static inline void tinygan_microkernel_rows_##SUFFIX(ptrdiff_t kc, const REAL *a_first,     \
                                                         ptrdiff_t lda, const REAL *b_sliver,   \
                                                         REAL *c_tile, ptrdiff_t ldc, int cols, \
                                                         int accumulate)                        \
    {                                                                                           \
        const REAL *a[TINYGAN_MR];                                                              \
        for (int r = 0; r < TINYGAN_MR; r++) a[r] = a_first + r * lda;                          \
        tinygan_tile_##SUFFIX(kc, a, 1, 1, NULL, b_sliver, NULL, c_tile, ldc, TINYGAN_MR, cols,  \
                              accumulate);                                                      \
    }                                                                                           \
    static inline void tinygan_microkernel_indirect_##SUFFIX(ptrdiff_t kc,                      \
                                                             const REAL *const *a_rows,         \
                                                             ptrdiff_t taps,                    \
                                                             const ptrdiff_t *tap_off,          \
                                                             const REAL *b_sliver,              \
                                                             REAL *c_tile, ptrdiff_t ldc,       \
                                                             int rows, int cols)                \
    {                                                                                           \
        tinygan_tile_##SUFFIX(kc, a_rows, 1, taps, tap_off, b_sliver, NULL, c_tile, ldc, rows,  \
                              cols, 0);                                                         \
    }                                                                                           \
    static inline void tinygan_microkernel_b_rows_##SUFFIX(ptrdiff_t kc, const REAL *a_sliver,  \
                                                           const REAL *const *b_rows,           \
                                                           REAL *c_tile, ptrdiff_t ldc,         \
                                                           int cols, int accumulate)            \
    {                                                                                           \
        const REAL *a[TINYGAN_MR];                                                              \
        for (int r = 0; r < TINYGAN_MR; r++) a[r] = a_sliver + r;                               \
        tinygan_tile_##SUFFIX(kc, a, TINYGAN_MR, 1, NULL, NULL, b_rows, c_tile, ldc, TINYGAN_MR, \
                              cols, accumulate);                                                \
    }
TINYGAN_DEFINE_MICROKERNELS(f32, float)
TINYGAN_DEFINE_MICROKERNELS(f64, double)


/* ---------------------------------------------------------------------------------------------
 * 5. Dot products, for products too thin for micro-tiles (gemm.pyx's "dot" path, e.g. a layer
 *    with a single output: n = 1). x and y are contiguous. Four independent vector sums keep
 *    the FMA units busy (one sum would wait for its previous FMA every step); the lanes are
 *    added up at the end. The compiler would not do this by itself: it would change the order
 *    of a floating-point sum, which C forbids without -ffast-math.
 *
 *    Accuracy. Each accumulator lane adds up len / (4 VLEN) products one after the other, and
 *    the rounding error of such a sum grows with its length: for k = 1e6 float32 products that
 *    is ~31000 additions per lane. So a long dot product is cut into chunks of
 *    TINYGAN_SUM_CHUNK elements (128 additions per lane), and the chunks' sums are added
 *    pairwise (TINYGAN_PAIRWISE_PUSH below): the error then grows with log2(len), not len, at the
 *    cost of one extra addition per chunk.
 */
#define TINYGAN_SUM_CHUNK 4096

/* Pairwise summation of a stream of partial sums, as a binary counter: levels[j] holds the sum
 * of 2^j consecutive partials while bit j of `count` is set. Adding a partial carries it up
 * through the full levels, so every addition combines two sums of (about) equal size. ADD
 * and the element type are parameters, so the same scheme serves scalars and vectors. */
#define TINYGAN_PAIRWISE_PUSH(levels, count, value, ADD_INTO)                                 \
    do {                                                                                      \
        int lvl_ = 0;                                                                         \
        while (((count) >> lvl_) & 1) {                                                       \
            ADD_INTO(value, (levels)[lvl_]);                                                  \
            lvl_++;                                                                           \
        }                                                                                     \
        (levels)[lvl_] = (value);                                                             \
        (count)++;                                                                            \
    } while (0)
#define TINYGAN_ADD_INTO(into, term) ((into) += (term))

/* A dot product of any length: chunks of TINYGAN_SUM_CHUNK, their sums added pairwise. */
#define TINYGAN_DEFINE_DOT_CHUNKED(NAME, REAL)                                                \
    static inline REAL NAME(const REAL *x, const REAL *y, ptrdiff_t len)                      \
    {                                                                                         \
        if (len <= TINYGAN_SUM_CHUNK) {                                                       \
            return NAME##_chunk(x, y, len);                                                   \
        }                                                                                     \
        REAL levels[64]; /* bit j of count set <=> levels[j] holds 2^j chunks' sum */         \
        uint64_t count = 0;                                                                   \
        for (ptrdiff_t p = 0; p < len; p += TINYGAN_SUM_CHUNK) {                              \
            ptrdiff_t n = len - p < TINYGAN_SUM_CHUNK ? len - p : TINYGAN_SUM_CHUNK;          \
            REAL partial = NAME##_chunk(x + p, y + p, n);                                     \
            TINYGAN_PAIRWISE_PUSH(levels, count, partial, TINYGAN_ADD_INTO);                  \
        }                                                                                     \
        REAL total = 0;                                                                       \
        for (int lvl = 0; lvl < 64; lvl++) {                                                  \
            if ((count >> lvl) & 1) {                                                         \
                total += levels[lvl];                                                         \
            }                                                                                 \
        }                                                                                     \
        return total;                                                                         \
    }

#if defined(__GNUC__)
#define TINYGAN_DEFINE_DOT(NAME, REAL, VEC, VLEN)                                             \
    static inline REAL NAME##_chunk(const REAL *x, const REAL *y, ptrdiff_t len)              \
    {                                                                                         \
        VEC acc[4] = {{0}, {0}, {0}, {0}}, xv, yv;                                            \
        ptrdiff_t p = 0;                                                                      \
        for (; p + 4 * (VLEN) <= len; p += 4 * (VLEN)) {                                      \
            for (int u = 0; u < 4; u++) {                                                     \
                memcpy(&xv, x + p + u * (VLEN), sizeof xv); /* unaligned vector loads */      \
                memcpy(&yv, y + p + u * (VLEN), sizeof yv);                                   \
                acc[u] += xv * yv;                                                            \
            }                                                                                 \
        }                                                                                     \
        for (; p + (VLEN) <= len; p += (VLEN)) { /* then one vector at a time */              \
            memcpy(&xv, x + p, sizeof xv);                                                    \
            memcpy(&yv, y + p, sizeof yv);                                                    \
            acc[0] += xv * yv;                                                                \
        }                                                                                     \
        if (p < len) { /* and the last, partial vector, padded with zeros (not scalar: a  */  \
            xv = (VEC){0}; /* scalar tail of up to VLEN-1 dependent adds would cost more */   \
            yv = (VEC){0}; /* than all the vector steps of a short dot product)          */   \
            memcpy(&xv, x + p, (len - p) * sizeof(REAL));                                     \
            memcpy(&yv, y + p, (len - p) * sizeof(REAL));                                     \
            acc[1] += xv * yv;                                                                \
            p = len;                                                                          \
        }                                                                                     \
        VEC total = (acc[0] + acc[1]) + (acc[2] + acc[3]);                                    \
        /* Add the lanes pairwise (8+8, 4+4, 2+2, 1+1 for 16 lanes): log2(VLEN) dependent  */ \
        /* steps instead of VLEN - 1. For short dot products this sum is the slow part.    */ \
        REAL lanes[VLEN];                                                                     \
        memcpy(lanes, &total, sizeof lanes);                                                  \
        for (int width = (VLEN) / 2; width > 0; width /= 2) {                                 \
            for (int lane = 0; lane < width; lane++) {                                        \
                lanes[lane] += lanes[lane + width];                                           \
            }                                                                                 \
        }                                                                                     \
        REAL sum = lanes[0];                                                                  \
        for (; p < len; p++) {                                                                \
            sum += x[p] * y[p];                                                               \
        }                                                                                     \
        return sum;                                                                           \
    }                                                                                         \
    TINYGAN_DEFINE_DOT_CHUNKED(NAME, REAL)
TINYGAN_DEFINE_DOT(tinygan_dot_f32, float, vf32, TINYGAN_VLEN_F32)
TINYGAN_DEFINE_DOT(tinygan_dot_f64, double, vf64, TINYGAN_VLEN_F64)
#else
#define TINYGAN_DEFINE_DOT(NAME, REAL)                                                        \
    static REAL NAME##_chunk(const REAL *x, const REAL *y, ptrdiff_t len)                     \
    {                                                                                         \
        REAL sum = 0;                                                                         \
        for (ptrdiff_t p = 0; p < len; p++) {                                                 \
            sum += x[p] * y[p];                                                               \
        }                                                                                     \
        return sum;                                                                           \
    }                                                                                         \
    TINYGAN_DEFINE_DOT_CHUNKED(NAME, REAL)
TINYGAN_DEFINE_DOT(tinygan_dot_f32, float)
TINYGAN_DEFINE_DOT(tinygan_dot_f64, double)
#endif

/* ---------------------------------------------------------------------------------------------
 * 6. The thin kernel, for products with a short side (gemm.pyx's "thin" path):
 *
 *        out[r, l] = sum_p coef[r, p] * src[p, l]      for r < rows (few), l < length (many)
 *
 *    where each row of src is contiguous (unit stride along l) and coef, out have any strides.
 *    It is the micro-kernel idea without packing: a few rows of out are kept in registers for
 *    a strip of U vectors along l, and each step p loads one strip of src (read in place, no
 *    copy) and does rows * U vector FMAs with the broadcast coef[r, p]. Packing would cost as
 *    much as the arithmetic here, because a thin product reuses each element of src only
 *    `rows` times.
 *
 *    gemm.pyx maps three shapes onto it: short C (few rows: out = C, coef = A, src = B),
 *    narrow C (few columns: out = C^T, coef = B^T, src = A^T, so A^T's rows must be A's
 *    contiguous columns) and short inner dimension k (any m, n: out = C, in groups of rows).
 *
 *    Rows go in groups of 8, then 4, 2, 1, so a group never computes padding rows. Fewer rows
 *    get wider strips (U up to 4 vectors), so there are always at least 4-8 independent
 *    accumulators: enough FMAs in flight to hide their latency. Along l the work goes in chunks
 *    of TINYGAN_THIN_CHUNK elements, so the chunk of src that every row group re-reads stays
 *    in L1/L2.
 */
#define TINYGAN_THIN_CHUNK 512
#define TINYGAN_THIN_KBLOCK 128 /* steps of k summed in registers before a pairwise add */
/* The long-k kernels are kept out of GCC's interprocedural optimisations (noipa): otherwise its
 * cloning budget goes to them, and the short-k kernels lose their call-site specialisations
 * (measured: a 256x1 @ 1x128 product took 7 us instead of 3.5). */
#if defined(__GNUC__) && !defined(__clang__)
#define TINYGAN_NOINLINE static __attribute__((noipa))
#elif defined(__GNUC__)
#define TINYGAN_NOINLINE static __attribute__((noinline))
#else
#define TINYGAN_NOINLINE static
#endif
#if TINYGAN_SIMD_BYTES == 64
#define TINYGAN_THIN_ACCUMULATORS 16 /* 32 vector registers: 16 accumulators + loads */
#else
#define TINYGAN_THIN_ACCUMULATORS 8 /* 16 vector registers */
#endif

#if defined(__GNUC__)
/* Accuracy: each accumulator sums k products, one after the other, and the rounding error of
 * such a sum grows with k (a 1 x 1e6 @ 1e6 x 1 product had a relative error of 1e-2 in float32).
 * So k is cut into blocks of TINYGAN_THIN_KBLOCK steps, each summed in fresh registers, and the
 * blocks' sums are added pairwise (TINYGAN_PAIRWISE_PUSH, in a small array on the stack): the
 * error then grows with KBLOCK + log2(k / KBLOCK), not with k. A k of at most one block -- the
 * usual case -- takes exactly the loop it always did. */
#define TINYGAN_ADD_TILE(into, term)                                                          \
    do {                                                                                      \
        for (int r_ = 0; r_ < (int)(sizeof(into) / sizeof((into)[0])); r_++)                  \
            for (int u_ = 0; u_ < (int)(sizeof((into)[0]) / sizeof((into)[0][0])); u_++)      \
                (into)[r_][u_] += (term)[r_][u_];                                             \
    } while (0)

/* The same for a long k (> TINYGAN_THIN_KBLOCK): k in blocks, the blocks' sums added pairwise.
 * Functions of their own, with a driver of their own (TINYGAN_DEFINE_THIN), so the short-k
 * kernels below stay exactly as they were: small frames, tight code. */
#define TINYGAN_DEFINE_THIN_ROWS_LONG(NAME, REAL, VEC, VLEN, R)                                    \
    typedef struct { VEC v[R][(TINYGAN_THIN_ACCUMULATORS / (R)) > 4 ? 4                       \
                              : (TINYGAN_THIN_ACCUMULATORS / (R)) < 1 ? 1                     \
                              : (TINYGAN_THIN_ACCUMULATORS / (R))]; } NAME##_tile;            \
    typedef struct { VEC v[R][1]; } NAME##_tail;                                              \
    TINYGAN_NOINLINE void NAME(ptrdiff_t k, ptrdiff_t length, const REAL *coef,              \
                               ptrdiff_t coef_rs, ptrdiff_t coef_cs, const REAL *src,         \
                               ptrdiff_t src_rs, REAL *out, ptrdiff_t out_rs,                 \
                               ptrdiff_t out_cs)                                              \
    {                                                                                         \
        enum { U = (TINYGAN_THIN_ACCUMULATORS / (R)) > 4 ? 4                                  \
                   : (TINYGAN_THIN_ACCUMULATORS / (R)) < 1 ? 1                                \
                   : (TINYGAN_THIN_ACCUMULATORS / (R)) };                                     \
        const ptrdiff_t kblock = k > TINYGAN_THIN_KBLOCK ? TINYGAN_THIN_KBLOCK : k > 0 ? k : 1; \
        /* The pairwise sums of blocks: as many levels as the block count has bits (1 for   */ \
        /* the usual k <= kblock), so the stack frame stays small for small products.      */ \
        const uint64_t block_count = (uint64_t)((k + kblock - 1) / kblock);                   \
        int levels = 1;                                                                       \
        while (levels < 64 && (block_count >> levels) != 0) levels++;                         \
        NAME##_tile tile_levels[levels];                                                      \
        NAME##_tail tail_levels[levels];                                                      \
        ptrdiff_t l = 0;                                                                      \
        for (; l + U * (VLEN) <= length; l += U * (VLEN)) {                                   \
            VEC acc[R][U];                                                                    \
            uint64_t blocks = 0;                                                              \
            _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                             \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) acc[r][u] = (VEC){0};     \
            for (ptrdiff_t p0 = 0; p0 < k; p0 += kblock) {                                    \
                const ptrdiff_t p1 = k - p0 < kblock ? k : p0 + kblock;                       \
                for (ptrdiff_t p = p0; p < p1; p++) {                                         \
                    VEC s[U];                                                                 \
                    _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) { /* in place */      \
                        VEC v;                                                                \
                        memcpy(&v, src + p * src_rs + l + u * (VLEN), sizeof v);              \
                        s[u] = v;                                                             \
                    }                                                                         \
                    _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                   \
                        const REAL c = coef[r * coef_rs + p * coef_cs]; /* broadcast */       \
                        _Pragma("GCC unroll 4") for (int u = 0; u < U; u++)                   \
                            acc[r][u] += c * s[u];                                            \
                    }                                                                         \
                }                                                                             \
                if (p1 < k || blocks) { /* more than one block: into the pairwise sum */      \
                    NAME##_tile block;                                                        \
                    memcpy(block.v, acc, sizeof acc);                                         \
                    TINYGAN_PAIRWISE_PUSH(tile_levels, blocks, block, TINYGAN_ADD_TILE_S);    \
                    memset(acc, 0, sizeof acc); /* the next block starts from zero */         \
                }                                                                             \
            }                                                                                 \
            if (blocks) { /* acc = the sum of the filled levels */                            \
                memset(acc, 0, sizeof acc);                                                   \
                for (int lvl = 0; lvl < levels; lvl++)                                        \
                    if ((blocks >> lvl) & 1) TINYGAN_ADD_TILE(acc, tile_levels[lvl].v);       \
            }                                                                                 \
            /* Stores go through copies of the accumulators: taking the address of acc     */ \
            /* itself (for memcpy) would make the compiler keep it in memory, not registers. */ \
            if (out_cs == 1) { /* rows of out contiguous: whole-vector stores */              \
                _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                         \
                    _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) {                     \
                        VEC v = acc[r][u];                                                    \
                        memcpy(out + r * out_rs + l + u * (VLEN), &v, sizeof v);              \
                    }                                                                         \
            } else { /* out is C^T: element by element, each C row's entries adjacent */      \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++)                           \
                    for (int j = 0; j < (VLEN); j++)                                          \
                        _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                 \
                            out[r * out_rs + (l + u * (VLEN) + j) * out_cs] = acc[r][u][j];   \
            }                                                                                 \
        }                                                                                     \
        for (; l < length; l += (VLEN)) { /* the tail: one vector, maybe partial */           \
            ptrdiff_t width = length - l < (VLEN) ? length - l : (VLEN);                      \
            VEC acc[R][1];                                                                    \
            uint64_t blocks = 0;                                                              \
            for (int r = 0; r < (R); r++) acc[r][0] = (VEC){0};                               \
            for (ptrdiff_t p0 = 0; p0 < k; p0 += kblock) {                                    \
                const ptrdiff_t p1 = k - p0 < kblock ? k : p0 + kblock;                       \
                for (ptrdiff_t p = p0; p < p1; p++) {                                         \
                    VEC s = (VEC){0};                                                         \
                    memcpy(&s, src + p * src_rs + l, width * sizeof(REAL));                   \
                    for (int r = 0; r < (R); r++)                                             \
                        acc[r][0] += coef[r * coef_rs + p * coef_cs] * s;                     \
                }                                                                             \
                if (p1 < k || blocks) {                                                       \
                    NAME##_tail block;                                                        \
                    memcpy(block.v, acc, sizeof acc);                                         \
                    TINYGAN_PAIRWISE_PUSH(tail_levels, blocks, block, TINYGAN_ADD_TILE_S);    \
                    memset(acc, 0, sizeof acc);                                               \
                }                                                                             \
            }                                                                                 \
            if (blocks) {                                                                     \
                memset(acc, 0, sizeof acc);                                                   \
                for (int lvl = 0; lvl < levels; lvl++)                                        \
                    if ((blocks >> lvl) & 1) TINYGAN_ADD_TILE(acc, tail_levels[lvl].v);       \
            }                                                                                 \
            for (ptrdiff_t j = 0; j < width; j++)                                             \
                for (int r = 0; r < (R); r++)                                                 \
                    out[r * out_rs + (l + j) * out_cs] = acc[r][0][j];                        \
        }                                                                                     \
    }
/* One group of R rows of out over `length` elements. U vectors per strip, then the tail one
 * vector (possibly partial) at a time. */
#define TINYGAN_DEFINE_THIN_ROWS(NAME, REAL, VEC, VLEN, R)                                    \
    static void NAME(ptrdiff_t k, ptrdiff_t length, const REAL *coef, ptrdiff_t coef_rs,      \
                     ptrdiff_t coef_cs, const REAL *src, ptrdiff_t src_rs, REAL *out,         \
                     ptrdiff_t out_rs, ptrdiff_t out_cs)                                      \
    {                                                                                         \
        enum { U = (TINYGAN_THIN_ACCUMULATORS / (R)) > 4 ? 4                                  \
                   : (TINYGAN_THIN_ACCUMULATORS / (R)) < 1 ? 1                                \
                   : (TINYGAN_THIN_ACCUMULATORS / (R)) };                                     \
        ptrdiff_t l = 0;                                                                      \
        for (; l + U * (VLEN) <= length; l += U * (VLEN)) {                                   \
            VEC acc[R][U];                                                                    \
            _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                             \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) acc[r][u] = (VEC){0};     \
            for (ptrdiff_t p = 0; p < k; p++) {                                               \
                VEC s[U];                                                                     \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) { /* unaligned, in place */ \
                    VEC v;                                                                    \
                    memcpy(&v, src + p * src_rs + l + u * (VLEN), sizeof v);                  \
                    s[u] = v;                                                                 \
                }                                                                             \
                _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++) {                       \
                    const REAL c = coef[r * coef_rs + p * coef_cs]; /* broadcast by c * s */  \
                    _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) acc[r][u] += c * s[u]; \
                }                                                                             \
            }                                                                                 \
            /* Stores go through copies of the accumulators: taking the address of acc     */ \
            /* itself (for memcpy) would make the compiler keep it in memory, not registers. */ \
            if (out_cs == 1) { /* rows of out contiguous: whole-vector stores */              \
                _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                         \
                    _Pragma("GCC unroll 4") for (int u = 0; u < U; u++) {                     \
                        VEC v = acc[r][u];                                                    \
                        memcpy(out + r * out_rs + l + u * (VLEN), &v, sizeof v);              \
                    }                                                                         \
            } else { /* out is C^T: element by element, each C row's entries adjacent */      \
                _Pragma("GCC unroll 4") for (int u = 0; u < U; u++)                           \
                    for (int j = 0; j < (VLEN); j++)                                          \
                        _Pragma("GCC unroll 8") for (int r = 0; r < (R); r++)                 \
                            out[r * out_rs + (l + u * (VLEN) + j) * out_cs] = acc[r][u][j];   \
            }                                                                                 \
        }                                                                                     \
        for (; l < length; l += (VLEN)) { /* the tail: one vector, maybe partial */           \
            ptrdiff_t width = length - l < (VLEN) ? length - l : (VLEN);                      \
            VEC acc[R];                                                                       \
            for (int r = 0; r < (R); r++) acc[r] = (VEC){0};                                  \
            for (ptrdiff_t p = 0; p < k; p++) {                                               \
                VEC s = (VEC){0};                                                             \
                memcpy(&s, src + p * src_rs + l, width * sizeof(REAL));                       \
                for (int r = 0; r < (R); r++)                                                 \
                    acc[r] += coef[r * coef_rs + p * coef_cs] * s;                            \
            }                                                                                 \
            for (ptrdiff_t j = 0; j < width; j++)                                             \
                for (int r = 0; r < (R); r++)                                                 \
                    out[r * out_rs + (l + j) * out_cs] = acc[r][j];                           \
        }                                                                                     \
    }
/* TINYGAN_ADD_TILE on the struct wrappers of the pairwise sum (arrays cannot be assigned). */
#define TINYGAN_ADD_TILE_S(into, term) TINYGAN_ADD_TILE((into).v, (term).v)
#else /* portable scalar version, same contract (one running sum: no long-k variant) */
#define TINYGAN_DEFINE_THIN_ROWS_LONG(NAME, REAL, VEC, VLEN, R)                               \
    TINYGAN_DEFINE_THIN_ROWS(NAME, REAL, VEC, VLEN, R)
#define TINYGAN_DEFINE_THIN_ROWS(NAME, REAL, VEC, VLEN, R)                                    \
    static void NAME(ptrdiff_t k, ptrdiff_t length, const REAL *coef, ptrdiff_t coef_rs,      \
                     ptrdiff_t coef_cs, const REAL *src, ptrdiff_t src_rs, REAL *out,         \
                     ptrdiff_t out_rs, ptrdiff_t out_cs)                                      \
    {                                                                                         \
        for (int r = 0; r < (R); r++)                                                         \
            for (ptrdiff_t l = 0; l < length; l++) {                                          \
                REAL sum = 0;                                                                 \
                for (ptrdiff_t p = 0; p < k; p++)                                             \
                    sum += coef[r * coef_rs + p * coef_cs] * src[p * src_rs + l];             \
                out[r * out_rs + l * out_cs] = sum;                                           \
            }                                                                                 \
    }
#endif

/* One driver per set of row kernels BASE_rows8..1 SUFFIX: SUFFIX is empty for the short-k
 * kernels, _long for the long-k ones. */
#define TINYGAN_DEFINE_THIN_DRIVER(NAME, BASE, REAL, SUFFIX, LINKAGE)                         \
    LINKAGE void NAME(ptrdiff_t rows, ptrdiff_t k, ptrdiff_t length, const REAL *coef,         \
                     ptrdiff_t coef_rs, ptrdiff_t coef_cs, const REAL *src, ptrdiff_t src_rs, \
                     REAL *out, ptrdiff_t out_rs, ptrdiff_t out_cs)                           \
    {                                                                                         \
        for (ptrdiff_t l = 0; l < length; l += TINYGAN_THIN_CHUNK) {                          \
            ptrdiff_t len = length - l < TINYGAN_THIN_CHUNK ? length - l : TINYGAN_THIN_CHUNK; \
            const REAL *s = src + l;                                                          \
            REAL *o = out + l * out_cs;                                                       \
            ptrdiff_t r = 0;                                                                  \
            for (; r + 8 <= rows; r += 8)                                                     \
                BASE##_rows8##SUFFIX(k, len, coef + r * coef_rs, coef_rs, coef_cs, s, src_rs, \
                                     o + r * out_rs, out_rs, out_cs);                         \
            if (rows - r >= 4) {                                                              \
                BASE##_rows4##SUFFIX(k, len, coef + r * coef_rs, coef_rs, coef_cs, s, src_rs, \
                                     o + r * out_rs, out_rs, out_cs);                         \
                r += 4;                                                                       \
            }                                                                                 \
            if (rows - r >= 2) {                                                              \
                BASE##_rows2##SUFFIX(k, len, coef + r * coef_rs, coef_rs, coef_cs, s, src_rs, \
                                     o + r * out_rs, out_rs, out_cs);                         \
                r += 2;                                                                       \
            }                                                                                 \
            if (rows - r >= 1)                                                                \
                BASE##_rows1##SUFFIX(k, len, coef + r * coef_rs, coef_rs, coef_cs, s, src_rs, \
                                     o + r * out_rs, out_rs, out_cs);                         \
        }                                                                                     \
    }

/* The whole thin product: chunks along l, and in each chunk the rows in groups of 8/4/2/1.
 * NAME is the kernel for k <= TINYGAN_THIN_KBLOCK (the original one, unchanged, so the compiler
 * specialises it as before); NAME_long_k sums a longer k pairwise. gemm.pyx picks one by k. */
#define TINYGAN_DEFINE_THIN(NAME, REAL, VEC, VLEN)                                            \
    TINYGAN_DEFINE_THIN_ROWS(NAME##_rows8, REAL, VEC, VLEN, 8)                                \
    TINYGAN_DEFINE_THIN_ROWS(NAME##_rows4, REAL, VEC, VLEN, 4)                                \
    TINYGAN_DEFINE_THIN_ROWS(NAME##_rows2, REAL, VEC, VLEN, 2)                                \
    TINYGAN_DEFINE_THIN_ROWS(NAME##_rows1, REAL, VEC, VLEN, 1)                                \
    TINYGAN_DEFINE_THIN_DRIVER(NAME, NAME, REAL, , static)                                    \
    TINYGAN_DEFINE_THIN_ROWS_LONG(NAME##_rows8_long, REAL, VEC, VLEN, 8)                      \
    TINYGAN_DEFINE_THIN_ROWS_LONG(NAME##_rows4_long, REAL, VEC, VLEN, 4)                      \
    TINYGAN_DEFINE_THIN_ROWS_LONG(NAME##_rows2_long, REAL, VEC, VLEN, 2)                      \
    TINYGAN_DEFINE_THIN_ROWS_LONG(NAME##_rows1_long, REAL, VEC, VLEN, 1)                      \
    TINYGAN_DEFINE_THIN_DRIVER(NAME##_long_k, NAME, REAL, _long, TINYGAN_NOINLINE)
#if defined(__GNUC__)
TINYGAN_DEFINE_THIN(tinygan_thin_f32, float, vf32, TINYGAN_VLEN_F32)
TINYGAN_DEFINE_THIN(tinygan_thin_f64, double, vf64, TINYGAN_VLEN_F64)
#else
TINYGAN_DEFINE_THIN(tinygan_thin_f32, float, float, 1)
TINYGAN_DEFINE_THIN(tinygan_thin_f64, double, double, 1)
#endif

/* What build_info() reports: were OpenMP and -march=native used (setup.py defines the
 * TINYGAN_* macros; _OPENMP is the compiler's own). */
#if defined(TINYGAN_OPENMP) || defined(_OPENMP)
#define TINYGAN_HAVE_OPENMP 1
#else
#define TINYGAN_HAVE_OPENMP 0
#endif
#if defined(TINYGAN_NATIVE)
#define TINYGAN_HAVE_NATIVE 1
#else
#define TINYGAN_HAVE_NATIVE 0
#endif

#endif /* TINYGAN_GEMM_MICROKERNEL_H */
