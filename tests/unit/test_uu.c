/*
 * test_uu.c - uuencode decoder: begin/end blocks, multiple lines, CRLF,
 * stripped trailing spaces, garbage, several blocks in one body, every
 * split offset.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "codec_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

/* Reference encoder: 45-byte lines; zero sextets as '`' (GNU) or ' '. */
static char *uu_encode(const unsigned char *in, size_t len, const char *name, int spaces,
		       const char *eol, size_t *outlen)
{
	char *out = malloc(len * 2 + strlen(name) + 64), *o = out;
	size_t i, k;

	o += sprintf(o, "begin 644 %s%s", name, eol);
	for (i = 0; i < len; i += 45) {
		size_t n = len - i < 45 ? len - i : 45;

		*o++ = (char)(32 + n);
		for (k = 0; k < n; k += 3) {
			unsigned v = (unsigned)in[i + k] << 16, s;

			if (k + 1 < n)
				v |= (unsigned)in[i + k + 1] << 8;
			if (k + 2 < n)
				v |= in[i + k + 2];
			for (s = 0; s < 4; s++) {
				unsigned x = (v >> (18 - 6 * s)) & 63;

				*o++ = (char)(x == 0 && !spaces ? '`' : 32 + x);
			}
		}
		o += sprintf(o, "%s", eol);
	}
	o += sprintf(o, "%c%send%s", spaces ? ' ' : '`', eol, eol);
	*o = 0;
	*outlen = (size_t)(o - out);
	return out;
}

static void check_all_splits(const char *in, size_t inlen, const void *want, size_t wantlen,
			     uint64_t invalid, size_t caseno)
{
	size_t s;

	for (s = 0; s <= inlen; s++) {
		ct_result r;

		ct_run_cuts(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, inlen, &s, 1, &r);
		ct_expect(&r, want, wantlen, "uu split", MIMEO_ISA_AUTO, caseno * 100000 + s);
		CT_CHECK(r.invalid == invalid, "case %zu: invalid %llu want %llu", caseno,
			 (unsigned long long)r.invalid, (unsigned long long)invalid);
		ct_result_free(&r);
	}
}

/* The classic example: "Cat" */
START_TEST(simple_block)
{
	static const char in[] = "begin 644 cat.txt\n#0V%T\n`\nend\n";
	ct_result r;

	check_all_splits(in, strlen(in), "Cat", 3, 0, 0);
	ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, strlen(in), 0, &r);
	ck_assert_str_eq(r.uu.filename, "cat.txt");
	ck_assert_uint_eq(r.uu.mode, 0644);
	ck_assert(r.uu.began);
	ck_assert(r.uu.ended);
	ct_result_free(&r);
}
END_TEST

START_TEST(multiple_lines_round_trip)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 44, 45, 46, 90, 1000, 100000 };
	uint64_t rng = 9;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], len, v;
		unsigned char *raw = malloc(n + 1);

		test_rand_bytes(&rng, raw, n);
		for (v = 0; v < 4; v++) {
			char *enc = uu_encode(raw, n, "my file.bin", (int)(v & 1), v & 2 ? "\r\n" : "\n",
					      &len);
			ct_result r;
			size_t c;

			for (c = 1; c <= 80; c += (n > 1000 ? 13 : 1)) {
				ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, enc, len, c, &r);
				ct_expect(&r, raw, n, "uu round trip", MIMEO_ISA_AUTO, n * 100 + c);
				ck_assert_str_eq(r.uu.filename, "my file.bin");
				CT_CHECK(r.uu.ended && r.invalid == 0, "end not seen");
				ct_result_free(&r);
			}
			ct_run_random(CT_UU_DEC, MIMEO_ISA_AUTO, 0, enc, len, 200, &rng, &r);
			ct_expect(&r, raw, n, "uu random chunks", MIMEO_ISA_AUTO, n);
			ct_result_free(&r);
			if (n <= 1000)
				check_all_splits(enc, len, raw, n, 0, n);
			free(enc);
		}
		free(raw);
	}
}
END_TEST

/* Mail software strips trailing spaces: with ' ' for zero, the missing
 * characters decode as zero bits. */
