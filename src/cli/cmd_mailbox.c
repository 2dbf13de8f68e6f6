/*
 * cmd_mailbox.c - `mimeo ls [--json] FILE|DIR...` (one line per message),
 * over mbox files (also .gz), Maildir folders and single message files
 * (mimeo/mailbox.h); `extract --all` is in cmd_extract_all.c.
 *
 * `ls` needs headers and structure, not bodies: each message is fed to a
 * push parser in MIMEO_PARSE_NO_DECODE mode straight from the mailbox's
 * mapping (no copy, no tree), which is what lets it list at memory speed.
 * It counts as attachments the leaves that `extract` writes
 * (cli_is_attachment: a filename, or the disposition "attachment"; the
 * files inside TNEF parts and text bodies that extract also writes are not
 * counted: finding them means decoding bodies),
 * reading the same fields the tree reads: the first Content-Disposition
 * (its "filename") and the first Content-Type (its "name").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* ls: what one message shows                                          */
/* ------------------------------------------------------------------ */

typedef struct summary {
	mimeo_buf date, from, subject, msgid; /* raw values, first field each */
	int has_date, has_from, has_subject, has_msgid;
	mimeo_buf disp;      /* Content-Disposition of the current part */
	int has_disp;
	size_t attachments;
	int err;             /* MIMEO_ENOMEM in a callback */
	int truncated;       /* the root part ended early (input ended) */
	mimeo_charset_cache *cc;
} summary;

static int keep(mimeo_buf *b, int *has, const char *v, size_t n)
{
	if (*has)
		return 0; /* the first field wins, as in the tree */
	*has = 1;
	mimeo_buf_clear(b);
	return mimeo_buf_put(b, v, n);
}

static int s_part_begin(const mimeo_part_info *part, void *user)
{
	summary *s = user;

	(void)part;
	s->has_disp = 0;
	return 0;
}

static int s_header(const mimeo_part_info *part, const char *name, size_t nlen,
		    const char *value, size_t vlen, void *user)
{
	summary *s = user;
	int rc = 0;

	if (nlen == 19 && strncasecmp(name, "Content-Disposition", 19) == 0)
		rc = keep(&s->disp, &s->has_disp, value, vlen);
	else if (part->depth != 0)
		return 0;
	else if (nlen == 4 && strncasecmp(name, "Date", 4) == 0)
		rc = keep(&s->date, &s->has_date, value, vlen);
	else if (nlen == 4 && strncasecmp(name, "From", 4) == 0)
		rc = keep(&s->from, &s->has_from, value, vlen);
	else if (nlen == 7 && strncasecmp(name, "Subject", 7) == 0)
		rc = keep(&s->subject, &s->has_subject, value, vlen);
	else if (nlen == 10 && strncasecmp(name, "Message-ID", 10) == 0)
		rc = keep(&s->msgid, &s->has_msgid, value, vlen);
	if (rc != MIMEO_OK) {
		s->err = MIMEO_ENOMEM;
		return MIMEO_EUSER;
	}
	return 0;
}

/* cli_is_attachment() on the parser's view of a part: a leaf with a
 * filename (Content-Disposition "filename", else Content-Type "name") or
 * the disposition "attachment". */
static int s_headers_end(const mimeo_part_info *part, void *user)
{
	summary *s = user;
	mimeo_mime_field *d = NULL;
	int att = 0;

	if (!(part->flags & MIMEO_PART_LEAF))
		return 0;
	if (s->has_disp) {
		if (mimeo_mime_field_parse(&d, s->cc, NULL,
					   s->disp.ptr ? s->disp.ptr : "", s->disp.size) != MIMEO_OK) {
			s->err = MIMEO_ENOMEM;
			return MIMEO_EUSER;
		}
		att = mimeo_mime_field_param(d, "filename") != NULL ||
		      (d->type && strcmp(d->type, "attachment") == 0);
		mimeo_mime_field_free(d);
	}
	if (!att && part->content_type && mimeo_mime_field_param(part->content_type, "name"))
		att = 1;
	s->attachments += att;
	return 0;
}

static int s_part_end(const mimeo_part_info *part, void *user)
{
	summary *s = user;

	if (part->depth == 0 && (part->flags & MIMEO_PART_TRUNCATED))
		s->truncated = 1;
	return 0;
}

