/*
 * test_yenc.c - the streaming yEnc decoder: MimeKit's yEnc test data
 * (single-part article, the two parts of joystick.jpg, a file of near-miss
 * keyword lines), a reference encoder round trip over every byte value,
 * keyword corners ("=y" data at a line start, =yend at the very end),
 * CRC/size/part checks, several blocks in one body, hostile figures, and
 * the same transcript for every split of the input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mimeo.h"

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			ck_abort_msg(__VA_ARGS__);                           \
	} while (0)

/* One decoded block, as the decoder described it at its pause. */
typedef struct yblock {
	mimeo_yenc_decoder info;  /* public fields at the pause */
	unsigned char *data;
	size_t len;
} yblock;

typedef struct yrun {
	yblock b[8];
	unsigned n;
	uint64_t invalid;
} yrun;

static void yrun_free(yrun *r)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		free(r->b[i].data);
	memset(r, 0, sizeof(*r));
}

static void add_bytes(yrun *r, mimeo_yenc_decoder *d, const unsigned char *p, size_t n,
		      int *open)
{
	yblock *b;

	if (!*open) {
		if (!n)
			return;
		CHECK(d->began, "output outside a block");
		CHECK(r->n < 8, "too many blocks");
		*open = 1;
		r->n++;
	}
	b = &r->b[r->n - 1];
	b->data = realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void on_pause(yrun *r, mimeo_yenc_decoder *d, int *open)
{
	if (!*open) {
		CHECK(r->n < 8, "too many blocks");
		r->n++;
	}
	r->b[r->n - 1].info = *d;
	CHECK(d->ended, "pause without ended");
	*open = 0;
}

/* Decode `in` in pieces: the first piece `cut` bytes, then pieces of
 * `chunk` bytes (0 = the rest at once).  Each piece and each output block
 * is its own exactly-sized heap block (ASan sees any overrun). */
static void yrun_do(yrun *r, const void *in, size_t len, size_t cut, size_t chunk)
{
	mimeo_yenc_decoder d;
	size_t off = 0;
	int open = 0;
	unsigned char *fo;
	size_t fp;

	memset(r, 0, sizeof(*r));
	mimeo_yenc_decoder_init(&d);
	while (off < len) {
		size_t n = off == 0 && cut ? cut : (chunk ? chunk : len - off);
		unsigned char *piece, *out;
		size_t used = 0;

		if (n > len - off)
			n = len - off;
		piece = malloc(n);
		memcpy(piece, (const char *)in + off, n);
		while (used < n) {
			size_t c, p;
			int rc;

			out = malloc(MIMEO_YENC_DECODE_BOUND(n - used) + 1);
			rc = mimeo_yenc_decode_step(&d, piece + used, n - used, out, &c, &p);
			CHECK(p <= MIMEO_YENC_DECODE_BOUND(n - used), "output over bound");
			add_bytes(r, &d, out, p, &open);
			free(out);
			used += c;
			if (rc == MIMEO_PAUSED) {
				on_pause(r, &d, &open);
				CHECK(c > 0, "a pause consumed nothing");
			} else {
				CHECK(rc == MIMEO_OK && used == n, "step rc %d", rc);
			}
		}
		free(piece);
		off += n;
	}
	fo = malloc(MIMEO_YENC_DECODE_FINISH_MAX);
	if (mimeo_yenc_decode_finish(&d, fo, &fp) == MIMEO_PAUSED) {
		add_bytes(r, &d, fo, fp, &open);
		on_pause(r, &d, &open);
	} else {
		CHECK(fp == 0 && !open, "finish wrote outside a block");
		CHECK(!d.began && d.name[0] == 0, "fields not cleared");
	}
	free(fo);
	r->invalid = d.invalid;
}

/* Two runs describe the same blocks, bytes and counters. */
static void yrun_same(const yrun *a, const yrun *b, const char *what, size_t arg)
{
	unsigned i;

	CHECK(a->n == b->n, "%s %zu: %u blocks vs %u", what, arg, a->n, b->n);
	CHECK(a->invalid == b->invalid, "%s %zu: invalid %llu vs %llu", what, arg,
	      (unsigned long long)a->invalid, (unsigned long long)b->invalid);
	for (i = 0; i < a->n; i++) {
		const mimeo_yenc_decoder *x = &a->b[i].info, *y = &b->b[i].info;

		CHECK(a->b[i].len == b->b[i].len &&
		      (a->b[i].len == 0 || memcmp(a->b[i].data, b->b[i].data, a->b[i].len) == 0),
		      "%s %zu: block %u data differs", what, arg, i);
		CHECK(strcmp(x->name, y->name) == 0 && x->size == y->size &&
		      x->part == y->part && x->have == y->have && x->errors == y->errors &&
		      x->crc == y->crc && x->decoded == y->decoded && x->begin == y->begin &&
		      x->end == y->end && x->pcrc32 == y->pcrc32 && x->crc32 == y->crc32,
		      "%s %zu: block %u fields differ", what, arg, i);
	}
}

/* Every cut point and a few chunk sizes give the transcript of one call. */
static void check_splits(const void *in, size_t len, const yrun *ref, size_t step)
{
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 16, 17, 64 };
	size_t s, i;

	for (s = 1; s < len; s += step) {
		yrun r;

		yrun_do(&r, in, len, s, 0);
		yrun_same(ref, &r, "cut", s);
		yrun_free(&r);
	}
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		yrun r;

		yrun_do(&r, in, len, 0, chunks[i]);
		yrun_same(ref, &r, "chunk", chunks[i]);
		yrun_free(&r);
	}
}

