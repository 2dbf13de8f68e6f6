/*
 * test_pop3_server.c - `mimeo pop3` against a real Dovecot started by
 * scripts/dovecot-fixture.sh on 127.0.0.1 (a free port, a private folder
 * under /tmp, a passwd-file user; stopped by the PID in its master.pid).
 * Each test has its own server, so the tests run in parallel with anything.
 * When Dovecot is not installed the program prints SKIPPED and exits 77,
 * meson's code for a skipped test.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3_testlib.h"
#include "testutil.h"

#include "mimeo-config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "wonderland"

typedef struct fixture {
	char *dir;           /* private temp folder */
	char srv[256];       /* Dovecot's folder */
	char md[256];        /* the client's Maildir */
	char pw[256];        /* password file */
	char out[256], err[256];
	char port[16];
	char tls_port[16];
	char cafile[300];
	const char *host;    /* what the client connects to */
	int started;
} fixture;

static const char *cli(void)
{
	return getenv("MIMEO_CLI");
}

static const char *script(void)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/scripts/dovecot-fixture.sh", test_source_dir());
	return path;
}

/* Value of "KEY=" in a file written by the fixture. */
static int read_key(const char *path, const char *key, char *out, size_t n)
{
	size_t len, klen = strlen(key);
	char *data = test_read_file(path, &len), *p;
	int found = 0;

	if (!data)
		return 0;
	for (p = data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t v = strcspn(p + klen + 1, "\n");
			if (v < n) {
				memcpy(out, p + klen + 1, v);
				out[v] = '\0';
				found = 1;
			}
			break;
		}
	}
	free(data);
	return found;
}

/* A free port for the TLS listener (bind to port 0, read it, close).  This
 * is racy in theory; a clash only makes the fixture's start fail. */
static int pick_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Does this machine have IPv6 on loopback? */
static int have_ipv6_loopback(void)
{
	/* /proc files report size 0: read line by line */
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char line[256];
	int ok = 0;

	while (f && !ok && fgets(line, sizeof(line), f))
		ok = strncmp(line, "00000000000000000000000000000001", 32) == 0;
	if (f)
		fclose(f);
	return ok;
}

