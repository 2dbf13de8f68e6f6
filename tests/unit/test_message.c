/*
 * test_message.c - the message tree (mimeo/message.h): structure and
 * section numbers, headers, bodies, offsets, pick_body, the file/fd/stream
 * entry points, the filename sanitiser, and every allocation failure.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "tree_testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mimeo.h"

/* The bundled samples (corpus/NAME.eml) were generated once; these are the
 * facts about them that the tests check. */
#define PNG_SIZE 463
#define PDF_SIZE 3075
static const char plain_text[] =
	"Hello Zo\xc3\xab,\n\nthe quarterly report is attached, and the logo you asked for.\n"
	"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x80\x94 J\xc3\xbcrgen\n";

static mimeo_message *parse_sample(const char *name, char **data, size_t *len)
{
	mimeo_message *m = NULL;

	*data = test_read_data(name, len);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, *data, *len, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* "section type/subtype" of every node in depth-first order, joined by
 * '|': a compact picture of a tree. */
static void tree_string(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		if (p != mimeo_message_root(m))
			mimeo_buf_puts(out, "|");
		mimeo_buf_puts(out, mimeo_part_section(p));
		mimeo_buf_puts(out, " ");
		mimeo_buf_puts(out, mimeo_part_type(p));
		mimeo_buf_puts(out, "/");
		mimeo_buf_puts(out, mimeo_part_subtype(p));
	}
}

static void assert_tree(const mimeo_message *m, const char *want)
{
	mimeo_buf b = MIMEO_BUF_INIT;

	tree_string(m, &b);
	ck_assert_str_eq(b.ptr ? b.ptr : "", want);
	mimeo_buf_dispose(&b);
}

/* The decoded body of node p (mimeo_part_decode_buf), into *out. */
static void decode_body(const mimeo_part *p, mimeo_buf *out)
{
	mimeo_buf_clear(out);
	ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, out, NULL), MIMEO_OK);
	ck_assert_uint_eq(out->size, mimeo_part_size(p));
}

/* The decoded body of node p is exactly want[0..n). */
static void assert_body(const mimeo_part *p, const char *want, size_t n)
{
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_ptr_nonnull(p);
	decode_body(p, &b);
	ck_assert_uint_eq(b.size, n);
	ck_assert(n == 0 || memcmp(b.ptr, want, n) == 0);
	mimeo_buf_dispose(&b);
}

START_TEST(sample_structure)
{
	char *data;
	size_t len;
	mimeo_message *m = parse_sample("sample.eml", &data, &len);
	const mimeo_part *root = mimeo_message_root(m), *p;

	assert_tree(m, " multipart/mixed|1 multipart/alternative|1.1 text/plain|"
		       "1.2 text/html|2 image/png|3 application/pdf");
	ck_assert_uint_eq(mimeo_message_part_count(m), 6);
	ck_assert(mimeo_part_is_multipart(root));
	ck_assert(!mimeo_part_is_leaf(root));
	ck_assert_ptr_null(mimeo_part_parent(root));
	ck_assert_uint_eq(mimeo_part_child_count(root), 3);
	ck_assert_uint_eq(mimeo_part_depth(root), 0);
	ck_assert_str_eq(mimeo_part_param(root, "BOUNDARY"), "==outer==");

	p = mimeo_message_find_section(m, "1.1");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(mimeo_part_depth(p), 2);
	ck_assert_str_eq(mimeo_part_charset(p), "utf-8");
	ck_assert_int_eq(mimeo_part_cte(p), MIMEO_CTE_QP);
	ck_assert_str_eq(mimeo_part_cte_name(p), "quoted-printable");
	ck_assert_ptr_null(mimeo_part_disposition(p));
	ck_assert_ptr_null(mimeo_part_filename(p));
	ck_assert_str_eq(mimeo_part_section(mimeo_part_parent(p)), "1");
	ck_assert_ptr_eq(mimeo_part_parent(mimeo_part_parent(p)), root);
	ck_assert_str_eq(mimeo_part_section(mimeo_part_next_sibling(p)), "1.2");
	ck_assert_ptr_null(mimeo_part_next_sibling(mimeo_part_next_sibling(p)));
	ck_assert_str_eq(mimeo_part_charset(mimeo_message_find_section(m, "1.2")), "utf-8");

	p = mimeo_message_find_section(m, "2");
	ck_assert_str_eq(mimeo_part_disposition(p), "inline");
	ck_assert_str_eq(mimeo_part_filename(p), "logo.png");
	ck_assert_ptr_null(mimeo_part_charset(p));
	ck_assert_str_eq(mimeo_part_cte_name(p), "base64");

	p = mimeo_message_find_section(m, "3");
	ck_assert_str_eq(mimeo_part_disposition(p), "attachment");
	/* RFC 2231 filename wins over the RFC 2047 name parameter */
	ck_assert_str_eq(mimeo_part_filename(p), "R\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 Q3.pdf");
	ck_assert_str_eq(mimeo_part_param(p, "name"), "R\xc3\xa9sum\xc3\xa9 Q3.pdf");
	ck_assert_str_eq(mimeo_part_disposition_param(p, "filename"),
			 "R\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 Q3.pdf");

	ck_assert_ptr_eq(mimeo_message_find_section(m, ""), root);
	ck_assert_ptr_null(mimeo_message_find_section(m, "4"));
	ck_assert_ptr_null(mimeo_message_find_section(m, "1.3"));
	ck_assert_ptr_null(mimeo_message_find_section(m, "1."));
	mimeo_message_free(m);
	free(data);
}
END_TEST

