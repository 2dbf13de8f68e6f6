/*
 * bench_codec.c - codec throughput, in one run on the same bytes, per ISA
 * path, against memcpy (the ceiling) and GMime 3 (the baseline, when built
 * with it).  A meson benchmark:  meson test -C build --benchmark --suite codec -v
 *
 * Figures are MB/s (10^6 bytes/s) of input: encoded text for decoders, raw
 * bytes for encoders.  Time is thread CPU time (CLOCK_THREAD_CPUTIME_ID):
 * the machine is shared and time spent descheduled is not ours.  Each
 * figure is the median of RUNS runs; the candidates are interleaved run by
 * run so drift in the machine's speed hits all of them alike.  Every
 * decoder's output is checked against the original bytes.
 *
 * Usage: bench_codec [MiB]   (raw size of the large base64 case, default 48)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mimeo.h"
#include "bench_util.h"
#include "mimeo-config.h"

#if MIMEO_HAVE_GMIME
#include <gmime/gmime.h>
#endif

#define RUNS 7
#define MAXC 12

typedef enum codec { B64_DEC, B64_ENC, QP_DEC, QP_ENC } codec;
typedef enum lib { LIB_MEMCPY, LIB_MIMEO, LIB_GMIME } lib;

typedef struct cand {
	char name[64];
	lib lib;
	codec k;
	int isa;
	size_t piece;       /* input fed in pieces of this size; 0 = one call */
	int check;          /* output must equal the reference */
	double mbs[RUNS];
	double median;
} cand;

/* ---- candidates ---- */

/* A mimeo codec state of any kind. */
typedef union mstate {
	mimeo_b64_decoder bd;
	mimeo_b64_encoder be;
	mimeo_qp_decoder qd;
	mimeo_qp_encoder qe;
} mstate;

static void m_init(mstate *s, codec k, int isa)
{
	switch (k) {
	case B64_DEC: mimeo_b64_decoder_init(&s->bd, (mimeo_isa)isa); break;
	case B64_ENC: mimeo_b64_encoder_init(&s->be, 0, (mimeo_isa)isa); break;
	case QP_DEC: mimeo_qp_decoder_init(&s->qd, (mimeo_isa)isa); break;
	case QP_ENC: mimeo_qp_encoder_init(&s->qe, 0, (mimeo_isa)isa); break;
	}
}

static size_t m_step(mstate *s, codec k, const unsigned char *in, size_t len, unsigned char *out)
{
	switch (k) {
	case B64_DEC: return mimeo_b64_decode_step(&s->bd, in, len, out);
	case B64_ENC: return mimeo_b64_encode_step(&s->be, in, len, out);
	case QP_DEC: return mimeo_qp_decode_step(&s->qd, in, len, out);
	case QP_ENC: return mimeo_qp_encode_step(&s->qe, in, len, out);
	}
	return 0;
}

static size_t m_finish(mstate *s, codec k, unsigned char *out)
{
	switch (k) {
	case B64_DEC: return mimeo_b64_decode_finish(&s->bd, out);
	case B64_ENC: return mimeo_b64_encode_finish(&s->be, out);
	case QP_DEC: return mimeo_qp_decode_finish(&s->qd, out);
	case QP_ENC: return mimeo_qp_encode_finish(&s->qe, out);
	}
	return 0;
}

/* Size of the next piece at `off` (pieces as a parser hands body chunks
 * over, or the whole input). */
static size_t piece_at(const cand *c, size_t off, size_t len)
{
	return c->piece && len - off > c->piece ? c->piece : len - off;
}

static size_t run_mimeo(const cand *c, const unsigned char *in, size_t len, unsigned char *out)
{
	mstate s;
	size_t n = 0, off = 0, l;

	m_init(&s, c->k, c->isa);
	do {
		l = piece_at(c, off, len);
		n += m_step(&s, c->k, in + off, l, out + n);
		off += l;
	} while (off < len);
	return n + m_finish(&s, c->k, out + n);
}

