#!/bin/sh
# test_cli_build.sh - the `mimeo build` and `mimeo to7bit` contract
# (issue 5): 7-bit output, content types from magic bytes then extension,
# UTF-8 base names as filenames, --crlf, exit statuses, warnings on stderr.
#
# Python's email package is the independent oracle for what a reader gets.
# Environment (set by meson): MIMEO_CLI.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

CLI=${MIMEO_CLI:?MIMEO_CLI must point to the mimeo binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/mimeo-build-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

# inputs: UTF-8 text with "From " and long lines, HTML, a PNG without
# extension, a PDF named .bin (magic wins), a .csv (extension), unknown data
printf 'Gr\303\274\303\237e aus K\303\266ln\nFrom the start\n.\n' > "$T/body.txt"
awk 'BEGIN { for (i = 0; i < 1200; i++) printf "x"; printf "\n" }' >> "$T/body.txt"
printf '<p>Hallo <b>Welt</b></p>\n' > "$T/body.html"
printf '\211PNG\r\n\032\n\000\000\000\rIHDRdata' > "$T/bild ä"
printf '%%PDF-1.4\n%%\342\343\317\323\n' > "$T/report.bin"
printf 'a,b\n1,2\n' > "$T/Übersicht.csv"
head -c 3000 /dev/urandom > "$T/blob.xyz" 2>/dev/null || printf '\001\002\377' > "$T/blob.xyz"

FROM=$(printf 'J\303\266rg M\303\274ller <joerg@example.org>')
SUBJ=$(printf 'Gr\303\274\303\237e \342\202\254 100')
"$CLI" build --from "$FROM" --to 'a@example.com, "B, C" <b@example.com>' \
	--cc c@example.com --subject "$SUBJ" \
	--text "$T/body.txt" --html "$T/body.html" \
	--attach "$T/bild ä" --attach "$T/report.bin" --attach "$T/Übersicht.csv" \
	--attach "$T/blob.xyz" > "$T/out.eml" 2> "$T/err"
st=$?
[ "$st" -eq 0 ] || fail "build exited $st: $(cat "$T/err")"

python3 - "$T" <<'EOF' || failures=$((failures + 1))
import sys, email, email.policy
t = sys.argv[1]
raw = open(t + "/out.eml", "rb").read()
assert all(b < 128 for b in raw), "8-bit byte in output"
assert all(len(l) <= 998 for l in raw.split(b"\n")), "line over 998"
assert b"\r" not in raw, "CR in LF output"
for l in raw.split(b"\n"):
    assert not l.startswith(b"From "), "From_ line in output"
m = email.message_from_bytes(raw, policy=email.policy.default)
assert str(m["subject"]) == "Grüße € 100", m["subject"]
assert m["from"].addresses[0].display_name == "Jörg Müller", m["from"]
assert [a.addr_spec for a in m["to"].addresses] == ["a@example.com", "b@example.com"]
assert m["cc"].addresses[0].addr_spec == "c@example.com"
assert m.get_content_type() == "multipart/mixed"
body = m.get_body(("plain",))
assert body.get_content() == open(t + "/body.txt", encoding="utf-8").read()
assert m.get_body(("html",)).get_content() == open(t + "/body.html").read()
want = [("bild ä", "image/png"), ("report.bin", "application/pdf"),
        ("Übersicht.csv", "text/csv"), ("blob.xyz", "application/octet-stream")]
got = [(a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
       for a in m.iter_attachments()]
assert [(g[0], g[1]) for g in got] == want, got
for (name, _), g in zip(want, got):
    assert g[2] == open(t + "/" + name, "rb").read(), name + " differs"
EOF

# --crlf: every line break is CRLF
"$CLI" build --crlf --from a@example.org --to b@example.org --subject x \
	--text "$T/body.txt" > "$T/crlf.eml" || fail "build --crlf failed"
python3 - "$T/crlf.eml" <<'EOF' || failures=$((failures + 1))
import sys
raw = open(sys.argv[1], "rb").read()
assert raw.count(b"\n") == raw.count(b"\r\n") > 5, "not CRLF"
EOF

# a reply: Sender, Reply-To, In-Reply-To and References (ids with or without
# brackets), read back by Python's email package
"$CLI" build --from a@example.org --to b@example.org --sender "List <l@example.org>" \
	--reply-to r@example.org --in-reply-to "<p@example.org>" --references r1@example.org \
	--references "<p@example.org>" --subject "Re: x" --text "$T/body.txt" > "$T/reply.eml" ||
	fail "build of a reply failed"
python3 - "$T/reply.eml" <<'EOF' || fail "reply fields not as given"
import sys, email, email.policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
assert str(m["Sender"]) == "List <l@example.org>", m["Sender"]
assert str(m["Reply-To"]) == "r@example.org", m["Reply-To"]
assert m["In-Reply-To"].strip() == "<p@example.org>", m["In-Reply-To"]
assert m["References"].split() == ["<r1@example.org>", "<p@example.org>"], m["References"]
EOF
"$CLI" build --from a@example.org --to b@example.org --references "not an id" > /dev/null 2> "$T/err"
[ $? -eq 1 ] || fail "build with a bad --references id should exit 1"
grep -q '^mimeo: ' "$T/err" || fail "no 'mimeo:' error line for a bad id"

# usage errors: 2; unreadable attachment: 1
"$CLI" build --to b@example.org > /dev/null 2>&1
[ $? -eq 2 ] || fail "build without --from should exit 2"
"$CLI" build --from a@example.org --to b@example.org --attach "$T/missing" > /dev/null 2> "$T/err"
[ $? -eq 1 ] || fail "build with a missing attachment should exit 1"
grep -q '^mimeo: ' "$T/err" || fail "no 'mimeo:' error line"

# to7bit: an 8-bit message becomes 7-bit with the same decoded content;
# a signed 8-bit part gives a warning and exit 0
printf 'From: J\303\266rg <j@example.org>\nSubject: caf\303\251\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nB\303\251b\303\251\n' > "$T/8bit.eml"
"$CLI" to7bit "$T/8bit.eml" > "$T/7bit.eml" 2> "$T/err" || fail "to7bit failed"
python3 - "$T" <<'EOF' || failures=$((failures + 1))
import sys, email, email.policy
t = sys.argv[1]
raw = open(t + "/7bit.eml", "rb").read()
assert all(b < 128 for b in raw), "8-bit byte after to7bit"
m = email.message_from_bytes(raw, policy=email.policy.default)
assert str(m["subject"]) == "café"
assert m.get_content() == "Bébé\n", repr(m.get_content())
EOF
printf 'From: a@example.org\nContent-Type: multipart/signed; boundary=s; protocol="application/pgp-signature"\n\n--s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nsign\303\251\n--s\nContent-Type: application/pgp-signature\n\nsig\n--s--\n' > "$T/signed.eml"
"$CLI" to7bit "$T/signed.eml" > "$T/signed.out" 2> "$T/err"
[ $? -eq 0 ] || fail "to7bit of a signed message should exit 0"
grep -q 'warning' "$T/err" || fail "to7bit of a signed 8-bit part gave no warning"
cmp -s "$T/signed.eml" "$T/signed.out" || fail "signed message was changed"
"$CLI" to7bit > /dev/null 2>&1
[ $? -eq 2 ] || fail "to7bit without FILE should exit 2"

# internationalised domains: with libidn2 (loaded when first needed) the
# IDNA2008 A-label of the case-folded name; without it (a build without
# libidn2) each label punycoded as it is.  A build with libidn2 that cannot
# load it (MIMEO_IDN2_LIBRARY names a missing file) writes no A-label of
# its own: the address becomes an empty group, with a warning saying why.
printf 'From: a@example.org\nTo: x@B\303\234CHER.example\nSubject: idn\n\nhi\n' > "$T/idn.eml"
"$CLI" to7bit "$T/idn.eml" > "$T/idn.out" 2> "$T/err" || fail "to7bit idn.eml failed"
if grep -q '^To: x@xn--bcher-kva\.example$' "$T/idn.out"; then
	MIMEO_IDN2_LIBRARY=libmimeo-test-no-such-idn2.so.0 "$CLI" to7bit "$T/idn.eml" \
		> "$T/idn.out" 2> "$T/err" || fail "to7bit idn.eml without libidn2 failed"
	grep -q '^To: .*:;$' "$T/idn.out" || fail "idn.eml without libidn2: no empty group ($(cat "$T/idn.out"))"
	grep -q 'IDNA2008 needs libidn2, which could not be loaded: libmimeo-test-no-such-idn2' "$T/err" ||
		fail "idn.eml without libidn2: no warning ($(cat "$T/err"))"
else
	grep -q '^To: x@xn--BCHER-2pa\.example$' "$T/idn.out" ||
		fail "idn.eml: neither libidn2's A-label nor plain punycode ($(cat "$T/idn.out"))"
fi

# .eml files are attached as message/rfc822: a clean one as it is (its
# CRLF breaks made the output's), an 8-bit one made 7-bit
printf 'From: b@example.org\r\nSubject: plain\r\n\r\nhello\r\n' > "$T/clean.eml"
"$CLI" build --from a@example.org --to b@example.org --subject fwd \
	--attach "$T/clean.eml" --attach "$T/8bit.eml" > "$T/fwd.eml" 2> "$T/err" ||
	fail "build with .eml attachments failed: $(cat "$T/err")"
python3 - "$T" <<'EOF' || failures=$((failures + 1))
import sys, email, email.policy
t = sys.argv[1]
raw = open(t + "/fwd.eml", "rb").read()
assert all(b < 128 for b in raw), "8-bit byte in output"
assert b"\r" not in raw, "CR in LF output"
m = email.message_from_bytes(raw, policy=email.policy.default)
parts = [p for p in m.iter_attachments()]
assert [p.get_content_type() for p in parts] == ["message/rfc822"] * 2, parts
assert parts[0].get_filename() == "clean.eml", parts[0].get_filename()
inner = [p.get_content() for p in parts]
assert str(inner[0]["subject"]) == "plain" and inner[0].get_content() == "hello\n"
assert str(inner[1]["subject"]) == "café" and inner[1].get_content() == "Bébé\n"
EOF

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all build/to7bit CLI checks passed"
