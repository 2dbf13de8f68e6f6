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
#include "mimeo-config.h" /* MIMEO_HAVE_LIBIDN2 */

static int buf_writer(const void *data, size_t len, void *ctx)
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

static void on_warning(const char *section, const char *msg, void *ctx)
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

/* A multipart without any delimiter line: a leaf holding its body, which
 * to7bit cleans like a preamble (8-bit bytes and over-long lines are
 * rewritten: a multipart cannot be transfer-encoded), so its content is
 * not compared. */
static int no_delimiter(const mimeo_part *p)
{
	return mimeo_part_is_leaf(p) && (mimeo_part_flags(p) & MIMEO_PART_OPAQUE) &&
	       !strcmp(mimeo_part_type(p), "multipart");
}

/* Same tree shape and types, same decoded leaves (see no_delimiter), same
 * decoded Subject. */
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
		ba = test_part_body(p, &la);
		bb = test_part_body(q, &lb);
		ck_assert_msg(no_delimiter(p) == no_delimiter(q), "%s section %s: kind changed",
			      name, sa);
		ck_assert_msg(no_delimiter(p) || (la == lb && (la == 0 || memcmp(ba, bb, la) == 0)),
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

static int has_high(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 128)
			return 1;
	return 0;
}

/* `s` with whitespace runs made one space (phrases are re-encoded so). */
static void put_collapsed(mimeo_buf *b, const char *s)
{
	int sp = 0;

	for (; s && *s; s++) {
		if (*s == ' ' || *s == '\t') {
			sp = 1;
			continue;
		}
		if (sp)
			mimeo_buf_puts(b, " ");
		sp = 0;
		mimeo_buf_put(b, s, 1);
	}
}

/* "[group|display name|local part|domain]", "-" for NULL. */
static void put_entry(mimeo_buf *b, const char *g, const char *dn, const char *lp,
		      const char *dom)
{
	const char *v[4] = { g, dn, lp, dom };
	int i;

	for (i = 0; i < 4; i++) {
		mimeo_buf_puts(b, i ? "|" : "[");
		mimeo_buf_puts(b, v[i] ? v[i] : "-");
	}
	mimeo_buf_puts(b, "]");
}

/* The entries of an address field that to7bit keeps as they are (ASCII
 * addr-specs; punycoded domains are left out on both sides), as text. */
static void kept_addresses(const mimeo_part *p, const char *field, mimeo_buf *out)
{
	mimeo_address_list *l;
	const char *raw;
	size_t len, i;

	raw = mimeo_part_get_header(p, field, &len);
	if (!raw)
		return;
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, raw, len), MIMEO_OK);
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];

		if (!a->local_part || has_high(a->local_part) ||
		    (a->domain ? has_high(a->domain) || strstr(a->domain, "xn--")
			       : !*a->local_part))
			continue;
		{
			mimeo_buf g = MIMEO_BUF_INIT, dn = MIMEO_BUF_INIT;

			put_collapsed(&g, a->group);
			put_collapsed(&dn, a->display_name);
			mimeo_buf_put(&g, "", 0);
			mimeo_buf_put(&dn, "", 0);
			put_entry(out, a->group ? g.ptr : NULL, a->display_name ? dn.ptr : NULL,
				  a->local_part, a->domain);
			mimeo_buf_dispose(&g);
			mimeo_buf_dispose(&dn);
		}
	}
	mimeo_buf_put(out, "", 0);
	mimeo_address_list_free(l);
}

/* Every ASCII mailbox of the top-level address fields survives, with the
 * same decoded display and group names. */
