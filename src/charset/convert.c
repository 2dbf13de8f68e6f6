/*
 * charset.c - charset labels (WHATWG Encoding Standard) and conversion to
 * UTF-8: fast paths for ASCII, UTF-8 and single-byte charsets, cached iconv
 * converters for the rest, U+FFFD for invalid sequences.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-priv.h"
#include "codec-priv.h"   /* mimeo__isa_resolve(), MIMEO_HAVE_AVX2 */

#include <errno.h>
#include <iconv.h>

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
	ENC_UTF7,  /* UTF-7: own decoder, see utf7_step() */
	ENC_HZ     /* HZ: transcoded to EUC-CN, see hz_step() */
};

struct encoding {
	const char *name;  /* canonical (WHATWG) name */
	const char *iconv; /* iconv names to try, ':'-separated */
	unsigned char kind;
};

struct label {
	const char *label;
	unsigned char enc;
};

/* Encodings (index order = enum enc_id). */
static const struct encoding encodings[] = {
	{ "utf-8", "", ENC_UTF8 },
	{ "ibm866", "IBM866", ENC_SB },
	{ "iso-8859-2", "ISO-8859-2", ENC_SB },
	{ "iso-8859-3", "ISO-8859-3", ENC_SB },
	{ "iso-8859-4", "ISO-8859-4", ENC_SB },
	{ "iso-8859-5", "ISO-8859-5", ENC_SB },
	{ "iso-8859-6", "ISO-8859-6", ENC_SB },
	{ "iso-8859-7", "ISO-8859-7", ENC_SB },
	{ "iso-8859-8", "ISO-8859-8", ENC_SB },
	{ "iso-8859-8-i", "ISO-8859-8", ENC_SB },
	{ "iso-8859-10", "ISO-8859-10", ENC_SB },
	{ "iso-8859-13", "ISO-8859-13", ENC_SB },
	{ "iso-8859-14", "ISO-8859-14", ENC_SB },
	{ "iso-8859-15", "ISO-8859-15", ENC_SB },
	{ "iso-8859-16", "ISO-8859-16", ENC_SB },
	{ "koi8-r", "KOI8-R", ENC_SB },
	{ "koi8-u", "KOI8-RU:KOI8-U", ENC_SB },
	{ "macintosh", "MACINTOSH", ENC_SB },
	{ "windows-874", "WINDOWS-874:CP874", ENC_SB },
	{ "windows-1250", "CP1250", ENC_SBW },
	{ "windows-1251", "CP1251", ENC_SBW },
	{ "windows-1252", "CP1252", ENC_SBW },
	{ "windows-1253", "CP1253", ENC_SBW },
	{ "windows-1254", "CP1254", ENC_SBW },
	{ "windows-1255", "CP1255", ENC_SBW },
	{ "windows-1256", "CP1256", ENC_SBW },
	{ "windows-1257", "CP1257", ENC_SBW },
	{ "windows-1258", "CP1258", ENC_SBW },
	{ "x-mac-cyrillic", "MAC-CYRILLIC:MACCYRILLIC", ENC_SB },
	{ "gbk", "GB18030", ENC_MB },
	{ "gb18030", "GB18030", ENC_MB },
	{ "big5", "BIG5-HKSCS:BIG5", ENC_MB },
	{ "euc-jp", "EUC-JP-MS:EUC-JP", ENC_MB },
	{ "iso-2022-jp", "ISO-2022-JP-3:ISO-2022-JP-2:ISO-2022-JP", ENC_JIS },
	{ "shift_jis", "CP932:WINDOWS-31J:SHIFT_JIS", ENC_MB },
	{ "euc-kr", "CP949:UHC:EUC-KR", ENC_MB },
	{ "replacement", "", ENC_REPL },
	{ "utf-16be", "UTF-16BE", ENC_MBX },
	{ "utf-16le", "UTF-16LE", ENC_MBX },
	{ "x-user-defined", "", ENC_XUD },
	{ "utf-7", "UTF-7", ENC_UTF7 },
	{ "iso-2022-kr", "ISO-2022-KR", ENC_MBX },
	{ "iso-2022-cn", "ISO-2022-CN", ENC_MBX },
	{ "iso-2022-cn-ext", "ISO-2022-CN-EXT", ENC_MBX },
	{ "ibm437", "IBM437", ENC_SB },
	{ "ibm850", "IBM850", ENC_SB },
	{ "utf-32le", "UTF-32LE", ENC_MBX },
	{ "utf-32be", "UTF-32BE", ENC_MBX },
	{ "hz-gb-2312", "", ENC_HZ },
};

