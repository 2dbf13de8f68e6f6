#!/bin/bash
# fuzz.sh - build and run mimeo's fuzz targets (README "Fuzzing").
#
#   scripts/fuzz.sh --smoke SECONDS
#       Build with clang -Dfuzzing=libfuzzer (ASan+UBSan) into build-fuzz and
#       run every built target for up to SECONDS each, two at a time (the
#       per-target time is cut so the whole run stays under ~4 minutes).  New
#       inputs go to a temporary folder; a crash fails the run and leaves its
#       input in fuzz/crashes/.  scripts/test.sh calls this.  The smoke
#       run is a gate, so it uses one seed (FUZZ_SEED, default 1; 0 for a
#       random one): a run that passed here passes in CI.
#   scripts/fuzz.sh --campaign MINUTES [--engine libfuzzer|afl] [TARGET...]
#       A real campaign: MINUTES per target (default: all targets), two
#       targets at a time under `nice -n ${FUZZ_NICE:-19}`.  The growing corpus is kept in
#       fuzz/out/<target>/ (gitignored, reused by the next campaign), logs in
#       fuzz/out/<target>.log, crash inputs in fuzz/crashes/.  AFL++ builds
#       with CC=afl-clang-fast into build-fuzzer-afl (AFL_USE_ASAN=1, UBSan).
#   scripts/fuzz.sh --minimize TARGET
#       Merge corpus/TARGET/ plus fuzz/out/TARGET/ into the smallest set
#       with the same coverage (libFuzzer -merge=1) and write it back to
#       corpus/TARGET/, keeping the names of seeds that survive.
#   scripts/fuzz.sh --replay TARGET PATH...
#       Run inputs (files or folders) through build-fuzz's target once, e.g.
#       a crash input from fuzz/crashes/, with full sanitizer reports.
#   scripts/fuzz.sh --campaign MINUTES --cpu-minutes N [--engine E] [TARGET...]
#       The same in rounds of MINUTES (wall clock), until every target has
#       at least N CPU-minutes in the ledger (a busy machine gives a nice-19
#       fuzzer far less CPU than wall time; the issue counts CPU time).
#       FUZZ_JOBS=N runs N targets at a time instead of two; FUZZ_KEEP_GOING=1
#       uses libFuzzer's fork mode, which saves each crash input and goes on.
#       Each round rebuilds first, so fixes committed meanwhile are fuzzed.
#   scripts/fuzz.sh --ledger
#       CPU minutes, executions and edges per target summed over every
#       campaign run recorded in fuzz/out/ledger.tsv (GNU time measures each).
#   scripts/fuzz.sh --list
#       The targets that build-fuzz has.
#
# Per-target extras live beside the sources: fuzz/<target>.dict (libFuzzer /
# AFL dictionary) and fuzz/<target>.options (OSS-Fuzz's INI form; its
# [libfuzzer] keys are passed as -key=value).
set -eu

tmp=
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'fuzz.sh: %s\n' "$*" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

setup_libfuzzer() {
	command -v clang >/dev/null || die "clang not found: sudo apt-get install clang libclang-rt-14-dev"
	local opts=(-Dfuzzing=libfuzzer -Db_lundef=false -Dtests=false
		-Dgmime=disabled -Dbuildtype=debugoptimized)
	if [ -f build-fuzz/build.ninja ]; then
		meson setup --reconfigure build-fuzz "${opts[@]}" >/dev/null
	else
		CC=clang meson setup build-fuzz "${opts[@]}" >/dev/null
	fi
	# the retry shows why on stderr: stdout may be a caller's list of targets
	ninja -C build-fuzz >/dev/null || { ninja -C build-fuzz >&2; exit 1; }
}

