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

/* The input being consumed: option bytes are taken from the front. */
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
