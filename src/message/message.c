/*
 * message.c - the message tree, built from the push parser's events, and
 * body access on demand (issue 13).
 *
 * The parser runs with MIMEO_PARSE_NO_DECODE: leaf bodies go by as raw
 * bytes and are not kept.  What the tree needs from them is their decoded
 * size, counted on the way (identity encodings: the byte count; base64: a
 * count of the alphabet characters and padding, which decides the decoded
 * size exactly without decoding; quoted-printable and uuencode: their
 * decoders run into a scratch buffer).  Later a body is decoded from its
 * source bytes [body_offset, end_offset) with the same decoder the parser
 * would have used, so `cat` and `extract` decode once.
 *
 * Memory: nodes, strings and header fields live in the message's arena.
 * Short strings that repeat from part to part (header names, types,
 * charsets, "text/plain" values) are interned while building, so a message
 * with 10,000 parts costs well under 2 MiB.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "message-priv.h"
#include "charset-priv.h"
#include "codec-priv.h"
#include "mimeo/param.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>


/* ------------------------------------------------------------------ */
/* Build state                                                         */
/* ------------------------------------------------------------------ */

/* Interned short strings and attribute blocks: open addressing,
 * arena-owned copies. */
typedef struct intern_ent {
	const char *s;
	uint32_t len, hash;  /* the hash's low bit tells strings from blocks */
} intern_ent;

#define INTERN_MAX 64 /* longer strings are not worth a look-up */

/* Decoded-size counting for the open leaf. */
enum { SIZE_RAW, SIZE_B64, SIZE_DECODER };

struct mimeo__tree_build {
	mimeo_message *m;
	mimeo_parser *ps;
	mimeo_part *cur;        /* innermost open part */
	mimeo_part *last_closed;/* the part that ended last (previous sibling) */
	mimeo_charset_cache *cc;
	int err;                /* first failure */
	/* header fields of the part whose header block is being read */
	mimeo__hdr *hdrs;
	size_t nhdrs, ahdrs;
	/* interned strings */
	intern_ent *tab;
	size_t ntab, atab;
	/* size of the leaf being read */
	int mode;
	mimeo__b64_counter b64; /* base64: counted, not decoded */
	uint64_t size, raw;
	mimeo_transfer_decoder dec;
	char *scratch;          /* MIMEO__IO_BLOCK-bounded decoder output */
	/* the preamble of the multipart without children being read */
	mimeo__spool pre;
	/* spooling of decoded message/rfc822 bodies */
	size_t spool_limit;
	const char *tmpdir;
	mimeo_isa isa;
};

_Static_assert(sizeof(mimeo_part) <= 96, "a node must stay small (issue 13)");
_Static_assert(MIMEO_PART_ENCODED < 0x10000, "part flags must fit the node's 16 bits");

/* A part before its header block is read, or without any: text/plain. */
static const mimeo__attrs default_attrs = { "text", "plain", NULL, NULL, NULL, NULL, NULL,
					    0, 0 };

static uint32_t hash_str(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* A string with its length: strings made here are stored as [uint32
 * length][bytes][NUL] and the pointer is to the bytes, so that a header
 * field costs two pointers (values may hold NULs: strlen cannot tell). */
static char *lstr_new(mimeo__arena *a, const char *s, size_t len)
{
	uint32_t n = (uint32_t)len;
	char *c;

	if (len > UINT32_MAX - 8)
		return NULL;
	c = mimeo__arena_alloc(a, len + 5);
	if (!c)
		return NULL;
	memcpy(c, &n, 4);
	memcpy(c + 4, s, len);
	c[4 + len] = '\0';
	return c + 4;
}

static size_t lstr_len(const char *s)
{
	uint32_t n;

	memcpy(&n, s - 4, 4);
	return n;
}

/* An arena copy of s[0..len) (NUL-terminated when `str`), shared with an
 * equal earlier one. */
static const void *intern_mem(mimeo__tree_build *b, const void *s, size_t len, int str)
{
	mimeo__arena *a = &b->m->ar;
	uint32_t h;
	size_t i, mask;
	char *copy;

	if (b->ntab * 2 >= b->atab) {
		size_t n = b->atab ? b->atab * 2 : 256, k;
		intern_ent *t = mimeo__calloc(b->m->alloc, n, sizeof(*t));

		if (!t)
			return NULL;
		for (k = 0; k < b->atab; k++) {
			if (!b->tab[k].s)
				continue;
			for (i = b->tab[k].hash & (n - 1); t[i].s; i = (i + 1) & (n - 1))
				;
			t[i] = b->tab[k];
		}
		mimeo__free(b->m->alloc, b->tab);
		b->tab = t;
		b->atab = n;
	}
	h = (hash_str(s, len) & ~1u) | (str ? 1u : 0u);
	mask = b->atab - 1;
	for (i = h & mask; b->tab[i].s; i = (i + 1) & mask) {
		if (b->tab[i].hash == h && b->tab[i].len == len && memcmp(b->tab[i].s, s, len) == 0)
			return b->tab[i].s;
	}
	if (str) {
		copy = lstr_new(a, s, len);
	} else {
		copy = mimeo__arena_alloc(a, len ? len : 1);
		if (copy && len)
			memcpy(copy, s, len);
	}
	if (!copy)
		return NULL;
	b->tab[i].s = copy;
	b->tab[i].len = (uint32_t)len;
	b->tab[i].hash = h;
	b->ntab++;
	return copy;
}

/* Every string of the tree but sections goes through here. */
static const char *intern(mimeo__tree_build *b, const char *s, size_t len)
{
	if (len > INTERN_MAX)
		return lstr_new(&b->m->ar, s, len);
	return intern_mem(b, s, len, 1);
}

static const char *intern_opt(mimeo__tree_build *b, const char *s, int *err)
{
	const char *r;

	if (!s)
		return NULL;
	r = intern(b, s, strlen(s));
	if (!r)
		*err = MIMEO_ENOMEM;
	return r;
}

/* ------------------------------------------------------------------ */
/* Decoded sizes                                                       */
/* ------------------------------------------------------------------ */

static int cte_identity(unsigned cte)
{
	return cte != MIMEO_CTE_BASE64 && cte != MIMEO_CTE_QP && cte != MIMEO_CTE_UUENCODE;
}

/* Did the parser decode this message/rfc822 node's body to parse the
 * message inside (its root then counts offsets in the decoded bytes)?  Not
 * with MIMEO_PARSE_MESSAGE_AS_IS, which reads the body as it stands: the
 * root's MIMEO_PART_ENCODED tells, as the parser sets it only on what it
 * parsed from decoded bytes (and an encoded message inside a decoded one
 * is decoded again). */
static int decoded_message(const mimeo_part *p)
{
	return (p->flags & MIMEO_PART_MESSAGE) && !cte_identity(p->cte) && p->first_child &&
	       (p->first_child->flags & MIMEO_PART_ENCODED);
}

/* Does the parser decode this node's body (a leaf with a real transfer
 * encoding)?  The same rule as the parser's (set_body in parser.c). */
static int needs_decode(const mimeo_part *p)
{
	return (p->flags & MIMEO_PART_LEAF) && !(p->flags & MIMEO__PART_SPOOLED) &&
	       !cte_identity(p->cte);
}

static int size_begin(mimeo__tree_build *b, const mimeo_part *p)
{
	b->size = b->raw = 0;
	if (!needs_decode(p)) {
		b->mode = SIZE_RAW;
	} else if (p->cte == MIMEO_CTE_BASE64) {
		b->mode = SIZE_B64;
		mimeo__b64_count_init(&b->b64, b->isa);
	} else {
		b->mode = SIZE_DECODER;
		mimeo_transfer_decoder_init(&b->dec, (mimeo_cte)p->cte, b->isa);
		if (!b->scratch) {
			b->scratch = mimeo__malloc(b->m->alloc,
						   MIMEO_TRANSFER_DECODE_BOUND(MIMEO__IO_BLOCK));
			if (!b->scratch)
				return MIMEO_ENOMEM;
		}
	}
	return MIMEO_OK;
}

static void size_step(mimeo__tree_build *b, const char *data, size_t len)
{
	b->raw += len;
	switch (b->mode) {
	case SIZE_RAW:
		b->size += len;
		break;
	case SIZE_B64:
		mimeo__b64_count_step(&b->b64, data, len);
		break;
	default:
		while (len) {
			size_t k = len < MIMEO__IO_BLOCK ? len : MIMEO__IO_BLOCK;

			b->size += mimeo_transfer_decode_step(&b->dec, data, k, b->scratch);
			data += k;
			len -= k;
		}
	}
}

static uint64_t size_end(mimeo__tree_build *b)
{
	if (b->mode == SIZE_B64)
		b->size = mimeo__b64_count_finish(&b->b64);
	else if (b->mode == SIZE_DECODER)
		b->size += mimeo_transfer_decode_finish(&b->dec, b->scratch);
	b->mode = SIZE_RAW;
	return b->size;
}

/* ------------------------------------------------------------------ */
/* Parser callbacks                                                    */
/* ------------------------------------------------------------------ */

static const mimeo__kv *kv_find_kv(const mimeo__kv *v, size_t n, const char *name)
{
	size_t i;

	size_t nlen = strlen(name);

	for (i = 0; i < n; i++) {
		if (mimeo__ascii_ieq(name, nlen, v[i].name) ||
		    mimeo__ascii_ieq(v[i].name, strlen(v[i].name), name))
			return &v[i];
	}
	return NULL;
}

static const char *kv_find(const mimeo__kv *v, size_t n, const char *name)
{
	const mimeo__kv *k = kv_find_kv(v, n, name);

	return k ? k->value : NULL;
}

/* Copy the parameters of a parsed field into the arena. */
static int copy_params(mimeo__tree_build *b, const mimeo_mime_field *f, const mimeo__kv **out,
		       uint32_t *n)
{
	mimeo__kv *v;
	size_t i, bytes;

	*out = NULL;
	*n = 0;
	if (!f || !f->nparams)
		return MIMEO_OK;
	if (f->nparams > UINT32_MAX || !mimeo__mul_ok(f->nparams, sizeof(*v), &bytes))
		return MIMEO_ENOMEM;
	v = mimeo__malloc(b->m->alloc, bytes);
	if (!v)
		return MIMEO_ENOMEM;
	for (i = 0; i < f->nparams; i++) {
		const char *name = f->params[i].name ? f->params[i].name : "";
		const char *value = f->params[i].value ? f->params[i].value : "";

		v[i].name = intern(b, name, strlen(name));
		v[i].value = intern(b, value, strlen(value));
		if (!v[i].name || !v[i].value) {
			mimeo__free(b->m->alloc, v);
			return MIMEO_ENOMEM;
		}
	}
	/* the array of interned pointers is itself shared */
	*out = bytes <= 16 * INTERN_MAX ? intern_mem(b, v, bytes, 0) : NULL;
	if (!*out) {
		mimeo__kv *c = mimeo__arena_alloc(&b->m->ar, bytes);

		if (c)
			memcpy(c, v, bytes);
		*out = c;
	}
	mimeo__free(b->m->alloc, v);
	if (!*out)
		return MIMEO_ENOMEM;
	*n = (uint32_t)f->nparams;
	return MIMEO_OK;
}

static const mimeo__hdr *find_hdr(const mimeo__hdr *h, size_t n, const char *name)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < n; i++) {
		if (lstr_len(h[i].name) == nlen && strncasecmp(h[i].name, name, nlen) == 0)
			return &h[i];
	}
	return NULL;
}

