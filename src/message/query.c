/*
 * query.c - the everyday questions of a mail client, answered on top of the
 * message tree's public accessors (mimeo/query.h).
 *
 * Nothing here is cached on the tree: every answer is decoded into the
 * caller's buffer or list, so a parsed message stays immutable and may be
 * queried from several threads at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"
#include "header-priv.h"
#include "mimeo/query.h"
#include "mimeo/date.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The node whose header fields answer for `p`: a message/rfc822 node is
 * asked about the message it carries (as `mimeo headers FILE N` and IMAP's
 * BODY[N.HEADER] do), unless it was kept whole and has no child. */
static const mimeo_part *field_owner(const mimeo_part *p)
{
	const mimeo_part *c;

	if (mimeo_part_is_message(p) && (c = mimeo_part_first_child(p)) != NULL)
		return c;
	return p;
}

#define NO_FIELD ((size_t)-1)

/* Index of the first field called `name` (any case) of `p` at or after
 * index `from`, or NO_FIELD. */
static size_t next_field(const mimeo_part *p, const char *name, size_t from)
{
	size_t i, count = mimeo_part_header_count(p);

	for (i = from; i < count; i++) {
		const char *fname = mimeo_part_header_name(p, i);

		if (fname && strcasecmp(fname, name) == 0)
			return i;
	}
	return NO_FIELD;
}

/* Index of the n-th field called `name` of `p`, or NO_FIELD. */
static size_t nth_field(const mimeo_part *p, const char *name, size_t n)
{
	size_t i = next_field(p, name, 0);

	while (i != NO_FIELD && n-- > 0)
		i = next_field(p, name, i + 1);
	return i;
}

/* The charset of the first text leaf under `p` that declares one, without
 * entering encapsulated messages (they have their own headers). */
static const char *first_text_charset(const mimeo_part *p)
{
	const mimeo_part *c;

	if (mimeo_part_charset(p))
		return mimeo_part_charset(p);
	if (!mimeo_part_is_multipart(p))
		return NULL;
	for (c = mimeo_part_first_child(p); c; c = mimeo_part_next_sibling(c)) {
		const char *cs = first_text_charset(c);

		if (cs)
			return cs;
	}
	return NULL;
}

/* Header options with the 8-bit fallback of query.h filled in. */
static mimeo_header_options fallback_options(const mimeo_part *owner,
					     const mimeo_header_options *opts)
{
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;

	if (opts) {
		o.flags = opts->flags;
		o.default_charset = opts->default_charset;
		o.alloc = mimeo__header_alloc(opts);
	}
	if (!o.default_charset)
		o.default_charset = first_text_charset(owner);
	return o;
}

/* Collapse runs of spaces and TABs into one space, in place, as a client
 * shows an unfolded Subject ("Re:\tfoo" and "Re:  foo" read "Re: foo"). */
static void squeeze_blanks(mimeo_buf *b, size_t from)
{
	size_t i, j = from;
	int blank = 0;

	for (i = from; i < b->size; i++) {
		char c = b->ptr[i];

		if (c == ' ' || c == '\t') {
			if (!blank)
				b->ptr[j++] = ' ';
			blank = 1;
			continue;
		}
		blank = 0;
		b->ptr[j++] = c;
	}
	b->size = j;
	b->ptr[j] = '\0';
}

int mimeo_part_header_text(const mimeo_part *p, const char *name, size_t n,
			   mimeo_charset_cache *cc, const mimeo_header_options *opts,
			   mimeo_buf *out)
{
	const mimeo_part *owner;
	mimeo_header_options o;
	const char *raw;
	size_t i, len;
	int rc;

	if (!p || !name || !out || !mimeo__header_options_ok(opts))
		return MIMEO_EINVAL;
	mimeo_buf_clear(out);
	if (mimeo_buf_puts(out, "") != MIMEO_OK) /* ptr is "" from here on */
		return MIMEO_ENOMEM;
	owner = field_owner(p);
	i = nth_field(owner, name, n);
	if (i == NO_FIELD)
		return MIMEO_ENOTFOUND;
	raw = mimeo_part_header_raw(owner, i, &len);
	o = fallback_options(owner, opts);
	rc = mimeo_header_decode_text(cc, &o, raw, len, out, NULL);
	if (rc == MIMEO_OK)
		squeeze_blanks(out, 0);
	return rc;
}

