/*
 * tnef-priv.h - what src/tnef/ shares with the layers above it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_TNEF_PRIV_H
#define MIMEO_TNEF_PRIV_H

/* The MIME type of a file from its name's extension (a short table of the
 * common ones; case-insensitive), else "application/octet-stream".  Used
 * for TNEF attachments without PR_ATTACH_MIME_TAG and for files found in
 * text bodies (uuencode, yEnc), which carry a name only. */
const char *mimeo__guess_type(const char *name);

#endif /* MIMEO_TNEF_PRIV_H */
