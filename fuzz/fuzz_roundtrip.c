/*
 * fuzz_roundtrip.c - encode then decode must give back the input exactly.
 *
 * Input: [mode] [encode split] [decode split] [payload...]
 *   mode bits 0-1: codec (0/3 base64, 1 quoted-printable, 2 uuencode)
 *   mode bits 2-4: encoder flags (base64: CRLF, NOWRAP; QP: CRLF, MAILSAFE,
 *                  BINARY; uuencode: CRLF line ends)
 *   mode bits 5-6: encoder ISA, bit 7 and bits 5-6 rotated: decoder ISA
 * Checks, besides decode(encode(x)) == x with no `invalid` byte:
 *   - the chunked encoding on the chosen ISA is byte-identical to the
 *     whole-buffer scalar encoding (every split, every SIMD path);
 *   - base64 output is alphabet + padding in lines of exactly 76 characters
 *     (the last may be shorter), no line breaks with NOWRAP;
 *   - QP output is printable ASCII in lines of at most 76 characters, no
 *     space or tab before a line break, no CR in LF mode, only soft breaks
 *     in BINARY mode, and no line starting with '.' or 'F' in MAILSAFE mode.
 * uuencode has no encoder in mimeo (it is decode-only, for old mail); the
 * harness writes the classic format itself and checks the decoder reads
 * every byte, the mode and the name back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct bytes {
	uint8_t *data;
	size_t len, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		uint8_t *grown;

		b->cap = (b->len + n) * 2 + 64;
		grown = realloc(b->data, b->cap);
		FZ_CHECK(grown != NULL);
		b->data = grown;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static const mimeo_isa isas[4] = {
	MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2, MIMEO_ISA_AVX512, MIMEO_ISA_AUTO
};

enum { B64, QP, UU };

/* One encoder or decoder run, in chunks, into exact-size output blocks. */
static void run(int codec, int encode, unsigned flags, mimeo_isa isa,
		const uint8_t *in, size_t len, fz_split *sp, bytes *out)
{
	mimeo_b64_encoder be;
	mimeo_b64_decoder bd;
	mimeo_qp_encoder qe;
	mimeo_qp_decoder qd;
	mimeo_uu_decoder ud;
	size_t n, cap, got;
	uint8_t *o;

	if (codec == B64 && encode)
		mimeo_b64_encoder_init(&be, flags, isa);
	else if (codec == B64)
		mimeo_b64_decoder_init(&bd, isa);
	else if (codec == QP && encode)
		mimeo_qp_encoder_init(&qe, flags, MIMEO_ISA_AUTO);
	else if (codec == QP)
		mimeo_qp_decoder_init(&qd, MIMEO_ISA_AUTO);
	else
		mimeo_uu_decoder_init(&ud);

	while (len) {
		uint8_t *chunk;

		n = sp ? fz_split_next(sp, len) : len;
		chunk = fz_dup(in, n);
		if (codec == B64 && encode) {
			cap = MIMEO_B64_ENCODE_BOUND(n);
			o = fz_xmalloc(cap);
			got = mimeo_b64_encode_step(&be, chunk, n, o);
		} else if (codec == B64) {
			cap = MIMEO_B64_DECODE_BOUND(n);
			o = fz_xmalloc(cap);
			got = mimeo_b64_decode_step(&bd, chunk, n, o);
		} else if (codec == QP && encode) {
			cap = MIMEO_QP_ENCODE_BOUND(n);
			o = fz_xmalloc(cap);
			got = mimeo_qp_encode_step(&qe, chunk, n, o);
		} else if (codec == QP) {
			cap = MIMEO_QP_DECODE_BOUND(n);
			o = fz_xmalloc(cap);
			got = mimeo_qp_decode_step(&qd, chunk, n, o);
		} else {
			cap = MIMEO_UU_DECODE_BOUND(n);
			o = fz_xmalloc(cap);
			got = mimeo_uu_decode_step(&ud, chunk, n, o);
		}
		FZ_CHECK(got <= cap);
		put(out, o, got);
		free(o);
		free(chunk);
		in += n;
		len -= n;
	}

	if (codec == B64 && encode) {
		cap = MIMEO_B64_ENCODE_FINISH_MAX;
		o = fz_xmalloc(cap);
		got = mimeo_b64_encode_finish(&be, o);
	} else if (codec == B64) {
		cap = MIMEO_B64_DECODE_FINISH_MAX;
		o = fz_xmalloc(cap);
		got = mimeo_b64_decode_finish(&bd, o);
		FZ_CHECK(bd.invalid == 0);
	} else if (codec == QP && encode) {
		cap = MIMEO_QP_ENCODE_FINISH_MAX;
		o = fz_xmalloc(cap);
		got = mimeo_qp_encode_finish(&qe, o);
	} else if (codec == QP) {
		cap = MIMEO_QP_DECODE_FINISH_MAX;
		o = fz_xmalloc(cap);
		got = mimeo_qp_decode_finish(&qd, o);
		FZ_CHECK(qd.invalid == 0);
	} else {
		cap = MIMEO_UU_DECODE_FINISH_MAX;
		o = fz_xmalloc(cap);
		got = mimeo_uu_decode_finish(&ud, o);
		FZ_CHECK(ud.began && ud.ended && ud.invalid == 0);
		FZ_CHECK(ud.mode == 0644 && strcmp(ud.filename, "fuzz data.bin") == 0);
	}
	FZ_CHECK(got <= cap);
	put(out, o, got);
	free(o);
}

