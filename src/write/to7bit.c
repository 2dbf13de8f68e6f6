/*
 * to7bit.c - write a parsed message back, unchanged or made 7-bit safe.
 *
 * mimeo_to7bit() walks the tree once and collects "edits": byte ranges of
 * the source to replace (a header field re-encoded, a leaf body re-encoded,
 * a Content-Transfer-Encoding field changed or added).  The output is then
 * the source with those ranges replaced, so everything that needs no
 * change is copied byte for byte from the source offsets the tree records
 * (mimeo_part_offsets), and a clean message comes out identical.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "emit-priv.h"
#include "message-priv.h"

#include "mimeo/address.h"
#include "mimeo/codec.h"
#include "mimeo/header.h"
#include "mimeo/param.h"
#include "mimeo/parser.h"
#include "mimeo-config.h"

#include <stdio.h>

#if MIMEO_HAVE_LIBIDN2
#include <dlfcn.h>
#include <idn2.h>
#include <pthread.h>
#endif

/* mimeo_message_write_source() is in src/message/source.c: the source
 * may be a file read in blocks. */

/* One replacement of source bytes [start, end). */
typedef struct edit {
	uint64_t start, end;
	char *text;             /* replacement text (owned), or NULL: */
	size_t len;
	const mimeo_part *body; /* ... the re-encoded body of this leaf */
	mimeo_cte cte;
	int encode;             /* text holds bytes to write encoded in `cte` */
	int order;              /* among insertions at one offset, see add_insert() */
} edit;

typedef struct t7 {
	const mimeo_allocator *alloc;
	const mimeo_to7bit_options *opts;
	const char *src;
	size_t len;
	mimeo_buf body;         /* a leaf's decoded body while it is examined */
	mimeo_charset_cache *cc;
	edit *ed;
	size_t ned, caped;
	int crlf;
	const char *nl;
	unsigned hflags;
	size_t warnings;
	const mimeo_part *cur;  /* the part being processed, for warnings */
} t7;

static void warn(t7 *t, const mimeo_part *p, const char *msg)
{
	t->warnings++;
	if (t->opts && t->opts->warning)
		t->opts->warning(mimeo_part_section(p), msg, t->opts->warning_ctx);
}

/* The boundary of a multipart being processed: as the source has it
 * (trailing whitespace dropped, as the parser compares lines) and as the
 * output writes it.  One per multipart, on the recursion's stack, linked
 * to the enclosing ones: a nested multipart sees every boundary open
 * around it and no slot is shared. */
typedef struct bnd {
	const struct bnd *up;
	const char *old;
	size_t olen;
	const char *now;        /* == old, or fresh */
	size_t nlen;
	char fresh[24];         /* a new 7-bit boundary (new_boundary()) */
} bnd;

static int add_edit(t7 *t, uint64_t start, uint64_t end, mimeo_buf *text,
		    const mimeo_part *body, mimeo_cte cte)
{
	edit *e;

	if (mimeo__array_reserve(t->alloc, (void **)&t->ed, &t->caped, t->ned, sizeof(*t->ed), 16))
		return MIMEO_ENOMEM;
	e = &t->ed[t->ned++];
	e->start = start;
	e->end = end;
	e->body = body;
	e->cte = cte;
	e->order = 0;
	e->encode = 0;
	e->text = NULL;
	e->len = 0;
	if (text) {
		e->len = text->size;
		e->text = mimeo_buf_detach(text);
	}
	return MIMEO_OK;
}

/* Insert `text` at `at`.  Several insertions can meet at the start of a
 * body whose header block has no blank line: the entity's new field
 * (order depth * 2), then the blank line that ends its header (depth * 2
 * + 1), then its child's new field, and so on inwards. */
static int add_insert(t7 *t, uint64_t at, mimeo_buf *text, int order)
{
	int r = add_edit(t, at, at, text, NULL, MIMEO_CTE_NONE);

	if (!r)
		t->ed[t->ned - 1].order = order;
	return r;
}

/* Bytes >= 128 or NUL, or a line over 998 octets (RFC 5322 2.1.1). */
static int range_dirty(const char *s, uint64_t from, uint64_t to)
{
	size_t line = 0;
	uint64_t i;

	for (i = from; i < to; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c >= 128 || !c)
			return 1;
		if (c == '\r' && i + 1 < to && s[i + 1] == '\n')
			continue;
		if (++line > MIMEO__MAX_LINE)
			return 1;
	}
	return 0;
}

static int fold(t7 *t, mimeo_buf *h)
{
	return mimeo_buf_puts(h, t->nl) || mimeo_buf_puts(h, " ") ? MIMEO_ENOMEM : MIMEO_OK;
}

/* `s` with each byte >= 128 made `rep`. */
static int put_7bit(mimeo_buf *h, const char *s, const char *rep)
{
	for (; *s; s++)
		if (mimeo_buf_put(h, (unsigned char)*s >= 128 ? rep : s, 1))
			return MIMEO_ENOMEM;
	return MIMEO_OK;
}

/* Rebuild Content-Type / Content-Disposition from its parsed form, every
 * parameter through mimeo_param_encode (RFC 2231 for non-ASCII), except:
 *  - 8-bit bytes of the type and subtype, which no token may hold (RFC
 *    2045 section 5.1) and no encoding can carry there, become "_": an
 *    unknown type stays unknown and cannot turn into a known one (none
 *    has "_"), so the structure is kept;
 *  - the boundary the parser uses (the first one), written as `newb`
 *    when the multipart got a new one (init_boundary(): the source's has
 *    8-bit bytes or is too long) that clean_gap() writes in its delimiter
 *    lines; an RFC 2231 form would decode to the old bytes, which no
 *    7-bit delimiter line can hold.  Any other boundary parameter (a
 *    duplicate, or one of a field the parser does not use) gets "?" for
 *    its 8-bit bytes: nothing matches lines against it. */
static int rebuild_mime_field(t7 *t, const char *value, size_t vlen, const char *newb,
			      mimeo_buf *h, int *ok)
{
	mimeo_mime_field *f = NULL;
	mimeo_header_options ho = MIMEO_HEADER_OPTIONS_INIT;
	size_t i;
	int r, first_b = 1;

	*ok = 0;
	ho.alloc = t->alloc;
	r = mimeo_mime_field_parse(&f, t->cc, &ho, value, vlen);
	if (r)
		return r;
	if (!f->type[0]) {
		mimeo_mime_field_free(f);
		return MIMEO_OK;
	}
	r = put_7bit(h, f->type, "_");
	if (!r && f->subtype)
		r = mimeo_buf_puts(h, "/") || put_7bit(h, f->subtype, "_") ? MIMEO_ENOMEM : 0;
	for (i = 0; !r && i < f->nparams; i++) {
		const mimeo_param *pa = &f->params[i];
		const char *val = pa->value;
		mimeo_buf b7;
		size_t mark, col;

		if (range_dirty(pa->name, 0, strlen(pa->name)))
			continue;
		mimeo_buf_init(&b7, t->alloc);
		if (mimeo__ascii_ieq(pa->name, strlen(pa->name), "boundary") && first_b) {
			first_b = 0;
			if (newb)
				val = newb;
		}
		if (val != newb && mimeo__ascii_ieq(pa->name, strlen(pa->name), "boundary") &&
		    range_dirty(val, 0, strlen(val))) {
			if (put_7bit(&b7, val, "?") || mimeo_buf_put(&b7, "", 0)) {
				mimeo_buf_dispose(&b7);
				r = MIMEO_ENOMEM;
				break;
			}
			val = b7.ptr;
		}
		r = mimeo_buf_puts(h, ";");
		mark = h->size;
		col = mimeo__buf_col(h);
		if (!r)
			r = mimeo_buf_puts(h, " ");
		if (!r)
			r = mimeo_param_encode(pa->name, val, strlen(val), col + 1, t->hflags, h);
		if (!r && mimeo__widest_since(h, mark, col) > MIMEO__FOLD_COLUMN && col > 1) {
			mimeo__buf_trunc(h, mark);
			r = fold(t, h);
			if (!r)
				r = mimeo_param_encode(pa->name, val, strlen(val), 1, t->hflags, h);
		}
		mimeo_buf_dispose(&b7);
		if (r == MIMEO_EINVAL)
			r = MIMEO_OK; /* a name param_encode refuses is dropped */
	}
	mimeo_mime_field_free(f);
	*ok = !r;
	return r;
}

/* An RFC 5322 dot-atom made of atext (section 3.2.3). */
static int is_dot_atom(const char *s)
{
	int prev_dot = 1;

	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (prev_dot)
				return 0;
			prev_dot = 1;
			continue;
		}
		prev_dot = 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c)))
			return 0;
	}
	return !prev_dot;
}

