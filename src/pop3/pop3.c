/*
 * pop3.c - streaming reader for POP3 multi-line responses (the RETR
 * adapter).
 *
 * RFC 1939 section 3: a multi-line response is a status line, then lines
 * terminated by CRLF; a line that starts with the termination octet "."
 * has one more "." prepended ("byte-stuffing"), and the response ends with
 * the line ".".  So the terminator is CRLF "." CRLF where the first CRLF
 * belongs to the last message line (or to the status line for an empty
 * body).
 *
 * The reader never copies message bytes: it hands spans of the caller's
 * chunk to the write callback and only splits a span where it drops a byte
 * (a stuffing dot, or the CR of a CRLF under MIMEO_POP3_TO_LF).  The only
 * bytes it ever has to hold back across chunks are a line-leading "." (which
 * is never delivered: it is either stuffing or the terminator), a CR after
 * it, or a CR that may turn out to be part of a CRLF; those are known
 * constants, so no buffer is needed.  Memory is bounded by the status line.
 *
 * Servers that end lines with a bare LF are accepted: a line ends at LF,
 * whether or not a CR precedes it, and ".\n" terminates.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE /* memrchr */
#include "common-priv.h"
#include "mimeo/pop3.h"

#include <string.h>

/* Reader states (mimeo_pop3_reader._state).  Zero is never used, so a
 * struct that was not initialised is caught by the sticky-error check. */
enum {
	R_STATUS = 1, /* reading the status line into r->status */
	R_LINE_START, /* at the first byte of a body line */
	R_MID,        /* inside a body line */
	R_CR,         /* TO_LF: a CR ended the last chunk and is held back */
	R_DOT,        /* a line started with "."; it is held back (dropped) */
	R_DOT_CR,     /* ".\r" at line start; the CR is held back */
	R_DONE,       /* the terminator was read */
};

void mimeo_pop3_reader_init(mimeo_pop3_reader *r, unsigned flags,
			    mimeo_write_fn write, void *user)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags;
	r->max_line = MIMEO_POP3_DEFAULT_MAX_LINE;
	r->_write = write;
	r->_user = user;
	r->_state = (flags & MIMEO_POP3_NO_STATUS) ? R_LINE_START : R_STATUS;
	if (flags & MIMEO_POP3_NO_STATUS)
		r->ok = 1;
}

static int fail(mimeo_pop3_reader *r, int err, const char *reason)
{
	r->_err = err;
	r->_reason = reason;
	return err;
}

/* Deliver `len` body bytes, enforcing max_bytes. */
static int emit(mimeo_pop3_reader *r, const void *data, size_t len)
{
	if (!len)
		return MIMEO_OK;
	if (r->max_bytes && (r->bytes > r->max_bytes || len > r->max_bytes - r->bytes))
		return fail(r, MIMEO_ELIMIT, "response longer than the size limit");
	r->bytes += len;
	if (r->_write && r->_write(data, len, r->_user) != 0)
		return fail(r, MIMEO_EUSER, "the write callback stopped the transfer");
	return MIMEO_OK;
}

/*
 * The status line is complete in r->status.  Keep it printable: it ends up
 * in error messages shown on terminals, and a hostile server must not be
 * able to send escape sequences there.
 */