/* Labels sorted by strcmp() for binary search (a test checks the order). */
static const struct label labels[] = {
	{ "437", 44 },
	{ "850", 45 },
	{ "866", 1 },
	{ "ansi_x3.4-1968", 21 },
	{ "arabic", 6 },
	{ "ascii", 21 },
	{ "asmo-708", 6 },
	{ "big5", 31 },
	{ "big5-hkscs", 31 },
	{ "chinese", 29 },
	{ "cn-big5", 31 },
	{ "cp1250", 19 },
	{ "cp1251", 20 },
	{ "cp1252", 21 },
	{ "cp1253", 22 },
	{ "cp1254", 23 },
	{ "cp1255", 24 },
	{ "cp1256", 25 },
	{ "cp1257", 26 },
	{ "cp1258", 27 },
	{ "cp437", 44 },
	{ "cp819", 21 },
	{ "cp850", 45 },
	{ "cp866", 1 },
	{ "csbig5", 31 },
	{ "cseuckr", 35 },
	{ "cseucpkdfmtjapanese", 32 },
	{ "csgb2312", 29 },
	{ "csibm866", 1 },
	{ "csiso2022cn", 42 },
	{ "csiso2022jp", 33 },
	{ "csiso2022kr", 41 },
	{ "csiso58gb231280", 29 },
	{ "csiso88596e", 6 },
	{ "csiso88596i", 6 },
	{ "csiso88598e", 8 },
	{ "csiso88598i", 9 },
	{ "csisolatin1", 21 },
	{ "csisolatin2", 2 },
	{ "csisolatin3", 3 },
	{ "csisolatin4", 4 },
	{ "csisolatin5", 23 },
	{ "csisolatin6", 10 },
	{ "csisolatin9", 13 },
	{ "csisolatinarabic", 6 },
	{ "csisolatincyrillic", 5 },
	{ "csisolatingreek", 7 },
	{ "csisolatinhebrew", 8 },
	{ "cskoi8r", 15 },
	{ "csksc56011987", 35 },
	{ "csmacintosh", 17 },
	{ "cspc850multilingual", 45 },
	{ "cspc8codepage437", 44 },
	{ "csshiftjis", 34 },
	{ "csunicode", 38 },
	{ "csunicode11utf7", 40 },
	{ "cyrillic", 5 },
	{ "dos-874", 18 },
	{ "ecma-114", 6 },
	{ "ecma-118", 7 },
	{ "elot_928", 7 },
	{ "euc-jp", 32 },
	{ "euc-kr", 35 },
	{ "gb18030", 30 },
	{ "gb2312", 29 },
	{ "gb_2312", 29 },
	{ "gb_2312-80", 29 },
	{ "gbk", 29 },
	{ "greek", 7 },
	{ "greek8", 7 },
	{ "hebrew", 8 },
	{ "hz", 48 },
	{ "hz-gb-2312", 48 },
	{ "ibm437", 44 },
	{ "ibm819", 21 },
	{ "ibm850", 45 },
	{ "ibm866", 1 },
	{ "iso-10646-ucs-2", 38 },
	{ "iso-2022-cn", 42 },
	{ "iso-2022-cn-ext", 43 },
	{ "iso-2022-jp", 33 },
	{ "iso-2022-kr", 41 },
	{ "iso-8859-1", 21 },
	{ "iso-8859-10", 10 },
	{ "iso-8859-11", 18 },
	{ "iso-8859-13", 11 },
	{ "iso-8859-14", 12 },
	{ "iso-8859-15", 13 },
	{ "iso-8859-16", 14 },
	{ "iso-8859-2", 2 },
	{ "iso-8859-3", 3 },
	{ "iso-8859-4", 4 },
	{ "iso-8859-5", 5 },
	{ "iso-8859-6", 6 },
	{ "iso-8859-6-e", 6 },
	{ "iso-8859-6-i", 6 },
	{ "iso-8859-7", 7 },
	{ "iso-8859-8", 8 },
	{ "iso-8859-8-e", 8 },
	{ "iso-8859-8-i", 9 },
	{ "iso-8859-9", 23 },
	{ "iso-ir-100", 21 },
	{ "iso-ir-101", 2 },
	{ "iso-ir-109", 3 },
	{ "iso-ir-110", 4 },
	{ "iso-ir-126", 7 },
	{ "iso-ir-127", 6 },
	{ "iso-ir-138", 8 },
	{ "iso-ir-144", 5 },
	{ "iso-ir-148", 23 },
	{ "iso-ir-149", 35 },
	{ "iso-ir-157", 10 },
	{ "iso-ir-58", 29 },
	{ "iso8859-1", 21 },
	{ "iso8859-10", 10 },
	{ "iso8859-11", 18 },
	{ "iso8859-13", 11 },
	{ "iso8859-14", 12 },
	{ "iso8859-15", 13 },
	{ "iso8859-2", 2 },
	{ "iso8859-3", 3 },
	{ "iso8859-4", 4 },
	{ "iso8859-5", 5 },
	{ "iso8859-6", 6 },
	{ "iso8859-7", 7 },
	{ "iso8859-8", 8 },
	{ "iso8859-9", 23 },
	{ "iso88591", 21 },
	{ "iso885910", 10 },
	{ "iso885911", 18 },
	{ "iso885913", 11 },
	{ "iso885914", 12 },
	{ "iso885915", 13 },
	{ "iso88592", 2 },
	{ "iso88593", 3 },
	{ "iso88594", 4 },
	{ "iso88595", 5 },
	{ "iso88596", 6 },
	{ "iso88597", 7 },
	{ "iso88598", 8 },
	{ "iso88599", 23 },
	{ "iso_8859-1", 21 },
	{ "iso_8859-15", 13 },
	{ "iso_8859-1:1987", 21 },
	{ "iso_8859-2", 2 },
	{ "iso_8859-2:1987", 2 },
	{ "iso_8859-3", 3 },
	{ "iso_8859-3:1988", 3 },
	{ "iso_8859-4", 4 },
	{ "iso_8859-4:1988", 4 },
	{ "iso_8859-5", 5 },
	{ "iso_8859-5:1988", 5 },
	{ "iso_8859-6", 6 },
	{ "iso_8859-6:1987", 6 },
	{ "iso_8859-7", 7 },
	{ "iso_8859-7:1987", 7 },
	{ "iso_8859-8", 8 },
	{ "iso_8859-8:1988", 8 },
	{ "iso_8859-9", 23 },
	{ "iso_8859-9:1989", 23 },
	{ "koi", 15 },
	{ "koi8", 15 },
	{ "koi8-r", 15 },
	{ "koi8-ru", 16 },
	{ "koi8-u", 16 },
	{ "koi8_r", 15 },
	{ "korean", 35 },
	{ "ks_c_5601-1987", 35 },
	{ "ks_c_5601-1989", 35 },
	{ "ksc5601", 35 },
	{ "ksc_5601", 35 },
	{ "l1", 21 },
	{ "l2", 2 },
	{ "l3", 3 },
	{ "l4", 4 },
	{ "l5", 23 },
	{ "l6", 10 },
	{ "l9", 13 },
	{ "latin1", 21 },
	{ "latin2", 2 },
	{ "latin3", 3 },
	{ "latin4", 4 },
	{ "latin5", 23 },
	{ "latin6", 10 },
	{ "logical", 9 },
	{ "mac", 17 },
	{ "macintosh", 17 },
	{ "ms932", 34 },
	{ "ms_kanji", 34 },
	{ "replacement", 36 },
	{ "shift-jis", 34 },
	{ "shift_jis", 34 },
	{ "sjis", 34 },
	{ "sun_eu_greek", 7 },
	{ "tis-620", 18 },
	{ "ucs-2", 38 },
	{ "unicode", 38 },
	{ "unicode-1-1-utf-7", 40 },
	{ "unicode-1-1-utf-8", 0 },
	{ "unicode-2-0-utf-7", 40 },
	{ "unicode11utf8", 0 },
	{ "unicode20utf8", 0 },
	{ "unicodefeff", 38 },
	{ "unicodefffe", 37 },
	{ "us-ascii", 21 },
	{ "utf-16", 38 },
	{ "utf-16be", 37 },
	{ "utf-16le", 38 },
	{ "utf-32", 46 },
	{ "utf-32be", 47 },
	{ "utf-32le", 46 },
	{ "utf-7", 40 },
	{ "utf-8", 0 },
	{ "utf8", 0 },
	{ "visual", 8 },
	{ "windows-1250", 19 },
	{ "windows-1251", 20 },
	{ "windows-1252", 21 },
	{ "windows-1253", 22 },
	{ "windows-1254", 23 },
	{ "windows-1255", 24 },
	{ "windows-1256", 25 },
	{ "windows-1257", 26 },
	{ "windows-1258", 27 },
	{ "windows-31j", 34 },
	{ "windows-874", 18 },
	{ "windows-949", 35 },
	{ "x-cp1250", 19 },
	{ "x-cp1251", 20 },
	{ "x-cp1252", 21 },
	{ "x-cp1253", 22 },
	{ "x-cp1254", 23 },
	{ "x-cp1255", 24 },
	{ "x-cp1256", 25 },
	{ "x-cp1257", 26 },
	{ "x-cp1258", 27 },
	{ "x-euc-jp", 32 },
	{ "x-gbk", 29 },
	{ "x-mac-cyrillic", 28 },
	{ "x-mac-roman", 17 },
	{ "x-mac-ukrainian", 28 },
	{ "x-sjis", 34 },
	{ "x-unicode-2-0-utf-7", 40 },
	{ "x-unicode20utf8", 0 },
	{ "x-user-defined", 39 },
	{ "x-x-big5", 31 },
};

#define N_ENC (sizeof(encodings) / sizeof(encodings[0]))
#define N_LABELS (sizeof(labels) / sizeof(labels[0]))
#define MAX_LABEL 32

/* Index of windows-1252: the fallback for undeclared 8-bit text. */
static int enc_cp1252(void)
{
	static const char name[] = "windows-1252";
	return mimeo__charset_lookup(name, sizeof(name) - 1);
}

/* One cached converter per encoding. */
struct slot {
	iconv_t cd;          /* (iconv_t)-1 until opened */
	signed char state;   /* 0 = not tried, 1 = open, -1 = no converter */
	unsigned char busy;  /* lent to a mimeo_charset_conv */
	unsigned char (*sb)[4]; /* single-byte table for 0x80-0xFF: [0] = length
				   (| 0x80 when the byte is invalid), [1..3] UTF-8 */
};

/* Recently seen labels, byte for byte (most mail repeats one or two). */
#define MRU_N 8
struct mru {
	unsigned char len;   /* 0 = empty */
	signed char enc;
	char raw[MAX_LABEL];
};

struct mimeo_charset_cache {
	const mimeo_allocator *alloc;
	int cp1252;          /* index of windows-1252, looked up once */
	struct mru mru[MRU_N];
	unsigned mru_next;
	unsigned long opens;     /* iconv_open calls made for this cache */
	struct slot slot[N_ENC];
	mimeo_buf scratch[MIMEO__SCRATCH_N];
};

static const unsigned char fffd[3] = { 0xEF, 0xBF, 0xBD };

/* ------------------------------------------------------------------ */
/* labels                                                              */
/* ------------------------------------------------------------------ */

