/*
 * convert.c - conversion to UTF-8: whole buffers (mimeo_charset_to_utf8, the
 * header decoders) and streams (mimeo_charset_conv); byte order marks.  Picks
 * the path per encoding: own UTF-8 validator, single-byte tables, ISO-2022-JP
 * / HZ transcoders, UTF-7 decoder, cached iconv for the rest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

#include <iconv.h>

/* Run `cd` over ordinary (not transcoded) input. */
static int iconv_run(iconv_t cd, const unsigned char **in, size_t *inleft, int final,
		     mimeo_buf *out, unsigned *rep)
{
	return mimeo__iconv_run(cd, in, inleft, final, PAIRS_NONE, out, rep);
}

/* A byte order mark at the start of a UTF-16/32 buffer overrides the
 * declared byte order (WHATWG "decode", RFC 2781 section 3.2); a UTF-8
 * BOM is dropped.  Returns the encoding to use and the BOM length. */
static int sniff_bom(int enc, const unsigned char *s, size_t n, size_t *bom)
{
	const char *name = mimeo__charset_encodings[enc].name;

	*bom = 0;
	if (mimeo__charset_encodings[enc].kind == ENC_UTF8) {
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
	if (mimeo__charset_encodings[enc].kind == ENC_UTF8)
		return 3;
	if (!strncmp(mimeo__charset_encodings[enc].name, "utf-16", 6))
		return 2;
	if (!strncmp(mimeo__charset_encodings[enc].name, "utf-32", 6))
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
		if (mimeo__ascii_prefix(s, n) != n)
			*rep |= flag | MIMEO_REPAIR_FALLBACK_UTF8;
		return mimeo_buf_put(out, s, n);
	}
	*rep |= flag | MIMEO_REPAIR_FALLBACK_CP1252;
	t = mimeo__sb_table(cc, cc->cp1252, &nomem);
	if (t)
		return mimeo__sb_convert(t, s, n, out, rep);
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
	switch (mimeo__charset_encodings[enc].kind) {
	case ENC_UTF8:
		if (mimeo_utf8_valid_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		return mimeo__utf8_repair_step(s, len, 1, out, rep, &used);
	case ENC_SB:
	case ENC_SBW:
		if (mimeo__ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		t = mimeo__sb_table(cc, enc, &nomem);
		if (t)
			return mimeo__sb_convert(t, s, len, out, rep);
		if (nomem)
			return MIMEO_ENOMEM;
		break;
	case ENC_XUD:
		return mimeo__xud_convert(s, len, out);
	case ENC_REPL:
		if (len == 0)
			return MIMEO_OK;
		*rep |= MIMEO_REPAIR_INVALID_SEQUENCE;
		return mimeo_buf_put(out, MIMEO__FFFD, 3);
	case ENC_UTF7: {
		struct utf7 st;

		memset(&st, 0, sizeof(st));
		return mimeo__utf7_step(&st, s, len, 1, out, rep);
	}
	case ENC_JIS:
	case ENC_HZ:
		/* Without its escape byte, ASCII is itself in either charset. */
		if (!memchr(s, mimeo__charset_encodings[enc].kind == ENC_JIS ? 0x1B : '~', len) &&
		    mimeo__ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		rc = mimeo__x7_whole(cc, mimeo__charset_encodings[enc].kind, s, len, out, rep);
		if (rc >= 0)
			return rc;
		if (mimeo__charset_encodings[enc].kind == ENC_HZ)
			break;
		goto use_iconv;
	case ENC_MB:
		if (mimeo__ascii_prefix(s, len) == len)
			return mimeo_buf_put(out, s, len);
		/* fall through */
	default:
	use_iconv:
		cd = mimeo__charset_whole_cd(cc, enc);
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
	CONV_X7,     /* ISO-2022-JP through CP932 or HZ through GBK, see mimeo__x7_convert() */
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

	if (!cc->slot[enc].busy && mimeo__charset_slot_cd(cc, enc) != (iconv_t)-1) {
		cc->slot[enc].busy = 1;
		cv->cd = cc->slot[enc].cd;
		cv->cd_slot = enc;
		return 1;
	}
	cv->cd = mimeo__charset_open_iconv(enc);
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
	switch (mimeo__charset_encodings[enc].kind) {
	case ENC_UTF8:
		cv->mode = CONV_UTF8;
		return MIMEO_OK;
	case ENC_SB:
	case ENC_SBW:
		cv->mode = CONV_SB;
		if (mimeo__sb_table(cc, enc, &nomem))
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
		mimeo__x7_init(&cv->x7, mimeo__charset_encodings[enc].kind);
		if (conv_take_cd(cv, mimeo__x7_target(mimeo__charset_encodings[enc].kind))) {
			cv->mode = CONV_X7;
			return MIMEO_OK;
		}
		if (mimeo__charset_encodings[enc].kind == ENC_HZ)
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

int mimeo_charset_conv_new(mimeo_charset_conv **out, mimeo_charset_cache *cc,
			   const char *label, size_t label_len)
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
		int r = mimeo__utf8_copy_valid(s, n, &i, out, &cv->saw_8bit, &k);

		if (r < 0)
			return r;
		if (r > 0 || (k == 0 && !final))
			break;
		cv->repairs |= cv->unknown_flag | MIMEO_REPAIR_FALLBACK_CP1252;
		if ((rc = conv_setup(cv, mimeo__charset_enc_cp1252())))
			return rc;
		if (cv->mode != CONV_SB)   /* no CP1252 here: repair instead */
			return mimeo__utf8_repair_step(s + i, n - i, 1, out, &cv->repairs, used) ?
				MIMEO_ENOMEM : (*used += i, MIMEO_OK);
		rc = mimeo__sb_convert(cv->cc->slot[cv->cur].sb, s + i, n - i, out, &cv->repairs);
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
		return mimeo__utf8_repair_step(s, n, final, out, &cv->repairs, used);
	case CONV_SNIFF:
		return sniff_step(cv, s, n, final, out, used);
	case CONV_SB:
		return mimeo__sb_convert(cv->cc->slot[cv->cur].sb, s, n, out, &cv->repairs);
	case CONV_XUD:
		return mimeo__xud_convert(s, n, out);
	case CONV_REPL:
		if (n == 0 || cv->repl_done)
			return MIMEO_OK;
		cv->repl_done = 1;
		cv->repairs |= MIMEO_REPAIR_INVALID_SEQUENCE;
		return mimeo_buf_put(out, MIMEO__FFFD, 3);
	case CONV_ICONV:
		rc = iconv_run(cv->cd, &p, &left, final, out, &cv->repairs);
		*used = n - left;
		return rc;
	case CONV_X7:
		return mimeo__x7_convert(cv->cd, &cv->x7, s, n, final, &cv->tmp, out, &cv->repairs);
	case CONV_UTF7:
		return mimeo__utf7_step(&cv->utf7, s, n, final, out, &cv->repairs);
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
				return mimeo_buf_put(out, MIMEO__FFFD, 3);
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
			if ((rc = mimeo_buf_put(out, MIMEO__FFFD, 3)))
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
			if ((rc = mimeo_buf_put(out, MIMEO__FFFD, 3)))
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
	return mimeo__charset_encodings[cv->cur].name;
}

void mimeo_charset_conv_free(mimeo_charset_conv *cv)
{
	if (!cv)
		return;
	conv_release_cd(cv);
	mimeo_buf_dispose(&cv->tmp);
	mimeo__free(cv->cc->alloc, cv);
}
