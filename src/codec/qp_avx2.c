/*
 * qp_avx2.c - AVX2 quoted-printable kernels, built with -mavx2 in the AVX2
 * archive and called only when cpu.c found AVX2.  No pext/pdep: they are
 * microcoded (hundreds of cycles) on AMD before Zen 3.
 *
 * Decoder: 32 bytes at a time, classified at once like the AVX-512 kernel
 * (qp_avx512.c): '=' and two hex digits become the decoded byte, soft line
 * breaks vanish, and what needs the full rules of RFC 2045 6.7 stops the
 * kernel.  AVX2 has no byte compress, so the bytes kept are gathered 8 at
 * a time with a shuffle from a 256-entry table.
 *
 * Encoder: the classifier marks, 32 bytes at a time, the bytes copied as
 * they are and the line-break bytes (see codec-priv.h); qp.c copies the
 * runs.  The escape writer turns 16 bytes into 48 characters "=XX..." with
 * nibble lookups and byte shuffles.  The segment encoder writes up to 16
 * bytes, literal and escaped alike, 4 at a time through a 16-entry shuffle
 * table, for 8-bit text where escapes and literals alternate.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>

static inline uint32_t lit32(const unsigned char *p, int brk, uint32_t *bm)
{
	__m256i v = _mm256_loadu_si256((const __m256i *)p);
	/* 33..126 with signed compares: bytes >= 128 are negative. */
	__m256i lit = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(32)),
				       _mm256_cmpgt_epi8(_mm256_set1_epi8(127), v));
	__m256i ws = _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')),
				     _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')));

	lit = _mm256_andnot_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('=')), lit);
	*bm = 0;
	if (brk >= 0) {
		/* Whitespace before a line break is encoded (rule 3). */
		__m256i b = _mm256_set1_epi8((char)brk);
		__m256i vn = _mm256_loadu_si256((const __m256i *)(p + 1));

		ws = _mm256_andnot_si256(_mm256_cmpeq_epi8(vn, b), ws);
		*bm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, b));
	}
	return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(lit, ws));
}

uint64_t mimeo__qp_lit_mask_avx2(const unsigned char *p, int brk, uint64_t *brkm)
{
	uint32_t b0, b1;
	uint64_t m = (uint64_t)lit32(p, brk, &b0) | (uint64_t)lit32(p + 32, brk, &b1) << 32;

	*brkm = (uint64_t)b0 | (uint64_t)b1 << 32;
	return m;
}

/* 16 bytes -> 48 characters "=XX" at o. */
static inline void esc16(const unsigned char *p, unsigned char *o)
{
	const __m128i hex = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
					  'A', 'B', 'C', 'D', 'E', 'F');
	const __m128i nib = _mm_set1_epi8(0x0F);
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i hi = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16(x, 4), nib));
	__m128i lo = _mm_shuffle_epi8(hex, _mm_and_si128(x, nib));
	/* a = h0 l0 .. h7 l7, b = h8 l8 .. h15 l15; -1 picks a zero, which
	 * the OR with `eq` turns into '='. */
	__m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
	const __m128i eq0 = _mm_setr_epi8('=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=');
	const __m128i eq1 = _mm_setr_epi8(0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0);
	const __m128i eq2 = _mm_setr_epi8(0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0, '=', 0, 0);
	__m128i o0 = _mm_shuffle_epi8(a, _mm_setr_epi8(-1, 0, 1, -1, 2, 3, -1, 4, 5, -1, 6, 7,
						       -1, 8, 9, -1));
	__m128i o1 = _mm_or_si128(
		_mm_shuffle_epi8(a, _mm_setr_epi8(10, 11, -1, 12, 13, -1, 14, 15, -1, -1, -1, -1,
						  -1, -1, -1, -1)),
		_mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, -1,
						  2, 3, -1, 4)));
	__m128i o2 = _mm_shuffle_epi8(b, _mm_setr_epi8(5, -1, 6, 7, -1, 8, 9, -1, 10, 11, -1,
						       12, 13, -1, 14, 15));

	_mm_storeu_si128((__m128i *)o, _mm_or_si128(o0, eq0));
	_mm_storeu_si128((__m128i *)(o + 16), _mm_or_si128(o1, eq1));
	_mm_storeu_si128((__m128i *)(o + 32), _mm_or_si128(o2, eq2));
}

