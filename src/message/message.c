/*
 * message.c - the message tree, built from the push parser's events.
 *
 * Memory layout of a mimeo_message (one per parsed message):
 *  - the source: the caller's buffer (MIMEO_MESSAGE_BORROW), or the one
 *    copy made by parse_buffer, or the buffer the file/fd/stream was read
 *    into (read straight into place, so never copied twice);
 *  - an arena (a chain of blocks) for the nodes and every string: freed
 *    at once by mimeo_message_free();
 *  - one growing array of header fields (each node owns a run of it);
 *  - one growing buffer for decoded bodies.  Leaf bodies arrive one after
 *    the other (a leaf ends before the next one begins), so each body is a
 *    contiguous run of that buffer.  A body whose decoded bytes are exactly
 *    a run of the source (7bit/8bit/binary parts, fed in one piece) is not
 *    copied at all: the node points into the source.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"
#include "mimeo/message.h"
#include "mimeo/param.h"

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

#define ARENA_BLOCK 16384u

typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	/* data follows, max_align_t aligned */
} arena_block;

#define ARENA_HDR ((sizeof(arena_block) + alignof(max_align_t) - 1) & \
		   ~(alignof(max_align_t) - 1))

typedef struct arena {
	const mimeo_allocator *alloc;
	arena_block *head;
	/* allocates from this arena (free does nothing), so that the common
	 * helpers (mimeo__strndup) can copy into it */
	mimeo_allocator self;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
	arena_block *b = a->head;
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
	return arena_alloc(ctx, size);
}

/* Blocks are freed all at once by arena_free(); nothing grows in place. */
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

static void arena_init(arena *a, const mimeo_allocator *alloc)
{
	a->alloc = alloc;
	a->head = NULL;
	a->self.malloc = arena_malloc_cb;
	a->self.realloc = arena_realloc_cb;
	a->self.free = arena_free_cb;
	a->self.ctx = a;
}

static char *arena_strndup(arena *a, const char *s, size_t len)
{
	return mimeo__strndup(&a->self, s, len);
}

