/*
 * pop3_client.c - a small POP3 client (RFC 1939) on top of the multi-line
 * reader: TCP over IPv4/IPv6 with timeouts, CAPA (RFC 2449), STLS (RFC
 * 2595) and implicit TLS through OpenSSL, USER/PASS, APOP, AUTH PLAIN (RFC
 * 5034), STAT, LIST, UIDL, RETR, TOP, DELE, RSET, QUIT, pipelining.
 *
 * The socket is non-blocking and every wait goes through poll() with the
 * configured timeout, so a server that stalls cannot hang the caller.
 * Server input goes through one bounded buffer; a response line is at most
 * MIMEO_POP3_STATUS_MAX bytes and multi-line responses stream through a
 * mimeo_pop3_reader, so memory stays bounded whatever the server sends.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "common-priv.h"
#include "mimeo/codec.h"
#include "mimeo/pop3.h"
#include "mimeo-config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if MIMEO_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

/* Input buffer: one read's worth.  Lines never need more than
 * MIMEO_POP3_STATUS_MAX of it at once. */
#define IN_SIZE 16384
/* How many commands go out in one pipelined burst.  Small enough that the
 * commands fit in any socket buffer, so writing them cannot deadlock
 * against a server that is blocked writing responses (RFC 2449 section
 * 6.6 asks clients to take care of that). */
#define PIPE_WINDOW 64
/* Bounds for listings: a LIST/UIDL line is short; 64 MiB is millions of
 * messages. */
#define LISTING_MAX ((uint64_t)64 << 20)
#define ENTRIES_MAX 10000000u
#define CAPA_MAX 65536u
/* Longest user name / password we send (RFC 1939 allows 40 characters
 * per argument; real servers accept more). */
#define CRED_MAX 1024

struct mimeo_pop3 {
	mimeo_allocator alloc_copy;
	const mimeo_allocator *alloc; /* NULL or &alloc_copy */
	mimeo_pop3_options opts;
	char *cafile;
	char *host;
	int fd;
	int broken;          /* the stream position is lost: only free() */
	int authenticated;
#if MIMEO_HAVE_OPENSSL
	SSL_CTX *ctx;
	SSL *ssl;
#endif
	size_t in_start, in_end;
	unsigned char in[IN_SIZE];
	char line[MIMEO_POP3_STATUS_MAX + 1]; /* last status line */
	char timestamp[MIMEO_POP3_STATUS_MAX + 1];
	mimeo_buf capa;      /* capability lines, each NUL-terminated */
	char err[MIMEO_POP3_STATUS_MAX + 256];
};

static int set_err(mimeo_pop3 *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(mimeo_pop3 *c, int code, const char *fmt, ...)
{
	va_list ap;
	char *e;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	/* messages quote the server (status lines, listing lines): no
	 * control character of its choosing reaches the user's terminal
	 * (fuzz_pop3_client found a LIST line quoted raw) */
	for (e = c->err; *e; e++) {
		if ((unsigned char)*e < 0x20 || *e == 0x7f)
			*e = '?';
	}
	return code;
}

/* Overwrite secrets in memory we are about to release. */
static void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on the socket for at most `timeout_ms`. */
static int wait_fd(mimeo_pop3 *c, short events, int timeout_ms, const char *what)
{
	struct pollfd pfd;
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left < 0)
			left = 0;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return MIMEO_OK; /* errors/hangups show up in the I/O call */
		if (n == 0)
			return set_err(c, MIMEO_ETIMEOUT, "timed out after %d ms %s", timeout_ms, what);
		if (errno != EINTR)
			return set_err(c, MIMEO_EIO, "poll: %s", strerror(errno));
	}
}

#if MIMEO_HAVE_OPENSSL
/* Append OpenSSL's queued error (and a failed certificate check) to the
 * message.  The error queue is per thread; it is cleared before each TLS
 * call. */
static int tls_err(mimeo_pop3 *c, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (vr != X509_V_OK)
		return set_err(c, MIMEO_ETLS, "%s: certificate verification failed: %s", what,
			       X509_verify_cert_error_string(vr));
	return set_err(c, MIMEO_ETLS, "%s: %s", what, e ? buf : "connection closed");
}

/*
 * OpenSSL writes to the socket with write(), which raises SIGPIPE when the
 * peer has gone.  A library must not change the process's signal
 * dispositions, so block SIGPIPE in this thread around the write and
 * swallow one that we caused (the technique libpq uses).
 */
typedef struct sigpipe_guard {
	sigset_t old;
	int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g, int got_epipe)
{
	if (got_epipe && !g->was_pending) {
		sigset_t set;
		struct timespec zero = { 0, 0 };

		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
#endif

/* The *_once() I/O steps' "call me again" result (internal; never
 * returned by the public API). */
#define IO_AGAIN 1

/* Wait until the socket is ready for `events` within the read timeout.
 * @return IO_AGAIN or a negative status. */
static int io_wait(mimeo_pop3 *c, short events, const char *what)
{
	int rc = wait_fd(c, events, c->opts.read_timeout_ms, what);

	return rc < 0 ? rc : IO_AGAIN;
}

/* After a failed recv()/send(): IO_AGAIN (interrupted, or it would
 * block and the socket became ready), else the status. */
static int sock_retry(mimeo_pop3 *c, short events, const char *op, const char *what)
{
	if (errno == EINTR)
		return IO_AGAIN;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return io_wait(c, events, what);
	return set_err(c, MIMEO_EIO, "%s: %s", op, strerror(errno));
}

/* One attempt to read: MIMEO_OK with *got bytes (0 at EOF), IO_AGAIN, or
 * a negative status.  The same contract for every transport keeps
 * io_read()/io_write() a single loop. */
static int sock_read_once(mimeo_pop3 *c, void *buf, size_t n, size_t *got)
{
	ssize_t r = recv(c->fd, buf, n, 0);

	*got = r > 0 ? (size_t)r : 0;
	return r >= 0 ? MIMEO_OK : sock_retry(c, POLLIN, "read", "waiting for the server");
}

static int sock_write_once(mimeo_pop3 *c, const void *buf, size_t n, size_t *put)
{
	/* MSG_NOSIGNAL: a closed peer gives EPIPE, not a signal */
	ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);

	*put = r > 0 ? (size_t)r : 0;
	return r >= 0 ? MIMEO_OK : sock_retry(c, POLLOUT, "write", "sending to the server");
}

#if MIMEO_HAVE_OPENSSL
/* OpenSSL's "would block": it may want the other direction than the call
 * (renegotiation, post-handshake messages). */
static int tls_retry(mimeo_pop3 *c, int e, const char *what)
{
	return io_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, what);
}