setup_afl() {
	command -v afl-clang-fast >/dev/null || die "afl-clang-fast not found: sudo apt-get install afl++"
	local opts=(-Dfuzzing=afl -Db_lundef=false -Dtests=false -Dgmime=disabled
		-Dbuildtype=debugoptimized -Db_sanitize=undefined)
	export AFL_USE_ASAN=1 AFL_QUIET=1
	if [ -f build-fuzzer-afl/build.ninja ]; then
		meson setup --reconfigure build-fuzzer-afl "${opts[@]}" >/dev/null
	else
		CC=afl-clang-fast meson setup build-fuzzer-afl "${opts[@]}" >/dev/null
	fi
	ninja -C build-fuzzer-afl >/dev/null || { ninja -C build-fuzzer-afl >&2; exit 1; }
}

# Targets present in a build dir, in a stable order.
targets_in() {
	local f
	for f in "$1"/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && basename "$f" | sed 's/^fuzz_//'
	done | sort
}

# -key=value arguments from fuzz/<target>.options ([libfuzzer] section) and
# the dictionary beside the target.
libfuzzer_args() {
	local t=$1
	if [ -f "fuzz/$t.options" ]; then
		awk -F' *= *' '/^\[/ { sec = $0; next }
			sec == "[libfuzzer]" && NF == 2 && $1 != "dict" && $1 !~ /^#/ {
				printf "-%s=%s\n", $1, $2 }' "fuzz/$t.options"
	fi
	[ -f "fuzz/$t.dict" ] && echo "-dict=fuzz/$t.dict"
	# The smoke run is a gate (CI): one seed, so that a run that passed
	# here passes there, and a failure there replays here.  Campaigns,
	# which explore, keep libFuzzer's random seed.
	[ -n "${smoke_seed:-}" ] && echo "-seed=$smoke_seed"
	return 0
}

# Executions in one libFuzzer log: the final stats, or in fork mode the
# last "#N: cov:" status line.
log_execs() {
	local n
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -n 1)
	[ -n "$n" ] || n=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$1" | tail -n 1)
	echo "$n"
}

# Summarise one libFuzzer log: executions, edges (cov:), crash or not.
summarise() { # target log status
	local execs cov
	execs=$(log_execs "$2")
	cov=$(grep -o 'cov: [0-9]*' "$2" | tail -n 1 | sed 's/cov: //')
	printf '%-10s execs %-10s edges %-6s %s\n' "$1" "${execs:-?}" "${cov:-?}" \
		"$([ "$3" = 0 ] && echo ok || echo "CRASH (see $2)")"
}

run_libfuzzer() { # target seconds outdir log [nice]
	local t=$1 secs=$2 out=$3 log=$4 prefix=()
	mkdir -p "$out" fuzz/crashes
	[ "${5:-}" = nice ] && prefix=(nice -n "${FUZZ_NICE:-19}")
	local seeds=()
	[ -d "corpus/$t" ] && seeds+=("corpus/$t")
	[ -d "corpus/regress/$t" ] && seeds+=("corpus/regress/$t")
	local rc=0 timer=() keep=()
	# FUZZ_KEEP_GOING=1: libFuzzer's fork mode, which saves a crash input
	# and goes on fuzzing (for a target with a known, not yet fixed bug).
	[ "${FUZZ_KEEP_GOING:-0}" = 1 ] &&
		keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
	# A campaign measures the CPU time it spent (GNU time) for the ledger.
	[ -n "${ledger:-}" ] && timer=(/usr/bin/time -f '%e %U %S' -o "$log.time")
	# In fork mode libFuzzer exits 0 after saving crash inputs: count the
	# new ones, so that the summary and the ledger say so (a header crash
	# saved that way once went unseen for a session).
	local before after
	before=$(find fuzz/crashes -maxdepth 1 -name "$t-*" 2>/dev/null | sort)
	# shellcheck disable=SC2046
	"${timer[@]}" "${prefix[@]}" "${bindir:-build-fuzz/fuzz}/fuzz_$t" "${keep[@]}" -max_total_time="$secs" \
		-print_final_stats=1 -timeout=25 -report_slow_units=60 -rss_limit_mb=2048 \
		-artifact_prefix="fuzz/crashes/$t-" $(libfuzzer_args "$t") \
		"$out" "${seeds[@]}" >"$log" 2>&1 || rc=$?
	after=$(comm -13 <(echo "$before") <(find fuzz/crashes -maxdepth 1 -name "$t-*" 2>/dev/null | sort))
	if [ -n "$after" ]; then
		[ "$rc" = 0 ] && rc=1
		printf '%s: new crash inputs:\n%s\n' "$t" "$after" >&2
	fi
	summarise "$t" "$log" "$rc"
	[ -n "${ledger:-}" ] && ledger_add libfuzzer "$t" "$log.time" "$(log_execs "$log")" \
		"$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')" "$rc"
	return "$rc"
}

