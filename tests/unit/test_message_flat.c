/*
 * test_message_flat.c - the flat-memory message tree (issue 13): bodies
 * stay in the source and are decoded on demand.  Memory of the tree (a
 * counting allocator), decoded sizes counted without decoding, the spool
 * at its threshold, pipes, files that shrink or change, an unwritable
 * TMPDIR, concurrent readers, encoded message/rfc822 spools, the streaming
 * UTF-8 conversion against mimeo_part_text(), and allocation failures on
 * the new paths.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include "testutil.h"
#include "tree_testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mimeo.h"

size_t mimeo__message_raw_mismatch(const mimeo_message *m);
size_t mimeo__message_tree_bytes(const mimeo_message *m);

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* An allocator that counts live and peak bytes. */
typedef struct counting_alloc {
	mimeo_allocator alloc;
	size_t live, peak, calls;
} counting_alloc;

static void *ca_malloc(size_t n, void *ctx)
{
	counting_alloc *c = ctx;
	size_t *p = malloc(n + sizeof(size_t) * 2);

	if (!p)
		return NULL;
	p[0] = n;
	c->live += n;
	c->calls++;
	if (c->live > c->peak)
		c->peak = c->live;
	return p + 2;
}

static void ca_free(void *ptr, void *ctx)
{
	counting_alloc *c = ctx;
	size_t *p = ptr;

	if (!p)
		return;
	c->live -= p[-2];
	free(p - 2);
}

static void *ca_realloc(void *ptr, size_t n, void *ctx)
{
	size_t *p = ptr, old;
	void *q;

	if (!p)
		return ca_malloc(n, ctx);
	old = p[-2];
	q = ca_malloc(n, ctx);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	ca_free(ptr, ctx);
	return q;
}

static void counting_init(counting_alloc *c)
{
	memset(c, 0, sizeof(*c));
	c->alloc.malloc = ca_malloc;
	c->alloc.realloc = ca_realloc;
	c->alloc.free = ca_free;
	c->alloc.ctx = c;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A message whose part 2 is `n` lines of 76 base64 characters (57 bytes
 * each), written to fd. */
static const char big_head[] =
	"From: a@example.org\nSubject: big\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	"--b\nContent-Type: text/plain; charset=utf-8\n\nsee attachment\n"
	"--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
	"Content-Disposition: attachment; filename=big.bin\n\n";
static const char big_tail[] = "--b--\n";

static void write_all_fd(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

static void write_big(int fd, size_t lines)
{
	char line[77 * 1024];
	size_t i, j, k;
	uint64_t rng = 7;

	write_all_fd(fd, big_head, sizeof(big_head) - 1);
	for (i = 0; i < lines; i += 1024) {
		size_t n = lines - i < 1024 ? lines - i : 1024, at = 0;

		for (j = 0; j < n; j++) {
			for (k = 0; k < 76; k++)
				line[at++] = b64chars[test_rand(&rng) & 63];
			line[at++] = '\n';
		}
		write_all_fd(fd, line, at);
	}
	write_all_fd(fd, big_tail, sizeof(big_tail) - 1);
}

static int put_buf(const void *data, size_t len, void *ctx)
{
	return mimeo_buf_put(ctx, data, len);
}

static int count_write(const void *data, size_t len, void *ctx)
{
	uint64_t *n = ctx;

	(void)data;
	ck_assert_uint_le(len, 256 * 1024);
	*n += len;
	return MIMEO_OK;
}

/* Every leaf's decoded body and size, in order. */
static void bodies(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;
	char tmp[64];

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		snprintf(tmp, sizeof(tmp), "[%s %llu]", mimeo_part_section(p),
			 (unsigned long long)mimeo_part_size(p));
		mimeo_buf_puts(out, tmp);
		ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, out, NULL), MIMEO_OK);
	}
}

static char *write_temp(const char *data, size_t len, char *path)
{
	int fd;

	strcpy(path, "/tmp/mimeo-flat-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	write_all_fd(fd, data, len);
	close(fd);
	return path;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/* The tree of a message with a 100 MB attachment allocates under 1 MiB,
 * at its peak while parsing, and keeps a few KiB. */
START_TEST(big_attachment_memory)
{
	counting_alloc ca;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	size_t lines = (100u * 1000 * 1000) / 57 + 1;
	mimeo_message *m = NULL;
	const mimeo_part *p;
	uint64_t n = 0;
	int fd = memfd_create("mimeo-big", MFD_CLOEXEC);

	if (fd < 0)
		return; /* no memfd: nothing to measure with */
	write_big(fd, lines);
	lseek(fd, 0, SEEK_SET);
	counting_init(&ca);
	o.alloc = &ca.alloc;
	ck_assert_int_eq(mimeo_message_parse_fd(&m, fd, &o), MIMEO_OK);
	ck_assert_uint_lt(ca.peak, 1u << 20);
	ck_assert_uint_lt(ca.live, 64u << 10);
	ck_assert_uint_lt(mimeo__message_tree_bytes(m), 64u << 10);
	ck_assert_ptr_null(mimeo_message_source(m, NULL)); /* not copied */
	p = mimeo_message_find_section(m, "2");
	ck_assert_uint_eq(mimeo_part_size(p), (uint64_t)lines * 57);
	/* decoding streams in bounded memory too */
	ca.peak = ca.live;
	ck_assert_int_eq(mimeo_part_decode(p, 0, NULL, count_write, &n, NULL), MIMEO_OK);
	ck_assert_uint_eq(n, (uint64_t)lines * 57);
	ck_assert_uint_lt(ca.peak - ca.live, 1u << 20);
	mimeo_message_free(m);
	ck_assert_uint_eq(ca.live, 0);
	close(fd);
}
END_TEST

/* 10,000 parts cost under 2 MiB. */
START_TEST(many_parts_memory)
{
	mimeo_buf in = MIMEO_BUF_INIT;
	mimeo_message *m = NULL;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	counting_alloc ca;
	int i;

	mimeo_buf_puts(&in, "From: a@b\nMIME-Version: 1.0\n"
			    "Content-Type: multipart/mixed; boundary=\"sep\"\n\n");
	for (i = 0; i < 10000; i++) {
		char part[256];

		snprintf(part, sizeof(part),
			 "--sep\nContent-Type: text/plain; charset=utf-8\n"
			 "Content-Transfer-Encoding: quoted-printable\n\npart %d=\n\n", i);
		mimeo_buf_puts(&in, part);
	}
	mimeo_buf_puts(&in, "--sep--\n");
	counting_init(&ca);
	o.alloc = &ca.alloc;
	o.flags = MIMEO_MESSAGE_BORROW;
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, in.ptr, in.size, &o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_part_count(m), 10001);
	ck_assert_uint_lt(ca.live, 2u << 20);
	ck_assert_uint_eq(mimeo_part_size(mimeo_message_find_section(m, "10000")), 9);
	mimeo_message_free(m);
	mimeo_buf_dispose(&in);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Decoded sizes                                                       */
/* ------------------------------------------------------------------ */

/* The base64 size count follows the decoder on every kind of noise:
 * padding in the middle, surplus '=', lone sextets, junk bytes, 8-bit
 * bytes, all cut at every block edge. */
START_TEST(base64_size_count)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/=\n\r \t!\x80\xff-.";
	uint64_t rng = 1234 + (uint64_t)_i;
	int round;

	for (round = 0; round < 200; round++) {
		mimeo_buf msg = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
		size_t n = test_rand(&rng) % 300, i;
		unsigned mode = (unsigned)(test_rand(&rng) % 3);
		mimeo_message *m;
		const mimeo_part *p;
		mimeo_b64_decoder d;
		char *in, *out;
		size_t want;

		mimeo_buf_puts(&msg, "Content-Transfer-Encoding: base64\n\n");
		in = malloc(n + 1);
		for (i = 0; i < n; i++) {
			uint64_t r = test_rand(&rng);

			/* mostly alphabet, with noise of the chosen density */
			if (mode == 0 || r % (mode == 1 ? 8 : 3))
				in[i] = alphabet[(r >> 8) % 64];
			else
				in[i] = alphabet[64 + (r >> 8) % (sizeof(alphabet) - 65)];
		}
		mimeo_buf_put(&msg, in, n);
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg.ptr, msg.size, NULL), MIMEO_OK);
		p = mimeo_message_root(m);
		/* the reference: the decoder over the body's source bytes */
		{
			uint64_t bs, end;

			mimeo_part_offsets(p, NULL, &bs, &end);
			out = malloc(MIMEO_B64_DECODE_BOUND(end - bs) + 4);
			mimeo_b64_decoder_init(&d, MIMEO_ISA_AUTO);
			want = mimeo_b64_decode_step(&d, msg.ptr + bs, (size_t)(end - bs), out);
			want += mimeo_b64_decode_finish(&d, out + want);
		}
		ck_assert_uint_eq(mimeo_part_size(p), want);
		ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &got, NULL), MIMEO_OK);
		ck_assert_uint_eq(got.size, want);
		ck_assert(want == 0 || memcmp(got.ptr, out, want) == 0);
		ck_assert_uint_eq(mimeo__message_raw_mismatch(m), 0);
		mimeo_message_free(m);
		mimeo_buf_dispose(&msg);
		mimeo_buf_dispose(&got);
		free(in);
		free(out);
	}
}
END_TEST

