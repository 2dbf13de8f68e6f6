/*
 * test_transfer.c - Content-Transfer-Encoding parsing and the generic body
 * decoder the parser uses.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"
#include "codec_testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mimeo.h"

static const struct {
	const char *value;
	mimeo_cte cte;
} cte_table[] = {
	{ "base64", MIMEO_CTE_BASE64 },
	{ "BASE64", MIMEO_CTE_BASE64 },
	{ "  Base64 \r\n", MIMEO_CTE_BASE64 },
	{ "base64 (it is)", MIMEO_CTE_BASE64 },
	{ "(comment (nested \\) paren)) base64", MIMEO_CTE_BASE64 },
	{ "\"base64\"", MIMEO_CTE_BASE64 },
	{ "base64;", MIMEO_CTE_BASE64 },
	{ "quoted-printable", MIMEO_CTE_QP },
	{ "Quoted-Printable", MIMEO_CTE_QP },
	{ "7bit", MIMEO_CTE_7BIT },
	{ "7BIT", MIMEO_CTE_7BIT },
	{ "8bit", MIMEO_CTE_8BIT },
	{ "binary", MIMEO_CTE_BINARY },
	{ "x-uuencode", MIMEO_CTE_UUENCODE },
	{ "X-UUE", MIMEO_CTE_UUENCODE },
	{ "uuencode", MIMEO_CTE_UUENCODE },
	{ "uue", MIMEO_CTE_UUENCODE },
	{ "", MIMEO_CTE_NONE },
	{ "   ", MIMEO_CTE_NONE },
	{ "(only a comment)", MIMEO_CTE_NONE },
	{ "base-64", MIMEO_CTE_UNKNOWN },
	{ "base64x", MIMEO_CTE_UNKNOWN },
	{ "quoted", MIMEO_CTE_UNKNOWN },
	{ "x-gzip", MIMEO_CTE_UNKNOWN },
	{ "(unterminated base64", MIMEO_CTE_NONE },
};

START_TEST(cte_parse_table)
{
	size_t i;

	for (i = 0; i < sizeof(cte_table) / sizeof(cte_table[0]); i++) {
		const char *v = cte_table[i].value;

		ck_assert_msg(mimeo_cte_parse(v, strlen(v)) == cte_table[i].cte,
			      "'%s': got %d want %d", v, mimeo_cte_parse(v, strlen(v)),
			      cte_table[i].cte);
	}
	ck_assert_int_eq(mimeo_cte_parse(NULL, 0), MIMEO_CTE_NONE);
	/* length is honoured: no NUL needed */
	ck_assert_int_eq(mimeo_cte_parse("base64xyz", 6), MIMEO_CTE_BASE64);
}
END_TEST

START_TEST(cte_names_round_trip)
{
	mimeo_cte c;

	for (c = MIMEO_CTE_7BIT; c < MIMEO_CTE_UNKNOWN; c = (mimeo_cte)(c + 1)) {
		const char *n = mimeo_cte_name(c);

		ck_assert_int_eq(mimeo_cte_parse(n, strlen(n)), c);
	}
	ck_assert_str_eq(mimeo_cte_name(MIMEO_CTE_QP), "quoted-printable");
	ck_assert_str_eq(mimeo_cte_name(MIMEO_CTE_UUENCODE), "x-uuencode");
	ck_assert_str_eq(mimeo_cte_name(MIMEO_CTE_NONE), "");
	ck_assert_str_eq(mimeo_cte_name(MIMEO_CTE_UNKNOWN), "unknown");
}
END_TEST

START_TEST(decoder_per_encoding)
{
	static const char b64[] = "SGVs\r\nbG8=\r\n!";
	static const char qp[] = "H=C3=A9llo =\r\nworld=ZZ \r\n";
	static const char uu[] = "begin 644 c\n#0V%T\n`\nend\n";
	static const char raw[] = "any =3D bytes\r\n\xff";
	size_t s;

	for (s = 0; s < 30; s++) {
		ct_result r;
		size_t cut = s;

		ct_run_cuts(CT_XFER_B64, MIMEO_ISA_AUTO, 0, b64, strlen(b64), &cut, 1, &r);
		ct_expect(&r, "Hello", 5, "transfer base64", MIMEO_ISA_AUTO, s);
		ck_assert_uint_eq(r.invalid, 1);
		ct_result_free(&r);
		ct_run_cuts(CT_XFER_QP, MIMEO_ISA_AUTO, 0, qp, strlen(qp), &cut, 1, &r);
		ct_expect(&r, "H\xc3\xa9llo world=ZZ\r\n", 17, "transfer qp", MIMEO_ISA_AUTO, s);
		ck_assert_uint_eq(r.invalid, 1);
		ct_result_free(&r);
		ct_run_cuts(CT_XFER_UU, MIMEO_ISA_AUTO, 0, uu, strlen(uu), &cut, 1, &r);
		ct_expect(&r, "Cat", 3, "transfer uu", MIMEO_ISA_AUTO, s);
		ct_result_free(&r);
		ct_run_cuts(CT_XFER_IDENTITY, MIMEO_ISA_AUTO, 0, raw, strlen(raw), &cut, 1, &r);
		ct_expect(&r, raw, strlen(raw), "transfer identity", MIMEO_ISA_AUTO, s);
		ck_assert_uint_eq(r.invalid, 0);
		ct_result_free(&r);
	}
}
END_TEST

