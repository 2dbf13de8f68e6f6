/*
 * test_charset.c - charset labels (WHATWG table) and conversion to UTF-8:
 * every label, one sample per charset, invalid input, fallbacks, streaming
 * splits, tables against iconv, allocation failures, big input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "charset-priv.h"
#include "mimeo.h"

#define FFFD "\xef\xbf\xbd"

/* Every label we accept and the canonical name it must give: the WHATWG
 * Encoding Standard table (section 4.2), plus the legacy mail labels
 * (utf-7, ibm437, ibm850, utf-32, iso-2022-kr/cn, hz) and WHATWG's
 * "replacement" labels that are real mail charsets decoded here. */
static const struct { const char *label, *name; } labels[] = {
	{ "437", "ibm437" },
	{ "850", "ibm850" },
	{ "866", "ibm866" },
	{ "ansi_x3.4-1968", "windows-1252" },
	{ "arabic", "iso-8859-6" },
	{ "ascii", "windows-1252" },
	{ "asmo-708", "iso-8859-6" },
	{ "big5", "big5" },
	{ "big5-hkscs", "big5" },
	{ "chinese", "gbk" },
	{ "cn-big5", "big5" },
	{ "cp1250", "windows-1250" },
	{ "cp1251", "windows-1251" },
	{ "cp1252", "windows-1252" },
	{ "cp1253", "windows-1253" },
	{ "cp1254", "windows-1254" },
	{ "cp1255", "windows-1255" },
	{ "cp1256", "windows-1256" },
	{ "cp1257", "windows-1257" },
	{ "cp1258", "windows-1258" },
	{ "cp437", "ibm437" },
	{ "cp819", "windows-1252" },
	{ "cp850", "ibm850" },
	{ "cp866", "ibm866" },
	{ "csbig5", "big5" },
	{ "cseuckr", "euc-kr" },
	{ "cseucpkdfmtjapanese", "euc-jp" },
	{ "csgb2312", "gbk" },
	{ "csibm866", "ibm866" },
	{ "csiso2022cn", "iso-2022-cn" },
	{ "csiso2022jp", "iso-2022-jp" },
	{ "csiso2022kr", "iso-2022-kr" },
	{ "csiso58gb231280", "gbk" },
	{ "csiso88596e", "iso-8859-6" },
	{ "csiso88596i", "iso-8859-6" },
	{ "csiso88598e", "iso-8859-8" },
	{ "csiso88598i", "iso-8859-8-i" },
	{ "csisolatin1", "windows-1252" },
	{ "csisolatin2", "iso-8859-2" },
	{ "csisolatin3", "iso-8859-3" },
	{ "csisolatin4", "iso-8859-4" },
	{ "csisolatin5", "windows-1254" },
	{ "csisolatin6", "iso-8859-10" },
	{ "csisolatin9", "iso-8859-15" },
	{ "csisolatinarabic", "iso-8859-6" },
	{ "csisolatincyrillic", "iso-8859-5" },
	{ "csisolatingreek", "iso-8859-7" },
	{ "csisolatinhebrew", "iso-8859-8" },
	{ "cskoi8r", "koi8-r" },
	{ "csksc56011987", "euc-kr" },
	{ "csmacintosh", "macintosh" },
	{ "cspc850multilingual", "ibm850" },
	{ "cspc8codepage437", "ibm437" },
	{ "csshiftjis", "shift_jis" },
	{ "csunicode", "utf-16le" },
	{ "csunicode11utf7", "utf-7" },
	{ "cyrillic", "iso-8859-5" },
	{ "dos-874", "windows-874" },
	{ "ecma-114", "iso-8859-6" },
	{ "ecma-118", "iso-8859-7" },
	{ "elot_928", "iso-8859-7" },
	{ "euc-jp", "euc-jp" },
	{ "euc-kr", "euc-kr" },
	{ "gb18030", "gb18030" },
	{ "gb2312", "gbk" },
	{ "gb_2312", "gbk" },
	{ "gb_2312-80", "gbk" },
	{ "gbk", "gbk" },
	{ "greek", "iso-8859-7" },
	{ "greek8", "iso-8859-7" },
	{ "hebrew", "iso-8859-8" },
	{ "hz", "hz-gb-2312" },
	{ "hz-gb-2312", "hz-gb-2312" },
	{ "ibm437", "ibm437" },
	{ "ibm819", "windows-1252" },
	{ "ibm850", "ibm850" },
	{ "ibm866", "ibm866" },
	{ "iso-10646-ucs-2", "utf-16le" },
	{ "iso-2022-cn", "iso-2022-cn" },
	{ "iso-2022-cn-ext", "iso-2022-cn-ext" },
	{ "iso-2022-jp", "iso-2022-jp" },
	{ "iso-2022-kr", "iso-2022-kr" },
	{ "iso-8859-1", "windows-1252" },
	{ "iso-8859-10", "iso-8859-10" },
	{ "iso-8859-11", "windows-874" },
	{ "iso-8859-13", "iso-8859-13" },
	{ "iso-8859-14", "iso-8859-14" },
	{ "iso-8859-15", "iso-8859-15" },
	{ "iso-8859-16", "iso-8859-16" },
	{ "iso-8859-2", "iso-8859-2" },
	{ "iso-8859-3", "iso-8859-3" },
	{ "iso-8859-4", "iso-8859-4" },
	{ "iso-8859-5", "iso-8859-5" },
	{ "iso-8859-6", "iso-8859-6" },
	{ "iso-8859-6-e", "iso-8859-6" },
	{ "iso-8859-6-i", "iso-8859-6" },
	{ "iso-8859-7", "iso-8859-7" },
	{ "iso-8859-8", "iso-8859-8" },
	{ "iso-8859-8-e", "iso-8859-8" },
	{ "iso-8859-8-i", "iso-8859-8-i" },
	{ "iso-8859-9", "windows-1254" },
	{ "iso-ir-100", "windows-1252" },
	{ "iso-ir-101", "iso-8859-2" },
	{ "iso-ir-109", "iso-8859-3" },
	{ "iso-ir-110", "iso-8859-4" },
	{ "iso-ir-126", "iso-8859-7" },
	{ "iso-ir-127", "iso-8859-6" },
	{ "iso-ir-138", "iso-8859-8" },
	{ "iso-ir-144", "iso-8859-5" },
	{ "iso-ir-148", "windows-1254" },
	{ "iso-ir-149", "euc-kr" },
	{ "iso-ir-157", "iso-8859-10" },
	{ "iso-ir-58", "gbk" },
	{ "iso8859-1", "windows-1252" },
	{ "iso8859-10", "iso-8859-10" },
	{ "iso8859-11", "windows-874" },
	{ "iso8859-13", "iso-8859-13" },
	{ "iso8859-14", "iso-8859-14" },
	{ "iso8859-15", "iso-8859-15" },
	{ "iso8859-2", "iso-8859-2" },
	{ "iso8859-3", "iso-8859-3" },
	{ "iso8859-4", "iso-8859-4" },
	{ "iso8859-5", "iso-8859-5" },
	{ "iso8859-6", "iso-8859-6" },
	{ "iso8859-7", "iso-8859-7" },
	{ "iso8859-8", "iso-8859-8" },
	{ "iso8859-9", "windows-1254" },
	{ "iso88591", "windows-1252" },
	{ "iso885910", "iso-8859-10" },
	{ "iso885911", "windows-874" },
	{ "iso885913", "iso-8859-13" },
	{ "iso885914", "iso-8859-14" },
	{ "iso885915", "iso-8859-15" },
	{ "iso88592", "iso-8859-2" },
	{ "iso88593", "iso-8859-3" },
	{ "iso88594", "iso-8859-4" },
	{ "iso88595", "iso-8859-5" },
	{ "iso88596", "iso-8859-6" },
	{ "iso88597", "iso-8859-7" },
	{ "iso88598", "iso-8859-8" },
	{ "iso88599", "windows-1254" },
	{ "iso_8859-1", "windows-1252" },
	{ "iso_8859-15", "iso-8859-15" },
	{ "iso_8859-1:1987", "windows-1252" },
	{ "iso_8859-2", "iso-8859-2" },
	{ "iso_8859-2:1987", "iso-8859-2" },
	{ "iso_8859-3", "iso-8859-3" },
	{ "iso_8859-3:1988", "iso-8859-3" },
	{ "iso_8859-4", "iso-8859-4" },
	{ "iso_8859-4:1988", "iso-8859-4" },
	{ "iso_8859-5", "iso-8859-5" },
	{ "iso_8859-5:1988", "iso-8859-5" },
	{ "iso_8859-6", "iso-8859-6" },
	{ "iso_8859-6:1987", "iso-8859-6" },
	{ "iso_8859-7", "iso-8859-7" },
	{ "iso_8859-7:1987", "iso-8859-7" },
	{ "iso_8859-8", "iso-8859-8" },
	{ "iso_8859-8:1988", "iso-8859-8" },
	{ "iso_8859-9", "windows-1254" },
	{ "iso_8859-9:1989", "windows-1254" },
	{ "koi", "koi8-r" },
	{ "koi8", "koi8-r" },
	{ "koi8-r", "koi8-r" },
	{ "koi8-ru", "koi8-u" },
	{ "koi8-u", "koi8-u" },
	{ "koi8_r", "koi8-r" },
	{ "korean", "euc-kr" },
	{ "ks_c_5601-1987", "euc-kr" },
	{ "ks_c_5601-1989", "euc-kr" },
	{ "ksc5601", "euc-kr" },
	{ "ksc_5601", "euc-kr" },
	{ "l1", "windows-1252" },
	{ "l2", "iso-8859-2" },
	{ "l3", "iso-8859-3" },
	{ "l4", "iso-8859-4" },
	{ "l5", "windows-1254" },
	{ "l6", "iso-8859-10" },
	{ "l9", "iso-8859-15" },
	{ "latin1", "windows-1252" },
	{ "latin2", "iso-8859-2" },
	{ "latin3", "iso-8859-3" },
	{ "latin4", "iso-8859-4" },
	{ "latin5", "windows-1254" },
	{ "latin6", "iso-8859-10" },
	{ "logical", "iso-8859-8-i" },
	{ "mac", "macintosh" },
	{ "macintosh", "macintosh" },
	{ "ms932", "shift_jis" },
	{ "ms_kanji", "shift_jis" },
	{ "replacement", "replacement" },
	{ "shift-jis", "shift_jis" },
	{ "shift_jis", "shift_jis" },
	{ "sjis", "shift_jis" },
	{ "sun_eu_greek", "iso-8859-7" },
	{ "tis-620", "windows-874" },
	{ "ucs-2", "utf-16le" },
	{ "unicode", "utf-16le" },
	{ "unicode-1-1-utf-7", "utf-7" },
	{ "unicode-1-1-utf-8", "utf-8" },
	{ "unicode-2-0-utf-7", "utf-7" },
	{ "unicode11utf8", "utf-8" },
	{ "unicode20utf8", "utf-8" },
	{ "unicodefeff", "utf-16le" },
	{ "unicodefffe", "utf-16be" },
	{ "us-ascii", "windows-1252" },
	{ "utf-16", "utf-16le" },
	{ "utf-16be", "utf-16be" },
	{ "utf-16le", "utf-16le" },
	{ "utf-32", "utf-32le" },
	{ "utf-32be", "utf-32be" },
	{ "utf-32le", "utf-32le" },
	{ "utf-7", "utf-7" },
	{ "utf-8", "utf-8" },
	{ "utf8", "utf-8" },
	{ "visual", "iso-8859-8" },
	{ "windows-1250", "windows-1250" },
	{ "windows-1251", "windows-1251" },
	{ "windows-1252", "windows-1252" },
	{ "windows-1253", "windows-1253" },
	{ "windows-1254", "windows-1254" },
	{ "windows-1255", "windows-1255" },
	{ "windows-1256", "windows-1256" },
	{ "windows-1257", "windows-1257" },
	{ "windows-1258", "windows-1258" },
	{ "windows-31j", "shift_jis" },
	{ "windows-874", "windows-874" },
	{ "windows-949", "euc-kr" },
	{ "x-cp1250", "windows-1250" },
	{ "x-cp1251", "windows-1251" },
	{ "x-cp1252", "windows-1252" },
	{ "x-cp1253", "windows-1253" },
	{ "x-cp1254", "windows-1254" },
	{ "x-cp1255", "windows-1255" },
	{ "x-cp1256", "windows-1256" },
	{ "x-cp1257", "windows-1257" },
	{ "x-cp1258", "windows-1258" },
	{ "x-euc-jp", "euc-jp" },
	{ "x-gbk", "gbk" },
	{ "x-mac-cyrillic", "x-mac-cyrillic" },
	{ "x-mac-roman", "macintosh" },
	{ "x-mac-ukrainian", "x-mac-cyrillic" },
	{ "x-sjis", "shift_jis" },
	{ "x-unicode-2-0-utf-7", "utf-7" },
	{ "x-unicode20utf8", "utf-8" },
	{ "x-user-defined", "x-user-defined" },
	{ "x-x-big5", "big5" },
};

