/*
 * tls.c - TLS for the POP3 client through OpenSSL (STLS, RFC 2595, and
 * implicit TLS), and the MD5 that APOP needs: the one file that knows
 * whether this build has OpenSSL.  Without it the calls say so
 * (MIMEO_ENOTSUP) and mimeo_pop3_new() refuses the TLS modes.
 *
 * OpenSSL is loaded when first needed (dlopen), not linked: linked, its
 * two libraries cost every process that uses libmimeo about 1.5 ms of CPU
 * at start (the dynamic loader's relocations: 4,700 symbols, 240 page
 * faults instead of 76), which `mimeo scan` of a 100 MB mailbox (25 ms)
 * paid whether or not it ever spoke TLS.  The headers still give the
 * types, constants and prototypes; the functions are looked up once
 * (ossl_load) in the libraries of the OpenSSL major version built against,
 * and when they cannot be found TLS and APOP fail with a message naming
 * the library and the loader's reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "pop3-priv.h"

#if MIMEO_HAVE_OPENSSL
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The shared objects of the OpenSSL the headers are from (the soname's
 * version is the ABI's: 3 for every 3.x). */
#define OSSL_STR2(x) #x
#define OSSL_STR(x) OSSL_STR2(x)
#if defined(OPENSSL_SHLIB_VERSION)
#define OSSL_SOVER OSSL_STR(OPENSSL_SHLIB_VERSION)
#elif defined(SHLIB_VERSION_NUMBER)
#define OSSL_SOVER SHLIB_VERSION_NUMBER
#endif
#ifdef OSSL_SOVER
#define OSSL_LIBSSL "libssl.so." OSSL_SOVER
#define OSSL_LIBCRYPTO "libcrypto.so." OSSL_SOVER
#else
#define OSSL_LIBSSL "libssl.so"
#define OSSL_LIBCRYPTO "libcrypto.so"
#endif

/* Every OpenSSL function this file calls, by library.  The ones the
 * headers define as macros over a ctrl call are called through it. */
#define OSSL_SSL_FUNCS(X) \
	X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl) \
	X(SSL_CTX_load_verify_locations) X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_verify) X(SSL_new) X(SSL_free) X(SSL_set_fd) X(SSL_ctrl) \
	X(SSL_get0_param) X(SSL_set_hostflags) X(SSL_set1_host) X(SSL_connect) \
	X(SSL_read_ex) X(SSL_write_ex) X(SSL_get_error) X(SSL_get_verify_result)
#define OSSL_CRYPTO_FUNCS(X) \
	X(ERR_get_error) X(ERR_peek_error) X(ERR_clear_error) X(ERR_error_string_n) \
	X(X509_verify_cert_error_string) X(X509_VERIFY_PARAM_set1_ip_asc) \
	X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_md5) X(EVP_DigestInit_ex) \
	X(EVP_DigestUpdate) X(EVP_DigestFinal_ex)

/*
 * The looked-up functions, with the prototypes of the headers.  Written
 * once, under pthread_once, and only read after: like the CPU-dispatch
 * pointer, process-wide state that never changes once set (the libraries
 * are never unloaded: OpenSSL registers exit handlers of its own).
 */
static struct {
#define OSSL_FIELD(f) __typeof__(f) *f;
	OSSL_SSL_FUNCS(OSSL_FIELD)
	OSSL_CRYPTO_FUNCS(OSSL_FIELD)
#undef OSSL_FIELD
	int ok;                  /* every function was found */
	char why[256];           /* else: what the loader said */
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

/* Call OpenSSL function f (ossl_load() succeeded before). */
#define O(f) (*ossl.f)

static void *ossl_open(const char *name)
{
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!h)
		snprintf(ossl.why, sizeof(ossl.why), "%s", dlerror());
	return h;
}

