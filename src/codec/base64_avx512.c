/*
 * base64_avx512.c - AVX-512 VBMI/VBMI2 base64 kernels (built with
 * -mavx512f -mavx512bw -mavx512vl -mavx512vbmi -mavx512vbmi2 in its own
 * archive; only called after cpu.c found all of them).
 *
 * Decode: each 64-byte block is translated to sextets with one two-table
 * byte permute (VBMI vpermi2b over the 128 ASCII codes), whitespace is
 * squeezed out with a byte compress (VBMI2 vpcompressb, register form),
 * and the sextets go to a staging buffer in L1.  Full 64-sextet blocks of
 * the stage are packed to 48 bytes with multiply-adds and a byte permute.
 * Line breaks thus cost the same wherever they fall.  '=' and garbage stop
 * the kernel; the scalar code takes that byte.
 *
 * Encode: 48 bytes -> 64 characters with a byte permute, a multishift
 * (vpmultishiftqb) that extracts the four sextets of every 24-bit group,
 * and a permute through the alphabet (after Mula and Lemire, "Base64
 * encoding and decoding at almost the speed of a memory copy", 2019).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"

#include <immintrin.h>
#include <string.h>

#define STAGE 512

/* Half of the 128-entry ASCII lookup used by the decoder, made from the
 * shared table (mimeo__b64_dec_table): sextets stay, whitespace becomes
 * 0x80 and anything else ('=' included) 0xFF.  Bytes >= 0x80 are caught
 * by their own sign bit. */
static inline __m512i ascii_sextet(const unsigned char *half)
{
	__m512i v = _mm512_loadu_si512((const void *)half);
	__mmask64 ws = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(MIMEO__B64_WS));
	__mmask64 other = _mm512_cmpgt_epu8_mask(v, _mm512_set1_epi8(MIMEO__B64_WS));

	v = _mm512_mask_mov_epi8(v, ws, _mm512_set1_epi8((char)0x80));
	return _mm512_mask_mov_epi8(v, other, _mm512_set1_epi8((char)0xFF));
}

/* After the multiply-adds every 32-bit lane holds one 24-bit group, low
 * byte first: pick bytes 2, 1, 0 of each lane in order. */
