/*
 * test_qp.c - quoted-printable decoder and encoder (RFC 2045 section 6.7):
 * RFC examples, malformed-input table, encoder rules, every chunking.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "codec_testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mimeo.h"

/* Every ISA path this machine runs (the QP decoder has an AVX-512 kernel). */
#define FOR_EACH_ISA(isa)                                                     \
	for (mimeo_isa isa = MIMEO_ISA_SCALAR; isa <= MIMEO_ISA_AVX512;        \
	     isa = (mimeo_isa)(isa + 1))                                      \
		if (ct_isa_ok(isa))

/* Decode `in` whole, at every split offset and in every chunk size 1..80;
 * all must give `want` and `invalid`. */
static void check_decode(const char *in, size_t inlen, const char *want, size_t wantlen,
			 uint64_t invalid, size_t caseno)
{
	size_t s;

	FOR_EACH_ISA(isa) {
		for (s = 0; s <= inlen; s++) {
			ct_result r;

			ct_run_cuts(CT_QP_DEC, isa, 0, in, inlen, &s, 1, &r);
			ct_expect(&r, want, wantlen, "qp decode split", isa, caseno * 1000 + s);
			CT_CHECK(r.invalid == invalid, "case %zu: invalid %llu, want %llu", caseno,
				 (unsigned long long)r.invalid, (unsigned long long)invalid);
			ct_result_free(&r);
		}
		for (s = 1; s <= 80 && s <= inlen; s++) {
			ct_result r;

			ct_run_chunk(CT_QP_DEC, isa, 0, in, inlen, s, &r);
			ct_expect(&r, want, wantlen, "qp decode chunk", isa, caseno * 1000 + s);
			ct_result_free(&r);
		}
	}
}

/* RFC 2045 section 6.7, the soft line break example, verbatim (with the
 * CRLF line breaks of the canonical form). */
START_TEST(rfc2045_soft_break_example)
{
	static const char in[] = "Now's the time =\r\n"
				 "for all folk to come=\r\n"
				 " to the aid of their country.";
	static const char want[] =
		"Now's the time for all folk to come to the aid of their country.";

	check_decode(in, strlen(in), want, strlen(want), 0, 0);
}
END_TEST

static const struct {
	const char *in;
	const char *out;
	uint64_t invalid;
} decode_table[] = {
	/* rule 1: =XX in either case */
	{ "a=3Db", "a=b", 0 },
	{ "a=3db=c3=A9", "a=b\xc3\xa9", 0 },
	{ "=00=FF=ff", "\0\xff\xff", 0 },
	/* soft line breaks: =CRLF, =LF, = plus trailing whitespace */
	{ "a=\r\nb", "ab", 0 },
	{ "a=\nb", "ab", 0 },
	{ "a= \t\r\nb", "ab", 0 },
	{ "a=  \nb", "ab", 0 },
	{ "abc=", "abc", 0 },            /* at the very end */
	{ "abc=  ", "abc", 0 },
	{ "abc=\r", "abc", 0 },
	/* invalid '=' sequences are kept literally */
	{ "a=G1", "a=G1", 1 },
	{ "a=4", "a=4", 1 },
	{ "a=4x", "a=4x", 1 },
	{ "a = b", "a = b", 1 },
	{ "a=  b", "a=  b", 1 },
	{ "==41", "=A", 1 },
	{ "=\rX", "=\rX", 1 },
	{ "= \rX", "= \rX", 1 },
	{ "100%=", "100%", 0 },
	{ "=4=41", "=4A", 1 },
	{ "=\x80", "=\x80", 1 },
	/* rule 3: trailing whitespace of a line is removed */
	{ "abc   \r\ndef", "abc\r\ndef", 0 },
	{ "abc \t\ndef", "abc\ndef", 0 },
	{ "abc  ", "abc", 0 },
	{ "a b\tc", "a b\tc", 0 },
	{ "a=20\n", "a \n", 0 },         /* encoded space is data */
	{ "a =20 \n", "a  \n", 0 },
	/* line breaks pass through as they are; a lone CR is data */
	{ "a\r\nb\nc", "a\r\nb\nc", 0 },
	{ "a\rb", "a\rb", 0 },
	{ "a \rb", "a \rb", 0 },
	{ "a \r", "a \r", 0 },
	{ "\r\r\n", "\r\r\n", 0 },
	/* 8-bit and control bytes are copied */
	{ "\xff\x01\x7f", "\xff\x01\x7f", 0 },
	{ "", "", 0 },
};

