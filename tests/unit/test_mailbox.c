/*
 * test_mailbox.c - the mailbox reader (mimeo/mailbox.h): mbox splitting
 * by the parser's rules, offsets and sizes, random access, .gz, Maildir
 * order and skipped entries, errors, limits, and every allocation failing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Three messages: an unescaped "From " without a time and a ">From " line
 * in the first (neither splits), a CRLF message, and a last message
 * without a final line break. */
static const char M1[] =
	"From alice@example.org Mon Dec  7 10:00:00 2026\n"
	"From: Alice <alice@example.org>\n"
	"Subject: one\n"
	"\n"
	"hello\n"
	"\n"
	"From here on, no time: not a separator\n"
	">From quoted\n";
static const char M2[] =
	"From bob@example.org Mon Dec  7 10:01:00 2026\r\n"
	"Subject: two\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n"
	"\r\n"
	"--b\r\n"
	"\r\n"
	"text\r\n"
	"--b\r\n"
	"Content-Disposition: attachment; filename=a.txt\r\n"
	"\r\n"
	"att\r\n"
	"--b--\r\n";
static const char M3[] =
	"From carol Tue Dec  8 11:00:00 2026\n"
	"Subject: three\n"
	"\n"
	"cut";

static char *three(size_t *len)
{
	/* separators: LF after M1, CRLF after M2 */
	size_t n1 = strlen(M1), n2 = strlen(M2), n3 = strlen(M3);
	char *s = malloc(n1 + 1 + n2 + 2 + n3 + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, M1, n1);
	s[n1] = '\n';
	memcpy(s + n1 + 1, M2, n2);
	memcpy(s + n1 + 1 + n2, "\r\n", 2);
	memcpy(s + n1 + 1 + n2 + 2, M3, n3 + 1);
	*len = n1 + 1 + n2 + 2 + n3;
	return s;
}

static void check_three(mimeo_mailbox *mb, const char *path)
{
	mimeo_mailbox_entry e;
	size_t n1 = strlen(M1), n2 = strlen(M2), n3 = strlen(M3), len;
	const char *d;

	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_MBOX);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 3);
	ck_assert_uint_eq(mimeo_mailbox_size(mb), n1 + 1 + n2 + 2 + n3);
	ck_assert_uint_eq(mimeo_mailbox_parse_flags(mb), MIMEO_PARSE_MBOX);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	ck_assert_uint_eq(e.number, 1);
	ck_assert_uint_eq(e.offset, 0);
	ck_assert_uint_eq(e.size, n1);
	if (path)
		ck_assert_str_eq(e.path, path);
	else
		ck_assert_ptr_null(e.path);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 2, &e), MIMEO_OK);
	ck_assert_uint_eq(e.offset, n1 + 1);
	ck_assert_uint_eq(e.size, n2);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 3, &e), MIMEO_OK);
	ck_assert_uint_eq(e.offset, n1 + 1 + n2 + 2);
	ck_assert_uint_eq(e.size, n3);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 4, &e), MIMEO_ENOTFOUND);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 0, &e), MIMEO_ENOTFOUND);
	/* random access: the last one first */
	ck_assert_int_eq(mimeo_mailbox_message(mb, 3, &d, &len), MIMEO_OK);
	ck_assert_uint_eq(len, n3);
	ck_assert(memcmp(d, M3, n3) == 0);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 2, &d, &len), MIMEO_OK);
	ck_assert(len == n2 && memcmp(d, M2, n2) == 0);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 1, &d, &len), MIMEO_OK);
	ck_assert(len == n1 && memcmp(d, M1, n1) == 0);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 4, &d, &len), MIMEO_ENOTFOUND);
	ck_assert(strstr(mimeo_mailbox_error(mb), "no message 4") != NULL);
}

static const char *subject(const mimeo_message *m)
{
	return mimeo_part_get_header(mimeo_message_root(m), "Subject", NULL);
}

START_TEST(mbox_buffer_split_and_offsets)
{
	size_t len;
	char *s = three(&len);
	mimeo_mailbox *mb = NULL;

	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, len, NULL), MIMEO_OK);
	check_three(mb, NULL);
	ck_assert_uint_eq(mimeo_mailbox_skipped(mb), 0);
	mimeo_mailbox_free(mb);
	free(s);
}
END_TEST

