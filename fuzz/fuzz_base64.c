/*
 * fuzz_base64.c - the streaming base64 decoder on hostile input.
 *
 * Input: [split byte] [base64 text...].  The text is decoded
 *   - in one step on the scalar path (the reference),
 *   - on every ISA path (scalar, AVX2, AVX-512; a path the CPU lacks falls
 *     back, which is harmless) with the chunking the split byte picks,
 *   - through the generic transfer decoder (MIMEO_CTE_BASE64),
 * and every run must give the same bytes and the same `invalid` and
 * `trailing` counts
 * (MimeKit's SIMD base64 corrupted attachments at chunk and CRLF edges,
 * MimeKit#1214/#1239).  Each step writes into a heap block of exactly
 * MIMEO_B64_DECODE_BOUND(len) bytes so an overrun is an ASan report.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct result {
	fz_bytes out;
	uint64_t invalid, trailing;
} result;

FZ_DECODER_FUNCS(b64, mimeo_b64_decode_step, mimeo_b64_decode_finish, MIMEO_B64_DECODE_BOUND)

/* four characters make at most three bytes, plus a pending quantum, plus
 * a line held back after a padded end (MIMEO_B64_DECODE_BOUND) */
static void b64_step_size(size_t in_len, size_t got)
{
	FZ_CHECK(got <= in_len / 4 * 3 + 3 + MIMEO_B64_LINE_MAX / 4 * 3);
}

static void decode(result *r, mimeo_isa isa, int generic,
		   const uint8_t *in, size_t len, fz_split *sp)
{
	mimeo_b64_decoder d;
	mimeo_transfer_decoder td;
	fz_decoder dec = { &d, b64_step, b64_finish, b64_bound, MIMEO_B64_DECODE_FINISH_MAX };
	size_t last;

	memset(&r->out, 0, sizeof(r->out));
	if (generic)
		fz_transfer_decoder(&dec, &td, MIMEO_CTE_BASE64, isa);
	else
		mimeo_b64_decoder_init(&d, isa);
	last = fz_decode_chunked(&dec, in, len, sp, &r->out, b64_step_size);
	FZ_CHECK(generic || last <= MIMEO_B64_DECODE_FINISH_MAX);
	/* the transfer decoder's count includes the trailing characters */
	r->invalid = generic ? mimeo_transfer_decoder_invalid(&td) - td.u.b64.trailing : d.invalid;
	r->trailing = generic ? td.u.b64.trailing : d.trailing;
}

static void same(const result *a, const result *b)
{
	FZ_CHECK(fz_bytes_eq(&a->out, &b->out));
	FZ_CHECK(a->invalid == b->invalid);
	FZ_CHECK(a->trailing == b->trailing);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mimeo_isa isas[] = {
		MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2, MIMEO_ISA_AVX512, MIMEO_ISA_AUTO
	};
	fz_input in = { data, size };
	uint8_t split = fz_byte(&in);
	result ref, r;
	size_t i;
	fz_split sp;

	decode(&ref, MIMEO_ISA_SCALAR, 0, in.data, in.size, NULL);
	/* The total output never exceeds 3 bytes per 4 input bytes (+ the
	 * bytes of a final unpadded quantum). */
	FZ_CHECK(ref.out.len <= in.size / 4 * 3 + 2);
	FZ_CHECK(ref.invalid + ref.trailing <= in.size);
	for (i = 0; i < sizeof(isas) / sizeof(isas[0]); i++) {
		fz_split_init(&sp, split, in.size);
		decode(&r, isas[i], 0, in.data, in.size, &sp);
		same(&ref, &r);
		free(r.out.data);
	}
	fz_split_init(&sp, (uint8_t)(split ^ 0x5a), in.size);
	decode(&r, MIMEO_ISA_AUTO, 1, in.data, in.size, &sp);
	same(&ref, &r);
	free(r.out.data);
	free(ref.out.data);
	return 0;
}