static const mimeo_parser_callbacks summary_cbs = {
	MIMEO_PARSER_CALLBACKS_VERSION,
	NULL, s_part_begin, s_header, s_headers_end, NULL,
	NULL, NULL, s_part_end, NULL, NULL,
};

static void summary_reset(summary *s)
{
	s->has_date = s->has_from = s->has_subject = s->has_msgid = s->has_disp = 0;
	s->attachments = 0;
	s->err = 0;
	s->truncated = 0;
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil(int64_t days, int *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ISO 8601 in the zone the Date field was written in; 0 or -1. */
static int iso_date(const summary *s, char *out, size_t cap, int for_json)
{
	int64_t t, local, days, secs;
	int off, y;
	unsigned mo, d;

	if (!s->has_date || mimeo_date_parse(s->date.ptr ? s->date.ptr : "", s->date.size, &t,
					     &off) != MIMEO_OK)
		return -1;
	local = t + (int64_t)off * 60;
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil(days, &y, &mo, &d);
	if (for_json)
		snprintf(out, cap, "%04d-%02u-%02uT%02u:%02u:%02u%c%02u:%02u", y, mo, d,
			 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60),
			 off < 0 ? '-' : '+', (unsigned)(abs(off) / 60), (unsigned)(abs(off) % 60));
	else
		snprintf(out, cap, "%04d-%02u-%02u %02u:%02u", y, mo, d, (unsigned)(secs / 3600),
			 (unsigned)(secs / 60 % 60));
	return 0;
}

/* From as "Name <local@domain>" (or the address alone), decoded; the
 * address only for the text listing when `name_only` (the name if any). */
static int from_text(summary *s, mimeo_buf *out, int name_only)
{
	mimeo_address_list *l = NULL;
	const mimeo_address *a = NULL;
	size_t i;
	int rc = MIMEO_OK;

	mimeo_buf_clear(out);
	if (!s->has_from)
		return MIMEO_OK;
	if (mimeo_address_list_parse(&l, s->cc, NULL, s->from.ptr ? s->from.ptr : "",
				     s->from.size) != MIMEO_OK)
		return MIMEO_ENOMEM;
	for (i = 0; i < l->count && !a; i++)
		if (l->items[i].local_part)
			a = &l->items[i];
	if (!a) {
		/* no address in it: the decoded text */
		mimeo_address_list_free(l);
		return mimeo_header_decode_text(s->cc, NULL, s->from.ptr ? s->from.ptr : "",
						s->from.size, out, NULL);
	}
	if (a->display_name && *a->display_name) {
		rc = mimeo_buf_puts(out, a->display_name);
		if (name_only)
			goto done;
		if (!rc)
			rc = mimeo_buf_puts(out, " <");
	}
	if (!rc)
		rc = mimeo_buf_puts(out, a->local_part);
	if (!rc && a->domain) {
		rc = mimeo_buf_puts(out, "@");
		if (!rc)
			rc = mimeo_buf_puts(out, a->domain);
	}
	if (!rc && a->display_name && *a->display_name)
		rc = mimeo_buf_puts(out, ">");
done:
	mimeo_address_list_free(l);
	return rc;
}

static int decoded(summary *s, const mimeo_buf *raw, int has, mimeo_buf *out)
{
	mimeo_buf_clear(out);
	if (!has)
		return MIMEO_OK;
	return mimeo_header_decode_text(s->cc, NULL, raw->ptr ? raw->ptr : "", raw->size, out,
					NULL);
}

/* Print at most `width` characters of UTF-8 `str`, made safe for a
 * terminal (controls and invalid bytes become '?'), padded with spaces
 * when `pad`; a cut value ends in "~". */
static void column(FILE *out, const char *str, size_t len, size_t width, int pad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, shown = 0, chars = 0, k;

	/* count characters first, to know whether it must be cut */
	for (k = 0; k < len; chars++) {
		size_t n = s[k] < 0x80 ? 1 : mimeo_utf8_valid_prefix(s + k, len - k < 4 ? len - k : 4);
		size_t want = s[k] >= 0xf0 ? 4 : s[k] >= 0xe0 ? 3 : 2;

		k += s[k] < 0x80 ? 1 : (n >= want ? want : 1);
	}
	while (i < len && shown < width) {
		if (chars > width && shown == width - 1) {
			putc('~', out);
			shown++;
			break;
		}
		if (s[i] < 0x80) {
			putc(s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], out);
			i++;
		} else {
			size_t want = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
			size_t n = mimeo_utf8_valid_prefix(s + i, len - i < 4 ? len - i : 4);

			if (n >= want) {
				fwrite(s + i, 1, want, out);
				i += want;
			} else {
				putc('?', out);
				i++;
			}
		}
		shown++;
	}
	while (pad && shown++ < width)
		putc(' ', out);
}

