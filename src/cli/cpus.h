/*
 * cpus.h - where the CLI's forked workers start (scan -j, extract --all
 * -j; not installed).
 *
 * A forked worker starts on a CPU the process may use other than the one
 * its parent is on: on a busy machine the kernel often queued the new
 * worker on its parent's CPU (the other one was busy too, at any
 * priority), and the two shared it until the load balancer moved one (-j
 * 2 measured no faster than -j 1 then, in half the rounds).  The parent
 * places the worker right after fork(), before it has run: a worker that
 * moved itself first had to run where the kernel had queued it, often
 * behind its parent, and began 1.3 ms after the fork in the median (0.8
 * ms this way, of a 100 MB scan's 10 ms with -j 2).  The CPU is chosen
 * after the fork, from where the parent is then: the parent itself moved
 * during fork() in about one run in five on a KVM guest whose kernel packs
 * tasks onto few CPUs, and a choice made before it put both on one CPU
 * (the parent's first step then came 1-8 ms late).  A worker that runs
 * before its parent has placed it, on its parent's CPU, moves itself at
 * once (cli_cpus_leave): it has the CPU then, and its parent is the one
 * waiting.  After its own first step the parent lets the workers run on
 * every CPU again (cli_cpus_release): they start there but are not held
 * there, as a long run on a machine busy in other ways may be better off
 * elsewhere later.
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

/* The CPU this process is on now (-1: workers are left to the kernel). */
int cli_cpus_here(const cli_cpus *c);

/* In the parent, right after fork(): the CPU forked worker k (1, 2, ...)
 * starts on, round the others than the one the parent is on now; -1 to
 * leave it to the kernel. */
int cli_cpus_pick(const cli_cpus *c, size_t k);

/* In forked worker k, first thing: when it runs on `parent`, the CPU its
 * parent was on when it forked (cli_cpus_here before fork()), it moves
 * to the CPU cli_cpus_pick gives from there. */
void cli_cpus_leave(const cli_cpus *c, size_t k, int parent);

/* In the parent, right after fork(): worker `pid` runs on `cpu` only (a
 * no-op for -1). */
void cli_cpus_place(pid_t pid, int cpu);

/* In the parent, later: worker `pid` may run on every allowed CPU again. */
void cli_cpus_release(const cli_cpus *c, pid_t pid);

#endif
