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
extern const cli_command cli_cmd_pop3;

#endif
