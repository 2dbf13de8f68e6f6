/*
 * mimeo/builder.h - compose Internet mail messages and make any parsed
 * message 7-bit safe.
 *
 * A mimeo_builder collects the pieces of a message (addresses, subject,
 * bodies, attachments) and writes an RFC 5322 + MIME message to a write
 * callback, a FILE * or a mimeo_buf.  Output is streamed: attachments given
 * as a file path or a read callback, and attached message files that can
 * be sent as they are, are read in chunks while they are written and are
 * never held in memory whole, so building a message with a multi-gigabyte
 * attachment needs a few hundred KiB.
 *
 * What the output looks like:
 *
 *  - Structure (RFC 2046): a text body alone is a text/plain message; text
 *    and HTML become multipart/alternative (text first, RFC 2046 5.1.4);
 *    inline images turn the HTML into multipart/related (RFC 2387) whose
 *    first part is the HTML; attachments and attached messages wrap all of
 *    that in multipart/mixed.
 *  - Transfer encoding per part (RFC 2045 section 6), unless the caller
 *    forces one: text is sent 7bit when it is pure ASCII with lines of at
 *    most 998 octets; quoted-printable when it is mostly ASCII; base64 when
 *    it is mostly non-ASCII.  Non-text attachments are always base64 (the
 *    only encoding besides "binary" that keeps every byte and line break
 *    exact).  With MIMEO_BUILD_8BITMIME, UTF-8 text with short lines is sent
 *    8bit.  Quoted-printable is always written in mail-safe mode: a line
 *    starting with "From " or "." is encoded so mbox quoting and SMTP dot
 *    stuffing cannot change it.  A text whose lines start with "From " is
 *    therefore sent quoted-printable rather than 7bit.
 *  - Headers: non-ASCII display names and subjects are RFC 2047 encoded
 *    (mimeo_header_encode_phrase/_text), attachment names use RFC 2231
 *    (`filename*=`) in Content-Disposition plus the RFC 2047 form in the
 *    Content-Type `name=` parameter that older clients read; lines are
 *    folded at 78 columns and no line exceeds 998 octets.
 *  - Boundaries are random and guaranteed absent from the content they
 *    delimit, see mimeo_builder_write().
 *  - Line breaks are LF (mailbox files) or CRLF (SMTP, MIMEO_BUILD_CRLF).
 *    Text bodies set with mimeo_builder_set_text()/_set_html() have their
 *    line breaks (LF or CRLF) converted to the output's; attachments keep
 *    every byte exactly as given.
 *
 * Thread safety: a builder may be used by one thread at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_BUILDER_H
#define MIMEO_BUILDER_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "codec.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Builder                                                             */
/* ------------------------------------------------------------------ */

/** A message being composed (opaque).  @since 0.1 */
typedef struct mimeo_builder mimeo_builder;

/** Value of mimeo_builder_options.version. */
#define MIMEO_BUILDER_OPTIONS_VERSION 1

/** Builder flag: CRLF line breaks (SMTP wire format); default LF. */
#define MIMEO_BUILD_CRLF 0x1u
/** Builder flag: the transport announced 8BITMIME (RFC 6152): UTF-8 text
 *  with lines of at most 998 octets may be sent as 8bit. */
#define MIMEO_BUILD_8BITMIME 0x2u
/** Builder flag: also write the Bcc field (for the sender's own copy;
 *  RFC 5322 section 3.6.3).  By default Bcc recipients are kept but not
 *  written (see mimeo_builder_recipient()). */
#define MIMEO_BUILD_WRITE_BCC 0x4u

/** Options of mimeo_builder_new().  Zero-initialise or use
 *  MIMEO_BUILDER_OPTIONS_INIT, then change what you need. */
typedef struct mimeo_builder_options {
	unsigned version;          /**< MIMEO_BUILDER_OPTIONS_VERSION */
	unsigned flags;            /**< MIMEO_BUILD_* */
	/** Domain of generated Message-IDs (RFC 5322 section 3.6.4); NULL =
	 *  the host name (gethostname), or "localhost" when that fails. */
	const char *message_id_domain;
	/** Memory for the builder and everything it copies; NULL = libc. */
	const mimeo_allocator *alloc;
} mimeo_builder_options;

