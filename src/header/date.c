/*
 * date.c - RFC 5322 section 3.3 date-time with the obsolete forms of
 * section 4.3, and its formatting.  UTC is computed with plain civil-date
 * arithmetic (days from 1970-01-01 in the proleptic Gregorian calendar), so
 * neither timegm() nor the TZ environment is involved and the result does
 * not depend on the host.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "param-priv.h"

#include "mimeo/date.h"

#include <string.h>

static const char *const month_names[12] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const month_full[12] = {
	"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december"
};
static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const day_full[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
};
static const char *const month_out[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char *const day_out[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).  The
 * year is shifted to start in March so that the leap day is the last day
 * of the shifted year; eras of 400 years have 146097 days. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

struct dscan {
	const char *s;
	size_t len, i;
};

static void skip(struct dscan *d)
{
	mimeo__skip_cfws(d->s, d->len, &d->i, NULL, NULL);
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Read a word of letters; returns its length (0 if none). */
static size_t word(struct dscan *d, const char **w)
{
	size_t st = d->i;

	while (d->i < d->len && is_alpha((unsigned char)d->s[d->i]))
		d->i++;
	*w = d->s + st;
	return d->i - st;
}

/* Read up to 9 digits; returns the digit count (0 if none, 10 if longer). */
static int number(struct dscan *d, long *v)
{
	int n = 0;

	*v = 0;
	while (d->i < d->len && is_digit((unsigned char)d->s[d->i])) {
		if (n < 9)
			*v = *v * 10 + (d->s[d->i] - '0');
		n++;
		d->i++;
	}
	return n > 9 ? 10 : n;
}

/* Index of a month (three letters or the full name), or -1. */
static int month_index(const char *w, size_t n)
{
	int k;

	for (k = 0; k < 12; k++)
		if (mimeo__ascii_ieq(w, n, month_names[k]) || mimeo__ascii_ieq(w, n, month_full[k]))
			return k;
	return -1;
}

static int weekday_index(const char *w, size_t n)
{
	int k;

	for (k = 0; k < 7; k++)
		if (mimeo__ascii_ieq(w, n, day_names[k]) || mimeo__ascii_ieq(w, n, day_full[k]))
			return k;
	return -1;
}

/* Zone names of RFC 5322 4.3 (plus UTC), offset in minutes.  Returns 1 when
 * known.  Military letters (except J) and unknown 3-5 letter names count
 * as -0000 (offset 0), as section 4.3 says they SHOULD. */
