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
 * -j N (default: the number of cores) runs N workers (this process and
 * N - 1 forked ones), each with its own `scan` state and parser, over a
 * list of jobs: the files of a Maildir, the inputs given, and each large
 * mbox, which all workers scan at once in ranges cut at From_ lines by the
 * mailbox reader's rule (mimeo_mailbox_next_from), which is the parser's
 * own: every range holds whole messages and parses exactly as in the whole
 * file, so the counts are the same for every N.  The workers cut the
 * ranges from each other as they go (see scan_pool).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"
#include "cpus.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCAN_READ (1u << 20)   /* read size: large enough to amortise read() */
#define SCAN_WINDOW ((size_t)2 << 20) /* bytes of a file mapped at a time (feed_window) */
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
	/* progress: input bytes so far; published for the process that
	 * draws the progress line (-j), drawn directly with -j 1 */
	uint64_t total_in;
	cli_progress *prog;
	struct scan_report *pub;   /* -j: where this worker reports */
	struct scan_watch *watch;  /* -j, worker 1 (the parent): the others */
	int stop;                  /* another worker died: stop, quietly */
} scan;

/* What a worker process reports to the parent, in memory they share. */
typedef struct scan_report {
	atomic_uint_fast64_t in, messages;   /* progress, after each step */
	/* at the end */
	uint64_t n_messages, parts, bytes, utf8;
	size_t failed;             /* Maildir files that could not be scanned */
	size_t failed_inputs;      /* command-line inputs (or ranges) */
	int err;                   /* MIMEO_ENOMEM */
	long maxrss;               /* a forked worker's peak RSS, KiB (getrusage) */
	atomic_int done;           /* got to the end and wrote the above (release) */
} scan_report;

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

static void watch_poll(struct scan_watch *wt, scan *s);

/* After each window: publish the figures, and draw them with -j 1; in
 * worker 1 of -j N, draw everyone's and look after the other workers
 * (watch_poll: s->stop is set when one has died). */
static void show_progress(scan *s, int final)
{
	(void)final;
	if (s->pub) {
		atomic_store_explicit(&s->pub->in, s->total_in, memory_order_relaxed);
		atomic_store_explicit(&s->pub->messages, s->messages, memory_order_relaxed);
	}
	if (s->watch)
		watch_poll(s->watch, s);
	else if (s->prog)
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
 * memory stays flat however large the mailbox is.  A window is 2 MB on a
 * 2 MB grid of the file: a file read into the page cache afresh sits there
 * in folios of up to 2 MB, and since Linux 6.18 one fault maps all of a
 * folio that the mapping holds: a window as large as a folio is mapped in
 * a few faults, where a 1 MB window (too small to hold one) took 16 a
 * megabyte (fault-around, 64 KB each).  The heavy mailbox's -j 1 scan:
 * 1,788 -> 429 page faults, 20.4 -> 17.1 ms (light 56 -> 52 ms), for
 * 1 MB more peak RSS.
 * Windows are mapped and unmapped, not cut from one larger mapping: a
 * worker of -j 2 that dropped its steps (MADV_DONTNEED) from a 64 MB
 * segment held up to three folios, 4 MB more than -j 1, and the run took
 * 3.2x -j 1's peak RSS (2.0x now).
 *
 * feed_window maps the n bytes at `off` of the file open as fd (`name` in
 * messages), feeds them to *pp (made for the first window: new_parser with
 * `mbox`) and unmaps them.  *fed gets the bytes fed: fewer than n (0 at the
 * end) when the file has shrunk.  MIMEO_EIO: it could not be mapped (said).
 */
/*
 * Bytes [off, off + got) of a file, mapped, not read: the scan's windows
 * (feed_window) and a thief's search for a cut (search_window).  Reading
 * them with pread() copied them (a quarter of the scan's time on large
 * attachments, half a search's); mapping costs a fault or two a window
 * (the page cache's folios, see feed_window).
 */
typedef struct file_view {
	void *map;
	size_t maplen;
	const char *p;           /* the byte at `off` */
	size_t got;              /* fewer than asked when the file has shrunk; 0: none */
} file_view;

/* Map [off, off + len) of the file open as fd: 0, or -1 when it cannot be
 * mapped (errno).  A mailbox rewritten in place (expunge) may shrink while
 * we read it: touching a mapped page past its new end would raise SIGBUS,
 * so the size is looked at again each time and the view stops there. */
static int view_open(file_view *v, int fd, uint64_t off, size_t len)
{
	/* a range (-j) may start anywhere: map from the page before it */
	size_t lead = (size_t)(off % (uint64_t)sysconf(_SC_PAGESIZE));
	struct stat st;

	v->map = NULL;
	v->p = "";
	v->got = 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < off + len)
		len = (uint64_t)st.st_size > off ? (size_t)((uint64_t)st.st_size - off) : 0;
	if (len == 0)
		return 0;
	/* No MAP_POPULATE: it maps the window page by page (one page table
	 * walk and reference each), where the faults of the first pass map 16
	 * pages or a folio at a time (fault-around): 5-8% less CPU on the heavy
	 * mailbox, 1-7% on the light one (issue 16, docs/performance.md). */
	v->map = mmap(NULL, len + lead, PROT_READ, MAP_PRIVATE, fd, (off_t)(off - lead));
	if (v->map == MAP_FAILED) {
		v->map = NULL;
		return -1;
	}
	v->maplen = len + lead;
	v->p = (const char *)v->map + lead;
	v->got = len;
	return 0;
}

static void view_close(file_view *v)
{
	if (v->map)
		munmap(v->map, v->maplen);
	v->map = NULL;
}

static int feed_window(scan *s, int fd, const char *name, uint64_t off, size_t n, int mbox,
		       mimeo_parser **pp, size_t *fed)
{
	file_view v;
	int rc;

	*fed = 0;
	if (view_open(&v, fd, off, n) < 0) {
		cli_error("cannot read %s: %s", name, strerror(errno));
		return MIMEO_EIO;
	}
	if (v.got == 0)
		return MIMEO_OK;
	rc = *pp ? MIMEO_OK : new_parser(s, mbox, v.p, v.got, pp);
	if (rc == MIMEO_OK) {
		s->total_in += v.got;
		*fed = v.got;
		rc = mimeo_parser_feed(*pp, v.p, v.got);
	}
	view_close(&v);
	return rc;
}

