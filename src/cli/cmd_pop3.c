/*
 * cmd_pop3.c - `mimeo pop3`: fetch a POP3 maildrop into a Maildir without
 * ever losing or duplicating a message.
 *
 * Delivery (the Maildir rules of qmail's maildir(5)): each message is
 * written into MAILDIR/tmp/ under a unique name and fsync'd.  Then its
 * UIDL is recorded, together with that name, in the state file
 * MAILDIR/.mimeo-pop3-state, which is replaced atomically (write a temp
 * file, fsync, rename, fsync the folder).  Only then is the message
 * renamed into new/.  So:
 *   - a message is "delivered" exactly when its UIDL is in the state file;
 *   - a crash before that leaves at most a file in tmp/ that is not in the
 *     state: the next run deletes it and fetches the message again;
 *   - a crash after it leaves a complete file in tmp/ that is in the
 *     state: the next run moves it into new/ and does not fetch it again.
 * Messages are committed in small batches so a big first download does not
 * rewrite the state file once per message.  DELE is sent only for a
 * message stored in this run, or stored earlier under a UIDL that this
 * listing gives to that message alone (a server that lists one UIDL twice
 * must not get the second copy deleted unread), and only takes effect at
 * a successful QUIT (RFC 1939 section 6), so a dropped connection deletes
 * nothing.  After that QUIT the deleted UIDLs are forgotten; a UIDL that
 * merely went missing from the listing is forgotten only after FORGET_RUNS
 * listings over FORGET_SECONDS.  A lock file keeps two runs from sharing
 * a Maildir.  The Maildir steps themselves are in maildir.c.
 *
 * The state file (version 2) has one line per stored message: account,
 * UIDL, file name, listings missed in a row, time of the first miss, TAB
 * separated; version 1 lines (the first three) are still read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "cli.h"
#include "commands.h"
#include "maildir.h"

#include <mimeo.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_NAME ".mimeo-pop3-state"
#define STATE_HEADER "# mimeo pop3 state 2\n"
#define LOCK_NAME ".mimeo-pop3-lock"
/* A recorded UIDL the listing no longer has is forgotten only when it was
 * missing from at least FORGET_RUNS listings in a row spanning at least
 * FORGET_SECONDS: a server that once lists nothing (or half its maildrop)
 * during maintenance must not get everything fetched again when the
 * messages reappear (issue 11).  UIDLs we deleted ourselves are forgotten
 * at once, after the QUIT that made the deletion happen. */
#define FORGET_RUNS 3
#define FORGET_SECONDS (7 * 24 * 3600LL)
/* Commit after this many messages or bytes waiting in tmp/. */
#define BATCH_MESSAGES 32
#define BATCH_BYTES ((uint64_t)32 << 20)

/* One line of the state file. */
typedef struct record {
	char *account; /* escaped "user@host" */
	char *uid;
	char *name;    /* file name in tmp/ and new/ */
	unsigned missing;        /* listings in a row without this UIDL */
	long long missing_since; /* time of the first of them (0: listed) */
	int drop;      /* left out at the next save */
} record;

typedef struct state {
	record *recs;
	size_t n, cap;
	char *dir; /* the Maildir */
} state;

typedef struct pending {
	char name[256];
	const mimeo_pop3_entry *e;
	size_t idx; /* of e in the listing */
	uint64_t bytes;
} pending;

typedef struct fetch_ctx {
	int fd;
	uint64_t bytes;
	int write_errno;
	/* MIMEO_POP3_TO_LF hands over one span per line: gather them so a
	 * file is written in large pieces, not one system call per line */
	size_t buffered;
	char buf[65536];
	/* progress */
	int progress;
	size_t index, total;
	uint64_t total_bytes;
	uint64_t last_shown;
} fetch_ctx;

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		cli_error("out of memory");
	return d;
}

/*
 * The account key of the state file: "user@host", every byte outside
 * 0x21..0x7e and '%' written as %XX so it is one whitespace-free word, and
 * a leading '#' too, so that the line cannot read as a comment (a user
 * name "#x" used to make every run fetch everything again).  The port is
 * left out on purpose: switching from STLS on 110 to TLS on 995 is the
 * same maildrop and must not fetch everything again.
 */