START_TEST(malformed_and_rules_table)
{
	size_t i;

	for (i = 0; i < sizeof(decode_table) / sizeof(decode_table[0]); i++) {
		const char *in = decode_table[i].in, *out = decode_table[i].out;
		size_t outlen = strlen(out);

		if (i == 2)
			outlen = 3;   /* contains a NUL */
		check_decode(in, strlen(in), out, outlen, decode_table[i].invalid, i);
	}
}
END_TEST

START_TEST(nul_bytes_pass)
{
	static const char in[] = "a\0b=00\0";

	check_decode(in, 7, "a\0b\0\0", 5, 0, 0);
}
END_TEST

/* Of a whitespace run longer than the decoder holds back, only the last
 * MIMEO_QP_MAX_PENDING_WS bytes are removed: documented, bounded, and the
 * same for every split. */
START_TEST(long_whitespace_run_bounded)
{
	char in[200], want[200];
	size_t n = 0, w = 0, i;

	in[n++] = 'a';
	want[w++] = 'a';
	for (i = 0; i < 40; i++)
		in[n++] = ' ';
	for (i = 0; i < 40 - MIMEO_QP_MAX_PENDING_WS; i++)
		want[w++] = ' ';
	in[n++] = '\n';
	want[w++] = '\n';
	check_decode(in, n, want, w, 0, 0);
	/* '=' followed by a long run is no soft break: all kept literally */
	n = 0;
	in[n++] = '=';
	for (i = 0; i < 40; i++)
		in[n++] = ' ';
	in[n++] = 'x';
	check_decode(in, n, in, n, 1, 1);
}
END_TEST

static void check_encode(unsigned flags, const char *in, size_t inlen, const char *want)
{
	size_t s;

	FOR_EACH_ISA(isa) {
		for (s = 0; s <= inlen; s++) {
			ct_result r;

			ct_run_cuts(CT_QP_ENC, isa, flags, in, inlen, &s, 1, &r);
			ct_expect(&r, want, strlen(want), "qp encode", isa, s);
			ct_result_free(&r);
		}
	}
}

START_TEST(encoder_rules)
{
	/* '=' and non-printables encoded; printable text literal */
	check_encode(0, "a=b", 3, "a=3Db");
	check_encode(0, "caf\xc3\xa9\x01", 6, "caf=C3=A9=01");
	/* trailing space/tab before a line break or the end is encoded */
	check_encode(0, "a \nb\t", 5, "a=20\nb=09");
	check_encode(0, "a b \t\n", 6, "a b =09\n");
	check_encode(MIMEO_QP_CRLF, "x \r\ny", 5, "x=20\r\ny");
	/* LF mode: LF is the line break, every CR is encoded */
	check_encode(0, "a\rb\r\nc", 6, "a=0Db=0D\nc");
	/* CRLF mode: CRLF is the line break, lone CR and LF are encoded */
	check_encode(MIMEO_QP_CRLF, "a\nb\r\nc\rd\r", 9, "a=0Ab\r\nc=0Dd=0D");
	/* binary: no hard line breaks */
	check_encode(MIMEO_QP_BINARY, "a\r\nb\n", 5, "a=0D=0Ab=0A");
	check_encode(MIMEO_QP_BINARY | MIMEO_QP_CRLF, "a \r\n", 4, "a =0D=0A");
	/* mail-safe: line-leading "From " and "." encoded */
	check_encode(MIMEO_QP_MAILSAFE, "From me\n.\nxFrom .\n", 18,
		     "=46rom me\n=2E\nxFrom .\n");
	check_encode(0, "From me\n.\n", 10, "From me\n.\n");
	check_encode(0, "", 0, "");
}
END_TEST