static int tls_read_once(mimeo_pop3 *c, void *buf, size_t n, size_t *got)
{
	int r, e;

	*got = 0;
	ERR_clear_error();
	r = SSL_read_ex(c->ssl, buf, n, got);
	if (r > 0)
		return MIMEO_OK;
	*got = 0;
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN)
		return MIMEO_OK;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_retry(c, e, "waiting for the server");
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		/* the peer closed without close_notify: an EOF; a
		 * truncated response is caught by the reader */
		ERR_clear_error();
		return MIMEO_OK;
	}
	return tls_err(c, "TLS read");
}

static int tls_write_once(mimeo_pop3 *c, const void *buf, size_t n, size_t *put)
{
	int r, e;
	sigpipe_guard g;

	*put = 0;
	ERR_clear_error();
	sigpipe_block(&g);
	r = SSL_write_ex(c->ssl, buf, n, put);
	e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
	sigpipe_restore(&g, e == SSL_ERROR_SYSCALL && errno == EPIPE);
	if (r > 0)
		return MIMEO_OK;
	*put = 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_retry(c, e, "sending to the server");
	return tls_err(c, "TLS write");
}
#endif

/* One attempt on whichever transport is up: a read into `rbuf`, or (rbuf
 * NULL) a write from `wbuf`; the *_once() contract. */
static int io_once(mimeo_pop3 *c, void *rbuf, const void *wbuf, size_t n, size_t *done)
{
#if MIMEO_HAVE_OPENSSL
	if (c->ssl)
		return rbuf ? tls_read_once(c, rbuf, n, done) : tls_write_once(c, wbuf, n, done);
#endif
	return rbuf ? sock_read_once(c, rbuf, n, done) : sock_write_once(c, wbuf, n, done);
}

/* Read some bytes into buf: >0 bytes, 0 at EOF, <0 status. */
static ssize_t io_read(mimeo_pop3 *c, void *buf, size_t n)
{
	size_t got;
	int rc;

	do
		rc = io_once(c, buf, NULL, n, &got);
	while (rc == IO_AGAIN);
	return rc < 0 ? rc : (ssize_t)got;
}

static int io_write(mimeo_pop3 *c, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		size_t put;
		int rc = io_once(c, NULL, p, n, &put);

		if (rc < 0)
			return rc;
		p += put;
		n -= put;
	}
	return MIMEO_OK;
}

/* Make sure the input buffer holds at least one byte: 1, 0 at EOF, <0. */
static int fill(mimeo_pop3 *c)
{
	ssize_t r;

	if (c->in_start < c->in_end)
		return 1;
	c->in_start = c->in_end = 0;
	r = io_read(c, c->in, sizeof(c->in));
	if (r < 0)
		return (int)r;
	c->in_end = (size_t)r;
	return r > 0;
}

/* A connection error in the middle of an exchange: the session cannot be
 * used any more, because we no longer know where the next response is. */
static int broken(mimeo_pop3 *c, int rc)
{
	c->broken = 1;
	return rc;
}

/* At the start of every command: a call that succeeds leaves
 * mimeo_pop3_error() empty, not with an earlier call's text. */
static int check_usable(mimeo_pop3 *c)
{
	c->err[0] = '\0';
	if (c->fd < 0)
		return set_err(c, MIMEO_EINVAL, "not connected");
	if (c->broken)
		return set_err(c, MIMEO_EIO, "the connection is unusable after an earlier error");
	return MIMEO_OK;
}

/*
 * Read one single-line response into c->line (line break removed,
 * control characters replaced: the text is shown to users).
 * @return MIMEO_OK for +OK, MIMEO_EPROTO for -ERR (error text set) or
 * garbage, or an I/O status.
 */
static int read_status(mimeo_pop3 *c, const char *what)
{
	size_t len = 0, i;

	for (;;) {
		unsigned char *s, *nl;
		size_t n;
		int rc = fill(c);

		if (rc < 0)
			return broken(c, rc);
		if (rc == 0)
			return broken(c, set_err(c, MIMEO_EPROTO,
						 "the server closed the connection (%s)", what));
		s = c->in + c->in_start;
		nl = memchr(s, '\n', c->in_end - c->in_start);
		n = (size_t)((nl ? nl : c->in + c->in_end) - s);
		if (n > MIMEO_POP3_STATUS_MAX - len)
			return broken(c, set_err(c, MIMEO_EPROTO,
						 "response line too long (%s)", what));
		memcpy(c->line + len, s, n);
		len += n;
		c->in_start += n + (nl ? 1 : 0);
		if (nl)
			break;
	}
	if (len && c->line[len - 1] == '\r')
		len--;
	c->line[len] = '\0';
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c->line[i];
		if (ch < 0x20 || ch == 0x7f)
			c->line[i] = '?';
	}
	if (len >= 3 && mimeo__ascii_ieq(c->line, 3, "+ok") && (len == 3 || c->line[3] == ' '))
		return MIMEO_OK;
	if (len >= 4 && mimeo__ascii_ieq(c->line, 4, "-err") && (len == 4 || c->line[4] == ' '))
		return set_err(c, MIMEO_EPROTO, "%s: server said: %s", what, c->line);
	return broken(c, set_err(c, MIMEO_EPROTO, "%s: unexpected response: %.200s", what, c->line));
}

static int send_cmd(mimeo_pop3 *c, const char *cmd, size_t len)
{
	int rc = io_write(c, cmd, len);
	return rc < 0 ? broken(c, rc) : rc;
}