/* One sample per charset: label, bytes, the UTF-8 they must give. */
static const struct { const char *label, *in; size_t len; const char *exp; } vecs[] = {
	/* windows-1252 specials */
	{ "windows-1252", "Caf\xe9 \x93quoted\x94 \x96 \x80" "5 \x8cuvre", 24, "Caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x93 \xe2\x82\xac" "5 \xc5\x92uvre" },
	/* latin1 label */
	{ "latin1", "Gr\xfc\xdf" "e aus K\xf6ln", 14, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln" },
	/* Polish */
	{ "ISO-8859-2", "Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1 ja\xbc\xf1", 17, "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85 ja\xc5\xba\xc5\x84" },
	/* Maltese */
	{ "iso-8859-3", "\xa1" "ar\xf5" "a", 5, "\xc4\xa6" "ar\xc4\xa1" "a" },
	/* Baltic */
	{ "iso-8859-4", "\xd3" "e\xbbis", 5, "\xc4\xb6" "e\xc4\xa3is" },
	/* Cyrillic */
	{ "iso-8859-5", "\xbf\xe0\xd8\xd2\xd5\xe2", 6, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* Arabic */
	{ "iso-8859-6", "\xe5\xd1\xcd\xc8\xc7", 5, "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
	/* Greek */
	{ "iso-8859-7", "\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1", 8, "\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1" },
	/* Hebrew */
	{ "iso-8859-8", "\xf9\xec\xe5\xed", 4, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
	/* Nordic */
	{ "iso-8859-10", "\xaf\xbb", 2, "\xc5\x8a\xc5\xa7" },
	/* Baltic rim */
	{ "iso-8859-13", "\xc0\xe8\xe6", 3, "\xc4\x84\xc4\x8d\xc4\x99" },
	/* Celtic */
	{ "iso-8859-14", "\xd0\xfe", 2, "\xc5\xb4\xc5\xb7" },
	/* Latin-9 */
	{ "iso-8859-15", "\xa4uro \xbc", 6, "\xe2\x82\xacuro \xc5\x92" },
	/* Romanian */
	{ "iso-8859-16", "\xaa\xfe", 2, "\xc8\x98\xc8\x9b" },
	/* KOI8-R */
	{ "koi8-r", "\xf3\xdf\xc5\xdb\xd8 \xd6\xc5 \xc5\xdd\xa3", 12, "\xd0\xa1\xd1\x8a\xd0\xb5\xd1\x88\xd1\x8c \xd0\xb6\xd0\xb5 \xd0\xb5\xd1\x89\xd1\x91" },
	/* KOI8-U */
	{ "koi8-u", "\xb7\xd6\xc1\xcb \xad\xc1\xce\xcf\xcb", 10, "\xd0\x87\xd0\xb6\xd0\xb0\xd0\xba \xd2\x91\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xba" },
	/* DOS Cyrillic */
	{ "ibm866", "\x8f\xe0\xa8\xa2\xa5\xe2", 6, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* Mac Roman */
	{ "macintosh", "Caf\x8e \xde", 6, "Caf\xc3\xa9 \xef\xac\x81" },
	/* Thai */
	{ "windows-874", "\xca\xc7\xd1\xca\xb4\xd5", 6, "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5" },
	/* Czech */
	{ "windows-1250", "P\xf8\xedli\x9a \x9elu\x9dou\xe8k\xfd", 16, "P\xc5\x99\xc3\xadli\xc5\xa1 \xc5\xbelu\xc5\xa5ou\xc4\x8dk\xc3\xbd" },
	/* Russian */
	{ "windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", 6, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* Greek Windows */
	{ "windows-1253", "\xc3\xe5\xe9\xdc", 4, "\xce\x93\xce\xb5\xce\xb9\xce\xac" },
	/* Turkish */
	{ "windows-1254", "T\xfcrk\xe7" "e \xf0\xfd\xfe", 10, "T\xc3\xbcrk\xc3\xa7" "e \xc4\x9f\xc4\xb1\xc5\x9f" },
	/* Hebrew Windows */
	{ "windows-1255", "\xf9\xec\xe5\xed", 4, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
	/* Arabic Windows */
	{ "windows-1256", "\xe3\xd1\xcd\xc8\xc7", 5, "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
	/* Baltic Windows */
	{ "windows-1257", "\xc0\xe8\xe6", 3, "\xc4\x84\xc4\x8d\xc4\x99" },
	/* Vietnamese (decomposed marks kept) */
	{ "windows-1258", "Vi\xea\xf2t", 5, "Vi\xc3\xaa\xcc\xa3t" },
	/* Mac Cyrillic */
	{ "x-mac-cyrillic", "\x8f\xf0\xe8\xe2\xe5\xf2", 6, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* GBK */
	{ "gbk", "\xd6\xd0\xce\xc4\xd3\xca\xbc\xfe\xd6\xec\xe9" "F\xbb\xf9", 14, "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6\xe6\x9c\xb1\xe9\x95\x95\xe5\x9f\xba" },
	/* GB18030 four-byte */
	{ "gb18030", "\xd6\xd0\xce\xc4\x94" "9\xfc" "6", 8, "\xe4\xb8\xad\xe6\x96\x87\xf0\x9f\x98\x80" },
	/* Big5 */
	{ "big5", "\xa4\xa4\xa4\xe5\xb6l\xa5\xf3", 8, "\xe4\xb8\xad\xe6\x96\x87\xe9\x83\xb5\xe4\xbb\xb6" },
	/* EUC-JP */
	{ "euc-jp", "\xc6\xfc\xcb\xdc\xb8\xec\xa5\xe1\xa1\xbc\xa5\xeb", 12, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab" },
	/* ISO-2022-JP */
	{ "iso-2022-jp", "\x1b$BF|K\\8l%a!<%k\x1b(B", 18, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab" },
	/* Shift_JIS */
	{ "shift_jis", "\x93\xfa\x96{\x8c\xea\x83\x81\x81[\x83\x8b", 12, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab" },
	/* EUC-KR / UHC */
	{ "euc-kr", "\xc7\xd1\xb1\xb9\xbe\xee \xb8\xde\xc0\xcf", 11, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xeb\xa9\x94\xec\x9d\xbc" },
	/* UTF-16LE */
	{ "utf-16le", "H\x00i\x00 \x00=\xd8\x00\xde", 10, "Hi \xf0\x9f\x98\x80" },
	/* UTF-16BE */
	{ "utf-16be", "\x00H\x00i\x00 \xd8=\xde\x00", 10, "Hi \xf0\x9f\x98\x80" },
	/* utf-16 label with big-endian BOM */
	{ "utf-16", "\xfe\xff\x00H\x00i", 6, "Hi" },
	/* UTF-8 */
	{ "utf-8", "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80", 12, "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80" },
	/* UTF-8 BOM dropped */
	{ "utf-8", "\xef\xbb\xbf" "BOM", 6, "BOM" },
	/* UTF-7 */
	{ "utf-7", "Hi Mom -+Jjo--!", 15, "Hi Mom -\xe2\x98\xba-!" },
	/* ISO-2022-KR (RFC 1557) */
	{ "iso-2022-kr", "\x1b$)C\x0eGQ19>n\x0f", 12, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4" },
	/* DOS box drawing */
	{ "ibm437", "\xb3 Caf\x82 \xb3", 8, "\xe2\x94\x82 Caf\xc3\xa9 \xe2\x94\x82" },
	/* DOS Latin-1 */
	{ "ibm850", "Caf\x82", 4, "Caf\xc3\xa9" },
	/* ISO-2022-JP with NEC row 13 (No., circled 1) and half-width katakana,
	 * as WHATWG decodes them (glibc's ISO-2022-JP rejects row 13) */
	{ "iso-2022-jp", "\x1b$B-b-!\x1b(I1\x1b(B ok", 17,
	  "\xe2\x84\x96\xe2\x91\xa0\xef\xbd\xb1 ok" },
	/* ISO-2022-JP: an unknown escape is one U+FFFD, the rest is text */
	{ "iso-2022-jp", "a\x1b$Zb\x1b$B$3\x1b(Bz", 14, "a\xef\xbf\xbd$Zb\xe3\x81\x93z" },
	/* UTF-32LE */
	{ "utf-32le", "A\x00\x00\x00\x00\xf6\x01\x00", 8, "A\xf0\x9f\x98\x80" },
	/* HZ: the example of RFC 1843 section 2 */
	{ "hz-gb-2312", "The next sentence is in GB.~{<:Ky2;S{#,NpJ)l6HK!#~}Bye.", 55,
	  "The next sentence is in GB.\xe5\xb7\xb1\xe6\x89\x80\xe4\xb8\x8d\xe6\xac\xb2"
	  "\xef\xbc\x8c\xe5\x8b\xbf\xe6\x96\xbd\xe6\x96\xbc\xe4\xba\xba\xe3\x80\x82" "Bye." },
	/* HZ: "~~", line continuations (LF and CRLF), a pair with '~' as its
	 * trail byte (GB2312 0x217E), a no-op "~}" in ASCII mode */
	{ "hz-gb-2312", "~~1 ~\n2~\r\n3 ~{!~~} ~}x", 22, "~1 23 \xe3\x80\x93 x" },
};

static mimeo_charset_cache *new_cache(void)
{
	mimeo_charset_cache *cc = NULL;

	ck_assert_int_eq(mimeo_charset_cache_new(&cc, NULL), MIMEO_OK);
	ck_assert_ptr_nonnull(cc);
	return cc;
}

/* Convert with mimeo_charset_to_utf8, return a malloc'd string. */
static char *conv(mimeo_charset_cache *cc, const char *label, const void *in, size_t len,
		  unsigned *rep)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	unsigned dummy = 0;

	ck_assert_int_eq(mimeo_charset_to_utf8(cc, label, label ? strlen(label) : 0, in, len, &b,
					       rep ? rep : &dummy), MIMEO_OK);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix(b.ptr, b.size), b.size);
	if (!b.ptr)
		return strdup("");
	return mimeo_buf_detach(&b);
}

START_TEST(label_table_sorted)
{
	ck_assert(mimeo__charset_table_check());
}
END_TEST

START_TEST(every_label_maps)
{
	const char *l = labels[_i].label, *want = labels[_i].name;
	char buf[64];
	size_t i, n = strlen(l);

	ck_assert_ptr_nonnull(mimeo_charset_canonical(l, n));
	ck_assert_str_eq(mimeo_charset_canonical(l, n), want);
	/* ASCII case-insensitive, surrounding whitespace ignored. */
	for (i = 0; i < n; i++)
		buf[i + 2] = (char)((l[i] >= 'a' && l[i] <= 'z') ? l[i] - 32 : l[i]);
	buf[0] = ' ';
	buf[1] = '\t';
	buf[n + 2] = '\r';
	buf[n + 3] = '\n';
	ck_assert_str_eq(mimeo_charset_canonical(buf, n + 4), want);
}
END_TEST

START_TEST(unknown_labels)
{
	static const char *bad[] = { "", " ", "utf-9", "latin-1x", "x-unknown", "unknown-8bit",
		"utf-8 x", "iso-8859-1;", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "\"utf-8\"" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_ptr_null(mimeo_charset_canonical(bad[i], strlen(bad[i])));
	ck_assert_ptr_null(mimeo_charset_canonical(NULL, 5));
	/* The length is honoured: no NUL needed. */
	ck_assert_str_eq(mimeo_charset_canonical("utf-8xyz", 5), "utf-8");
}
END_TEST

START_TEST(sample_per_charset)
{
	mimeo_charset_cache *cc = new_cache();
	unsigned rep = 0;
	char *s = conv(cc, vecs[_i].label, vecs[_i].in, vecs[_i].len, &rep);

	ck_assert_str_eq(s, vecs[_i].exp);
	if (strstr(vecs[_i].exp, FFFD))
		ck_assert_uint_eq(rep, MIMEO_REPAIR_INVALID_SEQUENCE);
	else
		ck_assert_uint_eq(rep, 0);
	free(s);
	/* Same again from the warm cache. */
	s = conv(cc, vecs[_i].label, vecs[_i].in, vecs[_i].len, &rep);
	ck_assert_str_eq(s, vecs[_i].exp);
	free(s);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Streaming: identical output for every split into two and byte by byte. */
static void check_stream(mimeo_charset_cache *cc, const char *label, const char *in, size_t len,
			 const char *want)
{
	size_t cut, i;

	for (cut = 0; cut <= len; cut++) {
		mimeo_charset_conv *cv;
		mimeo_buf b = MIMEO_BUF_INIT;

		ck_assert_int_eq(mimeo_charset_conv_new(&cv, cc, label, label ? strlen(label) : 0),
				 MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_conv_step(cv, in, cut, &b), MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_conv_step(cv, in + cut, len - cut, &b), MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_conv_finish(cv, &b), MIMEO_OK);
		ck_assert_msg(b.size == strlen(want) && !memcmp(b.ptr ? b.ptr : "", want, b.size),
			      "%s split at %zu: got '%s' want '%s'", label ? label : "(none)", cut,
			      b.ptr ? b.ptr : "", want);
		/* Reusable after finish: byte by byte now. */
		mimeo_buf_clear(&b);
		for (i = 0; i < len; i++)
			ck_assert_int_eq(mimeo_charset_conv_step(cv, in + i, 1, &b), MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_conv_finish(cv, &b), MIMEO_OK);
		ck_assert_msg(b.size == strlen(want) && !memcmp(b.ptr ? b.ptr : "", want, b.size),
			      "%s byte by byte: got '%s'", label ? label : "(none)",
			      b.ptr ? b.ptr : "");
		mimeo_buf_dispose(&b);
		mimeo_charset_conv_free(cv);
	}
}

/* Regression for a fuzz finding: an ISO-2022-JP pair windows-31j does not
 * map was skipped one byte at a time, so its trail byte could pair with the
 * next character or not depending on the split. */
START_TEST(stream_iso2022jp_unmapped_pair)
{
	static const char in[] = "\x1b$BF|K\\9l\x1biso8859-6(B text\x1b$B0\x1b$Bt~t~\x1b(Bok";
	mimeo_charset_cache *cc = new_cache();
	char *whole = conv(cc, "iso-2022-jp", in, sizeof(in) - 1, NULL);

	check_stream(cc, "iso-2022-jp", in, sizeof(in) - 1, whole);
	free(whole);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(stream_every_split)
{
	mimeo_charset_cache *cc = new_cache();

	check_stream(cc, vecs[_i].label, vecs[_i].in, vecs[_i].len, vecs[_i].exp);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(stream_invalid_and_truncated)
{
	mimeo_charset_cache *cc = new_cache();

	check_stream(cc, "utf-8", "a\xe2\x82z\xff\xed\xa0\x80q\xf0\x9f", 11,
		     "a" FFFD "z" FFFD FFFD FFFD FFFD "q" FFFD);
	check_stream(cc, "shift_jis", "\x93\xfa\x82", 3, "\xe6\x97\xa5" FFFD);
	check_stream(cc, "gbk", "a\xd6\xd0\xce", 4, "a\xe4\xb8\xad" FFFD);
	check_stream(cc, "utf-16le", "a\0b", 3, "a" FFFD);
	/* Unknown label: UTF-8 until the first invalid byte, then windows-1252. */
	check_stream(cc, "x-bogus", "\xc3\xa9 ok \xe9t\xe9", 9,
		     "\xc3\xa9 ok \xc3\xa9t\xc3\xa9");
	check_stream(cc, NULL, "plain", 5, "plain");
	/* UTF-7 is decoded by mimeo itself (glibc keeps bits in the iconv_t
	 * across calls, which made the result depend on the split). */
	check_stream(cc, "utf-7", "a+ZeVnLIqe-b+-c+2D3eAA-", 23,
		     "a\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "b+c\xf0\x9f\x98\x80");
	check_stream(cc, "utf-7", "+303", 4, FFFD FFFD);  /* fuzz finding F1 */
	check_stream(cc, "utf-7", "+2D3", 4, FFFD);       /* cut surrogate pair */
	check_stream(cc, "utf-7", "x+ y+", 5, "x" FFFD " y" FFFD);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Convert whole and expect `want` with exactly the repair flags `want_rep`. */
static void expect_conv(mimeo_charset_cache *cc, const char *label, const char *in, size_t len,
			const char *want, unsigned want_rep)
{
	unsigned rep = 0;
	char *s = conv(cc, label, in, len, &rep);

	ck_assert_msg(!strcmp(s, want), "%s: got '%s' want '%s'", label ? label : "(none)", s,
		      want);
	ck_assert_msg(rep == want_rep, "%s: repairs %#x want %#x", label ? label : "(none)", rep,
		      want_rep);
	free(s);
}

/* Convert `buf` with a streaming converter fed random chunks of 1..max
 * bytes; returns the output (malloc'd) and the converter's repairs. */
static char *stream_random(mimeo_charset_cache *cc, const char *label, const char *buf,
			   size_t len, uint64_t *seed, size_t max, unsigned *rep)
{
	mimeo_charset_conv *cv;
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i = 0;

	ck_assert_int_eq(mimeo_charset_conv_new(&cv, cc, label, strlen(label)), MIMEO_OK);
	while (i < len) {
		size_t n = 1 + test_rand(seed) % max;

		if (n > len - i)
			n = len - i;
		ck_assert_int_eq(mimeo_charset_conv_step(cv, buf + i, n, &b), MIMEO_OK);
		i += n;
	}
	ck_assert_int_eq(mimeo_charset_conv_finish(cv, &b), MIMEO_OK);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix(b.ptr, b.size), b.size);
	*rep = mimeo_charset_conv_repairs(cv);
	mimeo_charset_conv_free(cv);
	return b.ptr ? mimeo_buf_detach(&b) : strdup("");
}

/* HZ (RFC 1843) is decoded by mimeo (glibc has no converter): malformed
 * escapes and cut pairs give U+FFFD and decoding goes on, identically for
 * every split. */
START_TEST(hz_malformed)
{
	static const struct { const char *in; size_t len; const char *want; unsigned rep; } v[] = {
		/* unknown escape: one U+FFFD, the byte after it is text */
		{ "a~xb", 4, "a" FFFD "xb", MIMEO_REPAIR_INVALID_SEQUENCE },
		{ "~{<:~ <:~}", 10, "\xe5\xb7\xb1" FFFD " \xe5\xb7\xb1", MIMEO_REPAIR_INVALID_SEQUENCE },
		/* "~" CR not followed by LF: the '~' is invalid, the CR kept */
		{ "a~\rb", 4, "a" FFFD "\rb", MIMEO_REPAIR_INVALID_SEQUENCE },
		/* 8-bit bytes are never HZ, in either mode */
		{ "\xb9~{\xb9<:", 6, FFFD FFFD "\xe5\xb7\xb1", MIMEO_REPAIR_INVALID_SEQUENCE },
		/* a pair cut by a space or newline; the byte itself is kept */
		{ "~{< <:\n~}", 9, FFFD " \xe5\xb7\xb1\n", MIMEO_REPAIR_INVALID_SEQUENCE },
		/* cut by the end of input: pair, escape, escape after CR */
		{ "~{<:<", 5, "\xe5\xb7\xb1" FFFD,
		  MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED },
		{ "ab~", 3, "ab" FFFD, MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED },
		{ "ab~\r", 4, "ab" FFFD "\r", MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED },
		/* "~}" right after a lead byte: '~' is the trail (RFC 1843
		 * section 3), so the '}' is left as a lone lead */
		{ "~{<~}", 5, "\xe4\xbb\xb6" FFFD, MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED },
		/* GB mode never ends at a line end (RFC 1843: no concept of line) */
		{ "~{<:\n<:", 7, "\xe5\xb7\xb1\n\xe5\xb7\xb1", 0 },
		/* "~{" twice and "~}" twice are harmless */
		{ "~{~{<:~}~}z", 11, "\xe5\xb7\xb1z", 0 },
		/* DEL starts no pair (leads are 0x21-0x7D): it passes as a
		 * control; a pair cut by a control byte keeps that byte.  It
		 * was read as a lead, and the invalid pair it made swallowed
		 * the control byte after it or not depending on the split
		 * (fuzz_charset, corpus/regress/charset/hz-del-lead) */
		{ "~{\x7f<\x12", 5, "\x7f" FFFD "\x12", MIMEO_REPAIR_INVALID_SEQUENCE },
		{ "~{\x7f<:", 5, "\x7f\xe5\xb7\xb1", 0 },
	};
	mimeo_charset_cache *cc = new_cache();
	size_t k;

	for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		expect_conv(cc, "hz-gb-2312", v[k].in, v[k].len, v[k].want, v[k].rep);
		check_stream(cc, "hz-gb-2312", v[k].in, v[k].len, v[k].want);
	}
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Random 7-bit text full of HZ escapes: the streaming result equals the
 * whole-buffer one for random chunkings, and the repairs agree. */
START_TEST(hz_random_7bit)
{
	static const char alphabet[] = "~~~~{{}}<:!#\n\r ab";
	mimeo_charset_cache *cc = new_cache();
	uint64_t seed = 1843;
	size_t len = 4096, i, round;
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	for (round = 0; round < 20; round++) {
		unsigned rep = 0, srep = 0;
		char *whole, *streamed;

		for (i = 0; i < len; i++)
			buf[i] = alphabet[test_rand(&seed) % (sizeof(alphabet) - 1)];
		whole = conv(cc, "hz-gb-2312", buf, len, &rep);
		streamed = stream_random(cc, "hz-gb-2312", buf, len, &seed, 9, &srep);
		ck_assert_str_eq(streamed, whole);
		ck_assert_uint_eq(srep, rep);
		free(whole);
		free(streamed);
	}
	free(buf);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(stream_repairs_and_charset)
{
	mimeo_charset_cache *cc = new_cache();
	mimeo_charset_conv *cv;
	mimeo_buf b = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_charset_conv_new(&cv, cc, "x-bogus", 7), MIMEO_OK);
	ck_assert_str_eq(mimeo_charset_conv_charset(cv), "utf-8");
	/* A lone 0xE9 at the end could still start a UTF-8 character. */
	ck_assert_int_eq(mimeo_charset_conv_step(cv, "caf\xe9", 4, &b), MIMEO_OK);
	ck_assert_str_eq(mimeo_charset_conv_charset(cv), "utf-8");
	ck_assert_int_eq(mimeo_charset_conv_step(cv, " ", 1, &b), MIMEO_OK);
	ck_assert_str_eq(mimeo_charset_conv_charset(cv), "windows-1252");
	ck_assert_int_eq(mimeo_charset_conv_finish(cv, &b), MIMEO_OK);
	ck_assert_uint_eq(mimeo_charset_conv_repairs(cv),
			  MIMEO_REPAIR_UNKNOWN_CHARSET | MIMEO_REPAIR_FALLBACK_CP1252);
	ck_assert_str_eq(b.ptr, "caf\xc3\xa9 ");
	mimeo_charset_conv_free(cv);
	mimeo_buf_dispose(&b);
	ck_assert_int_eq(mimeo_charset_conv_new(&cv, NULL, "utf-8", 5), MIMEO_EINVAL);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Two converters of the same stateful charset at once must not share
 * iconv state (the second gets its own descriptor). */
START_TEST(stream_two_at_once)
{
	mimeo_charset_cache *cc = new_cache();
	static const char jp[] = "\x1b$B$3$s\x1b(B";  /* "こん" in ISO-2022-JP */
	mimeo_charset_conv *a, *c;
	mimeo_buf ba = MIMEO_BUF_INIT, bc = MIMEO_BUF_INIT;
	char *whole;
	size_t i;

	ck_assert_int_eq(mimeo_charset_conv_new(&a, cc, "iso-2022-jp", 11), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_new(&c, cc, "iso-2022-jp", 11), MIMEO_OK);
	for (i = 0; i < sizeof(jp) - 1; i++) {
		ck_assert_int_eq(mimeo_charset_conv_step(a, jp + i, 1, &ba), MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_conv_step(c, jp + i, 1, &bc), MIMEO_OK);
		/* A whole-buffer conversion in between uses its own state too. */
		whole = conv(cc, "iso-2022-jp", jp, sizeof(jp) - 1, NULL);
		ck_assert_str_eq(whole, "\xe3\x81\x93\xe3\x82\x93");
		free(whole);
	}
	ck_assert_int_eq(mimeo_charset_conv_finish(a, &ba), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_finish(c, &bc), MIMEO_OK);
	ck_assert_str_eq(ba.ptr, "\xe3\x81\x93\xe3\x82\x93");
	ck_assert_str_eq(bc.ptr, "\xe3\x81\x93\xe3\x82\x93");
	mimeo_charset_conv_free(a);
	mimeo_charset_conv_free(c);
	mimeo_buf_dispose(&ba);
	mimeo_buf_dispose(&bc);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(windows1252_whatwg_holes)
{
	mimeo_charset_cache *cc = new_cache();
	unsigned rep = 0;
	/* WHATWG index-windows-1252: 0x81 0x8D 0x8F 0x90 0x9D are the C1 controls. */
	char *s = conv(cc, "iso-8859-1", "\x80\x81\x8d\x8f\x90\x9d\x9f", 7, &rep);

	ck_assert_str_eq(s, "\xe2\x82\xac\xc2\x81\xc2\x8d\xc2\x8f\xc2\x90\xc2\x9d\xc5\xb8");
	ck_assert_uint_eq(rep, 0);
	free(s);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(invalid_bytes_become_fffd)
{
	mimeo_charset_cache *cc = new_cache();

	/* Maximal subparts (Unicode 15 section 3.9, WHATWG UTF-8 decoder). */
	expect_conv(cc, "utf-8", "a\xe2\x82z\xff\xed\xa0\x80q\xc0\xafr\xf4\x90\x80\x80", 16,
		    "a" FFFD "z" FFFD FFFD FFFD FFFD "q" FFFD FFFD "r" FFFD FFFD FFFD FFFD,
		    MIMEO_REPAIR_INVALID_SEQUENCE);
	/* One bad byte in iconv input loses nothing after it. */
	expect_conv(cc, "shift_jis", "\x93\xfa\xff\x96\x7b", 5, "\xe6\x97\xa5" FFFD "\xe6\x9c\xac",
		    MIMEO_REPAIR_INVALID_SEQUENCE);
	/* Truncated last character. */
	expect_conv(cc, "gbk", "\xd6\xd0\xce", 3, "\xe4\xb8\xad" FFFD,
		    MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED);
	/* Undefined byte of a single-byte charset. */
	expect_conv(cc, "iso-8859-3", "a\xa5z", 3, "a" FFFD "z", MIMEO_REPAIR_INVALID_SEQUENCE);
	/* replacement, UTF-7 and x-user-defined. */
	expect_conv(cc, "replacement", "~{<:~}", 6, FFFD, MIMEO_REPAIR_INVALID_SEQUENCE);
	expect_conv(cc, "utf-7", "+2D3", 4, FFFD,
		    MIMEO_REPAIR_INVALID_SEQUENCE | MIMEO_REPAIR_TRUNCATED);
	expect_conv(cc, "x-user-defined", "a\x80\xff", 3, "a\xef\x9e\x80\xef\x9f\xbf", 0);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(fallbacks_are_flagged)
{
	mimeo_charset_cache *cc = new_cache();

	expect_conv(cc, "x-bogus", "caf\xc3\xa9", 5, "caf\xc3\xa9",
		    MIMEO_REPAIR_UNKNOWN_CHARSET | MIMEO_REPAIR_FALLBACK_UTF8);
	expect_conv(cc, "x-bogus", "caf\xe9", 4, "caf\xc3\xa9",
		    MIMEO_REPAIR_UNKNOWN_CHARSET | MIMEO_REPAIR_FALLBACK_CP1252);
	expect_conv(cc, NULL, "caf\xe9", 4, "caf\xc3\xa9", MIMEO_REPAIR_FALLBACK_CP1252);
	expect_conv(cc, NULL, "plain ascii", 11, "plain ascii", 0);
	/* NULL cache: a temporary one. */
	expect_conv(NULL, "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 6,
		    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* The single-byte tables must agree with iconv byte for byte wherever
 * iconv defines the byte (they are built from it, this checks the build). */
START_TEST(tables_agree_with_iconv)
{
	static const char *sb[][2] = {
		{ "iso-8859-2", "ISO-8859-2" }, { "iso-8859-5", "ISO-8859-5" },
		{ "iso-8859-7", "ISO-8859-7" }, { "iso-8859-15", "ISO-8859-15" },
		{ "koi8-r", "KOI8-R" }, { "ibm866", "IBM866" }, { "macintosh", "MACINTOSH" },
		{ "windows-1250", "CP1250" }, { "windows-1251", "CP1251" },
		{ "windows-1252", "CP1252" }, { "windows-1256", "CP1256" },
	};
	mimeo_charset_cache *cc = new_cache();
	size_t k;
	unsigned b;

	for (k = 0; k < sizeof(sb) / sizeof(sb[0]); k++) {
		iconv_t cd = iconv_open("UTF-8", sb[k][1]);

		ck_assert(cd != (iconv_t)-1);
		for (b = 0; b < 256; b++) {
			char in = (char)b, ref[8], *ip = &in, *op = ref, *s;
			size_t il = 1, ol = sizeof(ref);

			iconv(cd, NULL, NULL, NULL, NULL);
			if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
				continue;
			*op = '\0';
			s = conv(cc, sb[k][0], &in, 1, NULL);
			ck_assert_msg(!strcmp(s, ref) || b == 0, "%s byte %02x", sb[k][0], b);
			free(s);
		}
		iconv_close(cd);
	}
	mimeo_charset_cache_free(cc);
}
END_TEST

/* The point of the cache: one iconv_open per charset, not per call. */
START_TEST(cache_opens_once)
{
	mimeo_charset_cache *cc = new_cache();
	mimeo_buf b = MIMEO_BUF_INIT;
	int i;

	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(mimeo_charset_to_utf8(cc, "gbk", 3, "\xd6\xd0", 2, &b, NULL),
				 MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_to_utf8(cc, "KOI8-R", 6, "\xf0", 1, &b, NULL),
				 MIMEO_OK);
		ck_assert_int_eq(mimeo_charset_to_utf8(cc, "utf-8", 5, "\xc3\xa9", 2, &b, NULL),
				 MIMEO_OK);
		ck_assert_int_eq(mimeo_header_decode_text(cc, NULL, "=?big5?b?pKQ=?= =?iso-2022-jp?"
			"b?GyRCJDMbKEI=?=", 46, &b, NULL), MIMEO_OK);
	}
	/* gbk, koi8-r (table), big5, shift_jis (ISO-2022-JP goes through it). */
	ck_assert_uint_eq(mimeo__charset_opens(cc), 4);
	mimeo_buf_dispose(&b);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Issue 16: a streaming converter borrows the cache's descriptor for its
 * charset for as long as it lives (a scan keeps one per label for a whole
 * mailbox).  Whole-buffer conversions of that charset meanwhile (headers,
 * parameters) used to open and close iconv every time; now they share one
 * spare descriptor: two opens for any number of calls, same output. */
START_TEST(cache_spare_while_lent)
{
	mimeo_charset_cache *cc = new_cache();
	mimeo_charset_conv *gbk = NULL, *sjis = NULL;
	mimeo_buf b = MIMEO_BUF_INIT, s = MIMEO_BUF_INIT;
	const char *jis = "=?iso-2022-jp?b?GyRCJDMbKEI=?=";
	int i;

	ck_assert_int_eq(mimeo_charset_conv_new(&gbk, cc, "gbk", 3), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_new(&sjis, cc, "shift_jis", 9), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_step(gbk, "\xd6", 1, &s), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_step(sjis, "\x82", 1, &s), MIMEO_OK);
	for (i = 0; i < 1000; i++) {
		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_charset_to_utf8(cc, "gbk", 3, "\xd6\xd0", 2, &b, NULL),
				 MIMEO_OK);
		ck_assert_str_eq(b.ptr, "\xe4\xb8\xad");
		mimeo_buf_clear(&b);
		/* ISO-2022-JP goes through the shift_jis descriptor */
		ck_assert_int_eq(mimeo_header_decode_text(cc, NULL, jis, strlen(jis), &b, NULL),
				 MIMEO_OK);
		ck_assert_str_eq(b.ptr, "\xe3\x81\x93");
	}
	/* the converters kept their state across all that */
	ck_assert_int_eq(mimeo_charset_conv_step(gbk, "\xd0", 1, &s), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_step(sjis, "\xa0", 1, &s), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_finish(gbk, &s), MIMEO_OK);
	ck_assert_int_eq(mimeo_charset_conv_finish(sjis, &s), MIMEO_OK);
	ck_assert_str_eq(s.ptr, "\xe4\xb8\xad\xe3\x81\x82");
	/* gbk and shift_jis: the lent descriptor and a spare each */
	ck_assert_uint_eq(mimeo__charset_opens(cc), 4);
	mimeo_charset_conv_free(gbk);
	mimeo_charset_conv_free(sjis);
	mimeo_buf_dispose(&b);
	mimeo_buf_dispose(&s);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(utf8_valid_prefix)
{
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("", 0), 0);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("abcdefghijklmnopq", 17), 17);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("abcdefghij\xc3\xa9klm", 15), 15);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("abcdefghij\xc3", 11), 10);
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("\xed\xa0\x80", 3), 0);     /* surrogate */
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("\xe0\x80\xaf", 3), 0);     /* overlong */
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
	ck_assert_uint_eq(mimeo_utf8_valid_prefix("\xf0\x9f\x98\x80x", 5), 5);
}
END_TEST

/* The validator's answer through every path (scalar reference, AVX2,
 * AVX-512 falling back to AVX2) must be `want`. */
static void check_prefix_all_isas(const unsigned char *buf, size_t n, size_t want,
				  const char *what, size_t off)
{
	static const mimeo_isa isas[] = { MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2, MIMEO_ISA_AVX512,
					  MIMEO_ISA_AUTO };
	size_t k;

	for (k = 0; k < sizeof(isas) / sizeof(isas[0]); k++) {
		size_t got = mimeo__utf8_valid_prefix_isa(buf, n, isas[k]);

		ck_assert_msg(got == want, "%s at %zu, length %zu, %s: got %zu want %zu", what, off,
			      n, mimeo_isa_name(isas[k]), got, want);
	}
	ck_assert_uint_eq(mimeo_utf8_valid_prefix(buf, n), want);
}

/* An independent oracle: decode code point by code point the textbook way
 * (RFC 3629 section 3) and stop at the first ill-formed or cut character. */
static size_t oracle_valid_prefix(const unsigned char *s, size_t n)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t i = 0;

	while (i < n) {
		size_t len = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 :
			     s[i] >= 0xC0 ? 2 : 0, k;
		uint32_t cp = len == 1 ? s[i] : s[i] & (0x7F >> len);

		if (len == 0 || s[i] > 0xF7 || i + len > n)
			return i;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

/* Each sequence at every offset of an ASCII text and of a two-byte text,
 * with the buffer cut at every length around it: the SIMD blocks are 32
 * bytes, so this puts every sequence across every block boundary. */
START_TEST(utf8_valid_prefix_every_boundary)
{
	static const struct { const char *seq; size_t len; } v[] = {
		{ "\xc2\x80", 2 }, { "\xdf\xbf", 2 }, { "\xe0\xa0\x80", 3 }, { "\xed\x9f\xbf", 3 },
		{ "\xee\x80\x80", 3 }, { "\xef\xbf\xbf", 3 }, { "\xf0\x90\x80\x80", 4 },
		{ "\xf4\x8f\xbf\xbf", 4 }, { "\xf3\xbf\xbf\xbf", 4 },
		/* overlongs */
		{ "\xc0\xaf", 2 }, { "\xc1\xbf", 2 }, { "\xe0\x80\xaf", 3 }, { "\xe0\x9f\xbf", 3 },
		{ "\xf0\x80\x80\xaf", 4 }, { "\xf0\x8f\xbf\xbf", 4 },
		/* surrogates */
		{ "\xed\xa0\x80", 3 }, { "\xed\xbf\xbf", 3 },
		/* above U+10FFFF */
		{ "\xf4\x90\x80\x80", 4 }, { "\xf5\x80\x80\x80", 4 }, { "\xf7\xbf\xbf\xbf", 4 },
		{ "\xf8\x88\x80\x80", 4 }, { "\xff", 1 },
		/* lone continuations, cut sequences, too many continuations */
		{ "\x80", 1 }, { "\xbf\x80", 2 }, { "\xc3" "a", 2 }, { "\xe2\x82" "a", 3 },
		{ "\xf0\x9f\x98" "a", 4 }, { "\xc3\xa9\xa9", 3 }, { "\xe2\x82\xac\x80", 4 },
		{ "\xf0\x9f\x98\x80\x80", 5 }, { "\xe2\xc3\xa9", 3 },
	};
	unsigned char buf[160];
	size_t k, off, n, fill;

	for (k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		for (fill = 0; fill < 2; fill++) {
			for (off = 0; off + v[k].len <= 100; off += fill ? 2 : 1) {
				for (n = 0; n < sizeof(buf); n++)
					buf[n] = fill ? (n % 2 ? 0xA9 : 0xC3) : (unsigned char)('a' + n % 26);
				memcpy(buf + off, v[k].seq, v[k].len);
				if (fill && (off + v[k].len) % 2)
					buf[off + v[k].len] = 'z';   /* the text after it stays whole */
				for (n = off > 4 ? off - 4 : 0; n <= sizeof(buf);
				     n += n < off + v[k].len + 4 ? 1 : 29)
					check_prefix_all_isas(buf, n, oracle_valid_prefix(buf, n),
							      v[k].seq, off);
			}
		}
	}
	/* the oracle itself, on the cases that matter */
	ck_assert_uint_eq(oracle_valid_prefix((const unsigned char *)"a\xed\xa0\x80", 4), 1);
	ck_assert_uint_eq(oracle_valid_prefix((const unsigned char *)"a\xf4\x8f\xbf\xbf", 5), 5);
	ck_assert_uint_eq(oracle_valid_prefix((const unsigned char *)"a\xe0\x9f\xbf", 4), 1);
}
END_TEST

/* Random mixtures of characters of every length with random damage: every
 * path agrees with the oracle. */
START_TEST(utf8_valid_prefix_paths_agree)
{
	static const char *pieces[] = { "abcd", "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xe0\xa0\x80", "\xf0\x90\x80\x80" };
	uint64_t seed = 3629;
	unsigned char buf[400];
	int round;

	for (round = 0; round < 20000; round++) {
		size_t n = 0, want = 1 + test_rand(&seed) % (sizeof(buf) - 4), cut, ref;
		int damage = (int)(test_rand(&seed) % 3);

		while (n < want) {
			const char *p = pieces[test_rand(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);

			memcpy(buf + n, p, l);
			n += l;
		}
		while (damage--)
			buf[test_rand(&seed) % n] = (unsigned char)test_rand(&seed);
		cut = n - test_rand(&seed) % 4 % n;
		ref = oracle_valid_prefix(buf, cut);
		check_prefix_all_isas(buf, cut, ref, "random", (size_t)round);
	}
}
END_TEST

/* Random bytes in every charset: no crash, always valid UTF-8, streaming
 * agrees with the whole-buffer result for declared charsets. */
START_TEST(random_bytes_every_charset)
{
	mimeo_charset_cache *cc = new_cache();
	uint64_t seed = 42;
	size_t k, len = 4096;
	char *buf = malloc(len);

	test_rand_bytes(&seed, buf, len);
	for (k = 0; k < sizeof(vecs) / sizeof(vecs[0]); k++) {
		unsigned rep;
		char *whole = conv(cc, vecs[k].label, buf, len, NULL);
		char *streamed = stream_random(cc, vecs[k].label, buf, len, &seed, 100, &rep);

		ck_assert_msg(!strcmp(whole, streamed), "%s: stream differs", vecs[k].label);
		free(whole);
		free(streamed);
	}
	free(buf);
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(big_input_linear)
{
	mimeo_charset_cache *cc = new_cache();
	size_t len = 2u << 20, i;
	char *buf = malloc(len), *s;
	static const char *lab[] = { "utf-8", "windows-1251", "gbk", "x-bogus" };

	for (i = 0; i < len; i++)
		buf[i] = (char)(0x80 | (i * 7 % 128));
	for (i = 0; i < 4; i++) {
		s = conv(cc, lab[i], buf, len, NULL);
		ck_assert_uint_gt(strlen(s), len / 2);
		free(s);
	}
	free(buf);
	mimeo_charset_cache_free(cc);
}
END_TEST

/* Every allocation failure returns MIMEO_ENOMEM cleanly and leaks nothing. */
START_TEST(allocation_failures)
{
	unsigned long n;
	int done = 0;

	for (n = 1; !done && n < 500; n++) {
		test_failing_alloc fa;
		mimeo_charset_cache *cc = NULL;
		mimeo_charset_conv *cv = NULL;
		mimeo_buf b;
		int rc;

		test_failing_alloc_init(&fa, n);
		mimeo_buf_init(&b, &fa.alloc);
		rc = mimeo_charset_cache_new(&cc, &fa.alloc);
		if (!rc)
			rc = mimeo_charset_to_utf8(cc, "koi8-r", 6, "\xf0\xd2", 2, &b, NULL);
		if (!rc)
			rc = mimeo_charset_to_utf8(cc, "gbk", 3, "\xd6\xd0", 2, &b, NULL);
		if (!rc)
			rc = mimeo_charset_to_utf8(cc, NULL, 0, "caf\xe9", 4, &b, NULL);
		if (!rc)
			rc = mimeo_charset_conv_new(&cv, cc, "utf-16le", 8);
		if (!rc)
			rc = mimeo_charset_conv_step(cv, "a\0b", 3, &b);
		if (!rc)
			rc = mimeo_charset_conv_finish(cv, &b);
		mimeo_charset_conv_free(cv);
		cv = NULL;
		if (!rc)
			rc = mimeo_charset_conv_new(&cv, cc, "iso-2022-jp", 11);
		if (!rc)
			rc = mimeo_charset_conv_step(cv, "\x1b$B$3\x1b(B", 8, &b);
		if (!rc)
			rc = mimeo_charset_conv_finish(cv, &b);
		if (!rc) {
			ck_assert_str_eq(b.ptr, "\xd0\x9f\xd1\x80\xe4\xb8\xad" "caf\xc3\xa9"
				"a" FFFD "\xe3\x81\x93");
			done = 1;
		} else {
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
		}
		mimeo_charset_conv_free(cv);
		mimeo_charset_cache_free(cc);
		mimeo_buf_dispose(&b);
		ck_assert_int_eq(fa.live, 0);
	}
	ck_assert(done);
}
END_TEST

static Suite *charset_suite(void)
{
	Suite *s = suite_create("charset");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, label_table_sorted);
	tcase_add_loop_test(tc, every_label_maps, 0, sizeof(labels) / sizeof(labels[0]));
	tcase_add_test(tc, unknown_labels);
	tcase_add_loop_test(tc, sample_per_charset, 0, sizeof(vecs) / sizeof(vecs[0]));
	tcase_add_loop_test(tc, stream_every_split, 0, sizeof(vecs) / sizeof(vecs[0]));
	tcase_add_test(tc, stream_invalid_and_truncated);
	tcase_add_test(tc, stream_iso2022jp_unmapped_pair);
	tcase_add_test(tc, hz_malformed);
	tcase_add_test(tc, hz_random_7bit);
	tcase_add_test(tc, stream_repairs_and_charset);
	tcase_add_test(tc, stream_two_at_once);
	tcase_add_test(tc, windows1252_whatwg_holes);
	tcase_add_test(tc, invalid_bytes_become_fffd);
	tcase_add_test(tc, fallbacks_are_flagged);
	tcase_add_test(tc, tables_agree_with_iconv);
	tcase_add_test(tc, cache_opens_once);
	tcase_add_test(tc, cache_spare_while_lent);
	tcase_add_test(tc, utf8_valid_prefix);
	tcase_add_test(tc, utf8_valid_prefix_every_boundary);
	tcase_add_test(tc, utf8_valid_prefix_paths_agree);
	tcase_add_test(tc, random_bytes_every_charset);
	tcase_add_test(tc, big_input_linear);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(charset_suite());
}