static void arena_free(arena *a)
{
	arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		mimeo__free(a->alloc, b);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------ */
/* Data structures                                                     */
/* ------------------------------------------------------------------ */

typedef struct kv {
	const char *name;  /* lowercased */
	const char *value; /* UTF-8 */
} kv;

typedef struct hdr {
	const char *name, *value;
	size_t name_len, value_len;
} hdr;

struct mimeo_part {
	const mimeo_message *msg;
	mimeo_part *parent, *first_child, *last_child, *next;
	size_t nchildren;
	unsigned depth, flags;
	const char *section, *type, *subtype, *charset, *cte_name;
	const char *disposition, *filename;
	mimeo_cte cte;
	const kv *params, *dparams;
	size_t nparams, ndparams;
	size_t hdr_first, hdr_count;
	uint64_t header_offset, body_offset, end_offset;
	int body_in_source;   /* body is source[body_off, +body_len) */
	size_t body_off, body_len;
};

struct mimeo_message {
	const mimeo_allocator *alloc;
	arena ar;
	char *owned;          /* source buffer we own, or NULL */
	const char *src;
	size_t src_len;
	hdr *hdrs;
	size_t nhdrs, ahdrs;
	mimeo_buf bodies;
	mimeo_part *root;
	size_t nparts;
	unsigned limits;
	size_t defects;
};

/* State while the parser runs. */
typedef struct build {
	mimeo_message *m;
	mimeo_part *cur;      /* innermost open part */
	mimeo_charset_cache *cc;
	int err;              /* first failure (ENOMEM) */
} build;

static const char empty_body[1];

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static int add_header(mimeo_message *m, const char *name, size_t name_len,
		      const char *value, size_t value_len)
{
	hdr *h;

	if (m->nhdrs == m->ahdrs) {
		size_t n = m->ahdrs ? m->ahdrs * 2 : 32, bytes;
		hdr *nh;

		if (!mimeo__mul_ok(n, sizeof(*nh), &bytes))
			return MIMEO_ENOMEM;
		nh = mimeo__realloc(m->alloc, m->hdrs, bytes);
		if (!nh)
			return MIMEO_ENOMEM;
		m->hdrs = nh;
		m->ahdrs = n;
	}
	h = &m->hdrs[m->nhdrs];
	h->name = arena_strndup(&m->ar, name, name_len);
	h->value = arena_strndup(&m->ar, value, value_len);
	if (!h->name || !h->value)
		return MIMEO_ENOMEM;
	h->name_len = name_len;
	h->value_len = value_len;
	m->nhdrs++;
	return MIMEO_OK;
}

static const char *dup_opt(arena *a, const char *s, int *err)
{
	char *r;

	if (!s)
		return NULL;
	r = arena_strndup(a, s, strlen(s));
	if (!r)
		*err = MIMEO_ENOMEM;
	return r;
}

/* Copy the parameters of a parsed field into the arena. */
static int copy_params(arena *a, const mimeo_mime_field *f, const kv **out, size_t *n)
{
	kv *v;
	size_t i, bytes;

	*out = NULL;
	*n = 0;
	if (!f || !f->nparams)
		return MIMEO_OK;
	if (!mimeo__mul_ok(f->nparams, sizeof(*v), &bytes))
		return MIMEO_ENOMEM;
	v = arena_alloc(a, bytes);
	if (!v)
		return MIMEO_ENOMEM;
	for (i = 0; i < f->nparams; i++) {
		const char *name = f->params[i].name ? f->params[i].name : "";
		const char *value = f->params[i].value ? f->params[i].value : "";

		v[i].name = arena_strndup(a, name, strlen(name));
		v[i].value = arena_strndup(a, value, strlen(value));
		if (!v[i].name || !v[i].value)
			return MIMEO_ENOMEM;
	}
	*out = v;
	*n = f->nparams;
	return MIMEO_OK;
}

static const char *kv_find(const kv *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (mimeo__ascii_ieq(name, strlen(name), v[i].name) ||
		    mimeo__ascii_ieq(v[i].name, strlen(v[i].name), name))
			return v[i].value;
	}
	return NULL;
}

static const hdr *part_find_header(const mimeo_part *p, const char *name)
{
	size_t i, nlen = strlen(name);
	const mimeo_message *m = p->msg;

	for (i = 0; i < p->hdr_count; i++) {
		const hdr *h = &m->hdrs[p->hdr_first + i];

		if (h->name_len == nlen && strncasecmp(h->name, name, nlen) == 0)
			return h;
	}
	return NULL;
}

/* The Content-Transfer-Encoding as written: RFC 2045 6.1 makes the value a
 * case-insensitive token; we trim whitespace and comments and lowercase. */
static const char *cte_as_written(arena *a, const hdr *h, int *err)
{
	char *out, *o;
	const char *s = h->value, *e = h->value + h->value_len;
	int depth = 0;

	out = arena_alloc(a, h->value_len + 1);
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
	return out;
}

static int cb_part_begin(const mimeo_part_info *info, void *user)
{
	build *b = user;
	mimeo_message *m = b->m;
	mimeo_part *p = arena_alloc(&m->ar, sizeof(*p));

	if (!p)
		goto nomem;
	memset(p, 0, sizeof(*p));
	p->msg = m;
	p->depth = info->depth;
	p->section = "";  /* the parser's number is final at headers_end */
	p->header_offset = info->header_offset;
	p->body_offset = info->header_offset;
	p->end_offset = info->header_offset;
	p->hdr_first = m->nhdrs;
	p->type = "text";
	p->subtype = "plain";
	if (b->cur) {
		p->parent = b->cur;
		if (b->cur->last_child)
			b->cur->last_child->next = p;
		else
			b->cur->first_child = p;
		b->cur->last_child = p;
		b->cur->nchildren++;
	} else if (!m->root) {
		m->root = p;
	} else {
		/* A second top-level message: the tree holds one message, so
		 * the rest is ignored (mimeo_message_parse_* never sets
		 * MIMEO_PARSE_MBOX, so this cannot normally happen). */
		return MIMEO_EUSER;
	}
	b->cur = p;
	m->nparts++;
	return 0;
nomem:
	b->err = MIMEO_ENOMEM;
	return MIMEO_EUSER;
}

