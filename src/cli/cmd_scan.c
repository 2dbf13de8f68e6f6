/*
 * cmd_scan.c - `mimeo scan [--mbox] [--structure] FILE...`: parse every
 * message, decode every leaf, convert text to UTF-8, decode
 * Subject/From/To, and count; with --structure only count messages and
 * parts (the parser's MIMEO_PARSE_NO_DECODE mode: no decoding at all).
 *
 * It drives the push parser directly (no tree), so memory stays flat
 * whatever the size of the mailbox: one read buffer, the parser's bounded
 * buffers, and one scratch buffer for converted text that is emptied after
 * every body chunk.
 *
 * -j N (default: the number of cores) runs N threads, each with its own
 * `scan` state and parser, over a list of jobs: the files of a Maildir,
 * the inputs given, and N ranges of each large mbox, cut at From_ lines
 * by the mailbox reader's rule (mimeo_mailbox_next_from), which is the
 * parser's own: every range holds whole messages and parses exactly as
 * in the whole file, so the counts are the same for every N.  The cuts
 * are searched by the threads themselves, each once, not before they
 * start (see scan_cuts).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_READ (1u << 20)   /* read size: large enough to amortise read() */
#define SCAN_RANGE_READ ((size_t)128 << 10) /* pread size of an -j range: fits L2 */
#define SCAN_CONVS 16          /* converters kept, one per charset label */

typedef struct scan_conv {
	char label[48];
	mimeo_charset_conv *cv;
} scan_conv;

typedef struct scan {
	uint64_t messages, parts, bytes, utf8;
	mimeo_charset_cache *cc;
	mimeo_charset_conv *cur;   /* converter of the current text leaf */
	scan_conv convs[SCAN_CONVS];
	size_t nconvs, next_evict;
	mimeo_buf out;             /* converted text, emptied after each use */
	int err;                   /* MIMEO_ENOMEM from a callback */
	int structure;             /* --structure: count only, decode nothing */
	/* progress: input bytes so far; published for the thread that
	 * draws the progress line (-j), drawn directly with -j 1 */
	uint64_t total_in;
	cli_progress *prog;
	atomic_uint_fast64_t pub_in, pub_messages;
} scan;

/* A converter for `label`, reused across leaves: making one per leaf is
 * what costs GMime ~40% of its time on light mail (iconv_open churn). */
static mimeo_charset_conv *get_conv(scan *s, const char *label)
{
	const char *key = label ? label : "";
	size_t i, klen = strlen(key);
	scan_conv *slot;

	for (i = 0; i < s->nconvs; i++) {
		if (strcmp(s->convs[i].label, key) == 0)
			return s->convs[i].cv;
	}
	if (klen >= sizeof(s->convs[0].label)) {
		/* A label that long is no charset we know: convert as
		 * undeclared, through the shared "" slot. */
		return get_conv(s, NULL);
	}
	if (s->nconvs < SCAN_CONVS) {
		slot = &s->convs[s->nconvs++];
	} else {
		slot = &s->convs[s->next_evict];
		s->next_evict = (s->next_evict + 1) % SCAN_CONVS;
		mimeo_charset_conv_free(slot->cv);
		slot->cv = NULL;
		slot->label[0] = '\0';
	}
	if (mimeo_charset_conv_new(&slot->cv, s->cc, label, label ? klen : 0) != MIMEO_OK) {
		slot->cv = NULL;
		slot->label[0] = '\0';
		return NULL;
	}
	memcpy(slot->label, key, klen + 1);
	return slot->cv;
}

static int on_message_begin(const mimeo_part_info *msg, uint64_t offset, void *user)
{
	scan *s = user;

	(void)msg;
	(void)offset;
	s->messages++;
	return 0;
}

static int ieq(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);

	return alen == n && strncasecmp(a, lit, n) == 0;
}

static int on_header(const mimeo_part_info *part, const char *name, size_t name_len,
		     const char *value, size_t value_len, void *user)
{
	scan *s = user;

	/* Only the top-level message's own fields (depth 0), like GMime's
	 * g_mime_message_get_subject/from/to. */
	if (part->depth != 0)
		return 0;
	if (ieq(name, name_len, "subject")) {
		mimeo_buf_clear(&s->out);
		if (mimeo_header_decode_text(s->cc, NULL, value, value_len, &s->out, NULL))
			goto nomem;
		s->utf8 += s->out.size;
	} else if (ieq(name, name_len, "from") || ieq(name, name_len, "to")) {
		mimeo_address_list *l = NULL;
		size_t i;

		if (mimeo_address_list_parse(&l, s->cc, NULL, value, value_len))
			goto nomem;
		for (i = 0; i < l->count; i++) {
			const mimeo_address *a = &l->items[i];

			s->utf8 += (a->display_name ? strlen(a->display_name) : 0) +
				   (a->local_part ? strlen(a->local_part) : 0) +
				   (a->domain ? strlen(a->domain) : 0);
		}
		mimeo_address_list_free(l);
	}
	return 0;
nomem:
	s->err = MIMEO_ENOMEM;
	return MIMEO_EUSER;
}

