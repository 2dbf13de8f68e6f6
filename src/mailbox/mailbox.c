/*
 * mailbox.c - mbox files and Maildir folders, message by message
 * (mimeo/mailbox.h).
 *
 * An mbox is mapped (or, for gzip and pipes, read into memory once
 * through mimeo_reader, the library's one gzip reader) and
 * indexed in one pass: the parser's line-start scanner jumps from "\nF"
 * to "\nF", and mimeo__mbox_find_from() (parser.c, the parser's own rule)
 * decides which of those lines start a message.  The index is an array of
 * (offset, size) pairs, 16 bytes a message, so message N is one lookup
 * away.  A Maildir is indexed from its directory listings; its files are
 * mapped one at a time when asked for.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common-priv.h"
#include "parser-priv.h"
#include "mimeo/mailbox.h"
#include "mimeo/message.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* One message: where it is in the mbox, or which Maildir file. */
typedef struct mb_entry {
	uint64_t off;    /* mbox: offset of its From_ line; Maildir: 0 */
	uint64_t size;   /* bytes (mbox: separator excluded) */
	char *path;      /* Maildir: its file; NULL otherwise */
} mb_entry;

struct mimeo_mailbox {
	const mimeo_allocator *a;
	int type;              /* MIMEO_MAILBOX_* */
	char *path;            /* copy of the path opened, NULL for a buffer */
	/* mbox and single file: the whole content */
	const char *data;
	size_t len;
	void *map;             /* the mapping of `data`, or NULL */
	char *owned;           /* or the buffer it was read into */
	mimeo_reader *reader;  /* the mapped file's reader, owning `fd` */
	int fd;                /* the mapped file, kept to notice shrinking */
	/* the index */
	mb_entry *e;
	size_t count, cap;
	size_t skipped;        /* Maildir entries that are not messages */
	uint64_t total;        /* mimeo_mailbox_size() */
	/* Maildir: the message file mapped by the last mimeo_mailbox_message */
	void *msg_map;
	size_t msg_map_len;
	size_t max_messages;
	uint64_t max_inflated;
	/* mimeo_mailbox_open_range: index the messages starting in [lo, hi) */
	uint64_t lo, hi;
	mimeo__scan_fn scan;
	char err[320];         /* mimeo_mailbox_error() */
};

static int set_err(mimeo_mailbox *mb, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(mimeo_mailbox *mb, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mb->err, sizeof(mb->err), fmt, ap);
	va_end(ap);
	return rc;
}

