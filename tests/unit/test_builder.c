/*
 * test_builder.c - the message builder through the public API.
 *
 * The core is a property test: random messages (non-ASCII names and
 * subjects, long lines, lines starting with "From " and ".", attachments of
 * 0 B to 2 MB from memory, files and read callbacks, inline images,
 * attached messages) are built, then parsed back with mimeo's tree (and,
 * when compiled with MIMEO_TEST_GMIME, with GMime too); names, types and
 * bytes must come back identical, and the output must be 7-bit with no
 * line over 998 octets and lines over 78 only inside bodies sent as they
 * are.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimeo.h"

#ifdef MIMEO_TEST_GMIME
#include <gmime/gmime.h>
#endif

/* ------------------------------------------------------------------ */
/* the model of a random message                                        */
/* ------------------------------------------------------------------ */

enum { K_TEXT, K_HTML, K_INLINE, K_ATTACH, K_MESSAGE };
enum { SRC_MEM, SRC_FILE, SRC_STREAM };

typedef struct exp_leaf {
	int kind;
	int src;
	char type[64], subtype[64];
	char *filename;          /* expected decoded name or NULL */
	unsigned char *data;     /* expected decoded content */
	size_t len;
	char *inner_subject;     /* K_MESSAGE: decoded subject inside */
	char path[256];          /* SRC_FILE: temporary file */
} exp_leaf;

typedef struct model {
	char *subject;
	char *from_name;
	int crlf, eight;
	exp_leaf leaf[16];
	size_t n;
} model;

static const char *const words[] = {
	"hello", "world", "Grüße", "Köln", "日本語", "テスト", "Ωμέγα", "naïve",
	"café", "report", "Q3", "€100", "emoji😀", "(paren)", "\"quoted\"", "a,b",
	"=?not?encoded?=", "x", "Tschüß", "Привет", "long-ascii-word-without-spaces-in-it",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static char *rand_phrase(uint64_t *st, unsigned maxw)
{
	unsigned n = 1 + (unsigned)(test_rand(st) % maxw), i;
	mimeo_buf b = MIMEO_BUF_INIT;

	for (i = 0; i < n; i++) {
		if (i)
			mimeo_buf_puts(&b, " ");
		mimeo_buf_puts(&b, words[test_rand(st) % NWORDS]);
	}
	return mimeo_buf_detach(&b);
}

/* Text with the lines that stress encoders: long ones, "From ", ".",
 * non-ASCII, things that look like our delimiters. */
static char *rand_text(uint64_t *st, size_t *len)
{
	unsigned lines = 1 + (unsigned)(test_rand(st) % 40), i;
	mimeo_buf b = MIMEO_BUF_INIT;
	int ascii = test_rand(st) % 3 == 0;

	for (i = 0; i < lines; i++) {
		unsigned kind = (unsigned)(test_rand(st) % 10);

		switch (kind) {
		case 0: {
			size_t n = 79 + test_rand(st) % 1500, k;

			for (k = 0; k < n; k++)
				mimeo_buf_put(&b, k % 9 == 8 ? " " : &"abcdefgh"[k % 8], 1);
			break;
		}
		case 1:
			mimeo_buf_puts(&b, "From the desk of someone");
			break;
		case 2:
			mimeo_buf_puts(&b, test_rand(st) & 1 ? "." : ".leading dot");
			break;
		case 3:
			mimeo_buf_puts(&b, "--=_00_ABCDEFGHIJKLMNOPQRSTUVWX");
			break;
		case 4:
			break;
		case 5:
			mimeo_buf_puts(&b, "trailing space   ");
			break;
		default: {
			char *p = rand_phrase(st, 12);

			if (ascii) {
				size_t k;

				for (k = 0; p[k]; k++)
					if ((unsigned char)p[k] >= 128)
						p[k] = '?';
			}
			mimeo_buf_puts(&b, p);
			free(p);
		}
		}
		if (i + 1 < lines || test_rand(st) & 1)
			mimeo_buf_puts(&b, "\n");
	}
	if (!b.ptr)
		mimeo_buf_puts(&b, "");
	*len = b.size;
	return mimeo_buf_detach(&b);
}

/* LF -> output line breaks, as the builder does for text bodies. */
static unsigned char *normalize(const char *t, size_t len, int crlf, size_t *out_len)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	size_t i;

	mimeo_buf_put(&b, "", 0);
	for (i = 0; i < len; i++) {
		if (t[i] == '\n' && crlf)
			mimeo_buf_put(&b, "\r", 1);
		mimeo_buf_put(&b, t + i, 1);
	}
	*out_len = b.size;
	return (unsigned char *)mimeo_buf_detach(&b);
}

typedef struct stream_src {
	const unsigned char *data;
	size_t len, pos;
	size_t chunk;       /* 0 = as much as asked */
	uint64_t rs;        /* random chunk sizes when chunk == 1000000 */
} stream_src;

static int stream_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	stream_src *s = ctx;
	size_t k = s->len - s->pos;

	if (s->chunk == 1000000) {
		/* One draw: never more than the builder asked for. */
		size_t r = 1 + test_rand(&s->rs) % 5000;

		if (cap > r)
			cap = r;
	} else if (s->chunk && cap > s->chunk)
		cap = s->chunk;
	if (k > cap)
		k = cap;
	memcpy(buf, s->data + s->pos, k);
	s->pos += k;
	*got = k;
	return MIMEO_OK;
}

static const char small_msg[] =
	"From: Anna <anna@example.org>\n"
	"Subject: caf\xc3\xa9 au lait\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"B\xc3\xa9" "b\xc3\xa9 says hello\n";

static void model_free(model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->leaf[i].filename);
		free(m->leaf[i].data);
		free(m->leaf[i].inner_subject);
		if (m->leaf[i].path[0])
			unlink(m->leaf[i].path);
	}
	free(m->subject);
	free(m->from_name);
	memset(m, 0, sizeof(*m));
}

static stream_src streams[16];

/* A random text (K_TEXT) or HTML (K_HTML) body set on `b` and expected
 * as the model's next leaf. */
static void rand_body(uint64_t *st, model *m, mimeo_builder *b, int kind)
{
	exp_leaf *l = &m->leaf[m->n++];
	size_t tl;
	char *t = rand_text(st, &tl);

	ck_assert_int_eq((kind == K_TEXT ? mimeo_builder_set_text : mimeo_builder_set_html)(
				 b, t, tl, MIMEO_CTE_NONE), MIMEO_OK);
	l->kind = kind;
	strcpy(l->type, "text");
	strcpy(l->subtype, kind == K_TEXT ? "plain" : "html");
	l->data = normalize(t, tl, m->crlf, &l->len);
	free(t);
}

