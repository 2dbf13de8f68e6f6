/*
 * mimeo/message.h - a parsed message as a tree of parts.
 *
 * The tree is built from the push parser's events (mimeo/parser.h).  Each
 * node ("part") carries its IMAP section number (RFC 3501 section 6.4.5),
 * its content type and parameters, disposition, decoded filename, transfer
 * encoding, charset, header fields (raw, and decoded on demand), the exact
 * size of its decoded body, and the byte offsets of its header block and
 * body in the source, so that an unmodified part can be written back byte
 * for byte (mimeo_part_write_raw()).
 *
 * Memory (since 0.2): the tree keeps the structure, not the content.  Bodies
 * stay in the source and are decoded on demand (mimeo_part_decode(),
 * mimeo_part_decode_buf(), mimeo_part_text()); a message with a 1 GB
 * attachment costs what its headers and part list cost.  The source is:
 *  - a borrowed buffer (MIMEO_MESSAGE_BORROW), or the one copy that
 *    mimeo_message_parse_buffer() makes;
 *  - a seekable file (mimeo_message_parse_file(), _fd()): never copied nor
 *    mapped; bodies are read back with pread(2), so the file must stay in
 *    place until mimeo_message_free();
 *  - a spool for anything else (a pipe, a .gz file, a read callback): the
 *    input is kept in memory up to mimeo_message_options.spool_memory
 *    (1 MiB by default) and then in a temporary file in $TMPDIR that is
 *    unlinked when it is created, so it never outlives the process.
 * A transfer-encoded message/rfc822 part (a gateway base64-encoded it) gets
 * its decoded body spooled the same way, for the parts inside it.
 * Every pointer returned by the accessors below stays valid until
 * mimeo_message_free(), except where a function says otherwise.
 *
 * A mimeo_message is immutable after parsing: it may be read by several
 * threads at once, as long as nobody frees it meanwhile.  Body access uses
 * pread (no shared file position) and per-call buffers; functions that
 * convert text take a caller-owned charset cache (one per thread).
 *
 * Faults: a file that changes or shrinks after it was parsed makes body
 * access fail with MIMEO_EIO (mimeo_message_io_error() says why), never
 * return wrong bytes.  A change that keeps the file's size and
 * modification time is not seen, except where the decoded size no longer
 * matches.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_MESSAGE_H
#define MIMEO_MESSAGE_H

#include "common.h"
#include "codec.h"
#include "charset.h"
#include "header.h"
#include "parser.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed message (opaque).  @since 0.1 */
typedef struct mimeo_message mimeo_message;
/** One node of a message's tree (opaque, owned by its message).  @since 0.1 */
typedef struct mimeo_part mimeo_part;

/** Value of mimeo_message_options.version (version 1, the 0.1 layout
 *  without the spool fields, is still accepted).  @since 0.2 */
#define MIMEO_MESSAGE_OPTIONS_VERSION 2

/** Default of mimeo_message_options.spool_memory: 1 MiB.  @since 0.2 */
#define MIMEO_MESSAGE_SPOOL_MEMORY ((size_t)1 << 20)

/**
 * mimeo_message_parse_buffer() does not copy the input: the caller keeps
 * the buffer alive and unchanged until mimeo_message_free().  Bodies that
 * need no transfer decoding then cost no memory at all.
 */
#define MIMEO_MESSAGE_BORROW 0x1u

/**
 * The input is one message cut from an mbox (mimeo/mailbox.h): a leading
 * From_ line is its separator (no defect) and ">From " lines are
 * un-quoted, as the parser's MIMEO_PARSE_MBOX does.  @since 0.2
 */
#define MIMEO_MESSAGE_MBOX 0x2u

/** Options for parsing a message.  Zero-initialise or use
 *  MIMEO_MESSAGE_OPTIONS_INIT, then change what you need. */
