/*
 * pick.c - the body a mail client shows: mimeo_message_pick_body()
 * (RFC 2046 5.1.4 alternatives, RFC 2387 related, the first inline part of
 * a mixed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "message-priv.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* The body a client shows                                             */
/* ------------------------------------------------------------------ */

static int is_attachment(const mimeo_part *p)
{
	return mimeo_part_disposition(p) && strcmp(mimeo_part_disposition(p), "attachment") == 0;
}

static int is_text_leaf(const mimeo_part *p, const char *subtype)
{
	if (!mimeo_part_is_leaf(p) || is_attachment(p) || strcmp(mimeo_part_type(p), "text") != 0)
		return 0;
	if (subtype)
		return strcmp(mimeo_part_subtype(p), subtype) == 0;
	return strcmp(mimeo_part_subtype(p), "plain") == 0 || strcmp(mimeo_part_subtype(p), "html") == 0;
}

/* Does the Content-ID of `p` match the start parameter `start`?  RFC 2387
 * 3.2: start holds the content-id including its angle brackets; senders
 * omit them often enough that both forms are accepted. */
static int cid_matches(const mimeo_part *p, const char *start)
{
	size_t len, slen = strlen(start);
	const char *cid = mimeo_part_get_header(p, "Content-ID", &len);

	if (!cid)
		return 0;
	while (len && mimeo__is_ws((unsigned char)*cid)) {
		cid++;
		len--;
	}
	while (len && (mimeo__is_ws((unsigned char)cid[len - 1]) || cid[len - 1] == '\r' ||
		       cid[len - 1] == '\n'))
		len--;
	if (len >= 2 && cid[0] == '<' && cid[len - 1] == '>' &&
	    !(slen && start[0] == '<')) {
		cid++;
		len -= 2;
	}
	return len == slen && memcmp(cid, start, len) == 0;
}

/* subtype NULL = any of text/plain and text/html. */
static const mimeo_part *pick(const mimeo_part *p, const char *subtype, unsigned depth)
{
	const mimeo_part *c, *r = NULL;

	if (depth > 256)
		return NULL;
	if (mimeo_part_is_leaf(p))
		return is_text_leaf(p, subtype) ? p : NULL;
	/* A message/rfc822 inside the tree is a forwarded or attached message
	 * (RFC 2046 5.2.1): its text is that message's body, not this one's,
	 * so only the root (a message that is itself message/rfc822) is
	 * entered.  Entering every one made a forwarded text/plain the body of
	 * an HTML-only message. */
	if (mimeo_part_is_message(p))
		return depth == 0 && p->first_child ? pick(p->first_child, subtype, depth + 1)
						    : NULL;
	if (strcmp(mimeo_part_subtype(p), "alternative") == 0) {
		/* RFC 2046 5.1.4: the last alternative is the preferred one. */
		for (c = p->first_child; c; c = c->next) {
			const mimeo_part *x = pick(c, subtype, depth + 1);

			if (x)
				r = x;
		}
		return r;
	}
	if (strcmp(mimeo_part_subtype(p), "related") == 0 && p->first_child) {
		const char *start = mimeo_part_param(p, "start");

		/* RFC 2387 3.1: the start part, by default the first. */
		if (start) {
			for (c = p->first_child; c; c = c->next) {
				if (cid_matches(c, start))
					return pick(c, subtype, depth + 1);
			}
		}
		return pick(p->first_child, subtype, depth + 1);
	}
	for (c = p->first_child; c; c = c->next) {
		if (is_attachment(c))
			continue;
		r = pick(c, subtype, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

const mimeo_part *mimeo_message_pick_body(const mimeo_message *m, const char *want)
{
	const char *subtype = NULL;
	const mimeo_part *r;

	if (want && strncmp(want, "text/", 5) == 0)
		subtype = want + 5;
	if (subtype) {
		r = pick(m->root, subtype, 0);
		if (r)
			return r;
	}
	/* Nothing of the wanted kind: what the client would show instead. */
	return pick(m->root, NULL, 0);
}
