/*
 * mimeo/imap.h - IMAP BODYSTRUCTURE and ENVELOPE (RFC 3501 section 7.4.2)
 * of a parsed message, as an IMAP server sends them in a FETCH response.
 *
 * The values are built from the message tree (mimeo/message.h): its
 * structure (which node is a multipart, an encapsulated message or a leaf)
 * and the byte ranges of each node in mimeo_message_source().  The fields
 * themselves are read from the raw header fields, as a server does: types,
 * subtypes, parameter names and values keep the case they were written in,
 * RFC 2047 encoded words and RFC 2231 values are NOT decoded (only RFC 2231
 * continuations are joined, "name*0"/"name*1" to "name", or "name*" when a
 * section is extended), and the ENVELOPE's strings are the raw field
 * values, unfolded.  A part's size counts its body's octets and a text
 * part's line count its line feeds, both as the message would be in
 * canonical CRLF form: a line feed without a carriage return before it
 * counts two octets (what a server that stores LF-only files reports).
 *
 * Strings are written quoted, with `\` before `"` and `\`, unless they
 * hold a CR, LF, NUL or 8-bit byte: then as a literal `{n}` CRLF followed
 * by the n bytes (a NUL byte is written as 0x80, since IMAP literals carry
 * no NULs).  Absent values are NIL.  The subject and display names are
 * whitespace-normalised for humans (runs of spaces and tabs become one
 * space, line breaks vanish, no space at either end).
 *
 * Leniencies, matching what Dovecot's IMAP server sends (docs/imap.md has
 * the table): the first Content-Type, -Transfer-Encoding, -ID,
 * -Description, -MD5, -Language and -Location field counts, a
 * Content-Disposition without parameters gives way to a later one with
 * parameters, and the last Date/Subject/From/... field of a message
 * counts for the ENVELOPE; a Content-Type without subtype gives subtype "",
 * a multipart without parts is written with one empty text/plain part;
 * Content-* fields of a message's root entity count only when it has a
 * MIME-Version or Content-Type field; an address list that cannot be read
 * gives the markers MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR or
 * INVALID_ROUTE in place of the missing piece.
 *
 * The structure is the tree's: a server that must give the section numbers
 * Dovecot gave (it replaces one) parses with the parser's
 * MIMEO_PARSE_COMPAT_DOVECOT in mimeo_message_options.parser (prefix
 * delimiter lines, encoded message/rfc822 read as it stands, empty parts
 * between repeated delimiters; since 0.2),
 * and serves BODY[section] from that same tree (docs/imap.md).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_IMAP_H
#define MIMEO_IMAP_H

#include "common.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

/** mimeo_imap_bodystructure() flag: the BODY form, without extension data
 *  (no MD5, disposition, language, location, multipart parameters).
 *  @since 0.2 */
#define MIMEO_IMAP_NO_EXTENSION 0x1u

/**
 * Append the BODYSTRUCTURE of node `p` of message `m` to `out`: a
 * parenthesised list as in RFC 3501 7.4.2, with extension data unless
 * MIMEO_IMAP_NO_EXTENSION is set.  For the root of a single-part message
 * this is the message's BODYSTRUCTURE; for any other node, that of the
 * part (an IMAP client's BODYSTRUCTURE of section N is this value for
 * mimeo_message_find_section(m, "N")).  A message/rfc822 node includes
 * the ENVELOPE and BODYSTRUCTURE of the message it carries.
 * A message/rfc822 part whose body is base64- or quoted-printable-encoded
 * is described from its decoded body (its size and line count are still
 * those of the encoded body).
 * @param m      the message (its source holds the bodies)
 * @param p      a node of `m`; NULL = the root
 * @param flags  0 or MIMEO_IMAP_NO_EXTENSION
 * @param out    receives the value (appended; NUL-terminated, but it may
 *               hold CR, LF and 8-bit bytes inside literals)
 * @return MIMEO_OK; MIMEO_ENOMEM (out may hold part of the value);
 *         MIMEO_EIO (a source file that cannot be read any more);
 *         MIMEO_EINVAL (m or out NULL, unknown flags, or p a derived
 *         node of mimeo/expand.h: it has no IMAP form; its parent's
 *         BODYSTRUCTURE describes the bytes it comes from).  @since 0.2
 */
MIMEO_EXTERN int mimeo_imap_bodystructure(const mimeo_message *m, const mimeo_part *p,
					  unsigned flags, mimeo_buf *out);

/**
 * Append the ENVELOPE (date, subject, from, sender, reply-to, to, cc,
 * bcc, in-reply-to, message-id) of a message to `out`, from the header
 * fields of node `p`: NULL or the root is the top-level message (even
 * when it is itself a message/rfc822 entity); any other message/rfc822
 * node stands for the message it carries.  Sender and Reply-To default to
 * From (RFC 3501 7.4.2).
 * @return MIMEO_OK; MIMEO_ENOMEM; MIMEO_EIO (source file unreadable);
 *         MIMEO_EINVAL (m or out NULL, p a derived node).
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_imap_envelope(const mimeo_message *m, const mimeo_part *p, mimeo_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_IMAP_H */