/* Send "VERB[ ARG]\r\n" (no secrets) and read the single-line answer. */
static int simple_cmd(mimeo_pop3 *c, const char *verb, const char *arg)
{
	char cmd[MIMEO_POP3_STATUS_MAX];
	int n, rc;

	n = snprintf(cmd, sizeof(cmd), "%s%s%s\r\n", verb, arg ? " " : "", arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return set_err(c, MIMEO_EINVAL, "%s: argument too long", verb);
	rc = send_cmd(c, cmd, (size_t)n);
	if (rc < 0)
		return rc;
	return read_status(c, verb);
}

/*
 * Read a multi-line response through a reader already initialised.
 * @return MIMEO_OK when it ended at its terminator; on failure the error
 * text is set and, unless the server said -ERR, the session is broken.
 */
static int read_multi(mimeo_pop3 *c, mimeo_pop3_reader *r, const char *what)
{
	int rc = MIMEO_OK;
	const char *reason;

	for (;;) {
		size_t used = 0;
		int f = fill(c);

		if (f < 0)
			return broken(c, f);
		if (f == 0) {
			rc = mimeo_pop3_reader_finish(r);
			break;
		}
		rc = mimeo_pop3_reader_feed(r, c->in + c->in_start, c->in_end - c->in_start, &used);
		c->in_start += used;
		if (rc != MIMEO_OK)
			break;
	}
	if (rc == MIMEO_DONE)
		return MIMEO_OK;
	mimeo_pop3_reader_error(r, &reason);
	if (rc == MIMEO_EPROTO && !r->ok && r->status[0] == '-') {
		memcpy(c->line, r->status, sizeof(c->line));
		return set_err(c, rc, "%s: server said: %s", what, r->status);
	}
	if (rc == MIMEO_EPROTO && !r->ok && r->status[0])
		return broken(c, set_err(c, rc, "%s: unexpected response: %.200s", what, r->status));
	return broken(c, set_err(c, rc, "%s: %s", what, reason));
}

static int buf_sink(const void *data, size_t len, void *user)
{
	return mimeo_buf_put(user, data, len) == MIMEO_OK ? 0 : -1;
}

/* ------------------------------------------------------------------ */

int mimeo_pop3_new(mimeo_pop3 **out, const mimeo_pop3_options *opts)
{
	mimeo_pop3_options def = MIMEO_POP3_OPTIONS_INIT;
	mimeo_pop3 *c;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!opts)
		opts = &def;
	/* zero (a zero-initialised struct) means the default; negative
	 * timeouts are a mistake */
	if (!MIMEO__VERSION_OK(opts->version, MIMEO_POP3_OPTIONS_VERSION) ||
	    opts->connect_timeout_ms < 0 || opts->read_timeout_ms < 0 ||
	    opts->tls > MIMEO_POP3_TLS_IMPLICIT)
		return MIMEO_EINVAL;
#if !MIMEO_HAVE_OPENSSL
	if (opts->tls != MIMEO_POP3_TLS_NONE)
		return MIMEO_ENOTSUP;
#endif
	c = mimeo__calloc(opts->alloc, 1, sizeof(*c));
	if (!c)
		return MIMEO_ENOMEM;
	if (opts->alloc) {
		c->alloc_copy = *opts->alloc;
		c->alloc = &c->alloc_copy;
	}
	c->opts = *opts;
	c->opts.version = MIMEO_POP3_OPTIONS_VERSION;
	if (!c->opts.connect_timeout_ms)
		c->opts.connect_timeout_ms = def.connect_timeout_ms;
	if (!c->opts.read_timeout_ms)
		c->opts.read_timeout_ms = def.read_timeout_ms;
	if (!c->opts.max_line)
		c->opts.max_line = def.max_line;
	c->opts.alloc = c->alloc;
	c->fd = -1;
	mimeo_buf_init(&c->capa, c->alloc);
	if (opts->cafile) {
		c->cafile = mimeo__strndup(c->alloc, opts->cafile, strlen(opts->cafile));
		if (!c->cafile) {
			mimeo__free(c->alloc, c);
			return MIMEO_ENOMEM;
		}
	}
	c->opts.cafile = c->cafile;
	*out = c;
	return MIMEO_OK;
}

static void disconnect(mimeo_pop3 *c)
{
#if MIMEO_HAVE_OPENSSL
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->ctx) {
		SSL_CTX_free(c->ctx);
		c->ctx = NULL;
	}
#endif
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_start = c->in_end = 0;
}

void mimeo_pop3_free(mimeo_pop3 *c)
{
	if (!c)
		return;
	disconnect(c);
	mimeo_buf_dispose(&c->capa);
	mimeo__free(c->alloc, c->cafile);
	mimeo__free(c->alloc, c->host);
	mimeo__free(c->alloc, c);
}

int mimeo_pop3_usable(const mimeo_pop3 *c)
{
	return c && c->fd >= 0 && !c->broken;
}

const char *mimeo_pop3_error(const mimeo_pop3 *c)
{
	return c ? c->err : "no session";
}

/* TCP connect with a deadline, trying every address getaddrinfo gives
 * (IPv6 and IPv4 alike). */
static int tcp_connect(mimeo_pop3 *c, const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = now_ms() + c->opts.connect_timeout_ms;
	int gai, rc = MIMEO_EIO;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai == EAI_ADDRFAMILY || gai == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 and 127.0.0.1 on hosts with only
		 * loopback interfaces; retry without it */
		hints.ai_flags = 0;
		gai = getaddrinfo(host, port, &hints, &res);
	}
	if (gai != 0)
		return set_err(c, MIMEO_EIO, "cannot resolve %s port %s: %s", host, port,
			       gai_strerror(gai));
	set_err(c, MIMEO_EIO, "no address for %s", host);
	for (ai = res; ai; ai = ai->ai_next) {
		int fd, err = 0;
		socklen_t elen = sizeof(err);
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			rc = set_err(c, MIMEO_ETIMEOUT, "timed out connecting to %s port %s", host,
				     port);
			break;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			rc = set_err(c, MIMEO_EIO, "socket: %s", strerror(errno));
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				err = errno;
			} else {
				rc = wait_fd(c, POLLOUT, (int)left, "connecting");
				if (rc == MIMEO_ETIMEOUT) {
					close(fd);
					c->fd = -1;
					rc = set_err(c, MIMEO_ETIMEOUT,
						     "timed out connecting to %s port %s", host, port);
					continue;
				}
				if (rc < 0)
					err = EIO;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
					err = errno ? errno : EIO;
			}
		}
		if (err) {
			close(fd);
			c->fd = -1;
			rc = set_err(c, MIMEO_EIO, "connect to %s port %s: %s", host, port,
				     strerror(err));
			continue;
		}
		{
			int one = 1;
			/* commands are small and answered one by one */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		rc = MIMEO_OK;
		break;
	}
	freeaddrinfo(res);
	return rc;
}

