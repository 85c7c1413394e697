#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/peer.sh — koogate against a hand-written Node.js service doing the same job (V2 newInstance and
# queryInstance: signature, timestamp window, nonce in PostgreSQL, idempotent insert, Body-Sign), on the
# same machine, PostgreSQL and load generator, in one run per server. The peer and its runner
# (sidebyside.sh, wrk replaying pre-signed unique requests) are not part of koogate: point BENCH_PEER at
# their folder. Prints, and writes to PEER_OUT (bench/peer-results.md), the medians and the ratios
# koogate / best peer for each server of tools/stack.sh: Apache + mod_proxy_fcgi (the README's deployment),
# Apache + mod_fcgid and lighttpd.
#
# Environment: BENCH_PEER (../bench-peer next to this checkout, or ../shared/bench-peer), PEER_SECONDS (8),
# PEER_ROUNDS (3), PEER_SERVERS ("apache apache-fcgid lighttpd"), PEER_OUT.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEER=${BENCH_PEER:-}
if [ -z "$PEER" ]; then
    for d in "$REPO/../bench-peer" "$REPO/../shared/bench-peer"; do [ -x "$d/sidebyside.sh" ] && PEER=$d && break; done
fi
if [ -z "$PEER" ] || [ ! -x "$PEER/sidebyside.sh" ]; then
    echo "bench/peer.sh: no peer (set BENCH_PEER to the folder holding sidebyside.sh); skipped" >&2
    exit 0
fi
SECS=${PEER_SECONDS:-8}
ROUNDS=${PEER_ROUNDS:-3}
OUT=${PEER_OUT:-$REPO/bench/peer-results.md}
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
for server in ${PEER_SERVERS:-apache apache-fcgid lighttpd}; do
    echo "bench/peer.sh: $server, $ROUNDS rounds of ${SECS}s" >&2
    SERVER=$server "$PEER/sidebyside.sh" "$REPO" "$SECS" "$ROUNDS" | tee "$LOGS/$server.log" >&2
done
python3 - "$LOGS" "$SECS" "$ROUNDS" "$(git -C "$REPO" log -1 --format='%h %s' | cut -c1-80)" >"$OUT" <<'PY'
import os, re, sys
logs, secs, rounds, code = sys.argv[1:5]
print("# koogate against the Node.js peer (same machine, same run)\n")
print(f"Code: {code}. Medians of {rounds} rounds of {secs} s, 16 connections, every answer checked for 000000.\n")
print("| server | hello | koogate newInstance | best peer newInstance | ratio | koogate queryInstance | best peer queryInstance | ratio | koogate p99 (worst round) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
LABEL = {"apache": "Apache + mod_proxy_fcgi", "apache-fcgid": "Apache + mod_fcgid", "lighttpd": "lighttpd"}
for server in ("apache", "apache-fcgid", "lighttpd"):
    path = os.path.join(logs, server + ".log")
    if not os.path.exists(path):
        continue
    med = {}
    text = open(path).read().split("--- medians", 1)[-1]
    for m in re.finditer(r"^(hello|koogate \w+|peer x\d \w+)\s+([\d.]+) req/s", text, re.M):
        med[m.group(1)] = float(m.group(2))
    row = [LABEL[server], f"{med.get('hello', 0):,.0f}"]
    for kind in ("newInstance", "queryInstance"):
        kg = med.get(f"koogate {kind}", 0)
        best = max(med.get(f"peer x1 {kind}", 0), med.get(f"peer x2 {kind}", 0))
        row += [f"{kg:,.0f}", f"{best:,.0f}", f"{kg / best:.2f}" if best else "-"]
    # wrk's p99 of koogate's rounds (it counts what an open-loop client would have waited).
    p99 = [m.group(1) for m in re.finditer(r"^koogate \w+\s+[\d.]+ req/s\s+p50\s+\S+\s+p99\s+(\S+)",
                                           open(path).read(), re.M)]
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    ms = [float(re.match(r"[\d.]+", v).group()) * unit[re.sub(r"^[\d.]+", "", v)] for v in p99]
    row.append(f"{max(ms):,.0f} ms" if ms else "-")
    print("| " + " | ".join(row) + " |")
PY
cat "$OUT"
