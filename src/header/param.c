/*
 * param.c - Content-Type / Content-Disposition values and parameters:
 * RFC 2045 section 5.1, RFC 2183, RFC 2231 (continuations, charset and
 * language), plus the RFC 2047-in-quoted-string habit of Outlook.  The
 * lenient rules are documented in include/mimeo/param.h.
 *
 * Parsing works in three passes, all linear (apart from one qsort):
 *  1. scan the value once, unquoting every parameter into a scratch
 *     buffer (names lowercased, RFC 2231 "*N" / "*" suffixes split off);
 *  2. sort the raw parameters by (name, section, position) so that each
 *     name's pieces are adjacent and its RFC 2231 sections in order;
 *  3. decode one value per name into a string table, then copy everything
 *     into a single allocation (freeing a field is one free()).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "param-priv.h"
#include "charset-priv.h"

#include "mimeo/param.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Helpers shared with address.c                                          */

void mimeo__skip_cfws(const char *s, size_t len, size_t *pos, unsigned *repairs,
		      size_t *first_comment)
{
	size_t i = *pos;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t depth, start;

		if (mimeo__is_fws(c)) {
			i++;
			continue;
		}
		if (c != '(')
			break;
		/* RFC 5322 3.2.2: comments nest and may contain quoted-pairs. */
		depth = 1;
		start = ++i;
		while (i < len && depth) {
			c = (unsigned char)s[i];
			if (c == '\\' && i + 1 < len)
				i += 2;
			else {
				if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
				i++;
			}
		}
		if (depth) {
			if (repairs)
				*repairs |= MIMEO_REPAIR_SYNTAX;
			i = len;
		}
		if (first_comment && first_comment[1] == 0) {
			first_comment[0] = start;
			first_comment[1] = (depth ? i : i - 1) - start + 1;
			/* stored as length + 1 so that an empty comment is "set" */
		}
	}
	*pos = i;
}

