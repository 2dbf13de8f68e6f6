/*
 * fuzz_message.c - the message tree, section look-up, accessors and the
 * attachment-name sanitiser on hostile mail.
 *
 * Input: [options byte] [split byte] [section length byte] [section...]
 *        [message...]
 *   options bit 0: MIMEO_MESSAGE_BORROW; bit 1: small parser limits;
 *   bit 2: the stream parse spools to a temporary file after 64 bytes;
 *   bit 3: also parse it as a range of a file, between junk bytes
 *   (mimeo_message_parse_fd_range: pread, offsets from the range);
 *   bit 4: the parser's server-compatibility readings
 *   (MIMEO_PARSE_COMPAT_DOVECOT, through mimeo_message_options.parser);
 *   split byte: read sizes of mimeo_message_parse_stream; the section
 *   string is looked up as is (garbage like "1..2", "0", "99999999999").
 * Checks:
 *   - parse_buffer, parse_stream (fed in input-chosen read sizes,
 *     spooled in memory or in a file) and parse_fd_range give the same
 *     tree: same sections, types, offsets and body bytes;
 *   - bodies decoded on demand from the source (issue 13) are exactly what
 *     the push parser delivers when it decodes them itself, their sizes
 *     are the sizes counted at parse time, the zero-copy view (when there
 *     is one) shows the same bytes, and the streamed UTF-8 conversion
 *     equals mimeo_part_text();
 *   - navigation is consistent: mimeo_part_next visits part_count nodes,
 *     parent/first_child/next_sibling/child_count/depth agree, and
 *     mimeo_message_find_section(section) finds every node (or, for the
 *     multipart root of an encapsulated message, its message/rfc822 part,
 *     which shares the section number - RFC 3501 6.4.5);
 *   - offsets are ordered and inside the source; decoded header values,
 *     part text and filenames are valid UTF-8; pick_body gives a leaf;
 *   - mimeo_filename_sanitize, on every filename and on raw input bytes,
 *     gives a safe single name (no '/', '\\', control characters, leading
 *     dot or space, at most MIMEO_FILENAME_MAX bytes, valid UTF-8).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include "fuzz_util.h"

#include <mimeo.h>

#include <sys/mman.h>
#include <unistd.h>

/* internal (src/message/message.c): leaves whose raw bytes were not the
 * source range [body_offset, end_offset) */
size_t mimeo__message_raw_mismatch(const mimeo_message *m);

typedef struct reader {
	const uint8_t *data;
	size_t left;
	fz_split sp;
} reader;

static int read_some(void *buf, size_t cap, size_t *got, void *ctx)
{
	reader *r = ctx;
	size_t n = fz_split_next(&r->sp, r->left);

	if (r->left && n == 0)
		n = 1; /* 0 bytes means end of input for a read callback */
	if (n > cap)
		n = cap;
	memcpy(buf, r->data, n);
	r->data += n;
	r->left -= n;
	*got = n;
	return MIMEO_OK;
}

static void check_sanitized(const mimeo_buf *b)
{
	size_t i;

	FZ_CHECK(b->size > 0 && b->size <= MIMEO_FILENAME_MAX);
	FZ_CHECK(b->ptr[b->size] == '\0');
	FZ_CHECK(fz_utf8_valid(b->ptr, b->size));
	FZ_CHECK(b->ptr[0] != '.' && b->ptr[0] != ' ');
	FZ_CHECK(strcmp(b->ptr, "..") != 0);
	for (i = 0; i < b->size; i++) {
		uint8_t c = (uint8_t)b->ptr[i];

		FZ_CHECK(c != '/' && c != '\\' && c >= 0x20 && c != 0x7f);
		/* C1 controls U+0080..U+009F */
		FZ_CHECK(!(c == 0xc2 && i + 1 < b->size && (uint8_t)b->ptr[i + 1] < 0xa0));
	}
	FZ_CHECK(b->ptr[b->size - 1] != '.' && b->ptr[b->size - 1] != ' ');
}

static void sanitize(const char *name, size_t len)
{
	mimeo_buf b = MIMEO_BUF_INIT;

	FZ_CHECK(mimeo_filename_sanitize(name, len, &b) == MIMEO_OK);
	check_sanitized(&b);
	mimeo_buf_dispose(&b);
}

