/*
 * parser-priv.h - internals shared by the push parser's source files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARSER_PRIV_H
#define MIMEO_PARSER_PRIV_H

#include <stddef.h>

#include "mimeo-config.h"
#include "mimeo/codec.h"

/* Which line-start characters the body scanner stops at. */
#define MIMEO__SCAN_DASH 0x01  /* '-': a boundary line may start here */
#define MIMEO__SCAN_FROM 0x02  /* 'F' and '>': mbox From_ / >From lines */

/*
 * Index of the first '\n' in s[0..n) that is followed (inside the buffer)
 * by a character selected by `mask`; n when there is none.  A '\n' in the
 * last byte never matches: the caller decides about it.
 */
typedef size_t (*mimeo__scan_fn)(const char *s, size_t n, unsigned mask);

size_t mimeo__parser_scan_scalar(const char *s, size_t n, unsigned mask);
#if MIMEO_HAVE_AVX2
size_t mimeo__parser_scan_avx2(const char *s, size_t n, unsigned mask);
#endif
#if MIMEO_HAVE_AVX512
size_t mimeo__parser_scan_avx512(const char *s, size_t n, unsigned mask);
#endif

/* The scanner for `isa` (MIMEO_ISA_AUTO = best available). */
mimeo__scan_fn mimeo__parser_scan_for(mimeo_isa isa);

/*
 * mbox splitting, shared by the parser (MIMEO_PARSE_MBOX) and the mailbox
 * reader so that both split a mailbox at the same lines:
 * mimeo__mbox_from_line(): does the line l[0..n) (without its LF) look
 * like a From_ line; mimeo__mbox_find_from(): offset >= from (and > 0) of
 * the next line that starts a message, or len; mimeo__mbox_separator():
 * length of the line break before the From_ line at o (not part of the
 * message before it).
 */
int mimeo__mbox_from_line(const char *l, size_t n);
size_t mimeo__mbox_find_from(const char *d, size_t len, size_t from, mimeo__scan_fn scan);
size_t mimeo__mbox_separator(const char *d, size_t o);

#endif /* MIMEO_PARSER_PRIV_H */
