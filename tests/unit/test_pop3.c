/*
 * test_pop3.c - unit tests of the POP3 multi-line response reader (the RETR
 * adapter).  Every case is run unsplit, at every split point, at every pair
 * of split points and byte by byte: the output, status and position of the
 * end must not depend on how the input was chunked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3_testlib.h"
#include "testutil.h"

#include "mimeo-config.h"

#include <dirent.h>
#include <fcntl.h>
#include <mimeo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct sink {
	mimeo_buf out;
	int refuse_after; /* refuse the Nth call (1-based); 0 = never */
	int calls;
} sink;

static int sink_write(const void *data, size_t len, void *user)
{
	sink *s = user;

	ck_assert_uint_gt(len, 0);
	s->calls++;
	if (s->refuse_after && s->calls >= s->refuse_after)
		return -1;
	ck_assert_int_eq(mimeo_buf_put(&s->out, data, len), MIMEO_OK);
	return 0;
}

typedef struct result {
	int rc;          /* status after the last feed / finish */
	size_t end;      /* absolute offset where the response ended */
	mimeo_buf out;
	char status[MIMEO_POP3_STATUS_MAX + 1];
} result;

typedef struct reader_cfg {
	unsigned flags;
	size_t max_line;   /* 0 = keep the default */
	uint64_t max_bytes;
} reader_cfg;

/*
 * Feed `in` cut at the sorted offsets `cuts` (ncuts of them); stop at the
 * first status other than MIMEO_OK; call finish at the end of input.
 */
static void run_cuts(const char *in, size_t len, const reader_cfg *cfg,
		     const size_t *cuts, size_t ncuts, result *res)
{
	mimeo_pop3_reader r;
	sink s = { MIMEO_BUF_INIT, 0, 0 };
	size_t start = 0, i;
	int rc = MIMEO_OK;

	mimeo_pop3_reader_init(&r, cfg->flags, sink_write, &s);
	if (cfg->max_line)
		r.max_line = cfg->max_line;
	r.max_bytes = cfg->max_bytes;
	res->end = len;
	for (i = 0; i <= ncuts; i++) {
		size_t stop = i < ncuts ? cuts[i] : len, used = 12345;

		rc = mimeo_pop3_reader_feed(&r, in + start, stop - start, &used);
		ck_assert_uint_le(used, stop - start);
		if (rc != MIMEO_OK) {
			res->end = start + used;
			break;
		}
		ck_assert_uint_eq(used, stop - start);
		start = stop;
	}
	if (rc == MIMEO_OK)
		rc = mimeo_pop3_reader_finish(&r);
	else if (rc == MIMEO_DONE) {
		size_t used = 1;
		/* sticky: nothing more is consumed */
		ck_assert_int_eq(mimeo_pop3_reader_feed(&r, "x", 1, &used), MIMEO_DONE);
		ck_assert_uint_eq(used, 0);
		ck_assert_int_eq(mimeo_pop3_reader_finish(&r), MIMEO_DONE);
	}
	res->rc = rc;
	ck_assert_int_eq(mimeo_pop3_reader_error(&r, NULL), rc);
	res->out = s.out;
	memcpy(res->status, r.status, sizeof(res->status));
	if (rc == MIMEO_DONE)
		ck_assert_uint_eq(r.bytes, s.out.size);
}

static void result_dispose(result *res)
{
	mimeo_buf_dispose(&res->out);
}

static void check_same(const result *a, const result *b, size_t c1, size_t c2)
{
	ck_assert_msg(a->rc == b->rc, "rc %d vs %d at cuts %zu,%zu", a->rc, b->rc, c1, c2);
	/* After a limit or a refused write, how far the reader got depends on
	 * the chunking; otherwise nothing may. */
	if (a->rc == MIMEO_ELIMIT || a->rc == MIMEO_EUSER)
		return;
	ck_assert_msg(a->end == b->end, "end %zu vs %zu at cuts %zu,%zu", a->end, b->end, c1, c2);
	ck_assert_msg(a->out.size == b->out.size &&
		      (a->out.size == 0 || memcmp(a->out.ptr, b->out.ptr, a->out.size) == 0),
		      "output differs at cuts %zu,%zu", c1, c2);
	ck_assert_str_eq(a->status, b->status);
}

/* Run every chunking of `in` and check all agree with the unsplit run,
 * which is returned in *ref. */
static void run_all_splits(const char *in, size_t len, const reader_cfg *cfg, result *ref)
{
	size_t i, j, cuts[2];
	size_t *bytewise;
	result res;

	run_cuts(in, len, cfg, NULL, 0, ref);
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		run_cuts(in, len, cfg, cuts, 1, &res);
		check_same(ref, &res, i, i);
		result_dispose(&res);
		if (len > 56)
			continue;
		for (j = i; j <= len; j++) {
			cuts[1] = j;
			run_cuts(in, len, cfg, cuts, 2, &res);
			check_same(ref, &res, i, j);
			result_dispose(&res);
		}
	}
	bytewise = malloc((len + 1) * sizeof(*bytewise));
	ck_assert_ptr_nonnull(bytewise);
	for (i = 0; i < len; i++)
		bytewise[i] = i;
	run_cuts(in, len, cfg, bytewise, len, &res);
	check_same(ref, &res, 0, 0);
	result_dispose(&res);
	free(bytewise);
}

typedef struct vector {
	const char *name;
	const char *in;
	unsigned flags;
	size_t max_line;
	int rc;
	const char *out;   /* expected body (rc DONE), or NULL to skip */
	const char *rest;  /* what must follow the end */
	const char *status;
} vector;

