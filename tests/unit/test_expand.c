/*
 * test_expand.c - derived children (mimeo/expand.h): TNEF items under a
 * winmail.dat part (MimeKit's TNEF files wrapped in a message, every file
 * MimeKit extracts found byte for byte), uuencoded and yEnc files in text
 * bodies (MimeKit's yEnc posts against joystick.jpg; hand-made uuencode in
 * 7bit, quoted-printable and base64 bodies, from a buffer and from a
 * file), begin lines without a block, sections, limits, a second call,
 * write_raw, and every allocation failing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "tnef_testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimeo.h"

#include <pthread.h>

/* ---- helpers ---- */

typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

static void s_put(sbuf *s, const void *d, size_t n)
{
	if (s->n + n + 1 > s->cap) {
		s->cap = (s->n + n + 1) * 2;
		s->p = realloc(s->p, s->cap);
		ck_assert_ptr_nonnull(s->p);
	}
	memcpy(s->p + s->n, d, n);
	s->n += n;
	s->p[s->n] = '\0';
}

static void s_str(sbuf *s, const char *str)
{
	s_put(s, str, strlen(str));
}

static void s_base64(sbuf *s, const unsigned char *d, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		char q[4] = { a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < n ? a[v >> 6 & 63] : '=',
			      i + 2 < n ? a[v & 63] : '=' };

		s_put(s, q, 4);
		if ((col += 4) == 76) {
			s_str(s, "\r\n");
			col = 0;
		}
	}
	if (col)
		s_str(s, "\r\n");
}

/* POSIX uuencode of d as "begin 644 name" ... "end". */
static void s_uu(sbuf *s, const char *name, const unsigned char *d, size_t n)
{
	size_t i, j;
	char line[128];

	snprintf(line, sizeof(line), "begin 644 %s\n", name);
	s_str(s, line);
	for (i = 0; i < n; i += 45) {
		size_t k = n - i < 45 ? n - i : 45, o = 0;

		line[o++] = (char)(k ? 32 + k : '`');
		for (j = 0; j < k; j += 3) {
			unsigned b0 = d[i + j], b1 = j + 1 < k ? d[i + j + 1] : 0,
				 b2 = j + 2 < k ? d[i + j + 2] : 0;
			unsigned c[4] = { b0 >> 2, (b0 << 4 | b1 >> 4) & 63, (b1 << 2 | b2 >> 6) & 63,
					  b2 & 63 };
			int q;

			for (q = 0; q < 4; q++)
				line[o++] = (char)(c[q] ? 32 + c[q] : '`');
		}
		line[o++] = '\n';
		s_put(s, line, o);
	}
	s_str(s, "`\nend\n");
}

static int put_cb(const void *d, size_t n, void *ctx)
{
	s_put(ctx, d, n);
	return 0;
}

/* The decoded content of p (mimeo_part_decode), malloc'd. */
static char *content(const mimeo_part *p, size_t *len)
{
	sbuf s = { 0 };

	s_put(&s, "", 0);
	ck_assert_int_eq(mimeo_part_decode(p, 0, NULL, put_cb, &s, NULL), MIMEO_OK);
	*len = s.n;
	return s.p;
}

static mimeo_message *parse_expand(const char *msg, size_t len)
{
	mimeo_message *m = NULL;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, len, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_expand(m, NULL), MIMEO_OK);
	return m;
}

static void fill(unsigned char *d, size_t n, uint64_t seed)
{
	test_rand_bytes(&seed, d, n);
}

/* ---- uuencode in text bodies ---- */

/* A text body with two uuencoded files, a "begin" sentence, a begin line
 * whose block never ends, in the given transfer encoding. */
static char *uu_message(const char *cte, const unsigned char *f1, size_t n1,
			const unsigned char *f2, size_t n2, size_t *len)
{
	sbuf body = { 0 }, msg = { 0 };

	s_str(&body, "Hello,\nbegin the meeting at noon.\n\n");
	s_uu(&body, "first.bin", f1, n1);
	s_str(&body, "some text between\n");
	s_uu(&body, "second.txt", f2, n2);
	s_str(&body, "begin 644 broken.bin\nM86)C\n(no end line)\n");
	s_str(&msg, "From: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
		    "Content-Type: text/html\r\n\r\n<p>begin 644 x</p>\r\n--XX\r\n"
		    "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: ");
	s_str(&msg, cte);
	s_str(&msg, "\r\n\r\n");
	if (strcmp(cte, "base64") == 0) {
		s_base64(&msg, (const unsigned char *)body.p, body.n);
	} else if (strcmp(cte, "quoted-printable") == 0) {
		size_t i;

		/* '=' is in the uuencode alphabet */
		for (i = 0; i < body.n; i++)
			s_put(&msg, body.p[i] == '=' ? "=3D" : &body.p[i], body.p[i] == '=' ? 3 : 1);
	} else {
		s_put(&msg, body.p, body.n); /* uuencode is 7bit */
	}
	s_str(&msg, "\r\n--XX--\r\n");
	free(body.p);
	*len = msg.n;
	return msg.p;
}