void mimeo__qp_esc_avx2(const unsigned char *p, unsigned n, unsigned char *o)
{
	esc16(p, o);
	if (n > 16)
		esc16(p + 16, o + 48);
}

/* ---- decoder ---- */

/* keep8[m]: the shuffle that gathers the bytes whose bit is set in m to
 * the front of an 8-byte group (byte j = index of the j-th set bit, 0x80
 * for none).  Generated: for m in 0..255, the indices i with m >> i & 1,
 * padded with 0x80, packed little-endian. */
static const uint64_t keep8[256] = {
	0x8080808080808080ull, 0x8080808080808000ull, 0x8080808080808001ull, 0x8080808080800100ull,
	0x8080808080808002ull, 0x8080808080800200ull, 0x8080808080800201ull, 0x8080808080020100ull,
	0x8080808080808003ull, 0x8080808080800300ull, 0x8080808080800301ull, 0x8080808080030100ull,
	0x8080808080800302ull, 0x8080808080030200ull, 0x8080808080030201ull, 0x8080808003020100ull,
	0x8080808080808004ull, 0x8080808080800400ull, 0x8080808080800401ull, 0x8080808080040100ull,
	0x8080808080800402ull, 0x8080808080040200ull, 0x8080808080040201ull, 0x8080808004020100ull,
	0x8080808080800403ull, 0x8080808080040300ull, 0x8080808080040301ull, 0x8080808004030100ull,
	0x8080808080040302ull, 0x8080808004030200ull, 0x8080808004030201ull, 0x8080800403020100ull,
	0x8080808080808005ull, 0x8080808080800500ull, 0x8080808080800501ull, 0x8080808080050100ull,
	0x8080808080800502ull, 0x8080808080050200ull, 0x8080808080050201ull, 0x8080808005020100ull,
	0x8080808080800503ull, 0x8080808080050300ull, 0x8080808080050301ull, 0x8080808005030100ull,
	0x8080808080050302ull, 0x8080808005030200ull, 0x8080808005030201ull, 0x8080800503020100ull,
	0x8080808080800504ull, 0x8080808080050400ull, 0x8080808080050401ull, 0x8080808005040100ull,
	0x8080808080050402ull, 0x8080808005040200ull, 0x8080808005040201ull, 0x8080800504020100ull,
	0x8080808080050403ull, 0x8080808005040300ull, 0x8080808005040301ull, 0x8080800504030100ull,
	0x8080808005040302ull, 0x8080800504030200ull, 0x8080800504030201ull, 0x8080050403020100ull,
	0x8080808080808006ull, 0x8080808080800600ull, 0x8080808080800601ull, 0x8080808080060100ull,
	0x8080808080800602ull, 0x8080808080060200ull, 0x8080808080060201ull, 0x8080808006020100ull,
	0x8080808080800603ull, 0x8080808080060300ull, 0x8080808080060301ull, 0x8080808006030100ull,
	0x8080808080060302ull, 0x8080808006030200ull, 0x8080808006030201ull, 0x8080800603020100ull,
	0x8080808080800604ull, 0x8080808080060400ull, 0x8080808080060401ull, 0x8080808006040100ull,
	0x8080808080060402ull, 0x8080808006040200ull, 0x8080808006040201ull, 0x8080800604020100ull,
	0x8080808080060403ull, 0x8080808006040300ull, 0x8080808006040301ull, 0x8080800604030100ull,
	0x8080808006040302ull, 0x8080800604030200ull, 0x8080800604030201ull, 0x8080060403020100ull,
	0x8080808080800605ull, 0x8080808080060500ull, 0x8080808080060501ull, 0x8080808006050100ull,
	0x8080808080060502ull, 0x8080808006050200ull, 0x8080808006050201ull, 0x8080800605020100ull,
	0x8080808080060503ull, 0x8080808006050300ull, 0x8080808006050301ull, 0x8080800605030100ull,
	0x8080808006050302ull, 0x8080800605030200ull, 0x8080800605030201ull, 0x8080060503020100ull,
	0x8080808080060504ull, 0x8080808006050400ull, 0x8080808006050401ull, 0x8080800605040100ull,
	0x8080808006050402ull, 0x8080800605040200ull, 0x8080800605040201ull, 0x8080060504020100ull,
	0x8080808006050403ull, 0x8080800605040300ull, 0x8080800605040301ull, 0x8080060504030100ull,
	0x8080800605040302ull, 0x8080060504030200ull, 0x8080060504030201ull, 0x8006050403020100ull,
	0x8080808080808007ull, 0x8080808080800700ull, 0x8080808080800701ull, 0x8080808080070100ull,
	0x8080808080800702ull, 0x8080808080070200ull, 0x8080808080070201ull, 0x8080808007020100ull,
	0x8080808080800703ull, 0x8080808080070300ull, 0x8080808080070301ull, 0x8080808007030100ull,
	0x8080808080070302ull, 0x8080808007030200ull, 0x8080808007030201ull, 0x8080800703020100ull,
	0x8080808080800704ull, 0x8080808080070400ull, 0x8080808080070401ull, 0x8080808007040100ull,
	0x8080808080070402ull, 0x8080808007040200ull, 0x8080808007040201ull, 0x8080800704020100ull,
	0x8080808080070403ull, 0x8080808007040300ull, 0x8080808007040301ull, 0x8080800704030100ull,
	0x8080808007040302ull, 0x8080800704030200ull, 0x8080800704030201ull, 0x8080070403020100ull,
	0x8080808080800705ull, 0x8080808080070500ull, 0x8080808080070501ull, 0x8080808007050100ull,
	0x8080808080070502ull, 0x8080808007050200ull, 0x8080808007050201ull, 0x8080800705020100ull,
	0x8080808080070503ull, 0x8080808007050300ull, 0x8080808007050301ull, 0x8080800705030100ull,
	0x8080808007050302ull, 0x8080800705030200ull, 0x8080800705030201ull, 0x8080070503020100ull,
	0x8080808080070504ull, 0x8080808007050400ull, 0x8080808007050401ull, 0x8080800705040100ull,
	0x8080808007050402ull, 0x8080800705040200ull, 0x8080800705040201ull, 0x8080070504020100ull,
	0x8080808007050403ull, 0x8080800705040300ull, 0x8080800705040301ull, 0x8080070504030100ull,
	0x8080800705040302ull, 0x8080070504030200ull, 0x8080070504030201ull, 0x8007050403020100ull,
	0x8080808080800706ull, 0x8080808080070600ull, 0x8080808080070601ull, 0x8080808007060100ull,
	0x8080808080070602ull, 0x8080808007060200ull, 0x8080808007060201ull, 0x8080800706020100ull,
	0x8080808080070603ull, 0x8080808007060300ull, 0x8080808007060301ull, 0x8080800706030100ull,
	0x8080808007060302ull, 0x8080800706030200ull, 0x8080800706030201ull, 0x8080070603020100ull,
	0x8080808080070604ull, 0x8080808007060400ull, 0x8080808007060401ull, 0x8080800706040100ull,
	0x8080808007060402ull, 0x8080800706040200ull, 0x8080800706040201ull, 0x8080070604020100ull,
	0x8080808007060403ull, 0x8080800706040300ull, 0x8080800706040301ull, 0x8080070604030100ull,
	0x8080800706040302ull, 0x8080070604030200ull, 0x8080070604030201ull, 0x8007060403020100ull,
	0x8080808080070605ull, 0x8080808007060500ull, 0x8080808007060501ull, 0x8080800706050100ull,
	0x8080808007060502ull, 0x8080800706050200ull, 0x8080800706050201ull, 0x8080070605020100ull,
	0x8080808007060503ull, 0x8080800706050300ull, 0x8080800706050301ull, 0x8080070605030100ull,
	0x8080800706050302ull, 0x8080070605030200ull, 0x8080070605030201ull, 0x8007060503020100ull,
	0x8080808007060504ull, 0x8080800706050400ull, 0x8080800706050401ull, 0x8080070605040100ull,
	0x8080800706050402ull, 0x8080070605040200ull, 0x8080070605040201ull, 0x8007060504020100ull,
	0x8080800706050403ull, 0x8080070605040300ull, 0x8080070605040301ull, 0x8007060504030100ull,
	0x8080070605040302ull, 0x8007060504030200ull, 0x8007060504030201ull, 0x0706050403020100ull,
};

