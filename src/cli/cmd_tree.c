/*
 * cmd_tree.c - `mimeo tree`, `mimeo cat` and `mimeo extract`: commands that
 * work on the message tree (mimeo/message.h).
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

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* "tnef", "uuencode" or "yenc" for a derived node (mimeo/expand.h). */
static const char *derived_name(const mimeo_part *p)
{
	switch (mimeo_part_derived(p)) {
	case MIMEO_EXPAND_TNEF:
		return "tnef";
	case MIMEO_EXPAND_UUENCODE:
		return "uuencode";
	case MIMEO_EXPAND_YENC:
		return "yenc";
	default:
		return NULL;
	}
}

/* `,"name":value` (a JSON string, or null for NULL). */
static void json_member(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",\"%s\":", name);
	cli_json_cstr_or_null(out, value);
}

/* Open the object of part p in a list: its section and type ("a/b");
 * *first says whether a comma goes before it. */
static void part_object(FILE *out, const mimeo_part *p, int *first)
{
	char type[512];

	snprintf(type, sizeof(type), "%s/%s", mimeo_part_type(p), mimeo_part_subtype(p));
	fputs(*first ? "{\"section\":" : ",{\"section\":", out);
	*first = 0;
	cli_json_cstr_or_null(out, mimeo_part_section(p));
	json_member(out, "type", type);
}

static int print_json(const mimeo_message *m)
{
	const mimeo_part *root = mimeo_message_root(m), *p;
	mimeo_charset_cache *cc = NULL;
	mimeo_buf buf = MIMEO_BUF_INIT;
	FILE *out = stdout;
	size_t i, n;
	int first = 1;

	if (mimeo_charset_cache_new(&cc, NULL) != MIMEO_OK) {
		cli_error("out of memory");
		return CLI_FAILURE;
	}
	fputs("{\"headers\":[", out);
	n = mimeo_part_header_count(root);
	for (i = 0; i < n; i++) {
		const char *name = mimeo_part_header_name(root, i);

		mimeo_buf_clear(&buf);
		if (mimeo_part_header_decoded(root, i, cc, NULL, &buf) != MIMEO_OK) {
			cli_error("out of memory");
			mimeo_buf_dispose(&buf);
			mimeo_charset_cache_free(cc);
			return CLI_FAILURE;
		}
		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		cli_json_string(out, name, strlen(name));
		fputs(",\"value\":", out);
		cli_json_string(out, buf.ptr ? buf.ptr : "", buf.size);
		putc('}', out);
	}
	fputs("],\"parts\":[", out);
	for (p = root; p; p = mimeo_part_next(p)) {
		if (!mimeo_part_is_leaf(p))
			continue;
		part_object(out, p, &first);
		json_member(out, "charset", mimeo_part_charset(p));
		json_member(out, "encoding", mimeo_part_cte_name(p));
		json_member(out, "disposition", mimeo_part_disposition(p));
		json_member(out, "filename", mimeo_part_filename(p));
		fprintf(out, ",\"size\":%" PRIu64, mimeo_part_size(p));
		if (mimeo_part_derived(p))
			json_member(out, "derived", derived_name(p));
		putc('}', out);
	}
	fputs("],\"security\":[", out);
	first = 1;
	for (p = root; p; p = mimeo_part_next(p)) {
		unsigned sec = mimeo_part_security(p);

		if (!sec)
			continue;
		part_object(out, p, &first);
		json_member(out, "mark", mimeo_security_role_name(sec));
		json_member(out, "scheme", mimeo_security_scheme_name(sec));
		json_member(out, "protocol", mimeo_part_param(p, "protocol"));
		json_member(out, "micalg", mimeo_part_param(p, "micalg"));
		json_member(out, "smime_type", mimeo_part_param(p, "smime-type"));
		putc('}', out);
	}
	/* what was malformed and where (the first MIMEO_MESSAGE_DEFECTS_KEPT;
	 * defect_count counts them all) */
	fputs("],\"defects\":[", out);
	{
		mimeo_defect d;
		const mimeo_part *where;

		for (i = 0; mimeo_message_defect(m, i, &d, &where) == MIMEO_OK; i++) {
			fputs(i ? ",{\"kind\":" : "{\"kind\":", out);
			cli_json_cstr_or_null(out, mimeo_defect_name(d.code));
			fprintf(out, ",\"severity\":\"%s\",\"offset\":%" PRIu64 ",\"section\":",
				d.severity == MIMEO_DEFECT_CRIT ? "critical" : "warning", d.offset);
			cli_json_cstr_or_null(out, mimeo_part_section(where));
			fputs(",\"reason\":", out);
			cli_json_cstr_or_null(out, d.reason);
			putc('}', out);
		}
	}
	fprintf(out, "],\"defect_count\":%zu}\n", mimeo_message_defect_count(m));
	mimeo_buf_dispose(&buf);
	mimeo_charset_cache_free(cc);
	return CLI_OK;
}

