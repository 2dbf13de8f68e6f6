/*
 * fuzz_charset.c - charset conversion to UTF-8 on hostile bytes.
 *
 * Input: [label byte] [split byte] [label...] [bytes...]
 *   label byte < 0xc0: one of the labels below (index mod count);
 *   otherwise the low 5 bits are the length of a label taken from the
 *   input itself (odd labels, whitespace, NULs, overlong names).
 * Checks:
 *   - mimeo_charset_to_utf8 and the streaming converter never crash and
 *     always return valid UTF-8 (checked by the harness's own validator);
 *   - the streaming converter gives the same text and repair flags for the
 *     chunking the split byte picks as for one whole step;
 *   - identity where the answer is known: valid UTF-8 (no BOM) declared as
 *     UTF-8 or undeclared comes back unchanged;
 *   - mimeo_utf8_valid_prefix agrees with the harness's validator;
 *   - mimeo_charset_canonical accepts any label.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static const char *const labels[] = {
	NULL, "utf-8", "UTF8", " us-ascii ", "iso-8859-1", "latin1", "windows-1252",
	"iso-8859-2", "iso-8859-15", "koi8-r", "koi8-u", "windows-1251", "cp1250",
	"utf-16", "utf-16le", "utf-16be", "utf-7", "unicode-1-1-utf-7", "shift_jis",
	"x-sjis", "euc-jp", "iso-2022-jp", "gb2312", "gbk", "gb18030", "big5",
	"euc-kr", "ks_c_5601-1987", "iso-8859-8-i", "x-user-defined", "utf-32",
	"macintosh", "ibm866", "tis-620", "x-unknown-charset", "", "utf-8*en",
};

#define NLABELS (sizeof(labels) / sizeof(labels[0]))

static int is_utf8_label(const char *l)
{
	return l == NULL || strcmp(l, "utf-8") == 0 || strcmp(l, "UTF8") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t lb = fz_byte(&in), split = fz_byte(&in);
	const char *label;
	size_t label_len;
	char *own_label = NULL;
	mimeo_charset_cache *cc = NULL;
	mimeo_charset_conv *cv = NULL;
	mimeo_buf whole = MIMEO_BUF_INIT, chunked = MIMEO_BUF_INIT, once = MIMEO_BUF_INIT;
	unsigned rep = 0, rep_whole, rep_chunked;
	const char *canon;
	fz_split sp;
	size_t left, n;
	const uint8_t *p;

	if (lb < 0xc0) {
		label = labels[lb % NLABELS];
		label_len = label ? strlen(label) : 0;
	} else {
		label_len = lb & 31;
		if (label_len > in.size)
			label_len = in.size;
		own_label = fz_dup(in.data, label_len);
		label = own_label;
		in.data += label_len;
		in.size -= label_len;
	}

	FZ_CHECK(mimeo_utf8_valid_prefix(in.data, in.size) == fz_utf8_prefix(in.data, in.size));
	canon = mimeo_charset_canonical(label ? label : "", label_len);
	FZ_CHECK(canon == NULL || strlen(canon) < 64);

	if (mimeo_charset_cache_new(&cc, NULL) != MIMEO_OK)
		goto out;

	/* whole-buffer conversion */
	FZ_CHECK(mimeo_charset_to_utf8(cc, label, label_len, in.data, in.size, &once, &rep) == MIMEO_OK);
	FZ_CHECK(fz_utf8_valid(once.ptr, once.size));
	if (is_utf8_label(own_label ? "" : label) && fz_utf8_valid(in.data, in.size) &&
	    !(in.size >= 3 && memcmp(in.data, "\xef\xbb\xbf", 3) == 0)) {
		FZ_CHECK(once.size == in.size);
		FZ_CHECK(in.size == 0 || memcmp(once.ptr, in.data, in.size) == 0);
	}

	/* streaming: one step ... */
	FZ_CHECK(mimeo_charset_conv_new(&cv, cc, label, label_len) == MIMEO_OK);
	FZ_CHECK(mimeo_charset_conv_step(cv, in.data, in.size, &whole) == MIMEO_OK);
	FZ_CHECK(mimeo_charset_conv_finish(cv, &whole) == MIMEO_OK);
	rep_whole = mimeo_charset_conv_repairs(cv);
	FZ_CHECK(mimeo_charset_conv_charset(cv) != NULL);
	mimeo_charset_conv_free(cv);
	FZ_CHECK(fz_utf8_valid(whole.ptr, whole.size));

	/* ... and in chunks, each in a block of its exact size */
	FZ_CHECK(mimeo_charset_conv_new(&cv, cc, label, label_len) == MIMEO_OK);
	fz_split_init(&sp, split, in.size);
	for (p = in.data, left = in.size; left; p += n, left -= n) {
		uint8_t *chunk;

		n = fz_split_next(&sp, left);
		chunk = fz_dup(p, n);
		FZ_CHECK(mimeo_charset_conv_step(cv, chunk, n, &chunked) == MIMEO_OK);
		free(chunk);
	}
	FZ_CHECK(mimeo_charset_conv_finish(cv, &chunked) == MIMEO_OK);
	rep_chunked = mimeo_charset_conv_repairs(cv);
	mimeo_charset_conv_free(cv);

	FZ_CHECK(fz_utf8_valid(chunked.ptr, chunked.size));
	FZ_CHECK(whole.size == chunked.size);
	FZ_CHECK(whole.size == 0 || memcmp(whole.ptr, chunked.ptr, whole.size) == 0);
	FZ_CHECK(rep_whole == rep_chunked);
	if (is_utf8_label(own_label ? "" : label) && fz_utf8_valid(in.data, in.size) &&
	    !(in.size >= 3 && memcmp(in.data, "\xef\xbb\xbf", 3) == 0)) {
		FZ_CHECK(whole.size == in.size);
		FZ_CHECK(in.size == 0 || memcmp(whole.ptr, in.data, in.size) == 0);
	}
out:
	mimeo_charset_cache_free(cc);
	mimeo_buf_dispose(&whole);
	mimeo_buf_dispose(&chunked);
	mimeo_buf_dispose(&once);
	free(own_label);
	return 0;
}