/* The Content-Transfer-Encoding as written: RFC 2045 6.1 makes the value a
 * case-insensitive token; we trim whitespace and comments and lowercase. */
static const char *cte_as_written(mimeo__tree_build *b, const mimeo__hdr *h, int *err)
{
	char tmp[INTERN_MAX + 1], *out, *o;
	size_t vlen = lstr_len(h->value);
	const char *s = h->value, *e = h->value + vlen, *r;
	int depth = 0;

	out = vlen <= INTERN_MAX ? tmp : mimeo__arena_alloc(&b->m->ar, vlen + 1);
	if (!out) {
		*err = MIMEO_ENOMEM;
		return NULL;
	}
	o = out;
	for (; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '(') {
			depth++;
		} else if (c == ')' && depth) {
			depth--;
		} else if (!depth && c > ' ' && c != 0x7f) {
			*o++ = (char)mimeo__lower(c);
		}
	}
	*o = '\0';
	if (out != tmp)
		return out;
	r = intern(b, tmp, (size_t)(o - tmp));
	if (!r)
		*err = MIMEO_ENOMEM;
	return r;
}

static int fail(mimeo__tree_build *b, int err)
{
	if (!b->err)
		b->err = err;
	return MIMEO_EUSER;
}

/* Forget the preamble collected so far. */
static void pre_reset(mimeo__tree_build *b)
{
	mimeo__spool_dispose(&b->pre);
	mimeo__spool_init(&b->pre, b->m->alloc, b->spool_limit, b->tmpdir);
}

static int cb_part_begin(const mimeo_part_info *info, void *user)
{
	mimeo__tree_build *b = user;
	mimeo_message *m = b->m;
	mimeo_part *p;

	if (!b->cur && m->root)
		/* A second top-level message: the tree holds one message, so
		 * the rest is ignored (mimeo_message_parse_* never sets
		 * MIMEO_PARSE_MBOX, so this cannot normally happen). */
		return MIMEO_EUSER;
	p = b->cur ? mimeo__arena_alloc(&m->ar, sizeof(*p)) : &m->root_node;
	if (!p)
		return fail(b, MIMEO_ENOMEM);
	memset(p, 0, sizeof(*p));
	p->section = "";  /* the parser's number is final at headers_end */
	p->header_offset = info->header_offset;
	p->body_offset = info->header_offset;
	p->end_offset = info->header_offset;
	p->attrs = &default_attrs;
	if (b->cur) {
		p->parent = b->cur;
		/* the previous sibling, if any, is the part that ended last */
		if (b->last_closed && b->last_closed->parent == b->cur) {
			b->last_closed->next = p;
		} else {
			b->cur->first_child = p;
			if (b->pre.len)
				pre_reset(b); /* a delimiter came: not content */
		}
		b->cur->nchildren++;
	} else {
		m->root = p;
	}
	b->cur = p;
	b->nhdrs = 0;
	m->nparts++;
	return 0;
}

static int cb_header(const mimeo_part_info *info, const char *name, size_t name_len,
		     const char *value, size_t value_len, void *user)
{
	mimeo__tree_build *b = user;
	mimeo__hdr *h;

	MIMEO_UNUSED(info);
	if (name_len > UINT32_MAX || value_len > UINT32_MAX)
		return fail(b, MIMEO_ENOMEM);
	if (b->nhdrs == b->ahdrs &&
	    mimeo__array_reserve(b->m->alloc, (void **)&b->hdrs, &b->ahdrs, b->nhdrs,
				 sizeof(*b->hdrs), 16) != MIMEO_OK)
		return fail(b, MIMEO_ENOMEM);
	h = &b->hdrs[b->nhdrs];
	h->name = intern(b, name, name_len);
	h->value = intern(b, value, value_len);
	if (!h->name || !h->value)
		return fail(b, MIMEO_ENOMEM);
	b->nhdrs++;
	return 0;
}

