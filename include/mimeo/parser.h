/*
 * mimeo/parser.h - streaming (push) MIME parser.
 *
 * Feed a message, or a whole mbox, in chunks of any size with
 * mimeo_parser_feed(), end with mimeo_parser_finish(); the parser reports
 * what it finds through a table of callbacks (llhttp style).  The events are
 * the same whatever the chunking, except that body data may arrive split
 * into a different number of `body`/`preamble`/`epilogue` calls.
 *
 * Event order for one message:
 *
 *   message_begin                   (top-level message; once per mbox message)
 *     part_begin                    (the message's root entity, depth 0)
 *       header ... header           (each field once, in order)
 *       headers_end
 *       body ... body               (leaf: transfer-decoded data)
 *     | preamble ...                (multipart, with MIMEO_PARSE_PREAMBLE)
 *       part_begin ... part_end     (each child, depth + 1, recursively)
 *       epilogue ...
 *     | part_begin ... part_end     (message/rfc822 or message/global: the
 *                                    encapsulated message's root entity)
 *     part_end
 *   message_end
 *
 * Defects (malformed input that was repaired or tolerated) are reported
 * through the `defect` callback at any point; they are never errors.
 *
 * Memory: the parser allocates its buffers at mimeo_parser_new() and grows
 * them only up to the configured limits (header block, line length, nesting
 * depth); body data is never accumulated: it is passed through, or
 * transfer-decoded through a fixed 64 KiB scratch buffer.  A multi-gigabyte
 * attachment therefore parses in constant memory.
 *
 * Leniency rules (RFC 2045/2046 with the usual real-world repairs):
 *  - line ends may be CRLF, LF or mixed; a bare CR is an ordinary byte
 *    (and counts as whitespace after a boundary);
 *  - a boundary line is "--" boundary, optionally followed by "--" (close
 *    delimiter), followed only by whitespace (transport padding, RFC 2046
 *    5.1.1; anything with MIMEO_PARSE_DELIMITER_PREFIX).  It is matched against the stack of open multiparts, innermost
 *    first, so a boundary that is a prefix of another one is never confused
 *    with it.  The line break before a boundary line belongs to the
 *    boundary.  A boundary line of an outer multipart closes the inner
 *    parts (defect MIMEO_DEFECT_MISSING_CLOSE); the end of input closes
 *    everything that is still open (same defect for multiparts).  A
 *    boundary parameter ending in whitespace (RFC 2046 forbids it) matches
 *    as if the whitespace were not there.  A boundary longer than RFC
 *    2046's 70 characters is used as long as its close delimiter line
 *    ("--" boundary "--") fits in max_line (since 0.2; 1,020 characters
 *    before); a longer one makes the multipart an opaque leaf (defect
 *    MIMEO_DEFECT_NO_BOUNDARY);
 *  - the header block ends at the first empty line; a line that is neither
 *    a header field nor a continuation (nor a boundary) also ends it and is
 *    the first body line (defect MIMEO_DEFECT_MISSING_BLANK_LINE), so when
 *    it is a delimiter of the multipart whose header it ended, it opens
 *    that multipart's first part; parts without any header are fine.
 *    Before the first field of a block, a line holding only whitespace is
 *    skipped (defect MIMEO_DEFECT_BAD_HEADER);
 *  - a multipart in which no delimiter line is found (its boundary never
 *    occurs, or its first delimiter was read as a header field) ends as a
 *    leaf whose content is its body: at part_end its flags are LEAF |
 *    OPAQUE | TRUNCATED instead of MULTIPART, and a root's section gets
 *    its ".1" then (defect MIMEO_DEFECT_NO_DELIMITER, critical).  Its
 *    bytes were delivered through the `preamble` and `epilogue` callbacks
 *    (MIMEO_PARSE_PREAMBLE; a close delimiter line between them is not
 *    content); the message tree shows them as the leaf's body, so text a
 *    mail client displays is never invisible to a filter;
 *  - a delimiter line right after a delimiter of the same multipart (no
 *    header line, no body between) is skipped, not read as an empty part
 *    (defect MIMEO_DEFECT_REPEATED_DELIMITER; an empty part with
 *    MIMEO_PARSE_EMPTY_PARTS); the part that follows keeps the
 *    header_offset of the skipped line;
 *  - duplicate Content-Type or Content-Transfer-Encoding fields: the FIRST
 *    one wins (as GMime and Thunderbird do); defect MIMEO_DEFECT_DUPLICATE;
 *  - defaults (RFC 2045 5.2, RFC 2046 5.1.5): text/plain (charset
 *    "us-ascii" reported as the charset of a text/plain part that has no
 *    Content-Type at all); children of multipart/digest: message/rfc822.
 *    A Content-Type without "/" or a multipart without boundary parameter
 *    is treated as text/plain (RFC 2045 5.2; application/octet-stream
 *    before 0.2), resp. as an opaque leaf (defect);
 *  - message/rfc822 and message/global are parsed recursively, also when a
 *    gateway base64- or quoted-printable-encoded them: the body is then
 *    decoded and the decoded stream parsed (its parts carry the flag
 *    MIMEO_PART_ENCODED and their offsets count bytes of that decoded
 *    stream; not with MIMEO_PARSE_MESSAGE_AS_IS).  message/partial and
 *    message/external-body stay leaves;
 *  - mbox (MIMEO_PARSE_MBOX): a message starts at a line "From " at the
 *    start of the input or after an empty line, provided the line looks
 *    like a From_ line (a sender and a time "hh:mm" follow); any other
 *    "From " line is body text, so an unescaped "From " never loses mail.
 *    Lines matching ^>+From  lose one '>' (mboxrd and mboxo unquoting) in
 *    body, preamble and epilogue data.  The line break before a From_ line
 *    is the mbox separator and is not part of the previous message;
 *  - envelope lines: when a message's first header line is expected (the
 *    start of the input, or of the body of a message/rfc822 part, decoded
 *    or not), a line "From " or ">From " (mboxrd quoting) that is not a
 *    header field ("From : x" is one) is skipped with defect
 *    MIMEO_DEFECT_MBOX_FROM, and the header fields after it are the
 *    message's, as GMime reads them (the mbox separator that
 *    starts each message with MIMEO_PARSE_MBOX is no defect).  Only that
 *    one line: a later non-header line ends the header block as above.
 *    An encapsulated root's header_offset (known at part_begin) is that
 *    of the skipped line; a top-level or transfer-encoded one starts
 *    after it.
 *
 * Limits (mimeo_parser_options; exceeding one sets a MIMEO_LIMIT_* bit,
 * reports defect MIMEO_DEFECT_LIMIT and degrades as follows, never fails):
 *  - max_depth: a multipart or message part at depth >= max_depth is an
 *    opaque leaf (flag MIMEO_PART_OPAQUE): its body is delivered as is;
 *  - max_header_bytes / max_headers: the header block is still read to its
 *    real end (since 0.2; the rest used to become body text): the field
 *    that passes the limit is cut (a single line longer than what is left
 *    of max_header_bytes is truncated to fit, so a huge field is kept, cut
 *    short), and the fields after it are dropped, except the block's first
 *    Content-Type and Content-Transfer-Encoding, which are still delivered
 *    and used, so the structure does not change;
 *  - max_line: a header line longer than this is truncated (the rest of
 *    the line is dropped) and the header goes on; body lines of any
 *    length are delivered.  The default (64 KiB, 1 MiB before 0.2) is far
 *    below max_header_bytes, so one huge line cannot hide the fields after
 *    it;
 *  - max_parts: once a message has this many parts, a further delimiter
 *    line ends its multipart as a close delimiter would (since 0.2; it
 *    used to be body data, so the remaining parts showed as raw MIME in
 *    the body of the last part): the rest is the multipart's epilogue; a
 *    message/rfc822 part is an opaque leaf.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARSER_H
#define MIMEO_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "mimeo/common.h"
#include "mimeo/codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque push parser.  @since 0.1 */
typedef struct mimeo_parser mimeo_parser;

