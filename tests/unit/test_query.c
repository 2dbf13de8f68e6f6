/*
 * test_query.c - the one-call questions of mimeo/query.h: decoded headers
 * by name, addresses, dates, message ids, attachments, Content-ID look-up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

static mimeo_message *load(const char *name)
{
	char path[4096];
	mimeo_message *m = NULL;

	snprintf(path, sizeof(path), "%s/tests/data/%s", test_source_dir(), name);
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
	return m;
}

static mimeo_message *parse(const char *text)
{
	mimeo_message *m = NULL;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, text, strlen(text), NULL), MIMEO_OK);
	return m;
}

START_TEST(header_text_decodes_unfolds_and_squeezes)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_part_header_text(root, "subject", 0, NULL, NULL, &b), MIMEO_OK);
	/* TAB after "Re:", a folded line, runs of blanks: one space each */
	ck_assert_str_eq(b.ptr, "Re: Grüße aus Köln");
	/* the second To field */
	ck_assert_int_eq(mimeo_part_header_text(root, "To", 1, NULL, NULL, &b), MIMEO_OK);
	ck_assert_str_eq(b.ptr, "Zoë <zoe@example.com>");
	/* absent: ENOTFOUND and a printable "" */
	ck_assert_int_eq(mimeo_part_header_text(root, "To", 2, NULL, NULL, &b), MIMEO_ENOTFOUND);
	ck_assert_ptr_nonnull(b.ptr);
	ck_assert_str_eq(b.ptr, "");
	ck_assert_int_eq(mimeo_part_header_text(root, "X-None", 0, NULL, NULL, &b), MIMEO_ENOTFOUND);
	ck_assert_int_eq(mimeo_part_header_text(NULL, "Subject", 0, NULL, NULL, &b), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_part_header_text(root, NULL, 0, NULL, NULL, &b), MIMEO_EINVAL);
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

START_TEST(header_text_empty_value_is_empty_string)
{
	mimeo_message *m = parse("Subject:\r\nFrom: a@b\r\n\r\nbody\r\n");
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, NULL, &b),
			 MIMEO_OK);
	ck_assert_ptr_nonnull(b.ptr);
	ck_assert_str_eq(b.ptr, "");
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

START_TEST(header_text_raw_8bit_uses_part_charset)
{
	mimeo_message *m = load("big5-raw.eml");
	mimeo_buf b = MIMEO_BUF_INIT;
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;

	/* raw Big5 bytes, no encoded word: the part's charset=big5 reads them */
	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, NULL, &b),
			 MIMEO_OK);
	ck_assert_str_eq(b.ptr, "測試中文");
	/* a caller's default charset wins */
	o.default_charset = "windows-1252";
	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, &o, &b),
			 MIMEO_OK);
	ck_assert_str_ne(b.ptr, "測試中文");
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

/* Issue 15 class 10: raw header text that is UTF-8 but for one stray byte
 * keeps its UTF-8 words; only the stray byte is read as windows-1252 (the
 * whole word became windows-1252 mojibake). */
START_TEST(header_text_mixed_utf8_and_stray_bytes)
{
	mimeo_message *m = load("conformance/class10-mixed-header-words.eml");
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, NULL, &b),
			 MIMEO_OK);
	ck_assert_str_eq(b.ptr, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
				"\xd0\xbc\xd0\xb8\xd1\x80\xc3\xb1");
	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "X-Note", 0, NULL, NULL, &b),
			 MIMEO_OK);
	ck_assert_str_eq(b.ptr, "caf\xc3\xa9 \xd0\xbc\xd0\xb8\xd1\x80");
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

START_TEST(header_text_multipart_root_takes_first_text_charset)
{
	mimeo_message *m = parse("Subject: \xc0\xe1\xe2\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
				 "--b\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nx\r\n--b--\r\n");
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "Subject", 0, NULL, NULL, &b),
			 MIMEO_OK);
	ck_assert_str_eq(b.ptr, "юАБ");
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

