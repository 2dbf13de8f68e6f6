/*
 * test_tnef.c - the TNEF reader: MimeKit's TNEF test files (every expected
 * file extracted byte for byte), Debian's `tnef` as a second decoder when
 * installed, LZFu compressed RTF (the MS-OXRTFCP example, stored "MELA",
 * damage), synthetic streams for checksums, hostile lengths and counts,
 * named properties and multi-valued properties, every truncation of a
 * stream, and a failing-allocator sweep.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "tnef_testlib.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimeo.h"

/* Corpus paths are short; a cut path would only make a file not found
 * (and the test fail), so GCC's truncation guesses are not errors here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- a small TNEF writer for synthetic streams ---- */

typedef struct wbuf {
	unsigned char *p;
	size_t len, cap;
} wbuf;

static void w_put(wbuf *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->p = realloc(w->p, w->cap);
		ck_assert_ptr_nonnull(w->p);
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_u16(wbuf *w, unsigned v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	w_put(w, b, 2);
}

static void w_u32(wbuf *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	w_put(w, b, 4);
}

static void w_start(wbuf *w)
{
	memset(w, 0, sizeof(*w));
	w_u32(w, MIMEO_TNEF_SIGNATURE);
	w_u16(w, 0x1234);
}

/* One attribute with a right (or, with `bad`, wrong) checksum. */
static void w_attr(wbuf *w, unsigned level, uint32_t tag, const void *d, size_t n, int bad)
{
	unsigned sum = 0;
	size_t i;

	w_put(w, (unsigned char[]){ (unsigned char)level }, 1);
	w_u32(w, tag);
	w_u32(w, (uint32_t)n);
	w_put(w, d, n);
	for (i = 0; i < n; i++)
		sum += ((const unsigned char *)d)[i];
	w_u16(w, (sum + (bad ? 1 : 0)) & 0xffff);
}

static void w_pad(wbuf *w)
{
	while (w->len % 4)
		w_put(w, "", 1);
}

/* A variable-size property value (count 1). */
static void w_prop_var(wbuf *w, unsigned type, unsigned id, const void *d, size_t n)
{
	w_u16(w, type);
	w_u16(w, id);
	w_u32(w, 1);
	w_u32(w, (uint32_t)n);
	w_put(w, d, n);
	w_pad(w);
}

static void w_prop_long(wbuf *w, unsigned id, uint32_t v)
{
	w_u16(w, MIMEO_TNEF_PT_LONG);
	w_u16(w, id);
	w_u32(w, v);
}

/* A stream with a message body (PR_BODY), one by-value attachment with a
 * named property and a multi-valued one before its name and data. */
static void make_stream(wbuf *w, int bad_checksum)
{
	wbuf props, aprops;
	static const unsigned char guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const unsigned char uname[] = { 'n', 0, 'a', 0, 'm', 0, 'e', 0, 0, 0 };
	static const unsigned char ulong[] = { 'r', 0, 0xe9, 0, 's', 0, 'u', 0, 'm', 0, 0xe9, 0,
					       '.', 0, 't', 0, 'x', 0, 't', 0, 0, 0 };

	w_start(w);
	w_attr(w, 1, 0x00089006u, "\x00\x00\x01\x00", 4, 0);             /* attTnefVersion */
	w_attr(w, 1, MIMEO_TNEF_ATT_OEM_CODEPAGE, "\xe4\x04\x00\x00\x00\x00\x00\x00", 8, 0);
	memset(&props, 0, sizeof(props));
	w_u32(&props, 2);
	w_prop_var(&props, MIMEO_TNEF_PT_STRING8, MIMEO_TNEF_PR_BODY, "Hello \xe9t\xe9\r\n", 11);
	/* a named property with a string name */
	w_u16(&props, MIMEO_TNEF_PT_LONG);
	w_u16(&props, 0x8001);
	w_put(&props, guid, 16);
	w_u32(&props, 1);
	w_u32(&props, sizeof(uname));
	w_put(&props, uname, sizeof(uname));
	w_pad(&props);
	w_u32(&props, 42);
	w_attr(w, 1, MIMEO_TNEF_ATT_MAPI_PROPS, props.p, props.len, 0);
	w_attr(w, 2, MIMEO_TNEF_ATT_ATTACH_RENDDATA, "\x01\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 14, 0);
	w_attr(w, 2, MIMEO_TNEF_ATT_ATTACH_TITLE, "RESUME.TXT\0", 11, 0);
	/* attAttachModifyDate 2020-02-29 12:34:56 */
	w_attr(w, 2, MIMEO_TNEF_ATT_ATTACH_MODIFY,
	       "\xe4\x07\x02\x00\x1d\x00\x0c\x00\x22\x00\x38\x00\x06\x00", 14, 0);
	w_attr(w, 2, MIMEO_TNEF_ATT_ATTACH_DATA, "attachment bytes\x00\xff", 18, bad_checksum);
	memset(&aprops, 0, sizeof(aprops));
	w_u32(&aprops, 4);
	/* a multi-valued binary property first */
	w_u16(&aprops, MIMEO_TNEF_PT_BINARY | MIMEO_TNEF_PT_MV);
	w_u16(&aprops, 0x6600);
	w_u32(&aprops, 2);
	w_u32(&aprops, 3);
	w_put(&aprops, "abc", 3);
	w_pad(&aprops);
	w_u32(&aprops, 5);
	w_put(&aprops, "defgh", 5);
	w_pad(&aprops);
	w_prop_var(&aprops, MIMEO_TNEF_PT_UNICODE, MIMEO_TNEF_PR_ATTACH_LONG_FILENAME, ulong,
		   sizeof(ulong));
	w_prop_long(&aprops, MIMEO_TNEF_PR_ATTACH_METHOD, 1);
	w_prop_var(&aprops, MIMEO_TNEF_PT_STRING8, MIMEO_TNEF_PR_ATTACH_MIME_TAG, "Text/Plain\0", 11);
	w_attr(w, 2, MIMEO_TNEF_ATT_ATTACHMENT, aprops.p, aprops.len, 0);
	free(props.p);
	free(aprops.p);
}

START_TEST(synthetic_stream)
{
	wbuf w;
	mimeo_tnef *t;
	const mimeo_tnef_item *it;
	mimeo_tnef_reader r;
	mimeo_tnef_attr a;
	unsigned n = 0;

	make_stream(&w, 0);
	ck_assert_int_eq(mimeo_tnef_reader_init(&r, w.p, w.len), MIMEO_OK);
	ck_assert_uint_eq(r.key, 0x1234);
	while (mimeo_tnef_reader_next(&r, &a) == MIMEO_OK) {
		ck_assert(a.checksum_ok);
		n++;
	}
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(r.flags, 0);

	ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_tnef_flags(t), 0);
	ck_assert_uint_eq(mimeo_tnef_count(t), 2);
	it = mimeo_tnef_item_at(t, 0);
	ck_assert_int_eq(it->kind, MIMEO_TNEF_BODY_TEXT);
	/* windows-1252 (attOemCodepage 1252) to UTF-8 */
	ck_assert_uint_eq(it->size, 13);
	ck_assert(memcmp(it->data, "Hello \xc3\xa9t\xc3\xa9\r\n", 13) == 0);
	it = mimeo_tnef_item_at(t, 1);
	ck_assert_int_eq(it->kind, MIMEO_TNEF_ATTACHMENT);
	ck_assert_str_eq(it->filename, "r\xc3\xa9sum\xc3\xa9.txt");   /* long name wins */
	ck_assert_str_eq(it->mime_type, "text/plain");
	ck_assert_uint_eq(it->size, 18);
	ck_assert(memcmp(it->data, "attachment bytes\x00\xff", 18) == 0);
	ck_assert_int_eq(it->modified, 1582979696);
	ck_assert(it->created == MIMEO_TNEF_NO_DATE);
	ck_assert_uint_eq(it->method, 1);
	ck_assert(!it->embedded);
	ck_assert_ptr_null(mimeo_tnef_item_at(t, 2));
	mimeo_tnef_free(t);
	free(w.p);

	/* A wrong checksum is reported, the data kept. */
	make_stream(&w, 1);
	ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_tnef_flags(t), MIMEO_TNEF_BAD_CHECKSUM);
	ck_assert_uint_eq(mimeo_tnef_item_at(t, 1)->size, 18);
	mimeo_tnef_free(t);
	free(w.p);
}
END_TEST

