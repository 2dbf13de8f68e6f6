/*
 * tnef_testlib.h - helpers shared by the TNEF suites (test_tnef.c reads
 * the streams, test_expand.c reads them wrapped in messages): MimeKit's
 * TNEF test files and the comparison with the files MimeKit extracts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_TNEF_TESTLIB_H
#define MIMEO_TNEF_TESTLIB_H

#include <stddef.h>

/* Does `got` equal `want`, exactly or once CRLF is made LF (MimeKit's
 * repository stores its text test files with LF line ends)?  *normalised
 * (when not NULL) says whether it took the second look. */
int tnef_same_bytes(const void *got, size_t glen, const void *want, size_t wlen,
		    int *normalised);

/* Call fn(dir, name, ctx) for each "*.tnef" file of the shared corpus's
 * mimekit-tnef folder.  Returns the sum of what fn returned, or -1 when
 * the corpus or the folder is absent (nothing to check). */
long tnef_each_mimekit_case(unsigned (*fn)(const char *dir, const char *name, void *ctx),
			    void *ctx);

#endif
