/*
 * builder.c - compose RFC 5322 + MIME messages and stream them out.
 *
 * The builder only records what the caller gives it; all the work happens
 * in mimeo_builder_write(): choosing the transfer encodings (a scan of each
 * text body), building the MIME structure, choosing boundaries, then one
 * streaming pass that writes headers and encodes the bodies chunk by chunk
 * into one output buffer.  File and callback attachments are read in
 * READ_CHUNK pieces, so memory use does not depend on their size.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "emit-priv.h"

#include "mimeo/date.h"
#include "mimeo/header.h"
#include "mimeo/param.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* File and callback input is read in slices of whole base64 lines, the
 * slices the encoder works in (emit-priv.h says why that size). */
#define READ_CHUNK MIMEO__B64_SLICE
#define OUT_CAP MIMEO__OUT_CAP
/* Except for mimeo_builder_write_file(): each block becomes a write(2)
 * there (stdio passes blocks larger than its buffer straight through),
 * and the system calls cost more than the cache misses of a larger
 * buffer: a 100 MiB stream attachment written to a tmpfs file measured
 * 1.16-1.26 GB/s (CPU time) with 24 KiB blocks, 1.49-1.51 with 256 KiB. */
#define FILE_OUT_CAP (256u * 1024u)

/* Longest caller string we put on one header line unfolded (addresses,
 * ids, content types): keeps every line within 998 octets. */
#define MAX_TOKEN 900

/* "=_" + 2 hex digits of the multipart's number + "_" + 24 random
 * characters: see mimeo_builder_write() in builder.h for why "=_" makes
 * the boundary impossible in base64 and quoted-printable output. */
#define BOUNDARY_RANDOM 24
#define BOUNDARY_LEN (2 + 2 + 1 + BOUNDARY_RANDOM)

/* 32 characters, so a random byte masked with 31 picks one uniformly. */
static const char rand_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Finds "--" + boundary at a line start, fed in chunks. */
typedef struct delim_match {
	const char *pat;   /* "--" is implied before `b` */
	size_t blen;
	long pos;          /* bytes matched at this line's start, -1: no match */
	int found;
} delim_match;

static void delim_init(delim_match *m, const char *b, size_t blen)
{
	m->pat = b;
	m->blen = blen;
	m->pos = 0;
	m->found = 0;
}

static void delim_step(delim_match *m, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && !m->found; i++) {
		unsigned char c = p[i];
		long pos = m->pos;

		if (c == '\n') {
			m->pos = 0;
			continue;
		}
		if (pos < 0)
			continue;
		if ((pos < 2 && c == '-') || (pos >= 2 && c == (unsigned char)m->pat[pos - 2])) {
			m->pos = pos + 1;
			if ((size_t)m->pos == m->blen + 2)
				m->found = 1;
		} else {
			m->pos = -1;
		}
	}
}

/* ------------------------------------------------------------------ */
/* the builder object                                                   */
/* ------------------------------------------------------------------ */

enum { SRC_MEM, SRC_FILE, SRC_STREAM };
enum { ROLE_TEXT, ROLE_HTML, ROLE_INLINE, ROLE_ATTACH, ROLE_MESSAGE };
enum { DISP_NONE, DISP_ATTACHMENT, DISP_INLINE };

/* One leaf of the message. */
typedef struct bpart {
	int role;
	int kind;               /* SRC_* */
	const unsigned char *data;
	size_t len;
	void *owned;            /* our copy of data, or NULL when borrowed */
	char *path;             /* SRC_FILE */
	mimeo_read_fn read;     /* SRC_STREAM */
	void *rctx;
	char *ctype;            /* Content-Type value as written */
	int is_text;            /* media type text/... */
	char *filename;         /* UTF-8 or NULL */
	char *cid;
	char *desc;
	mimeo_cte forced;       /* MIMEO_CTE_NONE = automatic */
	mimeo_cte cte;          /* chosen at the first write */
	int disp;               /* DISP_* */
} bpart;

typedef struct baddr {
	char *name;  /* UTF-8 or NULL */
	char *spec;
} baddr;

typedef struct baddr_list {
	baddr *v;
	size_t n, cap;
} baddr_list;

typedef struct bheader {
	char *name;
	char *value;
	unsigned flags;
} bheader;

/* A node of the MIME structure built by plan(). */
typedef struct bnode {
	bpart *leaf;            /* NULL for multiparts */
	const char *subtype;    /* multipart subtype */
	struct bnode *child, *next, *last;
	char boundary[BOUNDARY_LEN + 1];
} bnode;

#define NFIELDS 6

struct mimeo_builder {
	const mimeo_allocator *alloc;
	unsigned flags;
	char *id_domain;
	baddr_list addrs[NFIELDS];
	char *subject;          /* NULL = none */
	int has_date;
	int64_t date;
	int date_off;
	char *msgid;            /* without <> */
	int err;                /* status of the last failed call, 0 = none */
	const char *err_reason; /* its reason (static English text) */
	mimeo_buf in_reply_to;  /* "<a@b> <c@d>" as written, "" = none */
	mimeo_buf references;
	bheader *hdrs;
	size_t nhdrs, caphdrs;
	bpart *text, *html;
	bpart **parts;          /* attachments and messages, in order */
	size_t nparts, capparts;
	bpart **inl;            /* inline related parts, in order */
	size_t ninl, capinl;
	bpart *empty;           /* the empty text/plain of a message without body */
	bnode *nodes;           /* plan, made at the first write */
	size_t nnodes;
	bnode *top;
	int planned;
	int has_stream;
	int stream_used;
};

static char *dupstr(const mimeo_allocator *a, const char *s)
{
	return mimeo__strndup(a, s, strlen(s));
}

/* Copy a one-line text: CR and LF become spaces (a field value cannot
 * contain them; RFC 5322 section 2.2). */
static char *dup_line(const mimeo_allocator *a, const char *s, size_t len)
{
	char *d = mimeo__strndup(a, s, len);
	size_t i;

	if (d)
		for (i = 0; i < len; i++)
			if (d[i] == '\r' || d[i] == '\n')
				d[i] = ' ';
	return d;
}

/* Free the `n` blocks of `v` (NULLs allowed). */
static void free_all(const mimeo_allocator *a, void *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mimeo__free(a, v[i]);
}

static void part_free(const mimeo_allocator *a, bpart *p)
{
	if (p) {
		void *const v[] = { p->owned, p->path, p->ctype, p->filename, p->cid, p->desc, p };

		free_all(a, v, sizeof(v) / sizeof(v[0]));
	}
}

/* Record why a call failed (mimeo_builder_error) and return `code`. */
static int fail(mimeo_builder *b, int code, const char *why)
{
	b->err = code;
	b->err_reason = why;
	return code;
}

int mimeo_builder_error(const mimeo_builder *b, const char **reason)
{
	if (reason)
		*reason = b && b->err ? b->err_reason : "";
	return b ? b->err : MIMEO_EINVAL;
}

int mimeo_builder_new(mimeo_builder **out, const mimeo_builder_options *opts)
{
	const mimeo_allocator *a = opts ? opts->alloc : NULL;
	mimeo_builder *b;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (opts && !MIMEO__VERSION_OK(opts->version, MIMEO_BUILDER_OPTIONS_VERSION))
		return MIMEO_EINVAL;
	b = mimeo__calloc(a, 1, sizeof(*b));
	if (!b)
		return MIMEO_ENOMEM;
	b->alloc = a;
	b->flags = opts ? opts->flags : 0;
	mimeo_buf_init(&b->in_reply_to, a);
	mimeo_buf_init(&b->references, a);
	if (opts && opts->message_id_domain) {
		b->id_domain = dupstr(a, opts->message_id_domain);
		if (!b->id_domain) {
			mimeo__free(a, b);
			return MIMEO_ENOMEM;
		}
	}
	*out = b;
	return MIMEO_OK;
}

