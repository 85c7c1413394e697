#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/fuzz/run.sh — libFuzzer drivers over koogate's parsers (make fuzz).
#
#   tests/fuzz/run.sh [--regress] [target ...]
#
# Builds every target (tests/fuzz/fuzz_*.c plus the lib/ sources they need)
# with clang, -fsanitize=fuzzer,address,undefined, into build/fuzz/ (never
# into the source tree), then:
#
#   default     fuzzes each target for FUZZ_SECONDS (default 60), FUZZ_JOBS
#               at a time (default 2), starting from a working copy of the
#               committed seed corpus (tests/fuzz/corpus/<target>/) and the
#               regression inputs (tests/fuzz/regress/<target>/) kept in
#               build/fuzz/corpus/<target>/, so the committed corpora stay
#               small. Any crash, leak, timeout, out-of-memory or sanitizer
#               report fails the target; its input is copied to
#               tests/fuzz/crashes/<target>/ for the lead to turn into a
#               regression input.
#   --regress   runs every target once over its seed corpus and its
#               regression inputs (fast; for every `make test`).
#
# One line per target, then "N passed, N failed". Exit status 0 only when
# nothing failed. Logs: build/fuzz/logs/<target>.log.
#
# Environment: FUZZ_SECONDS, FUZZ_JOBS, CLANG (default clang), FUZZ_BUILD
# (default build/fuzz), FUZZ_ARGS (extra libFuzzer flags for every target).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
SRC=tests/fuzz
OUT=${FUZZ_BUILD:-build/fuzz}
CLANG=${CLANG:-clang}
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
MODE=fuzz

TARGETS=()
for a in "$@"; do
	case $a in
	--regress) MODE=regress ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $a" >&2; exit 2 ;;
	*) TARGETS+=("${a%.c}") ;;
	esac
done
if [ ${#TARGETS[@]} -eq 0 ]; then
	for f in "$SRC"/fuzz_*.c; do
		t=$(basename "$f" .c)
		TARGETS+=("$t")
	done
fi

# -max_len per target (bytes): long enough for the spec's bodies and the
# nesting limit, short enough to keep the executions fast.
max_len() {
	case $1 in
	fuzz_urldecode) echo 2048 ;;
	fuzz_canon) echo 8192 ;;
	fuzz_fields) echo 4096 ;;
	fuzz_kit_lists) echo 8192 ;;
	fuzz_cas) echo 4096 ;;
	fuzz_headers) echo 2048 ;;
	*) echo 4096 ;;
	esac
}

# ---- build -------------------------------------------------------------
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run.sh: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
PKGCFLAGS=$(pkg-config --cflags json-c libpq fcgi openssl libcurl 2>/dev/null || pkg-config --cflags json-c libpq)
LIBS=$(pkg-config --libs json-c libpq openssl libcurl 2>/dev/null || echo "-ljson-c -lpq -lssl -lcrypto -lcurl")
LIBS="-lfcgi $LIBS"
# $PKGCFLAGS, $LIBS and $FUZZ_ARGS are word lists on purpose.
# shellcheck disable=SC2054,SC2206
# The library's layers and the modules a program family shares (as the Makefile).
INCDIRS=(lib/core lib/proto lib/io lib/app lib/market cgi-bin/login cgi-bin/kit)
CFLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE "${INCDIRS[@]/#/-I}" $PKGCFLAGS
        "-DKG_SQL_DIR=\"$REPO/sql\"" -g -O1 -fno-omit-frame-pointer
        -fsanitize=address,undefined -fno-sanitize-recover=all)
mkdir -p "$OUT/obj" "$OUT/logs" || exit 2

# compile SRC OBJ LOG [extra flags]: one object; a failure leaves OBJ.failed
compile() {
	local c=$1 o=$2 log=$3
	shift 3
	rm -f "$o.failed"
	"$CLANG" "${CFLAGS[@]}" "$@" -c -o "$o" "$c" 2>"$log" || { rm -f "$o"; touch "$o.failed"; }
}