START_TEST(sample_bodies_and_text)
{
	char *data;
	size_t len, n;
	mimeo_message *m = parse_sample("sample.eml", &data, &len);
	const mimeo_part *p;
	const unsigned char *b;
	mimeo_buf t = MIMEO_BUF_INIT, body = MIMEO_BUF_INIT;
	unsigned repairs = 0;

	p = mimeo_message_find_section(m, "1.1");
	decode_body(p, &body);
	b = (const unsigned char *)body.ptr;
	n = body.size;
	ck_assert_uint_eq(n, strlen(plain_text));
	ck_assert(memcmp(b, plain_text, n) == 0);
	ck_assert_int_eq(mimeo_part_text(p, NULL, &t, &repairs), MIMEO_OK);
	ck_assert_str_eq(t.ptr, plain_text);
	ck_assert_uint_eq(repairs, 0);

	decode_body(mimeo_message_find_section(m, "2"), &body);
	b = (const unsigned char *)body.ptr;
	n = body.size;
	ck_assert_uint_eq(n, PNG_SIZE);
	ck_assert(memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
	ck_assert(memcmp(b + n - 8, "IEND\xae\x42\x60\x82", 8) == 0);

	decode_body(mimeo_message_find_section(m, "3"), &body);
	b = (const unsigned char *)body.ptr;
	n = body.size;
	ck_assert_uint_eq(n, PDF_SIZE);
	ck_assert(memcmp(b, "%PDF-1.4\n", 9) == 0);
	ck_assert(memcmp(b + n - 6, "%%EOF\n", 6) == 0);

	/* encoded bodies have no zero-copy view (issue 13) */
	ck_assert_ptr_null(mimeo_part_body(mimeo_message_find_section(m, "2"), &n));
	ck_assert_uint_eq(n, 0);
	/* multiparts have no body of their own */
	ck_assert_ptr_nonnull(mimeo_part_body(mimeo_message_root(m), &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(mimeo_part_size(mimeo_message_root(m)), 0);
	decode_body(mimeo_message_root(m), &body);
	ck_assert_uint_eq(body.size, 0);
	mimeo_buf_dispose(&t);
	mimeo_buf_dispose(&body);
	mimeo_message_free(m);
	free(data);
}
END_TEST

START_TEST(sample_headers)
{
	char *data;
	size_t len, n, i;
	mimeo_message *m = parse_sample("sample.eml", &data, &len);
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_buf d = MIMEO_BUF_INIT;
	const char *v;
	static const char *names[] = { "From", "To", "Subject", "Date", "Message-ID",
				       "MIME-Version", "Content-Type" };

	ck_assert_uint_eq(mimeo_part_header_count(root), 7);
	for (i = 0; i < 7; i++)
		ck_assert_str_eq(mimeo_part_header_name(root, i), names[i]);
	ck_assert_ptr_null(mimeo_part_header_name(root, 7));
	ck_assert_ptr_null(mimeo_part_header_raw(root, 7, &n));
	ck_assert_int_eq(mimeo_part_header_decoded(root, 7, NULL, NULL, &d), MIMEO_ENOTFOUND);

	v = mimeo_part_header_raw(root, 2, &n);
	ck_assert_str_eq(v, "=?UTF-8?Q?Quartalsbericht_Q3_=E2=80=94_mit_Logo?=");
	ck_assert_uint_eq(n, strlen(v));
	ck_assert_int_eq(mimeo_part_header_decoded(root, 2, NULL, NULL, &d), MIMEO_OK);
	ck_assert_str_eq(d.ptr, "Quartalsbericht Q3 \xe2\x80\x94 mit Logo");

	v = mimeo_part_get_header(root, "message-id", &n);
	ck_assert_str_eq(v, "<20261123.1@example.com>");
	ck_assert_ptr_null(mimeo_part_get_header(root, "X-Missing", NULL));
	/* a child's fields are its own */
	ck_assert_uint_eq(mimeo_part_header_count(mimeo_message_find_section(m, "3")), 3);
	v = mimeo_part_get_header(mimeo_message_find_section(m, "3"), "Content-Disposition", &n);
	ck_assert_str_eq(v, "attachment;\n filename*=UTF-8''R%C3%A9sum%C3%A9%20%E2%80%94%20Q3.pdf");
	mimeo_buf_dispose(&d);
	mimeo_message_free(m);
	free(data);
}
END_TEST

/* [header_start, end) is the part as written: writing the source slices
 * back gives the original bytes. */
START_TEST(sample_offsets)
{
	char *data;
	size_t len, n;
	mimeo_message *m = parse_sample("sample.eml", &data, &len);
	const char *src = mimeo_message_source(m, &n);
	const mimeo_part *p;
	uint64_t hs, bs, end;
	const char *qp_start;

	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(src, data, len) == 0);
	ck_assert(src != data); /* copied once */

	mimeo_part_offsets(mimeo_message_root(m), &hs, &bs, &end);
	ck_assert_uint_eq(hs, 0);
	ck_assert(memcmp(src + bs, "This is a multi-part message", 28) == 0);
	ck_assert_uint_le(end, len);

	p = mimeo_message_find_section(m, "2");
	mimeo_part_offsets(p, &hs, &bs, &end);
	ck_assert(memcmp(src + hs, "Content-Type: image/png;", 24) == 0);
	ck_assert(memcmp(src + bs, "iVBORw0KGgo", 11) == 0);
	ck_assert(memcmp(src + end, "\n--==outer==\n", 13) == 0);

	p = mimeo_message_find_section(m, "1.1");
	mimeo_part_offsets(p, &hs, &bs, &end);
	qp_start = strstr(data, "Hello Zo=C3=AB");
	ck_assert_uint_eq(bs, (uint64_t)(qp_start - data));
	ck_assert(memcmp(src + end, "\n--==alt==", 10) == 0);
	ck_assert(memcmp(src + hs, "Content-Type: text/plain; charset=utf-8\n", 40) == 0);

	p = mimeo_message_find_section(m, "1");
	mimeo_part_offsets(p, &hs, NULL, &end);
	ck_assert(memcmp(src + hs, "Content-Type: multipart/alternative", 35) == 0);
	ck_assert(memcmp(src + end - 12, "--==alt==--\n", 12) == 0 ||
		  memcmp(src + end - 11, "--==alt==--", 11) == 0);
	mimeo_message_free(m);
	free(data);
}
END_TEST

START_TEST(forward_nested_messages)
{
	char *data;
	size_t len;
	mimeo_message *m = parse_sample("forward.eml", &data, &len);
	const mimeo_part *p, *inner;

	/* RFC 3501 6.4.5: the message/rfc822 part "2" and the multipart
	 * root of its message share the number; "3.1" is the body of the
	 * single-part message in part 3. */
	assert_tree(m, " multipart/mixed|1 text/plain|2 message/rfc822|2 multipart/mixed|"
		       "2.1 text/plain|2.2 text/csv|3 message/rfc822|3.1 text/plain");
	p = mimeo_message_find_section(m, "2");
	ck_assert(mimeo_part_is_message(p));
	ck_assert(!mimeo_part_is_leaf(p));
	ck_assert_uint_eq(mimeo_part_child_count(p), 1);
	inner = mimeo_part_first_child(p);
	ck_assert(mimeo_part_is_multipart(inner));
	ck_assert_str_eq(mimeo_part_get_header(inner, "Subject", NULL), "Original message");
	ck_assert_ptr_null(mimeo_part_get_header(p, "Subject", NULL));
	ck_assert_str_eq(mimeo_part_disposition(p), "inline");

	p = mimeo_message_find_section(m, "2.1");
	ck_assert_str_eq(mimeo_part_charset(p), "iso-8859-1");
	/* RFC 2046 5.1.1: the line break before a boundary belongs to it */
	assert_body(p, "Caf\xe9 at nine?", 13);
	{
		mimeo_buf t = MIMEO_BUF_INIT;

		ck_assert_int_eq(mimeo_part_text(p, NULL, &t, NULL), MIMEO_OK);
		ck_assert_str_eq(t.ptr, "Caf\xc3\xa9 at nine?");
		mimeo_buf_dispose(&t);
	}
	p = mimeo_message_find_section(m, "2.2");
	ck_assert_str_eq(mimeo_part_filename(p), "numbers.csv");
	assert_body(p, "a,b,c\n1,2,3", 11);

	p = mimeo_message_find_section(m, "3.1");
	ck_assert(mimeo_part_is_leaf(p));
	ck_assert_str_eq(mimeo_part_get_header(p, "Subject", NULL), "single part inside");
	assert_body(p, "Just text.", 10);
	mimeo_message_free(m);
	free(data);
}
END_TEST

/* The push parser's mimeo_part_info.section and the tree's
 * mimeo_part_section() are the same RFC 3501 6.4.5 numbers, part by part:
 * each case is checked fed whole and byte by byte (tree_testlib.c also
 * checks the part_begin value and that the pointer stays put). */
START_TEST(parser_and_tree_sections)
{
	static const struct {
		unsigned flags;
		const char *in, *want;
	} cases[] = {
		/* single-part: BODY[1] is its body */
		{ 0, "Subject: a\n\nbody\n", "[1] | " },
		{ 0, "", "[1] | " },
		{ 0, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\n--b--\n",
		  "[] [1] [2] | " },
		/* multipart without boundary: an opaque leaf, so numbered 1 */
		{ 0, "Content-Type: multipart/mixed\n\n--b\n\nA\n--b--\n", "[1] | " },
		/* top-level message/rfc822, single-part and multipart inside */
		{ 0, "Content-Type: message/rfc822\n\nSubject: in\n\nx\n", "[1] [1.1] | " },
		{ 0, "Content-Type: message/rfc822\n\n"
		     "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nA\n--i\n\nB\n--i--\n",
		  "[1] [1] [1.1] [1.2] | " },
		/* nested: a message in a message in a multipart */
		{ 0, "Content-Type: multipart/mixed; boundary=o\n\n--o\n\ntext\n"
		     "--o\nContent-Type: message/rfc822\n\n"
		     "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nA\n"
		     "--i\nContent-Type: message/rfc822\n\nSubject: deep\n\nD\n--i--\n--o--\n",
		  "[] [1] [2] [2] [2.1] [2.2] [2.2.1] | " },
		/* the same message/rfc822 base64-encoded by a gateway */
		{ 0, "Content-Type: multipart/mixed; boundary=o\n\n--o\n\ntext\n"
		     "--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
		     "U3ViamVjdDogaW5uZXIKCmJvZHkK\n--o--\n",
		  "[] [1] [2] [2.1] | " },
		/* digest: children default to message/rfc822 (RFC 2046 5.1.5) */
		{ 0, "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n1\n"
		     "--d\n\nContent-Type: multipart/alternative; boundary=a\n\n--a\n\nx\n--a--\n"
		     "--d\nContent-Type: text/plain\n\nnote\n--d--\n",
		  "[] [1] [1.1] [2] [2] [2.1] [3] | " },
		/* a message/rfc822 part cut short before its message began */
		{ 0, "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
		     "Content-Type: message/rfc822\n--a--\n", "[] [1] [1.1] | " },
		/* mbox: each message is numbered on its own */
		{ MIMEO_PARSE_MBOX, "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nx\n\n"
		     "From c@d Mon Jan  1 00:00:00 2024\n"
		     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b--\n\n"
		     "From e@f Mon Jan  1 00:00:00 2024\nContent-Type: message/rfc822\n\n"
		     "Subject: in\n\ny\n",
		  "[1] | [] [1] | [1] [1.1] | " },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[32], *whole, *bytes;

		snprintf(what, sizeof(what), "case %zu", i);
		whole = test_sections_agree(cases[i].in, strlen(cases[i].in), cases[i].flags, 0,
					    what);
		bytes = test_sections_agree(cases[i].in, strlen(cases[i].in), cases[i].flags, 1,
					    what);
		ck_assert_msg(!strcmp(whole, cases[i].want), "%s: %s, want %s", what, whole,
			      cases[i].want);
		ck_assert_str_eq(bytes, whole);
		free(whole);
		free(bytes);
	}
}
END_TEST

START_TEST(digest_defaults)
{
	char *data;
	size_t len;
	mimeo_message *m = parse_sample("digest.eml", &data, &len);

	/* RFC 2046 5.1.5: parts of a digest default to message/rfc822 */
	assert_tree(m, " multipart/digest|1 message/rfc822|1.1 text/plain|2 message/rfc822|"
		       "2.1 text/plain|3 text/plain");
	assert_body(mimeo_message_find_section(m, "1.1"), "First message.\n", 15);
	ck_assert_str_eq(mimeo_part_get_header(mimeo_message_find_section(m, "2.1"), "Subject",
					       NULL), "second");
	mimeo_message_free(m);
	free(data);
}
END_TEST

START_TEST(single_part_crlf)
{
	char *data;
	size_t len;
	mimeo_message *m = parse_sample("crlf.eml", &data, &len);
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_buf t = MIMEO_BUF_INIT;

	/* a single-part message's root is its body: section "1" */
	assert_tree(m, "1 text/plain");
	ck_assert(mimeo_part_is_leaf(root));
	ck_assert_ptr_eq(mimeo_message_find_section(m, "1"), root);
	ck_assert_ptr_eq(mimeo_message_find_section(m, ""), root);
	assert_body(root, "Caf\xe9 au lait, soft break.\r\n", 27);
	ck_assert_int_eq(mimeo_part_text(root, NULL, &t, NULL), MIMEO_OK);
	ck_assert_str_eq(t.ptr, "Caf\xc3\xa9 au lait, soft break.\r\n");
	mimeo_buf_clear(&t);
	ck_assert_int_eq(mimeo_part_header_decoded(root, 1, NULL, NULL, &t), MIMEO_OK);
	ck_assert_str_eq(t.ptr, "CRLF caf\xc3\xa9");
	mimeo_buf_dispose(&t);
	mimeo_message_free(m);
	free(data);
}
END_TEST

static mimeo_message *parse_str(const char *s)
{
	mimeo_message *m = NULL;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, s, strlen(s), NULL), MIMEO_OK);
	return m;
}

