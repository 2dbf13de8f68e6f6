/*
 * outdir.c - saving files into one output folder safely (see outdir.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2 */
#endif
#include "outdir.h"

#include "cli.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One name already used in this run and the next suffix to try for it. */
struct name_slot {
	char *name;        /* sanitised name, or NULL for an empty slot */
	unsigned long next; /* next n to try: name-n.ext (0 = name itself) */
};

/* Failures listed by cli_outdir_close(): at most this many labels, then a
 * count, so a full disk under 99,999 parts prints one readable line. */
#define FAIL_LIST_MAX 10

struct cli_outdir {
	int fd;               /* the open folder */
	char *dir;            /* DIR as given, trailing slashes removed */
	const char *cmd;      /* command name for messages */
	struct name_slot *slots; /* open addressing, power-of-two size */
	size_t nslots, used;
	unsigned long tmpseq; /* makes temporary names unique in this run */
	size_t saved, failed;
	char *faillist;       /* "a, b, c" for the first FAIL_LIST_MAX */
	size_t faillen;
};

cli_outdir *cli_outdir_open(const char *dir, const char *cmd)
{
	cli_outdir *d;
	size_t len = strlen(dir);

	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->dir = malloc(len + 1))) {
		free(d);
		cli_error("out of memory");
		return NULL;
	}
	/* "out/" prints as "out/name", not "out//name" ("/" stays "/name") */
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 1 && dir[0] == '/')
		len = 0;
	memcpy(d->dir, dir, len);
	d->dir[len] = '\0';
	d->cmd = cmd;
	d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		cli_error("cannot open %s: %s", dir, strerror(errno));
		free(d->dir);
		free(d);
		return NULL;
	}
	return d;
}

/* --- the next suffix per name (makes naming linear) ---------------- */

static size_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

static struct name_slot *find_slot(struct name_slot *slots, size_t n, const char *name)
{
	size_t i = hash_name(name) & (n - 1);

	while (slots[i].name && strcmp(slots[i].name, name) != 0)
		i = (i + 1) & (n - 1);
	return &slots[i];
}

/* The slot for `name`, added with next = 0 when new; NULL when out of
 * memory. */
static struct name_slot *name_slot(cli_outdir *d, const char *name)
{
	struct name_slot *s;

	if ((d->used + 1) * 2 > d->nslots) {
		size_t n = d->nslots ? d->nslots * 2 : 64, i;
		struct name_slot *t;

		if (n > SIZE_MAX / sizeof(*t) || !(t = calloc(n, sizeof(*t))))
			return NULL;
		for (i = 0; i < d->nslots; i++) {
			if (d->slots[i].name)
				*find_slot(t, n, d->slots[i].name) = d->slots[i];
		}
		free(d->slots);
		d->slots = t;
		d->nslots = n;
	}
	s = find_slot(d->slots, d->nslots, name);
	if (!s->name) {
		if (!(s->name = strdup(name)))
			return NULL;
		s->next = 0;
		d->used++;
	}
	return s;
}

/* --- writing -------------------------------------------------------- */

/* Largest prefix of s of at most max bytes not splitting a UTF-8
 * character. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* name (n = 0) or name-n.ext, cut so that it stays within NAME_MAX. */
static void candidate(const char *name, unsigned long n, char *out)
{
	const char *dot = strrchr(name, '.');
	size_t len = strlen(name), extlen, baselen, b, slen = 0;
	char suffix[24];

	if (!dot || dot == name)
		dot = name + len;
	extlen = len - (size_t)(dot - name);
	baselen = (size_t)(dot - name);
	if (n)
		slen = (size_t)snprintf(suffix, sizeof(suffix), "-%lu", n);
	b = baselen;
	if (b + slen + extlen > MIMEO_FILENAME_MAX) {
		/* a long extension (sanitize keeps up to 16 bytes, a name
		 * without one may be all "extension" after a late dot) */
		if (slen + extlen > MIMEO_FILENAME_MAX - 1) {
			extlen = 0;
			dot = name + len;
			baselen = len;
		}
		b = utf8_prefix(name, baselen, MIMEO_FILENAME_MAX - slen - extlen);
	}
	memcpy(out, name, b);
	memcpy(out + b, suffix, slen);
	memcpy(out + b + slen, dot, extlen);
	out[b + slen + extlen] = '\0';
}

/* Move the complete temporary file to a free name derived from `name`,
 * never replacing anything.  Writes the name used to `used`. */
static int link_into_place(cli_outdir *d, const char *tmp, const char *name,
			   char *used)
{
	struct name_slot *slot = name_slot(d, name);

	if (!slot) {
		errno = ENOMEM;
		return -1;
	}
	for (;; slot->next++) {
		candidate(name, slot->next, used);
#ifdef RENAME_NOREPLACE
		if (renameat2(d->fd, tmp, d->fd, used, RENAME_NOREPLACE) == 0) {
			slot->next++;
			return 0;
		}
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
#endif
		/* No RENAME_NOREPLACE here (old kernel, some filesystems):
		 * claim the name with an exclusive create, then rename over
		 * our own empty placeholder. */
		{
			int fd = openat(d->fd, used, O_WRONLY | O_CREAT | O_EXCL |
						     O_NOFOLLOW | O_CLOEXEC, 0666);
			if (fd < 0) {
				if (errno == EEXIST)
					continue;
				return -1;
			}
			close(fd);
			if (renameat(d->fd, tmp, d->fd, used) < 0) {
				int e = errno;

				unlinkat(d->fd, used, 0);
				errno = e;
				return -1;
			}
			slot->next++;
			return 0;
		}
	}
}