/* The property reader: named properties, multi-valued values. */
START_TEST(property_reader)
{
	wbuf w;
	mimeo_tnef_reader r;
	mimeo_tnef_attr a;
	mimeo_tnef_props pr;
	mimeo_tnef_prop p;
	const unsigned char *v;
	size_t vl;
	int seen_named = 0, seen_mv = 0;

	make_stream(&w, 0);
	mimeo_tnef_reader_init(&r, w.p, w.len);
	while (mimeo_tnef_reader_next(&r, &a) == MIMEO_OK) {
		if (a.tag != MIMEO_TNEF_ATT_MAPI_PROPS && a.tag != MIMEO_TNEF_ATT_ATTACHMENT)
			continue;
		ck_assert_int_eq(mimeo_tnef_props_init(&pr, a.data, a.len), MIMEO_OK);
		while (mimeo_tnef_props_next(&pr, &p) == MIMEO_OK) {
			if (p.id == 0x8001) {
				seen_named = 1;
				ck_assert_int_eq(p.name_kind, 1);
				ck_assert_uint_eq(p.name_len, 10);
				ck_assert(memcmp(p.name, "n\0a\0m\0e\0", 8) == 0);
				ck_assert_uint_eq(p.guid[0], 1);
				ck_assert_uint_eq(p.num, 42);
			}
			if (p.id == 0x6600) {
				seen_mv = 1;
				ck_assert_uint_eq(p.count, 2);
				ck_assert_int_eq(mimeo_tnef_prop_value(&p, 1, &v, &vl), MIMEO_OK);
				ck_assert_uint_eq(vl, 5);
				ck_assert(memcmp(v, "defgh", 5) == 0);
				ck_assert_int_eq(mimeo_tnef_prop_value(&p, 0, &v, &vl), MIMEO_OK);
				ck_assert(vl == 3 && memcmp(v, "abc", 3) == 0);
				ck_assert_int_eq(mimeo_tnef_prop_value(&p, 2, &v, &vl), MIMEO_EINVAL);
			}
		}
		ck_assert(!pr.bad);
	}
	ck_assert(seen_named && seen_mv);
	free(w.p);
}
END_TEST

