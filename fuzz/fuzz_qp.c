/*
 * fuzz_qp.c - the streaming quoted-printable decoder on hostile input.
 *
 * Input: [split byte] [QP text...].  The text is decoded in one step (the
 * reference), with the chunking the split byte picks (every split inside
 * `=XX`, `=` CRLF and held-back trailing whitespace), and through the
 * generic transfer decoder; all runs must agree on bytes and `invalid`.
 * Then every ISA path (scalar, AVX2, AVX-512; one the CPU lacks falls
 * back) decodes the text, whole and split where the split byte says, and
 * must give the scalar path's bytes and `invalid`.
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
		mimeo_qp_decoder_init(&d, MIMEO_ISA_AUTO);
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

/* One ISA path, in one step or split in two at `cut`. */
static void decode_isa(result *r, mimeo_isa isa, const uint8_t *in, size_t len, size_t cut)
{
	mimeo_qp_decoder d;
	uint8_t *out = fz_xmalloc(MIMEO_QP_DECODE_BOUND(len) + MIMEO_QP_DECODE_FINISH_MAX);
	size_t n;

	mimeo_qp_decoder_init(&d, isa);
	n = mimeo_qp_decode_step(&d, in, cut, out);
	n += mimeo_qp_decode_step(&d, in + cut, len - cut, out + n);
	n += mimeo_qp_decode_finish(&d, out + n);
	r->out.data = out;
	r->out.len = n;
	r->out.cap = n;
	r->invalid = d.invalid;
}

static void isa_paths_agree(const uint8_t *data, size_t size)
{
	static const mimeo_isa isas[] = { MIMEO_ISA_AVX2, MIMEO_ISA_AVX512 };
	size_t cut = size ? data[0] % (size + 1) : 0, i;
	result ref, r;

	decode_isa(&ref, MIMEO_ISA_SCALAR, data, size, size);
	for (i = 0; i < sizeof(isas) / sizeof(isas[0]); i++) {
		decode_isa(&r, isas[i], data, size, size);
		same(&ref, &r);
		free(r.out.data);
		decode_isa(&r, isas[i], data, size, cut);
		same(&ref, &r);
		free(r.out.data);
	}
	free(ref.out.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_codec_plan_run(&plan, data, size);
	isa_paths_agree(data, size);
	return 0;
}
