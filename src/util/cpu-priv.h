/*
 * cpu-priv.h - the CPU-path choice of util/cpu.c (not installed), used by
 * every dispatcher (codec, charset, parser) above it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CPU_PRIV_H
#define MIMEO_CPU_PRIV_H

#include "mimeo/codec.h"   /* mimeo_isa */
#include "mimeo-config.h"

/* Resolve a requested path to one this CPU and build can run (never AUTO). */
mimeo_isa mimeo__isa_resolve(mimeo_isa isa);

#endif