#if MIMEO_HAVE_OPENSSL
static int is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* TLS handshake on the connected socket, verifying the certificate and
 * the host name unless MIMEO_POP3_INSECURE. */
static int tls_start(mimeo_pop3 *c)
{
	int64_t deadline = now_ms() + c->opts.connect_timeout_ms;

	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return tls_err(c, "TLS setup");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (!(c->opts.flags & MIMEO_POP3_INSECURE)) {
		int ok = c->cafile ? SSL_CTX_load_verify_locations(c->ctx, c->cafile, NULL)
				   : SSL_CTX_set_default_verify_paths(c->ctx);
		if (!ok)
			return tls_err(c, c->cafile ? "loading the CA file" : "loading system CAs");
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return tls_err(c, "TLS setup");
	if (!(c->opts.flags & MIMEO_POP3_INSECURE)) {
		if (is_ip_literal(c->host)) {
			if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host))
				return tls_err(c, "TLS setup");
		} else {
			SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (!SSL_set1_host(c->ssl, c->host))
				return tls_err(c, "TLS setup");
		}
	}
	if (!is_ip_literal(c->host))
		SSL_set_tlsext_host_name(c->ssl, c->host); /* SNI */
	for (;;) {
		int r, e;
		int64_t left = deadline - now_ms();
		sigpipe_guard g;

		ERR_clear_error();
		sigpipe_block(&g);
		r = SSL_connect(c->ssl);
		e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
		sigpipe_restore(&g, e == SSL_ERROR_SYSCALL && errno == EPIPE);
		if (r == 1)
			return MIMEO_OK;
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && left > 0) {
			int rc = wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, (int)left,
					 "in the TLS handshake");
			if (rc < 0)
				return rc;
			continue;
		}
		if (left <= 0)
			return set_err(c, MIMEO_ETIMEOUT, "timed out in the TLS handshake");
		return tls_err(c, "TLS handshake");
	}
}
#endif

/* CAPA (RFC 2449): remember the capability lines.  -ERR means the server
 * has none to tell (RFC 1939-only servers). */
static int do_capa(mimeo_pop3 *c)
{
	mimeo_pop3_reader r;
	int rc;
	size_t i;

	mimeo_buf_clear(&c->capa);
	rc = send_cmd(c, "CAPA\r\n", 6);
	if (rc < 0)
		return rc;
	mimeo_pop3_reader_init(&r, 0, buf_sink, &c->capa);
	r.max_bytes = CAPA_MAX;
	r.max_line = 1024;
	rc = read_multi(c, &r, "CAPA");
	if (rc == MIMEO_EUSER) /* buf_sink only fails for memory */
		rc = set_err(c, MIMEO_ENOMEM, "out of memory");
	if (rc == MIMEO_EPROTO && !c->broken) {
		mimeo_buf_clear(&c->capa);
		c->err[0] = '\0';
		return MIMEO_OK;
	}
	if (rc < 0)
		return rc;
	/* one NUL-terminated string per line */
	for (i = 0; i < c->capa.size; i++) {
		if (c->capa.ptr[i] == '\r' || c->capa.ptr[i] == '\n')
			c->capa.ptr[i] = '\0';
	}
	return MIMEO_OK;
}

int mimeo_pop3_has_capa(const mimeo_pop3 *c, const char *capability)
{
	size_t i = 0, n = strlen(capability);

	if (!c || !c->capa.ptr)
		return 0;
	while (i < c->capa.size) {
		const char *s = c->capa.ptr + i;
		size_t len = strlen(s), k;

		for (k = 0; k < n && k < len; k++) {
			if (mimeo__lower((unsigned char)s[k]) != mimeo__lower((unsigned char)capability[k]))
				break;
		}
		if (k == n && (len == n || s[n] == ' '))
			return 1;
		i += len + 1;
	}
	return 0;
}

const char *mimeo_pop3_apop_timestamp(const mimeo_pop3 *c)
{
	return c && c->timestamp[0] ? c->timestamp : NULL;
}

static int pipelining(const mimeo_pop3 *c)
{
	return !(c->opts.flags & MIMEO_POP3_NO_PIPELINING) && mimeo_pop3_has_capa(c, "PIPELINING");
}

/* Forget everything about a previous connection before a new one. */
static int connect_reset(mimeo_pop3 *c)
{
	c->err[0] = '\0';
	if (c->fd >= 0)
		return set_err(c, MIMEO_EINVAL, "already connected");
	c->broken = 0;
	c->authenticated = 0;
	c->timestamp[0] = '\0';
	mimeo_buf_clear(&c->capa);
	return MIMEO_OK;
}

/* STLS (RFC 2595) on a connection that is still in the clear. */
static int start_tls_cmd(mimeo_pop3 *c)
{
#if MIMEO_HAVE_OPENSSL
	int rc = simple_cmd(c, "STLS", NULL);

	if (rc < 0) {
		if (rc == MIMEO_EPROTO && !c->broken)
			set_err(c, rc, "the server refused STLS: %s", c->line);
		return rc;
	}
	/* RFC 2595 / CVE-2011-0411-style injection: anything the server
	 * sent after its +OK came in the clear and must not be taken as
	 * part of the TLS session */
	if (c->in_start != c->in_end)
		return set_err(c, MIMEO_EPROTO, "the server sent data after its STLS answer");
	rc = tls_start(c);
	if (rc < 0)
		return rc;
	/* RFC 2595 section 4: forget what was learnt before TLS */
	return do_capa(c);
#else
	return set_err(c, MIMEO_ENOTSUP, "TLS is not available in this build");
#endif
}

/*
 * The session on a connected transport (implicit TLS already done): the
 * greeting and its APOP timestamp, CAPA, and STLS when asked.  On failure
 * the connection is closed.
 */
