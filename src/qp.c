/*
 * qp.c - streaming quoted-printable decoder and encoder (RFC 2045
 * section 6.7).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <string.h>

/* Decoder states (d->_state). */
enum {
	QP_TEXT = 0,   /* ordinary text; _ws holds a pending whitespace run and
			  _cr a CR after it, both waiting to see if the line ends */
	QP_EQ,         /* after '=' (and a CR when _cr is set) */
	QP_EQ_HEX,     /* after '=' and one hex digit (kept in _hex) */
	QP_EQ_WS       /* after '=' and whitespace (in _ws; maybe a CR in _cr) */
};

/* Bytes that leave the text fast path: whitespace, line breaks and '='. */
static const unsigned char qp_special[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1, ['='] = 1,
};

static int hexval(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	return -1;
}

void mimeo_qp_decoder_init(mimeo_qp_decoder *d)
{
	memset(d, 0, sizeof(*d));
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

		/* Fast path: plain text with nothing pending.  A space or tab
		 * followed by plain text cannot be trailing whitespace. */
		if (d->_state == QP_TEXT && d->_nws == 0 && !d->_cr) {
			while (p < end) {
				c = *p;
				if (!qp_special[c]) {
					*o++ = (unsigned char)c;
					p++;
				} else if ((c == ' ' || c == '\t') && end - p >= 2 &&
					   !qp_special[p[1]]) {
					o[0] = (unsigned char)c;
					o[1] = p[1];
					o += 2;
					p += 2;
				} else {
					break;
				}
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
				if (d->_nws == MIMEO_QP_MAX_PENDING_WS)
					o = put_ws(d, o);
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
		enc = c < 32 || c > 126 || c == '=';
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

size_t mimeo_qp_encode_step(mimeo_qp_encoder *e, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;
	unsigned flags = e->_flags;
	int text = !(flags & MIMEO_QP_BINARY), crlf = (flags & MIMEO_QP_CRLF) != 0;

	while (p < end) {
		unsigned c = *p++;

		/* Fast path: printable bytes well inside the line. */
		if (e->_pend < 0 && c >= 33 && c <= 126 && c != '=' && e->_col > 0 && e->_col < 75) {
			*o++ = (unsigned char)c;
			e->_col++;
			continue;
		}
		if (e->_pend == '\r') {
			e->_pend = -1;
			if (c == '\n') {   /* CRLF: the hard line break */
				o = qp_eol(e, o);
				e->_col = 0;
				continue;
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