void mimeo_builder_free(mimeo_builder *b)
{
	const mimeo_allocator *a;
	size_t i, j;

	if (!b)
		return;
	a = b->alloc;
	for (i = 0; i < NFIELDS; i++) {
		for (j = 0; j < b->addrs[i].n; j++) {
			mimeo__free(a, b->addrs[i].v[j].name);
			mimeo__free(a, b->addrs[i].v[j].spec);
		}
		mimeo__free(a, b->addrs[i].v);
	}
	for (i = 0; i < b->nhdrs; i++) {
		mimeo__free(a, b->hdrs[i].name);
		mimeo__free(a, b->hdrs[i].value);
	}
	for (i = 0; i < b->nparts; i++)
		part_free(a, b->parts[i]);
	for (i = 0; i < b->ninl; i++)
		part_free(a, b->inl[i]);
	part_free(a, b->text);
	part_free(a, b->html);
	part_free(a, b->empty);
	mimeo_buf_dispose(&b->in_reply_to);
	mimeo_buf_dispose(&b->references);
	{
		void *const v[] = { b->hdrs, b->parts, b->inl, b->nodes, b->subject, b->msgid,
				    b->id_domain, b };

		free_all(a, v, sizeof(v) / sizeof(v[0]));
	}
}

/* Grow an array of `size`-byte elements to hold one more (4 at first). */
static int grow(const mimeo_allocator *a, void **v, size_t n, size_t *cap, size_t size)
{
	return mimeo__array_reserve(a, v, cap, n, size, 4);
}

/* Printable ASCII without space and without any byte of `forbid`. */
static int printable_token(const char *s, const char *forbid)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 32 || c >= 127 || strchr(forbid, c))
			return 0;
	}
	return n > 0 && n <= MAX_TOKEN;
}

/* An RFC 5322 addr-spec as we accept it: printable ASCII, an "@" with
 * something on both sides. */
static int valid_addr_spec(const char *s)
{
	const char *at;

	if (!printable_token(s, "<>,;\"()[]\\"))
		return 0;
	at = strrchr(s, '@');
	return at && at != s && at[1];
}

int mimeo_builder_add_address(mimeo_builder *b, mimeo_builder_field field,
			      const char *display_name, const char *addr_spec)
{
	baddr_list *l;
	baddr *ad;

	if (!b)
		return MIMEO_EINVAL;
	if ((unsigned)field >= NFIELDS)
		return fail(b, MIMEO_EINVAL, "unknown address field");
	if (!addr_spec || !valid_addr_spec(addr_spec))
		return fail(b, MIMEO_EINVAL, "not an ASCII addr-spec (local@domain without spaces, "
					     "angle brackets, commas or controls)");
	l = &b->addrs[field];
	if (field == MIMEO_FIELD_SENDER && l->n) /* RFC 5322 3.6.2: one mailbox */
		return fail(b, MIMEO_EINVAL, "Sender holds one mailbox");
	if (grow(b->alloc, (void **)&l->v, l->n, &l->cap, sizeof(*l->v)))
		return MIMEO_ENOMEM;
	ad = &l->v[l->n];
	ad->name = NULL;
	if (display_name && *display_name) {
		ad->name = dup_line(b->alloc, display_name, strlen(display_name));
		if (!ad->name)
			return MIMEO_ENOMEM;
	}
	ad->spec = dupstr(b->alloc, addr_spec);
	if (!ad->spec) {
		mimeo__free(b->alloc, ad->name);
		return MIMEO_ENOMEM;
	}
	l->n++;
	return MIMEO_OK;
}

const char *mimeo_builder_recipient(const mimeo_builder *b, mimeo_builder_field field, size_t i)
{
	if (!b || (unsigned)field >= NFIELDS || i >= b->addrs[field].n)
		return NULL;
	return b->addrs[field].v[i].spec;
}

int mimeo_builder_set_subject(mimeo_builder *b, const char *utf8, size_t len)
{
	char *s;

	if (!b || (!utf8 && len))
		return MIMEO_EINVAL;
	s = dup_line(b->alloc, utf8 ? utf8 : "", len);
	if (!s)
		return MIMEO_ENOMEM;
	mimeo__free(b->alloc, b->subject);
	b->subject = s;
	return MIMEO_OK;
}

int mimeo_builder_set_date(mimeo_builder *b, int64_t utc_seconds, int offset_minutes)
{
	if (!b)
		return MIMEO_EINVAL;
	if (offset_minutes < -1439 || offset_minutes > 1439)
		return fail(b, MIMEO_EINVAL, "zone offset beyond +-23:59");
	b->has_date = 1;
	b->date = utc_seconds;
	b->date_off = offset_minutes;
	return MIMEO_OK;
}

int mimeo_builder_set_message_id(mimeo_builder *b, const char *id)
{
	char *s = NULL;

	if (!b)
		return MIMEO_EINVAL;
	if (id) {
		if (!printable_token(id, "<>") || !strchr(id, '@'))
			return fail(b, MIMEO_EINVAL, "Message-ID is not left@right in printable ASCII "
						     "without spaces or angle brackets");
		s = dupstr(b->alloc, id);
		if (!s)
			return MIMEO_ENOMEM;
	}
	mimeo__free(b->alloc, b->msgid);
	b->msgid = s;
	return MIMEO_OK;
}

/* Replace `dst` with "<id1> <id2> ..." after checking every id. */
static int set_ids(mimeo_builder *b, mimeo_buf *dst, const char *const *ids, size_t n)
{
	mimeo_buf v;
	size_t i;

	if (!b)
		return MIMEO_EINVAL;
	if (n && !ids)
		return fail(b, MIMEO_EINVAL, "NULL id array");
	for (i = 0; i < n; i++)
		if (!ids[i] || !printable_token(ids[i], "<>") || !strchr(ids[i], '@') ||
		    strlen(ids[i]) > MAX_TOKEN)
			return fail(b, MIMEO_EINVAL, "an id is not left@right in printable ASCII "
						     "without spaces or angle brackets");
	mimeo_buf_init(&v, b->alloc);
	for (i = 0; i < n; i++)
		if ((i && mimeo_buf_put(&v, " ", 1)) || mimeo_buf_put(&v, "<", 1) ||
		    mimeo_buf_puts(&v, ids[i]) || mimeo_buf_put(&v, ">", 1)) {
			mimeo_buf_dispose(&v);
			return MIMEO_ENOMEM;
		}
	mimeo_buf_dispose(dst);
	*dst = v;
	return MIMEO_OK;
}

int mimeo_builder_set_in_reply_to(mimeo_builder *b, const char *const *ids, size_t n)
{
	return set_ids(b, b ? &b->in_reply_to : NULL, ids, n);
}

int mimeo_builder_set_references(mimeo_builder *b, const char *const *ids, size_t n)
{
	return set_ids(b, b ? &b->references : NULL, ids, n);
}

/* Fill `out` with `n` random characters of rand_alphabet. */
static int random_chars(char *out, size_t n)
{
	unsigned char r[64];
	size_t got = 0, i;

	if (n > sizeof(r))
		return MIMEO_EINVAL;
	while (got < n) {
		ssize_t k = getrandom(r + got, n - got, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return MIMEO_EIO;
		}
		got += (size_t)k;
	}
	for (i = 0; i < n; i++)
		out[i] = rand_alphabet[r[i] & 31];
	return MIMEO_OK;
}

/* A host name usable as the right side of a Message-ID (dot-atom). */
static int good_domain(const char *s)
{
	if (!*s || strlen(s) > 255)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

const char *mimeo_builder_message_id(mimeo_builder *b)
{
	char host[256], left[26];
	const char *dom;
	mimeo_buf id = MIMEO_BUF_INIT;

	if (!b)
		return NULL;
	if (b->msgid)
		return b->msgid;
	dom = b->id_domain;
	if (!dom || !good_domain(dom)) {
		if (gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			dom = host;
		}
		if (!dom || !good_domain(dom))
			dom = "localhost";
	}
	/* RFC 5322 section 3.6.4: the left part must make the id unique;
	 * 26 characters of 5 random bits each are 130 bits. */
	if (random_chars(left, sizeof(left)))
		return NULL;
	mimeo_buf_init(&id, b->alloc);
	if (mimeo_buf_put(&id, left, sizeof(left)) || mimeo_buf_puts(&id, "@") ||
	    mimeo_buf_puts(&id, dom)) {
		mimeo_buf_dispose(&id);
		return NULL;
	}
	b->msgid = mimeo_buf_detach(&id);
	return b->msgid;
}

static int field_name_ok(const char *n)
{
	static const char *const ours[] = {
		"from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date",
		"message-id", "in-reply-to", "references", "mime-version", NULL
	};
	size_t i, len = strlen(n);

	if (!len || len > 76)
		return 0;
	if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
	      (n[0] >= '0' && n[0] <= '9')))
		return 0;
	for (i = 0; i < len; i++) {
		char c = n[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	for (i = 0; ours[i]; i++)
		if (mimeo__ascii_ieq(n, len, ours[i]))
			return 0;
	if (len >= 8 && mimeo__ascii_ieq(n, 8, "content-"))
		return 0;
	return 1;
}

/* A raw value: printable ASCII and tabs, line breaks only as folds, no
 * line over 998 octets (counting `first` columns on the first line). */
static int raw_value_ok(const char *v, size_t first)
{
	size_t col = first;

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\r' && v[1] == '\n')
			continue;
		if (c == '\n') {
			if (v[1] != ' ' && v[1] != '\t')
				return 0;
			col = 0;
			continue;
		}
		if ((c < 32 && c != '\t') || c >= 127)
			return 0;
		if (++col > MIMEO__MAX_LINE)
			return 0;
	}
	return 1;
}

