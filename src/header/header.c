/*
 * header.c - header unfolding and RFC 2047 encoded words, both directions.
 *
 * Decoding is one linear pass.  Encoded words are recognised where "=?"
 * appears; the ends ("?=") and starts ("=?") ahead are found through
 * memoised forward searches, so a field of 10,000 broken words costs no
 * re-scan.  The decoded bytes of adjacent words in the same charset are
 * appended to one "run" buffer and converted once when the run ends
 * (RFC 2047 section 6.2 lets a character straddle words in practice).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-priv.h"
#include "mimeo/header.h"
#include "header-priv.h"

/* RFC 2047 section 2: an encoded word is at most 75 characters. */
#define EW_MAX 75
/* Longest charset (with *language) we look at. */
#define EW_CHARSET_MAX 64

static const unsigned char fffd[3] = { 0xEF, 0xBF, 0xBD };

/* ------------------------------------------------------------------ */
/* unfolding                                                           */
/* ------------------------------------------------------------------ */

static int header_unfold_body(const char *in, size_t len, mimeo_buf *out)
{
	size_t i = 0;
	int rc;

	if ((rc = mimeo_buf_grow(out, len)))
		return rc;
	while (i < len) {
		size_t j = i;

		while (j < len && in[j] != '\r' && in[j] != '\n')
			j++;
		if ((rc = mimeo_buf_put(out, in + i, j - i)))
			return rc;
		i = j + 1;
	}
	return MIMEO_OK;
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_header_unfold(const char *in, size_t len, mimeo_buf *out)
{
	int rc = header_unfold_body(in, len, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

/* ------------------------------------------------------------------ */
/* decoder state                                                       */
/* ------------------------------------------------------------------ */

struct dec {
	mimeo_charset_cache *cc;
	mimeo_buf *out;
	unsigned *rep;
	int strict;
	int def_enc;          /* charset for raw 8-bit text that is not UTF-8 */
	unsigned def_flag;    /* MIMEO_REPAIR_FALLBACK_CP1252 when that is the default */
	int started;          /* something was output (leading whitespace is trimmed) */
	int in_run;           /* the last token was an encoded word */
	int run_enc;          /* its encoding (MIMEO__ENC_UNKNOWN: see run_label) */
	const char *run_label;
	size_t run_label_len;
	mimeo_buf *run;       /* decoded bytes of the current run */
	const char *ws;       /* whitespace seen after the last token, pending */
	size_t ws_len;
	int in_quote;         /* decoding inside a quoted string (lenient only) */
	int err;              /* sticky MIMEO_ENOMEM */
};

/* Memoised forward search for a two-byte pattern.  Queries come with
 * non-decreasing `from` (see parse_ew), so each byte is looked at once. */
struct memo {
	size_t from, at;      /* first match at or after `from` is at `at` (n: none) */
	int valid;
};

struct scan {
	const char *s;
	size_t n;
	struct memo end;      /* "?=" */
	struct memo start;    /* "=?" */
};

static size_t memo_find(const struct scan *sc, struct memo *m, char a, char b, size_t from)
{
	const char *p;
	size_t i = from;

	if (m->valid && from >= m->from && from <= m->at)
		return m->at;
	for (;;) {
		p = i < sc->n ? memchr(sc->s + i, a, sc->n - i) : NULL;
		if (!p || (size_t)(p - sc->s) + 1 >= sc->n) {
			i = sc->n;
			break;
		}
		i = (size_t)(p - sc->s);
		if (sc->s[i + 1] == b)
			break;
		i++;
	}
	m->valid = 1;
	m->from = from;
	m->at = i;
	return i;
}

static void put(struct dec *d, const void *p, size_t n)
{
	if (!d->err && n)
		d->err = mimeo_buf_put(d->out, p, n);
}

/* Raw text outside encoded words: ASCII and valid UTF-8 (RFC 6532) pass,
 * other 8-bit text is read in the default charset (lenient) or repaired. */
/* Raw ISO-2022-JP (old Japanese mailers sent it unencoded): 7-bit text
 * with a JIS X 0208 designation.  Thunderbird reads it too. */
static int raw_iso2022jp(const char *s, size_t n)
{
	const char *p = memchr(s, 0x1B, n);

	for (; p && p + 2 < s + n; p = memchr(p + 1, 0x1B, (size_t)(s + n - p - 1)))
		if (p[1] == '$' && (p[2] == 'B' || p[2] == '@'))
			return 1;
	return 0;
}

/*
 * Raw 8-bit text that is not valid UTF-8 as a whole, when no charset was
 * declared for it (the windows-1252 fallback): decided per invalid
 * sequence (issue 15 class 10).  Valid UTF-8 sequences stay UTF-8; each
 * byte that starts no valid sequence is read as windows-1252, that byte
 * only.  So a UTF-8 Russian word followed by a stray 0xF1 keeps its
 * letters and gets one U+00F1, where reading the whole word as
 * windows-1252 made mojibake of every letter ("\xc3\x90\xc2\xbc..."); Western
 * windows-1252 text ("\xe9t\xe9") reads as before, since its 8-bit letters
 * are followed by ASCII and start no valid sequence.
 */
static void raw_mixed(struct dec *d, const char *s, size_t n)
{
	size_t i = 0, j, v;

	while (i < n && !d->err) {
		v = mimeo_utf8_valid_prefix(s + i, n - i);
		if (v)
			put(d, s + i, v);
		i += v;
		if (i == n)
			break;
		/* s[i] starts no valid sequence; so may the bytes after it */
		for (j = i + 1; j < n && (unsigned char)s[j] >= 0x80 &&
				mimeo_utf8_valid_prefix(s + j, n - j) == 0; j++)
			;
		d->err = mimeo__charset_convert(d->cc, d->def_enc, MIMEO_REPAIR_FALLBACK_CP1252,
						s + i, j - i, d->out, d->rep);
		i = j;
	}
}

static void raw_bytes(struct dec *d, const char *s, size_t n)
{
	size_t i;
	int esc = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			break;
		esc |= s[i] == 0x1B;
	}
	if (i == n && esc && !d->strict && raw_iso2022jp(s, n)) {
		*d->rep |= MIMEO_REPAIR_RAW_8BIT;
		if (!d->err)
			d->err = mimeo__charset_convert(d->cc,
				mimeo__charset_lookup("iso-2022-jp", 11), 0, s, n, d->out, d->rep);
		return;
	}
	if (i == n) {
		put(d, s, n);
		return;
	}
	*d->rep |= MIMEO_REPAIR_RAW_8BIT;
	if (mimeo_utf8_valid_prefix(s, n) == n) {
		put(d, s, n);
		return;
	}
	if (d->err)
		return;
	if (d->strict) {
		d->err = mimeo__utf8_repair(s, n, d->out, d->rep);
	} else if (d->def_flag) {
		*d->rep |= d->def_flag;
		raw_mixed(d, s, n);
	} else {
		/* a default the caller declared: the word is read in it as a
		 * whole, since its characters may pair into valid UTF-8
		 * sequences (windows-1251 "\xc2\xb3", a Ukrainian capital
		 * Ve and small i, is UTF-8 U+00F3; ISO-8859-5 capitals;
		 * Shift_JIS and GBK pairs) */
		d->err = mimeo__charset_convert(d->cc, d->def_enc, MIMEO_REPAIR_FALLBACK_CP1252,
						s, n, d->out, d->rep);
	}
}

static void flush_run(struct dec *d)
{
	if (!d->in_run)
		return;
	d->in_run = 0;
	if (!d->err && d->run->size)
		d->err = mimeo__charset_convert(d->cc, d->run_enc, MIMEO_REPAIR_UNKNOWN_CHARSET,
						d->run->ptr, d->run->size, d->out, d->rep);
	mimeo_buf_clear(d->run);
}

static void flush_ws(struct dec *d)
{
	if (d->ws_len && d->started)
		put(d, d->ws, d->ws_len);
	d->ws_len = 0;
}

/* Ordinary text: ends a run of encoded words; pending whitespace is kept. */
static void tok_raw(struct dec *d, const char *s, size_t n)
{
	if (!n)
		return;
	flush_run(d);
	flush_ws(d);
	raw_bytes(d, s, n);
	d->started = 1;
}

static void tok_ws(struct dec *d, const char *s, size_t n)
{
	if (!d->started)
		return;          /* leading whitespace is trimmed */
	d->ws = s;
	d->ws_len = n;
}

/* End of a quoted string or comment: its trailing whitespace is content. */
static void seg_end(struct dec *d)
{
	flush_run(d);
	flush_ws(d);
}

/* ------------------------------------------------------------------ */
/* encoded words                                                       */
/* ------------------------------------------------------------------ */

struct ew {
	size_t end;           /* index after "?=" */
	const char *cs;       /* charset, without *language */
	size_t cs_len;
	int enc;              /* its encoding index */
	int b;                /* B (else Q) */
	const char *text;
	size_t text_len;
	int lenient;          /* a lenient rule was needed */
};

/* RFC 2047 token characters allowed in a charset (plus '*' for the RFC
 * 2231 language suffix and '.' seen in the wild). */
static int cs_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7F)
		return 0;
	switch (c) {
	case '?': case '=': case '"': case '(': case ')': case ',': case '<': case '>':
	case '@': case ';': case ':': case '[': case ']': case '\\': case '/':
		return 0;
	}
	return 1;
}