static const unsigned char pack_index[64] __attribute__((aligned(64))) = {
	2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, 18, 17, 16, 22,
	21, 20, 26, 25, 24, 30, 29, 28, 34, 33, 32, 38, 37, 36, 42, 41,
	40, 46, 45, 44, 50, 49, 48, 54, 53, 52, 58, 57, 56, 62, 61, 60,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Bytes 3k+1, 3k, 3k+2, 3k+1 of the input in lane k, for the multishift. */
static const unsigned char enc_index[64] __attribute__((aligned(64))) = {
	1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
	13, 12, 14, 13, 16, 15, 17, 16, 19, 18, 20, 19, 22, 21, 23, 22,
	25, 24, 26, 25, 28, 27, 29, 28, 31, 30, 32, 31, 34, 33, 35, 34,
	37, 36, 38, 37, 40, 39, 41, 40, 43, 42, 44, 43, 46, 45, 47, 46,
};

/* 64 sextets -> 48 bytes in the low bytes of the result. */
static inline __m512i pack64(__m512i sext)
{
	__m512i m = _mm512_maddubs_epi16(sext, _mm512_set1_epi32(0x01400140));
	__m512i w = _mm512_madd_epi16(m, _mm512_set1_epi32(0x00011000));

	return _mm512_permutexvar_epi8(_mm512_load_si512((const void *)pack_index), w);
}

size_t mimeo__b64_decode_avx512(mimeo_b64_decoder *d, const unsigned char **pin,
				const unsigned char *end, unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;
	unsigned char stage[STAGE + 64] __attribute__((aligned(64)));
	const __m512i lut0 = ascii_sextet(mimeo__b64_dec_table);
	const __m512i lut1 = ascii_sextet(mimeo__b64_dec_table + 64);
	const __m512i wsval = _mm512_set1_epi8((char)0x80);
	size_t s = 0, i, nb;
	uint32_t acc;

	for (;;) {
		while (s <= STAGE - 64 && p < end) {
			/* The last, partial block is read with a masked load
			 * (no fault past the end); absent bytes count as
			 * whitespace. */
			size_t avail = (size_t)(end - p);
			__mmask64 present = avail >= 64 ? ~(__mmask64)0
							: ((__mmask64)1 << avail) - 1;
			__m512i v = avail >= 64 ? _mm512_loadu_si512((const void *)p)
						: _mm512_maskz_loadu_epi8(present, p);
			__m512i t = _mm512_permutex2var_epi8(lut0, v, lut1);
			__mmask64 high = _mm512_movepi8_mask(v);
			__mmask64 non = (_mm512_movepi8_mask(t) | high) | ~present;
			__mmask64 ws, bad, keep;

			_mm_prefetch((const char *)p + 1024, _MM_HINT_T0);

			if (non == 0) {
				_mm512_storeu_si512((void *)(stage + s), t);
				s += 64;
				p += 64;
				continue;
			}
			ws = (_mm512_cmpeq_epi8_mask(t, wsval) & ~high) | ~present;
			bad = non & ~ws;
			keep = ~non;
			if (bad == 0) {
				_mm512_storeu_si512((void *)(stage + s),
						    _mm512_maskz_compress_epi8(keep, t));
				s += (size_t)__builtin_popcountll(keep);
				p += avail >= 64 ? 64 : avail;
				continue;
			}
			/* Keep what precedes the first '=' or garbage byte. */
			keep &= ((__mmask64)1 << __builtin_ctzll(bad)) - 1;
			_mm512_storeu_si512((void *)(stage + s), _mm512_maskz_compress_epi8(keep, t));
			s += (size_t)__builtin_popcountll(keep);
			p += __builtin_ctzll(bad);
			goto stop;
		}
		nb = s & ~(size_t)63;
		/* Full 64-byte stores while at least 24 staged sextets (18
		 * more output bytes) follow: the 16 extra bytes are then
		 * rewritten by later output, within the caller's bound. */
		for (i = 0; i < nb; i += 64, o += 48) {
			__m512i r = pack64(_mm512_load_si512((const void *)(stage + i)));

			if (s - i - 64 >= 24)
				_mm512_storeu_si512((void *)o, r);
			else
				_mm512_mask_storeu_epi8(o, 0x0000FFFFFFFFFFFFull, r);
		}
		memmove(stage, stage + nb, s - nb);
		s -= nb;
		if (p >= end)
			break;
	}
stop:
	nb = s & ~(size_t)63;
	for (i = 0; i < nb; i += 64, o += 48)
		_mm512_mask_storeu_epi8(o, 0x0000FFFFFFFFFFFFull,
					pack64(_mm512_load_si512((const void *)(stage + i))));
	for (i = nb; i + 4 <= s; i += 4, o += 3) {
		acc = (uint32_t)stage[i] << 18 | (uint32_t)stage[i + 1] << 12 |
		      (uint32_t)stage[i + 2] << 6 | stage[i + 3];
		o[0] = (unsigned char)(acc >> 16);
		o[1] = (unsigned char)(acc >> 8);
		o[2] = (unsigned char)acc;
	}
	/* The last 0..3 sextets become the decoder's pending quantum. */
	acc = 0;
	d->_n = (unsigned)(s - i);
	for (; i < s; i++)
		acc = acc << 6 | stage[i];
	d->_acc = acc;
	/* Alphabet characters after a short quantum end the '=' padding the
	 * scalar code still expects (whitespace alone does not). */
	if (o != out || s > 0)
		d->_pad = 0;
	*pin = p;
	return (size_t)(o - out);
}

/* 48 bytes from v's low 48 bytes -> 64 characters. */
static inline __m512i encode48(__m512i v, __m512i alphabet)
{
	__m512i g = _mm512_permutexvar_epi8(_mm512_load_si512((const void *)enc_index), v);
	/* Per 64-bit lane, bit offsets 10, 4, 22, 16 (and +32) hold the four
	 * sextets of each group in output order. */
	__m512i idx = _mm512_multishift_epi64_epi8(_mm512_set1_epi64(0x3036242a1016040aLL), g);

	return _mm512_permutexvar_epi8(idx, alphabet);
}

/* Large outputs do not stay in cache anyway: lines are assembled in an L1
 * staging buffer and copied out with non-temporal stores, which saves the
 * read-for-ownership of every output cache line (a third of the memory
 * traffic of encoding). */
#define NT_THRESHOLD (256u << 10)
#define NT_STAGE 4096

static unsigned char *nt_copy(unsigned char *dst, const unsigned char *src, size_t n)
{
	size_t head = (64 - ((uintptr_t)dst & 63)) & 63;

	if (head > n)
		head = n;
	memcpy(dst, src, head);
	dst += head;
	src += head;
	n -= head;
	for (; n >= 64; n -= 64, dst += 64, src += 64)
		_mm512_stream_si512((void *)dst, _mm512_loadu_si512((const void *)src));
	memcpy(dst, src, n);
	return dst + n;
}

/* One 76-character line of 57 bytes at o (writes 80 bytes). */
static inline void encode_line(const unsigned char *p, unsigned char *o, __m512i alphabet)
{
	__m512i tail;

	_mm512_storeu_si512((void *)o, encode48(_mm512_loadu_si512((const void *)p), alphabet));
	tail = encode48(_mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)(p + 48))),
			alphabet);
	_mm_storeu_si128((__m128i *)(o + 64), _mm512_castsi512_si128(tail));
}

