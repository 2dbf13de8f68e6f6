/*
 * fuzz_uu.c - the streaming uudecoder on hostile input.
 *
 * Input: [split byte] [text...].  The text (begin lines with odd modes and
 * names, overlong and cut-short data lines, garbage, missing end) is
 * decoded in one step and with the chunking the split byte picks, and
 * through the generic transfer decoder: same bytes, same public fields
 * (filename, mode, began, ended, invalid).  Output blocks are exactly
 * MIMEO_UU_DECODE_BOUND(len) bytes; the filename must stay NUL-terminated
 * inside its array.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct result {
	fz_bytes out; /* first: fz_codec_plan frees it */
	mimeo_uu_decoder st;  /* the public fields after finish */
} result;

FZ_DECODER_FUNCS(uu, mimeo_uu_decode_step, mimeo_uu_decode_finish, MIMEO_UU_DECODE_BOUND)

static void decode(void *res, int generic, const uint8_t *in, size_t len, fz_split *sp)
{
	result *r = res;
	mimeo_transfer_decoder td;
	fz_decoder dec = { &r->st, uu_step, uu_finish, uu_bound, MIMEO_UU_DECODE_FINISH_MAX };

	memset(r, 0, sizeof(*r));
	if (generic)
		fz_transfer_decoder(&dec, &td, MIMEO_CTE_UUENCODE, MIMEO_ISA_AUTO);
	else
		mimeo_uu_decoder_init(&r->st);
	fz_decode_chunked(&dec, in, len, sp, &r->out, NULL);
	if (generic) {
		r->st = td.u.uu;
		FZ_CHECK(mimeo_transfer_decoder_invalid(&td) == td.u.uu.invalid);
	}
	FZ_CHECK(memchr(r->st.filename, '\0', sizeof(r->st.filename)) != NULL);
	FZ_CHECK(r->st.began || (r->out.len == 0 && !r->st.ended));
}

static void same(const void *ref, const void *res)
{
	const result *a = ref, *b = res;

	FZ_CHECK(fz_bytes_eq(&a->out, &b->out));
	FZ_CHECK(strcmp(a->st.filename, b->st.filename) == 0);
	FZ_CHECK(a->st.mode == b->st.mode);
	FZ_CHECK(!a->st.began == !b->st.began);
	FZ_CHECK(!a->st.ended == !b->st.ended);
	FZ_CHECK(a->st.invalid == b->st.invalid);
}

static const fz_codec_plan plan = { sizeof(result), decode, same };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_codec_plan_run(&plan, data, size);
	return 0;
}
