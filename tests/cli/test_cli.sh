#!/bin/sh
# test_cli.sh - the `mimeo` command-line contract (README "Command-line
# tool", issue 4): tree, tree --json, cat, cat --text, extract, scan; FILE
# as a path, `-` and `.gz`; exit statuses and one-line errors.
#
# Python's email package is the independent oracle for decoded bodies.
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"
C=$SRC/tests/data

# expect_status WANT CMD...: run, compare exit status
expect_status() {
	exp_status=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$exp_status" ]; then
		fail "'$*' exited $got, want $exp_status; stderr: $(head -c 300 "$T/err")"
	else
		ok
	fi
}

# expect_error CMD...: non-zero, nothing on stdout, one line "mimeo: ..."
expect_error() {
	if "$@" >"$T/out" 2>"$T/err"; then
		fail "'$*' succeeded, want failure"
	else
		error_output_ok "$*"
	fi
}

py() {
	python3 - "$@"
}

# --- tree --json: shape and values ---------------------------------------
expect_status 0 "$CLI" tree --json "$C/sample.eml"
cp "$T/out" "$T/sample.json"
py "$T/sample.json" <<'EOF' || fail "tree --json sample.eml content"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert list(d) == ["headers", "parts", "security", "defects", "defect_count"], list(d)
assert d["security"] == [], d["security"]
assert d["defects"] == [] and d["defect_count"] == 0, d["defects"]
names = [h["name"] for h in d["headers"]]
assert names == ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"], names
for h in d["headers"]:
    assert list(h) == ["name", "value"], h
hv = {h["name"]: h["value"] for h in d["headers"]}
assert hv["Subject"] == "Quartalsbericht Q3 \u2014 mit Logo", hv["Subject"]
assert hv["From"] == "J\u00fcrgen M\u00fcller <juergen@example.com>", hv["From"]
assert hv["Content-Type"] == 'multipart/mixed; boundary="==outer=="', hv["Content-Type"]
want = [
 {"section": "1.1", "type": "text/plain", "charset": "utf-8", "encoding": "quoted-printable",
  "disposition": None, "filename": None, "size": 105},
 {"section": "1.2", "type": "text/html", "charset": "utf-8", "encoding": "quoted-printable",
  "disposition": None, "filename": None},
 {"section": "2", "type": "image/png", "charset": None, "encoding": "base64",
  "disposition": "inline", "filename": "logo.png", "size": 463},
 {"section": "3", "type": "application/pdf", "charset": None, "encoding": "base64",
  "disposition": "attachment", "filename": "R\u00e9sum\u00e9 \u2014 Q3.pdf", "size": 3075},
]
assert len(d["parts"]) == len(want), d["parts"]
for got, w in zip(d["parts"], want):
    assert list(got) == ["section", "type", "charset", "encoding", "disposition", "filename", "size"], got
    for k, v in w.items():
        assert got[k] == v, (k, got[k], v)
    assert isinstance(got["size"], int)
EOF
ok

# --- signed and encrypted marks (issue 18) ---------------------------------
expect_status 0 "$CLI" tree "$C/signed.eml"
cat >"$T/want" <<'EOF'
multipart/mixed
  1 multipart/signed  signed pgp
    1.1 text/plain  34 bytes, us-ascii
    1.2 application/pgp-signature  130 bytes, attachment, "signature.asc", signature pgp
  2 multipart/encrypted  encrypted pgp
    2.1 application/pgp-encrypted  11 bytes, encrypted pgp
    2.2 application/octet-stream  122 bytes, inline, "encrypted.asc"
  3 application/pkcs7-mime  23 bytes, base64, attachment, "smime.p7m", encrypted smime
  4 multipart/signed  signed smime
    4.1 text/plain  24 bytes, 8bit, utf-8
    4.2 application/pkcs7-signature  57 bytes, base64, attachment, "smime.p7s", signature smime
  5 application/pkcs7-mime  48 bytes, base64, "smime.p7m", signed smime
  6 application/pgp-keys  78 bytes, keys pgp
EOF
cmp -s "$T/out" "$T/want" || fail "tree signed.eml: $(diff "$T/want" "$T/out")"
expect_status 0 "$CLI" tree --json "$C/signed.eml"
py "$T/out" <<'EOF' || fail "tree --json signed.eml security"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
keys = ["section", "type", "mark", "scheme", "protocol", "micalg", "smime_type"]
for s in d["security"]:
    assert list(s) == keys, s