static void check_uu_tree(const mimeo_message *m, const unsigned char *f1, size_t n1,
			  const unsigned char *f2, size_t n2)
{
	const mimeo_part *text = mimeo_message_find_section(m, "2"), *c;
	char *got;
	size_t len;

	ck_assert_ptr_nonnull(text);
	ck_assert(mimeo_part_is_leaf(text));
	ck_assert_uint_eq(mimeo_part_child_count(text), 2);
	ck_assert_uint_eq(mimeo_part_child_count(mimeo_message_find_section(m, "1")), 0);
	c = mimeo_part_first_child(text);
	ck_assert_str_eq(mimeo_part_section(c), "2.1");
	ck_assert_str_eq(mimeo_part_filename(c), "first.bin");
	ck_assert_str_eq(mimeo_part_type(c), "application");
	ck_assert_str_eq(mimeo_part_subtype(c), "octet-stream");
	ck_assert_str_eq(mimeo_part_disposition(c), "attachment");
	ck_assert_uint_eq(mimeo_part_derived(c), MIMEO_EXPAND_UUENCODE);
	ck_assert(mimeo_part_flags(c) & MIMEO_PART_DERIVED);
	ck_assert(mimeo_part_flags(c) & MIMEO_PART_LEAF);
	ck_assert(mimeo_part_is_attachment(c));
	ck_assert_uint_eq(mimeo_part_depth(c), 2);
	ck_assert_uint_eq(mimeo_part_size(c), n1);
	ck_assert_uint_eq(mimeo_part_header_count(c), 0);
	got = content(c, &len);
	ck_assert(len == n1 && memcmp(got, f1, n1) == 0);
	free(got);
	c = mimeo_part_next_sibling(c);
	ck_assert_str_eq(mimeo_part_section(c), "2.2");
	ck_assert_str_eq(mimeo_part_filename(c), "second.txt");
	ck_assert_str_eq(mimeo_part_type(c), "text");
	ck_assert_uint_eq(mimeo_part_size(c), n2);
	got = content(c, &len);
	ck_assert(len == n2 && memcmp(got, f2, n2) == 0);
	free(got);
	ck_assert_ptr_null(mimeo_part_next_sibling(c));
	ck_assert_ptr_eq(mimeo_message_find_section(m, "2.2"), c);
	ck_assert_ptr_eq(mimeo_part_parent(c), text);
	/* the walk goes through them; the parent's own body is unchanged */
	ck_assert_ptr_eq(mimeo_part_next(text), mimeo_part_first_child(text));
	ck_assert_uint_eq(mimeo_part_derived(text), 0);
	ck_assert_int_eq(mimeo_part_yenc_info(c, &(mimeo_yenc_info){ 0 }), MIMEO_EINVAL);
}

START_TEST(uuencode_in_text)
{
	static const char *ctes[] = { "7bit", "quoted-printable", "base64" };
	unsigned char f1[1000], f2[100];
	size_t i;

	fill(f1, sizeof(f1), 1);
	memset(f2, 'x', sizeof(f2));
	for (i = 0; i < 3; i++) {
		size_t len;
		char *msg = uu_message(ctes[i], f1, sizeof(f1), f2, sizeof(f2), &len);
		mimeo_message *m = parse_expand(msg, len), *mf = NULL;
		char path[] = "/tmp/test_expand_XXXXXX";
		int fd = mkstemp(path);
		const mimeo_part *c;
		char *got;
		size_t glen;

		check_uu_tree(m, f1, sizeof(f1), f2, sizeof(f2));
		/* the same from a file (the block is read from the file) */
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, msg, len), (ssize_t)len);
		close(fd);
		ck_assert_int_eq(mimeo_message_parse_file(&mf, path, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_message_expand(mf, NULL), MIMEO_OK);
		check_uu_tree(mf, f1, sizeof(f1), f2, sizeof(f2));
		/* write_raw of a derived node writes its content */
		c = mimeo_message_find_section(mf, "2.1");
		{
			sbuf s = { 0 };

			s_put(&s, "", 0);
			ck_assert_int_eq(mimeo_part_write_raw(c, put_cb, &s), MIMEO_OK);
			ck_assert(s.n == sizeof(f1) && memcmp(s.p, f1, s.n) == 0);
			free(s.p);
		}
		ck_assert_ptr_null(mimeo_part_body(c, NULL));
		/* the text part itself still decodes to the whole text */
		got = content(mimeo_message_find_section(mf, "2"), &glen);
		ck_assert_ptr_nonnull(strstr(got, "begin 644 first.bin"));
		free(got);
		unlink(path);
		mimeo_message_free(mf);
		mimeo_message_free(m);
		free(msg);
	}
}
END_TEST

/* "begin" lines that start no valid block leave the text alone; nothing
 * is found in parts that are not text/plain. */
