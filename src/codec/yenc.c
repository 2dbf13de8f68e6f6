/*
 * yenc.c - streaming yEnc decoder (the yEnc 1.3 draft, as Usenet posters
 * write it): text up to an "=ybegin ... name=" line, data lines where each
 * byte is stored plus 42 and `=` escapes the next byte (plus 64 more),
 * "=ypart begin= end=" for one part of a multi-part post, "=yend size=
 * part= pcrc32= crc32=" to close the block.  CR and LF are never data.
 *
 * The data loop is the hot path (yEnc posts are large binaries): with SSE2
 * (baseline on x86-64) 16 bytes are tested at once for the three bytes
 * that need attention (`=`, CR, LF) and stored minus 42 when none is
 * there.  The CRC-32 is zlib's, run over each call's output.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <stddef.h>
#include <string.h>
#include <zlib.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Decoder states (d->_state).  0 is the state of a zeroed struct and means
 * the same as ST_TEXT_BOL, so mimeo_yenc_decoder_init() can be a memset. */
enum {
	ST_TEXT_BOL = 0,  /* outside a block, at a line start */
	ST_TEXT_PFX,      /* outside, the line so far ("=", "=y", ...) may
			     still become "=ybegin " */
	ST_TEXT_KEY,      /* outside, collecting an "=ybegin " line */
	ST_TEXT_SKIP,     /* outside, skipping the rest of a line */
	ST_DATA_BOL,      /* inside a block, at a line start */
	ST_DATA,          /* inside, in a data line */
	ST_DATA_ESC,      /* inside, after `=` (the next byte is escaped) */
	ST_DATA_PFX,      /* inside, a line start "=", "=y", "=ye" ... that
			     may still become a keyword; held in _line */
	ST_DATA_KEY       /* inside, collecting a keyword line */
};

/* The keyword lines.  A keyword is followed by a space, a tab, CR, LF or
 * the end of the input. */
enum { KW_NONE, KW_BEGIN, KW_PART, KW_END };
static const struct {
	const char *word;
	size_t len;
} keywords[] = {
	[KW_BEGIN] = { "=ybegin", 7 },
	[KW_PART] = { "=ypart", 6 },
	[KW_END] = { "=yend", 5 },
};

/* Longest keyword: what ST_*_PFX may hold back (and flush as data). */
#define PFX_MAX 7

