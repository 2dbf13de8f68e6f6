/*
 * mimeo/param.h - Content-Type / Content-Disposition values and their
 * parameters (RFC 2045 section 5.1, RFC 2183, RFC 2231), both directions.
 *
 * Parsing never fails on syntax: it returns the best structured value a
 * careful mail client would use and ORs MIMEO_REPAIR_* flags (charset.h)
 * into the result's `repairs`.  Rules (also in README.md, "Parameters,
 * addresses and dates"):
 *
 *  - The value may be folded; CR and LF are removed (RFC 5322 2.2.3).
 *  - Type and subtype are lowercased.  A value without "/" (a disposition
 *    such as "attachment") has subtype NULL.  A missing type is "".
 *  - Comments, nested and with backslash escapes, are skipped wherever
 *    whitespace is allowed (RFC 2045 5.1: "charset=us-ascii (Plain text)").
 *  - Parameter names are lowercased; quoted values are unquoted and their
 *    backslash escapes removed.  Lenient rules (MIMEO_REPAIR_SYNTAX): a
 *    missing ";" before "name=" starts a new parameter; an unquoted value
 *    followed by more words that are not "name=" keeps them ("name=my
 *    file.pdf"); an unterminated quoted string runs to the end; a parameter
 *    without "=" is dropped; "name=" gives an empty value; stray ";" and
 *    garbage between parameters are skipped.
 *  - Duplicates: the first occurrence of a name wins (what most clients
 *    do).  An RFC 2231 form of a name (name* or name*0...) wins over the
 *    plain form, whatever the order; "name*" wins over "name*0".
 *  - RFC 2231 continuations are joined in numeric order whatever their order
 *    in the header; missing sections are skipped (the rest joined in order)
 *    and flagged MIMEO_REPAIR_SYNTAX; a repeated section number keeps its
 *    first occurrence.  Encoded sections ("name*1*") are %XX-decoded, plain
 *    ones taken literally, and the joined bytes converted from the charset
 *    of "charset'lang'" to UTF-8 with mimeo_charset_to_utf8.  An empty or
 *    missing charset is treated like raw header text (below); a bad %XX
 *    stays literal.  The language is kept: mimeo_mime_field_param_language()
 *    and mimeo_mime_field.languages.
 *  - Plain values (and joined plain continuations) containing "=?" are
 *    RFC 2047-decoded like unstructured text (Outlook's
 *    name="=?utf-8?B?...?="), flagged MIMEO_REPAIR_ENCODED_WORD; raw 8-bit
 *    values are handled like raw header text (valid UTF-8 passes, else
 *    opts->default_charset, windows-1252 by default; also when the default
 *    is unknown or not ASCII-compatible, such as UTF-16).  With
 *    MIMEO_HEADER_STRICT no RFC 2047 decoding happens in values and invalid
 *    UTF-8 becomes U+FFFD.
 *  - Exception: the plain value of "boundary" is returned as its raw bytes
 *    (unquoted, never RFC 2047-decoded) when they are UTF-8, because a
 *    multipart boundary is matched byte for byte (RFC 2046 5.1.1): decoding
 *    "=?...?=" would make mimeo split a message differently from other MIME
 *    parsers.  (Non-UTF-8 bytes, which RFC 2046 forbids, are converted as
 *    for any value.)
 *  - A NUL byte in a decoded value becomes U+FFFD (values are C strings).
 *  - Linear time in the input size (sections are sorted with qsort).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARAM_H
#define MIMEO_PARAM_H

#include "common.h"
#include "charset.h"
#include "header.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One parameter of a Content-Type or Content-Disposition value. */
typedef struct mimeo_param {
	const char *name;  /**< lowercased, without RFC 2231 "*N*" suffixes */
	const char *value; /**< decoded, UTF-8, NUL-terminated ("boundary" is
	                        not RFC 2047-decoded, see above) */
} mimeo_param;

/** A parsed Content-Type or Content-Disposition value.  Everything is owned
 * by the structure and freed by mimeo_mime_field_free(). */