START_TEST(begin_without_block)
{
	static const char *bodies[] = {
		"begin 644 a.bin\nM86)C\n",                    /* no end line */
		"begin the meeting\nend\n",                    /* no mode and name */
		"=ybegin line=128 size=3\nabc\n=yend size=3\n", /* no name= */
		"=ybegin line=128 size=3 name=x\nabc\n",       /* no =yend */
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		sbuf msg = { 0 };
		mimeo_message *m;

		s_str(&msg, "Content-Type: text/plain\n\n");
		s_str(&msg, bodies[i]);
		m = parse_expand(msg.p, msg.n);
		ck_assert_uint_eq(mimeo_message_part_count(m), 1);
		ck_assert_ptr_null(mimeo_part_first_child(mimeo_message_root(m)));
		mimeo_message_free(m);
		free(msg.p);
	}
	{
		static const char msg[] = "Content-Type: application/octet-stream\n\n"
					  "begin 644 a\n#86)C\n`\nend\n";
		mimeo_message *m = parse_expand(msg, sizeof(msg) - 1);

		ck_assert_uint_eq(mimeo_message_part_count(m), 1);
		mimeo_message_free(m);
	}
}
END_TEST

/* A single-part message is section 1: its files are 1.1, 1.2; what= and
 * max_children; a second call does nothing. */
START_TEST(sections_options_limits)
{
	static const char msg[] = "Subject: x\n\nbegin 644 a\n#86)C\n`\nend\n"
				  "begin\t644 b\n#>'EZ\n`\nend\n"
				  "=ybegin line=128 size=3 name=c.txt\n\x8b\x8c\x8d\n=yend size=3\n";
	mimeo_expand_options o = MIMEO_EXPAND_OPTIONS_INIT;
	mimeo_message *m = NULL;
	const mimeo_part *c;
	mimeo_yenc_info yi;
	char *got;
	size_t len;

	m = parse_expand(msg, sizeof(msg) - 1);
	ck_assert_uint_eq(mimeo_message_part_count(m), 4);
	c = mimeo_message_find_section(m, "1.3");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(mimeo_part_filename(c), "c.txt");
	ck_assert_uint_eq(mimeo_part_derived(c), MIMEO_EXPAND_YENC);
	ck_assert_int_eq(mimeo_part_yenc_info(c, &yi), MIMEO_OK);
	ck_assert_str_eq(yi.name, "c.txt");
	ck_assert_uint_eq(yi.file_size, 3);
	ck_assert_uint_eq(yi.part, 0);
	ck_assert_uint_eq(yi.errors, 0);
	got = content(c, &len);
	ck_assert(len == 3 && memcmp(got, "abc", 3) == 0);
	free(got);
	got = content(mimeo_message_find_section(m, "1.1"), &len);
	ck_assert(len == 3 && memcmp(got, "abc", 3) == 0);
	free(got);
	/* a begin line with a tab is one too: its block, not the one before */
	got = content(mimeo_message_find_section(m, "1.2"), &len);
	ck_assert(len == 3 && memcmp(got, "xyz", 3) == 0);
	free(got);
	ck_assert_int_eq(mimeo_message_expand(m, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_part_count(m), 4);
	mimeo_message_free(m);

	o.what = MIMEO_EXPAND_YENC;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_expand(m, &o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_part_count(m), 2);
	ck_assert_str_eq(mimeo_part_section(mimeo_message_find_section(m, "1.1")), "1.1");
	ck_assert_str_eq(mimeo_part_filename(mimeo_message_find_section(m, "1.1")), "c.txt");
	mimeo_message_free(m);

	o.what = 0;
	o.max_children = 2;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_expand(m, &o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_part_count(m), 3);
	ck_assert(mimeo_message_limits_hit(m) & MIMEO_LIMIT_PARTS);
	mimeo_message_free(m);

	o.version = 99;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, sizeof(msg) - 1, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_expand(m, &o), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_expand(NULL, NULL), MIMEO_EINVAL);
	ck_assert_uint_eq(mimeo_part_derived(mimeo_message_root(m)), 0);
	mimeo_message_free(m);
}
END_TEST

/* ---- MimeKit's yEnc posts ---- */

START_TEST(yenc_mimekit)
{
	const char *corpus = test_shared_corpus();
	static const struct {
		const char *name;
		unsigned part;
		uint64_t begin, end;
	} posts[] = { { "00000020.ntx", 1, 1, 11250 }, { "00000021.ntx", 2, 11251, 19338 } };
	char path[4096];
	size_t jlen, i;
	char *jpg;

	if (!corpus)
		return;
	snprintf(path, sizeof(path), "%s/mimekit-yenc/joystick.jpg", corpus);
	jpg = test_read_file(path, &jlen);
	if (!jpg)
		return;
	ck_assert_uint_eq(jlen, 19338);
	for (i = 0; i < 2; i++) {
		mimeo_message *m = NULL;
		const mimeo_part *c;
		mimeo_yenc_info yi;
		char *got;
		size_t len;

		snprintf(path, sizeof(path), "%s/mimekit-yenc/%s", corpus, posts[i].name);
		ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_message_expand(m, NULL), MIMEO_OK);
		c = mimeo_message_find_section(m, "1.1");
		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(mimeo_part_filename(c), "joystick.jpg");
		ck_assert_str_eq(mimeo_part_type(c), "image");
		ck_assert_str_eq(mimeo_part_subtype(c), "jpeg");
		ck_assert_int_eq(mimeo_part_yenc_info(c, &yi), MIMEO_OK);
		ck_assert_uint_eq(yi.part, posts[i].part);
		ck_assert_uint_eq(yi.total, 0); /* these posts give no total= */
		ck_assert_uint_eq(yi.begin, posts[i].begin);
		ck_assert_uint_eq(yi.end, posts[i].end);
		ck_assert_uint_eq(yi.file_size, 19338);
		ck_assert_uint_eq(yi.errors, 0);
		/* pcrc32= only: no whole-file crc32= to check */
		ck_assert(yi.have & MIMEO_YENC_HAVE_PCRC32);
		ck_assert(!(yi.have & MIMEO_YENC_HAVE_CRC32));
		got = content(c, &len);
		ck_assert_uint_eq(len, posts[i].end - posts[i].begin + 1);
		ck_assert(memcmp(got, jpg + posts[i].begin - 1, len) == 0);
		free(got);
		mimeo_message_free(m);
	}
	free(jpg);
}
END_TEST

