/*
 * fuzz_date.c - RFC 5322 date-time parsing and formatting.
 *
 * Input: [mode byte] [bytes...]
 *   mode even: the bytes are a Date: value.  If it parses, the offset is a
 *   valid zone (|offset| <= 99:59), and formatting the result then parsing
 *   that again gives the same instant and offset (when the local year is
 *   within the formatter's 1900..9999).  A failed parse leaves the outputs
 *   untouched (date.h).
 *   mode odd: the first 8 bytes are a time in seconds and the next 2 an
 *   offset: whatever mimeo_date_format accepts must parse back exactly and
 *   look like "Mon, 23 Nov 2026 11:48:51 +0000".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz_util.h"

#include <mimeo.h>

static void check_shape(const char *s, size_t n)
{
	/* "Www, D Mmm YYYY hh:mm:ss +hhmm", day of month 1 or 2 digits */
	size_t i = 0, d = 0;

	FZ_CHECK(n == 30 || n == 31);
	FZ_CHECK(s[3] == ',' && s[4] == ' ');
	for (i = 5; s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	FZ_CHECK(d == 1 || d == 2);
	FZ_CHECK(s[i] == ' ' && s[i + 4] == ' ' && s[i + 9] == ' ');
	FZ_CHECK(s[i + 12] == ':' && s[i + 15] == ':' && s[i + 18] == ' ');
	FZ_CHECK(s[i + 19] == '+' || s[i + 19] == '-');
}

static void round_trip(int64_t t, int off)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	int64_t t2 = 0;
	int off2 = 0, rc;

	rc = mimeo_date_format(t, off, &b);
	if (rc == MIMEO_EINVAL) {
		FZ_CHECK(b.size == 0);
		return;
	}
	FZ_CHECK(rc == MIMEO_OK);
	check_shape(b.ptr, b.size);
	if (mimeo_date_parse(b.ptr, b.size, &t2, &off2) != MIMEO_OK ||
	    t2 != t || off2 != off) {
		fprintf(stderr, "date round trip: %lld %+d -> [%s] -> %lld %+d\n",
			(long long)t, off, b.ptr, (long long)t2, off2);
		abort();
	}
	mimeo_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_input in = { data, size };
	uint8_t mode = fz_byte(&in);
	int64_t t = 0x5a5a5a5a;
	int off = 0x1234;

	if (mode & 1) {
		uint64_t u = 0;
		unsigned i;
		int16_t o;

		if (in.size < 10)
			return 0;
		for (i = 0; i < 8; i++)
			u = (u << 8) | in.data[i];
		/* mostly plausible times, sometimes anything at all */
		t = (mode & 2) ? (int64_t)u : (int64_t)(u % (400ULL * 366 * 86400)) - 2208988800LL;
		o = (int16_t)((in.data[8] << 8) | in.data[9]);
		round_trip(t, (mode & 4) ? o : o % 1440);
		return 0;
	}

	if (mimeo_date_parse((const char *)in.data, in.size, &t, &off) != MIMEO_OK) {
		FZ_CHECK(t == 0x5a5a5a5a && off == 0x1234);
		return 0;
	}
	FZ_CHECK(off >= -5999 && off <= 5999);
	/* NULL outputs are allowed */
	FZ_CHECK(mimeo_date_parse((const char *)in.data, in.size, NULL, NULL) == MIMEO_OK);
	round_trip(t, off);
	return 0;
}