/* Hex digits by nibble lookups: hi_cls[c >> 4] & lo_cls[c & 15] is
 * non-zero for '0'-'9' (bit 1) and 'A'-'F'/'a'-'f' (bit 2). */
#define HI_CLS 0, 0, 0, 1, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define LO_CLS 1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 0, 0, 0, 0, 0, 0
/* A digit's value is its low nibble, plus 9 for a letter (high nibble 4
 * or 6); the same shifted left by 4, which wraps within the byte. */
#define HI_ADD 0, 0, 0, 0, 9, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define HI_ADD4 0, 0, 0, 0, (char)0x90, 0, (char)0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define LO_SHL4 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, (char)0x80, (char)0x90, \
	(char)0xA0, (char)0xB0, (char)0xC0, (char)0xD0, (char)0xE0, (char)0xF0

static inline __m256i hi_nibbles(__m256i c)
{
	return _mm256_and_si256(_mm256_srli_epi16(c, 4), _mm256_set1_epi8(0x0F));
}

static inline uint32_t mask_of(__m256i v, char c)
{
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)));
}

/* Start of the run of `ws` bytes that ends at bit i (0 when it reaches
 * the block start). */
static inline unsigned ws_run_start(uint32_t ws, unsigned i)
{
	uint64_t nonws = ~ws & (uint32_t)((2ull << i) - 1);

	/* (highest non-whitespace bit) + 1, or 0: the low 1 answers for none */
	return 63 - (unsigned)__builtin_clzll(nonws << 1 | 1);
}

