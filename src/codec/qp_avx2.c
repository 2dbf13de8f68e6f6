/*
 * qp_avx2.c - AVX2 quoted-printable kernels, built with -mavx2 in the AVX2
 * archive and called only when cpu.c found AVX2.  No pext/pdep: they are
 * microcoded (hundreds of cycles) on AMD before Zen 3.
 *
 * Decoder: 32 bytes at a time, classified at once like the AVX-512 kernel
 * (qp_avx512.c): '=' and two hex digits become the decoded byte, soft line
 * breaks vanish, and what needs the full rules of RFC 2045 6.7 stops the
 * kernel.  AVX2 has no byte compress, so the bytes kept are gathered 8 at
 * a time with a shuffle from a 256-entry table.
 *
 * Encoder: the classifier marks, 32 bytes at a time, the bytes copied as
 * they are and the line-break bytes (see codec-priv.h); qp.c copies the
 * runs.  The escape writer turns 16 bytes into 48 characters "=XX..." with
 * nibble lookups and byte shuffles.  The segment encoder writes up to 16
 * bytes, literal and escaped alike, 4 at a time through a 16-entry shuffle
 * table, for 8-bit text where escapes and literals alternate.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>
#include <string.h>

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

/* ---- decoder ---- */

/* keep8[m]: the shuffle that gathers the bytes whose bit is set in m to
 * the front of an 8-byte group (byte j = index of the j-th set bit, 0x80
 * for none).  Generated: for m in 0..255, the indices i with m >> i & 1,
 * padded with 0x80, packed little-endian. */