static const vector vectors[] = {
	{ "simple", "+OK 5 octets\r\nabc\r\n.\r\n", 0, 0, MIMEO_DONE, "abc\r\n", "",
	  "+OK 5 octets" },
	{ "empty body", "+OK\r\n.\r\n", 0, 0, MIMEO_DONE, "", "", "+OK" },
	{ "empty line", "+OK\r\n\r\n.\r\n", 0, 0, MIMEO_DONE, "\r\n", "", "+OK" },
	{ "stuffed dot", "+OK\r\n..dot\r\n.\r\n", 0, 0, MIMEO_DONE, ".dot\r\n", "", "+OK" },
	{ "stuffed double", "+OK\r\n...\r\n..\r\n.\r\n", 0, 0, MIMEO_DONE, "..\r\n.\r\n", "",
	  "+OK" },
	{ "dot inside line", "+OK\r\na.b\r\n.\r\n", 0, 0, MIMEO_DONE, "a.b\r\n", "", "+OK" },
	{ "pipelined rest", "+OK\r\nx\r\n.\r\n+OK next\r\n", 0, 0, MIMEO_DONE, "x\r\n",
	  "+OK next\r\n", "+OK" },
	{ "pipelined two", "+OK\r\n.\r\n+OK\r\n.\r\n", 0, 0, MIMEO_DONE, "", "+OK\r\n.\r\n",
	  "+OK" },
	{ "LF only", "+OK\n.x\nline\n\n.\n-ERR", 0, 0, MIMEO_DONE, "x\nline\n\n", "-ERR", "+OK" },
	{ "mixed endings", "+OK\r\na\nb\r\n.\n", 0, 0, MIMEO_DONE, "a\nb\r\n", "", "+OK" },
	{ "dot CR not terminator", "+OK\r\n.\r.\r\n.\r\n", 0, 0, MIMEO_DONE, "\r.\r\n", "",
	  "+OK" },
	{ "dot space", "+OK\r\n. \r\n.\r\n", 0, 0, MIMEO_DONE, " \r\n", "", "+OK" },
	{ "bare CR", "+OK\r\na\rb\r\r\n.\r\n", 0, 0, MIMEO_DONE, "a\rb\r\r\n", "", "+OK" },
	{ "to LF", "+OK\r\na\r\nb\rc\r\n..\r\n\r\n.\r\nZ", MIMEO_POP3_TO_LF, 0, MIMEO_DONE,
	  "a\nb\rc\n.\n\n", "Z", "+OK" },
	{ "to LF dot CR", "+OK\r\n.\r\r\n.\r\n", MIMEO_POP3_TO_LF, 0, MIMEO_DONE, "\r\n", "",
	  "+OK" },
	{ "to LF CR CR", "+OK\r\n\r\r\r\n.\r\n", MIMEO_POP3_TO_LF, 0, MIMEO_DONE, "\r\r\n", "",
	  "+OK" },
	{ "lowercase ok", "+ok\r\nx\r\n.\r\n", 0, 0, MIMEO_DONE, "x\r\n", "", "+ok" },
	{ "no status", "..a\r\n.\r\n", MIMEO_POP3_NO_STATUS, 0, MIMEO_DONE, ".a\r\n", "", "" },
	{ "ERR", "-ERR no such message\r\n+OK\r\n", 0, 0, MIMEO_EPROTO, NULL, "+OK\r\n",
	  "-ERR no such message" },
	{ "ERR bare", "-ERR\n", 0, 0, MIMEO_EPROTO, NULL, "", "-ERR" },
	{ "ERR control chars", "-ERR \x1b[31mred\x07\r\n", 0, 0, MIMEO_EPROTO, NULL, "",
	  "-ERR ?[31mred?" },
	{ "bad greeting", "HELLO there\r\n", 0, 0, MIMEO_EPROTO, NULL, "", "HELLO there" },
	{ "OKAY is not OK", "+OKAY\r\n.\r\n", 0, 0, MIMEO_EPROTO, NULL, ".\r\n", "+OKAY" },
	{ "no terminator", "+OK\r\nline one\r\nline two\r\n", 0, 0, MIMEO_EPROTO, NULL, NULL,
	  "+OK" },
	{ "half terminator", "+OK\r\nx\r\n.\r", 0, 0, MIMEO_EPROTO, NULL, NULL, "+OK" },
	{ "no status end", "+OK", 0, 0, MIMEO_EPROTO, NULL, NULL, "+OK" },
	{ "empty input", "", 0, 0, MIMEO_EPROTO, NULL, NULL, "" },
	{ "overlong line", "+OK\r\n0123456789abcdef\r\n.\r\n", 0, 8, MIMEO_ELIMIT, NULL, NULL,
	  "+OK" },
	{ "line at limit", "+OK\r\n012345\r\n.\r\n", 0, 8, MIMEO_DONE, "012345\r\n", "", "+OK" },
	{ "stuffed line over limit", "+OK\r\n.0123456\r\n.\r\n", 0, 8, MIMEO_ELIMIT, NULL, NULL,
	  "+OK" },
	{ "inner line over limit", "+OK\r\nab\r\n0123456789abcdef\r\ncd\r\n.\r\n", 0, 8,
	  MIMEO_ELIMIT, NULL, NULL, "+OK" },
	{ "short lines, long region", "+OK\r\nab\r\ncdef\r\ngh\r\nij\r\nkl\r\n.\r\n", 0, 8,
	  MIMEO_DONE, "ab\r\ncdef\r\ngh\r\nij\r\nkl\r\n", "", "+OK" },
	{ "open line over limit", "+OK\r\nab\r\n0123456789", 0, 8, MIMEO_ELIMIT, NULL, NULL, "+OK" },
	{ "to LF inner over limit", "+OK\r\nab\r\n0123456789abcdef\r\n.\r\n", MIMEO_POP3_TO_LF, 8,
	  MIMEO_ELIMIT, NULL, NULL, "+OK" },
};

START_TEST(test_vectors)
{
	const vector *v = &vectors[_i];
	reader_cfg cfg = { v->flags, v->max_line, 0 };
	size_t len = strlen(v->in);
	result ref;

	run_all_splits(v->in, len, &cfg, &ref);
	ck_assert_msg(ref.rc == v->rc, "%s: rc %d (%s), want %d", v->name, ref.rc,
		      mimeo_status_name(ref.rc), v->rc);
	ck_assert_str_eq(ref.status, v->status);
	if (v->out) {
		ck_assert_uint_eq(ref.out.size, strlen(v->out));
		ck_assert(ref.out.size == 0 || memcmp(ref.out.ptr, v->out, ref.out.size) == 0);
	}
	if (v->rest)
		ck_assert_str_eq(v->in + ref.end, v->rest);
	result_dispose(&ref);
}
END_TEST

/* Every split point of "\r\n.\r\n" and of "\r\n.." inside a longer body,
 * with two chunk boundaries anywhere (run_all_splits), in both modes. */
START_TEST(test_terminator_splits)
{
	static const char in[] = "+OK\r\nhead\r\n..stuffed\r\n.\r\n+OK";
	static const char want_crlf[] = "head\r\n.stuffed\r\n";
	static const char want_lf[] = "head\n.stuffed\n";
	reader_cfg cfg = { 0, 0, 0 };
	result ref;

	run_all_splits(in, sizeof(in) - 1, &cfg, &ref);
	ck_assert_int_eq(ref.rc, MIMEO_DONE);
	ck_assert_uint_eq(ref.out.size, sizeof(want_crlf) - 1);
	ck_assert(memcmp(ref.out.ptr, want_crlf, ref.out.size) == 0);
	ck_assert_str_eq(in + ref.end, "+OK");
	result_dispose(&ref);

	cfg.flags = MIMEO_POP3_TO_LF;
	run_all_splits(in, sizeof(in) - 1, &cfg, &ref);
	ck_assert_int_eq(ref.rc, MIMEO_DONE);
	ck_assert_uint_eq(ref.out.size, sizeof(want_lf) - 1);
	ck_assert(memcmp(ref.out.ptr, want_lf, ref.out.size) == 0);
	result_dispose(&ref);
}
END_TEST

/* An independent, whole-buffer model of RFC 1939 un-stuffing, line by
 * line; the streaming reader must agree with it on any input. */
static int model(const unsigned char *in, size_t len, unsigned flags, size_t max_line,
		 mimeo_buf *out, size_t *end)
{
	size_t pos = 0;

	if (!(flags & MIMEO_POP3_NO_STATUS)) {
		const unsigned char *nl = memchr(in, '\n', len);
		if (!nl)
			return MIMEO_EPROTO;
		if (!(nl - in >= 3 && memcmp(in, "+OK", 3) == 0 && (nl - in == 3 || in[3] == ' ' ||
								     (in[3] == '\r' && nl - in == 4))))
			return MIMEO_EPROTO;
		pos = (size_t)(nl - in) + 1;
	}
	while (pos < len) {
		const unsigned char *nl = memchr(in + pos, '\n', len - pos);
		size_t llen, start = pos;

		if (!nl)
			return max_line && len - pos > max_line ? MIMEO_ELIMIT : MIMEO_EPROTO;
		llen = (size_t)(nl - (in + pos)) + 1;
		pos += llen;
		/* the line as sent: stuffing dot and line break included */
		if (max_line && llen > max_line &&
		    !(in[start] == '.' && (llen == 2 || (llen == 3 && in[start + 1] == '\r'))))
			return MIMEO_ELIMIT;
		if (in[start] == '.') {
			if (llen == 2 || (llen == 3 && in[start + 1] == '\r')) {
				*end = pos;
				return MIMEO_DONE;
			}
			start++;
			llen--;
		}
		if ((flags & MIMEO_POP3_TO_LF) && llen >= 2 && in[start + llen - 2] == '\r') {
			ck_assert_int_eq(mimeo_buf_put(out, in + start, llen - 2), 0);
			ck_assert_int_eq(mimeo_buf_put(out, "\n", 1), 0);
		} else {
			ck_assert_int_eq(mimeo_buf_put(out, in + start, llen), 0);
		}
	}
	return MIMEO_EPROTO;
}

