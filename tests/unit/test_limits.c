/*
 * test_limits.c - resource limits on hostile input (issue 6): nesting
 * depth, part count, header block bytes, header count, line length, input
 * and decoded size.  Each limit: its documented default, settable, hit by a
 * test, degrading as documented (never failing, never growing memory), and
 * the same result for every chunking of the input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

/* ------------------------------------------------------------------ */
/* A parser run that records what the limits are about.               */
/* ------------------------------------------------------------------ */

typedef struct stats {
	unsigned long parts;       /* part_begin events */
	unsigned max_depth;        /* deepest part seen */
	unsigned long headers;     /* header events */
	size_t longest_value;      /* longest header value delivered */
	unsigned long opaque;      /* parts flagged MIMEO_PART_OPAQUE */
	unsigned long limit_defects;
	uint64_t body_bytes;
	mimeo_buf body;            /* leaf bodies, when `keep_body` */
	int keep_body;
} stats;

static int st_part_begin(const mimeo_part_info *p, void *u)
{
	stats *s = u;

	s->parts++;
	if (p->depth > s->max_depth)
		s->max_depth = p->depth;
	return 0;
}

static int st_header(const mimeo_part_info *p, const char *n, size_t nl, const char *v,
		     size_t vl, void *u)
{
	stats *s = u;

	s->headers++;
	if (vl > s->longest_value)
		s->longest_value = vl;
	return 0;
}

static int st_headers_end(const mimeo_part_info *p, void *u)
{
	stats *s = u;

	if (p->flags & MIMEO_PART_OPAQUE)
		s->opaque++;
	return 0;
}

static int st_body(const mimeo_part_info *p, const char *d, size_t n, void *u)
{
	stats *s = u;

	s->body_bytes += n;
	if (s->keep_body)
		ck_assert_int_eq(mimeo_buf_put(&s->body, d, n), MIMEO_OK);
	return 0;
}

static int st_defect(const mimeo_part_info *p, const mimeo_defect *d, void *u)
{
	stats *s = u;

	if (d->code == MIMEO_DEFECT_LIMIT)
		s->limit_defects++;
	return 0;
}

static const mimeo_parser_callbacks st_cb = {
	MIMEO_PARSER_CALLBACKS_VERSION, NULL, st_part_begin, st_header, st_headers_end,
	st_body, NULL, NULL, NULL, NULL, st_defect
};

/* Byte-counting allocator: the peak shows whether memory stays bounded. */
typedef struct counting {
	mimeo_allocator alloc;
	size_t cur, peak;
} counting;

static void *c_malloc(size_t n, void *ctx)
{
	counting *c = ctx;
	size_t *p = malloc(n + sizeof(size_t) * 2);

	if (!p)
		return NULL;
	p[0] = n;
	c->cur += n;
	if (c->cur > c->peak)
		c->peak = c->cur;
	return p + 2;
}

static void c_free(void *ptr, void *ctx)
{
	counting *c = ctx;
	size_t *p = ptr;

	if (!p)
		return;
	c->cur -= p[-2];
	free(p - 2);
}

static void *c_realloc(void *ptr, size_t n, void *ctx)
{
	counting *c = ctx;
	size_t *p = ptr ? (size_t *)ptr - 2 : NULL, old = p ? p[0] : 0;
	size_t *q = realloc(p, n + sizeof(size_t) * 2);

	if (!q)
		return NULL;
	q[0] = n;
	c->cur = c->cur - old + n;
	if (c->cur > c->peak)
		c->peak = c->cur;
	return q + 2;
}

static void counting_init(counting *c)
{
	memset(c, 0, sizeof(*c));
	c->alloc.malloc = c_malloc;
	c->alloc.realloc = c_realloc;
	c->alloc.free = c_free;
	c->alloc.ctx = c;
}

/* Parse `msg` fed in `chunk`-byte pieces (0 = whole); returns limits hit. */
static unsigned parse_with(const mimeo_parser_options *o, const char *msg, size_t len,
			   size_t chunk, stats *s)
{
	mimeo_parser *p;
	size_t off = 0;
	unsigned hit;

	/* counters only: `body` and `keep_body` belong to the caller */
	memset(s, 0, offsetof(stats, body));
	ck_assert_int_eq(mimeo_parser_new(&p, o, &st_cb, s), MIMEO_OK);
	while (off < len) {
		size_t n = chunk && chunk < len - off ? chunk : len - off;

		ck_assert_int_eq(mimeo_parser_feed(p, msg + off, n), MIMEO_OK);
		off += n;
	}
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	hit = mimeo_parser_limits_hit(p);
	mimeo_parser_free(p);
	return hit;
}

