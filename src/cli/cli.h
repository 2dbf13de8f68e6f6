/*
 * cli.h - shared pieces of the mimeo command-line tool (not installed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_H
#define MIMEO_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* One subcommand.  `run` gets argv with argv[0] = the subcommand name and
 * returns the process exit status. */
typedef struct cli_command {
	const char *name;
	const char *synopsis; /* one line for `mimeo --help` */
	int (*run)(int argc, char **argv);
} cli_command;

/* An input file: a path, "-" for stdin, or a path ending in ".gz" that is
 * read through zlib. */
typedef struct cli_input {
	int fd;        /* plain input, or -1 */
	void *gz;      /* gzFile for .gz input, or NULL */
	const char *name;
} cli_input;

/* Open `path`; on failure print one line to stderr and return -1. */
int cli_input_open(cli_input *in, const char *path);
/* Read up to `n` bytes; returns bytes read, 0 at end, -1 on error (printed). */
ssize_t cli_input_read(cli_input *in, void *buf, size_t n);
void cli_input_close(cli_input *in);
/* Read the whole input into a malloc'd buffer (NUL-terminated; *len excludes
 * the terminator).  Returns NULL after printing an error. */
char *cli_input_slurp(const char *path, size_t *len);

/* Print "mimeo: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all of `buf` to stdout; returns 0 or -1 after printing an error. */
int cli_write_stdout(const void *buf, size_t len);

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAILURE = 1, CLI_USAGE = 2 };

#endif