static char *make_post(const unsigned char *data, size_t len, const char *head,
		       const char *tail, const char *eol, size_t *outlen)
{
	char *out = malloc(len * 2 + len / 64 * 2 + strlen(head) + strlen(tail) + 64);
	size_t o = (size_t)sprintf(out, "%s", head);

	o += test_yenc_encode(data, len, 128, out + o, eol);
	o += (size_t)sprintf(out + o, "%s", tail);
	*outlen = o;
	return out;
}

static char *corpus_file(const char *name, size_t *len)
{
	const char *dir = test_shared_corpus();
	char path[4096];

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/mimekit-yenc/%s", dir, name);
	return test_read_file(path, len);
}

static uint32_t crc_of(const void *p, size_t n)
{
	return (uint32_t)crc32_z(0, p, n);
}

/* simple.msg: one block in a news article (584 bytes, crc32 ded29f4f). */
START_TEST(corpus_simple)
{
	static const char *files[] = { "simple.msg", "state-changes.ntx" };
	unsigned f;

	for (f = 0; f < 2; f++) {
		size_t len;
		char *in = corpus_file(files[f], &len);
		yrun r;

		if (!in)
			return;   /* no shared corpus: nothing to compare with */
		yrun_do(&r, in, len, 0, 0);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_str_eq(r.b[0].info.name, "testfile.txt");
		ck_assert_uint_eq(r.b[0].len, 584);
		ck_assert_uint_eq(r.b[0].info.size, 584);
		ck_assert_uint_eq(r.b[0].info.line, 128);
		ck_assert_uint_eq(r.b[0].info.errors, 0);
		ck_assert_uint_eq(r.b[0].info.crc, 0xded29f4fu);
		ck_assert_uint_eq(r.b[0].info.crc32, 0xded29f4fu);
		ck_assert_uint_eq(crc_of(r.b[0].data, r.b[0].len), 0xded29f4fu);
		ck_assert_uint_eq(r.invalid, 0);
		check_splits(in, len, &r, 1);
		yrun_free(&r);
		free(in);
	}
}
END_TEST

