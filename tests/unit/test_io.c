/*
 * test_io.c - mimeo__pread_full (util/io.c), the one read-until-full loop
 * behind the message sources, the seekable-file parser and `mimeo scan`.
 *
 * A regular file never gives pread a short read before its end nor an
 * EINTR, so this executable interposes pread/pread64 (its own definitions
 * win over libc's, for the library archive it links too): on the file a
 * test names (any descriptor of it: the library reads through duplicates),
 * each call moves at most `step` bytes, every `eintr_every`-th call fails
 * with EINTR first, after `fail_after` bytes the calls fail with EIO, and
 * nothing lies at or after `eof_at` (a file that shrank).  Other files go
 * straight to the system call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io-priv.h"
#include "mimeo.h"

/* ------------------------------------------------------------------ */
/* The interposed pread                                                */
/* ------------------------------------------------------------------ */

static struct {
	int on;               /* faults apply to the file dev/ino */
	dev_t dev;
	ino_t ino;
	size_t step;          /* most bytes one call moves (0: no cap) */
	unsigned eintr_every; /* every n-th call fails with EINTR (0: never) */
	uint64_t fail_after;  /* bytes moved before calls fail with EIO */
	uint64_t eof_at;      /* where the file seems to end */
	unsigned long calls;  /* calls on fd */
	unsigned long eintrs; /* EINTRs given */
	uint64_t moved;       /* bytes moved on fd */
} fault;

static void fault_set(int fd, size_t step, unsigned eintr_every, uint64_t fail_after)
{
	struct stat st;

	fault.on = 0;
	if (fd >= 0) {
		ck_assert_int_eq(fstat(fd, &st), 0);
		fault.dev = st.st_dev;
		fault.ino = st.st_ino;
		fault.on = 1;
	}
	fault.step = step;
	fault.eintr_every = eintr_every;
	fault.fail_after = fail_after;
	fault.eof_at = UINT64_MAX;
	fault.calls = fault.eintrs = 0;
	fault.moved = 0;
}

