/*
 * testutil.h - helpers shared by the Check suites (not installed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_TESTUTIL_H
#define MIMEO_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "mimeo/common.h"
#include "mimeo/header.h"

/*
 * A failing allocator (zlib infcover / libvips failing-alloc): allocation
 * number `fail_at` (1-based) and every later one fail when `fail_at` > 0.
 * It counts live blocks so a test can assert that nothing leaked.
 */
typedef struct test_failing_alloc {
	mimeo_allocator alloc; /* pass &fa.alloc to the API under test */
	unsigned long calls;   /* allocation calls so far (malloc + realloc) */
	unsigned long fail_at; /* 0 = never fail */
	long live;             /* blocks allocated and not yet freed */
	int failed;            /* set once an allocation was refused */
} test_failing_alloc;

void test_failing_alloc_init(test_failing_alloc *fa, unsigned long fail_at);

/*
 * The allocator member of mimeo_header_options, checked for one parse
 * (mimeo_address_list_parse, mimeo_mime_field_parse): given through
 * initialised and zero-initialised options it serves the result and the
 * temporary memory, and the result's _free gives every block back; NULL
 * options, options without one and the 0.1 layout (version 1) never call
 * it; a version from the future is refused before anything is read.
 */
typedef struct test_options_parse {
	/* parse `ctx`'s input into *out under `opts` */
	int (*parse)(void **out, const mimeo_header_options *opts, const void *ctx);
	void (*check)(const void *result, const void *ctx); /* asserts on the value */
	void (*free_result)(void *result);
	const void *ctx;
} test_options_parse;

void test_options_allocator(const test_options_parse *t);

/* Deterministic pseudo-random numbers (xorshift64*), seedable per test. */
uint64_t test_rand(uint64_t *state);
void test_rand_bytes(uint64_t *state, void *buf, size_t len);

/* Read a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *test_read_file(const char *path, size_t *len);
/* The same for tests/data/NAME of the source tree; asserts that it is
 * there. */
char *test_read_data(const char *name, size_t *len);

/* `len` bytes of `data` compressed as one gzip member (RFC 1952), in a
 * malloc'd buffer; asserts on failure. */
void *test_gzip(const void *data, size_t len, size_t *out_len);

/* The read end of a pipe that a child process fills with `len` bytes of
 * `data` and then closes: input that cannot be seeked or mapped.  Reap
 * the child with test_pipe_wait(*pid) after closing the read end (it
 * dies quietly of SIGPIPE when the reader stops early). */
int test_pipe_from(const void *data, size_t len, int *pid);
void test_pipe_wait(int pid);

/* The reference yEnc encoder (yEnc draft 1.3): escapes NUL, LF, CR, '='
 * and, at a line start, '.', space and tab (what common posters do);
 * `line` output characters a line, each line ended by `eol`, the last one
 * too.  `out` needs 2 * len + (len / line + 1) * strlen(eol) bytes.
 * Returns the bytes written.  (Used by test_yenc and bench_formats.) */
size_t test_yenc_encode(const unsigned char *in, size_t len, unsigned line, char *out,
			const char *eol);

/* The project source root (MIMEO_SOURCE_DIR, set by meson), or ".". */
const char *test_source_dir(void);

/* The shared corpus folder (../shared/corpus beside the checkout, or
 * $MIMEO_SHARED_CORPUS), or NULL when it is absent: tests skip cleanly. */
const char *test_shared_corpus(void);

/* The decoded body of a leaf of a message tree (mimeo_part_decode_buf,
 * asserted to succeed), for tests written against the 0.1
 * mimeo_part_body() that held every body.  The bytes stay valid until the
 * 16th call after this one (a ring of buffers); never NULL. */
struct mimeo_part;
const void *test_part_body(const struct mimeo_part *p, size_t *len);

/* Run a suite with CK_ENV-compatible defaults; returns the exit status. */
int test_run_suite(Suite *s);

#endif
