#!/bin/sh
# test_cli_mailbox.sh - whole mailboxes (issue 17): `mimeo ls [--json]`,
# `--message N` on tree/headers/cat/to7bit/extract, `extract --all`,
# `scan` on Maildir folders and with -j N, progress, bad input; over mbox,
# .gz mbox, Maildir and single files.
#
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"
D=$SRC/tests/data

# check DESCRIPTION COMMAND...: the command (a shell test) must succeed
check() {
	desc=$1
	shift
	if "$@"; then ok; else fail "$desc"; fi
}

# checkx DESCRIPTION 'SHELL EXPRESSION': for compound conditions (&&)
checkx() {
	if eval "$2"; then ok; else fail "$1"; fi
}

# run CMD...: stdout to $T/out, stderr to $T/err, status in $rc
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect_error CMD...: exit 1, nothing on stdout, one line "mimeo: ..."
expect_error() {
	run "$@"
	if [ "$rc" -ne 1 ]; then
		fail "'$*' exited $rc, want 1"
	else
		error_output_ok "$*"
	fi
}

# --- fixtures ----------------------------------------------------------
# box.mbox: three messages (the second with two attachments, the third
# with an unescaped "From " body line and a quoted ">From " line).
cat >"$T/m1" <<'EOF'
From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.org>
To: you@example.org
Subject: first
Date: Sun, 6 Dec 2026 10:00:00 +0100
Message-ID: <first@example.org>

hello
EOF
cat >"$T/m2" <<'EOF'
From: bob@example.org
Subject: =?UTF-8?B?endlaXRl?=
Date: Mon, 7 Dec 2026 08:30:15 -0500
Content-Type: multipart/mixed; boundary=b

--b

text
--b
Content-Disposition: attachment; filename=a.txt

att
--b
Content-Type: application/octet-stream; name="b.bin"
Content-Transfer-Encoding: base64

YmJi
--b--
EOF
cat >"$T/m3" <<'EOF'
From: "Carol, C." <carol@example.org>
Subject: third

From here on, no time: body text
>From quoted
EOF
{
	echo "From juergen@example.org Sun Dec  6 09:00:00 2026"; cat "$T/m1"; echo
	echo "From bob@example.org Mon Dec  7 13:30:15 2026"; cat "$T/m2"; echo
	echo "From carol@example.org Mon Dec  7 14:00:00 2026"; cat "$T/m3"
} >"$T/box.mbox"
gzip -c "$T/box.mbox" >"$T/box.mbox.gz"
mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
cp "$T/m2" "$T/md/cur/1700000002.M2.host:2,S"
cp "$T/m1" "$T/md/new/1700000001.M1.host"
cp "$T/m3" "$T/md/cur/1700000003.M3.host:2,"
cp "$T/m1" "$T/md/tmp/1700000000.M0.host"

# --- ls -------------------------------------------------------------------
run "$CLI" ls --json "$T/box.mbox"
checkx "ls --json box.mbox: status $rc, stderr $(cat "$T/err")" '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]'
cp "$T/out" "$T/box.jsonl"
python3 - "$T/box.jsonl" "$T/box.mbox" <<'EOF' || fail "ls --json box.mbox values"
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
data = open(sys.argv[2], "rb").read()
assert len(lines) == 3, lines
rows = [json.loads(l) for l in lines]
keys = ["file", "n", "offset", "size", "date", "from", "subject", "message_id", "attachments"]
for r in rows:
    assert list(r) == keys, list(r)
    assert r["file"] == sys.argv[2]
assert [r["n"] for r in rows] == [1, 2, 3]
# offsets are the From_ lines; sizes run to the separator line break
starts = [m.start() + 2 for m in re.finditer(rb"\n\nFrom \S+ [^\n]*\d:\d\d", data)]
assert [r["offset"] for r in rows] == [0] + starts, (rows, starts)
for r, nxt in zip(rows, [s - 1 for s in starts] + [len(data)]):
    assert r["offset"] + r["size"] == nxt, r
    assert data[r["offset"]:r["offset"] + 5] == b"From "
r1, r2, r3 = rows
assert r1["date"] == "2026-12-06T10:00:00+01:00", r1["date"]
assert r1["from"] == "J\u00fcrgen <juergen@example.org>", r1["from"]
assert r1["subject"] == "first" and r1["message_id"] == "<first@example.org>"
assert r1["attachments"] == 0
assert r2["date"] == "2026-12-07T08:30:15-05:00", r2["date"]
assert r2["from"] == "bob@example.org" and r2["subject"] == "zweite", r2
assert r2["message_id"] is None and r2["attachments"] == 2
assert r3["date"] is None and r3["from"] == "Carol, C. <carol@example.org>", r3
EOF
ok

# the same messages from the .gz file and from the Maildir
run "$CLI" ls --json "$T/box.mbox.gz"
check "ls --json box.mbox.gz: status $rc" [ "$rc" -eq 0 ]
python3 - "$T/out" "$T/box.jsonl" <<'EOF' || fail "ls .gz = ls mbox"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
for x in a + b:
    del x["file"]
