/*
 * io-priv.h - reading a file at an offset until a buffer is full.
 * Not installed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_IO_PRIV_H
#define MIMEO_IO_PRIV_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read `len` bytes of `fd` at offset `off` into `buf` with pread(2), which
 * leaves the descriptor's file position alone (several threads may read one
 * file).  pread may return fewer bytes than asked (a signal, a transfer cap
 * of about 2 GiB, a network file system) and fail with EINTR: both are read
 * again here, so callers see only two outcomes.
 *
 * @return MIMEO_OK with *got bytes read: *got == len, or less only when the
 *         file ends at off + *got (0 at or past the end);
 *         MIMEO_EIO when pread fails: errno is its reason, and *got counts
 *         the bytes read into buf before the failure.
 *         An offset past what off_t holds fails the same way with EINVAL.
 */
int mimeo__pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got);

#endif