START_TEST(pick_body_rules)
{
	mimeo_message *m;
	char *data;
	size_t len;
	const mimeo_part *p;

	m = parse_sample("sample.eml", &data, &len);
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/plain")), "1.1");
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/html")), "1.2");
	mimeo_message_free(m);
	free(data);

	m = parse_sample("forward.eml", &data, &len);
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/plain")), "1");
	/* no html anywhere: the plain text is shown instead */
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/html")), "1");
	mimeo_message_free(m);
	free(data);

	/* related: the start part by Content-ID, not the first child */
	m = parse_str("Content-Type: multipart/related; boundary=r; start=\"<b@x>\"\n\n"
		      "--r\nContent-Type: text/html\nContent-ID: <a@x>\n\nA\n"
		      "--r\nContent-Type: multipart/alternative; boundary=q\nContent-ID: <b@x>\n\n"
		      "--q\nContent-Type: text/plain\n\nplain\n--q\nContent-Type: text/html\n\nhtml\n"
		      "--q--\n--r--\n");
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/html")), "2.2");
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/plain")), "2.1");
	mimeo_message_free(m);

	/* mixed: attachments are skipped even when they are text */
	m = parse_str("Content-Type: multipart/mixed; boundary=z\n\n"
		      "--z\nContent-Type: text/plain\nContent-Disposition: attachment\n\nfile\n"
		      "--z\nContent-Type: image/gif\n\nGIF\n"
		      "--z\nContent-Type: text/plain\n\nthe body\n--z--\n");
	p = mimeo_message_pick_body(m, "text/plain");
	ck_assert_str_eq(mimeo_part_section(p), "3");
	mimeo_message_free(m);

	/* a forwarded message's text is not the body: an HTML-only message
	 * with a forwarded text/plain message shows its HTML (the example
	 * mail client picked "inner body" for client.eml) */
	m = parse_sample("client.eml", &data, &len);
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/plain")), "1.1");
	ck_assert_str_eq(mimeo_part_section(mimeo_message_pick_body(m, "text/html")), "1.1");
	mimeo_message_free(m);
	free(data);
	m = parse_str("Content-Type: multipart/mixed; boundary=z\n\n"
		      "--z\nContent-Type: message/rfc822\n\nSubject: fwd\n\nforwarded\n--z--\n");
	ck_assert_ptr_null(mimeo_message_pick_body(m, "text/plain"));
	mimeo_message_free(m);
	/* ...but a message that is itself message/rfc822 shows what it holds */
	m = parse_str("Content-Type: message/rfc822\n\nSubject: inner\n\ninner text\n");
	p = mimeo_message_pick_body(m, "text/plain");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(mimeo_part_type(p), "text");
	mimeo_message_free(m);

	/* nothing to show */
	m = parse_str("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n");
	ck_assert_ptr_null(mimeo_message_pick_body(m, "text/plain"));
	ck_assert_ptr_null(mimeo_message_pick_body(m, "text/html"));
	mimeo_message_free(m);
}
END_TEST

