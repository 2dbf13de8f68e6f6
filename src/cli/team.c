/*
 * team.c - a command's messages done by several processes (see team.h).
 *
 * Why processes and contiguous groups: the work is decoding and writing
 * files, which shares nothing between messages but the output order, so
 * fixed groups cut by bytes keep the run as simple as one worker's (no
 * work taken from each other, no locks), and each worker's lines can be
 * printed as one block in its turn.  Processes, not threads: each has its
 * own page tables for the mapped mailbox and the files it writes (the
 * reason in cmd_scan.c, measured there), its own stdio, and the library's
 * per-object state needs no thought about sharing.  Waiting: worker 1
 * polls a pipe whose write end only worker k holds: end of file is the
 * moment k exited (no sleeping loop adding latency to a 50 ms run), and
 * a timeout redraws the progress.  By range, the count of messages
 * before a worker's range goes from worker to worker over a socket (a
 * chain, not a barrier in shared memory: a worker that dies closes its
 * end, so the next one learns it at once instead of waiting forever).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkostemp */
#endif
#include "team.h"

#include "cpus.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* One worker's figures, in memory shared by all workers. */
typedef struct team_report {
	atomic_uint_fast64_t bytes;      /* input bytes done (progress) */
	atomic_uint_fast64_t messages;   /* messages done (progress) */
	atomic_size_t unreadable;        /* messages that could not be read */
	size_t first, last;              /* its messages, once known (last 0: none) */
	int status;                      /* its work's CLI_OK / CLI_FAILURE */
	int no_base;                     /* by range: the worker before it failed */
	int output_lost;                 /* its output files could not be written */
	int finished;                    /* set last: the report is complete */
} team_report;

/* One group of messages and the worker doing it. */
typedef struct team_member {
	size_t first, last;    /* messages, 1-based, inclusive (by range: once known) */
	uint64_t offset, length; /* by range: its bytes */
	pid_t pid;             /* forked worker; 0: worker 1 does the group */
	int out, err, side;    /* its stdout, stderr and side files, or -1 */
	int alive[2];          /* pipe: only the worker holds alive[1] */
	int relay_in;          /* by range: messages before it, from the one before */
	int relay_out;         /* by range: its total, to the one after */
} team_member;

typedef struct team {
	const cli_team_ops *ops;
	void *ctx;
	team_member *m;
	team_report *reports;  /* shared mapping, one per member */
	size_t n;              /* members (groups) */
	cli_progress *prog;
	const char *what;
	int ranged;            /* cut by byte range (ops->open_range) */
	uint64_t total;        /* by range: the file's bytes */
	int kill;              /* test hook: this worker kills itself (1-based) */
	int kill_at_open;      /* ... right after opening its range */
	int placed;            /* forked workers are held on their first CPU */
	cli_cpus cpus;         /* where workers may run */
} team;

struct cli_team_worker {
	team *t;
	size_t index;          /* the member it works for */
	int forked;            /* 1 in a forked worker */
	FILE *side;
};

size_t cli_team_cores(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	return cores > 0 ? (size_t)cores : 1;
}

/* ------------------------------------------------------------------ */
/* progress and reports                                                */
/* ------------------------------------------------------------------ */

static void release_workers(team *t);

static void draw_progress(team *t)
{
	uint64_t bytes = 0, messages = 0;
	size_t k;

	for (k = 0; k < t->n; k++) {
		bytes += atomic_load_explicit(&t->reports[k].bytes, memory_order_relaxed);
		messages += atomic_load_explicit(&t->reports[k].messages, memory_order_relaxed);
	}
	cli_progress_update(t->prog, bytes, messages);
}

void cli_team_done(cli_team_worker *w, uint64_t bytes, int unreadable)
{
	team_report *r = &w->t->reports[w->index];

	atomic_fetch_add_explicit(&r->bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->messages, 1, memory_order_relaxed);
	if (unreadable)
		atomic_fetch_add_explicit(&r->unreadable, 1, memory_order_relaxed);
	if (!w->forked) {
		release_workers(w->t);
		draw_progress(w->t);
	}
	else if (w->t->kill == (int)w->index + 1)
		raise(SIGKILL); /* MIMEO_TEAM_KILL_WORKER: the tests' dying worker */
}

FILE *cli_team_side(cli_team_worker *w)
{
	return w->side;
}

