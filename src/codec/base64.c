/*
 * base64.c - streaming base64 (RFC 4648 section 4 alphabet) with the MIME
 * rules of RFC 2045 section 6.8: the scalar reference implementation and
 * the dispatch to the SIMD kernels.  The alphabet tables live in
 * base64_tables.c, shared with the kernels.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void mimeo_b64_decoder_init(mimeo_b64_decoder *d, mimeo_isa isa)
{
	memset(d, 0, sizeof(*d));
	d->_isa = mimeo__isa_resolve(isa);
}

/* Bytes of a quantum cut short by '=' or the end: 2 sextets make 1 byte,
 * 3 make 2.  One sextet cannot make a byte and is dropped (counted). */
static unsigned char *b64_flush_partial(mimeo_b64_decoder *d, unsigned char *o)
{
	uint32_t a = d->_acc;

	switch (d->_n) {
	case 1:
		d->invalid++;
		break;
	case 2:
		*o++ = (unsigned char)(a >> 4);
		break;
	case 3:
		*o++ = (unsigned char)(a >> 10);
		*o++ = (unsigned char)(a >> 2);
		break;
	}
	d->_n = 0;
	d->_acc = 0;
	return o;
}

/*
 * The reference decoder.  Consumes from *pin until `end`, or, when
 * `stop_aligned` is set, until it has consumed at least one byte and sits
 * at a quantum boundary again (so a SIMD kernel can take over).
 */
static unsigned char *b64_decode_scalar(mimeo_b64_decoder *d, const unsigned char **pin,
					const unsigned char *end, unsigned char *o,
					int stop_aligned)
{
	const unsigned char *p = *pin;
	const unsigned char *t = mimeo__b64_dec_table;
	uint32_t acc = d->_acc;
	unsigned n = d->_n;

	while (p < end) {
		unsigned v;

		/* Fast path: four alphabet characters at a quantum boundary. */
		if (n == 0) {
			while (end - p >= 4) {
				unsigned a = t[p[0]], b = t[p[1]], c = t[p[2]], e = t[p[3]];

				if ((a | b | c | e) & 0xC0)
					break;
				acc = (a << 18) | (b << 12) | (c << 6) | e;
				o[0] = (unsigned char)(acc >> 16);
				o[1] = (unsigned char)(acc >> 8);
				o[2] = (unsigned char)acc;
				o += 3;
				p += 4;
				d->_pad = 0;
			}
			if (p == end)
				break;
		}
		v = t[*p++];
		if (v < 64) {
			d->_pad = 0;
			acc = (acc << 6) | v;
			if (++n == 4) {
				o[0] = (unsigned char)(acc >> 16);
				o[1] = (unsigned char)(acc >> 8);
				o[2] = (unsigned char)acc;
				o += 3;
				n = 0;
				acc = 0;
			}
		} else if (v == MIMEO__B64_WS) {
			continue;
		} else if (v == MIMEO__B64_PAD) {
			/* RFC 2045 6.8: '=' ends the data of this quantum.  Go on
			 * afterwards: concatenated base64 (gmime#150). */
			if (n > 0) {
				d->_acc = acc;
				d->_n = n;
				d->_pad = 4 - n - 1;
				o = b64_flush_partial(d, o);
				acc = 0;
				n = 0;
			} else if (d->_pad > 0) {
				d->_pad--;
			} else {
				d->invalid++;
			}
		} else {
			d->invalid++;
		}
		if (stop_aligned && n == 0)
			break;
	}
	d->_acc = acc;
	d->_n = n;
	*pin = p;
	return o;
}