START_TEST(mbox_parse_message_tree)
{
	size_t len, blen;
	char *s = three(&len);
	mimeo_mailbox *mb = NULL;
	mimeo_message *m = NULL;
	const mimeo_part *p;
	const char *body;

	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, len, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 2, NULL), MIMEO_OK);
	ck_assert_str_eq(subject(m), "two");
	ck_assert_int_eq(mimeo_message_defect_count(m), 0);
	p = mimeo_message_find_section(m, "2");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(mimeo_part_filename(p), "a.txt");
	mimeo_message_free(m);
	/* message 1: its From_ line is no defect, ">From " is un-quoted, the
	 * unescaped "From here" stays in the body */
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 1, NULL), MIMEO_OK);
	ck_assert_str_eq(subject(m), "one");
	ck_assert_int_eq(mimeo_message_defect_count(m), 0);
	body = test_part_body(mimeo_message_root(m), &blen);
	ck_assert_uint_eq(blen, strlen("hello\n\nFrom here on, no time: not a separator\nFrom quoted\n"));
	ck_assert(memcmp(body, "hello\n\nFrom here on, no time: not a separator\nFrom quoted\n", blen) == 0);
	mimeo_message_free(m);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 3, NULL), MIMEO_OK);
	ck_assert_str_eq(subject(m), "three");
	mimeo_message_free(m);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 9, NULL), MIMEO_ENOTFOUND);
	ck_assert_ptr_null(m);
	mimeo_mailbox_free(mb);
	free(s);
}
END_TEST

/* Events of each message fed alone equal those of the whole mbox. */
typedef struct counts {
	size_t messages, leaves, bytes;
	uint64_t offsets[8];
} counts;

static int c_begin(const mimeo_part_info *i, uint64_t off, void *u)
{
	counts *c = u;

	(void)i;
	if (c->messages < 8)
		c->offsets[c->messages] = off;
	c->messages++;
	return 0;
}

static int c_end(const mimeo_part_info *i, void *u)
{
	counts *c = u;

	if (i->flags & MIMEO_PART_LEAF) {
		c->leaves++;
		c->bytes += i->decoded_size;
	}
	return 0;
}

static void count(const char *d, size_t len, unsigned flags, counts *c)
{
	static const mimeo_parser_callbacks cb = { MIMEO_PARSER_CALLBACKS_VERSION,
		c_begin, NULL, NULL, NULL, NULL, NULL, NULL, c_end, NULL, NULL };
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *p;

	po.flags = flags;
	ck_assert_int_eq(mimeo_parser_new(&p, &po, &cb, c), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_feed(p, d, len), MIMEO_OK);
	ck_assert_int_eq(mimeo_parser_finish(p), MIMEO_OK);
	mimeo_parser_free(p);
}

START_TEST(mbox_messages_feed_like_the_whole)
{
	size_t len, i;
	char *s = three(&len);
	mimeo_mailbox *mb = NULL;
	counts whole = { 0 }, sum = { 0 };

	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, len, NULL), MIMEO_OK);
	count(s, len, MIMEO_PARSE_MBOX, &whole);
	ck_assert_uint_eq(whole.messages, 3);
	for (i = 1; i <= 3; i++) {
		mimeo_mailbox_entry e;
		const char *d;
		size_t n;

		ck_assert_int_eq(mimeo_mailbox_entry_get(mb, i, &e), MIMEO_OK);
		ck_assert_uint_eq(whole.offsets[i - 1], e.offset);
		ck_assert_int_eq(mimeo_mailbox_message(mb, i, &d, &n), MIMEO_OK);
		count(d, n, mimeo_mailbox_parse_flags(mb), &sum);
	}
	ck_assert_uint_eq(sum.messages, whole.messages);
	ck_assert_uint_eq(sum.leaves, whole.leaves);
	ck_assert_uint_eq(sum.bytes, whole.bytes);
	mimeo_mailbox_free(mb);
	free(s);
}
END_TEST

/* Regression (fuzz_mailbox): a first line that is a From_ line and also
 * reads as a header field ("From :x") was a header to the parser, which
 * then split at it as at any From_ line: two messages where the reader
 * (and any later From_ line) sees one. */
START_TEST(first_from_line_that_is_a_field)
{
	static const char s[] = "From :Subject 10:00\n\nbody\n";
	mimeo_mailbox *mb = NULL;
	counts c = { 0 };

	count(s, strlen(s), MIMEO_PARSE_MBOX, &c);
	ck_assert_uint_eq(c.messages, 1);
	ck_assert_uint_eq(c.bytes, strlen("body\n"));
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, strlen(s), NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 1);
	mimeo_mailbox_free(mb);
}
END_TEST

/* Regression (fuzz_mailbox): a message/rfc822 body that starts with a
 * From_ line splits the mailbox there; the deferred end of the empty
 * encapsulated header block then put the parser in body mode after an
 * "empty line", and the next "From " line split it once more. */
START_TEST(rfc822_body_starting_with_from_line)
{
	static const char s[] = "From x 10:00\nContent-Type: message/rfc822\n\n"
				"From a 10:00\nFrom b 10:00\nSubject: y\n\nbody\n";
	mimeo_mailbox *mb = NULL;
	counts c = { 0 };

	count(s, strlen(s), MIMEO_PARSE_MBOX, &c);
	ck_assert_uint_eq(c.messages, 2);
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, strlen(s), NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 2);
	mimeo_mailbox_free(mb);
}
END_TEST

