/*
 * qp.c - streaming quoted-printable decoder and encoder (RFC 2045
 * section 6.7).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Decoder states (d->_state). */
enum {
	QP_TEXT = 0,   /* ordinary text; _ws holds a pending whitespace run and
			  _cr a CR after it, both waiting to see if the line ends */
	QP_EQ,         /* after '=' (and a CR when _cr is set) */
	QP_EQ_HEX,     /* after '=' and one hex digit (kept in _hex) */
	QP_EQ_WS       /* after '=' and whitespace (in _ws; maybe a CR in _cr) */
};

/*
 * Copy bytes from p to o up to the first byte the fast path must look at,
 * or the end; return how many.  Those bytes are '=', a CR that does not
 * start a CRLF, and a CR or LF right after a space or tab (the whitespace
 * may have to be removed, rule 3).  A line break after other bytes is
 * copied like text.  `first` is the start of the caller's input: the byte
 * before it is not whitespace (whitespace at the end of a chunk is held
 * back, so the fast path never starts right after it).
 *
 * The SSE2 loop stores 16 bytes at a time: bytes past the stop are
 * rewritten later and stay within MIMEO_QP_DECODE_BOUND, since the output
 * never runs ahead of the input consumed.
 */
static size_t qp_scan(const unsigned char *first, const unsigned char *p,
		      const unsigned char *end, unsigned char *o)
{
	const unsigned char *s = p;

#ifdef __SSE2__
	const __m128i eq = _mm_set1_epi8('='), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');

	while (end - s >= 17) {
		__m128i v = _mm_loadu_si128((const __m128i *)s);
		__m128i vn = _mm_loadu_si128((const __m128i *)(s + 1));
		__m128i vp = s > first ? _mm_loadu_si128((const __m128i *)(s - 1))
				       : _mm_slli_si128(v, 1);
		__m128i pws = _mm_or_si128(_mm_cmpeq_epi8(vp, sp), _mm_cmpeq_epi8(vp, tab));
		__m128i isl = _mm_cmpeq_epi8(v, lf), isc = _mm_cmpeq_epi8(v, cr);
		/* CR is fine only as the start of CRLF after a non-space. */
		__m128i crok = _mm_andnot_si128(pws, _mm_cmpeq_epi8(vn, lf));
		__m128i stop = _mm_or_si128(_mm_cmpeq_epi8(v, eq),
					    _mm_or_si128(_mm_and_si128(_mm_or_si128(isl, isc), pws),
							 _mm_andnot_si128(crok, isc)));
		unsigned m = (unsigned)_mm_movemask_epi8(stop);

		_mm_prefetch((const char *)s + 512, _MM_HINT_T0);
		_mm_storeu_si128((__m128i *)(o + (s - p)), v);
		if (m)
			return (size_t)(s - p) + (size_t)__builtin_ctz(m);
		s += 16;
	}
#endif
	for (; s < end; s++) {
		unsigned c = *s;
		int pw = s > first && (s[-1] == ' ' || s[-1] == '\t');

		if (c == '=' || ((c == '\n' || c == '\r') && pw) ||
		    (c == '\r' && (end - s < 2 || s[1] != '\n')))
			break;
		o[s - p] = (unsigned char)c;
	}
	return (size_t)(s - p);
}

/* Spaces and tabs at the end of the `run` bytes just written before o,
 * at most MIMEO_QP_MAX_PENDING_WS of them. */
static size_t trailing_ws(const unsigned char *o, size_t run)
{
	size_t t = 0;

	while (t < run && t < MIMEO_QP_MAX_PENDING_WS && (o[-1 - (ptrdiff_t)t] == ' ' ||
							  o[-1 - (ptrdiff_t)t] == '\t'))
		t++;
	return t;
}

/* Hex digit value plus one, either case; 0 for anything else. */
static const unsigned char qp_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(unsigned c)
{
	return (int)qp_hex[c] - 1;
}

void mimeo_qp_decoder_init_isa(mimeo_qp_decoder *d, mimeo_isa isa)
{
	memset(d, 0, sizeof(*d));
	d->_isa = mimeo__isa_resolve(isa);
}

