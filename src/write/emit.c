/*
 * emit.c - the output layer shared by the builder and 7-bit conversion:
 * a buffered output sink, the content scan that chooses a transfer
 * encoding, one streaming encoder for every encoding they write, and the
 * column bookkeeping of header text being folded.
 *
 * builder.c and to7bit.c both sit on this file and not on each other
 * (docs/architecture.md); the builder may call mimeo_to7bit().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "emit-priv.h"

_Static_assert(MIMEO_B64_ENCODE_BOUND(MIMEO__B64_SLICE) <= MIMEO__OUT_CAP, "output buffer too small");
_Static_assert(MIMEO_QP_ENCODE_BOUND(MIMEO__QP_SLICE) <= MIMEO__OUT_CAP, "output buffer too small");

/* ------------------------------------------------------------------ */
/* output sink                                                          */
/* ------------------------------------------------------------------ */

int mimeo__out_init(mimeo__out *o, const mimeo_allocator *a, size_t cap,
		    mimeo_write_fn fn, void *ctx)
{
	o->fn = fn;
	o->ctx = ctx;
	o->n = 0;
	o->cap = cap;
	o->err = MIMEO_OK;
	o->buf = mimeo__malloc(a, cap);
	return o->buf ? MIMEO_OK : MIMEO_ENOMEM;
}

void mimeo__out_dispose(mimeo__out *o, const mimeo_allocator *a)
{
	mimeo__free(a, o->buf);
	o->buf = NULL;
}

int mimeo__out_flush(mimeo__out *o)
{
	int r;

	if (o->err)
		return o->err;
	if (!o->n)
		return MIMEO_OK;
	r = o->fn(o->buf, o->n, o->ctx);
	o->n = 0;
	if (r < 0)
		o->err = r;
	else if (r > 0)
		o->err = MIMEO_EUSER;
	return o->err;
}

char *mimeo__out_reserve(mimeo__out *o, size_t need)
{
	if (o->err)
		return NULL;
	if (o->cap - o->n < need && mimeo__out_flush(o))
		return NULL;
	return o->buf + o->n;
}

int mimeo__out_put(mimeo__out *o, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		size_t room, k;

		if (o->err)
			return o->err;
		room = o->cap - o->n;
		if (!room) {
			if (mimeo__out_flush(o))
				return o->err;
			room = o->cap;
		}
		k = len < room ? len : room;
		memcpy(o->buf + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
	}
	return o->err;
}

int mimeo__buf_writer(const void *data, size_t len, void *ctx)
{
	return mimeo_buf_put(ctx, data, len);
}

/* ------------------------------------------------------------------ */
/* scanning and choosing an encoding                                    */
/* ------------------------------------------------------------------ */

void mimeo__scan_init(mimeo__scan *s)
{
	memset(s, 0, sizeof(*s));
}

void mimeo__scan_step(mimeo__scan *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	s->total += len;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '\n') {
			s->lf++;
			if (s->prev_cr) {
				s->crlf++;
				s->line--; /* the CR belongs to the line break */
			}
			if (s->line > s->maxline)
				s->maxline = s->line;
			s->line = 0;
			s->hn = 0;
			s->prev_cr = 0;
			continue;
		}
		s->prev_cr = c == '\r';
		if (c == '\r')
			s->cr++;
		else if (c >= 128)
			s->high++;
		else if (c < 32 && c != '\t')
			s->ctl++;
		else if (c == 127)
			s->ctl++;
		if (!c)
			s->nul++;
		s->line++;
		if (s->hn < sizeof(s->head)) {
			s->head[s->hn++] = c;
			if (s->hn == 4 && memcmp(s->head, "--=_", 4) == 0)
				s->delim_line = 1;
			if (s->hn == 5 && memcmp(s->head, "From ", 5) == 0)
				s->from_line = 1;
		}
	}
}

