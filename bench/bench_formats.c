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
#include "bench_util.h"
#include "testutil.h"

#define RUNS 7

static double median(double *v)
{
	qsort(v, RUNS, sizeof(double), bench_cmp_double);
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

/* A single-part post of in[0..len): the encoder the unit tests check
 * the decoder against, between =ybegin and =yend lines. */
static size_t yenc_post(const unsigned char *in, size_t len, char *out)
{
	size_t o = (size_t)sprintf(out, "=ybegin line=128 size=%zu name=bench.bin\n", len);

	o += test_yenc_encode(in, len, 128, out + o, "\n");
	o += (size_t)sprintf(out + o, "=yend size=%zu crc32=%08x\n", len,
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
	plen = yenc_post(raw, len, post);
	for (r = 0; r < RUNS; r++) {
		double t0 = bench_cpu_now(), t1, t2, t3;
		size_t n;

		memcpy(out, post, plen);
		t1 = bench_cpu_now();
		n = yenc_run(post, plen, 0, out, &errors);
		t2 = bench_cpu_now();
		if (n != len || memcmp(out, raw, len) != 0 || errors != 0) {
			fprintf(stderr, "yenc: wrong output (%zu bytes, errors %x)\n", n, errors);
			exit(1);
		}
		n = yenc_run(post, plen, 65536, out, &errors);
		t3 = bench_cpu_now();
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

/* ---- TNEF ---- */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

/* One attribute with its checksum at o; returns its size. */
static size_t tnef_attr(unsigned char *o, unsigned level, uint32_t tag, const void *d, size_t n)
{
	unsigned sum = 0;
	size_t i;

	o[0] = (unsigned char)level;
	put32(o + 1, tag);
	put32(o + 5, (uint32_t)n);
	memcpy(o + 9, d, n);
	for (i = 0; i < n; i++)
		sum += ((const unsigned char *)d)[i];
	o[9 + n] = (unsigned char)sum;
	o[10 + n] = (unsigned char)(sum >> 8);
	return n + 11;
}

/* Read the stream and copy every item's bytes out (what extracting to
 * files does, minus the file system).  Returns the bytes copied. */
static size_t tnef_extract(const unsigned char *s, size_t len, unsigned char *out)
{
	mimeo_tnef *t;
	size_t i, o = 0;

	if (mimeo_tnef_open(&t, s, len, NULL) != MIMEO_OK) {
		fprintf(stderr, "tnef: open failed\n");
		exit(1);
	}
	for (i = 0; i < mimeo_tnef_count(t); i++) {
		const mimeo_tnef_item *it = mimeo_tnef_item_at(t, i);

		memcpy(out + o, it->data, it->size);
		o += it->size;
	}
	mimeo_tnef_free(t);
	return o;
}

static void bench_tnef_case(const char *what, const unsigned char *s, size_t len, size_t want)
{
	unsigned char *out = xmalloc(len * 8 + 64);
	double mc[RUNS], ex[RUNS];
	unsigned r;

	for (r = 0; r < RUNS; r++) {
		double t0 = bench_cpu_now(), t1, t2;
		size_t n;

		memcpy(out, s, len);
		t1 = bench_cpu_now();
		n = tnef_extract(s, len, out);
		t2 = bench_cpu_now();
		if (n != want) {
			fprintf(stderr, "tnef %s: %zu bytes extracted, %zu expected\n", what, n, want);
			exit(1);
		}
		mc[r] = (double)len / 1e6 / (t1 - t0);
		ex[r] = (double)len / 1e6 / (t2 - t1);
	}
	{
		double m = median(mc), e = median(ex);

		printf("tnef %s: %.1f MB stream, %.1f MB extracted\n", what, (double)len / 1e6,
		       (double)want / 1e6);
		printf("  %-28s %9.0f MB/s\n", "memcpy", m);
		printf("  %-28s %9.0f MB/s  %.2fx memcpy\n", "tnef open + copy items", e, e / m);
	}
	free(out);
}

static void bench_tnef(void)
{
	const size_t att = 4u << 20, natt = 8;
	size_t len = 6 + natt * (att + 256) + 64, o, k, i;
	unsigned char *s = xmalloc(len), *data = xmalloc(att);
	const char *corpus = getenv("MIMEO_SOURCE_DIR");

	for (k = 0; k < att; k += 8) {
		uint64_t x = rnd();

		memcpy(data + k, &x, 8);
	}
	put32(s, MIMEO_TNEF_SIGNATURE);
	s[4] = 1, s[5] = 0;
	o = 6;
	for (i = 0; i < natt; i++) {
		char title[32];

		o += tnef_attr(s + o, 2, MIMEO_TNEF_ATT_ATTACH_RENDDATA, "\x01\x00\0\0\0\0\0\0\0\0\0\0\0\0", 14);
		snprintf(title, sizeof(title), "file%zu.bin", i);
		o += tnef_attr(s + o, 2, MIMEO_TNEF_ATT_ATTACH_TITLE, title, strlen(title) + 1);
		o += tnef_attr(s + o, 2, MIMEO_TNEF_ATT_ATTACH_DATA, data, att);
	}
	bench_tnef_case("synthetic (8 x 4 MiB)", s, o, natt * att);
	free(s), free(data);

	/* The largest MimeKit sample, when the shared corpus is there. */
	if (corpus) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/../shared/corpus/mimekit-tnef/christmas.tnef", corpus);
		f = fopen(path, "rb");
		if (f) {
			unsigned char *c = xmalloc(1u << 21), *out;
			size_t n = fread(c, 1, 1u << 21, f), want;

			fclose(f);
			out = xmalloc(n * 8 + 64);
			want = tnef_extract(c, n, out);
			free(out);
			bench_tnef_case("christmas.tnef (MimeKit)", c, n, want);
			free(c);
		}
	}
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;

	if (!mib)
		mib = 64;
	printf("bench_formats: MB/s of input, thread CPU time, median of %d runs\n", RUNS);
	bench_yenc(mib);
	bench_tnef();
	return 0;
}
