/*
 * codec_testlib.c - see codec_testlib.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec_testlib.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

const mimeo_isa ct_isas[3] = { MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2, MIMEO_ISA_AVX512 };

int ct_isa_ok(mimeo_isa isa)
{
	return mimeo_isa_available(isa);
}

typedef struct ct_state {
	ct_codec c;
	union {
		mimeo_b64_decoder bd;
		mimeo_b64_encoder be;
		mimeo_qp_decoder qd;
		mimeo_qp_encoder qe;
		mimeo_uu_decoder ud;
		mimeo_transfer_decoder td;
	} s;
} ct_state;

static void st_init(ct_state *st, ct_codec c, mimeo_isa isa, unsigned flags)
{
	memset(st, 0xA5, sizeof(*st));   /* init must set every field it uses */
	st->c = c;
	switch (c) {
	case CT_B64_DEC: mimeo_b64_decoder_init(&st->s.bd, isa); break;
	case CT_B64_ENC: mimeo_b64_encoder_init(&st->s.be, flags, isa); break;
	case CT_QP_DEC: mimeo_qp_decoder_init(&st->s.qd, isa); break;
	case CT_QP_ENC: mimeo_qp_encoder_init(&st->s.qe, flags, isa); break;
	case CT_UU_DEC: mimeo_uu_decoder_init(&st->s.ud); break;
	case CT_XFER_B64: mimeo_transfer_decoder_init(&st->s.td, MIMEO_CTE_BASE64, isa); break;
	case CT_XFER_QP: mimeo_transfer_decoder_init(&st->s.td, MIMEO_CTE_QP, isa); break;
	case CT_XFER_UU: mimeo_transfer_decoder_init(&st->s.td, MIMEO_CTE_UUENCODE, isa); break;
	case CT_XFER_IDENTITY: mimeo_transfer_decoder_init(&st->s.td, MIMEO_CTE_8BIT, isa); break;
	}
}

static size_t st_bound(ct_codec c, size_t n)
{
	switch (c) {
	case CT_B64_DEC: return MIMEO_B64_DECODE_BOUND(n);
	case CT_B64_ENC: return MIMEO_B64_ENCODE_BOUND(n);
	case CT_QP_DEC: return MIMEO_QP_DECODE_BOUND(n);
	case CT_QP_ENC: return MIMEO_QP_ENCODE_BOUND(n);
	case CT_UU_DEC: return MIMEO_UU_DECODE_BOUND(n);
	default: return MIMEO_TRANSFER_DECODE_BOUND(n);
	}
}

static size_t st_finish_max(ct_codec c)
{
	switch (c) {
	case CT_B64_DEC: return MIMEO_B64_DECODE_FINISH_MAX;
	case CT_B64_ENC: return MIMEO_B64_ENCODE_FINISH_MAX;
	case CT_QP_DEC: return MIMEO_QP_DECODE_FINISH_MAX;
	case CT_QP_ENC: return MIMEO_QP_ENCODE_FINISH_MAX;
	case CT_UU_DEC: return MIMEO_UU_DECODE_FINISH_MAX;
	default: return MIMEO_TRANSFER_DECODE_FINISH_MAX;
	}
}

static size_t st_step(ct_state *st, const void *in, size_t len, void *out)
{
	switch (st->c) {
	case CT_B64_DEC: return mimeo_b64_decode_step(&st->s.bd, in, len, out);
	case CT_B64_ENC: return mimeo_b64_encode_step(&st->s.be, in, len, out);
	case CT_QP_DEC: return mimeo_qp_decode_step(&st->s.qd, in, len, out);
	case CT_QP_ENC: return mimeo_qp_encode_step(&st->s.qe, in, len, out);
	case CT_UU_DEC: return mimeo_uu_decode_step(&st->s.ud, in, len, out);
	default: return mimeo_transfer_decode_step(&st->s.td, in, len, out);
	}
}

static size_t st_finish(ct_state *st, void *out)
{
	switch (st->c) {
	case CT_B64_DEC: return mimeo_b64_decode_finish(&st->s.bd, out);
	case CT_B64_ENC: return mimeo_b64_encode_finish(&st->s.be, out);
	case CT_QP_DEC: return mimeo_qp_decode_finish(&st->s.qd, out);
	case CT_QP_ENC: return mimeo_qp_encode_finish(&st->s.qe, out);
	case CT_UU_DEC: return mimeo_uu_decode_finish(&st->s.ud, out);
	default: return mimeo_transfer_decode_finish(&st->s.td, out);
	}
}

static uint64_t st_invalid(const ct_state *st)
{
	switch (st->c) {
	case CT_B64_DEC: return st->s.bd.invalid;
	case CT_QP_DEC: return st->s.qd.invalid;
	case CT_UU_DEC: return st->s.ud.invalid;
	case CT_B64_ENC:
	case CT_QP_ENC: return 0;
	default: return mimeo_transfer_decoder_invalid(&st->s.td);
	}
}

