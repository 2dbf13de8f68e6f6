/*
 * mimeo/pop3.h - POP3 (RFC 1939): a streaming reader for multi-line
 * responses (the RETR adapter) and a small client on top of it.
 *
 * The reader is a filter: feed it the raw bytes of a response as they come
 * off the socket, in chunks of any size.  It checks the status line,
 * removes the byte-stuffing (RFC 1939 section 3: a body line that starts
 * with "." had one "." prepended by the server), hands the message bytes to
 * a write callback -- straight into a mimeo parser, a file or anything else
 * -- and stops exactly at the terminating line ".", however the chunks split
 * it.  Bytes after the terminator belong to the next (pipelined) response
 * and are left to the caller.  It allocates nothing and keeps no more than
 * the status line: memory is bounded whatever the server sends.
 *
 * The client connects over IPv4 or IPv6 with connect and read timeouts,
 * speaks CAPA (RFC 2449), STLS (RFC 2595) and implicit TLS through OpenSSL
 * (when built with it), USER/PASS, APOP, AUTH PLAIN (RFC 5034), STAT, LIST,
 * UIDL, RETR, TOP, DELE, RSET and QUIT, and pipelines commands when the
 * server announces PIPELINING.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_POP3_H
#define MIMEO_POP3_H

#include "mimeo/common.h"
#include "mimeo/parser.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The multi-line response reader (the RETR adapter)                  */
/* ------------------------------------------------------------------ */

/**
 * Longest status line accepted, in bytes, CR included.  RFC 2449
 * section 4 allows 512 octets including CRLF; we accept twice that so a
 * slightly chatty server still works.  A longer status line is an error.
 */
#define MIMEO_POP3_STATUS_MAX 1024

/** Default limit for one body line (mimeo_pop3_reader.max_line): 1 MiB. */
#define MIMEO_POP3_DEFAULT_MAX_LINE ((size_t)1 << 20)

/** Reader flags (mimeo_pop3_reader_init()). */
enum {
	/** The input starts with the first body line: the caller has
	 *  already read and checked the status line itself. */
	MIMEO_POP3_NO_STATUS = 0x01,
	/** Deliver every CRLF line ending as a bare LF (the usual form of
	 *  a Maildir file).  Bare CR and bare LF pass through unchanged. */
	MIMEO_POP3_TO_LF = 0x02,
};

/**
 * State of one multi-line response.  The caller owns it (usually on the
 * stack); mimeo_pop3_reader_init() sets every field.  Fields without a
 * leading underscore are public: the limits may be changed after init and
 * before the first feed; the rest is read-only.
 */
typedef struct mimeo_pop3_reader {
	unsigned flags;     /**< MIMEO_POP3_* flags given to init */
	size_t max_line;    /**< longest body line accepted, stuffing dot and
	                         line break included; 0 = no limit.  Default
	                         MIMEO_POP3_DEFAULT_MAX_LINE */
	uint64_t max_bytes; /**< most body bytes delivered; 0 = no limit
	                         (default).  Protects against an endless RETR */
	uint64_t bytes;     /**< body bytes delivered so far (read-only) */
	uint64_t wire_bytes; /**< input bytes consumed so far (read-only) */
	int ok;             /**< 1 once a "+OK" status line was seen */
	/** The status line without its line break, NUL-terminated: for
	 *  "-ERR [AUTH] bad" this is "-ERR [AUTH] bad" (read-only). */
	char status[MIMEO_POP3_STATUS_MAX + 1];
	/* private */
	mimeo_write_fn _write;
	void *_user;
	int _state;
	int _err;
	size_t _status_len;
	size_t _line_len;
	const char *_reason;
} mimeo_pop3_reader;

/**
 * Prepare `r` for one response.
 * @param r      the state to initialise
 * @param flags  MIMEO_POP3_NO_STATUS, MIMEO_POP3_TO_LF
 * @param write  receives the body bytes; may be NULL to discard them
 * @param user   passed to `write`
 * @since 0.1
 */
MIMEO_EXTERN void mimeo_pop3_reader_init(mimeo_pop3_reader *r, unsigned flags,
					 mimeo_write_fn write, void *user);