int mimeo_builder_add_header(mimeo_builder *b, const char *name, const char *value,
			     unsigned flags)
{
	bheader *h;

	if (!b)
		return MIMEO_EINVAL;
	if (!name || !value || (flags & ~MIMEO_HEADER_RAW))
		return fail(b, MIMEO_EINVAL, "NULL name or value, or unknown flags");
	if (!field_name_ok(name))
		return fail(b, MIMEO_EINVAL, "bad field name, or one the builder writes itself "
					     "(use its setter)");
	if ((flags & MIMEO_HEADER_RAW) && !raw_value_ok(value, strlen(name) + 2))
		return fail(b, MIMEO_EINVAL, "raw value is not printable ASCII with folds, "
					     "or a line is over 998 octets");
	if (grow(b->alloc, (void **)&b->hdrs, b->nhdrs, &b->caphdrs, sizeof(*b->hdrs)))
		return MIMEO_ENOMEM;
	h = &b->hdrs[b->nhdrs];
	h->flags = flags;
	h->name = dupstr(b->alloc, name);
	if (flags & MIMEO_HEADER_RAW)
		h->value = dupstr(b->alloc, value);
	else
		h->value = dup_line(b->alloc, value, strlen(value));
	if (!h->name || !h->value) {
		mimeo__free(b->alloc, h->name);
		mimeo__free(b->alloc, h->value);
		return MIMEO_ENOMEM;
	}
	b->nhdrs++;
	return MIMEO_OK;
}

/* Convert line breaks (LF or CRLF) to the output's, appending to `out`.
 * A CR that is not before an LF is kept as it is. */
static int normalize_breaks(const char *in, size_t len, int crlf, mimeo_buf *out)
{
	size_t i, start = 0;

	if (mimeo_buf_grow(out, len + len / 8 + 16))
		return MIMEO_ENOMEM;
	for (i = 0; i < len; i++) {
		if (in[i] != '\n')
			continue;
		if (crlf) {
			if (i > 0 && in[i - 1] == '\r')
				continue;
			if (mimeo_buf_put(out, in + start, i - start) ||
			    mimeo_buf_put(out, "\r\n", 2))
				return MIMEO_ENOMEM;
		} else {
			size_t end = (i > start && in[i - 1] == '\r') ? i - 1 : i;

			if (end == i)
				continue;
			if (mimeo_buf_put(out, in + start, end - start) ||
			    mimeo_buf_put(out, "\n", 1))
				return MIMEO_ENOMEM;
		}
		start = i + 1;
	}
	if (mimeo_buf_put(out, in + start, len - start))
		return MIMEO_ENOMEM;
	return MIMEO_OK;
}

static bpart *part_new(mimeo_builder *b, int role)
{
	bpart *p = mimeo__calloc(b->alloc, 1, sizeof(*p));

	if (p)
		p->role = role;
	return p;
}

static int set_body(mimeo_builder *b, bpart **slot, int role, const char *ctype,
		    const char *utf8, size_t len, mimeo_cte cte)
{
	mimeo_buf copy;
	bpart *p;

	if (!b)
		return MIMEO_EINVAL;
	if (!utf8 && len)
		return fail(b, MIMEO_EINVAL, "NULL text with a length");
	if (cte != MIMEO_CTE_NONE && cte != MIMEO_CTE_7BIT && cte != MIMEO_CTE_8BIT &&
	    cte != MIMEO_CTE_QP && cte != MIMEO_CTE_BASE64)
		return fail(b, MIMEO_EINVAL, "a text body can be sent 7bit, 8bit, "
					     "quoted-printable or base64 only");
	p = part_new(b, role);
	if (!p)
		return MIMEO_ENOMEM;
	mimeo_buf_init(&copy, b->alloc);
	if (normalize_breaks(utf8 ? utf8 : "", len, b->flags & MIMEO_BUILD_CRLF, &copy) ||
	    !(p->ctype = dupstr(b->alloc, ctype))) {
		mimeo_buf_dispose(&copy);
		part_free(b->alloc, p);
		return MIMEO_ENOMEM;
	}
	p->kind = SRC_MEM;
	p->len = copy.size;
	p->owned = mimeo_buf_detach(&copy);
	p->data = p->owned ? p->owned : (const unsigned char *)"";
	p->is_text = 1;
	p->forced = cte;
	part_free(b->alloc, *slot);
	*slot = p;
	b->planned = 0;
	return MIMEO_OK;
}

int mimeo_builder_set_text(mimeo_builder *b, const char *utf8, size_t len, mimeo_cte cte)
{
	return set_body(b, b ? &b->text : NULL, ROLE_TEXT, "text/plain; charset=utf-8",
			utf8, len, cte);
}

int mimeo_builder_set_html(mimeo_builder *b, const char *utf8, size_t len, mimeo_cte cte)
{
	return set_body(b, b ? &b->html : NULL, ROLE_HTML, "text/html; charset=utf-8",
			utf8, len, cte);
}

static int is_tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* Check "type/subtype[; params]" (RFC 2045 section 5.1); sets *is_text.
 * Multipart and message/rfc822 types are refused: the builder makes those
 * structures itself. */
static int valid_ctype(const char *s, int *is_text)
{
	const char *p = s, *slash, *end;
	size_t tlen;

	if (strlen(s) > MAX_TOKEN)
		return 0;
	while (*p && *p > 32 && *p < 127 && !is_tspecial((unsigned char)*p))
		p++;
	if (p == s || *p != '/')
		return 0;
	slash = p++;
	end = p;
	while (*end && *end > 32 && *end < 127 && !is_tspecial((unsigned char)*end))
		end++;
	if (end == p)
		return 0;
	for (p = end; *p == ' ' || *p == '\t'; p++)
		;
	if (*p && *p != ';')
		return 0;
	for (; *p; p++)
		if ((*p < 32 && *p != '\t') || (unsigned char)*p >= 127)
			return 0;
	tlen = (size_t)(slash - s);
	if (mimeo__ascii_ieq(s, tlen, "multipart"))
		return 0;
	if (mimeo__ascii_ieq(s, tlen, "message") &&
	    (mimeo__ascii_ieq(slash + 1, (size_t)(end - slash - 1), "rfc822") ||
	     mimeo__ascii_ieq(slash + 1, (size_t)(end - slash - 1), "global")))
		return 0;
	*is_text = mimeo__ascii_ieq(s, tlen, "text");
	return 1;
}

/* Common checks and copies of a part description. */
static int part_from_spec(mimeo_builder *b, bpart *p, const mimeo_builder_part *spec,
			  int stream)
{
	const mimeo_allocator *a = b->alloc;
	const char *ct = spec && spec->content_type ? spec->content_type
						    : "application/octet-stream";

	if (spec && !MIMEO__VERSION_OK(spec->version, MIMEO_BUILDER_PART_VERSION))
		return fail(b, MIMEO_EINVAL, "unknown mimeo_builder_part version");
	if (!valid_ctype(ct, &p->is_text))
		return fail(b, MIMEO_EINVAL, "content_type is not type/subtype[; parameters]");
	if (spec) {
		switch (spec->encoding) {
		case MIMEO_CTE_NONE:
		case MIMEO_CTE_BASE64:
		case MIMEO_CTE_QP:
			break;
		case MIMEO_CTE_7BIT:
		case MIMEO_CTE_8BIT:
		case MIMEO_CTE_BINARY:
			/* Written as is: needs content we can check for our
			 * boundaries, so not from a callback. */
			if (stream)
				return fail(b, MIMEO_EINVAL, "7bit, 8bit or binary cannot be forced "
							     "on data from a read callback");
			break;
		default:
			return fail(b, MIMEO_EINVAL, "unknown forced encoding");
		}
		p->forced = spec->encoding;
		if (spec->content_id && !printable_token(spec->content_id, "<>"))
			return fail(b, MIMEO_EINVAL, "content_id is not printable ASCII without "
						     "spaces or angle brackets");
		if ((spec->content_id && !(p->cid = dupstr(a, spec->content_id))) ||
		    (spec->filename && !(p->filename = dup_line(a, spec->filename,
								strlen(spec->filename)))) ||
		    (spec->description && !(p->desc = dup_line(a, spec->description,
							       strlen(spec->description)))))
			return MIMEO_ENOMEM;
	}
	p->ctype = dupstr(a, ct);
	return p->ctype ? MIMEO_OK : MIMEO_ENOMEM;
}

