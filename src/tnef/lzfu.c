/*
 * lzfu.c - compressed RTF (MS-OXRTFCP): PR_RTF_COMPRESSED holds a 16-byte
 * header (COMPSIZE, RAWSIZE, COMPTYPE "LZFu" or "MELA", CRC) and then, for
 * LZFu, runs of a control byte and 8 tokens: bit 0 (least significant
 * first) a literal byte, bit 1 a big-endian 16-bit reference into a 4 KiB
 * ring dictionary (12-bit offset, 4-bit length + 2).  The dictionary starts
 * with a fixed 207-byte RTF prefix; a reference to the current write
 * position ends the data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mimeo/tnef.h"

#include <string.h>
#include <zlib.h>

#define COMP_LZFU 0x75465A4Cu /* "LZFu" */
#define COMP_MELA 0x414C454Du /* "MELA": stored, not compressed */

/* MS-OXRTFCP section 3.1.1.1.1: the initial dictionary. */
static const char prebuf[] =
	"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}"
	"{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArial"
	"Times New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
	"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
#define PREBUF_LEN (sizeof(prebuf) - 1)
_Static_assert(sizeof(prebuf) - 1 == 207, "MS-OXRTFCP dictionary prefix is 207 bytes");

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mimeo_rtf_decompress(const void *in, size_t len, mimeo_buf *out, unsigned *repairs)
{
	const unsigned char *p = in, *end;
	uint32_t compsize, rawsize, type, crc;
	unsigned char dict[4096];
	unsigned wp = PREBUF_LEN;
	size_t cap, start, produced = 0;
	unsigned bad = 0;
	int rc;

	if (len < 16)
		return MIMEO_EPARSE;
	compsize = le32(p);
	rawsize = le32(p + 4);
	type = le32(p + 8);
	crc = le32(p + 12);
	if (type != COMP_LZFU && type != COMP_MELA)
		return MIMEO_EPARSE;
	/* COMPSIZE counts the bytes after itself; more than is there is
	 * damage: read what is there. */
	if (compsize < 12 || (uint64_t)compsize - 12 > len - 16) {
		bad = 1;
		end = p + len;
	} else {
		end = p + 16 + (compsize - 12);
	}
	p += 16;
	if (type == COMP_MELA) {
		size_t n = (size_t)(end - p);

		if (n > rawsize)
			n = rawsize;
		else if (n < rawsize)
			bad = 1;
		rc = mimeo_buf_put(out, p, n);
		if (repairs && bad)
			*repairs |= MIMEO_TNEF_BAD_RTF;
		return rc;
	}
	/* The CRC (CRC-32 without the pre- and post-inversion) of the bytes
	 * after the header: zlib's crc32() inverts on the way in and out. */
	if ((uint32_t)~crc32_z(0xffffffffu, p, (size_t)(end - p)) != crc)
		bad = 1;
	/* The most a token can give is 17 bytes for 2 input bytes, so 8
	 * references and their control byte (17 bytes) give at most 136:
	 * never reserve more than 8 times the input, whatever RAWSIZE says. */
	cap = rawsize;
	if ((uint64_t)cap > (uint64_t)(end - p) * 8 + 16)
		cap = (size_t)(end - p) * 8 + 16;
	rc = mimeo_buf_grow(out, cap);
	if (rc != MIMEO_OK)
		return rc;
	start = out->size;
	memcpy(dict, prebuf, PREBUF_LEN);
	memset(dict + PREBUF_LEN, 0, sizeof(dict) - PREBUF_LEN);
	while (p < end) {
		unsigned ctl = *p++, bit;

		for (bit = 0; bit < 8; bit++) {
			if (produced >= rawsize) {
				/* Full: anything left should be the end marker. */
				goto done;
			}
			if (!(ctl & (1u << bit))) {
				unsigned char c;

				if (p >= end) {
					bad = 1;
					goto done;
				}
				c = *p++;
				dict[wp] = c;
				wp = (wp + 1) & 4095;
				out->ptr[start + produced++] = (char)c;
			} else {
				unsigned ref, off, n, i;

				if (end - p < 2) {
					bad = 1;
					goto done;
				}
				ref = (unsigned)p[0] << 8 | p[1];
				p += 2;
				off = ref >> 4;
				n = (ref & 15) + 2;
				if (off == wp)
					goto finished;   /* the end marker */
				for (i = 0; i < n && produced < rawsize && produced < cap; i++) {
					unsigned char c = dict[(off + i) & 4095];

					dict[wp] = c;
					wp = (wp + 1) & 4095;
					out->ptr[start + produced++] = (char)c;
				}
				if (i < n) {
					bad = 1;
					goto done;
				}
			}
			if (produced >= cap && produced < rawsize) {
				bad = 1;
				goto done;
			}
		}
	}
	/* The input ran out without the end marker. */
	bad = 1;
	goto done;
finished:
	if (produced != rawsize)
		bad = 1;
done:
	out->size = start + produced;
	if (out->ptr)
		out->ptr[out->size] = '\0';
	if (repairs && bad)
		*repairs |= MIMEO_TNEF_BAD_RTF;
	return MIMEO_OK;
}
