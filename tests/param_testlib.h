/*
 * param_testlib.h - shared helper of test_param, test_address and
 * test_date: walk the top-level header fields of every message of the
 * shared corpus (skips cleanly when the corpus is absent).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARAM_TESTLIB_H
#define MIMEO_PARAM_TESTLIB_H

#include <stddef.h>

/* Called once per field of the top-level header block (value still folded,
 * without the final line break).  `path` is the corpus-relative file name. */
typedef void (*corpus_field_cb)(const char *path, const char *name, size_t name_len,
				const char *value, size_t value_len, void *user);

/* Returns the number of messages walked, or -1 when there is no corpus. */
long corpus_walk_fields(corpus_field_cb cb, void *user);

#endif