static int push_part(mimeo_builder *b, bpart ***arr, size_t *n, size_t *cap, bpart *p)
{
	if (grow(b->alloc, (void **)arr, *n, cap, sizeof(**arr)))
		return MIMEO_ENOMEM;
	(*arr)[(*n)++] = p;
	b->planned = 0;
	return MIMEO_OK;
}

static int add_memory(mimeo_builder *b, int role, const mimeo_builder_part *spec,
		      const void *data, size_t len)
{
	bpart *p;
	int r;

	if (!b)
		return MIMEO_EINVAL;
	if (!data && len)
		return fail(b, MIMEO_EINVAL, "NULL data with a length");
	p = part_new(b, role);
	if (!p)
		return MIMEO_ENOMEM;
	r = part_from_spec(b, p, spec, 0);
	if (!r && role == ROLE_INLINE && !p->cid)
		r = MIMEO_EINVAL;
	if (!r) {
		p->kind = SRC_MEM;
		p->len = len;
		if (spec && (spec->flags & MIMEO_BUILDER_PART_BORROW)) {
			p->data = data ? data : (const void *)"";
		} else {
			p->owned = mimeo__malloc(b->alloc, len);
			if (!p->owned)
				r = MIMEO_ENOMEM;
			else if (len)
				memcpy(p->owned, data, len);
			p->data = p->owned;
		}
	}
	if (!r) {
		p->disp = role == ROLE_INLINE ? DISP_INLINE : DISP_ATTACHMENT;
		if (role == ROLE_INLINE)
			r = push_part(b, &b->inl, &b->ninl, &b->capinl, p);
		else
			r = push_part(b, &b->parts, &b->nparts, &b->capparts, p);
	}
	if (r)
		part_free(b->alloc, p);
	return r;
}

int mimeo_builder_add_attachment(mimeo_builder *b, const mimeo_builder_part *spec,
				 const void *data, size_t len)
{
	return add_memory(b, ROLE_ATTACH, spec, data, len);
}

int mimeo_builder_add_inline(mimeo_builder *b, const mimeo_builder_part *spec,
			     const void *data, size_t len)
{
	return add_memory(b, ROLE_INLINE, spec, data, len);
}

/* A readable regular file (errno tells why not). */
static int check_file(const char *path)
{
	struct stat st;
	int r, fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MIMEO_EIO;
	r = fstat(fd, &st);
	close(fd);
	if (r || !S_ISREG(st.st_mode)) {
		if (!r)
			errno = EINVAL;
		return MIMEO_EIO;
	}
	return MIMEO_OK;
}

/* The part's path, and its file name when it has none: the base name. */
static int set_path(mimeo_builder *b, bpart *p, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!p->filename && *base && !(p->filename = dup_line(b->alloc, base, strlen(base))))
		return MIMEO_ENOMEM;
	p->path = dupstr(b->alloc, path);
	return p->path ? MIMEO_OK : MIMEO_ENOMEM;
}

/* A file part (an attachment, or a message when `spec` is NULL and
 * `role` ROLE_MESSAGE): the file is checked now and read at the write. */
static int add_file(mimeo_builder *b, int role, const mimeo_builder_part *spec,
		    const char *filename, const char *path)
{
	bpart *p;
	int r;

	if (!b)
		return MIMEO_EINVAL;
	if (!path || !*path)
		return fail(b, MIMEO_EINVAL, "no file name");
	r = check_file(path);
	if (r)
		return r;
	p = part_new(b, role);
	if (!p)
		return MIMEO_ENOMEM;
	if (role == ROLE_MESSAGE) {
		p->ctype = dupstr(b->alloc, "message/rfc822");
		r = p->ctype ? MIMEO_OK : MIMEO_ENOMEM;
		if (!r && filename &&
		    !(p->filename = dup_line(b->alloc, filename, strlen(filename))))
			r = MIMEO_ENOMEM;
	} else {
		r = part_from_spec(b, p, spec, 0);
	}
	if (!r)
		r = set_path(b, p, path);
	if (!r) {
		p->kind = SRC_FILE;
		p->disp = DISP_ATTACHMENT;
		r = push_part(b, &b->parts, &b->nparts, &b->capparts, p);
	}
	if (r)
		part_free(b->alloc, p);
	return r;
}

int mimeo_builder_add_attachment_file(mimeo_builder *b, const mimeo_builder_part *spec,
				      const char *path)
{
	return add_file(b, ROLE_ATTACH, spec, NULL, path);
}

int mimeo_builder_add_attachment_stream(mimeo_builder *b, const mimeo_builder_part *spec,
					mimeo_read_fn read, void *ctx)
{
	bpart *p;
	int r;

	if (!b)
		return MIMEO_EINVAL;
	if (!read)
		return fail(b, MIMEO_EINVAL, "no read callback");
	p = part_new(b, ROLE_ATTACH);
	if (!p)
		return MIMEO_ENOMEM;
	r = part_from_spec(b, p, spec, 1);
	if (!r) {
		p->kind = SRC_STREAM;
		p->read = read;
		p->rctx = ctx;
		p->disp = DISP_ATTACHMENT;
		r = push_part(b, &b->parts, &b->nparts, &b->capparts, p);
	}
	if (r) {
		part_free(b->alloc, p);
		return r;
	}
	b->has_stream = 1;
	return MIMEO_OK;
}

/* Make an attached message transport-safe (see builder.h) into `out`,
 * returning the encoding that describes the result. */
static int prepare_message(mimeo_builder *b, const void *data, size_t len, mimeo_buf *out,
			   mimeo_cte *cte)
{
	int crlf = (b->flags & MIMEO_BUILD_CRLF) != 0;
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_to7bit_options to = MIMEO_TO7BIT_OPTIONS_INIT;
	mimeo_message *m = NULL;
	mimeo_buf conv;
	mimeo__scan s;
	int r;

	r = normalize_breaks(data, len, crlf, out);
	if (r)
		return r;
	mimeo__scan_init(&s);
	mimeo__scan_step(&s, out->ptr, out->size);
	*cte = mimeo__scan_choose(&s, crlf, (b->flags & MIMEO_BUILD_8BITMIME) != 0);
	/* A leading "From " line is fine inside a message (the mbox writer
	 * of the outer message quotes it) and a "--=_" line is checked
	 * against the boundaries; only the bytes decide here. */
	if (*cte != MIMEO_CTE_7BIT && *cte != MIMEO_CTE_8BIT) {
		s.from_line = 0;
		s.delim_line = 0;
		*cte = mimeo__scan_choose(&s, crlf, (b->flags & MIMEO_BUILD_8BITMIME) != 0);
	}
	if (*cte == MIMEO_CTE_7BIT || *cte == MIMEO_CTE_8BIT)
		return MIMEO_OK;
	/* Rewrite it (RFC 2046 5.2.1 forbids encoding the message part
	 * itself): bodies become QP/base64, 8-bit headers RFC 2047. */
	mo.flags = MIMEO_MESSAGE_BORROW;
	mo.alloc = b->alloc;
	to.alloc = b->alloc;
	r = mimeo_message_parse_buffer(&m, out->ptr, out->size, &mo);
	if (r)
		return r;
	mimeo_buf_init(&conv, b->alloc);
	r = mimeo_to7bit(m, &to, mimeo__buf_writer, &conv, NULL);
	mimeo_message_free(m);
	if (!r) {
		mimeo_buf_clear(out);
		r = normalize_breaks(conv.ptr ? conv.ptr : "", conv.size, crlf, out);
	}
	mimeo_buf_dispose(&conv);
	if (r)
		return r;
	/* What to7bit had to leave alone (signed parts) decides the label. */
	mimeo__scan_init(&s);
	mimeo__scan_step(&s, out->ptr ? out->ptr : "", out->size);
	if (s.nul || (s.line > s.maxline ? s.line : s.maxline) > MIMEO__MAX_LINE)
		*cte = MIMEO_CTE_BINARY;
	else if (s.high)
		*cte = MIMEO_CTE_8BIT;
	else
		*cte = MIMEO_CTE_7BIT;
	return MIMEO_OK;
}

