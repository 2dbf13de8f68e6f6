/*
 * bench_parser.c - push parser throughput, linear-time checks on hostile
 * input, and constant memory on a 2 GB attachment.
 *
 *   meson test -C build --benchmark --suite parser -v
 *
 * Corpora: the shared generator's heavy and light mailboxes (50 MB here;
 * MIMEO_BENCH_HEAVY / MIMEO_BENCH_LIGHT point at other files, e.g. the
 * 200 MB reference ones).  They are generated into the build directory
 * when absent.  Baselines measured in the same run: a read-and-sum pass
 * over the same bytes and, when built with GMime, GMime's own parser
 * (g_mime_parser_construct_message over the mbox, no decoding).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mimeo/parser.h"

#ifdef HAVE_GMIME
#include <gmime/gmime.h>
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct counts {
	uint64_t messages, leaves, bytes;
} counts;

static int c_msg(const mimeo_part_info *m, uint64_t off, void *u)
{
	(void)m;
	(void)off;
	((counts *)u)->messages++;
	return 0;
}

static int c_hend(const mimeo_part_info *pi, void *u)
{
	if (pi->flags & MIMEO_PART_LEAF)
		((counts *)u)->leaves++;
	return 0;
}

static int c_body(const mimeo_part_info *pi, const char *d, size_t n, void *u)
{
	(void)pi;
	(void)d;
	((counts *)u)->bytes += n;
	return 0;
}

static const mimeo_parser_callbacks count_cb = {
	MIMEO_PARSER_CALLBACKS_VERSION, c_msg, NULL, NULL, c_hend, c_body, NULL, NULL, NULL, NULL,
	NULL
};

/* Parse buf in `chunk`-byte pieces (0 = whole); returns seconds. */
static double parse(const char *buf, size_t len, unsigned flags, size_t chunk,
		    const mimeo_parser_options *base, counts *c)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *p;
	size_t i;
	double t0;

	if (base)
		o = *base;
	o.flags |= flags;
	memset(c, 0, sizeof(*c));
	if (mimeo_parser_new(&p, &o, &count_cb, c)) {
		fprintf(stderr, "bench_parser: out of memory\n");
		exit(1);
	}
	if (!chunk)
		chunk = len ? len : 1;
	t0 = now();
	for (i = 0; i < len; i += chunk)
		if (mimeo_parser_feed(p, buf + i, len - i < chunk ? len - i : chunk)) {
			fprintf(stderr, "bench_parser: feed failed\n");
			exit(1);
		}
	if (mimeo_parser_finish(p)) {
		fprintf(stderr, "bench_parser: finish failed\n");
		exit(1);
	}
	t0 = now() - t0;
	mimeo_parser_free(p);
	return t0;
}

static double best_parse(const char *buf, size_t len, unsigned flags, size_t chunk, int reps,
			 const mimeo_parser_options *o, counts *c)
{
	double best = 1e30;
	int r;

	for (r = 0; r < reps; r++) {
		double t = parse(buf, len, flags, chunk, o, c);

		if (t < best)
			best = t;
	}
	return best;
}

static double sum_pass(const char *buf, size_t len, uint64_t *sink)
{
	const uint64_t *w = (const uint64_t *)(const void *)buf;
	size_t i, n = len / 8;
	uint64_t s = 0;
	double t0 = now();

	for (i = 0; i < n; i++)
		s += w[i];
	*sink += s;
	return now() - t0;
}

#ifdef HAVE_GMIME
static double gmime_parse(const char *buf, size_t len, uint64_t *msgs)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(buf, len);
	GMimeParser *ps = g_mime_parser_new_with_stream(st);
	double t0 = now();

	g_mime_parser_set_format(ps, GMIME_FORMAT_MBOX);
	*msgs = 0;
	while (!g_mime_parser_eos(ps)) {
		GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);

		if (!m)
			break;
		(*msgs)++;
		g_object_unref(m);
	}
	t0 = now() - t0;
	g_object_unref(ps);
	g_object_unref(st);
	return t0;
}
#endif