static void check_addresses(const mimeo_message *a, const char *out, size_t len,
			    const char *name)
{
	static const char *const fields[] = {
		"From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Resent-From", "Resent-To",
		"Resent-Cc", NULL
	};
	mimeo_message *b;
	size_t i;

	ck_assert_int_eq(mimeo_message_parse_buffer(&b, out, len, NULL), MIMEO_OK);
	for (i = 0; fields[i]; i++) {
		mimeo_buf x = MIMEO_BUF_INIT, y = MIMEO_BUF_INIT;

		kept_addresses(mimeo_message_root(a), fields[i], &x);
		kept_addresses(mimeo_message_root(b), fields[i], &y);
		ck_assert_msg((!x.ptr && !y.ptr) || (x.ptr && y.ptr && strcmp(x.ptr, y.ptr) == 0),
			      "%s: %s %s became %s", name, fields[i], x.ptr ? x.ptr : "(none)",
			      y.ptr ? y.ptr : "(none)");
		mimeo_buf_dispose(&x);
		mimeo_buf_dispose(&y);
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
	check_addresses(m, out, olen, name);
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
	ck_assert_int_eq(mimeo_address_list_parse(&al, NULL, NULL, raw, hl), MIMEO_OK);
	ck_assert_uint_eq(al->count, 2);
	ck_assert_str_eq(al->items[0].display_name, "M\xc3\xbcller, Hans");
	ck_assert_str_eq(al->items[1].local_part, "plain");
	mimeo_address_list_free(al);
	raw = mimeo_part_get_header(r, "From", &hl);
	ck_assert_int_eq(mimeo_address_list_parse(&al, NULL, NULL, raw, hl), MIMEO_OK);
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

	snprintf(dir, sizeof(dir), "%s/tests/data", test_source_dir());
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

/* Leaves in order: same count, same decoded bodies (the fuzz_to7bit
 * oracle; type names with 8-bit bytes cannot stay as they were).  A
 * multipart in which no delimiter is found counts as one leaf (issue 15). */
static void check_same_leaves(const char *in, size_t len, const char *name, size_t want_leaves)
{
	mimeo_message *a, *b;
	const mimeo_part *p, *q;
	size_t olen, nw, bad, n = 0;
	char *o = convert(in, len, &olen, &nw, &a);

	ck_assert_msg(is_7bit(o, olen, &bad), "%s: 8-bit at %zu: %s", name, bad, o);
	ck_assert_int_eq(mimeo_message_parse_buffer(&b, o, olen, NULL), MIMEO_OK);
	for (p = mimeo_message_root(a), q = mimeo_message_root(b); p || q;
	     p = mimeo_part_next(p), q = mimeo_part_next(q)) {
		const void *ba, *bb;
		size_t la, lb;

		while (p && !mimeo_part_is_leaf(p))
			p = mimeo_part_next(p);
		while (q && !mimeo_part_is_leaf(q))
			q = mimeo_part_next(q);
		ck_assert_msg(!p == !q, "%s: leaf count changed:\n%s", name, o);
		if (!p)
			break;
		ba = test_part_body(p, &la);
		bb = test_part_body(q, &lb);
		ck_assert_msg(no_delimiter(p) == no_delimiter(q), "%s: leaf %zu kind changed", name, n);
		ck_assert_msg(no_delimiter(p) || (la == lb && (!la || memcmp(ba, bb, la) == 0)),
			      "%s: leaf %zu differs:\n%s", name, n, o);
		n++;
	}
	ck_assert_msg(n == want_leaves, "%s: %zu leaves", name, n);
	mimeo_message_free(a);
	mimeo_message_free(b);
	free(o);
}

/* Regressions from fuzz_to7bit (/tmp/brief/to7bit-findings.md T1-T5). */
static const struct {
	const char *name, *msg;
	size_t leaves;
	const char *has;
} mime_field_cases[] = {
	{ "T1 8-bit boundary",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n"
	  "Content-Type: text/plain\n\nx\n--b\xc3\xa9--\n", 1, "boundary=\"=_7bit_" },
	{ "T1 8-bit boundary in a clean RFC 2231 parameter",
	  "Content-Type: multipart/mixed; boundary*=utf-8''b%C3%A9\n\n--b\xc3\xa9\n"
	  "Content-Type: text/plain\n\nx\n--b\xc3\xa9\n\ny\n--b\xc3\xa9--\n", 2, "\n--=_7bit_" },
	{ "T1 Latin-1 boundary (matched nothing before, nothing after)",
	  "Content-Type: multipart/mixed; boundary=\"b\xe9\"\n\n--b\xe9\n"
	  "Content-Type: text/plain\n\nx\n--b\xe9--\n", 1, NULL },
	{ "T2 8-bit media subtype",
	  "Content-Type: multipart/mixed\xc3\xa9; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	  "x\n--b--\n", 1, "Content-Type: multipart/mixed__; boundary=b\n" },
	{ "T2 fuzzer original",
	  "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/\xff\0gned; "
	  "protocol=\"application/pgp-signature\"; micalg=pgp-sha512; boundary=\"!\"\r\n\r\n"
	  "--s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encofing: 8bit\r\n"
	  "\r\nsigned caf\xc3\xa9\r\n--s\r\nContent-Vype: application/pgp-signature\r\n\r\n"
	  "-----BEGIN PGP SIGNATURE-----\r\nabc\r\n-----END PGP SIGNATURE-----\r\n--s--\r\n",
	  1, NULL },
	{ "T2 8-bit parameter of a leaf",
	  "Content-Type: text/plain; charset=utf-8; x=\xc3\xa9\nContent-Transfer-Encoding: base64\n"
	  "\nAAEC\n", 1, "x*=utf-8''%C3%A9" },
	{ "T2 8-bit disposition type",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n"
	  "Content-Disposition: attachment\xc3\xa9; filename=\"\xc3\xa9.txt\"\n\nx\n--b--\n", 1,
	  "Content-Disposition: attachment__; filename*=utf-8''%C3%A9.txt" },
	/* no blank line after the header: once encoded, the first body line
	 * would read as a field */
	{ "T3 header without a blank line, existing CTE field",
	  "Content-Transfer-Encoding: 8bit\ncaf\xc3\xa9:ok and then some more plain ascii text\n",
	  1, "quoted-printable\n\ncaf=C3=A9:ok" },
	{ "T3 header without a blank line, NUL line",
	  "Content-Transfer-Encoding:\n\0: 12C", 1, NULL },
	{ "T3 header without a blank line, no CTE field",
	  "Subject: x\ncaf\xc3\xa9:ok, then plain ascii text\n", 1,
	  "quoted-printable\n\ncaf=C3=A9:ok" },
	/* a message part's header without a blank line: the inner entity's
	 * new field must not join it */
	{ "T4 8-bit CTE of a message part, inner header without a blank line",
	  "From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=o\n"
	  "\n--o\nContent-Type: text/plain\n\nouter\n--o\nContent-Type: message/rfc822\n"
	  "Content-Transfer-Encoding: 8bit\xf6\xf5\xb9\x8dom: b@example\xd6\xd7\xff\r\n"
	  "--b1 charset=utf-8\nConteapplication/pkcs7-miment-Transfer-Encoding: 8bit\n\n"
	  "inner body \xc3\xa9\xc3\xa8\n--o--\n", 2, "?=\r\n\nContent-Transfer-Encoding: quoted" },
	/* a multipart's header without a blank line: the delimiter that ends
	 * it opens the first part (issue 15 class 2), which must stay one */
	{ "T5 multipart header without a blank line, 8-bit preamble",
	  "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\r\n--b\r\n"
	  "C\x15tent-Types7-mime; smime\r\nContent-Transfer-Encoding: binary\r\n\r\n"
	  "0\x82\x01\xff\xfe\r\n", 1, NULL },
};

START_TEST(mime_fields_keep_the_structure)
{
	const char *m = mime_field_cases[_i].msg;
	size_t len = strlen(m), olen, nw;
	char *o;

	if (_i == 4 || _i == 8) /* has a NUL */
		len = strlen(m) + 1 + strlen(m + strlen(m) + 1);
	check_same_leaves(m, len, mime_field_cases[_i].name, mime_field_cases[_i].leaves);
	if (mime_field_cases[_i].has) {
		o = convert(m, len, &olen, &nw, NULL);
		ck_assert_msg(strstr(o, mime_field_cases[_i].has), "%s: no %s in\n%s",
			      mime_field_cases[_i].name, mime_field_cases[_i].has, o);
		free(o);
	}
}
END_TEST

/* ---- boundaries that cannot be written in 7 bits ---- */

/* A multipart whose boundary has 8-bit bytes gets a new 7-bit one in its
 * Content-Type and its delimiter lines; no other line may become a
 * delimiter (fuzz_to7bit T6: mapping each 8-bit byte to "?" made the
 * preamble line "--b\xc7\xa9" the delimiter "--b??").  `lacks`: text the
 * output must not hold. */
static const struct {
	const char *name, *msg;
	size_t leaves;
	const char *has, *lacks;
} boundary_cases[] = {
	{ "T6 preamble line with other 8-bit bytes is no delimiter",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc7\xa9\n"
	  "Content-Type: text/plain; boundary=b\xff\xfe\n\nx\n--b\xc3\xa9--\n", 1,
	  "boundary=\"=_7bit_", NULL },
	{ "T6 with a real part after the near miss",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc7\xa9\nnot a part\n"
	  "--b\xc3\xa9\nContent-Type: text/plain\n\nx\n--b\xc3\xa9--\n", 1, "\n--b??\nnot a part\n",
	  NULL },
	{ "7-bit body line --b?? inside a part of a b\xc3\xa9 multipart",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n"
	  "Content-Type: text/plain\n\nline\n--b??\n--b?\?--\nmore\n--b\xc3\xa9\n\ny\n--b\xc3\xa9--\n",
	  2, "\nline\n--b??\n--b?\?--\nmore\n--=_7bit_", NULL },
	{ "preamble and epilogue with near misses",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa8\n--b\xc3\n"
	  "--b\xc3\xa9x\n--b\xc3\xa9 -\n--b??\n--b\xc3\xa9---\n-b\xc3\xa9\n--b\xc3\xa9\n\nx\n"
	  "--b\xc3\xa9\n\ny\n--b\xc3\xa9--\n--b\xc3\xa9\n--b\xc3\xa8\nend\n", 2,
	  "\n--b??\n--b?\n--b??x\n--b?? -\n--b??\n--b?\?---\n-b??\n--=_7bit_", NULL },
	{ "close delimiter with transport padding, CRLF",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\r\n\r\n--b\xc3\xa9 \t \r\n"
	  "Content-Type: text/plain\r\n\r\nx\r\n--b\xc3\xa9\t\r\n\r\ny\r\n--b\xc3\xa9-- \t\r\n"
	  "epilogue\r\n", 2, "--\r\nepilogue\r\n", "\xc3" },
	{ "nested multiparts with 8-bit boundaries",
	  "Content-Type: multipart/mixed; boundary=\"o\xc3\xa9\"\n\n--o\xc3\xa9\n"
	  "Content-Type: multipart/alternative; boundary=\"i\xc3\xa9\"\n\n--i\xc3\xa9\n\na\n"
	  "--i\xc3\xa9\n\nb\n--i\xc3\xa9--\n--o\xc3\xa9\n\nc\n--o\xc3\xa9--\n", 3,
	  "boundary=\"=_7bit_", NULL },
	{ "nested multiparts with the same 8-bit boundary",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n"
	  "Content-Type: multipart/alternative; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n\na\n"
	  "--b\xc3\xa9--\n--b\xc3\xa9\n\nc\n--b\xc3\xa9--\n", 2, NULL, NULL },
	{ "inner 8-bit boundary near miss that reads as the outer 7-bit one",
	  "Content-Type: multipart/mixed; boundary=\"b??\"\n\n--b??\n"
	  "Content-Type: multipart/alternative; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa8\n"
	  "--b\xc3\xa9\n\na\n--b\xc3\xa9--\n--b\xc3\xa8\n--b??\n\nc\n--b?\?--\n", 2,
	  "\n-?b??\n", NULL },
	{ "boundary in a clean RFC 2231 parameter",
	  "Content-Type: multipart/mixed; boundary*=utf-8''b%C3%A9\n\n--b\xc3\xa9\n"
	  "Content-Type: text/plain\n\nx\n--b\xc3\xa9--\n", 1, "boundary=\"=_7bit_", "%C3" },
	{ "body line that holds the first new boundary",
	  "Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n\n"
	  "--=_7bit_60b9dee9\n--b\xc3\xa9--\n", 1, "\n--=_7bit_60b9dee9\n--=_7bit_", NULL },
	/* quoted-printable would make a delimiter: base64 instead */
	{ "QP soft line break would start a line with --b",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	  "caf\xc3\xa9\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "aaaaa--b\nend\n--b--\n", 1,
	  "Content-Transfer-Encoding: base64\n", NULL },
	{ "QP escapes would spell the enclosing boundary",
	  "Content-Type: multipart/mixed; boundary=\"b=C3=A9\"\n\n--b=C3=A9\n"
	  "Content-Type: text/plain\n\nline one\n--b\xc3\xa9\nmore text here\n--b=C3=A9--\n", 1,
	  "Content-Transfer-Encoding: base64\n", NULL },
	/* fuzz_to7bit T9: the header ended without a blank line at a line
	 * that was no field only because of its 8-bit bytes */
	{ "T9 first preamble line would read as a field once made 7-bit",
	  "Content-Type: multipart/mixed; boundary=\"b1\"\nFrom\x91\x91: a@example.org\n"
	  "--b1\nContent-Type: text/plain\n\nx\n--b1--\n", 1, "\nFrom??? a@example.org\n--b1\n",
	  NULL },
	{ "signed multipart: parts kept, delimiters renamed",
	  "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; "
	  "boundary=\"s\xc3\xa9\"\n\n--s\xc3\xa9\nContent-Type: text/plain\n\nsigned\n"
	  "--s\xc3\xa9\nContent-Type: application/pgp-signature\n\nsig\n--s\xc3\xa9--\n", 2,
	  "\nContent-Type: text/plain\n\nsigned\n--=_7bit_", NULL },
};

START_TEST(eight_bit_boundaries_get_a_new_one)
{
	const char *name = boundary_cases[_i].name, *m = boundary_cases[_i].msg;
	size_t len = strlen(m), l1, l2, nw;
	char *o1, *o2;

	check_same_leaves(m, len, name, boundary_cases[_i].leaves);
	o1 = convert(m, len, &l1, &nw, NULL);
	o2 = convert(m, len, &l2, &nw, NULL);
	ck_assert_msg(l1 == l2 && memcmp(o1, o2, l1) == 0, "%s: two runs differ", name);
	ck_assert_msg(!boundary_cases[_i].has || strstr(o1, boundary_cases[_i].has),
		      "%s: no %s in\n%s", name, boundary_cases[_i].has, o1);
	ck_assert_msg(!boundary_cases[_i].lacks || !strstr(o1, boundary_cases[_i].lacks),
		      "%s: %s in\n%s", name, boundary_cases[_i].lacks, o1);
	free(o1);
	free(o2);
}
END_TEST

/* Each multipart its own new boundary, even with the same old one. */
START_TEST(nested_new_boundaries_differ)
{
	static const char m[] =
		"Content-Type: multipart/mixed; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n"
		"Content-Type: multipart/alternative; boundary=\"b\xc3\xa9\"\n\n--b\xc3\xa9\n\na\n"
		"--b\xc3\xa9--\n--b\xc3\xa9\n\nc\n--b\xc3\xa9--\n";
	mimeo_message *b;
	const mimeo_part *outer, *inner;
	size_t len, nw;
	char *o = convert(m, sizeof(m) - 1, &len, &nw, NULL);

	ck_assert_int_eq(mimeo_message_parse_buffer(&b, o, len, NULL), MIMEO_OK);
	outer = mimeo_message_root(b);
	inner = mimeo_part_first_child(outer);
	ck_assert_ptr_nonnull(inner);
	ck_assert_str_eq(mimeo_part_type(inner), "multipart");
	ck_assert_uint_eq(mimeo_part_child_count(outer), 2);
	ck_assert_uint_eq(mimeo_part_child_count(inner), 1);
	ck_assert_str_ne(mimeo_part_param(outer, "boundary"), mimeo_part_param(inner, "boundary"));
	ck_assert_int_eq(strncmp(mimeo_part_param(inner, "boundary"), "=_7bit_", 7), 0);
	mimeo_message_free(b);
	free(o);
}
END_TEST

/* A 7-bit boundary too long for a 998-octet close delimiter line. */
START_TEST(overlong_boundary_gets_a_new_one)
{
	mimeo_buf m = MIMEO_BUF_INIT, bd = MIMEO_BUF_INIT;
	size_t i, len, nw;
	char *o;

	for (i = 0; i < 996; i++)
		mimeo_buf_put(&bd, "x", 1);
	mimeo_buf_put(&bd, "", 0);
	mimeo_buf_puts(&m, "Content-Type: multipart/mixed;\n boundary*0=");
	mimeo_buf_put(&m, bd.ptr, 498);
	mimeo_buf_puts(&m, ";\n boundary*1=");
	mimeo_buf_puts(&m, bd.ptr + 498);
	mimeo_buf_puts(&m, "\n\n--");
	mimeo_buf_puts(&m, bd.ptr);
	mimeo_buf_puts(&m, "\n\nx\n--");
	mimeo_buf_puts(&m, bd.ptr);
	mimeo_buf_puts(&m, "--\n");
	check_same_leaves(m.ptr, m.size, "over-long boundary", 1);
	o = convert(m.ptr, m.size, &len, &nw, NULL);
	ck_assert_ptr_nonnull(strstr(o, "\n--=_7bit_"));
	free(o);
	mimeo_buf_dispose(&m);
	mimeo_buf_dispose(&bd);
}
END_TEST

/* ---- transfer-encoded message/rfc822 (fuzz_to7bit T7) ---- */

/* Its parts are parsed from the decoded body: an 8-bit byte in the
 * encoded text must not be changed there, or the parts change. */
static const struct {
	const char *name, *msg;
	size_t leaves;
} encoded_message_cases[] = {
	{ "T7 x-uuencode body with an 8-bit line",
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n"
	  "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n#nd\n\xc3\xe9\nyyyy\n--o--\n", 1 },
	{ "quoted-printable message with raw 8-bit bytes",
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: quoted-printable\n\n"
	  "Subject: x\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9 and caf=C3=A9\n", 1 },
	{ "base64 message with 8-bit junk",
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	  "U3ViamVjdDogeAoKYm9keQo=\xff\n", 1 },
};

START_TEST(encoded_messages_keep_their_parts)
{
	const char *m = encoded_message_cases[_i].msg;
	size_t len, nw;
	char *o;

	check_same_leaves(m, strlen(m), encoded_message_cases[_i].name,
			  encoded_message_cases[_i].leaves);
	o = convert(m, strlen(m), &len, &nw, NULL);
	ck_assert_msg(strstr(o, "Content-Transfer-Encoding: base64\n"), "%s:\n%s",
		      encoded_message_cases[_i].name, o);
	free(o);
}
END_TEST

/* An over-long mbox From_ line that starts an encapsulated message: the
 * parser drops it, and a fold would end the header there (fuzz_to7bit
 * T8: the rest of the header became the body).  Both with an 8-bit byte
 * and 7-bit only. */
START_TEST(envelope_line_is_cut_not_folded)
{
	mimeo_buf m = MIMEO_BUF_INIT;
	size_t i, len, nw;
	char *o;

	mimeo_buf_puts(&m, "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
			   "Content-Type: message/rfc822\n\nFrom n");
	if (_i == 0)
		mimeo_buf_puts(&m, "\xff");
	for (i = 0; i < 1100; i++)
		mimeo_buf_put(&m, i % 50 == 49 ? " " : "y", 1);
	mimeo_buf_puts(&m, ": x\nSubject: s\nContent-Type: text/plain\n\nbody \xc3\xa9\n--o--\n");
	check_same_leaves(m.ptr, m.size, "over-long envelope line", 1);
	o = convert(m.ptr, m.size, &len, &nw, NULL);
	ck_assert_ptr_nonnull(strstr(o, "\nSubject: s\n"));
	free(o);
	mimeo_buf_dispose(&m);
}
END_TEST

/* ---- address fields ---- */

/* One entry of a parsed list, "" for NULL, as one comparable string. */
/* All entries of the list in `raw`, concatenated. */
static void list_str(const char *raw, size_t len, mimeo_buf *out)
{
	mimeo_address_list *l;
	size_t i;

	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, raw, len), MIMEO_OK);
	for (i = 0; i < l->count; i++)
		put_entry(out, l->items[i].group, l->items[i].display_name,
			  l->items[i].local_part, l->items[i].domain);
	mimeo_buf_put(out, "", 0);
	mimeo_address_list_free(l);
}

/* Convert a message whose `field` has `value`; returns the converted
 * field's raw value (caller frees) and the warnings. */
static char *convert_field(const char *field, const char *value, size_t *len, size_t *nw)
{
	mimeo_buf in = MIMEO_BUF_INIT;
	mimeo_message *m;
	const mimeo_part *r;
	const char *raw;
	size_t olen, bad;
	char *o, *v;

	mimeo_buf_puts(&in, field);
	mimeo_buf_puts(&in, ": ");
	mimeo_buf_puts(&in, value);
	mimeo_buf_puts(&in, "\nSubject: s\n\nbody\n");
	o = convert(in.ptr, in.size, &olen, nw, NULL);
	ck_assert_msg(is_7bit(o, olen, &bad), "8-bit at %zu: %s", bad, o);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, o, olen, NULL), MIMEO_OK);
	r = mimeo_message_root(m);
	raw = mimeo_part_get_header(r, field, len);
	ck_assert_msg(raw != NULL, "%s lost: %s", field, o);
	v = strndup(raw, *len);
	mimeo_message_free(m);
	mimeo_buf_dispose(&in);
	free(o);
	return v;
}