void mimeo_yenc_decoder_init(mimeo_yenc_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

static int is_delim(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Is l[0..n) a prefix of a keyword (`inside`: any of the three; outside a
 * block only "=ybegin")?  Returns the keyword l equals, KW_NONE plus 8 for
 * a proper prefix, or -1 for neither. */
static int pfx_match(const unsigned char *l, size_t n, int inside)
{
	int k, prefix = 0;

	for (k = KW_BEGIN; k <= KW_END; k++) {
		if (!inside && k != KW_BEGIN)
			continue;
		if (n <= keywords[k].len && memcmp(l, keywords[k].word, n) == 0) {
			if (n == keywords[k].len)
				return k;
			prefix = 1;
		}
	}
	return prefix ? KW_NONE + 8 : -1;
}

/* ---- keyword line parsing ---- */

/* Decimal value; saturates instead of wrapping (hostile figures). */
static uint64_t parse_dec(const unsigned char *s, size_t n, int *ok)
{
	uint64_t v = 0;
	size_t i;

	*ok = n > 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*ok = 0;
			return 0;
		}
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v;
}

/* Hexadecimal CRC; posters write 8 digits, some fewer, some with leading
 * zeros beyond 8: the low 32 bits count. */
static uint32_t parse_hex(const unsigned char *s, size_t n, int *ok)
{
	uint32_t v = 0;
	size_t i;

	*ok = n > 0;
	for (i = 0; i < n; i++) {
		unsigned c = s[i], x;

		if (c >= '0' && c <= '9')
			x = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			x = (c | 0x20) - 'a' + 10;
		else {
			*ok = 0;
			return 0;
		}
		v = (v << 4) | x;
	}
	return v;
}

static unsigned cap_uint(uint64_t v)
{
	return v > 0xffffffffu ? 0xffffffffu : (unsigned)v;
}

/* Walk the "key=value" tokens of l[0..n) after the keyword.  For each,
 * call back with the key and value; "name=" takes the rest of the line
 * (names may hold spaces, and the draft puts name= last). */
typedef void (*kv_fn)(mimeo_yenc_decoder *d, const unsigned char *k, size_t kn,
		      const unsigned char *v, size_t vn);

static void walk_tokens(mimeo_yenc_decoder *d, const unsigned char *l, size_t n, kv_fn fn)
{
	size_t i = 0;

	while (i < n) {
		size_t ks, ke, vs;

		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		ks = i;
		while (i < n && l[i] != '=' && l[i] != ' ' && l[i] != '\t')
			i++;
		ke = i;
		if (i >= n || l[i] != '=')
			continue;   /* a word without '=': ignored */
		vs = ++i;
		if (ke - ks == 4 && memcmp(l + ks, "name", 4) == 0) {
			size_t ve = n;

			while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
				ve--;
			fn(d, l + ks, 4, l + vs, ve - vs);
			return;
		}
		while (i < n && l[i] != ' ' && l[i] != '\t')
			i++;
		fn(d, l + ks, ke - ks, l + vs, i - vs);
	}
}

static int key_is(const unsigned char *k, size_t kn, const char *want)
{
	return kn == strlen(want) && memcmp(k, want, kn) == 0;
}

static void begin_kv(mimeo_yenc_decoder *d, const unsigned char *k, size_t kn,
		     const unsigned char *v, size_t vn)
{
	int ok;
	uint64_t x;

	if (key_is(k, kn, "name")) {
		if (vn > sizeof(d->name) - 1)
			vn = sizeof(d->name) - 1;
		memcpy(d->name, v, vn);
		d->name[vn] = '\0';
		d->_held = 1;   /* (re)used as "name= seen" while parsing */
		return;
	}
	x = parse_dec(v, vn, &ok);
	if (!ok)
		return;
	if (key_is(k, kn, "size")) {
		d->size = x;
		d->have |= MIMEO_YENC_HAVE_SIZE;
	} else if (key_is(k, kn, "line")) {
		d->line = cap_uint(x);
		d->have |= MIMEO_YENC_HAVE_LINE;
	} else if (key_is(k, kn, "part")) {
		d->part = cap_uint(x);
		d->have |= MIMEO_YENC_HAVE_PART;
	} else if (key_is(k, kn, "total")) {
		d->total = cap_uint(x);
		d->have |= MIMEO_YENC_HAVE_TOTAL;
	}
}

static void part_kv(mimeo_yenc_decoder *d, const unsigned char *k, size_t kn,
		    const unsigned char *v, size_t vn)
{
	int ok;
	uint64_t x = parse_dec(v, vn, &ok);

	if (!ok)
		return;
	if (key_is(k, kn, "begin"))
		d->begin = x, d->_held |= 1;
	else if (key_is(k, kn, "end"))
		d->end = x, d->_held |= 2;
}

static void end_kv(mimeo_yenc_decoder *d, const unsigned char *k, size_t kn,
		   const unsigned char *v, size_t vn)
{
	int ok;
	uint64_t x;
	uint32_t h;

	if (key_is(k, kn, "pcrc32") || key_is(k, kn, "crc32")) {
		h = parse_hex(v, vn, &ok);
		if (!ok)
			return;
		if (kn == 6) {
			d->pcrc32 = h;
			d->have |= MIMEO_YENC_HAVE_PCRC32;
		} else {
			d->crc32 = h;
			d->have |= MIMEO_YENC_HAVE_CRC32;
		}
		return;
	}
	x = parse_dec(v, vn, &ok);
	if (!ok)
		return;
	if (key_is(k, kn, "size")) {
		d->end_size = x;
		d->have |= MIMEO_YENC_HAVE_END_SIZE;
	} else if (key_is(k, kn, "part")) {
		d->end_part = cap_uint(x);
		d->have |= MIMEO_YENC_HAVE_END_PART;
	}
}

/* Clear everything that describes a block (not `invalid` or the line). */
static void clear_block(mimeo_yenc_decoder *d)
{
	uint64_t invalid = d->invalid;

	memset(d, 0, offsetof(mimeo_yenc_decoder, invalid));
	d->invalid = invalid;
}

/* An "=ybegin" line in _line (without its line break): start a block when
 * it has a name=.  Returns whether it did. */
static int begin_block(mimeo_yenc_decoder *d, size_t n)
{
	mimeo_yenc_decoder t;

	/* Parse into a scratch copy so a line without name= changes nothing. */
	memset(&t, 0, sizeof(t));   /* _held too: "name= seen" */
	walk_tokens(&t, d->_line + 7, n - 7, begin_kv);
	if (!t._held)
		return 0;
	clear_block(d);
	memcpy(d, &t, offsetof(mimeo_yenc_decoder, invalid));
	d->began = 1;
	d->_held = 0;
	return 1;
}

/* The block ends: run its checks (yEnc draft 1.3 section "=yend"). */
static void close_block(mimeo_yenc_decoder *d, int had_end)
{
	unsigned h = d->have, e = 0;
	int multi = (h & MIMEO_YENC_HAVE_PART) != 0;

	if (!had_end)
		e |= MIMEO_YENC_NO_END;
	if ((h & MIMEO_YENC_HAVE_END_SIZE) && d->end_size != d->decoded)
		e |= MIMEO_YENC_BAD_SIZE;
	if (h & MIMEO_YENC_HAVE_YPART) {
		if (d->begin == 0 || d->end < d->begin ||
		    ((h & MIMEO_YENC_HAVE_SIZE) && d->end > d->size))
			e |= MIMEO_YENC_BAD_PART;
		else if (d->end - d->begin + 1 != d->decoded)
			e |= MIMEO_YENC_BAD_SIZE;
	} else if (multi) {
		e |= MIMEO_YENC_BAD_PART;
	} else if ((h & MIMEO_YENC_HAVE_SIZE) && d->size != d->decoded) {
		e |= MIMEO_YENC_BAD_SIZE;
	}
	if ((h & MIMEO_YENC_HAVE_END_PART) && (!multi || d->end_part != d->part))
		e |= MIMEO_YENC_BAD_PART;
	/* pcrc32 covers this block; crc32 the whole file, which this block is
	 * unless it is one part of several. */
	if (h & MIMEO_YENC_HAVE_PCRC32) {
		if (d->pcrc32 != d->crc)
			e |= MIMEO_YENC_BAD_CRC;
	} else if ((h & MIMEO_YENC_HAVE_CRC32) &&
		   (!multi || (d->begin == 1 && (h & MIMEO_YENC_HAVE_SIZE) &&
			       d->end == d->size))) {
		if (d->crc32 != d->crc)
			e |= MIMEO_YENC_BAD_CRC;
	}
	d->errors |= e;
	d->ended = 1;
}

/* Output accounting: the CRC and count of the bytes written since *mark. */
static void account(mimeo_yenc_decoder *d, unsigned char **mark, unsigned char *o)
{
	size_t n = (size_t)(o - *mark);

	if (n) {
		d->crc = (uint32_t)crc32_z(d->crc, *mark, n);
		d->decoded += n;
	}
	*mark = o;
}

/* A keyword line inside a block is complete in _line (line break not
 * included).  Returns 1 when the block ended (pause). */
static int data_keyword(mimeo_yenc_decoder *d)
{
	size_t n = d->_len;
	const unsigned char *l = d->_line;

	if (d->_cut)
		d->invalid++;
	d->_cut = 0;
	while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (n >= 7 && memcmp(l, "=ybegin", 7) == 0) {
		mimeo_yenc_decoder t;

		/* A begin line reads the same inside a block as outside one
		 * ("=ybegin" then a space or tab): one that ends a block must
		 * also start a block when read on its own (fuzz_expand: the
		 * block that "=ybegin<CR> name=x" started after a pause was no
		 * block when its derived child was decoded from that line). */
		if (n == 7 || (l[7] != ' ' && l[7] != '\t'))
			return 0;    /* not a begin line: ignored */

		memset(&t, 0, sizeof(t));   /* _held too: "name= seen" */
		walk_tokens(&t, l + 7, n - 7, begin_kv);
		if (!t._held)
			return 0;    /* not a begin line: ignored */
		close_block(d, 0);
		d->_len = (unsigned)n;
		d->_held = 1;        /* starts the next block after the pause */
		return 1;
	}
	if (n >= 6 && memcmp(l, "=ypart", 6) == 0) {
		unsigned held = d->_held;

		d->_held = 0;
		walk_tokens(d, l + 6, n - 6, part_kv);
		if (d->_held == 3)
			d->have |= MIMEO_YENC_HAVE_YPART;
		d->_held = held;
		return 0;
	}
	/* "=yend" */
	d->have |= MIMEO_YENC_HAVE_END;
	walk_tokens(d, l + 5, n - 5, end_kv);
	close_block(d, 1);
	return 1;
}

/* Decode held-back line-start bytes (a "=y..." that turned out not to be a
 * keyword) as data: the first `=` escapes the next byte.  They hold no line
 * break.  Returns the new state (ST_DATA or ST_DATA_ESC). */
static unsigned flush_pfx(mimeo_yenc_decoder *d, unsigned char **po)
{
	unsigned char *o = *po;
	unsigned i, esc = 0;

	for (i = 0; i < d->_len; i++) {
		unsigned char c = d->_line[i];

		if (esc) {
			*o++ = (unsigned char)(c - 106);
			esc = 0;
		} else if (c == '=') {
			esc = 1;
		} else {
			*o++ = (unsigned char)(c - 42);
		}
	}
	d->_len = 0;
	*po = o;
	return esc ? ST_DATA_ESC : ST_DATA;
}

/* Append to _line what fits; note a cut. */
static void line_put(mimeo_yenc_decoder *d, const unsigned char *p, size_t k)
{
	if (k > sizeof(d->_line) - d->_len) {
		k = sizeof(d->_line) - d->_len;
		d->_cut = 1;
	}
	memcpy(d->_line + d->_len, p, k);
	d->_len += (unsigned)k;
}

/* After a pause: forget the block; a held =ybegin line starts the next. */
static void next_block(mimeo_yenc_decoder *d)
{
	int held = d->_held;

	clear_block(d);
	d->_paused = 0;
	d->_state = ST_TEXT_BOL;
	if (held && begin_block(d, d->_len))
		d->_state = ST_DATA_BOL;
	d->_len = 0;
}

int mimeo_yenc_decode_step(mimeo_yenc_decoder *d, const void *in, size_t len, void *out,
			   size_t *consumed, size_t *produced)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out, *mark = out;
	unsigned st;
	int paused = 0;

	if (d->_paused)
		next_block(d);
	st = d->_state;
	while (p < end && !paused) {
		unsigned char c;

		switch (st) {
		case ST_TEXT_BOL:
			if (*p == '=') {
				d->_line[0] = '=';
				d->_len = 1;
				p++;
				st = ST_TEXT_PFX;
			} else {
				st = ST_TEXT_SKIP;
			}
			break;
		case ST_TEXT_PFX:
			c = *p;
			if (d->_len == 7 && (c == ' ' || c == '\t')) {
				st = ST_TEXT_KEY;   /* "=ybegin " */
				break;
			}
			d->_line[d->_len] = c;
			if (d->_len < PFX_MAX && pfx_match(d->_line, d->_len + 1, 0) >= 0) {
				d->_len++;
				p++;
			} else {
				d->_len = 0;
				st = ST_TEXT_SKIP;   /* c is looked at there */
			}
			break;
		case ST_TEXT_KEY:
		case ST_DATA_KEY: {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));

			line_put(d, p, (size_t)((nl ? nl : end) - p));
			if (!nl) {
				p = end;
				break;
			}
			p = nl + 1;
			if (st == ST_TEXT_KEY) {
				size_t n = d->_len;

				while (n > 0 && (d->_line[n - 1] == '\r' || d->_line[n - 1] == ' ' ||
						 d->_line[n - 1] == '\t'))
					n--;
				if (d->_cut)
					d->invalid++;
				d->_cut = 0;
				st = begin_block(d, n) ? ST_DATA_BOL : ST_TEXT_BOL;
				d->_len = 0;
			} else {
				account(d, &mark, o);
				if (data_keyword(d)) {
					paused = 1;
					st = ST_TEXT_BOL;
				} else {
					st = ST_DATA_BOL;
					d->_len = 0;
				}
			}
			break;
		}
		case ST_TEXT_SKIP: {
			const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl) {
				p = end;
			} else {
				p = nl + 1;
				st = ST_TEXT_BOL;
			}
			break;
		}
		case ST_DATA_BOL:
			if (*p == '=') {
				d->_line[0] = '=';
				d->_len = 1;
				p++;
				st = ST_DATA_PFX;
			} else {
				st = ST_DATA;
			}
			break;
		case ST_DATA_PFX: {
			int k;

			c = *p;
			if (is_delim(c)) {
				k = pfx_match(d->_line, d->_len, 1);
				if (k > KW_NONE && k < 8) {
					st = ST_DATA_KEY;   /* c joins the line there */
					break;
				}
				st = flush_pfx(d, &o);   /* c is looked at there */
				break;
			}
			d->_line[d->_len] = c;
			if (d->_len < PFX_MAX && pfx_match(d->_line, d->_len + 1, 1) >= 0) {
				d->_len++;
				p++;
			} else {
				st = flush_pfx(d, &o);
			}
			break;
		}
		case ST_DATA_ESC:
			c = *p;
			if (c == '\r' || c == '\n') {
				d->invalid++;   /* `=` escaping a line break: dropped */
			} else {
				*o++ = (unsigned char)(c - 106);
				p++;
			}
			st = ST_DATA;
			break;
		case ST_DATA:
			for (;;) {
#if defined(__SSE2__)
				/* Output never runs ahead of input by more than
				 * PFX_MAX bytes (a flushed prefix), so a 16-byte
				 * store with 16 input bytes left stays inside
				 * MIMEO_YENC_DECODE_BOUND(len). */
				const __m128i eq = _mm_set1_epi8('='), cr = _mm_set1_epi8('\r'),
					      lf = _mm_set1_epi8('\n'), k42 = _mm_set1_epi8(42);

				while (end - p >= 16) {
					__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
					__m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, eq),
									       _mm_cmpeq_epi8(v, cr)),
								  _mm_cmpeq_epi8(v, lf));
					unsigned m = (unsigned)_mm_movemask_epi8(sp);

					_mm_storeu_si128((__m128i *)(void *)o, _mm_sub_epi8(v, k42));
					if (m == 0) {
						p += 16;
						o += 16;
						continue;
					}
					m = (unsigned)__builtin_ctz(m);
					p += m;
					o += m;
					break;
				}
