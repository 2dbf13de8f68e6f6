/*
 * cmd_build.c - `mimeo build`: compose a 7-bit-clean message from the
 * command line; `mimeo to7bit`: rewrite a message so every byte is ASCII.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "cli.h"
#include "commands.h"

#include <mimeo.h>

#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Content types by leading bytes ("magic numbers").  `off` is where the
 * signature starts. */
static const struct magic {
	size_t off;
	const char *sig;
	size_t len;
	const char *type;
} magics[] = {
	{ 0, "\x89PNG\r\n\x1a\n", 8, "image/png" },
	{ 0, "\xff\xd8\xff", 3, "image/jpeg" },
	{ 0, "GIF87a", 6, "image/gif" },
	{ 0, "GIF89a", 6, "image/gif" },
	{ 0, "II*\0", 4, "image/tiff" },
	{ 0, "MM\0*", 4, "image/tiff" },
	{ 8, "WEBP", 4, "image/webp" },
	{ 8, "WAVE", 4, "audio/wav" },
	{ 0, "%PDF-", 5, "application/pdf" },
	{ 0, "%!PS", 4, "application/postscript" },
	{ 0, "PK\x03\x04", 4, "application/zip" },
	{ 0, "\x1f\x8b", 2, "application/gzip" },
	{ 0, "7z\xbc\xaf\x27\x1c", 6, "application/x-7z-compressed" },
	{ 0, "Rar!\x1a\x07", 6, "application/vnd.rar" },
	{ 0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, "application/msword" },
	{ 0, "OggS", 4, "audio/ogg" },
	{ 0, "fLaC", 4, "audio/flac" },
	{ 0, "ID3", 3, "audio/mpeg" },
	{ 4, "ftyp", 4, "video/mp4" },
	{ 0, "wOFF", 4, "font/woff" },
	{ 0, "wOF2", 4, "font/woff2" },
	{ 0, "BEGIN:VCALENDAR", 15, "text/calendar" },
	{ 0, "BEGIN:VCARD", 11, "text/vcard" },
};

/* Content types by file extension (lowercase, without the dot). */
static const struct ext {
	const char *ext;
	const char *type;
} exts[] = {
	{ "txt", "text/plain" }, { "text", "text/plain" }, { "log", "text/plain" },
	{ "md", "text/markdown" }, { "csv", "text/csv" }, { "html", "text/html" },
	{ "htm", "text/html" }, { "css", "text/css" }, { "ics", "text/calendar" },
	{ "vcf", "text/vcard" }, { "xml", "application/xml" }, { "json", "application/json" },
	{ "js", "text/javascript" }, { "pdf", "application/pdf" }, { "png", "image/png" },
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "gif", "image/gif" },
	{ "webp", "image/webp" }, { "svg", "image/svg+xml" }, { "tif", "image/tiff" },
	{ "tiff", "image/tiff" }, { "bmp", "image/bmp" }, { "ico", "image/vnd.microsoft.icon" },
	{ "zip", "application/zip" }, { "gz", "application/gzip" },
	{ "tar", "application/x-tar" }, { "7z", "application/x-7z-compressed" },
	{ "rar", "application/vnd.rar" },
	{ "doc", "application/msword" }, { "xls", "application/vnd.ms-excel" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" }, { "wav", "audio/wav" },
	{ "flac", "audio/flac" }, { "mp4", "video/mp4" }, { "webm", "video/webm" },
	{ "eml", "message/rfc822" }, { "woff", "font/woff" }, { "woff2", "font/woff2" },
};

static const char *type_by_ext(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (!dot || dot == name || strchr(dot, '/'))
		return NULL;
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i].ext) == 0)
			return exts[i].type;
	return NULL;
}

/* Magic bytes first (they cannot lie about the format); the extension
 * refines a container format (an OOXML document is a zip, an Excel
 * sheet an OLE file) and names what has no signature. */
