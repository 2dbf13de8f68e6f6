/*
 * fuzz_pop3.c - the POP3 multi-line response reader (the RETR adapter) on
 * a hostile server's bytes.
 *
 * Input: [mode byte] [split byte] [bytes...]
 *   mode bit 0: MIMEO_POP3_NO_STATUS, bit 1: MIMEO_POP3_TO_LF,
 *   bit 2: small max_line, bit 3: small max_bytes,
 *   bit 4: also push the body into a mimeo parser (mimeo_pop3_parser_sink),
 *   bit 5: constructive mode (below), bit 6: LF-only server.
 * Raw mode: the bytes are the server's response.  One whole feed and a
 * chunked feed (each chunk in a block of its exact size, the rest of a
 * chunk after MIMEO_DONE handed back as pipelined data) must agree on the
 * result, the status line, the body bytes, the byte counters and where
 * the response ended; errors are sticky; after finish nothing changes.
 * Constructive mode: the bytes are a message; the harness writes it the way
 * RFC 1939 section 3 says a server must ("+OK", dot-stuffing, CRLF or, for
 * an LF-only server, LF line ends, the "." line) followed by a pipelined
 * response, and the reader must give back exactly the message, stop
 * exactly at the terminator however the chunks split it, and leave the
 * pipelined bytes untouched.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct sink {
	mimeo_buf out;
	mimeo_parser *parser;
} sink;

static int on_write(const void *data, size_t len, void *user)
{
	sink *s = user;

	FZ_CHECK(mimeo_buf_put(&s->out, data, len) == MIMEO_OK);
	if (s->parser)
		FZ_CHECK(mimeo_pop3_parser_sink(data, len, s->parser) == MIMEO_OK);
	return 0;
}

typedef struct result {
	int rc;
	uint64_t end;      /* input offset where the response ended (DONE) */
	uint64_t bytes, wire;
	mimeo_buf out;
	char status[MIMEO_POP3_STATUS_MAX + 1];
} result;

static void read_response(result *res, uint8_t mode, const uint8_t *in, size_t len,
			  fz_split *sp)
{
	mimeo_pop3_reader r;
	sink s;
	size_t off = 0, used;
	int rc = MIMEO_OK;

	memset(&s, 0, sizeof(s));
	mimeo_buf_init(&s.out, NULL);
	if (mode & 16)
		FZ_CHECK(mimeo_parser_new(&s.parser, NULL, NULL, NULL) == MIMEO_OK);
	mimeo_pop3_reader_init(&r, mode & 3, on_write, &s);
	if (mode & 4)
		r.max_line = 40;
	if (mode & 8)
		r.max_bytes = 300;
	res->end = 0;
	while (off < len) {
		size_t n = sp ? fz_split_next(sp, len - off) : len - off;
		uint8_t *chunk = fz_dup(in + off, n);

		used = (size_t)-1;
		rc = mimeo_pop3_reader_feed(&r, chunk, n, &used);
		free(chunk);
		FZ_CHECK(used <= n);
		if (rc == MIMEO_DONE) {
			res->end = off + used;
			break;
		}
		if (rc < 0)
			break;
		FZ_CHECK(rc == MIMEO_OK && used == n);
		off += n;
	}
	if (rc == MIMEO_DONE) {
		/* later calls consume nothing and keep saying DONE */
		FZ_CHECK(mimeo_pop3_reader_feed(&r, "x", 1, &used) == MIMEO_DONE && used == 0);
		FZ_CHECK(mimeo_pop3_reader_finish(&r) == MIMEO_DONE);
	} else if (rc < 0) {
		FZ_CHECK(mimeo_pop3_reader_feed(&r, "x", 1, NULL) == rc);
		FZ_CHECK(mimeo_pop3_reader_finish(&r) == rc);
		FZ_CHECK(mimeo_pop3_reader_error(&r, NULL) == rc);
	} else {
		rc = mimeo_pop3_reader_finish(&r);
		FZ_CHECK(rc == MIMEO_EPROTO || rc == MIMEO_DONE);
	}
	FZ_CHECK(r.bytes == s.out.size);
	FZ_CHECK(r.status[MIMEO_POP3_STATUS_MAX] == '\0');
	if (mode & 8)
		FZ_CHECK(r.bytes <= 300);
	res->rc = rc;
	res->bytes = r.bytes;
	res->wire = r.wire_bytes;
	res->out = s.out;
	memcpy(res->status, r.status, sizeof(res->status));
	if (s.parser) {
		(void)mimeo_parser_finish(s.parser);
		mimeo_parser_free(s.parser);
	}
}