#define MIMEO_BUILDER_OPTIONS_INIT { MIMEO_BUILDER_OPTIONS_VERSION, 0, NULL, NULL }

/**
 * Create an empty builder.
 * @param out   receives the builder, to be freed with mimeo_builder_free()
 * @param opts  NULL = defaults (LF output, no 8BITMIME, libc memory)
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (unknown options
 *         version).  On failure *out is NULL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_new(mimeo_builder **out, const mimeo_builder_options *opts);

/** Free a builder and everything it copied.  Files named by
 *  mimeo_builder_add_attachment_file() are not touched.  NULL is a no-op.
 *  @since 0.1 */
MIMEO_EXTERN void mimeo_builder_free(mimeo_builder *b);

/**
 * Why the last failing call on `b` failed: returns its status (MIMEO_OK if
 * none failed yet) and, in *reason (may be NULL), a static English sentence
 * ("no From address (RFC 5322 3.6 requires one)", ...; "" when none).  A
 * later successful call does not clear it.  Calls given a NULL builder
 * cannot record anything and just return MIMEO_EINVAL.
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_builder_error(const mimeo_builder *b, const char **reason);

/** Address fields (RFC 5322 section 3.6.2 and 3.6.3). */
typedef enum mimeo_builder_field {
	MIMEO_FIELD_FROM = 0,
	MIMEO_FIELD_TO,
	MIMEO_FIELD_CC,
	MIMEO_FIELD_BCC,
	MIMEO_FIELD_REPLY_TO,
	/** the agent that sent the message on behalf of From (RFC 5322
	 *  3.6.2): at most one mailbox.  @since 0.2 */
	MIMEO_FIELD_SENDER
} mimeo_builder_field;

/**
 * Append a mailbox to an address field.  Fields are written in the order
 * From, Sender, Reply-To, To, Cc (Bcc only with MIMEO_BUILD_WRITE_BCC), each
 * as one comma-separated list folded at 78 columns.
 * @param field         which field
 * @param display_name  UTF-8 display name or NULL/"" for none; written as
 *                      an atom, a quoted string or RFC 2047 encoded words
 * @param addr_spec     "local@domain", printable ASCII without spaces,
 *                      angle brackets, commas or control characters (an
 *                      internationalised address needs SMTPUTF8 and is
 *                      refused)
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (bad field or address,
 *         or a second Sender).  Both strings are copied.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_address(mimeo_builder *b, mimeo_builder_field field,
					   const char *display_name, const char *addr_spec);

/**
 * The `i`-th address of `field` (Bcc included), e.g. to build the SMTP
 * envelope.  @return the addr_spec, or NULL when out of range.  Valid until
 * the builder is freed.  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_builder_recipient(const mimeo_builder *b,
						 mimeo_builder_field field, size_t i);

/**
 * Set the Subject (UTF-8; RFC 2047 encoded as needed).  Replaces an
 * earlier subject.  Line breaks in the text become spaces.
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_set_subject(mimeo_builder *b, const char *utf8, size_t len);

/**
 * Set the Date field.  Without this call the date is taken when the
 * message is first written (the current time in the local time zone).
 * @param utc_seconds     seconds since 1970-01-01 00:00:00 UTC
 * @param offset_minutes  the zone offset to show, -1439..1439 (e.g. 60
 *                        for +0100)
 * @return MIMEO_OK or MIMEO_EINVAL (offset out of range).  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_set_date(mimeo_builder *b, int64_t utc_seconds,
					int offset_minutes);

/**
 * Set the Message-ID.  Without this call one is generated when the message
 * is first written: 26 random characters from getrandom() (130 bits), "@",
 * then options.message_id_domain or the host name.
 * @param id  "left@right" without angle brackets, printable ASCII without
 *            spaces or "<>"; NULL goes back to a generated one
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_set_message_id(mimeo_builder *b, const char *id);

/**
 * The Message-ID the message has (or will have) without the angle
 * brackets: the caller's, or the one generated now (then kept for every
 * later write).  @return the id (valid until the builder is freed), or
 * NULL when out of memory.  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_builder_message_id(mimeo_builder *b);

/**
 * Set the In-Reply-To field of a reply: the Message-ID(s) of the message(s)
 * answered (RFC 5322 3.6.4), written as "<id>" each, folded at 78 columns.
 * @param ids  `n` ids without angle brackets ("left@right", printable ASCII
 *             without spaces or "<>"); n = 0 removes the field
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (a bad id; nothing is
 *         changed then).  Copied.  @since 0.2
 */
