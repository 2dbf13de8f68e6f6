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
			/* RFC 2045 6.8: '=' ends the data of this quantum.
			 * After two or three characters it is the padded end:
			 * what follows is judged line by line (b64_after_end);
			 * after one it only drops the lone sextet. */
			if (n > 0) {
				d->_acc = acc;
				d->_n = n;
				d->_pad = 4 - n - 1;
				o = b64_flush_partial(d, o);
				acc = 0;
				n = 0;
				if (d->_pad < 2) {
					d->_end = 1;
					d->_len = 0;
					break;
				}
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

/*
 * After the padded end (issue 15 class 4).  A line may resume the data
 * only when it is well-formed base64: whole quanta of alphabet characters,
 * '=' only as the padding that ends a quantum (several padded quanta may
 * share a line: concatenation without a line break), at most
 * MIMEO_B64_LINE_MAX characters.  A footer line fails this nearly always
 * (spaces, punctuation, a length that is not a multiple of 4).
 */
static int b64_line_ok(const unsigned char *l, unsigned len)
{
	const unsigned char *t = mimeo__b64_dec_table;
	unsigned i;

	if (len == 0 || len % 4 != 0)
		return 0;
	for (i = 0; i < len; i += 4) {
		if (t[l[i]] >= 64 || t[l[i + 1]] >= 64)
			return 0;
		if (t[l[i + 2]] >= 64 && !(l[i + 2] == '=' && l[i + 3] == '='))
			return 0;
		if (t[l[i + 3]] >= 64 && l[i + 3] != '=')
			return 0;
	}
	return 1;
}

/* Decode a well-formed line; returns whether it ended with padding (the
 * data has then reached a padded end again). */
static int b64_line_decode(const unsigned char *l, unsigned len, unsigned char **po)
{
	const unsigned char *t = mimeo__b64_dec_table;
	unsigned char *o = *po;
	unsigned i;
	int padded = 0;

	for (i = 0; i < len; i += 4) {
		uint32_t v = (uint32_t)t[l[i]] << 18 | (uint32_t)t[l[i + 1]] << 12;

		padded = l[i + 3] == '=';
		*o++ = (unsigned char)(v >> 16);
		if (l[i + 2] == '=')
			continue;
		v |= (uint32_t)t[l[i + 2]] << 6;
		*o++ = (unsigned char)(v >> 8);
		if (padded)
			continue;
		*o++ = (unsigned char)(v | t[l[i + 3]]);
	}
	*po = o;
	return padded;
}

/* The line held in d->_line is complete: decode it or end the data. */
static unsigned char *b64_judge_line(mimeo_b64_decoder *d, unsigned char *o)
{
	if (b64_line_ok(d->_line, d->_len)) {
		/* Concatenated base64 goes on (gmime#150). */
		if (!b64_line_decode(d->_line, d->_len, &o))
			d->_end = 0;
		d->_pad = 0;
	} else {
		d->trailing += d->_len;
		d->_end = 2;
	}
	d->_len = 0;
	return o;
}

/* Consume input after a padded end: until a well-formed line resumes the
 * data (d->_end back to 0) or the input ends.  Scalar: this is the end of
 * a body, not its bulk. */
static unsigned char *b64_after_end(mimeo_b64_decoder *d, const unsigned char **pin,
				    const unsigned char *end, unsigned char *o)
{
	const unsigned char *t = mimeo__b64_dec_table;
	const unsigned char *p = *pin;

	while (p < end && d->_end == 1) {
		unsigned char c = *p++;
		unsigned v = t[c];

		if (c == '\n' || c == '\r') {
			if (d->_len > 0)
				o = b64_judge_line(d, o);
		} else if (v == MIMEO__B64_WS) {
			continue;
		} else if (v == MIMEO__B64_PAD && d->_len == 0) {
			/* the '=' still owed to the last quantum, or surplus */
			if (d->_pad > 0)
				d->_pad--;
			else
				d->invalid++;
		} else if (v == MIMEO__B64_INVALID || d->_len == MIMEO_B64_LINE_MAX) {
			/* not base64, or longer than a base64 line may be */
			d->trailing += d->_len + 1;
			d->_len = 0;
			d->_end = 2;
		} else {
			d->_line[d->_len++] = c;
		}
	}
	if (d->_end == 2) {
		uint64_t n = 0;

		for (; p < end; p++)
			n += t[*p] != MIMEO__B64_WS;
		d->trailing += n;
	}
	*pin = p;
	return o;
}

size_t mimeo_b64_decode_step(mimeo_b64_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	while (p < end) {
		if (d->_end) {
			o = b64_after_end(d, &p, end, o);
			continue;
		}
		/* Each path returns at the end of the input or at a padded
		 * end (or, stop_aligned, at a quantum boundary). */
		switch (d->_isa) {
#if MIMEO_HAVE_AVX512
		case MIMEO_ISA_AVX512:
			/* The kernel also takes the partial last block. */
			if (d->_n == 0 && end - p >= 16)
				o += mimeo__b64_decode_avx512(d, &p, end, o);
			o = b64_decode_scalar(d, &p, end, o, end - p >= 32);
			break;
#endif
#if MIMEO_HAVE_AVX2
		case MIMEO_ISA_AVX2:
			if (d->_n == 0 && end - p >= 64)
				o += mimeo__b64_decode_avx2(d, &p, end, o);
			o = b64_decode_scalar(d, &p, end, o, end - p >= 128);
			break;
#endif
		default:
			o = b64_decode_scalar(d, &p, end, o, 0);
			break;
		}
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo__b64_decode_lines(mimeo_b64_decoder *d, const void *in, size_t len, void *out,
			       size_t *produced)
{
	const unsigned char *p = in;
	unsigned char *o = out;

	*produced = 0;
	/* pending sextets, or after a padded end: the general path */
	if (d->_n || d->_end)
		return 0;
#if MIMEO_HAVE_AVX2
	/* (the AVX-512 path has AVX2 too) */
	if (d->_isa >= MIMEO_ISA_AVX2)
		o = mimeo__b64_decode_lines_avx2(&p, p + len, o);
#endif
	if (o != (unsigned char *)out)
		d->_pad = 0; /* as mimeo__b64_decode_avx2 after alphabet characters */
	*produced = (size_t)(o - (unsigned char *)out);
	return (size_t)(p - (const unsigned char *)in);
}

size_t mimeo_b64_decode_finish(mimeo_b64_decoder *d, void *out)
{
	unsigned char *o = out;

	/* A line after a padded end that the input ended without a line
	 * break is judged like any other. */
	if (d->_end == 1 && d->_len > 0)
		o = b64_judge_line(d, o);
	o = b64_flush_partial(d, o);
	d->_pad = 0;
	d->_end = 0;
	d->_len = 0;
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

/* After a padded end: the decoder judges the rest, its output counted. */
static void b64_count_after_end(mimeo__b64_counter *c, const unsigned char *d, size_t n)
{
	unsigned char out[MIMEO_B64_DECODE_BOUND(1024)];

	while (n) {
		size_t k = n < 1024 ? n : 1024;

		c->size += mimeo_b64_decode_step(&c->dec, d, k, out);
		d += k;
		n -= k;
	}
}

void mimeo__b64_count_step(mimeo__b64_counter *c, const void *data, size_t len)
{
	const unsigned char *d = data;
	uint64_t out = c->size, q = c->q;
	size_t i = 0;

	if (c->ended) {
		b64_count_after_end(c, d, len);
		return;
	}
	while (i < len) {
		uint64_t alpha = 0;
		size_t stop;

		/* a run without '=': only its alphabet characters count.  The
		 * scalar path (no optional ISA: a CPU without AVX2, or
		 * MIMEO_FORCE_ISA=scalar) counts with SSE2, which every x86-64
		 * has; elsewhere the byte loop below does it all. */
		switch (c->isa) {
#if MIMEO_HAVE_AVX2
		case MIMEO_ISA_AVX2:
		case MIMEO_ISA_AVX512:
			i += mimeo__b64_count_avx2(d + i, len - i, &alpha);
			break;
#endif
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
				if (q >= 2) {
					/* the padded end: the decoder, in its
					 * state there (two characters owe one
					 * more '='), takes the rest */
					c->size = out + q - 1;
					c->q = 0;
					c->ended = 1;
					mimeo_b64_decoder_init(&c->dec, (mimeo_isa)c->isa);
					c->dec._pad = q == 2;
					c->dec._end = 1;
					b64_count_after_end(c, d + i + 1, len - i - 1);
					return;
				}
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

	if (c->ended) {
		unsigned char out[MIMEO_B64_DECODE_FINISH_MAX];

		size += mimeo_b64_decode_finish(&c->dec, out);
	}
	c->size = 0;
	c->q = 0;
	c->ended = 0;
	return size;
}