static const uint64_t keep8[256] = {
	0x8080808080808080ull, 0x8080808080808000ull, 0x8080808080808001ull, 0x8080808080800100ull,
	0x8080808080808002ull, 0x8080808080800200ull, 0x8080808080800201ull, 0x8080808080020100ull,
	0x8080808080808003ull, 0x8080808080800300ull, 0x8080808080800301ull, 0x8080808080030100ull,
	0x8080808080800302ull, 0x8080808080030200ull, 0x8080808080030201ull, 0x8080808003020100ull,
	0x8080808080808004ull, 0x8080808080800400ull, 0x8080808080800401ull, 0x8080808080040100ull,
	0x8080808080800402ull, 0x8080808080040200ull, 0x8080808080040201ull, 0x8080808004020100ull,
	0x8080808080800403ull, 0x8080808080040300ull, 0x8080808080040301ull, 0x8080808004030100ull,
	0x8080808080040302ull, 0x8080808004030200ull, 0x8080808004030201ull, 0x8080800403020100ull,
	0x8080808080808005ull, 0x8080808080800500ull, 0x8080808080800501ull, 0x8080808080050100ull,
	0x8080808080800502ull, 0x8080808080050200ull, 0x8080808080050201ull, 0x8080808005020100ull,
	0x8080808080800503ull, 0x8080808080050300ull, 0x8080808080050301ull, 0x8080808005030100ull,
	0x8080808080050302ull, 0x8080808005030200ull, 0x8080808005030201ull, 0x8080800503020100ull,
	0x8080808080800504ull, 0x8080808080050400ull, 0x8080808080050401ull, 0x8080808005040100ull,
	0x8080808080050402ull, 0x8080808005040200ull, 0x8080808005040201ull, 0x8080800504020100ull,
	0x8080808080050403ull, 0x8080808005040300ull, 0x8080808005040301ull, 0x8080800504030100ull,
	0x8080808005040302ull, 0x8080800504030200ull, 0x8080800504030201ull, 0x8080050403020100ull,
	0x8080808080808006ull, 0x8080808080800600ull, 0x8080808080800601ull, 0x8080808080060100ull,
	0x8080808080800602ull, 0x8080808080060200ull, 0x8080808080060201ull, 0x8080808006020100ull,
	0x8080808080800603ull, 0x8080808080060300ull, 0x8080808080060301ull, 0x8080808006030100ull,
	0x8080808080060302ull, 0x8080808006030200ull, 0x8080808006030201ull, 0x8080800603020100ull,
	0x8080808080800604ull, 0x8080808080060400ull, 0x8080808080060401ull, 0x8080808006040100ull,
	0x8080808080060402ull, 0x8080808006040200ull, 0x8080808006040201ull, 0x8080800604020100ull,
	0x8080808080060403ull, 0x8080808006040300ull, 0x8080808006040301ull, 0x8080800604030100ull,
	0x8080808006040302ull, 0x8080800604030200ull, 0x8080800604030201ull, 0x8080060403020100ull,
	0x8080808080800605ull, 0x8080808080060500ull, 0x8080808080060501ull, 0x8080808006050100ull,
	0x8080808080060502ull, 0x8080808006050200ull, 0x8080808006050201ull, 0x8080800605020100ull,
	0x8080808080060503ull, 0x8080808006050300ull, 0x8080808006050301ull, 0x8080800605030100ull,
	0x8080808006050302ull, 0x8080800605030200ull, 0x8080800605030201ull, 0x8080060503020100ull,
	0x8080808080060504ull, 0x8080808006050400ull, 0x8080808006050401ull, 0x8080800605040100ull,
	0x8080808006050402ull, 0x8080800605040200ull, 0x8080800605040201ull, 0x8080060504020100ull,
	0x8080808006050403ull, 0x8080800605040300ull, 0x8080800605040301ull, 0x8080060504030100ull,
	0x8080800605040302ull, 0x8080060504030200ull, 0x8080060504030201ull, 0x8006050403020100ull,
	0x8080808080808007ull, 0x8080808080800700ull, 0x8080808080800701ull, 0x8080808080070100ull,
	0x8080808080800702ull, 0x8080808080070200ull, 0x8080808080070201ull, 0x8080808007020100ull,
	0x8080808080800703ull, 0x8080808080070300ull, 0x8080808080070301ull, 0x8080808007030100ull,
	0x8080808080070302ull, 0x8080808007030200ull, 0x8080808007030201ull, 0x8080800703020100ull,
	0x8080808080800704ull, 0x8080808080070400ull, 0x8080808080070401ull, 0x8080808007040100ull,
	0x8080808080070402ull, 0x8080808007040200ull, 0x8080808007040201ull, 0x8080800704020100ull,
	0x8080808080070403ull, 0x8080808007040300ull, 0x8080808007040301ull, 0x8080800704030100ull,
	0x8080808007040302ull, 0x8080800704030200ull, 0x8080800704030201ull, 0x8080070403020100ull,
	0x8080808080800705ull, 0x8080808080070500ull, 0x8080808080070501ull, 0x8080808007050100ull,
	0x8080808080070502ull, 0x8080808007050200ull, 0x8080808007050201ull, 0x8080800705020100ull,
	0x8080808080070503ull, 0x8080808007050300ull, 0x8080808007050301ull, 0x8080800705030100ull,
	0x8080808007050302ull, 0x8080800705030200ull, 0x8080800705030201ull, 0x8080070503020100ull,
	0x8080808080070504ull, 0x8080808007050400ull, 0x8080808007050401ull, 0x8080800705040100ull,
	0x8080808007050402ull, 0x8080800705040200ull, 0x8080800705040201ull, 0x8080070504020100ull,
	0x8080808007050403ull, 0x8080800705040300ull, 0x8080800705040301ull, 0x8080070504030100ull,
	0x8080800705040302ull, 0x8080070504030200ull, 0x8080070504030201ull, 0x8007050403020100ull,
	0x8080808080800706ull, 0x8080808080070600ull, 0x8080808080070601ull, 0x8080808007060100ull,
	0x8080808080070602ull, 0x8080808007060200ull, 0x8080808007060201ull, 0x8080800706020100ull,
	0x8080808080070603ull, 0x8080808007060300ull, 0x8080808007060301ull, 0x8080800706030100ull,
	0x8080808007060302ull, 0x8080800706030200ull, 0x8080800706030201ull, 0x8080070603020100ull,
	0x8080808080070604ull, 0x8080808007060400ull, 0x8080808007060401ull, 0x8080800706040100ull,
	0x8080808007060402ull, 0x8080800706040200ull, 0x8080800706040201ull, 0x8080070604020100ull,
	0x8080808007060403ull, 0x8080800706040300ull, 0x8080800706040301ull, 0x8080070604030100ull,
	0x8080800706040302ull, 0x8080070604030200ull, 0x8080070604030201ull, 0x8007060403020100ull,
	0x8080808080070605ull, 0x8080808007060500ull, 0x8080808007060501ull, 0x8080800706050100ull,
	0x8080808007060502ull, 0x8080800706050200ull, 0x8080800706050201ull, 0x8080070605020100ull,
	0x8080808007060503ull, 0x8080800706050300ull, 0x8080800706050301ull, 0x8080070605030100ull,
	0x8080800706050302ull, 0x8080070605030200ull, 0x8080070605030201ull, 0x8007060503020100ull,
	0x8080808007060504ull, 0x8080800706050400ull, 0x8080800706050401ull, 0x8080070605040100ull,
	0x8080800706050402ull, 0x8080070605040200ull, 0x8080070605040201ull, 0x8007060504020100ull,
	0x8080800706050403ull, 0x8080070605040300ull, 0x8080070605040301ull, 0x8007060504030100ull,
	0x8080070605040302ull, 0x8007060504030200ull, 0x8007060504030201ull, 0x0706050403020100ull,
};