/* Every truncation of a stream reads without harm; lengths beyond the end
 * stop the reader, never allocate. */
START_TEST(truncations)
{
	wbuf w;
	size_t cut;
	char boundary[4096] = { 0 };
	mimeo_tnef_reader r;
	mimeo_tnef_attr a;

	make_stream(&w, 0);
	ck_assert_uint_lt(w.len, sizeof(boundary));
	boundary[6] = 1;
	mimeo_tnef_reader_init(&r, w.p, w.len);
	while (mimeo_tnef_reader_next(&r, &a) == MIMEO_OK)
		boundary[a.offset + a.len + 11] = 1;
	for (cut = 0; cut <= w.len; cut++) {
		unsigned char *p = malloc(cut ? cut : 1);
		mimeo_tnef *t = NULL;
		int rc;

		memcpy(p, w.p, cut);
		rc = mimeo_tnef_open(&t, p, cut, NULL);
		if (cut < 6) {
			ck_assert_int_eq(rc, MIMEO_EPARSE);
			ck_assert_ptr_null(t);
		} else {
			ck_assert_int_eq(rc, MIMEO_OK);
			/* Cut inside an attribute: flagged; between two: not. */
			ck_assert(!boundary[cut] == !!(mimeo_tnef_flags(t) & MIMEO_TNEF_TRUNCATED));
		}
		mimeo_tnef_free(t);
		free(p);
	}
	free(w.p);
}
END_TEST

