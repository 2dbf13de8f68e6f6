/*
 * fuzz_builder.c - build a message from hostile pieces, parse it back.
 *
 * Input: [options byte] [text cte byte] [attachment cte byte]
 *        subject \0 display name \0 filename \0 text \0 attachment bytes
 *   options bit 0: MIMEO_BUILD_CRLF, bit 1: MIMEO_BUILD_8BITMIME,
 *   bit 2: add an HTML body too.
 * Checks: the builder accepts the pieces or refuses them with MIMEO_EINVAL
 * (never crashes), and what it writes parses with mimeo_message into a tree
 * where
 *   - the attachment's decoded bytes are exactly the input bytes (any
 *     automatic or forced base64/QP encoding), and its filename is the
 *     given one when that is printable UTF-8;
 *   - the Subject decodes back to the given text (whitespace runs aside)
 *     when it is printable UTF-8;
 *   - the text body converts back to the given text (when valid UTF-8
 *     without bare CR)
 *     with line breaks normalised;
 *   - every output line is at most 998 octets and, without 8BITMIME, the
 *     output is 7-bit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static const mimeo_cte ctes[4] = { MIMEO_CTE_NONE, MIMEO_CTE_BASE64, MIMEO_CTE_QP, MIMEO_CTE_NONE };

/* next NUL-terminated piece of the input (the rest when no NUL is left) */
static char *piece(fz_input *in, size_t *len)
{
	const uint8_t *z = memchr(in->data, 0, in->size);
	size_t n = z ? (size_t)(z - in->data) : in->size;
	char *s = fz_xmalloc(n + 1);

	memcpy(s, in->data, n);
	s[n] = '\0';
	in->data += n + (z ? 1 : 0);
	in->size -= n + (z ? 1 : 0);
	*len = n;
	return s;
}

static int printable(const char *s, size_t n)
{
	size_t i;

	if (!fz_utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0))
			return 0;
	}
	return 1;
}

/* collapse whitespace runs, trim; for comparisons of header text */
static size_t squeeze(const char *s, size_t n, char *out)
{
	size_t i, k = 0;
	int ws = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t') {
			ws = 1;
			continue;
		}
		if (ws && k)
			out[k++] = ' ';
		ws = 0;
		out[k++] = s[i];
	}
	return k;
}

/* line breaks to LF, trailing line breaks dropped; for body comparisons */
static size_t lf_text(const char *s, size_t n, char *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			out[k++] = '\n';
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
			continue;
		}
		out[k++] = s[i];
	}
	while (k && out[k - 1] == '\n')
		k--;
	return k;
}

/* A CR not followed by LF: the builder keeps it as a byte, so next to a
 * converted line break it is ambiguous; such texts are not compared. */
static int bare_cr(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return 1;
	return 0;
}

