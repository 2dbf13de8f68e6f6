#!/bin/sh
# test_cli_safety.sh - what the CLI guarantees when things go wrong (issue
# 11, docs/cli-safety.md): extract never leaves a partial file, goes on
# after a failure and lists what failed; unique names are found in linear
# time; every command exits non-zero with one `mimeo:` line when a write
# fails; hostile text cannot forge lines or drive the terminal.
#
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"
C=$SRC/tests/data

py() {
	python3 - "$@"
}

# mkmsg OUT NAME:SIZE...: a multipart/mixed message with one base64
# attachment per argument, NAME with SIZE bytes of a pattern that tells the
# parts apart ("-" as NAME: no filename, disposition attachment).
mkmsg() {
	py "$@" <<'EOF'
import base64, sys
out, specs = sys.argv[1], sys.argv[2:]
w = ['From: a@example.com', 'Subject: parts', 'MIME-Version: 1.0',
     'Content-Type: multipart/mixed; boundary="b"', '']
for i, spec in enumerate(specs):
    name, size = spec.rsplit(":", 1)
    body = (b"%d:" % i * (int(size) // 2 + 2))[:int(size)]
    w += ['--b', 'Content-Type: application/octet-stream',
          'Content-Transfer-Encoding: base64',
          'Content-Disposition: attachment' + ('' if name == '-' else '; filename="%s"' % name), '']
    enc = base64.b64encode(body).decode()
    w += [enc[j:j + 76] for j in range(0, len(enc), 76)]
w += ['--b--', '']
open(out, "w").write("\r\n".join(w))
EOF
}

# check_saved DIR STDOUT NAME:SIZE...: DIR holds exactly these files with
# the bytes mkmsg put in part INDEX (the position in the mkmsg call, given
# as NAME:SIZE:INDEX), STDOUT lists exactly them, and no temporary file is
# left.
check_saved() {
	py "$@" <<'EOF'
import os, sys
d, listing, want = sys.argv[1], sys.argv[2], sys.argv[3:]
names = sorted(os.listdir(d))
exp = sorted(w.split(":")[0] for w in want)
assert names == exp, ("files", names, exp)
lines = sorted(open(listing, encoding="utf-8").read().splitlines())
assert lines == sorted(os.path.join(d, n) for n in exp), ("listing", lines)
for w in want:
    name, size, i = w.split(":")
    body = (b"%d:" % int(i) * (int(size) // 2 + 2))[:int(size)]
    got = open(os.path.join(d, name), "rb").read()
    assert got == body, (name, len(got), int(size))
EOF
}

# --- extract: a failed file leaves nothing, the others are still saved --
# RLIMIT_FSIZE makes the 3000-byte attachment fail with EFBIG on any
# machine (SIGXFSZ ignored so write() reports it).
mkmsg "$T/fsize.eml" a.txt:100 big.bin:3000 c.txt:100 -:50
(trap '' XFSZ; ulimit -f 2; exec "$CLI" extract "$T/fsize.eml" -o "$T/fsize") \
	>"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || fail "extract over the size limit exited $rc, want 1"
check_saved "$T/fsize" "$T/out" a.txt:100:0 c.txt:100:2 attachment:50:3 ||
	fail "extract over the size limit: $(ls -A "$T/fsize"; cat "$T/out")"
grep -q '^mimeo: extract: cannot save section 2: cannot write .*/big.bin: File too large$' \
	"$T/err" || fail "extract: no error for section 2: $(cat "$T/err")"
tail -n 1 "$T/err" | grep -q '^mimeo: extract: 1 of 4 files not saved: section 2$' ||
	fail "extract: no failure list: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 2 ] || fail "extract stderr: $(cat "$T/err")"
ok

# --- extract onto a full filesystem (a 64 KiB tmpfs; root only) ----------
if [ "$(id -u)" -eq 0 ] && mkdir "$T/mnt" && mount -t tmpfs -o size=64k tmpfs "$T/mnt" 2>/dev/null; then
	mkmsg "$T/full.eml" one.txt:1000 huge.bin:200000 two.txt:1000 huge.bin:150000 three.txt:1000
	"$CLI" extract "$T/full.eml" -o "$T/mnt/out" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 1 ] || fail "extract onto a full disk exited $rc, want 1"
	check_saved "$T/mnt/out" "$T/out" one.txt:1000:0 two.txt:1000:2 three.txt:1000:4 ||
		fail "extract onto a full disk: $(ls -A "$T/mnt/out"; cat "$T/out")"
	grep -q 'No space left on device' "$T/err" || fail "extract ENOSPC: $(cat "$T/err")"
	tail -n 1 "$T/err" | grep -q '^mimeo: extract: 2 of 5 files not saved: section 2, section 4$' ||
		fail "extract onto a full disk: $(cat "$T/err")"
	# stdout on the same full disk: one mimeo: line, status 1
	head -c 70000 /dev/zero >"$T/mnt/filler" 2>/dev/null
	"$CLI" tree --json "$C/sample.eml" >"$T/mnt/tree.json" 2>"$T/err"
	rc=$?
	[ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^mimeo: ' "$T/err" ||
		fail "tree onto a full disk: $rc $(cat "$T/err")"
	umount "$T/mnt"
	ok
else
	echo "SKIP: extract onto a full filesystem (needs root to mount a tmpfs)"
fi

# --- extract: unique names in linear time --------------------------------
# 300 attachments called same.txt: all saved, names same.txt, same-1.txt
# ... same-299.txt, each with its own bytes.
set --
i=0
while [ $i -lt 300 ]; do
	set -- "$@" same.txt:40
	i=$((i + 1))
done
mkmsg "$T/same.eml" "$@"
"$CLI" extract "$T/same.eml" -o "$T/same" >"$T/out" 2>"$T/err" || fail "extract 300 same names"
py "$T/same" "$T/out" <<'EOF' || fail "extract 300 same names: $(head -c 300 "$T/out")"
import os, sys
d = sys.argv[1]
lines = open(sys.argv[2]).read().splitlines()
want = ["same.txt"] + ["same-%d.txt" % i for i in range(1, 300)]
assert [os.path.basename(l) for l in lines] == want, lines[:5]
for i, n in enumerate(want):
    body = (b"%d:" % i * 22)[:40]
    assert open(os.path.join(d, n), "rb").read() == body, n
assert sorted(os.listdir(d)) == sorted(want)
EOF
# The cost is the number of names tried: count the file-creating system
# calls (quadratic naming tried 1 + 2 + ... + 300 = 45,150 names).
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=open,openat,creat,link,linkat,rename,renameat,renameat2 \
		-o "$T/strace" "$CLI" extract "$T/same.eml" -o "$T/same2" >/dev/null 2>&1
	calls=$(grep -c -e 'O_CREAT' -e 'link' -e 'rename' "$T/strace")
	[ "$calls" -le 1200 ] || fail "extract of 300 same names made $calls create/rename calls"
	# a second run into the same folder: the 300 taken names are tried once
	strace -f -qq -e trace=open,openat,creat,link,linkat,rename,renameat,renameat2 \
		-o "$T/strace" "$CLI" extract "$T/same.eml" -o "$T/same2" >"$T/out" 2>/dev/null
	calls=$(grep -c -e 'O_CREAT' -e 'link' -e 'rename' "$T/strace")
	[ "$calls" -le 2400 ] || fail "second extract of 300 same names made $calls calls"
	[ "$(tail -n 1 "$T/out")" = "$T/same2/same-599.txt" ] || fail "second run: $(tail -n 1 "$T/out")"
	ok
else
	echo "SKIP: counting extract's naming system calls (no strace)"
fi

# --- text output: C1 controls and U+2028/U+2029 cannot forge lines -------
# An encoded word carrying U+0085 NEL, U+2028, U+2029 and U+009B CSI, and
# a file name with CSI and U+2028: `headers` and `tree` print U+FFFD for
# each, so a reader splitting on Unicode line breaks (Python's
# str.splitlines) sees no "From: evil" line and no terminal escape.
printf 'Subject: =?utf-8?q?hello=C2=85From:_evil=E2=80=A8x=E2=80=A9y=C2=9B31m=C2=9Dz=C2=A0nbsp?=\nContent-Type: text/plain\nContent-Disposition: attachment; filename="a\302\233[31mb\342\200\250From: x.txt"\n\nhi\n' \
	>"$T/c1.eml"
for cmd in headers tree; do
	"$CLI" $cmd "$T/c1.eml" >"$T/out" 2>"$T/err" || fail "$cmd c1.eml: $(cat "$T/err")"
	py "$T/out" "$cmd" <<'EOF' || fail "$cmd prints C1 controls or line separators: $(od -c "$T/out" | head -5)"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
for c in ["\x85", "\x9b", "\x9d", "\u2028", "\u2029"]:
    assert c not in text, (sys.argv[2], hex(ord(c)))
lines = text.splitlines()
assert not [l for l in lines if l.startswith("From:")], lines
if sys.argv[2] == "headers":
    assert lines[0] == "Subject: hello\ufffdFrom: evil\ufffdx\ufffdy\ufffd31m\ufffdz\u00a0nbsp", lines[0]
else:
    assert lines[0].endswith('"a\ufffd[31mb\ufffdFrom: x.txt"'), lines[0]
EOF
	ok
done

# --- parser limits are announced, not silent ------------------------------
# 2,100 header fields (limit 2,000) and 300 nested multiparts (depth 256):
# every command that parses says so in one warning line and exits 0.
py "$T/lim-fields.eml" "$T/lim-depth.eml" <<'EOF'
import sys
w = ['From: a@example.com'] + ['X-F%d: v' % i for i in range(2100)]
w += ['Content-Type: text/plain', '', 'body', '']
open(sys.argv[1], "w").write("\r\n".join(w))
w = ['From: a@example.com', 'MIME-Version: 1.0']
for i in range(300):
    w += ['Content-Type: multipart/mixed; boundary="b%d"' % i, '', '--b%d' % i]
w += ['Content-Type: text/plain', 'Content-Disposition: attachment; filename="deep.txt"', '', 'deep']
for i in reversed(range(300)):
    w += ['--b%d--' % i]
w += ['']
open(sys.argv[2], "w").write("\r\n".join(w))
EOF
for f in fields depth; do
	case $f in fields) what="header fields" ;; depth) what="nesting depth" ;; esac
	# the first leaf's section (the opaque leaf where the depth was cut)
	sec=$("$CLI" tree --json "$T/lim-$f.eml" 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["parts"][0]["section"] or "1")')
	for cmd in tree headers cat extract to7bit scan; do
		rm -rf "$T/lim-x"
		case $cmd in
		extract) "$CLI" extract "$T/lim-$f.eml" -o "$T/lim-x" >"$T/out" 2>"$T/err" ;;
		cat) "$CLI" cat "$T/lim-$f.eml" "$sec" >"$T/out" 2>"$T/err" ;;
		*) "$CLI" $cmd "$T/lim-$f.eml" >"$T/out" 2>"$T/err" ;;
		esac
		rc=$?
		if [ $rc -eq 0 ] && grep -q "^mimeo: warning: $T/lim-$f.eml: parser limits reached ($what): the rest was read leniently\$" "$T/err" &&
			[ "$(grep -c 'parser limits' "$T/err")" -eq 1 ]; then
			ok
		else
			fail "$cmd on lim-$f.eml: status $rc, stderr: $(head -c 300 "$T/err")"
		fi
	done
