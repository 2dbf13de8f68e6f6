/*
 * testutil.c - helpers shared by the Check suites.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include "mimeo/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* Each block carries its size in a header so realloc can be tracked. */
static int should_fail(test_failing_alloc *fa)
{
	fa->calls++;
	if (fa->fail_at && fa->calls >= fa->fail_at) {
		fa->failed = 1;
		return 1;
	}
	return 0;
}

static void *fa_malloc(size_t size, void *ctx)
{
	test_failing_alloc *fa = ctx;
	void *p;

	if (should_fail(fa))
		return NULL;
	p = malloc(size);
	if (p)
		fa->live++;
	return p;
}

static void *fa_realloc(void *ptr, size_t size, void *ctx)
{
	test_failing_alloc *fa = ctx;
	void *p;

	if (should_fail(fa))
		return NULL;
	p = realloc(ptr, size);
	if (p && !ptr)
		fa->live++;
	return p;
}

static void fa_free(void *ptr, void *ctx)
{
	test_failing_alloc *fa = ctx;

	if (ptr) {
		fa->live--;
		free(ptr);
	}
}

void test_failing_alloc_init(test_failing_alloc *fa, unsigned long fail_at)
{
	memset(fa, 0, sizeof(*fa));
	fa->alloc.malloc = fa_malloc;
	fa->alloc.realloc = fa_realloc;
	fa->alloc.free = fa_free;
	fa->alloc.ctx = fa;
	fa->fail_at = fail_at;
}

uint64_t test_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

void test_rand_bytes(uint64_t *state, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(test_rand(state) >> 56);
}

char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)size + 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[size] = '\0';
	if (len)
		*len = (size_t)size;
	return buf;
}

char *test_read_data(const char *name, size_t *len)
{
	char path[4096];
	char *data;

	snprintf(path, sizeof(path), "%s/tests/data/%s", test_source_dir(), name);
	data = test_read_file(path, len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	return data;
}

const char *test_source_dir(void)
{
	const char *d = getenv("MIMEO_SOURCE_DIR");

	return d && *d ? d : ".";
}

const char *test_shared_corpus(void)
{
	static char path[4096]; /* test-only: single-threaded test programs */
	const char *env = getenv("MIMEO_SHARED_CORPUS");
	struct stat st;

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/../shared/corpus", test_source_dir());
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return path;
}

int test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const void *test_part_body(const struct mimeo_part *p, size_t *len)
{
	static mimeo_buf ring[16];
	static unsigned next;
	mimeo_buf *b = &ring[next++ % 16];

	mimeo_buf_clear(b);
	ck_assert_int_eq(mimeo_part_decode_buf(p, 0, NULL, b, NULL), MIMEO_OK);
	ck_assert_uint_eq(b->size, mimeo_part_size(p));
	if (len)
		*len = b->size;
	return b->ptr ? b->ptr : "";
}

void *test_gzip(const void *data, size_t len, size_t *out_len)
{
	z_stream z;
	size_t cap = len + len / 100 + 64;
	unsigned char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer around the deflate */
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	ck_assert_uint_le(deflateBound(&z, (uLong)len), cap);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

int test_pipe_from(const void *data, size_t len, int *pid)
{
	int p[2];
	pid_t child;

	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		const char *d = data;

		close(p[0]);
		while (len) {
			ssize_t n = write(p[1], d, len);

			if (n <= 0)
				_exit(1);
			d += n;
			len -= (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	*pid = child;
	return p[0];
}

void test_pipe_wait(int pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE));
}

size_t test_yenc_encode(const unsigned char *in, size_t len, unsigned line, char *out,
			const char *eol)
{
	size_t i, o = 0;
	unsigned col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)(in[i] + 42);

		if (c == 0 || c == '\n' || c == '\r' || c == '=' ||
		    (col == 0 && (c == '.' || c == ' ' || c == '\t'))) {
			out[o++] = '=';
			out[o++] = (char)(c + 64);
			col += 2;
		} else {
			out[o++] = (char)c;
			col++;
		}
		if (col >= line && i + 1 < len) {
			o += (size_t)sprintf(out + o, "%s", eol);
			col = 0;
		}
	}
	o += (size_t)sprintf(out + o, "%s", eol);
	return o;
}

void test_options_allocator(const test_options_parse *t)
{
	test_failing_alloc fa;
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_header_options zero;
	void *res = NULL;
	int version;

	/* Given through initialised and through zero-initialised options. */
	for (version = 0; version < 2; version++) {
		memset(&zero, 0, sizeof(zero));
		test_failing_alloc_init(&fa, 0);
		o.alloc = zero.alloc = &fa.alloc;
		ck_assert_int_eq(t->parse(&res, version ? &o : &zero, t->ctx), MIMEO_OK);
		t->check(res, t->ctx);
		ck_assert_uint_gt(fa.calls, 1); /* the result and the temporary memory */
		ck_assert_int_eq(fa.live, 1);   /* only the result is left */
		t->free_result(res);            /* through the allocator it remembers */
		ck_assert_int_eq(fa.live, 0);
	}

	/* NULL options, options without an allocator, version 1: libc. */
	for (version = 0; version < 3; version++) {
		mimeo_header_options *op = version == 0 ? NULL : &o;

		test_failing_alloc_init(&fa, 0);
		o.version = version == 2 ? 1 : MIMEO_HEADER_OPTIONS_VERSION;
		o.alloc = version == 2 ? &fa.alloc : NULL;
		ck_assert_int_eq(t->parse(&res, op, t->ctx), MIMEO_OK);
		t->check(res, t->ctx);
		ck_assert_uint_eq(fa.calls, 0);
		t->free_result(res);
	}

	/* A version from the future is refused, before anything is read. */
	o.version = MIMEO_HEADER_OPTIONS_VERSION + 1;
	o.alloc = &fa.alloc;
	res = &o;
	ck_assert_int_eq(t->parse(&res, &o, t->ctx), MIMEO_EINVAL);
	ck_assert_ptr_null(res);
	ck_assert_uint_eq(fa.calls, 0);
}