typedef struct mimeo_message_options {
	unsigned version;  /**< MIMEO_MESSAGE_OPTIONS_VERSION */
	unsigned flags;    /**< MIMEO_MESSAGE_BORROW, MIMEO_MESSAGE_MBOX */
	/** Memory for the message and everything it holds; NULL = libc. */
	const mimeo_allocator *alloc;
	/** Parser limits (depth, header bytes, parts...); NULL = the parser's
	 *  defaults.  Its `alloc` is ignored, and of its `flags` only the
	 *  server-compatibility ones (MIMEO_PARSE_COMPAT_DOVECOT, since 0.2)
	 *  count: the tree always parses one message with transfer decoding
	 *  (see MIMEO_MESSAGE_MBOX). */
	const mimeo_parser_options *parser;
	/** Largest input accepted by the file, fd and stream functions, in
	 *  bytes; 0 = no limit (since 0.2: it was 4 GiB).  Larger input fails
	 *  with MIMEO_ELIMIT. */
	uint64_t max_input;
	/* --- version 2 (@since 0.2) --- */
	/** Bytes of a non-seekable input (pipe, .gz, read callback) and of a
	 *  decoded message/rfc822 body kept in memory before the rest goes to
	 *  a temporary file; 0 = MIMEO_MESSAGE_SPOOL_MEMORY; SIZE_MAX = never
	 *  a file. */
	size_t spool_memory;
	/** Folder for the temporary spool files; NULL = $TMPDIR, or /tmp
	 *  when that is unset.  The files are unlinked at creation. */
	const char *tmpdir;
	/** When not NULL and parsing fails, receives a static English
	 *  sentence naming what failed ("cannot create a temporary file to
	 *  spool the input (TMPDIR)"), or NULL when the status says it all.
	 *  For MIMEO_EIO, errno holds the system's reason. */
	const char **reason;
} mimeo_message_options;

#define MIMEO_MESSAGE_OPTIONS_INIT { MIMEO_MESSAGE_OPTIONS_VERSION, 0, NULL, NULL, 0, 0, \
	NULL, NULL }

/**
 * Parse `len` bytes of one message (RFC 5322 + MIME, not an mbox) into a
 * tree.  The input is copied once into the message unless
 * MIMEO_MESSAGE_BORROW is set (then bodies without a transfer encoding are
 * available without any copy through mimeo_part_body()).  Malformed mail is parsed leniently and is
 * not an error.
 * @param out   receives the message, to be freed with mimeo_message_free()
 * @param data  the message bytes (may contain NULs); NULL only if len is 0
 * @param opts  NULL = defaults
 * @return MIMEO_OK; MIMEO_ENOMEM; MIMEO_EINVAL (bad arguments or options
 *         version; NULL data with a non-zero len sets opts->reason).
 *         Parser limits never fail: see
 *         mimeo_message_limits_hit().  On failure *out is NULL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_message_parse_buffer(mimeo_message **out, const void *data, size_t len,
					    const mimeo_message_options *opts);

/**
 * Parse the message in the file at `path`.  A regular file is read in
 * blocks and not kept in memory: the message keeps it open and reads
 * bodies back from it.  A name ending in ".gz" is read through zlib and
 * spooled; so is anything that is not a regular file (a FIFO).  A ".gz"
 * file whose content is not gzip (no gzip magic at its start) is read as
 * it is, as zlib does.
 * @return as mimeo_message_parse_buffer, plus MIMEO_EIO when the file
 *         cannot be opened or read, when it changes while it is parsed, or
 *         when the spool's temporary file cannot be written (errno and
 *         opts->reason tell why), or (since 0.2) when gzip data is corrupt
 *         or cut off (errno EBADMSG; opts->reason "the compressed file is
 *         cut off (unexpected end of gzip data)" or "... is corrupt"), and
 *         MIMEO_ELIMIT when it is larger than opts->max_input.  @since 0.1
 */
MIMEO_EXTERN int mimeo_message_parse_file(mimeo_message **out, const char *path,
					  const mimeo_message_options *opts);

/**
 * Parse the message read from `fd` until end of file.  The descriptor is
 * not closed.  A regular file is parsed from its current offset with pread
 * through a duplicate of `fd` that the message keeps (the caller's offset
 * is left at the end); anything else is read and spooled.  Errors as
 * mimeo_message_parse_file.  @since 0.1
 */
MIMEO_EXTERN int mimeo_message_parse_fd(mimeo_message **out, int fd,
					const mimeo_message_options *opts);

/**
 * Parse the message held in bytes [offset, offset + length) of the regular
 * file `fd`: one message of an mbox or of any store that keeps messages at
 * known offsets, without copying it.  It is read with pread through a
 * duplicate of `fd` that the message keeps (the caller's descriptor and
 * its offset are untouched, and it may be closed at once); offsets in the
 * tree count from `offset`.  The file's identity, size and modification
 * time are recorded as for mimeo_message_parse_file(): if the file changes
 * later, body calls fail with MIMEO_EIO instead of reading other bytes.
 * @return as mimeo_message_parse_file; MIMEO_EINVAL also when `fd` is not a
 *         regular file or offset + length overflows; MIMEO_EIO when the
 *         file is shorter than offset + length (opts->reason says so).
 *         @since 0.2
 */
