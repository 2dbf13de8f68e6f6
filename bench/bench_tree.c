/*
 * bench_tree.c - the flat-memory message tree (issue 13), with GMime's
 * figures beside mimeo's where GMime is installed.
 *
 *  1. Peak RSS of `mimeo tree`, `tree --json`, `headers FILE 2`,
 *     `cat FILE 2`, `cat --text FILE 1` and `extract` on a message with a
 *     512 MiB base64 attachment, from the file and from a pipe (target:
 *     under 24 MiB), with the decoded bytes checked (CRC-32 and size).
 *  2. `cat` of a 256 MiB base64 attachment (76-column lines, page cache
 *     warm): mimeo's library and CLI against GMime's equivalent (parse a
 *     seekable stream, find the part, write its decoded content), time and
 *     peak RSS (target: >= 5x GMime's speed at no more than its RSS).
 *  3. Parsing a 100 MB mbox message by message into trees (light corpus of
 *     ../shared/bench/gen_corpus.py), MB/s, and GMime's
 *     g_mime_parser_construct_message on the same messages.
 *  4. The tree of a 10,000-part message: bytes the tree keeps (target:
 *     under 2 MiB), and the peak RSS of a process that parses it (mimeo,
 *     GMime).
 *
 * Big inputs are generated into $TMPDIR (or /tmp) at run time and deleted
 * at the end.  MIMEO_BENCH_BIG_MB and MIMEO_BENCH_CAT_MB change the sizes.
 * Timing runs are interleaved and the median of 3 is shown; the machine
 * is shared, so read the ratios, which compare runs made side by side.
 *
 * Run: meson test -C build --benchmark --suite tree -v
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mimeo.h"

#ifdef HAVE_GMIME
#include <gmime/gmime.h>
#endif

size_t mimeo__message_tree_bytes(const mimeo_message *m);

static const char *tmpdir;
static char self_exe[4096];  /* this program, to run it as GMime's cat tool */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_tree: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* ------------------------------------------------------------------ */
/* The big message                                                     */
/* ------------------------------------------------------------------ */

static const char big_head[] =
	"From: Sender <a@example.org>\r\nTo: b@example.org\r\nSubject: a big attachment\r\n"
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big-boundary\"\r\n\r\n"
	"--big-boundary\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: 8bit\r\n\r\nSee the attachment, Zo\xeb.\r\n"
	"--big-boundary\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n";
static const char big_tail[] = "\r\n--big-boundary--\r\n";
/* what `cat --text FILE 1` must print: the text part in UTF-8 */
static const char big_text[] = "See the attachment, Zo\xc3\xab.";

/* Write a message whose part 2 is `bytes` pseudo-random bytes in base64,
 * 76-column CRLF lines; returns the CRC-32 of those bytes. */
static uLong make_big(const char *path, uint64_t bytes)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t blk = 57 * 4096;
	unsigned char *raw = malloc(blk);
	char *enc = malloc(blk / 57 * 78 + 8);
	uint64_t left = bytes, x = 0x9e3779b97f4a7c15ull;
	uLong crc = crc32(0, NULL, 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || !raw || !enc)
		die("create the big message");
	write_all(fd, big_head, sizeof(big_head) - 1);
	while (left) {
		size_t n = left < blk ? (size_t)left : blk, i, o = 0;

		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			raw[i] = (unsigned char)x;
		}
		crc = crc32(crc, raw, (uInt)n);
		for (i = 0; i < n; i += 57) {
			size_t k = n - i < 57 ? n - i : 57, j;

			for (j = 0; j + 3 <= k; j += 3) {
				uint32_t v = (uint32_t)raw[i + j] << 16 | (uint32_t)raw[i + j + 1] << 8 |
					     raw[i + j + 2];

				enc[o++] = tab[v >> 18];
				enc[o++] = tab[(v >> 12) & 63];
				enc[o++] = tab[(v >> 6) & 63];
				enc[o++] = tab[v & 63];
			}
			if (k - j == 1) {
				uint32_t v = (uint32_t)raw[i + j] << 16;

				enc[o++] = tab[v >> 18];
				enc[o++] = tab[(v >> 12) & 63];
				enc[o++] = '=';
				enc[o++] = '=';
			} else if (k - j == 2) {
				uint32_t v = (uint32_t)raw[i + j] << 16 | (uint32_t)raw[i + j + 1] << 8;

				enc[o++] = tab[v >> 18];
				enc[o++] = tab[(v >> 12) & 63];
				enc[o++] = tab[(v >> 6) & 63];
				enc[o++] = '=';
			}
			enc[o++] = '\r';
			enc[o++] = '\n';
		}
		write_all(fd, enc, o);
		left -= n;
	}
	write_all(fd, big_tail, sizeof(big_tail) - 1);
	if (close(fd) < 0)
		die("close the big message");
	free(raw);
	free(enc);
	return crc;
}

