/*
 * base64_avx2.c - AVX2 base64 kernels (built with -mavx2 in its own
 * archive; only called after cpu.c found AVX2).
 *
 * Decoding mail base64 means skipping line breaks: 76 characters then LF
 * or CRLF.  Lines of that shape (any length below 96 that is a multiple of
 * 4) are decoded straight from the input.  Otherwise the kernel classifies
 * 32 bytes at a time; a block of alphabet
 * characters is copied whole into a small staging buffer in L1, a block
 * holding a line break is copied up to it and the line break skipped, so
 * the stage only ever holds alphabet characters.  Full 32-character blocks
 * of the stage are then translated and packed (Mula and Lemire, "Faster
 * Base64 Encoding and Decoding using AVX2 Instructions", 2018).  Anything
 * else ('=', garbage) stops the kernel and the scalar code takes that byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>
#include <string.h>

#define STAGE 512

/* Nibble tables for validation: a byte is outside the alphabet when
 * lut_lo[low nibble] & lut_hi[high nibble] != 0.  Bit 0: high nibble never
 * valid (0x0_, 0x1_, 0x8_..0xF_); bit 1: 0x2_ except '+' and '/'; bit 2:
 * 0x3_ above '9'; bit 3: '@' and '`'; bit 4: 0x5_/0x7_ above 'Z'/'z'. */
#define LUT_LO 0x0B, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, \
	       0x03, 0x03, 0x07, 0x15, 0x17, 0x17, 0x17, 0x15
#define LUT_HI 0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x08, 0x10, \
	       0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01
/* Offset to add per high nibble (index 1 is '/', via the cmpeq trick). */
#define LUT_ROLL 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0

/* Bit i set when byte i of v is a base64 alphabet character. */
static inline uint32_t alpha_mask(__m256i v)
{
	const __m256i lut_lo = _mm256_setr_epi8(LUT_LO, LUT_LO);
	const __m256i lut_hi = _mm256_setr_epi8(LUT_HI, LUT_HI);
	const __m256i nib = _mm256_set1_epi8(0x0F);
	__m256i lo = _mm256_and_si256(v, nib);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nib);
	__m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo),
				       _mm256_shuffle_epi8(lut_hi, hi));

	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));
}

/* 32 alphabet characters -> 24 bytes. */
static inline void decode32(const unsigned char *src, unsigned char *dst)
{
	const __m256i lut_roll = _mm256_setr_epi8(LUT_ROLL, LUT_ROLL);
	const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
					      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	__m256i v = _mm256_loadu_si256((const __m256i *)src);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), _mm256_set1_epi8(0x0F));
	__m256i eq2f = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('/'));
	__m256i sext = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq2f, hi)));
	/* 4 sextets -> one 24-bit value per 32-bit lane */
	__m256i m = _mm256_maddubs_epi16(sext, _mm256_set1_epi32(0x01400140));
	__m256i w = _mm256_madd_epi16(m, _mm256_set1_epi32(0x00011000));

	w = _mm256_shuffle_epi8(w, pack);
	w = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
	/* 16 + 8 bytes: never write past the 24 that are ours. */
	_mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(w));
	_mm_storel_epi64((__m128i *)(dst + 16), _mm256_extracti128_si256(w, 1));
}

/* decode32 and alpha_mask of the same 32 bytes at once (the line path):
 * writes the 24 bytes the characters give (garbage where they are not all
 * in the alphabet) and returns bit i set when src[i] is in the alphabet. */
static inline uint32_t check_decode32(const unsigned char *src, unsigned char *dst)
{
	const __m256i lut_lo = _mm256_setr_epi8(LUT_LO, LUT_LO);
	const __m256i lut_hi = _mm256_setr_epi8(LUT_HI, LUT_HI);
	const __m256i lut_roll = _mm256_setr_epi8(LUT_ROLL, LUT_ROLL);
	const __m256i nib = _mm256_set1_epi8(0x0F);
	const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
					      2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	__m256i v = _mm256_loadu_si256((const __m256i *)src);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nib);
	__m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, _mm256_and_si256(v, nib)),
				       _mm256_shuffle_epi8(lut_hi, hi));
	__m256i eq2f = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('/'));
	__m256i sext = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq2f, hi)));
	__m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(sext, _mm256_set1_epi32(0x01400140)),
				      _mm256_set1_epi32(0x00011000));

	w = _mm256_shuffle_epi8(w, pack);
	w = _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
	_mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(w));
	_mm_storel_epi64((__m128i *)(dst + 16), _mm256_extracti128_si256(w, 1));
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));
}