got = [[s[k] for k in keys] for s in d["security"]]
want = [
 ["1", "multipart/signed", "signed", "pgp", "application/pgp-signature", "pgp-sha256", None],
 ["1.2", "application/pgp-signature", "signature", "pgp", None, None, None],
 ["2", "multipart/encrypted", "encrypted", "pgp", "application/pgp-encrypted", None, None],
 ["2.1", "application/pgp-encrypted", "encrypted", "pgp", None, None, None],
 ["3", "application/pkcs7-mime", "encrypted", "smime", None, None, "enveloped-data"],
 ["4", "multipart/signed", "signed", "smime", "application/pkcs7-signature", "sha-256", None],
 ["4.2", "application/pkcs7-signature", "signature", "smime", None, None, None],
 ["5", "application/pkcs7-mime", "signed", "smime", None, None, "signed-data"],
 ["6", "application/pgp-keys", "keys", "pgp", None, None, None],
]
assert got == want, got
EOF
ok
# the defect list: kind, severity, offset, section, reason, in input order
expect_status 0 "$CLI" tree --json "$C/broken.eml"
py "$T/out" <<'EOF' || fail "tree --json broken.eml defects"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for x in d["defects"]:
    assert list(x) == ["kind", "severity", "offset", "section", "reason"], x
    assert x["reason"], x
got = [[x["kind"], x["severity"], x["offset"], x["section"]] for x in d["defects"]]
want = [["missing-blank-line", "warning", 184, "1"], ["no-boundary", "critical", 402, "3"],
        ["unknown-cte", "warning", 548, "4"], ["missing-close", "warning", 556, ""]]
assert got == want, got
assert d["defect_count"] == 4, d["defect_count"]
EOF
ok

# Every leaf's size and `cat` bytes agree with Python's decoding.
for f in sample forward digest crlf; do
	"$CLI" tree --json "$C/$f.eml" >"$T/$f.json" || fail "tree --json $f.eml"
	for s in $(py "$T/$f.json" <<'EOF'
import json, sys
print(" ".join(p["section"] for p in json.load(open(sys.argv[1]))["parts"]))
EOF
); do
		"$CLI" cat "$C/$f.eml" "$s" >"$T/cat.$f.$s" || fail "cat $f.eml $s"
	done
	py "$C/$f.eml" "$T/$f.json" "$T" "$f" <<'EOF' || fail "cat/size vs Python email for $f.eml"
import email, json, os, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
parts = json.load(open(sys.argv[2]))["parts"]
leaves = []
def walk(m):
    if m.is_multipart():
        for p in m.get_payload():
            walk(p)
    else:
        leaves.append(m)
walk(msg)
assert len(leaves) == len(parts), (len(leaves), len(parts))
for m, p in zip(leaves, parts):
    want = m.get_payload(decode=True)
    got = open(os.path.join(sys.argv[3], "cat.%s.%s" % (sys.argv[4], p["section"])), "rb").read()
    # Python keeps the line break before a boundary in some bodies; RFC 2046
    # 5.1.1 gives it to the boundary, as mimeo does.
    if got != want and want.endswith(b"\n") and got == want[:-1]:
        want = got
    # Python's quoted-printable decoding turns CRLF line ends into LF.
    if got != want and got.replace(b"\r\n", b"\n") == want:
        want = got
    assert got == want, (p["section"], got[:60], want[:60])
    assert p["size"] == len(got), (p["section"], p["size"], len(got))
    assert p["type"] == m.get_content_type(), (p["type"], m.get_content_type())
EOF
	ok
done

# --- human tree ----------------------------------------------------------
expect_status 0 "$CLI" tree "$C/forward.eml"
py "$T/out" <<'EOF' || fail "tree forward.eml: $(cat "$T/out")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines[0].startswith("multipart/mixed"), lines
assert lines[1].startswith("  1 text/plain  "), lines
assert lines[2].startswith("  2 message/rfc822"), lines
assert lines[3].startswith("    2 multipart/mixed"), lines
assert lines[4].startswith("      2.1 text/plain  13 bytes, 8bit, iso-8859-1"), lines
assert lines[5].startswith("      2.2 text/csv  11 bytes") and '"numbers.csv"' in lines[5], lines
assert len(lines) == 8, lines
EOF
ok