/* Binary garbage rich in '.', CR and LF: random chunkings agree with each
 * other and with the model. */
START_TEST(test_random_garbage)
{
	static const unsigned char alphabet[] = { '.', '.', '\r', '\n', '\n', 'a', 0, 0xff };
	uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	unsigned char buf[600];
	int round;

	for (round = 0; round < 200; round++) {
		size_t len = 5 + test_rand(&seed) % (sizeof(buf) - 5), i, ncuts, cuts[40];
		unsigned flags = (round & 1) ? MIMEO_POP3_TO_LF : 0;
		/* every other pair of rounds with a small line limit */
		size_t max_line = (round & 2) ? 4 + test_rand(&seed) % 40 : 0;
		reader_cfg cfg = { flags, max_line, 0 };
		mimeo_buf want = MIMEO_BUF_INIT;
		size_t want_end = 0;
		int want_rc;
		result ref, res;

		memcpy(buf, "+OK\r\n", 5);
		for (i = 5; i < len; i++) {
			uint64_t x = test_rand(&seed);
			buf[i] = (x & 0x100) ? alphabet[x % sizeof(alphabet)] : (unsigned char)x;
		}
		want_rc = model(buf, len, flags, max_line, &want, &want_end);
		run_cuts((const char *)buf, len, &cfg, NULL, 0, &ref);
		ck_assert_int_eq(ref.rc, want_rc);
		if (want_rc == MIMEO_DONE) {
			ck_assert_uint_eq(ref.end, want_end);
			ck_assert_uint_eq(ref.out.size, want.size);
			ck_assert(want.size == 0 || memcmp(ref.out.ptr, want.ptr, want.size) == 0);
		}
		for (i = 0; i < 12; i++) {
			size_t k;
			ncuts = test_rand(&seed) % 40;
			for (k = 0; k < ncuts; k++)
				cuts[k] = test_rand(&seed) % (len + 1);
			/* sort the cut points */
			for (k = 1; k < ncuts; k++) {
				size_t v = cuts[k], m = k;
				while (m > 0 && cuts[m - 1] > v) {
					cuts[m] = cuts[m - 1];
					m--;
				}
				cuts[m] = v;
			}
			run_cuts((const char *)buf, len, &cfg, cuts, ncuts, &res);
			check_same(&ref, &res, ncuts, round);
			result_dispose(&res);
		}
		result_dispose(&ref);
		mimeo_buf_dispose(&want);
	}
}
END_TEST

/* A 5 MB message with many stuffed lines, fed in random chunk sizes. */
START_TEST(test_large_message)
{
	uint64_t seed = 42;
	mimeo_buf wire = MIMEO_BUF_INIT, want = MIMEO_BUF_INIT;
	sink s = { MIMEO_BUF_INIT, 0, 0 };
	mimeo_pop3_reader r;
	size_t pos = 0, used;
	int rc = MIMEO_OK;

	ck_assert_int_eq(mimeo_buf_puts(&wire, "+OK message follows\r\n"), 0);
	while (want.size < 5u * 1024 * 1024) {
		char line[100];
		size_t n = test_rand(&seed) % 90, i;
		for (i = 0; i < n; i++)
			line[i] = "ab.\tZ"[test_rand(&seed) % 5];
		if (n && line[0] == '.')
			ck_assert_int_eq(mimeo_buf_put(&wire, ".", 1), 0);
		ck_assert_int_eq(mimeo_buf_put(&wire, line, n), 0);
		ck_assert_int_eq(mimeo_buf_put(&wire, "\r\n", 2), 0);
		ck_assert_int_eq(mimeo_buf_put(&want, line, n), 0);
		ck_assert_int_eq(mimeo_buf_put(&want, "\r\n", 2), 0);
	}
	ck_assert_int_eq(mimeo_buf_puts(&wire, ".\r\n+OK"), 0);

	mimeo_pop3_reader_init(&r, 0, sink_write, &s);
	while (pos < wire.size && rc == MIMEO_OK) {
		size_t n = 1 + test_rand(&seed) % 70000;
		if (n > wire.size - pos)
			n = wire.size - pos;
		rc = mimeo_pop3_reader_feed(&r, wire.ptr + pos, n, &used);
		pos += used;
	}
	ck_assert_int_eq(rc, MIMEO_DONE);
	ck_assert_str_eq(wire.ptr + pos, "+OK");
	ck_assert_uint_eq(s.out.size, want.size);
	ck_assert(memcmp(s.out.ptr, want.ptr, want.size) == 0);
	ck_assert_uint_eq(r.bytes, want.size);
	ck_assert_uint_eq(r.wire_bytes, pos);
	mimeo_buf_dispose(&wire);
	mimeo_buf_dispose(&want);
	mimeo_buf_dispose(&s.out);
}
END_TEST

/* Memory stays bounded on an endless line or response: the reader
 * itself keeps nothing, and the limits stop it. */
START_TEST(test_limits)
{
	mimeo_pop3_reader r;
	char chunk[4096];
	size_t used, i;
	int rc = MIMEO_OK;
	const char *reason;

	/* endless line, default limit 1 MiB */
	memset(chunk, 'x', sizeof(chunk));
	mimeo_pop3_reader_init(&r, 0, NULL, NULL);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, "+OK\r\n", 5, &used), MIMEO_OK);
	for (i = 0; i < 1000 && rc == MIMEO_OK; i++)
		rc = mimeo_pop3_reader_feed(&r, chunk, sizeof(chunk), &used);
	ck_assert_int_eq(rc, MIMEO_ELIMIT);
	ck_assert_uint_le(r.bytes, MIMEO_POP3_DEFAULT_MAX_LINE);
	ck_assert_int_eq(mimeo_pop3_reader_error(&r, &reason), MIMEO_ELIMIT);
	ck_assert_ptr_nonnull(strstr(reason, "line"));
	/* sticky */
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, "\r\n.\r\n", 5, &used), MIMEO_ELIMIT);
	ck_assert_int_eq(mimeo_pop3_reader_finish(&r), MIMEO_ELIMIT);

	/* endless response of short lines: max_bytes */
	memset(chunk, 'y', sizeof(chunk));
	for (i = 63; i < sizeof(chunk); i += 64)
		chunk[i] = '\n';
	mimeo_pop3_reader_init(&r, 0, NULL, NULL);
	r.max_bytes = 100000;
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, "+OK\r\n", 5, &used), MIMEO_OK);
	rc = MIMEO_OK;
	for (i = 0; i < 1000 && rc == MIMEO_OK; i++)
		rc = mimeo_pop3_reader_feed(&r, chunk, sizeof(chunk), &used);
	ck_assert_int_eq(rc, MIMEO_ELIMIT);
	ck_assert_uint_le(r.bytes, 100000);

	/* endless status line */
	memset(chunk, 'z', sizeof(chunk));
	mimeo_pop3_reader_init(&r, 0, NULL, NULL);
	rc = MIMEO_OK;
	for (i = 0; i < 10 && rc == MIMEO_OK; i++)
		rc = mimeo_pop3_reader_feed(&r, chunk, 200, &used);
	ck_assert_int_eq(rc, MIMEO_ELIMIT);
}
END_TEST

START_TEST(test_callback_abort)
{
	mimeo_pop3_reader r;
	sink s = { MIMEO_BUF_INIT, 1, 0 };
	static const char in[] = "+OK\r\n..a\r\nb\r\n.\r\n";
	size_t used;

	mimeo_pop3_reader_init(&r, 0, sink_write, &s);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, in, sizeof(in) - 1, &used), MIMEO_EUSER);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, in, 1, &used), MIMEO_EUSER);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(mimeo_pop3_reader_finish(&r), MIMEO_EUSER);
	mimeo_buf_dispose(&s.out);

	/* misuse */
	mimeo_pop3_reader_init(&r, 0, NULL, NULL);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, NULL, 3, &used), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, NULL, 0, &used), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, "+OK\r\n.\r\n", 8, NULL), MIMEO_DONE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The reader feeding a parser (mimeo_pop3_parser_sink)                */
