/*
 * cli_mailbox.c - what the commands share to work on whole mailboxes:
 * `--message N` for the one-message commands, the attachment rule that
 * `ls` counts and `extract` writes, and the progress line.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/* --message N                                                         */
/* ------------------------------------------------------------------ */

int cli_parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > SIZE_MAX)
		return -1;
	*out = (size_t)v;
	return 0;
}

int cli_take_message_opt(int *argc, char **argv, size_t *n)
{
	int i, j;

	*n = 0;
	for (i = 1; i < *argc; i++) {
		const char *v = NULL;
		int used;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--message") == 0) {
			if (i + 1 >= *argc) {
				cli_error("%s: --message needs a number N (1 = the first message)",
					  argv[0]);
				return -1;
			}
			v = argv[i + 1];
			used = 2;
		} else if (strncmp(argv[i], "--message=", 10) == 0) {
			v = argv[i] + 10;
			used = 1;
		} else {
			continue;
		}
		if (cli_parse_count(v, n) < 0) {
			cli_error("%s: --message takes a message number from 1, not '%s'",
				  argv[0], v);
			return -1;
		}
		for (j = i; j + used <= *argc; j++)
			argv[j] = argv[j + used];
		*argc -= used;
		i--;
	}
	return 0;
}

struct mimeo_message *cli_load_message_n(const char *path, size_t n)
{
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_mailbox *mb = NULL;
	mimeo_message *m = NULL;
	mimeo_reader *r = NULL;
	char *slurped = NULL;
	const char *data;
	size_t len, count, want = n ? n : 1, skip = 0;
	struct stat st;
	int rc, fd;

	/* stdin is one message unless --message says it is a mailbox:
	 * telling needs the whole input in memory */
	if (strcmp(path, "-") == 0 && n == 0)
		return cli_load_message(path);
	if (strcmp(path, "-") == 0) {
		slurped = cli_input_slurp_mail(path, &len);
		if (!slurped)
			return NULL;
		rc = mimeo_mailbox_open_buffer(&mb, slurped, len, NULL);
	} else {
		rc = mimeo_mailbox_open(&mb, path, NULL);
	}
	if (rc != MIMEO_OK) {
		cli_error("cannot open %s: %s", path,
			  rc == MIMEO_EIO ? cli_io_reason(errno) : mimeo_strerror(rc));
		free(slurped);
		return NULL;
	}
	count = mimeo_mailbox_count(mb);
	if ((mimeo_mailbox_type(mb) == MIMEO_MAILBOX_SINGLE ||
	     (mimeo_mailbox_type(mb) == MIMEO_MAILBOX_MBOX && count == 0)) &&
	    want == 1 && !slurped) {
		/* a plain message file (an empty one too: an empty message to
		 * these commands, an empty mailbox to ls): the usual loader */
		mimeo_mailbox_free(mb);
		return cli_load_message(path);
	}
	if (want > count) {
		if (count == 0)
			cli_error("%s holds no messages", path);
		else
			cli_error("no message %zu in %s (it holds %zu)", want, path, count);
		goto out;
	}
	if (n == 0 && count > 1)
		fprintf(stderr, "mimeo: %s holds %zu messages; showing message 1 (--message N "
			"picks another)\n", path, count);
	if (mimeo_mailbox_type(mb) == MIMEO_MAILBOX_MAILDIR) {
		/* the message's own file, parsed in place (not copied) */
		rc = mimeo_mailbox_parse(&m, mb, want, &mo);
		if (rc != MIMEO_OK) {
			cli_error("%s", mimeo_mailbox_error(mb));
			m = NULL;
		} else {
			cli_warn_limits(path, mimeo_message_limits_hit(m));
		}
		goto out;
	}
	rc = mimeo_mailbox_message(mb, want, &data, &len);
	if (rc != MIMEO_OK) {
		cli_error("%s", mimeo_mailbox_error(mb));
		goto out;
	}
	if (mimeo_mailbox_type(mb) == MIMEO_MAILBOX_MBOX) {
		/* the From_ line is the mailbox's, not the message's: to7bit
		 * would write it out */
		const char *lf = len >= 5 && memcmp(data, "From ", 5) == 0 ? memchr(data, '\n', len)
									 : NULL;

		if (lf) {
			skip = (size_t)(lf + 1 - data);
			len -= skip;
			data = lf + 1;
		}
		mo.flags |= MIMEO_MESSAGE_MBOX;
	}
	/* A plain mbox file is parsed in place, by offset and length (a
	 * message may hold a 1 GB attachment: no copy); the tree keeps its own
	 * descriptor, so the mailbox can be closed below.  An mbox read into
	 * memory (gzip, a pipe, stdin) is copied: its buffer goes with the
	 * mailbox.  gzip is told by content, as the mailbox told it. */
	fd = -1;
	if (!slurped && mimeo_reader_open(&r, path, -1, MIMEO_READER_DETECT, NULL) == MIMEO_OK) {
		fd = mimeo_reader_fd(r); /* -1: gzip or a pipe */
		if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))
			fd = -1;
	}
	if (fd >= 0) {
		mimeo_mailbox_entry e;
		const char *reason = NULL;

		mimeo_mailbox_entry_get(mb, want, &e);
		mo.reason = &reason;
		/* mail appended meanwhile is fine (the index stays right);
		 * a shorter file was rewritten */
		if ((uint64_t)st.st_size < mimeo_mailbox_size(mb)) {
			reason = "the file changed while it was read";
			rc = MIMEO_EIO;
		} else {
			rc = mimeo_message_parse_fd_range(&m, fd, e.offset + skip, len, &mo);
		}
		if (rc == MIMEO_EIO)
			cli_error("cannot read message %zu of %s: %s", want, path,
				  reason ? reason : strerror(errno));
	} else {
		rc = mimeo_message_parse_buffer(&m, data, len, &mo);
	}
	if (rc != MIMEO_OK) {
		if (rc != MIMEO_EIO)
			cli_error("cannot parse message %zu of %s: %s", want, path,
				  mimeo_strerror(rc));
		m = NULL;
	} else {
		cli_warn_limits(path, mimeo_message_limits_hit(m));
	}
