/*
 * test_to7bit.c - mimeo_to7bit() and mimeo_message_write_source().
 *
 * Invariants checked on hand-made cases and on every message of corpus/
 * and of the shared corpus (when present): the output is 7-bit with lines
 * of at most 998 octets (unless a signed part had to be left alone, which
 * gives a warning), it parses to the same tree, every leaf decodes to the
 * same bytes, and a clean message comes out byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

static int buf_writer(void *ctx, const void *data, size_t len)
{
	return mimeo_buf_put(ctx, data, len);
}

typedef struct warn_log {
	size_t n;
	char last[256];
} warn_log;

/* Set when the last conversion left a signed part alone (then 8-bit
 * bytes may legitimately remain). */
static int signed_warning;

static void on_warning(void *ctx, const char *section, const char *msg)
{
	warn_log *w = ctx;

	w->n++;
	if (strstr(msg, "signed"))
		signed_warning = 1;
	snprintf(w->last, sizeof(w->last), "%s: %s", section, msg);
}

/* Parse `in`, convert; returns the output (caller frees) and warnings. */
static char *convert(const char *in, size_t len, size_t *out_len, size_t *warnings,
		     mimeo_message **orig)
{
	mimeo_to7bit_options o = MIMEO_TO7BIT_OPTIONS_INIT;
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_message *m;
	warn_log w = { 0, "" };
	size_t nw;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, in, len, NULL), MIMEO_OK);
	signed_warning = 0;
	o.warning = on_warning;
	o.warning_ctx = &w;
	ck_assert_int_eq(mimeo_to7bit(m, &o, buf_writer, &out, &nw), MIMEO_OK);
	ck_assert_uint_eq(nw, w.n);
	if (!out.ptr)
		mimeo_buf_put(&out, "", 0);
	*out_len = out.size;
	*warnings = nw;
	if (orig)
		*orig = m;
	else
		mimeo_message_free(m);
	return mimeo_buf_detach(&out);
}

static int is_7bit(const char *s, size_t len, size_t *bad_at)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c >= 128 || !c || (c != '\r' && ++line > 998) ||
		    (c == '\r' && i + 1 < len && s[i + 1] != '\n' && ++line > 998)) {
			*bad_at = i;
			return 0;
		}
	}
	return 1;
}

/* Same tree shape and types, same decoded leaves, same decoded Subject. */
static void check_same_content(const mimeo_message *a, const char *out, size_t len,
			       const char *name)
{
	const mimeo_part *p, *q;
	mimeo_message *b;

	ck_assert_int_eq(mimeo_message_parse_buffer(&b, out, len, NULL), MIMEO_OK);
	ck_assert_msg(mimeo_message_part_count(a) == mimeo_message_part_count(b),
		      "%s: %zu parts before, %zu after", name, mimeo_message_part_count(a),
		      mimeo_message_part_count(b));
	for (p = mimeo_message_root(a), q = mimeo_message_root(b); p && q;
	     p = mimeo_part_next(p), q = mimeo_part_next(q)) {
		const char *sa = mimeo_part_section(p);
		size_t la, lb;
		const void *ba, *bb;

		ck_assert_msg(strcmp(mimeo_part_type(p), mimeo_part_type(q)) == 0 &&
			      strcmp(mimeo_part_subtype(p), mimeo_part_subtype(q)) == 0,
			      "%s section %s: %s/%s became %s/%s", name, sa, mimeo_part_type(p),
			      mimeo_part_subtype(p), mimeo_part_type(q), mimeo_part_subtype(q));
		ba = mimeo_part_body(p, &la);
		bb = mimeo_part_body(q, &lb);
		ck_assert_msg(la == lb && (la == 0 || memcmp(ba, bb, la) == 0),
			      "%s section %s: decoded body differs (%zu vs %zu bytes)", name, sa,
			      la, lb);
		if (mimeo_part_get_header(p, "Subject", NULL)) {
			mimeo_buf da = MIMEO_BUF_INIT, db = MIMEO_BUF_INIT;
			const char *ra, *rb;

			ra = mimeo_part_get_header(p, "Subject", &la);
			rb = mimeo_part_get_header(q, "Subject", &lb);
			ck_assert_ptr_nonnull(rb);
			mimeo_header_decode_text(NULL, NULL, ra, la, &da, NULL);
			mimeo_header_decode_text(NULL, NULL, rb, lb, &db, NULL);
			mimeo_buf_put(&da, "", 0);
			mimeo_buf_put(&db, "", 0);
			ck_assert_msg(strcmp(da.ptr, db.ptr) == 0, "%s: subject [%s] became [%s]",
				      name, da.ptr, db.ptr);
			mimeo_buf_dispose(&da);
			mimeo_buf_dispose(&db);
		}
	}
	mimeo_message_free(b);
}

