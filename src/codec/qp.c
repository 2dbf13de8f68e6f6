/*
 * qp.c - streaming quoted-printable decoder and encoder (RFC 2045
 * section 6.7).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Decoder states (d->_state). */
enum {
	QP_TEXT = 0,   /* ordinary text; _ws holds a pending whitespace run and
			  _cr a CR after it, both waiting to see if the line ends */
	QP_EQ,         /* after '=' (and a CR when _cr is set) */
	QP_EQ_HEX,     /* after '=' and one hex digit (kept in _hex) */
	QP_EQ_WS       /* after '=' and whitespace (in _ws; maybe a CR in _cr) */
};

/*
 * Copy bytes from p to o up to the first byte the fast path must look at,
 * or the end; return how many.  Those bytes are '=', a CR that does not
 * start a CRLF, and a CR or LF right after a space or tab (the whitespace
 * may have to be removed, rule 3).  A line break after other bytes is
 * copied like text.  `first` is the start of the caller's input: the byte
 * before it is not whitespace (whitespace at the end of a chunk is held
 * back, so the fast path never starts right after it).
 *
 * The SSE2 loop stores 16 bytes at a time: bytes past the stop are
 * rewritten later and stay within MIMEO_QP_DECODE_BOUND, since the output
 * never runs ahead of the input consumed.
 */
static size_t qp_scan(const unsigned char *first, const unsigned char *p,
		      const unsigned char *end, unsigned char *o)
{
	const unsigned char *s = p;

#ifdef __SSE2__
	const __m128i eq = _mm_set1_epi8('='), cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');

	while (end - s >= 17) {
		__m128i v = _mm_loadu_si128((const __m128i *)s);
		__m128i vn = _mm_loadu_si128((const __m128i *)(s + 1));
		__m128i vp = s > first ? _mm_loadu_si128((const __m128i *)(s - 1))
				       : _mm_slli_si128(v, 1);
		__m128i pws = _mm_or_si128(_mm_cmpeq_epi8(vp, sp), _mm_cmpeq_epi8(vp, tab));
		__m128i isl = _mm_cmpeq_epi8(v, lf), isc = _mm_cmpeq_epi8(v, cr);
		/* CR is fine only as the start of CRLF after a non-space. */
		__m128i crok = _mm_andnot_si128(pws, _mm_cmpeq_epi8(vn, lf));
		__m128i stop = _mm_or_si128(_mm_cmpeq_epi8(v, eq),
					    _mm_or_si128(_mm_and_si128(_mm_or_si128(isl, isc), pws),
							 _mm_andnot_si128(crok, isc)));
		unsigned m = (unsigned)_mm_movemask_epi8(stop);

		_mm_prefetch((const char *)s + 512, _MM_HINT_T0);
		_mm_storeu_si128((__m128i *)(o + (s - p)), v);
		if (m)
			return (size_t)(s - p) + (size_t)__builtin_ctz(m);
		s += 16;
	}
#endif
	for (; s < end; s++) {
		unsigned c = *s;
		int pw = s > first && (s[-1] == ' ' || s[-1] == '\t');

		if (c == '=' || ((c == '\n' || c == '\r') && pw) ||
		    (c == '\r' && (end - s < 2 || s[1] != '\n')))
			break;
		o[s - p] = (unsigned char)c;
	}
	return (size_t)(s - p);
}

/* Spaces and tabs at the end of the `run` bytes just written before o,
 * at most MIMEO_QP_MAX_PENDING_WS of them. */
static size_t trailing_ws(const unsigned char *o, size_t run)
{
	size_t t = 0;

	while (t < run && t < MIMEO_QP_MAX_PENDING_WS && (o[-1 - (ptrdiff_t)t] == ' ' ||
							  o[-1 - (ptrdiff_t)t] == '\t'))
		t++;
	return t;
}

/* Hex digit value plus one, either case; 0 for anything else. */
static const unsigned char qp_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(unsigned c)
{
	return (int)qp_hex[c] - 1;
}

void mimeo_qp_decoder_init(mimeo_qp_decoder *d, mimeo_isa isa)
{
	memset(d, 0, sizeof(*d));
	d->_isa = mimeo__isa_resolve(isa);
}

static unsigned char *put_ws(mimeo_qp_decoder *d, unsigned char *o)
{
	memcpy(o, d->_ws, d->_nws);
	o += d->_nws;
	d->_nws = 0;
	return o;
}