/* Parsed Content-Type (declared in mimeo/param.h). */
struct mimeo_mime_field;

/** mimeo_part_info.flags.  @since 0.1 */
enum {
	/** multipart/ *: children follow (preamble/epilogue around them) */
	MIMEO_PART_MULTIPART = 0x01,
	/** message/rfc822 or message/global parsed recursively: its only
	 * child is the encapsulated message's root entity */
	MIMEO_PART_MESSAGE = 0x02,
	/** a leaf: body data follows */
	MIMEO_PART_LEAF = 0x04,
	/** ended early: by the end of input, an outer boundary, a new mbox
	 * message, or (for a multipart) without its close delimiter */
	MIMEO_PART_TRUNCATED = 0x08,
	/** root entity of a message: the top-level message (depth 0) or an
	 * encapsulated message (child of a MIMEO_PART_MESSAGE part) */
	MIMEO_PART_ROOT = 0x10,
	/** a multipart or message part turned into a leaf by max_depth, a
	 * multipart without boundary parameter, or (set at part_end, when
	 * MULTIPART is cleared and LEAF set: since 0.2) a multipart in
	 * which no delimiter line was found */
	MIMEO_PART_OPAQUE = 0x20,
	/** inside a transfer-encoded message/rfc822: offsets count bytes of
	 * the decoded stream of the enclosing message part, not of the input */
	MIMEO_PART_ENCODED = 0x40,
	/** the message tree only, never the parser: a node that
	 * mimeo_message_expand() derived from its parent's content (a TNEF
	 * item, a uuencoded or yEnc file in a text body; mimeo/expand.h).
	 * @since 0.2 */
	MIMEO_PART_DERIVED = 0x80
};