static void check_message(const char *in, size_t len, const char *name, size_t *converted)
{
	mimeo_message *m;
	size_t olen, nw, bad = 0;
	char *out = convert(in, len, &olen, &nw, &m);

	if (!signed_warning) {
		/* an mbox From_ line before the message is not broken up */
		uint64_t hs;
		size_t skip;

		mimeo_part_offsets(mimeo_message_root(m), &hs, NULL, NULL);
		skip = hs <= olen && hs <= len && memcmp(out, in, (size_t)hs) == 0 ? (size_t)hs : 0;
		ck_assert_msg(is_7bit(out + skip, olen - skip, &bad), "%s: not 7-bit at %zu", name,
			      bad + skip);
	}
	if (is_7bit(in, len, &bad))
		ck_assert_msg(olen == len && memcmp(in, out, len) == 0,
			      "%s: clean input was changed", name);
	else if (converted)
		(*converted)++;
	check_same_content(m, out, olen, name);
	mimeo_message_free(m);
	free(out);
}

START_TEST(clean_message_is_unchanged)
{
	static const char msg[] =
		"From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n"
		"Content-Type: text/plain\r\n\r\nhello\r\n--b--\r\nepilogue\r\n";
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_message *m;
	size_t olen, nw;
	char *o = convert(msg, sizeof(msg) - 1, &olen, &nw, NULL);

	ck_assert_uint_eq(olen, sizeof(msg) - 1);
	ck_assert(memcmp(o, msg, olen) == 0);
	ck_assert_uint_eq(nw, 0);
	free(o);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_write_source(m, buf_writer, &out),
			 MIMEO_OK);
	ck_assert_uint_eq(out.size, sizeof(msg) - 1);
	ck_assert(memcmp(out.ptr, msg, out.size) == 0);
	mimeo_message_free(m);
	mimeo_buf_dispose(&out);
}
END_TEST

START_TEST(eight_bit_body_and_headers)
{
	static const char msg[] =
		"From: J\xc3\xb6rg M\xc3\xbcller <j@example.org>\n"
		"To: \"M\xc3\xbcller, Hans\" <h@example.org>, plain@example.org\n"
		"Subject: Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"Gr\xc3\xbc\xc3\x9f" "e,\nFrom here on\n.\nend\n";
	mimeo_message *m, *n;
	const mimeo_part *r;
	mimeo_address_list *al;
	size_t olen, nw, bad, hl;
	const char *raw;
	char *o = convert(msg, sizeof(msg) - 1, &olen, &nw, &m);

	ck_assert_uint_eq(nw, 0);
	ck_assert_msg(is_7bit(o, olen, &bad), "8-bit at %zu: %s", bad, o);
	ck_assert_ptr_nonnull(strstr(o, "Content-Transfer-Encoding: quoted-printable\n"));
	ck_assert_ptr_null(strstr(o, "8bit"));
	check_same_content(m, o, olen, "8bit");
	ck_assert_int_eq(mimeo_message_parse_buffer(&n, o, olen, NULL), MIMEO_OK);
	r = mimeo_message_root(n);
	raw = mimeo_part_get_header(r, "To", &hl);
	ck_assert_int_eq(mimeo_address_list_parse(NULL, NULL, raw, hl, &al), MIMEO_OK);
	ck_assert_uint_eq(al->count, 2);
	ck_assert_str_eq(al->items[0].display_name, "M\xc3\xbcller, Hans");
	ck_assert_str_eq(al->items[1].local_part, "plain");
	mimeo_address_list_free(al);
	raw = mimeo_part_get_header(r, "From", &hl);
	ck_assert_int_eq(mimeo_address_list_parse(NULL, NULL, raw, hl, &al), MIMEO_OK);
	ck_assert_str_eq(al->items[0].display_name, "J\xc3\xb6rg M\xc3\xbcller");
	mimeo_address_list_free(al);
	/* no line may start with "From " in a re-encoded body */
	ck_assert_ptr_null(strstr(o, "\nFrom here"));
	mimeo_message_free(n);
	mimeo_message_free(m);
	free(o);
}
END_TEST

