/*
 * fuzz_parser.c - the streaming MIME parser on hostile mail.
 *
 * Input: [flags byte] [limits byte] [split byte] [pause byte] [message...]
 *   flags bits 0-2: MIMEO_PARSE_MBOX, NO_DECODE, PREAMBLE; bits 3-4: the
 *     ISA of the differential run; bit 5: small limits from the limits
 *     byte; bit 6: a callback aborts at the event the pause byte picks;
 *     bit 7: the server-compatibility readings (MIMEO_PARSE_COMPAT_DOVECOT:
 *     prefix delimiters, encoded message/rfc822 read as it stands, empty
 *     parts between repeated delimiters).
 *   split byte: chunk plan (fuzz_util.h); pause byte: seeds which
 *     callbacks return MIMEO_PAUSED.
 * Runs:
 *   A. one feed of the whole input, scalar ISA        -> event log 1
 *   B. the same parser after mimeo_parser_reset, fed in chunks (each in a
 *      heap block of its exact size) with callbacks pausing now and then
 *      and the rest of the chunk fed again after each pause  -> log 2
 *   C. a second parser on the chosen ISA, chunked, no pauses -> log 3
 * The logs must be identical (parser.h: same events whatever the chunking,
 * body data aside, so adjacent body/preamble/epilogue data is merged
 * before logging).  Invariants checked in the callbacks: begin/end nest,
 * depth follows nesting and never exceeds max_depth, offsets are ordered
 * and inside the input, decoded_size equals the body bytes delivered,
 * body data only for leaves, strings non-NULL where promised.  With an
 * abort the error must be MIMEO_EUSER and sticky.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <mimeo.h>

#define MAX_OPEN 4096

typedef struct run {
	mimeo_buf log;
	/* merged body/preamble/epilogue data not yet logged */
	char pending_kind;
	mimeo_buf pending;
	/* open parts: what was delivered to each */
	uint64_t delivered[MAX_OPEN];
	const mimeo_part_info *info[MAX_OPEN];
	unsigned open;
	int in_message;
	uint64_t input_len;
	unsigned max_depth;
	/* pause / abort plan */
	uint64_t rng;
	int pauses;
	unsigned long events;
	unsigned long abort_at; /* 0 = never */
} run;

