/*
 * test_address.c - RFC 5322 address lists (mimeo/address.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mimeo.h"
#include "param_testlib.h"

#ifdef MIMEO_TEST_GMIME
#include <gmime/gmime.h>
#endif

static mimeo_address_list *parse(const char *v)
{
	mimeo_address_list *l = NULL;

	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, v, strlen(v)), MIMEO_OK);
	ck_assert_ptr_nonnull(l);
	return l;
}

#define STR_OR_NULL(got, want)                                                          \
	do {                                                                            \
		if (want)                                                               \
			ck_assert_msg((got) && strcmp((got), (want)) == 0,              \
				      "'%s' != '%s'", (got) ? (got) : "(null)", (want)); \
		else                                                                    \
			ck_assert_msg((got) == NULL, "'%s' should be NULL", (got));     \
	} while (0)

/* Check entry k: display name, local part, domain, group (NULL = absent). */
static void check(const mimeo_address_list *l, size_t k, const char *dn, const char *lp,
		  const char *dom, const char *grp)
{
	ck_assert_msg(k < l->count, "entry %zu missing (count %zu)", k, l->count);
	STR_OR_NULL(l->items[k].display_name, dn);
	STR_OR_NULL(l->items[k].local_part, lp);
	STR_OR_NULL(l->items[k].domain, dom);
	STR_OR_NULL(l->items[k].group, grp);
}

/* ---- RFC 5322 appendix A, verbatim ----------------------------------- */

START_TEST(rfc5322_a1_1)
{
	mimeo_address_list *l = parse("John Doe <jdoe@machine.example>");

	ck_assert_uint_eq(l->count, 1);
	check(l, 0, "John Doe", "jdoe", "machine.example", NULL);
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
	l = parse("Mary Smith <mary@example.net>");
	check(l, 0, "Mary Smith", "mary", "example.net", NULL);
	mimeo_address_list_free(l);
}
END_TEST

START_TEST(rfc5322_a1_2)
{
	mimeo_address_list *l = parse("\"Joe Q. Public\" <john.q.public@example.com>");

	check(l, 0, "Joe Q. Public", "john.q.public", "example.com", NULL);
	mimeo_address_list_free(l);
	l = parse("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>");
	ck_assert_uint_eq(l->count, 3);
	check(l, 0, "Mary Smith", "mary", "x.test", NULL);
	check(l, 1, NULL, "jdoe", "example.org", NULL);
	check(l, 2, "Who?", "one", "y.test", NULL);
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
	l = parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>");
	ck_assert_uint_eq(l->count, 2);
	check(l, 0, NULL, "boss", "nil.test", NULL);
	check(l, 1, "Giant; \"Big\" Box", "sysservices", "example.net", NULL);
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
}
END_TEST

START_TEST(rfc5322_a1_3_groups)
{
	mimeo_address_list *l =
		parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;");

	ck_assert_uint_eq(l->count, 3);
	check(l, 0, "Ed Jones", "c", "a.test", "A Group");
	check(l, 1, NULL, "joe", "where.test", "A Group");
	check(l, 2, "John", "jdoe", "one.test", "A Group");
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
	l = parse("Undisclosed recipients:;");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, NULL, NULL, NULL, "Undisclosed recipients");
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
}
END_TEST

