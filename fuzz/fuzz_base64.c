/*
 * fuzz_base64.c - the streaming base64 decoder on hostile input.
 *
 * Input: [split byte] [base64 text...].  The text is decoded
 *   - in one step on the scalar path (the reference),
 *   - on every ISA path (scalar, AVX2, AVX-512; a path the CPU lacks falls
 *     back, which is harmless) with the chunking the split byte picks,
 *   - through the generic transfer decoder (MIMEO_CTE_BASE64),
 * and every run must give the same bytes and the same `invalid` count
 * (MimeKit's SIMD base64 corrupted attachments at chunk and CRLF edges,
 * MimeKit#1214/#1239).  Each step writes into a heap block of exactly
 * MIMEO_B64_DECODE_BOUND(len) bytes so an overrun is an ASan report.
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

static void append(result *r, const uint8_t *p, size_t n)
{
	if (n)
		memcpy(r->data + r->len, p, n);
	r->len += n;
}

/* Room for the whole output: the sum of the per-step bounds is larger. */
static void result_init(result *r, size_t in_len)
{
	r->data = fz_xmalloc(in_len / 4 * 3 + 3 + 3);
	r->len = 0;
	r->invalid = 0;
}

static void decode(result *r, mimeo_isa isa, int generic,
		   const uint8_t *in, size_t len, fz_split *sp)
{
	mimeo_b64_decoder d;
	mimeo_transfer_decoder td;
	uint8_t *out;
	size_t n, got;

	result_init(r, len);
	if (generic)
		mimeo_transfer_decoder_init(&td, MIMEO_CTE_BASE64, isa);
	else
		mimeo_b64_decoder_init(&d, isa);
	while (len) {
		size_t cap;
		uint8_t *chunk;

		n = sp ? fz_split_next(sp, len) : len;
		chunk = fz_dup(in, n);
		cap = generic ? MIMEO_TRANSFER_DECODE_BOUND(n) : MIMEO_B64_DECODE_BOUND(n);
		out = fz_xmalloc(cap);
		got = generic ? mimeo_transfer_decode_step(&td, chunk, n, out)
			      : mimeo_b64_decode_step(&d, chunk, n, out);
		FZ_CHECK(got <= cap);
		/* four characters make at most three bytes, plus a pending quantum */
		FZ_CHECK(got <= n / 4 * 3 + 3);
		append(r, out, got);
		free(out);
		free(chunk);
		in += n;
		len -= n;
	}
	if (generic) {
		out = fz_xmalloc(MIMEO_TRANSFER_DECODE_FINISH_MAX);
		got = mimeo_transfer_decode_finish(&td, out);
		FZ_CHECK(got <= MIMEO_TRANSFER_DECODE_FINISH_MAX);
		r->invalid = mimeo_transfer_decoder_invalid(&td);
	} else {
		out = fz_xmalloc(MIMEO_B64_DECODE_FINISH_MAX);
		got = mimeo_b64_decode_finish(&d, out);
		FZ_CHECK(got <= 2);
		r->invalid = d.invalid;
	}
	append(r, out, got);
	free(out);
}

static void same(const result *a, const result *b)
{
	FZ_CHECK(a->len == b->len);
	FZ_CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	FZ_CHECK(a->invalid == b->invalid);
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
	FZ_CHECK(ref.len <= in.size / 4 * 3 + 2);
	FZ_CHECK(ref.invalid <= in.size);
	for (i = 0; i < sizeof(isas) / sizeof(isas[0]); i++) {
		fz_split_init(&sp, split, in.size);
		decode(&r, isas[i], 0, in.data, in.size, &sp);
		same(&ref, &r);
		free(r.data);
	}
	fz_split_init(&sp, (uint8_t)(split ^ 0x5a), in.size);
	decode(&r, MIMEO_ISA_AUTO, 1, in.data, in.size, &sp);
	same(&ref, &r);
	free(r.data);
	free(ref.data);
	return 0;
}