/* Make a random model and the builder for it. */
static mimeo_builder *random_message(uint64_t *st, model *m, unsigned iter)
{
	mimeo_builder_options o = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder *b;
	unsigned natt, i;

	memset(m, 0, sizeof(*m));
	m->crlf = test_rand(st) & 1;
	m->eight = test_rand(st) % 5 == 0;
	o.flags = (m->crlf ? MIMEO_BUILD_CRLF : 0) | (m->eight ? MIMEO_BUILD_8BITMIME : 0);
	o.message_id_domain = "test.example";
	ck_assert_int_eq(mimeo_builder_new(&b, &o), MIMEO_OK);
	m->from_name = rand_phrase(st, 4);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_FROM, m->from_name,
						   "sender@example.org"), MIMEO_OK);
	for (i = 0; i < 1 + test_rand(st) % 4; i++) {
		char *nm = rand_phrase(st, 3);

		ck_assert_int_eq(mimeo_builder_add_address(b, i & 1 ? MIMEO_FIELD_CC : MIMEO_FIELD_TO,
							   nm, "rcpt@example.com"), MIMEO_OK);
		free(nm);
	}
	m->subject = rand_phrase(st, 14);
	ck_assert_int_eq(mimeo_builder_set_subject(b, m->subject, strlen(m->subject)), MIMEO_OK);

	if (test_rand(st) % 4)
		rand_body(st, m, b, K_TEXT);
	if (test_rand(st) % 3 == 0) {
		exp_leaf *l;
		unsigned ninl = (unsigned)(test_rand(st) % 3);

		rand_body(st, m, b, K_HTML);
		for (i = 0; i < ninl; i++) {
			mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
			char cid[32];

			l = &m->leaf[m->n++];
			l->kind = K_INLINE;
			strcpy(l->type, "image");
			strcpy(l->subtype, "png");
			l->len = test_rand(st) % 3000;
			l->data = malloc(l->len + 1);
			test_rand_bytes(st, l->data, l->len);
			snprintf(cid, sizeof(cid), "img%u@test", i);
			sp.content_type = "image/png";
			sp.content_id = cid;
			ck_assert_int_eq(mimeo_builder_add_inline(b, &sp, l->data, l->len), MIMEO_OK);
		}
	}
	natt = (unsigned)(test_rand(st) % 4);
	for (i = 0; i < natt; i++) {
		mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
		exp_leaf *l = &m->leaf[m->n++];
		unsigned kind = (unsigned)(test_rand(st) % 3);
		char *nm;

		l->kind = K_ATTACH;
		l->src = (int)(test_rand(st) % 3);
		/* Sizes: mostly small, now and then up to 2 MB. */
		if (iter == 5 && i == 0)
			l->len = 2u << 20;
		else if (test_rand(st) % 8 == 0)
			l->len = test_rand(st) % (300u << 10);
		else
			l->len = test_rand(st) % 4000;
		l->data = malloc(l->len + 1);
		if (kind == 0) {
			strcpy(l->type, "application");
			strcpy(l->subtype, "octet-stream");
			test_rand_bytes(st, l->data, l->len);
		} else if (kind == 1) {
			size_t k;

			/* text attachment: mostly ASCII lines, some CR, some 8-bit */
			strcpy(l->type, "text");
			strcpy(l->subtype, "plain");
			for (k = 0; k < l->len; k++) {
				uint64_t r = test_rand(st) % 100;

				l->data[k] = r < 3 ? '\n' : r == 3 ? '\r' : r == 4 ? 0xC3 :
					     (unsigned char)('a' + r % 26);
			}
			if (test_rand(st) & 1) /* pure 7-bit text, LF lines */
				for (k = 0; k < l->len; k++)
					if (l->data[k] == '\r' || l->data[k] >= 128)
						l->data[k] = 'z';
		} else {
			strcpy(l->type, "image");
			strcpy(l->subtype, "jpeg");
			test_rand_bytes(st, l->data, l->len);
		}
		snprintf(l->path, sizeof(l->path), "%s", "");
		nm = rand_phrase(st, test_rand(st) % 5 == 0 ? 12 : 3);
		l->filename = malloc(strlen(nm) + 8);
		sprintf(l->filename, "%s.bin", nm);
		free(nm);
		{
			char ct[sizeof(l->type) + sizeof(l->subtype) + 1];

			snprintf(ct, sizeof(ct), "%s/%s", l->type, l->subtype);
			sp.content_type = ct;
			sp.filename = l->filename;
			if (l->src == SRC_MEM) {
				ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, l->data, l->len),
						 MIMEO_OK);
			} else if (l->src == SRC_FILE) {
				FILE *f;

				snprintf(l->path, sizeof(l->path), "/tmp/mimeo-tb-%d-%u-%u",
					 (int)getpid(), iter, i);
				f = fopen(l->path, "wb");
				ck_assert_ptr_nonnull(f);
				ck_assert_uint_eq(fwrite(l->data, 1, l->len, f), l->len);
				fclose(f);
				ck_assert_int_eq(mimeo_builder_add_attachment_file(b, &sp, l->path),
						 MIMEO_OK);
			} else {
				stream_src *s = &streams[m->n - 1];

				memset(s, 0, sizeof(*s));
				s->data = l->data;
				s->len = l->len;
				s->chunk = 1000000;
				s->rs = test_rand(st) | 1;
				ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, &sp, stream_read, s),
						 MIMEO_OK);
			}
		}
	}
	if (test_rand(st) % 5 == 0) {
		exp_leaf *l = &m->leaf[m->n++];

		l->kind = K_MESSAGE;
		strcpy(l->type, "message");
		strcpy(l->subtype, "rfc822");
		l->inner_subject = strdup("caf\xc3\xa9 au lait");
		l->data = (unsigned char *)strdup("B\xc3\xa9" "b\xc3\xa9 says hello\n");
		l->len = strlen((char *)l->data);
		if (m->crlf) {
			unsigned char *d = normalize((char *)l->data, l->len, 1, &l->len);

			free(l->data);
			l->data = d;
		}
		ck_assert_int_eq(mimeo_builder_add_message(b, small_msg, strlen(small_msg), NULL, 0),
				 MIMEO_OK);
	}
	return b;
}

/* ------------------------------------------------------------------ */
/* checks                                                               */
/* ------------------------------------------------------------------ */

static const mimeo_part *skip_subtree(const mimeo_part *p)
{
	while (p && !mimeo_part_next_sibling(p))
		p = mimeo_part_parent(p);
	return p ? mimeo_part_next_sibling(p) : NULL;
}

static char *decoded_header(const mimeo_part *p, const char *name)
{
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t len;
	const char *raw = mimeo_part_get_header(p, name, &len);

	if (!raw)
		return NULL;
	ck_assert_int_eq(mimeo_header_decode_text(NULL, NULL, raw, len, &out, NULL), MIMEO_OK);
	if (!out.ptr)
		mimeo_buf_puts(&out, "");
	return mimeo_buf_detach(&out);
}

