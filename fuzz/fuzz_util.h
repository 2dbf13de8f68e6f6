/*
 * fuzz_util.h - helpers shared by the fuzz targets (header only, so each
 * target still builds from its one .c file as OSS-Fuzz expects).
 *
 * Conventions (llhttp's fuzzers): the first input bytes pick options and
 * the seed of the chunk split plan; the rest is the data.  Every chunk is
 * copied into a heap block of exactly its size and every output buffer is
 * allocated at exactly its documented bound, so that a read or write one
 * byte past either is caught by AddressSanitizer, not hidden inside a
 * larger buffer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_FUZZ_UTIL_H
#define MIMEO_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mimeo.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed invariant is a finding: report it and abort so the engine (or
 * the replay test) records the input. */
#define FZ_CHECK(cond)                                                       \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n",        \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* Allocation failure in the harness itself is not a finding. */
static inline void *fz_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "fuzz harness: out of memory\n");
		abort();
	}
	return p;
}

static inline void *fz_dup(const void *src, size_t n)
{
	void *p = fz_xmalloc(n);

	if (n)
		memcpy(p, src, n);
	return p;
}

/* A counting allocator over libc: the blocks it has handed out and not
 * yet taken back.  Given to the library through options, it shows that
 * the library used it for everything it allocated there and freed all of
 * it (live == 0 after the result's _free). */
typedef struct fz_count_alloc {
	mimeo_allocator alloc; /* pass &ca.alloc */
	long live;
	unsigned long calls;
} fz_count_alloc;

static inline void *fz_ca_malloc(size_t n, void *ctx)
{
	fz_count_alloc *ca = ctx;
	void *p = malloc(n);

	ca->calls++;
	if (p)
		ca->live++;
	return p;
}

static inline void *fz_ca_realloc(void *ptr, size_t n, void *ctx)
{
	fz_count_alloc *ca = ctx;
	void *p = realloc(ptr, n);

	ca->calls++;
	if (p && !ptr)
		ca->live++;
	return p;
}

static inline void fz_ca_free(void *ptr, void *ctx)
{
	fz_count_alloc *ca = ctx;

	if (ptr) {
		ca->live--;
		free(ptr);
	}
}

static inline void fz_count_alloc_init(fz_count_alloc *ca)
{
	ca->alloc.malloc = fz_ca_malloc;
	ca->alloc.realloc = fz_ca_realloc;
	ca->alloc.free = fz_ca_free;
	ca->alloc.ctx = ca;
	ca->live = 0;
	ca->calls = 0;
}

/* The input being consumed: option bytes are taken from the front. */
/* Header options from a target's options byte `o`, shared by the header
 * field targets (address, param): bits 0-2 the default charset of raw
 * 8-bit text (including none, a bogus label and UTF-16), bit 3 strict
 * parsing, bit 6 the counting allocator `ca` (which is initialised), and
 * bit 5 no charset cache (*cc stays NULL).  Returns 0 when the cache
 * cannot be made (the input is then skipped). */
static inline int fz_header_options(uint8_t o, mimeo_header_options *opts, fz_count_alloc *ca,
				    mimeo_charset_cache **cc)
{
	static const char *const default_charsets[8] = {
		NULL, "utf-8", "iso-8859-2", "koi8-r", "shift_jis", "x-bogus", "utf-16", "big5"
	};

	opts->default_charset = default_charsets[o & 7];
	opts->flags = (o & 8) ? MIMEO_HEADER_STRICT : 0;
	fz_count_alloc_init(ca);
	if (o & 64)
		opts->alloc = &ca->alloc;
	*cc = NULL;
	return (o & 32) || mimeo_charset_cache_new(cc, NULL) == MIMEO_OK;
}

typedef struct fz_input {
	const uint8_t *data;
	size_t size;
} fz_input;

static inline uint8_t fz_byte(fz_input *in)
{
	uint8_t b;

	if (in->size == 0)
		return 0;
	b = in->data[0];
	in->data++;
	in->size--;
	return b;
}