/* Long lines are cut by soft breaks so no line exceeds 76 characters. */
START_TEST(encoder_line_length)
{
	char in[400], want[600];
	size_t i, w = 0;

	for (i = 0; i < 200; i++)
		in[i] = 'x';
	for (i = 0; i < 200; i++) {
		if (i && i % 75 == 0) {
			want[w++] = '=';
			want[w++] = '\n';
		}
		want[w++] = 'x';
	}
	want[w] = 0;
	check_encode(0, in, 200, want);
	/* an encoded triple never straddles a soft break */
	for (i = 0; i < 100; i++)
		in[i] = i % 7 ? 'y' : '=';
	{
		ct_result r;
		size_t col = 0;

		ct_run_chunk(CT_QP_ENC, MIMEO_ISA_AUTO, 0, in, 100, 0, &r);
		for (i = 0; i < r.len; i++) {
			if (r.out[i] == '\n') {
				ck_assert(i > 0 && r.out[i - 1] == '=');
				col = 0;
				continue;
			}
			col++;
			ck_assert_uint_le(col, 76);
		}
		ct_result_free(&r);
	}
}
END_TEST

static const unsigned enc_flagsets[] = {
	0, MIMEO_QP_CRLF, MIMEO_QP_BINARY, MIMEO_QP_MAILSAFE,
	MIMEO_QP_CRLF | MIMEO_QP_MAILSAFE, MIMEO_QP_BINARY | MIMEO_QP_CRLF,
	MIMEO_QP_BINARY | MIMEO_QP_MAILSAFE,
};
#define N_ENC_FLAGSETS (sizeof(enc_flagsets) / sizeof(enc_flagsets[0]))

/* Adversarial input for the encoder's 64-byte block path: pieces that put
 * whitespace before LF/CR, CRLF, '=', line-leading "F"/"." and long runs
 * at every column and across block edges, after a random-length prefix. */