/* ------------------------------------------------------------------ */
/* cutting the groups                                                  */
/* ------------------------------------------------------------------ */

/* How many workers for n messages of `total` bytes: at most `want`, one
 * message and `min_bytes` at least each. */
static size_t team_size(size_t n, uint64_t total, size_t want, uint64_t min_bytes)
{
	uint64_t by_bytes = min_bytes ? total / min_bytes : want;

	if (want > n)
		want = n;
	if (by_bytes < want)
		want = by_bytes ? (size_t)by_bytes : 1;
	return want ? want : 1;
}

/* Cut 1..n into at most `want` contiguous groups of about total/want
 * bytes, each of one message at least; returns how many.  A message
 * larger than a share ends its group: the next groups start after it. */
static size_t cut_groups(team *t, size_t n, uint64_t total, size_t want)
{
	size_t g = 0, i;
	uint64_t sum = 0;

	t->m[0].first = 1;
	for (i = 1; i <= n && g + 1 < want; i++) {
		sum += t->ops->size(t->ctx, i);
		if ((double)sum * (double)want >= (double)total * (double)(g + 1) && i < n) {
			t->m[g].last = i;
			t->m[++g].first = i + 1;
		}
	}
	t->m[g].last = n;
	return g + 1;
}

/* By range: n ranges of equal bytes, the last one open-ended (a file
 * that grew meanwhile is read to its end, as by one worker). */
static void cut_ranges(team *t, uint64_t total)
{
	size_t g;

	for (g = 0; g < t->n; g++) {
		uint64_t lo = (uint64_t)((double)total * (double)g / (double)t->n);
		uint64_t hi = (uint64_t)((double)total * (double)(g + 1) / (double)t->n);

		t->m[g].offset = lo;
		t->m[g].length = g + 1 < t->n ? hi - lo : UINT64_MAX - lo;
	}
}

/* ------------------------------------------------------------------ */
/* one group, in whichever process does it                             */
/* ------------------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* By range: open member g's range, take the count of messages before it
 * from the relay, pass the count up to its end on.  0, or -1 (its own
 * failure said by open_range; the failure before it by that worker). */
static int open_member(team *t, const cli_team_worker *w, size_t g)
{
	team_member *m = &t->m[g];
	team_report *r = &t->reports[g];
	long c = t->ops->open_range(t->ctx, m->offset, m->length);
	uint64_t before = 0, upto;
	int rc = 0;

	if (t->kill_at_open && t->kill == (int)g + 1 && w->forked)
		raise(SIGKILL); /* MIMEO_TEAM_KILL_WORKER=K:open, the tests' */
	if (m->relay_in >= 0 && read_full(m->relay_in, &before, sizeof(before)) < 0) {
		r->no_base = 1;
		rc = -1;
	}
	close_fd(&m->relay_in);
	if (c < 0)
		rc = -1;
	upto = before + (uint64_t)(c > 0 ? c : 0);
	/* 8 bytes go at once; MSG_NOSIGNAL: a next worker that died must
	 * not take this one with it (SIGPIPE); a failure here is end of file
	 * for the next one, which then stops */
	if (rc == 0 && m->relay_out >= 0 &&
	    send(m->relay_out, &upto, sizeof(upto), MSG_NOSIGNAL) != (ssize_t)sizeof(upto))
		rc = -1;
	close_fd(&m->relay_out);
	if (rc < 0)
		return -1;
	m->first = (size_t)before + 1;
	m->last = (size_t)upto;
	return 0;
}

/* Member g's group: opened first when by range. */
static int do_group(team *t, cli_team_worker *w, size_t g)
{
	team_member *m = &t->m[g];

	if (t->ranged && open_member(t, w, g) < 0)
		return CLI_FAILURE;
	t->reports[g].first = m->first;
	t->reports[g].last = m->last;
	if (m->last < m->first)
		return CLI_OK; /* a range where no message starts */
	return t->ops->work(t->ctx, w, m->first, m->last);
}

/* ------------------------------------------------------------------ */
/* the forked workers                                                  */
/* ------------------------------------------------------------------ */