/**
 * What the callbacks see of the current part.  The struct and every pointer
 * in it stay valid from part_begin until that part's part_end returns, and
 * the values do not change, except the fields marked "from headers_end"
 * (NULL/0 before), the section of a root entity (below), and the flags
 * (and a root's section) of a multipart in which no delimiter line was
 * found: at part_end it is a LEAF | OPAQUE | TRUNCATED.
 */
typedef struct mimeo_part_info {
	/** 0 = the top-level message's root (or each mbox message's root) */
	unsigned depth;
	/**
	 * IMAP section (RFC 3501 6.4.5), the same number the tree gives
	 * (mimeo_part_section()); final at headers_end.  Each message (the
	 * top-level one, each mbox message, or an encapsulated one whose
	 * message/rfc822 part has section N) has a prefix M: "" at top
	 * level, N inside.  The children of a multipart with section S are
	 * S.1, S.2, ... ("1", "2", ... when S is ""): their section is final
	 * at part_begin.  A root entity (MIMEO_PART_ROOT) has section M when
	 * it is a multipart and M.1 otherwise ("1" for a single-part
	 * message: IMAP's BODY[1] is its body); since its type is known only
	 * at headers_end, part_begin shows M, and at headers_end ".1" ("1"
	 * when M is "") is appended in place: the pointer is the same.
	 * So a message/rfc822 part N shares N with a multipart inside it,
	 * and a single-part message inside it is N.1.
	 */
	const char *section;
	/** lowercased type and subtype, defaults applied (from headers_end) */
	const char *type, *subtype;
	/** lowercased charset parameter, NULL if none; "us-ascii" for the
	 * default text/plain of a part without Content-Type (from headers_end) */
	const char *charset;
	/** from Content-Transfer-Encoding, MIMEO_CTE_NONE if absent (the
	 * first such field wins; from headers_end) */
	mimeo_cte cte;
	/** boundary parameter of a multipart, else NULL (from headers_end) */
	const char *boundary;
	/** the parsed first Content-Type field with all its parameters, or
	 * NULL when the part has none (from headers_end) */
	const struct mimeo_mime_field *content_type;
	/** byte offset of the part's first header byte (or of its body when it
	 * has no header) */
	uint64_t header_offset;
	/** byte offset of the first body byte (from headers_end) */
	uint64_t body_offset;
	/** byte offset after the body: the line break before the next
	 * boundary is excluded (valid at part_end) */
	uint64_t end_offset;
	/** bytes delivered through `body` so far (at part_end: in total) */
	uint64_t decoded_size;
	/** MIMEO_PART_* bits (MULTIPART/MESSAGE/LEAF known from headers_end) */
	unsigned flags;
	/** number of header fields seen */
	unsigned header_count;
} mimeo_part_info;

