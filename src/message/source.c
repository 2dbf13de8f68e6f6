/*
 * source.c - where a message's bytes live, and the entry points that read
 * a message from a buffer, a file, a descriptor, a .gz file or a read
 * callback (issue 13).
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

static int same_file(const mimeo__source *s, const struct stat *st)
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
	if (!same_file(s, &st)) {
		*reason = "the source file changed after it was parsed";
		errno = ESTALE;
		return MIMEO_EIO;
	}
	return MIMEO_OK;
}

int mimeo__source_read(const mimeo__source *s, uint64_t off, void *buf, size_t len,
		       const char **reason)
{
	char *p = buf;

	if (off > s->len || len > s->len - off) {
		*reason = "read beyond the end of the source";
		errno = EINVAL;
		return MIMEO_EIO;
	}
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return MIMEO_OK;
	}
	off += s->base;
	while (len) {
		size_t want = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
		ssize_t n = pread(s->fd, p, want, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*reason = "cannot read the source file";
			return MIMEO_EIO;
		}
		if (n == 0) {
			*reason = "the source file shrank after it was parsed";
			errno = ESTALE;
			return MIMEO_EIO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
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
/* Options                                                             */
/* ------------------------------------------------------------------ */

static void set_reason(const mimeo_message_options *opts, const char *reason)
{
	if (opts && opts->version != 1 && opts->reason)
		*opts->reason = reason;
}

static uint64_t opt_max_input(const mimeo_message_options *opts)
{
	return opts && opts->max_input ? opts->max_input : UINT64_MAX;
}

static size_t opt_spool(const mimeo_message_options *opts)
{
	if (opts && opts->version != 1 && opts->spool_memory)
		return opts->spool_memory;
	return MIMEO__SPOOL_DEFAULT;
}

static const char *opt_tmpdir(const mimeo_message_options *opts)
{
	return opts && opts->version != 1 ? opts->tmpdir : NULL;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

int mimeo_message_parse_buffer(mimeo_message **out, const void *data, size_t len,
			       const mimeo_message_options *opts)
{
	mimeo__tree_build *b;
	mimeo_message *m;
	mimeo__source *s;
	int rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!data && len)
		return MIMEO_EINVAL;
	rc = mimeo__tree_new(&m, opts);
	if (rc != MIMEO_OK)
		return rc;
	s = &m->srcs[0];
	if (opts && (opts->flags & MIMEO_MESSAGE_BORROW)) {
		s->mem = data ? data : "";
	} else {
		s->owned = mimeo__malloc(m->alloc, len ? len : 1);
		if (!s->owned) {
			mimeo_message_free(m);
			return MIMEO_ENOMEM;
		}
		if (len)
			memcpy(s->owned, data, len);
		s->mem = s->owned;
	}
	s->len = len;
	rc = mimeo__tree_start(m, opts, &b);
	if (rc == MIMEO_OK)
		rc = mimeo__tree_feed(b, s->mem, len);
	rc = mimeo__tree_finish(b, rc);
	if (rc != MIMEO_OK) {
		mimeo_message_free(m);
		return rc;
	}
	*out = m;
	return MIMEO_OK;
}

/* Parse a seekable file from its offset `base` to its end, in blocks read
 * with pread: the message keeps the descriptor and reads bodies back. */
