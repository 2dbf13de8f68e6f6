/*
 * mimeo/address.h - RFC 5322 address lists (From, To, Cc, Reply-To, ...).
 *
 * The structure of the list (which bytes are display names, local parts,
 * domains, group names) is parsed on the raw bytes FIRST; only then are the
 * display names and group names RFC 2047-decoded.  A decoded "<", "@" or ","
 * inside a display name can therefore never create, hide or move an address
 * (the spoofing class of CVE-2023-27043 and MimeKit#503).  Local parts and
 * domains are never RFC 2047-decoded (RFC 2047 section 5 forbids encoded
 * words there).
 *
 * Parsing never fails on syntax.  Lenient rules (MIMEO_REPAIR_SYNTAX):
 * missing angle brackets ("John Doe john@example.com" -> display name "John
 * Doe"), a missing domain ("<user>", "user") gives domain NULL, garbage after
 * an address up to the next "," is dropped, an unterminated quoted string,
 * comment or angle address runs to the end, a group without ";" ends at the
 * end, empty entries (",,") are skipped.  Obsolete syntax (RFC 5322 4.4) is
 * accepted: routes "<@a,@b:user@c>" (dropped), CFWS between the words of a
 * local part or domain, quoted words in phrases.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_ADDRESS_H
#define MIMEO_ADDRESS_H

#include "common.h"
#include "charset.h"
#include "header.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * One mailbox of an address list.  All strings are UTF-8 and owned by the
 * list.  An empty group ("undisclosed-recipients:;") gives one entry with
 * only `group` set (local_part, domain and display_name NULL).
 */
typedef struct mimeo_address {
	const char *display_name; /**< decoded phrase, comments inside it kept
	                               as text with their parentheses, as clients
	                               show them ("Jason Lee (Sales)"; since 0.2,
	                               0.1 dropped them); else the text of
	                               the entry's first comment ("user@example.com
	                               (John Doe)"); else NULL (also for "") */
	const char *local_part;   /**< unquoted, escapes removed, CFWS removed
	                               ("john.doe", "john doe" for "\"john doe\"@x");
	                               NULL only for an empty group's entry */
	const char *domain;       /**< as written (CFWS removed), "[1.2.3.4]" for a
	                               domain literal; NULL if none */
	const char *group;        /**< decoded group name, or NULL outside a group */
} mimeo_address;

/** A parsed address list, freed with mimeo_address_list_free(). */
typedef struct mimeo_address_list {
	const mimeo_address *items; /**< in order of appearance */
	size_t count;               /**< number of entries */
	unsigned repairs;           /**< MIMEO_REPAIR_* flags */
} mimeo_address_list;

/**
 * Parse an address list (the value of From/To/Cc/Bcc/Reply-To/Sender...,
 * raw, possibly folded).
 * @param out   receives the list (NULL on failure); an empty value gives a
 *              list with count 0.  First parameter since 0.2 (0.1 had it
 *              last).
 * @param cc    charset converter cache; NULL makes a temporary one when
 *              needed (slower)
 * @param opts  header options (default charset for raw 8-bit, strict mode,
 *              the allocator of the list: opts->alloc, NULL = libc, which
 *              must outlive the list); NULL = MIMEO_HEADER_OPTIONS_INIT
 * @param in, len  the raw value
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (out NULL, in NULL with
 *         len > 0, or an unknown opts->version).  @since 0.1
 */
MIMEO_EXTERN int mimeo_address_list_parse(mimeo_address_list **out,
					  mimeo_charset_cache *cc,
					  const mimeo_header_options *opts,
					  const char *in, size_t len);

/** Free a list (it remembers its allocator).  NULL is a no-op.  @since 0.1 */
MIMEO_EXTERN void mimeo_address_list_free(mimeo_address_list *l);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_ADDRESS_H */
