/*
 * fuzz_uu.c - the streaming uudecoder on hostile input.
 *
 * Input: [split byte] [text...].  The text (begin lines with odd modes and
 * names, overlong and cut-short data lines, garbage, missing end) is
 * decoded in one step and with the chunking the split byte picks, and
 * through the generic transfer decoder: same bytes, same public fields
 * (filename, mode, began, ended, invalid).  Output blocks are exactly
 * MIMEO_UU_DECODE_BOUND(len) bytes; the filename must stay NUL-terminated
 * inside its array.
 *
 * mimeo_uu_decode_next() (every block, a pause after each) is run over the
 * same text whole and with the split plan: both give the same transcript
 * of files ("{name mode:data|end}"), a pause always consumes input, output
 * never appears outside a block, and the first file's data is exactly what
 * the first-block API gave.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

typedef struct result {
	fz_bytes out; /* first: fz_codec_plan frees it */
	mimeo_uu_decoder st;  /* the public fields after finish */
} result;

FZ_DECODER_FUNCS(uu, mimeo_uu_decode_step, mimeo_uu_decode_finish, MIMEO_UU_DECODE_BOUND)

static void decode(void *res, int generic, const uint8_t *in, size_t len, fz_split *sp)
{
	result *r = res;
	mimeo_transfer_decoder td;
	fz_decoder dec = { &r->st, uu_step, uu_finish, uu_bound, MIMEO_UU_DECODE_FINISH_MAX };

	memset(r, 0, sizeof(*r));
	if (generic)
		fz_transfer_decoder(&dec, &td, MIMEO_CTE_UUENCODE, MIMEO_ISA_AUTO);
	else
		mimeo_uu_decoder_init(&r->st);
	fz_decode_chunked(&dec, in, len, sp, &r->out, NULL);
	if (generic) {
		r->st = td.u.uu;
		FZ_CHECK(mimeo_transfer_decoder_invalid(&td) == td.u.uu.invalid);
	}
	FZ_CHECK(memchr(r->st.filename, '\0', sizeof(r->st.filename)) != NULL);
	FZ_CHECK(r->st.began || (r->out.len == 0 && !r->st.ended));
}

static void same(const void *ref, const void *res)
{
	const result *a = ref, *b = res;

	FZ_CHECK(fz_bytes_eq(&a->out, &b->out));
	FZ_CHECK(strcmp(a->st.filename, b->st.filename) == 0);
	FZ_CHECK(a->st.mode == b->st.mode);
	FZ_CHECK(!a->st.began == !b->st.began);
	FZ_CHECK(!a->st.ended == !b->st.ended);
	FZ_CHECK(a->st.invalid == b->st.invalid);
}

static const fz_codec_plan plan = { sizeof(result), decode, same };

/* ---- every block: mimeo_uu_decode_next() ---- */

/* The transcript of the files decoded so far, and where the first file's
 * data ends in it.  open: 0 outside a file, 1 inside, 2 paused (the fields
 * still describe the block that ended, until the next call). */
typedef struct files {
	fz_bytes log;
	size_t first_start, first_end;
	unsigned nfiles;
	int open;
} files;

static void file_open(files *f, const mimeo_uu_decoder *d)
{
	char head[300];

	if (!d->began || f->open != 0)
		return;
	snprintf(head, sizeof(head), "{%s %o:", d->filename, d->mode);
	fz_bytes_put(&f->log, head, strlen(head));
	if (f->nfiles++ == 0)
		f->first_start = f->log.len;
	f->open = 1;
}

static void file_data(files *f, const void *p, size_t n)
{
	FZ_CHECK(n == 0 || f->open == 1); /* no output outside a block */
	fz_bytes_put(&f->log, p, n);
}

static void file_close(files *f, const char *how)
{
	if (f->nfiles == 1)
		f->first_end = f->log.len;
	fz_bytes_put(&f->log, how, 5);
}

static void next_chunk(mimeo_uu_decoder *d, const uint8_t *in, size_t n, files *f)
{
	uint8_t *chunk = fz_dup(in, n);
	size_t off = 0;

	do {
		size_t bound = MIMEO_UU_DECODE_BOUND(n - off), used = 0, got = 0;
		uint8_t *out = fz_xmalloc(bound);
		int rc;

		if (f->open == 2)
			f->open = 0;
		rc = mimeo_uu_decode_next(d, chunk + off, n - off, out, &used, &got);
		FZ_CHECK(used <= n - off && got <= bound);
		FZ_CHECK(rc == MIMEO_OK ? used == n - off : rc == MIMEO_PAUSED && used > 0);
		FZ_CHECK(memchr(d->filename, '\0', sizeof(d->filename)) != NULL);
		file_open(f, d);
		file_data(f, out, got);
		if (rc == MIMEO_PAUSED) {
			FZ_CHECK(f->open == 1); /* a pause ends a block */
			file_close(f, d->ended ? "|end}" : "|cut}");
			f->open = 2;
		}
		off += used;
		free(out);
	} while (off < n);
	free(chunk);
}

static void decode_all(const uint8_t *in, size_t len, fz_split *sp, files *f)
{
	mimeo_uu_decoder d;
	uint8_t fin[MIMEO_UU_DECODE_FINISH_MAX];
	size_t off = 0, n, got;

	memset(f, 0, sizeof(*f));
	mimeo_uu_decoder_init(&d);
	while (off < len) {
		n = sp ? fz_split_next(sp, len - off) : len - off;
		next_chunk(&d, in + off, n, f);
		off += n;
	}
	if (f->open == 2)
		f->open = 0; /* finish is the call after the pause */
	got = mimeo_uu_decode_finish(&d, fin);
	file_open(f, &d);
	file_data(f, fin, got);
	if (f->open == 1)
		file_close(f, "|eof}");
}

static void check_every_block(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t split = fz_byte(&in);
	result first;
	files whole, chunked;
	fz_split sp;

	decode(&first, 0, in.data, in.size, NULL);
	decode_all(in.data, in.size, NULL, &whole);
	fz_split_init(&sp, split, in.size);
	decode_all(in.data, in.size, &sp, &chunked);
	FZ_CHECK(fz_bytes_eq(&whole.log, &chunked.log));
	if (whole.nfiles) {
		FZ_CHECK(whole.first_end - whole.first_start == first.out.len);
		FZ_CHECK(first.out.len == 0 ||
			 memcmp(whole.log.data + whole.first_start, first.out.data,
				first.out.len) == 0);
	} else {
		FZ_CHECK(first.out.len == 0);
	}
	free(first.out.data);
	free(whole.log.data);
	free(chunked.log.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_codec_plan_run(&plan, data, size);
	check_every_block(data, size);
	return 0;
}
