/*
 * param_testlib.c - see param_testlib.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "param_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mimeo.h"
#include "testutil.h"

/* Split a header block into fields: "Name:" at the start of a line, then
 * continuation lines starting with whitespace; stops at the first empty
 * line.  An mbox "From " line first is skipped. */
static void walk_block(const char *path, const char *b, size_t n, corpus_field_cb cb, void *user)
{
	size_t i = 0;

	if (n >= 5 && memcmp(b, "From ", 5) == 0) {
		const char *eol = memchr(b, '\n', n);

		i = eol ? (size_t)(eol - b) + 1 : n;
	}
	while (i < n) {
		size_t eol = i, colon, end;

		while (eol < n && b[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && b[i] == '\r'))
			break; /* end of the header block */
		for (colon = i; colon < eol && b[colon] != ':' && b[colon] > 32; colon++)
			;
		end = eol;
		/* continuation lines */
		while (end + 1 < n && (b[end + 1] == ' ' || b[end + 1] == '\t')) {
			end++;
			while (end < n && b[end] != '\n')
				end++;
		}
		if (colon < eol && b[colon] == ':' && colon > i) {
			size_t vs = colon + 1, ve = end;

			if (ve > vs && b[ve - 1] == '\r')
				ve--;
			cb(path, b + i, colon - i, b + vs, ve > vs ? ve - vs : 0, user);
		}
		i = end + 1;
	}
}

long corpus_walk_fields(corpus_field_cb cb, void *user)
{
	const char *dir = test_shared_corpus();
	char path[8192], line[2048];
	FILE *idx;
	long count = 0;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/INDEX.tsv", dir);
	idx = fopen(path, "r");
	if (!idx)
		return -1;
	if (!fgets(line, sizeof(line), idx)) { /* column titles */
		fclose(idx);
		return -1;
	}
	while (fgets(line, sizeof(line), idx)) {
		char *tab = strchr(line, '\t'), *data;
		size_t len;

		if (!tab)
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		data = test_read_file(path, &len);
		if (!data)
			continue;
		walk_block(line, data, len, cb, user);
		free(data);
		count++;
	}
	fclose(idx);
	return count;
}

void each_prefix(const char *v, input_check_fn check)
{
	size_t n = strlen(v), k;

	for (k = 0; k <= n; k++) {
		char *copy = malloc(k + 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, v, k);
		check(copy, k);
		free(copy);
	}
}

void each_random(uint64_t seed, const char *alphabet, size_t alen, size_t max, int rounds,
		 input_check_fn check)
{
	char *buf = malloc(max);
	int round;

	ck_assert_ptr_nonnull(buf);
	for (round = 0; round < rounds; round++) {
		size_t n = (size_t)(test_rand(&seed) % max), i;

		for (i = 0; i < n; i++)
			buf[i] = alphabet[test_rand(&seed) % alen];
		check(buf, n);
	}
	free(buf);
}

void check_utf8_str(const char *s)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix(s, n), n);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifdef MIMEO_TEST_GMIME
void add_gmime_case(Suite *s, const TTest *test, int n)
{
	TCase *tc = tcase_create("gmime");

	tcase_add_loop_test(tc, test, 0, n);
	suite_add_tcase(s, tc);
}
#endif