static int identity_cte(mimeo_cte c)
{
	return c == MIMEO_CTE_7BIT || c == MIMEO_CTE_8BIT || c == MIMEO_CTE_BINARY;
}

/* Every byte < 128 (unless 8BITMIME), lines <= 998, lines > 78 only
 * inside bodies written as they are. */
static void check_lines(const mimeo_message *msg, const char *out, size_t len, int eight)
{
	uint64_t ok_start[64], ok_end[64];
	size_t nok = 0, i, start = 0;
	const mimeo_part *p;

	for (p = mimeo_message_root(msg); p; p = mimeo_part_next(p)) {
		uint64_t hs, bs, end;

		mimeo_part_offsets(p, &hs, &bs, &end);
		if ((mimeo_part_is_leaf(p) || mimeo_part_is_message(p)) &&
		    identity_cte(mimeo_part_cte(p)) && nok < 64) {
			ok_start[nok] = bs;
			ok_end[nok++] = end;
		}
	}
	for (i = 0; i < len; i++) {
		/* plain ifs: a Check assertion per byte is slow under ASan */
		if (!eight && (unsigned char)out[i] >= 128)
			ck_abort_msg("8-bit byte at %zu", i);
		if (out[i] == '\n' || i + 1 == len) {
			size_t e = out[i] == '\n' ? i : i + 1, w;

			if (e > start && out[e - 1] == '\r')
				e--;
			w = e - start;
			if (w > 998)
				ck_abort_msg("line of %zu octets at %zu", w, start);
			if (w > 78) {
				size_t k;
				int allowed = 0;

				for (k = 0; k < nok; k++)
					if (start >= ok_start[k] && e <= ok_end[k])
						allowed = 1;
				ck_assert_msg(allowed, "line of %zu columns at %zu: %.80s", w, start,
					      out + start);
			}
			if (w >= 5 && memcmp(out + start, "From ", 5) == 0)
				ck_abort_msg("line starts with From_ at %zu", start);
			start = i + 1;
		}
	}
}

static void check_with_mimeo(const model *m, const char *out, size_t len)
{
	mimeo_message *msg;
	const mimeo_part *root, *p;
	mimeo_address_list *al;
	size_t li = 0, hl;
	const char *raw;
	char *subj;

	ck_assert_int_eq(mimeo_message_parse_buffer(&msg, out, len, NULL), MIMEO_OK);
	ck_assert_uint_eq(mimeo_message_defect_count(msg), 0);
	root = mimeo_message_root(msg);
	subj = decoded_header(root, "Subject");
	ck_assert_ptr_nonnull(subj);
	ck_assert_str_eq(subj, m->subject);
	free(subj);
	raw = mimeo_part_get_header(root, "From", &hl);
	ck_assert_ptr_nonnull(raw);
	ck_assert_int_eq(mimeo_address_list_parse(&al, NULL, NULL, raw, hl), MIMEO_OK);
	ck_assert_uint_eq(al->count, 1);
	ck_assert_str_eq(al->items[0].display_name, m->from_name);
	ck_assert_str_eq(al->items[0].local_part, "sender");
	mimeo_address_list_free(al);
	ck_assert_ptr_nonnull(mimeo_part_get_header(root, "Message-ID", NULL));
	ck_assert_ptr_nonnull(mimeo_part_get_header(root, "Date", NULL));

	check_lines(msg, out, len, m->eight);

	for (p = root; p;) {
		if (mimeo_part_is_multipart(p)) {
			p = mimeo_part_next(p);
			continue;
		}
		if (m->n == 0) {
			/* no content: one empty text/plain */
			size_t bl;

			ck_assert(mimeo_part_is_leaf(p));
			test_part_body(p, &bl);
			ck_assert_uint_eq(bl, 0);
			li = 0;
			break;
		}
		ck_assert_uint_lt(li, m->n);
		{
			const exp_leaf *l = &m->leaf[li++];
			size_t bl;
			const void *body;

			ck_assert_str_eq(mimeo_part_type(p), l->type);
			ck_assert_str_eq(mimeo_part_subtype(p), l->subtype);
			if (l->kind == K_MESSAGE) {
				const mimeo_part *inner = mimeo_part_first_child(p), *leaf;
				char *is;

				ck_assert_ptr_nonnull(inner);
				is = decoded_header(inner, "Subject");
				ck_assert_str_eq(is, l->inner_subject);
				free(is);
				leaf = inner;
				while (leaf && !mimeo_part_is_leaf(leaf))
					leaf = mimeo_part_next(leaf);
				ck_assert_ptr_nonnull(leaf);
				body = test_part_body(leaf, &bl);
				ck_assert_uint_eq(bl, l->len);
				ck_assert(memcmp(body, l->data, bl) == 0);
				p = skip_subtree(p);
				continue;
			}
			body = test_part_body(p, &bl);
			ck_assert_msg(bl == l->len, "leaf %zu (%s/%s): %zu bytes, want %zu", li - 1,
				      l->type, l->subtype, bl, l->len);
			ck_assert_msg(bl == 0 || memcmp(body, l->data, bl) == 0, "leaf %zu differs",
				      li - 1);
			if (l->filename) {
				ck_assert_ptr_nonnull(mimeo_part_filename(p));
				ck_assert_str_eq(mimeo_part_filename(p), l->filename);
			}
			if (l->kind == K_INLINE)
				ck_assert_ptr_nonnull(mimeo_part_get_header(p, "Content-ID", NULL));
		}
		p = mimeo_part_next(p);
	}
	if (m->n)
		ck_assert_uint_eq(li, m->n);
	mimeo_message_free(msg);
}

#ifdef MIMEO_TEST_GMIME
typedef struct gm_walk {
	const model *m;
	size_t li;
} gm_walk;

static void gm_check_object(gm_walk *w, GMimeObject *obj)
{
	if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (i = 0; i < n; i++)
			gm_check_object(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i));
		return;
	}
	if (w->m->n == 0)
		return;
	ck_assert_uint_lt(w->li, w->m->n);
	{
		const exp_leaf *l = &w->m->leaf[w->li++];
		GMimeContentType *ct = g_mime_object_get_content_type(obj);

		ck_assert_str_eq(g_mime_content_type_get_media_type(ct), l->type);
		ck_assert_str_eq(g_mime_content_type_get_media_subtype(ct), l->subtype);
		if (GMIME_IS_MESSAGE_PART(obj)) {
			GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

			ck_assert_ptr_nonnull(inner);
			ck_assert_str_eq(g_mime_message_get_subject(inner), l->inner_subject);
			return;
		}
		ck_assert(GMIME_IS_PART(obj));
		{
			GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(obj));
			GMimeStream *ms = g_mime_stream_mem_new();
			GByteArray *ba;

			ck_assert_ptr_nonnull(dw);
			g_mime_data_wrapper_write_to_stream(dw, ms);
			ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
			ck_assert_msg(ba->len == l->len, "gmime leaf %zu: %u bytes, want %zu",
				      w->li - 1, ba->len, l->len);
			ck_assert(l->len == 0 || memcmp(ba->data, l->data, l->len) == 0);
			g_object_unref(ms);
		}
		if (l->filename) {
			const char *fn = g_mime_part_get_filename(GMIME_PART(obj));

			ck_assert_ptr_nonnull(fn);
			ck_assert_str_eq(fn, l->filename);
		}
	}
}