/* An unlinked temporary file for a worker's output; -1 when none. */
static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd;

	if (!dir || !*dir || strlen(dir) > sizeof(path) - 16)
		dir = "/tmp";
	/* the X are mkostemp()'s template: it makes them a unique name; the
	 * file is unlinked at once and lives on as the descriptor only */
	snprintf(path, sizeof(path), "%s/mimeo-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Its files and pipe (not the relay: worker 1 may still do its group). */
static void member_close(team_member *m)
{
	close_fd(&m->out);
	close_fd(&m->err);
	close_fd(&m->side);
	close_fd(&m->alive[0]);
	close_fd(&m->alive[1]);
}

/* Files and pipe for member k; -1 (and none of them) when any failed. */
static int member_open(team *t, team_member *m)
{
	m->out = temp_fd();
	m->err = temp_fd();
	m->side = t->ops->gather ? temp_fd() : -1;
	if (m->out < 0 || m->err < 0 || (t->ops->gather && m->side < 0) ||
	    pipe(m->alive) < 0) {
		m->alive[0] = m->alive[1] = -1;
		member_close(m);
		return -1;
	}
	return 0;
}

/* In the forked worker k: keep only its own files, stdout and stderr to
 * them. */
static void child_setup(team *t, size_t k, pid_t parent)
{
	size_t j;

#ifdef __linux__
	/* worker 1 gone: nobody would print this one's output */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent)
		_exit(1);
	for (j = 0; j < t->n; j++) {
		close_fd(&t->m[j].alive[0]);
		if (j != k) {
			close_fd(&t->m[j].alive[1]);
			close_fd(&t->m[j].out);
			close_fd(&t->m[j].err);
			close_fd(&t->m[j].side);
			close_fd(&t->m[j].relay_in);
			close_fd(&t->m[j].relay_out);
		}
	}
	if (dup2(t->m[k].out, STDOUT_FILENO) < 0 || dup2(t->m[k].err, STDERR_FILENO) < 0)
		_exit(1); /* no report: worker 1 says it ended early */
}

static void child_main(team *t, size_t k, pid_t parent, int parent_cpu)
{
	cli_team_worker w = { t, k, 1, NULL };
	team_report *r = &t->reports[k];
	int status;

	cli_cpus_leave(&t->cpus, k, parent_cpu);
	child_setup(t, k, parent);
	if (t->m[k].side >= 0 && !(w.side = fdopen(t->m[k].side, "w")))
		_exit(1);
	status = do_group(t, &w, k);
	if (w.side && fclose(w.side) != 0)
		r->output_lost = 1;
	if (fflush(stdout) != 0 || fflush(stderr) != 0)
		r->output_lost = 1;
	r->status = r->output_lost ? CLI_FAILURE : status;
	atomic_thread_fence(memory_order_release);
	r->finished = 1;
	_exit(0);
}

/* Let the forked workers run on every CPU this process may use (they
 * start on one each: cpus.h says why). */
static void release_workers(team *t)
{
	size_t k;

	if (!t->placed)
		return;
	for (k = 1; k < t->n; k++)
		if (t->m[k].pid > 0)
			cli_cpus_release(&t->cpus, t->m[k].pid);
	t->placed = 0;
}

/* Fork the workers for members 1..n-1; a member that cannot have one is
 * left to worker 1 (pid 0). */
static void start_workers(team *t)
{
	pid_t parent = getpid();
	size_t k;

	for (k = 1; k < t->n && t->ranged; k++) {
		int p[2];

		/* a socket, for send's MSG_NOSIGNAL (open_member) */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) {
			/* fewer ranges: the one before this runs to the end */
			t->n = k;
			cut_ranges(t, t->total);
			break;
		}
		t->m[k].relay_in = p[0];
		t->m[k - 1].relay_out = p[1];
	}
	for (k = 1; k < t->n; k++)
		if (member_open(t, &t->m[k]) < 0)
			t->m[k].pid = 0;
	fflush(stdout);
	fflush(stderr);
	cli_cpus_init(&t->cpus);
	/* the workers must be waited for: with SIGCHLD ignored (inherited)
	 * they would be reaped unseen, and how they ended unknown */
	signal(SIGCHLD, SIG_DFL);
	for (k = 1; k < t->n; k++) {
		pid_t pid;
		int cpu;

		if (t->m[k].out < 0)
			continue;
		cpu = cli_cpus_here(&t->cpus);
		pid = fork();
		if (pid == 0)
			child_main(t, k, parent, cpu);
		if (pid < 0) {
			member_close(&t->m[k]);
			continue;
		}
		t->m[k].pid = pid;
		cpu = cli_cpus_pick(&t->cpus, k);
		cli_cpus_place(pid, cpu);
		t->placed |= cpu >= 0;
		close_fd(&t->m[k].alive[1]);
		close_fd(&t->m[k].relay_in); /* the worker's ends */
		close_fd(&t->m[k].relay_out);
	}
}