static char *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	char *b;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &sb) || !(b = malloc((size_t)sb.st_size + 1))) {
		fclose(f);
		return NULL;
	}
	*len = fread(b, 1, (size_t)sb.st_size, f);
	fclose(f);
	return b;
}

static char *corpus(const char *env, const char *name, const char *extra)
{
	const char *p = getenv(env), *bd = getenv("MIMEO_BUILD_DIR"),
		   *sd = getenv("MIMEO_SOURCE_DIR");
	char path[4096], cmd[9000];
	struct stat sb;

	if (p)
		return strdup(p);
	snprintf(path, sizeof(path), "%s/%s", bd ? bd : ".", name);
	if (stat(path, &sb) == 0)
		return strdup(path);
	snprintf(cmd, sizeof(cmd),
		 "python3 %s/../shared/bench/gen_corpus.py --size-mb 50 --seed 1 %s -o %s",
		 sd ? sd : ".", extra, path);
	fprintf(stderr, "generating %s\n", path);
	if (system(cmd) != 0 || stat(path, &sb) != 0)
		return NULL;
	return strdup(path);
}

static void throughput(const char *label, const char *path)
{
	size_t len = 0;
	char *buf = load(path, &len);
	counts c;
	uint64_t sink = 0;
	double t, mb;

	if (!buf) {
		printf("%-6s corpus %s not available: skipped\n", label, path);
		return;
	}
	mb = (double)len / 1e6;
	printf("\n%s corpus: %s (%.0f MB)\n", label, path, mb);
	printf("| %-44s | %9s | %s\n", "workload", "MB/s", "counts");
	t = 1e30;
	for (int r = 0; r < 3; r++) {
		double x = sum_pass(buf, len, &sink);

		if (x < t)
			t = x;
	}
	printf("| %-44s | %9.0f |\n", "baseline: read-and-sum every byte", mb / t);
	t = best_parse(buf, len, MIMEO_PARSE_MBOX | MIMEO_PARSE_NO_DECODE, 0, 5, NULL, &c);
	printf("| %-44s | %9.0f | messages %llu leaves %llu raw bytes %llu\n",
	       "mimeo structure only (NO_DECODE), whole", mb / t,
	       (unsigned long long)c.messages, (unsigned long long)c.leaves,
	       (unsigned long long)c.bytes);
	t = best_parse(buf, len, MIMEO_PARSE_MBOX | MIMEO_PARSE_NO_DECODE, 65536, 5, NULL, &c);
	printf("| %-44s | %9.0f |\n", "mimeo structure only, 64 KiB chunks", mb / t);
	t = best_parse(buf, len, MIMEO_PARSE_MBOX, 65536, 3, NULL, &c);
	printf("| %-44s | %9.0f | messages %llu leaves %llu decoded bytes %llu\n",
	       "mimeo + transfer decoding, 64 KiB chunks", mb / t,
	       (unsigned long long)c.messages, (unsigned long long)c.leaves,
	       (unsigned long long)c.bytes);
	{
		mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;

		o.isa = MIMEO_ISA_SCALAR;
		t = best_parse(buf, len, MIMEO_PARSE_MBOX | MIMEO_PARSE_NO_DECODE, 65536, 3, &o, &c);
		printf("| %-44s | %9.0f |\n", "mimeo structure only, scalar (memchr) scan", mb / t);
	}
#ifdef HAVE_GMIME
	{
		uint64_t msgs = 0;

		t = 1e30;
		for (int r = 0; r < 2; r++) {
			double x = gmime_parse(buf, len, &msgs);

			if (x < t)
				t = x;
		}
		printf("| %-44s | %9.0f | messages %llu\n", "baseline: GMime parser (no decoding)",
		       mb / t, (unsigned long long)msgs);
	}
#endif
	free(buf);
	if (sink == 42)
		printf(" ");
}

/* ------------------------------------------------------------------ */
/* hostile input: time(2n) / time(n) should stay near 2                */
/* ------------------------------------------------------------------ */

/*
 * One hostile input: `head`, then n times `line` ("%zu" in it is the
 * line number, for distinct boundaries; "."
 * stands for one letter, so n of them make one line n bytes long), then
 * `tail`.
 */