assert a == b, (a, b)
EOF
run "$CLI" ls --json "$T/md"
checkx "ls --json Maildir: status $rc, stderr $(cat "$T/err")" '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]'
python3 - "$T/out" "$T/md" <<'EOF' || fail "ls --json Maildir values"
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
md = sys.argv[2]
assert [r["file"] for r in rows] == [md + "/new/1700000001.M1.host",
                                     md + "/cur/1700000002.M2.host:2,S",
                                     md + "/cur/1700000003.M3.host:2,"], rows
assert [r["subject"] for r in rows] == ["first", "zweite", "third"]
assert [r["attachments"] for r in rows] == [0, 2, 0]
for r in rows:
    assert r["offset"] == 0 and r["size"] == os.path.getsize(r["file"])
EOF
ok

# text: one aligned line per message
run "$CLI" ls "$T/box.mbox"
check "ls box.mbox text: status $rc" [ "$rc" -eq 0 ]
python3 - "$T/out" <<'EOF' || fail "ls text lines: $(cat "$T/out")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 3, lines
assert lines[0].startswith("1  2026-12-06 10:00  J\u00fcrgen "), lines[0]
assert "first" in lines[0] and lines[0].endswith("  0"), lines[0]
assert lines[1].startswith("2  2026-12-07 08:30  bob@example.org "), lines[1]
assert lines[1].endswith("  2"), lines[1]
assert lines[2].startswith("3  -  "), lines[2]
# aligned: the subject column starts at the same place on every line
cols = [l.index(s) for l, s in zip(lines, ["first", "zweite", "third"])]
assert len(set(cols)) == 1, cols
EOF
ok

# a single message file lists as one message at offset 0; stdin too
run "$CLI" ls --json "$T/m2"
check "ls single file" python3 -c "
import json, sys, os
r = [json.loads(l) for l in open('$T/out')]
assert len(r) == 1 and r[0]['n'] == 1 and r[0]['offset'] == 0, r
assert r[0]['size'] == os.path.getsize('$T/m2') and r[0]['attachments'] == 2, r
"
run sh -c "'$CLI' ls --json - <'$T/box.mbox'"
checkx "ls - (stdin mbox)" '[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 3 ]'
# a non-mailbox file of any kind is one message
run "$CLI" ls --json "$D/sample.eml"
checkx "ls sample.eml: one message" '[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ]'

# several inputs: JSON rows name their file; text gets a heading per input
run "$CLI" ls --json "$T/box.mbox" "$T/md"
checkx "ls two inputs: 6 rows" '[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 6 ]'
run "$CLI" ls "$T/box.mbox" "$T/m1"
check "ls two inputs text: headings" grep -q "^$T/m1:\$" "$T/out"

# --- bad input ------------------------------------------------------------
expect_error "$CLI" ls "$T/missing.mbox"
mkdir -p "$T/plain"
expect_error "$CLI" ls "$T/plain"
check "not a Maildir: says why" grep -q "no Maildir" "$T/err"
run "$CLI" ls
check "ls without FILE: usage status 2" [ "$rc" -eq 2 ]
run "$CLI" ls --bogus "$T/box.mbox"
check "ls --bogus: usage status 2" [ "$rc" -eq 2 ]
# a mailbox that ends mid-message: listed as far as it goes, and said
{ cat "$T/box.mbox"; echo; } >"$T/cut.mbox"
printf 'From x@y Mon Dec  7 15:00:00 2026\nSubject: cut\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\npartial' >>"$T/cut.mbox"
run "$CLI" ls --json "$T/cut.mbox"
checkx "ls cut mbox: 4 rows, status 0 ($rc)" '[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 4 ]'
check "ls cut mbox: said on stderr" grep -q "ends inside message 4" "$T/err"
# Maildir with a subfolder and an unreadable message: counted, said, exit 1
cp -r "$T/md" "$T/md2"
mkdir "$T/md2/cur/sub"
run "$CLI" ls "$T/md2"
checkx "Maildir subfolder: listed 3, said ($(cat "$T/err"))" '[ "$rc" -eq 0 ] &&  [ "$(wc -l <"$T/out")" -eq 3 ] && grep -q "1 entry in new/ or cur/ not read" "$T/err"'
chmod 000 "$T/md2/cur/1700000003.M3.host:2,"
if [ "$(id -u)" -ne 0 ]; then
	run "$CLI" ls --json "$T/md2"
	checkx "unreadable Maildir file: 2 listed, exit 1" '[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/out")" -eq 2 ]'
	check "unreadable Maildir file: counted" grep -q "1 message could not be read" "$T/err"
fi
chmod 644 "$T/md2/cur/1700000003.M3.host:2,"