/* The two parts of joystick.jpg, placed by =ypart, give the file. */
START_TEST(corpus_multipart)
{
	size_t l1, l2, lj;
	char *p1 = corpus_file("00000020.ntx", &l1), *p2 = corpus_file("00000021.ntx", &l2);
	char *jpg = corpus_file("joystick.jpg", &lj);
	unsigned char *file;
	yrun r1, r2;

	if (!p1 || !p2 || !jpg) {
		free(p1), free(p2), free(jpg);
		return;
	}
	yrun_do(&r1, p1, l1, 0, 0);
	yrun_do(&r2, p2, l2, 0, 0);
	ck_assert_uint_eq(r1.n, 1);
	ck_assert_uint_eq(r2.n, 1);
	ck_assert_str_eq(r1.b[0].info.name, "joystick.jpg");
	ck_assert_uint_eq(r1.b[0].info.part, 1);
	ck_assert_uint_eq(r2.b[0].info.part, 2);
	ck_assert_uint_eq(r1.b[0].info.size, 19338);
	ck_assert_uint_eq(r1.b[0].info.begin, 1);
	ck_assert_uint_eq(r1.b[0].info.end, 11250);
	ck_assert_uint_eq(r2.b[0].info.begin, 11251);
	ck_assert_uint_eq(r2.b[0].info.end, 19338);
	ck_assert_uint_eq(r1.b[0].info.errors, 0);
	ck_assert_uint_eq(r2.b[0].info.errors, 0);
	ck_assert(r1.b[0].info.have & MIMEO_YENC_HAVE_PCRC32);
	ck_assert_uint_eq(lj, 19338);
	file = calloc(1, lj);
	memcpy(file + r1.b[0].info.begin - 1, r1.b[0].data, r1.b[0].len);
	memcpy(file + r2.b[0].info.begin - 1, r2.b[0].data, r2.b[0].len);
	ck_assert_uint_eq(r1.b[0].len + r2.b[0].len, lj);
	ck_assert(memcmp(file, jpg, lj) == 0);
	check_splits(p1, l1, &r1, 7);
	check_splits(p2, l2, &r2, 7);
	free(file);
	yrun_free(&r1);
	yrun_free(&r2);
	free(p1), free(p2), free(jpg);
}
END_TEST

/* Every byte value, LF and CRLF lines, encoded by the reference encoder. */
START_TEST(roundtrip_all_bytes)
{
	unsigned char data[2048];
	static const char *eols[] = { "\n", "\r\n" };
	unsigned e, i;
	uint64_t rng = 18;

	for (i = 0; i < 512; i++)
		data[i] = (unsigned char)i;
	test_rand_bytes(&rng, data + 512, sizeof(data) - 512);
	for (e = 0; e < 2; e++) {
		char head[128], tail[128];
		size_t len;
		char *post;
		yrun r;
		uint32_t crc = crc_of(data, sizeof(data));

		snprintf(head, sizeof(head), "Some text%s=ybegin line=128 size=%zu name=all bytes.bin%s",
			 eols[e], sizeof(data), eols[e]);
		snprintf(tail, sizeof(tail), "=yend size=%zu crc32=%08x%sbye%s", sizeof(data),
			 (unsigned)crc, eols[e], eols[e]);
		post = make_post(data, sizeof(data), head, tail, eols[e], &len);
		yrun_do(&r, post, len, 0, 0);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_str_eq(r.b[0].info.name, "all bytes.bin");
		ck_assert_uint_eq(r.b[0].len, sizeof(data));
		ck_assert(memcmp(r.b[0].data, data, sizeof(data)) == 0);
		ck_assert_uint_eq(r.b[0].info.errors, 0);
		ck_assert_uint_eq(r.invalid, 0);
		check_splits(post, len, &r, 1);
		yrun_free(&r);
		free(post);
	}
}
END_TEST

/* "=y" at a line start that is not =ybegin/=ypart/=yend is an escaped
 * byte (0x0F); keywords are recognised with a tab, CR or the end after
 * them; "=yend" with no line break at the very end still ends the block. */
START_TEST(keyword_corners)
{
	/* 'y' - 106 = 0x0F, 'x' - 42 = 'N' */
	static const char in1[] = "=ybegin name=a\n=yx\n=yendx\n=yend\tsize=7";
	static const char in2[] = "=ybegin  size=1 name=b \r\n=ye\r\n=yend\r\n";
	yrun r;

	yrun_do(&r, in1, strlen(in1), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.b[0].len, 7);
	ck_assert(memcmp(r.b[0].data, "\x0fN\x0f;D:N", 7) == 0);
	ck_assert(r.b[0].info.have & MIMEO_YENC_HAVE_END);
	ck_assert_uint_eq(r.b[0].info.end_size, 7);
	ck_assert_uint_eq(r.b[0].info.errors, 0);
	check_splits(in1, strlen(in1), &r, 1);
	yrun_free(&r);

	yrun_do(&r, in2, strlen(in2), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.b[0].info.name, "b");
	ck_assert_uint_eq(r.b[0].len, 2);   /* "=ye" is data: 0x0F ';' */
	ck_assert(memcmp(r.b[0].data, "\x0f;", 2) == 0);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_BAD_SIZE);
	check_splits(in2, strlen(in2), &r, 1);
	yrun_free(&r);
}
END_TEST