/* Read the whole file once so the page cache is warm. */
static void warm(const char *path)
{
	char buf[1 << 16];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Running the CLI                                                     */
/* ------------------------------------------------------------------ */

typedef struct run_result {
	long maxrss_kib;
	double secs, cpu;  /* wall and CPU (user + system) seconds */
	uint64_t out_bytes;
	uLong out_crc;
	int status;
	char head[4096]; /* first bytes of the output */
} run_result;

static double cpu_secs(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* Where a child's standard output goes. */
enum { OUT_PIPE, OUT_NULL, OUT_PIPE_COUNT };

/* In a child: standard output to /dev/null (OUT_NULL) or to the write end
 * of `out`; both ends of `out` closed. */
static void child_stdout(int out_mode, int out[2])
{
	if (out_mode == OUT_NULL) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
	} else {
		dup2(out[1], 1);
	}
	close(out[0]);
	close(out[1]);
}

/* Run argv with stdin from `in_path` through a pipe (pipe != 0) or as the
 * file itself (pipe == 0, or NULL: /dev/null); count and checksum stdout
 * (OUT_PIPE), only count it (OUT_PIPE_COUNT: a timed run, where the
 * reader's CRC would be most of the time on two cores) or send it to
 * /dev/null (OUT_NULL). */
static void run_to(char *const argv[], const char *in_path, int use_pipe, int out_mode,
		   run_result *r)
{
	int out[2], feed[2] = { -1, -1 };
	pid_t pid, cat_pid = -1;
	struct rusage ru;
	char buf[1 << 16];
	double t0;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->out_crc = crc32(0, NULL, 0);
	if (pipe(out) < 0)
		die("pipe");
	if (use_pipe) {
		if (pipe(feed) < 0)
			die("pipe");
		cat_pid = fork();
		if (cat_pid == 0) {
			dup2(feed[1], 1);
			close(feed[0]);
			close(feed[1]);
			close(out[0]);
			close(out[1]);
			execl("/bin/cat", "cat", in_path, (char *)NULL);
			_exit(127);
		}
		close(feed[1]);
	}
	t0 = now();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int in = use_pipe ? feed[0] : open(in_path ? in_path : "/dev/null", O_RDONLY);

		dup2(in, 0);
		child_stdout(out_mode, out);
		execv(argv[0], argv);
		_exit(127);
	}
	if (use_pipe)
		close(feed[0]);
	close(out[1]);
	while ((n = read(out[0], buf, sizeof(buf))) > 0) {
		if (r->out_bytes < sizeof(r->head) - 1) {
			size_t k = sizeof(r->head) - 1 - (size_t)r->out_bytes;

			memcpy(r->head + r->out_bytes, buf, (size_t)n < k ? (size_t)n : k);
		}
		r->out_bytes += (uint64_t)n;
		if (out_mode == OUT_PIPE)
			r->out_crc = crc32(r->out_crc, (const Bytef *)buf, (uInt)n);
	}
	close(out[0]);
	if (wait4(pid, &r->status, 0, &ru) < 0)
		die("wait4");
	r->secs = now() - t0;
	r->cpu = cpu_secs(&ru);
	r->maxrss_kib = ru.ru_maxrss;
	if (cat_pid > 0)
		waitpid(cat_pid, NULL, 0);
}

