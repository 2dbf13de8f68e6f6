#!/bin/sh
# test_example.sh - docs/examples/mail-client.c builds (meson) and answers
# the mail-client questions on tests/data/client.eml: addresses, decoded
# Subject, Date with its zone, the body a client shows (the HTML, not the
# forwarded message's text), the cid: link found in that HTML, and the
# attachments listed and saved byte for byte, never over an existing file.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
. "$(dirname "$0")/cli_testlib.sh"

EX=${MIMEO_EXAMPLE:?MIMEO_EXAMPLE must point to the built mail-client}
mkdir -p "$T/out"
"$EX" "$SRC/tests/data/client.eml" "$T/out" > "$T/stdout" 2> "$T/stderr" || fail "mail-client exited $?"

want() {
	checks=$((checks + 1))
	grep -qxF "$1" "$T/stdout" || fail "missing line: $1"
}
want "From: Jason Lee (Sales) <jason@example.com>"
want "To: Alice Liddell <alice@example.com>"
want "To: Bob, Jr. <bob@example.com>"
want "To: Zoë <zoe@example.com>"
want "Subject: Re: Grüße aus Köln"
want "Date: 2026-12-07 10:00 (+0100)"
want '<p>Logo: <img src="cid:logo%40example.com"></p>'
want "cid:logo%40example.com is part 1.2 (image/png)"
want "attachment 1.2: logo.png, 8 bytes"
want "attachment 2: report.pdf, 9 bytes"
checks=$((checks + 1))
grep -q "inner body" "$T/stdout" && fail "the forwarded message's text was shown as the body"
checks=$((checks + 1))
[ "$(grep -c '^attachment ' "$T/stdout")" -eq 2 ] || fail "not exactly two attachments"
checks=$((checks + 1))
[ "$(od -An -tx1 "$T/out/report.pdf" | tr -d ' \n')" = "255044462d312e340a" ] ||
	fail "report.pdf not decoded: $(od -An -tx1 "$T/out/report.pdf")"
checks=$((checks + 1))
[ "$(od -An -tx1 "$T/out/logo.png" | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
	fail "logo.png not decoded: $(od -An -tx1 "$T/out/logo.png")"
checks=$((checks + 1))
[ ! -s "$T/stderr" ] || fail "stderr: $(cat "$T/stderr")"

# a second run must not overwrite what the first saved: exit 1, files kept
echo keep > "$T/out/report.pdf"
checks=$((checks + 1))
"$EX" "$SRC/tests/data/client.eml" "$T/out" > /dev/null 2> "$T/stderr" && fail "overwrite not refused"
checks=$((checks + 1))
[ "$(cat "$T/out/report.pdf")" = keep ] || fail "report.pdf was overwritten"
checks=$((checks + 1))
grep -q "cannot save .*/report.pdf" "$T/stderr" || fail "no message for the refused save"

# a message without Subject prints an empty one ("" from the library, not NULL)
printf 'From: a@b.example\n\nhello\n' > "$T/plain.eml"
"$EX" "$T/plain.eml" > "$T/stdout" 2> "$T/stderr" || fail "plain message: exit $?"
want "Subject: "
want "hello"
want "From: <a@b.example>"

# an unreadable message: exit 2
checks=$((checks + 1))
"$EX" "$T/missing.eml" > /dev/null 2>&1
[ $? -eq 2 ] || fail "missing file: not exit 2"

echo "test_example: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
