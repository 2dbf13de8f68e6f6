/*
 * mimeo/codec.h - streaming transfer-encoding codecs: base64, quoted-printable,
 * uuencode (RFC 2045 section 6, RFC 4648, POSIX uuencode), yEnc.
 *
 * Every codec follows the zlib shape: a small state struct the caller keeps
 * (on the stack is fine), an init call, any number of step calls with input
 * chunks of any size (down to one byte), and a finish call that flushes what
 * is pending.  Output goes into a caller buffer whose required size is given
 * by a *_BOUND macro of the input length.  The output is byte-for-byte the
 * same however the input is split.  Codecs never allocate.
 *
 * Decoders are lenient as mail requires and count what they skipped or
 * repaired in public fields instead of failing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef MIMEO_CODEC_H
#define MIMEO_CODEC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Instruction-set paths for the SIMD codecs.  MIMEO_ISA_AUTO picks the best
 * path the CPU supports (honouring the MIMEO_FORCE_ISA environment variable:
 * "scalar", "avx2" or "avx512", read once).  Other values force a path; a
 * path the CPU or build lacks falls back to the best available lower one.
 */
typedef enum mimeo_isa {
	MIMEO_ISA_AUTO = 0,
	MIMEO_ISA_SCALAR = 1,
	MIMEO_ISA_AVX2 = 2,
	MIMEO_ISA_AVX512 = 3
} mimeo_isa;

/** Whether `isa` is usable on this CPU and compiled into this build.  @since 0.1 */
MIMEO_EXTERN int mimeo_isa_available(mimeo_isa isa);

/** The path MIMEO_ISA_AUTO resolves to, e.g. for reporting.  @since 0.1 */
MIMEO_EXTERN mimeo_isa mimeo_isa_best(void);

/** Name of a path: "auto", "scalar", "avx2", "avx512".  @since 0.1 */
MIMEO_EXTERN const char *mimeo_isa_name(mimeo_isa isa);

/* ------------------------------------------------------------------ */
/* base64 (RFC 4648 section 4 alphabet, RFC 2045 section 6.8 rules)    */
/* ------------------------------------------------------------------ */

/** Longest line (in characters, RFC 2045 section 6.8) that may resume the
 *  data after a padded end; see mimeo_b64_decoder. */
#define MIMEO_B64_LINE_MAX 76

/**
 * Streaming base64 decoder state.  Initialise with mimeo_b64_decoder_init();
 * no dispose is needed.  Decoding follows RFC 2045 section 6.8 leniently:
 *
 *  - CR, LF, space, tab, form feed and vertical tab are skipped silently;
 *  - any other byte outside the alphabet is skipped and counted in `invalid`;
 *  - a final quantum without padding yields its whole bytes at finish;
 *  - a lone sextet (one character before `=` or the end) cannot make a byte:
 *    it is dropped and counted in `invalid`;
 *  - `=` after two or three characters of a quantum ends the quantum (it
 *    yields its 1 or 2 bytes) and is the *padded end* of the data.  What
 *    follows is read line by line (CR or LF ends a line): blank lines and
 *    the `=` still owed to the quantum are skipped (surplus `=` are counted
 *    in `invalid`); a line that is well-formed base64 -- at most
 *    MIMEO_B64_LINE_MAX characters of whole quanta, `=` only as a quantum's
 *    padding -- resumes decoding, so concatenated base64 chunks decode
 *    completely (a decoder that stopped there would hide the rest from virus
 *    scanners, gmime#150); the first other line ends the data for good: it
 *    and everything after it are ignored, their characters other than
 *    whitespace counted in `trailing`.  That drops a mailing-list footer
 *    appended after the last line (issue 15 class 4; GMime and Python stop
 *    at the padded end too).  Text after base64 data that needed no padding
 *    (a length that is a multiple of 3) cannot be told from data and is
 *    decoded, as GMime and Python do;
 *  - `=` with no quantum pending is surplus, counted in `invalid`.
 *
 * Every code path and every chunking of the input give the same bytes and
 * counts.
 */
