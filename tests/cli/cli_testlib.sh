# cli_testlib.sh - sourced by the CLI test scripts: the binary under test,
# a scratch folder removed on exit, the check and failure counters, and
# the check that a failed command said one "mimeo: " line and nothing else.
#
# Environment (set by meson): MIMEO_CLI, MIMEO_SOURCE_DIR.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

CLI=${MIMEO_CLI:?MIMEO_CLI must point to the mimeo binary}
SRC=${MIMEO_SOURCE_DIR:-$(dirname "$0")/../..}
T=$(mktemp -d "${TMPDIR:-/tmp}/mimeo-cli-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0
checks=0

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

ok() {
	checks=$((checks + 1))
}

# error_output_ok 'CMD': after a run of CMD that failed, nothing on stdout
# ($T/out) and one line "mimeo: ..." on stderr ($T/err)
error_output_ok() {
	if [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q '^mimeo: ' "$T/err"; then
		fail "'$1' stderr is not one 'mimeo: ' line: $(cat "$T/err")"
	elif [ -s "$T/out" ]; then
		fail "'$1' wrote to stdout on failure"
	else
		ok
	fi
}
