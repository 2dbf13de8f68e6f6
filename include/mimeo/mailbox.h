/*
 * mimeo/mailbox.h - whole mailboxes: mbox files (mboxrd/mboxo, also .gz)
 * and Maildir folders, read message by message.
 *
 * mimeo_mailbox_open() looks at what it is given:
 *  - a directory with a cur/ or new/ subfolder is a Maildir: its messages
 *    are the files of new/ and cur/ together, in file-name order (byte
 *    order of the names; a name present in both comes from new/ first);
 *    tmp/ (deliveries in progress) is ignored, and so are names starting
 *    with '.'.  Entries of new/ or cur/ that are not regular files
 *    (subfolders, sockets, dangling links) are not messages: they are
 *    counted by mimeo_mailbox_skipped(), never dropped silently;
 *  - a file whose first line starts with "From " and is no header field
 *    (mimeo_mailbox_is_mbox(); "From : x" is a field in the obsolete
 *    syntax) is an mbox, and so is any file with MIMEO_MAILBOX_FORCE_MBOX;
 *    an empty file is an empty mbox;
 *  - any other file is one message (MIMEO_MAILBOX_SINGLE).
 * gzip is found by the content, not by the name (mimeo_reader_open()
 * with MIMEO_READER_DETECT): a file or pipe starting with the gzip magic
 * bytes 1f 8b is decompressed into memory (at most max_inflated bytes),
 * whatever it is called; corrupt or cut-off gzip data is an error
 * (MIMEO_EIO, errno EBADMSG).  A pipe (or other input that cannot be
 * mapped) is read into memory the same way.  Any other file is mapped,
 * not read, also when its name ends in ".gz" (since 0.2; it was read into
 * memory): the mailbox costs no memory beyond its index, and message
 * bytes are handed out as pointers into the mapping, without a copy.
 *
 * mbox splitting follows the push parser's MIMEO_PARSE_MBOX rules exactly
 * (mimeo/parser.h; one implementation): a message starts at a line
 * "From " + sender + a time "hh:mm" that follows an empty line (or starts
 * the file), so an unescaped "From " in a body does not split a message.
 * The open pass finds every message start (a line scan, no parsing), so
 * message N is reached at once afterwards (random access).  A message's
 * bytes run from its From_ line to the line break before the next From_
 * line: that line break is the mbox separator and belongs to neither.
 * Lines ">From ", ">>From "... are left quoted in the bytes; the parser
 * un-quotes them when given mimeo_mailbox_parse_flags() (mboxrd and mboxo
 * alike, as the parser documents).
 *
 * A mapped file must not be truncated while the mailbox is open (reading
 * a page past the new end would raise SIGBUS): mimeo_mailbox_message()
 * checks the size before handing out a message and fails with MIMEO_EIO
 * when the file shrank, which narrows but cannot close that window.
 * Writers that rewrite an mbox in place (expunge) should be kept out with
 * the usual mbox locks.
 *
 * Threads: a mailbox may be read by several threads at once (count, entry,
 * message, parse) when it is an mbox or a single file; for a Maildir,
 * mimeo_mailbox_message() reuses one mapping, so use one thread or one
 * mailbox per thread (mimeo_mailbox_entry() gives each file's path).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_MAILBOX_H
#define MIMEO_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mimeo/common.h"
#include "mimeo/codec.h"
#include "mimeo/message.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A mailbox opened for reading (opaque).  @since 0.2 */
typedef struct mimeo_mailbox mimeo_mailbox;

/** What mimeo_mailbox_type() reports.  @since 0.2 */
enum {
	/** a file that is not an mbox: one message */
	MIMEO_MAILBOX_SINGLE = 1,
	/** an mbox file (also .gz) */
	MIMEO_MAILBOX_MBOX = 2,
	/** a Maildir folder */
	MIMEO_MAILBOX_MAILDIR = 3
};

/** mimeo_mailbox_options.flags.  @since 0.2 */
enum {
	/** read a file as an mbox even when it does not start with "From "
	 * (the first message then starts at offset 0 without a From_ line) */
	MIMEO_MAILBOX_FORCE_MBOX = 0x1
};

#define MIMEO_MAILBOX_OPTIONS_VERSION 1

/** Default limits (see mimeo_mailbox_options).  @since 0.2 */
#define MIMEO_MAILBOX_DEFAULT_MAX_MESSAGES ((size_t)1 << 24)
#define MIMEO_MAILBOX_DEFAULT_MAX_INFLATED ((uint64_t)1 << 30)

/** Options; initialise with MIMEO_MAILBOX_OPTIONS_INIT.  A limit of 0
 * means the default.  @since 0.2 */
typedef struct mimeo_mailbox_options {
	unsigned version;        /**< MIMEO_MAILBOX_OPTIONS_VERSION */
	unsigned flags;          /**< MIMEO_MAILBOX_* flags */
	/** memory for the mailbox and its index; NULL = libc */
	const mimeo_allocator *alloc;
	/** most messages indexed, default 16 Mi (16 bytes of index each);
	 * more fails the open with MIMEO_ELIMIT */
	size_t max_messages;
	/** largest input read into memory instead of mapped (gzip
	 * decompressed, or a pipe): default 1 GiB; more is MIMEO_ELIMIT */
	uint64_t max_inflated;
	/** line scanner's instruction set, MIMEO_ISA_AUTO = best */
	mimeo_isa isa;
} mimeo_mailbox_options;