static size_t adversarial_text(unsigned char *in, size_t cap, uint64_t *rng)
{
	static const char *pieces[] = {
		" \n", "\t\n", " \r\n", "\t\r", "\r\n", "\r", "\n", "=", "From ", ".\n", "F",
		".", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"abcdefghij", " ", "\t", "\x7f", "\x80", "\xff", "\x20\x21\x7e", "<=>",
		"\xc3\xa9", "\x00", "  \n\n", "=\r\n", "=\n",
	};
	size_t n = (size_t)(test_rand(rng) % 64), i;

	for (i = 0; i < n; i++)
		in[i] = 'p';
	while (n < cap - 80) {
		const char *pc = pieces[test_rand(rng) % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t l = pc[0] ? strlen(pc) : 1;

		memcpy(in + n, pc, l);
		n += l;
		if (test_rand(rng) % 500 == 0)
			break;
	}
	return n;
}

/* The block path (used for 80 bytes or more per step) on every ISA gives
 * exactly what the per-byte rules give (a step of one byte never takes
 * the block path): random bytes, text and adversarial input, every
 * flag set, whole, in random pieces and at every split offset. */
START_TEST(encoder_paths_agree)
{
	uint64_t rng = 77;
	int round;

	for (round = 0; round < 210; round++) {
		unsigned flags = enc_flagsets[round % N_ENC_FLAGSETS];
		size_t cap = 3000, n, s;
		unsigned char *in = malloc(cap);
		ct_result ref, r;

		if (round % 3 == 0) {
			n = (size_t)(test_rand(&rng) % cap);
			test_rand_bytes(&rng, in, n);
		} else {
			n = adversarial_text(in, cap, &rng);
		}
		ct_run_chunk(CT_QP_ENC, MIMEO_ISA_SCALAR, flags, in, n, 1, &ref);
		FOR_EACH_ISA(isa) {
			ct_run_chunk(CT_QP_ENC, isa, flags, in, n, 0, &r);
			ct_expect(&r, ref.out, ref.len, "qp encode block path whole", isa, (size_t)round);
			ct_result_free(&r);
			ct_run_random(CT_QP_ENC, isa, flags, in, n, 300, &rng, &r);
			ct_expect(&r, ref.out, ref.len, "qp encode block path pieces", isa, (size_t)round);
			ct_result_free(&r);
			for (s = 0; round < 21 && s <= n && s < 400; s++) {
				ct_run_cuts(CT_QP_ENC, isa, flags, in, n, &s, 1, &r);
				ct_expect(&r, ref.out, ref.len, "qp encode block path split", isa, s);
				ct_result_free(&r);
			}
		}
		ct_result_free(&ref);
		free(in);
	}
}
END_TEST

/* `n` bytes of `fill` with `ins` written at `at` must encode to the same
 * bytes with that span replaced by `out`. */
static void check_edge(unsigned flags, char fill, size_t n, size_t at, const char *ins,
		       const char *out)
{
	char in[200], want[400];

	memset(in, fill, n);
	memcpy(in + at, ins, strlen(ins));
	in[n] = 0;
	memcpy(want, in, at);
	strcpy(want + at, out);
	strcat(want, in + at + strlen(ins));
	check_encode(flags, in, n, want);
}

/* Regressions at the block path's edges, with known answers: a literal run
 * filling column 75 exactly, a space before a line break at byte 63/64 of
 * a block, a CRLF whose LF is the 65th byte, a line-leading F after a soft
 * break, an escape that must move to the next line, a space at column 74. */
START_TEST(encoder_block_edges)
{
	check_edge(0, 'x', 150, 75, "\n", "\n");
	check_edge(0, 'x', 150, 75, "x", "=\nx");
	check_edge(0, 'y', 100, 63, " \n", "=20\n");
	check_edge(MIMEO_QP_CRLF, 'z', 100, 63, "\r\n", "\r\n");
	check_edge(MIMEO_QP_MAILSAFE, 'w', 100, 75, "F", "=\n=46");
	check_edge(0, 'v', 100, 73, "=", "=\n=3D");
	check_edge(0, 'a', 100, 74, " ", " =\n");
}
END_TEST

/* Random text-like and binary input: every mode and chunking gives the
 * same output, lines are at most 76 columns, no trailing whitespace, only
 * allowed characters, and decoding gives the input back exactly. */
START_TEST(encode_decode_round_trip)
{
	static const unsigned flagsets[] = {
		0, MIMEO_QP_CRLF, MIMEO_QP_BINARY, MIMEO_QP_MAILSAFE,
		MIMEO_QP_CRLF | MIMEO_QP_MAILSAFE, MIMEO_QP_BINARY | MIMEO_QP_CRLF,
	};
	static const char textchars[] = "From .abc xyz\t =\r\n\n\xc3\xa9";
	uint64_t rng = 3;
	int round;

	for (round = 0; round < 240; round++) {
		unsigned flags = flagsets[round % 6];
		size_t n = (size_t)(test_rand(&rng) % (round < 200 ? 600 : 200000)), i, col = 0;
		unsigned char *in = malloc(n + 1);
		ct_result enc, whole, dec;

		if (round & 1)
			test_rand_bytes(&rng, in, n);
		else if (round % 4 == 2)
			/* long plain runs: the encoder's 16-byte path */
			for (i = 0; i < n; i++) {
				uint64_t x = test_rand(&rng) % 1000;

				in[i] = x < 150 ? ' ' : x < 152 ? '\n' : x < 154 ? '\t' :
					x < 156 ? '=' : x < 157 ? 0xE9 : (unsigned char)('a' + x % 26);
			}
		else
			for (i = 0; i < n; i++)
				in[i] = (unsigned char)textchars[test_rand(&rng) % (sizeof(textchars) - 1)];
		ct_run_chunk(CT_QP_ENC, MIMEO_ISA_AUTO, flags, in, n, 0, &whole);
		ct_run_random(CT_QP_ENC, MIMEO_ISA_AUTO, flags, in, n, 1 + (size_t)round, &rng, &enc);
		ct_expect(&enc, whole.out, whole.len, "qp encode chunking", MIMEO_ISA_AUTO, (size_t)round);
		for (i = 0; i < enc.len; i++) {
			unsigned char c = enc.out[i];

			if (c == '\n') {
				size_t before = (flags & MIMEO_QP_CRLF) ? 2 : 1;

				CT_CHECK(i >= before || !(flags & MIMEO_QP_BINARY), "hard break in binary");
				if (i >= before) {
					unsigned char prev = enc.out[i - before];

					CT_CHECK(prev != ' ' && prev != '\t', "trailing ws at %zu", i);
					/* binary mode: only soft line breaks */
					CT_CHECK(prev == '=' || !(flags & MIMEO_QP_BINARY),
						 "hard break in binary at %zu", i);
				}
				col = 0;
				continue;
			}
			if (c == '\r') {
				CT_CHECK(flags & MIMEO_QP_CRLF, "bad output at %zu", i);
				CT_CHECK(i + 1 < enc.len && enc.out[i + 1] == '\n', "bad output at %zu", i);
				CT_CHECK(i == 0 || (enc.out[i - 1] != ' ' && enc.out[i - 1] != '\t'), "bad output at %zu", i);
				continue;
			}
			CT_CHECK(c == ' ' || c == '\t' || (c >= 33 && c <= 126), "byte %02x", c);
			if ((flags & MIMEO_QP_MAILSAFE) && col == 0)
				CT_CHECK(c != '.' && c != 'F', "bad output at %zu", i);
			col++;
			CT_CHECK(col <= 76, "line too long");
		}
		if (enc.len)
			CT_CHECK(enc.out[enc.len - 1] != ' ' && enc.out[enc.len - 1] != '\t', "bad output at %zu", i);
		FOR_EACH_ISA(isa) {
			ct_run_random(CT_QP_DEC, isa, 0, enc.out, enc.len, 1 + (size_t)round * 3, &rng,
				      &dec);
			ct_expect(&dec, in, n, "qp round trip", isa, (size_t)round);
			ck_assert_uint_eq(dec.invalid, 0);
			ct_result_free(&dec);
			ct_run_chunk(CT_QP_DEC, isa, 0, enc.out, enc.len, 0, &dec);
			ct_expect(&dec, in, n, "qp round trip, one call", isa, (size_t)round);
			ct_result_free(&dec);
		}
		ct_result_free(&enc);
		ct_result_free(&whole);
		free(in);
	}
}
END_TEST

/* Any bytes at all: no crash, output within bounds (checked by the driver
 * for every step), same result for every chunking. */
START_TEST(decode_random_garbage)
{
	static const char alpha[] = "=\r\n \tA3dfG\x80";
	uint64_t rng = 17;
	int round;

	for (round = 0; round < 500; round++) {
		size_t n = (size_t)(test_rand(&rng) % 400), i;
		unsigned char *in = malloc(n + 1);
		ct_result a, b;

		for (i = 0; i < n; i++)
			in[i] = (unsigned char)(round & 1 ? alpha[test_rand(&rng) % (sizeof(alpha) - 1)]
						 : (unsigned char)test_rand(&rng));
		ct_run_chunk(CT_QP_DEC, MIMEO_ISA_SCALAR, 0, in, n, 0, &a);
		FOR_EACH_ISA(isa) {
			ct_run_chunk(CT_QP_DEC, isa, 0, in, n, 0, &b);
			ct_expect(&b, a.out, a.len, "qp garbage whole", isa, (size_t)round);
			CT_CHECK(a.invalid == b.invalid, "invalid count differs");
			ct_result_free(&b);
			ct_run_random(CT_QP_DEC, isa, 0, in, n, 1 + (size_t)(round % 9), &rng, &b);
			ct_expect(&b, a.out, a.len, "qp garbage chunking", isa, (size_t)round);
			CT_CHECK(a.invalid == b.invalid, "invalid count differs");
			ct_result_free(&b);
		}
		ct_result_free(&a);
		free(in);
	}
}
END_TEST

/* Long QP text with the cases the block kernel hands back (invalid '=',
 * '=' before whitespace, lone CR, whitespace before line breaks and at
 * block edges, escapes and soft breaks straddling 64-byte blocks): every
 * path, whole and in random pieces, equals the scalar path. */
START_TEST(differential_long_text)
{
	static const char *pieces[] = {
		"abc", "defgh ", "=C3=A9", "=3D", "=\n", "=\r\n", "  \n", " \t\r\n", "\n",
		"\r\n", "=4", "=G1", "= \n", "=  x", "\r", "word ", "\t", "==41", "=0a=0D",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "\xff\x80", " ", "=\r", "=e9=E9",
	};
	uint64_t rng = 123;
	int round;

	for (round = 0; round < 400; round++) {
		size_t cap = 6000, n = 0;
		char *in = malloc(cap + 64);
		unsigned mix = 1 + (unsigned)(test_rand(&rng) % 4);
		ct_result ref, r;

		while (n < cap - 64 && n < (size_t)(test_rand(&rng) % 6000) + 64) {
			/* mostly plain text and escapes, some trouble */
			size_t k = test_rand(&rng) % 100 < 85 - 15 * mix
					   ? test_rand(&rng) % 4 == 0 ? 19 : test_rand(&rng) % 3
					   : test_rand(&rng) % (sizeof(pieces) / sizeof(pieces[0]));

			memcpy(in + n, pieces[k], strlen(pieces[k]));
			n += strlen(pieces[k]);
		}
		ct_run_chunk(CT_QP_DEC, MIMEO_ISA_SCALAR, 0, in, n, 0, &ref);
		FOR_EACH_ISA(isa) {
			ct_run_chunk(CT_QP_DEC, isa, 0, in, n, 0, &r);
			ct_expect(&r, ref.out, ref.len, "qp long text whole", isa, (size_t)round);
			CT_CHECK(r.invalid == ref.invalid, "invalid count differs");
			ct_result_free(&r);
			ct_run_random(CT_QP_DEC, isa, 0, in, n, 1 + test_rand(&rng) % 300, &rng, &r);
			ct_expect(&r, ref.out, ref.len, "qp long text chunks", isa, (size_t)round);
			CT_CHECK(r.invalid == ref.invalid, "invalid count differs");
			ct_result_free(&r);
		}
		ct_result_free(&ref);
		free(in);
	}
}
END_TEST

/* Input ending right before an unmapped page: no path may read past it
 * (nor before it: the input also starts right after an unmapped page). */
START_TEST(no_read_outside_input)
{
	static const char text[] = "caf=C3=A9 =3D soft=\nline  \nx=\r\ny\r\nabc\t \r\n= \n=G";
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *map = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char src[800], out[MIMEO_QP_DECODE_BOUND(800)], enc[MIMEO_QP_ENCODE_BOUND(800)];
	size_t n, i;

	ck_assert(map != MAP_FAILED);
	ck_assert_int_eq(mprotect(map, (size_t)pg, PROT_NONE), 0);
	ck_assert_int_eq(mprotect(map + 2 * pg, (size_t)pg, PROT_NONE), 0);
	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)text[i % (sizeof(text) - 1)];
	for (n = 0; n <= 700; n++) {
		unsigned char *tail = map + 2 * pg - n, *head = map + pg;

		FOR_EACH_ISA(isa) {
			mimeo_qp_decoder d;
			mimeo_qp_encoder e;

			memcpy(tail, src, n);
			mimeo_qp_decoder_init(&d, isa);
			mimeo_qp_decode_step(&d, tail, n, out);
			memcpy(head, src, n);
			mimeo_qp_decoder_init(&d, isa);
			mimeo_qp_decode_step(&d, head, n, out);
			mimeo_qp_encoder_init(&e, 0, isa);
			mimeo_qp_encode_step(&e, tail, n, enc);
			/* every byte value: the escape-heavy block paths */
			for (i = 0; i < n; i++)
				tail[i] = (unsigned char)(i * 37 + n);
			mimeo_qp_encoder_init(&e, MIMEO_QP_CRLF, isa);
			mimeo_qp_encode_step(&e, tail, n, enc);
		}
	}
	munmap(map, (size_t)pg * 3);
}
END_TEST

static Suite *qp_suite(void)
{
	Suite *s = suite_create("qp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rfc2045_soft_break_example);
	tcase_add_test(tc, malformed_and_rules_table);
	tcase_add_test(tc, nul_bytes_pass);
	tcase_add_test(tc, long_whitespace_run_bounded);
	tcase_add_test(tc, encoder_rules);
	tcase_add_test(tc, encoder_line_length);
	tcase_add_test(tc, encoder_paths_agree);
	tcase_add_test(tc, encoder_block_edges);
	tcase_add_test(tc, encode_decode_round_trip);
	tcase_add_test(tc, decode_random_garbage);
	tcase_add_test(tc, differential_long_text);
	tcase_add_test(tc, no_read_outside_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(qp_suite());
}
