/*
 * fuzz_mailbox.c - the mailbox reader's splitting and offsets against the
 * push parser, on hostile mboxes.
 *
 * Input: [options byte] [cut byte] [mailbox...]
 *   options bit 0: MIMEO_MAILBOX_FORCE_MBOX; bit 1: the scalar line
 *   scanner (else the best ISA); bits 2-3: parser ISA for the reference
 *   parse; cut byte: seeds the cut points of the range check.
 * Checks:
 *   - the index tiles the input: message 1 at 0, each next one at the end
 *     of the previous plus the separator line break (LF or CRLF), the last
 *     ending at the end of the input; a single file is one message;
 *   - an mbox parsed whole with MIMEO_PARSE_MBOX reports message_begin at
 *     exactly the indexed offsets, in the same number;
 *   - each message parsed alone (its bytes copied into an exact-size heap
 *     block, MIMEO_PARSE_MBOX) is one message with the same leaf count and
 *     the same decoded bytes (a hash of them) as in the whole parse:
 *     what `scan -j N` relies on for equal counts at every N;
 *   - mimeo_mailbox_next_from(p) from arbitrary p is the first indexed
 *     offset >= max(p, 1), so ranges cut anywhere agree with the index;
 *   - mimeo_mailbox_parse gives a tree for every message, and
 *     mimeo_mailbox_message past the end fails with MIMEO_ENOTFOUND;
 *   - mimeo_mailbox_open_range of the input as a file (a memfd), cut in
 *     two at arbitrary points: the two indexes are the whole one, each
 *     message once, numbered from 1 in each range (extract --all -j).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include "fuzz_util.h"

#include <mimeo.h>

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXMSG 4096

typedef struct stats {
	size_t n;                 /* messages seen */
	uint64_t off[MAXMSG];     /* message_begin offsets */
	uint64_t leaves[MAXMSG];  /* leaf part_end count per message */
	uint64_t bytes[MAXMSG];   /* decoded bytes per message */
	uint64_t hash[MAXMSG];    /* FNV-1a of decoded bytes per message */
} stats;

static int on_begin(const mimeo_part_info *msg, uint64_t offset, void *user)
{
	stats *s = user;

	(void)msg;
	if (s->n < MAXMSG) {
		s->off[s->n] = offset;
		s->leaves[s->n] = s->bytes[s->n] = 0;
		s->hash[s->n] = 1469598103934665603ULL;
	}
	s->n++;
	return 0;
}

static int on_body(const mimeo_part_info *part, const char *data, size_t len, void *user)
{
	stats *s = user;
	size_t i;

	(void)part;
	if (s->n == 0 || s->n > MAXMSG)
		return 0;
	s->bytes[s->n - 1] += len;
	for (i = 0; i < len; i++)
		s->hash[s->n - 1] = (s->hash[s->n - 1] ^ (uint8_t)data[i]) * 1099511628211ULL;
	return 0;
}

static int on_part_end(const mimeo_part_info *part, void *user)
{
	stats *s = user;

	if ((part->flags & MIMEO_PART_LEAF) && s->n && s->n <= MAXMSG)
		s->leaves[s->n - 1]++;
	return 0;
}

static const mimeo_parser_callbacks cbs = {
	MIMEO_PARSER_CALLBACKS_VERSION,
	on_begin, NULL, NULL, NULL, on_body, NULL, NULL, on_part_end, NULL, NULL,
};

static void parse(const char *data, size_t len, unsigned flags, mimeo_isa isa, stats *s)
{
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *p = NULL;

	po.flags = flags;
	po.isa = isa;
	memset(s, 0, sizeof(*s));
	FZ_CHECK(mimeo_parser_new(&p, &po, &cbs, s) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_feed(p, data, len) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_finish(p) == MIMEO_OK);
	mimeo_parser_free(p);
}

static stats whole, one;

/* The messages of `part` are those of `whole` from number `from` on. */
static void same_entries(mimeo_mailbox *whole_mb, mimeo_mailbox *part, size_t from)
{
	mimeo_mailbox_entry a, b;
	size_t k;

	for (k = 1; k <= mimeo_mailbox_count(part); k++) {
		FZ_CHECK(mimeo_mailbox_entry_get(part, k, &b) == MIMEO_OK);
		FZ_CHECK(mimeo_mailbox_entry_get(whole_mb, from + k - 1, &a) == MIMEO_OK);
		FZ_CHECK(b.number == k && a.offset == b.offset && a.size == b.size);
	}
}

/* The input as a file cut in two at a few points: [0, c) and [c, end)
 * index the whole file's messages, each once. */
