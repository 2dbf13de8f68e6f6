/*
 * fuzz_imap.c - the IMAP BODYSTRUCTURE and ENVELOPE writer (mimeo/imap.h)
 * over the message tree of hostile mail.
 *
 * Input: [options byte] [message...]
 *   options bit 0: small parser limits (depth 4, 16 parts, short header
 *   lines), so that opaque multiparts and cut headers are reached;
 *   bit 1: MIMEO_MESSAGE_BORROW;
 *   bit 2: also parse the message from a read callback whose spool goes to
 *   a temporary file at once (the source is then not in memory and the
 *   writer reads it as it needs): every value must be the same bytes as
 *   for the tree parsed from memory;
 *   bit 3: the server-compatibility profile (MIMEO_PARSE_COMPAT_DOVECOT,
 *   as `mimeo imap --compat=dovecot`).
 * Checks, for the root and for every node of the tree:
 *   - BODYSTRUCTURE, BODY (MIMEO_IMAP_NO_EXTENSION) and ENVELOPE succeed
 *     and are one well-formed IMAP value each (RFC 3501 9): balanced
 *     lists; quoted strings without CR, LF, NUL or 8-bit bytes and with
 *     only \" and \\ escapes; literals {n} CRLF with exactly n bytes and no
 *     NUL; atoms only NIL or a number;
 *   - a body is a list whose shape fits the grammar: a multipart's parts
 *     are lists followed by a string (the subtype); a leaf starts with two
 *     strings; BODY has no more elements than BODYSTRUCTURE;
 *   - an ENVELOPE has 10 elements, its address lists are NIL or lists of
 *     4-element lists;
 *   - the output does not depend on the call: a second call appends the
 *     same bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

/* A parsed value, only as deep as the checks need. */
enum { V_NIL, V_NUM, V_STR, V_LIST };

typedef struct val {
	int kind;
	size_t n;          /* elements of a list */
	int first_kinds[3];
	int elem_kinds_4;  /* all elements are lists of 4 (address lists) */
} val;

/* Parse one value at *pos of s[0..len); abort on anything malformed. */
static void parse_value(const char *s, size_t len, size_t *pos, val *v, unsigned depth)
{
	size_t i = *pos;

	FZ_CHECK(depth < 100000);
	FZ_CHECK(i < len);
	memset(v, 0, sizeof(*v));
	if (s[i] == '(') {
		i++;
		v->kind = V_LIST;
		v->elem_kinds_4 = 1;
		while (1) {
			val e;

			FZ_CHECK(i < len);
			if (s[i] == ')') {
				i++;
				break;
			}
			if (v->n) {
				/* elements are separated by one space, except
				 * between the parts of a multipart: ")(" */
				if (s[i] == ' ')
					i++;
				else
					FZ_CHECK(s[i] == '(' && s[i - 1] == ')');
			}
			parse_value(s, len, &i, &e, depth + 1);
			if (v->n < 3)
				v->first_kinds[v->n] = e.kind;
			if (e.kind != V_LIST || e.n != 4)
				v->elem_kinds_4 = 0;
			v->n++;
		}
	} else if (s[i] == '"') {
		v->kind = V_STR;
		for (i++;; i++) {
			unsigned char c;

			FZ_CHECK(i < len);
			c = (unsigned char)s[i];
			FZ_CHECK(c != '\r' && c != '\n' && c != 0 && c < 0x80);
			if (c == '"')
				break;
			if (c == '\\') {
				i++;
				FZ_CHECK(i < len && (s[i] == '"' || s[i] == '\\'));
			}
		}
		i++;
	} else if (s[i] == '{') {
		size_t n = 0, j;

		v->kind = V_STR;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			FZ_CHECK(n < ((size_t)1 << 40));
			n = n * 10 + (size_t)(s[i] - '0');
		}
		FZ_CHECK(i + 3 <= len && s[i] == '}' && s[i + 1] == '\r' && s[i + 2] == '\n');
		i += 3;
		FZ_CHECK(n <= len - i);
		for (j = 0; j < n; j++)
			FZ_CHECK(s[i + j] != 0);
		i += n;
	} else if (s[i] >= '0' && s[i] <= '9') {
		v->kind = V_NUM;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		FZ_CHECK(len - i >= 3 && memcmp(s + i, "NIL", 3) == 0);
		v->kind = V_NIL;
		i += 3;
	}
	*pos = i;
}

static void parse_whole(const mimeo_buf *b, val *v)
{
	size_t pos = 0;

	FZ_CHECK(b->ptr != NULL && b->ptr[b->size] == '\0');
	parse_value(b->ptr, b->size, &pos, v, 0);
	FZ_CHECK(pos == b->size);
	FZ_CHECK(v->kind == V_LIST);
}

static void check_body(const val *full, const val *basic)
{
	/* a multipart: (part)(part)... "subtype" [ext]; a leaf: "type"
	 * "subtype" params id desc enc size ... */
	if (full->first_kinds[0] == V_LIST) {
		FZ_CHECK(basic->first_kinds[0] == V_LIST);
	} else {
		FZ_CHECK(full->first_kinds[0] == V_STR && full->first_kinds[1] == V_STR);
		FZ_CHECK(basic->first_kinds[0] == V_STR && basic->first_kinds[1] == V_STR);
		FZ_CHECK(full->n >= 7 && basic->n >= 7);
	}
	FZ_CHECK(basic->n <= full->n);
}

