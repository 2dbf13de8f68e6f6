/*
 * qp_avx2.c - AVX2 quoted-printable encoder classifier, built with -mavx2
 * in the AVX2 archive and called only when cpu.c found AVX2.
 *
 * Marks, 32 bytes at a time, the bytes the encoder copies as they are (see
 * codec-priv.h); qp.c copies the runs and handles every other byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>

static inline uint32_t lit32(const unsigned char *p, int brk)
{
	__m256i v = _mm256_loadu_si256((const __m256i *)p);
	/* 33..126 with signed compares: bytes >= 128 are negative. */
	__m256i lit = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(32)),
				       _mm256_cmpgt_epi8(_mm256_set1_epi8(127), v));
	__m256i ws = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')),
				     _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')));

	lit = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('=')), lit);
	if (brk >= 0) {
		/* Whitespace before a line break is encoded (rule 3). */
		__m256i vn = _mm256_loadu_si256((const __m256i *)(p + 1));

		ws = _mm256_andnot_si256(_mm256_cmpeq_epi8(vn, _mm256_set1_epi8((char)brk)), ws);
	}
	return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(lit, ws));
}

uint64_t mimeo__qp_lit_mask_avx2(const unsigned char *p, int brk)
{
	return (uint64_t)lit32(p, brk) | (uint64_t)lit32(p + 32, brk) << 32;
}