static void same(const result *a, const result *b)
{
	FZ_CHECK(a->rc == b->rc);
	FZ_CHECK(a->end == b->end);
	FZ_CHECK(strcmp(a->status, b->status) == 0);
	/* how much of an overlong line went out before MIMEO_ELIMIT depends on
	 * where the chunks ended; the caller discards a failed response */
	if (a->rc == MIMEO_ELIMIT)
		return;
	FZ_CHECK(a->bytes == b->bytes);
	FZ_CHECK(a->out.size == b->out.size);
	FZ_CHECK(a->out.size == 0 || memcmp(a->out.ptr, b->out.ptr, a->out.size) == 0);
	if (a->rc == MIMEO_DONE)
		FZ_CHECK(a->wire == b->wire && a->wire == a->end);
}

/* The message with its line ends made uniform: CRLF (bare CR dropped), or
 * LF only for an LF-only server; a final line end added. */
static void normalise(const uint8_t *in, size_t len, int lf_only, mimeo_buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r')
			continue;
		if (in[i] == '\n')
			FZ_CHECK(mimeo_buf_puts(out, lf_only ? "\n" : "\r\n") == MIMEO_OK);
		else
			FZ_CHECK(mimeo_buf_put(out, &in[i], 1) == MIMEO_OK);
	}
	if (out->size && out->ptr[out->size - 1] != '\n')
		FZ_CHECK(mimeo_buf_puts(out, lf_only ? "\n" : "\r\n") == MIMEO_OK);
}

static void constructive(uint8_t mode, uint8_t split, const uint8_t *in, size_t len)
{
	int lf_only = (mode & 64) != 0;
	const char *eol = lf_only ? "\n" : "\r\n";
	mimeo_buf msg = MIMEO_BUF_INIT, wire = MIMEO_BUF_INIT, want = MIMEO_BUF_INIT;
	size_t i, body_end;
	result res;
	fz_split sp;

	normalise(in, len, lf_only, &msg);
	if (!(mode & 1)) {
		FZ_CHECK(mimeo_buf_puts(&wire, "+OK 123 octets") == MIMEO_OK);
		FZ_CHECK(mimeo_buf_puts(&wire, eol) == MIMEO_OK);
	}
	for (i = 0; i < msg.size; i++) {
		/* RFC 1939 3: a line starting with "." gets one more */
		if (msg.ptr[i] == '.' && (i == 0 || msg.ptr[i - 1] == '\n'))
			FZ_CHECK(mimeo_buf_put(&wire, ".", 1) == MIMEO_OK);
		FZ_CHECK(mimeo_buf_put(&wire, &msg.ptr[i], 1) == MIMEO_OK);
	}
	FZ_CHECK(mimeo_buf_puts(&wire, ".") == MIMEO_OK);
	FZ_CHECK(mimeo_buf_puts(&wire, eol) == MIMEO_OK);
	body_end = wire.size;
	FZ_CHECK(mimeo_buf_puts(&wire, "+OK pipelined\r\n.\r\n") == MIMEO_OK);

	/* expected body: the message, CRLF as LF when asked */
	for (i = 0; i < msg.size; i++) {
		if ((mode & 2) && msg.ptr[i] == '\r' && i + 1 < msg.size && msg.ptr[i + 1] == '\n')
			continue;
		FZ_CHECK(mimeo_buf_put(&want, &msg.ptr[i], 1) == MIMEO_OK);
	}

	fz_split_init(&sp, split, wire.size);
	read_response(&res, mode & (1 | 2 | 16), (const uint8_t *)wire.ptr, wire.size, &sp);
	if (res.rc != MIMEO_DONE || res.end != body_end || res.out.size != want.size ||
	    (want.size && memcmp(res.out.ptr, want.ptr, want.size) != 0)) {
		fprintf(stderr, "pop3 constructive: rc %d end %llu (want %zu), body %zu bytes (want %zu)\n",
			res.rc, (unsigned long long)res.end, body_end, res.out.size, want.size);
		abort();
	}
	mimeo_buf_dispose(&res.out);
	mimeo_buf_dispose(&msg);
	mimeo_buf_dispose(&wire);
	mimeo_buf_dispose(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t mode = fz_byte(&in), split = fz_byte(&in);
	result a, b;
	fz_split sp;

	if (mode & 32) {
		constructive(mode, split, in.data, in.size);
		return 0;
	}
	read_response(&a, mode, in.data, in.size, NULL);
	fz_split_init(&sp, split, in.size);
	read_response(&b, mode, in.data, in.size, &sp);
	same(&a, &b);
	mimeo_buf_dispose(&a.out);
	mimeo_buf_dispose(&b.out);
	return 0;
}
