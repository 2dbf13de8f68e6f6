/*
 * main.c - the mimeo command-line tool: subcommand dispatch.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>
#include <string.h>

/* Subcommands, in the order `mimeo --help` lists them.  Each component
 * declares its commands in commands.h and adds them here. */
static const cli_command *const commands[] = {
	&cli_cmd_tree,
	&cli_cmd_headers,
	&cli_cmd_cat,
	&cli_cmd_extract,
	&cli_cmd_scan,
	&cli_cmd_decode,
	&cli_cmd_encode,
	&cli_cmd_build,
	&cli_cmd_to7bit,
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

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
		return run_version(0, NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s' (try 'mimeo --help')", argv[1]);
	return CLI_USAGE;
}