static int session_start(mimeo_pop3 *c)
{
	const char *lt, *gt;
	int rc = read_status(c, "greeting");

	if (rc < 0) {
		if (rc == MIMEO_EPROTO && !c->broken)
			set_err(c, rc, "the server refused the connection: %s", c->line);
		goto fail;
	}
	/* RFC 1939 section 7: the APOP timestamp is a msg-id in the
	 * greeting; take it from '<' to '>' as it stands */
	lt = strchr(c->line, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && memchr(lt, '@', (size_t)(gt - lt))) {
		memcpy(c->timestamp, lt, (size_t)(gt - lt) + 1);
		c->timestamp[gt - lt + 1] = '\0';
	}
	rc = do_capa(c);
	if (rc >= 0 && c->opts.tls == MIMEO_POP3_TLS_STARTTLS)
		rc = start_tls_cmd(c);
	if (rc >= 0)
		return MIMEO_OK;
fail:
	disconnect(c);
	return rc;
}

int mimeo_pop3_connect(mimeo_pop3 *c, const char *host, const char *port)
{
	int rc;

	if (!c || !host || !*host)
		return MIMEO_EINVAL;
	if ((rc = connect_reset(c)) < 0)
		return rc;
	if (!port)
		port = c->opts.tls == MIMEO_POP3_TLS_IMPLICIT ? "995" : "110";
	mimeo__free(c->alloc, c->host);
	c->host = mimeo__strndup(c->alloc, host, strlen(host));
	if (!c->host)
		return set_err(c, MIMEO_ENOMEM, "out of memory");
	rc = tcp_connect(c, host, port);
#if MIMEO_HAVE_OPENSSL
	if (rc >= 0 && c->opts.tls == MIMEO_POP3_TLS_IMPLICIT)
		rc = tls_start(c);
#endif
	if (rc < 0) {
		disconnect(c);
		return rc;
	}
	return session_start(c);
}

/* Take over `fd` as the session's transport: it must be a stream socket
 * (recv/send need one); it is made non-blocking and close-on-exec, like
 * the sockets tcp_connect() opens. */
static int adopt_fd(mimeo_pop3 *c, int fd)
{
	int type = 0, fl;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return set_err(c, MIMEO_EINVAL, "descriptor %d is not a socket: %s", fd,
			       strerror(errno));
	if (type != SOCK_STREAM)
		return set_err(c, MIMEO_EINVAL, "descriptor %d is not a stream socket", fd);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) < 0)
		return set_err(c, MIMEO_EIO, "fcntl on descriptor %d: %s", fd, strerror(errno));
	c->fd = fd;
	return MIMEO_OK;
}

int mimeo_pop3_connect_fd(mimeo_pop3 *c, int fd)
{
	int rc;

	if (!c) {
		if (fd >= 0)
			close(fd);
		return MIMEO_EINVAL;
	}
	if (fd < 0)
		return set_err(c, MIMEO_EINVAL, "invalid descriptor %d", fd);
	rc = connect_reset(c);
	/* TLS would need a host name to check the certificate against */
	if (rc >= 0 && c->opts.tls != MIMEO_POP3_TLS_NONE)
		rc = set_err(c, MIMEO_EINVAL, "TLS needs mimeo_pop3_connect() (a host name to verify)");
	if (rc >= 0)
		rc = adopt_fd(c, fd);
	if (rc < 0) {
		close(fd); /* ours from the call on, whatever happens */
		return rc;
	}
	mimeo__free(c->alloc, c->host);
	c->host = NULL;
	return session_start(c);
}

/* CR, LF and NUL would let an argument inject commands. */
static int arg_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	return n > 0 && n <= max && !strpbrk(s, "\r\n");
}

/* After a refused login, say so without the password. */
static int auth_result(mimeo_pop3 *c, int rc, const char *how)
{
	if (rc == MIMEO_OK) {
		c->authenticated = 1;
		c->err[0] = '\0';
		return rc;
	}
	if (rc == MIMEO_EPROTO && !c->broken)
		set_err(c, rc, "%s login failed: %s", how, c->line);
	return rc;
}

/* What every login checks first: a usable session and arguments that
 * cannot inject a command. */
static int login_args(mimeo_pop3 *c, const char *user, const char *password)
{
	int rc;

	if (!c || !user || !password)
		return MIMEO_EINVAL;
	if ((rc = check_usable(c)) < 0)
		return rc;
	if (!arg_ok(user, CRED_MAX) || !arg_ok(password, CRED_MAX))
		return set_err(c, MIMEO_EINVAL, "user name or password empty, too long or with a line break");
	return MIMEO_OK;
}

int mimeo_pop3_login(mimeo_pop3 *c, const char *user, const char *password)
{
	mimeo_buf cmd;
	int rc;

	if ((rc = login_args(c, user, password)) < 0)
		return rc;
	mimeo_buf_init(&cmd, c->alloc);
	rc = mimeo_buf_puts(&cmd, "USER ");
	if (!rc)
		rc = mimeo_buf_puts(&cmd, user);
	if (!rc)
		rc = mimeo_buf_puts(&cmd, "\r\n");
	if (rc)
		goto out;
	rc = send_cmd(c, cmd.ptr, cmd.size);
	if (!rc)
		rc = read_status(c, "USER");
	if (rc)
		goto out;
	mimeo_buf_clear(&cmd);
	rc = mimeo_buf_puts(&cmd, "PASS ");
	if (!rc)
		rc = mimeo_buf_puts(&cmd, password);
	if (!rc)
		rc = mimeo_buf_puts(&cmd, "\r\n");
	if (!rc)
		rc = send_cmd(c, cmd.ptr, cmd.size);
	if (!rc)
		rc = read_status(c, "PASS");
out:
	if (rc == MIMEO_ENOMEM)
		set_err(c, rc, "out of memory");
	wipe(cmd.ptr, cmd.asize);
	mimeo_buf_dispose(&cmd);
	return auth_result(c, rc, "USER/PASS");
}