static void run(char *const argv[], const char *in_path, int use_pipe, run_result *r)
{
	run_to(argv, in_path, use_pipe, OUT_PIPE, r);
}

static uLong file_crc(const char *path, uint64_t *size)
{
	char buf[1 << 16];
	uLong crc = crc32(0, NULL, 0);
	ssize_t n;
	int fd = open(path, O_RDONLY);

	*size = 0;
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		crc = crc32(crc, (const Bytef *)buf, (uInt)n);
		*size += (uint64_t)n;
	}
	close(fd);
	return crc;
}

static int rss_table(const char *cli, uint64_t mb)
{
	char path[4096], dir[4096], outdir[4200], sz[64], jsz[64];
	uint64_t bytes = mb << 20;
	uLong crc;
	int src, i, bad = 0;

	snprintf(path, sizeof(path), "%s/mimeo-bench-tree-%d-big.eml", tmpdir, (int)getpid());
	printf("\n== peak RSS on a message with a %" PRIu64 " MiB base64 attachment (target < 24 MiB)\n",
	       mb);
	fflush(stdout);
	crc = make_big(path, bytes);
	warm(path);
	snprintf(sz, sizeof(sz), "%" PRIu64 " bytes", bytes);
	snprintf(jsz, sizeof(jsz), "\"size\":%" PRIu64, bytes);
	printf("%-28s %-6s %10s %8s  %s\n", "command", "input", "peak RSS", "seconds", "output");
	for (src = 0; src < 2; src++) {
		const char *file = src ? "-" : path;
		struct {
			const char *name;
			char *argv[8];
		} cmds[] = {
			{ "tree", { (char *)cli, "tree", (char *)file, NULL } },
			{ "tree --json", { (char *)cli, "tree", "--json", (char *)file, NULL } },
			{ "headers FILE 2", { (char *)cli, "headers", (char *)file, "2", NULL } },
			{ "cat FILE 2", { (char *)cli, "cat", (char *)file, "2", NULL } },
			{ "cat --text FILE 1", { (char *)cli, "cat", "--text", (char *)file, "1", NULL } },
			{ "extract FILE -o DIR", { (char *)cli, "extract", (char *)file, "-o", outdir,
						   NULL } },
		};

		snprintf(dir, sizeof(dir), "%s/mimeo-bench-tree-%d-out", tmpdir, (int)getpid());
		snprintf(outdir, sizeof(outdir), "%s", dir);
		for (i = 0; i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++) {
			run_result r;
			const char *check = "ok";

			run(cmds[i].argv, path, src, &r);
			if (r.status != 0) {
				check = "FAILED (exit status)";
			} else if ((i == 0 && !strstr(r.head, sz)) || (i == 1 && !strstr(r.head, jsz))) {
				check = "WRONG size";
			} else if (i == 3 && (r.out_bytes != bytes || r.out_crc != crc)) {
				check = "WRONG bytes";
			} else if (i == 4 && (r.out_bytes != strlen(big_text) ||
					      memcmp(r.head, big_text, strlen(big_text)) != 0)) {
				check = "WRONG text";
			} else if (i == 5) {
				char f[4400];
				uint64_t fsize;

				snprintf(f, sizeof(f), "%s/big.bin", dir);
				if (file_crc(f, &fsize) != crc || fsize != bytes)
					check = "WRONG file";
				unlink(f);
				rmdir(dir);
			}
			if (strcmp(check, "ok") != 0 || r.maxrss_kib >= 24 * 1024)
				bad = 1;
			printf("%-28s %-6s %6.1f MiB %8.2f  %s\n", cmds[i].name, src ? "pipe" : "file",
			       (double)r.maxrss_kib / 1024, r.secs, check);
			fflush(stdout);
		}
	}
	unlink(path);
	return bad;
}

/* ------------------------------------------------------------------ */
/* cat: mimeo vs GMime                                                 */
/* ------------------------------------------------------------------ */

static int count_write(const void *data, size_t len, void *ctx)
{
	(void)data;
	*(uint64_t *)ctx += len;
	return MIMEO_OK;
}

