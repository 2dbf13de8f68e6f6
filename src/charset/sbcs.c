/*
 * sbcs.c - single-byte charsets: a 128-entry table per encoding, built
 * from iconv on first use, and the table-driven converter; x-user-defined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

/* Store the UTF-8 encoding of code point `cp` (< 0x10000) in e[1..]. */
static void sb_entry(unsigned char *e, unsigned cp)
{
	if (cp < 0x80) {
		e[0] = 1;
		e[1] = (unsigned char)cp;
	} else if (cp < 0x800) {
		e[0] = 2;
		e[1] = (unsigned char)(0xC0 | cp >> 6);
		e[2] = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		e[0] = 3;
		e[1] = (unsigned char)(0xE0 | cp >> 12);
		e[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		e[3] = (unsigned char)(0x80 | (cp & 0x3F));
	}
}

/* Convert byte `b` alone through `cd` into table entry `e`.  Each byte is
 * flushed on its own: glibc's CP1255/CP1258 hold a base letter back to
 * combine it with a following mark, which a table must not do. */
static int sb_probe(iconv_t cd, unsigned char b, unsigned char *e)
{
	char in = (char)b, obuf[8];
	char *ip = &in, *op = obuf;
	size_t il = 1, ol = sizeof(obuf), n;

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return 0;
	n = (size_t)(op - obuf);
	if (n == 0 || n > 3)
		return 0;
	e[0] = (unsigned char)n;
	memcpy(e + 1, obuf, n);
	return 1;
}

/* The single-byte table of `enc`, built from iconv on first use.  NULL on
 * allocation failure (*nomem set) or when iconv lacks the charset. */
unsigned char (*mimeo__sb_table(mimeo_charset_cache *cc, int enc, int *nomem))[4]
{
	struct slot *s = &cc->slot[enc];
	iconv_t cd;
	unsigned b;

	if (s->sb)
		return s->sb;
	cd = mimeo__charset_slot_cd(cc, enc);
	if (cd == (iconv_t)-1)
		return NULL;
	s->sb = mimeo__malloc(cc->alloc, 128 * sizeof(*s->sb));
	if (!s->sb) {
		*nomem = 1;
		return NULL;
	}
	for (b = 0x80; b < 0x100; b++) {
		unsigned char *e = s->sb[b - 0x80];

		if (sb_probe(cd, (unsigned char)b, e))
			continue;
		if (mimeo__charset_encodings[enc].kind == ENC_SBW && b < 0xA0)
			sb_entry(e, b);
		else {
			memcpy(e + 1, MIMEO__FFFD, 3);
			e[0] = 3 | 0x80;
		}
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	return s->sb;
}

int mimeo__sb_convert(unsigned char (*t)[4], const unsigned char *s, size_t n,
		      mimeo_buf *out, unsigned *rep)
{
	size_t i = 0;
	char *o;
	int rc;

	/* Worst case three UTF-8 bytes per input byte. */
	if (n > SIZE_MAX / 3 || (rc = mimeo_buf_grow(out, n * 3)))
		return MIMEO_ENOMEM;
	o = out->ptr + out->size;
	while (i < n) {
		const unsigned char *e;
		uint64_t w, hi;

		if (s[i] < 0x80) {
			/* ASCII eight at a time: the eight bytes are stored
			 * whole and the output moves past the ASCII ones, so
			 * accented text costs no branch per byte.  The buffer
			 * has room: 3 bytes per input byte were reserved. */
			if (i + 8 <= n) {
				memcpy(&w, s + i, 8);
				memcpy(o, s + i, 8);
				hi = w & 0x8080808080808080ull;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
				hi = __builtin_bswap64(hi);
#endif
				if (!hi) {
					o += 8;
					i += 8;
					continue;
				}
				o += __builtin_ctzll(hi) >> 3;
				i += (size_t)(__builtin_ctzll(hi) >> 3);
			} else {
				*o++ = (char)s[i++];
				continue;
			}
		}
		e = t[s[i++] - 0x80];
		if (e[0] & 0x80)
			*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		memcpy(o, e + 1, 3);
		o += e[0] & 0x7F;
	}
	out->size = (size_t)(o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}

/* x-user-defined (WHATWG section 14.5): 0x80-0xFF map to U+F780-U+F7FF. */
int mimeo__xud_convert(const unsigned char *s, size_t n, mimeo_buf *out)
{
	size_t i;
	char *o;

	if (n > SIZE_MAX / 3 || mimeo_buf_grow(out, n * 3))
		return MIMEO_ENOMEM;
	o = out->ptr + out->size;
	for (i = 0; i < n; i++) {
		unsigned cp = s[i] < 0x80 ? s[i] : 0xF780u + (s[i] - 0x80u);
		unsigned char e[4];

		sb_entry(e, cp);
		memcpy(o, e + 1, e[0]);
		o += e[0];
	}
	out->size = (size_t)(o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}
