/*
 * test_parser.c - push parser: events for every chunking, MIME and mbox
 * rules, malformed input, limits, pause/abort, allocation failures, corpus.
 *
 * Every parse is logged as a string of events; body/preamble/epilogue data
 * is merged across consecutive calls, so the log is the same for every
 * chunking and can be compared as a whole.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"
#include "mimeo/parser.h"
#include "mimeo/param.h"
#include "parser-priv.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* event log                                                           */
/* ------------------------------------------------------------------ */

typedef struct logger {
	mimeo_buf out;
	int data_kind;    /* 'b', 'p', 'e' while data is being merged, else 0 */
	int pause_every;  /* return MIMEO_PAUSED from every Nth callback */
	int abort_at;     /* return -1 from the Nth callback */
	int calls;
	int no_data;      /* don't log data bytes, only sizes */
	unsigned long data_bytes;
} logger;

static void put_buf(mimeo_buf *b, const char *s)
{
	ck_assert_int_eq(mimeo_buf_puts(b, s), MIMEO_OK);
}

static void put(logger *lg, const char *s)
{
	ck_assert_int_eq(mimeo_buf_puts(&lg->out, s), MIMEO_OK);
}

static void putf(logger *lg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(logger *lg, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(lg, tmp);
}

static void put_esc(logger *lg, const char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '\n')
			put(lg, "\\n");
		else if (c == '\r')
			put(lg, "\\r");
		else if (c == '|' || c == '\\' || c < 32 || c > 126)
			putf(lg, "\\x%02x", c);
		else
			ck_assert_int_eq(mimeo_buf_put(&lg->out, d + i, 1), MIMEO_OK);
	}
}

static void end_data(logger *lg)
{
	if (lg->data_kind)
		put(lg, "|");
	lg->data_kind = 0;
}

static int ret(logger *lg)
{
	lg->calls++;
	if (lg->abort_at && lg->calls == lg->abort_at)
		return -1;
	if (lg->pause_every && lg->calls % lg->pause_every == 0)
		return MIMEO_PAUSED;
	return 0;
}

static int on_msg_begin(const mimeo_part_info *m, uint64_t off, void *u)
{
	logger *lg = u;

	end_data(lg);
	putf(lg, "MB@%llu d%u|", (unsigned long long)off, m->depth);
	return ret(lg);
}

static int on_part_begin(const mimeo_part_info *pi, void *u)
{
	logger *lg = u;

	end_data(lg);
	putf(lg, "PB [%s] d%u @%llu|", pi->section, pi->depth,
	     (unsigned long long)pi->header_offset);
	return ret(lg);
}

static int on_header(const mimeo_part_info *pi, const char *n, size_t nl, const char *v,
		     size_t vl, void *u)
{
	logger *lg = u;

	(void)pi;
	end_data(lg);
	put(lg, "H ");
	put_esc(lg, n, nl);
	put(lg, "=");
	put_esc(lg, v, vl);
	put(lg, "|");
	return ret(lg);
}

static int on_headers_end(const mimeo_part_info *pi, void *u)
{
	logger *lg = u;

	end_data(lg);
	putf(lg, "HE %s/%s cs=%s cte=%d b=%s f=%x @%llu|", pi->type, pi->subtype,
	     pi->charset ? pi->charset : "-", (int)pi->cte, pi->boundary ? pi->boundary : "-",
	     pi->flags, (unsigned long long)pi->body_offset);
	return ret(lg);
}

static int on_data(logger *lg, int kind, const char *d, size_t n)
{
	ck_assert_uint_gt(n, 0);
	if (lg->data_kind != kind) {
		end_data(lg);
		putf(lg, "%c ", kind);
		lg->data_kind = kind;
	}
	lg->data_bytes += n;
	if (!lg->no_data)
		put_esc(lg, d, n);
	return ret(lg);
}

static int on_body(const mimeo_part_info *pi, const char *d, size_t n, void *u)
{
	(void)pi;
	return on_data(u, 'B', d, n);
}

static int on_pre(const mimeo_part_info *pi, const char *d, size_t n, void *u)
{
	(void)pi;
	return on_data(u, 'P', d, n);
}

static int on_epi(const mimeo_part_info *pi, const char *d, size_t n, void *u)
{
	(void)pi;
	return on_data(u, 'E', d, n);
}

static int on_part_end(const mimeo_part_info *pi, void *u)
{
	logger *lg = u;

	end_data(lg);
	putf(lg, "PE [%s] f=%x end@%llu size=%llu|", pi->section, pi->flags,
	     (unsigned long long)pi->end_offset, (unsigned long long)pi->decoded_size);
	return ret(lg);
}

static int on_msg_end(const mimeo_part_info *m, void *u)
{
	logger *lg = u;

	(void)m;
	end_data(lg);
	put(lg, "ME|");
	return ret(lg);
}

static int on_defect(const mimeo_part_info *pi, const mimeo_defect *d, void *u)
{
	logger *lg = u;

	(void)pi;
	end_data(lg);
	putf(lg, "D%d@%llu|", d->code, (unsigned long long)d->offset);
	return ret(lg);
}

static const mimeo_parser_callbacks log_cb = {
	MIMEO_PARSER_CALLBACKS_VERSION, on_msg_begin, on_part_begin, on_header, on_headers_end,
	on_body, on_pre, on_epi, on_part_end, on_msg_end, on_defect
};

/* Feed `in` in pieces: sizes from `sizes` (cycled), or random when
 * `seed` != 0, or whole when both are 0.  Handles pauses. */
typedef struct run_opts {
	unsigned flags;
	size_t chunk;        /* fixed chunk size, 0 = whole */
	uint64_t seed;       /* random chunk sizes 1..97 when != 0 */
	size_t max_chunk;    /* with seed: random sizes 1..max_chunk instead */
	int pause_every;
	const mimeo_parser_options *opts;
	int no_data;
} run_opts;

static char *run_log(const char *in, size_t len, const run_opts *ro, int *status,
		     unsigned *limits)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	logger lg;
	mimeo_parser *p = NULL;
	size_t pos = 0;
	uint64_t rs = ro->seed;
	int rc = 0;

	memset(&lg, 0, sizeof(lg));
	lg.out = (mimeo_buf)MIMEO_BUF_INIT;
	lg.pause_every = ro->pause_every;
	lg.no_data = ro->no_data;
	if (ro->opts)
		o = *ro->opts;
	o.flags |= ro->flags;
	ck_assert_int_eq(mimeo_parser_new(&p, &o, &log_cb, &lg), MIMEO_OK);
	while (pos < len && rc >= 0) {
		size_t n = len - pos;

		if (ro->seed)
			n = 1 + (size_t)(test_rand(&rs) % (ro->max_chunk ? ro->max_chunk : 97));
		else if (ro->chunk)
			n = ro->chunk;
		if (n > len - pos)
			n = len - pos;
		rc = mimeo_parser_feed(p, in + pos, n);
		if (rc == MIMEO_PAUSED) {
			size_t c = mimeo_parser_consumed(p);

			ck_assert_uint_le(c, n);
			pos += c;
			continue;
		}
		if (rc == MIMEO_OK)
			pos += n;
	}
	while (rc >= 0) {
		rc = mimeo_parser_finish(p);
		if (rc != MIMEO_PAUSED)
			break;
	}
	end_data(&lg);
	if (status)
		*status = rc;
	if (limits)
		*limits = mimeo_parser_limits_hit(p);
	mimeo_parser_free(p);
	if (!lg.out.ptr)
		ck_assert_int_eq(mimeo_buf_puts(&lg.out, ""), MIMEO_OK);
	return mimeo_buf_detach(&lg.out);
}

static char *log_of(const char *in, unsigned flags)
{
	run_opts ro = { 0 };
	int st;
	char *s;

	ro.flags = flags;
	s = run_log(in, strlen(in), &ro, &st, NULL);
	ck_assert_int_eq(st, MIMEO_OK);
	return s;
}

/* The log of `in` for every chunk size 1..64, random chunkings and with a
 * pause after every 1st/3rd callback must equal the whole-buffer log. */
