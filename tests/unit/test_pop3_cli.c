/*
 * test_pop3_cli.c - `mimeo pop3` against the scripted hostile server of
 * pop3_testlib.c (issue 11: never lose mail, never call a failed write a
 * success).  Every test keeps a maildrop across runs (what the server
 * still has after the DELEs a QUIT made final) and checks, after every
 * run, that each message reached the Maildir at most once and that every
 * message the server lost was stored first.
 *
 * Environment (set by meson): MIMEO_CLI.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3_testlib.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXMSG 16

/* The maildrop across runs.  Message bodies carry a marker "<mark K>" so
 * the Maildir can be checked for each one. */
typedef struct maildrop {
	const char *msgs[MAXMSG + 1];
	const char *uids[MAXMSG + 1];
	int mark[MAXMSG];
	int n;
	int lost[64]; /* marks deleted by the server without being stored */
	int nlost;
} maildrop;

typedef struct env {
	test_cli_env c; /* the command and its paths */
	char *texts[64];
	int ntexts;
} env;

static int env_init(env *e, const char *test)
{
	memset(e, 0, sizeof(*e));
	if (!test_cli_env_init(&e->c, test))
		return 0;
	spit(e->c.pw, "pw\n", 3);
	return 1;
}

static void env_dispose(env *e)
{
	int i;

	for (i = 0; i < e->ntexts; i++)
		free(e->texts[i]);
	test_cli_env_dispose(&e->c);
}

/* Add message K (marker "<mark K>", `size` bytes or so) with UIDL uid. */
static void drop_add(env *e, maildrop *d, int k, const char *uid, size_t size)
{
	char head[128];
	size_t n, len;
	char *t;

	ck_assert_int_lt(d->n, MAXMSG);
	n = (size_t)snprintf(head, sizeof(head), "Subject: message %d\r\n\r\n<mark %d>\r\n", k, k);
	len = n + (size > n ? size - n : 0);
	t = malloc(len + 1);
	ck_assert_ptr_nonnull(t);
	memcpy(t, head, n);
	for (; n < len; n++)
		t[n] = (n % 64 == 63) ? '\n' : (n % 64 == 62 ? '\r' : 'a' + (char)(k % 26));
	/* the fake server wants whole CRLF lines */
	if (len >= 2) {
		t[len - 2] = '\r';
		t[len - 1] = '\n';
	}
	t[len] = '\0';
	e->texts[e->ntexts++] = t;
	d->msgs[d->n] = t;
	d->uids[d->n] = uid;
	d->mark[d->n] = k;
	d->n++;
	d->msgs[d->n] = NULL;
}

/* How many files in MAILDIR/new and MAILDIR/tmp hold "<mark K>". */
static int stored_count(env *e, int k, int in_tmp)
{
	char sub[300], path[600], want[32];
	DIR *dir;
	struct dirent *de;
	int n = 0;

	snprintf(want, sizeof(want), "<mark %d>\n", k);
	snprintf(sub, sizeof(sub), "%s/%s", e->c.md, in_tmp ? "tmp" : "new");
	dir = opendir(sub);
	if (!dir)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
		n += file_contains(path, want);
	}
	closedir(dir);
	return n;
}

/* One run of `mimeo pop3` against the maildrop; applies the deletions a
 * QUIT made final and checks each of them against the Maildir.  Returns
 * the exit status; *fs_out (may be NULL) gets the server's log. */
