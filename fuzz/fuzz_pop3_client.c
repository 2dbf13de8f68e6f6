/*
 * fuzz_pop3_client.c - the POP3 client (mimeo_pop3_*) against a hostile
 * server whose whole byte stream is the fuzz input.
 *
 * Input: [options byte] [split byte] [server bytes...]
 *   options bits 0-1: login with USER/PASS, APOP (USER/PASS when the build
 *   or the greeting has no APOP), AUTH PLAIN, or a long AUTH PLAIN (sent
 *   after a "+ " challenge, RFC 5034 section 4); bit 2:
 *   MIMEO_POP3_NO_PIPELINING; bit 3: LIST only (else LIST + UIDL); bit 4:
 *   fetch with mimeo_pop3_retr_many (else one mimeo_pop3_retr per
 *   message); bit 5: MIMEO_POP3_TO_LF; bit 6: small max_line (64); bit 7:
 *   mimeo_pop3_dele of the first message (else mimeo_pop3_dele_many of
 *   all fetched).
 *   split byte: how the server's bytes are cut into writes (fuzz_util.h).
 * A socketpair joins the client to a thread that plays the server: it
 * writes the input (whatever the client asks) and drains what the client
 * sends, polling both ways so neither side can block the other, then shuts
 * its side down, so a truncated input ends the session with an EOF, never
 * a hang (the client's read timeout is short as a second guard).  The
 * client runs a whole session on it with mimeo_pop3_connect_fd: greeting,
 * CAPA, login, STAT, LIST/UIDL, RETR of the listed messages (the first 8)
 * into a mimeo parser, TOP, DELE, QUIT, going on as long as
 * mimeo_pop3_usable() says the session is in step.
 * Checks:
 *   - every call returns MIMEO_OK or one of its documented errors, and
 *     once the session is unusable every later call fails (after QUIT
 *     too);
 *   - mimeo_pop3_error() is short, free of control characters and never
 *     shows the password; listings are sorted, numbered from 1, with
 *     RFC 1939 unique-ids (1-70 characters 0x21-0x7e);
 *   - a RETR or TOP delivers no more than its byte limit;
 *   - everything the client sends is lines of printable ASCII ending in
 *     CRLF, at most 512 octets each (RFC 2449 section 4 bounds commands
 *     to 255; AUTH lines are longer only after a "+ " challenge).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz_util.h"

#include <errno.h>
#include <mimeo.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASSWORD "fuzz-Secret-pw"
#define MAX_FETCH 8              /* messages fetched per session at most */
#define RETR_LIMIT (256u << 10)  /* max_bytes of each RETR/TOP */
#define SENT_MAX 65536           /* client bytes kept for the check */

typedef struct server {
	int fd;
	const uint8_t *data;
	size_t size;
	fz_split sp;
	char sent[SENT_MAX];     /* what the client sent (the first bytes) */
	size_t sent_len;
} server;

/* Take what the client wrote; 0 once it has closed its side. */
static int drain(server *s)
{
	char buf[4096];
	ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t keep;

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	keep = (size_t)n < SENT_MAX - s->sent_len ? (size_t)n : SENT_MAX - s->sent_len;
	memcpy(s->sent + s->sent_len, buf, keep);
	s->sent_len += keep;
	return n > 0;
}

/* Write the next chunk of the input (without blocking). */
static void play(server *s)
{
	size_t n = fz_split_next(&s->sp, s->size);
	ssize_t w;

	if (n == 0)
		n = 1; /* an empty step means nothing for a socket */
	w = send(s->fd, s->data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0) {
		s->data += w;
		s->size -= (size_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		s->size = 0; /* the client has gone */
	}
}

static void *server_main(void *arg)
{
	server *s = arg;
	int open_wr = 1;

	for (;;) {
		struct pollfd pfd = { s->fd, POLLIN, 0 };

		if (open_wr && s->size == 0) {
			shutdown(s->fd, SHUT_WR); /* EOF for the client */
			open_wr = 0;
		}
		if (open_wr)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 10000) <= 0)
			break; /* 10 s of silence: the client hangs (a finding) */
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !drain(s))
			break;
		if (open_wr && (pfd.revents & POLLOUT))
			play(s);
	}
	close(s->fd);
	return NULL;
}

/* The documented failures of a client call. */
static int known_status(int rc)
{
	return rc == MIMEO_OK || rc == MIMEO_EPROTO || rc == MIMEO_EIO || rc == MIMEO_ETIMEOUT ||
	       rc == MIMEO_ELIMIT || rc == MIMEO_ENOTSUP || rc == MIMEO_EUSER;
}

