/*
 * message-priv.h - the message tree's internals, shared by the files of
 * src/message/ (message.c builds the tree and decodes bodies, source.c
 * holds the sources and spools, pick.c picks the displayed body).
 *
 * What a message keeps (issue 13, "flat memory"): the structure only.
 * Nodes, strings and header fields live in one arena; bodies stay in the
 * source and are read back and decoded on demand:
 *  - source 0 is the input: the caller's buffer (borrowed), a copy of it,
 *    a file read with pread (never copied, never mapped while parsing), or
 *    a spool: a non-seekable input kept in memory up to a threshold and
 *    then in an unlinked temporary file;
 *  - every transfer-encoded message/rfc822 part adds one spooled source
 *    holding its decoded body, which its descendants' offsets count in.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_MESSAGE_PRIV_H
#define MIMEO_MESSAGE_PRIV_H

#include "arena-priv.h"
#include "common-priv.h"
#include "mimeo/message.h"

#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

/* Bytes a spooled input keeps in memory before it moves to a file. */
#define MIMEO__SPOOL_DEFAULT MIMEO_MESSAGE_SPOOL_MEMORY
/* Read and decode block: large enough that a syscall per block is noise,
 * small enough that the block and the page-cache pages it is copied from
 * stay in L2.  Measured on the 367 MB base64 message of bench_tree (AMD
 * EPYC, 512 KiB L2 per core): pread runs at ~3 GB/s in blocks up to 128
 * KiB and drops to ~0.7 GB/s from 192 KiB; 256 KiB blocks made the two
 * reads of `mimeo cat` half of its time. */
#define MIMEO__IO_BLOCK ((size_t)64 << 10)

/* Where a stream of bytes lives: memory, or a file read with pread. */
typedef struct mimeo__source {
	const char *mem;     /* the bytes when in memory, else NULL */
	char *owned;         /* memory this source frees (or NULL) */
	int fd;              /* file descriptor owned by the source, or -1 */
	int check;           /* a caller's file: detect changes on access */
	uint64_t base;       /* file offset of byte 0 */
	uint64_t len;        /* length in bytes */
	/* what fstat said at parse time (check != 0) */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} mimeo__source;

/* A growing byte stream for a non-seekable input or a decoded
 * message/rfc822 body: memory up to `limit`, then an unlinked file. */
typedef struct mimeo__spool {
	const mimeo_allocator *alloc;
	size_t limit;        /* bytes kept in memory at most */
	const char *tmpdir;  /* NULL = $TMPDIR, else /tmp */
	mimeo_buf mem;       /* the bytes while in memory */
	int fd;              /* the temporary file, or -1 */
	uint64_t len;        /* bytes written so far */
	const char *reason;  /* why the last write failed */
} mimeo__spool;

typedef struct mimeo__kv {
	const char *name;  /* lowercased */
	const char *value; /* UTF-8 */
} mimeo__kv;

/* A header field: name and raw value, each stored with its length in the
 * four bytes before it (see lstr_new in message.c). */
typedef struct mimeo__hdr {
	const char *name, *value;
} mimeo__hdr;

/* A part's MIME attributes.  Interned (shared by every part that has the
 * same), since most parts of a large message repeat a handful of them. */
typedef struct mimeo__attrs {
	const char *type, *subtype;  /* lowercased, defaults applied */
	const char *charset;         /* lowercased charset parameter or NULL */
	const char *cte_name;        /* Content-Transfer-Encoding as written */
	const char *disposition;     /* lowercased disposition type or NULL */
	const mimeo__kv *params, *dparams; /* Content-Type / -Disposition */
	uint32_t nparams, ndparams;
} mimeo__attrs;

/* Internal node flag (never shown by mimeo_part_flags): the parser
 * un-quoted ">From " lines in this leaf's body (an mbox message), so the
 * body read back from the source must be un-quoted the same way. */
#define MIMEO__PART_UNQUOTED 0x8000u
/* Internal node flag: a multipart in which no delimiter was found ended as
 * a leaf; its body is the preamble the parser delivered, kept in a source
 * of its own (mimeo_message.bodysrc). */
#define MIMEO__PART_SPOOLED 0x4000u

/* The body of a MIMEO__PART_SPOOLED leaf: srcs[src], all of it. */
typedef struct mimeo__bodysrc {
	const mimeo_part *part;
	uint32_t src;
} mimeo__bodysrc;

/* A defect kept for mimeo_message_defect(): the parser's report and the
 * node that was open when it came (NULL before the root began). */
typedef struct mimeo__defect {
	mimeo_defect d;
	const mimeo_part *part;
} mimeo__defect;

/* One node.  Kept small on purpose: a 10,000-part message must cost less
 * than 2 MiB (issue 13). */
struct mimeo_part {
	mimeo_part *parent, *first_child, *next;
	const char *section;
	const mimeo__attrs *attrs;
	const mimeo__hdr *hdrs;
	uint64_t header_offset, body_offset, end_offset;
	uint64_t size;        /* decoded size of a leaf's body */
	uint32_t nchildren, hdr_count;
	uint32_t src;         /* index of the source its offsets count in */
	uint16_t flags;       /* MIMEO_PART_* (all below 0x10000) */
	uint8_t cte;          /* mimeo_cte */
};