static void check_envelope(const mimeo_message *m, const mimeo_part *p)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	val v;
	size_t first;

	FZ_CHECK(mimeo_imap_envelope(m, p, &b) == MIMEO_OK);
	parse_whole(&b, &v);
	FZ_CHECK(v.n == 10);
	first = b.size;
	FZ_CHECK(mimeo_imap_envelope(m, p, &b) == MIMEO_OK);
	FZ_CHECK(b.size == 2 * first && memcmp(b.ptr, b.ptr + first, first) == 0);
	mimeo_buf_dispose(&b);
}

/* A read callback over a buffer, a few bytes at a time. */
typedef struct feed {
	const uint8_t *p;
	size_t left;
} feed;

static int feed_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	feed *f = ctx;
	size_t n = f->left < cap ? f->left : cap;

	if (n > 4093)
		n = 4093;
	memcpy(buf, f->p, n);
	f->p += n;
	f->left -= n;
	*got = n;
	return 0;
}

/* The same value from node `q` of the tree read from a file as from node
 * `p` of the tree read from memory. */
static void check_same(const mimeo_message *m, const mimeo_part *p, const mimeo_message *mf,
		       const mimeo_part *q)
{
	mimeo_buf a = MIMEO_BUF_INIT, b = MIMEO_BUF_INIT;
	int which;

	for (which = 0; which < 2; which++) {
		if (which && !(mimeo_part_is_message(p) || p == mimeo_message_root(m)))
			break;
		FZ_CHECK((which ? mimeo_imap_envelope(m, p, &a)
				: mimeo_imap_bodystructure(m, p, 0, &a)) == MIMEO_OK);
		FZ_CHECK((which ? mimeo_imap_envelope(mf, q, &b)
				: mimeo_imap_bodystructure(mf, q, 0, &b)) == MIMEO_OK);
		FZ_CHECK(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
		mimeo_buf_clear(&a);
		mimeo_buf_clear(&b);
	}
	mimeo_buf_dispose(&a);
	mimeo_buf_dispose(&b);
}

static void check_node(const mimeo_message *m, const mimeo_part *p)
{
	mimeo_buf full = MIMEO_BUF_INIT, basic = MIMEO_BUF_INIT;
	val vf, vb;
	size_t first;

	FZ_CHECK(mimeo_imap_bodystructure(m, p, 0, &full) == MIMEO_OK);
	FZ_CHECK(mimeo_imap_bodystructure(m, p, MIMEO_IMAP_NO_EXTENSION, &basic) == MIMEO_OK);
	parse_whole(&full, &vf);
	parse_whole(&basic, &vb);
	check_body(&vf, &vb);
	first = full.size;
	FZ_CHECK(mimeo_imap_bodystructure(m, p, 0, &full) == MIMEO_OK);
	FZ_CHECK(full.size == 2 * first && memcmp(full.ptr, full.ptr + first, first) == 0);
	mimeo_buf_dispose(&full);
	mimeo_buf_dispose(&basic);
	if (mimeo_part_is_message(p) || p == mimeo_message_root(m))
		check_envelope(m, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_message *m = NULL;
	const mimeo_part *p;
	uint8_t opt;
	char *copy;
	size_t n = 0;

	if (size < 1)
		return 0;
	opt = data[0];
	data++;
	size--;
	if (opt & 1) {
		po.max_depth = 4;
		po.max_parts = 16;
		po.max_line = 64;
		mo.parser = &po;
	}
	if (opt & 2)
		mo.flags |= MIMEO_MESSAGE_BORROW;
	if (opt & 8) {
		po.flags = MIMEO_PARSE_COMPAT_DOVECOT;
		mo.parser = &po;
	}
	/* an exact-size copy, so reads past the message are caught */
	copy = fz_dup(data, size);
	if (mimeo_message_parse_buffer(&m, copy, size, &mo) != MIMEO_OK) {
		free(copy);
		return 0;
	}
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		check_node(m, p);
		if (++n > 200)
			break; /* enough nodes: keep each input fast */
	}
	if (opt & 4) {
		mimeo_message_options fo = mo;
		mimeo_message *mf = NULL;
		const mimeo_part *q;
		feed f = { data, size };

		fo.flags &= ~MIMEO_MESSAGE_BORROW;
		fo.spool_memory = 1;
		if (mimeo_message_parse_stream(&mf, feed_read, &f, &fo) == MIMEO_OK) {
			if (!mimeo_message_source(mf, NULL)) {
				n = 0;
				for (p = mimeo_message_root(m), q = mimeo_message_root(mf); p && q;
				     p = mimeo_part_next(p), q = mimeo_part_next(q)) {
					check_same(m, p, mf, q);
					if (++n > 50)
						break;
				}
			}
			mimeo_message_free(mf);
		}
	}
	mimeo_message_free(m);
	free(copy);
	return 0;
}
