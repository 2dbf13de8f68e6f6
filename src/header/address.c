/*
 * address.c - RFC 5322 section 3.4 address lists, with the obsolete syntax
 * of section 4.4 and the lenient rules documented in mimeo/address.h.
 *
 * Security property: the structure (which bytes are the display name, the
 * local part, the domain, the group name, where an entry ends) is decided
 * on the RAW bytes in one left-to-right pass.  RFC 2047 decoding happens
 * afterwards, on the display-name and group-name spans only, and its output
 * goes straight into the result: decoded text is never parsed again, so an
 * encoded "<", "@" or "," can never create, hide or move an address
 * (CVE-2023-27043, MimeKit#503).  Local parts and domains are never
 * RFC 2047-decoded (RFC 2047 section 5 forbids encoded words there).
 *
 * The scan is linear: each byte is looked at a bounded number of times
 * (a span is re-read at most once more to build its value).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "param-priv.h"

#include "mimeo/address.h"

#include <string.h>

#define NONE ((size_t)-1)

struct ent {
	size_t dn, lp, dom, grp; /* offsets in the string table or NONE */
};

struct list_holder {
	mimeo_address_list pub; /* first: mimeo_address_list_free casts back */
	const mimeo_allocator *alloc;
};

struct actx {
	struct mimeo__fparse f; /* input, options, cache, strings, scratch */
	struct ent *ents;
	size_t n, a;
};

/* Characters that end an atom.  '[', ']', ')' and '>' in odd places are
 * not worth a special case in a phrase; in an addr-spec they end it. */
static int atom_stop(unsigned char c)
{
	return mimeo__is_fws(c) || c == '(' || c == '<' || c == '@' || c == ',' ||
	       c == ';' || c == ':' || c == '"' || c == '.';
}

static int addr_stop(unsigned char c)
{
	return atom_stop(c) || c == '>' || c == '[' || c == ']';
}

static int push_ent(struct actx *c, const struct ent *e)
{
	return mimeo__array_push(c->f.alloc, (void **)&c->ents, &c->a, &c->n, sizeof(*e), 8, e);
}

/* End of the quoted string starting at s[i] == '"' (index after the closing
 * quote; `end` for an unterminated one, flagged). */
static size_t skip_quoted(struct actx *c, size_t i, size_t end)
{
	for (i++; i < end; i++) {
		if (c->f.s[i] == '\\' && i + 1 < end)
			i++;
		else if (c->f.s[i] == '"')
			return i + 1;
	}
	c->f.repairs |= MIMEO_REPAIR_SYNTAX;
	return end;
}

/* Append the content of a quoted string (escapes resolved, CR/LF removed). */
static int put_unquoted(mimeo_buf *b, const char *s, size_t i, size_t end)
{
	size_t run;

	i++; /* opening quote */
	run = i;
	for (; i < end; i++) {
		char ch = s[i];

		if (ch == '"' || ch == '\\' || ch == '\r' || ch == '\n') {
			if (mimeo_buf_put(b, s + run, i - run) != MIMEO_OK)
				return MIMEO_ENOMEM;
			if (ch == '"')
				return MIMEO_OK;
			if (ch == '\\' && i + 1 < end) {
				i++;
				if (s[i] != '\r' && s[i] != '\n' &&
				    mimeo_buf_put(b, s + i, 1) != MIMEO_OK)
					return MIMEO_ENOMEM;
			}
			run = i + 1;
		}
	}
	return mimeo_buf_put(b, s + run, end - run);
}

/* Scratch bytes from `mark` (never NULL + 0: the buffer may still be
 * unallocated when nothing was copied). */
static const char *scratch_at(const struct actx *c, size_t mark)
{
	return c->f.scratch.ptr ? c->f.scratch.ptr + mark : "";
}

/* Move scratch bytes from `mark` to the string table as UTF-8 (raw 8-bit
 * handled like raw header text), NUL-terminated.  Returns the offset. */
