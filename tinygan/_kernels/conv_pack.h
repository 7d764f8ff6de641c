/*
 * conv_pack.h -- the data movement of conv.pyx: the gather at the heart of its implicit GEMM,
 * and the transpose between the (C, pixels) and (pixels, C) layouts of its indirect GEMM.
 *
 * Packing a sliver of the (never stored) column matrix reads one value per column from the
 * padded image, at an address from a table: dst[j] = src[index[j]]. gcc does not vectorise
 * that loop on its own (it judges vector gathers unprofitable for this CPU family), so with
 * AVX-512 it is written with the gather instruction: 8 addresses (64-bit) per instruction.
 * Measured on a Sapphire Rapids VM, 64-value slivers of the DCGAN's 64->128 layer: about
 * 0.4 ns per value against 0.8 ns for the scalar loop (best of 3 runs, noisy machine).
 * Elsewhere the plain loop, with the same result.
 */
#ifndef TINYGAN_CONV_PACK_H
#define TINYGAN_CONV_PACK_H

#include <stddef.h>

#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TINYGAN_GATHER_AVX512 1
#endif

/* dst[j] = src[index[j]] for 0 <= j < n (float32). */
static inline void tinygan_gather_f32(float *dst, const float *src, const ptrdiff_t *index,
                                      ptrdiff_t n)
{
    ptrdiff_t j = 0;
#ifdef TINYGAN_GATHER_AVX512
    for (; j + 8 <= n; j += 8) {
        __m512i at = _mm512_loadu_si512((const void *)(index + j));
        _mm256_storeu_ps(dst + j, _mm512_i64gather_ps(at, (const void *)src, 4));
    }
#endif
    for (; j < n; j++) {
        dst[j] = src[index[j]];
    }
}

/* dst[j] = src[index[j]] for 0 <= j < n (float64). */
static inline void tinygan_gather_f64(double *dst, const double *src, const ptrdiff_t *index,
                                      ptrdiff_t n)
{
    ptrdiff_t j = 0;
#ifdef TINYGAN_GATHER_AVX512
    for (; j + 8 <= n; j += 8) {
        __m512i at = _mm512_loadu_si512((const void *)(index + j));
        _mm512_storeu_pd(dst + j, _mm512_i64gather_pd(at, (const void *)src, 8));
    }
#endif
    for (; j < n; j++) {
        dst[j] = src[index[j]];
    }
}

/* dst[at[j] + i] = src[i * src_rs + j] for i < rows, j < cols: a transpose whose destination
 * rows (one per source column j) start wherever the table `at` says. With at[j] = j * dst_rs
 * it is the plain transpose ((C, pixels) -> (pixels, C) and back); with a table that skips a
 * border it writes the image's pixels straight into a zero-padded channels-last copy.
 *
 * Element by element, one of the two sides is read or written with a stride, a cache line
 * for every value. So it goes in 16 x 16 blocks: with AVX-512, 16 rows of 16 floats are loaded
 * into registers, transposed there by four rounds of shuffles (pairs of values, then pairs of
 * pairs, then 128-bit quarters, then halves: each round halves the distance of the values
 * still to be swapped), and stored as 16 rows; elsewhere the same block by scalar copies,
 * whose 16 + 16 cache lines stay in L1. Measured on the phases' output (64 images of
 * 196 x 64 floats, one thread): 0.60 ms copying runs of 16, 0.40 ms in register blocks. */
#ifdef TINYGAN_GATHER_AVX512
static inline int tinygan_transpose_block16_f32(const float *src, ptrdiff_t src_rs, float *dst,
                                                const ptrdiff_t *at)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * src_rs);
    for (int i = 0; i < 16; i += 2) {                 /* pairs of neighbouring values */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {                 /* pairs of pairs */
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 16; i += 8) {                 /* 128-bit quarters */
        for (int k = 0; k < 4; k++) {
            t[i + k] = _mm512_shuffle_f32x4(r[i + k], r[i + k + 4], 0x88);
            t[i + k + 4] = _mm512_shuffle_f32x4(r[i + k], r[i + k + 4], 0xDD);
        }
    }
    for (int k = 0; k < 8; k++) {                     /* halves */
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xDD);
    }
    for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + at[j], r[j]);
    return 1;
}
#define TINYGAN_BLOCK16_float tinygan_transpose_block16_f32
#else
#define TINYGAN_BLOCK16_float(s, src_rs, d, at) 0 /* no register blocks: copy it */
#endif
#define TINYGAN_BLOCK16_double(s, src_rs, d, at) 0


/* One transpose per dtype: full 16 x 16 blocks through TINYGAN_BLOCK16_<type> when it has
 * registers for them (it returns 1), everything else by the scalar copy of the block. */
#define TINYGAN_DEFINE_TRANSPOSE(NAME, REAL)                                                 \
    static inline void NAME(const REAL *src, ptrdiff_t src_rs, REAL *dst,                   \
                            const ptrdiff_t *at, ptrdiff_t rows, ptrdiff_t cols)            \
    {                                                                                       \
        for (ptrdiff_t j0 = 0; j0 < cols; j0 += 16) {                                       \
            for (ptrdiff_t i0 = 0; i0 < rows; i0 += 16) {                                   \
                const REAL *s = src + i0 * src_rs + j0;                                     \
                if (i0 + 16 <= rows && j0 + 16 <= cols &&                                   \
                    TINYGAN_BLOCK16_##REAL(s, src_rs, dst + i0, at + j0))                   \
                    continue;                                                               \
                ptrdiff_t i1 = rows - i0 < 16 ? rows - i0 : 16;                             \
                ptrdiff_t j1 = cols - j0 < 16 ? cols - j0 : 16;                             \
                for (ptrdiff_t j = 0; j < j1; j++)                                          \
                    for (ptrdiff_t i = 0; i < i1; i++)                                      \
                        dst[at[j0 + j] + i0 + i] = s[i * src_rs + j];                       \
            }                                                                               \
        }                                                                                   \
    }
TINYGAN_DEFINE_TRANSPOSE(tinygan_transpose_f32, float)
TINYGAN_DEFINE_TRANSPOSE(tinygan_transpose_f64, double)

#endif /* TINYGAN_CONV_PACK_H */