out:
	mimeo_reader_close(r);
	mimeo_mailbox_free(mb);
	free(slurped);
	return m;
}

/* ------------------------------------------------------------------ */
/* opening a mailbox (ls, extract --all)                               */
/* ------------------------------------------------------------------ */

/* A failed open, said as ls and extract say it. */
static int box_failed(cli_box *b, const char *arg, int rc)
{
	if (rc == MIMEO_EIO && errno == ENOTDIR)
		cli_error("%s is a folder but no Maildir (no cur/ or new/)", arg);
	else
		cli_error("cannot open %s: %s", arg,
			  rc == MIMEO_EIO ? cli_io_reason(errno) : mimeo_strerror(rc));
	free(b->slurped);
	b->slurped = NULL;
	return -1;
}

int cli_box_open_range(cli_box *b, const char *arg, uint64_t offset, uint64_t length)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->arg = arg;
	rc = mimeo_mailbox_open_range(&b->mb, arg, offset, length, NULL);
	return rc == MIMEO_OK ? 0 : box_failed(b, arg, rc);
}

int cli_box_open(cli_box *b, const char *arg)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->arg = arg;
	if (strcmp(arg, "-") == 0) {
		size_t len;

		b->slurped = cli_input_slurp_mail(arg, &len);
		if (!b->slurped)
			return -1;
		rc = mimeo_mailbox_open_buffer(&b->mb, b->slurped, len, NULL);
	} else {
		rc = mimeo_mailbox_open(&b->mb, arg, NULL);
	}
	if (rc != MIMEO_OK)
		return box_failed(b, arg, rc);
	if (mimeo_mailbox_skipped(b->mb))
		/* nothing skipped silently: a subfolder of cur/ or new/ is no
		 * message, but say that it was there */
		fprintf(stderr, "mimeo: %s: %zu entr%s in new/ or cur/ not read (not a "
			"regular file)\n", arg, mimeo_mailbox_skipped(b->mb),
			mimeo_mailbox_skipped(b->mb) == 1 ? "y" : "ies");
	return 0;
}