static void human_size(uint64_t n, char *out, size_t cap)
{
	if (n < 1000)
		snprintf(out, cap, "%" PRIu64, n);
	else if (n < 1000 * 1000)
		snprintf(out, cap, "%.1fK", (double)n / 1e3);
	else if (n < (uint64_t)1000 * 1000 * 1000)
		snprintf(out, cap, "%.1fM", (double)n / 1e6);
	else
		snprintf(out, cap, "%.1fG", (double)n / 1e9);
}

typedef struct ls_run {
	int json;
	summary s;
	mimeo_parser *p;
	mimeo_buf a, b;           /* scratch for decoded values */
	size_t unreadable;        /* messages that could not be read */
	size_t truncated;         /* mailboxes ending mid-message */
	uint64_t done, messages;  /* progress */
	cli_progress prog;
} ls_run;

static int print_entry(ls_run *r, const cli_box *bx, const mimeo_mailbox_entry *e, int numw)
{
	summary *s = &r->s;
	char date[48];
	int has_date = iso_date(s, date, sizeof(date), r->json) == 0;
	FILE *out = stdout;

	if (r->json) {
		fputs("{\"file\":", out);
		cli_json_cstr_or_null(out, e->path ? e->path : bx->arg);
		fprintf(out, ",\"n\":%zu,\"offset\":%" PRIu64 ",\"size\":%" PRIu64 ",\"date\":",
			e->number, e->offset, e->size);
		cli_json_cstr_or_null(out, has_date ? date : NULL);
		if (from_text(s, &r->a, 0) != MIMEO_OK)
			return MIMEO_ENOMEM;
		fputs(",\"from\":", out);
		cli_json_string(out, r->a.ptr ? r->a.ptr : "", r->a.size);
		if (decoded(s, &s->subject, s->has_subject, &r->a) != MIMEO_OK)
			return MIMEO_ENOMEM;
		fputs(",\"subject\":", out);
		cli_json_string(out, r->a.ptr ? r->a.ptr : "", r->a.size);
		if (decoded(s, &s->msgid, s->has_msgid, &r->a) != MIMEO_OK)
			return MIMEO_ENOMEM;
		fputs(",\"message_id\":", out);
		if (s->has_msgid)
			cli_json_string(out, r->a.ptr ? r->a.ptr : "", r->a.size);
		else
			fputs("null", out);
		fprintf(out, ",\"attachments\":%zu}\n", s->attachments);
		return MIMEO_OK;
	}
	{
		char size[24];

		human_size(e->size, size, sizeof(size));
		if (from_text(s, &r->a, 1) != MIMEO_OK ||
		    decoded(s, &s->subject, s->has_subject, &r->b) != MIMEO_OK)
			return MIMEO_ENOMEM;
		fprintf(out, "%*zu  %-16s  ", numw, e->number, has_date ? date : "-");
		column(out, r->a.ptr ? r->a.ptr : "", r->a.size, 24, 1);
		fputs("  ", out);
		column(out, r->b.ptr ? r->b.ptr : "", r->b.size, 44, 1);
		fprintf(out, "  %7s  %zu\n", size, s->attachments);
	}
	return MIMEO_OK;
}