static void check_lines(const mimeo_buf *b, int eight_bit)
{
	size_t i, col = 0;

	for (i = 0; i < b->size; i++) {
		unsigned char c = (unsigned char)b->ptr[i];

		if (!eight_bit)
			FZ_CHECK(c < 0x80);
		if (c == '\n') {
			col = 0;
			continue;
		}
		FZ_CHECK(++col <= 999); /* 998 + a CR */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t o = fz_byte(&in), tc = fz_byte(&in), ac = fz_byte(&in);
	mimeo_builder_options bo = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder_part part = MIMEO_BUILDER_PART_INIT;
	mimeo_builder *b = NULL;
	mimeo_message *m = NULL;
	mimeo_buf out = MIMEO_BUF_INIT, t = MIMEO_BUF_INIT, abody = MIMEO_BUF_INIT;
	size_t sl, dl, fl, tl, al, len;
	char *subject = piece(&in, &sl), *dname = piece(&in, &dl);
	char *fname = piece(&in, &fl), *text = piece(&in, &tl);
	const uint8_t *att = in.data;
	const mimeo_part *p, *ap = NULL;
	const void *body;
	char *x, *y;
	int rc;

	al = in.size;
	bo.flags = (o & 1 ? MIMEO_BUILD_CRLF : 0) | (o & 2 ? MIMEO_BUILD_8BITMIME : 0);
	bo.message_id_domain = "fuzz.example";
	FZ_CHECK(mimeo_builder_new(&b, &bo) == MIMEO_OK);
	rc = mimeo_builder_add_address(b, MIMEO_FIELD_FROM, dname, "sender@example.com");
	FZ_CHECK(rc == MIMEO_OK || rc == MIMEO_EINVAL);
	if (rc != MIMEO_OK)
		FZ_CHECK(mimeo_builder_add_address(b, MIMEO_FIELD_FROM, NULL, "sender@example.com") == MIMEO_OK);
	FZ_CHECK(mimeo_builder_set_subject(b, subject, sl) == MIMEO_OK);
	FZ_CHECK(mimeo_builder_set_date(b, 1795952931, 60) == MIMEO_OK);
	rc = mimeo_builder_set_text(b, text, tl, ctes[tc & 3]);
	FZ_CHECK(rc == MIMEO_OK);
	if (o & 4)
		FZ_CHECK(mimeo_builder_set_html(b, "<p>x</p>", 8, MIMEO_CTE_NONE) == MIMEO_OK);
	part.content_type = "application/x-fuzz";
	part.filename = fl ? fname : NULL;
	part.encoding = ctes[ac & 3];
	rc = mimeo_builder_add_attachment(b, &part, att, al);
	FZ_CHECK(rc == MIMEO_OK || rc == MIMEO_EINVAL);
	if (rc != MIMEO_OK) {
		part.filename = NULL;
		FZ_CHECK(mimeo_builder_add_attachment(b, &part, att, al) == MIMEO_OK);
	}

	FZ_CHECK(mimeo_builder_write_buf(b, &out) == MIMEO_OK);
	check_lines(&out, (o & 2) != 0);
	FZ_CHECK(mimeo_message_parse_buffer(&m, out.ptr, out.size, NULL) == MIMEO_OK);

	/* the attachment: the only application/x-fuzz leaf */
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
		if (mimeo_part_is_leaf(p) && strcmp(mimeo_part_subtype(p), "x-fuzz") == 0) {
			FZ_CHECK(ap == NULL);
			ap = p;
		}
	FZ_CHECK(ap != NULL);
	mimeo_buf_clear(&abody);
	FZ_CHECK(mimeo_part_decode_buf(ap, 0, NULL, &abody, NULL) == MIMEO_OK);
	body = abody.ptr;
	len = abody.size;
	if (len != al || (al && memcmp(body, att, al) != 0)) {
		fprintf(stderr, "attachment changed: %zu bytes in, %zu out (cte %s)\n", al, len,
			mimeo_part_cte_name(ap) ? mimeo_part_cte_name(ap) : "none");
		abort();
	}
	if (part.filename && printable(fname, fl) && fname[0] != ' ' && fname[fl - 1] != ' ')
		FZ_CHECK(mimeo_part_filename(ap) && strcmp(mimeo_part_filename(ap), fname) == 0);

	/* the subject */
	if (printable(subject, sl)) {
		size_t n1, n2;

		p = mimeo_message_root(m);
		FZ_CHECK(mimeo_part_header_count(p) > 0);
		for (len = 0; len < mimeo_part_header_count(p); len++)
			if (strcmp(mimeo_part_header_name(p, len), "Subject") == 0)
				break;
		FZ_CHECK(len < mimeo_part_header_count(p));
		FZ_CHECK(mimeo_part_header_decoded(p, len, NULL, NULL, &t) == MIMEO_OK);
		x = fz_xmalloc(sl + 1);
		y = fz_xmalloc(t.size + 1);
		n1 = squeeze(subject, sl, x);
		n2 = squeeze(t.ptr ? t.ptr : "", t.size, y);
		if (n1 != n2 || memcmp(x, y, n1) != 0) {
			fprintf(stderr, "subject changed: [%s] -> [%s]\n", subject, t.ptr);
			abort();
		}
		free(x);
		free(y);
		mimeo_buf_clear(&t);
	}

	/* the text body, when it is valid UTF-8 without NUL */
	p = mimeo_message_pick_body(m, "text/plain");
	FZ_CHECK(p != NULL || tl == 0);
	if (p && fz_utf8_valid(text, tl) && !bare_cr(text, tl)) {
		size_t n1, n2;

		FZ_CHECK(mimeo_part_text(p, NULL, &t, NULL) == MIMEO_OK);
		x = fz_xmalloc(tl + 1);
		y = fz_xmalloc(t.size + 1);
		n1 = lf_text(text, tl, x);
		n2 = lf_text(t.ptr ? t.ptr : "", t.size, y);
		if (n1 != n2 || memcmp(x, y, n1) != 0) {
			fprintf(stderr, "text body changed: %zu -> %zu bytes\n", n1, n2);
			abort();
		}
		free(x);
		free(y);
	}

	mimeo_buf_dispose(&t);
	mimeo_buf_dispose(&out);
	mimeo_buf_dispose(&abody);
	mimeo_message_free(m);
	mimeo_builder_free(b);
	free(subject);
	free(dname);
	free(fname);
	free(text);
	return 0;
}
