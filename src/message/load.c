/*
 * load.c - the entry points that read a message from a buffer, a file, a
 * descriptor, a .gz file or a read callback into a tree (issue 13), and
 * the raw-byte access built on its sources: mimeo_message_source(),
 * mimeo_message_read_source(), mimeo_part_write_raw(),
 * mimeo_message_write_source(), and the contiguous view mimeo_to7bit uses.
 * Above message.c (the tree) and source.c (sources, spools, readers) in
 * the call graph: neither calls back into this file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "message-priv.h"

#include "io-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimeo/builder.h"

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
	if (!data && len) {
		set_reason(opts, "NULL data with a non-zero length");
		return MIMEO_EINVAL;
	}
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

/* End a parse: the tree is finished and handed out in *out, or on failure
 * freed with the reason set (`reason`, else the tree's I/O error) and
 * errno kept for the caller. */
static int finish(mimeo_message **out, mimeo_message *m, mimeo__tree_build *b, int rc,
		  const char *reason, const mimeo_message_options *opts)
{
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

/* Parse `len` bytes of a seekable file from its offset `base` (len ==
 * UINT64_MAX: to its end), in blocks read with pread: the message keeps
 * the descriptor (which this function owns) and reads bodies back. */
static int parse_seekable(mimeo_message **out, int fd, const struct stat *st, uint64_t base,
			  uint64_t len, const mimeo_message_options *opts)
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
	while (rc == MIMEO_OK && off < len) {
		size_t want = len - off < MIMEO__IO_BLOCK ? (size_t)(len - off) : MIMEO__IO_BLOCK;
		size_t n;

		if (mimeo__pread_full(fd, buf, want, base + off, &n) != MIMEO_OK) {
			reason = "cannot read the file";
			rc = MIMEO_EIO;
			break;
		}
		if ((uint64_t)n > max - off) {
			reason = "the input is larger than max_input";
			rc = MIMEO_ELIMIT;
			break;
		}
		off += (uint64_t)n;
		if (n)
			rc = mimeo__tree_feed(b, buf, n);
		if (n < want) {
			/* the end of the file: where it ends, or short of a range
			 * that the file no longer covers */
			if (rc == MIMEO_OK && len != UINT64_MAX) {
				reason = "the file is shorter than the range to parse";
				errno = ESTALE;
				rc = MIMEO_EIO;
			}
			break;
		}
	}
	/* srcs may have moved while parsing (a preamble kept as a body) */
	s = &m->srcs[0];
	s->len = off;
	if (rc == MIMEO_OK) {
		/* a file that grew or shrank while it was parsed: its recorded
		 * state must be the one the offsets describe */
		struct stat now;

		if (fstat(fd, &now) != 0 || !mimeo__source_same(s, &now) ||
		    (len == UINT64_MAX && (uint64_t)now.st_size != base + off)) {
			reason = "the file changed while it was parsed";
			errno = ESTALE;
			rc = MIMEO_EIO;
		}
	}
	mimeo__free(m->alloc, buf);
	return finish(out, m, b, rc, reason, opts);
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
	return finish(out, m, b, rc, reason, opts);
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
		return parse_seekable(out, fd, &st, (uint64_t)at, UINT64_MAX, opts);
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
		rc = parse_seekable(out, own, &st, (uint64_t)at, UINT64_MAX, opts);
		if (rc == MIMEO_OK)
			lseek(fd, 0, SEEK_END);
		return rc;
	}
	return parse_spooled(out, fd_read, &fd, opts);
}

int mimeo_message_parse_fd_range(mimeo_message **out, int fd, uint64_t offset, uint64_t length,
				 const mimeo_message_options *opts)
{
	struct stat st;
	int own;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (fd < 0 || length > UINT64_MAX - offset ||
	    (opts && opts->version != 1 && !MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION)))
		return MIMEO_EINVAL;
	if (fstat(fd, &st) != 0)
		return MIMEO_EIO;
	if (!S_ISREG(st.st_mode)) {
		errno = ESPIPE;
		set_reason(opts, "a range needs a regular file");
		return MIMEO_EINVAL;
	}
	if (offset + length > (uint64_t)st.st_size) {
		errno = EINVAL;
		set_reason(opts, "the file is shorter than the range to parse");
		return MIMEO_EIO;
	}
	/* the message keeps its own descriptor; the caller's is untouched */
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return MIMEO_EIO;
	return parse_seekable(out, own, &st, offset, length, opts);
}

static int ends_with_gz(const char *path)
{
	size_t n = strlen(path);

	return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
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
	rc = mimeo_reader_open(&r, path, -1, 0, opts ? opts->alloc : NULL);
	if (rc != MIMEO_OK) {
		set_reason(opts, "cannot open the file");
		return rc;
	}
	rc = parse_spooled(out, mimeo_reader_read, r, opts);
	if (rc == MIMEO_EIO && mimeo__reader_reason(r)) {
		int saved = errno; /* EBADMSG for bad gzip data, else the system's */

		set_reason(opts, mimeo__reader_reason(r));
		mimeo_reader_close(r);
		errno = saved;
		return rc;
	}
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
	/* a derived node has no bytes of its own in a source: as written is
	 * as produced (mimeo/expand.h) */
	if (p->flags & MIMEO_PART_DERIVED)
		return m->derived_run(p, write, ctx);
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