static void status_clean(mimeo_pop3_reader *r)
{
	size_t i, n = r->_status_len;

	if (n && r->status[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r->status[i];
		if (c < 0x20 || c == 0x7f)
			r->status[i] = '?';
	}
	r->status[n] = '\0';
	r->_status_len = n;
}

static int status_done(mimeo_pop3_reader *r)
{
	size_t n;

	status_clean(r);
	n = r->_status_len;
	/* RFC 1939 section 3: "+OK" or "-ERR", case-sensitive in the RFC;
	 * we accept any case and require a space or the end after it. */
	if (n >= 3 && mimeo__ascii_ieq(r->status, 3, "+ok") && (n == 3 || r->status[3] == ' ')) {
		r->ok = 1;
		r->_state = R_LINE_START;
		return MIMEO_OK;
	}
	if (n >= 4 && mimeo__ascii_ieq(r->status, 4, "-err") && (n == 4 || r->status[4] == ' '))
		return fail(r, MIMEO_EPROTO, r->status);
	return fail(r, MIMEO_EPROTO, "malformed status line (neither +OK nor -ERR)");
}

/*
 * Fast path: inside a body line, nothing needs doing until a line starts
 * with "." (stuffing or the terminator).  Find the next "\n." after p (p
 * itself is never a line start here).  In base64 attachments, the bulk of
 * mail, there is no "." at all, so a whole chunk goes by in one memchr.
 */
static const unsigned char *next_dot_line(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q = p + 1;

	while (q < end) {
		q = memchr(q, '.', (size_t)(end - q));
		if (!q)
			return end;
		if (q[-1] == '\n')
			return q;
		q++;
	}
	return end;
}

/*
 * Check the line limit over [a, b) without visiting every line: only the
 * line carried in (*line_len) and the one left open matter, unless the
 * distance between the first and the last LF could hide a long line.
 */
static int lines_ok(size_t max, const unsigned char *a, const unsigned char *b,
		    size_t *line_len)
{
	size_t n = (size_t)(b - a);
	const unsigned char *f, *l, *q;

	if (!max)
		return 1;
	f = memchr(a, '\n', n);
	if (!f) {
		if (*line_len > max || n > max - *line_len)
			return 0;
		*line_len += n;
		return 1;
	}
	if (*line_len > max || (size_t)(f - a) + 1 > max - *line_len)
		return 0;
	l = memrchr(a, '\n', n);
	if ((size_t)(l - f) > max) {
		for (q = f + 1; q <= l;) {
			const unsigned char *nl = memchr(q, '\n', (size_t)(l - q) + 1);
			if ((size_t)(nl - q) + 1 > max)
				return 0;
			q = nl + 1;
		}
	}
	/* the line left open must fit too */
	*line_len = (size_t)(b - (l + 1));
	return *line_len <= max;
}

int mimeo_pop3_reader_feed(mimeo_pop3_reader *r, const void *data, size_t len,
			   size_t *consumed)
{
	const unsigned char *base = data, *p = data, *end, *span;
	int state, rc = MIMEO_OK;
	size_t line_len;

	if (consumed)
		*consumed = 0;
	if (r->_err)
		return r->_err;
	if (r->_state == R_DONE)
		return MIMEO_DONE;
	if (r->_state < R_STATUS || r->_state > R_DONE)
		return MIMEO_EINVAL;
	if (!len)
		return MIMEO_OK;
	if (!data)
		return MIMEO_EINVAL;
	end = p + len;

	/* The status line is short and bounded: collect it whole. */
	while (r->_state == R_STATUS && p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		/* the array has one byte more, for the NUL */
		if (n > MIMEO_POP3_STATUS_MAX - r->_status_len) {
			/* keep what fits, cleaned, whatever the chunking
			 * (fuzz finding F3) */
			memcpy(r->status + r->_status_len, p,
			       MIMEO_POP3_STATUS_MAX - r->_status_len);
			r->_status_len = MIMEO_POP3_STATUS_MAX;
			status_clean(r);
			p += n;
			rc = fail(r, MIMEO_ELIMIT, "status line too long");
			goto out;
		}
		memcpy(r->status + r->_status_len, p, n);
		r->_status_len += n;
		p += n;
		if (nl) {
			p++;
			rc = status_done(r);
			if (rc != MIMEO_OK)
				goto out;
		}
	}

	state = r->_state;
	line_len = r->_line_len;
	span = p;
	/* `span` starts the bytes of this chunk not yet delivered: everything
	 * in [span, p) goes out unchanged at the next flush. */
#define FLUSH(upto)                                                      \
	do {                                                             \
		rc = emit(r, span, (size_t)((upto) - span));             \
		if (rc != MIMEO_OK)                                      \
			goto save;                                       \
	} while (0)
	/* A CR held back (it might have started the line break) turned out
	 * to be content: deliver it, the line goes on. */
#define HELD_CR()                                                        \
	do {                                                             \
		FLUSH(p);                                                \
		rc = emit(r, "\r", 1);                                   \
		if (rc != MIMEO_OK)                                      \
			goto save;                                       \
		state = R_MID;                                           \
	} while (0)

	while (p < end) {
		switch (state) {
		case R_LINE_START:
			line_len = 0;
			if (*p == '.') {
				/* Stuffing or terminator: never delivered. */
				FLUSH(p);
				p++;
				span = p;
				line_len = 1;
				state = R_DOT;
				break;
			}
			state = R_MID;
			break;
		case R_MID: {
			const unsigned char *nl, *stop;
			size_t n;

			if (!(r->flags & MIMEO_POP3_TO_LF)) {
				stop = next_dot_line(p, end);
				if (!lines_ok(r->max_line, p, stop, &line_len)) {
					FLUSH(p);
					rc = fail(r, MIMEO_ELIMIT, "line longer than the line limit");
					goto save;
				}
				p = stop;
				if (stop < end || end[-1] == '\n')
					state = R_LINE_START;
				break;
			}
			/* MIMEO_POP3_TO_LF: every line end is visited, to
			 * drop its CR */
			nl = memchr(p, '\n', (size_t)(end - p));
			stop = nl ? nl + 1 : end;
			n = (size_t)(stop - p);
			if (r->max_line && (line_len > r->max_line || n > r->max_line - line_len)) {
				FLUSH(p);
				rc = fail(r, MIMEO_ELIMIT, "line longer than the line limit");
				goto save;
			}
			line_len += n;
			if (nl && nl > p && nl[-1] == '\r') {
				/* CRLF -> LF: drop the CR */
				FLUSH(nl - 1);
				span = nl;
			} else if (!nl && end[-1] == '\r') {
				/* may be the CR of a CRLF split across
				 * chunks: hold it back */
				FLUSH(end - 1);
				p = span = end;
				state = R_CR;
				break;
			}
			p = stop;
			if (nl)
				state = R_LINE_START;
			break;
		}
		case R_CR:
			if (*p == '\n') {
				/* the held CR is dropped; the LF is part of
				 * the span and of the line (fuzz finding F4) */
				if (r->max_line && line_len >= r->max_line) {
					FLUSH(p);
					rc = fail(r, MIMEO_ELIMIT, "line longer than the line limit");
					goto save;
				}
				line_len++;
				p++;
				state = R_LINE_START;
				break;
			}
			HELD_CR();
			break;
		case R_DOT:
		case R_DOT_CR:
			if (*p == '\n') { /* "." CRLF or "." LF: the end */
				p++;
				state = R_DONE;
				goto save;
			}
			if (state == R_DOT && *p == '\r') {
				p++;
				span = p;
				state = R_DOT_CR;
				break;
			}
			if (state == R_DOT) {
				/* a stuffed line: the dot is gone, the rest
				 * of the line is content */
				state = R_MID;
				break;
			}
			/* ".\r" then something else: a stuffed line that
			 * starts with a bare CR */
			line_len++;
			HELD_CR();
			break;
		default:
			/* R_STATUS/R_DONE cannot reach the loop */
			rc = fail(r, MIMEO_EINVAL, "reader state corrupted");
			goto save;
		}
	}
	FLUSH(p);
#undef FLUSH
#undef HELD_CR
save:
	if (rc == MIMEO_OK && state == R_DONE)
		rc = MIMEO_DONE;
	r->_state = state;
	r->_line_len = line_len;
out:
	r->wire_bytes += (uint64_t)(p - base);
	if (consumed)
		*consumed = (size_t)(p - base);
	return rc;
}

int mimeo_pop3_reader_finish(mimeo_pop3_reader *r)
{
	if (r->_err)
		return r->_err;
	if (r->_state == R_DONE)
		return MIMEO_DONE;
	if (r->_state == R_STATUS) {
		/* keep whatever arrived printable and terminated */
		status_clean(r);
		if (r->_status_len == 0)
			return fail(r, MIMEO_EPROTO, "connection closed before a response");
	}
	return fail(r, MIMEO_EPROTO, "connection closed before the end of the response");
}

int mimeo_pop3_parser_sink(const void *data, size_t len, void *parser)
{
	const char *p = data;

	while (len) {
		int rc = mimeo_parser_feed(parser, p, len);
		size_t used;

		if (rc == MIMEO_OK)
			return 0;
		if (rc != MIMEO_PAUSED)
			return -1;
		/* the reader's spans are only valid during this call, so
		 * a pause cannot be kept: resume with the rest at once */
		used = mimeo_parser_consumed(parser);
		if (MIMEO_NEVER(used > len))
			return -1;
		p += used;
		len -= used;
	}
	return 0;
}

int mimeo_pop3_reader_error(const mimeo_pop3_reader *r, const char **reason)
{
	if (r->_err) {
		if (reason)
			*reason = r->_reason;
		return r->_err;
	}
	if (reason)
		*reason = r->_state == R_DONE ? "finished" : "in progress";
	return r->_state == R_DONE ? MIMEO_DONE : MIMEO_OK;
}