/* The last part's crc32= (the whole file's CRC-32) is passed on for the
 * check after assembly, not compared with the part's own bytes. */
START_TEST(yenc_file_crc)
{
	static const char msg[] = "Subject: x\n\n=ybegin part=2 total=2 line=128 size=6 name=f.bin\n"
				  "=ypart begin=4 end=6\n\x8b\x8c\x8d\n"
				  "=yend size=3 part=2 pcrc32=352441c2 crc32=0badc0de\n";
	mimeo_message *m = parse_expand(msg, sizeof(msg) - 1);
	const mimeo_part *c = mimeo_message_find_section(m, "1.1");
	mimeo_yenc_info yi;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(mimeo_part_yenc_info(c, &yi), MIMEO_OK);
	ck_assert(yi.have & MIMEO_YENC_HAVE_CRC32);
	ck_assert_uint_eq(yi.file_crc32, 0x0badc0deu);
	ck_assert_uint_eq(yi.crc32, 0x352441c2u);
	ck_assert_uint_eq(yi.errors, 0);
	mimeo_message_free(m);
}
END_TEST

/* ---- MimeKit's TNEF files, wrapped in a message ---- */

/* One MimeKit case (tnef_each_mimekit_case callback; ctx counts the files
 * found). */
static unsigned tnef_case(const char *tdir, const char *name, void *ctx)
{
	unsigned *files = ctx;
	char path[8192], dir[4608];
	size_t len, nd = 0, i;
	char *data, **dc;
	size_t *dl;
	sbuf msg = { 0 };
	mimeo_message *m;
	const mimeo_part *p, *tn;
	DIR *dh;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	data = test_read_file(path, &len);
	ck_assert_ptr_nonnull(data);
	s_str(&msg, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
		    "--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--BB\r\n"
		    "Content-Type: application/ms-tnef; name=winmail.dat\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n");
	s_base64(&msg, (unsigned char *)data, len);
	s_str(&msg, "--BB--\r\n");
	m = parse_expand(msg.p, msg.n);
	tn = mimeo_message_find_section(m, "2");
	ck_assert(mimeo_part_is_leaf(tn));
	/* every derived node's content, nested ones included */
	dc = calloc(mimeo_message_part_count(m), sizeof(*dc));
	dl = calloc(mimeo_message_part_count(m), sizeof(*dl));
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		if (!mimeo_part_derived(p))
			continue;
		ck_assert_uint_eq(mimeo_part_derived(p), MIMEO_EXPAND_TNEF);
		ck_assert(strncmp(mimeo_part_section(p), "2.", 2) == 0);
		dc[nd] = content(p, &dl[nd]);
		ck_assert_uint_eq(dl[nd], mimeo_part_size(p));
		nd++;
	}
	snprintf(dir, sizeof(dir), "%s/%.*s", tdir, (int)(strlen(name) - 5), name);
	dh = opendir(dir);
	while (dh && (de = readdir(dh)) != NULL) {
		size_t wlen;
		char *want;
		int found = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		want = test_read_file(path, &wlen);
		ck_assert_ptr_nonnull(want);
		for (i = 0; i < nd && !found; i++)
			found = tnef_same_bytes(dc[i], dl[i], want, wlen, NULL);
		ck_assert_msg(found, "%s: %s (%zu bytes) is no child of the TNEF part", name,
			      de->d_name, wlen);
		(*files)++;
		free(want);
	}
	if (dh)
		closedir(dh);
	/* the attachment names MimeKit gives (its bodies are "body.*") */
	snprintf(path, sizeof(path), "%s/%.*s.list", tdir, (int)(strlen(name) - 5), name);
	{
		size_t llen;
		char *list = test_read_file(path, &llen), *line, *save = NULL;

		for (line = list ? strtok_r(list, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			int found = 0;

			if (!line[0] || strncmp(line, "body.", 5) == 0)
				continue;
			for (p = mimeo_message_root(m); p && !found; p = mimeo_part_next(p))
				found = mimeo_part_derived(p) && mimeo_part_filename(p) &&
					strcmp(mimeo_part_filename(p), line) == 0;
			ck_assert_msg(found, "%s: no child named %s", name, line);
		}
		free(list);
	}
	for (i = 0; i < nd; i++)
		free(dc[i]);
	free(dc);
	free(dl);
	mimeo_message_free(m);
	free(msg.p);
	free(data);
	return 1;
}

