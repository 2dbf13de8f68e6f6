/*
 * cmd_headers.c - `mimeo headers [--json] [--field NAME]... FILE [SECTION]`:
 * the header fields of a message (or of the message inside a
 * message/rfc822 part, or of any MIME part), decoded to UTF-8; with --json
 * also parsed: address lists, dates, Content-Type/Disposition parameters.
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
#include <time.h>

#define USAGE "usage: mimeo headers [--json] [--field NAME]... FILE [SECTION]"

/* Fields whose value is an address list (RFC 5322 3.6.2, 3.6.3, 3.6.6 and
 * the common extensions). */
static const char *const address_fields[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc",
	"resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
	"return-path", "disposition-notification-to", "mail-followup-to",
	"mail-reply-to", NULL
};

static int name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcasecmp(name, *list) == 0)
			return 1;
	return 0;
}

typedef struct headers_run {
	const mimeo_part *part;
	mimeo_charset_cache *cc;
	mimeo_buf buf;
	const char **fields; /* --field names (argv pointers) */
	size_t nfields;
	int json;
	size_t matched;
} headers_run;

static int wanted(const headers_run *r, const char *name)
{
	size_t i;

	if (!r->nfields)
		return 1;
	for (i = 0; i < r->nfields; i++)
		if (strcasecmp(name, r->fields[i]) == 0)
			return 1;
	return 0;
}

/* ---- JSON extras: what the field means, parsed ---------------------- */

/* `,"key":"value"` (or null), or `{"key":...` to open the i-th object of
 * an array. */
static void json_member(const char *key, const char *value, int open_object, size_t i)
{
	if (open_object)
		fputs(i ? ",{" : "{", stdout);
	else
		putc(',', stdout);
	printf("\"%s\":", key);
	cli_json_cstr_or_null(stdout, value);
}

/* `,"key":` and, for a field that did not parse (rc not MIMEO_OK), null.
 * Returns whether it parsed: the caller then writes the value. */
static int json_parsed(const char *key, int rc)
{
	printf(",\"%s\":", key);
	if (rc != MIMEO_OK)
		fputs("null", stdout);
	return rc == MIMEO_OK;
}

static void json_addresses(headers_run *r, const char *raw, size_t len)
{
	mimeo_address_list *l = NULL;
	size_t i;

	if (!json_parsed("addresses", mimeo_address_list_parse(&l, r->cc, NULL, raw, len)))
		return;
	putc('[', stdout);
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];

		json_member("name", a->display_name, 1, i);
		json_member("local", a->local_part, 0, i);
		json_member("domain", a->domain, 0, i);
		json_member("group", a->group, 0, i);
		putc('}', stdout);
	}
	putc(']', stdout);
	mimeo_address_list_free(l);
}

static void json_date(const char *raw, size_t len)
{
	int64_t t;
	int off, a;
	time_t tt;
	struct tm tm;

	if (mimeo_date_parse(raw, len, &t, &off) != MIMEO_OK ||
	    (int64_t)(tt = (time_t)t) != t || !gmtime_r(&tt, &tm)) {
		fputs(",\"date\":null", stdout);
		return;
	}
	a = off < 0 ? -off : off;
	printf(",\"date\":{\"timestamp\":%" PRId64 ",\"utc\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\""
	       ",\"zone\":\"%c%02d%02d\"}",
	       t, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	       tm.tm_sec, off < 0 ? '-' : '+', a / 60, a % 60);
}

static void json_mime(headers_run *r, const char *raw, size_t len)
{
	mimeo_mime_field *f = NULL;
	size_t i;

	if (!json_parsed("mime", mimeo_mime_field_parse(&f, r->cc, NULL, raw, len)))
		return;
	json_member("type", f->type, 1, 0);
	json_member("subtype", f->subtype, 0, 0);
	fputs(",\"params\":[", stdout);
	for (i = 0; i < f->nparams; i++) {
		json_member("name", f->params[i].name, 1, i);
		json_member("value", f->params[i].value, 0, i);
		putc('}', stdout);
	}
	fputs("]}", stdout);
	mimeo_mime_field_free(f);
}

