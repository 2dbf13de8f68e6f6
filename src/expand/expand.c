/*
 * expand.c - derived children in the message tree (mimeo/expand.h, issue
 * 18): TNEF items under a winmail.dat part, uuencoded and yEnc files under
 * the text/plain part that carries them.
 *
 * The tree (src/message/) keeps structure only and decodes bodies on
 * demand; this layer sits above it and above the TNEF reader.  Expanding
 * reads each candidate part once and records, per derived node, how to
 * produce its content again: which TNEF item of the parent's content, or
 * which byte range [start, end) of the parent's decoded content holds the
 * block.  Nothing decoded is kept.  The tree calls back into run() (the
 * message's derived_run hook) when a derived node's content is asked for.
 *
 * Expanding is all or nothing: new nodes are made unreachable first (their
 * parent pointers set, the parents not yet pointing at them) and linked in
 * one step that cannot fail, so an allocation failure leaves the tree as
 * it was (the arena keeps the unused bytes until the message is freed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "message-priv.h"
#include "tnef-priv.h"

#include "mimeo/codec.h"
#include "mimeo/expand.h"
#include "mimeo/tnef.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes handed to the block decoders at once while scanning a text body
 * (the decoders' output scratch is sized for it). */
#define PIECE ((size_t)64 << 10)
/* Blocks written to the caller when a TNEF item is produced (the
 * mimeo_part_decode promise: blocks of at most 256 KiB). */
#define WRITE_BLOCK ((size_t)256 << 10)

/* One derived node and how to produce its content. */
typedef struct drec {
	mimeo_part *node;
	const mimeo_part *parent;
	unsigned kind;          /* MIMEO_EXPAND_TNEF, _UUENCODE or _YENC */
	size_t index;           /* TNEF: the item's index in the parent */
	size_t tn;              /* TNEF: the parent's entry in dtable.tn */
	uint64_t start, end;    /* uu/yEnc: the block in the parent's content */
	mimeo_yenc_info y;      /* yEnc figures (mimeo_part_yenc_info) */
} drec;

/* The TNEF stream of one node whose children are TNEF items, decoded and
 * read the first time one of them is produced, then kept until the
 * message is freed: producing every child of a TNEF part costs one decode
 * of it, not one each (a winmail.dat with k attachments would otherwise
 * be decoded k times to save them all). */
typedef struct tcache {
	mimeo_buf content;      /* the node's decoded content */
	mimeo_tnef *t;          /* its items (pointing into `content`) */
} tcache;

/* The slot of one such node.  Threads may produce children at once: each
 * reads the stream if the slot is empty and the first to publish wins
 * (compare-and-swap); a published cache never changes. */
typedef struct tnode {
	_Atomic(tcache *) cache;
} tnode;

/* What the message keeps: the records sorted by node address, and one
 * slot per node with TNEF children (arena; the caches are not). */
typedef struct dtable {
	size_t n;
	const drec *v;
	size_t ntn;
	tnode *tn;
} dtable;

/* A parent and the children made for it, linked at the end. */
typedef struct plink {
	mimeo_part *parent, *first, *last;
	uint32_t count;
} plink;

typedef struct expander {
	mimeo_message *m;
	const mimeo_allocator *alloc;
	unsigned what, max_nesting;
	size_t max_children;
	unsigned work_factor;
	/* decoding that producing every child of the current candidate once
	 * costs, and what it may cost (see mimeo_expand_options.work_factor) */
	uint64_t spent, budget, cand_size;
	int budget_hit;
	drec *recs;
	size_t nrecs, caprecs;
	size_t ntn;             /* nodes given TNEF children (dtable.tn) */
	plink *links;
	size_t nlinks, caplinks;
	int limit_hit;
} expander;

/* ------------------------------------------------------------------ */
/* Lookup                                                              */
/* ------------------------------------------------------------------ */

static int rec_cmp(const void *a, const void *b)
{
	const mimeo_part *x = ((const drec *)a)->node, *y = ((const drec *)b)->node;

	return x < y ? -1 : x > y;
}