/* Strict B text: alphabet, '=' padding only at the end, whole quanta. */
static int b_strict_ok(const char *t, size_t n)
{
	size_t i = 0;

	if (n % 4)
		return 0;
	while (i < n && mimeo__b64_value((unsigned char)t[i]) >= 0)
		i++;
	if (n - i > 2)
		return 0;
	for (; i < n; i++)
		if (t[i] != '=')
			return 0;
	return 1;
}

/* Whitespace or '?' inside the text (RFC 2047 section 2 forbids both). */
static int text_has_ws_or_q(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i] == ' ' || t[i] == '\t' || t[i] == '?')
			return 1;
	return 0;
}

/* Recognise an encoded word at p ("=?" already seen). */
static int parse_ew(struct dec *d, struct scan *sc, size_t p, struct ew *w)
{
	const char *s = sc->s;
	size_t n = sc->n, i = p + 2, cs0 = p + 2, t, e, star;

	while (i < n && i - cs0 <= EW_CHARSET_MAX && cs_char((unsigned char)s[i]))
		i++;
	if (i == cs0 || i + 3 >= n || s[i] != '?' || s[i + 2] != '?')
		return 0;
	switch (s[i + 1]) {
	case 'B': case 'b': w->b = 1; break;
	case 'Q': case 'q': w->b = 0; break;
	default: return 0;
	}
	t = i + 3;
	e = memo_find(sc, &sc->end, '?', '=', t);
	if (e >= n)
		return 0;
	/* The text must not contain the start of another word: that is an
	 * unterminated word followed by a real one. */
	if (memo_find(sc, &sc->start, '=', '?', t) + 1 < e)
		return 0;
	w->end = e + 2;
	w->text = s + t;
	w->text_len = e - t;
	w->lenient = 0;
	if (text_has_ws_or_q(w->text, w->text_len)) {
		if (d->strict)
			return 0;
		w->lenient = 1;
	}
	if (w->end - p > EW_MAX) {
		if (d->strict)
			return 0;
		w->lenient = 1;
	}
	if (d->strict && w->b && !b_strict_ok(w->text, w->text_len))
		return 0;
	/* RFC 2231 section 5: charset "*" language. */
	for (star = cs0; star < i && s[star] != '*'; star++)
		;
	w->cs = s + cs0;
	w->cs_len = star - cs0;
	w->enc = mimeo__charset_lookup_cc(d->cc, w->cs, w->cs_len);
	return 1;
}