static const struct addr_case {
	const char *field, *in;
	const char *want;     /* entries of the re-parsed output */
	size_t warnings;
	const char *has;      /* must occur in the output value, or NULL */
} addr_cases[] = {
	/* quoted display name with 8-bit and a comma: one encoded phrase */
	{ "To", "\"M\xc3\xbcller, Hans\" <h@example.org>, plain@example.org",
	  "[-|M\xc3\xbcller, Hans|h|example.org][-|-|plain|example.org]", 0, "<h@example.org>" },
	/* a group with 8-bit name and members, an empty group after it */
	{ "Cc", "Fr\xc3\xbcnde: a@example.org, J\xc3\xb6rg <j@example.org>;, undisclosed-recipients:;",
	  "[Fr\xc3\xbcnde|-|a|example.org][Fr\xc3\xbcnde|J\xc3\xb6rg|j|example.org]"
	  "[undisclosed-recipients|-|-|-]", 0, ";, undisclosed-recipients:;" },
	/* an empty group whose name is 8-bit, quoted */
	{ "Bcc", "\"\xc3\xa9quipe\" :;", "[\xc3\xa9quipe|-|-|-]", 0, ":;" },
	/* a comment names the mailbox; 8-bit inside the comment */
	{ "From", "anna@example.org (Anna S\xc3\xb8rensen)",
	  "[-|Anna S\xc3\xb8rensen|anna|example.org]", 0, "<anna@example.org>" },
	/* raw Latin-1, not UTF-8: read as windows-1252 */
	{ "Reply-To", "\xe9t\xe9 <ete@example.fr>, Ren\xe9 <r@example.fr>",
	  "[-|\xc3\xa9t\xc3\xa9|ete|example.fr][-|Ren\xc3\xa9|r|example.fr]", 0, NULL },
	/* obsolete forms: a route (dropped), CFWS inside the addr-spec, a
	 * quoted local part */
	{ "Sender", "J\xc3\xb6rg <@relay.example:j@example.org>",
	  "[-|J\xc3\xb6rg|j|example.org]", 0, NULL },
	{ "To", "\xc3\x9c <a . b @ example . org>, \"x y\"@example.org",
	  "[-|\xc3\x9c|a.b|example.org][-|-|x y|example.org]", 0, "\"x y\"@example.org" },
	/* mixed valid and invalid entries: what parses survives, a warning */
	{ "To", "J\xc3\xb6rg <j@example.org> trailing junk, , Name <>, ok@example.org",
	  "[-|J\xc3\xb6rg|j|example.org][-|Name||-][-|-|ok|example.org]", 1, "Name <>" },
	/* an empty address keeps its "<>", the name encoded (issue 15 class
	 * 9, ruby-mail encoding_madness.eml; it was the group "Name :;").
	 * "<>" is no RFC 5322 angle-addr: the syntax warning stays */
	{ "From", "\"KLAUS- H\xc3\x84NSCHEL\" <>", "[-|KLAUS- H\xc3\x84NSCHEL||-]", 1, "?= <>" },
	{ "Return-Receipt-To", "<>", "[-|-||-]", 0, "<>" },
	{ "To", "G: a@example.org, \"S\xc3\xa9" "bastien\" <>;", "[G|-|a|example.org][G|S\xc3\xa9" "bastien||-]",
	  1, "?= <>;" },
	/* IDN domains become A-labels, the rest is kept.  With libidn2:
	 * IDNA2008 with the UTS #46 mapping (issue 15 class 11: case folded,
	 * NFC, so "BÜCHER" and a decomposed u + U+0308 give the A-label a
	 * resolver matches), a domain IDNA rejects is reported and the
	 * mailbox downgraded, never an invented A-label.  Without it each
	 * label is punycoded as it is (RFC 3492). */
#if MIMEO_HAVE_LIBIDN2
	{ "To", "B\xc3\xbc <info@b\xc3\xbc" "cher.example>, m@M\xc3\xbcnchen.DE",
	  "[-|B\xc3\xbc|info|xn--bcher-kva.example][-|-|m|xn--mnchen-3ya.de]", 0, NULL },
	{ "To", "x@B\xc3\x9c" "CHER.example, y@bu\xcc\x88" "cher.example",
	  "[-|-|x|xn--bcher-kva.example][-|-|y|xn--bcher-kva.example]", 0, NULL },
	{ "To", "Snow <x@\xe2\x98\x83.example>, ok@example.org",
	  "[Snow x@\xe2\x98\x83.example|-|-|-][-|-|ok|example.org]", 1, ":;" },
	{ "Cc", "y@\xcc\x88" "a.example", "[y@\xcc\x88" "a.example|-|-|-]", 1, ":;" },
#else
	{ "To", "B\xc3\xbc <info@b\xc3\xbc" "cher.example>, m@M\xc3\xbcnchen.DE",
	  "[-|B\xc3\xbc|info|xn--bcher-kva.example][-|-|m|xn--Mnchen-3ya.DE]", 0, NULL },
	{ "To", "x@B\xc3\x9c" "CHER.example, y@bu\xcc\x88" "cher.example",
	  "[-|-|x|xn--BCHER-2pa.example][-|-|y|xn--bucher-xyd.example]", 0, NULL },
	{ "To", "Snow <x@\xe2\x98\x83.example>, ok@example.org",
	  "[-|Snow|x|xn--n3h.example][-|-|ok|example.org]", 0, NULL },
#endif
	{ "Cc", "x@\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88\xe4\xb8\x8d"
		"\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87.example",
	  "[-|-|x|xn--ihqwcrb4cv8a8dqg056pqjye.example]", 0, NULL },
	/* a non-ASCII local part (SMTPUTF8) becomes an empty group named
	 * after the mailbox (RFC 6857), outside the group it was in */
	{ "To", "G: J\xc3\xb6rg <j\xc3\xb6rg@example.de>, a@example.org;, \xc3\xa9@example.fr",
	  "[G|-|a|example.org][J\xc3\xb6rg j\xc3\xb6rg@example.de|-|-|-]"
	  "[\xc3\xa9@example.fr|-|-|-]", 2, NULL },
	/* a non-ASCII domain literal cannot be punycoded: downgraded too */
	{ "Resent-To", "x@[\xc3\xa9]", "[x@[\xc3\xa9]|-|-|-]", 1, NULL },
	/* nothing but a comment: an empty group named by its text */
	{ "Resent-Cc", "(nur ein Kommentar \xc3\xa4)", "[(nur ein Kommentar \xc3\xa4)|-|-|-]", 0, NULL },
};