struct mimeo_message {
	const mimeo_allocator *alloc;
	mimeo__arena ar;
	mimeo__source *srcs;   /* srcs[0] is the input, then one per decoded
				  message/rfc822 body */
	size_t nsrcs;
	mimeo_part *root;
	size_t nparts;
	unsigned limits;
	size_t defects;
	/* the first MIMEO_MESSAGE_DEFECTS_KEPT of them, in report order: a
	 * hostile message can hold one defect per few bytes, so the list is
	 * capped while the count above is not */
	mimeo__defect *kept;
	size_t nkept, akept;
	/* leaves whose raw body bytes, as the parser delivered them, were not
	 * exactly [body_offset, end_offset) of the source (never expected;
	 * the tests and fuzz_message check it stays 0) */
	size_t raw_mismatch;
	int mbox;              /* parsed with MIMEO_MESSAGE_MBOX */
	mimeo__bodysrc *bodysrc; /* leaves whose body is not in their source */
	size_t nbodysrc;
	/* the last read failure's reason (a static string): sticky, set by
	 * any thread that finds the source unreadable */
	_Atomic(const char *) io_error;
	mimeo_part root_node;  /* the root lives here: its message is found
				  from any node by walking up */
	/* Derived nodes (MIMEO_PART_DERIVED, added by mimeo_message_expand in
	 * src/expand/, a higher layer): the tree does not know the formats, so
	 * the expander leaves here how their content is produced and its own
	 * table (in the arena).  NULL until a message is expanded. */
	int (*derived_run)(const mimeo_part *p, mimeo_write_fn write, void *ctx);
	const void *derived;
	/* Called by mimeo_message_free() before the arena goes: frees what
	 * the expander keeps outside the arena (the TNEF streams it read). */
	void (*derived_free)(mimeo_message *m);
};

/* For tests and benchmarks: see raw_mismatch; the bytes the tree holds
 * (message, sources table, arena blocks), not counting the source. */
size_t mimeo__message_raw_mismatch(const mimeo_message *m);
size_t mimeo__message_tree_bytes(const mimeo_message *m);

/* The message a node belongs to. */
const mimeo_message *mimeo__part_message(const mimeo_part *p);

/* --- sources (source.c) --- */

void mimeo__source_init(mimeo__source *s);
void mimeo__source_dispose(mimeo__source *s, const mimeo_allocator *alloc);
/* Read len bytes at `off` of source `s` into buf.  MIMEO_EIO with *reason
 * set when the source is shorter than that or the file changed. */
int mimeo__source_read(const mimeo__source *s, uint64_t off, void *buf, size_t len,
		       const char **reason);
struct stat;
/* Does `st` describe the file `s` recorded (identity, size, mtime)? */
int mimeo__source_same(const mimeo__source *s, const struct stat *st);
/* Is the file behind `s` still the one that was parsed?  MIMEO_OK or
 * MIMEO_EIO with *reason. */
int mimeo__source_check(const mimeo__source *s, const char **reason);
/* Why the reader's last read failed, as a static sentence for
 * mimeo_message_options.reason (NULL when none failed). */
const char *mimeo__reader_reason(const mimeo_reader *r);

void mimeo__spool_init(mimeo__spool *sp, const mimeo_allocator *alloc, size_t limit,
		       const char *tmpdir);
/* Append; MIMEO_ENOMEM, or MIMEO_EIO with sp->reason (errno says why). */
int mimeo__spool_write(mimeo__spool *sp, const void *data, size_t len);
/* Hand the bytes over to *out (which must be freshly initialised). */
void mimeo__spool_finish(mimeo__spool *sp, mimeo__source *out);
void mimeo__spool_dispose(mimeo__spool *sp);

/* Record a read failure on the message and pass `rc` on. */
int mimeo__message_fail(const mimeo_message *m, int rc, const char *reason);

/* The whole of source 0 in memory, for code that wants one contiguous
 * view (mimeo_to7bit): the source itself, or a private read-only mapping
 * of its file.  mimeo__message_unmap(cookie) releases it. */
int mimeo__message_map(const mimeo_message *m, const char **data, size_t *len,
		       void **cookie);
void mimeo__message_unmap(void *cookie, const char *data, size_t len);

/* Write bytes [start, end) of source `s` of `m` to `write`, in blocks. */
int mimeo__source_write(const mimeo_message *m, const mimeo__source *s, uint64_t start,
			uint64_t end, mimeo_write_fn write, void *ctx);

/* --- building (message.c), driven by the entry points in source.c --- */

typedef struct mimeo__tree_build mimeo__tree_build;

/* A new, empty message with srcs[0] initialised (the caller fills it). */
int mimeo__tree_new(mimeo_message **out, const mimeo_message_options *opts);
/* Start parsing into m; *b is NULL on failure. */
int mimeo__tree_start(mimeo_message *m, const mimeo_message_options *opts,
		      mimeo__tree_build **b);
/* Parse the next bytes of source 0. */
int mimeo__tree_feed(mimeo__tree_build *b, const char *data, size_t len);
/* End of input when rc is MIMEO_OK (else give up with rc): finish the
 * parse, spool the decoded message/rfc822 bodies, free b (NULL is fine).
 * Returns the final status. */
int mimeo__tree_finish(mimeo__tree_build *b, int rc);

#endif /* MIMEO_MESSAGE_PRIV_H */