START_TEST(rfc5322_a5_white_space_and_comments)
{
	mimeo_address_list *l = parse("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>");

	ck_assert_uint_eq(l->count, 1);
	/* the comment stays in the display name, as clients show it (issue 14) */
	check(l, 0, "Pete (A nice ) chap)", "pete", "silly.test", NULL);
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
	l = parse("A Group(Some people)\r\n"
		  "     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
		  "         joe@example.org,\r\n"
		  "  John <jdoe@one.test> (my dear friend); (the end of the group)");
	ck_assert_uint_eq(l->count, 3);
	check(l, 0, "Chris Jones", "c", "public.example", "A Group");
	check(l, 1, NULL, "joe", "example.org", "A Group");
	check(l, 2, "John", "jdoe", "one.test", "A Group");
	ck_assert_uint_eq(l->repairs, 0);
	mimeo_address_list_free(l);
	l = parse("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, NULL, NULL, NULL, "Hidden recipients");
	mimeo_address_list_free(l);
}
END_TEST

START_TEST(rfc5322_a6_obsolete)
{
	/* A.6.1 obsolete addressing */
	mimeo_address_list *l = parse("Joe Q. Public <john.q.public@example.com>");

	check(l, 0, "Joe Q. Public", "john.q.public", "example.com", NULL);
	mimeo_address_list_free(l);
	l = parse("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example");
	ck_assert_uint_eq(l->count, 2);
	check(l, 0, "Mary Smith", "mary", "example.net", NULL);
	check(l, 1, NULL, "jdoe", "test.example", NULL);
	mimeo_address_list_free(l);
	/* A.6.3 obsolete white space and comments */
	l = parse("John Doe <jdoe@machine(comment).  example>");
	check(l, 0, "John Doe", "jdoe", "machine.example", NULL);
	mimeo_address_list_free(l);
	l = parse("Mary Smith\r\n    \r\n     <mary@example.net>");
	check(l, 0, "Mary Smith", "mary", "example.net", NULL);
	mimeo_address_list_free(l);
}
END_TEST

/* ---- real-world values ----------------------------------------------- */

struct acase {
	const char *in;
	size_t count;
	/* first entry */
	const char *dn, *lp, *dom, *grp;
	unsigned repairs_set;
};

static const struct acase acases[] = {
	/* 0 RFC 2047 display names (RFC 2047 section 8) */
	{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", 1,
	  "Keld J\xC3\xB8rn Simonsen", "keld", "dkuug.dk", NULL, 0 },
	{ "=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", 1, "Keith Moore", "moore",
	  "cs.utk.edu", NULL, 0 },
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", 1, "Andr\xC3\xA9 Pirard",
	  "PIRARD", "vm1.ulg.ac.be", NULL, 0 },
	/* Outlook: encoded word inside quotes */
	{ "\"=?utf-8?B?TcO8bGxlciwgSsO8cmdlbg==?=\" <j.mueller@example.de>", 1,
	  "M\xC3\xBCller, J\xC3\xBCrgen", "j.mueller", "example.de", NULL, 0 },
	/* comment as display name */
	{ "user@example.com (John Doe)", 1, "John Doe", "user", "example.com", NULL, 0 },
	/* 5 missing angle brackets */
	{ "John Doe john@example.com", 1, "John Doe", "john", "example.com", NULL,
	  MIMEO_REPAIR_SYNTAX },
	{ "<user>", 1, NULL, "user", NULL, NULL, MIMEO_REPAIR_SYNTAX },
	{ "user", 1, NULL, "user", NULL, NULL, MIMEO_REPAIR_SYNTAX },
	{ "<@a.test,@b.test:user@c.test>", 1, NULL, "user", "c.test", NULL, 0 },
	{ "undisclosed-recipients:;", 1, NULL, NULL, NULL, "undisclosed-recipients", 0 },
	/* 10 trailing garbage dropped */
	{ "a@b.com garbage, c@d.com", 2, NULL, "a", "b.com", NULL, MIMEO_REPAIR_SYNTAX },
	{ "<a@b.com> trailing text", 1, NULL, "a", "b.com", NULL, MIMEO_REPAIR_SYNTAX },
	/* raw UTF-8 (Gmail with SMTPUTF8) and raw Latin-1 display names */
	{ "J\xC3\xBCrgen <j@example.de>", 1, "J\xC3\xBCrgen", "j", "example.de", NULL,
	  MIMEO_REPAIR_RAW_8BIT },
	{ "J\xFCrgen <j@example.de>", 1, "J\xC3\xBCrgen", "j", "example.de", NULL,
	  MIMEO_REPAIR_RAW_8BIT },
	/* quoted local part, domain literal */
	{ "\"john doe\"@example.com", 1, NULL, "john doe", "example.com", NULL, 0 },
	/* 15 */
	{ "postmaster@[192.0.2.1]", 1, NULL, "postmaster", "[192.0.2.1]", NULL, 0 },
	{ "<user@>", 1, NULL, "user", NULL, NULL, MIMEO_REPAIR_SYNTAX },
	{ ",,, a@b ,,", 1, NULL, "a", "b", NULL, 0 },
	{ "", 0, NULL, NULL, NULL, NULL, 0 },
	{ "   (only a comment)  ", 0, NULL, NULL, NULL, NULL, 0 },
	/* 20 unterminated things run to the end */
	{ "Joe <joe@example.com", 1, "Joe", "joe", "example.com", NULL, MIMEO_REPAIR_SYNTAX },
	/* the comment swallows the address: only the bare word is left */
	{ "Joe (unterminated <joe@example.com>", 1, NULL, "Joe", NULL, NULL, MIMEO_REPAIR_SYNTAX },
	{ "friends: a@b, c@d", 2, NULL, "a", "b", "friends", MIMEO_REPAIR_SYNTAX },
	/* mailing-list rewriting (DMARC): "via" display names */
	{ "\"Alice Example via dev-list\" <dev-list@lists.example.org>", 1,
	  "Alice Example via dev-list", "dev-list", "lists.example.org", NULL, 0 },
	/* a phrase made of several encoded words, whitespace between dropped */
	{ "=?utf-8?q?J=C3=BCr?= =?utf-8?q?gen?= <j@x.de>", 1, "J\xC3\xBCrgen", "j", "x.de", NULL, 0 },
	/* 25 display name with a dot but unquoted (obs-phrase) */
	{ "John Q. Public <jqp@example.com>", 1, "John Q. Public", "jqp", "example.com", NULL, 0 },
	{ "a@b@c", 1, NULL, "a", "b", NULL, MIMEO_REPAIR_SYNTAX },
	{ "\"\" <empty@name.test>", 1, NULL, "empty", "name.test", NULL, 0 },
	{ "(Comment Name) <c@d.test>", 1, "Comment Name", "c", "d.test", NULL, 0 },
	{ "joe@example.com (=?utf-8?q?J=C3=B6e?=)", 1, "J\xC3\xB6" "e", "joe", "example.com", NULL, 0 },
	/* 30 an unquoted name that looks like an address: the bracketed
	 * address is the real one (seen from Exim bounces and ruby-mail) */
	{ "kijitora@example.com <neko@example.net>", 1, "kijitora@example.com", "neko",
	  "example.net", NULL, MIMEO_REPAIR_SYNTAX },
	{ "Mikel@Lindsaar <raasdnil@gmail.com>", 1, "Mikel@Lindsaar", "raasdnil", "gmail.com",
	  NULL, MIMEO_REPAIR_SYNTAX },
	/* garbage glued after an address is not an entry */
	{ "www-interest@nxoc01.cern.ch<nl>", 1, NULL, "www-interest", "nxoc01.cern.ch", NULL,
	  MIMEO_REPAIR_SYNTAX },
	/* a missing comma between two whole addresses keeps both */
	{ "a@b.test c@d.test", 2, NULL, "a", "b.test", NULL, MIMEO_REPAIR_SYNTAX },
	{ "undisclosed recipients: ;", 1, NULL, NULL, NULL, "undisclosed recipients", 0 },
};