/* In a child: parse `path`, find section 2, decode it into a counter. */
static uint64_t mimeo_cat(const char *path)
{
	mimeo_message *m = NULL;
	uint64_t n = 0;

	if (mimeo_message_parse_file(&m, path, NULL) != MIMEO_OK)
		return 0;
	if (mimeo_part_decode(mimeo_message_find_section(m, "2"), 0, NULL, count_write, &n,
			      NULL) != MIMEO_OK)
		n = 0;
	mimeo_message_free(m);
	return n;
}

#ifdef HAVE_GMIME
/* GMime's equivalent of `mimeo cat FILE 2`: parse the file through a
 * seekable stream, find the second part, write its decoded content into
 * `out` (a null stream, or standard output). */
static uint64_t gmime_cat_to(const char *path, int to_stdout)
{
	int fd = open(path, O_RDONLY);
	GMimeStream *fs, *null;
	GMimeParser *ps;
	GMimeMessage *msg;
	GMimeObject *top, *part;
	uint64_t n = 0;

	if (fd < 0)
		return 0;
	fs = g_mime_stream_fs_new(fd);
	ps = g_mime_parser_new_with_stream(fs);
	msg = g_mime_parser_construct_message(ps, NULL);
	top = msg ? g_mime_message_get_mime_part(msg) : NULL;
	if (top && GMIME_IS_MULTIPART(top)) {
		part = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
		if (part && GMIME_IS_PART(part)) {
			GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));

			/* a pipe stream: GMime's fs stream seeks, which a pipe refuses */
			null = to_stdout ? g_mime_stream_pipe_new(dup(1)) : g_mime_stream_null_new();
			if (w) {
				gint64 k = g_mime_data_wrapper_write_to_stream(w, null);

				if (k >= 0 && g_mime_stream_flush(null) == 0)
					n = to_stdout ? (uint64_t)k : GMIME_STREAM_NULL(null)->written;
			}
			g_object_unref(null);
		}
	}
	if (msg)
		g_object_unref(msg);
	g_object_unref(ps);
	g_object_unref(fs);
	return n;
}

static uint64_t gmime_cat(const char *path)
{
	return gmime_cat_to(path, 0);
}

#endif

typedef struct child_result {
	double secs, cpu;
	long maxrss_kib;
	uint64_t n;           /* what fn returned */
	uint64_t out_bytes;   /* OUT_PIPE: bytes it wrote to stdout */
	uLong out_crc;
} child_result;

/* Run fn(path) in a child, its stdout to /dev/null or (OUT_PIPE) into a
 * pipe read and checksummed here: its own time, CPU and peak RSS. */
static void in_child_to(uint64_t (*fn)(const char *), const char *path, int out_mode,
			child_result *r)
{
	int p[2], out[2];
	pid_t pid;
	struct rusage ru;
	int status;
	double t0;

	if (pipe(p) < 0 || pipe(out) < 0)
		die("pipe");
	fflush(stdout);
	t0 = now();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		child_result c;

		memset(&c, 0, sizeof(c));
		child_stdout(out_mode, out);
		c.n = fn(path);
		write_all(p[1], &c, sizeof(c));
		_exit(0);
	}
	close(p[1]);
	close(out[1]);
	memset(r, 0, sizeof(*r));
	r->out_crc = crc32(0, NULL, 0);
	{
		char buf[1 << 16];
		ssize_t n;

		while ((n = read(out[0], buf, sizeof(buf))) > 0) {
			r->out_bytes += (uint64_t)n;
			r->out_crc = crc32(r->out_crc, (const Bytef *)buf, (uInt)n);
		}
	}
	close(out[0]);
	{
		child_result c;

		if (read(p[0], &c, sizeof(c)) == (ssize_t)sizeof(c))
			r->n = c.n;
	}
	close(p[0]);
	wait4(pid, &status, 0, &ru);
	r->secs = now() - t0;
	r->cpu = cpu_secs(&ru);
	r->maxrss_kib = ru.ru_maxrss;
}

