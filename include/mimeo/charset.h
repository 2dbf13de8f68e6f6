/*
 * mimeo/charset.h - charset labels and conversion to UTF-8.
 *
 * Labels are resolved with the WHATWG Encoding Standard label table (case
 * and surrounding whitespace ignored; "latin1" and "us-ascii" mean
 * windows-1252, "gb2312" means GBK, "ks_c_5601-1987" means EUC-KR/UHC,
 * ...), plus legacy mail labels: "utf-7"/"unicode-1-1-utf-7", "ibm437",
 * "ibm850", "utf-32", and the ISO-2022-KR/CN mail charsets of RFC 1557 and
 * RFC 1922 and HZ of RFC 1843 ("hz-gb-2312", "hz"), which WHATWG maps to
 * "replacement" for web security reasons that do not apply to converting
 * mail to UTF-8.
 *
 * HZ is decoded by mimeo (glibc has no converter) through the GBK one:
 * "~~" is '~', "~{" / "~}" enter / leave GB mode, "~" LF and "~" CR LF are
 * removed; in GB mode bytes 0x21-0x7D start a pair and '~' after a first
 * byte is its second byte.  Any other "~" sequence, a byte >= 0x80, and a
 * pair cut short each become one U+FFFD, and decoding goes on.
 *
 * Conversion never fails on bad bytes: invalid sequences become U+FFFD
 * (one per maximal invalid subpart for UTF-8, one per skipped byte
 * otherwise), nothing after a bad byte is lost, and what was repaired is
 * reported through MIMEO_REPAIR_* flags.  ASCII, valid UTF-8 and
 * single-byte charsets are converted without calling iconv; other charsets
 * go through iconv converters cached in a mimeo_charset_cache, so no
 * iconv_open() happens per call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CHARSET_H
#define MIMEO_CHARSET_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Repair flags, a bitmask shared by every mimeo decoder (charset, RFC 2047,
 * parameters, addresses).  A decoder ORs into the caller's `unsigned`.
 */
#define MIMEO_REPAIR_INVALID_SEQUENCE 0x01u /**< bytes became U+FFFD */
#define MIMEO_REPAIR_UNKNOWN_CHARSET  0x02u /**< label unknown (or not convertible here) */
#define MIMEO_REPAIR_FALLBACK_UTF8    0x04u /**< undeclared/unknown bytes taken as UTF-8 */
#define MIMEO_REPAIR_FALLBACK_CP1252  0x08u /**< undeclared/unknown bytes taken as windows-1252 */
#define MIMEO_REPAIR_RAW_8BIT         0x10u /**< raw 8-bit bytes outside encoded words */
#define MIMEO_REPAIR_ENCODED_WORD     0x20u /**< a lenient RFC 2047 rule was needed, or a
                                                 malformed encoded word was left as text */
#define MIMEO_REPAIR_SYNTAX           0x40u /**< other syntax repaired (unterminated quote,
                                                 NUL byte, ...) */
#define MIMEO_REPAIR_TRUNCATED        0x80u /**< input ended inside a character or quantum */

/**
 * A cache of iconv converters and single-byte tables (opaque).  Make one per
 * thread or per context and pass it to every conversion: converters are
 * opened once per charset and reused.  A cache is not thread-safe itself.
 */
typedef struct mimeo_charset_cache mimeo_charset_cache;

/**
 * Create an empty cache.
 * @param out    receives the cache (set to NULL on failure)
 * @param alloc  allocator for the cache and everything it owns; NULL = libc.
 *               It must outlive the cache.
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL when `out` is NULL.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_charset_cache_new(mimeo_charset_cache **out,
					 const mimeo_allocator *alloc);

/**
 * Close every cached converter and free the cache.  NULL is a no-op.  All
 * mimeo_charset_conv made from the cache must have been freed first.
 * @since 0.1
 */
MIMEO_EXTERN void mimeo_charset_cache_free(mimeo_charset_cache *cc);