/* Hex digits by nibble lookups: hi_cls[c >> 4] & lo_cls[c & 15] is
 * non-zero for '0'-'9' (bit 1) and 'A'-'F'/'a'-'f' (bit 2). */
#define HI_CLS 0, 0, 0, 1, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define LO_CLS 1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 0, 0, 0, 0, 0, 0
/* A digit's value is its low nibble, plus 9 for a letter (high nibble 4
 * or 6); the same shifted left by 4, which wraps within the byte. */
#define HI_ADD 0, 0, 0, 0, 9, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define HI_ADD4 0, 0, 0, 0, (char)0x90, 0, (char)0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define LO_SHL4 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, (char)0x80, (char)0x90, \
	(char)0xA0, (char)0xB0, (char)0xC0, (char)0xD0, (char)0xE0, (char)0xF0

static inline __m256i hi_nibbles(__m256i c)
{
	return _mm256_and_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi8(0x0F));
}

/* keep8hi[m]: keep8[m] for the high 8 bytes of a 16-byte register (each
 * index plus 8, the same 0x80 padding). */
static const uint64_t keep8hi[256] = {
	0x8080808080808080ull, 0x8080808080808008ull, 0x8080808080808009ull, 0x8080808080800908ull,
	0x808080808080800aull, 0x8080808080800a08ull, 0x8080808080800a09ull, 0x80808080800a0908ull,
	0x808080808080800bull, 0x8080808080800b08ull, 0x8080808080800b09ull, 0x80808080800b0908ull,
	0x8080808080800b0aull, 0x80808080800b0a08ull, 0x80808080800b0a09ull, 0x808080800b0a0908ull,
	0x808080808080800cull, 0x8080808080800c08ull, 0x8080808080800c09ull, 0x80808080800c0908ull,
	0x8080808080800c0aull, 0x80808080800c0a08ull, 0x80808080800c0a09ull, 0x808080800c0a0908ull,
	0x8080808080800c0bull, 0x80808080800c0b08ull, 0x80808080800c0b09ull, 0x808080800c0b0908ull,
	0x80808080800c0b0aull, 0x808080800c0b0a08ull, 0x808080800c0b0a09ull, 0x8080800c0b0a0908ull,
	0x808080808080800dull, 0x8080808080800d08ull, 0x8080808080800d09ull, 0x80808080800d0908ull,
	0x8080808080800d0aull, 0x80808080800d0a08ull, 0x80808080800d0a09ull, 0x808080800d0a0908ull,
	0x8080808080800d0bull, 0x80808080800d0b08ull, 0x80808080800d0b09ull, 0x808080800d0b0908ull,
	0x80808080800d0b0aull, 0x808080800d0b0a08ull, 0x808080800d0b0a09ull, 0x8080800d0b0a0908ull,
	0x8080808080800d0cull, 0x80808080800d0c08ull, 0x80808080800d0c09ull, 0x808080800d0c0908ull,
	0x80808080800d0c0aull, 0x808080800d0c0a08ull, 0x808080800d0c0a09ull, 0x8080800d0c0a0908ull,
	0x80808080800d0c0bull, 0x808080800d0c0b08ull, 0x808080800d0c0b09ull, 0x8080800d0c0b0908ull,
	0x808080800d0c0b0aull, 0x8080800d0c0b0a08ull, 0x8080800d0c0b0a09ull, 0x80800d0c0b0a0908ull,
	0x808080808080800eull, 0x8080808080800e08ull, 0x8080808080800e09ull, 0x80808080800e0908ull,
	0x8080808080800e0aull, 0x80808080800e0a08ull, 0x80808080800e0a09ull, 0x808080800e0a0908ull,
	0x8080808080800e0bull, 0x80808080800e0b08ull, 0x80808080800e0b09ull, 0x808080800e0b0908ull,
	0x80808080800e0b0aull, 0x808080800e0b0a08ull, 0x808080800e0b0a09ull, 0x8080800e0b0a0908ull,
	0x8080808080800e0cull, 0x80808080800e0c08ull, 0x80808080800e0c09ull, 0x808080800e0c0908ull,
	0x80808080800e0c0aull, 0x808080800e0c0a08ull, 0x808080800e0c0a09ull, 0x8080800e0c0a0908ull,
	0x80808080800e0c0bull, 0x808080800e0c0b08ull, 0x808080800e0c0b09ull, 0x8080800e0c0b0908ull,
	0x808080800e0c0b0aull, 0x8080800e0c0b0a08ull, 0x8080800e0c0b0a09ull, 0x80800e0c0b0a0908ull,
	0x8080808080800e0dull, 0x80808080800e0d08ull, 0x80808080800e0d09ull, 0x808080800e0d0908ull,
	0x80808080800e0d0aull, 0x808080800e0d0a08ull, 0x808080800e0d0a09ull, 0x8080800e0d0a0908ull,
	0x80808080800e0d0bull, 0x808080800e0d0b08ull, 0x808080800e0d0b09ull, 0x8080800e0d0b0908ull,
	0x808080800e0d0b0aull, 0x8080800e0d0b0a08ull, 0x8080800e0d0b0a09ull, 0x80800e0d0b0a0908ull,
	0x80808080800e0d0cull, 0x808080800e0d0c08ull, 0x808080800e0d0c09ull, 0x8080800e0d0c0908ull,
	0x808080800e0d0c0aull, 0x8080800e0d0c0a08ull, 0x8080800e0d0c0a09ull, 0x80800e0d0c0a0908ull,
	0x808080800e0d0c0bull, 0x8080800e0d0c0b08ull, 0x8080800e0d0c0b09ull, 0x80800e0d0c0b0908ull,
	0x8080800e0d0c0b0aull, 0x80800e0d0c0b0a08ull, 0x80800e0d0c0b0a09ull, 0x800e0d0c0b0a0908ull,
	0x808080808080800full, 0x8080808080800f08ull, 0x8080808080800f09ull, 0x80808080800f0908ull,
	0x8080808080800f0aull, 0x80808080800f0a08ull, 0x80808080800f0a09ull, 0x808080800f0a0908ull,
	0x8080808080800f0bull, 0x80808080800f0b08ull, 0x80808080800f0b09ull, 0x808080800f0b0908ull,
	0x80808080800f0b0aull, 0x808080800f0b0a08ull, 0x808080800f0b0a09ull, 0x8080800f0b0a0908ull,
	0x8080808080800f0cull, 0x80808080800f0c08ull, 0x80808080800f0c09ull, 0x808080800f0c0908ull,
	0x80808080800f0c0aull, 0x808080800f0c0a08ull, 0x808080800f0c0a09ull, 0x8080800f0c0a0908ull,
	0x80808080800f0c0bull, 0x808080800f0c0b08ull, 0x808080800f0c0b09ull, 0x8080800f0c0b0908ull,
	0x808080800f0c0b0aull, 0x8080800f0c0b0a08ull, 0x8080800f0c0b0a09ull, 0x80800f0c0b0a0908ull,
	0x8080808080800f0dull, 0x80808080800f0d08ull, 0x80808080800f0d09ull, 0x808080800f0d0908ull,
	0x80808080800f0d0aull, 0x808080800f0d0a08ull, 0x808080800f0d0a09ull, 0x8080800f0d0a0908ull,
	0x80808080800f0d0bull, 0x808080800f0d0b08ull, 0x808080800f0d0b09ull, 0x8080800f0d0b0908ull,
	0x808080800f0d0b0aull, 0x8080800f0d0b0a08ull, 0x8080800f0d0b0a09ull, 0x80800f0d0b0a0908ull,
	0x80808080800f0d0cull, 0x808080800f0d0c08ull, 0x808080800f0d0c09ull, 0x8080800f0d0c0908ull,
	0x808080800f0d0c0aull, 0x8080800f0d0c0a08ull, 0x8080800f0d0c0a09ull, 0x80800f0d0c0a0908ull,
	0x808080800f0d0c0bull, 0x8080800f0d0c0b08ull, 0x8080800f0d0c0b09ull, 0x80800f0d0c0b0908ull,
	0x8080800f0d0c0b0aull, 0x80800f0d0c0b0a08ull, 0x80800f0d0c0b0a09ull, 0x800f0d0c0b0a0908ull,
	0x8080808080800f0eull, 0x80808080800f0e08ull, 0x80808080800f0e09ull, 0x808080800f0e0908ull,
	0x80808080800f0e0aull, 0x808080800f0e0a08ull, 0x808080800f0e0a09ull, 0x8080800f0e0a0908ull,
	0x80808080800f0e0bull, 0x808080800f0e0b08ull, 0x808080800f0e0b09ull, 0x8080800f0e0b0908ull,
	0x808080800f0e0b0aull, 0x8080800f0e0b0a08ull, 0x8080800f0e0b0a09ull, 0x80800f0e0b0a0908ull,
	0x80808080800f0e0cull, 0x808080800f0e0c08ull, 0x808080800f0e0c09ull, 0x8080800f0e0c0908ull,
	0x808080800f0e0c0aull, 0x8080800f0e0c0a08ull, 0x8080800f0e0c0a09ull, 0x80800f0e0c0a0908ull,
	0x808080800f0e0c0bull, 0x8080800f0e0c0b08ull, 0x8080800f0e0c0b09ull, 0x80800f0e0c0b0908ull,
	0x8080800f0e0c0b0aull, 0x80800f0e0c0b0a08ull, 0x80800f0e0c0b0a09ull, 0x800f0e0c0b0a0908ull,
	0x80808080800f0e0dull, 0x808080800f0e0d08ull, 0x808080800f0e0d09ull, 0x8080800f0e0d0908ull,
	0x808080800f0e0d0aull, 0x8080800f0e0d0a08ull, 0x8080800f0e0d0a09ull, 0x80800f0e0d0a0908ull,
	0x808080800f0e0d0bull, 0x8080800f0e0d0b08ull, 0x8080800f0e0d0b09ull, 0x80800f0e0d0b0908ull,
	0x8080800f0e0d0b0aull, 0x80800f0e0d0b0a08ull, 0x80800f0e0d0b0a09ull, 0x800f0e0d0b0a0908ull,
	0x808080800f0e0d0cull, 0x8080800f0e0d0c08ull, 0x8080800f0e0d0c09ull, 0x80800f0e0d0c0908ull,
	0x8080800f0e0d0c0aull, 0x80800f0e0d0c0a08ull, 0x80800f0e0d0c0a09ull, 0x800f0e0d0c0a0908ull,
	0x8080800f0e0d0c0bull, 0x80800f0e0d0c0b08ull, 0x80800f0e0d0c0b09ull, 0x800f0e0d0c0b0908ull,
	0x80800f0e0d0c0b0aull, 0x800f0e0d0c0b0a08ull, 0x800f0e0d0c0b0a09ull, 0x0f0e0d0c0b0a0908ull,
};

