/*
 * iconv.c - running an iconv descriptor over a buffer: U+FFFD for
 * invalid and truncated input, shift state flushed at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"
#include <errno.h>

/* Whether `b` starts a two-byte character of a transcoded stream. */
static int pair_lead(int pairs, unsigned char b)
{
	if (pairs == PAIRS_SJIS)
		return (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC);
	return pairs == PAIRS_EUC && b >= 0xA1 && b <= 0xFE;
}

/* Whether `b` can end a two-byte character of a transcoded stream.  A
 * lead byte followed by anything else is skipped alone: the transcoders
 * never make such a pair, and swallowing the byte after it would make the
 * output depend on where a stream was split. */
static int pair_trail(int pairs, unsigned char b)
{
	if (pairs == PAIRS_SJIS)
		return (b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC);
	return pairs == PAIRS_EUC && b >= 0xA1 && b <= 0xFE;
}

/* Run `cd` over *in.  EILSEQ: one U+FFFD per skipped byte, the rest is
 * converted.  EINVAL (input ends inside a character): kept in *in unless
 * `final`, which replaces it with U+FFFD.  `final` also flushes the shift
 * state and resets `cd` for reuse.  `pairs`: the input was made by a
 * transcoder, where a lead byte always starts a two-byte character; an
 * unmapped pair is skipped whole, so the trail byte is never read as a
 * character of its own (that made the output depend on the split). */
int mimeo__iconv_run(iconv_t cd, const unsigned char **in, size_t *inleft, int final,
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
		if ((rc = mimeo_buf_put(out, MIMEO__FFFD, 3)))
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
		if (*inleft >= 2 && pair_lead(pairs, (*in)[0]) && pair_trail(pairs, (*in)[1])) {
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