/* Decode whole quanta of staged alphabet characters with the table; keep
 * the last 0..3 characters as the decoder's pending quantum. */
static unsigned char *stage_tail(mimeo_b64_decoder *d, const unsigned char *st, size_t s,
				 unsigned char *o)
{
	const unsigned char *t = mimeo__b64_dec_table;
	size_t i;
	uint32_t acc = 0;

	for (i = 0; i + 4 <= s; i += 4) {
		acc = (uint32_t)t[st[i]] << 18 | (uint32_t)t[st[i + 1]] << 12 |
		      (uint32_t)t[st[i + 2]] << 6 | t[st[i + 3]];
		o[0] = (unsigned char)(acc >> 16);
		o[1] = (unsigned char)(acc >> 8);
		o[2] = (unsigned char)acc;
		o += 3;
	}
	acc = 0;
	d->_n = (unsigned)(s - i);
	for (; i < s; i++)
		acc = acc << 6 | t[st[i]];
	d->_acc = acc;
	return o;
}

/*
 * Whole lines, the shape MIME base64 nearly always has: up to 95 alphabet
 * characters, a multiple of 4, then LF or CRLF.  Such a line is decoded
 * straight from the input, 32 characters at a time (the last piece reads
 * past the line end and its extra output is rewritten by the next line),
 * without going through the stage.  Returns at the first line of another
 * shape (or when fewer than 128 bytes remain) with p at its start.
 */
static unsigned char *decode_lines(const unsigned char **pin, const unsigned char *end,
				   unsigned char *o)
{
	const unsigned char *p = *pin;
	/* Length (and line-break bytes) of the last line: the next line is
	 * checked against them, so p advances by a constant and the loads of
	 * the next line never wait for this one's classification. */
	unsigned len = 0, eol = 0;
	/* alphabet up to len, then the line break of the last line (the
	 * first line matches nothing: want has a bit no piece sets) */
	uint64_t want = ~0ull;
	uint32_t want2 = ~0u;

	while (end - p >= 128) {
		/* The three pieces are decoded while they are classified (one
		 * load and one nibble split each); what they write past the
		 * line is rewritten by the next line or left unused. */
		uint64_t m = (uint64_t)check_decode32(p, o) |
			     (uint64_t)check_decode32(p + 32, o + 24) << 32;
		uint32_t m2 = check_decode32(p + 64, o + 48);
		int same = (m & want) == want && (m2 & want2) == want2 &&
			   (eol == 1 ? p[len] == '\n' : p[len] == '\r' && p[len + 1] == '\n');

		if (!same) {
			/* A line of another length (or the first one). */
			if (m == ~0ull) {
				if (!~m2)
					break;
				len = 64 + (unsigned)__builtin_ctz(~m2);
			} else {
				len = (unsigned)__builtin_ctzll(~m);
			}
			eol = p[len] == '\n' ? 1 : p[len] == '\r' && p[len + 1] == '\n' ? 2 : 0;
			if (!eol || len % 4 != 0 || len == 0)
				break;
			want = len >= 64 ? ~0ull : (1ull << len) - 1;
			want2 = len > 64 ? (uint32_t)((1ull << (len - 64)) - 1) : 0;
		}
		_mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
		o += len / 4 * 3;
		p += len + eol;
	}
	*pin = p;
	return o;
}

unsigned char *mimeo__b64_decode_lines_avx2(const unsigned char **pin, const unsigned char *end,
					    unsigned char *out)
{
	return decode_lines(pin, end, out);
}

size_t mimeo__b64_decode_avx2(mimeo_b64_decoder *d, const unsigned char **pin,
			      const unsigned char *end, unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;
	unsigned char stage[STAGE + 32] __attribute__((aligned(32)));
	size_t s = 0, i, nb;

	o = decode_lines(&p, end, o);
	for (;;) {
		while (s <= STAGE - 32 && end - p >= 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)p);
			uint32_t m = alpha_mask(v);

			_mm_prefetch((const char *)p + 1024, _MM_HINT_T0);

			_mm256_storeu_si256((__m256i *)(stage + s), v);
			if (m == 0xFFFFFFFFu) {
				s += 32;
				p += 32;
				continue;
			}
			/* Keep the characters before the first non-alphabet
			 * byte; skip it if it is whitespace (the line break). */
			m = (uint32_t)__builtin_ctz(~m);
			s += m;
			p += m;
			if (mimeo__b64_dec_table[*p] != MIMEO__B64_WS)
				goto stop;
			p++;
		}
		nb = s & ~(size_t)31;
		for (i = 0; i < nb; i += 32, o += 24)
			decode32(stage + i, o);
		memmove(stage, stage + nb, s - nb);
		s -= nb;
		if (end - p < 32)
			break;
	}