static void ossl_load_once(void)
{
	void *crypto = ossl_open(OSSL_LIBCRYPTO), *ssl = crypto ? ossl_open(OSSL_LIBSSL) : NULL;
	void *p;

	if (!ssl)
		return;
	/* dlsym gives a void *: it is copied into the function pointer
	 * (POSIX guarantees the representation; ISO C has no cast for it) */
#define OSSL_SYM(lib, name, f)                                                             \
	if (!(p = dlsym(lib, #f))) {                                                       \
		snprintf(ossl.why, sizeof(ossl.why), "%s has no %s", name, #f);            \
		return;                                                                    \
	}                                                                                  \
	memcpy(&ossl.f, &p, sizeof(p));
#define OSSL_SSL_SYM(f) OSSL_SYM(ssl, OSSL_LIBSSL, f)
#define OSSL_CRYPTO_SYM(f) OSSL_SYM(crypto, OSSL_LIBCRYPTO, f)
	OSSL_SSL_FUNCS(OSSL_SSL_SYM)
	OSSL_CRYPTO_FUNCS(OSSL_CRYPTO_SYM)
#undef OSSL_SSL_SYM
#undef OSSL_CRYPTO_SYM
#undef OSSL_SYM
	ossl.ok = 1;
}

/* 1 when OpenSSL could be loaded (the first call loads it). */
static int ossl_load(void)
{
	pthread_once(&ossl_once, ossl_load_once);
	return ossl.ok;
}

/* The error when it could not: MIMEO_ENOTSUP, and why. */
static int ossl_missing(mimeo_pop3 *c, const char *what)
{
	return mimeo__pop3_set_err(c, MIMEO_ENOTSUP, "%s needs OpenSSL (%s), which could not be "
				   "loaded: %s", what, OSSL_LIBSSL, ossl.why);
}

/* Append OpenSSL's queued error (and a failed certificate check) to the
 * message.  The error queue is per thread; it is cleared before each TLS
 * call. */
static int tls_err(mimeo_pop3 *c, const char *what)
{
	unsigned long e = O(ERR_get_error)();
	char buf[256] = "";
	long vr = c->tls_ssl ? O(SSL_get_verify_result)(c->tls_ssl) : X509_V_OK;

	if (e)
		O(ERR_error_string_n)(e, buf, sizeof(buf));
	O(ERR_clear_error)();
	if (vr != X509_V_OK)
		return mimeo__pop3_set_err(c, MIMEO_ETLS,
					   "%s: certificate verification failed: %s", what,
					   O(X509_verify_cert_error_string)(vr));
	return mimeo__pop3_set_err(c, MIMEO_ETLS, "%s: %s", what, e ? buf : "connection closed");
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

/* OpenSSL's "would block": it may want the other direction than the call
 * (renegotiation, post-handshake messages). */
static int tls_retry(mimeo_pop3 *c, int e, const char *what)
{
	return mimeo__pop3_io_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, what);
}

static int tls_read_once(mimeo_pop3 *c, void *buf, size_t n, size_t *got)
{
	int r, e;

	*got = 0;
	O(ERR_clear_error)();
	r = O(SSL_read_ex)(c->tls_ssl, buf, n, got);
	if (r > 0)
		return MIMEO_OK;
	*got = 0;
	e = O(SSL_get_error)(c->tls_ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN)
		return MIMEO_OK;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_retry(c, e, "waiting for the server");
	if (e == SSL_ERROR_SYSCALL && O(ERR_peek_error)() == 0) {
		/* the peer closed without close_notify: an EOF; a
		 * truncated response is caught by the reader */
		O(ERR_clear_error)();
		return MIMEO_OK;
	}
	return tls_err(c, "TLS read");
}

static int tls_write_once(mimeo_pop3 *c, const void *buf, size_t n, size_t *put)
{
	int r, e;
	sigpipe_guard g;

	*put = 0;
	O(ERR_clear_error)();
	sigpipe_block(&g);
	r = O(SSL_write_ex)(c->tls_ssl, buf, n, put);
	e = r > 0 ? SSL_ERROR_NONE : O(SSL_get_error)(c->tls_ssl, r);
	sigpipe_restore(&g, e == SSL_ERROR_SYSCALL && errno == EPIPE);
	if (r > 0)
		return MIMEO_OK;
	*put = 0;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_retry(c, e, "sending to the server");
	return tls_err(c, "TLS write");
}

/* Release the TLS objects; the descriptor is closed by the caller. */
static void tls_end(mimeo_pop3 *c)
{
	if (c->tls_ssl) {
		O(SSL_free)(c->tls_ssl);
		c->tls_ssl = NULL;
	}
	if (c->tls_ctx) {
		O(SSL_CTX_free)(c->tls_ctx);
		c->tls_ctx = NULL;
	}
}

static const struct mimeo__pop3_transport tls_transport = {
	"TLS", tls_read_once, tls_write_once, tls_end
};

/* The first call loads OpenSSL: mimeo_pop3_new() with a TLS mode, or
 * STLS, is where a session means to use it. */
int mimeo__pop3_tls_available(void)
{
	return ossl_load();
}

static int is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* TLS handshake on the connected socket, verifying the certificate and
 * the host name unless MIMEO_POP3_INSECURE. */
int mimeo__pop3_tls_start(mimeo_pop3 *c)
{
	int64_t deadline = mimeo__pop3_now_ms() + c->opts.connect_timeout_ms;

	if (!ossl_load())
		return ossl_missing(c, "TLS");
	/* From here on the session reads and writes through TLS, and
	 * disconnecting releases whatever this function has made. */
	c->tr = &tls_transport;
	O(ERR_clear_error)();
	c->tls_ctx = O(SSL_CTX_new)(O(TLS_client_method)());
	if (!c->tls_ctx)
		return tls_err(c, "TLS setup");
	O(SSL_CTX_ctrl)(c->tls_ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	if (!(c->opts.flags & MIMEO_POP3_INSECURE)) {
		int ok = c->cafile ? O(SSL_CTX_load_verify_locations)(c->tls_ctx, c->cafile, NULL)
				   : O(SSL_CTX_set_default_verify_paths)(c->tls_ctx);
		if (!ok)
			return tls_err(c, c->cafile ? "loading the CA file" : "loading system CAs");
		O(SSL_CTX_set_verify)(c->tls_ctx, SSL_VERIFY_PEER, NULL);
	} else {
		O(SSL_CTX_set_verify)(c->tls_ctx, SSL_VERIFY_NONE, NULL);
	}
	c->tls_ssl = O(SSL_new)(c->tls_ctx);
	if (!c->tls_ssl || !O(SSL_set_fd)(c->tls_ssl, c->fd))
		return tls_err(c, "TLS setup");
	if (!(c->opts.flags & MIMEO_POP3_INSECURE)) {
		if (is_ip_literal(c->host)) {
			if (!O(X509_VERIFY_PARAM_set1_ip_asc)(O(SSL_get0_param)(c->tls_ssl), c->host))
				return tls_err(c, "TLS setup");
		} else {
			O(SSL_set_hostflags)(c->tls_ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (!O(SSL_set1_host)(c->tls_ssl, c->host))
				return tls_err(c, "TLS setup");
		}
	}
	if (!is_ip_literal(c->host))
		O(SSL_ctrl)(c->tls_ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
			    (void *)c->host); /* SNI */
	for (;;) {
		int r, e;
		int64_t left = deadline - mimeo__pop3_now_ms();
		sigpipe_guard g;

		O(ERR_clear_error)();
		sigpipe_block(&g);
		r = O(SSL_connect)(c->tls_ssl);
		e = r == 1 ? SSL_ERROR_NONE : O(SSL_get_error)(c->tls_ssl, r);
		sigpipe_restore(&g, e == SSL_ERROR_SYSCALL && errno == EPIPE);
		if (r == 1)
			return MIMEO_OK;
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && left > 0) {
			int rc = mimeo__pop3_wait_fd(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
						     (int)left, "in the TLS handshake");
			if (rc < 0)
				return rc;
			continue;
		}
		if (left <= 0)
			return mimeo__pop3_set_err(c, MIMEO_ETIMEOUT, "timed out in the TLS handshake");
		return tls_err(c, "TLS handshake");
	}
}

int mimeo__pop3_apop_digest(mimeo_pop3 *c, const char *password, char hex[33])
{
	/* RFC 1939 section 7: MD5(timestamp password), lowercase hex */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx;
	int ok;

	if (!ossl_load())
		return ossl_missing(c, "APOP (MD5)");
	ctx = O(EVP_MD_CTX_new)();
	if (!ctx)
		return mimeo__pop3_set_err(c, MIMEO_ENOMEM, "out of memory");
	ok = O(EVP_DigestInit_ex)(ctx, O(EVP_md5)(), NULL) &&
	     O(EVP_DigestUpdate)(ctx, c->timestamp, strlen(c->timestamp)) &&
	     O(EVP_DigestUpdate)(ctx, password, strlen(password)) &&
	     O(EVP_DigestFinal_ex)(ctx, md, &mdlen);
	O(EVP_MD_CTX_free)(ctx);
	if (!ok || mdlen != 16) {
		O(ERR_clear_error)();
		explicit_bzero(md, sizeof(md));
		return mimeo__pop3_set_err(c, MIMEO_ENOTSUP,
					   "MD5 is not available from OpenSSL (FIPS mode?)");
	}
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof(md));
	return MIMEO_OK;
}

#else /* !MIMEO_HAVE_OPENSSL */

int mimeo__pop3_tls_available(void)
{
	return 0;
}

int mimeo__pop3_tls_start(mimeo_pop3 *c)
{
	return mimeo__pop3_set_err(c, MIMEO_ENOTSUP, "TLS is not available in this build");
}

int mimeo__pop3_apop_digest(mimeo_pop3 *c, const char *password, char hex[33])
{
	(void)password;
	(void)hex;
	return mimeo__pop3_set_err(c, MIMEO_ENOTSUP,
				   "APOP needs MD5 from OpenSSL, not available in this build");
}

#endif /* MIMEO_HAVE_OPENSSL */