/* A name ending in .gz: not gzip at all is read as it is (zlib's
 * transparent mode, documented); a gzip header followed by garbage is
 * MIMEO_EIO, errno EBADMSG and a reason (issue 14). */
START_TEST(gz_names)
{
	static const char msg[] = "Subject: plain\n\nnot compressed\n";
	static const char bad[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage-garbage";
	char path[] = "/tmp/mimeo-test-XXXXXX.eml.gz";
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	const char *reason = NULL;
	mimeo_buf t = MIMEO_BUF_INIT;
	mimeo_message *m;
	int fd = mkstemps(path, 7);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, msg, sizeof(msg) - 1), (int)sizeof(msg) - 1);
	close(fd);
	o.reason = &reason;
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_OK);
	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, NULL, &t),
			 MIMEO_OK);
	ck_assert_str_eq(t.ptr, "plain");
	mimeo_buf_clear(&t);
	ck_assert_int_eq(mimeo_part_decode_buf(mimeo_message_root(m), 0, NULL, &t, NULL), MIMEO_OK);
	ck_assert_str_eq(t.ptr, "not compressed\n");
	mimeo_message_free(m);

	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, bad, sizeof(bad) - 1), (int)sizeof(bad) - 1);
	close(fd);
	errno = 0;
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_str_eq(reason, "the compressed file is corrupt (bad gzip data)");
	/* the reader says the same through its own calls */
	{
		mimeo_reader *r;
		char buf[64];
		size_t got;

		ck_assert_int_eq(mimeo_reader_open(&r, path, -1, 0, NULL), MIMEO_OK);
		errno = 0;
		ck_assert_int_eq(mimeo_reader_read(buf, sizeof(buf), &got, r), MIMEO_EIO);
		ck_assert_int_eq(errno, EBADMSG);
		ck_assert_str_ne(mimeo_reader_error(r), "no error");
		mimeo_reader_close(r);
	}
	unlink(path);
	mimeo_buf_dispose(&t);
}
END_TEST

/* The defect list (issue 14): kind, severity, offset and the part, in
 * input order, for broken.eml (every kind its comments name), an mbox
 * From_ line and a missing blank line in a single-part message (RFC
 * corners: before any part; the body's section "1"), a clean message (an
 * empty list), and a hostile one with more defects than are kept. */
START_TEST(defect_list)
{
	static const struct { int code, sev; uint64_t off; const char *section; } want[] = {
		{ MIMEO_DEFECT_MISSING_BLANK_LINE, MIMEO_DEFECT_WARN, 184, "1" },
		{ MIMEO_DEFECT_NO_BOUNDARY, MIMEO_DEFECT_CRIT, 402, "3" },
		{ MIMEO_DEFECT_UNKNOWN_CTE, MIMEO_DEFECT_WARN, 548, "4" },
		{ MIMEO_DEFECT_MISSING_CLOSE, MIMEO_DEFECT_WARN, 556, "" },
	};
	mimeo_message *m;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	mimeo_defect d;
	const mimeo_part *where;
	char *data;
	size_t len, i;

	m = parse_sample("broken.eml", &data, &len);
	ck_assert_uint_eq(mimeo_message_defect_count(m), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(mimeo_message_defect(m, i, &d, &where), MIMEO_OK);
		ck_assert_int_eq(d.code, want[i].code);
		ck_assert_int_eq(d.severity, want[i].sev);
		ck_assert_uint_eq(d.offset, want[i].off);
		ck_assert_str_eq(mimeo_part_section(where), want[i].section);
		ck_assert_ptr_nonnull(d.reason);
		ck_assert_uint_le(d.offset, len); /* the end of input: the missing close */
	}
	ck_assert_str_eq(mimeo_defect_name(d.code), "missing-close");
	/* past the end: ENOTFOUND, outputs cleared; NULL outputs are allowed */
	where = mimeo_message_root(m);
	ck_assert_int_eq(mimeo_message_defect(m, 4, &d, &where), MIMEO_ENOTFOUND);
	ck_assert_ptr_null(where);
	ck_assert_int_eq(mimeo_message_defect(m, (size_t)-1, NULL, NULL), MIMEO_ENOTFOUND);
	ck_assert_int_eq(mimeo_message_defect(m, 0, NULL, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_defect(NULL, 0, &d, &where), MIMEO_EINVAL);
	mimeo_message_free(m);
	free(data);

	/* a clean message has none */
	m = parse_sample("sample.eml", &data, &len);
	ck_assert_uint_eq(mimeo_message_defect_count(m), 0);
	ck_assert_int_eq(mimeo_message_defect(m, 0, &d, &where), MIMEO_ENOTFOUND);
	mimeo_message_free(m);
	free(data);

	/* single part: the body line without a blank line before it belongs
	 * to section "1" (the root of a single-part message) */
	m = parse_str("Subject: x\nno blank line\n");
	ck_assert_int_eq(mimeo_message_defect(m, 0, &d, &where), MIMEO_OK);
	ck_assert_int_eq(d.code, MIMEO_DEFECT_MISSING_BLANK_LINE);
	ck_assert_ptr_eq(where, mimeo_message_root(m));
	ck_assert_str_eq(mimeo_part_section(where), "1");
	ck_assert_uint_eq(d.offset, 11);
	mimeo_message_free(m);

	/* an envelope line before the first field: found before any part
	 * began, reported on the root */
	m = parse_str("From someone Mon Dec  7 10:00:00 2026\nSubject: x\n\nbody\n");
	ck_assert_int_eq(mimeo_message_defect(m, 0, &d, &where), MIMEO_OK);
	ck_assert_int_eq(d.code, MIMEO_DEFECT_MBOX_FROM);
	ck_assert_uint_eq(d.offset, 0);
	ck_assert_ptr_eq(where, mimeo_message_root(m));
	mimeo_message_free(m);
	/* ...which is no defect in an mbox message */
	o.flags = MIMEO_MESSAGE_MBOX;
	{
		static const char mbox[] = "From someone Mon Dec  7 10:00:00 2026\nSubject: x\n\nbody\n";

		ck_assert_int_eq(mimeo_message_parse_buffer(&m, mbox, strlen(mbox), &o), MIMEO_OK);
	}
	ck_assert_uint_eq(mimeo_message_defect_count(m), 0);
	mimeo_message_free(m);

	/* hostile: 3000 repeated delimiters, one defect each; the first
	 * MIMEO_MESSAGE_DEFECTS_KEPT are kept, all are counted */
	mimeo_buf_puts(&in, "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n");
	for (i = 0; i < 3000; i++) {
		mimeo_buf_puts(&in, "--b\n");
		mimeo_buf_puts(&in, "--b\n");
	}
	mimeo_buf_puts(&in, "--b--\n");
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, in.ptr, in.size, NULL), MIMEO_OK);
	ck_assert_uint_ge(mimeo_message_defect_count(m), 3000);
	ck_assert_int_eq(mimeo_message_defect(m, MIMEO_MESSAGE_DEFECTS_KEPT - 1, &d, &where),
			 MIMEO_OK);
	ck_assert_int_eq(d.code, MIMEO_DEFECT_REPEATED_DELIMITER);
	ck_assert_int_eq(mimeo_message_defect(m, MIMEO_MESSAGE_DEFECTS_KEPT, &d, &where),
			 MIMEO_ENOTFOUND);
	mimeo_message_free(m);
	mimeo_buf_dispose(&in);

	/* every code has a name; others are "unknown" */
	for (i = MIMEO_DEFECT_MISSING_BLANK_LINE; i <= MIMEO_DEFECT_NO_DELIMITER; i++)
		ck_assert_str_ne(mimeo_defect_name((int)i), "unknown");
	ck_assert_str_eq(mimeo_defect_name(MIMEO_DEFECT_NO_DELIMITER), "no-delimiter");
	ck_assert_str_eq(mimeo_defect_name(0), "unknown");
	ck_assert_str_eq(mimeo_defect_name(-1), "unknown");
	ck_assert_str_eq(mimeo_defect_name(14), "unknown");
}
END_TEST

