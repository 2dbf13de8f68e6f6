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
int mimeo__ascii_ieq(const char *a, size_t alen, const char *lit);

/* SQLite-style markers: ALWAYS(x)/NEVER(x) document conditions that cannot
 * happen but are handled anyway. */
#define MIMEO_ALWAYS(x) (x)
#define MIMEO_NEVER(x) (x)

#define MIMEO_UNUSED(x) ((void)(x))

#endif /* MIMEO_COMMON_PRIV_H */