/* Regression (fuzz_mailbox f14d2550): a whitespace-only line that a header
 * block starts with is skipped, but it is no empty line: a From_ line after
 * it is no separator to the mailbox reader, and the parser split there (it
 * kept "the line before was empty" from before the skipped line). */
START_TEST(from_line_after_whitespace_line)
{
	static const char first[] = " \nFrom a 05:00\n\nx\n";
	static const char later[] = "From a 05:00\nSubject: s\n\nbody\n\n"
				    "From b 05:00\n \t\nFrom c 05:00\n\nx\n";
	static const struct {
		const char *s;
		size_t messages;
	} cases[] = { { first, 1 }, { later, 2 } };
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
	size_t i;

	o.flags = MIMEO_MAILBOX_FORCE_MBOX;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mimeo_mailbox *mb = NULL;
		counts c = { 0 };
		size_t len = strlen(cases[i].s);

		count(cases[i].s, len, MIMEO_PARSE_MBOX, &c);
		ck_assert_uint_eq(c.messages, cases[i].messages);
		ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, cases[i].s, len, &o), MIMEO_OK);
		ck_assert_uint_eq(mimeo_mailbox_count(mb), cases[i].messages);
		mimeo_mailbox_free(mb);
	}
}
END_TEST

START_TEST(next_from_and_separator)
{
	size_t len, n1 = strlen(M1), n2 = strlen(M2);
	char *s = three(&len);
	size_t p;

	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, 0), n1 + 1);
	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, 1), n1 + 1);
	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, n1 + 1), n1 + 1);
	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, n1 + 2), n1 + 1 + n2 + 2);
	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, len - 1), len);
	ck_assert_uint_eq(mimeo_mailbox_next_from(s, len, len), len);
	ck_assert_uint_eq(mimeo_mailbox_next_from(NULL, 0, 0), 0);
	ck_assert_uint_eq(mimeo_mailbox_separator(s, n1 + 1), 1);
	ck_assert_uint_eq(mimeo_mailbox_separator(s, n1 + 1 + n2 + 2), 2);
	ck_assert_uint_eq(mimeo_mailbox_separator(s, 0), 0);
	/* every cut point lands on a message start */
	for (p = 0; p <= len; p++) {
		size_t q = mimeo_mailbox_next_from(s, len, p);

		ck_assert(q == n1 + 1 || q == n1 + 1 + n2 + 2 || q == len);
		ck_assert(q >= p);
	}
	free(s);
}
END_TEST

START_TEST(mbox_corner_cases)
{
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
	mimeo_mailbox *mb = NULL;
	mimeo_mailbox_entry e;
	static const char empty_first[] = "\nFrom a 10:00\nSubject: x\n\nbody\n";
	static const char single[] = "Subject: one\n\nFrom a 10:00 in a body\n";
	static const char forced[] = "Subject: first\n\nx\n\nFrom a 10:00\n\ny\n";
	static const char blank_cr[] = "From a 10:00\n\n\r\nFrom b 10:00\n\nz\n";
	char longline[1200 + 64];

	/* empty: an empty mbox */
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, "", 0, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_MBOX);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 0);
	mimeo_mailbox_free(mb);
	/* a file that starts with an empty line is a single message... */
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, empty_first, strlen(empty_first), NULL),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_SINGLE);
	mimeo_mailbox_free(mb);
	/* ...but read as an mbox, its first message is empty and keeps its
	 * empty line (so that it parses as one message) */
	o.flags = MIMEO_MAILBOX_FORCE_MBOX;
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, empty_first, strlen(empty_first), &o),
			 MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 2);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	ck_assert(e.offset == 0 && e.size == 1);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 2, &e), MIMEO_OK);
	ck_assert(e.offset == 1 && e.size == strlen(empty_first) - 1);
	mimeo_mailbox_free(mb);
	/* forced mbox without a leading From_ line */
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, forced, strlen(forced), &o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 2);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	ck_assert(e.offset == 0 && e.size == strlen("Subject: first\n\nx\n"));
	mimeo_mailbox_free(mb);
	/* "From : x" starts a header field (obsolete syntax), not an mbox */
	ck_assert(!mimeo_mailbox_is_mbox("From : a@b 10:00\n", 17));
	ck_assert(!mimeo_mailbox_is_mbox("From\t", 5));
	ck_assert(!mimeo_mailbox_is_mbox("From", 4));
	ck_assert(mimeo_mailbox_is_mbox("From a 10:00\n", 13));
	ck_assert(mimeo_mailbox_is_mbox("From ", 5));
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, "From : a@b 10:00\n\nx\n", 20, NULL),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_SINGLE);
	mimeo_mailbox_free(mb);
	/* a single message: "From " inside is body text */
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, single, strlen(single), NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_SINGLE);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 1);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	ck_assert(e.offset == 0 && e.size == strlen(single));
	ck_assert_uint_eq(mimeo_mailbox_parse_flags(mb), 0);
	mimeo_mailbox_free(mb);
	/* an empty line "\r\n" before a From_ line: CRLF separator */
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, blank_cr, strlen(blank_cr), NULL),
			 MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 2);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	ck_assert_uint_eq(e.size, strlen("From a 10:00\n\n"));
	mimeo_mailbox_free(mb);
	/* a From_ line longer than the parser examines (1024 bytes) does not
	 * split, as in the parser */
	memset(longline, 0, sizeof(longline));
	strcpy(longline, "From a 10:00\n\nFrom ");
	memset(longline + strlen(longline), 'x', 1100);
	strcat(longline, " 10:00\n\nbody\n");
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, longline, strlen(longline), NULL),
			 MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 1);
	mimeo_mailbox_free(mb);
	ck_assert_int_eq(mimeo_mailbox_open_buffer(NULL, "", 0, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, NULL, 3, NULL), MIMEO_EINVAL);
	o.version = 99;
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, "", 0, &o), MIMEO_EINVAL);
	ck_assert_ptr_null(mb);
}
END_TEST