static char *escape_account(const char *user, const char *host)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t ul = strlen(user), hl = strlen(host), i, o = 0, n = ul + 1 + hl;
	char *out;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)(i < ul ? user[i] : i == ul ? '@'
							     : host[i - ul - 1]);
		if (ch < 0x21 || ch > 0x7e || ch == '%' || (i == 0 && ch == '#')) {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

static int state_add(state *st, const char *account, const char *uid, const char *name)
{
	record *r;

	if (cli_reserve((void **)&st->recs, &st->cap, st->n, sizeof(*st->recs), 64) < 0) {
		cli_error("out of memory");
		return -1;
	}
	r = &st->recs[st->n];
	r->account = xstrdup(account);
	r->uid = xstrdup(uid);
	r->name = xstrdup(name);
	r->missing = 0;
	r->missing_since = 0;
	r->drop = 0;
	if (!r->account || !r->uid || !r->name) {
		free(r->account);
		free(r->uid);
		free(r->name);
		return -1;
	}
	st->n++;
	return 0;
}

static void state_free(state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		free(st->recs[i].account);
		free(st->recs[i].uid);
		free(st->recs[i].name);
	}
	free(st->recs);
	free(st->dir);
}

/* Load MAILDIR/.mimeo-pop3-state; a missing file is an empty state. */
static int state_load(state *st)
{
	char *path = cli_maildir_path(st->dir, STATE_NAME, NULL), *data, *p;
	size_t len;
	FILE *f;
	int rc = 0;

	if (!path)
		return -1;
	f = fopen(path, "re");
	if (!f) {
		free(path);
		if (errno == ENOENT)
			return 0;
		cli_error("cannot read the state file in %s: %s", st->dir, strerror(errno));
		return -1;
	}
	fclose(f);
	data = cli_input_slurp(path, &len);
	free(path);
	if (!data)
		return -1;
	for (p = data; p < data + len && rc == 0;) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		char *f1, *f2, *f3;

		if (!nl) {
			cli_error("the state file in %s is damaged (last line incomplete)", st->dir);
			rc = -1;
			break;
		}
		*nl = '\0';
		/* version 1 lines: account, uid, name; version 2 adds the
		 * missing count and since when */
		if (*p && *p != '#') {
			char *f4 = NULL, *f5 = NULL, *end;
			unsigned long miss = 0;
			long long since = 0;

			f1 = p;
			f2 = strchr(f1, '\t');
			f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
			if (f3 && (f4 = strchr(f3 + 1, '\t')) != NULL) {
				*f4++ = '\0';
				f5 = strchr(f4, '\t');
				if (f5) {
					*f5++ = '\0';
					errno = 0;
					miss = strtoul(f4, &end, 10);
					if (*end || errno || !*f4) {
						f5 = NULL;
					} else {
						since = strtoll(f5, &end, 10);
						if (*end || errno || !*f5 || strchr(f5, '\t'))
							f5 = NULL;
					}
				}
			}
			if (!f2 || !f3 || (f4 && !f5)) {
				cli_error("the state file in %s is damaged", st->dir);
				rc = -1;
				break;
			}
			*f2++ = '\0';
			*f3++ = '\0';
			rc = state_add(st, f1, f2, f3);
			if (rc == 0) {
				st->recs[st->n - 1].missing = miss > 1000000 ? 1000000 : (unsigned)miss;
				st->recs[st->n - 1].missing_since = since;
			}
		}
		p = nl + 1;
	}
	free(data);
	return rc;
}

