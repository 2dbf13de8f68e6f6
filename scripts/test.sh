#!/bin/sh
# test.sh - the whole mimeo test suite in one command (README "Quick start").
# Installs missing Debian packages (as root), configures, builds with
# -Werror, runs every unit/CLI test, checks `meson install` and a program
# built against the installed pkg-config file, then runs the suite again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and finishes with a
# short fuzz smoke run when clang is available.
#
# Environment: MIMEO_SKIP_ASAN=1 / MIMEO_SKIP_FUZZ=1 skip those stages;
# MIMEO_FUZZ_SECONDS (default 20) sets the smoke run per target.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh --optional

say() { printf '\n==> %s\n' "$*"; }

setup() { # dir, options...
	dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

say "build (-Werror) and unit tests"
setup build-test -Dwerror=true -Dbuildtype=debugoptimized
ninja -C build-test
meson test -C build-test --print-errorlogs --num-processes 2

# The run above takes the best SIMD path; the narrower ones again (unit
# tests, MIMEO_FORCE_ISA), each that differs from it on this CPU.
say "unit tests on the scalar path (and AVX2 where the CPU has AVX-512)"
meson test -C build-test --print-errorlogs --num-processes 2 --suite unit --setup scalar
if grep -q avx512vbmi2 /proc/cpuinfo 2>/dev/null; then
	meson test -C build-test --print-errorlogs --num-processes 2 --suite unit --setup avx2
fi

say "install into a staging folder and link a program against it"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" meson install -C build-test --quiet
prefix=$(meson introspect build-test --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
pcdir=$(find "$stage$prefix" -name mimeo.pc -printf '%h\n' | head -n 1)
test -n "$pcdir"
test -f "$stage$prefix/include/mimeo.h"
test -x "$stage$prefix/bin/mimeo"
find "$stage$prefix" -name 'mimeo.1*' | grep -q .
find "$stage$prefix" -path '*/man3/mimeo.3*' | grep -q .
cat > "$stage/consumer.c" <<'C'
#include <mimeo.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	mimeo_buf b = MIMEO_BUF_INIT;
	if (mimeo_buf_puts(&b, "ok") != MIMEO_OK || strcmp(b.ptr, "ok") != 0)
		return 1;
	mimeo_buf_dispose(&b);
	printf("consumer linked against mimeo %s\n", mimeo_version());
	return 0;
}
C
PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" \
	cc -Wall -Werror -o "$stage/consumer" "$stage/consumer.c" \
	$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags --libs mimeo)
libdir=$(dirname "$(find "$stage$prefix" -name 'libmimeo.so.*' | head -n 1)")
# the library is installed under the soname meson.build's soversion names
soname=$(sed -n "s/^mimeo_soversion = '\(.*\)'$/libmimeo.so.\1/p" meson.build)
test -n "$soname"
test -e "$libdir/$soname"
LD_LIBRARY_PATH="$libdir" "$stage/consumer"
# the documented example, built exactly as README says (staged pkg-config,
# rpath to the staged libdir instead of LD_LIBRARY_PATH)
cc -Wall -Werror -o "$stage/mail-client" docs/examples/mail-client.c \
	$(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags --libs mimeo) \
	-Wl,-rpath,"$libdir"
"$stage/mail-client" tests/data/client.eml | grep -qxF 'Subject: Re: Grüße aus Köln'
# the Python binding, when installed: it imports and finds the staged library
pydir=$(find "$stage$prefix" -path '*/mimeo/_paths.py' -printf '%h\n' | head -n 1)
if [ -n "$pydir" ] && /usr/bin/python3 -c 'import cffi' 2>/dev/null; then
	(cd "$stage" && PYTHONPATH=$(dirname "$pydir") MIMEO_LIBRARY="$libdir/$soname" \
		/usr/bin/python3 -c 'import mimeo; print("python binding", mimeo.__version__)')
fi

if [ "${MIMEO_SKIP_ASAN:-0}" != 1 ]; then
	say "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	setup build-asan -Dwerror=true -Dbuildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --print-errorlogs --num-processes 2 \
		--timeout-multiplier 3 --no-suite slow
fi

if [ "${MIMEO_SKIP_FUZZ:-0}" != 1 ] && [ -x scripts/fuzz.sh ] && command -v clang >/dev/null 2>&1; then
	say "fuzz smoke run"
	scripts/fuzz.sh --smoke "${MIMEO_FUZZ_SECONDS:-20}"
fi

say "all tests passed"
