/*
 * standalone_main.c - run a fuzz target without a fuzzing engine.
 *
 * Every fuzz/fuzz_<target>.c defines only LLVMFuzzerTestOneInput().  Linked
 * with this file it becomes an ordinary program that feeds each file named
 * on the command line (or each regular file inside a named directory, in
 * sorted order, not recursively) to the target once.  Meson registers one
 * such program per target as a test (suite 'fuzz') replaying corpus/<target>/
 * and corpus/regress/<target>/, so every seed and every past crash input is
 * run in every build, including the ASan+UBSan one (the systemd / libgit2 /
 * sqlite fuzzcheck approach).  A crash, sanitizer report or failed check in
 * the target aborts the program, which fails the test.
 *
 * Usage: replay_<target> [--allow-missing] PATH...
 *   PATH a file or a directory; a missing PATH is an error unless it comes
 *   after --allow-missing (regression directories exist only once a crash
 *   was found).  At least one input must have been run.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target; libFuzzer calls it once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long n_run;

/*
 * Read the whole file into a buffer of exactly its size, so that a read
 * one byte past the input is caught by AddressSanitizer just as libFuzzer
 * would catch it.
 */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, n;
	uint8_t chunk[65536];
	uint8_t *exact;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (size + n > cap) {
			uint8_t *grown;

			cap = (size + n) * 2;
			grown = realloc(data, cap);
			if (!grown) {
				free(data);
				fclose(f);
				fprintf(stderr, "replay: %s: out of memory\n", path);
				return -1;
			}
			data = grown;
		}
		memcpy(data + size, chunk, n);
		size += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);

	exact = malloc(size ? size : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	if (size)
		memcpy(exact, data, size);
	free(data);
	/* Printed first so that the culprit is named when the target crashes. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(exact, size);
	free(exact);
	n_run++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue; /* ".", ".." and hidden files such as .gitkeep */
		if (n == cap) {
			char **grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				rc = -1;
				break;
			}
			names = grown;
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n]) {
			rc = -1;
			break;
		}
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		struct stat st;

		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int allow_missing = 0;
	int i;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (strcmp(argv[i], "--allow-missing") == 0) {
			allow_missing = 1;
			continue;
		}
		if (stat(argv[i], &st) != 0) {
			if (errno == ENOENT && allow_missing)
				continue;
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if ((S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i])) != 0)
			return 1;
	}
	if (n_run == 0) {
		fprintf(stderr, "replay: no input was run\n");
		return 1;
	}
	printf("replay: %lu inputs ran without a crash\n", n_run);
	return 0;
}