/* Replace the state file atomically: temp file, fsync, rename, fsync. */
static int state_save(state *st)
{
	char tmpname[64];
	char *tmp, *path;
	FILE *f;
	size_t i;
	int ok, fd;

	snprintf(tmpname, sizeof(tmpname), STATE_NAME ".tmp.%ld", (long)getpid());
	tmp = cli_maildir_path(st->dir, tmpname, NULL);
	path = cli_maildir_path(st->dir, STATE_NAME, NULL);
	if (!tmp || !path) {
		free(tmp);
		free(path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		cli_error("cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		free(path);
		return -1;
	}
	ok = fputs(STATE_HEADER, f) >= 0;
	for (i = 0; ok && i < st->n; i++) {
		if (!st->recs[i].drop)
			ok = fprintf(f, "%s\t%s\t%s\t%u\t%lld\n", st->recs[i].account,
				     st->recs[i].uid, st->recs[i].name, st->recs[i].missing,
				     st->recs[i].missing_since) > 0;
	}
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0 && cli_maildir_sync_dir(st->dir) == 0) {
		free(tmp);
		free(path);
		return 0;
	}
	cli_error("cannot update the state file %s: %s", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	free(path);
	return -1;
}

/*
 * A set of UIDL strings (open addressing, FNV-1a), so that a maildrop of
 * many thousand messages is not compared pairwise.  It points at strings
 * owned elsewhere (state records, listing entries).
 */
typedef struct uidset {
	const char **slots;
	size_t cap, n; /* cap is a power of two, at most half full */
} uidset;

static size_t uid_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return (size_t)h;
}

static int uidset_has(const uidset *u, const char *uid)
{
	size_t i;

	if (!u->cap)
		return 0;
	for (i = uid_hash(uid) & (u->cap - 1); u->slots[i]; i = (i + 1) & (u->cap - 1)) {
		if (strcmp(u->slots[i], uid) == 0)
			return 1;
	}
	return 0;
}

static int uidset_add(uidset *u, const char *uid)
{
	size_t i;

	if (uidset_has(u, uid))
		return 0;
	if ((u->n + 1) * 2 > u->cap) {
		uidset bigger = { NULL, u->cap ? u->cap * 2 : 64, 0 };
		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots) {
			cli_error("out of memory");
			return -1;
		}
		for (i = 0; i < u->cap; i++) {
			if (u->slots[i])
				uidset_add(&bigger, u->slots[i]);
		}
		free(u->slots);
		*u = bigger;
	}
	for (i = uid_hash(uid) & (u->cap - 1); u->slots[i]; i = (i + 1) & (u->cap - 1))
		;
	u->slots[i] = uid;
	u->n++;
	return 0;
}

/*
 * Finish what an interrupted run left: files in tmp/ named in the state
 * are complete and go to new/; our files in tmp/ that the state does not
 * know are partial downloads and are removed.
 */