static char *check_splits_n(const char *in, size_t len, unsigned flags,
			    const mimeo_parser_options *opts)
{
	run_opts ro = { 0 };
	char *ref, *s;
	size_t c;
	int st, i;

	ro.flags = flags;
	ro.opts = opts;
	ref = run_log(in, len, &ro, &st, NULL);
	ck_assert_int_eq(st, MIMEO_OK);
	/* every scanner path gives the same events */
	for (i = MIMEO_ISA_SCALAR; i <= MIMEO_ISA_AVX512; i++) {
		mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;

		if (opts)
			o = *opts;
		o.isa = (mimeo_isa)i;
		ro.opts = &o;
		s = run_log(in, len, &ro, &st, NULL);
		ro.opts = opts;
		if (strcmp(s, ref))
			ck_abort_msg("ISA %d differs:\n%s\nvs\n%s", i, s, ref);
		free(s);
	}
	for (c = 1; c <= 64; c++) {
		ro.chunk = c;
		s = run_log(in, len, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		if (strcmp(s, ref))
			ck_abort_msg("chunk %zu differs:\n%s\nvs whole:\n%s", c, s, ref);
		free(s);
	}
	ro.chunk = 0;
	for (i = 1; i <= 20; i++) {
		ro.seed = (uint64_t)i * 7919;
		s = run_log(in, len, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		if (strcmp(s, ref))
			ck_abort_msg("random chunking %d differs:\n%s\nvs\n%s", i, s, ref);
		free(s);
	}
	ro.seed = 0;
	for (i = 1; i <= 3; i += 2) {
		ro.pause_every = i;
		ro.chunk = 7;
		s = run_log(in, len, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		if (strcmp(s, ref))
			ck_abort_msg("pause every %d differs:\n%s\nvs\n%s", i, s, ref);
		free(s);
	}
	return ref;
}

static char *check_splits(const char *in, unsigned flags)
{
	return check_splits_n(in, strlen(in), flags, NULL);
}

static void expect(const char *in, unsigned flags, const char *want)
{
	char *s = check_splits(in, flags);

	if (strcmp(s, want))
		ck_abort_msg("input:\n%s\ngot:\n%s\nwant:\n%s", in, s, want);
	free(s);
}

/* Does the log contain `needle`? */
static void expect_has(const char *in, unsigned flags, const char *needle)
{
	char *s = check_splits(in, flags);

	if (!strstr(s, needle))
		ck_abort_msg("input:\n%s\nlog:\n%s\nlacks: %s", in, s, needle);
	free(s);
}

/* ------------------------------------------------------------------ */
/* basic structure                                                     */
/* ------------------------------------------------------------------ */

START_TEST(simple_message)
{
	expect("Subject: hi\r\nX-A:  two\r\n words\r\n\r\nbody\r\nline2\r\n", 0,
	       "MB@0 d0|PB [] d0 @0|H Subject=hi|H X-A=two\\r\\n words|"
	       "HE text/plain cs=us-ascii cte=0 b=- f=14 @34|B body\\r\\nline2\\r\\n|"
	       "PE [1] f=14 end@47 size=13|ME|");
}
END_TEST

START_TEST(multipart_basic)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=\"XX\"\n"
		"\n"
		"preamble\n"
		"--XX\n"
		"Content-Type: text/plain; charset=UTF-8\n"
		"\n"
		"hello\n"
		"--XX\n"
		"\n"
		"no headers\n"
		"--XX--\n"
		"epilogue\n";

	expect(in, MIMEO_PARSE_PREAMBLE,
	       "MB@0 d0|PB [] d0 @0|H Content-Type=multipart/mixed; boundary=\"XX\"|"
	       "HE multipart/mixed cs=- cte=0 b=XX f=11 @46|P preamble|"
	       "PB [1] d1 @60|H Content-Type=text/plain; charset=UTF-8|"
	       "HE text/plain cs=utf-8 cte=0 b=- f=4 @101|B hello|PE [1] f=4 end@106 size=5|"
	       "PB [2] d1 @112|HE text/plain cs=us-ascii cte=0 b=- f=4 @113|B no headers|"
	       "PE [2] f=4 end@123 size=10|E epilogue\\n|PE [] f=11 end@140 size=0|ME|");
}
END_TEST

START_TEST(preamble_off_by_default)
{
	char *s = log_of("Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\nx\n--b--\nepi\n", 0);

	ck_assert_ptr_null(strstr(s, "P pre"));
	ck_assert_ptr_null(strstr(s, "E epi"));
	ck_assert_ptr_nonnull(strstr(s, "B x|"));
	free(s);
}
END_TEST

START_TEST(crlf_and_padding)
{
	/* transport padding after the boundary, CRLF line ends */
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
		"--XX \t\r\n\r\nA\r\n"
		"--XX--  \r\n";

	expect_has(in, 0, "B A|PE [1] f=4 end@57 size=1|");
	expect_has(in, 0, "PE [] f=11 end@");
}
END_TEST

START_TEST(boundary_not_followed_by_ws)
{
	/* "--XXy" is body text, not a boundary */
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\n\nA\n--XXy\nB\n--XX--\n";

	expect_has(in, 0, "B A\\n--XXy\\nB|PE [1]");
}
END_TEST

START_TEST(prefix_boundaries)
{
	/* inner boundary "outer-x" starts with the outer boundary and vice
	 * versa: lines must match the right one */
	const char *in =
		"Content-Type: multipart/mixed; boundary=outer\n\n"
		"--outer\n"
		"Content-Type: multipart/alternative; boundary=outer-x\n\n"
		"--outer-x\n\none\n"
		"--outer-x\n\ntwo\n"
		"--outer-x--\n"
		"--outer\n\nthree\n"
		"--outer--\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "PB [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B two|PE [1.2]"));
	ck_assert_ptr_nonnull(strstr(s, "B three|PE [2]"));
	ck_assert_ptr_null(strstr(s, "D2@"));  /* no missing close */
	free(s);

	/* the other way round: inner boundary is a prefix of the outer */
	in = "Content-Type: multipart/mixed; boundary=ab-cd\n\n"
	     "--ab-cd\n"
	     "Content-Type: multipart/alternative; boundary=ab\n\n"
	     "--ab\n\none\n"
	     "--ab-cd\n\ntwo\n"
	     "--ab-cd--\n";
	s = check_splits(in, 0);
	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "D2@"));   /* inner closed by outer */
	ck_assert_ptr_nonnull(strstr(s, "B two|PE [2]"));
	free(s);
}
END_TEST

START_TEST(boundary_trailing_space)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=\"ab \"\n\n"
		"--ab \n\nA\n--ab\n\nB\n--ab--\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "B A|PE [1]"));
	ck_assert_ptr_nonnull(strstr(s, "B B|PE [2]"));
	ck_assert_ptr_null(strstr(s, "D2@"));
	free(s);
}
END_TEST

/* MIMEO_PARSE_DELIMITER_PREFIX (Dovecot's reading): a line that starts with
 * "--" boundary delimits whatever follows, and closes when "--" follows;
 * the same lines are body text without the flag. */
START_TEST(delimiter_prefix_reading)
{
	const unsigned pf = MIMEO_PARSE_DELIMITER_PREFIX | MIMEO_PARSE_PREAMBLE;
	mimeo_buf in = MIMEO_BUF_INIT;
	size_t i;
	char *s;

	mimeo_buf_init(&in, NULL);
	ck_assert_int_eq(mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=XX\n\n"
					"--XX\n\nA\n--XXy\nB\n--XX junk\n\nC\n--XX"), MIMEO_OK);
	/* a delimiter line longer than the candidate window (its rest is
	 * dropped, as a boundary line's transport padding is) */
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(mimeo_buf_puts(&in, "zzzzzzzzzz"), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&in, "\n\nD\n--XX-->\nepi\n"), MIMEO_OK);
	s = check_splits_n(in.ptr, in.size, pf, NULL);
	ck_assert_ptr_nonnull(strstr(s, "B A|PE [1]"));
	ck_assert_ptr_nonnull(strstr(s, "B B|PE [2]"));
	ck_assert_ptr_nonnull(strstr(s, "B C|PE [3]"));
	ck_assert_ptr_nonnull(strstr(s, "B D|PE [4]"));
	ck_assert_ptr_nonnull(strstr(s, "E epi\\n|PE []"));
	ck_assert_ptr_null(strstr(s, "PB [5]"));
	ck_assert_ptr_null(strstr(s, "D2@"));   /* closed by "--XX-->" */
	free(s);
	/* without the flag all of it is the first part's body */
	s = check_splits_n(in.ptr, in.size, MIMEO_PARSE_PREAMBLE, NULL);
	ck_assert_ptr_nonnull(strstr(s, "B A\\n--XXy\\nB\\n--XX junk"));
	ck_assert_ptr_null(strstr(s, "PB [2]"));
	free(s);
	mimeo_buf_dispose(&in);

	/* close delimiter with padding, CRLF */
	expect_has("Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\r\nA\r\n"
		   "--XX--  \r\nepi\r\n", pf, "B A|PE [1] f=4 end@");
}
END_TEST

/* With the prefix reading the longest open boundary that starts the line
 * wins, so an outer boundary that extends the inner one keeps its lines;
 * of equal ones the innermost. */
START_TEST(delimiter_prefix_longest)
{
	const unsigned pf = MIMEO_PARSE_DELIMITER_PREFIX;
	const char *in = "Content-Type: multipart/mixed; boundary=ab-cd\n\n"
			 "--ab-cd\n"
			 "Content-Type: multipart/alternative; boundary=ab\n\n"
			 "--ab\n\none\n"
			 "--ab-cd\n\ntwo\n"
			 "--ab-cd--\n";
	char *s = check_splits(in, pf);

	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "D2@"));   /* inner closed by outer */
	ck_assert_ptr_nonnull(strstr(s, "B two|PE [2]"));
	free(s);
	/* the same boundary twice: the inner one takes the lines */
	in = "Content-Type: multipart/mixed; boundary=b\n\n"
	     "--b\nContent-Type: multipart/mixed; boundary=b\n\n"
	     "--b\n\none\n--b-x\n\ntwo\n--b--\n";
	s = check_splits(in, pf);
	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B two|PE [1.2]"));
	free(s);
}
END_TEST

/* With the prefix reading a boundary is compared as written (trailing
 * spaces needed on the line), and of a long one only its first 80
 * characters. */
START_TEST(delimiter_prefix_boundary_forms)
{
	const unsigned pf = MIMEO_PARSE_DELIMITER_PREFIX;
	char in[1024], b[100];
	char *s;

	s = check_splits("Content-Type: multipart/mixed; boundary=\"ab \"\n\n"
			 "--ab \n\nA\n--ab\n\nB\n--ab --\n", pf);
	ck_assert_ptr_nonnull(strstr(s, "B A\\n--ab\\n\\nB|PE [1]"));
	ck_assert_ptr_null(strstr(s, "PB [2]"));
	free(s);
	/* 85 characters: a line with its first 80 and another tail delimits */
	memset(b, 'q', 85);
	b[85] = 0;
	snprintf(in, sizeof(in),
		 "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\nA\n"
		 "--%.80sZZZZZ\n\nB\n--%s--\n", b, b, b, b);
	s = check_splits(in, pf);
	ck_assert_ptr_nonnull(strstr(s, "B A|PE [1]"));
	ck_assert_ptr_nonnull(strstr(s, "B B|PE [2]"));
	free(s);
	s = check_splits(in, 0);
	ck_assert_ptr_null(strstr(s, "PB [2]"));
	free(s);
}
END_TEST

