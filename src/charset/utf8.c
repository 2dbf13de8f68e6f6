/*
 * utf8.c - UTF-8 validation (RFC 3629) and repair with U+FFFD; the
 * scalar validator is the reference, utf8_avx2.c the AVX2 kernel.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"
#include "codec-priv.h"   /* mimeo__isa_resolve(), MIMEO_HAVE_AVX2 */

/* Check the sequence at s (n > 0 bytes available) under RFC 3629.
 * Returns its length when valid, 0 when valid so far but cut off by the
 * end of the buffer, or -k when invalid, k being the length of the maximal
 * subpart to replace by one U+FFFD. */
int mimeo__utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return -1;
	if (c < 0xE0) {
		need = 1;
	} else if (c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;      /* no overlongs */
		else if (c == 0xED)
			hi = 0x9F;      /* no surrogates */
	} else if (c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;      /* nothing above U+10FFFF */
	} else {
		return -1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n)
			return 0;
		if (s[i] < lo || s[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xBF;
	}
	return (int)need + 1;
}

/* The reference validator: ASCII eight bytes at a time, the common two-
 * and three-byte sequences inline, everything else through mimeo__utf8_seq(). */
static size_t utf8_prefix_scalar(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		uint64_t w;
		int k;

		if (c < 0x80) {
			if (i + 8 <= len && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull)))
				i += 8;
			else
				i++;
			continue;
		}
		/* Two-byte sequences (Latin, Greek, Cyrillic, Hebrew, Arabic)
		 * inline; the rest through the full check. */
		if (c >= 0xC2 && c <= 0xDF && i + 1 < len && (s[i + 1] & 0xC0) == 0x80) {
			i += 2;
			continue;
		}
		if (c >= 0xE1 && c <= 0xEC && i + 2 < len && (s[i + 1] & 0xC0) == 0x80 &&
		    (s[i + 2] & 0xC0) == 0x80) {
			i += 3;
			continue;
		}
		k = mimeo__utf8_seq(s + i, len - i);
		if (k <= 0)
			return i;
		i += (size_t)k;
	}
	return len;
}

/* Below this the SIMD set-up costs more than it saves (header values). */
#define U8_SIMD_MIN 64

size_t mimeo__utf8_valid_prefix_isa(const void *in, size_t len, mimeo_isa isa)
{
	const unsigned char *s = in;
	size_t done = 0;

#if MIMEO_HAVE_AVX2
	if (len >= U8_SIMD_MIN && mimeo__isa_resolve(isa) >= MIMEO_ISA_AVX2)
		done = mimeo__utf8_blocks_avx2(s, len);
#else
	(void)isa;
#endif
	return done + utf8_prefix_scalar(s + done, len - done);
}

size_t mimeo_utf8_valid_prefix(const void *in, size_t len)
{
	if (len < U8_SIMD_MIN)
		return utf8_prefix_scalar(in, len);
	return mimeo__utf8_valid_prefix_isa(in, len, MIMEO_ISA_AUTO);
}

/* Copy the valid UTF-8 at s[*i..n) to `out` and move *i past it.  Returns
 * 1 when the input is used up; else 0 with *k = mimeo__utf8_seq() of what stopped
 * it (0: cut off by the end, -len: invalid); MIMEO_ENOMEM.  *saw_8bit (if
 * given) is set when the copied text was not all ASCII. */
int mimeo__utf8_copy_valid(const unsigned char *s, size_t n, size_t *i, mimeo_buf *out,
			   int *saw_8bit, int *k)
{
	size_t ok = mimeo_utf8_valid_prefix(s + *i, n - *i);

	if (saw_8bit && mimeo__ascii_prefix(s + *i, ok) != ok)
		*saw_8bit = 1;
	if (mimeo_buf_put(out, s + *i, ok))
		return MIMEO_ENOMEM;
	*i += ok;
	if (*i >= n)
		return 1;
	*k = mimeo__utf8_seq(s + *i, n - *i);
	return 0;
}

/* Append s[0..n) repaired; stop before an incomplete sequence at the end
 * unless `final`.  Returns bytes consumed in *used. */
int mimeo__utf8_repair_step(const unsigned char *s, size_t n, int final, mimeo_buf *out,
		       unsigned *rep, size_t *used)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		int k, r = mimeo__utf8_copy_valid(s, n, &i, out, NULL, &k);

		if (r < 0)
			return r;
		if (r > 0 || (k == 0 && !final))
			break;
		if ((rc = mimeo_buf_put(out, MIMEO__FFFD, 3)))
			return rc;
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		if (k == 0) {
			*rep |= MIMEO_REPAIR_TRUNCATED;
			i = n;
		} else {
			i += (size_t)-k;
		}
	}
	*used = i;
	return MIMEO_OK;
}

int mimeo__utf8_repair(const void *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	unsigned dummy = 0;
	size_t used;

	return mimeo__utf8_repair_step(in, len, 1, out, repairs ? repairs : &dummy, &used);
}