# --- cat, cat --text -----------------------------------------------------
"$CLI" cat --text "$C/forward.eml" 2.1 >"$T/text" || fail "cat --text"
printf 'Caf\303\251 at nine?' >"$T/want"
cmp -s "$T/text" "$T/want" || fail "cat --text forward.eml 2.1: $(od -c "$T/text" | head -3)"
"$CLI" cat "$C/forward.eml" 2.1 >"$T/raw" || fail "cat"
printf 'Caf\351 at nine?' >"$T/want"
cmp -s "$T/raw" "$T/want" || fail "cat forward.eml 2.1 is not the raw latin-1 bytes"
"$CLI" cat --text "$C/crlf.eml" 1 >"$T/text" || fail "cat --text crlf"
printf 'Caf\303\251 au lait, soft break.\r\n' >"$T/want"
cmp -s "$T/text" "$T/want" || fail "cat --text crlf.eml 1"
ok

# --- FILE forms: - (stdin) and .gz ---------------------------------------
"$CLI" tree --json - <"$C/sample.eml" >"$T/stdin.json" || fail "tree --json -"
cmp -s "$T/stdin.json" "$T/sample.json" || fail "stdin gives a different tree"
gzip -c "$C/sample.eml" >"$T/sample.eml.gz"
"$CLI" tree --json "$T/sample.eml.gz" >"$T/gz.json" || fail "tree --json .gz"
cmp -s "$T/gz.json" "$T/sample.json" || fail ".gz gives a different tree"
"$CLI" cat "$T/sample.eml.gz" 2 >"$T/gz.png" || fail "cat .gz"
cmp -s "$T/gz.png" "$T/cat.sample.2" || fail "cat .gz bytes"
"$CLI" cat - 3 <"$C/sample.eml" >"$T/stdin.pdf" || fail "cat -"
# bad gzip data: one line naming the problem, never "Success" (errno 0,
# issue 14); a .gz name on plain text is read as it is
head -c 200 "$T/sample.eml.gz" >"$T/cut.eml.gz"
printf '\037\213\010\000\000\000\000\000\000\003garbage-garbage-garbage' >"$T/bad.eml.gz"
for f in cut bad; do
	for cmd in tree ls; do
		expect_error "$CLI" $cmd "$T/$f.eml.gz"
		grep -q "corrupt or cut-off gzip data" "$T/err" || fail "$cmd $f.eml.gz: $(cat "$T/err")"
		grep -q "Success" "$T/err" && fail "$cmd $f.eml.gz says Success"
	done
done
cp "$C/sample.eml" "$T/plain.eml.gz"
"$CLI" tree --json "$T/plain.eml.gz" >"$T/plain.json" || fail "tree --json plain .gz"
cmp -s "$T/plain.json" "$T/sample.json" || fail "a plain file named .gz gives a different tree"
cmp -s "$T/stdin.pdf" "$T/cat.sample.3" || fail "cat - bytes"
ok
# a real pipe (not seekable: the redirect above is the file itself) is
# spooled: in memory under 1 MiB, past it in an unlinked file in $TMPDIR
cat "$C/sample.eml" | "$CLI" cat - 3 >"$T/pipe.pdf" || fail "cat - from a pipe"
cmp -s "$T/pipe.pdf" "$T/cat.sample.3" || fail "cat - from a pipe: bytes"
py "$T/big.eml" "$T/big.bin" <<'EOF'
import base64, random, sys
r = random.Random(13)
data = bytes(r.getrandbits(8) for _ in range(1500000))
open(sys.argv[2], "wb").write(data)
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n"
            b"--b\nContent-Type: application/octet-stream\n"
            b"Content-Disposition: attachment; filename=big.bin\n"
            b"Content-Transfer-Encoding: base64\n\n")
    f.write(base64.encodebytes(data))
    f.write(b"--b--\n")
EOF
mkdir "$T/tmp"
cat "$T/big.eml" | TMPDIR="$T/tmp" "$CLI" cat - 2 >"$T/pipe.bin" || fail "cat - of 2 MB from a pipe"
cmp -s "$T/pipe.bin" "$T/big.bin" || fail "cat - of 2 MB from a pipe: bytes"
[ -z "$(ls -A "$T/tmp")" ] || fail "the spool file outlived mimeo: $(ls -A "$T/tmp")"
cat "$T/big.eml" | TMPDIR="$T/tmp" "$CLI" extract - -o "$T/pipe-x" >/dev/null ||
	fail "extract - of 2 MB from a pipe"
