/*
 * tnef.c - TNEF reader (MS-OXTNEF): the attribute stream, MAPI property
 * lists, and the message's bodies and attachments gathered from them.
 *
 * Stream (section 2.1.3.1): signature 0x223E9F78, a 16-bit legacy key,
 * then attributes: level (1 byte), tag (4: type << 16 | id), length (4),
 * data, checksum (2: the data bytes summed modulo 65536).  An attachment
 * starts with attAttachRenddata; its title, data and dates follow as
 * attributes, its MAPI properties in attAttachment.
 *
 * Everything is read in place: the reader checks each length against the
 * bytes left before touching them, so a hostile length ends the reading
 * (MIMEO_TNEF_TRUNCATED) instead of allocating.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "mimeo/tnef.h"
#include "tnef-priv.h"
#include "mimeo/charset.h"
#include "common-priv.h"

#include <stdio.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- attribute reader ---- */

int mimeo_tnef_reader_init(mimeo_tnef_reader *r, const void *data, size_t len)
{
	const unsigned char *p = data;

	memset(r, 0, sizeof(*r));
	if (!p || len < 6 || le32(p) != MIMEO_TNEF_SIGNATURE)
		return MIMEO_EPARSE;
	r->key = (unsigned)p[4] | (unsigned)p[5] << 8;
	r->_p = p;
	r->_len = len;
	r->_off = 6;
	return MIMEO_OK;
}

int mimeo_tnef_reader_next(mimeo_tnef_reader *r, mimeo_tnef_attr *a)
{
	const unsigned char *p;
	size_t left;
	uint32_t len;
	unsigned sum = 0, want;
	size_t i;

	if (!r->_p || r->_off >= r->_len)
		return MIMEO_DONE;
	p = r->_p + r->_off;
	left = r->_len - r->_off;
	if (left < 9) {
		r->flags |= MIMEO_TNEF_TRUNCATED;
		r->_off = r->_len;
		return MIMEO_DONE;
	}
	len = le32(p + 5);
	/* The length is checked against what is there before anything else. */
	if ((uint64_t)len + 11 > left) {
		r->flags |= MIMEO_TNEF_TRUNCATED;
		r->_off = r->_len;
		return MIMEO_DONE;
	}
	a->level = p[0];
	a->tag = le32(p + 1);
	a->data = p + 9;
	a->len = len;
	a->offset = r->_off;
	for (i = 0; i < len; i++)
		sum += p[9 + i];
	want = (unsigned)p[9 + len] | (unsigned)p[10 + len] << 8;
	a->checksum_ok = (sum & 0xffffu) == want;
	if (!a->checksum_ok)
		r->flags |= MIMEO_TNEF_BAD_CHECKSUM;
	if (a->level != MIMEO_TNEF_LVL_MESSAGE && a->level != MIMEO_TNEF_LVL_ATTACHMENT)
		r->flags |= MIMEO_TNEF_BAD_LEVEL;
	r->_off += (size_t)len + 11;
	return MIMEO_OK;
}

/* ---- MAPI property reader ---- */

int mimeo_tnef_props_init(mimeo_tnef_props *pr, const void *data, size_t len)
{
	memset(pr, 0, sizeof(*pr));
	if (!data || len < 4) {
		pr->bad = 1;
		return MIMEO_EPARSE;
	}
	pr->_p = data;
	pr->_len = len;
	pr->count = le32(pr->_p);
	pr->_off = 4;
	return MIMEO_OK;
}

/* Size of one fixed-size value of base type `t` as stored (padded to 4),
 * 0 for a variable-size type, -1 for an unknown type. */
