/*
 * cpu.c - run-time choice of the SIMD code path.
 *
 * The CPU is probed once (pthread_once, so concurrent first calls are safe)
 * and MIMEO_FORCE_ISA is read at the same time; the result is the one piece
 * of process-wide state mimeo keeps, and it never changes afterwards.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cpu-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static int isa_have[4];          /* per mimeo_isa: usable on this CPU and build */
static mimeo_isa isa_auto;       /* what MIMEO_ISA_AUTO means */

static void isa_detect(void)
{
	const char *force;
	mimeo_isa best = MIMEO_ISA_SCALAR;

	isa_have[MIMEO_ISA_AUTO] = 1;
	isa_have[MIMEO_ISA_SCALAR] = 1;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	/* __builtin_cpu_supports also checks that the OS saves the YMM/ZMM
	 * state (XGETBV), not only the CPUID bits. */
#if MIMEO_HAVE_AVX2
	isa_have[MIMEO_ISA_AVX2] = __builtin_cpu_supports("avx2") &&
				   __builtin_cpu_supports("bmi2");
#endif
#if MIMEO_HAVE_AVX512
	isa_have[MIMEO_ISA_AVX512] = isa_have[MIMEO_ISA_AVX2] &&
				     __builtin_cpu_supports("avx512f") &&
				     __builtin_cpu_supports("avx512bw") &&
				     __builtin_cpu_supports("avx512vl") &&
				     __builtin_cpu_supports("avx512vbmi") &&
				     __builtin_cpu_supports("avx512vbmi2");
#endif
#endif
	if (isa_have[MIMEO_ISA_AVX2])
		best = MIMEO_ISA_AVX2;
	if (isa_have[MIMEO_ISA_AVX512])
		best = MIMEO_ISA_AVX512;

	/* MIMEO_FORCE_ISA caps the automatic choice (tests, benchmarks,
	 * working around a suspected SIMD bug in the field). */
	force = getenv("MIMEO_FORCE_ISA");
	if (force) {
		mimeo_isa want = best;

		if (strcmp(force, "scalar") == 0)
			want = MIMEO_ISA_SCALAR;
		else if (strcmp(force, "avx2") == 0)
			want = MIMEO_ISA_AVX2;
		else if (strcmp(force, "avx512") == 0)
			want = MIMEO_ISA_AVX512;
		if (want < best)
			best = want;
	}
	isa_auto = best;
}

int mimeo_isa_available(mimeo_isa isa)
{
	if ((unsigned)isa > MIMEO_ISA_AVX512)
		return 0;
	pthread_once(&isa_once, isa_detect);
	return isa_have[isa];
}

mimeo_isa mimeo_isa_best(void)
{
	pthread_once(&isa_once, isa_detect);
	return isa_auto;
}

const char *mimeo_isa_name(mimeo_isa isa)
{
	switch (isa) {
	case MIMEO_ISA_AUTO:
		return "auto";
	case MIMEO_ISA_SCALAR:
		return "scalar";
	case MIMEO_ISA_AVX2:
		return "avx2";
	case MIMEO_ISA_AVX512:
		return "avx512";
	}
	return "unknown";
}

mimeo_isa mimeo__isa_resolve(mimeo_isa isa)
{
	pthread_once(&isa_once, isa_detect);
	if (isa == MIMEO_ISA_AUTO || (unsigned)isa > MIMEO_ISA_AVX512)
		return isa_auto;
	/* A forced path the CPU lacks falls back to the best lower one. */
	while (isa > MIMEO_ISA_SCALAR && !isa_have[isa])
		isa = (mimeo_isa)(isa - 1);
	return isa;
}
