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
	uint8_t *data;
	size_t len, cap;
	mimeo_uu_decoder st;  /* the public fields after finish */
} result;

static void append(result *r, const uint8_t *p, size_t n)
{
	if (r->len + n > r->cap) {
		uint8_t *grown;

		r->cap = (r->len + n) * 2;
		grown = realloc(r->data, r->cap);
		FZ_CHECK(grown != NULL);
		r->data = grown;
	}
	if (n)
		memcpy(r->data + r->len, p, n);
	r->len += n;
}

static void decode(result *r, int generic, const uint8_t *in, size_t len,
		   fz_split *sp)
{
	mimeo_transfer_decoder td;
	mimeo_uu_decoder *d = generic ? &td.u.uu : &r->st;
	size_t n, got, cap;
	uint8_t *out;

	memset(r, 0, sizeof(*r));
	if (generic)
		mimeo_transfer_decoder_init(&td, MIMEO_CTE_UUENCODE, MIMEO_ISA_AUTO);
	else
		mimeo_uu_decoder_init(d);
	while (len) {
		uint8_t *chunk;

		n = sp ? fz_split_next(sp, len) : len;
		chunk = fz_dup(in, n);
		cap = generic ? MIMEO_TRANSFER_DECODE_BOUND(n) : MIMEO_UU_DECODE_BOUND(n);
		out = fz_xmalloc(cap);
		got = generic ? mimeo_transfer_decode_step(&td, chunk, n, out)
			      : mimeo_uu_decode_step(d, chunk, n, out);
		FZ_CHECK(got <= cap);
		append(r, out, got);
		free(out);
		free(chunk);
		in += n;
		len -= n;
	}
	cap = generic ? MIMEO_TRANSFER_DECODE_FINISH_MAX : MIMEO_UU_DECODE_FINISH_MAX;
	out = fz_xmalloc(cap);
	got = generic ? mimeo_transfer_decode_finish(&td, out) : mimeo_uu_decode_finish(d, out);
	FZ_CHECK(got <= cap);
	append(r, out, got);
	free(out);
	if (generic) {
		r->st = td.u.uu;
		FZ_CHECK(mimeo_transfer_decoder_invalid(&td) == td.u.uu.invalid);
	}
	FZ_CHECK(memchr(r->st.filename, '\0', sizeof(r->st.filename)) != NULL);
	FZ_CHECK(r->st.began || (r->len == 0 && !r->st.ended));
}

static void same(const result *a, const result *b)
{
	FZ_CHECK(a->len == b->len);
	FZ_CHECK(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	FZ_CHECK(strcmp(a->st.filename, b->st.filename) == 0);
	FZ_CHECK(a->st.mode == b->st.mode);
	FZ_CHECK(!a->st.began == !b->st.began);
	FZ_CHECK(!a->st.ended == !b->st.ended);
	FZ_CHECK(a->st.invalid == b->st.invalid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t split = fz_byte(&in);
	result ref, r;
	fz_split sp;

	decode(&ref, 0, in.data, in.size, NULL);

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