START_TEST(structure_params_and_binary)
{
	static const char msg[] =
		"From: a@example.org\r\n"
		"Content-Type: multipart/mixed; boundary=\"xyz\"\r\n"
		"\r\n"
		"pr\xc3\xa9" "amble\r\n"
		"--xyz\r\n"
		"Content-Type: application/octet-stream; name=\"r\xc3\xa9sum\xc3\xa9.bin\"\r\n"
		"Content-Transfer-Encoding: binary\r\n"
		"\r\n"
		"\x00\x01\xff\xfe\r\nbin\r\n"
		"--xyz\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"no encoding header but \xe9t\xe9 in latin-1\r\n"
		"--xyz--\r\n";
	mimeo_message *m, *n;
	const mimeo_part *p;
	size_t olen, nw, bad, i;
	char *o = convert(msg, sizeof(msg) - 1, &olen, &nw, &m);

	ck_assert_msg(is_7bit(o, olen, &bad), "8-bit at %zu", bad);
	ck_assert_uint_eq(nw, 1); /* the preamble */
	check_same_content(m, o, olen, "binary");
	/* new lines follow the CRLF source */
	for (i = 0; i < olen; i++)
		if (o[i] == '\n')
			ck_assert(i && o[i - 1] == '\r');
	ck_assert_int_eq(mimeo_message_parse_buffer(&n, o, olen, NULL), MIMEO_OK);
	p = mimeo_message_find_section(n, "1");
	ck_assert_int_eq(mimeo_part_cte(p), MIMEO_CTE_BASE64);
	ck_assert_str_eq(mimeo_part_filename(p), "r\xc3\xa9sum\xc3\xa9.bin");
	p = mimeo_message_find_section(n, "2");
	ck_assert_int_eq(mimeo_part_cte(p), MIMEO_CTE_QP);
	mimeo_message_free(n);
	mimeo_message_free(m);
	free(o);
}
END_TEST

START_TEST(long_lines_are_reencoded)
{
	mimeo_buf in = MIMEO_BUF_INIT;
	mimeo_message *m;
	size_t olen, nw, bad, i;
	char *o;

	mimeo_buf_puts(&in, "From: a@example.org\nSubject: ");
	for (i = 0; i < 1200; i++)
		mimeo_buf_puts(&in, i % 10 == 9 ? " " : "s");
	mimeo_buf_puts(&in, "\n\n");
	for (i = 0; i < 3000; i++)
		mimeo_buf_puts(&in, "x");
	mimeo_buf_puts(&in, "\n");
	o = convert(in.ptr, in.size, &olen, &nw, &m);
	ck_assert_msg(is_7bit(o, olen, &bad), "long line at %zu", bad);
	check_same_content(m, o, olen, "long");
	mimeo_message_free(m);
	free(o);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(signed_parts_are_left_alone_with_a_warning)
{
	static const char msg[] =
		"From: a@example.org\n"
		"Subject: sign\xc3\xa9\n"
		"Content-Type: multipart/signed; boundary=s; protocol=\"application/pkcs7-signature\"\n"
		"\n"
		"--s\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"sign\xc3\xa9 text\n"
		"--s\n"
		"Content-Type: application/pkcs7-signature\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"AAAA\n"
		"--s--\n";
	mimeo_message *m;
	size_t olen, nw;
	const char *body = strstr(msg, "\n\n--s\n") + 2;
	char *o = convert(msg, sizeof(msg) - 1, &olen, &nw, &m);

	ck_assert_uint_eq(nw, 1);
	/* the signed body is byte for byte the same, the Subject is encoded */
	ck_assert_ptr_nonnull(strstr(o, body));
	ck_assert_ptr_null(strstr(o, "Subject: sign\xc3\xa9"));
	check_same_content(m, o, olen, "signed");
	mimeo_message_free(m);
	free(o);
}
END_TEST

/* Regressions found by mutating the shared corpus: each must come out
 * 7-bit with the same decoded content. */
START_TEST(malformed_inputs_become_7bit)
{
	mimeo_buf in = MIMEO_BUF_INIT;
	size_t i;

	switch (_i) {
	case 0: /* 8-bit bytes inside the Content-Transfer-Encoding value */
		mimeo_buf_puts(&in, "From: a@example.org\nContent-Transfer-Encoding:\x80\x91 base64\n"
				    "\naGVsbG8K\n");
		break;
	case 1: /* a delimiter line with 3000 characters of junk */
		mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=b\n\n--b");
		for (i = 0; i < 3000; i++)
			mimeo_buf_puts(&in, "x");
		mimeo_buf_puts(&in, "\n\nbody\n--b--\n");
		break;
	case 2: /* a field name longer than a line */
		mimeo_buf_puts(&in, "Subject: x\nX-");
		for (i = 0; i < 2000; i++)
			mimeo_buf_puts(&in, "n");
		mimeo_buf_puts(&in, ": v\n\nbody\n");
		break;
	case 3: /* no header block at all, NULs in the body */
		mimeo_buf_put(&in, "\0\0Content-Type: multipart/mixed\n\n--x\n\ny\n", 40);
		break;
	case 4: /* old Mac line breaks: one CR-only "line" longer than 998 */
		mimeo_buf_puts(&in, "Subject: a\rX-Long: ");
		for (i = 0; i < 1500; i++)
			mimeo_buf_puts(&in, i % 50 ? "y" : "\r");
		mimeo_buf_puts(&in, "\n\nbody \xe9\n");
		break;
	default: /* 8-bit preamble and epilogue, a long epilogue line */
		mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=b\n\npr\xe9\n--b\n\nz\n--b--\n");
		for (i = 0; i < 2500; i++)
			mimeo_buf_puts(&in, "e");
		mimeo_buf_puts(&in, "\n");
		break;
	}
	check_message(in.ptr, in.size, "malformed", NULL);
	mimeo_buf_dispose(&in);
}
END_TEST

static void run_dir(const char *dir, size_t *count, size_t *converted)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[4096];
		size_t len;
		char *data;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			run_dir(path, count, converted);
			continue;
		}
		if (strcmp(e->d_name, "INDEX.tsv") == 0 || strstr(e->d_name, ".md") ||
		    strcmp(e->d_name, "LICENSES") == 0)
			continue;
		data = test_read_file(path, &len);
		if (!data)
			continue;
		check_message(data, len, path, converted);
		(*count)++;
		free(data);
	}
	closedir(d);
}