static int on_headers_end(const mimeo_part_info *part, void *user)
{
	scan *s = user;

	s->cur = NULL;
	if ((part->flags & MIMEO_PART_LEAF) && part->type && strcmp(part->type, "text") == 0) {
		s->cur = get_conv(s, part->charset);
		if (!s->cur) {
			s->err = MIMEO_ENOMEM;
			return MIMEO_EUSER;
		}
	}
	return 0;
}

static int on_body(const mimeo_part_info *part, const char *data, size_t len, void *user)
{
	scan *s = user;

	(void)part;
	if (!s->cur)
		return 0;
	if (mimeo_charset_conv_step(s->cur, data, len, &s->out) != MIMEO_OK) {
		s->err = MIMEO_ENOMEM;
		return MIMEO_EUSER;
	}
	s->utf8 += s->out.size;
	mimeo_buf_clear(&s->out);
	return 0;
}

static int on_part_end(const mimeo_part_info *part, void *user)
{
	scan *s = user;

	if (!(part->flags & MIMEO_PART_LEAF))
		return 0;
	s->parts++;
	s->bytes += part->decoded_size;
	if (s->cur) {
		if (mimeo_charset_conv_finish(s->cur, &s->out) != MIMEO_OK) {
			s->err = MIMEO_ENOMEM;
			return MIMEO_EUSER;
		}
		s->utf8 += s->out.size;
		mimeo_buf_clear(&s->out);
		s->cur = NULL;
	}
	return 0;
}

/* After each window: publish the figures, and draw them with -j 1. */
static void show_progress(scan *s, int final)
{
	(void)final;
	atomic_store_explicit(&s->pub_in, s->total_in, memory_order_relaxed);
	atomic_store_explicit(&s->pub_messages, s->messages, memory_order_relaxed);
	if (s->prog)
		cli_progress_update(s->prog, s->total_in, s->messages);
}

static const mimeo_parser_callbacks scan_cbs = {
	MIMEO_PARSER_CALLBACKS_VERSION,
	on_message_begin, NULL, on_header, on_headers_end, on_body,
	NULL, NULL, on_part_end, NULL, NULL,
};

/* --structure: no header, charset or body work at all; part_end still
 * counts leaves and their (raw) sizes. */
static const mimeo_parser_callbacks structure_cbs = {
	MIMEO_PARSER_CALLBACKS_VERSION,
	on_message_begin, NULL, NULL, NULL, NULL,
	NULL, NULL, on_part_end, NULL, NULL,
};

/* The parser for one file: `first`/`n` are its first bytes, for the mbox
 * test (--mbox, or a first line "From "). */
static int new_parser(scan *s, int mbox, const void *first, size_t n, mimeo_parser **pp)
{
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;

	if (mimeo_mailbox_is_mbox(first, n))
		mbox = 1;
	po.flags = (mbox ? MIMEO_PARSE_MBOX : 0) | (s->structure ? MIMEO_PARSE_NO_DECODE : 0);
	return mimeo_parser_new(pp, &po, s->structure ? &structure_cbs : &scan_cbs, s);
}

/*
 * A regular file is mapped one window at a time instead of read(): no copy
 * from the page cache (read() costs a quarter of the time on large
 * attachments), and only one window is mapped at any moment, so resident
 * memory stays flat however large the mailbox is.
 */
