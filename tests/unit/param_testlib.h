/*
 * param_testlib.h - shared helpers of test_param, test_address and
 * test_date: walk the top-level header fields of every message of the
 * shared corpus (skips cleanly when the corpus is absent); feed a parser
 * every prefix of a tricky value and random garbage; check strings.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARAM_TESTLIB_H
#define MIMEO_PARAM_TESTLIB_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Called once per field of the top-level header block (value still folded,
 * without the final line break).  `path` is the corpus-relative file name. */
typedef void (*corpus_field_cb)(const char *path, const char *name, size_t name_len,
				const char *value, size_t value_len, void *user);

/* Returns the number of messages walked, or -1 when there is no corpus. */
long corpus_walk_fields(corpus_field_cb cb, void *user);

/* A parser under test: parse in[0..len) and check what must hold. */
typedef void (*input_check_fn)(const char *in, size_t len);

/* Call `check` on every prefix of the C string `v`, each in an exact-size
 * heap copy so that ASan catches a read past the end. */
void each_prefix(const char *v, input_check_fn check);

/* Call `check` on `rounds` random inputs of 0..max-1 bytes drawn from
 * alphabet[0..alen) (NUL bytes allowed). */
void each_random(uint64_t seed, const char *alphabet, size_t alen, size_t max, int rounds,
		 input_check_fn check);

/* Fail unless `s` (when not NULL) is a valid UTF-8 C string. */
void check_utf8_str(const char *s);

/* Monotonic seconds, for the linear-time checks. */
double now_s(void);

/* Add the GMime differential test `test` over `n` cases to `s` as the test
 * case "gmime": in the suites built against GMime (MIMEO_TEST_GMIME) only;
 * elsewhere the test does not exist and nothing is added. */
#ifdef MIMEO_TEST_GMIME
void add_gmime_case(Suite *s, const TTest *test, int n);
#define ADD_GMIME_CASE(s, test, n) add_gmime_case((s), (test), (int)(n))
#else
#define ADD_GMIME_CASE(s, test, n) ((void)0)
#endif

#endif
