/*
 * cli_message.c - pieces shared by the commands that work on a parsed
 * message: loading FILE into a tree, JSON strings, finishing stdout.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"

#include <mimeo.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/*
 * The message is not read into memory: a regular file (also as standard
 * input) is parsed in blocks and its bodies are read back on demand; a
 * pipe or a gzip file is spooled by the library (memory up to 1 MiB, then
 * an unlinked file in $TMPDIR).  gzip is found by its content, as the
 * mailbox finds it, so message 1 of a gzip "box.mbox" and the file itself
 * read alike.
 */
mimeo_message *cli_load_message(const char *path)
{
	return cli_load_message_flags(path, 0);
}

mimeo_message *cli_load_message_flags(const char *path, unsigned parse_flags)
{
	mimeo_message_options o = MIMEO_MESSAGE_OPTIONS_INIT;
	mimeo_parser_options po = MIMEO_PARSER_OPTIONS_INIT;
	const char *reason = NULL;
	mimeo_reader *r = cli_reader_open(path, MIMEO_READER_DETECT);
	mimeo_message *m = NULL;
	int rc;

	if (!r)
		return NULL;
	o.reason = &reason;
	if (parse_flags) {
		po.flags = parse_flags;
		o.parser = &po;
	}
	/* a descriptor when reads go straight to it (a seekable plain file:
	 * parsed in place), else gzip or a pipe through the reader */
	if (mimeo_reader_fd(r) >= 0)
		rc = mimeo_message_parse_fd(&m, mimeo_reader_fd(r), &o);
	else
		rc = mimeo_message_parse_stream(&m, mimeo_reader_read, r, &o);
	if (rc == MIMEO_EIO) {
		int e = errno;

		if (mimeo_reader_fd(r) < 0 && reason &&
		    strcmp(reason, "reading the input failed") == 0)
			cli_error("cannot read %s: %s", path, mimeo_reader_error(r));
		else if (reason && strcmp(reason, "reading the input failed") != 0 &&
			 strcmp(reason, "cannot read the file") != 0)
			cli_error("cannot read %s: %s: %s", path, reason, strerror(e));
		else
			cli_error("cannot read %s: %s", path, strerror(e));
	} else if (rc != MIMEO_OK) {
		cli_error("cannot parse %s: %s", path, mimeo_strerror(rc));
	}
	mimeo_reader_close(r);
	if (rc != MIMEO_OK)
		return NULL;
	cli_warn_limits(path, mimeo_message_limits_hit(m));
	return m;
}

int cli_write_body(const void *data, size_t len, void *user)
{
	(void)user;
	return cli_write_stdout(data, len) < 0 ? MIMEO_EIO : MIMEO_OK;
}

/* Adapts the outdir writer (0 / -1 with errno) to mimeo_write_fn. */
typedef struct produce_ctx {
	int (*write)(const void *buf, size_t len, void *sink);
	void *sink;
	int failed;   /* the writer failed (it reports why) */
} produce_ctx;

static int produce_write(const void *data, size_t len, void *user)
{
	produce_ctx *c = user;

	if (c->write(data, len, c->sink) < 0) {
		c->failed = 1;
		return MIMEO_EIO;
	}
	return MIMEO_OK;
}

int cli_produce_body(void *part, int (*write)(const void *buf, size_t len, void *sink),
		     void *sink)
{
	const mimeo_part *p = part;
	produce_ctx c = { write, sink, 0 };
	int rc = mimeo_part_decode(p, 0, NULL, produce_write, &c, NULL);

	if (rc == MIMEO_OK)
		return 0;
	if (!c.failed) {
		/* the source could not be read back (changed, shrank) */
		const char *why = mimeo_message_io_error(mimeo_part_message(p));

		cli_error("cannot read section %s: %s", mimeo_part_section(p),
			  why ? why : mimeo_strerror(rc));
	}
	return -1;
}

int cli_finish_stdout(int rc)
{
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_OK) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		return CLI_FAILURE;
	}
	return rc;
}

