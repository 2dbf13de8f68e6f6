/*
 * tnef_testlib.c - helpers shared by the TNEF suites (tnef_testlib.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "tnef_testlib.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

int tnef_same_bytes(const void *gotp, size_t glen, const void *wantp, size_t wlen,
		    int *normalised)
{
	const unsigned char *got = gotp, *want = wantp;
	size_t i = 0, j = 0;

	if (normalised)
		*normalised = 0;
	if (glen == wlen && memcmp(got, want, glen) == 0)
		return 1;
	while (i < glen && j < wlen) {
		if (got[i] == '\r' && i + 1 < glen && got[i + 1] == '\n' && want[j] == '\n') {
			i++;
			continue;
		}
		if (got[i] != want[j])
			return 0;
		i++, j++;
	}
	if (normalised)
		*normalised = 1;
	return i == glen && j == wlen;
}

long tnef_each_mimekit_case(unsigned (*fn)(const char *dir, const char *name, void *ctx),
			    void *ctx)
{
	const char *corpus = test_shared_corpus();
	char tdir[4096];
	DIR *dh;
	struct dirent *de;
	long sum = 0;

	if (!corpus)
		return -1;
	snprintf(tdir, sizeof(tdir), "%s/mimekit-tnef", corpus);
	dh = opendir(tdir);
	if (!dh)
		return -1;
	while ((de = readdir(dh)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".tnef") == 0)
			sum += fn(tdir, de->d_name, ctx);
	}
	closedir(dh);
	return sum;
}
