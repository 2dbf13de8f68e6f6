/*
 * cmd_extract_all.c - `mimeo extract --all FILE|DIR -o DIR`: the
 * attachments of every message of an mbox (also .gz), Maildir folder or
 * single message file, each message's into DIR/<N>/ (created for messages
 * that have any), named as `extract` names them (outdir.h), one line per
 * file on stdout; yEnc files posted in parts over several messages are put
 * together into DIR itself at the end.  It writes exactly the files that
 * `ls` counts (cli_is_attachment), plus, unless --no-expand, the files
 * inside TNEF parts and text bodies.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"
#include "outdir.h"
#include "team.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


/* --- multi-part yEnc posts ------------------------------------------
 *
 * A yEnc file posted in parts (=ybegin part=, =ypart begin= end=) may be
 * spread over several messages.  extract --all does not save the parts:
 * it notes where each is (message, section, byte range) and, once every
 * message was read, writes each file whose parts cover it from byte 1 to
 * its size= into DIR itself, reading the parts again in order.  A file
 * with a part missing is reported and not written. */

typedef struct ypiece {
	char *name;             /* =ybegin name= */
	uint64_t file_size;     /* =ybegin size= */
	uint64_t begin, end;    /* =ypart range, 1-based, inclusive */
	uint64_t size;          /* decoded bytes of this part */
	unsigned part, total;
	unsigned have;          /* MIMEO_YENC_HAVE_* of the part */
	unsigned errors;        /* MIMEO_YENC_BAD_* of the part */
	uint32_t file_crc;      /* its =yend crc32= (the whole file's) */
	size_t msg;             /* message number in the mailbox */
	char *section;
} ypiece;

typedef struct ylist {
	ypiece *v;
	size_t n, cap;
} ylist;

/* Note the part when `p` is a placed part of a multi-part yEnc post:
 * 1 (noted), 0 (not such a part), -1 (out of memory). */
static int yenc_note(ylist *l, const mimeo_part *p, size_t msg)
{
	mimeo_yenc_info yi;
	ypiece *y;

	if (mimeo_part_yenc_info(p, &yi) != MIMEO_OK || !yi.part || !yi.begin ||
	    yi.end < yi.begin || !yi.file_size || yi.end > yi.file_size ||
	    yi.end - yi.begin + 1 != mimeo_part_size(p))
		return 0;
	if (cli_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 16) < 0)
		return -1;
	y = &l->v[l->n];
	y->name = strdup(yi.name);
	y->section = strdup(mimeo_part_section(p));
	if (!y->name || !y->section) {
		free(y->name);
		free(y->section);
		return -1;
	}
	y->file_size = yi.file_size;
	y->begin = yi.begin;
	y->end = yi.end;
	y->size = mimeo_part_size(p);
	y->part = yi.part;
	y->total = yi.total;
	y->have = yi.have;
	y->errors = yi.errors;
	y->file_crc = yi.file_crc32;
	y->msg = msg;
	l->n++;
	return 1;
}

static int ypiece_cmp(const void *a, const void *b)
{
	const ypiece *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->file_size != y->file_size)
		return x->file_size < y->file_size ? -1 : 1;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

/* One file to put together: pieces v[0..n) in order, duplicates (the same
 * range posted twice) marked to be skipped. */
typedef struct yfile {
	mimeo_mailbox *mb;
	const ypiece *v;
	size_t n;
	const unsigned char *skip;
	uLong crc;              /* CRC-32 of the bytes written so far */
} yfile;

/* The file's bytes pass through here on their way to the output, so the
 * whole file's CRC-32 can be checked against crc32= at the end. */
typedef struct ycrc_sink {
	yfile *f;
	cli_outdir_write_fn write;
	void *sink;
} ycrc_sink;

static int ycrc_write(const void *buf, size_t len, void *ctx)
{
	ycrc_sink *c = ctx;
	const Bytef *b = buf;
	size_t left = len;

	while (left) {
		uInt n = left > 0x40000000u ? 0x40000000u : (uInt)left;

		c->f->crc = crc32(c->f->crc, b, n);
		b += n;
		left -= n;
	}
	return c->write(buf, len, c->sink);
}