START_TEST(stripped_trailing_spaces)
{
	unsigned char raw[45];
	size_t len, i, o = 0;
	char *enc, *cut;

	memset(raw, 0, sizeof(raw));
	raw[0] = 'A';
	enc = uu_encode(raw, 45, "z", 1, "\n", &len);
	cut = malloc(len + 1);
	for (i = 0; i < len; i++) {
		/* drop spaces before a line break */
		if (enc[i] == ' ') {
			size_t j = i;

			while (j < len && enc[j] == ' ')
				j++;
			if (j < len && enc[j] == '\n' && i > 0 && enc[i - 1] != '\n') {
				i = j - 1;
				continue;
			}
		}
		cut[o++] = enc[i];
	}
	/* "M" + "00" then nothing: the first group gives 3 bytes */
	check_all_splits(cut, o, raw, 3, 0, 0);
	free(cut);
	free(enc);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
	size_t outlen;
	uint64_t invalid;
} table[] = {
	/* text before begin is skipped, text after end ignored */
	{ "Hello,\nsee attached.\n\nbegin 600 a\n#0V%T\n`\nend\nMore text\n#0V%T\n", "Cat", 3, 0 },
	/* no begin line: nothing */
	{ "#0V%T\n`\nend\n", "", 0, 0 },
	{ "begin-base64 644 x\nQ2F0\n====\n", "", 0, 0 },
	{ "begin 644\n#0V%T\n", "", 0, 0 },        /* no name: not a begin line */
	/* garbage lines inside the block are skipped and counted */
	{ "begin 644 a\n#0V%T\nthis is not uu data\n#0V%T\n`\nend\n", "CatCat", 6, 1 },
	{ "begin 644 a\n#0V%T\n\xff\xfe\n`\nend\n", "Cat", 3, 1 },
	/* blank lines are ignored */
	{ "begin 644 a\n\n#0V%T\n\n`\nend\n", "Cat", 3, 0 },
	/* data after the zero-length line is garbage */
	{ "begin 644 a\n#0V%T\n`\n#0V%T\nend\n", "Cat", 3, 1 },
	/* missing end and zero line: the data is still delivered */
	{ "begin 644 a\n#0V%T", "Cat", 3, 0 },
	/* end without the zero-length line */
	{ "begin 644 a\n#0V%T\nend\n#0V%T\n", "Cat", 3, 0 },
	/* a count larger than the characters present: only groups present */
	{ "begin 644 a\nM0V%T\n`\nend\n", "Cat", 3, 0 },
	/* CRLF line ends */
	{ "begin 644 a\r\n#0V%T\r\n`\r\nend\r\n", "Cat", 3, 0 },
	{ "", "", 0, 0 },
};

START_TEST(malformed_table)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_all_splits(table[i].in, strlen(table[i].in), table[i].out, table[i].outlen,
				 table[i].invalid, i);
}
END_TEST

START_TEST(begin_line_fields)
{
	char in[700];
	ct_result r;
	size_t i;

	/* names keep their raw bytes; long names are cut at 255 */
	strcpy(in, "begin 0755 \xc3\xa9t\xc3\xa9 file.txt\n`\nend\n");
	ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, strlen(in), 0, &r);
	ck_assert_str_eq(r.uu.filename, "\xc3\xa9t\xc3\xa9 file.txt");
	ck_assert_uint_eq(r.uu.mode, 0755);
	ct_result_free(&r);
	strcpy(in, "begin 644 ");
	for (i = 0; i < 400; i++)
		in[10 + i] = 'n';
	strcpy(in + 410, "\n#0V%T\n`\nend\n");
	ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, strlen(in), 3, &r);
	ck_assert_uint_eq(strlen(r.uu.filename), 255);
	ct_expect(&r, "Cat", 3, "long name", MIMEO_ISA_AUTO, 0);
	ct_result_free(&r);
}
END_TEST

START_TEST(random_garbage_is_safe)
{
	static const char alpha[] = "begin 644 x\n`M#0V%Tend\r \x80";
	uint64_t rng = 4;
	int round;

	for (round = 0; round < 400; round++) {
		size_t n = (size_t)(test_rand(&rng) % 800), i;
		char *in = malloc(n + 20);
		ct_result a, b;

		memcpy(in, "begin 644 x\n", 12);
		for (i = 12; i < n + 12; i++)
			in[i] = round & 1 ? alpha[test_rand(&rng) % (sizeof(alpha) - 1)]
					  : (char)test_rand(&rng);
		ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, n + 12, 0, &a);
		ct_run_random(CT_UU_DEC, MIMEO_ISA_AUTO, 0, in, n + 12, 1 + (size_t)(round % 50), &rng,
			      &b);
		ct_expect(&b, a.out, a.len, "uu garbage chunking", MIMEO_ISA_AUTO, (size_t)round);
		ct_result_free(&a);
		ct_result_free(&b);
		free(in);
	}
}
END_TEST

/* ---- several blocks: mimeo_uu_decode_next() ---- */

typedef struct sink {
	char *buf;
	size_t len;
} sink;

static void put(sink *k, const void *p, size_t n)
{
	k->buf = realloc(k->buf, k->len + n + 1);
	CT_CHECK(k->buf, "out of memory");
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = 0;
}