static int scan_mapped(scan *s, cli_input *in, uint64_t start, uint64_t size, int mbox,
		       mimeo_parser **pp)
{
	uint64_t off = start;
	/* a range (-j) may start anywhere: map from the page before it */
	size_t page = (size_t)sysconf(_SC_PAGESIZE), lead;
	int rc;

	for (; off < size; off += SCAN_READ) {
		size_t n = size - off < SCAN_READ ? (size_t)(size - off) : SCAN_READ;
		struct stat st;
		void *map;

		/* A mailbox rewritten in place (expunge) may shrink while we
		 * read it: touching a mapped page past its new end would raise
		 * SIGBUS, so look again before each window and stop there. */
		if (fstat(in->fd, &st) == 0 && (uint64_t)st.st_size < off + n) {
			if ((uint64_t)st.st_size <= off)
				break;
			n = (size_t)((uint64_t)st.st_size - off);
		}
		lead = (size_t)(off % page);
		/* No MAP_POPULATE: it maps the window page by page (one page
		 * table walk and reference each), where the faults of the
		 * first pass map 16 pages at a time (fault-around): 5-8% less
		 * CPU on the heavy mailbox, 1-7% on the light one (issue 16,
		 * docs/performance.md). */
		map = mmap(NULL, n + lead, PROT_READ, MAP_PRIVATE, in->fd, (off_t)(off - lead));

		if (map == MAP_FAILED) {
			cli_error("cannot read %s: %s", in->name, strerror(errno));
			return MIMEO_EIO;
		}
		if (!*pp) {
			rc = new_parser(s, mbox, (char *)map + lead, n, pp);
			if (rc != MIMEO_OK) {
				munmap(map, n + lead);
				return rc;
			}
		}
		s->total_in += n;
		rc = mimeo_parser_feed(*pp, (char *)map + lead, n);
		munmap(map, n + lead);
		if (rc != MIMEO_OK)
			return rc;
		show_progress(s, 0);
	}
	if (!*pp) {
		/* the file was emptied before its first window */
		rc = new_parser(s, mbox, "", 0, pp);
		if (rc != MIMEO_OK)
			return rc;
	}
	return mimeo_parser_finish(*pp);
}

/* ------------------------------------------------------------------ */
/* ranges of an mbox (-j)                                              */
/* ------------------------------------------------------------------ */

/*
 * An mbox cut into n ranges for -j.  Range k runs from cut k to cut k + 1,
 * where cut k (0 < k < n) is the first From_ line at or after the nominal
 * offset size / n * k (mimeo_mailbox_next_from, the parser's rule), cut 0
 * is 0 and cut n the size.  Finding a cut can mean reading far: in a
 * mailbox of large attachments the nominal offset falls into an 8 MB
 * message, and the next From_ line is megabytes on.  Searching every cut
 * before the threads started made that reading serial (a third of the
 * heavy 100 MB mailbox, a quarter of the time of a -j 2 scan), so the
 * threads search them: the thread of range k looks for its start, the one
 * of range k - 1 needs the same cut as its end only when it gets there,
 * by which time it is usually known.  Each cut is searched once; a
 * thread that needs a cut another is searching waits for it.
 */
enum { CUT_UNKNOWN, CUT_SEARCHING, CUT_KNOWN };

typedef struct scan_cut {
	uint64_t at;             /* the offset, once CUT_KNOWN */
	int state;
} scan_cut;

typedef struct scan_cuts {
	uint64_t size;           /* the file's size when it was planned */
	unsigned n;              /* ranges */
	pthread_mutex_t lock;    /* guards cut[].state and .at */
	pthread_cond_t known;    /* a cut became CUT_KNOWN */
	scan_cut cut[];          /* n + 1: cut 0 is 0, cut n the size */
} scan_cuts;

static scan_cuts *cuts_new(uint64_t size, unsigned n)
{
	scan_cuts *c = calloc(1, sizeof(*c) + ((size_t)n + 1) * sizeof(c->cut[0]));

	if (!c)
		return NULL;
	c->size = size;
	c->n = n;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->known, NULL);
	c->cut[0].state = CUT_KNOWN;
	c->cut[n].at = size;
	c->cut[n].state = CUT_KNOWN;
	return c;
}

static void cuts_free(scan_cuts *c)
{
	if (!c)
		return;
	pthread_cond_destroy(&c->known);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The nominal offset of cut k: where its search starts. */
static uint64_t cut_nominal(const scan_cuts *c, unsigned k)
{
	return k >= c->n ? c->size : c->size / c->n * k;
}

/*
 * The first From_ line at or after `from` in the mbox mapped at m (the
 * whole file, c->size bytes), or the size.  The search goes one megabyte
 * at a time and drops the pages it has passed: a search through a 16 MB
 * message would otherwise keep all of it mapped and raise the peak RSS by
 * as much.  A line found in a shortened view is taken only when the whole
 * view agrees (the test looks at the lines around it).  Before each step
 * the file's size is looked at again: a mailbox rewritten in place may
 * shrink, and touching a mapped page past its new end would raise SIGBUS.
 */
#define FOLIO_MAX ((uint64_t)2 << 20) /* PMD size: the largest page-cache folio mapped */

static uint64_t search_cut(const char *m, uint64_t size, int fd, uint64_t from, uint64_t page)
{
	const uint64_t step = (uint64_t)1 << 20, overlap = (uint64_t)64 << 10;

	for (;;) {
		struct stat st;
		uint64_t lim, r, a, b;
		int found;

		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < size)
			size = (uint64_t)st.st_size; /* shrank: search what is left */
		if (from >= size)
			return size;
		lim = size - from > step ? from + step : size;
		/* populate the step at once: one call instead of a fault per
		 * few pages */
		a = from / page * page;
		madvise((char *)m + a, (size_t)(lim - a), MADV_POPULATE_READ);
		r = mimeo_mailbox_next_from(m, (size_t)lim, (size_t)from);
		found = r < lim && (lim == size ||
				    mimeo_mailbox_next_from(m, (size_t)size, (size_t)r) == r);
		/* drop what was passed, from the large-folio boundary below: a
		 * fault may map the whole page-cache folio around the page it
		 * touches, pages before `from` included */
		a = from / FOLIO_MAX * FOLIO_MAX;
		b = found || lim == size ? lim : lim - overlap;
		b = (b + page - 1) / page * page;
		if (b > size)
			b = size;
		if (b > a)
			madvise((char *)m + a, (size_t)(b - a), MADV_DONTNEED);
		if (found || lim == size)
			return r;
		from = r < lim ? r + 1 : lim - overlap;
	}
}