static int yenc_produce(void *ctx, cli_outdir_write_fn write, void *sink)
{
	yfile *f = ctx;
	ycrc_sink cs = { f, write, sink };
	size_t i;

	f->crc = crc32(0L, Z_NULL, 0);
	for (i = 0; i < f->n; i++) {
		mimeo_message *m = NULL;
		const mimeo_part *p;
		int r;

		if (f->skip[i])
			continue;
		if (mimeo_mailbox_parse(&m, f->mb, f->v[i].msg, NULL) != MIMEO_OK) {
			cli_error("%s", mimeo_mailbox_error(f->mb));
			return -1;
		}
		p = mimeo_message_expand(m, NULL) == MIMEO_OK
			    ? mimeo_message_find_section(m, f->v[i].section) : NULL;
		if (!p || mimeo_part_derived(p) != MIMEO_EXPAND_YENC ||
		    mimeo_part_size(p) != f->v[i].size) {
			cli_error("message %zu section %s changed while extracting", f->v[i].msg,
				  f->v[i].section);
			mimeo_message_free(m);
			return -1;
		}
		r = cli_produce_body((void *)p, ycrc_write, &cs);
		mimeo_message_free(m);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* After file f was written: the =yend crc32= of its last part that gives
 * one (yEnc 1.3: the whole file's CRC-32, in the last part at least)
 * against the bytes written.  A mismatch is a warning, the file stays. */
static void yenc_check_crc(const yfile *f)
{
	const ypiece *want = NULL;
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (f->skip[i])
			continue;
		if (f->v[i].have & MIMEO_YENC_HAVE_CRC32)
			want = &f->v[i];
		if (f->v[i].errors & MIMEO_YENC_BAD_CRC) {
			fputs("mimeo: warning: extract: yEnc file \"", stderr);
			cli_print_safe(stderr, f->v[0].name, strlen(f->v[0].name));
			fprintf(stderr, "\": part %u (message %zu section %s): CRC-32 is not its "
				"pcrc32=; written as it is\n", f->v[i].part, f->v[i].msg,
				f->v[i].section);
		}
	}
	if (!want || want->file_crc == (uint32_t)f->crc)
		return;
	/* the name is raw bytes from the message */
	fputs("mimeo: warning: extract: yEnc file \"", stderr);
	cli_print_safe(stderr, f->v[0].name, strlen(f->v[0].name));
	fprintf(stderr, "\": CRC-32 of the file put together is %08" PRIx32 ", crc32= of part %u"
		" says %08" PRIx32 "; written as it is\n", (uint32_t)f->crc, want->part,
		want->file_crc);
}

/* Write every complete file into DIR; report the others.  CLI_OK, or
 * CLI_FAILURE when a part is missing or a file could not be saved. */
static int yenc_assemble(ylist *l, mimeo_mailbox *mb, const char *dir)
{
	cli_outdir *out = NULL;
	unsigned char *skip;
	size_t a, b, i;
	int rc = CLI_OK;

	if (!l->n)
		return CLI_OK;
	qsort(l->v, l->n, sizeof(*l->v), ypiece_cmp);
	skip = calloc(l->n, 1);
	if (!skip) {
		cli_error("out of memory");
		return CLI_FAILURE;
	}
	for (a = 0; a < l->n; a = b) {
		uint64_t next = 1;
		char gap[160] = "";
		int broken = 0;

		for (b = a; b < l->n && strcmp(l->v[b].name, l->v[a].name) == 0 &&
			    l->v[b].file_size == l->v[a].file_size;
		     b++)
			;
		for (i = a; i < b; i++) {
			const ypiece *y = &l->v[i];

			if (y->end < next) {
				skip[i] = 1; /* the same range again (a repost) */
			} else if (y->begin < next) {
				broken = 1;
				snprintf(gap, sizeof(gap), "part %u overlaps the part before it",
					 y->part);
				break;
			} else if (y->begin > next) {
				broken = 1;
				snprintf(gap, sizeof(gap), "bytes %" PRIu64 "-%" PRIu64 " missing",
					 next, y->begin - 1);
				break;
			} else {
				next = y->end + 1;
			}
		}
		if (!broken && next <= l->v[a].file_size) {
			broken = 1;
			snprintf(gap, sizeof(gap), "bytes %" PRIu64 "-%" PRIu64 " missing", next,
				 l->v[a].file_size);
		}
		if (broken) {
			/* the name is raw bytes from the message */
			fputs("mimeo: extract: yEnc file \"", stderr);
			cli_print_safe(stderr, l->v[a].name, strlen(l->v[a].name));
			fprintf(stderr, "\" (%" PRIu64 " bytes, %zu part%s found): %s; not written\n",
				l->v[a].file_size, b - a, b - a == 1 ? "" : "s", gap);
			rc = CLI_FAILURE;
			continue;
		}
		if (!out && !(out = cli_outdir_open(dir, "extract"))) {
			rc = CLI_FAILURE;
			break;
		}
		{
			yfile f = { mb, &l->v[a], b - a, skip + a, 0 };
			char label[320];

			snprintf(label, sizeof(label), "yEnc file in %zu parts", b - a);
			if (cli_outdir_save(out, l->v[a].name, label, yenc_produce, &f) == 0)
				yenc_check_crc(&f);
		}
	}
	if (out && cli_outdir_close(out) != CLI_OK)
		rc = CLI_FAILURE;
	free(skip);
	return rc;
}

static void ylist_free(ylist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].section);
	}
	free(l->v);
}