START_TEST(real_world_table)
{
	const struct acase *c = &acases[_i];
	mimeo_address_list *l = parse(c->in);

	ck_assert_msg(l->count == c->count, "case %d: count %zu", _i, l->count);
	if (c->count)
		check(l, 0, c->dn, c->lp, c->dom, c->grp);
	ck_assert_msg((l->repairs & c->repairs_set) == c->repairs_set, "case %d: repairs %#x", _i,
		      l->repairs);
	if (!c->repairs_set && c->count && strchr(c->in, '\x80') == NULL)
		ck_assert_msg((l->repairs & MIMEO_REPAIR_SYNTAX) == 0, "case %d: repairs %#x", _i,
			      l->repairs);
	mimeo_address_list_free(l);
}
END_TEST

/* ---- the spoofing class of CVE-2023-27043 / MimeKit#503 -------------- */

START_TEST(decoded_specials_never_make_addresses)
{
	mimeo_address_list *l;

	/* encoded "<", "@" and "," in the display name: still ONE address,
	 * the real one, and the decoded text stays in the name */
	l = parse("=?utf-8?q?admin=40bank.com_=3Cadmin=40bank.com=3E=2C_x=40y.z?= <evil@evil.test>");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, "admin@bank.com <admin@bank.com>, x@y.z", "evil", "evil.test", NULL);
	mimeo_address_list_free(l);

	/* base64 variant */
	l = parse("=?utf-8?b?PGFkbWluQGJhbmsuY29tPiw=?= <evil@evil.test>");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, "<admin@bank.com>,", "evil", "evil.test", NULL);
	mimeo_address_list_free(l);

	/* an encoded word as the whole "address" without brackets: not an
	 * address, and its local part is not decoded */
	l = parse("=?utf-8?q?admin=40bank.com?=");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, NULL, "=?utf-8?q?admin=40bank.com?=", NULL, NULL);
	mimeo_address_list_free(l);

	/* encoded word as local part: never decoded (RFC 2047 section 5) */
	l = parse("=?utf-8?q?admin=40bank.com=3E?=@evil.test");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, NULL, "=?utf-8?q?admin=40bank.com=3E?=", "evil.test", NULL);
	mimeo_address_list_free(l);

	/* quoted specials (CVE-2023-27043's shape): the quoted text is a name */
	l = parse("\"alice@example.org <alice@example.org>, \" <bob@evil.test>");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, "alice@example.org <alice@example.org>,", "bob", "evil.test", NULL);
	mimeo_address_list_free(l);

	/* encoded group syntax inside a name makes no group */
	l = parse("=?utf-8?q?friends=3A_a=40b=3B?= <c@d.test>");
	ck_assert_uint_eq(l->count, 1);
	check(l, 0, "friends: a@b;", "c", "d.test", NULL);
	mimeo_address_list_free(l);

	/* encoded words inside quotes, with specials */
	l = parse("\"=?utf-8?q?ceo=40corp.test_=3Cceo=40corp.test=3E?=\" <x@evil.test>, y@z.test");
	ck_assert_uint_eq(l->count, 2);
	check(l, 0, "ceo@corp.test <ceo@corp.test>", "x", "evil.test", NULL);
	check(l, 1, NULL, "y", "z.test", NULL);
	mimeo_address_list_free(l);

	/* unterminated quote swallowing a would-be address: no address is
	 * made from inside the quotes */
	l = parse("\"John <john@bank.test>, bob@bank.test");
	ck_assert_uint_eq(l->count, 1);
	ck_assert_ptr_null(l->items[0].domain);
	ck_assert(l->repairs & MIMEO_REPAIR_SYNTAX);
	mimeo_address_list_free(l);
}
END_TEST