static int add_entry(mimeo_mailbox *mb, uint64_t off, uint64_t size, char *path)
{
	if (mb->count >= mb->max_messages)
		return set_err(mb, MIMEO_ELIMIT, "more than %zu messages (max_messages)",
			       mb->max_messages);
	if (mimeo__array_reserve(mb->a, (void **)&mb->e, &mb->cap, mb->count, sizeof(*mb->e), 64))
		return MIMEO_ENOMEM;
	mb->e[mb->count].off = off;
	mb->e[mb->count].size = size;
	mb->e[mb->count].path = path;
	mb->count++;
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* mbox                                                                */
/* ------------------------------------------------------------------ */

/* Index data[0..len): one entry per message, split where the parser
 * splits (the separator line break belongs to neither message). */
static int index_mbox(mimeo_mailbox *mb)
{
	const char *d = mb->data;
	size_t len = mb->len, o = 0;
	int rc;

	if (mb->lo > 0) /* a range: from its first message start */
		o = mb->lo >= len ? len : mimeo__mbox_find_from(d, len, (size_t)mb->lo, mb->scan);
	while (o < len && o < mb->hi) {
		size_t next = mimeo__mbox_find_from(d, len, o + 1, mb->scan), end = next;

		if (next < len)
			end = next - mimeo__mbox_separator(d, next);
		/* an empty first message ("\nFrom ..." at the start): keep its
		 * empty line, or it would parse as no message at all */
		if (end == o)
			end = next;
		rc = add_entry(mb, o, end - o, NULL);
		if (rc != MIMEO_OK)
			return rc;
		o = next;
	}
	return MIMEO_OK;
}

/* Type and index the content in mb->data. */
static int index_content(mimeo_mailbox *mb, unsigned flags)
{
	mb->total = mb->len;
	if ((flags & MIMEO_MAILBOX_FORCE_MBOX) || mb->len == 0 ||
	    mimeo_mailbox_is_mbox(mb->data, mb->len)) {
		mb->type = MIMEO_MAILBOX_MBOX;
		return index_mbox(mb);
	}
	mb->type = MIMEO_MAILBOX_SINGLE;
	if (mb->lo > 0 || mb->hi == 0)
		return MIMEO_OK; /* a range without offset 0 */
	return add_entry(mb, 0, mb->len, NULL);
}

/* A failed read of the input: the reader's words (zlib's for bad or
 * cut-off gzip data, errno EBADMSG; else the system's, errno kept). */
static int read_fail(mimeo_mailbox *mb, const mimeo_reader *r)
{
	int e = errno;

	set_err(mb, MIMEO_EIO, "cannot read %s: %s", mb->path, mimeo_reader_error(r));
	errno = e;
	return MIMEO_EIO;
}

/* Read all of `r` (gzip, or a pipe: nothing to map) into mb->owned, at
 * most max_inflated bytes. */
static int read_all(mimeo_mailbox *mb, mimeo_reader *r)
{
	size_t cap = 0, used = 0, got;

	for (;;) {
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 1 << 16;
			char *n;

			if ((uint64_t)used >= mb->max_inflated) {
				/* one more byte tells whether there is more */
				char probe;

				if (mimeo_reader_read(&probe, 1, &got, r) != MIMEO_OK)
					return read_fail(mb, r);
				if (got)
					return set_err(mb, MIMEO_ELIMIT, "%s: %s more than %llu bytes",
						       mb->path,
						       mimeo_reader_is_compressed(r) ? "decompresses to"
										     : "holds",
						       (unsigned long long)mb->max_inflated);
				break;
			}
			if ((uint64_t)ncap > mb->max_inflated)
				ncap = (size_t)mb->max_inflated;
			n = mimeo__realloc(mb->a, mb->owned, ncap);
			if (!n)
				return set_err(mb, MIMEO_ENOMEM, "out of memory");
			mb->owned = n;
			cap = ncap;
		}
		if (mimeo_reader_read(mb->owned + used, cap - used, &got, r) != MIMEO_OK)
			return read_fail(mb, r);
		if (!got)
			break;
		used += got;
	}
	mb->data = mb->owned ? mb->owned : "";
	mb->len = used;
	return MIMEO_OK;
}

/* Close the reader, keeping errno (the reason of a failure before). */
static void close_reader(mimeo_reader *r)
{
	int e = errno;

	mimeo_reader_close(r);
	errno = e;
}