#if MIMEO_HAVE_GMIME
static size_t run_gmime(const cand *c, const unsigned char *in, size_t len, unsigned char *out)
{
	int state = 0;
	guint32 save = 0;
	size_t n = 0, off = 0, l;

	if (c->k == B64_ENC)
		return g_mime_encoding_base64_encode_close(in, len, out, &state, &save);
	if (c->k == QP_ENC)
		return g_mime_encoding_quoted_encode_close(in, len, out, &state, &save);
	do {
		l = piece_at(c, off, len);
		n += (c->k == B64_DEC ? g_mime_encoding_base64_decode_step
				      : g_mime_encoding_quoted_decode_step)(in + off, l, out + n,
									    &state, &save);
		off += l;
	} while (off < len);
	return n;
}
#endif

static size_t run(const cand *c, const unsigned char *in, size_t len, unsigned char *out)
{
	switch (c->lib) {
	case LIB_MEMCPY:
		memcpy(out, in, len);
		return len;
	case LIB_MIMEO:
		return run_mimeo(c, in, len, out);
	case LIB_GMIME:
#if MIMEO_HAVE_GMIME
		return run_gmime(c, in, len, out);
#endif
		break;
	}
	return 0;
}

/* ---- a benchmark table ---- */

typedef struct table {
	const char *title;
	const unsigned char *in;
	size_t len;
	const unsigned char *want;   /* expected output for checked candidates */
	size_t wantlen;
	unsigned char *out;
	int reps;
	cand c[MAXC];
	int n;
} table;

static void add(table *t, const char *name, lib l, codec k, int isa, size_t piece, int check)
{
	cand *c = &t->c[t->n++];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->lib = l;
	c->k = k;
	c->isa = isa;
	c->piece = piece;
	c->check = check;
}

static void add_isas(table *t, const char *what, codec k, size_t piece)
{
	int isa;

	for (isa = MIMEO_ISA_SCALAR; isa <= MIMEO_ISA_AVX512; isa++) {
		char name[64];

		if (!mimeo_isa_available((mimeo_isa)isa))
			continue;
		snprintf(name, sizeof(name), "mimeo %s, %s", what, mimeo_isa_name((mimeo_isa)isa));
		add(t, name, LIB_MIMEO, k, isa, piece, 1);
	}
}

static int run_table(table *t)
{
	double gm = 0, mc = 0;
	int r, i, k, bad = 0;

	for (r = 0; r < RUNS; r++) {
		for (i = 0; i < t->n; i++) {
			cand *c = &t->c[i];
			size_t got = 0;
			double t0 = bench_cpu_now(), dt;

			for (k = 0; k < t->reps; k++)
				got = run(c, t->in, t->len, t->out);
			dt = bench_cpu_now() - t0;
			c->mbs[r] = (double)t->len * t->reps / (dt > 0 ? dt : 1e-9) / 1e6;
			if (c->check && t->want &&
			    (got != t->wantlen || memcmp(t->out, t->want, got) != 0)) {
				fprintf(stderr, "bench_codec: %s: wrong output\n", c->name);
				bad = 1;
			}
		}
	}
	for (i = 0; i < t->n; i++) {
		cand *c = &t->c[i];

		qsort(c->mbs, RUNS, sizeof(double), bench_cmp_double);
		c->median = c->mbs[RUNS / 2];
		if (c->lib == LIB_GMIME && gm == 0)
			gm = c->median;
		if (c->lib == LIB_MEMCPY)
			mc = c->median;
	}
	printf("\n%s\n", t->title);
	printf("  %-44s %9s %9s %9s %9s\n", "", "MB/s", "best", "x GMime", "% memcpy");
	for (i = 0; i < t->n; i++) {
		cand *c = &t->c[i];
		char g[16] = "-", m[16] = "-";

		if (gm > 0)
			snprintf(g, sizeof(g), "%.2f", c->median / gm);
		if (mc > 0)
			snprintf(m, sizeof(m), "%.0f%%", 100.0 * c->median / mc);
		printf("  %-44s %9.0f %9.0f %9s %9s\n", c->name, c->median, c->mbs[RUNS - 1], g, m);
	}
	fflush(stdout);
	return bad;
}

/* ---- inputs ---- */

static unsigned char *xmalloc(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "bench_codec: out of memory\n");
		exit(1);
	}
	return p;
}

static void random_fill(unsigned char *p, size_t n, uint64_t x)
{
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 56);
	}
}