/* Issue 15 class 4: base64 ends at the padded end when a list footer
 * follows; a well-formed block after a padded end still decodes.  The size
 * counted at parse time (without decoding) agrees with the decoded bytes,
 * from a buffer and from a file. */
START_TEST(base64_footer_after_padded_end)
{
	static const char text[] =
		"Dear list,\n\nthe minutes of Tuesday's meeting are below.  We agreed to move the\n"
		"archive to the new server before the end of the month, and to keep the old\n"
		"addresses working for a year.\n\n-- \nAda\n";
	static const char joined[] = "first block, second block after the padded end.\n";
	size_t len;
	char *data = test_read_data("conformance/class4-base64-footer.eml", &len), path[64];
	mimeo_message *m[2];
	int k;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m[0], data, len, NULL), MIMEO_OK);
	write_temp(data, len, path);
	ck_assert_int_eq(mimeo_message_parse_file(&m[1], path, NULL), MIMEO_OK);
	for (k = 0; k < 2; k++) {
		const mimeo_part *p1 = mimeo_message_find_section(m[k], "1");
		const mimeo_part *p2 = mimeo_message_find_section(m[k], "2");
		mimeo_buf b = MIMEO_BUF_INIT;

		ck_assert_ptr_nonnull(p1);
		ck_assert_ptr_nonnull(p2);
		ck_assert_uint_eq(mimeo_part_size(p1), sizeof(text) - 1);
		ck_assert_int_eq(mimeo_part_decode_buf(p1, 0, NULL, &b, NULL), MIMEO_OK);
		ck_assert(b.size == sizeof(text) - 1 && memcmp(b.ptr, text, b.size) == 0);
		mimeo_buf_clear(&b);
		ck_assert_uint_eq(mimeo_part_size(p2), sizeof(joined) - 1);
		ck_assert_int_eq(mimeo_part_decode_buf(p2, 0, NULL, &b, NULL), MIMEO_OK);
		ck_assert(b.size == sizeof(joined) - 1 && memcmp(b.ptr, joined, b.size) == 0);
		mimeo_buf_dispose(&b);
		mimeo_message_free(m[k]);
	}
	unlink(path);
	free(data);
}
END_TEST

/* Every sample: sizes, bodies and the streamed UTF-8 text agree with the
 * whole-buffer functions, whatever the source kind. */
START_TEST(samples_all_sources_agree)
{
	static const char *samples[] = { "sample.eml", "forward.eml", "digest.eml", "crlf.eml",
					 "broken.eml", "hostile-names.eml", "signed.eml",
					 "conformance/class1-repeated-delimiter.eml",
					 "conformance/class2-delimiter-ends-header.eml",
					 "conformance/class2-nested-no-blank-line.eml",
					 "conformance/class2-whitespace-first-line.eml",
					 "conformance/class3-boundary-never-found.eml",
					 "conformance/class3-delimiter-read-as-field.eml",
					 "conformance/class4-base64-footer.eml" };
	size_t s;

	for (s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
		size_t len;
		char *data = test_read_data(samples[s], &len), path[64];
		mimeo_buf want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		test_chunk_reader r = { data, len, 0, 99 + s, 13 };
		mimeo_message *m, *f, *sp;
		const mimeo_part *p;
		mimeo_charset_cache *cc = NULL;

		ck_assert_int_eq(mimeo_charset_cache_new(&cc, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
		ck_assert_uint_eq(mimeo__message_raw_mismatch(m), 0);
		bodies(m, &want);
		write_temp(data, len, path);
		ck_assert_int_eq(mimeo_message_parse_file(&f, path, NULL), MIMEO_OK);
		ck_assert_ptr_null(mimeo_message_source(f, NULL));
		ck_assert_uint_eq(mimeo_message_source_size(f), len);
		bodies(f, &got);
		ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, got.size) == 0);
		/* a spool that goes to a file after 100 bytes */
		o.spool_memory = 100;
		ck_assert_int_eq(mimeo_message_parse_stream(&sp, test_chunk_read, &r, &o), MIMEO_OK);
		ck_assert_ptr_null(mimeo_message_source(sp, NULL));
		mimeo_buf_clear(&got);
		bodies(sp, &got);
		ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, got.size) == 0);
		for (p = mimeo_message_root(f); p; p = mimeo_part_next(p)) {
			mimeo_buf t1 = MIMEO_BUF_INIT, t2 = MIMEO_BUF_INIT, raw = MIMEO_BUF_INIT;
			unsigned r1 = 0, r2 = 0;
			uint64_t hs, end;
			const mimeo_part *q = mimeo_message_find_section(m, mimeo_part_section(p));

			ck_assert_int_eq(mimeo_part_text(p, cc, &t1, &r1), MIMEO_OK);
			ck_assert_int_eq(mimeo_part_decode_buf(p, MIMEO_DECODE_UTF8, cc, &t2, &r2),
					 MIMEO_OK);
			ck_assert(t1.size == t2.size && memcmp(t1.ptr, t2.ptr, t1.size) == 0);
			ck_assert_uint_eq(r1, r2);
			/* raw bytes of every part, from a file, as written */
			ck_assert_int_eq(mimeo_part_write_raw(p, put_buf, &raw),
					 MIMEO_OK);
			mimeo_part_offsets(p, &hs, NULL, &end);
			ck_assert_uint_eq(raw.size, end - hs);
			if (!(mimeo_part_flags(p) & MIMEO_PART_ENCODED))
				ck_assert(raw.size == 0 || memcmp(raw.ptr, data + hs, raw.size) == 0);
			if (q == p || !q)
				q = p;
			mimeo_buf_dispose(&t1);
			mimeo_buf_dispose(&t2);
			mimeo_buf_dispose(&raw);
		}
		/* the whole source, from the file */
		mimeo_buf_clear(&got);
		ck_assert_int_eq(mimeo_message_write_source(f, put_buf, &got),
				 MIMEO_OK);
		ck_assert(got.size == len && memcmp(got.ptr, data, len) == 0);
		unlink(path);
		mimeo_message_free(m);
		mimeo_message_free(f);
		mimeo_message_free(sp);
		mimeo_charset_cache_free(cc);
		mimeo_buf_dispose(&want);
		mimeo_buf_dispose(&got);
		free(data);
	}
}
END_TEST