typedef struct mimeo_mime_field {
	const char *type;          /**< lowercased; "text" or "attachment"; "" if missing */
	const char *subtype;       /**< lowercased; NULL if none (always for dispositions) */
	const mimeo_param *params; /**< in order of first appearance of each name */
	size_t nparams;            /**< number of entries in params */
	unsigned repairs;          /**< MIMEO_REPAIR_* flags */
	/** languages[i] is the RFC 2231 language tag of params[i] (lowercased,
	 *  "en-us" from title*=us-ascii'en-us'...), NULL when it has none; the
	 *  array is NULL when nparams is 0.  Added at the end: the library
	 *  allocates the structure, so older callers are unaffected.  @since 0.2 */
	const char *const *languages;
} mimeo_mime_field;

/**
 * Parse a Content-Type or Content-Disposition value (the part after the
 * colon, as in the message, possibly folded).
 *
 * @param out    receives the new field (NULL on failure).  First parameter
 *               since 0.2 (0.1 had it last).
 * @param cc     charset converter cache; NULL makes a temporary one when a
 *               conversion is needed (slower)
 * @param opts   header decoding options, NULL = MIMEO_HEADER_OPTIONS_INIT;
 *               every allocation (the result and the temporary memory) is
 *               made through opts->alloc (NULL = libc), which must outlive
 *               the field
 * @param value  the raw value; @param len its length in bytes
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL when `out` is NULL,
 *         `value` is NULL with a non-zero length, or opts->version is
 *         unknown.  Never fails on syntax.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_mime_field_parse(mimeo_mime_field **out,
					mimeo_charset_cache *cc,
					const mimeo_header_options *opts,
					const char *value, size_t len);

/**
 * The decoded value of parameter `name` (ASCII case-insensitive), or NULL
 * when absent (or `f` or `name` is NULL).  The string lives as long as `f`.
 * @since 0.1
 */
MIMEO_EXTERN const char *mimeo_mime_field_param(const mimeo_mime_field *f, const char *name);

/**
 * The RFC 2231 language tag of parameter `name` (ASCII case-insensitive):
 * the "lang" of name*=charset'lang'... or of section 0 of name*0*=...,
 * lowercased ("en-us").  NULL when the parameter is absent or has no
 * language (plain form, empty "''", or a tag that is not letters, digits
 * and '-' starting with a letter, which is dropped and flagged
 * MIMEO_REPAIR_SYNTAX), or when `f` or `name` is NULL.  The language of
 * the form that supplied the value is the one reported.  The string lives
 * as long as `f`.  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_mime_field_param_language(const mimeo_mime_field *f,
							 const char *name);

/** Free a field (it remembers its allocator).  NULL is a no-op.  @since 0.1 */
MIMEO_EXTERN void mimeo_mime_field_free(mimeo_mime_field *f);

/**
 * Encode one parameter for a Content-Type or Content-Disposition field and
 * APPEND it to `out`: "name=value" for a token, "name=\"quoted\"" for other
 * printable ASCII, and RFC 2231 "name*=utf-8''%E2%82%AC" for values with
 * non-ASCII or control characters or containing "=?" (so that no decoder
 * mistakes them for RFC 2047).  When the result would pass column 78, the
 * value is split into RFC 2231 continuations ("name*0*=...;", "name*1*=")
 * each on its own folded line (a line break then one tab); a UTF-8
 * character or %XX triplet is never split across sections (when start_col
 * leaves no room for even one character, section 0 is empty).  The caller
 * writes the "; " before the parameter; nothing is written after it.
 * Invalid UTF-8 in `utf8` becomes U+FFFD.  Parsing the output with
 * mimeo_mime_field_parse gives back the value exactly.
 *
 * @param name       parameter name, a non-empty RFC 2045 token (at most 200
 *                   bytes), written as given
 * @param utf8, len  the value
 * @param start_col  columns already used on the current line
 * @param flags      MIMEO_HEADER_FOLD_CRLF (header.h): fold with CRLF, else LF
 * @param out        buffer to append to
 * @return MIMEO_OK, MIMEO_ENOMEM (then `out` may hold a partial result), or
 *         MIMEO_EINVAL for a bad name or NULL arguments.  @since 0.1
 */
MIMEO_EXTERN int mimeo_param_encode(const char *name, const char *utf8, size_t len,
				    size_t start_col, unsigned flags, mimeo_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_PARAM_H */
