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
 * The connection itself (sockets, waits, TLS) is in transport.c and tls.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3-priv.h"
#include "mimeo/codec.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* Overwrite secrets in memory we are about to release. */
static void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

/* Make sure the input buffer holds at least one byte: 1, 0 at EOF, <0. */
static int fill(mimeo_pop3 *c)
{
	ssize_t r;

	if (c->in_start < c->in_end)
		return 1;
	c->in_start = c->in_end = 0;
	r = mimeo__pop3_read(c, c->in, sizeof(c->in));
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
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "not connected");
	if (c->broken)
		return mimeo__pop3_set_err(c, MIMEO_EIO, "the connection is unusable after an earlier error");
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
			return broken(c, mimeo__pop3_set_err(c, MIMEO_EPROTO,
						 "the server closed the connection (%s)", what));
		s = c->in + c->in_start;
		nl = memchr(s, '\n', c->in_end - c->in_start);
		n = (size_t)((nl ? nl : c->in + c->in_end) - s);
		if (n > MIMEO_POP3_STATUS_MAX - len)
			return broken(c, mimeo__pop3_set_err(c, MIMEO_EPROTO,
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
		return mimeo__pop3_set_err(c, MIMEO_EPROTO, "%s: server said: %s", what, c->line);
	return broken(c, mimeo__pop3_set_err(c, MIMEO_EPROTO, "%s: unexpected response: %.200s",
					     what, c->line));
}

static int send_cmd(mimeo_pop3 *c, const char *cmd, size_t len)
{
	int rc = mimeo__pop3_write(c, cmd, len);
	return rc < 0 ? broken(c, rc) : rc;
}

/* Send "VERB[ ARG]\r\n" (no secrets) and read the single-line answer. */
static int simple_cmd(mimeo_pop3 *c, const char *verb, const char *arg)
{
	char cmd[MIMEO_POP3_STATUS_MAX];
	int n, rc;

	n = snprintf(cmd, sizeof(cmd), "%s%s%s\r\n", verb, arg ? " " : "", arg ? arg : "");
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "%s: argument too long", verb);
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
		return mimeo__pop3_set_err(c, rc, "%s: server said: %s", what, r->status);
	}
	if (rc == MIMEO_EPROTO && !r->ok && r->status[0])
		return broken(c, mimeo__pop3_set_err(c, rc, "%s: unexpected response: %.200s", what, r->status));
	return broken(c, mimeo__pop3_set_err(c, rc, "%s: %s", what, reason));
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
	if (opts->tls != MIMEO_POP3_TLS_NONE && !mimeo__pop3_tls_available())
		return MIMEO_ENOTSUP;
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
	c->tr = &mimeo__pop3_plain;
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
	if (c->tr->end)
		c->tr->end(c);
	c->tr = &mimeo__pop3_plain;
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
		rc = mimeo__pop3_set_err(c, MIMEO_ENOMEM, "out of memory");
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
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "already connected");
	c->broken = 0;
	c->authenticated = 0;
	c->timestamp[0] = '\0';
	mimeo_buf_clear(&c->capa);
	return MIMEO_OK;
}

