#!/bin/sh
# test_cli_expand.sh - files inside parts (issue 18, mimeo.1): uuencoded and
# yEnc files in a text body and the contents of a winmail.dat are children
# in `tree` and `tree --json`, readable with `cat`, written by `extract`
# (names sanitised and unique); a begin line without its block stays text;
# `extract --no-expand` saves the winmail.dat itself.
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"
C=$SRC/../shared/corpus

# a text body: a uuencoded file with a hostile name, a yEnc file, a begin
# line whose block never ends
python3 - "$T/uu.eml" "$T/a.bin" <<'PY'
import binascii, sys
a = bytes((i * 7 + 3) % 256 for i in range(500))
open(sys.argv[2], "wb").write(a)
body = b"Hello,\nbegin the meeting at noon.\n\nbegin 644 ../../evil/a.bin\n"
for i in range(0, len(a), 45):
    body += binascii.b2a_uu(a[i:i + 45], backtick=True)
body += b"`\nend\nand a yEnc file:\n"
body += b"=ybegin line=128 size=3 name=c.txt\n" + bytes((c + 42) % 256 for c in b"abc")
body += b"\n=yend size=3\nbegin 644 broken.bin\nM86)C\n"
msg = (b"From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
       b"--b\nContent-Type: text/plain\n\n" + body + b"\n--b--\n")
open(sys.argv[1], "wb").write(msg)
PY

"$CLI" tree "$T/uu.eml" >"$T/out" 2>"$T/err" || fail "tree uu.eml exited $?"
grep -q '^    1\.1 application/octet-stream  500 bytes, attachment, "\.\./\.\./evil/a\.bin", from uuencode$' "$T/out" ||
	fail "tree: no uuencoded child: $(cat "$T/out")"
grep -q '^    1\.2 text/plain  3 bytes, attachment, "c\.txt", from yenc$' "$T/out" ||
	fail "tree: no yEnc child: $(cat "$T/out")"
grep -q 'broken' "$T/out" && fail "tree: a begin line without its block became a child"
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "tree: not 4 lines: $(cat "$T/out")"

"$CLI" tree --json "$T/uu.eml" >"$T/out" || fail "tree --json exited $?"
python3 - "$T/out" <<'PY' || fail "tree --json: derived parts wrong: $(cat "$T/out")"
import json, sys
parts = json.load(open(sys.argv[1]))["parts"]
assert [p["section"] for p in parts] == ["1", "1.1", "1.2"], parts
assert "derived" not in parts[0]
assert parts[1]["derived"] == "uuencode" and parts[1]["size"] == 500
assert parts[1]["filename"] == "../../evil/a.bin" and parts[1]["disposition"] == "attachment"
assert parts[2]["derived"] == "yenc" and parts[2]["type"] == "text/plain"
PY

"$CLI" cat "$T/uu.eml" 1.1 >"$T/got" || fail "cat 1.1 exited $?"
cmp -s "$T/got" "$T/a.bin" || fail "cat 1.1: not the uuencoded file"
[ "$("$CLI" cat "$T/uu.eml" 1.2)" = abc ] || fail "cat 1.2: not abc"
"$CLI" cat "$T/uu.eml" 1.3 >/dev/null 2>"$T/err" && fail "cat 1.3 succeeded"
grep -q "no section '1.3'" "$T/err" || fail "cat 1.3: $(cat "$T/err")"

# extract: sanitised, unique names; the text part itself has no filename
"$CLI" extract "$T/uu.eml" -o "$T/x" >"$T/out" 2>"$T/err" || fail "extract exited $?"
# "../../evil/a.bin" as mimeo_filename_sanitize() makes it
[ -f "$T/x/__._evil_a.bin" ] && cmp -s "$T/x/__._evil_a.bin" "$T/a.bin" || fail "extract: a.bin: $(ls -R "$T/x")"
[ "$(cat "$T/x/c.txt")" = abc ] || fail "extract: c.txt"
[ "$(find "$T/x" -type f | wc -l)" -eq 2 ] || fail "extract: not 2 files: $(ls -R "$T/x")"
[ -e "$T/evil" ] && fail "extract wrote outside DIR"
"$CLI" extract "$T/uu.eml" -o "$T/x" >/dev/null 2>&1 || fail "extract again exited $?"
[ -f "$T/x/__._evil_a-1.bin" ] || fail "extract again: no unique name: $(ls "$T/x")"
"$CLI" extract --no-expand "$T/uu.eml" -o "$T/y" >/dev/null 2>&1 || fail "extract --no-expand exited $?"
[ -d "$T/y" ] && [ "$(find "$T/y" -type f | wc -l)" -ne 0 ] && fail "extract --no-expand wrote files"