static int open_file(mimeo_mailbox *mb, unsigned flags)
{
	struct stat st;
	mimeo_reader *r;
	int fd, rc;

	/* By content, not by name: a gzip mailbox is found by its magic
	 * bytes also when it is a pipe or misnamed, and a plain file named
	 * ".gz" is mapped like any other. */
	rc = mimeo_reader_open(&r, mb->path, -1, MIMEO_READER_DETECT, mb->a);
	if (rc == MIMEO_EIO)
		return set_err(mb, rc, "cannot open %s: %s", mb->path, strerror(errno));
	if (rc != MIMEO_OK)
		return set_err(mb, rc, "%s: out of memory", mb->path);
	fd = mimeo_reader_fd(r);
	if (fd >= 0 && fstat(fd, &st) < 0) {
		int e = errno;

		close_reader(r);
		errno = e;
		return set_err(mb, MIMEO_EIO, "cannot read %s: %s", mb->path, strerror(e));
	}
	if (fd < 0 || !S_ISREG(st.st_mode)) {
		/* gzip or a pipe: read into memory once */
		rc = read_all(mb, r);
		close_reader(r);
		return rc != MIMEO_OK ? rc : index_content(mb, flags);
	}
	mb->reader = r; /* owns fd, kept to notice the file shrinking */
	if (st.st_size > 0) {
		if ((uint64_t)st.st_size > SIZE_MAX)
			return set_err(mb, MIMEO_ELIMIT, "%s is too large to map", mb->path);
		mb->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (mb->map == MAP_FAILED) {
			int e = errno;

			mb->map = NULL;
			errno = e;
			return set_err(mb, MIMEO_EIO, "cannot map %s: %s", mb->path, strerror(e));
		}
		/* the index pass reads it front to back once */
		madvise(mb->map, (size_t)st.st_size, MADV_SEQUENTIAL);
		mb->data = mb->map;
		mb->len = (size_t)st.st_size;
	} else {
		mb->data = "";
		mb->len = 0;
	}
	mb->fd = fd;
	rc = index_content(mb, flags);
	if (mb->map)
		madvise(mb->map, mb->len, MADV_NORMAL);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Maildir                                                             */
/* ------------------------------------------------------------------ */

static int entry_cmp(const void *x, const void *y)
{
	const mb_entry *a = x, *b = y;
	const char *na = strrchr(a->path, '/') + 1, *nb = strrchr(b->path, '/') + 1;
	int c = strcmp(na, nb);

	if (c)
		return c;
	/* the same name in new/ and cur/: new/ first ("new" > "cur", so
	 * compare the other way round) */
	return -strcmp(a->path, b->path);
}

/* List DIR/sub into the index.  A missing subfolder is fine. */
static int list_sub(mimeo_mailbox *mb, const char *sub, int *found)
{
	size_t plen = strlen(mb->path), slen = strlen(sub), dlen;
	char *dir;
	DIR *d;
	struct dirent *de;
	int rc = MIMEO_OK;

	if (!mimeo__add_ok(plen, slen + 2, &dlen))
		return MIMEO_ENOMEM;
	dir = mimeo__malloc(mb->a, dlen);
	if (!dir)
		return MIMEO_ENOMEM;
	snprintf(dir, dlen, "%s/%s", mb->path, sub);
	d = opendir(dir);
	if (!d) {
		int e = errno;

		if (e == ENOENT) {
			mimeo__free(mb->a, dir);
			return MIMEO_OK;
		}
		rc = set_err(mb, MIMEO_EIO, "cannot read %s: %s", dir, strerror(e));
		mimeo__free(mb->a, dir);
		errno = e;
		return rc;
	}
	*found = 1;
	for (;;) {
		struct stat st;
		size_t nlen, flen;
		char *path;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = set_err(mb, MIMEO_EIO, "cannot read %s: %s", dir,
					     strerror(errno));
			break;
		}
		if (de->d_name[0] == '.')
			continue; /* ".", "..", and hidden files (Maildir++) */
		nlen = strlen(de->d_name);
		if (!mimeo__add_ok(dlen, nlen + 1, &flen)) {
			rc = MIMEO_ENOMEM;
			break;
		}
		path = mimeo__malloc(mb->a, flen);
		if (!path) {
			rc = MIMEO_ENOMEM;
			break;
		}
		snprintf(path, flen, "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			/* a subfolder, a socket, a dangling link: not a
			 * message, but counted (mimeo_mailbox_skipped) */
			mimeo__free(mb->a, path);
			mb->skipped++;
			continue;
		}
		rc = add_entry(mb, 0, (uint64_t)st.st_size, path);
		if (rc != MIMEO_OK) {
			mimeo__free(mb->a, path);
			break;
		}
		mb->total += (uint64_t)st.st_size;
	}
	closedir(d);
	mimeo__free(mb->a, dir);
	return rc;
}