static void check_with_gmime(const model *m, const char *out, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(out, len);
	GMimeParser *ps = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg = g_mime_parser_construct_message(ps, NULL);
	InternetAddressList *from;
	gm_walk w = { m, 0 };

	ck_assert_ptr_nonnull(msg);
	ck_assert_str_eq(g_mime_message_get_subject(msg), m->subject);
	from = g_mime_message_get_from(msg);
	ck_assert_int_eq(internet_address_list_length(from), 1);
	{
		/* GMime keeps the folds of a display name ("a\n b"); compare
		 * after RFC 5322 section 2.2.3 unfolding. */
		char *nm = g_strdup(internet_address_get_name(internet_address_list_get_address(from, 0)));
		char *r = nm, *wp = nm;

		for (; *r; r++)
			if (*r != '\r' && *r != '\n')
				*wp++ = *r;
		*wp = '\0';
		ck_assert_str_eq(nm, m->from_name);
		g_free(nm);
	}
	gm_check_object(&w, g_mime_message_get_mime_part(msg));
	if (m->n)
		ck_assert_uint_eq(w.li, m->n);
	g_object_unref(msg);
	g_object_unref(ps);
	g_object_unref(s);
}
#endif

START_TEST(random_messages_round_trip)
{
	uint64_t st = 0x9E3779B97F4A7C15ull + (uint64_t)_i * 7919;
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_builder *b;
	model m;

	b = random_message(&st, &m, (unsigned)_i);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_ptr_nonnull(out.ptr);
	check_with_mimeo(&m, out.ptr, out.size);
#ifdef MIMEO_TEST_GMIME
	check_with_gmime(&m, out.ptr, out.size);
#endif
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* focused tests                                                        */
/* ------------------------------------------------------------------ */

static mimeo_builder *simple_builder(unsigned flags)
{
	mimeo_builder_options o = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder *b;

	o.flags = flags;
	o.message_id_domain = "example.net";
	ck_assert_int_eq(mimeo_builder_new(&b, &o), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_FROM, "A", "a@example.net"),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_date(b, 1790000000, -300), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_message_id(b, "fixed@example.net"), MIMEO_OK);
	return b;
}

START_TEST(plain_ascii_text_is_7bit_single_part)
{
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;
	const char *t = "Hello.\nSecond line.\n";

	ck_assert_int_eq(mimeo_builder_set_text(b, t, strlen(t), MIMEO_CTE_NONE), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_subject(b, "Hi", 2), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_str_eq(out.ptr,
			 "Date: Mon, 21 Sep 2026 09:13:20 -0500\n"
			 "From: A <a@example.net>\n"
			 "Subject: Hi\n"
			 "Message-ID: <fixed@example.net>\n"
			 "MIME-Version: 1.0\n"
			 "Content-Type: text/plain; charset=utf-8\n"
			 "Content-Transfer-Encoding: 7bit\n"
			 "\n"
			 "Hello.\nSecond line.\n");
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(encoding_choice)
{
	static const struct {
		const char *text;
		unsigned flags;
		const char *cte;
	} cases[] = {
		{ "plain ascii\n", 0, "7bit" },
		{ "caf\xc3\xa9 is mostly ascii text here\n", 0, "quoted-printable" },
		{ "caf\xc3\xa9 is mostly ascii text here\n", MIMEO_BUILD_8BITMIME, "8bit" },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\n", 0, "base64" },
		{ "From here\n", 0, "quoted-printable" },
		{ "a\n--=_00_ABC\n", 0, "quoted-printable" },
		{ "a longer line with a bare\rCR in it\n", 0, "quoted-printable" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mimeo_builder *b = simple_builder(cases[i].flags);
		mimeo_buf out = MIMEO_BUF_INIT;
		char want[80];

		ck_assert_int_eq(mimeo_builder_set_text(b, cases[i].text, strlen(cases[i].text),
							MIMEO_CTE_NONE), MIMEO_OK);
		ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
		snprintf(want, sizeof(want), "\nContent-Transfer-Encoding: %s\n", cases[i].cte);
		ck_assert_msg(strstr(out.ptr, want), "case %zu: %s", i, out.ptr);
		mimeo_buf_dispose(&out);
		mimeo_builder_free(b);
	}
	{
		/* a 999-octet line cannot be 7bit (RFC 5322 2.1.1) */
		char line[1001];
		mimeo_builder *b = simple_builder(0);
		mimeo_buf out = MIMEO_BUF_INIT;

		memset(line, 'x', 999);
		line[999] = '\n';
		ck_assert_int_eq(mimeo_builder_set_text(b, line, 1000, MIMEO_CTE_NONE), MIMEO_OK);
		ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
		ck_assert_ptr_nonnull(strstr(out.ptr, "Transfer-Encoding: quoted-printable\n"));
		mimeo_buf_dispose(&out);
		mimeo_builder_free(b);
		b = simple_builder(0);
		ck_assert_int_eq(mimeo_builder_set_text(b, line + 1, 999, MIMEO_CTE_NONE), MIMEO_OK);
		ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
		ck_assert_ptr_nonnull(strstr(out.ptr, "Transfer-Encoding: 7bit\n"));
		mimeo_buf_dispose(&out);
		mimeo_builder_free(b);
	}
}
END_TEST

/* Replace the random part of our boundaries so outputs can be compared. */
static void mask_boundaries(char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 29 <= len; i++)
		if (s[i] == '=' && s[i + 1] == '_' && s[i + 4] == '_')
			memset(s + i + 5, 'X', 24);
}

START_TEST(stream_splits_give_identical_output)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000, 4096, 65536, 1000000 };
	unsigned char *data;
	char *first = NULL;
	size_t first_len = 0, i, n = 70001;
	uint64_t st = 42;

	data = malloc(n);
	test_rand_bytes(&st, data, n);
	for (i = 0; i < n; i += 97)
		data[i] = '\n';
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		int text;

		for (text = 0; text < 2; text++) {
			mimeo_builder *b = simple_builder(i & 1 ? MIMEO_BUILD_CRLF : 0);
			mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
			mimeo_buf out = MIMEO_BUF_INIT;
			stream_src s = { data, n, 0, chunks[i], 7 };

			sp.content_type = text ? "text/plain" : "application/octet-stream";
			sp.filename = "data.bin";
			ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, &sp, stream_read, &s),
					 MIMEO_OK);
			ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
			/* a stream can be read once: a second write is refused */
			ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_EINVAL);
			mask_boundaries(out.ptr, out.size);
			/* every LF run (even i) must give the bytes of chunk size 1 */
			if (i == 0 && !text) {
				first = mimeo_buf_detach(&out);
				first_len = strlen(first);
			} else if (!(i & 1) && !text) {
				ck_assert_uint_eq(out.size, first_len);
				ck_assert(memcmp(out.ptr, first, first_len) == 0);
			}
			{
				mimeo_message *m;
				const mimeo_part *p;
				const void *body;
				size_t bl;

				if (!out.ptr)
					mimeo_buf_put(&out, first, first_len);
				ck_assert_int_eq(mimeo_message_parse_buffer(&m, out.ptr, out.size, NULL),
						 MIMEO_OK);
				p = mimeo_message_find_section(m, "1");
				ck_assert_ptr_nonnull(p);
				body = test_part_body(p, &bl);
				ck_assert_uint_eq(bl, n);
				ck_assert(memcmp(body, data, n) == 0);
				mimeo_message_free(m);
			}
			mimeo_buf_dispose(&out);
			mimeo_builder_free(b);
		}
	}
	free(first);
	free(data);
}
END_TEST

