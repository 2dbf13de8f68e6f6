#!/bin/sh
# test_cli_headers.sh - `mimeo headers` (README "Command-line tool"): the
# header fields of a message, a part, or an encapsulated message, decoded
# to UTF-8; --field NAME; --json with parsed addresses, dates and MIME
# parameters; exit statuses; output that cannot forge lines.
#
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR, MIMEO_SHARED_CORPUS.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

. "$(dirname "$0")/cli_testlib.sh"

# same WANT GOT WHAT
same() {
	checks=$((checks + 1))
	[ "$1" = "$2" ] || fail "$3: got [$2], want [$1]"
}

# status WANT CMD...: exit status of CMD, stdout to $T/out, stderr to $T/err
status() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	checks=$((checks + 1))
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want: $(head -c 200 "$T/err")"
}

# A message with RFC 2047 words (split across words, two charsets), an
# address group, a folded Date, RFC 2231 parameters, an encoded word that
# decodes to CR LF (must not forge a line), and an attached message.
printf '%s\r\n' \
	'From: =?utf-8?q?J=C3=BCrgen?= =?utf-8?q?_M=C3=BCller?= <jm@example.de>' \
	'To: Team: "A, B" <ab@example.com>, c@example.com;, =?iso-8859-1?q?Fran=E7ois?= <f@example.fr>' \
	'Subject: =?utf-8?b?5pel5pys6Kqe?= and =?iso-8859-1?q?caf=E9?=' \
	'Date: Mon, 23 Nov 2026' \
	' 12:48:51 +0100 (CET)' \
	'X-Injected: =?utf-8?q?one=0D=0AFrom:_forged@example.com?=' \
	'X-Escape: =?utf-8?q?red=1B[31m_bell=07?=' \
	'MIME-Version: 1.0' \
	'Content-Type: multipart/mixed; boundary="b1"' \
	'' \
	'--b1' \
	'Content-Type: text/plain; charset=utf-8' \
	"Content-Disposition: attachment; filename*=utf-8''na%C3%AFve%20file.txt" \
	'' \
	'hello' \
	'--b1' \
	'Content-Type: message/rfc822' \
	'' \
	'From: Inner <inner@example.org>' \
	'Subject: =?utf-8?q?inner_=E2=9C=93?=' \
	'Date: Sun, 1 Jan 2023 00:00:00 -0800' \
	'' \
	'inner body' \
	'--b1--' >"$T/m.eml"

# --- text output ---------------------------------------------------------
status 0 "$CLI" headers "$T/m.eml"
same 'From: Jürgen Müller <jm@example.de>' "$(sed -n 1p "$T/out")" 'split encoded words rejoined'
same 'Subject: 日本語 and café' "$(grep '^Subject' "$T/out")" 'two charsets in one field'
same 'Date: Mon, 23 Nov 2026 12:48:51 +0100 (CET)' "$(grep '^Date' "$T/out")" 'unfolded Date'
same 'X-Injected: one  From: forged@example.com' "$(grep '^X-Injected' "$T/out")" \
	'CR LF from an encoded word decoded as spaces, not as a line break'
same 'X-Escape: red�[31m bell�' "$(grep '^X-Escape' "$T/out")" \
	'ESC and BEL from an encoded word printed as U+FFFD'
same 0 "$(grep -c '^From: forged' "$T/out")" 'no forged From line'
same 8 "$(wc -l <"$T/out" | tr -d ' ')" 'one line per field'

# --- --field ---------------------------------------------------------------
status 0 "$CLI" headers --field subject "$T/m.eml"
same '日本語 and café' "$(cat "$T/out")" '--field prints only the value'
status 0 "$CLI" headers --field SUBJECT --field from "$T/m.eml"
same 'Jürgen Müller <jm@example.de>
日本語 and café' "$(cat "$T/out")" 'two --field, message order, any case'
status 1 "$CLI" headers --field x-absent "$T/m.eml"
same '' "$(cat "$T/out")" 'absent field: nothing printed, status 1'

# --- sections ------------------------------------------------------------
status 0 "$CLI" headers --field subject "$T/m.eml" 2
same 'inner ✓' "$(cat "$T/out")" 'a message/rfc822 section shows the message it carries'
status 0 "$CLI" headers "$T/m.eml" 1
same "Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename*=utf-8''na%C3%AFve%20file.txt" "$(cat "$T/out")" \
	'a leaf section shows its MIME header'
status 1 "$CLI" headers "$T/m.eml" 9
same 1 "$(grep -c '^mimeo: ' "$T/err")" 'missing section: one error line'

# --- JSON ------------------------------------------------------------------
status 0 "$CLI" headers --json "$T/m.eml"
cp "$T/out" "$T/root.json"
status 0 "$CLI" headers --json "$T/m.eml" 1
cp "$T/out" "$T/part1.json"
status 0 "$CLI" headers --json "$T/m.eml" 2
cp "$T/out" "$T/inner.json"
if command -v python3 >/dev/null 2>&1; then
	python3 - "$T" >"$T/py.out" 2>&1 <<'PY'
