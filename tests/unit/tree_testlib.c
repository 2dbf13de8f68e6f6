/*
 * tree_testlib.c - see tree_testlib.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "tree_testlib.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int test_chunk_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	test_chunk_reader *r = ctx;
	size_t n = 1 + (size_t)(test_rand(&r->rng) % (r->max ? r->max : 1));

	if (n > cap)
		n = cap;
	if (n > r->len - r->pos)
		n = r->len - r->pos;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	*got = n;
	return MIMEO_OK;
}

/* Deeper than any default-limit parse can nest (max_depth 64). */
#define SEC_STACK 512

typedef struct open_part {
	const char *ptr;  /* info->section as part_begin saw it */
	size_t idx;       /* its slot in sec_state.v */
} open_part;

typedef struct sec_state {
	const char *data, *what;
	size_t len;
	unsigned flags;
	char **v;         /* sections of the current message, pre-order */
	size_t n, cap;
	open_part st[SEC_STACK];
	size_t depth;
	mimeo_buf out;
} sec_state;

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static int sec_part_begin(const mimeo_part_info *pi, void *u)
{
	sec_state *s = u;

	ck_assert_ptr_nonnull(pi->section);
	ck_assert_uint_lt(s->depth, SEC_STACK);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		ck_assert_ptr_nonnull(s->v);
	}
	s->v[s->n] = xstrdup(pi->section);
	s->st[s->depth].ptr = pi->section;
	s->st[s->depth].idx = s->n++;
	s->depth++;
	return 0;
}

/* The documented part_begin value: a root entity shows its message's
 * prefix M and becomes M.1 ("1" at top level) unless it is a multipart. */
static int sec_headers_end(const mimeo_part_info *pi, void *u)
{
	sec_state *s = u;
	open_part *o = &s->st[s->depth - 1];
	char *begin = s->v[o->idx], want[2048];

	ck_assert_ptr_eq(pi->section, o->ptr);
	if (pi->flags & MIMEO_PART_ROOT && !(pi->flags & MIMEO_PART_MULTIPART))
		snprintf(want, sizeof(want), "%s%s", begin, *begin ? ".1" : "1");
	else
		snprintf(want, sizeof(want), "%s", begin);
	ck_assert_msg(!strcmp(pi->section, want), "%s: section '%s' at headers_end, want '%s'",
		      s->what, pi->section, want);
	free(begin);
	s->v[o->idx] = xstrdup(pi->section);
	return 0;
}

static int sec_part_end(const mimeo_part_info *pi, void *u)
{
	sec_state *s = u;
	open_part *o;

	ck_assert_uint_gt(s->depth, 0);
	o = &s->st[--s->depth];
	ck_assert_ptr_eq(pi->section, o->ptr);
	if ((pi->flags & (MIMEO_PART_ROOT | MIMEO_PART_OPAQUE | MIMEO_PART_LEAF)) ==
	    (MIMEO_PART_ROOT | MIMEO_PART_OPAQUE | MIMEO_PART_LEAF) && strcmp(pi->section, s->v[o->idx])) {
		/* a multipart root without any delimiter became a leaf at
		 * part_end: numbered M.1 now, in place */
		char want[2048];

		snprintf(want, sizeof(want), "%s%s", s->v[o->idx], *s->v[o->idx] ? ".1" : "1");
		ck_assert_str_eq(pi->section, want);
		free(s->v[o->idx]);
		s->v[o->idx] = xstrdup(pi->section);
		return 0;
	}
	ck_assert_str_eq(pi->section, s->v[o->idx]);
	return 0;
}

/* The tree of this message must list the same sections in the same order
 * (pre-order is part_begin order). */