# --- --message N -----------------------------------------------------------
run "$CLI" tree --message 2 "$T/box.mbox"
check "tree --message 2: structure ($(cat "$T/out"))" grep -q '"b.bin"' "$T/out"
check "tree --message 2: no note" [ ! -s "$T/err" ]
run "$CLI" tree "$T/box.mbox"
checkx "tree mbox: message 1 ($rc)" '[ "$rc" -eq 0 ] && grep -q "^1 text/plain" "$T/out"'
check "tree mbox without --message: note on stderr" grep -q "holds 3 messages" "$T/err"
run "$CLI" tree --message=3 "$T/md"
checkx "tree --message=3 Maildir" '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]'
run "$CLI" cat --message 2 "$T/box.mbox" 3
checkx "cat --message 2 section 3" '[ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "bbb" ]'
run "$CLI" cat "$T/box.mbox.gz" 1 --message 3
check "cat .gz --message 3 (un-quoted >From)" grep -q "^From quoted" "$T/out"
run "$CLI" headers --message 2 "$T/box.mbox"
check "headers --message 2" grep -q "^Subject: zweite" "$T/out"
run "$CLI" to7bit --message 1 "$T/box.mbox"
checkx "to7bit --message 1: the message, without the From_ line" ' [ "$rc" -eq 0 ] && [ "$(head -1 "$T/out")" = "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.org>" ]'
run "$CLI" extract --message 2 "$T/box.mbox" -o "$T/x2"
checkx "extract --message 2: two files" '[ "$rc" -eq 0 ] && [ -f "$T/x2/a.txt" ] && [ -f "$T/x2/b.bin" ]'
# --message N on a plain mbox file parses that message in place (by offset
# and length, issue 13), on stdin and .gz from memory: the same bytes
run "$CLI" cat --message 3 "$T/box.mbox" 1
cp "$T/out" "$T/inplace.3"
check "cat --message 3 in place: un-quoted >From" grep -q "^From quoted" "$T/inplace.3"
run "$CLI" cat --message 3 - 1 <"$T/box.mbox"
checkx "cat --message 3 from stdin = in place" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/inplace.3"'
run "$CLI" cat --message 3 "$T/box.mbox.gz" 1
checkx "cat --message 3 from .gz = in place" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/inplace.3"'
# gzip is found by its content, as the library's mailbox finds it (one
# reader, mimeo_reader with MIMEO_READER_DETECT): under a plain name, on
# stdin, and for the one message of a gzip file without the .gz name
cp "$T/box.mbox.gz" "$T/zipped.mbox"
run "$CLI" cat --message 3 "$T/zipped.mbox" 1
checkx "cat --message 3 from gzip named .mbox = in place" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/inplace.3"'
run "$CLI" cat --message 3 - 1 <"$T/box.mbox.gz"
checkx "cat --message 3 from gzip on stdin = in place" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/inplace.3"'
run "$CLI" ls - <"$T/box.mbox.gz"
checkx "ls gzip on stdin: three rows" '[ "$rc" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 3 ]'
gzip -c "$T/m2" >"$T/zipped.eml"
run "$CLI" headers "$T/m2"
cp "$T/out" "$T/m2.headers"
run "$CLI" headers "$T/zipped.eml"
checkx "headers of a gzip message named .eml" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/m2.headers"'
run "$CLI" headers - <"$T/zipped.eml"
checkx "headers of a gzip message on stdin" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/m2.headers"'
cat "$T/zipped.eml" | "$CLI" headers - >"$T/out" 2>"$T/err"
rc=$?
checkx "headers of a gzip message from a pipe" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/m2.headers"'
run "$CLI" tree --json --message 2 "$T/box.mbox"
cp "$T/out" "$T/inplace.json"
run "$CLI" tree --json --message 2 - <"$T/box.mbox"
checkx "tree --json --message 2: in place = stdin" '[ "$rc" -eq 0 ] && cmp -s "$T/out" "$T/inplace.json"'
run "$CLI" cat --message 2 "$T/md" 1
checkx "cat --message 2 Maildir (its file in place)" '[ "$rc" -eq 0 ] && [ -s "$T/out" ]'
# a mailbox of one message: no note
head -9 "$T/box.mbox" >"$T/one.mbox"
run "$CLI" tree "$T/one.mbox"
checkx "one-message mbox: no note" '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]'
# past the end, zero, garbage
expect_error "$CLI" tree --message 4 "$T/box.mbox"
check "past the end: says how many" grep -q "no message 4 in .* (it holds 3)" "$T/err"
expect_error "$CLI" cat --message 9 "$T/md" 1
expect_error "$CLI" headers --message 2 "$T/m1"
run "$CLI" tree --message 0 "$T/box.mbox"
check "--message 0: usage" [ "$rc" -eq 2 ]
run "$CLI" tree --message x "$T/box.mbox"
check "--message x: usage" [ "$rc" -eq 2 ]
run "$CLI" tree --message
check "--message without N: usage" [ "$rc" -eq 2 ]

