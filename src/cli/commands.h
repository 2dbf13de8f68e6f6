/*
 * commands.h - the subcommands of the mimeo tool (not installed).
 * Each component adds its commands' declarations here and to main.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_COMMANDS_H
#define MIMEO_CLI_COMMANDS_H

#include "cli.h"

extern const cli_command cli_cmd_version;
/* codecs (issue 2): cmd_codec.c */
extern const cli_command cli_cmd_decode;
extern const cli_command cli_cmd_encode;
/* tree/CLI (issue 4): cmd_tree.c, cmd_scan.c */
extern const cli_command cli_cmd_tree;
extern const cli_command cli_cmd_cat;
extern const cli_command cli_cmd_extract;
extern const cli_command cli_cmd_scan;
/* header fields, decoded and parsed: cmd_headers.c */
extern const cli_command cli_cmd_headers;
extern const cli_command cli_cmd_pop3;
extern const cli_command cli_cmd_build;
extern const cli_command cli_cmd_to7bit;
/* whole mailboxes (issue 17): cmd_mailbox.c */
extern const cli_command cli_cmd_ls;
/* `extract --all FILE|DIR -o DIR`: every message's attachments into
 * DIR/<N>/ (with `expand`, the files inside TNEF parts and text bodies
 * instead of the opened TNEF parts), by `workers` processes (team.h);
 * returns the exit status */
int cli_extract_all(const char *path, const char *dir, int progress_mode, int expand,
		    size_t workers);
extern const cli_command cli_cmd_imap;

#endif