int mimeo_pop3_apop(mimeo_pop3 *c, const char *user, const char *password)
{
	int rc;

	if ((rc = login_args(c, user, password)) < 0)
		return rc;
	if (!c->timestamp[0])
		return set_err(c, MIMEO_ENOTSUP, "the server does not offer APOP (no timestamp in its greeting)");
#if MIMEO_HAVE_OPENSSL
	{
		/* RFC 1939 section 7: MD5(timestamp password), lowercase hex */
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0, i;
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		mimeo_buf cmd;
		int ok;

		if (!ctx)
			return set_err(c, MIMEO_ENOMEM, "out of memory");
		ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
		     EVP_DigestUpdate(ctx, c->timestamp, strlen(c->timestamp)) &&
		     EVP_DigestUpdate(ctx, password, strlen(password)) &&
		     EVP_DigestFinal_ex(ctx, md, &mdlen);
		EVP_MD_CTX_free(ctx);
		if (!ok) {
			ERR_clear_error();
			return set_err(c, MIMEO_ENOTSUP, "MD5 is not available from OpenSSL (FIPS mode?)");
		}
		mimeo_buf_init(&cmd, c->alloc);
		rc = mimeo_buf_puts(&cmd, "APOP ");
		if (!rc)
			rc = mimeo_buf_puts(&cmd, user);
		if (!rc)
			rc = mimeo_buf_put(&cmd, " ", 1);
		for (i = 0; !rc && i < mdlen; i++) {
			char hex[3];
			snprintf(hex, sizeof(hex), "%02x", md[i]);
			rc = mimeo_buf_put(&cmd, hex, 2);
		}
		if (!rc)
			rc = mimeo_buf_puts(&cmd, "\r\n");
		if (!rc)
			rc = send_cmd(c, cmd.ptr, cmd.size);
		if (!rc)
			rc = read_status(c, "APOP");
		if (rc == MIMEO_ENOMEM)
			set_err(c, rc, "out of memory");
		wipe(md, sizeof(md));
		wipe(cmd.ptr, cmd.asize);
		mimeo_buf_dispose(&cmd);
		return auth_result(c, rc, "APOP");
	}
#else
	return set_err(c, MIMEO_ENOTSUP, "APOP needs MD5 from OpenSSL, not available in this build");
#endif
}

int mimeo_pop3_auth_plain(mimeo_pop3 *c, const char *authzid, const char *user,
			  const char *password)
{
	mimeo_buf msg, cmd;
	mimeo_b64_encoder enc;
	size_t n;
	int rc;

	if ((rc = login_args(c, user, password)) < 0)
		return rc;
	if (!authzid)
		authzid = "";
	if (strnlen(authzid, CRED_MAX + 1) > CRED_MAX)
		return set_err(c, MIMEO_EINVAL, "authorization identity too long");
	mimeo_buf_init(&msg, c->alloc);
	mimeo_buf_init(&cmd, c->alloc);
	/* RFC 4616: [authzid] NUL authcid NUL passwd */
	rc = mimeo_buf_puts(&msg, authzid);
	if (!rc)
		rc = mimeo_buf_put(&msg, "", 1);
	if (!rc)
		rc = mimeo_buf_puts(&msg, user);
	if (!rc)
		rc = mimeo_buf_put(&msg, "", 1);
	if (!rc)
		rc = mimeo_buf_puts(&msg, password);
	if (!rc)
		rc = mimeo_buf_puts(&cmd, "AUTH PLAIN ");
	if (!rc)
		rc = mimeo_buf_grow(&cmd, MIMEO_B64_ENCODE_BOUND(msg.size) +
					  MIMEO_B64_ENCODE_FINISH_MAX + 2);
	if (rc)
		goto out;
	mimeo_b64_encoder_init(&enc, MIMEO_B64_NOWRAP, MIMEO_ISA_AUTO);
	n = mimeo_b64_encode_step(&enc, msg.ptr, msg.size, cmd.ptr + cmd.size);
	n += mimeo_b64_encode_finish(&enc, cmd.ptr + cmd.size + n);
	cmd.size += n;
	memcpy(cmd.ptr + cmd.size, "\r\n", 3);
	cmd.size += 2;
	/* RFC 5034 section 4: an initial response that would make the
	 * command longer than 255 octets is sent after a "+ " challenge */
	if (cmd.size > 255) {
		rc = send_cmd(c, "AUTH PLAIN\r\n", 12);
		if (!rc) {
			rc = read_status(c, "AUTH");
			if (rc == MIMEO_EPROTO && c->line[0] == '+' &&
			    (c->line[1] == ' ' || c->line[1] == '\0')) {
				/* the "+ " continuation is not an error */
				c->broken = 0;
				c->err[0] = '\0';
				rc = MIMEO_OK;
			} else if (rc == MIMEO_OK) {
				rc = broken(c, set_err(c, MIMEO_EPROTO, "AUTH: expected a \"+ \" challenge"));
			}
		}
		if (!rc)
			rc = send_cmd(c, cmd.ptr + 11, cmd.size - 11);
	} else {
		rc = send_cmd(c, cmd.ptr, cmd.size);
	}
	if (!rc)
		rc = read_status(c, "AUTH PLAIN");
out:
	if (rc == MIMEO_ENOMEM)
		set_err(c, rc, "out of memory");
	wipe(msg.ptr, msg.asize);
	wipe(cmd.ptr, cmd.asize);
	mimeo_buf_dispose(&msg);
	mimeo_buf_dispose(&cmd);
	return auth_result(c, rc, "AUTH PLAIN");
}

/* Parse an unsigned decimal number ending at a space or the end. */
static int parse_num(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*s = p;
	*out = v;
	return 1;
}

int mimeo_pop3_stat(mimeo_pop3 *c, unsigned long *count, uint64_t *octets)
{
	const char *s;
	uint64_t n, sz;
	int rc;

	if (!c)
		return MIMEO_EINVAL;
	if ((rc = check_usable(c)) < 0)
		return rc;
	rc = simple_cmd(c, "STAT", NULL);
	if (rc < 0)
		return rc;
	/* RFC 1939 section 5: "+OK nn mm" */
	s = c->line + 3;
	while (*s == ' ')
		s++;
	if (!parse_num(&s, &n) || *s != ' ' || (s++, !parse_num(&s, &sz)) || n > ULONG_MAX)
		return set_err(c, MIMEO_EPROTO, "STAT: malformed answer: %.200s", c->line);
	if (count)
		*count = (unsigned long)n;
	if (octets)
		*octets = sz;
	return MIMEO_OK;
}