/* Store the bytes of v whose bit is set in m (16 bits), in order, at o;
 * return how many.  Writes up to 16 bytes at o. */
static inline unsigned compress16(__m128i v, unsigned m, unsigned char *o)
{
	__m128i ctl = _mm_loadl_epi64((const __m128i *)&keep8[m & 0xFF]);
	__m128i g;

	ctl = _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(ctl), (const double *)&keep8hi[m >> 8]));
	g = _mm_shuffle_epi8(v, ctl);
	_mm_storel_epi64((__m128i *)o, g);
	/* the high half through an unaligned 8-byte store: _mm_storeh_pd
	 * takes a double *, which UBSan rightly reports as misaligned here */
	_mm_storel_epi64((__m128i *)(void *)(o + __builtin_popcount(m & 0xFF)),
			 _mm_unpackhi_epi64(g, g));
	return (unsigned)__builtin_popcount(m);
}

/* The same for 32 bytes (keep: 32 bits); writes up to 32 bytes at o. */
static inline unsigned compress_store(__m256i v, uint32_t keep, unsigned char *o)
{
	unsigned n = compress16(_mm256_castsi256_si128(v), keep & 0xFFFF, o);

	return n + compress16(_mm256_extracti128_si256(v, 1), keep >> 16, o + n);
}