static int open_maildir(mimeo_mailbox *mb)
{
	int found = 0, rc;

	mb->type = MIMEO_MAILBOX_MAILDIR;
	rc = list_sub(mb, "new", &found);
	if (rc == MIMEO_OK)
		rc = list_sub(mb, "cur", &found);
	if (rc != MIMEO_OK)
		return rc;
	if (!found) {
		errno = ENOTDIR;
		return set_err(mb, MIMEO_EIO, "%s is a folder but no Maildir (no cur/ or new/)",
			       mb->path);
	}
	if (mb->count > 1)
		qsort(mb->e, mb->count, sizeof(*mb->e), entry_cmp);
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */
/* ------------------------------------------------------------------ */

static int mailbox_new(mimeo_mailbox **out, const mimeo_mailbox_options *opts)
{
	const mimeo_allocator *a = opts ? opts->alloc : NULL;
	mimeo_mailbox *mb;

	if (opts && !MIMEO__VERSION_OK(opts->version, MIMEO_MAILBOX_OPTIONS_VERSION))
		return MIMEO_EINVAL;
	mb = mimeo__calloc(a, 1, sizeof(*mb));
	if (!mb)
		return MIMEO_ENOMEM;
	mb->a = a;
	mb->fd = -1;
	mb->max_messages = opts && opts->max_messages ? opts->max_messages
						      : MIMEO_MAILBOX_DEFAULT_MAX_MESSAGES;
	mb->max_inflated = opts && opts->max_inflated ? opts->max_inflated
						      : MIMEO_MAILBOX_DEFAULT_MAX_INFLATED;
	mb->scan = mimeo__parser_scan_for(opts ? opts->isa : MIMEO_ISA_AUTO);
	mb->hi = UINT64_MAX;
	*out = mb;
	return MIMEO_OK;
}

/* mimeo_mailbox_open and _open_range: the messages starting in [lo, hi). */
static int open_path(mimeo_mailbox **out, const char *path, uint64_t lo, uint64_t hi,
		     const mimeo_mailbox_options *opts)
{
	mimeo_mailbox *mb;
	struct stat st;
	int rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!path)
		return MIMEO_EINVAL;
	rc = mailbox_new(&mb, opts);
	if (rc != MIMEO_OK)
		return rc;
	mb->lo = lo;
	mb->hi = hi;
	mb->path = mimeo__strndup(mb->a, path, strlen(path));
	if (!mb->path) {
		mimeo_mailbox_free(mb);
		return MIMEO_ENOMEM;
	}
	if (stat(path, &st) < 0) {
		rc = MIMEO_EIO;
	} else if (S_ISDIR(st.st_mode) && (lo > 0 || hi < UINT64_MAX)) {
		rc = MIMEO_EINVAL; /* a folder's messages have no offsets */
	} else if (S_ISDIR(st.st_mode)) {
		rc = open_maildir(mb);
	} else {
		rc = open_file(mb, opts ? opts->flags : 0);
	}
	if (rc != MIMEO_OK) {
		int e = errno;

		mimeo_mailbox_free(mb);
		errno = e;
		return rc;
	}
	*out = mb;
	return MIMEO_OK;
}

int mimeo_mailbox_open(mimeo_mailbox **out, const char *path, const mimeo_mailbox_options *opts)
{
	return open_path(out, path, 0, UINT64_MAX, opts);
}

int mimeo_mailbox_open_range(mimeo_mailbox **out, const char *path, uint64_t offset,
			     uint64_t length, const mimeo_mailbox_options *opts)
{
	uint64_t hi = length > UINT64_MAX - offset ? UINT64_MAX - 1 : offset + length;

	/* UINT64_MAX is "no range" (which a Maildir may have): a range never
	 * reaches it, which no file does either */
	if (hi == UINT64_MAX)
		hi--;
	return open_path(out, path, offset, hi, opts);
}

int mimeo_mailbox_open_buffer(mimeo_mailbox **out, const void *data, size_t len,
			      const mimeo_mailbox_options *opts)
{
	mimeo_mailbox *mb;
	int rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!data && len)
		return MIMEO_EINVAL;
	rc = mailbox_new(&mb, opts);
	if (rc != MIMEO_OK)
		return rc;
	mb->data = data ? data : "";
	mb->len = len;
	rc = index_content(mb, opts ? opts->flags : 0);
	if (rc != MIMEO_OK) {
		mimeo_mailbox_free(mb);
		return rc;
	}
	*out = mb;
	return MIMEO_OK;
}