/* Move the collected header fields of the current part into the arena. */
static int flush_headers(mimeo__tree_build *b, mimeo_part *p)
{
	mimeo__hdr *h;

	if (p->hdrs || !b->nhdrs)
		return MIMEO_OK;
	if (b->nhdrs > UINT32_MAX)
		return MIMEO_ENOMEM;
	h = mimeo__arena_alloc(&b->m->ar, b->nhdrs * sizeof(*h));
	if (!h)
		return MIMEO_ENOMEM;
	memcpy(h, b->hdrs, b->nhdrs * sizeof(*h));
	p->hdrs = h;
	p->hdr_count = (uint32_t)b->nhdrs;
	b->nhdrs = 0;
	return MIMEO_OK;
}

static int cb_headers_end(const mimeo_part_info *info, void *user)
{
	mimeo__tree_build *b = user;
	mimeo_message *m = b->m;
	mimeo_part *p = b->cur;
	const mimeo__hdr *h;
	mimeo__attrs at, *a = &at;
	int err = MIMEO_OK;

	if (flush_headers(b, p) != MIMEO_OK)
		return fail(b, MIMEO_ENOMEM);
	p->flags = (uint16_t)info->flags;
	p->body_offset = info->body_offset;
	p->end_offset = info->body_offset;
	p->cte = (uint8_t)info->cte;
	/* RFC 3501 6.4.5 numbers, computed by the parser: final from
	 * headers_end (a root entity's depends on its type) */
	if (info->section) {
		p->section = mimeo__arena_strndup(&m->ar, info->section, strlen(info->section));
		if (!p->section)
			err = MIMEO_ENOMEM;
	}
	memset(a, 0, sizeof(*a)); /* no padding left undefined: it is hashed */
	a->type = info->type ? intern_opt(b, info->type, &err) : "text";
	a->subtype = info->subtype ? intern_opt(b, info->subtype, &err) : "plain";
	if (err)
		return fail(b, err);
	if (copy_params(b, info->content_type, &a->params, &a->nparams) != MIMEO_OK)
		return fail(b, MIMEO_ENOMEM);
	/* The charset parameter as written, lowercased (the parser also
	 * reports "us-ascii" for a part without Content-Type; the tree keeps
	 * "absent" distinct, as the CLI's JSON contract wants). */
	{
		const char *cs = kv_find(a->params, a->nparams, "charset");

		if (cs) {
			size_t n = strlen(cs), i;
			char tmp[INTERN_MAX + 1], *l = n <= INTERN_MAX ? tmp :
				mimeo__arena_alloc(&m->ar, n + 1);

			if (!l)
				return fail(b, MIMEO_ENOMEM);
			for (i = 0; i <= n; i++)
				l[i] = (char)mimeo__lower((unsigned char)cs[i]);
			a->charset = l == tmp ? intern(b, tmp, n) : l;
			if (!a->charset)
				return fail(b, MIMEO_ENOMEM);
		}
	}
	h = find_hdr(p->hdrs, p->hdr_count, "Content-Transfer-Encoding");
	if (h && !(a->cte_name = cte_as_written(b, h, &err)))
		return fail(b, err);
	if (a->cte_name && !*a->cte_name)
		a->cte_name = NULL;

	/* RFC 2183: the first Content-Disposition field, parsed like a
	 * Content-Type (RFC 2231 parameters, lenient syntax). */
	h = find_hdr(p->hdrs, p->hdr_count, "Content-Disposition");
	if (h) {
		mimeo_mime_field *f = NULL;
		mimeo_header_options ho = MIMEO_HEADER_OPTIONS_INIT;

		ho.alloc = m->alloc;
		if (mimeo_mime_field_parse(&f, b->cc, &ho, h->value,
					   lstr_len(h->value)) != MIMEO_OK)
			return fail(b, MIMEO_ENOMEM);
		if (f->type && *f->type)
			a->disposition = intern_opt(b, f->type, &err);
		if (!err && copy_params(b, f, &a->dparams, &a->ndparams) != MIMEO_OK)
			err = MIMEO_ENOMEM;
		mimeo_mime_field_free(f);
		if (err)
			return fail(b, err);
	}
	p->attrs = intern_mem(b, a, sizeof(*a), 0);
	if (!p->attrs)
		return fail(b, MIMEO_ENOMEM);
	if (p->flags & MIMEO_PART_LEAF) {
		int rc = size_begin(b, p);

		if (rc != MIMEO_OK)
			return fail(b, rc);
	}
	return 0;
}

static int cb_body(const mimeo_part_info *info, const char *data, size_t len, void *user)
{
	MIMEO_UNUSED(info);
	size_step(user, data, len);
	return 0;
}

/* The preamble (and epilogue) of a multipart that has no child yet: kept
 * in a spool in case no delimiter follows (the parser then makes the
 * multipart a leaf whose content these bytes are, issue 15 class 3);
 * dropped as soon as a child begins or the multipart ends as one. */
static int cb_preamble(const mimeo_part_info *info, const char *data, size_t len, void *user)
{
	mimeo__tree_build *b = user;
	int rc;

	MIMEO_UNUSED(info);
	if (b->cur->nchildren)
		return 0;
	rc = mimeo__spool_write(&b->pre, data, len);
	if (rc == MIMEO_EIO)
		mimeo__message_fail(b->m, rc, b->pre.reason);
	return rc == MIMEO_OK ? 0 : fail(b, rc);
}

/* Room for one more source in m->srcs (grown one at a time: a message
 * has few, one per re-read body at most). */
static int srcs_room(mimeo_message *m)
{
	mimeo__source *ns;

	if (m->nsrcs >= UINT32_MAX)
		return MIMEO_ENOMEM;
	ns = mimeo__realloc(m->alloc, m->srcs, (m->nsrcs + 1) * sizeof(*ns));
	if (!ns)
		return MIMEO_ENOMEM;
	m->srcs = ns;
	return MIMEO_OK;
}

/* A multipart in which no delimiter was found ended as a leaf: its body is
 * what was collected from its preamble and epilogue, kept as a source of
 * its own (not transfer-decoded, as the parser delivered it). */
static int keep_preamble(mimeo__tree_build *b, mimeo_part *p, const mimeo_part_info *info)
{
	mimeo_message *m = b->m;
	mimeo__bodysrc *bs;

	if (srcs_room(m) != MIMEO_OK)
		return MIMEO_ENOMEM;
	bs = mimeo__realloc(m->alloc, m->bodysrc, (m->nbodysrc + 1) * sizeof(*bs));
	if (!bs)
		return MIMEO_ENOMEM;
	m->bodysrc = bs;
	mimeo__spool_finish(&b->pre, &m->srcs[m->nsrcs]);
	bs[m->nbodysrc].part = p;
	bs[m->nbodysrc].src = (uint32_t)m->nsrcs;
	m->nbodysrc++;
	m->nsrcs++;
	p->size = m->srcs[m->nsrcs - 1].len;
	p->flags |= MIMEO__PART_SPOOLED;
	/* a multipart root becomes a leaf: numbered M.1 now */
	if (info->section && strcmp(p->section, info->section) != 0) {
		p->section = mimeo__arena_strndup(&m->ar, info->section, strlen(info->section));
		if (!p->section)
			return MIMEO_ENOMEM;
	}
	pre_reset(b);
	return MIMEO_OK;
}

