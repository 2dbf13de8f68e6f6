/*
 * labels.c - charset labels (WHATWG Encoding Standard): the table of
 * encodings and their labels, lookup by label, canonical names.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

struct label {
	const char *label;
	unsigned char enc;
};

/* Encodings (index order = enum enc_id). */
const struct encoding mimeo__charset_encodings[] = {
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

_Static_assert(sizeof(mimeo__charset_encodings) / sizeof(mimeo__charset_encodings[0]) ==
	       MIMEO__ENC_COUNT, "MIMEO__ENC_COUNT in charset-impl.h matches the table");

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

#define N_LABELS (sizeof(labels) / sizeof(labels[0]))

/* Index of windows-1252: the fallback for undeclared 8-bit text. */
int mimeo__charset_enc_cp1252(void)
{
	static const char name[] = "windows-1252";
	return mimeo__charset_lookup(name, sizeof(name) - 1);
}

static int is_label_ws(unsigned char c)
{
	/* WHATWG "get an encoding" strips ASCII whitespace. */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int mimeo__charset_lookup(const char *label, size_t len)
{
	char key[MIMEO__LABEL_MAX + 1];
	size_t i, lo = 0, hi = N_LABELS;

	if (!label)
		return MIMEO__ENC_UNKNOWN;
	while (len && is_label_ws((unsigned char)label[0])) {
		label++;
		len--;
	}
	while (len && is_label_ws((unsigned char)label[len - 1]))
		len--;
	if (len == 0 || len > MIMEO__LABEL_MAX)
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
	if (enc < 0 || (size_t)enc >= MIMEO__ENC_COUNT)
		return NULL;
	return mimeo__charset_encodings[enc].name;
}

const char *mimeo_charset_canonical(const char *label, size_t len)
{
	return mimeo__charset_name(mimeo__charset_lookup(label, len));
}

int mimeo__charset_ascii_based(int enc)
{
	const char *name;

	if (enc < 0 || (size_t)enc >= MIMEO__ENC_COUNT)
		return 0;
	name = mimeo__charset_encodings[enc].name;
	switch (mimeo__charset_encodings[enc].kind) {
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
