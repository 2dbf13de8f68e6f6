/*
 * mimeo/date.h - RFC 5322 date-time (Date:, Resent-Date:), both directions.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_DATE_H
#define MIMEO_DATE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Parse an RFC 5322 section 3.3 date-time, including the obsolete forms of
 * section 4.3: comments and folding whitespace anywhere, a missing day of
 * week, missing seconds, two-digit years (00-49 -> 2000-2049, 50-99 ->
 * 1950-1999) and three-digit years (+1900), zone names UT/GMT (and UTC),
 * EST/EDT/CST/CDT/MST/MDT/PST/PDT, and the military one-letter zones
 * (taken as +0000, as section 4.3 recommends).  Month and day names are
 * case-insensitive; full day names ("Monday") are accepted; a day of week
 * that does not match the date is ignored.  Also accepted (real mail): a
 * missing zone (taken as +0000), a zone name after a numeric zone ("+0200
 * CEST"), "+05:30", "-600" (three digits), "0800" (no sign), fractions of
 * a second (dropped), "AM"/"PM", a three-digit day ("029"), "23-Nov-2026",
 * the asctime()/date(1) forms "Mon Nov 23 11:48:51 [UTC] 2026" and the US
 * form "Thursday, Apr 29, 2008 2:45:56 PM".  Text after a complete date
 * with a zone is ignored (a Date: glued to the next line); without a zone
 * it is garbage.  Computes UTC without timegm() or the TZ environment.
 *
 * @param in, len         the value (need not be NUL-terminated)
 * @param utc_seconds     receives seconds since 1970-01-01T00:00:00Z; may be NULL
 * @param offset_minutes  receives the zone offset as written (+0130 -> 90);
 *                        may be NULL
 * @return MIMEO_OK, or MIMEO_EPARSE for garbage or out-of-range fields
 *         (day not in the month, hour > 23, minute > 59, second > 60, zone
 *         minutes > 59, year < 1900); outputs untouched then.  @since 0.1
 */
MIMEO_EXTERN int mimeo_date_parse(const char *in, size_t len, int64_t *utc_seconds,
				  int *offset_minutes);

/**
 * APPEND an RFC 5322 date-time, "Mon, 23 Nov 2026 11:48:51 +0000" (day of
 * month without leading zero), for `utc_seconds` shown in the zone
 * `offset_minutes` east of UTC.
 * @return MIMEO_OK, MIMEO_ENOMEM, or MIMEO_EINVAL when the local year falls
 *         outside 1900..9999 or |offset_minutes| > 5999.  @since 0.1
 */
MIMEO_EXTERN int mimeo_date_format(int64_t utc_seconds, int offset_minutes, mimeo_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_DATE_H */