START_TEST(addresses_by_name)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_address_list *l = NULL;

	ck_assert_int_eq(mimeo_part_addresses(&l, root, "From", NULL, NULL), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	/* a comment inside the display name stays in it */
	ck_assert_str_eq(l->items[0].display_name, "Jason Lee (Sales)");
	ck_assert_str_eq(l->items[0].local_part, "jason");
	ck_assert_str_eq(l->items[0].domain, "example.com");
	mimeo_address_list_free(l);

	/* two To fields are one list, in order */
	ck_assert_int_eq(mimeo_part_addresses(&l, root, "to", NULL, NULL), MIMEO_OK);
	ck_assert_uint_eq(l->count, 3);
	ck_assert_str_eq(l->items[0].display_name, "Alice Liddell"); /* bare address + comment */
	ck_assert_str_eq(l->items[1].display_name, "Bob, Jr.");
	ck_assert_str_eq(l->items[2].display_name, "Zoë");
	mimeo_address_list_free(l);

	ck_assert_int_eq(mimeo_part_addresses(&l, root, "Cc", NULL, NULL), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_str_eq(l->items[0].group, "undisclosed-recipients");
	mimeo_address_list_free(l);

	ck_assert_int_eq(mimeo_part_addresses(&l, root, "Reply-To", NULL, NULL), MIMEO_ENOTFOUND);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(l->count, 0);
	mimeo_address_list_free(l);
	ck_assert_int_eq(mimeo_part_addresses(NULL, root, "From", NULL, NULL), MIMEO_EINVAL);
	mimeo_message_free(m);
}
END_TEST

START_TEST(addresses_encoded_comma_cannot_split)
{
	/* "=?UTF-8?Q?a=2C_b?=" decodes to "a, b": parsed before decoding, it
	 * stays one name of one address */
	mimeo_message *m = parse("From: =?UTF-8?Q?Evil=2C_=3Cboss@corp.example=3E?= <x@evil.example>\r\n\r\n");
	mimeo_address_list *l = NULL;

	ck_assert_int_eq(mimeo_part_addresses(&l, mimeo_message_root(m), "From", NULL, NULL), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_str_eq(l->items[0].domain, "evil.example");
	mimeo_address_list_free(l);
	mimeo_message_free(m);
}
END_TEST

/* opts->alloc serves the list and the joined copy of several fields (and
 * a failing one gives MIMEO_ENOMEM with nothing leaked); a bad version is
 * refused. */
START_TEST(addresses_use_the_options_allocator)
{
	mimeo_message *m = parse("To: a@x\r\nTo: =?utf-8?q?B=C3=B6b?= <b@y>\r\n\r\n");
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_address_list *l = NULL;
	test_failing_alloc fa;
	unsigned long n;
	int succeeded = 0;

	for (n = 0; n < 100 && !succeeded; n++) {
		int rc;

		test_failing_alloc_init(&fa, n); /* n = 0: never fails, counts */
		o.alloc = &fa.alloc;
		rc = mimeo_part_addresses(&l, mimeo_message_root(m), "To", NULL, &o);
		if (rc == MIMEO_OK) {
			ck_assert_uint_eq(l->count, 2);
			ck_assert_str_eq(l->items[1].display_name, "B\xC3\xB6" "b");
			ck_assert_uint_gt(fa.calls, 2); /* joined copy, cache, list */
			ck_assert_int_eq(fa.live, 1);
			mimeo_address_list_free(l);
			succeeded = n > 0 && !fa.failed;
		} else {
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
			ck_assert_ptr_null(l);
		}
		ck_assert_int_eq(fa.live, 0);
	}
	ck_assert(succeeded);
	o.version = MIMEO_HEADER_OPTIONS_VERSION + 1;
	ck_assert_int_eq(mimeo_part_addresses(&l, mimeo_message_root(m), "To", NULL, &o),
			 MIMEO_EINVAL);
	ck_assert_ptr_null(l);
	{
		mimeo_buf b = MIMEO_BUF_INIT;

		ck_assert_int_eq(mimeo_part_header_text(mimeo_message_root(m), "To", 0, NULL, &o,
							&b), MIMEO_EINVAL);
		mimeo_buf_dispose(&b);
	}
	mimeo_message_free(m);
}
END_TEST

START_TEST(date_by_name)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *root = mimeo_message_root(m);
	int64_t t = 0;
	int off = 0;

	ck_assert_int_eq(mimeo_part_date(root, NULL, &t, &off), MIMEO_OK);
	ck_assert_int_eq(t, 1796634000LL); /* 2026-12-07T09:00:00Z */
	ck_assert_int_eq(off, 60);
	ck_assert_int_eq(mimeo_part_date(root, "Resent-Date", &t, &off), MIMEO_ENOTFOUND);
	mimeo_message_free(m);

	m = parse("Date: not a date\r\n\r\n");
	t = 42;
	ck_assert_int_eq(mimeo_part_date(mimeo_message_root(m), "date", &t, NULL), MIMEO_EPARSE);
	ck_assert_int_eq(t, 42);
	mimeo_message_free(m);
}
END_TEST

START_TEST(message_ids)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_id_list *l = NULL;

	ck_assert_int_eq(mimeo_part_ids(&l, root, "Message-ID"), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_str_eq(l->ids[0], "abc.123@mail.example.com");
	mimeo_id_list_free(l);
	/* a comment after the id is no id */
	ck_assert_int_eq(mimeo_part_ids(&l, root, "In-Reply-To"), MIMEO_OK);
	ck_assert_uint_eq(l->count, 1);
	ck_assert_str_eq(l->ids[0], "prev@example.com");
	mimeo_id_list_free(l);
	/* folded over two lines; "<>" skipped */
	ck_assert_int_eq(mimeo_part_ids(&l, root, "References"), MIMEO_OK);
	ck_assert_uint_eq(l->count, 2);
	ck_assert_str_eq(l->ids[0], "first@example.com");
	ck_assert_str_eq(l->ids[1], "prev@example.com");
	mimeo_id_list_free(l);
	ck_assert_int_eq(mimeo_part_ids(&l, root, "Resent-Message-ID"), MIMEO_ENOTFOUND);
	ck_assert_uint_eq(l->count, 0);
	mimeo_id_list_free(l);
	mimeo_message_free(m);
}
END_TEST

START_TEST(message_ids_lenient)
{
	mimeo_message *m = parse("References: a@x (c) b@y nonsense\r\n"
				 "In-Reply-To: <unclosed@x\r\n"
				 "Message-ID: <>\r\n\r\n");
	const mimeo_part *root = mimeo_message_root(m);
	mimeo_id_list *l = NULL;

	ck_assert_int_eq(mimeo_part_ids(&l, root, "References"), MIMEO_OK);
	ck_assert_uint_eq(l->count, 2);
	ck_assert_str_eq(l->ids[0], "a@x");
	ck_assert_str_eq(l->ids[1], "b@y");
	mimeo_id_list_free(l);
	ck_assert_int_eq(mimeo_part_ids(&l, root, "In-Reply-To"), MIMEO_OK);
	ck_assert_str_eq(l->ids[0], "unclosed@x");
	mimeo_id_list_free(l);
	ck_assert_int_eq(mimeo_part_ids(&l, root, "Message-ID"), MIMEO_ENOTFOUND);
	mimeo_id_list_free(l);
	mimeo_message_free(m);
}
END_TEST

START_TEST(attachments_and_iterator)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *a;
	const char *want[] = { "1.2", "2" };
	size_t n = 0;

	for (a = NULL; (a = mimeo_message_next_attachment(m, a)) != NULL; n++) {
		ck_assert_uint_lt(n, 2);
		ck_assert_str_eq(mimeo_part_section(a), want[n]);
		ck_assert(mimeo_part_is_attachment(a));
	}
	ck_assert_uint_eq(n, 2);
	/* the HTML body, the multiparts and the message are not attachments */
	ck_assert(!mimeo_part_is_attachment(mimeo_message_root(m)));
	ck_assert(!mimeo_part_is_attachment(mimeo_message_find_section(m, "1.1")));
	ck_assert(!mimeo_part_is_attachment(mimeo_message_find_section(m, "3")));
	ck_assert(!mimeo_part_is_attachment(NULL));
	ck_assert_ptr_null(mimeo_message_next_attachment(NULL, NULL));
	mimeo_message_free(m);

	/* disposition attachment without a name counts */
	m = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n"
		  "Content-Disposition: attachment\r\n\r\ndata\r\n--b--\r\n");
	a = mimeo_message_next_attachment(m, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(mimeo_part_section(a), "2");
	ck_assert_ptr_null(mimeo_message_next_attachment(m, a));
	mimeo_message_free(m);
}
END_TEST

