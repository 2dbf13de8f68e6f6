/*
 * tree_testlib.h - helpers shared by the tree and corpus suites
 * (test_message.c, test_message_flat.c, test_corpus.c): chunked reads for
 * mimeo_message_parse_stream(), the check that the push parser and the
 * tree number every part alike, and the failing-allocator sweep of a
 * parse and its body reads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_TREE_TESTLIB_H
#define MIMEO_TREE_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "mimeo.h"

/* A mimeo_read_fn source that hands out 1..max bytes per call, sizes drawn
 * from `rng`: the stream entry point must not depend on the chunking. */
typedef struct test_chunk_reader {
	const char *data;
	size_t len, pos;
	uint64_t rng;   /* seed, not 0 */
	size_t max;     /* largest read */
} test_chunk_reader;

int test_chunk_read(void *buf, size_t cap, size_t *got, void *ctx);

/*
 * Parse data[0..len) with the push parser (`flags`: 0 or MIMEO_PARSE_MBOX,
 * fed in pieces of `chunk` bytes, 0 = whole) and check, for every part,
 * that mimeo_part_info.section keeps its address from part_begin to
 * part_end, is final at headers_end (at part_begin a root entity shows its
 * message's prefix, other parts their final number) and does not change
 * afterwards; then that the tree of each message (the whole input, or in
 * an mbox each message's bytes) has the same sections in the same order.
 * `what` names the input in failure messages.
 * @return the parser's sections, "[s] [s] ...", messages separated by
 *         "| " (malloc'd).
 */
char *test_sections_agree(const char *data, size_t len, unsigned flags, size_t chunk,
			  const char *what);

/*
 * The failing-allocator sweep of one way to parse a message: for n = 1,
 * 2, ... `parse(&m, alloc, n, ctx)` runs with allocation n and every later
 * one failing, until a run succeeds without a refused allocation.  A run
 * that fails returns MIMEO_ENOMEM and leaves m NULL; one that succeeds has
 * its bodies read by `bodies(m, &got)` (NULL: not read), which allocates
 * too: it gives exactly `want`, or fails with MIMEO_ENOMEM after a refused
 * allocation.  Every block is given back either way.  `what` names the
 * case in failure messages.
 * @return the number of runs (the allocations the parse needs, plus one).
 */
typedef int (*test_parse_fn)(mimeo_message **m, const mimeo_allocator *alloc, unsigned long n,
			     const void *ctx);
typedef int (*test_bodies_fn)(const mimeo_message *m, mimeo_buf *out);

unsigned long test_parse_alloc_sweep(test_parse_fn parse, const void *ctx, test_bodies_fn bodies,
				     const mimeo_buf *want, const char *what);

#endif
