/*
 * mimeo/common.h - error codes, allocator, growable buffer, version.
 *
 * Every mimeo component includes this header.  Conventions used across the
 * whole library:
 *
 *  - Functions that can fail return an int: MIMEO_OK (0) on success, a
 *    positive value for a normal signal (MIMEO_DONE, MIMEO_PAUSED) and a
 *    negative MIMEO_E* code on failure (the zlib rule).
 *  - Malformed mail is not an error.  Decoders return their best result and
 *    report what they repaired through flags or defect events.
 *  - Objects take an optional mimeo_allocator; NULL means the C library's
 *    malloc/realloc/free.  mimeo never aborts on allocation failure.
 *  - There is no global mutable state: objects may be used from different
 *    threads as long as one object is not used by two threads at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_COMMON_H
#define MIMEO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define MIMEO_EXTERN __attribute__((visibility("default")))
#else
#define MIMEO_EXTERN
#endif

/** Library version, as numbers and as a string. @since 0.1 */
#define MIMEO_VERSION_MAJOR 0
#define MIMEO_VERSION_MINOR 1
#define MIMEO_VERSION_PATCH 0
#define MIMEO_VERSION_STRING "0.1.0"

/*
 * Status codes.  One X-macro table gives the enum, the name and the message
 * (http-parser style), so they can never drift apart.  -6 stays unused: it
 * was MIMEO_ECHARSET in 0.1, which no call ever returned (an unknown
 * charset is read as windows-1252 with a repair flag), removed in 0.2.
 */
#define MIMEO_STATUS_MAP(XX)                                              \
	XX(0, OK, "success")                                              \
	XX(1, DONE, "finished")                                           \
	XX(2, PAUSED, "paused by a callback")                             \
	XX(-1, ENOMEM, "out of memory")                                   \
	XX(-2, EINVAL, "invalid argument or misuse of the API")           \
	XX(-3, ELIMIT, "a configured limit was exceeded")                 \
	XX(-4, EUSER, "aborted by a callback")                            \
	XX(-5, EIO, "input/output error")                                 \
	XX(-7, EPARSE, "input could not be parsed")                       \
	XX(-8, ENOTFOUND, "not found")                                    \
	XX(-9, EPROTO, "protocol error (the peer said no or broke the rules)") \
	XX(-10, ETIMEOUT, "timed out")                                    \
	XX(-11, ETLS, "TLS error")                                        \
	XX(-12, ENOTSUP, "feature not available in this build")

typedef enum mimeo_status {
#define MIMEO_XX_(num, name, msg) MIMEO_##name = (num),
	MIMEO_STATUS_MAP(MIMEO_XX_)
#undef MIMEO_XX_
} mimeo_status;

/**
 * A static English description of a status code ("out of memory").
 * Never returns NULL; unknown codes give "unknown status".  @since 0.1
 */
MIMEO_EXTERN const char *mimeo_strerror(int status);

/** The symbolic name of a status code ("MIMEO_ENOMEM").  @since 0.1 */
MIMEO_EXTERN const char *mimeo_status_name(int status);

/** The run-time library version string, e.g. "0.1.0".  @since 0.1 */
MIMEO_EXTERN const char *mimeo_version(void);

/**
 * Custom memory allocator (zlib's zalloc/opaque idea, per object rather than
 * global).  All three functions must be set; `ctx` is passed through.
 * realloc(NULL, n) must behave like malloc(n); free(NULL) must be a no-op.
 */
typedef struct mimeo_allocator {
	void *(*malloc)(size_t size, void *ctx);
	void *(*realloc)(void *ptr, size_t size, void *ctx);
	void (*free)(void *ptr, void *ctx);
	void *ctx;
} mimeo_allocator;

/**
 * Write callback, the one output type of the whole API (builder, to7bit,
 * body decoding, the POP3 reader): consume `len` bytes at `data`, valid only
 * during the call.  Like every mimeo callback it takes the caller's pointer
 * last.
 * @return MIMEO_OK to go on, or a negative MIMEO_E* code that stops the
 *         writer and is returned by it (any other non-zero value becomes
 *         MIMEO_EUSER).
 * @since 0.2 (0.1 had the context first, and a separate POP3 type)
 */
typedef int (*mimeo_write_fn)(const void *data, size_t len, void *user);

/**
 * Read callback, the one input type of the whole API: fill `buf` with up to
 * `cap` bytes and store how many in *got (0 = end of input).
 * @return MIMEO_OK, or a negative MIMEO_E* code to stop (it is returned by
 *         the function reading).
 * @since 0.2 (0.1 had the context first)
 */
typedef int (*mimeo_read_fn)(void *buf, size_t cap, size_t *got, void *user);

/**
 * A growable byte buffer owned by the caller (libgit2's git_buf idea).
 * Initialise with MIMEO_BUF_INIT (or mimeo_buf_init() to attach an
 * allocator), release with mimeo_buf_dispose().  `ptr` is always
 * NUL-terminated once anything has been appended, so text results can be
 * used as C strings; `size` excludes the terminator.
 */
typedef struct mimeo_buf {
	char *ptr;       /**< data, NUL-terminated; NULL while empty and unallocated,
	                      but every library call that writes text into a
	                      buffer and succeeds leaves it non-NULL ("" when the
	                      text is empty), so it can be printed directly */
	size_t size;     /**< bytes in use, not counting the terminator */
	size_t asize;    /**< bytes allocated */
	const mimeo_allocator *alloc; /**< NULL = libc */
} mimeo_buf;

#define MIMEO_BUF_INIT { NULL, 0, 0, NULL }

/** Initialise `buf` empty, using `alloc` (NULL = libc).  @since 0.1 */
MIMEO_EXTERN void mimeo_buf_init(mimeo_buf *buf, const mimeo_allocator *alloc);

/** Free the memory of `buf` and reset it to empty.  @since 0.1 */
MIMEO_EXTERN void mimeo_buf_dispose(mimeo_buf *buf);

/** Make `buf` empty without freeing its memory.  @since 0.1 */
MIMEO_EXTERN void mimeo_buf_clear(mimeo_buf *buf);

/**
 * Make room for at least `extra` more bytes (plus the terminator).
 * @return MIMEO_OK or MIMEO_ENOMEM (then `buf` is unchanged).  @since 0.1
 */
MIMEO_EXTERN int mimeo_buf_grow(mimeo_buf *buf, size_t extra);

/**
 * Append `len` bytes.  @return MIMEO_OK or MIMEO_ENOMEM (then `buf` is
 * unchanged).  @since 0.1
 */
MIMEO_EXTERN int mimeo_buf_put(mimeo_buf *buf, const void *data, size_t len);

/** Append a NUL-terminated string.  @return as mimeo_buf_put.  @since 0.1 */
MIMEO_EXTERN int mimeo_buf_puts(mimeo_buf *buf, const char *str);

/**
 * Hand the data over to the caller: returns `buf->ptr` (to be freed with
 * the buffer's allocator; with the default allocator, free()) and leaves
 * `buf` empty.  Returns NULL for a buffer that never allocated.  @since 0.1
 */
MIMEO_EXTERN char *mimeo_buf_detach(mimeo_buf *buf);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_COMMON_H */
