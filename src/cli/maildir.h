/*
 * maildir.h - delivering files into a Maildir (qmail's maildir(5)): the
 * tmp/ -> new/ steps `mimeo pop3` uses (not installed).  What to deliver
 * and when (the UIDL state) stays with the command.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_MAILDIR_H
#define MIMEO_CLI_MAILDIR_H

#include <stddef.h>

/* The suffix of every file name we create in tmp/ and new/, so that a
 * run only ever cleans up its own files. */
#define CLI_MAILDIR_SUFFIX ".mimeo-pop3"

/* "a/b" or "a/b/c" (c may be NULL), malloc'd; NULL after printing "out of
 * memory". */
char *cli_maildir_path(const char *a, const char *b, const char *c);

/* fsync a folder, so that a rename in it survives a crash; 0 or -1. */
int cli_maildir_sync_dir(const char *path);

/* Create DIR and DIR/tmp, DIR/new, DIR/cur as needed (mode 0700); 0, or
 * -1 after printing an error. */
int cli_maildir_create(const char *dir);

/* A name no other delivery uses: time, microseconds, pid, `counter`,
 * host (maildir(5)), ending in CLI_MAILDIR_SUFFIX. */
void cli_maildir_unique_name(char *out, size_t n, unsigned long counter);

/* 1 when `name` is one of ours (CLI_MAILDIR_SUFFIX). */
int cli_maildir_is_ours(const char *name);

/* Move DIR/tmp/NAME to DIR/new/NAME (not synced: call
 * cli_maildir_sync_dir on DIR/new after a batch).  0, or -1 with errno. */
int cli_maildir_move_new(const char *dir, const char *name);

#endif
