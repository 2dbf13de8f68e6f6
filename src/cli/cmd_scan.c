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
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_READ (1u << 20)   /* read size: large enough to amortise read() */
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
	/* progress on a terminal */
	int progress;
	uint64_t total_in;
	struct timespec t0, last;
	int shown;
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
	if (mimeo_charset_conv_new(s->cc, label, label ? klen : 0, &slot->cv) != MIMEO_OK) {
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

		if (mimeo_address_list_parse(s->cc, NULL, value, value_len, &l))
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

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Progress line on a terminal, at most twice a second, after the first
 * second (small inputs stay quiet). */
static void show_progress(scan *s, int final)
{
	struct timespec now;
	double t;

	if (!s->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = elapsed(&s->t0, &now);
	if (final) {
		if (s->shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (t < 1.0 || elapsed(&s->last, &now) < 0.5)
		return;
	s->last = now;
	s->shown = 1;
	fprintf(stderr, "\r\033[Kmimeo scan: %.1f MB, %.0f MB/s, %" PRIu64 " messages",
		(double)s->total_in / 1e6, (double)s->total_in / 1e6 / t, s->messages);
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

	if (n >= 5 && memcmp(first, "From ", 5) == 0)
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
static int scan_mapped(scan *s, cli_input *in, uint64_t size, int mbox, mimeo_parser **pp)
{
	uint64_t off = 0;
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
		map = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, in->fd, (off_t)off);

		if (map == MAP_FAILED) {
			cli_error("cannot read %s: %s", in->name, strerror(errno));
			return MIMEO_EIO;
		}
		if (!*pp) {
			rc = new_parser(s, mbox, map, n, pp);
			if (rc != MIMEO_OK) {
				munmap(map, n);
				return rc;
			}
		}
		s->total_in += n;
		rc = mimeo_parser_feed(*pp, map, n);
		munmap(map, n);
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

static int scan_file(scan *s, const char *path, int mbox, char *buf)
{
	mimeo_parser *p = NULL;
	cli_input in;
	struct stat st;
	ssize_t got;
	int rc, first = 1;

	if (cli_input_open(&in, path) < 0)
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
	mimeo_parser_free(p);
	return 0;
}

static int run_scan(int argc, char **argv)
{
	scan s;
	char *buf;
	int i, mbox = 0, structure = 0, nfiles = 0, rc = CLI_OK;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mbox") == 0) {
			mbox = 1;
		} else if (strcmp(argv[i], "--structure") == 0) {
			structure = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("scan: unknown option '%s' (usage: mimeo scan [--mbox] [--structure] FILE...)",
				  argv[i]);
			return CLI_USAGE;
		} else {
			break;
		}
	}
	nfiles = argc - i;
	if (nfiles <= 0) {
		cli_error("scan: missing FILE (usage: mimeo scan [--mbox] [--structure] FILE...)");
		return CLI_USAGE;
	}
	memset(&s, 0, sizeof(s));
	s.structure = structure;
	mimeo_buf_init(&s.out, NULL);
	buf = malloc(SCAN_READ);
	if (!buf || mimeo_charset_cache_new(&s.cc, NULL) != MIMEO_OK) {
		free(buf);
		cli_error("out of memory");
		return CLI_FAILURE;
	}
	s.progress = isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	s.last = s.t0;
	for (; i < argc; i++) {
		if (scan_file(&s, argv[i], mbox, buf) < 0) {
			rc = CLI_FAILURE;
			break;
		}
	}
	show_progress(&s, 1);
	for (k = 0; k < s.nconvs; k++)
		mimeo_charset_conv_free(s.convs[k].cv);
	mimeo_charset_cache_free(s.cc);
	mimeo_buf_dispose(&s.out);
	free(buf);
	if (rc != CLI_OK)
		return rc;
	printf("messages %" PRIu64 " parts %" PRIu64 " bytes %" PRIu64 "\n",
	       s.messages, s.parts, s.bytes);
	if (getenv("SCAN_VERBOSE"))
		fprintf(stderr, "utf8 bytes (converted text + decoded headers) %" PRIu64 "\n",
			s.utf8);
	if (fflush(stdout) != 0) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		return CLI_FAILURE;
	}
	return CLI_OK;
}

const cli_command cli_cmd_scan = {
	"scan", "scan [--mbox] [--structure] FILE...  parse, decode and count (--structure: "
	"count only)", run_scan
};