/* Regression (found by fuzz_address under UBSan): an entry whose local part
 * is empty before anything was copied read NULL + 0. */
START_TEST(regress_empty_scratch)
{
	static const char in[] = "\0<@a.net,@b.neundisclosed-recipients:;y@z>";
	mimeo_address_list *l = NULL;

	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, in, sizeof(in) - 1), MIMEO_OK);
	ck_assert_uint_ge(l->count, 1);
	mimeo_address_list_free(l);
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, "<>", 2), MIMEO_OK);
	check(l, 0, NULL, "", NULL, NULL);
	mimeo_address_list_free(l);
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, "() <>", 5), MIMEO_OK);
	check(l, 0, NULL, "", NULL, NULL);
	mimeo_address_list_free(l);
}
END_TEST

START_TEST(strict_mode_and_default_charset)
{
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_address_list *l = NULL;
	const char *v = "\xCF\xF0\xE8\xE2\xE5\xF2 <a@b.test>";

	o.default_charset = "windows-1251";
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, &o, v, strlen(v)), MIMEO_OK);
	check(l, 0, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "a", "b.test", NULL);
	mimeo_address_list_free(l);
}
END_TEST

/* Regression (fuzz_address): a default charset that is not ASCII-based
 * (UTF-16) must not reinterpret the ASCII of a raw 8-bit local part. */