# --- extract --all ---------------------------------------------------------
run "$CLI" extract --all "$T/box.mbox" -o "$T/all"
check "extract --all: status $rc" [ "$rc" -eq 0 ]
checkx "extract --all: DIR/2/ only" '[ "$(ls "$T/all")" = "2" ] && [ -f "$T/all/2/a.txt" ] &&  [ "$(cat "$T/all/2/b.bin")" = "bbb" ]'
checkx "extract --all: one line per file" '[ "$(wc -l <"$T/out")" -eq 2 ] && grep -q "^$T/all/2/a.txt\$" "$T/out"'
run "$CLI" extract --all "$T/md" -o "$T/allmd"
checkx "extract --all Maildir" '[ "$rc" -eq 0 ] && [ -f "$T/allmd/2/b.bin" ]'
run "$CLI" extract --all --message 2 "$T/box.mbox" -o "$T/bad"
check "extract --all --message: usage" [ "$rc" -eq 2 ]
# again into the same DIR: unique names, nothing replaced
run "$CLI" extract --all "$T/box.mbox" -o "$T/all"
checkx "extract --all twice: new names" '[ -f "$T/all/2/a-1.txt" ] && [ "$(cat "$T/all/2/a.txt")" = "att" ]'

# extract --all --no-expand writes exactly the files ls counts, over a
# mailbox made of every sample message (nested, digest, hostile names,
# broken input); ls does not decode bodies, so it does not count the files
# inside TNEF parts and text bodies that extract writes by default
mb="$T/samples.mbox"
: >"$mb"
for f in "$D"/*.eml "$SRC"/corpus/*.eml; do
	[ -f "$f" ] || continue
	echo "From sample@example.org Mon Dec  7 10:00:00 2026" >>"$mb"
	sed 's/^\(>*From \)/>\1/' "$f" >>"$mb"
	echo >>"$mb"
done
run "$CLI" ls --json "$mb"
counted=$(python3 -c "
import json
print(sum(json.loads(l)['attachments'] for l in open('$T/out', encoding='utf-8')))")
run "$CLI" extract --all --no-expand "$mb" -o "$T/xs"
written=$(find "$T/xs" -type f | wc -l)
checkx "extract --all wrote $written files, ls counted $counted" '[ "$counted" -eq "$written" ] && [ "$written" -gt 3 ]'
check "extract --all printed one line per file" [ "$(wc -l <"$T/out")" -eq "$written" ]
# --- extract --all -j N ------------------------------------------------------
# Every -j writes the same files under the same names, prints the same lines
# in the same order on stdout and stderr, and exits with the same status as
# -j 1 (a forked worker's lines are copied out in message order).
# MIMEO_EXTRACT_SPLIT_MIN=1 splits even these small mailboxes.
# same_as_j1 NAME INPUT [OPTION...]
same_as_j1() {
	name=$1
	input=$2
	shift 2
	MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 1 "$@" "$input" -o "$T/j1-$name" \
		>"$T/j1.out" 2>"$T/j1.err"
	rc1=$?
	cp "$T/j1.out" "$T/j1-$name.out"
	for j in 2 3; do
		MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j $j "$@" "$input" \
			-o "$T/j$j-$name" >"$T/jn.out" 2>"$T/jn.err"
		rcn=$?
		sed "s#$T/j$j-$name#$T/j1-$name#g" "$T/jn.out" >"$T/jn.sout"
		sed "s#$T/j$j-$name#$T/j1-$name#g" "$T/jn.err" >"$T/jn.serr"
		check "extract --all -j $j $name: status $rcn, -j 1 $rc1" [ "$rcn" -eq "$rc1" ]
		check "extract --all -j $j $name: stdout of -j 1" cmp -s "$T/j1.out" "$T/jn.sout"
		check "extract --all -j $j $name: stderr of -j 1 ($(cat "$T/jn.err"))" \
			cmp -s "$T/j1.err" "$T/jn.serr"
		check "extract --all -j $j $name: the files of -j 1" \
			diff -r "$T/j1-$name" "$T/j$j-$name"
	done
}
same_as_j1 samples "$mb" --no-expand
check "extract --all -j 1 samples: files written ($(wc -l <"$T/j1.out"))" \
	[ "$(wc -l <"$T/j1.out")" -eq "$written" ]
same_as_j1 samples-expand "$mb"
same_as_j1 box "$T/box.mbox"
same_as_j1 gz "$T/box.mbox.gz"
same_as_j1 maildir "$T/md"
same_as_j1 cut "$T/cut.mbox"
# a large mbox file is cut by bytes, each worker indexing its own part: a
# part where no message starts (inside the long second message) holds
# nothing, and the numbers go on across it
python3 - "$T/spans.mbox" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i, n in enumerate((1, 150, 1, 1)):
        f.write("From a@b Mon Dec  7 10:00:00 2026\nSubject: s%d\n"
                "Content-Type: text/plain; name=f%d.txt\n\n" % (i, i) + "x" * 70 * n + "\n\n")
EOF
same_as_j1 spans "$T/spans.mbox"
check "extract --all spans: 4 files, the last in DIR/4" \
	grep -q "^$T/j1-spans/4/f3.txt\$" "$T/j1-spans.out"
# a worker that dies before passing its count on: the next one does
# nothing (it cannot number its messages) and says so; nothing hangs
MIMEO_EXTRACT_SPLIT_MIN=1 MIMEO_TEAM_KILL_WORKER=2:open timeout 60 "$CLI" extract --all -j 3 \
	--no-expand "$mb" -o "$T/jkill-open" >"$T/out" 2>"$T/err"
rc=$?
checkx "extract --all -j 3, worker 2 killed at its open: exit 1, said ($(cat "$T/err"))" \
	'[ "$rc" -eq 1 ] && grep -q "worker process 2 of 3 (the messages from byte [0-9]*) was killed by signal 9" "$T/err" && grep -q "worker process 3 of 3 did nothing: the messages before its part could not be counted" "$T/err"'
# ls's count holds for every -j (-j 3 above wrote the files of -j 1; this
# says it of the count itself)
for j in 2 3; do
	MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j $j --no-expand "$mb" -o "$T/xs$j" \
		>"$T/out" 2>"$T/err"
	n=$(find "$T/xs$j" -type f | wc -l)
	check "extract --all -j $j wrote $n files, ls counted $counted" [ "$n" -eq "$counted" ]
done
# from standard input too (a mailbox read into memory, shared by the workers)
MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 3 - -o "$T/jstdin" <"$mb" >"$T/out" 2>"$T/err"
check "extract --all -j 3 from stdin: $(find "$T/jstdin" -type f | wc -l) files, ls $counted" \
	[ "$(find "$T/jstdin" -type f | wc -l)" -eq "$written" ]
# a worker that dies: what it saved is listed, the messages it had named,
# exit 1; worker 1's files and lines are all there
MIMEO_EXTRACT_SPLIT_MIN=1 MIMEO_TEAM_KILL_WORKER=2 "$CLI" extract --all -j 2 --no-expand \
	"$mb" -o "$T/jkill" >"$T/out" 2>"$T/err"
rc=$?
checkx "extract --all -j 2, worker 2 killed: exit 1, said ($(cat "$T/err"))" \
	'[ "$rc" -eq 1 ] && grep -q "^mimeo: extract: worker process 2 of 2 (messages [0-9]*-[0-9]*) was killed by signal 9: files of those messages may be missing$" "$T/err"'
first=$(sed -n 's/.*(messages \([0-9]*\)-.*/\1/p' "$T/err")
sed "s#$T/j1-samples/##" "$T/j1-samples.out" >"$T/j1.rel"
sed "s#$T/jkill/##" "$T/out" >"$T/kill.rel"
awk -F/ -v f="$first" '$1 < f' "$T/j1.rel" >"$T/j1.head"
awk -F/ -v f="$first" '$1 < f' "$T/kill.rel" >"$T/kill.head"
checkx "extract --all -j 2, worker 2 killed: worker 1's lines all there" \
	'[ -s "$T/j1.head" ] && cmp -s "$T/j1.head" "$T/kill.head"'