static int run_pop3(env *e, maildrop *d, const char *user, int keep, fake_mode mode,
		    unsigned long dele_refuse, int slow_ms, const char *timeout, fake_server *fs)
{
	char *argv[20];
	int n = 0, rc, i, j;

	memset(fs, 0, sizeof(*fs));
	fs->mode = mode;
	fs->pipelining = 1;
	fs->messages = d->msgs;
	fs->uids = d->uids;
	fs->dele_refuse = dele_refuse;
	fs->slow_ms = slow_ms;
	fake_start(fs);
	argv[n++] = (char *)e->c.cli;
	argv[n++] = "pop3";
	argv[n++] = "--host";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = fs->port_str;
	argv[n++] = "--user";
	argv[n++] = (char *)user;
	argv[n++] = "--password-file";
	argv[n++] = e->c.pw;
	argv[n++] = "--timeout";
	argv[n++] = (char *)(timeout ? timeout : "10");
	if (keep)
		argv[n++] = "--keep";
	argv[n++] = "-o";
	argv[n++] = e->c.md;
	argv[n] = NULL;
	rc = run_cmd(argv, e->c.out, e->c.err, 60, NULL);
	fake_stop(fs);
	if (fs->quit) {
		for (i = j = 0; i < d->n; i++) {
			if (fs->deleted[i + 1]) {
				if (stored_count(e, d->mark[i], 0) + stored_count(e, d->mark[i], 1) == 0)
					d->lost[d->nlost++] = d->mark[i];
				continue;
			}
			d->msgs[j] = d->msgs[i];
			d->uids[j] = d->uids[i];
			d->mark[j] = d->mark[i];
			j++;
		}
		d->n = j;
		d->msgs[j] = NULL;
	}
	return rc;
}

static void assert_out(env *e, const char *want)
{
	size_t len;
	char *out = test_read_file(e->c.out, &len), *err = test_read_file(e->c.err, &len);

	ck_assert_msg(out && strstr(out, want), "stdout '%s' lacks '%s' (stderr '%s')",
		      out ? out : "", want, err ? err : "");
	free(out);
	free(err);
}

static void assert_err(env *e, const char *want)
{
	size_t len;
	char *err = test_read_file(e->c.err, &len);

	ck_assert_msg(err && strstr(err, want), "stderr '%s' lacks '%s'", err ? err : "", want);
	free(err);
}

static void assert_none_lost(maildrop *d)
{
	ck_assert_msg(d->nlost == 0, "the server deleted message %d, never stored",
		      d->nlost ? d->lost[0] : 0);
}

/* The maildrop a1 SAME SAME a4: two messages under one UIDL. */
static void drop_same_uidl_twice(env *e, maildrop *d)
{
	drop_add(e, d, 1, "a1", 200);
	drop_add(e, d, 2, "SAME", 200);
	drop_add(e, d, 3, "SAME", 200);
	drop_add(e, d, 4, "a4", 200);
}

/* Finding 1: a maildrop "a1 SAME SAME a4".  Every message is stored
 * exactly once, and no DELE for a message that was not stored. */
START_TEST(test_duplicate_uidl)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int k, rc;

	if (!env_init(&e, "test_duplicate_uidl"))
		return;
	drop_same_uidl_twice(&e, &d);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_none_lost(&d);
	for (k = 1; k <= 4; k++)
		ck_assert_int_eq(stored_count(&e, k, 0), 1);
	assert_out(&e, "fetched 4 messages");
	assert_err(&e, "warning: pop3: the server lists UIDL SAME for more than one message");
	ck_assert_int_eq(d.n, 0);
	env_dispose(&e);
}
END_TEST

/* Finding 1, second half: SAME was stored in an earlier run (when it was
 * unique); now the server lists it twice.  We cannot tell which copy we
 * have: neither is fetched or deleted, the others are. */
START_TEST(test_duplicate_uidl_stored_earlier)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int rc;

	if (!env_init(&e, "test_duplicate_uidl_stored_earlier"))
		return;
	drop_add(&e, &d, 2, "SAME", 200);
	rc = run_pop3(&e, &d, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert_int_eq(stored_count(&e, 2, 0), 1);
	/* the server now lists a1 SAME SAME a4 */
	d.n = 0;
	drop_same_uidl_twice(&e, &d);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_none_lost(&d);
	ck_assert_int_eq(stored_count(&e, 1, 0), 1);
	ck_assert_int_eq(stored_count(&e, 2, 0), 1);
	ck_assert_int_eq(stored_count(&e, 4, 0), 1);
	ck_assert_int_eq(fs.retrieved[2] + fs.retrieved[3], 0);
	ck_assert(!fs.deleted[2] && !fs.deleted[3]);
	ck_assert(fs.deleted[1] && fs.deleted[4]);
	assert_err(&e, "one was stored earlier, so none of them is fetched or deleted");
	ck_assert_int_eq(d.n, 2);
	env_dispose(&e);
}
END_TEST

