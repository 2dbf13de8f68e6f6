/*
 * bench_param.c - throughput of Content-Type/Disposition, address-list and
 * date parsing, against GMime 3 in the same run when it is installed.
 *
 * meson test -C build --benchmark --suite param -v
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mimeo.h"

#ifdef MIMEO_TEST_GMIME
#include <gmime/gmime.h>
#endif

/* Realistic values, modelled on what Outlook, Thunderbird, Gmail, Apple
 * Mail and list software send. */
static const char *const ctypes[] = {
	"text/plain; charset=\"utf-8\"",
	"text/plain; charset=UTF-8; format=flowed; delsp=yes",
	"multipart/alternative;\r\n\tboundary=\"----=_NextPart_000_0012_01D9A1B2.C3D4E5F6\"",
	"multipart/mixed; boundary=\"000000000000a1b2c3d4e5f60718\"",
	"application/pdf; name=\"=?utf-8?B?UmVjaG51bmcgTcOkcnoucGRm?=\"",
	"attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz%202025.pdf",
	"attachment;\r\n filename*0*=UTF-8''%D0%9E%D1%82%D1%87%D0%B5%D1%82%20%D0%B7%D0%B0;\r\n"
	" filename*1*=%20%D0%BC%D0%B0%D1%80%D1%82.docx",
	"inline; filename=\"image001.png\"; size=12345;\r\n"
	"\tcreation-date=\"Mon, 12 Aug 2019 07:25:24 GMT\";\r\n"
	"\tmodification-date=\"Mon, 12 Aug 2019 07:25:24 GMT\"",
	"text/html; charset=iso-8859-1",
	"image/jpeg; name=\"IMG_2041.JPG\"",
};

static const char *const addrs[] = {
	"John Doe <jdoe@machine.example>",
	"\"M\xC3\xBCller, J\xC3\xBCrgen\" <j.mueller@example.de>, Mary Smith <mary@x.test>,"
	" jdoe@example.org",
	"=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j.mueller@example.de>",
	"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>, =?US-ASCII?Q?Keith_Moore?= "
	"<moore@cs.utk.edu>",
	"\"Alice Example via dev-list\" <dev-list@lists.example.org>",
	"undisclosed-recipients:;",
	"a@example.com, b@example.com, c@example.com, d@example.com, e@example.com,\r\n"
	" f@example.com, g@example.com, \"H. Person\" <h@example.com>",
	"user@example.com (John Doe)",
};

static const char *const dates[] = {
	"Mon, 23 Nov 2026 11:48:51 +0000",
	"Fri, 21 Nov 1997 09:55:06 -0600",
	"Tue, 1 Jul 2003 10:52:37 +0200 (CEST)",
	"21 Nov 97 09:55:06 GMT",
	"Wed, 12 Feb 1997 16:29:51 -0500",
	"Thu, 13 Feb 2025 23:32:54 +0530",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t total_bytes(const char *const *v, size_t n)
{
	size_t i, t = 0;

	for (i = 0; i < n; i++)
		t += strlen(v[i]);
	return t;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static volatile size_t sink;

static double run_mimeo(int which, mimeo_charset_cache *cc, int iters)
{
	double t0 = now_s();
	int it;
	size_t i;

	for (it = 0; it < iters; it++) {
		if (which == 0) {
			for (i = 0; i < N(ctypes); i++) {
				mimeo_mime_field *f;

				if (mimeo_mime_field_parse(&f, cc, NULL, ctypes[i], strlen(ctypes[i])))
					abort();
				sink += f->nparams;
				mimeo_mime_field_free(f);
			}
		} else if (which == 1) {
			for (i = 0; i < N(addrs); i++) {
				mimeo_address_list *l;

				if (mimeo_address_list_parse(&l, cc, NULL, addrs[i], strlen(addrs[i])))
					abort();
				sink += l->count;
				mimeo_address_list_free(l);
			}
		} else {
			for (i = 0; i < N(dates); i++) {
				int64_t t;

				if (mimeo_date_parse(dates[i], strlen(dates[i]), &t, NULL))
					abort();
				sink += (size_t)t;
			}
		}
	}
	return now_s() - t0;
}

#ifdef MIMEO_TEST_GMIME
static double run_gmime(int which, int iters)
{
	double t0 = now_s();
	int it;
	size_t i;

	for (it = 0; it < iters; it++) {
		if (which == 0) {
			for (i = 0; i < N(ctypes); i++) {
				/* dispositions through the disposition parser */
				if (strncmp(ctypes[i], "attachment", 10) == 0 ||
				    strncmp(ctypes[i], "inline", 6) == 0) {
					GMimeContentDisposition *d =
						g_mime_content_disposition_parse(NULL, ctypes[i]);

					sink += d != NULL;
					g_object_unref(d);
				} else {
					GMimeContentType *t = g_mime_content_type_parse(NULL, ctypes[i]);

					sink += t != NULL;
					g_object_unref(t);
				}
			}
		} else if (which == 1) {
			for (i = 0; i < N(addrs); i++) {
				InternetAddressList *l = internet_address_list_parse(NULL, addrs[i]);

				sink += l ? (size_t)internet_address_list_length(l) : 0;
				if (l)
					g_object_unref(l);
			}
		} else {
			for (i = 0; i < N(dates); i++) {
				GDateTime *d = g_mime_utils_header_decode_date(dates[i]);

				sink += d != NULL;
				if (d)
					g_date_time_unref(d);
			}
		}
	}
	return now_s() - t0;
}
#endif

int main(void)
{
	static const char *const names[] = { "Content-Type/Disposition (10 values)",
					     "address lists (8 values)", "dates (6 values)" };
	const size_t bytes[] = { total_bytes(ctypes, N(ctypes)), total_bytes(addrs, N(addrs)),
				 total_bytes(dates, N(dates)) };
	const int iters[] = { 20000, 20000, 100000 };
	mimeo_charset_cache *cc;
	int w;

	if (mimeo_charset_cache_new(&cc, NULL) != MIMEO_OK)
		return 1;
#ifdef MIMEO_TEST_GMIME
	g_mime_init();
#endif
	printf("| workload | GMime | mimeo | ratio |\n|---|---|---|---|\n");
	for (w = 0; w < 3; w++) {
		double tm, mb = (double)bytes[w] * iters[w] / 1e6, best_m = 1e9;
		int rep;

		run_mimeo(w, cc, iters[w] / 10); /* warm-up */
		for (rep = 0; rep < 3; rep++) {
			tm = run_mimeo(w, cc, iters[w]);
			if (tm < best_m)
				best_m = tm;
		}
#ifdef MIMEO_TEST_GMIME
		{
			double best_g = 1e9, tg;

			run_gmime(w, iters[w] / 10);
			for (rep = 0; rep < 3; rep++) {
				tg = run_gmime(w, iters[w]);
				if (tg < best_g)
					best_g = tg;
			}
			printf("| %s | %.1f MB/s | %.1f MB/s | %.1fx |\n", names[w], mb / best_g,
			       mb / best_m, best_g / best_m);
		}
#else
		printf("| %s | (no GMime) | %.1f MB/s | - |\n", names[w], mb / best_m);
#endif
	}
	mimeo_charset_cache_free(cc);
	return 0;
}