START_TEST(max_messages_limit)
{
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
	mimeo_mailbox *mb = NULL;
	size_t len;
	char *s = three(&len);

	o.max_messages = 2;
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, len, &o), MIMEO_ELIMIT);
	ck_assert_ptr_null(mb);
	o.max_messages = 3;
	ck_assert_int_eq(mimeo_mailbox_open_buffer(&mb, s, len, &o), MIMEO_OK);
	mimeo_mailbox_free(mb);
	free(s);
}
END_TEST

/* --- files ----------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/test_mailbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(mbox_file_and_gz)
{
	size_t len;
	char *s = three(&len), path[128], gzpath[128];
	mimeo_mailbox *mb = NULL;
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
	gzFile gz;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/box.mbox", tmpdir);
	write_file(path, s, len);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, NULL), MIMEO_OK);
	check_three(mb, path);
	mimeo_mailbox_free(mb);

	snprintf(gzpath, sizeof(gzpath), "%s/box.mbox.gz", tmpdir);
	gz = gzopen(gzpath, "wb");
	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, s, (unsigned)len), (int)len);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_OK);
	check_three(mb, gzpath);
	mimeo_mailbox_free(mb);
	/* larger than max_inflated */
	o.max_inflated = len - 1;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, &o), MIMEO_ELIMIT);
	ck_assert_ptr_null(mb);
	o.max_inflated = len;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, &o), MIMEO_OK);
	mimeo_mailbox_free(mb);
	/* a cut-off .gz is an error with EBADMSG (issue 14: it was read as
	 * far as it went, losing its tail without a word) */
	{
		char *gzdata;
		size_t gzlen;

		gzdata = test_read_file(gzpath, &gzlen);
		ck_assert_ptr_nonnull(gzdata);
		write_file(gzpath, gzdata, gzlen - 12); /* without most of the trailer */
		errno = 0;
		ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_EIO);
		ck_assert_ptr_null(mb);
		ck_assert_int_eq(errno, EBADMSG);
		write_file(gzpath, gzdata, gzlen / 2);
		ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_EIO);
		ck_assert_int_eq(errno, EBADMSG);
		free(gzdata);
	}
	/* a corrupt .gz is an I/O error with EBADMSG (errno was 0), not a crash */
	write_file(gzpath, "\x1f\x8b\x08\x00garbage-garbage-garbage", 27);
	errno = 0;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, EBADMSG);
	/* a .gz name on plain text: read as it is */
	write_file(gzpath, s, len);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_OK);
	check_three(mb, gzpath);
	mimeo_mailbox_free(mb);

	/* missing file */
	snprintf(gzpath, sizeof(gzpath), "%s/missing", tmpdir);
	errno = 0;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, gzpath, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, ENOENT);
	/* a plain folder is no Maildir */
	ck_assert_int_eq(mimeo_mailbox_open(&mb, tmpdir, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, ENOTDIR);

	/* the file shrinks while open: a clear error, no SIGBUS */
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, NULL), MIMEO_OK);
	ck_assert_int_eq(truncate(path, 10), 0);
	{
		const char *d;
		size_t n;

		ck_assert_int_eq(mimeo_mailbox_message(mb, 3, &d, &n), MIMEO_EIO);
		ck_assert(strstr(mimeo_mailbox_error(mb), "shrank") != NULL);
	}
	mimeo_mailbox_free(mb);
	rm_rf(tmpdir);
	free(s);
}
END_TEST

/* Open the mailbox a child pipes in (/dev/fd/N of the read end). */
static int open_piped(mimeo_mailbox **mb, const void *data, size_t len,
		      const mimeo_mailbox_options *o, char *path, size_t cap)
{
	int pid, fd = test_pipe_from(data, len, &pid), rc;

	snprintf(path, cap, "/dev/fd/%d", fd);
	rc = mimeo_mailbox_open(mb, path, o);
	{
		int e = errno;

		close(fd);
		test_pipe_wait(pid);
		errno = e;
	}
	return rc;
}