/* tls: 1 = with a TLS listener; 2 = plain, listening on ::1 too */
static void fixture_start(fixture *f, int tls)
{
	char tlsp[16];
	int rc;

	memset(f, 0, sizeof(*f));
	f->dir = make_temp_dir();
	snprintf(f->srv, sizeof(f->srv), "%s/srv", f->dir);
	snprintf(f->md, sizeof(f->md), "%s/md", f->dir);
	snprintf(f->pw, sizeof(f->pw), "%s/pw", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
	snprintf(f->err, sizeof(f->err), "%s/err", f->dir);
	spit(f->pw, PASSWORD "\n", strlen(PASSWORD) + 1);
	f->host = "127.0.0.1";
	if (tls == 2) {
		char *argv[] = { "/bin/sh", (char *)script(), "start", f->srv, "--ipv6", NULL };
		rc = run_cmd(argv, f->out, f->err, 60, NULL);
	} else if (tls) {
		snprintf(tlsp, sizeof(tlsp), "%d", pick_port());
		char *argv[] = { "/bin/sh", (char *)script(), "start", f->srv, "--tls-port", tlsp,
				 NULL };
		rc = run_cmd(argv, f->out, f->err, 60, NULL);
	} else {
		char *argv[] = { "/bin/sh", (char *)script(), "start", f->srv, NULL };
		rc = run_cmd(argv, f->out, f->err, 60, NULL);
	}
	f->started = 1;
	if (rc != 0) {
		size_t len;
		char *e = test_read_file(f->err, &len);
		ck_abort_msg("dovecot-fixture start failed (%d): %s", rc, e ? e : "");
	}
	ck_assert(read_key(f->out, "PORT", f->port, sizeof(f->port)));
	if (tls == 1) {
		ck_assert(read_key(f->out, "TLS_PORT", f->tls_port, sizeof(f->tls_port)));
		ck_assert(read_key(f->out, "CAFILE", f->cafile, sizeof(f->cafile)));
	}
}

static void fixture_stop(fixture *f)
{
	char out[300], err[300];

	if (!f->started)
		return;
	snprintf(out, sizeof(out), "%s/stop.out", f->dir);
	snprintf(err, sizeof(err), "%s/stop.err", f->dir);
	{
		/* a throw-away server: SIGKILL its process group at once */
		char *argv[] = { "/bin/sh", (char *)script(), "kill", f->srv, NULL };
		run_cmd(argv, out, err, 30, NULL);
	}
	remove_tree(f->dir);
	free(f->dir);
	f->started = 0;
}

/* Seed messages (paths) into the server's Maildir, in this order. */
static void seed(fixture *f, const char *const *paths)
{
	char *argv[16];
	int n = 0, rc;

	argv[n++] = "/bin/sh";
	argv[n++] = (char *)script();
	argv[n++] = "seed";
	argv[n++] = f->srv;
	while (*paths && n < 15)
		argv[n++] = (char *)*paths++;
	argv[n] = NULL;
	rc = run_cmd(argv, f->out, f->err, 60, NULL);
	ck_assert_int_eq(rc, 0);
}

static int server_messages(fixture *f)
{
	char p[300];
	int n;

	snprintf(p, sizeof(p), "%s/mail/alice/new", f->srv);
	n = count_files(p);
	snprintf(p, sizeof(p), "%s/mail/alice/cur", f->srv);
	return n + count_files(p);
}

/* Run `mimeo pop3` with the fixture's host/port/user and extra options
 * (NULL-terminated); returns the exit status. */
static int fetch(fixture *f, const char *port, const char *const *extra)
{
	char *argv[32];
	int n = 0;

	argv[n++] = (char *)cli();
	argv[n++] = "pop3";
	argv[n++] = "--host";
	argv[n++] = (char *)f->host;
	argv[n++] = "--port";
	argv[n++] = (char *)(port ? port : f->port);
	argv[n++] = "--user";
	argv[n++] = "alice";
	argv[n++] = "--password-file";
	argv[n++] = f->pw;
	argv[n++] = "--timeout";
	argv[n++] = "20";
	while (extra && *extra && n < 28)
		argv[n++] = (char *)*extra++;
	argv[n++] = "-o";
	argv[n++] = f->md;
	argv[n] = NULL;
	return run_cmd(argv, f->out, f->err, 120, NULL);
}

static void assert_no_password(fixture *f)
{
	ck_assert(!file_contains(f->out, PASSWORD));
	ck_assert(!file_contains(f->err, PASSWORD));
}

static void assert_output(fixture *f, const char *want)
{
	size_t len;
	char *out = test_read_file(f->out, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(strstr(out, want) != NULL, "output '%s' lacks '%s'", out, want);
	free(out);
}

/* Test messages, written into the fixture folder; `want` is what the
 * Maildir file must hold (LF line ends; the server adds the final line
 * break of a message that lacks one). */
typedef struct msg {
	char path[300];
	char *want;
	size_t want_len;
} msg;

static void make_msg(fixture *f, msg *m, const char *name, const char *text, size_t len,
		     int add_nl)
{
	snprintf(m->path, sizeof(m->path), "%s/%s", f->dir, name);
	spit(m->path, text, len);
	m->want = malloc(len + 2);
	ck_assert_ptr_nonnull(m->want);
	memcpy(m->want, text, len);
	m->want_len = len;
	if (add_nl)
		m->want[m->want_len++] = '\n';
}

/* Stop the server and free the messages made with make_msg. */
static void fixture_done(fixture *f, msg *ms, size_t n)
{
	size_t i;

	fixture_stop(f);
	for (i = 0; i < n; i++)
		free(ms[i].want);
}

/* A message with a base64 attachment of `bytes` random bytes. */
static char *big_message(size_t bytes, size_t *len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t cap = bytes * 4 / 3 + bytes / 50 + 4096, n = 0, i;
	uint64_t seed = 1234;
	char *m = malloc(cap);

	ck_assert_ptr_nonnull(m);
	n += (size_t)snprintf(m + n, cap - n,
			      "From: a@example.com\nSubject: big\nMIME-Version: 1.0\n"
			      "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
			      "Content-Type: text/plain\n\n.see attachment\n--b\n"
			      "Content-Type: application/octet-stream\n"
			      "Content-Transfer-Encoding: base64\n\n");
	for (i = 0; i < bytes / 3; i++) {
		uint64_t r = test_rand(&seed);
		m[n++] = b64[r & 63];
		m[n++] = b64[(r >> 6) & 63];
		m[n++] = b64[(r >> 12) & 63];
		m[n++] = b64[(r >> 18) & 63];
		if (i % 19 == 18)
			m[n++] = '\n';
	}
	n += (size_t)snprintf(m + n, cap - n, "\n--b--\n");
	*len = n;
	return m;
}

/* new/ holds exactly the messages of `ms` (each once), nothing else. */
static void assert_maildir(fixture *f, msg *ms, size_t nmsgs)
{
	char p[300];
	DIR *d;
	struct dirent *de;
	size_t i, seen[8] = { 0 };

	snprintf(p, sizeof(p), "%s/new", f->md);
	ck_assert_int_eq(count_files(p), (int)nmsgs);
	d = opendir(p);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char fp[600];
		size_t len;
		char *data;
		int matched = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%s/%s", p, de->d_name);
		data = test_read_file(fp, &len);
		ck_assert_ptr_nonnull(data);
		for (i = 0; i < nmsgs && !matched; i++) {
			if (len == ms[i].want_len && memcmp(data, ms[i].want, len) == 0) {
				seen[i]++;
				matched = 1;
			}
		}
		ck_assert_msg(matched, "%s (%zu bytes) matches no message", de->d_name, len);
		free(data);
	}
	closedir(d);
	for (i = 0; i < nmsgs; i++)
		ck_assert_msg(seen[i] == 1, "message %zu delivered %zu times", i, seen[i]);
	snprintf(p, sizeof(p), "%s/tmp", f->md);
	ck_assert_int_eq(count_files(p), 0);
}

static const char dots_text[] =
	"From: a@example.com\nSubject: dots\n\n.leading dot\n..two dots\n.\n. space\n"
	"middle\nlast line without newline";
static const char plain_text[] = "From: b@example.com\nSubject: plain\n\nhello\n";

/* USER/PASS; --keep twice (the second fetches nothing), then a run
 * without --keep deletes what was delivered; a wrong password fails
 * cleanly. */
START_TEST(test_userpass_keep_then_delete)
{
	fixture f;
	msg ms[3];
	size_t big_len;
	char *big = big_message(5u << 20, &big_len);
	const char *paths[4];
	static const char *const keep[] = { "--keep", NULL };
	char want[128];
	int rc;

	fixture_start(&f, 0);
	make_msg(&f, &ms[0], "dots.eml", dots_text, sizeof(dots_text) - 1, 1);
	make_msg(&f, &ms[1], "big.eml", big, big_len, 0);
	make_msg(&f, &ms[2], "plain.eml", plain_text, sizeof(plain_text) - 1, 0);
	free(big);
	paths[0] = ms[0].path;
	paths[1] = ms[1].path;
	paths[2] = ms[2].path;
	paths[3] = NULL;
	seed(&f, paths);

	rc = fetch(&f, NULL, keep);
	ck_assert_msg(rc == 0, "exit %d", rc);
	snprintf(want, sizeof(want), "fetched 3 messages, %zu bytes",
		 ms[0].want_len + ms[1].want_len + ms[2].want_len);
	assert_output(&f, want);
	assert_maildir(&f, ms, 3);
	assert_no_password(&f);
	ck_assert_int_eq(server_messages(&f), 3);

	rc = fetch(&f, NULL, keep);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_output(&f, "fetched 0 messages, 0 bytes");
	assert_maildir(&f, ms, 3);
	ck_assert_int_eq(server_messages(&f), 3);

	/* without --keep: what was fetched earlier is deleted, not fetched */
	rc = fetch(&f, NULL, NULL);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_output(&f, "fetched 0 messages, 0 bytes");
	assert_maildir(&f, ms, 3);
	ck_assert_int_eq(server_messages(&f), 0);

	/* a wrong password: a clear error, the password never shown */
	spit(f.pw, "not-" PASSWORD "\n", strlen(PASSWORD) + 5);
	rc = fetch(&f, NULL, NULL);
	ck_assert_int_eq(rc, 1);
	ck_assert(file_contains(f.err, "login failed"));
	assert_no_password(&f);

	fixture_done(&f, ms, 3);
}
END_TEST

/* APOP, deleting as it goes; a message that arrives later is fetched by
 * the next run, and nothing is delivered twice. */
START_TEST(test_apop_delete)
{
	fixture f;
	msg ms[3];
	const char *paths[3];
#if MIMEO_HAVE_OPENSSL
	static const char *const apop[] = { "--apop", NULL };
#else
	/* APOP needs OpenSSL's MD5: USER/PASS instead */
	static const char *const apop[] = { NULL };
	printf("SKIPPED: the APOP login of apop (built without OpenSSL)\n");
#endif
	int rc, v6 = have_ipv6_loopback();

	fixture_start(&f, v6 ? 2 : 0);
	make_msg(&f, &ms[0], "dots.eml", dots_text, sizeof(dots_text) - 1, 1);
	make_msg(&f, &ms[1], "plain.eml", plain_text, sizeof(plain_text) - 1, 0);
	make_msg(&f, &ms[2], "late.eml", "Subject: late\n\n..\n", 18, 0);
	paths[0] = ms[0].path;
	paths[1] = ms[1].path;
	paths[2] = NULL;
	seed(&f, paths);
	rc = fetch(&f, NULL, apop);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_output(&f, "fetched 2 messages, ");
	ck_assert_int_eq(server_messages(&f), 0);
	assert_maildir(&f, ms, 2);

	paths[0] = ms[2].path;
	paths[1] = NULL;
	seed(&f, paths);
	/* the same maildrop over IPv6 when the machine has ::1 (the state
	 * is kept per user@host, so this one is a new account: the Maildir
	 * must still not get a duplicate, since the others were deleted) */
	if (v6)
		f.host = "::1";
	else
		printf("SKIPPED: the IPv6 part of apop (no ::1 here)\n");
	rc = fetch(&f, NULL, apop);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_output(&f, "fetched 1 messages, 18 bytes");
	ck_assert_int_eq(server_messages(&f), 0);
	assert_maildir(&f, ms, 3);
	assert_no_password(&f);
	fixture_done(&f, ms, 3);
}
END_TEST

/* PIDs of the server's pop3 session processes: members of the master's
 * process group whose command is "pop3" (never a search by name across
 * the system). */
static int session_pids(fixture *f, int *pids, int max)
{
	char p[300], buf[512];
	size_t len;
	char *mp;
	long master;
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/run/master.pid", f->srv);
	mp = test_read_file(p, &len);
	if (!mp)
		return 0;
	master = strtol(mp, NULL, 10);
	free(mp);
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		FILE *st;
		char *rp;
		long pgrp = 0;
		char comm[64] = "", state;
		int ppid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		st = fopen(p, "r");
		if (!st)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, st);
		fclose(st);
		buf[len] = '\0';
		rp = strrchr(buf, ')');
		if (!rp || !strchr(buf, '('))
			continue;
		snprintf(comm, sizeof(comm), "%.*s", (int)(rp - strchr(buf, '(') - 1),
			 strchr(buf, '(') + 1);
		if (sscanf(rp + 2, "%c %d %ld", &state, &ppid, &pgrp) != 3)
			continue;
		if (pgrp == master && strcmp(comm, "pop3") == 0)
			pids[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

static long file_size_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long size = -1;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p[600];
		struct stat sb;
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &sb) == 0)
			size = (long)sb.st_size;
	}
	closedir(d);
	return size;
}