/* ------------------------------------------------------------------ */
/* worker 1: its turn for each member                                  */
/* ------------------------------------------------------------------ */

/* Wait until worker k has exited, drawing the progress; its wait status. */
static int wait_member(team *t, team_member *m)
{
	int status = 0;

	for (;;) {
		struct pollfd pf = { m->alive[0], POLLIN, 0 };
		int r = poll(&pf, 1, t->prog->on ? 250 : -1);
		char c;

		draw_progress(t);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && read(m->alive[0], &c, 1) <= 0)
			break; /* end of file: it has exited */
	}
	while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Copy a worker's output file to `out`. */
static int copy_out(int fd, FILE *out)
{
	char buf[1 << 16];
	ssize_t got;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || fwrite(buf, 1, (size_t)got, out) != (size_t)got)
			return -1;
	}
	return 0;
}

/* "messages A-B" of member k, or its bytes when they are not known (by
 * range, before it had opened its range). */
static void member_what(const team *t, size_t k, char *out, size_t cap)
{
	const team_report *r = &t->reports[k];
	const team_member *m = &t->m[k];

	if (!t->ranged)
		snprintf(out, cap, "messages %zu-%zu", m->first, m->last);
	else if (r->last >= r->first && r->first)
		snprintf(out, cap, "messages %zu-%zu", r->first, r->last);
	else if (r->first)
		snprintf(out, cap, "no messages");
	else
		snprintf(out, cap, "the messages from byte %llu", (unsigned long long)m->offset);
}

/* Say how worker k ended when it did not finish its group. */
static void say_died(team *t, size_t k, int status)
{
	char how[64], what[96];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "ended (status %d) before its end",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	member_what(t, k, what, sizeof(what));
	cli_error("%s: worker process %zu of %zu (%s) %s: files of those messages may be missing",
		  t->what, k + 1, t->n, what, how);
}

/* Worker k's side data to ops->gather: CLI_OK or CLI_FAILURE (said). */
static int gather_member(team *t, size_t k)
{
	team_member *m = &t->m[k];
	FILE *side;
	int rc;

	if (!t->ops->gather)
		return CLI_OK;
	if (lseek(m->side, 0, SEEK_SET) != 0 || !(side = fdopen(m->side, "r"))) {
		cli_error("%s: cannot read back what worker process %zu found", t->what, k + 1);
		return CLI_FAILURE;
	}
	m->side = -1; /* fclose closes it */
	rc = t->ops->gather(t->ctx, side);
	fclose(side);
	return rc;
}

/* What a worker that finished says went wrong besides its own errors. */
static int check_report(team *t, size_t k)
{
	const team_report *r = &t->reports[k];
	char what[96];

	if (r->output_lost) {
		member_what(t, k, what, sizeof(what));
		cli_error("%s: worker process %zu could not keep its output in a temporary file: "
			  "lines of %s missing", t->what, k + 1, what);
	}
	if (r->no_base)
		/* the one before failed (said): its count never came */
		cli_error("%s: worker process %zu of %zu did nothing: the messages before its "
			  "part could not be counted", t->what, k + 1, t->n);
	return r->status == CLI_OK && !r->output_lost && !r->no_base ? CLI_OK : CLI_FAILURE;
}

/* Worker k's turn: its output copied out in order, its side data
 * gathered; CLI_OK or CLI_FAILURE. */
static int finish_member(team *t, size_t k)
{
	team_member *m = &t->m[k];
	int status = wait_member(t, m), rc = CLI_OK;

	fflush(stderr);
	if (copy_out(m->out, stdout) < 0 || copy_out(m->err, stderr) < 0) {
		cli_error("%s: cannot read back the output of worker process %zu: %s", t->what,
			  k + 1, strerror(errno));
		rc = CLI_FAILURE;
	}
	atomic_thread_fence(memory_order_acquire);
	if (!t->reports[k].finished || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		say_died(t, k, status);
		return CLI_FAILURE;
	}
	if (check_report(t, k) != CLI_OK)
		rc = CLI_FAILURE;
	if (gather_member(t, k) != CLI_OK)
		rc = CLI_FAILURE;
	return rc;
}