# many workers and few descriptors: no more workers than the limit leaves
# room for, the same files and lines
(ulimit -n 40 && MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 64 --no-expand "$mb" \
	-o "$T/jfew") >"$T/out" 2>"$T/err"
rc=$?
sed "s#$T/jfew#$T/j1-samples#g" "$T/out" >"$T/jn.sout"
checkx "extract --all -j 64 under ulimit -n 40: status $rc, the lines of -j 1 ($(cat "$T/err"))" \
	'[ "$rc" -eq 0 ] && cmp -s "$T/j1-samples.out" "$T/jn.sout"'
for bad in "-j 0" "-j x" "-j" "-j 1025"; do
	run "$CLI" extract --all $bad "$T/box.mbox" -o "$T/jbad"
	check "extract --all $bad: usage" [ "$rc" -eq 2 ]
done
run "$CLI" extract -j 2 "$T/m2" -o "$T/jbad"
check "extract -j without --all: usage" [ "$rc" -eq 2 ]
if [ -d "$SRC/../shared/corpus" ]; then
	# the shared corpus, one mailbox per folder (skipped when absent)
	python3 - "$SRC/../shared/corpus" "$T/shared.mbox" <<'EOF'
import os, re, sys
out = open(sys.argv[2], "wb")
for root, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for f in sorted(files):
        if not f.endswith((".eml", ".msg", ".txt", ".mbox", ".mime")):
            continue
        data = open(os.path.join(root, f), "rb").read()
        out.write(b"From corpus@example.org Mon Dec  7 10:00:00 2026\n")
        out.write(re.sub(rb"(?m)^(>*From )", rb">\1", data))
        out.write(b"\n\n")