/* ------------------------------------------------------------------ */
/* tree                                                                */
/* ------------------------------------------------------------------ */

/* Print text for a terminal: control characters (which could move the
 * cursor, change colours or start a line) become U+FFFD, as in `headers`. */
static void print_safe(FILE *out, const char *s)
{
	cli_print_safe(out, s, strlen(s));
}

/* The signed/encrypted mark: ", signature pgp" after a leaf's details,
 * "  signed smime" after a multipart's type. */
static void print_security(FILE *out, const mimeo_part *p)
{
	unsigned sec = mimeo_part_security(p);
	const char *role = mimeo_security_role_name(sec);
	const char *scheme = mimeo_security_scheme_name(sec);

	if (!role && !scheme)
		return;
	fputs(mimeo_part_is_leaf(p) ? ", " : "  ", out);
	if (role)
		fputs(role, out);
	if (scheme)
		fprintf(out, "%s%s", role ? " " : "", scheme);
}

static int print_tree(const mimeo_message *m)
{
	const mimeo_part *p;
	FILE *out = stdout;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		const char *section = mimeo_part_section(p);
		unsigned d;

		for (d = 0; d < mimeo_part_depth(p); d++)
			fputs("  ", out);
		if (*section)
			fprintf(out, "%s ", section);
		fprintf(out, "%s/%s", mimeo_part_type(p), mimeo_part_subtype(p));
		if (mimeo_part_is_leaf(p)) {
			fprintf(out, "  %" PRIu64 " bytes", mimeo_part_size(p));
			if (mimeo_part_cte_name(p)) {
				fputs(", ", out);
				print_safe(out, mimeo_part_cte_name(p));
			}
			if (mimeo_part_charset(p)) {
				fputs(", ", out);
				print_safe(out, mimeo_part_charset(p));
			}
			if (mimeo_part_disposition(p)) {
				fputs(", ", out);
				print_safe(out, mimeo_part_disposition(p));
			}
			if (mimeo_part_filename(p)) {
				fputs(", \"", out);
				print_safe(out, mimeo_part_filename(p));
				putc('"', out);
			}
			if (derived_name(p))
				fprintf(out, ", from %s", derived_name(p));
		}
		print_security(out, p);
		putc('\n', out);
	}
	return CLI_OK;
}

static int run_tree(int argc, char **argv)
{
	const char *path = NULL;
	mimeo_message *m;
	int json = 0, i, rc;
	size_t msgn;

	if (cli_take_message_opt(&argc, argv, &msgn) < 0)
		return CLI_USAGE;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && !path) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "-") != 0) {
			cli_error("tree: unknown option '%s' (usage: mimeo tree [--json] FILE)", argv[i]);
			return CLI_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			cli_error("tree: too many arguments (usage: mimeo tree [--json] FILE)");
			return CLI_USAGE;
		}
	}
	if (!path) {
		cli_error("tree: missing FILE (usage: mimeo tree [--json] FILE)");
		return CLI_USAGE;
	}
	m = cli_load_message_n(path, msgn);
	if (!m || cli_expand(m, path) != 0) {
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	rc = json ? print_json(m) : print_tree(m);
	mimeo_message_free(m);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_tree = {
	"tree", "tree [--json] FILE       show the MIME structure of a message", run_tree
};

/* ------------------------------------------------------------------ */
/* cat                                                                 */
/* ------------------------------------------------------------------ */

/* The leaf with this section (a message/rfc822 part may share its section
 * with the multipart it encapsulates; neither is a leaf). */
static const mimeo_part *find_leaf(const mimeo_message *m, const char *section)
{
	const mimeo_part *p;

	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		if (strcmp(mimeo_part_section(p), section) == 0 && mimeo_part_is_leaf(p))
			return p;
	}
	return NULL;
}