static int parse_seekable(mimeo_message **out, int fd, const struct stat *st, uint64_t base,
			  const mimeo_message_options *opts)
{
	mimeo__tree_build *b = NULL;
	mimeo_message *m;
	mimeo__source *s;
	char *buf = NULL;
	uint64_t off = 0, max = opt_max_input(opts);
	const char *reason = NULL;
	int rc;

	rc = mimeo__tree_new(&m, opts);
	if (rc != MIMEO_OK) {
		close(fd);
		return rc;
	}
	s = &m->srcs[0];
	s->fd = fd;
	s->base = base;
	s->check = 1;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	buf = mimeo__malloc(m->alloc, MIMEO__IO_BLOCK);
	rc = buf ? mimeo__tree_start(m, opts, &b) : MIMEO_ENOMEM;
	while (rc == MIMEO_OK) {
		ssize_t n = pread(fd, buf, MIMEO__IO_BLOCK, (off_t)(base + off));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			reason = "cannot read the file";
			rc = MIMEO_EIO;
			break;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > max - off) {
			reason = "the input is larger than max_input";
			rc = MIMEO_ELIMIT;
			break;
		}
		off += (uint64_t)n;
		rc = mimeo__tree_feed(b, buf, (size_t)n);
	}
	/* srcs may have moved while parsing (a preamble kept as a body) */
	s = &m->srcs[0];
	s->len = off;
	if (rc == MIMEO_OK) {
		/* a file that grew or shrank while it was parsed: its recorded
		 * state must be the one the offsets describe */
		struct stat now;

		if (fstat(fd, &now) != 0 || !same_file(s, &now) ||
		    (uint64_t)now.st_size != base + off) {
			reason = "the file changed while it was parsed";
			errno = ESTALE;
			rc = MIMEO_EIO;
		}
	}
	mimeo__free(m->alloc, buf);
	rc = mimeo__tree_finish(b, rc);
	if (rc != MIMEO_OK) {
		int saved = errno;

		set_reason(opts, reason ? reason : m->io_error);
		mimeo_message_free(m);
		errno = saved;
		return rc;
	}
	*out = m;
	return MIMEO_OK;
}

/* Parse what `rd` gives, spooling it as it goes (memory, then a file). */
static int parse_spooled(mimeo_message **out, mimeo_read_fn rd, void *ctx,
			 const mimeo_message_options *opts)
{
	mimeo__tree_build *b = NULL;
	mimeo_message *m;
	mimeo__spool sp;
	char *buf = NULL;
	uint64_t total = 0, max = opt_max_input(opts);
	const char *reason = NULL;
	int rc;

	rc = mimeo__tree_new(&m, opts);
	if (rc != MIMEO_OK)
		return rc;
	mimeo__spool_init(&sp, m->alloc, opt_spool(opts), opt_tmpdir(opts));
	buf = mimeo__malloc(m->alloc, MIMEO__IO_BLOCK);
	rc = buf ? mimeo__tree_start(m, opts, &b) : MIMEO_ENOMEM;
	while (rc == MIMEO_OK) {
		size_t got = 0;

		rc = rd(buf, MIMEO__IO_BLOCK, &got, ctx);
		if (rc != MIMEO_OK) {
			if (rc > 0)
				rc = MIMEO_EUSER;
			reason = "reading the input failed";
			break;
		}
		if (got > MIMEO__IO_BLOCK) {
			rc = MIMEO_EINVAL;
			break;
		}
		if (!got)
			break;
		if (got > max - total) {
			reason = "the input is larger than max_input";
			rc = MIMEO_ELIMIT;
			break;
		}
		total += got;
		rc = mimeo__spool_write(&sp, buf, got);
		if (rc == MIMEO_EIO)
			reason = sp.reason;
		if (rc == MIMEO_OK)
			rc = mimeo__tree_feed(b, buf, got);
	}
	mimeo__free(m->alloc, buf);
	if (rc == MIMEO_OK)
		mimeo__spool_finish(&sp, &m->srcs[0]);
	mimeo__spool_dispose(&sp);
	rc = mimeo__tree_finish(b, rc);
	if (rc != MIMEO_OK) {
		int saved = errno;

		set_reason(opts, reason ? reason : m->io_error);
		mimeo_message_free(m);
		errno = saved;
		return rc;
	}
	*out = m;
	return MIMEO_OK;
}

int mimeo_message_parse_stream(mimeo_message **out, mimeo_read_fn read, void *ctx,
			       const mimeo_message_options *opts)
{
	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!read || (opts && opts->version != 1 && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	return parse_spooled(out, read, ctx, opts);
}

static int fd_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	int fd = *(int *)ctx;

	if (cap > (size_t)1 << 30)
		cap = (size_t)1 << 30;
	for (;;) {
		ssize_t n = read(fd, buf, cap);

		if (n >= 0) {
			*got = (size_t)n;
			return MIMEO_OK;
		}
		if (errno != EINTR)
			return MIMEO_EIO;
	}
}