/* MIMEO_PARSE_DELIMITER_PREFIX: a delimiter line that the input ends in
 * (no line break) starts no part: it closes its multipart, as Dovecot
 * reads it; in the body, in a header block, and when the line is longer
 * than the candidate window.  Without the flag it starts an empty part. */
START_TEST(delimiter_prefix_at_eof)
{
	const unsigned pf = MIMEO_PARSE_DELIMITER_PREFIX;
	const char *in = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b";
	mimeo_buf lng = MIMEO_BUF_INIT;
	size_t i;
	char *s = check_splits(in, pf);

	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1]"));
	ck_assert_ptr_null(strstr(s, "PB [2]"));
	ck_assert_ptr_null(strstr(s, "D2@"));
	free(s);
	s = check_splits(in, 0);
	ck_assert_ptr_nonnull(strstr(s, "PB [2]"));
	free(s);
	/* in the header block of part 2 */
	s = check_splits("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
			 "--b\r\nX-A: 1\r\n--b", pf);
	ck_assert_ptr_nonnull(strstr(s, "PB [2]"));
	ck_assert_ptr_null(strstr(s, "PB [3]"));
	ck_assert_ptr_null(strstr(s, "D2@"));
	free(s);
	/* a delimiter line longer than the window, ended by the input */
	mimeo_buf_init(&lng, NULL);
	ck_assert_int_eq(mimeo_buf_puts(&lng, "Content-Type: multipart/mixed; boundary=b\n\n"
					 "--b\n\none\n--b "), MIMEO_OK);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(mimeo_buf_puts(&lng, "zzzzzzzzzz"), MIMEO_OK);
	s = check_splits_n(lng.ptr, lng.size, pf, NULL);
	ck_assert_ptr_nonnull(strstr(s, "B one|PE [1]"));
	ck_assert_ptr_null(strstr(s, "PB [2]"));
	free(s);
	mimeo_buf_dispose(&lng);
}
END_TEST

/* The prefix reading with few and with many open boundaries (compared one
 * by one, or looked up by prefix in the boundary table: prefix_lookup):
 * nested boundaries "x", "xy", "xyy", ... each extending its parent's, so
 * a line starting with all of them belongs to the longest. */
static void check_prefix_nesting(unsigned levels)
{
	mimeo_buf in = MIMEO_BUF_INIT, want = MIMEO_BUF_INIT;
	char b[64];
	unsigned i;
	char *s;

	mimeo_buf_init(&in, NULL);
	mimeo_buf_init(&want, NULL);
	for (i = 0; i < levels; i++) {
		memset(b, 'y', i);
		b[i] = 0;
		ck_assert_int_eq(mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=x"),
				 MIMEO_OK);
		ck_assert_int_eq(mimeo_buf_puts(&in, b), MIMEO_OK);
		ck_assert_int_eq(mimeo_buf_puts(&in, "\n\n--x"), MIMEO_OK);
		ck_assert_int_eq(mimeo_buf_puts(&in, b), MIMEO_OK);
		ck_assert_int_eq(mimeo_buf_puts(&in, "\n"), MIMEO_OK);
	}
	/* the innermost's first part, then its second after a prefix line */
	ck_assert_int_eq(mimeo_buf_puts(&in, "\ndeep\n--x"), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&in, b), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&in, "junk\n\ntwo\n--xyyy-\n\nthree\n--x--\n"), MIMEO_OK);
	s = check_splits_n(in.ptr, in.size, MIMEO_PARSE_DELIMITER_PREFIX, NULL);
	/* sections: the multipart at level i is 1.1...(i ones); its first
	 * child adds ".1" */
	for (i = 0; i < levels; i++)
		ck_assert_int_eq(mimeo_buf_puts(&want, i ? ".1" : "1"), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&want, "]"), MIMEO_OK);
	{
		char *pe = malloc(want.size + 32);

		ck_assert_ptr_nonnull(pe);
		snprintf(pe, want.size + 32, "B deep|PE [%s", want.ptr);
		ck_assert_msg(strstr(s, pe) != NULL, "%u levels: %s", levels, pe);
		/* the second part of the innermost: same prefix, last 1 -> 2 */
		snprintf(pe, want.size + 32, "B two|PE [%.*s2]", (int)want.size - 2, want.ptr);
		ck_assert_msg(strstr(s, pe) != NULL, "%u levels: %s", levels, pe);
		free(pe);
	}
	/* "--xyyy-" delimits the multipart of boundary "xyyy" (level 3,
	 * section 1.1.1): its second part, the levels inside it closed */
	ck_assert_ptr_nonnull(strstr(s, "B three|PE [1.1.1.2]"));
	ck_assert_ptr_nonnull(strstr(s, "D2@"));
	ck_assert_ptr_null(strstr(s, "PB [2]"));   /* "--x--" closed the root */
	free(s);
	mimeo_buf_dispose(&in);
	mimeo_buf_dispose(&want);
}

START_TEST(delimiter_prefix_nesting)
{
	check_prefix_nesting(6);   /* compared one by one */
	check_prefix_nesting(20);  /* looked up by prefix */
}
END_TEST

/* MIMEO_PARSE_MESSAGE_AS_IS: a base64 message/rfc822 is parsed from its
 * body as it stands (offsets in the input, no ENCODED flag): the base64
 * line is no header field, so it ends an empty header and is body text. */
START_TEST(rfc822_base64_as_is)
{
	const char *in =
		"Subject: x\nContent-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		"U3ViamVjdDogaW5uZXIKCmJvZHkK\n--XX--\n";
	char *s = check_splits(in, MIMEO_PARSE_MESSAGE_AS_IS);


	ck_assert_ptr_nonnull(strstr(s, "HE message/rfc822 cs=- cte=4 b=- f=2 @"));
	ck_assert_ptr_nonnull(strstr(s, "PB [1] d2 @124|D1@124|HE text/plain"));
	ck_assert_ptr_nonnull(strstr(s, "B U3ViamVjdDogaW5uZXIKCmJvZHkK|PE [1.1] f=14 end@152"));
	ck_assert_ptr_null(strstr(s, "Subject=inner"));
	free(s);
}
END_TEST

/* Issue 15 class 5: a boundary splits up to the line-length limit
 * (max_line): "--" boundary "--" must fit (a delimiter line over max_line
 * holds the close delimiter 4 bytes longer than the boundary).  One byte more and the
 * multipart is an opaque leaf (defect NO_BOUNDARY), not a crash or an
 * unbounded candidate line. */
START_TEST(boundary_up_to_max_line)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	size_t lens[] = { 4092, 4093 }, k;

	o.max_line = 4096;
	for (k = 0; k < 2; k++) {
		size_t bl = lens[k], cap = 3 * bl + 200, n;
		char *b = malloc(bl + 1), *in = malloc(cap), *s;
		run_opts ro = { 0 };
		int st;

		memset(b, 'q', bl);
		b[bl] = 0;
		/* the parameter in two RFC 2231 sections: a header line of
		 * its own would pass max_line first */
		n = (size_t)snprintf(in, cap,
				     "Content-Type: multipart/mixed;\n boundary*0=\"%.2000s\";\n"
				     " boundary*1=\"%s\"\n\n--%s\n\none\n--%s--\n",
				     b, b + 2000, b, b);
		ck_assert_uint_lt(n, cap);
		ro.opts = &o;
		s = run_log(in, n, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		if (k == 0) {
			ck_assert_ptr_nonnull(strstr(s, "B one|PE [1]"));
			ck_assert_ptr_null(strstr(s, "D4@"));
		} else {
			ck_assert_ptr_nonnull(strstr(s, "D4@"));
			/* one opaque leaf holding the whole body */
			ck_assert_ptr_null(strstr(s, "B one|PE"));
			ck_assert_ptr_nonnull(strstr(s, "PE [1] f=34 "));
		}
		free(s);
		/* the same in 7-byte pieces */
		ro.chunk = 7;
		s = run_log(in, n, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		ck_assert(k == 0 ? strstr(s, "B one|PE [1]") != NULL : strstr(s, "D4@") != NULL);
		free(s);
		free(in);
		free(b);
	}
}
END_TEST

/* The bytes of a line examined for a delimiter depend only on the
 * multiparts open around it: after a multipart with a 2,000-character
 * boundary closes, a delimiter line of the outer one with 1,500 bytes of
 * padding and then junk reads as it did before (its first 1,024 bytes
 * decide), as src/write/to7bit.c assumes. */
START_TEST(boundary_window_follows_open_multiparts)
{
	size_t cap = 8000, n;
	char *b = malloc(2001), *pad = malloc(1501), *in = malloc(cap), *s;

	memset(b, 'q', 2000);
	b[2000] = 0;
	memset(pad, ' ', 1500);
	pad[1500] = 0;
	n = (size_t)snprintf(in, cap,
			     "Content-Type: multipart/mixed; boundary=outer\n\n"
			     "--outer\nContent-Type: multipart/mixed; boundary=\"%s\"\n\n"
			     "--%s\n\ninner\n--%s--\n"
			     "--outer%sx\n\nafter\n--outer--\n", b, b, b, pad);
	ck_assert_uint_lt(n, cap);
	s = check_splits_n(in, n, 0, NULL);
	ck_assert_ptr_nonnull(strstr(s, "B inner|PE [1.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B after|PE [2]"));
	free(s);
	free(in);
	free(pad);
	free(b);
}
END_TEST

START_TEST(missing_close_at_eof)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\n\nhello\n--XX\nContent-Transfer-Encoding: base64\n\nAAAA\nAA\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "B \\x00\\x00\\x00\\x00|PE [2] f=4"));
	ck_assert_ptr_nonnull(strstr(s, "D2@"));
	ck_assert_ptr_nonnull(strstr(s, "PE [] f=19"));   /* MULTIPART|TRUNCATED|ROOT */
	free(s);
}
END_TEST

