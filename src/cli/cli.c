/*
 * cli.c - input handling and error reporting for the mimeo tool.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <mimeo.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mimeo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cli_input_open(cli_input *in, const char *path)
{
	int fd;

	in->fd = -1;
	in->gz = NULL;
	in->name = path;
	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (ends_with(path, ".gz")) {
		in->gz = gzdopen(fd, "rb");
		if (!in->gz) {
			close(fd);
			cli_error("cannot read %s: out of memory", path);
			return -1;
		}
		/* 256 KiB so zlib refills rarely on large archives. */
		gzbuffer(in->gz, 256 * 1024);
		return 0;
	}
	in->fd = fd;
	return 0;
}

ssize_t cli_input_read(cli_input *in, void *buf, size_t n)
{
	if (n > (size_t)1 << 30)
		n = (size_t)1 << 30;
	if (in->gz) {
		int errnum;
		int got = gzread(in->gz, buf, (unsigned)n);

		if (got < 0) {
			const char *msg = gzerror(in->gz, &errnum);
			cli_error("cannot read %s: %s", in->name,
				  errnum == Z_ERRNO ? strerror(errno) : msg);
			return -1;
		}
		if (got == 0) {
			/* zlib reports a truncated stream only through
			 * gzerror(): a cut-off archive is unreadable input. */
			gzerror(in->gz, &errnum);
			if (errnum == Z_BUF_ERROR) {
				cli_error("cannot read %s: unexpected end of compressed data",
					  in->name);
				return -1;
			}
		}
		return got;
	}
	for (;;) {
		ssize_t got = read(in->fd, buf, n);

		if (got >= 0)
			return got;
		if (errno == EINTR)
			continue;
		cli_error("cannot read %s: %s", in->name, strerror(errno));
		return -1;
	}
}

void cli_input_close(cli_input *in)
{
	if (in->gz)
		gzclose(in->gz);
	else if (in->fd >= 0)
		close(in->fd);
	in->gz = NULL;
	in->fd = -1;
}

char *cli_input_slurp(const char *path, size_t *len)
{
	cli_input in;
	size_t cap = 1 << 16, used = 0;
	char *buf;

	if (cli_input_open(&in, path) < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf) {
		cli_error("out of memory");
		cli_input_close(&in);
		return NULL;
	}
	for (;;) {
		ssize_t got;

		if (cap - used < 2) {
			char *p = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!p) {
				cli_error("out of memory reading %s", path);
				free(buf);
				cli_input_close(&in);
				return NULL;
			}
			buf = p;
			cap *= 2;
		}
		got = cli_input_read(&in, buf + used, cap - used - 1);
		if (got < 0) {
			free(buf);
			cli_input_close(&in);
			return NULL;
		}
		if (got == 0)
			break;
		used += (size_t)got;
	}
	cli_input_close(&in);
	buf[used] = '\0';
	*len = used;
	return buf;
}

int cli_write_stdout(const void *buf, size_t len)
{
	if (len && fwrite(buf, 1, len, stdout) != len) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void cli_warn_limits(const char *name, unsigned limits)
{
	static const struct {
		unsigned bit;
		const char *what;
	} names[] = {
		{ MIMEO_LIMIT_DEPTH, "nesting depth" },
		{ MIMEO_LIMIT_HEADER_BYTES, "header bytes" },
		{ MIMEO_LIMIT_HEADERS, "header fields" },
		{ MIMEO_LIMIT_PARTS, "parts" },
		{ MIMEO_LIMIT_LINE, "line length" },
	};
	char list[128];
	size_t i, used = 0;

	if (!limits)
		return;
	list[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (limits & names[i].bit)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 used ? ", " : "", names[i].what);
	}
	cli_error("warning: %s: parser limits reached (%s): the rest was read leniently",
		  name, used ? list : "other");
}

int cli_close_stdout(int rc)
{
	int failed, e;

	errno = 0;
	failed = fflush(stdout) != 0 || ferror(stdout);
	e = errno;
	/* close() reports what a network filesystem could not write */
	if (fclose(stdout) != 0 && !failed) {
		failed = 1;
		e = errno;
	}
	if (failed && rc == CLI_OK) {
		if (e)
			cli_error("cannot write to standard output: %s", strerror(e));
		else
			cli_error("cannot write to standard output");
		return CLI_FAILURE;
	}
	return rc;
}
