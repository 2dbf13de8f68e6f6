/*
 * mimeo/tnef.h - Microsoft TNEF (Transport Neutral Encapsulation Format,
 * MS-OXTNEF): the application/ms-tnef part Outlook sends as "winmail.dat".
 *
 * Three layers, each usable alone:
 *
 *  - the attribute reader walks the stream's attributes (level, tag,
 *    data, checksum), zero-copy over the caller's bytes;
 *  - the property reader walks a MAPI property list (attMAPIProps,
 *    attAttachment): tags, named-property names, values;
 *  - mimeo_tnef_open() gathers what a mail reader shows: the message body
 *    (RTF decompressed from PR_RTF_COMPRESSED per MS-OXRTFCP, HTML, plain
 *    text) and every attachment with its name, MIME type, size and dates.
 *
 * Lengths and counts in the stream are never trusted: every one is checked
 * against the bytes that are there before anything is read or allocated,
 * so a hostile length cannot make mimeo allocate more than the input
 * holds (the only allocation that grows is the decompressed RTF, capped at
 * 8 times its compressed size, the most LZFu can expand, and by its
 * declared size).  Malformed streams are not errors: what was read before
 * the damage is kept and the damage is reported in flags.
 *
 * All bytes handed out point into the caller's buffer or into memory owned
 * by the mimeo_tnef object; the caller's buffer must outlive both.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_TNEF_H
#define MIMEO_TNEF_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The four bytes a TNEF stream starts with (0x223E9F78, little-endian). */
#define MIMEO_TNEF_SIGNATURE 0x223E9F78u

/** Attribute levels. */
#define MIMEO_TNEF_LVL_MESSAGE 1u
#define MIMEO_TNEF_LVL_ATTACHMENT 2u

/** Attribute tags (the attribute type in the high 16 bits, the id in the
 *  low 16 bits, as they appear in the stream).  The ones mimeo reads. */
#define MIMEO_TNEF_ATT_BODY             0x0002800Cu /**< attBody (text) */
#define MIMEO_TNEF_ATT_ATTACH_DATA      0x0006800Fu /**< attAttachData */
#define MIMEO_TNEF_ATT_ATTACH_TITLE     0x00018010u /**< attAttachTitle */
#define MIMEO_TNEF_ATT_ATTACH_CREATE    0x00038012u /**< attAttachCreateDate */
#define MIMEO_TNEF_ATT_ATTACH_MODIFY    0x00038013u /**< attAttachModifyDate */
#define MIMEO_TNEF_ATT_ATTACH_RENDDATA  0x00069002u /**< attAttachRenddata:
							 starts an attachment */
#define MIMEO_TNEF_ATT_MAPI_PROPS       0x00069003u /**< attMAPIProps */
#define MIMEO_TNEF_ATT_ATTACHMENT       0x00069005u /**< attAttachment (props) */
#define MIMEO_TNEF_ATT_OEM_CODEPAGE     0x00069007u /**< attOemCodepage */

/** Stream problems, in mimeo_tnef_reader.flags and mimeo_tnef_flags(). */
#define MIMEO_TNEF_BAD_CHECKSUM 0x01u /**< an attribute's checksum is wrong
					   (its data is used anyway) */
#define MIMEO_TNEF_TRUNCATED    0x02u /**< the stream ends inside an
					   attribute: reading stopped there */
#define MIMEO_TNEF_BAD_PROPS    0x04u /**< a MAPI property list is cut short
					   or has an unknown value type: the
					   properties before it are kept */
#define MIMEO_TNEF_BAD_RTF      0x08u /**< PR_RTF_COMPRESSED is damaged (bad
					   header, CRC, or cut short): the
					   RTF decoded so far is kept */
#define MIMEO_TNEF_BAD_LEVEL    0x10u /**< an attribute with a level other
					   than message or attachment (read
					   as message level) */

/* ------------------------------------------------------------------ */
/* attribute reader                                                    */
/* ------------------------------------------------------------------ */

