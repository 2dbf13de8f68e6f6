/*
 * cmd_tree.c - `mimeo tree`, `mimeo cat` and `mimeo extract`: commands that
 * work on the message tree (mimeo/message.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "commands.h"

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
		size_t size;
		char type[512];

		if (!mimeo_part_is_leaf(p))
			continue;
		mimeo_part_body(p, &size);
		snprintf(type, sizeof(type), "%s/%s", mimeo_part_type(p), mimeo_part_subtype(p));
		fputs(first ? "{\"section\":" : ",{\"section\":", out);
		first = 0;
		cli_json_cstr_or_null(out, mimeo_part_section(p));
		fputs(",\"type\":", out);
		cli_json_cstr_or_null(out, type);
		fputs(",\"charset\":", out);
		cli_json_cstr_or_null(out, mimeo_part_charset(p));
		fputs(",\"encoding\":", out);
		cli_json_cstr_or_null(out, mimeo_part_cte_name(p));
		fputs(",\"disposition\":", out);
		cli_json_cstr_or_null(out, mimeo_part_disposition(p));
		fputs(",\"filename\":", out);
		cli_json_cstr_or_null(out, mimeo_part_filename(p));
		fprintf(out, ",\"size\":%zu}", size);
	}
	fputs("],\"security\":[", out);
	first = 1;
	for (p = root; p; p = mimeo_part_next(p)) {
		unsigned sec = mimeo_part_security(p);
		char type[512];

		if (!sec)
			continue;
		snprintf(type, sizeof(type), "%s/%s", mimeo_part_type(p), mimeo_part_subtype(p));
		fputs(first ? "{\"section\":" : ",{\"section\":", out);
		first = 0;
		cli_json_cstr_or_null(out, mimeo_part_section(p));
		fputs(",\"type\":", out);
		cli_json_cstr_or_null(out, type);
		fputs(",\"mark\":", out);
		cli_json_cstr_or_null(out, mimeo_security_role_name(sec));
		fputs(",\"scheme\":", out);
		cli_json_cstr_or_null(out, mimeo_security_scheme_name(sec));
		fputs(",\"protocol\":", out);
		cli_json_cstr_or_null(out, mimeo_part_param(p, "protocol"));
		fputs(",\"micalg\":", out);
		cli_json_cstr_or_null(out, mimeo_part_param(p, "micalg"));
		fputs(",\"smime_type\":", out);
		cli_json_cstr_or_null(out, mimeo_part_param(p, "smime-type"));
		putc('}', out);
	}
	fputs("]}\n", out);
	mimeo_buf_dispose(&buf);
	mimeo_charset_cache_free(cc);
	return CLI_OK;
}

/* ------------------------------------------------------------------ */
/* tree                                                                */
/* ------------------------------------------------------------------ */

/* Print text for a terminal: control characters (which could move the
 * cursor or change colours) become '?'. */