typedef struct mimeo_b64_decoder {
	uint64_t invalid;  /**< public: bytes skipped as garbage so far */
	uint64_t trailing; /**< public: characters ignored after the end of the
			    *   data (see above), @since 0.2 */
	uint32_t _acc;     /* pending sextets, most recent in the low bits */
	unsigned _n;       /* number of pending sextets (0..3) */
	unsigned _pad;     /* '=' still expected after a short quantum */
	unsigned _isa;     /* resolved mimeo_isa */
	unsigned _end;     /* 0 decoding; 1 after a padded end, judging the
			    * line held in _line; 2 the data has ended */
	unsigned _len;     /* characters held in _line */
	unsigned char _line[MIMEO_B64_LINE_MAX]; /* the line being judged */
} mimeo_b64_decoder;

/** Largest output of one mimeo_b64_decode_step() call for `n` input bytes
 *  (a line held back after a padded end may be released by the call that
 *  brings its line break: up to MIMEO_B64_LINE_MAX / 4 * 3 more bytes). */
#define MIMEO_B64_DECODE_BOUND(n) (((n) / 4 + 1) * 3 + MIMEO_B64_LINE_MAX / 4 * 3)
/** Largest output of mimeo_b64_decode_finish() (a held-back line). */
#define MIMEO_B64_DECODE_FINISH_MAX (MIMEO_B64_LINE_MAX / 4 * 3)

/**
 * Prepare `d` for a new stream.
 * @param d    state to initialise (caller-owned)
 * @param isa  code path: MIMEO_ISA_AUTO (best, honours MIMEO_FORCE_ISA) or a
 *             forced path (falls back to the best available lower one)
 * @since 0.1
 */
MIMEO_EXTERN void mimeo_b64_decoder_init(mimeo_b64_decoder *d, mimeo_isa isa);

/**
 * Decode the next `len` bytes of base64 text.
 * @param out  receives the decoded bytes; room for
 *             MIMEO_B64_DECODE_BOUND(len) bytes.  May not overlap `in`.
 * @return number of bytes written to `out`.  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_b64_decode_step(mimeo_b64_decoder *d, const void *in,
					  size_t len, void *out);

/**
 * End of input: write the bytes of a final unpadded quantum, or of a line
 * after a padded end that the input ended without a line break.
 * @param out  room for MIMEO_B64_DECODE_FINISH_MAX (57) bytes
 * @return number of bytes written (0..57).  `d` may then be re-initialised.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_b64_decode_finish(mimeo_b64_decoder *d, void *out);

/** Encoder flag: end lines with CRLF instead of LF. */
#define MIMEO_B64_CRLF 0x01u
/** Encoder flag: no line breaks at all (e.g. for RFC 2047 encoded words). */
#define MIMEO_B64_NOWRAP 0x02u

/**
 * Streaming base64 encoder state: 76-character lines (RFC 2045 section
 * 6.8), padded final quantum, and a final line break after the last line.
 */
typedef struct mimeo_b64_encoder {
	unsigned _flags;   /* MIMEO_B64_* */
	unsigned _isa;     /* resolved mimeo_isa */
	unsigned _n;       /* pending input bytes (0..2) */
	unsigned _col;     /* characters on the current output line */
	unsigned char _buf[4]; /* pending input bytes */
} mimeo_b64_encoder;

/** Largest output of one mimeo_b64_encode_step() call for `n` input bytes. */
#define MIMEO_B64_ENCODE_BOUND(n) \
	(((n) / 3 + 1) * 4 + (((n) / 3 + 1) * 4 / 76 + 1) * 2)
/** Largest output of mimeo_b64_encode_finish(). */
#define MIMEO_B64_ENCODE_FINISH_MAX 8

/**
 * Prepare `e` for a new stream.
 * @param flags  MIMEO_B64_CRLF and/or MIMEO_B64_NOWRAP, or 0 (LF lines)
 * @param isa    code path, as for mimeo_b64_decoder_init()
 * @since 0.1
 */