START_TEST(repeated_writes_are_identical)
{
	mimeo_builder *b = simple_builder(MIMEO_BUILD_CRLF);
	mimeo_buf a = MIMEO_BUF_INIT, c = MIMEO_BUF_INIT;
	mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;

	ck_assert_int_eq(mimeo_builder_set_message_id(b, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_text(b, "x\n", 2, MIMEO_CTE_NONE), MIMEO_OK);
	sp.filename = "f";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "abc", 3), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &a), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &c), MIMEO_OK);
	ck_assert_uint_eq(a.size, c.size);
	ck_assert(memcmp(a.ptr, c.ptr, a.size) == 0);
	ck_assert_ptr_nonnull(strstr(a.ptr, "@example.net>\r\n"));
	ck_assert_uint_eq(strlen(mimeo_builder_message_id(b)), 26 + 1 + strlen("example.net"));
	mimeo_buf_dispose(&a);
	mimeo_buf_dispose(&c);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(forced_7bit_content_never_contains_the_boundary)
{
	/* Text forced to 7bit that contains delimiter-like lines: whatever the
	 * boundaries are, the parse must give the text back. */
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
	const char *t = "--=_00_AAAAAAAAAAAAAAAAAAAAAAAA\n--=_01_\n--\n";
	mimeo_message *m;
	const mimeo_part *p;
	size_t bl;
	const void *body;

	ck_assert_int_eq(mimeo_builder_set_text(b, t, strlen(t), MIMEO_CTE_7BIT), MIMEO_OK);
	sp.content_type = "text/plain";
	sp.encoding = MIMEO_CTE_7BIT;
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, t, strlen(t)), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, out.ptr, out.size, NULL), MIMEO_OK);
	p = mimeo_message_find_section(m, "1");
	body = test_part_body(p, &bl);
	ck_assert_uint_eq(bl, strlen(t));
	ck_assert(memcmp(body, t, bl) == 0);
	p = mimeo_message_find_section(m, "2");
	body = test_part_body(p, &bl);
	ck_assert_uint_eq(bl, strlen(t));
	mimeo_message_free(m);
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
	/* a forced identity encoding cannot be promised for a stream */
	b = simple_builder(0);
	ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, &sp, stream_read, NULL),
			 MIMEO_EINVAL);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(invalid_arguments)
{
	mimeo_builder_options bad = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder *b;
	mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
	mimeo_buf out = MIMEO_BUF_INIT;

	bad.version = 99;
	ck_assert_int_eq(mimeo_builder_new(&b, &bad), MIMEO_EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(mimeo_builder_new(&b, NULL), MIMEO_OK);
	/* no From yet */
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_TO, NULL, "no-at-sign"),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_TO, NULL, "a b@c"), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_TO, NULL, "<a@c>"), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_address(b, (mimeo_builder_field)9, NULL, "a@c"),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "Content-Type", "x", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "subject", "x", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "-X", "x", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "X Y", "x", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "X-Raw", "a\nb", MIMEO_HEADER_RAW),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "X-Raw", "caf\xc3\xa9", MIMEO_HEADER_RAW),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "X-Raw", "a\n b", MIMEO_HEADER_RAW), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_message_id(b, "no-at"), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_set_message_id(b, "<a@b>"), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_set_date(b, 0, 1440), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_set_text(b, "x", 1, MIMEO_CTE_UUENCODE), MIMEO_EINVAL);
	sp.content_type = "multipart/mixed";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	sp.content_type = "message/rfc822";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	sp.content_type = "image";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	sp.content_type = "image/png\r\nX-Injected: 1";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	sp.content_type = "image/png";
	ck_assert_int_eq(mimeo_builder_add_inline(b, &sp, "x", 1), MIMEO_EINVAL); /* no cid */
	sp.content_id = "a b";
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	sp.content_id = NULL;
	sp.version = 7;
	ck_assert_int_eq(mimeo_builder_add_attachment(b, &sp, "x", 1), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_attachment_file(b, NULL, "/nonexistent/file"),
			 MIMEO_EIO);
	ck_assert_int_eq(mimeo_builder_add_attachment_file(b, NULL, "/tmp"), MIMEO_EIO);
	ck_assert_ptr_null(mimeo_builder_recipient(b, MIMEO_FIELD_TO, 0));
	mimeo_builder_free(b);
	mimeo_builder_free(NULL);
}
END_TEST

/* Sender, In-Reply-To and References setters (issue 14): written in place,
 * folded, and read back by the query API as the ids and mailbox given. */
