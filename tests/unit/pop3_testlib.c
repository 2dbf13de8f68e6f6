/*
 * pop3_testlib.c - fake POP3 server, command runner and file helpers for
 * the POP3 tests.  Everything listens on 127.0.0.1 only, on a port the
 * kernel picks (the listening socket is kept, so there is no race), and
 * every wait is bounded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3_testlib.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

static int run_wait(pid_t pid, int timeout_s, double *secs);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send everything; 0 or -1 when the client has gone. */
static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait (at most 20 s) until the client closes the connection. */
static void wait_close(int fd)
{
	double end = now_s() + 20;
	char buf[4096];

	while (now_s() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 100) > 0) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return;
		}
	}
}

typedef struct outbuf {
	char *p;
	size_t n, cap;
} outbuf;

static void out_put(outbuf *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		o->cap = (o->n + n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			abort();
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void out_puts(outbuf *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static size_t nmessages(const fake_server *fs)
{
	size_t n = 0;

	while (fs->messages && fs->messages[n])
		n++;
	return n;
}

/* Byte-stuff a CRLF message (RFC 1939 section 3); `lines` < 0 = all body
 * lines, else TOP: headers plus that many body lines. */
static void out_message(outbuf *o, const char *msg, long lines)
{
	const char *p = msg;
	int in_body = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (in_body && lines >= 0 && lines-- == 0)
			break;
		if (*p == '.')
			out_put(o, ".", 1);
		out_put(o, p, n);
		if (!in_body && (n == 2 && p[0] == '\r'))
			in_body = 1;
		p += n;
	}
	out_puts(o, ".\r\n");
}

static void log_cmd(fake_server *fs, const char *line, size_t n)
{
	pthread_mutex_lock(&fs->lock);
	if (fs->log_len + n + 2 < sizeof(fs->log)) {
		memcpy(fs->log + fs->log_len, line, n);
		fs->log_len += n;
		fs->log[fs->log_len++] = '\n';
		fs->log[fs->log_len] = '\0';
	}
	pthread_mutex_unlock(&fs->lock);
}

/* Answer one command; returns 0 to go on, 1 to stop (and close). */
static int answer(fake_server *fs, int fd, const char *cmd, outbuf *o)
{
	size_t i, n = nmessages(fs);
	char line[128];

	if (fs->sasl_pending) {
		/* RFC 5034: the response to our "+ " challenge */
		fs->sasl_pending = 0;
		out_puts(o, cmd[0] ? "+OK logged in\r\n" : "-ERR empty response\r\n");
	} else if (strcmp(cmd, "AUTH PLAIN") == 0) {
		fs->sasl_pending = 1;
		out_puts(o, "+ \r\n");
	} else if (strncmp(cmd, "CAPA", 4) == 0) {
		out_puts(o, "+OK capabilities\r\nUSER\r\nUIDL\r\nTOP\r\nSASL PLAIN\r\n");
		if (fs->pipelining)
			out_puts(o, "PIPELINING\r\n");
		out_puts(o, ".\r\n");
	} else if (!strncmp(cmd, "USER ", 5) || !strncmp(cmd, "PASS ", 5) ||
		   !strncmp(cmd, "APOP ", 5) || !strncmp(cmd, "AUTH PLAIN ", 11) ||
		   !strncmp(cmd, "NOOP", 4) || !strncmp(cmd, "RSET", 4)) {
		out_puts(o, "+OK\r\n");
	} else if (!strncmp(cmd, "STAT", 4)) {
		size_t total = 0;
		for (i = 0; i < n; i++)
			total += strlen(fs->messages[i]);
		snprintf(line, sizeof(line), "+OK %zu %zu\r\n", n, total);
		out_puts(o, line);
	} else if (!strncmp(cmd, "LIST", 4) || !strncmp(cmd, "UIDL", 4)) {
		out_puts(o, "+OK\r\n");
		for (i = 0; i < n; i++) {
			if (cmd[0] == 'L')
				snprintf(line, sizeof(line), "%zu %zu\r\n", i + 1,
					 strlen(fs->messages[i]));
			else if (fs->uids)
				snprintf(line, sizeof(line), "%zu %s\r\n", i + 1, fs->uids[i]);
			else
				snprintf(line, sizeof(line), "%zu uid-%zu\r\n", i + 1, i + 1);
			out_puts(o, line);
		}
		out_puts(o, ".\r\n");
	} else if (!strncmp(cmd, "RETR ", 5) || !strncmp(cmd, "TOP ", 4)) {
		unsigned long num = strtoul(cmd + (cmd[0] == 'R' ? 5 : 4), NULL, 10);
		long lines = -1;
		char chunk[65536];

		if (cmd[0] == 'T') {
			const char *sp = strchr(cmd + 4, ' ');
			lines = sp ? strtol(sp + 1, NULL, 10) : 0;
		}
		if (num == 0 || num > n) {
			out_puts(o, "-ERR no such message\r\n");
			return 0;
		}
		if (cmd[0] == 'R' && num <= FAKE_MAX_MESSAGES)
			fs->retrieved[num]++;
		switch (fs->mode) {
		case FAKE_RETR_SLOW: {
			outbuf m = { NULL, 0, 0 };
			size_t off;

			out_puts(o, "+OK message follows\r\n");
			out_message(&m, fs->messages[num - 1], lines);
			if (send_all(fd, o->p, o->n)) {
				free(m.p);
				return 1;
			}
			o->n = 0;
			for (off = 0; off < m.n; off += 4096) {
				size_t k = m.n - off < 4096 ? m.n - off : 4096;

				if (off)
					usleep((useconds_t)fs->slow_ms * 1000);
				if (send_all(fd, m.p + off, k)) {
					free(m.p);
					return 1;
				}
			}
			free(m.p);
			return 0;
		}
		case FAKE_RETR_ENDLESS:
			for (i = 0; i < sizeof(chunk); i++)
				chunk[i] = (i % 64 == 63) ? '\n' : (i % 64 == 62 ? '\r' : 'y');
			if (send_all(fd, o->p, o->n) || send_all(fd, "+OK\r\n", 5))
				return 1;
			o->n = 0;
			while (send_all(fd, chunk, sizeof(chunk)) == 0)
				;
			return 1;
		case FAKE_RETR_LONG_LINE:
			memset(chunk, 'x', sizeof(chunk));
			if (send_all(fd, o->p, o->n) || send_all(fd, "+OK\r\n", 5))
				return 1;
			o->n = 0;
			while (send_all(fd, chunk, sizeof(chunk)) == 0)
				;
			return 1;
		case FAKE_RETR_STALL:
			if (send_all(fd, o->p, o->n) == 0)
				send_all(fd, "+OK\r\nSubject: part\r\n", 20);
			o->n = 0;
			wait_close(fd);
			return 1;
		case FAKE_RETR_EOF:
			if (send_all(fd, o->p, o->n) == 0)
				send_all(fd, "+OK\r\nSubject: part\r\n", 20);
			o->n = 0;
			return 1;
		default:
			out_puts(o, "+OK message follows\r\n");
			out_message(o, fs->messages[num - 1], lines);
		}
	} else if (!strncmp(cmd, "STLS", 4)) {
		if (fs->mode == FAKE_STLS_INJECT)
			out_puts(o, "+OK begin TLS\r\n-ERR injected before the handshake\r\n");
		else
			out_puts(o, "-ERR TLS not available\r\n");
	} else if (!strncmp(cmd, "DELE ", 5)) {
		unsigned long num = strtoul(cmd + 5, NULL, 10);

		if (num == 0 || num > n || (fs->dele_refuse && num == fs->dele_refuse)) {
			out_puts(o, "-ERR cannot delete that one\r\n");
		} else {
			if (num <= FAKE_MAX_MESSAGES)
				fs->deleted[num] = 1;
			out_puts(o, "+OK deleted\r\n");
		}
	} else if (!strncmp(cmd, "QUIT", 4)) {
		fs->quit = 1;
		out_puts(o, "+OK bye\r\n");
		return 1;
	} else {
		out_puts(o, "-ERR unknown command\r\n");
	}
	return 0;
}

static void *fake_thread(void *arg)
{
	fake_server *fs = arg;
	struct pollfd pfd = { fs->listen_fd, POLLIN, 0 };
	char buf[65536];
	size_t have = 0;
	outbuf o = { NULL, 0, 0 };
	int fd, stop = 0;
	double end = now_s() + 20;

	if (fs->listen_fd < 0) {
		fd = fs->conn_fd; /* fake_start_fd: already connected */
	} else {
		if (poll(&pfd, 1, 20000) <= 0)
			return NULL;
		fd = accept(fs->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
	}
	switch (fs->mode) {
	case FAKE_WRONG_GREETING:
		send_all(fd, "HELLO there\r\n", 13);
		wait_close(fd);
		goto out;
	case FAKE_GARBAGE: {
		uint64_t seed = 7;
		test_rand_bytes(&seed, buf, 4096);
		buf[0] = '\x01';
		send_all(fd, buf, 4096);
		wait_close(fd);
		goto out;
	}
	case FAKE_STALL_GREETING:
		wait_close(fd);
		goto out;
	case FAKE_LONG_GREETING:
		memset(buf, 'g', sizeof(buf));
		send_all(fd, "+OK ", 4);
		while (now_s() < end && send_all(fd, buf, sizeof(buf)) == 0)
			;
		goto out;
	default:
		break;
	}
	{
		static const char greeting[] =
			"+OK fake POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n";
		send_all(fd, greeting, sizeof(greeting) - 1);
	}
	while (!stop && now_s() < end) {
		struct pollfd cp = { fd, POLLIN, 0 };
		ssize_t n;
		char *p, *nl;
		int batch = 0;

		if (poll(&cp, 1, 200) <= 0)
			continue;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		p = buf;
		o.n = 0;
		while (!stop && (nl = memchr(p, '\n', have - (size_t)(p - buf))) != NULL) {
			size_t len = (size_t)(nl - p);
			if (len && p[len - 1] == '\r')
				len--;
			p[len] = '\0';
			log_cmd(fs, p, len);
			batch++;
			stop = answer(fs, fd, p, &o);
			p = nl + 1;
		}
		memmove(buf, p, have - (size_t)(p - buf));
		have -= (size_t)(p - buf);
		if (batch > fs->max_batch)
			fs->max_batch = batch;
		if (o.n && send_all(fd, o.p, o.n) != 0)
			break;
		if (have == sizeof(buf) - 1)
			break;
	}
out:
	free(o.p);
	close(fd);
	return NULL;
}

static void fake_init(fake_server *fs)
{
	fs->log_len = 0;
	fs->log[0] = '\0';
	fs->max_batch = 0;
	pthread_mutex_init(&fs->lock, NULL);
}

void fake_start_fd(fake_server *fs, int fd)
{
	fake_init(fs);
	fs->listen_fd = -1;
	fs->conn_fd = fd;
	ck_assert_int_eq(pthread_create(&fs->thread, NULL, fake_thread, fs), 0);
	fs->running = 1;
}

void fake_start(fake_server *fs)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	fake_init(fs);
	fs->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fs->listen_fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)fs->port);
	{
		/* so the same port can serve a second session while the
		 * first one's connection is in TIME_WAIT (Linux wants the
		 * flag on both sockets) */
		int one = 1;
		setsockopt(fs->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	ck_assert_int_eq(bind(fs->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fs->listen_fd, 4), 0);
	ck_assert_int_eq(getsockname(fs->listen_fd, (struct sockaddr *)&sa, &len), 0);
	fs->port = ntohs(sa.sin_port);
	snprintf(fs->port_str, sizeof(fs->port_str), "%d", fs->port);
	ck_assert_int_eq(pthread_create(&fs->thread, NULL, fake_thread, fs), 0);
	fs->running = 1;
}

void fake_stop(fake_server *fs)
{
	if (!fs->running)
		return;
	/* wakes a thread still waiting in accept() (the client never
	 * connected); an accepted connection is not affected */
	if (fs->listen_fd >= 0)
		shutdown(fs->listen_fd, SHUT_RDWR);
	pthread_join(fs->thread, NULL);
	if (fs->listen_fd >= 0)
		close(fs->listen_fd);
	fs->running = 0;
}

int fake_saw(fake_server *fs, const char *prefix)
{
	const char *p;
	size_t n = strlen(prefix);
	int found = 0;

	pthread_mutex_lock(&fs->lock);
	for (p = fs->log; *p && !found;) {
		const char *nl = strchr(p, '\n');
		found = strncmp(p, prefix, n) == 0;
		p = nl ? nl + 1 : p + strlen(p);
	}
	pthread_mutex_unlock(&fs->lock);
	return found;
}

int spawn_cmd(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return (int)pid;
}

int wait_cmd(int pid, int timeout_s)
{
	return run_wait(pid, timeout_s, NULL);
}

int run_cmd(char *const argv[], const char *out_path, const char *err_path, int timeout_s,
	    double *secs)
{
	return run_wait(spawn_cmd(argv, out_path, err_path), timeout_s, secs);
}

static int run_wait(pid_t pid, int timeout_s, double *secs)
{
	double start = now_s(), end = start + timeout_s;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now_s() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			if (secs)
				*secs = now_s() - start;
			return -1;
		}
		usleep(5000);
	}
	if (secs)
		*secs = now_s() - start;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

int file_contains(const char *path, const char *needle)
{
	size_t len;
	char *data = test_read_file(path, &len);
	int found;

	if (!data)
		return 0;
	found = memmem(data, len, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

char *make_temp_dir(void)
{
	char *d = strdup("/tmp/mimeo-pop3-XXXXXX");

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(mkdtemp(d));
	ck_assert_int_eq(chmod(d, 0711), 0);
	return d;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void remove_tree(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/mimeo-pop3-", 16) == 0)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int test_cli_env_init(test_cli_env *e, const char *test)
{
	e->cli = getenv("MIMEO_CLI");
	if (!e->cli || access(e->cli, X_OK) != 0) {
		fprintf(stderr, "SKIPPED: %s (MIMEO_CLI not set)\n", test);
		return 0;
	}
	e->dir = make_temp_dir();
	snprintf(e->md, sizeof(e->md), "%s/md", e->dir);
	snprintf(e->pw, sizeof(e->pw), "%s/pw", e->dir);
	snprintf(e->out, sizeof(e->out), "%s/out", e->dir);
	snprintf(e->err, sizeof(e->err), "%s/err", e->dir);
	return 1;
}

void test_cli_env_dispose(test_cli_env *e)
{
	remove_tree(e->dir);
	free(e->dir);
}