/* Worker 1 doing member k's group itself (no worker for it). */
static int run_here(team *t, size_t k)
{
	cli_team_worker w = { t, k, 0, NULL };
	int rc = do_group(t, &w, k);

	if (t->reports[k].no_base) {
		cli_error("%s: the messages of worker process %zu of %zu were not extracted: the "
			  "messages before them could not be counted", t->what, k + 1, t->n);
		rc = CLI_FAILURE;
	}
	return rc;
}

static int run_members(team *t)
{
	int rc = run_here(t, 0);
	size_t k;

	release_workers(t);
	for (k = 1; k < t->n; k++) {
		int r = t->m[k].pid ? finish_member(t, k) : run_here(t, k);

		if (r != CLI_OK)
			rc = CLI_FAILURE;
		member_close(&t->m[k]);
		close_fd(&t->m[k].relay_in);
		close_fd(&t->m[k].relay_out);
	}
	return rc;
}

/* Worker 1 holds up to 7 descriptors per forked worker until its turn
 * (3 files, a pipe, a socket pair) and needs a few of its own to work:
 * no more workers than the descriptor limit leaves room for (a worker
 * that could not be set up would be done by worker 1, and a mailbox it
 * then could not open for lack of descriptors would fail the run). */
static size_t fd_room(size_t workers)
{
	struct rlimit rl;
	size_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return workers;
	room = rl.rlim_cur > 64 ? (size_t)(rl.rlim_cur - 64) / 8 : 1;
	return room < 1 ? 1 : room < workers ? room : workers;
}

/* How many members and what each does: groups of messages or ranges. */
static size_t plan(team *t, size_t n, size_t workers, uint64_t min_bytes)
{
	size_t i, want;

	workers = fd_room(workers);
	if (!t->ranged) {
		t->total = 0;
		for (i = 1; i <= n && workers > 1; i++)
			t->total += t->ops->size(t->ctx, i);
		want = team_size(n, t->total, workers, min_bytes);
	} else {
		/* every range is a member even when no message starts in it */
		want = team_size(workers, t->total, workers, min_bytes);
	}
	return want;
}

static void cut(team *t, size_t n, size_t want)
{
	if (t->ranged) {
		t->n = want;
		cut_ranges(t, t->total);
	} else if (want > 1) {
		t->n = cut_groups(t, n, t->total, want);
	} else {
		t->n = 1;
		t->m[0].first = 1;
		t->m[0].last = n;
	}
}

void cli_team_run(const cli_team_ops *ops, void *ctx, size_t n, uint64_t total,
		  size_t workers, uint64_t min_bytes, cli_progress *prog, const char *what,
		  cli_team_result *res)
{
	team t;
	size_t i, want, maplen;
	const char *kill = getenv("MIMEO_TEAM_KILL_WORKER");

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	t.ops = ops;
	t.ctx = ctx;
	t.prog = prog;
	t.what = what;
	t.ranged = ops->open_range != NULL;
	t.total = total;
	t.kill = kill ? atoi(kill) : 0;
	t.kill_at_open = kill && strstr(kill, ":open") != NULL;
	if (!t.ranged && n == 0)
		return;
	want = plan(&t, n, workers, min_bytes);
	maplen = want * sizeof(team_report);
	t.m = calloc(want, sizeof(*t.m));
	/* shared with the forked workers: their figures as they go */
	t.reports = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!t.m || t.reports == MAP_FAILED) {
		cli_error("out of memory");
		free(t.m);
		res->status = CLI_FAILURE;
		return;
	}
	for (i = 0; i < want; i++) {
		team_member *m = &t.m[i];

		m->out = m->err = m->side = m->alive[0] = m->alive[1] = -1;
		m->relay_in = m->relay_out = -1;
	}
	cut(&t, n, want);
	start_workers(&t);
	res->status = run_members(&t);
	for (i = 0; i < t.n; i++)
		res->unreadable += atomic_load(&t.reports[i].unreadable);
	munmap(t.reports, maplen);
	free(t.m);
}