static ssize_t faulty_pread(int fd, void *buf, size_t n, off_t off)
{
	struct stat st;
	ssize_t k;

	if (!fault.on || fstat(fd, &st) != 0 || st.st_dev != fault.dev || st.st_ino != fault.ino)
		return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
	fault.calls++;
	if (fault.eintr_every && fault.calls % fault.eintr_every == 0) {
		fault.eintrs++;
		errno = EINTR;
		return -1;
	}
	if (fault.moved >= fault.fail_after) {
		errno = EIO;
		return -1;
	}
	if (fault.step && n > fault.step)
		n = fault.step;
	if (n > fault.fail_after - fault.moved)
		n = (size_t)(fault.fail_after - fault.moved);
	if (off >= 0 && (uint64_t)off >= fault.eof_at)
		return 0;
	if (off >= 0 && n > fault.eof_at - (uint64_t)off)
		n = (size_t)(fault.eof_at - (uint64_t)off);
	k = (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
	if (k > 0)
		fault.moved += (uint64_t)k;
	return k;
}

/* <unistd.h> renames pread to pread64 under _FILE_OFFSET_BITS=64, so the
 * library's objects may call either symbol: both are defined here, by
 * their assembler names (a C definition of `pread` would be pread64). */
ssize_t test_pread(int fd, void *buf, size_t n, off_t off) __asm__("pread");
ssize_t test_pread64(int fd, void *buf, size_t n, off_t off) __asm__("pread64");

ssize_t test_pread(int fd, void *buf, size_t n, off_t off)
{
	return faulty_pread(fd, buf, n, off);
}

ssize_t test_pread64(int fd, void *buf, size_t n, off_t off)
{
	return faulty_pread(fd, buf, n, off);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A temporary file holding `len` bytes of `data`, open for reading. */
static int temp_with(const void *data, size_t len)
{
	char path[] = "/tmp/mimeo-io-XXXXXX";
	int fd = mkstemp(path);
	const char *p = data;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	while (len) {
		ssize_t k = write(fd, p, len);

		ck_assert_int_gt(k, 0);
		p += k;
		len -= (size_t)k;
	}
	return fd;
}

static unsigned char *pattern(size_t len)
{
	unsigned char *b = malloc(len);
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 7 + (i >> 8));
	return b;
}

/* ------------------------------------------------------------------ */
/* The helper                                                          */
/* ------------------------------------------------------------------ */

/* Whole ranges, the end of the file, and past it. */
START_TEST(reads_ranges_and_stops_at_the_end)
{
	const size_t len = 10000;
	unsigned char *data = pattern(len), buf[12000];
	int fd = temp_with(data, len);
	size_t got = 99;

	ck_assert_int_eq(mimeo__pread_full(fd, buf, len, 0, &got), MIMEO_OK);
	ck_assert_uint_eq(got, len);
	ck_assert_mem_eq(buf, data, len);
	/* a range inside */
	ck_assert_int_eq(mimeo__pread_full(fd, buf, 100, 4321, &got), MIMEO_OK);
	ck_assert_uint_eq(got, 100);
	ck_assert_mem_eq(buf, data + 4321, 100);
	/* across the end: the bytes there are, no error */
	ck_assert_int_eq(mimeo__pread_full(fd, buf, sizeof(buf), 9000, &got), MIMEO_OK);
	ck_assert_uint_eq(got, 1000);
	ck_assert_mem_eq(buf, data + 9000, 1000);
	/* at and past the end: nothing */
	got = 99;
	ck_assert_int_eq(mimeo__pread_full(fd, buf, 10, len, &got), MIMEO_OK);
	ck_assert_uint_eq(got, 0);
	got = 99;
	ck_assert_int_eq(mimeo__pread_full(fd, buf, 10, len + 12345, &got), MIMEO_OK);
	ck_assert_uint_eq(got, 0);
	/* nothing asked, nothing read */
	got = 99;
	ck_assert_int_eq(mimeo__pread_full(fd, buf, 0, 5, &got), MIMEO_OK);
	ck_assert_uint_eq(got, 0);
	close(fd);
	free(data);
}
END_TEST

/* Short reads and EINTR are read again: the buffer fills as if pread had
 * given everything at once, for every step size. */
START_TEST(short_reads_and_eintr_are_read_again)
{
	const size_t len = 20000;
	unsigned char *data = pattern(len), *buf = malloc(len + 100);
	int fd = temp_with(data, len);
	size_t steps[] = { 1, 2, 3, 7, 4096, 16383 };
	size_t i, got;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fault_set(fd, steps[i], 2, UINT64_MAX);
		memset(buf, 0, len + 100);
		ck_assert_int_eq(mimeo__pread_full(fd, buf, len - 5, 5, &got), MIMEO_OK);
		ck_assert_uint_eq(got, len - 5);
		ck_assert_mem_eq(buf, data + 5, len - 5);
		/* the loop did go round: several reads, EINTRs among them */
		ck_assert_uint_ge(fault.calls, (len - 5) / steps[i]);
		ck_assert_uint_gt(fault.eintrs, 0);
		/* and the end still ends it, after short reads */
		ck_assert_int_eq(mimeo__pread_full(fd, buf, len + 100, 0, &got), MIMEO_OK);
		ck_assert_uint_eq(got, len);
		ck_assert_mem_eq(buf, data, len);
	}
	fault_set(-1, 0, 0, UINT64_MAX);
	close(fd);
	free(buf);
	free(data);
}
END_TEST

/* A failure part-way is an error with pread's errno, and *got says how
 * far the buffer holds good bytes. */
START_TEST(failure_keeps_errno_and_count)
{
	const size_t len = 5000;
	unsigned char *data = pattern(len), buf[5000];
	int fd = temp_with(data, len);
	size_t got = 99;

	fault_set(fd, 100, 0, 1234);
	errno = 0;
	ck_assert_int_eq(mimeo__pread_full(fd, buf, len, 0, &got), MIMEO_EIO);
	ck_assert_int_eq(errno, EIO);
	ck_assert_uint_eq(got, 1234);
	ck_assert_mem_eq(buf, data, 1234);
	/* EINTR does not hide a later real failure */
	fault_set(fd, 10, 2, 50);
	ck_assert_int_eq(mimeo__pread_full(fd, buf, len, 0, &got), MIMEO_EIO);
	ck_assert_int_eq(errno, EIO);
	ck_assert_uint_eq(got, 50);
	fault_set(-1, 0, 0, UINT64_MAX);
	close(fd);
	free(data);
}
END_TEST