static int run_cat(int argc, char **argv)
{
	const char *args[2];
	const mimeo_part *p;
	mimeo_message *m;
	int text = 0, nargs = 0, i, r, rc = CLI_OK;
	size_t msgn;

	if (cli_take_message_opt(&argc, argv, &msgn) < 0)
		return CLI_USAGE;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--text") == 0 && !nargs) {
			text = 1;
		} else if (argv[i][0] == '-' && argv[i][1] && !nargs) {
			cli_error("cat: unknown option '%s' (usage: mimeo cat [--text] FILE SECTION)",
				  argv[i]);
			return CLI_USAGE;
		} else if (nargs < 2) {
			args[nargs++] = argv[i];
		} else {
			cli_error("cat: too many arguments (usage: mimeo cat [--text] FILE SECTION)");
			return CLI_USAGE;
		}
	}
	if (nargs != 2) {
		cli_error("cat: missing %s (usage: mimeo cat [--text] FILE SECTION)",
			  nargs ? "SECTION" : "FILE");
		return CLI_USAGE;
	}
	m = cli_load_message_n(args[0], msgn);
	if (!m || cli_expand(m, args[0]) != 0) {
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	p = find_leaf(m, args[1]);
	if (!p) {
		if (mimeo_message_find_section(m, args[1]) && *args[1])
			cli_error("section %s of %s is a multipart or message, not a leaf",
				  args[1], args[0]);
		else
			cli_error("no section '%s' in %s", args[1], args[0]);
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	/* decoded (and converted) in blocks, straight from the source */
	r = mimeo_part_decode(p, text ? MIMEO_DECODE_UTF8 : 0, NULL, cli_write_body, NULL, NULL);
	if (r != MIMEO_OK) {
		/* a failed write to stdout was reported by cli_write_body */
		if (r == MIMEO_EIO && mimeo_message_io_error(m))
			cli_error("cannot read %s: %s", args[0], mimeo_message_io_error(m));
		else if (r != MIMEO_EIO)
			cli_error("cannot decode section %s of %s: %s", args[1], args[0],
				  mimeo_strerror(r));
		rc = CLI_FAILURE;
	}
	mimeo_message_free(m);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_cat = {
	"cat", "cat [--text] FILE SECTION  write the decoded body of one part", run_cat
};

/* ------------------------------------------------------------------ */
/* extract                                                             */
/* ------------------------------------------------------------------ */

static int run_extract(int argc, char **argv)
{
	const char *path = NULL, *dir = NULL;
	const mimeo_part *p;
	mimeo_message *m;
	cli_outdir *out;
	int i, rc, all = 0, expand = 1, progress = CLI_PROGRESS_AUTO, jobs_given = 0;
	size_t msgn, workers = cli_team_cores();

	if (cli_take_message_opt(&argc, argv, &msgn) < 0)
		return CLI_USAGE;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			all = 1;
		} else if (strcmp(argv[i], "--no-expand") == 0) {
			expand = 0;
		} else if (cli_progress_option(argv[i], &progress)) {
			continue;
		} else if (strncmp(argv[i], "-j", 2) == 0) {
			const char *v = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (cli_parse_count(v, &workers) < 0 || workers > 1024) {
				cli_error("extract: -j takes a number of workers from 1 to 1024 (%s)",
					  "usage: mimeo extract [--all [-j N]] [--no-expand] [--message N] FILE -o DIR");
				return CLI_USAGE;
			}
			jobs_given = 1;
		} else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
			if (i + 1 >= argc) {
				cli_error("extract: -o needs a DIR (usage: mimeo extract [--all [-j N]] [--no-expand] [--message N] FILE -o DIR)");
				return CLI_USAGE;
			}
			dir = argv[++i];
		} else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2]) {
			dir = argv[i] + 2;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("extract: unknown option '%s' (usage: mimeo extract [--all [-j N]] [--no-expand] [--message N] FILE -o DIR)",
				  argv[i]);
			return CLI_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			cli_error("extract: too many arguments (usage: mimeo extract [--all [-j N]] [--no-expand] [--message N] FILE -o DIR)");
			return CLI_USAGE;
		}
	}
	if (!path || !dir || !*dir) {
		cli_error("extract: missing %s (usage: mimeo extract [--all [-j N]] [--no-expand] [--message N] FILE -o DIR)",
			  path ? "-o DIR" : "FILE");
		return CLI_USAGE;
	}
	if (all && msgn) {
		cli_error("extract: --all and --message exclude each other");
		return CLI_USAGE;
	}
	if (jobs_given && !all) {
		cli_error("extract: -j is for --all (one message is extracted by one process)");
		return CLI_USAGE;
	}
	if (all)
		return cli_finish_stdout(cli_extract_all(path, dir, progress, expand, workers));
	m = cli_load_message_n(path, msgn);
	if (!m || (expand && cli_expand(m, path) != 0)) {
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	out = cli_outdir_open(dir, "extract");
	if (!out) {
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	/* A file that cannot be saved (full disk, a name the filesystem
	 * refuses) is reported and the others are still tried: the failure
	 * list and the exit status come from cli_outdir_close. */
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p)) {
		char label[600];

		if (!cli_is_attachment(p))
			continue;
		snprintf(label, sizeof(label), "section %s", mimeo_part_section(p));
		/* decoded in blocks, straight from the source into the file */
		if (cli_outdir_save(out, mimeo_part_filename(p), label, cli_produce_body,
				    (void *)p) == 0)
			cli_warn_yenc("extract", p);
	}
	rc = cli_outdir_close(out);
	mimeo_message_free(m);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_extract = {
	"extract", "extract [--all [-j N]] [--no-expand] FILE -o DIR  save every attachment into DIR (--all: of every message)", run_extract
};