stop:
	nb = s & ~(size_t)31;
	for (i = 0; i < nb; i += 32, o += 24)
		decode32(stage + i, o);
	/* Alphabet characters after a short quantum end the '=' padding the
	 * scalar code still expects (whitespace alone does not). */
	if (o != out || s > 0)
		d->_pad = 0;
	o = stage_tail(d, stage + nb, s - nb, o);
	*pin = p;
	return (size_t)(o - out);
}

/* 24 bytes (read as 28: the caller guarantees them) -> 32 characters. */
static inline __m256i encode24(const unsigned char *p)
{
	const __m256i shuf = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
					      1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
	const __m256i lut = _mm256_setr_epi8(
		'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
		'0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,
		'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
		'0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
	__m256i in = _mm256_setr_m128i(_mm_loadu_si128((const __m128i *)p),
				       _mm_loadu_si128((const __m128i *)(p + 12)));
	__m256i t0, t1, t2, t3, idx, r;

	in = _mm256_shuffle_epi8(in, shuf);
	/* Split each 24-bit group into four sextets, one per byte. */
	t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
	t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
	t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
	idx = _mm256_or_si256(t1, t3);
	/* Sextet -> ASCII: pick an offset by range, add it. */
	r = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
	r = _mm256_or_si256(r, _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx),
						 _mm256_set1_epi8(13)));
	return _mm256_add_epi8(_mm256_shuffle_epi8(lut, r), idx);
}

size_t mimeo__b64_encode_avx2(mimeo_b64_encoder *e, const unsigned char **pin,
			      const unsigned char *end, unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;

	if (e->_flags & MIMEO_B64_NOWRAP) {
		while (end - p >= 28) {
			_mm256_storeu_si256((__m256i *)o, encode24(p));
			p += 24;
			o += 32;
		}
		*pin = p;
		return (size_t)(o - out);
	}
	/* The caller has finished the current line (e->_col is 0 or 76). */
	/* Whole lines: 57 bytes -> 76 characters, written as three 32-byte
	 * stores (the last 20 bytes are overwritten by the next line; the
	 * caller's bound covers them because 76+ input bytes remain). */
	while (end - p >= 76) {
		_mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
		if (e->_col == 76) {
			if (e->_flags & MIMEO_B64_CRLF)
				*o++ = '\r';
			*o++ = '\n';
		}
		_mm256_storeu_si256((__m256i *)o, encode24(p));
		_mm256_storeu_si256((__m256i *)(o + 32), encode24(p + 24));
		_mm256_storeu_si256((__m256i *)(o + 64), encode24(p + 48));
		p += 57;
		o += 76;
		e->_col = 76;
	}
	*pin = p;
	return (size_t)(o - out);
}

size_t mimeo__b64_count_avx2(const unsigned char *p, size_t n, uint64_t *alpha)
{
	const __m256i lut_lo = _mm256_setr_epi8(LUT_LO, LUT_LO);
	const __m256i lut_hi = _mm256_setr_epi8(LUT_HI, LUT_HI);
	const __m256i nib = _mm256_set1_epi8(0x0F), eq = _mm256_set1_epi8('=');
	const __m256i zero = _mm256_setzero_si256();
	size_t i = 0;
	uint64_t total = 0;

	while (n - i >= 32) {
		/* per-byte counters, summed before they can wrap (255 blocks) */
		__m256i acc = zero, sum;
		unsigned k;
		int pad = 0;

		for (k = 0; k < 255 && n - i >= 32; k++, i += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
			__m256i lo = _mm256_and_si256(v, nib);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), nib);
			__m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo),
						       _mm256_shuffle_epi8(lut_hi, hi));

			if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, eq))) {
				pad = 1;
				break;
			}
			/* -1 per alphabet byte */
			acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(bad, zero));
		}
		sum = _mm256_sad_epu8(acc, zero);
		total += (uint64_t)_mm256_extract_epi64(sum, 0) + (uint64_t)_mm256_extract_epi64(sum, 1) +
			 (uint64_t)_mm256_extract_epi64(sum, 2) + (uint64_t)_mm256_extract_epi64(sum, 3);
		if (pad)
			break;
	}
	*alpha += total;
	return i;
}
