/*
 * qp_avx512.c - AVX-512 (BW, VBMI2) quoted-printable decode kernel and
 * encoder classifier, built in the AVX-512 archive and called only when
 * cpu.c found the features.
 *
 * Each 64-byte block is classified at once: '=' followed by two hex
 * digits becomes the decoded byte, soft line breaks (=LF, =CRLF) vanish,
 * and the escape tails and soft breaks are squeezed out with a byte
 * compress (vpcompressb).  Text and line breaks are copied.  What needs the
 * full rules of RFC 2045 6.7 -- an invalid '=' sequence, '=' before
 * whitespace, a CR not starting CRLF, whitespace before a line break or at
 * the end of the block (it may be trailing, rule 3) -- stops the kernel at
 * that byte (or at the start of that whitespace run); the scalar decoder
 * takes over from there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>

static inline __mmask64 is_hex(__m512i c)
{
	__m512i lc = _mm512_or_si512(c, _mm512_set1_epi8(0x20));

	return _mm512_cmple_epu8_mask(_mm512_sub_epi8(c, _mm512_set1_epi8('0')), _mm512_set1_epi8(9)) |
	       _mm512_cmple_epu8_mask(_mm512_sub_epi8(lc, _mm512_set1_epi8('a')), _mm512_set1_epi8(5));
}

/* Value of a hex digit (either case); garbage for other bytes. */
static inline __m512i hex_value(__m512i c)
{
	__mmask64 digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(c, _mm512_set1_epi8('0')),
						  _mm512_set1_epi8(9));
	__m512i lc = _mm512_or_si512(c, _mm512_set1_epi8(0x20));

	return _mm512_mask_blend_epi8(digit, _mm512_sub_epi8(lc, _mm512_set1_epi8('a' - 10)),
				      _mm512_sub_epi8(c, _mm512_set1_epi8('0')));
}

size_t mimeo__qp_decode_avx512(const unsigned char **pin, const unsigned char *end,
			       unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;

	/* Blocks read p .. p+65 (two bytes of look-ahead). */
	while (end - p >= 66) {
		__m512i v = _mm512_loadu_si512((const void *)p);
		__m512i v1 = _mm512_loadu_si512((const void *)(p + 1));
		__m512i v2 = _mm512_loadu_si512((const void *)(p + 2));
		__mmask64 eq = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('='));
		__mmask64 ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
			       _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));
		__mmask64 cr = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r'));
		__mmask64 lf1 = _mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8('\n'));
		__mmask64 brk1 = lf1 | _mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8('\r'));
		__mmask64 esc = eq & is_hex(v1) & is_hex(v2);
		__mmask64 soft1 = eq & lf1;
		__mmask64 soft2 = eq & _mm512_cmpeq_epi8_mask(v1, _mm512_set1_epi8('\r')) &
				  _mm512_cmpeq_epi8_mask(v2, _mm512_set1_epi8('\n'));
		__mmask64 bad = (eq & ~(esc | soft1 | soft2)) | (cr & ~lf1);
		/* Whitespace before a line break, or running to the block end. */
		__mmask64 wsflag = (ws & brk1) | (ws & ((__mmask64)1 << 63));
		unsigned k = 64, over;
		unsigned __int128 drop;
		__mmask64 keep;
		__m512i r;

		if (wsflag) {
			unsigned i = (unsigned)__builtin_ctzll(wsflag);
			__mmask64 upto = i == 63 ? ~(__mmask64)0 : (((__mmask64)1 << (i + 1)) - 1);
			__mmask64 nonws = ~ws & upto;

			/* Start of the whitespace run ending at i. */
			k = nonws ? 64 - (unsigned)__builtin_clzll(nonws) : 0;
		}
		if (bad && (unsigned)__builtin_ctzll(bad) < k)
			k = (unsigned)__builtin_ctzll(bad);
		/* Escape tails and soft breaks are removed; the decoded byte
		 * replaces the '='.  Tails may run 1 or 2 bytes past the block. */
		drop = ((unsigned __int128)esc << 1) | ((unsigned __int128)esc << 2) |
		       (unsigned __int128)soft1 | ((unsigned __int128)soft1 << 1) |
		       (unsigned __int128)soft2 | ((unsigned __int128)soft2 << 1) |
		       ((unsigned __int128)soft2 << 2);
		keep = ~(__mmask64)drop;
		over = (unsigned)__builtin_popcountll((uint64_t)(drop >> 64));
		if (k < 64) {
			/* Commit what precedes the byte needing the full rules;
			 * no escape before it has its tail at or after it (tails
			 * are hex digits, CR or LF, never such a byte). */
			keep &= ((__mmask64)1 << k) - 1;
			over = 0;
		}
		/* Mask to 4 bits first: a 16-bit shift must not carry garbage
		 * from a non-hex byte into its neighbour. */
		r = _mm512_and_si512(hex_value(v1), _mm512_set1_epi8(0x0F));
		r = _mm512_or_si512(_mm512_slli_epi16(r, 4),
				    _mm512_and_si512(hex_value(v2), _mm512_set1_epi8(0x0F)));
		r = _mm512_mask_mov_epi8(v, esc, r);
		_mm512_storeu_si512((void *)o, _mm512_maskz_compress_epi8(keep, r));
		o += __builtin_popcountll(keep);
		if (k < 64) {
			p += k;
			break;
		}
		p += 64 + over;
	}
	*pin = p;
	return (size_t)(o - out);
}