/** One attribute, as mimeo_tnef_reader_next() gives it. */
typedef struct mimeo_tnef_attr {
	unsigned level;             /**< MIMEO_TNEF_LVL_* (as in the stream) */
	uint32_t tag;               /**< type << 16 | id, MIMEO_TNEF_ATT_* */
	const unsigned char *data;  /**< the attribute's bytes (in the input) */
	size_t len;                 /**< their number */
	size_t offset;              /**< where the attribute starts in the stream */
	int checksum_ok;            /**< the 16-bit sum of `data` matched */
} mimeo_tnef_attr;

/** Attribute reader state: caller-owned, on the stack is fine, no dispose.
 *  It reads the caller's buffer and allocates nothing. */
typedef struct mimeo_tnef_reader {
	unsigned key;                 /**< public: the legacy key after the
					   signature */
	unsigned flags;               /**< public: MIMEO_TNEF_BAD_CHECKSUM,
					   TRUNCATED, BAD_LEVEL so far */
	const unsigned char *_p;      /* the stream */
	size_t _len, _off;            /* its length, the next attribute */
} mimeo_tnef_reader;

/**
 * Start reading a TNEF stream held in `data[0..len)`.
 * @return MIMEO_OK, or MIMEO_EPARSE when the stream does not start with
 *         the TNEF signature and a key (then nothing can be read).
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_reader_init(mimeo_tnef_reader *r, const void *data, size_t len);

/**
 * The next attribute.  Each is: level (1 byte), tag (4), length (4), the
 * data, a 16-bit checksum (the sum of the data bytes).  A length beyond
 * the end of the input stops reading with MIMEO_TNEF_TRUNCATED, as does a
 * header cut short; a wrong checksum sets MIMEO_TNEF_BAD_CHECKSUM and the
 * attribute is given anyway (`checksum_ok` 0).
 * @return MIMEO_OK with `*a` filled, or MIMEO_DONE at the end of the
 *         stream or where it stops being readable.
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_reader_next(mimeo_tnef_reader *r, mimeo_tnef_attr *a);

/* ------------------------------------------------------------------ */
/* MAPI property reader (MS-OXTNEF section 2.1.3.4)                     */
/* ------------------------------------------------------------------ */

/** MAPI property types (PT_*) mimeo knows; MIMEO_TNEF_PT_MV is or-ed in
 *  for multi-valued properties. */
#define MIMEO_TNEF_PT_SHORT   0x0002u
#define MIMEO_TNEF_PT_LONG    0x0003u
#define MIMEO_TNEF_PT_BOOLEAN 0x000Bu
#define MIMEO_TNEF_PT_OBJECT  0x000Du
#define MIMEO_TNEF_PT_I8      0x0014u
#define MIMEO_TNEF_PT_STRING8 0x001Eu /**< 8-bit text in the stream's code page */
#define MIMEO_TNEF_PT_UNICODE 0x001Fu /**< UTF-16LE text */
#define MIMEO_TNEF_PT_SYSTIME 0x0040u /**< FILETIME: 100 ns since 1601 */
#define MIMEO_TNEF_PT_BINARY  0x0102u
#define MIMEO_TNEF_PT_MV      0x1000u

/** Property ids mimeo reads. */
#define MIMEO_TNEF_PR_BODY               0x1000u
#define MIMEO_TNEF_PR_RTF_COMPRESSED     0x1009u
#define MIMEO_TNEF_PR_BODY_HTML          0x1013u /**< PR_HTML / PR_BODY_HTML */
#define MIMEO_TNEF_PR_DISPLAY_NAME       0x3001u
#define MIMEO_TNEF_PR_CREATION_TIME      0x3007u
#define MIMEO_TNEF_PR_LAST_MODIFICATION_TIME 0x3008u
#define MIMEO_TNEF_PR_ATTACH_DATA        0x3701u /**< _BIN or _OBJ */
#define MIMEO_TNEF_PR_ATTACH_FILENAME    0x3704u
#define MIMEO_TNEF_PR_ATTACH_METHOD      0x3705u
#define MIMEO_TNEF_PR_ATTACH_LONG_FILENAME 0x3707u
#define MIMEO_TNEF_PR_ATTACH_MIME_TAG    0x370Eu
#define MIMEO_TNEF_PR_ATTACH_CONTENT_ID  0x3712u
#define MIMEO_TNEF_PR_INTERNET_CPID      0x3FDEu