/* ------------------------------------------------------------------ */

static int ev_header(const mimeo_part_info *part, const char *name, size_t name_len,
		     const char *value, size_t value_len, void *user)
{
	mimeo_buf *log = user;
	mimeo_buf_puts(log, "H[");
	mimeo_buf_puts(log, part->section);
	mimeo_buf_puts(log, "]");
	mimeo_buf_put(log, name, name_len);
	mimeo_buf_puts(log, "=");
	mimeo_buf_put(log, value, value_len);
	mimeo_buf_puts(log, "\n");
	return 0;
}

static int ev_body(const mimeo_part_info *part, const char *data, size_t len, void *user)
{
	mimeo_buf *log = user;
	(void)part;
	mimeo_buf_put(log, data, len);
	return 0;
}

static int ev_part_end(const mimeo_part_info *part, void *user)
{
	mimeo_buf *log = user;
	mimeo_buf_puts(log, "\nE[");
	mimeo_buf_puts(log, part->section);
	mimeo_buf_puts(log, "]");
	mimeo_buf_puts(log, part->type ? part->type : "?");
	mimeo_buf_puts(log, "\n");
	return 0;
}

static const char parse_msg[] =
	"From: a@example.com\r\nSubject: attached\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
	"--XX\r\nContent-Type: text/plain\r\n\r\n.a dot line\r\n.\r\n..\r\n"
	"--XX\r\nContent-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"SGVsbG8sIFBPUDMgd29ybGQhIGF0dGFjaG1lbnQgZGVjb2RlZCB3aGlsZSBkb3dubG9hZGluZy4=\r\n"
	"--XX--\r\n";

/* Parse the message directly, or through the POP3 reader cut at `cut1`
 * and `cut2` (or byte by byte when bytewise). */
static void parse_via(const char *wire, size_t wlen, int direct, size_t cut1, size_t cut2,
		      int bytewise, mimeo_buf *log)
{
	mimeo_parser_callbacks cb;
	mimeo_parser *p;

	memset(&cb, 0, sizeof(cb));
	cb.version = MIMEO_PARSER_CALLBACKS_VERSION;
	cb.header = ev_header;
	cb.body = ev_body;
	cb.part_end = ev_part_end;
	ck_assert_int_eq(mimeo_parser_new(&p, NULL, &cb, log), MIMEO_OK);
	if (direct) {
		ck_assert_int_eq(mimeo_parser_feed(p, parse_msg, sizeof(parse_msg) - 1), MIMEO_OK);
	} else {
		mimeo_pop3_reader r;
		size_t pos = 0, used;
		int rc = MIMEO_OK;

		mimeo_pop3_reader_init(&r, 0, mimeo_pop3_parser_sink, p);
		while (rc == MIMEO_OK && pos < wlen) {
			size_t n = bytewise ? 1 : (pos < cut1 ? cut1 : pos < cut2 ? cut2 : wlen) - pos;
			rc = mimeo_pop3_reader_feed(&r, wire + pos, n, &used);
			pos += used;
		}
		ck_assert_int_eq(rc, MIMEO_DONE);
		ck_assert_uint_eq(pos, wlen);
	}
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	mimeo_parser_free(p);
}

START_TEST(test_parser_sink)
{
	mimeo_buf wire = MIMEO_BUF_INIT, want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
	const char *s = parse_msg;
	size_t i, j;

	/* byte-stuff it as a server would */
	mimeo_buf_puts(&wire, "+OK 400 octets\r\n");
	while (*s) {
		const char *nl = strchr(s, '\n');
		if (*s == '.')
			mimeo_buf_put(&wire, ".", 1);
		mimeo_buf_put(&wire, s, (size_t)(nl - s) + 1);
		s = nl + 1;
	}
	mimeo_buf_puts(&wire, ".\r\n");

	parse_via(NULL, 0, 1, 0, 0, 0, &want);
	ck_assert_ptr_nonnull(strstr(want.ptr, "Hello, POP3 world! attachment decoded"));
	ck_assert_ptr_nonnull(strstr(want.ptr, ".a dot line\r\n.\r\n.."));
	for (i = 0; i <= wire.size; i += 1) {
		for (j = i; j <= wire.size; j += (wire.size / 16) + 1) {
			mimeo_buf_clear(&got);
			parse_via(wire.ptr, wire.size, 0, i, j, 0, &got);
			ck_assert_msg(got.size == want.size && memcmp(got.ptr, want.ptr, want.size) == 0,
				      "events differ at cuts %zu,%zu", i, j);
		}
	}
	mimeo_buf_clear(&got);
	parse_via(wire.ptr, wire.size, 0, 0, 0, 1, &got);
	ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, want.size) == 0);
	mimeo_buf_dispose(&wire);
	mimeo_buf_dispose(&want);
	mimeo_buf_dispose(&got);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The client against a scripted fake server on 127.0.0.1              */
/* ------------------------------------------------------------------ */