static void check_call(mimeo_pop3 *c, int rc, int was_usable, const uint8_t *in, size_t n)
{
	const char *e = mimeo_pop3_error(c);
	size_t i, len = strlen(e);

	FZ_CHECK(known_status(rc));
	FZ_CHECK(len < MIMEO_POP3_STATUS_MAX + 256);
	for (i = 0; i < len; i++)
		FZ_CHECK((unsigned char)e[i] >= 0x20 && e[i] != 0x7f);
	if (rc == MIMEO_OK)
		FZ_CHECK(len == 0);
	/* the server may echo it (then it is the input's, not a leak) */
	if (!memmem(in, n, PASSWORD, sizeof(PASSWORD) - 1))
		FZ_CHECK(strstr(e, PASSWORD) == NULL);
	if (!was_usable)
		FZ_CHECK(rc != MIMEO_OK && !mimeo_pop3_usable(c));
}

typedef struct fetch {
	mimeo_parser *parser;
	uint64_t bytes;
	uint64_t limit;
} fetch;

static int on_body(const void *data, size_t len, void *user)
{
	fetch *f = user;

	FZ_CHECK(len > 0);
	f->bytes += len;
	FZ_CHECK(f->limit == 0 || f->bytes <= f->limit);
	return mimeo_pop3_parser_sink(data, len, f->parser);
}

static int on_begin(unsigned long num, size_t index, void *user)
{
	fetch *f = user;

	(void)num, (void)index;
	f->bytes = 0;
	return mimeo_parser_reset(f->parser) == MIMEO_OK ? 0 : -1;
}

static int on_end(unsigned long num, size_t index, int status, void *user)
{
	fetch *f = user;

	(void)num, (void)index;
	FZ_CHECK(known_status(status));
	if (status == MIMEO_OK)
		mimeo_parser_finish(f->parser); /* malformed mail is no error */
	return 0;
}

static void check_entries(const mimeo_pop3_entry *e, size_t n, int uids)
{
	size_t i, k, len;

	for (i = 0; i < n; i++) {
		FZ_CHECK(e[i].num >= 1);
		if (i)
			FZ_CHECK(e[i].num >= e[i - 1].num);
		len = strnlen(e[i].uid, sizeof(e[i].uid));
		FZ_CHECK(len < sizeof(e[i].uid));
		for (k = 0; k < len; k++)
			FZ_CHECK(e[i].uid[k] >= 0x21 && e[i].uid[k] <= 0x7e);
		if (!uids)
			FZ_CHECK(len == 0);
	}
}

/* Everything the client wrote: CRLF-terminated lines of printable ASCII. */
static void check_sent(const server *s)
{
	size_t i, line = 0;

	for (i = 0; i < s->sent_len; i++) {
		unsigned char ch = (unsigned char)s->sent[i];

		if (ch == '\n') {
			FZ_CHECK(i > 0 && s->sent[i - 1] == '\r');
			line = 0;
			continue;
		}
		FZ_CHECK(ch == '\r' ? i + 1 == s->sent_len || s->sent[i + 1] == '\n'
				    : ch >= 0x20 && ch < 0x7f);
		FZ_CHECK(++line <= 512);
	}
}

typedef struct session {
	mimeo_pop3 *c;
	uint8_t opt;
	const uint8_t *in;
	size_t n;
	fetch f;
} session;

/* Run one call's result through the checks; non-zero = go on. */
static int step(session *ss, int rc, int was_usable)
{
	check_call(ss->c, rc, was_usable, ss->in, ss->n);
	return mimeo_pop3_usable(ss->c);
}

static int do_login(session *ss)
{
	static char longpw[300];
	int u = mimeo_pop3_usable(ss->c), rc;

	switch (ss->opt & 3) {
	case 0:
		rc = mimeo_pop3_login(ss->c, "fuzz", PASSWORD);
		break;
	case 1:
		rc = mimeo_pop3_apop(ss->c, "fuzz", PASSWORD);
		/* no timestamp, or no MD5 in this build: what a client does */
		if (rc == MIMEO_ENOTSUP) {
			check_call(ss->c, rc, u, ss->in, ss->n);
			rc = mimeo_pop3_login(ss->c, "fuzz", PASSWORD);
		}
		break;
	case 2:
		rc = mimeo_pop3_auth_plain(ss->c, NULL, "fuzz", PASSWORD);
		break;
	default:
		memset(longpw, 'p', sizeof(longpw) - 1);
		rc = mimeo_pop3_auth_plain(ss->c, "admin", "fuzz", longpw);
		break;
	}
	return step(ss, rc, u);
}

