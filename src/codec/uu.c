/*
 * uu.c - streaming uudecoder (the historical uuencode format, as POSIX
 * describes for uuencode/uudecode): "begin MODE NAME", data lines, a
 * zero-length line, "end".  A body may carry several such blocks (old mail
 * and news); mimeo_uu_decode_step() decodes the first, mimeo_uu_decode_next()
 * each in turn, pausing after every block.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <stddef.h>
#include <string.h>

void mimeo_uu_decoder_init(mimeo_uu_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

/* "begin" 1*SP 1*octal 1*SP name.  Returns 1 when `l` is a begin line,
 * with the mode and where the name starts.  "begin-base64" (uuencode -m)
 * is not one: its block is text to skip. */
static int begin_parse(const unsigned char *l, size_t n, unsigned *mode, size_t *name)
{
	size_t i = 5, start;

	*mode = 0;
	if (n < 8 || memcmp(l, "begin", 5) != 0 || (l[5] != ' ' && l[5] != '\t'))
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	start = i;
	while (i < n && l[i] >= '0' && l[i] <= '7' && i - start < 6)
		*mode = *mode * 8 + (unsigned)(l[i++] - '0');
	if (i == start || i >= n || (l[i] != ' ' && l[i] != '\t'))
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	*name = i;
	return 1;
}

/* A begin line starts a block: fill the public fields. */
static void uu_begin(mimeo_uu_decoder *d, const unsigned char *l, size_t n)
{
	size_t i, k;
	unsigned mode;

	if (!begin_parse(l, n, &mode, &i))
		return;
	k = n - i;
	if (k > sizeof(d->filename) - 1)
		k = sizeof(d->filename) - 1;
	memcpy(d->filename, l + i, k);
	d->filename[k] = '\0';
	d->mode = mode;
	d->began = 1;
}

/* "end", possibly with trailing whitespace. */
static int is_end(const unsigned char *l, size_t n)
{
	size_t i;

	if (n < 3 || memcmp(l, "end", 3) != 0)
		return 0;
	for (i = 3; i < n && (l[i] == ' ' || l[i] == '\t'); i++)
		;
	return i == n;
}

/* Decode one data line l[0..n) (length character first). */
static unsigned char *uu_data(mimeo_uu_decoder *d, const unsigned char *l, size_t n,
			      unsigned char *o)
{
	size_t j = n - 1, groups, g, i;
	unsigned count = (unsigned)(l[0] - 32) & 63;

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

/* Handle the complete line in _line (without its LF).  A block ends at its
 * "end" line, or at a begin line without an "end" before it: that line is
 * kept in _line (_held) to start the next block. */
static unsigned char *uu_line(mimeo_uu_decoder *d, unsigned char *o)
{
	const unsigned char *l = d->_line;
	size_t n = d->_len, name;
	unsigned mode;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (d->began && begin_parse(l, n, &mode, &name)) {
		d->_held = 1;
		d->_done = 1;
		return o;
	}
	d->_len = 0;
	if (!d->began) {
		uu_begin(d, l, n);
		return o;
	}
	if (is_end(l, n)) {
		d->ended = 1;
		d->_done = 1;
		return o;
	}
	if (n == 0)
		return o;   /* blank lines inserted by mail software */
	return uu_data(d, l, n, o);
}

/* Take lines from p..end until the input or the current block ends;
 * returns where it stopped. */
static const unsigned char *uu_run(mimeo_uu_decoder *d, const unsigned char *p,
				   const unsigned char *end, unsigned char **po)
{
	while (p < end && !d->_done) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = (size_t)((nl ? nl : end) - p);

		/* Keep what fits; a longer line is cut (and cannot be data). */
		if (k > sizeof(d->_line) - d->_len)
			k = sizeof(d->_line) - d->_len;
		memcpy(d->_line + d->_len, p, k);
		d->_len += (unsigned)k;
		if (!nl)
			return end;
		p = nl + 1;
		*po = uu_line(d, *po);
	}
	return p;
}

size_t mimeo_uu_decode_step(mimeo_uu_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in;
	unsigned char *o = out;

	/* After the first block everything is ignored. */
	uu_run(d, p, p + len, &o);
	return (size_t)(o - (unsigned char *)out);
}

/* Past the end of a block (mimeo_uu_decode_next): forget it, and start
 * the next one with a held begin line. */
static void uu_next_block(mimeo_uu_decoder *d)
{
	uint64_t invalid = d->invalid;
	unsigned held = d->_held, len = d->_len;

	/* Everything but the line buffer, which holds the begin line when
	 * one is held (_len is 0 otherwise). */
	memset(d, 0, offsetof(mimeo_uu_decoder, _line));
	d->invalid = invalid;
	d->_multi = 1;
	d->_len = len;
	if (held)
		uu_line(d, NULL);   /* a begin line: no output */
}

int mimeo_uu_decode_next(mimeo_uu_decoder *d, const void *in, size_t len, void *out,
			 size_t *consumed, size_t *produced)
{
	const unsigned char *p = in;
	unsigned char *o = out;

	d->_multi = 1;
	if (d->_done)
		uu_next_block(d);
	*consumed = (size_t)(uu_run(d, p, p + len, &o) - p);
	*produced = (size_t)(o - (unsigned char *)out);
	return d->_done ? MIMEO_PAUSED : MIMEO_OK;
}

size_t mimeo_uu_decode_finish(mimeo_uu_decoder *d, void *out)
{
	unsigned char *o = out;

	if (d->_done) {
		/* mimeo_uu_decode_next() paused: finish is the call after the
		 * pause, so a held begin line starts its (empty) block.  The
		 * first-block API keeps the fields of its block. */
		if (d->_multi)
			uu_next_block(d);
		return 0;
	}
	if (d->_len > 0)
		o = uu_line(d, o);
	return (size_t)(o - (unsigned char *)out);
}