/* Publish cut k (found by a search, or known otherwise). */
static void cut_publish(scan_cuts *c, unsigned k, uint64_t at)
{
	pthread_mutex_lock(&c->lock);
	if (c->cut[k].state != CUT_KNOWN) {
		c->cut[k].at = at;
		c->cut[k].state = CUT_KNOWN;
		pthread_cond_broadcast(&c->known);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Cut k: known, searched by another thread (wait for it), or searched
 * here in the caller's mapping m of the whole file. */
static uint64_t cut_get(scan_cuts *c, unsigned k, const char *m, int fd, uint64_t page)
{
	uint64_t at;

	pthread_mutex_lock(&c->lock);
	while (c->cut[k].state == CUT_SEARCHING)
		pthread_cond_wait(&c->known, &c->lock);
	if (c->cut[k].state == CUT_KNOWN) {
		at = c->cut[k].at;
		pthread_mutex_unlock(&c->lock);
		return at;
	}
	c->cut[k].state = CUT_SEARCHING;
	pthread_mutex_unlock(&c->lock);
	at = search_cut(m, c->size, fd, cut_nominal(c, k), page);
	cut_publish(c, k, at);
	return at;
}

/*
 * Scan range k of the mbox open as in->fd.  The thread maps the whole
 * file (address space only: nothing is read until touched), feeds the
 * parser one megabyte at a time, populating each step with one call, and
 * drops each step's pages once they are parsed, so resident memory stays
 * at a step or two per thread.  Threads do not map and unmap windows as
 * -j 1 does: mmap and munmap take the process's mapping lock for writing,
 * which stalls the other thread's page population, and every unmap flushes
 * the other thread's TLB; nor do they pread into a buffer, whose copy
 * cost a third more CPU on base64-heavy mail.
 */
static int scan_cut_range(scan *s, cli_input *in, scan_cuts *c, unsigned k, mimeo_parser **pp)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start, end, free_to, off, done;
	const char *m;
	int rc = MIMEO_OK, end_known = 0, empty = 0;

	if (c->size > SIZE_MAX)
		return MIMEO_EINVAL;
	m = mmap(NULL, (size_t)c->size, PROT_READ, MAP_PRIVATE, in->fd, 0);
	if (m == MAP_FAILED) {
		cli_error("cannot read %s: %s", in->name, strerror(errno));
		return MIMEO_EIO;
	}
	start = cut_get(c, k, m, in->fd, page);
	/* No From_ line between this range's nominal start and end: the next
	 * cut is this one (the rule looks only at the lines around a
	 * candidate, so the first From_ line at or after a later offset up to
	 * this one is this one), and the range is empty. */
	if (start >= cut_nominal(c, k + 1))
		cut_publish(c, k + 1, start);
	/* Bytes before the next nominal offset, less a CRLF separator, are
	 * this range's whatever the next cut is: parse them before asking. */
	free_to = cut_nominal(c, k + 1);
	free_to = free_to > start + 2 ? free_to - 2 : start;
	end = free_to;
	done = start / page * page;
	for (off = start;;) {
		struct stat st;
		size_t n;
		uint64_t a;

		if (off >= end && !end_known) {
			uint64_t next = cut_get(c, k + 1, m, in->fd, page);

			end_known = 1;
			if (next <= start) {
				empty = 1; /* no parser: nothing counted */
				break;
			}
			end = next;
			if (next < c->size) {
				end = next - mimeo_mailbox_separator(m, (size_t)next);
				if (end == start)
					end = next; /* an empty first message keeps its
						     * empty line (mimeo/mailbox.h) */
			}
		}
		if (off >= end)
			break;
		n = end - off < SCAN_READ ? (size_t)(end - off) : SCAN_READ;
		/* see scan_mapped: stop where a shrunk file now ends */
		if (fstat(in->fd, &st) == 0 && (uint64_t)st.st_size < off + n) {
			if ((uint64_t)st.st_size <= off)
				break;
			n = (size_t)((uint64_t)st.st_size - off);
		}
		a = off / page * page;
		madvise((char *)m + a, (size_t)(off + n - a), MADV_POPULATE_READ);
		if (!*pp) {
			rc = new_parser(s, 1, m + off, n, pp);
			if (rc != MIMEO_OK)
				goto out;
		}
		s->total_in += n;
		rc = mimeo_parser_feed(*pp, m + off, n);
		if (rc != MIMEO_OK)
			goto out;
		off += n;
		a = off / page * page;
		if (a > done) {
			madvise((char *)m + done, (size_t)(a - done), MADV_DONTNEED);
			done = a;
		}
		show_progress(s, 0);
	}
	if (!*pp && !empty) {
		/* the file shrank before the range's first byte */
		rc = new_parser(s, 1, "", 0, pp);
		if (rc != MIMEO_OK)
			goto out;
	}
	if (*pp)
		rc = mimeo_parser_finish(*pp);
out:
	munmap((void *)m, (size_t)c->size);
	return rc;
}

/* Scan a file, or range k of the mbox `path` cut by `cuts` (-j). */
static int scan_file(scan *s, const char *path, int mbox, char *buf, scan_cuts *cuts,
		     unsigned k)
{
	mimeo_parser *p = NULL;
	cli_input in;
	struct stat st;
	ssize_t got;
	int rc, first = 1;

	if (cli_input_open(&in, path) < 0)
		return -1;
	if (cuts) {
		/* a range is whole messages of an mbox, whatever its first
		 * line looks like ("From :x 10:00" is a From_ line too) */
		rc = in.gz ? MIMEO_EINVAL : scan_cut_range(s, &in, cuts, k, &p);
		goto done;
	}
	/* (stdin is read, not mapped: it may not start at offset 0) */
	if (!in.gz && strcmp(path, "-") != 0 && fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0) {
		rc = scan_mapped(s, &in, 0, (uint64_t)st.st_size, mbox, &p);
		goto done;
	}
	for (;;) {
		got = cli_input_read(&in, buf, SCAN_READ);
		if (got < 0) {
			rc = MIMEO_EIO;
			break;
		}
		if (first) {
			rc = new_parser(s, mbox, buf, (size_t)got, &p);
			if (rc != MIMEO_OK)
				break;
			first = 0;
		}
		if (got == 0) {
			rc = mimeo_parser_finish(p);
			break;
		}
		s->total_in += (uint64_t)got;
		rc = mimeo_parser_feed(p, buf, (size_t)got);
		if (rc != MIMEO_OK)
			break;
		show_progress(s, 0);
	}
done:
	cli_input_close(&in);
	if (rc == MIMEO_EIO) {
		mimeo_parser_free(p);
		return -1; /* cli_input_read printed why */
	}
	if (rc != MIMEO_OK) {
		const char *reason = NULL;

		if (s->err)
			rc = s->err;
		else if (p)
			mimeo_parser_error(p, &reason, NULL);
		cli_error("cannot scan %s: %s", path, reason ? reason : mimeo_strerror(rc));
		mimeo_parser_free(p);
		return -1;
	}
	if (p)
		cli_warn_limits(path, mimeo_parser_limits_hit(p));
	mimeo_parser_free(p);
	return 0;
}

/* ------------------------------------------------------------------ */
/* jobs and threads (-j)                                               */
/* ------------------------------------------------------------------ */

/* One unit of work: a whole input, or range k of an mbox cut by `cuts`. */
typedef struct scan_job {
	const char *path;
	scan_cuts *cuts;         /* NULL: the whole input */
	unsigned k;
	int member;              /* a Maildir's file, not a command-line input */
} scan_job;

typedef struct scan_jobs {
	scan_job *v;
	size_t n, cap;
	char **owned;            /* Maildir file paths (freed at the end) */
	size_t nowned, capowned;
	scan_cuts **cuts;        /* of each mbox cut in ranges (freed at the end) */
	size_t ncuts, capcuts;
	uint64_t total;          /* bytes, for the progress line */
	size_t skipped;          /* Maildir entries that are no files */
} scan_jobs;

static int add_job(scan_jobs *j, const char *path, scan_cuts *cuts, unsigned k)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 16;
		scan_job *v = realloc(j->v, cap * sizeof(*v));

		if (!v)
			return -1;
		j->v = v;
		j->cap = cap;
	}
	j->v[j->n].path = path;
	j->v[j->n].cuts = cuts;
	j->v[j->n].k = k;
	j->v[j->n].member = 0;
	j->n++;
	return 0;
}