START_TEST(body_without_blank_line)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\nthis is text\nmore\n--XX--\n";

	expect_has(in, 0, "PB [1] d1 @49|D1@49|HE text/plain cs=us-ascii cte=0 b=- f=4 @49|"
		   "B this is text\\nmore|PE [1]");
}
END_TEST

START_TEST(empty_parts)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\n--XX\n\n--XX--";

	/* issue 15 class 1: the second delimiter right after the first is
	 * skipped (no empty part between them, as GMime and Python read
	 * it); part 1 is an empty header block and an empty body and keeps
	 * the header_offset of the skipped line */
	expect_has(in, 0, "PB [1] d1 @49|D12@49|HE text/plain cs=us-ascii cte=0 b=- f=4 @55|"
		   "PE [1] f=4 end@55 size=0|PE [] f=11");
	/* a delimiter right before the close delimiter still ends an empty
	 * part (Python reads it so too) */
	expect_has("Content-Type: multipart/mixed; boundary=XX\n\n--XX\n--XX--\n", 0,
		   "PB [1] d1 @49|HE text/plain cs=us-ascii cte=0 b=- f=4 @49|PE [1]");
	/* MIMEO_PARSE_EMPTY_PARTS (Dovecot's reading): the repeated
	 * delimiter ends an empty part 1, and part 2 follows; no defect */
	{
		char *s = check_splits(in, MIMEO_PARSE_EMPTY_PARTS);

		ck_assert_ptr_nonnull(strstr(s, "PB [1] d1 @49|HE text/plain cs=us-ascii cte=0 b=- "
					     "f=4 @49|PE [1] f=4 end@49 size=0|"
					     "PB [2] d1 @54|HE text/plain cs=us-ascii cte=0 b=- "
					     "f=4 @55|PE [2] f=4 end@55 size=0|PE [] f=11"));
		ck_assert_ptr_null(strstr(s, "D12@"));
		free(s);
	}
}
END_TEST

START_TEST(duplicate_content_type)
{
	const char *in =
		"Content-Type: text/html\nContent-Type: image/png\n"
		"Content-Transfer-Encoding: base64\nContent-Transfer-Encoding: 7bit\n\nQUJD\n";

	expect_has(in, 0, "D3@");
	expect_has(in, 0, "HE text/html cs=- cte=4");
	expect_has(in, 0, "B ABC|");
}
END_TEST

START_TEST(digest_default)
{
	const char *in =
		"Content-Type: multipart/digest; boundary=XX\n\n"
		"--XX\n\nSubject: inner\n\nbody\n--XX--\n";

	expect_has(in, 0, "PB [1] d1 @50|HE message/rfc822 cs=- cte=0 b=- f=2 @51|"
		   "PB [1] d2 @51|H Subject=inner|HE text/plain cs=us-ascii cte=0 b=- f=14 @67|"
		   "B body|PE [1.1] f=14");
}
END_TEST

START_TEST(rfc822_nested_multipart)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=o\n\n"
		"--o\n\ntext\n"
		"--o\nContent-Type: message/rfc822\n\n"
		"Subject: in\nContent-Type: multipart/mixed; boundary=i\n\n"
		"--i\n\nA\n--i\n\nB\n--i--\n"
		"--o--\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "PB [2] d1"));
	ck_assert_ptr_nonnull(strstr(s, "PB [2] d2"));      /* root of the message */
	ck_assert_ptr_nonnull(strstr(s, "B A|PE [2.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B B|PE [2.2]"));
	ck_assert_ptr_null(strstr(s, "D2@"));
	free(s);
}
END_TEST

START_TEST(rfc822_base64)
{
	/* a gateway base64-encoded the message/rfc822: decode, then parse */
	const char *in =
		"Subject: x\nContent-Type: multipart/mixed; boundary=XX\n\n"
		"--XX\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		"U3ViamVjdDogaW5uZXIKCmJvZHkK\n--XX--\n";

	expect_has(in, 0, "HE message/rfc822 cs=- cte=4 b=- f=2 @");
	expect_has(in, 0, "PB [1] d2 @0|H Subject=inner|HE text/plain cs=us-ascii cte=0 b=- "
		   "f=54 @16|B body\\n|PE [1.1] f=54 end@21 size=5|PE [1] f=2");
	/* the same under NO_DECODE: structure still known */
	expect_has(in, MIMEO_PARSE_NO_DECODE, "H Subject=inner|");
}
END_TEST

START_TEST(rfc822_qp_multipart)
{
	const char *in =
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n"
		"Content-Type: multipart/mixed; boundary=3D\"zz\"\n\n--zz\n\nA=3DB\n--zz--\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "HE multipart/mixed cs=- cte=0 b=zz f=51"));
	ck_assert_ptr_nonnull(strstr(s, "B A=B|PE [1.1] f=44"));
	free(s);
}
END_TEST

START_TEST(rfc822_cut_by_boundary)
{
	/* the message/rfc822 part has no body at all: its root still gets
	 * part_begin, headers_end and part_end */
	expect_has("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
		   "Content-Type: message/rfc822\n--a--\n", 0,
		   "HE message/rfc822 cs=- cte=0 b=- f=2 @76|PB [1] d2 @76|"
		   "HE text/plain cs=us-ascii cte=0 b=- f=1c @76|PE [1.1] f=1c end@76 size=0|"
		   "PE [1] f=2 end@76");
}
END_TEST

START_TEST(partial_stays_leaf)
{
	expect_has("Content-Type: message/partial; id=\"x\"; number=1\n\nSubject: a\n\nb\n", 0,
		   "HE message/partial cs=- cte=0 b=- f=14");
	expect_has("Content-Type: message/external-body; access-type=x\n\nSubject: a\n\nb\n", 0,
		   "B Subject: a\\n\\nb\\n|");
}
END_TEST

START_TEST(section_numbering)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=a\n\n"
		"--a\n\none\n"
		"--a\nContent-Type: multipart/alternative; boundary=b\n\n"
		"--b\n\n2.1\n--b\n\n2.2\n--b--\n"
		"--a\nContent-Type: message/rfc822\n\nSubject: s\n\nsingle\n"
		"--a--\n";
	char *s = check_splits(in, 0);

	ck_assert_ptr_nonnull(strstr(s, "B 2.1|PE [2.1]"));
	ck_assert_ptr_nonnull(strstr(s, "B 2.2|PE [2.2]"));
	ck_assert_ptr_nonnull(strstr(s, "PB [3] d1"));
	ck_assert_ptr_nonnull(strstr(s, "PB [3] d2"));
	free(s);
}
END_TEST

START_TEST(transfer_decoding)
{
	expect_has("Content-Transfer-Encoding: quoted-printable\n\nabc=3D=\ndef =20\n", 0,
		   "B abc=def  \\n|");
	expect_has("Content-Transfer-Encoding: base64\n\nSGVsbG8=\n", 0, "B Hello|");
	expect_has("Content-Transfer-Encoding: base64\n\nSGVsbG8=\n", MIMEO_PARSE_NO_DECODE,
		   "B SGVsbG8=\\n|");
	expect_has("Content-Transfer-Encoding: x-weird\n\nraw\n", 0, "D6@");
}
END_TEST

START_TEST(bare_cr_and_mixed)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=XX\r\n\n"
		"--XX\r\n\na\rb\r\n--XX\n\nc\r\r\n--XX--\r";

	expect_has(in, 0, "B a\\rb|PE [1]");
	expect_has(in, 0, "B c\\r|PE [2]");
}
END_TEST

START_TEST(leading_from_line)
{
	expect_has("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", 0,
		   "D7@0|H Subject=x|");
}
END_TEST

/* A message/rfc822 body that starts with an mbox envelope line (From_ or
 * mboxrd-quoted >From_), as forwarding a message out of a mailbox leaves
 * it: the line is skipped (defect 7) and the headers are the message's. */
START_TEST(encapsulated_from_line)
{
	const char *plain =
		"Content-Type: multipart/mixed; boundary=o\n\n"
		"--o\nContent-Type: message/rfc822\n\n"
		"From someone@example.org Mon Jan  1 00:00:00 2024\n"
		"Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n"
		"--i\n\nA\n--i--\n--o--\n";
	const char *quoted =
		"Content-Type: message/rfc822\n\n"
		">From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: inner\n\nbody\n";
	/* the same, base64-encoded by a gateway: "From a@b Mon Jan  1 00:00:00
	 * 2024\nSubject: inner\n\nbody\n" */
	const char *encoded =
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		"RnJvbSBhQGIgTW9uIEphbiAgMSAwMDowMDowMCAyMDI0ClN1YmplY3Q6IGlubmVyCgpib2R5Cg==\n";

	expect_has(plain, 0, "HE message/rfc822 cs=- cte=0 b=- f=2 @77|PB [1] d2 @77|D7@77|"
		   "H Subject=inner|H Content-Type=multipart/alternative; boundary=i|"
		   "HE multipart/alternative cs=- cte=0 b=i f=11");
	expect_has(plain, 0, "B A|PE [1.1] f=4");
	expect_has(quoted, 0, "PB [1] d1 @30|D7@30|H Subject=inner|HE text/plain cs=us-ascii "
		   "cte=0 b=- f=14 @97|B body\\n|PE [1.1]");
	expect_has(encoded, 0, "PB [1] d1 @34|D7@0|H Subject=inner|HE text/plain");
	expect_has(encoded, 0, "B body\\n|PE [1.1] f=54 end@55 size=5|");
	/* a header field "From" in the obsolete syntax is not an envelope */
	expect_has("Content-Type: message/rfc822\n\nFrom : a@b\n\nx\n", 0,
		   "PB [1] d1 @30|H From=a@b|HE text/plain");
	/* only the first line: a From_ line among the headers ends them */
	expect_has("Content-Type: message/rfc822\n\nSubject: s\nFrom a@b Mon Jan  1 00:00:00 2024\n"
		   "\nx\n", 0, "D1@41|H Subject=s|HE text/plain cs=us-ascii cte=0 b=- f=14 @41|B From a@b");
}
END_TEST