static int zone_name(const char *w, size_t n, int *off)
{
	static const struct { const char *name; int off; } zones[] = {
		{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
		{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
		{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	};
	size_t k;

	for (k = 0; k < sizeof(zones) / sizeof(zones[0]); k++) {
		if (mimeo__ascii_ieq(w, n, zones[k].name)) {
			*off = zones[k].off;
			return 1;
		}
	}
	if (n == 1 && mimeo__lower((unsigned char)w[0]) != 'j') {
		*off = 0;
		return 1;
	}
	if (n >= 3 && n <= 5) {
		*off = 0;
		return 1;
	}
	return 0;
}

/* A numeric zone at d->i: "+hhmm" (RFC 5322), and in the wild "+hh:mm",
 * "-hmm" (three digits) and "hhmm" without a sign. */
static int numeric_zone(struct dscan *d, int *off)
{
	int sign = 1, nd;
	long hh, mm;

	if (d->s[d->i] == '+' || d->s[d->i] == '-') {
		sign = d->s[d->i] == '-' ? -1 : 1;
		d->i++;
	}
	nd = number(d, &hh);
	if (nd == 4 || nd == 3) {
		mm = hh % 100;
		hh /= 100;
	} else if (nd == 2 && d->i < d->len && d->s[d->i] == ':') {
		d->i++;
		if (number(d, &mm) != 2)
			return 0;
	} else {
		return 0;
	}
	if (mm > 59)
		return 0;
	*off = sign * (int)(hh * 60 + mm);
	return 1;
}

/* "day month year" (RFC 5322, also with "-" between) after the optional day
 * of week. */
static int day_month_year(struct dscan *d, long *day, int *month, long *year)
{
	const char *w;
	size_t n;
	int nd;

	nd = number(d, day);
	if (nd < 1 || nd > 3) /* "029" has been seen */
		return 0;
	skip(d);
	if (d->i < d->len && d->s[d->i] == '-')
		d->i++;
	skip(d);
	n = word(d, &w);
	*month = month_index(w, n);
	if (*month < 0)
		return 0;
	skip(d);
	if (d->i < d->len && d->s[d->i] == '-')
		d->i++;
	skip(d);
	nd = number(d, year);
	if (nd < 2 || nd > 4)
		return 0;
	/* RFC 5322 4.3: 2-digit years 00-49 are 2000-2049, 50-99 are
	 * 1950-1999; 3-digit years add 1900 */
	if (nd == 2)
		*year += *year < 50 ? 2000 : 1900;
	else if (nd == 3)
		*year += 1900;
	skip(d);
	return 1;
}

int mimeo_date_parse(const char *in, size_t len, int64_t *utc_seconds, int *offset_minutes)
{
	struct dscan d = { in, len, 0 };
	const char *w;
	size_t n;
	long day = -1, year = -1, hh, mi, ss = 0;
	int month = -1, off = 0, nd, month_first = 0, have_zone = 0;
	int64_t t;

	if (!in)
		return MIMEO_EPARSE;
	skip(&d);
	/* [day-of-week ","] */
	n = word(&d, &w);
	if (n && weekday_index(w, n) >= 0) {
		skip(&d);
		if (d.i < len && d.s[d.i] == ',')
			d.i++;
		skip(&d);
		n = word(&d, &w);
	}
	if (n) {
		/* month first: asctime() "Nov 23 11:48:51 2026", date(1)
		 * "Nov 23 11:48:51 UTC 2026", US style "Nov 23, 2026 11:48" */
		month = month_index(w, n);
		if (month < 0)
			return MIMEO_EPARSE;
		month_first = 1;
		skip(&d);
		nd = number(&d, &day);
		if (nd < 1 || nd > 2)
			return MIMEO_EPARSE;
		skip(&d);
		if (d.i < len && d.s[d.i] == ',')
			d.i++;
		skip(&d);
		/* a year here unless the time comes first (asctime) */
		{
			size_t k = d.i;

			while (k < len && is_digit((unsigned char)d.s[k]))
				k++;
			if (k > d.i && (k >= len || d.s[k] != ':')) {
				if (number(&d, &year) != 4)
					return MIMEO_EPARSE;
				skip(&d);
			}
		}
	} else if (!day_month_year(&d, &day, &month, &year)) {
		return MIMEO_EPARSE;
	}
	/* time-of-day = hour ":" minute [":" second] */
	nd = number(&d, &hh);
	if (nd < 1 || nd > 2 || hh > 23)
		return MIMEO_EPARSE;
	skip(&d);
	if (d.i >= len || d.s[d.i] != ':')
		return MIMEO_EPARSE;
	d.i++;
	skip(&d);
	nd = number(&d, &mi);
	if (nd < 1 || nd > 2 || mi > 59)
		return MIMEO_EPARSE;
	skip(&d);
	if (d.i < len && d.s[d.i] == ':') {
		d.i++;
		skip(&d);
		nd = number(&d, &ss);
		if (nd < 1 || nd > 2 || ss > 60)
			return MIMEO_EPARSE;
		/* fractions of a second (seen from Java mailers): dropped */
		if (d.i + 1 < len && d.s[d.i] == '.' && is_digit((unsigned char)d.s[d.i + 1])) {
			d.i++;
			while (d.i < len && is_digit((unsigned char)d.s[d.i]))
				d.i++;
		}
		skip(&d);
	}
	/* "1:17 PM" */
	{
		size_t k = d.i;

		n = word(&d, &w);
		if (n == 2 && (mimeo__ascii_ieq(w, 2, "am") || mimeo__ascii_ieq(w, 2, "pm"))) {
			if (hh < 1 || hh > 12)
				return MIMEO_EPARSE;
			hh = hh % 12 + (mimeo__lower((unsigned char)w[0]) == 'p' ? 12 : 0);
			skip(&d);
		} else {
			d.i = k;
		}
	}
	if (month_first && year < 0 && d.i < len && is_digit((unsigned char)d.s[d.i]) &&
	    len - d.i >= 4) {
		/* asctime: the year after the time */
		size_t k = d.i;

		if (number(&d, &year) != 4) {
			d.i = k;
			year = -1;
		}
		skip(&d);
	}
	/* zone */
	if (d.i < len && (d.s[d.i] == '+' || d.s[d.i] == '-' || is_digit((unsigned char)d.s[d.i]))) {
		if (!numeric_zone(&d, &off))
			return MIMEO_EPARSE;
		have_zone = 1;
		skip(&d);
	}
	n = word(&d, &w);
	if (n) {
		int named;

		/* a zone name, or a name after a numeric zone ("+0200 CEST") */
		if (zone_name(w, n, &named)) {
			if (!have_zone)
				off = named;
			have_zone = 1;
			skip(&d);
		} else if (!have_zone) {
			return MIMEO_EPARSE;
		}
	}
	if (month_first && year < 0) {
		/* date(1): the year after the zone */
		if (number(&d, &year) != 4)
			return MIMEO_EPARSE;
		skip(&d);
	}
	/* Text after a complete date and zone is ignored (a Date: merged
	 * with the next line by a broken mailer, "CDT<nl>"); without a zone
	 * it makes the value garbage. */
	if (d.i != len && !have_zone)
		return MIMEO_EPARSE;
	if (year < 1900 || year > 9999 || day < 1 || day > days_in_month(year, month + 1))
		return MIMEO_EPARSE;

	t = days_from_civil(year, month + 1, (int)day) * 86400 + hh * 3600 + mi * 60 + ss -
	    (int64_t)off * 60;
	if (utc_seconds)
		*utc_seconds = t;
	if (offset_minutes)
		*offset_minutes = off;
	return MIMEO_OK;
}

static int date_format_body(int64_t utc_seconds, int offset_minutes, mimeo_buf *out)
{
	/* 9999-12-31T23:59:59 local, and 1900-01-01 local, in UTC seconds
	 * with a margin for the offset: reject anything far outside first so
	 * that no arithmetic below can overflow */
	const int64_t lo = -2208988800LL - 86400 * 2, hi = 253402300799LL + 86400 * 2;
	int64_t local, days, secs, y;
	int m, dd, wd, ao;
	char buf[64];
	size_t n = 0;

	if (!out)
		return MIMEO_EINVAL;
	if (offset_minutes > 5999 || offset_minutes < -5999 || utc_seconds < lo ||
	    utc_seconds > hi)
		return MIMEO_EINVAL;
	local = utc_seconds + (int64_t)offset_minutes * 60;
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &dd);
	if (y < 1900 || y > 9999)
		return MIMEO_EINVAL;
	/* 1970-01-01 was a Thursday (4) */
	wd = (int)(((days % 7) + 7 + 4) % 7);
	ao = offset_minutes < 0 ? -offset_minutes : offset_minutes;

	memcpy(buf + n, day_out[wd], 3);
	n += 3;
	buf[n++] = ',';
	buf[n++] = ' ';
	if (dd >= 10)
		buf[n++] = (char)('0' + dd / 10);
	buf[n++] = (char)('0' + dd % 10);
	buf[n++] = ' ';
	memcpy(buf + n, month_out[m - 1], 3);
	n += 3;
	buf[n++] = ' ';
	buf[n++] = (char)('0' + (int)(y / 1000));
	buf[n++] = (char)('0' + (int)(y / 100 % 10));
	buf[n++] = (char)('0' + (int)(y / 10 % 10));
	buf[n++] = (char)('0' + (int)(y % 10));
	buf[n++] = ' ';
	buf[n++] = (char)('0' + (int)(secs / 36000));
	buf[n++] = (char)('0' + (int)(secs / 3600 % 10));
	buf[n++] = ':';
	buf[n++] = (char)('0' + (int)(secs % 3600 / 600));
	buf[n++] = (char)('0' + (int)(secs % 3600 / 60 % 10));
	buf[n++] = ':';
	buf[n++] = (char)('0' + (int)(secs % 60 / 10));
	buf[n++] = (char)('0' + (int)(secs % 10));
	buf[n++] = ' ';
	buf[n++] = offset_minutes < 0 ? '-' : '+';
	buf[n++] = (char)('0' + ao / 60 / 10);
	buf[n++] = (char)('0' + ao / 60 % 10);
	buf[n++] = (char)('0' + ao % 60 / 10);
	buf[n++] = (char)('0' + ao % 60 % 10);
	return mimeo_buf_put(out, buf, n);
}

/* A successful call leaves out->ptr non-NULL ("" for empty text); a refused
 * or failed call allocates nothing for that (callers need not dispose). */
int mimeo_date_format(int64_t utc_seconds, int offset_minutes, mimeo_buf *out)
{
	int rc = date_format_body(utc_seconds, offset_minutes, out);

	return rc == MIMEO_OK && out ? mimeo__buf_ready(out) : rc;
}
