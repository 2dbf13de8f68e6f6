/*
 * bench_adversarial.c - inputs that are quadratic for naive mail parsers,
 * each measured at size N and 2N (issue 6).  Doubling the input must at
 * most about double the time: the table prints the ratio t(2N)/t(N) and
 * flags anything above 2.5.  A plain pass over the same bytes (sum of all
 * bytes) is measured the same way as the baseline: its ratio shows how
 * noisy the machine is in this run.
 *
 *   meson test -C build --benchmark --suite adversarial -v
 *
 * Times are CPU time of this process (less disturbed by other load than
 * wall time), the median of 7 rounds, N and 2N interleaved; "spread" is
 * the slowest round at 2N over the fastest, the noise of that row.  On a
 * loaded 2-core machine one ratio now and then lands above 2.5 with a
 * large spread: the repeated boundary line, checked with callgrind, costs
 * 2.01x the instructions at 2N (per-part work is constant; the section
 * numbers gain a digit now and then), so such a ratio is cache and load
 * noise, not super-linear work; the median keeps one slow round from
 * deciding the row.  Two rows are information
 * only, not checked: the byte-sum baseline, and deep nesting with the depth
 * limit lifted, where the output itself is quadratic: the IMAP section
 * numbers of N nested parts ("1", "1.1", "1.1.1", ...) total O(N^2) bytes.
 * With the default limit (64) nesting costs linear time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mimeo.h"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_adversarial: %s\n", what);
	exit(1);
}

static void put(mimeo_buf *b, const char *s)
{
	if (mimeo_buf_puts(b, s) != MIMEO_OK)
		die("out of memory");
}

/* ------------------------------------------------------------------ */
/* Input generators: n is the scale                                    */
/* ------------------------------------------------------------------ */

typedef void (*gen_fn)(mimeo_buf *b, size_t n);
typedef void (*work_fn)(const mimeo_buf *b, size_t n);

static void gen_boundaries(mimeo_buf *b, size_t n)
{
	size_t i;

	put(b, "Content-Type: multipart/mixed; boundary=\"=_b\"\n\n");
	for (i = 0; i < n; i++)
		put(b, "--=_b\n\nx\n");
	put(b, "--=_b--\n");
}

/* One delimiter line, n times: n empty parts (each part's header block is
 * ended at once by the next delimiter). */
static void gen_repeat(mimeo_buf *b, size_t n)
{
	size_t i;

	put(b, "Content-Type: multipart/mixed; boundary=bnd\n\n");
	for (i = 0; i < n; i++)
		put(b, "--bnd\n");
}

static void gen_nesting(mimeo_buf *b, size_t n)
{
	char tmp[96];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n", i, i);
		put(b, tmp);
	}
	put(b, "\nleaf\n");
	for (i = n; i-- > 0;) {
		snprintf(tmp, sizeof(tmp), "--b%zu--\n", i);
		put(b, tmp);
	}
}

static void gen_long_header(mimeo_buf *b, size_t n)
{
	size_t i;

	/* one field of n folded lines, then one unfolded line of 16n bytes */
	put(b, "Subject: start");
	for (i = 0; i < n; i++)
		put(b, "\n folded word");
	put(b, "\nX-Long: ");
	for (i = 0; i < n; i++)
		put(b, "abcdefghijklmnop");
	put(b, "\n\nbody\n");
}

static void gen_words(mimeo_buf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(b, i & 1 ? "=?utf-8?q?caf=C3=A9?= " : "=?iso-8859-1?b?Y2Fm6Q==?= ");
}

static void gen_params(mimeo_buf *b, size_t n)
{
	char tmp[64];
	size_t i;

	put(b, "text/plain");
	for (i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "; p%zu=\"v%zu\"", i, i);
		put(b, tmp);
	}
}

