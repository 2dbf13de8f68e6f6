/*
 * parser.c - the streaming (push) MIME parser.
 *
 * Shape (llhttp / zlib inflate): the caller pushes chunks; the parser keeps
 * a scanner state and a short queue of pending structural actions.  Input
 * is examined in three ways:
 *
 *  - header blocks: one line at a time (memchr for the line end), each line
 *    appended to a bounded field buffer; a field is complete when the next
 *    line does not start with whitespace (RFC 5322 2.2.3 folding);
 *  - bodies: only lines starting with a character that can matter ('-' for
 *    a boundary when a multipart is open, 'F'/'>' in an mbox) are looked
 *    at.  A SIMD (or memchr) scan finds "\n-" and friends; everything in
 *    between is passed to the body callback straight from the caller's
 *    buffer (or through a fixed scratch buffer when transfer-decoding);
 *  - candidate lines: a line that may be a boundary / From_ / >From line is
 *    copied into a small hold buffer (at most cand_max bytes are examined:
 *    CAND_MAX, more while a multipart with a longer boundary is open)
 *    and classified once complete, so the result never depends on where
 *    the chunks were split.
 *
 * The line break before a candidate line is held back: RFC 2046 5.1.1 says
 * the CRLF before a boundary belongs to the boundary.
 *
 * Structural events (header, headers_end, part_begin/part_end, defects ...)
 * are queued as actions and executed one callback at a time; every action
 * updates the state before it calls back, so a callback may pause at any
 * event and the parser resumes exactly there.
 *
 * A message/rfc822 part whose body is base64/QP/uuencoded is decoded and
 * the decoded stream parsed by a nested parser object ("inner") that shares
 * the callbacks, the limits and the part counter of the outermost one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mimeo/parser.h"
#include "mimeo/param.h"
#include "mimeo/charset.h"

#include "common-priv.h"
#include "parser-priv.h"
#include "codec-priv.h"

#include <string.h>

/* Bytes of a line examined to recognise a boundary or From_ line: RFC 2046
 * allows 70-character boundaries; nearly all real ones stay far below this.
 * A From_ line is never longer (mimeo__mbox_find_from); a longer boundary
 * raises the parser's cand_max to its delimiter's length, up to max_line
 * (issue 15 class 5: james-mime4j's 7,000-character boundary). */
#define CAND_MAX 1024
/* MIMEO_PARSE_DELIMITER_PREFIX: a longer boundary is compared by this many
 * first characters (Dovecot 2.3: RFC 2046's 70 and "a bit more"). */
#define PREFIX_BOUNDARY_MAX 80
/* ... and up to this many open boundaries are compared one by one, more
 * through the boundary table (prefix_lookup). */
#define PREFIX_WALK_MAX 8
/* Fixed transfer-decoding scratch buffer. */
#define SCRATCH 65536
#define PIECE (SCRATCH - MIMEO_TRANSFER_DECODE_FINISH_MAX - 64)
/* base64 lines taken by the decoder (b64_lines): only with this much input
 * left (the kernel needs 128 bytes ahead; a short feed is scanned as a
 * whole), and the line after them is looked for this far. */
#define B64_LINES_MIN 256
#define B64_LINE_REACH 4096
/* Header lines are never truncated below this (boundary recognition in a
 * header block needs CAND_MAX + 1 bytes). */
#define MIN_LINE 2048
#define QCAP 32

/* Scanner states.  One comment per state. */
enum {
	ST_INIT = 1,  /* nothing seen yet: the message starts with the input */
	ST_HDR,       /* in a header block, at a line start or inside a line */
	ST_HDR_SKIP,  /* inside an over-long header line: drop up to the LF */
	ST_BOL,       /* body: at a line start, line break held in `hold` */
	ST_MID,       /* body: inside a line, nothing held */
	ST_MIDCR,     /* body: a CR ended the last chunk and is held */
	ST_CAND,      /* body: copying a candidate line into `hold` */
	ST_SKIPLINE,  /* after an over-long boundary line: drop up to the LF */
	ST_END        /* finished: everything closed */
};

/* Frame kinds. */
enum { K_LEAF = 1, K_MULTI, K_MSG, K_MSG_ENC };
/* Multipart progress. */
enum { MP_PREAMBLE = 1, MP_CHILD, MP_EPILOGUE };

/* Queued actions. */
enum {
	A_DEFECT = 1,  /* report a defect */
	A_HEADER,      /* deliver the field fbuf[0..fend) */
	A_HEADERS_END, /* end of the header block of the top frame */
	A_PUSH,        /* push a child of the top frame (or a root) + part_begin */
	A_MSG_BEGIN,   /* push the root of a new top-level message */
	A_MSG_END,     /* message_end of the top-level message */
	A_CLOSE_TO,    /* close frames until `n` remain */
	A_BOUNDARY     /* after a boundary line of frame `n`: next child / epilogue */
};

/* What to do with the line that ended a header block. */
/* What becomes of the line that ended a header block.  LINE_FROM: it is
 * an mbox From_ line (dropped) that starts the next message; on_from()
 * has set the parser's state for that message already, and the deferred
 * headers_end must not undo it (fuzz_mailbox: a message/rfc822 body
 * starting with a From_ line went on in body mode with prev_blank set,
 * so the next "From " line split the mailbox once more). */
enum { LINE_DROP = 0, LINE_FIELD, LINE_REPLAY, LINE_FROM };

typedef struct action {
	int kind;
	int arg;        /* A_HEADER: LINE_*; A_BOUNDARY: close?; A_DEFECT: severity */
	int code;       /* A_DEFECT */
	size_t n;       /* frame count / frame index */
	uint64_t off;   /* offset the action refers to */
	uint64_t off2;  /* A_MSG_BEGIN: offset of the first header byte */
	const char *reason;
} action;

typedef struct frame {
	mimeo_part_info info;
	mimeo_buf section;
	mimeo_buf ctval;      /* value of the first Content-Type field */
	mimeo_buf charset;    /* lowercased charset parameter */
	mimeo_mime_field *ct; /* parsed Content-Type, freed on reuse */
	const char *bnd;      /* boundary while active (before the close delimiter) */
	size_t blen;
	uint64_t bhash;       /* hash of the boundary */
	size_t shadow;        /* frame index + 1 of an outer multipart with the
			       * same boundary, hidden by this one; 0 none */
	int kind;             /* K_* (K_LEAF until headers_end) */
	int mp;               /* MP_* for multiparts */
	unsigned nchild;      /* children started so far */
	unsigned close_step;  /* progress while closing (0: decoder tail, ...) */
	int has_ct, has_cte;
	int decoding;         /* `dec` is in use */
	int b64_try;          /* base64: after a miss of b64_lines, scan one line
			       * only (0: the last attempt missed too) */
	int hdr_open;         /* header block not finished yet */
	mimeo_transfer_decoder dec;
} frame;

struct mimeo_parser {
	mimeo_parser_options o;
	mimeo_parser_callbacks cb;
	void *user;
	const mimeo_allocator *a;
	mimeo__scan_fn scan;
	mimeo_isa isa;
	/* root only: charset cache for Content-Type parameters (RFC 2231 and
	 * encoded-word filenames), made on first use and kept, so that a
	 * mailbox does not open iconv again for every such part */
	mimeo_charset_cache *cc;

	/* sticky error */
	int err;
	const char *err_reason;
	uint64_t err_off;

	/* outermost parser (self for a top-level one) and nesting */
	mimeo_parser *root;
	mimeo_parser *inner;   /* parser for a transfer-encoded message/rfc822 */
	unsigned base_depth;   /* depth of this parser's root entity */
	const char *base_section;
	mimeo_buf base_sec;    /* storage for base_section */
	int nested;            /* inner parser: no message events, flag ENCODED */
	int soft_pause;        /* root only: a nested callback asked to pause */
	unsigned limits;       /* root only: MIMEO_LIMIT_* */
	size_t nparts;         /* root only: parts of the current message */
	int parts_reported;    /* root only: parts limit reported this message */

	/* input position */
	uint64_t off;          /* offset of the current chunk's first byte */
	size_t consumed;
	unsigned char last_byte; /* the input byte before the current chunk */
	int st;
	int finishing;         /* finish() has run the end-of-input steps */
	int in_msg;            /* a top-level message is open */

	/* held line break + candidate line */
	char *hold;            /* hold_cap >= cand_max + 8 bytes */
	size_t hold_cap;
	size_t cand_max;       /* bytes of a candidate line examined */
	size_t hold_len;       /* bytes in hold */
	size_t pend_len;       /* of which the held line break (at the front) */
	uint64_t hold_off;     /* input offset of hold[0] */
	uint64_t line_off;     /* offset of the current line start */
	int prev_blank;        /* the line before the current one was empty */
	int cr_blank;          /* ST_MIDCR: the line ended by the held CR is empty */

	/* pending boundary after an over-long boundary line (ST_SKIPLINE) */
	size_t sk_frame;
	int sk_close;
	uint64_t sk_end;

	/* header block */
	char *fbuf;
	size_t fcap, flen, fend; /* pending field = [0, fend), line = [fend, flen) */
	size_t hdr_bytes;
	unsigned hdr_count;
	int line_truncated;
	int line_partial;      /* fbuf's line is the start of an over-long
				* body line whose rest is still to come */
	int blk_over;          /* this block passed a limit (reported once) */
	int skip_field;        /* the field being read is dropped (over a limit) */
	int blk_ct, blk_cte;   /* the block kept a Content-Type / -Transfer-Encoding */
	int expect_from;       /* the next header line is a message's first: it
				* may be an envelope (From_) line to skip */
	int need_begin;        /* the message begins with the first complete line */
	int replay;            /* fbuf[0..flen) is the next line to process */
	uint64_t replay_end;   /* input offset after the line to replay */
	uint64_t rep_next;     /* offset after the last repeated delimiter skipped */

	/* buffered body data being delivered (replayed line) */
	const char *drain;
	size_t drain_len;

	/* action queue (ring) */
	action q[QCAP];
	unsigned qh, qn;
	unsigned qfront;       /* where the running action inserts "front" actions */

	/* frames: pointers stay put while the part is open */
	frame **fr;
	size_t nfr, cfr, afr;  /* open, capacity, allocated */
	size_t nbound;         /* open multiparts with an active boundary */
	/* active boundaries -> innermost frame (index + 1), open addressing,
	 * so a candidate line costs O(line), not O(depth) */
	size_t *bt;
	size_t bt_cap, bt_used;  /* slots, live + deleted slots */

	char *scratch;
};

static const char *const empty = "";

static int bt_insert(mimeo_parser *p, size_t idx);
static void bt_remove(mimeo_parser *p, size_t idx);

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static int fail(mimeo_parser *p, int err, const char *reason)
{
	if (!p->err) {
		p->err = err;
		p->err_reason = reason;
		p->err_off = p->off + p->consumed;
	}
	return p->err;
}

/* Map a callback's return value: 0 go on, MIMEO_PAUSED pause (deferred in a
 * nested parser), anything else aborts. */
static int cbret(mimeo_parser *p, int rc)
{
	if (!rc)
		return 0;
	if (rc == MIMEO_PAUSED) {
		if (p->nested) {
			p->root->soft_pause = 1;
			return 0;
		}
		return MIMEO_PAUSED;
	}
	return fail(p, MIMEO_EUSER, "aborted by a callback");
}

