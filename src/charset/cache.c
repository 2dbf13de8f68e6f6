/*
 * cache.c - the charset cache: recently seen labels, one cached iconv
 * descriptor (and single-byte table) per encoding, scratch buffers lent to
 * the header decoders.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "charset-impl.h"

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
	cc->cp1252 = mimeo__charset_enc_cp1252();
	for (i = 0; i < MIMEO__ENC_COUNT; i++)
		cc->slot[i].cd = cc->slot[i].spare = (iconv_t)-1;
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
	for (i = 0; i < MIMEO__ENC_COUNT; i++) {
		if (cc->slot[i].state == 1)
			iconv_close(cc->slot[i].cd);
		if (cc->slot[i].spare_state == 1)
			iconv_close(cc->slot[i].spare);
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

	if (len == 0 || len > MIMEO__LABEL_MAX)
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

/* Open an iconv descriptor from encoding `enc` to UTF-8, trying each of
 * its iconv names.  (iconv_t)-1 when none exists. */
iconv_t mimeo__charset_open_iconv(int enc)
{
	const char *p = mimeo__charset_encodings[enc].iconv;
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
iconv_t mimeo__charset_slot_cd(mimeo_charset_cache *cc, int enc)
{
	struct slot *s = &cc->slot[enc];

	if (s->state == 0) {
		cc->opens++;
		s->cd = mimeo__charset_open_iconv(enc);
		s->state = s->cd == (iconv_t)-1 ? -1 : 1;
	}
	return s->state == 1 ? s->cd : (iconv_t)-1;
}

/* A descriptor of `enc` for one whole-buffer conversion: the slot's own, or
 * when a streaming converter has borrowed that, the slot's spare (reset
 * first: a conversion that failed half-way may have left a shift state). */
iconv_t mimeo__charset_whole_cd(mimeo_charset_cache *cc, int enc)
{
	struct slot *s = &cc->slot[enc];

	if (!s->busy)
		return mimeo__charset_slot_cd(cc, enc);
	if (s->spare_state == 0) {
		cc->opens++;
		s->spare = mimeo__charset_open_iconv(enc);
		s->spare_state = s->spare == (iconv_t)-1 ? -1 : 1;
	}
	if (s->spare_state != 1)
		return (iconv_t)-1;
	iconv(s->spare, NULL, NULL, NULL, NULL);
	return s->spare;
}