void cli_box_close(cli_box *b)
{
	mimeo_mailbox_free(b->mb);
	free(b->slurped);
	b->mb = NULL;
	b->slurped = NULL;
}

/* ------------------------------------------------------------------ */
/* attachments                                                         */
/* ------------------------------------------------------------------ */

/* The library's rule (mimeo/query.h), the one documented place. */
int cli_is_attachment(const struct mimeo_part *p)
{
	const mimeo_part *c = mimeo_part_first_child(p);

	/* an opened TNEF part (winmail.dat) is saved as what it holds */
	if (c && mimeo_part_is_leaf(p) && mimeo_part_derived(c) == MIMEO_EXPAND_TNEF)
		return 0;
	return mimeo_part_is_attachment(p);
}

int cli_expand(mimeo_message *m, const char *path)
{
	int rc = mimeo_message_expand(m, NULL);

	if (rc == MIMEO_OK)
		return 0;
	if (rc == MIMEO_EIO && mimeo_message_io_error(m))
		cli_error("cannot read %s: %s", path, mimeo_message_io_error(m));
	else
		cli_error("cannot read %s: %s", path, mimeo_strerror(rc));
	return -1;
}

/* ------------------------------------------------------------------ */
/* progress                                                            */
/* ------------------------------------------------------------------ */

int cli_progress_option(const char *arg, int *mode)
{
	if (strcmp(arg, "--progress") == 0) {
		*mode = CLI_PROGRESS_ON;
		return 1;
	}
	if (strcmp(arg, "--no-progress") == 0) {
		*mode = CLI_PROGRESS_OFF;
		return 1;
	}
	return 0;
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void cli_progress_start(cli_progress *p, const char *label, int mode, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	/* "a few MB": smaller inputs finish before a display would help */
	p->on = mode == CLI_PROGRESS_ON ||
		(mode == CLI_PROGRESS_AUTO && p->tty && total >= CLI_PROGRESS_MIN_BYTES);
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->last = p->t0;
}

static void show(cli_progress *p, const struct timespec *now, int final)
{
	double t = since(&p->t0, now), mbs = t > 0 ? (double)p->done / 1e6 / t : 0;

	if (p->tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "mimeo %s: %.1f", p->label, (double)p->done / 1e6);
	if (p->total)
		fprintf(stderr, "/%.1f", (double)p->total / 1e6);
	fprintf(stderr, " MB, %.0f MB/s, %" PRIu64 " messages", mbs, p->messages);
	if (!final && p->total > p->done && mbs > 0) {
		double eta = (double)(p->total - p->done) / 1e6 / mbs;

		fprintf(stderr, ", ETA %u:%02u", (unsigned)(eta / 60), (unsigned)eta % 60);
	}
	if (!p->tty || final)
		fputc('\n', stderr);
	fflush(stderr);
	p->shown = 1;
}

void cli_progress_update(cli_progress *p, uint64_t done, uint64_t messages)
{
	struct timespec now;

	p->done = done;
	p->messages = messages;
	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* a terminal line is redrawn a few times a second; lines written to
	 * a file (--progress) come once a second */
	if (since(&p->last, &now) < (p->tty ? 0.25 : 1.0))
		return;
	p->last = now;
	show(p, &now, 0);
}

void cli_progress_end(cli_progress *p)
{
	struct timespec now;

	if (!p->on)
		return;
	if (p->tty) {
		/* a terminal keeps no trace: the command's output follows */
		if (p->shown)
			fputs("\r\033[K", stderr);
		return;
	}
	/* asked for with --progress into a file or pipe: a last line with
	 * the totals */
	clock_gettime(CLOCK_MONOTONIC, &now);
	show(p, &now, 1);
}