static int scratch_to_strings(struct actx *c, size_t mark, size_t *off)
{
	size_t i;

	*off = c->f.strings.size;
	for (i = mark; i < c->f.scratch.size; i++)
		if ((unsigned char)c->f.scratch.ptr[i] >= 0x80)
			break;
	if (i < c->f.scratch.size && mimeo__fparse_need_cc(&c->f) != MIMEO_OK)
		return MIMEO_ENOMEM;
	if (mimeo__raw_to_utf8(c->f.cc, c->f.opts, scratch_at(c, mark), c->f.scratch.size - mark,
			       &c->f.strings, &c->f.repairs) != MIMEO_OK ||
	    mimeo__buf_fix_nuls(&c->f.strings, *off, &c->f.repairs) != MIMEO_OK ||
	    mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
		return MIMEO_ENOMEM;
	c->f.scratch.size = mark;
	if (c->f.scratch.ptr)
		c->f.scratch.ptr[mark] = '\0';
	return MIMEO_OK;
}

/*
 * Read a local part or bare word list: words (atoms or quoted strings)
 * joined by "." with CFWS dropped (RFC 5322 3.4.1 and obs-local-part).
 * With `spaces`, words separated by whitespace are joined by one space
 * (used for a bare phrase without any address).  Stops at the first byte
 * that cannot continue it.  Appends to scratch.
 */
static int read_words(struct actx *c, size_t *pos, size_t end, int spaces)
{
	const char *s = c->f.s;
	size_t i = *pos, j;
	int words = 0;

	for (;;) {
		j = i;
		mimeo__skip_cfws(s, end, &j, &c->f.repairs, NULL);
		if (j >= end)
			break;
		if (s[j] == '"') {
			if (words && spaces && j > i && s[i - 1] != '.' &&
			    mimeo_buf_put(&c->f.scratch, " ", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i = skip_quoted(c, j, end);
			if (put_unquoted(&c->f.scratch, s, j, i) != MIMEO_OK)
				return MIMEO_ENOMEM;
			words++;
		} else if (s[j] == '.') {
			if (mimeo_buf_put(&c->f.scratch, ".", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i = j + 1;
			continue;
		} else if (!addr_stop((unsigned char)s[j])) {
			size_t k = j;

			if (words && spaces && j > i && s[i - 1] != '.' &&
			    mimeo_buf_put(&c->f.scratch, " ", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
			while (k < end && !addr_stop((unsigned char)s[k]))
				k++;
			if (mimeo_buf_put(&c->f.scratch, s + j, k - j) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i = k;
			words++;
		} else {
			break;
		}
		if (!spaces) {
			/* a local part continues only through "." */
			j = i;
			mimeo__skip_cfws(s, end, &j, &c->f.repairs, NULL);
			if (j >= end || s[j] != '.') {
				i = j;
				break;
			}
		}
	}
	*pos = i;
	return MIMEO_OK;
}

/* Domain after "@": dot-atom (CFWS around the dots, obs-domain) or a
 * domain literal kept with its brackets.  *off = NONE when empty. */
static int read_domain(struct actx *c, size_t *pos, size_t *off)
{
	const char *s = c->f.s;
	size_t i = *pos, mark = c->f.scratch.size;

	*off = NONE;
	mimeo__skip_cfws(s, c->f.len, &i, &c->f.repairs, NULL);
	if (i < c->f.len && s[i] == '[') {
		size_t k = i + 1;

		while (k < c->f.len && s[k] != ']' && s[k] != '>' && s[k] != ',') {
			if (s[k] == '\\' && k + 1 < c->f.len)
				k++;
			k++;
		}
		if (k < c->f.len && s[k] == ']')
			k++;
		else
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		for (; i < k; i++)
			if (!mimeo__is_fws((unsigned char)s[i]) &&
			    mimeo_buf_put(&c->f.scratch, s + i, 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
	} else {
		for (;;) {
			size_t k = i, j;

			while (k < c->f.len && !addr_stop((unsigned char)s[k]))
				k++;
			if (mimeo_buf_put(&c->f.scratch, s + i, k - i) != MIMEO_OK)
				return MIMEO_ENOMEM;
			i = k;
			j = i;
			mimeo__skip_cfws(s, c->f.len, &j, &c->f.repairs, NULL);
			if (j < c->f.len && s[j] == '.') {
				if (mimeo_buf_put(&c->f.scratch, ".", 1) != MIMEO_OK)
					return MIMEO_ENOMEM;
				i = j + 1;
				mimeo__skip_cfws(s, c->f.len, &i, &c->f.repairs, NULL);
				continue;
			}
			break;
		}
	}
	*pos = i;
	if (c->f.scratch.size == mark) {
		c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* "user@" */
		return MIMEO_OK;
	}
	return scratch_to_strings(c, mark, off);
}

/*
 * Decode the phrase s[a..b) (display name or group name) into the string
 * table.  Comments inside it are kept as text, parentheses included, as
 * clients show them ("Jason Lee (Sales)"; RFC 5322 3.2.2 makes them no part
 * of the phrase, but they often carry the only readable form of the name,
 * e.g. a Chinese name after its romanisation; a group name drops them);
 * when the phrase has no
 * words, the first comment of the entry
 * (`fc`, see mimeo__skip_cfws) is used instead, as clients show
 * "user@example.com (John Doe)".  *off = NONE when nothing is left.
 */
static int emit_phrase(struct actx *c, size_t a, size_t b, const size_t *fc, int keep_comments,
		       size_t *off)
{
	const char *s = c->f.s;
	size_t mark = c->f.scratch.size, i = a, start;
	int words = 0;

	*off = NONE;
	while (i < b) {
		size_t k = i;

		if (s[i] == '(') {
			/* the comment and the whitespace after it, as written:
			 * mimeo_header_decode_phrase() keeps comments as text
			 * and folds the whitespace */
			mimeo__skip_cfws(s, b, &k, &c->f.repairs, NULL);
			if (mimeo_buf_put(&c->f.scratch, " ", 1) != MIMEO_OK ||
			    (keep_comments &&
			     mimeo_buf_put(&c->f.scratch, s + i, k - i) != MIMEO_OK))
				return MIMEO_ENOMEM;
		} else if (s[i] == '"') {
			k = skip_quoted(c, i, b);
			if (mimeo_buf_put(&c->f.scratch, s + i, k - i) != MIMEO_OK)
				return MIMEO_ENOMEM;
			words++;
		} else {
			while (k < b && s[k] != '(' && s[k] != '"')
				k++;
			if (mimeo_buf_put(&c->f.scratch, s + i, k - i) != MIMEO_OK)
				return MIMEO_ENOMEM;
			for (; i < k; i++)
				if (!mimeo__is_fws((unsigned char)s[i]))
					words++;
		}
		i = k;
	}
	start = c->f.strings.size;
	if ((words || (fc && fc[1] > 0)) && mimeo__fparse_need_cc(&c->f) != MIMEO_OK)
		return MIMEO_ENOMEM;
	if (words) {
		if (mimeo_header_decode_phrase(c->f.cc, c->f.opts, scratch_at(c, mark),
					       c->f.scratch.size - mark, &c->f.strings,
					       &c->f.repairs) != MIMEO_OK)
			return MIMEO_ENOMEM;
	} else if (fc && fc[1] > 0) {
		/* comment content: quoted-pairs resolved, then decoded as
		 * text (RFC 2047 section 5 (2) allows encoded words there) */
		size_t cs = fc[0], ce = fc[0] + fc[1] - 1, run = cs;

		c->f.scratch.size = mark;
		for (i = cs; i < ce; i++) {
			if (s[i] == '\\' && i + 1 < ce) {
				if (mimeo_buf_put(&c->f.scratch, s + run, i - run) != MIMEO_OK)
					return MIMEO_ENOMEM;
				run = ++i;
			}
		}
		if (mimeo_buf_put(&c->f.scratch, s + run, ce - run) != MIMEO_OK)
			return MIMEO_ENOMEM;
		if (mimeo_header_decode_text(c->f.cc, c->f.opts, scratch_at(c, mark),
					     c->f.scratch.size - mark, &c->f.strings,
					     &c->f.repairs) != MIMEO_OK)
			return MIMEO_ENOMEM;
	}
	c->f.scratch.size = mark;
	if (c->f.scratch.ptr)
		c->f.scratch.ptr[mark] = '\0';
	if (c->f.strings.size == start)
		return MIMEO_OK;
	if (mimeo__buf_fix_nuls(&c->f.strings, start, &c->f.repairs) != MIMEO_OK ||
	    mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
		return MIMEO_ENOMEM;
	*off = start;
	return MIMEO_OK;
}

/* Does the angle address at s[k] == '<' contain an "@" before its ">"
 * (or the next "," / end)?  "<nl>" glued after an address does not. */
static int angle_has_at(const char *s, size_t len, size_t k)
{
	for (k++; k < len && s[k] != '>' && s[k] != ','; k++)
		if (s[k] == '@')
			return 1;
	return 0;
}

/* name-addr: [display-name] angle-addr, with s[*pos] == '<' and the
 * display name in s[start..phrase_end). */
static int parse_angle(struct actx *c, size_t *pos, size_t start, size_t phrase_end,
		       const size_t *fc, struct ent *e)
{
	const char *s = c->f.s;
	size_t len = c->f.len, i = *pos, mark;

	/* name-addr: [display-name] angle-addr */
	if (emit_phrase(c, start, phrase_end, fc, 1, &e->dn) != MIMEO_OK)
		return MIMEO_ENOMEM;
	i++;
	mimeo__skip_cfws(s, len, &i, &c->f.repairs, NULL);
	if (i < len && s[i] == '@') {
		/* RFC 5322 4.4 obs-route "@a,@b:" - dropped */
		while (i < len && s[i] != ':' && s[i] != '>')
			i++;
		if (i < len && s[i] == ':')
			i++;
		else
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
	}
	mark = c->f.scratch.size;
	if (read_words(c, &i, len, 0) != MIMEO_OK ||
	    scratch_to_strings(c, mark, &e->lp) != MIMEO_OK)
		return MIMEO_ENOMEM;
	mimeo__skip_cfws(s, len, &i, &c->f.repairs, NULL);
	if (i < len && s[i] == '@') {
		i++;
		if (read_domain(c, &i, &e->dom) != MIMEO_OK)
			return MIMEO_ENOMEM;
	} else {
		c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* "<user>" */
	}
	mimeo__skip_cfws(s, len, &i, &c->f.repairs, NULL);
	if (i < len && s[i] == '>') {
		i++;
	} else {
		/* garbage inside the brackets, or no ">" at all */
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		while (i < len && s[i] != '>' && s[i] != ',' && s[i] != ';')
			i++;
		if (i < len && s[i] == '>')
			i++;
	}
	*pos = i;
	return MIMEO_OK;
}

enum item_result {
	ITEM_NONE,    /* nothing (empty or dropped) */
	ITEM_ADDRESS, /* an entry was added */
	ITEM_GROUP    /* "name:" seen; *group set */
};

/*
 * Parse one entry from s[*pos]: a mailbox, a group start, or a bare phrase.
 * `trailing` = this text followed an address without a comma: keep it only
 * if it holds an address.  Returns an item_result or a negative status.
 */
static int parse_item(struct actx *c, size_t *pos, size_t group, int trailing, size_t *grp_out)
{
	const char *s = c->f.s;
	size_t len = c->f.len, i = *pos, start = i, lp_start = NONE, first_word = NONE;
	size_t fc[2] = { 0, 0 }, phrase_end, mark, k;
	struct ent e = { NONE, NONE, NONE, group };
	int words = 0, after_dot = 0;

	/* 1. the phrase: words and dots up to a structural character */
	for (;;) {
		mimeo__skip_cfws(s, len, &i, &c->f.repairs, fc);
		if (i >= len)
			break;
		if (s[i] == '.') {
			after_dot = 1;
			i++;
			continue;
		}
		if (s[i] == ':' && group != NONE) {
			c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* no nested groups */
			i++;
			continue;
		}
		if (s[i] == '<' || s[i] == '@' || s[i] == ',' || s[i] == ';' || s[i] == ':')
			break;
		/* a word: a new local-part candidate unless glued by "." */
		if (lp_start == NONE || !after_dot)
			lp_start = i;
		if (first_word == NONE)
			first_word = i;
		if (s[i] == '"') {
			i = skip_quoted(c, i, len);
		} else {
			while (i < len && !atom_stop((unsigned char)s[i]))
				i++;
		}
		words++;
		after_dot = 0;
	}
	phrase_end = i;

	if (i < len && s[i] == ':' && group == NONE && !trailing) {
		/* RFC 5322 3.4: group = display-name ":" [group-list] ";" */
		if (emit_phrase(c, start, phrase_end, NULL, 0, grp_out) != MIMEO_OK)
			return MIMEO_ENOMEM;
		if (*grp_out == NONE) {
			*grp_out = c->f.strings.size;
			if (mimeo_buf_put(&c->f.strings, "", 1) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
		*pos = i + 1;
		return ITEM_GROUP;
	}

	if (i < len && s[i] == '<') {
		if (parse_angle(c, &i, start, phrase_end, fc, &e) != MIMEO_OK)
			return MIMEO_ENOMEM;
	} else if (i < len && s[i] == '@') {
		/* addr-spec without brackets; words before the local part are
		 * a display name whose brackets were forgotten */
		if (lp_start == NONE && trailing) {
			/* "a@b@c": the second "@c" is garbage, not an entry */
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			i++;
			if (read_domain(c, &i, &e.dom) != MIMEO_OK)
				return MIMEO_ENOMEM;
			*pos = i;
			return ITEM_NONE;
		}
		k = lp_start == NONE ? i : lp_start;
		if (lp_start != NONE && first_word != lp_start) {
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			if (emit_phrase(c, start, lp_start, NULL, 1, &e.dn) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
		mark = c->f.scratch.size;
		if (read_words(c, &k, phrase_end, 0) != MIMEO_OK ||
		    scratch_to_strings(c, mark, &e.lp) != MIMEO_OK)
			return MIMEO_ENOMEM;
		i++;
		if (read_domain(c, &i, &e.dom) != MIMEO_OK)
			return MIMEO_ENOMEM;
		k = i;
		mimeo__skip_cfws(s, len, &k, &c->f.repairs, NULL);
		if (k < len && s[k] == '<' && angle_has_at(s, len, k)) {
			/* "kijitora@example.com <neko@example.net>": an unquoted
			 * display name that looks like an address.  The real
			 * address is the bracketed one (what every client
			 * shows); the text before it is only a name. */
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			e.dn = e.lp = e.dom = NONE;
			i = k;
			if (parse_angle(c, &i, start, k, fc, &e) != MIMEO_OK)
				return MIMEO_ENOMEM;
			*pos = i;
			return push_ent(c, &e) != MIMEO_OK ? MIMEO_ENOMEM : ITEM_ADDRESS;
		}
		if (e.dn == NONE) {
			/* "user@example.com (John Doe)": the comment names it */
			size_t j = i;

			mimeo__skip_cfws(s, len, &j, &c->f.repairs, fc);
			if (emit_phrase(c, j, j, fc, 1, &e.dn) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
	} else {
		/* no address at all: "user", "undisclosed-recipients", a
		 * lone display name.  Kept as a local part without domain. */
		if (!words || trailing) {
			if (words)
				c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			*pos = i;
			return ITEM_NONE;
		}
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		k = first_word;
		mark = c->f.scratch.size;
		if (read_words(c, &k, phrase_end, 1) != MIMEO_OK ||
		    scratch_to_strings(c, mark, &e.lp) != MIMEO_OK)
			return MIMEO_ENOMEM;
		*pos = i;
		return push_ent(c, &e) != MIMEO_OK ? MIMEO_ENOMEM : ITEM_ADDRESS;
	}
	*pos = i;
	if (trailing) {
		/* text after an address without a comma: an entry only if it
		 * holds a whole address ("a@b c@d"), else garbage ("<nl>") */
		c->f.repairs |= MIMEO_REPAIR_SYNTAX;
		if (e.dom == NONE)
			return ITEM_NONE;
	}
	return push_ent(c, &e) != MIMEO_OK ? MIMEO_ENOMEM : ITEM_ADDRESS;
}

static int parse_list(struct actx *c)
{
	const char *s = c->f.s;
	size_t len = c->f.len, i = 0, group = NONE, grp = NONE, k;
	size_t members = 0;
	int trailing = 0, r;

	for (;;) {
		/* look past CFWS for a separator, but hand an entry its leading
		 * comments ("(John Doe) <jd@x>" names the mailbox) */
		k = i;
		mimeo__skip_cfws(s, len, &k, &c->f.repairs, NULL);
		if (k >= len)
			break;
		if (s[k] == ',') {
			trailing = 0;
			i = k + 1;
			continue;
		}
		if (s[k] == ';') {
			i = k + 1;
			trailing = 0;
			if (group == NONE) {
				c->f.repairs |= MIMEO_REPAIR_SYNTAX;
				continue;
			}
			if (!members) {
				/* empty group: one entry carrying the name */
				struct ent e = { NONE, NONE, NONE, group };

				if (push_ent(c, &e) != MIMEO_OK)
					return MIMEO_ENOMEM;
			}
			group = NONE;
			continue;
		}
		if (s[k] == '>') {
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			i = k + 1;
			continue;
		}
		k = i;
		r = parse_item(c, &i, group, trailing, &grp);
		if (r < 0)
			return r;
		if (i == k) {
			/* a structural character that cannot start anything here
			 * (":" after an address): skip it so the scan progresses */
			c->f.repairs |= MIMEO_REPAIR_SYNTAX;
			i++;
		}
		if (r == ITEM_GROUP) {
			group = grp;
			members = 0;
			trailing = 0;
			continue;
		}
		if (r == ITEM_ADDRESS)
			members++;
		/* anything but a separator next is trailing text */
		trailing = 1;
	}
	if (group != NONE) {
		c->f.repairs |= MIMEO_REPAIR_SYNTAX; /* group without ";" */
		if (!members) {
			struct ent e = { NONE, NONE, NONE, group };

			if (push_ent(c, &e) != MIMEO_OK)
				return MIMEO_ENOMEM;
		}
	}
	return MIMEO_OK;
}

int mimeo_address_list_parse(mimeo_address_list **out, mimeo_charset_cache *cc,
			     const mimeo_header_options *opts, const char *in, size_t len)
{
	const mimeo_allocator *alloc = mimeo__header_alloc(opts);
	struct actx c;
	struct list_holder *h;
	mimeo_address *items;
	char *strs;
	size_t k;
	int rc = MIMEO_ENOMEM;

	if (!out)
		return MIMEO_EINVAL;
	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (mimeo__fparse_begin(&c.f, cc, opts, in, len) != MIMEO_OK)
		return MIMEO_EINVAL;

	if (parse_list(&c) != MIMEO_OK)
		goto out;
	h = mimeo__fparse_result(&c.f, sizeof(*h), c.n, sizeof(mimeo_address), &strs);
	if (!h)
		goto out;
	items = (mimeo_address *)(h + 1);
	for (k = 0; k < c.n; k++) {
		const struct ent *e = &c.ents[k];

		items[k].display_name = e->dn == NONE ? NULL : strs + e->dn;
		items[k].local_part = e->lp == NONE ? NULL : strs + e->lp;
		items[k].domain = e->dom == NONE ? NULL : strs + e->dom;
		items[k].group = e->grp == NONE ? NULL : strs + e->grp;
	}
	h->alloc = alloc;
	h->pub.items = c.n ? items : NULL;
	h->pub.count = c.n;
	h->pub.repairs = c.f.repairs;
	*out = &h->pub;
	rc = MIMEO_OK;
out:
	mimeo__free(alloc, c.ents);
	mimeo__fparse_end(&c.f);
	return rc;
}

void mimeo_address_list_free(mimeo_address_list *l)
{
	struct list_holder *h = (struct list_holder *)l;

	if (!l)
		return;
	mimeo__free(h->alloc, h);
}