MIMEO_EXTERN int mimeo_message_parse_fd_range(mimeo_message **out, int fd, uint64_t offset,
					      uint64_t length,
					      const mimeo_message_options *opts);

/**
 * Parse the message produced by `read` (called until it reports 0 bytes).
 * The bytes are spooled (see the top of this file).
 * @return as mimeo_message_parse_file; a negative code from `read` is
 *         passed through.  @since 0.1
 */
MIMEO_EXTERN int mimeo_message_parse_stream(mimeo_message **out, mimeo_read_fn read, void *ctx,
					    const mimeo_message_options *opts);

/** Free a message and everything it owns.  NULL is a no-op.  @since 0.1 */
MIMEO_EXTERN void mimeo_message_free(mimeo_message *m);

/**
 * The source bytes the offsets refer to, when they are in memory: the
 * message's copy, the borrowed buffer, or a spool that stayed in memory.
 * @param len receives the length (0 when NULL is returned); may be NULL.
 * @return the bytes, or NULL (since 0.2) when the source is a file or a
 *         spool that went to a file: then use mimeo_message_read_source()
 *         or mimeo_part_write_raw().  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_message_source(const mimeo_message *m, size_t *len);

/** Size of the source in bytes, wherever it is.  @since 0.2 */
MIMEO_EXTERN uint64_t mimeo_message_source_size(const mimeo_message *m);

/**
 * Copy `len` source bytes starting at `offset` into `buf` (the offsets of
 * mimeo_part_offsets() of parts without MIMEO_PART_ENCODED).
 * @return MIMEO_OK; MIMEO_EINVAL; MIMEO_EIO when the range is outside the
 *         source or the file changed (mimeo_message_io_error()).
 *         @since 0.2
 */
MIMEO_EXTERN int mimeo_message_read_source(const mimeo_message *m, uint64_t offset, void *buf,
					   size_t len);

/**
 * Why the last body or source access on `m` failed with MIMEO_EIO (a
 * static English sentence, "the source file changed after it was
 * parsed"), or NULL when none failed.  Sticky: a message whose file changed
 * stays unreadable.  Safe to call from any thread.  @since 0.2
 */
MIMEO_EXTERN const char *mimeo_message_io_error(const mimeo_message *m);

/** The root node: the message's root entity (depth 0), which carries the
 *  message's header fields.  Its section is "" when it is a multipart and
 *  "1" otherwise (RFC 3501 6.4.5: BODY[1] is the body of a single-part
 *  message; see mimeo_part_section()).  Never NULL for a parsed message.
 *  @since 0.1 */
MIMEO_EXTERN const mimeo_part *mimeo_message_root(const mimeo_message *m);

/** Number of nodes in the tree (root included).  @since 0.1 */
MIMEO_EXTERN size_t mimeo_message_part_count(const mimeo_message *m);

/**
 * The node with IMAP section number `section` ("1", "2.1", ...), or NULL;
 * "" always gives the root.  A message/rfc822 part and the multipart root
 * of the message it encapsulates share one section number (RFC 3501
 * 6.4.5): then the outer node, the message part, is returned (its only
 * child is the other).  @since 0.1
 */
MIMEO_EXTERN const mimeo_part *mimeo_message_find_section(const mimeo_message *m,
							  const char *section);

/**
 * The body a mail client would display: `want` is "text/plain" or
 * "text/html".  multipart/alternative gives its last child of the wanted
 * type (RFC 2046 5.1.4: the last is the richest), else its last displayable
 * text child; multipart/related gives its start part (the "start"
 * parameter, else its first child); multipart/mixed and other multiparts
 * give the first inline (no "attachment" disposition) child that has a
 * body.  A text/plain or text/html leaf is itself.  Leaves with
 * disposition "attachment" are never picked, nor (since 0.2) the text of
 * a message/rfc822 part inside the tree: a forwarded message's body is
 * not the body of the message that carries it (only a root that is
 * itself message/rfc822 is entered).  When nothing of the wanted
 * type exists, the same rules are applied to text/plain and text/html
 * together (a client shows the HTML of an HTML-only message).
 * @return the leaf, or NULL when the message has no displayable text.
 * @since 0.1
 */