/* Issue 15 class 9, on a message written for the project: the sender
 * "<>" with an 8-bit name stays an empty address with the name encoded,
 * not an empty group, and reads back as the same name. */
START_TEST(empty_angle_address_message)
{
	char path[4096];
	size_t len, olen, nw, vlen;
	char *data, *o;
	mimeo_message *m;
	const char *v;
	mimeo_address_list *l = NULL;

	snprintf(path, sizeof(path), "%s/tests/data/conformance/class9-empty-angle-address.eml",
		 test_source_dir());
	data = test_read_file(path, &len);
	ck_assert_ptr_nonnull(data);
	o = convert(data, len, &olen, &nw, NULL);
	ck_assert_msg(strncmp(o, "From: KLAUS- =?UTF-8?", 21) == 0, "%.200s", o);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, o, olen, NULL), MIMEO_OK);
	v = mimeo_part_get_header(mimeo_message_root(m), "From", &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(vlen >= 5 && memcmp(v + vlen - 5, "?= <>", 5) == 0, "From: %.*s", (int)vlen,
		      v);
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, v, vlen), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_ptr_null(l->items[0].group);
	ck_assert_str_eq(l->items[0].display_name, "KLAUS- H\xc3\x84NSCHEL");
	ck_assert_str_eq(l->items[0].local_part, "");
	ck_assert_ptr_null(l->items[0].domain);
	mimeo_address_list_free(l);
	mimeo_message_free(m);
	free(o);
	free(data);
}
END_TEST

