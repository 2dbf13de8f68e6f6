/*
 * team.h - a command's messages done by several processes, with the
 * output of one (not installed).
 *
 * The messages 1..n of a mailbox are cut into contiguous groups of about
 * equal bytes, one per worker.  Worker 1 is this process; the others are
 * forked.  Each worker does its group as the command alone would, writing
 * to stdout and stderr as usual: worker 1's lines go out at once, a forked
 * worker's go to two unlinked temporary files that worker 1 copies out
 * after its own group, worker by worker.  So stdout and stderr carry the
 * same lines in the same order for every number of workers (only their
 * interleaving with each other differs), and memory stays bounded however
 * much a worker prints.  Data worker 1 needs from the others (beyond
 * counts) goes through a third file (cli_team_side, the ops' gather).
 *
 * A worker that dies (a signal, or an exit before its report) is said on
 * stderr with the messages it had; what it printed before is copied out,
 * and the run fails.  A forked worker dies with worker 1
 * (PR_SET_PDEATHSIG).  A worker that cannot be set up (fork or a
 * temporary file failed) is done by worker 1 in its turn.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_TEAM_H
#define MIMEO_CLI_TEAM_H

#include "cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_team_worker cli_team_worker;

/*
 * Two ways to cut the groups:
 *  - by message: the messages 1..n are known before (an index of the
 *    whole mailbox); `size` gives their bytes, and the groups are runs of
 *    messages of about equal bytes;
 *  - by byte range (`open_range` set): the file is cut into ranges of
 *    equal bytes, and each worker opens (indexes) its own range at the
 *    same time as the others, for a large mbox whose index alone would
 *    be a serial tenth of the run.  A worker learns how many messages
 *    come before its range from the worker before it, through a pipe (a
 *    relay: end of file there means that worker failed, so nothing
 *    waits for a dead worker), and passes its own total on before it
 *    starts its work.
 */
typedef struct cli_team_ops {
	/* By message: the bytes of message i (1-based).  NULL by range. */
	uint64_t (*size)(void *ctx, size_t i);
	/* By range: open the messages that start in [offset, offset +
	 * length) (the last range runs to UINT64_MAX); returns how many, or
	 * -1 after saying why.  `work` then gets them as first..last,
	 * numbered in the whole file.  NULL by message. */
	long (*open_range)(void *ctx, uint64_t offset, uint64_t length);
	/* Do messages first..last; call cli_team_done() after each.  Returns
	 * CLI_OK or CLI_FAILURE (said on stderr).  Runs in a forked copy of
	 * the process for workers 2..N: what it keeps in `ctx` stays there;
	 * put what worker 1 needs into cli_team_side(). */
	int (*work)(void *ctx, cli_team_worker *w, size_t first, size_t last);
	/* Worker 1 reads one worker's side file (after copying its output);
	 * CLI_OK or CLI_FAILURE (said).  NULL: no side data. */
	int (*gather)(void *ctx, FILE *side);
} cli_team_ops;

/* What a run did, added up over the workers. */
typedef struct cli_team_result {
	size_t unreadable;     /* messages given to cli_team_done as unreadable */
	int status;            /* CLI_OK, or CLI_FAILURE (said on stderr) */
} cli_team_result;

/* Run messages 1..n (by message) or the `total` bytes of a file (by
 * range) with up to `workers` processes; fewer when the groups would be
 * under `min_bytes` (or there are fewer messages).  `prog` (started by
 * the caller, ended by it) is drawn by worker 1 with all workers' bytes
 * and messages.  `what` names the command in messages. */
void cli_team_run(const cli_team_ops *ops, void *ctx, size_t n, uint64_t total,
		  size_t workers, uint64_t min_bytes, cli_progress *prog, const char *what,
		  cli_team_result *res);

/* Message done: `bytes` of input, `unreadable` 1 when it could not be read
 * (said on stderr by the worker).  Draws the progress in worker 1. */
void cli_team_done(cli_team_worker *w, uint64_t bytes, int unreadable);

/* Where a forked worker puts data for ops->gather; NULL in worker 1
 * (its `ctx` is the one gather fills). */
FILE *cli_team_side(cli_team_worker *w);

/* The default number of workers: the cores online. */
size_t cli_team_cores(void);

#endif
