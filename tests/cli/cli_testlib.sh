# cli_testlib.sh - sourced by the CLI test scripts: the binary under test,
# a scratch folder removed on exit, and the failure counter.
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