/**
 * The canonical (WHATWG) name of a charset label, e.g. "windows-1252" for
 * "Latin1 ", "shift_jis" for "x-sjis", "gbk" for "GB2312"; NULL when the
 * label is unknown.  Case and leading/trailing whitespace are ignored.
 * Legacy mail labels give "utf-7", "ibm437", "ibm850", "utf-32le",
 * "utf-32be", "iso-2022-kr", "iso-2022-cn" or "iso-2022-cn-ext".
 * @param label  label bytes (need not be NUL-terminated); NULL gives NULL
 * @param len    length of `label`
 * @return a static string, or NULL.  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_charset_canonical(const char *label, size_t len);

/**
 * Length of the longest prefix of `in` that is valid UTF-8 (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF).  Equal to `len` when
 * the whole buffer is valid.  @since 0.1
 */
MIMEO_EXTERN size_t mimeo_utf8_valid_prefix(const void *in, size_t len);

/**
 * Convert a whole buffer to UTF-8 and APPEND the result to `out`.
 *
 * A NULL label means "undeclared": ASCII passes, valid UTF-8 passes
 * (MIMEO_REPAIR_FALLBACK_UTF8), anything else is read as windows-1252
 * (MIMEO_REPAIR_FALLBACK_CP1252).  An unknown label does the same and also
 * sets MIMEO_REPAIR_UNKNOWN_CHARSET.  Invalid sequences become U+FFFD
 * (MIMEO_REPAIR_INVALID_SEQUENCE); a truncated final character also sets
 * MIMEO_REPAIR_TRUNCATED.  A leading byte order mark of the declared UTF-8
 * or UTF-16 charset is removed (and for UTF-16 chooses the byte order).
 *
 * @param cc       converter cache; NULL makes a temporary one (slow: opens
 *                 iconv for this call only)
 * @param label    charset label or NULL; @param label_len its length
 * @param in       bytes to convert; @param len their number
 * @param out      buffer to append to (its own allocator is used for it)
 * @param repairs  repair flags are ORed in here; may be NULL
 * @return MIMEO_OK or MIMEO_ENOMEM (then `out` may hold a partial result).
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_charset_to_utf8(mimeo_charset_cache *cc, const char *label,
				       size_t label_len, const void *in, size_t len,
				       mimeo_buf *out, unsigned *repairs);

/**
 * A streaming converter to UTF-8 for bodies (opaque).  Input may be split
 * anywhere: partial multibyte sequences are kept across steps, and the
 * output is identical for every split of the input.
 *
 * Unknown or NULL labels: the stream is passed as UTF-8 up to its first
 * invalid sequence and read as windows-1252 from there on (a streaming
 * converter cannot look ahead; mimeo_charset_to_utf8 decides for the whole
 * buffer instead).
 */
typedef struct mimeo_charset_conv mimeo_charset_conv;

/**
 * Make a streaming converter from charset `label` to UTF-8.
 * @param cc   cache to take the converter from (required; must outlive the
 *             converter).  Memory comes from the cache's allocator.
 * @param label, label_len  the charset label (NULL = undeclared)
 * @param out  receives the converter
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL (cc or out NULL).  An
 *         unknown label is not an error (see above).  @since 0.1
 */
MIMEO_EXTERN int mimeo_charset_conv_new(mimeo_charset_conv **out, mimeo_charset_cache *cc,
					const char *label, size_t label_len);

/**
 * Convert the next chunk, appending UTF-8 to `out`.  An incomplete
 * character at the end of the chunk is held until the next step.
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_charset_conv_step(mimeo_charset_conv *cv, const void *in, size_t len,
					 mimeo_buf *out);

/**
 * End of input: a held incomplete character becomes U+FFFD
 * (MIMEO_REPAIR_TRUNCATED) and stateful converters are flushed.  The
 * converter is then ready for a new stream with the same charset.
 * @return MIMEO_OK or MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_charset_conv_finish(mimeo_charset_conv *cv, mimeo_buf *out);

/** Repair flags accumulated since the converter was made.  @since 0.1 */
MIMEO_EXTERN unsigned mimeo_charset_conv_repairs(const mimeo_charset_conv *cv);

/**
 * The canonical name of the charset the converter reads ("windows-1252"
 * after an unknown label fell back, "utf-8" while it is still passing UTF-8).
 * @since 0.1
 */
MIMEO_EXTERN const char *mimeo_charset_conv_charset(const mimeo_charset_conv *cv);

/** Free a converter (its iconv descriptor goes back to the cache).  NULL is
 * a no-op.  @since 0.1 */
MIMEO_EXTERN void mimeo_charset_conv_free(mimeo_charset_conv *cv);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_CHARSET_H */