/* Structure fingerprint: sections, types, offsets and bodies.  Returns the
 * first decoding failure (ENOMEM under a failing allocator). */
static int fingerprint_try(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;
	char line[256];
	mimeo_buf b = MIMEO_BUF_INIT;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		uint64_t hs, bs, end;
		int rc;

		mimeo_buf_clear(&b);
		rc = mimeo_part_decode_buf(p, 0, NULL, &b, NULL);
		if (rc != MIMEO_OK) {
			mimeo_buf_dispose(&b);
			return rc;
		}
		ck_assert_uint_eq(b.size, mimeo_part_size(p));
		mimeo_part_offsets(p, &hs, &bs, &end);
		snprintf(line, sizeof(line), "%s %s/%s %llu %llu %llu %zu\n", mimeo_part_section(p),
			 mimeo_part_type(p), mimeo_part_subtype(p), (unsigned long long)hs,
			 (unsigned long long)bs, (unsigned long long)end, b.size);
		mimeo_buf_puts(out, line);
		mimeo_buf_put(out, b.ptr ? b.ptr : "", b.size);
	}
	/* and the defect list (so the allocation sweep checks it too) */
	{
		mimeo_defect d;
		const mimeo_part *where;
		size_t i;

		for (i = 0; mimeo_message_defect(m, i, &d, &where) == MIMEO_OK; i++) {
			snprintf(line, sizeof(line), "defect %s %d %llu %s %s\n",
				 mimeo_defect_name(d.code), d.severity, (unsigned long long)d.offset,
				 mimeo_part_section(where), d.reason);
			mimeo_buf_puts(out, line);
		}
		ck_assert_uint_eq(i, mimeo_message_defect_count(m));
	}
	mimeo_buf_dispose(&b);
	return MIMEO_OK;
}

static void fingerprint(const mimeo_message *m, mimeo_buf *out)
{
	ck_assert_int_eq(fingerprint_try(m, out), MIMEO_OK);
}

static int failing_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	(void)ctx;
	(void)buf;
	(void)cap;
	(void)got;
	return MIMEO_EIO;
}

START_TEST(entry_points_agree)
{
	static const char *samples[] = { "sample.eml", "forward.eml", "digest.eml", "crlf.eml",
					 "broken.eml", "hostile-names.eml" };
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		mimeo_buf a = MIMEO_BUF_INIT, b = MIMEO_BUF_INIT;
		char path[4096], gzpath[] = "/tmp/mimeo-test-XXXXXX.eml.gz";
		mimeo_message_options borrow = MIMEO_MESSAGE_OPTIONS_INIT;
		test_chunk_reader r = { NULL, 0, 0, 42 + i, 7 };
		mimeo_message *m;
		size_t len;
		char *data = test_read_data(samples[i], &len);
		int fd, gfd;
		gzFile gz;

		snprintf(path, sizeof(path), "%s/tests/data/%s", test_source_dir(), samples[i]);
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
		fingerprint(m, &a);
		mimeo_message_free(m);

		borrow.flags = MIMEO_MESSAGE_BORROW;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, &borrow), MIMEO_OK);
		ck_assert_ptr_eq(mimeo_message_source(m, NULL), data);
		if (strcmp(samples[i], "forward.eml") == 0) {
			/* zero copy: an unencoded body is a slice of the input */
			const char *body = mimeo_part_body(mimeo_message_find_section(m, "1"), &len);

			ck_assert(body >= data && body + len <= data + strlen(data));
			ck_assert(memcmp(body, "See the forwarded message below.", 32) == 0);
			len = strlen(data);
		}
		fingerprint(m, &b);
		ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_message_free(m);

		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
		fingerprint(m, &b);
		ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_message_free(m);

		mimeo_buf_clear(&b);
		fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(mimeo_message_parse_fd(&m, fd, NULL), MIMEO_OK);
		close(fd);
		fingerprint(m, &b);
		ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_message_free(m);

		mimeo_buf_clear(&b);
		r.data = data;
		r.len = len;
		ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, NULL), MIMEO_OK);
		fingerprint(m, &b);
		ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_message_free(m);

		/* .gz through zlib */
		gfd = mkstemps(gzpath, 7);
		ck_assert_int_ge(gfd, 0);
		gz = gzdopen(gfd, "wb");
		ck_assert_int_eq(gzwrite(gz, data, (unsigned)len), (int)len);
		gzclose(gz);
		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_message_parse_file(&m, gzpath, NULL), MIMEO_OK);
		fingerprint(m, &b);
		ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_message_free(m);
		/* the same file cut in the middle of its gzip stream: MIMEO_EIO
		 * with a reason and errno EBADMSG (issue 14: errno was 0, and
		 * the reason the generic "cannot read the compressed file") */
		{
			mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
			const char *reason = NULL;
			struct stat st;

			o.reason = &reason;
			ck_assert_int_eq(stat(gzpath, &st), 0);
			ck_assert_int_eq(truncate(gzpath, st.st_size / 2), 0);
			errno = 0;
			ck_assert_int_eq(mimeo_message_parse_file(&m, gzpath, &o), MIMEO_EIO);
			ck_assert_ptr_null(m);
			ck_assert_int_eq(errno, EBADMSG);
			ck_assert_str_eq(reason,
					 "the compressed file is cut off (unexpected end of gzip data)");
		}
		unlink(gzpath);

		mimeo_buf_dispose(&a);
		mimeo_buf_dispose(&b);
		free(data);
	}
}
END_TEST