static int cb_header(const mimeo_part_info *info, const char *name, size_t name_len,
		     const char *value, size_t value_len, void *user)
{
	build *b = user;

	MIMEO_UNUSED(info);
	if (add_header(b->m, name, name_len, value, value_len) != MIMEO_OK) {
		b->err = MIMEO_ENOMEM;
		return MIMEO_EUSER;
	}
	b->cur->hdr_count++;
	return 0;
}

static int cb_headers_end(const mimeo_part_info *info, void *user)
{
	build *b = user;
	mimeo_message *m = b->m;
	mimeo_part *p = b->cur;
	arena *a = &m->ar;
	const hdr *h;
	int err = MIMEO_OK;

	p->flags = info->flags;
	p->body_offset = info->body_offset;
	p->end_offset = info->body_offset;
	p->cte = info->cte;
	/* RFC 3501 6.4.5 numbers, computed by the parser: final from
	 * headers_end (a root entity's depends on its type) */
	p->section = dup_opt(a, info->section, &err);
	if (info->type)
		p->type = dup_opt(a, info->type, &err);
	if (info->subtype)
		p->subtype = dup_opt(a, info->subtype, &err);
	if (err)
		goto fail;
	if (copy_params(a, info->content_type, &p->params, &p->nparams) != MIMEO_OK)
		goto nomem;
	/* The charset parameter as written, lowercased (the parser also
	 * reports "us-ascii" for a part without Content-Type; the tree keeps
	 * "absent" distinct, as the CLI's JSON contract wants). */
	{
		const char *cs = kv_find(p->params, p->nparams, "charset");

		if (cs) {
			char *l = arena_strndup(a, cs, strlen(cs)), *c;

			if (!l)
				goto nomem;
			for (c = l; *c; c++)
				*c = (char)mimeo__lower((unsigned char)*c);
			p->charset = l;
		}
	}
	h = part_find_header(p, "Content-Transfer-Encoding");
	if (h && !(p->cte_name = cte_as_written(a, h, &err)))
		goto fail;
	if (p->cte_name && !*p->cte_name)
		p->cte_name = NULL;

	/* RFC 2183: the first Content-Disposition field, parsed like a
	 * Content-Type (RFC 2231 parameters, lenient syntax). */
	h = part_find_header(p, "Content-Disposition");
	if (h) {
		mimeo_mime_field *f = NULL;

		if (mimeo_mime_field_parse_alloc(m->alloc, b->cc, NULL, h->value, h->value_len,
						 &f) != MIMEO_OK)
			goto nomem;
		if (f->type && *f->type)
			p->disposition = dup_opt(a, f->type, &err);
		if (!err && copy_params(a, f, &p->dparams, &p->ndparams) != MIMEO_OK)
			err = MIMEO_ENOMEM;
		mimeo_mime_field_free(f);
		if (err)
			goto fail;
	}
	p->filename = kv_find(p->dparams, p->ndparams, "filename");
	if (!p->filename)
		p->filename = kv_find(p->params, p->nparams, "name");
	return 0;
nomem:
	err = MIMEO_ENOMEM;
fail:
	b->err = err;
	return MIMEO_EUSER;
}