/* Note a file's start the first time the decoder reports its begin line.
 * *open: 0 no file, 1 in a file, 2 paused (the fields still describe the
 * block that ended, until the next mimeo_uu_decode_next() call). */
static void file_start(const mimeo_uu_decoder *d, int *open, sink *k)
{
	char head[300];

	if (d->began && *open == 0) {
		snprintf(head, sizeof(head), "{%s %o:", d->filename, d->mode);
		put(k, head, strlen(head));
		*open = 1;
	}
}

/* One piece through mimeo_uu_decode_next() until it is used up, on a
 * private copy and exact-bound output blocks (ASan checks the bound). */
static void next_piece(mimeo_uu_decoder *d, const char *in, size_t n, int *open, sink *k)
{
	char *piece = malloc(n ? n : 1);
	size_t off = 0;

	CT_CHECK(piece, "out of memory");
	memcpy(piece, in, n);
	do {
		size_t bound = MIMEO_UU_DECODE_BOUND(n - off), used = 0, got = 0;
		unsigned char *out = malloc(bound);
		int rc;

		CT_CHECK(out, "out of memory");
		if (*open == 2)
			*open = 0;
		rc = mimeo_uu_decode_next(d, piece + off, n - off, out, &used, &got);
		CT_CHECK(used <= n - off && got <= bound, "used %zu got %zu", used, got);
		CT_CHECK(rc == MIMEO_OK ? used == n - off : rc == MIMEO_PAUSED && used > 0,
			 "rc %d used %zu of %zu", rc, used, n - off);
		file_start(d, open, k);
		CT_CHECK(got == 0 || *open == 1, "output outside a block");
		put(k, out, got);
		if (rc == MIMEO_PAUSED) {
			put(k, d->ended ? "|end}" : "|cut}", 5);
			*open = 2;
		}
		off += used;
		free(out);
	} while (off < n);
	free(piece);
}

/* Every file of `in`, fed in pieces of the sizes in cuts[0..ncuts) and the
 * rest: "{name mode:data|end}" per file ("|cut}" without its end line,
 * "|eof}" when the input stopped inside it). */
static sink next_files(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
	mimeo_uu_decoder d;
	sink k = { NULL, 0 };
	unsigned char fin[MIMEO_UU_DECODE_FINISH_MAX];
	size_t off = 0, i, got;
	int open = 0;

	put(&k, "", 0);
	mimeo_uu_decoder_init(&d);
	for (i = 0; i <= ncuts && off < len; i++) {
		size_t n = i < ncuts && cuts[i] < len - off ? cuts[i] : len - off;

		next_piece(&d, in + off, n, &open, &k);
		off += n;
	}
	if (open == 2)
		open = 0;   /* finish is the call after the pause */
	got = mimeo_uu_decode_finish(&d, fin);
	file_start(&d, &open, &k);
	CT_CHECK(got == 0 || open == 1, "finish output outside a block");
	put(&k, fin, got);
	if (open == 1)
		put(&k, "|eof}", 5);
	return k;
}

/* The listing at every single split offset, and at random double splits. */
static void check_next(const char *in, size_t len, const char *want, size_t wantlen,
		       size_t caseno)
{
	uint64_t rng = caseno + 1;
	size_t s;

	for (s = 0; s <= len + 200; s++) {
		size_t cuts[2] = { s, 0 };
		sink k;

		if (s > len) {
			cuts[0] = (size_t)(test_rand(&rng) % (len + 1));
			cuts[1] = (size_t)(test_rand(&rng) % (len + 1));
		}
		k = next_files(in, len, cuts, s > len ? 2 : 1);
		if (k.len != wantlen || memcmp(k.buf, want, wantlen) != 0)
			ck_abort_msg("case %zu split %zu: got \"%s\" want \"%s\"", caseno, s, k.buf,
				     want);
		free(k.buf);
	}
}

static void append_block(sink *body, sink *want, const char *content, const char *name,
			 int spaces, const char *eol)
{
	size_t n;
	char *enc = uu_encode((const unsigned char *)content, strlen(content), name, spaces, eol,
			      &n);
	char head[300];

	put(body, enc, n);
	snprintf(head, sizeof(head), "{%s 644:%s|end}", name, content);
	put(want, head, strlen(head));
	free(enc);
}

/* Two and three files, with text between and around them, backquote or
 * space padding, LF or CRLF: each file whole with its own name. */
