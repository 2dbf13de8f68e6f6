/*
 * arena-priv.h - a chain of memory blocks freed all at once (internal).
 *
 * The message tree allocates its nodes and strings here: thousands of small
 * objects that live exactly as long as their message, so one free at the
 * end replaces thousands, and a node costs no allocator header.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_ARENA_PRIV_H
#define MIMEO_ARENA_PRIV_H

#include "common-priv.h"

typedef struct mimeo__arena_block mimeo__arena_block;

typedef struct mimeo__arena {
	const mimeo_allocator *alloc; /* where the blocks come from */
	mimeo__arena_block *head;     /* block being filled; older ones follow */
	size_t total;                 /* bytes of all blocks (for measurements) */
	/* allocates from this arena (free does nothing, realloc fails), so
	 * that helpers taking a mimeo_allocator (mimeo__strndup) copy into it */
	mimeo_allocator self;
} mimeo__arena;

void mimeo__arena_init(mimeo__arena *a, const mimeo_allocator *alloc);
/* `size` bytes aligned for any scalar type, or NULL (out of memory). */
void *mimeo__arena_alloc(mimeo__arena *a, size_t size);
/* A NUL-terminated copy of s[0..len), or NULL. */
char *mimeo__arena_strndup(mimeo__arena *a, const char *s, size_t len);
/* Free every block; the arena is empty (and usable) afterwards. */
void mimeo__arena_free(mimeo__arena *a);

#endif /* MIMEO_ARENA_PRIV_H */