/* Multiparts nested `levels` deep with one leaf at the bottom. */
static char *nested(unsigned levels, size_t *len)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	char tmp[96];
	unsigned i;

	for (i = 0; i < levels; i++) {
		snprintf(tmp, sizeof(tmp), "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i, i);
		ck_assert_int_eq(mimeo_buf_puts(&b, tmp), MIMEO_OK);
	}
	ck_assert_int_eq(mimeo_buf_puts(&b, "\nleaf\n"), MIMEO_OK);
	for (i = levels; i-- > 0;) {
		snprintf(tmp, sizeof(tmp), "--b%u--\n", i);
		ck_assert_int_eq(mimeo_buf_puts(&b, tmp), MIMEO_OK);
	}
	*len = b.size;
	return mimeo_buf_detach(&b);
}

/* ------------------------------------------------------------------ */

START_TEST(documented_defaults)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_pop3_reader r;

	/* the numbers parser.h, message.h, pop3.h and the README promise */
	ck_assert_uint_eq(o.max_depth, 256);
	ck_assert_uint_eq(o.max_header_bytes, 1u << 20);
	ck_assert_uint_eq(o.max_headers, 2000);
	ck_assert_uint_eq(o.max_parts, 100000);
	ck_assert_uint_eq(o.max_line, 64u << 10);
	ck_assert_uint_eq(MIMEO_PARSER_DEFAULT_MAX_DEPTH, 256);
	ck_assert_uint_eq(mo.max_input, 0); /* = no limit (0.1: 4 GiB) */
	ck_assert_uint_eq(mo.spool_memory, 0); /* = MIMEO_MESSAGE_SPOOL_MEMORY */
	ck_assert_uint_eq(MIMEO_MESSAGE_SPOOL_MEMORY, 1u << 20);
	mimeo_pop3_reader_init(&r, 0, NULL, NULL);
	ck_assert_uint_eq(r.max_line, MIMEO_POP3_DEFAULT_MAX_LINE);
	ck_assert_uint_eq(MIMEO_POP3_DEFAULT_MAX_LINE, 1u << 20);
	ck_assert_uint_eq(r.max_bytes, 0);
}
END_TEST

START_TEST(depth_default_and_set)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	size_t len, chunk;
	char *msg = nested(300, &len);
	stats s = { 0 };

	/* default 256 (64 before issue 15: GMime parses staktrace-mailparse's
	 * 100 levels): the multipart at depth 256 is an opaque leaf */
	ck_assert_uint_eq(parse_with(&o, msg, len, 0, &s) & MIMEO_LIMIT_DEPTH, MIMEO_LIMIT_DEPTH);
	ck_assert_uint_eq(s.max_depth, 256);
	ck_assert_uint_eq(s.opaque, 1);
	ck_assert_uint_ge(s.limit_defects, 1);

	/* settable; 0 means the default; same for every chunking */
	o.max_depth = 5;
	for (chunk = 0; chunk < 40; chunk += 7) {
		ck_assert_uint_eq(parse_with(&o, msg, len, chunk, &s), MIMEO_LIMIT_DEPTH);
		ck_assert_uint_eq(s.max_depth, 5);
		ck_assert_uint_eq(s.parts, 6);
		ck_assert_uint_eq(s.opaque, 1);
	}
	o.max_depth = 0;
	parse_with(&o, msg, len, 0, &s);
	ck_assert_uint_eq(s.max_depth, 256);

	/* under the limit: nothing hit */
	o.max_depth = 301;
	ck_assert_uint_eq(parse_with(&o, msg, len, 0, &s), 0);
	ck_assert_uint_eq(s.max_depth, 300);
	free(msg);
}
END_TEST

