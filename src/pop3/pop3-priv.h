/*
 * pop3-priv.h - the POP3 client's session and the transport under it,
 * shared by pop3_client.c (commands), transport.c (sockets, waits, the
 * plain transport) and tls.c (OpenSSL).  Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_POP3_PRIV_H
#define MIMEO_POP3_PRIV_H

#include "common-priv.h"
#include "mimeo-config.h"
#include "mimeo/pop3.h"

#include <stdint.h>
#include <sys/types.h>

/* Input buffer: one read's worth.  Lines never need more than
 * MIMEO_POP3_STATUS_MAX of it at once. */
#define MIMEO__POP3_IN_SIZE 16384

/* The *_once() I/O steps' "call me again" result (internal; never
 * returned by the public API). */
#define MIMEO__POP3_AGAIN 1

/*
 * A transport: one attempt to read or write (MIMEO_OK with the byte count,
 * 0 read at EOF; MIMEO__POP3_AGAIN; or a negative status with the reason on
 * the session), and what to release beyond the descriptor at disconnect.
 * The same contract for every transport keeps mimeo__pop3_read() and
 * mimeo__pop3_write() a single loop.
 */
struct mimeo__pop3_transport {
	const char *name;    /* "plain", "TLS" */
	int (*read_once)(mimeo_pop3 *c, void *buf, size_t n, size_t *got);
	int (*write_once)(mimeo_pop3 *c, const void *buf, size_t n, size_t *put);
	void (*end)(mimeo_pop3 *c); /* NULL: nothing to release */
};

struct mimeo_pop3 {
	mimeo_allocator alloc_copy;
	const mimeo_allocator *alloc; /* NULL or &alloc_copy */
	mimeo_pop3_options opts;
	char *cafile;
	char *host;
	int fd;
	const struct mimeo__pop3_transport *tr; /* never NULL: plain when idle */
	int broken;          /* the stream position is lost: only free() */
	int authenticated;
	void *tls_ctx;       /* SSL_CTX * and SSL * of tls.c (void * so no */
	void *tls_ssl;       /* other file needs OpenSSL's headers) */
	size_t in_start, in_end;
	unsigned char in[MIMEO__POP3_IN_SIZE];
	char line[MIMEO_POP3_STATUS_MAX + 1]; /* last status line */
	char timestamp[MIMEO_POP3_STATUS_MAX + 1];
	mimeo_buf capa;      /* capability lines, each NUL-terminated */
	char err[MIMEO_POP3_STATUS_MAX + 256];
};

/* transport.c: the plain socket transport. */
extern const struct mimeo__pop3_transport mimeo__pop3_plain;

/* transport.c: set the session's error text (control characters of the
 * server's shown as '?') and return `code`. */
int mimeo__pop3_set_err(mimeo_pop3 *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* transport.c: CLOCK_MONOTONIC in milliseconds. */
int64_t mimeo__pop3_now_ms(void);

/* transport.c: wait for `events` on the socket for at most `timeout_ms`;
 * MIMEO_ETIMEOUT / MIMEO_EIO with the reason set ("timed out ... `what`"). */
int mimeo__pop3_wait_fd(mimeo_pop3 *c, short events, int timeout_ms, const char *what);

/* transport.c: wait within the read timeout; MIMEO__POP3_AGAIN or a
 * negative status. */
int mimeo__pop3_io_wait(mimeo_pop3 *c, short events, const char *what);

/* transport.c: read some bytes through the current transport: >0 bytes,
 * 0 at EOF, <0 status. */
ssize_t mimeo__pop3_read(mimeo_pop3 *c, void *buf, size_t n);

/* transport.c: write all of data[0..n) through the current transport. */
int mimeo__pop3_write(mimeo_pop3 *c, const void *data, size_t n);

/* transport.c: TCP connect with the connect timeout, every address of
 * `host` in turn; sets c->fd. */
int mimeo__pop3_tcp_connect(mimeo_pop3 *c, const char *host, const char *port);

/* transport.c: take over a caller's stream socket as c->fd. */
int mimeo__pop3_adopt_fd(mimeo_pop3 *c, int fd);

/* tls.c: 1 when this build has OpenSSL. */
int mimeo__pop3_tls_available(void);

/* tls.c: TLS handshake on c->fd, verifying the certificate and c->host
 * unless MIMEO_POP3_INSECURE; from then on c->tr is the TLS transport.
 * MIMEO_ENOTSUP without OpenSSL. */
int mimeo__pop3_tls_start(mimeo_pop3 *c);

/* tls.c: the APOP digest of c->timestamp and `password` (RFC 1939 section
 * 7), 32 lowercase hex digits and a NUL; MIMEO_ENOTSUP without MD5. */
int mimeo__pop3_apop_digest(mimeo_pop3 *c, const char *password, char hex[33]);

#endif /* MIMEO_POP3_PRIV_H */
