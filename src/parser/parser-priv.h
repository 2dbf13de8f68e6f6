/*
 * parser-priv.h - internals shared by the push parser's source files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_PARSER_PRIV_H
#define MIMEO_PARSER_PRIV_H

#include <stddef.h>

#include "mimeo-parser-config.h"

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
#if MIMEO_PARSER_AVX2
size_t mimeo__parser_scan_avx2(const char *s, size_t n, unsigned mask);
#endif
#if MIMEO_PARSER_AVX512
size_t mimeo__parser_scan_avx512(const char *s, size_t n, unsigned mask);
#endif

#endif /* MIMEO_PARSER_PRIV_H */
