/*
 * transpose.h -- a blocked transpose, for the layout changes of the kernels: conv.pyx's between
 * the (C, pixels) and (pixels, C) layouts of its indirect GEMM, gemm.pyx's of a product computed
 * as its transpose (C^T = B^T A^T).
 */
#ifndef TINYGAN_TRANSPOSE_H
#define TINYGAN_TRANSPOSE_H

#include <stddef.h>

#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TINYGAN_TRANSPOSE_AVX512 1
#endif

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
#ifdef TINYGAN_TRANSPOSE_AVX512
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

#endif /* TINYGAN_TRANSPOSE_H */