static void check_ranges(mimeo_mailbox *mb, const char *buf, size_t len,
			 const mimeo_mailbox_options *mo, uint64_t *rng)
{
	char path[64];
	int fd, i;

	if (len >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b)
		return; /* a file would be inflated: another input */
	fd = memfd_create("fuzz-mailbox", MFD_CLOEXEC);
	if (fd < 0)
		return;
	FZ_CHECK(write(fd, buf, len) == (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (i = 0; i < 2; i++) {
		uint64_t c = fz_rng(rng) % (len + 2);
		mimeo_mailbox *a = NULL, *b = NULL;

		FZ_CHECK(mimeo_mailbox_open_range(&a, path, 0, c, mo) == MIMEO_OK);
		FZ_CHECK(mimeo_mailbox_open_range(&b, path, c, UINT64_MAX - c, mo) == MIMEO_OK);
		FZ_CHECK(mimeo_mailbox_count(a) + mimeo_mailbox_count(b) == mimeo_mailbox_count(mb));
		same_entries(mb, a, 1);
		same_entries(mb, b, mimeo_mailbox_count(a) + 1);
		mimeo_mailbox_free(a);
		mimeo_mailbox_free(b);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mimeo_mailbox_options mo = MIMEO_MAILBOX_OPTIONS_INIT;
	static const mimeo_isa isas[4] = { MIMEO_ISA_AUTO, MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2,
					   MIMEO_ISA_AVX512 };
	fz_input in = { data, size };
	uint8_t opt = fz_byte(&in), cut = fz_byte(&in);
	char *buf = fz_dup(in.data, in.size);
	size_t len = in.size, i, n;
	mimeo_mailbox *mb = NULL;
	mimeo_mailbox_entry e;
	uint64_t rng = cut;
	const char *md;
	size_t mlen;

	mo.flags = opt & 1 ? MIMEO_MAILBOX_FORCE_MBOX : 0;
	mo.isa = opt & 2 ? MIMEO_ISA_SCALAR : MIMEO_ISA_AUTO;
	FZ_CHECK(mimeo_mailbox_open_buffer(&mb, buf, len, &mo) == MIMEO_OK);
	n = mimeo_mailbox_count(mb);
	FZ_CHECK(mimeo_mailbox_size(mb) == len);
	FZ_CHECK(mimeo_mailbox_entry_get(mb, 0, &e) == MIMEO_ENOTFOUND);
	FZ_CHECK(mimeo_mailbox_entry_get(mb, n + 1, &e) == MIMEO_ENOTFOUND);
	FZ_CHECK(mimeo_mailbox_message(mb, n + 1, &md, &mlen) == MIMEO_ENOTFOUND);

	check_ranges(mb, buf, len, &mo, &rng);
	if (mimeo_mailbox_type(mb) == MIMEO_MAILBOX_SINGLE) {
		FZ_CHECK(n == 1 && len > 0);
		FZ_CHECK(mimeo_mailbox_entry_get(mb, 1, &e) == MIMEO_OK);
		FZ_CHECK(e.offset == 0 && e.size == len);
		FZ_CHECK(mimeo_mailbox_parse_flags(mb) == 0);
		goto out;
	}
	FZ_CHECK(mimeo_mailbox_type(mb) == MIMEO_MAILBOX_MBOX);
	FZ_CHECK(mimeo_mailbox_parse_flags(mb) == MIMEO_PARSE_MBOX);
	FZ_CHECK((n == 0) == (len == 0));

	/* the index tiles the input */
	for (i = 1; i <= n; i++) {
		mimeo_mailbox_entry nx;
		uint64_t end;

		FZ_CHECK(mimeo_mailbox_entry_get(mb, i, &e) == MIMEO_OK);
		FZ_CHECK(e.number == i && e.path == NULL);
		end = e.offset + e.size;
		FZ_CHECK(end <= len);
		if (i == 1)
			FZ_CHECK(e.offset == 0);
		if (i == n) {
			FZ_CHECK(end == len);
			continue;
		}
		FZ_CHECK(mimeo_mailbox_entry_get(mb, i + 1, &nx) == MIMEO_OK);
		if (end == nx.offset) {
			/* only the empty first message keeps its empty line */
			FZ_CHECK(i == 1 && mimeo_mailbox_separator(buf, nx.offset) == e.size);
		} else {
			FZ_CHECK(end + mimeo_mailbox_separator(buf, nx.offset) == nx.offset);
			FZ_CHECK(mimeo_mailbox_separator(buf, nx.offset) > 0);
		}
		FZ_CHECK(memcmp(buf + nx.offset, "From ", 5) == 0);
	}

	/* the parser splits at the same lines */
	parse(buf, len, MIMEO_PARSE_MBOX, isas[(opt >> 2) & 3], &whole);
	FZ_CHECK(whole.n == n);
	for (i = 1; i <= n && i <= MAXMSG; i++) {
		char *copy;

		FZ_CHECK(mimeo_mailbox_entry_get(mb, i, &e) == MIMEO_OK);
		FZ_CHECK(whole.off[i - 1] == e.offset);
		/* each message alone reads as in the whole mailbox */
		FZ_CHECK(mimeo_mailbox_message(mb, i, &md, &mlen) == MIMEO_OK);
		FZ_CHECK(md == buf + e.offset && mlen == e.size);
		copy = fz_dup(md, mlen);
		parse(copy, mlen, MIMEO_PARSE_MBOX, MIMEO_ISA_AUTO, &one);
		free(copy);
		FZ_CHECK(one.n == 1);
		FZ_CHECK(one.off[0] == 0);
		FZ_CHECK(one.leaves[0] == whole.leaves[i - 1]);
		FZ_CHECK(one.bytes[0] == whole.bytes[i - 1]);
		FZ_CHECK(one.hash[0] == whole.hash[i - 1]);
	}

	/* ranges cut anywhere start at indexed messages */
	for (i = 0; i < 8 && len; i++) {
		size_t p = (size_t)(fz_rng(&rng) % (len + 1)), q = mimeo_mailbox_next_from(buf, len, p);
		size_t k, want = len;

		for (k = 1; k <= n; k++) {
			FZ_CHECK(mimeo_mailbox_entry_get(mb, k, &e) == MIMEO_OK);
			if (e.offset >= p && e.offset > 0) {
				want = (size_t)e.offset;
				break;
			}
		}
		FZ_CHECK(q == want);
	}

	/* trees, for the first few messages */
	for (i = 1; i <= n && i <= 8; i++) {
		mimeo_message *m = NULL;

		FZ_CHECK(mimeo_mailbox_parse(&m, mb, i, NULL) == MIMEO_OK);
		FZ_CHECK(mimeo_message_root(m) != NULL);
		mimeo_message_free(m);
	}
out:
	mimeo_mailbox_free(mb);
	free(buf);
	return 0;
}
