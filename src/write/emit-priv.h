/*
 * emit-priv.h - the output layer (emit.c) that builder.c and to7bit.c share
 * (not installed): the buffered output sink, the content scanner that picks
 * a transfer encoding, the streaming body encoder, and header-text column
 * bookkeeping.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_EMIT_PRIV_H
#define MIMEO_EMIT_PRIV_H

#include "common-priv.h"
#include "mimeo/builder.h"

/* Longest line RFC 5322 section 2.1.1 allows, without its line break. */
#define MIMEO__MAX_LINE 998

/* Base64 turns 57 input bytes into one 76-character line (RFC 2045
 * section 6.8). */
#define MIMEO__B64_LINE_IN 57u
/* Bodies are encoded in slices of 216 whole base64 lines: 12,312 bytes that
 * become 16,848 bytes of CRLF output.  Whole lines leave the encoder nothing
 * to carry from one slice to the next, and the slice plus its encoding
 * (29 KiB) stay in the L1 data cache while the next read copies into the
 * slice.  The output buffer therefore holds one slice's encoding and is
 * handed to the write callback while still in cache: with room for two
 * slices (46 KiB) a streamed 100 MiB build measured ~72% of the bare
 * encoder, with one ~100% (bench/bench_builder.c). */
#define MIMEO__B64_SLICE (216u * MIMEO__B64_LINE_IN)
#define MIMEO__OUT_CAP (24u * 1024u)
/* Quoted-printable may quadruple its input. */
#define MIMEO__QP_SLICE ((MIMEO__OUT_CAP - 16u) / 4u)

/* Buffered output: everything the builder and to7bit produce goes through
 * one of these, so the write callback sees few, large chunks. */
typedef struct mimeo__out {
	mimeo_write_fn fn;
	void *ctx;
	char *buf;
	size_t n;      /* bytes pending in buf */
	size_t cap;
	int err;       /* sticky: first failure */
} mimeo__out;

int mimeo__out_init(mimeo__out *o, const mimeo_allocator *a, size_t cap,
		    mimeo_write_fn fn, void *ctx);
void mimeo__out_dispose(mimeo__out *o, const mimeo_allocator *a);
int mimeo__out_flush(mimeo__out *o);
int mimeo__out_put(mimeo__out *o, const void *data, size_t len);
/* Room for `need` bytes at o->buf + o->n (flushing first if needed);
 * need <= cap.  NULL after a failure (o->err). */
char *mimeo__out_reserve(mimeo__out *o, size_t need);

/* Facts about a body gathered in one pass, to choose its encoding. */
typedef struct mimeo__scan {
	uint64_t total;
	uint64_t high;        /* bytes >= 128 */
	uint64_t ctl;         /* NUL and other controls except TAB, CR, LF */
	uint64_t nul;
	uint64_t cr, lf, crlf;
	size_t line;          /* length of the current line so far */
	size_t maxline;       /* longest line, line break excluded */
	unsigned hn;          /* bytes of the current line seen in `head` */
	unsigned char head[5];
	int prev_cr;
	int from_line;        /* a line starts with "From " */
	int delim_line;       /* a line starts with "--=_" (our boundaries) */
} mimeo__scan;

void mimeo__scan_init(mimeo__scan *s);
void mimeo__scan_step(mimeo__scan *s, const void *data, size_t len);

/* Choose an encoding from a scan: 7bit, 8bit (when `allow8`), QP or
 * base64.  `crlf`: the line breaks the output uses; identity encodings
 * are only chosen when the data's line breaks already are those. */
mimeo_cte mimeo__scan_choose(const mimeo__scan *s, int crlf, int allow8);

/* Streaming encoder of one body in any encoding the builder writes. */
typedef struct mimeo__enc {
	mimeo_cte cte;
	union {
		mimeo_b64_encoder b64;
		mimeo_qp_encoder qp;
	} u;
} mimeo__enc;

/* `text`: for QP, line breaks are hard breaks (else MIMEO_QP_BINARY). */
void mimeo__enc_init(mimeo__enc *e, mimeo_cte cte, int crlf, int text);
int mimeo__enc_step(mimeo__enc *e, mimeo__out *o, const void *data, size_t len);
int mimeo__enc_finish(mimeo__enc *e, mimeo__out *o);

/* Header text being built in a mimeo_buf: the column at its end, the
 * widest line among the bytes from `mark` on (the line at `mark` already
 * had `col0` columns), and cutting it back to `mark`. */
size_t mimeo__buf_col(const mimeo_buf *h);
size_t mimeo__widest_since(const mimeo_buf *h, size_t mark, size_t col0);
void mimeo__buf_trunc(mimeo_buf *h, size_t mark);

/* mimeo_write_fn appending to a mimeo_buf (ctx). */
int mimeo__buf_writer(const void *data, size_t len, void *ctx);

#endif