/* A multipart/mixed whose one part is `inner` (at most 700 bytes) as a
 * base64-encoded message/rfc822, appended to `out`. */
static void put_encoded_message(mimeo_buf *out, const char *inner, size_t len)
{
	char enc[1024];
	size_t k;
	mimeo_b64_encoder e;

	ck_assert_uint_le(len, 700);
	mimeo_b64_encoder_init(&e, 0, MIMEO_ISA_AUTO);
	k = mimeo_b64_encode_step(&e, inner, len, enc);
	k += mimeo_b64_encode_finish(&e, enc + k);
	mimeo_buf_puts(out, "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
			    "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n");
	mimeo_buf_put(out, enc, k);
	mimeo_buf_puts(out, "--o--\n");
}

/* A gateway base64-encoded a message/rfc822: its decoded body is spooled
 * (in memory, or in a file past the threshold) and the inner parts read
 * from it. */
START_TEST(encoded_message_spool)
{
	static const char inner[] =
		"Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n"
		"--i\nContent-Type: text/plain\n\ninner text\n"
		"--i\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
		"aGVsbG8gd29ybGQ=\n--i--\n";
	mimeo_buf msg = MIMEO_BUF_INIT;
	size_t k;

	put_encoded_message(&msg, inner, sizeof(inner) - 1);
	for (k = 0; k < 2; k++) {
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_message *m;
		const mimeo_part *p;
		mimeo_buf b = MIMEO_BUF_INIT;

		o.spool_memory = k ? 16 : 0; /* memory / a temporary file */
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg.ptr, msg.size, &o), MIMEO_OK);
		p = mimeo_message_find_section(m, "1.1");
		ck_assert_ptr_nonnull(p);
		ck_assert(mimeo_part_flags(p) & MIMEO_PART_ENCODED);
		ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &b, NULL), MIMEO_OK);
		ck_assert_str_eq(b.ptr, "inner text");
		mimeo_buf_clear(&b);
		p = mimeo_message_find_section(m, "1.2");
		ck_assert_uint_eq(mimeo_part_size(p), 11);
		ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &b, NULL), MIMEO_OK);
		ck_assert_str_eq(b.ptr, "hello world");
		/* zero copy only while the spool is in memory */
		if (k)
			ck_assert_ptr_null(mimeo_part_body(mimeo_message_find_section(m, "1.1"), NULL));
		else
			ck_assert_ptr_nonnull(mimeo_part_body(mimeo_message_find_section(m, "1.1"),
							      NULL));
		/* the inner message as written, from its spool */
		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_part_write_raw(mimeo_message_find_section(m, "1.2"),
						      put_buf, &b), MIMEO_OK);
		ck_assert_str_eq(b.ptr, "Content-Type: application/octet-stream\n"
					"Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=");
		mimeo_buf_dispose(&b);
		mimeo_message_free(m);
	}
	/* its spool at the threshold: the decoded body (sizeof(inner) - 1
	 * bytes) stays in memory at exactly the limit, one byte less sends it
	 * to a file; the bytes are the same either way */
	for (k = sizeof(inner) - 2; k <= sizeof(inner); k++) {
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_message *m;
		const mimeo_part *p;
		mimeo_buf b = MIMEO_BUF_INIT;

		o.spool_memory = k;
		ck_assert_int_eq(mimeo_message_parse_buffer(&m, msg.ptr, msg.size, &o), MIMEO_OK);
		p = mimeo_message_find_section(m, "1.1");
		if (k < sizeof(inner) - 1)
			ck_assert_ptr_null(mimeo_part_body(p, NULL));
		else
			ck_assert_ptr_nonnull(mimeo_part_body(p, NULL));
		ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &b, NULL), MIMEO_OK);
		ck_assert_str_eq(b.ptr, "inner text");
		mimeo_buf_dispose(&b);
		mimeo_message_free(m);
	}
	mimeo_buf_dispose(&msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Spools, pipes, faults                                               */
/* ------------------------------------------------------------------ */

/* One byte under, at and over the threshold. */
START_TEST(spool_threshold_boundary)
{
	size_t len, limit;
	char *data = test_read_data("sample.eml", &len);
	mimeo_buf want = MIMEO_BUF_INIT;
	mimeo_message *m;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
	bodies(m, &want);
	mimeo_message_free(m);
	for (limit = len - 1; limit <= len + 1; limit++) {
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		test_chunk_reader r = { data, len, 0, 5, 4096 };
		mimeo_buf got = MIMEO_BUF_INIT;

		o.spool_memory = limit;
		ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o), MIMEO_OK);
		/* in memory up to the threshold, in a file past it */
		if (len <= limit)
			ck_assert_ptr_nonnull(mimeo_message_source(m, NULL));
		else
			ck_assert_ptr_null(mimeo_message_source(m, NULL));
		bodies(m, &got);
		ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, got.size) == 0);
		mimeo_buf_dispose(&got);
		mimeo_message_free(m);
	}
	mimeo_buf_dispose(&want);
	free(data);
}
END_TEST