MIMEO_EXTERN const mimeo_part *mimeo_message_pick_body(const mimeo_message *m, const char *want);

/**
 * Parse limits that were hit while building the tree (the parser's
 * MIMEO_LIMIT_* bitmask): the tree is complete but part of the input was
 * kept as opaque body.  @since 0.1
 */
MIMEO_EXTERN unsigned mimeo_message_limits_hit(const mimeo_message *m);

/** Number of defects (malformed-input events) the parser reported, all
 *  of them (also those past MIMEO_MESSAGE_DEFECTS_KEPT).  @since 0.1 */
MIMEO_EXTERN size_t mimeo_message_defect_count(const mimeo_message *m);

/** How many defects a message keeps for mimeo_message_defect(): the
 *  first 1000 (a hostile message can hold one per few bytes; a reader
 *  that wants them all uses the push parser's defect callback).
 *  @since 0.2 */
#define MIMEO_MESSAGE_DEFECTS_KEPT 1000

/**
 * Defect `i` (0 = the first reported; they come in input order) of the
 * message: what the parser found malformed and how it read it anyway.
 * @code
 * mimeo_defect d;
 * const mimeo_part *where;
 * for (size_t i = 0; mimeo_message_defect(m, i, &d, &where) == MIMEO_OK; i++)
 *         printf("%s at byte %llu in part %s: %s\n", mimeo_defect_name(d.code),
 *                (unsigned long long)d.offset, mimeo_part_section(where), d.reason);
 * @endcode
 * @param d     receives the code (MIMEO_DEFECT_*), severity, byte offset
 *              (in the source; inside a transfer-encoded message/rfc822,
 *              in that part's decoded body, as mimeo_part_offsets()) and
 *              the static English reason; may be NULL
 * @param part  receives the innermost node that was open when the defect
 *              was found (the root for one found before any part began,
 *              e.g. an mbox From_ line); may be NULL
 * @return MIMEO_OK; MIMEO_ENOTFOUND when `i` is not below the number kept
 *         (min(mimeo_message_defect_count(), MIMEO_MESSAGE_DEFECTS_KEPT));
 *         MIMEO_EINVAL for a NULL message.  @since 0.2
 */
MIMEO_EXTERN int mimeo_message_defect(const mimeo_message *m, size_t i, mimeo_defect *d,
				      const mimeo_part **part);

/* --- navigation ----------------------------------------------------- */

/** Depth-first, pre-order successor of `p` in the whole tree, NULL after
 *  the last node.  @since 0.1 */
MIMEO_EXTERN const mimeo_part *mimeo_part_next(const mimeo_part *p);
/** The message a node belongs to.  @since 0.2 */
MIMEO_EXTERN const mimeo_message *mimeo_part_message(const mimeo_part *p);
/** Parent node, NULL for the root.  @since 0.1 */
MIMEO_EXTERN const mimeo_part *mimeo_part_parent(const mimeo_part *p);
/** First child, NULL for a leaf.  @since 0.1 */
MIMEO_EXTERN const mimeo_part *mimeo_part_first_child(const mimeo_part *p);
/** Next sibling, NULL for the last child.  @since 0.1 */
MIMEO_EXTERN const mimeo_part *mimeo_part_next_sibling(const mimeo_part *p);
/** Number of children.  @since 0.1 */
MIMEO_EXTERN size_t mimeo_part_child_count(const mimeo_part *p);
/** Nesting depth: 0 for the root.  @since 0.1 */
MIMEO_EXTERN unsigned mimeo_part_depth(const mimeo_part *p);

/* --- what a node is ---------------------------------------------------- */

/**
 * IMAP section number (RFC 3501 6.4.5), the part specifier an IMAP client
 * would FETCH as BODY[section]: the children of a multipart with section S
 * are S.1, S.2, ... ("1", "2", ... when S is ""); a message's root entity
 * (the top-level message, or the message inside a message/rfc822 part N)
 * has the message's prefix M ("" at top level, N inside) when it is a
 * multipart, and M.1 otherwise.  So a single-part message's body is "1",
 * and a message/rfc822 part N shares N with the multipart inside it but
 * not with a single-part body inside it (N.1).  These are exactly the
 * numbers the push parser reports in mimeo_part_info.section (final at
 * headers_end), so the two APIs can be mixed.
 * @since 0.1
 */