static int recover(state *st)
{
	char *tmpdir = cli_maildir_path(st->dir, "tmp", NULL);
	DIR *d;
	struct dirent *de;
	int rc = 0, moved = 0;

	if (!tmpdir)
		return -1;
	d = opendir(tmpdir);
	if (!d) {
		cli_error("cannot read %s: %s", tmpdir, strerror(errno));
		free(tmpdir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t i;
		int known = 0;
		char *from, *to;

		if (de->d_name[0] == '.' || !cli_maildir_is_ours(de->d_name))
			continue;
		for (i = 0; i < st->n && !known; i++)
			known = strcmp(st->recs[i].name, de->d_name) == 0;
		from = cli_maildir_path(st->dir, "tmp", de->d_name);
		to = cli_maildir_path(st->dir, "new", de->d_name);
		if (!from || !to) {
			rc = -1;
		} else if (known) {
			if (rename(from, to) != 0) {
				cli_error("cannot move %s into new/: %s", from, strerror(errno));
				rc = -1;
			}
			moved = 1;
		} else if (unlink(from) != 0) {
			cli_error("cannot remove the partial download %s: %s", from,
				  strerror(errno));
			rc = -1;
		}
		free(from);
		free(to);
	}
	closedir(d);
	free(tmpdir);
	if (moved && rc == 0) {
		char *newdir = cli_maildir_path(st->dir, "new", NULL);
		if (!newdir || cli_maildir_sync_dir(newdir) != 0)
			rc = -1;
		free(newdir);
	}
	return rc;
}

/* Read the password: the first line of the file, without its line break. */
static char *read_password(const char *path)
{
	char buf[4096];
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *nl, *pw;

	if (fd < 0) {
		cli_error("cannot open the password file %s: %s", path, strerror(errno));
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		cli_error("cannot read the password file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	len = strlen(buf); /* a NUL ends the password too */
	nl = memchr(buf, '\n', len);
	if (nl)
		len = (size_t)(nl - buf);
	if (len && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (!len) {
		cli_error("the password file %s is empty", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	pw = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!pw)
		cli_error("out of memory");
	return pw;
}

static void show_progress(fetch_ctx *fc, int final)
{
	if (!fc->progress)
		return;
	fprintf(stderr, "\rmimeo pop3: message %zu/%zu, %llu bytes%s", fc->index, fc->total,
		(unsigned long long)(fc->total_bytes + fc->bytes), final ? "\n" : "   ");
	fflush(stderr);
}

static int write_all(fetch_ctx *fc, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fc->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fc->write_errno = errno;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int file_flush(fetch_ctx *fc)
{
	int rc = write_all(fc, fc->buf, fc->buffered);

	fc->buffered = 0;
	return rc;
}

static int file_sink(const void *data, size_t len, void *user)
{
	fetch_ctx *fc = user;

	if (len > sizeof(fc->buf) - fc->buffered) {
		if (file_flush(fc) != 0)
			return -1;
	}
	if (len >= sizeof(fc->buf)) {
		if (write_all(fc, data, len) != 0)
			return -1;
	} else {
		memcpy(fc->buf + fc->buffered, data, len);
		fc->buffered += len;
	}
	fc->bytes += len;
	if (fc->progress && fc->bytes - fc->last_shown >= 256 * 1024) {
		fc->last_shown = fc->bytes;
		show_progress(fc, 0);
	}
	return 0;
}

/* What a run stored, for the DELE decision and the closing report. */
typedef struct tally {
	unsigned char *stored; /* per listing entry: recorded in the state */
	size_t stored_n;       /* messages recorded in the state */
	uint64_t stored_bytes;
	size_t lost_n;         /* downloaded, but the state could not be saved */
	size_t in_tmp_n;       /* recorded, but still in tmp/ */
} tally;

/* Write the batch's UIDLs into the state, then move the files into new/. */
static int commit(state *st, uidset *delivered, const char *account, pending *pend,
		  size_t *npend, int *failed, tally *t)
{
	size_t i;
	char *newdir;
	int rc = 0;

	if (*npend == 0)
		return 0;
	for (i = 0; i < *npend; i++) {
		if (state_add(st, account, pend[i].e->uid, pend[i].name) != 0)
			return -1;
	}
	if (state_save(st) != 0) {
		/* not recorded: the tmp/ files will be removed by the next
		 * run and fetched again */
		st->n -= *npend;
		for (i = 0; i < *npend; i++) {
			free(st->recs[st->n + i].account);
			free(st->recs[st->n + i].uid);
			free(st->recs[st->n + i].name);
		}
		t->lost_n += *npend;
		*npend = 0;
		*failed = 1;
		return -1;
	}
	for (i = 0; i < *npend; i++) {
		if (uidset_add(delivered, st->recs[st->n - *npend + i].uid) != 0)
			rc = -1;
		t->stored[pend[i].idx] = 1;
		t->stored_n++;
		t->stored_bytes += pend[i].bytes;
	}
	for (i = 0; i < *npend; i++) {
		if (cli_maildir_move_new(st->dir, pend[i].name) != 0) {
			/* recorded, so the next run finishes the move */
			cli_error("cannot move %s into new/: %s", pend[i].name, strerror(errno));
			t->in_tmp_n++;
			*failed = 1;
			rc = -1;
		}
	}
	newdir = cli_maildir_path(st->dir, "new", NULL);
	if (!newdir || cli_maildir_sync_dir(newdir) != 0)
		rc = -1;
	free(newdir);
	*npend = 0;
	return rc;
}

/* One run of mimeo_pop3_retr_many(): each message goes into tmp/, and
 * complete ones are committed in batches. */
typedef struct fetch_run {
	mimeo_pop3 *c;
	state *st;
	uidset *delivered;
	const char *account, *out;
	size_t n;                       /* messages to fetch */
	unsigned long *nums;
	uint64_t *limits;
	const mimeo_pop3_entry **ents;
	const mimeo_pop3_entry *listing; /* the whole listing (for indexes) */
	tally t;
	pending pend[BATCH_MESSAGES];   /* complete, not yet committed */
	size_t npend;
	uint64_t pend_bytes;
	unsigned long counter;
	char *tmppath;                  /* of the message being written */
	size_t fetched;
	uint64_t fetched_bytes;
	int failed;                     /* some message could not be fetched */
	int fatal;                      /* stop: the Maildir cannot be written */
	int reported;                   /* the error that stopped it was shown */
	fetch_ctx fc;
} fetch_run;

static int retr_begin(unsigned long num, size_t index, void *user)
{
	fetch_run *fr = user;
	pending *pd = &fr->pend[fr->npend];

	(void)num;
	cli_maildir_unique_name(pd->name, sizeof(pd->name), ++fr->counter);
	free(fr->tmppath);
	fr->tmppath = cli_maildir_path(fr->out, "tmp", pd->name);
	if (!fr->tmppath) {
		fr->fatal = 1;
		return -1;
	}
	fr->fc.fd = open(fr->tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fr->fc.fd < 0) {
		cli_error("cannot create %s: %s", fr->tmppath, strerror(errno));
		fr->fatal = 1;
		return -1;
	}
	fr->fc.bytes = 0;
	fr->fc.last_shown = 0;
	fr->fc.write_errno = 0;
	fr->fc.buffered = 0;
	fr->fc.index = index + 1;
	show_progress(&fr->fc, 0);
	return 0;
}

static int retr_write(const void *data, size_t len, void *user)
{
	fetch_run *fr = user;

	return file_sink(data, len, &fr->fc);
}

static int retr_end(unsigned long num, size_t index, int status, void *user)
{
	fetch_run *fr = user;
	fetch_ctx *fc = &fr->fc;
	pending *pd = &fr->pend[fr->npend];
	int rc = status;

	/* the message counts only once it is on disk */
	if (rc == MIMEO_OK && file_flush(fc) != 0) {
		rc = MIMEO_EIO;
	} else if (rc == MIMEO_OK && fsync(fc->fd) != 0) {
		fc->write_errno = errno;
		rc = MIMEO_EIO;
	}
	if (close(fc->fd) != 0 && rc == MIMEO_OK) {
		fc->write_errno = errno;
		rc = MIMEO_EIO;
	}
	fc->fd = -1;
	if (rc != MIMEO_OK) {
		unlink(fr->tmppath);
		if (fc->progress)
			fputc('\n', stderr);
		if (fc->write_errno)
			cli_error("cannot write message %lu to %s: %s", num, fr->out,
				  strerror(fc->write_errno));
		else
			cli_error("pop3: message %lu: %s", num, mimeo_pop3_error(fr->c));
		fr->failed = 1;
		/* a -ERR for one message: the others go on; a broken
		 * session stops by itself */
		fr->reported = !mimeo_pop3_usable(fr->c);
		return 0;
	}
	pd->e = fr->ents[index];
	pd->idx = (size_t)(pd->e - fr->listing);
	pd->bytes = fc->bytes;
	fr->npend++;
	fr->pend_bytes += fc->bytes;
	fr->fetched++;
	fr->fetched_bytes += fc->bytes;
	fc->total_bytes += fc->bytes;
	if (fr->npend == BATCH_MESSAGES || fr->pend_bytes >= BATCH_BYTES) {
		if (commit(fr->st, fr->delivered, fr->account, fr->pend, &fr->npend, &fr->failed,
			   &fr->t) != 0) {
			fr->fatal = 1;
			return -1;
		}
		fr->pend_bytes = 0;
	}
	return 0;
}

static const mimeo_pop3_retr_callbacks retr_cb = { retr_begin, retr_write, retr_end };

static void usage(void)
{
	fprintf(stderr,
		"usage: mimeo pop3 --host H [--port P] --user U --password-file F\n"
		"                  [--apop | --auth-plain] [--tls | --starttls] [--insecure]\n"
		"                  [--cafile F] [--timeout SECONDS] [--keep] -o MAILDIR\n");
}

static int run_pop3(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "apop", no_argument, NULL, 'A' },
		{ "auth-plain", no_argument, NULL, 'S' },
		{ "tls", no_argument, NULL, 'T' },
		{ "starttls", no_argument, NULL, 's' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "cafile", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep", no_argument, NULL, 'K' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *port = NULL, *user = NULL, *pwfile = NULL, *out = NULL;
	int apop = 0, plain = 0, keep = 0, opt, rc, failed = 0, lockfd = -1;
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c = NULL;
	mimeo_pop3_entry *ents = NULL;
	size_t nents = 0, i;
	state st = { NULL, 0, 0, NULL };
	uidset delivered = { NULL, 0, 0 }, on_server = { NULL, 0, 0 }, dup = { NULL, 0, 0 };
	uidset warned = { NULL, 0, 0 };
	size_t ndele = 0;
	int fetch_done = 0; /* every message was tried and committed */
	char *password = NULL, *account = NULL;
	/* static: it holds a 64 KiB write buffer; run_pop3 runs once */
	static fetch_run fr;

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'P': port = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'A': apop = 1; break;
		case 'S': plain = 1; break;
		case 'T': opts.tls = MIMEO_POP3_TLS_IMPLICIT; break;
		case 's': opts.tls = MIMEO_POP3_TLS_STARTTLS; break;
		case 'k': opts.flags |= MIMEO_POP3_INSECURE; break;
		case 'c': opts.cafile = optarg; break;
		case 'K': keep = 1; break;
		case 'o': out = optarg; break;
		case 't': {
			char *end;
			long s = strtol(optarg, &end, 10);
			if (*end || s <= 0 || s > 86400) {
				cli_error("--timeout wants seconds between 1 and 86400");
				return CLI_USAGE;
			}
			opts.connect_timeout_ms = opts.read_timeout_ms = (int)(s * 1000);
			break;
		}
		case 'h':
			usage();
			return CLI_OK;
		default:
			usage();
			return CLI_USAGE;
		}
	}
	if (optind != argc || !host || !user || !pwfile || !out || (apop && plain)) {
		usage();
		return CLI_USAGE;
	}
	if (!port)
		port = opts.tls == MIMEO_POP3_TLS_IMPLICIT ? "995" : "110";

	if (cli_maildir_create(out) != 0)
		return CLI_FAILURE;
	st.dir = xstrdup(out);
	account = escape_account(user, host);
	if (!st.dir || !account) {
		cli_error("out of memory");
		goto fail;
	}
	{
		/* one run per Maildir at a time */
		char *lock = cli_maildir_path(out, LOCK_NAME, NULL);
		lockfd = lock ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
		free(lock);
		if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
			cli_error("%s is in use by another mimeo pop3 (or cannot be locked)", out);
			goto fail;
		}
	}
	if (state_load(&st) != 0 || recover(&st) != 0)
		goto fail;
	password = read_password(pwfile);
	if (!password)
		goto fail;

	rc = mimeo_pop3_new(&c, &opts);
	if (rc < 0) {
		cli_error("pop3: %s", rc == MIMEO_ENOTSUP
				      ? "TLS is not available (no OpenSSL in this build, or its "
					"libssl could not be loaded)"
				      : mimeo_strerror(rc));
		goto fail;
	}
	rc = mimeo_pop3_connect(c, host, port);
	if (rc < 0) {
		cli_error("pop3: %s", mimeo_pop3_error(c));
		goto fail;
	}
	if (apop)
		rc = mimeo_pop3_apop(c, user, password);
	else if (plain)
		rc = mimeo_pop3_auth_plain(c, NULL, user, password);
	else
		rc = mimeo_pop3_login(c, user, password);
	explicit_bzero(password, strlen(password));
	if (rc < 0) {
		cli_error("pop3: %s", mimeo_pop3_error(c));
		goto fail;
	}
	rc = mimeo_pop3_list(&ents, &nents, c, MIMEO_POP3_LIST_SIZES | MIMEO_POP3_LIST_UIDS);
	if (rc < 0) {
		cli_error("pop3: %s", mimeo_pop3_error(c));
		goto fail;
	}
	for (i = 0; i < nents; i++) {
		if (!ents[i].uid[0]) {
			/* without a UIDL we cannot tell what was delivered */
			cli_error("pop3: the server gave no UIDL for message %lu; refusing to fetch",
				  ents[i].num);
			goto fail;
		}
	}
	/* Which UIDLs the listing holds more than once (a protocol violation
	 * some servers commit): such a UIDL does not say which message was
	 * stored, so it never decides a DELE on its own (issue 11). */
	for (i = 0; i < nents; i++) {
		if (uidset_has(&on_server, ents[i].uid)) {
			if (uidset_add(&dup, ents[i].uid) != 0)
				goto fail;
		} else if (uidset_add(&on_server, ents[i].uid) != 0) {
			goto fail;
		}
	}
	/* Age the records of this account that the listing lacks; forget
	 * one only after FORGET_RUNS listings over FORGET_SECONDS (never on
	 * one empty listing).  The others are what was delivered already. */
	{
		long long now = (long long)time(NULL);
		int changed = 0;

		for (i = 0; i < st.n; i++) {
			record *r = &st.recs[i];

			if (strcmp(r->account, account) != 0)
				continue;
			if (uidset_has(&on_server, r->uid)) {
				if (r->missing) {
					r->missing = 0;
					r->missing_since = 0;
					changed = 1;
				}
				if (uidset_add(&delivered, r->uid) != 0)
					goto fail;
				continue;
			}
			if (!r->missing++)
				r->missing_since = now;
			changed = 1;
			if (r->missing >= FORGET_RUNS && now - r->missing_since >= FORGET_SECONDS)
				r->drop = 1;
		}
		if (changed && state_save(&st) != 0)
			goto fail;
	}

	/* What to fetch: every message whose UIDL is not recorded.  A
	 * duplicated UIDL that is not recorded: every copy is fetched (each
	 * is a message we do not have).  One that is recorded: we cannot
	 * tell which copy we have, so none is fetched or deleted. */
	fr.nums = malloc((nents ? nents : 1) * sizeof(*fr.nums));
	fr.limits = malloc((nents ? nents : 1) * sizeof(*fr.limits));
	fr.ents = malloc((nents ? nents : 1) * sizeof(*fr.ents));
	fr.t.stored = calloc(nents ? nents : 1, 1);
	if (!fr.nums || !fr.limits || !fr.ents || !fr.t.stored) {
		cli_error("out of memory");
		goto fail;
	}
	{
		size_t ndup = 0;

		for (i = 0; i < nents; i++) {
			const mimeo_pop3_entry *e = &ents[i];
			int isdup = uidset_has(&dup, e->uid);

			if (isdup && !uidset_has(&warned, e->uid)) {
				if (uidset_add(&warned, e->uid) != 0)
					goto fail;
				if (++ndup <= 3)
					cli_error("warning: pop3: the server lists UIDL %.70s for more "
						  "than one message; %s", e->uid,
						  uidset_has(&delivered, e->uid)
							  ? "one was stored earlier, so none of them "
							    "is fetched or deleted"
							  : "each is fetched, and deleted only once stored");
			}
			if (uidset_has(&delivered, e->uid))
				continue;
			fr.ents[fr.n] = e;
			fr.nums[fr.n] = e->num;
			/* The announced size is only a hint (servers count line
			 * ends differently), but a response far beyond it is an
			 * endless RETR from a broken or hostile server. */
			fr.limits[fr.n] = e->size > (UINT64_MAX - (16u << 20)) / 2 ? 0
						   : e->size * 2 + (16u << 20);
			fr.n++;
		}
		if (ndup > 3)
			cli_error("warning: pop3: %zu more UIDLs are listed more than once", ndup - 3);
	}
	fr.listing = ents;
	fr.fc.progress = isatty(STDERR_FILENO);
	fr.fc.total = fr.n;
	fr.fc.fd = -1;
	fr.c = c;
	fr.st = &st;
	fr.delivered = &delivered;
	fr.account = account;
	fr.out = out;
	rc = mimeo_pop3_retr_many(c, fr.nums, fr.n, MIMEO_POP3_TO_LF, fr.limits, &retr_cb, &fr);
	if (fr.fc.fd >= 0) {
		/* stopped inside a message: nothing partial stays */
		close(fr.fc.fd);
		unlink(fr.tmppath);
		fr.fc.fd = -1;
	}
	if (fr.fatal)
		goto fail_commit;
	if (rc < 0) {
		if (!fr.reported)
			cli_error("pop3: %s", mimeo_pop3_error(c));
		goto fail_commit;
	}
	if (fr.fc.progress && fr.fc.total)
		show_progress(&fr.fc, 1);
	if (commit(&st, &delivered, account, fr.pend, &fr.npend, &fr.failed, &fr.t) != 0)
		goto fail;
	failed |= fr.failed;
	fetch_done = 1;

	if (!keep) {
		/* DELE a message only when it is stored: in this run (by its
		 * number), or earlier under a UIDL that this listing gives to
		 * that message alone. */
		unsigned long *nums = malloc((nents ? nents : 1) * sizeof(*nums)), bad = 0;

		if (!nums) {
			cli_error("out of memory");
			goto fail;
		}
		for (i = 0; i < nents; i++) {
			if (fr.t.stored[i] ||
			    (uidset_has(&delivered, ents[i].uid) && !uidset_has(&dup, ents[i].uid)))
				nums[ndele++] = ents[i].num;
		}
		rc = mimeo_pop3_dele_many(c, nums, ndele, &bad);
		free(nums);
		if (rc < 0) {
			/* Do not QUIT: that would commit a partial set of
			 * deletions.  Nothing is lost either way, since
			 * every message we DELE was delivered. */
			cli_error("pop3: %s", mimeo_pop3_error(c));
			ndele = 0;
			goto fail;
		}
	}
	rc = mimeo_pop3_quit(c);
	if (rc < 0) {
		cli_error("pop3: %s", mimeo_pop3_error(c));
		failed = 1;
	} else if (ndele) {
		/* The server has removed them: forget their UIDLs now, so a
		 * server that reuses a UIDL for a new message (RFC 1939 allows
		 * it once the old one is gone) gets that message fetched. */
		uidset gone = { NULL, 0, 0 };
		int ok = 1;

		for (i = 0; i < nents && ok; i++) {
			if (fr.t.stored[i] ||
			    (uidset_has(&delivered, ents[i].uid) && !uidset_has(&dup, ents[i].uid)))
				ok = uidset_add(&gone, ents[i].uid) == 0;
		}
		for (i = 0; ok && i < st.n; i++) {
			if (strcmp(st.recs[i].account, account) == 0 &&
			    uidset_has(&gone, st.recs[i].uid))
				st.recs[i].drop = 1;
		}
		free(gone.slots);
		/* if this fails the records age out instead */
		if (!ok || state_save(&st) != 0)
			failed = 1;
	}
	goto report;

fail_commit:
	/* keep what arrived whole before the failure */
	commit(&st, &delivered, account, fr.pend, &fr.npend, &failed, &fr.t);
fail:
	failed = 1;
report:
	/* Say what was stored and what was not (issue 11: "fetched N" used
	 * to count downloads whose state could not be saved). */
	if (fr.t.stored_n || fetch_done)
		printf("fetched %zu messages, %llu bytes\n", fr.t.stored_n,
		       (unsigned long long)fr.t.stored_bytes);
	if (fr.t.lost_n)
		cli_error("pop3: %zu downloaded message%s not stored (the state file could not "
			  "be saved): left on the server, fetched again next time",
			  fr.t.lost_n, fr.t.lost_n == 1 ? " was" : "s were");
	if (fr.t.in_tmp_n)
		cli_error("pop3: %zu stored message%s still in %s/tmp (not moved into new/): "
			  "the next run moves them", fr.t.in_tmp_n,
			  fr.t.in_tmp_n == 1 ? " is" : "s are", out);
	free(fr.nums);
	free(fr.limits);
	free(fr.ents);
	free(fr.tmppath);
	free(dup.slots);
	free(warned.slots);
	free(fr.t.stored);
	if (c)
		mimeo_pop3_entries_free(c, ents);
	mimeo_pop3_free(c);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(account);
	free(delivered.slots);
	free(on_server.slots);
	state_free(&st);
	if (lockfd >= 0)
		close(lockfd);
	return failed ? CLI_FAILURE : CLI_OK;
}

const cli_command cli_cmd_pop3 = {
	"pop3",
	"pop3 --host H --user U --password-file F -o MAILDIR   fetch mail into a Maildir",
	run_pop3
};
