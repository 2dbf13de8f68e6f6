/*
 * imap.c - IMAP BODYSTRUCTURE and ENVELOPE (RFC 3501 7.4.2) of a message
 * tree; see mimeo/imap.h for the contract and docs/imap.md for the
 * readings of malformed fields.
 *
 * The tree gives the structure and the byte ranges; the field values are
 * lexed here from the raw header fields with RFC 822 rules (comments and
 * folding skipped), because a server reports what was written: case kept,
 * encoded words and RFC 2231 values not decoded.  Nothing here allocates
 * more than the output and one scratch buffer per call (plus the decoded
 * body of a transfer-encoded message/rfc822, whose parts are counted in
 * that decoded stream).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"
#include "mimeo/imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ctx;

/* Bytes the sizes and line counts are taken from: the message source, or
 * the decoded body of a transfer-encoded message/rfc822 part (the parser
 * counts offsets of the parts inside it in that stream).  A source that is
 * not in memory (a file parsed in place, a spool that went to disk) is
 * read through sp_pin() and sp_peek() as needed: header blocks are kept
 * for the call, bodies are only streamed through (sizes, line counts), so
 * a call never holds a copy of the whole message. */
typedef struct span {
	const char *data;       /* the bytes, or NULL: read from m's source */
	size_t len;
	const mimeo_message *m; /* with data NULL */
	struct ctx *c;          /* where copies are kept and failures go */
} span;

/* A copy of source bytes [off, off + len) kept until the call ends. */
typedef struct pin {
	uint64_t off;
	size_t len;
	char *data;
} pin;

/* Bytes read from a source at a time when streaming through a body. */
#define PEEK_CHUNK ((size_t)64 << 10)

typedef struct ctx {
	mimeo_buf *out;
	const mimeo_allocator *alloc;
	mimeo_buf tmp;      /* scratch: unfolded values, parameter lists */
	mimeo_buf human;    /* scratch of put_human (its input may be in tmp) */
	int err;            /* first failure, sticky */
	/* a source not in memory (span.data NULL): */
	pin *pins;          /* header blocks read (their fields point in) */
	size_t npins, cappins;
	char *win;          /* the window sp_peek() read last */
	size_t wincap, winlen;
	uint64_t winoff;
	const mimeo_message *winsrc;
} ctx;

/* ------------------------------------------------------------------ */
/* Reading the source                                                  */
/* ------------------------------------------------------------------ */

/* Bytes [a, b) of s (b within s->len), valid until the next sp_peek():
 * for what is looked at once (body bytes counted, a line compared).  A
 * window of at least PEEK_CHUNK bytes (less at the end) is read, so
 * looking at nearby bytes one after the other reads the source once. */
static const char *sp_peek(const span *s, uint64_t a, uint64_t b)
{
	ctx *c = s->c;
	size_t n;

	if (s->data)
		return s->data + a;
	if (c->err)
		return NULL;
	if (c->winsrc == s->m && c->winoff <= a && b <= c->winoff + c->winlen)
		return c->win + (a - c->winoff);
	n = (size_t)(b - a);
	if (n < PEEK_CHUNK)
		n = s->len - a < PEEK_CHUNK ? (size_t)(s->len - a) : PEEK_CHUNK;
	if (n > c->wincap) {
		char *w = mimeo__realloc(c->alloc, c->win, n);

		if (!w) {
			c->err = MIMEO_ENOMEM;
			return NULL;
		}
		c->win = w;
		c->wincap = n;
	}
	c->winsrc = NULL;
	if (n && mimeo_message_read_source(s->m, a, c->win, n) != MIMEO_OK) {
		c->err = MIMEO_EIO;
		return NULL;
	}
	c->winsrc = s->m;
	c->winoff = a;
	c->winlen = n;
	return c->win;
}

/* Bytes [a, b) of s (b within s->len), kept until the call ends: for
 * what is pointed into later (field names and values).  NULL (with
 * c->err set) when they cannot be read. */
static const char *sp_pin(const span *s, uint64_t a, uint64_t b)
{
	ctx *c = s->c;
	size_t i, n;
	pin *p;

	if (s->data)
		return s->data + a;
	if (c->err)
		return NULL;
	/* the block asked for is usually inside one of the last read
	 * (next_field walks through a block it read whole) */
	for (i = c->npins; i-- > 0 && i + 8 >= c->npins;)
		if (c->pins[i].off <= a && b <= c->pins[i].off + c->pins[i].len)
			return c->pins[i].data + (a - c->pins[i].off);
	n = (size_t)(b - a);
	if (mimeo__array_reserve(c->alloc, (void **)&c->pins, &c->cappins, c->npins,
				 sizeof(*c->pins), 8)) {
		c->err = MIMEO_ENOMEM;
		return NULL;
	}
	p = &c->pins[c->npins];
	p->data = mimeo__malloc(c->alloc, n ? n : 1);
	if (!p->data) {
		c->err = MIMEO_ENOMEM;
		return NULL;
	}
	if (n) {
		/* through the window: the headers of small parts one after
		 * the other cost one read, not one each */
		const char *w = sp_peek(s, a, b);

		if (!w) {
			mimeo__free(c->alloc, p->data);
			return NULL;
		}
		memcpy(p->data, w, n);
	}
	p->off = a;
	p->len = n;
	c->npins++;
	return p->data;
}

/* The byte at `off` of s, or -1 past its end (or when unreadable). */
static int sp_byte(const span *s, uint64_t off)
{
	const char *p;

	if (off >= s->len)
		return -1;
	p = sp_peek(s, off, off + 1);
	return p ? (unsigned char)*p : -1;
}

/* The line at `pos` (before `end`) without its LF: its length in *n,
 * whether an LF ended it in *nl.  Valid until the next sp_peek(). */
static const char *sp_line(const span *s, uint64_t pos, uint64_t end, size_t *n, int *nl)
{
	uint64_t want = end - pos < PEEK_CHUNK ? end - pos : PEEK_CHUNK;

	for (;;) {
		const char *l = sp_peek(s, pos, pos + want), *e;

		if (!l)
			return NULL;
		e = memchr(l, '\n', (size_t)want);
		if (e || pos + want >= end) {
			*n = e ? (size_t)(e - l) : (size_t)want;
			*nl = e != NULL;
			return l;
		}
		/* a line longer than the window: read more of it at once */
		want = end - pos < want * 2 ? end - pos : want * 2;
	}
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void put(ctx *c, const void *s, size_t n)
{
	if (!c->err && n && mimeo_buf_put(c->out, s, n) != MIMEO_OK)
		c->err = MIMEO_ENOMEM;
}

static void puts_(ctx *c, const char *s)
{
	put(c, s, strlen(s));
}

static void put_u64(ctx *c, uint64_t v)
{
	char b[24];
	size_t i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(c, b + i, sizeof(b) - i);
}

/* RFC 3501 4.3/9: a quoted string holds no CR, LF, NUL or 8-bit byte;
 * such a string goes out as a literal.  NUL cannot be in a literal either
 * (only in literal8), so it is sent as 0x80, as servers do. */
static void put_string(ctx *c, const char *s, size_t n)
{
	size_t i;
	int literal = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r' || ch == '\n' || ch == 0 || ch >= 0x80) {
			literal = 1;
			break;
		}
	}
	if (literal) {
		put(c, "{", 1);
		put_u64(c, n);
		put(c, "}\r\n", 3);
		for (i = 0; i < n; i++) {
			size_t run = i;

			while (run < n && s[run])
				run++;
			put(c, s + i, run - i);
			if (run < n)
				put(c, "\x80", 1);
			i = run;
		}
		return;
	}
	put(c, "\"", 1);
	for (i = 0; i < n; i++) {
		size_t run = i;

		while (run < n && s[run] != '"' && s[run] != '\\')
			run++;
		put(c, s + i, run - i);
		if (run < n) {
			put(c, "\\", 1);
			put(c, s + run, 1);
		}
		i = run;
	}
	put(c, "\"", 1);
}

/* A subject or display name for humans: line breaks removed, runs of
 * spaces and tabs made one space, none at either end. */
static void put_human(ctx *c, const char *s, size_t n)
{
	size_t i;
	int space = 0, any = 0;

	mimeo_buf_clear(&c->human);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == ' ' || ch == '\t') {
			space = 1;
			continue;
		}
		if (space && any && mimeo_buf_put(&c->human, " ", 1) != MIMEO_OK)
			goto nomem;
		space = 0;
		any = 1;
		if (mimeo_buf_put(&c->human, s + i, 1) != MIMEO_OK)
			goto nomem;
	}
	put_string(c, c->human.ptr ? c->human.ptr : "", c->human.size);
	return;