START_TEST(tnef_mimekit)
{
	unsigned files = 0;
	long cases = tnef_each_mimekit_case(tnef_case, &files);

	if (cases < 0)
		return;
	ck_assert_int_eq(cases, 19);
	ck_assert_uint_eq(files, 49);
	printf("expand: 19 TNEF streams in messages, the 49 files MimeKit extracts found among "
	       "the children\n");
}
END_TEST

/* A part named winmail.dat counts whatever its type; one that is not TNEF
 * stays a leaf. */
START_TEST(tnef_by_name_and_not_tnef)
{
	static const char msg[] = "Content-Type: application/octet-stream; name=WINMAIL.DAT\n\n"
				  "not a TNEF stream\n";
	mimeo_message *m = parse_expand(msg, sizeof(msg) - 1);

	ck_assert_uint_eq(mimeo_message_part_count(m), 1);
	mimeo_message_free(m);
}
END_TEST

/* ---- synthetic TNEF streams ---- */

static void sweep(const char *msg, size_t len);

static void t_u16(sbuf *s, unsigned v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	s_put(s, b, 2);
}

static void t_u32(sbuf *s, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	s_put(s, b, 4);
}

/* One attribute with its checksum (the byte sum of its data). */
static void t_attr(sbuf *s, unsigned level, uint32_t tag, const void *d, size_t n)
{
	unsigned sum = 0;
	size_t i;

	s_put(s, (unsigned char[]){ (unsigned char)level }, 1);
	t_u32(s, tag);
	t_u32(s, (uint32_t)n);
	s_put(s, d, n);
	for (i = 0; i < n; i++)
		sum += ((const unsigned char *)d)[i];
	t_u16(s, sum & 0xffff);
}

/* A TNEF stream: attBody `body` (NULL: none), then `n` attachments named
 * "fK.bin" holding size bytes of fill(..., K). */
static void t_stream(sbuf *s, const char *body, size_t n, size_t size)
{
	unsigned char *d = malloc(size ? size : 1);
	size_t k;

	ck_assert_ptr_nonnull(d);
	t_u32(s, MIMEO_TNEF_SIGNATURE);
	t_u16(s, 0x0001);
	t_attr(s, 1, 0x00089006u, "\x00\x00\x01\x00", 4); /* attTnefVersion */
	if (body)
		t_attr(s, 1, MIMEO_TNEF_ATT_BODY, body, strlen(body));
	for (k = 0; k < n; k++) {
		char name[32];

		snprintf(name, sizeof(name), "f%zu.bin", k);
		fill(d, size, k);
		t_attr(s, 2, MIMEO_TNEF_ATT_ATTACH_RENDDATA,
		       "\x01\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 14);
		t_attr(s, 2, MIMEO_TNEF_ATT_ATTACH_TITLE, name, strlen(name) + 1);
		t_attr(s, 2, MIMEO_TNEF_ATT_ATTACH_DATA, d, size);
	}
	free(d);
}

/* The stream as a base64 application/ms-tnef message. */
static void t_message(sbuf *msg, const sbuf *tnef)
{
	s_str(msg, "MIME-Version: 1.0\r\nContent-Type: application/ms-tnef\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n");
	s_base64(msg, (const unsigned char *)tnef->p, tnef->n);
}

/* An allocator that counts the bytes asked for. */
typedef struct counting {
	mimeo_allocator alloc;
	uint64_t bytes;
} counting;

static void *c_malloc(size_t n, void *ctx)
{
	((counting *)ctx)->bytes += n;
	return malloc(n);
}

static void *c_realloc(void *p, size_t n, void *ctx)
{
	((counting *)ctx)->bytes += n;
	return realloc(p, n);
}

static void c_free(void *p, void *ctx)
{
	(void)ctx;
	free(p);
}

static int count_cb(const void *d, size_t n, void *ctx)
{
	(void)d;
	*(uint64_t *)ctx += n;
	return 0;
}

/* Saving every attachment of a TNEF part (what `mimeo extract` does: each
 * child's content in turn) decodes and reads the part once, not once per
 * child: the bytes allocated for all of them stay within a small multiple
 * of the part, whatever the number of attachments (regression: each child
 * decoded the whole part again, k attachments cost k decodes, and past
 * work_factor times the part the rest were not even shown). */
START_TEST(tnef_children_linear)
{
	static const size_t counts[] = { 50, 400 };
	size_t ci;

	for (ci = 0; ci < 2; ci++) {
		size_t n = counts[ci], k;
		sbuf tnef = { 0 }, msg = { 0 };
		counting ca = { { c_malloc, c_realloc, c_free, NULL }, 0 };
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_message *m = NULL;
		const mimeo_part *root, *c;
		uint64_t before, total = 0;

		ca.alloc.ctx = &ca;
		t_stream(&tnef, NULL, n, 1500);
		t_message(&msg, &tnef);
		o.alloc = &ca.alloc;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg.p, msg.n, &o), MIMEO_OK);
		ck_assert_int_eq(mimeo_message_expand(m, NULL), MIMEO_OK);
		root = mimeo_message_root(m);
		ck_assert_uint_eq(mimeo_part_child_count(root), n);
		ck_assert(!(mimeo_message_limits_hit(m) & MIMEO_LIMIT_PARTS));
		before = ca.bytes;
		for (c = mimeo_part_first_child(root), k = 0; c; c = mimeo_part_next_sibling(c), k++) {
			uint64_t got = 0;

			ck_assert_int_eq(mimeo_part_decode(c, 0, NULL, count_cb, &got, NULL), MIMEO_OK);
			ck_assert_uint_eq(got, 1500);
			total += got;
		}
		ck_assert_uint_eq(k, n);
		ck_assert_uint_eq(total, n * 1500);
		/* one decode of the part (its TNEF stream, about n * 1.5 KB)
		 * and the reader's item table: linear, not n times that */
		ck_assert_msg(ca.bytes - before < 3 * (uint64_t)tnef.n,
			      "%zu children: %llu bytes allocated for a %zu-byte stream", n,
			      (unsigned long long)(ca.bytes - before), tnef.n);
		/* the contents are right, read in any order, twice */
		for (k = n; k-- > 0;) {
			char path[32];
			unsigned char want[1500];
			size_t len;
			char *got;

			if (k % 37)
				continue;
			snprintf(path, sizeof(path), "1.%zu", k + 1);
			c = mimeo_message_find_section(m, path);
			ck_assert_ptr_nonnull(c);
			fill(want, sizeof(want), k);
			got = content(c, &len);
			ck_assert(len == sizeof(want) && memcmp(got, want, len) == 0);
			free(got);
		}
		mimeo_message_free(m);
		free(msg.p);
		free(tnef.p);
	}
}
END_TEST