static const char *guess_type(const char *path, const unsigned char *head, size_t n)
{
	const char *by_ext = type_by_ext(path);
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const struct magic *m = &magics[i];

		if (n < m->off + m->len || memcmp(head + m->off, m->sig, m->len) != 0)
			continue;
		if (by_ext && (strcmp(m->type, "application/zip") == 0 ||
			       strcmp(m->type, "application/msword") == 0) &&
		    strncmp(by_ext, "application/", 12) == 0)
			return by_ext;
		return m->type;
	}
	return by_ext ? by_ext : "application/octet-stream";
}

/* Whether `p` is valid UTF-8, ignoring a sequence cut at the end. */
static int utf8_prefix_ok(const unsigned char *p, size_t n, int *non_ascii)
{
	size_t i = 0;

	*non_ascii = 0;
	while (i < n) {
		unsigned char c = p[i];
		size_t k, need;

		if (c < 0x80) {
			i++;
			continue;
		}
		*non_ascii = 1;
		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3;
		else
			return 0;
		for (k = 1; k <= need; k++) {
			if (i + k >= n)
				return 1;
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
		}
		i += need + 1;
	}
	return 1;
}

/* Add every mailbox of an address list ("A <a@x>, b@y") to `field`. */
static int add_addresses(mimeo_builder *b, mimeo_builder_field field, const char *opt,
			 const char *value)
{
	mimeo_address_list *l = NULL;
	size_t i, added = 0;
	int r;

	r = mimeo_address_list_parse(&l, NULL, NULL, value, strlen(value));
	if (r) {
		cli_error("%s: %s", opt, mimeo_strerror(r));
		return -1;
	}
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];
		char *spec;
		size_t n;

		if (!a->local_part || !a->domain)
			continue;
		n = strlen(a->local_part) + strlen(a->domain) + 2;
		spec = malloc(n);
		if (!spec) {
			mimeo_address_list_free(l);
			cli_error("out of memory");
			return -1;
		}
		snprintf(spec, n, "%s@%s", a->local_part, a->domain);
		r = mimeo_builder_add_address(b, field, a->display_name, spec);
		free(spec);
		if (r) {
			cli_error("%s: unusable address in '%s'", opt, value);
			mimeo_address_list_free(l);
			return -1;
		}
		added++;
	}
	mimeo_address_list_free(l);
	if (!added) {
		cli_error("%s: no address in '%s'", opt, value);
		return -1;
	}
	return 0;
}

static int set_body_file(mimeo_builder *b, const char *path, int html)
{
	size_t len;
	char *data = cli_input_slurp(path, &len);
	int r, na;

	if (!data)
		return -1;
	if (!utf8_prefix_ok((unsigned char *)data, len, &na))
		fprintf(stderr, "mimeo: warning: %s is not valid UTF-8\n", path);
	r = html ? mimeo_builder_set_html(b, data, len, MIMEO_CTE_NONE)
		 : mimeo_builder_set_text(b, data, len, MIMEO_CTE_NONE);
	free(data);
	if (r) {
		cli_error("%s: %s", path, mimeo_strerror(r));
		return -1;
	}
	return 0;
}

static int attach_file(mimeo_builder *b, const char *path)
{
	mimeo_builder_part spec = MIMEO_BUILDER_PART_INIT;
	unsigned char head[4096];
	char ctype[128];
	const char *type;
	ssize_t n;
	int fd, r, na;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("%s: cannot open: %m", path);
		return -1;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n < 0) {
		cli_error("%s: cannot read: %m", path);
		return -1;
	}
	type = guess_type(path, head, (size_t)n);
	if (strcmp(type, "message/rfc822") == 0) {
		/* A message is attached as such (RFC 2046 5.2.1), not encoded;
		 * streamed from the file when it can be sent as it is. */
		r = mimeo_builder_add_message_file(b, path, NULL);
		if (r) {
			cli_error("%s: %s", path, mimeo_strerror(r));
			return -1;
		}
		return 0;
	}
	/* Text without a charset would mean US-ASCII (RFC 2046 4.1.2). */
	if (strncmp(type, "text/", 5) == 0 && utf8_prefix_ok(head, (size_t)n, &na) && na) {
		snprintf(ctype, sizeof(ctype), "%s; charset=utf-8", type);
		type = ctype;
	}
	spec.content_type = type;
	/* spec.filename NULL: the builder uses the file's base name. */
	r = mimeo_builder_add_attachment_file(b, &spec, path);
	if (r) {
		if (r == MIMEO_EIO)
			cli_error("%s: cannot attach: %m", path);
		else
			cli_error("%s: %s", path, mimeo_strerror(r));
		return -1;
	}
	return 0;
}