MIMEO_EXTERN const char *mimeo_part_section(const mimeo_part *p);
/** Lowercased media type after the RFC 2045/2046 defaults ("text").  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_type(const mimeo_part *p);
/** Lowercased subtype after the defaults ("plain").  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_subtype(const mimeo_part *p);
/** Non-zero for multipart/... nodes that were split into children.  A
 *  multipart kept whole (no boundary parameter, or deeper than the depth
 *  limit: MIMEO_PART_OPAQUE) is a leaf instead.  @since 0.1 */
MIMEO_EXTERN int mimeo_part_is_multipart(const mimeo_part *p);
/** Non-zero for an encapsulated message parsed recursively
 *  (message/rfc822, message/global).  @since 0.1 */
MIMEO_EXTERN int mimeo_part_is_message(const mimeo_part *p);
/** Non-zero for a leaf: a node with a body of its own (neither multipart
 *  nor a recursively parsed message).  @since 0.1 */
MIMEO_EXTERN int mimeo_part_is_leaf(const mimeo_part *p);
/** The lowercased charset parameter, or NULL when absent.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_charset(const mimeo_part *p);
/** The Content-Transfer-Encoding (MIMEO_CTE_NONE when absent).  @since 0.1 */
MIMEO_EXTERN mimeo_cte mimeo_part_cte(const mimeo_part *p);
/** The Content-Transfer-Encoding value lowercased and trimmed as written
 *  ("base64", "x-custom"), or NULL when absent.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_cte_name(const mimeo_part *p);
/** The lowercased disposition type ("attachment", "inline") or NULL.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_disposition(const mimeo_part *p);
/** The filename in UTF-8 (RFC 2231/2047 decoded): the Content-Disposition
 *  filename parameter, else the Content-Type name parameter, else NULL.
 *  Not sanitised: see mimeo_filename_sanitize().  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_filename(const mimeo_part *p);
/** The Content-Type parameter `name` (case-insensitive), UTF-8 decoded,
 *  or NULL.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_param(const mimeo_part *p, const char *name);
/** The Content-Disposition parameter `name`, or NULL.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_disposition_param(const mimeo_part *p, const char *name);
/** Parser flags of the node (MIMEO_PART_* from mimeo/parser.h, e.g.
 *  MIMEO_PART_TRUNCATED).  @since 0.1 */
MIMEO_EXTERN unsigned mimeo_part_flags(const mimeo_part *p);

/* --- signed and encrypted parts -------------------------------------- */

/** mimeo_part_security() bits.  One role bit at most (SIGNED, ENCRYPTED,
 *  SIGNATURE, KEYS or COMPRESSED) and the scheme when the type tells it
 *  (PGP or SMIME).  @since 0.2 */
enum {
	/** signed content: multipart/signed (RFC 1847 2.1; the content is the
	 *  first child, the signature the second), or application/pkcs7-mime
	 *  with smime-type=signed-data (RFC 8551 3.5.2, the content is inside
	 *  the CMS object) */
	MIMEO_SECURITY_SIGNED = 0x01,
	/** encrypted content: multipart/encrypted (RFC 1847 2.2),
	 *  application/pkcs7-mime with smime-type enveloped-data or
	 *  authEnveloped-data, or without smime-type (RFC 8551 3.2.2: old
	 *  agents omit it; encrypted is what they send), and
	 *  application/pgp-encrypted (the control part of RFC 3156 4) */
	MIMEO_SECURITY_ENCRYPTED = 0x02,
	/** a detached signature: application/pgp-signature (RFC 3156 5),
	 *  application/pkcs7-signature or application/x-pkcs7-signature */
	MIMEO_SECURITY_SIGNATURE = 0x04,
	/** keys or certificates only: application/pgp-keys (RFC 3156 7),
	 *  application/pkcs7-mime with smime-type=certs-only */
	MIMEO_SECURITY_KEYS = 0x08,
	/** application/pkcs7-mime with smime-type=compressed-data (RFC 3274) */
	MIMEO_SECURITY_COMPRESSED = 0x10,
	/** OpenPGP (RFC 3156): an application/pgp-* part, or a multipart
	 *  whose protocol parameter is application/pgp-signature or
	 *  application/pgp-encrypted */
	MIMEO_SECURITY_PGP = 0x100,
	/** S/MIME (RFC 8551): application/(x-)pkcs7-signature or -mime (alone
	 *  when the smime-type is none of the above), or a multipart/signed
	 *  whose protocol is application/(x-)pkcs7-signature */
	MIMEO_SECURITY_SMIME = 0x200
};