/* Classes of the two look-ahead bytes past a block, for the masks of the
 * byte after and two after each byte (no data-dependent branch). */
enum { C_LF = 1, C_CR = 2, C_HEX = 4, C_WS = 8 };
static const unsigned char qp_cls[256] = {
	['\n'] = C_LF, ['\r'] = C_CR, [' '] = C_WS, ['\t'] = C_WS,
	['0'] = C_HEX, ['1'] = C_HEX, ['2'] = C_HEX, ['3'] = C_HEX, ['4'] = C_HEX,
	['5'] = C_HEX, ['6'] = C_HEX, ['7'] = C_HEX, ['8'] = C_HEX, ['9'] = C_HEX,
	['A'] = C_HEX, ['B'] = C_HEX, ['C'] = C_HEX, ['D'] = C_HEX, ['E'] = C_HEX, ['F'] = C_HEX,
	['a'] = C_HEX, ['b'] = C_HEX, ['c'] = C_HEX, ['d'] = C_HEX, ['e'] = C_HEX, ['f'] = C_HEX,
};

/* Bit 63 set when c has class `cl`. */
static inline uint64_t top64(unsigned c, unsigned cl)
{
	return (uint64_t)((c & cl) != 0) << 63;
}

/* One 32-byte half of a block: the byte an escape at i stands for in *r
 * (hex(p[i+1]) << 4 | hex(p[i+2]), garbage where there is none: only
 * '=' bytes are replaced, see below) and the masks of the classes. */