/** Defect severities (GMime's split): a WARN changes nothing for most
 * readers; a CRIT means content may be misinterpreted.  @since 0.1 */
enum { MIMEO_DEFECT_WARN = 1, MIMEO_DEFECT_CRIT = 2 };

/** Defect codes (mimeo_defect.code).  @since 0.1 */
enum {
	/** a line that is not a header field ended the header block */
	MIMEO_DEFECT_MISSING_BLANK_LINE = 1,
	/** a multipart ended without its close delimiter */
	MIMEO_DEFECT_MISSING_CLOSE = 2,
	/** a duplicate Content-Type / Content-Transfer-Encoding (first wins) */
	MIMEO_DEFECT_DUPLICATE = 3,
	/** multipart without (usable) boundary parameter: opaque leaf */
	MIMEO_DEFECT_NO_BOUNDARY = 4,
	/** a limit of mimeo_parser_options was exceeded (see limits above) */
	MIMEO_DEFECT_LIMIT = 5,
	/** unknown Content-Transfer-Encoding: body delivered undecoded */
	MIMEO_DEFECT_UNKNOWN_CTE = 6,
	/** an envelope line ("From ", ">From ") before a message's first
	 * header field was skipped (see "envelope lines" above) */
	MIMEO_DEFECT_MBOX_FROM = 7,
	/** the input ended inside a header block */
	MIMEO_DEFECT_TRUNCATED_HEADERS = 8,
	/** a continuation line before any header field: treated as body, or
	 * skipped when it holds only whitespace (since 0.2) */
	MIMEO_DEFECT_BAD_HEADER = 9,
	/** an invalid or incomplete Content-Type (text/plain used; since 0.2,
	 * application/octet-stream before) */
	MIMEO_DEFECT_BAD_CONTENT_TYPE = 10,
	/** a multipart with transfer encoding other than 7bit/8bit/binary
	 * (RFC 2045 6.4; the encoding is ignored) */
	MIMEO_DEFECT_MULTIPART_ENCODED = 11,
	/** a delimiter line right after a delimiter of the same multipart
	 * was skipped: no empty part between them.  @since 0.2 */
	MIMEO_DEFECT_REPEATED_DELIMITER = 12,
	/** a multipart in which no delimiter line was found: it ends as a
	 * leaf holding its body (MIMEO_PART_OPAQUE), see the leniency rules.
	 * @since 0.2 */
	MIMEO_DEFECT_NO_DELIMITER = 13
};

/** A defect report.  `reason` is a static English string.  @since 0.1 */
typedef struct mimeo_defect {
	int code;          /**< MIMEO_DEFECT_* */
	int severity;      /**< MIMEO_DEFECT_WARN or MIMEO_DEFECT_CRIT */
	uint64_t offset;   /**< byte offset where it was noticed */
	const char *reason;
} mimeo_defect;

/**
 * A short stable name for a defect code, for logs and JSON:
 * "missing-blank-line", "missing-close", "duplicate", "no-boundary",
 * "limit", "unknown-cte", "mbox-from", "truncated-headers", "bad-header",
 * "bad-content-type", "multipart-encoded", "repeated-delimiter",
 * "no-delimiter"; "unknown" for any other value.
 * @param code  a MIMEO_DEFECT_* code (mimeo_defect.code)
 * @return a static string, never NULL.  @since 0.2
 */
