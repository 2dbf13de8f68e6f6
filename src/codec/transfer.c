/*
 * transfer.c - Content-Transfer-Encoding names (RFC 2045 section 6.1) and
 * the generic body decoder the parser runs on every leaf.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "codec-priv.h"
#include "common-priv.h"

#include <string.h>

/* Skip folding whitespace and RFC 5322 comments (nested, with quoted
 * pairs) starting at i. */
static size_t skip_cfws(const char *s, size_t len, size_t i)
{
	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else if (c == '(') {
			unsigned depth = 0;

			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i < len)
				i++;
		} else {
			break;
		}
	}
	return i;
}

mimeo_cte mimeo_cte_parse(const char *value, size_t len)
{
	static const struct {
		const char *name;
		mimeo_cte cte;
	} names[] = {
		{ "7bit", MIMEO_CTE_7BIT },
		{ "8bit", MIMEO_CTE_8BIT },
		{ "binary", MIMEO_CTE_BINARY },
		{ "base64", MIMEO_CTE_BASE64 },
		{ "quoted-printable", MIMEO_CTE_QP },
		{ "x-uuencode", MIMEO_CTE_UUENCODE },
		{ "x-uue", MIMEO_CTE_UUENCODE },
		{ "uuencode", MIMEO_CTE_UUENCODE },
		{ "uue", MIMEO_CTE_UUENCODE },
	};
	size_t i, start, k;

	if (!value)
		return MIMEO_CTE_NONE;
	i = skip_cfws(value, len, 0);
	/* Some senders quote the value; accept it. */
	if (i < len && value[i] == '"')
		i++;
	start = i;
	while (i < len && value[i] != ' ' && value[i] != '\t' && value[i] != '\r' &&
	       value[i] != '\n' && value[i] != '(' && value[i] != ';' && value[i] != '"')
		i++;
	if (i == start)
		return MIMEO_CTE_NONE;
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (mimeo__ascii_ieq(value + start, i - start, names[k].name))
			return names[k].cte;
	}
	return MIMEO_CTE_UNKNOWN;
}

const char *mimeo_cte_name(mimeo_cte cte)
{
	switch (cte) {
	case MIMEO_CTE_NONE:
		return "";
	case MIMEO_CTE_7BIT:
		return "7bit";
	case MIMEO_CTE_8BIT:
		return "8bit";
	case MIMEO_CTE_BINARY:
		return "binary";
	case MIMEO_CTE_BASE64:
		return "base64";
	case MIMEO_CTE_QP:
		return "quoted-printable";
	case MIMEO_CTE_UUENCODE:
		return "x-uuencode";
	case MIMEO_CTE_UNKNOWN:
		break;
	}
	return "unknown";
}

void mimeo_transfer_decoder_init(mimeo_transfer_decoder *d, mimeo_cte cte, mimeo_isa isa)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
	switch (cte) {
	case MIMEO_CTE_BASE64:
		mimeo_b64_decoder_init(&d->u.b64, isa);
		break;
	case MIMEO_CTE_QP:
		mimeo_qp_decoder_init(&d->u.qp, isa);
		break;
	case MIMEO_CTE_UUENCODE:
		mimeo_uu_decoder_init(&d->u.uu);
		break;
	default:
		break;
	}
}

size_t mimeo_transfer_decode_step(mimeo_transfer_decoder *d, const void *in, size_t len,
				  void *out)
{
	switch (d->cte) {
	case MIMEO_CTE_BASE64:
		return mimeo_b64_decode_step(&d->u.b64, in, len, out);
	case MIMEO_CTE_QP:
		return mimeo_qp_decode_step(&d->u.qp, in, len, out);
	case MIMEO_CTE_UUENCODE:
		return mimeo_uu_decode_step(&d->u.uu, in, len, out);
	default:
		if (len)
			memcpy(out, in, len);
		return len;
	}
}

size_t mimeo_transfer_decode_finish(mimeo_transfer_decoder *d, void *out)
{
	switch (d->cte) {
	case MIMEO_CTE_BASE64:
		return mimeo_b64_decode_finish(&d->u.b64, out);
	case MIMEO_CTE_QP:
		return mimeo_qp_decode_finish(&d->u.qp, out);
	case MIMEO_CTE_UUENCODE:
		return mimeo_uu_decode_finish(&d->u.uu, out);
	default:
		return 0;
	}
}

uint64_t mimeo_transfer_decoder_invalid(const mimeo_transfer_decoder *d)
{
	switch (d->cte) {
	case MIMEO_CTE_BASE64:
		return d->u.b64.invalid + d->u.b64.trailing;
	case MIMEO_CTE_QP:
		return d->u.qp.invalid;
	case MIMEO_CTE_UUENCODE:
		return d->u.uu.invalid;
	default:
		return 0;
	}
}
