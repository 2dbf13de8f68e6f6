/*
 * uu.c - streaming uudecoder (the historical uuencode format, as POSIX
 * describes for uuencode/uudecode): "begin MODE NAME", data lines, a
 * zero-length line, "end".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <string.h>

void mimeo_uu_decoder_init(mimeo_uu_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

/* "begin" 1*SP 1*octal 1*SP name.  Returns 1 and fills the public fields
 * when `l` is a begin line. */
static int uu_begin(mimeo_uu_decoder *d, const unsigned char *l, size_t n)
{
	size_t i = 5, start, k;
	unsigned mode = 0;

	if (n < 8 || memcmp(l, "begin", 5) != 0 || (l[5] != ' ' && l[5] != '\t'))
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	start = i;
	while (i < n && l[i] >= '0' && l[i] <= '7' && i - start < 6)
		mode = mode * 8 + (unsigned)(l[i++] - '0');
	if (i == start || i >= n || (l[i] != ' ' && l[i] != '\t'))
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	k = n - i;
	if (k > sizeof(d->filename) - 1)
		k = sizeof(d->filename) - 1;
	memcpy(d->filename, l + i, k);
	d->filename[k] = '\0';
	d->mode = mode;
	d->began = 1;
	return 1;
}

/* Decode one complete line (without its line break). */
static unsigned char *uu_line(mimeo_uu_decoder *d, unsigned char *o)
{
	const unsigned char *l = d->_line;
	size_t n = d->_len, j, groups, g, i;
	unsigned count;

	d->_len = 0;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (d->ended)
		return o;
	if (!d->began) {
		uu_begin(d, l, n);
		return o;
	}
	/* "end", possibly with trailing whitespace. */
	if (n >= 3 && memcmp(l, "end", 3) == 0) {
		for (i = 3; i < n && (l[i] == ' ' || l[i] == '\t'); i++)
			;
		if (i == n) {
			d->ended = 1;
			return o;
		}
	}
	if (n == 0)
		return o;   /* blank lines inserted by mail software */
	count = (unsigned)(l[0] - 32) & 63;
	j = n - 1;
	groups = (count + 2) / 3;
	/* A data line uses only ' '..'`' and at most one group's worth of
	 * extra characters (some encoders append a checksum character). */
	for (i = 0; i < n; i++) {
		if (l[i] < 32 || l[i] > 96)
			break;
	}
	if (i < n || j > groups * 4 + 2 || d->_zero) {
		d->invalid++;
		return o;
	}
	if (count == 0) {
		d->_zero = 1;   /* end of data; "end" follows */
		return o;
	}
	/* Lines cut short (trailing spaces stripped in transit) decode as if
	 * the missing characters were zero bits, within the groups present. */
	for (g = 0; g < groups && 4 * g < j; g++) {
		unsigned v = 0, k;

		for (k = 0; k < 4; k++) {
			size_t at = 1 + 4 * g + k;

			v = (v << 6) | (at <= j ? ((unsigned)(l[at] - 32) & 63) : 0);
		}
		o[0] = (unsigned char)(v >> 16);
		if (count > 3 * g + 1)
			o[1] = (unsigned char)(v >> 8);
		if (count > 3 * g + 2)
			o[2] = (unsigned char)v;
		o += count - 3 * g >= 3 ? 3 : count - 3 * g;
	}
	return o;
}

size_t mimeo_uu_decode_step(mimeo_uu_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	while (p < end) {
		const unsigned char *nl;
		size_t k;

		if (d->ended)
			break;   /* everything after the block is ignored */
		nl = memchr(p, '\n', (size_t)(end - p));
		k = (size_t)((nl ? nl : end) - p);
		/* Keep what fits; a longer line is cut (and cannot be data). */
		if (k > sizeof(d->_line) - d->_len)
			k = sizeof(d->_line) - d->_len;
		memcpy(d->_line + d->_len, p, k);
		d->_len += (unsigned)k;
		if (!nl)
			break;
		p = nl + 1;
		o = uu_line(d, o);
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_uu_decode_finish(mimeo_uu_decoder *d, void *out)
{
	unsigned char *o = out;

	if (d->_len > 0)
		o = uu_line(d, o);
	return (size_t)(o - (unsigned char *)out);
}