static char *own(scan_jobs *j, const char *path)
{
	char *c;

	if (j->nowned == j->capowned) {
		size_t cap = j->capowned ? j->capowned * 2 : 16;
		char **v = realloc(j->owned, cap * sizeof(*v));

		if (!v)
			return NULL;
		j->owned = v;
		j->capowned = cap;
	}
	c = strdup(path);
	if (c)
		j->owned[j->nowned++] = c;
	return c;
}

/* Below this an mbox is not cut: a thread per file is enough. */
#define SCAN_SPLIT_MIN ((uint64_t)4 << 20)

/* MIMEO_SCAN_SPLIT_MIN (bytes) lowers the threshold, so that tests can
 * cut small mailboxes at every kind of place. */
static uint64_t split_min(void)
{
	const char *e = getenv("MIMEO_SCAN_SPLIT_MIN");
	size_t v;

	return e && cli_parse_count(e, &v) == 0 ? (uint64_t)v : SCAN_SPLIT_MIN;
}

/* Cut the mbox `path` (`size` bytes) into n ranges: n jobs, whose
 * threads find the cuts (scan_cuts). */
static int split_mbox(scan_jobs *j, const char *path, uint64_t size, unsigned n)
{
	scan_cuts *c;
	unsigned k;

	if (j->ncuts == j->capcuts) {
		size_t cap = j->capcuts ? j->capcuts * 2 : 4;
		scan_cuts **v = realloc(j->cuts, cap * sizeof(*v));

		if (!v)
			return -1;
		j->cuts = v;
		j->capcuts = cap;
	}
	c = cuts_new(size, n);
	if (!c)
		return -1;
	j->cuts[j->ncuts++] = c;
	for (k = 0; k < n; k++)
		if (add_job(j, path, c, k) < 0)
			return -1;
	return 0;
}