/* gzip is found by its content (magic 1f 8b), one way for files and
 * pipes (the mailbox reads through mimeo_reader): a gzip mbox under any
 * name and through a pipe is inflated, a plain file named .gz is mapped
 * like any other (max_inflated does not apply to it), and the limit and
 * the cut-off error hold for pipes. */
START_TEST(gzip_by_content)
{
	size_t len, zlen;
	char *s = three(&len), *z = test_gzip(s, len, &zlen), path[128], pipe_path[32];
	mimeo_mailbox *mb = NULL;
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;

	make_tmpdir();
	/* gzip named like a plain mbox (it was mapped: one garbage message) */
	snprintf(path, sizeof(path), "%s/box.mbox", tmpdir);
	write_file(path, z, zlen);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, NULL), MIMEO_OK);
	check_three(mb, path);
	mimeo_mailbox_free(mb);
	o.max_inflated = len - 1;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, &o), MIMEO_ELIMIT);
	ck_assert_ptr_null(mb);
	/* plain under a .gz name: mapped, so the inflation limit is moot */
	snprintf(path, sizeof(path), "%s/plain.gz", tmpdir);
	write_file(path, s, len);
	o.max_inflated = 1;
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, &o), MIMEO_OK);
	check_three(mb, path);
	mimeo_mailbox_free(mb);

	/* pipes: gzip and plain alike */
	ck_assert_int_eq(open_piped(&mb, z, zlen, NULL, pipe_path, sizeof(pipe_path)), MIMEO_OK);
	check_three(mb, pipe_path);
	mimeo_mailbox_free(mb);
	ck_assert_int_eq(open_piped(&mb, s, len, NULL, pipe_path, sizeof(pipe_path)), MIMEO_OK);
	check_three(mb, pipe_path);
	mimeo_mailbox_free(mb);
	o.max_inflated = len;
	ck_assert_int_eq(open_piped(&mb, z, zlen, &o, pipe_path, sizeof(pipe_path)), MIMEO_OK);
	mimeo_mailbox_free(mb);
	o.max_inflated = len - 1;
	ck_assert_int_eq(open_piped(&mb, z, zlen, &o, pipe_path, sizeof(pipe_path)),
			 MIMEO_ELIMIT);
	ck_assert_int_eq(open_piped(&mb, s, len, &o, pipe_path, sizeof(pipe_path)), MIMEO_ELIMIT);
	/* cut off in the trailer, and in the middle */
	errno = 0;
	ck_assert_int_eq(open_piped(&mb, z, zlen - 4, NULL, pipe_path, sizeof(pipe_path)),
			 MIMEO_EIO);
	ck_assert_ptr_null(mb);
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_int_eq(open_piped(&mb, z, zlen / 2, NULL, pipe_path, sizeof(pipe_path)),
			 MIMEO_EIO);
	ck_assert_int_eq(errno, EBADMSG);
	rm_rf(tmpdir);
	free(z);
	free(s);
}
END_TEST

/* mimeo_mailbox_parse() reads a mapped mbox with pread through the tree's
 * own descriptor: the tree outlives the mailbox, and a file cut after the
 * parse gives MIMEO_EIO when a body is read; parsed in place from the
 * mapping (as before 0.2 was out, and now with MIMEO_MESSAGE_BORROW), the
 * read of a page past the new end raised SIGBUS.  A file cut before the
 * parse is MIMEO_EIO too. */