START_TEST(reply_fields_and_sender)
{
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;
	const char *parent[] = { "parent@example.org" };
	const char *thread[] = { "root-0000000000000000000000@example.org",
				 "child-111111111111111111111@example.org",
				 "parent@example.org" };
	const char *bad[] = { "ok@x", "no brackets <allowed>@x" };
	mimeo_message *m;
	mimeo_id_list *ids;
	mimeo_address_list *al;
	const char *line;

	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_SENDER, "List", "list@example.org"),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_SENDER, NULL, "two@example.org"),
			 MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_set_in_reply_to(b, parent, 1), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_references(b, thread, 3), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_references(b, bad, 2), MIMEO_EINVAL); /* unchanged */
	ck_assert_int_eq(mimeo_builder_set_in_reply_to(b, NULL, 1), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "References", "<x@y>", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "In-Reply-To", "<x@y>", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_header(b, "Sender", "x@y", 0), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_set_text(b, "hi\n", 3, MIMEO_CTE_NONE), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_ptr_nonnull(strstr(out.ptr, "From: A <a@example.net>\nSender: List <list@example.org>\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "\nIn-Reply-To: <parent@example.org>\n"));
	/* every line of References within 78 columns: the thread is folded */
	line = strstr(out.ptr, "\nReferences:");
	ck_assert_ptr_nonnull(line);
	for (line++; *line; ) {
		const char *nl = strchr(line, '\n');

		ck_assert_uint_le((size_t)(nl - line), 78);
		line = nl + 1;
		if (*line != ' ')
			break;
	}
	ck_assert_int_eq(mimeo_message_parse_buffer(&m, out.ptr, out.size, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_part_ids(&ids, mimeo_message_root(m), "References"), MIMEO_OK);
	ck_assert_uint_eq(ids->count, 3);
	ck_assert_str_eq(ids->ids[0], thread[0]);
	ck_assert_str_eq(ids->ids[2], thread[2]);
	mimeo_id_list_free(ids);
	ck_assert_int_eq(mimeo_part_addresses(&al, mimeo_message_root(m), "Sender", NULL, NULL),
			 MIMEO_OK);
	ck_assert_uint_eq(al->count, 1);
	ck_assert_str_eq(al->items[0].display_name, "List");
	mimeo_address_list_free(al);
	mimeo_message_free(m);
	/* n = 0 removes the field */
	ck_assert_int_eq(mimeo_builder_set_references(b, NULL, 0), MIMEO_OK);
	mimeo_buf_clear(&out);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_ptr_null(strstr(out.ptr, "References:"));
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

/* Each refusal says why (issue 14: a bare EINVAL had ten causes). */
START_TEST(errors_carry_a_reason)
{
	mimeo_builder *b;
	mimeo_buf out = MIMEO_BUF_INIT;
	const char *why = NULL;

	ck_assert_int_eq(mimeo_builder_new(&b, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_error(b, &why), MIMEO_OK);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_error(b, &why), MIMEO_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "From"));
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_TO, NULL, "no at sign, spaces"),
			 MIMEO_EINVAL);
	mimeo_builder_error(b, &why);
	ck_assert_ptr_nonnull(strstr(why, "addr-spec"));
	ck_assert_int_eq(mimeo_builder_add_header(b, "Subject", "x", 0), MIMEO_EINVAL);
	mimeo_builder_error(b, &why);
	ck_assert_ptr_nonnull(strstr(why, "setter"));
	ck_assert_int_eq(mimeo_builder_set_date(b, 0, 5000), MIMEO_EINVAL);
	mimeo_builder_error(b, &why);
	ck_assert_ptr_nonnull(strstr(why, "zone"));
	/* a success leaves the last reason in place */
	ck_assert_int_eq(mimeo_builder_set_subject(b, "s", 1), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_error(b, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_error(NULL, &why), MIMEO_EINVAL);
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(bcc_is_kept_but_not_written)
{
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_BCC, "Secret", "s@example.org"),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_REPLY_TO, NULL, "r@example.org"),
			 MIMEO_OK);
	ck_assert_str_eq(mimeo_builder_recipient(b, MIMEO_FIELD_BCC, 0), "s@example.org");
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_ptr_null(strstr(out.ptr, "s@example.org"));
	ck_assert_ptr_nonnull(strstr(out.ptr, "\nReply-To: r@example.org\n"));
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

static int failing_writer(const void *data, size_t len, void *ctx)
{
	size_t *budget = ctx;

	(void)data;
	if (len > *budget)
		return MIMEO_EIO;
	*budget -= len;
	return 7; /* positive: becomes MIMEO_EUSER */
}

START_TEST(write_errors_propagate)
{
	mimeo_builder *b = simple_builder(0);
	size_t budget = 0;

	ck_assert_int_eq(mimeo_builder_set_text(b, "x", 1, MIMEO_CTE_NONE), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write(b, failing_writer, &budget), MIMEO_EIO);
	budget = 1 << 20;
	ck_assert_int_eq(mimeo_builder_write(b, failing_writer, &budget), MIMEO_EUSER);
	mimeo_builder_free(b);
}
END_TEST

static int failing_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	(void)ctx;
	(void)buf;
	(void)cap;
	*got = 0;
	return MIMEO_ETIMEOUT;
}

START_TEST(read_errors_propagate)
{
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;

	ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, NULL, failing_read, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_ETIMEOUT);
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

/* A callback that hands out one byte per call, counts its calls after it
 * reported the end, and fails at byte `fail_at` (0: never). */
typedef struct trickle {
	size_t left, fail_at, pos;
	unsigned after_end;
	int ended;
} trickle;

static int trickle_read(void *buf, size_t cap, size_t *got, void *ctx)
{
	trickle *t = ctx;

	*got = 0;
	if (t->ended) {
		t->after_end++;
		return MIMEO_OK;
	}
	if (t->fail_at && t->pos == t->fail_at)
		return MIMEO_ETIMEOUT;
	if (!t->left || !cap) {
		t->ended = !t->left;
		return MIMEO_OK;
	}
	((unsigned char *)buf)[0] = (unsigned char)('a' + t->pos % 26);
	t->pos++;
	t->left--;
	*got = 1;
	return MIMEO_OK;
}

static int counting_writer(const void *data, size_t len, void *ctx)
{
	size_t *calls_bytes = ctx;

	(void)data;
	calls_bytes[0]++;
	calls_bytes[1] += len;
	return MIMEO_OK;
}

START_TEST(stream_short_reads_are_gathered)
{
	/* One-byte reads must neither reach the writer as small writes nor
	 * call the callback again once it reported the end. */
	mimeo_builder *b = simple_builder(MIMEO_BUILD_CRLF);
	trickle t = { 300000, 0, 0, 0, 0 };
	size_t cb[2] = { 0, 0 };

	ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, NULL, trickle_read, &t), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write(b, counting_writer, cb), MIMEO_OK);
	ck_assert(t.ended);
	ck_assert_uint_eq(t.after_end, 0);
	ck_assert_uint_gt(cb[1], 400000);
	/* 400 kB of base64 in writes of at least 8 KiB each on average */
	ck_assert_uint_le(cb[0], cb[1] / 8192 + 2);
	mimeo_builder_free(b);
	/* an error after some bytes of a slice stops the writer */
	b = simple_builder(0);
	t = (trickle){ 300000, 20000, 0, 0, 0 };
	ck_assert_int_eq(mimeo_builder_add_attachment_stream(b, NULL, trickle_read, &t), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write(b, counting_writer, cb), MIMEO_ETIMEOUT);
	ck_assert_uint_eq(t.pos, 20000);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(attached_8bit_message_is_made_7bit)
{
	mimeo_builder *b = simple_builder(0);
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t i;

	ck_assert_int_eq(mimeo_builder_add_message(b, small_msg, strlen(small_msg), "fwd.eml", 0),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	for (i = 0; i < out.size; i++)
		ck_assert((unsigned char)out.ptr[i] < 128);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Content-Type: message/rfc822\n"
					      "Content-Transfer-Encoding: 7bit\n"));
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
	/* with 8BITMIME it goes as it is, labelled 8bit */
	b = simple_builder(MIMEO_BUILD_8BITMIME);
	ck_assert_int_eq(mimeo_builder_add_message(b, small_msg, strlen(small_msg), NULL,
						   MIMEO_BUILDER_PART_BORROW), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_OK);
	ck_assert_ptr_nonnull(strstr(out.ptr, "Content-Transfer-Encoding: 8bit\n\n"));
	ck_assert_ptr_nonnull(strstr(out.ptr, small_msg));
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