START_TEST(content_id_lookup)
{
	mimeo_message *m = load("client.eml");
	const mimeo_part *p;
	mimeo_buf b = MIMEO_BUF_INIT;

	/* as the HTML writes it: URL-escaped, domain case differs */
	p = mimeo_message_find_content_id(m, "cid:logo%40example.com");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(mimeo_part_section(p), "1.2");
	ck_assert_ptr_eq(mimeo_message_find_content_id(m, "<logo@Example.COM>"), p);
	ck_assert_ptr_eq(mimeo_message_find_content_id(m, "logo@Example.COM"), p);
	ck_assert_int_eq(mimeo_part_header_text(p, "Content-Description", 0, NULL, NULL, &b), MIMEO_OK);
	ck_assert_str_eq(b.ptr, "Das Logo — klein");
	/* a message/rfc822 part is found by its own Content-ID */
	p = mimeo_message_find_content_id(m, "cid:forwarded@example.com");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(mimeo_part_section(p), "3");
	/* ...and is asked about the message it carries */
	ck_assert_int_eq(mimeo_part_header_text(p, "Subject", 0, NULL, NULL, &b), MIMEO_OK);
	ck_assert_str_eq(b.ptr, "Inner");
	ck_assert_ptr_null(mimeo_message_find_content_id(m, "cid:nothing@x"));
	ck_assert_ptr_null(mimeo_message_find_content_id(m, ""));
	ck_assert_ptr_null(mimeo_message_find_content_id(m, NULL));
	mimeo_buf_dispose(&b);
	mimeo_message_free(m);
}
END_TEST

