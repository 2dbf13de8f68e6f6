/*
 * param-priv.h - helpers shared by param.c, address.c and date.c (not
 * installed): RFC 5322 comment/whitespace skipping and conversion of
 * undeclared header bytes to UTF-8.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARAM_PRIV_H
#define MIMEO_PARAM_PRIV_H

#include "common-priv.h"
#include "mimeo/charset.h"
#include "mimeo/header.h"
#include "header-priv.h"

/* What the structured-field parsers (param.c, address.c) start from: the
 * input, the caller's options, a charset cache made on first need, and
 * two growing buffers. */
struct mimeo__fparse {
	const mimeo_allocator *alloc;
	mimeo_charset_cache *cc;
	mimeo_charset_cache *own_cc; /* made on first need when cc was NULL */
	const mimeo_header_options *opts;
	const char *s;               /* the input ("" for NULL) */
	size_t len;
	mimeo_buf strings;           /* the result's strings, NUL-separated */
	mimeo_buf scratch;           /* temporary copies */
	unsigned repairs;            /* MIMEO_REPAIR_* so far */
};

/* Set `f` up for parsing in[0..len), with the allocator of `opts`.
 * MIMEO_EINVAL (nothing to undo) when `in` is NULL with a non-zero length,
 * the rule of every parse entry point, or when opts->version is unknown. */
int mimeo__fparse_begin(struct mimeo__fparse *f, mimeo_charset_cache *cc,
			const mimeo_header_options *opts, const char *in, size_t len);

/* The caller's cache, or one made for this call (so a NULL cache costs one
 * cache per field, not one per value).  MIMEO_OK or MIMEO_ENOMEM. */
int mimeo__fparse_need_cc(struct mimeo__fparse *f);

/* The one block a parse result lives in: `head` bytes (the holder), then
 * `n` elements of `elem` bytes, then a copy of f->strings, which *strs
 * points to.  NULL on size overflow or when out of memory. */
void *mimeo__fparse_result(const struct mimeo__fparse *f, size_t head, size_t n, size_t elem,
			   char **strs);

/* Free what mimeo__fparse_begin() and the parse made. */
void mimeo__fparse_end(struct mimeo__fparse *f);

/* Folding whitespace as it appears in a still-folded value: RFC 5322
 * 2.2.3 unfolding just removes CR and LF, so they count as whitespace. */
static inline int mimeo__is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Skip CFWS (RFC 5322 3.2.2) from s[*pos]: whitespace, CR/LF and nested
 * comments with quoted-pairs.  An unterminated comment runs to the end and
 * ORs MIMEO_REPAIR_SYNTAX into *repairs.  When `first_comment` is not NULL
 * and first_comment[1] is still 0, the first comment met is recorded:
 * first_comment[0] = offset of its content, first_comment[1] = content
 * length + 1 (so that an empty comment counts as recorded).
 */
void mimeo__skip_cfws(const char *s, size_t len, size_t *pos, unsigned *repairs,
		      size_t *first_comment);

/*
 * Append undeclared header bytes as UTF-8 (RFC 6532 / real mail): ASCII
 * and valid UTF-8 pass; anything else is read in opts->default_charset
 * (windows-1252 when NULL); in strict mode invalid UTF-8 becomes U+FFFD.
 */
int mimeo__raw_to_utf8(mimeo_charset_cache *cc, const mimeo_header_options *opts,
		       const char *in, size_t len, mimeo_buf *out, unsigned *repairs);

/* Replace every NUL byte in out->ptr[from..size) by U+FFFD (results are C
 * strings).  Returns MIMEO_OK or MIMEO_ENOMEM. */
int mimeo__buf_fix_nuls(mimeo_buf *out, size_t from, unsigned *repairs);

#endif /* MIMEO_PARAM_PRIV_H */