/* Where the n bytes a decoded text may take go in the run, or NULL when
 * there is no room (d->err set) or an error came before. */
static char *run_room(struct dec *d, size_t n)
{
	if (d->err || (d->err = mimeo_buf_grow(d->run, n)))
		return NULL;
	return d->run->ptr + d->run->size;
}

/* The run's decoded text ends at o. */
static void run_end(struct dec *d, char *o)
{
	d->run->size = (size_t)(o - d->run->ptr);
	d->run->ptr[d->run->size] = '\0';
}

/* Append the decoded Q text (RFC 2047 section 4.2) to the run. */
static void q_decode(struct dec *d, const char *t, size_t n)
{
	char *o = run_room(d, n);
	size_t i;

	if (!o)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		int h, l;

		if (c == '_') {
			c = ' ';
		} else if (c == '=') {
			if (i + 2 < n && (h = mimeo__hex_value((unsigned char)t[i + 1])) >= 0 &&
			    (l = mimeo__hex_value((unsigned char)t[i + 2])) >= 0) {
				c = (unsigned char)(h << 4 | l);
				i += 2;
			} else {
				*d->rep |= MIMEO_REPAIR_ENCODED_WORD;
			}
		}
		*o++ = (char)c;
	}
	run_end(d, o);
}

/* Append the decoded B text (RFC 2047 section 4.1, RFC 4648) to the run.
 * Lenient: other characters are skipped and '=' ends a group early, so
 * concatenated padded groups ("YQ==Yg==") decode too. */
