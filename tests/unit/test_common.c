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

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, strerror_known_and_unknown);
	tcase_add_test(tc, buf_appends_and_terminates);
	tcase_add_test(tc, buf_detach_hands_over);
	tcase_add_test(tc, buf_survives_every_allocation_failure);
	tcase_add_test(tc, buf_grow_rejects_overflow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(common_suite());
}