/* Threads producing the children of one TNEF part at once: each reads the
 * stream if none is kept yet, one copy wins, every content is right. */
typedef struct tjob {
	const mimeo_message *m;
	int ok;
} tjob;

static void *tnef_reader(void *arg)
{
	tjob *j = arg;
	const mimeo_part *c = mimeo_part_first_child(mimeo_message_root(j->m));
	size_t k;

	j->ok = 1;
	for (k = 0; c; c = mimeo_part_next_sibling(c), k++) {
		unsigned char want[300];
		sbuf s = { 0 };

		s_put(&s, "", 0);
		fill(want, sizeof(want), k);
		if (mimeo_part_decode(c, 0, NULL, put_cb, &s, NULL) != MIMEO_OK || s.n != sizeof(want) ||
		    memcmp(s.p, want, s.n) != 0)
			j->ok = 0;
		free(s.p);
	}
	return NULL;
}

START_TEST(tnef_children_threads)
{
	sbuf tnef = { 0 }, msg = { 0 };
	pthread_t th[4];
	tjob jobs[4];
	int round, i;

	t_stream(&tnef, NULL, 20, 300);
	t_message(&msg, &tnef);
	for (round = 0; round < 20; round++) {
		mimeo_message *m = parse_expand(msg.p, msg.n);

		for (i = 0; i < 4; i++) {
			jobs[i].m = m;
			ck_assert_int_eq(pthread_create(&th[i], NULL, tnef_reader, &jobs[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			ck_assert(jobs[i].ok);
		}
		mimeo_message_free(m);
	}
	free(msg.p);
	free(tnef.p);
}
END_TEST

/* uuencoded and yEnc files in a TNEF message's plain-text body are
 * children of that body's node (sections 1.1.1, 1.1.2). */
START_TEST(blocks_in_tnef_body)
{
	static const char body[] = "Here are the files.\r\nbegin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n"
				   "=ybegin line=128 size=3 name=b.bin\r\nabc\r\n"
				   "=yend size=3 crc32=96ff1ef4\r\nbegin the meeting\r\n";
	sbuf tnef = { 0 }, msg = { 0 };
	mimeo_message *m;
	const mimeo_part *c;
	mimeo_yenc_info yi;
	char *got;
	size_t len;

	/* (the reader gives the body in UTF-8: an ASCII yEnc block here) */
	t_stream(&tnef, body, 1, 10);
	t_message(&msg, &tnef);
	m = parse_expand(msg.p, msg.n);
	c = mimeo_message_find_section(m, "1.1");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(mimeo_part_filename(c), "message.txt");
	ck_assert_uint_eq(mimeo_part_child_count(c), 2);
	c = mimeo_message_find_section(m, "1.1.1");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(mimeo_part_filename(c), "a.txt");
	ck_assert_uint_eq(mimeo_part_derived(c), MIMEO_EXPAND_UUENCODE);
	got = content(c, &len);
	ck_assert(len == 3 && memcmp(got, "abc", 3) == 0);
	free(got);
	c = mimeo_message_find_section(m, "1.1.2");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(mimeo_part_filename(c), "b.bin");
	ck_assert_uint_eq(mimeo_part_derived(c), MIMEO_EXPAND_YENC);
	got = content(c, &len);
	ck_assert(len == 3 && memcmp(got, "789", 3) == 0);
	ck_assert_int_eq(mimeo_part_yenc_info(c, &yi), MIMEO_OK);
	ck_assert_uint_eq(yi.errors, 0);
	free(got);
	/* the body itself is still the whole text, the attachment follows */
	got = content(mimeo_message_find_section(m, "1.1"), &len);
	ck_assert(len == sizeof(body) - 1 && memcmp(got, body, len) == 0);
	free(got);
	ck_assert_str_eq(mimeo_part_filename(mimeo_message_find_section(m, "1.2")), "f0.bin");
	ck_assert_ptr_null(mimeo_message_find_section(m, "1.3"));
	mimeo_message_free(m);
	/* with uuencode and yEnc not asked for, the body has no children */
	{
		mimeo_expand_options eo = MIMEO_EXPAND_OPTIONS_INIT;

		eo.what = MIMEO_EXPAND_TNEF;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg.p, msg.n, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_message_expand(m, &eo), MIMEO_OK);
		ck_assert_uint_eq(mimeo_part_child_count(mimeo_message_find_section(m, "1.1")), 0);
		mimeo_message_free(m);
	}
	/* every allocation failing: expanding and producing */
	sweep(msg.p, msg.n);
	free(msg.p);
	free(tnef.p);
}
END_TEST

/* ---- every allocation failing ---- */

static void sweep(const char *msg, size_t len)
{
	unsigned long n;

	for (n = 1;; n++) {
		test_failing_alloc fa;
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_message *m = NULL;
		const mimeo_part *p;
		unsigned long parse_calls;
		int rc;

		test_failing_alloc_init(&fa, 0);
		o.alloc = &fa.alloc;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg, len, &o), MIMEO_OK);
		parse_calls = fa.calls;
		fa.fail_at = parse_calls + n;
		rc = mimeo_message_expand(m, NULL);
		if (rc != MIMEO_OK) {
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
			/* the tree is as before */
			for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
				ck_assert_uint_eq(mimeo_part_derived(p), 0);
		} else {
			for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
				sbuf s = { 0 };

				if (!mimeo_part_derived(p))
					continue;
				s_put(&s, "", 0);
				rc = mimeo_part_decode(p, 0, NULL, put_cb, &s, NULL);
				ck_assert(rc == MIMEO_OK || rc == MIMEO_ENOMEM);
				if (rc == MIMEO_OK)
					ck_assert_uint_eq(s.n, mimeo_part_size(p));
				free(s.p);
			}
		}
		mimeo_message_free(m);
		ck_assert_int_eq(fa.live, 0);
		if (!fa.failed)
			break;
		ck_assert_uint_lt(n, 100000);
	}
}