/* RFC 2047 section 5 (3): an encoded word in a phrase holds none of the
 * specials that would make it part of an address ("@", "<", ",", ...). */
static void check_phrase_words(const char *v)
{
	const char *w = v, *e;

	while ((w = strstr(w, "=?")) != NULL) {
		const char *q = strchr(w + 2, '?');

		ck_assert_ptr_nonnull(q);
		e = strstr(q + 3, "?=");
		ck_assert_ptr_nonnull(e);
		for (; w < e; w++)
			ck_assert_msg(!strchr("@<>,;:\"()[]\\ ", *w), "special in %.*s",
				      (int)(e - w + 2), w);
		w = e + 2;
	}
}

START_TEST(address_fields_stay_address_lists)
{
	const struct addr_case *c = &addr_cases[_i];
	mimeo_buf got = MIMEO_BUF_INIT;
	size_t len, nw;
	char *v = convert_field(c->field, c->in, &len, &nw);

	list_str(v, len, &got);
	ck_assert_msg(strcmp(got.ptr, c->want) == 0, "case %d: %s became\n%s\nparsed %s", _i,
		      c->in, v, got.ptr);
	ck_assert_msg(nw == c->warnings, "case %d: %zu warnings", _i, nw);
	if (c->has)
		ck_assert_msg(strstr(v, c->has), "case %d: no %s in %s", _i, c->has, v);
	check_phrase_words(v);
	mimeo_buf_dispose(&got);
	free(v);
}
END_TEST

