/*
 * outdir.h - saving files into one output folder safely (not installed).
 *
 * Every command that writes files named by a message (`extract`, and
 * whatever saves attachments next) goes through this, so they all keep the
 * same promises (docs/cli-safety.md):
 *  - a file appears under its final name only when all of its bytes were
 *    written: it is written to a temporary name in DIR and linked into
 *    place when complete; on any failure the temporary file is removed;
 *  - nothing outside DIR is written, no symbolic link is followed and no
 *    existing file is replaced: a taken name becomes name-1.ext,
 *    name-2.ext, ... found in time linear in the number of files saved
 *    (the next suffix is remembered per name);
 *  - a failure is reported (one `mimeo:` line) and the caller goes on with
 *    the next file; cli_outdir_close() then lists what was not saved and
 *    returns a non-zero status.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_OUTDIR_H
#define MIMEO_CLI_OUTDIR_H

#include <stddef.h>

typedef struct cli_outdir cli_outdir;

/* Where the bytes of one file go: returns 0, or -1 with errno set. */
typedef int (*cli_outdir_write_fn)(const void *buf, size_t len, void *sink);

/* Produce the bytes of one file by calling `write(sink, buf, len)` as often
 * as needed.  Return 0 when done, or -1 when it failed: -1 after `write`
 * returned -1 (cli_outdir_save reports the write error), or -1 after
 * printing its own one-line error (e.g. a body that cannot be decoded). */
typedef int (*cli_outdir_produce_fn)(void *ctx, cli_outdir_write_fn write, void *sink);

/* Create DIR if missing (one level, like mkdir) and open it.  `cmd` names
 * the command in messages ("extract").  NULL after printing an error. */
cli_outdir *cli_outdir_open(const char *dir, const char *cmd);

/* Save one file.  `name` is the untrusted name from the message (NULL or
 * "" for none): it goes through mimeo_filename_sanitize() here.  `label`
 * says which file this is in error messages and in the failure list (e.g.
 * the MIME section "1.2"; NULL: the sanitised name).  On success prints
 * "DIR/used-name" on standard output and returns 0; on failure prints one
 * `mimeo:` line, leaves nothing behind in DIR, remembers the failure and
 * returns -1: the caller goes on with the next file. */
int cli_outdir_save(cli_outdir *d, const char *name, const char *label,
		    cli_outdir_produce_fn produce, void *ctx);

/* Save `len` bytes from memory (cli_outdir_save with a trivial producer). */
int cli_outdir_save_buf(cli_outdir *d, const char *name, const char *label,
			const void *data, size_t len);

/* Files saved and files that failed so far. */
size_t cli_outdir_saved(const cli_outdir *d);
size_t cli_outdir_failed(const cli_outdir *d);

/* Close DIR and free `d` (NULL is fine).  When any save failed, prints one
 * line "mimeo: CMD: N of M files not saved: LABEL, LABEL, ..." and returns
 * CLI_FAILURE; otherwise CLI_OK. */
int cli_outdir_close(cli_outdir *d);

#endif