static void in_child(uint64_t (*fn)(const char *), const char *path, child_result *r)
{
	in_child_to(fn, path, OUT_NULL, r);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define CAT_ROUNDS 5

/* One row of the cat table: CAT_ROUNDS runs of one contender. */
typedef struct cat_row {
	double wall[CAT_ROUNDS], cpu[CAT_ROUNDS];
	long rss;
} cat_row;

static void row_add(cat_row *row, int i, double wall, double cpu, long rss)
{
	row->wall[i] = wall;
	row->cpu[i] = cpu;
	if (rss > row->rss)
		row->rss = rss;
}

static double median(double *v)
{
	qsort(v, CAT_ROUNDS, sizeof(double), cmp_double);
	return v[CAT_ROUNDS / 2];
}

static void row_print(const char *name, cat_row *row, uint64_t bytes, const cat_row *base)
{
	double w = median(row->wall), c = median(row->cpu);

	printf("%-40s %7.3f %7.3f %7.0f %6.1f MiB", name, w, c, (double)bytes / 1e6 / w,
	       row->rss / 1024.0);
	if (base) {
		double bw = base->wall[CAT_ROUNDS / 2], bc = base->cpu[CAT_ROUNDS / 2];

		printf("   %5.1fx %5.1fx  RSS %s", bw / w, bc / c, row->rss <= base->rss ? "<=" : ">");
	}
	printf("\n");
}

static int cat_speed(const char *cli, uint64_t mb)
{
	char path[4096];
	uint64_t bytes = mb << 20;
	uLong crc;
	cat_row lib, cli_null, cli_pipe;
#ifdef HAVE_GMIME
	cat_row glib, gnull, gpipe;
#endif
	int i, bad = 0;
	char *argv[] = { (char *)cli, "cat", path, "2", NULL };
#ifdef HAVE_GMIME
	/* GMime's tool: this program run as `bench_tree --gmime-cat FILE` */
	char *gargv[] = { self_exe, "--gmime-cat", path, NULL };
#endif

	memset(&lib, 0, sizeof(lib));
	memset(&cli_null, 0, sizeof(cli_null));
	memset(&cli_pipe, 0, sizeof(cli_pipe));
	snprintf(path, sizeof(path), "%s/mimeo-bench-tree-%d-cat.eml", tmpdir, (int)getpid());
	printf("\n== cat of a %" PRIu64 " MiB base64 attachment, page cache warm "
	       "(median of %d, runs interleaved)\n", mb, CAT_ROUNDS);
	fflush(stdout);
	crc = make_big(path, bytes);
	warm(path);
#ifdef HAVE_GMIME
	memset(&glib, 0, sizeof(glib));
	memset(&gnull, 0, sizeof(gnull));
	memset(&gpipe, 0, sizeof(gpipe));
#endif
	/* exactness first (the whole output checksummed), then timed runs
	 * whose pipe reader only counts */
	{
		run_result cr;

		run_to(argv, NULL, 0, OUT_PIPE, &cr);
		bad |= cr.status != 0 || cr.out_bytes != bytes || cr.out_crc != crc;
#ifdef HAVE_GMIME
		run_to(gargv, NULL, 0, OUT_PIPE, &cr);
		bad |= cr.status != 0 || cr.out_bytes != bytes || cr.out_crc != crc;
#endif
	}
	for (i = 0; i < CAT_ROUNDS; i++) {
		child_result r;
		run_result cr;

		in_child(mimeo_cat, path, &r);
		row_add(&lib, i, r.secs, r.cpu, r.maxrss_kib);
		bad |= r.n != bytes;
		run_to(argv, NULL, 0, OUT_NULL, &cr);
		row_add(&cli_null, i, cr.secs, cr.cpu, cr.maxrss_kib);
		bad |= cr.status != 0;
		run_to(argv, NULL, 0, OUT_PIPE_COUNT, &cr);
		row_add(&cli_pipe, i, cr.secs, cr.cpu, cr.maxrss_kib);
		bad |= cr.status != 0 || cr.out_bytes != bytes;
#ifdef HAVE_GMIME
		in_child(gmime_cat, path, &r);
		row_add(&glib, i, r.secs, r.cpu, r.maxrss_kib);
		bad |= r.n != bytes;
		run_to(gargv, NULL, 0, OUT_NULL, &cr);
		row_add(&gnull, i, cr.secs, cr.cpu, cr.maxrss_kib);
		bad |= cr.status != 0;
		run_to(gargv, NULL, 0, OUT_PIPE_COUNT, &cr);
		row_add(&gpipe, i, cr.secs, cr.cpu, cr.maxrss_kib);
		bad |= cr.status != 0 || cr.out_bytes != bytes;
#endif
	}
	printf("%-40s %7s %7s %7s %10s   %s\n", "", "wall s", "CPU s", "MB/s", "peak RSS",
	       "vs GMime (wall, CPU)");
#ifdef HAVE_GMIME
	row_print("GMime: into a null stream", &glib, bytes, NULL);
	row_print("mimeo library: into a counting callback", &lib, bytes, &glib);
	row_print("GMime tool (exec'd) > /dev/null", &gnull, bytes, NULL);
	row_print("mimeo cat FILE 2 > /dev/null", &cli_null, bytes, &gnull);
	row_print("GMime tool | reader (counts)", &gpipe, bytes, NULL);
	row_print("mimeo cat FILE 2 | reader (counts)", &cli_pipe, bytes, &gpipe);
	printf("(target: mimeo cat >= 5x GMime's equivalent at no more than its peak RSS)\n");
#else
	row_print("mimeo library: into a counting callback", &lib, bytes, NULL);
	row_print("mimeo cat FILE 2 > /dev/null", &cli_null, bytes, NULL);
	row_print("mimeo cat FILE 2 | reader (counts)", &cli_pipe, bytes, NULL);
	printf("(GMime not built in: no baseline)\n");
#endif
	if (bad)
		printf("WRONG decoded bytes or a failed run\n");
	else
		printf("decoded bytes exact (size and CRC-32 of the whole output, mimeo and GMime)\n");
	unlink(path);
	return bad;
}

/* ------------------------------------------------------------------ */
/* mbox, message by message                                            */
/* ------------------------------------------------------------------ */

typedef struct span {
	uint64_t start, end;
} span;

typedef struct spans {
	span *v;
	size_t n, cap;
	uint64_t body_start; /* offset of the current message's first header */
} spans;

static int on_begin(const mimeo_part_info *info, uint64_t off, void *user)
{
	spans *s = user;

	(void)info;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("realloc");
	}
	s->v[s->n].start = off;
	s->v[s->n].end = off;
	s->n++;
	return 0;
}