/* The sink cli_outdir_save hands to a producer: the temporary file and
 * the first write error (so a failed write is told from a producer's own
 * failure, which it reported itself). */
struct fd_sink {
	int fd;
	int err;
};

static int write_fd(const void *buf, size_t len, void *sink)
{
	struct fd_sink *s = sink;
	const char *p = buf;

	while (len) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Remember a failure for the closing summary. */
static void note_failure(cli_outdir *d, const char *label)
{
	size_t n = strlen(label);
	char *p;

	d->failed++;
	if (d->failed > FAIL_LIST_MAX)
		return;
	p = realloc(d->faillist, d->faillen + n + 3);
	if (!p)
		return; /* the count still says it */
	d->faillist = p;
	if (d->faillen) {
		memcpy(p + d->faillen, ", ", 2);
		d->faillen += 2;
	}
	memcpy(p + d->faillen, label, n);
	d->faillen += n;
	p[d->faillen] = '\0';
}

int cli_outdir_save(cli_outdir *d, const char *name, const char *label,
		    cli_outdir_produce_fn produce, void *ctx)
{
	mimeo_buf clean = MIMEO_BUF_INIT;
	char tmp[64], used[MIMEO_FILENAME_MAX + 1];
	struct fd_sink sink;
	const char *what;
	int fd = -1, tries, e;

	if (mimeo_filename_sanitize(name, name ? strlen(name) : 0, &clean) != MIMEO_OK) {
		cli_error("%s: out of memory", d->cmd);
		note_failure(d, label ? label : "?");
		return -1;
	}
	what = label ? label : clean.ptr;
	/* The temporary name starts with a dot: a sanitised name never does,
	 * so it cannot take a name an attachment would get. */
	for (tries = 0; tries < 100 && fd < 0; tries++) {
		snprintf(tmp, sizeof(tmp), ".mimeo-%ld-%lu.part", (long)getpid(), d->tmpseq++);
		fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		cli_error("%s: cannot save %s: cannot create a file in %s: %s", d->cmd, what,
			  *d->dir ? d->dir : "/", strerror(errno));
		goto fail;
	}
	sink.fd = fd;
	sink.err = 0;
	if (produce(ctx, write_fd, &sink) < 0 || sink.err) {
		/* sink.err set: a write failed; else the producer printed why */
		e = sink.err;
		close(fd);
		unlinkat(d->fd, tmp, 0);
		if (e)
			cli_error("%s: cannot save %s: cannot write %s/%s: %s", d->cmd, what,
				  d->dir, clean.ptr, strerror(e));
		goto fail;
	}
	/* close() is where NFS and some full disks report the error */
	if (close(fd) < 0) {
		e = errno;
		unlinkat(d->fd, tmp, 0);
		cli_error("%s: cannot save %s: cannot write %s/%s: %s", d->cmd, what, d->dir,
			  clean.ptr, strerror(e));
		goto fail;
	}
	if (link_into_place(d, tmp, clean.ptr, used) < 0) {
		e = errno;
		unlinkat(d->fd, tmp, 0);
		cli_error("%s: cannot save %s: cannot name it %s/%s: %s", d->cmd, what, d->dir,
			  clean.ptr, strerror(e));
		goto fail;
	}
	d->saved++;
	printf("%s/%s\n", d->dir, used);
	mimeo_buf_dispose(&clean);
	return 0;
fail:
	note_failure(d, what);
	mimeo_buf_dispose(&clean);
	return -1;
}

struct mem_source {
	const void *data;
	size_t len;
};

static int produce_mem(void *ctx, cli_outdir_write_fn write, void *sink)
{
	struct mem_source *m = ctx;

	return m->len ? write(m->data, m->len, sink) : 0;
}

int cli_outdir_save_buf(cli_outdir *d, const char *name, const char *label,
			const void *data, size_t len)
{
	struct mem_source m = { data, len };

	return cli_outdir_save(d, name, label, produce_mem, &m);
}

size_t cli_outdir_saved(const cli_outdir *d)
{
	return d->saved;
}

size_t cli_outdir_failed(const cli_outdir *d)
{
	return d->failed;
}

int cli_outdir_close(cli_outdir *d)
{
	int rc = CLI_OK;
	size_t i;

	if (!d)
		return CLI_OK;
	if (d->failed) {
		if (d->failed > FAIL_LIST_MAX)
			cli_error("%s: %zu of %zu files not saved: %s and %zu more", d->cmd,
				  d->failed, d->failed + d->saved,
				  d->faillist ? d->faillist : "", d->failed - FAIL_LIST_MAX);
		else
			cli_error("%s: %zu of %zu files not saved: %s", d->cmd, d->failed,
				  d->failed + d->saved, d->faillist ? d->faillist : "");
		rc = CLI_FAILURE;
	}
	close(d->fd);
	for (i = 0; i < d->nslots; i++)
		free(d->slots[i].name);
	free(d->slots);
	free(d->faillist);
	free(d->dir);
	free(d);
	return rc;
}
