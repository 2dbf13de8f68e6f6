/*
 * fuzz_expand.c - derived children (mimeo_message_expand): TNEF items and
 * uuencoded / yEnc files found in text bodies, on hostile input.
 *
 * Input: [mode byte] [data...].  Mode & 3 picks what the data is:
 *   0  a whole message;
 *   1  the body of a text/plain message (the block scanners see it all);
 *   2  the body of an application/ms-tnef message (binary, so the TNEF
 *      reader sees it all);
 *   3  the body of a quoted-printable text/plain message (the blocks are
 *      found in decoded content, produced again by decoding the parent).
 * Mode bit 2 parses from a copy the message keeps, else borrowed.
 *
 * Checked: expanding succeeds (or fails with ENOMEM only); every derived
 * node is a leaf under a leaf, its section is its parent's plus ".N", its
 * content has exactly mimeo_part_size() bytes, twice the same (produced
 * again from the parent each time), and mimeo_part_write_raw() gives the
 * same bytes; yEnc figures are there only for yEnc nodes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct acc {
	uint64_t n;
	uint32_t sum;
} acc;

static int acc_write(const void *data, size_t len, void *ctx)
{
	acc *a = ctx;
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		a->sum = a->sum * 31u + p[i];
	a->n += len;
	return 0;
}

static void check(const mimeo_message *m)
{
	const mimeo_part *p;
	size_t count = 0;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		const mimeo_part *parent = mimeo_part_parent(p);
		acc a = { 0, 0 }, b = { 0, 0 }, c = { 0, 0 };
		mimeo_yenc_info yi;
		unsigned kind = mimeo_part_derived(p);
		size_t plen;
		int rc;

		count++;
		if (!kind) {
			FZ_CHECK(!(mimeo_part_flags(p) & MIMEO_PART_DERIVED));
			continue;
		}
		FZ_CHECK(mimeo_part_flags(p) & MIMEO_PART_DERIVED);
		FZ_CHECK(mimeo_part_is_leaf(p) && parent && mimeo_part_is_leaf(parent));
		plen = strlen(mimeo_part_section(parent));
		FZ_CHECK(strncmp(mimeo_part_section(p), mimeo_part_section(parent), plen) == 0);
		FZ_CHECK(!plen || mimeo_part_section(p)[plen] == '.');
		FZ_CHECK(mimeo_part_header_count(p) == 0);
		FZ_CHECK((mimeo_part_yenc_info(p, &yi) == MIMEO_OK) == (kind == MIMEO_EXPAND_YENC));
		/* the input is in memory: out of memory is the only failure
		 * (MIMEO_EIO would mean the content produced again differs
		 * from what expanding found) */
		rc = mimeo_part_decode(p, 0, NULL, acc_write, &a, NULL);
		FZ_CHECK(rc == MIMEO_OK || rc == MIMEO_ENOMEM);
		if (rc != MIMEO_OK)
			continue;
		FZ_CHECK(a.n == mimeo_part_size(p));
		FZ_CHECK(mimeo_part_decode(p, 0, NULL, acc_write, &b, NULL) == MIMEO_OK);
		FZ_CHECK(a.n == b.n && a.sum == b.sum);
		FZ_CHECK(mimeo_part_write_raw(p, acc_write, &c) == MIMEO_OK);
		FZ_CHECK(a.n == c.n && a.sum == c.sum);
	}
	FZ_CHECK(count == mimeo_message_part_count(m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *heads[] = {
		"",
		"Content-Type: text/plain\r\n\r\n",
		"Content-Type: application/ms-tnef\r\nContent-Transfer-Encoding: binary\r\n\r\n",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
	};
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_expand_options eo = MIMEO_EXPAND_OPTIONS_INIT;
	fz_input in = { data, size };
	uint8_t mode = fz_byte(&in);
	const char *head = heads[mode & 3];
	size_t hlen = strlen(head);
	mimeo_message *m = NULL;
	uint8_t *msg;
	int rc;

	/* a message of exactly its size: ASan sees a read past it */
	msg = fz_xmalloc(hlen + in.size);
	memcpy(msg, head, hlen);
	if (in.size)
		memcpy(msg + hlen, in.data, in.size);
	if (!(mode & 4))
		o.flags |= MIMEO_MESSAGE_BORROW;
	if (mimeo_message_parse_buffer(&m, msg, hlen + in.size, &o) != MIMEO_OK) {
		free(msg);
		return 0;
	}
	eo.max_children = 256; /* keeps each run short */
	rc = mimeo_message_expand(m, &eo);
	FZ_CHECK(rc == MIMEO_OK || rc == MIMEO_ENOMEM);
	check(m);
	mimeo_message_free(m);
	free(msg);
	return 0;
}