MIMEO_EXTERN void mimeo_b64_encoder_init(mimeo_b64_encoder *e, unsigned flags,
					 mimeo_isa isa);

/**
 * Encode the next `len` bytes.
 * @param out  room for MIMEO_B64_ENCODE_BOUND(len) bytes; may not overlap `in`
 * @return number of characters written.  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_b64_encode_step(mimeo_b64_encoder *e, const void *in,
					  size_t len, void *out);

/**
 * End of input: write the padded last quantum and, unless the output is
 * empty or MIMEO_B64_NOWRAP is set, a final line break.
 * @param out  room for MIMEO_B64_ENCODE_FINISH_MAX bytes
 * @return number of characters written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_b64_encode_finish(mimeo_b64_encoder *e, void *out);

/* ------------------------------------------------------------------ */
/* quoted-printable (RFC 2045 section 6.7)                             */
/* ------------------------------------------------------------------ */

/** Longest whitespace run a QP decoder holds back to strip it at a line end. */
#define MIMEO_QP_MAX_PENDING_WS 32

/**
 * Streaming quoted-printable decoder state.  Decoding rules:
 *
 *  - `=XX` with hex digits in either case is one byte;
 *  - soft line breaks `=` CRLF, `=` LF, and `=` followed by spaces or tabs
 *    then a line break, are removed; `=` at the very end of the input (after
 *    optional whitespace) is a soft break too;
 *  - an invalid `=` sequence (`=` not followed by two hex digits or a soft
 *    break) is kept literally, as Thunderbird and GMime do, and counted in
 *    `invalid`;
 *  - spaces and tabs at the end of a line (before CRLF, LF or the end of the
 *    input) are removed (rule 3).  Of a longer run only the last
 *    MIMEO_QP_MAX_PENDING_WS are removed: the decoder never buffers without
 *    bound;
 *  - hard line breaks are passed through as they are (CRLF stays CRLF, LF
 *    stays LF); every other byte is copied.
 */
typedef struct mimeo_qp_decoder {
	uint64_t invalid;  /**< public: invalid `=` sequences kept literally */
	unsigned _state;   /* see qp.c */
	unsigned _hex;     /* first hex digit after '=' */
	unsigned _nws;     /* pending whitespace bytes in _ws */
	unsigned _cr;      /* a CR is pending (may start a CRLF) */
	unsigned _isa;     /* resolved mimeo_isa */
	unsigned char _ws[MIMEO_QP_MAX_PENDING_WS];
} mimeo_qp_decoder;

/** Largest output of one mimeo_qp_decode_step() call for `n` input bytes. */
#define MIMEO_QP_DECODE_BOUND(n) ((n) + MIMEO_QP_MAX_PENDING_WS + 8)
/** Largest output of mimeo_qp_decode_finish(). */
#define MIMEO_QP_DECODE_FINISH_MAX (MIMEO_QP_MAX_PENDING_WS + 8)

/** Prepare `d` for a new stream.
 *  @param isa  code path: MIMEO_ISA_AUTO (the best this CPU has), or one
 *              forced for tests and benchmarks.  AVX-512 has a block
 *              kernel, the other paths share the scalar/SSE2 code; the
 *              output is the same on every path.
 *  Changed in 0.2: the isa argument (as mimeo_b64_decoder_init() has it)
 *  replaces 0.1's mimeo_qp_decoder_init_isa().  @since 0.1 */
MIMEO_EXTERN void mimeo_qp_decoder_init(mimeo_qp_decoder *d, mimeo_isa isa);