done
# stdin names itself "-"
"$CLI" to7bit - <"$T/lim-fields.eml" >/dev/null 2>"$T/err"
grep -q '^mimeo: warning: -: parser limits reached (header fields)' "$T/err" ||
	fail "to7bit from stdin: $(cat "$T/err")"
# and a message within the limits gets no warning
"$CLI" tree "$C/sample.eml" >/dev/null 2>"$T/err"
[ ! -s "$T/err" ] || fail "tree sample.eml warned: $(cat "$T/err")"
ok

# --- every command: a failed write to stdout is an error -----------------
# Three ways to fail: a full device, a closed descriptor, a reader that
# went away (head -c1, SIGPIPE ignored so write() says EPIPE).  Each time:
# status 1 and exactly one `mimeo:` line.  Output of 256 KiB or more must
# fail through the pipe too; smaller output may fit in the pipe before the
# reader leaves, so there status 0 with a silent stderr is right as well.
py "$T/big.eml" "$T/big.bin" <<'EOF'
import base64, sys
w = ['From: a@example.com', 'Subject: many parts', 'MIME-Version: 1.0']
w += ['X-Filler-%d: %s' % (i, 'v' * 60) for i in range(1500)]
w += ['Content-Type: multipart/mixed; boundary="b"', '']
for i in range(3000):
    w += ['--b', 'Content-Type: text/plain; charset=us-ascii',
          'Content-Disposition: attachment; filename="part-with-a-longish-name-%d.txt"' % i,
          '', 'body %d' % i]