/* A pipe is not seekable: read and spooled. */
START_TEST(pipe_source)
{
	size_t len;
	char *data = test_read_data("forward.eml", &len);
	mimeo_buf want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_message *m;
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
	bodies(m, &want);
	mimeo_message_free(m);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		write_all_fd(fds[1], data, len);
		_exit(0);
	}
	close(fds[1]);
	o.spool_memory = 512; /* and past the threshold into a file */
	ck_assert_int_eq(mimeo_message_parse_fd(&m, fds[0], &o), MIMEO_OK);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	bodies(m, &got);
	ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, got.size) == 0);
	mimeo_message_free(m);
	mimeo_buf_dispose(&want);
	mimeo_buf_dispose(&got);
	free(data);
}
END_TEST

/* A file that shrinks or changes after the parse: MIMEO_EIO with a
 * reason, never wrong bytes. */
START_TEST(file_changes_under_us)
{
	size_t len;
	char *data = test_read_data("sample.eml", &len), path[64];
	mimeo_message *m;
	const mimeo_part *p;
	mimeo_buf b = MIMEO_BUF_INIT;
	struct timespec later[2];
	int fd;

	write_temp(data, len, path);
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
	p = mimeo_message_find_section(m, "3");
	ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &b, NULL), MIMEO_OK);
	ck_assert_ptr_null(mimeo_message_io_error(m));
	/* truncated */
	ck_assert_int_eq(truncate(path, (off_t)(len / 2)), 0);
	mimeo_buf_clear(&b);
	ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &b, NULL), MIMEO_EIO);
	ck_assert_ptr_nonnull(mimeo_message_io_error(m));
	ck_assert_int_eq(mimeo_part_text(p, NULL, &b, NULL), MIMEO_EIO);
	mimeo_message_free(m);
	unlink(path);

	/* same size, new content and modification time */
	write_temp(data, len, path);
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	write_all_fd(fd, "XXXX", 4);
	clock_gettime(CLOCK_REALTIME, &later[0]);
	later[0].tv_sec += 10;
	later[1] = later[0];
	futimens(fd, later);
	close(fd);
	mimeo_buf_clear(&b);
	ck_assert_int_eq(mimeo_part_decode_buf(mimeo_message_find_section(m, "2"), 0, NULL, &b,
					       NULL), MIMEO_EIO);
	ck_assert_str_eq(mimeo_message_io_error(m), "the source file changed after it was parsed");
	mimeo_message_free(m);
	unlink(path);
	mimeo_buf_dispose(&b);
	free(data);
}
END_TEST

/* No usable TMPDIR: a clear error, not a crash or a silent copy. */
START_TEST(tmpdir_not_writable)
{
	size_t len;
	char *data = test_read_data("sample.eml", &len);
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	test_chunk_reader r = { data, len, 0, 5, 4096 };
	const char *reason = NULL;
	mimeo_message *m = NULL;

	o.spool_memory = 1000;
	o.tmpdir = "/nonexistent/mimeo-tmp";
	o.reason = &reason;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(reason);
	ck_assert(strstr(reason, "temporary file") != NULL);
	/* $TMPDIR is what the default uses */
	setenv("TMPDIR", "/proc/self", 1);
	o.tmpdir = NULL;
	reason = NULL;
	r.pos = 0;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o), MIMEO_EIO);
	ck_assert_ptr_nonnull(reason);
	unsetenv("TMPDIR");
	/* under the threshold no file is needed */
	o.tmpdir = "/nonexistent/mimeo-tmp";
	o.spool_memory = len;
	r.pos = 0;
	ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o), MIMEO_OK);
	mimeo_message_free(m);
	free(data);
}
END_TEST

/* max_input is still a limit a caller may set; without it there is none. */
START_TEST(max_input_optional)
{
	size_t len;
	char *data = test_read_data("sample.eml", &len), path[64];
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_message *m = NULL;

	write_temp(data, len, path);
	o.max_input = len - 1;
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_ELIMIT);
	o.max_input = len;
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_OK);
	mimeo_message_free(m);
	/* version 1 options (no spool fields) are still accepted */
	o.version = 1;
	o.max_input = 0;
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, &o), MIMEO_OK);
	mimeo_message_free(m);
	unlink(path);
	free(data);
}
END_TEST

/* One message inside a bigger file, parsed by offset and length (an mbox
 * message, issue 13): offsets count from the range, bodies are read back
 * from the file, the caller's descriptor is left alone. */
START_TEST(fd_range_source)
{
	size_t len, i;
	char *data = test_read_data("sample.eml", &len), path[64];
	mimeo_buf want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT, file = MIMEO_BUF_INIT;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	const char *reason = NULL;
	mimeo_message *m;
	uint64_t hs, bs, end;
	char *raw;
	int fd, pfd[2];

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
	bodies(m, &want);
	mimeo_message_free(m);
	/* 3000 bytes before, a second message after */
	for (i = 0; i < 300; i++)
		mimeo_buf_puts(&file, "junk line\n");
	mimeo_buf_put(&file, data, len);
	mimeo_buf_puts(&file, "\nFrom x Thu Jan  1 00:00:00 1970\nSubject: next\n\nno\n");
	write_temp(file.ptr, file.size, path);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lseek(fd, 5, SEEK_SET), 5);
	o.reason = &reason;
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 3000, len, &o), MIMEO_OK);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 5); /* untouched */
	close(fd);                                   /* the tree has its own */
	ck_assert_ptr_null(mimeo_message_source(m, NULL));
	ck_assert_uint_eq(mimeo_message_source_size(m), len);
	mimeo_part_offsets(mimeo_message_root(m), &hs, &bs, &end);
	ck_assert_uint_eq(hs, 0);
	ck_assert_uint_eq(end, len);
	raw = malloc(len);
	ck_assert_int_eq(mimeo_message_read_source(m, 0, raw, len), MIMEO_OK);
	ck_assert(memcmp(raw, data, len) == 0);
	ck_assert_int_eq(mimeo_message_read_source(m, 1, raw, len), MIMEO_EIO);
	free(raw);
	bodies(m, &got);
	ck_assert(got.size == want.size && memcmp(got.ptr, want.ptr, got.size) == 0);
	ck_assert_uint_eq(mimeo__message_raw_mismatch(m), 0);
	/* the file cut inside the range after the parse: EIO, no bytes */
	ck_assert_int_eq(truncate(path, 3000 + (off_t)len / 2), 0);
	mimeo_buf_clear(&got);
	ck_assert_int_eq(mimeo_part_decode_buf(mimeo_message_find_section(m, "3"), 0, NULL, &got,
					       NULL), MIMEO_EIO);
	ck_assert_ptr_nonnull(mimeo_message_io_error(m));
	mimeo_message_free(m);

	/* a range the file does not cover, an overflowing one, a pipe */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	reason = NULL;
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 3000, len, &o), MIMEO_EIO);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(reason, "the file is shorter than the range to parse");
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 2, UINT64_MAX, &o), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, -1, 0, 1, &o), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_message_parse_fd_range(NULL, fd, 0, 1, &o), MIMEO_EINVAL);
	/* an empty range is an empty message */
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 10, 0, &o), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_source_size(m), 0);
	mimeo_message_free(m);
	close(fd);
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, pfd[0], 0, 1, &o), MIMEO_EINVAL);
	ck_assert_ptr_null(m);
	close(pfd[0]);
	close(pfd[1]);
	unlink(path);
	mimeo_buf_dispose(&want);
	mimeo_buf_dispose(&got);
	mimeo_buf_dispose(&file);
	free(data);
}
END_TEST

