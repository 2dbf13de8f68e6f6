/*
 * cli.h - shared pieces of the mimeo command-line tool (not installed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CLI_H
#define MIMEO_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

/* One subcommand.  `run` gets argv with argv[0] = the subcommand name and
 * returns the process exit status. */
typedef struct cli_command {
	const char *name;
	const char *synopsis; /* one line for `mimeo --help` */
	int (*run)(int argc, char **argv);
} cli_command;

/* An input file: a path or "-" for stdin; gzip content is read through
 * zlib under a name ending in ".gz" (cli_input_open), or whatever the name
 * (cli_input_open_mail): mimeo_reader_open's rules. */
typedef struct cli_input {
	int fd;        /* plain input (owned by `reader`), or -1 */
	void *gz;      /* non-NULL for gzip input (read through zlib) */
	void *reader;  /* the library's mimeo_reader doing the reading */
	const char *name;
} cli_input;

struct mimeo_reader;
/* FILE ("-" = standard input) opened with the library's reader (flags: 0,
 * gzip under a ".gz" name, or MIMEO_READER_DETECT); NULL after printing
 * one line to stderr. */
struct mimeo_reader *cli_reader_open(const char *path, unsigned flags);
/* Open `path`; on failure print one line to stderr and return -1. */
int cli_input_open(cli_input *in, const char *path);
/* The same for a message or mailbox: gzip is found by its content. */
int cli_input_open_mail(cli_input *in, const char *path);
/* Read up to `n` bytes; returns bytes read, 0 at end, -1 on error (printed). */
ssize_t cli_input_read(cli_input *in, void *buf, size_t n);
void cli_input_close(cli_input *in);
/* Read the whole input into a malloc'd buffer (NUL-terminated; *len excludes
 * the terminator).  Returns NULL after printing an error. */
char *cli_input_slurp(const char *path, size_t *len);
/* The same for a message or mailbox: gzip is found by its content (magic
 * bytes 1f 8b, MIMEO_READER_DETECT), also on standard input, as
 * mimeo_mailbox_open() finds it. */
char *cli_input_slurp_mail(const char *path, size_t *len);

/* Room for one more element in a growable array of `used` elements of
 * elem_size bytes: *cap doubles (from `initial`) with an overflow check.
 * 0, or -1 when out of memory (*items unchanged).  The library's
 * mimeo__array_reserve, for the command, which uses the public API (of
 * the library's inside only util/io-priv.h, the pread loop, in scan). */
int cli_reserve(void **items, size_t *cap, size_t used, size_t elem_size, size_t initial);

/* Print "mimeo: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The words for errno `e` after a library call failed with MIMEO_EIO: the
 * library sets EBADMSG for corrupt or cut-off gzip data. */
const char *cli_io_reason(int e);
/* Write all of `buf` to stdout; returns 0 or -1 after printing an error. */
int cli_write_stdout(const void *buf, size_t len);
/* The last thing main() does: flush and close stdout.  When that fails (or
 * an earlier write failed unnoticed) and `rc` is CLI_OK, prints one error
 * line and returns CLI_FAILURE; otherwise returns `rc` (a command that
 * already failed has said why once). */
int cli_close_stdout(int rc);
/* When `limits` (MIMEO_LIMIT_* bits from mimeo_message_limits_hit or
 * mimeo_parser_limits_hit) is not 0, print one warning line naming them:
 * the parser cut the input there and read the rest leniently, which the
 * user must be told (the exit status stays 0). */
void cli_warn_limits(const char *name, unsigned limits);

/* --- cli_message.c: commands that work on a parsed message --------- */

struct mimeo_message;

/* Parse FILE ("-" = stdin; gzip, found by its content, through zlib) into
 * a tree.  NULL after printing one error line. */
struct mimeo_message *cli_load_message(const char *path);
/* The same with parser flags (the server-compatibility ones of
 * mimeo_message_options.parser, e.g. MIMEO_PARSE_COMPAT_DOVECOT). */
struct mimeo_message *cli_load_message_flags(const char *path, unsigned parse_flags);
/* mimeo_write_fn writing to stdout; a failure is reported once (by
 * cli_write_stdout) and returned as MIMEO_EIO. */
int cli_write_body(const void *data, size_t len, void *user);
/* cli_outdir_produce_fn for a leaf (a const mimeo_part *): its decoded
 * body, streamed from the source. */