/* Typical mail text: words, punctuation, some UTF-8 (French/German). */
static const char *const words_mail[] = {
	"the", "meeting", "is", "moved", "to", "Thursday", "please", "find", "attached",
	"report", "r\xc3\xa9sum\xc3\xa9", "caf\xc3\xa9", "f\xc3\xbcr", "Gr\xc3\xbc\xc3\x9f\x65",
	"and", "of", "a", "budget", "=", "50%", "costs", "next", "week", "thanks,",
	"regards", "Bob.", "we", "should", "review", "numbers", "before", "Friday",
};

/* 8-bit text: Russian in UTF-8 (every letter two bytes to encode), with
 * some ASCII numbers and punctuation. */
static const char *const words_8bit[] = {
	"\xd0\xb2\xd1\x81\xd1\x82\xd1\x80\xd0\xb5\xd1\x87\xd0\xb0",       /* vstrecha */
	"\xd0\xbf\xd0\xb5\xd1\x80\xd0\xb5\xd0\xbd\xd0\xb5\xd1\x81\xd0\xb5\xd0\xbd\xd0\xb0",
	"\xd0\xbd\xd0\xb0", "\xd1\x87\xd0\xb5\xd1\x82\xd0\xb2\xd0\xb5\xd1\x80\xd0\xb3",
	"\xd0\xbe\xd1\x82\xd1\x87\xd1\x91\xd1\x82", "\xd0\xb8", "\xd0\xb1\xd1\x8e\xd0\xb4\xd0\xb6\xd0\xb5\xd1\x82",
	"2025", "10:30,", "\xd1\x81\xd0\xbf\xd0\xb0\xd1\x81\xd0\xb8\xd0\xb1\xd0\xbe.", "-",
};

/* Text from a word list with LF line ends at about 72 columns. */
static void text_fill(unsigned char *p, size_t n, uint64_t x, const char *const *words,
		      size_t nwords)
{
	size_t i = 0, col = 0;

	while (i < n) {
		const char *w;
		size_t l;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w = words[(x >> 32) % nwords];
		l = strlen(w);
		if (col + l + 1 > 72) {
			p[i++] = '\n';
			col = 0;
			continue;
		}
		if (col > 0 && i < n) {
			p[i++] = ' ';
			col++;
		}
		for (size_t k = 0; k < l && i < n; k++)
			p[i++] = (unsigned char)w[k];
		col += l;
	}
}

static int bench_base64(size_t raw_len, int reps, const char *label)
{
	unsigned char *raw = xmalloc(raw_len), *b64, *out;
	size_t blen;
	char title[160];
	table t;
	mimeo_b64_encoder e;
	int bad;

	random_fill(raw, raw_len, 0x9E3779B97F4A7C15ull);
	b64 = xmalloc(MIMEO_B64_ENCODE_BOUND(raw_len) + MIMEO_B64_ENCODE_FINISH_MAX);
	mimeo_b64_encoder_init(&e, 0, MIMEO_ISA_SCALAR);
	blen = mimeo_b64_encode_step(&e, raw, raw_len, b64);
	blen += mimeo_b64_encode_finish(&e, b64 + blen);
	out = xmalloc(MIMEO_B64_ENCODE_BOUND(raw_len) + 64);

	memset(&t, 0, sizeof(t));
	snprintf(title, sizeof(title),
		 "base64 decode, 76-column LF lines, %s: %zu B of base64 (%zu decoded), MB/s of base64",
		 label, blen, raw_len);
	t.title = title;
	t.in = b64;
	t.len = blen;
	t.want = raw;
	t.wantlen = raw_len;
	t.out = out;
	t.reps = reps;
	add(&t, "memcpy", LIB_MEMCPY, B64_DEC, 0, 0, 0);
#if MIMEO_HAVE_GMIME
	add(&t, "GMime base64_decode_step, 1 call", LIB_GMIME, B64_DEC, 0, 0, 1);
	add(&t, "GMime base64_decode_step, 4 KiB calls", LIB_GMIME, B64_DEC, 0, 4096, 1);
#endif
	add_isas(&t, "b64 decode", B64_DEC, 0);
	add_isas(&t, "b64 decode 4 KiB", B64_DEC, 4096);
	bad = run_table(&t);

	/* Encode: the same raw bytes, output must equal the scalar encoding. */
	memset(&t, 0, sizeof(t));
	snprintf(title, sizeof(title), "base64 encode, %s: %zu B raw, MB/s of raw input", label,
		 raw_len);
	t.title = title;
	t.in = raw;
	t.len = raw_len;
	t.want = b64;
	t.wantlen = blen;
	t.out = out;
	t.reps = reps;
	add(&t, "memcpy", LIB_MEMCPY, B64_DEC, 0, 0, 0);
#if MIMEO_HAVE_GMIME
	add(&t, "GMime base64_encode_close", LIB_GMIME, B64_ENC, 0, 0, 1);
#endif
	add_isas(&t, "b64 encode", B64_ENC, 0);
	bad |= run_table(&t);
	free(raw);
	free(b64);
	free(out);
	return bad;
}