cmp -s "$T/pipe-x/big.bin" "$T/big.bin" || fail "extract - from a pipe: bytes ($(ls "$T/pipe-x"))"
# $TMPDIR unusable (a file, so root cannot write it either): past the
# threshold a clear error and exit 1, nothing on stdout; under it no
# temporary file is needed
: >"$T/not-a-dir"
cat "$T/big.eml" | TMPDIR="$T/not-a-dir" "$CLI" cat - 2 >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] || fail "TMPDIR not writable: exit $rc, want 1"
[ ! -s "$T/out" ] || fail "TMPDIR not writable: output on stdout"
grep -q '^mimeo: cannot read -: .*temporary file.*TMPDIR' "$T/err" ||
	fail "TMPDIR not writable: message '$(cat "$T/err")'"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "TMPDIR not writable: one line, not $(wc -l <"$T/err")"
cat "$C/sample.eml" | TMPDIR="$T/not-a-dir" "$CLI" cat - 3 >"$T/pipe.pdf" ||
	fail "a small message from a pipe needs no TMPDIR"
cmp -s "$T/pipe.pdf" "$T/cat.sample.3" || fail "small pipe, no TMPDIR: bytes"
ok

# --- JSON escaping -------------------------------------------------------
# A subject with quotes, backslash, controls, U+2028 and raw invalid bytes;
# a filename with a newline.
printf 'Subject: =?UTF-8?B?%s?=\nX-Raw: a\377b\nContent-Type: text/plain; name="=?UTF-8?Q?a=0Ab=22c?="\n\nx\n' \
	"$(printf 'q"b\\c\001d\te\342\200\250f' | base64 | tr -d '\n')" >"$T/esc.eml"
expect_status 0 "$CLI" tree --json "$T/esc.eml"
py "$T/out" <<'EOF' || fail "JSON escaping: $(cat "$T/out")"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert b"\x01" not in raw and b"\xff" not in raw and b"\xe2\x80\xa8" not in raw, raw
d = json.loads(raw.decode("utf-8"))
hv = {h["name"]: h["value"] for h in d["headers"]}
assert hv["Subject"] == 'q"b\\c\x01d\te\u2028f', repr(hv["Subject"])
assert "\ufffd" in hv["X-Raw"] or hv["X-Raw"] == "a\u00ffb", repr(hv["X-Raw"])
# the parameter decoder may turn the control character into a space
assert d["parts"][0]["filename"] in ('a\nb"c', 'a b"c'), d["parts"]
EOF
ok

# --- extract -------------------------------------------------------------
mkdir "$T/x"
expect_status 0 "$CLI" extract "$C/hostile-names.eml" -o "$T/x/out"
cp "$T/out" "$T/extract1"
py "$T/x/out" "$T/extract1" <<'EOF' || fail "extract hostile-names.eml: $(ls -A "$T/x/out"; cat "$T/extract1")"
import os, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
# "tab\there\nnewline\x1b[31m.txt": the header decoder may have made the
# newline a space already; the sanitiser makes the rest '_'
ctl = [n for n in names if n.startswith("tab_here")]
assert ctl in (["tab_here_newline_[31m.txt"], ["tab_here newline_[31m.txt"]), names
want = sorted(["__._etc_passwd", "bashrc", "same.txt", "same-1.txt", "C:_Windows_evil.exe",
               ctl[0], "attachment"])
