/*
 * codec-priv.h - internals shared by the codec sources (not installed):
 * CPU dispatch and the per-ISA base64 and quoted-printable kernels.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CODEC_PRIV_H
#define MIMEO_CODEC_PRIV_H

#include "mimeo/codec.h"
#include "mimeo-config.h"
#include "cpu-priv.h"

#include <stddef.h>
#include <stdint.h>

/* base64 alphabet value of a byte: 0..63, or one of these classes. */
enum {
	MIMEO__B64_WS = 0x40,      /* CR, LF, space, tab, FF, VT: skipped */
	MIMEO__B64_PAD = 0x41,     /* '=' */
	MIMEO__B64_INVALID = 0x42  /* anything else: skipped and counted */
};
extern const unsigned char mimeo__b64_dec_table[256];
extern const char mimeo__b64_alphabet[64];

/*
 * SIMD kernels.  A decode kernel is entered with no pending sextets
 * (d->_n == 0); it consumes alphabet characters and whitespace from *pin
 * and stops before '=', a garbage byte, or near `end`.  It writes the bytes
 * of every whole quantum it consumed and leaves the characters of a last
 * partial quantum in d->_acc/d->_n.  Returns bytes written, advances *pin.
 *
 * An encode kernel is entered at a quantum boundary (e->_n == 0) and,
 * unless MIMEO_B64_NOWRAP is set, at a line start (the dispatcher in
 * base64.c finishes the current line first); it encodes whole 57-byte
 * lines (76 characters) while enough input remains, honouring e->_col and
 * the line-break flags; it returns characters
 * written and advances *pin.  It may write up to 96 bytes past a line's
 * start, which the caller guarantees are within the step's output bound.
 */
/*
 * The decoded size of base64 text without decoding it (the message tree
 * keeps exact sizes of bodies it does not hold, issue 13), by the
 * decoder's rules: every alphabet character adds a sextet, four make three
 * bytes; '=' ends a quantum (two characters give one byte, three give
 * two, one is dropped; after two or three it is a padded end); everything
 * else is skipped.  Feed any split.
 */
typedef struct mimeo__b64_counter {
	uint64_t size;  /* decoded bytes of the whole quanta so far */
	unsigned q;     /* characters of the current quantum */
	unsigned isa;   /* resolved mimeo_isa */
	int ended;      /* a padded end was passed: `dec` takes the rest */
	/* After a padded end what follows is judged line by line (issue 15
	 * class 4, mimeo/codec.h): the decoder itself does that, from the
	 * state right after the padded end, its output only counted. */
	mimeo_b64_decoder dec;
} mimeo__b64_counter;
void mimeo__b64_count_init(mimeo__b64_counter *c, mimeo_isa isa);
void mimeo__b64_count_step(mimeo__b64_counter *c, const void *data, size_t len);
uint64_t mimeo__b64_count_finish(mimeo__b64_counter *c);

/*
 * Whole base64 lines of the usual shape, for a caller that looks for
 * special lines (the parser's boundary and From_ scan): decodes lines of
 * 4..92 alphabet characters (a multiple of 4) each ended by LF or CRLF from
 * the start of in[0..len) and returns the bytes consumed, line breaks
 * included, 0 when the input does not start with such a line or when the
 * decoder is not at a quantum boundary (`d` keeps no state across lines of
 * that shape, so the result equals mimeo_b64_decode_step's).  It stops at
 * the first line of another shape and when fewer than 128 bytes remain.
 * No consumed line can start with a byte outside the alphabet ('-', '>')
 * nor hold a space ("From "), so the caller need not look at them.
 * *produced receives the bytes written to `out`, which needs room for
 * len / 4 * 3 + 72 bytes (the kernel writes 24 bytes at a time).  Only the
 * SIMD paths have it: with the scalar one (mimeo__b64_has_lines() false)
 * it always returns 0.
 */
size_t mimeo__b64_decode_lines(mimeo_b64_decoder *d, const void *in, size_t len, void *out,
			       size_t *produced);
static inline int mimeo__b64_has_lines(const mimeo_b64_decoder *d)
{
	return MIMEO_HAVE_AVX2 && d->_isa >= MIMEO_ISA_AVX2;
}