/* Parse from fd, which this function owns (closes or hands on). */
static int parse_owned_fd(mimeo_message **out, int fd, const mimeo_message_options *opts)
{
	struct stat st;
	off_t at;
	int rc;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (at = lseek(fd, 0, SEEK_CUR)) >= 0 && at <= st.st_size)
		return parse_seekable(out, fd, &st, (uint64_t)at, opts);
	rc = parse_spooled(out, fd_read, &fd, opts);
	close(fd);
	return rc;
}

int mimeo_message_parse_fd(mimeo_message **out, int fd, const mimeo_message_options *opts)
{
	struct stat st;
	int own, rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (fd < 0 || (opts && opts->version != 1 && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t at = lseek(fd, 0, SEEK_CUR);

		/* The message keeps its own descriptor for pread; the
		 * caller's is left at the end of the file, as if read. */
		own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (own < 0)
			return MIMEO_EIO;
		if (at < 0 || at > st.st_size)
			at = st.st_size;
		rc = parse_seekable(out, own, &st, (uint64_t)at, opts);
		if (rc == MIMEO_OK)
			lseek(fd, 0, SEEK_END);
		return rc;
	}
	return parse_spooled(out, fd_read, &fd, opts);
}

/* ------------------------------------------------------------------ */
/* .gz input: the one place mimeo reads gzip (the CLI uses it too)     */
/* ------------------------------------------------------------------ */

struct mimeo_reader {
	const mimeo_allocator *alloc;
	int fd;                /* plain input, or -1 */
	gzFile gz;             /* compressed input, or NULL */
	const char *error;     /* why the last read failed */
};

static int ends_with_gz(const char *path)
{
	size_t n = strlen(path);

	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

int mimeo_reader_open(mimeo_reader **out, const char *path, int fd,
		      const mimeo_allocator *alloc)
{
	mimeo_reader *r;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!path && fd < 0)
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
	if (path && ends_with_gz(path)) {
		r->gz = gzdopen(r->fd, "rb");
		if (!r->gz) {
			close(r->fd);
			mimeo__free(alloc, r);
			return MIMEO_ENOMEM;
		}
		r->fd = -1;
		/* 256 KiB so zlib refills rarely on large archives */
		gzbuffer(r->gz, 256 * 1024);
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
			const char *msg = gzerror(r->gz, &errnum);

			r->error = errnum == Z_ERRNO ? strerror(errno) : msg;
			return MIMEO_EIO;
		}
		if (n == 0) {
			/* zlib reports a truncated stream only here */
			gzerror(r->gz, &errnum);
			if (errnum == Z_BUF_ERROR) {
				r->error = "unexpected end of compressed data";
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
			return MIMEO_EIO;
		}
	}
}

int mimeo_reader_is_compressed(const mimeo_reader *r)
{
	return r->gz != NULL;
}

int mimeo_reader_fd(const mimeo_reader *r)
{
	return r->gz ? -1 : r->fd;
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

int mimeo_message_parse_file(mimeo_message **out, const char *path,
			     const mimeo_message_options *opts)
{
	mimeo_reader *r;
	int fd, rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!path || (opts && opts->version != 1 && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	if (!ends_with_gz(path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			set_reason(opts, "cannot open the file");
			return MIMEO_EIO;
		}
		return parse_owned_fd(out, fd, opts);
	}
	rc = mimeo_reader_open(&r, path, -1, opts ? opts->alloc : NULL);
	if (rc != MIMEO_OK) {
		set_reason(opts, "cannot open the file");
		return rc;
	}
	rc = parse_spooled(out, mimeo_reader_read, r, opts);
	if (rc == MIMEO_EIO && r->error)
		set_reason(opts, "cannot read the compressed file");
	mimeo_reader_close(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Raw bytes                                                           */
/* ------------------------------------------------------------------ */

const char *mimeo_message_source(const mimeo_message *m, size_t *len)
{
	const mimeo__source *s = &m->srcs[0];

	if (len)
		*len = s->mem ? (size_t)s->len : 0;
	return s->mem;
}

uint64_t mimeo_message_source_size(const mimeo_message *m)
{
	return m->srcs[0].len;
}

int mimeo__message_fail(const mimeo_message *m, int rc, const char *reason)
{
	mimeo_message *mm = (mimeo_message *)m;

	if (rc == MIMEO_EIO && reason)
		atomic_store(&mm->io_error, reason);
	return rc;
}

const char *mimeo_message_io_error(const mimeo_message *m)
{
	return atomic_load(&((mimeo_message *)m)->io_error);
}

int mimeo_message_read_source(const mimeo_message *m, uint64_t offset, void *buf,
			      size_t len)
{
	const char *reason = NULL;
	int rc;

	if (!m || (!buf && len))
		return MIMEO_EINVAL;
	rc = mimeo__source_check(&m->srcs[0], &reason);
	if (rc == MIMEO_OK)
		rc = mimeo__source_read(&m->srcs[0], offset, buf, len, &reason);
	return mimeo__message_fail(m, rc, reason);
}

static int map_write(int r)
{
	return r == 0 ? MIMEO_OK : r < 0 ? r : MIMEO_EUSER;
}

/* Write bytes [start, end) of source `s` to `write`, in blocks. */
int mimeo__source_write(const mimeo_message *m, const mimeo__source *s, uint64_t start,
			uint64_t end, mimeo_write_fn write, void *ctx)
{
	const char *reason = NULL;
	char *buf;
	int rc;

	if (start >= end)
		return MIMEO_OK;
	if (s->mem)
		return map_write(write(s->mem + start, (size_t)(end - start), ctx));
	rc = mimeo__source_check(s, &reason);
	if (rc != MIMEO_OK)
		return mimeo__message_fail(m, rc, reason);
	buf = mimeo__malloc(m->alloc, MIMEO__IO_BLOCK);
	if (!buf)
		return MIMEO_ENOMEM;
	while (start < end && rc == MIMEO_OK) {
		size_t n = end - start < MIMEO__IO_BLOCK ? (size_t)(end - start) : MIMEO__IO_BLOCK;

		rc = mimeo__source_read(s, start, buf, n, &reason);
		if (rc == MIMEO_OK)
			rc = map_write(write(buf, n, ctx));
		start += n;
	}
	mimeo__free(m->alloc, buf);
	return mimeo__message_fail(m, rc, reason);
}

int mimeo_message_write_source(const mimeo_message *m, mimeo_write_fn write, void *ctx)
{
	if (!m || !write)
		return MIMEO_EINVAL;
	return mimeo__source_write(m, &m->srcs[0], 0, m->srcs[0].len, write, ctx);
}

int mimeo_part_write_raw(const mimeo_part *p, mimeo_write_fn write, void *ctx)
{
	const mimeo_message *m;

	if (!p || !write)
		return MIMEO_EINVAL;
	m = mimeo__part_message(p);
	return mimeo__source_write(m, &m->srcs[p->src], p->header_offset, p->end_offset, write,
				   ctx);
}

/* ------------------------------------------------------------------ */
/* A contiguous view for mimeo_to7bit                                  */
/* ------------------------------------------------------------------ */

int mimeo__message_map(const mimeo_message *m, const char **data, size_t *len, void **cookie)
{
	const mimeo__source *s = &m->srcs[0];
	const char *reason = NULL;
	void *p;
	int rc;

	*cookie = NULL;
	if (s->mem) {
		*data = s->mem;
		*len = (size_t)s->len;
		return MIMEO_OK;
	}
	if (s->len > SIZE_MAX)
		return MIMEO_ENOMEM;
	rc = mimeo__source_check(s, &reason);
	if (rc != MIMEO_OK)
		return mimeo__message_fail(m, rc, reason);
	if (!s->len) {
		*data = "";
		*len = 0;
		return MIMEO_OK;
	}
	/* mmap wants a page-aligned offset */
	{
		long pg = sysconf(_SC_PAGESIZE);
		uint64_t lead = s->base % (uint64_t)(pg > 0 ? pg : 4096);

		p = mmap(NULL, (size_t)(s->len + lead), PROT_READ, MAP_PRIVATE, s->fd,
			 (off_t)(s->base - lead));
		if (p == MAP_FAILED)
			return mimeo__message_fail(m, MIMEO_EIO, "cannot map the source file");
		*cookie = p;
		*data = (const char *)p + lead;
		*len = (size_t)s->len;
		return MIMEO_OK;
	}
}

void mimeo__message_unmap(void *cookie, const char *data, size_t len)
{
	if (cookie)
		munmap(cookie, (size_t)(data - (const char *)cookie) + len);
}