/* An mbox message (MIMEO_MESSAGE_MBOX) read back from a file range: the
 * ">From " lines the parser un-quoted are un-quoted again on the way out,
 * in every block split. */
START_TEST(fd_range_mbox_unquote)
{
	mimeo_buf msg = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_message *m;
	const mimeo_part *p;
	char path[64];
	size_t i, want = 0;
	int fd;

	mimeo_buf_puts(&msg, "Subject: quoted\n\n");
	/* past one 64 KiB read block, so a quoted line straddles blocks */
	for (i = 0; i < 4000; i++) {
		mimeo_buf_puts(&msg, i % 3 ? ">From here\n" : ">>From there, line\n");
		want += i % 3 ? strlen("From here\n") : strlen(">From there, line\n");
	}
	write_temp(msg.ptr, msg.size, path);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	o.flags = MIMEO_MESSAGE_MBOX;
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 0, msg.size, &o), MIMEO_OK);
	close(fd);
	p = mimeo_message_root(m);
	ck_assert_uint_eq(mimeo_part_size(p), want);
	ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, &got, NULL), MIMEO_OK);
	ck_assert_uint_eq(got.size, want);
	ck_assert(memcmp(got.ptr, "From there, line\n", 17) != 0); /* first one keeps a '>' */
	ck_assert(memcmp(got.ptr, ">From there, line\nFrom here\n", 28) == 0);
	ck_assert_ptr_null(strstr(got.ptr, "\n>From here"));
	mimeo_message_free(m);
	unlink(path);
	mimeo_buf_dispose(&msg);
	mimeo_buf_dispose(&got);
}
END_TEST

/* mimeo_part_decode's write callback that keeps the bytes and checks the
 * documented block limit. */
static int put_block(const void *data, size_t len, void *ctx)
{
	ck_assert_uint_le(len, 256 * 1024);
	return mimeo_buf_put(ctx, data, len);
}

/* A body in memory is decoded in larger blocks than one read from a file
 * (body_block in message.c): every call of `write` still gets at most 256
 * KiB, and the bytes are the file source's, for base64, quoted-printable
 * and plain bodies of an mbox message, whose quoted ">From " lines fall
 * on every block edge. */
START_TEST(memory_blocks)
{
	mimeo_buf msg = MIMEO_BUF_INIT, a = MIMEO_BUF_INIT, b = MIMEO_BUF_INIT;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_message *mem = NULL, *file = NULL;
	const mimeo_part *p, *q;
	uint64_t rng = 11;
	char path[64], line[80];
	size_t i, k, leaves = 0;
	int fd;

	mimeo_buf_puts(&msg, "Subject: blocks\nMIME-Version: 1.0\n"
			     "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
			     "--b\nContent-Transfer-Encoding: base64\n\n");
	for (i = 0; i < 20000; i++) { /* 1.5 MB */
		for (k = 0; k < 76; k++)
			line[k] = b64chars[test_rand(&rng) & 63];
		line[76] = '\n';
		mimeo_buf_put(&msg, line, 77);
	}
	mimeo_buf_puts(&msg, "--b\nContent-Transfer-Encoding: quoted-printable\n\n");
	for (i = 0; i < 30000; i++) /* 0.6 MB */
		mimeo_buf_puts(&msg, i % 5 ? "caf=C3=A9 =3D soft=\n" : ">From qp\n");
	mimeo_buf_puts(&msg, "\n--b\nContent-Type: text/plain\n\n");
	for (i = 0; i < 60000; i++) /* 0.7 MB */
		mimeo_buf_puts(&msg, i % 7 ? ">From here\n" : ">>From there\n");
	mimeo_buf_puts(&msg, "--b--\n");
	o.flags = MIMEO_MESSAGE_MBOX;
	write_temp(msg.ptr, msg.size, path);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(mimeo_message_parse_fd_range(&file, fd, 0, msg.size, &o), MIMEO_OK);
	close(fd);
	o.flags |= MIMEO_MESSAGE_BORROW;
	ck_assert_int_eq(mimeo_message_parse_buffer(&mem, msg.ptr, msg.size, &o), MIMEO_OK);
	for (p = mimeo_message_root(mem), q = mimeo_message_root(file); p && q;
	     p = mimeo_part_next(p), q = mimeo_part_next(q)) {
		if (!mimeo_part_is_leaf(p))
			continue;
		mimeo_buf_clear(&a);
		mimeo_buf_clear(&b);
		ck_assert_int_eq(mimeo_part_decode(p, 0, NULL, put_block, &a, NULL), MIMEO_OK);
		ck_assert_int_eq(mimeo_part_decode(q, 0, NULL, put_block, &b, NULL), MIMEO_OK);
		ck_assert_uint_eq(a.size, mimeo_part_size(p));
		ck_assert_uint_gt(a.size, 300 * 1024);
		ck_assert_uint_eq(a.size, b.size);
		ck_assert(memcmp(a.ptr, b.ptr, a.size) == 0);
		leaves++;
	}
	ck_assert_uint_eq(leaves, 3);
	mimeo_message_free(mem);
	mimeo_message_free(file);
	unlink(path);
	mimeo_buf_dispose(&msg);
	mimeo_buf_dispose(&a);
	mimeo_buf_dispose(&b);
}
END_TEST

/* A file that shrinks while a body is being decoded from it: the decode
 * stops with MIMEO_EIO and a reason; what was written before is the true
 * beginning of the body, never bytes from elsewhere. */
typedef struct shrink_ctx {
	const char *path;
	off_t to;
	uint64_t seen;
	int done;
} shrink_ctx;

static int shrink_write(const void *data, size_t len, void *ctx)
{
	shrink_ctx *c = ctx;

	(void)data;
	c->seen += len;
	if (!c->done) {
		ck_assert_int_eq(truncate(c->path, c->to), 0);
		c->done = 1;
	}
	return MIMEO_OK;
}

