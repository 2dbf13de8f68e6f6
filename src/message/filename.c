/*
 * filename.c - mimeo_filename_sanitize(): an attachment name made safe to
 * use as one file name in a folder.  Names in mail are untrusted input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"
#include "mimeo/message.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Attachment names                                                    */
/* ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none or
 * if it encodes a C1 control (U+0080..U+009F). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

/* The valid UTF-8 character s[0..n) is a bidirectional formatting
 * character (U+061C ALM, U+200E LRM, U+200F RLM, U+202A..U+202E embeddings
 * and overrides, U+2066..U+2069 isolates) or U+2028/U+2029 (line and
 * paragraph separators). */
static int is_format_trap(const unsigned char *s, size_t n)
{
	if (n == 2)
		return s[0] == 0xd8 && s[1] == 0x9c;
	if (n != 3 || s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae);
	return s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9;
}

/* Largest prefix of s[0..len) of at most max bytes that ends on a
 * character boundary (s is valid UTF-8 here). */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int mimeo_filename_sanitize(const char *name, size_t len, mimeo_buf *out)
{
	mimeo_buf tmp = MIMEO_BUF_INIT;
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, start, end, ext, keep_ext, base;
	char *t;
	int rc = MIMEO_OK;

	if (!name)
		len = 0;
	mimeo_buf_init(&tmp, out->alloc);
	/* The result is never longer than the input (plus the default). */
	if (!mimeo__add_ok(len, sizeof(MIMEO_FILENAME_DEFAULT), &i))
		return MIMEO_ENOMEM;
	rc = mimeo_buf_grow(&tmp, i);
	i = 0;
	if (rc != MIMEO_OK)
		goto done;
	t = tmp.ptr;
	/* 1. Replace separators, controls and invalid UTF-8 by '_'. */
	while (i < len) {
		size_t n = utf8_char(s + i, len - i);
		int bad = !n || s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\';

		/* A C1 control (U+0080..U+009F) is one character: one '_'. */
		if (!n && s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			n = 2;
		/* Characters that make a name display as something else or
		 * break a listing into lines: bidi controls reorder what
		 * follows ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf"),
		 * U+2028/U+2029 are line breaks to Unicode-aware readers. */
		if (n && is_format_trap(s + i, n))
			bad = 1;
		if (bad) {
			t[tmp.size++] = '_';
		} else {
			memcpy(t + tmp.size, s + i, n);
			tmp.size += n;
		}
		i += n ? n : 1;
	}
	t[tmp.size] = '\0';
	/* 2. No leading dots or spaces (hidden files, "." and ".."), no
	 * trailing dots or spaces (Windows drops them). */
	start = 0;
	end = tmp.size;
	while (start < end && (t[start] == '.' || t[start] == ' '))
		start++;
	while (end > start && (t[end - 1] == '.' || t[end - 1] == ' '))
		end--;
	if (start == end) {
		rc = mimeo_buf_puts(out, MIMEO_FILENAME_DEFAULT);
		goto done;
	}
	/* 3. No ".." anywhere: nothing that reads as a parent reference. */
	for (i = start; i + 1 < end; i++) {
		if (t[i] == '.' && t[i + 1] == '.')
			t[i] = '_';
	}
	/* 4. At most MIMEO_FILENAME_MAX bytes; keep a short extension. */
	if (end - start <= MIMEO_FILENAME_MAX) {
		rc = mimeo_buf_put(out, t + start, end - start);
		goto done;
	}
	ext = end;
	for (i = end; i > start; i--) {
		if (t[i - 1] == '.') {
			ext = i - 1;
			break;
		}
	}
	keep_ext = (ext > start && end - ext <= 16) ? end - ext : 0;
	base = utf8_cut(t + start, end - start - keep_ext, MIMEO_FILENAME_MAX - keep_ext);
	/* The cut must not leave "name." + ".ext" = "name..ext" or a name
	 * ending in a space before the extension. */
	while (base && (t[start + base - 1] == '.' || t[start + base - 1] == ' '))
		base--;
	if (base)
		rc = mimeo_buf_put(out, t + start, base);
	else
		rc = mimeo_buf_puts(out, MIMEO_FILENAME_DEFAULT);
	if (rc == MIMEO_OK && keep_ext)
		rc = mimeo_buf_put(out, t + end - keep_ext, keep_ext);
done:
	mimeo_buf_dispose(&tmp);
	return rc;
}