START_TEST(entry_point_errors)
{
	mimeo_message *m = (mimeo_message *)1;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	test_chunk_reader r = { "From: a\n\nbody\n", 14, 0, 1, 7 };

	ck_assert_int_eq(mimeo_message_parse_file(&m, "/nonexistent/x.eml", NULL), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(mimeo_message_parse_buffer(NULL, "x", 1, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, NULL, 1, NULL), MIMEO_EINVAL);
	{
		mimeo_message_options ro = MIMEO_MESSAGE_OPTIONS_INIT;
		const char *reason = NULL;

		ro.reason = &reason;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, NULL, 1, &ro), MIMEO_EINVAL);
		ck_assert_str_eq(reason, "NULL data with a non-zero length");
	}
	ck_assert_int_eq(mimeo_message_parse_fd(&m, -1, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_parse_stream(&m, failing_read, NULL, NULL), MIMEO_EIO);
	ck_assert_ptr_null(m);
	o.version = 99;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, "x", 1, &o), MIMEO_EINVAL);
	o.version = MIMEO_MESSAGE_OPTIONS_VERSION;
	o.max_input = 10;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o), MIMEO_ELIMIT);
	ck_assert_ptr_null(m);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/tests/data/sample.eml", test_source_dir());
		ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_ELIMIT);
		ck_assert_ptr_null(m);
		o.max_input = 6139; /* exactly the file's size */
		ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_OK);
		mimeo_message_free(m);
		o.max_input = 10;
	}
	/* empty input is an empty message, not an error */
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, NULL, 0, NULL), MIMEO_OK);
	ck_assert(mimeo_part_is_leaf(mimeo_message_root(m)));
	mimeo_message_free(m);
	mimeo_message_free(NULL);
}
END_TEST

START_TEST(parser_limits_pass_through)
{
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_buf in = MIMEO_BUF_INIT;
	mimeo_message *m;
	const mimeo_part *p;
	unsigned i, depth = 0;

	for (i = 0; i < 20; i++) {
		char line[96];

		snprintf(line, sizeof(line),
			 "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i, i);
		mimeo_buf_puts(&in, line);
	}
	mimeo_buf_puts(&in, "Content-Type: text/plain\n\ndeep\n");
	po.max_depth = 5;
	o.parser = &po;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, in.ptr, in.size, &o), MIMEO_OK);
	ck_assert(mimeo_message_limits_hit(m) & MIMEO_LIMIT_DEPTH);
	ck_assert_uint_gt(mimeo_message_defect_count(m), 0);
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
		if (mimeo_part_depth(p) > depth)
			depth = mimeo_part_depth(p);
	ck_assert_uint_le(depth, 5);
	mimeo_message_free(m);
	mimeo_buf_dispose(&in);
}
END_TEST

START_TEST(broken_input_is_not_an_error)
{
	char *data;
	size_t len, i;
	mimeo_message *m = parse_sample("broken.eml", &data, &len);
	const mimeo_part *p;
	size_t leaves = 0;
	uint64_t rng = 7;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
		leaves += mimeo_part_is_leaf(p) != 0;
	ck_assert_uint_ge(leaves, 3);
	ck_assert_uint_gt(mimeo_message_defect_count(m), 0);
	/* unknown encoding: raw bytes; unknown charset: UTF-8 if valid, else
	 * windows-1252, flagged */
	p = mimeo_message_find_section(m, "4");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mimeo_part_cte(p), MIMEO_CTE_UNKNOWN);
	ck_assert_str_eq(mimeo_part_cte_name(p), "x-unknown");
	ck_assert_str_eq(mimeo_part_charset(p), "x-no-such-charset");
	{
		mimeo_buf t = MIMEO_BUF_INIT;
		unsigned repairs = 0;
		size_t n;
		const char *body = mimeo_part_body(p, &n);

		ck_assert_uint_eq(n, 8);
		ck_assert(memcmp(body, "caf\xc3\xa9 \xff\n", 8) == 0);
		ck_assert_int_eq(mimeo_part_text(p, NULL, &t, &repairs), MIMEO_OK);
		ck_assert_str_eq(t.ptr, "caf\xc3\x83\xc2\xa9 \xc3\xbf\n");
		ck_assert(repairs & MIMEO_REPAIR_UNKNOWN_CHARSET);
		mimeo_buf_dispose(&t);
	}
	/* a multipart without boundary is kept whole as one opaque leaf */
	p = mimeo_message_find_section(m, "3");
	ck_assert(mimeo_part_is_leaf(p));
	ck_assert(mimeo_part_flags(p) & MIMEO_PART_OPAQUE);
	ck_assert_str_eq(mimeo_part_subtype(p), "alternative");
	mimeo_message_free(m);
	free(data);

	/* random bytes and random cuts of a real sample: always a tree */
	data = test_read_data("sample.eml", &len);
	for (i = 0; i < 300; i++) {
		char junk[2048];
		size_t n = (size_t)(test_rand(&rng) % sizeof(junk));

		if (i % 2) {
			test_rand_bytes(&rng, junk, n);
		} else {
			n = (size_t)(test_rand(&rng) % len);
			memcpy(junk, data, n < sizeof(junk) ? n : sizeof(junk));
			if (n > sizeof(junk))
				n = sizeof(junk);
		}
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, junk, n, NULL), MIMEO_OK);
		for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
			uint64_t hs, bs, end;

			mimeo_part_offsets(p, &hs, &bs, &end);
			ck_assert_uint_le(hs, bs);
			ck_assert_uint_le(bs, end);
			ck_assert_uint_le(end, n);
		}
		mimeo_message_free(m);
	}
	free(data);
}
END_TEST

typedef struct sweep_input {
	const char *data;
	size_t len;
} sweep_input;

static int sweep_buffer(mimeo_message **m, const mimeo_allocator *alloc, unsigned long n,
			const void *ctx)
{
	const sweep_input *in = ctx;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;

	o.alloc = alloc;
	return mimeo_message_parse_buffer(m, in->data, in->len, &o);
}

