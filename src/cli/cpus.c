/*
 * cpus.c - where the CLI's forked workers start (cpus.h says why).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE /* sched_getaffinity, sched_setaffinity, sched_getcpu */

#include "cpus.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
_Static_assert(sizeof(cpu_set_t) == sizeof(((cli_cpus *)0)->allowed),
	       "cli_cpus.allowed holds a cpu_set_t");
#endif

void cli_cpus_init(cli_cpus *c)
{
	memset(c, 0, sizeof(*c));
	c->here = -1;
#ifdef __linux__
	{
		cpu_set_t all;

		if (sched_getaffinity(0, sizeof(all), &all) == 0 && CPU_COUNT(&all) >= 2) {
			memcpy(c->allowed, &all, sizeof(all));
			c->here = sched_getcpu();
		}
	}
#endif
}

#ifdef __linux__
/* The CPU for worker k when its parent is on `here` (see cli_cpus_pick). */
static int pick_from(const cli_cpus *c, size_t k, int here)
{
	cpu_set_t all;
	int cpu, n = 0, want;

	memcpy(&all, c->allowed, sizeof(all));
	want = (int)((k - 1) % (size_t)(CPU_COUNT(&all) - 1));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &all) || cpu == here)
			continue;
		if (n++ == want)
			return cpu;
	}
	return -1;
}
#endif

int cli_cpus_here(const cli_cpus *c)
{
#ifdef __linux__
	if (c->here >= 0) {
		int cpu = sched_getcpu();

		return cpu >= 0 ? cpu : c->here;
	}
#else
	(void)c;
#endif
	return -1;
}

int cli_cpus_pick(const cli_cpus *c, size_t k)
{
#ifdef __linux__
	if (c->here >= 0 && k > 0)
		return pick_from(c, k, cli_cpus_here(c));
#else
	(void)c;
	(void)k;
#endif
	return -1;
}

void cli_cpus_leave(const cli_cpus *c, size_t k, int parent)
{
#ifdef __linux__
	if (c->here >= 0 && k > 0 && parent >= 0 && sched_getcpu() == parent)
		cli_cpus_place(getpid(), pick_from(c, k, parent));
#else
	(void)c;
	(void)k;
	(void)parent;
#endif
}

void cli_cpus_place(pid_t pid, int cpu)
{
#ifdef __linux__
	cpu_set_t one;

	if (cpu < 0 || pid <= 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	(void)sched_setaffinity(pid, sizeof(one), &one);
#else
	(void)pid;
	(void)cpu;
#endif
}

void cli_cpus_release(const cli_cpus *c, pid_t pid)
{
#ifdef __linux__
	cpu_set_t all;

	if (c->here < 0 || pid <= 0)
		return;
	memcpy(&all, c->allowed, sizeof(all));
	(void)sched_setaffinity(pid, sizeof(all), &all);
#else
	(void)c;
	(void)pid;
#endif
}