static int entry_cmp(const void *a, const void *b)
{
	const mimeo_pop3_entry *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/* Parse a LIST or UIDL listing body into entries (adding or filling). */
static int parse_listing(mimeo_pop3 *c, const mimeo_buf *body, int uids, mimeo_pop3_entry **ent,
			 size_t *n, size_t *cap, int fill_only)
{
	size_t pos = 0;

	while (pos < body->size) {
		const char *line = body->ptr + pos, *s = line;
		const char *nl = memchr(line, '\n', body->size - pos);
		size_t llen = (size_t)((nl ? nl : body->ptr + body->size) - line);
		uint64_t num, size = 0;
		const char *uid = NULL;
		size_t uidlen = 0, i;
		mimeo_pop3_entry *e = NULL;

		pos += llen + 1;
		if (llen && line[llen - 1] == '\r')
			llen--;
		if (!parse_num(&s, &num) || num == 0 || num > ULONG_MAX || *s != ' ')
			goto bad;
		s++;
		if (!uids) {
			if (!parse_num(&s, &size))
				goto bad;
			/* RFC 2449 allows extra words after the size */
			if (s < line + llen && *s != ' ')
				goto bad;
		} else {
			uid = s;
			uidlen = (size_t)(line + llen - s);
			if (uidlen == 0 || uidlen > 70)
				goto bad;
			for (i = 0; i < uidlen; i++) {
				if ((unsigned char)uid[i] < 0x21 || (unsigned char)uid[i] > 0x7e)
					goto bad;
			}
		}
		if (fill_only) {
			mimeo_pop3_entry key;
			key.num = (unsigned long)num;
			/* an empty LIST has no array: bsearch(NULL) is
			 * undefined (UBSan, fuzz_pop3_client) */
			e = *n ? bsearch(&key, *ent, *n, sizeof(**ent), entry_cmp) : NULL;
			if (!e)
				continue; /* listed by UIDL only: ignore */
		} else {
			if (*n == ENTRIES_MAX)
				return set_err(c, MIMEO_ELIMIT, "too many messages in the listing");
			if (*n == *cap) {
				size_t ncap = *cap ? *cap * 2 : 64, bytes;
				mimeo_pop3_entry *ne;
				if (!mimeo__mul_ok(ncap, sizeof(*ne), &bytes))
					return set_err(c, MIMEO_ENOMEM, "out of memory");
				ne = mimeo__realloc(c->alloc, *ent, bytes);
				if (!ne)
					return set_err(c, MIMEO_ENOMEM, "out of memory");
				*ent = ne;
				*cap = ncap;
			}
			e = &(*ent)[(*n)++];
			memset(e, 0, sizeof(*e));
			e->num = (unsigned long)num;
		}
		if (uids) {
			memcpy(e->uid, uid, uidlen);
			e->uid[uidlen] = '\0';
		} else {
			e->size = size;
		}
		continue;
bad:
		return set_err(c, MIMEO_EPROTO, "malformed %s line: %.*s", uids ? "UIDL" : "LIST",
			       (int)(llen > 80 ? 80 : llen), line);
	}
	return MIMEO_OK;
}

int mimeo_pop3_list(mimeo_pop3 *c, unsigned what, mimeo_pop3_entry **out, size_t *n)
{
	mimeo_buf body[2];
	mimeo_pop3_reader r;
	const char *verbs[2] = { "LIST", "UIDL" };
	int want[2], k, rc = MIMEO_OK, sent = 0;
	mimeo_pop3_entry *ent = NULL;
	size_t cnt = 0, cap = 0;

	if (!c || !out || !n || !(what & (MIMEO_POP3_LIST_SIZES | MIMEO_POP3_LIST_UIDS)))
		return MIMEO_EINVAL;
	*out = NULL;
	*n = 0;
	if ((rc = check_usable(c)) < 0)
		return rc;
	want[0] = !!(what & MIMEO_POP3_LIST_SIZES);
	want[1] = !!(what & MIMEO_POP3_LIST_UIDS);
	mimeo_buf_init(&body[0], c->alloc);
	mimeo_buf_init(&body[1], c->alloc);
	if (want[0] && want[1] && pipelining(c)) {
		rc = send_cmd(c, "LIST\r\nUIDL\r\n", 12);
		sent = 1;
	}
	for (k = 0; k < 2 && rc >= 0; k++) {
		int r2;
		if (!want[k])
			continue;
		if (!sent) {
			char cmd[8];
			snprintf(cmd, sizeof(cmd), "%s\r\n", verbs[k]);
			rc = send_cmd(c, cmd, 6);
			if (rc < 0)
				break;
		}
		mimeo_pop3_reader_init(&r, 0, buf_sink, &body[k]);
		r.max_bytes = LISTING_MAX;
		r.max_line = 1024;
		r2 = read_multi(c, &r, verbs[k]);
		if (r2 == MIMEO_EUSER) /* buf_sink only fails for memory */
			r2 = set_err(c, MIMEO_ENOMEM, "out of memory");
		if (r2 < 0 && rc >= 0)
			rc = r2;
		/* with pipelining, still read the second answer so the
		 * session stays in step */
		if (r2 < 0 && (!sent || c->broken))
			break;
	}
	if (rc >= 0)
		rc = parse_listing(c, want[0] ? &body[0] : &body[1], !want[0], &ent, &cnt, &cap, 0);
	if (rc >= 0 && cnt > 1)
		qsort(ent, cnt, sizeof(*ent), entry_cmp);
	if (rc >= 0 && want[0] && want[1])
		rc = parse_listing(c, &body[1], 1, &ent, &cnt, &cap, 1);
	mimeo_buf_dispose(&body[0]);
	mimeo_buf_dispose(&body[1]);
	if (rc < 0) {
		mimeo__free(c->alloc, ent);
		return rc;
	}
	*out = ent;
	*n = cnt;
	return MIMEO_OK;
}

void mimeo_pop3_entries_free(mimeo_pop3 *c, mimeo_pop3_entry *entries)
{
	if (c)
		mimeo__free(c->alloc, entries);
}

static int fetch(mimeo_pop3 *c, const char *verb, const char *cmd, size_t len, unsigned flags,
		 uint64_t max_bytes, mimeo_write_fn write, void *user)
{
	mimeo_pop3_reader r;
	int rc;

	if ((rc = check_usable(c)) < 0)
		return rc;
	rc = send_cmd(c, cmd, len);
	if (rc < 0)
		return rc;
	mimeo_pop3_reader_init(&r, flags & MIMEO_POP3_TO_LF, write, user);
	r.max_line = c->opts.max_line;
	r.max_bytes = max_bytes;
	return read_multi(c, &r, verb);
}

int mimeo_pop3_retr(mimeo_pop3 *c, unsigned long num, unsigned flags, uint64_t max_bytes,
		    mimeo_write_fn write, void *user)
{
	char cmd[64];
	int n;

	if (!c || num == 0)
		return MIMEO_EINVAL;
	n = snprintf(cmd, sizeof(cmd), "RETR %lu\r\n", num);
	return fetch(c, "RETR", cmd, (size_t)n, flags, max_bytes, write, user);
}

/* How many RETR requests may be in flight with PIPELINING. */
#define RETR_WINDOW 8

int mimeo_pop3_retr_many(mimeo_pop3 *c, const unsigned long *nums, size_t n, unsigned flags,
			 const uint64_t *limits, const mimeo_pop3_retr_callbacks *cb, void *user)
{
	size_t sent = 0, done, window, i;
	int rc;

	if (!c || !cb || !cb->end || (n && !nums))
		return MIMEO_EINVAL;
	for (i = 0; i < n; i++) {
		if (nums[i] == 0)
			return set_err(c, MIMEO_EINVAL, "message number 0");
	}
	if ((rc = check_usable(c)) < 0)
		return rc;
	window = pipelining(c) ? RETR_WINDOW : 1;
	for (done = 0; done < n; done++) {
		mimeo_pop3_reader r;
		char cmd[RETR_WINDOW * 32];
		size_t len = 0;

		/* keep the window full: the commands are tiny, so writing
		 * them cannot block while the server is busy answering */
		while (sent < n && sent < done + window) {
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "RETR %lu\r\n",
						nums[sent]);
			sent++;
		}
		if (len && (rc = send_cmd(c, cmd, len)) < 0)
			break;
		if (cb->begin && cb->begin(nums[done], done, user) != 0) {
			rc = broken(c, set_err(c, MIMEO_EUSER, "stopped by the caller"));
			break;
		}
		mimeo_pop3_reader_init(&r, flags & MIMEO_POP3_TO_LF, cb->write, user);
		r.max_line = c->opts.max_line;
		r.max_bytes = limits ? limits[done] : 0;
		rc = read_multi(c, &r, "RETR");
		if (cb->end(nums[done], done, rc, user) != 0) {
			if (rc == MIMEO_OK || !c->broken)
				rc = broken(c, set_err(c, MIMEO_EUSER, "stopped by the caller"));
			break;
		}
		if (rc < 0 && c->broken)
			break;
		rc = MIMEO_OK; /* a -ERR for one message: the others go on */
	}
	if (rc < 0 && c->broken)
		return rc; /* mimeo_pop3_error() says why */
	c->err[0] = '\0';
	return MIMEO_OK;
}