MIMEO_EXTERN const char *mimeo_defect_name(int code);

/** Bits of mimeo_parser_limits_hit().  @since 0.1 */
enum {
	MIMEO_LIMIT_DEPTH = 0x01,
	MIMEO_LIMIT_HEADER_BYTES = 0x02,
	MIMEO_LIMIT_HEADERS = 0x04,
	MIMEO_LIMIT_PARTS = 0x08,
	MIMEO_LIMIT_LINE = 0x10
};

#define MIMEO_PARSER_CALLBACKS_VERSION 1

/**
 * Callbacks.  Any may be NULL.  Each returns 0 to go on, MIMEO_PAUSED to
 * pause (mimeo_parser_feed() then returns MIMEO_PAUSED right after this
 * callback; mimeo_parser_consumed() tells how much of the chunk was used:
 * feed the rest again to resume), or anything else to abort: the parser
 * stops with the sticky error MIMEO_EUSER.  Inside a transfer-encoded
 * message/rfc822 a pause takes effect once the current decoded block (at
 * most 64 KiB) has been parsed.  `data` pointers are only valid during the
 * call.  The callbacks must not call mimeo_parser_feed/finish/reset/free on
 * the same parser.
 */
typedef struct mimeo_parser_callbacks {
	unsigned version;  /**< MIMEO_PARSER_CALLBACKS_VERSION */
	/** a top-level message starts (with MIMEO_PARSE_MBOX: each message);
	 * `offset` is its first byte (the From_ line in an mbox) */
	int (*message_begin)(const mimeo_part_info *msg, uint64_t offset, void *user);
	/** a part starts; depth is known, type not yet; section is final
	 * except for a root entity, which shows its message's prefix until
	 * headers_end (see mimeo_part_info.section) */
	int (*part_begin)(const mimeo_part_info *part, void *user);
	/** one whole header field: name as written (without the colon),
	 * raw value after the colon and the whitespace following it, still
	 * folded (line breaks inside kept), without the final line break.
	 * Decode with mimeo/header.h */
	int (*header)(const mimeo_part_info *part, const char *name, size_t name_len,
		      const char *value, size_t value_len, void *user);
	/** the header block ended; type, charset, cte, boundary now valid,
	 * and the section final */
	int (*headers_end)(const mimeo_part_info *part, void *user);
	/** data of a leaf: transfer-decoded (raw with MIMEO_PARSE_NO_DECODE) */
	int (*body)(const mimeo_part_info *part, const char *data, size_t len, void *user);
	/** preamble / epilogue of a multipart (only with MIMEO_PARSE_PREAMBLE) */
	int (*preamble)(const mimeo_part_info *part, const char *data, size_t len, void *user);
	int (*epilogue)(const mimeo_part_info *part, const char *data, size_t len, void *user);
	/** a part ended: end_offset and decoded_size are final */
	int (*part_end)(const mimeo_part_info *part, void *user);
	/** a top-level message ended (its root part ended just before) */
	int (*message_end)(const mimeo_part_info *msg, void *user);
	/** a defect in `part` (the innermost open part) */
	int (*defect)(const mimeo_part_info *part, const mimeo_defect *d, void *user);
} mimeo_parser_callbacks;