/* Length of the valid UTF-8 character at s[0..avail), 0 if invalid. */
static size_t utf8_char_len(const unsigned char *s, size_t avail)
{
	size_t clen = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	size_t n = mimeo_utf8_valid_prefix(s, avail < 4 ? avail : 4);

	/* the valid prefix of up to 4 bytes covers exactly the first
	 * character when that character is valid */
	return n >= clen ? clen : 0;
}

/* Write the character of n bytes at s (utf8_char_len; 0 = not valid
 * UTF-8: U+FFFD for its first byte).  Returns the bytes consumed. */
static size_t put_utf8_char(FILE *out, const unsigned char *s, size_t n)
{
	if (n) {
		fwrite(s, 1, n, out);
		return n;
	}
	fputs("\xef\xbf\xbd", out);
	return 1;
}

static void json_ascii(FILE *out, unsigned c)
{
	switch (c) {
	case '"': fputs("\\\"", out); break;
	case '\\': fputs("\\\\", out); break;
	case '\b': fputs("\\b", out); break;
	case '\f': fputs("\\f", out); break;
	case '\n': fputs("\\n", out); break;
	case '\r': fputs("\\r", out); break;
	case '\t': fputs("\\t", out); break;
	default:
		if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			putc((int)c, out);
	}
}

void cli_json_string(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	putc('"', out);
	while (i < len) {
		if (s[i] < 0x80) {
			json_ascii(out, s[i++]);
			continue;
		}
		n = utf8_char_len(s + i, len - i);
		if (n == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			fprintf(out, "\\u%04x", s[i + 2] == 0xa8 ? 0x2028 : 0x2029);
			i += n;
		} else {
			i += put_utf8_char(out, s + i, n);
		}
	}
	putc('"', out);
}

void cli_json_cstr_or_null(FILE *out, const char *s)
{
	if (s)
		cli_json_string(out, s, strlen(s));
	else
		fputs("null", out);
}

/* The valid UTF-8 character s[0..n) is neither a C1 control nor U+2028 or
 * U+2029. */
static int is_text_char(const unsigned char *s, size_t n)
{
	if (n == 2)
		return !(s[0] == 0xc2 && s[1] <= 0x9f);
	return !(n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9));
}

void cli_print_safe(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x80) {
			/* a decoded value can carry CR, LF or ESC from an encoded
			 * word; printed raw they would forge lines or drive the
			 * terminal */
			if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
				fputs("\xef\xbf\xbd", out);
			else
				putc(s[i], out);
			i++;
			continue;
		}
		n = utf8_char_len(s + i, len - i);
		/* C1 controls (U+0085 NEL is a line break to Unicode-aware
		 * readers, U+009B CSI and U+009D OSC drive 8-bit terminals) and
		 * the separators U+2028/U+2029 forge lines just as CR and LF do
		 * (issue 11: "hello=C2=85From:_evil") */
		if (n && !is_text_char(s + i, n)) {
			fputs("\xef\xbf\xbd", out);
			i += n;
		} else {
			i += put_utf8_char(out, s + i, n);
		}
	}
}

void cli_warn_yenc(const char *cmd, const void *part)
{
	const mimeo_part *p = part;
	mimeo_yenc_info yi;
	char what[160];

	if (mimeo_part_yenc_info(p, &yi) != MIMEO_OK || !yi.errors)
		return;
	snprintf(what, sizeof(what), "%s%s%s%s",
		 yi.errors & MIMEO_YENC_BAD_CRC ? ", CRC-32 differs from its =yend line" : "",
		 yi.errors & MIMEO_YENC_BAD_SIZE ? ", size differs from its =yend line" : "",
		 yi.errors & MIMEO_YENC_NO_END ? ", no =yend line" : "",
		 yi.errors & MIMEO_YENC_BAD_PART ? ", part figures do not add up" : "");
	/* the name is raw bytes from the message */
	fprintf(stderr, "mimeo: warning: %s: section %s, yEnc file \"", cmd, mimeo_part_section(p));
	cli_print_safe(stderr, yi.name, strlen(yi.name));
	fprintf(stderr, "\": %s; written as it is\n", what + 2);
}