START_TEST(every_allocation_failure)
{
	unsigned char f1[300], f2[10];
	size_t len;
	char *msg;
	const char *corpus = test_shared_corpus();

	fill(f1, sizeof(f1), 7);
	memset(f2, 'y', sizeof(f2));
	msg = uu_message("base64", f1, sizeof(f1), f2, sizeof(f2), &len);
	sweep(msg, len);
	free(msg);
	msg = uu_message("7bit", f1, sizeof(f1), f2, sizeof(f2), &len);
	sweep(msg, len);
	free(msg);
	{
		/* yEnc blocks in a base64 text (decoded again up to each) */
		static const char text[] = "=ybegin line=128 size=3 name=a.bin\nabc\n=yend size=3\n"
					   "=ybegin part=1 line=128 size=6 name=b.bin\n"
					   "=ypart begin=1 end=3\nabc\n=yend size=3 part=1\n";
		sbuf s = { 0 };

		s_str(&s, "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n");
		s_base64(&s, (const unsigned char *)text, sizeof(text) - 1);
		sweep(s.p, s.n);
		free(s.p);
	}
	if (corpus) {
		char path[4096];
		char *data;
		size_t dlen;

		/* a TNEF stream with RTF and an embedded TNEF message */
		snprintf(path, sizeof(path), "%s/mimekit-tnef/rich-text.eml", corpus);
		data = test_read_file(path, &dlen);
		if (data) {
			sweep(data, dlen);
			free(data);
		}
	}
	if (corpus) {
		char path[4096];
		char *data;
		size_t dlen;

		snprintf(path, sizeof(path), "%s/mimekit-tnef/MAPI_OBJECT.tnef", corpus);
		data = test_read_file(path, &dlen);
		if (data) {
			sbuf s = { 0 };

			s_str(&s, "Content-Type: application/vnd.ms-tnef\r\n"
				  "Content-Transfer-Encoding: base64\r\n\r\n");
			s_base64(&s, (unsigned char *)data, dlen);
			sweep(s.p, s.n);
			free(s.p);
			free(data);
		}
	}
}
END_TEST

/* Thousands of files in one transfer-encoded text: producing each decodes
 * the text up to it, so past work_factor times the text (at least 256
 * MiB) the rest is not shown and MIMEO_LIMIT_PARTS says so; in a 7bit text
 * each block reads only itself: all are shown. */