/* Random address lists: re-parsing the converted field gives the same
 * entries, with non-ASCII local parts downgraded as documented. */
static const char *const rnd_names[] = {
	"Anna", "J\xc3\xb6rg M\xc3\xbcller", "\xe9t\xe9", "\"Smith, John\"", "O'Brien",
	"\"M\xc3\xbcller, Hans\"", "\xe6\x97\xa5\xe6\x9c\xac \xe5\xa4\xaa\xe9\x83\x8e",
	"=?utf-8?q?Caf=C3=A9?=", "\"a (b) <c>\"", "Ren\xe9 Fran\xe7ois", "\"\xc3\xa9@x\"",
};
static const char *const rnd_locals[] = {
	"a", "first.last", "x+tag", "\"quoted local\"", "j\xc3\xb6rg", "o'neil",
};
static const char *const rnd_domains[] = {
	"example.org", "mail.example.com", "[192.0.2.1]",
};

static void rnd_pick(uint64_t *st, mimeo_buf *b, const char *const *v, size_t n)
{
	mimeo_buf_puts(b, v[test_rand(st) % n]);
}

static void rnd_mailbox(uint64_t *st, mimeo_buf *b)
{
	unsigned form = (unsigned)(test_rand(st) % 5);
	mimeo_buf spec = MIMEO_BUF_INIT;

	rnd_pick(st, &spec, rnd_locals, sizeof(rnd_locals) / sizeof(rnd_locals[0]));
	mimeo_buf_puts(&spec, "@");
	rnd_pick(st, &spec, rnd_domains, sizeof(rnd_domains) / sizeof(rnd_domains[0]));
	mimeo_buf_put(&spec, "", 0);
	if (form == 0) {
		mimeo_buf_puts(b, spec.ptr);
	} else if (form == 1) {
		mimeo_buf_puts(b, spec.ptr);
		mimeo_buf_puts(b, " (");
		rnd_pick(st, b, rnd_names, 3);
		mimeo_buf_puts(b, ")");
	} else {
		rnd_pick(st, b, rnd_names, sizeof(rnd_names) / sizeof(rnd_names[0]));
		mimeo_buf_puts(b, form == 4 ? " <@relay.example:" : " <");
		mimeo_buf_puts(b, spec.ptr);
		mimeo_buf_puts(b, ">");
	}
	mimeo_buf_dispose(&spec);
}