MIMEO_EXTERN int mimeo_builder_set_in_reply_to(mimeo_builder *b, const char *const *ids, size_t n);

/**
 * Set the References field: the thread so far, oldest first (RFC 5322
 * 3.6.4: the parent's References followed by the parent's Message-ID).
 * Same rules as mimeo_builder_set_in_reply_to().  @since 0.2
 */
MIMEO_EXTERN int mimeo_builder_set_references(mimeo_builder *b, const char *const *ids, size_t n);

/** mimeo_builder_add_header() flag: write `value` as it is (it must be
 *  printable ASCII and may contain folds "\n " / "\r\n "); no RFC 2047. */
#define MIMEO_HEADER_RAW 0x1u

/**
 * Add a header field written after the standard ones, in call order
 * (e.g. "X-Mailer", "List-Unsubscribe").
 * @param name   field name: letters, digits and "-", starting with a letter
 *               or digit.  The fields the builder writes itself (From,
 *               Sender, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID,
 *               In-Reply-To, References, MIME-Version, Content-*) are
 *               refused: use the setters.
 * @param value  UTF-8 unstructured text, RFC 2047 encoded and folded as
 *               needed; with MIMEO_HEADER_RAW written as is (then it must be
 *               printable ASCII or tab, and any line breaks must be folds
 *               followed by whitespace)
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_header(mimeo_builder *b, const char *name,
					  const char *value, unsigned flags);

/**
 * Set the plain-text body (UTF-8, copied).  Line breaks become the output's.
 * @param cte  MIMEO_CTE_NONE to choose automatically, or a forced
 *             MIMEO_CTE_7BIT / _8BIT / _QP / _BASE64 (a forced 7bit or 8bit
 *             is the caller's promise: the text is written as it is)
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (bad cte).  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_set_text(mimeo_builder *b, const char *utf8, size_t len,
					mimeo_cte cte);

/** Set the HTML alternative (UTF-8, copied); as mimeo_builder_set_text.
 *  @since 0.1 */
MIMEO_EXTERN int mimeo_builder_set_html(mimeo_builder *b, const char *utf8, size_t len,
					mimeo_cte cte);

/** mimeo_builder_part.flags: do not copy memory data; the caller keeps it
 *  alive and unchanged until the builder is freed. */
#define MIMEO_BUILDER_PART_BORROW 0x1u

/** Value of mimeo_builder_part.version. */
#define MIMEO_BUILDER_PART_VERSION 1

/** Describes an attachment or inline image.  Zero-initialise or use
 *  MIMEO_BUILDER_PART_INIT; every string is copied by the add call. */
typedef struct mimeo_builder_part {
	unsigned version;          /**< MIMEO_BUILDER_PART_VERSION */
	/** "type/subtype", e.g. "image/png"; NULL = application/octet-stream.
	 *  Parameters may follow after ";" (e.g. "text/plain; charset=utf-8"):
	 *  they are written as given. */
	const char *content_type;
	/** UTF-8 file name, or NULL (then no name is written; for
	 *  mimeo_builder_add_attachment_file() NULL means the file's base
	 *  name). */
	const char *filename;
	/** Content-ID without angle brackets for inline parts (the HTML refers
	 *  to it as "cid:..."); required by mimeo_builder_add_inline(), optional
	 *  elsewhere.  Printable ASCII without spaces or "<>". */
	const char *content_id;
	/** UTF-8 Content-Description, or NULL. */
	const char *description;
	/** MIMEO_CTE_NONE = automatic; else forced: MIMEO_CTE_BASE64, _QP, and
	 *  (only for memory and file data) _7BIT, _8BIT, _BINARY, which are the
	 *  caller's promise that the data suits them. */
	mimeo_cte encoding;
	unsigned flags;            /**< MIMEO_BUILDER_PART_* */
} mimeo_builder_part;

#define MIMEO_BUILDER_PART_INIT { MIMEO_BUILDER_PART_VERSION, NULL, NULL, NULL, NULL, \
				  MIMEO_CTE_NONE, 0 }