/* Store the bytes of v whose bit is set in keep, in order, at o; return
 * how many.  Writes up to 32 bytes at o. */
static inline unsigned compress_store(__m256i v, uint32_t keep, unsigned char *o)
{
	const uint64_t lane_hi = 0x0808080808080808ull;
	unsigned m0 = keep & 0xFF, m1 = (keep >> 8) & 0xFF, m2 = (keep >> 16) & 0xFF, m3 = keep >> 24;
	__m256i ctl = _mm256_setr_epi64x((long long)keep8[m0], (long long)(keep8[m1] + lane_hi),
					 (long long)keep8[m2], (long long)(keep8[m3] + lane_hi));
	__m256i g = _mm256_shuffle_epi8(v, ctl);
	__m128i a = _mm256_castsi256_si128(g), b = _mm256_extracti128_si256(g, 1);
	unsigned n0 = (unsigned)__builtin_popcount(m0), n1 = (unsigned)__builtin_popcount(m1);
	unsigned n2 = (unsigned)__builtin_popcount(m2);

	_mm_storel_epi64((__m128i *)o, a);
	_mm_storeh_pd((double *)(void *)(o + n0), _mm_castsi128_pd(a));
	_mm_storel_epi64((__m128i *)(o + n0 + n1), b);
	_mm_storeh_pd((double *)(void *)(o + n0 + n1 + n2), _mm_castsi128_pd(b));
	return (unsigned)__builtin_popcount(keep);
}

/* Classes of the two look-ahead bytes past a block, for the masks of the
 * byte after and two after each byte (no data-dependent branch). */
enum { C_LF = 1, C_CR = 2, C_HEX = 4, C_WS = 8 };
static const unsigned char qp_cls[256] = {
	['\n'] = C_LF, ['\r'] = C_CR, [' '] = C_WS, ['\t'] = C_WS,
	['0'] = C_HEX, ['1'] = C_HEX, ['2'] = C_HEX, ['3'] = C_HEX, ['4'] = C_HEX,
	['5'] = C_HEX, ['6'] = C_HEX, ['7'] = C_HEX, ['8'] = C_HEX, ['9'] = C_HEX,
	['A'] = C_HEX, ['B'] = C_HEX, ['C'] = C_HEX, ['D'] = C_HEX, ['E'] = C_HEX, ['F'] = C_HEX,
	['a'] = C_HEX, ['b'] = C_HEX, ['c'] = C_HEX, ['d'] = C_HEX, ['e'] = C_HEX, ['f'] = C_HEX,
};

/* Bit 31 set when c has class `cl`. */
static inline uint32_t top(unsigned c, unsigned cl)
{
	return (uint32_t)((c & cl) != 0) << 31;
}