typedef struct half {
	__m256i v, r;
	uint32_t eq, hex1, ws, cr, lf;
} half;

static inline void classify(const unsigned char *p, half *h)
{
	const __m256i nib = _mm256_set1_epi8(0x0F);
	const __m256i hi_cls = _mm256_setr_epi8(HI_CLS, HI_CLS), lo_cls = _mm256_setr_epi8(LO_CLS, LO_CLS);
	const __m256i hi_add = _mm256_setr_epi8(HI_ADD, HI_ADD);
	const __m256i hi_add4 = _mm256_setr_epi8(HI_ADD4, HI_ADD4);
	const __m256i lo_shl4 = _mm256_setr_epi8(LO_SHL4, LO_SHL4);
	__m256i v = _mm256_loadu_si256((const __m256i *)p);
	__m256i v1 = _mm256_loadu_si256((const __m256i *)(p + 1));
	__m256i v2 = _mm256_loadu_si256((const __m256i *)(p + 2));
	__m256i veq = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('='));
	__m256i lo1 = _mm256_and_si256(v1, nib), hi1 = hi_nibbles(v1);
	__m256i lo2 = _mm256_and_si256(v2, nib), hi2 = hi_nibbles(v2);
	__m256i nothex1 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(hi_cls, hi1),
							     _mm256_shuffle_epi8(lo_cls, lo1)),
					    _mm256_setzero_si256());
	__m256i r = _mm256_or_si256(
		_mm256_add_epi8(_mm256_shuffle_epi8(lo_shl4, lo1), _mm256_shuffle_epi8(hi_add4, hi1)),
		_mm256_add_epi8(lo2, _mm256_shuffle_epi8(hi_add, hi2)));

	h->v = v;
	/* Every '=' kept is an escape: soft breaks are dropped, an invalid
	 * '=' stops the block before it. */
	h->r = _mm256_blendv_epi8(v, r, veq);
	h->eq = (uint32_t)_mm256_movemask_epi8(veq);
	h->hex1 = ~(uint32_t)_mm256_movemask_epi8(nothex1);
	h->ws = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
		_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')), _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t'))));
	h->cr = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\r')));
	h->lf = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')));
}

/* Start of the run of `ws` bytes that ends at bit i (0 when it reaches
 * the block start). */
static inline unsigned ws_run_start64(uint64_t ws, unsigned i)
{
	uint64_t nonws = ~ws & (i == 63 ? ~0ull : (2ull << i) - 1);

	/* (highest non-whitespace bit) + 1, or 0 */
	return nonws ? 64 - (unsigned)__builtin_clzll(nonws) : 0;
}

/*
 * Entered like the AVX-512 kernel (codec-priv.h): plain-text state,
 * nothing pending, the byte before *pin not a space or tab.  Blocks of 64
 * bytes (two 32-byte halves, one set of 64-bit masks) start 64 bytes
 * apart: an escape or soft break whose tail runs into the next block
 * leaves the tail bytes marked in `carry`, so p never waits for the
 * classification.  A block is cut short (and the next one starts there)
 * only when a whitespace run crosses its end, since the run may turn out
 * to be trailing (rule 3).  The kernel stops where the full rules are
 * needed -- an invalid '=' sequence, a CR not starting CRLF, whitespace
 * before a line break, a block of nothing but whitespace -- or when fewer
 * than 66 bytes remain.
 */