assert names == want, names
lines = open(sys.argv[2]).read().splitlines()
assert sorted(lines) == sorted(os.path.join(d, n) for n in want), lines
assert open(os.path.join(d, "same.txt"), "rb").read() == b"one"
assert open(os.path.join(d, "same-1.txt"), "rb").read() == b"two"
assert open(os.path.join(d, "__._etc_passwd"), "rb").read() == b"root:x:0:0"
EOF
# nothing escaped the output folder
[ "$(ls -A "$T/x")" = "out" ] || fail "extract wrote outside DIR: $(ls -A "$T/x")"
# a second run never overwrites
echo precious >"$T/x/out/bashrc.keep"
cp "$T/x/out/same.txt" "$T/same.before"
expect_status 0 "$CLI" extract "$C/hostile-names.eml" -o "$T/x/out"
grep -q '/same-2.txt$' "$T/out" || fail "second extract did not pick same-2.txt: $(cat "$T/out")"
grep -q '/bashrc-1$' "$T/out" || fail "second extract did not pick bashrc-1: $(cat "$T/out")"
cmp -s "$T/x/out/same.txt" "$T/same.before" || fail "extract overwrote same.txt"
[ "$(ls "$T/x/out" | wc -l)" -eq 15 ] || fail "second extract: $(ls "$T/x/out")"
# a symbolic link in DIR is never followed
ln -s "$T/victim" "$T/x/out/logo.png"
expect_status 0 "$CLI" extract "$C/sample.eml" -o "$T/x/out"
[ ! -e "$T/victim" ] || fail "extract followed a symbolic link"
grep -q '/logo-1.png$' "$T/out" || fail "extract over a symlink: $(cat "$T/out")"
py "$T/out" <<'EOF' || fail "extract sample.eml names: $(cat "$T/out")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 2 and lines[1].endswith("/R\u00e9sum\u00e9 \u2014 Q3.pdf"), lines
EOF
cmp -s "$T/x/out/logo-1.png" "$T/cat.sample.2" || fail "extracted png differs from cat"
ok

# --- scan ----------------------------------------------------------------
expect_status 0 "$CLI" scan "$C/sample.eml"
[ "$(cat "$T/out")" = "messages 1 parts 4 bytes $(py "$T/sample.json" <<'EOF'
import json, sys
print(sum(p["size"] for p in json.load(open(sys.argv[1]))["parts"]))
EOF
)" ] || fail "scan sample.eml: $(cat "$T/out")"
# an mbox of the samples, with a body line that needs un-quoting
{
	for f in sample forward digest; do
		echo "From sender@example.com Mon Nov 23 11:48:51 2026"
		sed 's/^\(>*From \)/>\1/' "$C/$f.eml"
		echo
	done
	echo "From sender@example.com Mon Nov 23 11:48:52 2026"
	printf 'Subject: quoted\n\n>From the start\n>>From two\n'
} >"$T/box.mbox"
want_parts=0
want_bytes=0
for f in sample forward digest; do
	set -- $(py "$T/$f.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))["parts"]
print(len(p), sum(x["size"] for x in p))
EOF
)
	want_parts=$((want_parts + $1))
	want_bytes=$((want_bytes + $2))
done
# the last message's body "From the start\n>From two\n" is 25 bytes
want="messages 4 parts $((want_parts + 1)) bytes $((want_bytes + 25))"
expect_status 0 "$CLI" scan --mbox "$T/box.mbox"
[ "$(cat "$T/out")" = "$want" ] || fail "scan --mbox: $(cat "$T/out"), want $want"
# detected without --mbox from the first line, through .gz and stdin too
expect_status 0 "$CLI" scan "$T/box.mbox"
[ "$(cat "$T/out")" = "$want" ] || fail "scan (mbox sniffed): $(cat "$T/out")"
gzip -c "$T/box.mbox" >"$T/box.mbox.gz"
expect_status 0 "$CLI" scan "$T/box.mbox.gz"
[ "$(cat "$T/out")" = "$want" ] || fail "scan .gz: $(cat "$T/out")"
# gzip is found by its content, not by the name (as every command finds
# it): a gzip file under a plain name is inflated, also piped in, also
# when -j would split a large mbox (its offsets are no file offsets) ...
cp "$T/box.mbox.gz" "$T/gzipped.mbox"
expect_status 0 "$CLI" scan "$T/gzipped.mbox"
[ "$(cat "$T/out")" = "$want" ] || fail "scan gzip named .mbox: $(cat "$T/out"), want $want"
cat "$T/box.mbox.gz" | "$CLI" scan - >"$T/out" 2>&1 || fail "scan - (gzip pipe)"
[ "$(cat "$T/out")" = "$want" ] || fail "scan - (gzip pipe): $(cat "$T/out"), want $want"
for opt in "" --mbox; do
	MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 3 $opt "$T/gzipped.mbox" >"$T/out" 2>&1 ||
		fail "scan -j 3 $opt gzip named .mbox: $(cat "$T/out")"
	[ "$(cat "$T/out")" = "$want" ] || fail "scan -j 3 $opt gzip named .mbox: $(cat "$T/out")"