static int cb_part_end(const mimeo_part_info *info, void *user)
{
	mimeo__tree_build *b = user;
	mimeo_part *p = b->cur;
	int was_multi = (p->flags & MIMEO_PART_MULTIPART) != 0;

	if (flush_headers(b, p) != MIMEO_OK)
		return fail(b, MIMEO_ENOMEM);
	p->flags = (uint16_t)info->flags;
	p->end_offset = info->end_offset;
	if (was_multi && (p->flags & MIMEO_PART_LEAF)) {
		int rc = keep_preamble(b, p, info);

		if (rc != MIMEO_OK)
			return fail(b, rc);
	} else if (was_multi) {
		pre_reset(b);
	} else if (p->flags & MIMEO_PART_LEAF) {
		p->size = size_end(b);
		/* the raw bytes the parser delivered are exactly the source
		 * bytes the body is decoded from later */
		if (b->raw != p->end_offset - p->body_offset) {
			if (b->m->mbox && !(p->flags & MIMEO_PART_ENCODED) &&
			    b->raw < p->end_offset - p->body_offset)
				p->flags |= MIMEO__PART_UNQUOTED; /* ">From " lines */
			else
				b->m->raw_mismatch++;
		}
	}
	b->last_closed = p;
	b->cur = p->parent;
	return 0;
}

static int cb_defect(const mimeo_part_info *info, const mimeo_defect *d, void *user)
{
	mimeo__tree_build *b = user;
	mimeo_message *m = b->m;

	MIMEO_UNUSED(info);
	m->defects++;
	if (m->nkept >= MIMEO_MESSAGE_DEFECTS_KEPT)
		return 0;
	if (m->nkept == m->akept &&
	    mimeo__array_reserve(m->alloc, (void **)&m->kept, &m->akept, m->nkept,
				 sizeof(*m->kept), 4) != MIMEO_OK)
		return fail(b, MIMEO_ENOMEM);
	/* the innermost node open now: the parser reports a defect while the
	 * part it concerns is open (its reason string is static) */
	m->kept[m->nkept].d = *d;
	m->kept[m->nkept].part = b->cur;
	m->nkept++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driving the parse                                                   */
/* ------------------------------------------------------------------ */

int mimeo__tree_new(mimeo_message **out, const mimeo_message_options *opts)
{
	const mimeo_allocator *alloc = opts ? opts->alloc : NULL;
	mimeo_message *m;

	*out = NULL;
	if (opts && opts->version != 1 && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION))
		return MIMEO_EINVAL;
	m = mimeo__calloc(alloc, 1, sizeof(*m));
	if (!m)
		return MIMEO_ENOMEM;
	m->alloc = alloc;
	mimeo__arena_init(&m->ar, alloc);
	m->srcs = mimeo__calloc(alloc, 1, sizeof(*m->srcs));
	if (!m->srcs) {
		mimeo__free(alloc, m);
		return MIMEO_ENOMEM;
	}
	mimeo__source_init(&m->srcs[0]);
	m->nsrcs = 1;
	*out = m;
	return MIMEO_OK;
}

static void build_free(mimeo__tree_build *b)
{
	const mimeo_allocator *alloc = b->m->alloc;

	mimeo_parser_free(b->ps);
	mimeo__spool_dispose(&b->pre);
	mimeo_charset_cache_free(b->cc);
	mimeo__free(alloc, b->hdrs);
	mimeo__free(alloc, b->tab);
	mimeo__free(alloc, b->scratch);
	mimeo__free(alloc, b);
}

int mimeo__tree_start(mimeo_message *m, const mimeo_message_options *opts,
		      mimeo__tree_build **out)
{
	static const mimeo_parser_callbacks cbs = {
		MIMEO_PARSER_CALLBACKS_VERSION,
		NULL, cb_part_begin, cb_header, cb_headers_end, cb_body,
		cb_preamble, cb_preamble, cb_part_end, NULL, cb_defect,
	};
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo__tree_build *b;
	int rc;

	*out = NULL;
	if (opts && opts->parser) {
		if (!MIMEO__VERSION_OK(opts->parser->version, MIMEO_PARSER_OPTIONS_VERSION))
			return MIMEO_EINVAL;
		po = *opts->parser;
	}
	/* structure only: bodies are decoded on demand, from the source.  An
	 * mbox message keeps the parser's mbox rules so that it reads as in
	 * the whole mailbox (it holds no second From_ line: the mailbox
	 * reader split it there). */
	m->mbox = opts && (opts->flags & MIMEO_MESSAGE_MBOX);
	po.flags = MIMEO_PARSE_NO_DECODE | MIMEO_PARSE_PREAMBLE |
		   (m->mbox ? MIMEO_PARSE_MBOX : 0) | (po.flags & MIMEO_PARSE_COMPAT_DOVECOT);
	po.alloc = m->alloc;
	b = mimeo__calloc(m->alloc, 1, sizeof(*b));
	if (!b)
		return MIMEO_ENOMEM;
	b->m = m;
	b->isa = po.isa;
	b->spool_limit = opts && opts->version != 1 && opts->spool_memory ? opts->spool_memory :
			 MIMEO__SPOOL_DEFAULT;
	b->tmpdir = opts && opts->version != 1 ? opts->tmpdir : NULL;
	mimeo__spool_init(&b->pre, m->alloc, b->spool_limit, b->tmpdir);
	rc = mimeo_charset_cache_new(&b->cc, m->alloc);
	if (rc == MIMEO_OK)
		rc = mimeo_parser_new(&b->ps, &po, &cbs, b);
	if (rc != MIMEO_OK) {
		build_free(b);
		return rc;
	}
	*out = b;
	return MIMEO_OK;
}

int mimeo__tree_feed(mimeo__tree_build *b, const char *data, size_t len)
{
	int rc = mimeo_parser_feed(b->ps, data, len);

	if (b->err)
		return b->err;
	if (rc == MIMEO_EUSER && b->m->root && !b->cur)
		return MIMEO_OK; /* a second message in the input was cut off */
	return rc;
}

/*
 * mboxrd/mboxo un-quoting of a body read back from an mbox message's
 * source, as the parser does it (MIMEO_PARSE_MBOX, outer parser only): a
 * line ^>+From  loses its first '>'.  Only the first '>' of a line is ever
 * dropped and every '>' is the same byte, so the filter holds back that
 * one '>' and at most "From " after the run: bounded state across blocks.
 */
typedef struct unquote {
	int bol;           /* at the start of a line */
	int held;          /* a line's first '>' is held back */
	int in_run;        /* inside the line's '>' run */
	unsigned matched;  /* bytes of "From " matched after the run */
} unquote;

/* Filter d[0..n) into out (room for n + 6); returns the bytes written. */
static size_t unquote_step(unquote *u, const char *d, size_t n, char *out)
{
	static const char from[] = "From ";
	size_t i = 0, o = 0;

	while (i < n) {
		char c = d[i];

		if (u->held) {
			if (u->in_run && c == '>') {
				out[o++] = c;  /* later '>' of the run pass at once */
				i++;
				continue;
			}
			u->in_run = 0;
			if (c == from[u->matched]) {
				i++;
				if (++u->matched == 5) {
					/* ^>+From : the held '>' is dropped */
					memcpy(out + o, from, 5);
					o += 5;
					u->held = 0;
					u->matched = 0;
					u->bol = 0;
				}
				continue;
			}
			/* not quoted: give back what was held */
			out[o++] = '>';
			memcpy(out + o, from, u->matched);
			o += u->matched;
			u->held = 0;
			u->matched = 0;
			u->bol = 0;
			continue; /* c is looked at again below */
		}
		if (u->bol && c == '>') {
			u->held = 1;
			u->in_run = 1;
			u->bol = 0;
			i++;
			continue;
		}
		/* copy to the end of the line */
		{
			const char *nl = memchr(d + i, '\n', n - i);
			size_t k = nl ? (size_t)(nl - (d + i)) + 1 : n - i;

			memcpy(out + o, d + i, k);
			o += k;
			i += k;
			u->bol = nl != NULL;
		}
	}
	return o;
}

