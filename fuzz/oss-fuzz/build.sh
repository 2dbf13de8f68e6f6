#!/bin/bash -eu
# build.sh - build mimeo's fuzz targets the OSS-Fuzz way.
#
# OSS-Fuzz runs a project's build.sh inside its base-builder image with
# $CC/$CXX, $CFLAGS/$CXXFLAGS (sanitizer + coverage flags for the chosen
# engine), $LIB_FUZZING_ENGINE (the engine's link flags or library), $SRC,
# $WORK and $OUT set.  This script needs nothing else, so the OSS-Fuzz
# project folder (projects/mimeo/) only has to contain:
#
#   project.yaml   language: c, main_repo, sanitizers: [address, undefined,
#                  memory], fuzzing_engines: [libfuzzer, afl, honggfuzz]
#   Dockerfile     FROM gcr.io/oss-fuzz-base/base-builder
#                  RUN apt-get update && apt-get install -y meson ninja-build
#                      pkg-config zlib1g-dev zip
#                  RUN git clone --depth 1 <mimeo repository> mimeo
#                  WORKDIR mimeo
#                  COPY build.sh $SRC/   (a one-line build.sh that runs
#                  "exec $SRC/mimeo/fuzz/oss-fuzz/build.sh")
#
# What lands in $OUT, per target (fuzz/fuzz_<target>.c):
#   fuzz_<target>                  the fuzzer binary
#   fuzz_<target>_seed_corpus.zip  corpus/<target>/ + corpus/regress/<target>/
#   fuzz_<target>.dict             from fuzz/<target>.dict
#   fuzz_<target>.options          from fuzz/<target>.options
#
# Local check without Docker (what the README's Fuzzing section shows):
#   SRC=$PWD/.. WORK=/tmp/oss-work OUT=/tmp/oss-out CC=clang CXX=clang++ \
#   CFLAGS="-O1 -g -fsanitize=address,fuzzer-no-link" CXXFLAGS="$CFLAGS" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer fuzz/oss-fuzz/build.sh
#
# SPDX-License-Identifier: LGPL-2.1-or-later

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${WORK:?set by OSS-Fuzz}" "${OUT:?set by OSS-Fuzz}"
: "${LIB_FUZZING_ENGINE:?set by OSS-Fuzz}" "${CC:=clang}" "${CXX:=clang++}"
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}

# The library only, static, with OSS-Fuzz's flags (meson reads CC/CFLAGS
# from the environment).  b_lundef=false: a sanitized shared library leaves
# the sanitizer runtime undefined until the final link.
build="$WORK/mimeo-build"
rm -rf "$build"
CC="$CC" CFLAGS="$CFLAGS" meson setup "$build" \
	-Dbuildtype=plain -Db_lundef=false -Dtests=false -Dgmime=disabled \
	-Dopenssl=disabled -Dfuzzing=none
ninja -C "$build" src/libmimeo.a

mkdir -p "$OUT"
for src in fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)     # fuzz_<target>
	name=${t#fuzz_}             # <target>
	"$CC" $CFLAGS -Iinclude -c "$src" -o "$WORK/$t.o"
	# libFuzzer is C++: link with $CXX as OSS-Fuzz recommends.
	"$CXX" $CXXFLAGS "$WORK/$t.o" -o "$OUT/$t" $LIB_FUZZING_ENGINE \
		"$build/src/libmimeo.a" -lz -lpthread
	rm -f "$OUT/${t}_seed_corpus.zip"
	seeds=()
	for d in "corpus/$name" "corpus/regress/$name"; do
		[ -d "$d" ] && seeds+=("$d")
	done
	if [ "${#seeds[@]}" -gt 0 ]; then
		# -j: flat archive; names are unique per folder, regress ones are
		# prefixed by their crash id so nothing collides.
		find "${seeds[@]}" -maxdepth 1 -type f ! -name '.*' -print0 |
			xargs -0 zip -q -j "$OUT/${t}_seed_corpus.zip"
	fi
	[ -f "fuzz/$name.dict" ] && cp "fuzz/$name.dict" "$OUT/$t.dict"
	[ -f "fuzz/$name.options" ] && cp "fuzz/$name.options" "$OUT/$t.options"
done
echo "oss-fuzz build: $(ls "$OUT" | grep -c '^fuzz_[a-z0-9_]*$') targets in $OUT"