/**
 * What a node is for a client that shows a seal or a lock: MIMEO_SECURITY_*
 * bits from its content type and parameters alone (nothing is verified or
 * decrypted).  0 for every other node.  The parameters that go with a mark
 * are read with mimeo_part_param(): "protocol" and "micalg" of a
 * multipart/signed, "protocol" of a multipart/encrypted, "smime-type" of
 * an application/pkcs7-mime part.  A multipart/signed or /encrypted kept
 * whole (MIMEO_PART_OPAQUE) is marked all the same.
 * @since 0.2
 */
MIMEO_EXTERN unsigned mimeo_part_security(const mimeo_part *p);

/**
 * The word for a node's role mark, as `mimeo tree` prints it: "signed",
 * "encrypted", "signature", "keys" or "compressed"; NULL when `security`
 * has no role bit.  @param security  a mimeo_part_security() value
 * @since 0.2
 */
MIMEO_EXTERN const char *mimeo_security_role_name(unsigned security);

/**
 * The scheme word: "pgp", "smime", or NULL when neither bit is set.
 * @since 0.2
 */
MIMEO_EXTERN const char *mimeo_security_scheme_name(unsigned security);

/* --- header fields -------------------------------------------------- */

/** Number of header fields of the node, in order.  For an encapsulated
 *  message node these are the fields of the message/rfc822 part; the
 *  encapsulated message's own fields belong to its child.  @since 0.1 */
MIMEO_EXTERN size_t mimeo_part_header_count(const mimeo_part *p);
/** Name of field `i` as written (NUL-terminated), NULL if out of range.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_part_header_name(const mimeo_part *p, size_t i);
/**
 * Raw value of field `i`: the bytes after the colon, still folded, without
 * the final line break; NUL-terminated.  @param len receives its length
 * (may be NULL).  @return NULL if out of range.  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_part_header_raw(const mimeo_part *p, size_t i, size_t *len);
/**
 * Decoded value of field `i`, appended to `out`: unfolded, trimmed, RFC
 * 2047 decoded to UTF-8 (mimeo_header_decode_text).
 * @param cc    charset cache to use; NULL makes a temporary one (slower)
 * @param opts  header options; NULL = defaults
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_ENOTFOUND (i out of range).
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_part_header_decoded(const mimeo_part *p, size_t i, mimeo_charset_cache *cc,
					   const mimeo_header_options *opts, mimeo_buf *out);
/**
 * The raw value of the first field called `name` (case-insensitive), or
 * NULL.  @param len receives its length (may be NULL).  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_part_get_header(const mimeo_part *p, const char *name, size_t *len);

/* --- content --------------------------------------------------------- */

/**
 * Exact size in bytes of the transfer-decoded body of a leaf (what
 * mimeo_part_decode() writes without MIMEO_DECODE_UTF8); 0 for multiparts
 * and encapsulated messages.  Known from the parse, without decoding or
 * keeping the body: base64 sizes come from a count of the encoded text.
 * @since 0.2
 */
MIMEO_EXTERN uint64_t mimeo_part_size(const mimeo_part *p);

/** mimeo_part_decode() flag: convert to UTF-8 from the part's charset,
 *  exactly as mimeo_part_text() does.  @since 0.2 */
#define MIMEO_DECODE_UTF8 0x1u