/* What to7bit must turn the parsed list `l` into, as list_str() writes
 * it: ASCII mailboxes as they are, each non-ASCII local part an empty
 * group after the group it was in (domains here are all ASCII). */
static void expected_list(const mimeo_address_list *l, mimeo_buf *out)
{
	size_t i = 0, j, k;

	while (i < l->count) {
		const char *g = l->items[i].group;
		size_t kept = 0;

		for (j = i; j < l->count && l->items[j].group == g && (g || j == i); j++)
			;
		for (k = i; k < j; k++) {
			const mimeo_address *a = &l->items[k];

			if (!a->local_part || has_high(a->local_part))
				continue;
			put_entry(out, a->group, a->display_name, a->local_part, a->domain);
			kept++;
		}
		if (g && !kept)
			put_entry(out, g, NULL, NULL, NULL);
		for (k = i; k < j; k++) {
			const mimeo_address *a = &l->items[k];

			mimeo_buf name = MIMEO_BUF_INIT;

			if (!a->local_part || !has_high(a->local_part))
				continue;
			if (a->display_name) {
				mimeo_buf_puts(&name, a->display_name);
				mimeo_buf_puts(&name, " ");
			}
			mimeo_buf_puts(&name, a->local_part);
			mimeo_buf_puts(&name, "@");
			mimeo_buf_puts(&name, a->domain);
			mimeo_buf_put(&name, "", 0);
			put_entry(out, name.ptr, NULL, NULL, NULL);
			mimeo_buf_dispose(&name);
		}
		i = j;
	}
	mimeo_buf_put(out, "", 0);
}