static int cb_body(const mimeo_part_info *info, const char *data, size_t len, void *user)
{
	build *b = user;
	mimeo_message *m = b->m;
	mimeo_part *p = b->cur;
	uintptr_t d = (uintptr_t)data, s = (uintptr_t)m->src;

	MIMEO_UNUSED(info);
	if (!len)
		return 0;
	/* Zero-copy when the decoded bytes are the source bytes themselves
	 * (identity encodings fed in one piece): keep a slice. */
	if (!p->body_len && !p->body_in_source && m->src && d >= s &&
	    d - s <= m->src_len && len <= m->src_len - (d - s) &&
	    !(p->flags & MIMEO_PART_ENCODED)) {
		p->body_in_source = 1;
		p->body_off = (size_t)(d - s);
		p->body_len = len;
		return 0;
	}
	if (p->body_in_source) {
		if (d == s + p->body_off + p->body_len) {
			p->body_len += len;
			return 0;
		}
		/* Not contiguous after all: move the slice into the buffer. */
		{
			size_t at = m->bodies.size;

			if (mimeo_buf_put(&m->bodies, m->src + p->body_off, p->body_len) != MIMEO_OK)
				goto nomem;
			p->body_in_source = 0;
			p->body_off = at;
		}
	} else if (!p->body_len) {
		p->body_off = m->bodies.size;
	}
	if (mimeo_buf_put(&m->bodies, data, len) != MIMEO_OK)
		goto nomem;
	p->body_len += len;
	return 0;
nomem:
	b->err = MIMEO_ENOMEM;
	return MIMEO_EUSER;
}

/* The preamble (and epilogue) of a multipart that has no child: kept as its body in
 * case no delimiter follows (the parser then makes the multipart a leaf,
 * issue 15 class 3); dropped at part_end otherwise. */
static int cb_preamble(const mimeo_part_info *info, const char *data, size_t len, void *user)
{
	build *b = user;

	if (b->cur->nchildren)
		return 0;
	return cb_body(info, data, len, user);
}

static int cb_part_end(const mimeo_part_info *info, void *user)
{
	build *b = user;
	mimeo_part *p = b->cur;

	if (!(info->flags & MIMEO_PART_LEAF)) {
		p->body_len = 0;
		p->body_in_source = 0;
	} else if ((p->flags & MIMEO_PART_MULTIPART) && strcmp(p->section, info->section)) {
		/* a multipart root became a leaf: numbered M.1 now */
		int err = 0;

		p->section = dup_opt(&b->m->ar, info->section, &err);
		if (err) {
			b->err = err;
			return MIMEO_EUSER;
		}
	}
	p->flags = info->flags;
	p->end_offset = info->end_offset;
	b->cur = p->parent;
	return 0;
}

static int cb_defect(const mimeo_part_info *info, const mimeo_defect *d, void *user)
{
	build *b = user;

	MIMEO_UNUSED(info);
	MIMEO_UNUSED(d);
	b->m->defects++;
	return 0;
}

static int message_new(mimeo_message **out, const mimeo_message_options *opts)
{
	const mimeo_allocator *alloc = opts ? opts->alloc : NULL;
	mimeo_message *m;

	if (opts && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION))
		return MIMEO_EINVAL;
	m = mimeo__calloc(alloc, 1, sizeof(*m));
	if (!m)
		return MIMEO_ENOMEM;
	m->alloc = alloc;
	arena_init(&m->ar, alloc);
	mimeo_buf_init(&m->bodies, alloc);
	*out = m;
	return MIMEO_OK;
}