/**
 * Decode the next `len` bytes.
 * @param out  room for MIMEO_QP_DECODE_BOUND(len) bytes; may not overlap `in`
 * @return bytes written.  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_qp_decode_step(mimeo_qp_decoder *d, const void *in,
					 size_t len, void *out);

/**
 * End of input: flush what was held back.
 * @param out  room for MIMEO_QP_DECODE_FINISH_MAX bytes
 * @return bytes written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_qp_decode_finish(mimeo_qp_decoder *d, void *out);

/** Encoder flag: write CRLF line breaks; the input's line break is then
 *  CRLF, and a CR or LF that is not part of a CRLF is encoded.  Without it
 *  lines end with LF, the input's line break is LF and every CR is encoded. */
#define MIMEO_QP_CRLF 0x01u
/** Encoder flag: also encode a line-leading `.` (=2E) and a line-leading `F`
 *  (=46), so no line can start with "From " or be a lone "." (mbox, SMTP).
 *  Every line-leading F is encoded, which needs no look-ahead. */
#define MIMEO_QP_MAILSAFE 0x02u
/** Encoder flag: binary input: every CR and LF is encoded, the output has
 *  only soft line breaks. */
#define MIMEO_QP_BINARY 0x04u

/**
 * Streaming quoted-printable encoder state.  Output lines are at most 76
 * characters including the `=` of a soft break; `=`, bytes outside
 * 33..126, and a space or tab before a line break or the end are encoded.
 * Decoding the output gives back exactly the input.
 */
typedef struct mimeo_qp_encoder {
	unsigned _flags;   /* MIMEO_QP_* */
	unsigned _col;     /* characters on the current output line */
	int _pend;         /* pending space, tab or CR (-1 = none) */
	unsigned _isa;     /* resolved mimeo_isa */
} mimeo_qp_encoder;

/** Largest output of one mimeo_qp_encode_step() call for `n` input bytes. */
#define MIMEO_QP_ENCODE_BOUND(n) ((n) * 4 + 16)
/** Largest output of mimeo_qp_encode_finish(). */
#define MIMEO_QP_ENCODE_FINISH_MAX 16

/** Prepare `e` for a new stream.
 *  @param flags MIMEO_QP_* or 0.
 *  @param isa   code path: MIMEO_ISA_AUTO, or one forced for tests and
 *               benchmarks.  Every path classifies 64 input bytes at a time
 *               (AVX-512, AVX2, or a portable 8-bytes-per-word classifier
 *               on the scalar path) and copies whole runs of bytes that
 *               stay literal; AVX2 writes runs of escapes 16 at a time,
 *               AVX-512 encodes escape-heavy text 16 bytes at a time with a
 *               byte expand.  The output is byte-for-byte the same on
 *               every path.
 *  Changed in 0.2: the isa argument (as mimeo_b64_encoder_init() has it)
 *  replaces 0.1's mimeo_qp_encoder_init_isa().  @since 0.1 */
MIMEO_EXTERN void mimeo_qp_encoder_init(mimeo_qp_encoder *e, unsigned flags, mimeo_isa isa);

/**
 * Encode the next `len` bytes.
 * @param out  room for MIMEO_QP_ENCODE_BOUND(len) bytes; may not overlap `in`
 * @return characters written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_qp_encode_step(mimeo_qp_encoder *e, const void *in,
					 size_t len, void *out);

/**
 * End of input: flush a held-back space, tab or CR (encoded).  No line
 * break is added: the output ends where the data ends.
 * @param out  room for MIMEO_QP_ENCODE_FINISH_MAX bytes
 * @return characters written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_qp_encode_finish(mimeo_qp_encoder *e, void *out);

/* ------------------------------------------------------------------ */
/* uuencode (POSIX uuencode/uudecode historical format)                */
/* ------------------------------------------------------------------ */

/** Longest line a uuencode decoder keeps (longer lines are cut). */
#define MIMEO_UU_MAX_LINE 300