static const char *const fake_messages[] = {
	"Subject: one\r\n\r\n.leading dot\r\n.\r\n..two dots\r\nlast\r\n",
	"Subject: two\r\nX: y\r\n\r\nbody line 1\r\nbody line 2\r\n",
	NULL,
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* After QUIT: the session is closed; free it, the sink and the server. */
static void end_session(mimeo_pop3 *c, sink *s, fake_server *fs)
{
	ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	mimeo_pop3_free(c);
	mimeo_buf_dispose(&s->out);
	fake_stop(fs);
}

START_TEST(test_client_fake_server)
{
	fake_server fs;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;
	mimeo_pop3_entry *e;
	sink s = { MIMEO_BUF_INIT, 0, 0 };
	size_t n;
	unsigned long count, bad = 9, nums[2] = { 1, 2 };
	uint64_t octets;

	memset(&fs, 0, sizeof(fs));
	fs.mode = FAKE_NORMAL;
	fs.pipelining = 1;
	fs.messages = fake_messages;
	fake_start(&fs);
	opts.read_timeout_ms = 5000;
	ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	ck_assert_int_eq(mimeo_pop3_connect(c, "127.0.0.1", fs.port_str), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_usable(c), 1);
	ck_assert(mimeo_pop3_has_capa(c, "pipelining"));
	ck_assert(mimeo_pop3_has_capa(c, "SASL"));
	ck_assert(!mimeo_pop3_has_capa(c, "STLS"));
	ck_assert(!mimeo_pop3_has_capa(c, "PIPE"));
	ck_assert_str_eq(mimeo_pop3_apop_timestamp(c), "<1896.697170952@dbc.mtview.ca.us>");
	/* arguments that would inject a second command are refused */
	ck_assert_int_eq(mimeo_pop3_login(c, "a\r\nDELE 1", "x"), MIMEO_EINVAL);
#if MIMEO_HAVE_OPENSSL
	/* RFC 1939 section 7's own example */
	ck_assert_int_eq(mimeo_pop3_apop(c, "mrose", "tanstaaf"), MIMEO_OK);
	ck_assert(fake_saw(&fs, "APOP mrose c4c9334bac560ecc979e58001b3e22fb"));
#else
	ck_assert_int_eq(mimeo_pop3_apop(c, "mrose", "tanstaaf"), MIMEO_ENOTSUP);
#endif
	ck_assert_int_eq(mimeo_pop3_login(c, "alice", "secret"), MIMEO_OK);
	ck_assert(fake_saw(&fs, "USER alice") && fake_saw(&fs, "PASS secret"));
	ck_assert_int_eq(mimeo_pop3_auth_plain(c, NULL, "alice", "secret"), MIMEO_OK);
	ck_assert(fake_saw(&fs, "AUTH PLAIN AGFsaWNlAHNlY3JldA=="));
	{
		/* RFC 5034 section 4: an initial response that would make
		 * the command longer than 255 octets waits for "+ " */
		char longpw[201];
		memset(longpw, 'p', 200);
		longpw[200] = '\0';
		ck_assert_int_eq(mimeo_pop3_auth_plain(c, NULL, "alice", longpw), MIMEO_OK);
		ck_assert(fake_saw(&fs, "AUTH PLAIN"));
		ck_assert(fake_saw(&fs, "AGFsaWNlAHBwc"));
		ck_assert_int_eq(mimeo_pop3_usable(c), 1);
	}
	ck_assert_int_eq(mimeo_pop3_stat(c, &count, &octets), MIMEO_OK);
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(octets, strlen(fake_messages[0]) + strlen(fake_messages[1]));

	ck_assert_int_eq(mimeo_pop3_list(&e, &n, c, MIMEO_POP3_LIST_SIZES | MIMEO_POP3_LIST_UIDS),
			 MIMEO_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(e[0].num, 1);
	ck_assert_uint_eq(e[0].size, strlen(fake_messages[0]));
	ck_assert_str_eq(e[0].uid, "uid-1");
	ck_assert_str_eq(e[1].uid, "uid-2");
	mimeo_pop3_entries_free(c, e);
	/* LIST and UIDL went out together */
	ck_assert_int_ge(fs.max_batch, 2);

	ck_assert_int_eq(mimeo_pop3_retr(c, 1, 0, 0, sink_write, &s), MIMEO_OK);
	ck_assert_str_eq(s.out.ptr, fake_messages[0]);
	mimeo_buf_clear(&s.out);
	ck_assert_int_eq(mimeo_pop3_retr(c, 1, MIMEO_POP3_TO_LF, 0, sink_write, &s), MIMEO_OK);
	ck_assert_str_eq(s.out.ptr, "Subject: one\n\n.leading dot\n.\n..two dots\nlast\n");
	mimeo_buf_clear(&s.out);
	ck_assert_int_eq(mimeo_pop3_top(c, 2, 1, 0, 0, sink_write, &s), MIMEO_OK);
	ck_assert_str_eq(s.out.ptr, "Subject: two\r\nX: y\r\n\r\nbody line 1\r\n");
	mimeo_buf_clear(&s.out);
	/* -ERR keeps the session usable and its text is reported */
	ck_assert_int_eq(mimeo_pop3_retr(c, 7, 0, 0, sink_write, &s), MIMEO_EPROTO);
	ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "no such message"));
	ck_assert_int_eq(mimeo_pop3_usable(c), 1);
	ck_assert_int_eq(mimeo_pop3_rset(c), MIMEO_OK);
	/* a call that succeeds clears the previous call's error (it used to
	 * keep "no such message": found writing fuzz_pop3_client's checks) */
	ck_assert_str_eq(mimeo_pop3_error(c), "");
	ck_assert_int_eq(mimeo_pop3_dele_many(c, nums, 2, &bad), MIMEO_OK);
	ck_assert_uint_eq(bad, 0);
	ck_assert(fake_saw(&fs, "DELE 1") && fake_saw(&fs, "DELE 2"));
	ck_assert_int_eq(mimeo_pop3_quit(c), MIMEO_OK);
	end_session(c, &s, &fs);
}
END_TEST

/* Every allocation of a session fails in turn: each call returns OK or
 * MIMEO_ENOMEM (or reports the session unusable after one), nothing leaks. */
START_TEST(test_client_failing_alloc)
{
	unsigned long fail_at;
	int completed = 0;

	for (fail_at = 1; fail_at < 400 && !completed; fail_at++) {
		test_failing_alloc fa;
		fake_server fs;
		mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
		mimeo_pop3 *c = NULL;
		mimeo_pop3_entry *e = NULL;
		size_t n = 0;
		sink s = { MIMEO_BUF_INIT, 0, 0 };
		int rc;

		test_failing_alloc_init(&fa, fail_at);
		opts.alloc = &fa.alloc;
		opts.cafile = "/nonexistent/ca.pem";
		opts.read_timeout_ms = 5000;
		memset(&fs, 0, sizeof(fs));
		fs.mode = FAKE_NORMAL;
		fs.pipelining = 1;
		fs.messages = fake_messages;
		fake_start(&fs);
		rc = mimeo_pop3_new(&c, &opts);
		if (rc == MIMEO_OK)
			rc = mimeo_pop3_connect(c, "127.0.0.1", fs.port_str);
		if (rc == MIMEO_OK)
			rc = mimeo_pop3_login(c, "alice", "secret");
		if (rc == MIMEO_OK)
			rc = mimeo_pop3_auth_plain(c, "admin", "alice", "secret");
		if (rc == MIMEO_OK)
			rc = mimeo_pop3_list(&e, &n, c, MIMEO_POP3_LIST_SIZES | MIMEO_POP3_LIST_UIDS);
		if (rc == MIMEO_OK) {
			ck_assert_uint_eq(n, 2);
			mimeo_pop3_entries_free(c, e);
			rc = mimeo_pop3_retr(c, 2, 0, 0, sink_write, &s);
		}
		if (rc == MIMEO_OK)
			rc = mimeo_pop3_quit(c);
		ck_assert_msg(rc == MIMEO_OK || rc == MIMEO_ENOMEM, "fail_at %lu: %s (%s)", fail_at,
			      mimeo_status_name(rc), c ? mimeo_pop3_error(c) : "");
		if (rc == MIMEO_OK)
			ck_assert_str_eq(s.out.ptr, fake_messages[1]);
		completed = rc == MIMEO_OK && !fa.failed;
		mimeo_pop3_free(c);
		mimeo_buf_dispose(&s.out);
		fake_stop(&fs);
		ck_assert_msg(fa.live == 0, "fail_at %lu: %ld blocks leaked", fail_at, fa.live);
	}
	ck_assert(completed);
}
END_TEST

typedef struct many_log {
	mimeo_buf out[4];
	int status[4];
	int begun, ended;
	int stop_at; /* end() of this index returns non-zero; -1 = never */
} many_log;

static int many_begin(unsigned long num, size_t index, void *user)
{
	many_log *l = user;

	(void)num;
	ck_assert_int_eq((int)index, l->begun);
	l->begun++;
	return 0;
}

static int many_write(const void *data, size_t len, void *user)
{
	many_log *l = user;

	return mimeo_buf_put(&l->out[l->begun - 1], data, len) == MIMEO_OK ? 0 : -1;
}

static int many_end(unsigned long num, size_t index, int status, void *user)
{
	many_log *l = user;

	(void)num;
	l->status[index] = status;
	l->ended++;
	return (int)index == l->stop_at;
}

/* RETR of several messages, pipelined when offered: in order, a -ERR for
 * one does not stop the others, a broken transfer stops everything. */