size_t mimeo__qp_decode_avx2(const unsigned char **pin, const unsigned char *end,
			     unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;
	uint64_t carry = 0;   /* bits 0-1: tails from the previous block */

	/* Blocks read p .. p+65 (two bytes of look-ahead). */
	while (end - p >= 66) {
		half a, b;
		unsigned c64, c65, k = 64, adv = 64;
		uint64_t eq, hex1, hex2, esc, ws, cr, lf, lf1, cr1, lf2, ws1, soft1, soft2, bad;
		uint64_t wsbrk, keep, tails;

		classify(p, &a);
		classify(p + 32, &b);
		c64 = qp_cls[p[64]];
		c65 = qp_cls[p[65]];
		/* Masks of the byte after (1) and two after (2) each byte: the
		 * block's masks shifted, plus bytes 64 and 65. */
		eq = (uint64_t)b.eq << 32 | a.eq;
		hex1 = (uint64_t)b.hex1 << 32 | a.hex1;
		ws = (uint64_t)b.ws << 32 | a.ws;
		cr = (uint64_t)b.cr << 32 | a.cr;
		lf = (uint64_t)b.lf << 32 | a.lf;
		hex2 = hex1 >> 1 | top64(c65, C_HEX);
		esc = eq & hex1 & hex2;
		lf1 = lf >> 1 | top64(c64, C_LF);
		cr1 = cr >> 1 | top64(c64, C_CR);
		lf2 = lf1 >> 1 | top64(c65, C_LF);
		ws1 = ws >> 1 | top64(c64, C_WS);
		soft1 = eq & lf1;
		soft2 = eq & cr1 & lf2;
		bad = (eq & ~(esc | soft1 | soft2)) | (cr & ~lf1);
		wsbrk = ws & (lf1 | cr1);   /* whitespace before a line break */

		if (wsbrk)
			k = ws_run_start64(ws, (unsigned)__builtin_ctzll(wsbrk));
		if (bad && (unsigned)__builtin_ctzll(bad) < k)
			k = (unsigned)__builtin_ctzll(bad);
		/* Escape tails and soft breaks are removed; the decoded byte
		 * replaces the '='.  Tails may run 1 or 2 bytes past the block:
		 * bits 64 and 65 of the drop mask, kept in `carry`. */
		tails = esc | soft2;
		keep = ~(esc << 1 | esc << 2 | soft1 | soft1 << 1 | soft2 | soft2 << 1 | soft2 << 2 |
			 carry);
		carry = (tails >> 62 & 1) | ((tails | soft1) >> 63) | (tails >> 63) << 1;
		if (k < 64 || (ws & ws1) >> 63) {
			/* Commit what precedes the byte needing the full rules,
			 * or the whitespace run crossing the block end; no escape
			 * before it has its tail at or after it (tails are hex
			 * digits, CR or LF, never such a byte). */
			unsigned tail = ws_run_start64(ws, 63);

			adv = k < tail ? k : tail;
			keep &= adv == 64 ? ~0ull : (1ull << adv) - 1;
			carry = 0;
			if (k <= tail || adv == 0) {
				o += compress_store(a.r, (uint32_t)keep, o);
				o += compress_store(b.r, (uint32_t)(keep >> 32), o);
				p += adv;
				break;
			}
		}
		o += compress_store(a.r, (uint32_t)keep, o);
		o += compress_store(b.r, (uint32_t)(keep >> 32), o);
		p += adv;
	}
	/* carry is 0, 1 or 3: the tails are the next bytes. */
	p += __builtin_popcountll(carry);
	*pin = p;
	return (size_t)(o - out);
}

/* ---- encoder segments ---- */

/* esc4[m]: the output of 4 bytes whose escapes are the bits of m, from a
 * group laid out as x0..x3, hi0..hi3, lo0..lo3, '=' x4 (hi/lo: the hex
 * digits).  Generated: for each i in 0..3, [12, 4+i, 8+i] when m >> i & 1,
 * else [i]; padded with -128 (zero). */
static const signed char esc4[16][16] = {
	{ 0, 1, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128 },
};

/* Write the output of the 16 bytes at p (escapes: the bits of esc) at o:
 * up to 52 bytes stored.  Returns its length. */
