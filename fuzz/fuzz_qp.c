/*
 * fuzz_qp.c - the streaming quoted-printable decoder on hostile input.
 *
 * Input: [split byte] [QP text...].  The text is decoded in one step (the
 * reference), with the chunking the split byte picks (every split inside
 * `=XX`, `=` CRLF and held-back trailing whitespace), and through the
 * generic transfer decoder; all runs must agree on bytes and `invalid`.
 * Output blocks are exactly MIMEO_QP_DECODE_BOUND(len) bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct result {
	uint8_t *data;
	size_t len;
	uint64_t invalid;
} result;

static void decode(result *r, int generic, const uint8_t *in, size_t len,
		   fz_split *sp)
{
	mimeo_qp_decoder d;
	mimeo_transfer_decoder td;
	size_t total = len, n, got, cap;
	uint8_t *out;

	/* Decoding never lengthens the text: `=XX` shrinks, an invalid `=`
	 * sequence is copied, trailing whitespace and soft breaks vanish. */
	r->data = fz_xmalloc(len + 1);
	r->len = 0;
	if (generic)
		mimeo_transfer_decoder_init(&td, MIMEO_CTE_QP, MIMEO_ISA_AUTO);
	else
		mimeo_qp_decoder_init(&d);
	while (len) {
		uint8_t *chunk;

		n = sp ? fz_split_next(sp, len) : len;
		chunk = fz_dup(in, n);
		cap = generic ? MIMEO_TRANSFER_DECODE_BOUND(n) : MIMEO_QP_DECODE_BOUND(n);
		out = fz_xmalloc(cap);
		got = generic ? mimeo_transfer_decode_step(&td, chunk, n, out)
			      : mimeo_qp_decode_step(&d, chunk, n, out);
		FZ_CHECK(got <= cap);
		FZ_CHECK(r->len + got <= total);
		memcpy(r->data + r->len, out, got);
		r->len += got;
		free(out);
		free(chunk);
		in += n;
		len -= n;
	}
	cap = generic ? MIMEO_TRANSFER_DECODE_FINISH_MAX : MIMEO_QP_DECODE_FINISH_MAX;
	out = fz_xmalloc(cap);
	got = generic ? mimeo_transfer_decode_finish(&td, out) : mimeo_qp_decode_finish(&d, out);
	FZ_CHECK(got <= cap);
	FZ_CHECK(r->len + got <= total);
	memcpy(r->data + r->len, out, got);
	r->len += got;
	free(out);
	r->invalid = generic ? mimeo_transfer_decoder_invalid(&td) : d.invalid;
}

static void same(const result *a, const result *b)
{
	FZ_CHECK(a->len == b->len);
	FZ_CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	FZ_CHECK(a->invalid == b->invalid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t split = fz_byte(&in);
	result ref, r;
	fz_split sp;

	decode(&ref, 0, in.data, in.size, NULL);
	FZ_CHECK(ref.invalid <= in.size);

	fz_split_init(&sp, split, in.size);
	decode(&r, 0, in.data, in.size, &sp);
	same(&ref, &r);
	free(r.data);

	fz_split_init(&sp, (uint8_t)(split + 1), in.size);
	decode(&r, 1, in.data, in.size, &sp);
	same(&ref, &r);
	free(r.data);
	free(ref.data);
	return 0;
}
