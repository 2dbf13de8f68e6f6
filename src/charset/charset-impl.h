/*
 * charset-impl.h - what the files of src/charset/ share among themselves:
 * the encoding table, the cache's layout, the decoders' state and the
 * helpers one file lends another.  Included by src/charset/ only; the rest of
 * the library uses charset-priv.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CHARSET_IMPL_H
#define MIMEO_CHARSET_IMPL_H

#include "charset-priv.h"

#include <iconv.h>
#include <stdint.h>
#include <string.h>

/* How an encoding is converted. */
enum enc_kind {
	ENC_UTF8,  /* own validator: valid input is copied */
	ENC_SB,    /* single-byte: 128-entry table built from iconv */
	ENC_SBW,   /* single-byte windows-125x: bytes 0x80-0x9F iconv rejects are
		      the C1 controls, as in Windows and the WHATWG indexes */
	ENC_MB,    /* iconv, ASCII-compatible: pure ASCII input skips iconv */
	ENC_MBX,   /* iconv, not ASCII-compatible (UTF-16/32, UTF-7, ISO-2022) */
	ENC_REPL,  /* WHATWG "replacement": one U+FFFD for non-empty input */
	ENC_XUD,   /* x-user-defined: 0x80-0xFF -> U+F780-U+F7FF */
	ENC_JIS,   /* ISO-2022-JP: transcoded to windows-31j, see jis_step() */
	ENC_UTF7,  /* UTF-7: own decoder, see mimeo__utf7_step() */
	ENC_HZ     /* HZ: transcoded to EUC-CN, see hz_step() */
};

struct encoding {
	const char *name;  /* canonical (WHATWG) name */
	const char *iconv; /* iconv names to try, ':'-separated */
	unsigned char kind;
};

/* The encodings (labels.c); an index into this table is an "encoding index"
 * (MIMEO__ENC_UNKNOWN aside). */
#define MIMEO__ENC_COUNT 49
extern const struct encoding mimeo__charset_encodings[MIMEO__ENC_COUNT];

/* Longest label looked up (longer ones are unknown). */
#define MIMEO__LABEL_MAX 32

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
#define MIMEO__FFFD "\xEF\xBF\xBD"

/* One cached converter per encoding. */
struct slot {
	iconv_t cd;          /* (iconv_t)-1 until opened */
	signed char state;   /* 0 = not tried, 1 = open, -1 = no converter */
	unsigned char busy;  /* lent to a mimeo_charset_conv */
	/* for whole-buffer conversions while `cd` is lent (a long-lived
	 * converter of that charset, e.g. one a scan keeps per label, would
	 * otherwise make every header or parameter in that charset open and
	 * close iconv): opened on first need, kept like `cd` */
	iconv_t spare;
	signed char spare_state; /* as state */
	unsigned char (*sb)[4]; /* single-byte table for 0x80-0xFF: [0] = length
				   (| 0x80 when the byte is invalid), [1..3] UTF-8 */
};

/* Recently seen labels, byte for byte (most mail repeats one or two). */
#define MRU_N 8
struct mru {
	unsigned char len;   /* 0 = empty */
	signed char enc;
	char raw[MIMEO__LABEL_MAX];
};

struct mimeo_charset_cache {
	const mimeo_allocator *alloc;
	int cp1252;          /* index of windows-1252, looked up once */
	struct mru mru[MRU_N];
	unsigned mru_next;
	unsigned long opens;     /* iconv_open calls made for this cache */
	struct slot slot[MIMEO__ENC_COUNT];
	mimeo_buf scratch[MIMEO__SCRATCH_N];
};

/* What a transcoder (jis_step(), hz_step()) hands to iconv. */
enum pairs {
	PAIRS_NONE,  /* ordinary input */
	PAIRS_SJIS,  /* windows-31j: lead 0x81-0x9F, 0xE0-0xFC */
	PAIRS_EUC    /* EUC-CN: lead 0xA1-0xFE */
};

/* ISO-2022-JP decoder state (iso2022.c). */
struct jis {
	unsigned char mode;     /* JIS_* */
	unsigned char lead;     /* first byte of a JIS X 0208 pair, 0 if none */
	unsigned char esc[3];   /* escape sequence being read */
	unsigned char nesc;
};

/* HZ decoder state (iso2022.c). */
struct hz {
	unsigned char gb;       /* in GB mode (after "~{") */
	unsigned char tilde;    /* 1 after '~', 2 after "~" CR */
	unsigned char lead;     /* first byte of a GB pair, 0 if none */
};

