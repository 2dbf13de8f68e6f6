/*
 * transport.c - the connection under the POP3 client: TCP connect with a
 * deadline (or a caller's socket), poll() waits bounded by the timeouts,
 * the plain-socket transport and the read/write loops over whichever
 * transport (struct mimeo__pop3_transport) is up; error text kept on the
 * session.  TLS is in tls.c, the only file that knows OpenSSL.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int mimeo__pop3_set_err(mimeo_pop3 *c, int code, const char *fmt, ...)
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

int64_t mimeo__pop3_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on the socket for at most `timeout_ms`. */
int mimeo__pop3_wait_fd(mimeo_pop3 *c, short events, int timeout_ms, const char *what)
{
	struct pollfd pfd;
	int64_t deadline = mimeo__pop3_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - mimeo__pop3_now_ms();
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
			return mimeo__pop3_set_err(c, MIMEO_ETIMEOUT, "timed out after %d ms %s", timeout_ms, what);
		if (errno != EINTR)
			return mimeo__pop3_set_err(c, MIMEO_EIO, "poll: %s", strerror(errno));
	}
}

/* Wait until the socket is ready for `events` within the read timeout.
 * @return MIMEO__POP3_AGAIN or a negative status. */
int mimeo__pop3_io_wait(mimeo_pop3 *c, short events, const char *what)
{
	int rc = mimeo__pop3_wait_fd(c, events, c->opts.read_timeout_ms, what);

	return rc < 0 ? rc : MIMEO__POP3_AGAIN;
}

/* After a failed recv()/send(): MIMEO__POP3_AGAIN (interrupted, or it would
 * block and the socket became ready), else the status. */
static int sock_retry(mimeo_pop3 *c, short events, const char *op, const char *what)
{
	if (errno == EINTR)
		return MIMEO__POP3_AGAIN;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return mimeo__pop3_io_wait(c, events, what);
	return mimeo__pop3_set_err(c, MIMEO_EIO, "%s: %s", op, strerror(errno));
}

/* One attempt to read: MIMEO_OK with *got bytes (0 at EOF), MIMEO__POP3_AGAIN, or
 * a negative status.  The same contract for every transport keeps
 * mimeo__pop3_read()/mimeo__pop3_write() a single loop. */
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

/* The plain socket: nothing to release beyond the descriptor. */
const struct mimeo__pop3_transport mimeo__pop3_plain = {
	"plain", sock_read_once, sock_write_once, NULL
};

/* Read some bytes into buf: >0 bytes, 0 at EOF, <0 status. */
ssize_t mimeo__pop3_read(mimeo_pop3 *c, void *buf, size_t n)
{
	size_t got;
	int rc;

	do
		rc = c->tr->read_once(c, buf, n, &got);
	while (rc == MIMEO__POP3_AGAIN);
	return rc < 0 ? rc : (ssize_t)got;
}

int mimeo__pop3_write(mimeo_pop3 *c, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		size_t put;
		int rc = c->tr->write_once(c, p, n, &put);

		if (rc < 0)
			return rc;
		p += put;
		n -= put;
	}
	return MIMEO_OK;
}

/* TCP connect with a deadline, trying every address getaddrinfo gives
 * (IPv6 and IPv4 alike). */
int mimeo__pop3_tcp_connect(mimeo_pop3 *c, const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = mimeo__pop3_now_ms() + c->opts.connect_timeout_ms;
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
		return mimeo__pop3_set_err(c, MIMEO_EIO, "cannot resolve %s port %s: %s", host, port,
			       gai_strerror(gai));
	mimeo__pop3_set_err(c, MIMEO_EIO, "no address for %s", host);
	for (ai = res; ai; ai = ai->ai_next) {
		int fd, err = 0;
		socklen_t elen = sizeof(err);
		int64_t left = deadline - mimeo__pop3_now_ms();

		if (left <= 0) {
			rc = mimeo__pop3_set_err(c, MIMEO_ETIMEOUT, "timed out connecting to %s port %s", host,
				     port);
			break;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			rc = mimeo__pop3_set_err(c, MIMEO_EIO, "socket: %s", strerror(errno));
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				err = errno;
			} else {
				rc = mimeo__pop3_wait_fd(c, POLLOUT, (int)left, "connecting");
				if (rc == MIMEO_ETIMEOUT) {
					close(fd);
					c->fd = -1;
					rc = mimeo__pop3_set_err(c, MIMEO_ETIMEOUT,
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
			rc = mimeo__pop3_set_err(c, MIMEO_EIO, "connect to %s port %s: %s", host, port,
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

/* Take over `fd` as the session's transport: it must be a stream socket
 * (recv/send need one); it is made non-blocking and close-on-exec, like
 * the sockets mimeo__pop3_tcp_connect() opens. */
int mimeo__pop3_adopt_fd(mimeo_pop3 *c, int fd)
{
	int type = 0, fl;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "descriptor %d is not a socket: %s", fd,
			       strerror(errno));
	if (type != SOCK_STREAM)
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "descriptor %d is not a stream socket", fd);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) < 0)
		return mimeo__pop3_set_err(c, MIMEO_EIO, "fcntl on descriptor %d: %s", fd, strerror(errno));
	c->fd = fd;
	return MIMEO_OK;
}
