/*
 * bench_pop3.c - throughput of the POP3 RETR adapter (mimeo_pop3_reader).
 *
 * A 64 MiB RETR response (a mail with base64 attachments and text with
 * dot-stuffed lines, CRLF) is fed in 16 KiB chunks, as from a socket.
 * Baselines measured in the same run: memcpy of the same chunks (the
 * ceiling) and a straightforward line-by-line un-stuffer (memchr per line,
 * copy each line), the way POP3 clients usually do it.  With GMime, the
 * last rows compare parsing while downloading (reader -> mimeo parser)
 * with GMime parsing the already un-stuffed message from memory.
 *
 *   meson test -C build --benchmark --suite pop3 -v
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <mimeo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_GMIME
#include <gmime/gmime.h>
#endif

#define CHUNK 16384
#define RUNS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct counter {
	uint64_t bytes;
	unsigned sum;
	unsigned char out[CHUNK];
} counter;

/* A sink that copies, as writing into a file buffer would. */
static int copy_sink(const void *data, size_t len, void *user)
{
	counter *c = user;
	size_t n = len < sizeof(c->out) ? len : sizeof(c->out);

	memcpy(c->out, data, n);
	c->sum += c->out[0];
	c->bytes += len;
	return 0;
}

static void build(mimeo_buf *wire, mimeo_buf *plain, size_t target)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint64_t seed = 99;
	char line[128];
	size_t i, k;

	mimeo_buf_puts(wire, "+OK message follows\r\n");
	mimeo_buf_puts(plain, "From: a@example.com\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
			      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	while (plain->size < target) {
		mimeo_buf_puts(plain, "--b\r\nContent-Type: text/plain\r\n\r\n");
		for (k = 0; k < 200; k++) {
			size_t n = 20 + test_rand(&seed) % 50;
			for (i = 0; i < n; i++)
				line[i] = "abcdefgh ijklm.nopqr stuvwxyz"[test_rand(&seed) % 30];
			if (test_rand(&seed) % 20 == 0)
				line[0] = '.';
			memcpy(line + n, "\r\n", 2);
			mimeo_buf_put(plain, line, n + 2);
		}
		mimeo_buf_puts(plain, "--b\r\nContent-Type: application/octet-stream\r\n"
				      "Content-Transfer-Encoding: base64\r\n\r\n");
		for (k = 0; k < 4000; k++) {
			for (i = 0; i < 76; i++)
				line[i] = b64[test_rand(&seed) & 63];
			memcpy(line + 76, "\r\n", 2);
			mimeo_buf_put(plain, line, 78);
		}
	}
	mimeo_buf_puts(plain, "--b--\r\n");
	/* byte-stuff into the wire form */
	for (i = 0; i < plain->size;) {
		const char *nl = memchr(plain->ptr + i, '\n', plain->size - i);
		size_t n = (size_t)(nl - (plain->ptr + i)) + 1;
		if (plain->ptr[i] == '.')
			mimeo_buf_put(wire, ".", 1);
		mimeo_buf_put(wire, plain->ptr + i, n);
		i += n;
	}
	mimeo_buf_puts(wire, ".\r\n");
}

static double run_memcpy(const mimeo_buf *wire, counter *c)
{
	double t = now();
	size_t pos;

	for (pos = 0; pos < wire->size; pos += CHUNK) {
		size_t n = wire->size - pos < CHUNK ? wire->size - pos : CHUNK;
		copy_sink(wire->ptr + pos, n, c);
	}
	return now() - t;
}

static double run_reader(const mimeo_buf *wire, unsigned flags, mimeo_write_fn fn,
			 void *user)
{
	mimeo_pop3_reader r;
	double t = now();
	size_t pos = 0, used;
	int rc = MIMEO_OK;

	mimeo_pop3_reader_init(&r, flags, fn, user);
	while (rc == MIMEO_OK && pos < wire->size) {
		size_t n = wire->size - pos < CHUNK ? wire->size - pos : CHUNK;
		rc = mimeo_pop3_reader_feed(&r, wire->ptr + pos, n, &used);
		pos += used;
	}
	t = now() - t;
	if (rc != MIMEO_DONE) {
		fprintf(stderr, "reader failed: %s\n", mimeo_status_name(rc));
		exit(1);
	}
	return t;
}

/*
 * The usual hand-written loop: keep a line buffer across chunks, and for
 * each complete line check the dot and copy the line out.
 */
static double run_naive(const mimeo_buf *wire, counter *c)
{
	static char linebuf[1 << 20];
	size_t have = 0, pos = 0;
	int status = 1, done = 0;
	double t = now();

	while (!done && pos < wire->size) {
		size_t n = wire->size - pos < CHUNK ? wire->size - pos : CHUNK, i = 0;
		const char *chunk = wire->ptr + pos;

		pos += n;
		while (i < n && !done) {
			const char *nl = memchr(chunk + i, '\n', n - i);
			size_t take = nl ? (size_t)(nl - (chunk + i)) + 1 : n - i;

			memcpy(linebuf + have, chunk + i, take);
			have += take;
			i += take;
			if (!nl)
				break;
			if (status) {
				status = 0;
			} else if (linebuf[0] == '.' && (have == 2 || (have == 3 && linebuf[1] == '\r'))) {
				done = 1;
			} else if (linebuf[0] == '.') {
				copy_sink(linebuf + 1, have - 1, c);
			} else {
				copy_sink(linebuf, have, c);
			}
			have = 0;
		}
	}
	return now() - t;
}