/* `eight`: 8-bit (Russian) text instead of mostly-ASCII mail text. */
static int bench_qp(size_t text_len, int reps, const char *label, int eight)
{
	unsigned char *text = xmalloc(text_len), *qp, *out;
	size_t qlen;
	char title[160];
	table t;
	mimeo_qp_encoder e;
	int bad;
	const char *kind = eight ? "8-bit text" : "mail text";

	if (eight)
		text_fill(text, text_len, 12345, words_8bit, sizeof(words_8bit) / sizeof(words_8bit[0]));
	else
		text_fill(text, text_len, 12345, words_mail, sizeof(words_mail) / sizeof(words_mail[0]));
	qp = xmalloc(MIMEO_QP_ENCODE_BOUND(text_len) + MIMEO_QP_ENCODE_FINISH_MAX);
	mimeo_qp_encoder_init(&e, 0, MIMEO_ISA_AUTO);
	qlen = mimeo_qp_encode_step(&e, text, text_len, qp);
	qlen += mimeo_qp_encode_finish(&e, qp + qlen);
	out = xmalloc(MIMEO_QP_ENCODE_BOUND(text_len) + 64);

	memset(&t, 0, sizeof(t));
	snprintf(title, sizeof(title),
		 "quoted-printable decode, %s, %s: %zu B of QP (%zu decoded), MB/s of QP",
		 kind, label, qlen, text_len);
	t.title = title;
	t.in = qp;
	t.len = qlen;
	t.want = text;
	t.wantlen = text_len;
	t.out = out;
	t.reps = reps;
	add(&t, "memcpy", LIB_MEMCPY, B64_DEC, 0, 0, 0);
#if MIMEO_HAVE_GMIME
	add(&t, "GMime quoted_decode_step", LIB_GMIME, QP_DEC, 0, 0, 1);
#endif
	add_isas(&t, "qp decode", QP_DEC, 0);
	bad = run_table(&t);

	memset(&t, 0, sizeof(t));
	snprintf(title, sizeof(title), "quoted-printable encode, %s, %s: %zu B, MB/s of text",
		 kind, label, text_len);
	t.title = title;
	t.in = text;
	t.len = text_len;
	t.want = qp;
	t.wantlen = qlen;
	t.out = out;
	t.reps = reps;
	add(&t, "memcpy", LIB_MEMCPY, B64_DEC, 0, 0, 0);
#if MIMEO_HAVE_GMIME
	/* GMime's output differs in details (line breaking): not compared. */
	add(&t, "GMime quoted_encode_close", LIB_GMIME, QP_ENC, 0, 0, 0);
#endif
	add_isas(&t, "qp encode", QP_ENC, 0);
	bad |= run_table(&t);
	free(text);
	free(qp);
	free(out);
	return bad;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 48;
	int bad = 0;

#if MIMEO_HAVE_GMIME
	g_mime_init();
#endif
	printf("mimeo codec benchmark; best path here: %s; median of %d runs, thread CPU time\n",
	       mimeo_isa_name(mimeo_isa_best()), RUNS);
	bad |= bench_base64(mib << 20, 1, "out of cache");
	bad |= bench_base64(48 << 10, 400, "in cache");
	bad |= bench_qp(16 << 20, 1, "out of cache", 0);
	bad |= bench_qp(64 << 10, 200, "in cache", 0);
	bad |= bench_qp(16 << 20, 1, "out of cache", 1);
	bad |= bench_qp(64 << 10, 200, "in cache", 1);
	return bad;
}
