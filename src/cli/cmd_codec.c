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

/* Buffers for one streaming run: input chunk and worst-case output. */
typedef struct codec_bufs {
	unsigned char *in, *out;
} codec_bufs;

static int bufs_alloc(codec_bufs *b, size_t outcap)
{
	b->in = malloc(CHUNK);
	b->out = malloc(outcap);
	if (!b->in || !b->out) {
		free(b->in);
		free(b->out);
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

static void bufs_free(codec_bufs *b)
{
	free(b->in);
	free(b->out);
}

static int run_decode(int argc, char **argv)
{
	const char *path = "-";
	mimeo_transfer_decoder d;
	mimeo_cte cte;
	cli_input in;
	codec_bufs b;
	ssize_t n;
	size_t got;
	int rc = CLI_OK;

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
	if (cli_input_open(&in, path) < 0)
		return CLI_FAILURE;
	if (bufs_alloc(&b, MIMEO_TRANSFER_DECODE_BOUND(CHUNK)) < 0) {
		cli_input_close(&in);
		return CLI_FAILURE;
	}
	mimeo_transfer_decoder_init(&d, cte, MIMEO_ISA_AUTO);
	while ((n = cli_input_read(&in, b.in, CHUNK)) > 0) {
		got = mimeo_transfer_decode_step(&d, b.in, (size_t)n, b.out);
		if (cli_write_stdout(b.out, got) < 0) {
			rc = CLI_FAILURE;
			break;
		}
	}
	if (n < 0)
		rc = CLI_FAILURE;
	if (rc == CLI_OK) {
		got = mimeo_transfer_decode_finish(&d, b.out);
		if (cli_write_stdout(b.out, got) < 0)
			rc = CLI_FAILURE;
	}
	if (rc == CLI_OK && mimeo_transfer_decoder_invalid(&d) > 0)
		cli_error("warning: %s: %llu invalid %s skipped or kept literally", in.name,
			  (unsigned long long)mimeo_transfer_decoder_invalid(&d),
			  cte == MIMEO_CTE_UUENCODE ? "lines" : "bytes");
	if (rc == CLI_OK && cte == MIMEO_CTE_UUENCODE && !d.u.uu.began) {
		cli_error("%s: no uuencoded block (\"begin MODE NAME\" line) found", in.name);
		rc = CLI_FAILURE;
	}
	bufs_free(&b);
	cli_input_close(&in);
	return rc;
}

static int run_encode(int argc, char **argv)
{
	const char *path = "-";
	int crlf = 0, mailsafe = 0, b64, i;
	cli_input in;
	codec_bufs b;
	mimeo_b64_encoder be;
	mimeo_qp_encoder qe;
	ssize_t n;
	size_t got;
	int rc = CLI_OK, have_path = 0;

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
	if (cli_input_open(&in, path) < 0)
		return CLI_FAILURE;
	if (bufs_alloc(&b, b64 ? MIMEO_B64_ENCODE_BOUND(CHUNK) : MIMEO_QP_ENCODE_BOUND(CHUNK)) < 0) {
		cli_input_close(&in);
		return CLI_FAILURE;
	}
	if (b64)
		mimeo_b64_encoder_init(&be, crlf ? MIMEO_B64_CRLF : 0, MIMEO_ISA_AUTO);
	else
		mimeo_qp_encoder_init(&qe, (crlf ? MIMEO_QP_CRLF : 0) |
					   (mailsafe ? MIMEO_QP_MAILSAFE : 0), MIMEO_ISA_AUTO);
	while ((n = cli_input_read(&in, b.in, CHUNK)) > 0) {
		got = b64 ? mimeo_b64_encode_step(&be, b.in, (size_t)n, b.out)
			  : mimeo_qp_encode_step(&qe, b.in, (size_t)n, b.out);
		if (cli_write_stdout(b.out, got) < 0) {
			rc = CLI_FAILURE;
			break;
		}
	}
	if (n < 0)
		rc = CLI_FAILURE;
	if (rc == CLI_OK) {
		got = b64 ? mimeo_b64_encode_finish(&be, b.out) : mimeo_qp_encode_finish(&qe, b.out);
		if (cli_write_stdout(b.out, got) < 0)
			rc = CLI_FAILURE;
	}
	bufs_free(&b);
	cli_input_close(&in);
	return rc;
}

const cli_command cli_cmd_decode = {
	"decode", "decode base64|qp|uu [FILE]  transfer-decode FILE or stdin to stdout", run_decode
};

const cli_command cli_cmd_encode = {
	"encode", "encode base64|qp [--crlf] [--mail-safe] [FILE]  transfer-encode to stdout",
	run_encode
};
