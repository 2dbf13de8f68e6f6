/*
 * parser_avx512.c - AVX-512BW line-start scanner for the push parser.
 *
 * Same contract and method as parser_avx2.c with one 64-byte vector and
 * mask registers per block: a load, two or four compares and a shift.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <immintrin.h>
#include <stdint.h>

#include "parser-priv.h"

static inline int in_set(char c, unsigned mask)
{
	return ((mask & MIMEO__SCAN_DASH) && c == '-') ||
	       ((mask & MIMEO__SCAN_FROM) && (c == 'F' || c == '>'));
}

size_t mimeo__parser_scan_avx512(const char *s, size_t n, unsigned mask)
{
	const __m512i nl = _mm512_set1_epi8('\n');
	const __m512i dash = _mm512_set1_epi8('-');
	const __m512i eff = _mm512_set1_epi8('F');
	const __m512i gt = _mm512_set1_epi8('>');
	uint64_t carry = 0;   /* the byte before the block is '\n' */
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		__m512i v = _mm512_loadu_si512((const void *)(s + i));
		uint64_t lf = _mm512_cmpeq_epi8_mask(v, nl), c = 0, hit;

		if (carry && in_set(s[i], mask))
			return i - 1;
		carry = lf >> 63;
		if (!lf)
			continue;
		if (mask & MIMEO__SCAN_DASH)
			c = _mm512_cmpeq_epi8_mask(v, dash);
		if (mask & MIMEO__SCAN_FROM)
			c |= _mm512_cmpeq_epi8_mask(v, eff) | _mm512_cmpeq_epi8_mask(v, gt);
		hit = lf & (c >> 1);
		if (hit)
			return i + (size_t)__builtin_ctzll(hit);
	}
	if (carry && i < n && in_set(s[i], mask))
		return i - 1;
	return i + mimeo__parser_scan_scalar(s + i, n - i, mask);
}