# The library: every lib/*/*.c and family module, instrumented for coverage, into an archive so
# each driver links only the objects it needs. FUZZ_JOBS compilers at a time.
objs=()
running=0
for c in lib/*/*.c cgi-bin/login/common.c cgi-bin/kit/kit.c; do
	o=$OUT/obj/$(basename "$c" .c).o
	objs+=("$o")
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find "${INCDIRS[@]}" -name '*.h' -newer "$o" -print -quit)" ] \
	   || [ "$0" -nt "$o" ]; then
		compile "$c" "$o" "$OUT/logs/build-$(basename "$c" .c).log" -fsanitize=fuzzer-no-link &
		running=$((running + 1))
		if [ "$running" -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	fi
done
wait
build_failed=0
for o in "${objs[@]}"; do
	if [ -f "$o.failed" ]; then
		echo "run.sh: cannot compile $(basename "$o" .o).c:" >&2
		cat "$OUT/logs/build-$(basename "$o" .o).log" >&2
		build_failed=1
	fi
done
[ $build_failed -eq 0 ] || exit 2
lib_a=$OUT/libkoogate-fuzz.a
stale=0
[ -f "$lib_a" ] || stale=1
for o in "${objs[@]}"; do [ "$o" -nt "$lib_a" ] && stale=1; done
# an object whose source went away must leave the archive too: rebuild it whole
if [ $stale -eq 1 ]; then
	rm -f "$lib_a.tmp"
	ar rcs "$lib_a.tmp" "${objs[@]}" && mv "$lib_a.tmp" "$lib_a" || exit 2
fi

for t in "${TARGETS[@]}"; do
	if [ ! -f "$SRC/$t.c" ]; then
		echo "run.sh: no such target $SRC/$t.c" >&2
		exit 2
	fi
	bin=$OUT/$t
	if [ ! -x "$bin" ] || [ "$SRC/$t.c" -nt "$bin" ] || [ "$SRC/fuzz.h" -nt "$bin" ] \
	   || [ "$lib_a" -nt "$bin" ] || [ "$0" -nt "$bin" ]; then
		# shellcheck disable=SC2086
		if ! "$CLANG" "${CFLAGS[@]}" -Wall -Wextra -Werror -fsanitize=fuzzer -I"$SRC" -o "$bin" \
		     "$SRC/$t.c" "$lib_a" $LIBS 2>"$OUT/logs/build-$t.log"; then
			echo "run.sh: cannot build $t:" >&2
			cat "$OUT/logs/build-$t.log" >&2
			exit 2
		fi
	fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- run ---------------------------------------------------------------
# run_one TARGET: writes build/fuzz/logs/TARGET.log and build/fuzz/result/TARGET
# ("PASS|FAIL <line>").
run_one() {
	local t=$1 bin=$OUT/$1 log=$OUT/logs/$1.log res=$OUT/result/$1
	local dict=() art=$OUT/artifacts/$1/ rc start end
	[ -f "$SRC/dict/$t.dict" ] && dict=(-dict="$SRC/dict/$t.dict")
	rm -rf "$art"
	mkdir -p "$art"
	start=$(date +%s.%N)
	if [ "$MODE" = regress ]; then
		local inputs=()
		while IFS= read -r -d '' f; do inputs+=("$f"); done < <(
			find "$SRC/corpus/$t" "$SRC/regress/$t" -type f ! -name 'README*' -print0 2>/dev/null | sort -z)
		if [ ${#inputs[@]} -eq 0 ]; then
			echo "FAIL $t: no inputs in $SRC/corpus/$t" >"$res"
			return
		fi
		# shellcheck disable=SC2086
		"$bin" -artifact_prefix="$art" -max_len="$(max_len "$t")" ${FUZZ_ARGS:-} \
			"${inputs[@]}" >"$log" 2>&1
		rc=$?
		end=$(date +%s.%N)
		if [ $rc -eq 0 ]; then
			printf 'PASS %-16s %4d inputs  %s s\n' "$t" "${#inputs[@]}" \
				"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" >"$res"
		else
			local what input
			what=$(grep -m1 -E 'FUZZ INVARIANT|ERROR: |runtime error' "$log" | cut -c1-140)
			input=$(grep -E '^Running: ' "$log" | tail -n1 | cut -d' ' -f2-)
			printf 'FAIL %-16s exit %d on %s: %s (log %s)\n' "$t" "$rc" "${input:-?}" "${what:-?}" "$log" >"$res"
		fi
		return
	fi
	local work=$OUT/corpus/$t
	mkdir -p "$work"
	# refresh the working corpus from the committed seeds and regression inputs
	for d in "$SRC/corpus/$t" "$SRC/regress/$t"; do
		[ -d "$d" ] && find "$d" -type f ! -name 'README*' -exec cp -n -t "$work" {} +
	done
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$SECONDS_PER" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" ${FUZZ_ARGS:-} "$work" >"$log" 2>&1
	rc=$?
	local execs cov ft corp eps
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
	corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n1 | cut -d' ' -f2)
	local crashes=()
	while IFS= read -r -d '' f; do crashes+=("$f"); done < <(find "$art" -type f -print0)
	if [ $rc -eq 0 ] && [ ${#crashes[@]} -eq 0 ]; then
		printf 'PASS %-16s %10s execs (%s/s)  cov %s  ft %s  corpus %s\n' "$t" "${execs:-?}" \
			"${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" >"$res"
	else
		mkdir -p "$SRC/crashes/$t"
		for f in "${crashes[@]}"; do cp "$f" "$SRC/crashes/$t/"; done
		printf 'FAIL %-16s exit %d after %s execs: %s; %d input(s) in %s/crashes/%s/ (log %s)\n' "$t" "$rc" \
			"${execs:-?}" "$(grep -m1 -E 'ERROR: |FUZZ INVARIANT|runtime error' "$log" | cut -c1-140)" \
			"${#crashes[@]}" "$SRC" "$t" "$log" >"$res"
	fi
}

rm -rf "$OUT/result"
mkdir -p "$OUT/result"
start_all=$(date +%s)
running=0
for t in "${TARGETS[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0
failed=0
for t in "${TARGETS[@]}"; do
	if [ -f "$OUT/result/$t" ]; then
		cat "$OUT/result/$t"
		case $(cut -c1-4 "$OUT/result/$t") in
		PASS) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	else
		echo "FAIL $t: no result"
		failed=$((failed + 1))
	fi
done
echo "($MODE, $(( $(date +%s) - start_all )) s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