/* Decoder state of ISO-2022-JP or HZ. */
struct x7 {
	unsigned char kind;     /* ENC_JIS or ENC_HZ */
	struct jis jis;
	struct hz hz;
};

/* UTF-7 decoder state (utf7.c). */
struct utf7 {
	unsigned char b64;      /* inside a "+..." base64 run */
	unsigned char first;    /* just after the '+' */
	unsigned char nbits;    /* bits held in `bits` */
	unsigned bits;
	unsigned hi;            /* pending high surrogate, 0 if none */
};

/* labels.c: index of windows-1252, the fallback for undeclared 8-bit text. */
int mimeo__charset_enc_cp1252(void);

/* cache.c: an iconv descriptor from encoding `enc` to UTF-8, trying each of
 * its iconv names; (iconv_t)-1 when none exists.  The caller closes it. */
iconv_t mimeo__charset_open_iconv(int enc);

/* cache.c: the cache's descriptor for `enc`, opened on first use;
 * (iconv_t)-1 when the system has no converter for it. */
iconv_t mimeo__charset_slot_cd(mimeo_charset_cache *cc, int enc);
/* A descriptor for one whole-buffer conversion (the slot's, or its spare
 * while the slot's is lent to a streaming converter); (iconv_t)-1 when the
 * system has no converter. */
iconv_t mimeo__charset_whole_cd(mimeo_charset_cache *cc, int enc);

/* sbcs.c: the single-byte table of `enc` (built on first use); NULL on
 * allocation failure (*nomem set) or when iconv lacks the charset. */
unsigned char (*mimeo__sb_table(mimeo_charset_cache *cc, int enc, int *nomem))[4];

/* sbcs.c: append s[0..n) converted through table `t`. */
int mimeo__sb_convert(unsigned char (*t)[4], const unsigned char *s, size_t n,
		      mimeo_buf *out, unsigned *rep);

/* sbcs.c: append x-user-defined s[0..n) (WHATWG section 14.5). */
int mimeo__xud_convert(const unsigned char *s, size_t n, mimeo_buf *out);

/* utf8.c: length of the valid sequence at s (n > 0 bytes available), 0 when
 * cut off by the end, -k when invalid (k = the maximal subpart to replace). */
int mimeo__utf8_seq(const unsigned char *s, size_t n);

/* utf8.c: copy the valid UTF-8 at s[*i..n) to `out` and move *i past it;
 * 1 when the input is used up, else 0 with *k = mimeo__utf8_seq() of what
 * stopped it; MIMEO_ENOMEM. */
int mimeo__utf8_copy_valid(const unsigned char *s, size_t n, size_t *i, mimeo_buf *out,
			   int *saw_8bit, int *k);

/* utf8.c: append s[0..n) repaired, stopping before an incomplete sequence
 * at the end unless `final`; bytes consumed in *used. */
int mimeo__utf8_repair_step(const unsigned char *s, size_t n, int final, mimeo_buf *out,
			    unsigned *rep, size_t *used);

/* iconv.c: run `cd` over *in (see the comment there). */
int mimeo__iconv_run(iconv_t cd, const unsigned char **in, size_t *inleft, int final,
		     int pairs, mimeo_buf *out, unsigned *rep);

/* iso2022.c: ISO-2022-JP (kind ENC_JIS) or HZ (ENC_HZ). */
void mimeo__x7_init(struct x7 *st, int kind);
int mimeo__x7_target(int kind);
int mimeo__x7_convert(iconv_t cd, struct x7 *st, const unsigned char *s, size_t n, int final,
		      mimeo_buf *tmp, mimeo_buf *out, unsigned *rep);
int mimeo__x7_whole(mimeo_charset_cache *cc, int kind, const unsigned char *s, size_t n,
		    mimeo_buf *out, unsigned *rep);

/* utf7.c: decode s[0..n) appending UTF-8; `final` ends the stream. */
int mimeo__utf7_step(struct utf7 *st, const unsigned char *s, size_t n, int final,
		     mimeo_buf *out, unsigned *rep);

/* Length of the ASCII prefix of s[0..n), eight bytes at a time (inline: the
 * converters' fast paths call it on every buffer). */
static inline size_t mimeo__ascii_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i + 8 <= n) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
		i += 8;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

#endif /* MIMEO_CHARSET_IMPL_H */