/**
 * Attach `len` bytes from memory (copied unless MIMEO_BUILDER_PART_BORROW).
 * Attachments are written with Content-Disposition: attachment in call
 * order, after the body.
 * @param spec  type, name, encoding...; NULL = octet-stream without a name
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (bad spec: unknown
 *         version, malformed content type or Content-ID, unusable forced
 *         encoding).  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_attachment(mimeo_builder *b, const mimeo_builder_part *spec,
					      const void *data, size_t len);

/**
 * Attach the file at `path`.  The file is checked now (it must be a
 * readable regular file) and read in chunks while the message is written;
 * it is never loaded whole.  Text types are read twice (once to choose the
 * transfer encoding); other types once.
 * @param spec  NULL or spec->filename NULL: the base name of `path` is the
 *              filename; NULL content type: application/octet-stream
 * @return MIMEO_OK, MIMEO_ENOMEM, MIMEO_EINVAL, or MIMEO_EIO (cannot open or
 *         not a regular file; errno tells why).  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_attachment_file(mimeo_builder *b,
						   const mimeo_builder_part *spec,
						   const char *path);

/**
 * Attach data produced by `read` (see mimeo_read_fn in common.h) while the
 * message is written; called until it reports 0 bytes.  The data cannot be
 * read twice, so such a builder can be written only once (a second write
 * fails with MIMEO_EINVAL), and its encoding cannot depend on the content:
 * text types are sent quoted-printable, others base64 (unless forced to
 * MIMEO_CTE_BASE64 or _QP).  A negative code from `read` stops the writer
 * and is returned by it.
 * @return MIMEO_OK, MIMEO_ENOMEM or MIMEO_EINVAL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_attachment_stream(mimeo_builder *b,
						     const mimeo_builder_part *spec,
						     mimeo_read_fn read, void *ctx);

/**
 * Add an inline image (or any related resource) for the HTML body: it goes
 * into a multipart/related with the HTML (RFC 2387), with
 * Content-Disposition: inline and the spec's Content-ID, which is required.
 * The data is from memory, as mimeo_builder_add_attachment.
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (also when the spec has
 *         no content_id).  Inline parts without an HTML body are written as
 *         attachments.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_inline(mimeo_builder *b, const mimeo_builder_part *spec,
					  const void *data, size_t len);

/**
 * Attach a whole message as message/rfc822 (forwarding, RFC 2046 5.2.1).
 * RFC 2046 allows only 7bit, 8bit or binary for such a part, so the
 * message itself is made transport-safe: its line breaks become the
 * output's, and when it has 8-bit bytes (without MIMEO_BUILD_8BITMIME),
 * NULs or lines over 998 octets it is rewritten with mimeo_to7bit(), which
 * keeps its decoded content.  The data is copied unless
 * MIMEO_BUILDER_PART_BORROW is in `flags` (the rewritten or re-broken form
 * is always a copy); see mimeo_builder_add_message_file() to stream it
 * from a file instead.
 * @param filename  UTF-8 name for the part, or NULL
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_message(mimeo_builder *b, const void *data, size_t len,
					   const char *filename, unsigned flags);

/**
 * Attach the message in the file at `path` as message/rfc822, as
 * mimeo_builder_add_message() does, without holding it in memory when it
 * can be sent as it is.  The file is checked now (a readable regular
 * file); at the first write it is read once to choose the part's label
 * and once more while it is written, in slices, with its line breaks
 * converted to the output's on the way.  A message that must be rewritten
 * (8-bit bytes without MIMEO_BUILD_8BITMIME, NULs, a lone CR, lines over
 * 998 octets) is loaded whole at the first write instead, because
 * mimeo_to7bit() works on a parsed message tree; it is then kept in
 * memory and the file is not read again.
 *
 * There is no read-callback variant: RFC 2046 5.2.1 forbids encoding a
 * message/rfc822 part, so its Content-Transfer-Encoding (7bit, 8bit or
 * binary) depends on every byte and must be written before them, and a
 * callback can be read only once.  (Stream attachments avoid this by
 * always being base64 or quoted-printable.)
 * @param filename  UTF-8 name for the part; NULL = the base name of `path`
 * @return MIMEO_OK, MIMEO_ENOMEM, MIMEO_EINVAL, or MIMEO_EIO (cannot open
 *         or not a regular file; errno tells why).  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_add_message_file(mimeo_builder *b, const char *path,
						const char *filename);

/**
 * Write the message.  The first write fixes the Date, Message-ID and
 * boundaries; later writes of the same builder give identical output
 * (except when a stream attachment makes the builder single-use).
 *
 * Why boundaries cannot occur in the content (RFC 2046 5.1.1): every
 * boundary is "=_" followed by a per-multipart number and 24 random
 * characters.  Base64 output has no "=" except as final padding and no "-"
 * at all; quoted-printable output writes every "=" of the data as "=3D"
 * and uses "=" otherwise only before two hex digits or a line break, so
 * "=_" never appears in either.  Content written as it is (7bit or 8bit
 * text, attached messages) is scanned before writing: a text that has a
 * line starting with "--=_" is sent quoted-printable instead, and for
 * forced or attached-message content a colliding boundary is replaced by
 * another random one.  Boundaries of different multiparts have the same
 * length and different numbers, so none is a prefix of another, and header
 * lines never start with "-" (field names start with a letter or digit,
 * folded lines with whitespace).
 *
 * @param write, ctx  receives the output in chunks
 * @return MIMEO_OK; MIMEO_ENOMEM; MIMEO_EIO (an attachment file could not
 *         be read); MIMEO_EINVAL (no From address, or a second write with a
 *         stream attachment); the negative code of a read or write
 *         callback (other non-zero write results become MIMEO_EUSER).
 *         Output may be partial after a failure.  @since 0.1
 */