# The campaign ledger, fuzz/out/ledger.tsv: one line per run of one target,
# so that CPU time adds up across campaigns and sessions.
#   date  engine  target  wall-s  cpu-s  executions  edges  exit-status
ledger_add() { # engine target timefile execs edges status
	local wall user sys
	# the last line: GNU time puts "Command exited with..." lines first
	read -r wall user sys < <(tail -n 1 "$3" 2>/dev/null) || { wall=0 user=0 sys=0; }
	[ -f "$ledger" ] || printf 'date\tengine\ttarget\twall_s\tcpu_s\texecs\tedges\tstatus\n' >"$ledger"
	printf '%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$1" "$2" \
		"$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" \
		"${4:-?}" "${5:-?}" "$6" >>"$ledger"
}

# The targets among $2... whose ledger total is below $1 CPU-minutes.
below_goal() {
	local goal=$1 t
	shift
	for t in "$@"; do
		# no ledger yet: nothing has been fuzzed, every target is short
		# (awk failing on the missing file used to read as "goal met")
		if [ ! -f "$ledger" ]; then
			echo "$t"
			continue
		fi
		awk -F'\t' -v t="$t" -v g="$goal" 'NR > 1 && $3 == t { c += $5 }
			END { exit !(c < g * 60) }' "$ledger" 2>/dev/null && echo "$t"
	done
	return 0
}

# Sum the ledger per target: CPU minutes, executions, last edge count.
ledger_report() {
	[ -f fuzz/out/ledger.tsv ] || die "no ledger yet (fuzz/out/ledger.tsv)"
	printf '%-10s %8s %14s %7s %5s\n' target cpu-min executions edges runs
	awk -F'\t' 'NR > 1 { cpu[$3] += $5; ex[$3] += $6; ed[$3] = $7; n[$3]++ }
		END { for (t in cpu) printf "%-10s %8.1f %14d %7s %5d\n", t, cpu[t] / 60, ex[t], ed[t], n[t] }' \
		fuzz/out/ledger.tsv | sort
}

# Run "cmd target" for every target, two at a time (FUZZ_JOBS at a time
# when set: e.g. two campaigns of one job each); fail if any failed.
two_at_a_time() { # function targets...
	local fn=$1 fail=0 pids=() t pid
	shift
	for t in "$@"; do
		"$fn" "$t" &
		pids+=($!)
		if [ "${#pids[@]}" -ge "${FUZZ_JOBS:-2}" ]; then
			wait "${pids[0]}" || fail=1
			pids=("${pids[@]:1}")
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || fail=1
	done
	return "$fail"
}