/** PR_ATTACH_METHOD values that change how the data reads. */
#define MIMEO_TNEF_METHOD_EMBEDDED_MSG 5u /**< the data is a TNEF message */

/** One MAPI property. */
typedef struct mimeo_tnef_prop {
	unsigned type;                 /**< PT_* (with MIMEO_TNEF_PT_MV) */
	unsigned id;                   /**< property id; >= 0x8000: named */
	const unsigned char *guid;     /**< named: the property set (16 bytes) */
	int name_kind;                 /**< named: 0 = numeric id, 1 = string */
	uint32_t name_id;              /**< named, kind 0: the numeric id */
	const unsigned char *name;     /**< named, kind 1: UTF-16LE bytes */
	size_t name_len;               /**< their number */
	uint32_t count;                /**< number of values (1 unless MV) */
	const unsigned char *value;    /**< the first value's bytes: for text
					    and binary the bytes without their
					    length and padding; for PT_OBJECT
					    they start with the 16-byte IID */
	size_t value_len;              /**< their number */
	uint64_t num;                  /**< a fixed-size first value read as a
					    little-endian integer (up to 8
					    bytes) */
	const unsigned char *_vals;    /* all values, for mimeo_tnef_prop_value() */
	size_t _vals_len;
} mimeo_tnef_prop;

/** Property list reader state (caller-owned, allocates nothing). */
typedef struct mimeo_tnef_props {
	uint32_t count;               /**< public: properties the list declares */
	int bad;                      /**< public: the list was cut short or
					   held an unknown type */
	const unsigned char *_p;
	size_t _len, _off;
	uint32_t _done;
} mimeo_tnef_props;

/**
 * Start reading the property list in an attribute's data (attMAPIProps,
 * attAttachment).  @return MIMEO_OK, or MIMEO_EPARSE when not even the
 * count is there.  @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_props_init(mimeo_tnef_props *pr, const void *data, size_t len);

/**
 * The next property.  @return MIMEO_OK with `*p` filled, MIMEO_DONE after
 * the last, MIMEO_EPARSE when the list is damaged (`bad` is set; reading
 * stops there).  @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_props_next(mimeo_tnef_props *pr, mimeo_tnef_prop *p);

/**
 * Value `i` (0-based, < p->count) of a property: its bytes as for `value`.
 * @return MIMEO_OK or MIMEO_EINVAL (no such value).  @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_prop_value(const mimeo_tnef_prop *p, uint32_t i,
				       const unsigned char **value, size_t *len);

/* ------------------------------------------------------------------ */
/* LZFu: compressed RTF (MS-OXRTFCP)                                   */
/* ------------------------------------------------------------------ */

/**
 * Decompress a PR_RTF_COMPRESSED value ("LZFu" compressed or "MELA"
 * stored) and APPEND the RTF to `out`.  The header's sizes are checked
 * against the input; the output is capped at the declared raw size and at
 * what the compressed bytes can expand to.  The CRC of compressed data is
 * checked.
 * @param repairs  MIMEO_TNEF_BAD_RTF is or-ed in when the data is damaged
 *                 (the RTF decoded so far is kept); may be NULL
 * @return MIMEO_OK, MIMEO_EPARSE (not compressed RTF: nothing appended) or
 *         MIMEO_ENOMEM.
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_rtf_decompress(const void *in, size_t len, mimeo_buf *out,
				      unsigned *repairs);

/* ------------------------------------------------------------------ */
/* the message: body and attachments                                   */
/* ------------------------------------------------------------------ */

/** What a mimeo_tnef_item is. */
typedef enum mimeo_tnef_kind {
	MIMEO_TNEF_BODY_TEXT = 1,  /**< PR_BODY or attBody: text/plain */
	MIMEO_TNEF_BODY_HTML,      /**< PR_BODY_HTML / PR_HTML: text/html */
	MIMEO_TNEF_BODY_RTF,       /**< PR_RTF_COMPRESSED, decompressed: text/rtf */
	MIMEO_TNEF_ATTACHMENT      /**< an attachment */
} mimeo_tnef_kind;