int mimeo_builder_add_message(mimeo_builder *b, const void *data, size_t len,
			      const char *filename, unsigned flags)
{
	mimeo_buf conv;
	mimeo_cte cte;
	bpart *p;
	int r;

	if (!b)
		return MIMEO_EINVAL;
	if ((!data && len) || (flags & ~MIMEO_BUILDER_PART_BORROW))
		return fail(b, MIMEO_EINVAL, "NULL data with a length, or unknown flags");
	p = part_new(b, ROLE_MESSAGE);
	if (!p)
		return MIMEO_ENOMEM;
	mimeo_buf_init(&conv, b->alloc);
	r = prepare_message(b, data ? data : "", len, &conv, &cte);
	if (!r && !(p->ctype = dupstr(b->alloc, "message/rfc822")))
		r = MIMEO_ENOMEM;
	if (!r && filename && !(p->filename = dup_line(b->alloc, filename, strlen(filename))))
		r = MIMEO_ENOMEM;
	if (!r) {
		p->kind = SRC_MEM;
		if ((flags & MIMEO_BUILDER_PART_BORROW) && conv.size == len &&
		    (!len || memcmp(conv.ptr, data, len) == 0)) {
			/* Nothing changed: keep pointing at the caller's copy. */
			p->data = len ? data : (const void *)"";
			p->len = len;
			mimeo_buf_dispose(&conv);
		} else {
			p->len = conv.size;
			p->owned = mimeo_buf_detach(&conv);
			p->data = p->owned ? p->owned : (const unsigned char *)"";
		}
		p->forced = cte;
		p->disp = p->filename ? DISP_ATTACHMENT : DISP_NONE;
		r = push_part(b, &b->parts, &b->nparts, &b->capparts, p);
	}
	mimeo_buf_dispose(&conv);
	if (r)
		part_free(b->alloc, p);
	return r;
}

int mimeo_builder_add_message_file(mimeo_builder *b, const char *path, const char *filename)
{
	return add_file(b, ROLE_MESSAGE, NULL, filename, path);
}

/* ------------------------------------------------------------------ */
/* reading part content                                                 */
/* ------------------------------------------------------------------ */

typedef struct src {
	bpart *p;
	int fd;
	size_t off;
	unsigned char *buf;  /* READ_CHUNK bytes for file and stream input */
	int eof;
} src;