# winmail.dat: its contents instead of itself; MimeKit's expected files
if [ -f "$C/mimekit-tnef/rich-text.eml" ]; then
	"$CLI" tree "$C/mimekit-tnef/rich-text.eml" >"$T/out" || fail "tree rich-text.eml exited $?"
	grep -q '^    2\.1 text/rtf .*"message\.rtf", from tnef$' "$T/out" ||
		fail "tree rich-text.eml: $(cat "$T/out")"
	"$CLI" extract "$C/mimekit-tnef/rich-text.eml" -o "$T/t" >/dev/null 2>&1 || fail "extract rich-text.eml exited $?"
	[ -f "$T/t/message.rtf" ] || fail "extract rich-text.eml: no message.rtf: $(ls "$T/t")"
	[ -e "$T/t/winmail.dat" ] && fail "extract rich-text.eml: saved the opened winmail.dat"
	"$CLI" extract --no-expand "$C/mimekit-tnef/rich-text.eml" -o "$T/t2" >/dev/null 2>&1 ||
		fail "extract --no-expand rich-text.eml exited $?"
	[ -f "$T/t2/winmail.dat" ] || fail "extract --no-expand: no winmail.dat: $(ls "$T/t2")"
fi
if [ -f "$C/mimekit-yenc/00000020.ntx" ]; then
	"$CLI" cat "$C/mimekit-yenc/00000020.ntx" 1.1 >"$T/p1" || fail "cat 00000020.ntx 1.1 exited $?"
	head -c 11250 "$C/mimekit-yenc/joystick.jpg" | cmp -s - "$T/p1" || fail "00000020.ntx 1.1: not the first part"
fi

# a yEnc file whose CRC-32 is not its crc32=: a warning, the file is kept
printf 'Subject: y\n\n=ybegin line=128 size=3 name=bad.bin\nabc\n=yend size=3 crc32=0badc0de\n' >"$T/ybad.eml"
"$CLI" extract "$T/ybad.eml" -o "$T/yb" >"$T/out" 2>"$T/err" || fail "extract ybad.eml exited $?"
grep -q 'warning: extract: section 1.1, yEnc file "bad.bin": CRC-32 differs from its =yend line; written as it is' "$T/err" ||
	fail "extract ybad.eml: no CRC warning: $(cat "$T/err")"
[ "$(cat "$T/yb/bad.bin")" = 789 ] || fail "extract ybad.eml: data not kept"

# a winmail.dat with 600 attachments: extract writes every one (the TNEF
# part is decoded once for all of them: test_expand's tnef_children_linear
# counts it), and a uuencoded file in its text body is a child of that body
python3 - "$T/many.eml" "$T/many" <<'PY'
import base64, os, struct, sys
def attr(level, tag, data):
    return struct.pack("<BII", level, tag, len(data)) + data + struct.pack("<H", sum(data) & 0xffff)
s = struct.pack("<IH", 0x223E9F78, 1) + attr(1, 0x00089006, b"\x00\x00\x01\x00")
s += attr(1, 0x0002800C, b"See the files.\r\nbegin 644 in-body.txt\r\n#86)C\r\n`\r\nend\r\n")
os.mkdir(sys.argv[2])
for k in range(600):
    data = bytes((k * 31 + i * 7) % 256 for i in range(1000))
    open("%s/f%d.bin" % (sys.argv[2], k), "wb").write(data)
    s += attr(2, 0x00069002, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)
    s += attr(2, 0x00018010, b"f%d.bin\x00" % k)
    s += attr(2, 0x0006800F, data)