/* Write `len` bytes to a new temporary file; its path goes to `path`. */
static void temp_file(char *path, size_t cap, const char *tag, const void *data, size_t len)
{
	FILE *f;

	snprintf(path, cap, "/tmp/mimeo-tb-%d-%s", (int)getpid(), tag);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Records the largest block asked for (ctx: size_t): a message held in
 * memory whole needs a block at least as large as the message. */
static void *big_malloc(size_t n, void *ctx)
{
	if (n > *(size_t *)ctx)
		*(size_t *)ctx = n;
	return malloc(n);
}

static void *big_realloc(void *p, size_t n, void *ctx)
{
	if (n > *(size_t *)ctx)
		*(size_t *)ctx = n;
	return realloc(p, n);
}

static void big_free(void *p, void *ctx)
{
	(void)ctx;
	free(p);
}

/* A message with `n` body lines, LF and CRLF breaks mixed, and a CRLF
 * split across the builder's 12,312-byte slices; `high`: 8-bit bytes. */
static char *message_text(size_t n, int high, size_t *len)
{
	mimeo_buf m = MIMEO_BUF_INIT;
	size_t i;

	mimeo_buf_puts(&m, "From: Fwd <f@example.org>\nSubject: forwarded\n"
			   "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	for (i = 0; i < n; i++) {
		if (m.size >= 12000 && m.size < 12311) {
			/* a CRLF at bytes 12311-12312, the first slice's end */
			while (m.size < 12311)
				mimeo_buf_puts(&m, "x");
			mimeo_buf_puts(&m, "\r\n");
		}
		mimeo_buf_puts(&m, high && i % 7 == 0 ? "line caf\xc3\xa9" : "line text");
		mimeo_buf_puts(&m, i % 3 ? "\n" : "\r\n");
	}
	*len = m.size;
	return mimeo_buf_detach(&m);
}

/* The same message attached from memory and from a file: same output. */
static void same_as_memory(unsigned flags, const char *msg, size_t len, const char *tag,
			   const char *want_cte)
{
	mimeo_builder *a = simple_builder(flags), *b = simple_builder(flags);
	mimeo_buf oa = MIMEO_BUF_INIT, ob = MIMEO_BUF_INIT, oc = MIMEO_BUF_INIT;
	char path[256];

	temp_file(path, sizeof(path), tag, msg, len);
	ck_assert_int_eq(mimeo_builder_add_message(a, msg, len, "fwd.eml", 0), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_message_file(b, path, "fwd.eml"), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(a, &oa), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &ob), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &oc), MIMEO_OK); /* read again */
	unlink(path);
	mask_boundaries(oa.ptr, oa.size);
	mask_boundaries(ob.ptr, ob.size);
	mask_boundaries(oc.ptr, oc.size);
	ck_assert_msg(oa.size == ob.size && memcmp(oa.ptr, ob.ptr, oa.size) == 0,
		      "%s: file and memory differ", tag);
	ck_assert(oc.size == ob.size && memcmp(oc.ptr, ob.ptr, ob.size) == 0);
	ck_assert_msg(strstr(ob.ptr, want_cte), "%s: no %s", tag, want_cte);
	mimeo_buf_dispose(&oa);
	mimeo_buf_dispose(&ob);
	mimeo_buf_dispose(&oc);
	mimeo_builder_free(a);
	mimeo_builder_free(b);
}

START_TEST(message_file_same_as_memory)
{
	size_t len, hlen;
	char *msg = message_text(5000, 0, &len);
	char *hi = message_text(3000, 1, &hlen), *lone;

	same_as_memory(0, msg, len, "lf", "Content-Transfer-Encoding: 7bit\n");
	same_as_memory(MIMEO_BUILD_CRLF, msg, len, "crlf", "Content-Transfer-Encoding: 7bit\r\n");
	/* 8-bit: rewritten by to7bit without 8BITMIME, sent as it is with */
	same_as_memory(0, hi, hlen, "8bit", "Content-Transfer-Encoding: 7bit\n");
	same_as_memory(MIMEO_BUILD_8BITMIME | MIMEO_BUILD_CRLF, hi, hlen, "8bitmime",
		       "Content-Transfer-Encoding: 8bit\r\n");
	/* a lone CR and a message ending in CR are kept, as from memory */
	lone = strdup("Subject: cr\n\na\rb\nend\r");
	same_as_memory(0, lone, strlen(lone), "lone-cr", "Content-Transfer-Encoding: ");
	free(lone);
	free(msg);
	free(hi);
}
END_TEST

START_TEST(message_file_is_not_held_in_memory)
{
	size_t largest = 0, len, written[2] = { 0, 0 };
	mimeo_allocator big = { big_malloc, big_realloc, big_free, &largest };
	mimeo_builder_options o = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder *b;
	char *msg = message_text(300000, 0, &len), path[256];

	o.alloc = &big;
	temp_file(path, sizeof(path), "big", msg, len);
	ck_assert_int_eq(mimeo_builder_new(&b, &o), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_address(b, MIMEO_FIELD_FROM, NULL, "a@example.org"),
			 MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_add_message_file(b, path, NULL), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write(b, counting_writer, written), MIMEO_OK);
	ck_assert_uint_gt(written[1], len / 10 * 9); /* CRLFs become LFs */
	ck_assert_msg(largest < 64 * 1024, "a %zu-byte block for a %zu-byte message", largest, len);
	mimeo_builder_free(b);
	unlink(path);
	free(msg);
}
END_TEST