smoke() {
	local secs=$1 n per
	setup_libfuzzer
	mapfile -t targets < <(targets_in build-fuzz)
	n=${#targets[@]}
	if [ "$n" -eq 0 ]; then
		say "fuzz smoke: no fuzz targets in this build"
		return 0
	fi
	# Two at a time, ~200 s of fuzzing in all: per-target time <= 400/n.
	per=$((400 / n))
	[ "$per" -gt "$secs" ] && per=$secs
	[ "$per" -lt 3 ] && per=3
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# FUZZ_SEED=0 asks for libFuzzer's random seed
	smoke_seed=${FUZZ_SEED:-1}
	[ "$smoke_seed" = 0 ] && smoke_seed=
	say "fuzz smoke: ${n} targets, ${per} s each, two at a time, seed ${smoke_seed:-random}"
	smoke_one() { run_libfuzzer "$1" "$per" "$tmp/$1" "$tmp/$1.log"; }
	if ! two_at_a_time smoke_one "${targets[@]}"; then
		for f in "$tmp"/*.log; do
			grep -q -e 'ERROR: ' -e 'SUMMARY: ' -e 'check failed' "$f" && {
				echo "--- $f"; grep -v '^#' "$f" | tail -n 40; }
		done
		die "fuzz smoke found a crash: inputs are in fuzz/crashes/"
	fi
}

# Build the engine's targets (again: a round picks up whatever the tree now
# holds) and list them when none were named.
campaign_prepare() { # engine targets...
	local engine=$1 t
	shift
	if [ "$engine" = afl ]; then
		setup_afl
		if [ $# -gt 0 ]; then printf '%s\n' "$@"; else targets_in build-fuzzer-afl; fi
		return 0
	fi
	setup_libfuzzer
	[ $# -gt 0 ] || set -- $(targets_in build-fuzz)
	# Run copies, so that rebuilding build-fuzz meanwhile is harmless.
	mkdir -p fuzz/out/bin
	for t in "$@"; do
		# copy then rename: another campaign may be running this binary
		cp "build-fuzz/fuzz/fuzz_$t" "fuzz/out/bin/.fuzz_$t.$$" &&
			mv -f "fuzz/out/bin/.fuzz_$t.$$" "fuzz/out/bin/fuzz_$t" || die "no target $t"
	done
	printf '%s\n' "$@"
}

campaign() {
	local minutes=$1 engine=$2
	shift 2
	local targets=("$@") short
	mkdir -p fuzz/out fuzz/crashes
	ledger=$top/fuzz/out/ledger.tsv
	bindir=fuzz/out/bin
	if [ "$engine" = afl ]; then
		campaign_one() { afl_one "$1" "$minutes"; }
	else
		campaign_one() {
			run_libfuzzer "$1" $((minutes * 60)) "fuzz/out/$1" "fuzz/out/$1.log" nice
		}
	fi
	mapfile -t targets < <(campaign_prepare "$engine" "${targets[@]}")
	[ "${#targets[@]}" -gt 0 ] || die "no targets built"
	if [ -z "${cpu_goal:-}" ]; then
		say "campaign ($engine): ${targets[*]}, ${minutes} min each, two at a time"
		two_at_a_time campaign_one "${targets[@]}" || true
	else
		while :; do
			mapfile -t short < <(below_goal "$cpu_goal" "${targets[@]}")
			[ "${#short[@]}" -gt 0 ] || break
			say "campaign ($engine) round: ${short[*]} below $cpu_goal CPU-min, ${minutes} min each"
			two_at_a_time campaign_one "${short[@]}" || true
			campaign_prepare "$engine" "${short[@]}" >/dev/null
		done
		say "campaign: every target has at least $cpu_goal CPU-minutes"
	fi
	ls fuzz/crashes 2>/dev/null | sed 's/^/crash input: fuzz\/crashes\//'
}

afl_one() { # target minutes
	local t=$1 minutes=$2 dict=() out="fuzz/out/afl-$1" in="corpus/$1" rc=0
	[ -f "fuzz/$t.dict" ] && dict=(-x "fuzz/$t.dict")
	[ -d "$out/default" ] && in=- # resume the previous campaign
	# afl-fuzz sets the sanitizer options it needs (abort_on_error, symbolize=0)
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS \
	AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		/usr/bin/time -f '%e %U %S' -o "fuzz/out/afl-$t.time" \
		nice -n "${FUZZ_NICE:-19}" afl-fuzz -V $((minutes * 60)) -m none -t 5000+ -i "$in" -o "$out" \
		"${dict[@]}" -- "build-fuzzer-afl/fuzz/fuzz_$t" >"fuzz/out/afl-$t.log" 2>&1 || rc=$?
	local execs edges crashes
	execs=$(sed -n 's/^execs_done *: *//p' "$out/default/fuzzer_stats" 2>/dev/null)
	edges=$(sed -n 's/^edges_found *: *//p' "$out/default/fuzzer_stats" 2>/dev/null)
	crashes=$(sed -n 's/^saved_crashes *: *//p' "$out/default/fuzzer_stats" 2>/dev/null)
	for f in "$out"/default/crashes/id:*; do
		[ -f "$f" ] && cp "$f" "fuzz/crashes/$t-afl-$(basename "$f" | cut -c1-9 | tr : -)"
	done
	printf '%-10s execs %-10s edges %-6s crashes %s\n' "$t" "${execs:-?}" "${edges:-?}" "${crashes:-?}"
	# afl-fuzz's stats are cumulative over resumed runs: the ledger keeps the
	# total (executions, edges) as of this run, the CPU time of this run.
	ledger_add afl "$t" "fuzz/out/afl-$t.time" "${execs:-?}" "${edges:-?}" "$rc"
}

minimize() {
	local t=$1 f h
	setup_libfuzzer
	[ -x "build-fuzz/fuzz/fuzz_$t" ] || die "no target $t"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/merged" "corpus/$t"
	local extra=()
	[ -d "fuzz/out/$t" ] && extra+=("fuzz/out/$t")
	"build-fuzz/fuzz/fuzz_$t" -merge=1 $(libfuzzer_args "$t" | grep -v '^-dict=') \
		"$tmp/merged" "corpus/$t" "${extra[@]}" >"$tmp/log" 2>&1 ||
		{ tail -n 30 "$tmp/log"; die "merge failed"; }
	# libFuzzer names merged files by their SHA-1: keep a surviving seed's
	# descriptive name, drop seeds that add no coverage, add new inputs.
	for f in "corpus/$t"/*; do
		[ -f "$f" ] || continue
		h=$(sha1sum <"$f" | cut -d' ' -f1)
		if [ -f "$tmp/merged/$h" ]; then
			rm "$tmp/merged/$h"
		else
			rm "$f"
		fi
	done
	for f in "$tmp/merged"/*; do
		[ -f "$f" ] && cp "$f" "corpus/$t/"
	done
	say "corpus/$t: $(ls "corpus/$t" | wc -l) files, $(du -sh "corpus/$t" | cut -f1)"
}

case "${1:-}" in
--smoke)
	[ $# -eq 2 ] || die "usage: scripts/fuzz.sh --smoke SECONDS"
	smoke "$2"
	;;
--campaign)
	[ $# -ge 2 ] || die "usage: scripts/fuzz.sh --campaign MINUTES [--engine libfuzzer|afl] [TARGET...]"
	minutes=$2
	shift 2
	engine=libfuzzer
	cpu_goal=
	while :; do
		case ${1:-} in
		--engine)
			engine=${2:-}
			shift 2 || die "--engine needs libfuzzer or afl"
			;;
		--cpu-minutes)
			cpu_goal=${2:-}
			shift 2 || die "--cpu-minutes needs a number"
			case $cpu_goal in '' | *[!0-9]*) die "--cpu-minutes needs a number" ;; esac
			;;
		*) break ;;
		esac
	done
	case $engine in libfuzzer|afl) ;; *) die "unknown engine $engine" ;; esac
	campaign "$minutes" "$engine" "$@"
	;;
--minimize|--minimise)
	[ $# -eq 2 ] || die "usage: scripts/fuzz.sh --minimize TARGET"
	minimize "$2"
	;;
--replay)
	[ $# -ge 3 ] || die "usage: scripts/fuzz.sh --replay TARGET PATH..."
	t=$2
	shift 2
	setup_libfuzzer
	exec "build-fuzz/fuzz/replay_$t" "$@"
	;;
--ledger)
	ledger_report
	;;
--list)
	setup_libfuzzer
	targets_in build-fuzz
	;;
*)
	sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