static int ls_box(ls_run *r, cli_box *bx)
{
	size_t i, n = mimeo_mailbox_count(bx->mb);
	int numw = 1, rc;
	size_t k;

	for (k = n; k >= 10; k /= 10)
		numw++;
	for (i = 1; i <= n; i++) {
		mimeo_mailbox_entry e;
		const char *data;
		size_t len;

		mimeo_mailbox_entry_get(bx->mb, i, &e);
		if (mimeo_mailbox_message(bx->mb, i, &data, &len) != MIMEO_OK) {
			cli_error("%s", mimeo_mailbox_error(bx->mb));
			r->unreadable++;
			continue;
		}
		summary_reset(&r->s);
		mimeo_parser_reset(r->p);
		rc = mimeo_parser_feed(r->p, data, len);
		if (rc == MIMEO_OK)
			rc = mimeo_parser_finish(r->p);
		if (rc != MIMEO_OK) {
			cli_error("cannot read message %zu of %s: %s", i, bx->arg,
				  mimeo_strerror(r->s.err ? r->s.err : rc));
			return -1;
		}
		if (r->s.truncated && i == n && mimeo_mailbox_type(bx->mb) == MIMEO_MAILBOX_MBOX)
			r->truncated++, fprintf(stderr, "mimeo: %s ends inside message %zu "
						"(listed as far as it goes)\n", bx->arg, i);
		if (print_entry(r, bx, &e, numw) != MIMEO_OK) {
			cli_error("out of memory");
			return -1;
		}
		r->done += len;
		r->messages++;
		cli_progress_update(&r->prog, r->done, r->messages);
	}
	return 0;
}

#define LS_USAGE "usage: mimeo ls [--json] [--progress|--no-progress] FILE|DIR..."

static int run_ls(int argc, char **argv)
{
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	ls_run r;
	cli_box *boxes;
	int i, first, nargs, mode = CLI_PROGRESS_AUTO, rc = CLI_OK;
	uint64_t total = 0;
	size_t k, opened = 0;

	memset(&r, 0, sizeof(r));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			r.json = 1;
		} else if (cli_progress_option(argv[i], &mode)) {
			continue;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("ls: unknown option '%s' (" LS_USAGE ")", argv[i]);
			return CLI_USAGE;
		} else {
			break;
		}
	}
	first = i;
	nargs = argc - first;
	if (nargs <= 0) {
		cli_error("ls: missing FILE (" LS_USAGE ")");
		return CLI_USAGE;
	}
	boxes = calloc((size_t)nargs, sizeof(*boxes));
	if (!boxes) {
		cli_error("out of memory");
		return CLI_FAILURE;
	}
	/* every input is opened (indexed) first, so the progress line knows
	 * the total; one that cannot be opened is reported and counted */
	for (k = 0; k < (size_t)nargs; k++) {
		if (cli_box_open(&boxes[k], argv[first + (int)k]) < 0) {
			rc = CLI_FAILURE;
			continue;
		}
		opened++;
		total += mimeo_mailbox_size(boxes[k].mb);
	}
	if (mimeo_charset_cache_new(&r.s.cc, NULL) != MIMEO_OK) {
		cli_error("out of memory");
		rc = CLI_FAILURE;
		goto out;
	}
	cli_progress_start(&r.prog, "ls", mode, total);
	for (k = 0; k < (size_t)nargs; k++) {
		if (!boxes[k].mb)
			continue;
		po.flags = mimeo_mailbox_parse_flags(boxes[k].mb) | MIMEO_PARSE_NO_DECODE;
		mimeo_parser_free(r.p);
		r.p = NULL;
		if (mimeo_parser_new(&r.p, &po, &summary_cbs, &r.s) != MIMEO_OK) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			break;
		}
		if (!r.json && nargs > 1)
			printf("%s%s:\n", k ? "\n" : "", boxes[k].arg);
		if (ls_box(&r, &boxes[k]) < 0) {
			rc = CLI_FAILURE;
			break;
		}
		cli_box_close(&boxes[k]);
	}
	cli_progress_end(&r.prog);
	if (r.unreadable) {
		cli_error("ls: %zu message%s could not be read", r.unreadable,
			  r.unreadable == 1 ? "" : "s");
		rc = CLI_FAILURE;
	}
	if (opened < (size_t)nargs && nargs > 1)
		cli_error("ls: %zu of %d inputs could not be opened", (size_t)nargs - opened, nargs);
out:
	mimeo_parser_free(r.p);
	mimeo_charset_cache_free(r.s.cc);
	mimeo_buf_dispose(&r.s.date);
	mimeo_buf_dispose(&r.s.from);
	mimeo_buf_dispose(&r.s.subject);
	mimeo_buf_dispose(&r.s.msgid);
	mimeo_buf_dispose(&r.s.disp);
	mimeo_buf_dispose(&r.a);
	mimeo_buf_dispose(&r.b);
	for (k = 0; k < (size_t)nargs; k++)
		cli_box_close(&boxes[k]);
	free(boxes);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_ls = {
	"ls", "ls [--json] FILE|DIR...  list the messages of mailboxes (mbox, Maildir)", run_ls
};