static void do_fetch(session *ss, const mimeo_pop3_entry *e, size_t n)
{
	unsigned flags = ss->opt & 32 ? MIMEO_POP3_TO_LF : 0;
	unsigned long nums[MAX_FETCH];
	uint64_t limits[MAX_FETCH];
	size_t i;
	int rc;

	if (n > MAX_FETCH)
		n = MAX_FETCH;
	for (i = 0; i < n; i++) {
		nums[i] = e[i].num;
		limits[i] = RETR_LIMIT;
	}
	ss->f.limit = RETR_LIMIT;
	if (ss->opt & 16) {
		mimeo_pop3_retr_callbacks cb = { on_begin, on_body, on_end };
		int u = mimeo_pop3_usable(ss->c);

		rc = mimeo_pop3_retr_many(ss->c, nums, n, flags, limits, &cb, &ss->f);
		step(ss, rc, u);
		return;
	}
	for (i = 0; i < n; i++) {
		int u = mimeo_pop3_usable(ss->c);

		on_begin(nums[i], i, &ss->f);
		rc = mimeo_pop3_retr(ss->c, nums[i], flags, RETR_LIMIT, on_body, &ss->f);
		on_end(nums[i], i, rc, &ss->f);
		if (!step(ss, rc, u))
			return;
	}
}

static void run_session(session *ss)
{
	mimeo_pop3_entry *e = NULL;
	size_t n = 0, i;
	unsigned long count = 0, bad = 0, nums[MAX_FETCH];
	uint64_t octets;
	unsigned what = ss->opt & 8 ? MIMEO_POP3_LIST_SIZES
				    : MIMEO_POP3_LIST_SIZES | MIMEO_POP3_LIST_UIDS;
	int rc;

	mimeo_pop3_has_capa(ss->c, "PIPELINING");
	mimeo_pop3_apop_timestamp(ss->c);
	if (!do_login(ss))
		return;
	rc = mimeo_pop3_stat(ss->c, &count, &octets);
	if (!step(ss, rc, 1))
		return;
	rc = mimeo_pop3_list(&e, &n, ss->c, what);
	FZ_CHECK(rc == MIMEO_OK || (e == NULL && n == 0));
	check_entries(e, n, !(ss->opt & 8));
	if (step(ss, rc, 1))
		do_fetch(ss, e, n);
	if (mimeo_pop3_usable(ss->c) && n) {
		ss->f.limit = RETR_LIMIT;
		on_begin(e[0].num, 0, &ss->f);
		rc = mimeo_pop3_top(ss->c, e[0].num, 3, 0, RETR_LIMIT, on_body, &ss->f);
		on_end(e[0].num, 0, rc, &ss->f);
		step(ss, rc, 1);
	}
	for (i = 0; i < n && i < MAX_FETCH; i++)
		nums[i] = e[i].num;
	if (mimeo_pop3_usable(ss->c) && (ss->opt & 128) && n) {
		rc = mimeo_pop3_dele(ss->c, nums[0]);
		step(ss, rc, 1);
	} else if (mimeo_pop3_usable(ss->c)) {
		rc = mimeo_pop3_dele_many(ss->c, nums, i, &bad);
		FZ_CHECK(rc != MIMEO_OK || bad == 0);
		step(ss, rc, 1);
	}
	mimeo_pop3_entries_free(ss->c, e);
	if (mimeo_pop3_usable(ss->c)) {
		rc = mimeo_pop3_quit(ss->c);
		check_call(ss->c, rc, 1, ss->in, ss->n);
		FZ_CHECK(!mimeo_pop3_usable(ss->c));
	}
	/* a finished or broken session refuses everything, without I/O */
	rc = mimeo_pop3_stat(ss->c, &count, &octets);
	FZ_CHECK(rc == MIMEO_EINVAL || rc == MIMEO_EIO);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	mimeo_pop3_options opts = MIMEO_POP3_OPTIONS_INIT;
	session ss;
	server *srv = fz_xmalloc(sizeof(*srv));
	pthread_t th;
	int sv[2], rc;

	memset(&ss, 0, sizeof(ss));
	ss.opt = fz_byte(&in);
	srv->sent_len = 0;
	fz_split_init(&srv->sp, fz_byte(&in), in.size);
	srv->data = in.data;
	srv->size = in.size;
	ss.in = in.data;
	ss.n = in.size;
	opts.read_timeout_ms = 2000;
	opts.connect_timeout_ms = 2000;
	if (ss.opt & 4)
		opts.flags |= MIMEO_POP3_NO_PIPELINING;
	if (ss.opt & 64)
		opts.max_line = 64;
	FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	srv->fd = sv[1];
	FZ_CHECK(pthread_create(&th, NULL, server_main, srv) == 0);
	FZ_CHECK(mimeo_pop3_new(&ss.c, &opts) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_new(&ss.f.parser, NULL, NULL, NULL) == MIMEO_OK);
	rc = mimeo_pop3_connect_fd(ss.c, sv[0]);
	check_call(ss.c, rc, 1, ss.in, ss.n);
	FZ_CHECK((rc == MIMEO_OK) == mimeo_pop3_usable(ss.c));
	if (rc == MIMEO_OK)
		run_session(&ss);
	mimeo_pop3_free(ss.c); /* closes sv[0]: the server sees EOF */
	mimeo_parser_free(ss.f.parser);
	FZ_CHECK(pthread_join(th, NULL) == 0);
	check_sent(srv);
	free(srv);
	return 0;
}