int mimeo_part_addresses(mimeo_address_list **out, const mimeo_part *p, const char *name,
			 mimeo_charset_cache *cc, const mimeo_header_options *opts)
{
	const mimeo_part *owner;
	mimeo_header_options o;
	mimeo_buf joined;
	size_t i, n = 0;
	int rc = MIMEO_OK;

	if (out)
		*out = NULL;
	if (!p || !name || !out || !mimeo__header_options_ok(opts))
		return MIMEO_EINVAL;
	/* The caller's allocator serves the temporary copy too. */
	mimeo_buf_init(&joined, mimeo__header_alloc(opts));
	owner = field_owner(p);
	/* Several To fields are one list (RFC 5322 allows one, agents write
	 * more): joined with "," before parsing, each parsed whole. */
	for (i = next_field(owner, name, 0); i != NO_FIELD && rc == MIMEO_OK;
	     i = next_field(owner, name, i + 1)) {
		size_t len;
		const char *raw = mimeo_part_header_raw(owner, i, &len);

		if (n++ > 0)
			rc = mimeo_buf_put(&joined, ",", 1);
		if (rc == MIMEO_OK)
			rc = mimeo_buf_put(&joined, raw, len);
	}
	o = fallback_options(owner, opts);
	if (rc == MIMEO_OK)
		rc = mimeo_address_list_parse(out, cc, &o, joined.ptr ? joined.ptr : "", joined.size);
	mimeo_buf_dispose(&joined);
	if (rc == MIMEO_OK && n == 0)
		return MIMEO_ENOTFOUND;
	return rc;
}

int mimeo_part_date(const mimeo_part *p, const char *name, int64_t *utc_seconds,
		    int *offset_minutes)
{
	const mimeo_part *owner;
	const char *raw;
	size_t i, len;

	if (!p)
		return MIMEO_EINVAL;
	owner = field_owner(p);
	i = nth_field(owner, name ? name : "Date", 0);
	if (i == NO_FIELD)
		return MIMEO_ENOTFOUND;
	raw = mimeo_part_header_raw(owner, i, &len);
	return mimeo_date_parse(raw, len, utc_seconds, offset_minutes);
}

/* ------------------------------------------------------------------ */
/* message identifiers                                                 */
/* ------------------------------------------------------------------ */

/* The ids are collected as NUL-terminated strings in one buffer, then the
 * pointer array is laid out after them in a single allocation. */
typedef struct id_collect {
	mimeo_buf text;   /* "id1\0id2\0..." */
	size_t count;
} id_collect;

static int id_add(id_collect *c, const char *s, size_t len)
{
	size_t i, start = c->text.size;

	/* comments and folding inside an id are dropped (RFC 5322 3.6.4 allows
	 * CFWS around the parts of obs-id-left/right) */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (mimeo_buf_put(&c->text, (const char *)&ch, 1) != MIMEO_OK)
			return MIMEO_ENOMEM;
	}
	if (c->text.size == start)
		return MIMEO_OK; /* "<>" */
	if (mimeo_buf_put(&c->text, "", 1) != MIMEO_OK)
		return MIMEO_ENOMEM;
	c->count++;
	return MIMEO_OK;
}

/* Length of the comment starting at s[0] == '(' (nested, with quoted
 * pairs), or to the end when it is unclosed. */
static size_t comment_len(const char *s, size_t len)
{
	size_t i, depth = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

static int ids_bracketed(id_collect *c, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t end;

		if (v[i] == '(') {
			i += comment_len(v + i, len - i);
			continue;
		}
		if (v[i] != '<') {
			i++;
			continue;
		}
		for (end = i + 1; end < len && v[end] != '>'; end++)
			;
		if (id_add(c, v + i + 1, end - i - 1) != MIMEO_OK)
			return MIMEO_ENOMEM;
		i = end + 1;
	}
	return MIMEO_OK;
}

static int ids_bare(id_collect *c, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n' || v[i] == ','))
			i++;
		if (i < len && v[i] == '(') {
			i += comment_len(v + i, len - i);
			continue;
		}
		start = i;
		while (i < len && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n' &&
		       v[i] != ',' && v[i] != '(')
			i++;
		if (i > start && memchr(v + start, '@', i - start) &&
		    id_add(c, v + start, i - start) != MIMEO_OK)
			return MIMEO_ENOMEM;
	}
	return MIMEO_OK;
}