typedef struct hostile_case {
	const char *label;
	const char *head, *line, *tail;
	size_t n;
	int many;   /* limits lifted (max_parts, max_depth) */
} hostile_case;

/* `line` with each "%zu" replaced by i */
static void put_line(FILE *f, const char *line, size_t i)
{
	const char *q;

	while ((q = strstr(line, "%zu")) != NULL) {
		fwrite(line, 1, (size_t)(q - line), f);
		fprintf(f, "%zu", i);
		line = q + 3;
	}
	fputs(line, f);
}

static void gen_hostile(FILE *f, const hostile_case *c, size_t n)
{
	size_t i;

	fputs(c->head, f);
	for (i = 0; i < n; i++) {
		if (!strcmp(c->line, "."))
			fputc('a' + (int)(i % 26), f);
		else
			put_line(f, c->line, i);
	}
	fputs(c->tail, f);
}

static char *make(const hostile_case *c, size_t n, size_t *len)
{
	char *b = NULL;
	FILE *f = open_memstream(&b, len);

	gen_hostile(f, c, n);
	fclose(f);
	return b;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of one parse (64 KiB chunks), or of a byte-sum pass over
 * the same bytes when o is NULL (the baseline). */
static double hostile_run(const char *buf, size_t len, const mimeo_parser_options *o)
{
	uint64_t sink = 0;
	double t0 = cpu_now();
	counts c;

	if (o)
		parse(buf, len, 0, 65536, o, &c);
	else
		sum_pass(buf, len, &sink);
	t0 = cpu_now() - t0;
	if (sink == 1)
		printf(" ");
	return t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define HOSTILE_REPS 7

/*
 * Median CPU time of HOSTILE_REPS runs at n and 2n, interleaved so that
 * other load on the machine and cache state hit both sizes alike, and the
 * ratio of the medians; "spread" is the ratio of the slowest run to the
 * fastest at 2n, a measure of the noise of this row.  The CPU work itself
 * is linear: callgrind counts 2.01x the instructions for 2x the repeated
 * boundary lines, so a ratio far from 2 with a large spread is noise.
 */
static void linear(const hostile_case *hc, const mimeo_parser_options *o)
{
	size_t l1, l2;
	char *a = make(hc, hc->n, &l1), *b = make(hc, 2 * hc->n, &l2);
	double t1[HOSTILE_REPS], t2[HOSTILE_REPS];
	int r;

	for (r = 0; r < HOSTILE_REPS; r++) {
		t1[r] = hostile_run(a, l1, o);
		t2[r] = hostile_run(b, l2, o);
	}
	qsort(t1, HOSTILE_REPS, sizeof(double), cmp_double);
	qsort(t2, HOSTILE_REPS, sizeof(double), cmp_double);
	printf("| %-36s | %10zu | %8.1f | %8.1f | %5.2f | %6.2f |\n", hc->label, hc->n,
	       t1[HOSTILE_REPS / 2] * 1e3, t2[HOSTILE_REPS / 2] * 1e3,
	       t2[HOSTILE_REPS / 2] / t1[HOSTILE_REPS / 2], t2[HOSTILE_REPS - 1] / t2[0]);
	free(a);
	free(b);
}

static void hostile(void)
{
	static const char nest[] = "Content-Type: multipart/mixed; boundary=\"b%zu\"\n\n--b%zu\n";
	static const char mixed[] = "Content-Type: multipart/mixed; boundary=b\n\n";
	static const char mixed_bnd[] = "Content-Type: multipart/mixed; boundary=bnd\n\n";
	static const hostile_case cases[] = {
		{ "baseline: byte sum (repeated bnd)", mixed_bnd, "--bnd\n", "", 1000000, -1 },
		{ "nested multiparts, default limits", "", nest, "\nleaf\n", 200000, 0 },
		/* with max_depth raised, each part's section string
		 * ("1.1.1...") is O(depth) long: the output itself grows
		 * quadratically */
		{ "nested multiparts, max_depth 200000", "", nest, "\nleaf\n", 5000, 1 },
		{ "tiny parts (max_parts unlimited)", mixed, "--b\n\nx\n", "--b--\n", 1000000, 1 },
		{ "tiny parts (default max_parts)", mixed, "--b\n\nx\n", "--b--\n", 1000000, 0 },
		{ "header line of n bytes", "Subject: ", ".", "\n\nbody\n", 10000000, 0 },
		{ "boundary line repeated n times", mixed_bnd, "--bnd\n", "", 1000000, 1 },
		{ "near-miss boundary lines", "Content-Type: multipart/mixed; boundary=bnd\n\n--bnd\n\n",
		  "--bn\n", "--bnd--\n", 1000000, 0 },
		{ "n header fields", "", "X-A: b\n", "\nbody\n", 1000000, 0 },
	};
	mimeo_parser_options many = MIMEO_PARSER_OPTIONS_INIT, dflt = MIMEO_PARSER_OPTIONS_INIT;
	size_t i;

	many.max_parts = SIZE_MAX;
	many.max_depth = 200000;
	printf("\nhostile input (64 KiB chunks): doubling the input should double the time\n"
	       "(CPU time, median of %d runs, n and 2n interleaved; spread = slowest/fastest "
	       "run at 2n)\n", HOSTILE_REPS);
	printf("| %-36s | %10s | %8s | %8s | %5s | %6s |\n", "input", "n", "ms(n)", "ms(2n)",
	       "ratio", "spread");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		linear(&cases[i], cases[i].many < 0 ? NULL : cases[i].many ? &many : &dflt);
}

/* ------------------------------------------------------------------ */
/* 2 GB attachment in constant memory (in a child: clean max RSS)       */
/* ------------------------------------------------------------------ */

static void big_attachment(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static const char head[] =
			"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
			"Content-Type: application/octet-stream\n"
			"Content-Transfer-Encoding: base64\n\n";
		const uint64_t total = 2000ull * 1000 * 1000;
		size_t chunk = 1 << 20, i;
		char *line = malloc(chunk);
		mimeo_parser *p;
		counts c;
		uint64_t done = 0;
		struct rusage ru;
		double t0;

		memset(&c, 0, sizeof(c));
		for (i = 0; i + 77 <= chunk; i += 77) {
			memset(line + i, 'Q', 76);
			line[i + 76] = '\n';
		}
		chunk = i;
		if (mimeo_parser_new(&p, NULL, &count_cb, &c))
			_exit(1);
		t0 = now();
		mimeo_parser_feed(p, head, sizeof(head) - 1);
		while (done < total) {
			mimeo_parser_feed(p, line, chunk);
			done += chunk;
		}
		mimeo_parser_feed(p, "--zz--\n", 7);
		mimeo_parser_finish(p);
		t0 = now() - t0;
		getrusage(RUSAGE_SELF, &ru);
		printf("\n2 GB base64 attachment, 1 MiB chunks, decoded: %.1f GB in %.2f s "
		       "(%.0f MB/s), peak RSS %.1f MiB (limit 16 MiB)\n",
		       (double)c.bytes / 1e9, t0, (double)done / 1e6 / t0,
		       (double)ru.ru_maxrss / 1024.0);
		mimeo_parser_free(p);
		free(line);
		fflush(stdout);
		_exit(ru.ru_maxrss > 16 * 1024 ? 2 : 0);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		printf("2 GB attachment: FAILED (status %d)\n", st);
}

int main(void)
{
	char *heavy, *light;

#ifdef HAVE_GMIME
	g_mime_init();
#endif
	printf("mimeo push parser benchmark (ISA %s)\n", mimeo_isa_name(mimeo_isa_best()));
	big_attachment();
	heavy = corpus("MIMEO_BENCH_HEAVY", "bench-heavy-50.mbox", "");
	light = corpus("MIMEO_BENCH_LIGHT", "bench-light-50.mbox", "--max-attach-kb 256");
	if (heavy)
		throughput("heavy", heavy);
	if (light)
		throughput("light", light);
	free(heavy);
	free(light);
	hostile();
	return 0;
}
