/*
 * fuzz_address.c - RFC 5322 address lists on hostile input.
 *
 * Input: [options byte] [address list bytes...]
 *   options bits 0-2: default charset, bit 3: STRICT, bit 5: no cache,
 *   bit 6: memory from a counting allocator given in the options.
 * Checks:
 *   - parsing takes any bytes; every entry has a local part, or is the
 *     single entry of an empty group (only `group` set); every string is
 *     valid UTF-8 (address.h: "All strings are UTF-8");
 *   - the anti-spoofing rule of address.h (CVE-2023-27043, MimeKit#503):
 *     the list is parsed again with the text of every encoded word
 *     replaced by a harmless "x"; the number of entries and every local
 *     part and domain must stay the same, so decoded "<", "@" or "," inside
 *     a display name can never create, hide or move an address;
 *   - with bit 6, every block the lists took from the options' allocator
 *     is given back by mimeo_address_list_free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static void check_str(const char *s)
{
	if (s)
		FZ_CHECK(fz_utf8_valid(s, strlen(s)));
}

static void check_list(const mimeo_address_list *l)
{
	size_t i;

	FZ_CHECK(l->count == 0 || l->items != NULL);
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];

		if (!a->local_part)
			FZ_CHECK(a->group && !a->domain && !a->display_name);
		check_str(a->display_name);
		check_str(a->local_part);
		check_str(a->domain);
		check_str(a->group);
	}
}

/* Length of an encoded word "=?cs?e?text?=" at s whose text has only
 * characters that are inert in every RFC 5322 context, else 0. */
static size_t inert_word(const char *s, size_t n, size_t *text_at, size_t *text_len)
{
	size_t i = 2, q;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	while (i < n && s[i] != '?' && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
					(s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
		i++;
	if (i == 2 || i + 3 >= n || s[i] != '?' || !strchr("bBqQ", s[i + 1]) || s[i + 2] != '?')
		return 0;
	q = i + 3;
	for (i = q; i + 1 < n && !(s[i] == '?' && s[i + 1] == '='); i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("+/=_-", s[i])))
			return 0;
	if (i + 1 >= n)
		return 0;
	*text_at = q;
	*text_len = i - q;
	return i + 2;
}

static int has_ew(const char *s)
{
	return s && strstr(s, "=?") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t o = fz_byte(&in);
	mimeo_header_options opts = MIMEO_HEADER_OPTIONS_INIT;
	fz_count_alloc ca;
	mimeo_charset_cache *cc = NULL;
	mimeo_address_list *l = NULL, *l2 = NULL;
	const char *s;
	char *neutral;
	size_t i, k = 0, changed = 0;

	if (!fz_header_options(o, &opts, &ca, &cc))
		return 0;
	s = (const char *)in.data;

	FZ_CHECK(mimeo_address_list_parse(&l, cc, &opts, s, in.size) == MIMEO_OK);
	check_list(l);

	/* the same list with every inert encoded word's text made harmless */
	neutral = fz_xmalloc(in.size * 2 + 1); /* an empty text grows by one */
	for (i = 0; i < in.size;) {
		size_t at, tl, wl = inert_word(s + i, in.size - i, &at, &tl);

		if (wl) {
			memcpy(neutral + k, s + i, at);
			k += at;
			neutral[k++] = 'x';
			memcpy(neutral + k, "?=", 2);
			k += 2;
			i += wl;
			changed = 1;
		} else {
			neutral[k++] = s[i++];
		}
	}
	if (changed) {
		FZ_CHECK(mimeo_address_list_parse(&l2, cc, &opts, neutral, k) == MIMEO_OK);
		check_list(l2);
		if (l->count != l2->count) {
			fprintf(stderr, "decoded text changed the address count: %zu vs %zu\n",
				l->count, l2->count);
			abort();
		}
		for (i = 0; i < l->count; i++) {
			const mimeo_address *a = &l->items[i], *b = &l2->items[i];

			FZ_CHECK(!a->local_part == !b->local_part);
			FZ_CHECK(!a->domain == !b->domain);
			if (a->local_part && !has_ew(a->local_part) && !has_ew(b->local_part))
				FZ_CHECK(strcmp(a->local_part, b->local_part) == 0);
			if (a->domain && !has_ew(a->domain) && !has_ew(b->domain))
				FZ_CHECK(strcmp(a->domain, b->domain) == 0);
		}
		mimeo_address_list_free(l2);
	}
	free(neutral);
	mimeo_address_list_free(l);
	mimeo_charset_cache_free(cc);
	FZ_CHECK(ca.live == 0);
	FZ_CHECK(!(o & 64) == !ca.calls); /* used exactly when given */
	return 0;
}