START_TEST(file_shrinks_while_decoding)
{
	char path[64] = "/tmp/mimeo-flat-XXXXXX";
	size_t lines = 20000; /* 1.5 MB of base64: many read blocks */
	mimeo_message *m;
	const mimeo_part *p;
	shrink_ctx c;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	write_big(fd, lines);
	close(fd);
	ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
	p = mimeo_message_find_section(m, "2");
	ck_assert_uint_eq(mimeo_part_size(p), (uint64_t)lines * 57);
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.to = 400000;
	ck_assert_int_eq(mimeo_part_decode(p, 0, NULL, shrink_write, &c, NULL), MIMEO_EIO);
	ck_assert(c.done);
	ck_assert_uint_lt(c.seen, (uint64_t)lines * 57);
	ck_assert_str_eq(mimeo_message_io_error(m), "the source file shrank after it was parsed");
	/* and every later call says so up front */
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.to = 400000;
	c.done = 1;
	ck_assert_int_eq(mimeo_part_decode(p, 0, NULL, shrink_write, &c, NULL), MIMEO_EIO);
	ck_assert_uint_eq(c.seen, 0);
	mimeo_message_free(m);
	unlink(path);
}
END_TEST

/* A file that shrinks while it is being parsed: the allocator (called as
 * parts begin) cuts the file at its Nth call, for every N.  Each run ends
 * in MIMEO_EIO with a reason, or in a tree whose every body either
 * decodes to exactly the bytes of the whole file's parse or fails with
 * MIMEO_EIO: never a crash or wrong bytes. */
typedef struct cut_alloc {
	test_failing_alloc fa; /* counts; never fails (fail_at 0) */
	unsigned long cut_at;
	const char *path;
	off_t to;
	int cut;
} cut_alloc;

static void *cut_malloc(size_t n, void *ctx)
{
	cut_alloc *c = ctx;

	if (++c->fa.calls == c->cut_at && !c->cut) {
		ck_assert_int_eq(truncate(c->path, c->to), 0);
		c->cut = 1;
	}
	return malloc(n);
}

static void *cut_realloc(void *p, size_t n, void *ctx)
{
	cut_alloc *c = ctx;

	if (++c->fa.calls == c->cut_at && !c->cut) {
		ck_assert_int_eq(truncate(c->path, c->to), 0);
		c->cut = 1;
	}
	return realloc(p, n);
}

static void cut_free(void *p, void *ctx)
{
	(void)ctx;
	free(p);
}

START_TEST(file_shrinks_while_parsing)
{
	size_t len;
	char *data = test_read_data("sample.eml", &len), path[64];
	mimeo_message *m;
	unsigned long n;
	int eio = 0, late = 0;

	/* the whole file's bodies, part by part */
	for (n = 1;; n++) {
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		const char *reason = NULL;
		cut_alloc c;
		int rc;

		write_temp(data, len, path);
		memset(&c, 0, sizeof(c));
		c.fa.alloc.malloc = cut_malloc;
		c.fa.alloc.realloc = cut_realloc;
		c.fa.alloc.free = cut_free;
		c.fa.alloc.ctx = &c;
		c.cut_at = n;
		c.path = path;
		c.to = (off_t)len / 2;
		o.alloc = &c.fa.alloc;
		o.reason = &reason;
		rc = mimeo_message_parse_file(&m, path, &o);
		if (rc == MIMEO_OK) {
			const mimeo_part *p;
			mimeo_message *ref;

			/* cut after the parse (or never): bodies are right or EIO */
			ck_assert_int_eq(mimeo_message_parse_buffer(&ref, data, len, NULL), MIMEO_OK);
			for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
				const mimeo_part *q = mimeo_message_find_section(ref, mimeo_part_section(p));
				mimeo_buf a = MIMEO_BUF_INIT, b = MIMEO_BUF_INIT;
				int r = mimeo_part_decode_buf(p, 0, NULL, &a, NULL);

				ck_assert_ptr_nonnull(q);
				if (r == MIMEO_OK) {
					ck_assert_int_eq(mimeo_part_decode_buf(q, 0, NULL, &b, NULL),
							 MIMEO_OK);
					ck_assert(a.size == b.size && memcmp(a.ptr, b.ptr, a.size) == 0);
				} else {
					ck_assert_int_eq(r, MIMEO_EIO);
					ck_assert(c.cut);
				}
				mimeo_buf_dispose(&a);
				mimeo_buf_dispose(&b);
			}
			mimeo_message_free(ref);
			mimeo_message_free(m);
			late++;
		} else {
			ck_assert_int_eq(rc, MIMEO_EIO);
			ck_assert(c.cut);
			ck_assert_ptr_nonnull(reason);
			eio++;
		}
		unlink(path);
		if (!c.cut)
			break;
	}
	/* both kinds happened: cuts during the parse and after it */
	ck_assert_int_gt(eio, 0);
	ck_assert_int_gt(late, 0);
	free(data);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

typedef struct reader_arg {
	const mimeo_message *m;
	const mimeo_buf *want;
	int ok;
} reader_arg;

/* Every leaf's decoded body, its UTF-8 text and its raw bytes, in order;
 * the first failure's status. */
static int all_bodies(const mimeo_message *m, mimeo_buf *out)
{
	const mimeo_part *p;
	char tmp[64];
	int rc = MIMEO_OK;

	for (p = mimeo_message_root(m); p && rc == MIMEO_OK; p = mimeo_part_next(p)) {
		snprintf(tmp, sizeof(tmp), "[%s %llu]", mimeo_part_section(p),
			 (unsigned long long)mimeo_part_size(p));
		mimeo_buf_puts(out, tmp);
		rc = mimeo_part_decode_buf(p, 0, NULL, out, NULL);
		if (rc == MIMEO_OK)
			rc = mimeo_part_decode_buf(p, MIMEO_DECODE_UTF8, NULL, out, NULL);
		if (rc == MIMEO_OK)
			rc = mimeo_part_write_raw(p, put_buf, out);
	}
	return rc;
}

static void *reader_thread(void *arg)
{
	reader_arg *a = arg;
	mimeo_buf got = MIMEO_BUF_INIT;
	int round;

	a->ok = 1;
	for (round = 0; round < 20; round++) {
		mimeo_buf_clear(&got);
		if (all_bodies(a->m, &got) != MIMEO_OK)
			a->ok = 0;
		if (got.size != a->want->size || memcmp(got.ptr, a->want->ptr, got.size) != 0)
			a->ok = 0;
	}
	mimeo_buf_dispose(&got);
	return NULL;
}

/* One message read by four threads at once, from every kind of source: a
 * file (pread: no shared file position), a file range, a stream spooled
 * into a temporary file, a stream kept in memory, and a base64-encoded
 * message/rfc822 whose decoded body has a spool of its own.  Run under
 * TSan once (-Db_sanitize=thread): no report. */
