/*
 * mimeo/expand.h - what is inside a leaf, shown as its children in the
 * message tree (issue 18): the bodies and attachments of a TNEF part
 * (winmail.dat), and the uuencoded and yEnc files embedded in a text/plain
 * body.
 *
 * mimeo_message_expand() adds "derived" nodes under such leaves.  The leaf
 * stays a leaf (its own body is still decoded as before) and gains
 * children whose sections continue the IMAP scheme: the children of
 * section 2 are 2.1, 2.2, ...  A derived node is a leaf like any other
 * (type, filename, disposition "attachment", size, mimeo_part_decode(),
 * mimeo_part_is_attachment()), with MIMEO_PART_DERIVED in
 * mimeo_part_flags(), no header fields, and the offsets of the parent's
 * body (the bytes it is derived from).
 *
 * A derived node's content is produced when it is asked for, by decoding
 * the parent's content again and then the TNEF, uuencode or yEnc layer.
 * For a text body without a transfer encoding the block's own bytes are
 * read from the source; otherwise the parent is decoded from its start up
 * to the block.  A TNEF part is decoded and read once, the first time one
 * of its children is asked for, and kept with the message until
 * mimeo_message_free() (the TNEF reader needs the stream in one piece):
 * memory of the TNEF part's decoded size from then on, and every further
 * child of it is a copy out of that stream, so saving all k children of a
 * TNEF part costs one decode, not k.  Threads may ask for children at
 * once (the first stream read is kept, the others dropped).
 *
 * What counts:
 *  - TNEF: a leaf of type application/ms-tnef or application/vnd.ms-tnef,
 *    or named winmail.dat (any case), whose content has the TNEF
 *    signature.  Its children are mimeo_tnef_open()'s items in order: the
 *    bodies (message.rtf decompressed, message.html, message.txt) then the
 *    attachments with their names and MIME types.  An embedded message
 *    (an attachment that is itself TNEF) is expanded in turn, and the
 *    uuencoded and yEnc files in the plain-text body (PR_BODY/attBody, as
 *    the reader gives it: UTF-8) are children of that body's node.
 *  - uuencode and yEnc: in a text/plain leaf, a "begin MODE NAME" line
 *    followed by data lines and an "end" line, or an "=ybegin ... name="
 *    line followed by data and an "=yend" line.  A begin line without the
 *    end of its block stays text (no child).
 *
 * Names come from the message: pass them through mimeo_filename_sanitize()
 * before using them as paths.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_EXPAND_H
#define MIMEO_EXPAND_H

#include "mimeo/common.h"
#include "mimeo/message.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What mimeo_message_expand() looks for, and what a derived node is
 *  (mimeo_part_derived()).  @since 0.2 */
enum {
	MIMEO_EXPAND_TNEF = 0x1,     /**< TNEF parts (winmail.dat) */
	MIMEO_EXPAND_UUENCODE = 0x2, /**< uuencoded files in text/plain bodies */
	MIMEO_EXPAND_YENC = 0x4,     /**< yEnc files in text/plain bodies */
	MIMEO_EXPAND_ALL = 0x7
};

/** Options for mimeo_message_expand(); zeroed = defaults.  @since 0.2 */
typedef struct mimeo_expand_options {
	unsigned version;     /**< MIMEO_EXPAND_OPTIONS_VERSION or 0 */
	unsigned what;        /**< MIMEO_EXPAND_* bits; 0 = MIMEO_EXPAND_ALL */
	size_t max_children;  /**< most derived nodes in the message (default
				   4096); past it the rest is not expanded and
				   MIMEO_LIMIT_PARTS is added to
				   mimeo_message_limits_hit() */
	unsigned max_nesting; /**< TNEF messages embedded in TNEF expanded to
				   this depth (default 4) */
	unsigned work_factor; /**< producing every child of a part once may
				   decode that part this many times over
				   (default 16; at least 256 MiB): a block in
				   a transfer-encoded text decodes the text up
				   to it (a TNEF part counts once, plus the
				   size of each item).  Past it the part's
				   other files are not shown and
				   MIMEO_LIMIT_PARTS is set, so a part
				   holding thousands of small files cannot
				   make saving them all quadratic */
} mimeo_expand_options;

#define MIMEO_EXPAND_OPTIONS_VERSION 1
#define MIMEO_EXPAND_OPTIONS_INIT { MIMEO_EXPAND_OPTIONS_VERSION, MIMEO_EXPAND_ALL, 4096, 4, 16 }

/**
 * Add the derived children of every TNEF part and of every text/plain leaf
 * that holds uuencoded or yEnc files.  Reads (and decodes) the candidate
 * parts once.  Call it once, right after parsing and before other threads
 * use `m`: it changes the tree.  A second call does nothing.
 * @param opts  NULL = defaults
 * @return MIMEO_OK (also when nothing was found); MIMEO_ENOMEM (the tree
 *         is then as before the call); MIMEO_EIO (a source file that cannot
 *         be read any more); MIMEO_EINVAL (m NULL, bad options version).
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_message_expand(mimeo_message *m, const mimeo_expand_options *opts);

/** What derived node `p` was read from: MIMEO_EXPAND_TNEF, _UUENCODE or
 *  _YENC; 0 for a node of the MIME structure.  @since 0.2 */
MIMEO_EXTERN unsigned mimeo_part_derived(const mimeo_part *p);

/** The figures of a yEnc block (a derived node of kind MIMEO_EXPAND_YENC),
 *  for putting multi-part posts together.  @since 0.2 */
typedef struct mimeo_yenc_info {
	const char *name;   /**< =ybegin name= (raw bytes) */
	uint64_t file_size; /**< =ybegin size=: the whole file's size */
	unsigned part;      /**< =ybegin part= (1-based), 0 for a single-part post */
	unsigned total;     /**< =ybegin total=, 0 if absent */
	uint64_t begin;     /**< =ypart begin= (1-based offset in the file), 0 if absent */
	uint64_t end;       /**< =ypart end= (inclusive), 0 if absent */
	uint32_t crc32;     /**< CRC-32 of this block's decoded bytes */
	unsigned errors;    /**< MIMEO_YENC_BAD_* bits of the block */
	unsigned have;      /**< MIMEO_YENC_HAVE_* bits: which figures the
				 block gave (mimeo/codec.h) */
	uint32_t file_crc32; /**< =yend crc32=: the CRC-32 of the whole file
				  (MIMEO_YENC_HAVE_CRC32 in `have`); in a
				  multi-part post, check it once the parts
				  are put together */
} mimeo_yenc_info;

/**
 * The yEnc figures of derived node `p`.
 * @return MIMEO_OK, or MIMEO_EINVAL when p is not a yEnc block.  @since 0.2
 */
MIMEO_EXTERN int mimeo_part_yenc_info(const mimeo_part *p, mimeo_yenc_info *out);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_EXPAND_H */