MIMEO_EXTERN int mimeo_builder_write(mimeo_builder *b, mimeo_write_fn write, void *ctx);

/** mimeo_builder_write() to a stdio stream (not flushed or closed).
 *  @return as mimeo_builder_write; MIMEO_EIO when fwrite fails.  @since 0.1 */
MIMEO_EXTERN int mimeo_builder_write_file(mimeo_builder *b, FILE *f);

/** mimeo_builder_write() appending to `out`.  @since 0.1 */
MIMEO_EXTERN int mimeo_builder_write_buf(mimeo_builder *b, mimeo_buf *out);

/* ------------------------------------------------------------------ */
/* Writing parsed messages                                             */
/* ------------------------------------------------------------------ */

/**
 * Serialise a parsed message unchanged: the output is its source, byte for
 * byte (so signatures and DKIM stay valid).
 * @return MIMEO_OK or the write callback's failure.  @since 0.1
 */
MIMEO_EXTERN int mimeo_message_write_source(const mimeo_message *m, mimeo_write_fn write,
					    void *ctx);

/** Warning callback of mimeo_to7bit(): `section` is the IMAP section of the
 *  part concerned ("" = the top), `message` a static English sentence. */
typedef void (*mimeo_warning_fn)(const char *section, const char *message, void *user);

/** Value of mimeo_to7bit_options.version. */
#define MIMEO_TO7BIT_OPTIONS_VERSION 1

/** Options of mimeo_to7bit().  Zero-initialise or use
 *  MIMEO_TO7BIT_OPTIONS_INIT. */
typedef struct mimeo_to7bit_options {
	unsigned version;          /**< MIMEO_TO7BIT_OPTIONS_VERSION */
	unsigned flags;            /**< reserved, 0 */
	mimeo_warning_fn warning;  /**< NULL = warnings are only counted */
	void *warning_ctx;         /**< passed to `warning` */
	const mimeo_allocator *alloc; /**< scratch memory; NULL = libc */
} mimeo_to7bit_options;

#define MIMEO_TO7BIT_OPTIONS_INIT { MIMEO_TO7BIT_OPTIONS_VERSION, 0, NULL, NULL, NULL }