int mimeo__raw_to_utf8(mimeo_charset_cache *cc, const mimeo_header_options *opts,
		       const char *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	size_t i;
	const char *label;

	for (i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			break;
	if (i == len)
		return mimeo_buf_put(out, in, len);
	if (repairs)
		*repairs |= MIMEO_REPAIR_RAW_8BIT;
	if (mimeo_utf8_valid_prefix(in, len) == len)
		return mimeo_buf_put(out, in, len);
	if (opts && (opts->flags & MIMEO_HEADER_STRICT)) {
		label = "utf-8";
	} else {
		int ok = opts && opts->default_charset &&
			 mimeo__charset_ascii_based(mimeo__charset_lookup(
				 opts->default_charset, strlen(opts->default_charset)));

		/* A header is ASCII-based: a default charset that would
		 * reinterpret ASCII bytes (UTF-16/32, UTF-7, HZ, replacement)
		 * cannot describe raw header text, so windows-1252 is used. */
		label = ok ? opts->default_charset : "windows-1252";
		if (!ok && repairs)
			*repairs |= MIMEO_REPAIR_FALLBACK_CP1252;
	}
	return mimeo_charset_to_utf8(cc, label, strlen(label), in, len, out, repairs);
}

int mimeo__buf_fix_nuls(mimeo_buf *out, size_t from, unsigned *repairs)
{
	size_t i, n = 0, extra, j;

	for (i = from; i < out->size; i++)
		n += out->ptr[i] == '\0';
	if (!n)
		return MIMEO_OK;
	if (repairs)
		*repairs |= MIMEO_REPAIR_SYNTAX;
	/* Each NUL (1 byte) becomes U+FFFD (3 bytes): grow, then move the
	 * tail right to left. */
	if (!mimeo__mul_ok(n, 2, &extra) || mimeo_buf_grow(out, extra) != MIMEO_OK)
		return MIMEO_ENOMEM;
	i = out->size;
	j = out->size + extra;
	out->ptr[j] = '\0';
	while (i > from) {
		char c = out->ptr[--i];

		if (c == '\0') {
			out->ptr[--j] = (char)0xBD;
			out->ptr[--j] = (char)0xBF;
			out->ptr[--j] = (char)0xEF;
		} else {
			out->ptr[--j] = c;
		}
	}
	out->size += extra;
	return MIMEO_OK;
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                */

/* RFC 2045 token characters (tspecials excluded).  Bytes >= 0x80 are let
 * in as well: raw 8-bit names and values are handled, not rejected. */
static int is_token(unsigned char c)
{
	if (c <= 32 || c == 127)
		return 0;
	return !strchr("()<>@,;:\\\"/[]?=", c);
}

/* One parameter as written, before joining RFC 2231 sections. */
struct raw_param {
	size_t name, name_len;  /* in scratch, lowercased, without "*N*" */
	size_t val, val_len;    /* in scratch, unquoted bytes */
	size_t order;           /* position in the header */
	long section;           /* RFC 2231 section number, -1 if none */
	int ext;                /* RFC 2231 "*" (charset'lang'%XX encoded) */
};

/* A decoded parameter in the string table. */
struct out_param {
	size_t name, value;     /* offsets in the string table */
	size_t lang;            /* RFC 2231 language, 0 if none (offset 0 is "") */
	size_t order;           /* first appearance of the name */
};

struct field_holder {
	mimeo_mime_field pub;   /* first: mimeo_mime_field_free casts back */
	const mimeo_allocator *alloc;
};

struct pctx {
	struct mimeo__fparse f; /* input, options, cache, strings; scratch
				   holds unquoted names and values */
	struct raw_param *raw;
	size_t nraw, araw;
	size_t lang, lang_len;  /* language of the group being decoded, in scratch */
};

static int raw_push(struct pctx *c, const struct raw_param *rp)
{
	return mimeo__array_push(c->f.alloc, (void **)&c->raw, &c->araw, &c->nraw, sizeof(*rp),
				 16, rp);
}

static int put_lower(mimeo_buf *b, const char *s, size_t n)
{
	size_t start = b->size, i = 0;

	/* Tokens are ASCII; raw 8-bit bytes are kept when they are UTF-8 and
	 * become U+FFFD otherwise, so names and types are always UTF-8. */
	while (i < n) {
		size_t ok = mimeo_utf8_valid_prefix(s + i, n - i);

		if (mimeo_buf_put(b, s + i, ok) != MIMEO_OK)
			return MIMEO_ENOMEM;
		i += ok;
		if (i < n) {
			if (mimeo_buf_put(b, "\xEF\xBF\xBD", 3) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i++;
		}
	}
	for (i = start; i < b->size; i++)
		b->ptr[i] = (char)mimeo__lower((unsigned char)b->ptr[i]);
	return MIMEO_OK;
}

/* Append the content of the quoted string starting at s[*pos] == '"' to
 * `b`, without quotes, quoted-pairs resolved and CR/LF removed (unfolding).
 * An unterminated string runs to the end (flagged). */
static int read_quoted(struct pctx *c, size_t *pos, mimeo_buf *b)
{
	const char *s = c->f.s;
	size_t i = *pos + 1, run = i;

	for (;;) {
		if (i >= c->f.len) {
			/* unterminated: the value runs to the end */
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			if (mimeo_buf_put(b, s + run, c->f.len - run) != MIMEO_OK)
				return MIMEO_ENOMEM;
			break;
		}
		if (s[i] == '"' || s[i] == '\\' || s[i] == '\r' || s[i] == '\n') {
			if (mimeo_buf_put(b, s + run, i - run) != MIMEO_OK)
				return MIMEO_ENOMEM;
			if (s[i] == '"') {
				i++;
				break;
			}
			if (s[i] == '\\' && i + 1 < c->f.len) {
				/* RFC 5322 quoted-pair: the next byte literally,
				 * unless it is a line break (then it is folding) */
				if (s[i + 1] != '\r' && s[i + 1] != '\n' &&
				    mimeo_buf_put(b, s + i + 1, 1) != MIMEO_OK)
					return MIMEO_ENOMEM;
				i += 2;
			} else {
				i++;
			}
			run = i;
			continue;
		}
		i++;
	}
	if (i > c->f.len)
		i = c->f.len;
	*pos = i;
	return MIMEO_OK;
}

/* Does s[i..] start "token [CFWS] =" (a parameter)? */
static int looks_like_param(const char *s, size_t len, size_t i)
{
	size_t j = i;

	while (j < len && is_token((unsigned char)s[j]))
		j++;
	if (j == i)
		return 0;
	while (j < len && mimeo__is_fws((unsigned char)s[j]))
		j++;
	return j < len && s[j] == '=';
}

/* The value after "name=": a quoted string or a lenient token.  Appends the
 * unquoted bytes to the scratch buffer. */
static int read_value(struct pctx *c, size_t *pos)
{
	const char *s = c->f.s;
	size_t len = c->f.len, i = *pos, start;

	mimeo__skip_cfws(s, len, &i, &c->f.repairs, NULL);
	if (i < len && s[i] == '"') {
		*pos = i;
		return read_quoted(c, pos, &c->f.scratch);
	}
	for (;;) {
		size_t k;

		start = i;
		while (i < len && !mimeo__is_fws((unsigned char)s[i]) && s[i] != ';' && s[i] != '(')
			i++;
		if (mimeo_buf_put(&c->f.scratch, s + start, i - start) != MIMEO_OK)
			return MIMEO_ENOMEM;
		/* Lenient: more words before the next ";" belong to the value
		 * ("name=my file.pdf"), unless they start a new parameter. */
		k = i;
		while (k < len && mimeo__is_fws((unsigned char)s[k]))
			k++;
		if (k == i || k >= len || s[k] == ';' || s[k] == '(' || s[k] == '"' ||
		    looks_like_param(s, len, k))
			break;
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		for (; i < k; i++)
			if (s[i] != '\r' && s[i] != '\n' &&
			    mimeo_buf_put(&c->f.scratch, s + i, 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
	}
	*pos = i;
	return MIMEO_OK;
}

/* Scan "name [CFWS] = value" at s[*pos] (a token character). */
static int read_param(struct pctx *c, size_t *pos)
{
	const char *s = c->f.s;
	size_t len = c->f.len, i = *pos, ns = i, ne, j, d;
	struct raw_param rp;
	int drop = 0;

	while (i < len && is_token((unsigned char)s[i]))
		i++;
	ne = i;
	j = i;
	mimeo__skip_cfws(s, len, &j, &c->f.repairs, NULL);
	if (j >= len || s[j] != '=') {
		/* "attachment; filename" - a name without a value: dropped */
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		*pos = j;
		return MIMEO_OK;
	}
	i = j + 1;

	memset(&rp, 0, sizeof(rp));
	rp.order = c->nraw;
	rp.section = -1;
	/* RFC 2231 3 and 4: "name*" = encoded value, "name*N" = section N,
	 * "name*N*" = encoded section N. */
	if (ne > ns && s[ne - 1] == '*') {
		rp.ext = 1;
		ne--;
	}
	d = ne;
	while (d > ns && s[d - 1] >= '0' && s[d - 1] <= '9')
		d--;
	if (d < ne && d > ns + 1 && s[d - 1] == '*') {
		if (ne - d > 9) {
			/* no real header has a billion sections: ignore it */
			drop = 1;
		} else {
			rp.section = 0;
			for (j = d; j < ne; j++)
				rp.section = rp.section * 10 + (s[j] - '0');
		}
		ne = d - 1;
	}
	rp.name = c->f.scratch.size;
	if (put_lower(&c->f.scratch, s + ns, ne - ns) != MIMEO_OK)
		return MIMEO_ENOMEM;
	rp.name_len = c->f.scratch.size - rp.name; /* U+FFFD may have grown it */
	rp.val = c->f.scratch.size;
	if (read_value(c, &i) != MIMEO_OK)
		return MIMEO_ENOMEM;
	rp.val_len = c->f.scratch.size - rp.val;
	*pos = i;
	if (drop || rp.name_len == 0) {
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		return MIMEO_OK;
	}
	return raw_push(c, &rp);
}

/* qsort has no context argument (and a file-static pointer would be global
 * state), so entries are sorted through keys that carry their own name
 * pointer. */
struct sort_key {
	const char *name;
	size_t name_len;
	long section;
	size_t order;
	size_t idx;
};

static int key_cmp(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int r = memcmp(x->name, y->name, n);

	if (r)
		return r;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return 0;
}

static int out_cmp(const void *a, const void *b)
{
	const struct out_param *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}


/* RFC 2231 %XX decoding; a bad escape stays literal (flagged). */
static int pct_decode(struct pctx *c, const char *v, size_t n, mimeo_buf *b)
{
	size_t i = 0, run = 0;

	while (i < n) {
		if (v[i] != '%') {
			i++;
			continue;
		}
		if (mimeo_buf_put(b, v + run, i - run) != MIMEO_OK)
			return MIMEO_ENOMEM;
		if (i + 2 < n && mimeo__hex_value((unsigned char)v[i + 1]) >= 0 &&
		    mimeo__hex_value((unsigned char)v[i + 2]) >= 0) {
			char ch = (char)(mimeo__hex_value((unsigned char)v[i + 1]) * 16 +
					 mimeo__hex_value((unsigned char)v[i + 2]));

			if (mimeo_buf_put(b, &ch, 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i += 3;
		} else {
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			if (mimeo_buf_put(b, "%", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i++;
		}
		run = i;
	}
	return mimeo_buf_put(b, v + run, n - run);
}

int mimeo__fparse_begin(struct mimeo__fparse *f, mimeo_charset_cache *cc,
			const mimeo_header_options *opts, const char *in, size_t len)
{
	const mimeo_allocator *alloc = mimeo__header_alloc(opts);

	if ((!in && len) || !mimeo__header_options_ok(opts))
		return MIMEO_EINVAL;
	f->alloc = alloc;
	f->cc = cc;
	f->own_cc = NULL;
	f->opts = opts;
	f->s = in ? in : "";
	f->len = len;
	f->repairs = 0;
	mimeo_buf_init(&f->strings, alloc);
	mimeo_buf_init(&f->scratch, alloc);
	return MIMEO_OK;
}

int mimeo__fparse_need_cc(struct mimeo__fparse *f)
{
	if (f->cc)
		return MIMEO_OK;
	if (mimeo_charset_cache_new(&f->own_cc, f->alloc) != MIMEO_OK)
		return MIMEO_ENOMEM;
	f->cc = f->own_cc;
	return MIMEO_OK;
}

void *mimeo__fparse_result(const struct mimeo__fparse *f, size_t head, size_t n, size_t elem,
			   char **strs)
{
	size_t total;
	char *block;

	if (!mimeo__mul_ok(n, elem, &total) || !mimeo__add_ok(total, head, &total) ||
	    !mimeo__add_ok(total, f->strings.size, &total))
		return NULL;
	block = mimeo__malloc(f->alloc, total);
	if (!block)
		return NULL;
	*strs = block + head + n * elem;
	if (f->strings.size)
		memcpy(*strs, f->strings.ptr, f->strings.size);
	return block;
}

void mimeo__fparse_end(struct mimeo__fparse *f)
{
	mimeo_charset_cache_free(f->own_cc);
	f->own_cc = NULL;
	mimeo_buf_dispose(&f->strings);
	mimeo_buf_dispose(&f->scratch);
}

/* A plain (not RFC 2231 encoded) value: ASCII without "=?" is copied;
 * otherwise RFC 2047 words are decoded (Outlook's quoted encoded words) and
 * raw 8-bit is read like raw header text. */
static int decode_plain(struct pctx *c, const char *v, size_t n)
{
	size_t i, start = c->f.strings.size;
	int eight = 0, ew = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] >= 0x80)
			eight = 1;
		else if (v[i] == '=' && i + 1 < n && v[i + 1] == '?')
			ew = 1;
	}
	if (!eight && !ew)
		return mimeo_buf_put(&c->f.strings, v, n);
	if (mimeo__fparse_need_cc(&c->f) != MIMEO_OK)
		return MIMEO_ENOMEM;
	if (c->f.opts && (c->f.opts->flags & MIMEO_HEADER_STRICT))
		return mimeo__raw_to_utf8(c->f.cc, c->f.opts, v, n, &c->f.strings, &c->f.repairs);
	if (mimeo_header_decode_text(c->f.cc, c->f.opts, v, n, &c->f.strings, &c->f.repairs) != MIMEO_OK)
		return MIMEO_ENOMEM;
	if (ew && (c->f.strings.size - start != n || memcmp(c->f.strings.ptr + start, v, n)))
		c->f.repairs |= MIMEO_REPAIR_ENCODED_WORD;
	return MIMEO_OK;
}

/* Convert RFC 2231 bytes from `charset` (may be empty) to UTF-8. */
static int decode_charset(struct pctx *c, const char *cs, size_t cs_len,
			  const char *bytes, size_t n)
{
	if (mimeo__fparse_need_cc(&c->f) != MIMEO_OK)
		return MIMEO_ENOMEM;
	if (cs_len == 0)
		return mimeo__raw_to_utf8(c->f.cc, c->f.opts, bytes, n, &c->f.strings, &c->f.repairs);
	return mimeo_charset_to_utf8(c->f.cc, cs, cs_len, bytes, n, &c->f.strings, &c->f.repairs);
}

/* A language tag as RFC 2231 section 4 means it (RFC 1766, now BCP 47):
 * a letter first, then letters, digits and '-'. */
static int lang_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char ch = (unsigned char)(s[i] | 0x20);

		if (!((ch >= 'a' && ch <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Split "charset'lang'rest" (RFC 2231 4) of the raw value at scratch offset
 * `val`.  Returns 1 and the charset and rest offsets when both quotes are
 * present, and notes the language (when well-formed; else it is dropped
 * and flagged) for the group being decoded. */
static int split_ext(struct pctx *c, size_t val, size_t n, size_t *cs_len, size_t *rest)
{
	const char *v = c->f.scratch.ptr + val;
	const char *q1 = memchr(v, '\'', n), *q2;

	if (!q1)
		return 0;
	q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v));
	if (!q2)
		return 0;
	*cs_len = (size_t)(q1 - v);
	*rest = (size_t)(q2 + 1 - v);
	if (lang_ok(q1 + 1, (size_t)(q2 - q1 - 1))) {
		c->lang = val + (size_t)(q1 + 1 - v);
		c->lang_len = (size_t)(q2 - q1 - 1);
	} else if (q2 > q1 + 1) {
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
	}
	return 1;
}

/* Decode the group keys[a..b) (one name, sorted by section then order). */
static int decode_group(struct pctx *c, const struct sort_key *keys, size_t a, size_t b)
{
	const char *sc = c->f.scratch.ptr;
	const struct raw_param *single_ext = NULL, *plain = NULL;
	size_t i, first_sec = b, nsec = 0;
	/* The multipart boundary is a protocol element matched byte for byte
	 * by the parser (RFC 2046 5.1.1), not text: its plain value is kept
	 * raw, so a boundary that looks like an encoded word is the same for
	 * mimeo as for other MIME parsers.  (Bytes that are not UTF-8 are
	 * still converted: values are UTF-8, and RFC 2046 allows only ASCII.) */
	int raw = keys[a].name_len == 8 && memcmp(keys[a].name, "boundary", 8) == 0;

	for (i = a; i < b; i++) {
		const struct raw_param *rp = &c->raw[keys[i].idx];

		if (rp->section < 0) {
			if (rp->ext && !single_ext)
				single_ext = rp;
			else if (!rp->ext && !plain)
				plain = rp;
			else
				c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* duplicate */
		} else {
			if (first_sec == b)
				first_sec = i;
			nsec++;
		}
	}
	if (plain && (single_ext || nsec))
		c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* both forms present */

	if (single_ext) {
		size_t cs_len, rest, base;
		const char *v = sc + single_ext->val;
		int rc;

		if (nsec)
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		if (!split_ext(c, single_ext->val, single_ext->val_len, &cs_len, &rest)) {
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			cs_len = 0;
			rest = 0;
		}
		/* %-decode at the end of the scratch buffer, convert, drop */
		base = c->f.scratch.size;
		/* the source lies in the same buffer: reserve room first (the
		 * output is never longer than the input) so it cannot move */
		if (mimeo_buf_grow(&c->f.scratch, single_ext->val_len) != MIMEO_OK)
			return MIMEO_ENOMEM;
		sc = c->f.scratch.ptr;
		v = sc + single_ext->val;
		if (pct_decode(c, v + rest, single_ext->val_len - rest, &c->f.scratch) != MIMEO_OK)
			return MIMEO_ENOMEM;
		sc = c->f.scratch.ptr; /* may have moved */
		v = sc + single_ext->val;
		rc = decode_charset(c, v, cs_len, sc + base, c->f.scratch.size - base);
		c->f.scratch.size = base;
		c->f.scratch.ptr[base] = '\0';
		return rc;
	}
	if (nsec) {
		size_t base = c->f.scratch.size, cs_len = 0, rest = 0;
		const struct raw_param *first = &c->raw[keys[first_sec].idx];
		long expect = 0, prev = -1;
		int any_ext = 0, has_cs = 0, rc;

		if (first->ext)
			has_cs = split_ext(c, first->val, first->val_len, &cs_len, &rest);
		for (i = first_sec; i < b; i++) {
			const struct raw_param *rp = &c->raw[keys[i].idx];
			size_t off = 0;

			if (rp->section == prev) {
				c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* repeated section */
				continue;
			}
			if (rp->section != expect)
				c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* missing piece */
			prev = rp->section;
			expect = rp->section + 1;
			if (rp == first && has_cs)
				off = rest;
			/* the source lies in the same buffer: reserve room first
			 * so that appending cannot move it */
			rc = mimeo_buf_grow(&c->f.scratch, rp->val_len);
			if (rc == MIMEO_OK && rp->ext) {
				any_ext = 1;
				rc = pct_decode(c, c->f.scratch.ptr + rp->val + off,
						rp->val_len - off, &c->f.scratch);
			} else if (rc == MIMEO_OK) {
				rc = mimeo_buf_put(&c->f.scratch, c->f.scratch.ptr + rp->val,
						   rp->val_len);
			}
			if (rc != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
		sc = c->f.scratch.ptr;
		if (any_ext)
			rc = decode_charset(c, sc + first->val, has_cs ? cs_len : 0, sc + base,
					    c->f.scratch.size - base);
		else
			rc = raw && mimeo_utf8_valid_prefix(sc + base, c->f.scratch.size - base) ==
					    c->f.scratch.size - base ?
				mimeo_buf_put(&c->f.strings, sc + base, c->f.scratch.size - base) :
				decode_plain(c, sc + base, c->f.scratch.size - base);
		c->f.scratch.size = base;
		c->f.scratch.ptr[base] = '\0';
		return rc;
	}
	if (raw && mimeo_utf8_valid_prefix(sc + plain->val, plain->val_len) == plain->val_len)
		return mimeo_buf_put(&c->f.strings, sc + plain->val, plain->val_len);
	return decode_plain(c, sc + plain->val, plain->val_len);
}

static int parse_params(struct pctx *c, size_t i, int need_sep,
			struct out_param **outp, size_t *nout)
{
	const char *s = c->f.s;
	size_t len = c->f.len, a, b, n = 0;
	struct sort_key *keys = NULL;
	struct out_param *outs = NULL;
	int rc = MIMEO_ENOMEM;

	for (;;) {
		mimeo__skip_cfws(s, len, &i, &c->f.repairs, NULL);
		if (i >= len)
			break;
		if (s[i] == ';') {
			need_sep = 0;
			i++;
			continue;
		}
		if (is_token((unsigned char)s[i])) {
			if (need_sep)
				c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* missing ";" */
			if (read_param(c, &i) != MIMEO_OK)
				return MIMEO_ENOMEM;
			need_sep = 1;
			continue;
		}
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		if (s[i] == '"') {
			/* a stray quoted string: skip it whole */
			size_t mark = c->f.scratch.size;

			if (read_quoted(c, &i, &c->f.scratch) != MIMEO_OK)
				return MIMEO_ENOMEM;
			c->f.scratch.size = mark;
		} else {
			i++;
		}
	}
	if (mimeo_buf_put(&c->f.scratch, "", 0) != MIMEO_OK)
		return MIMEO_ENOMEM; /* make sure scratch.ptr exists */
	*outp = NULL;
	*nout = 0;
	if (c->nraw == 0)
		return MIMEO_OK;

	keys = mimeo__calloc(c->f.alloc, c->nraw, sizeof(*keys));
	outs = mimeo__calloc(c->f.alloc, c->nraw, sizeof(*outs));
	if (!keys || !outs)
		goto out;
	for (a = 0; a < c->nraw; a++) {
		keys[a].name = c->f.scratch.ptr + c->raw[a].name;
		keys[a].name_len = c->raw[a].name_len;
		keys[a].section = c->raw[a].section;
		keys[a].order = c->raw[a].order;
		keys[a].idx = a;
	}
	qsort(keys, c->nraw, sizeof(*keys), key_cmp);
	for (a = 0; a < c->nraw; a = b) {
		size_t first = keys[a].order;

		for (b = a + 1; b < c->nraw && keys[b].name_len == keys[a].name_len &&
		     !memcmp(keys[b].name, keys[a].name, keys[a].name_len); b++)
			if (keys[b].order < first)
				first = keys[b].order;
		outs[n].order = first;
		outs[n].name = c->f.strings.size;
		if (mimeo_buf_put(&c->f.strings, keys[a].name, keys[a].name_len) != MIMEO_OK ||
		    mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
			goto out;
		outs[n].value = c->f.strings.size;
		/* scratch may grow (and move) while decoding: keys point into
		 * it, so refresh them afterwards */
		{
			char *old = c->f.scratch.ptr;
			size_t k;

			c->lang_len = 0;
			if (decode_group(c, keys, a, b) != MIMEO_OK)
				goto out;
			if (c->f.scratch.ptr != old)
				for (k = 0; k < c->nraw; k++)
					keys[k].name = c->f.scratch.ptr + c->raw[keys[k].idx].name;
		}
		if (mimeo__buf_fix_nuls(&c->f.strings, outs[n].value, &c->f.repairs) != MIMEO_OK ||
		    mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
			goto out;
		if (c->lang_len) {
			outs[n].lang = c->f.strings.size;
			if (put_lower(&c->f.strings, c->f.scratch.ptr + c->lang, c->lang_len) != MIMEO_OK ||
			    mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
				goto out;
		}
		n++;
	}
	qsort(outs, n, sizeof(*outs), out_cmp);
	*outp = outs;
	*nout = n;
	outs = NULL;
	rc = MIMEO_OK;
out:
	mimeo__free(c->f.alloc, keys);
	mimeo__free(c->f.alloc, outs);
	return rc;
}

int mimeo_mime_field_parse(mimeo_mime_field **out, mimeo_charset_cache *cc,
			   const mimeo_header_options *opts, const char *value, size_t len)
{
	const mimeo_allocator *alloc = mimeo__header_alloc(opts);
	struct pctx c;
	struct out_param *outs = NULL;
	size_t nout = 0, i = 0, start, type_off, sub_off = 0, k;
	int has_sub = 0, rc = MIMEO_ENOMEM;
	struct field_holder *h;
	mimeo_param *params;
	const char **langs;
	char *strs;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (mimeo__fparse_begin(&c.f, cc, opts, value, len) != MIMEO_OK)
		return MIMEO_EINVAL;
	value = c.f.s;

	/* RFC 2045 5.1: type "/" subtype, CFWS allowed around the tokens. */
	mimeo__skip_cfws(value, len, &i, &c.f.repairs, NULL);
	start = i;
	while (i < len && is_token((unsigned char)value[i]))
		i++;
	k = i;
	mimeo__skip_cfws(value, len, &k, &c.f.repairs, NULL);
	type_off = 0;
	if (mimeo_buf_put(&c.f.strings, "", 1) != MIMEO_OK) /* "" at offset 0 */
		goto out;
	if (k < len && value[k] == '=') {
		/* "Content-Type: charset=utf-8": no type at all */
		c.f.repairs |= MIMEO_REPAIR_SYNTAX;
		i = start;
	} else {
		if (i > start) {
			type_off = c.f.strings.size;
			if (put_lower(&c.f.strings, value + start, i - start) != MIMEO_OK ||
			    mimeo_buf_put(&c.f.strings, "", 1) != MIMEO_OK)
				goto out;
		}
		i = k;
		if (i < len && value[i] == '/') {
			i++;
			mimeo__skip_cfws(value, len, &i, &c.f.repairs, NULL);
			start = i;
			while (i < len && is_token((unsigned char)value[i]))
				i++;
			has_sub = 1;
			sub_off = c.f.strings.size;
			if (put_lower(&c.f.strings, value + start, i - start) != MIMEO_OK ||
			    mimeo_buf_put(&c.f.strings, "", 1) != MIMEO_OK)
				goto out;
		}
	}
	if (parse_params(&c, i, type_off != 0 || has_sub, &outs, &nout) != MIMEO_OK)
		goto out;

	/* One block: holder, parameter array, language array, strings. */
	h = mimeo__fparse_result(&c.f, sizeof(*h), nout, sizeof(mimeo_param) + sizeof(char *),
				 &strs);
	if (!h)
		goto out;
	params = (mimeo_param *)(h + 1);
	langs = (const char **)(params + nout);
	for (k = 0; k < nout; k++) {
		params[k].name = strs + outs[k].name;
		params[k].value = strs + outs[k].value;
		langs[k] = outs[k].lang ? strs + outs[k].lang : NULL;
	}
	h->alloc = alloc;
	h->pub.type = strs + type_off;
	h->pub.subtype = has_sub ? strs + sub_off : NULL;
	h->pub.params = nout ? params : NULL;
	h->pub.nparams = nout;
	h->pub.repairs = c.f.repairs;
	h->pub.languages = nout ? langs : NULL;
	*out = &h->pub;
	rc = MIMEO_OK;
out:
	mimeo__free(alloc, outs);
	mimeo__free(alloc, c.raw);
	mimeo__fparse_end(&c.f);
	return rc;
}

/* Index of parameter `name` (ASCII case-insensitive) in f->params, or
 * f->nparams when absent. */
static size_t find_param(const mimeo_mime_field *f, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < f->nparams; i++) {
		const char *p = f->params[i].name;
		size_t k;

		for (k = 0; k < n; k++)
			if (mimeo__lower((unsigned char)name[k]) != (unsigned char)p[k])
				break;
		if (k == n && p[n] == '\0')
			break;
	}
	return i;
}

const char *mimeo_mime_field_param(const mimeo_mime_field *f, const char *name)
{
	size_t i;

	if (!f || !name)
		return NULL;
	i = find_param(f, name);
	return i < f->nparams ? f->params[i].value : NULL;
}

const char *mimeo_mime_field_param_language(const mimeo_mime_field *f, const char *name)
{
	size_t i;

	if (!f || !name)
		return NULL;
	i = find_param(f, name);
	return i < f->nparams && f->languages ? f->languages[i] : NULL;
}

void mimeo_mime_field_free(mimeo_mime_field *f)
{
	struct field_holder *h = (struct field_holder *)f;

	if (!f)
		return;
	mimeo__free(h->alloc, h);
}

/* ---------------------------------------------------------------------- */
/* Encoding (RFC 2231 sections 3 and 4)                                   */

/* Bytes left alone in an RFC 2231 extended value: attribute-char minus a
 * few that some decoders mishandle; everything else is %XX. */
static int ext_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$&+-.^_`|~", c));
}

/* Length of the UTF-8 character starting with lead byte c (the input has
 * been validated, so this is exact). */
static size_t u8len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* One encoding unit: a whole character, as it is written in the value. */
static size_t unit_width(const char *v, size_t i, size_t n, int ext, size_t *bytes)
{
	unsigned char c = (unsigned char)v[i];

	if (ext) {
		size_t k, l = u8len(c), w = 0;

		if (l > n - i)
			l = n - i;
		for (k = 0; k < l; k++)
			w += ext_plain((unsigned char)v[i + k]) ? 1 : 3;
		*bytes = l;
		return w;
	}
	*bytes = 1;
	return (c == '"' || c == '\\') ? 2 : 1;
}

static int put_unit(mimeo_buf *out, const char *v, size_t i, size_t bytes, int ext)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k;

	for (k = 0; k < bytes; k++) {
		unsigned char c = (unsigned char)v[i + k];
		char e[3];

		if (ext && !ext_plain(c)) {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			if (mimeo_buf_put(out, e, 3) != MIMEO_OK)
				return MIMEO_ENOMEM;
		} else {
			if (!ext && (c == '"' || c == '\\') && mimeo_buf_put(out, "\\", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			if (mimeo_buf_put(out, (const char *)&c, 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
	}
	return MIMEO_OK;
}

static int put_num(mimeo_buf *out, size_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return mimeo_buf_put(out, tmp + n, sizeof(tmp) - n);
}

/* Replace invalid UTF-8 by U+FFFD into `clean`. */
static int sanitize_utf8(const char *v, size_t n, mimeo_buf *clean)
{
	size_t i = 0;

	while (i < n) {
		size_t ok = mimeo_utf8_valid_prefix(v + i, n - i);

		if (mimeo_buf_put(clean, v + i, ok) != MIMEO_OK)
			return MIMEO_ENOMEM;
		i += ok;
		if (i < n) {
			if (mimeo_buf_put(clean, "\xEF\xBF\xBD", 3) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i++;
		}
	}
	return MIMEO_OK;
}

static int param_encode_body(const char *name, const char *utf8, size_t len, size_t start_col,
		       unsigned flags, mimeo_buf *out)
{
	const char *fold = (flags & MIMEO_HEADER_FOLD_CRLF) ? ";\r\n\t" : ";\n\t";
	mimeo_buf clean;
	const char *v;
	size_t nlen, i, w, total, sec, col, bytes;
	int ext = 0, token = 1, rc = MIMEO_ENOMEM;

	if (!name || !out || (!utf8 && len))
		return MIMEO_EINVAL;
	nlen = strlen(name);
	if (nlen == 0 || nlen > 200)
		return MIMEO_EINVAL;
	for (i = 0; i < nlen; i++)
		if (!is_token((unsigned char)name[i]) || (unsigned char)name[i] >= 0x80 ||
		    name[i] == '*' || name[i] == '\'' || name[i] == '%')
			return MIMEO_EINVAL;
	mimeo_buf_init(&clean, out->alloc);
	if (len && mimeo_utf8_valid_prefix(utf8, len) != len) {
		if (sanitize_utf8(utf8, len, &clean) != MIMEO_OK)
			goto out;
		v = clean.ptr;
		len = clean.size;
	} else {
		v = len ? utf8 : "";
	}

	/* Extended (RFC 2231 4) form for non-ASCII or control characters, and
	 * for "=?" that a decoder might take for RFC 2047. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c >= 0x7F || c < 0x20 || (c == '=' && i + 1 < len && v[i + 1] == '?'))
			ext = 1;
		if (!is_token(c))
			token = 0;
	}
	if (len == 0)
		token = 0;

	/* width of the whole value in its single-line form */
	w = 0;
	for (i = 0; i < len; i += bytes)
		w += unit_width(v, i, len, ext, &bytes);
	total = start_col + nlen + w + (ext ? 1 + 7 : 0) + 1 + (token || ext ? 0 : 2) + 1;
	if (total <= MIMEO__FOLD_COLUMN) {
		if (mimeo_buf_put(out, name, nlen) != MIMEO_OK)
			goto out;
		if (ext) {
			if (mimeo_buf_puts(out, "*=utf-8''") != MIMEO_OK)
				goto out;
		} else if (mimeo_buf_puts(out, token ? "=" : "=\"") != MIMEO_OK) {
			goto out;
		}
		for (i = 0; i < len; i += bytes) {
			unit_width(v, i, len, ext, &bytes);
			if (put_unit(out, v, i, bytes, ext) != MIMEO_OK)
				goto out;
		}
		if (!ext && !token && mimeo_buf_put(out, "\"", 1) != MIMEO_OK)
			goto out;
		rc = MIMEO_OK;
		goto out;
	}

	/* RFC 2231 3: continuations name*0, name*1, ... one per line, each
	 * line within 78 columns when the name leaves room (at least one
	 * character per section otherwise), never splitting a character. */
	i = 0;
	col = start_col;
	for (sec = 0; i < len || sec == 0; sec++) {
		size_t room, used;

		if (sec > 0) {
			if (mimeo_buf_puts(out, fold) != MIMEO_OK)
				goto out;
			col = 1;
		}
		if (mimeo_buf_put(out, name, nlen) != MIMEO_OK ||
		    mimeo_buf_put(out, "*", 1) != MIMEO_OK || put_num(out, sec) != MIMEO_OK)
			goto out;
		col += nlen + 1 + (sec < 10 ? 1 : sec < 100 ? 2 : 6);
		if (ext) {
			if (mimeo_buf_puts(out, sec == 0 ? "*=utf-8''" : "*=") != MIMEO_OK)
				goto out;
			col += sec == 0 ? 9 : 2;
		} else {
			if (mimeo_buf_puts(out, "=\"") != MIMEO_OK)
				goto out;
			col += 3; /* =" and the closing quote */
		}
		room = col + 1 < MIMEO__FOLD_COLUMN ? MIMEO__FOLD_COLUMN - col - 1 : 0; /* 1 for ";" */
		used = 0;
		while (i < len) {
			size_t uw = unit_width(v, i, len, ext, &bytes);

			/* a later line has room for at least one character;
			 * the first may not (the caller's column): then section
			 * 0 stays empty, which RFC 2231 allows */
			if ((used || sec == 0) && used + uw > room)
				break;
			if (put_unit(out, v, i, bytes, ext) != MIMEO_OK)
				goto out;
			used += uw;
			i += bytes;
			if (used >= room)
				break;
		}
		if (!ext && mimeo_buf_put(out, "\"", 1) != MIMEO_OK)
			goto out;
	}
	rc = MIMEO_OK;
out:
	mimeo_buf_dispose(&clean);
	return rc;
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_param_encode(const char *name, const char *utf8, size_t len, size_t start_col,
		       unsigned flags, mimeo_buf *out)
{
	int rc = param_encode_body(name, utf8, len, start_col, flags, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}