/* The top-level message too: a leading From_ / >From_ line is skipped
 * with a defect, but not a "From :" field nor an mbox separator. */
START_TEST(leading_envelope_lines)
{
	expect_has(">From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", 0,
		   "MB@0 d0|PB [] d0 @35|D7@0|H Subject=x|");
	expect_has("From : a@b\nSubject: x\n\nb\n", 0, "MB@0 d0|PB [] d0 @0|H From=a@b|H Subject=x|");
	expect("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", MIMEO_PARSE_MBOX,
	       "MB@0 d0|PB [] d0 @34|H Subject=x|HE text/plain cs=us-ascii cte=0 b=- f=14 @46|"
	       "B b\\n|PE [1] f=14 end@48 size=2|ME|");
}
END_TEST

START_TEST(empty_input)
{
	expect("", 0, "MB@0 d0|PB [] d0 @0|D8@0|HE text/plain cs=us-ascii cte=0 b=- f=1c @0|"
	       "PE [1] f=1c end@0 size=0|ME|");
	expect("", MIMEO_PARSE_MBOX, "");
}
END_TEST

/* Lines that start like a delimiter, a From_ line or a quoted one but are
 * none (issue 16: the body scan passes over them without holding them,
 * plain_line): every one stays in the body as it was, and the real ones
 * next to them still count, for every chunking (a chunk that ends after
 * the first byte of a line leaves it to the usual path). */
START_TEST(plain_lines_passed_over)
{
	const char *in =
		"From a@b Mon Jan  1 00:00:00 2024\n"
		"Content-Type: multipart/mixed; boundary=XX\n\n--XX\n\n"
		"> quoted\n>From one\n>>From two\n> From three\n>F\n>\n"
		"For the record\nFrom the top 10:00\n\nFresh\n\nFrom here\n"
		"-- \n-x\n-\n--XXnot\n--XX\n\nsecond\r\nF\r\n\r\nFoo\r\n--XX--\n\n"
		"From c@d Mon Jan  1 00:00:00 2024\r\nSubject: two\r\n\r\nbody\r\n>\r\n\r\n"
		"From e@f Mon Jan  1 00:00:00 2024\r\n\r\nlast\r\n";
	char *s = check_splits(in, MIMEO_PARSE_MBOX);

	if (!strstr(s, "B > quoted\\nFrom one\\n>From two\\n> From three\\n>F\\n>\\n"
		       "For the record\\nFrom the top 10:00\\n\\nFresh\\n\\nFrom here\\n"
		       "-- \\n-x\\n-\\n--XXnot|PE [1]") ||
	    !strstr(s, "B second\\r\\nF\\r\\n\\r\\nFoo|PE [2]") ||
	    !strstr(s, "H Subject=two|") || !strstr(s, "B body\\r\\n>\\r\\n|") ||
	    !strstr(s, "B last\\r\\n|"))
		ck_abort_msg("log:\n%s", s);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* base64 lines taken by the decoder (issue 16)                        */
/* ------------------------------------------------------------------ */

/* Append n base64 characters of random data (len a multiple of 4 gives
 * whole quanta), starting with `first` when it is not 0. */
static void b64_chars(mimeo_buf *b, uint64_t *rs, size_t n, char first)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < n; i++) {
		char c = i == 0 && first ? first : a[test_rand(rs) % 64];

		ck_assert_int_eq(mimeo_buf_put(b, &c, 1), MIMEO_OK);
	}
}

/* `lines` lines of `width` characters ended by `eol`; every 7th starts
 * with 'F' (a possible From_ line start in an mbox). */
static void b64_block(mimeo_buf *b, uint64_t *rs, size_t lines, size_t width, const char *eol)
{
	size_t k;

	for (k = 0; k < lines; k++) {
		b64_chars(b, rs, width, k % 7 == 3 ? 'F' : 0);
		put_buf(b, eol);
	}
}

/*
 * Bodies of every shape next to the usual one, in one mbox: the parser
 * lets the base64 decoder take lines of the usual shape without scanning
 * them (b64_lines), then scans the line that stopped it.  The events must
 * be those of the scalar path (which scans every line), for every feed
 * size large enough to take that path, with pauses, on every ISA.
 */
static void b64_mailbox(mimeo_buf *b, uint64_t seed)
{
	static const char *const tails[] = {
		/* padding, blank line, close delimiter */
		"QUJD==\n\n--B--\n",
		/* delimiter straight after a line of the usual shape */
		"--B--\n",
		/* a delimiter with CRLF, and a near miss before it */
		"--Bx\r\n--B--\r\n",
		/* '=' in mid-body (a padded end), then more lines */
		"QQ==\nQUJDRA==\n" "AAAA\n--B--\n",
		/* garbage, a space, trailing whitespace, a bare CR */
		"AB-CD\nQU JD\nQUJD \nQUJD\rQUJD\n--B--\n",
		/* a >From line and a From_ line after a blank line: a new message */
		">From x\n\nFrom a@b Mon Jan  1 00:00:00 2024\nSubject: cut\n\nrest\n",
		/* a short line then more of the usual shape */
		"QUJD\n",
	};
	uint64_t rs = seed;
	size_t t, w;

	for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
		const char *eol = t == 2 ? "\r\n" : "\n";

		put_buf(b, "From a@b Mon Jan  1 00:00:00 2024\n");
		put_buf(b, "Subject: b64\nContent-Type: multipart/mixed; boundary=B\n\n--B\n");
		put_buf(b, "Content-Transfer-Encoding: base64\n\n");
		/* the usual shape, then the same data in other widths */
		b64_block(b, &rs, 40 + t * 13, 76, eol);
		w = t == 4 ? 92 : t == 5 ? 96 : 72;
		b64_block(b, &rs, 9, w, eol);
		b64_block(b, &rs, 30, 76, eol);
		if (t == 6) {
			/* a width that is no multiple of 4, and a long body
			 * (more than one 64 KiB piece) */
			b64_block(b, &rs, 5, 75, eol);
			b64_block(b, &rs, 1200, 76, eol);
		}
		put_buf(b, tails[t]);
		if (t == 6)
			b64_block(b, &rs, 20, 76, eol);
		if (t == 6 || t == 3)
			put_buf(b, "--B--\n");
		put_buf(b, "\n");
	}
	/* a single-part message whose body ends without a line break */
	put_buf(b, "From a@b Mon Jan  1 00:00:00 2024\nContent-Transfer-Encoding: base64\n\n");
	b64_block(b, &rs, 20, 76, "\n");
	b64_chars(b, &rs, 30, 0);
}

/* Fail with the first difference of two logs (whole logs are too long for
 * a Check message). */
static void b64_same(const char *s, const char *ref, const char *what, int isa, size_t arg)
{
	size_t i = 0;

	while (s[i] && s[i] == ref[i])
		i++;
	if (s[i] || ref[i])
		ck_abort_msg("ISA %d, %s %zu differs at byte %zu: \"%.60s\" vs scalar \"%.60s\"",
			     isa, what, arg, i, s + (i > 20 ? i - 20 : 0),
			     ref + (i > 20 ? i - 20 : 0));
}

static char *b64_run(const mimeo_buf *in, mimeo_isa isa, size_t chunk, uint64_t seed,
		     size_t max_chunk, int pause_every)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	run_opts ro = { 0 };
	int st;
	char *s;

	o.isa = isa;
	ro.flags = MIMEO_PARSE_MBOX;
	ro.opts = &o;
	ro.chunk = chunk;
	ro.seed = seed;
	ro.max_chunk = max_chunk;
	ro.pause_every = pause_every;
	s = run_log(in->ptr, in->size, &ro, &st, NULL);
	ck_assert_int_eq(st, MIMEO_OK);
	return s;
}

START_TEST(base64_lines_untouched)
{
	static const size_t chunks[] = { 0, 255, 256, 257, 300, 333, 1000, 4096, 70000 };
	mimeo_buf in = MIMEO_BUF_INIT;
	char *ref, *s;
	size_t k;
	int isa, i;

	b64_mailbox(&in, 16);
	ref = b64_run(&in, MIMEO_ISA_SCALAR, 0, 0, 0, 0);
	/* the mailbox holds what the test is about */
	ck_assert_ptr_nonnull(strstr(ref, "H Subject=cut|"));
	ck_assert_ptr_nonnull(strstr(ref, "D"));
	for (isa = MIMEO_ISA_SCALAR; isa <= MIMEO_ISA_AVX512; isa++) {
		for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			s = b64_run(&in, (mimeo_isa)isa, chunks[k], 0, 0, 0);
			b64_same(s, ref, "chunk", isa, chunks[k]);
			free(s);
		}
		for (i = 1; i <= 6; i++) {
			s = b64_run(&in, (mimeo_isa)isa, 0, (uint64_t)i * 104729, 3000, 0);
			b64_same(s, ref, "random chunking", isa, (size_t)i);
			free(s);
		}
		/* a pause after every callback and every other one, also
		 * inside the lines the decoder takes */
		for (i = 1; i <= 2; i++) {
			s = b64_run(&in, (mimeo_isa)isa, 4096, 0, 0, i);
			b64_same(s, ref, "pause every", isa, (size_t)i);
			free(s);
		}
	}
	free(ref);
	mimeo_buf_dispose(&in);
}
END_TEST

