/*
 * test_differential.c - mimeo's leaf structure against GMime 3's on every
 * message of the shared corpus (../shared/corpus), with a checked-in table
 * of the intended differences (tests/data/gmime-differences.tsv, explained
 * in docs/conformance.md).
 *
 * The leaf structure of a message is the list of its leaves (parts that
 * are neither multipart nor a parsed message/rfc822) in depth-first order,
 * each as "section type/subtype" (sections numbered as IMAP does, RFC 3501
 * 6.4.5).  For every corpus message (mbox files left out: each library
 * reads a different share of them) the test computes both lists:
 *  - equal: nothing to do, but a table entry for that file fails the test
 *    (the difference is gone: delete the entry);
 *  - different: the table must hold the file with exactly these two lists
 *    and a reason; a difference missing from the table, or different from
 *    the one recorded, fails the test.
 * So any change of mimeo's (or GMime's) structure on a corpus message shows
 * up here, and each difference that stays is one the project chose.
 *
 * MIMEO_DIFF_DUMP=FILE writes the table as it would be now (reasons kept
 * from the checked-in table, "NEW" for a new difference) so that an
 * intended change is a reviewed diff of the table;
 * scripts/conformance.py adds Python's email package as a third opinion.
 *
 * Skipped (exit 77) when the corpus or GMime is absent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimeo.h"

#ifdef HAVE_GMIME
#include <gmime/gmime.h>

/* A growing string. */
typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Append "section type/subtype" (lowercased, spaces and ';' escaped so the
 * list stays one TSV field), leaves separated by "; ". */
static void add_leaf(sbuf *b, const char *section, const char *type, const char *subtype)
{
	char t[300];
	size_t i;

	snprintf(t, sizeof(t), "%.100s/%.100s", type ? type : "", subtype ? subtype : "");
	for (i = 0; t[i]; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c >= 'A' && c <= 'Z')
			t[i] = (char)(c + 32);
		else if (c <= ' ' || c == ';' || c >= 127)
			t[i] = '?';
	}
	if (b->n)
		sb_puts(b, "; ");
	sb_puts(b, *section ? section : "-");
	sb_puts(b, " ");
	sb_puts(b, t);
}

static void mimeo_sig(const char *data, size_t len, sbuf *b)
{
	mimeo_message *m;
	const mimeo_part *p;

	ck_assert_int_eq(mimeo_message_parse_buffer(&m, data, len, NULL), MIMEO_OK);
	for (p = mimeo_message_root(m); p; p = mimeo_part_next(p))
		if (mimeo_part_is_leaf(p))
			add_leaf(b, mimeo_part_section(p), mimeo_part_type(p), mimeo_part_subtype(p));
	mimeo_message_free(m);
}

/* GMime's tree walked as ../shared/bench/gmime_scan.c does, numbered as
 * IMAP does: the children of a multipart at S are S.1, S.2 ...; the body
 * of a message at M is M.1 unless it is a multipart (whose children are
 * then M.1, M.2 ...); the top-level message is M = "". */
static void gmime_walk(GMimeObject *obj, const char *sec, sbuf *b, unsigned depth)
{
	char child[1024];

	if (depth > 400)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (i = 0; i < n; i++) {
			snprintf(child, sizeof(child), "%s%s%d", sec, *sec ? "." : "", i + 1);
			gmime_walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), child, b,
				   depth + 1);
		}
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeObject *body = msg ? g_mime_message_get_mime_part(msg) : NULL;

		if (body && GMIME_IS_MULTIPART(body)) {
			gmime_walk(body, sec, b, depth + 1);
		} else if (body) {
			snprintf(child, sizeof(child), "%s%s1", sec, *sec ? "." : "");
			gmime_walk(body, child, b, depth + 1);
		}
	} else if (GMIME_IS_PART(obj)) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);

		add_leaf(b, sec, ct ? g_mime_content_type_get_media_type(ct) : "text",
			 ct ? g_mime_content_type_get_media_subtype(ct) : "plain");
	}
}

static void gmime_sig(const char *data, size_t len, sbuf *b)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	GMimeObject *body = msg ? g_mime_message_get_mime_part(msg) : NULL;

	if (body)
		gmime_walk(body, GMIME_IS_MULTIPART(body) ? "" : "1", b, 0);
	if (msg)
		g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(s);
	if (!b->n)
		sb_puts(b, "(none)");
}

/* One row of the table: path reason gmime mimeo (tab-separated). */
typedef struct row {
	char *path, *reason, *gmime, *mimeo;
	int seen;
} row;