/* The jobs for one argument: a Maildir's files, an mbox cut in ranges for n threads,
 * or the input whole. */
static int plan(scan_jobs *j, const char *path, int mbox, unsigned n)
{
	struct stat st;
	unsigned ranges;
	int fd;
	char head[64];
	ssize_t got;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		mimeo_mailbox *mb = NULL;
		size_t i;

		if (mimeo_mailbox_open(&mb, path, NULL) != MIMEO_OK) {
			if (errno == ENOTDIR)
				cli_error("%s is a folder but no Maildir (no cur/ or new/)", path);
			else
				cli_error("cannot read %s: %s", path, cli_io_reason(errno));
			return -1;
		}
		j->skipped += mimeo_mailbox_skipped(mb);
		if (mimeo_mailbox_skipped(mb))
			fprintf(stderr, "mimeo: %s: %zu entr%s in new/ or cur/ not read (not a "
				"regular file)\n", path, mimeo_mailbox_skipped(mb),
				mimeo_mailbox_skipped(mb) == 1 ? "y" : "ies");
		for (i = 1; i <= mimeo_mailbox_count(mb); i++) {
			mimeo_mailbox_entry e;
			char *p;

			mimeo_mailbox_entry_get(mb, i, &e);
			p = own(j, e.path);
			if (!p || add_job(j, p, NULL, 0) < 0) {
				mimeo_mailbox_free(mb);
				return -2;
			}
			j->v[j->n - 1].member = 1;
			j->total += e.size;
		}
		mimeo_mailbox_free(mb);
		return 0;
	}
	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return add_job(j, path, NULL, 0) < 0 ? -2 : 0; /* errors come when scanned */
	j->total += (uint64_t)st.st_size;
	if (n < 2 || (uint64_t)st.st_size < split_min() || (uint64_t)st.st_size > SIZE_MAX ||
	    (strlen(path) > 3 && strcmp(path + strlen(path) - 3, ".gz") == 0))
		return add_job(j, path, NULL, 0) < 0 ? -2 : 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return add_job(j, path, NULL, 0) < 0 ? -2 : 0;
	/* the mbox test scan_file's parser makes (new_parser) */
	if (!mbox && ((got = pread(fd, head, sizeof(head), 0)) < 5 ||
		      !mimeo_mailbox_is_mbox(head, (size_t)got))) {
		close(fd);
		return add_job(j, path, NULL, 0) < 0 ? -2 : 0;
	}
	/* Four ranges a thread (none under the split minimum): ranges are cut
	 * by bytes, not by work, and the threads take them one at a time,
	 * so a range of a few large messages does not leave the other
	 * threads idle at the end. */
	close(fd);
	ranges = n * 4;
	while (ranges > n && (uint64_t)st.st_size / ranges < split_min())
		ranges--;
	return split_mbox(j, path, (uint64_t)st.st_size, ranges) < 0 ? -2 : 0;
}