/* The server's session dies in the middle of a big RETR: nothing partial
 * in new/, nothing deleted; the next run completes the job. */
START_TEST(test_killed_mid_transfer)
{
	fixture f;
	msg ms[2];
	size_t big_len;
	char *big = big_message(24u << 20, &big_len);
	const char *paths[3];
	char tmpdir[300], newdir[300];
	char *argv[] = { (char *)cli(), "pop3", "--host", "127.0.0.1", "--port", NULL, "--user",
			 "alice", "--password-file", NULL, "--timeout", "20", "-o", NULL, NULL };
	int pid, rc, killed = 0, pids[8], i, n;
	struct timespec t0, now;

	fixture_start(&f, 0);
	make_msg(&f, &ms[0], "big.eml", big, big_len, 0);
	make_msg(&f, &ms[1], "plain.eml", plain_text, sizeof(plain_text) - 1, 0);
	free(big);
	paths[0] = ms[0].path;
	paths[1] = ms[1].path;
	paths[2] = NULL;
	seed(&f, paths);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", f.md);
	snprintf(newdir, sizeof(newdir), "%s/new", f.md);
	argv[5] = f.port;
	argv[9] = f.pw;
	argv[13] = f.md;
	pid = spawn_cmd(argv, f.out, f.err);
	/* Find the session process as soon as it exists (after login), so
	 * that when the download starts (the first 64 KiB reach tmp/) the
	 * kill is immediate: the message must still be far from complete. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = 0;
	do {
		if (n == 0)
			n = session_pids(&f, pids, 8);
		if (n > 0 && file_size_in(tmpdir) > 0) {
			for (i = 0; i < n; i++)
				killed += kill(pids[i], SIGKILL) == 0;
			break;
		}
		usleep(n ? 50 : 500);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - t0.tv_sec < 30);
	rc = wait_cmd(pid, 60);
	ck_assert_msg(killed > 0, "no session process to kill");
	ck_assert_msg(rc == 1, "exit %d (the transfer was not interrupted?)", rc);
	ck_assert_int_eq(count_files(newdir), 0);
	ck_assert_int_eq(count_files(tmpdir), 0);
	ck_assert_int_eq(server_messages(&f), 2);
	assert_no_password(&f);

	/* the rerun completes the job */
	rc = fetch(&f, NULL, NULL);
	ck_assert_msg(rc == 0, "exit %d", rc);
	assert_output(&f, "fetched 2 messages, ");
	assert_maildir(&f, ms, 2);
	ck_assert_int_eq(server_messages(&f), 0);
	fixture_done(&f, ms, 2);
}
END_TEST