b = base64.encodebytes(s).replace(b"\n", b"\r\n")
open(sys.argv[1], "wb").write(b"MIME-Version: 1.0\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\n"
                              b"Content-Transfer-Encoding: base64\r\n\r\n" + b)
PY
"$CLI" extract "$T/many.eml" -o "$T/m" >"$T/out" 2>"$T/err" || fail "extract many.eml exited $?: $(cat "$T/err")"
[ "$(find "$T/m" -name 'f*.bin' -type f | wc -l)" -eq 600 ] || fail "extract many.eml: not 600 attachments: $(ls "$T/m" | wc -l)"
for k in 0 1 299 599; do
	cmp -s "$T/m/f$k.bin" "$T/many/f$k.bin" || fail "extract many.eml: f$k.bin differs"
done
[ "$(cat "$T/m/in-body.txt")" = abc ] || fail "extract many.eml: no in-body.txt from the TNEF body: $(ls "$T/m" | head)"
"$CLI" tree "$T/many.eml" >"$T/out" 2>&1 || fail "tree many.eml exited $?"
grep -q '^    1\.1\.1 text/plain  3 bytes, attachment, "in-body\.txt", from uuencode$' "$T/out" ||
	fail "tree many.eml: no 1.1.1: $(head -5 "$T/out")"

# extract --all puts a yEnc file posted in parts together (placed by
# =ypart begin/end), once, in DIR; a missing part is reported, exit 1
if [ -f "$C/mimekit-yenc/00000021.ntx" ]; then
	for f in 00000021 00000020 00000021; do
		echo "From news@example.org Mon Dec  7 10:00:00 2026"
		sed 's/^\(>*From \)/>\1/' "$C/mimekit-yenc/$f.ntx"
		echo
	done >"$T/posts.mbox"
	"$CLI" extract --all "$T/posts.mbox" -o "$T/yp" >"$T/out" 2>"$T/err" || fail "extract --all posts exited $?: $(cat "$T/err")"
	cmp -s "$T/yp/joystick.jpg" "$C/mimekit-yenc/joystick.jpg" || fail "extract --all: joystick.jpg not put together"
	[ "$(find "$T/yp" -type f | wc -l)" -eq 1 ] || fail "extract --all posts: not one file: $(find "$T/yp")"
	grep -qx "$T/yp/joystick.jpg" "$T/out" || fail "extract --all posts: printed $(cat "$T/out")"
	{ echo "From news@example.org Mon Dec  7 10:00:00 2026"; cat "$C/mimekit-yenc/00000021.ntx"; } >"$T/part2.mbox"
	"$CLI" extract --all "$T/part2.mbox" -o "$T/yq" >"$T/out" 2>"$T/err"
	[ $? -eq 1 ] || fail "extract --all, a part missing: not exit 1"
	grep -q 'yEnc file "joystick.jpg" (19338 bytes, 1 part found): bytes 1-11250 missing; not written' "$T/err" ||
		fail "extract --all, a part missing: $(cat "$T/err")"
	[ -e "$T/yq/joystick.jpg" ] && fail "extract --all wrote an incomplete file"
	# the whole file's crc32= (on the last part's =yend line; MimeKit's
	# posts give only pcrc32=) is checked once the parts are put
	# together: a mismatch is a warning, the file is written as it is
	python3 - "$C/mimekit-yenc" "$T" <<'PY'
import sys, zlib
src, out = sys.argv[1], sys.argv[2]
whole = open(src + "/joystick.jpg", "rb").read()
p1 = open(src + "/00000020.ntx", "rb").read()
p2 = open(src + "/00000021.ntx", "rb").read()
end2 = b"=yend size=8088 part=2 pcrc32=aca76043 "
assert end2 in p2
def mbox(name, a, b):
    with open(out + "/" + name, "wb") as f:
        for p in (a, b):
            f.write(b"From news@example.org Mon Dec  7 10:00:00 2026\n" + p + b"\n")