/* Parse m->src (already set) into the tree. */
static int message_build(mimeo_message *m, const mimeo_message_options *opts)
{
	static const mimeo_parser_callbacks cbs = {
		MIMEO_PARSER_CALLBACKS_VERSION,
		NULL, cb_part_begin, cb_header, cb_headers_end, cb_body,
		cb_preamble, cb_preamble, cb_part_end, NULL, cb_defect,
	};
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *ps = NULL;
	build b;
	int rc;

	if (opts && opts->parser) {
		if (!MIMEO__VERSION_OK(opts->parser->version, MIMEO_PARSER_OPTIONS_VERSION))
			return MIMEO_EINVAL;
		po = *opts->parser;
	}
	/* one message, always transfer-decoded; an mbox message keeps the
	 * parser's mbox rules so that it reads as in the whole mailbox (it
	 * holds no second From_ line: the mailbox reader split it there);
	 * preambles are kept for a multipart without delimiter (cb_preamble) */
	po.flags = (opts && (opts->flags & MIMEO_MESSAGE_MBOX) ? MIMEO_PARSE_MBOX : 0) |
		   MIMEO_PARSE_PREAMBLE;
	po.alloc = m->alloc;
	memset(&b, 0, sizeof(b));
	b.m = m;
	rc = mimeo_charset_cache_new(&b.cc, m->alloc);
	if (rc != MIMEO_OK)
		return rc;
	rc = mimeo_parser_new(&ps, &po, &cbs, &b);
	if (rc == MIMEO_OK) {
		rc = mimeo_parser_feed(ps, m->src, m->src_len);
		if (rc == MIMEO_OK)
			rc = mimeo_parser_finish(ps);
		if (rc == MIMEO_OK)
			m->limits = mimeo_parser_limits_hit(ps);
	}
	mimeo_parser_free(ps);
	mimeo_charset_cache_free(b.cc);
	if (b.err)
		return b.err;
	if (rc == MIMEO_EUSER && m->root)
		rc = MIMEO_OK; /* a second message in the input was cut off */
	if (rc != MIMEO_OK)
		return rc;
	if (!m->root) {
		/* The parser reports a root entity even for empty input; be
		 * safe anyway and give an empty text/plain root. */
		mimeo_part *p = arena_alloc(&m->ar, sizeof(*p));

		if (!p)
			return MIMEO_ENOMEM;
		memset(p, 0, sizeof(*p));
		p->msg = m;
		p->section = "1";
		p->type = "text";
		p->subtype = "plain";
		p->flags = MIMEO_PART_LEAF | MIMEO_PART_ROOT;
		m->root = p;
		m->nparts = 1;
	}
	return MIMEO_OK;
}

static int finish_parse(mimeo_message **out, mimeo_message *m,
			const mimeo_message_options *opts)
{
	int rc = message_build(m, opts);

	if (rc != MIMEO_OK) {
		mimeo_message_free(m);
		return rc;
	}
	*out = m;
	return MIMEO_OK;
}

int mimeo_message_parse_buffer(mimeo_message **out, const void *data, size_t len,
			       const mimeo_message_options *opts)
{
	mimeo_message *m;
	int rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!data && len)
		return MIMEO_EINVAL;
	rc = message_new(&m, opts);
	if (rc != MIMEO_OK)
		return rc;
	if (opts && (opts->flags & MIMEO_MESSAGE_BORROW)) {
		m->src = data ? data : empty_body;
	} else {
		m->owned = mimeo__malloc(m->alloc, len ? len : 1);
		if (!m->owned) {
			mimeo_message_free(m);
			return MIMEO_ENOMEM;
		}
		if (len)
			memcpy(m->owned, data, len);
		m->src = m->owned;
	}
	m->src_len = len;
	return finish_parse(out, m, opts);
}

/* Read everything `rd` gives straight into m->owned (no second copy). */
static int read_all(mimeo_message *m, mimeo_read_fn rd, void *ctx,
		    const mimeo_message_options *opts, uint64_t size_hint)
{
	uint64_t max = opts && opts->max_input ? opts->max_input : (uint64_t)4 << 30;
	size_t cap = 0, used = 0;

	if (size_hint > max)
		return MIMEO_ELIMIT;
	for (;;) {
		size_t got = 0;
		int rc;

		if (cap - used < 4096) {
			/* A regular file's size is known: one allocation, so
			 * even a copying realloc never moves the source. */
			size_t ncap = cap ? cap * 2 :
				size_hint ? (size_t)size_hint + 4096 : 65536;
			char *nb;

			if (ncap < cap)
				return MIMEO_ENOMEM;
			if (ncap > max + 4096)
				ncap = (size_t)(max + 4096);
			if (ncap <= cap)
				return MIMEO_ELIMIT;
			nb = mimeo__realloc(m->alloc, m->owned, ncap);
			if (!nb)
				return MIMEO_ENOMEM;
			m->owned = nb;
			cap = ncap;
		}
		rc = rd(m->owned + used, cap - used, &got, ctx);
		if (rc < 0)
			return rc;
		if (got > cap - used)
			return MIMEO_EINVAL;
		if (!got)
			break;
		used += got;
		if (used > max)
			return MIMEO_ELIMIT;
	}
	m->src = m->owned;
	m->src_len = used;
	return MIMEO_OK;
}

