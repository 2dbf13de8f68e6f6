/*
 * fuzz_header.c - header unfolding, RFC 2047 decoding and encoding.
 *
 * Input: [options byte] [start column byte] [header value bytes...]
 *   options bits 0-2: default charset for raw 8-bit text, bit 3: STRICT,
 *   bit 4: fold with CRLF when encoding, bit 5: use no charset cache.
 * Checks:
 *   - unfold, decode_text and decode_phrase take anything, return MIMEO_OK
 *     and give valid UTF-8 (the harness's own validator); decoded text is
 *     one line without NUL, CR or LF (header.h promise); unfolding never
 *     lengthens;
 *   - encoding: when the value is valid UTF-8, encode_text/encode_phrase
 *     give 7-bit output whose lines are at most 998 octets and whose folds
 *     are a line break followed by a space or tab;
 *   - round trips: decode_text(encode_text(x)) == x and
 *     decode_phrase(encode_phrase(x)) == x with whitespace runs collapsed,
 *     leading/trailing whitespace aside, for x of printable characters
 *     (control characters are not representable in a header).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static const char *const default_charsets[8] = {
	NULL, "utf-8", "iso-8859-2", "koi8-r", "shift_jis", "x-bogus", "utf-16", "windows-1251"
};

static void check_decoded(const mimeo_buf *b)
{
	FZ_CHECK(b->size == 0 || b->ptr[b->size] == '\0');
	FZ_CHECK(fz_utf8_valid(b->ptr, b->size));
	FZ_CHECK(b->size == 0 || memchr(b->ptr, '\0', b->size) == NULL);
	FZ_CHECK(b->size == 0 || memchr(b->ptr, '\n', b->size) == NULL);
	FZ_CHECK(b->size == 0 || memchr(b->ptr, '\r', b->size) == NULL);
}

/* Collapse space/tab runs to one space and trim; `all_ws` collapses also
 * between words (phrase semantics), else runs are kept but ends trimmed. */
static size_t normalise(const char *s, size_t n, char *out, int collapse)
{
	size_t i, k = 0;
	int pending = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t') {
			if (collapse) {
				pending = 1;
				continue;
			}
			if (k == 0)
				continue; /* leading */
			out[k++] = c;
			continue;
		}
		if (pending && k)
			out[k++] = ' ';
		pending = 0;
		out[k++] = c;
	}
	while (!collapse && k && (out[k - 1] == ' ' || out[k - 1] == '\t'))
		k--;
	return k;
}

static int printable_utf8(const uint8_t *s, size_t n)
{
	size_t i;

	if (!fz_utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 0;
	/* C1 controls (U+0080..U+009F) are not printable either */
	for (i = 0; i + 1 < n; i++)
		if (s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 0;
	return 1;
}

static void round_trip(mimeo_charset_cache *cc, const mimeo_header_options *opts,
		       const uint8_t *s, size_t n, size_t col, unsigned flags, int phrase)
{
	mimeo_buf enc = MIMEO_BUF_INIT, dec = MIMEO_BUF_INIT;
	char *want, *got;
	size_t wn, gn;
	unsigned rep = 0;

	if (phrase)
		FZ_CHECK(mimeo_header_encode_phrase((const char *)s, n, col, flags, &enc) == MIMEO_OK);
	else
		FZ_CHECK(mimeo_header_encode_text((const char *)s, n, col, flags, &enc) == MIMEO_OK);
	fz_check_folded(&enc, flags, col);
	if (phrase)
		FZ_CHECK(mimeo_header_decode_phrase(cc, opts, enc.ptr ? enc.ptr : "", enc.size, &dec, &rep) == MIMEO_OK);
	else
		FZ_CHECK(mimeo_header_decode_text(cc, opts, enc.ptr ? enc.ptr : "", enc.size, &dec, &rep) == MIMEO_OK);
	check_decoded(&dec);
	want = fz_xmalloc(n + 1);
	got = fz_xmalloc(dec.size + 1);
	wn = normalise((const char *)s, n, want, phrase);
	gn = normalise(dec.ptr ? dec.ptr : "", dec.size, got, phrase);
	if (wn != gn || memcmp(want, got, wn) != 0) {
		fprintf(stderr, "round trip (%s) differs:\n in  [%.*s]\n enc [%.*s]\n out [%.*s]\n",
			phrase ? "phrase" : "text", (int)n, (const char *)s, (int)enc.size,
			enc.ptr ? enc.ptr : "", (int)dec.size, dec.ptr ? dec.ptr : "");
		abort();
	}
	free(want);
	free(got);
	mimeo_buf_dispose(&enc);
	mimeo_buf_dispose(&dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t o = fz_byte(&in);
	size_t col = fz_byte(&in) % 80;
	mimeo_header_options opts = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_charset_cache *cc = NULL;
	mimeo_buf b = MIMEO_BUF_INIT;
	unsigned rep = 0, flags = (o & 16) ? MIMEO_HEADER_FOLD_CRLF : 0;
	const char *s = (const char *)in.data;

	opts.default_charset = default_charsets[o & 7];
	opts.flags = (o & 8) ? MIMEO_HEADER_STRICT : 0;
	if (!(o & 32) && mimeo_charset_cache_new(&cc, NULL) != MIMEO_OK)
		return 0;

	FZ_CHECK(mimeo_header_unfold(s, in.size, &b) == MIMEO_OK);
	FZ_CHECK(b.size <= in.size);
	mimeo_buf_clear(&b);

	FZ_CHECK(mimeo_header_decode_text(cc, &opts, s, in.size, &b, &rep) == MIMEO_OK);
	check_decoded(&b);
	mimeo_buf_clear(&b);

	FZ_CHECK(mimeo_header_decode_phrase(cc, &opts, s, in.size, &b, &rep) == MIMEO_OK);
	check_decoded(&b);
	mimeo_buf_dispose(&b);

	/* NULL opts and repairs are allowed too */
	FZ_CHECK(mimeo_header_decode_text(cc, NULL, s, in.size, &b, NULL) == MIMEO_OK);
	check_decoded(&b);
	mimeo_buf_dispose(&b);

	if (printable_utf8(in.data, in.size)) {
		round_trip(cc, NULL, in.data, in.size, col, flags, 0);
		round_trip(cc, NULL, in.data, in.size, col, flags, 1);
	} else if (fz_utf8_valid(in.data, in.size)) {
		/* still encodable: only the shape of the output is checked */
		FZ_CHECK(mimeo_header_encode_text(s, in.size, col, flags, &b) == MIMEO_OK);
		fz_check_folded(&b, flags, col);
		mimeo_buf_dispose(&b);
	}
	mimeo_charset_cache_free(cc);
	return 0;
}