/* Pieces found by a forked worker go to worker 1 through its side file:
 * each as the struct (its pointers meaningless there) and then its two
 * strings, each after its length. */
static int ylist_write(const ylist *l, FILE *f)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const ypiece *y = &l->v[i];
		size_t nl = strlen(y->name), sl = strlen(y->section);

		if (fwrite(y, sizeof(*y), 1, f) != 1 || fwrite(&nl, sizeof(nl), 1, f) != 1 ||
		    fwrite(y->name, 1, nl, f) != nl || fwrite(&sl, sizeof(sl), 1, f) != 1 ||
		    fwrite(y->section, 1, sl, f) != sl)
			return -1;
	}
	return 0;
}

/* One string of a side file, NUL-terminated; NULL at a short read. */
static char *read_string(FILE *f)
{
	size_t len;
	char *s;

	if (fread(&len, sizeof(len), 1, f) != 1 || len > ((size_t)1 << 30) ||
	    !(s = malloc(len + 1)))
		return NULL;
	if (fread(s, 1, len, f) != len) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	return s;
}

/* Add the pieces of a side file to `l`: 0, or -1 (out of memory, or the
 * file is short). */
static int ylist_read(ylist *l, FILE *f)
{
	ypiece y;

	while (fread(&y, sizeof(y), 1, f) == 1) {
		if (cli_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 16) < 0)
			return -1;
		y.name = read_string(f);
		y.section = y.name ? read_string(f) : NULL;
		if (!y.section) {
			free(y.name);
			return -1;
		}
		l->v[l->n++] = y;
	}
	return ferror(f) ? -1 : 0;
}

/* --- one message ---------------------------------------------------- */

/* What extract --all works with; each worker has its own copy. */
typedef struct xall {
	cli_box bx;
	const char *path;
	const char *dir;
	size_t dirlen;             /* of dir, trailing slashes left out */
	char *sub;                 /* DIR/<N>, room for dirlen + 24 */
	int expand;                /* open TNEF, uuencode and yEnc */
	int ranged;                /* by range: bx holds this worker's part */
	size_t base;               /* by range: messages before bx's first */
	uint64_t size;             /* by range: the file's bytes */
	ylist yparts;              /* parts of multi-part yEnc posts found */
} xall;

/* How one message went. */
enum { XM_OK, XM_UNREADABLE, XM_FAILED, XM_STOP };

/* Save the attachments of message i (parsed as m) into DIR/<i>/:
 * XM_OK, XM_FAILED (some not saved: said, go on), or XM_STOP (DIR/<i>
 * cannot be created, out of memory: said). */