static inline unsigned seg16(const unsigned char *p, unsigned esc, unsigned char *o)
{
	const __m128i hex = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
					  'A', 'B', 'C', 'D', 'E', 'F');
	const __m128i nib = _mm_set1_epi8(0x0F), eq = _mm_set1_epi8('=');
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i hi = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16(x, 4), nib));
	__m128i lo = _mm_shuffle_epi8(hex, _mm_and_si128(x, nib));
	__m128i xh01 = _mm_unpacklo_epi32(x, hi), le01 = _mm_unpacklo_epi32(lo, eq);
	__m128i xh23 = _mm_unpackhi_epi32(x, hi), le23 = _mm_unpackhi_epi32(lo, eq);
	unsigned m0 = esc & 15, m1 = (esc >> 4) & 15, m2 = (esc >> 8) & 15, m3 = (esc >> 12) & 15;
	unsigned a1 = 4 + 2 * (unsigned)__builtin_popcount(m0);
	unsigned a2 = a1 + 4 + 2 * (unsigned)__builtin_popcount(m1);
	unsigned a3 = a2 + 4 + 2 * (unsigned)__builtin_popcount(m2);

	_mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(_mm_unpacklo_epi64(xh01, le01),
							_mm_loadu_si128((const __m128i *)esc4[m0])));
	_mm_storeu_si128((__m128i *)(o + a1), _mm_shuffle_epi8(_mm_unpackhi_epi64(xh01, le01),
							       _mm_loadu_si128((const __m128i *)esc4[m1])));
	_mm_storeu_si128((__m128i *)(o + a2), _mm_shuffle_epi8(_mm_unpacklo_epi64(xh23, le23),
							       _mm_loadu_si128((const __m128i *)esc4[m2])));
	_mm_storeu_si128((__m128i *)(o + a3), _mm_shuffle_epi8(_mm_unpackhi_epi64(xh23, le23),
							       _mm_loadu_si128((const __m128i *)esc4[m3])));
	return a3 + 4 + 2 * (unsigned)__builtin_popcount(m3);
}

/* How many of the first len (<= 16) bytes (escapes: the bits of esc) have
 * their output end within `room` columns: output widths (1, or 3 for an
 * escape) summed over each prefix, without a branch per byte. */
static inline unsigned seg16_fit(unsigned esc, unsigned len, unsigned room)
{
	const __m128i bit = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
	__m128i e = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)esc),
				     _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
	__m128i isesc = _mm_cmpeq_epi8(_mm_and_si128(e, bit), bit);
	/* 1 - 2 * (-1) = 3 for an escape, 1 otherwise */
	__m128i w = _mm_sub_epi8(_mm_set1_epi8(1), _mm_add_epi8(isesc, isesc));
	unsigned fits;

	w = _mm_add_epi8(w, _mm_slli_si128(w, 1));
	w = _mm_add_epi8(w, _mm_slli_si128(w, 2));
	w = _mm_add_epi8(w, _mm_slli_si128(w, 4));
	w = _mm_add_epi8(w, _mm_slli_si128(w, 8));
	/* ends are at most 48 and room at most 75: signed compares do */
	fits = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(_mm_set1_epi8((char)(room + 1)), w));
	return (unsigned)__builtin_popcount(fits & ((1u << len) - 1));
}

/* See codec-priv.h.  A line holds about 25 escapes: 8-bit text fills it
 * in two steps of 16 bytes, then a soft break. */
unsigned mimeo__qp_run_avx2(const unsigned char *p, unsigned len, uint64_t esc, unsigned flags,
			    unsigned *pcol, unsigned char **po)
{
	unsigned char *o = *po;
	unsigned i = 0, col = *pcol;
	int crlf = (flags & MIMEO_QP_CRLF) != 0, mailsafe = (flags & MIMEO_QP_MAILSAFE) != 0;

	while (i < len) {
		unsigned n = len - i < 16 ? len - i : 16;
		unsigned e = (unsigned)(esc >> i) & ((1u << n) - 1);
		/* bytes n..15 counted as literals: one column each */
		unsigned got = seg16(p + i, e, o) - (16 - n), m;

		if (col + got <= 75) {
			o += got;
			col += got;
			i += n;
			continue;
		}
		/* The line fills up in these 16 bytes (once a line). */
		m = seg16_fit(e, n, 75 - col);
		o += m + 2 * (unsigned)__builtin_popcount(e & ((1u << m) - 1));
		i += m;
		/* Soft break (RFC 2045 6.7 rule 5). */
		memcpy(o, crlf ? "=\r\n" : "=\n\n", 4);
		o += 2 + crlf;
		col = 0;
		if (mailsafe && i < len && (p[i] == 'F' || p[i] == '.'))
			break;   /* the caller escapes a mail-safe line start */
	}
	*pcol = col;
	*po = o;
	return i;
}