#define MIMEO_MAILBOX_OPTIONS_INIT { MIMEO_MAILBOX_OPTIONS_VERSION, 0, NULL, 0, 0, \
	MIMEO_ISA_AUTO }

/** Where one message is.  @since 0.2 */
typedef struct mimeo_mailbox_entry {
	/** 1-based position in the mailbox */
	size_t number;
	/** mbox: byte offset of its From_ line in the (decompressed) file;
	 * Maildir and single file: 0 */
	uint64_t offset;
	/** bytes of the message (mbox: From_ line included, the separator
	 * line break before the next From_ line excluded) */
	uint64_t size;
	/** the file holding it: a Maildir message's own file
	 * ("DIR/cur/NAME"), else the path given to mimeo_mailbox_open(), or
	 * NULL for mimeo_mailbox_open_buffer().  Valid until
	 * mimeo_mailbox_free(). */
	const char *path;
} mimeo_mailbox_entry;

/**
 * Open an mbox file, a Maildir folder or a single message file and index
 * its messages (mbox: one line scan of the whole file; Maildir: the
 * listings of new/ and cur/ and a stat() of each file).
 * @param out   receives the mailbox (NULL on failure)
 * @param path  file or directory; gzip content is decompressed (found by
 *              its magic bytes, whatever the name)
 * @param opts  NULL = defaults
 * @return MIMEO_OK; MIMEO_EIO (cannot open, read or map: errno tells why;
 *         a directory that is no Maildir gives MIMEO_EIO with ENOTDIR;
 *         corrupt or cut-off gzip data EBADMSG (since 0.2: a cut-off .gz
 *         was read as far as it went, without an error));
 *         MIMEO_ELIMIT (more messages than max_messages, or gzip or a pipe
 *         larger than max_inflated); MIMEO_ENOMEM; MIMEO_EINVAL (NULL
 *         out or path, bad options version).  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_open(mimeo_mailbox **out, const char *path,
				    const mimeo_mailbox_options *opts);

/**
 * Open a part of a mailbox file for one of several processes that share
 * it: as mimeo_mailbox_open(), but index only the messages whose start
 * (mbox: the From_ line) lies in [offset, offset + length).  A message
 * that starts in the range ends where it ends in the whole file, also
 * past the range, and has the offset and size the whole file's index
 * gives it: ranges that cover the file without overlapping give its
 * messages, each once, in order.  Numbers (entry.number, n in the calls
 * below, the messages of mimeo_mailbox_error()) start at 1 in each range;
 * a message's number in the whole mailbox is that plus the counts of the
 * ranges before.  The file is mapped whole and only the range is read, so
 * each process indexes its part while the others index theirs.  A single
 * message file has its message at offset 0; gzip and pipes are read into
 * memory whole, and the range is of the decompressed bytes (no faster).
 * mimeo_mailbox_size() is the whole file's.
 * @param out     receives the mailbox (NULL on error); free with mimeo_mailbox_free()
 * @param path    an mbox or single message file (gzip content is
 *                decompressed, as by mimeo_mailbox_open())
 * @param offset  the range's first byte
 * @param length  its bytes (more than the file has, e.g. UINT64_MAX: to
 *                the end)
 * @param opts    NULL = defaults
 * @return as mimeo_mailbox_open(); MIMEO_EINVAL also for a Maildir folder
 *         (split its messages by number instead).  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_open_range(mimeo_mailbox **out, const char *path,
					  uint64_t offset, uint64_t length,
					  const mimeo_mailbox_options *opts);

/**
 * Index an mbox (or single message) held in memory.  The buffer is
 * borrowed: keep it alive and unchanged until mimeo_mailbox_free().
 * Typed like a file: "From " at the start (or FORCE_MBOX) makes an mbox.
 * @return MIMEO_OK, MIMEO_ELIMIT, MIMEO_ENOMEM, MIMEO_EINVAL.  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_open_buffer(mimeo_mailbox **out, const void *data, size_t len,
					   const mimeo_mailbox_options *opts);

/** Free a mailbox (NULL is fine).  Messages parsed from it with
 * mimeo_mailbox_parse() borrow its memory: free them first.  @since 0.2 */
MIMEO_EXTERN void mimeo_mailbox_free(mimeo_mailbox *mb);

/** MIMEO_MAILBOX_SINGLE, _MBOX or _MAILDIR.  @since 0.2 */
MIMEO_EXTERN int mimeo_mailbox_type(const mimeo_mailbox *mb);

/** Number of messages.  @since 0.2 */
MIMEO_EXTERN size_t mimeo_mailbox_count(const mimeo_mailbox *mb);

/** Total bytes of the mailbox (the file, decompressed; a Maildir: the sum
 * of its message files' sizes).  @since 0.2 */