#if MIMEO_HAVE_OPENSSL
/* STLS and implicit TLS, verified against the fixture's CA; refused
 * without it; accepted with --insecure. */
START_TEST(test_tls)
{
	fixture f;
	msg ms[1];
	const char *paths[2];
	int rc;

	fixture_start(&f, 1);
	make_msg(&f, &ms[0], "plain.eml", plain_text, sizeof(plain_text) - 1, 0);
	paths[0] = ms[0].path;
	paths[1] = NULL;
	seed(&f, paths);
	{
		const char *extra[] = { "--starttls", "--cafile", f.cafile, "--keep", NULL };
		rc = fetch(&f, NULL, extra);
		ck_assert_msg(rc == 0, "exit %d", rc);
		assert_output(&f, "fetched 1 messages, ");
	}
	{
		/* the same maildrop over port 995-style TLS: nothing new */
		const char *extra[] = { "--tls", "--cafile", f.cafile, "--keep", NULL };
		rc = fetch(&f, f.tls_port, extra);
		ck_assert_msg(rc == 0, "exit %d", rc);
		assert_output(&f, "fetched 0 messages, 0 bytes");
	}
	{
		/* not signed by a system CA: refused */
		const char *extra[] = { "--tls", "--keep", NULL };
		rc = fetch(&f, f.tls_port, extra);
		ck_assert_int_eq(rc, 1);
		ck_assert(file_contains(f.err, "certificate"));
	}
	{
		const char *extra[] = { "--starttls", "--insecure", NULL };
		rc = fetch(&f, NULL, extra);
		ck_assert_msg(rc == 0, "exit %d", rc);
		ck_assert_int_eq(server_messages(&f), 0);
	}
	assert_maildir(&f, ms, 1);
	assert_no_password(&f);
	fixture_done(&f, ms, 1);
}
END_TEST
#endif