static void logf_(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(run *r, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	int n;

	/* sections, types and boundaries may be long: size it first */
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	FZ_CHECK(n >= 0);
	tmp = fz_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	FZ_CHECK(mimeo_buf_put(&r->log, tmp, (size_t)n) == MIMEO_OK);
	free(tmp);
}

static void log_bytes(run *r, const char *s, size_t n)
{
	logf_(r, "%zu:", n);
	FZ_CHECK(mimeo_buf_put(&r->log, s ? s : "", n) == MIMEO_OK);
	FZ_CHECK(mimeo_buf_put(&r->log, "\n", 1) == MIMEO_OK);
}

static void flush(run *r)
{
	if (!r->pending_kind)
		return;
	logf_(r, "%c ", r->pending_kind);
	log_bytes(r, r->pending.ptr, r->pending.size);
	mimeo_buf_clear(&r->pending);
	r->pending_kind = 0;
}

/* Every callback ends here: count the event, maybe pause or abort. */
static int verdict(run *r)
{
	r->events++;
	if (r->abort_at && r->events == r->abort_at)
		return -1;
	if (r->pauses && (fz_rng(&r->rng) & 7) == 0)
		return MIMEO_PAUSED;
	return 0;
}

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static void check_info(run *r, const mimeo_part_info *p)
{
	FZ_CHECK(p != NULL && p->section != NULL);
	FZ_CHECK(p->depth <= r->max_depth);
	if (!(p->flags & MIMEO_PART_ENCODED))
		FZ_CHECK(p->header_offset <= r->input_len);
}

static int on_message_begin(const mimeo_part_info *m, uint64_t off, void *u)
{
	run *r = u;

	flush(r);
	FZ_CHECK(!r->in_message && r->open == 0);
	FZ_CHECK(off <= r->input_len);
	r->in_message = 1;
	logf_(r, "MB %" PRIu64 "\n", off);
	return verdict(r);
}

static int on_part_begin(const mimeo_part_info *p, void *u)
{
	run *r = u;

	flush(r);
	check_info(r, p);
	FZ_CHECK(r->in_message);
	FZ_CHECK(r->open < MAX_OPEN);
	FZ_CHECK(p->depth == (r->open ? r->info[r->open - 1]->depth + 1 : 0));
	r->info[r->open] = p;
	r->delivered[r->open++] = 0;
	logf_(r, "PB %u [%s] %" PRIu64 "\n", p->depth, p->section, p->header_offset);
	return verdict(r);
}

static int on_header(const mimeo_part_info *p, const char *name, size_t nl,
		     const char *value, size_t vl, void *u)
{
	run *r = u;

	flush(r);
	FZ_CHECK(r->open && r->info[r->open - 1] == p);
	FZ_CHECK(nl > 0);
	logf_(r, "H ");
	log_bytes(r, name, nl);
	log_bytes(r, value, vl);
	return verdict(r);
}

static int on_headers_end(const mimeo_part_info *p, void *u)
{
	run *r = u;
	unsigned kind;

	flush(r);
	FZ_CHECK(r->open && r->info[r->open - 1] == p);
	FZ_CHECK(p->type != NULL && p->subtype != NULL);
	kind = p->flags & (MIMEO_PART_MULTIPART | MIMEO_PART_MESSAGE | MIMEO_PART_LEAF);
	FZ_CHECK(kind == MIMEO_PART_MULTIPART || kind == MIMEO_PART_MESSAGE ||
		 kind == MIMEO_PART_LEAF);
	FZ_CHECK(!(p->flags & MIMEO_PART_MULTIPART) || p->boundary != NULL);
	if (!(p->flags & MIMEO_PART_ENCODED))
		FZ_CHECK(p->header_offset <= p->body_offset && p->body_offset <= r->input_len);
	logf_(r, "HE %s/%s cs=%s cte=%d b=%s fl=%x ho=%" PRIu64 " bo=%" PRIu64 " n=%u\n",
	      p->type, p->subtype, str(p->charset), (int)p->cte, str(p->boundary),
	      p->flags, p->header_offset, p->body_offset, p->header_count);
	return verdict(r);
}

static int data(run *r, char kind, const mimeo_part_info *p, const char *d, size_t n)
{
	FZ_CHECK(r->open && r->info[r->open - 1] == p);
	if (r->pending_kind != kind)
		flush(r);
	r->pending_kind = kind;
	FZ_CHECK(mimeo_buf_put(&r->pending, d, n) == MIMEO_OK);
	return verdict(r);
}

static int on_body(const mimeo_part_info *p, const char *d, size_t n, void *u)
{
	run *r = u;

	FZ_CHECK(p->flags & MIMEO_PART_LEAF);
	FZ_CHECK(r->open);
	r->delivered[r->open - 1] += n;
	FZ_CHECK(p->decoded_size == r->delivered[r->open - 1] ||
		 p->decoded_size + n == r->delivered[r->open - 1]);
	return data(r, 'B', p, d, n);
}

static int on_preamble(const mimeo_part_info *p, const char *d, size_t n, void *u)
{
	FZ_CHECK(p->flags & MIMEO_PART_MULTIPART);
	return data(u, 'P', p, d, n);
}

static int on_epilogue(const mimeo_part_info *p, const char *d, size_t n, void *u)
{
	FZ_CHECK(p->flags & MIMEO_PART_MULTIPART);
	return data(u, 'E', p, d, n);
}

static int on_part_end(const mimeo_part_info *p, void *u)
{
	run *r = u;

	flush(r);
	FZ_CHECK(r->open && r->info[r->open - 1] == p);
	check_info(r, p);
	FZ_CHECK(p->decoded_size == r->delivered[r->open - 1]);
	if (!(p->flags & MIMEO_PART_ENCODED))
		FZ_CHECK(p->body_offset <= p->end_offset && p->end_offset <= r->input_len);
	r->open--;
	logf_(r, "PE [%s] fl=%x eo=%" PRIu64 " ds=%" PRIu64 "\n", p->section, p->flags,
	      p->end_offset, p->decoded_size);
	return verdict(r);
}

static int on_message_end(const mimeo_part_info *m, void *u)
{
	run *r = u;

	flush(r);
	FZ_CHECK(r->in_message && r->open == 0);
	r->in_message = 0;
	logf_(r, "ME\n");
	return verdict(r);
}

static int on_defect(const mimeo_part_info *p, const mimeo_defect *d, void *u)
{
	run *r = u;

	flush(r);
	FZ_CHECK(d->reason != NULL);
	FZ_CHECK(d->severity == MIMEO_DEFECT_WARN || d->severity == MIMEO_DEFECT_CRIT);
	logf_(r, "D %d %d %" PRIu64 "\n", d->code, d->severity, d->offset);
	return verdict(r);
}

static const mimeo_parser_callbacks callbacks = {
	MIMEO_PARSER_CALLBACKS_VERSION, on_message_begin, on_part_begin, on_header,
	on_headers_end, on_body, on_preamble, on_epilogue, on_part_end, on_message_end,
	on_defect
};

static void run_init(run *r, size_t len, unsigned max_depth)
{
	memset(r, 0, sizeof(*r));
	mimeo_buf_init(&r->log, NULL);
	mimeo_buf_init(&r->pending, NULL);
	r->input_len = len;
	r->max_depth = max_depth;
}

static void run_reset(run *r)
{
	mimeo_buf_clear(&r->log);
	mimeo_buf_clear(&r->pending);
	r->pending_kind = 0;
	r->open = 0;
	r->in_message = 0;
	r->events = 0;
}

static void run_dispose(run *r)
{
	mimeo_buf_dispose(&r->log);
	mimeo_buf_dispose(&r->pending);
}

/* Feed the input (whole when sp is NULL); returns the final status. */
static int parse(mimeo_parser *p, run *r, const uint8_t *in, size_t len, fz_split *sp)
{
	int rc = MIMEO_OK;
	unsigned long guard = 0;

	while (len) {
		size_t n = sp ? fz_split_next(sp, len) : len;
		uint8_t *chunk = fz_dup(in, n);
		size_t off = 0;

		for (;;) {
			rc = mimeo_parser_feed(p, chunk + off, n - off);
			if (rc != MIMEO_PAUSED)
				break;
			FZ_CHECK(mimeo_parser_consumed(p) <= n - off);
			off += mimeo_parser_consumed(p);
			FZ_CHECK(++guard < 10000000);
		}
		free(chunk);
		if (rc < 0) {
			/* sticky: later calls give the same error */
			FZ_CHECK(mimeo_parser_feed(p, "x", 1) == rc);
			FZ_CHECK(mimeo_parser_finish(p) == rc);
			FZ_CHECK(mimeo_parser_error(p, NULL, NULL) == rc);
			return rc;
		}
		FZ_CHECK(rc == MIMEO_OK);
		in += n;
		len -= n;
	}
	do {
		rc = mimeo_parser_finish(p);
		FZ_CHECK(++guard < 10000000);
	} while (rc == MIMEO_PAUSED);
	flush(r);
	if (rc == MIMEO_OK) {
		FZ_CHECK(r->open == 0 && !r->in_message);
		FZ_CHECK(mimeo_parser_offset(p) == r->input_len);
	}
	return rc;
}

static void same_log(const run *a, const run *b, const char *what)
{
	if (a->log.size != b->log.size ||
	    (a->log.size && memcmp(a->log.ptr, b->log.ptr, a->log.size) != 0)) {
		size_t i = 0;

		while (i < a->log.size && i < b->log.size && a->log.ptr[i] == b->log.ptr[i])
			i++;
		while (i > 0 && a->log.ptr[i - 1] != '\n')
			i--;
		fprintf(stderr, "event logs differ (%s) from byte %zu:\n--- whole\n%.300s\n--- other\n%.300s\n",
			what, i, a->log.ptr + i, b->log.ptr + i);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data_, size_t size)
{
	static const mimeo_isa isas[4] = {
		MIMEO_ISA_SCALAR, MIMEO_ISA_AVX2, MIMEO_ISA_AVX512, MIMEO_ISA_AUTO
	};
	fz_input in = { data_, size };
	uint8_t fl = fz_byte(&in), lim = fz_byte(&in), split = fz_byte(&in), pz = fz_byte(&in);
	mimeo_parser_options opts = MIMEO_PARSER_OPTIONS_INIT;
	mimeo_parser *p = NULL, *q = NULL;
	run a, b;
	fz_split sp;
	int rc1, rc2, rc3;

	opts.flags = (fl & 7) | ((fl & 128) ? MIMEO_PARSE_COMPAT_DOVECOT : 0);
	if (fl & 32) {
		opts.max_depth = 1 + (lim & 7);
		opts.max_headers = 1 + ((lim >> 3) & 7) * 3;
		opts.max_header_bytes = 16 + (size_t)(lim >> 6) * 200;
		opts.max_parts = 1 + (lim & 31);
		opts.max_line = 1024;
	}
	opts.isa = MIMEO_ISA_SCALAR;
	run_init(&a, in.size, opts.max_depth);
	run_init(&b, in.size, opts.max_depth);

	if (fl & 64) {
		/* a callback aborts at event N: MIMEO_EUSER, sticky (parse()) */
		a.abort_at = 1 + pz % 64;
		FZ_CHECK(mimeo_parser_new(&p, &opts, &callbacks, &a) == MIMEO_OK);
		rc1 = parse(p, &a, in.data, in.size, NULL);
		if (rc1 == MIMEO_EUSER)
			FZ_CHECK(a.events == a.abort_at);
		else
			FZ_CHECK(rc1 == MIMEO_OK && a.events < a.abort_at);
		mimeo_parser_free(p);
		run_reset(&a);
		a.abort_at = 0;
	}

	/* A: the whole input in one feed */
	FZ_CHECK(mimeo_parser_new(&p, &opts, &callbacks, &a) == MIMEO_OK);
	rc1 = parse(p, &a, in.data, in.size, NULL);
	FZ_CHECK(rc1 == MIMEO_OK); /* an empty mbox has no events at all */
	mimeo_parser_free(p);

	/* B: chunked with pauses, on a parser reset after a first pass */
	b.pauses = 1;
	b.rng = pz;
	FZ_CHECK(mimeo_parser_new(&p, &opts, &callbacks, &b) == MIMEO_OK);
	fz_split_init(&sp, split, in.size);
	FZ_CHECK(parse(p, &b, in.data, in.size, &sp) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_reset(p) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_error(p, NULL, NULL) == MIMEO_OK);
	FZ_CHECK(mimeo_parser_limits_hit(p) == 0);
	run_reset(&b);
	b.rng = (uint64_t)pz << 8;
	fz_split_init(&sp, split, in.size);
	rc2 = parse(p, &b, in.data, in.size, &sp);
	FZ_CHECK(rc2 == MIMEO_OK);
	same_log(&a, &b, "chunked + paused, after reset");
	mimeo_parser_free(p);

	/* C: another ISA, chunked differently */
	run_reset(&b);
	b.pauses = 0;
	opts.isa = isas[(fl >> 3) & 3];
	FZ_CHECK(mimeo_parser_new(&q, &opts, &callbacks, &b) == MIMEO_OK);
	fz_split_init(&sp, (uint8_t)(split * 7 + 3), in.size);
	rc3 = parse(q, &b, in.data, in.size, &sp);
	FZ_CHECK(rc3 == MIMEO_OK);
	same_log(&a, &b, "other ISA");
	mimeo_parser_free(q);

	run_dispose(&a);
	run_dispose(&b);
	return 0;
}