START_TEST(test_client_retr_many)
{
	static const mimeo_pop3_retr_callbacks cb = { many_begin, many_write, many_end };
	const unsigned long nums[] = { 1, 3, 2, 1 };
	fake_server fs;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;
	many_log l;
	int i, rc;

	memset(&fs, 0, sizeof(fs));
	memset(&l, 0, sizeof(l));
	l.stop_at = -1;
	fs.mode = _i == 2 ? FAKE_RETR_EOF : FAKE_NORMAL;
	fs.pipelining = _i != 1;
	fs.messages = fake_messages;
	fake_start(&fs);
	opts.read_timeout_ms = 5000;
	ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_connect(c, "127.0.0.1", fs.port_str), MIMEO_OK);
	rc = mimeo_pop3_retr_many(c, nums, 4, 0, NULL, &cb, &l);
	if (_i == 2) {
		ck_assert_int_eq(rc, MIMEO_EPROTO);
		ck_assert_int_eq(l.ended, 1);
		ck_assert_int_eq(l.status[0], MIMEO_EPROTO);
		ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	} else {
		ck_assert_int_eq(rc, MIMEO_OK);
		ck_assert_int_eq(l.begun, 4);
		ck_assert_int_eq(l.ended, 4);
		ck_assert_int_eq(l.status[0], MIMEO_OK);
		ck_assert_int_eq(l.status[1], MIMEO_EPROTO); /* no message 3 */
		ck_assert_int_eq(l.status[2], MIMEO_OK);
		ck_assert_int_eq(l.status[3], MIMEO_OK);
		ck_assert_str_eq(l.out[0].ptr, fake_messages[0]);
		ck_assert_str_eq(l.out[2].ptr, fake_messages[1]);
		ck_assert_str_eq(l.out[3].ptr, fake_messages[0]);
		ck_assert_int_eq(fs.max_batch >= 4, _i == 0); /* pipelined or not */
		/* a callback that stops: the session cannot go on */
		memset(l.status, 0, sizeof(l.status));
		l.begun = l.ended = 0;
		for (i = 0; i < 4; i++)
			mimeo_buf_clear(&l.out[i]);
		l.stop_at = 0;
		ck_assert_int_eq(mimeo_pop3_retr_many(c, nums, 4, 0, NULL, &cb, &l), MIMEO_EUSER);
		ck_assert_int_eq(l.ended, 1);
		ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	}
	mimeo_pop3_free(c);
	for (i = 0; i < 4; i++)
		mimeo_buf_dispose(&l.out[i]);
	fake_stop(&fs);
}
END_TEST

/* A hostile or broken server: a clear error, in bounded time, and the
 * session is marked unusable when the stream position is lost. */
static const struct hostile {
	fake_mode mode;
	int at_connect; /* fails at connect, else at RETR */
	int rc;
	const char *text;
} hostile[] = {
	{ FAKE_WRONG_GREETING, 1, MIMEO_EPROTO, "HELLO" },
	{ FAKE_GARBAGE, 1, MIMEO_EPROTO, "" },
	{ FAKE_STALL_GREETING, 1, MIMEO_ETIMEOUT, "timed out" },
	{ FAKE_LONG_GREETING, 1, MIMEO_EPROTO, "too long" },
	{ FAKE_RETR_ENDLESS, 0, MIMEO_ELIMIT, "limit" },
	{ FAKE_RETR_LONG_LINE, 0, MIMEO_ELIMIT, "line" },
	{ FAKE_RETR_STALL, 0, MIMEO_ETIMEOUT, "timed out" },
	{ FAKE_RETR_EOF, 0, MIMEO_EPROTO, "closed" },
};

/* Open a session to a fake server in `fs`'s mode, over TCP or (via_fd)
 * over a socketpair adopted with mimeo_pop3_connect_fd(). */
static int connect_fake(mimeo_pop3 *c, fake_server *fs, int via_fd)
{
	int sv[2];

	if (!via_fd) {
		fake_start(fs);
		return mimeo_pop3_connect(c, "127.0.0.1", fs->port_str);
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fake_start_fd(fs, sv[1]);
	return mimeo_pop3_connect_fd(c, sv[0]);
}

/* A hostile server, reached over TCP (_i even) or a socketpair (odd). */
START_TEST(test_client_hostile)
{
	const struct hostile *h = &hostile[_i / 2];
	fake_server fs;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;
	sink s = { MIMEO_BUF_INIT, 0, 0 };
	double t0 = mono();
	int rc;

	memset(&fs, 0, sizeof(fs));
	fs.mode = h->mode;
	fs.messages = fake_messages;
	opts.connect_timeout_ms = 2000;
	opts.read_timeout_ms = 300;
	ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
	rc = connect_fake(c, &fs, _i % 2);
	if (!h->at_connect) {
		ck_assert_int_eq(rc, MIMEO_OK);
		ck_assert_int_eq(mimeo_pop3_login(c, "u", "p"), MIMEO_OK);
		rc = mimeo_pop3_retr(c, 1, 0, 1u << 22, sink_write, &s);
		/* nothing more than the limit was delivered */
		ck_assert_uint_le(s.out.size, 1u << 22);
	}
	ck_assert_msg(rc == h->rc, "mode %d: %s (%s)", (int)h->mode, mimeo_status_name(rc),
		      mimeo_pop3_error(c));
	ck_assert_msg(strstr(mimeo_pop3_error(c), h->text), "error '%s' lacks '%s'",
		      mimeo_pop3_error(c), h->text);
	ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	/* no control characters from the server reach the message */
	{
		const char *m = mimeo_pop3_error(c);
		for (; *m; m++)
			ck_assert_int_ge((unsigned char)*m, 0x20);
	}
	mimeo_pop3_free(c);
	ck_assert_msg(mono() - t0 < 5.0, "took %.1f s", mono() - t0);
	mimeo_buf_dispose(&s.out);
	fake_stop(&fs);
}
END_TEST

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* mimeo_pop3_connect_fd on a socketpair: the whole session works as over
 * TCP, the descriptor is made non-blocking and is closed by QUIT. */
START_TEST(test_client_connect_fd)
{
	fake_server fs;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;
	sink s = { MIMEO_BUF_INIT, 0, 0 };
	unsigned long count;
	uint64_t octets;
	int sv[2];

	memset(&fs, 0, sizeof(fs));
	fs.mode = FAKE_NORMAL;
	fs.pipelining = 1;
	fs.messages = fake_messages;
	/* a blocking socket: the client must not block on it */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fake_start_fd(&fs, sv[1]);
	opts.read_timeout_ms = 5000;
	ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_connect_fd(c, sv[0]), MIMEO_OK);
	ck_assert_str_eq(mimeo_pop3_error(c), "");
	ck_assert_int_eq(mimeo_pop3_usable(c), 1);
	ck_assert(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	/* the greeting and CAPA were read as by mimeo_pop3_connect */
	ck_assert_str_eq(mimeo_pop3_apop_timestamp(c), "<1896.697170952@dbc.mtview.ca.us>");
	ck_assert(mimeo_pop3_has_capa(c, "PIPELINING"));
	ck_assert(fake_saw(&fs, "CAPA"));
	/* a second connect on a live session is refused; the descriptor
	 * passed is closed all the same, the session goes on */
	{
		int sv2[2];
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
		ck_assert_int_eq(mimeo_pop3_connect_fd(c, sv2[0]), MIMEO_EINVAL);
		ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "already connected"));
		ck_assert(!fd_is_open(sv2[0]));
		close(sv2[1]);
		ck_assert_int_eq(mimeo_pop3_usable(c), 1);
	}
	ck_assert_int_eq(mimeo_pop3_login(c, "alice", "secret"), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_stat(c, &count, &octets), MIMEO_OK);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(mimeo_pop3_retr(c, 1, 0, 0, sink_write, &s), MIMEO_OK);
	ck_assert_str_eq(s.out.ptr, fake_messages[0]);
	ck_assert_int_eq(mimeo_pop3_quit(c), MIMEO_OK);
	ck_assert(!fd_is_open(sv[0]));
	end_session(c, &s, &fs);
}
END_TEST