static int save_attachments(xall *x, const mimeo_message *m, size_t i)
{
	const mimeo_part *p;
	cli_outdir *out = NULL;
	int rc = XM_OK, y;

	for (p = mimeo_message_root(m); p && rc != XM_STOP; p = mimeo_part_next(p)) {
		char label[640];

		if (!cli_is_attachment(p))
			continue;
		y = yenc_note(&x->yparts, p, i);
		if (y < 0) {
			cli_error("out of memory");
			rc = XM_STOP;
			break;
		}
		if (y)
			continue; /* put together at the end */
		if (!out) {
			/* DIR/<N>/, created for messages that have any */
			snprintf(x->sub, x->dirlen + 24, "%.*s/%zu", (int)x->dirlen, x->dir, i);
			out = cli_outdir_open(x->sub, "extract");
			if (!out) {
				rc = XM_STOP;
				break;
			}
		}
		snprintf(label, sizeof(label), "message %zu section %s", i, mimeo_part_section(p));
		if (cli_outdir_save(out, mimeo_part_filename(p), label, cli_produce_body,
				    (void *)p) == 0)
			cli_warn_yenc("extract", p);
	}
	if (out && cli_outdir_close(out) != CLI_OK && rc == XM_OK)
		rc = XM_FAILED;
	return rc;
}

/* Why message i could not be parsed: the mailbox's words, but with the
 * message's number in the whole file where a range mailbox would give
 * its number in the range (the same words as the library's otherwise). */
static void say_unparsed(const xall *x, size_t i, int rc)
{
	if (x->ranged && rc != MIMEO_EIO)
		cli_error("cannot parse message %zu: %s", i, mimeo_strerror(rc));
	else
		cli_error("%s", mimeo_mailbox_error(x->bx.mb));
}

/* Parse message i and save its attachments: an XM_ value. */
static int extract_message(xall *x, size_t i)
{
	mimeo_message_options borrow = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_message *m = NULL;
	int r;

	/* in place from the mapping (MIMEO_MESSAGE_BORROW): reading each
	 * message with pread, as mimeo_mailbox_parse does by default, cost
	 * 40% more CPU here (the parse and the decode each copy it);
	 * mimeo_mailbox_parse still looks at the file's size before each
	 * message, so a mailbox cut meanwhile is reported, not read past its
	 * end */
	borrow.flags = MIMEO_MESSAGE_BORROW;
	r = mimeo_mailbox_parse(&m, x->bx.mb, i - x->base, &borrow);
	if (r != MIMEO_OK) {
		say_unparsed(x, i, r);
		return r == MIMEO_ENOMEM ? XM_STOP : XM_UNREADABLE;
	}
	if (x->expand && mimeo_message_expand(m, NULL) != MIMEO_OK) {
		cli_error("%s: message %zu: cannot read its TNEF, uuencoded or yEnc parts", x->path,
			  i);
		mimeo_message_free(m);
		return XM_UNREADABLE;
	}
	r = save_attachments(x, m, i);
	mimeo_message_free(m);
	return r;
}

/* --- the workers (team.h) ---------------------------------------------- */

static uint64_t xall_size(void *ctx, size_t i)
{
	xall *x = ctx;
	mimeo_mailbox_entry e;

	return mimeo_mailbox_entry_get(x->bx.mb, i - x->base, &e) == MIMEO_OK ? e.size : 0;
}

/* Messages first..last; stops at the first XM_STOP, as one worker would
 * stop the whole run there. */
static int xall_work(void *ctx, cli_team_worker *w, size_t first, size_t last)
{
	xall *x = ctx;
	FILE *side = cli_team_side(w);
	int rc = CLI_OK, r = XM_OK;
	size_t i;

	x->base = x->ranged ? first - 1 : 0;
	for (i = first; i <= last && r != XM_STOP; i++) {
		r = extract_message(x, i);
		if (r == XM_FAILED || r == XM_STOP)
			rc = CLI_FAILURE;
		cli_team_done(w, xall_size(x, i), r == XM_UNREADABLE);
	}
	if (side && ylist_write(&x->yparts, side) < 0) {
		cli_error("extract: cannot keep the yEnc parts found in a temporary file: %s",
			  strerror(errno));
		rc = CLI_FAILURE;
	}
	return rc;
}

static int xall_gather(void *ctx, FILE *side)
{
	xall *x = ctx;

	if (ylist_read(&x->yparts, side) < 0) {
		cli_error("extract: cannot read back the yEnc parts a worker found");
		return CLI_FAILURE;
	}
	return CLI_OK;
}

/* By range: this worker's part of the file. */
static long xall_open_range(void *ctx, uint64_t offset, uint64_t length)
{
	xall *x = ctx;

	if (cli_box_open_range(&x->bx, x->path, offset, length) < 0)
		return -1;
	return (long)mimeo_mailbox_count(x->bx.mb);
}