START_TEST(hostile_lengths)
{
	wbuf w;
	mimeo_tnef *t;
	test_failing_alloc fa;
	mimeo_tnef_options opt = MIMEO_TNEF_OPTIONS_INIT;
	unsigned char props[16];

	/* An attribute that claims 4 GiB. */
	w_start(&w);
	w_put(&w, (unsigned char[]){ 2, 0x0f, 0x80, 0x06, 0x00, 0xf0, 0xff, 0xff, 0xff, 'x' }, 10);
	test_failing_alloc_init(&fa, 0);
	opt.alloc = &fa.alloc;
	ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, &opt), MIMEO_OK);
	ck_assert_uint_eq(mimeo_tnef_flags(t), MIMEO_TNEF_TRUNCATED);
	ck_assert_uint_eq(mimeo_tnef_count(t), 0);
	mimeo_tnef_free(t);
	ck_assert_int_eq(fa.live, 0);
	free(w.p);

	/* A property list claiming 2^32-1 properties and a value of 2^32-1
	 * bytes: reading stops at the end, the list is marked bad. */
	w_start(&w);
	memcpy(props, "\xff\xff\xff\xff\x02\x01\x01\x37\x01\x00\x00\x00\xf0\xff\xff\xff", 16);
	w_attr(&w, 2, MIMEO_TNEF_ATT_ATTACH_RENDDATA, "\x01\x00", 2, 0);
	w_attr(&w, 2, MIMEO_TNEF_ATT_ATTACHMENT, props, sizeof(props), 0);
	ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, &opt), MIMEO_OK);
	ck_assert_uint_eq(mimeo_tnef_flags(t), MIMEO_TNEF_BAD_PROPS);
	ck_assert_uint_eq(mimeo_tnef_count(t), 1);
	mimeo_tnef_free(t);
	free(w.p);

	/* More attachments than max_items. */
	w_start(&w);
	for (int i = 0; i < 5; i++)
		w_attr(&w, 2, MIMEO_TNEF_ATT_ATTACH_RENDDATA, "\x01\x00", 2, 0);
	opt.max_items = 4;
	ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, &opt), MIMEO_ELIMIT);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(fa.live, 0);
	free(w.p);
	ck_assert_int_eq(mimeo_tnef_open(&t, "not tnef", 8, NULL), MIMEO_EPARSE);
	/* Zeroed options are the defaults; an unknown version is misuse. */
	{
		mimeo_tnef_options zero = { 0 };

		w_start(&w);
		ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, &zero), MIMEO_OK);
		mimeo_tnef_free(t);
		zero.version = 99;
		ck_assert_int_eq(mimeo_tnef_open(&t, w.p, w.len, &zero), MIMEO_EINVAL);
		free(w.p);
	}
	ck_assert_int_eq(mimeo_tnef_open(NULL, "x", 1, NULL), MIMEO_EINVAL);
}
END_TEST

/* MS-OXRTFCP section 3.1.1.4, the compressed example: "{\rtf1\ansi\ansicpg1252\pard hello world}\r\n". */
static const unsigned char rtf_example[] = {
	0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
	0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
	0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
	0xa0
};
static const char rtf_plain[] = "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";

