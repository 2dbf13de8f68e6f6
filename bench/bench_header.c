/*
 * bench_header.c - header decoding throughput, mimeo against GMime in the
 * same run: a realistic header block per message (Subject with encoded
 * words in the charsets real mail uses, From/To/Cc lists with encoded,
 * quoted and plain display names).
 *
 *   meson test -C build --benchmark --suite header -v
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_GMIME
#include <gmime/gmime.h>
#endif

#include "charset-priv.h"   /* mimeo__utf8_valid_prefix_isa */
#include "mimeo.h"
#include "testutil.h"

#define NMSG 2000

struct block {
	char *field[4];   /* Subject, From, To, Cc: raw values, folded */
	size_t len[4];
};

static struct block blocks[NMSG];
static size_t total_bytes;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sample subjects (UTF-8) and the charset a mailer would send them in. */
static const struct { const char *charset, *utf8; } subjects[] = {
	{ "utf-8", "Re: Besprechung am Montag \xc3\xbc" "ber das Budget 2026" },
	{ "utf-8", "\xf0\x9f\x8e\x89 Einladung zur Weihnachtsfeier \xe2\x80\x93 bitte antworten" },
	{ "utf-8", "Fwd: Rechnung Nr. 12345 f\xc3\xbcr Ihre Bestellung" },
	{ "utf-8", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d" },
	{ "iso-8859-1", "R\xc3\xa9union de l'\xc3\xa9quipe \xc3\xa0 14h \xe2\x80\x94 ordre du jour" },
	{ "windows-1252", "\xe2\x80\x9cQuarterly\xe2\x80\x9d results \xe2\x80\x93 draft \xe2\x82\xac figures" },
	{ "koi8-r", "\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82 \xd0\xb7\xd0\xb0 \xd0\xbc\xd0\xb5\xd1\x81\xd1\x8f\xd1\x86" },
	{ "gb2312", "\xe4\xbc\x9a\xe8\xae\xae\xe9\x80\x9a\xe7\x9f\xa5" },
	{ "iso-2022-jp", "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b" },
	{ "shift_jis", "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x81\xae\xe4\xbb\xb6" },
	{ "utf-8", "[dev-list] Re: patch v3 for the parser" },
};

static const struct { const char *charset, *utf8; } names[] = {
	{ "utf-8", "Jos\xc3\xa9 Garc\xc3\xad" "a" },
	{ "iso-8859-1", "Fran\xc3\xa7ois M\xc3\xbcller" },
	{ "koi8-r", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd \xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2" },
	{ "utf-8", "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e" },
	{ NULL, "Doe, John" },
	{ NULL, "Alice Example" },
	{ NULL, NULL },
};

static void append(char **p, size_t *len, size_t *cap, const char *s, size_t n)
{
	while (*len + n + 1 > *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*p = realloc(*p, *cap);
		if (!*p)
			abort();
	}
	memcpy(*p + *len, s, n);
	*len += n;
	(*p)[*len] = '\0';
}

/* RFC 2047 encode `utf8` in `charset` (converted with iconv at setup). */
static void encode_word(char **p, size_t *len, size_t *cap, const char *charset,
			const char *utf8, int use_b)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char raw[512], tmp[1024], *ip = (char *)(uintptr_t)utf8, *op = raw;
	size_t il = strlen(utf8), ol = sizeof(raw), n, i, k = 0;
	iconv_t cd = iconv_open(!strcmp(charset, "iso-8859-1") ? "CP1252" : charset, "UTF-8");

	if (cd == (iconv_t)-1)
		abort();
	iconv(cd, &ip, &il, &op, &ol);
	iconv(cd, NULL, NULL, &op, &ol);
	iconv_close(cd);
	n = (size_t)(op - raw);
	k = (size_t)snprintf(tmp, sizeof(tmp), "=?%s?%c?", charset, use_b ? 'B' : 'Q');
	for (i = 0; use_b && i < n; i += 3) {
		unsigned v = (unsigned char)raw[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)raw[i + 2];
		tmp[k++] = b64[v >> 18];
		tmp[k++] = b64[(v >> 12) & 63];
		tmp[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		tmp[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	for (i = 0; !use_b && i < n; i++) {
		unsigned char c = (unsigned char)raw[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			tmp[k++] = (char)c;
		else if (c == ' ')
			tmp[k++] = '_';
		else
			k += (size_t)snprintf(tmp + k, 4, "=%02X", c);
	}
	tmp[k++] = '?';
	tmp[k++] = '=';
	append(p, len, cap, tmp, k);
}

static void make_list(struct block *b, int f, uint64_t *seed, size_t count)
{
	static const char *domains[] = { "example.com", "mail.example.org", "lists.example.net" };
	size_t cap = 0, i;

	b->field[f] = NULL;
	b->len[f] = 0;
	append(&b->field[f], &b->len[f], &cap, " ", 1);
	for (i = 0; i < count; i++) {
		size_t k = rnd(seed) % 7;
		char addr[96];
		int n;

		if (i) {
			append(&b->field[f], &b->len[f], &cap, ",\r\n ", 4);
		}
		if (names[k].charset) {
			encode_word(&b->field[f], &b->len[f], &cap, names[k].charset, names[k].utf8,
				    (int)(rnd(seed) & 1));
			append(&b->field[f], &b->len[f], &cap, " ", 1);
		} else if (names[k].utf8) {
			append(&b->field[f], &b->len[f], &cap, "\"", 1);
			append(&b->field[f], &b->len[f], &cap, names[k].utf8, strlen(names[k].utf8));
			append(&b->field[f], &b->len[f], &cap, "\" ", 2);
		}
		n = snprintf(addr, sizeof(addr), names[k].utf8 ? "<user%u@%s>" : "user%u@%s",
			     (unsigned)(rnd(seed) % 1000), domains[rnd(seed) % 3]);
		append(&b->field[f], &b->len[f], &cap, addr, (size_t)n);
	}
}

static void make_blocks(void)
{
	uint64_t seed = 0x1234567;
	size_t m, f;

	for (m = 0; m < NMSG; m++) {
		struct block *b = &blocks[m];
		size_t k = rnd(&seed) % (sizeof(subjects) / sizeof(subjects[0])), cap = 0;

		b->field[0] = NULL;
		b->len[0] = 0;
		append(&b->field[0], &b->len[0], &cap, " Re: ", 5);
		encode_word(&b->field[0], &b->len[0], &cap, subjects[k].charset, subjects[k].utf8,
			    !strcmp(subjects[k].charset, "utf-8") ? (int)(rnd(&seed) & 1) : 1);
		append(&b->field[0], &b->len[0], &cap, " [#", 3);
		append(&b->field[0], &b->len[0], &cap, "4711]", 5);
		make_list(b, 1, &seed, 1);
		make_list(b, 2, &seed, 1 + rnd(&seed) % 4);
		make_list(b, 3, &seed, rnd(&seed) % 6);
		for (f = 0; f < 4; f++)
			total_bytes += b->len[f];
	}
}

/* Header fields of the shared corpus (real messages): Subject, From, To,
 * Cc of every message's top header block, still folded. */
struct field {
	char *value;
	size_t len;
	int list;          /* address list (From/To/Cc) */
};

static struct field *corpus;
static size_t ncorpus, corpus_bytes;

static void corpus_add(const char *v, size_t n, int list)
{
	struct field *f;

	if (ncorpus % 1024 == 0) {
		corpus = realloc(corpus, (ncorpus + 1024) * sizeof(*corpus));
		if (!corpus)
			abort();
	}
	f = &corpus[ncorpus++];
	f->value = malloc(n + 1);
	if (!f->value)
		abort();
	memcpy(f->value, v, n);
	f->value[n] = '\0';
	/* GMime takes C strings: cut at a NUL for both sides. */
	f->len = strlen(f->value);
	f->list = list;
	corpus_bytes += f->len;
}

static void corpus_scan(const char *msg, size_t len)
{
	static const char *fnames[] = { "subject:", "from:", "to:", "cc:" };
	size_t i = 0;

	while (i < len && msg[i] != '\n' && msg[i] != '\r') {
		size_t e = i, k;

		/* A field: this line and its continuation lines. */
		for (;;) {
			while (e < len && msg[e] != '\n')
				e++;
			if (e + 1 < len && (msg[e + 1] == ' ' || msg[e + 1] == '\t')) {
				e++;
				continue;
			}
			break;
		}
		for (k = 0; k < 4; k++) {
			size_t n = strlen(fnames[k]);

			if (e - i > n && !strncasecmp(msg + i, fnames[k], n)) {
				size_t vlen = e - i - n;

				if (vlen && msg[i + n + vlen - 1] == '\r')
					vlen--;
				corpus_add(msg + i + n, vlen, k > 0);
			}
		}
		i = e + 1;
	}
}

static void load_corpus(void)
{
	const char *dir = test_shared_corpus();
	char path[16384], line[4096];
	FILE *idx;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/INDEX.tsv", dir);
	idx = fopen(path, "r");
	if (!idx)
		return;
	while (fgets(line, sizeof(line), idx)) {
		char *tab = strchr(line, '\t'), *msg;
		size_t len;

		if (!tab || !strncmp(line, "path\t", 5))
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		msg = test_read_file(path, &len);
		if (msg) {
			corpus_scan(msg, len);
			free(msg);
		}
	}
	fclose(idx);
}

typedef void (*run_fn)(void *ctx);

/* Best of 5 runs of `fn` over all blocks; returns seconds per pass. */
static double measure(run_fn fn, void *ctx)
{
	double best = 1e9;
	int r;

	fn(ctx);  /* warm up: converters opened, tables built, caches hot */
	for (r = 0; r < 5; r++) {
		double t0 = now(), t;
		int passes = 0;

		do {
			fn(ctx);
			passes++;
		} while ((t = now() - t0) < 0.2);
		if (t / passes < best)
			best = t / passes;
	}
	return best;
}

static size_t sink;

static void mimeo_text(void *ctx)
{
	mimeo_charset_cache *cc = ctx;
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t m, f;

	for (m = 0; m < NMSG; m++)
		for (f = 0; f < 4; f++) {
			mimeo_buf_clear(&out);
			if (mimeo_header_decode_text(cc, NULL, blocks[m].field[f], blocks[m].len[f],
						     &out, NULL))
				abort();
			sink += out.size;
		}
	mimeo_buf_dispose(&out);
}

static void mimeo_realistic(void *ctx)
{
	mimeo_charset_cache *cc = ctx;
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t m, f;

	for (m = 0; m < NMSG; m++) {
		mimeo_buf_clear(&out);
		if (mimeo_header_decode_text(cc, NULL, blocks[m].field[0], blocks[m].len[0], &out,
					     NULL))
			abort();
		sink += out.size;
		for (f = 1; f < 4; f++) {
			mimeo_address_list *l;

			if (mimeo_address_list_parse(&l, cc, NULL, blocks[m].field[f], blocks[m].len[f]))
				abort();
			sink += l->count;
			mimeo_address_list_free(l);
		}
	}
	mimeo_buf_dispose(&out);
}

static void mimeo_corpus(void *ctx)
{
	mimeo_charset_cache *cc = ctx;
	mimeo_buf out = MIMEO_BUF_INIT;
	size_t i;

	for (i = 0; i < ncorpus; i++) {
		mimeo_buf_clear(&out);
		if (corpus[i].list) {
			mimeo_address_list *l;

			if (mimeo_address_list_parse(&l, cc, NULL, corpus[i].value, corpus[i].len))
				abort();
			sink += l->count;
			mimeo_address_list_free(l);
		} else if (mimeo_header_decode_text(cc, NULL, corpus[i].value, corpus[i].len, &out,
						    NULL)) {
			abort();
		}
		sink += out.size;
	}
	mimeo_buf_dispose(&out);
}

#ifdef HAVE_GMIME
static void gmime_corpus(void *ctx)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < ncorpus; i++) {
		if (corpus[i].list) {
			InternetAddressList *l = internet_address_list_parse(NULL, corpus[i].value);

			if (l) {
				sink += (size_t)internet_address_list_length(l);
				g_object_unref(l);
			}
		} else {
			char *s = g_mime_utils_header_decode_text(NULL, corpus[i].value);

			sink += strlen(s);
			g_free(s);
		}
	}
}

static void gmime_text(void *ctx)
{
	size_t m, f;

	(void)ctx;
	for (m = 0; m < NMSG; m++)
		for (f = 0; f < 4; f++) {
			char *s = g_mime_utils_header_decode_text(NULL, blocks[m].field[f]);

			sink += strlen(s);
			g_free(s);
		}
}

static void gmime_realistic(void *ctx)
{
	size_t m, f;

	(void)ctx;
	for (m = 0; m < NMSG; m++) {
		char *s = g_mime_utils_header_decode_text(NULL, blocks[m].field[0]);

		sink += strlen(s);
		g_free(s);
		for (f = 1; f < 4; f++) {
			InternetAddressList *l = internet_address_list_parse(NULL, blocks[m].field[f]);

			if (l) {
				sink += (size_t)internet_address_list_length(l);
				g_object_unref(l);
			}
		}
	}
}
#endif

static void row_n(const char *name, double secs, double base, size_t bytes, size_t n,
		  const char *unit)
{
	printf("%-44s %9.1f MB/s %10.0f %s/s", name, (double)bytes / secs / 1e6, (double)n / secs,
	       unit);
	if (base > 0)
		printf("   %5.2fx GMime", base / secs);
	printf("\n");
}


/* Body conversion throughput: mimeo_charset_to_utf8 against glibc iconv
 * with one descriptor opened up front (iconv's best case; the gap is the
 * fast paths: ASCII/UTF-8 copy, single-byte tables). */
struct conv_case {
	const char *label, *iconv_name, *utf8;
	char *buf;
	size_t len;
};

static struct conv_case *cur_case;
static mimeo_charset_cache *conv_cc;

/* Both sides write into an output buffer kept across runs, as a scanner
 * converting body after body does. */
static mimeo_buf conv_out = MIMEO_BUF_INIT;

static void run_mimeo_conv(void *ctx)
{
	(void)ctx;
	mimeo_buf_clear(&conv_out);
	if (mimeo_charset_to_utf8(conv_cc, cur_case->label, strlen(cur_case->label), cur_case->buf,
				  cur_case->len, &conv_out, NULL))
		abort();
	sink += conv_out.size;
}

static void run_iconv_conv(void *ctx)
{
	iconv_t cd = *(iconv_t *)ctx;
	size_t cap = cur_case->len * 3 + 16, il = cur_case->len, ol = cap;
	char *ip = cur_case->buf, *op;

	mimeo_buf_clear(&conv_out);
	if (mimeo_buf_grow(&conv_out, cap))
		abort();
	op = conv_out.ptr;
	iconv(cd, NULL, NULL, NULL, NULL);
	while (il && iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
		ip++;   /* skip what it cannot read, as mimeo does */
		il--;
	}
	sink += (size_t)(op - conv_out.ptr);
}

static void conv_table(void)
{
	static struct conv_case cases[] = {
		{ "utf-8", "UTF-8", "The quick brown fox jumps over the lazy dog, caf\xc3\xa9 "
		  "na\xc3\xafve r\xc3\xa9sum\xc3\xa9. ", NULL, 0 },
		{ "utf-8", "UTF-8", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, "
		  "\xd0\xba\xd0\xb0\xd0\xba \xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0? ", NULL, 0 },
		{ "windows-1252", "CP1252", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln, "
		  "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x80\x93 \xe2\x82\xac 5. ", NULL, 0 },
		{ "koi8-r", "KOI8-R", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, "
		  "\xd0\xba\xd0\xb0\xd0\xba \xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0? ", NULL, 0 },
		{ "gbk", "GB18030", "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6 "
		  "mail 2026. ", NULL, 0 },
	};
	size_t k;

	printf("body conversion to UTF-8 (4 MB each)         mimeo MB/s   iconv MB/s   ratio\n");
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct conv_case *c = &cases[k];
		iconv_t enc = iconv_open(c->iconv_name, "UTF-8"), dec;
		size_t cap = 4u << 20, n = 0, ul = strlen(c->utf8);
		double mt = 1e9, it = 1e9, t;
		int r;

		c->buf = malloc(cap + 256);
		if (!c->buf || enc == (iconv_t)-1)
			abort();
		while (n < cap) {
			char *ip = (char *)(uintptr_t)c->utf8, *op = c->buf + n;
			size_t il = ul, ol = 256;

			iconv(enc, &ip, &il, &op, &ol);
			n = (size_t)(op - c->buf);
		}
		iconv_close(enc);
		c->len = n;
		cur_case = c;
		dec = iconv_open("UTF-8", c->iconv_name);
		for (r = 0; r < 3; r++) {
			t = measure(run_mimeo_conv, NULL);
			if (t < mt)
				mt = t;
			t = measure(run_iconv_conv, &dec);
			if (t < it)
				it = t;
		}
		iconv_close(dec);
		printf("%-14s %-30.30s %9.0f %12.0f %8.1fx\n", c->label, k == 0 ? "(mostly ASCII)" : "",
		       (double)n / mt / 1e6, (double)n / it / 1e6, it / mt);
		free(c->buf);
	}
	mimeo_buf_dispose(&conv_out);
}

/* UTF-8 validation (mimeo_utf8_valid_prefix, used for every UTF-8 header
 * and body): the scalar validator is the baseline, measured alternately
 * with the AVX2 one in the same run.  Short values stay below the SIMD
 * threshold on purpose (the row shows that costs nothing). */
struct valid_case {
	const unsigned char *buf;
	size_t len, piece;      /* validated `piece` bytes at a time */
	mimeo_isa isa;
};

static void run_validate(void *ctx)
{
	const struct valid_case *c = ctx;
	size_t i;

	for (i = 0; i + c->piece <= c->len; i += c->piece)
		sink += mimeo__utf8_valid_prefix_isa(c->buf + i, c->piece, c->isa);
}

static void validate_table(void)
{
	static const struct { const char *name, *text; size_t piece; } cases[] = {
		{ "ASCII", "The quick brown fox jumps over the lazy dog. ", 0 },
		{ "Latin (French)", "Caf\xc3\xa9 na\xc3\xafve, r\xc3\xa9sum\xc3\xa9 d\xc3\xa9j\xc3\xa0 "
		  "vu \xc3\xa0 l'h\xc3\xb4tel. ", 0 },
		{ "Cyrillic", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xba\xd0\xb0\xd0\xba "
		  "\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0? ", 0 },
		{ "CJK", "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6\xe6\x97\xa5\xe6\x9c\xac"
		  "\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d", 0 },
		{ "emoji + ASCII", "Party \xf0\x9f\x8e\x89 time \xf0\x9f\x98\x80 ok ", 0 },
		{ "Latin, 48-byte header values", "Caf\xc3\xa9 na\xc3\xafve, r\xc3\xa9sum\xc3\xa9 d\xc3\xa9j\xc3\xa0 "
		  "vu \xc3\xa0 l'h\xc3\xb4tel. ", 48 },
		{ "Latin, 256-byte header values", "Caf\xc3\xa9 na\xc3\xafve, r\xc3\xa9sum\xc3\xa9 d\xc3\xa9j\xc3\xa0 "
		  "vu \xc3\xa0 l'h\xc3\xb4tel. ", 256 },
	};
	size_t cap = 4u << 20, k;
	unsigned char *buf = malloc(cap);

	if (!buf)
		abort();
	printf("UTF-8 validation (4 MB)                scalar MB/s    %-6s MB/s   ratio\n",
	       mimeo_isa_name(mimeo_isa_available(MIMEO_ISA_AVX2) ? MIMEO_ISA_AVX2 :
			      MIMEO_ISA_SCALAR));
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t n = 0, tl = strlen(cases[k].text);
		struct valid_case sc, vc;
		double st = 1e9, vt = 1e9, t;
		int r;

		/* whole copies of the text (a piece may end inside a character,
		 * which the validator stops at, as for a cut header value) */
		while (n + tl <= cap) {
			memcpy(buf + n, cases[k].text, tl);
			n += tl;
		}
		sc.buf = vc.buf = buf;
		sc.len = vc.len = n;
		sc.piece = vc.piece = cases[k].piece ? cases[k].piece : n;
		sc.isa = MIMEO_ISA_SCALAR;
		vc.isa = MIMEO_ISA_AUTO;
		for (r = 0; r < 3; r++) {
			t = measure(run_validate, &sc);
			if (t < st)
				st = t;
			t = measure(run_validate, &vc);
			if (t < vt)
				vt = t;
		}
		printf("%-36s %12.0f %14.0f %8.2fx\n", cases[k].name, (double)n / st / 1e6,
		       (double)n / vt / 1e6, st / vt);
	}
	free(buf);
}

/* GMime and mimeo measured alternately, three rounds, best of each: the
 * machine is shared, so interleaving keeps the ratio honest. */
static void pair(const char *gname, run_fn g, const char *mname, run_fn m, void *ctx,
		 size_t bytes, size_t n, const char *unit)
{
	double gt = 1e9, mt = 1e9, t;
	int r;

	for (r = 0; r < 3; r++) {
#ifdef HAVE_GMIME
		t = measure(g, NULL);
		if (t < gt)
			gt = t;
#endif
		t = measure(m, ctx);
		if (t < mt)
			mt = t;
	}
#ifdef HAVE_GMIME
	row_n(gname, gt, 0, bytes, n, unit);
#else
	gt = 0;
	(void)gname;
	(void)g;
#endif
	row_n(mname, mt, gt, bytes, n, unit);
}

#ifndef HAVE_GMIME
#define gmime_text NULL
#define gmime_realistic NULL
#define gmime_corpus NULL
#endif

int main(void)
{
	mimeo_charset_cache *cc;

	make_blocks();
	if (mimeo_charset_cache_new(&cc, NULL))
		return 1;
#ifdef HAVE_GMIME
	g_mime_init();
#endif
	printf("header blocks: %d, %zu bytes (Subject, From, To, Cc; 11 charsets)\n", NMSG,
	       total_bytes);
	printf("%-44s %14s %17s\n", "workload", "throughput", "rate");
	pair("GMime decode_text, all four fields", gmime_text,
	     "mimeo decode_text, all four fields", mimeo_text, cc, total_bytes, NMSG, "blocks");
	pair("GMime decode_text, all four fields", gmime_text,
	     "mimeo decode_text, no cache (cc = NULL)", mimeo_text, NULL, total_bytes, NMSG,
	     "blocks");
	pair("GMime Subject text + address lists", gmime_realistic,
	     "mimeo Subject text + address lists", mimeo_realistic, cc, total_bytes, NMSG,
	     "blocks");
	load_corpus();
	if (ncorpus) {
		printf("shared corpus: %zu Subject/From/To/Cc fields, %zu bytes\n", ncorpus,
		       corpus_bytes);
		pair("GMime corpus fields (text + address lists)", gmime_corpus,
		     "mimeo corpus fields (text + address lists)", mimeo_corpus, cc, corpus_bytes,
		     ncorpus, "fields");
	} else {
		printf("shared corpus not found: corpus rows skipped\n");
	}
	conv_cc = cc;
	conv_table();
	validate_table();
	mimeo_charset_cache_free(cc);
	return sink == 0;
}