size_t mimeo_b64_decode_step(mimeo_b64_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	switch (d->_isa) {
#if MIMEO_HAVE_AVX512
	case MIMEO_ISA_AVX512:
		while (p < end) {
			/* The kernel also takes the partial last block. */
			if (d->_n == 0 && end - p >= 16)
				o += mimeo__b64_decode_avx512(d, &p, end, o);
			o = b64_decode_scalar(d, &p, end, o, end - p >= 32);
		}
		break;
#endif
#if MIMEO_HAVE_AVX2
	case MIMEO_ISA_AVX2:
		while (p < end) {
			if (d->_n == 0 && end - p >= 64)
				o += mimeo__b64_decode_avx2(d, &p, end, o);
			o = b64_decode_scalar(d, &p, end, o, end - p >= 128);
		}
		break;
#endif
	default:
		o = b64_decode_scalar(d, &p, end, o, 0);
		break;
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_b64_decode_finish(mimeo_b64_decoder *d, void *out)
{
	unsigned char *o = out;

	o = b64_flush_partial(d, o);
	d->_pad = 0;
	return (size_t)(o - (unsigned char *)out);
}

/* ---- encoder ---- */

void mimeo_b64_encoder_init(mimeo_b64_encoder *e, unsigned flags, mimeo_isa isa)
{
	memset(e, 0, sizeof(*e));
	e->_flags = flags;
	e->_isa = mimeo__isa_resolve(isa);
}

static unsigned char *b64_eol(const mimeo_b64_encoder *e, unsigned char *o)
{
	if (e->_flags & MIMEO_B64_CRLF)
		*o++ = '\r';
	*o++ = '\n';
	return o;
}

/* Write one 4-character group, breaking the line first when it is full
 * (RFC 2045 6.8: at most 76 characters a line). */
static unsigned char *b64_put4(mimeo_b64_encoder *e, unsigned char *o, uint32_t v)
{
	const char *a = mimeo__b64_alphabet;

	if (e->_col >= 76 && !(e->_flags & MIMEO_B64_NOWRAP)) {
		o = b64_eol(e, o);
		e->_col = 0;
	}
	o[0] = (unsigned char)a[(v >> 18) & 63];
	o[1] = (unsigned char)a[(v >> 12) & 63];
	o[2] = (unsigned char)a[(v >> 6) & 63];
	o[3] = (unsigned char)a[v & 63];
	e->_col += 4;
	return o + 4;
}

/* One 4-character group for the 3 bytes at p. */
static inline void b64_group(const char *a, const unsigned char *p, unsigned char *o)
{
	uint32_t v = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];

	o[0] = (unsigned char)a[v >> 18];
	o[1] = (unsigned char)a[(v >> 12) & 63];
	o[2] = (unsigned char)a[(v >> 6) & 63];
	o[3] = (unsigned char)a[v & 63];
}

/*
 * The reference encoder, also the fallback for CPUs without AVX2.  The
 * column lives in a local (the output is written through an unsigned char
 * pointer, which may alias the encoder struct), and a whole line -- 57
 * bytes, 19 groups -- is written without a column test per group.
 */
static unsigned char *b64_encode_scalar(mimeo_b64_encoder *e, const unsigned char **pin,
					const unsigned char *end, unsigned char *o)
{
	const char *a = mimeo__b64_alphabet;
	const unsigned char *p = *pin;
	unsigned col = e->_col;
	int crlf = (e->_flags & MIMEO_B64_CRLF) != 0;

	if (e->_flags & MIMEO_B64_NOWRAP) {
		for (; end - p >= 3; p += 3, o += 4)
			b64_group(a, p, o);
		*pin = p;
		return o;
	}
	while (end - p >= 3) {
		if (col >= 76) {
			/* RFC 2045 6.8: at most 76 characters a line */
			if (crlf)
				*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
		if (col == 0 && end - p >= 57) {
			const unsigned char *stop = p + 57;

			for (; p < stop; p += 3, o += 4)
				b64_group(a, p, o);
			col = 76;
			continue;
		}
		b64_group(a, p, o);
		p += 3;
		o += 4;
		col += 4;
	}
	e->_col = col;
	*pin = p;
	return o;
}

/* Encode whole 3-byte groups until the current output line is full
 * (e->_col a multiple of 76) or fewer than 3 input bytes remain: how the
 * SIMD encoders reach a line start, where they take over. */
static size_t b64_encode_to_line_end(mimeo_b64_encoder *e, const unsigned char **pin,
				     const unsigned char *end, unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;

	/* e->_col is below 76 inside the loop: b64_put4 adds no line break. */
	while (e->_col % 76 != 0 && end - p >= 3) {
		o = b64_put4(e, o, ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]);
		p += 3;
	}
	*pin = p;
	return (size_t)(o - out);
}

size_t mimeo_b64_encode_step(mimeo_b64_encoder *e, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	/* Complete a quantum started by an earlier call (_n < 3 always
	 * holds here; saying so lets gcc -O3 see _buf is not overrun). */
	while (e->_n > 0 && e->_n < 3 && p < end) {
		e->_buf[e->_n++] = *p++;
		if (e->_n == 3) {
			o = b64_put4(e, o, ((uint32_t)e->_buf[0] << 16) |
					   ((uint32_t)e->_buf[1] << 8) | e->_buf[2]);
			e->_n = 0;
		}
	}
	/* The SIMD encoders start at a line start (or anywhere with
	 * MIMEO_B64_NOWRAP): finish the current line here. */
	switch (e->_isa) {
#if MIMEO_HAVE_AVX512
	case MIMEO_ISA_AVX512:
		if (end - p >= 128) {
			if (!(e->_flags & MIMEO_B64_NOWRAP))
				o += b64_encode_to_line_end(e, &p, end, o);
			o += mimeo__b64_encode_avx512(e, &p, end, o);
		}
		break;
#endif
#if MIMEO_HAVE_AVX2
	case MIMEO_ISA_AVX2:
		if (end - p >= 128) {
			if (!(e->_flags & MIMEO_B64_NOWRAP))
				o += b64_encode_to_line_end(e, &p, end, o);
			o += mimeo__b64_encode_avx2(e, &p, end, o);
		}
		break;
#endif
	default:
		break;
	}
	o = b64_encode_scalar(e, &p, end, o);
	while (p < end)
		e->_buf[e->_n++] = *p++;
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_b64_encode_finish(mimeo_b64_encoder *e, void *out)
{
	const char *a = mimeo__b64_alphabet;
	unsigned char *o = out;

	if (e->_n > 0) {
		uint32_t v = (uint32_t)e->_buf[0] << 16;

		if (e->_n == 2)
			v |= (uint32_t)e->_buf[1] << 8;
		if (e->_col >= 76 && !(e->_flags & MIMEO_B64_NOWRAP)) {
			o = b64_eol(e, o);
			e->_col = 0;
		}
		o[0] = (unsigned char)a[(v >> 18) & 63];
		o[1] = (unsigned char)a[(v >> 12) & 63];
		o[2] = e->_n == 2 ? (unsigned char)a[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
		e->_col += 4;
		e->_n = 0;
	}
	if (e->_col > 0 && !(e->_flags & MIMEO_B64_NOWRAP))
		o = b64_eol(e, o);
	e->_col = 0;
	return (size_t)(o - (unsigned char *)out);
}

/* ------------------------------------------------------------------ */
/* Decoded size without decoding                                       */
/* ------------------------------------------------------------------ */

void mimeo__b64_count_init(mimeo__b64_counter *c, mimeo_isa isa)
{
	memset(c, 0, sizeof(*c));
	c->isa = mimeo__isa_resolve(isa);
}

static int b64_alpha(unsigned char c)
{
	return mimeo__b64_dec_table[c] < 64;
}

/* Alphabet characters of p[0..n), 16 bytes at a time into per-byte
 * counters summed every 255 blocks (a popcount of the byte mask per block
 * compiles to a libgcc call on baseline x86-64 and made this count cost as
 * much as decoding); stops before the first block holding '='.  Returns
 * the bytes consumed. */
static size_t b64_count_sse2(const unsigned char *d, size_t n, uint64_t *alpha)
{
	size_t i = 0;
#if defined(__SSE2__)
	/* bytes >= 0x80 are negative as signed: outside every range */
	const __m128i bA = _mm_set1_epi8('A' - 1), bZ = _mm_set1_epi8('Z' + 1);
	const __m128i ba = _mm_set1_epi8('a' - 1), bz = _mm_set1_epi8('z' + 1);
	const __m128i b0 = _mm_set1_epi8('0' - 1), b9 = _mm_set1_epi8('9' + 1);
	const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
	const __m128i eq = _mm_set1_epi8('='), zero = _mm_setzero_si128();
	uint64_t total = 0;

	while (n - i >= 16) {
		__m128i acc = zero, sum;
		unsigned k;
		int pad = 0;

		for (k = 0; k < 255 && n - i >= 16; k++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(d + i));
			__m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, bA), _mm_cmplt_epi8(v, bZ));
			__m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, ba), _mm_cmplt_epi8(v, bz));
			__m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, b0), _mm_cmplt_epi8(v, b9));
			__m128i ps = _mm_or_si128(_mm_cmpeq_epi8(v, plus), _mm_cmpeq_epi8(v, slash));
			__m128i al = _mm_or_si128(_mm_or_si128(up, lo), _mm_or_si128(dg, ps));

			if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, eq))) {
				pad = 1;
				break;
			}
			acc = _mm_sub_epi8(acc, al); /* al is -1 per alphabet byte */
		}
		sum = _mm_sad_epu8(acc, zero);
		total += (uint64_t)(uint32_t)_mm_cvtsi128_si32(sum) +
			 (uint64_t)(uint32_t)_mm_cvtsi128_si32(_mm_unpackhi_epi64(sum, sum));
		if (pad)
			break;
	}
	*alpha += total;