EOF
	run "$CLI" ls --json "$T/shared.mbox"
	counted=$(python3 -c "
import json
print(sum(json.loads(l)['attachments'] for l in open('$T/out', encoding='utf-8')))")
	run "$CLI" extract --all --no-expand "$T/shared.mbox" -o "$T/xshared"
	written=$(find "$T/xshared" -type f | wc -l)
	check "shared corpus: extract --all --no-expand wrote $written, ls counted $counted" [ "$counted" -eq "$written" ]
	# by default the files inside TNEF parts and text bodies are written
	# too (and an opened winmail.dat is not)
	run "$CLI" extract --all "$T/shared.mbox" -o "$T/xshared2"
	expanded=$(find "$T/xshared2" -type f | wc -l)
	check "shared corpus: extract --all wrote $expanded, more than $written" [ "$expanded" -gt "$written" ]
	# and the same with workers, over many messages of every kind
	same_as_j1 shared "$T/shared.mbox"
fi

# --- scan: Maildir, -j N ------------------------------------------------------
run "$CLI" scan "$T/md"
checkx "scan Maildir: $(cat "$T/out") $(cat "$T/err")" '[ "$rc" -eq 0 ] &&  [ "$(cat "$T/out")" = "messages 3 parts 5 bytes 62" ]'
run "$CLI" scan -j 1 "$T/md"
check "scan -j 1 Maildir" [ "$(cat "$T/out")" = "messages 3 parts 5 bytes 62" ]
run "$CLI" scan -j 3 "$T/md" "$T/box.mbox" "$T/box.mbox.gz"
check "scan -j 3 Maildir + mbox + .gz: $(cat "$T/out")" [ "$(cat "$T/out")" = "messages 9 parts 15 bytes 184" ]
run "$CLI" scan "$T/md2"
checkx "scan Maildir with a subfolder: said" '[ "$rc" -eq 0 ] && grep -q "not read" "$T/err"'
if [ "$(id -u)" -ne 0 ]; then
	chmod 000 "$T/md2/cur/1700000003.M3.host:2,"
	run "$CLI" scan -j 2 "$T/md2"
	checkx "scan unreadable Maildir file: counts of the rest, exit 1" '[ "$rc" -eq 1 ] &&  grep -q "^messages 2 " "$T/out" && grep -q "1 message could not be read" "$T/err"'
	chmod 644 "$T/md2/cur/1700000003.M3.host:2,"
fi
run "$CLI" scan -j 0 "$T/md"
check "scan -j 0: usage" [ "$rc" -eq 2 ]
run "$CLI" scan -j x "$T/md"
check "scan -j x: usage" [ "$rc" -eq 2 ]
run "$CLI" scan "$T/plain"
checkx "scan of a plain folder: exit 1, said" '[ "$rc" -eq 1 ] && grep -q "no Maildir" "$T/err"'

# -j N gives the counts of -j 1 on mailboxes cut anywhere (the threshold
# lowered so that small files are cut): a From_ line exactly at a range
# edge, ranges with no From_ line (inside a long message), CRLF mail,
# unescaped "From " body lines, an mbox given with --mbox that does not
# start with one, and the sample mailbox
python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
def msg(name, body):
    return "From %s@example.org Mon Dec  7 10:00:00 2026\nSubject: %s\n\n%s\n" % (name, name, body)
# edge: the second From_ line starts at exactly half the file
m1 = msg("a", "x" * 100) + "\n"
m2 = msg("b", "")
m2 = m2[:-1] + "y" * (len(m1) - len(m2)) + "\n"
assert len(m1) == len(m2)
open(t + "/edge.mbox", "w").write(m1 + m2)
# long: a long message in the middle holds most cut points
long_body = ("From here on no separator\n" + "z" * 75 + "\n") * 400
parts = [msg("s%d" % i, "short") for i in range(5)] + [msg("long", long_body)] + \
        [msg("t%d" % i, "short\n\nFrom nobody no time\n>From quoted") for i in range(5)]
open(t + "/long.mbox", "w").write("\n".join(parts))
# crlf, and a multipart in every message
crlf = "\r\n\r\n".join(("From c%d 10:00\r\nSubject: c\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                         "--q\r\n\r\n%s\r\n--q--" % (i, "w" * (i * 37 % 500))) for i in range(200))
open(t + "/crlf.mbox", "w", newline="").write(crlf)
# no From_ line first: an mbox only with --mbox
open(t + "/forced.mbox", "w").write("Subject: none\n\nfirst\n\n" + "\n".join(msg("f%d" % i, "v" * i) for i in range(50)))
EOF
for f in edge long crlf box samples; do
	for opt in "" "--structure"; do
		MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 1 $opt "$T/$f.mbox" >"$T/j1" 2>&1
		for j in 2 3 4 7 16 61; do
			MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j $j $opt "$T/$f.mbox" >"$T/jn" 2>&1
			check "scan -j $j $opt $f.mbox = -j 1: $(cat "$T/jn") vs $(cat "$T/j1")" cmp -s "$T/j1" "$T/jn"
		done
	done
done
# thieves that search slowly (MIMEO_SCAN_SLOW_SEARCH): the owner of the
# range one searches ends it and takes another meanwhile; the thief must
# not cut that one at a line of the old (it did, with three workers or
# more: 32,046 messages counted of 20,000 in one run of 27 of these)
python3 - "$T" <<'EOF'
import sys
with open(sys.argv[1] + "/many.mbox", "w") as f:
    f.write("\n\n".join("From m%d 10:00\nSubject: m\nContent-Type: multipart/mixed; boundary=q\n\n"
                        "--q\n\n%s\n--q--" % (i, "w" * (i * 37 % 900)) for i in range(20000)))
EOF
MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 1 "$T/many.mbox" >"$T/j1" 2>&1
for j in 3 5 9; do
	for us in 200 1000 3000 200 1000 3000; do
		MIMEO_SCAN_SPLIT_MIN=1 MIMEO_SCAN_SLOW_SEARCH=$us \
			"$CLI" scan -j $j "$T/many.mbox" >"$T/jn" 2>&1
		check "scan -j $j, thieves slowed by $us us: many.mbox = -j 1: $(cat "$T/jn") vs $(cat "$T/j1")" \
			cmp -s "$T/j1" "$T/jn"
	done
done
rm -f "$T/many.mbox"
run "$CLI" scan "$T/edge.mbox"
check "edge.mbox: 2 messages" grep -q "^messages 2 " "$T/out"
# a worker cuts the range it takes from at the From_ line nearest the
# middle of what is left, before the middle or after it: here the middle
# falls 50 KB into a 300 KB message at the end, so the cut is at its start
# (looking forward only, there was none to find, and no worker helped);
# MIMEO_SCAN_CUT_FIRST holds the first range's owner back until the cut
python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
def msg(name, body):
    return "From %s@example.org Mon Dec  7 10:00:00 2026\nSubject: %s\n\n%s\n" % (name, name, body)
pre = ""
while len(pre) < 200 * 1024:
    pre += msg("s%d" % len(pre), "short line\n" * 90) + "\n"
long_msg = msg("long", "no separator in this long message, only text\n" * 6900)
open(t + "/nearcut.mbox", "w").write(pre + long_msg)
open(t + "/nearcut.at", "w").write("%d..%d\n" % (len(pre), len(pre + long_msg)))
EOF
SCAN_VERBOSE=1 MIMEO_SCAN_CUT_FIRST=1 MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 2 "$T/nearcut.mbox" >"$T/jn" 2>"$T/err"
checkx "scan -j 2 nearcut.mbox: cut at the From_ line before the middle ($(cat "$T/nearcut.at"): $(grep takes "$T/err"))" \
	'grep -q "takes bytes $(cat "$T/nearcut.at") of" "$T/err"'
"$CLI" scan -j 1 "$T/nearcut.mbox" >"$T/j1" 2>&1
check "scan -j 2 nearcut.mbox = -j 1" cmp -s "$T/j1" "$T/jn"
MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan --mbox -j 1 "$T/forced.mbox" >"$T/j1" 2>&1
for j in 2 5 13; do
	MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan --mbox -j $j "$T/forced.mbox" >"$T/jn" 2>&1
	check "scan --mbox -j $j forced.mbox = -j 1" cmp -s "$T/j1" "$T/jn"
done
check "forced.mbox: 51 messages ($(cat "$T/j1"))" grep -q "^messages 51 " "$T/j1"
# the workers are processes (this one is worker 1, the others are forked):
# one that dies fails the run with a message and no counts, whichever
# worker it is and whatever it was scanning (a whole file, or a range of an
# mbox the others take from); more below (big.mbox)
for j in 2 3; do
	for k in $(seq 2 $j); do
		MIMEO_SCAN_SPLIT_MIN=1 MIMEO_SCAN_KILL_WORKER=$k "$CLI" scan -j $j "$T/crlf.mbox" \
			>"$T/out" 2>"$T/err"
		rc=$?
		checkx "scan -j $j, worker $k killed: exit 1, said, no counts (rc $rc: $(cat "$T/err"))" \
			'[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "worker process $k of $j was killed by signal 9" "$T/err"'
	done
done
MIMEO_SCAN_KILL_WORKER=2 "$CLI" scan -j 2 "$T/md" "$T/box.mbox" "$T/long.mbox" >"$T/out" 2>"$T/err"
rc=$?
checkx "scan -j 2 of three inputs, worker 2 killed: exit 1 (rc $rc)" \
	'[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "worker process 2 of 2" "$T/err"'
# a forked worker starts on another CPU the process may use (start_cpu);
# with one CPU allowed, or two, it still counts what -j 1 counts
if command -v taskset >/dev/null 2>&1; then
	MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 1 "$T/crlf.mbox" >"$T/j1" 2>&1
	for cpus in 0 0,1; do
		if taskset -c $cpus true 2>/dev/null; then
			MIMEO_SCAN_SPLIT_MIN=1 taskset -c $cpus "$CLI" scan -j 3 "$T/crlf.mbox" >"$T/jn" 2>&1
			check "scan -j 3 on CPUs $cpus: the counts of -j 1 ($(cat "$T/jn"))" cmp -s "$T/j1" "$T/jn"
		fi
	done
fi
# a worker that is not killed changes nothing
MIMEO_SCAN_SPLIT_MIN=1 MIMEO_SCAN_KILL_WORKER=9 "$CLI" scan -j 2 "$T/crlf.mbox" >"$T/jn" 2>&1
MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 1 "$T/crlf.mbox" >"$T/j1" 2>&1
check "scan -j 2, no worker 9 to kill: the counts of -j 1" cmp -s "$T/j1" "$T/jn"
# SCAN_VERBOSE: the peak memory, with -j the processes' peaks added up
SCAN_VERBOSE=1 MIMEO_SCAN_SPLIT_MIN=1 "$CLI" scan -j 2 "$T/crlf.mbox" >"$T/out" 2>"$T/err"
checkx "scan -j 2 SCAN_VERBOSE: peak RSS of 2 workers, one forked ($(cat "$T/err"))" \
	'grep -Eq "^peak RSS KiB [0-9]+ \(this process, worker 1, [0-9]+ \+ 1 forked worker process [0-9]+\)$" "$T/err"'
SCAN_VERBOSE=1 "$CLI" scan -j 1 "$T/crlf.mbox" >"$T/out" 2>"$T/err"
checkx "scan -j 1 SCAN_VERBOSE: peak RSS" 'grep -Eq "^peak RSS KiB [0-9]+$" "$T/err"'
# no process pays for OpenSSL at start: libmimeo loads it when a POP3
# session first needs TLS or APOP (pop3/tls.c), so the CLI does not link it
# (linked, its relocation cost `scan` about 1.5 ms of CPU at every start)
if ldd "$CLI" >"$T/ldd" 2>/dev/null; then
	checkx "mimeo does not link libssl or libcrypto ($(grep -E 'libssl|libcrypto' "$T/ldd"))" \
		'! grep -Eq "libssl|libcrypto" "$T/ldd"'
fi

# ls agrees with scan on the number of messages
run "$CLI" ls --json "$T/long.mbox"
check "ls long.mbox: 11 messages" [ "$(wc -l <"$T/out")" -eq 11 ]

# --- progress ---------------------------------------------------------------
# a mailbox past the few-MB threshold
python3 - "$T/big.mbox" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        f.write("From a@b Mon Dec  7 10:00:00 2026\nSubject: m%d\n\n%s\n\n" % (i, "x" * 76 + "\n") * 20)
EOF
# scan -j: a worker that dies in the middle of a search for a cut (the
# range it searches marked as such) or holding the lock of the ranges: the
# others neither hang (timeout) nor count what it held (a mailbox large
# enough that the forked workers search for cuts; one that got to none
# kills itself at its end)
for j in 2 3; do
	for k in $(seq 2 $j); do
		for when in ":search" ":locked"; do
			MIMEO_SCAN_KILL_WORKER=$k$when timeout 60 "$CLI" scan -j $j "$T/big.mbox" \
				>"$T/out" 2>"$T/err"
			rc=$?
			checkx "scan -j $j big.mbox, worker $k killed$when: exit 1, said, no counts (rc $rc: $(cat "$T/err"))" \
				'[ "$rc" -eq 1 ] && [ ! -s "$T/out" ] && grep -q "worker process $k of $j was killed by signal 9" "$T/err"'
		done
	done
done
for cmd in "ls" "scan"; do
	run "$CLI" $cmd "$T/big.mbox"
	checkx "$cmd: no progress when stderr is a file" '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]'
	run "$CLI" $cmd --progress "$T/big.mbox"
	check "$cmd --progress: a line on stderr ($(cat "$T/err"))" grep -q "^mimeo $cmd: .* MB/s, .* messages" "$T/err"
	run "$CLI" $cmd --no-progress "$T/big.mbox"
	check "$cmd --no-progress" [ ! -s "$T/err" ]
done
run "$CLI" extract --all --progress "$T/big.mbox" -o "$T/bigx"
check "extract --all --progress" grep -q "^mimeo extract: " "$T/err"
run "$CLI" extract --all "$T/big.mbox" -o "$T/bigx2"
check "extract --all: no progress into a file" [ ! -s "$T/err" ]
# with workers, worker 1 draws the progress of all: the last line counts
# every message
MIMEO_EXTRACT_SPLIT_MIN=1 "$CLI" extract --all -j 2 --progress "$T/big.mbox" -o "$T/bigx3" \
	>"$T/out" 2>"$T/err"
check "extract --all -j 2 --progress: all messages ($(tail -n 1 "$T/err"))" \
	grep -q "^mimeo extract: .* 60000 messages$" "$T/err"
if command -v script >/dev/null 2>&1; then
	# on a terminal (script(1) gives one) --no-progress still means none
	script -qec "'$CLI' ls --no-progress '$T/big.mbox' >/dev/null" /dev/null >"$T/tty" 2>&1
	check "ls --no-progress on a terminal" [ ! -s "$T/tty" ]
fi

echo "test_cli_mailbox: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
