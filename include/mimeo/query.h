/*
 * mimeo/query.h - what a mail client asks of a parsed message, one call each.
 *
 * The message tree (mimeo/message.h) keeps every header field raw; these
 * functions answer the everyday questions on top of it: the decoded Subject,
 * the From addresses, the Date, the Message-ID and References, "is this an
 * attachment?", "which part is cid:logo@x?".  They decode on demand into
 * caller-owned buffers or lists and never change the tree, so one parsed
 * message may be queried from several threads at once (each with its own
 * charset cache, or NULL).
 *
 * Raw 8-bit bytes in a header (no RFC 2047 encoding; common in Big5, GBK
 * and KOI8-R mail) are read as UTF-8 when they are valid UTF-8, else in the
 * charset the caller names in `opts->default_charset`, else in the part's
 * own charset (its Content-Type charset; for a message or multipart, the
 * charset of its first text part that declares one), else windows-1252.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_QUERY_H
#define MIMEO_QUERY_H

#include "common.h"
#include "address.h"
#include "charset.h"
#include "header.h"
#include "message.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The decoded value of the `n`th field called `name` (any case; n = 0 is
 * the first) of node `p`: unfolded, RFC 2047 words decoded, UTF-8, with runs
 * of folding whitespace (TABs included) shown as one space, as a client
 * shows a Subject.  For a message/rfc822 node these are the fields of the
 * message it carries; for the root, the message's own fields.
 * `out` is REPLACED; on success `out->ptr` is never NULL ("" for an empty
 * value), so it can be printed as it is.
 * @param cc    charset cache; NULL makes a temporary one when needed
 * @param opts  NULL or zero-initialised = defaults (see the file comment for
 *              the 8-bit fallback)
 * @return MIMEO_OK, MIMEO_ENOTFOUND (fewer than n+1 such fields; `out` is
 *         then ""), MIMEO_ENOMEM, or MIMEO_EINVAL (NULL p, name or out, or
 *         an unknown opts->version).
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_part_header_text(const mimeo_part *p, const char *name, size_t n,
					mimeo_charset_cache *cc, const mimeo_header_options *opts,
					mimeo_buf *out);

/**
 * The addresses of every field called `name` of node `p` (From, To, Cc,
 * Bcc, Reply-To, Sender, Resent-*...), in order, parsed as RFC 5322 address
 * lists before their words are decoded (so an encoded "," or "<" in a name
 * cannot split or forge an address).  A display name keeps comments inside
 * it ("Jason Lee (Sales) <j@x>" gives "Jason Lee (Sales)"); a bare address
 * with a comment takes the comment as its name.
 * @param out  receives a list to free with mimeo_address_list_free(); on
 *             MIMEO_ENOTFOUND an empty list (count 0), NULL on other errors
 * @param opts as for mimeo_address_list_parse(): opts->alloc (NULL = libc)
 *             gives the list and the temporary memory
 * @return MIMEO_OK, MIMEO_ENOTFOUND (no such field), MIMEO_ENOMEM or
 *         MIMEO_EINVAL (NULL out, p or name, or an unknown opts->version).
 *         @since 0.2
 */
MIMEO_EXTERN int mimeo_part_addresses(mimeo_address_list **out, const mimeo_part *p,
				      const char *name, mimeo_charset_cache *cc,
				      const mimeo_header_options *opts);

/**
 * The date of the first field called `name` (NULL = "Date") of node `p`,
 * read as mimeo_date_parse() does.
 * @param utc_seconds     seconds since the epoch; may be NULL
 * @param offset_minutes  the zone as written (+0130 -> 90); may be NULL
 * @return MIMEO_OK, MIMEO_ENOTFOUND (no such field), MIMEO_EPARSE (not a
 *         date; outputs untouched) or MIMEO_EINVAL.  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_date(const mimeo_part *p, const char *name, int64_t *utc_seconds,
				 int *offset_minutes);

/** A list of message identifiers, freed with mimeo_id_list_free(). */
typedef struct mimeo_id_list {
	const char *const *ids; /**< each without its angle brackets, NUL-terminated */
	size_t count;
} mimeo_id_list;

/**
 * The message identifiers of every field called `name` of node `p`:
 * Message-ID (one), In-Reply-To and References (several), Content-ID,
 * Resent-Message-ID.  Each `<id-left@id-right>` is returned without its
 * brackets, comments and folding removed, in order, duplicates kept.
 * Leniency: a value without any "<" (written by broken agents) gives each
 * whitespace-separated word that holds an "@"; an unclosed "<" runs to the
 * end of the value; an empty "<>" is skipped.
 * @param out  receives the list (count 0 on MIMEO_ENOTFOUND); NULL on other
 *             errors
 * @return MIMEO_OK, MIMEO_ENOTFOUND (no such field or no id in it),
 *         MIMEO_ENOMEM or MIMEO_EINVAL.  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_ids(mimeo_id_list **out, const mimeo_part *p, const char *name);

/** Free a list from mimeo_part_ids().  NULL is a no-op.  @since 0.2 */
MIMEO_EXTERN void mimeo_id_list_free(mimeo_id_list *l);

/**
 * Whether node `p` is an attachment, the one rule that `mimeo extract`,
 * `mimeo ls` and the attachment iterator use: a leaf (not multipart, not
 * message/rfc822 unless kept whole) that has a file name
 * (Content-Disposition filename, else Content-Type name) or whose
 * disposition is "attachment".  An inline image with a name counts (a
 * client lists it among the attachments too); a text body without a name
 * does not.
 * @return 1 or 0 (0 for NULL).  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_is_attachment(const mimeo_part *p);

/**
 * The attachment after `prev` in document order (depth first, the order
 * of `mimeo tree`), or the first one when `prev` is NULL; NULL after the
 * last.  Attachments inside an encapsulated message are included.
 * @code
 * for (const mimeo_part *a = NULL; (a = mimeo_message_next_attachment(m, a)); )
 *         save(a);
 * @endcode
 * @since 0.2
 */
MIMEO_EXTERN const mimeo_part *mimeo_message_next_attachment(const mimeo_message *m,
							     const mimeo_part *prev);

/**
 * The node whose Content-ID is `cid`, for resolving the `cid:` links of an
 * HTML body (RFC 2392).  `cid` may be the URL as it appears in the HTML
 * ("cid:logo%40example.com", %-escapes decoded), an id with brackets
 * ("<logo@example.com>") or without.  Ids are compared exactly first, then
 * ignoring ASCII case (some agents change the case of the domain).
 * @return the first such node in document order, or NULL.  @since 0.2
 */
MIMEO_EXTERN const mimeo_part *mimeo_message_find_content_id(const mimeo_message *m,
							     const char *cid);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_QUERY_H */