/** Value of a date field that the stream did not give. */
#define MIMEO_TNEF_NO_DATE INT64_MIN

/** One body or attachment of a TNEF message. */
typedef struct mimeo_tnef_item {
	mimeo_tnef_kind kind;
	const char *filename;   /**< UTF-8, never NULL: PR_ATTACH_LONG_FILENAME,
				     else attAttachTitle, else PR_ATTACH_FILENAME,
				     else PR_DISPLAY_NAME, else ""; bodies:
				     "message.txt", "message.html",
				     "message.rtf".  Raw from the sender: see
				     mimeo_filename_sanitize() */
	const char *mime_type;  /**< PR_ATTACH_MIME_TAG (lower case), else
				     guessed from the name's extension, else
				     "application/octet-stream"; an embedded
				     message is "application/vnd.ms-tnef" */
	const unsigned char *data; /**< the bytes (in the input, or owned by
				     the mimeo_tnef object): PR_ATTACH_DATA_BIN,
				     else attAttachData; an embedded message's
				     PR_ATTACH_DATA_OBJ without its 16-byte IID
				     (a TNEF stream), an OLE object's whole,
				     IID first (as MimeKit gives it).  An
				     attachment not stored by value that also
				     has attAttachData (Outlook's placeholder
				     text) gives that as an item of its own,
				     just before it */
	size_t size;            /**< their number */
	int64_t created;        /**< Unix time (seconds), or MIMEO_TNEF_NO_DATE */
	int64_t modified;       /**< Unix time (seconds), or MIMEO_TNEF_NO_DATE */
	const char *content_id; /**< PR_ATTACH_CONTENT_ID or NULL */
	unsigned method;        /**< PR_ATTACH_METHOD, 0 when absent */
	int embedded;           /**< the data is an embedded message in TNEF
				     (read it with mimeo_tnef_open() again) */
} mimeo_tnef_item;

/** Options for mimeo_tnef_open(); initialise with MIMEO_TNEF_OPTIONS_INIT
 *  or zero it (version 0 = current, zero fields = defaults). */
typedef struct mimeo_tnef_options {
	unsigned version;               /**< MIMEO_TNEF_OPTIONS_VERSION or 0 */
	const mimeo_allocator *alloc;   /**< NULL = libc; must outlive the object */
	size_t max_items;               /**< most bodies + attachments kept
					     (default 4096); more is MIMEO_ELIMIT */
} mimeo_tnef_options;

#define MIMEO_TNEF_OPTIONS_VERSION 1
#define MIMEO_TNEF_OPTIONS_INIT { MIMEO_TNEF_OPTIONS_VERSION, NULL, 4096 }

/** A read TNEF message (opaque). */
typedef struct mimeo_tnef mimeo_tnef;

/**
 * Read a whole TNEF stream: the bodies (in the order RTF, HTML, text, as
 * present) then the attachments in stream order.  Damage is not an error
 * (see mimeo_tnef_flags()).
 * @param out   receives the object (NULL on failure)
 * @param data  the stream; it must outlive the object (items point into it)
 * @param opt   options or NULL for the defaults
 * @return MIMEO_OK, MIMEO_EPARSE (no TNEF signature), MIMEO_ENOMEM,
 *         MIMEO_ELIMIT (more than max_items) or MIMEO_EINVAL.
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_tnef_open(mimeo_tnef **out, const void *data, size_t len,
				 const mimeo_tnef_options *opt);

/** Number of items (bodies and attachments).  @since 0.2 */
MIMEO_EXTERN size_t mimeo_tnef_count(const mimeo_tnef *t);

/** Item `i` (0-based) or NULL; valid until mimeo_tnef_free().  @since 0.2 */
MIMEO_EXTERN const mimeo_tnef_item *mimeo_tnef_item_at(const mimeo_tnef *t, size_t i);

/** MIMEO_TNEF_BAD_* flags for the stream.  @since 0.2 */
MIMEO_EXTERN unsigned mimeo_tnef_flags(const mimeo_tnef *t);

/** Free the object and everything it owns.  NULL is a no-op.  @since 0.2 */
MIMEO_EXTERN void mimeo_tnef_free(mimeo_tnef *t);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_TNEF_H */