/* "<id@x>" -> "id@x" in place (the builder takes ids without brackets). */
static const char *cli_strip_angles(char *id)
{
	size_t n = strlen(id);

	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		id[n - 1] = '\0';
		return id + 1;
	}
	return id;
}

static void build_usage(FILE *f)
{
	fprintf(f, "usage: mimeo build --from ADDR --to ADDR [--subject TEXT] [--cc ADDR]\n"
		   "                   [--sender ADDR] [--reply-to ADDR]\n"
		   "                   [--in-reply-to ID]... [--references ID]...\n"
		   "                   [--text FILE] [--html FILE] [--attach FILE]...\n"
		   "                   [--crlf] [--8bitmime]\n");
}

static int run_build(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "cc", required_argument, NULL, 'c' },
		{ "sender", required_argument, NULL, 'S' },
		{ "reply-to", required_argument, NULL, 'R' },
		{ "in-reply-to", required_argument, NULL, 'I' },
		{ "references", required_argument, NULL, 'F' },
		{ "subject", required_argument, NULL, 's' },
		{ "text", required_argument, NULL, 'T' },
		{ "html", required_argument, NULL, 'H' },
		{ "attach", required_argument, NULL, 'a' },
		{ "crlf", no_argument, NULL, 'C' },
		{ "8bitmime", no_argument, NULL, '8' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	mimeo_builder_options opts = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder *b = NULL;
	const char *text = NULL, *html = NULL, *subject = NULL;
	const char **attach = NULL;
	const char **to = NULL, **cc = NULL, *from = NULL, *sender = NULL, *reply_to = NULL;
	const char **irt = NULL, **refs = NULL;
	size_t nattach = 0, nto = 0, ncc = 0, nirt = 0, nrefs = 0, i;
	int opt, r, status = CLI_FAILURE;

	attach = calloc((size_t)argc + 1, sizeof(*attach));
	to = calloc((size_t)argc + 1, sizeof(*to));
	cc = calloc((size_t)argc + 1, sizeof(*cc));
	irt = calloc((size_t)argc + 1, sizeof(*irt));
	refs = calloc((size_t)argc + 1, sizeof(*refs));
	if (!attach || !to || !cc || !irt || !refs) {
		cli_error("out of memory");
		goto out;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': from = optarg; break;
		case 't': to[nto++] = optarg; break;
		case 'c': cc[ncc++] = optarg; break;
		case 'S': sender = optarg; break;
		case 'R': reply_to = optarg; break;
		case 'I': irt[nirt++] = cli_strip_angles(optarg); break;
		case 'F': refs[nrefs++] = cli_strip_angles(optarg); break;
		case 's': subject = optarg; break;
		case 'T': text = optarg; break;
		case 'H': html = optarg; break;
		case 'a': attach[nattach++] = optarg; break;
		case 'C': opts.flags |= MIMEO_BUILD_CRLF; break;
		case '8': opts.flags |= MIMEO_BUILD_8BITMIME; break;
		case 'h':
			build_usage(stdout);
			status = CLI_OK;
			goto out;
		default:
			build_usage(stderr);
			status = CLI_USAGE;
			goto out;
		}
	}
	if (optind != argc || !from || !nto) {
		if (optind != argc)
			cli_error("build: unexpected argument '%s'", argv[optind]);
		else
			cli_error("build: --from and --to are required");
		build_usage(stderr);
		status = CLI_USAGE;
		goto out;
	}
	r = mimeo_builder_new(&b, &opts);
	if (r) {
		cli_error("%s", mimeo_strerror(r));
		goto out;
	}
	if (add_addresses(b, MIMEO_FIELD_FROM, "--from", from))
		goto out;
	for (i = 0; i < nto; i++)
		if (add_addresses(b, MIMEO_FIELD_TO, "--to", to[i]))
			goto out;
	for (i = 0; i < ncc; i++)
		if (add_addresses(b, MIMEO_FIELD_CC, "--cc", cc[i]))
			goto out;
	if (sender && add_addresses(b, MIMEO_FIELD_SENDER, "--sender", sender))
		goto out;
	if (reply_to && add_addresses(b, MIMEO_FIELD_REPLY_TO, "--reply-to", reply_to))
		goto out;
	if ((r = mimeo_builder_set_in_reply_to(b, irt, nirt)) != MIMEO_OK ||
	    (r = mimeo_builder_set_references(b, refs, nrefs)) != MIMEO_OK) {
		cli_error("build: %s", r == MIMEO_EINVAL ? "--in-reply-to/--references: not a message id "
							   "(left@right, printable ASCII)"
							 : mimeo_strerror(r));
		goto out;
	}
	if (subject && mimeo_builder_set_subject(b, subject, strlen(subject))) {
		cli_error("out of memory");
		goto out;
	}
	if (text && set_body_file(b, text, 0))
		goto out;
	if (html && set_body_file(b, html, 1))
		goto out;
	for (i = 0; i < nattach; i++)
		if (attach_file(b, attach[i]))
			goto out;
	r = mimeo_builder_write_file(b, stdout);
	if (!r && fflush(stdout))
		r = MIMEO_EIO;
	if (r) {
		const char *why = NULL;

		if (r == MIMEO_EIO)
			cli_error("build: write or read failed: %m");
		else if (mimeo_builder_error(b, &why) == r && *why)
			cli_error("build: %s", why);
		else
			cli_error("build: %s", mimeo_strerror(r));
		goto out;
	}
	status = CLI_OK;
