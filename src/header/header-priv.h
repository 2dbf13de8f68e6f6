/*
 * header-priv.h - reading mimeo_header_options the same way everywhere
 * (not installed).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_HEADER_PRIV_H
#define MIMEO_HEADER_PRIV_H

#include "mimeo/header.h"

/* Versions of mimeo_header_options: 0 (zero-initialised, read as the
 * current layout), 1 (the 0.1 layout, which ends before `alloc`) and
 * MIMEO_HEADER_OPTIONS_VERSION.  NULL options are fine. */
static inline int mimeo__header_options_ok(const mimeo_header_options *o)
{
	return !o || o->version <= MIMEO_HEADER_OPTIONS_VERSION;
}

/* The allocator the options name; NULL (libc) for NULL options and for a
 * version 1 struct, whose memory may end before the field. */
static inline const mimeo_allocator *mimeo__header_alloc(const mimeo_header_options *o)
{
	return o && o->version != 1 ? o->alloc : NULL;
}

#endif