static int has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 128)
			return 1;
	return 0;
}

#if !MIMEO_HAVE_LIBIDN2
/* Next code point of valid UTF-8 (the address parser gives only that). */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = *s++;
	int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;

	if (n)
		c &= 0x3Fu >> n;
	while (n-- && (*s & 0xC0) == 0x80)
		c = (c << 6) | (*s++ & 0x3F);
	*p = s;
	return c;
}

/* RFC 3492 section 6.1 bias adaptation (base 36, tmin 1, tmax 26, skew
 * 38, damp 700). */
static uint32_t puny_adapt(uint32_t delta, uint32_t points, int first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / points;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

static int puny_digit(mimeo_buf *h, uint32_t d)
{
	char c = (char)(d < 26 ? 'a' + d : '0' + d - 26);

	return mimeo_buf_put(h, &c, 1);
}

/* "xn--" + the RFC 3492 section 6.3 encoding of the code points `cp`
 * (n <= 63: the overflow checks of section 6.4 never fire then, but stay). */
static int punycode(const uint32_t *cp, size_t n, mimeo_buf *h)
{
	uint32_t next = 128, delta = 0, bias = 72, m, q, k, tt;
	size_t i, done = 0, basic;

	if (mimeo_buf_puts(h, "xn--"))
		return MIMEO_ENOMEM;
	for (i = 0; i < n; i++) {
		char c = (char)cp[i];

		if (cp[i] < 128 && mimeo_buf_put(h, &c, 1))
			return MIMEO_ENOMEM;
		done += cp[i] < 128;
	}
	basic = done;
	if (basic && mimeo_buf_puts(h, "-"))
		return MIMEO_ENOMEM;
	while (done < n) {
		for (m = UINT32_MAX, i = 0; i < n; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		if (m - next > (UINT32_MAX - delta) / (done + 1))
			return MIMEO_EINVAL;
		delta += (m - next) * (uint32_t)(done + 1);
		next = m;
		for (i = 0; i < n; i++) {
			if (cp[i] < next && ++delta == 0)
				return MIMEO_EINVAL;
			if (cp[i] != next)
				continue;
			for (q = delta, k = 36;; k += 36) {
				tt = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
				if (q < tt)
					break;
				if (puny_digit(h, tt + (q - tt) % (36 - tt)))
					return MIMEO_ENOMEM;
				q = (q - tt) / (36 - tt);
			}
			if (puny_digit(h, q))
				return MIMEO_ENOMEM;
			bias = puny_adapt(delta, (uint32_t)(done + 1), done == basic);
			delta = 0;
			done++;
		}
		delta++;
		next++;
	}
	return MIMEO_OK;
}
#endif /* !MIMEO_HAVE_LIBIDN2 */

#if MIMEO_HAVE_LIBIDN2
/*
 * libidn2 is loaded when a non-ASCII domain first needs it (dlopen), not
 * linked, as OpenSSL is (pop3/tls.c): linked, it and the libunistring it
 * needs (1.7 MB) cost every process that uses libmimeo about 0.2 ms at
 * start, a fifth of `mimeo --version` (1.1 -> 0.9 ms), whether or not it
 * ever met an internationalised domain.  The header gives the prototypes
 * and constants; the functions are looked up once, under pthread_once, and
 * only read after (like the CPU-dispatch choice, process-wide state that
 * never changes once set).  When the library cannot be loaded, a
 * non-ASCII domain is not written (IDNA_NOT_LOADED: the mailbox is
 * downgraded and the reason reported): never an A-label made without it.
 */
#define IDN2_LIB "libidn2.so.0" /* the soname of every libidn2 2.x */
#define IDNA_NOT_LOADED 1       /* a `why`: no libidn2 error code is positive */

static struct {
	__typeof__(idn2_to_ascii_8z) *to_ascii;
	__typeof__(idn2_free) *release;
	__typeof__(idn2_strerror) *error_text;
	int ok;
	char why[200];
} idn;
static pthread_once_t idn_once = PTHREAD_ONCE_INIT;

static void idn_load_once(void)
{
	/* MIMEO_IDN2_LIBRARY: another file to load (a libidn2 installed under
	 * another name; the tests name one that does not exist) */
	const char *name = getenv("MIMEO_IDN2_LIBRARY");
	const char *lib = name && *name ? name : IDN2_LIB;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL), *p; /* never closed */

	if (!h) {
		snprintf(idn.why, sizeof(idn.why), "%s", dlerror());
		return;
	}
	/* dlsym gives a void *, copied into the function pointer (POSIX
	 * guarantees the representation; ISO C has no cast for it) */
#define IDN_SYM(field, f)                                                          \
	if (!(p = dlsym(h, #f))) {                                                 \
		snprintf(idn.why, sizeof(idn.why), "%s has no " #f, lib);          \
		return;                                                            \
	}                                                                          \
	memcpy(&idn.field, &p, sizeof(p));
	IDN_SYM(to_ascii, idn2_to_ascii_8z)
	IDN_SYM(release, idn2_free)
	IDN_SYM(error_text, idn2_strerror)
#undef IDN_SYM
	idn.ok = 1;
}

/* IDNA2008 (RFC 5890-5893) with the UTS #46 mapping (case folding, NFC,
 * nontransitional processing, as current browsers and resolvers do)
 * through libidn2: "B\xc3\x9c" "CHER.example" (capital U with diaeresis)
 * and a decomposed u + U+0308 give the A-label a resolver matches.  *out
 * is libidn2's (idna_free); IDNA_NOT_LOADED when libidn2 could not be
 * loaded. */
static int idna_to_ascii(const char *d, char **out)
{
	*out = NULL;
	pthread_once(&idn_once, idn_load_once);
	if (!idn.ok)
		return IDNA_NOT_LOADED;
	return idn.to_ascii(d, out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
}

static void idna_free(char *a)
{
	if (a)
		idn.release(a);
}

/* Why idna_to_ascii() refused, for a message. */
static void idna_why(int why, char *buf, size_t cap)
{
	if (why == IDNA_NOT_LOADED)
		snprintf(buf, cap, "IDNA2008 needs libidn2, which could not be loaded: %s", idn.why);
	else
		snprintf(buf, cap, "domain rejected by IDNA2008 (%s)", idn.error_text(why));
}
#endif

/* Whether a domain can be written in 7 bits: ASCII, or a name (not a
 * literal) that IDNA accepts.  With libidn2 a name IDNA rejects is not
 * written at all (*why: the libidn2 error; the mailbox is downgraded and
 * the reason reported, never an invented A-label).  Without it, a name
 * whose labels have at most 63 code points (RFC 1035 section 2.3.4 allows
 * no more; it also keeps punycode's arithmetic in range). */
static int domain_7bit_able(const char *d, int *why)
{
	*why = 0;
	if (!has_8bit(d))
		return 1;
	if (d[0] == '[')
		return 0;
#if MIMEO_HAVE_LIBIDN2
	{
		char *a;
		int rc = idna_to_ascii(d, &a);

		idna_free(a);
		/* out of memory: put_domain() asks again and reports it */
		if (rc == IDN2_OK || rc == IDN2_MALLOC)
			return 1;
		*why = rc;
		return 0;
	}
#else
	{
		const unsigned char *p = (const unsigned char *)d;
		size_t n = 0;

		for (; *p; p++) {
			if (*p == '.')
				n = 0;
			else if ((*p & 0xC0) != 0x80 && ++n > 63)
				return 0;
		}
		return 1;
	}
#endif
}

/* A domain for a 7-bit header (domain_7bit_able): ASCII as it is; a
 * non-ASCII name as IDNA2008 A-labels through libidn2 when mimeo is built
 * with it; without it each non-ASCII label is punycoded ("xn--...", RFC
 * 3492) taken as it is: no IDNA2008 mapping (case folding, NFC). */
static int put_domain(t7 *t, const char *d, mimeo_buf *h)
{
#if MIMEO_HAVE_LIBIDN2
	char *a;
	int rc;

	(void)t;
	if (!has_8bit(d))
		return mimeo_buf_puts(h, d) ? MIMEO_ENOMEM : MIMEO_OK;
	rc = idna_to_ascii(d, &a);
	if (rc == IDN2_OK)
		rc = mimeo_buf_puts(h, a) ? MIMEO_ENOMEM : MIMEO_OK;
	else
		rc = rc == IDN2_MALLOC ? MIMEO_ENOMEM : MIMEO_EINVAL; /* domain_7bit_able said no */
	idna_free(a);
	return rc;
#else
	const unsigned char *p = (const unsigned char *)d;
	uint32_t *cp;
	size_t n;
	int r = MIMEO_OK;

	if (!has_8bit(d))
		return mimeo_buf_puts(h, d) ? MIMEO_ENOMEM : MIMEO_OK;
	cp = mimeo__malloc(t->alloc, (strlen(d) + 1) * sizeof(*cp));
	if (!cp)
		return MIMEO_ENOMEM;
	while (!r && *p) {
		const unsigned char *ls = p;
		int wide = 0;

		for (n = 0; *p && *p != '.'; n++) {
			wide |= *p >= 128;
			cp[n] = utf8_next(&p);
		}
		if (wide)
			r = punycode(cp, n, h);
		else
			r = mimeo_buf_put(h, ls, (size_t)(p - ls));
		if (!r && *p == '.')
			r = mimeo_buf_put(h, p++, 1);
	}
	mimeo__free(t->alloc, cp);
	return r ? MIMEO_ENOMEM : MIMEO_OK;
#endif
}

/* Whether a mailbox can be written with a 7-bit addr-spec (*why as for
 * domain_7bit_able). */
static int ascii_addr_spec(const mimeo_address *a, int *why)
{
	*why = 0;
	return !has_8bit(a->local_part) && (!a->domain || domain_7bit_able(a->domain, why));
}

static int put_local_part(const char *lp, mimeo_buf *h)
{
	int r;

	if (is_dot_atom(lp))
		return mimeo_buf_puts(h, lp) ? MIMEO_ENOMEM : MIMEO_OK;
	r = mimeo_buf_puts(h, "\"");
	for (; !r && *lp; lp++) {
		if (*lp == '"' || *lp == '\\')
			r = mimeo_buf_puts(h, "\\");
		if (!r)
			r = mimeo_buf_put(h, lp, 1);
	}
	if (!r)
		r = mimeo_buf_puts(h, "\"");
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

/* A mailbox that passes ascii_addr_spec(): display name (RFC 2047 section
 * 5(3) phrase) and <addr-spec>, or the bare addr-spec. */
static int put_mailbox(t7 *t, const mimeo_address *a, mimeo_buf *h)
{
	const char *dn = a->display_name;
	size_t col;
	int r = MIMEO_OK;

	if (dn && *dn) {
		r = mimeo_header_encode_phrase(dn, strlen(dn), mimeo__buf_col(h), t->hflags, h);
		col = mimeo__buf_col(h);
		if (!r)
			r = col + 4 + strlen(a->local_part) +
				(a->domain ? strlen(a->domain) : 0) > MIMEO__FOLD_COLUMN
				? fold(t, h) : mimeo_buf_puts(h, " ");
		if (!r)
			r = mimeo_buf_puts(h, "<");
	}
	if (!r)
		r = put_local_part(a->local_part, h);
	if (!r && a->domain) {
		r = mimeo_buf_puts(h, "@");
		if (!r)
			r = put_domain(t, a->domain, h);
	}
	if (!r && dn && *dn)
		r = mimeo_buf_puts(h, ">");
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

/* A mailbox that only SMTPUTF8 can carry (non-ASCII local part): written,
 * as RFC 6857 (appendix A, errata 3955) downgrades it, as an empty group
 * whose name is the display name and the address: readers show it and no
 * reply can go to a mangled address. */
static int put_downgraded(t7 *t, const mimeo_address *a, mimeo_buf *h)
{
	mimeo_buf name;
	int r;

	mimeo_buf_init(&name, t->alloc);
	r = a->display_name && *a->display_name && mimeo_buf_puts(&name, a->display_name);
	if (!r && *a->local_part)
		r = (name.size && mimeo_buf_puts(&name, " ")) || mimeo_buf_puts(&name, a->local_part);
	if (!r && a->domain)
		r = mimeo_buf_puts(&name, "@") || mimeo_buf_puts(&name, a->domain);
	if (!r)
		r = mimeo_header_encode_phrase(name.ptr, name.size, mimeo__buf_col(h), t->hflags, h);
	if (!r)
		r = mimeo_buf_puts(h, " :;");
	mimeo_buf_dispose(&name);
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

/* Group name and ":"; an empty name as "" so the colon has a phrase. */
static int put_group_open(t7 *t, const char *g, mimeo_buf *h)
{
	int r = *g ? mimeo_header_encode_phrase(g, strlen(g), mimeo__buf_col(h), t->hflags, h)
		   : mimeo_buf_puts(h, "\"\"");

	return r || mimeo_buf_puts(h, ":") ? MIMEO_ENOMEM : MIMEO_OK;
}

/* An empty address, "Name <>" or "<>" (RFC 5321's null reverse-path, as
 * bounces carry it in From): kept as such, the name as an RFC 2047 phrase
 * (issue 15 class 9: a name with 8-bit bytes and "<>" was written as an
 * empty group "Name :;", which no reader shows as a sender). */
static int put_empty(t7 *t, const mimeo_address *a, mimeo_buf *h)
{
	const char *dn = a->display_name;
	int r = MIMEO_OK;

	if (dn && *dn) {
		r = mimeo_header_encode_phrase(dn, strlen(dn), mimeo__buf_col(h), t->hflags, h);
		if (!r)
			r = mimeo__buf_col(h) + 3 > MIMEO__FOLD_COLUMN ? fold(t, h) : mimeo_buf_puts(h, " ");
	}
	if (!r)
		r = mimeo_buf_puts(h, "<>");
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

enum { ITEM_SKIP, ITEM_MAILBOX, ITEM_DOWNGRADED, ITEM_IDNA_REJECTED, ITEM_EMPTY, ITEM_GROUP };

/* How an entry of a parsed list is written.  A mailbox without a domain
 * keeps its local part as it was ("root": local mail); one without any
 * address ("Name <>", "<>") stays an empty address (put_empty). */
static int item_kind(const mimeo_address *a)
{
	if (!a->local_part)
		return ITEM_SKIP; /* the entry that stands for an empty group */
	int why;

	if (!a->domain && !*a->local_part)
		return ITEM_EMPTY;
	if (ascii_addr_spec(a, &why))
		return ITEM_MAILBOX;
	return why ? ITEM_IDNA_REJECTED : ITEM_DOWNGRADED;
}

/* One item of an address list at the current position. */
static int put_item(t7 *t, int kind, const mimeo_address *a, mimeo_buf *h)
{
	if (kind == ITEM_GROUP)
		return put_group_open(t, a->group, h);
	if (kind == ITEM_MAILBOX)
		return put_mailbox(t, a, h);
	if (kind == ITEM_EMPTY)
		return put_empty(t, a, h);
	return put_downgraded(t, a, h); /* ITEM_DOWNGRADED, ITEM_IDNA_REJECTED */
}

/* `sep` ("," or "" after a group's colon) and a space, then the item, or
 * the item alone when it is the field's first; when a later item passes
 * column 78 or folds inside, it is written again on a new line. */
static int put_sep_item(t7 *t, const char *sep, int kind, const mimeo_address *a,
			mimeo_buf *h, int first)
{
	size_t mark, col;

	if (kind == ITEM_DOWNGRADED)
		warn(t, t->cur, "address with a non-ASCII local part cannot be made 7-bit: "
				"written as an empty group named after it (RFC 6857)");
#if MIMEO_HAVE_LIBIDN2
	if (kind == ITEM_IDNA_REJECTED) {
		char why_s[320], msg[400];
		int why;

		domain_7bit_able(a->domain, &why);
		idna_why(why, why_s, sizeof(why_s));
		snprintf(msg, sizeof(msg), "%s: the address is written as an empty group named "
			 "after it", why_s);
		warn(t, t->cur, msg);
	}
#endif
	if (first)
		return put_item(t, kind, a, h);
	if (mimeo_buf_puts(h, sep))
		return MIMEO_ENOMEM;
	mark = h->size;
	col = mimeo__buf_col(h);
	if (mimeo_buf_puts(h, " ") || put_item(t, kind, a, h))
		return MIMEO_ENOMEM;
	if (mimeo__widest_since(h, mark, col) > MIMEO__FOLD_COLUMN ||
	    memchr(h->ptr + mark, '\n', h->size - mark)) {
		mimeo__buf_trunc(h, mark);
		if (fold(t, h) || put_item(t, kind, a, h))
			return MIMEO_ENOMEM;
	}
	return MIMEO_OK;
}

/* The group run of entries [i, *end) sharing l->items[i].group: its
 * mailboxes inside "name: ...;", then the ones that must be downgraded
 * (a group cannot hold a group) after it. */
static int put_group(t7 *t, const mimeo_address_list *l, size_t i, size_t *end,
		     mimeo_buf *h, int first)
{
	const char *g = l->items[i].group;
	size_t j, k;
	int inner = 1;

	for (j = i; j < l->count && l->items[j].group == g; j++)
		;
	*end = j;
	if (put_sep_item(t, ",", ITEM_GROUP, &l->items[i], h, first))
		return MIMEO_ENOMEM;
	for (k = i; k < j; k++) {
		int kind = item_kind(&l->items[k]);

		if (kind != ITEM_MAILBOX && kind != ITEM_EMPTY)
			continue;
		if (put_sep_item(t, inner ? "" : ",", kind, &l->items[k], h, 0))
			return MIMEO_ENOMEM;
		inner = 0;
	}
	if (mimeo_buf_puts(h, ";"))
		return MIMEO_ENOMEM;
	for (k = i; k < j; k++) {
		int kind = item_kind(&l->items[k]);

		if (kind != ITEM_MAILBOX && kind != ITEM_EMPTY && kind != ITEM_SKIP &&
		    put_sep_item(t, ",", kind, &l->items[k], h, 0))
			return MIMEO_ENOMEM;
	}
	return MIMEO_OK;
}

/* Rebuild an address list (RFC 5322 section 3.4) from its parsed form:
 * display names and group names as RFC 2047 phrases, ASCII addr-specs as
 * they are, non-ASCII domains punycoded, non-ASCII local parts downgraded
 * (put_downgraded).  Comments become display names (the parser takes a
 * mailbox's name from its comment when it has no phrase).  A value with
 * nothing to write becomes an empty group named by its text. */
static int rebuild_addresses(t7 *t, const char *value, size_t vlen, mimeo_buf *h, int *ok)
{
	mimeo_address_list *l = NULL;
	mimeo_header_options ho = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_buf dec;
	size_t i, next;
	int r, written = 0;

	*ok = 1;
	ho.alloc = t->alloc;
	r = mimeo_address_list_parse(&l, t->cc, &ho, value, vlen);
	if (r)
		return r;
	if (l->repairs & MIMEO_REPAIR_SYNTAX)
		warn(t, t->cur, "malformed address field rewritten from the addresses found in it");
	for (i = 0; !r && i < l->count; i = next) {
		const mimeo_address *a = &l->items[i];
		int kind = item_kind(a);

		next = i + 1;
		if (a->group)
			r = put_group(t, l, i, &next, h, !written);
		else if (kind != ITEM_SKIP)
			r = put_sep_item(t, ",", kind, a, h, !written);
		written |= a->group || kind != ITEM_SKIP;
	}
	if (!r && !written) {
		mimeo_buf_init(&dec, t->alloc);
		r = mimeo_header_decode_phrase(t->cc, NULL, value, vlen, &dec, NULL);
		if (!r && dec.size)
			r = mimeo_buf_put(&dec, "", 0) || put_group_open(t, dec.ptr, h) ||
			    mimeo_buf_puts(h, ";") ? MIMEO_ENOMEM : MIMEO_OK;
		mimeo_buf_dispose(&dec);
	}
	mimeo_address_list_free(l);
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

static int is_address_field(const char *n, size_t len)
{
	static const char *const names[] = {
		"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to",
		"resent-cc", "resent-bcc", "resent-sender", "disposition-notification-to",
		"return-receipt-to", "mail-followup-to", "mail-reply-to", NULL
	};
	size_t i;

	for (i = 0; names[i]; i++)
		if (mimeo__ascii_ieq(n, len, names[i]))
			return 1;
	return 0;
}

/* Last resort for what no encoder could fold (a field name or a word of
 * garbage longer than a line): break every line over 998 octets with a
 * fold (line break + space), RFC 5322 section 2.1.1. */
static int break_long_lines(t7 *t, mimeo_buf *h)
{
	mimeo_buf o;
	size_t i, line = 0;
	int r = MIMEO_OK;

	if (!h->size || !range_dirty(h->ptr, 0, h->size))
		return MIMEO_OK;
	mimeo_buf_init(&o, t->alloc);
	for (i = 0; !r && i < h->size; i++) {
		char c = h->ptr[i];

		if (c == '\n')
			line = 0;
		else if (!(c == '\r' && i + 1 < h->size && h->ptr[i + 1] == '\n') &&
			 ++line > MIMEO__MAX_LINE - 1) {
			r = mimeo_buf_puts(&o, t->nl) || mimeo_buf_puts(&o, " ") ? MIMEO_ENOMEM : 0;
			line = 2;
		}
		if (!r)
			r = mimeo_buf_put(&o, &c, 1);
	}
	if (!r) {
		mimeo_buf_dispose(h);
		*h = o;
	} else {
		mimeo_buf_dispose(&o);
	}
	return r;
}

/* An mbox envelope line ("From ...", ">From ...") that is no field (as
 * envelope_line() in src/parser/parser.c): the parser drops it when it starts an
 * encapsulated message, and a line after it that starts with whitespace
 * is no continuation but the end of the header. */
static int is_envelope(const char *l, size_t n)
{
	size_t i = 0, k;

	while (i < n && l[i] == '>')
		i++;
	if (n - i < 5 || memcmp(l + i, "From ", 5) != 0)
		return 0;
	for (k = 0; k < n && l[k] > 32 && l[k] < 127 && l[k] != ':'; k++)
		;
	if (!k)
		return 1;
	while (k < n && mimeo__is_ws((unsigned char)l[k]))
		k++;
	return !(k < n && l[k] == ':');
}

/* Replace the field [fs, fe) (final line break excluded); `newb`: see
 * rebuild_mime_field(), NULL but for the Content-Type of a multipart. */
static int reencode_field(t7 *t, uint64_t fs, uint64_t fe, const char *newb)
{
	const char *f = t->src + fs, *colon;
	size_t flen = (size_t)(fe - fs), nlen, i, mark;
	mimeo_buf h, dec;
	int r = MIMEO_OK, ok = 0;

	mimeo_buf_init(&h, t->alloc);
	colon = memchr(f, ':', flen);
	nlen = colon ? (size_t)(colon - f) : 0;
	while (nlen && mimeo__is_ws((unsigned char)f[nlen - 1]))
		nlen--;
	for (i = 0; i < nlen && (unsigned char)f[i] < 128 && f[i]; i++)
		;
	if (is_envelope(f, flen)) {
		/* Cut, not folded (the fold would end the header, fuzz_to7bit
		 * T8); the parser ignores the line's text.  8-bit bytes and
		 * NULs become "?", which keeps it an envelope line. */
		for (i = 0; !r && i < flen && i < MIMEO__MAX_LINE; i++) {
			unsigned char c = (unsigned char)f[i];

			r = mimeo_buf_put(&h, (c >= 128 || !c) ? "?" : f + i, 1);
		}
		if (flen > MIMEO__MAX_LINE)
			warn(t, t->cur, "mbox From_ line longer than 998 octets cut");
		if (!r)
			r = add_edit(t, fs, fe, &h, NULL, MIMEO_CTE_NONE);
		mimeo_buf_dispose(&h);
		return r ? MIMEO_ENOMEM : MIMEO_OK;
	}
	if (!colon || !nlen || i < nlen) {
		/* Not a field: keep the line, with 8-bit bytes and NULs made
		 * visible as "?" (RFC 5322 allows nothing else here). */
		for (i = 0; !r && i < flen; i++) {
			unsigned char c = (unsigned char)f[i];

			r = mimeo_buf_put(&h, (c >= 128 || !c) ? "?" : f + i, 1);
		}
		goto done;
	}
	/* A field name cannot be folded: one too long for a line is cut. */
	r = mimeo_buf_put(&h, f, nlen > 900 ? 900 : nlen);
	if (nlen > 900)
		warn(t, t->cur, "header field name longer than 900 octets cut");
	if (!r)
		r = mimeo_buf_puts(&h, ": ");
	mark = h.size;
	{
		const char *v = colon + 1;
		size_t vlen = flen - (size_t)(v - f);

		if (!r && (mimeo__ascii_ieq(f, nlen, "content-type") ||
			   mimeo__ascii_ieq(f, nlen, "content-disposition")))
			r = rebuild_mime_field(t, v, vlen, newb, &h, &ok);
		else if (!r && is_address_field(f, nlen))
			r = rebuild_addresses(t, v, vlen, &h, &ok);
		if (!r && !ok) {
			/* Unstructured (or structured we could not rebuild):
			 * decode as a reader would, then RFC 2047 encode. */
			mimeo__buf_trunc(&h, mark);
			mimeo_buf_init(&dec, t->alloc);
			r = mimeo_header_decode_text(t->cc, NULL, v, vlen, &dec, NULL);
			if (!r)
				r = mimeo_header_encode_text(dec.ptr ? dec.ptr : "", dec.size,
							     nlen + 2, t->hflags, &h);
			mimeo_buf_dispose(&dec);
		}
	}
done:
	if (!r)
		r = break_long_lines(t, &h);
	if (!r)
		r = add_edit(t, fs, fe, &h, NULL, MIMEO_CTE_NONE);
	mimeo_buf_dispose(&h);
	return r;
}

/* Fields of a header block [hs, bs): re-encode dirty ones, find the
 * Content-Transfer-Encoding fields and where a new field would go. */
typedef struct hscan {
	uint64_t cte_start[2], cte_end[2], cte_after[2]; /* first two CTE fields */
	unsigned ncte;
	int cte_dirty;          /* one of them has 8-bit bytes or is over-long */
	int cte_set;            /* set_cte() replaced them */
	uint64_t insert_at;     /* start of the blank line (or bs) */
	int blank;              /* the block ends with a blank line */
	int depth;              /* of the entity, for add_insert() */
	uint64_t ct_start, ct_end; /* the first Content-Type field (the one used) */
	int ct_seen;
	int ct_redone;          /* it was re-encoded */
} hscan;

static int scan_header_block(t7 *t, uint64_t hs, uint64_t bs, hscan *hsc, const char *newb)
{
	const char *s = t->src;
	uint64_t pos = hs;
	int r;

	memset(hsc, 0, sizeof(*hsc));
	hsc->insert_at = bs;
	while (pos < bs) {
		uint64_t fs = pos, fe, after;
		const char *nlp;
		const char *colon;
		int used_ct = 0;

		/* the field's first line */
		nlp = memchr(s + pos, '\n', (size_t)(bs - pos));
		after = nlp ? (uint64_t)(nlp - s) + 1 : bs;
		fe = nlp ? (uint64_t)(nlp - s) : bs;
		if (fe > fs && s[fe - 1] == '\r')
			fe--;
		if (fe == fs) {
			hsc->insert_at = fs; /* the blank line */
			hsc->blank = 1;
			break;
		}
		/* continuation lines (RFC 5322 2.2.3) */
		while (after < bs && (s[after] == ' ' || s[after] == '\t')) {
			nlp = memchr(s + after, '\n', (size_t)(bs - after));
			fe = nlp ? (uint64_t)(nlp - s) : bs;
			if (fe > after && s[fe - 1] == '\r')
				fe--;
			after = nlp ? (uint64_t)(nlp - s) + 1 : bs;
		}
		colon = memchr(s + fs, ':', (size_t)(fe - fs));
		if (colon) {
			size_t nlen = (size_t)(colon - (s + fs));

			while (nlen && mimeo__is_ws((unsigned char)s[fs + nlen - 1]))
				nlen--;
			if (!hsc->ct_seen && mimeo__ascii_ieq(s + fs, nlen, "content-type")) {
				hsc->ct_seen = 1;
				hsc->ct_start = fs;
				hsc->ct_end = fe;
				hsc->ct_redone = newb || range_dirty(s, fs, fe);
				used_ct = 1;
			}
			if (mimeo__ascii_ieq(s + fs, nlen, "content-transfer-encoding") &&
			    hsc->ncte < 2) {
				if (range_dirty(s, fs, fe))
					hsc->cte_dirty = 1;
				hsc->cte_start[hsc->ncte] = fs;
				hsc->cte_end[hsc->ncte] = fe;
				hsc->cte_after[hsc->ncte] = after;
				hsc->ncte++;
				pos = after;
				continue;
			}
		}
		if ((used_ct && newb) || range_dirty(s, fs, fe)) {
			r = reencode_field(t, fs, fe, used_ct ? newb : NULL);
			if (r)
				return r;
		}
		pos = after;
	}
	return MIMEO_OK;
}

/* Point the part's Content-Transfer-Encoding at `cte`: replace the first
 * CTE field, drop a second one, or add one before the blank line. */
static int set_cte(t7 *t, hscan *hsc, mimeo_cte cte)
{
	mimeo_buf h;
	int r;

	hsc->cte_set = 1;
	mimeo_buf_init(&h, t->alloc);
	r = mimeo_buf_puts(&h, "Content-Transfer-Encoding: ") ||
	    mimeo_buf_puts(&h, mimeo_cte_name(cte)) ? MIMEO_ENOMEM : MIMEO_OK;
	if (!r && hsc->ncte) {
		r = add_edit(t, hsc->cte_start[0], hsc->cte_end[0], &h, NULL, MIMEO_CTE_NONE);
		if (!r && hsc->ncte > 1)
			r = add_edit(t, hsc->cte_start[1], hsc->cte_after[1], NULL, NULL,
				     MIMEO_CTE_NONE);
	} else if (!r) {
		/* without a blank line, end_header() adds one after it */
		r = mimeo_buf_puts(&h, t->nl) ? MIMEO_ENOMEM : MIMEO_OK;
		if (!r)
			r = add_insert(t, hsc->insert_at, &h, hsc->depth * 2);
	}
	mimeo_buf_dispose(&h);
	return r;
}

static int is_protected(const mimeo_part *p)
{
	const char *ty = mimeo_part_type(p), *st = mimeo_part_subtype(p);

	if (!ty || !st)
		return 0;
	if (strcmp(ty, "multipart") == 0 && strcmp(st, "signed") == 0)
		return 1;
	return strcmp(ty, "application") == 0 &&
	       (strcmp(st, "pkcs7-mime") == 0 || strcmp(st, "x-pkcs7-mime") == 0);
}

/* Bytes of a line the parser examines to recognise a delimiter (CAND_MAX
 * in src/parser/parser.c): a longer line is one when its start is.  While
 * a multipart with a longer boundary is open, the parser examines up to
 * its close delimiter line (src_window()); the boundaries written are
 * never that long (a new one replaces them, init_boundary()). */
#define DELIM_SCAN 1024

/* How the parser reads line `l` (without its LF) against boundary `b`
 * (RFC 2046 5.1.1: "--" boundary ["--"], then whitespace only), examining
 * its first `scan` bytes: 1 a delimiter, 2 a close delimiter, 0 neither. */
static int delim_kind_in(const char *l, size_t n, const char *b, size_t blen, size_t scan)
{
	size_t k = n < scan ? n : scan;

	if (k < 2 || l[0] != '-' || l[1] != '-')
		return 0;
	while (k > 2 && (l[k - 1] == ' ' || l[k - 1] == '\t' || l[k - 1] == '\r'))
		k--;
	if (k - 2 == blen && memcmp(l + 2, b, blen) == 0)
		return 1;
	if (k >= 4 && k - 4 == blen && l[k - 1] == '-' && l[k - 2] == '-' &&
	    memcmp(l + 2, b, blen) == 0)
		return 2;
	return 0;
}

static int delim_kind(const char *l, size_t n, const char *b, size_t blen)
{
	return delim_kind_in(l, n, b, blen, DELIM_SCAN);
}

/* The bytes of a source line the parser examined: up to the longest close
 * delimiter line of the multiparts open around it (issue 15 class 5). */
static size_t src_window(const bnd *b)
{
	size_t w = DELIM_SCAN;

	for (; b; b = b->up)
		if (b->olen + 4 > w)
			w = b->olen + 4;
	return w;
}

/* Whether the output line `l` reads as a delimiter of any multipart open
 * around it (boundaries as written). */
static int any_delim(const bnd *b, const char *l, size_t n)
{
	for (; b; b = b->up)
		if (delim_kind(l, n, b->now, b->nlen))
			return 1;
	return 0;
}

/* Whether a line of [from, to) starts with "--" + s. */
static int has_dash_line(const char *src, uint64_t from, uint64_t to, const char *s, size_t n)
{
	uint64_t ls = from;
	const char *nlp;

	while (ls < to) {
		if (to - ls >= n + 2 && src[ls] == '-' && src[ls + 1] == '-' &&
		    memcmp(src + ls + 2, s, n) == 0)
			return 1;
		nlp = memchr(src + ls, '\n', (size_t)(to - ls));
		if (!nlp)
			break;
		ls = (uint64_t)(nlp - src) + 1;
	}
	return 0;
}

/* A new boundary for b: "=_7bit_" and 8 hex digits of a hash of the old
 * one and a counter (same input, same output).  "=_" cannot come out of
 * quoted-printable ("=" is escaped), base64, RFC 2047 words or the "?"
 * that 8-bit bytes become, so only source text kept as it is can hold
 * "--" + the new boundary: the counter moves on while a line of the
 * multipart's body [bs, end) starts so, or an enclosing multipart writes
 * the same boundary (a nested one with the same old boundary). */
static void new_boundary(const t7 *t, bnd *b, uint64_t bs, uint64_t end)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 14695981039346656037u, x;
	const bnd *a;
	uint32_t n;
	size_t i;

	for (i = 0; i < b->olen; i++) /* FNV-1a */
		h = (h ^ (unsigned char)b->old[i]) * 1099511628211u;
	memcpy(b->fresh, "=_7bit_", 7);
	b->nlen = 15;
	b->now = b->fresh;
	for (n = 0;; n++) {
		x = h + n * 0x9E3779B97F4A7C15u; /* splitmix64 step and mix */
		x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
		x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
		x ^= x >> 31;
		for (i = 0; i < 8; i++)
			b->fresh[7 + i] = hex[(x >> (28 - 4 * i)) & 15];
		b->fresh[15] = '\0';
		for (a = b->up; a && !(a->nlen == b->nlen && memcmp(a->now, b->fresh, 15) == 0);
		     a = a->up)
			;
		if (!a && !has_dash_line(t->src, bs, end, b->fresh, b->nlen))
			return;
	}
}

/* A multipart in which the parser found no delimiter line: a leaf holding
 * its body (issue 15).  Its bytes cannot be transfer-encoded (readers
 * ignore the encoding of a multipart, RFC 2045 6.4), so they are cleaned
 * like a preamble's: 8-bit bytes are rewritten, the structure is kept. */
static int no_delimiter_multipart(const mimeo_part *p)
{
	const char *ty = mimeo_part_type(p);

	return mimeo_part_is_leaf(p) && (mimeo_part_flags(p) & MIMEO_PART_OPAQUE) && ty &&
	       strcmp(ty, "multipart") == 0;
}

/* Set up `b` (linked to `up`) for part p when p is a parsed multipart;
 * returns whether it is.  A boundary with 8-bit bytes cannot be written
 * in 7 bits, and one whose close delimiter line would pass 998 octets
 * cannot either: such a multipart gets a new one.  A replacement that
 * maps bytes ("?" for each 8-bit one) would not do: it is not one to
 * one, and a line that was no delimiter could become one. */
static int init_boundary(const t7 *t, const mimeo_part *p, const bnd *up, uint64_t bs,
			 uint64_t end, bnd *b)
{
	const char *bd = mimeo_part_param(p, "boundary");
	size_t i;

	memset(b, 0, sizeof(*b));
	b->up = up;
	if (!bd || !(mimeo_part_is_multipart(p) || no_delimiter_multipart(p)))
		return 0;
	b->old = b->now = bd;
	b->olen = strlen(bd);
	while (b->olen && (bd[b->olen - 1] == ' ' || bd[b->olen - 1] == '\t' ||
			   bd[b->olen - 1] == '\r'))
		b->olen--;
	b->nlen = b->olen;
	for (i = 0; i < b->olen && (unsigned char)bd[i] < 128; i++)
		;
	if (i < b->olen || b->olen + 4 > MIMEO__MAX_LINE)
		new_boundary(t, b, bs, end);
	return 1;
}

/* A delimiter line of the multipart whose boundary is b: "--" + the new
 * boundary ["--"]; transport padding goes, a CR before the LF stays. */
static int put_delim(mimeo_buf *h, const bnd *b, int kind, int cr)
{
	if (mimeo_buf_puts(h, "--") || mimeo_buf_put(h, b->now, b->nlen) ||
	    (kind == 2 && mimeo_buf_puts(h, "--")) || (cr && mimeo_buf_puts(h, "\r")))
		return MIMEO_ENOMEM;
	return MIMEO_OK;
}

/* Any other line [ls, le) of a gap: 8-bit bytes and NULs become "?", a
 * line over 998 octets is broken with a line break plus one space (so the
 * new line cannot look like a delimiter), except a "--" line, whose tail
 * goes (a fold would push it into the next part if it were read as a
 * delimiter).  Should the result read as a delimiter of a multipart open
 * around it ("--b\xc3\xa9" made "--b??" where an enclosing boundary is
 * "b??"), its second "-" becomes "?": it was none in the source. */
static int put_gap_line(t7 *t, mimeo_buf *h, uint64_t ls, uint64_t le, uint64_t to, int breaks,
			const bnd *open)
{
	size_t mark = h->size, line = 0;
	int dashes = le - ls >= 2 && t->src[ls] == '-' && t->src[ls + 1] == '-';
	uint64_t i;
	int r = MIMEO_OK;

	for (i = ls; !r && i < le; i++) {
		unsigned char c = (unsigned char)t->src[i];

		if (!(c == '\r' && i + 1 < to && t->src[i + 1] == '\n') &&
		    ++line > MIMEO__MAX_LINE - 1 && breaks) {
			if (dashes)
				continue;
			r = mimeo_buf_puts(h, t->nl) || mimeo_buf_puts(h, " ") ? MIMEO_ENOMEM : 0;
			line = 2;
		}
		if (!r)
			r = mimeo_buf_put(h, (c >= 128 || !c) ? "?" : (const char *)&t->src[i], 1);
	}
	if (!r && dashes && any_delim(open, h->ptr + mark, h->size - mark))
		h->ptr[mark + 1] = '?';
	return r;
}

/* The first line of a multipart's body, when the parser ended the header
 * there without a blank line (end_header() adds none for a multipart): a
 * line that was no field only because of its 8-bit bytes or NULs
 * ("\0From\x91: x") would, with them made "?", read as a field of the
 * multipart's header ("?From?: x") and move the body's start.  If the
 * rewritten line differs from the source and has a colon outside a "--"
 * line, its colons become "?" too: a preamble line carries no content. */
static void unfield_first_line(mimeo_buf *h, size_t mark, const char *src, size_t len)
{
	size_t i, n = h->size - mark;

	if ((n == len && (n == 0 || memcmp(h->ptr + mark, src, n) == 0)) ||
	    (n >= 2 && h->ptr[mark] == '-' && h->ptr[mark + 1] == '-'))
		return;
	for (i = mark; i < h->size; i++)
		if (h->ptr[i] == ':')
			h->ptr[i] = '?';
}

/* Bytes between children (preamble, delimiters, epilogue) carry no
 * content (RFC 2046 5.1.1: readers ignore them), so they are made 7-bit
 * line by line the simple way (put_gap_line()), but for the delimiter
 * lines of `own` (the multipart whose gap it is; NULL outside one), which
 * get its boundary as written (put_delim()).  `open`: the multiparts open
 * around the gap, innermost first. */
static int clean_gap(t7 *t, const mimeo_part *p, uint64_t from, uint64_t to, int breaks,
		     const bnd *own, const bnd *open)
{
	mimeo_buf h;
	uint64_t i, ls, le, hs, bs, end;
	int r = MIMEO_OK;

	/* a new boundary changes delimiter lines that are 7-bit (all but
	 * the one over 998 octets that made it necessary) */
	if (from >= to || (!range_dirty(t->src, from, to) && !(own && own->now != own->old)))
		return MIMEO_OK;
	if (!breaks) {
		for (i = from; i < to; i++)
			if ((unsigned char)t->src[i] >= 128 || !t->src[i])
				break;
		if (i == to)
			return MIMEO_OK;
	}
	mimeo_buf_init(&h, t->alloc);
	mimeo_part_offsets(p, &hs, &bs, &end);
	for (ls = from; !r && ls < to; ls = le + 1) {
		const char *nlp = memchr(t->src + ls, '\n', (size_t)(to - ls));
		size_t mark = h.size;
		int kind;

		le = nlp ? (uint64_t)(nlp - t->src) : to;
		kind = own ? delim_kind_in(t->src + ls, (size_t)(le - ls), own->old, own->olen,
					   src_window(own)) : 0;
		if (kind)
			r = put_delim(&h, own, kind, le > ls && t->src[le - 1] == '\r');
		else
			r = put_gap_line(t, &h, ls, le, to, breaks, open);
		if (!r && !kind && ls == bs && own)
			unfield_first_line(&h, mark, t->src + ls, (size_t)(le - ls));
		if (!r && nlp)
			r = mimeo_buf_put(&h, "\n", 1);
	}
	if (!r && h.size == to - from && memcmp(h.ptr, t->src + from, h.size) == 0) {
		mimeo_buf_dispose(&h); /* nothing changed */
		return MIMEO_OK;
	}
	if (!r)
		r = add_edit(t, from, to, &h, NULL, MIMEO_CTE_NONE);
	mimeo_buf_dispose(&h);
	if (!r)
		warn(t, p, "8-bit bytes or over-long lines in a preamble or epilogue rewritten");
	return r;
}

static int process_node(t7 *t, const mimeo_part *p, int depth, int *clean, hscan *hsc,
			const bnd *open);

/* A Content-Transfer-Encoding field with 8-bit bytes that nothing else
 * replaced: write the encoding the parser understood, or, for an unknown
 * one, the field with its 8-bit bytes made ASCII. */
/* A header block that the parser ended at a line that is not a field,
 * without a blank line: when the body's start was changed (re-encoded, or
 * a child's header field inserted there), the new text could read as a
 * field of this header ("caf\xc3\xa9:" becomes "caf=C3=A9:"), so the
 * header gets its blank line.  Not a multipart's: its body starts with a
 * preamble that only loses 8-bit bytes (no structure can appear there),
 * and a blank line would make a delimiter line right after the header,
 * which the parser does not take as one, start the first part. */
static int end_header(t7 *t, const mimeo_part *p, const hscan *hsc, size_t edits_before)
{
	uint64_t hs, bs, end;
	mimeo_buf h;
	size_t i;
	int r = MIMEO_OK;

	mimeo_part_offsets(p, &hs, &bs, &end);
	if (hsc->blank || (!mimeo_part_is_leaf(p) && mimeo_part_type(p) &&
			   strcmp(mimeo_part_type(p), "multipart") == 0))
		return MIMEO_OK;
	for (i = edits_before; i < t->ned && t->ed[i].start != bs; i++)
		;
	if (i == t->ned)
		return MIMEO_OK;
	mimeo_buf_init(&h, t->alloc);
	if (mimeo_buf_puts(&h, t->nl))
		r = MIMEO_ENOMEM;
	if (!r)
		r = add_insert(t, bs, &h, hsc->depth * 2 + 1);
	mimeo_buf_dispose(&h);
	return r;
}

/* Part p and what it holds; `open`: the multiparts around it. */
static int process(t7 *t, const mimeo_part *p, int depth, int *clean, const bnd *open)
{
	size_t before = t->ned;
	hscan hsc;
	mimeo_cte c;
	int r;

	memset(&hsc, 0, sizeof(hsc));
	t->cur = p;
	r = process_node(t, p, depth, clean, &hsc, open);
	t->cur = p;
	if (!r && hsc.cte_dirty && !hsc.cte_set) {
		c = mimeo_part_cte(p);
		if (c != MIMEO_CTE_NONE && c != MIMEO_CTE_UNKNOWN) {
			r = set_cte(t, &hsc, c);
		} else {
			r = reencode_field(t, hsc.cte_start[0], hsc.cte_end[0], NULL);
			if (!r && hsc.ncte > 1)
				r = reencode_field(t, hsc.cte_start[1], hsc.cte_end[1], NULL);
		}
	}
	return r ? r : end_header(t, p, &hsc, before);
}

/* Lines of encoder output, checked for a delimiter of an open multipart
 * (only a line's first DELIM_SCAN bytes count). */
typedef struct qpcheck {
	const bnd *open;
	char line[DELIM_SCAN];
	size_t n;
	int hit;
} qpcheck;

static int qp_line_check(const void *data, size_t len, void *ctx)
{
	qpcheck *q = ctx;
	const char *d = data;
	size_t i;

	for (i = 0; i < len && !q->hit; i++) {
		if (d[i] == '\n') {
			q->hit = any_delim(q->open, q->line, q->n < DELIM_SCAN ? q->n : DELIM_SCAN);
			q->n = 0;
			continue;
		}
		if (q->n < DELIM_SCAN)
			q->line[q->n] = d[i];
		q->n++;
	}
	return q->hit; /* found one: stop */
}

/* Whether a body can give a quoted-printable line "--" + an open
 * boundary at all: the source must hold "--" and then the boundary's
 * first byte (moved to a line start by a soft line break, or starting a
 * source line), or anything after "--" if that byte is "=" (an escape or
 * a soft break).  Keeps the trial encoding off most bodies. */
static int may_make_delim(const char *s, size_t n, const bnd *open)
{
	const char *p = s, *e = s + n;
	const bnd *b;

	while (e - p >= 3 && (p = memchr(p, '-', (size_t)(e - p - 2))) != NULL) {
		if (p[1] == '-')
			for (b = open; b; b = b->up)
				if (!b->nlen || b->now[0] == '=' || b->now[0] == p[2])
					return 1;
		p++;
	}
	return 0;
}

/* Whether the quoted-printable form of a body has a line that reads as a
 * delimiter of a multipart open around it: a soft line break can start a
 * line with "--b" taken from the middle of a source line, and "=C3=A9"
 * can spell an enclosing boundary. */
static int qp_makes_delim(t7 *t, const void *body, size_t blen, const bnd *open, int *hit)
{
	qpcheck q;
	mimeo__out o;
	mimeo__enc enc;
	int r;

	memset(&q, 0, sizeof(q));
	q.open = open;
	r = mimeo__out_init(&o, t->alloc, 256 * 1024, qp_line_check, &q);
	if (r)
		return r;
	mimeo__enc_init(&enc, MIMEO_CTE_QP, t->crlf, 1);
	r = mimeo__enc_step(&enc, &o, body, blen);
	if (!r)
		r = mimeo__enc_finish(&enc, &o);
	if (!r)
		r = mimeo__out_flush(&o);
	mimeo__out_dispose(&o, t->alloc);
	if (!q.hit && q.n)
		q.hit = any_delim(open, q.line, q.n < DELIM_SCAN ? q.n : DELIM_SCAN);
	*hit = q.hit;
	return q.hit ? MIMEO_OK : r;
}

/* A message/rfc822 part with a transfer encoding (RFC 2046 5.2.1 allows
 * none; the parser decodes the body and parses the decoded stream): the
 * offsets of its parts count bytes of that stream, not of the source, so
 * nothing inside can be edited in place.  A body that is not 7-bit (an
 * 8-bit byte in uuencoded or quoted-printable text) is decoded as the
 * parser decodes it and written again in base64, which decodes to the
 * same stream: the same parts come out. */
static int reencode_message(t7 *t, const mimeo_part *p, hscan *hsc, uint64_t bs, uint64_t end)
{
	unsigned char tmp[MIMEO_TRANSFER_DECODE_BOUND(4096)];
	mimeo_transfer_decoder d;
	mimeo_buf dec;
	uint64_t off;
	size_t n;
	int r = MIMEO_OK;

	if (!range_dirty(t->src, bs, end))
		return MIMEO_OK;
	mimeo_buf_init(&dec, t->alloc);
	mimeo_transfer_decoder_init(&d, mimeo_part_cte(p), MIMEO_ISA_AUTO);
	for (off = bs; !r && off < end; off += n) {
		n = end - off < 4096 ? (size_t)(end - off) : 4096;
		r = mimeo_buf_put(&dec, tmp, mimeo_transfer_decode_step(&d, t->src + off, n, tmp));
	}
	if (!r)
		r = mimeo_buf_put(&dec, tmp, mimeo_transfer_decode_finish(&d, tmp));
	if (!r)
		r = set_cte(t, hsc, MIMEO_CTE_BASE64);
	if (!r)
		r = add_edit(t, bs, end, &dec, NULL, MIMEO_CTE_BASE64);
	if (!r)
		t->ed[t->ned - 1].encode = 1;
	mimeo_buf_dispose(&dec);
	return r ? MIMEO_ENOMEM : MIMEO_OK;
}

static int is_encoded_message(const mimeo_part *p)
{
	const mimeo_part *c = mimeo_part_first_child(p);

	return c && (mimeo_part_flags(c) & MIMEO_PART_ENCODED) &&
	       !(mimeo_part_flags(p) & MIMEO_PART_ENCODED);
}

/* The children of a multipart or message part, and the gaps around them
 * (`own`: the multipart's boundary, NULL for a message).  The parts of a
 * signed multipart (`sealed`) are kept as they are; only its gaps change,
 * which its signature does not cover (RFC 1847 section 2.1). */
static int process_children(t7 *t, const mimeo_part *p, int depth, int *clean,
			    const bnd *own, const bnd *open, int sealed)
{
	const mimeo_part *c;
	uint64_t hs, bs, end, pos;
	int all = 1, cc, r;

	mimeo_part_offsets(p, &hs, &bs, &end);
	pos = bs;
	for (c = mimeo_part_first_child(p); c; c = mimeo_part_next_sibling(c)) {
		uint64_t chs, cbs, cend;

		mimeo_part_offsets(c, &chs, &cbs, &cend);
		if (chs < pos || cend > end || chs > cend) {
			all = 0;
			continue;
		}
		r = clean_gap(t, p, pos, chs, 1, own, open);
		cc = 1;
		if (!r && sealed && range_dirty(t->src, chs, cend)) {
			cc = 0;
			warn(t, c, "signed part left unchanged although not 7-bit: "
				   "re-encoding would break its signature");
		} else if (!r && !sealed) {
			r = process(t, c, depth + 1, &cc, open);
		}
		if (r)
			return r;
		all &= cc;
		pos = cend;
	}
	*clean = all;
	return clean_gap(t, p, pos, end, 1, own, open);
}

static int process_node(t7 *t, const mimeo_part *p, int depth, int *clean, hscan *hsc,
			const bnd *open)
{
	uint64_t hs, bs, end;
	bnd me;
	int r, multi, renamed;

	*clean = 1;
	mimeo_part_offsets(p, &hs, &bs, &end);
	if (hs > bs || bs > end || end > t->len || depth > 200) {
		/* Offsets we cannot trust: copy the part as it is. */
		if (hs <= end && end <= t->len && range_dirty(t->src, hs, end)) {
			*clean = 0;
			warn(t, p, "part left unchanged: inconsistent offsets");
		}
		return MIMEO_OK;
	}
	multi = init_boundary(t, p, open, bs, end, &me);
	renamed = multi && me.now != me.old;
	r = scan_header_block(t, hs, bs, hsc, renamed ? me.now : NULL);
	hsc->depth = depth;
	if (r)
		return r;
	if (is_protected(p) && renamed) {
		/* its Content-Type has the new boundary: the delimiters too */
		return process_children(t, p, depth, clean, &me, &me, 1);
	}
	if (is_protected(p)) {
		/* RFC 1847 / RFC 8551: any change to the signed bytes breaks
		 * the signature, so the body stays as it is. */
		if (range_dirty(t->src, bs, end)) {
			*clean = 0;
			warn(t, p, "signed or encrypted part left unchanged although not 7-bit: "
				   "re-encoding would break its signature");
		}
		return MIMEO_OK;
	}
	if (mimeo_part_is_leaf(p) && !no_delimiter_multipart(p)) {
		size_t blen;
		const void *body;
		mimeo__scan sc;
		mimeo_cte cte;
		const char *ty = mimeo_part_type(p);
		int text = ty && (strcmp(ty, "text") == 0 || strcmp(ty, "message") == 0);

		if (!range_dirty(t->src, bs, end))
			return MIMEO_OK;
		body = mimeo_part_body(p, &blen);
		if (!body) {
			/* not in memory as it is: decode it (bodies are kept
			 * in the source since issue 13) */
			mimeo_buf_clear(&t->body);
			r = mimeo_part_decode_buf(p, 0, NULL, &t->body, NULL);
			if (r)
				return r;
			body = t->body.ptr ? t->body.ptr : "";
			blen = t->body.size;
		}
		mimeo__scan_init(&sc);
		mimeo__scan_step(&sc, body, blen);
		if (text && (sc.high + sc.ctl + sc.cr) * 6 <= sc.total)
			cte = MIMEO_CTE_QP;
		else
			cte = MIMEO_CTE_BASE64;
		if (cte == MIMEO_CTE_QP && open && may_make_delim(body, blen, open)) {
			int hit;

			r = qp_makes_delim(t, body, blen, open, &hit);
			if (r)
				return r;
			if (hit)
				cte = MIMEO_CTE_BASE64; /* base64 has no "-" */
		}
		r = set_cte(t, hsc, cte);
		if (!r)
			r = add_edit(t, bs, end, NULL, p, cte);
		return r;
	} else if (is_encoded_message(p)) {
		return reencode_message(t, p, hsc, bs, end);
	} else {
		size_t edits_before = t->ned;
		int all;

		r = process_children(t, p, depth, &all, multi ? &me : NULL, multi ? &me : open, 0);
		if (r)
			return r;
		*clean = all;
		/* Everything inside was made 7-bit: say so (RFC 2045 6.4 lets a
		 * composite say 7bit, 8bit or binary only).  A part that was
		 * clean already keeps its label, so clean input is unchanged. */
		if (all && t->ned > edits_before && (mimeo_part_cte(p) == MIMEO_CTE_8BIT ||
			    mimeo_part_cte(p) == MIMEO_CTE_BINARY))
			r = set_cte(t, hsc, MIMEO_CTE_7BIT);
		return r;
	}
}

static int cmp_edit(const void *a, const void *b)
{
	const edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->order - y->order;
}

typedef struct enc_sink {
	mimeo__enc enc;
	mimeo__out *o;
} enc_sink;

static int enc_write(const void *data, size_t len, void *ctx)
{
	enc_sink *es = ctx;

	return mimeo__enc_step(&es->enc, es->o, data, len);
}

static int emit(t7 *t, mimeo__out *o)
{
	uint64_t pos = 0;
	size_t i;
	int r = MIMEO_OK;

	for (i = 0; !r && i < t->ned; i++) {
		edit *e = &t->ed[i];

		if (e->start < pos)
			continue; /* cannot happen: edits are disjoint */
		r = mimeo__out_put(o, t->src + pos, (size_t)(e->start - pos));
		if (r)
			break;
		if (e->body || e->encode) {
			const char *ty = e->body ? mimeo_part_type(e->body) : "message";
			enc_sink es;

			es.o = o;
			mimeo__enc_init(&es.enc, e->cte, t->crlf,
					ty && (strcmp(ty, "text") == 0 || strcmp(ty, "message") == 0));
			/* a body is decoded from the source as it is encoded */
			if (e->body)
				r = mimeo_part_decode(e->body, 0, NULL, enc_write, &es, NULL);
			else
				r = mimeo__enc_step(&es.enc, o, e->text ? e->text : "", e->len);
			if (!r)
				r = mimeo__enc_finish(&es.enc, o);
		} else if (e->len) {
			r = mimeo__out_put(o, e->text, e->len);
		}
		pos = e->end;
	}
	if (!r && pos < t->len)
		r = mimeo__out_put(o, t->src + pos, (size_t)(t->len - pos));
	if (!r)
		r = mimeo__out_flush(o);
	return r;
}

int mimeo_to7bit(const mimeo_message *m, const mimeo_to7bit_options *opts,
		 mimeo_write_fn write, void *ctx, size_t *warnings)
{
	const char *nlp;
	mimeo__out o;
	void *map;
	t7 t;
	size_t i;
	int r, clean;

	if (warnings)
		*warnings = 0;
	if (!m || !write || (opts && !MIMEO__VERSION_OK(opts->version, MIMEO_TO7BIT_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	memset(&t, 0, sizeof(t));
	t.opts = opts;
	t.alloc = opts ? opts->alloc : NULL;
	mimeo_buf_init(&t.body, t.alloc);
	/* one contiguous view of the source (a mapping when it is a file) */
	r = mimeo__message_map(m, &t.src, &t.len, &map);
	if (r)
		return r;
	/* New line breaks follow the source's first one. */
	nlp = t.len ? memchr(t.src, '\n', t.len) : NULL;
	t.crlf = nlp && nlp > t.src && nlp[-1] == '\r';
	t.nl = t.crlf ? "\r\n" : "\n";
	t.hflags = t.crlf ? MIMEO_HEADER_FOLD_CRLF : 0;
	r = mimeo_charset_cache_new(&t.cc, t.alloc);
	if (!r) {
		/* Bytes the tree does not cover (a leading mbox From_ line,
		 * trailing garbage) get their 8-bit bytes replaced; a long
		 * From_ line is not broken, since its second half would
		 * become part of the message. */
		const mimeo_part *root = mimeo_message_root(m);
		uint64_t hs, end;

		mimeo_part_offsets(root, &hs, NULL, &end);
		if (hs > t.len)
			hs = t.len;
		r = clean_gap(&t, root, 0, hs, 0, NULL, NULL);
		if (!r)
			r = process(&t, root, 0, &clean, NULL);
		if (!r && end >= hs && end < t.len)
			r = clean_gap(&t, root, end, t.len, 1, NULL, NULL);
	}
	if (!r) {
		if (t.ned)
			qsort(t.ed, t.ned, sizeof(*t.ed), cmp_edit);
		r = mimeo__out_init(&o, t.alloc, 256 * 1024, write, ctx);
		if (!r) {
			r = emit(&t, &o);
			mimeo__out_dispose(&o, t.alloc);
		}
	}
	for (i = 0; i < t.ned; i++)
		mimeo__free(t.alloc, t.ed[i].text);
	mimeo__free(t.alloc, t.ed);
	mimeo_charset_cache_free(t.cc);
	mimeo_buf_dispose(&t.body);
	mimeo__message_unmap(map, t.src, t.len);
	if (warnings)
		*warnings = t.warnings;
	return r;
}
