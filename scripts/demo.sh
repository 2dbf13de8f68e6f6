#!/bin/sh
# demo.sh - build mimeo and run it on a bundled sample message: print its
# MIME tree, then extract its attachments into a fresh temporary folder.
#
#   scripts/demo.sh [MESSAGE]      (default: tests/data/sample.eml)
#
# Installs the Debian packages it needs when run as root (scripts/deps.sh),
# configures build/ once and reuses it afterwards (MIMEO_BUILD_DIR=DIR to
# use another build folder).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
msg=${1:-tests/data/sample.eml}

scripts/deps.sh

build=${MIMEO_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	echo "== configuring $build/"
	meson setup "$build" >/dev/null
fi
echo "== building"
ninja -C "$build" src/cli/mimeo >/dev/null
mimeo=$build/src/cli/mimeo

echo
echo "== mimeo tree $msg"
"$mimeo" tree "$msg"

out=$(mktemp -d "${TMPDIR:-/tmp}/mimeo-demo.XXXXXX")
echo
echo "== mimeo extract $msg -o $out"
"$mimeo" extract "$msg" -o "$out"

echo
echo "== files in $out"
ls -l "$out"

echo
echo "Try also: $mimeo tree --json $msg"
echo "          $mimeo cat --text $msg 1.1"
echo "          $mimeo scan $msg"