static int fixed_size(unsigned t)
{
	switch (t) {
	case 0x0001: /* PT_NULL */
	case 0x0002: /* PT_SHORT */
	case 0x0003: /* PT_LONG */
	case 0x0004: /* PT_FLOAT */
	case 0x000A: /* PT_ERROR */
	case 0x000B: /* PT_BOOLEAN */
		return 4;
	case 0x0005: /* PT_DOUBLE */
	case 0x0006: /* PT_CURRENCY */
	case 0x0007: /* PT_APPTIME */
	case 0x0014: /* PT_I8 */
	case 0x0040: /* PT_SYSTIME */
		return 8;
	case 0x0048: /* PT_CLSID */
		return 16;
	case 0x000D: /* PT_OBJECT */
	case 0x001E: /* PT_STRING8 */
	case 0x001F: /* PT_UNICODE */
	case 0x0102: /* PT_BINARY */
		return 0;
	default:
		return -1;
	}
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Walk `count` values of base type `t` from p[0..left): returns the bytes
 * they take, or SIZE_MAX when they do not fit.  With `want`, stops at value
 * number `want` and reports it in v and vlen. */
static size_t walk_values(const unsigned char *p, size_t left, unsigned t, uint32_t count,
			  uint32_t want, const unsigned char **v, size_t *vlen)
{
	int fs = fixed_size(t);
	size_t off = 0;
	uint32_t i;

	if (fs < 0)
		return SIZE_MAX;
	for (i = 0; i < count; i++) {
		size_t n, take;

		if (fs > 0) {
			n = (size_t)fs;
			take = n;
			if (take > left - off)
				return SIZE_MAX;
			if (i == want) {
				*v = p + off;
				*vlen = n;
			}
		} else {
			if (left - off < 4)
				return SIZE_MAX;
			n = le32(p + off);
			off += 4;
			if (n > left - off || pad4(n) > left - off) {
				/* The last value's padding may be missing. */
				if (n > left - off)
					return SIZE_MAX;
				take = left - off;
			} else {
				take = pad4(n);
			}
			if (i == want) {
				*v = p + off;
				*vlen = n;
			}
		}
		off += take;
	}
	return off;
}

int mimeo_tnef_props_next(mimeo_tnef_props *pr, mimeo_tnef_prop *p)
{
	const unsigned char *b = pr->_p;
	size_t off = pr->_off, left, used;
	unsigned base;
	uint32_t count;

	if (pr->bad)
		return MIMEO_EPARSE;
	if (!b || pr->_done >= pr->count)
		return MIMEO_DONE;
	memset(p, 0, sizeof(*p));
	if (pr->_len - off < 4)
		goto bad;
	p->type = (unsigned)b[off] | (unsigned)b[off + 1] << 8;
	p->id = (unsigned)b[off + 2] | (unsigned)b[off + 3] << 8;
	off += 4;
	if (p->id >= 0x8000) {
		/* A named property: GUID, kind, then a number or a name. */
		if (pr->_len - off < 20)
			goto bad;
		p->guid = b + off;
		p->name_kind = (int)le32(b + off + 16);
		off += 20;
		if (pr->_len - off < 4)
			goto bad;
		if (p->name_kind == 0) {
			p->name_id = le32(b + off);
			off += 4;
		} else if (p->name_kind == 1) {
			size_t n = le32(b + off);

			off += 4;
			if (n > pr->_len - off)
				goto bad;
			p->name = b + off;
			p->name_len = n;
			off += pad4(n) <= pr->_len - off ? pad4(n) : n;
		} else {
			goto bad;
		}
	}
	base = p->type & ~MIMEO_TNEF_PT_MV;
	if (fixed_size(base) < 0)
		goto bad;
	left = pr->_len - off;
	if ((p->type & MIMEO_TNEF_PT_MV) || fixed_size(base) == 0) {
		/* A value count first (always 1 for a single variable value). */
		if (left < 4)
			goto bad;
		count = le32(b + off);
		off += 4;
		left -= 4;
	} else {
		count = 1;
	}
	p->_vals = b + off;
	used = walk_values(b + off, left, base, count, 0, &p->value, &p->value_len);
	if (used == SIZE_MAX)
		goto bad;
	p->count = count;
	p->_vals_len = used;
	if (fixed_size(base) > 0 && count > 0) {
		size_t k, n = p->value_len < 8 ? p->value_len : 8;

		/* Narrow types are padded with whatever the writer left there. */
		if (base == 0x0002 || base == 0x000B)
			n = 2;
		for (k = 0; k < n; k++)
			p->num |= (uint64_t)p->value[k] << (8 * k);
	}
	pr->_off = off + used;
	pr->_done++;
	return MIMEO_OK;
bad:
	pr->bad = 1;
	return MIMEO_EPARSE;
}

int mimeo_tnef_prop_value(const mimeo_tnef_prop *p, uint32_t i, const unsigned char **value,
			  size_t *len)
{
	if (!p || i >= p->count)
		return MIMEO_EINVAL;
	if (walk_values(p->_vals, p->_vals_len, p->type & ~MIMEO_TNEF_PT_MV, i + 1, i, value,
			len) == SIZE_MAX)
		return MIMEO_EINVAL;
	return MIMEO_OK;
}

/* ---- the message ---- */

/* A text value as found: bytes and how they are encoded. */
typedef struct rawtext {
	const unsigned char *p;
	size_t len;
	int unicode;   /* UTF-16LE; else 8-bit in the stream's code page */
	int set;
} rawtext;

/* An attachment being gathered. */
typedef struct pending {
	rawtext long_name, title, short_name, display, mime, cid;
	const unsigned char *att_data, *prop_data;  /* attAttachData, PR_ATTACH_DATA */
	size_t att_len, prop_len;
	int has_att_data, has_prop_data, prop_is_obj;
	int64_t created, modified, p_created, p_modified;
	unsigned method;
} pending;

/* Owned memory: a chain of blocks freed together. */
typedef struct block {
	struct block *next;
} block;

struct mimeo_tnef {
	mimeo_allocator a_store;
	const mimeo_allocator *alloc;
	mimeo_tnef_item *items;
	size_t n, cap, max;
	unsigned flags;
	block *owned;
	mimeo_charset_cache *cc;
	char label[24];   /* the code page as a charset label, "" if unknown */
};

static void *own(mimeo_tnef *t, size_t n)
{
	size_t total;
	block *b;

	if (!mimeo__add_ok(n, sizeof(block) + 1, &total))
		return NULL;
	b = mimeo__malloc(t->alloc, total);
	if (!b)
		return NULL;
	b->next = t->owned;
	t->owned = b;
	return b + 1;
}

/* A copy of buf's bytes owned by t (NUL-terminated). */
static char *own_buf(mimeo_tnef *t, const mimeo_buf *buf)
{
	char *s = own(t, buf->size);

	if (s) {
		if (buf->size)
			memcpy(s, buf->ptr, buf->size);
		s[buf->size] = '\0';
	}
	return s;
}

/* Text without trailing NULs (8-bit: one, UTF-16: pairs). */
static size_t text_len(const rawtext *r)
{
	size_t n = r->len;

	if (r->unicode) {
		n &= ~(size_t)1;
		while (n >= 2 && r->p[n - 1] == 0 && r->p[n - 2] == 0)
			n -= 2;
	} else {
		while (n > 0 && r->p[n - 1] == 0)
			n--;
	}
	return n;
}

/* A text value as UTF-8, owned by t; *out NULL on ENOMEM. */
static int utf8_of(mimeo_tnef *t, const rawtext *r, char **out, size_t *outlen)
{
	mimeo_buf b;
	size_t n = text_len(r);
	const char *label = r->unicode ? "utf-16le" : (t->label[0] ? t->label : NULL);
	int rc;

	*out = NULL;
	mimeo_buf_init(&b, t->alloc);
	if (!t->cc) {
		rc = mimeo_charset_cache_new(&t->cc, t->alloc);
		if (rc != MIMEO_OK)
			return rc;
	}
	rc = mimeo_charset_to_utf8(t->cc, label, label ? strlen(label) : 0, r->p, n, &b, NULL);
	if (rc == MIMEO_OK) {
		*out = own_buf(t, &b);
		if (!*out)
			rc = MIMEO_ENOMEM;
		else if (outlen)
			*outlen = b.size;
	}
	mimeo_buf_dispose(&b);
	return rc;
}

/* Windows code page number -> charset label mimeo's converter knows. */
static void set_codepage(mimeo_tnef *t, uint32_t cp)
{
	static const struct {
		uint32_t cp;
		const char *label;
	} names[] = {
		{ 65001, "utf-8" }, { 20127, "us-ascii" }, { 932, "shift_jis" }, { 936, "gbk" },
		{ 949, "euc-kr" }, { 950, "big5" }, { 20866, "koi8-r" }, { 21866, "koi8-u" },
		{ 437, "ibm437" }, { 850, "ibm850" }, { 866, "ibm866" }, { 874, "windows-874" },
		{ 50220, "iso-2022-jp" }, { 51932, "euc-jp" }, { 54936, "gb18030" },
	};
	size_t i;

	t->label[0] = '\0';
	if (cp >= 1250 && cp <= 1258) {
		snprintf(t->label, sizeof(t->label), "windows-%u", (unsigned)cp);
		return;
	}
	if (cp >= 28591 && cp <= 28606) {
		snprintf(t->label, sizeof(t->label), "iso-8859-%u", (unsigned)(cp - 28590));
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].cp == cp) {
			snprintf(t->label, sizeof(t->label), "%s", names[i].label);
			return;
		}
	}
}

