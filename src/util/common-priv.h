/*
 * common-priv.h - internal helpers shared by every mimeo source file.
 * Not installed.  Names use the mimeo__ prefix (libgit2 convention).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_COMMON_PRIV_H
#define MIMEO_COMMON_PRIV_H

#include "mimeo/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Allocation through an optional allocator; NULL means libc.  Every
 * caller checks the result: mimeo never aborts on out-of-memory. */
void *mimeo__malloc(const mimeo_allocator *a, size_t size);
void *mimeo__calloc(const mimeo_allocator *a, size_t n, size_t size);
void *mimeo__realloc(const mimeo_allocator *a, void *ptr, size_t size);
void mimeo__free(const mimeo_allocator *a, void *ptr);
/* Copy `len` bytes into a new NUL-terminated string. */
char *mimeo__strndup(const mimeo_allocator *a, const char *s, size_t len);

/* Overflow-checked size arithmetic: return 0 on overflow. */
static inline int mimeo__add_ok(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return 0;
	*out = a + b;
	return 1;
}

static inline int mimeo__mul_ok(size_t a, size_t b, size_t *out)
{
	if (b && a > SIZE_MAX / b)
		return 0;
	*out = a * b;
	return 1;
}

/* ASCII-only character classes: never locale dependent. */
static inline int mimeo__is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char mimeo__lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive ASCII comparison of `a` (length `alen`) with the
 * NUL-terminated lowercase literal `lit`. */
/* Make `buf` a C string ("" when empty) without changing its contents, so
 * a successful call that produced nothing still leaves ptr non-NULL: callers
 * may print out.ptr directly.  MIMEO_OK or MIMEO_ENOMEM. */
int mimeo__buf_ready(mimeo_buf *buf);

/* Every options struct carries a version.  0 (a zero-initialised struct)
 * reads as the current version with every field at its default, so
 * `mimeo_x_options o = {0};` works as well as MIMEO_X_OPTIONS_INIT. */
#define MIMEO__VERSION_OK(v, current) ((v) == 0 || (v) == (current))
int mimeo__ascii_ieq(const char *a, size_t alen, const char *lit);

/* Value of a hexadecimal digit in either case, or -1 (RFC 2045 QP "=XX",
 * RFC 2231 "%XX", RFC 2047 Q encoding all share it). */
static inline int mimeo__hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mimeo__lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Value of an RFC 4648 base64 alphabet character, or -1.  The bulk codecs
 * use tables and SIMD; this is for short runs (encoded words, UTF-7). */
static inline int mimeo__b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Make room in a growable array for one more element: doubles *cap
 * (starting at `initial`) with overflow checks.  *items is unchanged on
 * failure.  Returns MIMEO_OK or MIMEO_ENOMEM. */
int mimeo__array_reserve(const mimeo_allocator *a, void **items, size_t *cap,
			 size_t used, size_t elem_size, size_t initial);
/* Append the element at `elem` (elem_size bytes) to a growable array of
 * *n elements, growing it as mimeo__array_reserve does.  Returns MIMEO_OK
 * or MIMEO_ENOMEM (the array is unchanged). */
int mimeo__array_push(const mimeo_allocator *a, void **items, size_t *cap, size_t *n,
		      size_t elem_size, size_t initial, const void *elem);

/* The column header fields are folded at, for the header encoders and both
 * writers (builder, to7bit): RFC 5322 section 2.1.1 asks for lines of at
 * most 78 characters (998 is the hard limit). */
#define MIMEO__FOLD_COLUMN 78

/* SQLite-style markers: ALWAYS(x)/NEVER(x) document conditions that cannot
 * happen but are handled anyway.  Builds without NDEBUG (meson's default
 * b_ndebug=false: the tests, the sanitizer runs and the fuzzers) assert
 * them, so a broken invariant is found instead of quietly handled; with
 * NDEBUG they are the plain condition and the handling code runs. */
#ifdef NDEBUG
#define MIMEO_ALWAYS(x) (x)
#define MIMEO_NEVER(x) (x)
#else
#include <assert.h>
#define MIMEO_ALWAYS(x) ((x) ? 1 : (assert(!"MIMEO_ALWAYS(" #x ")"), 0))
#define MIMEO_NEVER(x) ((x) ? (assert(!"MIMEO_NEVER(" #x ")"), 1) : 0)
#endif

#define MIMEO_UNUSED(x) ((void)(x))

#endif /* MIMEO_COMMON_PRIV_H */