/**
 * Feed the next `len` bytes of the response.
 * @param consumed  set to the number of input bytes used (may be NULL).
 *                  It is `len` while the response goes on; at MIMEO_DONE
 *                  the bytes from data + *consumed on are the start of the
 *                  next response (pipelining).  After an -ERR status line
 *                  it counts the status line only.
 * @return MIMEO_OK (more input needed), MIMEO_DONE (the terminator was
 *         read; later calls keep returning MIMEO_DONE and consume nothing),
 *         or a sticky error: MIMEO_EPROTO (the server answered -ERR -- its
 *         text is in r->status -- or sent a malformed status line),
 *         MIMEO_ELIMIT (status line, body line or max_bytes too long),
 *         MIMEO_EUSER (the write callback refused), MIMEO_EINVAL (NULL
 *         data with a non-zero length).
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_reader_feed(mimeo_pop3_reader *r, const void *data,
					size_t len, size_t *consumed);

/**
 * Tell the reader that the input has ended (the connection closed).
 * @return MIMEO_DONE when the terminator was seen, the sticky error if
 *         there was one, else MIMEO_EPROTO: the response was truncated.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_reader_finish(mimeo_pop3_reader *r);

/**
 * The reader's sticky status and, in *reason (may be NULL), a static
 * English explanation or, for -ERR, the server's own text (r->status,
 * valid as long as `r`).  Returns MIMEO_OK while nothing went wrong,
 * MIMEO_DONE once finished.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_reader_error(const mimeo_pop3_reader *r,
					 const char **reason);

/**
 * A ready-made write callback that feeds a mimeo parser, so a message is
 * parsed -- and its attachments decoded -- while it downloads:
 *
 *     mimeo_pop3_reader_init(&r, 0, mimeo_pop3_parser_sink, parser);
 *     ... mimeo_pop3_reader_feed() until MIMEO_DONE ...
 *     mimeo_parser_finish(parser);
 *
 * or mimeo_pop3_retr(c, n, 0, 0, mimeo_pop3_parser_sink, parser).
 * @param parser  a `mimeo_parser *` (mimeo/parser.h)
 * @return 0, or -1 when the parser failed (the reader then stops with
 *         MIMEO_EUSER; mimeo_parser_error() has the details).  A parser
 *         callback that pauses is resumed at once: the reader cannot pause
 *         a socket transfer.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_parser_sink(const void *data, size_t len, void *parser);

/* ------------------------------------------------------------------ */
/* The client                                                          */
/* ------------------------------------------------------------------ */

/** A POP3 session (opaque). */
typedef struct mimeo_pop3 mimeo_pop3;

/** How to secure the connection (mimeo_pop3_options.tls). */
typedef enum mimeo_pop3_tls {
	MIMEO_POP3_TLS_NONE = 0,     /**< plain TCP (port 110) */
	MIMEO_POP3_TLS_STARTTLS = 1, /**< STLS after the greeting (RFC 2595) */
	MIMEO_POP3_TLS_IMPLICIT = 2, /**< TLS from the first byte (port 995) */
} mimeo_pop3_tls;

/** Client flags (mimeo_pop3_options.flags). */
enum {
	/** Do not verify the server certificate or its name.  For tests
	 *  only: anybody on the path can then read the password. */
	MIMEO_POP3_INSECURE = 0x01,
	/** Never pipeline, even when the server offers PIPELINING. */
	MIMEO_POP3_NO_PIPELINING = 0x02,
};

/** Options of mimeo_pop3_new().  Start from MIMEO_POP3_OPTIONS_INIT. */
typedef struct mimeo_pop3_options {
	unsigned version;         /**< MIMEO_POP3_OPTIONS_VERSION */
	mimeo_pop3_tls tls;       /**< default MIMEO_POP3_TLS_NONE */
	unsigned flags;           /**< MIMEO_POP3_INSECURE, ..._NO_PIPELINING */
	const char *cafile;       /**< PEM file of trusted CAs; NULL = system */
	int connect_timeout_ms;   /**< TCP connect + TLS handshake; default 30 s */
	int read_timeout_ms;      /**< longest silence while waiting for the
	                               server; default 60 s */
	size_t max_line;          /**< body line limit for RETR/TOP; default
	                               MIMEO_POP3_DEFAULT_MAX_LINE */
	const mimeo_allocator *alloc; /**< NULL = libc */
} mimeo_pop3_options;

#define MIMEO_POP3_OPTIONS_VERSION 1
#define MIMEO_POP3_OPTIONS_INIT \
	{ MIMEO_POP3_OPTIONS_VERSION, MIMEO_POP3_TLS_NONE, 0, NULL, 30000, 60000, \
	  MIMEO_POP3_DEFAULT_MAX_LINE, NULL }

/** One message of the maildrop (mimeo_pop3_list()). */
typedef struct mimeo_pop3_entry {
	unsigned long num; /**< message number in this session (1-based) */
	uint64_t size;     /**< size announced by LIST, in octets */
	char uid[71];      /**< unique-id from UIDL (RFC 1939 section 7: 1 to
	                        70 characters 0x21..0x7E), "" when not asked */
} mimeo_pop3_entry;