/**
 * Streaming uudecoder state.  Text before a "begin MODE NAME" line is
 * skipped; the data lines of a block are decoded up to its "end" line (or
 * a zero-length line followed by "end").  Lines may end in LF or CRLF.
 * Data lines cut short (mail systems strip trailing spaces) are completed
 * with zero bits within their last group; lines that cannot be data are
 * skipped and counted in `invalid`.  A space and a backquote both stand
 * for zero bits.
 *
 * A body may hold several blocks (one file each, with text between them).
 * mimeo_uu_decode_step() and the generic transfer decoder give the first
 * block only and ignore the rest; mimeo_uu_decode_next() gives every block
 * and pauses after each so the caller can tell the files apart.  A block
 * without an "end" line ends at the next begin line.  "begin-base64"
 * blocks (uuencode -m) are not supported: they are skipped as text.
 *
 * The filename is raw bytes from the message: it may hold "../", "/",
 * control characters or anything else.  Pass it through
 * mimeo_filename_sanitize() before using it as a path.
 */
typedef struct mimeo_uu_decoder {
	char filename[256]; /**< public: NAME from the current block's begin
				 line, raw bytes, NUL-terminated (cut at 255
				 bytes); "" before a begin line */
	unsigned mode;      /**< public: MODE from the begin line (octal) */
	int began;          /**< public: the current block's begin line was seen */
	int ended;          /**< public: the current block's end line was seen */
	uint64_t invalid;   /**< public: lines skipped as garbage inside blocks,
				 all blocks together */
	unsigned _len;      /* bytes in _line */
	unsigned _zero;     /* a zero-length data line was seen */
	unsigned _done;     /* the current block is over */
	unsigned _held;     /* _line holds the begin line of the next block */
	unsigned _multi;    /* mimeo_uu_decode_next() is in use */
	unsigned char _line[MIMEO_UU_MAX_LINE];
} mimeo_uu_decoder;

/** Largest output of one mimeo_uu_decode_step() or mimeo_uu_decode_next()
 *  call for `n` input bytes. */
#define MIMEO_UU_DECODE_BOUND(n) ((n) + 64)
/** Largest output of mimeo_uu_decode_finish(). */
#define MIMEO_UU_DECODE_FINISH_MAX 64

/** Prepare `d` for a new stream.  @since 0.1 */
MIMEO_EXTERN void mimeo_uu_decoder_init(mimeo_uu_decoder *d);

/**
 * Decode the next `len` bytes of the first block; input after that block
 * is consumed and ignored.
 * @param out  room for MIMEO_UU_DECODE_BOUND(len) bytes; may not overlap `in`
 * @return bytes written.  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_uu_decode_step(mimeo_uu_decoder *d, const void *in,
					 size_t len, void *out);

/**
 * Decode the next `len` bytes, every block in turn.  The bytes written by
 * one call all belong to the block described by the public fields when
 * it returns (`began` set, `filename`, `mode`): a new file starts with the
 * first call after a pause (or the first call) that returns with `began`
 * set.  Do not mix with mimeo_uu_decode_step() on the same stream.
 * @param out       room for MIMEO_UU_DECODE_BOUND(len) bytes; may not
 *                  overlap `in`
 * @param consumed  receives how many input bytes were used
 * @param produced  receives how many bytes were written to `out`
 * @return MIMEO_OK when all `len` bytes were used; MIMEO_PAUSED when a
 *         block ended (its "end" line, or a begin line with no "end" before
 *         it): the public fields still describe that block (`ended` says
 *         whether it had its "end" line) until the next call, which starts
 *         looking for the next block.  Call again with the rest of the
 *         input (in + consumed).  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN int mimeo_uu_decode_next(mimeo_uu_decoder *d, const void *in,
				      size_t len, void *out, size_t *consumed,
				      size_t *produced);

/**
 * End of input: decode a last data line of the current block that had no
 * line break.  After a pause of mimeo_uu_decode_next() it is the call
 * after the pause: it writes nothing, and a begin line that ended the
 * paused block starts an empty one (`began` set) or the fields are
 * cleared.  A begin line without a line break at the very end is ignored.
 * @param out  room for MIMEO_UU_DECODE_FINISH_MAX bytes
 * @return bytes written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_uu_decode_finish(mimeo_uu_decoder *d, void *out);

/* ------------------------------------------------------------------ */
/* yEnc (yEnc 1.3 draft: =ybegin, =ypart, =yend; Usenet binaries)       */
/* ------------------------------------------------------------------ */

