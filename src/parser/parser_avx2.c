/*
 * parser_avx2.c - AVX2 line-start scanner for the push parser.
 *
 * Compiled with -mavx2 in its own archive; only called when the CPU has
 * AVX2.  A hit is a '\n' followed by a character the caller cares about
 * ('-' for boundaries, 'F'/'>' for mbox).  Each 64-byte block gives two
 * 64-bit masks (line feeds, interesting characters); hits are
 * lf & (chars >> 1), with the block's last line feed carried into the next
 * block, so a body is crossed at memory speed instead of line by line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <immintrin.h>
#include <stdint.h>

#include "parser-priv.h"

static inline uint64_t mask64(__m256i a, __m256i b)
{
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(a) |
	       ((uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32);
}

static inline __m256i interesting(__m256i v, unsigned mask)
{
	__m256i r = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('-'));

	if (mask & MIMEO__SCAN_FROM) {
		r = _mm256_or_si256(r, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('F')));
		r = _mm256_or_si256(r, _mm256_cmpeq_epi8(v, _mm256_set1_epi8('>')));
	}
	if (!(mask & MIMEO__SCAN_DASH))
		r = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('-')), r);
	return r;
}

static inline int in_set(char c, unsigned mask)
{
	return ((mask & MIMEO__SCAN_DASH) && c == '-') ||
	       ((mask & MIMEO__SCAN_FROM) && (c == 'F' || c == '>'));
}

size_t mimeo__parser_scan_avx2(const char *s, size_t n, unsigned mask)
{
	const __m256i nl = _mm256_set1_epi8('\n');
	uint64_t carry = 0;   /* the byte before the block is '\n' */
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
		uint64_t lf = mask64(_mm256_cmpeq_epi8(a, nl), _mm256_cmpeq_epi8(b, nl));
		uint64_t hit;

		if (carry && in_set(s[i], mask))
			return i - 1;
		carry = lf >> 63;
		if (!lf)
			continue;
		hit = lf & (mask64(interesting(a, mask), interesting(b, mask)) >> 1);
		if (hit)
			return i + (size_t)__builtin_ctzll(hit);
	}
	if (carry && i < n && in_set(s[i], mask))
		return i - 1;
	return i + mimeo__parser_scan_scalar(s + i, n - i, mask);
}