START_TEST(mbox_parse_file_cut)
{
	size_t len;
	char *s = three(&len), path[128];
	mimeo_mailbox *mb = NULL;
	mimeo_message *m = NULL, *b = NULL;
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	const mimeo_part *a;
	const char *why = NULL;
	mimeo_buf out;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/box.mbox", tmpdir);
	write_file(path, s, len);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 2, NULL), MIMEO_OK);
	ck_assert_str_eq(subject(m), "two");
	/* in place, when asked */
	mo.flags = MIMEO_MESSAGE_BORROW;
	ck_assert_int_eq(mimeo_mailbox_parse(&b, mb, 2, &mo), MIMEO_OK);
	ck_assert_str_eq(subject(b), "two");
	a = mimeo_message_next_attachment(b, NULL);
	ck_assert_ptr_nonnull(a);
	mimeo_buf_init(&out, NULL);
	ck_assert_int_eq(mimeo_part_decode_buf(a, 0, NULL, &out, NULL), MIMEO_OK);
	ck_assert(out.size == 3 && memcmp(out.ptr, "att", 3) == 0);
	mimeo_message_free(b);
	/* the pread tree does not need the mailbox */
	mimeo_mailbox_free(mb);
	a = mimeo_message_next_attachment(m, NULL);
	ck_assert_ptr_nonnull(a);
	mimeo_buf_clear(&out);
	ck_assert_int_eq(mimeo_part_decode_buf(a, 0, NULL, &out, NULL), MIMEO_OK);
	ck_assert(out.size == 3 && memcmp(out.ptr, "att", 3) == 0);
	/* cut inside message 2: its body reads fail, no signal */
	ck_assert_int_eq(truncate(path, (off_t)(strlen(M1) + 20)), 0);
	mimeo_buf_clear(&out);
	ck_assert_int_eq(mimeo_part_decode_buf(a, 0, NULL, &out, NULL), MIMEO_EIO);
	mimeo_message_free(m);
	/* open, then cut, then parse message 2 or 3: MIMEO_EIO, said */
	write_file(path, s, len);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, path, NULL), MIMEO_OK);
	ck_assert_int_eq(truncate(path, (off_t)(strlen(M1) + 20)), 0);
	mo.flags = 0;
	mo.reason = &why;
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 2, &mo), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert(strstr(mimeo_mailbox_error(mb), "shrank") != NULL);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 3, NULL), MIMEO_EIO);
	ck_assert_ptr_null(m);
	/* message 1 is whole still */
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 1, NULL), MIMEO_OK);
	ck_assert_str_eq(subject(m), "one");
	mimeo_message_free(m);
	mimeo_mailbox_free(mb);
	mimeo_buf_dispose(&out);
	rm_rf(tmpdir);
	free(s);
}
END_TEST

static void mkdirs(const char *base, const char *sub)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", base, sub);
	ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void put(const char *base, const char *name, const char *text)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	write_file(p, text, strlen(text));
}

START_TEST(maildir_order_and_skipped)
{
	mimeo_mailbox *mb = NULL;
	mimeo_mailbox_entry e;
	mimeo_message *m = NULL;
	char p[256];
	const char *d;
	size_t n;

	make_tmpdir();
	mkdirs(tmpdir, "new");
	mkdirs(tmpdir, "cur");
	mkdirs(tmpdir, "tmp");
	put(tmpdir, "cur/1700000002.M1.host:2,S", "Subject: b\n\nsecond\n");
	put(tmpdir, "new/1700000001.M1.host", "Subject: a\n\nfirst\n");
	put(tmpdir, "cur/1700000003.M1.host:2,", "Subject: c\n\nthird\n");
	put(tmpdir, "tmp/1700000000.M1.host", "Subject: in delivery\n\n");
	put(tmpdir, "cur/.hidden", "Subject: hidden\n\n");
	mkdirs(tmpdir, "cur/subfolder");
	ck_assert_int_eq(mimeo_mailbox_open(&mb, tmpdir, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_mailbox_type(mb), MIMEO_MAILBOX_MAILDIR);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 3);
	ck_assert_uint_eq(mimeo_mailbox_skipped(mb), 1);
	ck_assert_uint_eq(mimeo_mailbox_parse_flags(mb), 0);
	ck_assert_uint_eq(mimeo_mailbox_size(mb), 18 + 19 + 18);
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 1, &e), MIMEO_OK);
	snprintf(p, sizeof(p), "%s/new/1700000001.M1.host", tmpdir);
	ck_assert_str_eq(e.path, p);
	ck_assert(e.offset == 0 && e.size == strlen("Subject: a\n\nfirst\n"));
	ck_assert_int_eq(mimeo_mailbox_entry_get(mb, 3, &e), MIMEO_OK);
	snprintf(p, sizeof(p), "%s/cur/1700000003.M1.host:2,", tmpdir);
	ck_assert_str_eq(e.path, p);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 2, &d, &n), MIMEO_OK);
	ck_assert(n == strlen("Subject: b\n\nsecond\n") && memcmp(d, "Subject: b", 10) == 0);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 3, NULL), MIMEO_OK);
	/* the tree reads its own file (not a copy, not the mapping that the
	 * next call replaces) and may outlive the mailbox */
	ck_assert_ptr_null(mimeo_message_source(m, NULL));
	ck_assert_int_eq(mimeo_mailbox_message(mb, 1, &d, &n), MIMEO_OK);
	ck_assert_str_eq(subject(m), "c");
	{
		mimeo_mailbox *mb2 = NULL;
		mimeo_message *m2 = NULL;
		mimeo_buf body = MIMEO_BUF_INIT;

		ck_assert_int_eq(mimeo_mailbox_open(&mb2, tmpdir, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_mailbox_parse(&m2, mb2, 2, NULL), MIMEO_OK);
		mimeo_mailbox_free(mb2);
		ck_assert_int_eq(mimeo_part_decode_buf(mimeo_message_root(m2), 0, NULL, &body, NULL),
				 MIMEO_OK);
		ck_assert_str_eq(body.ptr, "second\n");
		mimeo_buf_dispose(&body);
		mimeo_message_free(m2);
	}
	mimeo_message_free(m);
	/* a message file that disappeared: a clear error for that one */
	snprintf(p, sizeof(p), "%s/cur/1700000002.M1.host:2,S", tmpdir);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 2, &d, &n), MIMEO_EIO);
	ck_assert(strstr(mimeo_mailbox_error(mb), "1700000002") != NULL);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 2, NULL), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert(strstr(mimeo_mailbox_error(mb), "1700000002") != NULL);
	ck_assert_int_eq(mimeo_mailbox_parse(&m, mb, 4, NULL), MIMEO_ENOTFOUND);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 3, &d, &n), MIMEO_OK);
	mimeo_mailbox_free(mb);

	/* only new/ is enough; an unreadable file fails when read (not when
	 * listed), unless we are root */
	rm_rf(tmpdir);
	make_tmpdir();
	mkdirs(tmpdir, "new");
	put(tmpdir, "new/a", "Subject: a\n\n");
	put(tmpdir, "new/b", "Subject: b\n\n");
	snprintf(p, sizeof(p), "%s/new/a", tmpdir);
	ck_assert_int_eq(chmod(p, 0), 0);
	ck_assert_int_eq(mimeo_mailbox_open(&mb, tmpdir, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(mb), 2);
	if (geteuid() != 0)
		ck_assert_int_eq(mimeo_mailbox_message(mb, 1, &d, &n), MIMEO_EIO);
	ck_assert_int_eq(mimeo_mailbox_message(mb, 2, &d, &n), MIMEO_OK);
	mimeo_mailbox_free(mb);
	rm_rf(tmpdir);
}
END_TEST

