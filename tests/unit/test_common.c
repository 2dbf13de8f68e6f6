/*
 * test_common.c - status strings, allocator plumbing, growable buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

START_TEST(strerror_known_and_unknown)
{
	ck_assert_str_eq(mimeo_strerror(MIMEO_OK), "success");
	ck_assert_str_eq(mimeo_strerror(MIMEO_ENOMEM), "out of memory");
	ck_assert_str_eq(mimeo_status_name(MIMEO_ELIMIT), "MIMEO_ELIMIT");
	ck_assert_str_eq(mimeo_strerror(-9999), "unknown status");
	/* -6 (MIMEO_ECHARSET in 0.1, never returned) is no status any more */
	ck_assert_str_eq(mimeo_status_name(-6), "MIMEO_UNKNOWN");
	ck_assert_str_eq(mimeo_status_name(12345), "MIMEO_UNKNOWN");
	ck_assert_str_eq(mimeo_version(), MIMEO_VERSION_STRING);
}
END_TEST

START_TEST(buf_appends_and_terminates)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i;

	ck_assert_int_eq(mimeo_buf_puts(&b, "abc"), MIMEO_OK);
	ck_assert_uint_eq(b.size, 3);
	ck_assert_str_eq(b.ptr, "abc");
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(mimeo_buf_put(&b, "x", 1), MIMEO_OK);
	ck_assert_uint_eq(b.size, 100003);
	ck_assert_int_eq(b.ptr[b.size], '\0');
	mimeo_buf_clear(&b);
	ck_assert_uint_eq(b.size, 0);
	ck_assert_str_eq(b.ptr, "");
	mimeo_buf_dispose(&b);
	ck_assert_ptr_null(b.ptr);
}
END_TEST

START_TEST(buf_detach_hands_over)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	char *p;

	ck_assert_ptr_null(mimeo_buf_detach(&b));
	ck_assert_int_eq(mimeo_buf_put(&b, "hello", 5), MIMEO_OK);
	p = mimeo_buf_detach(&b);
	ck_assert_str_eq(p, "hello");
	ck_assert_ptr_null(b.ptr);
	ck_assert_uint_eq(b.size, 0);
	free(p);
}
END_TEST

START_TEST(buf_survives_every_allocation_failure)
{
	unsigned long n;

	for (n = 1; n < 40; n++) {
		test_failing_alloc fa;
		mimeo_buf b;
		int rc = MIMEO_OK;
		size_t i, expect = 0;

		test_failing_alloc_init(&fa, n);
		mimeo_buf_init(&b, &fa.alloc);
		for (i = 0; i < 2000 && rc == MIMEO_OK; i++) {
			rc = mimeo_buf_put(&b, "0123456789", 10);
			if (rc == MIMEO_OK)
				expect += 10;
		}
		/* A failed append leaves the earlier content intact. */
		ck_assert_uint_eq(b.size, expect);
		if (rc != MIMEO_OK)
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
		mimeo_buf_dispose(&b);
		ck_assert_int_eq(fa.live, 0);
	}
}
END_TEST

START_TEST(buf_grow_rejects_overflow)
{
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_buf_put(&b, "ab", 2), MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_grow(&b, SIZE_MAX), MIMEO_ENOMEM);
	ck_assert_int_eq(mimeo_buf_grow(&b, SIZE_MAX - 2), MIMEO_ENOMEM);
	ck_assert_str_eq(b.ptr, "ab");
	mimeo_buf_dispose(&b);
}
END_TEST

static int append_to_buf(const void *data, size_t len, void *user)
{
	return mimeo_buf_put(user, data, len);
}

/* Every options struct reads a zero-initialised value as "all defaults"
 * (the headers promise "zero-initialise or use _INIT"; issue 14). */
START_TEST(zero_initialised_options_work)
{
	static const char msg[] = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
	mimeo_parser_options po;
	mimeo_parser_callbacks pc;
	mimeo_message_options mo;
	mimeo_builder_options bo;
	mimeo_builder_part bp;
	mimeo_to7bit_options to;
	mimeo_pop3_options p3;
	mimeo_header_options ho;
	mimeo_mailbox_options xo;
	mimeo_parser *p = NULL;
	mimeo_message *m = NULL;
	mimeo_builder *b = NULL;
	mimeo_pop3 *c = NULL;
	mimeo_mailbox *mb = NULL;
	mimeo_buf out = MIMEO_BUF_INIT;

	memset(&po, 0, sizeof(po));
	memset(&pc, 0, sizeof(pc));
	memset(&mo, 0, sizeof(mo));
	memset(&bo, 0, sizeof(bo));
	memset(&bp, 0, sizeof(bp));
	memset(&to, 0, sizeof(to));
	memset(&p3, 0, sizeof(p3));
	memset(&ho, 0, sizeof(ho));
	memset(&xo, 0, sizeof(xo));

	ck_assert_int_eq(mimeo_parser_new(&p, &po, &pc, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, msg, sizeof(msg) - 1), MIMEO_OK);
	ck_assert_int_ge(mimeo_parser_finish(p), MIMEO_OK);
	mimeo_parser_free(p);

	mo.parser = &po;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, &mo), MIMEO_OK);
	ck_assert_int_eq(mimeo_to7bit(m, &to, append_to_buf, &out, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Subject: x"));
	mimeo_message_free(m);

	ck_assert_int_eq(mimeo_header_decode_text(NULL, &ho, "=?utf-8?q?ok?=", 14, &out, NULL), MIMEO_OK);
	ho.version = 99;
	ck_assert_int_eq(mimeo_header_decode_text(NULL, &ho, "x", 1, &out, NULL), MIMEO_EINVAL);

	ck_assert_int_eq(mimeo_builder_new(&b, &bo), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_subject(b, "s", 1), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &bp, "data", 4), MIMEO_OK);
	mimeo_builder_free(b);

	ck_assert_int_eq(mimeo_pop3_new(&c, &p3), MIMEO_OK);
	mimeo_pop3_free(c);
	p3.read_timeout_ms = -1;
	ck_assert_int_eq(mimeo_pop3_new(&c, &p3), MIMEO_EINVAL);

	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, msg, sizeof(msg) - 1, &xo), MIMEO_OK);
	mimeo_mailbox_free(mb);

	/* an unknown version is still refused */
	po.version = 99;
	ck_assert_int_eq(mimeo_parser_new(&p, &po, NULL, NULL), MIMEO_EINVAL);
	bo.version = 99;
	ck_assert_int_eq(mimeo_builder_new(&b, &bo), MIMEO_EINVAL);
	mimeo_buf_dispose(&out);
}
END_TEST

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, strerror_known_and_unknown);
	tcase_add_test(tc, buf_appends_and_terminates);
	tcase_add_test(tc, buf_detach_hands_over);
	tcase_add_test(tc, buf_survives_every_allocation_failure);
	tcase_add_test(tc, buf_grow_rejects_overflow);
	tcase_add_test(tc, zero_initialised_options_work);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(common_suite());
}