/* What is held at the end of the body is given back. */
static size_t unquote_finish(unquote *u, char *out)
{
	size_t o = 0;

	if (u->held) {
		out[o++] = '>';
		memcpy(out + o, "From ", u->matched);
		o += u->matched;
	}
	u->held = 0;
	u->matched = 0;
	return o;
}

/* Does reading p's body need the mbox un-quoting?  Leaves whose delivered
 * bytes were fewer than their source bytes are marked at parse time; an
 * encoded message/rfc822 body in an mbox message is always filtered (the
 * parser un-quotes before decoding it).  Never inside a decoded spool: the
 * parser does not un-quote there either. */
static int needs_unquote(const mimeo_part *p)
{
	if (p->src != 0 || (p->flags & MIMEO__PART_SPOOLED))
		return 0;
	if (p->flags & MIMEO__PART_UNQUOTED)
		return 1;
	return (p->flags & MIMEO_PART_MESSAGE) && mimeo__part_message(p)->mbox;
}

/* Decode the body of the encoded message part p (bytes of source p->src)
 * into a new spooled source; its index goes to the part's children. */
static int spool_inner(mimeo__tree_build *b, mimeo_part *p)
{
	mimeo_message *m = b->m;
	const mimeo__source *s;
	mimeo_transfer_decoder dec;
	mimeo__spool sp;
	const char *reason = NULL;
	char *in = NULL, *out, *uq = NULL;
	uint64_t off = p->body_offset;
	unquote u = { 1, 0, 0, 0 };
	size_t idx;
	mimeo_part *c;
	int rc = MIMEO_OK;

	if (srcs_room(m) != MIMEO_OK)
		return MIMEO_ENOMEM;
	idx = m->nsrcs++;
	mimeo__source_init(&m->srcs[idx]);
	s = &m->srcs[p->src];
	out = mimeo__malloc(m->alloc, MIMEO_TRANSFER_DECODE_BOUND(MIMEO__IO_BLOCK + 16));
	if (!s->mem)
		in = mimeo__malloc(m->alloc, MIMEO__IO_BLOCK);
	if (needs_unquote(p))
		uq = mimeo__malloc(m->alloc, MIMEO__IO_BLOCK + 16);
	if (!out || (!s->mem && !in) || (needs_unquote(p) && !uq)) {
		mimeo__free(m->alloc, out);
		mimeo__free(m->alloc, in);
		mimeo__free(m->alloc, uq);
		return MIMEO_ENOMEM;
	}
	mimeo__spool_init(&sp, m->alloc, b->spool_limit, b->tmpdir);
	mimeo_transfer_decoder_init(&dec, (mimeo_cte)p->cte, b->isa);
	while (rc == MIMEO_OK && (off < p->end_offset || (uq && u.held))) {
		size_t n = p->end_offset - off < MIMEO__IO_BLOCK ? (size_t)(p->end_offset - off) :
			   MIMEO__IO_BLOCK;
		const char *d = s->mem ? s->mem + off : in;

		if (n && !s->mem)
			rc = mimeo__source_read(s, off, in, n, &reason);
		off += n;
		if (rc == MIMEO_OK && uq) {
			n = n ? unquote_step(&u, d, n, uq) : unquote_finish(&u, uq);
			d = uq;
		}
		if (rc == MIMEO_OK)
			rc = mimeo__spool_write(&sp, out, mimeo_transfer_decode_step(&dec, d, n, out));
	}
	if (rc == MIMEO_OK)
		rc = mimeo__spool_write(&sp, out, mimeo_transfer_decode_finish(&dec, out));
	if (rc == MIMEO_EIO && !reason)
		reason = sp.reason;
	if (rc == MIMEO_OK)
		mimeo__spool_finish(&sp, &m->srcs[idx]);
	mimeo__spool_dispose(&sp);
	mimeo__free(m->alloc, out);
	mimeo__free(m->alloc, in);
	mimeo__free(m->alloc, uq);
	if (rc != MIMEO_OK)
		return mimeo__message_fail(m, rc, reason);
	for (c = p->first_child; c; c = c->next)
		c->src = (uint32_t)idx;
	return MIMEO_OK;
}

int mimeo__tree_finish(mimeo__tree_build *b, int rc)
{
	mimeo_message *m;
	mimeo_part *p;

	if (!b)
		return rc;
	m = b->m;
	if (rc == MIMEO_OK) {
		rc = mimeo_parser_finish(b->ps);
		if (b->err)
			rc = b->err;
		else if (rc == MIMEO_EUSER && m->root && !b->cur)
			rc = MIMEO_OK;
		if (rc == MIMEO_OK)
			m->limits = mimeo_parser_limits_hit(b->ps);
	}
	if (rc == MIMEO_OK && !m->root) {
		/* The parser reports a root entity even for empty input; be
		 * safe anyway and give an empty text/plain root. */
		p = &m->root_node;
		memset(p, 0, sizeof(*p));
		p->section = "1";
		p->attrs = &default_attrs;
		p->flags = MIMEO_PART_LEAF | MIMEO_PART_ROOT;
		m->root = p;
		m->nparts = 1;
	}
	/* Sources: a node's offsets count in its parent's source, except
	 * below a transfer-encoded message/rfc822 part, whose decoded body
	 * is spooled as a source of its own. */
	for (p = m->root; rc == MIMEO_OK && p; p = (mimeo_part *)mimeo_part_next(p)) {
		if (p->parent && !decoded_message(p->parent))
			p->src = p->parent->src;
		if (decoded_message(p))
			rc = spool_inner(b, p);
	}
	build_free(b);
	return rc;
}