static int src_open(src *s, bpart *p, unsigned char *buf)
{
	s->p = p;
	s->fd = -1;
	s->off = 0;
	s->buf = buf;
	s->eof = 0;
	if (p->kind == SRC_FILE) {
		s->fd = open(p->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return MIMEO_EIO;
	}
	return MIMEO_OK;
}

/* One read of at most `cap` bytes into `buf` from a file or callback. */
static int src_read(src *s, unsigned char *buf, size_t cap, size_t *got)
{
	bpart *p = s->p;
	int r;

	*got = 0;
	if (p->kind == SRC_FILE) {
		for (;;) {
			ssize_t k = read(s->fd, buf, cap);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return MIMEO_EIO;
			*got = (size_t)k;
			return MIMEO_OK;
		}
	}
	r = p->read(buf, cap, got, p->rctx);
	if (r < 0)
		return r;
	if (r > 0 || *got > cap)
		return MIMEO_EUSER;
	return MIMEO_OK;
}

/* Fill the slice buffer from a file or callback until it is full or the
 * input ends: short reads (pipes, callbacks that hand out small pieces)
 * would otherwise mean small encoder steps, each carrying a partial line
 * to the next. */
static int src_fill(src *s, size_t *len)
{
	size_t n = 0, got;
	int r;

	while (n < READ_CHUNK) {
		r = src_read(s, s->buf + n, READ_CHUNK - n, &got);
		if (r)
			return r;
		if (!got) {
			s->eof = 1;
			break;
		}
		n += got;
	}
	*len = n;
	return MIMEO_OK;
}

/* Next piece of the content in (*data, *len); *len is 0 at the end.  Memory
 * content is handed out in place (no copy). */
static int src_next(src *s, const unsigned char **data, size_t *len)
{
	bpart *p = s->p;

	*len = 0;
	*data = s->buf;
	if (s->eof)
		return MIMEO_OK;
	if (p->kind == SRC_MEM) {
		size_t k = p->len - s->off;

		/* Slices of a few READ_CHUNKs keep the loop overhead low and
		 * the encoder's output within the output buffer. */
		if (k > 4 * READ_CHUNK)
			k = 4 * READ_CHUNK;
		*data = p->data + s->off;
		*len = k;
		s->off += k;
		if (!k)
			s->eof = 1;
		return MIMEO_OK;
	}
	return src_fill(s, len);
}

static void src_close(src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Consumer of content pieces: MIMEO_OK to go on, PIECES_STOP to stop
 * early (not an error), a negative code to fail. */
typedef int (*piece_fn)(void *ctx, const unsigned char *d, size_t n);
#define PIECES_STOP 1

/* Hand the whole content of `p` to `fn`, piece by piece. */
static int src_each(bpart *p, unsigned char *buf, piece_fn fn, void *ctx)
{
	const unsigned char *d;
	size_t n;
	src s;
	int r;

	r = src_open(&s, p, buf);
	if (r)
		return r;
	for (;;) {
		r = src_next(&s, &d, &n);
		if (r || !n)
			break;
		r = fn(ctx, d, n);
		if (r)
			break;
	}
	src_close(&s);
	return r == PIECES_STOP ? MIMEO_OK : r;
}

typedef struct scan_ctx {
	mimeo__scan *sc;
	delim_match *dm;
} scan_ctx;

static int scan_piece(void *ctx, const unsigned char *d, size_t n)
{
	scan_ctx *c = ctx;

	if (c->sc)
		mimeo__scan_step(c->sc, d, n);
	if (c->dm)
		delim_step(c->dm, d, n);
	return c->dm && c->dm->found ? PIECES_STOP : MIMEO_OK;
}

/* Run the whole content of `p` through a scanner (a delimiter matcher
 * too when `dm` is not NULL; it stops at a match). */
static int scan_part(bpart *p, unsigned char *buf, mimeo__scan *sc, delim_match *dm)
{
	scan_ctx c = { sc, dm };

	return src_each(p, buf, scan_piece, &c);
}

/* ------------------------------------------------------------------ */
/* planning: encodings, structure, boundaries                           */
/* ------------------------------------------------------------------ */

static int load_piece(void *ctx, const unsigned char *d, size_t n)
{
	return mimeo_buf_put(ctx, d, n);
}

/* The whole content of `p` appended to `out`. */
static int load_part(bpart *p, unsigned char *buf, mimeo_buf *out)
{
	return src_each(p, buf, load_piece, out);
}

/* A message file (mimeo_builder_add_message_file): sent as it is, its
 * line breaks converted while it is written, when it is 7-bit (8-bit with
 * MIMEO_BUILD_8BITMIME) with lines of at most 998 octets, no NUL and no
 * lone CR (RFC 2045 sections 2.7, 2.8).  Otherwise it is loaded and made
 * transport-safe as mimeo_builder_add_message() does (mimeo_to7bit()
 * needs the parsed tree) and becomes a memory part from then on. */
static int choose_message_cte(mimeo_builder *b, bpart *p, unsigned char *buf)
{
	mimeo_buf raw, conv;
	mimeo__scan sc;
	size_t maxline;
	int r, same;

	mimeo__scan_init(&sc);
	r = scan_part(p, buf, &sc, NULL);
	if (r)
		return r;
	maxline = sc.line > sc.maxline ? sc.line : sc.maxline;
	same = !sc.nul && maxline <= MIMEO__MAX_LINE && sc.cr == sc.crlf;
	if (same && (!sc.high || (b->flags & MIMEO_BUILD_8BITMIME))) {
		p->cte = sc.high ? MIMEO_CTE_8BIT : MIMEO_CTE_7BIT;
		return MIMEO_OK;
	}
	mimeo_buf_init(&raw, b->alloc);
	mimeo_buf_init(&conv, b->alloc);
	r = load_part(p, buf, &raw);
	if (!r)
		r = prepare_message(b, raw.ptr ? raw.ptr : "", raw.size, &conv, &p->cte);
	mimeo_buf_dispose(&raw);
	if (!r) {
		p->kind = SRC_MEM;
		p->forced = p->cte;
		p->len = conv.size;
		p->owned = mimeo_buf_detach(&conv);
		p->data = p->owned ? p->owned : (const unsigned char *)"";
	}
	mimeo_buf_dispose(&conv);
	return r;
}

static int choose_cte(mimeo_builder *b, bpart *p, unsigned char *buf)
{
	mimeo__scan sc;
	int r;

	if (p->forced != MIMEO_CTE_NONE) {
		p->cte = p->forced;
		return MIMEO_OK;
	}
	if (p->role == ROLE_MESSAGE)
		return choose_message_cte(b, p, buf);
	if (!p->is_text) {
		/* Only base64 keeps arbitrary bytes and line breaks exact. */
		p->cte = MIMEO_CTE_BASE64;
		return MIMEO_OK;
	}
	if (p->kind == SRC_STREAM) {
		/* Cannot look before writing; QP is safe for any bytes. */
		p->cte = MIMEO_CTE_QP;
		return MIMEO_OK;
	}
	mimeo__scan_init(&sc);
	r = scan_part(p, buf, &sc, NULL);
	if (r)
		return r;
	p->cte = mimeo__scan_choose(&sc, (b->flags & MIMEO_BUILD_CRLF) != 0,
				    (b->flags & MIMEO_BUILD_8BITMIME) != 0);
	return MIMEO_OK;
}

static int is_identity(mimeo_cte c)
{
	return c == MIMEO_CTE_7BIT || c == MIMEO_CTE_8BIT || c == MIMEO_CTE_BINARY;
}

static bnode *node_new(mimeo_builder *b, bpart *leaf, const char *subtype)
{
	bnode *n = &b->nodes[b->nnodes++];

	memset(n, 0, sizeof(*n));
	n->leaf = leaf;
	n->subtype = subtype;
	return n;
}

static void node_add(bnode *parent, bnode *child)
{
	if (parent->last)
		parent->last->next = child;
	else
		parent->child = child;
	parent->last = child;
}

/* Whether any leaf written as is contains a delimiter line of `bd`. */
static int boundary_collides(mimeo_builder *b, const char *bd, unsigned char *buf, int *hit)
{
	size_t i, blen = strlen(bd);
	delim_match dm;
	int r;

	*hit = 0;
	for (i = 0; i < b->nnodes && !*hit; i++) {
		bpart *p = b->nodes[i].leaf;

		if (!p || !is_identity(p->cte))
			continue;
		delim_init(&dm, bd, blen);
		r = scan_part(p, buf, NULL, &dm);
		if (r)
			return r;
		*hit = dm.found;
	}
	return MIMEO_OK;
}

static int make_boundaries(mimeo_builder *b, unsigned char *buf)
{
	unsigned seq = 0;
	size_t i;
	int r, hit, tries;

	for (i = 0; i < b->nnodes; i++) {
		bnode *n = &b->nodes[i];

		if (n->leaf)
			continue;
		for (tries = 0;; tries++) {
			/* 24 random characters are 120 bits: a collision needs
			 * content that contains this very string. */
			if (tries == 32)
				return MIMEO_EIO;
			n->boundary[0] = '=';
			n->boundary[1] = '_';
			n->boundary[2] = "0123456789ABCDEF"[(seq >> 4) & 15];
			n->boundary[3] = "0123456789ABCDEF"[seq & 15];
			n->boundary[4] = '_';
			r = random_chars(n->boundary + 5, BOUNDARY_RANDOM);
			if (r)
				return r;
			n->boundary[BOUNDARY_LEN] = '\0';
			r = boundary_collides(b, n->boundary, buf, &hit);
			if (r)
				return r;
			if (!hit)
				break;
		}
		seq++;
	}
	return MIMEO_OK;
}

static int plan(mimeo_builder *b, unsigned char *buf)
{
	bnode *body = NULL, *htmln = NULL, *mixed;
	size_t i, cap;
	int r, attach_inline;

	if (b->planned)
		return MIMEO_OK;
	if (!b->text && !b->html && !b->nparts && !b->ninl && !b->empty) {
		/* A message needs a body: an empty text/plain one. */
		b->empty = part_new(b, ROLE_TEXT);
		if (!b->empty)
			return MIMEO_ENOMEM;
		b->empty->ctype = dupstr(b->alloc, "text/plain; charset=us-ascii");
		if (!b->empty->ctype)
			return MIMEO_ENOMEM;
		b->empty->data = (const unsigned char *)"";
		b->empty->is_text = 1;
	}
	cap = b->nparts + b->ninl + 6;
	mimeo__free(b->alloc, b->nodes);
	b->nnodes = 0;
	b->nodes = mimeo__calloc(b->alloc, cap, sizeof(*b->nodes));
	if (!b->nodes)
		return MIMEO_ENOMEM;

	if (b->html) {
		htmln = node_new(b, b->html, NULL);
		if (b->ninl) {
			bnode *rel = node_new(b, NULL, "related");

			node_add(rel, htmln);
			for (i = 0; i < b->ninl; i++)
				node_add(rel, node_new(b, b->inl[i], NULL));
			htmln = rel;
		}
	}
	if (b->text && htmln) {
		body = node_new(b, NULL, "alternative");
		node_add(body, node_new(b, b->text, NULL));
		node_add(body, htmln);
	} else if (b->text) {
		body = node_new(b, b->text, NULL);
	} else if (htmln) {
		body = htmln;
	} else if (b->empty && !b->nparts && !b->ninl) {
		body = node_new(b, b->empty, NULL);
	}
	attach_inline = !b->html && b->ninl;
	/* Without an HTML body nothing refers to the inline parts: they are
	 * ordinary attachments then. */
	for (i = 0; i < b->ninl; i++)
		b->inl[i]->disp = attach_inline ? DISP_ATTACHMENT : DISP_INLINE;
	if (b->nparts || attach_inline) {
		mixed = node_new(b, NULL, "mixed");
		if (body)
			node_add(mixed, body);
		if (attach_inline)
			for (i = 0; i < b->ninl; i++)
				node_add(mixed, node_new(b, b->inl[i], NULL));
		for (i = 0; i < b->nparts; i++)
			node_add(mixed, node_new(b, b->parts[i], NULL));
		b->top = mixed;
	} else {
		b->top = body;
	}

	for (i = 0; i < b->nnodes; i++) {
		if (b->nodes[i].leaf) {
			r = choose_cte(b, b->nodes[i].leaf, buf);
			if (r)
				return r;
		}
	}
	r = make_boundaries(b, buf);
	if (r)
		return r;
	b->planned = 1;
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* writing                                                              */
/* ------------------------------------------------------------------ */

typedef struct wctx {
	mimeo_builder *b;
	mimeo__out o;
	mimeo_buf h;            /* header block being built */
	unsigned char *rbuf;    /* READ_CHUNK */
	const char *nl;
	unsigned hflags;        /* MIMEO_HEADER_FOLD_CRLF or 0 */
} wctx;

static int hput(wctx *w, const char *s)
{
	return mimeo_buf_puts(&w->h, s);
}

static int hfold(wctx *w)
{
	return hput(w, w->nl) || hput(w, " ") ? MIMEO_ENOMEM : MIMEO_OK;
}

/* One mailbox at the current position: display name then <addr-spec>. */
static int put_mailbox(wctx *w, const baddr *ad)
{
	size_t col, speclen = strlen(ad->spec);

	if (!ad->name)
		return hput(w, ad->spec);
	if (mimeo_header_encode_phrase(ad->name, strlen(ad->name), mimeo__buf_col(&w->h), w->hflags, &w->h))
		return MIMEO_ENOMEM;
	col = mimeo__buf_col(&w->h);
	if (col + 2 + speclen + 1 > MIMEO__FOLD_COLUMN && col > 1) {
		if (hfold(w))
			return MIMEO_ENOMEM;
	} else if (hput(w, " ")) {
		return MIMEO_ENOMEM;
	}
	if (hput(w, "<") || hput(w, ad->spec) || hput(w, ">"))
		return MIMEO_ENOMEM;
	return MIMEO_OK;
}

/* "Name: a, b, c" folded before a mailbox that would pass column 78. */
static int put_address_field(wctx *w, const char *name, const baddr_list *l)
{
	size_t i;

	if (!l->n)
		return MIMEO_OK;
	if (hput(w, name) || hput(w, ": "))
		return MIMEO_ENOMEM;
	for (i = 0; i < l->n; i++) {
		size_t mark, col;

		if (i && hput(w, ","))
			return MIMEO_ENOMEM;
		mark = w->h.size;
		col = mimeo__buf_col(&w->h);
		if (i && hput(w, " "))
			return MIMEO_ENOMEM;
		if (put_mailbox(w, &l->v[i]))
			return MIMEO_ENOMEM;
		/* Fold before a mailbox rather than inside its display name
		 * when that keeps the name on one line. */
		if (i && (mimeo__widest_since(&w->h, mark, col) > MIMEO__FOLD_COLUMN ||
			  memchr(w->h.ptr + mark, '\n', w->h.size - mark))) {
			mimeo__buf_trunc(&w->h, mark);
			if (hfold(w) || put_mailbox(w, &l->v[i]))
				return MIMEO_ENOMEM;
		}
	}
	return hput(w, w->nl);
}

/* "; " + a parameter from mimeo_param_encode, on a new line when it does
 * not fit on the current one. */
static int put_param(wctx *w, const char *name, const char *value)
{
	size_t mark, col;

	if (hput(w, ";"))
		return MIMEO_ENOMEM;
	mark = w->h.size;
	col = mimeo__buf_col(&w->h);
	if (hput(w, " ") ||
	    mimeo_param_encode(name, value, strlen(value), col + 1, w->hflags, &w->h))
		return MIMEO_ENOMEM;
	if (mimeo__widest_since(&w->h, mark, col) > MIMEO__FOLD_COLUMN && col > 1) {
		mimeo__buf_trunc(&w->h, mark);
		if (hfold(w) || mimeo_param_encode(name, value, strlen(value), 1, w->hflags, &w->h))
			return MIMEO_ENOMEM;
	}
	return MIMEO_OK;
}

/* "; " + literal text, folded before it when it does not fit. */
static int put_raw_param(wctx *w, const char *a, const char *bq)
{
	size_t len = strlen(a) + strlen(bq);

	if (hput(w, ";"))
		return MIMEO_ENOMEM;
	if (mimeo__buf_col(&w->h) + 1 + len > MIMEO__FOLD_COLUMN ? hfold(w) : hput(w, " "))
		return MIMEO_ENOMEM;
	return hput(w, a) || hput(w, bq) ? MIMEO_ENOMEM : MIMEO_OK;
}

/* The Content-Type `name` parameter in the RFC 2047 form old clients
 * read (RFC 2231 is used in Content-Disposition): a quoted string that
 * is either the plain ASCII name or UTF-8 "B" encoded words, each at most
 * 75 characters (RFC 2047 section 2), with folds between them. */
static int put_name_param(wctx *w, const char *fn)
{
	size_t len = strlen(fn), i, ascii = 1;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)fn[i];

		if (c < 32 || c >= 127)
			ascii = 0;
	}
	if (len >= 2 && strstr(fn, "=?"))
		ascii = 0;
	if (ascii && len <= 60) {
		if (hput(w, ";") ||
		    (mimeo__buf_col(&w->h) + len + 9 > MIMEO__FOLD_COLUMN ? hfold(w) : hput(w, " ")) ||
		    hput(w, "name=\""))
			return MIMEO_ENOMEM;
		for (i = 0; i < len; i++) {
			if ((fn[i] == '"' || fn[i] == '\\') && mimeo_buf_put(&w->h, "\\", 1))
				return MIMEO_ENOMEM;
			if (mimeo_buf_put(&w->h, fn + i, 1))
				return MIMEO_ENOMEM;
		}
		return hput(w, "\"");
	}
	if (hput(w, ";") || hfold(w) || hput(w, "name=\""))
		return MIMEO_ENOMEM;
	i = 0;
	while (i < len) {
		/* 42 bytes make 56 base64 characters: with "=?utf-8?B?" and
		 * "?=" a word of 68, which fits after ' name="' within 78
		 * columns.  Never split a UTF-8 sequence. */
		size_t k = len - i < 42 ? len - i : 42;
		char enc[MIMEO_B64_ENCODE_BOUND(42) + MIMEO_B64_ENCODE_FINISH_MAX];
		mimeo_b64_encoder e;
		size_t n;

		while (i + k < len && k > 1 && ((unsigned char)fn[i + k] & 0xC0) == 0x80)
			k--;
		mimeo_b64_encoder_init(&e, MIMEO_B64_NOWRAP, MIMEO_ISA_AUTO);
		n = mimeo_b64_encode_step(&e, fn + i, k, enc);
		n += mimeo_b64_encode_finish(&e, enc + n);
		if (i && hfold(w))
			return MIMEO_ENOMEM;
		if (hput(w, "=?utf-8?B?") || mimeo_buf_put(&w->h, enc, n) || hput(w, "?="))
			return MIMEO_ENOMEM;
		i += k;
	}
	return hput(w, "\"");
}

static int put_text_field(wctx *w, const char *name, const char *value)
{
	if (hput(w, name) || hput(w, ": ") ||
	    mimeo_header_encode_text(value, strlen(value), strlen(name) + 2, w->hflags, &w->h) ||
	    hput(w, w->nl))
		return MIMEO_ENOMEM;
	return MIMEO_OK;
}

/* A raw caller value: its folds get our line breaks. */
static int put_raw_field(wctx *w, const char *name, const char *v)
{
	if (hput(w, name) || hput(w, ": "))
		return MIMEO_ENOMEM;
	for (; *v; v++) {
		if (*v == '\r')
			continue;
		if (*v == '\n' ? hput(w, w->nl) : mimeo_buf_put(&w->h, v, 1))
			return MIMEO_ENOMEM;
	}
	return hput(w, w->nl);
}

/* "Name: <a@b> <c@d>", folded before an id that would pass column 78. */
static int put_id_field(wctx *w, const char *name, const mimeo_buf *ids)
{
	size_t i = 0;

	if (!ids->size)
		return MIMEO_OK;
	if (hput(w, name) || hput(w, ":"))
		return MIMEO_ENOMEM;
	while (i < ids->size) {
		const char *end = memchr(ids->ptr + i, ' ', ids->size - i);
		size_t len = end ? (size_t)(end - (ids->ptr + i)) : ids->size - i;

		if (mimeo__buf_col(&w->h) + 1 + len > MIMEO__FOLD_COLUMN && i > 0 && hput(w, w->nl))
			return MIMEO_ENOMEM;
		if (hput(w, " ") || mimeo_buf_put(&w->h, ids->ptr + i, len))
			return MIMEO_ENOMEM;
		i += len + 1;
	}
	return hput(w, w->nl);
}

static int put_message_fields(wctx *w)
{
	mimeo_builder *b = w->b;
	static const char *const names[NFIELDS] = { "From", "To", "Cc", "Bcc", "Reply-To",
						    "Sender" };
	static const int order[] = { MIMEO_FIELD_FROM, MIMEO_FIELD_SENDER, MIMEO_FIELD_REPLY_TO,
				     MIMEO_FIELD_TO, MIMEO_FIELD_CC, MIMEO_FIELD_BCC };
	const char *id;
	size_t i;

	if (hput(w, "Date: ") || mimeo_date_format(b->date, b->date_off, &w->h) ||
	    hput(w, w->nl))
		return MIMEO_ENOMEM;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i] == MIMEO_FIELD_BCC && !(b->flags & MIMEO_BUILD_WRITE_BCC))
			continue;
		if (put_address_field(w, names[order[i]], &b->addrs[order[i]]))
			return MIMEO_ENOMEM;
	}
	if (b->subject && put_text_field(w, "Subject", b->subject))
		return MIMEO_ENOMEM;
	id = mimeo_builder_message_id(b);
	if (!id || hput(w, "Message-ID: <") || hput(w, id) || hput(w, ">") || hput(w, w->nl))
		return MIMEO_ENOMEM;
	if (put_id_field(w, "In-Reply-To", &b->in_reply_to) ||
	    put_id_field(w, "References", &b->references))
		return MIMEO_ENOMEM;
	for (i = 0; i < b->nhdrs; i++) {
		const bheader *x = &b->hdrs[i];
		int r = (x->flags & MIMEO_HEADER_RAW) ? put_raw_field(w, x->name, x->value)
						      : put_text_field(w, x->name, x->value);
		if (r)
			return MIMEO_ENOMEM;
	}
	if (hput(w, "MIME-Version: 1.0") || hput(w, w->nl))
		return MIMEO_ENOMEM;
	return MIMEO_OK;
}