static int id_list_build(const id_collect *c, mimeo_id_list **out)
{
	size_t head = sizeof(mimeo_id_list) + c->count * sizeof(char *);
	mimeo_id_list *l;
	const char **ids;
	char *text;
	size_t i, off = 0;

	l = malloc(head + c->text.size + 1);
	if (!l)
		return MIMEO_ENOMEM;
	ids = (const char **)(void *)(l + 1);
	text = (char *)l + head;
	if (c->text.size)
		memcpy(text, c->text.ptr, c->text.size);
	text[c->text.size] = '\0';
	for (i = 0; i < c->count; i++) {
		ids[i] = text + off;
		off += strlen(text + off) + 1;
	}
	l->ids = ids;
	l->count = c->count;
	*out = l;
	return MIMEO_OK;
}

/* The ids of the fields called `name` of `owner` itself. */
static int ids_of(const mimeo_part *owner, const char *name, mimeo_id_list **out)
{
	id_collect c = { MIMEO_BUF_INIT, 0 };
	size_t i, fields = 0;
	int rc = MIMEO_OK;

	for (i = next_field(owner, name, 0); i != NO_FIELD && rc == MIMEO_OK;
	     i = next_field(owner, name, i + 1)) {
		size_t len;
		const char *raw = mimeo_part_header_raw(owner, i, &len);

		fields++;
		rc = memchr(raw, '<', len) ? ids_bracketed(&c, raw, len) : ids_bare(&c, raw, len);
	}
	if (rc == MIMEO_OK)
		rc = id_list_build(&c, out);
	mimeo_buf_dispose(&c.text);
	if (rc == MIMEO_OK && (fields == 0 || c.count == 0))
		return MIMEO_ENOTFOUND;
	return rc;
}

int mimeo_part_ids(mimeo_id_list **out, const mimeo_part *p, const char *name)
{
	if (out)
		*out = NULL;
	if (!p || !name || !out)
		return MIMEO_EINVAL;
	return ids_of(field_owner(p), name, out);
}

void mimeo_id_list_free(mimeo_id_list *l)
{
	free(l);
}

/* ------------------------------------------------------------------ */
/* attachments and inline resources                                    */
/* ------------------------------------------------------------------ */

int mimeo_part_is_attachment(const mimeo_part *p)
{
	const char *d;

	if (!p || !mimeo_part_is_leaf(p))
		return 0;
	d = mimeo_part_disposition(p);
	return mimeo_part_filename(p) != NULL || (d && strcmp(d, "attachment") == 0);
}

const mimeo_part *mimeo_message_next_attachment(const mimeo_message *m, const mimeo_part *prev)
{
	const mimeo_part *p;

	if (!m)
		return NULL;
	p = prev ? mimeo_part_next(prev) : mimeo_message_root(m);
	while (p && !mimeo_part_is_attachment(p))
		p = mimeo_part_next(p);
	return p;
}

/* "cid:a%40b" -> "a@b", "<a@b>" -> "a@b" into `out` (cap bytes, NUL
 * included); 0 when it does not fit. */
static size_t normalise_cid(const char *cid, char *out, size_t cap)
{
	size_t n = 0, len;
	int url = 0;

	if (strncasecmp(cid, "cid:", 4) == 0) {
		cid += 4;
		url = 1;
	}
	len = strlen(cid);
	if (len >= 2 && cid[0] == '<' && cid[len - 1] == '>') {
		cid++;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		char c = cid[i];

		if (url && c == '%' && i + 2 < len && mimeo__hex_value((unsigned char)cid[i + 1]) >= 0 &&
		    mimeo__hex_value((unsigned char)cid[i + 2]) >= 0) {
			c = (char)(mimeo__hex_value((unsigned char)cid[i + 1]) * 16 + mimeo__hex_value((unsigned char)cid[i + 2]));
			i += 2;
		}
		if (n + 1 >= cap)
			return 0;
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

const mimeo_part *mimeo_message_find_content_id(const mimeo_message *m, const char *cid)
{
	char want[1024];
	const mimeo_part *p, *folded = NULL;
	size_t wlen;

	if (!m || !cid || (wlen = normalise_cid(cid, want, sizeof(want))) == 0)
		return NULL;
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		mimeo_id_list *ids;

		/* the node's own MIME field: a message/rfc822 part's Content-ID
		 * names the part, not the message inside */
		if (ids_of(p, "Content-ID", &ids) != MIMEO_OK) {
			mimeo_id_list_free(ids);
			continue;
		}
		if (ids->count && strcmp(ids->ids[0], want) == 0) {
			mimeo_id_list_free(ids);
			return p;
		}
		if (!folded && ids->count && strcasecmp(ids->ids[0], want) == 0)
			folded = p;
		mimeo_id_list_free(ids);
	}
	return folded;
}
