/*
 * mimeo/header.h - header field unfolding, RFC 2047 decoding and encoding.
 *
 * Decoding turns raw header bytes into the UTF-8 text a careful mail client
 * shows.  It never fails on malformed input: it returns its best text and
 * ORs MIMEO_REPAIR_* flags (see charset.h) into the caller's `repairs`.
 *
 * RFC 2047 rules applied in every mode:
 *  - B and Q encodings, "B"/"b"/"Q"/"q" (RFC 2047 section 4 allows both cases);
 *  - a charset with an RFC 2231 section 5 language suffix ("utf-8*en");
 *  - linear whitespace between two adjacent encoded words is dropped
 *    (section 6.2), whitespace next to ordinary text is kept;
 *  - the decoded bytes of adjacent encoded words with the same charset are
 *    joined before conversion, so a multibyte character split across two
 *    words decodes correctly;
 *  - unknown charsets: UTF-8 if valid, else windows-1252 (flagged);
 *  - decoded NUL bytes become U+FFFD and decoded CR/LF become spaces, so
 *    the result is always one line of text without embedded NULs.
 *
 * Lenient rules, on by default (real mail needs them; each sets
 * MIMEO_REPAIR_ENCODED_WORD when used), all off with MIMEO_HEADER_STRICT:
 *  - encoded words not separated by whitespace from each other or from
 *    ordinary text ("foo=?utf-8?q?bar?=", "=?..?==?..?=");
 *  - encoded words inside quoted strings of a phrase ("\"=?utf-8?q?..?=\"");
 *  - spaces and "?" inside Q (and spaces inside B) encoded text, as long as
 *    the text does not contain the start "=?" of another word;
 *  - encoded words longer than 75 characters (section 2);
 *  - invalid characters inside B text are skipped, missing padding and
 *    several padded groups are accepted, lowercase hex in Q.
 * Raw 8-bit bytes outside encoded words (MIMEO_REPAIR_RAW_8BIT): a word
 * that is valid UTF-8 passes (RFC 6532); otherwise the word is read in
 * opts->default_charset as a whole.  When that is NULL, unknown, or not
 * ASCII-based (UTF-16/32, UTF-7, HZ, replacement), the guess is made per
 * invalid sequence (since 0.2): valid UTF-8 sequences stay, each byte that
 * starts none is read as windows-1252, that byte only
 * (MIMEO_REPAIR_FALLBACK_CP1252), so one stray byte no longer turns a
 * UTF-8 word into windows-1252 mojibake.  Lenient mode also
 * reads raw 7-bit ISO-2022-JP (a word with ESC $ B or ESC $ @, as old
 * Japanese mailers sent) as ISO-2022-JP (MIMEO_REPAIR_RAW_8BIT).  In strict
 * mode invalid UTF-8 becomes U+FFFD instead and escapes stay as they are.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_HEADER_H
#define MIMEO_HEADER_H

#include "common.h"
#include "charset.h"

#ifdef __cplusplus
extern "C" {
#endif

/** mimeo_header_options.flags: turn every lenient rule off. */
#define MIMEO_HEADER_STRICT 0x1u

/** Options for header decoding and for the structured-field parsers
 * (transparent; zero-initialise or use MIMEO_HEADER_OPTIONS_INIT, then
 * change what you need). */
typedef struct mimeo_header_options {
	unsigned version;           /**< MIMEO_HEADER_OPTIONS_VERSION (0 = the same) */
	const char *default_charset; /**< for undeclared raw 8-bit text that is not
	                                  UTF-8; NULL = windows-1252 */
	unsigned flags;             /**< MIMEO_HEADER_STRICT */
	/* --- version 2 (@since 0.2) --- */
	/** Memory for the object a parse call returns and for its temporary
	 *  work: mimeo_address_list_parse(), mimeo_mime_field_parse(),
	 *  mimeo_part_addresses().  NULL = libc.  It must outlive the result,
	 *  which remembers it for its _free.  Calls that fill a mimeo_buf use
	 *  the buffer's own allocator instead.  (Replaces the 0.1 functions
	 *  mimeo_address_list_parse_alloc() and mimeo_mime_field_parse_alloc().) */
	const mimeo_allocator *alloc;
} mimeo_header_options;