START_TEST(ascii_incompatible_default_charset)
{
	mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;
	mimeo_address_list *l = NULL;
	const char *v = "J\xFCrgen <j\xFCrgen@example.de>";

	o.default_charset = "utf-16";
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, &o, v, strlen(v)), MIMEO_OK);
	/* (the display name is decoded by mimeo_header_decode_phrase, which
	 * has its own rule for the default charset) */
	ck_assert_str_eq(l->items[0].local_part, "j\xC3\xBCrgen");
	ck_assert_str_eq(l->items[0].domain, "example.de");
	mimeo_address_list_free(l);
}
END_TEST

/* The caller's cache and the per-call cache give the same result. */
START_TEST(same_result_with_or_without_cache)
{
	mimeo_charset_cache *cc;
	size_t k;

	ck_assert_int_eq(mimeo_charset_cache_new(&cc, NULL), MIMEO_OK);
	for (k = 0; k < sizeof(acases) / sizeof(acases[0]); k++) {
		mimeo_address_list *a = NULL, *b = NULL;
		size_t i;

		ck_assert_int_eq(mimeo_address_list_parse(&a, NULL, NULL,
							  acases[k].in, strlen(acases[k].in)), MIMEO_OK);
		ck_assert_int_eq(mimeo_address_list_parse(&b, cc, NULL,
							  acases[k].in, strlen(acases[k].in)), MIMEO_OK);
		ck_assert_uint_eq(a->count, b->count);
		ck_assert_uint_eq(a->repairs, b->repairs);
		for (i = 0; i < a->count; i++)
			check(b, i, a->items[i].display_name, a->items[i].local_part,
			      a->items[i].domain, a->items[i].group);
		mimeo_address_list_free(a);
		mimeo_address_list_free(b);
	}
	mimeo_charset_cache_free(cc);
}
END_TEST

START_TEST(api_misuse)
{
	mimeo_address_list *l = (mimeo_address_list *)1;

	ck_assert_int_eq(mimeo_address_list_parse(NULL, NULL, NULL, "a@b", 3), MIMEO_EINVAL);
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, NULL, 3), MIMEO_EINVAL);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, NULL, 0), MIMEO_OK);
	ck_assert_uint_eq(l->count, 0);
	mimeo_address_list_free(l);
	mimeo_address_list_free(NULL);
}
END_TEST

/* Whatever the input: every entry is an address or a group, and every
 * string is valid UTF-8. */
static void parse_is_sane(const char *in, size_t len)
{
	mimeo_address_list *l = NULL;
	size_t i;

	ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, in, len), MIMEO_OK);
	for (i = 0; i < l->count; i++) {
		ck_assert(l->items[i].local_part || l->items[i].group);
		check_utf8_str(l->items[i].display_name);
		check_utf8_str(l->items[i].local_part);
		check_utf8_str(l->items[i].domain);
		check_utf8_str(l->items[i].group);
	}
	mimeo_address_list_free(l);
}

START_TEST(every_prefix_is_safe)
{
	each_prefix("G (c\\)) : \"q\\\"x\" <@r,@s:l.p(c)@[1.2.3.4]>, =?utf-8?q?a=40b?= <x@y>;"
		    " \"un <a@b>, (x <y@z> \xC3\xA9\xFF a.b@c.d (n)", parse_is_sane);
}
END_TEST

START_TEST(random_garbage_is_safe)
{
	static const char alphabet[] = "a@<>,;:\"\\().[] \r\n\x00\xC3\xFF=?q";

	each_random(0xadd7, alphabet, sizeof(alphabet) - 1, 160, 4000, parse_is_sane);
}
END_TEST

/* Adversarial shapes that make naive parsers quadratic: many addresses,
 * many unterminated "<", 1 MB quoted string or comment, deep nesting. */