/* Encoder classifier (see codec-priv.h): one 64-byte block at once. */
uint64_t mimeo__qp_lit_mask_avx512(const unsigned char *p, int brk, uint64_t *brkm)
{
	__m512i v = _mm512_loadu_si512((const void *)p);
	/* 33..126 as one unsigned range compare. */
	__mmask64 lit = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(33)),
					       _mm512_set1_epi8(94)) &
			~_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('='));
	__mmask64 ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
		       _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t'));

	*brkm = 0;
	if (brk >= 0) {
		/* Whitespace before a line break is encoded (rule 3). */
		__m512i b = _mm512_set1_epi8((char)brk);
		__m512i vn = _mm512_loadu_si512((const void *)(p + 1));

		ws &= ~_mm512_cmpeq_epi8_mask(vn, b);
		*brkm = _mm512_cmpeq_epi8_mask(v, b);
	}
	return lit | ws;
}

/*
 * Encoder segment (see codec-priv.h): each of up to 16 bytes becomes one
 * character (itself) or three ("=XX").  In a 48-slot space every byte owns
 * three slots, of which an escape keeps all and a literal only the first;
 * pext squeezes the slot pattern into the output positions of the first,
 * second and third characters, and vpexpandb puts the characters there.
 */
unsigned mimeo__qp_seg_avx512(const unsigned char *p, unsigned len, uint32_t esc,
			      unsigned room, unsigned char *o, unsigned *written)
{
	const uint64_t slot = 0x249249249249ull;   /* bits 0, 3, ..., 45 */
	const __m128i hex = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
					  'A', 'B', 'C', 'D', 'E', 'F');
	uint64_t es = _pdep_u64(esc, slot), keep = slot | es << 1 | es << 2;
	uint64_t first = _pext_u64(slot, keep), second = _pext_u64(slot << 1, keep);
	uint64_t third = _pext_u64(slot << 2, keep);
	/* Start of every byte, and of the one after the last. */
	uint64_t starts = first | (uint64_t)1 << __builtin_popcountll(keep);
	/* Bytes that end within `room` (outputs are at most 48 long). */
	uint64_t fit = room >= 63 ? ~(uint64_t)0 : (2ull << room) - 1;
	unsigned m = (unsigned)__builtin_popcountll(starts & fit) - 1;
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i hi = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(0x0F)));
	__m128i lo = _mm_shuffle_epi8(hex, _mm_and_si128(x, _mm_set1_epi8(0x0F)));
	__m512i out;

	if (m > len)
		m = len;
	x = _mm_mask_blend_epi8((__mmask16)esc, x, _mm_set1_epi8('='));
	out = _mm512_maskz_expand_epi8(first, _mm512_zextsi128_si512(x));
	out = _mm512_or_si512(out, _mm512_maskz_expand_epi8(
		second, _mm512_zextsi128_si512(_mm_maskz_compress_epi8((__mmask16)esc, hi))));
	out = _mm512_or_si512(out, _mm512_maskz_expand_epi8(
		third, _mm512_zextsi128_si512(_mm_maskz_compress_epi8((__mmask16)esc, lo))));
	_mm512_storeu_si512((void *)o, out);
	*written = (unsigned)__builtin_ctzll(_pdep_u64((uint64_t)1 << m, starts));
	return m;
}
