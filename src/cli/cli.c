/*
 * cli.c - input handling and error reporting for the mimeo tool.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mimeo.h>

const char *cli_io_reason(int e)
{
	if (e == EBADMSG)
		return "corrupt or cut-off gzip data";
	return e ? strerror(e) : "read error";
}

int cli_reserve(void **items, size_t *cap, size_t used, size_t elem_size, size_t initial)
{
	size_t n;
	void *p;

	if (used < *cap)
		return 0;
	n = *cap ? *cap * 2 : initial;
	if (n <= *cap || n > SIZE_MAX / elem_size)
		return -1;
	p = realloc(*items, n * elem_size);
	if (!p)
		return -1;
	*items = p;
	*cap = n;
	return 0;
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mimeo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Open with the reader's flags: 0 (a ".gz" name is read through zlib) or
 * MIMEO_READER_DETECT (gzip found by its content). */
mimeo_reader *cli_reader_open(const char *path, unsigned flags)
{
	mimeo_reader *r = NULL;
	int fd, rc;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* the library's reader: gzip is read in one place */
	rc = mimeo_reader_open(&r, path, fd, flags, NULL);
	if (rc != MIMEO_OK) {
		close(fd);
		cli_error("cannot read %s: %s", path, mimeo_strerror(rc));
		return NULL;
	}
	return r;
}

static int input_open(cli_input *in, const char *path, unsigned flags)
{
	mimeo_reader *r = cli_reader_open(path, flags);

	in->fd = -1;
	in->gz = NULL;
	in->reader = NULL;
	in->name = path;
	if (!r)
		return -1;
	in->reader = r;
	in->fd = mimeo_reader_fd(r);
	in->gz = mimeo_reader_is_compressed(r) ? (void *)r : NULL;
	return 0;
}

int cli_input_open(cli_input *in, const char *path)
{
	return input_open(in, path, 0);
}

int cli_input_open_mail(cli_input *in, const char *path)
{
	return input_open(in, path, MIMEO_READER_DETECT);
}

ssize_t cli_input_read(cli_input *in, void *buf, size_t n)
{
	size_t got = 0;

	if (n > (size_t)1 << 30)
		n = (size_t)1 << 30;
	if (mimeo_reader_read(buf, n, &got, in->reader) != MIMEO_OK) {
		cli_error("cannot read %s: %s", in->name, mimeo_reader_error(in->reader));
		return -1;
	}
	return (ssize_t)got;
}

void cli_input_close(cli_input *in)
{
	mimeo_reader_close(in->reader);
	in->reader = NULL;
	in->gz = NULL;
	in->fd = -1;
}

static char *input_slurp(const char *path, size_t *len, unsigned flags)
{
	cli_input in;
	size_t cap = 1 << 16, used = 0;
	char *buf;

	if (input_open(&in, path, flags) < 0)
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

char *cli_input_slurp(const char *path, size_t *len)
{
	return input_slurp(path, len, 0);
}

char *cli_input_slurp_mail(const char *path, size_t *len)
{
	return input_slurp(path, len, MIMEO_READER_DETECT);
}

int cli_write_stdout(const void *buf, size_t len)
{
	const char *p = buf;

	/* Large blocks (decoded bodies from cat) go straight to the
	 * descriptor: through stdio each became two write()s, the rest of the
	 * buffer and then the remainder, and a pipe reader woke twice. */
	if (len >= 16384) {
		if (fflush(stdout) != 0)
			goto fail;
		while (len) {
			ssize_t n = write(fileno(stdout), p, len);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			p += n;
			len -= (size_t)n;
		}
		return 0;
	}
	if (len && fwrite(buf, 1, len, stdout) != len)
		goto fail;
	return 0;
fail:
	cli_error("cannot write to standard output: %s", strerror(errno));
	return -1;
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
