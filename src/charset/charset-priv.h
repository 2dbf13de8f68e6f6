/*
 * charset-priv.h - what src/charset/ offers the header decoders and the
 * rest of the library (label lookup, whole-buffer conversion, UTF-8 repair,
 * the cache's scratch buffers).  Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CHARSET_PRIV_H
#define MIMEO_CHARSET_PRIV_H

#include "common-priv.h"
#include "mimeo-config.h"
#include "mimeo/charset.h"
#include "mimeo/codec.h"

/* Encoding index of the WHATWG table for an unknown or absent label. */
#define MIMEO__ENC_UNKNOWN (-1)

/* Scratch buffers a cache lends to the header decoders (one user at a time;
 * they use the cache's allocator). */
enum { MIMEO__SCRATCH_UNFOLD, MIMEO__SCRATCH_RUN, MIMEO__SCRATCH_UNESCAPE,
       MIMEO__SCRATCH_N };

/* Encoding index for a label (case and surrounding whitespace ignored), or
 * MIMEO__ENC_UNKNOWN. */
int mimeo__charset_lookup(const char *label, size_t len);

/* The same through a small per-cache memory of recent labels. */
int mimeo__charset_lookup_cc(mimeo_charset_cache *cc, const char *label, size_t len);

/* 1 when `enc` can describe raw header text: ASCII bytes are ASCII in it
 * (not UTF-16/32, UTF-7, HZ, replacement, nor unknown).  Used to vet a
 * caller's default charset for raw 8-bit header bytes. */
int mimeo__charset_ascii_based(int enc);

/* Canonical name of an encoding index, NULL for MIMEO__ENC_UNKNOWN. */
const char *mimeo__charset_name(int enc);

/* Convert a whole buffer in encoding `enc` (MIMEO__ENC_UNKNOWN = guess: UTF-8
 * if valid, else windows-1252; `unknown_flag` is ORed in when guessing or
 * when the encoding has no converter here).  Appends to `out`. */
int mimeo__charset_convert(mimeo_charset_cache *cc, int enc, unsigned unknown_flag,
			   const void *in, size_t len, mimeo_buf *out, unsigned *repairs);

/* Append `in` as UTF-8, replacing each maximal invalid subpart with U+FFFD
 * (WHATWG/Unicode "substitution of maximal subparts"). */
int mimeo__utf8_repair(const void *in, size_t len, mimeo_buf *out, unsigned *repairs);

/* mimeo_utf8_valid_prefix() through a chosen path (MIMEO_ISA_SCALAR is the
 * reference; a path the CPU or build lacks falls back to a lower one).
 * For the tests and benchmarks. */
size_t mimeo__utf8_valid_prefix_isa(const void *in, size_t len, mimeo_isa isa);

/* Scratch buffer `i` of the cache (cleared by the caller). */
mimeo_buf *mimeo__charset_scratch(mimeo_charset_cache *cc, int i);

/* For the tests: 1 when the label table is sorted for binary search. */
int mimeo__charset_table_check(void);

/* For the tests: how many converters the cache has opened. */
unsigned long mimeo__charset_opens(const mimeo_charset_cache *cc);

/* Index of windows-1252 (the fallback), kept by the cache. */
int mimeo__charset_cp1252(const mimeo_charset_cache *cc);

#if MIMEO_HAVE_AVX2
/* AVX2 UTF-8 validation (utf8_avx2.c, Keiser and Lemire): the length of
 * the prefix of s[0..n) proven valid, ending on a character boundary; the
 * scalar validator finishes from there.  Call only when the CPU has AVX2. */
size_t mimeo__utf8_blocks_avx2(const unsigned char *s, size_t n);
#endif

#endif /* MIMEO_CHARSET_PRIV_H */