static int put_entity_fields(wctx *w, const bnode *n)
{
	const bpart *p = n->leaf;

	if (!p) {
		if (hput(w, "Content-Type: multipart/") || hput(w, n->subtype))
			return MIMEO_ENOMEM;
		/* RFC 2387 section 3.1: related needs the root's type. */
		if (strcmp(n->subtype, "related") == 0 && put_raw_param(w, "type=", "\"text/html\""))
			return MIMEO_ENOMEM;
		if (put_raw_param(w, "boundary=\"", n->boundary) || hput(w, "\"") ||
		    hput(w, w->nl))
			return MIMEO_ENOMEM;
		return MIMEO_OK;
	}
	if (hput(w, "Content-Type: ") || hput(w, p->ctype))
		return MIMEO_ENOMEM;
	if (p->filename && p->role != ROLE_MESSAGE && put_name_param(w, p->filename))
		return MIMEO_ENOMEM;
	if (hput(w, w->nl))
		return MIMEO_ENOMEM;
	if (hput(w, "Content-Transfer-Encoding: ") || hput(w, mimeo_cte_name(p->cte)) ||
	    hput(w, w->nl))
		return MIMEO_ENOMEM;
	if (p->cid && (hput(w, "Content-ID: <") || hput(w, p->cid) || hput(w, ">") ||
		       hput(w, w->nl)))
		return MIMEO_ENOMEM;
	if (p->desc && put_text_field(w, "Content-Description", p->desc))
		return MIMEO_ENOMEM;
	if (p->disp != DISP_NONE || p->filename) {
		if (hput(w, "Content-Disposition: ") ||
		    hput(w, p->disp == DISP_INLINE ? "inline" : "attachment"))
			return MIMEO_ENOMEM;
		if (p->filename && put_param(w, "filename", p->filename))
			return MIMEO_ENOMEM;
		if (hput(w, w->nl))
			return MIMEO_ENOMEM;
	}
	return MIMEO_OK;
}

