/*
 * io.c - reading a file at an offset until a buffer is full: the one loop
 * the message sources, the seekable-file parser and `mimeo scan` share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "io-priv.h"

#include "common-priv.h"

#include <errno.h>
#include <unistd.h>

/* Larger requests go in steps: Linux moves at most 0x7ffff000 bytes per
 * call, and a step must fit in ssize_t on every platform. */
#define PREAD_STEP ((size_t)1 << 30)

int mimeo__pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	/* the largest off_t: a signed type of off_t's size */
	const uint64_t off_max = sizeof(off_t) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < PREAD_STEP ? len - done : PREAD_STEP;
		ssize_t n;

		if (off > off_max || done > off_max - off) {
			*got = done;
			errno = EINVAL;
			return MIMEO_EIO;
		}
		n = pread(fd, p + done, want, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*got = done;
			return MIMEO_EIO;
		}
		if (n == 0)
			break; /* the end of the file */
		done += (size_t)n;
	}
	*got = done;
	return MIMEO_OK;
}