typedef struct scan_worker {
	scan s;
	char *buf;
	pthread_t tid;
	int started;
	struct scan_shared *sh;
	size_t failed;           /* Maildir files that could not be scanned */
	size_t failed_inputs;    /* command-line inputs that could not be */
} scan_worker;

typedef struct scan_shared {
	const scan_jobs *jobs;
	atomic_size_t next;
	int mbox;
	/* The drawing thread waits on `finished` for at most one progress
	 * tick: a plain sleep between ticks made every -j run last at least
	 * one tick (100 ms), longer than a whole 100 MB scan on one thread. */
	pthread_mutex_t lock;
	pthread_cond_t finished;
	size_t running;
} scan_shared;

static int worker_init(scan_worker *w, int structure)
{
	memset(&w->s, 0, sizeof(w->s));
	w->s.structure = structure;
	mimeo_buf_init(&w->s.out, NULL);
	w->buf = malloc(SCAN_READ);
	if (!w->buf || mimeo_charset_cache_new(&w->s.cc, NULL) != MIMEO_OK)
		return -1;
	return 0;
}

static void worker_dispose(scan_worker *w)
{
	size_t k;

	for (k = 0; k < w->s.nconvs; k++)
		mimeo_charset_conv_free(w->s.convs[k].cv);
	mimeo_charset_cache_free(w->s.cc);
	mimeo_buf_dispose(&w->s.out);
	free(w->buf);
}

/* Take jobs until none is left.  A failed job is counted and the others
 * still run: nothing is skipped silently, and the counts of what could be
 * read do not depend on N. */
static void *worker_run(void *arg)
{
	scan_worker *w = arg;
	const scan_jobs *j = w->sh->jobs;

	for (;;) {
		size_t k = atomic_fetch_add(&w->sh->next, 1);

		if (k >= j->n)
			break;
		if (scan_file(&w->s, j->v[k].path, w->sh->mbox, w->buf, j->v[k].cuts,
			      j->v[k].k) < 0) {
			if (j->v[k].member)
				w->failed++;
			else
				w->failed_inputs++;
			if (w->s.err == MIMEO_ENOMEM)
				break;
			w->s.err = 0;
		}
	}
	if (w->started) {
		pthread_mutex_lock(&w->sh->lock);
		w->sh->running--;
		pthread_cond_signal(&w->sh->finished);
		pthread_mutex_unlock(&w->sh->lock);
	}
	return NULL;
}

/* Wait until no worker runs or one progress tick has passed; returns the
 * number still running. */
static size_t wait_for_workers(scan_shared *sh)
{
	struct timespec until;
	size_t running;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000 * 1000 * 1000) {
		until.tv_sec++;
		until.tv_nsec -= 1000 * 1000 * 1000;
	}
	pthread_mutex_lock(&sh->lock);
	while (sh->running > 0 && pthread_cond_timedwait(&sh->finished, &sh->lock, &until) == 0)
		;
	running = sh->running;
	pthread_mutex_unlock(&sh->lock);
	return running;
}

#define SCAN_USAGE "usage: mimeo scan [--mbox] [--structure] [-j N] [--progress|--no-progress] " \
	"FILE|DIR..."