void mimeo_mailbox_free(mimeo_mailbox *mb)
{
	size_t i;

	if (!mb)
		return;
	for (i = 0; i < mb->count; i++)
		mimeo__free(mb->a, mb->e[i].path);
	mimeo__free(mb->a, mb->e);
	if (mb->map)
		munmap(mb->map, mb->len);
	if (mb->msg_map)
		munmap(mb->msg_map, mb->msg_map_len);
	mimeo_reader_close(mb->reader); /* closes fd */
	mimeo__free(mb->a, mb->owned);
	mimeo__free(mb->a, mb->path);
	mimeo__free(mb->a, mb);
}

int mimeo_mailbox_type(const mimeo_mailbox *mb)
{
	return mb ? mb->type : 0;
}

size_t mimeo_mailbox_count(const mimeo_mailbox *mb)
{
	return mb ? mb->count : 0;
}

uint64_t mimeo_mailbox_size(const mimeo_mailbox *mb)
{
	return mb ? mb->total : 0;
}

size_t mimeo_mailbox_skipped(const mimeo_mailbox *mb)
{
	return mb ? mb->skipped : 0;
}

int mimeo_mailbox_entry_get(const mimeo_mailbox *mb, size_t n, mimeo_mailbox_entry *e)
{
	if (!mb || !e)
		return MIMEO_EINVAL;
	if (n == 0 || n > mb->count)
		return MIMEO_ENOTFOUND;
	e->number = n;
	e->offset = mb->e[n - 1].off;
	e->size = mb->e[n - 1].size;
	e->path = mb->e[n - 1].path ? mb->e[n - 1].path : mb->path;
	return MIMEO_OK;
}