/**
 * Create an unconnected session.
 * @param out   receives the session; free it with mimeo_pop3_free()
 * @param opts  NULL = defaults; copied (the cafile string too)
 * @return MIMEO_OK, MIMEO_ENOMEM, MIMEO_EINVAL (bad options),
 *         MIMEO_ENOTSUP (TLS asked for in a build without OpenSSL)
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_new(mimeo_pop3 **out, const mimeo_pop3_options *opts);

/**
 * Connect to `host` (name, IPv4 or IPv6 literal) on `port` (number or
 * service name; NULL = 110, or 995 with implicit TLS), do TLS as the
 * options ask, read the greeting (and its APOP timestamp) and ask CAPA
 * (again after STLS, RFC 2595 section 4).
 * @return MIMEO_OK, MIMEO_EIO (resolve/connect/read failed or the server
 *         closed), MIMEO_ETIMEOUT, MIMEO_ETLS (handshake or certificate
 *         check failed), MIMEO_EPROTO (bad greeting, STLS refused),
 *         MIMEO_ENOMEM.  Details: mimeo_pop3_error().
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_connect(mimeo_pop3 *c, const char *host, const char *port);

/**
 * Start a session on a stream socket that is already connected to a POP3
 * server -- a socketpair to a tunnel (ssh, SOCKS, a proxy command), a
 * descriptor inherited from inetd, or a test's fake server -- and then do
 * what mimeo_pop3_connect() does after connecting: read the greeting (and
 * its APOP timestamp) and ask CAPA.  The descriptor is made non-blocking
 * and close-on-exec and belongs to the session from this call on: it is
 * closed by mimeo_pop3_quit(), mimeo_pop3_free(), or at once when this
 * call fails, whatever the reason (so the caller never closes it).  The
 * options' timeouts apply as for connect (connect_timeout_ms is unused).
 * @param fd  a connected SOCK_STREAM socket (not a pipe or a file)
 * @return MIMEO_OK; MIMEO_EINVAL (NULL session, negative or non-socket
 *         descriptor, already connected, or TLS in the options: with no
 *         host name the certificate cannot be checked, so use
 *         mimeo_pop3_connect(), or let the tunnel do TLS); MIMEO_EIO,
 *         MIMEO_ETIMEOUT, MIMEO_EPROTO, MIMEO_ENOMEM as for connect.
 *         Details: mimeo_pop3_error().
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_connect_fd(mimeo_pop3 *c, int fd);

/** 1 when the last CAPA listed `capability` (e.g. "PIPELINING",
 *  case-insensitive, first word of the line), else 0.  @since 0.1 */
MIMEO_EXTERN int mimeo_pop3_has_capa(const mimeo_pop3 *c, const char *capability);

/** The greeting's APOP timestamp ("<...@host>") or NULL.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_pop3_apop_timestamp(const mimeo_pop3 *c);

/**
 * Log in with USER and PASS.  The password is never kept or logged.
 * @return MIMEO_OK, MIMEO_EPROTO (refused: mimeo_pop3_error() has the
 *         server's text), MIMEO_EINVAL (CR, LF or NUL in the arguments),
 *         or an I/O status as for connect.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_login(mimeo_pop3 *c, const char *user, const char *password);

/**
 * Log in with APOP (RFC 1939 section 7): MD5 of timestamp + password.
 * @return as mimeo_pop3_login(); MIMEO_ENOTSUP when the greeting had no
 *         timestamp or the build has no OpenSSL (the MD5).  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_apop(mimeo_pop3 *c, const char *user, const char *password);

/**
 * Log in with AUTH PLAIN (RFC 5034, SASL PLAIN RFC 4616).
 * @param authzid  identity to act as; NULL or "" = the user itself
 * @return as mimeo_pop3_login().  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_auth_plain(mimeo_pop3 *c, const char *authzid,
				       const char *user, const char *password);

/** STAT: number of messages and total octets.  @since 0.1 */
MIMEO_EXTERN int mimeo_pop3_stat(mimeo_pop3 *c, unsigned long *count, uint64_t *octets);

/** What mimeo_pop3_list() asks. */
enum {
	MIMEO_POP3_LIST_SIZES = 0x01, /**< LIST */
	MIMEO_POP3_LIST_UIDS = 0x02,  /**< UIDL (both are pipelined) */
};

/**
 * List the maildrop with LIST and/or UIDL.
 * @param out  receives an array of *n entries in message-number order,
 *             to be freed with mimeo_pop3_entries_free(); NULL when *n is 0
 * @return MIMEO_OK, MIMEO_EPROTO (-ERR, e.g. UIDL unsupported, or a
 *         malformed listing), MIMEO_ELIMIT (more than 10 million
 *         entries), I/O statuses, MIMEO_ENOMEM.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_list(mimeo_pop3_entry **out, size_t *n, mimeo_pop3 *c,
				 unsigned what);

/** Free an array from mimeo_pop3_list().  @since 0.1 */
MIMEO_EXTERN void mimeo_pop3_entries_free(mimeo_pop3 *c, mimeo_pop3_entry *entries);

