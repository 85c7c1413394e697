#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/faults/run.sh — fault-injection tests (issue "Prove it"): PostgreSQL stopped and restarted,
# FastCGI processes killed with SIGKILL mid-request, concurrent duplicates, bad transport input, two
# web nodes on one database. See tests/faults/README.md.
#
#   tests/faults/run.sh [--build DIR] [--keep] [--only 1,2,3,4,5,6,7] [--no-failover | --failover-only] [-v]
#
# Starts its own stacks (tools/stack.sh) in var/test-faults-a (Apache, own PostgreSQL) and
# var/test-faults-b (lighttpd, --db-from var/test-faults-a: a second web node on the same database),
# both recreated from scratch, and stops them on exit (also on Ctrl-C or failure). --keep leaves
# them running for debugging (stop with tools/stack.sh stop --var DIR).
# Output: `ok …` / `FAIL …` per check, then `N passed, N failed`; exit status 0 only if nothing failed.
# Then failover.py (losing the database server: primary + synchronous standby in var/test-failover);
# --no-failover skips it, --failover-only runs only it. Environment: KOOGATE_BUILD_DIR=DIR is --build DIR.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
BUILD=${KOOGATE_BUILD_DIR:-$REPO/build}
KEEP=0
FAILOVER=yes
PYARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=${2:?--build needs a directory}; shift 2 ;;
        --build=*) BUILD=${1#*=}; shift ;;
        --keep) KEEP=1; shift ;;
        --only) PYARGS+=(--only "${2:?--only needs a list}"); shift 2 ;;
        --only=*) PYARGS+=(--only "${1#*=}"); shift ;;
        --failover-only) FAILOVER=only; shift ;;
        --no-failover) FAILOVER=no; shift ;;
        -v|--verbose) PYARGS+=(-v); shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "tests/faults/run.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac

VAR_A="$REPO/var/test-faults-a"
VAR_B="$REPO/var/test-faults-b"

cleanup() {
    local pid
    # The fake IdP started by faults.py (normally stopped by it already).
    pid=$(cat "$VAR_A/faults/idp.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'idp.py'; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then
        echo "tests/faults/run.sh: --keep: stacks left running in $VAR_A and $VAR_B" >&2
        return
    fi
    tools/stack.sh stop --var "$VAR_B" >/dev/null 2>&1 || true
    tools/stack.sh stop --var "$VAR_A" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'echo "tests/faults/run.sh: interrupted" >&2; exit 130' INT TERM

# Fresh state: B's koogate.conf is a copy of A's taken at its first start (with A's PostgreSQL port),
# and A's port changes at every start, so both directories are recreated.
tools/stack.sh stop --var "$VAR_B" >/dev/null 2>&1 || true
tools/stack.sh stop --var "$VAR_A" >/dev/null 2>&1 || true
rm -rf "$VAR_A" "$VAR_B"

OUT=$(mktemp); trap 'rm -f "$OUT"; cleanup' EXIT
rc=0
if [ "$FAILOVER" != only ]; then
    python3 -B "$REPO/tests/faults/faults.py" --build "$BUILD" --var-a "$VAR_A" --var-b "$VAR_B" ${PYARGS[@]+"${PYARGS[@]}"} \
        | tee -a "$OUT"
    rc=${PIPESTATUS[0]}
fi
# Losing the database server: its own two PostgreSQL clusters and two web nodes (failover.py).
if [ "$FAILOVER" != no ]; then
    if [ "$KEEP" != 1 ]; then    # free the machine first
        tools/stack.sh stop --var "$VAR_B" >/dev/null 2>&1 || true
        tools/stack.sh stop --var "$VAR_A" >/dev/null 2>&1 || true
    fi
    echo "== failover: primary + synchronous standby, the primary killed, the standby promoted"
    python3 -B "$REPO/tests/faults/failover.py" --build "$BUILD" --var "$REPO/var/test-failover" \
        $([ "$KEEP" = 1 ] && echo --keep) | tee -a "$OUT"
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    [ "$FAILOVER" = only ] || awk '/^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
        END { printf "%d passed, %d failed\n", p, f }' "$OUT"
fi
exit "$rc"
