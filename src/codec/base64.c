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