MIMEO_EXTERN uint64_t mimeo_mailbox_size(const mimeo_mailbox *mb);

/** Maildir: entries of new/ and cur/ that are not messages (not regular
 * files) and were therefore not listed; 0 for a file.  @since 0.2 */
MIMEO_EXTERN size_t mimeo_mailbox_skipped(const mimeo_mailbox *mb);

/**
 * Where message `n` (1-based) is.
 * @return MIMEO_OK; MIMEO_ENOTFOUND when n is 0 or past the last message;
 *         MIMEO_EINVAL for NULL arguments.  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_entry_get(const mimeo_mailbox *mb, size_t n,
					 mimeo_mailbox_entry *e);

/**
 * The bytes of message `n`, without copying: for an mbox or single file a
 * pointer into the mapping (or the decompressed buffer), valid until
 * mimeo_mailbox_free(); for a Maildir the message's file mapped, valid
 * until the next mimeo_mailbox_message() or mimeo_mailbox_free().  Feed
 * them to a push parser created with mimeo_mailbox_parse_flags() among its
 * flags to get the events of that message alone, exactly as a parse of the
 * whole mbox reports them.
 * @return MIMEO_OK; MIMEO_ENOTFOUND (no such n); MIMEO_EIO (a Maildir file
 *         that cannot be opened or mapped, or a file that shrank since the
 *         open; see mimeo_mailbox_error()); MIMEO_EINVAL.  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_message(mimeo_mailbox *mb, size_t n, const char **data,
				       size_t *len);

/** Parser flags for the bytes of mimeo_mailbox_message(): MIMEO_PARSE_MBOX
 * for an mbox (From_ line, >From un-quoting), else 0.  @since 0.2 */
MIMEO_EXTERN unsigned mimeo_mailbox_parse_flags(const mimeo_mailbox *mb);

/**
 * Parse message `n` into a tree, without copying it.  A message of a
 * mapped file (an mbox, or a single message file) is parsed as by
 * mimeo_message_parse_fd_range() over its offset and size: read with pread
 * through a descriptor the tree keeps, bodies read back on demand, so the
 * tree may outlive the mailbox, and a file cut short while the tree is
 * built or read (an mbox rewritten in place) gives MIMEO_EIO instead of
 * SIGBUS.  With MIMEO_MESSAGE_BORROW in opts->flags it is parsed in place
 * from the mailbox's mapping instead (faster: no copy; but free the tree
 * before the mailbox, and keep the file from shrinking meanwhile).  A
 * message of a .gz mbox or a pipe (read into memory) is always parsed in
 * place.  A Maildir message is parsed from its file as by
 * mimeo_message_parse_fd() (the tree keeps the file open and may outlive
 * the mailbox).  An mbox message's From_ line is no defect and ">From "
 * lines are un-quoted (MIMEO_MESSAGE_MBOX).  `opts` as for
 * mimeo_message_parse_buffer() (NULL = defaults).
 * @return as mimeo_mailbox_message(); MIMEO_EIO when the file cannot be
 *         read or is shorter than the message (mimeo_mailbox_error() and
 *         opts->reason say so); the errors of mimeo_message_parse_buffer().
 *         @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_parse(mimeo_message **out, mimeo_mailbox *mb, size_t n,
				     const mimeo_message_options *opts);

/** Why the last failing call on `mb` failed (a static or per-mailbox
 * string naming the file and the reason), "" when none did.  @since 0.2 */
MIMEO_EXTERN const char *mimeo_mailbox_error(const mimeo_mailbox *mb);

/**
 * Low-level splitting for callers that cut an mbox into ranges themselves
 * (one thread per range): the offset of the first line at or after `from`
 * (and after offset 0) that starts a new message by the rules above, or
 * `len` when there is none.  `data[0..len)` must be the mbox from its
 * start or from a line start after which the rules hold (the test looks
 * at most at the two lines around the candidate, so any offset works for
 * a whole-file buffer).  A range [a, b) with a and b from this function
 * (or 0 and len) holds whole messages: parse [a, b - s) with s =
 * mimeo_mailbox_separator(data, b) to get exactly the events a parse of
 * the whole mbox gives for them (when b - s == a, which only happens for
 * an empty first message at offset 0, parse [a, b): the empty line).
 * @since 0.2
 */
MIMEO_EXTERN size_t mimeo_mailbox_next_from(const void *data, size_t len, size_t from);

/**
 * Does data[0..len) look like an mbox: it starts with "From " and its
 * first line is no header field ("From : x", with a space before the
 * colon, is one: a message, not an mbox).  The test mimeo_mailbox_open()
 * and `mimeo scan` use.  @since 0.2
 */
MIMEO_EXTERN int mimeo_mailbox_is_mbox(const void *data, size_t len);

/** Length of the separator (the LF or CRLF) before the From_ line at
 * `offset`; 0 when `offset` is 0 or not after a line break.  @since 0.2 */
MIMEO_EXTERN size_t mimeo_mailbox_separator(const void *data, size_t offset);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_MAILBOX_H */
