/*
 * mimeo.h - umbrella header: include this to get the whole public API.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_H
#define MIMEO_H

#include "mimeo/common.h"
#include "mimeo/codec.h"
#include "mimeo/charset.h"
#include "mimeo/header.h"
#include "mimeo/param.h"
#include "mimeo/address.h"
#include "mimeo/date.h"
#include "mimeo/parser.h"
#include "mimeo/message.h"
#include "mimeo/query.h"
#include "mimeo/builder.h"
#include "mimeo/pop3.h"
#include "mimeo/mailbox.h"
#include "mimeo/tnef.h"
#include "mimeo/imap.h"
#include "mimeo/expand.h"

#endif /* MIMEO_H */