static int scan_mapped(scan *s, cli_input *in, uint64_t size, int mbox, mimeo_parser **pp)
{
	uint64_t off;
	size_t n, fed;
	int rc;

	for (off = 0; off < size; off += n) {
		n = size - off < SCAN_WINDOW ? (size_t)(size - off) : SCAN_WINDOW;
		rc = feed_window(s, in->fd, in->name, off, n, mbox, pp, &fed);
		if (rc != MIMEO_OK)
			return rc;
		if (fed < n)
			break; /* the file shrank */
		show_progress(s, 0);
		if (s->stop)
			return MIMEO_EUSER; /* scan_file says nothing: the run fails */
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
/* an mbox scanned by all threads (-j)                                 */
/* ------------------------------------------------------------------ */

/*
 * An mbox of split_min() bytes or more is scanned by all threads at once,
 * as ranges of whole messages that they take from each other.  The first
 * thread takes the whole file; a thread with nothing else to do takes the
 * second half of the range with the most bytes left: it looks for the
 * first From_ line (mimeo_mailbox_next_from, the parser's rule) past the
 * middle of what is left, and if the owner has not reached that line yet,
 * the owner's range ends before the line's separator and the thief's
 * starts at it.  Every range holds whole messages and parses exactly as
 * in the whole file, so the counts are the same for every N.
 *
 * Ranges are taken, not planned, because planned ones cost twice: every
 * cut needs a search that reads on from its nominal offset to the next
 * From_ line (megabytes in a mailbox of large attachments: about 30 MB of
 * the heavy 100 MB mailbox at four ranges a thread, read before or beside
 * the parsing), and fixed ranges end unevenly (one holding a 16 MB
 * message takes longer, and the other thread idles).  Taking halves
 * searches once per worker at the start and a few times at the end, when
 * a worker would otherwise idle, and the workers end within about
 * split_min() / 4 bytes (a step) of each other: a thief that searches in
 * vain at the end costs no time, as its CPU would idle anyway.
 */
typedef struct scan_range {
	uint64_t start;          /* its first byte: a From_ line, or 0 */
	uint64_t end;            /* parse up to here (before the separator of `next`) */
	uint64_t next;           /* the next range's first byte, or the size */
	uint64_t pos;            /* bytes before this are fed, or being fed, to the parser */
	uint64_t nocut;          /* a thief found no From_ line in [nocut, next) */
	int active;              /* its owner is scanning it (written atomically, under
				  * the lock: search_near reads it without) */
	int robbed;              /* a thief is searching in it */
} scan_range;

/* The part of a pool the workers share (memory shared between the
 * worker processes). */
typedef struct scan_pool_sync {
	pthread_mutex_t lock;    /* process-shared, robust; guards `begun` and the ranges */
	int begun;               /* the first range (the whole file) was taken */
	int settled;             /* workers whose first pool_take is over */
	scan_range r[];          /* one per worker: the range it scans */
} scan_pool_sync;

typedef struct scan_pool {
	const char *path;
	int fd;                  /* opened when planned, inherited by the workers */
	uint64_t size;           /* the size when planned */
	uint64_t steal_min;      /* a range with fewer bytes left is not split */
	scan_pool_sync *x;       /* shared */
	size_t nr;               /* workers: x->r[0..nr) */
} scan_pool;

/* Bytes around a candidate that mimeo_mailbox_next_from() looks at: the
 * two before its line, and the line itself, a From_ line only when it is
 * at most 1024 bytes long (mimeo/mailbox.h). */
#define SEARCH_BACK 8
#define SEARCH_AHEAD ((size_t)4 << 10)

/*
 * A thief looks for its cut one window of the file at a time: the
 * windows of SCAN_WINDOW bytes on the grid the scans use, each mapped
 * (file_view), looked through once and unmapped: a window is no larger
 * than the one the thief maps next to scan, so its peak RSS does not
 * grow.  Looking in steps of 64 KiB both ways from the middle took
 * 17 mappings for the heavy mailbox's first cut (1.1 MB from the middle):
 * 0.5 ms before the thief could start.  Unmapping flushes only this
 * process's TLB: the workers are processes (run_workers).
 */

/* What search_window looks for in [a, b). */
enum { FIND_FIRST, FIND_LAST, FIND_NEAREST };

/*
 * The From_ line in [a, b) of the file (b - a at most SCAN_WINDOW) that
 * `find` asks for: the first, the last, or the nearest to `mid`; `b` when
 * there is none.  *sep gets the length of its separator.  The view
 * reaches SEARCH_BACK before `a` and SEARCH_AHEAD past `b`, so that every
 * candidate reads as in the whole file.
 */
static uint64_t search_window(int fd, uint64_t a, uint64_t b, int find, uint64_t mid,
			      size_t *sep)
{
	uint64_t b0 = a > SEARCH_BACK ? a - SEARCH_BACK : 0, c = b;
	size_t lim, r, last = SIZE_MAX;
	file_view v;

	view_open(&v, fd, b0, (size_t)(b - b0) + SEARCH_AHEAD);
	lim = v.got < (size_t)(b - b0) ? v.got : (size_t)(b - b0);
	for (r = mimeo_mailbox_next_from(v.p, v.got, (size_t)(a - b0)); r < lim;
	     r = mimeo_mailbox_next_from(v.p, v.got, r + 1)) {
		if (find == FIND_FIRST || (find == FIND_NEAREST && b0 + r >= mid)) {
			/* nearer than the last one before mid? */
			if (find == FIND_NEAREST && last != SIZE_MAX && mid - (b0 + last) <= b0 + r - mid)
				r = last;
			last = r;
			break;
		}
		last = r;
	}
	if (last != SIZE_MAX) {
		*sep = mimeo_mailbox_separator(v.p, last);
		c = b0 + last;
	}
	view_close(&v);
	return c;
}

/* MIMEO_SCAN_SLOW_SEARCH=MICROSECONDS (a test hook, like
 * MIMEO_SCAN_SPLIT_MIN): a thief waits that long before each window it
 * looks at, so that the others take ranges, end them and take others
 * while it searches, as they may on a busy machine. */
static void test_slow_search(void)
{
	const char *e = getenv("MIMEO_SCAN_SLOW_SEARCH");
	size_t us;

	if (e && cli_parse_count(e, &us) == 0 && us > 0 && us < 1000000) {
		struct timespec t = { 0, (long)us * 1000 };

		nanosleep(&t, NULL);
	}
}

/*
 * The From_ line nearest to `mid` in [lo, bound), or `bound` when there is
 * none (or the range's owner `owner` is done meanwhile: no cut is worth
 * having then).  It looks in the window that holds `mid`, then in the
 * windows after and before it in turn, and takes the first line found
 * there: the nearest to within a window.  Looking forward only, a thief
 * that met a long message read on to its end (16 MB of the heavy mailbox
 * at times) and took a share far from half: the owner then scanned on
 * alone.
 */
static uint64_t search_near(int fd, uint64_t lo, uint64_t mid, uint64_t bound,
			    const scan_range *owner, size_t *sep)
{
	uint64_t a = mid - mid % SCAN_WINDOW, fwd, back, c, e;

	*sep = 0;
	test_slow_search();
	if (a < lo)
		a = lo;
	e = a - a % SCAN_WINDOW + SCAN_WINDOW < bound ? a - a % SCAN_WINDOW + SCAN_WINDOW : bound;
	c = search_window(fd, a, e, FIND_NEAREST, mid, sep);
	if (c < e)
		return c;
	for (fwd = e, back = a; fwd < bound || back > lo;) {
		/* read without the lock: a hint, the caller checks under it */
		if (!__atomic_load_n(&owner->active, __ATOMIC_RELAXED))
			return bound;
		test_slow_search();
		if (fwd < bound) {
			e = bound - fwd > SCAN_WINDOW ? fwd + SCAN_WINDOW : bound;
			c = search_window(fd, fwd, e, FIND_FIRST, 0, sep);
			if (c < e)
				return c;
			fwd = e;
		}
		if (back > lo) {
			a = back - lo > SCAN_WINDOW ? back - SCAN_WINDOW : lo;
			c = search_window(fd, a, back, FIND_LAST, 0, sep);
			if (c < back)
				return c;
			back = a;
		}
	}
	return bound;
}

static scan_pool *pool_new(const char *path, int fd, uint64_t size, uint64_t steal_min)
{
	scan_pool *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->path = path;
	pl->fd = fd;
	pl->size = size;
	pl->steal_min = steal_min ? steal_min : 1;
	return pl;
}

/* Bytes of the shared part of a pool for n workers. */
static size_t pool_sync_size(size_t n)
{
	return sizeof(scan_pool_sync) + n * sizeof(scan_range);
}

/* Set up the shared part of `pl` in x (zeroed, pool_sync_size(n) bytes). */
static int pool_sync_init(scan_pool *pl, scan_pool_sync *x, size_t n)
{
	pthread_mutexattr_t ma;
	int rc = -1;

	if (pthread_mutexattr_init(&ma) != 0)
		return -1;
	/* robust: a worker killed while it holds the lock must not leave
	 * the others waiting for it forever (pool_lock) */
	if (pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) == 0 &&
	    pthread_mutex_init(&x->lock, &ma) == 0)
		rc = 0;
	pthread_mutexattr_destroy(&ma);
	if (rc == 0) {
		pl->x = x;
		pl->nr = n;
	}
	return rc;
}

static void pool_free(scan_pool *pl)
{
	if (!pl)
		return;
	if (pl->x)
		pthread_mutex_destroy(&pl->x->lock);
	close(pl->fd);
	free(pl);
}

/*
 * Take the pool's lock.  When its holder died with it (EOWNERDEAD), the
 * lock is made usable again: that worker's death fails the run (worker 1
 * sees it and stops the others), and until then the ranges, which it may
 * have left half changed, only bound what the others still scan.
 */
static void pool_lock(scan_pool *pl)
{
	if (pthread_mutex_lock(&pl->x->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&pl->x->lock);
}

static void pool_unlock(scan_pool *pl)
{
	pthread_mutex_unlock(&pl->x->lock);
}

/*
 * Wait a little (called locked) for another thief's search to end: the
 * lock is let go for 50 microseconds, a few percent of a typical search.
 * No condition variable: glibc's are not robust, and one whose waiter was
 * killed (a worker that died, or that worker 1 killed after a death) made
 * pthread_cond_destroy wait for ever.  Worker 1 looks after the others
 * meanwhile, since the searcher may have died (it then sets s->stop).
 */
static void pool_wait(scan_pool *pl, scan *s)
{
	struct timespec t = { 0, 50 * 1000 };

	pool_unlock(pl);
	nanosleep(&t, NULL);
	if (s->watch)
		watch_poll(s->watch, s);
	pool_lock(pl);
}

/* MIMEO_SCAN_KILL_WORKER=K[:search|:locked] (a test hook, like
 * MIMEO_SCAN_SPLIT_MIN): forked worker K (2 and up; worker 1 is the
 * parent) kills itself once it has a job or a range; with ":search" in
 * the middle of its first search for a cut (a range marked as being
 * searched), with ":locked" while it holds a pool's lock, so that the
 * tests can check that the others neither hang nor count what it held.
 * A worker that got to none of these kills itself at its end (`when`
 * NULL), so that the run fails whatever the timing. */
static void test_kill(const scan *s, size_t index, const char *when)
{
	const char *e = getenv("MIMEO_SCAN_KILL_WORKER");
	char *end;
	unsigned long k;

	if (!e || !s->pub || s->watch)
		return;
	k = strtoul(e, &end, 10);
	if (k != index + 1 || (when && strcmp(*end == ':' ? end + 1 : "", when) != 0))
		return;
	raise(SIGKILL);
}

/*
 * Give the worker the range `mine`: the whole file if nobody has begun,
 * else the second half of the range with the most bytes left.  Returns 0
 * with `mine` active, or -1 when no range has split_min() / 4 bytes left
 * (nothing worth taking), or the run stops (s->stop).
 */
static int pool_take(scan_pool *pl, scan *s, size_t index)
{
	scan_range *mine = &pl->x->r[index];

	pool_lock(pl);
	test_kill(s, index, "locked");
	for (;;) {
		scan_range *v = NULL;
		uint64_t most = 0, lo, mid, bound, c, end;
		size_t i, sep;
		int busy = 0;

		if (!pl->x->begun) {
			pl->x->begun = 1;
			memset(mine, 0, sizeof(*mine));
			mine->end = mine->next = mine->nocut = pl->size;
			__atomic_store_n(&mine->active, 1, __ATOMIC_RELAXED);
			pool_unlock(pl);
			return 0;
		}
		if (mine->robbed) {
			/* a thief is still searching in this worker's last
			 * range, which it will check under the lock afterwards:
			 * the slot must not hold another range by then (the
			 * thief gives up soon: search_near stops when the owner
			 * is done) */
			pool_wait(pl, s);
			if (s->stop)
				break;
			continue;
		}
		for (i = 0; i < pl->nr; i++) {
			scan_range *r = &pl->x->r[i];
			uint64_t left = r->active && r->nocut > r->pos ? r->nocut - r->pos : 0;

			if (r == mine || left < pl->steal_min)
				continue;
			if (r->robbed)
				busy = 1;
			else if (left > most) {
				most = left;
				v = r;
			}
		}
		if (!v) {
			if (!busy)
				break;
			/* another thief is searching: its result may leave
			 * something to take */
			pool_wait(pl, s);
			if (s->stop)
				break;
			continue;
		}
		v->robbed = 1;
		lo = v->pos;
		mid = lo + most / 2;
		/* no From_ line past nocut: search up to it (only a thief moves
		 * it, and v has one: this one) */
		bound = v->nocut;
		pool_unlock(pl);
		test_kill(s, index, "search");
		c = search_near(pl->fd, lo, mid, bound, v, &sep);
		pool_lock(pl);
		v->robbed = 0;
		if (c >= bound) {
			v->nocut = lo; /* nothing to cut there: not again */
			continue;
		}
		end = c - sep;
		if (end == v->start)
			end = c; /* an empty first message keeps its empty line
				  * (mimeo/mailbox.h) */
		if (!v->active || v->pos > end)
			continue; /* its owner got there first: look again */
		mine->start = mine->pos = c;
		mine->end = v->end;
		mine->next = v->next;
		mine->nocut = v->nocut;
		__atomic_store_n(&mine->active, 1, __ATOMIC_RELAXED);
		mine->robbed = 0;
		v->end = end;
		v->next = v->nocut = c;
		pool_unlock(pl);
		return 0;
	}
	pool_unlock(pl);
	return -1;
}

/*
 * Scan the range `r` that this worker owns, to its end, which thieves may
 * lower meanwhile: the end is read under the lock before each step, and
 * the step is claimed (r->pos) before it is fed.  A step is a window
 * (feed_window) on the grid -j 1's windows use, so resident memory stays
 * at a window per worker.  The bytes are not read with pread(), whose copy
 * cost a third more CPU on base64-heavy mail, and not populated ahead with
 * MADV_POPULATE_READ: that walks the step page by page (get_user_pages),
 * where the parser's faults map 16 pages at a time (fault-around), as with
 * -j 1: 7% less CPU on the heavy mailbox, 3% on the light one.
 */
static int pool_scan(scan *s, scan_pool *pl, scan_range *r)
{
	mimeo_parser *p = NULL;
	int rc = MIMEO_OK;

	for (;;) {
		uint64_t off;
		size_t n, fed = 0;

		/* claim the next step: to the next multiple of SCAN_WINDOW (a
		 * range starts anywhere, its later steps fall on the grid) */
		pool_lock(pl);
		off = r->pos;
		n = SCAN_WINDOW - (size_t)(off % SCAN_WINDOW);
		if (r->end - off < n)
			n = (size_t)(r->end - off);
		r->pos = off + n;
		if (n == 0)
			__atomic_store_n(&r->active, 0, __ATOMIC_RELAXED);
		pool_unlock(pl);
		if (n == 0)
			break;
		rc = feed_window(s, pl->fd, pl->path, off, n, 1, &p, &fed);
		if (rc == MIMEO_EIO) {
			/* what is left of the range is lost: the run fails */
			pool_lock(pl);
			__atomic_store_n(&r->active, 0, __ATOMIC_RELAXED);
			pool_unlock(pl);
			mimeo_parser_free(p);
			return -1;
		}
		if (rc != MIMEO_OK)
			break;
		if (fed < n) {
			/* the file shrank (see feed_window): it ends here */
			pool_lock(pl);
			__atomic_store_n(&r->active, 0, __ATOMIC_RELAXED);
			pool_unlock(pl);
			break;
		}
		show_progress(s, 0);
		if (s->stop) {
			pool_lock(pl);
			__atomic_store_n(&r->active, 0, __ATOMIC_RELAXED);
			pool_unlock(pl);
			mimeo_parser_free(p);
			return -1; /* another worker died: the run fails, said once */
		}
	}
	if (rc == MIMEO_OK && !p)
		rc = new_parser(s, 1, "", 0, &p); /* the file shrank before it */
	if (rc == MIMEO_OK)
		rc = mimeo_parser_finish(p);
	if (rc != MIMEO_OK) {
		const char *reason = NULL;

		pool_lock(pl);
		__atomic_store_n(&r->active, 0, __ATOMIC_RELAXED);
		pool_unlock(pl);
		if (s->err)
			rc = s->err;
		else if (p)
			mimeo_parser_error(p, &reason, NULL);
		cli_error("cannot scan %s: %s", pl->path, reason ? reason : mimeo_strerror(rc));
		mimeo_parser_free(p);
		return -1;
	}
	cli_warn_limits(pl->path, mimeo_parser_limits_hit(p));
	mimeo_parser_free(p);
	return 0;
}

/* Scan a file. */
static int scan_file(scan *s, const char *path, int mbox, char *buf)
{
	mimeo_parser *p = NULL;
	cli_input in;
	struct stat st;
	ssize_t got;
	int rc, first = 1;

	/* gzip is found by its content, as every command finds it in a
	 * message or mailbox: a plain file named .gz is mapped like any other */
	if (cli_input_open_mail(&in, path) < 0)
		return -1;
	/* (stdin is read, not mapped: it may not start at offset 0) */
	if (!in.gz && strcmp(path, "-") != 0 && fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0) {
		rc = scan_mapped(s, &in, (uint64_t)st.st_size, mbox, &p);
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
		if (s->stop)
			break;
	}
done:
	cli_input_close(&in);
	if (s->stop) {
		mimeo_parser_free(p);
		return -1; /* another worker died: the run fails, said once */
	}
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

/* One unit of work: a whole input, or an mbox all threads scan. */
typedef struct scan_job {
	const char *path;
	scan_pool *pool;         /* NULL: the whole input, by one thread */
	int member;              /* a Maildir's file, not a command-line input */
} scan_job;

typedef struct scan_jobs {
	scan_job *v;
	size_t n, cap;
	char **owned;            /* Maildir file paths (freed at the end) */
	size_t nowned, capowned;
	scan_pool **pools;       /* the jobs' pools, in order */
	size_t npools, cappools;
	uint64_t total;          /* bytes, for the progress line */
	size_t skipped;          /* Maildir entries that are no files */
} scan_jobs;

static int add_job(scan_jobs *j, const char *path, scan_pool *pool)
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
	j->v[j->n].pool = pool;
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

/* The mbox `path` (open as fd, `size` bytes) for all threads: one job. */
static int add_pool(scan_jobs *j, const char *path, int fd, uint64_t size)
{
	scan_pool *pl;

	if (j->npools == j->cappools) {
		size_t cap = j->cappools ? j->cappools * 2 : 4;
		scan_pool **v = realloc(j->pools, cap * sizeof(*v));

		if (!v)
			return -1;
		j->pools = v;
		j->cappools = cap;
	}
	pl = pool_new(path, fd, size, split_min() / 4);
	if (!pl)
		return -1;
	j->pools[j->npools++] = pl;
	return add_job(j, path, pl);
}

/* The jobs for one argument: a Maildir's files, an mbox for all n threads,
 * or the input whole. */
static int plan(scan_jobs *j, const char *path, int mbox, unsigned n)
{
	struct stat st;
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
			if (!p || add_job(j, p, NULL) < 0) {
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
		return add_job(j, path, NULL) < 0 ? -2 : 0; /* errors come when scanned */
	j->total += (uint64_t)st.st_size;
	if (n < 2 || (uint64_t)st.st_size < split_min() || (uint64_t)st.st_size > SIZE_MAX)
		return add_job(j, path, NULL) < 0 ? -2 : 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return add_job(j, path, NULL) < 0 ? -2 : 0;
	got = pread(fd, head, sizeof(head), 0);
	/* gzip, found by its content as scan_file finds it (whatever the
	 * name), is inflated by one worker: its offsets are no file offsets;
	 * and the mbox test scan_file's parser makes (new_parser) */
	if ((got >= 2 && (unsigned char)head[0] == 0x1f && (unsigned char)head[1] == 0x8b) ||
	    (!mbox && (got < 5 || !mimeo_mailbox_is_mbox(head, (size_t)got)))) {
		close(fd);
		return add_job(j, path, NULL) < 0 ? -2 : 0;
	}
	if (add_pool(j, path, fd, (uint64_t)st.st_size) < 0) {
		close(fd);
		return -2;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* workers (-j)                                                        */
/* ------------------------------------------------------------------ */

/*
 * -j N runs N workers: this process is worker 1 and forks N - 1 others;
 * processes, not threads.  Two threads scanning an mbox in one process
 * were about 12% slower than two processes scanning its halves (heavy 100
 * MB mailbox: 30.3 against 27.2 ms, the same bytes and page-cache state,
 * measured in one run): every step a worker maps and drops changes the
 * page tables of the process, and with threads the other CPU shares them
 * (TLB flush interrupts, the mapping lock).  A process has page tables of
 * its own.  This process works too instead of waiting: one fork fewer,
 * and one process's memory fewer (with -j 2 the peak RSS of the run was
 * three processes' before, two now).  The workers share, in memory mapped
 * MAP_SHARED before they are forked: the next job to take, the pools'
 * ranges and locks (process-shared, robust), and each worker's report
 * (progress while it runs, its counts at the end).  Worker 1 draws the
 * progress after each of its steps, and looks after the others then
 * (watch_poll): a worker that died (a signal, or an exit without its
 * report) loses what it was scanning, so the others are stopped and the
 * run fails with a message saying so.  When worker 1 is done it waits
 * until the others have reported, or exited (end of file on a pipe they
 * hold open), drawing the progress (wait_reports).  A forked worker dies
 * with worker 1 (PR_SET_PDEATHSIG), so none is left behind scanning for
 * nobody.
 */
typedef struct scan_shared {
	const scan_jobs *jobs;
	atomic_size_t *next;     /* shared: the next job to take */
	int mbox;
} scan_shared;

typedef struct scan_worker {
	scan s;
	char *buf;
	size_t index;            /* its range in each pool: pool->x->r[index] */
	const scan_shared *sh;
	size_t failed;           /* Maildir files that could not be scanned */
	size_t failed_inputs;    /* command-line inputs that could not be */
} scan_worker;

/* What worker 1 knows of the others. */
typedef struct scan_watch {
	pid_t *pids;             /* [1..n): forked workers; 0: not running or reaped */
	scan_report *reports;    /* [0..n), shared */
	size_t n;                /* workers, this process (worker 1) included */
	cli_progress *prog;
	int failed;              /* a worker died: said, the others killed */
	struct timespec reaped;  /* when watch_poll last looked for ended workers */
	cli_cpus cpus;           /* where workers may run */
	int placed;              /* forked workers are held on their first CPU (cpus.h) */
} scan_watch;

static int worker_init(scan_worker *w, int structure)
{
	memset(&w->s, 0, sizeof(w->s));
	w->s.structure = structure;
	mimeo_buf_init(&w->s.out, NULL);
	/* page-aligned: the kernel's copy into it (read of stdin,
	 * a pipe or gzip) runs at a third of its speed on Zen 3 when
	 * the destination is 16 bytes past a page boundary, where malloc puts
	 * a large block (docs/performance.md) */
	if (posix_memalign((void **)&w->buf, 4096, SCAN_READ) != 0)
		w->buf = NULL;
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

/*
 * After a worker's first pool_take.  MIMEO_SCAN_CUT_FIRST=1 (a test hook,
 * like MIMEO_SCAN_SPLIT_MIN) makes the worker that took the whole file
 * wait, before its first step, until every other worker has taken its
 * first range or found none (2 s at most), so that the cuts fall where a
 * test can tell: the thieves search an untouched range (pos 0).
 */
static void pool_settle(scan_pool *pl, scan *s, const scan_range *mine, int took)
{
	const char *e = getenv("MIMEO_SCAN_CUT_FIRST");
	int waits;

	pool_lock(pl);
	if (!(took && mine->start == 0))
		pl->x->settled++;
	else if (e && strcmp(e, "1") == 0)
		for (waits = 0; pl->x->settled < (int)pl->nr - 1 && !s->stop && waits < 40000; waits++)
			pool_wait(pl, s);
	pool_unlock(pl);
}

/* Scan ranges of the mbox of `pl` until none is worth taking.  A range
 * that fails is counted as a failed input (the run's status is 1; the
 * reason was printed).  SCAN_VERBOSE: each range taken, on stderr. */
static void pool_run(scan_worker *w, scan_pool *pl)
{
	const scan_range *mine = &pl->x->r[w->index];
	int took, first = 1;

	while (w->s.err != MIMEO_ENOMEM && !w->s.stop) {
		took = pool_take(pl, &w->s, w->index) == 0;
		if (first)
			pool_settle(pl, &w->s, mine, took);
		first = 0;
		if (!took)
			break;
		test_kill(&w->s, w->index, "");
		if (getenv("SCAN_VERBOSE"))
			fprintf(stderr, "worker %zu takes bytes %" PRIu64 "..%" PRIu64 " of %s\n",
				w->index + 1, mine->start, mine->next, pl->path);
		if (pool_scan(&w->s, pl, &pl->x->r[w->index]) < 0) {
			w->failed_inputs++;
			if (w->s.err != MIMEO_ENOMEM)
				w->s.err = 0;
		}
	}
}

/* Take jobs until none is left, then help with the mboxes still being
 * scanned.  A failed job is counted and the others still run: nothing is
 * skipped silently, and the counts of what could be read do not depend
 * on N. */
static void worker_run(scan_worker *w)
{
	const scan_jobs *j = w->sh->jobs;
	size_t k;

	for (;;) {
		if (w->s.stop)
			return;
		k = atomic_fetch_add(w->sh->next, 1);
		if (k >= j->n || w->s.err == MIMEO_ENOMEM)
			break;
		if (j->v[k].pool) {
			pool_run(w, j->v[k].pool);
			continue;
		}
		test_kill(&w->s, w->index, "");
		if (scan_file(&w->s, j->v[k].path, w->sh->mbox, w->buf) < 0) {
			if (j->v[k].member)
				w->failed++;
			else
				w->failed_inputs++;
			if (w->s.err == MIMEO_ENOMEM)
				break;
			w->s.err = 0;
		}
	}
	for (k = 0; k < j->npools && w->s.err != MIMEO_ENOMEM && !w->s.stop; k++)
		pool_run(w, j->pools[k]);
}

/* Copy the worker's counts into its report. */
static void worker_report(const scan_worker *w, scan_report *r)
{
	r->n_messages = w->s.messages;
	r->parts = w->s.parts;
	r->bytes = w->s.bytes;
	r->utf8 = w->s.utf8;
	r->failed = w->failed;
	r->failed_inputs = w->failed_inputs;
	r->err = w->s.err;
	atomic_store_explicit(&r->in, w->s.total_in, memory_order_relaxed);
	atomic_store_explicit(&r->messages, w->s.messages, memory_order_relaxed);
	atomic_store_explicit(&r->done, 1, memory_order_release);
}

/* The body of forked worker `w`: never returns. */
static void worker_main(scan_worker *w, int structure, scan_report *r)
{
	if (worker_init(w, structure) < 0) {
		cli_error("out of memory");
		memset(&w->s, 0, sizeof(w->s));
		w->s.err = MIMEO_ENOMEM;
	} else {
		w->s.pub = r;
		worker_run(w);
		test_kill(&w->s, w->index, NULL);
	}
	/* its own peak: worker 1 does not wait for its exit (wait_reports) */
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			r->maxrss = ru.ru_maxrss;
	}
	worker_report(w, r);
	/* _exit: the parent's stdio buffers and atexit handlers are its own */
	_exit(0);
}

/* One memory area shared with the worker processes, handed out in pieces. */
typedef struct scan_shm {
	char *base;
	size_t size, used;
} scan_shm;

static void *shm_take(scan_shm *m, size_t n)
{
	void *p = m->base + m->used;

	m->used += (n + 63) & ~(size_t)63; /* own cache lines: no false sharing */
	return p;
}

/* What went wrong with a worker, for the message; NULL when nothing did. */
static const char *worker_death(int status, const scan_report *r, char *buf, size_t cap)
{
	if (WIFSIGNALED(status))
		snprintf(buf, cap, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	else if (!atomic_load_explicit(&r->done, memory_order_acquire))
		snprintf(buf, cap, "ended without reporting");
	else
		return NULL;
	return buf;
}

/* Reap the forked workers that have ended (block: wait for all of them).
 * The first that died is reported and the others are killed. */
static void watch_reap(scan_watch *wt, int block)
{
	size_t k, q;

	for (k = 1; k < wt->n; k++) {
		int status = 0;
		char why[96];
		pid_t got;

		if (wt->pids[k] <= 0)
			continue;
		while ((got = waitpid(wt->pids[k], &status, block ? 0 : WNOHANG)) < 0 &&
		       errno == EINTR)
			;
		if (got == 0 || (got < 0 && !block))
			continue; /* still running (or looked at again when blocking) */
		if (got < 0)
			status = 0; /* cannot be waited for: its report says */
		wt->pids[k] = 0;
		if (!wt->failed && worker_death(status, &wt->reports[k], why, sizeof(why))) {
			cli_error("scan: worker process %zu of %zu %s; what it was scanning is not "
				  "counted", k + 1, wt->n, why);
			wt->failed = 1;
			for (q = 1; q < wt->n; q++)
				if (wt->pids[q] > 0)
					kill(wt->pids[q], SIGKILL);
		}
	}
}

/* Draw everyone's progress. */
static void watch_progress(scan_watch *wt)
{
	uint64_t in = 0, msgs = 0;
	size_t k;

	for (k = 0; k < wt->n; k++) {
		in += atomic_load_explicit(&wt->reports[k].in, memory_order_relaxed);
		msgs += atomic_load_explicit(&wt->reports[k].messages, memory_order_relaxed);
	}
	cli_progress_update(wt->prog, in, msgs);
}

/* Let the forked workers run on every CPU of wt->cpus again. */
static void release_workers(scan_watch *wt)
{
	size_t k;

	for (k = 1; k < wt->n; k++)
		cli_cpus_release(&wt->cpus, wt->pids[k]);
	wt->placed = 0;
}

/* Worker 1, after each step and while it waits for a cut: the progress,
 * and, every 5 ms at most, the workers that ended (a wait4 each, about a
 * microsecond: with many workers, after every 200-microsecond step, that
 * would be a real share of worker 1's time). */
static void watch_poll(scan_watch *wt, scan *s)
{
	struct timespec now;

	watch_progress(wt);
	if (wt->placed)
		release_workers(wt);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - wt->reaped.tv_sec) * 1000000000L + (now.tv_nsec - wt->reaped.tv_nsec) >=
	    5000000L) {
		wt->reaped = now;
		watch_reap(wt, 0);
	}
	if (wt->failed)
		s->stop = 1;
}

/* Have all forked workers that were not reaped yet reported (and no
 * worker died)? */
static int all_reported(const scan_watch *wt)
{
	size_t k;

	if (wt->failed)
		return 0;
	for (k = 1; k < wt->n; k++)
		if (wt->pids[k] > 0 &&
		    !atomic_load_explicit(&wt->reports[k].done, memory_order_acquire))
			return 0;
	return 1;
}

/* How long worker 1 waits for the others without sleeping (wait_reports). */
#define SCAN_SPIN_NS 5000000L

/*
 * Worker 1, its own work done: wait until every forked worker has
 * reported its counts, or all have exited (end of file on the pipe `fd`
 * they hold open), drawing the progress and reaping on the way, so that
 * when one dies the others are stopped (watch_reap).  It does not wait
 * for the workers that reported to exit: tearing a process down took
 * 0.25-0.35 ms here after its report, 3% of a 100 MB scan with -j 2.
 * For its first SCAN_SPIN_NS it looks without sleeping, yielding the CPU
 * to any other task that wants it: the workers end within about a step
 * of each other, and a virtual CPU that sleeps may wake up late (0.1-1 ms
 * measured on a KVM guest that does not poll before it halts).
 */
static void wait_reports(scan_watch *wt, int fd)
{
	struct timespec t0, now;
	int spin = 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!all_reported(wt)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int pr = poll(&pf, 1, spin ? 0 : 100);
		char c;

		watch_progress(wt);
		if (pr > 0 && read(fd, &c, 1) <= 0)
			break; /* end of file: all have exited */
		watch_reap(wt, 0);
		if (spin) {
			sched_yield();
			clock_gettime(CLOCK_MONOTONIC, &now);
			spin = (now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) <
			       SCAN_SPIN_NS;
		}
	}
}

/*
 * Run n workers over the jobs (this process is worker 1; 2..n are
 * forked), drawing the progress; fills reports[0..n), adds the forked
 * workers' peak RSS (KiB) to *workers_rss and their number to *forked.  Returns 0, or -1 when a worker
 * died (said on stderr; the counts are incomplete).  Workers that cannot
 * be forked are done without: jobs and ranges are taken, not dealt.
 */
static int run_workers(const scan_shared *sh, scan_report *reports, size_t n, int structure,
		       cli_progress *prog, uint64_t *workers_rss, size_t *forked)
{
	scan_watch wt;
	scan_worker w;
	size_t k;
	int pfd[2] = { -1, -1 };
	pid_t self = getpid();

	memset(&wt, 0, sizeof(wt));
	wt.reports = reports;
	wt.prog = prog;
	wt.n = n;
	wt.pids = calloc(n, sizeof(*wt.pids));
	if (!wt.pids || pipe(pfd) < 0)
		wt.n = 1; /* nothing to wait with: work alone */
	fflush(stdout);
	fflush(stderr);
	/* the workers must be waited for: with SIGCHLD ignored (inherited)
	 * they would be reaped unseen, and how they ended unknown */
	signal(SIGCHLD, SIG_DFL);
	cli_cpus_init(&wt.cpus);
	for (k = 1; k < wt.n; k++) {
		int cpu = cli_cpus_here(&wt.cpus);
		pid_t pid = fork();

		if (pid > 0 && (cpu = cli_cpus_pick(&wt.cpus, k)) >= 0) {
			cli_cpus_place(pid, cpu);
			wt.placed = 1;
		}
		if (pid == 0) {
			cli_cpus_leave(&wt.cpus, k, cpu);
			memset(&w, 0, sizeof(w));
			close(pfd[0]);
#ifdef __linux__
			/* worker 1 gone (killed): nobody would count this one's
			 * work, so it goes too */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
			if (getppid() != self)
				_exit(1);
			w.sh = sh;
			w.index = k;
			worker_main(&w, structure, &reports[k]); /* keeps pfd[1] until it exits */
		}
		if (pid < 0)
			break; /* the others do its part */
		wt.pids[k] = pid;
		++*forked;
	}
	if (pfd[1] >= 0)
		close(pfd[1]);

	memset(&w, 0, sizeof(w));
	w.sh = sh;
	w.index = 0;
	if (worker_init(&w, structure) < 0) {
		cli_error("out of memory");
		w.s.err = MIMEO_ENOMEM;
	} else {
		w.s.pub = &reports[0];
		w.s.watch = &wt;
		worker_run(&w);
	}
	worker_report(&w, &reports[0]);
	worker_dispose(&w);

	if (pfd[0] >= 0) {
		wait_reports(&wt, pfd[0]);
		close(pfd[0]);
	}
	/* the reported ones that have not exited yet are left to exit (they
	 * will be init's when this process ends); the others have exited.
	 * SCAN_VERBOSE waits for all: the CPU time of the run, as the caller's
	 * getrusage(RUSAGE_CHILDREN) or time(1) count it, is then complete. */
	watch_reap(&wt, !all_reported(&wt) || getenv("SCAN_VERBOSE") != NULL);
	for (k = 1; k < wt.n; k++)
		if (atomic_load_explicit(&reports[k].done, memory_order_acquire))
			*workers_rss += (uint64_t)reports[k].maxrss;
	free(wt.pids);
	return wt.failed ? -1 : 0;
}

#define SCAN_USAGE "usage: mimeo scan [--mbox] [--structure] [-j N] [--progress|--no-progress] " \
	"FILE|DIR..."

static int run_scan(int argc, char **argv)
{
	scan_jobs jobs;
	scan_shared sh;
	scan_shm shm = { NULL, 0, 0 };
	scan_report *reports = NULL, one;
	cli_progress prog;
	int i, mbox = 0, structure = 0, nfiles = 0, rc = CLI_OK, mode = CLI_PROGRESS_AUTO;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nworkers = cores > 0 ? (size_t)cores : 1, k, failed = 0, failed_inputs = 0, units;
	size_t forked = 0;
	uint64_t messages = 0, parts = 0, bytes = 0, utf8 = 0, workers_rss = 0;
	atomic_size_t next_local;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mbox") == 0) {
			mbox = 1;
		} else if (strcmp(argv[i], "--structure") == 0) {
			structure = 1;
		} else if (cli_progress_option(argv[i], &mode)) {
			continue;
		} else if (strcmp(argv[i], "-j") == 0 || strncmp(argv[i], "-j", 2) == 0) {
			const char *v = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (cli_parse_count(v, &nworkers) < 0 || nworkers > 1024) {
				cli_error("scan: -j takes a number of workers from 1 to 1024 (" SCAN_USAGE ")");
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
		int r = plan(&jobs, argv[i], mbox, (unsigned)nworkers);

		if (r == -2) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			goto out;
		}
		if (r < 0)
			failed_inputs++;
	}
	/* no more workers than jobs, counting an mbox for all workers as the
	 * pieces they could take of it */
	units = jobs.n;
	for (k = 0; k < jobs.npools; k++)
		units += (size_t)(jobs.pools[k]->size / jobs.pools[k]->steal_min);
	if (nworkers > units)
		nworkers = units ? units : 1;
	memset(&sh, 0, sizeof(sh));
	sh.jobs = &jobs;
	sh.mbox = mbox;
	cli_progress_start(&prog, "scan", mode, jobs.total);
	if (nworkers == 1) {
		/* one worker: this process, drawing its own progress */
		scan_worker w;

		memset(&w, 0, sizeof(w));
		atomic_init(&next_local, 0);
		sh.next = &next_local;
		w.sh = &sh;
		memset(&one, 0, sizeof(one));
		reports = &one;
		if (worker_init(&w, structure) < 0) {
			cli_error("out of memory");
			one.err = MIMEO_ENOMEM;
		} else {
			w.s.prog = &prog;
			worker_run(&w);
			worker_report(&w, &one);
		}
		worker_dispose(&w);
	} else {
		void *m;

		shm.size = 64 + nworkers * ((sizeof(scan_report) + 63) & ~(size_t)63);
		for (k = 0; k < jobs.npools; k++)
			shm.size += (pool_sync_size(nworkers) + 63) & ~(size_t)63;
		m = mmap(NULL, shm.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			goto out;
		}
		shm.base = m; /* zeroed */
		sh.next = shm_take(&shm, sizeof(atomic_size_t));
		atomic_init(sh.next, 0);
		reports = shm_take(&shm, nworkers * ((sizeof(scan_report) + 63) & ~(size_t)63));
		for (k = 0; k < jobs.npools; k++) {
			if (pool_sync_init(jobs.pools[k], shm_take(&shm, pool_sync_size(nworkers)),
					   nworkers) < 0) {
				cli_error("cannot share the work between processes: %s",
					  strerror(errno));
				rc = CLI_FAILURE;
				break;
			}
		}
		if (rc == CLI_OK && run_workers(&sh, reports, nworkers, structure, &prog, &workers_rss,
						   &forked) < 0)
			rc = CLI_FAILURE;
	}
	cli_progress_end(&prog);
	for (k = 0; k < nworkers && rc == CLI_OK; k++) {
		const scan_report *r = &reports[k];

		messages += r->n_messages;
		parts += r->parts;
		bytes += r->bytes;
		utf8 += r->utf8;
		failed += r->failed;
		failed_inputs += r->failed_inputs;
		if (r->err == MIMEO_ENOMEM)
			rc = CLI_FAILURE;
	}
	/* an input given that cannot be read is an error (reported when
	 * met); a Maildir file that cannot be is counted (below) */
	if (failed_inputs)
		rc = CLI_FAILURE;
	if (rc != CLI_OK)
		goto out;
	printf("messages %" PRIu64 " parts %" PRIu64 " bytes %" PRIu64 "\n", messages, parts,
	       bytes);
	if (getenv("SCAN_VERBOSE")) {
		struct rusage ru;

		fprintf(stderr, "utf8 bytes (converted text + decoded headers) %" PRIu64 "\n",
			utf8);
		/* the memory of the whole scan: with -j, the processes' peaks
		 * added up (a bound: they need not peak at once), which the
		 * high-water mark of the process tree (time(1)'s %M) is not */
		if (getrusage(RUSAGE_SELF, &ru) == 0 && nworkers == 1)
			fprintf(stderr, "peak RSS KiB %ld\n", ru.ru_maxrss);
		else if (getrusage(RUSAGE_SELF, &ru) == 0)
			fprintf(stderr, "peak RSS KiB %" PRIu64 " (this process, worker 1, %ld + "
				"%zu forked worker process%s %" PRIu64 ")\n",
				(uint64_t)ru.ru_maxrss + workers_rss, ru.ru_maxrss, forked,
				forked == 1 ? "" : "es", workers_rss);
	}
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
	for (k = 0; k < jobs.npools; k++)
		pool_free(jobs.pools[k]);
	if (shm.base)
		munmap(shm.base, shm.size);
	free(jobs.pools);
	free(jobs.owned);
	free(jobs.v);
	return rc;
}

const cli_command cli_cmd_scan = {
	"scan", "scan [--mbox] [--structure] [-j N] FILE|DIR...  parse, decode and count "
	"(--structure: count only)", run_scan
};