out:
	mimeo_builder_free(b);
	free(attach);
	free(to);
	free(cc);
	free(irt);
	free(refs);
	return status;
}

const cli_command cli_cmd_build = {
	"build", "build --from A --to B ...  compose a 7-bit-clean message (see mimeo(1))",
	run_build
};

static int stdout_writer(const void *data, size_t len, void *ctx)
{
	(void)ctx;
	return cli_write_stdout(data, len) ? MIMEO_EIO : MIMEO_OK;
}

static void print_warning(const char *section, const char *message, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "mimeo: warning: part %s: %s\n", *section ? section : "(top)", message);
}

static int run_to7bit(int argc, char **argv)
{
	mimeo_message_options mo = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_to7bit_options to = MIMEO_TO7BIT_OPTIONS_INIT;
	mimeo_message *m = NULL;
	size_t len, msgn;
	char *data;
	int r;

	if (cli_take_message_opt(&argc, argv, &msgn) < 0)
		return CLI_USAGE;
	if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: mimeo to7bit [--message N] FILE\n");
		return argc == 2 ? CLI_OK : CLI_USAGE;
	}
	if (msgn || strcmp(argv[1], "-") != 0) {
		/* message msgn of a mailbox, or the one message of a file */
		m = cli_load_message_n(argv[1], msgn);
		if (!m)
			return CLI_FAILURE;
		data = NULL;
	} else {
		data = cli_input_slurp_mail(argv[1], &len);
		if (!data)
			return CLI_FAILURE;
		mo.flags = MIMEO_MESSAGE_BORROW;
		r = mimeo_message_parse_buffer(&m, data, len, &mo);
		if (r) {
			cli_error("%s: %s", argv[1], mimeo_strerror(r));
			free(data);
			return CLI_FAILURE;
		}
		cli_warn_limits(argv[1], mimeo_message_limits_hit(m));
	}
	to.warning = print_warning;
	r = mimeo_to7bit(m, &to, stdout_writer, NULL, NULL);
	mimeo_message_free(m);
	free(data);
	if (r) {
		if (r != MIMEO_EIO)
			cli_error("to7bit: %s", mimeo_strerror(r));
		return CLI_FAILURE;
	}
	return CLI_OK;
}

const cli_command cli_cmd_to7bit = {
	"to7bit", "to7bit FILE              rewrite a message so every byte is 7-bit ASCII",
	run_to7bit
};