static void check_part(const mimeo_message *m, const mimeo_part *p, mimeo_charset_cache *cc,
		       size_t src_len)
{
	const mimeo_part *c, *found, *parent = mimeo_part_parent(p);
	const char *sec = mimeo_part_section(p), *fn;
	uint64_t hs, bs, end;
	size_t i, n, len;
	mimeo_buf b = MIMEO_BUF_INIT;

	FZ_CHECK(sec != NULL);
	FZ_CHECK(mimeo_part_type(p) != NULL && mimeo_part_subtype(p) != NULL);
	FZ_CHECK(mimeo_part_is_leaf(p) + mimeo_part_is_multipart(p) + mimeo_part_is_message(p) == 1);
	if (parent)
		FZ_CHECK(mimeo_part_depth(p) == mimeo_part_depth(parent) + 1);
	else
		FZ_CHECK(p == mimeo_message_root(m) && mimeo_part_depth(p) == 0);

	found = mimeo_message_find_section(m, sec);
	FZ_CHECK(found != NULL);
	if (found != p) {
		/* the encapsulated message's multipart root shares its number */
		FZ_CHECK(found == parent && mimeo_part_is_message(parent));
		FZ_CHECK(mimeo_part_child_count(parent) == 1);
	}

	for (n = 0, c = mimeo_part_first_child(p); c; c = mimeo_part_next_sibling(c), n++)
		FZ_CHECK(mimeo_part_parent(c) == p);
	FZ_CHECK(n == mimeo_part_child_count(p));
	FZ_CHECK(!mimeo_part_is_leaf(p) || n == 0);

	mimeo_part_offsets(p, &hs, &bs, &end);
	if (!(mimeo_part_flags(p) & MIMEO_PART_ENCODED))
		FZ_CHECK(hs <= bs && bs <= end && end <= src_len);

	n = mimeo_part_header_count(p);
	for (i = 0; i < n; i++) {
		const char *name = mimeo_part_header_name(p, i), *raw, *first;

		FZ_CHECK(name != NULL);
		raw = mimeo_part_header_raw(p, i, &len);
		FZ_CHECK(raw != NULL);
		first = mimeo_part_get_header(p, name, NULL);
		FZ_CHECK(first != NULL);
		FZ_CHECK(mimeo_part_header_decoded(p, i, cc, NULL, &b) == MIMEO_OK);
		FZ_CHECK(fz_utf8_valid(b.ptr, b.size));
		mimeo_buf_clear(&b);
	}
	FZ_CHECK(mimeo_part_header_decoded(p, n, cc, NULL, &b) == MIMEO_ENOTFOUND);

	{
		const void *view = mimeo_part_body(p, &len);
		mimeo_buf t = MIMEO_BUF_INIT;

		FZ_CHECK(mimeo_part_decode_buf(p, 0, NULL, &b, NULL) == MIMEO_OK);
		FZ_CHECK(b.size == mimeo_part_size(p));
		FZ_CHECK(mimeo_part_is_leaf(p) || b.size == 0);
		if (view)
			FZ_CHECK(len == b.size && (!len || memcmp(view, b.ptr, len) == 0));
		else
			FZ_CHECK(len == 0);
		mimeo_buf_clear(&b);
		if (mimeo_part_is_leaf(p)) {
			unsigned rep = 0, rep2 = 0;

			FZ_CHECK(mimeo_part_text(p, cc, &b, &rep) == MIMEO_OK);
			FZ_CHECK(fz_utf8_valid(b.ptr, b.size));
			FZ_CHECK(mimeo_part_decode_buf(p, MIMEO_DECODE_UTF8, cc, &t, &rep2) ==
				 MIMEO_OK);
			FZ_CHECK(t.size == b.size && (!t.size || memcmp(t.ptr, b.ptr, t.size) == 0));
			FZ_CHECK(rep == rep2);
			mimeo_buf_clear(&b);
		}
		mimeo_buf_dispose(&t);
	}
	fn = mimeo_part_filename(p);
	if (fn) {
		FZ_CHECK(fz_utf8_valid(fn, strlen(fn)));
		sanitize(fn, strlen(fn));
	}
	(void)mimeo_part_charset(p);
	(void)mimeo_part_cte(p);
	(void)mimeo_part_cte_name(p);
	(void)mimeo_part_disposition(p);
	(void)mimeo_part_param(p, "charset");
	(void)mimeo_part_disposition_param(p, "filename");
	mimeo_buf_dispose(&b);
}

