/*
 * cmd_codec.c - `mimeo decode base64|qp|uu [FILE]` and
 * `mimeo encode base64|qp [--crlf] [--mail-safe] [FILE]`: stream FILE (or
 * standard input) through a transfer-encoding codec to standard output.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 65536

static int codec_usage(void)
{
	cli_error("usage: mimeo decode base64|qp|uu [FILE]\n"
		  "       mimeo encode base64|qp [--crlf] [--mail-safe] [FILE]");
	return CLI_USAGE;
}

/* A codec's step (up to CHUNK bytes in; the output fits the bound given
 * to pump) and finish, over its state `st`. */
typedef size_t (*step_fn)(void *st, const void *in, size_t n, void *out);
typedef size_t (*finish_fn)(void *st, void *out);

/* Stream FILE through a codec to standard output: CHUNK-sized reads
 * through `step`, then `finish`.  CLI_OK, or CLI_FAILURE after printing
 * one line. */
static int pump(const char *path, size_t outcap, step_fn step, finish_fn finish, void *st)
{
	unsigned char *in, *out;
	cli_input input;
	ssize_t n;
	int rc = CLI_OK;

	if (cli_input_open(&input, path) < 0)
		return CLI_FAILURE;
	in = malloc(CHUNK);
	out = malloc(outcap);
	if (!in || !out) {
		cli_error("out of memory");
		rc = CLI_FAILURE;
		goto done;
	}
	while ((n = cli_input_read(&input, in, CHUNK)) > 0) {
		if (cli_write_stdout(out, step(st, in, (size_t)n, out)) < 0) {
			rc = CLI_FAILURE;
			break;
		}
	}
	if (n < 0)
		rc = CLI_FAILURE;
	if (rc == CLI_OK && cli_write_stdout(out, finish(st, out)) < 0)
		rc = CLI_FAILURE;
done:
	free(in);
	free(out);
	cli_input_close(&input);
	return rc;
}

/* The codecs in pump's shape. */
static size_t decode_step(void *st, const void *in, size_t n, void *out)
{
	return mimeo_transfer_decode_step(st, in, n, out);
}

static size_t decode_finish(void *st, void *out)
{
	return mimeo_transfer_decode_finish(st, out);
}

static size_t b64_step(void *st, const void *in, size_t n, void *out)
{
	return mimeo_b64_encode_step(st, in, n, out);
}

static size_t b64_finish(void *st, void *out)
{
	return mimeo_b64_encode_finish(st, out);
}

static size_t qp_step(void *st, const void *in, size_t n, void *out)
{
	return mimeo_qp_encode_step(st, in, n, out);
}

static size_t qp_finish(void *st, void *out)
{
	return mimeo_qp_encode_finish(st, out);
}

static int run_decode(int argc, char **argv)
{
	const char *path = "-";
	mimeo_transfer_decoder d;
	mimeo_cte cte;
	int rc;

	if (argc < 2 || argc > 3)
		return codec_usage();
	if (strcmp(argv[1], "base64") == 0)
		cte = MIMEO_CTE_BASE64;
	else if (strcmp(argv[1], "qp") == 0 || strcmp(argv[1], "quoted-printable") == 0)
		cte = MIMEO_CTE_QP;
	else if (strcmp(argv[1], "uu") == 0 || strcmp(argv[1], "uuencode") == 0)
		cte = MIMEO_CTE_UUENCODE;
	else
		return codec_usage();
	if (argc == 3)
		path = argv[2];
	mimeo_transfer_decoder_init(&d, cte, MIMEO_ISA_AUTO);
	rc = pump(path, MIMEO_TRANSFER_DECODE_BOUND(CHUNK), decode_step, decode_finish, &d);
	if (rc == CLI_OK && mimeo_transfer_decoder_invalid(&d) > 0)
		cli_error("warning: %s: %llu invalid %s skipped or kept literally", path,
			  (unsigned long long)mimeo_transfer_decoder_invalid(&d),
			  cte == MIMEO_CTE_UUENCODE ? "lines" : "bytes");
	if (rc == CLI_OK && cte == MIMEO_CTE_UUENCODE && !d.u.uu.began) {
		cli_error("%s: no uuencoded block (\"begin MODE NAME\" line) found", path);
		rc = CLI_FAILURE;
	}
	return rc;
}

static int run_encode(int argc, char **argv)
{
	const char *path = "-";
	int crlf = 0, mailsafe = 0, b64, i, have_path = 0;
	mimeo_b64_encoder be;
	mimeo_qp_encoder qe;

	if (argc < 2)
		return codec_usage();
	if (strcmp(argv[1], "base64") == 0)
		b64 = 1;
	else if (strcmp(argv[1], "qp") == 0 || strcmp(argv[1], "quoted-printable") == 0)
		b64 = 0;
	else
		return codec_usage();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--crlf") == 0) {
			crlf = 1;
		} else if (strcmp(argv[i], "--mail-safe") == 0) {
			mailsafe = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cli_error("unknown option '%s'", argv[i]);
			return codec_usage();
		} else if (!have_path) {
			path = argv[i];
			have_path = 1;
		} else {
			return codec_usage();
		}
	}
	if (b64 && mailsafe) {
		cli_error("--mail-safe applies to qp only (base64 output is always mail-safe)");
		return CLI_USAGE;
	}
	if (b64) {
		mimeo_b64_encoder_init(&be, crlf ? MIMEO_B64_CRLF : 0, MIMEO_ISA_AUTO);
		return pump(path, MIMEO_B64_ENCODE_BOUND(CHUNK), b64_step, b64_finish, &be);
	}
	mimeo_qp_encoder_init(&qe, (crlf ? MIMEO_QP_CRLF : 0) | (mailsafe ? MIMEO_QP_MAILSAFE : 0),
			      MIMEO_ISA_AUTO);
	return pump(path, MIMEO_QP_ENCODE_BOUND(CHUNK), qp_step, qp_finish, &qe);
}

const cli_command cli_cmd_decode = {
	"decode", "decode base64|qp|uu [FILE]  transfer-decode FILE or stdin to stdout", run_decode
};

const cli_command cli_cmd_encode = {
	"encode", "encode base64|qp [--crlf] [--mail-safe] [FILE]  transfer-encode to stdout",
	run_encode
};