/* STLS (RFC 2595) on a connection that is still in the clear. */
static int start_tls_cmd(mimeo_pop3 *c)
{
	int rc;

	if (!mimeo__pop3_tls_available())
		return mimeo__pop3_tls_start(c); /* says why */
	rc = simple_cmd(c, "STLS", NULL);

	if (rc < 0) {
		if (rc == MIMEO_EPROTO && !c->broken)
			mimeo__pop3_set_err(c, rc, "the server refused STLS: %s", c->line);
		return rc;
	}
	/* RFC 2595 / CVE-2011-0411-style injection: anything the server
	 * sent after its +OK came in the clear and must not be taken as
	 * part of the TLS session */
	if (c->in_start != c->in_end)
		return mimeo__pop3_set_err(c, MIMEO_EPROTO, "the server sent data after its STLS answer");
	rc = mimeo__pop3_tls_start(c);
	if (rc < 0)
		return rc;
	/* RFC 2595 section 4: forget what was learnt before TLS */
	return do_capa(c);
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
			mimeo__pop3_set_err(c, rc, "the server refused the connection: %s", c->line);
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
		return mimeo__pop3_set_err(c, MIMEO_ENOMEM, "out of memory");
	rc = mimeo__pop3_tcp_connect(c, host, port);
	if (rc >= 0 && c->opts.tls == MIMEO_POP3_TLS_IMPLICIT)
		rc = mimeo__pop3_tls_start(c);
	if (rc < 0) {
		disconnect(c);
		return rc;
	}
	return session_start(c);
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
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "invalid descriptor %d", fd);
	rc = connect_reset(c);
	/* TLS would need a host name to check the certificate against */
	if (rc >= 0 && c->opts.tls != MIMEO_POP3_TLS_NONE)
		rc = mimeo__pop3_set_err(c, MIMEO_EINVAL,
					 "TLS needs mimeo_pop3_connect() (a host name to verify)");
	if (rc >= 0)
		rc = mimeo__pop3_adopt_fd(c, fd);
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
		mimeo__pop3_set_err(c, rc, "%s login failed: %s", how, c->line);
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
		return mimeo__pop3_set_err(c, MIMEO_EINVAL,
					   "user name or password empty, too long or with a line break");
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
		mimeo__pop3_set_err(c, rc, "out of memory");
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
		return mimeo__pop3_set_err(c, MIMEO_ENOTSUP,
					   "the server does not offer APOP (no timestamp in its greeting)");
	{
		char hex[33];
		mimeo_buf cmd;

		if ((rc = mimeo__pop3_apop_digest(c, password, hex)) < 0)
			return rc;
		mimeo_buf_init(&cmd, c->alloc);
		rc = mimeo_buf_puts(&cmd, "APOP ");
		if (!rc)
			rc = mimeo_buf_puts(&cmd, user);
		if (!rc)
			rc = mimeo_buf_put(&cmd, " ", 1);
		if (!rc)
			rc = mimeo_buf_put(&cmd, hex, 32);
		if (!rc)
			rc = mimeo_buf_puts(&cmd, "\r\n");
		if (!rc)
			rc = send_cmd(c, cmd.ptr, cmd.size);
		if (!rc)
			rc = read_status(c, "APOP");
		if (rc == MIMEO_ENOMEM)
			mimeo__pop3_set_err(c, rc, "out of memory");
		wipe(hex, sizeof(hex));
		wipe(cmd.ptr, cmd.asize);
		mimeo_buf_dispose(&cmd);
		return auth_result(c, rc, "APOP");
	}
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
		return mimeo__pop3_set_err(c, MIMEO_EINVAL, "authorization identity too long");
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
				rc = broken(c, mimeo__pop3_set_err(c, MIMEO_EPROTO, "AUTH: expected a \"+ \" challenge"));
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
		mimeo__pop3_set_err(c, rc, "out of memory");
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
		return mimeo__pop3_set_err(c, MIMEO_EPROTO, "STAT: malformed answer: %.200s", c->line);
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
				return mimeo__pop3_set_err(c, MIMEO_ELIMIT, "too many messages in the listing");
			if (mimeo__array_reserve(c->alloc, (void **)ent, cap, *n, sizeof(**ent), 64))
				return mimeo__pop3_set_err(c, MIMEO_ENOMEM, "out of memory");
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
		return mimeo__pop3_set_err(c, MIMEO_EPROTO, "malformed %s line: %.*s", uids ? "UIDL" : "LIST",
			       (int)(llen > 80 ? 80 : llen), line);
	}
	return MIMEO_OK;
}

int mimeo_pop3_list(mimeo_pop3_entry **out, size_t *n, mimeo_pop3 *c, unsigned what)
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
			r2 = mimeo__pop3_set_err(c, MIMEO_ENOMEM, "out of memory");
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
			return mimeo__pop3_set_err(c, MIMEO_EINVAL, "message number 0");
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
			rc = broken(c, mimeo__pop3_set_err(c, MIMEO_EUSER, "stopped by the caller"));
			break;
		}
		mimeo_pop3_reader_init(&r, flags & MIMEO_POP3_TO_LF, cb->write, user);
		r.max_line = c->opts.max_line;
		r.max_bytes = limits ? limits[done] : 0;
		rc = read_multi(c, &r, "RETR");
		if (cb->end(nums[done], done, rc, user) != 0) {
			if (rc == MIMEO_OK || !c->broken)
				rc = broken(c, mimeo__pop3_set_err(c, MIMEO_EUSER, "stopped by the caller"));
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
				return mimeo__pop3_set_err(c, MIMEO_EINVAL, "message number 0");
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
		mimeo__pop3_set_err(c, rc, "QUIT failed, deletions were not committed: %s", c->line);
	disconnect(c);
	return rc;
}