typedef struct ct_sink {
	unsigned char *buf;
	size_t len, cap;
} ct_sink;

static void sink_put(ct_sink *k, const void *p, size_t n)
{
	if (k->len + n + 1 > k->cap) {
		k->cap = (k->len + n + 1) * 2;
		k->buf = realloc(k->buf, k->cap);
		CT_CHECK(k->buf, "out of memory");
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = 0;
}

/* One step on a private copy of the piece and an exact-bound output block. */
static void run_piece(ct_state *st, const unsigned char *in, size_t n, ct_sink *k)
{
	size_t bound = st_bound(st->c, n), got;
	unsigned char *piece = malloc(n ? n : 1), *out = malloc(bound);

	CT_CHECK(piece && out, "out of memory");
	if (n)
		memcpy(piece, in, n);
	got = st_step(st, piece, n, out);
	CT_CHECK(got <= bound, "step output %zu > bound %zu for %zu bytes", got, bound, n);
	sink_put(k, out, got);
	free(piece);
	free(out);
}

/* A run starts with an empty (but allocated) output and a fresh codec. */
static void run_begin(ct_state *st, ct_sink *k, ct_codec c, mimeo_isa isa, unsigned flags)
{
	sink_put(k, "", 0);
	st_init(st, c, isa, flags);
}

static void run_end(ct_state *st, ct_sink *k, ct_result *r)
{
	size_t fmax = st_finish_max(st->c), got;
	unsigned char *out = malloc(fmax);

	CT_CHECK(out, "out of memory");
	got = st_finish(st, out);
	CT_CHECK(got <= fmax, "finish output %zu > %zu", got, fmax);
	sink_put(k, out, got);
	free(out);
	r->out = k->buf;
	r->len = k->len;
	r->invalid = st_invalid(st);
	r->trailing = st->c == CT_B64_DEC ? st->s.bd.trailing : 0;
	if (st->c == CT_UU_DEC)
		r->uu = st->s.ud;
	else if (st->c == CT_XFER_UU)
		r->uu = st->s.td.u.uu;
}

void ct_run_cuts(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		 const size_t *cuts, size_t ncuts, ct_result *r)
{
	const unsigned char *p = in;
	ct_state st;
	ct_sink k = { NULL, 0, 0 };
	size_t off = 0, i;

	run_begin(&st, &k, c, isa, flags);
	for (i = 0; i < ncuts && off < len; i++) {
		size_t n = cuts[i] < len - off ? cuts[i] : len - off;

		run_piece(&st, p + off, n, &k);
		off += n;
	}
	run_piece(&st, p + off, len - off, &k);
	run_end(&st, &k, r);
}

void ct_run_chunk(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		  size_t chunk, ct_result *r)
{
	const unsigned char *p = in;
	ct_state st;
	ct_sink k = { NULL, 0, 0 };
	size_t off = 0;

	run_begin(&st, &k, c, isa, flags);
	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		size_t n = chunk < len - off ? chunk : len - off;

		run_piece(&st, p + off, n, &k);
		off += n;
	}
	run_end(&st, &k, r);
}

void ct_run_random(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		   size_t maxchunk, uint64_t *rng, ct_result *r)
{
	const unsigned char *p = in;
	ct_state st;
	ct_sink k = { NULL, 0, 0 };
	size_t off = 0;

	run_begin(&st, &k, c, isa, flags);
	while (off < len) {
		size_t n = 1 + (size_t)(test_rand(rng) % maxchunk);

		if (n > len - off)
			n = len - off;
		/* Now and then an empty step: must be harmless. */
		if ((test_rand(rng) & 15) == 0)
			run_piece(&st, p + off, 0, &k);
		run_piece(&st, p + off, n, &k);
		off += n;
	}
	run_end(&st, &k, r);
}

void ct_result_free(ct_result *r)
{
	free(r->out);
	r->out = NULL;
}

static void dump(const char *label, const unsigned char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu):", label, n);
	for (i = 0; i < n && i < 200; i++)
		fprintf(stderr, (p[i] >= 32 && p[i] < 127) ? "%c" : "\\x%02x", p[i]);
	fprintf(stderr, "%s\n", n > 200 ? "..." : "");
}

void ct_expect(const ct_result *r, const void *want, size_t wantlen, const char *what,
	       mimeo_isa isa, size_t arg)
{
	if (r->len != wantlen || memcmp(r->out, want, wantlen) != 0) {
		size_t i = 0;

		while (i < r->len && i < wantlen && r->out[i] == ((const unsigned char *)want)[i])
			i++;
		dump("got ", r->out, r->len);
		dump("want", want, wantlen);
		ck_abort_msg("%s: output differs on %s (arg %zu): got %zu bytes, want %zu, first "
			     "difference at %zu", what, mimeo_isa_name(isa), arg, r->len, wantlen, i);
	}
}