START_TEST(lzfu)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	unsigned rep = 0;
	unsigned char bad[sizeof(rtf_example)], mela[64];
	size_t cut;

	ck_assert_int_eq(mimeo_rtf_decompress(rtf_example, sizeof(rtf_example), &b, &rep), MIMEO_OK);
	ck_assert_uint_eq(rep, 0);
	ck_assert_uint_eq(b.size, strlen(rtf_plain));
	ck_assert(memcmp(b.ptr, rtf_plain, b.size) == 0);
	mimeo_buf_clear(&b);

	/* A wrong CRC is reported; the text is decoded anyway. */
	memcpy(bad, rtf_example, sizeof(bad));
	bad[12] ^= 1;
	ck_assert_int_eq(mimeo_rtf_decompress(bad, sizeof(bad), &b, &rep), MIMEO_OK);
	ck_assert_uint_eq(rep, MIMEO_TNEF_BAD_RTF);
	ck_assert(b.size == strlen(rtf_plain) && memcmp(b.ptr, rtf_plain, b.size) == 0);
	mimeo_buf_clear(&b);

	/* A huge RAWSIZE allocates no more than the data can expand to. */
	memcpy(bad, rtf_example, sizeof(bad));
	bad[7] = 0x7f;
	rep = 0;
	ck_assert_int_eq(mimeo_rtf_decompress(bad, sizeof(bad), &b, &rep), MIMEO_OK);
	ck_assert_uint_eq(rep, MIMEO_TNEF_BAD_RTF);
	ck_assert_uint_le(b.asize, sizeof(rtf_example) * 8 + 64);
	mimeo_buf_clear(&b);

	/* Every truncation: a prefix of the text, flagged. */
	for (cut = 0; cut < sizeof(rtf_example); cut++) {
		unsigned char *p = malloc(cut ? cut : 1);
		int rc;

		memcpy(p, rtf_example, cut);
		rep = 0;
		rc = mimeo_rtf_decompress(p, cut, &b, &rep);
		if (cut < 16) {
			ck_assert_int_eq(rc, MIMEO_EPARSE);
		} else {
			ck_assert_int_eq(rc, MIMEO_OK);
			ck_assert_uint_eq(rep, MIMEO_TNEF_BAD_RTF);
			ck_assert(b.size <= strlen(rtf_plain) && memcmp(b.ptr, rtf_plain, b.size) == 0);
		}
		mimeo_buf_clear(&b);
		free(p);
	}

	/* "MELA": stored as it is. */
	memcpy(mela, "\x10\x00\x00\x00\x04\x00\x00\x00MELA\x00\x00\x00\x00{\\r}", 20);
	rep = 0;
	ck_assert_int_eq(mimeo_rtf_decompress(mela, 20, &b, &rep), MIMEO_OK);
	ck_assert_uint_eq(rep, 0);
	ck_assert(b.size == 4 && memcmp(b.ptr, "{\\r}", 4) == 0);
	mimeo_buf_clear(&b);
	ck_assert_int_eq(mimeo_rtf_decompress("0123456789abcdefXXXX", 20, &b, NULL), MIMEO_EPARSE);
	mimeo_buf_dispose(&b);
}
END_TEST

/* ---- MimeKit's TNEF test files ---- */

static char *read_path(const char *dir, const char *name, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return test_read_file(path, len);
}

/* What check_case counts: files matched, and how many of those once CRLF
 * was made LF. */
typedef struct case_counts {
	unsigned files, crlf;
} case_counts;