START_TEST(depth_hostile_100000_levels)
{
	/* 100,000 nested multiparts: bounded depth, bounded memory, no stack
	 * overflow, every byte accounted for as (opaque) body. */
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	counting c;
	size_t len;
	char *msg = nested(100000, &len);
	stats s = { 0 };

	counting_init(&c);
	o.alloc = &c.alloc;
	ck_assert_uint_eq(parse_with(&o, msg, len, 65536, &s) & MIMEO_LIMIT_DEPTH, MIMEO_LIMIT_DEPTH);
	ck_assert_uint_eq(s.max_depth, 256);
	ck_assert_uint_lt(c.peak, 2u << 20);
	ck_assert_uint_eq(c.cur, 0);
	free(msg);
}
END_TEST

START_TEST(parts_limit)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i, chunk;
	stats s = { 0 };

	ck_assert_int_eq(mimeo_buf_puts(&b, "Content-Type: multipart/mixed; boundary=m\n\n"), MIMEO_OK);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(mimeo_buf_puts(&b, "--m\n\npart\n"), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&b, "--m--\n"), MIMEO_OK);

	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 0, &s), 0);
	ck_assert_uint_eq(s.parts, 51); /* the root and its 50 children */

	o.max_parts = 10;
	for (chunk = 0; chunk < 30; chunk += 3) {
		ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, chunk, &s), MIMEO_LIMIT_PARTS);
		/* the root counts: 9 children; the refused delimiter ends the
		 * multipart (issue 15 class 7), the rest is its epilogue, so
		 * no part shows raw MIME: each body is "part" */
		ck_assert_uint_eq(s.parts, 10);
		ck_assert_uint_eq(s.limit_defects, 1);
		ck_assert_uint_eq(s.body_bytes, 4 * 9);
	}
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(parts_hostile_million)
{
	/* a million tiny parts within the default limit of 100000 */
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf b = MIMEO_BUF_INIT;
	counting c;
	size_t i;
	stats s = { 0 };

	ck_assert_int_eq(mimeo_buf_puts(&b, "Content-Type: multipart/mixed; boundary=m\n\n"), MIMEO_OK);
	for (i = 0; i < 1000000; i++)
		ck_assert_int_eq(mimeo_buf_put(&b, "--m\n\nx\n", 7), MIMEO_OK);
	counting_init(&c);
	o.alloc = &c.alloc;
	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 1 << 16, &s), MIMEO_LIMIT_PARTS);
	ck_assert_uint_eq(s.parts, MIMEO_PARSER_DEFAULT_MAX_PARTS);
	ck_assert_uint_lt(c.peak, 2u << 20);
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(header_count_limit)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf b = MIMEO_BUF_INIT;
	char tmp[32];
	size_t i, chunk;
	stats s = { 0 };

	for (i = 0; i < 20; i++) {
		snprintf(tmp, sizeof(tmp), "X-H%zu: v\n", i);
		ck_assert_int_eq(mimeo_buf_puts(&b, tmp), MIMEO_OK);
	}
	ck_assert_int_eq(mimeo_buf_puts(&b, "\nbody\n"), MIMEO_OK);

	o.max_headers = 5;
	for (chunk = 0; chunk < 20; chunk += 4) {
		s.keep_body = 1;
		mimeo_buf_init(&s.body, NULL);
		ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, chunk, &s), MIMEO_LIMIT_HEADERS);
		ck_assert_uint_eq(s.headers, 5);
		/* the header is read to its real end (issue 15 class 7): the
		 * fields past the limit are dropped, none becomes body */
		ck_assert_str_eq(s.body.ptr, "body\n");
		mimeo_buf_dispose(&s.body);
	}
	s.keep_body = 0;
	o.max_headers = 0; /* default 2000 */
	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 0, &s), 0);
	ck_assert_uint_eq(s.headers, 20);
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(header_bytes_limit)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i;
	stats s = { 0 };

	for (i = 0; i < 100; i++)
		ck_assert_int_eq(mimeo_buf_puts(&b, "X-Filler: 0123456789012345678901234567890123456789\n"), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&b, "\nbody\n"), MIMEO_OK);

	o.max_header_bytes = 600;
	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 0, &s), MIMEO_LIMIT_HEADER_BYTES);
	ck_assert_uint_lt(s.headers, 600 / 50 + 1);
	ck_assert_uint_ge(s.headers, 600 / 52 - 1);
	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 13, &s), MIMEO_LIMIT_HEADER_BYTES);

	o.max_header_bytes = 0; /* default 1 MiB */
	ck_assert_uint_eq(parse_with(&o, b.ptr, b.size, 0, &s), 0);
	ck_assert_uint_eq(s.headers, 100);
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(line_limit)
{
	/* A 10 MB header line: truncated to max_line, memory bounded.  A body
	 * line of any length is delivered whole. */
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	const size_t big = 10u << 20;
	char *msg = malloc(big + 64);
	counting c;
	size_t n;
	stats s = { 0 };

	ck_assert_ptr_nonnull(msg);
	n = (size_t)sprintf(msg, "Subject: ");
	memset(msg + n, 'x', big);
	n += big;
	n += (size_t)sprintf(msg + n, "\n\nbody\n");

	counting_init(&c);
	o.alloc = &c.alloc;
	o.max_line = 4096;
	ck_assert_uint_eq(parse_with(&o, msg, n, 65536, &s), MIMEO_LIMIT_LINE);
	ck_assert_uint_le(s.longest_value, 4096);
	ck_assert_uint_gt(s.longest_value, 4000);
	ck_assert_uint_eq(s.body_bytes, 5);
	ck_assert_uint_lt(c.peak, 1u << 20);

	/* default 64 KiB, far below the 1 MiB header block, so one huge
	 * line cannot use up the block (issue 15 class 7) */
	counting_init(&c);
	o.max_line = 0;
	ck_assert_uint_eq(parse_with(&o, msg, n, 65536, &s), MIMEO_LIMIT_LINE);
	/* the field is kept, cut short, the rest of the line is dropped,
	 * and the body follows as usual */
	ck_assert_uint_le(s.longest_value, 64u << 10);
	ck_assert_uint_gt(s.longest_value, (64u << 10) - 64);
	ck_assert_uint_eq(s.body_bytes, 5);
	ck_assert_uint_lt(c.peak, 3u << 20);

	/* a 10 MB body line is data, not a limit */
	n = (size_t)sprintf(msg, "Subject: s\n\n");
	memset(msg + n, 'y', big);
	n += big;
	ck_assert_uint_eq(parse_with(&o, msg, n, 65536, &s), 0);
	ck_assert_uint_eq(s.body_bytes, big);
	free(msg);
}
END_TEST