/**
 * Stream the body of a leaf, transfer-decoded (base64, quoted-printable
 * and uuencode decoded; other encodings as they are), into `write` in
 * blocks of at most 256 KiB, in bounded memory whatever the body's size.
 * The bytes are read from the source (pread for files), so this is the
 * way to save or show large attachments.  Multiparts and encapsulated
 * messages have an empty body (no call to `write`).
 *
 * With MIMEO_DECODE_UTF8 the bytes are converted from the part's charset
 * to UTF-8 on the way (as mimeo_part_text(); for a part without a known
 * charset the body is read twice: once to decide between UTF-8 and
 * windows-1252, once to convert).
 *
 * @param flags    0 or MIMEO_DECODE_UTF8
 * @param cc       charset cache for MIMEO_DECODE_UTF8; NULL makes a
 *                 temporary one (slower).  Not shared between threads.
 * @param write    receives the bytes; `data` is valid during the call only
 * @param repairs  MIMEO_REPAIR_* flags of the conversion ORed in; may be NULL
 * @return MIMEO_OK; MIMEO_EINVAL (p or write NULL, unknown flags);
 *         MIMEO_ENOMEM; MIMEO_EIO (the source file changed or cannot be
 *         read: mimeo_message_io_error()); or the write callback's failure
 *         (negative codes as returned, others as MIMEO_EUSER).  On failure
 *         some bytes may have been written.  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_decode(const mimeo_part *p, unsigned flags, mimeo_charset_cache *cc,
				   mimeo_write_fn write, void *ctx, unsigned *repairs);

/**
 * mimeo_part_decode() appending to `out`: the convenience for small parts
 * (the whole body is held in memory).  On failure `out` may hold a part of
 * it.  @return as mimeo_part_decode().  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_decode_buf(const mimeo_part *p, unsigned flags,
				       mimeo_charset_cache *cc, mimeo_buf *out,
				       unsigned *repairs);

/**
 * Zero-copy view of a leaf's decoded body, when there is one: the body
 * has no transfer encoding to undo (none, 7bit, 8bit, binary, or unknown)
 * and the source is in memory (a borrowed or copied buffer, or a small
 * spooled input), or the body is empty.  The bytes point into the source;
 * they are not NUL-terminated and may contain NULs.
 *
 * Changed in 0.2: the tree no longer keeps decoded bodies, so this
 * returns NULL for base64, quoted-printable and uuencoded bodies and for
 * bodies in a file; use mimeo_part_decode() or mimeo_part_decode_buf(),
 * which work for every leaf.  Multiparts and encapsulated messages give an
 * empty body (length 0, not NULL).
 * @param len receives the size (0 when NULL is returned); may be NULL.
 * @since 0.1
 */
MIMEO_EXTERN const void *mimeo_part_body(const mimeo_part *p, size_t *len);

/**
 * The body of a leaf converted from its charset to UTF-8, appended to
 * `out` (undeclared charsets: UTF-8 when valid, else windows-1252; invalid
 * sequences become U+FFFD).  Works for any leaf, not only text/...  The
 * whole text is held in `out`; stream with mimeo_part_decode() and
 * MIMEO_DECODE_UTF8 for large bodies (same bytes).
 * @param cc       charset cache; NULL makes a temporary one (slower)
 * @param repairs  MIMEO_REPAIR_* flags ORed in; may be NULL
 * @return MIMEO_OK, MIMEO_ENOMEM, or (since 0.2) MIMEO_EIO when the
 *         source cannot be read.  @since 0.1
 */
MIMEO_EXTERN int mimeo_part_text(const mimeo_part *p, mimeo_charset_cache *cc, mimeo_buf *out,
				 unsigned *repairs);

/**
 * Write the part as it is in its source, bytes [header_start, end) of
 * mimeo_part_offsets(), to `write` in blocks (byte-exact re-serialisation:
 * signatures stay valid).  Works for parts inside a transfer-encoded
 * message/rfc822 too (their bytes come from its decoded body).  A derived
 * node (MIMEO_PART_DERIVED, mimeo/expand.h) has no bytes of its own in the
 * source: it writes its content, as mimeo_part_decode() does.
 * @return MIMEO_OK, MIMEO_EINVAL, MIMEO_ENOMEM, MIMEO_EIO (source
 *         unreadable), or the write callback's failure.  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_write_raw(const mimeo_part *p, mimeo_write_fn write, void *ctx);

/**
 * Byte offsets of the node in mimeo_message_source(): `header_start` of
 * its first header byte, `body_start` of its first body byte, `end` of
 * the byte after its body (before the line break that belongs to a
 * following boundary delimiter).  The bytes [header_start, end) are the
 * part as written.  Any pointer may be NULL.  Inside a transfer-encoded
 * message/rfc822 (mimeo_part_flags() has MIMEO_PART_ENCODED) the offsets
 * count bytes of that part's decoded body, not of the source.  @since 0.1
 */
MIMEO_EXTERN void mimeo_part_offsets(const mimeo_part *p, uint64_t *header_start,
				     uint64_t *body_start, uint64_t *end);

/* --- reading files, plain or gzip-compressed ------------------------ */

/** A file reader that decompresses gzip (opaque).  The one place mimeo
 *  reads gzip: the message functions, the mailbox and the CLI use it.
 *  @since 0.2 */
typedef struct mimeo_reader mimeo_reader;

/** mimeo_reader_open() flag: decide by the content, whatever the name:
 *  input that starts with the gzip magic bytes 1f 8b (RFC 1952) is
 *  decompressed, anything else is read as it is.  For input whose name
 *  says nothing (a pipe, standard input); mimeo_mailbox_open() reads every
 *  file this way.  @since 0.2 */