static const drec *find_rec(const mimeo_message *m, const mimeo_part *p)
{
	const dtable *t = m->derived;
	size_t lo = 0, hi;

	if (!t || !(p->flags & MIMEO_PART_DERIVED))
		return NULL;
	hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].node == p)
			return &t->v[mid];
		if (t->v[mid].node < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

unsigned mimeo_part_derived(const mimeo_part *p)
{
	const drec *r = p ? find_rec(mimeo__part_message(p), p) : NULL;

	return r ? r->kind : 0;
}

int mimeo_part_yenc_info(const mimeo_part *p, mimeo_yenc_info *out)
{
	const drec *r = p ? find_rec(mimeo__part_message(p), p) : NULL;

	if (!r || r->kind != MIMEO_EXPAND_YENC || !out)
		return MIMEO_EINVAL;
	*out = r->y;
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* Producing a derived node's content                                  */
/* ------------------------------------------------------------------ */

static int map_write(int r)
{
	return r == 0 ? MIMEO_OK : r < 0 ? r : MIMEO_EUSER;
}

/* A block decoder (uuencode or yEnc) writing one block to the caller. */
typedef struct blockrun {
	unsigned kind;
	mimeo_uu_decoder uu;
	mimeo_yenc_decoder y;
	unsigned char *out;     /* scratch: bound of PIECE input bytes */
	mimeo_write_fn write;
	void *ctx;
	uint64_t produced;
	int done;               /* the block ended */
	int rc;                 /* the caller's write failure */
} blockrun;

/* Feed bytes of the block; stop at its end. */
static int block_feed(blockrun *b, const char *d, size_t n)
{
	while (n && !b->done) {
		size_t piece = n < PIECE ? n : PIECE, used = 0, got = 0;
		int r;

		if (b->kind == MIMEO_EXPAND_UUENCODE)
			r = mimeo_uu_decode_next(&b->uu, d, piece, b->out, &used, &got);
		else
			r = mimeo_yenc_decode_step(&b->y, d, piece, b->out, &used, &got);
		if (got) {
			b->produced += got;
			b->rc = map_write(b->write(b->out, got, b->ctx));
			if (b->rc != MIMEO_OK)
				return b->rc;
		}
		if (r == MIMEO_PAUSED)
			b->done = 1;
		d += used;
		n -= used;
	}
	return MIMEO_OK;
}

static int block_finish(blockrun *b)
{
	size_t got = 0;

	if (b->done)
		return MIMEO_OK;
	if (b->kind == MIMEO_EXPAND_UUENCODE)
		got = mimeo_uu_decode_finish(&b->uu, b->out);
	else
		(void)mimeo_yenc_decode_finish(&b->y, b->out, &got);
	b->done = 1;
	if (got) {
		b->produced += got;
		b->rc = map_write(b->write(b->out, got, b->ctx));
	}
	return b->rc;
}

/* The bytes [start, end) of a parent's decoded content, fed to a block. */
typedef struct rangesink {
	blockrun *b;
	uint64_t pos, start, end;
	int stopped;            /* we stopped the parent's decode on purpose */
} rangesink;

static int range_write(const void *data, size_t len, void *ctx)
{
	rangesink *s = ctx;
	const char *d = data;
	uint64_t a = s->pos, z = s->pos + len;

	s->pos = z;
	if (z <= s->start)
		return 0;
	if (a < s->start) {
		d += s->start - a;
		a = s->start;
	}
	if (z > s->end)
		z = s->end;
	if (a < z && block_feed(s->b, d, (size_t)(z - a)) != MIMEO_OK)
		return -1; /* the caller's failure, kept in b->rc */
	if (s->pos >= s->end || s->b->done) {
		s->stopped = 1;
		return 1;
	}
	return 0;
}

static int identity_cte(mimeo_cte c)
{
	return c == MIMEO_CTE_NONE || c == MIMEO_CTE_7BIT || c == MIMEO_CTE_8BIT ||
	       c == MIMEO_CTE_BINARY;
}

/* Can the parent's content be read straight from source 0 at
 * body_offset + x?  (No transfer encoding, no mbox un-quoting, not a
 * preamble kept in a source of its own, not itself derived.) */
static int parent_is_raw(const mimeo_part *p)
{
	return identity_cte(mimeo_part_cte(p)) && p->src == 0 &&
	       !(p->flags & (MIMEO__PART_UNQUOTED | MIMEO__PART_SPOOLED | MIMEO_PART_DERIVED));
}

static int run_block(const mimeo_message *m, const drec *r, mimeo_write_fn write, void *ctx)
{
	blockrun b;
	int rc = MIMEO_OK;

	memset(&b, 0, sizeof(b));
	b.kind = r->kind;
	b.write = write;
	b.ctx = ctx;
	if (r->kind == MIMEO_EXPAND_UUENCODE)
		mimeo_uu_decoder_init(&b.uu);
	else
		mimeo_yenc_decoder_init(&b.y);
	b.out = mimeo__malloc(m->alloc, PIECE + 64);
	if (!b.out)
		return MIMEO_ENOMEM;
	if (parent_is_raw(r->parent)) {
		/* only the block's own bytes are read */
		char *in = mimeo__malloc(m->alloc, PIECE);
		uint64_t off = r->parent->body_offset + r->start;
		uint64_t stop = r->parent->body_offset + r->end;

		if (!in)
			rc = MIMEO_ENOMEM;
		while (rc == MIMEO_OK && off < stop && !b.done) {
			size_t n = stop - off < PIECE ? (size_t)(stop - off) : PIECE;

			rc = mimeo_message_read_source(m, off, in, n);
			if (rc == MIMEO_OK)
				rc = block_feed(&b, in, n);
			off += n;
		}
		mimeo__free(m->alloc, in);
	} else {
		rangesink s = { &b, 0, r->start, r->end, 0 };

		rc = mimeo_part_decode(r->parent, 0, NULL, range_write, &s, NULL);
		if (b.rc != MIMEO_OK)
			rc = b.rc;
		else if (s.stopped)
			rc = MIMEO_OK;
	}
	if (rc == MIMEO_OK)
		rc = block_finish(&b);
	mimeo__free(m->alloc, b.out);
	/* the size counted when the message was expanded is exact: a
	 * difference means the bytes changed under us */
	if (rc == MIMEO_OK && b.produced != r->node->size) {
		errno = ESTALE;
		rc = mimeo__message_fail(m, MIMEO_EIO,
					 "the source changed after it was parsed (decoded size differs)");
	}
	return rc;
}

static void tcache_free(const mimeo_allocator *alloc, tcache *c)
{
	if (!c)
		return;
	mimeo_tnef_free(c->t);
	mimeo_buf_dispose(&c->content);
	mimeo__free(alloc, c);
}

/* The message's derived_free hook. */
static void free_derived(mimeo_message *m)
{
	const dtable *t = m->derived;
	size_t i;

	for (i = 0; t && i < t->ntn; i++)
		tcache_free(m->alloc, atomic_load_explicit(&t->tn[i].cache, memory_order_acquire));
}

/* The TNEF stream r's item is in: from its slot, else decoded, read and
 * published there.  MIMEO_EPARSE when the bytes no longer read as TNEF. */
static int tnef_stream(const mimeo_message *m, const drec *r, const tcache **out)
{
	const dtable *dt = m->derived;
	tnode *slot = &dt->tn[r->tn];
	tcache *c = atomic_load_explicit(&slot->cache, memory_order_acquire), *none = NULL;
	mimeo_tnef_options o = MIMEO_TNEF_OPTIONS_INIT;
	int rc;

	if (c) {
		*out = c;
		return MIMEO_OK;
	}
	c = mimeo__malloc(m->alloc, sizeof(*c));
	if (!c)
		return MIMEO_ENOMEM;
	c->t = NULL;
	mimeo_buf_init(&c->content, m->alloc);
	/* the parent's content: a MIME leaf decoded from the source, or
	 * (an embedded message) the item of the TNEF stream above it */
	rc = mimeo_part_decode_buf(r->parent, 0, NULL, &c->content, NULL);
	if (rc == MIMEO_OK) {
		o.alloc = m->alloc;
		rc = mimeo_tnef_open(&c->t, c->content.ptr, c->content.size, &o);
	}
	if (rc != MIMEO_OK) {
		tcache_free(m->alloc, c);
		return rc;
	}
	if (!atomic_compare_exchange_strong_explicit(&slot->cache, &none, c, memory_order_acq_rel,
						     memory_order_acquire)) {
		/* another thread published first: use its copy */
		tcache_free(m->alloc, c);
		c = none;
	}
	*out = c;
	return MIMEO_OK;
}

static int run_tnef(const mimeo_message *m, const drec *r, mimeo_write_fn write, void *ctx)
{
	const tcache *c = NULL;
	const mimeo_tnef_item *it;
	int rc = tnef_stream(m, r, &c);

	if (rc == MIMEO_OK) {
		it = r->index < mimeo_tnef_count(c->t) ? mimeo_tnef_item_at(c->t, r->index) : NULL;
		if (!it || it->size != r->node->size) {
			errno = ESTALE;
			rc = mimeo__message_fail(m, MIMEO_EIO,
						 "the source changed after it was parsed (TNEF item differs)");
		} else {
			size_t off = 0;

			while (rc == MIMEO_OK && off < it->size) {
				size_t n = it->size - off < WRITE_BLOCK ? it->size - off : WRITE_BLOCK;

				rc = map_write(write(it->data + off, n, ctx));
				off += n;
			}
		}
	} else if (rc == MIMEO_EPARSE || rc == MIMEO_ELIMIT) {
		errno = ESTALE;
		rc = mimeo__message_fail(m, MIMEO_EIO,
					 "the source changed after it was parsed (TNEF item differs)");
	}
	return rc;
}

/* The message's derived_run hook. */
static int run(const mimeo_part *p, mimeo_write_fn write, void *ctx)
{
	const mimeo_message *m = mimeo__part_message(p);
	const drec *r = find_rec(m, p);

	if (!r)
		return MIMEO_EINVAL; /* not reached: only derived nodes come here */
	if (r->kind == MIMEO_EXPAND_TNEF)
		return run_tnef(m, r, write, ctx);
	return run_block(m, r, write, ctx);
}

/* ------------------------------------------------------------------ */
/* Making nodes                                                        */
/* ------------------------------------------------------------------ */

static drec *new_rec(expander *e)
{
	if (mimeo__array_reserve(e->alloc, (void **)&e->recs, &e->caprecs, e->nrecs,
				 sizeof(*e->recs), 16))
		return NULL;
	memset(&e->recs[e->nrecs], 0, sizeof(drec));
	return &e->recs[e->nrecs++];
}

static plink *new_link(expander *e, mimeo_part *parent)
{
	if (mimeo__array_reserve(e->alloc, (void **)&e->links, &e->caplinks, e->nlinks,
				 sizeof(*e->links), 8))
		return NULL;
	e->links[e->nlinks].parent = parent;
	e->links[e->nlinks].first = NULL;
	e->links[e->nlinks].last = NULL;
	e->links[e->nlinks].count = 0;
	return &e->links[e->nlinks++];
}

/* "type/subtype" (lowercased) into the attributes; anything else is
 * application/octet-stream. */
static int set_type(mimeo__arena *ar, mimeo__attrs *a, const char *mime)
{
	const char *slash = mime ? strchr(mime, '/') : NULL;
	char *t, *s;
	size_t i;

	if (!slash || slash == mime || !slash[1]) {
		a->type = "application";
		a->subtype = "octet-stream";
		return MIMEO_OK;
	}
	t = mimeo__arena_strndup(ar, mime, (size_t)(slash - mime));
	s = mimeo__arena_strndup(ar, slash + 1, strlen(slash + 1));
	if (!t || !s)
		return MIMEO_ENOMEM;
	for (i = 0; t[i]; i++)
		if (t[i] >= 'A' && t[i] <= 'Z')
			t[i] = (char)(t[i] - 'A' + 'a');
	for (i = 0; s[i]; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	a->type = t;
	a->subtype = s;
	return MIMEO_OK;
}

/* A new derived node under `l->parent` (unreachable until linked), with
 * its record.  `cost`: the bytes decoded to produce it again.  NULL with
 * *rc set on failure, NULL with *rc MIMEO_OK when the max_children limit
 * or the work budget of the candidate is reached. */
static drec *new_child(expander *e, plink *l, const char *name, const char *mime,
		       uint64_t size, unsigned kind, uint64_t cost, int *rc)
{
	mimeo__arena *ar = &e->m->ar;
	mimeo_part *parent = l->parent, *c;
	mimeo__attrs *a;
	mimeo__kv *kv;
	drec *r;
	char sec[32];
	size_t plen = strlen(parent->section);
	char *section;

	*rc = MIMEO_OK;
	if (e->nrecs >= e->max_children) {
		e->limit_hit = 1;
		return NULL;
	}
	if (cost > e->budget - e->spent) {
		e->budget_hit = 1;
		return NULL;
	}
	e->spent += cost;
	*rc = MIMEO_ENOMEM;
	c = mimeo__arena_alloc(ar, sizeof(*c));
	a = mimeo__arena_alloc(ar, sizeof(*a));
	if (!c || !a)
		return NULL;
	memset(c, 0, sizeof(*c));
	memset(a, 0, sizeof(*a));
	snprintf(sec, sizeof(sec), "%s%u", plen ? "." : "", (unsigned)l->count + 1);
	section = mimeo__arena_alloc(ar, plen + strlen(sec) + 1);
	if (!section)
		return NULL;
	memcpy(section, parent->section, plen);
	strcpy(section + plen, sec);
	if (set_type(ar, a, mime) != MIMEO_OK)
		return NULL;
	a->disposition = "attachment";
	if (name && *name) {
		char *n = mimeo__arena_strndup(ar, name, strlen(name));

		kv = mimeo__arena_alloc(ar, 2 * sizeof(*kv));
		if (!n || !kv)
			return NULL;
		kv[0].name = "name";
		kv[0].value = n;
		kv[1].name = "filename";
		kv[1].value = n;
		a->params = &kv[0];
		a->nparams = 1;
		a->dparams = &kv[1];
		a->ndparams = 1;
	}
	r = new_rec(e);
	if (!r)
		return NULL;
	c->parent = parent;
	c->section = section;
	c->attrs = a;
	c->header_offset = parent->body_offset;
	c->body_offset = parent->body_offset;
	c->end_offset = parent->end_offset;
	c->size = size;
	c->src = parent->src;
	c->flags = (uint16_t)(MIMEO_PART_LEAF | MIMEO_PART_DERIVED |
			      (parent->flags & MIMEO_PART_ENCODED));
	c->cte = (uint8_t)MIMEO_CTE_BINARY;
	if (l->count)
		l->last->next = c;
	else
		l->first = c;
	l->last = c;
	l->count++;
	r->node = c;
	r->parent = parent;
	r->kind = kind;
	*rc = MIMEO_OK;
	return r;
}

/* ------------------------------------------------------------------ */
/* TNEF                                                                */
/* ------------------------------------------------------------------ */

static int is_tnef_part(const mimeo_part *p)
{
	const char *t = mimeo_part_type(p), *s = mimeo_part_subtype(p), *f;

	if (strcmp(t, "application") == 0 &&
	    (strcmp(s, "ms-tnef") == 0 || strcmp(s, "vnd.ms-tnef") == 0))
		return 1;
	f = mimeo_part_filename(p);
	return f && strcasecmp(f, "winmail.dat") == 0;
}

static int expand_text(expander *e, mimeo_part *p, const void *data, size_t len);

/* Children for the TNEF stream `data` of node `parent`; embedded TNEF
 * messages in turn, `depth` levels down; uuencoded and yEnc files in the
 * plain-text body (PR_BODY) as children of that body's node. */
static int expand_tnef_bytes(expander *e, mimeo_part *parent, const void *data, size_t len,
			     unsigned depth)
{
	mimeo_tnef_options o = MIMEO_TNEF_OPTIONS_INIT;
	mimeo_tnef *t = NULL;
	plink *l;
	size_t i, n, li, tn;
	int rc;

	o.alloc = e->alloc;
	rc = mimeo_tnef_open(&t, data, len, &o);
	if (rc == MIMEO_EPARSE || rc == MIMEO_ELIMIT)
		return MIMEO_OK; /* not TNEF (or too many items): stays a leaf */
	if (rc != MIMEO_OK)
		return rc;
	n = mimeo_tnef_count(t);
	l = n ? new_link(e, parent) : NULL;
	if (n && !l)
		rc = MIMEO_ENOMEM;
	li = l ? (size_t)(l - e->links) : 0;
	tn = n ? e->ntn++ : 0; /* the slot of this stream (tnef_stream) */
	for (i = 0; i < n && rc == MIMEO_OK; i++) {
		const mimeo_tnef_item *it = mimeo_tnef_item_at(t, i);
		mimeo_part *node;
		drec *r;

		/* the links array may move when a nested call grows it */
		l = &e->links[li];
		/* producing it copies the item out of the stream, which is
		 * decoded and read once for all its children (tnef_stream;
		 * the budget's first use pays for that decode) */
		r = new_child(e, l, it->filename, it->mime_type, it->size, MIMEO_EXPAND_TNEF,
			      it->size + (i ? 0 : e->cand_size), &rc);
		if (!r)
			break;
		r->index = i;
		r->tn = tn;
		/* r moves when a nested call grows the records */
		node = r->node;
		if (it->embedded && depth < e->max_nesting)
			rc = expand_tnef_bytes(e, node, it->data, it->size, depth + 1);
		else if (it->kind == MIMEO_TNEF_BODY_TEXT && it->size &&
			 (e->what & (MIMEO_EXPAND_UUENCODE | MIMEO_EXPAND_YENC)))
			rc = expand_text(e, node, it->data, it->size);
	}
	mimeo_tnef_free(t);
	return rc;
}

static int expand_tnef(expander *e, mimeo_part *p)
{
	mimeo_buf content;
	int rc;

	mimeo_buf_init(&content, e->alloc);
	rc = mimeo_part_decode_buf(p, 0, NULL, &content, NULL);
	if (rc == MIMEO_OK)
		rc = expand_tnef_bytes(e, p, content.ptr, content.size, 1);
	mimeo_buf_dispose(&content);
	return rc;
}

/* ------------------------------------------------------------------ */
/* uuencode and yEnc blocks in text bodies                             */
/* ------------------------------------------------------------------ */

/* A block found by a scanner. */
typedef struct found {
	unsigned kind;
	uint64_t start, end, size;
	char name[256];
	mimeo_yenc_info y;      /* yEnc: the figures (y.name is set later, from the node) */
} found;

/* One kind's scan state. */
typedef struct scanner {
	unsigned kind;
	mimeo_uu_decoder uu;
	mimeo_yenc_decoder y;
	int in;                 /* inside a block */
	uint64_t start;         /* where the current block began */
	uint64_t last_begin;    /* the last begin line's offset */
	/* A block that ends at the begin line of the next one pauses the
	 * decoder with that line held; the next call starts the new block
	 * from it, whatever lines come after: `pending` is where it is. */
	uint64_t pending;
	int has_pending;
	uint64_t produced;      /* bytes of the current block */
} scanner;

typedef struct scan {
	expander *e;
	scanner k[2];           /* uuencode, yEnc */
	unsigned nk;
	unsigned char *out;     /* decoders' output, discarded */
	uint64_t pos;           /* content offset of the next byte */
	uint64_t line_start;
	char pre[8];            /* the current line's first bytes */
	unsigned prelen;
	int pre_done;
	found *v;
	size_t n, cap;
	int rc;
} scan;

static int add_found(scan *s, const found *f)
{
	if (mimeo__array_reserve(s->e->alloc, (void **)&s->v, &s->cap, s->n, sizeof(*s->v), 8))
		return MIMEO_ENOMEM;
	s->v[s->n++] = *f;
	return MIMEO_OK;
}

/* The block of scanner k ended at content offset `end`: keep it when it
 * is whole (its end line was there). */
static int block_ended(scan *s, scanner *k, uint64_t end)
{
	found f;

	k->in = 0;
	memset(&f, 0, sizeof(f));
	f.kind = k->kind;
	f.start = k->start;
	f.end = end;
	f.size = k->produced;
	if (k->kind == MIMEO_EXPAND_UUENCODE) {
		if (!k->uu.ended)
			return MIMEO_OK; /* a begin line without its block: text */
		memcpy(f.name, k->uu.filename, sizeof(f.name));
	} else {
		if (!(k->y.have & MIMEO_YENC_HAVE_END))
			return MIMEO_OK;
		memcpy(f.name, k->y.name, sizeof(f.name));
		f.y.file_size = k->y.size;
		f.y.part = k->y.part;
		f.y.total = k->y.total;
		if (k->y.have & MIMEO_YENC_HAVE_YPART) {
			f.y.begin = k->y.begin;
			f.y.end = k->y.end;
		}
		f.y.crc32 = k->y.crc;
		f.y.errors = k->y.errors;
		f.y.have = k->y.have;
		f.y.file_crc32 = k->y.crc32;
	}
	f.name[sizeof(f.name) - 1] = '\0';
	return add_found(s, &f);
}

/* Feed one piece (never more than one line, never more than PIECE bytes)
 * starting at content offset `off` to scanner k. */
static int scanner_feed(scan *s, scanner *k, const char *d, size_t n, uint64_t off)
{
	size_t pos = 0;

	while (pos < n) {
		size_t used = 0, got = 0;
		int r;

		if (k->kind == MIMEO_EXPAND_UUENCODE)
			r = mimeo_uu_decode_next(&k->uu, d + pos, n - pos, s->out, &used, &got);
		else
			r = mimeo_yenc_decode_step(&k->y, d + pos, n - pos, s->out, &used, &got);
		pos += used;
		if (!k->in && (k->kind == MIMEO_EXPAND_UUENCODE ? k->uu.began : k->y.began)) {
			/* a block starts only at a begin line: the one held at
			 * the last pause, else the last one seen */
			k->in = 1;
			k->start = k->has_pending ? k->pending : k->last_begin;
			k->produced = 0;
		}
		k->has_pending = 0;
		if (k->in)
			k->produced += got;
		if (r == MIMEO_PAUSED) {
			int rc = k->in ? block_ended(s, k, off + pos) : MIMEO_OK;

			if (rc != MIMEO_OK)
				return rc;
			/* a block ended by the next block's begin line (not by
			 * its own end line) holds that line: the next block
			 * starts there */
			if (k->kind == MIMEO_EXPAND_UUENCODE ? !k->uu.ended
							     : !(k->y.have & MIMEO_YENC_HAVE_END)) {
				k->pending = k->last_begin;
				k->has_pending = 1;
			}
		}
		if (r != MIMEO_PAUSED && used == 0)
			break; /* not expected: the decoders use all input unless they pause */
	}
	return MIMEO_OK;
}

static void check_prefix(scan *s)
{
	unsigned i;

	s->pre_done = 1;
	for (i = 0; i < s->nk; i++) {
		scanner *k = &s->k[i];

		/* at least every line the decoders take for a begin line
		 * ("begin" SP/TAB..., "=ybegin...") */
		if (k->kind == MIMEO_EXPAND_UUENCODE
			    ? (s->prelen >= 6 && memcmp(s->pre, "begin", 5) == 0 &&
			       (s->pre[5] == ' ' || s->pre[5] == '\t'))
			    : (s->prelen >= 7 && memcmp(s->pre, "=ybegin", 7) == 0))
			k->last_begin = s->line_start;
	}
}

static int scan_write(const void *data, size_t len, void *ctx)
{
	scan *s = ctx;
	const char *d = data;

	while (len) {
		const char *nl = memchr(d, '\n', len < PIECE ? len : PIECE);
		size_t n = nl ? (size_t)(nl - d) + 1 : (len < PIECE ? len : PIECE);
		unsigned i;

		if (!s->pre_done) {
			size_t take = n < sizeof(s->pre) - s->prelen ? n : sizeof(s->pre) - s->prelen;

			memcpy(s->pre + s->prelen, d, take);
			s->prelen += (unsigned)take;
			if (nl || s->prelen == sizeof(s->pre))
				check_prefix(s);
		}
		for (i = 0; i < s->nk; i++) {
			s->rc = scanner_feed(s, &s->k[i], d, n, s->pos);
			if (s->rc != MIMEO_OK)
				return -1;
		}
		s->pos += n;
		d += n;
		len -= n;
		if (nl) {
			s->line_start = s->pos;
			s->prelen = 0;
			s->pre_done = 0;
		}
	}
	return 0;
}

static int scan_finish(scan *s)
{
	unsigned i;

	if (!s->pre_done && s->prelen)
		check_prefix(s);
	for (i = 0; i < s->nk; i++) {
		scanner *k = &s->k[i];
		size_t got = 0;
		int r;

		if (k->kind == MIMEO_EXPAND_UUENCODE) {
			got = mimeo_uu_decode_finish(&k->uu, s->out);
			r = k->uu.ended ? MIMEO_PAUSED : MIMEO_OK;
		} else {
			r = mimeo_yenc_decode_finish(&k->y, s->out, &got);
		}
		if (k->in) {
			k->produced += got;
			if (r == MIMEO_PAUSED) {
				int rc = block_ended(s, k, s->pos);

				if (rc != MIMEO_OK)
					return rc;
			}
		}
	}
	return MIMEO_OK;
}

static int found_cmp(const void *a, const void *b)
{
	const found *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Children for the blocks in text node p: its content is `data` (a TNEF
 * body held by the caller) or, with data NULL, decoded here. */
static int expand_text(expander *e, mimeo_part *p, const void *data, size_t len)
{
	scan s;
	plink *l = NULL;
	uint64_t last_end = 0;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.e = e;
	if (e->what & MIMEO_EXPAND_UUENCODE) {
		s.k[s.nk].kind = MIMEO_EXPAND_UUENCODE;
		mimeo_uu_decoder_init(&s.k[s.nk++].uu);
	}
	if (e->what & MIMEO_EXPAND_YENC) {
		s.k[s.nk].kind = MIMEO_EXPAND_YENC;
		mimeo_yenc_decoder_init(&s.k[s.nk++].y);
	}
	s.out = mimeo__malloc(e->alloc, PIECE + 64);
	if (!s.out)
		return MIMEO_ENOMEM;
	if (data)
		rc = scan_write(data, len, &s) == 0 ? MIMEO_OK : s.rc;
	else
		rc = mimeo_part_decode(p, 0, NULL, scan_write, &s, NULL);
	if (s.rc != MIMEO_OK)
		rc = s.rc;
	if (rc == MIMEO_OK)
		rc = scan_finish(&s);
	if (rc == MIMEO_OK && s.n)
		qsort(s.v, s.n, sizeof(*s.v), found_cmp);
	for (i = 0; rc == MIMEO_OK && i < s.n; i++) {
		const found *f = &s.v[i];
		drec *r;

		/* a uuencode "begin" line inside a yEnc block (or the other way
		 * round) is data of the first block */
		if (i && f->start < last_end)
			continue;
		if (!l) {
			l = new_link(e, p);
			if (!l) {
				rc = MIMEO_ENOMEM;
				break;
			}
		}
		/* producing it reads the block, or decodes the body up to it */
		r = new_child(e, l, f->name, mimeo__guess_type(f->name), f->size, f->kind,
			      parent_is_raw(p) ? f->end - f->start : f->end, &rc);
		if (!r)
			break;
		r->start = f->start;
		r->end = f->end;
		last_end = f->end;
		if (f->kind == MIMEO_EXPAND_YENC) {
			r->y = f->y;
			r->y.name = r->node->attrs->nparams ? r->node->attrs->params[0].value : "";
		}
	}
	if (l && !l->count)
		e->nlinks--; /* the limit cut every block of this part */
	mimeo__free(e->alloc, s.v);
	mimeo__free(e->alloc, s.out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

int mimeo_message_expand(mimeo_message *m, const mimeo_expand_options *opts)
{
	expander e;
	mimeo_part *p;
	dtable *t;
	drec *v;
	size_t i;
	int rc = MIMEO_OK;

	if (!m || (opts && !MIMEO__VERSION_OK(opts->version, MIMEO_EXPAND_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	if (m->derived_run)
		return MIMEO_OK; /* expanded before */
	memset(&e, 0, sizeof(e));
	e.m = m;
	e.alloc = m->alloc;
	e.what = opts && opts->what ? opts->what & MIMEO_EXPAND_ALL : MIMEO_EXPAND_ALL;
	e.max_children = opts && opts->max_children ? opts->max_children : 4096;
	e.work_factor = opts && opts->work_factor ? opts->work_factor : 16;
	e.max_nesting = opts && opts->max_nesting ? opts->max_nesting : 4;
	/* only the nodes of the MIME structure are candidates: the walk sees
	 * none of the new ones, which are linked at the end */
	for (p = m->root; p && rc == MIMEO_OK && !e.limit_hit;
	     p = (mimeo_part *)mimeo_part_next(p)) {
		if (!(p->flags & MIMEO_PART_LEAF) || !mimeo_part_is_leaf(p) || !p->size)
			continue;
		/* producing every child of p once may decode p work_factor
		 * times over (at least 256 MiB): many files in one part must
		 * not make saving them all quadratic */
		e.cand_size = p->size;
		e.spent = 0;
		e.budget = p->size > UINT64_MAX / e.work_factor ? UINT64_MAX
								  : p->size * e.work_factor;
		if (e.budget < ((uint64_t)256 << 20))
			e.budget = (uint64_t)256 << 20;
		if ((e.what & MIMEO_EXPAND_TNEF) && is_tnef_part(p))
			rc = expand_tnef(&e, p);
		else if ((e.what & (MIMEO_EXPAND_UUENCODE | MIMEO_EXPAND_YENC)) &&
			 strcmp(mimeo_part_type(p), "text") == 0 &&
			 strcmp(mimeo_part_subtype(p), "plain") == 0)
			rc = expand_text(&e, p, NULL, 0);
	}
	if (rc == MIMEO_OK && e.nrecs) {
		size_t bytes;

		size_t tbytes;
		tnode *tn = NULL;

		t = mimeo__arena_alloc(&m->ar, sizeof(*t));
		v = mimeo__mul_ok(e.nrecs, sizeof(*v), &bytes) ? mimeo__arena_alloc(&m->ar, bytes)
							       : NULL;
		if (e.ntn && mimeo__mul_ok(e.ntn, sizeof(*tn), &tbytes))
			tn = mimeo__arena_alloc(&m->ar, tbytes);
		if (!t || !v || (e.ntn && !tn)) {
			rc = MIMEO_ENOMEM;
		} else {
			memcpy(v, e.recs, e.nrecs * sizeof(*v));
			qsort(v, e.nrecs, sizeof(*v), rec_cmp);
			t->n = e.nrecs;
			t->v = v;
			for (i = 0; i < e.ntn; i++)
				atomic_init(&tn[i].cache, NULL);
			t->ntn = e.ntn;
			t->tn = tn;
			m->derived_free = free_derived;
			/* the point of no return: link, publish */
			for (i = 0; i < e.nlinks; i++) {
				e.links[i].parent->first_child = e.links[i].first;
				e.links[i].parent->nchildren = e.links[i].count;
			}
			m->nparts += e.nrecs;
			m->derived = t;
		}
	}
	if (rc == MIMEO_OK) {
		m->derived_run = run; /* also marks the message as expanded */
		if (e.limit_hit || e.budget_hit)
			m->limits |= MIMEO_LIMIT_PARTS;
	}
	mimeo__free(e.alloc, e.recs);
	mimeo__free(e.alloc, e.links);
	return rc;
}