static row *load_table(const char *file, size_t *n)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, rcap = 0;
	row *v = NULL;
	ssize_t got;

	*n = 0;
	ck_assert_msg(f != NULL, "cannot read %s", file);
	while ((got = getline(&line, &cap, f)) > 0) {
		char *fld[4], *s = line;
		int k;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		for (k = 0; k < 4; k++) {
			fld[k] = s;
			s = strchr(s, '\t');
			if (!s && k < 3)
				break;
			if (s)
				*s++ = '\0';
		}
		ck_assert_msg(k == 4, "%s: malformed row '%s'", file, line);
		if (*n == rcap) {
			rcap = rcap ? rcap * 2 : 64;
			v = realloc(v, rcap * sizeof(*v));
			ck_assert_ptr_nonnull(v);
		}
		v[*n].path = strdup(fld[0]);
		v[*n].reason = strdup(fld[1]);
		v[*n].gmime = strdup(fld[2]);
		v[*n].mimeo = strdup(fld[3]);
		v[*n].seen = 0;
		(*n)++;
	}
	free(line);
	fclose(f);
	return v;
}

static row *find_row(row *v, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].path, path))
			return &v[i];
	return NULL;
}

START_TEST(leaf_structure_matches_gmime_or_table)
{
	const char *dir = test_shared_corpus();
	const char *dump_path = getenv("MIMEO_DIFF_DUMP");
	char file[4096], line[4096];
	size_t nrows, i, compared = 0, differ = 0, bad = 0;
	FILE *idx, *dump = NULL;
	row *rows;

	snprintf(file, sizeof(file), "%s/tests/data/gmime-differences.tsv", test_source_dir());
	rows = load_table(file, &nrows);
	snprintf(file, sizeof(file), "%s/INDEX.tsv", dir);
	idx = fopen(file, "r");
	ck_assert_msg(idx != NULL, "cannot read %s", file);
	if (dump_path) {
		dump = fopen(dump_path, "w");
		ck_assert_msg(dump != NULL, "cannot write %s", dump_path);
		fputs("# path\treason\tGMime 3 leaves\tmimeo leaves (docs/conformance.md)\n", dump);
	}
	g_mime_init();
	while (fgets(line, sizeof(line), idx)) {
		char *cat = line, *data;
		sbuf g = { NULL, 0, 0 }, x = { NULL, 0, 0 };
		size_t len;
		row *r;
		int k;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "path\t", 5) || !strchr(line, '\t'))
			continue;
		/* columns: path bytes sha256 category origin */
		for (k = 0; k < 3 && cat; k++) {
			cat = strchr(cat, '\t');
			if (cat)
				*cat++ = '\0';
		}
		if (!cat || !strncmp(cat, "mbox\t", 5))
			continue;
		snprintf(file, sizeof(file), "%.2000s/%.2000s", dir, line);
		data = test_read_file(file, &len);
		if (!data)
			continue;
		compared++;
		mimeo_sig(data, len, &x);
		gmime_sig(data, len, &g);
		if (!x.n)
			sb_puts(&x, "(none)");
		r = find_row(rows, nrows, line);
		if (r)
			r->seen = 1;
		if (!strcmp(g.p, x.p)) {
			if (r) {
				fprintf(stderr, "FIXED: %s now agrees with GMime: delete its row\n",
					line);
				bad++;
			}
		} else {
			differ++;
			if (!r) {
				fprintf(stderr, "NEW difference: %s\n  gmime: %s\n  mimeo: %s\n", line,
					g.p, x.p);
				bad++;
			} else if (strcmp(r->gmime, g.p) || strcmp(r->mimeo, x.p)) {
				fprintf(stderr, "CHANGED difference (%s): %s\n  table gmime: %s\n"
					"  now   gmime: %s\n  table mimeo: %s\n  now   mimeo: %s\n",
					r->reason, line, r->gmime, g.p, r->mimeo, x.p);
				bad++;
			}
			if (dump)
				fprintf(dump, "%s\t%s\t%s\t%s\n", line, r ? r->reason : "NEW", g.p,
					x.p);
		}
		free(g.p);
		free(x.p);
		free(data);
	}
	fclose(idx);
	for (i = 0; i < nrows; i++) {
		if (!rows[i].seen) {
			fprintf(stderr, "STALE row: %s is not in the corpus\n", rows[i].path);
			bad++;
		}
		free(rows[i].path);
		free(rows[i].reason);
		free(rows[i].gmime);
		free(rows[i].mimeo);
	}
	free(rows);
	if (dump)
		fclose(dump);
	g_mime_shutdown();
	fprintf(stderr, "test_differential: %zu messages, %zu differ from GMime (table: %zu rows), "
		"%zu problems\n", compared, differ, nrows, bad);
	ck_assert_uint_gt(compared, 100);
	ck_assert_msg(bad == 0, "%zu leaf-structure differences from GMime are not the ones in "
		      "tests/data/gmime-differences.tsv (see above)", bad);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!test_shared_corpus()) {
		fprintf(stderr, "test_differential: ../shared/corpus not present: skipped\n");
		return 77;
	}
	s = suite_create("differential");
	tc = tcase_create("gmime");
	tcase_add_test(tc, leaf_structure_matches_gmime_or_table);
	tcase_set_timeout(tc, 900);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}

#else

int main(void)
{
	fprintf(stderr, "test_differential: built without GMime 3 (libgmime-3.0-dev): skipped\n");
	return 77;
}

#endif