START_TEST(several_blocks)
{
	static const char *const between[] = { "", "\n", "-- \nsecond part follows:\n\n",
					       "begin-base64 644 skipped\nQ2F0\n====\n" };
	size_t round;

	for (round = 0; round < 8; round++) {
		sink body = { NULL, 0 }, want = { NULL, 0 };
		const char *eol = round & 1 ? "\r\n" : "\n";

		put(&body, "Here are the files.\n", 20);
		put(&want, "", 0);
		append_block(&body, &want, "The first file, with a longer line of text in it "
			     "so that it needs two data lines.", "one.txt", (int)(round & 2), eol);
		put(&body, between[round % 4], strlen(between[round % 4]));
		append_block(&body, &want, "Cat", "two dir/x.bin", !(round & 2), eol);
		if (round >= 4) {
			put(&body, between[(round + 1) % 4], strlen(between[(round + 1) % 4]));
			append_block(&body, &want, "a\x01\x02\xff third", "../3", (int)(round & 2), eol);
		}
		put(&body, "trailing signature\n", 19);
		check_next(body.buf, body.len, want.buf, want.len, round);
		free(body.buf);
		free(want.buf);
	}
}
END_TEST

/* A block without "end" ends at the next begin line ("cut") or at the end
 * of the input ("eof"); garbage lines inside blocks are counted. */
START_TEST(several_blocks_malformed)
{
	static const struct {
		const char *in, *want;
		uint64_t invalid;
	} cases[] = {
		{ "begin 644 a\n#0V%T\nbegin 600 b\n#0V%T\n`\nend\n",
		  "{a 644:Cat|cut}{b 600:Cat|end}", 0 },
		{ "begin 644 a\n#0V%T\n`\nend\nbegin 644 b\n#0V%T\n", "{a 644:Cat|end}{b 644:Cat|eof}", 0 },
		{ "begin 644 a\n#0V%T\nnot data\n`\nend\nxx\nbegin 644 b\n\xff\n#0V%T\nend\n",
		  "{a 644:Cat|end}{b 644:Cat|end}", 2 },
		/* a begin line with nothing after it: an empty file; without its
		 * line break at the very end: ignored */
		{ "begin 644 a\n#0V%T\nend\nbegin 644 b\n", "{a 644:Cat|end}{b 644:|eof}", 0 },
		{ "begin 644 a\n#0V%T\nbegin 644 b\n", "{a 644:Cat|cut}{b 644:|eof}", 0 },
		{ "begin 644 a\n#0V%T\nbegin 644 b", "{a 644:Cat|eof}", 0 },
		{ "no blocks at all\nbegin\nend\n", "", 0 },
		{ "", "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mimeo_uu_decoder d;
		unsigned char out[MIMEO_UU_DECODE_BOUND(200)];
		size_t used, got, off = 0, len = strlen(cases[i].in);

		check_next(cases[i].in, len, cases[i].want, strlen(cases[i].want), 100 + i);
		mimeo_uu_decoder_init(&d);
		while (mimeo_uu_decode_next(&d, cases[i].in + off, len - off, out, &used, &got) ==
		       MIMEO_PAUSED)
			off += used;
		ck_assert_uint_eq(d.invalid, cases[i].invalid);
	}
}
END_TEST

/* The first-block API: a second block is ignored, and a begin line in a
 * block without "end" ends it (its data no longer runs into the first
 * file's). */
START_TEST(step_keeps_first_block)
{
	static const char two[] = "begin 644 a\n#0V%T\n`\nend\nbegin 644 b\n#1&]G\n`\nend\n";
	static const char noend[] = "begin 644 a\n#0V%T\nbegin 644 b\n#1&]G\n`\nend\n";
	ct_result r;

	check_all_splits(two, strlen(two), "Cat", 3, 0, 900);
	check_all_splits(noend, strlen(noend), "Cat", 3, 0, 901);
	ct_run_chunk(CT_UU_DEC, MIMEO_ISA_AUTO, 0, noend, strlen(noend), 0, &r);
	ck_assert_str_eq(r.uu.filename, "a");
	ck_assert_int_eq(r.uu.ended, 0);
	ct_result_free(&r);
	ct_run_chunk(CT_XFER_UU, MIMEO_ISA_AUTO, 0, two, strlen(two), 5, &r);
	ct_expect(&r, "Cat", 3, "transfer keeps the first file", MIMEO_ISA_AUTO, 0);
	ct_result_free(&r);
}
END_TEST

static Suite *uu_suite(void)
{
	Suite *s = suite_create("uu");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, simple_block);
	tcase_add_test(tc, multiple_lines_round_trip);
	tcase_add_test(tc, stripped_trailing_spaces);
	tcase_add_test(tc, malformed_table);
	tcase_add_test(tc, begin_line_fields);
	tcase_add_test(tc, random_garbage_is_safe);
	tcase_add_test(tc, several_blocks);
	tcase_add_test(tc, several_blocks_malformed);
	tcase_add_test(tc, step_keeps_first_block);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(uu_suite());
}
