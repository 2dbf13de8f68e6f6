/*
 * main.c - the mimeo command-line tool: subcommand dispatch.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Subcommands, in the order `mimeo --help` lists them.  Each component
 * declares its commands in commands.h and adds them here. */
static const cli_command *const commands[] = {
	&cli_cmd_ls,
	&cli_cmd_tree,
	&cli_cmd_headers,
	&cli_cmd_cat,
	&cli_cmd_extract,
	&cli_cmd_scan,
	&cli_cmd_decode,
	&cli_cmd_encode,
	&cli_cmd_build,
	&cli_cmd_to7bit,
	&cli_cmd_imap,
	&cli_cmd_pop3,
	&cli_cmd_version,
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: mimeo COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i]->synopsis);
	fprintf(out, "\nSee mimeo(1) for details.\n");
}

static int run_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mimeo %s\n", mimeo_version());
	return CLI_OK;
}

const cli_command cli_cmd_version = {
	"version", "version                  print the library version", run_version
};

/* Started with descriptor 0, 1 or 2 closed (`mimeo ... >&-`), the first
 * file a command opens would get that number: its standard output would go
 * into a saved attachment or a Maildir message.  Occupy each closed one
 * with /dev/null opened the wrong way round, so that reading stdin or
 * writing stdout fails (EBADF) and is reported, as with any failed write.
 * Returns -1 when that is impossible. */
static int hold_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
		if (got != fd) {
			if (got >= 0)
				close(got);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (hold_std_fds() < 0)
		return CLI_FAILURE;
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	/* Every command ends in cli_close_stdout: output that could not be
	 * written makes the status non-zero with one `mimeo:` line, even for
	 * a command that forgot to check (issue 11). */
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return cli_close_stdout(CLI_OK);
	}
	if (strcmp(argv[1], "--version") == 0)
		return cli_close_stdout(run_version(0, NULL));
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i]->name) == 0)
			return cli_close_stdout(commands[i]->run(argc - 1, argv + 1));
	}
	cli_error("unknown command '%s' (try 'mimeo --help')", argv[1]);
	return CLI_USAGE;
}