START_TEST(library_text_results_never_null)
{
	/* every text-producing call that succeeds leaves ptr at least "" */
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_header_decode_text(NULL, NULL, "", 0, &b, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(b.ptr);
	ck_assert_str_eq(b.ptr, "");
	mimeo_buf_dispose(&b);
	ck_assert_int_eq(mimeo_header_decode_phrase(NULL, NULL, "  ", 2, &b, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(b.ptr);
	mimeo_buf_dispose(&b);
	ck_assert_int_eq(mimeo_header_unfold("", 0, &b), MIMEO_OK);
	ck_assert_ptr_nonnull(b.ptr);
	mimeo_buf_dispose(&b);
	ck_assert_int_eq(mimeo_charset_to_utf8(NULL, "utf-8", 5, "", 0, &b, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(b.ptr);
	mimeo_buf_dispose(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("query");

	tcase_add_test(tc, header_text_decodes_unfolds_and_squeezes);
	tcase_add_test(tc, header_text_empty_value_is_empty_string);
	tcase_add_test(tc, header_text_raw_8bit_uses_part_charset);
	tcase_add_test(tc, header_text_mixed_utf8_and_stray_bytes);
	tcase_add_test(tc, header_text_multipart_root_takes_first_text_charset);
	tcase_add_test(tc, addresses_by_name);
	tcase_add_test(tc, addresses_encoded_comma_cannot_split);
	tcase_add_test(tc, addresses_use_the_options_allocator);
	tcase_add_test(tc, date_by_name);
	tcase_add_test(tc, message_ids);
	tcase_add_test(tc, message_ids_lenient);
	tcase_add_test(tc, attachments_and_iterator);
	tcase_add_test(tc, content_id_lookup);
	tcase_add_test(tc, library_text_results_never_null);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