/* An '=' that does not start a valid sequence is kept as it was, with what
 * followed it up to now (the behaviour of Thunderbird and GMime). */
static unsigned char *put_invalid_eq(mimeo_qp_decoder *d, unsigned char *o)
{
	*o++ = '=';
	if (d->_state == QP_EQ_HEX)
		*o++ = (unsigned char)d->_hex;
	else if (d->_state == QP_EQ_WS)
		o = put_ws(d, o);
	if (d->_cr)
		*o++ = '\r';
	d->_cr = 0;
	d->_state = QP_TEXT;
	d->invalid++;
	return o;
}

size_t mimeo_qp_decode_step(mimeo_qp_decoder *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;

	while (p < end) {
		unsigned c;

		/* Fast path: plain text with nothing pending.  Runs without
		 * '=' or line breaks are copied in bulk; whitespace at the end
		 * of a run is taken back when a line break follows (rule 3)
		 * or held as pending at the end of the chunk. */
		if (d->_state == QP_TEXT && d->_nws == 0 && !d->_cr) {
			for (;;) {
				size_t run, t;
				int h1, h2;

#if MIMEO_HAVE_AVX512
				if (d->_isa == MIMEO_ISA_AVX512 && end - p >= 66)
					o += mimeo__qp_decode_avx512(&p, end, o);
#endif
#if MIMEO_HAVE_AVX2
				if (d->_isa == MIMEO_ISA_AVX2 && end - p >= 66)
					o += mimeo__qp_decode_avx2(&p, end, o);
#endif
				run = qp_scan(in, p, end, o);

				p += run;
				o += run;
				if (p == end || *p == '\r') {
					t = trailing_ws(o, run);
					o -= t;
					memcpy(d->_ws, o, t);
					d->_nws = (unsigned)t;
					if (p < end && end - p >= 2 && p[1] == '\n') {
						d->_nws = 0;
						o[0] = '\r';
						o[1] = '\n';
						o += 2;
						p += 2;
						continue;
					}
					break;
				}
				if (*p == '\n') {
					o -= trailing_ws(o, run);
					*o++ = '\n';
					p++;
					continue;
				}
				/* '=': decode a run of escapes at once (UTF-8 text
				 * has them in pairs and triples). */
				if (end - p >= 3) {
					h1 = qp_hex[p[1]];
					h2 = qp_hex[p[2]];
					if (h1 && h2) {
						do {
							*o++ = (unsigned char)((h1 - 1) << 4 | (h2 - 1));
							p += 3;
							if (end - p < 3 || *p != '=')
								break;
							h1 = qp_hex[p[1]];
							h2 = qp_hex[p[2]];
						} while (h1 && h2);
						continue;
					}
					if (p[1] == '\n') {
						p += 2;
						continue;
					}
					if (p[1] == '\r' && p[2] == '\n') {
						p += 3;
						continue;
					}
				}
				break;
			}
			if (p == end)
				break;
		}
		c = *p++;
again:
		switch (d->_state) {
		case QP_TEXT:
			if (d->_cr) {
				d->_cr = 0;
				if (c == '\n') {
					/* Rule 3: whitespace before a line break is
					 * padding added in transport; drop it. */
					d->_nws = 0;
					o[0] = '\r';
					o[1] = '\n';
					o += 2;
					break;
				}
				/* A lone CR is data; so is the whitespace before it. */
				o = put_ws(d, o);
				*o++ = '\r';
			}
			if (c == ' ' || c == '\t') {
				/* Hold at most the last MIMEO_QP_MAX_PENDING_WS. */
				if (d->_nws == MIMEO_QP_MAX_PENDING_WS) {
					*o++ = d->_ws[0];
					memmove(d->_ws, d->_ws + 1, MIMEO_QP_MAX_PENDING_WS - 1);
					d->_nws--;
				}
				d->_ws[d->_nws++] = (unsigned char)c;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {
				d->_nws = 0;
				*o++ = '\n';
			} else {
				o = put_ws(d, o);
				if (c == '=')
					d->_state = QP_EQ;
				else
					*o++ = (unsigned char)c;
			}
			break;
		case QP_EQ:
			if (d->_cr) {
				if (c == '\n') {   /* "=\r\n": soft line break */
					d->_cr = 0;
					d->_state = QP_TEXT;
					break;
				}
				o = put_invalid_eq(d, o);
				goto again;
			}
			if (hexval(c) >= 0) {
				d->_hex = c;
				d->_state = QP_EQ_HEX;
			} else if (c == ' ' || c == '\t') {
				d->_ws[0] = (unsigned char)c;
				d->_nws = 1;
				d->_state = QP_EQ_WS;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {   /* "=\n": soft line break */
				d->_state = QP_TEXT;
			} else {
				o = put_invalid_eq(d, o);
				goto again;
			}
			break;
		case QP_EQ_HEX:
			if (hexval(c) >= 0) {
				*o++ = (unsigned char)(hexval(d->_hex) << 4 | hexval(c));
				d->_state = QP_TEXT;
				break;
			}
			o = put_invalid_eq(d, o);
			goto again;
		case QP_EQ_WS:
			if (d->_cr) {
				if (c == '\n') {   /* "=  \r\n": soft break (rule 3) */
					d->_cr = 0;
					d->_nws = 0;
					d->_state = QP_TEXT;
					break;
				}
				o = put_invalid_eq(d, o);
				goto again;
			}
			if (c == ' ' || c == '\t') {
				if (d->_nws == MIMEO_QP_MAX_PENDING_WS) {
					/* Too long to be transport padding: give up on
					 * the soft break, keep everything literally. */
					o = put_invalid_eq(d, o);
					goto again;
				}
				d->_ws[d->_nws++] = (unsigned char)c;
			} else if (c == '\r') {
				d->_cr = 1;
			} else if (c == '\n') {
				d->_nws = 0;
				d->_state = QP_TEXT;
			} else {
				o = put_invalid_eq(d, o);
				goto again;
			}
			break;
		}
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_qp_decode_finish(mimeo_qp_decoder *d, void *out)
{
	unsigned char *o = out;

	switch (d->_state) {
	case QP_TEXT:
		/* Whitespace at the very end is trailing whitespace of the last
		 * line; a lone CR is data and keeps what precedes it. */
		if (d->_cr) {
			o = put_ws(d, o);
			*o++ = '\r';
		}
		break;
	case QP_EQ_HEX:
		o = put_invalid_eq(d, o);
		break;
	default:
		/* '=' (then whitespace or a CR) ending the input: a soft line
		 * break at the end of a body cut before its line break. */
		break;
	}
	d->_state = QP_TEXT;
	d->_nws = 0;
	d->_cr = 0;
	return (size_t)(o - (unsigned char *)out);
}

/* ---- encoder ---- */

static const char hexdigits[] = "0123456789ABCDEF";

void mimeo_qp_encoder_init(mimeo_qp_encoder *e, unsigned flags, mimeo_isa isa)
{
	e->_flags = flags;
	e->_col = 0;
	e->_pend = -1;
	e->_isa = mimeo__isa_resolve(isa);
}

static unsigned char *qp_eol(const mimeo_qp_encoder *e, unsigned char *o)
{
	if (e->_flags & MIMEO_QP_CRLF)
		*o++ = '\r';
	*o++ = '\n';
	return o;
}

/* Emit byte c, encoded when `enc` or when it cannot be literal; break the
 * line with a soft break first if it would pass 75 characters (76 with the
 * '=' of the soft break, RFC 2045 6.7 rule 5). */
static unsigned char *qp_put(mimeo_qp_encoder *e, unsigned char *o, unsigned c, int enc)
{
	unsigned w;

	if (!enc)
		enc = (c < 32 && c != '\t') || c > 126 || c == '=';
	if (!enc && e->_col == 0 && (e->_flags & MIMEO_QP_MAILSAFE) && (c == 'F' || c == '.'))
		enc = 1;
	w = enc ? 3 : 1;
	if (e->_col + w > 75) {
		*o++ = '=';
		o = qp_eol(e, o);
		e->_col = 0;
		/* The byte now starts a line: re-check the mail-safe rule. */
		if (!enc && (e->_flags & MIMEO_QP_MAILSAFE) && (c == 'F' || c == '.')) {
			enc = 1;
			w = 3;
		}
	}
	if (enc) {
		o[0] = '=';
		o[1] = (unsigned char)hexdigits[c >> 4];
		o[2] = (unsigned char)hexdigits[c & 15];
	} else {
		o[0] = (unsigned char)c;
	}
	e->_col += w;
	return o + w;
}


/* One input byte through the full rules (line breaks, pending whitespace
 * and CR, soft breaks, mail-safe). */
static unsigned char *qp_enc_byte(mimeo_qp_encoder *e, unsigned char *o, unsigned c)
{
	int text = !(e->_flags & MIMEO_QP_BINARY), crlf = (e->_flags & MIMEO_QP_CRLF) != 0;

	if (e->_pend == '\r') {
		e->_pend = -1;
		if (c == '\n') {   /* CRLF: the hard line break */
			o = qp_eol(e, o);
			e->_col = 0;
			return o;
		}
		o = qp_put(e, o, '\r', 1);
	} else if (e->_pend >= 0) {
		/* Rule 3: whitespace that ends a line must be encoded. */
		int brk = text && (crlf ? c == '\r' : c == '\n');

		o = qp_put(e, o, (unsigned)e->_pend, brk);
		e->_pend = -1;
	}
	if (c == ' ' || c == '\t') {
		e->_pend = (int)c;
	} else if (text && !crlf && c == '\n') {
		o = qp_eol(e, o);
		e->_col = 0;
	} else if (text && crlf && c == '\r') {
		e->_pend = '\r';
	} else {
		o = qp_put(e, o, c, 0);
	}
	return o;
}

/* ---- encoder block path ----
 *
 * The encoder works on 64-byte blocks while at least QP_ENC_NEED input
 * bytes remain and nothing is pending.  An ISA classifier (the portable
 * one below, qp_avx2.c, qp_avx512.c) marks the bytes that stay literal
 * whatever the column (33..126 but '=', and a space or tab not followed by
 * a line break); qp_enc_block() copies each run of them whole, cutting it
 * at column 75 with a soft break, and handles every other byte inline:
 * a hard line break, or a byte written as =XX.  The per-byte rules of
 * qp_enc_byte() are the reference the block path must reproduce exactly
 * (tests/unit/test_qp.c compares them on every path).
 */

/* A block reads 64 bytes and one of look-ahead; runs are copied in
 * 16-byte pieces and escapes written 16 at a time from 16-byte loads, so
 * up to 31 bytes past the block are read. */
#define QP_ENC_NEED 96

/* SWAR helpers on 8 bytes at once: 0x80 in each byte lane where the
 * condition holds.  `y` has bit 7 of every byte clear, so no sum carries
 * into the next lane. */
#define QP_ONES 0x0101010101010101ull
#define QP_HIGH 0x8080808080808080ull

static inline uint64_t lanes_eq(uint64_t y, unsigned c)
{
	uint64_t z = y ^ (QP_ONES * c);

	return ~(z + QP_ONES * 0x7F) & QP_HIGH;
}

/* Bits 0..7: the high bit of each byte lane of m (a multiply gathers them). */
static inline unsigned lanes_bits(uint64_t m)
{
	return (unsigned)(((m >> 7) * 0x0102040810204080ull) >> 56);
}

/* 8 bytes, little-endian: the literal mask of p[0..7] (reads p[0..8]);
 * the mask of the bytes equal to brk in bits 8..15. */
static inline unsigned lit8(const unsigned char *p, int brk)
{
	uint64_t x, n, y, lit, ws, bm = 0;

	memcpy(&x, p, 8);
	memcpy(&n, p + 1, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);   /* lane i must be p[i] */
	n = __builtin_bswap64(n);
#endif
	y = x & ~QP_HIGH;
	/* 33 <= b <= 126 and b < 128, not '=' */
	lit = (y + QP_ONES * (128 - 33)) & ~(y + QP_ONES) & ~x & QP_HIGH;
	lit &= ~lanes_eq(y, '=');
	ws = (lanes_eq(y, ' ') | lanes_eq(y, '\t')) & ~x;
	if (brk >= 0) {
		ws &= ~(lanes_eq(n & ~QP_HIGH, (unsigned)brk) & ~n);
		bm = lanes_eq(y, (unsigned)brk) & ~x;
	}
	return lanes_bits(lit | ws) | lanes_bits(bm) << 8;
}

/* The portable classifier, for the scalar path and other CPUs. */
uint64_t mimeo__qp_lit_mask_scalar(const unsigned char *p, int brk, uint64_t *brkm)
{
	uint64_t m = 0, b = 0;
	unsigned i, k;

	for (i = 0; i < 64; i += 8) {
		k = lit8(p + i, brk);
		m |= (uint64_t)(k & 0xFF) << i;
		b |= (uint64_t)(k >> 8) << i;
	}
	*brkm = b;
	return m;
}

/* Writes "=XX" for each of p[0..n) (n <= 25) at o, and may store up to
 * 48 bytes more (rewritten by later output). */
typedef void (*qp_esc_fn)(const unsigned char *p, unsigned n, unsigned char *o);

static void esc_scalar(const unsigned char *p, unsigned n, unsigned char *o);

/* The classifier and escape writer of a path. */
/* Encodes a segment that fits on the line (see codec-priv.h). */
typedef unsigned (*qp_seg_fn)(const unsigned char *p, unsigned len, uint32_t esc, unsigned room,
			      unsigned char *o, unsigned *written);

/* Encodes up to 64 bytes with soft breaks (codec-priv.h). */
typedef unsigned (*qp_run_fn)(const unsigned char *p, unsigned len, uint64_t esc, unsigned flags,
			      unsigned *pcol, unsigned char **po);

typedef struct qp_enc_ops {
	uint64_t (*mask)(const unsigned char *p, int brk, uint64_t *brkm);
	qp_esc_fn esc;
	qp_seg_fn seg;    /* NULL: runs are copied and escapes written apart */
	qp_run_fn run;    /* instead of seg: everything up to a line-break byte */
} qp_enc_ops;

static qp_enc_ops qp_ops_for(unsigned isa)
{
	qp_enc_ops ops = { mimeo__qp_lit_mask_scalar, esc_scalar, NULL, NULL };

#if MIMEO_HAVE_AVX2
	/* The AVX-512 path has AVX2 too (cpu.c): it shares the escape writer. */
	if (isa == MIMEO_ISA_AVX2 || isa == MIMEO_ISA_AVX512) {
		ops.mask = mimeo__qp_lit_mask_avx2;
		ops.esc = mimeo__qp_esc_avx2;
		if (isa == MIMEO_ISA_AVX2)
			ops.run = mimeo__qp_run_avx2;
	}
#endif
#if MIMEO_HAVE_AVX512
	if (isa == MIMEO_ISA_AVX512) {
		ops.mask = mimeo__qp_lit_mask_avx512;
		ops.seg = mimeo__qp_seg_avx512;
	}
#endif
	(void)isa;
	return ops;
}

/* Copy n (0..64) bytes in 16-byte pieces (at least one).  The bytes
 * stored past n are rewritten by later output; they stay within
 * MIMEO_QP_ENCODE_BOUND since the output so far is at most about 3.1 times
 * the input consumed and QP_ENC_NEED bytes of input remain. */
static inline void copy_run(unsigned char *o, const unsigned char *s, unsigned n)
{
	unsigned k = 0;

	do
		memcpy(o + k, s + k, 16);
	while ((k += 16) < n);
}

/* "=XX" for every byte, 4 bytes apart so one 4-byte store writes an
 * escape (the fourth byte is rewritten by the next output). */
static const char qp_esc[256 * 4 + 1] =
	"=00 =01 =02 =03 =04 =05 =06 =07 =08 =09 =0A =0B =0C =0D =0E =0F "
	"=10 =11 =12 =13 =14 =15 =16 =17 =18 =19 =1A =1B =1C =1D =1E =1F "
	"=20 =21 =22 =23 =24 =25 =26 =27 =28 =29 =2A =2B =2C =2D =2E =2F "
	"=30 =31 =32 =33 =34 =35 =36 =37 =38 =39 =3A =3B =3C =3D =3E =3F "
	"=40 =41 =42 =43 =44 =45 =46 =47 =48 =49 =4A =4B =4C =4D =4E =4F "
	"=50 =51 =52 =53 =54 =55 =56 =57 =58 =59 =5A =5B =5C =5D =5E =5F "
	"=60 =61 =62 =63 =64 =65 =66 =67 =68 =69 =6A =6B =6C =6D =6E =6F "
	"=70 =71 =72 =73 =74 =75 =76 =77 =78 =79 =7A =7B =7C =7D =7E =7F "
	"=80 =81 =82 =83 =84 =85 =86 =87 =88 =89 =8A =8B =8C =8D =8E =8F "
	"=90 =91 =92 =93 =94 =95 =96 =97 =98 =99 =9A =9B =9C =9D =9E =9F "
	"=A0 =A1 =A2 =A3 =A4 =A5 =A6 =A7 =A8 =A9 =AA =AB =AC =AD =AE =AF "
	"=B0 =B1 =B2 =B3 =B4 =B5 =B6 =B7 =B8 =B9 =BA =BB =BC =BD =BE =BF "
	"=C0 =C1 =C2 =C3 =C4 =C5 =C6 =C7 =C8 =C9 =CA =CB =CC =CD =CE =CF "
	"=D0 =D1 =D2 =D3 =D4 =D5 =D6 =D7 =D8 =D9 =DA =DB =DC =DD =DE =DF "
	"=E0 =E1 =E2 =E3 =E4 =E5 =E6 =E7 =E8 =E9 =EA =EB =EC =ED =EE =EF "
	"=F0 =F1 =F2 =F3 =F4 =F5 =F6 =F7 =F8 =F9 =FA =FB =FC =FD =FE =FF ";

static void esc_scalar(const unsigned char *p, unsigned n, unsigned char *o)
{
	unsigned k;

	for (k = 0; k < n; k++)
		memcpy(o + 3 * k, qp_esc + 4 * p[k], 4);
}

/* The block path's working state, kept in locals (the output is written
 * through an unsigned char pointer, which may alias the encoder struct). */
typedef struct qp_blk {
	unsigned char *o;  /* output position */
	unsigned col;      /* characters on the current output line */
	unsigned flags;    /* MIMEO_QP_* */
	qp_esc_fn esc;     /* the path's escape writer */
} qp_blk;

static inline void soft_break(qp_blk *b)
{
	*b->o++ = '=';
	if (b->flags & MIMEO_QP_CRLF)
		*b->o++ = '\r';
	*b->o++ = '\n';
	b->col = 0;
}

/* Write the n (>= 1) bytes at p as =XX, with soft breaks so no line
 * passes column 75 (at most 25 escapes a line).  Short runs (UTF-8 letters
 * in Latin text) are written inline; long ones (8-bit text) by the path's
 * escape writer. */
static inline void put_escapes(qp_blk *b, const unsigned char *p, unsigned n)
{
	if (n <= 4) {
		do {
			if (b->col > 72)
				soft_break(b);
			memcpy(b->o, qp_esc + 4 * *p++, 4);
			b->o += 3;
			b->col += 3;
		} while (--n);
		return;
	}
	while (n > 0) {
		unsigned fit = (75 - b->col) / 3, k;

		if (fit == 0) {
			soft_break(b);
			continue;
		}
		k = n < fit ? n : fit;
		if (k <= 2) {
			memcpy(b->o, qp_esc + 4 * p[0], 4);
			if (k == 2)
				memcpy(b->o + 3, qp_esc + 4 * p[1], 4);
		} else {
			b->esc(p, k, b->o);
		}
		b->o += 3 * k;
		b->col += 3 * k;
		p += k;
		n -= k;
	}
}

/* The bytes of the block from p[i] that are not in a literal run (`stop`
 * has the literal and line-break bytes): a hard line break (LF, or CRLF
 * with MIMEO_QP_CRLF; p[64] is readable), or p[i] and the run of bytes
 * after it that are neither, written as =XX.  Returns the next index. */
static inline unsigned enc_other(qp_blk *b, const unsigned char *p, unsigned i, uint64_t stop,
				 uint64_t brkm)
{
	int crlf = (b->flags & MIMEO_QP_CRLF) != 0;
	uint64_t after;
	unsigned n;

	if (((brkm >> i) & 1) && (!crlf || p[i + 1] == '\n')) {
		if (crlf)
			*b->o++ = '\r';
		*b->o++ = '\n';
		b->col = 0;
		return i + 1 + (unsigned)crlf;
	}
	/* p[i] itself may be a lone CR (CRLF mode) or a mail-safe 'F'/'.'. */
	after = i < 63 ? stop >> (i + 1) : 1;
	n = 1 + (after ? (unsigned)__builtin_ctzll(after) : 63 - i);
	put_escapes(b, p + i, n);
	return i + n;
}

/* Encode the 64-byte block at p whose literal bytes are the bits of lit
 * and line-break bytes those of brkm.  Each round copies the literal run
 * ahead (maybe empty: the 16-byte store is harmless) and then a line break
 * or a run of escapes, so mixed text costs few unpredictable branches.
 * Returns the input bytes used: 64, or 65 when a CRLF straddles the end. */
static inline unsigned qp_enc_block(qp_blk *b, const unsigned char *p, uint64_t lit,
				    uint64_t brkm)
{
	unsigned i = 0;

	while (i < 64) {
		uint64_t rest = ~(lit >> i);
		unsigned run = rest ? (unsigned)__builtin_ctzll(rest) : 64;

		/* Mail-safe: a line-leading 'F' or '.' is always encoded. */
		if (b->col == 0 && (b->flags & MIMEO_QP_MAILSAFE) && (p[i] == 'F' || p[i] == '.'))
			run = 0;
		if (run > 75 - b->col) {
			/* The run reaches column 75: fill the line, soft break. */
			run = 75 - b->col;
			copy_run(b->o, p + i, run);
			b->o += run;
			i += run;
			soft_break(b);
			continue;
		}
		copy_run(b->o, p + i, run);
		b->o += run;
		b->col += run;
		i += run;
		if (i < 64)
			i = enc_other(b, p, i, lit | brkm, brkm);
	}
	return i;
}

/* qp_enc_block() for a path with a segment encoder: up to 16 bytes at a
 * time, literal and escaped alike, as many as fit on the line (with a run
 * encoder: everything up to the next line-break byte, soft breaks
 * included); line-break bytes and a mail-safe line start are handled as
 * in qp_enc_block(). */
static inline unsigned qp_enc_block_seg(qp_blk *b, const unsigned char *p, uint64_t lit,
					uint64_t brkm, qp_seg_fn seg, qp_run_fn run)
{
	unsigned i = 0, len, m, w;
	uint64_t bm;
	uint32_t esc;

	while (i < 64) {
		if ((brkm >> i) & 1) {
			i = enc_other(b, p, i, lit | brkm, brkm);
			continue;
		}
		if (b->col == 0 && (b->flags & MIMEO_QP_MAILSAFE) && (p[i] == 'F' || p[i] == '.')) {
			put_escapes(b, p + i, 1);
			i++;
			continue;
		}
		len = 64 - i < 16 || run ? 64 - i : 16;
		bm = brkm >> i;
		if (bm && (unsigned)__builtin_ctzll(bm) < len)
			len = (unsigned)__builtin_ctzll(bm);
		if (run) {
			i += run(p + i, len, (~lit >> i) & (len == 64 ? ~0ull : (1ull << len) - 1),
				 b->flags, &b->col, &b->o);
			continue;
		}
		esc = (uint32_t)(~lit >> i) & ((1u << len) - 1);
		m = seg(p + i, len, esc, 75 - b->col, b->o, &w);
		b->o += w;
		b->col += w;
		i += m;
		if (m < len)
			soft_break(b);   /* the next byte does not fit */
	}
	return i;
}

size_t mimeo_qp_encode_step(mimeo_qp_encoder *e, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out;
	qp_enc_ops ops = qp_ops_for(e->_isa);
	int brk = (e->_flags & MIMEO_QP_BINARY) ? -1 : (e->_flags & MIMEO_QP_CRLF) ? '\r' : '\n';

	while (p < end) {
		/* A pending space, tab or CR, and the last bytes of the chunk
		 * (no look-ahead past it), take the per-byte rules. */
		if (e->_pend < 0 && end - p >= QP_ENC_NEED) {
			qp_blk b = { o, e->_col, e->_flags, ops.esc };
			uint64_t lit, brkm;

			while (end - p >= QP_ENC_NEED) {
				lit = ops.mask(p, brk, &brkm);
				/* Segments pay where escapes are many (8-bit
				 * text); mostly-ASCII text copies runs faster.
				 * The run encoder (AVX2) pays everywhere: one
				 * call encodes up to the next line break. */
				if (ops.run || (ops.seg && __builtin_popcountll(~lit) >= 16))
					p += qp_enc_block_seg(&b, p, lit, brkm, ops.seg, ops.run);
				else
					p += qp_enc_block(&b, p, lit, brkm);
			}
			o = b.o;
			e->_col = b.col;
		} else {
			o = qp_enc_byte(e, o, *p++);
		}
	}
	return (size_t)(o - (unsigned char *)out);
}

size_t mimeo_qp_encode_finish(mimeo_qp_encoder *e, void *out)
{
	unsigned char *o = out;

	if (e->_pend >= 0)
		o = qp_put(e, o, (unsigned)e->_pend, 1);
	e->_pend = -1;
	e->_col = 0;
	return (size_t)(o - (unsigned char *)out);
}