/* Structural fingerprint of a tree, to compare two parses. */
static void fingerprint(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		uint64_t hs, bs, end;
		mimeo_buf body = MIMEO_BUF_INIT;
		char tmp[160];

		mimeo_part_offsets(p, &hs, &bs, &end);
		FZ_CHECK(mimeo_part_decode_buf(p, 0, NULL, &body, NULL) == MIMEO_OK);
		snprintf(tmp, sizeof(tmp), "[%.40s] %.30s/%.30s %llu %llu %llu %zu:",
			 mimeo_part_section(p), mimeo_part_type(p), mimeo_part_subtype(p),
			 (unsigned long long)hs, (unsigned long long)bs,
			 (unsigned long long)end, body.size);
		FZ_CHECK(mimeo_buf_puts(out, tmp) == MIMEO_OK);
		FZ_CHECK(mimeo_buf_put(out, body.ptr ? body.ptr : "", body.size) == MIMEO_OK);
		mimeo_buf_dispose(&body);
	}
}

/* The reference: leaf bodies as the push parser decodes them itself. */
static int ref_body(const mimeo_part_info *info, const char *data, size_t len, void *user)
{
	if (strcmp(info->type, "multipart") == 0)
		return 0;
	FZ_CHECK(mimeo_buf_put(user, data, len) == MIMEO_OK);
	return 0;
}

static int ref_end(const mimeo_part_info *info, void *user)
{
	char tmp[80];

	/* a multipart kept whole (no delimiter found, or past the depth
	 * limit) is compared by the tree tests, not here: the tree keeps its
	 * preamble as its body, which this plain parse does not deliver */
	if ((info->flags & MIMEO_PART_LEAF) && strcmp(info->type, "multipart") != 0) {
		snprintf(tmp, sizeof(tmp), "|%llu|", (unsigned long long)info->decoded_size);
		FZ_CHECK(mimeo_buf_puts(user, tmp) == MIMEO_OK);
	}
	return 0;
}

static void reference(const fz_input *in, const mimeo_parser_options *lim, mimeo_buf *out)
{
	static const mimeo_parser_callbacks cbs = {
		MIMEO_PARSER_CALLBACKS_VERSION,
		NULL, NULL, NULL, NULL, ref_body, NULL, NULL, ref_end, NULL, NULL,
	};
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *ps = NULL;

	if (lim)
		po = *lim;
	/* decoding, with the tree's readings */
	po.flags = lim ? lim->flags & MIMEO_PARSE_COMPAT_DOVECOT : 0;
	if (mimeo_parser_new(&ps, &po, &cbs, out) != MIMEO_OK)
		return;
	if (mimeo_parser_feed(ps, (const char *)in->data, in->size) == MIMEO_OK)
		(void)mimeo_parser_finish(ps);
	mimeo_parser_free(ps);
}