START_TEST(repo_corpus)
{
	char dir[4096];
	size_t n = 0, conv = 0;

	snprintf(dir, sizeof(dir), "%s/corpus", test_source_dir());
	run_dir(dir, &n, &conv);
	ck_assert_uint_gt(n, 0);
}
END_TEST

START_TEST(shared_corpus)
{
	const char *dir = test_shared_corpus();
	size_t n = 0, conv = 0;

	if (!dir)
		return; /* not present: nothing to check */
	run_dir(dir, &n, &conv);
	ck_assert_uint_gt(n, 1000);
	ck_assert_uint_gt(conv, 0);
	fprintf(stderr, "to7bit: %zu shared corpus messages, %zu converted\n", n, conv);
}
END_TEST

START_TEST(failing_allocator_sweep)
{
	static const char msg[] =
		"From: J\xc3\xb6rg <j@example.org>\n"
		"Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
		"Content-Type: text/plain; name=\"\xc3\xa9.txt\"\n"
		"Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n--b--\n";
	mimeo_message *m;
	unsigned long n;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, NULL), MIMEO_OK);
	for (n = 1;; n++) {
		test_failing_alloc fa;
		mimeo_to7bit_options o = MIMEO_TO7BIT_OPTIONS_INIT;
		mimeo_buf out = MIMEO_BUF_INIT;
		int r;

		test_failing_alloc_init(&fa, n);
		o.alloc = &fa.alloc;
		r = mimeo_to7bit(m, &o, buf_writer, &out, NULL);
		mimeo_buf_dispose(&out);
		ck_assert_msg(fa.live == 0, "leak when allocation %lu fails", n);
		if (!fa.failed) {
			ck_assert_int_eq(r, MIMEO_OK);
			break;
		}
		ck_assert_int_eq(r, MIMEO_ENOMEM);
		ck_assert_uint_lt(n, 100000);
	}
	mimeo_message_free(m);
}
END_TEST

START_TEST(bad_arguments)
{
	mimeo_to7bit_options o = MIMEO_TO7BIT_OPTIONS_INIT;
	mimeo_message *m;
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t nw = 5;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, "a: b\n\nc\n", 8, NULL), MIMEO_OK);
	o.version = 2;
	ck_assert_int_eq(mimeo_to7bit(m, &o, buf_writer, &out, &nw), MIMEO_EINVAL);
	ck_assert_uint_eq(nw, 0);
	ck_assert_int_eq(mimeo_to7bit(NULL, NULL, buf_writer, &out, NULL),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_to7bit(m, NULL, NULL, NULL, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_write_source(m, NULL, NULL), MIMEO_EINVAL);
	mimeo_message_free(m);
}
END_TEST

static Suite *to7bit_suite(void)
{
	Suite *s = suite_create("to7bit");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, clean_message_is_unchanged);
	tcase_add_test(tc, eight_bit_body_and_headers);
	tcase_add_test(tc, structure_params_and_binary);
	tcase_add_test(tc, long_lines_are_reencoded);
	tcase_add_test(tc, signed_parts_are_left_alone_with_a_warning);
	tcase_add_test(tc, failing_allocator_sweep);
	tcase_add_test(tc, bad_arguments);
	tcase_add_loop_test(tc, malformed_inputs_become_7bit, 0, 6);
	tcase_add_test(tc, repo_corpus);
	tcase_add_test(tc, shared_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(to7bit_suite());
}