START_TEST(message_file_errors)
{
	char path[256];
	mimeo_buf out = MIMEO_BUF_INIT;
	mimeo_builder *b = simple_builder(0);

	ck_assert_int_eq(mimeo_builder_add_message_file(b, "/nonexistent/m.eml", NULL), MIMEO_EIO);
	ck_assert_int_eq(mimeo_builder_add_message_file(b, "/tmp", NULL), MIMEO_EIO);
	ck_assert_int_eq(mimeo_builder_add_message_file(b, NULL, NULL), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_builder_add_message_file(NULL, "/tmp", NULL), MIMEO_EINVAL);
	/* removed after it was added: the write fails with MIMEO_EIO */
	temp_file(path, sizeof(path), "gone", "Subject: x\n\ny\n", 14);
	ck_assert_int_eq(mimeo_builder_add_message_file(b, path, NULL), MIMEO_OK);
	unlink(path);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &out), MIMEO_EIO);
	mimeo_buf_dispose(&out);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(write_file_matches_write_buf)
{
	/* mimeo_builder_write_file uses larger blocks: same bytes */
	size_t n = 1000003, got;
	unsigned char *data = malloc(n);
	uint64_t st = 7;
	FILE *f = tmpfile();
	char *back;
	mimeo_buf a = MIMEO_BUF_INIT;
	mimeo_builder *b = simple_builder(0);

	ck_assert_ptr_nonnull(f);
	test_rand_bytes(&st, data, n);
	ck_assert_int_eq(mimeo_builder_add_attachment(b, NULL, data, n), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_buf(b, &a), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_file(b, f), MIMEO_OK);
	back = malloc(a.size + 1);
	rewind(f);
	got = fread(back, 1, a.size + 1, f);
	ck_assert_uint_eq(got, a.size);
	ck_assert(memcmp(back, a.ptr, a.size) == 0);
	fclose(f);
	free(back);
	free(data);
	mimeo_buf_dispose(&a);
	mimeo_builder_free(b);
}
END_TEST

START_TEST(write_file_and_crlf)
{
	mimeo_builder *b = simple_builder(MIMEO_BUILD_CRLF);
	FILE *f = tmpfile();
	char buf[4096];
	size_t n, i;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(mimeo_builder_set_text(b, "a\nb\r\nc", 6, MIMEO_CTE_NONE), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_set_html(b, "<p>\n", 4, MIMEO_CTE_NONE), MIMEO_OK);
	ck_assert_int_eq(mimeo_builder_write_file(b, f), MIMEO_OK);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			ck_assert(i > 0 && buf[i - 1] == '\r');
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\na\r\nb\r\nc\r\n--=_"));
	ck_assert_ptr_nonnull(strstr(buf, "multipart/alternative"));
	mimeo_builder_free(b);
}
END_TEST

/* Everything the builder does, under an allocator that fails the n-th
 * allocation, for every n: an error, never a crash or a leak. */
static int build_everything(const mimeo_allocator *a, mimeo_buf *out)
{
	mimeo_builder_options o = MIMEO_BUILDER_OPTIONS_INIT;
	mimeo_builder_part sp = MIMEO_BUILDER_PART_INIT;
	mimeo_builder *b;
	char path[256];
	int r;

	o.alloc = a;
	o.message_id_domain = "example.org";
	r = mimeo_builder_new(&b, &o);
	if (r)
		return r;
	/* an 8-bit message file is loaded and rewritten at the write */
	temp_file(path, sizeof(path), "everything", small_msg, strlen(small_msg));
	sp.content_type = "image/png";
	sp.content_id = "c1@x";
	sp.filename = "Bild \xc3\xbc.png";
	sp.description = "a \xc3\xa9 picture";
	if (!(r = mimeo_builder_add_address(b, MIMEO_FIELD_FROM, "J\xc3\xb6rg", "j@example.org")) &&
	    !(r = mimeo_builder_add_address(b, MIMEO_FIELD_TO, "To, Someone", "t@example.org")) &&
	    !(r = mimeo_builder_set_subject(b, "Gr\xc3\xbc\xc3\x9f" "e", 7)) &&
	    !(r = mimeo_builder_add_header(b, "X-Test", "v\xc3\xa4lue", 0)) &&
	    !(r = mimeo_builder_set_text(b, "caf\xc3\xa9\n", 6, MIMEO_CTE_NONE)) &&
	    !(r = mimeo_builder_set_html(b, "<b>x</b>", 8, MIMEO_CTE_NONE)) &&
	    !(r = mimeo_builder_add_inline(b, &sp, "\x89PNG", 4)) &&
	    !(r = mimeo_builder_add_attachment(b, NULL, "data", 4)) &&
	    !(r = mimeo_builder_add_message(b, small_msg, strlen(small_msg), "m.eml", 0)) &&
	    !(r = mimeo_builder_add_message_file(b, path, NULL)))
		r = mimeo_builder_write_buf(b, out);
	mimeo_builder_free(b);
	unlink(path);
	return r;
}

START_TEST(failing_allocator_sweep)
{
	unsigned long n;
	mimeo_buf ref = MIMEO_BUF_INIT;

	ck_assert_int_eq(build_everything(NULL, &ref), MIMEO_OK);
	for (n = 1;; n++) {
		test_failing_alloc fa;
		mimeo_buf out = MIMEO_BUF_INIT;
		int r;

		test_failing_alloc_init(&fa, n);
		out.alloc = NULL;
		r = build_everything(&fa.alloc, &out);
		mimeo_buf_dispose(&out);
		ck_assert_msg(fa.live == 0, "leak of %ld blocks when allocation %lu fails", fa.live, n);
		if (!fa.failed) {
			ck_assert_int_eq(r, MIMEO_OK);
			break;
		}
		ck_assert_msg(r == MIMEO_ENOMEM, "allocation %lu failed: got %d", n, r);
		ck_assert_uint_lt(n, 100000);
	}
	mimeo_buf_dispose(&ref);
}
END_TEST

static Suite *builder_suite(void)
{
	Suite *s = suite_create("builder");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, plain_ascii_text_is_7bit_single_part);
	tcase_add_test(tc, reply_fields_and_sender);
	tcase_add_test(tc, errors_carry_a_reason);
	tcase_add_test(tc, encoding_choice);
	tcase_add_test(tc, stream_splits_give_identical_output);
	tcase_add_test(tc, repeated_writes_are_identical);
	tcase_add_test(tc, forced_7bit_content_never_contains_the_boundary);
	tcase_add_test(tc, invalid_arguments);
	tcase_add_test(tc, bcc_is_kept_but_not_written);
	tcase_add_test(tc, write_errors_propagate);
	tcase_add_test(tc, read_errors_propagate);
	tcase_add_test(tc, stream_short_reads_are_gathered);
	tcase_add_test(tc, attached_8bit_message_is_made_7bit);
	tcase_add_test(tc, write_file_and_crlf);
	tcase_add_test(tc, write_file_matches_write_buf);
	tcase_add_test(tc, message_file_same_as_memory);
	tcase_add_test(tc, message_file_is_not_held_in_memory);
	tcase_add_test(tc, message_file_errors);
	tcase_add_test(tc, failing_allocator_sweep);
	tcase_add_loop_test(tc, random_messages_round_trip, 0, 48);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
#ifdef MIMEO_TEST_GMIME
	g_mime_init();
#endif
	return test_run_suite(builder_suite());
}