static void json_field(headers_run *r, size_t i, const char *name)
{
	size_t len;
	const char *raw = mimeo_part_header_raw(r->part, i, &len);

	fputs(r->matched ? ",{\"name\":" : "{\"name\":", stdout);
	cli_json_string(stdout, name, strlen(name));
	fputs(",\"value\":", stdout);
	cli_json_string(stdout, r->buf.ptr ? r->buf.ptr : "", r->buf.size);
	if (name_in(name, address_fields))
		json_addresses(r, raw, len);
	else if (strcasecmp(name, "date") == 0 || strcasecmp(name, "resent-date") == 0)
		json_date(raw, len);
	else if (strcasecmp(name, "content-type") == 0 ||
		 strcasecmp(name, "content-disposition") == 0)
		json_mime(r, raw, len);
	putc('}', stdout);
}

/* ---- the walk --------------------------------------------------------- */

static int print_fields(headers_run *r)
{
	size_t i, n = mimeo_part_header_count(r->part);

	if (r->json)
		fputs("{\"section\":", stdout);
	if (r->json) {
		cli_json_cstr_or_null(stdout, mimeo_part_section(r->part));
		fputs(",\"headers\":[", stdout);
	}
	for (i = 0; i < n; i++) {
		const char *name = mimeo_part_header_name(r->part, i);

		if (!wanted(r, name))
			continue;
		mimeo_buf_clear(&r->buf);
		if (mimeo_part_header_decoded(r->part, i, r->cc, NULL, &r->buf) != MIMEO_OK) {
			cli_error("out of memory");
			return CLI_FAILURE;
		}
		if (r->json) {
			json_field(r, i, name);
		} else {
			if (!r->nfields)
				printf("%s: ", name);
			cli_print_safe(stdout, r->buf.ptr ? r->buf.ptr : "", r->buf.size);
			putc('\n', stdout);
		}
		r->matched++;
	}
	if (r->json)
		fputs("]}\n", stdout);
	/* like grep: asking for fields the message does not have is a "no" */
	return r->nfields && !r->matched ? CLI_FAILURE : CLI_OK;
}

/* The node whose fields SECTION names: for a message/rfc822 part, the
 * message it carries (as IMAP's BODY[N.HEADER]); else the part itself. */
static const mimeo_part *find_part(const mimeo_message *m, const char *section)
{
	const mimeo_part *p;

	if (!section)
		return mimeo_message_root(m);
	p = mimeo_message_find_section(m, section);
	if (p && mimeo_part_is_message(p) && mimeo_part_first_child(p))
		p = mimeo_part_first_child(p);
	return p;
}

static int parse_args(int argc, char **argv, headers_run *r, const char **path,
		      const char **section)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			r->json = 1;
		} else if (strcmp(argv[i], "--field") == 0 && i + 1 < argc) {
			r->fields[r->nfields++] = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("headers: unknown option '%s' (" USAGE ")", argv[i]);
			return -1;
		} else if (!*path) {
			*path = argv[i];
		} else if (!*section) {
			*section = argv[i];
		} else {
			cli_error("headers: too many arguments (" USAGE ")");
			return -1;
		}
	}
	if (!*path) {
		cli_error("headers: missing FILE (" USAGE ")");
		return -1;
	}
	return 0;
}

static int run_headers(int argc, char **argv)
{
	headers_run r = { 0 };
	const char *path = NULL, *section = NULL;
	mimeo_message *m;
	int rc;

	size_t msgn;

	if (cli_take_message_opt(&argc, argv, &msgn) < 0)
		return CLI_USAGE;
	mimeo_buf_init(&r.buf, NULL);
	r.fields = calloc((size_t)argc, sizeof *r.fields);
	if (!r.fields) {
		cli_error("out of memory");
		return CLI_FAILURE;
	}
	if (parse_args(argc, argv, &r, &path, &section) < 0) {
		free(r.fields);
		return CLI_USAGE;
	}
	m = cli_load_message_n(path, msgn);
	if (!m) {
		free(r.fields);
		return CLI_FAILURE;
	}
	r.part = find_part(m, section);
	if (!r.part) {
		cli_error("headers: %s has no part %s", path, section);
		rc = CLI_FAILURE;
	} else if (mimeo_charset_cache_new(&r.cc, NULL) != MIMEO_OK) {
		cli_error("out of memory");
		rc = CLI_FAILURE;
	} else {
		rc = print_fields(&r);
	}
	mimeo_charset_cache_free(r.cc);
	mimeo_buf_dispose(&r.buf);
	mimeo_message_free(m);
	free(r.fields);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_headers = {
	"headers", "headers [--json] [--field NAME]... FILE [SECTION]  decoded header fields",
	run_headers
};
