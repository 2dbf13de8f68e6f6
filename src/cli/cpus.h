/*
 * cpus.h - where the CLI's forked workers start (scan -j, extract --all
 * -j; not installed).
 *
 * A forked worker starts on a CPU the process may use other than the one
 * it is on: on a busy machine the kernel often queued the new worker on
 * its parent's CPU (the other one was busy too, at any priority), and the
 * two shared it until the load balancer moved one (-j 2 measured no
 * faster than -j 1 then, in half the rounds).  The parent places the
 * worker right after fork(), before it has run: a worker that moved itself
 * first had to run where the kernel had queued it, often behind its
 * parent, and began 1.3 ms after the fork in the median (0.8 ms this way,
 * of a 100 MB scan's 10 ms with -j 2).  After its own first step the
 * parent lets it run on every CPU again (cli_cpus_release): it starts
 * there but is not held there, as a long run on a machine busy in other
 * ways may be better off elsewhere later.  Both calls are the parent's,
 * in this order, so a late placement cannot hold the worker.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_CPUS_H
#define MIMEO_CLI_CPUS_H

#include <stddef.h>
#include <sys/types.h>

/* The CPUs this process may run on (a `taskset` or cpuset of the
 * caller's is kept), and the one it is on. */
typedef struct cli_cpus {
	unsigned long allowed[1024 / (8 * sizeof(unsigned long))]; /* a cpu_set_t */
	int here;                /* -1: unknown, or a single CPU: workers are left to the kernel */
} cli_cpus;

/* Read them, once, before forking. */
void cli_cpus_init(cli_cpus *c);

/* The CPU forked worker k (1, 2, ...) starts on: round the others than
 * `here`; -1 to leave it to the kernel. */
int cli_cpus_pick(const cli_cpus *c, size_t k);

/* In the parent, right after fork(): worker `pid` runs on `cpu` only (a
 * no-op for -1). */
void cli_cpus_place(pid_t pid, int cpu);

/* In the parent, later: worker `pid` may run on every allowed CPU again. */
void cli_cpus_release(const cli_cpus *c, pid_t pid);

#endif