good = p2.replace(end2, end2 + b"crc32=%08x" % zlib.crc32(whole))
mbox("crc-good.mbox", p1, good)
mbox("crc-bad.mbox", p1, p2.replace(end2, end2 + b"crc32=0badc0de"))
# one data byte of part 1 changed: its pcrc32= and the file's crc32= fail
i = p1.index(b"\n", p1.index(b"=ypart begin=1")) + 11
mbox("crc-data.mbox", p1[:i] + bytes([p1[i] ^ 1]) + p1[i + 1:], good)
PY
	"$CLI" extract --all "$T/crc-good.mbox" -o "$T/yc1" >"$T/out" 2>"$T/err" || fail "extract --all crc-good exited $?"
	[ -s "$T/err" ] && fail "extract --all, right crc32=: warned $(cat "$T/err")"
	cmp -s "$T/yc1/joystick.jpg" "$C/mimekit-yenc/joystick.jpg" || fail "extract --all crc-good: joystick.jpg differs"
	"$CLI" extract --all "$T/crc-bad.mbox" -o "$T/yc2" >"$T/out" 2>"$T/err" || fail "extract --all crc-bad exited $?"
	grep -q 'warning: extract: yEnc file "joystick.jpg": CRC-32 of the file put together is 4c995999, crc32= of part 2 says 0badc0de; written as it is' "$T/err" ||
		fail "extract --all, wrong crc32=: $(cat "$T/err")"
	cmp -s "$T/yc2/joystick.jpg" "$C/mimekit-yenc/joystick.jpg" || fail "extract --all crc-bad: data not kept"
	"$CLI" extract --all "$T/crc-data.mbox" -o "$T/yc3" >"$T/out" 2>"$T/err" || fail "extract --all crc-data exited $?"
	grep -q 'yEnc file "joystick.jpg": part 1 (message 1 section 1.1): CRC-32 is not its pcrc32=' "$T/err" ||
		fail "extract --all, a changed byte: no part warning: $(cat "$T/err")"
	grep -q 'yEnc file "joystick.jpg": CRC-32 of the file put together is [0-9a-f]*, crc32= of part 2 says 4c995999' "$T/err" ||
		fail "extract --all, a changed byte: no file warning: $(cat "$T/err")"
	[ "$(cmp "$T/yc3/joystick.jpg" "$C/mimekit-yenc/joystick.jpg" | wc -l)" -eq 1 ] ||
		fail "extract --all crc-data: file not written"
	# with a worker per message (-j 3, split however small), the parts
	# found by the forked workers come back to worker 1, which puts the
	# file together as -j 1 does; the same warnings, in the same order
	for mbox in posts crc-bad crc-data; do
		"$CLI" extract --all -j 1 "$T/$mbox.mbox" -o "$T/yj1-$mbox" >"$T/out1" 2>"$T/err1"
		rc1=$?
		MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 3 "$T/$mbox.mbox" -o "$T/yj3-$mbox" \
			>"$T/out3" 2>"$T/err3"
		rc3=$?
		[ "$rc1" -eq "$rc3" ] || fail "extract --all -j 3 $mbox: exit $rc3, -j 1 $rc1"
		diff -r "$T/yj1-$mbox" "$T/yj3-$mbox" >/dev/null || fail "extract --all -j 3 $mbox: other files"
		sed "s#$T/yj3-#$T/yj1-#" "$T/out3" | cmp -s - "$T/out1" || fail "extract --all -j 3 $mbox: other lines"
		cmp -s "$T/err1" "$T/err3" || fail "extract --all -j 3 $mbox: other warnings: $(cat "$T/err3")"
	done
	cmp -s "$T/yj3-posts/joystick.jpg" "$C/mimekit-yenc/joystick.jpg" ||
		fail "extract --all -j 3: joystick.jpg not put together"
	MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 2 "$T/part2.mbox" -o "$T/yj2q" >"$T/out" 2>"$T/err"
	[ $? -eq 1 ] || fail "extract --all -j 2, a part missing: not exit 1"
fi

[ "$failures" -eq 0 ] || exit 1
echo "cli-expand: all checks passed"