static int run_scan(int argc, char **argv)
{
	scan_jobs jobs;
	scan_shared sh;
	scan_worker *w;
	cli_progress prog;
	int i, mbox = 0, structure = 0, nfiles = 0, rc = CLI_OK, mode = CLI_PROGRESS_AUTO;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cores > 0 ? (size_t)cores : 1, k, failed = 0, failed_inputs = 0;
	uint64_t messages = 0, parts = 0, bytes = 0, utf8 = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mbox") == 0) {
			mbox = 1;
		} else if (strcmp(argv[i], "--structure") == 0) {
			structure = 1;
		} else if (cli_progress_option(argv[i], &mode)) {
			continue;
		} else if (strcmp(argv[i], "-j") == 0 || strncmp(argv[i], "-j", 2) == 0) {
			const char *v = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (cli_parse_count(v, &nthreads) < 0 || nthreads > 1024) {
				cli_error("scan: -j takes a number of threads from 1 to 1024 (" SCAN_USAGE ")");
				return CLI_USAGE;
			}
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("scan: unknown option '%s' (" SCAN_USAGE ")", argv[i]);
			return CLI_USAGE;
		} else {
			break;
		}
	}
	nfiles = argc - i;
	if (nfiles <= 0) {
		cli_error("scan: missing FILE (" SCAN_USAGE ")");
		return CLI_USAGE;
	}
	memset(&jobs, 0, sizeof(jobs));
	for (; i < argc; i++) {
		int r = plan(&jobs, argv[i], mbox, (unsigned)nthreads);

		if (r == -2) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			goto out;
		}
		if (r < 0)
			failed_inputs++;
	}
	if (nthreads > jobs.n)
		nthreads = jobs.n ? jobs.n : 1;
	w = calloc(nthreads, sizeof(*w));
	if (!w) {
		cli_error("out of memory");
		rc = CLI_FAILURE;
		goto out;
	}
	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.finished, NULL);
	sh.jobs = &jobs;
	sh.mbox = mbox;
	cli_progress_start(&prog, "scan", mode, jobs.total);
	for (k = 0; k < nthreads; k++) {
		w[k].sh = &sh;
		if (worker_init(&w[k], structure) < 0) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			break;
		}
	}
	if (rc == CLI_OK && nthreads == 1) {
		/* one thread: this one, drawing its own progress */
		w[0].s.prog = &prog;
		worker_run(&w[0]);
	} else if (rc == CLI_OK) {
		for (k = 0; k < nthreads; k++) {
			/* counted before it starts: it may finish before
			 * pthread_create returns */
			w[k].started = 1;
			pthread_mutex_lock(&sh.lock);
			sh.running++;
			pthread_mutex_unlock(&sh.lock);
			if (pthread_create(&w[k].tid, NULL, worker_run, &w[k]) != 0) {
				w[k].started = 0;
				pthread_mutex_lock(&sh.lock);
				sh.running--;
				pthread_mutex_unlock(&sh.lock);
				break;
			}
		}
		if (k == 0)
			worker_run(&w[0]); /* no thread could start: do it here */
		/* draw the progress while they work */
		for (;;) {
			uint64_t in = 0, msgs = 0;
			size_t running = wait_for_workers(&sh);

			for (k = 0; k < nthreads; k++) {
				in += atomic_load_explicit(&w[k].s.pub_in, memory_order_relaxed);
				msgs += atomic_load_explicit(&w[k].s.pub_messages,
							     memory_order_relaxed);
			}
			cli_progress_update(&prog, in, msgs);
			if (!running)
				break;
		}
		for (k = 0; k < nthreads; k++)
			if (w[k].started)
				pthread_join(w[k].tid, NULL);
	}
	cli_progress_end(&prog);
	pthread_cond_destroy(&sh.finished);
	pthread_mutex_destroy(&sh.lock);
	for (k = 0; k < nthreads; k++) {
		messages += w[k].s.messages;
		parts += w[k].s.parts;
		bytes += w[k].s.bytes;
		utf8 += w[k].s.utf8;
		failed += w[k].failed;
		failed_inputs += w[k].failed_inputs;
		if (w[k].s.err == MIMEO_ENOMEM)
			rc = CLI_FAILURE;
		worker_dispose(&w[k]);
	}
	free(w);
	/* an input given that cannot be read is an error (reported when
	 * met); a Maildir file that cannot be is counted (below) */
	if (failed_inputs)
		rc = CLI_FAILURE;
	if (rc != CLI_OK)
		goto out;
	printf("messages %" PRIu64 " parts %" PRIu64 " bytes %" PRIu64 "\n", messages, parts,
	       bytes);
	if (getenv("SCAN_VERBOSE"))
		fprintf(stderr, "utf8 bytes (converted text + decoded headers) %" PRIu64 "\n",
			utf8);
	if (failed) {
		/* the counts above are of what could be read */
		cli_error("scan: %zu message%s could not be read", failed, failed == 1 ? "" : "s");
		rc = CLI_FAILURE;
	}
	if (fflush(stdout) != 0) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		rc = CLI_FAILURE;
	}
out:
	for (k = 0; k < jobs.nowned; k++)
		free(jobs.owned[k]);
	for (k = 0; k < jobs.ncuts; k++)
		cuts_free(jobs.cuts[k]);
	free(jobs.cuts);
	free(jobs.owned);
	free(jobs.v);
	return rc;
}

const cli_command cli_cmd_scan = {
	"scan", "scan [--mbox] [--structure] [-j N] FILE|DIR...  parse, decode and count "
	"(--structure: count only)", run_scan
};