/** mimeo_parser_options.flags.  @since 0.1 */
enum {
	/** input is an mbox: From_ splitting, >From unquoting */
	MIMEO_PARSE_MBOX = 0x01,
	/** structure only: leaf bodies delivered raw, not transfer-decoded
	 * (transfer-encoded message/rfc822 bodies are still decoded
	 * internally so that their structure is known) */
	MIMEO_PARSE_NO_DECODE = 0x02,
	/** deliver preamble and epilogue through their callbacks */
	MIMEO_PARSE_PREAMBLE = 0x04,
	/**
	 * Server compatibility (Dovecot's reading; USE ONLY to give the
	 * structure such a server gives, see MIMEO_PARSE_COMPAT_DOVECOT):
	 * a line that starts with "--" and an open multipart's boundary is
	 * a delimiter line whatever follows the boundary, and a close
	 * delimiter when "--" follows it right away ("--b--junk" closes,
	 * "--b-" and "--b junk" delimit).  Without the flag only whitespace
	 * may follow (RFC 2046 5.1.1) and such lines are body text.  When
	 * several open boundaries start the line, the longest wins (of equal
	 * ones, the innermost).  The boundary is compared as written: one
	 * that ends in whitespace (RFC 2046 forbids it) needs that
	 * whitespace on the line; of one longer than 80 characters (RFC
	 * 2046 allows 70) only the first 80 count.  A delimiter line that
	 * the input ends in (no line break after it) starts no part: it
	 * closes its multipart.  A boundary that is a prefix of another
	 * (RFC 2046 forbids it for nested multiparts) takes that one's
	 * lines when the other is the outer one.  @since 0.2
	 */
	MIMEO_PARSE_DELIMITER_PREFIX = 0x08,
	/**
	 * Server compatibility: a base64-, quoted-printable- or uuencoded
	 * message/rfc822 (RFC 2046 5.2.1 forbids it) is parsed from its body
	 * as it stands, not decoded: a base64 text reads as one header
	 * block of lines that are no fields.  Its parts then carry no
	 * MIMEO_PART_ENCODED and their offsets count input bytes.  Without
	 * the flag the body is decoded and the decoded message parsed (see
	 * the leniency rules).  @since 0.2
	 */
	MIMEO_PARSE_MESSAGE_AS_IS = 0x10,
	/**
	 * Server compatibility: a delimiter line right after a delimiter of
	 * the same multipart (no header line, no body between) opens an
	 * empty part, as RFC 2046 read literally and Dovecot have it.
	 * Without the flag it is skipped (defect
	 * MIMEO_DEFECT_REPEATED_DELIMITER), as GMime and Python read it, so
	 * that the later parts keep the section numbers a reader expects.
	 * @since 0.2
	 */
	MIMEO_PARSE_EMPTY_PARTS = 0x20
};

/**
 * The flags that make the parser read malformed structure as Dovecot's
 * IMAP server (2.3) does, so that a server built on mimeo gives clients the
 * same section numbers and BODYSTRUCTURE as a Dovecot they used before
 * (docs/imap.md, "Server-compatibility profile").  Not a default: the
 * default readings are RFC 2046's and agree with GMime and Python.
 * @since 0.2
 */
#define MIMEO_PARSE_COMPAT_DOVECOT                                        \
	(MIMEO_PARSE_DELIMITER_PREFIX | MIMEO_PARSE_MESSAGE_AS_IS | MIMEO_PARSE_EMPTY_PARTS)

#define MIMEO_PARSER_OPTIONS_VERSION 1

/** Options; initialise with MIMEO_PARSER_OPTIONS_INIT.  A limit of 0 means
 * the default.  @since 0.1 */
typedef struct mimeo_parser_options {
	unsigned version;          /**< MIMEO_PARSER_OPTIONS_VERSION */
	unsigned flags;            /**< MIMEO_PARSE_* */
	unsigned max_depth;        /**< nesting depth, default 256 (64 before 0.2) */
	size_t max_header_bytes;   /**< per header block, default 1 MiB */
	unsigned max_headers;      /**< fields per header block, default 2000 */
	size_t max_parts;          /**< parts per message, default 100000 */
	size_t max_line;           /**< header line bytes, default 64 KiB;
				        values below 2048 count as 2048 */
	const mimeo_allocator *alloc; /**< NULL = libc */
	mimeo_isa isa;             /**< decoders' and scanner's ISA path,
				        MIMEO_ISA_AUTO = best */
} mimeo_parser_options;