int mimeo_pop3_top(mimeo_pop3 *c, unsigned long num, unsigned long lines, unsigned flags,
		   uint64_t max_bytes, mimeo_write_fn write, void *user)
{
	char cmd[80];
	int n;

	if (!c || num == 0)
		return MIMEO_EINVAL;
	n = snprintf(cmd, sizeof(cmd), "TOP %lu %lu\r\n", num, lines);
	return fetch(c, "TOP", cmd, (size_t)n, flags, max_bytes, write, user);
}

int mimeo_pop3_dele(mimeo_pop3 *c, unsigned long num)
{
	return mimeo_pop3_dele_many(c, &num, 1, NULL);
}

int mimeo_pop3_dele_many(mimeo_pop3 *c, const unsigned long *nums, size_t n,
			 unsigned long *failed)
{
	size_t done = 0;
	int rc, first_err = MIMEO_OK;
	char errsave[sizeof(c->err)];

	if (failed)
		*failed = 0;
	if (!c || (n && !nums))
		return MIMEO_EINVAL;
	if ((rc = check_usable(c)) < 0)
		return rc;
	while (done < n) {
		size_t batch = pipelining(c) ? PIPE_WINDOW : 1, i;
		char cmds[PIPE_WINDOW * 32];
		size_t len = 0;

		if (batch > n - done)
			batch = n - done;
		for (i = 0; i < batch; i++) {
			if (nums[done + i] == 0)
				return set_err(c, MIMEO_EINVAL, "message number 0");
			len += (size_t)snprintf(cmds + len, sizeof(cmds) - len, "DELE %lu\r\n",
						nums[done + i]);
		}
		rc = send_cmd(c, cmds, len);
		if (rc < 0)
			return rc;
		/* read every answer of the burst, keeping the first -ERR */
		for (i = 0; i < batch; i++) {
			rc = read_status(c, "DELE");
			if (rc < 0 && c->broken)
				return rc;
			if (rc < 0 && first_err == MIMEO_OK) {
				first_err = rc;
				if (failed)
					*failed = nums[done + i];
				memcpy(errsave, c->err, sizeof(errsave));
			}
		}
		done += batch;
	}
	if (first_err < 0) {
		memcpy(c->err, errsave, sizeof(errsave));
		return first_err;
	}
	c->err[0] = '\0';
	return MIMEO_OK;
}

int mimeo_pop3_rset(mimeo_pop3 *c)
{
	int rc;

	if (!c)
		return MIMEO_EINVAL;
	if ((rc = check_usable(c)) < 0)
		return rc;
	return simple_cmd(c, "RSET", NULL);
}

int mimeo_pop3_quit(mimeo_pop3 *c)
{
	int rc;

	if (!c)
		return MIMEO_EINVAL;
	if ((rc = check_usable(c)) < 0)
		return rc;
	rc = simple_cmd(c, "QUIT", NULL);
	if (rc == MIMEO_EPROTO && !c->broken)
		set_err(c, rc, "QUIT failed, deletions were not committed: %s", c->line);
	disconnect(c);
	return rc;
}