nomem:
	c->err = MIMEO_ENOMEM;
}

/* ------------------------------------------------------------------ */
/* RFC 822 lexing of raw field values                                  */
/* ------------------------------------------------------------------ */

typedef struct lex {
	const unsigned char *p, *end;
	/* text of the last comment skipped (for "addr (Name)"), or NULL */
	const unsigned char *comment;
	size_t comment_len;
	int comment_escaped;  /* it held a quoted-pair: take it raw anyway */
} lex;

static void lex_init(lex *l, const char *s, size_t n)
{
	l->p = (const unsigned char *)s;
	l->end = l->p + n;
	l->comment = NULL;
	l->comment_len = 0;
	l->comment_escaped = 0;
}

static int at_end(const lex *l)
{
	return l->p >= l->end;
}

/* Skip a comment at l->p (which is '('), nested, with quoted-pairs.
 * @return 0, or -1 when it is not closed. */
static int skip_comment(lex *l)
{
	int level = 1;
	const unsigned char *start = ++l->p;

	/* the name is the text of the LAST comment: one left open drops
	 * an earlier closed one ("a@b (Name) (by way of ..." without its
	 * ")" has no name for a server) */
	l->comment = NULL;
	l->comment_len = 0;
	l->comment_escaped = 0;
	for (; l->p < l->end; l->p++) {
		if (*l->p == '(') {
			level++;
		} else if (*l->p == ')') {
			if (--level == 0) {
				l->comment = start;
				l->comment_len = (size_t)(l->p - start);
				l->p++;
				return 0;
			}
		} else if (*l->p == '\\') {
			l->comment_escaped = 1;
			if (++l->p >= l->end)
				return -1;
		}
	}
	return -1;
}

/* CFWS: whitespace, line breaks and comments.  @return 1 when more input
 * follows, 0 at the end, -1 on an unclosed comment. */
static int skip_cfws(lex *l)
{
	while (l->p < l->end) {
		unsigned char ch = *l->p;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			l->p++;
		} else if (ch == '(') {
			if (skip_comment(l) < 0)
				return -1;
		} else {
			return 1;
		}
	}
	return 0;
}

/* RFC 5322 atext (8-bit bytes count as atext, as servers read them). */
static int is_atext(unsigned char ch)
{
	if (ch >= 0x80)
		return 1;
	if (ch <= ' ' || ch == 0x7f)
		return 0;
	return !strchr("()<>[]:;@\\,.\"", ch);
}

/* RFC 2045 token: atext without "/", "=", "?", plus ".". */
static int is_token(unsigned char ch)
{
	if (ch == '.')
		return 1;
	if (ch == '/' || ch == '=' || ch == '?')
		return 0;
	return is_atext(ch);
}

/* A token at l->p, then CFWS.  Empty tokens are fine (the caller
 * decides).  @return as skip_cfws. */
static int lex_token(lex *l, const char **s, size_t *n)
{
	const unsigned char *start = l->p;

	while (l->p < l->end && is_token(*l->p))
		l->p++;
	*s = (const char *)start;
	*n = (size_t)(l->p - start);
	return skip_cfws(l);
}

/* A quoted string at l->p (which is '"') appended unquoted to `b`:
 * quoted-pairs lose their backslash, folding loses its line break.
 * @return as skip_cfws after it, -1 when it is not closed. */
