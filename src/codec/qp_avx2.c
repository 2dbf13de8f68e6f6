/*
 * qp_avx2.c - AVX2 quoted-printable encoder kernels, built with -mavx2 in
 * the AVX2 archive and called only when cpu.c found AVX2.
 *
 * The classifier marks, 32 bytes at a time, the bytes the encoder copies
 * as they are and the line-break bytes (see codec-priv.h); qp.c copies the
 * runs.  The escape writer turns 16 bytes into 48 characters "=XX..." with
 * nibble lookups and byte shuffles, for 8-bit text where most bytes are
 * escaped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>

static inline uint32_t lit32(const unsigned char *p, int brk, uint32_t *bm)
{
	__m256i v = _mm256_loadu_si256((const __m256i *)p);
	/* 33..126 with signed compares: bytes >= 128 are negative. */
	__m256i lit = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(32)),
				       _mm256_cmpgt_epi8(_mm256_set1_epi8(127), v));
	__m256i ws = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')),
				     _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')));

	lit = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('=')), lit);
	*bm = 0;
	if (brk >= 0) {
		/* Whitespace before a line break is encoded (rule 3). */
		__m256i b = _mm256_set1_epi8((char)brk);
		__m256i vn = _mm256_loadu_si256((const __m256i *)(p + 1));

		ws = _mm256_andnot_si256(_mm256_cmpeq_epi8(vn, b), ws);
		*bm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, b));
	}
	return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(lit, ws));
}

uint64_t mimeo__qp_lit_mask_avx2(const unsigned char *p, int brk, uint64_t *brkm)
{
	uint32_t b0, b1;
	uint64_t m = (uint64_t)lit32(p, brk, &b0) | (uint64_t)lit32(p + 32, brk, &b1) << 32;

	*brkm = (uint64_t)b0 | (uint64_t)b1 << 32;
	return m;
}

/* 16 bytes -> 48 characters "=XX" at o. */
static inline void esc16(const unsigned char *p, unsigned char *o)
{
	const __m128i hex = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
					  'A', 'B', 'C', 'D', 'E', 'F');
	const __m128i nib = _mm_set1_epi8(0x0F);
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i hi = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16(x, 4), nib));
	__m128i lo = _mm_shuffle_epi8(hex, _mm_and_si128(x, nib));
	/* a = h0 l0 .. h7 l7, b = h8 l8 .. h15 l15; -1 picks a zero, which
	 * the OR with `eq` turns into '='. */
	__m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
	const __m128i eq0 = _mm_setr_epi8('=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=');
	const __m128i eq1 = _mm_setr_epi8(0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0);
	const __m128i eq2 = _mm_setr_epi8(0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0);
	__m128i o0 = _mm_shuffle_epi8(a, _mm_setr_epi8(-1, 0, 1, -1, 2, 3, -1, 4, 5, -1, 6, 7,
						       -1, 8, 9, -1));
	__m128i o1 = _mm_or_si128(
		_mm_shuffle_epi8(a, _mm_setr_epi8(10, 11, -1, 12, 13, -1, 14, 15, -1, -1, -1, -1,
						  -1, -1, -1, -1)),
		_mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, -1,
						  2, 3, -1, 4)));
	__m128i o2 = _mm_shuffle_epi8(b, _mm_setr_epi8(5, -1, 6, 7, -1, 8, 9, -1, 10, 11, -1,
						       12, 13, -1, 14, 15));

	_mm_storeu_si128((__m128i *)o, _mm_or_si128(o0, eq0));
	_mm_storeu_si128((__m128i *)(o + 16), _mm_or_si128(o1, eq1));
	_mm_storeu_si128((__m128i *)(o + 32), _mm_or_si128(o2, eq2));
}

void mimeo__qp_esc_avx2(const unsigned char *p, unsigned n, unsigned char *o)
{
	esc16(p, o);
	if (n > 16)
		esc16(p + 16, o + 48);
}