done
# ... and a plain file named .gz is plain, whole and split by -j
cp "$T/box.mbox" "$T/plain.mbox.gz"
expect_status 0 "$CLI" scan "$T/plain.mbox.gz"
[ "$(cat "$T/out")" = "$want" ] || fail "scan plain named .gz: $(cat "$T/out"), want $want"
MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 3 "$T/plain.mbox.gz" >"$T/out" 2>&1 ||
	fail "scan -j 3 plain named .gz: $(cat "$T/out")"
[ "$(cat "$T/out")" = "$want" ] || fail "scan -j 3 plain named .gz: $(cat "$T/out")"
# a Maildir's gzip-compressed files (as Dovecot's zlib plugin stores them)
mkdir -p "$T/gzmd/cur" "$T/gzmd/new" "$T/gzmd/tmp"
gzip -c "$C/sample.eml" >"$T/gzmd/cur/1.host:2,S"
cp "$C/sample.eml" "$T/gzmd/cur/2.host:2,S"
"$CLI" scan "$C/sample.eml" "$C/sample.eml" >"$T/out2" 2>&1 || fail "scan sample twice"
expect_status 0 "$CLI" scan "$T/gzmd"
[ "$(cat "$T/out")" = "$(cat "$T/out2")" ] ||
	fail "scan Maildir with a gzip file: $(cat "$T/out"), want $(cat "$T/out2")"
"$CLI" scan --mbox - <"$T/box.mbox" >"$T/out" 2>&1 || fail "scan -"
[ "$(cat "$T/out")" = "$want" ] || fail "scan -: $(cat "$T/out")"
# several files add up; no progress output when stderr is not a terminal
"$CLI" scan "$C/sample.eml" "$C/sample.eml" >"$T/out" 2>"$T/err" || fail "scan two files"
case "$(cat "$T/out")" in
"messages 2 parts 8 "*) ok ;;
*) fail "scan two files: $(cat "$T/out")" ;;
esac
[ ! -s "$T/err" ] || fail "scan wrote to stderr: $(cat "$T/err")"
# --structure: the same counts, nothing decoded: bytes are the leaves' raw
# (still transfer-encoded) sizes, Python's undecoded payloads
for f in sample forward digest; do
	expect_status 0 "$CLI" scan --structure "$C/$f.eml"
	want_raw=$(py "$C/$f.eml" <<'EOF'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
leaves = [p for p in m.walk() if not p.is_multipart() and isinstance(p.get_payload(), str)]
print("messages 1 parts %d bytes %d" % (len(leaves), sum(len(p.get_payload()) for p in leaves)))
EOF
)
	[ "$(cat "$T/out")" = "$want_raw" ] || fail "scan --structure $f.eml: $(cat "$T/out"), want $want_raw"
done
[ "$("$CLI" scan --structure "$C/sample.eml")" != "$("$CLI" scan "$C/sample.eml")" ] ||
	fail "scan --structure decoded sample.eml"
expect_status 0 "$CLI" scan --structure --mbox "$T/box.mbox"
case "$(cat "$T/out")" in
"messages 4 parts $((want_parts + 1)) bytes "*) ok ;;
*) fail "scan --structure --mbox: $(cat "$T/out"), want ${want%bytes*}" ;;
esac
"$CLI" scan --structure "$T/box.mbox.gz" >"$T/out2" 2>&1 || fail "scan --structure .gz"
cmp -s "$T/out" "$T/out2" || fail "scan --structure .gz: $(cat "$T/out2")"
# a base64-encoded message/rfc822 is still decoded to count the parts inside
{
	printf 'Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n'
	printf 'Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\n--b--\n' | base64
} >"$T/enc.eml"
expect_status 0 "$CLI" scan --structure "$T/enc.eml"
[ "$(cat "$T/out")" = "messages 1 parts 2 bytes 2" ] || fail "scan --structure enc.eml: $(cat "$T/out")"
expect_status 0 "$CLI" --help
grep -q 'scan \[--mbox\] \[--structure\]' "$T/out" || fail "--help lacks scan --structure"
# malformed mail never fails
for f in broken hostile-names; do
	expect_status 0 "$CLI" scan "$C/$f.eml"
	expect_status 0 "$CLI" tree --json "$C/$f.eml"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "tree --json $f.eml is not JSON"
	expect_status 0 "$CLI" tree "$C/$f.eml"
done
head -c 5000 /dev/urandom >"$T/garbage"
expect_status 0 "$CLI" tree --json "$T/garbage"
expect_status 0 "$CLI" scan "$T/garbage"