/* Lines that look almost like =ybegin, and =ybegin without name=, stay
 * text: nothing is decoded. */
START_TEST(not_a_begin)
{
	static const char in[] = "=ybeginx name=a\n=ybegin size=3\nabc\n=y\n= ybegin name=c\n"
				 " =ybegin name=d\nend\n";
	yrun r;

	yrun_do(&r, in, strlen(in), 0, 0);
	ck_assert_uint_eq(r.n, 0);
	check_splits(in, strlen(in), &r, 1);
	yrun_free(&r);
}
END_TEST

/* Regression (fuzz_expand): "=ybegin" followed by a CR (not a space or a
 * tab) is no begin line inside a block either, as outside one: it neither
 * ends the block nor starts another.  Inside a block it was a begin line,
 * so a block started there that did not start when read from that line. */
START_TEST(begin_needs_a_blank)
{
	static const char in[] = "=ybegin name=a\n=ybegin\r name=b\nd\n=yend\n";
	static const char alone[] = "=ybegin\r name=b\nd\n=yend\n";
	yrun r;

	yrun_do(&r, in, strlen(in), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.b[0].info.name, "a");
	ck_assert_uint_eq(r.b[0].len, 1); /* 'd' - 42 */
	ck_assert(r.b[0].info.have & MIMEO_YENC_HAVE_END);
	check_splits(in, strlen(in), &r, 1);
	yrun_free(&r);

	yrun_do(&r, alone, strlen(alone), 0, 0);
	ck_assert_uint_eq(r.n, 0);
	yrun_free(&r);
}
END_TEST

/* A bad CRC, a wrong size, a missing =yend: flagged, data kept. */
START_TEST(checks_flagged)
{
	static const char bad_crc[] = "=ybegin size=3 name=x\nKLM\n=yend size=3 crc32=12345678\n";
	static const char bad_size[] = "=ybegin size=5 name=x\nKLM\n=yend size=4\n";
	static const char no_end[] = "=ybegin size=3 name=x\nKLM\n";
	static const char bad_part[] = "=ybegin part=2 size=9 name=x\nKLM\n=yend size=3 part=3\n";
	static const char ok_part[] = "=ybegin part=2 total=3 size=9 name=x\n=ypart begin=4 end=6\n"
				      "KLM\n=yend size=3 part=2 pcrc32=%08x\n";
	char buf[256];
	yrun r;

	yrun_do(&r, bad_crc, strlen(bad_crc), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_BAD_CRC);
	ck_assert(memcmp(r.b[0].data, "!\"#", 3) == 0);
	yrun_free(&r);

	yrun_do(&r, bad_size, strlen(bad_size), 0, 0);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_BAD_SIZE);
	yrun_free(&r);

	yrun_do(&r, no_end, strlen(no_end), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_NO_END);
	ck_assert_uint_eq(r.b[0].len, 3);
	yrun_free(&r);

	yrun_do(&r, bad_part, strlen(bad_part), 0, 0);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_BAD_PART);
	yrun_free(&r);

	snprintf(buf, sizeof(buf), ok_part, (unsigned)crc_of("!\"#", 3));
	yrun_do(&r, buf, strlen(buf), 0, 0);
	ck_assert_uint_eq(r.b[0].info.errors, 0);
	ck_assert_uint_eq(r.b[0].info.total, 3);
	ck_assert_uint_eq(r.b[0].info.begin, 4);
	ck_assert_uint_eq(r.b[0].info.end, 6);
	check_splits(buf, strlen(buf), &r, 1);
	yrun_free(&r);
}
END_TEST

/* Several blocks in one body, one without =yend (the next =ybegin ends it),
 * text between them; a stray '=' before a line break is dropped and
 * counted. */