#define MIMEO_PARSER_DEFAULT_MAX_DEPTH 256u
#define MIMEO_PARSER_DEFAULT_MAX_HEADER_BYTES ((size_t)1 << 20)
#define MIMEO_PARSER_DEFAULT_MAX_HEADERS 2000u
#define MIMEO_PARSER_DEFAULT_MAX_PARTS ((size_t)100000)
#define MIMEO_PARSER_DEFAULT_MAX_LINE ((size_t)64 << 10)

#define MIMEO_PARSER_OPTIONS_INIT { MIMEO_PARSER_OPTIONS_VERSION, 0,        \
	MIMEO_PARSER_DEFAULT_MAX_DEPTH, MIMEO_PARSER_DEFAULT_MAX_HEADER_BYTES,  \
	MIMEO_PARSER_DEFAULT_MAX_HEADERS, MIMEO_PARSER_DEFAULT_MAX_PARTS,       \
	MIMEO_PARSER_DEFAULT_MAX_LINE, NULL, MIMEO_ISA_AUTO }

/**
 * Create a parser.
 * @param out   receives the parser (NULL on failure)
 * @param opts  options, NULL = defaults; copied
 * @param cb    callbacks, copied; NULL = no callbacks (a syntax check)
 * @param user  passed to every callback
 * @return MIMEO_OK, MIMEO_ENOMEM, MIMEO_EINVAL (NULL out, bad version).
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_parser_new(mimeo_parser **out, const mimeo_parser_options *opts,
				  const mimeo_parser_callbacks *cb, void *user);

/**
 * Parse the next `len` bytes of input.
 * @return MIMEO_OK (all consumed), MIMEO_PAUSED (a callback paused: see
 * mimeo_parser_consumed()), or a negative error, which is sticky: every
 * later call returns it (MIMEO_EUSER: a callback aborted; MIMEO_ENOMEM;
 * MIMEO_EINVAL: called after finish, or (since 0.2 sticky too) NULL `data`
 * with a non-zero `len`); mimeo_parser_error() gives its reason and
 * offset.  A NULL parser returns MIMEO_EINVAL and records nothing.
 * Malformed mail is never an error.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_parser_feed(mimeo_parser *p, const void *data, size_t len);

/** After MIMEO_PAUSED: how many bytes of the last fed chunk were used (the
 * caller feeds the rest again to resume).  After MIMEO_OK: the whole chunk.
 * @since 0.1 */
MIMEO_EXTERN size_t mimeo_parser_consumed(const mimeo_parser *p);

/**
 * End of input: delivers what is still buffered and closes the open parts
 * (a multipart missing its close delimiter is closed here) and the message.
 * May return MIMEO_PAUSED: call it again to continue.
 * @return MIMEO_OK, MIMEO_PAUSED or the sticky error.  @since 0.1
 */
MIMEO_EXTERN int mimeo_parser_finish(mimeo_parser *p);

/** Forget the current input and error: ready for a new message, keeping
 * options, callbacks and memory.  @return MIMEO_OK.  @since 0.1 */
MIMEO_EXTERN int mimeo_parser_reset(mimeo_parser *p);

/**
 * The sticky error: returns it (MIMEO_OK if none); `reason` (static string)
 * and `offset` (input byte offset where it happened) may be NULL.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_parser_error(const mimeo_parser *p, const char **reason,
				    uint64_t *offset);

/** MIMEO_LIMIT_* bits of every limit exceeded since new/reset.  @since 0.1 */
MIMEO_EXTERN unsigned mimeo_parser_limits_hit(const mimeo_parser *p);

/** Total input bytes consumed since new/reset.  @since 0.1 */
MIMEO_EXTERN uint64_t mimeo_parser_offset(const mimeo_parser *p);

/** Free the parser (NULL is fine).  @since 0.1 */
MIMEO_EXTERN void mimeo_parser_free(mimeo_parser *p);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_PARSER_H */