/* Finding 2: user names that the state file must carry as they are
 * ('#' first, spaces, 8-bit bytes): three --keep runs store each message
 * once. */
START_TEST(test_user_names)
{
	static const char *const users[] = { "#alice", "bob smith", "j\xc3\xbcrgen", "%23alice" };
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int run, k, rc;

	if (!env_init(&e, "test_user_names"))
		return;
	drop_add(&e, &d, 1, "u1", 100);
	drop_add(&e, &d, 2, "u2", 100);
	for (run = 0; run < 3; run++) {
		rc = run_pop3(&e, &d, users[_i], 1, FAKE_NORMAL, 0, 0, NULL, &fs);
		ck_assert_msg(rc == 0, "run %d exit %d", run, rc);
		assert_out(&e, run ? "fetched 0 messages" : "fetched 2 messages");
		for (k = 1; k <= 2; k++)
			ck_assert_int_eq(stored_count(&e, k, 0), 1);
	}
	env_dispose(&e);
}
END_TEST

/* Two accounts that differ only in the escaping ("#alice" and "%23alice"
 * must not share their records). */
START_TEST(test_user_names_distinct)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int rc;

	if (!env_init(&e, "test_user_names_distinct"))
		return;
	drop_add(&e, &d, 1, "u1", 100);
	rc = run_pop3(&e, &d, "#alice", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	rc = run_pop3(&e, &d, "%23alice", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	/* another account: its own copy */
	ck_assert_int_eq(stored_count(&e, 1, 0), 2);
	env_dispose(&e);
}
END_TEST

/* Finding 3: one empty listing (and one that lacks a message) must not
 * make the state forget what was delivered. */
START_TEST(test_empty_listing)
{
	env e;
	maildrop d = { 0 }, empty = { 0 }, half = { 0 };
	fake_server fs;
	int k, rc;

	if (!env_init(&e, "test_empty_listing"))
		return;
	drop_add(&e, &d, 1, "e1", 100);
	drop_add(&e, &d, 2, "e2", 100);
	drop_add(&e, &half, 1, "e1", 100);
	rc = run_pop3(&e, &d, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	rc = run_pop3(&e, &empty, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_out(&e, "fetched 0 messages");
	rc = run_pop3(&e, &half, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	rc = run_pop3(&e, &empty, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	/* e2 was missing from three listings, but within minutes */
	rc = run_pop3(&e, &d, "bob", 1, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_out(&e, "fetched 0 messages");
	ck_assert_int_eq(fs.retrieved[1] + fs.retrieved[2], 0);
	for (k = 1; k <= 2; k++)
		ck_assert_int_eq(stored_count(&e, k, 0), 1);
	env_dispose(&e);
}
END_TEST

/* After our own DELE and QUIT the UIDL is forgotten at once: a server
 * that gives the same UIDL to a new message (RFC 1939 allows it once the
 * old one is gone) gets the new message fetched, never deleted unread. */
START_TEST(test_uidl_reused_after_delete)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int rc;

	if (!env_init(&e, "test_uidl_reused_after_delete"))
		return;
	drop_add(&e, &d, 1, "r1", 100);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert_int_eq(d.n, 0);
	drop_add(&e, &d, 2, "r1", 100);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_none_lost(&d);
	ck_assert_int_eq(stored_count(&e, 2, 0), 1);
	env_dispose(&e);
}
END_TEST

/* Finding 8: the rename into new/ fails (new/ is a file): exit 1, the
 * report says the messages are stored but still in tmp/, nothing is
 * deleted; a later run with new/ fixed moves them and fetches nothing. */
START_TEST(test_new_not_writable)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	char sub[300];
	int rc;

	if (!env_init(&e, "test_new_not_writable"))
		return;
	drop_add(&e, &d, 1, "n1", 100);
	drop_add(&e, &d, 2, "n2", 100);
	ck_assert_int_eq(mkdir(e.c.md, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/new", e.c.md);
	spit(sub, "not a folder", 12);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 1, "exit %d", rc);
	assert_none_lost(&d);
	ck_assert_int_eq(d.n, 2);
	assert_err(&e, "pop3: 2 stored messages are still in ");
	ck_assert_int_eq(stored_count(&e, 1, 1) + stored_count(&e, 2, 1), 2);
	ck_assert_int_eq(unlink(sub), 0);
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_out(&e, "fetched 0 messages");
	ck_assert_int_eq(stored_count(&e, 1, 0), 1);
	ck_assert_int_eq(stored_count(&e, 2, 0), 1);
	ck_assert_int_eq(d.n, 0);
	env_dispose(&e);
}
END_TEST

/* Finding 8: the state file cannot be saved (a full filesystem: a small
 * tmpfs, mounted when we are root; skipped otherwise).  Nothing is
 * reported as fetched, nothing is deleted, and the report says so. */
START_TEST(test_state_not_saved)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	char filler[300];

	if (!env_init(&e, "test_state_not_saved"))
		return;
	if (geteuid() != 0 || mkdir(e.c.md, 0700) != 0 ||
	    mount("tmpfs", e.c.md, "tmpfs", 0, "size=64k") != 0) {
		fprintf(stderr, "SKIPPED: test_state_not_saved (needs root for a tmpfs)\n");
		env_dispose(&e);
		return;
	}
	/* create the Maildir, then fill the disk to one free page: the
	 * message file fits, the state file's temporary copy does not */
	drop_add(&e, &d, 1, "s1", 100);
	{
		maildrop none = { 0 };
		run_pop3(&e, &none, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	}
	snprintf(filler, sizeof(filler), "%s/filler", e.c.md);
	{
		FILE *f = fopen(filler, "w");
		static char page[4096];
		long pages = 0;

		ck_assert_ptr_nonnull(f);
		setvbuf(f, NULL, _IONBF, 0);
		while (fwrite(page, 1, sizeof(page), f) == sizeof(page))
			pages++;
		fclose(f);
		/* free exactly one page again */
		ck_assert_int_eq(truncate(filler, (pages - 1) * 4096), 0);
	}
	/* The checks are made after the unmount, so a failing one does not
	 * leave the tmpfs mounted. */
	{
		int rc1, rc2, n1, n2, del1, said, fetched, stored1, stored2;
		size_t len;
		char *out, *err;

		rc1 = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
		n1 = d.n;
		del1 = fs.deleted[1];
		out = test_read_file(e.c.out, &len);
		err = test_read_file(e.c.err, &len);
		fetched = out && strstr(out, "fetched 1") != NULL;
		said = err && strstr(err, "pop3: 1 downloaded message was not stored") != NULL;
		free(out);
		stored1 = stored_count(&e, 1, 0);
		/* room again: the next run stores it once */
		unlink(filler);
		rc2 = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
		stored2 = stored_count(&e, 1, 0);
		n2 = d.n;
		umount(e.c.md);
		ck_assert_msg(rc1 == 1, "exit %d", rc1);
		assert_none_lost(&d);
		ck_assert_int_eq(n1, 1);
		ck_assert(!del1);
		ck_assert_msg(said && !fetched, "stderr: %s", err ? err : "");
		free(err);
		ck_assert_int_eq(stored1, 0);
		ck_assert_msg(rc2 == 0, "exit %d", rc2);
		ck_assert_int_eq(stored2, 1);
		ck_assert_int_eq(n2, 0);
	}
	env_dispose(&e);
}
END_TEST

/* Finding 10 (documented): a DELE the server refuses stops the run
 * before QUIT, so no deletion takes effect; everything stays stored once
 * and a second run fetches nothing again. */
START_TEST(test_dele_refused)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int k, run, rc;

	if (!env_init(&e, "test_dele_refused"))
		return;
	drop_add(&e, &d, 1, "d1", 100);
	drop_add(&e, &d, 2, "d2", 100);
	drop_add(&e, &d, 3, "d3", 100);
	for (run = 0; run < 2; run++) {
		rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 2, 0, NULL, &fs);
		ck_assert_msg(rc == 1, "exit %d", rc);
		ck_assert(!fs.quit);
		assert_none_lost(&d);
		ck_assert_int_eq(d.n, 3);
		assert_out(&e, run ? "fetched 0 messages" : "fetched 3 messages");
		for (k = 1; k <= 3; k++)
			ck_assert_int_eq(stored_count(&e, k, 0), 1);
	}
	env_dispose(&e);
}
END_TEST

/* Finding 10 (documented): --timeout bounds each read, not the run: a
 * server sending 4 KiB every 1.2 s keeps a --timeout 2 run alive, and the
 * message arrives whole. */
START_TEST(test_slow_server)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	int rc;

	if (!env_init(&e, "test_slow_server"))
		return;
	drop_add(&e, &d, 1, "slow1", 14000);
	rc = run_pop3(&e, &d, "bob", 1, FAKE_RETR_SLOW, 0, 1200, "2", &fs);
	ck_assert_msg(rc == 0, "exit %d", rc);
	ck_assert_int_eq(stored_count(&e, 1, 0), 1);
	env_dispose(&e);
}
END_TEST

/* Issue 11 finding 4 for pop3: its report cannot be written (stdout is
 * /dev/full): exit 1 with the reason, and the mail is still stored once
 * (the report is written last, after the messages are safe). */
START_TEST(test_stdout_full)
{
	env e;
	maildrop d = { 0 };
	fake_server fs;
	char saved[256];
	int rc;

	if (!env_init(&e, "test_stdout_full"))
		return;
	if (access("/dev/full", W_OK) != 0) {
		fprintf(stderr, "SKIPPED: test_stdout_full (no /dev/full)\n");
		env_dispose(&e);
		return;
	}
	drop_add(&e, &d, 1, "f1", 100);
	memcpy(saved, e.c.out, sizeof(saved));
	snprintf(e.c.out, sizeof(e.c.out), "/dev/full");
	rc = run_pop3(&e, &d, "bob", 0, FAKE_NORMAL, 0, 0, NULL, &fs);
	memcpy(e.c.out, saved, sizeof(saved));
	ck_assert_msg(rc == 1, "exit %d", rc);
	assert_err(&e, "mimeo: cannot write to standard output: No space left on device");
	assert_none_lost(&d);
	ck_assert_int_eq(stored_count(&e, 1, 0), 1);
	env_dispose(&e);
}
END_TEST

static Suite *pop3_cli_suite(void)
{
	Suite *s = suite_create("pop3_cli");
	TCase *tc = tcase_create("hostile-server");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_duplicate_uidl);
	tcase_add_test(tc, test_duplicate_uidl_stored_earlier);
	tcase_add_loop_test(tc, test_user_names, 0, 4);
	tcase_add_test(tc, test_user_names_distinct);
	tcase_add_test(tc, test_empty_listing);
	tcase_add_test(tc, test_uidl_reused_after_delete);
	tcase_add_test(tc, test_new_not_writable);
	tcase_add_test(tc, test_state_not_saved);
	tcase_add_test(tc, test_dele_refused);
	tcase_add_test(tc, test_slow_server);
	tcase_add_test(tc, test_stdout_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(pop3_cli_suite());
}
