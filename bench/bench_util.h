/*
 * bench_util.h - what several benchmark programs share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_BENCH_UTIL_H
#define MIMEO_BENCH_UTIL_H

#include <time.h>

/* CPU seconds of the calling thread: what a codec costs, unmoved by other
 * processes on a busy machine (wall-clock figures are the CLI benchmarks'
 * job). */
static inline double bench_cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* qsort() order of doubles, for medians. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
