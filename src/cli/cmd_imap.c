/*
 * cmd_imap.c - `mimeo imap FILE`: the message's BODYSTRUCTURE and ENVELOPE
 * as an IMAP server sends them (mimeo/imap.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <string.h>

#define IMAP_USAGE "(usage: mimeo imap [--compat=dovecot] FILE)"

static int run_imap(int argc, char **argv)
{
	const char *path = NULL;
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_message *m;
	unsigned flags = 0;
	int i, rc = CLI_OK;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--compat=dovecot") == 0) {
			/* the structure Dovecot's IMAP server gives malformed
			 * mail (docs/imap.md, server-compatibility profile) */
			flags = MIMEO_PARSE_COMPAT_DOVECOT;
		} else if (strncmp(argv[i], "--compat=", 9) == 0) {
			cli_error("imap: unknown profile '%s' (known: dovecot) " IMAP_USAGE,
				  argv[i] + 9);
			return CLI_USAGE;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("imap: unknown option '%s' " IMAP_USAGE, argv[i]);
			return CLI_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			cli_error("imap: too many arguments " IMAP_USAGE);
			return CLI_USAGE;
		}
	}
	if (!path) {
		cli_error("imap: missing FILE " IMAP_USAGE);
		return CLI_USAGE;
	}
	m = cli_load_message_flags(path, flags);
	if (!m)
		return CLI_FAILURE;
	/* Exactly two lines; a literal inside a value carries its own CRLF
	 * and bytes, as in an IMAP FETCH response. */
	if (mimeo_buf_puts(&out, "BODYSTRUCTURE ") != MIMEO_OK ||
	    mimeo_imap_bodystructure(m, NULL, 0, &out) != MIMEO_OK ||
	    mimeo_buf_puts(&out, "\nENVELOPE ") != MIMEO_OK ||
	    mimeo_imap_envelope(m, NULL, &out) != MIMEO_OK ||
	    mimeo_buf_puts(&out, "\n") != MIMEO_OK) {
		cli_error("out of memory");
		rc = CLI_FAILURE;
	} else if (cli_write_stdout(out.ptr, out.size) < 0) {
		rc = CLI_FAILURE;
	}
	mimeo_buf_dispose(&out);
	mimeo_message_free(m);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_imap = {
	"imap", "imap [--compat=dovecot] FILE  BODYSTRUCTURE and ENVELOPE as an IMAP server sends them",
	run_imap
};