static int lex_quoted(lex *l, mimeo_buf *b, int *err)
{
	const unsigned char *start = ++l->p;

	for (; l->p < l->end; l->p++) {
		if (*l->p == '"') {
			if (mimeo_buf_put(b, start, (size_t)(l->p - start)) != MIMEO_OK)
				*err = MIMEO_ENOMEM;
			l->p++;
			return skip_cfws(l);
		}
		if (*l->p == '\n') {
			size_t n = (size_t)(l->p - start);

			if (n && start[n - 1] == '\r')
				n--;
			if (mimeo_buf_put(b, start, n) != MIMEO_OK)
				*err = MIMEO_ENOMEM;
			start = l->p + 1;
		} else if (*l->p == '\\') {
			if (mimeo_buf_put(b, start, (size_t)(l->p - start)) != MIMEO_OK)
				*err = MIMEO_ENOMEM;
			if (++l->p >= l->end)
				return -1;
			start = l->p;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Header fields                                                       */
/* ------------------------------------------------------------------ */

/* The value as a server unfolds it into tmp: leading whitespace of the
 * first line dropped, every line break removed (continuation lines keep
 * their own leading whitespace).  Returns its offset in c->tmp. */
static size_t unfold(ctx *c, const char *v, size_t n, size_t *len)
{
	size_t i = 0, start = c->tmp.size;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	while (i < n) {
		size_t run = i;

		while (run < n && v[run] != '\r' && v[run] != '\n')
			run++;
		if (mimeo_buf_put(&c->tmp, v + i, run - i) != MIMEO_OK) {
			c->err = MIMEO_ENOMEM;
			break;
		}
		if (run < n && v[run] == '\r' && !(run + 1 < n && v[run + 1] == '\n')) {
			/* bare CRs: a run of them is read as a line break a
			 * server unfolds, so it goes; one space stands for it
			 * where no whitespace follows (Dovecot: "a\r\rb" and
			 * "a\r b" are "a b", "a\r" is "a") */
			size_t j = run;

			while (j < n && v[j] == '\r' && !(j + 1 < n && v[j + 1] == '\n'))
				j++;
			if (j < n && v[j] != ' ' && v[j] != '\t' && v[j] != '\r' && v[j] != '\n' &&
			    mimeo_buf_put(&c->tmp, " ", 1) != MIMEO_OK) {
				c->err = MIMEO_ENOMEM;
				break;
			}
			i = j;
			continue;
		}
		i = run + 1;
	}
	if (!c->tmp.ptr && mimeo_buf_grow(&c->tmp, 1) != MIMEO_OK)
		c->err = MIMEO_ENOMEM;
	*len = c->tmp.size - start;
	return start;
}

/* One header field as a server reads it from the source. */
typedef struct hfield {
	const char *name, *value;
	size_t name_len, value_len;
} hfield;

/* The next field of the header block [*pos, stop): a line "name: value"
 * and the continuation lines after it.  Lines without a colon are read
 * over (servers keep reading the header after them, RFC 5322 has no such
 * line); an empty line ends the block.  @return 1 with *f filled, 0 at
 * the end. */
static int next_field(const span *src, uint64_t *pos, uint64_t stop, hfield *f)
{
	if (stop > src->len)
		stop = src->len;
	while (*pos < stop) {
		/* the rest of the block, kept: the field points into it */
		const char *line = sp_pin(src, *pos, stop), *end, *nl, *colon, *v_end, *q;
		size_t n;

		if (!line)
			return 0;
		end = line + (stop - *pos);
		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (n == 0 || (n == 1 && line[0] == '\r'))
			return 0;
		q = nl ? nl + 1 : end;
		if (line[0] == ' ' || line[0] == '\t' || !(colon = memchr(line, ':', n))) {
			/* a continuation without a field, a line without a colon */
			*pos += (uint64_t)(q - line);
			continue;
		}
		f->name = line;
		f->name_len = (size_t)(colon - line);
		while (f->name_len && (line[f->name_len - 1] == ' ' || line[f->name_len - 1] == '\t'))
			f->name_len--;
		f->value = colon + 1;
		v_end = line + n;
		/* continuation lines */
		while (q < end && (*q == ' ' || *q == '\t')) {
			const char *cnl = memchr(q, '\n', (size_t)(end - q));

			v_end = cnl ? cnl : end;
			q = cnl ? cnl + 1 : end;
		}
		*pos += (uint64_t)(q - line);
		if (v_end > f->value && v_end[-1] == '\r')
			v_end--;
		f->value_len = (size_t)(v_end - f->value);
		return 1;
	}
	return 0;
}

static int fname_is(const hfield *f, const char *want)
{
	size_t w = strlen(want);

	return f->name_len == w && strncasecmp(f->name, want, w) == 0;
}

static uint64_t body_start(const mimeo_part *p, const span *src);

/* Raw values of the fields of one entity that BODYSTRUCTURE uses. */
typedef struct fields {
	const char *type, *cte, *id, *desc, *md5, *lang, *loc, *disp;
	size_t type_len, cte_len, id_len, desc_len, md5_len, lang_len, loc_len, disp_len;
	int mime;   /* MIME-Version or Content-Type seen */
} fields;

/* Whether the first Content-Disposition has parameters: a later one
 * replaces one without (what Dovecot does). */
static int disp_has_params(const char *v, size_t n)
{
	return memchr(v, ';', n) != NULL;
}

static void collect(const mimeo_part *p, const span *src, fields *f)
{
	uint64_t pos, stop = body_start(p, src);
	hfield h;

	memset(f, 0, sizeof(*f));
	mimeo_part_offsets(p, &pos, NULL, NULL);
	while (next_field(src, &pos, stop, &h)) {
		const char *v = h.value;
		size_t len = h.value_len;

		if (fname_is(&h, "MIME-Version")) {
			f->mime = 1;
			continue;
		}
		if (h.name_len < 8 || strncasecmp(h.name, "Content-", 8) != 0)
			continue;
		if (fname_is(&h, "Content-Type")) {
			f->mime = 1;
			if (!f->type) {
				f->type = v;
				f->type_len = len;
			}
		}
#define FIRST(hname, field)                                              \
		else if (fname_is(&h, hname)) {                          \
			if (!f->field) {                                 \
				f->field = v;                            \
				f->field##_len = len;                    \
			}                                                \
		}
		FIRST("Content-Transfer-Encoding", cte)
		FIRST("Content-ID", id)
		FIRST("Content-Description", desc)
		FIRST("Content-MD5", md5)
		FIRST("Content-Language", lang)
		FIRST("Content-Location", loc)
#undef FIRST
		else if (fname_is(&h, "Content-Disposition")) {
			if (!f->disp || !disp_has_params(f->disp, f->disp_len)) {
				f->disp = v;
				f->disp_len = len;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* Parameters (RFC 2045 5.1, RFC 2231 3 continuations)                 */
/* ------------------------------------------------------------------ */

/* One parameter: name and value as offsets into the scratch buffer. */
typedef struct param {
	size_t name, name_len, value, value_len;
	size_t key_len;     /* RFC 2231: name before the '*' */
	uint32_t idx;       /* RFC 2231 section number */
	int cont;           /* an RFC 2231 section */
	int extended;       /* section ends in '*' (charset'lang'%xx) */
	size_t order;       /* position as written (tie-break) */
} param;

typedef struct plist {
	param *v;
	size_t n, cap;
} plist;

static int plist_add(ctx *c, plist *l, const param *p)
{
	if (mimeo__array_reserve(c->alloc, (void **)&l->v, &l->cap, l->n, sizeof(*l->v), 8))
		return c->err = MIMEO_ENOMEM;
	l->v[l->n++] = *p;
	return 0;
}

static const char *tmp_at(const ctx *c, size_t off)
{
	return c->tmp.ptr ? c->tmp.ptr + off : "";
}

/* Parse `;name=value` pairs from l into `out` (names and values copied to
 * c->tmp).  After a pair that does not parse, one byte is skipped and
 * bytes up to the next ';' (as lenient servers do), so "a=b; c" keeps a
 * but "a=b;; c=d" loses c. */
static void parse_params(ctx *c, lex *l, plist *out)
{
	size_t order = 0;

	while (!c->err && !at_end(l)) {
		const char *name, *val;
		size_t name_len, val_len;
		param p;
		int r;

		if (*l->p != ';') {
			l->p++;
			continue;
		}
		l->p++;
		if (skip_cfws(l) <= 0)
			break;
		r = lex_token(l, &name, &name_len);
		if (r <= 0 || *l->p != '=')
			goto broken;
		l->p++;
		memset(&p, 0, sizeof(p));
		p.order = order++;
		p.name = c->tmp.size;
		p.name_len = name_len;
		if (mimeo_buf_put(&c->tmp, name, name_len) != MIMEO_OK)
			goto nomem;
		p.value = c->tmp.size;
		r = skip_cfws(l);
		if (r < 0)
			goto broken;
		if (r == 0) {
			/* "name=" at the end: an empty value */
		} else if (*l->p == '"') {
			int err = 0;

			if (lex_quoted(l, &c->tmp, &err) < 0) {
				if (err)
					goto nomem;
				goto broken;
			}
			if (err)
				goto nomem;
		} else if (*l->p == '=') {
			/* name==?utf-8?b?...?= (an unquoted encoded word):
			 * up to the next ';' or whitespace */
			const unsigned char *s = l->p;

			while (l->p < l->end && *l->p != ';' && *l->p != ' ' && *l->p != '\t' &&
			       *l->p != '\r' && *l->p != '\n')
				l->p++;
			if (mimeo_buf_put(&c->tmp, s, (size_t)(l->p - s)) != MIMEO_OK)
				goto nomem;
		} else {
			if (lex_token(l, &val, &val_len) < 0)
				goto broken;
			if (mimeo_buf_put(&c->tmp, val, val_len) != MIMEO_OK)
				goto nomem;
		}
		p.value_len = c->tmp.size - p.value;
		/* RFC 2231: name*N, name*N*, name* */
		{
			const char *nm = tmp_at(c, p.name);
			const char *star = memchr(nm, '*', name_len);

			if (star) {
				const char *q = star + 1, *e = nm + name_len;
				uint32_t idx = 0;

				while (q < e && *q >= '0' && *q <= '9')
					idx = idx * 10 + (uint32_t)(*q++ - '0');
				/* "name*" alone is section 0, extended */
				p.extended = q == star + 1 || (q < e && *q == '*');
				if (q < e && *q == '*')
					q++;
				if (q == e) {
					p.cont = 1;
					p.key_len = (size_t)(star - nm);
					/* "name*" alone has no number: section 0 */
					p.idx = idx;
				}
			}
		}
		if (plist_add(c, out, &p))
			return;
		continue;
broken:
		/* what servers do with a pair that does not parse: step
		 * over one byte where it failed and go on (the next pair
		 * must start right at a ';') */
		if (!at_end(l))
			l->p++;
	}
	return;
nomem:
	c->err = MIMEO_ENOMEM;
}

static const ctx *sort_ctx;

static int cont_cmp(const void *a, const void *b)
{
	const param *x = a, *y = b;
	const char *xs = tmp_at(sort_ctx, x->name), *ys = tmp_at(sort_ctx, y->name);
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int r = memcmp(xs, ys, n);

	if (r)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Write one "name" "value" pair. */
static void put_pair(ctx *c, int *first, const char *n, size_t nl, const char *v, size_t vl)
{
	if (!*first)
		put(c, " ", 1);
	*first = 0;
	put_string(c, n, nl);
	put(c, " ", 1);
	put_string(c, v, vl);
}

/* Write the parameter list: plain parameters in order, then the RFC 2231
 * sections joined per name (sorted by name), or kept apart when a section
 * number is missing.  `text_default` adds "charset" "us-ascii" to a text
 * type that has none.  Writes NIL when empty. */
static void put_params(ctx *c, plist *l, int text_default)
{
	size_t i, j, ncont = 0;
	int first = 1, charset = 0;
	mimeo_buf joined;

	for (i = 0; i < l->n; i++) {
		const param *p = &l->v[i];

		if (p->cont) {
			ncont++;
			continue;
		}
		if (p->name_len == 7 && strncasecmp(tmp_at(c, p->name), "charset", 7) == 0)
			charset = 1;
		if (first)
			put(c, "(", 1);
		put_pair(c, &first, tmp_at(c, p->name), p->name_len, tmp_at(c, p->value), p->value_len);
	}
	if (ncont) {
		param *cv;
		size_t k = 0, bytes;

		if (!mimeo__mul_ok(ncont, sizeof(*cv), &bytes) ||
		    !(cv = mimeo__malloc(c->alloc, bytes))) {
			c->err = MIMEO_ENOMEM;
			return;
		}
		for (i = 0; i < l->n; i++)
			if (l->v[i].cont)
				cv[k++] = l->v[i];
		sort_ctx = c;
		qsort(cv, ncont, sizeof(*cv), cont_cmp);
		mimeo_buf_init(&joined, c->alloc);
		for (i = 0; i < ncont; i = j) {
			int ok = 1, ext = 0;
			uint32_t next = 0;
			const char *key = tmp_at(c, cv[i].name);

			for (j = i; j < ncont; j++) {
				if (cv[j].key_len != cv[i].key_len ||
				    strncasecmp(tmp_at(c, cv[j].name), key, cv[i].key_len) != 0)
					break;
				if (cv[j].idx != next)
					ok = 0;
				if (cv[j].extended)
					ext = 1;
				next++;
			}
			if (first)
				put(c, "(", 1);
			if (!ok) {
				size_t m;

				for (m = i; m < j; m++) {
					char num[16];
					size_t nl;

					mimeo_buf_clear(&joined);
					nl = (size_t)snprintf(num, sizeof(num), "*%u%s",
							      (unsigned)cv[m].idx,
							      cv[m].extended ? "*" : "");
					if (mimeo_buf_put(&joined, tmp_at(c, cv[m].name), cv[m].key_len) ||
					    mimeo_buf_put(&joined, num, nl)) {
						c->err = MIMEO_ENOMEM;
						break;
					}
					put_pair(c, &first, joined.ptr, joined.size,
						 tmp_at(c, cv[m].value), cv[m].value_len);
				}
			} else {
				size_t m, klen;

				mimeo_buf_clear(&joined);
				if (mimeo_buf_put(&joined, key, cv[i].key_len) ||
				    (ext && mimeo_buf_put(&joined, "*", 1)))
					c->err = MIMEO_ENOMEM;
				klen = joined.size;
				/* a first section that is not extended still
				 * needs the charset'language' prefix */
				if (ext && !cv[i].extended && mimeo_buf_put(&joined, "''", 2))
					c->err = MIMEO_ENOMEM;
				for (m = i; m < j && !c->err; m++) {
					const char *v = tmp_at(c, cv[m].value);
					size_t vl = cv[m].value_len, q;

					if (ext && !cv[m].extended) {
						/* plain section inside an extended
						 * value: '%' must be escaped */
						for (q = 0; q < vl && !c->err; q++) {
							if (v[q] == '%' ?
							    mimeo_buf_put(&joined, "%25", 3) :
							    mimeo_buf_put(&joined, v + q, 1))
								c->err = MIMEO_ENOMEM;
						}
					} else if (mimeo_buf_put(&joined, v, vl)) {
						c->err = MIMEO_ENOMEM;
					}
				}
				if (!c->err && !joined.ptr && mimeo_buf_grow(&joined, 1))
					c->err = MIMEO_ENOMEM;
				if (!c->err)
					put_pair(c, &first, joined.ptr, klen, joined.ptr + klen,
						 joined.size - klen);
			}
			/* "charset*" is not "charset": the default is still
			 * added (as servers do) */
			if (ok && !ext && cv[i].key_len == 7 && strncasecmp(key, "charset", 7) == 0)
				charset = 1;
		}
		mimeo_buf_dispose(&joined);
		mimeo__free(c->alloc, cv);
	}
	if (text_default && !charset) {
		if (first)
			put(c, "(", 1);
		put_pair(c, &first, "charset", 7, "us-ascii", 8);
	}
	put(c, first ? "NIL" : ")", first ? 3 : 1);
}

/* ------------------------------------------------------------------ */
/* BODYSTRUCTURE                                                       */
/* ------------------------------------------------------------------ */

/* Content-Type as read: type and subtype (NULL when the field is absent
 * or not in effect), parameters. */
typedef struct ctype {
	const char *type, *sub;
	size_t type_len, sub_len;
	int have;          /* a Content-Type in effect */
	int params_ok;     /* the type parsed: parameters follow */
	lex rest;          /* where the parameters start */
} ctype;

static void parse_ctype(const fields *f, ctype *t)
{
	lex l;

	memset(t, 0, sizeof(*t));
	if (!f->type)
		return;
	t->have = 1;
	t->type = t->sub = "";
	lex_init(&l, f->type, f->type_len);
	if (skip_cfws(&l) <= 0)
		return;
	if (lex_token(&l, &t->type, &t->type_len) <= 0)
		return; /* "text" alone: subtype "" */
	if (*l.p != '/') {
		/* "text; charset=x": no type at all, as servers read it */
		t->type_len = 0;
		return;
	}
	l.p++;
	if (skip_cfws(&l) <= 0) {
		t->type_len = 0; /* "image/": no type, as servers read it */
		return;
	}
	if (lex_token(&l, &t->sub, &t->sub_len) > 0 && *l.p != ';') {
		/* "application/pdf name=x", "text/plain>": unreadable, so
		 * no type (servers write "" ""), and no parameters */
		t->type_len = t->sub_len = 0;
		return;
	}
	t->params_ok = 1;
	t->rest = l;
}

static int ieq(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(s, want, n) == 0;
}

/* Octets in canonical CRLF form and line feeds of bytes [a, b), read
 * through in windows. */
static void count(const span *src, uint64_t a, uint64_t b, uint64_t *size, uint64_t *lines)
{
	uint64_t n = 0, bare = 0, pos;
	int prev = -1; /* the byte before the window */

	if (b > src->len)
		b = src->len;
	if (a > b)
		a = b;
	for (pos = a; pos < b;) {
		size_t k = b - pos < PEEK_CHUNK ? (size_t)(b - pos) : PEEK_CHUNK;
		const char *w = sp_peek(src, pos, pos + k), *s = w, *e, *nl;

		if (!w)
			break;
		e = w + k;
		while (s < e && (nl = memchr(s, '\n', (size_t)(e - s)))) {
			n++;
			if (nl == w ? prev != '\r' : nl[-1] != '\r')
				bare++;
			s = nl + 1;
		}
		prev = (unsigned char)e[-1];
		pos += k;
	}
	*size = (b - a) + bare;
	*lines = n;
}

/* Does the line at s (n bytes to its end) start a delimiter of one of
 * p's enclosing multiparts?  RFC 2046 5.1.1 wants only whitespace after
 * the boundary, but the delimiter also ends a header block that lacks its
 * empty line, and servers compare the prefix only. */
static int is_outer_delimiter(const mimeo_part *p, const char *s, size_t n)
{
	const mimeo_part *a;

	if (n < 2 || s[0] != '-' || s[1] != '-')
		return 0;
	for (a = mimeo_part_parent(p); a; a = mimeo_part_parent(a)) {
		const char *b;
		size_t bl;

		if (!mimeo_part_is_multipart(a) || !(b = mimeo_part_param(a, "boundary")))
			continue;
		bl = strlen(b);
		if (bl && bl <= n - 2 && memcmp(s + 2, b, bl) == 0)
			return 1;
	}
	return 0;
}

/* is_outer_delimiter() of the line at offset `off` of src (only as many
 * bytes as the longest enclosing boundary needs are read). */
static int delimiter_at(const mimeo_part *p, const span *src, uint64_t off)
{
	const mimeo_part *a;
	size_t need = 2;
	const char *l;

	for (a = mimeo_part_parent(p); a; a = mimeo_part_parent(a)) {
		const char *bd = mimeo_part_is_multipart(a) ? mimeo_part_param(a, "boundary") : NULL;

		if (bd && strlen(bd) + 2 > need)
			need = strlen(bd) + 2;
	}
	if (need > src->len - off)
		need = (size_t)(src->len - off);
	l = sp_peek(src, off, off + need);
	return l && is_outer_delimiter(p, l, need);
}

/* Where a server sees the body start.  A header block ends at its empty
 * line; a line that is not a field does not end it (RFC 5322 2.2 knows no
 * such line, and servers read it as a field), so when the tree's parser
 * ended the header early at such a line, the body starts after the next
 * empty line, or is empty when a delimiter or the end comes first. */
static uint64_t body_start2(const mimeo_part *p, const span *src, int *blank);

static uint64_t body_start(const mimeo_part *p, const span *src)
{
	int blank;

	return body_start2(p, src, &blank);
}

/* As body_start; *blank tells whether an empty line ended the header. */
static uint64_t body_start2(const mimeo_part *p, const span *src, int *blank)
{
	uint64_t hs, bs, end, pos;

	*blank = 1;
	mimeo_part_offsets(p, &hs, &bs, &end);
	if (end > src->len)
		end = src->len;
	if (bs > end || hs > bs)
		return bs;
	/* the usual case: the bytes before the body are an empty line */
	if (bs > hs && sp_byte(src, bs - 1) == '\n' &&
	    (bs - 1 == hs || sp_byte(src, bs - 2) == '\n' ||
	     (sp_byte(src, bs - 2) == '\r' && (bs - 2 == hs || sp_byte(src, bs - 3) == '\n'))))
		return bs;
	*blank = 0;
	if (bs == end && bs == hs)
		return bs;
	for (pos = hs; pos < end;) {
		size_t n;
		int nl;
		const char *line = sp_line(src, pos, end, &n, &nl);

		if (!line)
			break;
		if (n == 0 || (n == 1 && line[0] == '\r')) {
			*blank = 1;
			return nl ? pos + n + 1 : end;
		}
		if (pos > hs && is_outer_delimiter(p, line, n))
			return end;
		if (!nl)
			break;
		pos += n + 1;
	}
	return end;
}

static void put_field_string(ctx *c, const char *v, size_t n)
{
	size_t len, off;

	if (!v) {
		puts_(c, "NIL");
		return;
	}
	off = unfold(c, v, n, &len);
	if (!c->err)
		put_string(c, tmp_at(c, off), len);
	c->tmp.size = off;
}

static void put_disposition(ctx *c, const fields *f)
{
	lex l;
	const char *tok;
	size_t tok_len, mark = c->tmp.size;
	plist pl = { NULL, 0, 0 };

	if (!f->disp) {
		puts_(c, "NIL");
		return;
	}
	lex_init(&l, f->disp, f->disp_len);
	if (skip_cfws(&l) < 0 || lex_token(&l, &tok, &tok_len) < 0) {
		puts_(c, "NIL");
		return;
	}
	put(c, "(", 1);
	put_string(c, tok, tok_len);
	put(c, " ", 1);
	parse_params(c, &l, &pl);
	put_params(c, &pl, 0);
	put(c, ")", 1);
	mimeo__free(c->alloc, pl.v);
	c->tmp.size = mark;
}

/* Content-Language: a list of atoms separated by commas. */
static void put_language(ctx *c, const fields *f)
{
	lex l;
	int first = 1;

	if (f->lang) {
		lex_init(&l, f->lang, f->lang_len);
		if (skip_cfws(&l) > 0) {
			while (!at_end(&l) && is_atext(*l.p)) {
				const unsigned char *s = l.p;

				while (l.p < l.end && is_atext(*l.p))
					l.p++;
				put(c, first ? "(" : " ", 1);
				first = 0;
				put_string(c, (const char *)s, (size_t)(l.p - s));
				if (skip_cfws(&l) <= 0 || *l.p != ',')
					break;
				l.p++;
				if (skip_cfws(&l) <= 0)
					break;
			}
		}
	}
	puts_(c, first ? "NIL" : ")");
}

static void put_extension_tail(ctx *c, const fields *f)
{
	put(c, " ", 1);
	put_disposition(c, f);
	put(c, " ", 1);
	put_language(c, f);
	put(c, " ", 1);
	put_field_string(c, f->loc, f->loc_len);
}

static void write_envelope(ctx *c, const mimeo_part *p, const span *src);
static void write_body(ctx *c, const mimeo_part *p, const span *src, unsigned flags,
		       unsigned depth);

/* A multipart with no parts (no boundary, or no delimiter line) is
 * written with one empty text/plain part: RFC 3501's grammar needs one. */
static void put_empty_part(ctx *c, unsigned flags)
{
	puts_(c, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0");
	if (!(flags & MIMEO_IMAP_NO_EXTENSION))
		puts_(c, " NIL NIL NIL NIL");
	put(c, ")", 1);
}

/* The decoded body of a transfer-encoded message/rfc822 node, in which
 * the parser counted its parts' offsets. */
static int decode_body(ctx *c, const mimeo_part *p, const span *src, mimeo_buf *dec)
{
	uint64_t a, b;
	mimeo_transfer_decoder d;

	mimeo_part_offsets(p, NULL, &a, &b);
	if (b > src->len)
		b = src->len;
	if (a > b)
		a = b;
	mimeo_transfer_decoder_init(&d, mimeo_part_cte(p), MIMEO_ISA_AUTO);
	while (a < b) {
		size_t k = b - a < PEEK_CHUNK ? (size_t)(b - a) : PEEK_CHUNK;
		const char *w = sp_peek(src, a, a + k);

		if (!w)
			return -1;
		if (mimeo_buf_grow(dec, MIMEO_TRANSFER_DECODE_BOUND(k))) {
			c->err = MIMEO_ENOMEM;
			return -1;
		}
		dec->size += mimeo_transfer_decode_step(&d, w, k, dec->ptr + dec->size);
		a += k;
	}
	if (mimeo_buf_grow(dec, MIMEO_TRANSFER_DECODE_FINISH_MAX)) {
		c->err = MIMEO_ENOMEM;
		return -1;
	}
	dec->size += mimeo_transfer_decode_finish(&d, dec->ptr + dec->size);
	dec->ptr[dec->size] = '\0';
	return 0;
}

static void write_body(ctx *c, const mimeo_part *p, const span *src, unsigned flags,
		       unsigned depth);

/* write_body() flag: p is the root of a reparse(), never reparsed again
 * (so a header the tree still cuts cannot loop). */
#define F_REPARSED 0x80000000u

/* Write the body of node p as parsed again from a copy of its bytes in
 * which the header block holds only its fields (what a server reads),
 * when the tree's parser ended that header before its empty line.
 * @return 0 when written, -1 when the header was not cut (nothing
 * written). */
/* The copy reparse() parses: p's fields as a server reads them, an empty
 * line, p's body.  -1 when the tree did not cut p's header (nothing made);
 * 0 otherwise, with *m2 parsed from `nb` (the caller frees both), or
 * *m2 NULL and c->err set. */
static int reparse_copy(ctx *c, const mimeo_part *p, const span *src, mimeo_buf *nb,
			mimeo_message **m2)
{
	uint64_t hs, bs, end, pos, stop = body_start(p, src);
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	hfield h;
	int rc;

	*m2 = NULL;
	mimeo_part_offsets(p, &hs, &bs, &end);
	if (stop == bs || end > src->len || stop > end)
		return -1;
	mimeo_buf_init(nb, c->alloc);
	for (pos = hs; next_field(src, &pos, stop, &h);) {
		size_t i;

		/* only names the tree's parser takes for a field (RFC 5322
		 * ftext): "Aug 2018 05:32" of a broken fold is no field for
		 * a server's purposes either */
		for (i = 0; i < h.name_len; i++)
			if ((unsigned char)h.name[i] <= 32 || (unsigned char)h.name[i] >= 127)
				break;
		if (!h.name_len || i < h.name_len)
			continue;
		if (mimeo_buf_put(nb, h.name, h.name_len) || mimeo_buf_put(nb, ":", 1) ||
		    mimeo_buf_put(nb, h.value, h.value_len) || mimeo_buf_put(nb, "\n", 1))
			goto nomem;
	}
	if (mimeo_buf_put(nb, "\n", 1))
		goto nomem;
	for (pos = stop; pos < end;) {
		size_t k = end - pos < PEEK_CHUNK ? (size_t)(end - pos) : PEEK_CHUNK;
		const char *w = sp_peek(src, pos, pos + k);

		if (!w)
			return 0; /* c->err is set, *m2 NULL */
		if (mimeo_buf_put(nb, w, k))
			goto nomem;
		pos += k;
	}
	mo.alloc = c->alloc;
	mo.flags = MIMEO_MESSAGE_BORROW;
	rc = mimeo_message_parse_buffer(m2, nb->ptr, nb->size, &mo);
	if (rc != MIMEO_OK)
		c->err = rc;
	return 0;
nomem:
	c->err = MIMEO_ENOMEM;
	return 0;
}

static int reparse(ctx *c, const mimeo_part *p, const span *src, unsigned flags,
		   unsigned depth)
{
	mimeo_message *m2;
	mimeo_buf nb;
	span s2;

	if (reparse_copy(c, p, src, &nb, &m2) < 0)
		return -1;
	if (m2) {
		s2.data = nb.ptr;
		s2.len = nb.size;
		s2.m = NULL;
		s2.c = c;
		write_body(c, mimeo_message_root(m2), &s2, flags | F_REPARSED, depth + 1);
		mimeo_message_free(m2);
	}
	mimeo_buf_dispose(&nb);
	return 0;
}

/* Would write_body() describe p from a reparse()?  When its fields say
 * multipart or message/rfc822 and the tree's parser ended its header
 * before the empty line (at a line that is not a field): the parser then
 * either missed what the fields after that line say, or read the rest
 * of the header as the body, where a server sees header lines (the first
 * delimiter of a multipart, the first fields of an encapsulated message;
 * sisimai lhost-office365-08, enmime qp-utf8-header-no-break). */
static int needs_reparse(const mimeo_part *p, const span *src)
{
	fields f;
	ctype t;
	uint64_t bs;

	collect(p, src, &f);
	if ((mimeo_part_flags(p) & MIMEO_PART_ROOT) && !f.mime)
		return 0;
	parse_ctype(&f, &t);
	if (!t.have)
		return 0;
	if (!ieq(t.type, t.type_len, "multipart") &&
	    !(ieq(t.type, t.type_len, "message") && ieq(t.sub, t.sub_len, "rfc822")))
		return 0;
	mimeo_part_offsets(p, NULL, &bs, NULL);
	return body_start(p, src) != bs;
}

/* The deepest last part of the tree under p: the one whose header would
 * read a line break right after p's end.  Is it a header without a body
 * (no empty line) that ends where p ends?  When p's header is re-read
 * (reparse), asked of the tree of the copy. */
static int ends_in_bare_header(ctx *c, const mimeo_part *p, const span *src)
{
	const mimeo_part *d = p, *ch;
	mimeo_message *m2 = NULL;
	mimeo_buf nb;
	span s = *src;
	uint64_t ib, ie, pe;
	int blank, r, copied = 0;

	mimeo_part_offsets(p, NULL, NULL, &pe);
	if (needs_reparse(p, src)) {
		if (reparse_copy(c, p, src, &nb, &m2) == 0) {
			copied = 1;
			if (!m2) {
				mimeo_buf_dispose(&nb);
				return 0; /* c->err is set */
			}
			d = mimeo_message_root(m2);
			s.data = nb.ptr;
			s.len = nb.size;
			s.m = NULL;
			pe = nb.size;
		}
	}
	while ((ch = mimeo_part_first_child(d))) {
		while (mimeo_part_next_sibling(ch))
			ch = mimeo_part_next_sibling(ch);
		d = ch;
	}
	ib = body_start2(d, &s, &blank);
	mimeo_part_offsets(d, NULL, NULL, &ie);
	r = !blank && ib >= ie && ie == pe;
	if (copied) {
		mimeo_message_free(m2);
		mimeo_buf_dispose(&nb);
	}
	return r;
}

/* Deeper than this, a node is written as an empty part (the parser's
 * depth limit keeps real trees far below). */
#define MAX_DEPTH 1000

static void write_body(ctx *c, const mimeo_part *p, const span *src, unsigned flags,
		       unsigned depth)
{
	fields f;
	ctype t;
	plist pl = { NULL, 0, 0 };
	size_t mark = c->tmp.size;
	int ext = !(flags & MIMEO_IMAP_NO_EXTENSION);
	int is_root = (mimeo_part_flags(p) & MIMEO_PART_ROOT) != 0;
	int multipart, message, text, may_reparse = !(flags & F_REPARSED);
	uint64_t a, b, size, lines;

	flags &= ~F_REPARSED;
	ext = !(flags & MIMEO_IMAP_NO_EXTENSION);
	if (c->err)
		return;
	if (depth > MAX_DEPTH) {
		put_empty_part(c, flags);
		return;
	}
	collect(p, src, &f);
	/* A message's root entity without MIME-Version or Content-Type is
	 * not MIME: its Content-* fields mean nothing (RFC 2045 4). */
	if (is_root && !f.mime)
		memset(&f, 0, sizeof(f));
	parse_ctype(&f, &t);
	multipart = t.have ? ieq(t.type, t.type_len, "multipart")
			   : mimeo_part_is_multipart(p);
	message = mimeo_part_is_message(p) &&
		  (t.have ? ieq(t.type, t.type_len, "message") && ieq(t.sub, t.sub_len, "rfc822")
			  : 1);
	if (may_reparse && needs_reparse(p, src)) {
		/* The tree's parser ended this header early, at a line that is
		 * not a field; a server reads on to the empty line: describe
		 * the part as its fields and the body after that line make it. */
		if (reparse(c, p, src, flags, depth) == 0)
			goto done;
	}
	if (multipart) {
		const mimeo_part *ch = mimeo_part_is_multipart(p) ? mimeo_part_first_child(p) : NULL;

		if (!ch)
			put_empty_part(c, flags);
		for (; ch && !c->err; ch = mimeo_part_next_sibling(ch)) {
			/* the children of a multipart are in the same
			 * stream as the multipart */
			put(c, "(", 1);
			write_body(c, ch, src, flags, depth + 1);
			put(c, ")", 1);
		}
		put(c, " ", 1);
		put_string(c, t.sub, t.sub_len);
		if (ext) {
			put(c, " ", 1);
			if (t.params_ok)
				parse_params(c, &t.rest, &pl);
			put_params(c, &pl, 0);
			put_extension_tail(c, &f);
		}
		goto done;
	}
	text = !t.have || ieq(t.type, t.type_len, "text");
	if (message) {
		puts_(c, "\"message\" \"rfc822\"");
		text = 0;
	} else if (!t.have) {
		puts_(c, "\"text\" \"plain\"");
	} else {
		put_string(c, t.type, t.type_len);
		put(c, " ", 1);
		put_string(c, t.sub, t.sub_len);
	}
	put(c, " ", 1);
	if (t.params_ok)
		parse_params(c, &t.rest, &pl);
	put_params(c, &pl, text);
	put(c, " ", 1);
	put_field_string(c, f.id, f.id_len);
	put(c, " ", 1);
	put_field_string(c, f.desc, f.desc_len);
	put(c, " ", 1);
	{
		lex l;
		const char *tok = NULL;
		size_t tok_len = 0;

		if (f.cte) {
			lex_init(&l, f.cte, f.cte_len);
			if (skip_cfws(&l) < 0 || lex_token(&l, &tok, &tok_len) != 0 || !tok_len)
				tok = NULL;
		}
		if (tok)
			put_string(c, tok, tok_len);
		else
			puts_(c, "\"7bit\"");
	}
	mimeo_part_offsets(p, NULL, NULL, &b);
	a = body_start(p, src);
	if (!message && mimeo_part_is_message(p) && b > a && sp_byte(src, b - 1) == '\n' &&
	    b < src->len && delimiter_at(p, src, b)) {
		/* A message/global (or other encapsulation the tree parsed
		 * but a server reads as a plain body): the tree ends it after
		 * the line break that closes its last line, which belongs to
		 * the outer delimiter (RFC 2046 5.1.1), as for any leaf. */
		b--;
		if (b > a && sp_byte(src, b - 1) == '\r')
			b--;
	}
	count(src, a, b, &size, &lines);
	put(c, " ", 1);
	if (!message)
		put_u64(c, size);
	if (message) {
		const mimeo_part *inner = mimeo_part_first_child(p);
		mimeo_buf dec;
		span isrc = *src;
		int decoded = 0;

		mimeo_buf_init(&dec, c->alloc);
		if (inner && (mimeo_part_flags(inner) & MIMEO_PART_ENCODED)) {
			/* the parser decoded this part's body and counted
			 * the inner offsets in the decoded bytes */
			if (mimeo_part_cte(p) == MIMEO_CTE_BASE64 || mimeo_part_cte(p) == MIMEO_CTE_QP ||
			    mimeo_part_cte(p) == MIMEO_CTE_UUENCODE) {
				if (decode_body(c, p, src, &dec) == 0) {
					isrc.data = dec.ptr;
					isrc.len = dec.size;
					isrc.m = NULL;
					decoded = 1;
				}
			}
		}
		if (inner && !decoded) {
			/* A header without body right before a delimiter: the
			 * line break before the delimiter is the header's
			 * empty line for a server, and so part of this
			 * message (the tree gives it to the delimiter). */
			uint64_t ie;

			mimeo_part_offsets(inner, NULL, NULL, &ie);
			if (ie == b && b < src->len &&
			    (sp_byte(src, b) == '\n' ||
			     (sp_byte(src, b) == '\r' && sp_byte(src, b + 1) == '\n')) &&
			    ends_in_bare_header(c, inner, src)) {
				size += 2;
				lines++;
			}
		}
		put_u64(c, size);
		put(c, " (", 2);
		if (inner)
			write_envelope(c, inner, &isrc);
		else
			puts_(c, "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL");
		put(c, ") ", 2);
		if (inner) {
			put(c, "(", 1);
			write_body(c, inner, &isrc, flags, depth + 1);
			put(c, ")", 1);
		} else {
			put_empty_part(c, flags);
		}
		mimeo_buf_dispose(&dec);
		put(c, " ", 1);
		put_u64(c, lines);
	} else if (text) {
		put(c, " ", 1);
		put_u64(c, lines);
	}
	if (ext) {
		put(c, " ", 1);
		put_field_string(c, f.md5, f.md5_len);
		put_extension_tail(c, &f);
	}
done:
	mimeo__free(c->alloc, pl.v);
	c->tmp.size = mark;
}

/* ------------------------------------------------------------------ */
/* ENVELOPE                                                            */
/* ------------------------------------------------------------------ */

/* The address being read: its four strings, each in its own buffer, a
 * flag for each that is present, and the markers a server writes for a
 * piece that cannot be read. */
typedef struct alist {
	ctx *c;
	lex l;
	mimeo_buf piece[4];   /* name, route, mailbox, domain */
	int has[4];
	const char *mark[4];  /* marker replacing a piece, or NULL */
	mimeo_buf *cur;       /* the piece being appended to */
	int any;              /* an address was written */
	int in_group;         /* reading the mailboxes of a group */
} alist;

enum { A_NAME, A_ROUTE, A_MAILBOX, A_DOMAIN };

static void a_begin(alist *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		mimeo_buf_clear(&a->piece[i]);
		a->has[i] = 0;
		a->mark[i] = NULL;
	}
}

static void a_start(alist *a, int which)
{
	mimeo_buf_clear(&a->piece[which]);
	a->has[which] = 1;
	a->cur = &a->piece[which];
}

static void a_put(alist *a, const void *s, size_t n)
{
	if (mimeo_buf_put(a->cur, s, n) != MIMEO_OK)
		a->c->err = MIMEO_ENOMEM;
}

/* Write (name route mailbox domain). */
static void a_emit(alist *a)
{
	ctx *c = a->c;
	int i;

	put(c, a->any ? "(" : "((", a->any ? 1 : 2);
	a->any = 1;
	for (i = 0; i < 4; i++) {
		const mimeo_buf *b = &a->piece[i];

		if (i)
			put(c, " ", 1);
		if (a->mark[i])
			puts_(c, a->mark[i]);
		else if (!a->has[i])
			puts_(c, "NIL");
		else if (i == A_NAME)
			put_human(c, b->ptr ? b->ptr : "", b->size);
		else
			put_string(c, b->ptr ? b->ptr : "", b->size);
	}
	put(c, ")", 1);
}

/* A dot-atom (RFC 822 allows CFWS around the dots) appended to the
 * current piece.  @return as skip_cfws, -1 when there is no atom. */
static int a_dot_atom(alist *a)
{
	lex *l = &a->l;
	int r;

	if (at_end(l) || !is_atext(*l->p))
		return -1;
	for (;;) {
		const unsigned char *s = l->p;

		while (l->p < l->end && is_atext(*l->p))
			l->p++;
		a_put(a, s, (size_t)(l->p - s));
		if ((r = skip_cfws(l)) <= 0)
			return r;
		if (*l->p != '.')
			return 1;
		l->p++;
		a_put(a, ".", 1);
		if ((r = skip_cfws(l)) <= 0)
			return r;
	}
}

/* A phrase (display name or group name): words joined by one space,
 * quoted strings unquoted, dots kept.  @return as skip_cfws; -1 when it
 * starts with a dot or a quoted string is not closed. */
static int a_phrase(alist *a)
{
	lex *l = &a->l;
	int r;

	if (at_end(l))
		return 0;
	if (*l->p == '.')
		return -1;
	for (;;) {
		if (*l->p == '"') {
			r = lex_quoted(l, a->cur, &a->c->err);
		} else {
			const unsigned char *s = l->p;

			while (l->p < l->end && (is_atext(*l->p) || *l->p == '.'))
				l->p++;
			a_put(a, s, (size_t)(l->p - s));
			r = skip_cfws(l);
		}
		if (r <= 0)
			return r;
		if (!is_atext(*l->p) && *l->p != '"' && *l->p != '.')
			break;
		a_put(a, " ", 1);
	}
	return skip_cfws(l);
}

static int a_local_part(alist *a)
{
	lex *l = &a->l;

	int r;

	a_start(a, A_MAILBOX);
	r = *l->p == '"' ? lex_quoted(l, a->cur, &a->c->err) : a_dot_atom(a);
	if (r < 0)
		a->has[A_MAILBOX] = 0; /* none read: MISSING_MAILBOX */
	return r;
}

/* "@" domain, appended to the current piece (the domain, or the route). */
static int a_domain_text(alist *a)
{
	lex *l = &a->l;

	l->p++; /* '@' */
	if (skip_cfws(l) <= 0)
		return -1;
	if (*l->p == '[') {
		const unsigned char *s = l->p;

		for (; l->p < l->end; l->p++) {
			if (*l->p == '\\') {
				if (++l->p >= l->end)
					break;
			} else if (*l->p == ']') {
				l->p++;
				a_put(a, s, (size_t)(l->p - s));
				return skip_cfws(l);
			}
		}
		return -1;
	}
	return a_dot_atom(a);
}

static int a_domain(alist *a)
{
	int r;

	a_start(a, A_DOMAIN);
	r = a_domain_text(a);
	if (r < 0)
		a->has[A_DOMAIN] = 0; /* "a@": MISSING_DOMAIN */
	return r;
}

/* "<" [route ":"] local-part ["@" domain] ">".  "<>" (a null return
 * path) is an address without mailbox and domain.  @return -1 unless the
 * closing ">" was read, else as skip_cfws after it. */
static int a_angle(alist *a)
{
	lex *l = &a->l;

	l->p++;
	if (skip_cfws(l) <= 0)
		return -1;
	if (*l->p == '>') {
		l->p++;
		return skip_cfws(l);
	}
	if (*l->p == '@') {
		/* obs-route "@a,@b:", kept as "@a,@b" */
		int ok = 1;

		a_start(a, A_ROUTE);
		for (;;) {
			if (at_end(l)) {
				ok = 0;
				break;
			}
			if (*l->p != '@')
				break;
			if (a->cur->size)
				a_put(a, ",", 1);
			a_put(a, "@", 1);
			if (a_domain_text(a) <= 0) {
				ok = 0;
				break;
			}
			while (skip_cfws(l) > 0 && *l->p == ',')
				l->p++;
		}
		if (!ok || at_end(l) || *l->p != ':') {
			a->mark[A_ROUTE] = "\"INVALID_ROUTE\"";
			return -1;
		}
		l->p++;
		if (skip_cfws(l) <= 0)
			return -1;
	}
	if (a_local_part(a) <= 0)
		return -1;
	if (*l->p == '@' && a_domain(a) <= 0)
		return -1;
	if (*l->p != '>')
		return -1;
	l->p++;
	return skip_cfws(l);
}

/* name-addr: [phrase] angle-addr.  @return -1 when it is not one (the
 * caller retries as addr-spec), else 1 when more input follows. */
static int a_name_addr(alist *a)
{
	lex *l = &a->l;

	a_start(a, A_NAME);
	if (a_phrase(a) <= 0 || *l->p != '<')
		return -1;
	/* "<x@y>" and "" <x@y> have no name */
	a->has[A_NAME] = a->piece[A_NAME].size > 0;
	if (a_angle(a) < 0)
		a->mark[A_DOMAIN] = "\"SYNTAX_ERROR\"";
	return !at_end(l);
}

/* addr-spec; the text of a comment after it is the name. */
static int a_addr_spec(alist *a)
{
	lex *l = &a->l;
	int r, quoted;

	l->comment = NULL;
	if (at_end(l))
		return 0;
	quoted = *l->p == '"';
	r = a_local_part(a);
	if (r != 0 && !at_end(l) && *l->p == '@') {
		int r2 = a_domain(a);

		if (r2 <= 0)
			r = r2;
	}
	if (l->comment && l->comment_len) {
		a_start(a, A_NAME);
		a_put(a, l->comment, l->comment_len);
	} else if (quoted && a->has[A_MAILBOX] && !a->has[A_DOMAIN] && !a->mark[A_DOMAIN] &&
		   (at_end(l) || *l->p == ',' || *l->p == ';')) {
		/* 'To: "undisclosed"': a quoted string alone is a display
		 * name without an address for a server (an atom alone stays
		 * a mailbox without a domain) */
		mimeo_buf t = a->piece[A_NAME];

		a->piece[A_NAME] = a->piece[A_MAILBOX];
		a->piece[A_MAILBOX] = t;
		a->has[A_NAME] = 1;
		a->has[A_MAILBOX] = 0;
	}
	return r;
}

static void a_fix_and_emit(alist *a)
{
	if (!a->has[A_MAILBOX] && !a->mark[A_MAILBOX])
		a->mark[A_MAILBOX] = "\"MISSING_MAILBOX\"";
	if (!a->has[A_DOMAIN] && !a->mark[A_DOMAIN])
		a->mark[A_DOMAIN] = "\"MISSING_DOMAIN\"";
	a_emit(a);
}

static int a_mailbox(alist *a)
{
	const unsigned char *start = a->l.p;
	int r;

	a_begin(a);
	if ((r = a_name_addr(a)) < 0) {
		a->l.p = start;
		a_begin(a);
		r = a_addr_spec(a);
		if (r > 0 && !a->in_group && !a->has[A_DOMAIN] && *a->l.p != ',' &&
		    *a->l.p != ';') {
			/* "Big Bug bb@bug.com", "Name a@b": words without
			 * angle brackets are a name without an address (what
			 * servers make of it); the rest up to the next comma
			 * is not read */
			a->l.p = start;
			a_begin(a);
			a_start(a, A_NAME);
			r = a_phrase(a);
			if (!a->piece[A_NAME].size)
				a->has[A_NAME] = 0;
		}
	}
	a_fix_and_emit(a);
	return r;
}

/* group: phrase ":" [mailbox-list] ";", written as (NIL NIL "name" NIL),
 * its mailboxes, then (NIL NIL NIL NIL) (RFC 3501 7.4.2). */
static int a_group(alist *a)
{
	lex *l = &a->l;
	int r;

	a_begin(a);
	a_start(a, A_MAILBOX);
	if (a_phrase(a) <= 0 || *l->p != ':')
		return -1;
	l->p++;
	r = skip_cfws(l);
	a_emit(a);
	a->in_group = 1;
	if (r > 0 && *l->p != ';') {
		for (;;) {
			if (a_mailbox(a) <= 0) {
				r = -1;
				break;
			}
			if (*l->p != ',')
				break;
			l->p++;
			if (skip_cfws(l) <= 0) {
				r = -1;
				break;
			}
		}
	}
	if (r >= 0) {
		if (at_end(l) || *l->p != ';') {
			r = -1;
		} else {
			l->p++;
			r = skip_cfws(l);
		}
	}
	a->in_group = 0;
	a_begin(a);
	a_emit(a);
	return r == 0 ? 0 : 1;
}

/* Append the addresses of one field's value to the list in `a`. */
static void parse_address_list(alist *a, const char *v, size_t n)
{
	ctx *c = a->c;
	int r;

	lex_init(&a->l, v, n);
	if (skip_cfws(&a->l) > 0) {
		/* address-list: (address *("," address)) */
		for (;;) {
			const unsigned char *start = a->l.p;

			if ((r = a_group(a)) < 0) {
				a->l.p = start;
				r = a_mailbox(a);
			}
			if (r == 0 || c->err)
				break;
			if (at_end(&a->l) || *a->l.p != ',')
				break;
			a->l.p++;
			if ((r = skip_cfws(&a->l)) <= 0) {
				if (r < 0) {
					/* ends in garbage: one marker entry */
					a_begin(a);
					a_fix_and_emit(a);
				}
				break;
			}
		}
	}
}

/* The addresses of every field with that name, one list (servers join
 * repeated From/To/Cc... fields). */
static void put_address_fields(ctx *c, const span *src, uint64_t from, uint64_t stop,
			       const char *name)
{
	alist a;
	hfield h;
	int i;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < 4; i++)
		mimeo_buf_init(&a.piece[i], c->alloc);
	a.c = c;
	a.cur = &a.piece[A_NAME];
	while (!c->err && next_field(src, &from, stop, &h))
		if (fname_is(&h, name))
			parse_address_list(&a, h.value, h.value_len);
	for (i = 0; i < 4; i++)
		mimeo_buf_dispose(&a.piece[i]);
	puts_(c, a.any ? ")" : "NIL");
}

/* The ENVELOPE of the entity whose header block `p` has. */
static void write_envelope(ctx *c, const mimeo_part *p, const span *src)
{
	static const char *const names[] = {
		"Date", "Subject", "From", "Sender", "Reply-To",
		"To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
	};
	const char *val[10] = { NULL };
	size_t len[10] = { 0 }, k;
	uint64_t pos, hs, stop = body_start(p, src);
	hfield h;

	/* RFC 3501 does not say which of several fields counts; servers
	 * keep the last Date, Subject, In-Reply-To and Message-ID read, and
	 * join the address lists of repeated address fields. */
	mimeo_part_offsets(p, &hs, NULL, NULL);
	pos = hs;
	while (next_field(src, &pos, stop, &h)) {
		for (k = 0; k < 10; k++) {
			if (fname_is(&h, names[k])) {
				val[k] = h.value;
				len[k] = h.value_len;
				break;
			}
		}
	}
	for (k = 0; k < 10 && !c->err; k++) {
		const char *v = val[k];
		size_t vl = len[k];

		if (k)
			put(c, " ", 1);
		if (k == 3 || k == 4) {
			/* Sender and Reply-To default to From */
			if (!v) {
				v = val[2];
				vl = len[2];
			}
		}
		if (!v) {
			puts_(c, "NIL");
		} else if (k >= 2 && k <= 7) {
			put_address_fields(c, src, hs, stop, val[k] == v ? names[k] : names[2]);
		} else {
			size_t ul, off = unfold(c, v, vl, &ul);

			if (c->err)
				break;
			if (k == 1)
				put_human(c, tmp_at(c, off), ul);
			else
				put_string(c, tmp_at(c, off), ul);
			c->tmp.size = off;
		}
	}
}

/* ------------------------------------------------------------------ */
/* API                                                                 */
/* ------------------------------------------------------------------ */

static int finish(ctx *c)
{
	size_t i;

	for (i = 0; i < c->npins; i++)
		mimeo__free(c->alloc, c->pins[i].data);
	mimeo__free(c->alloc, c->pins);
	mimeo__free(c->alloc, c->win);
	mimeo_buf_dispose(&c->tmp);
	mimeo_buf_dispose(&c->human);
	if (!c->err && !c->out->ptr && mimeo_buf_grow(c->out, 1) != MIMEO_OK)
		c->err = MIMEO_ENOMEM;
	return c->err;
}

/* The bytes p's offsets count in: the source, or for a node inside a
 * transfer-encoded message/rfc822 the decoded body of that part (into
 * `dec`).  Nested encodings (an encoded message inside an encoded one)
 * are decoded one level only.  A source that is not in memory (a file
 * parsed in place, a spool that went to disk) is read as needed (span). */
static void node_span(ctx *c, const mimeo_message *m, const mimeo_part *p, span *src,
		      mimeo_buf *dec)
{
	const mimeo_part *q;

	src->c = c;
	src->m = NULL;
	src->data = mimeo_message_source(m, &src->len);
	if (!src->data) {
		uint64_t size = mimeo_message_source_size(m);

		src->len = 0;
		if (size >= SIZE_MAX) {
			c->err = MIMEO_ENOMEM;
			return;
		}
		src->len = (size_t)size;
		src->m = m;
	}
	for (q = p; q && (mimeo_part_flags(q) & MIMEO_PART_ENCODED); q = mimeo_part_parent(q))
		;
	if (q && q != p && decode_body(c, q, src, dec) == 0) {
		src->data = dec->ptr;
		src->len = dec->size;
		src->m = NULL;
	}
}

static void ctx_init(ctx *c, mimeo_buf *out)
{
	memset(c, 0, sizeof(*c));
	c->out = out;
	c->alloc = out->alloc;
	mimeo_buf_init(&c->tmp, out->alloc);
	mimeo_buf_init(&c->human, out->alloc);
}

int mimeo_imap_bodystructure(const mimeo_message *m, const mimeo_part *p, unsigned flags,
			     mimeo_buf *out)
{
	ctx c;
	span src;
	mimeo_buf dec;

	if (!m || !out || (flags & ~MIMEO_IMAP_NO_EXTENSION) ||
	    (p && (mimeo_part_flags(p) & MIMEO_PART_DERIVED)))
		return MIMEO_EINVAL;
	if (!p)
		p = mimeo_message_root(m);
	ctx_init(&c, out);
	mimeo_buf_init(&dec, out->alloc);
	node_span(&c, m, p, &src, &dec);
	put(&c, "(", 1);
	write_body(&c, p, &src, flags, 0);
	put(&c, ")", 1);
	mimeo_buf_dispose(&dec);
	return finish(&c);
}

int mimeo_imap_envelope(const mimeo_message *m, const mimeo_part *p, mimeo_buf *out)
{
	ctx c;
	span src;
	mimeo_buf dec;

	if (!m || !out || (p && (mimeo_part_flags(p) & MIMEO_PART_DERIVED)))
		return MIMEO_EINVAL;
	if (!p)
		p = mimeo_message_root(m);
	/* a message/rfc822 part stands for the message it carries; the root
	 * is the top-level message itself, whatever its type */
	if (p != mimeo_message_root(m) && mimeo_part_is_message(p) && mimeo_part_first_child(p))
		p = mimeo_part_first_child(p);
	ctx_init(&c, out);
	mimeo_buf_init(&dec, out->alloc);
	node_span(&c, m, p, &src, &dec);
	put(&c, "(", 1);
	write_envelope(&c, p, &src);
	put(&c, ")", 1);
	mimeo_buf_dispose(&dec);
	return finish(&c);
}