/* ------------------------------------------------------------------ */
/* mbox                                                                */
/* ------------------------------------------------------------------ */

START_TEST(mbox_split)
{
	const char *in =
		"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nline1\n>From quoted\n"
		">>From twice\n\n"
		"From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody2\n";

	expect(in, MIMEO_PARSE_MBOX,
	       "MB@0 d0|PB [] d0 @34|H Subject=one|HE text/plain cs=us-ascii cte=0 b=- f=14 @48|"
	       "B line1\\nFrom quoted\\n>From twice\\n|PE [1] f=14 end@80 size=30|ME|"
	       "MB@81 d0|PB [] d0 @115|H Subject=two|HE text/plain cs=us-ascii cte=0 b=- f=14 "
	       "@129|B body2\\n|PE [1] f=14 end@135 size=6|ME|");
}
END_TEST

START_TEST(mbox_unescaped_from)
{
	/* "From " without a blank line before, or without a date: body text */
	const char *in =
		"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nline1\nFrom here on\nline3\n\n"
		"From here on unescaped\n\n"
		"From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody2\n";
	char *s = check_splits(in, MIMEO_PARSE_MBOX);

	ck_assert_ptr_nonnull(strstr(s, "B line1\\nFrom here on\\nline3\\n\\nFrom here on unescaped\\n|"));
	ck_assert_ptr_nonnull(strstr(s, "H Subject=two|"));
	ck_assert_ptr_nonnull(strstr(s, "B body2\\n|"));
	free(s);
}
END_TEST