/* One MimeKit case (tnef_each_mimekit_case callback; ctx: case_counts). */
static unsigned check_case(const char *tdir, const char *name, void *ctx)
{
	unsigned *files = &((case_counts *)ctx)->files, *crlf = &((case_counts *)ctx)->crlf;
	char path[4096], dir[4096];
	size_t len, n, i;
	char *data = read_path(tdir, name, &len);
	mimeo_tnef *t;
	DIR *dh;
	struct dirent *de;
	char *used;
	unsigned natt = 0;

	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(mimeo_tnef_open(&t, data, len, NULL), MIMEO_OK);
	n = mimeo_tnef_count(t);
	used = calloc(1, n + 1);
	for (i = 0; i < n; i++)
		natt += mimeo_tnef_item_at(t, i)->kind == MIMEO_TNEF_ATTACHMENT;
	snprintf(dir, sizeof(dir), "%s/%.*s", tdir, (int)(strlen(name) - 5), name);
	dh = opendir(dir);
	if (!dh) {
		/* No expected files: MimeKit finds no attachment here. */
		ck_assert_msg(natt == 0, "%s: %u attachments, none expected", name, natt);
	}
	while (dh && (de = readdir(dh)) != NULL) {
		size_t wlen;
		unsigned char *want;
		char base[1024];
		int found = 0, norm = 0;

		if (de->d_name[0] == '.')
			continue;
		want = (unsigned char *)read_path(dir, de->d_name, &wlen);
		ck_assert_ptr_nonnull(want);
		/* Expected duplicates are named "NAME.1", "NAME.2", ... */
		snprintf(base, sizeof(base), "%s", de->d_name);
		for (i = 0; i < n && !found; i++) {
			const mimeo_tnef_item *it = mimeo_tnef_item_at(t, i);
			char *dot = strrchr(base, '.');
			int name_ok = strcmp(it->filename, base) == 0 ||
				      (dot && strspn(dot + 1, "0123456789") == strlen(dot + 1) &&
				       strlen(it->filename) == (size_t)(dot - base) &&
				       strncmp(it->filename, base, (size_t)(dot - base)) == 0);

			if (!used[i] && name_ok && tnef_same_bytes(it->data, it->size, want, wlen, &norm)) {
				used[i] = 1;
				found = 1;
			}
		}
		ck_assert_msg(found, "%s: expected %s (%zu bytes) not extracted", name, de->d_name,
			      wlen);
		(*files)++;
		*crlf += (unsigned)norm;
		free(want);
	}
	if (dh)
		closedir(dh);
	snprintf(path, sizeof(path), "%.*s.list", (int)(strlen(name) - 5), name);
	{
		size_t llen;
		char *list = read_path(tdir, path, &llen), *line, *save = NULL;

		/* The names MimeKit gives the attachments (bodies are
		 * "body.*" there, "message.*" here). */
		for (line = list ? strtok_r(list, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			int found = 0;

			if (!line[0] || strncmp(line, "body.", 5) == 0)
				continue;
			for (i = 0; i < n; i++)
				found |= strcmp(mimeo_tnef_item_at(t, i)->filename, line) == 0;
			ck_assert_msg(found, "%s: no attachment named %s", name, line);
		}
		free(list);
	}
	free(used);
	mimeo_tnef_free(t);
	free(data);
	return 1;
}

START_TEST(corpus_mimekit)
{
	case_counts cc = { 0, 0 };
	long cases = tnef_each_mimekit_case(check_case, &cc);

	if (cases < 0)
		return;
	ck_assert_int_eq(cases, 19);
	ck_assert_uint_eq(cc.files, 49);
	printf("tnef corpus: %ld streams, %u expected files matched (%u once CRLF made LF)\n", cases,
	       cc.files, cc.crlf);
}
END_TEST

/* Debian's tnef, when installed: every file it extracts, mimeo extracts
 * the same bytes (an embedded message: without the 16-byte IID tnef
 * keeps). */
START_TEST(corpus_debian_tnef)
{
	const char *corpus = test_shared_corpus();
	char tdir[PATH_MAX], tmp[] = "/tmp/mimeo-tnef-XXXXXX", cmd[8192];
	DIR *dh;
	struct dirent *de;
	unsigned compared = 0;

	if (!corpus || system("tnef --version >/dev/null 2>&1") != 0)
		return;
	snprintf(cmd, sizeof(cmd), "%s/mimekit-tnef", corpus);
	if (!realpath(cmd, tdir))   /* tnef runs in another folder */
		return;
	dh = opendir(tdir);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	while (dh && (de = readdir(dh)) != NULL) {
		size_t l = strlen(de->d_name), len, i, n;
		char sub[4200], *data;
		DIR *oh;
		struct dirent *oe;
		mimeo_tnef *t;

		if (l <= 5 || strcmp(de->d_name + l - 5, ".tnef") != 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%.*s", tmp, (int)(l - 5), de->d_name);
		mkdir(sub, 0700);
		snprintf(cmd, sizeof(cmd), "cd '%s' && tnef --overwrite '%s/%s' >/dev/null 2>&1", sub,
			 tdir, de->d_name);
		if (system(cmd) != 0) {
			/* tnef gave up on this one (panic.tnef): its folder goes,
			 * with anything it wrote there, or so would tmp */
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sub);
			ck_assert_int_eq(system(cmd), 0);
			continue;
		}
		data = read_path(tdir, de->d_name, &len);
		ck_assert_int_eq(mimeo_tnef_open(&t, data, len, NULL), MIMEO_OK);
		n = mimeo_tnef_count(t);
		oh = opendir(sub);
		while (oh && (oe = readdir(oh)) != NULL) {
			size_t wlen;
			unsigned char *want;
			int found = 0;

			if (oe->d_name[0] == '.')
				continue;
			want = (unsigned char *)read_path(sub, oe->d_name, &wlen);
			for (i = 0; i < n && !found; i++) {
				const mimeo_tnef_item *it = mimeo_tnef_item_at(t, i);

				found = (it->size == wlen && memcmp(it->data, want, wlen) == 0) ||
					(it->embedded && it->size + 16 == wlen &&
					 memcmp(it->data, want + 16, it->size) == 0);
			}
			ck_assert_msg(found, "%s: tnef's %s not extracted", de->d_name, oe->d_name);
			compared++;
			free(want);
			snprintf(cmd, sizeof(cmd), "%s/%s", sub, oe->d_name);
			unlink(cmd);
		}
		if (oh)
			closedir(oh);
		rmdir(sub);
		mimeo_tnef_free(t);
		free(data);
	}
	if (dh)
		closedir(dh);
	rmdir(tmp);
	ck_assert_uint_ge(compared, 25);
}
END_TEST

/* Every allocation in turn fails: an error or success, never a leak or a
 * crash; with enough memory the result is complete. */
/* Every allocation failing in turn: the synthetic stream and every one of
 * MimeKit's TNEF files (RTF to decompress, embedded messages, OLE objects,
 * Unicode and multi-valued properties, a stream cut short) open or fail
 * with MIMEO_ENOMEM, leaking nothing. */
static void sweep_stream(const void *in, size_t inlen)
{
	unsigned long k;

	for (k = 1;; k++) {
		test_failing_alloc fa;
		mimeo_tnef_options opt = MIMEO_TNEF_OPTIONS_INIT;
		mimeo_tnef *t = NULL;
		int rc, want;

		test_failing_alloc_init(&fa, 0);
		opt.alloc = &fa.alloc;
		want = mimeo_tnef_open(&t, in, inlen, &opt);
		mimeo_tnef_free(t);
		t = NULL;
		test_failing_alloc_init(&fa, k);
		opt.alloc = &fa.alloc;
		rc = mimeo_tnef_open(&t, in, inlen, &opt);
		if (rc == MIMEO_OK)
			mimeo_tnef_free(t);
		else if (rc != want)
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
		ck_assert_int_eq(fa.live, 0);
		if (!fa.failed) {
			ck_assert_int_eq(rc, want);
			break;
		}
		ck_assert_uint_lt(k, 100000);
	}
}

START_TEST(failing_allocator)
{
	const char *corpus = test_shared_corpus();
	wbuf w;

	make_stream(&w, 0);
	sweep_stream(w.p, w.len);
	free(w.p);
	if (corpus) {
		char path[4096];
		DIR *d;
		struct dirent *e;
		unsigned files = 0;

		snprintf(path, sizeof(path), "%s/mimekit-tnef", corpus);
		d = opendir(path);
		while (d && (e = readdir(d))) {
			size_t n = strlen(e->d_name), len;
			char *data;

			if (n < 6 || strcmp(e->d_name + n - 5, ".tnef") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/mimekit-tnef/%s", corpus, e->d_name);
			data = test_read_file(path, &len);
			ck_assert_ptr_nonnull(data);
			sweep_stream(data, len);
			free(data);
			files++;
		}
		if (d)
			closedir(d);
		ck_assert_uint_ge(files, 19);
	}
}
END_TEST

static Suite *tnef_suite(void)
{
	Suite *s = suite_create("tnef");
	TCase *tc = tcase_create("tnef");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, synthetic_stream);
	tcase_add_test(tc, property_reader);
	tcase_add_test(tc, truncations);
	tcase_add_test(tc, hostile_lengths);
	tcase_add_test(tc, lzfu);
	tcase_add_test(tc, corpus_mimekit);
	tcase_add_test(tc, corpus_debian_tnef);
	tcase_add_test(tc, failing_allocator);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(tnef_suite());
}