/* Map Maildir message `e` into mb->msg_map (replacing the last one). */
static int map_maildir(mimeo_mailbox *mb, const mb_entry *e, const char **data, size_t *len)
{
	struct stat st;
	void *map;
	int fd;

	if (mb->msg_map) {
		munmap(mb->msg_map, mb->msg_map_len);
		mb->msg_map = NULL;
	}
	fd = open(e->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_err(mb, MIMEO_EIO, "cannot open %s: %s", e->path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return set_err(mb, MIMEO_EIO, "cannot read %s: %s", e->path,
			       errno ? strerror(errno) : "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		*data = "";
		*len = 0;
		return MIMEO_OK;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return set_err(mb, MIMEO_ELIMIT, "%s is too large to map", e->path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return set_err(mb, MIMEO_EIO, "cannot map %s: %s", e->path, strerror(errno));
	mb->msg_map = map;
	mb->msg_map_len = (size_t)st.st_size;
	*data = map;
	*len = (size_t)st.st_size;
	return MIMEO_OK;
}

int mimeo_mailbox_message(mimeo_mailbox *mb, size_t n, const char **data, size_t *len)
{
	const mb_entry *e;

	if (!mb || !data || !len)
		return MIMEO_EINVAL;
	if (n == 0 || n > mb->count)
		return set_err(mb, MIMEO_ENOTFOUND, "no message %zu (the mailbox holds %zu)", n,
			       mb->count);
	e = &mb->e[n - 1];
	if (mb->type == MIMEO_MAILBOX_MAILDIR)
		return map_maildir(mb, e, data, len);
	if (mb->map) {
		/* touching a page past a shrunken file's end raises SIGBUS */
		struct stat st;

		if (fstat(mb->fd, &st) < 0 || (uint64_t)st.st_size < e->off + e->size)
			return set_err(mb, MIMEO_EIO, "%s shrank while open (rewritten?)",
				       mb->path);
	}
	*data = mb->data + e->off;
	*len = (size_t)e->size;
	return MIMEO_OK;
}

unsigned mimeo_mailbox_parse_flags(const mimeo_mailbox *mb)
{
	return mb && mb->type == MIMEO_MAILBOX_MBOX ? MIMEO_PARSE_MBOX : 0;
}

int mimeo_mailbox_parse(mimeo_message **out, mimeo_mailbox *mb, size_t n,
			const mimeo_message_options *opts)
{
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	const char *data;
	size_t len;
	int rc;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (opts) {
		if (!MIMEO__VERSION_OK(opts->version, MIMEO_MESSAGE_OPTIONS_VERSION))
			return MIMEO_EINVAL;
		mo = *opts;
	}
	if (mb->type == MIMEO_MAILBOX_MAILDIR) {
		/* A Maildir message is a file of its own: parsed in place and
		 * read back with pread, never copied (it may hold a 1 GB
		 * attachment); the tree keeps its own descriptor. */
		if (n == 0 || n > mb->count)
			return set_err(mb, MIMEO_ENOTFOUND, "no message %zu (the mailbox holds %zu)",
				       n, mb->count);
		int fd = open(mb->e[n - 1].path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return set_err(mb, MIMEO_EIO, "cannot open %s: %s", mb->e[n - 1].path,
				       strerror(errno));
		/* by descriptor: a name ending in .gz is no reason to inflate */
		mo.flags &= ~(unsigned)MIMEO_MESSAGE_BORROW;
		rc = mimeo_message_parse_fd(out, fd, &mo);
		if (rc == MIMEO_EIO) {
			int e = errno;

			close(fd);
			errno = e;
			return set_err(mb, rc, "cannot read %s: %s", mb->e[n - 1].path,
				       strerror(e));
		}
		close(fd);
		if (rc != MIMEO_OK)
			set_err(mb, rc, "cannot parse message %zu: %s", n, mimeo_strerror(rc));
		return rc;
	}
	rc = mimeo_mailbox_message(mb, n, &data, &len);
	if (rc != MIMEO_OK)
		return rc;
	if (mb->type == MIMEO_MAILBOX_MBOX)
		mo.flags |= MIMEO_MESSAGE_MBOX;
	if (mb->map && !(mo.flags & MIMEO_MESSAGE_BORROW)) {
		/* A mapped file is parsed with pread through the message's own
		 * descriptor, not from the mapping: a file cut while the tree
		 * is built or read (an mbox rewritten in place) then gives
		 * MIMEO_EIO instead of SIGBUS, and the tree may outlive the
		 * mailbox.  MIMEO_MESSAGE_BORROW asks for the mapping. */
		const char *why = NULL;
		const mb_entry *e = &mb->e[n - 1];

		mo.reason = &why;
		rc = mimeo_message_parse_fd_range(out, mb->fd, e->off, e->size, &mo);
		if (opts && opts->reason)
			*opts->reason = why;
		if (rc == MIMEO_EIO)
			return set_err(mb, rc, "cannot read message %zu of %s: %s", n, mb->path,
				       why ? why : strerror(errno));
	} else {
		/* read into memory (.gz, a pipe), or asked for: in place */
		mo.flags |= MIMEO_MESSAGE_BORROW; /* the mailbox outlives the tree */
		rc = mimeo_message_parse_buffer(out, data, len, &mo);
	}
	if (rc != MIMEO_OK)
		set_err(mb, rc, "cannot parse message %zu: %s", n, mimeo_strerror(rc));
	return rc;
}

const char *mimeo_mailbox_error(const mimeo_mailbox *mb)
{
	return mb ? mb->err : "";
}

size_t mimeo_mailbox_next_from(const void *data, size_t len, size_t from)
{
	if (!data || from >= len)
		return len;
	return mimeo__mbox_find_from(data, len, from, mimeo__parser_scan_for(MIMEO_ISA_AUTO));
}

size_t mimeo_mailbox_separator(const void *data, size_t offset)
{
	return data ? mimeo__mbox_separator(data, offset) : 0;
}

int mimeo_mailbox_is_mbox(const void *data, size_t len)
{
	const char *d = data;
	size_t i = 5;

	if (!d || len < 5 || memcmp(d, "From ", 5) != 0)
		return 0;
	/* RFC 5322 4.5.3 obsolete syntax: "From" WSP* ":" is a field */
	while (i < len && (d[i] == ' ' || d[i] == '\t'))
		i++;
	return i == len || d[i] != ':';
}