size_t mimeo__b64_encode_avx512(mimeo_b64_encoder *e, const unsigned char **pin,
				const unsigned char *end, unsigned char *out)
{
	const unsigned char *p = *pin;
	unsigned char *o = out;
	const __m512i alphabet = _mm512_loadu_si512((const void *)mimeo__b64_alphabet);

	if (e->_flags & MIMEO_B64_NOWRAP) {
		while (end - p >= 64) {
			_mm512_storeu_si512((void *)o,
					    encode48(_mm512_loadu_si512((const void *)p), alphabet));
			p += 48;
			o += 64;
		}
		*pin = p;
		return (size_t)(o - out);
	}
	/* The caller has finished the current line (e->_col is 0 or 76). */
	/* Whole lines: 57 bytes -> 64 + 12 characters.  The second store
	 * writes 16 bytes of which 12 count; the 4 extra are rewritten by the
	 * next line break (121+ input bytes remain, so they are within the
	 * caller's bound). */
	if (end - p >= NT_THRESHOLD) {
		unsigned char stage[NT_STAGE + 128] __attribute__((aligned(64)));

		while (end - p >= 121) {
			size_t s = 0;

			while (s <= NT_STAGE - 80 && end - p >= 121) {
				_mm_prefetch((const char *)p + 2048, _MM_HINT_T0);
				if (e->_col == 76) {
					if (e->_flags & MIMEO_B64_CRLF)
						stage[s++] = '\r';
					stage[s++] = '\n';
				}
				encode_line(p, stage + s, alphabet);
				p += 57;
				s += 76;
				e->_col = 76;
			}
			o = nt_copy(o, stage, s);
		}
		/* Order the streaming stores before anything that follows. */
		_mm_sfence();
	}
	while (end - p >= 121) {
		_mm_prefetch((const char *)p + 1024, _MM_HINT_T0);
		if (e->_col == 76) {
			if (e->_flags & MIMEO_B64_CRLF)
				*o++ = '\r';
			*o++ = '\n';
		}
		encode_line(p, o, alphabet);
		p += 57;
		o += 76;
		e->_col = 76;
	}
	*pin = p;
	return (size_t)(o - out);
}