/** Value of mimeo_header_options.version.  Version 1, the 0.1 layout
 *  without `alloc`, is still accepted (libc memory then); a larger
 *  version is MIMEO_EINVAL.  @since 0.2 (it was 1 in 0.1) */
#define MIMEO_HEADER_OPTIONS_VERSION 2
#define MIMEO_HEADER_OPTIONS_INIT { MIMEO_HEADER_OPTIONS_VERSION, NULL, 0, NULL }

/**
 * RFC 5322 section 2.2.3 unfolding: remove every CR and LF (a CRLF followed
 * by whitespace leaves that whitespace; a stray bare CR or LF is dropped
 * too).  Nothing else changes.  APPENDS to `out`.
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_header_unfold(const char *in, size_t len, mimeo_buf *out);

/**
 * Decode an unstructured field value (Subject, Comments, X-*...): unfold,
 * decode RFC 2047 encoded words
 * (section 5 (1)), convert everything to UTF-8.  The result has no leading
 * or trailing spaces or tabs (also none decoded from an encoded word).
 * APPENDS to `out`.
 *
 * @param cc       converter cache; NULL makes a temporary one (slower)
 * @param opts     options, NULL = MIMEO_HEADER_OPTIONS_INIT
 * @param in, len  the raw value as in the message, possibly folded
 * @param out      receives UTF-8 (its own allocator is used)
 * @param repairs  MIMEO_REPAIR_* flags ORed in; may be NULL
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_header_decode_text(mimeo_charset_cache *cc,
					  const mimeo_header_options *opts,
					  const char *in, size_t len, mimeo_buf *out,
					  unsigned *repairs);

/**
 * Decode an RFC 5322 phrase (the display name of an address, the part
 * before "<"): unfold; quoted strings are unquoted and their backslash
 * escapes removed (whitespace inside them kept); runs of whitespace between
 * words become one space; leading/trailing whitespace is trimmed; encoded
 * words that form whole words are decoded (RFC 2047 section 5 (3)), in
 * lenient mode also inside quoted strings and next to other text.
 * Comments are kept as text, parentheses included ("John (Sales) Doe"),
 * with the encoded words inside them decoded (section 5 (2)).  An
 * unterminated quoted string or comment runs to the end (MIMEO_REPAIR_SYNTAX).
 * Parameters and return as mimeo_header_decode_text.  @since 0.1
 */
MIMEO_EXTERN int mimeo_header_decode_phrase(mimeo_charset_cache *cc,
					    const mimeo_header_options *opts,
					    const char *in, size_t len, mimeo_buf *out,
					    unsigned *repairs);

/** Encoder flag: fold with CRLF (default LF). */
#define MIMEO_HEADER_FOLD_CRLF 0x1u

/**
 * RFC 2047-encode a UTF-8 unstructured value for a header field, APPENDING
 * the folded result to `out` (no trailing line break).  Words of printable
 * ASCII are left alone; runs of other words are encoded as UTF-8 encoded
 * words, choosing Q or B per run by size; encoded words are at most 75
 * characters and never split a UTF-8 character; lines are folded at
 * whitespace to stay within 78 columns where possible and never exceed 998
 * octets (over-long ASCII words are encoded so they can be split).
 * Invalid UTF-8 in the input is replaced by U+FFFD.  Decoding the result
 * with mimeo_header_decode_text gives the input back (leading/trailing
 * whitespace aside).
 * @param utf8, len  the value
 * @param start_col  columns already used on the first line ("Subject: " = 9)
 * @param flags      MIMEO_HEADER_FOLD_CRLF
 * @param out        buffer to append to
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_header_encode_text(const char *utf8, size_t len, size_t start_col,
					  unsigned flags, mimeo_buf *out);

/**
 * Encode a display name (RFC 5322 phrase): atoms are left alone, printable
 * ASCII that needs it becomes a quoted string, and words with other
 * characters become encoded words restricted to the phrase alphabet of RFC
 * 2047 section 5 (3).  Folding, flags and return as mimeo_header_encode_text;
 * mimeo_header_decode_phrase of the result gives back the input with
 * whitespace runs collapsed.  @since 0.1
 */
MIMEO_EXTERN int mimeo_header_encode_phrase(const char *utf8, size_t len, size_t start_col,
					    unsigned flags, mimeo_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_HEADER_H */