static inline uint64_t fz_rng(uint64_t *s)
{
	/* splitmix64: deterministic, so a crash input replays the same way */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * A chunk split plan chosen by one input byte: whole buffer, one byte at a
 * time, small random chunks (1..16, hits every CRLF and quantum split), or
 * random chunks up to a few KiB (hits SIMD block edges).
 */
typedef struct fz_split {
	unsigned mode;
	unsigned max;
	uint64_t rng;
} fz_split;

static inline void fz_split_init(fz_split *sp, uint8_t b, size_t total)
{
	sp->mode = b & 3;
	sp->rng = ((uint64_t)b << 32) ^ total;
	switch (sp->mode) {
	case 0: sp->max = 0; break;
	case 1: sp->max = 1; break;
	case 2: sp->max = 1 + (b >> 4); break;
	default: sp->max = 64u << (b >> 5); break;
	}
}

static inline size_t fz_split_next(fz_split *sp, size_t remaining)
{
	size_t n;

	if (sp->mode == 0 || remaining == 0)
		return remaining;
	n = 1 + (size_t)(fz_rng(&sp->rng) % sp->max);
	/* An empty step now and then: every API must accept len == 0. */
	if ((fz_rng(&sp->rng) & 31) == 0)
		n = 0;
	return n < remaining ? n : remaining;
}

/* Bytes a harness collects (decoder output); starts zeroed. */
typedef struct fz_bytes {
	uint8_t *data;
	size_t len, cap;
} fz_bytes;

static inline void fz_bytes_put(fz_bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		uint8_t *grown;

		b->cap = (b->len + n) * 2 + 16;
		grown = realloc(b->data, b->cap);
		if (!grown) {
			fprintf(stderr, "fuzz harness: out of memory\n");
			abort();
		}
		b->data = grown;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline int fz_bytes_eq(const fz_bytes *a, const fz_bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/*
 * A streaming decoder behind one face (its own API or the generic
 * transfer decoder), so that the codec harnesses share one chunked driver.
 */
typedef struct fz_decoder {
	void *state;
	size_t (*step)(void *state, const void *in, size_t len, void *out);
	size_t (*finish)(void *state, void *out);
	size_t (*bound)(size_t len); /* documented output room of one step */
	size_t finish_max;           /* documented output room of finish */
} fz_decoder;

/* The fz_decoder face of a codec's own API: defines <name>_step,
 * <name>_finish and <name>_bound from its step and finish functions and
 * its step-bound macro. */
#define FZ_DECODER_FUNCS(name, step_fn, finish_fn, bound_macro)                 \
	static size_t name##_step(void *st, const void *in, size_t len, void *out) \
	{                                                                       \
		return step_fn(st, in, len, out);                               \
	}                                                                       \
	static size_t name##_finish(void *st, void *out)                        \
	{                                                                       \
		return finish_fn(st, out);                                      \
	}                                                                       \
	static size_t name##_bound(size_t len)                                  \
	{                                                                       \
		return bound_macro(len);                                        \
	}

static inline size_t fz_td_step(void *st, const void *in, size_t len, void *out)
{
	return mimeo_transfer_decode_step(st, in, len, out);
}

static inline size_t fz_td_finish(void *st, void *out)
{
	return mimeo_transfer_decode_finish(st, out);
}

static inline size_t fz_td_bound(size_t len)
{
	return MIMEO_TRANSFER_DECODE_BOUND(len);
}

/* Point `d` at the generic transfer decoder `td`, initialised for `cte`. */
static inline void fz_transfer_decoder(fz_decoder *d, mimeo_transfer_decoder *td,
				       mimeo_cte cte, mimeo_isa isa)
{
	mimeo_transfer_decoder_init(td, cte, isa);
	d->state = td;
	d->step = fz_td_step;
	d->finish = fz_td_finish;
	d->bound = fz_td_bound;
	d->finish_max = MIMEO_TRANSFER_DECODE_FINISH_MAX;
}

/*
 * Decode `in` in the chunks `sp` picks (NULL: one step), appending to
 * `out`.  Every chunk is a heap block of exactly its size and every output
 * block exactly the documented bound, so ASan sees any overrun; no step
 * may write more than its bound.  `per_step` (may be NULL) checks each
 * step's (input, output) sizes.  Returns what finish produced.
 */
static inline size_t fz_decode_chunked(const fz_decoder *d, const uint8_t *in, size_t len,
				       fz_split *sp, fz_bytes *out,
				       void (*per_step)(size_t in_len, size_t got))
{
	uint8_t *buf;
	size_t got;

	while (len) {
		size_t n = sp ? fz_split_next(sp, len) : len, cap = d->bound(n);
		uint8_t *chunk = fz_dup(in, n);

		buf = fz_xmalloc(cap);
		got = d->step(d->state, chunk, n, buf);
		FZ_CHECK(got <= cap);
		if (per_step)
			per_step(n, got);
		fz_bytes_put(out, buf, got);
		free(buf);
		free(chunk);
		in += n;
		len -= n;
	}
	buf = fz_xmalloc(d->finish_max);
	got = d->finish(d->state, buf);
	FZ_CHECK(got <= d->finish_max);
	fz_bytes_put(out, buf, got);
	free(buf);
	return got;
}

/*
 * The plan the single-codec decoder harnesses share: the first input byte
 * picks the chunking, the rest is decoded in one step with the codec's
 * own API (the reference), then chunked through its own API (generic 0)
 * and, chunked another way, through the transfer decoder (generic 1);
 * every run must be the same as the reference.  A result is the
 * harness's own struct whose first member is the fz_bytes of the output:
 * `decode` fills one, `same` compares two.
 */
typedef struct fz_codec_plan {
	size_t result_size;
	void (*decode)(void *res, int generic, const uint8_t *in, size_t len, fz_split *sp);
	void (*same)(const void *ref, const void *res);
} fz_codec_plan;

static inline void fz_codec_result_free(void *res)
{
	free(((fz_bytes *)res)->data);
}

static inline void fz_codec_plan_run(const fz_codec_plan *p, const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t split = fz_byte(&in);
	void *ref = fz_xmalloc(p->result_size), *res = fz_xmalloc(p->result_size);
	fz_split sp;
	int generic;

	p->decode(ref, 0, in.data, in.size, NULL);
	for (generic = 0; generic < 2; generic++) {
		fz_split_init(&sp, (uint8_t)(split + generic), in.size);
		p->decode(res, generic, in.data, in.size, &sp);
		p->same(ref, res);
		fz_codec_result_free(res);
	}
	fz_codec_result_free(ref);
	free(ref);
	free(res);
}

/*
 * Line breaks in encoder output, at byte `i` of `s`: a CR only as the
 * first half of CRLF and only in CRLF mode; in CRLF mode every LF after a
 * CR.  @return 1 for such a CR, 2 for an LF, 0 for any other byte.
 */
static inline int fz_line_break(const void *s, size_t len, size_t i, int crlf)
{
	const uint8_t *b = s;

	if (b[i] == '\r') {
		FZ_CHECK(crlf);
		FZ_CHECK(i + 1 < len && b[i + 1] == '\n');
		return 1;
	}
	if (b[i] != '\n')
		return 0;
	FZ_CHECK(!crlf || (i > 0 && b[i - 1] == '\r'));
	return 2;
}

/*
 * An encoded header value as the encoders promise it (RFC 5322 2.1.1,
 * 2.2.3): ASCII without NUL, line breaks only as folds (CRLF exactly when
 * MIMEO_HEADER_FOLD_CRLF is in `flags`, followed by a space or tab), and
 * no line over 998 octets counting from column `start_col` (the field
 * name is on the first line).
 */
static inline void fz_check_folded(const mimeo_buf *b, unsigned flags, size_t start_col)
{
	size_t i, col = start_col;

	for (i = 0; i < b->size; i++) {
		uint8_t c = (uint8_t)b->ptr[i];

		int brk = fz_line_break(b->ptr, b->size, i, !!(flags & MIMEO_HEADER_FOLD_CRLF));

		FZ_CHECK(c < 0x80 && c != 0);
		if (brk == 1)
			continue;
		if (brk == 2) {
			/* a fold, never a bare line break ending the field */
			FZ_CHECK(i + 1 < b->size && (b->ptr[i + 1] == ' ' || b->ptr[i + 1] == '\t'));
			col = 0;
			continue;
		}
		FZ_CHECK(++col <= 998);
	}
}

/*
 * Independent UTF-8 check (RFC 3629 table): the harnesses' oracle for
 * "every decoder returns valid UTF-8", deliberately not the library's own
 * validator.  Returns the length of the longest valid prefix.
 */
static inline size_t fz_utf8_prefix(const void *buf, size_t len)
{
	const uint8_t *s = buf;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			break;
		}
		if (i + n >= len) /* continuation bytes missing */
			break;
		{
			size_t k;
			int ok = 1;

			for (k = 1; k <= n; k++) {
				if ((s[i + k] & 0xc0) != 0x80) {
					ok = 0;
					break;
				}
				cp = (cp << 6) | (s[i + k] & 0x3f);
			}
			if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
				break;
		}
		i += n + 1;
	}
	return i;
}

static inline int fz_utf8_valid(const void *buf, size_t len)
{
	return fz_utf8_prefix(buf, len) == len;
}

#endif /* MIMEO_FUZZ_UTIL_H */