void mimeo_qp_decoder_init(mimeo_qp_decoder *d)
{
	mimeo_qp_decoder_init_isa(d, MIMEO_ISA_AUTO);
}

static unsigned char *put_ws(mimeo_qp_decoder *d, unsigned char *o)
{
	memcpy(o, d->_ws, d->_nws);
	o += d->_nws;
	d->_nws = 0;
	return o;
}

/* An '=' that does not start a valid sequence is kept as it was, with what
 * followed it up to now (the behaviour of Thunderbird and GMime). */
static unsigned char *put_invalid_eq(mimeo_qp_decoder *d, unsigned char *o)
{
	*o++ = '=';
	if (d->_state == QP_EQ_HEX)
		*o++ = (unsigned char)d->_hex;
	else if (d->_state == QP_EQ_WS)
		o = put_ws(d, o);
	if (d->_cr)
		*o++ = '\r';
	d->_cr = 0;
	d->_state = QP_TEXT;
	d->invalid++;
	return o;
}

size_t mimeo_qp_decode_step(mimeo_qp_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	while (p < end) {
		unsigned c;

		/* Fast path: plain text with nothing pending.  Runs without
		 * '=' or line breaks are copied in bulk; whitespace at the end
		 * of a run is taken back when a line break follows (rule 3)
		 * or held as pending at the end of the chunk. */
		if (d->_state == QP_TEXT && d->_nws == 0 && !d->_cr) {
			for (;;) {
				size_t run, t;
				int h1, h2;

#if MIMEO_CODEC_AVX512
				if (d->_isa == MIMEO_ISA_AVX512 && end - p >= 66)
					o += mimeo__qp_decode_avx512(&p, end, o);
#endif
				run = qp_scan(in, p, end, o);

				p += run;
				o += run;
				if (p == end || *p == '\r') {
					t = trailing_ws(o, run);
					o -= t;
					memcpy(d->_ws, o, t);
					d->_nws = (unsigned)t;
					if (p < end && end - p >= 2 && p[1] == '\n') {
						d->_nws = 0;
						o[0] = '\r';
						o[1] = '\n';
						o += 2;
						p += 2;
						continue;
					}
					break;
				}
				if (*p == '\n') {
					o -= trailing_ws(o, run);
					*o++ = '\n';
					p++;
					continue;
				}
				/* '=': decode a run of escapes at once (UTF-8 text
				 * has them in pairs and triples). */
				if (end - p >= 3) {
					h1 = qp_hex[p[1]];
					h2 = qp_hex[p[2]];
					if (h1 && h2) {
						do {
							*o++ = (unsigned char)((h1 - 1) << 4 | (h2 - 1));
							p += 3;
							if (end - p < 3 || *p != '=')
								break;
							h1 = qp_hex[p[1]];
							h2 = qp_hex[p[2]];
						} while (h1 && h2);
						continue;
					}
					if (p[1] == '\n') {
						p += 2;
						continue;
					}
					if (p[1] == '\r' && p[2] == '\n') {
						p += 3;
						continue;
					}
				}
				break;
			}
			if (p == end)
				break;
		}
		c = *p++;
again:
		switch (d->_state) {
		case QP_TEXT:
			if (d->_cr) {
				d->_cr = 0;
				if (c == '\n') {
					/* Rule 3: whitespace before a line break is
					 * padding added in transport; drop it. */
					d->_nws = 0;
					o[0] = '\r';
					o[1] = '\n';
					o += 2;
					break;
				}
				/* A lone CR is data; so is the whitespace before it. */
				o = put_ws(d, o);
				*o++ = '\r';
			}
			if (c == ' ' || c == '\t') {
				/* Hold at most the last MIMEO_QP_MAX_PENDING_WS. */
				if (d->_nws == MIMEO_QP_MAX_PENDING_WS) {
					*o++ = d->_ws[0];
					memmove(d->_ws, d->_ws + 1, MIMEO_QP_MAX_PENDING_WS - 1);
					d->_nws--;
				}
				d->_ws[d->_nws++] = (unsigned char)c;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {
				d->_nws = 0;
				*o++ = '\n';
			} else {
				o = put_ws(d, o);
				if (c == '=')
					d->_state = QP_EQ;
				else
					*o++ = (unsigned char)c;
			}
			break;
		case QP_EQ:
			if (d->_cr) {
				if (c == '\n') {   /* "=\r\n": soft line break */
					d->_cr = 0;
					d->_state = QP_TEXT;
					break;
				}
				o = put_invalid_eq(d, o);
				goto again;
			}
			if (hexval(c) >= 0) {
				d->_hex = c;
				d->_state = QP_EQ_HEX;
			} else if (c == ' ' || c == '\t') {
				d->_ws[0] = (unsigned char)c;
				d->_nws = 1;
				d->_state = QP_EQ_WS;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {   /* "=\n": soft line break */
				d->_state = QP_TEXT;
			} else {
				o = put_invalid_eq(d, o);
				goto again;
			}
			break;
		case QP_EQ_HEX:
			if (hexval(c) >= 0) {
				*o++ = (unsigned char)(hexval(d->_hex) << 4 | hexval(c));
				d->_state = QP_TEXT;
				break;
			}
			o = put_invalid_eq(d, o);
			goto again;
		case QP_EQ_WS:
			if (d->_cr) {
				if (c == '\n') {   /* "=  \r\n": soft break (rule 3) */
					d->_cr = 0;
					d->_nws = 0;
					d->_state = QP_TEXT;
					break;
				}
				o = put_invalid_eq(d, o);
				goto again;
			}
			if (c == ' ' || c == '\t') {
				if (d->_nws == MIMEO_QP_MAX_PENDING_WS) {
					/* Too long to be transport padding: give up on
					 * the soft break, keep everything literally. */
					o = put_invalid_eq(d, o);
					goto again;
				}
				d->_ws[d->_nws++] = (unsigned char)c;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {
				d->_nws = 0;
				d->_state = QP_TEXT;
			} else {
				o = put_invalid_eq(d, o);
				goto again;
			}
			break;
		}
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_qp_decode_finish(mimeo_qp_decoder *d, void *out)
{
	unsigned char *o = out;

	switch (d->_state) {
	case QP_TEXT:
		/* Whitespace at the very end is trailing whitespace of the last
		 * line; a lone CR is data and keeps what precedes it. */
		if (d->_cr) {
			o = put_ws(d, o);
			*o++ = '\r';
		}
		break;
	case QP_EQ_HEX:
		o = put_invalid_eq(d, o);
		break;
	default:
		/* '=' (then whitespace or a CR) ending the input: a soft line
		 * break at the end of a body cut before its line break. */
		break;
	}
	d->_state = QP_TEXT;
	d->_nws = 0;
	d->_cr = 0;
	return (size_t)(o - (unsigned char *)out);
}

/* ---- encoder ---- */

static const char hexdigits[] = "0123456789ABCDEF";

void mimeo_qp_encoder_init(mimeo_qp_encoder *e, unsigned flags)
{
	e->_flags = flags;
	e->_col = 0;
	e->_pend = -1;
}

static unsigned char *qp_eol(const mimeo_qp_encoder *e, unsigned char *o)
{
	if (e->_flags & MIMEO_QP_CRLF)
		*o++ = '\r';
	*o++ = '\n';
	return o;
}

/* Emit byte c, encoded when `enc` or when it cannot be literal; break the
 * line with a soft break first if it would pass 75 characters (76 with the
 * '=' of the soft break, RFC 2045 6.7 rule 5). */
static unsigned char *qp_put(mimeo_qp_encoder *e, unsigned char *o, unsigned c, int enc)
{
	unsigned w;

	if (!enc)
		enc = (c < 32 && c != '\t') || c > 126 || c == '=';
	if (!enc && e->_col == 0 && (e->_flags & MIMEO_QP_MAILSAFE) && (c == 'F' || c == '.'))
		enc = 1;
	w = enc ? 3 : 1;
	if (e->_col + w > 75) {
		*o++ = '=';
		o = qp_eol(e, o);
		e->_col = 0;
		/* The byte now starts a line: re-check the mail-safe rule. */
		if (!enc && (e->_flags & MIMEO_QP_MAILSAFE) && (c == 'F' || c == '.')) {
			enc = 1;
			w = 3;
		}
	}
	if (enc) {
		o[0] = '=';
		o[1] = (unsigned char)hexdigits[c >> 4];
		o[2] = (unsigned char)hexdigits[c & 15];
	} else {
		o[0] = (unsigned char)c;
	}
	e->_col += w;
	return o + w;
}


/* One input byte through the full rules (line breaks, pending whitespace
 * and CR, soft breaks, mail-safe). */
static unsigned char *qp_enc_byte(mimeo_qp_encoder *e, unsigned char *o, unsigned c)
{
	int text = !(e->_flags & MIMEO_QP_BINARY), crlf = (e->_flags & MIMEO_QP_CRLF) != 0;

	if (e->_pend == '\r') {
		e->_pend = -1;
		if (c == '\n') {   /* CRLF: the hard line break */
			o = qp_eol(e, o);
			e->_col = 0;
			return o;
		}
		o = qp_put(e, o, '\r', 1);
	} else if (e->_pend >= 0) {
		/* Rule 3: whitespace that ends a line must be encoded. */
		int brk = text && (crlf ? c == '\r' : c == '\n');

		o = qp_put(e, o, (unsigned)e->_pend, brk);
		e->_pend = -1;
	}
	if (c == ' ' || c == '\t') {
		e->_pend = (int)c;
	} else if (text && !crlf && c == '\n') {
		o = qp_eol(e, o);
		e->_col = 0;
	} else if (text && crlf && c == '\r') {
		e->_pend = '\r';
	} else {
		o = qp_put(e, o, c, 0);
	}
	return o;
}

/* Bytes the encoder may copy in bulk: literals, space and tab. */
static const unsigned char qp_safe[256] = {
	['\t'] = 1, [' '] = 1, [33 ... 60] = 1, [62 ... 126] = 1,
};

size_t mimeo_qp_encode_step(mimeo_qp_encoder *e, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	while (p < end) {
		/* Fast path inside a line (columns 1..74, nothing pending): copy
		 * the run of literal bytes, spaces and tabs ahead, at most up to
		 * column 75, leaving out a final space or tab (it may end the
		 * line, rule 3: the full rules decide it).  16 bytes are
		 * classified at a time; bytes stored past the run are rewritten
		 * by later output, which never is shorter than the input. */
		if (e->_pend < 0 && e->_col - 1 < 74) {
			unsigned col = e->_col;

			while (col - 1 < 74 && p < end) {
				size_t room = 75 - col, avail = (size_t)(end - p), k = 0;

#ifdef __SSE2__
				if (avail >= 16) {
					__m128i v = _mm_loadu_si128((const __m128i *)p);
					__m128i lit = _mm_and_si128(
						_mm_cmpgt_epi8(v, _mm_set1_epi8(32)),
						_mm_cmplt_epi8(v, _mm_set1_epi8(127)));
					__m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
								  _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
					unsigned m;

					lit = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')), lit);
					m = (unsigned)_mm_movemask_epi8(_mm_or_si128(lit, ws));
					k = (size_t)__builtin_ctz(~m);   /* 16 when all are safe */
					_mm_storeu_si128((__m128i *)o, v);
				} else
#endif
				{
					size_t lim = avail < 16 ? avail : 16;

					while (k < lim && qp_safe[p[k]]) {
						o[k] = p[k];
						k++;
					}
				}
				if (k > room)
					k = room;
				if (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
					k--;
				if (k == 0)
					break;
				p += k;
				o += k;
				col += (unsigned)k;
			}
			e->_col = col;
			if (p == end)
				break;
		}
		o = qp_enc_byte(e, o, *p++);
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_qp_encode_finish(mimeo_qp_encoder *e, void *out)
{
	unsigned char *o = out;

	if (e->_pend >= 0)
		o = qp_put(e, o, (unsigned)e->_pend, 1);
	e->_pend = -1;
	e->_col = 0;
	return (size_t)(o - (unsigned char *)out);
}