#else
	(void)d;
	(void)n;
	(void)alpha;
#endif
	return i;
}

void mimeo__b64_count_step(mimeo__b64_counter *c, const void *data, size_t len)
{
	const unsigned char *d = data;
	uint64_t out = c->size, q = c->q;
	size_t i = 0;

	while (i < len) {
		uint64_t alpha = 0;
		size_t stop;

		/* a run without '=': only its alphabet characters count */
		switch (c->isa) {
#if MIMEO_HAVE_AVX2
		case MIMEO_ISA_AVX2:
		case MIMEO_ISA_AVX512:
			i += mimeo__b64_count_avx2(d + i, len - i, &alpha);
			break;
#endif
		case MIMEO_ISA_SCALAR:
			break;
		default:
			i += b64_count_sse2(d + i, len - i, &alpha);
			break;
		}
		q += alpha;
		out += 3 * (q >> 2);
		q &= 3;
		/* then one block (or the tail) byte by byte: it places '=' */
		stop = len - i >= 32 ? i + 32 : len;
		for (; i < stop; i++) {
			unsigned char ch = d[i];

			if (b64_alpha(ch)) {
				if (++q == 4) {
					out += 3;
					q = 0;
				}
			} else if (ch == '=') {
				if (q >= 2)
					out += q - 1;
				q = 0;
			}
		}
	}
	c->q = (unsigned)q;
	c->size = out;
}

uint64_t mimeo__b64_count_finish(mimeo__b64_counter *c)
{
	uint64_t size = c->size + (c->q >= 2 ? c->q - 1 : 0);

	c->size = 0;
	c->q = 0;
	return size;
}