/* the stream path (reading into the message's own buffer) */
static int sweep_stream(mimeo_message **m, const mimeo_allocator *alloc, unsigned long n,
			const void *ctx)
{
	const sweep_input *in = ctx;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	test_chunk_reader r = { in->data, in->len, 0, n, 7 };

	o.alloc = alloc;
	return mimeo_message_parse_stream(m, test_chunk_read, &r, &o);
}

START_TEST(every_allocation_failure)
{
	static const char *samples[] = { "sample.eml", "forward.eml", "broken.eml" };
	size_t s;

	for (s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
		sweep_input in;
		char *data = test_read_data(samples[s], &in.len);
		mimeo_buf want = MIMEO_BUF_INIT;
		mimeo_message *m;

		in.data = data;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, in.len, NULL), MIMEO_OK);
		fingerprint(m, &want);
		mimeo_message_free(m);
		/* body access allocates too: its failures are ENOMEM, never a
		 * wrong byte */
		ck_assert_uint_gt(test_parse_alloc_sweep(sweep_buffer, &in, fingerprint_try, &want,
							 samples[s]),
				  3);
		test_parse_alloc_sweep(sweep_stream, &in, NULL, NULL, samples[s]);
		mimeo_buf_dispose(&want);
		free(data);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Filename sanitiser                                                  */
/* ------------------------------------------------------------------ */

static const struct {
	const char *in;
	const char *want;
} names[] = {
	{ "report.pdf", "report.pdf" },
	{ "../../etc/passwd", "__._etc_passwd" },
	{ "..", "attachment" },
	{ ".", "attachment" },
	{ "", "attachment" },
	{ "   ", "attachment" },
	{ ".bashrc", "bashrc" },
	{ "...hidden", "hidden" },
	{ "C:\\Windows\\evil.exe", "C:_Windows_evil.exe" },
	{ "/etc/shadow", "_etc_shadow" },
	{ "a/../b", "a__._b" },
	{ "tab\there\nnl\x1b[31m.txt", "tab_here_nl_[31m.txt" },
	{ "name. ", "name" },
	{ "caf\xc3\xa9 \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9.pdf", "caf\xc3\xa9 \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9.pdf" },
	{ "bad\xff\xfe utf8", "bad__ utf8" },
	{ "c1\xc2\x85" "ctl", "c1_ctl" },
	{ "overlong\xc0\xafslash", "overlong__slash" },
	{ "del\x7f", "del_" },
	{ "a..b.txt", "a_.b.txt" },
	/* issue 11: bidi controls and line separators */
	{ "invoice\xe2\x80\xae" "fdp.exe", "invoice_fdp.exe" },
	{ "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad" "x", "____x" },
	{ "a\xe2\x81\xa6" "b\xe2\x81\xa7" "c\xe2\x81\xa8" "d\xe2\x81\xa9" "e", "a_b_c_d_e" },
	{ "l\xe2\x80\x8er\xe2\x80\x8f" "a\xd8\x9c.txt", "l_r_a_.txt" },
	{ "line\xe2\x80\xa8" "From: x\xe2\x80\xa9.txt", "line_From: x_.txt" },
	/* neighbours that stay: en dash U+2013, U+2030, U+2065, Arabic U+061B */
	{ "a\xe2\x80\x93" "b\xe2\x80\xb0\xe2\x81\xa5\xd8\x9b", "a\xe2\x80\x93" "b\xe2\x80\xb0\xe2\x81\xa5\xd8\x9b" },
};

START_TEST(sanitize_table)
{
	mimeo_buf b = MIMEO_BUF_INIT;

	mimeo_buf_puts(&b, "x");
	mimeo_buf_clear(&b);
	ck_assert_int_eq(mimeo_filename_sanitize(names[_i].in, strlen(names[_i].in), &b),
			 MIMEO_OK);
	ck_assert_msg(strcmp(b.ptr, names[_i].want) == 0, "sanitize(\"%s\") = \"%s\", want \"%s\"",
		      names[_i].in, b.ptr, names[_i].want);
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(sanitize_properties)
{
	uint64_t rng = 99;
	mimeo_buf b = MIMEO_BUF_INIT;
	char in[1200];
	int i;

	ck_assert_int_eq(mimeo_filename_sanitize(NULL, 0, &b), MIMEO_OK);
	ck_assert_str_eq(b.ptr, MIMEO_FILENAME_DEFAULT);
	for (i = 0; i < 3000; i++) {
		size_t n = (size_t)(test_rand(&rng) % sizeof(in)), k;

		test_rand_bytes(&rng, in, n);
		/* bias towards dots, slashes and multibyte characters */
		for (k = 0; k < n; k++) {
			unsigned r = (unsigned char)in[k] % 16;

			if (r == 0)
				in[k] = '.';
			else if (r == 1)
				in[k] = '/';
			else if (r == 2 && k + 1 < n) {
				in[k] = (char)0xc3;
				in[++k] = (char)0xa9;
			}
		}
		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_filename_sanitize(in, n, &b), MIMEO_OK);
		ck_assert_uint_ge(b.size, 1);
		ck_assert_uint_le(b.size, MIMEO_FILENAME_MAX);
		ck_assert_uint_eq(strlen(b.ptr), b.size);
		ck_assert_uint_eq(mimeo_utf8_valid_prefix(b.ptr, b.size), b.size);
		ck_assert_ptr_null(memchr(b.ptr, '/', b.size));
		ck_assert_ptr_null(memchr(b.ptr, '\\', b.size));
		ck_assert_ptr_null(strstr(b.ptr, ".."));
		ck_assert(b.ptr[0] != '.');
		for (k = 0; k < b.size; k++)
			ck_assert((unsigned char)b.ptr[k] >= 0x20 && b.ptr[k] != 0x7f);
	}
	/* long names: cut on a character boundary, extension kept */
	mimeo_buf_clear(&b);
	memset(in, 0, sizeof(in));
	for (i = 0; i < 300; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2);
	memcpy(in + 600, ".pdf", 4);
	ck_assert_int_eq(mimeo_filename_sanitize(in, 604, &b), MIMEO_OK);
	ck_assert_uint_le(b.size, 255);
	ck_assert_uint_ge(b.size, 250);
	ck_assert_str_eq(b.ptr + b.size - 4, ".pdf");
	ck_assert_uint_eq(mimeo_utf8_valid_prefix(b.ptr, b.size), b.size);
	/* appends */
	mimeo_buf_clear(&b);
	mimeo_buf_puts(&b, "dir-");
	ck_assert_int_eq(mimeo_filename_sanitize("x.txt", 5, &b), MIMEO_OK);
	ck_assert_str_eq(b.ptr, "dir-x.txt");
	mimeo_buf_dispose(&b);
}
END_TEST