/** Longest keyword line (=ybegin, =ypart, =yend) a yEnc decoder keeps;
 *  the rest of a longer line is dropped (a name is cut at 255 bytes). */
#define MIMEO_YENC_MAX_LINE 512

/** Bits of mimeo_yenc_decoder.have: which header values the block gave. */
#define MIMEO_YENC_HAVE_SIZE     0x001u /**< =ybegin size= */
#define MIMEO_YENC_HAVE_LINE     0x002u /**< =ybegin line= */
#define MIMEO_YENC_HAVE_PART     0x004u /**< =ybegin part= (a multi-part post) */
#define MIMEO_YENC_HAVE_TOTAL    0x008u /**< =ybegin total= */
#define MIMEO_YENC_HAVE_YPART    0x010u /**< =ypart begin= and end= */
#define MIMEO_YENC_HAVE_END      0x020u /**< the =yend line itself */
#define MIMEO_YENC_HAVE_END_SIZE 0x040u /**< =yend size= */
#define MIMEO_YENC_HAVE_END_PART 0x080u /**< =yend part= */
#define MIMEO_YENC_HAVE_PCRC32   0x100u /**< =yend pcrc32= */
#define MIMEO_YENC_HAVE_CRC32    0x200u /**< =yend crc32= */

/** Bits of mimeo_yenc_decoder.errors: what the block's own figures say is
 *  wrong with it.  The decoded data is kept whatever they say. */
#define MIMEO_YENC_BAD_CRC  0x01u /**< the CRC-32 of the decoded bytes is not
				       the block's pcrc32= (or, for a whole
				       file, its crc32=) */
#define MIMEO_YENC_BAD_SIZE 0x02u /**< the decoded byte count is not =yend
				       size=, or not the =ypart range, or (a
				       single-part post) not =ybegin size= */
#define MIMEO_YENC_NO_END   0x04u /**< the block ended without an =yend line
				       (end of input or the next =ybegin) */
#define MIMEO_YENC_BAD_PART 0x08u /**< a part number or range that does not
				       add up: =yend part= differs from
				       =ybegin part=, no =ypart line in a
				       multi-part post, begin > end, or a
				       range beyond size= */

/**
 * Streaming yEnc decoder state.  Text before an "=ybegin" line is skipped
 * (a news article or mail body around the block); an "=ybegin" line needs
 * a name= to count.  Inside a block every byte except CR and LF is data:
 * `=` escapes the next byte (minus 64), every data byte is stored plus 42
 * modulo 256.  A line starting with "=ypart" or "=yend" is a keyword line;
 * "=y" followed by anything else at a line start is data (an escaped byte),
 * as a decoder that trusts only the three keywords must read it.
 *
 * A body may hold several blocks; the decoder pauses after each (at its
 * =yend line, or at an =ybegin line that starts the next block without an
 * =yend before it) so the caller can tell the files apart.  The CRC-32 of
 * each block's decoded bytes is computed as they are written (zlib's
 * crc32()) and compared with the =yend values when the block ends.  A `=`
 * right before a line break escapes nothing: it is dropped and counted in
 * `invalid`.
 *
 * The name is raw bytes from the message: it may hold "../", "/", control
 * characters or anything else.  Pass it through mimeo_filename_sanitize()
 * before using it as a path.
 */