START_TEST(address_lists_survive_conversion)
{
	uint64_t st = 0x5eed + (uint64_t)_i;
	int round;

	for (round = 0; round < 200; round++) {
		mimeo_buf in = MIMEO_BUF_INIT, want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
		mimeo_address_list *l;
		unsigned n = 1 + (unsigned)(test_rand(&st) % 5), i, k;
		size_t len, nw;
		char *v;

		/* an 8-bit first mailbox, so the field is always rewritten */
		mimeo_buf_puts(&in, "J\xc3\xb6rg <j@example.org>");
		for (i = 0; i < n; i++) {
			mimeo_buf_puts(&in, ", ");
			if (test_rand(&st) % 3 == 0) {
				unsigned members = (unsigned)(test_rand(&st) % 3);

				rnd_pick(&st, &in, rnd_names, 4);
				mimeo_buf_puts(&in, ":");
				for (k = 0; k < members; k++) {
					mimeo_buf_puts(&in, k ? ", " : " ");
					rnd_mailbox(&st, &in);
				}
				mimeo_buf_puts(&in, ";");
			} else {
				rnd_mailbox(&st, &in);
			}
		}
		mimeo_buf_put(&in, "", 0);
		ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, in.ptr, in.size),
				 MIMEO_OK);
		expected_list(l, &want);
		mimeo_address_list_free(l);
		v = convert_field("To", in.ptr, &len, &nw);
		check_phrase_words(v);
		list_str(v, len, &got);
		ck_assert_msg(strcmp(got.ptr, want.ptr) == 0,
			      "round %d: %s\nbecame %s\nwant %s\ngot  %s", round, in.ptr, v,
			      want.ptr, got.ptr);
		free(v);
		mimeo_buf_dispose(&in);
		mimeo_buf_dispose(&want);
		mimeo_buf_dispose(&got);
	}
}
END_TEST

START_TEST(failing_allocator_sweep)
{
	static const char msg[] =
		"From: J\xc3\xb6rg <j@example.org>\n"
		"To: G\xc3\xa4ste: x@b\xc3\xbc.example, j\xc3\xb6@example.org;, (\xc3\xa4)\n"
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
	tcase_add_test(tc, empty_angle_address_message);
	tcase_add_loop_test(tc, address_fields_stay_address_lists, 0,
			    (int)(sizeof(addr_cases) / sizeof(addr_cases[0])));
	tcase_add_loop_test(tc, address_lists_survive_conversion, 0, 4);
	tcase_add_loop_test(tc, mime_fields_keep_the_structure, 0,
			    (int)(sizeof(mime_field_cases) / sizeof(mime_field_cases[0])));
	tcase_add_loop_test(tc, malformed_inputs_become_7bit, 0, 6);
	tcase_add_loop_test(tc, eight_bit_boundaries_get_a_new_one, 0,
			    (int)(sizeof(boundary_cases) / sizeof(boundary_cases[0])));
	tcase_add_test(tc, nested_new_boundaries_differ);
	tcase_add_test(tc, overlong_boundary_gets_a_new_one);
	tcase_add_loop_test(tc, envelope_line_is_cut_not_folded, 0, 2);
	tcase_add_loop_test(tc, encoded_messages_keep_their_parts, 0,
			    (int)(sizeof(encoded_message_cases) / sizeof(encoded_message_cases[0])));
	tcase_add_test(tc, repo_corpus);
	tcase_add_test(tc, shared_corpus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(to7bit_suite());
}