static int on_part_begin(const mimeo_part_info *info, void *user)
{
	spans *s = user;

	/* the message's bytes start after its From_ line */
	if (info->depth == 0 && s->n)
		s->v[s->n - 1].start = info->header_offset;
	return 0;
}

static int on_part_end(const mimeo_part_info *info, void *user)
{
	spans *s = user;

	if (info->depth == 0 && s->n)
		s->v[s->n - 1].end = info->end_offset;
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static double mbox_mimeo(const char *buf, const spans *s, uint64_t *parts)
{
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	double t0 = now();
	size_t i;

	o.flags = MIMEO_MESSAGE_BORROW;
	*parts = 0;
	for (i = 0; i < s->n; i++) {
		mimeo_message *m = NULL;
		const mimeo_part *p;

		if (mimeo_message_parse_buffer(&m, buf + s->v[i].start,
					       (size_t)(s->v[i].end - s->v[i].start), &o) != MIMEO_OK)
			continue;
		for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
			if (mimeo_part_is_leaf(p) && mimeo_part_size(p) != UINT64_MAX)
				(*parts)++;
		mimeo_message_free(m);
	}
	return now() - t0;
}

#ifdef HAVE_GMIME
static void count_leaf(GMimeObject *parent, GMimeObject *part, gpointer user)
{
	(void)parent;
	if (GMIME_IS_PART(part))
		(*(uint64_t *)user)++;
}

static double mbox_gmime(const char *buf, const spans *s, uint64_t *parts)
{
	double t0 = now();
	size_t i;

	*parts = 0;
	for (i = 0; i < s->n; i++) {
		GMimeStream *st = g_mime_stream_mem_new_with_buffer(
			buf + s->v[i].start, (size_t)(s->v[i].end - s->v[i].start));
		GMimeParser *ps = g_mime_parser_new_with_stream(st);
		GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);

		if (m) {
			g_mime_message_foreach(m, count_leaf, parts);
			g_object_unref(m);
		}
		g_object_unref(ps);
		g_object_unref(st);
	}
	return now() - t0;
}
#endif