typedef struct mimeo_yenc_decoder {
	char name[256];     /**< public: =ybegin name= (the rest of the line,
				 trailing spaces removed), raw bytes,
				 NUL-terminated, cut at 255 bytes */
	uint64_t size;      /**< public: =ybegin size= (the whole file) */
	unsigned line;      /**< public: =ybegin line= (the poster's line length) */
	unsigned part;      /**< public: =ybegin part= (1-based), 0 if absent */
	unsigned total;     /**< public: =ybegin total=, 0 if absent */
	uint64_t begin;     /**< public: =ypart begin= (1-based offset in the file) */
	uint64_t end;       /**< public: =ypart end= (inclusive) */
	uint64_t end_size;  /**< public: =yend size= */
	unsigned end_part;  /**< public: =yend part= */
	uint32_t pcrc32;    /**< public: =yend pcrc32= (this part's CRC-32) */
	uint32_t crc32;     /**< public: =yend crc32= (the whole file's CRC-32) */
	unsigned have;      /**< public: MIMEO_YENC_HAVE_* bits */
	unsigned errors;    /**< public: MIMEO_YENC_BAD_* / NO_END bits, set
				 when the block ends */
	uint32_t crc;       /**< public: CRC-32 of this block's decoded bytes */
	uint64_t decoded;   /**< public: bytes decoded in this block so far */
	int began;          /**< public: inside (or paused after) a block */
	int ended;          /**< public: the current block is over (paused) */
	uint64_t invalid;   /**< public: stray `=` before a line break and
				 keyword lines cut at MIMEO_YENC_MAX_LINE,
				 all blocks together */
	unsigned _state;    /* see yenc.c */
	unsigned _len;      /* bytes in _line */
	unsigned _cut;      /* the line in _line was longer than the buffer */
	unsigned _held;     /* _line holds the =ybegin line of the next block */
	unsigned _paused;   /* the last call returned MIMEO_PAUSED */
	unsigned char _line[MIMEO_YENC_MAX_LINE];
} mimeo_yenc_decoder;

/** Largest output of one mimeo_yenc_decode_step() call for `n` input
 *  bytes: one byte per input byte, plus up to 7 held back from the
 *  previous call (a line start like "=yen" that was not a keyword). */
#define MIMEO_YENC_DECODE_BOUND(n) ((n) + 8)
/** Largest output of mimeo_yenc_decode_finish(). */
#define MIMEO_YENC_DECODE_FINISH_MAX 16

/** Prepare `d` for a new stream.  @since 0.2 */
MIMEO_EXTERN void mimeo_yenc_decoder_init(mimeo_yenc_decoder *d);

/**
 * Decode the next `len` bytes, every block in turn.  The bytes written by
 * one call all belong to the block the public fields describe when it
 * returns.  Any split of the input gives the same bytes and fields.
 * @param out       room for MIMEO_YENC_DECODE_BOUND(len) bytes; may not
 *                  overlap `in`
 * @param consumed  receives how many input bytes were used
 * @param produced  receives how many bytes were written to `out`
 * @return MIMEO_OK when all `len` bytes were used; MIMEO_PAUSED when a
 *         block ended: `ended` is set, `errors` holds the result of its
 *         checks, and the public fields describe it until the next call,
 *         which clears them and looks for the next block.  Call again
 *         with the rest of the input (in + consumed).  Never fails.
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_yenc_decode_step(mimeo_yenc_decoder *d, const void *in, size_t len,
					void *out, size_t *consumed, size_t *produced);

/**
 * End of input.  An =ypart or =yend line without a final line break is
 * taken as if it had one (an "=yend" at the very end of a file), an
 * =ybegin line without one starts nothing; a few bytes held back to
 * recognise a keyword are decoded.  A block still open is ended with
 * MIMEO_YENC_NO_END.
 * @param out       room for MIMEO_YENC_DECODE_FINISH_MAX bytes
 * @param produced  receives how many bytes were written to `out`
 * @return MIMEO_PAUSED when a block ended here (its fields stay until the
 *         decoder is initialised again), MIMEO_OK when none was open (the
 *         fields are cleared).
 * @since 0.2
 */
MIMEO_EXTERN int mimeo_yenc_decode_finish(mimeo_yenc_decoder *d, void *out,
					  size_t *produced);

/* ------------------------------------------------------------------ */
/* Content-Transfer-Encoding and the generic body decoder              */
/* ------------------------------------------------------------------ */