/* A pipe cannot be read at an offset (ESPIPE), a closed descriptor not at
 * all (EBADF): errors, not an empty file. */
START_TEST(pipe_and_bad_descriptor_are_errors)
{
	int p[2];
	char buf[16];
	size_t got = 99;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "data", 4), 4);
	errno = 0;
	ck_assert_int_eq(mimeo__pread_full(p[0], buf, sizeof(buf), 0, &got), MIMEO_EIO);
	ck_assert_int_eq(errno, ESPIPE);
	ck_assert_uint_eq(got, 0);
	close(p[0]);
	close(p[1]);
	got = 99;
	ck_assert_int_eq(mimeo__pread_full(p[0], buf, sizeof(buf), 0, &got), MIMEO_EIO);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(got, 0);
}
END_TEST

/* An offset off_t cannot hold fails before any read (off_t would turn
 * it negative). */
START_TEST(offset_beyond_off_t_is_einval)
{
	unsigned char *data = pattern(100), buf[10];
	int fd = temp_with(data, 100);
	size_t got = 99;

	fault_set(fd, 0, 0, UINT64_MAX);
	ck_assert_int_eq(mimeo__pread_full(fd, buf, sizeof(buf), UINT64_MAX - 3, &got), MIMEO_EIO);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(mimeo__pread_full(fd, buf, sizeof(buf), (uint64_t)INT64_MAX + 1, &got),
			 MIMEO_EIO);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(fault.calls, 0);
	fault_set(-1, 0, 0, UINT64_MAX);
	close(fd);
	free(data);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Its users: the seekable-file parser and body reads                  */
/* ------------------------------------------------------------------ */

/* A two-part message with bodies larger than the parser's read block. */
static char *test_message(size_t *len)
{
	const size_t body = 150000;
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i;

	ck_assert_int_eq(mimeo_buf_puts(&b, "From: a@example.org\r\nSubject: io\r\n"
					    "MIME-Version: 1.0\r\n"
					    "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
					    "--XX\r\nContent-Type: text/plain\r\n\r\n"),
			 MIMEO_OK);
	for (i = 0; i < body / 50; i++)
		ck_assert_int_eq(mimeo_buf_puts(&b, "line of plain text, forty-eight bytes long....\r\n"),
				 MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&b, "--XX\r\nContent-Type: application/octet-stream\r\n"
					    "Content-Transfer-Encoding: base64\r\n\r\n"),
			 MIMEO_OK);
	for (i = 0; i < body / 78; i++)
		ck_assert_int_eq(mimeo_buf_puts(&b, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w"
						    "cXJzdHV2d3h5ejAxMjM0\r\n"),
				 MIMEO_OK);
	ck_assert_int_eq(mimeo_buf_puts(&b, "--XX--\r\n"), MIMEO_OK);
	*len = b.size;
	return mimeo_buf_detach(&b);
}

/* Every node of `m` decoded into `out` (NULL: into a buffer dropped
 * after), up to the first failure: its status, or MIMEO_OK. */
static int decode_each(const mimeo_message *m, mimeo_buf *out)
{
	mimeo_buf mine = MIMEO_BUF_INIT;
	const mimeo_part *p;
	int rc = MIMEO_OK;

	for (p = mimeo_message_root(m); p && rc == MIMEO_OK; p = mimeo_part_next(p))
		rc = mimeo_part_decode_buf(p, 0, NULL, out ? out : &mine, NULL);
	mimeo_buf_dispose(&mine);
	return rc;
}

/* A message parsed from a file through short reads and EINTRs, and its
 * bodies read back the same way, decode exactly as from memory. */