/* Regression (fuzz_message 3024c24c): a line too long for the header's
 * budget that is no header field ends the header block and is the first
 * body line.  It was cut at the budget and the rest of the line dropped:
 * the body read shorter than its offsets said (data lost, and the message
 * tree refused to decode it).  It now reaches the body whole, whatever the
 * chunking, whichever budget (max_line or max_header_bytes) it passes. */
START_TEST(long_text_line_ends_header)
{
	static const struct {
		const char *head;
		size_t body;   /* bytes of the head that are body */
	} heads[] = {
		{ "", 0 },                                /* the message's first line */
		{ "Subject: s\n", 0 },                    /* after a field */
		{ "Content-Type: message/rfc822\n", 0 },  /* replayed into the inner header */
		{ " ", 1 },  /* starting with a blank, no field before it (fuzz 4b379143) */
	};
	static const size_t chunks[] = { 0, 1, 7, 4096 };
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	const size_t big = 200000;
	char *msg = malloc(big + 128);
	size_t h, c, k, n;
	stats s = { 0 };

	ck_assert_ptr_nonnull(msg);
	for (h = 0; h < sizeof heads / sizeof *heads; h++) {
		n = (size_t)sprintf(msg, "%s", heads[h].head);
		memset(msg + n, 0xff, big); /* 8-bit text, no colon */
		n += big;
		n += (size_t)sprintf(msg + n, "\nend: of text\n");
		for (k = 0; k < 2; k++) {
			o.max_header_bytes = k ? 512 : 0;
			for (c = 0; c < sizeof chunks / sizeof *chunks; c++) {
				if (chunks[c] == 1 && h == 1)
					continue; /* slow, and no new path */
				ck_assert_uint_eq(parse_with(&o, msg, n, chunks[c], &s), 0);
				ck_assert_uint_eq(s.body_bytes, heads[h].body + big + 14);
			}
		}
	}
	free(msg);
}
END_TEST