/* What mimeo_pop3_connect_fd refuses; the descriptor is closed every time. */
START_TEST(test_client_connect_fd_errors)
{
	mimeo_pop3 *c;
	int sv[2], fd;

	ck_assert_int_eq(mimeo_pop3_new(&c, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_pop3_connect_fd(c, -1), MIMEO_EINVAL);
	/* not a socket */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mimeo_pop3_connect_fd(c, fd), MIMEO_EINVAL);
	ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "not a socket"));
	ck_assert(!fd_is_open(fd));
	/* a datagram socket */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(mimeo_pop3_connect_fd(c, sv[0]), MIMEO_EINVAL);
	ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "stream"));
	ck_assert(!fd_is_open(sv[0]));
	close(sv[1]);
	/* no session */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(mimeo_pop3_connect_fd(NULL, sv[0]), MIMEO_EINVAL);
	ck_assert(!fd_is_open(sv[0]));
	/* the peer hung up before the greeting */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(mimeo_pop3_connect_fd(c, sv[0]), MIMEO_EPROTO);
	ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "closed"));
	ck_assert(!fd_is_open(sv[0]));
	ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	mimeo_pop3_free(c);
#if MIMEO_HAVE_OPENSSL
	{
		/* TLS: no host name to check the certificate against */
		mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
		opts.tls = MIMEO_POP3_TLS_STARTTLS;
		ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		ck_assert_int_eq(mimeo_pop3_connect_fd(c, sv[0]), MIMEO_EINVAL);
		ck_assert_ptr_nonnull(strstr(mimeo_pop3_error(c), "TLS"));
		ck_assert(!fd_is_open(sv[0]));
		close(sv[1]);
		mimeo_pop3_free(c);
	}
#endif
}
END_TEST

#if MIMEO_HAVE_OPENSSL
/* TLS failures: STLS refused, bytes injected after the STLS answer (they
 * came in the clear and must not be read as part of the TLS session), and
 * implicit TLS to a server that speaks plain text. */
START_TEST(test_client_tls_errors)
{
	static const struct {
		fake_mode mode;
		mimeo_pop3_tls tls;
		int rc;
		const char *text;
	} cases[] = {
		{ FAKE_NORMAL, MIMEO_POP3_TLS_STARTTLS, MIMEO_EPROTO, "refused STLS" },
		{ FAKE_STLS_INJECT, MIMEO_POP3_TLS_STARTTLS, MIMEO_EPROTO, "after its STLS" },
		{ FAKE_NORMAL, MIMEO_POP3_TLS_IMPLICIT, MIMEO_ETLS, "TLS" },
	};
	fake_server fs;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;
	int rc;

	memset(&fs, 0, sizeof(fs));
	fs.mode = cases[_i].mode;
	fs.messages = fake_messages;
	fake_start(&fs);
	opts.tls = cases[_i].tls;
	opts.connect_timeout_ms = 3000;
	opts.read_timeout_ms = 3000;
	ck_assert_int_eq(mimeo_pop3_new(&c, &opts), MIMEO_OK);
	rc = mimeo_pop3_connect(c, "127.0.0.1", fs.port_str);
	ck_assert_msg(rc == cases[_i].rc, "case %d: %s (%s)", _i, mimeo_status_name(rc),
		      mimeo_pop3_error(c));
	ck_assert_msg(strstr(mimeo_pop3_error(c), cases[_i].text), "'%s'", mimeo_pop3_error(c));
	ck_assert_int_eq(mimeo_pop3_usable(c), 0);
	ck_assert(!fake_saw(&fs, "USER"));
	mimeo_pop3_free(c);
	fake_stop(&fs);
}
END_TEST
#endif

/* `mimeo pop3` against a broken server: exit 1, nothing partial in new/,
 * no leftovers in tmp/, no DELE and no QUIT (which would commit deletes). */
START_TEST(test_cli_hostile)
{
	static const fake_mode modes[] = { FAKE_RETR_ENDLESS, FAKE_RETR_EOF, FAKE_RETR_STALL,
					   FAKE_RETR_LONG_LINE };
	test_cli_env e;
	fake_server fs;
	char sub[300];
	double secs;
	int rc;

	if (!test_cli_env_init(&e, "test_cli_hostile"))
		return;
	spit(e.pw, "S3cr3t-pw\n", 10);
	memset(&fs, 0, sizeof(fs));
	fs.mode = modes[_i];
	fs.messages = fake_messages;
	fake_start(&fs);
	{
		char *argv[] = { (char *)e.cli, "pop3", "--host", "127.0.0.1", "--port", fs.port_str,
				 "--user", "bob", "--password-file", e.pw, "--timeout", "1", "-o",
				 e.md, NULL };
		rc = run_cmd(argv, e.out, e.err, 60, &secs);
	}
	fake_stop(&fs);
	ck_assert_msg(rc == 1, "exit status %d", rc);
	ck_assert_msg(secs < 30, "took %.1f s", secs);
	snprintf(sub, sizeof(sub), "%s/new", e.md);
	ck_assert_int_eq(count_files(sub), 0);
	snprintf(sub, sizeof(sub), "%s/tmp", e.md);
	ck_assert_int_eq(count_files(sub), 0);
	ck_assert(!fake_saw(&fs, "DELE"));
	ck_assert(!fake_saw(&fs, "QUIT"));
	ck_assert(file_contains(e.err, "mimeo: pop3: message 1"));
	ck_assert(!file_contains(e.err, "S3cr3t") && !file_contains(e.out, "S3cr3t"));
	test_cli_env_dispose(&e);
}
END_TEST

/* `mimeo pop3` against a well-behaved fake server: delivery, pipelined
 * DELE, and a second run that fetches nothing. */