static void add_case(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

/* argv[1] picks one test case (meson runs them as parallel tests). */
int main(int argc, char **argv)
{
	Suite *s;
	SRunner *sr;
	char cmd[1200];
	int rc, failed;

	if (!cli() || access(cli(), X_OK) != 0) {
		printf("SKIPPED: MIMEO_CLI is not set (run through meson test)\n");
		return 77;
	}
	/* (Check's assertions only work inside tests: plain system() here) */
	snprintf(cmd, sizeof(cmd), "/bin/sh '%s' available", script());
	rc = system(cmd);
	if (rc != 0) {
		printf("SKIPPED: Dovecot is not installed "
		       "(apt-get install dovecot-core dovecot-pop3d)\n");
		return 77;
	}
	if (argc > 1 && strcmp(argv[1], "tls") == 0) {
#if MIMEO_HAVE_OPENSSL
		if (access("/usr/bin/openssl", X_OK) != 0) {
			printf("SKIPPED: tls (no openssl command to make a certificate)\n");
			return 77;
		}
#else
		printf("SKIPPED: tls (built without OpenSSL)\n");
		return 77;
#endif
	}
	s = suite_create("pop3-server");
	add_case(s, "keep", test_userpass_keep_then_delete);
	add_case(s, "apop", test_apop_delete);
	add_case(s, "crash", test_killed_mid_transfer);
#if MIMEO_HAVE_OPENSSL
	add_case(s, "tls", test_tls);
#endif
	sr = srunner_create(s);
	srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