/* After a yEnc file (a derived node of mimeo/expand.h) was saved: a
 * warning on stderr when its own checks failed (CRC-32 or size not what
 * its =yend line says, no =yend, part figures that do not add up); the
 * file is kept.  `cmd` names the command. */
void cli_warn_yenc(const char *cmd, const void *part);

int cli_produce_body(void *part, int (*write)(const void *buf, size_t len, void *sink),
		     void *sink);
/* Flush stdout; turn a write error into CLI_FAILURE (reported once) when
 * `rc` is CLI_OK.  Returns the exit status. */
int cli_finish_stdout(int rc);
/* Write `s` as a JSON string (RFC 8259 section 7).  Invalid UTF-8 becomes
 * U+FFFD so the output is always valid JSON; U+2028/U+2029 are escaped
 * too, so it is also a valid JavaScript literal. */
void cli_json_string(FILE *out, const char *s, size_t len);
/* A JSON string for `s`, or null when `s` is NULL. */
void cli_json_cstr_or_null(FILE *out, const char *s);
/* Write UTF-8 text for a terminal or a line-based pipe: control characters
 * other than TAB (C0 such as CR, LF, ESC; DEL; C1 such as U+0085 NEL and
 * U+009B CSI), the separators U+2028 and U+2029, and invalid UTF-8 become
 * U+FFFD. */
void cli_print_safe(FILE *out, const char *s, size_t len);

/* --- cli_mailbox.c: mailboxes --------------------------------------- */

struct mimeo_part;

/* Parse a message number or count: digits only, at least 1.  0 or -1. */
int cli_parse_count(const char *s, size_t *out);
/* Take "--message N" / "--message=N" out of argv (before the command
 * parses the rest); *n = 0 when absent.  -1 after printing an error. */
int cli_take_message_opt(int *argc, char **argv, size_t *n);
/* Load message n of FILE: a mailbox (mbox, .gz mbox, Maildir folder)
 * gives message n (1 when n is 0; a note on stderr when it holds more
 * than one); any other file is one message (n must then be 0 or 1).
 * "-" is read as one message unless n is given.  NULL after printing one
 * error line (a number past the end included). */
struct mimeo_message *cli_load_message_n(const char *path, size_t n);
/* A mailbox given on the command line (ls, extract --all). */
struct mimeo_mailbox;
typedef struct cli_box {
	const char *arg;           /* as given */
	struct mimeo_mailbox *mb;
	char *slurped;             /* "-": stdin read into memory */
} cli_box;

/* Open FILE|DIR ("-" = stdin) as a mailbox and index it; a Maildir's
 * entries that are not messages are said on stderr.  0, or -1 after
 * printing one error line. */
int cli_box_open(cli_box *b, const char *arg);

/* The same for the messages of a mailbox file that start in [offset,
 * offset + length) (mimeo_mailbox_open_range: numbered from 1). */
int cli_box_open_range(cli_box *b, const char *arg, uint64_t offset, uint64_t length);

/* Free what cli_box_open made (a closed or failed box is fine). */
void cli_box_close(cli_box *b);

/* The leaves `extract` writes (and `ls` counts): a filename, or the
 * disposition "attachment". */
int cli_is_attachment(const struct mimeo_part *p);
/* mimeo_message_expand() for tree, cat and extract: TNEF items, uuencoded
 * and yEnc files in text bodies become children.  0, or -1 after an error
 * message naming `path`. */
int cli_expand(struct mimeo_message *m, const char *path);

/* A one-line progress display on stderr for long runs. */
enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_ON, CLI_PROGRESS_OFF };
#define CLI_PROGRESS_MIN_BYTES ((uint64_t)4 << 20)
typedef struct cli_progress {
	int on, tty, shown;
	const char *label;       /* the command: "scan", "ls" */
	uint64_t total, done, messages;
	struct timespec t0, last;
} cli_progress;
/* --progress / --no-progress: 1 (and *mode set) when `arg` is one. */
int cli_progress_option(const char *arg, int *mode);
/* AUTO shows it when stderr is a terminal and `total` bytes are at least
 * CLI_PROGRESS_MIN_BYTES; ON always (lines, once a second, when stderr is
 * no terminal); OFF never. */
void cli_progress_start(cli_progress *p, const char *label, int mode, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done, uint64_t messages);
void cli_progress_end(cli_progress *p);

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAILURE = 1, CLI_USAGE = 2 };

#endif