START_TEST(test_cli_fake_normal)
{
	test_cli_env e;
	fake_server fs;
	char sub[300];
	char *argv[] = { NULL, "pop3", "--host", "127.0.0.1", "--port", NULL, "--user",
			 "bob", "--password-file", e.pw, "--keep", "-o", e.md, NULL };
	int rc;

	if (!test_cli_env_init(&e, "test_cli_fake_normal"))
		return;
	argv[0] = (char *)e.cli;
	spit(e.pw, "S3cr3t-pw\r\n", 11);

	memset(&fs, 0, sizeof(fs));
	fs.mode = FAKE_NORMAL;
	fs.pipelining = 1;
	fs.messages = fake_messages;
	fake_start(&fs);
	argv[5] = fs.port_str;
	rc = run_cmd(argv, e.out, e.err, 60, NULL);
	fake_stop(&fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert(file_contains(e.out, "fetched 2 messages, "));
	ck_assert(fake_saw(&fs, "PASS S3cr3t-pw") && !fake_saw(&fs, "PASS S3cr3t-pw\r"));
	ck_assert(!fake_saw(&fs, "DELE"));
	/* stderr is not a terminal here: no progress */
	ck_assert(!file_contains(e.err, "message 1/"));
	snprintf(sub, sizeof(sub), "%s/new", e.md);
	ck_assert_int_eq(count_files(sub), 2);

	/* Recovery: a recorded message left in tmp/ (a crash between the
	 * state update and the rename) is moved into new/; an unrecorded
	 * file of ours there (a partial download) is removed; anybody
	 * else's file is left alone. */
	{
		char from[600], to[600], tmpd[300];
		DIR *d = opendir(sub);
		struct dirent *de;
		while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
			;
		ck_assert_ptr_nonnull(de);
		snprintf(from, sizeof(from), "%s/%s", sub, de->d_name);
		snprintf(to, sizeof(to), "%s/tmp/%s", e.md, de->d_name);
		ck_assert_int_eq(rename(from, to), 0);
		closedir(d);
		snprintf(tmpd, sizeof(tmpd), "%s/tmp/1.M2P3Q4.host.mimeo-pop3", e.md);
		spit(tmpd, "Subject: partial", 16);
		snprintf(tmpd, sizeof(tmpd), "%s/tmp/foreign", e.md);
		spit(tmpd, "x", 1);
		ck_assert_int_eq(count_files(sub), 1);
	}
	{
		int port = fs.port;
		memset(&fs, 0, sizeof(fs));
		fs.port = port;
	}
	fs.mode = FAKE_NORMAL;
	fs.messages = fake_messages;
	fake_start(&fs);
	rc = run_cmd(argv, e.out, e.err, 60, NULL);
	fake_stop(&fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert(file_contains(e.out, "fetched 0 messages, 0 bytes"));
	ck_assert(!fake_saw(&fs, "RETR"));
	ck_assert_int_eq(count_files(sub), 2);
	{
		char tmpd[300];
		snprintf(tmpd, sizeof(tmpd), "%s/tmp", e.md);
		ck_assert_int_eq(count_files(tmpd), 1); /* only "foreign" */
	}

	/* again without --keep (same port: same account): nothing fetched,
	 * both deleted in one burst */
	{
		int port = fs.port;
		memset(&fs, 0, sizeof(fs));
		fs.port = port;
	}
	fs.mode = FAKE_NORMAL;
	fs.pipelining = 1;
	fs.messages = fake_messages;
	fake_start(&fs);
	argv[5] = fs.port_str;
#if MIMEO_HAVE_OPENSSL
	argv[10] = "--apop";
#else
	argv[10] = "--auth-plain"; /* APOP needs OpenSSL's MD5 */
#endif
	rc = run_cmd(argv, e.out, e.err, 60, NULL);
	fake_stop(&fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert(file_contains(e.out, "fetched 0 messages, 0 bytes"));
	ck_assert(fake_saw(&fs, "DELE 1") && fake_saw(&fs, "DELE 2") && fake_saw(&fs, "QUIT"));
	ck_assert_int_ge(fs.max_batch, 2);
	ck_assert(!fake_saw(&fs, "RETR"));
	ck_assert_int_eq(count_files(sub), 2);
	ck_assert(!file_contains(e.err, "S3cr3t") && !file_contains(e.out, "S3cr3t"));
	test_cli_env_dispose(&e);
}
END_TEST

/* Progress on stderr when it is a terminal (a pty from script(1)). */
START_TEST(test_cli_progress_tty)
{
	const char *cli = getenv("MIMEO_CLI");
	fake_server fs;
	char *dir, cmd[1024], outp[256], errp[256];
	int rc;

	if (!cli || access(cli, X_OK) != 0 || access("/usr/bin/script", X_OK) != 0) {
		fprintf(stderr, "SKIPPED: test_cli_progress_tty (no MIMEO_CLI or script(1))\n");
		return;
	}
	dir = make_temp_dir();
	snprintf(outp, sizeof(outp), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	snprintf(cmd, sizeof(cmd), "%s/pw", dir);
	spit(cmd, "S3cr3t-pw\n", 10);
	memset(&fs, 0, sizeof(fs));
	fs.mode = FAKE_NORMAL;
	fs.messages = fake_messages;
	fake_start(&fs);
	snprintf(cmd, sizeof(cmd),
		 "'%s' pop3 --host 127.0.0.1 --port %s --user bob --password-file '%s/pw' -o '%s/md'",
		 cli, fs.port_str, dir, dir);
	{
		char *argv[] = { "/usr/bin/script", "-qefc", cmd, "/dev/null", NULL };
		rc = run_cmd(argv, outp, errp, 60, NULL);
	}
	fake_stop(&fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert(file_contains(outp, "mimeo pop3: message 2/2"));
	ck_assert(file_contains(outp, "fetched 2 messages"));
	ck_assert(!file_contains(outp, "S3cr3t"));
	remove_tree(dir);
	free(dir);
}
END_TEST

/* More messages than one commit batch; usage errors. */
START_TEST(test_cli_many)
{
	test_cli_env e;
	fake_server fs;
	char sub[300];
	char *argv[] = { NULL, "pop3", "--host", "127.0.0.1", "--port", NULL, "--user",
			 "bob", "--password-file", e.pw, "--keep", "-o", e.md, NULL };
	char *msgs[101];
	const char *cmsgs[101];
	size_t i, len;
	char *state;
	int rc, lines = 0;

	if (!test_cli_env_init(&e, "test_cli_many"))
		return;
	argv[0] = (char *)e.cli;
	spit(e.pw, "pw\n", 3);
	for (i = 0; i < 100; i++) {
		msgs[i] = malloc(64);
		ck_assert_ptr_nonnull(msgs[i]);
		snprintf(msgs[i], 64, "Subject: %zu\r\n\r\n.body %zu\r\n", i, i);
		cmsgs[i] = msgs[i];
	}
	cmsgs[100] = NULL;
	memset(&fs, 0, sizeof(fs));
	fs.mode = FAKE_NORMAL;
	fs.pipelining = 1;
	fs.messages = cmsgs;
	fake_start(&fs);
	argv[5] = fs.port_str;
	rc = run_cmd(argv, e.out, e.err, 60, NULL);
	fake_stop(&fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert(file_contains(e.out, "fetched 100 messages, "));
	/* the RETRs went out in pipelined bursts */
	ck_assert_int_ge(fs.max_batch, 8);
	snprintf(sub, sizeof(sub), "%s/new", e.md);
	ck_assert_int_eq(count_files(sub), 100);
	snprintf(sub, sizeof(sub), "%s/.mimeo-pop3-state", e.md);
	state = test_read_file(sub, &len);
	ck_assert_ptr_nonnull(state);
	for (i = 0; i < len; i++)
		lines += state[i] == '\n';
	ck_assert_int_eq(lines, 101); /* header + one per message */
	ck_assert_ptr_nonnull(strstr(state, "bob@127.0.0.1\tuid-100\t"));
	free(state);
	for (i = 0; i < 100; i++)
		free(msgs[i]);

	/* usage errors: exit 2 */
	{
		char *bad[] = { (char *)e.cli, "pop3", "--host", "h", "-o", e.md, NULL };
		ck_assert_int_eq(run_cmd(bad, e.out, e.err, 30, NULL), 2);
		char *bad2[] = { (char *)e.cli, "pop3", "--host", "h", "--user", "u",
				 "--password-file", e.pw, "--apop", "--auth-plain", "-o", e.md, NULL };
		ck_assert_int_eq(run_cmd(bad2, e.out, e.err, 30, NULL), 2);
	}
	/* a missing password file: exit 1, nothing contacted */
	{
		char *nopw[] = { (char *)e.cli, "pop3", "--host", "127.0.0.1", "--port", "1", "--user",
				 "u", "--password-file", "/nonexistent/pw", "-o", e.md, NULL };
		ck_assert_int_eq(run_cmd(nopw, e.out, e.err, 30, NULL), 1);
		ck_assert(file_contains(e.err, "password file"));
	}
	test_cli_env_dispose(&e);
}
END_TEST

static Suite *pop3_suite(void)
{
	Suite *s = suite_create("pop3");
	TCase *tc = tcase_create("reader");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_vectors, 0, (int)(sizeof(vectors) / sizeof(vectors[0])));
	tcase_add_test(tc, test_terminator_splits);
	tcase_add_loop_test(tc, test_random_garbage, 0, 4);
	tcase_add_test(tc, test_large_message);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_callback_abort);
	tcase_add_test(tc, test_parser_sink);
	suite_add_tcase(s, tc);

	tc = tcase_create("fake-server");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_client_fake_server);
	tcase_add_test(tc, test_client_failing_alloc);
	tcase_add_loop_test(tc, test_client_retr_many, 0, 3);
#if MIMEO_HAVE_OPENSSL
	tcase_add_loop_test(tc, test_client_tls_errors, 0, 3);
#endif
	tcase_add_loop_test(tc, test_client_hostile, 0,
			    2 * (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(tc, test_client_connect_fd);
	tcase_add_test(tc, test_client_connect_fd_errors);
	tcase_add_loop_test(tc, test_cli_hostile, 0, 4);
	tcase_add_test(tc, test_cli_fake_normal);
	tcase_add_test(tc, test_cli_many);
	tcase_add_test(tc, test_cli_progress_tty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(pop3_suite());
}