START_TEST(sanitize_allocation_failure)
{
	unsigned long n;

	for (n = 1; n < 10; n++) {
		test_failing_alloc fa;
		mimeo_buf b;
		int rc;

		test_failing_alloc_init(&fa, n);
		mimeo_buf_init(&b, &fa.alloc);
		rc = mimeo_filename_sanitize("../report.pdf", 13, &b);
		ck_assert(rc == MIMEO_OK || rc == MIMEO_ENOMEM);
		if (rc == MIMEO_OK)
			ck_assert_str_eq(b.ptr, "_report.pdf");
		mimeo_buf_dispose(&b);
		ck_assert_int_eq(fa.live, 0);
	}
}
END_TEST


/* Signed and encrypted marks (issue 18): every kind in corpus/signed.eml,
 * plus the parameters that decide a mark. */
START_TEST(security_marks)
{
	static const struct { const char *section; unsigned sec; } want[] = {
		{ "", 0 },
		{ "1", MIMEO_SECURITY_SIGNED | MIMEO_SECURITY_PGP },
		{ "1.1", 0 },
		{ "1.2", MIMEO_SECURITY_SIGNATURE | MIMEO_SECURITY_PGP },
		{ "2", MIMEO_SECURITY_ENCRYPTED | MIMEO_SECURITY_PGP },
		{ "2.1", MIMEO_SECURITY_ENCRYPTED | MIMEO_SECURITY_PGP },
		{ "2.2", 0 },
		{ "3", MIMEO_SECURITY_ENCRYPTED | MIMEO_SECURITY_SMIME },
		{ "4", MIMEO_SECURITY_SIGNED | MIMEO_SECURITY_SMIME },
		{ "4.1", 0 },
		{ "4.2", MIMEO_SECURITY_SIGNATURE | MIMEO_SECURITY_SMIME },
		{ "5", MIMEO_SECURITY_SIGNED | MIMEO_SECURITY_SMIME },
		{ "6", MIMEO_SECURITY_KEYS | MIMEO_SECURITY_PGP },
	};
	const mimeo_part *p;
	mimeo_message *m;
	char *data;
	size_t len, i = 0;

	m = parse_sample("signed.eml", &data, &len);
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p), i++) {
		ck_assert_uint_lt(i, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq(mimeo_part_section(p), want[i].section);
		ck_assert_msg(mimeo_part_security(p) == want[i].sec, "section %s: %#x, want %#x",
			      want[i].section, mimeo_part_security(p), want[i].sec);
	}
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]));
	p = mimeo_message_find_section(m, "1");
	ck_assert_str_eq(mimeo_part_param(p, "micalg"), "pgp-sha256");
	ck_assert_str_eq(mimeo_part_param(p, "protocol"), "application/pgp-signature");
	ck_assert_str_eq(mimeo_part_param(mimeo_message_find_section(m, "5"), "smime-type"),
			 "signed-data");
	mimeo_message_free(m);
	free(data);
}
END_TEST

/* The smime-type and protocol parameters decide; case does not matter
 * (RFC 2045 5.1); an unknown smime-type or protocol keeps only what is
 * certain. */
START_TEST(security_parameters)
{
	static const struct { const char *ct; unsigned sec; } cases[] = {
		{ "application/pkcs7-mime", MIMEO_SECURITY_ENCRYPTED | MIMEO_SECURITY_SMIME },
		{ "application/x-pkcs7-mime; smime-type=\"authEnveloped-data\"",
		  MIMEO_SECURITY_ENCRYPTED | MIMEO_SECURITY_SMIME },
		{ "Application/PKCS7-MIME; SMIME-Type=Signed-Data",
		  MIMEO_SECURITY_SIGNED | MIMEO_SECURITY_SMIME },
		{ "application/pkcs7-mime; smime-type=certs-only",
		  MIMEO_SECURITY_KEYS | MIMEO_SECURITY_SMIME },
		{ "application/pkcs7-mime; smime-type=compressed-data",
		  MIMEO_SECURITY_COMPRESSED | MIMEO_SECURITY_SMIME },
		{ "application/pkcs7-mime; smime-type=future-data", MIMEO_SECURITY_SMIME },
		{ "application/x-pkcs7-signature", MIMEO_SECURITY_SIGNATURE | MIMEO_SECURITY_SMIME },
		{ "application/pgp-whatever", MIMEO_SECURITY_PGP },
		{ "application/pgp", 0 },
		{ "application/octet-stream", 0 },
		{ "text/pgp-signature", 0 },
		{ "multipart/signed; boundary=b; protocol=\"APPLICATION/X-PKCS7-SIGNATURE\"",
		  MIMEO_SECURITY_SIGNED | MIMEO_SECURITY_SMIME },
		{ "multipart/signed; boundary=b; protocol=\"application/unknown\"",
		  MIMEO_SECURITY_SIGNED },
		/* no boundary: kept whole, marked all the same */
		{ "multipart/signed", MIMEO_SECURITY_SIGNED },
		{ "multipart/encrypted; boundary=b", MIMEO_SECURITY_ENCRYPTED },
		{ "multipart/mixed; boundary=b; protocol=application/pgp-signature", 0 },
	};
	char msg[512];
	mimeo_message *m = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(msg, sizeof(msg), "Content-Type: %s\n\n--b\n\nx\n--b--\n",
				 cases[i].ct);

		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, (size_t)n, NULL), MIMEO_OK);
		ck_assert_msg(mimeo_part_security(mimeo_message_root(m)) == cases[i].sec,
			      "%s: %#x, want %#x", cases[i].ct,
			      mimeo_part_security(mimeo_message_root(m)), cases[i].sec);
		mimeo_message_free(m);
	}
	ck_assert_str_eq(mimeo_security_role_name(MIMEO_SECURITY_SIGNATURE | MIMEO_SECURITY_PGP),
			 "signature");
	ck_assert_str_eq(mimeo_security_scheme_name(MIMEO_SECURITY_SMIME), "smime");
	ck_assert_ptr_null(mimeo_security_role_name(MIMEO_SECURITY_PGP));
	ck_assert_ptr_null(mimeo_security_scheme_name(MIMEO_SECURITY_SIGNED));
}
END_TEST
static Suite *message_suite(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("tree");

	tcase_add_test(tc, sample_structure);
	tcase_add_test(tc, sample_bodies_and_text);
	tcase_add_test(tc, sample_headers);
	tcase_add_test(tc, sample_offsets);
	tcase_add_test(tc, forward_nested_messages);
	tcase_add_test(tc, digest_defaults);
	tcase_add_test(tc, parser_and_tree_sections);
	tcase_add_test(tc, single_part_crlf);
	tcase_add_test(tc, pick_body_rules);
	tcase_add_test(tc, defect_list);
	tcase_add_test(tc, gz_names);
	tcase_add_test(tc, entry_points_agree);
	tcase_add_test(tc, entry_point_errors);
	tcase_add_test(tc, parser_limits_pass_through);
	tcase_add_test(tc, broken_input_is_not_an_error);
	tcase_add_test(tc, every_allocation_failure);
	tcase_add_test(tc, security_marks);
	tcase_add_test(tc, security_parameters);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("sanitize");
	tcase_add_loop_test(tc, sanitize_table, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, sanitize_properties);
	tcase_add_test(tc, sanitize_allocation_failure);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(message_suite());
}