static int body_count(const mimeo_part_info *part, const char *data, size_t len, void *user)
{
	(void)part;
	(void)data;
	*(uint64_t *)user += len;
	return 0;
}

static double run_parse(const mimeo_buf *wire, const mimeo_buf *plain, int via_reader,
			uint64_t *decoded)
{
	mimeo_parser_callbacks cb;
	mimeo_parser *p;
	double t;

	memset(&cb, 0, sizeof(cb));
	cb.version = MIMEO_PARSER_CALLBACKS_VERSION;
	cb.body = body_count;
	*decoded = 0;
	if (mimeo_parser_new(&p, NULL, &cb, decoded) != MIMEO_OK)
		exit(1);
	t = now();
	if (via_reader) {
		run_reader(wire, 0, mimeo_pop3_parser_sink, p);
	} else {
		size_t pos;
		for (pos = 0; pos < plain->size; pos += CHUNK) {
			size_t n = plain->size - pos < CHUNK ? plain->size - pos : CHUNK;
			mimeo_parser_feed(p, plain->ptr + pos, n);
		}
	}
	mimeo_parser_finish(p);
	t = now() - t;
	mimeo_parser_free(p);
	return t;
}

#ifdef HAVE_GMIME
static double run_gmime(const mimeo_buf *plain)
{
	double t = now();
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(plain->ptr, plain->size);
	GMimeParser *gp = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(gp, NULL);

	t = now() - t;
	if (m)
		g_object_unref(m);
	g_object_unref(gp);
	g_object_unref(s);
	return t;
}
#endif

static void row(const char *name, double best, size_t bytes, double ref)
{
	double mbs = (double)bytes / best / 1e6;

	printf("| %-52s | %8.0f | %6.2fx |\n", name, mbs, ref > 0 ? ref / best : 1.0);
}

int main(void)
{
	mimeo_buf wire = MIMEO_BUF_INIT, plain = MIMEO_BUF_INIT;
	counter c;
	double best[8];
	uint64_t dec = 0;
	int i, k;

	build(&wire, &plain, 64u << 20);
	for (k = 0; k < 8; k++)
		best[k] = 1e9;
#ifdef HAVE_GMIME
	g_mime_init();
#endif
	for (i = 0; i < RUNS; i++) {
		double t;
		memset(&c, 0, sizeof(c));
		t = run_memcpy(&wire, &c);
		best[0] = t < best[0] ? t : best[0];
		memset(&c, 0, sizeof(c));
		t = run_naive(&wire, &c);
		best[1] = t < best[1] ? t : best[1];
		if (c.bytes != plain.size) {
			fprintf(stderr, "naive baseline is wrong: %llu vs %zu\n",
				(unsigned long long)c.bytes, plain.size);
			return 1;
		}
		memset(&c, 0, sizeof(c));
		t = run_reader(&wire, 0, copy_sink, &c);
		best[2] = t < best[2] ? t : best[2];
		if (c.bytes != plain.size) {
			fprintf(stderr, "reader output is wrong\n");
			return 1;
		}
		memset(&c, 0, sizeof(c));
		t = run_reader(&wire, MIMEO_POP3_TO_LF, copy_sink, &c);
		best[3] = t < best[3] ? t : best[3];
		t = run_parse(&wire, &plain, 0, &dec);
		best[4] = t < best[4] ? t : best[4];
		t = run_parse(&wire, &plain, 1, &dec);
		best[5] = t < best[5] ? t : best[5];
#ifdef HAVE_GMIME
		t = run_gmime(&plain);
		best[6] = t < best[6] ? t : best[6];
#endif
	}
	printf("POP3 RETR adapter: %.1f MiB response, %d KiB chunks, best of %d runs\n\n",
	       (double)wire.size / (1 << 20), CHUNK / 1024, RUNS);
	printf("| %-52s | %8s | %7s |\n", "workload", "MB/s", "vs naive");
	printf("|%s|%s|%s|\n", "------------------------------------------------------",
	       "----------", "---------");
	row("memcpy of the chunks (ceiling)", best[0], wire.size, best[1]);
	row("naive line-by-line un-stuffer (baseline)", best[1], wire.size, best[1]);
	row("mimeo_pop3_reader, copying sink", best[2], wire.size, best[1]);
	row("mimeo_pop3_reader, MIMEO_POP3_TO_LF", best[3], wire.size, best[1]);
	printf("\n| %-52s | %8s | %7s |\n", "parse with transfer decoding", "MB/s", "vs direct");
	printf("|%s|%s|%s|\n", "------------------------------------------------------",
	       "----------", "---------");
	row("mimeo parser on the un-stuffed message (direct)", best[4], plain.size, best[4]);
	row("reader -> mimeo_pop3_parser_sink -> parser", best[5], wire.size, best[4]);
#ifdef HAVE_GMIME
	row("GMime parser on the un-stuffed message (no decoding)", best[6], plain.size, best[4]);
#endif
	mimeo_buf_dispose(&wire);
	mimeo_buf_dispose(&plain);
	return 0;
}