static int put_str(wctx *w, const char *s)
{
	return mimeo__out_put(&w->o, s, strlen(s));
}

/* Copy `d` with its line breaks (LF or CRLF) made the output's, as
 * normalize_breaks() does, across slices: *cr is set when the slice ended
 * in a CR not yet written (a lone CR is kept). */
static int put_breaks(wctx *w, const unsigned char *d, size_t n, int *cr)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (*cr) {
			*cr = 0;
			if (d[i] == '\n') {
				if (put_str(w, w->nl))
					return w->o.err;
				run = i + 1;
				continue;
			}
			if (mimeo__out_put(&w->o, "\r", 1))
				return w->o.err;
		}
		if (d[i] != '\r' && d[i] != '\n')
			continue;
		if (mimeo__out_put(&w->o, d + run, i - run) ||
		    (d[i] == '\n' && put_str(w, w->nl)))
			return w->o.err;
		*cr = d[i] == '\r';
		run = i + 1;
	}
	return mimeo__out_put(&w->o, d + run, n - run);
}

typedef struct emit_ctx {
	wctx *w;
	mimeo__enc e;
	int breaks;             /* a message file: sent as it is, put_breaks() */
	int cr;
} emit_ctx;

static int emit_piece(void *ctx, const unsigned char *d, size_t n)
{
	emit_ctx *c = ctx;

	return c->breaks ? put_breaks(c->w, d, n, &c->cr) : mimeo__enc_step(&c->e, &c->w->o, d, n);
}

static int emit_leaf(wctx *w, bpart *p)
{
	emit_ctx c;
	int r;

	c.w = w;
	c.breaks = p->role == ROLE_MESSAGE && p->kind == SRC_FILE;
	c.cr = 0;
	mimeo__enc_init(&c.e, p->cte, (w->b->flags & MIMEO_BUILD_CRLF) != 0,
			p->is_text || p->role == ROLE_MESSAGE);
	r = src_each(p, w->rbuf, emit_piece, &c);
	if (!r && c.cr)
		r = mimeo__out_put(&w->o, "\r", 1);
	if (!r)
		r = mimeo__enc_finish(&c.e, &w->o);
	return r;
}

static int write_entity(wctx *w, bnode *n, int top)
{
	bnode *c;
	int r;

	mimeo_buf_clear(&w->h);
	if (top && put_message_fields(w))
		return MIMEO_ENOMEM;
	if (put_entity_fields(w, n) || hput(w, w->nl))
		return MIMEO_ENOMEM;
	r = mimeo__out_put(&w->o, w->h.ptr, w->h.size);
	if (r)
		return r;
	if (n->leaf)
		return emit_leaf(w, n->leaf);
	/* RFC 2046 section 5.1.1: no preamble; the line break before each
	 * delimiter belongs to the delimiter. */
	for (c = n->child; c; c = c->next) {
		if ((c != n->child && put_str(w, w->nl)) || put_str(w, "--") ||
		    put_str(w, n->boundary) || put_str(w, w->nl))
			return w->o.err;
		r = write_entity(w, c, 0);
		if (r)
			return r;
	}
	if (put_str(w, w->nl) || put_str(w, "--") || put_str(w, n->boundary) ||
	    put_str(w, "--"))
		return w->o.err;
	if (top)
		return put_str(w, w->nl);
	return MIMEO_OK;
}

static int local_offset_minutes(time_t t)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

/* mimeo_builder_write() with an output buffer of `cap` bytes. */
static int write_with(mimeo_builder *b, mimeo_write_fn write, void *ctx, size_t cap)
{
	wctx w;
	int r;

	if (!b)
		return MIMEO_EINVAL;
	if (!write)
		return fail(b, MIMEO_EINVAL, "no write callback");
	if (!b->addrs[MIMEO_FIELD_FROM].n)
		return fail(b, MIMEO_EINVAL, "no From address (RFC 5322 3.6 requires one)");
	if (b->stream_used)
		return fail(b, MIMEO_EINVAL, "an attachment from a read callback was already "
					     "consumed by an earlier write");
	memset(&w, 0, sizeof(w));
	w.b = b;
	w.nl = (b->flags & MIMEO_BUILD_CRLF) ? "\r\n" : "\n";
	w.hflags = (b->flags & MIMEO_BUILD_CRLF) ? MIMEO_HEADER_FOLD_CRLF : 0;
	mimeo_buf_init(&w.h, b->alloc);
	w.rbuf = mimeo__malloc(b->alloc, READ_CHUNK);
	if (!w.rbuf)
		return MIMEO_ENOMEM;
	r = mimeo__out_init(&w.o, b->alloc, cap, write, ctx);
	if (!r && !b->has_date) {
		time_t now = time(NULL);

		b->date = (int64_t)now;
		b->date_off = local_offset_minutes(now);
		b->has_date = 1;
	}
	if (!r && !mimeo_builder_message_id(b))
		r = MIMEO_ENOMEM;
	if (!r)
		r = plan(b, w.rbuf);
	if (!r) {
		if (b->has_stream)
			b->stream_used = 1;
		r = write_entity(&w, b->top, 1);
	}
	if (!r)
		r = mimeo__out_flush(&w.o);
	mimeo__out_dispose(&w.o, b->alloc);
	mimeo_buf_dispose(&w.h);
	mimeo__free(b->alloc, w.rbuf);
	return r;
}

int mimeo_builder_write(mimeo_builder *b, mimeo_write_fn write, void *ctx)
{
	return write_with(b, write, ctx, OUT_CAP);
}

static int file_writer(const void *data, size_t len, void *ctx)
{
	return fwrite(data, 1, len, ctx) == len ? MIMEO_OK : MIMEO_EIO;
}

int mimeo_builder_write_file(mimeo_builder *b, FILE *f)
{
	if (!f)
		return MIMEO_EINVAL;
	return write_with(b, file_writer, f, FILE_OUT_CAP);
}

static int builder_write_buf_body(mimeo_builder *b, mimeo_buf *out)
{
	if (!out)
		return MIMEO_EINVAL;
	return mimeo_builder_write(b, mimeo__buf_writer, out);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_builder_write_buf(mimeo_builder *b, mimeo_buf *out)
{
	int rc = builder_write_buf_body(b, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}
