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
	fz_bytes out; /* first: fz_codec_plan frees it */
	uint64_t invalid;
} result;

FZ_DECODER_FUNCS(qp, mimeo_qp_decode_step, mimeo_qp_decode_finish, MIMEO_QP_DECODE_BOUND)

static void decode(void *res, int generic, const uint8_t *in, size_t len, fz_split *sp)
{
	result *r = res;
	mimeo_qp_decoder d;
	mimeo_transfer_decoder td;
	fz_decoder dec = { &d, qp_step, qp_finish, qp_bound, MIMEO_QP_DECODE_FINISH_MAX };

	memset(&r->out, 0, sizeof(r->out));
	if (generic)
		fz_transfer_decoder(&dec, &td, MIMEO_CTE_QP, MIMEO_ISA_AUTO);
	else
		mimeo_qp_decoder_init(&d);
	fz_decode_chunked(&dec, in, len, sp, &r->out, NULL);
	/* Decoding never lengthens the text: `=XX` shrinks, an invalid `=`
	 * sequence is copied, trailing whitespace and soft breaks vanish. */
	FZ_CHECK(r->out.len <= len);
	r->invalid = generic ? mimeo_transfer_decoder_invalid(&td) : d.invalid;
	FZ_CHECK(r->invalid <= len);
}

static void same(const void *ref, const void *res)
{
	const result *a = ref, *b = res;

	FZ_CHECK(fz_bytes_eq(&a->out, &b->out));
	FZ_CHECK(a->invalid == b->invalid);
}

static const fz_codec_plan plan = { sizeof(result), decode, same };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_codec_plan_run(&plan, data, size);
	return 0;
}