static frame *top(const mimeo_parser *p)
{
	return p->nfr ? p->fr[p->nfr - 1] : NULL;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void add_limit(mimeo_parser *p, unsigned bit)
{
	p->root->limits |= bit;
}

/* ------------------------------------------------------------------ */
/* action queue                                                        */
/* ------------------------------------------------------------------ */

/* Queue an action at the back, or "in front": right after the actions the
 * running action already put in front (so they keep their order). */
static action *q_push(mimeo_parser *p, int kind, int front)
{
	unsigned k = front ? p->qfront++ : p->qn, i;
	action *a;

	if (p->qn == QCAP) {
		/* Cannot happen: at most a handful of actions per line. */
		fail(p, MIMEO_EINVAL, "parser action queue overflow");
		return NULL;
	}
	for (i = p->qn; i > k; i--)
		p->q[(p->qh + i) % QCAP] = p->q[(p->qh + i - 1) % QCAP];
	p->qn++;
	a = &p->q[(p->qh + k) % QCAP];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

static void q_pop(mimeo_parser *p)
{
	p->qh = (p->qh + 1) % QCAP;
	p->qn--;
}

static void defect(mimeo_parser *p, int front, int code, int sev, uint64_t off,
		   const char *reason)
{
	action *a = q_push(p, A_DEFECT, front);

	if (a) {
		a->code = code;
		a->arg = sev;
		a->off = off;
		a->reason = reason;
	}
}

static void limit_hit(mimeo_parser *p, int front, unsigned bit, uint64_t off,
		      const char *reason)
{
	add_limit(p, bit);
	defect(p, front, MIMEO_DEFECT_LIMIT, MIMEO_DEFECT_WARN, off, reason);
}

/* ------------------------------------------------------------------ */
/* body delivery                                                       */
/* ------------------------------------------------------------------ */

static int inner_feed(mimeo_parser *in, const char *data, size_t len);
static int inner_finish(mimeo_parser *in);

/* Pass `n` decoded (or raw) bytes of the top frame to its consumer. */
static int deliver(mimeo_parser *p, frame *f, const char *d, size_t n)
{
	int rc;

	if (!n)
		return 0;
	switch (f->kind) {
	case K_MULTI:
		if (!(p->o.flags & MIMEO_PARSE_PREAMBLE))
			return 0;
		if (f->mp == MP_EPILOGUE)
			rc = p->cb.epilogue ? p->cb.epilogue(&f->info, d, n, p->user) : 0;
		else
			rc = p->cb.preamble ? p->cb.preamble(&f->info, d, n, p->user) : 0;
		return cbret(p, rc);
	case K_MSG_ENC:
		rc = inner_feed(p->inner, d, n);
		if (rc < 0)
			return fail(p, rc, p->inner->err_reason);
		return 0;
	default:
		f->info.decoded_size += n;
		rc = p->cb.body ? p->cb.body(&f->info, d, n, p->user) : 0;
		return cbret(p, rc);
	}
}

/*
 * Emit body bytes of the top frame, transfer-decoding through the scratch
 * buffer when needed.  *done receives how many input bytes were used (less
 * than n only when a callback paused or failed).
 */
static int emit(mimeo_parser *p, const char *d, size_t n, size_t *done)
{
	frame *f = top(p);
	size_t used = 0;
	int rc = 0;

	if (!f || !n) {
		if (done)
			*done = n;
		return 0;
	}
	if (!f->decoding) {
		rc = deliver(p, f, d, n);
		used = n;
	} else {
		while (used < n && !rc) {
			size_t k = n - used < PIECE ? n - used : PIECE;
			size_t o = mimeo_transfer_decode_step(&f->dec, d + used, k, p->scratch);

			used += k;
			rc = deliver(p, f, p->scratch, o);
			if (!rc && f->kind == K_MSG_ENC && p->root == p && p->soft_pause)
				break;
		}
	}
	if (done)
		*done = used;
	if (!rc && p->root == p && p->soft_pause) {
		p->soft_pause = 0;
		rc = MIMEO_PAUSED;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* frames                                                              */
/* ------------------------------------------------------------------ */

static frame *frame_get(mimeo_parser *p)
{
	frame *f;

	if (mimeo__array_reserve(p->a, (void **)&p->fr, &p->cfr, p->nfr, sizeof(*p->fr), 16))
		return NULL;
	if (p->nfr == p->afr) {
		f = mimeo__calloc(p->a, 1, sizeof(*f));
		if (!f)
			return NULL;
		mimeo_buf_init(&f->section, p->a);
		mimeo_buf_init(&f->ctval, p->a);
		mimeo_buf_init(&f->charset, p->a);
		p->fr[p->afr++] = f;
	}
	f = p->fr[p->nfr];
	mimeo_mime_field_free(f->ct);
	f->ct = NULL;
	mimeo_buf_clear(&f->section);
	mimeo_buf_clear(&f->ctval);
	mimeo_buf_clear(&f->charset);
	memset(&f->info, 0, sizeof(f->info));
	f->bnd = NULL;
	f->blen = 0;
	f->kind = K_LEAF;
	f->mp = 0;
	f->nchild = 0;
	f->close_step = 0;
	f->has_ct = f->has_cte = 0;
	f->decoding = 0;
	f->hdr_open = 1;
	return f;
}

static void frame_free(mimeo_parser *p, frame *f)
{
	mimeo_mime_field_free(f->ct);
	mimeo_buf_dispose(&f->section);
	mimeo_buf_dispose(&f->ctval);
	mimeo_buf_dispose(&f->charset);
	mimeo__free(p->a, f);
}

/* Section of a new frame (RFC 3501 6.4.5): a child of multipart `parent`
 * gets S.i; a root entity gets its message's prefix M: "" at top level,
 * the section of the message/rfc822 part that encloses it otherwise (that
 * part's headers_end has run, so its own section is final).  A root's
 * section is completed by root_section() once its type is known; room for
 * that is reserved now, so the pointer handed to part_begin stays put. */
static int set_section(mimeo_parser *p, frame *f, frame *parent)
{
	char num[24];
	int rc;

	if (!parent || parent->kind == K_MSG) {
		const char *m = parent ? parent->info.section
			      : p->base_section ? p->base_section : "";

		rc = mimeo_buf_puts(&f->section, m);
		if (!rc)
			rc = mimeo_buf_grow(&f->section, 2);
	} else {
		/* parent section, ".", child number (no printf: hot with
		 * many small parts) */
		char *e = num + sizeof(num);
		unsigned v = parent->nchild;

		do {
			*--e = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		if (*parent->info.section)
			*--e = '.';
		rc = mimeo_buf_puts(&f->section, parent->info.section);
		if (!rc)
			rc = mimeo_buf_put(&f->section, e, (size_t)(num + sizeof(num) - e));
	}
	if (!rc && !f->section.ptr)
		rc = mimeo_buf_put(&f->section, "", 0);
	if (!rc && !f->section.ptr)
		f->info.section = empty;
	else
		f->info.section = f->section.ptr;
	return rc;
}

/* IMAP numbers the body of a message whose root is not a multipart M.1
 * (BODY[1] of a single-part message, RFC 3501 6.4.5): append it in the
 * room set_section() reserved, so info.section keeps its address. */
static void root_section(frame *f)
{
	mimeo_buf *b = &f->section;

	if (!(f->info.flags & MIMEO_PART_ROOT) || f->info.flags & MIMEO_PART_MULTIPART)
		return;
	if (b->size) {
		memcpy(b->ptr + b->size, ".1", 3);
		b->size += 2;
	} else {
		memcpy(b->ptr, "1", 2);
		b->size = 1;
	}
}

/* Push a new frame (a root when the stack is empty). */
static frame *push(mimeo_parser *p, uint64_t hdr_off)
{
	frame *parent = top(p);
	frame *f = frame_get(p);

	if (!f) {
		fail(p, MIMEO_ENOMEM, "out of memory");
		return NULL;
	}
	if (parent)
		parent->nchild++;
	if (set_section(p, f, parent)) {
		fail(p, MIMEO_ENOMEM, "out of memory");
		return NULL;
	}
	f->info.depth = p->base_depth + (unsigned)p->nfr;
	f->info.header_offset = hdr_off;
	f->info.body_offset = hdr_off;
	f->info.end_offset = hdr_off;
	f->info.cte = MIMEO_CTE_NONE;
	if (!parent || parent->kind == K_MSG)
		f->info.flags |= MIMEO_PART_ROOT;
	if (p->nested)
		f->info.flags |= MIMEO_PART_ENCODED;
	p->nfr++;
	p->root->nparts++;
	return f;
}

/* ------------------------------------------------------------------ */
/* headers_end: types, defaults, kind of body                          */
/* ------------------------------------------------------------------ */

static int lower_copy(mimeo_buf *b, const char *s)
{
	size_t i, n = strlen(s);

	mimeo_buf_clear(b);
	if (mimeo_buf_grow(b, n + 1))
		return MIMEO_ENOMEM;
	for (i = 0; i < n; i++)
		b->ptr[i] = (char)mimeo__lower((unsigned char)s[i]);
	b->ptr[n] = '\0';
	b->size = n;
	return 0;
}

/* Apply the Content-Type (or the defaults) to f->info. */
static int set_type(mimeo_parser *p, frame *f, const frame *parent)
{
	const char *cs = NULL;

	if (f->has_ct) {
		mimeo_header_options ho = MIMEO_HEADER_OPTIONS_INIT;
		int rc;

		ho.alloc = p->a;
		if (!p->root->cc && mimeo_charset_cache_new(&p->root->cc, p->a) != MIMEO_OK)
			return fail(p, MIMEO_ENOMEM, "out of memory");
		rc = mimeo_mime_field_parse(&f->ct, p->root->cc, &ho,
					    f->ctval.ptr ? f->ctval.ptr : "", f->ctval.size);
		if (rc)
			return fail(p, rc, "out of memory");
	}
	if (f->ct && f->ct->type && *f->ct->type && f->ct->subtype && *f->ct->subtype) {
		f->info.type = f->ct->type;
		f->info.subtype = f->ct->subtype;
		cs = mimeo_mime_field_param(f->ct, "charset");
	} else if (f->has_ct) {
		/* RFC 2045 5.2: an invalid or incomplete Content-Type ("text"
		 * without subtype, an empty value, "image/") is treated as
		 * the default, text/plain, as GMime and Python do (issue 15
		 * class 6); a charset parameter it has is kept. */
		defect(p, 1, MIMEO_DEFECT_BAD_CONTENT_TYPE, MIMEO_DEFECT_WARN,
		       f->info.header_offset, "invalid Content-Type: text/plain used");
		f->info.type = "text";
		f->info.subtype = "plain";
		cs = f->ct ? mimeo_mime_field_param(f->ct, "charset") : NULL;
		if (!cs)
			cs = "us-ascii";
	} else if (parent && parent->kind == K_MULTI && parent->info.subtype &&
		   !strcmp(parent->info.subtype, "digest")) {
		/* RFC 2046 5.1.5 */
		f->info.type = "message";
		f->info.subtype = "rfc822";
	} else {
		/* RFC 2045 5.2 */
		f->info.type = "text";
		f->info.subtype = "plain";
		cs = "us-ascii";
	}
	if (cs) {
		if (lower_copy(&f->charset, cs))
			return fail(p, MIMEO_ENOMEM, "out of memory");
		f->info.charset = f->charset.ptr;
	}
	return 0;
}

static int cte_identity(mimeo_cte c)
{
	return c == MIMEO_CTE_NONE || c == MIMEO_CTE_7BIT || c == MIMEO_CTE_8BIT ||
	       c == MIMEO_CTE_BINARY || c == MIMEO_CTE_UNKNOWN;
}

static int inner_start(mimeo_parser *p, frame *f);

/* Examine candidate lines of up to `cand` bytes (a long boundary's
 * delimiter line).  The hold keeps its bytes (a held line break). */
static int hold_grow(mimeo_parser *p, size_t cand)
{
	if (cand + 8 > p->hold_cap) {
		char *h = mimeo__realloc(p->a, p->hold, cand + 8);

		if (!h)
			return fail(p, MIMEO_ENOMEM, "out of memory");
		p->hold = h;
		p->hold_cap = cand + 8;
	}
	p->cand_max = cand;
	return 0;
}

/* Decide what the body of f is; sets the scanner state. */
static int set_kind(mimeo_parser *p, frame *f)
{
	unsigned depth_ok = f->info.depth < p->o.max_depth;
	uint64_t at = f->info.body_offset;

	if (!strcmp(f->info.type, "multipart")) {
		const char *b = mimeo_mime_field_param(f->ct, "boundary");
		size_t bl = b ? strlen(b) : 0;

		/* lines are compared without trailing whitespace; a boundary
		 * parameter ending in spaces (RFC 2046 forbids it) matches
		 * the same lines as without them, as in GMime.  With
		 * MIMEO_PARSE_DELIMITER_PREFIX the boundary is the start of a
		 * line, compared as written, spaces included (Dovecot) */
		while (bl && is_ws((unsigned char)b[bl - 1]) &&
		       !(p->o.flags & MIMEO_PARSE_DELIMITER_PREFIX))
			bl--;
		/* ... and of a boundary longer than PREFIX_BOUNDARY_MAX only
		 * its start counts, as Dovecot truncates it */
		if (bl > PREFIX_BOUNDARY_MAX && (p->o.flags & MIMEO_PARSE_DELIMITER_PREFIX))
			bl = PREFIX_BOUNDARY_MAX;

		/* a delimiter line ("--" boundary "--") must fit in a line of
		 * max_line bytes: RFC 2046's 70 characters are often passed
		 * (issue 15 class 5) */
		if (!bl || bl + 4 > (p->o.max_line > CAND_MAX ? p->o.max_line : CAND_MAX)) {
			defect(p, 1, MIMEO_DEFECT_NO_BOUNDARY, MIMEO_DEFECT_CRIT, at,
			       "multipart without usable boundary: opaque leaf");
			f->info.flags |= MIMEO_PART_OPAQUE;
		} else if (!depth_ok) {
			limit_hit(p, 1, MIMEO_LIMIT_DEPTH, at, "nesting too deep: opaque leaf");
			f->info.flags |= MIMEO_PART_OPAQUE;
		} else {
			if (bl + 4 > p->cand_max && hold_grow(p, bl + 4))
				return p->err;
			if (!cte_identity(f->info.cte) )
				defect(p, 1, MIMEO_DEFECT_MULTIPART_ENCODED, MIMEO_DEFECT_WARN, at,
				       "multipart with a transfer encoding (ignored)");
			f->kind = K_MULTI;
			f->mp = MP_PREAMBLE;
			f->bnd = b;
			f->blen = bl;
			f->info.boundary = b;
			f->info.flags |= MIMEO_PART_MULTIPART;
			p->nbound++;
			return bt_insert(p, p->nfr - 1);
		}
	} else if (!strcmp(f->info.type, "message") &&
		   (!strcmp(f->info.subtype, "rfc822") || !strcmp(f->info.subtype, "global") ||
		    !strcmp(f->info.subtype, "news"))) {
		/* message/news (obsolete, RFC 5537 4) carries a message as
		 * message/rfc822 does; GMime and Python parse it so too */
		if (!depth_ok || p->root->nparts >= p->o.max_parts) {
			limit_hit(p, 1, depth_ok ? MIMEO_LIMIT_PARTS : MIMEO_LIMIT_DEPTH, at,
				  "message/rfc822 not parsed: limit reached");
			f->info.flags |= MIMEO_PART_OPAQUE;
		} else if (cte_identity(f->info.cte) ||
			   (p->o.flags & MIMEO_PARSE_MESSAGE_AS_IS)) {
			/* (MIMEO_PARSE_MESSAGE_AS_IS: an encoded body is
			 * read as the message it literally is, as Dovecot
			 * reads it; a base64 text is then one header block
			 * of lines that are no fields) */
			f->kind = K_MSG;
			f->info.flags |= MIMEO_PART_MESSAGE;
			return 0;
		} else {
			/* decoded and parsed by `inner`, started by the
			 * caller once the section is final */
			f->kind = K_MSG_ENC;
			f->info.flags |= MIMEO_PART_MESSAGE;
			return 0;
		}
	}
	f->info.flags |= MIMEO_PART_LEAF;
	if (f->info.cte == MIMEO_CTE_UNKNOWN)
		defect(p, 1, MIMEO_DEFECT_UNKNOWN_CTE, MIMEO_DEFECT_WARN, at,
		       "unknown Content-Transfer-Encoding: body not decoded");
	if (!(p->o.flags & MIMEO_PARSE_NO_DECODE) && !cte_identity(f->info.cte)) {
		mimeo_transfer_decoder_init(&f->dec, f->info.cte, p->isa);
		f->decoding = 1;
		f->b64_try = 1;
	}
	return 0;
}

/* Enter body mode for the top frame; `replay` = the line in fbuf is the
 * first body line (no blank line ended the header block). */
static void start_body(mimeo_parser *p, int replay, int blank)
{
	p->st = ST_BOL;
	p->hold_len = p->pend_len = 0;
	p->prev_blank = blank;
	if (replay)
		p->replay = 1;
	else
		p->flen = p->fend = 0;
}

static int do_headers_end(mimeo_parser *p, const action *a)
{
	frame *f = top(p);
	frame *parent = p->nfr > 1 ? p->fr[p->nfr - 2] : NULL;
	int rc;

	f->hdr_open = 0;
	f->info.body_offset = a->off;
	f->info.end_offset = a->off;
	if ((rc = set_type(p, f, parent)) || (rc = set_kind(p, f)))
		return rc;
	root_section(f);
	if (f->kind == K_MSG_ENC && (rc = inner_start(p, f)))
		return rc;
	f->info.content_type = f->ct;
	if (a->arg == LINE_FROM) {
		/* a new mbox message follows: nothing of this part's body */
	} else if (f->kind == K_MSG) {
		/* The encapsulated message's header block starts here. */
		action *b = q_push(p, A_PUSH, 1);

		if (!b)
			return p->err;
		b->off = b->off2 = a->off;
		p->st = ST_HDR;
		p->expect_from = 1;
		p->prev_blank = a->arg != LINE_REPLAY;
		if (a->arg == LINE_REPLAY)
			p->replay = 1;
		else
			p->flen = p->fend = 0;
	} else {
		start_body(p, a->arg == LINE_REPLAY, a->arg != LINE_REPLAY);
	}
	rc = p->cb.headers_end ? p->cb.headers_end(&f->info, p->user) : 0;
	return cbret(p, rc);
}

/* ------------------------------------------------------------------ */
/* header fields                                                       */
/* ------------------------------------------------------------------ */

static int do_header(mimeo_parser *p, const action *a)
{
	frame *f = top(p);
	const char *s = p->fbuf, *colon, *v, *e = p->fbuf + p->fend;
	size_t nl, vl;
	int rc = 0;

	/* strip the final line break */
	if (e > s && e[-1] == '\n')
		e--;
	if (e > s && e[-1] == '\r')
		e--;
	colon = memchr(s, ':', (size_t)(e - s));
	nl = (size_t)(colon - s);
	while (nl && mimeo__is_ws((unsigned char)s[nl - 1]))
		nl--;
	v = colon + 1;
	while (v < e && mimeo__is_ws((unsigned char)*v))
		v++;
	vl = (size_t)(e - v);
	f->info.header_count++;
	if (mimeo__ascii_ieq(s, nl, "content-type")) {
		if (f->has_ct) {
			defect(p, 1, MIMEO_DEFECT_DUPLICATE, MIMEO_DEFECT_WARN, p->line_off,
			       "duplicate Content-Type: the first one is used");
		} else {
			f->has_ct = 1;
			if (mimeo_buf_put(&f->ctval, v, vl))
				return fail(p, MIMEO_ENOMEM, "out of memory");
		}
	} else if (mimeo__ascii_ieq(s, nl, "content-transfer-encoding")) {
		if (f->has_cte) {
			defect(p, 1, MIMEO_DEFECT_DUPLICATE, MIMEO_DEFECT_WARN, p->line_off,
			       "duplicate Content-Transfer-Encoding: the first one is used");
		} else {
			f->has_cte = 1;
			f->info.cte = mimeo_cte_parse(v, vl);
		}
	}
	if (p->cb.header)
		rc = p->cb.header(&f->info, s, nl, v, vl, p->user);
	/* Keep the line that followed the field: it starts the next field
	 * (LINE_FIELD), is replayed (LINE_REPLAY) or is dropped. */
	memmove(p->fbuf, p->fbuf + p->fend, p->flen - p->fend);
	p->flen -= p->fend;
	if (a->arg == LINE_FIELD) {
		p->fend = p->flen;
	} else {
		p->fend = 0;
		if (a->arg == LINE_DROP || a->arg == LINE_FROM)
			p->flen = 0;
	}
	return cbret(p, rc);
}

/* ------------------------------------------------------------------ */
/* closing frames                                                      */
/* ------------------------------------------------------------------ */

/* One step of closing the top frame: decoder tail, defect, part_end. */
static int close_step(mimeo_parser *p, uint64_t end)
{
	frame *f = top(p);
	int rc = 0;

	if (f->hdr_open) {
		/* Closed before its header block began (the root under a
		 * message/rfc822 part cut short by a boundary): it still gets
		 * its headers_end, as an empty leaf with the default type. */
		frame *parent = p->nfr > 1 ? p->fr[p->nfr - 2] : NULL;

		f->hdr_open = 0;
		f->info.body_offset = f->info.end_offset = end;
		if ((rc = set_type(p, f, parent)))
			return rc;
		f->info.content_type = f->ct;
		f->info.flags |= MIMEO_PART_LEAF | MIMEO_PART_TRUNCATED;
		root_section(f);
		rc = p->cb.headers_end ? p->cb.headers_end(&f->info, p->user) : 0;
		return cbret(p, rc);
	}
	if (f->close_step == 0) {
		f->close_step = 1;
		f->info.end_offset = end < f->info.body_offset ? f->info.body_offset : end;
		if (f->decoding) {
			size_t n = mimeo_transfer_decode_finish(&f->dec, p->scratch);

			f->decoding = 0;
			rc = deliver(p, f, p->scratch, n);
			if (f->kind == K_MSG_ENC && !rc)
				rc = inner_finish(p->inner);
			if (rc < 0)
				return fail(p, rc, "nested message failed");
			if (!rc && p->root == p && p->soft_pause) {
				p->soft_pause = 0;
				rc = MIMEO_PAUSED;
			}
			if (rc)
				return rc;
		} else if (f->kind == K_MSG_ENC) {
			rc = inner_finish(p->inner);
			if (rc < 0)
				return fail(p, rc, "nested message failed");
		}
	}
	if (f->close_step == 1) {
		f->close_step = 2;
		if (f->kind == K_MULTI && !f->nchild) {
			/* No delimiter line at all (spamassassin's spam/015: the
			 * first one holds "=:" and was read as a header field):
			 * the multipart ends as a leaf whose content is its
			 * body, so text a mail client shows stays reachable
			 * (delivered as preamble and epilogue data, around a
			 * close delimiter if there was one; the tree keeps it
			 * as the leaf's body).  Python keeps it so too. */
			f->info.flags = (f->info.flags & ~(unsigned)MIMEO_PART_MULTIPART) |
					MIMEO_PART_LEAF | MIMEO_PART_OPAQUE | MIMEO_PART_TRUNCATED;
			/* a root is now numbered M.1, in the room reserved */
			root_section(f);
			defect(p, 1, MIMEO_DEFECT_NO_DELIMITER, MIMEO_DEFECT_CRIT, f->info.body_offset,
			       "multipart without any delimiter line: a leaf holding its body");
			return 0;
		}
		if (f->kind == K_MULTI && f->mp != MP_EPILOGUE) {
			f->info.flags |= MIMEO_PART_TRUNCATED;
			defect(p, 1, MIMEO_DEFECT_MISSING_CLOSE, MIMEO_DEFECT_WARN, end,
			       "multipart without close delimiter");
			return 0;
		}
	}
	if (f->kind == K_MULTI && f->bnd)
		bt_remove(p, p->nfr - 1);
	p->nfr--;
	rc = p->cb.part_end ? p->cb.part_end(&f->info, p->user) : 0;
	return cbret(p, rc);
}

/* ------------------------------------------------------------------ */
/* executing actions                                                   */
/* ------------------------------------------------------------------ */

static int do_push(mimeo_parser *p, const action *a, int begin_msg)
{
	frame *f;
	int rc;

	if (begin_msg) {
		p->root->nparts = 0;
		p->root->parts_reported = 0;
		p->in_msg = 1;
	}
	f = push(p, a->off2);
	if (!f)
		return p->err;
	p->st = ST_HDR;
	if (begin_msg) {
		action *b = q_push(p, A_PUSH, 1);

		if (!b)
			return p->err;
		b->n = 1;   /* part_begin only: the frame exists */
		rc = p->cb.message_begin ? p->cb.message_begin(&f->info, a->off, p->user) : 0;
		return cbret(p, rc);
	}
	rc = p->cb.part_begin ? p->cb.part_begin(&f->info, p->user) : 0;
	return cbret(p, rc);
}

static int do_boundary(mimeo_parser *p, const action *a)
{
	frame *m = top(p);
	frame *f;
	int rc;

	if (a->arg) {
		/* close delimiter: the rest is epilogue (RFC 2046 5.1.1) */
		m->mp = MP_EPILOGUE;
		if (m->bnd)
			bt_remove(p, p->nfr - 1);
		start_body(p, 0, 0);
		return 0;
	}
	m->mp = MP_CHILD;
	f = push(p, a->off);
	if (!f)
		return p->err;
	p->st = ST_HDR;
	p->prev_blank = 0;
	rc = p->cb.part_begin ? p->cb.part_begin(&f->info, p->user) : 0;
	return cbret(p, rc);
}

static int do_action(mimeo_parser *p)
{
	action a = p->q[p->qh];
	frame *f;
	int rc;

	p->qfront = 0;

	if (a.kind == A_CLOSE_TO) {
		if (p->nfr > a.n)
			return close_step(p, a.off);
		q_pop(p);
		return 0;
	}
	q_pop(p);
	p->qfront = 0;
	switch (a.kind) {
	case A_DEFECT: {
		mimeo_defect d = { a.code, a.arg, a.off, a.reason };
		static const mimeo_part_info none;

		f = top(p);
		rc = p->cb.defect ? p->cb.defect(f ? &f->info : &none, &d, p->user) : 0;
		return cbret(p, rc);
	}
	case A_HEADER:
		return do_header(p, &a);
	case A_HEADERS_END:
		return do_headers_end(p, &a);
	case A_PUSH:
		if (a.n == 1) {
			f = top(p);
			rc = p->cb.part_begin ? p->cb.part_begin(&f->info, p->user) : 0;
			return cbret(p, rc);
		}
		return do_push(p, &a, 0);
	case A_MSG_BEGIN:
		return do_push(p, &a, !p->nested);
	case A_MSG_END:
		p->in_msg = 0;
		f = p->afr ? p->fr[0] : NULL;
		rc = (p->cb.message_end && f) ? p->cb.message_end(&f->info, p->user) : 0;
		return cbret(p, rc);
	case A_BOUNDARY:
		return do_boundary(p, &a);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* line classification                                                 */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* boundary table                                                      */
/* ------------------------------------------------------------------ */

#define BT_DEL ((size_t)-1)

/* FNV-1a; bhash_step extends a hash by one byte, so prefix_lookup can
 * hash every prefix of a line in one pass. */
#define BHASH_INIT 1469598103934665603ull

static uint64_t bhash_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * 1099511628211ull;
}

static uint64_t bhash(const char *s, size_t n)
{
	uint64_t h = BHASH_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		h = bhash_step(h, (unsigned char)s[i]);
	return h;
}

static int bt_same(const frame *f, const char *s, size_t n)
{
	return f->blen == n && !memcmp(f->bnd, s, n);
}

/* Slot of the live entry for boundary s (or of frame `want` when != 0). */
static size_t *bt_find(mimeo_parser *p, uint64_t h, const char *s, size_t n, size_t want)
{
	size_t j = (size_t)h & (p->bt_cap - 1);

	for (;; j = (j + 1) & (p->bt_cap - 1)) {
		size_t v = p->bt[j];

		if (!v)
			return NULL;
		if (v == BT_DEL)
			continue;
		if (want ? v == want : bt_same(p->fr[v - 1], s, n))
			return &p->bt[j];
	}
}

static int bt_grow(mimeo_parser *p)
{
	size_t nc = p->bt_cap * 2, i, *old = p->bt, oc = p->bt_cap;
	size_t *nt = mimeo__calloc(p->a, nc, sizeof(*nt));

	if (!nt)
		return fail(p, MIMEO_ENOMEM, "out of memory");
	p->bt = nt;
	p->bt_cap = nc;
	p->bt_used = 0;
	for (i = 0; i < oc; i++) {
		size_t v = old[i], j;

		if (!v || v == BT_DEL)
			continue;
		j = (size_t)p->fr[v - 1]->bhash & (nc - 1);
		while (nt[j])
			j = (j + 1) & (nc - 1);
		nt[j] = v;
		p->bt_used++;
	}
	mimeo__free(p->a, old);
	return 0;
}

/* Frame `idx` starts using its boundary. */
static int bt_insert(mimeo_parser *p, size_t idx)
{
	frame *f = p->fr[idx];
	size_t *slot, j;

	if ((p->bt_used + 1) * 2 > p->bt_cap && bt_grow(p))
		return p->err;
	f->bhash = bhash(f->bnd, f->blen);
	f->shadow = 0;
	slot = bt_find(p, f->bhash, f->bnd, f->blen, 0);
	if (slot) {
		f->shadow = *slot;
		*slot = idx + 1;
		return 0;
	}
	j = (size_t)f->bhash & (p->bt_cap - 1);
	while (p->bt[j] && p->bt[j] != BT_DEL)
		j = (j + 1) & (p->bt_cap - 1);
	if (!p->bt[j])
		p->bt_used++;
	p->bt[j] = idx + 1;
	return 0;
}

/* Candidate lines are examined up to the longest delimiter line of the
 * boundaries in use (at least CAND_MAX), so how a line reads depends only
 * on the multiparts open around it (src/write/to7bit.c mirrors this). */
static void cand_update(mimeo_parser *p)
{
	size_t i, m = CAND_MAX;

	for (i = 0; i < p->nfr; i++)
		if (p->fr[i]->bnd && p->fr[i]->blen + 4 > m)
			m = p->fr[i]->blen + 4;
	p->cand_max = m;
}

/* Frame `idx` stops using its boundary (close delimiter or closed). */
static void bt_remove(mimeo_parser *p, size_t idx)
{
	frame *f = p->fr[idx];
	size_t *slot = bt_find(p, f->bhash, f->bnd, f->blen, idx + 1);

	if (slot)
		*slot = f->shadow ? f->shadow : BT_DEL;
	f->bnd = NULL;
	p->nbound--;
	if (f->blen + 4 >= p->cand_max)
		cand_update(p);
}

/* Innermost active frame whose boundary is s[0..n), or -1. */
static long bt_lookup(mimeo_parser *p, const char *s, size_t n)
{
	size_t *slot;

	if (!n)
		return -1;
	slot = bt_find(p, bhash(s, n), s, n, 0);
	return slot ? (long)(*slot - 1) : -1;
}

/* MIMEO_PARSE_DELIMITER_PREFIX: the frame whose active boundary starts
 * s[0..n), or -1.  When several do, the longest boundary wins, and of equal
 * ones the innermost, so a nested multipart whose boundary extends its
 * parent's keeps its own lines.  A few open boundaries are compared one by
 * one (the open frames from the innermost out); with more, each prefix of
 * the line up to PREFIX_BOUNDARY_MAX bytes (the longest a boundary is
 * under this flag) is looked up in the boundary table, longest first, so a
 * line costs at most that many look-ups however deep the nesting (the
 * table gives the innermost frame of equal boundaries).  The whole
 * boundary is always within the line examined: cand_max exceeds the
 * longest active boundary by 4 (cand_update). */
static long prefix_lookup(mimeo_parser *p, const char *s, size_t n)
{
	long best = -1;
	size_t i;

	if (p->nbound > PREFIX_WALK_MAX) {
		uint64_t hs[PREFIX_BOUNDARY_MAX + 1];
		size_t m = n < PREFIX_BOUNDARY_MAX ? n : PREFIX_BOUNDARY_MAX;

		hs[0] = BHASH_INIT;
		for (i = 0; i < m; i++)
			hs[i + 1] = bhash_step(hs[i], (unsigned char)s[i]);
		for (i = m; i > 0; i--) {
			size_t *slot = bt_find(p, hs[i], s, i, 0);

			if (slot)
				return (long)(*slot - 1);
		}
		return -1;
	}
	for (i = p->nfr; i-- > 0;) {
		const frame *f = p->fr[i];

		if (f->bnd && f->blen && f->blen <= n && !memcmp(f->bnd, s, f->blen) &&
		    (best < 0 || f->blen > p->fr[best]->blen))
			best = (long)i;
	}
	return best;
}

enum { L_NORMAL = 0, L_BOUNDARY, L_FROM, L_QUOTED };

/* Does l[0..n) look like an mbox From_ line: "From " sender, then a time
 * hh:mm somewhere (asctime date)?  This keeps "From here on" body text,
 * never escaped by a sloppy MTA, from splitting the mailbox.  The mailbox
 * reader (src/mailbox/) splits with this same function: see
 * mimeo__mbox_find_from() below. */
int mimeo__mbox_from_line(const char *l, size_t n)
{
	size_t i = 5;

	if (n < 5 || memcmp(l, "From ", 5))
		return 0;
	while (i < n && l[i] == ' ')
		i++;
	if (i == n)
		return 0;
	while (i < n && l[i] != ' ')
		i++;
	for (; i + 3 < n; i++)
		if (l[i] >= '0' && l[i] <= '9' && l[i + 1] == ':' && l[i + 2] >= '0' &&
		    l[i + 2] <= '9' && l[i + 3] >= '0' && l[i + 3] <= '9')
			return 1;
	return 0;
}

/* ^>+From  (mboxrd / mboxo quoting) */
static int quoted_from(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && !memcmp(l + i, "From ", 5);
}

/*
 * Classify a line (without its LF; `full` = 0 when only the first
 * cand_max bytes are known).  RFC 2046 5.1.1: "--" boundary ["--"]
 * followed only by whitespace; the stack is searched innermost first so
 * that a boundary that is a prefix of another cannot steal its lines.
 */
static int classify(mimeo_parser *p, const char *l, size_t n, int full, int at_hdr,
		    size_t *fidx, int *is_close)
{
	if (n >= 2 && l[0] == '-' && l[1] == '-' && p->nbound &&
	    (p->o.flags & MIMEO_PARSE_DELIMITER_PREFIX)) {
		long d = prefix_lookup(p, l + 2, n - 2);

		if (d >= 0) {
			size_t bl = p->fr[d]->blen;

			*is_close = n - 2 >= bl + 2 && l[2 + bl] == '-' && l[3 + bl] == '-';
			*fidx = (size_t)d;
			return L_BOUNDARY;
		}
	} else if (n >= 2 && l[0] == '-' && l[1] == '-' && p->nbound) {
		/* the line minus "--" and trailing whitespace must be a
		 * boundary (delimiter) or a boundary + "--" (close) */
		size_t k = n;
		long d, c = -1;

		while (k > 2 && is_ws((unsigned char)l[k - 1]))
			k--;
		d = bt_lookup(p, l + 2, k - 2);
		if (k >= 4 && l[k - 1] == '-' && l[k - 2] == '-')
			c = bt_lookup(p, l + 2, k - 4);
		if (d >= 0 || c >= 0) {
			*is_close = c > d;
			*fidx = (size_t)(c > d ? c : d);
			return L_BOUNDARY;
		}
	}
	if (p->o.flags & MIMEO_PARSE_MBOX && !p->nested) {
		if (p->prev_blank && full && n <= CAND_MAX && mimeo__mbox_from_line(l, n))
			return L_FROM;
		if (!at_hdr && quoted_from(l, n))
			return L_QUOTED;
	}
	return L_NORMAL;
}

/* MIMEO_PARSE_DELIMITER_PREFIX: a delimiter line that the input ends in,
 * without its line break, starts no part: it closes its multipart, as
 * Dovecot reads it (rspamd's badboundary.eml). */
static int eof_close(const mimeo_parser *p)
{
	return (p->o.flags & MIMEO_PARSE_DELIMITER_PREFIX) != 0;
}

/* A boundary line of frame `idx` was seen.  `end` = end of the body before
 * it; `next` = offset after the line. */
static int on_boundary(mimeo_parser *p, size_t idx, int is_close, uint64_t end, uint64_t next)
{
	action *a = q_push(p, A_CLOSE_TO, 0);
	action *b = q_push(p, A_BOUNDARY, 0);

	if (!a || !b)
		return p->err;
	a->n = idx + 1;
	a->off = end;
	b->arg = is_close;
	b->n = idx;
	b->off = next;
	return 0;
}

/* Is a delimiter (not close) allowed by max_parts?  Reports once.  A
 * refused delimiter is read as a close delimiter (issue 15 class 7): the
 * rest of the multipart is its epilogue, never raw MIME inside the body of
 * the last part that a reader would display. */
static int parts_ok(mimeo_parser *p, uint64_t off)
{
	if (p->root->nparts < p->o.max_parts)
		return 1;
	if (!p->root->parts_reported) {
		p->root->parts_reported = 1;
		limit_hit(p, 0, MIMEO_LIMIT_PARTS, off,
			  "too many parts: the multipart ends here, the rest is its epilogue");
	}
	return 0;
}

/* mbox: a From_ line at `off` starts a new message. */
static int on_from(mimeo_parser *p, uint64_t end, uint64_t off, uint64_t next)
{
	action *a = q_push(p, A_CLOSE_TO, 0);
	action *b = q_push(p, A_MSG_END, 0);
	action *c = q_push(p, A_MSG_BEGIN, 0);

	if (!a || !b || !c)
		return p->err;
	a->n = 0;
	a->off = end;
	c->off = off;
	c->off2 = next;
	p->st = ST_HDR;
	p->flen = p->fend = 0;
	p->prev_blank = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* header block lines                                                  */
/* ------------------------------------------------------------------ */

/* RFC 5322 2.2: field-name = 1*ftext; obsolete syntax allows WSP before
 * the colon. */
static int field_line(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] > 32 && l[i] < 127 && l[i] != ':')
		i++;
	if (!i)
		return 0;
	while (i < n && mimeo__is_ws((unsigned char)l[i]))
		i++;
	return i < n && l[i] == ':';
}

/* An mbox envelope line where a message's first header is expected:
 * "From " (or ">From ", as mboxrd quoting leaves it in a forwarded
 * message), and not a header field ("From : x" is one, in the obsolete
 * syntax). */
static int envelope_line(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] == '>')
		i++;
	return n - i >= 5 && !memcmp(l + i, "From ", 5) && !field_line(l, n);
}

static int ws_only(const char *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_ws((unsigned char)l[i]))
			return 0;
	return 1;
}

/* What a header-block line l[0..n) that is not empty, a delimiter or an
 * envelope line is: skipped (whitespace only, before the first field), a
 * continuation (it starts with whitespace and a field is open), a field,
 * or the first line after the block (no empty line ended it).
 * header_line() acts on it, long_line_is_body() decides from it where an
 * over-long line goes: one reading for both. */
enum { HL_SKIP, HL_CONT, HL_FIELD, HL_END };

static int hdr_line_kind(const mimeo_parser *p, const char *l, size_t n)
{
	if (!p->fend && !p->hdr_count && ws_only(l, n))
		return HL_SKIP;
	if (mimeo__is_ws((unsigned char)l[0]))
		return p->fend || p->skip_field ? HL_CONT : HL_END;
	return field_line(l, n) ? HL_FIELD : HL_END;
}

/* Drop the envelope line l (at offset `lo`) that starts a message: the
 * headers that follow are the message's, as GMime keeps them.
 * Only the separator of an mbox message is not a defect. */
static int skip_envelope(mimeo_parser *p, const char *l, uint64_t lo)
{
	if (!(p->o.flags & MIMEO_PARSE_MBOX) || p->nested || p->nfr || l[0] != 'F')
		defect(p, 0, MIMEO_DEFECT_MBOX_FROM, MIMEO_DEFECT_WARN, lo,
		       "mbox From_ line before the message's headers skipped");
	p->flen = p->fend;
	p->prev_blank = 0;
	return 0;
}

/* Is the field on line l[0..n) called `name` (lowercase)? */
static int name_is(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name), i = k;

	if (n <= k || !mimeo__ascii_ieq(l, k, name))
		return 0;
	while (i < n && mimeo__is_ws((unsigned char)l[i]))
		i++;
	return i < n && l[i] == ':';
}

/* The header block passed max_header_bytes or max_headers: reported once
 * per block; what follows is dropped up to the real end of the block. */
static void over_limit(mimeo_parser *p, unsigned bit, uint64_t lo)
{
	if (p->blk_over)
		return;
	p->blk_over = 1;
	limit_hit(p, 0, bit, lo, bit == MIMEO_LIMIT_HEADERS
		  ? "too many header fields: the rest of the block is dropped, up to its end"
		  : "header block too large: the rest of the block is dropped, up to its end");
}

/* End the header block: deliver the pending field, then headers_end. */
static int end_block(mimeo_parser *p, int line, uint64_t body_off)
{
	action *a;

	/* whatever header block comes next starts from zero */
	p->hdr_bytes = 0;
	p->hdr_count = 0;
	p->blk_over = p->skip_field = p->blk_ct = p->blk_cte = 0;
	if (p->fend) {
		a = q_push(p, A_HEADER, 0);
		if (!a)
			return p->err;
		a->arg = line;
	} else if (line == LINE_DROP || line == LINE_FROM) {
		p->flen = 0;
	}
	a = q_push(p, A_HEADERS_END, 0);
	if (!a)
		return p->err;
	a->arg = line;
	a->off = body_off;
	return 0;
}

/* A complete header-block line is fbuf[fend..flen) (with its LF, except
 * for the last line of the input).  Classify it and queue the resulting
 * actions. */
static int header_line(mimeo_parser *p)
{
	const char *l = p->fbuf + p->fend;
	size_t n = p->flen - p->fend, cn = n;
	uint64_t lo = p->line_off, next = lo + n;
	size_t idx;
	int cls, is_close = 0, blank, kind;

	if (p->line_truncated || p->line_partial)
		next = p->off + p->consumed;
	p->line_truncated = 0;
	if (cn && l[cn - 1] == '\n')
		cn--;
	blank = cn == 0 || (cn == 1 && l[0] == '\r');
	if (p->need_begin) {
		/* An mbox's first line is its separator whenever it is a
		 * From_ line, even one that also reads as a header field
		 * ("From :x 10:00"): a From_ line anywhere else splits the
		 * mailbox, so here it must not start a second message
		 * (fuzz_mailbox: the reader and the parser split alike). */
		int skip = p->expect_from &&
			   (envelope_line(l, cn) ||
			    (p->o.flags & MIMEO_PARSE_MBOX && !p->nested && cn <= CAND_MAX &&
			     mimeo__mbox_from_line(l, cn)));
		action *a = q_push(p, A_MSG_BEGIN, 0);

		if (!a)
			return p->err;
		p->need_begin = p->expect_from = 0;
		a->off = lo;
		a->off2 = skip ? next : lo;
		if (skip)
			return skip_envelope(p, l, lo);
	}
	cls = classify(p, l, cn < p->cand_max ? cn : p->cand_max, cn <= p->cand_max, 1, &idx,
		       &is_close);
	if (cls == L_BOUNDARY && p->finishing && cn == n && eof_close(p))
		is_close = 1;  /* the input ended in this line (no LF) */
	if (p->expect_from) {
		/* first line of a message/rfc822 body (its root is open) */
		p->expect_from = 0;
		if (cls == L_NORMAL && envelope_line(l, cn))
			return skip_envelope(p, l, lo);
	}
	if (cls == L_BOUNDARY && !is_close && idx + 2 == p->nfr && !p->fend &&
	    (top(p)->info.header_offset == lo || p->rep_next == lo) &&
	    !(p->o.flags & MIMEO_PARSE_EMPTY_PARTS)) {
		/* A delimiter right after a delimiter of the same multipart
		 * (no header, no body between): one delimiter, as GMime and
		 * Python read it, not an empty part that would shift every
		 * later section number (MIMEO_PARSE_EMPTY_PARTS: that empty
		 * part, as Dovecot reads it).  The part keeps the
		 * header_offset given at part_begin (that of the skipped
		 * line). */
		defect(p, 0, MIMEO_DEFECT_REPEATED_DELIMITER, MIMEO_DEFECT_WARN, lo,
		       "repeated delimiter line skipped");
		p->rep_next = next;
		p->flen = p->fend;
		p->prev_blank = 0;
		return 0;
	}
	if (cls == L_BOUNDARY && !is_close && !parts_ok(p, lo))
		is_close = 1;
	if (cls == L_BOUNDARY) {
		if (end_block(p, LINE_DROP, lo))
			return p->err;
		return on_boundary(p, idx, is_close, lo, next);
	}
	if (cls == L_FROM) {
		if (end_block(p, LINE_FROM, lo))
			return p->err;
		return on_from(p, lo, lo, next);
	}
	kind = blank ? HL_END : hdr_line_kind(p, l, cn);
	if (kind == HL_SKIP) {
		/* Before any field a whitespace-only line is skipped, not
		 * taken as the end of the header block (Python reads the
		 * header that follows; a message then keeps its fields). */
		defect(p, 0, MIMEO_DEFECT_BAD_HEADER, MIMEO_DEFECT_WARN, lo,
		       "whitespace-only line before the first header field skipped");
		p->flen = p->fend;
		/* it is no empty line: a From_ line after it does not split
		 * an mbox, as the mailbox reader reads it (fuzz_mailbox) */
		p->prev_blank = 0;
		return 0;
	}
	p->prev_blank = blank;
	if (blank)
		return end_block(p, LINE_DROP, next);
	if (kind == HL_CONT) {
		if (!p->skip_field && p->hdr_bytes + n <= p->o.max_header_bytes) {
			p->hdr_bytes += n;
			p->fend = p->flen;
			return 0;
		}
		/* the field is cut here (or is being dropped) */
		if (!p->skip_field)
			over_limit(p, MIMEO_LIMIT_HEADER_BYTES, lo);
		p->flen = p->fend;
		return 0;
	} else if (kind == HL_FIELD) {
		int kept = p->hdr_bytes + n <= p->o.max_header_bytes &&
			   p->hdr_count < p->o.max_headers;
		int ct = name_is(l, cn, "content-type"), cte = name_is(l, cn, "content-transfer-encoding");
		action *a;

		if (!kept) {
			/* Past a limit the header is still read to its real
			 * end (issue 15 class 7): its fields are dropped, but
			 * the first Content-Type and Content-Transfer-Encoding
			 * are kept so that the structure does not change (at
			 * most two fields of max_line bytes more). */
			over_limit(p, p->hdr_count >= p->o.max_headers ? MIMEO_LIMIT_HEADERS
				   : MIMEO_LIMIT_HEADER_BYTES, lo);
			kept = (ct && !p->blk_ct) || (cte && !p->blk_cte);
		}
		p->skip_field = !kept;
		if (!kept) {
			if (!p->fend) {
				p->flen = 0;
				return 0;
			}
			a = q_push(p, A_HEADER, 0);
			if (!a)
				return p->err;
			a->arg = LINE_DROP;
			return 0;
		}
		p->blk_ct |= ct;
		p->blk_cte |= cte;
		p->hdr_bytes += n;
		p->hdr_count++;
		if (!p->fend) {
			p->fend = p->flen;
			return 0;
		}
		a = q_push(p, A_HEADER, 0);
		if (!a)
			return p->err;
		a->arg = LINE_FIELD;
		return 0;
	} else {
		defect(p, 0, mimeo__is_ws((unsigned char)l[0]) ? MIMEO_DEFECT_BAD_HEADER
		       : MIMEO_DEFECT_MISSING_BLANK_LINE, MIMEO_DEFECT_WARN, lo,
		       "header block ended without an empty line");
	}
	p->replay_end = next;
	return end_block(p, LINE_REPLAY, lo);
}

/* An over-long line l[0..n) (its first n bytes) where a header field is
 * expected.  One that is no field, continuation, delimiter or envelope
 * line ends the header block and is the first body line: it goes to the
 * body whole, as a short one would (cutting it at the header's line budget
 * lost the rest of the line: the body then read shorter than its offsets;
 * fuzz_message, 3024c24c). */
static int long_line_is_body(mimeo_parser *p, const char *l, size_t n)
{
	size_t idx;
	int is_close = 0;

	/* read as header_line() reads it (fuzz_message 4b379143: a second
	 * copy of that reading missed " boundary:..." with no field before
	 * it, which was cut, then sent to the body) */
	if (!n || envelope_line(l, n) || hdr_line_kind(p, l, n) != HL_END)
		return 0;
	return classify(p, l, n < p->cand_max ? n : p->cand_max, 0, 1, &idx, &is_close) ==
	       L_NORMAL;
}

static int fbuf_reserve(mimeo_parser *p, size_t extra)
{
	size_t need;

	if (!mimeo__add_ok(p->flen, extra, &need))
		return fail(p, MIMEO_ENOMEM, "out of memory");
	if (need > p->fcap) {
		size_t nc = p->fcap ? p->fcap : 256;
		char *nb;

		while (nc < need)
			nc *= 2;
		nb = mimeo__realloc(p->a, p->fbuf, nc);
		if (!nb)
			return fail(p, MIMEO_ENOMEM, "out of memory");
		p->fbuf = nb;
		p->fcap = nc;
	}
	return 0;
}

/* Header mode: gather the next line. */
static int hdr_input(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	size_t i = *pos, have = p->flen - p->fend, room, n, cap = p->o.max_line;
	const char *e;

	/* A line is cut at max_line, or earlier where the header block's
	 * budget ends, so that a huge field is kept truncated rather than
	 * pushed into the body by max_header_bytes (never below cand_max + 1:
	 * boundary lines must stay recognisable). */
	if (p->hdr_bytes < p->o.max_header_bytes &&
	    p->o.max_header_bytes - p->hdr_bytes - 1 < cap)
		cap = p->o.max_header_bytes - p->hdr_bytes - 1;
	if (cap < p->cand_max + 1)
		cap = p->cand_max + 1;
	if (!have)
		p->line_off = p->off + i;
	e = memchr(d + i, '\n', len - i);
	n = e ? (size_t)(e - (d + i)) + 1 : len - i;
	room = have < cap ? cap - have : 0;
	if ((e ? n - 1 : n) > room) {
		/* over-long header line: keep `cap` bytes */
		if (fbuf_reserve(p, room + 1))
			return p->err;
		memcpy(p->fbuf + p->flen, d + i, room);
		p->flen += room;
		if (long_line_is_body(p, p->fbuf + p->fend, p->flen - p->fend)) {
			/* the rest of the line is read as body text */
			*pos = i + room;
			p->consumed = *pos;
			p->line_partial = 1;
			return header_line(p);
		}
		limit_hit(p, 0, cap < p->o.max_line ? MIMEO_LIMIT_HEADER_BYTES : MIMEO_LIMIT_LINE,
			  p->line_off + cap, "header line too long: truncated");
		p->line_truncated = 1;
		if (!e) {
			*pos = len;
			p->st = ST_HDR_SKIP;
			return 0;
		}
		p->fbuf[p->flen++] = '\n';
		*pos = i + n;
		p->consumed = *pos;
		return header_line(p);
	}
	if (fbuf_reserve(p, n))
		return p->err;
	memcpy(p->fbuf + p->flen, d + i, n);
	p->flen += n;
	*pos = i + n;
	if (!e)
		return 0;
	p->consumed = *pos;
	return header_line(p);
}

static int hdr_skip(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	const char *e = memchr(d + *pos, '\n', len - *pos);

	if (!e) {
		*pos = len;
		return 0;
	}
	*pos = (size_t)(e - d) + 1;
	p->consumed = *pos;
	p->fbuf[p->flen++] = '\n';
	p->st = ST_HDR;
	return header_line(p);
}

/* ------------------------------------------------------------------ */
/* body scanning                                                       */
/* ------------------------------------------------------------------ */

static unsigned scan_mask(const mimeo_parser *p)
{
	unsigned m = p->nbound ? MIMEO__SCAN_DASH : 0;

	if (p->o.flags & MIMEO_PARSE_MBOX && !p->nested)
		m |= MIMEO__SCAN_FROM;
	return m;
}

static unsigned char byte_before(const mimeo_parser *p, const char *d, size_t i)
{
	return i ? (unsigned char)d[i - 1] : p->last_byte;
}

/* Could a line starting with c be special here? */
static int cand_start(const mimeo_parser *p, char c)
{
	if (c == '-')
		return p->nbound != 0;
	if (!(p->o.flags & MIMEO_PARSE_MBOX) || p->nested)
		return 0;
	return c == '>' || (c == 'F' && p->prev_blank);
}

/* Emit the held bytes hold[from..to) and clear the hold. */
static int emit_hold(mimeo_parser *p, size_t from, size_t to)
{
	p->hold_len = p->pend_len = 0;
	return emit(p, p->hold + from, to - from, NULL);
}

/*
 * A base64 body is mostly lines of one shape (76 alphabet characters and a
 * line break), and such a line can be neither a boundary nor a From_ line
 * ('-' and '>' are outside the alphabet, "From " holds a space).  The
 * decoder checks every byte anyway, so it takes those lines straight from
 * the input (mimeo__b64_decode_lines) and the line-start scan runs only
 * over the lines of other shapes: one pass over the bytes instead of two.
 * *pos moves to the line break of the last line taken (it stays unread,
 * as the scan leaves it: the line after it may be a delimiter, which owns
 * the break); the decoder skips it when it is read again.  Returns 1 when
 * lines were taken.
 */
static int b64_lines(mimeo_parser *p, frame *f, const char *d, size_t len, size_t *pos,
		     int *rc)
{
	size_t i = *pos, start = i;

	*rc = 0;
	while (len - i >= B64_LINES_MIN) {
		size_t o, k = len - i < PIECE ? len - i : PIECE;

		k = mimeo__b64_decode_lines(&f->dec.u.b64, d + i, k, p->scratch, &o);
		if (!k)
			break;
		i += k;
		*rc = deliver(p, f, p->scratch, o);
		if (*rc)
			break;
		if (p->root == p && p->soft_pause) {
			p->soft_pause = 0;
			*rc = MIMEO_PAUSED;
			break;
		}
	}
	if (i == start)
		return 0;
	/* back to the last line break (LF or CRLF after alphabet characters) */
	i -= d[i - 2] == '\r' ? 2 : 1;
	*pos = i;
	return 1;
}

/* Where the line after the one holding d[i] ends (just past its LF), when
 * that is within reach; len otherwise. */
static size_t next_line_end(const char *d, size_t len, size_t i)
{
	const char *e;
	size_t reach = len - i < B64_LINE_REACH ? len - i : B64_LINE_REACH;

	e = memchr(d + i, '\n', reach);
	if (!e)
		return len;
	i = (size_t)(e - d) + 1;
	reach = len - i < B64_LINE_REACH ? len - i : B64_LINE_REACH;
	e = memchr(d + i, '\n', reach);
	return e ? (size_t)(e - d) + 1 : len;
}

/*
 * The scanner stops at every line starting with '-', 'F' or '>' (when they
 * matter), and then the line is held, looked at and classified.  Most such
 * lines are plain text ("> " in quoted replies, "For ..." in prose, "-- "
 * signatures) and the first bytes tell: a delimiter starts with "--", a
 * From_ line needs a blank line before it and "Fr", a quoted From_ line
 * ">From" or ">>".  This is exactly what cand_start() and classify() would
 * decide for the line whose break is at d[j] (the byte before a From_ line
 * as body_mid() reckons it); a line whose second byte is not in d yet is
 * looked at as usual.
 */
static int plain_line(const mimeo_parser *p, const char *d, size_t i, size_t j, size_t len)
{
	char c = d[j + 1], c2;

	if (c == 'F') {
		size_t nl = (j > i && d[j - 1] == '\r') ? j - 1 : j;

		if (byte_before(p, d, nl) != '\n')
			return 1;
	}
	if (j + 2 >= len)
		return 0;
	c2 = d[j + 2];
	if (c == '-')
		return c2 != '-';
	if (c == '>')
		return c2 != '>' && c2 != 'F';
	return c2 != 'r';
}

static int body_mid(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	size_t i = *pos, j, nl, done;
	unsigned mask = scan_mask(p);
	int rc, hold_cr = 0, to_bol = 0;
	frame *f;

	if (!mask) {
		rc = emit(p, d + i, len - i, &done);
		*pos = i + done;
		return rc;
	}
	f = top(p);
	if (len - i >= B64_LINES_MIN && f && f->decoding && f->kind == K_LEAF &&
	    f->dec.cte == MIMEO_CTE_BASE64 && mimeo__b64_has_lines(&f->dec.u.b64)) {
		int taken = b64_lines(p, f, d, len, &i, &rc);

		if (rc) {
			*pos = i;
			return rc;
		}
		/* Scan only up to the end of the next line (the one that
		 * stopped the decoder, after the break at i if lines were
		 * taken): the lines after it may have the usual shape again.
		 * A line ending at `len` leaves the parser at a line start
		 * (ST_BOL), as when the input ends there.  Two misses in a
		 * row (the end of the data, or a body of another shape):
		 * the whole input is scanned as usual. */
		if (taken || f->b64_try)
			len = next_line_end(d, len, taken ? i : (i ? i - 1 : i));
		f->b64_try = taken;
	}
	/* lines the candidate rules would let pass anyway are passed over
	 * here, without splitting the body at them */
	j = i + p->scan(d + i, len - i, mask);
	while (j < len && plain_line(p, d, i, j, len))
		j = j + 1 + p->scan(d + j + 1, len - j - 1, mask);
	if (j < len) {
		nl = (j > i && d[j - 1] == '\r') ? j - 1 : j;
		to_bol = 1;
	} else if (d[len - 1] == '\n') {
		j = len - 1;
		nl = (j > i && d[j - 1] == '\r') ? j - 1 : j;
		to_bol = 1;
	} else if (d[len - 1] == '\r') {
		nl = j = len - 1;
		hold_cr = 1;
	} else {
		nl = j = len;
	}
	rc = emit(p, d + i, nl - i, &done);
	if (done < nl - i) {
		*pos = i + done;
		return rc;
	}
	if (to_bol || hold_cr) {
		p->pend_len = p->hold_len = j + 1 - nl;
		memcpy(p->hold, d + nl, p->hold_len);
		p->hold_off = p->off + nl;
		if (to_bol) {
			p->prev_blank = byte_before(p, d, nl) == '\n';
			p->st = ST_BOL;
		} else {
			p->cr_blank = byte_before(p, d, nl) == '\n';
			p->st = ST_MIDCR;
		}
		*pos = j + 1;
	} else {
		*pos = len;
	}
	return rc;
}

static int body_midcr(mimeo_parser *p, const char *d, size_t *pos)
{
	if (d[*pos] == '\n') {
		p->hold[p->hold_len++] = '\n';
		p->pend_len = p->hold_len;
		p->prev_blank = p->cr_blank;
		p->st = ST_BOL;
		(*pos)++;
		return 0;
	}
	/* a bare CR: ordinary data */
	p->st = ST_MID;
	return emit_hold(p, 0, p->hold_len);
}

static int body_bol(mimeo_parser *p, const char *d, size_t *pos)
{
	if (cand_start(p, d[*pos])) {
		p->line_off = p->off + *pos;
		p->st = ST_CAND;
		return 0;
	}
	p->st = ST_MID;
	return emit_hold(p, 0, p->hold_len);
}

/* The candidate line in hold[pend_len..hold_len) is complete (`full`) or
 * over-long; `lf` = the LF is at d[*pos] (not yet consumed), or the input
 * ended (d NULL). */
static int cand_done(mimeo_parser *p, const char *d, size_t *pos, int full)
{
	char *l = p->hold + p->pend_len;
	size_t n = p->hold_len - p->pend_len, idx = 0;
	uint64_t end = p->pend_len ? p->hold_off : p->line_off;
	int is_close = 0, cls;
	uint64_t cr_off = p->line_off + n - 1;

	cls = classify(p, l, full ? n : p->cand_max, full, 0, &idx, &is_close);
	if (cls == L_BOUNDARY && !d && eof_close(p))
		is_close = 1;  /* d NULL: the input ended in this line */
	if (cls == L_BOUNDARY && !is_close && !parts_ok(p, p->line_off))
		is_close = 1;
	if (cls == L_BOUNDARY || cls == L_FROM) {
		uint64_t next;

		p->hold_len = p->pend_len = 0;
		if (!full) {
			p->st = ST_SKIPLINE;
			p->sk_frame = idx;
			p->sk_close = is_close;
			p->sk_end = end;
			return 0;
		}
		if (d)
			(*pos)++;
		next = p->off + *pos;
		p->consumed = *pos;
		if (cls == L_FROM)
			return on_from(p, end, p->line_off, next);
		p->st = ST_MID;  /* replaced by the boundary action */
		return on_boundary(p, idx, is_close, end, next);
	}
	if (cls == L_QUOTED) {
		memmove(l, l + 1, n - 1);
		p->hold_len--;
		n--;
	}
	if (full && n && l[n - 1] == '\r' && d) {
		/* keep the CR of a CRLF: the next line may be a boundary */
		int rc;
		size_t keep = p->hold_len - 1;

		p->st = ST_MIDCR;
		p->cr_blank = 0;
		rc = emit(p, p->hold, keep, NULL);
		p->hold[0] = '\r';
		p->hold_len = p->pend_len = 1;
		p->hold_off = cr_off;
		return rc;
	}
	p->st = ST_MID;
	return emit_hold(p, 0, p->hold_len);
}

static int body_cand(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	size_t have = p->hold_len - p->pend_len;
	size_t need = have < p->cand_max + 1 ? p->cand_max + 1 - have : 0;
	size_t avail = len - *pos, k = avail < need ? avail : need;
	const char *e = memchr(d + *pos, '\n', k);

	if (e) {
		size_t m = (size_t)(e - (d + *pos));

		memcpy(p->hold + p->hold_len, d + *pos, m);
		p->hold_len += m;
		*pos += m;
		return cand_done(p, d, pos, 1);
	}
	memcpy(p->hold + p->hold_len, d + *pos, k);
	p->hold_len += k;
	*pos += k;
	if (k == need)
		return cand_done(p, d, pos, 0);
	return 0;
}

static int body_skipline(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	const char *e = memchr(d + *pos, '\n', len - *pos);

	if (!e) {
		*pos = len;
		return 0;
	}
	*pos = (size_t)(e - d) + 1;
	p->consumed = *pos;
	p->st = ST_MID;
	return on_boundary(p, p->sk_frame, p->sk_close, p->sk_end, p->off + *pos);
}

/* The line in fbuf (which ended a header block) is the first body line. */
static int body_replay(mimeo_parser *p)
{
	size_t n = p->flen, cn = n;
	int lf = n && p->fbuf[n - 1] == '\n';
	size_t skip = 0;

	p->replay = 0;
	if (lf)
		cn--;
	if (lf && cn && p->fbuf[cn - 1] == '\r')
		cn--;
	if (p->line_partial) {
		/* the start of an over-long line that was no delimiter when
		 * it ended the header block: text, its rest follows */
		p->line_partial = 0;
	} else if (cn >= 2 && p->fbuf[0] == '-' && p->nbound) {
		/* The line that ended a header block without an empty line is
		 * the first body line, so it is a delimiter of the multipart
		 * whose header it ended (rspamd's fws_fn.eml: the boundary
		 * became known only at headers_end) or of an outer one. */
		size_t idx = 0;
		int is_close = 0;
		int cls = classify(p, p->fbuf, cn < p->cand_max ? cn : p->cand_max,
				   cn <= p->cand_max, 0,
				   &idx, &is_close);

		if (cls == L_BOUNDARY) {
			if (!is_close && !parts_ok(p, p->line_off))
				is_close = 1;
			p->flen = p->fend = 0;
			p->prev_blank = 0;
			p->st = ST_MID;
			return on_boundary(p, idx, is_close, p->line_off, p->replay_end);
		}
	}
	if (p->o.flags & MIMEO_PARSE_MBOX && !p->nested && quoted_from(p->fbuf, cn))
		skip = 1;
	p->flen = p->fend = 0;
	p->prev_blank = 0;
	if (n > cn) {
		p->pend_len = p->hold_len = n - cn;
		memcpy(p->hold, p->fbuf + cn, n - cn);
		p->hold_off = p->line_off + cn;
		if (lf) {
			p->st = ST_BOL;
		} else {
			p->st = ST_MIDCR;
			p->cr_blank = 0;
		}
	} else {
		p->st = ST_MID;
	}
	p->drain = p->fbuf + skip;
	p->drain_len = cn - skip;
	return 0;
}

/* ------------------------------------------------------------------ */
/* driver                                                              */
/* ------------------------------------------------------------------ */

/* The input starts: the message begins once its first line is known (a
 * leading From_ line is not part of the root's header block). */
static int begin_input(mimeo_parser *p)
{
	p->st = ST_HDR;
	p->expect_from = 1;
	p->need_begin = 1;
	p->prev_blank = 1;
	p->flen = p->fend = 0;
	return 0;
}

static int step(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	switch (p->st) {
	case ST_INIT:
		return begin_input(p);
	case ST_HDR:
		return hdr_input(p, d, len, pos);
	case ST_HDR_SKIP:
		return hdr_skip(p, d, len, pos);
	case ST_BOL:
		return body_bol(p, d, pos);
	case ST_MID:
		return body_mid(p, d, len, pos);
	case ST_MIDCR:
		return body_midcr(p, d, pos);
	case ST_CAND:
		return body_cand(p, d, len, pos);
	case ST_SKIPLINE:
		return body_skipline(p, d, len, pos);
	default:
		*pos = len;  /* ST_END: nothing more is parsed */
		return 0;
	}
}

/* Run the queue, the drain and the scanner over d[*pos..len). */
static int run(mimeo_parser *p, const char *d, size_t len, size_t *pos)
{
	int rc = 0;

	for (;;) {
		p->consumed = *pos;
		if (p->err)
			return p->err;
		if (p->qn) {
			rc = do_action(p);
		} else if (p->drain_len) {
			size_t done;

			rc = emit(p, p->drain, p->drain_len, &done);
			p->drain += done;
			p->drain_len -= done;
		} else if (p->replay) {
			if (p->st == ST_HDR) {
				p->replay = 0;
				p->line_off = top(p)->info.header_offset;
				rc = header_line(p);
			} else {
				rc = body_replay(p);
			}
		} else if (*pos < len) {
			rc = step(p, d, len, pos);
		} else {
			return 0;
		}
		if (rc) {
			p->consumed = *pos;
			return p->err ? p->err : rc;
		}
	}
}

/* End of input, one step at a time (each may queue actions). */
static int eof_step(mimeo_parser *p)
{
	size_t pos = 0;
	uint64_t end = p->off;

	switch (p->st) {
	case ST_INIT:
		if (p->o.flags & MIMEO_PARSE_MBOX && !p->nested) {
			p->st = ST_END;
			return 0;
		}
		return begin_input(p);
	case ST_HDR:
	case ST_HDR_SKIP:
		p->st = ST_HDR;
		if (p->flen > p->fend)
			return header_line(p);
		if (p->need_begin) {
			action *a = q_push(p, A_MSG_BEGIN, 0);

			if (!a)
				return p->err;
			p->need_begin = p->expect_from = 0;
			a->off = a->off2 = end;
			return 0;
		}
		defect(p, 0, MIMEO_DEFECT_TRUNCATED_HEADERS, MIMEO_DEFECT_WARN, end,
		       "input ended inside a header block");
		top(p)->info.flags |= MIMEO_PART_TRUNCATED;
		return end_block(p, LINE_DROP, end);
	case ST_CAND:
		return cand_done(p, NULL, &pos, 1);
	case ST_SKIPLINE:
		p->st = ST_MID;
		return on_boundary(p, p->sk_frame, p->sk_close || eof_close(p), p->sk_end, end);
	case ST_BOL:
	case ST_MIDCR:
		p->st = ST_MID;
		return emit_hold(p, 0, p->hold_len);
	case ST_MID: {
		action *a = q_push(p, A_CLOSE_TO, 0);

		if (!a)
			return p->err;
		a->n = 0;
		a->off = end;
		if (!p->nested && !q_push(p, A_MSG_END, 0))
			return p->err;
		p->st = ST_END;
		return 0;
	}
	default:
		return 0;
	}
}

static int finish_loop(mimeo_parser *p)
{
	size_t pos = 0;
	int rc;

	for (;;) {
		rc = run(p, NULL, 0, &pos);
		if (rc)
			return rc;
		if (p->st == ST_END)
			return 0;
		rc = eof_step(p);
		if (rc)
			return rc;
	}
}

/* ------------------------------------------------------------------ */
/* nested parsers (transfer-encoded message/rfc822)                     */
/* ------------------------------------------------------------------ */

static void reset_state(mimeo_parser *p);

static int inner_start(mimeo_parser *p, frame *f)
{
	mimeo_parser *in = p->inner;

	if (!in) {
		int rc = mimeo_parser_new(&in, &p->o, p->cb.version ? &p->cb : NULL, p->user);

		if (rc)
			return fail(p, rc, "out of memory");
		in->nested = 1;
		in->root = p->root;
		p->inner = in;
	}
	reset_state(in);
	in->base_depth = f->info.depth + 1;
	mimeo_buf_clear(&in->base_sec);
	if (mimeo_buf_puts(&in->base_sec, f->info.section))
		return fail(p, MIMEO_ENOMEM, "out of memory");
	in->base_section = in->base_sec.ptr;
	mimeo_transfer_decoder_init(&f->dec, f->info.cte, p->isa);
	f->decoding = 1;
	return 0;
}

static int inner_feed(mimeo_parser *in, const char *data, size_t len)
{
	size_t pos = 0;

	in->consumed = 0;
	int rc = run(in, data, len, &pos);

	if (len)
		in->last_byte = (unsigned char)data[len - 1];
	in->off += len;
	return rc < 0 ? rc : 0;
}

static int inner_finish(mimeo_parser *in)
{
	int rc = finish_loop(in);

	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */
/* ------------------------------------------------------------------ */

static void reset_state(mimeo_parser *p)
{
	p->cand_max = CAND_MAX;
	p->err = 0;
	p->err_reason = NULL;
	p->err_off = 0;
	p->soft_pause = 0;
	p->limits = 0;
	p->nparts = 0;
	p->parts_reported = 0;
	p->off = 0;
	p->consumed = 0;
	p->last_byte = '\n';
	p->st = ST_INIT;
	p->finishing = 0;
	p->in_msg = 0;
	p->hold_len = p->pend_len = 0;
	p->prev_blank = 1;
	p->flen = p->fend = 0;
	p->hdr_bytes = 0;
	p->hdr_count = 0;
	p->line_truncated = 0;
	p->line_partial = 0;
	p->need_begin = p->expect_from = 0;
	p->replay = 0;
	p->rep_next = UINT64_MAX;
	p->drain = NULL;
	p->drain_len = 0;
	p->qh = p->qn = 0;
	p->nfr = 0;
	p->nbound = 0;
	if (p->bt)
		memset(p->bt, 0, p->bt_cap * sizeof(*p->bt));
	p->bt_used = 0;
	if (p->inner)
		reset_state(p->inner);
}

int mimeo_parser_new(mimeo_parser **out, const mimeo_parser_options *opts,
		     const mimeo_parser_callbacks *cb, void *user)
{
	mimeo_parser_options o = MIMEO_PARSER_OPTIONS_INIT;
	const mimeo_allocator *a;
	mimeo_parser *p;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (opts) {
		if (!MIMEO__VERSION_OK(opts->version, MIMEO_PARSER_OPTIONS_VERSION))
			return MIMEO_EINVAL;
		o = *opts;
	}
	if (cb && !MIMEO__VERSION_OK(cb->version, MIMEO_PARSER_CALLBACKS_VERSION))
		return MIMEO_EINVAL;
	if (!o.max_depth)
		o.max_depth = MIMEO_PARSER_DEFAULT_MAX_DEPTH;
	if (!o.max_header_bytes)
		o.max_header_bytes = MIMEO_PARSER_DEFAULT_MAX_HEADER_BYTES;
	if (!o.max_headers)
		o.max_headers = MIMEO_PARSER_DEFAULT_MAX_HEADERS;
	if (!o.max_parts)
		o.max_parts = MIMEO_PARSER_DEFAULT_MAX_PARTS;
	if (!o.max_line)
		o.max_line = MIMEO_PARSER_DEFAULT_MAX_LINE;
	if (o.max_line < MIN_LINE)
		o.max_line = MIN_LINE;
	a = o.alloc;
	p = mimeo__calloc(a, 1, sizeof(*p));
	if (!p)
		return MIMEO_ENOMEM;
	p->o = o;
	p->a = a;
	if (cb)
		p->cb = *cb;
	p->user = user;
	p->root = p;
	mimeo_buf_init(&p->base_sec, a);
	p->isa = o.isa == MIMEO_ISA_AUTO ? mimeo_isa_best() : o.isa;
	p->scan = mimeo__parser_scan_for(p->isa);
	p->scratch = mimeo__malloc(a, SCRATCH);
	p->fbuf = mimeo__malloc(a, 256);
	p->hold_cap = CAND_MAX + 8;
	p->hold = mimeo__malloc(a, p->hold_cap);
	p->bt_cap = 64;
	p->bt = mimeo__calloc(a, p->bt_cap, sizeof(*p->bt));
	if (!p->scratch || !p->fbuf || !p->bt || !p->hold) {
		mimeo_parser_free(p);
		return MIMEO_ENOMEM;
	}
	p->fcap = 256;
	reset_state(p);
	*out = p;
	return MIMEO_OK;
}

int mimeo_parser_feed(mimeo_parser *p, const void *data, size_t len)
{
	size_t pos = 0;
	int rc;

	if (!p)
		return MIMEO_EINVAL;
	if (p->err)
		return p->err;
	if (p->finishing)
		return fail(p, MIMEO_EINVAL, "feed after finish");
	/* an argument error is sticky like any other (issue 14): a caller that
	 * lost its buffer must not go on feeding as if part of the input had
	 * been parsed */
	if (!data && len) {
		p->consumed = 0; /* nothing of this call: the offset is p->off */
		return fail(p, MIMEO_EINVAL, "NULL data with a non-zero length");
	}
	rc = run(p, data, len, &pos);
	p->consumed = pos;
	if (pos)
		p->last_byte = ((const unsigned char *)data)[pos - 1];
	p->off += pos;
	return rc;
}

size_t mimeo_parser_consumed(const mimeo_parser *p)
{
	return p ? p->consumed : 0;
}

int mimeo_parser_finish(mimeo_parser *p)
{
	if (!p)
		return MIMEO_EINVAL;
	if (p->err)
		return p->err;
	p->finishing = 1;
	p->consumed = 0;
	return finish_loop(p);
}

int mimeo_parser_reset(mimeo_parser *p)
{
	if (!p)
		return MIMEO_EINVAL;
	reset_state(p);
	return MIMEO_OK;
}

int mimeo_parser_error(const mimeo_parser *p, const char **reason, uint64_t *offset)
{
	if (!p)
		return MIMEO_EINVAL;
	if (reason)
		*reason = p->err ? p->err_reason : NULL;
	if (offset)
		*offset = p->err_off;
	return p->err;
}

unsigned mimeo_parser_limits_hit(const mimeo_parser *p)
{
	return p ? p->limits : 0;
}

uint64_t mimeo_parser_offset(const mimeo_parser *p)
{
	return p ? p->off : 0;
}

void mimeo_parser_free(mimeo_parser *p)
{
	size_t i;

	if (!p)
		return;
	mimeo_parser_free(p->inner);
	if (p->root == p)
		mimeo_charset_cache_free(p->cc);
	for (i = 0; i < p->afr; i++)
		frame_free(p, p->fr[i]);
	mimeo__free(p->a, p->fr);
	mimeo__free(p->a, p->bt);
	mimeo_buf_dispose(&p->base_sec);
	mimeo__free(p->a, p->fbuf);
	mimeo__free(p->a, p->hold);
	mimeo__free(p->a, p->scratch);
	mimeo__free(p->a, p);
}

/* The fastest line-start scanner `isa` allows on this CPU. */
mimeo__scan_fn mimeo__parser_scan_for(mimeo_isa isa)
{
	if (isa == MIMEO_ISA_AUTO)
		isa = mimeo_isa_best();
#if MIMEO_HAVE_AVX512
	if (isa >= MIMEO_ISA_AVX512 && mimeo_isa_available(MIMEO_ISA_AVX512))
		return mimeo__parser_scan_avx512;
#endif
#if MIMEO_HAVE_AVX2
	if (isa >= MIMEO_ISA_AVX2 && mimeo_isa_available(MIMEO_ISA_AVX2))
		return mimeo__parser_scan_avx2;
#endif
	(void)isa;
	return mimeo__parser_scan_scalar;
}

/*
 * The parser's mbox split rule, for a reader that has the whole mailbox in
 * memory: the line at offset o > 0 starts a new message exactly when
 *  - the line before it is empty ("" or "\r" before its LF; the parser's
 *    prev_blank, also for the first line of the input),
 *  - it is at most CAND_MAX bytes up to its LF or the end of the data
 *    (longer lines are never classified: `full` in classify()),
 *  - and mimeo__mbox_from_line() accepts it.
 * Nothing else of the parser's state matters (transfer-encoded
 * message/rfc822 bodies are "nested" and decoded, but their raw lines are
 * still seen by the outer level), which is what lets a mailbox be split
 * anywhere without parsing what comes before.  fuzz_mailbox checks that
 * this agrees with message_begin of a whole-input parse.
 */
size_t mimeo__mbox_find_from(const char *d, size_t len, size_t from, mimeo__scan_fn scan)
{
	size_t i = from ? from - 1 : 0;

	while (i < len) {
		size_t j = i + scan(d + i, len - i, MIMEO__SCAN_FROM), o, n;
		const char *lf;

		if (j >= len)
			return len;
		o = j + 1;
		i = o;
		if (d[o] != 'F')
			continue;
		/* previous line empty: its LF is d[j]; it started at 0 or
		 * after an LF, and holds nothing but an optional CR */
		if (!(j == 0 || d[j - 1] == '\n' ||
		      (d[j - 1] == '\r' && (j == 1 || d[j - 2] == '\n'))))
			continue;
		n = len - o < CAND_MAX + 1 ? len - o : CAND_MAX + 1;
		lf = memchr(d + o, '\n', n);
		if (lf)
			n = (size_t)(lf - (d + o));
		else if (n > CAND_MAX)
			continue;
		if (mimeo__mbox_from_line(d + o, n))
			return o;
	}
	return len;
}

/* Bytes of the mbox separator (the line break before the From_ line at
 * `o`, CRLF or LF), which belongs to neither message. */
size_t mimeo__mbox_separator(const char *d, size_t o)
{
	if (o == 0 || d[o - 1] != '\n')
		return 0;
	return o >= 2 && d[o - 2] == '\r' ? 2 : 1;
}

const char *mimeo_defect_name(int code)
{
	/* indexed by MIMEO_DEFECT_*; the names are part of the CLI's JSON */
	static const char *const names[] = {
		NULL, "missing-blank-line", "missing-close", "duplicate", "no-boundary", "limit",
		"unknown-cte", "mbox-from", "truncated-headers", "bad-header", "bad-content-type",
		"multipart-encoded", "repeated-delimiter", "no-delimiter",
	};

	if (code <= 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[code];
}