START_TEST(several_blocks)
{
	static const char in[] = "intro\n=ybegin size=2 name=one\nKL=\n=yend size=2\ntext\n"
				 "=ybegin size=1 name=two\nK\n=ybegin size=1 name=three\nM\n=yend\n"
				 "=ybegin name=four\n";
	yrun r;

	yrun_do(&r, in, strlen(in), 0, 0);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_str_eq(r.b[0].info.name, "one");
	ck_assert_uint_eq(r.b[0].len, 2);
	ck_assert_uint_eq(r.b[0].info.errors, 0);
	ck_assert_str_eq(r.b[1].info.name, "two");
	ck_assert_uint_eq(r.b[1].info.errors, MIMEO_YENC_NO_END);
	ck_assert_uint_eq(r.b[1].len, 1);
	ck_assert_str_eq(r.b[2].info.name, "three");
	ck_assert_uint_eq(r.b[2].info.errors, 0);
	ck_assert_str_eq(r.b[3].info.name, "four");
	ck_assert_uint_eq(r.b[3].len, 0);
	ck_assert_uint_eq(r.b[3].info.errors, MIMEO_YENC_NO_END);
	ck_assert_uint_eq(r.invalid, 1);
	check_splits(in, strlen(in), &r, 1);
	yrun_free(&r);
}
END_TEST

/* Hostile figures saturate, an over-long keyword line is cut (and counted),
 * a long name is cut at 255 bytes. */
START_TEST(hostile_lines)
{
	char *in = malloc(4096), *o = in;
	yrun r;
	size_t i;

	o += sprintf(o, "=ybegin size=99999999999999999999999999 line=4294967296000 part=x name=");
	for (i = 0; i < 600; i++)
		*o++ = (char)('a' + i % 26);
	o += sprintf(o, "\nKL\n=yend size=2 pcrc32=zz crc32=0000000000%08x", (unsigned)crc_of("!\"", 2));
	yrun_do(&r, in, (size_t)(o - in), 0, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.b[0].info.size, UINT64_MAX);
	ck_assert_uint_eq(r.b[0].info.line, 0xffffffffu);
	ck_assert(!(r.b[0].info.have & MIMEO_YENC_HAVE_PART));
	ck_assert(!(r.b[0].info.have & MIMEO_YENC_HAVE_PCRC32));
	ck_assert_uint_eq(strlen(r.b[0].info.name), 255);
	ck_assert_uint_eq(r.b[0].info.errors, MIMEO_YENC_BAD_SIZE);  /* size= vs 2 */
	ck_assert_uint_eq(r.b[0].info.crc32, crc_of("!\"", 2));
	ck_assert_uint_eq(r.invalid, 1);   /* the cut =ybegin line */
	check_splits(in, (size_t)(o - in), &r, 1);
	yrun_free(&r);
	free(in);
}
END_TEST

/* Large random data in random chunks against the reference encoder. */
START_TEST(random_chunks)
{
	uint64_t rng = 0x5eed;
	unsigned t;

	for (t = 0; t < 20; t++) {
		size_t n = (size_t)(test_rand(&rng) % 20000), len, cut;
		unsigned char *data = malloc(n + 1);
		char head[128];
		char *post;
		yrun ref, r;

		test_rand_bytes(&rng, data, n);
		snprintf(head, sizeof(head), "=ybegin line=128 size=%zu name=r%u\n", n, t);
		post = make_post(data, n, head, "=yend\n", "\n", &len);
		yrun_do(&ref, post, len, 0, 0);
		ck_assert_uint_eq(ref.n, 1);
		ck_assert_uint_eq(ref.b[0].len, n);
		ck_assert(n == 0 || memcmp(ref.b[0].data, data, n) == 0);
		ck_assert_uint_eq(ref.b[0].info.errors, 0);
		cut = len ? (size_t)(test_rand(&rng) % len) : 0;
		yrun_do(&r, post, len, cut, 1 + (size_t)(test_rand(&rng) % 300));
		yrun_same(&ref, &r, "random", t);
		yrun_free(&r);
		yrun_free(&ref);
		free(post);
		free(data);
	}
}
END_TEST

static Suite *yenc_suite(void)
{
	Suite *s = suite_create("yenc");
	TCase *tc = tcase_create("decode");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, corpus_simple);
	tcase_add_test(tc, corpus_multipart);
	tcase_add_test(tc, roundtrip_all_bytes);
	tcase_add_test(tc, keyword_corners);
	tcase_add_test(tc, not_a_begin);
	tcase_add_test(tc, begin_needs_a_blank);
	tcase_add_test(tc, checks_flagged);
	tcase_add_test(tc, several_blocks);
	tcase_add_test(tc, hostile_lines);
	tcase_add_test(tc, random_chunks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(yenc_suite());
}
