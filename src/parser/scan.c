/*
 * scan.c - the portable line-start scanner of the push parser (see
 * parser-priv.h).  A file of its own so the per-ISA scanners, which finish
 * their last partial block with it, depend on it and not on parser.c (the
 * dispatcher that picks one of them).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "parser-priv.h"

#include <string.h>

/* Portable scanner: memchr from line break to line break. */
size_t mimeo__parser_scan_scalar(const char *s, size_t n, unsigned mask)
{
	const char *q = s, *end = s + n;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		char c;

		if (q + 1 >= end)
			break;
		c = q[1];
		if (((mask & MIMEO__SCAN_DASH) && c == '-') ||
		    ((mask & MIMEO__SCAN_FROM) && (c == 'F' || c == '>')))
			return (size_t)(q - s);
		q++;
	}
	return n;
}