blob = bytes(range(256)) * 4096
open(sys.argv[2], "wb").write(blob)
enc = base64.b64encode(blob).decode()
w += ['--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '']
w += [enc[j:j + 76] for j in range(0, len(enc), 76)]
w += ['--b--', '']
open(sys.argv[1], "w").write("\r\n".join(w))
EOF
printf 'hello\n' >"$T/body.txt"
# out_fail NAME CMD...: run CMD the three ways (an extract folder $T/xo is
# emptied before each run)
out_fail() {
	name=$1
	shift
	rm -rf "$T/xo"
	"$@" >"$T/full.out" 2>"$T/full.err"
	size=$(wc -c <"$T/full.out")
	for how in full closed pipe; do
		rm -rf "$T/xo"
		case $how in
		full) [ -w /dev/full ] || continue
		      "$@" >/dev/full 2>"$T/err"; rc=$? ;;
		closed) "$@" >&- 2>"$T/err"; rc=$? ;;
		pipe) (trap '' PIPE; { "$@" 2>"$T/err"; echo $? >"$T/rc"; } | head -c1 >/dev/null)
		      rc=$(cat "$T/rc") ;;
		esac
		if [ "$how" = pipe ] && [ "$size" -lt 262144 ] && [ "$rc" -eq 0 ] && [ ! -s "$T/err" ]; then
			ok
		elif [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
			grep -q '^mimeo: ' "$T/err"; then
			ok
		else
			fail "$name >$how: status $rc, stderr: $(head -c 300 "$T/err")"
		fi
	done
	rm -rf "$T/xo"
}
out_fail version "$CLI" version
out_fail --version "$CLI" --version
out_fail --help "$CLI" --help
out_fail tree "$CLI" tree "$T/big.eml"
out_fail "tree --json" "$CLI" tree --json "$T/big.eml"
out_fail headers "$CLI" headers "$T/big.eml"
out_fail "headers --json" "$CLI" headers --json "$T/big.eml"
out_fail cat "$CLI" cat "$T/big.eml" 3001
out_fail "cat --text" "$CLI" cat --text "$T/big.eml" 1
out_fail extract "$CLI" extract "$T/big.eml" -o "$T/xo"
out_fail scan "$CLI" scan "$T/big.eml"
out_fail "decode base64" "$CLI" decode base64 "$T/big.eml"
out_fail "decode qp" "$CLI" decode qp "$T/big.eml"
out_fail "encode base64" "$CLI" encode base64 "$T/big.bin"
out_fail "encode qp" "$CLI" encode qp "$T/big.bin"
out_fail build "$CLI" build --from a@example.com --to b@example.com --text "$T/body.txt" \
	--attach "$T/big.bin"
out_fail to7bit "$CLI" to7bit "$T/big.eml"
# decode with the whole output in stdio's buffer at exit (the case that
# exited 0: nothing failed before the implicit flush)
printf 'aGVsbG8K\n' >"$T/small.b64"
"$CLI" decode base64 "$T/small.b64" >/dev/full 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && [ "$(cat "$T/err")" = "mimeo: cannot write to standard output: No space left on device" ] ||
	fail "decode of 6 bytes to /dev/full: $rc $(cat "$T/err")"
# a closed stdout never lends its number to a file the command writes
"$CLI" extract "$C/sample.eml" -o "$T/closed" >&- 2>"$T/err"
"$CLI" cat "$C/sample.eml" 2 >"$T/logo.want"
cmp -s "$T/closed/logo.png" "$T/logo.want" || fail "extract with stdout closed changed logo.png"
ok

echo "test_cli_safety: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