static void gen_continuations(mimeo_buf *b, size_t n)
{
	char tmp[64];
	size_t i;

	/* RFC 2231 sections in reverse order: a naive join is quadratic */
	put(b, "attachment");
	for (i = n; i-- > 0;) {
		snprintf(tmp, sizeof(tmp), ";\n filename*%zu*=%%C3%%A9x", i);
		put(b, tmp);
	}
}

static void gen_addresses(mimeo_buf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(b, i ? ", \"=?utf-8?q?J=C3=B6rg?= (c)\" <joerg@example.com>" : "a@b");
}

/* ------------------------------------------------------------------ */
/* Workloads                                                           */
/* ------------------------------------------------------------------ */

static unsigned long sink;

static int count_part(const mimeo_part_info *p, void *u)
{
	(*(unsigned long *)u)++;
	return 0;
}

static void parse_with_depth(const mimeo_buf *b, unsigned depth)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser_callbacks cb;
	mimeo_parser *p;
	unsigned long parts = 0;

	memset(&cb, 0, sizeof(cb));
	cb.version = MIMEO_PARSER_CALLBACKS_VERSION;
	cb.part_begin = count_part;
	o.max_depth = depth;
	o.max_parts = (size_t)-1 / 2;
	o.max_header_bytes = (size_t)1 << 30;
	o.max_line = (size_t)1 << 30;
	if (mimeo_parser_new(&p, &o, &cb, &parts) != MIMEO_OK ||
	    mimeo_parser_feed(p, b->ptr, b->size) != MIMEO_OK ||
	    mimeo_parser_finish(p) != MIMEO_OK)
		die("parser failed");
	mimeo_parser_free(p);
	sink += parts;
}

static void work_parse(const mimeo_buf *b, size_t n)
{
	parse_with_depth(b, 64);
}

static void work_parse_deep(const mimeo_buf *b, size_t n)
{
	/* the depth limit raised above the nesting: every level is parsed */
	parse_with_depth(b, (unsigned)n + 2);
}

static void work_tree(const mimeo_buf *b, size_t n)
{
	mimeo_message *m;

	if (mimeo_message_parse_buffer(&m, b->ptr, b->size, NULL) != MIMEO_OK)
		die("tree failed");
	sink += mimeo_message_part_count(m);
	mimeo_message_free(m);
}

static mimeo_charset_cache *cache;

static void work_decode_text(const mimeo_buf *b, size_t n)
{
	mimeo_buf out = MIMEO_BUF_INIT;

	if (mimeo_header_decode_text(cache, NULL, b->ptr, b->size, &out, NULL) != MIMEO_OK)
		die("decode failed");
	sink += out.size;
	mimeo_buf_dispose(&out);
}

static void work_field(const mimeo_buf *b, size_t n)
{
	mimeo_mime_field *f;

	if (mimeo_mime_field_parse(&f, cache, NULL, b->ptr, b->size) != MIMEO_OK)
		die("field parse failed");
	sink += f->nparams;
	mimeo_mime_field_free(f);
}

static void work_addresses(const mimeo_buf *b, size_t n)
{
	mimeo_address_list *l;

	if (mimeo_address_list_parse(&l, cache, NULL, b->ptr, b->size) != MIMEO_OK)
		die("address parse failed");
	sink += l->count;
	mimeo_address_list_free(l);
}

static void work_sum(const mimeo_buf *b, size_t n)
{
	size_t i;
	unsigned long s = 0;

	for (i = 0; i < b->size; i++)
		s += (unsigned char)b->ptr[i];
	sink += s;
}

/* ------------------------------------------------------------------ */

/* CPU time of one run of `work` on `b`: repeat until 0.1 s passed and
 * return the per-run average. */
static double measure_once(work_fn work, const mimeo_buf *b, size_t n)
{
	double t0 = cpu_now(), t;
	unsigned long reps = 0;

	do {
		work(b, n);
		reps++;
		t = cpu_now() - t0;
	} while (t < 0.1);
	return t / (double)reps;
}