/* Identity for none/7bit/8bit/binary/unknown; finish writes nothing. */
START_TEST(identity_encodings)
{
	static const mimeo_cte ids[] = { MIMEO_CTE_NONE, MIMEO_CTE_7BIT, MIMEO_CTE_8BIT,
					 MIMEO_CTE_BINARY, MIMEO_CTE_UNKNOWN };
	unsigned char out[MIMEO_TRANSFER_DECODE_BOUND(10)];
	size_t i;

	for (i = 0; i < 5; i++) {
		mimeo_transfer_decoder d;

		mimeo_transfer_decoder_init(&d, ids[i], MIMEO_ISA_AUTO);
		ck_assert_int_eq(d.cte, ids[i]);
		ck_assert_uint_eq(mimeo_transfer_decode_step(&d, "=41 \r\nZg==", 10, out), 10);
		ck_assert_mem_eq(out, "=41 \r\nZg==", 10);
		ck_assert_uint_eq(mimeo_transfer_decode_step(&d, "", 0, out), 0);
		ck_assert_uint_eq(mimeo_transfer_decode_finish(&d, out), 0);
		ck_assert_uint_eq(mimeo_transfer_decoder_invalid(&d), 0);
	}
}
END_TEST

/* The one bound macro holds for every encoding on hostile input (the
 * driver checks every step against the bound and finish against 64). */
START_TEST(bound_holds_for_every_encoding)
{
	static const ct_codec codecs[] = { CT_XFER_B64, CT_XFER_QP, CT_XFER_UU, CT_XFER_IDENTITY };
	static const char alpha[] = "begin 644 x\n=\r\n \t_M`ZZg0";
	uint64_t rng = 8;
	int round;

	for (round = 0; round < 400; round++) {
		size_t n = (size_t)(test_rand(&rng) % 1000), i, c;
		char *in = malloc(n + 1);

		for (i = 0; i < n; i++)
			in[i] = alpha[test_rand(&rng) % (sizeof(alpha) - 1)];
		if (n > 12)
			memcpy(in, "begin 644 x\n", 12);
		for (c = 0; c < 4; c++) {
			ct_result r;

			ct_run_random(codecs[c], MIMEO_ISA_AUTO, 0, in, n, 1 + (size_t)round % 100, &rng,
				      &r);
			ct_result_free(&r);
		}
		free(in);
	}
	/* uuencode's worst case: a whole 63-byte line completed by one byte */
	{
		static const char line[] = "begin 644 x\n_" "0000000000000000000000000000000000000000"
					   "00000000000000000000000000000000000000000000";
		ct_result r;
		size_t cuts[1] = { strlen(line) };

		ct_run_cuts(CT_XFER_UU, MIMEO_ISA_AUTO, 0, line, strlen(line), cuts, 1, &r);
		ck_assert_uint_eq(r.len, 63);
		ct_result_free(&r);
	}
}
END_TEST

/* Run a shell command line; return its exit status (or -1). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The `mimeo decode` / `mimeo encode` commands on the bundled sample. */
START_TEST(cli_decode_encode)
{
	const char *cli = getenv("MIMEO_CLI");
	char sample[1024], dir[] = "/tmp/mimeo-codec-XXXXXX", png[1100], b64[1100];
	size_t len;
	char *data;

	if (!cli) {
		/* Run outside meson: nothing to test against. */
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sample, sizeof(sample), "%s/tests/data/sample-attachment.b64", test_source_dir());
	snprintf(png, sizeof(png), "%s/a.png", dir);
	snprintf(b64, sizeof(b64), "%s/a.b64", dir);
	ck_assert_int_eq(sh("%s decode base64 %s > %s", cli, sample, png), 0);
	data = test_read_file(png, &len);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_gt(len, 100);
	ck_assert_mem_eq(data, "\x89PNG\r\n\x1a\n", 8);
	free(data);
	/* 76-column LF base64 of the same bytes is the sample itself */
	ck_assert_int_eq(sh("%s encode base64 %s > %s", cli, png, b64), 0);
	ck_assert_int_eq(sh("cmp -s %s %s", sample, b64), 0);
	/* qp round trip through stdin, CRLF and mail-safe */
	ck_assert_int_eq(sh("%s encode qp --crlf --mail-safe %s > %s.qp", cli, png, png), 0);
	ck_assert_int_eq(sh("%s decode qp %s.qp | cmp -s - %s", cli, png, png), 0);
	/* usage errors exit 2, a uu input without a begin line exits 1 */
	ck_assert_int_eq(sh("%s decode rot13 %s 2>/dev/null", cli, png), 2);
	ck_assert_int_eq(sh("%s encode base64 --mail-safe %s 2>/dev/null", cli, png), 2);
	ck_assert_int_eq(sh("echo hello | %s decode uu 2>/dev/null", cli), 1);
	ck_assert_int_eq(sh("%s decode base64 %s/missing 2>/dev/null", cli, dir), 1);
	sh("rm -rf %s", dir);
}
END_TEST

static Suite *transfer_suite(void)
{
	Suite *s = suite_create("transfer");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cte_parse_table);
	tcase_add_test(tc, cte_names_round_trip);
	tcase_add_test(tc, decoder_per_encoding);
	tcase_add_test(tc, identity_encodings);
	tcase_add_test(tc, bound_holds_for_every_encoding);
	tcase_add_test(tc, cli_decode_encode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(transfer_suite());
}