/**
 * RETR message `num`, streaming it un-stuffed into `write`.
 * @param flags      MIMEO_POP3_TO_LF or 0
 * @param max_bytes  fail with MIMEO_ELIMIT after this many bytes (0 = no
 *                   limit): bounds an endless response
 * @return MIMEO_OK once the whole message arrived, MIMEO_EPROTO (-ERR or
 *         the connection closed before the terminator), MIMEO_ELIMIT,
 *         MIMEO_EUSER (write refused; the session is then unusable),
 *         MIMEO_ETIMEOUT, MIMEO_EIO, MIMEO_ETLS.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_retr(mimeo_pop3 *c, unsigned long num, unsigned flags,
				 uint64_t max_bytes, mimeo_write_fn write, void *user);

/** Callbacks of mimeo_pop3_retr_many(); `begin` and `write` may be NULL,
 *  `end` is required. */
typedef struct mimeo_pop3_retr_callbacks {
	/** message `num` (the index-th of the list) starts; return 0 to go
	 *  on, anything else to stop (the session is then unusable) */
	int (*begin)(unsigned long num, size_t index, void *user);
	/** its un-stuffed bytes, as for mimeo_pop3_retr() */
	mimeo_write_fn write;
	/** it ended: `status` is MIMEO_OK when it arrived whole, MIMEO_EPROTO
	 *  when the server answered -ERR (the others go on), or the error that
	 *  stopped the transfer (then no further message follows); return 0
	 *  to go on, anything else to stop */
	int (*end)(unsigned long num, size_t index, int status, void *user);
} mimeo_pop3_retr_callbacks;

/**
 * RETR several messages in order; when the server offers PIPELINING, up
 * to 8 requests are kept in flight, which hides the round trip per
 * message on slow links.
 * @param limits  per-message byte limits (see mimeo_pop3_retr()), or NULL
 * @return MIMEO_OK when every message was handled (some may have had
 *         -ERR: see the end callback), MIMEO_EUSER when a callback
 *         stopped it, or the error that broke the session.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_retr_many(mimeo_pop3 *c, const unsigned long *nums, size_t n,
				      unsigned flags, const uint64_t *limits,
				      const mimeo_pop3_retr_callbacks *cb, void *user);

/** TOP: the headers and the first `lines` body lines of `num` (RFC 1939
 *  section 7); otherwise as mimeo_pop3_retr().  @since 0.1 */
MIMEO_EXTERN int mimeo_pop3_top(mimeo_pop3 *c, unsigned long num, unsigned long lines,
				unsigned flags, uint64_t max_bytes,
				mimeo_write_fn write, void *user);

/** DELE one message (takes effect at QUIT).  @since 0.1 */
MIMEO_EXTERN int mimeo_pop3_dele(mimeo_pop3 *c, unsigned long num);

/**
 * DELE `n` messages, pipelined when the server allows it.
 * @param failed  set to the first message number the server refused, or
 *                0 (may be NULL)
 * @return MIMEO_OK when every DELE got +OK, MIMEO_EPROTO otherwise.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_dele_many(mimeo_pop3 *c, const unsigned long *nums,
				      size_t n, unsigned long *failed);

/** RSET: undo the DELEs of this session.  @since 0.1 */
MIMEO_EXTERN int mimeo_pop3_rset(mimeo_pop3 *c);

/**
 * QUIT: the server commits the DELEs (RFC 1939 section 6) and closes.
 * @return MIMEO_OK only when the server said +OK: anything else means the
 *         deletions may not have happened.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_quit(mimeo_pop3 *c);

/**
 * 1 when the session is connected and in step with the server, so more
 * commands may be sent; 0 before connect, after QUIT, and after a failure
 * that lost the position in the stream (I/O error, timeout, truncated or
 * over-long response, refused write) -- then only mimeo_pop3_free() is
 * left.  A plain -ERR answer leaves the session usable.  @since 0.1
 */
MIMEO_EXTERN int mimeo_pop3_usable(const mimeo_pop3 *c);

/** Why the last call failed: a NUL-terminated English message, with the
 *  server's text for -ERR answers; "" when the last call succeeded.  Never
 *  contains a password or a control character (those the server sent are
 *  shown as "?", so the text is safe to print on a terminal).  Valid until
 *  the next call on `c`.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_pop3_error(const mimeo_pop3 *c);

/** Close the connection (without QUIT: pending DELEs are not committed)
 *  and free the session.  NULL is ignored.  @since 0.1 */
MIMEO_EXTERN void mimeo_pop3_free(mimeo_pop3 *c);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_POP3_H */