START_TEST(work_budget)
{
	static const char *ctes[] = { "base64", "7bit" };
	sbuf body = { 0 };
	char filler[1001];
	size_t i;

	memset(filler, 'x', sizeof(filler) - 2);
	filler[sizeof(filler) - 2] = '\n';
	filler[sizeof(filler) - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		char b[64];

		snprintf(b, sizeof(b), "begin 644 f%zu\n#86)C\n`\nend\n", i);
		s_str(&body, b);
		s_str(&body, filler);
	}
	for (i = 0; i < 2; i++) {
		sbuf msg = { 0 };
		mimeo_message *m;
		size_t n;

		s_str(&msg, "Content-Type: text/plain\nContent-Transfer-Encoding: ");
		s_str(&msg, ctes[i]);
		s_str(&msg, "\n\n");
		if (i == 0)
			s_base64(&msg, (unsigned char *)body.p, body.n);
		else
			s_put(&msg, body.p, body.n);
		m = parse_expand(msg.p, msg.n);
		n = mimeo_part_child_count(mimeo_message_root(m));
		if (i == 0) {
			ck_assert_uint_gt(n, 100);
			ck_assert_uint_lt(n, 1000);
			ck_assert(mimeo_message_limits_hit(m) & MIMEO_LIMIT_PARTS);
		} else {
			ck_assert_uint_eq(n, 1000);
			ck_assert(!(mimeo_message_limits_hit(m) & MIMEO_LIMIT_PARTS));
		}
		mimeo_message_free(m);
		free(msg.p);
	}
	free(body.p);
}
END_TEST

/* Where a block starts when the one before it ended at its begin line
 * (held by the decoder) and a "begin " text line that is no begin line
 * follows; and when the one before ended at its own end line (found by
 * the random inputs of fuzz_expand's replay: the child's content, produced
 * again, differed from the size found).  Each child is its own block. */
START_TEST(block_starts)
{
	static const char msg1[] = "Subject: x\n\nbegin 644 a\n#86)C\n"   /* no end */
				   "begin 600 b\nbegin 64x \n#>'EZ\n`\nend\n";
	static const char msg2[] = "Subject: x\n\nbegin 644 \n`\nend\n"
				   "begin 644 \n#86)C\n`\nend\nbegin 644 x\n#>'EZ\n`\nend\n";
	mimeo_message *m = parse_expand(msg1, sizeof(msg1) - 1);
	const mimeo_part *c;
	char *got;
	size_t len;

	ck_assert_uint_eq(mimeo_part_child_count(mimeo_message_root(m)), 1);
	c = mimeo_message_find_section(m, "1.1");
	ck_assert_str_eq(mimeo_part_filename(c), "b");
	got = content(c, &len);
	ck_assert(len == 3 && memcmp(got, "xyz", 3) == 0);
	free(got);
	mimeo_message_free(m);

	m = parse_expand(msg2, sizeof(msg2) - 1);
	ck_assert_uint_eq(mimeo_part_child_count(mimeo_message_root(m)), 3);
	ck_assert_uint_eq(mimeo_part_size(mimeo_message_find_section(m, "1.1")), 0);
	got = content(mimeo_message_find_section(m, "1.2"), &len);
	ck_assert(len == 3 && memcmp(got, "abc", 3) == 0);
	free(got);
	c = mimeo_message_find_section(m, "1.3");
	ck_assert_str_eq(mimeo_part_filename(c), "x");
	got = content(c, &len);
	ck_assert(len == 3 && memcmp(got, "xyz", 3) == 0);
	free(got);
	mimeo_message_free(m);
}
END_TEST

/* Regression (fuzz_expand): every derived child decodes to the size that
 * expanding counted.  A yEnc block cut short by "=ybegin<CR> name=" used to
 * leave a child that started at that line, counted 1 byte and decoded to
 * none (MIMEO_EIO). */
START_TEST(yenc_child_reads_as_counted)
{
	static const char msg[] = "Content-Type: text/plain\r\n\r\n"
				  "=ybegin name=\n=ybegin\r name=\nd\n=yend";
	mimeo_message *m = parse_expand(msg, sizeof(msg) - 1);
	const mimeo_part *p;
	size_t n = 0;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		char *got;
		size_t len;

		if (!mimeo_part_derived(p))
			continue;
		n++;
		got = content(p, &len);
		ck_assert_uint_eq(len, mimeo_part_size(p));
		free(got);
	}
	ck_assert_uint_eq(n, 1);
	mimeo_message_free(m);
}
END_TEST

static Suite *expand_suite(void)
{
	Suite *s = suite_create("expand");
	TCase *tc = tcase_create("expand");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, uuencode_in_text);
	tcase_add_test(tc, begin_without_block);
	tcase_add_test(tc, sections_options_limits);
	tcase_add_test(tc, yenc_mimekit);
	tcase_add_test(tc, yenc_file_crc);
	tcase_add_test(tc, tnef_children_linear);
	tcase_add_test(tc, blocks_in_tnef_body);
	tcase_add_test(tc, tnef_children_threads);
	tcase_add_test(tc, tnef_mimekit);
	tcase_add_test(tc, tnef_by_name_and_not_tnef);
	tcase_add_test(tc, every_allocation_failure);
	tcase_add_test(tc, work_budget);
	tcase_add_test(tc, block_starts);
	tcase_add_test(tc, yenc_child_reads_as_counted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(expand_suite());
}