static int parse_stream(mimeo_message **out, mimeo_read_fn rd, void *ctx,
			const mimeo_message_options *opts, uint64_t size_hint)
{
	mimeo_message *m;
	int rc;

	rc = message_new(&m, opts);
	if (rc != MIMEO_OK)
		return rc;
	rc = read_all(m, rd, ctx, opts, size_hint);
	if (rc != MIMEO_OK) {
		mimeo_message_free(m);
		return rc;
	}
	return finish_parse(out, m, opts);
}

int mimeo_message_parse_stream(mimeo_message **out, mimeo_read_fn read, void *ctx,
			       const mimeo_message_options *opts)
{
	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!read)
		return MIMEO_EINVAL;
	return parse_stream(out, read, ctx, opts, 0);
}

static int fd_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	int fd = *(int *)ctx;

	if (cap > (size_t)1 << 30)
		cap = (size_t)1 << 30;
	for (;;) {
		ssize_t n = read(fd, buf, cap);

		if (n >= 0) {
			*got = (size_t)n;
			return MIMEO_OK;
		}
		if (errno != EINTR)
			return MIMEO_EIO;
	}
}

static int gz_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	gzFile gz = ctx;
	int n;

	if (cap > (size_t)1 << 30)
		cap = (size_t)1 << 30;
	n = gzread(gz, buf, (unsigned)cap);
	if (n < 0)
		return MIMEO_EIO;
	if (n == 0) {
		int errnum;

		/* a truncated stream shows only here */
		gzerror(gz, &errnum);
		if (errnum == Z_BUF_ERROR)
			return MIMEO_EIO;
	}
	*got = (size_t)n;
	return MIMEO_OK;
}

/* Bytes left in a regular file from its current offset, else 0. */
static uint64_t regular_size(int fd)
{
	struct stat st;
	off_t at;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return 0;
	at = lseek(fd, 0, SEEK_CUR);
	if (at < 0 || at >= st.st_size)
		return 0;
	return (uint64_t)(st.st_size - at);
}

int mimeo_message_parse_fd(mimeo_message **out, int fd, const mimeo_message_options *opts)
{
	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (fd < 0)
		return MIMEO_EINVAL;
	return parse_stream(out, fd_read, &fd, opts, regular_size(fd));
}

int mimeo_message_parse_file(mimeo_message **out, const char *path,
			     const mimeo_message_options *opts)
{
	size_t n;
	int fd, rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!path)
		return MIMEO_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MIMEO_EIO;
	n = strlen(path);
	if (n >= 3 && strcmp(path + n - 3, ".gz") == 0) {
		gzFile gz = gzdopen(fd, "rb");

		if (!gz) {
			close(fd);
			return MIMEO_ENOMEM;
		}
		rc = parse_stream(out, gz_read, gz, opts, 0);
		gzclose(gz);
		return rc;
	}
	rc = parse_stream(out, fd_read, &fd, opts, regular_size(fd));
	close(fd);
	return rc;
}