#define ROUNDS 7

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Median of ROUNDS rounds, N and 2N interleaved so that allocator and
 * cache state (and other load on the machine) affect both alike;
 * *spread = slowest / fastest round at 2N. */
static void measure(work_fn work, const mimeo_buf *a, const mimeo_buf *b, size_t n,
		    double *ta, double *tb, double *spread)
{
	double ra[ROUNDS], rb[ROUNDS];
	int round;

	for (round = 0; round < ROUNDS; round++) {
		ra[round] = measure_once(work, a, n);
		rb[round] = measure_once(work, b, 2 * n);
	}
	qsort(ra, ROUNDS, sizeof(double), cmp_double);
	qsort(rb, ROUNDS, sizeof(double), cmp_double);
	*ta = ra[ROUNDS / 2];
	*tb = rb[ROUNDS / 2];
	*spread = rb[ROUNDS - 1] / rb[0];
}

static int row(const char *name, gen_fn gen, work_fn work, size_t n, int checked)
{
	mimeo_buf a = MIMEO_BUF_INIT, b = MIMEO_BUF_INIT;
	double t1, t2, ratio, spread;
	int over;

	gen(&a, n);
	gen(&b, 2 * n);
	measure(work, &a, &b, n, &t1, &t2, &spread);
	ratio = t2 / t1;
	over = checked && ratio > 2.5;
	printf("%-34s %8zu %9.2f %9.2f %9.3f %9.3f %6.2f %6.2f %s\n", name, n,
	       a.size / 1048576.0, b.size / 1048576.0, t1 * 1e3, t2 * 1e3, ratio, spread,
	       !checked ? "(info)" : over ? "OVER 2.5x" : "ok");
	fflush(stdout);
	mimeo_buf_dispose(&a);
	mimeo_buf_dispose(&b);
	return over;
}

int main(int argc, char **argv)
{
	/* optional scale factor for slow (sanitizer) builds: argv[1] in % */
	size_t pct = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100;
	int over = 0;

#define N(x) ((x) * pct / 100 ? (x) * pct / 100 : 1)
	if (mimeo_charset_cache_new(&cache, NULL) != MIMEO_OK)
		die("out of memory");
	printf("adversarial scaling: CPU time at N and 2N (median of %d), ratio t(2N)/t(N), "
	       "target <= 2.5\n", ROUNDS);
	printf("%-34s %8s %9s %9s %9s %9s %6s %6s\n", "case", "N", "MB(N)", "MB(2N)",
	       "ms(N)", "ms(2N)", "ratio", "spread");
	over |= row("baseline: sum of bytes (boundaries)", gen_boundaries, work_sum, N(100000), 0);
	over |= row("parser: many boundaries", gen_boundaries, work_parse, N(100000), 1);
	over |= row("tree: many boundaries", gen_boundaries, work_tree, N(50000), 1);
	over |= row("parser: one boundary line repeated", gen_repeat, work_parse, N(1000000), 1);
	over |= row("parser: deep nesting (limit 64)", gen_nesting, work_parse, N(40000), 1);
	over |= row("parser: deep nesting (no limit)", gen_nesting, work_parse_deep, N(2000), 0);
	over |= row("tree: deep nesting (limit 64)", gen_nesting, work_tree, N(80000), 1);
	over |= row("parser: long/folded header lines", gen_long_header, work_parse, N(100000), 1);
	over |= row("tree: long/folded header lines", gen_long_header, work_tree, N(50000), 1);
	over |= row("header: many encoded words", gen_words, work_decode_text, N(20000), 1);
	over |= row("param: many parameters", gen_params, work_field, N(20000), 1);
	over |= row("param: many RFC 2231 sections", gen_continuations, work_field, N(20000), 1);
	over |= row("address: many addresses", gen_addresses, work_addresses, N(10000), 1);
	mimeo_charset_cache_free(cache);
	printf("%s (checksum %lu)\n", over ? "some ratios are above 2.5x" : "all ratios within 2.5x",
	       sink);
	return 0;
}