static void mbox_speed(const char *srcdir)
{
	static const mimeo_parser_callbacks cbs = {
		MIMEO_PARSER_CALLBACKS_VERSION,
		on_begin, on_part_begin, NULL, NULL, NULL, NULL, NULL, on_part_end, NULL, NULL,
	};
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *ps = NULL;
	char path[4096], cmd[9000], gen[4096];
	double tm[3], tg[3];
	uint64_t pm = 0, pg = 0;
	spans s;
	size_t len;
	char *buf;
	int i;

	snprintf(gen, sizeof(gen), "%s/../shared/bench/gen_corpus.py", srcdir);
	if (access(gen, R_OK) != 0) {
		printf("\n== mbox tree parsing: skipped (%s not found)\n", gen);
		return;
	}
	snprintf(path, sizeof(path), "%s/mimeo-bench-tree-%d.mbox", tmpdir, (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 '%s' --size-mb 100 --seed 1 --max-attach-kb 256 -o '%s' "
		 ">/dev/null", gen, path);
	printf("\n== parsing a 100 MB mbox (light corpus) message by message into trees\n");
	fflush(stdout);
	if (system(cmd) != 0 || !(buf = read_file(path, &len))) {
		printf("(could not generate the mailbox)\n");
		unlink(path);
		return;
	}
	unlink(path);
	memset(&s, 0, sizeof(s));
	po.flags = MIMEO_PARSE_MBOX | MIMEO_PARSE_NO_DECODE;
	if (mimeo_parser_new(&ps, &po, &cbs, &s) != MIMEO_OK ||
	    mimeo_parser_feed(ps, buf, len) != MIMEO_OK || mimeo_parser_finish(ps) != MIMEO_OK)
		die("split the mailbox");
	mimeo_parser_free(ps);
	for (i = 0; i < 3; i++) {
		tm[i] = mbox_mimeo(buf, &s, &pm);
#ifdef HAVE_GMIME
		tg[i] = mbox_gmime(buf, &s, &pg);
#else
		tg[i] = 0;
#endif
	}
	qsort(tm, 3, sizeof(double), cmp_double);
	qsort(tg, 3, sizeof(double), cmp_double);
	printf("%zu messages, %.1f MB\n", s.n, len / 1e6);
	printf("mimeo  parse_buffer per message: %7.1f MB/s (%" PRIu64 " leaves)\n", len / 1e6 / tm[1],
	       pm);
#ifdef HAVE_GMIME
	printf("GMime  construct_message:        %7.1f MB/s (%" PRIu64 " leaves)  mimeo/GMime %.1fx\n",
	       len / 1e6 / tg[1], pg, tg[1] / tm[1]);
#endif
	free(s.v);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* 10,000 parts                                                        */
/* ------------------------------------------------------------------ */

static char many_buf_path[4096];

static void make_many(const char *path, int nparts)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		die("create the many-part message");
	fputs("From: a@example.org\nTo: b@example.org\nSubject: many parts\nMIME-Version: 1.0\n"
	      "Content-Type: multipart/mixed; boundary=\"sep\"\n\n", f);
	for (i = 0; i < nparts; i++) {
		/* a realistic mix: text parts, and attachments with names */
		if (i % 4 == 3)
			fprintf(f, "--sep\nContent-Type: image/png; name=\"image%d.png\"\n"
				   "Content-Transfer-Encoding: base64\n"
				   "Content-Disposition: attachment; filename=\"image%d.png\"\n"
				   "Content-ID: <img%d@example.org>\n\niVBORw0KGgo=\n", i, i, i);
		else
			fprintf(f, "--sep\nContent-Type: text/plain; charset=utf-8\n"
				   "Content-Transfer-Encoding: quoted-printable\n\npart %d caf=C3=A9\n",
				i);
	}
	fputs("--sep--\n", f);
	if (fclose(f) != 0)
		die("write the many-part message");
}

static uint64_t mimeo_many(const char *path)
{
	mimeo_message *m = NULL;
	uint64_t n;

	if (mimeo_message_parse_file(&m, path, NULL) != MIMEO_OK)
		return 0;
	n = mimeo__message_tree_bytes(m);
	mimeo_message_free(m);
	return n;
}

#ifdef HAVE_GMIME
static uint64_t gmime_many(const char *path)
{
	int fd = open(path, O_RDONLY);
	GMimeStream *fs = g_mime_stream_fs_new(fd);
	GMimeParser *ps = g_mime_parser_new_with_stream(fs);
	GMimeMessage *m = g_mime_parser_construct_message(ps, NULL);
	uint64_t n = m ? 1 : 0;

	if (m)
		g_object_unref(m);
	g_object_unref(ps);
	g_object_unref(fs);
	return n;
}
#endif

static uint64_t nothing(const char *path)
{
	(void)path;
	return 1;
}

static int many_parts(void)
{
	child_result base, r;
#ifdef HAVE_GMIME
	child_result g;
#endif

	snprintf(many_buf_path, sizeof(many_buf_path), "%s/mimeo-bench-tree-%d-many.eml", tmpdir,
		 (int)getpid());
	make_many(many_buf_path, 10000);
	printf("\n== the tree of a 10,000-part message (text and named attachments)\n");
	in_child(nothing, many_buf_path, &base);
	in_child(mimeo_many, many_buf_path, &r);
	printf("mimeo tree keeps %.2f MiB (target < 2 MiB); process peak RSS %.1f MiB "
	       "(empty child %.1f MiB)\n", r.n / 1048576.0, r.maxrss_kib / 1024.0,
	       base.maxrss_kib / 1024.0);
#ifdef HAVE_GMIME
	in_child(gmime_many, many_buf_path, &g);
	printf("GMime construct_message: process peak RSS %.1f MiB\n", g.maxrss_kib / 1024.0);
#endif
	unlink(many_buf_path);
	return r.n >= (2u << 20);
}

int main(int argc, char **argv)
{
	const char *cli = getenv("MIMEO_CLI"), *src = getenv("MIMEO_SOURCE_DIR");
	const char *e;
	uint64_t big = 512, catmb = 256;
	double load[3] = { 0, 0, 0 };
	int bad = 0;

#ifdef HAVE_GMIME
	if (argc == 3 && strcmp(argv[1], "--gmime-cat") == 0) {
		g_mime_init();
		return gmime_cat_to(argv[2], 1) ? 0 : 1;
	}
	{
		ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);

		if (n <= 0)
			die("readlink /proc/self/exe");
		self_exe[n] = '\0';
	}
#endif
	(void)argc;
	(void)argv;
	tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if ((e = getenv("MIMEO_BENCH_BIG_MB")))
		big = strtoull(e, NULL, 10);
	if ((e = getenv("MIMEO_BENCH_CAT_MB")))
		catmb = strtoull(e, NULL, 10);
#ifdef HAVE_GMIME
	g_mime_init();
#endif
	if (getloadavg(load, 3) > 0)
		printf("load average at start: %.1f %.1f %.1f\n", load[0], load[1], load[2]);
	bad |= many_parts();
	if (cli && big)
		bad |= rss_table(cli, big);
	else
		printf("\n(MIMEO_CLI not set: the CLI figures are skipped)\n");
	if (cli && catmb)
		bad |= cat_speed(cli, catmb);
	mbox_speed(src ? src : ".");
	if (getloadavg(load, 3) > 0)
		printf("\nload average at end: %.1f %.1f %.1f\n", load[0], load[1], load[2]);
	return bad ? 1 : 0;
}