static int is_label_ws(unsigned char c)
{
	/* WHATWG "get an encoding" strips ASCII whitespace. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int mimeo__charset_lookup(const char *label, size_t len)
{
	char key[MAX_LABEL + 1];
	size_t i, lo = 0, hi = N_LABELS;

	if (!label)
		return MIMEO__ENC_UNKNOWN;
	while (len && is_label_ws((unsigned char)label[0])) {
		label++;
		len--;
	}
	while (len && is_label_ws((unsigned char)label[len - 1]))
		len--;
	if (len == 0 || len > MAX_LABEL)
		return MIMEO__ENC_UNKNOWN;
	for (i = 0; i < len; i++)
		key[i] = (char)mimeo__lower((unsigned char)label[i]);
	key[len] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, labels[mid].label);

		if (c == 0)
			return labels[mid].enc;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return MIMEO__ENC_UNKNOWN;
}

const char *mimeo__charset_name(int enc)
{
	if (enc < 0 || (size_t)enc >= N_ENC)
		return NULL;
	return encodings[enc].name;
}

const char *mimeo_charset_canonical(const char *label, size_t len)
{
	return mimeo__charset_name(mimeo__charset_lookup(label, len));
}

int mimeo__charset_ascii_based(int enc)
{
	const char *name;

	if (enc < 0 || (size_t)enc >= N_ENC)
		return 0;
	name = encodings[enc].name;
	switch (encodings[enc].kind) {
	case ENC_UTF7:
	case ENC_HZ:
	case ENC_REPL:
		return 0;
	case ENC_MBX:
		return strncmp(name, "utf-16", 6) && strncmp(name, "utf-32", 6);
	default:
		return 1;
	}
}

/* For the tests: the label table is sorted (binary search needs it). */
int mimeo__charset_table_check(void)
{
	size_t i;

	for (i = 1; i < N_LABELS; i++)
		if (strcmp(labels[i - 1].label, labels[i].label) >= 0)
			return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* cache                                                               */
/* ------------------------------------------------------------------ */

int mimeo_charset_cache_new(mimeo_charset_cache **out, const mimeo_allocator *alloc)
{
	mimeo_charset_cache *cc;
	size_t i;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	cc = mimeo__calloc(alloc, 1, sizeof(*cc));
	if (!cc)
		return MIMEO_ENOMEM;
	cc->alloc = alloc;
	cc->cp1252 = enc_cp1252();
	for (i = 0; i < N_ENC; i++)
		cc->slot[i].cd = (iconv_t)-1;
	for (i = 0; i < MIMEO__SCRATCH_N; i++)
		mimeo_buf_init(&cc->scratch[i], alloc);
	*out = cc;
	return MIMEO_OK;
}

void mimeo_charset_cache_free(mimeo_charset_cache *cc)
{
	size_t i;

	if (!cc)
		return;
	for (i = 0; i < N_ENC; i++) {
		if (cc->slot[i].state == 1)
			iconv_close(cc->slot[i].cd);
		mimeo__free(cc->alloc, cc->slot[i].sb);
	}
	for (i = 0; i < MIMEO__SCRATCH_N; i++)
		mimeo_buf_dispose(&cc->scratch[i]);
	mimeo__free(cc->alloc, cc);
}

mimeo_buf *mimeo__charset_scratch(mimeo_charset_cache *cc, int i)
{
	return &cc->scratch[i];
}

int mimeo__charset_lookup_cc(mimeo_charset_cache *cc, const char *label, size_t len)
{
	struct mru *m;
	size_t i;
	int enc;

	if (len == 0 || len > MAX_LABEL)
		return mimeo__charset_lookup(label, len);
	for (i = 0; i < MRU_N; i++) {
		m = &cc->mru[i];
		if (m->len == len && !memcmp(m->raw, label, len))
			return m->enc;
	}
	enc = mimeo__charset_lookup(label, len);
	m = &cc->mru[cc->mru_next++ % MRU_N];
	m->len = (unsigned char)len;
	m->enc = (signed char)enc;
	memcpy(m->raw, label, len);
	return enc;
}

unsigned long mimeo__charset_opens(const mimeo_charset_cache *cc)
{
	return cc->opens;
}

int mimeo__charset_cp1252(const mimeo_charset_cache *cc)
{
	return cc->cp1252;
}

const mimeo_allocator *mimeo__charset_alloc(const mimeo_charset_cache *cc)
{
	return cc->alloc;
}

/* Open an iconv descriptor from encoding `enc` to UTF-8, trying each of
 * its iconv names.  (iconv_t)-1 when none exists. */
static iconv_t open_iconv(int enc)
{
	const char *p = encodings[enc].iconv;
	char name[40];

	while (*p) {
		size_t n = strcspn(p, ":");

		if (n < sizeof(name)) {
			iconv_t cd;

			memcpy(name, p, n);
			name[n] = '\0';
			cd = iconv_open("UTF-8", name);
			if (cd != (iconv_t)-1)
				return cd;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return (iconv_t)-1;
}

/* The cached descriptor of `enc`, opened on first use; (iconv_t)-1 when the
 * system has no converter for it. */
static iconv_t slot_cd(mimeo_charset_cache *cc, int enc)
{
	struct slot *s = &cc->slot[enc];

	if (s->state == 0) {
		cc->opens++;
		s->cd = open_iconv(enc);
		s->state = s->cd == (iconv_t)-1 ? -1 : 1;
	}
	return s->state == 1 ? s->cd : (iconv_t)-1;
}

/* Store the UTF-8 encoding of code point `cp` (< 0x10000) in e[1..]. */
static void sb_entry(unsigned char *e, unsigned cp)
{
	if (cp < 0x80) {
		e[0] = 1;
		e[1] = (unsigned char)cp;
	} else if (cp < 0x800) {
		e[0] = 2;
		e[1] = (unsigned char)(0xC0 | cp >> 6);
		e[2] = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		e[0] = 3;
		e[1] = (unsigned char)(0xE0 | cp >> 12);
		e[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		e[3] = (unsigned char)(0x80 | (cp & 0x3F));
	}
}

/* Convert byte `b` alone through `cd` into table entry `e`.  Each byte is
 * flushed on its own: glibc's CP1255/CP1258 hold a base letter back to
 * combine it with a following mark, which a table must not do. */
static int sb_probe(iconv_t cd, unsigned char b, unsigned char *e)
{
	char in = (char)b, obuf[8];
	char *ip = &in, *op = obuf;
	size_t il = 1, ol = sizeof(obuf), n;

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return 0;
	n = (size_t)(op - obuf);
	if (n == 0 || n > 3)
		return 0;
	e[0] = (unsigned char)n;
	memcpy(e + 1, obuf, n);
	return 1;
}

/* The single-byte table of `enc`, built from iconv on first use.  NULL on
 * allocation failure (*nomem set) or when iconv lacks the charset. */
static unsigned char (*sb_table(mimeo_charset_cache *cc, int enc, int *nomem))[4]
{
	struct slot *s = &cc->slot[enc];
	iconv_t cd;
	unsigned b;

	if (s->sb)
		return s->sb;
	cd = slot_cd(cc, enc);
	if (cd == (iconv_t)-1)
		return NULL;
	s->sb = mimeo__malloc(cc->alloc, 128 * sizeof(*s->sb));
	if (!s->sb) {
		*nomem = 1;
		return NULL;
	}
	for (b = 0x80; b < 0x100; b++) {
		unsigned char *e = s->sb[b - 0x80];

		if (sb_probe(cd, (unsigned char)b, e))
			continue;
		if (encodings[enc].kind == ENC_SBW && b < 0xA0)
			sb_entry(e, b);
		else {
			memcpy(e + 1, fffd, 3);
			e[0] = 3 | 0x80;
		}
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	return s->sb;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* Check the sequence at s (n > 0 bytes available) under RFC 3629.
 * Returns its length when valid, 0 when valid so far but cut off by the
 * end of the buffer, or -k when invalid, k being the length of the maximal
 * subpart to replace by one U+FFFD. */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return -1;
	if (c < 0xE0) {
		need = 1;
	} else if (c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;      /* no overlongs */
		else if (c == 0xED)
			hi = 0x9F;      /* no surrogates */
	} else if (c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;      /* nothing above U+10FFFF */
	} else {
		return -1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n)
			return 0;
		if (s[i] < lo || s[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xBF;
	}
	return (int)need + 1;
}

/* Skip ASCII eight bytes at a time. */
static size_t ascii_prefix(const unsigned char *s, size_t n)
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

/* The reference validator: ASCII eight bytes at a time, the common two-
 * and three-byte sequences inline, everything else through utf8_seq(). */
static size_t utf8_prefix_scalar(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		uint64_t w;
		int k;

		if (c < 0x80) {
			if (i + 8 <= len && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080ull)))
				i += 8;
			else
				i++;
			continue;
		}
		/* Two-byte sequences (Latin, Greek, Cyrillic, Hebrew, Arabic)
		 * inline; the rest through the full check. */
		if (c >= 0xC2 && c <= 0xDF && i + 1 < len && (s[i + 1] & 0xC0) == 0x80) {
			i += 2;
			continue;
		}
		if (c >= 0xE1 && c <= 0xEC && i + 2 < len && (s[i + 1] & 0xC0) == 0x80 &&
		    (s[i + 2] & 0xC0) == 0x80) {
			i += 3;
			continue;
		}
		k = utf8_seq(s + i, len - i);
		if (k <= 0)
			return i;
		i += (size_t)k;
	}
	return len;
}

/* Below this the SIMD set-up costs more than it saves (header values). */
#define U8_SIMD_MIN 64

size_t mimeo__utf8_valid_prefix_isa(const void *in, size_t len, mimeo_isa isa)
{
	const unsigned char *s = in;
	size_t done = 0;

#if MIMEO_HAVE_AVX2
	if (len >= U8_SIMD_MIN && mimeo__isa_resolve(isa) >= MIMEO_ISA_AVX2)
		done = mimeo__utf8_blocks_avx2(s, len);
#else
	(void)isa;
#endif
	return done + utf8_prefix_scalar(s + done, len - done);
}

size_t mimeo_utf8_valid_prefix(const void *in, size_t len)
{
	if (len < U8_SIMD_MIN)
		return utf8_prefix_scalar(in, len);
	return mimeo__utf8_valid_prefix_isa(in, len, MIMEO_ISA_AUTO);
}

/* Copy the valid UTF-8 at s[*i..n) to `out` and move *i past it.  Returns
 * 1 when the input is used up; else 0 with *k = utf8_seq() of what stopped
 * it (0: cut off by the end, -len: invalid); MIMEO_ENOMEM.  *saw_8bit (if
 * given) is set when the copied text was not all ASCII. */
static int utf8_copy_valid(const unsigned char *s, size_t n, size_t *i, mimeo_buf *out,
			   int *saw_8bit, int *k)
{
	size_t ok = mimeo_utf8_valid_prefix(s + *i, n - *i);

	if (saw_8bit && ascii_prefix(s + *i, ok) != ok)
		*saw_8bit = 1;
	if (mimeo_buf_put(out, s + *i, ok))
		return MIMEO_ENOMEM;
	*i += ok;
	if (*i >= n)
		return 1;
	*k = utf8_seq(s + *i, n - *i);
	return 0;
}

/* Append s[0..n) repaired; stop before an incomplete sequence at the end
 * unless `final`.  Returns bytes consumed in *used. */
static int utf8_repair(const unsigned char *s, size_t n, int final, mimeo_buf *out,
		       unsigned *rep, size_t *used)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		int k, r = utf8_copy_valid(s, n, &i, out, NULL, &k);

		if (r < 0)
			return r;
		if (r > 0 || (k == 0 && !final))
			break;
		if ((rc = mimeo_buf_put(out, fffd, 3)))
			return rc;
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		if (k == 0) {
			*rep |= MIMEO_REPAIR_TRUNCATED;
			i = n;
		} else {
			i += (size_t)-k;
		}
	}
	*used = i;
	return MIMEO_OK;
}

int mimeo__utf8_repair(const void *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	unsigned dummy = 0;
	size_t used;

	return utf8_repair(in, len, 1, out, repairs ? repairs : &dummy, &used);
}

/* ------------------------------------------------------------------ */
/* table-driven single-byte and formula encodings                      */
/* ------------------------------------------------------------------ */

static int sb_convert(unsigned char (*t)[4], const unsigned char *s, size_t n,
		      mimeo_buf *out, unsigned *rep)
{
	size_t i = 0;
	char *o;
	int rc;

	/* Worst case three UTF-8 bytes per input byte. */
	if (n > SIZE_MAX / 3 || (rc = mimeo_buf_grow(out, n * 3)))
		return MIMEO_ENOMEM;
	o = out->ptr + out->size;
	while (i < n) {
		const unsigned char *e;
		uint64_t w, hi;

		if (s[i] < 0x80) {
			/* ASCII eight at a time: the eight bytes are stored
			 * whole and the output moves past the ASCII ones, so
			 * accented text costs no branch per byte.  The buffer
			 * has room: 3 bytes per input byte were reserved. */
			if (i + 8 <= n) {
				memcpy(&w, s + i, 8);
				memcpy(o, s + i, 8);
				hi = w & 0x8080808080808080ull;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
				hi = __builtin_bswap64(hi);
#endif
				if (!hi) {
					o += 8;
					i += 8;
					continue;
				}
				o += __builtin_ctzll(hi) >> 3;
				i += (size_t)(__builtin_ctzll(hi) >> 3);
			} else {
				*o++ = (char)s[i++];
				continue;
			}
		}
		e = t[s[i++] - 0x80];
		if (e[0] & 0x80)
			*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		memcpy(o, e + 1, 3);
		o += e[0] & 0x7F;
	}
	out->size = (size_t)(o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}

/* x-user-defined (WHATWG section 14.5): 0x80-0xFF map to U+F780-U+F7FF. */
static int xud_convert(const unsigned char *s, size_t n, mimeo_buf *out)
{
	size_t i;
	char *o;

	if (n > SIZE_MAX / 3 || mimeo_buf_grow(out, n * 3))
		return MIMEO_ENOMEM;
	o = out->ptr + out->size;
	for (i = 0; i < n; i++) {
		unsigned cp = s[i] < 0x80 ? s[i] : 0xF780u + (s[i] - 0x80u);
		unsigned char e[4];

		sb_entry(e, cp);
		memcpy(o, e + 1, e[0]);
		o += e[0];
	}
	out->size = (size_t)(o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}

/* ------------------------------------------------------------------ */
/* iconv                                                               */
/* ------------------------------------------------------------------ */

/* What a transcoder (jis_step(), hz_step()) hands to iconv. */
enum pairs {
	PAIRS_NONE,  /* ordinary input */
	PAIRS_SJIS,  /* windows-31j: lead 0x81-0x9F, 0xE0-0xFC */
	PAIRS_EUC    /* EUC-CN: lead 0xA1-0xFE */
};

/* Whether `b` starts a two-byte character of a transcoded stream. */
static int pair_lead(int pairs, unsigned char b)
{
	if (pairs == PAIRS_SJIS)
		return (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC);
	return pairs == PAIRS_EUC && b >= 0xA1 && b <= 0xFE;
}

/* Run `cd` over *in.  EILSEQ: one U+FFFD per skipped byte, the rest is
 * converted.  EINVAL (input ends inside a character): kept in *in unless
 * `final`, which replaces it with U+FFFD.  `final` also flushes the shift
 * state and resets `cd` for reuse.  `pairs`: the input was made by a
 * transcoder, where a lead byte always starts a two-byte character; an
 * unmapped pair is skipped whole, so the trail byte is never read as a
 * character of its own (that made the output depend on the split). */
static int iconv_run_x(iconv_t cd, const unsigned char **in, size_t *inleft, int final,
		       int pairs, mimeo_buf *out, unsigned *rep)
{
	int rc;

	while (*inleft) {
		size_t want = *inleft < 64 ? 64 : *inleft, r, ol;
		char *ip = (char *)(uintptr_t)*in, *op;

		if (want > SIZE_MAX / 2 || (rc = mimeo_buf_grow(out, want * 2)))
			return MIMEO_ENOMEM;
		op = out->ptr + out->size;
		ol = out->asize - out->size - 1;
		r = iconv(cd, &ip, inleft, &op, &ol);
		*in = (const unsigned char *)ip;
		out->size = (size_t)(op - out->ptr);
		out->ptr[out->size] = '\0';
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && !final)
			break;
		if ((rc = mimeo_buf_put(out, fffd, 3)))
			return rc;
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		if (errno == EINVAL) {
			*rep |= MIMEO_REPAIR_TRUNCATED;
			*in += *inleft;
			*inleft = 0;
			break;
		}
		if (errno != EILSEQ) {
			/* Should not happen; never loop forever on it. */
			*in += *inleft;
			*inleft = 0;
			break;
		}
		if (*inleft >= 2 && pair_lead(pairs, **in)) {
			(*in)++;
			(*inleft)--;
		}
		(*in)++;
		(*inleft)--;
	}
	if (final) {
		char *op;
		size_t ol;

		if (mimeo_buf_grow(out, 64))
			return MIMEO_ENOMEM;
		op = out->ptr + out->size;
		ol = out->asize - out->size - 1;
		iconv(cd, NULL, NULL, &op, &ol);
		out->size = (size_t)(op - out->ptr);
		out->ptr[out->size] = '\0';
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	return MIMEO_OK;
}

static int iconv_run(iconv_t cd, const unsigned char **in, size_t *inleft, int final,
		     mimeo_buf *out, unsigned *rep)
{
	return iconv_run_x(cd, in, inleft, final, PAIRS_NONE, out, rep);
}

/* ------------------------------------------------------------------ */
/* ISO-2022-JP                                                         */
/* ------------------------------------------------------------------ */

/*
 * glibc's ISO-2022-JP knows plain JIS X 0208 only, but Japanese mail is
 * full of the NEC row 13 and IBM characters (circled digits, "No.", "(株)")
 * that the WHATWG decoder (index jis0208) accepts.  Those are exactly the
 * windows-31j (CP932) extensions, and JIS X 0208 maps to Shift_JIS by
 * arithmetic, so the escape sequences are interpreted here (RFC 1468,
 * WHATWG section 12.2) and the characters are converted with the cached
 * CP932 converter.  Bytes that are not valid become 0xFF, which CP932
 * rejects, so iconv_run() turns each into U+FFFD.
 */
enum { JIS_ASCII, JIS_ROMAN, JIS_KATAKANA, JIS_X0208 };

struct jis {
	unsigned char mode;     /* JIS_* */
	unsigned char lead;     /* first byte of a JIS X 0208 pair, 0 if none */
	unsigned char esc[3];   /* escape sequence being read */
	unsigned char nesc;
};

static void jis_pair(unsigned char j1, unsigned char j2, unsigned char *o)
{
	o[0] = (unsigned char)((j1 + 1) / 2 + (j1 <= 0x5E ? 0x70 : 0xB0));
	o[1] = (unsigned char)(j2 + ((j1 & 1) ? (j2 < 0x60 ? 0x1F : 0x20) : 0x7E));
}

/* The mode an escape sequence selects, -1 if it is none we know, 0x100 if
 * it is still a prefix of one. */
static int jis_escape(const unsigned char *e, size_t n)
{
	static const char *seq[] = { "(B", "(J", "(I", "$@", "$B" };
	static const int mode[] = { JIS_ASCII, JIS_ROMAN, JIS_KATAKANA, JIS_X0208, JIS_X0208 };
	size_t i;

	for (i = 0; i < 5; i++) {
		if (n == 2 && e[0] == seq[i][0] && e[1] == seq[i][1])
			return mode[i];
		if (n == 1 && e[0] == seq[i][0])
			return 0x100;
	}
	return -1;
}

/* Transcode to windows-31j bytes in `o` (room for 2 bytes per input byte
 * plus 4).  `final` flushes an incomplete escape or pair as invalid. */
static size_t jis_step(struct jis *st, const unsigned char *s, size_t n, int final,
		       unsigned char *o)
{
	unsigned char *p = o;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b = s[i];

		if (st->nesc) {
			int m;

			st->esc[st->nesc - 1] = b;
			m = jis_escape(st->esc, st->nesc);
			if (m == 0x100) {
				st->nesc++;
				continue;
			}
			if (m >= 0) {
				st->mode = (unsigned char)m;
				st->lead = 0;
				st->nesc = 0;
				continue;
			}
			/* Not an escape we know: the ESC is invalid, the bytes
			 * after it (at most two, maybe from an earlier step)
			 * are read again in the current mode. */
			{
				unsigned char again[2];
				size_t k = st->nesc;

				memcpy(again, st->esc, k);
				st->nesc = 0;
				*p++ = 0xFF;
				p += jis_step(st, again, k, 0, p);
			}
			continue;
		}
		if (b == 0x1B) {
			if (st->lead)
				*p++ = 0xFF;
			st->lead = 0;
			st->nesc = 1;
			continue;
		}
		if (b == '\n' || b == '\r') {
			if (st->lead)
				*p++ = 0xFF;
			st->lead = 0;
			*p++ = b;
			continue;
		}
		switch (st->mode) {
		case JIS_ASCII:
		case JIS_ROMAN:   /* JIS-Roman yen/overline read as ASCII */
			*p++ = (b < 0x80 && b != 0x0E && b != 0x0F) ? b : 0xFF;
			break;
		case JIS_KATAKANA:
			*p++ = (b >= 0x21 && b <= 0x5F) ? (unsigned char)(b + 0x80) : 0xFF;
			break;
		default:
			if (b < 0x21 || b > 0x7E) {
				*p++ = 0xFF;
				st->lead = 0;
			} else if (!st->lead) {
				st->lead = b;
			} else {
				jis_pair(st->lead, b, p);
				p += 2;
				st->lead = 0;
			}
			break;
		}
	}
	if (final) {
		if (st->lead || st->nesc)
			*p++ = 0xFF;
		memset(st, 0, sizeof(*st));
	}
	return (size_t)(p - o);
}

/* ------------------------------------------------------------------ */
/* HZ (RFC 1843)                                                       */
/* ------------------------------------------------------------------ */

/*
 * glibc has no HZ converter.  HZ is GB2312 with the high bits cleared
 * between "~{" and "~}", so the escapes are interpreted here and each pair
 * becomes EUC-CN (high bits set) for the cached GBK converter, as is done
 * for ISO-2022-JP above.  Rules (RFC 1843 section 2, lenient where that
 * cannot change the meaning of valid HZ):
 *   "~~" is '~', "~{" enters and "~}" leaves GB mode (either in either
 *   mode: a no-op switch is harmless), "~" LF and "~" CR LF are line
 *   continuations (removed; mail bodies often have CRLF);
 *   in GB mode a byte 0x21-0x7D starts a pair and any 0x21-0x7E ends it
 *   ('~' is a valid trail byte, RFC 1843 section 3: it is an escape only
 *   where a pair could start); other ASCII bytes pass unchanged;
 *   any other '~' sequence, a byte >= 0x80, and a pair cut by a non-graphic
 *   byte or the end of input are each one U+FFFD (the end also sets
 *   MIMEO_REPAIR_TRUNCATED); decoding goes on with the next byte.
 */
struct hz {
	unsigned char gb;       /* in GB mode (after "~{") */
	unsigned char tilde;    /* 1 after '~', 2 after "~" CR */
	unsigned char lead;     /* first byte of a GB pair, 0 if none */
};

/* The byte after '~' (or after "~" CR): 1 when it completes an escape,
 * 0 when the escape was invalid (0xFF written) and `b` must be read anew. */
static int hz_escape(struct hz *st, unsigned char b, unsigned char **p)
{
	int after_cr = st->tilde == 2;

	st->tilde = 0;
	if (after_cr) {
		if (b == '\n')
			return 1;
		*(*p)++ = 0xFF;
		*(*p)++ = '\r';
		return 0;
	}
	switch (b) {
	case '{':
		st->gb = 1;
		return 1;
	case '}':
		st->gb = 0;
		return 1;
	case '~':
		*(*p)++ = '~';
		return 1;
	case '\n':
		return 1;
	case '\r':
		st->tilde = 2;
		return 1;
	}
	*(*p)++ = 0xFF;
	return 0;
}

/* Transcode HZ to EUC-CN in `o` (room for 2 bytes per input byte plus 4).
 * Invalid bytes become 0xFF, which GB18030 rejects, so iconv_run_x() turns
 * each into U+FFFD.  `final` flushes a cut escape or pair as invalid. */
static size_t hz_step(struct hz *st, const unsigned char *s, size_t n, int final,
		      unsigned char *o, unsigned *rep)
{
	unsigned char *p = o;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b = s[i];

		if (st->tilde && hz_escape(st, b, &p))
			continue;
		if (st->lead) {
			if (b >= 0x21 && b <= 0x7E) {
				*p++ = (unsigned char)(st->lead | 0x80);
				*p++ = (unsigned char)(b | 0x80);
				st->lead = 0;
				continue;
			}
			*p++ = 0xFF;
			st->lead = 0;
		}
		if (b == '~')
			st->tilde = 1;
		else if (b >= 0x80)
			*p++ = 0xFF;
		else if (st->gb && b >= 0x21)
			st->lead = b;
		else
			*p++ = b;
	}
	if (final) {
		if (st->lead || st->tilde) {
			*rep |= MIMEO_REPAIR_TRUNCATED;
			*p++ = 0xFF;
			if (st->tilde == 2)
				*p++ = '\r';
		}
		memset(st, 0, sizeof(*st));
	}
	return (size_t)(p - o);
}

/* ------------------------------------------------------------------ */
/* 7-bit stateful charsets read through a stateless one                */
/* ------------------------------------------------------------------ */

/* Decoder state of ISO-2022-JP or HZ. */
struct x7 {
	unsigned char kind;     /* ENC_JIS or ENC_HZ */
	struct jis jis;
	struct hz hz;
};

static void x7_init(struct x7 *st, int kind)
{
	memset(st, 0, sizeof(*st));
	st->kind = (unsigned char)kind;
}

/* Index of the encoding whose converter reads what `kind` transcodes to:
 * windows-31j for ISO-2022-JP, GBK (a superset of EUC-CN) for HZ. */
static int x7_target(int kind)
{
	if (kind == ENC_JIS)
		return mimeo__charset_lookup("shift_jis", 9);
	return mimeo__charset_lookup("gbk", 3);
}

/* Transcode and convert through `cd`.  `tmp` is scratch space. */
static int x7_convert(iconv_t cd, struct x7 *st, const unsigned char *s, size_t n, int final,
		      mimeo_buf *tmp, mimeo_buf *out, unsigned *rep)
{
	const unsigned char *p;
	unsigned char *o;
	size_t len;
	int rc, pairs = PAIRS_SJIS;

	if (n > (SIZE_MAX - 8) / 2 || (rc = mimeo_buf_grow(tmp, 2 * n + 8)))
		return MIMEO_ENOMEM;
	o = (unsigned char *)tmp->ptr;
	if (st->kind == ENC_JIS) {
		len = jis_step(&st->jis, s, n, final, o);
	} else {
		len = hz_step(&st->hz, s, n, final, o, rep);
		pairs = PAIRS_EUC;
	}
	p = o;
	/* Whole characters only: the target is stateless, so always "final". */
	return iconv_run_x(cd, &p, &len, 1, pairs, out, rep);
}

/* Whole-buffer ISO-2022-JP or HZ; -1 when this system has no converter for
 * the target charset. */
static int x7_whole(mimeo_charset_cache *cc, int kind, const unsigned char *s, size_t n,
		    mimeo_buf *out, unsigned *rep)
{
	int target = x7_target(kind), rc, own = 0;
	struct x7 st;
	mimeo_buf tmp;
	iconv_t cd;

	if (cc->slot[target].busy) {
		cd = open_iconv(target);
		own = 1;
	} else {
		cd = slot_cd(cc, target);
	}
	if (cd == (iconv_t)-1)
		return -1;
	x7_init(&st, kind);
	mimeo_buf_init(&tmp, cc->alloc);
	rc = x7_convert(cd, &st, s, n, 1, &tmp, out, rep);
	mimeo_buf_dispose(&tmp);
	if (own)
		iconv_close(cd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* UTF-7 (RFC 2152)                                                    */
/* ------------------------------------------------------------------ */

/*
 * Decoded here rather than by iconv: glibc keeps base64 bits inside the
 * iconv_t across calls, which made the result depend on how a stream was
 * split and lost bits silently at the end.  All state is in this struct.
 */
struct utf7 {
	unsigned char b64;      /* inside a "+..." base64 run */
	unsigned char first;    /* just after the '+' */
	unsigned char nbits;    /* bits held in `bits` */
	unsigned bits;
	unsigned hi;            /* pending high surrogate, 0 if none */
};


/* Append code point `cp` (or U+FFFD when `bad`) to `o`. */
static unsigned char *put_cp(unsigned char *o, unsigned cp, unsigned *rep)
{
	if (cp >= 0xD800 && cp <= 0xDFFF) {
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		cp = 0xFFFD;
	}
	if (cp < 0x80) {
		*o++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*o++ = (unsigned char)(0xC0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (unsigned char)(0xE0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (unsigned char)(0xF0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* One UTF-16 unit out of a base64 run: pair surrogates. */
static unsigned char *utf7_unit(struct utf7 *st, unsigned u, unsigned char *o, unsigned *rep)
{
	if (st->hi) {
		if (u >= 0xDC00 && u <= 0xDFFF) {
			o = put_cp(o, 0x10000 + ((st->hi - 0xD800) << 10) + (u - 0xDC00), rep);
			st->hi = 0;
			return o;
		}
		o = put_cp(o, 0xD800, rep);   /* lone high surrogate: U+FFFD */
		st->hi = 0;
	}
	if (u >= 0xD800 && u <= 0xDBFF) {
		st->hi = u;
		return o;
	}
	return put_cp(o, u, rep);
}

/* End of a base64 run: leftover bits must be fewer than six and zero. */
static unsigned char *utf7_end(struct utf7 *st, unsigned char *o, unsigned *rep)
{
	if (st->hi || st->nbits >= 6 || (st->bits & ((1u << st->nbits) - 1)))
		o = put_cp(o, 0xD800, rep);
	st->b64 = 0;
	st->hi = 0;
	st->nbits = 0;
	st->bits = 0;
	return o;
}

static int utf7_step(struct utf7 *st, const unsigned char *s, size_t n, int final, mimeo_buf *out,
		     unsigned *rep)
{
	unsigned char *o;
	size_t i;

	/* At most 4 bytes out per input byte (plus the final U+FFFD). */
	if (n > (SIZE_MAX - 8) / 4 || mimeo_buf_grow(out, 4 * n + 8))
		return MIMEO_ENOMEM;
	o = (unsigned char *)out->ptr + out->size;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		int v;

		if (st->b64) {
			v = mimeo__b64_value(c);
			if (v >= 0) {
				st->first = 0;
				st->bits = (st->bits << 6 | (unsigned)v) & 0x3FFFFF;
				st->nbits = (unsigned char)(st->nbits + 6);
				if (st->nbits >= 16) {
					st->nbits = (unsigned char)(st->nbits - 16);
					o = utf7_unit(st, (st->bits >> st->nbits) & 0xFFFF, o, rep);
				}
				continue;
			}
			if (st->first) {
				/* "+-" is '+'; '+' before anything else is ill-formed. */
				st->b64 = 0;
				st->first = 0;
				if (c == '-') {
					*o++ = '+';
					continue;
				}
				o = put_cp(o, 0xD800, rep);
			} else {
				o = utf7_end(st, o, rep);
				if (c == '-')
					continue;   /* absorbed */
			}
		}
		if (c == '+') {
			st->b64 = 1;
			st->first = 1;
		} else if (c < 0x80) {
			*o++ = c;
		} else {
			o = put_cp(o, 0xD800, rep);
		}
	}
	if (final && st->b64) {
		if (st->first || st->hi)
			*rep |= MIMEO_REPAIR_TRUNCATED;
		if (st->first)
			o = put_cp(o, 0xD800, rep);
		else
			o = utf7_end(st, o, rep);
		memset(st, 0, sizeof(*st));
	}
	out->size = (size_t)((char *)o - out->ptr);
	out->ptr[out->size] = '\0';
	return MIMEO_OK;
}

/* A byte order mark at the start of a UTF-16/32 buffer overrides the
 * declared byte order (WHATWG "decode", RFC 2781 section 3.2); a UTF-8
 * BOM is dropped.  Returns the encoding to use and the BOM length. */
static int sniff_bom(int enc, const unsigned char *s, size_t n, size_t *bom)
{
	const char *name = encodings[enc].name;

	*bom = 0;
	if (encodings[enc].kind == ENC_UTF8) {
		if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
			*bom = 3;
		return enc;
	}
	if (strncmp(name, "utf-16", 6) == 0 && n >= 2) {
		if (s[0] == 0xFF && s[1] == 0xFE) {
			*bom = 2;
			return mimeo__charset_lookup("utf-16le", 8);
		}
		if (s[0] == 0xFE && s[1] == 0xFF) {
			*bom = 2;
			return mimeo__charset_lookup("utf-16be", 8);
		}
	}
	if (strncmp(name, "utf-32", 6) == 0 && n >= 4) {
		if (!memcmp(s, "\xFF\xFE\0\0", 4)) {
			*bom = 4;
			return mimeo__charset_lookup("utf-32le", 8);
		}
		if (!memcmp(s, "\0\0\xFE\xFF", 4)) {
			*bom = 4;
			return mimeo__charset_lookup("utf-32be", 8);
		}
	}
	return enc;
}

/* BOM length the streaming converter must see before deciding. */
static size_t bom_need(int enc)
{
	if (enc < 0)
		return 0;
	if (encodings[enc].kind == ENC_UTF8)
		return 3;
	if (!strncmp(encodings[enc].name, "utf-16", 6))
		return 2;
	if (!strncmp(encodings[enc].name, "utf-32", 6))
		return 4;
	return 0;
}

/* ------------------------------------------------------------------ */
/* whole-buffer conversion                                             */
/* ------------------------------------------------------------------ */

static int guess_convert(mimeo_charset_cache *cc, unsigned flag, const unsigned char *s,
			 size_t n, mimeo_buf *out, unsigned *rep)
{
	size_t ok = mimeo_utf8_valid_prefix(s, n);
	int nomem = 0;
	unsigned char (*t)[4];

	if (ok == n) {
		if (ascii_prefix(s, n) != n)
			*rep |= flag | MIMEO_REPAIR_FALLBACK_UTF8;
		return mimeo_buf_put(out, s, n);
	}
	*rep |= flag | MIMEO_REPAIR_FALLBACK_CP1252;
	t = sb_table(cc, cc->cp1252, &nomem);
	if (t)
		return sb_convert(t, s, n, out, rep);
	if (nomem)
		return MIMEO_ENOMEM;
	/* No CP1252 converter on this system: keep what is valid. */
	return mimeo__utf8_repair(s, n, out, rep);
}

int mimeo__charset_convert(mimeo_charset_cache *cc, int enc, unsigned unknown_flag,
			   const void *in, size_t len, mimeo_buf *out, unsigned *rep)
{
	const unsigned char *s = in;
	unsigned char (*t)[4];
	size_t bom, used;
	int nomem = 0, rc;
	iconv_t cd;

	if (enc < 0)
		return guess_convert(cc, unknown_flag, s, len, out, rep);
	enc = sniff_bom(enc, s, len, &bom);
	s += bom;
	len -= bom;
	switch (encodings[enc].kind) {
	case ENC_UTF8:
		if (mimeo_utf8_valid_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		return utf8_repair(s, len, 1, out, rep, &used);
	case ENC_SB:
	case ENC_SBW:
		if (ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		t = sb_table(cc, enc, &nomem);
		if (t)
			return sb_convert(t, s, len, out, rep);
		if (nomem)
			return MIMEO_ENOMEM;
		break;
	case ENC_XUD:
		return xud_convert(s, len, out);
	case ENC_REPL:
		if (len == 0)
			return MIMEO_OK;
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		return mimeo_buf_put(out, fffd, 3);
	case ENC_UTF7: {
		struct utf7 st;

		memset(&st, 0, sizeof(st));
		return utf7_step(&st, s, len, 1, out, rep);
	}
	case ENC_JIS:
	case ENC_HZ:
		/* Without its escape byte, ASCII is itself in either charset. */
		if (!memchr(s, encodings[enc].kind == ENC_JIS ? 0x1B : '~', len) &&
		    ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		rc = x7_whole(cc, encodings[enc].kind, s, len, out, rep);
		if (rc >= 0)
			return rc;
		if (encodings[enc].kind == ENC_HZ)
			break;
		goto use_iconv;
	case ENC_MB:
		if (ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		/* fall through */
	default:
	use_iconv:
		if (cc->slot[enc].busy) {
			/* Lent to a streaming converter: use a private one. */
			cd = open_iconv(enc);
			if (cd == (iconv_t)-1)
				break;
			rc = iconv_run(cd, &s, &len, 1, out, rep);
			iconv_close(cd);
			return rc;
		}
		cd = slot_cd(cc, enc);
		if (cd == (iconv_t)-1)
			break;
		return iconv_run(cd, &s, &len, 1, out, rep);
	}
	/* No converter for a known charset: treat it as unknown. */
	return guess_convert(cc, MIMEO_REPAIR_UNKNOWN_CHARSET, s, len, out, rep);
}

static int charset_to_utf8_body(mimeo_charset_cache *cc, const char *label, size_t label_len,
			  const void *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	mimeo_charset_cache *tmp = NULL;
	unsigned dummy = 0, flag;
	int enc, rc;

	if (!in)
		len = 0;
	enc = mimeo__charset_lookup(label, label_len);
	flag = label ? MIMEO_REPAIR_UNKNOWN_CHARSET : 0;
	if (!cc) {
		if ((rc = mimeo_charset_cache_new(&tmp, out->alloc)))
			return rc;
		cc = tmp;
	}
	rc = mimeo__charset_convert(cc, enc, flag, in ? in : "", len, out,
				    repairs ? repairs : &dummy);
	mimeo_charset_cache_free(tmp);
	return rc;
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_charset_to_utf8(mimeo_charset_cache *cc, const char *label, size_t label_len,
			  const void *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	int rc = charset_to_utf8_body(cc, label, label_len, in, len, out, repairs);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

/* ------------------------------------------------------------------ */
/* streaming conversion                                                */
/* ------------------------------------------------------------------ */

enum conv_mode {
	CONV_UTF8,   /* declared UTF-8 */
	CONV_SNIFF,  /* undeclared/unknown: UTF-8 until the first invalid byte */
	CONV_SB,     /* table */
	CONV_XUD,
	CONV_REPL,
	CONV_ICONV,
	CONV_X7,     /* ISO-2022-JP through CP932 or HZ through GBK, see x7_convert() */
	CONV_UTF7
};

#define CARRY_MAX 16

struct mimeo_charset_conv {
	mimeo_charset_cache *cc;
	int enc;                 /* declared encoding or MIMEO__ENC_UNKNOWN */
	int cur;                 /* encoding in use (after BOM / fallback) */
	enum conv_mode mode;
	iconv_t cd;
	int cd_slot;             /* cache slot cd was borrowed from */
	int own_cd;              /* cd opened for this converter, not the cache's */
	struct x7 x7;            /* ISO-2022-JP or HZ decoder state */
	struct utf7 utf7;        /* UTF-7 decoder state */
	mimeo_buf tmp;           /* ISO-2022-JP / HZ transcoding space */
	unsigned unknown_flag;   /* MIMEO_REPAIR_UNKNOWN_CHARSET for unknown labels */
	unsigned repairs;
	int bom_done;            /* BOM decided for the current stream */
	int repl_done;           /* replacement: U+FFFD already emitted */
	int saw_8bit;            /* sniff mode: non-ASCII passed as UTF-8 */
	unsigned char carry[CARRY_MAX + CARRY_MAX];
	size_t ncarry;
};

static void conv_release_cd(mimeo_charset_conv *cv)
{
	if (cv->cd == (iconv_t)-1)
		return;
	if (cv->own_cd) {
		iconv_close(cv->cd);
	} else {
		iconv(cv->cd, NULL, NULL, NULL, NULL);
		cv->cc->slot[cv->cd_slot].busy = 0;
	}
	cv->cd = (iconv_t)-1;
	cv->own_cd = 0;
}

/* Borrow the cache's descriptor for `enc`, or open a private one when it
 * is lent out already.  0 when the system has no converter. */
static int conv_take_cd(mimeo_charset_conv *cv, int enc)
{
	mimeo_charset_cache *cc = cv->cc;

	if (!cc->slot[enc].busy && slot_cd(cc, enc) != (iconv_t)-1) {
		cc->slot[enc].busy = 1;
		cv->cd = cc->slot[enc].cd;
		cv->cd_slot = enc;
		return 1;
	}
	cv->cd = open_iconv(enc);
	if (cv->cd == (iconv_t)-1)
		return 0;
	cv->own_cd = 1;
	return 1;
}

/* Choose the conversion mode for encoding `enc`. */
static int conv_setup(mimeo_charset_conv *cv, int enc)
{
	mimeo_charset_cache *cc = cv->cc;
	int nomem = 0;

	conv_release_cd(cv);
	cv->cur = enc;
	if (enc < 0) {
		cv->mode = CONV_SNIFF;
		return MIMEO_OK;
	}
	switch (encodings[enc].kind) {
	case ENC_UTF8:
		cv->mode = CONV_UTF8;
		return MIMEO_OK;
	case ENC_SB:
	case ENC_SBW:
		cv->mode = CONV_SB;
		if (sb_table(cc, enc, &nomem))
			return MIMEO_OK;
		if (nomem)
			return MIMEO_ENOMEM;
		break;
	case ENC_XUD:
		cv->mode = CONV_XUD;
		return MIMEO_OK;
	case ENC_REPL:
		cv->mode = CONV_REPL;
		return MIMEO_OK;
	case ENC_UTF7:
		memset(&cv->utf7, 0, sizeof(cv->utf7));
		cv->mode = CONV_UTF7;
		return MIMEO_OK;
	case ENC_HZ:
	case ENC_JIS:
		x7_init(&cv->x7, encodings[enc].kind);
		if (conv_take_cd(cv, x7_target(encodings[enc].kind))) {
			cv->mode = CONV_X7;
			return MIMEO_OK;
		}
		if (encodings[enc].kind == ENC_HZ)
			break;
		/* No CP932 here: plain iconv ISO-2022-JP. */
		/* fall through */
	default:
		cv->mode = CONV_ICONV;
		if (conv_take_cd(cv, enc))
			return MIMEO_OK;
		break;
	}
	/* Known label, no converter on this system. */
	cv->unknown_flag = MIMEO_REPAIR_UNKNOWN_CHARSET;
	cv->cur = MIMEO__ENC_UNKNOWN;
	cv->mode = CONV_SNIFF;
	return MIMEO_OK;
}

int mimeo_charset_conv_new(mimeo_charset_cache *cc, const char *label, size_t label_len,
			   mimeo_charset_conv **out)
{
	mimeo_charset_conv *cv;
	int rc;

	if (!cc || !out)
		return MIMEO_EINVAL;
	*out = NULL;
	cv = mimeo__calloc(cc->alloc, 1, sizeof(*cv));
	if (!cv)
		return MIMEO_ENOMEM;
	cv->cc = cc;
	cv->cd = (iconv_t)-1;
	mimeo_buf_init(&cv->tmp, cc->alloc);
	cv->enc = mimeo__charset_lookup(label, label_len);
	cv->unknown_flag = (label && cv->enc < 0) ? MIMEO_REPAIR_UNKNOWN_CHARSET : 0;
	if ((rc = conv_setup(cv, cv->enc))) {
		conv_release_cd(cv);
		mimeo__free(cc->alloc, cv);
		return rc;
	}
	*out = cv;
	return MIMEO_OK;
}

/* Sniff mode: pass valid UTF-8; at the first invalid sequence switch to
 * windows-1252 for the rest of the stream. */
static int sniff_step(mimeo_charset_conv *cv, const unsigned char *s, size_t n, int final,
		      mimeo_buf *out, size_t *used)
{
	size_t i = 0;
	int k, rc;

	while (i < n) {
		int r = utf8_copy_valid(s, n, &i, out, &cv->saw_8bit, &k);

		if (r < 0)
			return r;
		if (r > 0 || (k == 0 && !final))
			break;
		cv->repairs |= cv->unknown_flag | MIMEO_REPAIR_FALLBACK_CP1252;
		if ((rc = conv_setup(cv, enc_cp1252())))
			return rc;
		if (cv->mode != CONV_SB)   /* no CP1252 here: repair instead */
			return utf8_repair(s + i, n - i, 1, out, &cv->repairs, used) ?
				MIMEO_ENOMEM : (*used += i, MIMEO_OK);
		rc = sb_convert(cv->cc->slot[cv->cur].sb, s + i, n - i, out, &cv->repairs);
		i = n;
		if (rc)
			return rc;
	}
	*used = i;
	return MIMEO_OK;
}

/* Convert s[0..n) in the current mode; *used = bytes consumed (the rest is
 * an incomplete character to carry). */
static int conv_run(mimeo_charset_conv *cv, const unsigned char *s, size_t n, int final,
		    mimeo_buf *out, size_t *used)
{
	const unsigned char *p = s;
	size_t left = n;
	int rc;

	*used = n;
	switch (cv->mode) {
	case CONV_UTF8:
		return utf8_repair(s, n, final, out, &cv->repairs, used);
	case CONV_SNIFF:
		return sniff_step(cv, s, n, final, out, used);
	case CONV_SB:
		return sb_convert(cv->cc->slot[cv->cur].sb, s, n, out, &cv->repairs);
	case CONV_XUD:
		return xud_convert(s, n, out);
	case CONV_REPL:
		if (n == 0 || cv->repl_done)
			return MIMEO_OK;
		cv->repl_done = 1;
		cv->repairs |= MIMEO_REPAIR_INVALID_SEQUENCE;
		return mimeo_buf_put(out, fffd, 3);
	case CONV_ICONV:
		rc = iconv_run(cv->cd, &p, &left, final, out, &cv->repairs);
		*used = n - left;
		return rc;
	case CONV_X7:
		return x7_convert(cv->cd, &cv->x7, s, n, final, &cv->tmp, out, &cv->repairs);
	case CONV_UTF7:
		return utf7_step(&cv->utf7, s, n, final, out, &cv->repairs);
	}
	return MIMEO_OK;
}

/* Decide the byte order mark once enough bytes are held in the carry. */
static int conv_bom(mimeo_charset_conv *cv, int final)
{
	size_t need, bom;
	int enc;

	if (cv->cur < 0) {
		cv->bom_done = 1;
		return MIMEO_OK;
	}
	need = bom_need(cv->cur);
	if (cv->ncarry < need && !final)
		return 0;
	cv->bom_done = 1;
	enc = sniff_bom(cv->cur, cv->carry, cv->ncarry, &bom);
	memmove(cv->carry, cv->carry + bom, cv->ncarry - bom);
	cv->ncarry -= bom;
	if (enc != cv->cur)
		return conv_setup(cv, enc);
	return MIMEO_OK;
}

/* Feed held bytes plus the head of the new input through the converter
 * until the held bytes are used up.  *took = bytes taken from `in`. */
static int conv_drain_carry(mimeo_charset_conv *cv, const unsigned char *in, size_t len,
			    int final, mimeo_buf *out, size_t *took)
{
	size_t add, used, held;
	int rc;

	*took = 0;
	while (cv->ncarry) {
		held = cv->ncarry;
		add = len - *took < CARRY_MAX ? len - *took : CARRY_MAX;
		memcpy(cv->carry + held, in + *took, add);
		if ((rc = conv_run(cv, cv->carry, held + add, final && *took + add == len,
				   out, &used)))
			return rc;
		if (used >= held) {
			*took += used - held;
			cv->ncarry = 0;
			break;
		}
		if (*took + add == len) {
			/* Everything is still one incomplete character. */
			memmove(cv->carry, cv->carry + used, held + add - used);
			cv->ncarry = held + add - used;
			*took = len;
			if (cv->ncarry > CARRY_MAX) {
				/* A converter that never completes: give up on it. */
				cv->repairs |= MIMEO_REPAIR_INVALID_SEQUENCE;
				cv->ncarry = 0;
				return mimeo_buf_put(out, fffd, 3);
			}
			return MIMEO_OK;
		}
		/* The converter consumed part of the held bytes only. */
		memmove(cv->carry, cv->carry + used, held - used);
		cv->ncarry = held - used;
		if (used == 0) {
			/* No progress with CARRY_MAX more bytes: the held lead
			 * byte is invalid. */
			cv->repairs |= MIMEO_REPAIR_INVALID_SEQUENCE;
			memmove(cv->carry, cv->carry + 1, --cv->ncarry);
			if ((rc = mimeo_buf_put(out, fffd, 3)))
				return rc;
		}
	}
	return MIMEO_OK;
}

static int conv_feed(mimeo_charset_conv *cv, const unsigned char *s, size_t n, int final,
		     mimeo_buf *out)
{
	size_t took, used;
	int rc;

	if (!cv->bom_done) {
		size_t need = bom_need(cv->cur);
		size_t add = need > cv->ncarry ? need - cv->ncarry : 0;

		if (add > n)
			add = n;
		memcpy(cv->carry + cv->ncarry, s, add);
		cv->ncarry += add;
		s += add;
		n -= add;
		if ((rc = conv_bom(cv, final || n > 0)))
			return rc;
		if (!cv->bom_done)
			return MIMEO_OK;
	}
	if ((rc = conv_drain_carry(cv, s, n, final, out, &took)))
		return rc;
	if (cv->ncarry)
		return MIMEO_OK;
	s += took;
	n -= took;
	if ((rc = conv_run(cv, s, n, final, out, &used)))
		return rc;
	if (used < n) {
		if (n - used > CARRY_MAX) {
			/* iconv refused a long tail without EILSEQ: skip a byte. */
			cv->repairs |= MIMEO_REPAIR_INVALID_SEQUENCE;
			if ((rc = mimeo_buf_put(out, fffd, 3)))
				return rc;
			return conv_feed(cv, s + used + 1, n - used - 1, final, out);
		}
		memcpy(cv->carry, s + used, n - used);
		cv->ncarry = n - used;
	}
	return MIMEO_OK;
}

static int charset_conv_step_body(mimeo_charset_conv *cv, const void *in, size_t len,
			    mimeo_buf *out)
{
	if (!len)
		return MIMEO_OK;
	return conv_feed(cv, in, len, 0, out);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_charset_conv_step(mimeo_charset_conv *cv, const void *in, size_t len,
			    mimeo_buf *out)
{
	int rc = charset_conv_step_body(cv, in, len, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

static int charset_conv_finish_body(mimeo_charset_conv *cv, mimeo_buf *out)
{
	int rc = conv_feed(cv, (const unsigned char *)"", 0, 1, out);

	if (cv->mode == CONV_SNIFF && cv->saw_8bit)
		cv->repairs |= cv->unknown_flag | MIMEO_REPAIR_FALLBACK_UTF8;
	/* Ready for the next stream in the declared charset. */
	cv->ncarry = 0;
	cv->bom_done = 0;
	cv->repl_done = 0;
	cv->saw_8bit = 0;
	if (!rc && cv->cur != cv->enc)
		rc = conv_setup(cv, cv->enc);
	return rc;
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_charset_conv_finish(mimeo_charset_conv *cv, mimeo_buf *out)
{
	int rc = charset_conv_finish_body(cv, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}

unsigned mimeo_charset_conv_repairs(const mimeo_charset_conv *cv)
{
	return cv->repairs;
}

const char *mimeo_charset_conv_charset(const mimeo_charset_conv *cv)
{
	if (cv->cur < 0)
		return "utf-8";
	return encodings[cv->cur].name;
}

void mimeo_charset_conv_free(mimeo_charset_conv *cv)
{
	if (!cv)
		return;
	conv_release_cd(cv);
	mimeo_buf_dispose(&cv->tmp);
	mimeo__free(cv->cc->alloc, cv);
}
