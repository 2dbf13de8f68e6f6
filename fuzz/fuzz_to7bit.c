/*
 * fuzz_to7bit.c - mimeo_to7bit() on hostile mail: what a user relies on
 * when a message must pass a 7-bit-only hop.
 *
 * Input: [options byte] [message...]
 *   options bit 0: the write callback refuses after (options >> 1) * 64
 *   bytes (then only the failure path is checked).
 * The message is parsed with mimeo_message_parse_buffer and converted.
 * Checks:
 *   - mimeo_to7bit returns MIMEO_OK (or, with a refusing writer, exactly
 *     the writer's code, and never writes again after the refusal);
 *   - the output is 7-bit: no byte >= 0x80, no NUL, no line over 998
 *     octets (RFC 5322 2.1.1), except inside the bodies to7bit leaves
 *     alone on purpose (multipart/signed, application/(x-)pkcs7-mime:
 *     changing them breaks a signature) and except the line lengths of the
 *     bytes before the message (an mbox From_ line, which only gets its
 *     8-bit bytes replaced);
 *   - re-parsing the output gives the same number of leaves, and each leaf
 *     has the same content decoded by mimeo's transfer decoder (base64,
 *     quoted-printable and uuencode decoded, anything else as it is); the
 *     leaves to7bit must not touch (inside multipart/signed, or pkcs7) have
 *     byte-identical raw bodies;
 *   - a message that is already 7-bit clean comes out byte for byte.
 * When the original parse hit a parser limit (mimeo_message_limits_hit)
 * the structure comparison is skipped: kept-as-opaque input may parse
 * differently once rewritten.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct writer {
	mimeo_buf out;
	size_t refuse_at;  /* refuse the call that would pass this size; 0 = never */
	int refused;
} writer;

static int on_write(const void *data, size_t len, void *ctx)
{
	writer *w = ctx;

	FZ_CHECK(!w->refused); /* nothing may be written after a refusal */
	if (w->refuse_at && w->out.size + len >= w->refuse_at) {
		w->refused = 1;
		return MIMEO_EIO;
	}
	FZ_CHECK(mimeo_buf_put(&w->out, data, len) == MIMEO_OK);
	return MIMEO_OK;
}

static int is_type(const mimeo_part *p, const char *type, const char *subtype)
{
	return strcmp(mimeo_part_type(p), type) == 0 && strcmp(mimeo_part_subtype(p), subtype) == 0;
}

/* A part whose body to7bit copies unchanged (and documents so). */
static int is_protected(const mimeo_part *p)
{
	return is_type(p, "multipart", "signed") || is_type(p, "application", "pkcs7-mime") ||
	       is_type(p, "application", "x-pkcs7-mime");
}

/* Inside (or itself) a protected body: its bytes must not change. */
static int under_protection(const mimeo_part *p)
{
	const mimeo_part *a;

	if (is_type(p, "application", "pkcs7-mime") || is_type(p, "application", "x-pkcs7-mime"))
		return 1;
	for (a = mimeo_part_parent(p); a; a = mimeo_part_parent(a)) {
		if (is_protected(a))
			return 1;
	}
	return 0;
}

/* Offsets that count bytes of the source (not of a decoded stream). */
static int raw_offsets(const mimeo_part *p)
{
	return !(mimeo_part_flags(p) & MIMEO_PART_ENCODED);
}

/* The raw body of a leaf, or NULL (*len 0) when its offsets are not in
 * the source. */
static const char *raw_body(const mimeo_message *m, const mimeo_part *p, size_t *len)
{
	uint64_t bs, end;
	size_t slen;
	const char *src = mimeo_message_source(m, &slen);

	*len = 0;
	if (!raw_offsets(p))
		return NULL;
	mimeo_part_offsets(p, NULL, &bs, &end);
	FZ_CHECK(bs <= end && end <= slen);
	*len = (size_t)(end - bs);
	return src + bs;
}

/*
 * A leaf's content through mimeo's transfer decoder, fed in pieces.
 * Inside a transfer-encoded message/rfc822 the raw bytes are not in the
 * source: then the tree's decoded body is the content.
 */
static void decoded(const mimeo_message *m, const mimeo_part *p, mimeo_buf *out)
{
	mimeo_transfer_decoder d;
	size_t len, off = 0;
	const char *raw = raw_body(m, p, &len);
	uint8_t tmp[MIMEO_TRANSFER_DECODE_BOUND(512)];

	if (!raw) {
		FZ_CHECK(mimeo_part_decode_buf(p, 0, NULL, out, NULL) == MIMEO_OK);
		return;
	}
	mimeo_transfer_decoder_init(&d, mimeo_part_cte(p), MIMEO_ISA_AUTO);
	while (off < len) {
		size_t n = len - off < 512 ? len - off : 512;
		size_t k = mimeo_transfer_decode_step(&d, raw + off, n, tmp);

		FZ_CHECK(mimeo_buf_put(out, tmp, k) == MIMEO_OK);
		off += n;
	}
	len = mimeo_transfer_decode_finish(&d, tmp);
	FZ_CHECK(mimeo_buf_put(out, tmp, len) == MIMEO_OK);
}

