/*
 * fuzz_param.c - Content-Type / Content-Disposition values and RFC 2231
 * parameters, both directions.
 *
 * Input: [options byte] [name byte] [bytes...]
 *   options bits 0-2: default charset, bit 3: STRICT, bit 4: fold with CRLF,
 *   bit 5: no charset cache, bit 6: the field's memory from a counting
 *   allocator given in the options (all of it given back by its _free);
 *   name byte: which parameter name to encode.
 * Checks:
 *   - mimeo_mime_field_parse takes any bytes: type and subtype lowercase,
 *     parameter names lowercase and unique, every value valid UTF-8 (the
 *     harness's own validator), and mimeo_mime_field_param finds each
 *     parameter's value under its name in any case;
 *   - mimeo_param_encode of the bytes as a value gives 7-bit output with
 *     folds of a line break + tab and lines of at most 998 octets, and
 *     parsing "application/x-fuzz; " + that output gives the value back
 *     exactly (param.h's promise), for valid UTF-8 values without NUL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <ctype.h>
#include <mimeo.h>

static const char *const names[] = {
	"filename", "name", "charset", "boundary", "x-a", "FileName",
	"a-very-long-parameter-name-that-already-fills-a-good-part-of-the-line",
	"n", "title", "x_y.z", "format", "delsp", "creation-date",
};

static int has_upper(const char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

static void check_field(const mimeo_mime_field *f)
{
	size_t i, j;

	FZ_CHECK(f->type != NULL);
	FZ_CHECK(!has_upper(f->type) && !has_upper(f->subtype));
	/* type and subtype are raw tokens: 8-bit bytes are kept as they are
	 * (param.h promises UTF-8 for values only) */
	FZ_CHECK(f->nparams == 0 || f->params != NULL);
	for (i = 0; i < f->nparams; i++) {
		const mimeo_param *p = &f->params[i];
		char upper[256];
		size_t k, n = strlen(p->name);

		FZ_CHECK(p->name != NULL && p->value != NULL);
		FZ_CHECK(!has_upper(p->name));
		FZ_CHECK(fz_utf8_valid(p->value, strlen(p->value)));
		for (j = 0; j < i; j++)
			FZ_CHECK(strcmp(f->params[j].name, p->name) != 0);
		FZ_CHECK(mimeo_mime_field_param(f, p->name) == p->value);
		if (n < sizeof(upper)) {
			for (k = 0; k <= n; k++)
				upper[k] = (char)toupper((unsigned char)p->name[k]);
			FZ_CHECK(mimeo_mime_field_param(f, upper) == p->value);
		}
	}
	FZ_CHECK(mimeo_mime_field_param(f, NULL) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t o = fz_byte(&in), nb = fz_byte(&in);
	const char *name = names[nb % (sizeof(names) / sizeof(names[0]))];
	mimeo_header_options opts = MIMEO_HEADER_OPTIONS_INIT;
	fz_count_alloc ca;
	mimeo_charset_cache *cc = NULL;
	mimeo_mime_field *f = NULL;
	unsigned flags = (o & 16) ? MIMEO_HEADER_FOLD_CRLF : 0;
	mimeo_buf b = MIMEO_BUF_INIT;
	const char *s = (const char *)in.data;

	if (!fz_header_options(o, &opts, &ca, &cc))
		return 0;

	FZ_CHECK(mimeo_mime_field_parse(&f, cc, &opts, s, in.size) == MIMEO_OK);
	check_field(f);
	mimeo_mime_field_free(f);
	f = NULL;
	FZ_CHECK(ca.live == 0);
	FZ_CHECK(!(o & 64) == !ca.calls); /* used exactly when given */

	FZ_CHECK(mimeo_param_encode(name, s, in.size, 14 + (nb >> 4) * 4, flags, &b) == MIMEO_OK);
	fz_check_folded(&b, flags, 0);
	if (fz_utf8_valid(in.data, in.size) && !memchr(in.data, 0, in.size)) {
		mimeo_buf field = MIMEO_BUF_INIT;
		const char *v;

		FZ_CHECK(mimeo_buf_puts(&field, "application/x-fuzz; ") == MIMEO_OK);
		FZ_CHECK(mimeo_buf_put(&field, b.ptr ? b.ptr : "", b.size) == MIMEO_OK);
		FZ_CHECK(mimeo_mime_field_parse(&f, cc, NULL, field.ptr, field.size) == MIMEO_OK);
		check_field(f);
		v = mimeo_mime_field_param(f, name);
		if (!v || strlen(v) != in.size || memcmp(v, s, in.size) != 0) {
			fprintf(stderr, "param round trip differs:\n in  [%.*s]\n enc [%s]\n out [%s]\n",
				(int)in.size, s, field.ptr, v ? v : "(null)");
			abort();
		}
		mimeo_mime_field_free(f);
		mimeo_buf_dispose(&field);
	}
	mimeo_buf_dispose(&b);
	mimeo_charset_cache_free(cc);
	return 0;
}
