/*
 * pop3_testlib.h - helpers for the POP3 tests: a scripted fake POP3 server
 * on 127.0.0.1 (a thread), running the mimeo CLI with a deadline, and
 * small file utilities.  Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_POP3_TESTLIB_H
#define MIMEO_POP3_TESTLIB_H

#include <pthread.h>
#include <stddef.h>

/* How the fake server behaves. */
typedef enum fake_mode {
	FAKE_NORMAL,          /* a well-behaved server with `messages` */
	FAKE_WRONG_GREETING,  /* "HELLO" instead of +OK */
	FAKE_GARBAGE,         /* binary garbage instead of a greeting */
	FAKE_STALL_GREETING,  /* accept and say nothing */
	FAKE_LONG_GREETING,   /* an endless greeting line */
	FAKE_RETR_ENDLESS,    /* RETR never ends (short lines, forever) */
	FAKE_RETR_LONG_LINE,  /* RETR sends one endless line */
	FAKE_RETR_STALL,      /* RETR sends a little, then nothing */
	FAKE_RETR_EOF,        /* RETR sends a little, then closes */
	FAKE_STLS_INJECT,     /* answers STLS with +OK plus injected bytes */
	FAKE_RETR_SLOW,       /* RETR sends 4 KiB, waits slow_ms, and so on */
} fake_mode;

/* Most messages a fake maildrop has (per-message bookkeeping below). */
#define FAKE_MAX_MESSAGES 64

typedef struct fake_server {
	fake_mode mode;
	int pipelining;           /* announce PIPELINING in CAPA */
	const char *const *messages; /* wire form (CRLF, not stuffed), NULL-ended */
	const char *const *uids;  /* UIDL of each message (duplicates allowed);
	                             NULL = "uid-1", "uid-2", ... */
	unsigned long dele_refuse; /* DELE of this message number gets -ERR */
	int slow_ms;              /* FAKE_RETR_SLOW: pause between 4 KiB pieces */
	int port;                 /* 0 = any free port; set by fake_start */
	/* filled in */
	int listen_fd;             /* -1 with fake_start_fd */
	int conn_fd;               /* the fake_start_fd socket (closed by the thread) */
	char port_str[16];
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	char log[65536];          /* commands received, one per line */
	size_t log_len;
	int max_batch;            /* most commands that arrived in one read */
	int sasl_pending;         /* AUTH PLAIN sent "+ ": the next line is
	                             the client's response */
	/* the maildrop's view, for checking that nothing is deleted blind */
	unsigned char deleted[FAKE_MAX_MESSAGES + 1]; /* DELE n answered +OK */
	unsigned retrieved[FAKE_MAX_MESSAGES + 1];    /* RETR n answered +OK */
	int quit;                 /* QUIT received: the DELEs took effect */
} fake_server;

/* Start serving one connection on 127.0.0.1 (free port). */
void fake_start(fake_server *fs);
/* Serve one connection on `fd`, an already connected stream socket (one
 * end of a socketpair); the server thread closes it. */
void fake_start_fd(fake_server *fs, int fd);
/* Wait for the server thread (bounded: it gives up after 20 s). */
void fake_stop(fake_server *fs);
/* 1 when a command starting with `prefix` was received. */
int fake_saw(fake_server *fs, const char *prefix);

/*
 * Run argv (argv[0] = program path) with stdout/stderr into files, killing
 * it after timeout_s.  Returns its exit status, 128+signal if killed by a
 * signal, or -1 on timeout.  Measures the run time into *secs (may be NULL).
 */
int run_cmd(char *const argv[], const char *out_path, const char *err_path, int timeout_s,
	    double *secs);

/* Start argv in the background (stdout/stderr into files); returns the
 * PID.  wait_cmd() waits at most timeout_s, then kills it (returns -1). */
int spawn_cmd(char *const argv[], const char *out_path, const char *err_path);
int wait_cmd(int pid, int timeout_s);

/* Number of regular files in a folder (0 if it is missing). */
int count_files(const char *dir);
/* Write a file; aborts the test on failure. */
void spit(const char *path, const void *data, size_t len);
/* Does a file contain the bytes of `needle`? */
int file_contains(const char *path, const char *needle);
/* mkdtemp under /tmp with a short name (mode 0711); malloc'd path. */
char *make_temp_dir(void);
/* rm -rf a temp folder made by make_temp_dir(). */
void remove_tree(const char *dir);

/* The mimeo command under test ($MIMEO_CLI) and a scratch folder with the
 * paths the `mimeo pop3` tests use. */
typedef struct test_cli_env {
	const char *cli;
	char *dir;
	char md[256], pw[256], out[256], err[256]; /* Maildir, password file, output */
} test_cli_env;

/* 0 (the test reports itself skipped) when MIMEO_CLI is not runnable. */
int test_cli_env_init(test_cli_env *e, const char *test);
/* Remove the scratch folder. */
void test_cli_env_dispose(test_cli_env *e);

#endif
