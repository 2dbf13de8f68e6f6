/*
 * parser-avx2.c - AVX2 line-start scanner for the push parser.
 *
 * Compiled with -mavx2 in its own archive; only called when the CPU has
 * AVX2.  Looks at 32 line-break candidates per step: a byte is a hit when
 * it is '\n' and the byte after it is one the caller cares about ('-' for
 * boundaries, 'F'/'>' for mbox), so a body is crossed at memory speed
 * instead of line by line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <immintrin.h>
#include <string.h>

#include "parser-priv.h"

size_t mimeo__parser_scan_avx2(const char *s, size_t n, unsigned mask)
{
	const __m256i nl = _mm256_set1_epi8('\n');
	const __m256i dash = _mm256_set1_epi8('-');
	const __m256i eff = _mm256_set1_epi8('F');
	const __m256i gt = _mm256_set1_epi8('>');
	const __m256i zero = _mm256_setzero_si256();
	const __m256i dmask = (mask & MIMEO__SCAN_DASH) ? _mm256_set1_epi8(-1) : zero;
	const __m256i fmask = (mask & MIMEO__SCAN_FROM) ? _mm256_set1_epi8(-1) : zero;
	size_t i = 0;

	/* Two vectors per round: the common case is a long body without a
	 * single hit. */
	while (i + 65 <= n) {
		__m256i a0 = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i b0 = _mm256_loadu_si256((const __m256i *)(s + i + 1));
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(s + i + 32));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(s + i + 33));
		__m256i n0 = _mm256_cmpeq_epi8(a0, nl);
		__m256i n1 = _mm256_cmpeq_epi8(a1, nl);

		if (_mm256_testz_si256(_mm256_or_si256(n0, n1), _mm256_or_si256(n0, n1))) {
			i += 64;
			continue;
		}
		{
			__m256i c0 = _mm256_or_si256(
				_mm256_and_si256(_mm256_cmpeq_epi8(b0, dash), dmask),
				_mm256_and_si256(_mm256_or_si256(_mm256_cmpeq_epi8(b0, eff),
								 _mm256_cmpeq_epi8(b0, gt)), fmask));
			__m256i c1 = _mm256_or_si256(
				_mm256_and_si256(_mm256_cmpeq_epi8(b1, dash), dmask),
				_mm256_and_si256(_mm256_or_si256(_mm256_cmpeq_epi8(b1, eff),
								 _mm256_cmpeq_epi8(b1, gt)), fmask));
			unsigned m0 = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(n0, c0));
			unsigned m1 = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(n1, c1));

			if (m0)
				return i + (size_t)__builtin_ctz(m0);
			if (m1)
				return i + 32 + (size_t)__builtin_ctz(m1);
		}
		i += 64;
	}
	return i + mimeo__parser_scan_scalar(s + i, n - i, mask);
}