START_TEST(message_from_file_through_short_reads)
{
	size_t len;
	char *msg = test_message(&len);
	int fd = temp_with(msg, len);
	mimeo_message *mem = NULL, *file = NULL;
	mimeo_buf want = MIMEO_BUF_INIT, got = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_message_parse_buffer(&mem, msg, len, NULL), MIMEO_OK);
	ck_assert_int_eq(decode_each(mem, &want), MIMEO_OK);
	ck_assert_uint_gt(want.size, 200000);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	fault_set(fd, 999, 4, UINT64_MAX);
	ck_assert_int_eq(mimeo_message_parse_fd(&file, fd, NULL), MIMEO_OK);
	/* the parser's reads went through the faults */
	ck_assert_uint_gt(fault.calls, len / 999);
	ck_assert_uint_gt(fault.eintrs, 0);
	ck_assert_uint_eq(mimeo_message_part_count(file), mimeo_message_part_count(mem));
	fault.calls = fault.eintrs = 0;
	ck_assert_int_eq(decode_each(file, &got), MIMEO_OK);
	/* and so did the body reads */
	ck_assert_uint_gt(fault.calls, 0);
	ck_assert_uint_eq(got.size, want.size);
	ck_assert_mem_eq(got.ptr, want.ptr, want.size);
	fault_set(-1, 0, 0, UINT64_MAX);
	close(fd);
	mimeo_message_free(file);
	mimeo_message_free(mem);
	mimeo_buf_dispose(&want);
	mimeo_buf_dispose(&got);
	free(msg);
}
END_TEST

/* A read error while parsing or reading a body is MIMEO_EIO, not a
 * message cut short. */
START_TEST(read_errors_reach_the_caller)
{
	size_t len;
	char *msg = test_message(&len);
	int fd = temp_with(msg, len);
	mimeo_message *m = NULL;

	/* while parsing, 100 KB in */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	fault_set(fd, 0, 0, 100000);
	ck_assert_int_eq(mimeo_message_parse_fd(&m, fd, NULL), MIMEO_EIO);
	ck_assert_ptr_null(m);
	/* parse it whole, then fail the body reads */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	fault_set(fd, 0, 0, UINT64_MAX);
	ck_assert_int_eq(mimeo_message_parse_fd(&m, fd, NULL), MIMEO_OK);
	fault.fail_after = fault.moved;
	ck_assert_int_eq(decode_each(m, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, EIO);
	fault_set(-1, 0, 0, UINT64_MAX);
	mimeo_message_free(m);
	close(fd);
	free(msg);
}
END_TEST

/* A file that ends early while it is read (it shrank after fstat): a
 * range it no longer covers and a body read past its end are errors
 * (ESTALE), where parsing the whole file simply stops at the end. */
START_TEST(file_ending_early_is_estale)
{
	size_t len;
	char *msg = test_message(&len);
	int fd = temp_with(msg, len);
	mimeo_message *m = NULL;

	fault_set(fd, 777, 5, UINT64_MAX);
	fault.eof_at = len - 1000;
	errno = 0;
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 0, (uint64_t)len, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, ESTALE);
	ck_assert_ptr_null(m);
	/* the range it covers parses */
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 0, (uint64_t)len - 1000, NULL),
			 MIMEO_OK);
	mimeo_message_free(m);
	m = NULL;
	/* the whole file, then its bodies read after it "shrank" */
	fault_set(fd, 777, 5, UINT64_MAX);
	ck_assert_int_eq(mimeo_message_parse_fd_range(&m, fd, 0, (uint64_t)len, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_part_count(m), 3);
	fault.eof_at = 1000;
	errno = 0;
	ck_assert_int_eq(decode_each(m, NULL), MIMEO_EIO);
	ck_assert_int_eq(errno, ESTALE);
	fault_set(-1, 0, 0, UINT64_MAX);
	mimeo_message_free(m);
	close(fd);
	free(msg);
}
END_TEST

static Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("pread_full");

	tcase_add_test(tc, reads_ranges_and_stops_at_the_end);
	tcase_add_test(tc, short_reads_and_eintr_are_read_again);
	tcase_add_test(tc, failure_keeps_errno_and_count);
	tcase_add_test(tc, pipe_and_bad_descriptor_are_errors);
	tcase_add_test(tc, offset_beyond_off_t_is_einval);
	tcase_add_test(tc, message_from_file_through_short_reads);
	tcase_add_test(tc, read_errors_reach_the_caller);
	tcase_add_test(tc, file_ending_early_is_estale);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(io_suite());
}