static int sec_message_end(const mimeo_part_info *root, void *u)
{
	sec_state *s = u;
	const char *d = s->data;
	size_t len = s->len, i = 0;
	mimeo_message *m;
	const mimeo_part *p;

	if (s->flags & MIMEO_PARSE_MBOX) {
		d += root->header_offset;
		len = (size_t)(root->end_offset - root->header_offset);
	}
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, d, len, NULL), MIMEO_OK);
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p), i++) {
		ck_assert_msg(i < s->n, "%s: the tree has more parts than the parser", s->what);
		ck_assert_msg(!strcmp(mimeo_part_section(p), s->v[i]),
			      "%s: part %zu: tree '%s', parser '%s'", s->what, i,
			      mimeo_part_section(p), s->v[i]);
	}
	ck_assert_msg(i == s->n, "%s: tree %zu parts, parser %zu", s->what, i, s->n);
	mimeo_message_free(m);
	for (i = 0; i < s->n; i++) {
		ck_assert_int_eq(mimeo_buf_puts(&s->out, "["), 0);
		ck_assert_int_eq(mimeo_buf_puts(&s->out, s->v[i]), 0);
		ck_assert_int_eq(mimeo_buf_puts(&s->out, "] "), 0);
		free(s->v[i]);
	}
	ck_assert_int_eq(mimeo_buf_puts(&s->out, "| "), 0);
	s->n = 0;
	return 0;
}

char *test_sections_agree(const char *data, size_t len, unsigned flags, size_t chunk,
			  const char *what)
{
	mimeo_parser_callbacks cb = { MIMEO_PARSER_CALLBACKS_VERSION, NULL, sec_part_begin,
				      NULL, sec_headers_end, NULL, NULL, NULL, sec_part_end,
				      sec_message_end, NULL };
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	sec_state s;
	mimeo_parser *p;
	size_t i, n;

	memset(&s, 0, sizeof(s));
	s.data = data;
	s.len = len;
	s.flags = flags;
	s.what = what;
	s.out = (mimeo_buf)MIMEO_BUF_INIT;
	o.flags = flags;
	if (!chunk)
		chunk = len ? len : 1;
	ck_assert_int_eq(mimeo_parser_new(&p, &o, &cb, &s), MIMEO_OK);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		ck_assert_int_eq(mimeo_parser_feed(p, data + i, n), MIMEO_OK);
	}
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	mimeo_parser_free(p);
	ck_assert_uint_eq(s.depth, 0);
	free(s.v);
	if (!s.out.ptr)
		ck_assert_int_eq(mimeo_buf_puts(&s.out, ""), 0);
	return mimeo_buf_detach(&s.out);
}

unsigned long test_parse_alloc_sweep(test_parse_fn parse, const void *ctx, test_bodies_fn bodies,
				     const mimeo_buf *want, const char *what)
{
	unsigned long n;

	for (n = 1;; n++) {
		test_failing_alloc fa;
		mimeo_message *m = NULL;
		int rc;

		test_failing_alloc_init(&fa, n);
		rc = parse(&m, &fa.alloc, n, ctx);
		if (rc != MIMEO_OK) {
			ck_assert_msg(rc == MIMEO_ENOMEM, "%s, allocation %lu: %d", what, n, rc);
			ck_assert_ptr_null(m);
			ck_assert_int_eq(fa.live, 0);
			ck_assert_uint_lt(n, 100000);
			continue;
		}
		if (bodies) {
			mimeo_buf got = MIMEO_BUF_INIT;

			rc = bodies(m, &got);
			if (rc == MIMEO_OK) {
				ck_assert_msg(got.size == want->size &&
					      memcmp(got.ptr, want->ptr, got.size) == 0,
					      "%s, allocation %lu: other bodies", what, n);
			} else {
				ck_assert_msg(rc == MIMEO_ENOMEM, "%s, allocation %lu: bodies %d", what,
					      n, rc);
				ck_assert(fa.failed);
			}
			mimeo_buf_dispose(&got);
		}
		mimeo_message_free(m);
		ck_assert_int_eq(fa.live, 0);
		if (!fa.failed)
			return n;
	}
}