import json, sys
t = sys.argv[1]
def load(n):
    with open(f"{t}/{n}", encoding="utf-8") as f:
        return json.load(f)
root, part1, inner = load("root.json"), load("part1.json"), load("inner.json")
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
h = {x["name"].lower(): x for x in root["headers"]}
check(root["section"] == "", "root section")
check([(a["name"], a["local"], a["domain"]) for a in h["from"]["addresses"]] ==
      [("Jürgen Müller", "jm", "example.de")], "From parsed")
to = [(a["group"], a["name"], a["local"], a["domain"]) for a in h["to"]["addresses"]]
check(to == [("Team", "A, B", "ab", "example.com"), ("Team", None, "c", "example.com"),
             (None, "François", "f", "example.fr")], f"To group parsed: {to}")
check(h["date"]["date"] == {"timestamp": 1795434531, "utc": "2026-11-23T11:48:51Z",
                            "zone": "+0100"}, f"Date parsed: {h['date'].get('date')}")
check(h["content-type"]["mime"] == {"type": "multipart", "subtype": "mixed",
      "params": [{"name": "boundary", "value": "b1"}]}, "Content-Type parsed")
check(h["x-injected"]["value"] == "one  From: forged@example.com", "CR LF decoded as spaces")
check(h["x-escape"]["value"] == "red\x1b[31m bell\x07", "JSON keeps ESC and BEL, escaped")
check("addresses" not in h["subject"] and "date" not in h["subject"], "Subject has no extras")
d = {x["name"].lower(): x for x in part1["headers"]}
check(d["content-disposition"]["mime"]["params"] ==
      [{"name": "filename", "value": "naïve file.txt"}], "RFC 2231 filename decoded")
i = {x["name"].lower(): x for x in inner["headers"]}
check(inner["section"] in ("2", "2.1") and i["date"]["date"]["utc"] == "2023-01-01T08:00:00Z"
      and i["date"]["date"]["zone"] == "-0800", f"inner message: {inner}")
print("\n".join(bad) if bad else "ok")
PY
	same ok "$(cat "$T/py.out")" 'JSON content (Python json as the reader)'
fi
# an unparsable date gives null, not a guess
printf 'Date: yesterday-ish\r\nSubject: x\r\n\r\nbody\r\n' >"$T/baddate.eml"
status 0 "$CLI" headers --json "$T/baddate.eml"
same 1 "$(grep -c '"date":null' "$T/out")" 'unparsable Date -> "date":null'

# --- errors and inputs -------------------------------------------------------
status 2 "$CLI" headers
status 2 "$CLI" headers --bogus "$T/m.eml"
status 2 "$CLI" headers "$T/m.eml" 1 extra
status 1 "$CLI" headers "$T/does-not-exist.eml"
same 1 "$(wc -l <"$T/err" | tr -d ' ')" 'missing file: one error line'
status 0 sh -c "\"$CLI\" headers --field subject - <\"$T/m.eml\""
same '日本語 and café' "$(cat "$T/out")" 'FILE - reads stdin'
gzip -c "$T/m.eml" >"$T/m.eml.gz"
status 0 "$CLI" headers --field subject "$T/m.eml.gz"
same '日本語 and café' "$(cat "$T/out")" '.gz input'

# --- every message of the corpora: valid JSON, text without control bytes -----
n=0
for f in "$SRC"/corpus/*.eml "${MIMEO_SHARED_CORPUS:-$SRC/../shared/corpus}"/*/*; do
	[ -f "$f" ] || continue
	case $f in *.md | *.tsv) continue ;; esac
	n=$((n + 1))
	"$CLI" headers --json "$f" >>"$T/all.jsonl" 2>>"$T/all.err" || echo "status $? $f" >>"$T/all.fail"
	"$CLI" headers "$f" >>"$T/all.txt" 2>>"$T/all.err"
done
checks=$((checks + 1))
[ -s "$T/all.fail" ] && fail "headers --json failed: $(head -n 3 "$T/all.fail")"
if command -v python3 >/dev/null 2>&1 && [ "$n" -gt 0 ]; then
	res=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line); n += 1
raw = open(sys.argv[2], "rb").read()
raw.decode("utf-8")
bad = [c for c in set(raw) if (c < 0x20 and c not in (9, 10)) or c == 0x7f]
print(n if not bad else f"control bytes {bad}")' "$T/all.jsonl" "$T/all.txt" 2>&1)
	same "$n" "$res" "$n corpus messages: valid JSON and UTF-8 text without control bytes"
fi

printf '%d checks, %d failures\n' "$checks" "$failures"
[ "$failures" -eq 0 ]
