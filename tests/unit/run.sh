#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs each unit-test binary given as an argument, shows its output, and
# prints one final line "N passed, N failed" summed over all binaries.
# A binary that crashes, or exits without its own summary line, counts as one
# failure. Exit status 0 only when nothing failed.
passed=0
failed=0
bad=0
if [ $# -eq 0 ]; then
	echo "usage: $0 build/unit/test_..." >&2
	exit 2
fi
for bin in "$@"; do
	out=$(mktemp) || exit 2
	"$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$summary" ]; then
		echo "FAIL $bin: no summary line (exit status $rc)"
		failed=$((failed + 1))
		bad=1
		continue
	fi
	p=${summary%% passed*}
	f=${summary#*, }
	f=${f%% failed}
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $bin: exit status $rc"
		failed=$((failed + 1))
	fi
	[ "$rc" -ne 0 ] && bad=1
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