#define MIMEO_READER_DETECT 0x1u

/**
 * Open `path` for reading, or read `fd` (when fd >= 0; it is then owned by
 * the reader and closed by mimeo_reader_close(); `path` may be NULL or
 * names the input).
 *
 * Which input is decompressed: without flags, a name ending in ".gz"
 * makes the reader look at the content, and any other name (or none) is
 * read as it is, never inflated; with MIMEO_READER_DETECT the content is
 * looked at whatever the name.  Looking means: input starting with 1f 8b
 * is gzip (several members are read one after the other; bad or cut-off
 * data is an error of mimeo_reader_read()); anything else, such as a
 * plain file named "x.eml.gz", is read unchanged (zlib's transparent
 * reading) and mimeo_reader_is_compressed() says 0.  A seekable file is
 * looked at with pread, so nothing is consumed; on a pipe or socket the
 * open reads the first bytes (it waits for them).
 * @param flags 0 or MIMEO_READER_DETECT
 * @return MIMEO_OK, MIMEO_EINVAL (NULL out, neither path nor fd, unknown
 *         flags), MIMEO_ENOMEM, MIMEO_EIO (cannot open: errno says why).
 *         @since 0.2
 */
MIMEO_EXTERN int mimeo_reader_open(mimeo_reader **out, const char *path, int fd,
				   unsigned flags, const mimeo_allocator *alloc);
/**
 * Read up to `cap` bytes; *got = 0 at the end.  Has the mimeo_read_fn
 * shape, so it can be passed to mimeo_message_parse_stream() with the
 * reader as `ctx`.
 * @return MIMEO_OK or MIMEO_EIO (mimeo_reader_error() says why; a cut-off
 *         or corrupt gzip stream is an error with errno EBADMSG, a failed
 *         read keeps the system's errno).  @since 0.2
 */
MIMEO_EXTERN int mimeo_reader_read(void *buf, size_t cap, size_t *got, void *reader);
/** Non-zero when the content is gzip and the reader decompresses it; 0
 *  for plain input, also under a ".gz" name.  @since 0.2 */
MIMEO_EXTERN int mimeo_reader_is_compressed(const mimeo_reader *r);
/** The descriptor reads go to (owned by the reader), or -1 when they go
 *  through zlib: gzip input, or a pipe whose first bytes zlib read to
 *  tell (then its bytes must come through mimeo_reader_read()).
 *  @since 0.2 */
MIMEO_EXTERN int mimeo_reader_fd(const mimeo_reader *r);
/** Why the last read failed (static or zlib's string).  @since 0.2 */
MIMEO_EXTERN const char *mimeo_reader_error(const mimeo_reader *r);
/** Close the reader and its file.  NULL is a no-op.  @since 0.2 */
MIMEO_EXTERN void mimeo_reader_close(mimeo_reader *r);

/* --- attachment names ---------------------------------------------- */

/** The name mimeo_filename_sanitize() gives an empty or unusable name. */
#define MIMEO_FILENAME_DEFAULT "attachment"
/** Longest name mimeo_filename_sanitize() produces, in bytes (NAME_MAX). */
#define MIMEO_FILENAME_MAX 255

/**
 * Make an attachment name safe to use as one file name in a folder.
 * Path separators `/` and `\` and control characters (C0, DEL, C1 and
 * invalid UTF-8) become `_`; so do (since 0.2) the bidirectional
 * formatting characters U+061C, U+200E, U+200F, U+202A..U+202E and
 * U+2066..U+2069, which make a name display as another one
 * ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf"), and the line and
 * paragraph separators U+2028 and U+2029; leading dots and spaces are removed (no hidden
 * files, no "." or ".."), a remaining ".." becomes "_.", trailing dots and
 * spaces are removed (Windows drops them); the result is cut to at most
 * MIMEO_FILENAME_MAX bytes without splitting a UTF-8 character, keeping
 * the extension when it is short.  A name that ends up empty becomes
 * MIMEO_FILENAME_DEFAULT.  Appends the result to `out` (which is then
 * NUL-terminated).
 * @param name, len  the name in UTF-8 (e.g. mimeo_part_filename()); NULL
 *                   with len 0 gives the default
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_filename_sanitize(const char *name, size_t len, mimeo_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_MESSAGE_H */