START_TEST(adversarial_inputs_linear)
{
	static const char *const units[] = { "<a, ", "a@b, ", "\"", "(", "<@", "x:", ";", "=?u?q?a?= ",
					     "a@b <x ", "x@y <", "a.", "@", "\\" };
	size_t u;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		mimeo_buf in = MIMEO_BUF_INIT;
		mimeo_address_list *l = NULL;
		size_t k, ul = strlen(units[u]);
		double t0;

		for (k = 0; k < (1u << 20) / ul; k++)
			mimeo_buf_put(&in, units[u], ul);
		t0 = now_s();
		ck_assert_int_eq(mimeo_address_list_parse(&l, NULL, NULL, in.ptr, in.size), MIMEO_OK);
		ck_assert_msg(now_s() - t0 < 10.0, "unit '%s' too slow", units[u]);
		if (u == 1)
			ck_assert_uint_eq(l->count, (1u << 20) / ul);
		mimeo_address_list_free(l);
		mimeo_buf_dispose(&in);
	}
}
END_TEST

START_TEST(parse_survives_allocation_failures)
{
	const char *v = "A Group:=?utf-8?q?J=C3=BCrgen?= <j@x.de>, \"q\\\"x\"@y (c), J\xFCrgen <k@l>;"
			" <@r:u@v>, w@x (=?utf-8?q?N=C3=A4me?=), empty:;";
	unsigned long n;
	int succeeded = 0;

	for (n = 1; n < 300 && !succeeded; n++) {
		test_failing_alloc fa;
		mimeo_header_options o = MIMEO_HEADER_OPTIONS_INIT;
		mimeo_address_list *l = NULL;
		int rc;

		test_failing_alloc_init(&fa, n);
		o.alloc = &fa.alloc;
		rc = mimeo_address_list_parse(&l, NULL, &o, v, strlen(v));
		if (rc == MIMEO_OK) {
			ck_assert_uint_eq(l->count, 6);
			check(l, 0, "J\xC3\xBCrgen", "j", "x.de", "A Group");
			check(l, 1, "c", "q\"x", "y", "A Group");
			check(l, 2, "J\xC3\xBCrgen", "k", "l", "A Group");
			check(l, 3, NULL, "u", "v", NULL);
			check(l, 4, "N\xC3\xA4me", "w", "x", NULL);
			check(l, 5, NULL, NULL, NULL, "empty");
			mimeo_address_list_free(l);
			succeeded = !fa.failed;
		} else {
			ck_assert_int_eq(rc, MIMEO_ENOMEM);
			ck_assert_ptr_null(l);
		}
		ck_assert_int_eq(fa.live, 0);
	}
	ck_assert(succeeded);
}
END_TEST

/* The allocator of the options (which replaced 0.1's
 * mimeo_address_list_parse_alloc) serves the list and the temporary memory,
 * the charset cache made for a NULL cache included; NULL options, options
 * without one and the 0.1 layout (version 1, which ends before `alloc`)
 * use libc: the counting allocator sees no call, and the ASan run of this
 * test checks that the _free of such a result hands libc its own blocks. */
/* An encoded word and raw 8-bit: both need the temporary cache. */
static const char opt_value[] = "=?iso-8859-1?q?J=FCrgen?= <j@x.de>, M\xFCller <m@y>";

static int opt_parse(void **out, const mimeo_header_options *opts, const void *ctx)
{
	return mimeo_address_list_parse((mimeo_address_list **)out, NULL, opts, ctx,
					strlen(ctx));
}

static void opt_check(const void *res, const void *ctx)
{
	const mimeo_address_list *l = res;

	ck_assert_uint_eq(l->count, 2);
	check(l, 0, "J\xC3\xBCrgen", "j", "x.de", NULL);
}

static void opt_free(void *res)
{
	mimeo_address_list_free(res);
}

START_TEST(options_allocator_is_used)
{
	const test_options_parse t = { opt_parse, opt_check, opt_free, opt_value };

	test_options_allocator(&t);
}
END_TEST

struct corpus_addrs {
	mimeo_charset_cache *cc;
	long fields, with_address;
};

static int is_address_field(const char *n, size_t l)
{
	static const char *const names[] = { "from", "to", "cc", "bcc", "reply-to", "sender" };
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k]) == l && strncasecmp(n, names[k], l) == 0)
			return 1;
	return 0;
}