mimeo_cte mimeo__scan_choose(const mimeo__scan *s, int crlf, int allow8)
{
	size_t maxline = s->line > s->maxline ? s->line : s->maxline;
	int breaks_ok, ident;

	/* RFC 2045 section 2.7/2.8: 7bit and 8bit data are lines of at most
	 * 998 octets, no NUL, CR and LF only as the line break. */
	if (crlf)
		breaks_ok = s->cr == s->crlf && s->lf == s->crlf;
	else
		breaks_ok = s->cr == 0;
	/* A line starting with "From " would be mangled by mbox writers; one
	 * starting with "--=_" might look like our delimiters. */
	ident = breaks_ok && !s->nul && maxline <= MIMEO__MAX_LINE &&
		!s->from_line && !s->delim_line;
	if (ident && !s->high)
		return MIMEO_CTE_7BIT;
	if (ident && allow8)
		return MIMEO_CTE_8BIT;
	/* Quoted-printable spends 3 bytes on each byte it must encode,
	 * base64 4/3 on every byte: QP is smaller (and readable) while at
	 * most about one byte in six needs encoding. */
	if ((s->high + s->ctl + s->cr) * 6 <= s->total)
		return MIMEO_CTE_QP;
	return MIMEO_CTE_BASE64;
}

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* body encoders                                                        */
/* ------------------------------------------------------------------ */

void mimeo__enc_init(mimeo__enc *e, mimeo_cte cte, int crlf, int text)
{
	e->cte = cte;
	if (cte == MIMEO_CTE_BASE64) {
		mimeo_b64_encoder_init(&e->u.b64, crlf ? MIMEO_B64_CRLF : 0, MIMEO_ISA_AUTO);
	} else if (cte == MIMEO_CTE_QP) {
		/* Mail-safe always: a line-leading "From " or "." is encoded,
		 * so mbox quoting and SMTP dot stuffing cannot alter it. */
		unsigned f = MIMEO_QP_MAILSAFE;

		if (crlf)
			f |= MIMEO_QP_CRLF;
		if (!text)
			f |= MIMEO_QP_BINARY;
		mimeo_qp_encoder_init(&e->u.qp, f, MIMEO_ISA_AUTO);
	}
}

int mimeo__enc_step(mimeo__enc *e, mimeo__out *o, const void *data, size_t len)
{
	const char *p = data;

	if (e->cte != MIMEO_CTE_BASE64 && e->cte != MIMEO_CTE_QP)
		return mimeo__out_put(o, data, len);
	while (len) {
		size_t slice = e->cte == MIMEO_CTE_BASE64 ? MIMEO__B64_SLICE : MIMEO__QP_SLICE;
		size_t k = len < slice ? len : slice;
		char *dst;

		if (e->cte == MIMEO_CTE_BASE64) {
			dst = mimeo__out_reserve(o, MIMEO_B64_ENCODE_BOUND(k));
			if (!dst)
				return o->err;
			o->n += mimeo_b64_encode_step(&e->u.b64, p, k, dst);
		} else {
			dst = mimeo__out_reserve(o, MIMEO_QP_ENCODE_BOUND(k));
			if (!dst)
				return o->err;
			o->n += mimeo_qp_encode_step(&e->u.qp, p, k, dst);
		}
		p += k;
		len -= k;
	}
	return MIMEO_OK;
}

int mimeo__enc_finish(mimeo__enc *e, mimeo__out *o)
{
	char *dst;

	if (e->cte == MIMEO_CTE_BASE64) {
		dst = mimeo__out_reserve(o, MIMEO_B64_ENCODE_FINISH_MAX);
		if (!dst)
			return o->err;
		o->n += mimeo_b64_encode_finish(&e->u.b64, dst);
	} else if (e->cte == MIMEO_CTE_QP) {
		dst = mimeo__out_reserve(o, MIMEO_QP_ENCODE_FINISH_MAX);
		if (!dst)
			return o->err;
		o->n += mimeo_qp_encode_finish(&e->u.qp, dst);
	}
	return o->err;
}

/* Column at the end of `h` (bytes since its last LF). */
size_t mimeo__buf_col(const mimeo_buf *h)
{
	size_t i = h->size;

	while (i > 0 && h->ptr[i - 1] != '\n')
		i--;
	return h->size - i;
}

size_t mimeo__widest_since(const mimeo_buf *h, size_t mark, size_t col0)
{
	size_t i, col = col0, w = col0;

	for (i = mark; i < h->size; i++) {
		if (h->ptr[i] == '\n') {
			col = 0;
			continue;
		}
		if (h->ptr[i] != '\r' && ++col > w)
			w = col;
	}
	return w;
}

void mimeo__buf_trunc(mimeo_buf *h, size_t mark)
{
	h->size = mark;
	if (h->ptr)
		h->ptr[mark] = '\0';
}