static void b_decode(struct dec *d, const char *t, size_t n)
{
	char *o = run_room(d, n);
	unsigned acc = 0, bits = 0;
	size_t i;

	if (!o)
		return;
	for (i = 0; i < n; i++) {
		int v = mimeo__b64_value((unsigned char)t[i]);

		if (v < 0) {
			if (t[i] == '=') {
				acc = bits = 0;   /* padding: drop partial bits */
			} else if (t[i] != ' ' && t[i] != '\t') {
				*d->rep |= MIMEO_REPAIR_ENCODED_WORD;
			}
			continue;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* 6 leftover bits cannot form a byte: a truncated quantum. */
	if (bits >= 6)
		*d->rep |= MIMEO_REPAIR_TRUNCATED;
	run_end(d, o);
}

static int label_ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mimeo__lower((unsigned char)a[i]) != mimeo__lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int same_charset(const struct dec *d, const struct ew *w)
{
	if (w->enc != d->run_enc)
		return 0;
	if (w->enc != MIMEO__ENC_UNKNOWN)
		return 1;
	return d->run_label_len == w->cs_len &&
	       label_ieq(d->run_label, w->cs, w->cs_len);
}

/* An encoded word: whitespace since an adjacent encoded word is dropped
 * (RFC 2047 section 6.2); same-charset neighbours share one run. */
/* Length of a byte order mark of UTF-16/32 encoding `enc` at p, else 0. */
static size_t bom_len(int enc, const unsigned char *p, size_t n)
{
	const char *name = mimeo__charset_name(enc);

	if (!name || strncmp(name, "utf-", 4))
		return 0;
	if (!strncmp(name, "utf-16", 6) && n >= 2 &&
	    ((p[0] == 0xFE && p[1] == 0xFF) || (p[0] == 0xFF && p[1] == 0xFE)))
		return 2;
	if (!strncmp(name, "utf-32", 6) && n >= 4 &&
	    (!memcmp(p, "\xFF\xFE\0\0", 4) || !memcmp(p, "\0\0\xFE\xFF", 4)))
		return 4;
	return 0;
}

static void tok_ew(struct dec *d, const struct ew *w)
{
	int joined = d->in_run && same_charset(d, w);
	size_t before, bom;

	if (w->lenient || d->in_quote)
		*d->rep |= MIMEO_REPAIR_ENCODED_WORD;
	if (d->in_run) {
		d->ws_len = 0;
		if (!same_charset(d, w))
			flush_run(d);
	} else {
		flush_ws(d);
	}
	if (!d->in_run) {
		d->in_run = 1;
		d->run_enc = w->enc;
		d->run_label = w->cs;
		d->run_label_len = w->cs_len;
	}
	d->started = 1;
	before = d->run->size;
	if (w->b)
		b_decode(d, w->text, w->text_len);
	else
		q_decode(d, w->text, w->text_len);
	/* Each UTF-16 word may carry its own BOM: only the run's first one
	 * counts (the converter drops that one). */
	if (joined && !d->err && d->run->size > before &&
	    (bom = bom_len(w->enc, (unsigned char *)d->run->ptr + before, d->run->size - before))) {
		memmove(d->run->ptr + before, d->run->ptr + before + bom, d->run->size - before - bom);
		d->run->size -= bom;
		d->run->ptr[d->run->size] = '\0';
	}
}

/* Which bytes stop the plain-text scan. */
static int stop_char(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '=';
}

/* Decode a span of text that may hold encoded words.  collapse: runs of
 * whitespace become one space (phrases). */
static void dec_span(struct dec *d, const char *s, size_t n, int collapse)
{
	struct scan sc;
	size_t i = 0, raw = 0;

	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	sc.n = n;
	while (i < n && !d->err) {
		size_t j = i, k;
		struct ew w;

		while (j + 4 <= n && !stop_char((unsigned char)s[j]) &&
		       !stop_char((unsigned char)s[j + 1]) && !stop_char((unsigned char)s[j + 2]) &&
		       !stop_char((unsigned char)s[j + 3]))
			j += 4;
		while (j < n && !stop_char((unsigned char)s[j]))
			j++;
		if (j >= n)
			break;
		if (s[j] != '=') {
			tok_raw(d, s + raw, j - raw);
			for (k = j; k < n && mimeo__is_ws((unsigned char)s[k]); k++)
				;
			tok_ws(d, collapse ? " " : s + j, collapse ? 1 : k - j);
			i = raw = k;
			continue;
		}
		i = j + 1;
		if (j + 1 >= n || s[j + 1] != '?' || (d->strict && j != raw))
			continue;
		if (!parse_ew(d, &sc, j, &w))
			continue;
		if (w.end < n && !mimeo__is_ws((unsigned char)s[w.end])) {
			/* Not followed by whitespace (RFC 2047 section 5 (1)). */
			if (d->strict)
				continue;
			w.lenient = 1;
		}
		if (j > raw) {
			w.lenient = 1;
			tok_raw(d, s + raw, j - raw);
		}
		tok_ew(d, &w);
		i = raw = w.end;
	}
	tok_raw(d, s + raw, n - raw);
}

/* ------------------------------------------------------------------ */
/* entry points                                                        */
/* ------------------------------------------------------------------ */

/* Decoded NUL bytes become U+FFFD and CR/LF spaces: the result is one
 * line with no embedded NUL (a decoded CRLF must not smuggle a new header
 * line into whatever re-emits the text). */
static void sanitize(struct dec *d, size_t from, mimeo_buf *tmp)
{
	mimeo_buf *o = d->out;
	size_t i;

	/* Skip eight bytes at a time while none is below 0x0E. */
	for (i = from; i + 8 <= o->size; i += 8) {
		uint64_t w;

		memcpy(&w, o->ptr + i, 8);
		if ((w - 0x0E0E0E0E0E0E0E0Eull) & ~w & 0x8080808080808080ull)
			break;
	}
	for (; i < o->size; i++) {
		unsigned char c = (unsigned char)o->ptr[i];

		if (c == 0 || c == '\r' || c == '\n')
			break;
	}
	if (i >= o->size || d->err)
		return;
	*d->rep |= MIMEO_REPAIR_SYNTAX;
	mimeo_buf_clear(tmp);
	if ((d->err = mimeo_buf_put(tmp, o->ptr + i, o->size - i)))
		return;
	o->size = i;
	o->ptr[i] = '\0';
	for (i = 0; i < tmp->size && !d->err; i++) {
		unsigned char c = (unsigned char)tmp->ptr[i];

		if (c == 0)
			put(d, fffd, 3);
		else if (c == '\r' || c == '\n')
			put(d, " ", 1);
		else
			put(d, &c, 1);
	}
}

/* The result never starts or ends with whitespace, also when it came out
 * of an encoded word ("=?utf-8?q?_Hi_?="). */
static void trim(mimeo_buf *o, size_t from)
{
	size_t a = from;

	while (o->size > from && mimeo__is_ws((unsigned char)o->ptr[o->size - 1]))
		o->size--;
	while (a < o->size && mimeo__is_ws((unsigned char)o->ptr[a]))
		a++;
	if (a > from) {
		memmove(o->ptr + from, o->ptr + a, o->size - a);
		o->size -= a - from;
	}
	if (o->ptr)
		o->ptr[o->size] = '\0';
}

/* A cache lives long: do not keep scratch space of a huge field around. */
static void release_scratch(mimeo_charset_cache *cc)
{
	int i;

	for (i = 0; i < MIMEO__SCRATCH_N; i++) {
		mimeo_buf *b = mimeo__charset_scratch(cc, i);

		if (b->asize > ((size_t)1 << 20))
			mimeo_buf_dispose(b);
	}
}

typedef void (*decode_fn)(struct dec *d, const char *s, size_t n);

static int run_decoder(mimeo_charset_cache *cc, const mimeo_header_options *opts,
		       const char *in, size_t len, mimeo_buf *out, unsigned *repairs,
		       decode_fn fn)
{
	mimeo_charset_cache *tmp = NULL;
	mimeo_buf *unfold;
	struct dec d;
	unsigned dummy = 0;
	size_t start = out->size;
	int rc;

	if (!mimeo__header_options_ok(opts))
		return MIMEO_EINVAL;
	if (!cc) {
		if ((rc = mimeo_charset_cache_new(&tmp, out->alloc)))
			return rc;
		cc = tmp;
	}
	memset(&d, 0, sizeof(d));
	d.cc = cc;
	d.out = out;
	d.rep = repairs ? repairs : &dummy;
	d.strict = opts && (opts->flags & MIMEO_HEADER_STRICT);
	d.def_enc = mimeo__charset_cp1252(cc);
	d.def_flag = MIMEO_REPAIR_FALLBACK_CP1252;
	if (opts && opts->default_charset) {
		int enc = mimeo__charset_lookup(opts->default_charset,
						strlen(opts->default_charset));

		/* Header text is ASCII-based: a default that would read ASCII
		 * bytes differently (UTF-16/32, UTF-7, HZ, replacement) or that
		 * is unknown cannot describe it; windows-1252 is used then. */
		if (mimeo__charset_ascii_based(enc) && enc != d.def_enc) {
			d.def_enc = enc;
			d.def_flag = 0;
		}
	}
	d.run = mimeo__charset_scratch(cc, MIMEO__SCRATCH_RUN);
	mimeo_buf_clear(d.run);
	if (!in)
		len = 0;
	/* RFC 5322 section 2.2.3: unfold first. */
	if (len && (memchr(in, '\n', len) || memchr(in, '\r', len))) {
		unfold = mimeo__charset_scratch(cc, MIMEO__SCRATCH_UNFOLD);
		mimeo_buf_clear(unfold);
		if ((d.err = mimeo_header_unfold(in, len, unfold)))
			goto done;
		in = unfold->ptr;
		len = unfold->size;
	}
	fn(&d, in ? in : "", len);
	flush_run(&d);
	if (!d.err)
		sanitize(&d, start, mimeo__charset_scratch(cc, MIMEO__SCRATCH_UNESCAPE));
	if (!d.err)
		trim(out, start);
done:
	rc = d.err;
	release_scratch(cc);
	mimeo_charset_cache_free(tmp);
	return rc;
}

static void text_fn(struct dec *d, const char *s, size_t n)
{
	dec_span(d, s, n, 0);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
static int decode_ready(mimeo_charset_cache *cc, const mimeo_header_options *opts,
			const char *in, size_t len, mimeo_buf *out, unsigned *repairs,
			decode_fn fn)
{
	int rc = run_decoder(cc, opts, in, len, out, repairs, fn);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

int mimeo_header_decode_text(mimeo_charset_cache *cc, const mimeo_header_options *opts,
			     const char *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	return decode_ready(cc, opts, in, len, out, repairs, text_fn);
}

/* End of a quoted string or comment starting after `open` at s[i]: the
 * index of the closing character, or n (unterminated).  Comments nest
 * (RFC 5322 section 3.2.2). */
static size_t find_close(const char *s, size_t n, size_t i, int comment)
{
	int depth = 1;

	for (; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (comment && s[i] == '(')
			depth++;
		else if (s[i] == (comment ? ')' : '"') && --depth == 0)
			return i;
	}
	return n;
}

/* Content of a quoted string or comment with quoted-pairs resolved
 * (RFC 5322 section 3.2.1). */
static const char *unescape(struct dec *d, const char *s, size_t n, size_t *outn)
{
	mimeo_buf *b;
	size_t i;

	if (!memchr(s, '\\', n)) {
		*outn = n;
		return s;
	}
	b = mimeo__charset_scratch(d->cc, MIMEO__SCRATCH_UNESCAPE);
	mimeo_buf_clear(b);
	for (i = 0; i < n && !d->err; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		d->err = mimeo_buf_put(b, s + i, 1);
	}
	*outn = b->size;
	return b->ptr ? b->ptr : "";
}

static void phrase_fn(struct dec *d, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !d->err) {
		size_t q = i, close, cn;
		const char *c;
		int comment;

		while (q < n && s[q] != '"' && s[q] != '(')
			q++;
		dec_span(d, s + i, q - i, 1);
		if (q >= n)
			break;
		comment = s[q] == '(';
		close = find_close(s, n, q + 1, comment);
		if (close >= n)
			*d->rep |= MIMEO_REPAIR_SYNTAX;
		c = unescape(d, s + q + 1, close - q - 1, &cn);
		if (comment)
			tok_raw(d, "(", 1);
		if (d->strict && !comment) {
			/* RFC 2047 section 5 (3): not inside quoted strings. */
			tok_raw(d, c, cn);
		} else {
			d->in_quote = !comment;
			dec_span(d, c, cn, 0);
			d->in_quote = 0;
		}
		seg_end(d);
		if (comment && close < n)
			tok_raw(d, ")", 1);
		i = close < n ? close + 1 : n;
	}
}

int mimeo_header_decode_phrase(mimeo_charset_cache *cc, const mimeo_header_options *opts,
			       const char *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	return decode_ready(cc, opts, in, len, out, repairs, phrase_fn);
}

/* ------------------------------------------------------------------ */
/* encoding (RFC 2047 section 5, RFC 5322 section 2.2.3 folding)      */
/* ------------------------------------------------------------------ */

#define EW_OVERHEAD 12          /* "=?UTF-8?Q?" and "?=" */
#define EW_TEXT_MAX (EW_MAX - EW_OVERHEAD)
/* ASCII words longer than this are encoded so that they can be split:
 * no line may exceed 998 octets (RFC 5322 section 2.1.1). */
#define PLAIN_WORD_MAX 900

enum enc_mode {
	MODE_TEXT,    /* unstructured: printable ASCII words stay */
	MODE_PHRASE,  /* phrase: only atoms stay */
	MODE_PLAIN    /* an already quoted string: fold only */
};

struct enc {
	mimeo_buf *out;
	size_t col;         /* column on the current line */
	int any;            /* a word was written (folding is possible) */
	int crlf;
	int err;
};

static void e_put(struct enc *e, const void *p, size_t n)
{
	if (!e->err && n) {
		e->err = mimeo_buf_put(e->out, p, n);
		e->col += n;
	}
}

static void e_newline(struct enc *e)
{
	if (e->crlf)
		e_put(e, "\r\n", 2);
	else
		e_put(e, "\n", 1);
	e->col = 0;
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 2047 section 5 (3): the characters a Q word may carry literally in
 * a phrase; we use this safe set everywhere. */
static int q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_cost(unsigned char c)
{
	return (q_safe(c) || c == ' ') ? 1 : 3;
}

static int needs_encoding(const char *w, size_t n, enum enc_mode mode)
{
	size_t i;

	if (n > PLAIN_WORD_MAX)
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (mode == MODE_PLAIN)
			continue;
		if (c >= 0x7F || c < 0x20)
			return 1;
		if (mode == MODE_PHRASE && !is_atext(c))
			return 1;
		/* Would be read back as an encoded word. */
		if (c == '=' && i + 1 < n && w[i + 1] == '?')
			return 1;
	}
	return 0;
}

/* Whitespace before the next token of `next` columns: fold here when the
 * token would pass column 78; whitespace runs longer than a line are
 * folded inside (the fold keeps every whitespace character). */
static void e_sep(struct enc *e, const char *ws, size_t n, size_t next)
{
	size_t i;

	if (!n)
		return;
	if (e->any && e->col + n + next > MIMEO__FOLD_COLUMN)
		e_newline(e);
	for (i = 0; i < n; i++) {
		if (i > 0 && e->col >= MIMEO__FOLD_COLUMN)
			e_newline(e);
		e_put(e, ws + i, 1);
	}
}

static size_t utf8_len(unsigned char c)
{
	return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Bytes of the chunk (from p) that fit in `limit` encoded characters,
 * whole UTF-8 characters only (RFC 2047 section 5: never split one).
 * *whole3 receives the longest such prefix whose length is a multiple of
 * three (a B word without padding), 0 if none. */
static size_t ew_take(const unsigned char *p, size_t n, int b, size_t limit, size_t *whole3)
{
	size_t i = 0, cost = 0;

	*whole3 = 0;
	while (i < n) {
		size_t cl = utf8_len(p[i]), k, c = 0;

		if (cl > n - i)
			cl = n - i;
		if (b) {
			c = (i + cl + 2) / 3 * 4;
			if (c > limit)
				break;
		} else {
			for (k = 0; k < cl; k++)
				c += q_cost(p[i + k]);
			if (cost + c > limit)
				break;
			cost += c;
		}
		i += cl;
		if (i % 3 == 0)
			*whole3 = i;
	}
	return i ? i : (utf8_len(p[0]) < n ? utf8_len(p[0]) : n);
}

static void ew_write(struct enc *e, const unsigned char *p, size_t n, int b)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char buf[4];
	size_t i;

	e_put(e, b ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
	for (i = 0; b && i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf[0] = b64[v >> 18];
		buf[1] = b64[(v >> 12) & 63];
		buf[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		buf[3] = i + 2 < n ? b64[v & 63] : '=';
		e_put(e, buf, 4);
	}
	for (i = 0; !b && i < n; i++) {
		if (q_safe(p[i])) {
			e_put(e, p + i, 1);
		} else if (p[i] == ' ') {
			e_put(e, "_", 1);
		} else {
			buf[0] = '=';
			buf[1] = hex[p[i] >> 4];
			buf[2] = hex[p[i] & 15];
			e_put(e, buf, 3);
		}
	}
	e_put(e, "?=", 2);
}

/* Encode a chunk of words (with the whitespace between them) as encoded
 * words, separated from each other by a space or a fold (both dropped on
 * decoding, RFC 2047 section 6.2). */
static void e_chunk(struct enc *e, const char *ws, size_t wsn, const unsigned char *p,
		    size_t n)
{
	size_t qlen = 0, blen = (n + 2) / 3 * 4, i, t3;
	int b, use_b;

	for (i = 0; i < n; i++)
		qlen += q_cost(p[i]);
	b = blen < qlen;
	i = 0;
	while (i < n && !e->err) {
		size_t sep = i ? 1 : wsn, room, take;

		room = MIMEO__FOLD_COLUMN > e->col + sep + EW_OVERHEAD ?
			MIMEO__FOLD_COLUMN - e->col - sep - EW_OVERHEAD : 0;
		if (room < EW_OVERHEAD && e->any) {
			/* Fold first: the whole encoded word goes on the next line. */
			room = EW_TEXT_MAX;
			if (i == 0)
				e_sep(e, ws, wsn, MIMEO__FOLD_COLUMN);
			else
				e_sep(e, " ", 1, MIMEO__FOLD_COLUMN);
		} else {
			if (i == 0)
				e_sep(e, ws, wsn, 0);
			else
				e_put(e, " ", 1);
		}
		if (room < EW_OVERHEAD || room > EW_TEXT_MAX)
			room = EW_TEXT_MAX;
		use_b = b;
		take = ew_take(p + i, n - i, b, room, &t3);
		if (b && i + take < n && take % 3) {
			/* A padded B word followed by another B word is lost by
			 * decoders that join the base64 text of adjacent words
			 * before decoding it (GMime 3 does): end on a whole
			 * quantum, or use Q for this word. */
			if (t3 && t3 >= take / 2) {
				take = t3;
			} else {
				use_b = 0;
				take = ew_take(p + i, n - i, 0, room, &t3);
			}
		}
		ew_write(e, p + i, take, use_b);
		e->any = 1;
		i += take;
	}
}

static size_t word_end(const char *s, size_t n, size_t i)
{
	while (i < n && !mimeo__is_ws((unsigned char)s[i]))
		i++;
	return i;
}

static size_t ws_end(const char *s, size_t n, size_t i)
{
	while (i < n && mimeo__is_ws((unsigned char)s[i]))
		i++;
	return i;
}

static int any_word_needs(const char *s, size_t n, enum enc_mode mode)
{
	size_t i = ws_end(s, n, 0);

	while (i < n) {
		size_t we = word_end(s, n, i);

		if (needs_encoding(s + i, we - i, mode))
			return 1;
		i = ws_end(s, n, we);
	}
	return 0;
}

static void encode_words(struct enc *e, const char *s, size_t n, enum enc_mode mode)
{
	size_t i = 0;

	while (i < n && !e->err) {
		size_t ws = i, w, we;

		i = ws_end(s, n, i);
		if (i >= n) {
			e_sep(e, s + ws, i - ws, 0);
			break;
		}
		w = i;
		we = word_end(s, n, w);
		/* A plain first word must end by octet 998 (later words can
		 * be folded onto a line of their own). */
		if (!needs_encoding(s + w, we - w, mode) &&
		    (e->any || e->col + (w - ws) + (we - w) <= 998)) {
			e_sep(e, s + ws, w - ws, we - w);
			e_put(e, s + w, we - w);
			e->any = 1;
			i = we;
			continue;
		}
		/* Merge the following words that need encoding too: whitespace
		 * between two encoded words would be lost on decoding. */
		for (;;) {
			size_t k = ws_end(s, n, we), m;

			if (k >= n)
				break;
			m = word_end(s, n, k);
			if (!needs_encoding(s + k, m - k, mode))
				break;
			we = m;
		}
		e_chunk(e, s + ws, w - ws, (const unsigned char *)s + w, we - w);
		i = we;
	}
}

/*
 * Can the quoted string q[0..n) be written as it is, starting at column
 * `col`?  Not when a word of it is too long for a line (PLAIN_WORD_MAX, or
 * the first word past octet 998): encode_words would put that word in
 * encoded words, which are not decoded inside a quoted string (RFC 2047
 * section 5 (3)), and the phrase would read back with its quotes and
 * backslashes in it.
 */
static int quotable(const char *q, size_t n, size_t col)
{
	size_t i = ws_end(q, n, 0);
	int first = 1;

	while (i < n) {
		size_t we = word_end(q, n, i);

		if (we - i > PLAIN_WORD_MAX || (first && col + we > 998))
			return 0;
		first = 0;
		i = ws_end(q, n, we);
	}
	return 1;
}

static int encode(const char *utf8, size_t len, size_t start_col, unsigned flags,
		  mimeo_buf *out, enum enc_mode mode)
{
	mimeo_buf fixed, quoted;
	struct enc e;
	size_t i;

	mimeo_buf_init(&fixed, out->alloc);
	mimeo_buf_init(&quoted, out->alloc);
	memset(&e, 0, sizeof(e));
	e.out = out;
	e.col = start_col;
	e.crlf = !!(flags & MIMEO_HEADER_FOLD_CRLF);
	if (!utf8)
		len = 0;
	if (mimeo_utf8_valid_prefix(utf8, len) != len) {
		if ((e.err = mimeo__utf8_repair(utf8, len, &fixed, NULL)))
			goto done;
		utf8 = fixed.ptr;
		len = fixed.size;
	}
	if (mode == MODE_PHRASE && !any_word_needs(utf8, len, MODE_TEXT) &&
	    any_word_needs(utf8, len, MODE_PHRASE)) {
		/* Printable ASCII with specials: a quoted string (RFC 5322
		 * section 3.2.4) reads better than encoded words.  Whitespace
		 * in it still allows folding. */
		e.err = mimeo_buf_put(&quoted, "\"", 1);
		for (i = 0; i < len && !e.err; i++) {
			if (utf8[i] == '"' || utf8[i] == '\\')
				e.err = mimeo_buf_put(&quoted, "\\", 1);
			if (!e.err)
				e.err = mimeo_buf_put(&quoted, utf8 + i, 1);
		}
		if (!e.err)
			e.err = mimeo_buf_put(&quoted, "\"", 1);
		if (e.err)
			goto done;
		/* else encoded words, which can be split anywhere */
		if (quotable(quoted.ptr, quoted.size, start_col)) {
			utf8 = quoted.ptr;
			len = quoted.size;
			mode = MODE_PLAIN;
		}
	}
	encode_words(&e, utf8 ? utf8 : "", len, mode);
done:
	mimeo_buf_dispose(&fixed);
	mimeo_buf_dispose(&quoted);
	return e.err;
}

static int header_encode_text_body(const char *utf8, size_t len, size_t start_col, unsigned flags,
			     mimeo_buf *out)
{
	return encode(utf8, len, start_col, flags, out, MODE_TEXT);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_header_encode_text(const char *utf8, size_t len, size_t start_col, unsigned flags,
			     mimeo_buf *out)
{
	int rc = header_encode_text_body(utf8, len, start_col, flags, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

static int header_encode_phrase_body(const char *utf8, size_t len, size_t start_col,
			       unsigned flags, mimeo_buf *out)
{
	return encode(utf8, len, start_col, flags, out, MODE_PHRASE);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_header_encode_phrase(const char *utf8, size_t len, size_t start_col,
			       unsigned flags, mimeo_buf *out)
{
	int rc = header_encode_phrase_body(utf8, len, start_col, flags, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}