static void corpus_addr_cb(const char *path, const char *name, size_t name_len,
			   const char *value, size_t value_len, void *user)
{
	struct corpus_addrs *ca = user;
	mimeo_address_list *l = NULL;
	size_t i;
	int any = 0;

	if (!is_address_field(name, name_len))
		return;
	ck_assert_int_eq(mimeo_address_list_parse(&l, ca->cc, NULL, value, value_len), MIMEO_OK);
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];
		const char *s[4] = { a->display_name, a->local_part, a->domain, a->group };
		int k;

		for (k = 0; k < 4; k++)
			if (s[k])
				ck_assert_uint_eq(mimeo_utf8_valid_prefix(s[k], strlen(s[k])),
						  strlen(s[k]));
		/* a domain never holds structure characters */
		if (a->domain) {
			ck_assert_ptr_null(strpbrk(a->domain, "<>,;@"));
			any = 1;
		}
		if (!a->local_part)
			ck_assert_ptr_nonnull(a->group);
	}
	ca->fields++;
	(void)any;
	if (l->count)
		ca->with_address++;
	else if (getenv("MIMEO_TEST_DEBUG"))
		fprintf(stderr, "no address: %s: [%.*s]\n", path, (int)value_len, value);
	mimeo_address_list_free(l);
}

/* Every From/To/Cc/Bcc/Reply-To/Sender of the shared corpus: valid UTF-8,
 * clean domains, and nearly every field yields an entry (the exceptions
 * are empty values).  About 4% of the fields have no domain at all
 * ("MAILER-DAEMON <>", "Nathaniel Borenstein <nsb>"): old local mail. */
START_TEST(shared_corpus_addresses)
{
	struct corpus_addrs ca = { NULL, 0, 0 };
	long n;

	ck_assert_int_eq(mimeo_charset_cache_new(&ca.cc, NULL), MIMEO_OK);
	n = corpus_walk_fields(corpus_addr_cb, &ca);
	mimeo_charset_cache_free(ca.cc);
	if (n < 0)
		return; /* no corpus here */
	ck_assert_int_gt(ca.fields, 100);
	ck_assert_msg(ca.with_address * 100 >= ca.fields * 98, "%ld of %ld fields with an address",
		      ca.with_address, ca.fields);
}
END_TEST

/* ---- differential test against GMime -------------------------------- */

#ifdef MIMEO_TEST_GMIME
/*
 * Addresses (local@domain) and display names compared with GMime 3's
 * internet_address_list_parse.  agree = 1: must match exactly.  agree = 0:
 * a documented disagreement, checked to still differ:
 *  - "John Doe john@example.com" (angle brackets forgotten): GMime 3.2
 *    returns no address at all; mimeo splits the display name "John Doe"
 *    from the address (flagged), so the mail still has a sender.
 *  - "a@b.com garbage, c@d.com": GMime makes a third entry "garbage";
 *    mimeo drops text without an address after a complete one (flagged).
 *  - "\"John <john@x.com>, bob@y.com" (unterminated quote): GMime ends the
 *    quote early and makes TWO addresses, one of them from text that was
 *    inside quotes (a spoofing vector); mimeo lets the quote run to the end
 *    and makes no address from quoted text.
 * GMime agrees with mimeo on comments used as names ("user@example.com
 * (John Doe)") and on dropping comments from phrases (RFC 5322 A.5).
 */
struct gdiff {
	const char *in;
	int agree_addr, agree_name;
};

static const struct gdiff gdiffs[] = {
	{ "John Doe <jdoe@machine.example>", 1, 1 },
	{ "\"Joe Q. Public\" <john.q.public@example.com>", 1, 1 },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 1, 1 },
	{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", 1, 1 },
	{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", 1, 1 },
	{ "=?utf-8?q?admin=40bank.com_=3Cx=40y.z=3E?= <evil@evil.test>", 1, 1 },
	{ "Mary Smith <@node.test:mary@example.net>", 1, 1 },
	{ "user@example.com (John Doe)", 1, 1 },
	/* GMime drops the comment from the name; mimeo keeps it (issue 14) */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 1, 0 },
	{ "John Doe john@example.com", 0, 0 },
	{ "a@b.com garbage, c@d.com", 0, 0 },
	{ "\"John <john@x.com>, bob@y.com", 0, 0 },
};