/** Content-Transfer-Encoding values (RFC 2045 section 6.1). */
typedef enum mimeo_cte {
	MIMEO_CTE_NONE = 0,  /**< header absent (means 7bit) */
	MIMEO_CTE_7BIT,
	MIMEO_CTE_8BIT,
	MIMEO_CTE_BINARY,
	MIMEO_CTE_BASE64,
	MIMEO_CTE_QP,        /**< quoted-printable */
	MIMEO_CTE_UUENCODE,  /**< x-uuencode, x-uue, uuencode, uue */
	MIMEO_CTE_UNKNOWN    /**< anything else: treated as binary */
} mimeo_cte;

/**
 * Parse a Content-Transfer-Encoding header value.  Leading and trailing
 * whitespace, line folding and RFC 5322 comments are ignored; the match is
 * case-insensitive.  "x-uuencode", "x-uue", "uuencode" and "uue" give
 * MIMEO_CTE_UUENCODE.
 * @param value  the raw header value (need not be NUL-terminated)
 * @return the encoding, MIMEO_CTE_NONE for an empty value, or
 *         MIMEO_CTE_UNKNOWN.
 * @since 0.1
 */
MIMEO_EXTERN mimeo_cte mimeo_cte_parse(const char *value, size_t len);

/** Canonical name: "7bit", "8bit", "binary", "base64", "quoted-printable",
 *  "x-uuencode"; "" for MIMEO_CTE_NONE and "unknown" for MIMEO_CTE_UNKNOWN.
 *  Static strings.  @since 0.1 */
MIMEO_EXTERN const char *mimeo_cte_name(mimeo_cte cte);

/**
 * Body decoder for any transfer encoding: base64, quoted-printable and
 * uuencode are decoded, everything else is copied unchanged.
 */
typedef struct mimeo_transfer_decoder {
	mimeo_cte cte;  /**< public: the encoding being decoded */
	union {
		mimeo_b64_decoder b64;
		mimeo_qp_decoder qp;
		mimeo_uu_decoder uu;
	} u;            /**< public: the codec state (e.g. u.b64.invalid) */
} mimeo_transfer_decoder;

/** Largest output of one mimeo_transfer_decode_step() for `n` input bytes,
 *  whatever the encoding. */
#define MIMEO_TRANSFER_DECODE_BOUND(n) ((n) + 64)
/** Largest output of mimeo_transfer_decode_finish(). */
#define MIMEO_TRANSFER_DECODE_FINISH_MAX 64

/**
 * Prepare `d` to decode a body in encoding `cte`.
 * @param isa  code path for base64 (MIMEO_ISA_AUTO normally)
 * @since 0.1
 */
MIMEO_EXTERN void mimeo_transfer_decoder_init(mimeo_transfer_decoder *d,
					      mimeo_cte cte, mimeo_isa isa);

/**
 * Decode the next `len` body bytes.
 * @param out  room for MIMEO_TRANSFER_DECODE_BOUND(len) bytes; may not
 *             overlap `in`
 * @return bytes written.  Never fails.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_transfer_decode_step(mimeo_transfer_decoder *d,
					       const void *in, size_t len,
					       void *out);

/**
 * End of the body: flush the decoder.
 * @param out  room for MIMEO_TRANSFER_DECODE_FINISH_MAX (64) bytes
 * @return bytes written.
 * @since 0.1
 */
MIMEO_EXTERN size_t mimeo_transfer_decode_finish(mimeo_transfer_decoder *d,
						 void *out);

/**
 * Total bytes a decoder skipped or kept as invalid so far (base64 garbage
 * and the characters ignored after the end of its data, QP invalid `=`
 * sequences, uuencode garbage lines; 0 for identity).
 * @since 0.1
 */
MIMEO_EXTERN uint64_t mimeo_transfer_decoder_invalid(const mimeo_transfer_decoder *d);

#ifdef __cplusplus
}
#endif
#endif /* MIMEO_CODEC_H */
