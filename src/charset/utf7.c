/*
 * utf7.c - UTF-7 (RFC 2152) decoder.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

/*
 * Decoded here rather than by iconv: glibc keeps base64 bits inside the
 * iconv_t across calls, which made the result depend on how a stream was
 * split and lost bits silently at the end.  All state is in struct utf7
 * (charset-impl.h).
 */

/* Append code point `cp` (or U+FFFD when `bad`) to `o`. */
static unsigned char *put_cp(unsigned char *o, unsigned cp, unsigned *rep)
{
	if (cp >= 0xD800 && cp <= 0xDFFF) {
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		cp = 0xFFFD;
	}
	if (cp < 0x80) {
		*o++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*o++ = (unsigned char)(0xC0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (unsigned char)(0xE0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (unsigned char)(0xF0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* One UTF-16 unit out of a base64 run: pair surrogates. */
static unsigned char *utf7_unit(struct utf7 *st, unsigned u, unsigned char *o, unsigned *rep)
{
	if (st->hi) {
		if (u >= 0xDC00 && u <= 0xDFFF) {
			o = put_cp(o, 0x10000 + ((st->hi - 0xD800) << 10) + (u - 0xDC00), rep);
			st->hi = 0;
			return o;
		}
		o = put_cp(o, 0xD800, rep);   /* lone high surrogate: U+FFFD */
		st->hi = 0;
	}
	if (u >= 0xD800 && u <= 0xDBFF) {
		st->hi = u;
		return o;
	}
	return put_cp(o, u, rep);
}

/* End of a base64 run: leftover bits must be fewer than six and zero. */
static unsigned char *utf7_end(struct utf7 *st, unsigned char *o, unsigned *rep)
{
	if (st->hi || st->nbits >= 6 || (st->bits & ((1u << st->nbits) - 1)))
		o = put_cp(o, 0xD800, rep);
	st->b64 = 0;
	st->hi = 0;
	st->nbits = 0;
	st->bits = 0;
	return o;
}

int mimeo__utf7_step(struct utf7 *st, const unsigned char *s, size_t n, int final, mimeo_buf *out,
		     unsigned *rep)
{
	unsigned char *o;
	size_t i;

	/* At most 4 bytes out per input byte (plus the final U+FFFD). */
	if (n > (SIZE_MAX - 8) / 4 || mimeo_buf_grow(out, 4 * n + 8))
		return MIMEO_ENOMEM;
	o = (unsigned char *)out->ptr + out->size;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		int v;

		if (st->b64) {
			v = mimeo__b64_value(c);
			if (v >= 0) {
				st->first = 0;
				st->bits = (st->bits << 6 | (unsigned)v) & 0x3FFFFF;
				st->nbits = (unsigned char)(st->nbits + 6);
				if (st->nbits >= 16) {
					st->nbits = (unsigned char)(st->nbits - 16);
					o = utf7_unit(st, (st->bits >> st->nbits) & 0xFFFF, o, rep);
				}
				continue;
			}
			if (st->first) {
				/* "+-" is '+'; '+' before anything else is ill-formed. */
				st->b64 = 0;
				st->first = 0;
				if (c == '-') {
					*o++ = '+';
					continue;
				}
				o = put_cp(o, 0xD800, rep);
			} else {
				o = utf7_end(st, o, rep);
				if (c == '-')
					continue;   /* absorbed */
			}
		}
		if (c == '+') {
			st->b64 = 1;
			st->first = 1;
		} else if (c < 0x80) {
			*o++ = c;
		} else {
			o = put_cp(o, 0xD800, rep);
		}
	}
	if (final && st->b64) {
		if (st->first || st->hi)
			*rep |= MIMEO_REPAIR_TRUNCATED;
		if (st->first)
			o = put_cp(o, 0xD800, rep);
		else
			o = utf7_end(st, o, rep);
		memset(st, 0, sizeof(*st));
	}
	out->size = (size_t)((char *)o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}