static const cli_team_ops by_message = { xall_size, NULL, xall_work, xall_gather };
static const cli_team_ops by_range = { xall_size, xall_open_range, xall_work, xall_gather };

/* Below this many bytes per worker, fork and the output's temporary files
 * cost more than a second core gains. */
#define XALL_SPLIT_MIN ((uint64_t)2 << 20)

/* MIMEO_EXTRACT_SPLIT_MIN (bytes) lowers it, so that tests can split
 * small mailboxes. */
static uint64_t split_min(void)
{
	const char *e = getenv("MIMEO_EXTRACT_SPLIT_MIN");
	size_t v;

	return e && cli_parse_count(e, &v) == 0 ? (uint64_t)v : XALL_SPLIT_MIN;
}

/*
 * By range (each worker indexes its own part, at the same time: the index
 * of the heavy 100 MB mailbox took 13 ms before any worker could start,
 * a quarter of a -j 2 run) for a plain mbox file large enough to split;
 * everything else (Maildir, gzip, standard input, one message, a small
 * file) by message from one index.  The file is opened here once, so one
 * that cannot be read is said once, by the usual open.
 */
static int split_by_range(xall *x, size_t workers)
{
	unsigned char head[1024];
	struct stat st;
	ssize_t got;
	int fd;

	if (workers < 2 || strcmp(x->path, "-") == 0 || stat(x->path, &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size < 2 * split_min())
		return 0;
	fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	got = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (got < 5 || (head[0] == 0x1f && head[1] == 0x8b) ||
	    !mimeo_mailbox_is_mbox(head, (size_t)got))
		return 0;
	x->size = (uint64_t)st.st_size;
	return 1;
}

/* Open the mailbox (by message) and DIR: 0, or -1 after saying why. */
static int xall_open(xall *x, const char *path, const char *dir, int expand, size_t workers)
{
	memset(x, 0, sizeof(*x));
	x->path = path;
	x->dir = dir;
	x->expand = expand;
	x->ranged = split_by_range(x, workers);
	if (!x->ranged && cli_box_open(&x->bx, path) < 0)
		return -1;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	x->dirlen = strlen(dir);
	while (x->dirlen > 1 && dir[x->dirlen - 1] == '/')
		x->dirlen--;
	x->sub = malloc(x->dirlen + 24);
	if (!x->sub) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

static void xall_close(xall *x)
{
	ylist_free(&x->yparts);
	free(x->sub);
	cli_box_close(&x->bx);
}

/* The yEnc files put together from the parts found: by range, worker 1
 * holds only its part, so the whole mailbox is indexed for them (only
 * when there are any). */
static int xall_assemble(xall *x)
{
	if (!x->yparts.n)
		return CLI_OK;
	if (x->ranged) {
		cli_box_close(&x->bx);
		x->ranged = 0;
		x->base = 0;
		if (cli_box_open(&x->bx, x->path) < 0)
			return CLI_FAILURE;
	}
	return yenc_assemble(&x->yparts, x->bx.mb, x->dir);
}

int cli_extract_all(const char *path, const char *dir, int progress_mode, int expand,
		    size_t workers)
{
	cli_team_result res;
	cli_progress prog;
	xall x;
	int rc;

	if (xall_open(&x, path, dir, expand, workers) < 0) {
		xall_close(&x);
		return CLI_FAILURE;
	}
	cli_progress_start(&prog, "extract", progress_mode,
			   x.ranged ? x.size : mimeo_mailbox_size(x.bx.mb));
	cli_team_run(x.ranged ? &by_range : &by_message, &x,
		     x.ranged ? 0 : mimeo_mailbox_count(x.bx.mb), x.size, workers, split_min(),
		     &prog, "extract", &res);
	cli_progress_end(&prog);
	rc = res.status;
	if (rc == CLI_OK && xall_assemble(&x) != CLI_OK)
		rc = CLI_FAILURE;
	if (res.unreadable) {
		cli_error("extract: %zu message%s could not be read", res.unreadable,
			  res.unreadable == 1 ? "" : "s");
		rc = CLI_FAILURE;
	}
	xall_close(&x);
	return rc;
}