static void flatten_gmime(InternetAddressList *gl, mimeo_buf *addrs, mimeo_buf *names)
{
	int i, n = gl ? internet_address_list_length(gl) : 0;

	for (i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(gl, i);
		const char *name = internet_address_get_name(ia);

		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			flatten_gmime(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
				      addrs, names);
			continue;
		}
		mimeo_buf_puts(addrs, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
		mimeo_buf_puts(addrs, "|");
		mimeo_buf_puts(names, name ? name : "");
		mimeo_buf_puts(names, "|");
	}
}

START_TEST(gmime_differential)
{
	const struct gdiff *d = &gdiffs[_i];
	mimeo_buf ga = MIMEO_BUF_INIT, gn = MIMEO_BUF_INIT, ma = MIMEO_BUF_INIT, mn = MIMEO_BUF_INIT;
	mimeo_address_list *l = parse(d->in);
	InternetAddressList *gl;
	size_t i;

	g_mime_init();
	gl = internet_address_list_parse(NULL, d->in);
	flatten_gmime(gl, &ga, &gn);
	for (i = 0; i < l->count; i++) {
		const mimeo_address *a = &l->items[i];

		if (!a->local_part)
			continue;
		mimeo_buf_puts(&ma, a->local_part);
		if (a->domain) {
			mimeo_buf_puts(&ma, "@");
			mimeo_buf_puts(&ma, a->domain);
		}
		mimeo_buf_puts(&ma, "|");
		mimeo_buf_puts(&mn, a->display_name ? a->display_name : "");
		mimeo_buf_puts(&mn, "|");
	}
	mimeo_buf_puts(&ga, "");
	mimeo_buf_puts(&gn, "");
	mimeo_buf_puts(&ma, "");
	mimeo_buf_puts(&mn, "");
	if (d->agree_addr)
		ck_assert_msg(strcmp(ga.ptr, ma.ptr) == 0, "%s: gmime %s mimeo %s", d->in, ga.ptr, ma.ptr);
	else
		ck_assert_msg(strcmp(ga.ptr, ma.ptr) != 0, "%s: disagreement vanished", d->in);
	if (d->agree_name)
		ck_assert_msg(strcmp(gn.ptr, mn.ptr) == 0, "%s: gmime %s mimeo %s", d->in, gn.ptr, mn.ptr);
	else
		ck_assert_msg(strcmp(gn.ptr, mn.ptr) != 0, "%s: name disagreement vanished (%s)",
			      d->in, mn.ptr);
	if (gl)
		g_object_unref(gl);
	mimeo_address_list_free(l);
	mimeo_buf_dispose(&ga);
	mimeo_buf_dispose(&gn);
	mimeo_buf_dispose(&ma);
	mimeo_buf_dispose(&mn);
}
END_TEST
#endif

static Suite *address_suite(void)
{
	Suite *s = suite_create("address");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rfc5322_a1_1);
	tcase_add_test(tc, rfc5322_a1_2);
	tcase_add_test(tc, rfc5322_a1_3_groups);
	tcase_add_test(tc, rfc5322_a5_white_space_and_comments);
	tcase_add_test(tc, rfc5322_a6_obsolete);
	tcase_add_loop_test(tc, real_world_table, 0, sizeof(acases) / sizeof(acases[0]));
	tcase_add_test(tc, decoded_specials_never_make_addresses);
	tcase_add_test(tc, regress_empty_scratch);
	tcase_add_test(tc, strict_mode_and_default_charset);
	tcase_add_test(tc, ascii_incompatible_default_charset);
	tcase_add_test(tc, same_result_with_or_without_cache);
	tcase_add_test(tc, api_misuse);
	tcase_add_test(tc, every_prefix_is_safe);
	tcase_add_test(tc, random_garbage_is_safe);
	tcase_add_test(tc, adversarial_inputs_linear);
	tcase_add_test(tc, parse_survives_allocation_failures);
	tcase_add_test(tc, options_allocator_is_used);
	tcase_add_test(tc, shared_corpus_addresses);
	suite_add_tcase(s, tc);
	ADD_GMIME_CASE(s, gmime_differential, sizeof(gdiffs) / sizeof(gdiffs[0]));
	return s;
}

int main(void)
{
	return test_run_suite(address_suite());
}