START_TEST(concurrent_readers)
{
	static const char inner[] =
		"Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n"
		"--i\nContent-Type: text/plain; charset=iso-8859-1\n\ninner text caf\xe9\n"
		"--i\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
		"aGVsbG8gd29ybGQ=\n--i--\n";
	size_t len, i, kind;
	char *data = test_read_data("sample.eml", &len), path[64];
	mimeo_buf encmsg = MIMEO_BUF_INIT;

	put_encoded_message(&encmsg, inner, sizeof(inner) - 1);
	write_temp(data, len, path);
	for (kind = 0; kind < 6; kind++) {
		mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
		mimeo_buf want = MIMEO_BUF_INIT;
		mimeo_message *m = NULL;
		pthread_t th[4];
		reader_arg args[4];
		test_chunk_reader r = { data, len, 0, 7, 4096 };
		int fd;

		switch (kind) {
		case 0:
			ck_assert_int_eq(mimeo_message_parse_file(&m, path, NULL), MIMEO_OK);
			break;
		case 1:
			fd = open(path, O_RDONLY);
			ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 0, len, NULL), MIMEO_OK);
			close(fd);
			break;
		case 2: /* spooled into a temporary file */
		case 3: /* spooled in memory */
			o.spool_memory = kind == 2 ? 100 : len;
			ck_assert_int_eq(mimeo_message_parse_stream(&m, test_chunk_read, &r, &o),
					 MIMEO_OK);
			break;
		default: /* the encoded message/rfc822: its spool in a file, in memory */
			o.spool_memory = kind == 4 ? 16 : 0;
			ck_assert_int_eq(mimeo_message_parse_buffer(&m, encmsg.ptr, encmsg.size, &o),
					 MIMEO_OK);
			break;
		}
		ck_assert_int_eq(all_bodies(m, &want), 0);
		for (i = 0; i < 4; i++) {
			args[i].m = m;
			args[i].want = &want;
			ck_assert_int_eq(pthread_create(&th[i], NULL, reader_thread, &args[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			ck_assert_msg(args[i].ok, "source kind %zu", kind);
		}
		mimeo_message_free(m);
		mimeo_buf_dispose(&want);
	}
	unlink(path);
	mimeo_buf_dispose(&encmsg);
	free(data);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Allocation failures on the new paths                                */
/* ------------------------------------------------------------------ */

/* The inputs of the allocation sweep: kind 0 a file, 1 a stream spooled
 * into a temporary file, 2 a file range, 3 an mbox message with quoted
 * From lines in a file, 4 an encoded message/rfc822 spooled to a file. */
typedef struct sweep_input {
	const char *data;
	size_t len;
	const char *path;
	const char *mbox_path;
	size_t mbox_len;
	const char *enc;
	size_t enc_len;
	int kind; /* which of sweep_parse's ways */
} sweep_input;

static int sweep_parse(mimeo_message **m, const mimeo_allocator *alloc, unsigned long chunk_seed,
		       const void *ctx)
{
	const sweep_input *in = ctx;
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	test_chunk_reader r = { in->data, in->len, 0, chunk_seed, 300 };
	int kind = in->kind, fd, rc;

	o.alloc = alloc;
	o.spool_memory = 200;
	switch (kind) {
	case 0:
		return mimeo_message_parse_file(m, in->path, &o);
	case 1:
		return mimeo_message_parse_stream(m, test_chunk_read, &r, &o);
	case 2:
	case 3:
		if (kind == 3)
			o.flags = MIMEO_MESSAGE_MBOX;
		fd = open(kind == 3 ? in->mbox_path : in->path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		rc = mimeo_message_parse_fd_range(m, fd, 0, kind == 3 ? in->mbox_len : in->len,
						  &o);
		close(fd);
		return rc;
	default:
		o.spool_memory = 16;
		return mimeo_message_parse_buffer(m, in->enc, in->enc_len, &o);
	}
}

START_TEST(allocation_failures)
{
	size_t len, i;
	char *data = test_read_data("forward.eml", &len), path[64], mpath[64];
	mimeo_buf mbox = MIMEO_BUF_INIT, encmsg = MIMEO_BUF_INIT;
	sweep_input in;
	int kind;

	mimeo_buf_puts(&mbox, "Subject: q\nContent-Type: text/plain; charset=utf-8\n"
			      "Content-Transfer-Encoding: quoted-printable\n\n");
	for (i = 0; i < 50; i++)
		mimeo_buf_puts(&mbox, ">From here caf=C3=A9\n>>From there\n");
	put_encoded_message(&encmsg, data, len < 700 ? len : 700);
	write_temp(data, len, path);
	write_temp(mbox.ptr, mbox.size, mpath);
	in.data = data;
	in.len = len;
	in.path = path;
	in.mbox_path = mpath;
	in.mbox_len = mbox.size;
	in.enc = encmsg.ptr;
	in.enc_len = encmsg.size;
	for (kind = 0; kind < 5; kind++) {
		mimeo_buf want = MIMEO_BUF_INIT;
		mimeo_message *m;
		char what[32];

		in.kind = kind;
		ck_assert_int_eq(sweep_parse(&m, NULL, 1, &in), MIMEO_OK);
		ck_assert_int_eq(all_bodies(m, &want), 0);
		mimeo_message_free(m);
		snprintf(what, sizeof(what), "kind %d", kind);
		ck_assert_uint_gt(test_parse_alloc_sweep(sweep_parse, &in, all_bodies, &want, what), 3);
		mimeo_buf_dispose(&want);
	}
	unlink(path);
	unlink(mpath);
	mimeo_buf_dispose(&mbox);
	mimeo_buf_dispose(&encmsg);
	free(data);
}
END_TEST

/* The .gz reader: the one place gzip is read. */
START_TEST(gz_reader)
{
	size_t len, zlen;
	char *data = test_read_data("sample.eml", &len), *z = test_gzip(data, len, &zlen);
	char gzpath[] = "/tmp/mimeo-flat-XXXXXX.eml.gz";
	mimeo_reader *r;
	mimeo_buf got = MIMEO_BUF_INIT;
	char buf[1000];
	size_t n;
	int fd = mkstemps(gzpath, 7);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, z, zlen), (ssize_t)zlen);
	close(fd);
	ck_assert_int_eq(mimeo_reader_open(&r, gzpath, -1, 0, NULL), MIMEO_OK);
	ck_assert(mimeo_reader_is_compressed(r));
	ck_assert_int_eq(mimeo_reader_fd(r), -1);
	do {
		ck_assert_int_eq(mimeo_reader_read(buf, sizeof(buf), &n, r), MIMEO_OK);
		mimeo_buf_put(&got, buf, n);
	} while (n);
	ck_assert(got.size == len && memcmp(got.ptr, data, len) == 0);
	mimeo_reader_close(r);
	/* cut short: an error, not a short message */
	ck_assert_int_eq(truncate(gzpath, 200), 0);
	ck_assert_int_eq(mimeo_reader_open(&r, gzpath, -1, 0, NULL), MIMEO_OK);
	do {
		if (mimeo_reader_read(buf, sizeof(buf), &n, r) != MIMEO_OK)
			break;
	} while (n);
	ck_assert(n == 0);
	ck_assert_str_eq(mimeo_reader_error(r), "unexpected end of compressed data");
	mimeo_reader_close(r);
	ck_assert_int_eq(mimeo_reader_open(&r, "/nonexistent/x.gz", -1, 0, NULL), MIMEO_EIO);
	unlink(gzpath);
	mimeo_buf_dispose(&got);
	free(z);
	free(data);
}
END_TEST

/* Everything `r` gives, into a fresh buffer; the reader is closed. */
static mimeo_buf read_all_of(mimeo_reader *r)
{
	mimeo_buf got = MIMEO_BUF_INIT;
	char buf[1000];
	size_t n;

	do {
		ck_assert_int_eq(mimeo_reader_read(buf, sizeof(buf), &n, r), MIMEO_OK);
		ck_assert_int_eq(mimeo_buf_put(&got, buf, n), MIMEO_OK);
	} while (n);
	mimeo_reader_close(r);
	return got;
}

#define ck_assert_buf_eq(b, data, len) \
	ck_assert((b).size == (len) && memcmp((b).ptr, (data), (len)) == 0)

/* What is decompressed: by default the content of a ".gz" name decides,
 * other names are read as they are; MIMEO_READER_DETECT lets the content
 * decide whatever the name, on pipes too.  mimeo_reader_is_compressed()
 * tells the truth for a plain file named .gz (it said 1). */
START_TEST(gz_reader_by_content)
{
	static const char msg[] = "Subject: plain\n\nnot compressed\n";
	size_t mlen = sizeof(msg) - 1, zlen;
	char *z = test_gzip(msg, mlen, &zlen);
	char gzpath[] = "/tmp/mimeo-flat-XXXXXX.eml.gz", path[] = "/tmp/mimeo-flat-XXXXXX.eml";
	mimeo_reader *r;
	mimeo_buf got;
	int fd, pid;

	/* a plain file named .gz: read as it is, from its descriptor */
	fd = mkstemps(gzpath, 7);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, msg, mlen), (ssize_t)mlen);
	close(fd);
	ck_assert_int_eq(mimeo_reader_open(&r, gzpath, -1, 0, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_is_compressed(r), 0);
	ck_assert_int_ge(mimeo_reader_fd(r), 0);
	got = read_all_of(r);
	ck_assert_buf_eq(got, msg, mlen);
	mimeo_buf_dispose(&got);

	/* gzip under another name: raw bytes by default, inflated by DETECT */
	fd = mkstemps(path, 4);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, z, zlen), (ssize_t)zlen);
	close(fd);
	ck_assert_int_eq(mimeo_reader_open(&r, path, -1, 0, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_is_compressed(r), 0);
	got = read_all_of(r);
	ck_assert_buf_eq(got, z, zlen);
	mimeo_buf_dispose(&got);
	ck_assert_int_eq(mimeo_reader_open(&r, path, -1, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	ck_assert_int_ne(mimeo_reader_is_compressed(r), 0);
	ck_assert_int_eq(mimeo_reader_fd(r), -1);
	got = read_all_of(r);
	ck_assert_buf_eq(got, msg, mlen);
	mimeo_buf_dispose(&got);
	/* a plain file under DETECT: its own descriptor, from where it stood */
	fd = open(gzpath, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lseek(fd, 9, SEEK_SET), 9);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, fd, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_is_compressed(r), 0);
	ck_assert_int_eq(mimeo_reader_fd(r), fd);
	got = read_all_of(r);
	ck_assert_buf_eq(got, msg + 9, mlen - 9);
	mimeo_buf_dispose(&got);

	/* pipes: DETECT reads the first bytes to tell, so all reading goes
	 * through the reader (no descriptor) */
	fd = test_pipe_from(z, zlen, &pid);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, fd, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	ck_assert_int_ne(mimeo_reader_is_compressed(r), 0);
	ck_assert_int_eq(mimeo_reader_fd(r), -1);
	got = read_all_of(r);
	test_pipe_wait(pid);
	ck_assert_buf_eq(got, msg, mlen);
	mimeo_buf_dispose(&got);
	fd = test_pipe_from(msg, mlen, &pid);
	ck_assert_int_eq(mimeo_reader_open(&r, "-", fd, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_is_compressed(r), 0);
	ck_assert_int_eq(mimeo_reader_fd(r), -1);
	got = read_all_of(r);
	test_pipe_wait(pid);
	ck_assert_buf_eq(got, msg, mlen);
	mimeo_buf_dispose(&got);
	fd = test_pipe_from("", 0, &pid);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, fd, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_is_compressed(r), 0);
	got = read_all_of(r);
	test_pipe_wait(pid);
	ck_assert_uint_eq(got.size, 0);
	mimeo_buf_dispose(&got);
	/* without DETECT a pipe is never looked at */
	fd = test_pipe_from(z, zlen, &pid);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, fd, 0, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_reader_fd(r), fd);
	got = read_all_of(r);
	test_pipe_wait(pid);
	ck_assert_buf_eq(got, z, zlen);
	mimeo_buf_dispose(&got);
	/* a cut-off gzip pipe: EBADMSG */
	fd = test_pipe_from(z, zlen - 5, &pid);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, fd, MIMEO_READER_DETECT, NULL), MIMEO_OK);
	{
		char buf[1000];
		size_t n;
		int rc;

		do
			rc = mimeo_reader_read(buf, sizeof(buf), &n, r);
		while (rc == MIMEO_OK && n);
		ck_assert_int_eq(rc, MIMEO_EIO);
		ck_assert_int_eq(errno, EBADMSG);
	}
	mimeo_reader_close(r);
	test_pipe_wait(pid);

	/* misuse */
	ck_assert_int_eq(mimeo_reader_open(&r, path, -1, 0x80, NULL), MIMEO_EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(mimeo_reader_open(&r, NULL, -1, MIMEO_READER_DETECT, NULL), MIMEO_EINVAL);
	unlink(gzpath);
	unlink(path);
	free(z);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("message-flat");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, big_attachment_memory);
	tcase_add_test(tc, many_parts_memory);
	tcase_add_loop_test(tc, base64_size_count, 0, 10);
	tcase_add_test(tc, samples_all_sources_agree);
	tcase_add_test(tc, base64_footer_after_padded_end);
	tcase_add_test(tc, encoded_message_spool);
	tcase_add_test(tc, spool_threshold_boundary);
	tcase_add_test(tc, pipe_source);
	tcase_add_test(tc, file_changes_under_us);
	tcase_add_test(tc, tmpdir_not_writable);
	tcase_add_test(tc, max_input_optional);
	tcase_add_test(tc, fd_range_source);
	tcase_add_test(tc, fd_range_mbox_unquote);
	tcase_add_test(tc, memory_blocks);
	tcase_add_test(tc, file_shrinks_while_decoding);
	tcase_add_test(tc, file_shrinks_while_parsing);
	tcase_add_test(tc, concurrent_readers);
	tcase_add_test(tc, allocation_failures);
	tcase_add_test(tc, gz_reader);
	tcase_add_test(tc, gz_reader_by_content);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}