/*
 * Entered like the AVX-512 kernel (codec-priv.h): plain-text state,
 * nothing pending, the byte before *pin not a space or tab.  Blocks start
 * 32 bytes apart: an escape or soft break whose tail runs into the next
 * block leaves the tail bytes marked in `carry`, so p never waits for the
 * classification.  A block is cut short (and the next one starts there)
 * only when a whitespace run crosses its end, since the run may turn out
 * to be trailing (rule 3).  The kernel stops where the full rules are
 * needed -- an invalid '=' sequence, a CR not starting CRLF, whitespace
 * before a line break, a block of nothing but whitespace -- or when fewer
 * than 34 bytes remain.
 */
size_t mimeo__qp_decode_avx2(const unsigned char **pin, const unsigned char *end,
			     unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;
	uint32_t carry = 0;   /* bits 0-1: tails from the previous block */
	const __m256i nib = _mm256_set1_epi8(0x0F);
	const __m256i hi_cls = _mm256_setr_epi8(HI_CLS, HI_CLS), lo_cls = _mm256_setr_epi8(LO_CLS, LO_CLS);
	const __m256i hi_add = _mm256_setr_epi8(HI_ADD, HI_ADD);
	const __m256i hi_add4 = _mm256_setr_epi8(HI_ADD4, HI_ADD4);
	const __m256i lo_shl4 = _mm256_setr_epi8(LO_SHL4, LO_SHL4);

	/* Blocks read p .. p+33 (two bytes of look-ahead). */
	while (end - p >= 34) {
		__m256i v = _mm256_loadu_si256((const __m256i *)p);
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(p + 1));
		__m256i v2 = _mm256_loadu_si256((const __m256i *)(p + 2));
		__m256i veq = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('='));
		__m256i lo1 = _mm256_and_si256(v1, nib), hi1 = hi_nibbles(v1);
		__m256i lo2 = _mm256_and_si256(v2, nib), hi2 = hi_nibbles(v2);
		__m256i nothex1 = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(hi_cls, hi1),
								     _mm256_shuffle_epi8(lo_cls, lo1)),
						    _mm256_setzero_si256());
		/* The byte an escape at i stands for: hex(p[i+1]) << 4 | hex(p[i+2]),
		 * garbage where there is no escape; every '=' kept is an escape
		 * (soft breaks are dropped, an invalid '=' stops the block
		 * before it). */
		__m256i r = _mm256_or_si256(
			_mm256_add_epi8(_mm256_shuffle_epi8(lo_shl4, lo1), _mm256_shuffle_epi8(hi_add4, hi1)),
			_mm256_add_epi8(lo2, _mm256_shuffle_epi8(hi_add, hi2)));
		unsigned c32 = qp_cls[p[32]], c33 = qp_cls[p[33]];
		/* Masks of the byte after (1) and two after (2) each byte: this
		 * block's masks shifted, plus bytes 32 and 33. */
		uint32_t eq = (uint32_t)_mm256_movemask_epi8(veq);
		uint32_t hex1 = ~(uint32_t)_mm256_movemask_epi8(nothex1);
		uint32_t hex2 = hex1 >> 1 | top(c33, C_HEX);
		uint32_t esc = eq & hex1 & hex2;
		uint32_t ws = (uint32_t)_mm256_movemask_epi8(
			_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')),
					_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t'))));
		uint32_t cr = mask_of(v, '\r'), lf = mask_of(v, '\n');
		uint32_t lf1 = lf >> 1 | top(c32, C_LF), cr1 = cr >> 1 | top(c32, C_CR);
		uint32_t lf2 = lf1 >> 1 | top(c33, C_LF), ws1 = ws >> 1 | top(c32, C_WS);
		uint32_t soft1 = eq & lf1, soft2 = eq & cr1 & lf2;
		uint32_t bad = (eq & ~(esc | soft1 | soft2)) | (cr & ~lf1);
		uint32_t wsbrk = ws & (lf1 | cr1);   /* whitespace before a line break */
		unsigned k = 32, adv = 32;
		uint64_t drop;
		uint32_t keep;

		if (wsbrk)
			k = ws_run_start(ws, (unsigned)__builtin_ctz(wsbrk));
		if (bad && (unsigned)__builtin_ctz(bad) < k)
			k = (unsigned)__builtin_ctz(bad);
		/* Escape tails and soft breaks are removed; the decoded byte
		 * replaces the '='.  Tails may run 1 or 2 bytes past the block. */
		drop = ((uint64_t)esc << 1) | ((uint64_t)esc << 2) | (uint64_t)soft1 |
		       ((uint64_t)soft1 << 1) | (uint64_t)soft2 | ((uint64_t)soft2 << 1) |
		       ((uint64_t)soft2 << 2);
		keep = ~((uint32_t)drop | carry);
		carry = (uint32_t)(drop >> 32);
		if (k < 32 || (ws & ws1) >> 31) {
			/* Commit what precedes the byte needing the full rules,
			 * or the whitespace run crossing the block end; no escape
			 * before it has its tail at or after it (tails are hex
			 * digits, CR or LF, never such a byte). */
			unsigned tail = ws_run_start(ws, 31);

			adv = k < tail ? k : tail;
			keep &= (uint32_t)((1ull << adv) - 1);
			carry = 0;
			if (k <= tail || adv == 0) {
				o += compress_store(_mm256_blendv_epi8(v, r, veq), keep, o);
				p += adv;
				break;
			}
		}
		o += compress_store(_mm256_blendv_epi8(v, r, veq), keep, o);
		p += adv;
	}
	/* carry is 0, 1 or 3: the tails are the next bytes. */
	p += __builtin_popcount(carry);
	*pin = p;
	return (size_t)(o - out);
}

