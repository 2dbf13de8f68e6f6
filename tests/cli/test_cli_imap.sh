#!/bin/sh
# test_cli_imap.sh - the `mimeo imap FILE` contract (issue 18, mimeo.1):
# exactly two lines, "BODYSTRUCTURE <value>" then "ENVELOPE <value>", where
# a literal {n} CRLF <n bytes> may span lines; FILE as a path, `-` and .gz;
# usage errors exit 2 with one "mimeo: " line, unreadable input exits 1.
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"
D=$SRC/tests/data

# the whole output of a single-part message, byte for byte
printf 'From: "Joe" <joe@example.com>\nSubject: Hi\nDate: Mon, 7 Dec 2026 01:00:00 +0000\n\nhello\n' >"$T/one.eml"
"$CLI" imap "$T/one.eml" >"$T/out" 2>"$T/err" || fail "imap one.eml exited $?"
printf '%s\n%s\n' \
	'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL)' \
	'ENVELOPE ("Mon, 7 Dec 2026 01:00:00 +0000" "Hi" (("Joe" NIL "joe" "example.com")) (("Joe" NIL "joe" "example.com")) (("Joe" NIL "joe" "example.com")) NIL NIL NIL NIL NIL)' \
	>"$T/want"
cmp -s "$T/out" "$T/want" || fail "imap one.eml: $(diff "$T/want" "$T/out")"
[ -s "$T/err" ] && fail "imap one.eml wrote to stderr"

# a literal spans lines: sample.eml's To holds 8-bit bytes; the output is
# two IMAP lines once the literal's bytes are skipped
"$CLI" imap "$D/sample.eml" >"$T/out" || fail "imap sample.eml exited $?"
python3 - "$T/out" <<'PY' || fail "imap sample.eml: not two lines with literals"
import re, sys
data = open(sys.argv[1], "rb").read()
out, i = [], 0
while i < len(data):
    m = re.compile(rb"\{(\d+)\}\r\n").search(data, i)
    nl = data.find(b"\n", i)
    if m and m.start() < nl:
        i = m.end() + int(m.group(1))
        continue
    out.append(nl)
    i = nl + 1
lines = data.split(b"\n")
assert data.startswith(b"BODYSTRUCTURE ("), data[:40]
assert len(out) == 2, out
assert data[out[0] + 1:].startswith(b"ENVELOPE ("), data[out[0]:out[0] + 20]
assert b"{15}\r\nZo\xc3\xab \xc3\x85ngstr\xc3\xb6m" in data
PY

# `-` and .gz give the same output as the file
"$CLI" imap "$D/forward.eml" >"$T/a" || fail "imap forward.eml"
"$CLI" imap - <"$D/forward.eml" >"$T/b" || fail "imap -"
gzip -c "$D/forward.eml" >"$T/f.eml.gz"
"$CLI" imap "$T/f.eml.gz" >"$T/c" || fail "imap .gz"
cmp -s "$T/a" "$T/b" || fail "imap - differs from the file"
cmp -s "$T/a" "$T/c" || fail "imap .gz differs from the file"
grep -q '^BODYSTRUCTURE ((".*"message" "rfc822"' "$T/a" || fail "imap forward.eml: no message/rfc822"

# malformed input never fails
head -c 3000 /dev/urandom >"$T/garbage"
"$CLI" imap "$T/garbage" >"$T/out" 2>"$T/err" || fail "imap garbage exited $?"
head -c 14 "$T/out" | grep -q '^BODYSTRUCTURE ' || fail "imap garbage: no BODYSTRUCTURE"

# --compat=dovecot (the server-compatibility profile): "--XX-" delimits,
# "--XX-->" closes and the base64 message/rfc822 is read as it stands, as
# Dovecot 2.3 answers; the default reads RFC 2046's two parts
printf 'Subject: c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n\r\none\r\n--XX-\r\n\r\ntwo\r\n--XX\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXIKCmJvZHkK\r\n--XX-->\r\n' >"$T/compat.eml"
"$CLI" imap --compat=dovecot "$T/compat.eml" >"$T/out" 2>"$T/err" || fail "imap --compat=dovecot exited $?"
printf '%s\n%s\n' \
	'BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "base64" 30 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL)' \
	'ENVELOPE (NIL "c" NIL NIL NIL NIL NIL NIL NIL NIL)' >"$T/want"
cmp -s "$T/out" "$T/want" || fail "imap --compat=dovecot: $(diff "$T/want" "$T/out")"
[ -s "$T/err" ] && fail "imap --compat=dovecot wrote to stderr"
"$CLI" imap "$T/compat.eml" >"$T/out" || fail "imap compat.eml exited $?"
grep -q '^BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 3 ' "$T/out" ||
	fail "imap compat.eml without the profile: $(head -c 200 "$T/out")"

# usage and input errors
for args in "" "--bogus x" "a b" "--compat=gmail x"; do
	# shellcheck disable=SC2086
	"$CLI" imap $args >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 2 ] || fail "imap $args exited $rc, want 2"
	[ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^mimeo: ' "$T/err" || fail "imap $args: stderr $(cat "$T/err")"
	[ -s "$T/out" ] && fail "imap $args wrote to stdout"
done
"$CLI" imap "$T/does-not-exist.eml" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "imap on a missing file should exit 1"
grep -q '^mimeo: ' "$T/err" || fail "imap missing file: no mimeo: line"
"$CLI" --help >"$T/out" 2>&1
grep -q 'imap \[--compat=dovecot\] FILE' "$T/out" || fail "--help lacks imap"

[ "$failures" -eq 0 ] || exit 1
echo "cli-imap: all checks passed"