# --- errors: exit status and one line on stderr ----------------------------
expect_error "$CLI" tree "$T/does-not-exist.eml"
expect_error "$CLI" tree --json "$T/does-not-exist.eml.gz"
expect_error "$CLI" tree
expect_error "$CLI" tree --bogus "$C/sample.eml"
expect_error "$CLI" tree "$C/sample.eml" extra
expect_error "$CLI" cat "$C/sample.eml"
expect_error "$CLI" cat "$C/sample.eml" 9
expect_error "$CLI" cat "$C/sample.eml" 1
expect_error "$CLI" cat "$T/does-not-exist.eml" 1
expect_error "$CLI" extract "$C/sample.eml"
expect_error "$CLI" extract "$C/sample.eml" -o
expect_error "$CLI" extract "$T/does-not-exist.eml" -o "$T/y"
expect_error "$CLI" extract "$C/sample.eml" -o "$C/sample.eml/sub"
expect_error "$CLI" scan
expect_error "$CLI" scan --bogus "$C/sample.eml"
expect_error "$CLI" scan "$C/sample.eml" "$T/does-not-exist.eml"
expect_error "$CLI" no-such-command
head -c 40 "$T/sample.eml.gz" >"$T/cut.gz"
expect_error "$CLI" tree "$T/cut.gz"
expect_error "$CLI" tree "$C"
[ -w /dev/full ] && {
	"$CLI" cat "$C/sample.eml" 3 >/dev/full 2>"$T/err"
	[ $? -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^mimeo: cannot write' "$T/err" ||
		fail "cat to a full disk: $(cat "$T/err")"
	{ printf 'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n'
	  head -c 200000 /dev/zero | base64; } >"$T/big.eml"
	"$CLI" cat "$T/big.eml" 1 >/dev/full 2>"$T/err"
	[ $? -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] || fail "big cat to a full disk: $(cat "$T/err")"
	"$CLI" tree --json "$C/sample.eml" >/dev/full 2>"$T/err"
	[ $? -eq 1 ] && grep -q '^mimeo: cannot write' "$T/err" || fail "tree to a full disk"
}
expect_status 0 "$CLI" tree "$C/crlf.eml"
case "$(cat "$T/out")" in
"1 text/plain  27 bytes, quoted-printable, iso-8859-1") ok ;;
*) fail "tree crlf.eml: $(cat "$T/out")" ;;
esac
expect_status 2 "$CLI" tree
expect_status 2 "$CLI" cat "$C/sample.eml"
expect_status 2 "$CLI" scan --bogus x
expect_status 1 "$CLI" cat "$C/sample.eml" 9
expect_status 1 "$CLI" tree "$T/does-not-exist.eml"

# --- real mail: every 20th file of ../shared/corpus, when present ---------
# tree --json is valid JSON, every leaf's `cat` size equals its JSON size,
# extract succeeds and writes as many files as it prints lines.
CORPUS=${MIMEO_SHARED_CORPUS:-$SRC/../shared/corpus}
if [ -f "$CORPUS/INDEX.tsv" ]; then
	py "$CLI" "$CORPUS" "$T" <<'EOF' || fail "shared corpus sample"
import json, os, subprocess, sys
cli, corpus, tmp = sys.argv[1:4]
rows = [l.split("\t")[0] for l in open(os.path.join(corpus, "INDEX.tsv")).read().splitlines()[1:]]
bad = 0
for i, rel in enumerate(rows[::20]):
    f = os.path.join(corpus, rel)
    p = subprocess.run([cli, "tree", "--json", f], capture_output=True)
    if p.returncode or p.stderr:
        print("tree", rel, p.returncode, p.stderr[:200]); bad += 1; continue
    d = json.loads(p.stdout.decode("utf-8"))
    for part in d["parts"][:4]:
        q = subprocess.run([cli, "cat", f, part["section"]], capture_output=True)
        if q.returncode or len(q.stdout) != part["size"]:
            print("cat", rel, part["section"], len(q.stdout), part["size"]); bad += 1
    out = os.path.join(tmp, "corpus-x%d" % i)
    q = subprocess.run([cli, "extract", f, "-o", out], capture_output=True)
    if q.returncode or q.stderr:
        print("extract", rel, q.stderr[:200]); bad += 1
    elif os.path.isdir(out) and len(os.listdir(out)) != len(q.stdout.splitlines()):
        print("extract count", rel); bad += 1
sys.exit(1 if bad else 0)
EOF
	ok
fi

echo "test_cli: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
