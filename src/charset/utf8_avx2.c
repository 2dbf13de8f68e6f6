/*
 * utf8_avx2.c - AVX2 UTF-8 validation kernel, built with -mavx2 in the
 * AVX2 archive and called (from utf8.c) only when cpu.c found AVX2.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-priv.h"

#include <immintrin.h>
#include <stdint.h>

/*
 * AVX2 validation, 32 bytes per step, after Keiser and Lemire, "Validating
 * UTF-8 In Less Than One Instruction Per Byte" (Software: Practice and
 * Experience, 2021).  Every byte is checked against the byte before it with
 * three 16-entry nibble tables (high and low nibble of the previous byte,
 * high nibble of this one); each table entry is a set of error classes, and
 * the pair is invalid when all three share one.  Third and fourth bytes of
 * a sequence, which are continuations after continuations, are told apart
 * by looking two and three bytes back.
 *
 * The kernel only proves blocks valid; as soon as a block is not (or ends
 * inside a character, or the input has less than a block left) it stops,
 * and the scalar validator finishes from the last character boundary.  So
 * the result (the longest valid prefix) is the scalar one by construction.
 */

enum {                          /* error classes of a (previous, this) pair */
	U8E_SHORT = 0x01,       /* lead byte not followed by a continuation */
	U8E_LONG = 0x02,        /* continuation right after ASCII */
	U8E_OVER3 = 0x04,       /* E0 80..9F: overlong three-byte form */
	U8E_LARGE = 0x08,       /* F4 90..BF or F5..FF 90..BF: above U+10FFFF */
	U8E_SURR = 0x10,        /* ED A0..BF: UTF-16 surrogate */
	U8E_OVER2 = 0x20,       /* C0 or C1 then continuation: overlong */
	U8E_OVER4 = 0x40,       /* F0 80..8F overlong, or F5..FF 80..8F too large */
	U8E_CONT2 = 0x80        /* continuation after continuation (fine only as
				   the third or fourth byte of a sequence) */
};
#define U8E_ANY (U8E_SHORT | U8E_LONG | U8E_CONT2) /* decided by high nibbles */

static __m256i u8_table(const signed char t[16])
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)t);

	return _mm256_broadcastsi128_si256(x);
}

/* The 32 bytes before each byte of `in`, shifted by n (1..3) from `prev`. */
#define U8_BEFORE(in, prev, n) \
	_mm256_alignr_epi8((in), _mm256_permute2x128_si256((prev), (in), 0x21), 16 - (n))

/* Nonzero lanes where the pair (byte before, byte) or the sequence length
 * is wrong. */
static __m256i u8_block_errors(__m256i in, __m256i prev, const __m256i tab[3])
{
	const __m256i nib = _mm256_set1_epi8(0x0F);
	__m256i p1 = U8_BEFORE(in, prev, 1), p2 = U8_BEFORE(in, prev, 2);
	__m256i p3 = U8_BEFORE(in, prev, 3);
	__m256i hi1 = _mm256_shuffle_epi8(tab[0], _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
	__m256i lo1 = _mm256_shuffle_epi8(tab[1], _mm256_and_si256(p1, nib));
	__m256i hi2 = _mm256_shuffle_epi8(tab[2], _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
	__m256i pair = _mm256_and_si256(_mm256_and_si256(hi1, lo1), hi2);
	/* 0x80 where this byte must be the third (two back is E0..FF) or
	 * fourth (three back is F0..FF) byte of a sequence */
	__m256i third = _mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
	__m256i fourth = _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
	__m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));

	/* A needed continuation after a continuation cancels U8E_CONT2; a
	 * missing one leaves 0x80. */
	return _mm256_xor_si256(must, pair);
}

/* Nonzero when the block ends inside a character: one of its last three
 * bytes is a lead byte whose sequence runs past it. */
static int u8_ends_cut(__m256i in)
{
	const __m256i max = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		(char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));

	return !_mm256_testz_si256(_mm256_subs_epu8(in, max), _mm256_subs_epu8(in, max));
}

/* Length of the prefix of s[0..n) proven valid, ending where a block ends
 * on a character boundary (the rest is for the scalar validator). */
size_t mimeo__utf8_blocks_avx2(const unsigned char *s, size_t n)
{
	static const signed char hi1[16] = {
		U8E_LONG, U8E_LONG, U8E_LONG, U8E_LONG, U8E_LONG, U8E_LONG, U8E_LONG, U8E_LONG,
		(signed char)U8E_CONT2, (signed char)U8E_CONT2, (signed char)U8E_CONT2,
		(signed char)U8E_CONT2,
		U8E_SHORT | U8E_OVER2,                              /* C_ */
		U8E_SHORT,                                          /* D_ */
		U8E_SHORT | U8E_OVER3 | U8E_SURR,                   /* E_ */
		(signed char)(U8E_SHORT | U8E_LARGE | U8E_OVER4),   /* F_ */
	};
	static const signed char lo1[16] = {
		(signed char)(U8E_ANY | U8E_OVER2 | U8E_OVER3 | U8E_OVER4), /* C0 E0 F0 */
		(signed char)(U8E_ANY | U8E_OVER2),                         /* C1 */
		(signed char)U8E_ANY, (signed char)U8E_ANY,
		(signed char)(U8E_ANY | U8E_LARGE),                         /* F4 */
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),             /* F5.. */
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4 | U8E_SURR),  /* ED */
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
		(signed char)(U8E_ANY | U8E_LARGE | U8E_OVER4),
	};
	static const signed char hi2[16] = {
		U8E_SHORT, U8E_SHORT, U8E_SHORT, U8E_SHORT, U8E_SHORT, U8E_SHORT, U8E_SHORT,
		U8E_SHORT,
		(signed char)(U8E_LONG | U8E_CONT2 | U8E_OVER2 | U8E_OVER3 | U8E_OVER4), /* 8_ */
		(signed char)(U8E_LONG | U8E_CONT2 | U8E_OVER2 | U8E_OVER3 | U8E_LARGE), /* 9_ */
		(signed char)(U8E_LONG | U8E_CONT2 | U8E_OVER2 | U8E_SURR | U8E_LARGE),  /* A_ */
		(signed char)(U8E_LONG | U8E_CONT2 | U8E_OVER2 | U8E_SURR | U8E_LARGE),  /* B_ */
		U8E_SHORT, U8E_SHORT, U8E_SHORT, U8E_SHORT,
	};
	__m256i tab[3], prev = _mm256_setzero_si256();
	size_t i = 0;

	tab[0] = u8_table(hi1);
	tab[1] = u8_table(lo1);
	tab[2] = u8_table(hi2);
	for (; i + 32 <= n; i += 32) {
		__m256i in = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));

		if (_mm256_movemask_epi8(in) == 0) {
			/* All ASCII: fine unless the last block left a
			 * character open. */
			if (u8_ends_cut(prev))
				break;
		} else {
			__m256i err = u8_block_errors(in, prev, tab);

			if (!_mm256_testz_si256(err, err))
				break;
		}
		prev = in;
	}
	/* Back to the start of the character the proven bytes end in (it may
	 * continue into the block that was not proven). */
	{
		size_t q = i, k;

		for (k = 0; k < 3 && q > 0 && (s[q - 1] & 0xC0) == 0x80; k++)
			q--;
		if (q > 0 && s[q - 1] >= 0xC0)
			q--;
		return q;
	}
}