static int add_item(mimeo_tnef *t, mimeo_tnef_item **it)
{
	if (t->n >= t->max)
		return MIMEO_ELIMIT;
	if (mimeo__array_reserve(t->alloc, (void **)&t->items, &t->cap, t->n,
				 sizeof(mimeo_tnef_item), 8) != MIMEO_OK)
		return MIMEO_ENOMEM;
	*it = &t->items[t->n++];
	memset(*it, 0, sizeof(**it));
	(*it)->created = (*it)->modified = MIMEO_TNEF_NO_DATE;
	return MIMEO_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil algorithm, public domain). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* attDate (DTR, section 2.1.3.3.x): year, month, day, hour, minute,
 * second, day of week, 16 bits each. */
static int64_t dtr_time(const unsigned char *p, size_t len)
{
	unsigned v[6], i;

	if (len < 12)
		return MIMEO_TNEF_NO_DATE;
	for (i = 0; i < 6; i++)
		v[i] = (unsigned)p[2 * i] | (unsigned)p[2 * i + 1] << 8;
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return MIMEO_TNEF_NO_DATE;
	return days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

/* FILETIME: 100 ns ticks since 1601-01-01 UTC. */
static int64_t filetime(uint64_t ft)
{
	return (int64_t)(ft / 10000000u) - INT64_C(11644473600);
}

const char *mimeo__guess_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "txt", "text/plain" }, { "htm", "text/html" }, { "html", "text/html" },
		{ "rtf", "application/rtf" }, { "csv", "text/csv" }, { "xml", "application/xml" },
		{ "ics", "text/calendar" }, { "vcf", "text/vcard" }, { "eml", "message/rfc822" },
		{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "png", "image/png" },
		{ "gif", "image/gif" }, { "bmp", "image/bmp" }, { "tif", "image/tiff" },
		{ "tiff", "image/tiff" }, { "pdf", "application/pdf" },
		{ "doc", "application/msword" }, { "dot", "application/msword" },
		{ "xls", "application/vnd.ms-excel" }, { "ppt", "application/vnd.ms-powerpoint" },
		{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
		{ "zip", "application/zip" }, { "gz", "application/gzip" },
		{ "mp3", "audio/mpeg" }, { "wav", "audio/wav" }, { "mp4", "video/mp4" },
		{ "msg", "application/vnd.ms-outlook" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot && dot[1]) {
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (mimeo__ascii_ieq(dot + 1, strlen(dot + 1), types[i].ext))
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

static int rawtext_set(rawtext *r, const mimeo_tnef_prop *p)
{
	unsigned base = p->type & ~MIMEO_TNEF_PT_MV;

	if (base != MIMEO_TNEF_PT_STRING8 && base != MIMEO_TNEF_PT_UNICODE &&
	    base != MIMEO_TNEF_PT_BINARY)
		return 0;
	if (p->count < 1)
		return 0;
	r->p = p->value;
	r->len = p->value_len;
	r->unicode = base == MIMEO_TNEF_PT_UNICODE;
	r->set = 1;
	return 1;
}

/* The finished attachment becomes an item. */
static int flush_pending(mimeo_tnef *t, pending *pa)
{
	mimeo_tnef_item *it;
	const rawtext *name = pa->long_name.set ? &pa->long_name
			      : pa->title.set ? &pa->title
			      : pa->short_name.set ? &pa->short_name
			      : pa->display.set ? &pa->display : NULL;
	char *s;
	int rc;

	/* An attachment that is not stored by value (an embedded message, an
	 * OLE object) may also carry attAttachData: Outlook's placeholder
	 * text for mail systems that cannot read the object.  MimeKit gives it
	 * as an attachment of its own, so it is kept as one, first. */
	if (pa->has_prop_data && pa->has_att_data && pa->att_len > 0 && pa->method > 1) {
		pending ph = *pa;

		ph.has_prop_data = 0;
		ph.method = 0;
		rc = flush_pending(t, &ph);
		if (rc != MIMEO_OK)
			return rc;
	}
	rc = add_item(t, &it);
	if (rc != MIMEO_OK)
		return rc;
	it->kind = MIMEO_TNEF_ATTACHMENT;
	it->method = pa->method;
	if (pa->has_prop_data) {
		it->data = pa->prop_data;
		it->size = pa->prop_len;
		/* PR_ATTACH_DATA_OBJ starts with the IID of the object's
		 * interface.  An embedded message's IID is dropped (the rest is
		 * a TNEF stream); an OLE object's is kept, as MimeKit keeps it
		 * (the IStorage IID then the compound file). */
		if (pa->prop_is_obj && pa->method == MIMEO_TNEF_METHOD_EMBEDDED_MSG) {
			size_t skip = it->size < 16 ? it->size : 16;

			it->data += skip;
			it->size -= skip;
		}
	} else if (pa->has_att_data) {
		it->data = pa->att_data;
		it->size = pa->att_len;
	} else {
		it->data = (const unsigned char *)"";
	}
	it->created = pa->p_created != MIMEO_TNEF_NO_DATE ? pa->p_created : pa->created;
	it->modified = pa->p_modified != MIMEO_TNEF_NO_DATE ? pa->p_modified : pa->modified;
	it->filename = "";
	if (name) {
		rc = utf8_of(t, name, &s, NULL);
		if (rc != MIMEO_OK)
			return rc;
		it->filename = s;
	}
	if (pa->cid.set) {
		rc = utf8_of(t, &pa->cid, &s, NULL);
		if (rc != MIMEO_OK)
			return rc;
		it->content_id = s;
	}
	it->embedded = pa->method == MIMEO_TNEF_METHOD_EMBEDDED_MSG && it->size >= 4 &&
		       le32(it->data) == MIMEO_TNEF_SIGNATURE;
	if (it->embedded) {
		it->mime_type = "application/vnd.ms-tnef";
	} else if (pa->mime.set) {
		size_t i, n;

		rc = utf8_of(t, &pa->mime, &s, &n);
		if (rc != MIMEO_OK)
			return rc;
		for (i = 0; i < n; i++)
			s[i] = (char)mimeo__lower((unsigned char)s[i]);
		it->mime_type = n ? s : mimeo__guess_type(it->filename);
	} else {
		it->mime_type = mimeo__guess_type(it->filename);
	}
	return MIMEO_OK;
}

static void pending_reset(pending *pa)
{
	memset(pa, 0, sizeof(*pa));
	pa->created = pa->modified = pa->p_created = pa->p_modified = MIMEO_TNEF_NO_DATE;
}

/* Message-level bodies found so far (kept in the order RTF, HTML, text). */
typedef struct bodies {
	const unsigned char *rtf;
	size_t rtf_len;
	rawtext html, text, att_body;
} bodies;

/* Call fn for each property of the list in data[0..len) that is read:
 * named properties (id 0x8000 and up) and empty multi-values are not.  A
 * list that does not read to its end sets MIMEO_TNEF_BAD_PROPS. */
static void each_prop(mimeo_tnef *t, const unsigned char *data, size_t len,
		      void (*fn)(mimeo_tnef *t, void *ctx, const mimeo_tnef_prop *p), void *ctx)
{
	mimeo_tnef_props pr;
	mimeo_tnef_prop p;

	if (mimeo_tnef_props_init(&pr, data, len) != MIMEO_OK) {
		t->flags |= MIMEO_TNEF_BAD_PROPS;
		return;
	}
	while (mimeo_tnef_props_next(&pr, &p) == MIMEO_OK)
		if (p.id < 0x8000 && p.count >= 1)
			fn(t, ctx, &p);
	if (pr.bad)
		t->flags |= MIMEO_TNEF_BAD_PROPS;
}

/* A message-level property (each_prop callback; ctx is the bodies). */
static void message_prop(mimeo_tnef *t, void *ctx, const mimeo_tnef_prop *p)
{
	bodies *b = ctx;

	switch (p->id) {
	case MIMEO_TNEF_PR_RTF_COMPRESSED:
		if ((p->type & ~MIMEO_TNEF_PT_MV) == MIMEO_TNEF_PT_BINARY) {
			b->rtf = p->value;
			b->rtf_len = p->value_len;
		}
		break;
	case MIMEO_TNEF_PR_BODY_HTML:
		rawtext_set(&b->html, p);
		break;
	case MIMEO_TNEF_PR_BODY:
		rawtext_set(&b->text, p);
		break;
	case MIMEO_TNEF_PR_INTERNET_CPID:
		if (p->type == MIMEO_TNEF_PT_LONG && !t->label[0])
			set_codepage(t, (uint32_t)p->num);
		break;
	}
}

/* An attachment's property (each_prop callback; ctx is the pending
 * attachment). */
static void attach_prop(mimeo_tnef *t, void *ctx, const mimeo_tnef_prop *p)
{
	pending *pa = ctx;
	unsigned base = p->type & ~MIMEO_TNEF_PT_MV;

	(void)t;
	switch (p->id) {
	case MIMEO_TNEF_PR_ATTACH_LONG_FILENAME:
		rawtext_set(&pa->long_name, p);
		break;
	case MIMEO_TNEF_PR_ATTACH_FILENAME:
		rawtext_set(&pa->short_name, p);
		break;
	case MIMEO_TNEF_PR_DISPLAY_NAME:
		rawtext_set(&pa->display, p);
		break;
	case MIMEO_TNEF_PR_ATTACH_MIME_TAG:
		rawtext_set(&pa->mime, p);
		break;
	case MIMEO_TNEF_PR_ATTACH_CONTENT_ID:
		rawtext_set(&pa->cid, p);
		break;
	case MIMEO_TNEF_PR_ATTACH_METHOD:
		if (base == MIMEO_TNEF_PT_LONG)
			pa->method = (unsigned)p->num;
		break;
	case MIMEO_TNEF_PR_ATTACH_DATA:
		if (base == MIMEO_TNEF_PT_BINARY || base == MIMEO_TNEF_PT_OBJECT) {
			pa->prop_data = p->value;
			pa->prop_len = p->value_len;
			pa->prop_is_obj = base == MIMEO_TNEF_PT_OBJECT;
			pa->has_prop_data = 1;
		}
		break;
	case MIMEO_TNEF_PR_CREATION_TIME:
		if (base == MIMEO_TNEF_PT_SYSTIME)
			pa->p_created = filetime(p->num);
		break;
	case MIMEO_TNEF_PR_LAST_MODIFICATION_TIME:
		if (base == MIMEO_TNEF_PT_SYSTIME)
			pa->p_modified = filetime(p->num);
		break;
	}
}

/* The bodies become the first items. */
static int add_bodies(mimeo_tnef *t, const bodies *b)
{
	mimeo_tnef_item *it;
	const rawtext *text = b->text.set ? &b->text : b->att_body.set ? &b->att_body : NULL;
	char *s;
	size_t n;
	int rc;

	if (b->rtf) {
		mimeo_buf buf;
		unsigned rep = 0;

		mimeo_buf_init(&buf, t->alloc);
		rc = mimeo_rtf_decompress(b->rtf, b->rtf_len, &buf, &rep);
		t->flags |= rep;
		if (rc == MIMEO_OK) {
			char *copy = own_buf(t, &buf);

			rc = copy ? add_item(t, &it) : MIMEO_ENOMEM;
			if (rc == MIMEO_OK) {
				it->kind = MIMEO_TNEF_BODY_RTF;
				it->filename = "message.rtf";
				it->mime_type = "text/rtf";
				it->data = (const unsigned char *)copy;
				it->size = buf.size;
			}
		} else if (rc == MIMEO_EPARSE) {
			t->flags |= MIMEO_TNEF_BAD_RTF;
			rc = MIMEO_OK;
		}
		mimeo_buf_dispose(&buf);
		if (rc != MIMEO_OK)
			return rc;
	}
	if (b->html.set) {
		rc = add_item(t, &it);
		if (rc != MIMEO_OK)
			return rc;
		it->kind = MIMEO_TNEF_BODY_HTML;
		it->filename = "message.html";
		it->mime_type = "text/html";
		if (b->html.unicode) {
			rc = utf8_of(t, &b->html, &s, &n);
			if (rc != MIMEO_OK)
				return rc;
			it->data = (const unsigned char *)s;
			it->size = n;
		} else {
			/* HTML declares its own charset: bytes as they are. */
			it->data = b->html.p;
			it->size = text_len(&b->html);
		}
	}
	if (text) {
		rc = add_item(t, &it);
		if (rc != MIMEO_OK)
			return rc;
		it->kind = MIMEO_TNEF_BODY_TEXT;
		it->filename = "message.txt";
		it->mime_type = "text/plain";
		rc = utf8_of(t, text, &s, &n);
		if (rc != MIMEO_OK)
			return rc;
		it->data = (const unsigned char *)s;
		it->size = n;
	}
	return MIMEO_OK;
}

int mimeo_tnef_open(mimeo_tnef **out, const void *data, size_t len,
		    const mimeo_tnef_options *opt)
{
	static const mimeo_tnef_options defaults = MIMEO_TNEF_OPTIONS_INIT;
	mimeo_tnef_reader r;
	mimeo_tnef_attr a;
	mimeo_tnef *t;
	mimeo_tnef_item *att_items = NULL;
	pending pa;
	bodies b;
	int in_att = 0, rc = MIMEO_OK;
	size_t natt = 0, i;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	if (!opt)
		opt = &defaults;
	if (!MIMEO__VERSION_OK(opt->version, MIMEO_TNEF_OPTIONS_VERSION))
		return MIMEO_EINVAL;
	if (mimeo_tnef_reader_init(&r, data, len) != MIMEO_OK)
		return MIMEO_EPARSE;
	t = mimeo__calloc(opt->alloc, 1, sizeof(*t));
	if (!t)
		return MIMEO_ENOMEM;
	if (opt->alloc) {
		t->a_store = *opt->alloc;
		t->alloc = &t->a_store;
	}
	t->max = opt->max_items ? opt->max_items : defaults.max_items;
	memset(&b, 0, sizeof(b));
	pending_reset(&pa);
	/* Attachments are gathered first (bodies go first in the list but
	 * the message's properties may come after the attachments), so the
	 * items are built as attachments and the bodies put in front after. */
	while (mimeo_tnef_reader_next(&r, &a) == MIMEO_OK) {
		if (a.tag == MIMEO_TNEF_ATT_ATTACH_RENDDATA) {
			if (in_att && (rc = flush_pending(t, &pa)) != MIMEO_OK)
				goto fail;
			pending_reset(&pa);
			in_att = 1;
			continue;
		}
		if (a.level == MIMEO_TNEF_LVL_ATTACHMENT) {
			/* Attachment attributes before any attAttachRenddata
			 * still describe an attachment. */
			in_att = 1;
			switch (a.tag) {
			case MIMEO_TNEF_ATT_ATTACH_TITLE:
				pa.title.p = a.data;
				pa.title.len = a.len;
				pa.title.set = 1;
				break;
			case MIMEO_TNEF_ATT_ATTACH_DATA:
				pa.att_data = a.data;
				pa.att_len = a.len;
				pa.has_att_data = 1;
				break;
			case MIMEO_TNEF_ATT_ATTACH_CREATE:
				pa.created = dtr_time(a.data, a.len);
				break;
			case MIMEO_TNEF_ATT_ATTACH_MODIFY:
				pa.modified = dtr_time(a.data, a.len);
				break;
			case MIMEO_TNEF_ATT_ATTACHMENT:
				each_prop(t, a.data, a.len, attach_prop, &pa);
				break;
			}
			continue;
		}
		switch (a.tag) {
		case MIMEO_TNEF_ATT_MAPI_PROPS:
			each_prop(t, a.data, a.len, message_prop, &b);
			break;
		case MIMEO_TNEF_ATT_BODY:
			b.att_body.p = a.data;
			b.att_body.len = a.len;
			b.att_body.set = 1;
			break;
		case MIMEO_TNEF_ATT_OEM_CODEPAGE:
			if (a.len >= 4)
				set_codepage(t, le32(a.data));
			break;
		}
	}
	if (in_att && (rc = flush_pending(t, &pa)) != MIMEO_OK)
		goto fail;
	/* Put the bodies in front: move the attachments aside. */
	natt = t->n;
	if (natt) {
		size_t bytes;

		if (!mimeo__mul_ok(natt, sizeof(*att_items), &bytes) ||
		    !(att_items = mimeo__malloc(t->alloc, bytes))) {
			rc = MIMEO_ENOMEM;
			goto fail;
		}
		memcpy(att_items, t->items, bytes);
	}
	t->n = 0;
	rc = add_bodies(t, &b);
	for (i = 0; rc == MIMEO_OK && i < natt; i++) {
		mimeo_tnef_item *it;

		rc = add_item(t, &it);
		if (rc == MIMEO_OK)
			*it = att_items[i];
	}
	mimeo__free(t->alloc, att_items);
	if (rc != MIMEO_OK)
		goto fail;
	t->flags |= r.flags;
	mimeo_charset_cache_free(t->cc);
	t->cc = NULL;
	*out = t;
	return MIMEO_OK;
fail:
	mimeo_tnef_free(t);
	return rc;
}

size_t mimeo_tnef_count(const mimeo_tnef *t)
{
	return t ? t->n : 0;
}

const mimeo_tnef_item *mimeo_tnef_item_at(const mimeo_tnef *t, size_t i)
{
	return t && i < t->n ? &t->items[i] : NULL;
}

unsigned mimeo_tnef_flags(const mimeo_tnef *t)
{
	return t ? t->flags : 0;
}

void mimeo_tnef_free(mimeo_tnef *t)
{
	block *b, *next;

	if (!t)
		return;
	for (b = t->owned; b; b = next) {
		next = b->next;
		mimeo__free(t->alloc, b);
	}
	mimeo_charset_cache_free(t->cc);
	mimeo__free(t->alloc, t->items);
	mimeo__free(t->alloc, t);
}