static void print_safe(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
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
			size_t size;

			mimeo_part_body(p, &size);
			fprintf(out, "  %zu bytes", size);
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
	m = cli_load_message(path);
	if (!m)
		return CLI_FAILURE;
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
	int text = 0, nargs = 0, i, rc = CLI_OK;
	const void *body;
	size_t len;

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
	m = cli_load_message(args[0]);
	if (!m)
		return CLI_FAILURE;
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
	if (text) {
		mimeo_buf buf = MIMEO_BUF_INIT;

		if (mimeo_part_text(p, NULL, &buf, NULL) != MIMEO_OK) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
		} else if (cli_write_stdout(buf.ptr, buf.size) < 0) {
			rc = CLI_FAILURE;
		}
		mimeo_buf_dispose(&buf);
	} else {
		body = mimeo_part_body(p, &len);
		if (cli_write_stdout(body, len) < 0)
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

static int is_attachment(const mimeo_part *p)
{
	const char *d = mimeo_part_disposition(p);

	return mimeo_part_is_leaf(p) &&
	       (mimeo_part_filename(p) || (d && strcmp(d, "attachment") == 0));
}

/* Largest prefix of s of at most max bytes not splitting a UTF-8
 * character. */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Create a new file in dirfd called `name`, or name-1.ext, name-2.ext...
 * (never overwriting, never following a symbolic link).  Writes the name
 * used to `used`.  Returns the descriptor or -1 (errno set). */
static int create_unique(int dirfd, const char *name, char *used, size_t usedsz)
{
	const char *dot = strrchr(name, '.');
	size_t len = strlen(name), extlen, baselen;
	unsigned long n;

	if (!dot || dot == name)
		dot = name + len;
	extlen = len - (size_t)(dot - name);
	baselen = (size_t)(dot - name);
	for (n = 0; n < 1000000; n++) {
		char suffix[24];
		size_t slen = 0, b;
		int fd;

		if (n)
			slen = (size_t)snprintf(suffix, sizeof(suffix), "-%lu", n);
		/* The suffix must not push the name over NAME_MAX. */
		b = baselen;
		if (b + slen + extlen > MIMEO_FILENAME_MAX)
			b = utf8_prefix(name, baselen, MIMEO_FILENAME_MAX - slen - extlen);
		if (b + slen + extlen + 1 > usedsz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(used, name, b);
		memcpy(used + b, suffix, slen);
		memcpy(used + b + slen, dot, extlen);
		used[b + slen + extlen] = '\0';
		fd = openat(dirfd, used, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int run_extract(int argc, char **argv)
{
	const char *path = NULL, *dir = NULL;
	const mimeo_part *p;
	mimeo_message *m;
	mimeo_buf name = MIMEO_BUF_INIT;
	size_t dirlen;
	int i, dirfd, rc = CLI_OK;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
			if (i + 1 >= argc) {
				cli_error("extract: -o needs a DIR (usage: mimeo extract FILE -o DIR)");
				return CLI_USAGE;
			}
			dir = argv[++i];
		} else if (strncmp(argv[i], "-o", 2) == 0 && argv[i][2]) {
			dir = argv[i] + 2;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("extract: unknown option '%s' (usage: mimeo extract FILE -o DIR)",
				  argv[i]);
			return CLI_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			cli_error("extract: too many arguments (usage: mimeo extract FILE -o DIR)");
			return CLI_USAGE;
		}
	}
	if (!path || !dir || !*dir) {
		cli_error("extract: missing %s (usage: mimeo extract FILE -o DIR)",
			  path ? "-o DIR" : "FILE");
		return CLI_USAGE;
	}
	m = cli_load_message(path);
	if (!m)
		return CLI_FAILURE;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		cli_error("cannot create %s: %s", dir, strerror(errno));
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	/* "out/" prints as "out/name", not "out//name" ("/" stays "/name") */
	dirlen = strlen(dir);
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	if (dirlen == 1 && dir[0] == '/')
		dirlen = 0;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		cli_error("cannot open %s: %s", dir, strerror(errno));
		mimeo_message_free(m);
		return CLI_FAILURE;
	}
	for (p = mimeo_message_root(m); p && rc == CLI_OK; p = mimeo_part_next(p)) {
		const char *fn = mimeo_part_filename(p);
		char used[MIMEO_FILENAME_MAX + 1];
		const void *body;
		size_t len;
		int fd;

		if (!is_attachment(p))
			continue;
		mimeo_buf_clear(&name);
		if (mimeo_filename_sanitize(fn, fn ? strlen(fn) : 0, &name) != MIMEO_OK) {
			cli_error("out of memory");
			rc = CLI_FAILURE;
			break;
		}
		fd = create_unique(dirfd, name.ptr, used, sizeof(used));
		if (fd < 0) {
			cli_error("cannot create %s/%s: %s", dir, name.ptr, strerror(errno));
			rc = CLI_FAILURE;
			break;
		}
		body = mimeo_part_body(p, &len);
		if (write_all(fd, body, len) < 0) {
			cli_error("cannot write %s/%s: %s", dir, used, strerror(errno));
			rc = CLI_FAILURE;
		}
		if (close(fd) < 0 && rc == CLI_OK) {
			cli_error("cannot write %s/%s: %s", dir, used, strerror(errno));
			rc = CLI_FAILURE;
		}
		if (rc == CLI_OK)
			printf("%.*s/%s\n", (int)dirlen, dir, used);
	}
	close(dirfd);
	mimeo_buf_dispose(&name);
	mimeo_message_free(m);
	return cli_finish_stdout(rc);
}

const cli_command cli_cmd_extract = {
	"extract", "extract FILE -o DIR      save every attachment into DIR", run_extract
};