/* Is byte `i` of the output inside a body to7bit leaves alone? */
static int in_protected_body(const mimeo_message *m, uint64_t i)
{
	const mimeo_part *p;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		uint64_t bs, end;

		if (!is_protected(p) || !raw_offsets(p))
			continue;
		mimeo_part_offsets(p, NULL, &bs, &end);
		if (i >= bs && i < end)
			return 1;
	}
	return 0;
}

/* No 8-bit byte, no NUL, no line over 998 octets (CRLF or LF excluded). */
static void check_7bit(const mimeo_message *out_m, const char *s, size_t len)
{
	uint64_t prefix;
	size_t i, line = 0;

	mimeo_part_offsets(mimeo_message_root(out_m), &prefix, NULL, NULL);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok;

		if (c == '\n') {
			line = 0;
			continue;
		}
		if (!(c == '\r' && i + 1 < len && s[i + 1] == '\n'))
			line++;
		ok = c < 0x80 && c != 0 && (line <= 998 || i < prefix);
		if (!ok && !in_protected_body(out_m, i)) {
			fprintf(stderr, "to7bit output not 7-bit at byte %zu (0x%02x, line %zu)\n", i,
				c, line);
			FZ_CHECK(!"7-bit output");
		}
	}
}

static size_t count_leaves(const mimeo_message *m)
{
	const mimeo_part *p;
	size_t n = 0;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
		n += mimeo_part_is_leaf(p) != 0;
	return n;
}

static const mimeo_part *next_leaf(const mimeo_part *p)
{
	while (p && !mimeo_part_is_leaf(p))
		p = mimeo_part_next(p);
	return p;
}

static int no_delimiter(const mimeo_part *p)
{
	return (mimeo_part_flags(p) & MIMEO_PART_OPAQUE) && !strcmp(mimeo_part_type(p), "multipart");
}

/* Leaf by leaf: same decoded content; protected ones byte-identical. */
static void check_same_leaves(const mimeo_message *a, const mimeo_message *b)
{
	const mimeo_part *p = next_leaf(mimeo_message_root(a));
	const mimeo_part *q = next_leaf(mimeo_message_root(b));

	FZ_CHECK(count_leaves(a) == count_leaves(b));
	for (; p && q; p = next_leaf(mimeo_part_next(p)), q = next_leaf(mimeo_part_next(q))) {
		mimeo_buf da = MIMEO_BUF_INIT, db = MIMEO_BUF_INIT;

		if (under_protection(p) && raw_offsets(p) && raw_offsets(q)) {
			size_t la, lb;
			const char *ra = raw_body(a, p, &la), *rb = raw_body(b, q, &lb);

			FZ_CHECK(la == lb && (la == 0 || memcmp(ra, rb, la) == 0));
		}
		if (no_delimiter(p)) {
			/* a multipart without delimiter, a leaf holding its
			 * body: cleaned like a preamble (to7bit.c), so only
			 * its kind is kept */
			FZ_CHECK(no_delimiter(q));
			continue;
		}
		decoded(a, p, &da);
		decoded(b, q, &db);
		if (da.size != db.size || (da.size && memcmp(da.ptr, db.ptr, da.size) != 0)) {
			fprintf(stderr, "leaf %s: decoded content differs (%zu vs %zu bytes)\n",
				mimeo_part_section(p), da.size, db.size);
			FZ_CHECK(!"same decoded leaf");
		}
		mimeo_buf_dispose(&da);
		mimeo_buf_dispose(&db);
	}
	FZ_CHECK(!p && !q);
}

static int clean_input(const uint8_t *s, size_t len)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n') {
			line = 0;
			continue;
		}
		if (s[i] >= 0x80 || s[i] == 0)
			return 0;
		if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') && ++line > 998)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t opt = fz_byte(&in);
	writer w = { MIMEO_BUF_INIT, 0, 0 };
	mimeo_message *m, *m2;
	size_t warnings = 0;
	int rc;

	if (mimeo_message_parse_buffer(&m, in.data, in.size, NULL) != MIMEO_OK)
		return 0;
	if (opt & 1)
		w.refuse_at = 1 + (size_t)(opt >> 1) * 64;
	rc = mimeo_to7bit(m, NULL, on_write, &w, &warnings);
	if (w.refused) {
		FZ_CHECK(rc == MIMEO_EIO);
		goto out;
	}
	FZ_CHECK(rc == MIMEO_OK);
	if (clean_input(in.data, in.size)) {
		FZ_CHECK(warnings == 0);
		FZ_CHECK(w.out.size == in.size &&
			 (in.size == 0 || memcmp(w.out.ptr, in.data, in.size) == 0));
	}
	FZ_CHECK(mimeo_message_parse_buffer(&m2, w.out.ptr ? w.out.ptr : "", w.out.size, NULL) ==
		 MIMEO_OK);
	check_7bit(m2, w.out.ptr, w.out.size);
	if (!mimeo_message_limits_hit(m) && !mimeo_message_limits_hit(m2))
		check_same_leaves(m, m2);
	mimeo_message_free(m2);
out:
	mimeo_message_free(m);
	mimeo_buf_dispose(&w.out);
	return 0;
}
