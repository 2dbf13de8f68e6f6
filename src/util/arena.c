/*
 * arena.c - a chain of memory blocks freed all at once (see arena-priv.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "arena-priv.h"

#include <stdalign.h>
#include <stddef.h>

/* 16 KiB blocks: a small message's whole tree fits in one. */
#define ARENA_BLOCK 16384u

struct mimeo__arena_block {
	mimeo__arena_block *next;
	size_t used, cap;
	/* data follows, max_align_t aligned */
};

#define ARENA_HDR ((sizeof(mimeo__arena_block) + alignof(max_align_t) - 1) & \
		   ~(alignof(max_align_t) - 1))

void *mimeo__arena_alloc(mimeo__arena *a, size_t size)
{
	mimeo__arena_block *b = a->head;
	size_t need, cap;

	if (!mimeo__add_ok(size, 7, &need))
		return NULL;
	need &= ~(size_t)7;
	if (!b || b->cap - b->used < need) {
		cap = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;
		if (!mimeo__add_ok(cap, ARENA_HDR, &cap))
			return NULL;
		b = mimeo__malloc(a->alloc, cap);
		if (!b)
			return NULL;
		a->total += cap;
		b->cap = cap - ARENA_HDR;
		b->used = 0;
		/* A large allocation gets a block of its own behind the
		 * current one, so the current block's free room is kept. */
		if (need > ARENA_BLOCK / 4 && a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	b->used += need;
	return (char *)b + ARENA_HDR + b->used - need;
}

static void *arena_malloc_cb(size_t size, void *ctx)
{
	return mimeo__arena_alloc(ctx, size);
}

/* Blocks are freed all at once by mimeo__arena_free(); nothing grows in
 * place. */
static void *arena_realloc_cb(void *ptr, size_t size, void *ctx)
{
	MIMEO_UNUSED(ptr);
	MIMEO_UNUSED(size);
	MIMEO_UNUSED(ctx);
	return NULL;
}

static void arena_free_cb(void *ptr, void *ctx)
{
	MIMEO_UNUSED(ptr);
	MIMEO_UNUSED(ctx);
}

void mimeo__arena_init(mimeo__arena *a, const mimeo_allocator *alloc)
{
	a->alloc = alloc;
	a->head = NULL;
	a->total = 0;
	a->self.malloc = arena_malloc_cb;
	a->self.realloc = arena_realloc_cb;
	a->self.free = arena_free_cb;
	a->self.ctx = a;
}

char *mimeo__arena_strndup(mimeo__arena *a, const char *s, size_t len)
{
	return mimeo__strndup(&a->self, s, len);
}

void mimeo__arena_free(mimeo__arena *a)
{
	mimeo__arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		mimeo__free(a->alloc, b);
	}
	a->head = NULL;
	a->total = 0;
}
