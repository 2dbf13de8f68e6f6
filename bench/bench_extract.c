/*
 * bench_extract.c - `mimeo extract` of many attachments with one name
 * (issue 11 finding 6: a free name was searched from name-1 upwards for
 * every file, O(N^2): 4,000 took 6.6 s).  Prints the time for 4,000 and
 * 8,000 same-named attachments and their ratio (2 when linear, 4 when
 * quadratic), and 8,000 distinct names as the baseline of the same run
 * (the naming cost is the difference).  Best of three runs each.
 *
 * Usage: bench_extract MIMEO [N]   (N: the smaller count, default 4000)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mimeo-bench-extract.XXXXXX";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A message with n attachments, all called same.txt (distinct = 0) or
 * file-K.txt. */
static void make_message(const char *path, int n, int distinct)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		perror(path);
		exit(1);
	}
	fputs("From: a@example.com\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
	      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n", f);
	for (i = 0; i < n; i++) {
		fputs("--b\r\nContent-Type: text/plain\r\n", f);
		if (distinct)
			fprintf(f, "Content-Disposition: attachment; filename=\"file-%d.txt\"\r\n", i);
		else
			fputs("Content-Disposition: attachment; filename=\"same.txt\"\r\n", f);
		fprintf(f, "\r\npart %d\r\n", i);
	}
	fputs("--b--\r\n", f);
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Wall time of one `mimeo extract MSG -o OUT` (OUT removed afterwards). */
static double run_extract(const char *mimeo, const char *msg, const char *out)
{
	double t0 = now(), t;
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execl(mimeo, mimeo, "extract", msg, "-o", out, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_extract: mimeo extract failed\n");
		rm_tree(tmpdir);
		exit(1);
	}
	t = now() - t0;
	rm_tree(out);
	return t;
}

static double best_of_3(const char *mimeo, int n, int distinct)
{
	char msg[256], out[256];
	double best = 1e30;
	int i;

	snprintf(msg, sizeof(msg), "%s/msg-%d-%d.eml", tmpdir, n, distinct);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	make_message(msg, n, distinct);
	for (i = 0; i < 3; i++) {
		double t = run_extract(mimeo, msg, out);
		if (t < best)
			best = t;
	}
	unlink(msg);
	return best;
}

int main(int argc, char **argv)
{
	const char *mimeo = argc > 1 ? argv[1] : getenv("MIMEO_CLI");
	int n = argc > 2 ? atoi(argv[2]) : 4000;
	double t1, t2, td;

	if (!mimeo || n <= 0) {
		fprintf(stderr, "usage: bench_extract MIMEO [N]\n");
		return 2;
	}
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	t1 = best_of_3(mimeo, n, 0);
	t2 = best_of_3(mimeo, 2 * n, 0);
	td = best_of_3(mimeo, 2 * n, 1);
	rm_tree(tmpdir);
	printf("extract %5d same-named attachments: %7.3f s (%.1f us per file)\n", n, t1,
	       t1 / n * 1e6);
	printf("extract %5d same-named attachments: %7.3f s (%.1f us per file)\n", 2 * n, t2,
	       t2 / (2 * n) * 1e6);
	printf("ratio %d/%d: %.2f (2 when linear, 4 when quadratic)\n", 2 * n, n, t2 / t1);
	printf("extract %5d distinct names (baseline): %7.3f s; same-named / distinct: %.2f\n",
	       2 * n, td, t2 / td);
	return 0;
}
