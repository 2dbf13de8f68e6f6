/*
 * fuzz_tnef.c - the TNEF reader and LZFu decompression on hostile input.
 *
 * Input: [mode byte] [stream...].  The stream (attributes with hostile
 * lengths and checksums, MAPI property lists with hostile counts, named
 * properties, multi-valued values, compressed RTF) goes through:
 *
 *  - the attribute reader: every attribute lies inside the input, in
 *    order, without overlap; the property reader over every attribute's
 *    data, every value of every property read back with
 *    mimeo_tnef_prop_value() and found inside the attribute;
 *  - mimeo_tnef_open(): every item's bytes are read (ASan sees a bad
 *    pointer), text names are NUL-terminated, embedded messages are opened
 *    in turn (a few levels deep);
 *  - mimeo_rtf_decompress() straight on the stream (mode bit 0): the
 *    output never exceeds 8 times the input plus a little, whatever the
 *    header claims.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static unsigned sink;

static void touch(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sink += p[i];
}

static int inside(const unsigned char *p, size_t n, const unsigned char *base, size_t len)
{
	return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

static void walk(const uint8_t *data, size_t size)
{
	mimeo_tnef_reader r;
	mimeo_tnef_attr a;
	size_t next = 6;

	if (mimeo_tnef_reader_init(&r, data, size) != MIMEO_OK)
		return;
	while (mimeo_tnef_reader_next(&r, &a) == MIMEO_OK) {
		mimeo_tnef_props pr;
		mimeo_tnef_prop p = { 0 };

		FZ_CHECK(a.offset == next);
		FZ_CHECK(inside(a.data, a.len, data, size));
		next = a.offset + a.len + 11;
		FZ_CHECK(next <= size);
		if (mimeo_tnef_props_init(&pr, a.data, a.len) != MIMEO_OK)
			continue;
		while (mimeo_tnef_props_next(&pr, &p) == MIMEO_OK) {
			uint32_t i;

			if (p.count)
				FZ_CHECK(inside(p.value, p.value_len, a.data, a.len));
			if (p.name)
				FZ_CHECK(inside(p.name, p.name_len, a.data, a.len));
			/* Values are walked from the start each time: cap the
			 * quadratic cost of a huge multi-valued list. */
			for (i = 0; i < p.count && i < 64; i++) {
				const unsigned char *v;
				size_t vl;

				FZ_CHECK(mimeo_tnef_prop_value(&p, i, &v, &vl) == MIMEO_OK);
				FZ_CHECK(inside(v, vl, a.data, a.len));
			}
		}
	}
}

static void open_all(const uint8_t *data, size_t size, int depth)
{
	mimeo_tnef *t;
	size_t i;
	int rc = mimeo_tnef_open(&t, data, size, NULL);

	if (rc != MIMEO_OK) {
		FZ_CHECK(rc == MIMEO_EPARSE || rc == MIMEO_ELIMIT);
		FZ_CHECK(t == NULL);
		return;
	}
	for (i = 0; i < mimeo_tnef_count(t); i++) {
		const mimeo_tnef_item *it = mimeo_tnef_item_at(t, i);

		FZ_CHECK(it && it->filename && it->mime_type && it->data);
		FZ_CHECK(strlen(it->filename) < size * 2 + 16);
		FZ_CHECK(it->size <= size * 8 + 64);
		touch(it->data, it->size);
		if (it->content_id)
			touch((const unsigned char *)it->content_id, strlen(it->content_id));
		if (it->embedded && depth < 3)
			open_all(it->data, it->size, depth + 1);
	}
	FZ_CHECK(mimeo_tnef_item_at(t, mimeo_tnef_count(t)) == NULL);
	mimeo_tnef_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t mode = fz_byte(&in);
	uint8_t *copy;

	if (in.size == 0)
		return 0;
	/* A copy of exactly the stream's size: ASan sees a read past it. */
	copy = fz_dup(in.data, in.size);

	walk(copy, in.size);
	open_all(copy, in.size, 0);
	if (mode & 1) {
		mimeo_buf b = MIMEO_BUF_INIT;
		unsigned rep = 0;
		int rc = mimeo_rtf_decompress(copy, in.size, &b, &rep);

		FZ_CHECK(rc == MIMEO_OK || rc == MIMEO_EPARSE);
		FZ_CHECK(b.size <= in.size * 8 + 64);
		mimeo_buf_dispose(&b);
	}
	free(copy);
	return 0;
}
