#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/coldburst.sh — the marketplace's traffic is bursty (dialing tests, retries after an outage):
# after a start or a quiet spell, does a burst wait for FastCGI processes to be spawned? mod_fcgid
# (SERVER=apache-fcgid) makes a request that finds every process of its program busy sleep a whole
# second before it asks for another one; behind mod_proxy_fcgi (SERVER=apache, the default) the
# processes run before the first request and a busy moment queues in the socket.
#
#   1. a fresh stack (tools/stack.sh, SERVER), 1,000 instances;
#   1b. the first burst after the web server starts (BURST_SECONDS, BURST_CONNS in all): mod_fcgid's pool
#      keeps the size of the first instant of the first burst (README, "Performance"), so under
#      apache-fcgid this shows the one-second waits a fresh start leaves; then the stack is restarted;
#   2. warm-up: BURST_WARM seconds of queryInstance and newInstance at once, 2 x BURST_CONNS connections
#      (the process pool grows past what the burst needs);
#   3. BURST_IDLE seconds (600) with no request at all;
#   4. the burst: BURST_SECONDS (10) of queryInstance and newInstance at once, BURST_CONNS/2 connections
#      each (BURST_CONNS, 16, in all); then the same again at once: full load, warm;
#   5. prints one line per kind and phase with p50/p99, and "coldburst: PHASE: ok|over": over when p99 reaches
#      BURST_P99_MS (50) or any request took a second or more (mod_fcgid's wait; a closed loop hides it).
# Environment: SERVER (apache, apache-fcgid or lighttpd), BURST_* above, BURST_VAR (var/coldburst).
# Everything started is stopped.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SERVER=${SERVER:-apache}
VAR=${BURST_VAR:-$REPO/var/coldburst}
CONNS=${BURST_CONNS:-16}
SECS=${BURST_SECONDS:-10}
IDLE=${BURST_IDLE:-600}
WARM=${BURST_WARM:-10}
LIMIT=${BURST_P99_MS:-50}
LOAD=$REPO/build/bench/load
say() { printf 'coldburst: %s\n' "$*" >&2; }

make --no-print-directory -s -f bench/Makefile
cleanup() { tools/stack.sh stop --var "$VAR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
rm -rf "$VAR"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_stack() {
    tools/stack.sh start --server "$SERVER" --var "$VAR" --port "$PORT" --set order_fetch_inline=0 >"$VAR.log" 2>&1 ||
        { cat "$VAR.log" >&2; exit 1; }
}
start_stack
# shellcheck disable=SC1091
. "$VAR/stack.env"
psql -q -c "INSERT INTO instance (instance_id, generation, order_id, order_line_id, business_id, status,
            app_front_end_url) SELECT 'bench-' || lpad(g::text, 7, '0'), 2, 'CSBURST' || g, '', 'bench-' || g,
            'active', 'https://app.example.com/' FROM generate_series(0, 999) g"

both() {  # both LABEL SECONDS CONNS-EACH: queryInstance and newInstance at the same time
    local label=$1 secs=$2 each=$3 q n
    q=$(mktemp) n=$(mktemp)
    "$LOAD" --url "$KOOGATE_BASE" --kind query --ids-prefix bench- --ids-count 1000 --conns "$each" --duration "$secs" --label "$label" >"$q" 2>&1 &
    "$LOAD" --url "$KOOGATE_BASE" --kind new --conns "$each" --duration "$secs" --label "$label" >"$n" 2>&1
    wait
    for f in "$q" "$n"; do tail -n 1 "$f"; done
    rm -f "$q" "$n"
}
report() {  # report PHASE < json lines
    python3 -c '
import json, sys
phase, limit, worst, longest = sys.argv[1], float(sys.argv[2]), 0.0, 0.0
for line in sys.stdin:
    d = json.loads(line); p99 = d["p99_us"] / 1000; worst = max(worst, p99); longest = max(longest, d["max_us"] / 1000)
    bad = d["http_errors"] + d["result_errors"] + d["io_errors"]
    print("%-18s %-6s %8.0f req/s  p50 %7.2f ms  p99 %8.2f ms  max %8.2f ms  errors %d"
          % (phase, d["kind"], d["rps"], d["p50_us"] / 1000, p99, d["max_us"] / 1000, bad))
# A closed-loop p99 hides a stall: during the one-second wait of mod_fcgid the connection sends nothing.
# An open-loop client (wrk corrects for this) would see every request of that second late, so any
# request of a second or more fails the phase as well.
ok = worst < limit and longest < 1000
print("coldburst: %s: %s (p99 %.2f ms, limit %g ms; longest %.0f ms, limit 1000 ms)"
      % (phase, "ok" if ok else "over", worst, limit, longest))
' "$1" "$LIMIT"
}
say "$SERVER: the first burst after the web server started"
both first "$SECS" $((CONNS / 2)) | report "first after start"
say "restarting the stack (same database) for a warm-up of its own"
tools/stack.sh stop --var "$VAR" >/dev/null 2>&1
start_stack
say "$SERVER: warming up ${WARM}s with 2 x $CONNS connections"
both warm "$WARM" "$CONNS" >/dev/null
say "idle for ${IDLE}s"
sleep "$IDLE"
both burst "$SECS" $((CONNS / 2)) | report "after ${IDLE}s idle"
both full "$SECS" $((CONNS / 2)) | report "full load"
pids=$(pgrep -f "^$KOOGATE_BUILD/produce" || true)
rss=$(for p in $pids; do awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null; done | sort -n | tail -n 1)
say "produce processes of this stack: $(echo "$pids" | wc -w), largest resident ${rss:-?} kB"