#if MIMEO_HAVE_AVX2
unsigned char *mimeo__b64_decode_lines_avx2(const unsigned char **pin, const unsigned char *end,
					    unsigned char *out);
size_t mimeo__b64_decode_avx2(mimeo_b64_decoder *d, const unsigned char **pin,
			      const unsigned char *end, unsigned char *out);
size_t mimeo__b64_encode_avx2(mimeo_b64_encoder *e, const unsigned char **pin,
			      const unsigned char *end, unsigned char *out);
/* Count kernel: adds the alphabet characters of p[0..n) to *alpha, 32
 * bytes at a time, and stops before the first block holding '=' or when
 * fewer than 32 bytes remain.  Returns the bytes it consumed. */
size_t mimeo__b64_count_avx2(const unsigned char *p, size_t n, uint64_t *alpha);
#endif
/*
 * Quoted-printable encoder block classifiers: bit i of the result is set
 * when p[i] (0 <= i < 64) is copied to the output as it is: a byte in
 * 33..126 other than '=', or a space or tab whose next byte p[i + 1] is not
 * `brk` (the byte that ends a line: '\n', '\r', or -1 for none in binary
 * mode).  Bit i of *brkm is set when p[i] == brk.  They read p[0..64], 65
 * bytes.  qp.c does everything else (line breaks, escapes, the 76-column
 * limit, mail-safe line starts).
 *
 * mimeo__qp_esc_avx2 writes "=XX" (upper-case hex) for each of p[0..n),
 * n <= 25, at o, reading up to 32 bytes from p and storing up to 96 bytes
 * at o (the caller's output bound covers the excess).
 */
uint64_t mimeo__qp_lit_mask_scalar(const unsigned char *p, int brk, uint64_t *brkm);
#if MIMEO_HAVE_AVX2
uint64_t mimeo__qp_lit_mask_avx2(const unsigned char *p, int brk, uint64_t *brkm);
void mimeo__qp_esc_avx2(const unsigned char *p, unsigned n, unsigned char *o);
/* Encode p[0..len) (len <= 64, no line-break byte; bit i of `esc` set
 * when p[i] is written as =XX) at *po, column *pcol, with soft breaks
 * where a line would pass 75 characters (RFC 2045 6.7 rule 5), 16 bytes
 * at a time, without pext/pdep; advances *po and *pcol.  Stops early only
 * after a soft break when MIMEO_QP_MAILSAFE is in `flags` and the next
 * byte is 'F' or '.' (the caller escapes it).  Returns the bytes
 * consumed.  Reads up to p[len + 15] and stores up to 52 bytes past the
 * output it produces. */
unsigned mimeo__qp_run_avx2(const unsigned char *p, unsigned len, uint64_t esc, unsigned flags,
			    unsigned *pcol, unsigned char **po);
/* Quoted-printable decode kernel, entered and left like the AVX-512 one
 * (below); blocks of 64 bytes. */
size_t mimeo__qp_decode_avx2(const unsigned char **pin, const unsigned char *end,
			     unsigned char *out);
#endif
#if MIMEO_HAVE_AVX512
uint64_t mimeo__qp_lit_mask_avx512(const unsigned char *p, int brk, uint64_t *brkm);
/* Encode the longest prefix of p[0..len) (len <= 16, no line-break byte;
 * bit i of `esc` set when p[i] is written as =XX) whose output fits in
 * `room` columns: returns its length, *written the characters stored at o.
 * Reads 16 bytes at p and stores 64 at o. */
unsigned mimeo__qp_seg_avx512(const unsigned char *p, unsigned len, uint32_t esc,
			      unsigned room, unsigned char *o, unsigned *written);
#endif

#if MIMEO_HAVE_AVX512
size_t mimeo__b64_decode_avx512(mimeo_b64_decoder *d, const unsigned char **pin,
				const unsigned char *end, unsigned char *out);
size_t mimeo__b64_encode_avx512(mimeo_b64_encoder *e, const unsigned char **pin,
				const unsigned char *end, unsigned char *out);
/* Quoted-printable: entered in plain-text state with nothing pending and
 * the byte before *pin not a space or tab; decodes whole clean blocks and
 * stops at the first byte that needs the full rules (see qp_avx512.c). */
size_t mimeo__qp_decode_avx512(const unsigned char **pin, const unsigned char *end,
			       unsigned char *out);
#endif

#endif