/**
 * Write `m` so that every byte is below 128 and every line at most 998
 * octets (RFC 5322 section 2.1.1, RFC 2045 section 2.7), keeping its
 * decoded content:
 *
 *  - a leaf whose body has a byte >= 128, a NUL, or a line over 998 octets
 *    gets a new Content-Transfer-Encoding: quoted-printable (mail-safe)
 *    when most of it is ASCII text, base64 otherwise (and where a
 *    quoted-printable line would read as a delimiter of an enclosing
 *    multipart, e.g. after a soft line break); its other header
 *    fields stay as they were (a header block that ended without a blank
 *    line gets one, or the encoded first line could read as a field);
 *  - an address field (From, Sender, Reply-To, To, Cc, Bcc, Resent-*,
 *    Disposition-Notification-To, Mail-Followup-To, ...) with raw 8-bit
 *    bytes is rebuilt from its parsed form (mimeo_address_list_parse) as a
 *    valid address list: display names, group names and comments (which
 *    become display names) as RFC 2047 phrases (section 5 (3)), ASCII
 *    addr-specs unchanged, and a non-ASCII domain as A-labels: with
 *    libidn2 (build option idn2, since 0.2) IDNA2008 with the UTS #46
 *    mapping (case folding, NFC); without it each non-ASCII label
 *    punycoded as it is ("xn--", RFC 3492).
 *    libidn2 is loaded (dlopen) when a non-ASCII domain first needs it.
 *    A mailbox with a non-ASCII local part (SMTPUTF8), a non-ASCII domain
 *    literal, or (with libidn2) a domain IDNA rejects or libidn2 that
 *    cannot be loaded at run time, cannot be made
 *    7-bit: it becomes an empty group named
 *    after it (the encoded words of "Name local@domain" then ":;", as
 *    RFC 6857 downgrades it), placed after the group it was in, with a
 *    warning.  A malformed
 *    list keeps what the parser found in it (a warning); a mailbox without
 *    a domain keeps its local part ("root"); an empty address stays one:
 *    "Name <>" as the encoded name and "<>" (since 0.2; it was an empty
 *    group named after it);
 *  - any other header field with raw 8-bit bytes is RFC 2047 encoded
 *    (decoded as mimeo_header_decode_text does: UTF-8, else
 *    windows-1252); Content-Type and Content-Disposition are rebuilt
 *    with RFC 2231 parameters instead, and since no encoding can carry
 *    8-bit bytes in a media type or disposition type, those become "_"
 *    (the type stays as unknown as it was);
 *  - a multipart whose boundary has 8-bit bytes (or is too long for a
 *    998-octet delimiter line) gets a new one, "=_7bit_" + 8 hex digits
 *    of a hash of the old one (deterministic; different for nested
 *    multiparts and from any line its body starts with), in its
 *    Content-Type and delimiter lines; other lines stay no delimiters;
 *  - a transfer-encoded message/rfc822 part whose body is not 7-bit is
 *    decoded and written again in base64 (its parts stay the same);
 *  - a field with a line over 998 octets is refolded (what cannot be
 *    folded is broken with a fold); the field name is kept, except that a
 *    name over 900 octets is cut (a warning);
 *  - a multipart or message part labelled 8bit or binary whose content
 *    had to be changed is relabelled 7bit;
 *  - preambles and epilogues (text readers ignore, RFC 2046 5.1.1) with
 *    8-bit bytes or over-long lines have those bytes replaced by "?" and
 *    the lines broken (a warning); bytes before the message (an mbox From_
 *    line) only get their 8-bit bytes replaced;
 *  - everything else - header blocks, leaves, boundaries - is copied byte
 *    for byte from the source, so a message that is already 7-bit clean
 *    comes out unchanged;
 *  - the bodies of multipart/signed and application/pkcs7-mime (and
 *    x-pkcs7-mime) parts are copied unchanged even when they are not 7-bit
 *    clean, because any change breaks their signature; each such body that
 *    is not clean gives a warning (their own header fields, which the
 *    signature does not cover, are converted as usual; so are the
 *    delimiter lines, preamble and epilogue of a multipart/signed that
 *    gets a new boundary).
 * New line breaks follow the source's (CRLF when its first line ends so).
 *
 * @param m        a parsed message (mimeo_message_parse_*)
 * @param opts     NULL = defaults
 * @param write    receives the output
 * @param warnings number of warnings given (may be NULL)
 * @return MIMEO_OK, MIMEO_ENOMEM, MIMEO_EINVAL (bad options version), or
 *         the write callback's failure.  @since 0.1
 */
MIMEO_EXTERN int mimeo_to7bit(const mimeo_message *m, const mimeo_to7bit_options *opts,
			      mimeo_write_fn write, void *ctx, size_t *warnings);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_BUILDER_H */