void mimeo_message_free(mimeo_message *m)
{
	size_t i;

	if (!m)
		return;
	if (m->derived_free)
		m->derived_free(m);
	for (i = 0; i < m->nsrcs; i++)
		mimeo__source_dispose(&m->srcs[i], m->alloc);
	mimeo__free(m->alloc, m->srcs);
	mimeo__free(m->alloc, m->bodysrc);
	mimeo__free(m->alloc, m->kept);
	mimeo__arena_free(&m->ar);
	mimeo__free(m->alloc, m);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

const mimeo_message *mimeo__part_message(const mimeo_part *p)
{
	while (p->parent)
		p = p->parent;
	return (const mimeo_message *)((const char *)p - offsetof(mimeo_message, root_node));
}

int mimeo__message_fail(const mimeo_message *m, int rc, const char *reason)
{
	mimeo_message *mm = (mimeo_message *)m;

	if (rc == MIMEO_EIO && reason)
		atomic_store(&mm->io_error, reason);
	return rc;
}

const char *mimeo_message_io_error(const mimeo_message *m)
{
	return atomic_load(&((mimeo_message *)m)->io_error);
}

const mimeo_message *mimeo_part_message(const mimeo_part *p)
{
	return mimeo__part_message(p);
}

const mimeo_part *mimeo_message_root(const mimeo_message *m)
{
	return m->root;
}

size_t mimeo_message_part_count(const mimeo_message *m)
{
	return m->nparts;
}

unsigned mimeo_message_limits_hit(const mimeo_message *m)
{
	return m->limits;
}

size_t mimeo_message_defect_count(const mimeo_message *m)
{
	return m->defects;
}

int mimeo_message_defect(const mimeo_message *m, size_t i, mimeo_defect *d,
			 const mimeo_part **part)
{
	if (part)
		*part = NULL;
	if (!m)
		return MIMEO_EINVAL;
	if (i >= m->nkept)
		return MIMEO_ENOTFOUND;
	if (d)
		*d = m->kept[i].d;
	if (part)
		*part = m->kept[i].part ? m->kept[i].part : m->root;
	return MIMEO_OK;
}

size_t mimeo__message_raw_mismatch(const mimeo_message *m)
{
	return m->raw_mismatch;
}

size_t mimeo__message_tree_bytes(const mimeo_message *m)
{
	return sizeof(*m) + m->nsrcs * sizeof(*m->srcs) + m->ar.total;
}

const mimeo_part *mimeo_part_next(const mimeo_part *p)
{
	if (p->first_child)
		return p->first_child;
	for (; p; p = p->parent) {
		if (p->next)
			return p->next;
	}
	return NULL;
}

const mimeo_part *mimeo_message_find_section(const mimeo_message *m, const char *section)
{
	const mimeo_part *p;

	if (!section || !*section)
		return m->root;
	for (p = m->root; p; p = mimeo_part_next(p)) {
		if (strcmp(p->section, section) == 0)
			return p;
	}
	return NULL;
}

const mimeo_part *mimeo_part_parent(const mimeo_part *p) { return p->parent; }
const mimeo_part *mimeo_part_first_child(const mimeo_part *p) { return p->first_child; }
const mimeo_part *mimeo_part_next_sibling(const mimeo_part *p) { return p->next; }
size_t mimeo_part_child_count(const mimeo_part *p) { return p->nchildren; }
/* Not stored: a node is smaller without it, and depth is bounded by the
 * parser's max_depth. */
unsigned mimeo_part_depth(const mimeo_part *p)
{
	unsigned d = 0;

	for (; p->parent; p = p->parent)
		d++;
	return d;
}
const char *mimeo_part_section(const mimeo_part *p) { return p->section; }
const char *mimeo_part_type(const mimeo_part *p) { return p->attrs->type; }
const char *mimeo_part_subtype(const mimeo_part *p) { return p->attrs->subtype; }
const char *mimeo_part_charset(const mimeo_part *p) { return p->attrs->charset; }
mimeo_cte mimeo_part_cte(const mimeo_part *p) { return (mimeo_cte)p->cte; }
const char *mimeo_part_cte_name(const mimeo_part *p) { return p->attrs->cte_name; }
const char *mimeo_part_disposition(const mimeo_part *p) { return p->attrs->disposition; }

const char *mimeo_part_filename(const mimeo_part *p)
{
	const char *f = kv_find(p->attrs->dparams, p->attrs->ndparams, "filename");

	return f ? f : kv_find(p->attrs->params, p->attrs->nparams, "name");
}
unsigned mimeo_part_flags(const mimeo_part *p)
{
	return p->flags & ~(MIMEO__PART_UNQUOTED | MIMEO__PART_SPOOLED);
}
size_t mimeo_part_header_count(const mimeo_part *p) { return p->hdr_count; }

uint64_t mimeo_part_size(const mimeo_part *p)
{
	return (p->flags & MIMEO_PART_LEAF) ? p->size : 0;
}

int mimeo_part_is_multipart(const mimeo_part *p)
{
	return (p->flags & MIMEO_PART_MULTIPART) != 0;
}

int mimeo_part_is_message(const mimeo_part *p)
{
	return (p->flags & MIMEO_PART_MESSAGE) != 0;
}

int mimeo_part_is_leaf(const mimeo_part *p)
{
	return !(p->flags & (MIMEO_PART_MULTIPART | MIMEO_PART_MESSAGE));
}

const char *mimeo_part_param(const mimeo_part *p, const char *name)
{
	return name ? kv_find(p->attrs->params, p->attrs->nparams, name) : NULL;
}

const char *mimeo_part_disposition_param(const mimeo_part *p, const char *name)
{
	return name ? kv_find(p->attrs->dparams, p->attrs->ndparams, name) : NULL;
}

const char *mimeo_part_header_name(const mimeo_part *p, size_t i)
{
	if (i >= p->hdr_count)
		return NULL;
	return p->hdrs[i].name;
}

const char *mimeo_part_header_raw(const mimeo_part *p, size_t i, size_t *len)
{
	if (i >= p->hdr_count)
		return NULL;
	if (len)
		*len = lstr_len(p->hdrs[i].value);
	return p->hdrs[i].value;
}

int mimeo_part_header_decoded(const mimeo_part *p, size_t i, mimeo_charset_cache *cc,
			      const mimeo_header_options *opts, mimeo_buf *out)
{
	if (i >= p->hdr_count)
		return MIMEO_ENOTFOUND;
	return mimeo_header_decode_text(cc, opts, p->hdrs[i].value, lstr_len(p->hdrs[i].value), out,
					NULL);
}

const char *mimeo_part_get_header(const mimeo_part *p, const char *name, size_t *len)
{
	const mimeo__hdr *h = name ? find_hdr(p->hdrs, p->hdr_count, name) : NULL;

	if (!h)
		return NULL;
	if (len)
		*len = lstr_len(h->value);
	return h->value;
}

void mimeo_part_offsets(const mimeo_part *p, uint64_t *header_start, uint64_t *body_start,
			uint64_t *end)
{
	if (header_start)
		*header_start = p->header_offset;
	if (body_start)
		*body_start = p->body_offset;
	if (end)
		*end = p->end_offset;
}

/* ------------------------------------------------------------------ */
/* Bodies                                                              */
/* ------------------------------------------------------------------ */

/* Where the body bytes of leaf p are: its source and [*start, *end). */
static const mimeo__source *body_source(const mimeo_part *p, uint64_t *start, uint64_t *end)
{
	const mimeo_message *m = mimeo__part_message(p);
	size_t i;

	if (p->flags & MIMEO__PART_SPOOLED) {
		for (i = 0; i < m->nbodysrc; i++) {
			if (m->bodysrc[i].part == p) {
				*start = 0;
				*end = m->srcs[m->bodysrc[i].src].len;
				return &m->srcs[m->bodysrc[i].src];
			}
		}
	}
	*start = p->body_offset;
	*end = p->end_offset;
	return &m->srcs[p->src];
}

const void *mimeo_part_body(const mimeo_part *p, size_t *len)
{
	const mimeo__source *s;
	uint64_t start, end;

	if (len)
		*len = 0;
	if (!(p->flags & MIMEO_PART_LEAF))
		return "";
	s = body_source(p, &start, &end);
	if (end <= start)
		return "";
	if (needs_decode(p) || (p->flags & (MIMEO__PART_UNQUOTED | MIMEO_PART_DERIVED)) || !s->mem)
		return p->size ? NULL : "";
	if (len)
		*len = (size_t)(end - start);
	return s->mem + start;
}

static int map_write(int r)
{
	return r == 0 ? MIMEO_OK : r < 0 ? r : MIMEO_EUSER;
}

/*
 * The block body_run decodes at a time.  From a file, MIMEO__IO_BLOCK
 * (its pread must stay in L2).  From memory (a buffer, a borrowed
 * mapping) nothing is read, and each block costs the caller a call of
 * `write`: extract --all spent 12-16% less CPU on the heavy mailbox with
 * 320 KiB blocks than with 64 KiB ones (fewer write(2)s, each an ext4
 * write_begin/write_end round; 1 MiB gained little more).  Bounded so a
 * block's output stays within the 256 KiB mimeo_part_decode documents:
 * base64 gives 3 bytes for 4, the others at most a byte for a byte, and
 * the mbox un-quoting gives back up to 16 bytes it held.  Never larger
 * than the body (no large buffer for a small part).
 */
static size_t body_block(const mimeo_part *p, const mimeo__source *s, uint64_t len)
{
	size_t b = MIMEO__IO_BLOCK;

	if (s->mem)
		b = needs_decode(p) && p->cte == MIMEO_CTE_BASE64 ? (size_t)320 << 10
								 : ((size_t)256 << 10) - 16;
	return len < b ? (size_t)len : b;
}

/* Stream the transfer-decoded body of leaf p into write(..., ctx). */
static int body_run(const mimeo_part *p, mimeo_write_fn write, void *ctx)
{
	const mimeo_message *m;
	const mimeo__source *s;
	const char *reason = NULL;
	mimeo_transfer_decoder dec;
	char *in = NULL, *out = NULL, *uq = NULL;
	uint64_t off, stop, produced = 0;
	unquote u = { 1, 0, 0, 0 };
	size_t blk;
	int decoding, rc;

	if (!(p->flags & MIMEO_PART_LEAF))
		return MIMEO_OK;
	m = mimeo__part_message(p);
	if (p->flags & MIMEO_PART_DERIVED)
		return m->derived_run(p, write, ctx);
	s = body_source(p, &off, &stop);
	if (stop <= off)
		return MIMEO_OK;
	decoding = needs_decode(p);
	blk = body_block(p, s, stop - off);
	rc = mimeo__source_check(s, &reason);
	if (rc != MIMEO_OK)
		return mimeo__message_fail(m, rc, reason);
	if (!s->mem) {
		in = mimeo__malloc(m->alloc, blk);
		if (!in)
			return MIMEO_ENOMEM;
	}
	if (needs_unquote(p)) {
		uq = mimeo__malloc(m->alloc, blk + 16);
		if (!uq) {
			mimeo__free(m->alloc, in);
			return MIMEO_ENOMEM;
		}
	}
	if (decoding) {
		out = mimeo__malloc(m->alloc, MIMEO_TRANSFER_DECODE_BOUND(blk + 16));
		if (!out) {
			mimeo__free(m->alloc, in);
			mimeo__free(m->alloc, uq);
			return MIMEO_ENOMEM;
		}
		mimeo_transfer_decoder_init(&dec, (mimeo_cte)p->cte, MIMEO_ISA_AUTO);
	}
	while (rc == MIMEO_OK && (off < stop || (uq && u.held))) {
		size_t n = stop - off < blk ? (size_t)(stop - off) : blk;
		const char *d = s->mem ? s->mem + off : in;

		if (n && !s->mem)
			rc = mimeo__source_read(s, off, in, n, &reason);
		off += n;
		if (rc != MIMEO_OK)
			break;
		if (uq) {
			/* the last round gives back a held ">From" prefix */
			n = n ? unquote_step(&u, d, n, uq) : unquote_finish(&u, uq);
			d = uq;
		}
		if (!n)
			continue;
		if (decoding) {
			size_t o = mimeo_transfer_decode_step(&dec, d, n, out);

			produced += o;
			if (o)
				rc = map_write(write(out, o, ctx));
		} else {
			produced += n;
			rc = map_write(write(d, n, ctx));
		}
	}
	if (rc == MIMEO_OK && decoding) {
		size_t o = mimeo_transfer_decode_finish(&dec, out);

		produced += o;
		if (o)
			rc = map_write(write(out, o, ctx));
	}
	/* The size counted at parse time is exact: a difference means the
	 * bytes changed under us (a file rewritten in place). */
	if (rc == MIMEO_OK && produced != p->size) {
		reason = "the source changed after it was parsed (decoded size differs)";
		errno = ESTALE;
		rc = MIMEO_EIO;
	}
	mimeo__free(m->alloc, in);
	mimeo__free(m->alloc, out);
	mimeo__free(m->alloc, uq);
	return mimeo__message_fail(m, rc, reason);
}

/* --- UTF-8 conversion on the way ---------------------------------- */

typedef struct text_sink {
	mimeo_charset_conv *cv;
	mimeo_buf buf;          /* converted bytes not yet written */
	mimeo_write_fn write;
	void *ctx;
	int rc;
} text_sink;

static int text_flush(text_sink *t)
{
	int rc = MIMEO_OK;

	if (t->buf.size)
		rc = map_write(t->write(t->buf.ptr, t->buf.size, t->ctx));
	mimeo_buf_clear(&t->buf);
	return rc;
}

static int text_step(const void *data, size_t len, void *ctx)
{
	text_sink *t = ctx;
	int rc = mimeo_charset_conv_step(t->cv, data, len, &t->buf);

	if (rc != MIMEO_OK)
		return rc;
	return text_flush(t);
}

/* Is the body valid UTF-8 (and is any byte non-ASCII)?  What
 * mimeo_charset_to_utf8 decides for an undeclared charset, streamed. */
typedef struct utf8_check {
	unsigned char carry[4];
	size_t ncarry;
	int invalid, non_ascii;
} utf8_check;

static int utf8_check_step(const void *data, size_t len, void *ctx)
{
	utf8_check *u = ctx;
	const unsigned char *d = data;

	if (u->invalid)
		return MIMEO_OK;
	while (u->ncarry && len) {
		size_t ok;

		/* complete the character held from the previous block */
		u->carry[u->ncarry++] = *d++;
		len--;
		ok = mimeo_utf8_valid_prefix(u->carry, u->ncarry);
		if (ok == u->ncarry) {
			u->ncarry = 0;
		} else if (ok != 0 || u->ncarry == 4) {
			u->invalid = 1;
			return MIMEO_OK;
		}
	}
	if (!len)
		return MIMEO_OK;
	if (!u->non_ascii) {
		size_t i;

		for (i = 0; i < len; i++) {
			if (d[i] >= 0x80) {
				u->non_ascii = 1;
				break;
			}
		}
	}
	{
		size_t ok = mimeo_utf8_valid_prefix(d, len);

		if (ok < len) {
			/* at most an incomplete last character may remain */
			if (len - ok >= 4) {
				u->invalid = 1;
				return MIMEO_OK;
			}
			memcpy(u->carry, d + ok, len - ok);
			u->ncarry = len - ok;
			/* a prefix that can never complete is invalid now */
			if (mimeo_utf8_valid_prefix(u->carry, u->ncarry) != 0) {
				u->invalid = 1;
			}
		}
	}
	return MIMEO_OK;
}

static int decode_text(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_write_fn write,
		       void *ctx, unsigned *repairs)
{
	const mimeo_message *m = mimeo__part_message(p);
	const char *label = p->attrs->charset;
	size_t llen = label ? strlen(label) : 0;
	mimeo_charset_cache *tmp = NULL;
	unsigned rep = 0;
	text_sink t;
	int rc;

	if (!(p->flags & MIMEO_PART_LEAF) || p->end_offset <= p->body_offset)
		return MIMEO_OK;
	if (mimeo__charset_lookup(label, llen) == MIMEO__ENC_UNKNOWN) {
		/* Undeclared or unknown: UTF-8 when the whole body is valid,
		 * else windows-1252; deciding needs a first pass. */
		utf8_check u;

		memset(&u, 0, sizeof(u));
		rc = body_run(p, utf8_check_step, &u);
		if (rc != MIMEO_OK)
			return rc;
		if (u.ncarry)
			u.invalid = 1;
		if (!u.invalid) {
			if (u.non_ascii)
				rep |= (label ? MIMEO_REPAIR_UNKNOWN_CHARSET : 0) |
				       MIMEO_REPAIR_FALLBACK_UTF8;
			rc = body_run(p, write, ctx);
			if (rc == MIMEO_OK && repairs)
				*repairs |= rep;
			return rc;
		}
		rep |= (label ? MIMEO_REPAIR_UNKNOWN_CHARSET : 0) | MIMEO_REPAIR_FALLBACK_CP1252;
		label = "windows-1252";
		llen = strlen(label);
	}
	if (!cc) {
		rc = mimeo_charset_cache_new(&tmp, m->alloc);
		if (rc != MIMEO_OK)
			return rc;
		cc = tmp;
	}
	memset(&t, 0, sizeof(t));
	mimeo_buf_init(&t.buf, m->alloc);
	t.write = write;
	t.ctx = ctx;
	rc = mimeo_charset_conv_new(&t.cv, cc, label, llen);
	if (rc == MIMEO_OK)
		rc = body_run(p, text_step, &t);
	if (rc == MIMEO_OK)
		rc = mimeo_charset_conv_finish(t.cv, &t.buf);
	if (rc == MIMEO_OK)
		rc = text_flush(&t);
	if (t.cv)
		rep |= mimeo_charset_conv_repairs(t.cv);
	if (repairs)
		*repairs |= rep;
	mimeo_charset_conv_free(t.cv);
	mimeo_buf_dispose(&t.buf);
	mimeo_charset_cache_free(tmp);
	return rc;
}

int mimeo_part_decode(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
		      mimeo_write_fn write, void *ctx, unsigned *repairs)
{
	if (!p || !write || (flags & ~MIMEO_DECODE_UTF8))
		return MIMEO_EINVAL;
	if (flags & MIMEO_DECODE_UTF8)
		return decode_text(p, cc, write, ctx, repairs);
	return body_run(p, write, ctx);
}

static int buf_write(const void *data, size_t len, void *ctx)
{
	return mimeo_buf_put(ctx, data, len);
}

static int part_decode_buf_body(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
			  mimeo_buf *out, unsigned *repairs)
{
	if (!out)
		return MIMEO_EINVAL;
	if (p && !flags && p->size && p->size <= SIZE_MAX - out->size &&
	    mimeo_buf_grow(out, (size_t)p->size) != MIMEO_OK)
		return MIMEO_ENOMEM;
	return mimeo_part_decode(p, flags, cc, buf_write, out, repairs);
}

/* A successful call leaves out->ptr non-NULL ("" for an empty body). */
int mimeo_part_decode_buf(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
			  mimeo_buf *out, unsigned *repairs)
{
	int rc = part_decode_buf_body(p, flags, cc, out, repairs);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

static int part_text_body(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_buf *out,
		    unsigned *repairs)
{
	const mimeo_message *m = mimeo__part_message(p);
	mimeo_buf body;
	const void *view;
	size_t len;
	int rc;

	/* Whole-buffer conversion, as in 0.1 (the streaming path of
	 * mimeo_part_decode gives the same bytes). */
	view = mimeo_part_body(p, &len);
	if (view)
		return mimeo_charset_to_utf8(cc, p->attrs->charset, p->attrs->charset ? strlen(p->attrs->charset) : 0,
					     view, len, out, repairs);
	mimeo_buf_init(&body, m->alloc);
	rc = mimeo_part_decode_buf(p, 0, NULL, &body, NULL);
	if (rc == MIMEO_OK)
		rc = mimeo_charset_to_utf8(cc, p->attrs->charset, p->attrs->charset ? strlen(p->attrs->charset) : 0,
					   body.ptr ? body.ptr : "", body.size, out, repairs);
	mimeo_buf_dispose(&body);
	return rc;
}

/* A successful call leaves out->ptr non-NULL ("" for an empty body). */
int mimeo_part_text(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_buf *out,
		    unsigned *repairs)
{
	int rc = part_text_body(p, cc, out, repairs);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

/* ------------------------------------------------------------------ */
/* Signed and encrypted parts                                          */
/* ------------------------------------------------------------------ */

/* Parameter values keep their case as written; types compare without it
 * (RFC 2045 5.1). */
static int param_is(const mimeo_part *p, const char *name, const char *want)
{
	const char *v = kv_find(p->attrs->params, p->attrs->nparams, name);

	return v && strcasecmp(v, want) == 0;
}

/* The scheme a multipart/signed or /encrypted names in its protocol
 * parameter (RFC 1847 2.1, 2.2). */
static unsigned protocol_scheme(const mimeo_part *p)
{
	if (param_is(p, "protocol", "application/pgp-signature") ||
	    param_is(p, "protocol", "application/pgp-encrypted"))
		return MIMEO_SECURITY_PGP;
	if (param_is(p, "protocol", "application/pkcs7-signature") ||
	    param_is(p, "protocol", "application/x-pkcs7-signature"))
		return MIMEO_SECURITY_SMIME;
	return 0;
}

unsigned mimeo_part_security(const mimeo_part *p)
{
	const char *t = p->attrs->type, *s = p->attrs->subtype;

	if (strcmp(t, "multipart") == 0) {
		if (strcmp(s, "signed") == 0)
			return MIMEO_SECURITY_SIGNED | protocol_scheme(p);
		if (strcmp(s, "encrypted") == 0)
			return MIMEO_SECURITY_ENCRYPTED | protocol_scheme(p);
		return 0;
	}
	if (strcmp(t, "application") != 0)
		return 0;
	if (strcmp(s, "pgp-signature") == 0)
		return MIMEO_SECURITY_PGP | MIMEO_SECURITY_SIGNATURE;
	if (strcmp(s, "pgp-encrypted") == 0)
		return MIMEO_SECURITY_PGP | MIMEO_SECURITY_ENCRYPTED;
	if (strcmp(s, "pgp-keys") == 0)
		return MIMEO_SECURITY_PGP | MIMEO_SECURITY_KEYS;
	if (strncmp(s, "pgp-", 4) == 0)
		return MIMEO_SECURITY_PGP;
	if (strcmp(s, "pkcs7-signature") == 0 || strcmp(s, "x-pkcs7-signature") == 0)
		return MIMEO_SECURITY_SMIME | MIMEO_SECURITY_SIGNATURE;
	if (strcmp(s, "pkcs7-mime") == 0 || strcmp(s, "x-pkcs7-mime") == 0) {
		/* RFC 8551 3.2.2: smime-type names what the CMS object is */
		if (param_is(p, "smime-type", "signed-data"))
			return MIMEO_SECURITY_SMIME | MIMEO_SECURITY_SIGNED;
		if (param_is(p, "smime-type", "certs-only"))
			return MIMEO_SECURITY_SMIME | MIMEO_SECURITY_KEYS;
		if (param_is(p, "smime-type", "compressed-data"))
			return MIMEO_SECURITY_SMIME | MIMEO_SECURITY_COMPRESSED;
		if (!kv_find(p->attrs->params, p->attrs->nparams, "smime-type") ||
		    param_is(p, "smime-type", "enveloped-data") ||
		    param_is(p, "smime-type", "authEnveloped-data"))
			return MIMEO_SECURITY_SMIME | MIMEO_SECURITY_ENCRYPTED;
		return MIMEO_SECURITY_SMIME;  /* a type we do not know */
	}
	return 0;
}

const char *mimeo_security_role_name(unsigned security)
{
	if (security & MIMEO_SECURITY_SIGNED)
		return "signed";
	if (security & MIMEO_SECURITY_ENCRYPTED)
		return "encrypted";
	if (security & MIMEO_SECURITY_SIGNATURE)
		return "signature";
	if (security & MIMEO_SECURITY_KEYS)
		return "keys";
	if (security & MIMEO_SECURITY_COMPRESSED)
		return "compressed";
	return NULL;
}

const char *mimeo_security_scheme_name(unsigned security)
{
	if (security & MIMEO_SECURITY_PGP)
		return "pgp";
	if (security & MIMEO_SECURITY_SMIME)
		return "smime";
	return NULL;
}