START_TEST(mbox_multipart_split)
{
	/* a new message closes an unterminated multipart */
	const char *in =
		"From a@b Mon Jan  1 00:00:00 2024\n"
		"Content-Type: multipart/mixed; boundary=XX\n\n--XX\n\nA\n\n"
		"From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nB\n";
	char *s = check_splits(in, MIMEO_PARSE_MBOX);

	ck_assert_ptr_nonnull(strstr(s, "B A\\n|PE [1]"));
	ck_assert_ptr_nonnull(strstr(s, "D2@"));
	ck_assert_ptr_nonnull(strstr(s, "ME|MB@"));
	ck_assert_ptr_nonnull(strstr(s, "B B\\n|"));
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* edge files, malformed input, limits                                 */
/* ------------------------------------------------------------------ */

static const char *edge_dir(void)
{
	static char path[4096];
	const char *c = test_shared_corpus();

	if (!c)
		return NULL;
	snprintf(path, sizeof(path), "%s/../bench/edge", c);
	return path;
}

static char *edge_log(const char *name, unsigned flags)
{
	char path[4200];
	size_t len;
	char *data, *s;

	snprintf(path, sizeof(path), "%s/%s", edge_dir(), name);
	data = test_read_file(path, &len);
	if (!data)
		return NULL;
	s = check_splits_n(data, len, flags, NULL);
	free(data);
	return s;
}

START_TEST(edge_files)
{
	char *s;

	if (!edge_dir() || !(s = edge_log("crlf.eml", 0)))
		return;
	ck_assert_ptr_nonnull(strstr(s, "B hello|"));
	free(s);
	s = edge_log("b64rfc822.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "H Subject=inner|"));
	ck_assert_ptr_nonnull(strstr(s, "B body\\n|"));
	free(s);
	s = edge_log("digest.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "HE message/rfc822"));
	free(s);
	s = edge_log("noclose.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "B \\x00\\x00\\x00\\x00|"));
	free(s);
	s = edge_log("nonl.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "B no final newline|"));
	free(s);
	s = edge_log("qp.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "cs=x-unknown"));
	free(s);
	s = edge_log("badb64.eml", 0);
	ck_assert_ptr_nonnull(strstr(s, "B Hello wor"));
	free(s);
	s = edge_log("unescaped.mbox", MIMEO_PARSE_MBOX);
	ck_assert_ptr_nonnull(strstr(s, "From here on unescaped\\nline3"));
	ck_assert_ptr_nonnull(strstr(s, "B body2\\n|"));
	free(s);
	s = edge_log("unescaped2.mbox", MIMEO_PARSE_MBOX);
	ck_assert_ptr_nonnull(strstr(s, "From here on unescaped\\nline3"));
	ck_assert_ptr_nonnull(strstr(s, "B body2\\n|"));
	free(s);
}
END_TEST

static const char *const malformed[] = {
	"",
	"\n",
	"\r\n\r\n",
	"no colon here\n\nbody",
	"  leading continuation\nSubject: x\n\nb",
	"Subject: x",
	"Subject: x\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n",
	"Content-Type: multipart/mixed\n\n--x\n\nb\n",
	"Content-Type: multipart\n\nbody\n",
	"Content-Type: ;;;\n\nbody\n",
	"Content-Type: multipart/mixed; boundary=a\n\n--a",
	"Content-Type: multipart/mixed; boundary=a\n\n--a\n",
	"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a\n\n--a\n--a--\n--a--\n",
	"Content-Type: multipart/mixed; boundary=a\n\n--a--\n--a\n",
	"Content-Type: message/rfc822\n\n",
	"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!!\n",
	"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n",
	"Content-Transfer-Encoding: base64\n\n====\n\x01\x02\xff",
	"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n#86)C\n`\nend\n",
	"\x00\x01\x02\x03\xff\xfe\n\n\n--\r\r\r",
	"From \n\nFrom x\n",
	"Content-Type: multipart/mixed; boundary=a\n\n--a\r\r\r\n\r\n--a--\r",
	"Content-Type: text/plain; charset=\"=?utf-8?q?x?=\"\n\nx",
	"Content-Type: multipart/digest; boundary=d\n\n--d\n\n--d\nContent-Type: multipart/mixed; boundary=e\n\n--e\n--d--\n",
};

START_TEST(malformed_table)
{
	unsigned flags[] = { 0, MIMEO_PARSE_MBOX, MIMEO_PARSE_NO_DECODE | MIMEO_PARSE_PREAMBLE };
	size_t i, k;

	for (i = 0; i < sizeof(malformed) / sizeof(*malformed); i++)
		for (k = 0; k < 3; k++) {
			const char *in = malformed[i];
			size_t len = strlen(in);

			if (i == 19)
				len = 15;
			free(check_splits_n(in, len, flags[k], NULL));
		}
}
END_TEST

/* Parse `in` under `o`: every chunking, pause pattern and ISA must give
 * the same events (check_splits_n), and the limits hit must be exactly
 * `want`.  Returns the log (body data left out with `no_data`). */
static char *limit_log(const mimeo_buf *in, const mimeo_parser_options *o, int no_data,
		       unsigned want)
{
	run_opts ro = { 0 };
	unsigned lim;
	int st;
	char *s;

	ro.opts = o;
	ro.no_data = no_data;
	s = run_log(in->ptr, in->size, &ro, &st, &lim);
	ck_assert_int_eq(st, MIMEO_OK);
	ck_assert_uint_eq(lim, want);
	free(check_splits_n(in->ptr, in->size, 0, o));
	return s;
}

/* in = pre, n bytes c, post */
static void fill_input(mimeo_buf *in, const char *pre, int c, size_t n, const char *post)
{
	ck_assert_int_eq(mimeo_buf_puts(in, pre), 0);
	ck_assert_int_eq(mimeo_buf_grow(in, n), 0);
	memset(in->ptr + in->size, c, n);
	in->size += n;
	ck_assert_int_eq(mimeo_buf_puts(in, post), 0);
}

START_TEST(limit_depth)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	int i;
	char *s;

	for (i = 0; i < 10; i++) {
		char tmp[128];

		snprintf(tmp, sizeof(tmp),
			 "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
		ck_assert_int_eq(mimeo_buf_puts(&in, tmp), 0);
	}
	ck_assert_int_eq(mimeo_buf_puts(&in, "\ndeep\n"), 0);
	o.max_depth = 4;
	s = limit_log(&in, &o, 0, MIMEO_LIMIT_DEPTH);
	ck_assert_ptr_nonnull(strstr(s, "PB [1.1.1.1] d4"));
	ck_assert_ptr_null(strstr(s, "d5"));
	ck_assert_ptr_nonnull(strstr(s, "f=24"));   /* LEAF|OPAQUE */
	free(s);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(limit_headers)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	int i;
	char *s;

	for (i = 0; i < 20; i++)
		ck_assert_int_eq(mimeo_buf_puts(&in, "X-H: value\n"), 0);
	ck_assert_int_eq(mimeo_buf_puts(&in, "Content-Type: text/html\n X-H: continued\n"
					   "\nbody\n"), 0);
	o.max_headers = 5;
	s = limit_log(&in, &o, 0, MIMEO_LIMIT_HEADERS);
	/* issue 15 class 7: the header is read to its real end; the fields
	 * past the limit are dropped except the first Content-Type, which
	 * still gives the part its type; nothing of the header is body */
	ck_assert_ptr_nonnull(strstr(s, "D5@55|H X-H=value|H Content-Type=text/html\\n X-H: "
					"continued|HE text/html"));
	ck_assert_ptr_nonnull(strstr(s, "|B body\\n|"));
	ck_assert_ptr_null(strstr(s, "B X-H"));
	free(s);
	o.max_headers = 0;
	o.max_header_bytes = 30;
	free(limit_log(&in, &o, 0, MIMEO_LIMIT_HEADER_BYTES));
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(limit_line)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	char *s;

	fill_input(&in, "Subject: ", 'a', 5000, "\nX: y\n\nbody\n");
	o.max_line = 100;   /* raised to the minimum, 2048 */
	s = limit_log(&in, &o, 1, MIMEO_LIMIT_LINE);
	ck_assert_ptr_nonnull(strstr(s, "H X=y|"));
	ck_assert_ptr_nonnull(strstr(s, "D5@2048|"));
	free(s);
	mimeo_buf_dispose(&in);
}
END_TEST

/* A field longer than the header block budget is kept, truncated (it used
 * to become body); the fields after it are dropped up to the real end of
 * the header (issue 15 class 7: they used to become body text). */
START_TEST(limit_huge_field)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	char *s;

	fill_input(&in, "From: a\nSubject: ", 'b', 100000, "\nX: y\n\nbody\n");
	o.max_header_bytes = 10000;
	s = limit_log(&in, &o, 1, MIMEO_LIMIT_HEADER_BYTES);
	ck_assert_ptr_nonnull(strstr(s, "D5@9999|H From=a|D5@"));
	ck_assert_ptr_nonnull(strstr(s, "|H Subject=bbbb"));
	ck_assert_ptr_null(strstr(s, "H X=y"));
	ck_assert_ptr_nonnull(strstr(s, " size=5|ME|"));  /* "body\n" */
	free(s);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(limit_parts)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	int i;
	char *s;

	ck_assert_int_eq(mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=b\n\n"), 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(mimeo_buf_puts(&in, "--b\n\nx\n"), 0);
	ck_assert_int_eq(mimeo_buf_puts(&in, "--b--\n"), 0);
	o.max_parts = 4;
	s = limit_log(&in, &o, 0, MIMEO_LIMIT_PARTS);
	ck_assert_ptr_nonnull(strstr(s, "PB [3]"));
	ck_assert_ptr_null(strstr(s, "PB [4]"));
	/* issue 15 class 7: the refused delimiter ends the multipart; the
	 * rest is epilogue, not raw MIME in the body of part 3 */
	ck_assert_ptr_nonnull(strstr(s, "|B x|D5@64|PE [3] f=4 end@63 size=1|PE []"));
	ck_assert_ptr_null(strstr(s, "B x\\n--b"));
	free(s);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(overlong_boundary_line)
{
	mimeo_buf in = MIMEO_BUF_INIT;
	char *s;

	/* delimiter lines padded beyond the 1024 bytes examined: both
	 * delimit, the second although it ends in "x" */
	fill_input(&in, "Content-Type: multipart/mixed; boundary=b\n\n--b", ' ', 3000, "\n\nA\n--b");
	fill_input(&in, "", ' ', 3000, "x\nB\n--b--\n");
	s = check_splits_n(in.ptr, in.size, 0, NULL);
	ck_assert_ptr_nonnull(strstr(s, "B A|PE [1]"));
	ck_assert_ptr_nonnull(strstr(s, "B B|PE [2]"));
	free(s);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(abort_and_sticky_error)
{
	const char *in = "Subject: a\n\nbody\n";
	mimeo_parser *p;
	logger lg;
	const char *reason;

	memset(&lg, 0, sizeof(lg));
	lg.abort_at = 3;
	ck_assert_int_eq(mimeo_parser_new(&p, NULL, &log_cb, &lg), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, in, strlen(in)), MIMEO_EUSER);
	ck_assert_int_eq(mimeo_parser_feed(p, in, 1), MIMEO_EUSER);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_EUSER);
	ck_assert_int_eq(mimeo_parser_error(p, &reason, NULL), MIMEO_EUSER);
	ck_assert_ptr_nonnull(reason);
	ck_assert_int_eq(mimeo_parser_reset(p), MIMEO_OK);
	lg.abort_at = 0;
	ck_assert_int_eq(mimeo_parser_feed(p, in, strlen(in)), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, in, 1), MIMEO_EINVAL);
	mimeo_parser_free(p);
	mimeo_buf_dispose(&lg.out);
}
END_TEST

START_TEST(bad_arguments)
{
	mimeo_parser *p = NULL;
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser_callbacks cb = log_cb;

	ck_assert_int_eq(mimeo_parser_new(NULL, NULL, NULL, NULL), MIMEO_EINVAL);
	o.version = 99;
	ck_assert_int_eq(mimeo_parser_new(&p, &o, NULL, NULL), MIMEO_EINVAL);
	cb.version = 99;
	ck_assert_int_eq(mimeo_parser_new(&p, NULL, &cb, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_parser_new(&p, NULL, NULL, NULL), MIMEO_OK);
	/* NULL with no length is an empty feed */
	ck_assert_int_eq(mimeo_parser_feed(p, NULL, 0), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, "xy", 2), MIMEO_OK);
	/* NULL with a length: a sticky error with a reason and the offset of
	 * the bytes that never came (issue 14: it left no reason and the
	 * parser went on as if nothing had been lost) */
	ck_assert_int_eq(mimeo_parser_feed(p, NULL, 3), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_parser_feed(p, "x", 1), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_EINVAL);
	{
		const char *reason = NULL;
		uint64_t off = 99;

		ck_assert_int_eq(mimeo_parser_error(p, &reason, &off), MIMEO_EINVAL);
		ck_assert_str_eq(reason, "NULL data with a non-zero length");
		ck_assert_uint_eq(off, 2);
	}
	ck_assert_int_eq(mimeo_parser_reset(p), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, "x", 1), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(NULL, "x", 1), MIMEO_EINVAL);
	mimeo_parser_free(p);
	mimeo_parser_free(NULL);
}
END_TEST

START_TEST(failing_allocator)
{
	const char *in =
		"Content-Type: multipart/mixed; boundary=o\n\n--o\n"
		"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		"Q29udGVudC1UeXBlOiBtdWx0aXBhcnQvbWl4ZWQ7IGJvdW5kYXJ5PWkKCi0taQoKQQotLWktLQo=\n"
		"--o\nContent-Type: text/plain; charset=utf-8; name*=utf-8''%C3%A9\n\nx\n--o--\n";
	unsigned long n;
	int ok = 0;

	for (n = 1; n < 400 && !ok; n++) {
		test_failing_alloc fa;
		mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
		mimeo_parser *p = NULL;
		int rc;

		test_failing_alloc_init(&fa, n);
		o.alloc = &fa.alloc;
		rc = mimeo_parser_new(&p, &o, NULL, NULL);
		if (rc == MIMEO_OK) {
			size_t i;

			for (i = 0; i < strlen(in) && rc == MIMEO_OK; i += 5)
				rc = mimeo_parser_feed(p, in + i, strlen(in) - i < 5 ? strlen(in) - i : 5);
			if (rc == MIMEO_OK)
				rc = mimeo_parser_finish(p);
			mimeo_parser_free(p);
		}
		if (rc != MIMEO_OK && rc != MIMEO_ENOMEM)
			ck_abort_msg("allocation %lu: status %d", n, rc);
		ck_assert_int_eq(fa.live, 0);
		if (rc == MIMEO_OK && !fa.failed)
			ok = 1;
	}
	ck_assert(ok);
}
END_TEST

/* ------------------------------------------------------------------ */
/* shared corpus                                                       */
/* ------------------------------------------------------------------ */

typedef struct sections {
	mimeo_buf s;
} sections;

static int sec_begin(const mimeo_part_info *pi, void *u)
{
	sections *sc = u;

	if (mimeo_buf_puts(&sc->s, pi->section) || mimeo_buf_puts(&sc->s, " "))
		return -1;
	return 0;
}

static int sec_end(const mimeo_part_info *pi, void *u)
{
	sections *sc = u;
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%llu/%llu ", (unsigned long long)pi->end_offset,
		 (unsigned long long)pi->decoded_size);
	return mimeo_buf_puts(&sc->s, tmp) ? -1 : 0;
}

static char *sections_of(const char *data, size_t len, size_t chunk, unsigned flags)
{
	mimeo_parser_callbacks cb = { MIMEO_PARSER_CALLBACKS_VERSION, NULL, sec_begin, NULL, NULL,
				      NULL, NULL, NULL, sec_end, NULL, NULL };
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	sections sc = { MIMEO_BUF_INIT };
	mimeo_parser *p;
	size_t i;

	o.flags = flags;
	ck_assert_int_eq(mimeo_parser_new(&p, &o, &cb, &sc), MIMEO_OK);
	for (i = 0; i < len; i += chunk)
		ck_assert_int_eq(mimeo_parser_feed(p, data + i, len - i < chunk ? len - i : chunk),
				 MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	mimeo_parser_free(p);
	if (!sc.s.ptr)
		ck_assert_int_eq(mimeo_buf_puts(&sc.s, ""), 0);
	return mimeo_buf_detach(&sc.s);
}

/* Every file of INDEX.tsv: no crash, and the same sections, end offsets
 * and decoded sizes whether fed whole or in small pieces. */
START_TEST(shared_corpus)
{
	const char *dir = test_shared_corpus();
	char path[4200], *index, *line, *save = NULL;
	size_t ilen;
	int files = 0;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/INDEX.tsv", dir);
	index = test_read_file(path, &ilen);
	if (!index)
		return;
	for (line = strtok_r(index, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *data, *a, *b;
		size_t len;
		unsigned flags;

		if (!tab || !strncmp(line, "path\t", 5))
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		data = test_read_file(path, &len);
		if (!data)
			continue;
		flags = strstr(tab + 1, "\tmbox\t") || (len > 5 && !memcmp(data, "From ", 5))
			? MIMEO_PARSE_MBOX : 0;
		a = sections_of(data, len, len ? len : 1, flags);
		/* 1-byte feeding for small files, odd chunks for bigger ones */
		b = sections_of(data, len, len < 16384 ? 1 : len < 262144 ? 7 : 4093, flags);
		if (strcmp(a, b))
			ck_abort_msg("%s: sections differ by chunking:\n%.500s\n%.500s", line, a, b);
		free(a);
		free(b);
		free(data);
		files++;
	}
	free(index);
	ck_assert_int_gt(files, 1000);
}
END_TEST

/* The SIMD scanners agree with the scalar one on random text made of the
 * characters that matter, at every offset and length. */
START_TEST(scanner_equivalence)
{
	static const char alpha[] = "\n-F>x\r";
	char buf[700];
	uint64_t rs = 12345;
	int round;

	for (round = 0; round < 3000; round++) {
		size_t n = (size_t)(test_rand(&rs) % sizeof(buf)), i;
		unsigned mask = 1 + (unsigned)(test_rand(&rs) % 3);

		for (i = 0; i < n; i++)
			buf[i] = alpha[test_rand(&rs) % (round % 2 ? 6 : 7)];
		for (i = 0; i < n; i += 1 + (size_t)(test_rand(&rs) % 40)) {
			size_t want = mimeo__parser_scan_scalar(buf + i, n - i, mask);

			(void)want; /* unused when no SIMD scanner is built */
#if MIMEO_HAVE_AVX2
			if (mimeo_isa_available(MIMEO_ISA_AVX2))
				ck_assert_uint_eq(mimeo__parser_scan_avx2(buf + i, n - i, mask), want);
#endif
#if MIMEO_HAVE_AVX512
			if (mimeo_isa_available(MIMEO_ISA_AVX512))
				ck_assert_uint_eq(mimeo__parser_scan_avx512(buf + i, n - i, mask), want);
#endif
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* real-world conformance (issue 15): one message per class, written  */
/* for the project, in tests/data/conformance/                        */
/* ------------------------------------------------------------------ */

/* "section type/subtype; ..." of the leaves, as test_differential.c
 * compares them with GMime's. */
static char *leaf_list(const char *data, size_t len)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	mimeo_message *m;
	const mimeo_part *p;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		if (!mimeo_part_is_leaf(p))
			continue;
		if (b.size)
			put_buf(&b, "; ");
		put_buf(&b, mimeo_part_section(p));
		put_buf(&b, " ");
		put_buf(&b, mimeo_part_type(p));
		put_buf(&b, "/");
		put_buf(&b, mimeo_part_subtype(p));
	}
	mimeo_message_free(m);
	return b.ptr ? b.ptr : strdup("");
}

static const struct {
	const char *file;   /* in tests/data/conformance/ */
	const char *leaves; /* leaf list; GMime and Python agree unless noted */
	const char *has;    /* in the event log */
} conformance_cases[] = {
	/* 1: adjacent delimiter lines make no empty part */
	{ "class1-repeated-delimiter.eml", "1 text/plain; 2 text/csv; 3 text/html", "D12@" },
	/* 2: the line that ends a header block is the first body line, so a
	 * delimiter there opens the part (GMime loses the image) */
	{ "class2-delimiter-ends-header.eml", "1 text/html; 2 image/gif", "D1@" },
	{ "class2-nested-no-blank-line.eml", "1.1 text/plain", "D1@" },
	/* 2: a whitespace-only line before the first field is skipped
	 * (GMime sees no message at all) */
	{ "class2-whitespace-first-line.eml", "1 text/plain; 2 text/html",
	  "D9@0|H From=Ada <ada@example.org>" },
	/* 3: a multipart in which no delimiter is found is a leaf holding
	 * its body (Python; GMime shows the text as text/plain) */
	{ "class3-delimiter-read-as-field.eml", "1 multipart/alternative",
	  "D13@" },
	{ "class3-boundary-never-found.eml", "1 multipart/related", "D13@" },
	/* 4: base64 ends at the padded end when the next line is not base64
	 * (a list footer: 193 bytes as in GMime and Python, not 193 + the
	 * footer's letters); a block of well-formed lines after a padded
	 * end still decodes (48 bytes, the second part) */
	{ "class4-base64-footer.eml", "1 text/plain; 2 application/octet-stream",
	  "size=193|" },
	/* 5: a boundary of 2,400 characters (RFC 2046: at most 70) splits;
	 * a line lacking its last character is body text, a delimiter with
	 * transport padding is one */
	{ "class5-long-boundary.eml",
	  "1 text/plain; 2.1 text/plain; 2.2 text/html; 3 application/octet-stream",
	  "B <p>html</p>|PE [2.2]" },
	/* 6: an invalid or incomplete Content-Type is text/plain (RFC 2045
	 * 5.2; GMime says application/octet-stream, Python keeps "image/") */
	{ "class6-invalid-content-type.eml",
	  "1 text/plain; 2 text/plain; 3 text/plain; 4 text/plain",
	  "D10@" },
	/* 7: a header line over max_line (64 KiB) is cut and the header goes
	 * on: the Subject and Content-Type after it are kept */
	{ "class7-huge-header-line.eml", "1 text/plain; 2 text/html",
	  "D5@65564|H From=Ada <ada@example.org>|H X-Tracking=0123456789abcdef" },
	/* 8: 100 nested multiparts parse with the default depth (256) */
	{ "class8-deep-nesting.eml",
	  "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1 text/plain", "the innermost text" },
};

START_TEST(conformance_classes)
{
	char path[4096];
	size_t len;
	char *data, *leaves, *log;

	snprintf(path, sizeof(path), "%s/tests/data/conformance/%s", test_source_dir(),
		 conformance_cases[_i].file);
	data = test_read_file(path, &len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	leaves = leaf_list(data, len);
	ck_assert_msg(!strcmp(leaves, conformance_cases[_i].leaves), "%s: leaves\n  %s\nwant\n  %s",
		      conformance_cases[_i].file, leaves, conformance_cases[_i].leaves);
	if (len <= 16384) {
		log = check_splits_n(data, len, 0, NULL);
	} else {
		/* a large message (class 7): every chunk size from 1 to 64
		 * would take minutes under the sanitizers; whole and in
		 * pieces of 7 and 4096 bytes give the same events */
		run_opts ro = { 0 };
		size_t chunks[] = { 7, 4096 }, k;
		int st;

		log = run_log(data, len, &ro, &st, NULL);
		ck_assert_int_eq(st, MIMEO_OK);
		for (k = 0; k < 2; k++) {
			char *s2;

			ro.chunk = chunks[k];
			s2 = run_log(data, len, &ro, &st, NULL);
			ck_assert_int_eq(st, MIMEO_OK);
			ck_assert_msg(!strcmp(s2, log), "%s: chunks of %zu differ",
				      conformance_cases[_i].file, chunks[k]);
			free(s2);
		}
	}
	ck_assert_msg(strstr(log, conformance_cases[_i].has), "%s: log lacks %s:\n%.2000s",
		      conformance_cases[_i].file, conformance_cases[_i].has, log);
	free(log);
	free(leaves);
	free(data);
}
END_TEST

static Suite *parser_suite(void)
{
	Suite *s = suite_create("parser");
	TCase *t = tcase_create("core");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, scanner_equivalence);
	tcase_add_test(t, simple_message);
	tcase_add_test(t, multipart_basic);
	tcase_add_test(t, preamble_off_by_default);
	tcase_add_test(t, crlf_and_padding);
	tcase_add_test(t, boundary_not_followed_by_ws);
	tcase_add_test(t, prefix_boundaries);
	tcase_add_test(t, boundary_trailing_space);
	tcase_add_test(t, delimiter_prefix_reading);
	tcase_add_test(t, delimiter_prefix_longest);
	tcase_add_test(t, delimiter_prefix_boundary_forms);
	tcase_add_test(t, delimiter_prefix_at_eof);
	tcase_add_test(t, delimiter_prefix_nesting);
	tcase_add_test(t, rfc822_base64_as_is);
	tcase_add_test(t, boundary_up_to_max_line);
	tcase_add_test(t, boundary_window_follows_open_multiparts);
	tcase_add_test(t, missing_close_at_eof);
	tcase_add_test(t, body_without_blank_line);
	tcase_add_test(t, empty_parts);
	tcase_add_test(t, duplicate_content_type);
	tcase_add_test(t, digest_default);
	tcase_add_test(t, rfc822_nested_multipart);
	tcase_add_test(t, rfc822_base64);
	tcase_add_test(t, rfc822_qp_multipart);
	tcase_add_test(t, rfc822_cut_by_boundary);
	tcase_add_test(t, partial_stays_leaf);
	tcase_add_test(t, section_numbering);
	tcase_add_test(t, transfer_decoding);
	tcase_add_test(t, bare_cr_and_mixed);
	tcase_add_test(t, leading_from_line);
	tcase_add_test(t, encapsulated_from_line);
	tcase_add_test(t, leading_envelope_lines);
	tcase_add_test(t, empty_input);
	tcase_add_test(t, mbox_split);
	tcase_add_test(t, mbox_unescaped_from);
	tcase_add_test(t, mbox_multipart_split);
	tcase_add_test(t, base64_lines_untouched);
	tcase_add_test(t, plain_lines_passed_over);
	tcase_add_test(t, edge_files);
	tcase_add_test(t, malformed_table);
	tcase_add_test(t, limit_depth);
	tcase_add_test(t, limit_headers);
	tcase_add_test(t, limit_line);
	tcase_add_test(t, limit_huge_field);
	tcase_add_test(t, limit_parts);
	tcase_add_test(t, overlong_boundary_line);
	tcase_add_test(t, abort_and_sticky_error);
	tcase_add_test(t, bad_arguments);
	tcase_add_test(t, failing_allocator);
	suite_add_tcase(s, t);
	t = tcase_create("conformance");
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, conformance_classes, 0,
			    (int)(sizeof(conformance_cases) / sizeof(conformance_cases[0])));
	suite_add_tcase(s, t);
	t = tcase_create("corpus");
	tcase_set_timeout(t, 600);
	tcase_add_test(t, shared_corpus);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return test_run_suite(parser_suite());
}