/* --- every allocation failing ------------------------------------------ */

static void sweep(const char *path, const void *buf, size_t len)
{
	unsigned long n;

	for (n = 1;; n++) {
		test_failing_alloc fa;
		mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
		mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_mailbox *mb = NULL;
		size_t i;
		int rc;

		test_failing_alloc_init(&fa, n);
		o.alloc = &fa.alloc;
		mo.alloc = &fa.alloc;
		rc = path ? mimeo_mailbox_open(&mb, path, &o) : mimeo_mailbox_open_buffer(&mb, buf, len, &o);
		if (rc != MIMEO_OK) {
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
			ck_assert_ptr_null(mb);
			ck_assert_int_eq(fa.live, 0);
			continue;
		}
		for (i = 1; i <= mimeo_mailbox_count(mb); i++) {
			mimeo_message *m = NULL;

			rc = mimeo_mailbox_parse(&m, mb, i, &mo);
			ck_assert(rc == MIMEO_OK || rc == MIMEO_ENOMEM);
			if (rc == MIMEO_OK)
				mimeo_message_free(m);
			else
				ck_assert_ptr_null(m);
		}
		mimeo_mailbox_free(mb);
		ck_assert_int_eq(fa.live, 0);
		if (!fa.failed)
			break;
		ck_assert_uint_lt(n, 100000);
	}
	ck_assert_uint_gt(n, 3);
}