void mimeo_message_free(mimeo_message *m)
{
	if (!m)
		return;
	arena_free(&m->ar);
	mimeo__free(m->alloc, m->hdrs);
	mimeo__free(m->alloc, m->owned);
	mimeo_buf_dispose(&m->bodies);
	mimeo__free(m->alloc, m);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

const char *mimeo_message_source(const mimeo_message *m, size_t *len)
{
	if (len)
		*len = m->src_len;
	return m->src;
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
unsigned mimeo_part_depth(const mimeo_part *p) { return p->depth; }
const char *mimeo_part_section(const mimeo_part *p) { return p->section; }
const char *mimeo_part_type(const mimeo_part *p) { return p->type; }
const char *mimeo_part_subtype(const mimeo_part *p) { return p->subtype; }
const char *mimeo_part_charset(const mimeo_part *p) { return p->charset; }
mimeo_cte mimeo_part_cte(const mimeo_part *p) { return p->cte; }
const char *mimeo_part_cte_name(const mimeo_part *p) { return p->cte_name; }
const char *mimeo_part_disposition(const mimeo_part *p) { return p->disposition; }
const char *mimeo_part_filename(const mimeo_part *p) { return p->filename; }
unsigned mimeo_part_flags(const mimeo_part *p) { return p->flags; }
size_t mimeo_part_header_count(const mimeo_part *p) { return p->hdr_count; }

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
	return name ? kv_find(p->params, p->nparams, name) : NULL;
}

const char *mimeo_part_disposition_param(const mimeo_part *p, const char *name)
{
	return name ? kv_find(p->dparams, p->ndparams, name) : NULL;
}

const char *mimeo_part_header_name(const mimeo_part *p, size_t i)
{
	if (i >= p->hdr_count)
		return NULL;
	return p->msg->hdrs[p->hdr_first + i].name;
}

const char *mimeo_part_header_raw(const mimeo_part *p, size_t i, size_t *len)
{
	const hdr *h;

	if (i >= p->hdr_count)
		return NULL;
	h = &p->msg->hdrs[p->hdr_first + i];
	if (len)
		*len = h->value_len;
	return h->value;
}

int mimeo_part_header_decoded(const mimeo_part *p, size_t i, mimeo_charset_cache *cc,
			      const mimeo_header_options *opts, mimeo_buf *out)
{
	const hdr *h;

	if (i >= p->hdr_count)
		return MIMEO_ENOTFOUND;
	h = &p->msg->hdrs[p->hdr_first + i];
	return mimeo_header_decode_text(cc, opts, h->value, h->value_len, out, NULL);
}

const char *mimeo_part_get_header(const mimeo_part *p, const char *name, size_t *len)
{
	const hdr *h = name ? part_find_header(p, name) : NULL;

	if (!h)
		return NULL;
	if (len)
		*len = h->value_len;
	return h->value;
}

const void *mimeo_part_body(const mimeo_part *p, size_t *len)
{
	const mimeo_message *m = p->msg;

	if (len)
		*len = p->body_len;
	if (!p->body_len)
		return empty_body;
	if (p->body_in_source)
		return m->src + p->body_off;
	return m->bodies.ptr + p->body_off;
}

int mimeo_part_text(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_buf *out,
		    unsigned *repairs)
{
	size_t len;
	const void *body = mimeo_part_body(p, &len);

	return mimeo_charset_to_utf8(cc, p->charset, p->charset ? strlen(p->charset) : 0,
				     body, len, out, repairs);
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
/* The body a client shows                                             */
/* ------------------------------------------------------------------ */

static int is_attachment(const mimeo_part *p)
{
	return p->disposition && strcmp(p->disposition, "attachment") == 0;
}

static int is_text_leaf(const mimeo_part *p, const char *subtype)
{
	if (!mimeo_part_is_leaf(p) || is_attachment(p) || strcmp(p->type, "text") != 0)
		return 0;
	if (subtype)
		return strcmp(p->subtype, subtype) == 0;
	return strcmp(p->subtype, "plain") == 0 || strcmp(p->subtype, "html") == 0;
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
	if (mimeo_part_is_message(p))
		return p->first_child ? pick(p->first_child, subtype, depth + 1) : NULL;
	if (strcmp(p->subtype, "alternative") == 0) {
		/* RFC 2046 5.1.4: the last alternative is the preferred one. */
		for (c = p->first_child; c; c = c->next) {
			const mimeo_part *x = pick(c, subtype, depth + 1);

			if (x)
				r = x;
		}
		return r;
	}
	if (strcmp(p->subtype, "related") == 0 && p->first_child) {
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

/* ------------------------------------------------------------------ */
/* Attachment names                                                    */
/* ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none or
 * if it encodes a C1 control (U+0080..U+009F). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* The valid UTF-8 character s[0..n) is a bidirectional formatting
 * character (U+061C ALM, U+200E LRM, U+200F RLM, U+202A..U+202E embeddings
 * and overrides, U+2066..U+2069 isolates) or U+2028/U+2029 (line and
 * paragraph separators). */
static int is_format_trap(const unsigned char *s, size_t n)
{
	if (n == 2)
		return s[0] == 0xd8 && s[1] == 0x9c;
	if (n != 3 || s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae);
	return s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9;
}

/* Largest prefix of s[0..len) of at most max bytes that ends on a
 * character boundary (s is valid UTF-8 here). */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int mimeo_filename_sanitize(const char *name, size_t len, mimeo_buf *out)
{
	mimeo_buf tmp = MIMEO_BUF_INIT;
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, start, end, ext, keep_ext, base;
	char *t;
	int rc = MIMEO_OK;

	if (!name)
		len = 0;
	mimeo_buf_init(&tmp, out->alloc);
	/* The result is never longer than the input (plus the default). */
	if (!mimeo__add_ok(len, sizeof(MIMEO_FILENAME_DEFAULT), &i))
		return MIMEO_ENOMEM;
	rc = mimeo_buf_grow(&tmp, i);
	i = 0;
	if (rc != MIMEO_OK)
		goto done;
	t = tmp.ptr;
	/* 1. Replace separators, controls and invalid UTF-8 by '_'. */
	while (i < len) {
		size_t n = utf8_char(s + i, len - i);
		int bad = !n || s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\';

		/* A C1 control (U+0080..U+009F) is one character: one '_'. */
		if (!n && s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			n = 2;
		/* Characters that make a name display as something else or
		 * break a listing into lines: bidi controls reorder what
		 * follows ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf"),
		 * U+2028/U+2029 are line breaks to Unicode-aware readers. */
		if (n && is_format_trap(s + i, n))
			bad = 1;
		if (bad) {
			t[tmp.size++] = '_';
		} else {
			memcpy(t + tmp.size, s + i, n);
			tmp.size += n;
		}
		i += n ? n : 1;
	}
	t[tmp.size] = '\0';
	/* 2. No leading dots or spaces (hidden files, "." and ".."), no
	 * trailing dots or spaces (Windows drops them). */
	start = 0;
	end = tmp.size;
	while (start < end && (t[start] == '.' || t[start] == ' '))
		start++;
	while (end > start && (t[end - 1] == '.' || t[end - 1] == ' '))
		end--;
	if (start == end) {
		rc = mimeo_buf_puts(out, MIMEO_FILENAME_DEFAULT);
		goto done;
	}
	/* 3. No ".." anywhere: nothing that reads as a parent reference. */
	for (i = start; i + 1 < end; i++) {
		if (t[i] == '.' && t[i + 1] == '.')
			t[i] = '_';
	}
	/* 4. At most MIMEO_FILENAME_MAX bytes; keep a short extension. */
	if (end - start <= MIMEO_FILENAME_MAX) {
		rc = mimeo_buf_put(out, t + start, end - start);
		goto done;
	}
	ext = end;
	for (i = end; i > start; i--) {
		if (t[i - 1] == '.') {
			ext = i - 1;
			break;
		}
	}
	keep_ext = (ext > start && end - ext <= 16) ? end - ext : 0;
	base = utf8_cut(t + start, end - start - keep_ext, MIMEO_FILENAME_MAX - keep_ext);
	/* The cut must not leave "name." + ".ext" = "name..ext" or a name
	 * ending in a space before the extension. */
	while (base && (t[start + base - 1] == '.' || t[start + base - 1] == ' '))
		base--;
	if (base)
		rc = mimeo_buf_put(out, t + start, base);
	else
		rc = mimeo_buf_puts(out, MIMEO_FILENAME_DEFAULT);
	if (rc == MIMEO_OK && keep_ext)
		rc = mimeo_buf_put(out, t + end - keep_ext, keep_ext);
done:
	mimeo_buf_dispose(&tmp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signed and encrypted parts                                          */
/* ------------------------------------------------------------------ */

/* Parameter values keep their case as written; types compare without it
 * (RFC 2045 5.1). */
static int param_is(const mimeo_part *p, const char *name, const char *want)
{
	const char *v = kv_find(p->params, p->nparams, name);

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
	const char *t = p->type, *s = p->subtype;

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
		if (!kv_find(p->params, p->nparams, "smime-type") ||
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