#endif
				if (p == end)
					break;
				c = *p++;
				if (c == '=') {
					if (p == end) {
						st = ST_DATA_ESC;
						break;
					}
					if (*p == '\r' || *p == '\n') {
						d->invalid++;
						continue;
					}
					*o++ = (unsigned char)(*p++ - 106);
				} else if (c == '\n') {
					st = ST_DATA_BOL;
					break;
				} else if (c != '\r') {
					*o++ = (unsigned char)(c - 42);
				}
			}
			break;
		}
	}
	account(d, &mark, o);
	d->_state = st;
	d->_paused = (unsigned)paused;
	*consumed = (size_t)(p - (const unsigned char *)in);
	*produced = (size_t)(o - (unsigned char *)out);
	return paused ? MIMEO_PAUSED : MIMEO_OK;
}

int mimeo_yenc_decode_finish(mimeo_yenc_decoder *d, void *out, size_t *produced)
{
	unsigned char *o = out, *mark = out;
	unsigned st = d->_state;

	*produced = 0;
	if (d->_paused) {
		/* The caller saw the pause.  A held =ybegin line (it had its line
		 * break) starts an empty block, ended here as any open block. */
		next_block(d);
		st = d->_state;
	}
	if (st == ST_DATA_PFX) {
		int k = pfx_match(d->_line, d->_len, 1);

		if (k > KW_NONE && k < 8)
			st = ST_DATA_KEY;
		else
			st = flush_pfx(d, &o);
	}
	if (st == ST_DATA_KEY) {
		account(d, &mark, o);
		data_keyword(d);
		d->_held = 0;   /* a =ybegin at the very end starts nothing */
	}
	if (st == ST_DATA_ESC)
		d->invalid++;
	account(d, &mark, o);
	*produced = (size_t)(o - (unsigned char *)out);
	d->_state = ST_TEXT_BOL;
	d->_len = 0;
	d->_cut = 0;
	if (d->began && !d->ended)
		close_block(d, 0);
	if (d->began) {
		d->_paused = 0;
		return MIMEO_PAUSED;
	}
	clear_block(d);
	return MIMEO_OK;
}