START_TEST(every_allocation_failure)
{
	size_t len;
	char *s = three(&len), path[128];

	sweep(NULL, s, len);
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/box.gz", tmpdir);
	{
		gzFile gz = gzopen(path, "wb");

		ck_assert_ptr_nonnull(gz);
		ck_assert_int_eq(gzwrite(gz, s, (unsigned)len), (int)len);
		ck_assert_int_eq(gzclose(gz), Z_OK);
	}
	sweep(path, NULL, 0);
	snprintf(path, sizeof(path), "%s/md", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	mkdirs(path, "cur");
	mkdirs(path, "new");
	put(path, "cur/x", M1);
	put(path, "new/y", M2);
	put(path, "new/z", M3);
	sweep(path, NULL, 0);
	rm_rf(tmpdir);
	free(s);
}
END_TEST

/* Ranges [0, c) and [c, end) of a file index its messages each once, with
 * the whole index's offsets and sizes, numbered from 1 in each range. */
static void check_ranges(const char *path, const mimeo_mailbox_options *o)
{
	mimeo_mailbox *whole = NULL, *a = NULL, *b = NULL;
	mimeo_mailbox_entry e, f;
	uint64_t c, size;
	size_t i, n;

	ck_assert_int_eq(mimeo_mailbox_open(&whole, path, o), MIMEO_OK);
	size = mimeo_mailbox_size(whole);
	n = mimeo_mailbox_count(whole);
	for (c = 0; c <= size + 1; c++) {
		ck_assert_int_eq(mimeo_mailbox_open_range(&a, path, 0, c, o), MIMEO_OK);
		ck_assert_int_eq(mimeo_mailbox_open_range(&b, path, c, UINT64_MAX, o), MIMEO_OK);
		ck_assert_uint_eq(mimeo_mailbox_count(a) + mimeo_mailbox_count(b), n);
		ck_assert_uint_eq(mimeo_mailbox_size(b), size);
		ck_assert_int_eq(mimeo_mailbox_type(b), mimeo_mailbox_type(whole));
		for (i = 1; i <= n; i++) {
			mimeo_mailbox *in = i <= mimeo_mailbox_count(a) ? a : b;
			size_t local = in == a ? i : i - mimeo_mailbox_count(a);
			mimeo_message *m = NULL, *w = NULL;

			ck_assert_int_eq(mimeo_mailbox_entry_get(whole, i, &e), MIMEO_OK);
			ck_assert_int_eq(mimeo_mailbox_entry_get(in, local, &f), MIMEO_OK);
			ck_assert_uint_eq(f.number, local);
			ck_assert(e.offset == f.offset && e.size == f.size);
			ck_assert(in == a ? f.offset < c : f.offset >= c);
			/* and it parses as in the whole mailbox */
			ck_assert_int_eq(mimeo_mailbox_parse(&m, in, local, NULL), MIMEO_OK);
			ck_assert_int_eq(mimeo_mailbox_parse(&w, whole, i, NULL), MIMEO_OK);
			ck_assert_uint_eq(mimeo_message_part_count(m), mimeo_message_part_count(w));
			ck_assert_str_eq(subject(m), subject(w));
			mimeo_message_free(m);
			mimeo_message_free(w);
		}
		mimeo_mailbox_free(a);
		mimeo_mailbox_free(b);
	}
	/* an empty range, and one past the end */
	ck_assert_int_eq(mimeo_mailbox_open_range(&a, path, 0, 0, o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(a), 0);
	mimeo_mailbox_free(a);
	ck_assert_int_eq(mimeo_mailbox_open_range(&a, path, size + 5, 10, o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_mailbox_count(a), 0);
	mimeo_mailbox_free(a);
	mimeo_mailbox_free(whole);
}

START_TEST(open_range_covers_the_whole)
{
	mimeo_mailbox_options o = MIMEO_MAILBOX_OPTIONS_INIT;
	mimeo_mailbox *mb = NULL;
	static const char forced[] = "Subject: first\n\nx\n\nFrom a 10:00\nSubject: y\n\ny\n";
	static const char single[] = "Subject: one\n\nFrom a 10:00 in a body\n";
	size_t len;
	char *s = three(&len), path[128], gzpath[128];
	gzFile gz;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/three.mbox", tmpdir);
	write_file(path, s, len);
	check_ranges(path, NULL);
	/* gzip: ranges of the decompressed bytes */
	snprintf(gzpath, sizeof(gzpath), "%s/three.mbox.gz", tmpdir);
	gz = gzopen(gzpath, "wb");
	ck_assert_ptr_nonnull(gz);
	ck_assert_int_eq(gzwrite(gz, s, (unsigned)len), (int)len);
	ck_assert_int_eq(gzclose(gz), Z_OK);
	check_ranges(gzpath, NULL);
	/* a forced mbox whose first message has no From_ line */
	write_file(path, forced, strlen(forced));
	o.flags = MIMEO_MAILBOX_FORCE_MBOX;
	check_ranges(path, &o);
	/* a single message: in the range holding offset 0 */
	write_file(path, single, strlen(single));
	check_ranges(path, NULL);
	write_file(path, "", 0);
	check_ranges(path, NULL);
	/* a Maildir has no offsets */
	snprintf(path, sizeof(path), "%s/md", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	mkdirs(path, "cur");
	put(path, "cur/x", M1);
	ck_assert_int_eq(mimeo_mailbox_open_range(&mb, path, 0, 100, NULL), MIMEO_EINVAL);
	ck_assert_ptr_null(mb);
	ck_assert_int_eq(mimeo_mailbox_open_range(&mb, path, 0, UINT64_MAX, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_mailbox_open_range(NULL, path, 0, 1, NULL), MIMEO_EINVAL);
	rm_rf(tmpdir);
	free(s);
}
END_TEST

static Suite *mailbox_suite(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tcase_create("mailbox");

	tcase_add_test(tc, mbox_buffer_split_and_offsets);
	tcase_add_test(tc, mbox_parse_message_tree);
	tcase_add_test(tc, mbox_messages_feed_like_the_whole);
	tcase_add_test(tc, next_from_and_separator);
	tcase_add_test(tc, first_from_line_that_is_a_field);
	tcase_add_test(tc, rfc822_body_starting_with_from_line);
	tcase_add_test(tc, from_line_after_whitespace_line);
	tcase_add_test(tc, mbox_corner_cases);
	tcase_add_test(tc, max_messages_limit);
	tcase_add_test(tc, mbox_file_and_gz);
	tcase_add_test(tc, gzip_by_content);
	tcase_add_test(tc, mbox_parse_file_cut);
	tcase_add_test(tc, maildir_order_and_skipped);
	tcase_add_test(tc, every_allocation_failure);
	tcase_add_test(tc, open_range_covers_the_whole);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(mailbox_suite());
}