START_TEST(body_size_bounded_memory)
{
	/* A 64 MB base64 attachment streams through in constant memory:
	 * the decoded size is not held anywhere. */
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	static const char head[] = "Content-Type: application/octet-stream\n"
				   "Content-Transfer-Encoding: base64\n\n";
	char line[78];
	mimeo_parser *p;
	counting c;
	stats s = { 0 };
	size_t i;

	memset(line, 'Q', 76);
	line[76] = '\n';
	counting_init(&c);
	o.alloc = &c.alloc;
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(mimeo_parser_new(&p, &o, &st_cb, &s), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, head, sizeof(head) - 1), MIMEO_OK);
	for (i = 0; i < (64u << 20) / 77; i++)
		ck_assert_int_eq(mimeo_parser_feed(p, line, 77), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	ck_assert_uint_eq(s.body_bytes, (uint64_t)i * 57);
	ck_assert_uint_lt(c.peak, 1u << 20);
	mimeo_parser_free(p);
	ck_assert_uint_eq(c.cur, 0);
}
END_TEST

typedef struct feeder {
	const char *data;
	size_t left;
} feeder;

static int feed_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	feeder *f = ctx;
	size_t n = f->left < cap ? f->left : cap;

	if (n > 100)
		n = 100;
	memcpy(buf, f->data, n);
	f->data += n;
	f->left -= n;
	*got = n;
	return MIMEO_OK;
}

START_TEST(message_input_and_tree_limits)
{
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_message *m = NULL;
	size_t len;
	char *msg = nested(20, &len);
	feeder f = { msg, len };

	/* max_input: a stream larger than the limit fails cleanly */
	mo.max_input = 100;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, feed_read, &f, &mo), MIMEO_ELIMIT);
	ck_assert_ptr_null(m);
	f.data = msg;
	f.left = len;
	mo.max_input = len;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, feed_read, &f, &mo), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_limits_hit(m), 0);
	mimeo_message_free(m);

	/* parser limits pass through the tree */
	po.max_depth = 3;
	mo.parser = &po;
	mo.max_input = 0;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, len, &mo), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_limits_hit(m), MIMEO_LIMIT_DEPTH);
	ck_assert_uint_eq(mimeo_message_part_count(m), 4);
	ck_assert_ptr_nonnull(mimeo_message_find_section(m, "1.1"));
	mimeo_message_free(m);
	free(msg);
}
END_TEST

static int count_write(const void *d, size_t n, void *u)
{
	*(size_t *)u += n;
	return 0;
}

START_TEST(pop3_line_and_size_limits)
{
	static const char resp[] = "+OK\r\nshort\r\n0123456789012345678901234567890123456789\r\n.\r\n";
	mimeo_pop3_reader r;
	size_t got = 0, used;

	/* max_line: the 42-byte line is too long for 40 */
	mimeo_pop3_reader_init(&r, 0, count_write, &got);
	r.max_line = 40;
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, resp, sizeof(resp) - 1, &used), MIMEO_ELIMIT);
	ck_assert_int_eq(mimeo_pop3_reader_finish(&r), MIMEO_ELIMIT);

	/* max_bytes: an endless RETR stops at the limit */
	got = 0;
	mimeo_pop3_reader_init(&r, 0, count_write, &got);
	r.max_bytes = 10;
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, resp, sizeof(resp) - 1, &used), MIMEO_ELIMIT);
	ck_assert_uint_le(got, 10);

	/* defaults: fine */
	got = 0;
	mimeo_pop3_reader_init(&r, 0, count_write, &got);
	ck_assert_int_eq(mimeo_pop3_reader_feed(&r, resp, sizeof(resp) - 1, &used), MIMEO_DONE);
	ck_assert_uint_eq(got, 7 + 42);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *t = tcase_create("limits");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, documented_defaults);
	tcase_add_test(t, depth_default_and_set);
	tcase_add_test(t, depth_hostile_100000_levels);
	tcase_add_test(t, parts_limit);
	tcase_add_test(t, parts_hostile_million);
	tcase_add_test(t, header_count_limit);
	tcase_add_test(t, header_bytes_limit);
	tcase_add_test(t, line_limit);
	tcase_add_test(t, long_text_line_ends_header);
	tcase_add_test(t, body_size_bounded_memory);
	tcase_add_test(t, message_input_and_tree_limits);
	tcase_add_test(t, pop3_line_and_size_limits);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return test_run_suite(limits_suite());
}
