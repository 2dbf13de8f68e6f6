/*
 * source.c - where a message's bytes live (issue 13): sources, spools, and
 * the plain-or-gzip file reader.  The entry points that parse from them
 * are in load.c.
 *
 *  - A buffer is borrowed (MIMEO_MESSAGE_BORROW) or copied once.
 *  - A seekable file is never copied: it is parsed in blocks read with
 *    pread, and bodies are read back with pread later.  pread has no shared
 *    file position, so several threads may read one message at once.  The
 *    file's identity, size and modification time are recorded; a later
 *    access that finds them changed fails with MIMEO_EIO instead of
 *    decoding garbage.
 *  - Anything else (a pipe, a socket, a .gz file, a read callback) is
 *    spooled: kept in memory up to a threshold (1 MiB by default), then
 *    moved to a temporary file that is unlinked at creation, so it never
 *    outlives the process.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE 1 /* O_TMPFILE */
#include "message-priv.h"

#include "io-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mimeo/builder.h"

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

void mimeo__source_init(mimeo__source *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

void mimeo__source_dispose(mimeo__source *s, const mimeo_allocator *alloc)
{
	mimeo__free(alloc, s->owned);
	if (s->fd >= 0)
		close(s->fd);
	mimeo__source_init(s);
}

int mimeo__source_same(const mimeo__source *s, const struct stat *st)
{
	return st->st_dev == s->dev && st->st_ino == s->ino && st->st_size == s->size &&
	       st->st_mtim.tv_sec == s->mtime.tv_sec && st->st_mtim.tv_nsec == s->mtime.tv_nsec;
}

int mimeo__source_check(const mimeo__source *s, const char **reason)
{
	struct stat st;

	if (!s->check)
		return MIMEO_OK;
	if (fstat(s->fd, &st) != 0) {
		*reason = "cannot stat the source file";
		return MIMEO_EIO;
	}
	if (!mimeo__source_same(s, &st)) {
		*reason = "the source file changed after it was parsed";
		errno = ESTALE;
		return MIMEO_EIO;
	}
	return MIMEO_OK;
}

int mimeo__source_read(const mimeo__source *s, uint64_t off, void *buf, size_t len,
		       const char **reason)
{
	size_t got;

	if (off > s->len || len > s->len - off) {
		*reason = "read beyond the end of the source";
		errno = EINVAL;
		return MIMEO_EIO;
	}
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return MIMEO_OK;
	}
	if (mimeo__pread_full(s->fd, buf, len, s->base + off, &got) != MIMEO_OK) {
		*reason = "cannot read the source file";
		return MIMEO_EIO;
	}
	if (got < len) {
		*reason = "the source file shrank after it was parsed";
		errno = ESTALE;
		return MIMEO_EIO;
	}
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* Spools                                                              */
/* ------------------------------------------------------------------ */

void mimeo__spool_init(mimeo__spool *sp, const mimeo_allocator *alloc, size_t limit,
		       const char *tmpdir)
{
	memset(sp, 0, sizeof(*sp));
	sp->alloc = alloc;
	sp->limit = limit;
	sp->tmpdir = tmpdir;
	sp->fd = -1;
	mimeo_buf_init(&sp->mem, alloc);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* An anonymous file in dir: O_TMPFILE where the file system has it, else a
 * named file removed at once.  Either way nothing is left behind. */
static int tmpfile_in(const char *dir, const mimeo_allocator *alloc)
{
	/* mkostemp()'s template: it replaces the six X with a unique name */
	static const char tmpl[] = "/mimeo-spool-XXXXXX";
	size_t dlen = strlen(dir);
	char *path;
	int fd, saved;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* EOPNOTSUPP/EISDIR: the file system has no O_TMPFILE; anything
	 * else (EACCES, ENOENT, ENOSPC) is the answer mkstemp would give */
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	path = mimeo__malloc(alloc, dlen + sizeof(tmpl));
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(path, dir, dlen);
	memcpy(path + dlen, tmpl, sizeof(tmpl));
	fd = mkostemp(path, O_CLOEXEC);
	saved = errno;
	if (fd >= 0)
		unlink(path);
	mimeo__free(alloc, path);
	errno = saved;
	return fd;
}

static int spill(mimeo__spool *sp)
{
	const char *dir = sp->tmpdir;

	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	sp->fd = tmpfile_in(dir, sp->alloc);
	if (sp->fd < 0) {
		sp->reason = "cannot create a temporary file to spool the input (TMPDIR)";
		return MIMEO_EIO;
	}
	if (sp->mem.size && write_all(sp->fd, sp->mem.ptr, sp->mem.size) < 0) {
		sp->reason = "cannot write the temporary spool file (TMPDIR full?)";
		return MIMEO_EIO;
	}
	mimeo_buf_dispose(&sp->mem);
	mimeo_buf_init(&sp->mem, sp->alloc);
	return MIMEO_OK;
}

int mimeo__spool_write(mimeo__spool *sp, const void *data, size_t len)
{
	int rc;

	if (!len)
		return MIMEO_OK;
	if (sp->fd < 0 && (sp->mem.size > sp->limit || len > sp->limit - sp->mem.size)) {
		rc = spill(sp);
		if (rc != MIMEO_OK)
			return rc;
	}
	if (sp->fd < 0) {
		/* grow to the limit at most, so memory stays bounded by it */
		if (sp->mem.asize - sp->mem.size <= len) {
			size_t want = sp->mem.asize ? sp->mem.asize * 2 : 65536;

			if (want > sp->limit + 1)
				want = sp->limit + 1;
			if (want < sp->mem.size + len + 1)
				want = sp->mem.size + len + 1;
			if (mimeo_buf_grow(&sp->mem, want - sp->mem.size) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
		rc = mimeo_buf_put(&sp->mem, data, len);
		if (rc != MIMEO_OK)
			return rc;
	} else if (write_all(sp->fd, data, len) < 0) {
		sp->reason = "cannot write the temporary spool file (TMPDIR full?)";
		return MIMEO_EIO;
	}
	sp->len += len;
	return MIMEO_OK;
}

void mimeo__spool_finish(mimeo__spool *sp, mimeo__source *out)
{
	mimeo__source_init(out);
	out->len = sp->len;
	if (sp->fd >= 0) {
		out->fd = sp->fd;
		sp->fd = -1;
		return;
	}
	out->owned = mimeo_buf_detach(&sp->mem);
	out->mem = out->owned ? out->owned : "";
}

void mimeo__spool_dispose(mimeo__spool *sp)
{
	mimeo_buf_dispose(&sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

/* ------------------------------------------------------------------ */
/* .gz input: the one place mimeo reads gzip (the CLI uses it too)     */
/* ------------------------------------------------------------------ */

struct mimeo_reader {
	const mimeo_allocator *alloc;
	int fd;                /* plain input read with read(), or -1 */
	gzFile gz;             /* input read through zlib, or NULL */
	int compressed;        /* the content is gzip (not zlib passing it through) */
	const char *error;     /* why the last read failed */
	const char *reason;    /* the same as a static sentence (opts->reason) */
};

static int ends_with_gz(const char *path)
{
	size_t n = strlen(path);

	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Does the input start with the gzip magic 1f 8b (RFC 1952 2.3.1)?  Asked
 * of a seekable file with pread, so the bytes stay unread: 1 gzip, 0 not,
 * -1 no answer this way (a pipe, a socket, a terminal). */
static int seekable_is_gzip(int fd)
{
	unsigned char m[2];
	off_t at = lseek(fd, 0, SEEK_CUR);
	ssize_t n;

	if (at < 0)
		return -1;
	do
		n = pread(fd, m, sizeof(m), at);
	while (n < 0 && errno == EINTR);
	/* a failed pread (a directory: EISDIR) says "plain": the first read
	 * then fails with the same reason, where callers look for it */
	return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

int mimeo_reader_open(mimeo_reader **out, const char *path, int fd, unsigned flags,
		      const mimeo_allocator *alloc)
{
	mimeo_reader *r;
	int gzip = 0;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if ((!path && fd < 0) || (flags & ~(unsigned)MIMEO_READER_DETECT))
		return MIMEO_EINVAL;
	r = mimeo__calloc(alloc, 1, sizeof(*r));
	if (!r)
		return MIMEO_ENOMEM;
	r->alloc = alloc;
	r->fd = fd;
	if (fd < 0) {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			int saved = errno;

			mimeo__free(alloc, r);
			errno = saved;
			return MIMEO_EIO;
		}
	}
	/* The content decides, where it is looked at: by DETECT always, by
	 * default only under a ".gz" name (a message file named otherwise is
	 * never inflated).  A seekable file is asked with pread and read
	 * plainly when it is no gzip; anything else goes through zlib, whose
	 * transparent mode passes plain data through unchanged, and gzdirect
	 * (which reads the first bytes to answer) tells which it was. */
	if ((flags & MIMEO_READER_DETECT) || (path && ends_with_gz(path))) {
		gzip = seekable_is_gzip(r->fd);
		if (gzip != 0) {
			r->gz = gzdopen(r->fd, "rb");
			if (!r->gz) {
				close(r->fd);
				mimeo__free(alloc, r);
				return MIMEO_ENOMEM;
			}
			r->fd = -1;
			/* 256 KiB so zlib refills rarely on large archives */
			gzbuffer(r->gz, 256 * 1024);
			r->compressed = gzip == 1 || !gzdirect(r->gz);
		}
	}
	*out = r;
	return MIMEO_OK;
}

int mimeo_reader_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	mimeo_reader *r = ctx;

	*got = 0;
	if (cap > (size_t)1 << 30)
		cap = (size_t)1 << 30;
	if (r->gz) {
		int errnum, n = gzread(r->gz, buf, (unsigned)cap);

		if (n < 0) {
			int saved = errno;
			const char *msg = gzerror(r->gz, &errnum);

			if (errnum == Z_ERRNO) {
				r->error = strerror(saved);
				r->reason = "cannot read the compressed file";
				errno = saved;
			} else {
				/* zlib's words ("invalid block type"); errno would
				 * be whatever came last, often 0 ("Success") */
				r->error = msg;
				r->reason = "the compressed file is corrupt (bad gzip data)";
				errno = EBADMSG;
			}
			return MIMEO_EIO;
		}
		if (n == 0) {
			/* zlib reports a truncated stream only here */
			gzerror(r->gz, &errnum);
			if (errnum == Z_BUF_ERROR) {
				r->error = "unexpected end of compressed data";
				r->reason = "the compressed file is cut off (unexpected end of gzip data)";
				errno = EBADMSG;
				return MIMEO_EIO;
			}
		}
		*got = (size_t)n;
		return MIMEO_OK;
	}
	for (;;) {
		ssize_t n = read(r->fd, buf, cap);

		if (n >= 0) {
			*got = (size_t)n;
			return MIMEO_OK;
		}
		if (errno != EINTR) {
			r->error = strerror(errno);
			r->reason = "cannot read the file";
			return MIMEO_EIO;
		}
	}
}

int mimeo_reader_is_compressed(const mimeo_reader *r)
{
	return r->compressed;
}

int mimeo_reader_fd(const mimeo_reader *r)
{
	return r->gz ? -1 : r->fd;
}

const char *mimeo__reader_reason(const mimeo_reader *r)
{
	return r->reason;
}

const char *mimeo_reader_error(const mimeo_reader *r)
{
	return r->error ? r->error : "no error";
}

void mimeo_reader_close(mimeo_reader *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz);
	else if (r->fd >= 0)
		close(r->fd);
	mimeo__free(r->alloc, r);
}