/* ---- encoder segments ---- */

/* esc4[m]: the output of 4 bytes whose escapes are the bits of m, from a
 * group laid out as x0..x3, hi0..hi3, lo0..lo3, '=' x4 (hi/lo: the hex
 * digits).  Generated: for each i in 0..3, [12, 4+i, 8+i] when m >> i & 1,
 * else [i]; padded with -128 (zero). */
static const signed char esc4[16][16] = {
	{ 0, 1, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 12, 6, 10, 3, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 2, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 0, 1, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 1, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 0, 12, 5, 9, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128, -128, -128 },
	{ 12, 4, 8, 12, 5, 9, 12, 6, 10, 12, 7, 11, -128, -128, -128, -128 },
};

unsigned mimeo__qp_seg_avx2(const unsigned char *p, unsigned len, uint32_t esc,
			    unsigned room, unsigned char *o, unsigned *written)
{
	const __m128i hex = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
					  'A', 'B', 'C', 'D', 'E', 'F');
	const __m128i nib = _mm_set1_epi8(0x0F), eq = _mm_set1_epi8('=');
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i hi = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16(x, 4), nib));
	__m128i lo = _mm_shuffle_epi8(hex, _mm_and_si128(x, nib));
	__m128i xh01 = _mm_unpacklo_epi32(x, hi), le01 = _mm_unpacklo_epi32(lo, eq);
	__m128i xh23 = _mm_unpackhi_epi32(x, hi), le23 = _mm_unpackhi_epi32(lo, eq);
	__m128i g[4];
	unsigned total = len + 2 * (unsigned)__builtin_popcount(esc), m, w, j, at = 0;

	g[0] = _mm_unpacklo_epi64(xh01, le01);
	g[1] = _mm_unpackhi_epi64(xh01, le01);
	g[2] = _mm_unpacklo_epi64(xh23, le23);
	g[3] = _mm_unpackhi_epi64(xh23, le23);
	for (j = 0; j < 4; j++) {
		unsigned mj = (esc >> (4 * j)) & 15;

		_mm_storeu_si128((__m128i *)(o + at),
				 _mm_shuffle_epi8(g[j], _mm_loadu_si128((const __m128i *)esc4[mj])));
		at += 4 + 2 * (unsigned)__builtin_popcount(mj);
	}
	if (total <= room) {
		*written = total;
		return len;
	}
	/* The line fills up within the segment: the longest prefix that fits
	 * (once a line, so a loop is cheap enough). */
	for (m = 0, w = 0; m < len; m++) {
		unsigned c = (esc >> m) & 1 ? 3 : 1;

		if (w + c > room)
			break;
		w += c;
	}
	*written = w;
	return m;
}