static int is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static void check_b64(const bytes *e, unsigned flags)
{
	size_t i, col = 0;

	for (i = 0; i < e->len; i++) {
		uint8_t c = e->data[i];
		int brk = fz_line_break(e->data, e->len, i, !!(flags & MIMEO_B64_CRLF));

		if (brk == 1)
			continue;
		if (brk == 2) {
			FZ_CHECK(!(flags & MIMEO_B64_NOWRAP));
			/* every line but the last is full */
			FZ_CHECK(col == 76 || i + 1 == e->len);
			FZ_CHECK(col > 0);
			col = 0;
			continue;
		}
		FZ_CHECK(is_b64(c));
		col++;
		FZ_CHECK((flags & MIMEO_B64_NOWRAP) || col <= 76);
	}
}

static void check_qp(const bytes *e, unsigned flags)
{
	size_t i, col = 0;

	for (i = 0; i < e->len; i++) {
		uint8_t c = e->data[i];
		int brk = fz_line_break(e->data, e->len, i, !!(flags & MIMEO_QP_CRLF));

		if (brk == 1)
			continue;
		if (brk) {
			size_t last = i - ((flags & MIMEO_QP_CRLF) ? 1 : 0);

			if (last > 0 && col > 0) {
				uint8_t p = e->data[last - 1];

				FZ_CHECK(p != ' ' && p != '\t');
				if (flags & MIMEO_QP_BINARY)
					FZ_CHECK(p == '=');
			} else {
				FZ_CHECK(!(flags & MIMEO_QP_BINARY));
			}
			col = 0;
			continue;
		}
		FZ_CHECK(c == ' ' || c == '\t' || (c >= 33 && c <= 126));
		if (col == 0 && (flags & MIMEO_QP_MAILSAFE))
			FZ_CHECK(c != '.' && c != 'F');
		col++;
		FZ_CHECK(col <= 76);
	}
	/* nothing invisible at the very end either */
	if (e->len && col)
		FZ_CHECK(e->data[e->len - 1] != ' ' && e->data[e->len - 1] != '\t');
}

/* The classic uuencode format: 45 bytes a line, ` for zero. */
static void uuencode(const uint8_t *p, size_t len, int crlf, bytes *out)
{
	const char *eol = crlf ? "\r\n" : "\n";
	size_t i;

	put(out, "some text before the block", 26);
	put(out, eol, strlen(eol));
	put(out, "begin 644 fuzz data.bin", 23);
	put(out, eol, strlen(eol));
	while (len) {
		size_t n = len < 45 ? len : 45;
		uint8_t line[64];
		size_t k = 0;

		line[k++] = (uint8_t)(n ? ' ' + n : '`');
		for (i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)p[i] << 16;
			int j;

			if (i + 1 < n)
				v |= (uint32_t)p[i + 1] << 8;
			if (i + 2 < n)
				v |= p[i + 2];
			for (j = 18; j >= 0; j -= 6) {
				uint8_t s = (v >> j) & 63;

				line[k++] = (uint8_t)(s ? ' ' + s : '`');
			}
		}
		put(out, line, k);
		put(out, eol, strlen(eol));
		p += n;
		len -= n;
	}
	put(out, "`", 1);
	put(out, eol, strlen(eol));
	put(out, "end", 3);
	put(out, eol, strlen(eol));
	put(out, "trailing signature", 18);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t mode = fz_byte(&in);
	uint8_t esplit = fz_byte(&in), dsplit = fz_byte(&in);
	int codec = (mode & 3) == 3 ? B64 : (mode & 3);
	unsigned fl = (mode >> 2) & 7;
	mimeo_isa eisa = isas[(mode >> 5) & 3];
	mimeo_isa disa = isas[((mode >> 5) + (mode >> 7)) & 3];
	bytes enc = { 0 }, ref = { 0 }, dec = { 0 };
	unsigned flags = 0;
	fz_split sp;

	if (codec == B64) {
		flags = (fl & 1 ? MIMEO_B64_CRLF : 0) | (fl & 2 ? MIMEO_B64_NOWRAP : 0);
		run(B64, 1, flags, MIMEO_ISA_SCALAR, in.data, in.size, NULL, &ref);
		fz_split_init(&sp, esplit, in.size);
		run(B64, 1, flags, eisa, in.data, in.size, &sp, &enc);
		FZ_CHECK(enc.len == ref.len && (enc.len == 0 || memcmp(enc.data, ref.data, enc.len) == 0));
		check_b64(&enc, flags);
	} else if (codec == QP) {
		flags = (fl & 1 ? MIMEO_QP_CRLF : 0) | (fl & 2 ? MIMEO_QP_MAILSAFE : 0) |
			(fl & 4 ? MIMEO_QP_BINARY : 0);
		run(QP, 1, flags, MIMEO_ISA_SCALAR, in.data, in.size, NULL, &ref);
		fz_split_init(&sp, esplit, in.size);
		run(QP, 1, flags, eisa, in.data, in.size, &sp, &enc);
		FZ_CHECK(enc.len == ref.len && (enc.len == 0 || memcmp(enc.data, ref.data, enc.len) == 0));
		check_qp(&enc, flags);
	} else {
		uuencode(in.data, in.size, fl & 1, &enc);
	}

	fz_split_init(&sp, dsplit, enc.len);
	run(codec, 0, 0, disa, enc.data, enc.len, &sp, &dec);
	FZ_CHECK(dec.len == in.size);
	FZ_CHECK(in.size == 0 || memcmp(dec.data, in.data, in.size) == 0);

	free(enc.data);
	free(ref.data);
	free(dec.data);
	return 0;
}
