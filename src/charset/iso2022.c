/*
 * iso2022.c - 7-bit stateful charsets read through a stateless one:
 * ISO-2022-JP (RFC 1468) through windows-31j, and HZ (RFC 1843), the same
 * shape (escapes switching a 7-bit GB2312 mode), through GBK.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

/*
 * glibc's ISO-2022-JP knows plain JIS X 0208 only, but Japanese mail is
 * full of the NEC row 13 and IBM characters (circled digits, "No.", "(株)")
 * that the WHATWG decoder (index jis0208) accepts.  Those are exactly the
 * windows-31j (CP932) extensions, and JIS X 0208 maps to Shift_JIS by
 * arithmetic, so the escape sequences are interpreted here (RFC 1468,
 * WHATWG section 12.2) and the characters are converted with the cached
 * CP932 converter.  Bytes that are not valid become 0xFF, which CP932
 * rejects, so mimeo__iconv_run() turns each into U+FFFD.
 */
enum { JIS_ASCII, JIS_ROMAN, JIS_KATAKANA, JIS_X0208 };

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

/* HZ (RFC 1843) */

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
 * Invalid bytes become 0xFF, which GB18030 rejects, so mimeo__iconv_run() turns
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
		else if (st->gb && b >= 0x21 && b <= 0x7D)
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

/* ISO-2022-JP and HZ through a stateless charset's converter. */

void mimeo__x7_init(struct x7 *st, int kind)
{
	memset(st, 0, sizeof(*st));
	st->kind = (unsigned char)kind;
}

/* Index of the encoding whose converter reads what `kind` transcodes to:
 * windows-31j for ISO-2022-JP, GBK (a superset of EUC-CN) for HZ. */
int mimeo__x7_target(int kind)
{
	if (kind == ENC_JIS)
		return mimeo__charset_lookup("shift_jis", 9);
	return mimeo__charset_lookup("gbk", 3);
}

/* Transcode and convert through `cd`.  `tmp` is scratch space. */
int mimeo__x7_convert(iconv_t cd, struct x7 *st, const unsigned char *s, size_t n, int final,
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
	return mimeo__iconv_run(cd, &p, &len, 1, pairs, out, rep);
}

/* Whole-buffer ISO-2022-JP or HZ; -1 when this system has no converter for
 * the target charset. */
int mimeo__x7_whole(mimeo_charset_cache *cc, int kind, const unsigned char *s, size_t n,
		    mimeo_buf *out, unsigned *rep)
{
	int target = mimeo__x7_target(kind), rc;
	struct x7 st;
	mimeo_buf tmp;
	iconv_t cd = mimeo__charset_whole_cd(cc, target);

	if (cd == (iconv_t)-1)
		return -1;
	mimeo__x7_init(&st, kind);
	mimeo_buf_init(&tmp, cc->alloc);
	rc = mimeo__x7_convert(cd, &st, s, n, 1, &tmp, out, rep);
	mimeo_buf_dispose(&tmp);
	return rc;
}
