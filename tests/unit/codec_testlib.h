/*
 * codec_testlib.h - shared driver for the codec suites: run any codec over
 * an input cut into pieces of chosen sizes, on a chosen ISA path, with
 * every piece and every step output in its own exactly-sized heap block so
 * that ASan catches a read past the input or a write past the documented
 * bound.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CODEC_TESTLIB_H
#define MIMEO_CODEC_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "mimeo.h"

typedef enum ct_codec {
	CT_B64_DEC, CT_B64_ENC, CT_QP_DEC, CT_QP_ENC, CT_UU_DEC,
	CT_XFER_B64, CT_XFER_QP, CT_XFER_UU, CT_XFER_IDENTITY
} ct_codec;

/* ck_assert records the location of every check it passes (a write to a
 * temporary file per call): far too slow in per-byte loops.  CT_CHECK
 * only calls into Check when the condition fails. */
#define CT_CHECK(cond, ...)                                                  \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg(__VA_ARGS__);                            \
	} while (0)

/* Result of one run: output (malloc'd, NUL-terminated) and counters. */
typedef struct ct_result {
	unsigned char *out;
	size_t len;
	uint64_t invalid;
	uint64_t trailing;     /* base64: characters ignored after the data */
	mimeo_uu_decoder uu;   /* final uu state (filename, mode, ...) */
} ct_result;

/* Pieces: `cuts` gives the sizes of the first pieces (ncuts of them), the
 * rest of the input is the last piece.  ncuts == 0: one call. */
void ct_run_cuts(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		 const size_t *cuts, size_t ncuts, ct_result *r);
/* Fixed piece size `chunk` (0 = whole input in one call). */
void ct_run_chunk(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		  size_t chunk, ct_result *r);
/* Random piece sizes in 1..maxchunk from *rng. */
void ct_run_random(ct_codec c, mimeo_isa isa, unsigned flags, const void *in, size_t len,
		   size_t maxchunk, uint64_t *rng, ct_result *r);
void ct_result_free(ct_result *r);

/* The paths to test: every mimeo_isa except AUTO that this machine runs. */
extern const mimeo_isa ct_isas[3];
int ct_isa_ok(mimeo_isa isa);

/* Check a run against the expected bytes, with a message naming where. */
void ct_expect(const ct_result *r, const void *want, size_t wantlen, const char *what,
	       mimeo_isa isa, size_t arg);

#endif