static void tree_bodies(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;
	char tmp[80];

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		if (!mimeo_part_is_leaf(p) || strcmp(mimeo_part_type(p), "multipart") == 0)
			continue;
		FZ_CHECK(mimeo_part_decode_buf(p, 0, NULL, out, NULL) == MIMEO_OK);
		snprintf(tmp, sizeof(tmp), "|%llu|", (unsigned long long)mimeo_part_size(p));
		FZ_CHECK(mimeo_buf_puts(out, tmp) == MIMEO_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t o = fz_byte(&in), split = fz_byte(&in), sl = fz_byte(&in);
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_message *m = NULL, *m2 = NULL;
	mimeo_charset_cache *cc = NULL;
	const mimeo_part *p, *pb;
	mimeo_buf f1 = MIMEO_BUF_INIT, f2 = MIMEO_BUF_INIT;
	char *section;
	size_t count = 0, src_len;
	reader rd;
	int rc;

	sl %= 16;
	if (sl > in.size)
		sl = (uint8_t)in.size;
	section = fz_xmalloc(sl + 1);
	memcpy(section, in.data, sl);
	section[sl] = '\0';
	in.data += sl;
	in.size -= sl;
	sanitize((const char *)in.data, in.size < 600 ? in.size : 600);

	mo.flags = (o & 1) ? MIMEO_MESSAGE_BORROW : 0;
	if (o & 2) {
		po.max_depth = 4;
		po.max_headers = 8;
		po.max_header_bytes = 512;
		po.max_parts = 12;
		mo.parser = &po;
	}
	if (o & 16) {
		po.flags = MIMEO_PARSE_COMPAT_DOVECOT;
		mo.parser = &po;
	}
	rc = mimeo_message_parse_buffer(&m, in.data, in.size, &mo);
	FZ_CHECK(rc == MIMEO_OK);
	FZ_CHECK(mimeo_message_source(m, &src_len) != NULL || src_len == 0);
	FZ_CHECK(src_len == in.size);
	FZ_CHECK(mimeo_message_root(m) != NULL);
	FZ_CHECK(mimeo_message_find_section(m, "") == mimeo_message_root(m));
	if (mimeo_charset_cache_new(&cc, NULL) != MIMEO_OK)
		goto out;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		check_part(m, p, cc, src_len);
		FZ_CHECK(++count <= mimeo_message_part_count(m));
	}
	FZ_CHECK(count == mimeo_message_part_count(m));

	p = mimeo_message_find_section(m, section);
	if (p)
		FZ_CHECK(mimeo_part_section(p) != NULL);
	pb = mimeo_message_pick_body(m, "text/plain");
	FZ_CHECK(!pb || mimeo_part_is_leaf(pb));
	pb = mimeo_message_pick_body(m, "text/html");
	FZ_CHECK(!pb || mimeo_part_is_leaf(pb));
	(void)mimeo_message_limits_hit(m);
	/* the defect list: min(count, KEPT) entries, each on a node of this
	 * message, with a name, a reason and an offset inside the input
	 * (decoded message/rfc822 bodies are never longer than their source) */
	{
		mimeo_defect d;
		const mimeo_part *where;
		size_t i = 0, n = mimeo_message_defect_count(m);

		for (; mimeo_message_defect(m, i, &d, &where) == MIMEO_OK; i++) {
			FZ_CHECK(where && mimeo_part_message(where) == m);
			FZ_CHECK(d.reason && strcmp(mimeo_defect_name(d.code), "unknown") != 0);
			FZ_CHECK(d.severity == MIMEO_DEFECT_WARN || d.severity == MIMEO_DEFECT_CRIT);
			FZ_CHECK(d.offset <= src_len);
		}
		FZ_CHECK(i == (n < MIMEO_MESSAGE_DEFECTS_KEPT ? n : MIMEO_MESSAGE_DEFECTS_KEPT));
	}
	FZ_CHECK(mimeo__message_raw_mismatch(m) == 0);

	/* bodies decoded from the source = the parser's own decoding */
	reference(&in, mo.parser, &f1);
	tree_bodies(m, &f2);
	if (f1.size != f2.size || (f1.size && memcmp(f1.ptr, f2.ptr, f1.size) != 0)) {
		fprintf(stderr, "decoded on demand != decoded by the parser:\n%.400s\n---\n%.400s\n",
			f1.ptr, f2.ptr);
		abort();
	}
	mimeo_buf_clear(&f1);
	mimeo_buf_clear(&f2);

	/* the same message read through the stream API in odd read sizes */
	rd.data = in.data;
	rd.left = in.size;
	fz_split_init(&rd.sp, split, in.size);
	mo.flags = 0;
	if (o & 4)
		mo.spool_memory = 64; /* the spool goes to a temporary file */
	FZ_CHECK(mimeo_message_parse_stream(&m2, read_some, &rd, &mo) == MIMEO_OK);
	FZ_CHECK(mimeo_message_source_size(m2) == in.size);
	fingerprint(m, &f1);
	fingerprint(m2, &f2);
	if (f1.size != f2.size || (f1.size && memcmp(f1.ptr, f2.ptr, f1.size) != 0)) {
		fprintf(stderr, "buffer and stream parses differ:\n%.400s\n---\n%.400s\n",
			f1.ptr, f2.ptr);
		abort();
	}
	/* the same message as bytes [k, k + size) of a file, junk around it */
	if (o & 8) {
		int fd = memfd_create("fuzz-message", MFD_CLOEXEC);
		size_t k = (size_t)(split % 7);

		if (fd >= 0 && write(fd, "From x\n", k) == (ssize_t)k &&
		    (in.size == 0 || write(fd, in.data, in.size) == (ssize_t)in.size) &&
		    write(fd, "\n--x--\n", 7) == 7) {
			mimeo_message *m3 = NULL;

			mo.spool_memory = 0;
			FZ_CHECK(mimeo_message_parse_fd_range(&m3, fd, k, in.size, &mo) == MIMEO_OK);
			close(fd);
			fd = -1;
			FZ_CHECK(mimeo_message_source_size(m3) == in.size);
			mimeo_buf_clear(&f2);
			fingerprint(m3, &f2);
			if (f1.size != f2.size || (f1.size && memcmp(f1.ptr, f2.ptr, f1.size) != 0)) {
				fprintf(stderr, "buffer and file-range parses differ:\n%.400s\n---\n%.400s\n",
					f1.ptr, f2.ptr);
				abort();
			}
			mimeo_message_free(m3);
		}
		if (fd >= 0)
			close(fd);
	}
out:
	mimeo_buf_dispose(&f1);
	mimeo_buf_dispose(&f2);
	mimeo_message_free(m2);
	mimeo_message_free(m);
	mimeo_charset_cache_free(cc);
	free(section);
	return 0;
}
