#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/run.sh — what `make bench` runs after the build: throughput and latency of koogate against a
# dedicated stack, as ratios to the hello-world FastCGI ceiling behind the same Apache (tools/stack.sh
# --server apache: mod_proxy_fcgi in front of the supervised programs, as deployed).
#
#   1. builds build/bench/load (bench/Makefile), starts a fresh stack in var/bench (tools/stack.sh, Apache)
#      with the login keys (--set), the fake IdP (tests/fakes/idp.py) on the certificate of the stack's
#      own fake KooGallery gateway (tools/stack.sh starts one and puts its throwaway CA in ca_file); on a
#      stack.sh without that gateway it makes a throwaway CA, starts tests/fakes/koogallery.py itself and
#      writes ca_file and usage_url;
#   2. seeds 1,000 instances (SQL, generate_series, with a password sealed by koogate itself), provisions
#      a Kit tenant/app/user for login through koogate's own interfaces, fetches one-time login codes;
#   3. warms every kind up, then runs, in the same run and interleaved, BENCH_ROUNDS rounds of: hello,
#      queryInstance (1 id, 100 ids), newInstance, authSync (10, 500 users), login callback; reports medians;
#   4. open loop at half of the measured maximum (closed-loop) throughput: p99 for hello, queryInstance,
#      newInstance;
#   5. resident memory of every FastCGI process; processes per class;
#   6. queryInstance again with 1,000,000 instances in the table (generate_series);
#   7. a 10,000-record usage backlog pushed with `koogate usage push` to the fake gateway over TLS;
#   8. writes bench/results.md (and prints it). Everything started here is stopped on exit.
#
# Environment: BENCH_SECONDS (8) per run, BENCH_ROUNDS (3), BENCH_CONNS (16) closed-loop connections,
# BENCH_WARMUP (3) seconds per kind, BENCH_LOGIN_CODES (200) login callbacks per run, BENCH_BIG (1000000),
# BENCH_USAGE_RECORDS (10000), BENCH_VAR (var/bench), BENCH_OUT (bench/results.md),
# BENCH_KEEP=1 leaves the stack running (the fake IdP is stopped). Stage times go to stderr.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VAR=${BENCH_VAR:-$REPO/var/bench}
SECS=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-16}
WARM=${BENCH_WARMUP:-3}
LOGIN_CODES=${BENCH_LOGIN_CODES:-200}
LOGIN_CONNS=${BENCH_LOGIN_CONNS:-4}
BIG=${BENCH_BIG:-1000000}
USAGE_N=${BENCH_USAGE_RECORDS:-10000}
OUT=${BENCH_OUT:-$REPO/bench/results.md}
SEED=1000
OPEN_CONNS=$CONNS
LOAD=$REPO/build/bench/load
HELPER=$REPO/bench/helper.py
T0=$(date +%s)

say() { printf 'bench: [%3d s] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------- clean-up (only what we started)
FAKE_PIDS=()
STACK_STARTED=0
cleanup() {
    local p
    for p in "${FAKE_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${FAKE_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$STACK_STARTED" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
        tools/stack.sh stop --var "$VAR" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- 1. build, stack, fakes
make --no-print-directory -s -f bench/Makefile
[ -x "$REPO/build/hello" ] || die "build/hello is missing; run make all"

tools/stack.sh stop --var "$VAR" >/dev/null 2>&1 || true
rm -rf "$VAR"
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd -P)
W=$VAR/bench
mkdir -p "$W/tls"
chmod 0755 "$W" "$W/tls"
# A private copy of the binaries: a rebuild of build/ during the run (another `make`) must not change
# what is measured (under mod_fcgid it would also replace every process of a program whose file changes).
BUILD=$VAR/build
mkdir -p "$BUILD"
chmod 0755 "$BUILD"
for f in "$REPO"/build/*; do
    if [ -f "$f" ] && [ -x "$f" ]; then cp -p "$f" "$BUILD/"; fi
done
CODE=$(git -C "$REPO" log -1 --format='%h %s' 2>/dev/null | cut -c1-90 || echo unknown)
DIRTY=$(git -C "$REPO" status --short --untracked-files=no 2>/dev/null | wc -l || echo 0)
[ "$DIRTY" = 0 ] || CODE="$CODE (plus $DIRTY uncommitted changes)"
echo "$CODE" >"$W/code.txt"
read -r WEB_PORT IDP_PORT GW_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')

IDP_BASE="https://127.0.0.1:$IDP_PORT"
echo "$IDP_BASE" >"$W/idp_base"
APP_ID="kgbench$(openssl rand -hex 4)"
# Login keys; the FastCGI programs read the configuration only when they start.
LOGIN_SET=("app_id=$APP_ID" "login_unified_url=$IDP_BASE/unified-login/#/portal-login?ind=UNOP&appId={appId}"
           "login_callback_url=http://127.0.0.1:$WEB_PORT/koogate/callback")
HAS_SET=0
grep -q -- '--set KEY=VALUE' tools/stack.sh && HAS_SET=1
start_stack() {  # start_stack LOG [KEY=VALUE...]: (re)starts the stack; --set where stack.sh has it
    local log=$1 kv args=(--server apache --var "$VAR" --port "$WEB_PORT" --build "$BUILD")
    shift
    if [ "$HAS_SET" = 1 ]; then
        for kv in "$@"; do args+=(--set "$kv"); done
    elif [ $# -gt 0 ]; then
        echo "# bench/run.sh" >>"$VAR/koogate.conf"
        for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$VAR/koogate.conf"; done
    fi
    tools/stack.sh start "${args[@]}" 2>"$W/$log" || { cat "$W/$log" >&2; die "the stack did not start"; }
    # shellcheck disable=SC1091
    . "$VAR/stack.env"
}

say "starting the stack in $VAR"
STACK_STARTED=1
if [ "$HAS_SET" = 1 ]; then start_stack stack-start.log "${LOGIN_SET[@]}"; else start_stack stack-start.log; fi
CONF=$KOOGATE_CONFIG

# TLS for the fake IdP (and the fake gateway): the stack's own fake gateway and throwaway CA when
# tools/stack.sh starts one (it puts the CA in ca_file), else a throwaway CA and gateway of our own.
if [ -n "${KOOGATE_FAKE_URL:-}" ] && [ -s "$VAR/fake/server.pem" ] && [ -s "$VAR/fake/server.key" ]; then
    OWN_GATEWAY=0
    cp "$KOOGATE_FAKE_CA" "$W/ca.pem"
    TLS_CERT=$VAR/fake/server.pem TLS_KEY=$VAR/fake/server.key
    GW_URL=$KOOGATE_FAKE_URL
    [ "$HAS_SET" = 1 ] || start_stack stack-restart.log "${LOGIN_SET[@]}"
else
    OWN_GATEWAY=1
    (
        cd "$W/tls"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=koogate bench CA" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null
        chmod 0644 ca.pem
    )
    cp "$W/tls/ca.pem" "$W/ca.pem"
    TLS_CERT=$W/tls/srv.pem TLS_KEY=$W/tls/srv.key
    GW_URL=https://127.0.0.1:$GW_PORT
    start_stack stack-restart.log "${LOGIN_SET[@]}" "ca_file=$W/ca.pem" \
        "usage_url=$GW_URL/api/mkp-openapi-public/global/v1/isv/usage-data"
    KOOGALLERY_SK=$(openssl rand -hex 20) KOOGALLERY_USAGE_KEY=$KOOGATE_BASIC_KEY \
        python3 tests/fakes/koogallery.py --port "$GW_PORT" --cert "$TLS_CERT" --key "$TLS_KEY" \
        --ak "$(openssl rand -hex 10)" >"$W/gateway.log" 2>&1 &
    FAKE_PIDS+=($!)
fi
echo '{}' >"$W/clients.json"; echo '{}' >"$W/users.json"
python3 tests/fakes/idp.py --port "$IDP_PORT" --cert "$TLS_CERT" --key "$TLS_KEY" \
    --clients "$W/clients.json" --users "$W/users.json" --code-ttl 3600 >"$W/idp.log" 2>&1 &
FAKE_PIDS+=($!)
for _ in $(seq 1 100); do
    curl -s --cacert "$W/ca.pem" -o /dev/null "$IDP_BASE/_state" \
        && curl -s --cacert "$W/ca.pem" -o /dev/null "$GW_URL/_usage" && break
    sleep 0.1
done
curl -sf --cacert "$W/ca.pem" -o /dev/null "$IDP_BASE/_state" || die "the fake IdP did not start ($W/idp.log)"
curl -sf --cacert "$W/ca.pem" -o /dev/null "$GW_URL/_usage" || die "the fake gateway did not answer ($GW_URL)"
# CPU of the fakes: ours, and the stack's gateway
CPU_PIDS=("${FAKE_PIDS[@]}")
[ "$OWN_GATEWAY" = 1 ] || CPU_PIDS+=("$(cat "$VAR/fake/koogallery.pid" 2>/dev/null || true)")

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
PSQL_SU=(psql -X -q -v ON_ERROR_STOP=1 -tA -U postgres -d koogate)

# ---------------------------------------------------------------- 2. data
say "seeding $SEED instances"
"$LOAD" --url "$KOOGATE_BASE" --kind new --conns 1 --requests 1 --label seed >/dev/null 2>"$W/seed.log" \
    || { cat "$W/seed.log" >&2; die "newInstance failed"; }
seed_sql() {  # seed_sql FROM TO : instances bench-FROM .. bench-(TO-1), active, with app info
    cat <<EOF
INSERT INTO instance (instance_id, generation, order_id, order_line_id, business_id, status, test_flag,
                      app_front_end_url, app_admin_url, app_user_name, app_password, app_memo)
SELECT 'bench-' || lpad(g::text, 7, '0'), 2, 'CSBSEED' || lpad(g::text, 7, '0'),
       'CSBSEED' || lpad(g::text, 7, '0') || '-000001', 'bench-' || lpad(g::text, 7, '0'), 'active', false,
       'https://app.example.com/login?instance=bench-' || lpad(g::text, 7, '0'), 'https://app.example.com/admin',
       'admin-bench' || (g % 1000), s.pw, 'initial account'
  FROM generate_series($1, $2 - 1) g,
       (SELECT app_password AS pw FROM instance WHERE order_id LIKE 'CSB%' AND app_password IS NOT NULL LIMIT 1) s;
EOF
}
{
    echo "SET session_replication_role = replica;   -- seeded orders count as fetched: no Query Order backlog"
    seed_sql 0 "$SEED"
} | "${PSQL_SU[@]}"
[ "$("${PSQL[@]}" -c "SELECT count(*) FROM instance WHERE instance_id LIKE 'bench-%'")" = "$SEED" ] \
    || die "seeding failed"
# A tenant and app for authSync (the rows are keyed by them; no other table is needed).
AUTH_INSTANCE=bench-0000000
AUTH_TENANT="benchtenant$(openssl rand -hex 4)"

say "provisioning the login tenant (tenantSync, applicationSync, authSync through koogate)"
eval "$(python3 "$HELPER" login-setup "$VAR/stack.env" "$W" "$IDP_BASE" "$APP_ID")"
say "fetching $((LOGIN_CODES * ROUNDS + 60)) one-time codes from the fake IdP"
python3 "$HELPER" login-codes "$W" $((LOGIN_CODES * ROUNDS + 60)) "$W/codes.all"
split -l "$LOGIN_CODES" -d -a 2 "$W/codes.all" "$W/codes."

# ---------------------------------------------------------------- load helpers
RUNS=$W/runs.jsonl
: >"$RUNS"
# bench LABEL load-args... : one measured run; its JSON (with the CPU of each component inside the
# measured window) is appended to $RUNS
bench() {
    local label=$1 out
    shift
    out=$("$LOAD" --url "$KOOGATE_BASE" --label "$label" --cpu-var "$VAR" \
          --cpu-pids "$(IFS=,; echo "${CPU_PIDS[*]}")" "$@" 2>>"$W/load.log") || die "load failed: $*"
    printf '%s\n' "$out" >>"$RUNS"
    tail -n 1 "$W/load.log" | sed 's/^/bench: /' >&2
}
warm() { "$LOAD" --url "$KOOGATE_BASE" --label warmup "$@" >/dev/null 2>>"$W/load.log" || die "warm-up failed: $*"; }
# newInstance runs add instances; drop them so every query run sees the same 1,000-row table.
drop_new() {
    "${PSQL[@]}" -c "DELETE FROM event WHERE order_id LIKE 'CSB%' AND order_id NOT LIKE 'CSBSEED%'" \
        -c "DELETE FROM instance_order WHERE order_id LIKE 'CSB%' AND order_id NOT LIKE 'CSBSEED%'" \
        -c "DELETE FROM instance WHERE order_id LIKE 'CSB%' AND order_id NOT LIKE 'CSBSEED%'
               AND instance_id NOT IN (SELECT instance_id FROM usage_record)" \
        -c "VACUUM (ANALYZE) instance, instance_order, event" >/dev/null
}
median_rps() {  # median_rps LABEL
    python3 - "$RUNS" "$1" <<'EOF'
import json, sys
xs = sorted(json.loads(l)["rps"] for l in open(sys.argv[1]) if l.strip() and json.loads(l)["label"] == sys.argv[2])
m = len(xs) // 2
print(xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2)
EOF
}

Q1=(--kind query --ids-per-req 1 --ids-count "$SEED")
Q100=(--kind query --ids-per-req 100 --ids-count "$SEED")
A10=(--kind authsync --users 10 --tenant "$AUTH_TENANT" --app benchapp --instance "$AUTH_INSTANCE")
A500=(--kind authsync --users 500 --tenant "$AUTH_TENANT" --app benchapp --instance "$AUTH_INSTANCE")
LOGIN=(--kind login --tenant "$LOGIN_TENANT" --conns "$LOGIN_CONNS")

# ---------------------------------------------------------------- 3. warm-up and rounds
# CPU the rest of the machine uses while the stack is idle (other work on a shared machine).
BACKGROUND=$(python3 -c '
import time
def r():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6]
a = r(); time.sleep(3); b = r()
import os; print(round((b - a) / os.sysconf("SC_CLK_TCK") / 3, 2))')
say "background load while the stack is idle: $BACKGROUND cores busy"
say "warming up (${WARM} s per kind, $CONNS connections)"
warm --kind hello --conns "$CONNS" --duration "$WARM"
warm "${Q1[@]}" --conns "$CONNS" --duration "$WARM"
warm "${Q100[@]}" --conns "$CONNS" --duration "$WARM"
warm --kind new --conns "$CONNS" --duration "$WARM"
warm "${A10[@]}" --conns "$CONNS" --duration "$WARM"
warm "${A500[@]}" --conns "$CONNS" --duration "$WARM"
warm "${LOGIN[@]}" --codes "$W/codes.$(printf '%02d' "$ROUNDS")"
drop_new
EMERG0=$(grep -cE "mod_fcgid: can't (lock process table|get pipe mutex)" "$KOOGATE_ERROR_LOG" || true)

for r in $(seq 1 "$ROUNDS"); do
    say "round $r of $ROUNDS"
    bench hello --kind hello --conns "$CONNS" --duration "$SECS"
    bench query1 "${Q1[@]}" --conns "$CONNS" --duration "$SECS"
    bench query100 "${Q100[@]}" --conns "$CONNS" --duration "$SECS"
    bench new --kind new --conns "$CONNS" --duration "$SECS"
    drop_new
    bench authsync10 "${A10[@]}" --conns "$CONNS" --duration "$SECS"
    bench authsync500 "${A500[@]}" --conns "$CONNS" --duration "$SECS"
    bench login "${LOGIN[@]}" --codes "$W/codes.$(printf '%02d' $((r - 1)))"
done

# ---------------------------------------------------------------- 4. half of the maximum, open loop
for kind in hello query1 new; do
    max=$(median_rps "$kind")
    rate=$(python3 -c "print(round($max / 2, 1))")
    case $kind in
        hello) args=(--kind hello) ;;
        query1) args=("${Q1[@]}") ;;
        new) args=(--kind new) ;;
    esac
    say "open loop at $rate req/s (half of $max) for $kind"
    for r in $(seq 1 "$ROUNDS"); do
        bench "half_$kind" "${args[@]}" --rate "$rate" --conns "$OPEN_CONNS" --duration "$SECS" --warmup 1
        [ "$kind" = new ] && drop_new
    done
done
EMERG1=$(grep -cE "mod_fcgid: can't (lock process table|get pipe mutex)" "$KOOGATE_ERROR_LOG" || true)
# Requests that waited a second or more in the web server (mod_fcgid waits in 1 s steps for a free
# process): from the access log's %D, per program.
python3 - "$VAR/log/apache-access.log" >"$W/slow.json" <<'EOF2'
import json, re, sys
stat = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r'"[A-Z]+ ([^ ?"]*)[^"]*" (\d{3}) \S+ (\d+)$', line.strip())
    if not m:
        continue
    path, us = m.group(1), int(m.group(3))
    prog = ("hello" if path == "/hello" else "authSync" if path.endswith("/authSync") else
            "callback" if path == "/koogate/callback" else "produce" if path.startswith("/saasproduce") else path)
    s = stat.setdefault(prog, [0, 0, 0])
    s[0] += 1
    s[1] += us >= 1000000
    s[2] = max(s[2], us)
print(json.dumps(stat))
EOF2

# ---------------------------------------------------------------- 5. memory, processes
RSS=$(python3 "$HELPER" rss "$VAR")
PROCS=$(python3 "$HELPER" procs "$VAR")

# ---------------------------------------------------------------- 5b. newInstance, Query Order by the worker
# The stack configures Query Order (apig_ak, the fake gateway); with order_fetch_inline = 1 newInstance
# calls it from the same FastCGI process after each answer. Once more with order_fetch_inline = 0, the
# production set-up with `koogate worker` (which is not running here): the web tier only records the order.
if [ "$HAS_SET" = 1 ] && grep -qE '^[[:space:]]*apig_ak[[:space:]]*=[[:space:]]*[^[:space:]]' "$CONF"; then
    say "restarting the stack with order_fetch_inline = 0 (Query Order left to the worker) for newInstance"
    start_stack stack-noqo.log "${LOGIN_SET[@]}" "order_fetch_inline=0"
    if [ "$OWN_GATEWAY" = 0 ]; then
        GW_URL=$KOOGATE_FAKE_URL
        CPU_PIDS=("${FAKE_PIDS[@]}" "$(cat "$VAR/fake/koogallery.pid" 2>/dev/null || true)")
    fi
    warm --kind new --conns "$CONNS" --duration "$WARM"
    drop_new
    for r in $(seq 1 "$ROUNDS"); do
        bench new_noqo --kind new --conns "$CONNS" --duration "$SECS"
        drop_new
    done
fi

# ---------------------------------------------------------------- 6a. the database alone
# pgbench runs exactly the statements one request sends (the texts of lib/app.c's bookkeeping and of
# cgi-bin/produce/instance.c; one audit row per request, as the programs queue it), with the same number
# of clients and nothing else running: the most requests per second this machine's PostgreSQL can carry,
# whatever the web tier costs. The stack's own rate can only be lower: its web server, programs and load
# generator share the same cores.
FLOOR=$W/floor
mkdir -p "$FLOOR"
: >"$FLOOR/runs.jsonl"
CALL="[{\"at\":$(date +%s).5,\"http_status\":200,\"duration_ms\":0.9,\"program\":\"produce\",\"activity\":\"queryInstance\",\"verdict\":\"ok\",\"result_code\":\"000000\",\"instance_id\":\"bench-0000001\",\"order_id\":null,\"remote_addr\":\"127.0.0.1\",\"probe\":null}]"
# (the audit row is a pgbench variable, -D calls=...: a ':' in the script text would read as one)
# lib/app/audit.c's BOOKKEEPING_SQL with ANSWER (its CLAIM_FRESH forms) and the rows CALLS; $1 'basic',
# $2 a fresh nonce, $3 120, $5 the signed timestamp (the database's clock).
claim_sql() {
    local ts="(extract(epoch FROM now()) * 1000)::bigint" answer
    answer=${1//\$5::bigint/$ts}
    answer=${answer//\$3::integer/120}
    printf '%s' "WITH calls AS (INSERT INTO inbound_call (at, program, activity, verdict, http_status, result_code, duration_ms, instance_id, order_id, remote_addr, probe, test_flag) SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code, r.duration_ms, r.instance_id, r.order_id, r.remote_addr, r.probe, COALESCE(r.test, false) FROM json_to_recordset($2::json) AS r(at double precision, program text, activity text, verdict text, http_status smallint, result_code text, duration_ms real, instance_id text, order_id text, remote_addr text, probe text, test boolean)), claim AS (INSERT INTO nonce AS n (family, nonce, expires_at) SELECT 'basic'::text, md5(random()::text || clock_timestamp()::text), now() + make_interval(secs => 120) ON CONFLICT (family, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE n.expires_at < now() RETURNING true) SELECT $answer, koogate_announce_due(false);"
}
FRESH="EXISTS (SELECT FROM claim) AND koogate_claim_in_time(\$5::bigint, \$3::integer)"
CLAIM=$(claim_sql "CASE WHEN true THEN $FRESH END, set_config('synchronous_commit', 'off', true)" "CAST(:calls AS json)")
ORDER="'CSBFLOOR' || :client_id || '-' || :n"
LINE="$ORDER || '-000001'"
printf '%s\n' "$CLAIM" >"$FLOOR/claim.sql"
printf '%s\n' "\\set id random(0, $((SEED - 1)))" "$CLAIM" \
    "SELECT i.instance_id, i.status, i.app_front_end_url, i.app_admin_url, i.app_user_name, i.app_password, i.app_memo, i.test_flag, u.usage_value, u.statistical_time FROM instance i LEFT JOIN LATERAL koogate_usage_info(i, '{}', '{}', 3600) u ON true WHERE i.instance_id = ANY (ARRAY['bench-' || lpad(:id::text, 7, '0')]);" \
    >"$FLOOR/query1.sql"
# cgi-bin/produce/instance.c's create (capacity hook, instance, order row, event), verbatim but for the
# parameters, in one pipeline and one transaction with the claim's in-write form (lib/io/db.c, sql/026).
# Audit rows as the programs send them: 16 at a time with every 16th claim (lib/app/audit.c).
CALLS16="[$(for i in $(seq 16); do printf '%s%s' "${CALL:1:${#CALL}-2}" "$([ "$i" -lt 16 ] && echo ,)"; done)]"
NEWSQL="WITH old AS (SELECT instance_id FROM instance WHERE generation = 2 AND order_id = $ORDER AND order_line_id = $LINE AND test_flag = false), cap AS (SELECT CASE WHEN false OR EXISTS (SELECT FROM old) THEN NULL ELSE koogate_capacity('new', 2, $ORDER, $LINE, NULL, NULL, 'bf' || :client_id || '-' || :n) END AS refusal), ins AS (INSERT INTO instance (instance_id, generation, order_id, order_line_id, product_id, business_id, status, test_flag, app_front_end_url, app_admin_url, app_user_name, app_password, app_memo) SELECT 'bf' || :client_id || '-' || :n, 2::smallint, $ORDER, $LINE, '', 'bf' || :client_id || '-' || :n, 'active', false, 'https://app.example.com/login', NULL, 'u' || :n, decode(md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex'), NULL FROM cap WHERE refusal IS NULL AND NOT EXISTS (SELECT FROM old) ON CONFLICT DO NOTHING RETURNING instance_id, order_id, order_line_id, product_id, test_flag, status, generation), ord AS (INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, product_id, test_flag, fetch_state, fetch_next_at) SELECT instance_id, order_id, order_line_id, 'new', NULLIF(product_id, ''), test_flag, CASE WHEN generation = 2 THEN 'pending' ELSE 'none' END, CASE WHEN generation = 2 THEN now() END FROM ins), ev AS (INSERT INTO event (kind, instance_id, order_id, order_line_id, test_flag, detail) SELECT 'created', instance_id, order_id, order_line_id, test_flag, jsonb_build_object('generation', generation, 'businessId', 'x'::text, 'productId', ''::text, 'status', status) FROM ins RETURNING koogate_event_written(id)) SELECT COALESCE(ins.instance_id, (SELECT instance_id FROM old)), ins.instance_id IS NOT NULL, cap.refusal FROM cap LEFT JOIN ins ON true;"
CLAIM_W="CASE WHEN $FRESH THEN true ELSE koogate_claim_refused() END"
printf '%s\n' "\\set n random(1, 2000000000)" "\\if :n % 16 = 0" "\\startpipeline" "$(claim_sql "$CLAIM_W" "CAST(:calls16 AS json)")" "$NEWSQL" \
    "\\endpipeline" "\\else" "\\startpipeline" "$(claim_sql "$CLAIM_W" "NULL::json")" "$NEWSQL" "\\endpipeline" "\\endif" \
    >"$FLOOR/new.sql"
for kind in claim query1 new; do
    for r in $(seq 1 "$ROUNDS"); do
        # as the FastCGI programs' sessions: events notified by the next bookkeeping call (sql/010)
        lsn=$("${PSQL[@]}" -c "SELECT pg_current_wal_insert_lsn()")
        PGOPTIONS="-c koogate.notify_later=on" pgbench -n -M prepared -c "$CONNS" -j 2 -T "$SECS" -D calls="$CALL" -D calls16="$CALLS16" \
            -f "$FLOOR/$kind.sql" >"$FLOOR/$kind.out" 2>"$FLOOR/$kind.err" || true
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$FLOOR/$kind.out")
        txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$FLOOR/$kind.out")
        [ -n "$tps" ] && [ -n "$txs" ] || die "pgbench $kind failed: $(tail -n 3 "$FLOOR/$kind.err")"
        # WAL written per request (checkpoints' full-page images included, as in production)
        wal=$("${PSQL[@]}" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn') / $txs)")
        printf '{"label": "floor_%s", "tps": %s, "wal_bytes": %s}\n' "$kind" "$tps" "$wal" >>"$FLOOR/runs.jsonl"
        say "database alone, $kind: $tps per second, $wal bytes of WAL per request"
        if [ "$kind" = new ]; then drop_new; fi
    done
done

# ---------------------------------------------------------------- 6. 1,000,000 instances
say "growing the instance table to $BIG rows"
t=$(date +%s%N)
{
    echo "SET session_replication_role = replica;   -- no per-row order trigger for the bulk seed"
    seed_sql "$SEED" "$BIG"
    echo "RESET session_replication_role;"
} | "${PSQL_SU[@]}"
"${PSQL_SU[@]}" -c "VACUUM (ANALYZE) instance" -c "CHECKPOINT"
BIG_SEED_S=$(python3 -c "print(round(($(date +%s%N) - $t) / 1e9, 1))")
BIG_COUNT=$("${PSQL[@]}" -c "SELECT count(*) FROM instance")
BIG_SIZE=$("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_total_relation_size('instance'))")
"${PSQL[@]}" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING ON)
    SELECT instance_id, status, app_front_end_url, app_admin_url, app_user_name, app_password, app_memo
      FROM instance WHERE instance_id = ANY ('{bench-0500000,bench-0999999}'::text[])" >"$W/plan.txt"
for r in $(seq 1 "$ROUNDS"); do
    bench query1_1m --kind query --ids-per-req 1 --ids-count "$BIG" --conns "$CONNS" --duration "$SECS"
    bench query100_1m --kind query --ids-per-req 100 --ids-count "$BIG" --conns "$CONNS" --duration "$SECS"
done

# ---------------------------------------------------------------- 7. usage backlog
say "pushing a $USAGE_N-record usage backlog to the fake gateway"
per=$(( (USAGE_N + 99) / 100 ))
"${PSQL[@]}" -c "
INSERT INTO usage_record (instance_id, begin_time, end_time, usage_value, metering_sn)
SELECT i, b, b + interval '1 hour', 1.5, koogate_metering_sn(i, b, b + interval '1 hour', NULL, '')
  FROM (SELECT 'bench-' || lpad(g::text, 7, '0') AS i FROM generate_series(0, 99) g) a,
       (SELECT date_trunc('hour', now()) - (k + 1) * interval '1 hour' AS b FROM generate_series(0, $per - 1) k) w
 LIMIT $USAGE_N"
PENDING=$("${PSQL[@]}" -c "SELECT count(*) FROM usage_record WHERE state = 'pending'")
t=$(date +%s%N)
set +e
KOOGATE_CONFIG=$CONF "$KOOGATE_BUILD/koogate" usage push --quiet >"$W/usage-push.log" 2>&1
PUSH_RC=$?
set -e
PUSH_S=$(python3 -c "print(($(date +%s%N) - $t) / 1e9)")
LEFT=$("${PSQL[@]}" -c "SELECT count(*) FROM usage_record WHERE state = 'pending'")
SENT=$("${PSQL[@]}" -c "SELECT count(*) FROM usage_record WHERE state = 'sent'")
GW=$(curl -sf --cacert "$W/ca.pem" "$GW_URL/_usage" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(len(d["records"]), d["batches"], sum(1 for v in d["records"].values() if v > 1))')
read -r GW_RECORDS GW_BATCHES GW_DUPS <<<"$GW"
say "usage push: $PENDING pending -> $SENT sent in ${PUSH_S} s (exit $PUSH_RC), gateway got $GW_RECORDS records in $GW_BATCHES batches"

# ---------------------------------------------------------------- 8. report
FCGID=$(grep -E '^\s*Fcgid(Min|Max)ProcessesPerClass|^\s*FcgidMaxRequestsPerProcess|^\s*FcgidIdleTimeout' \
        apache-conf/koogate.conf | awk '{printf "%s%s %s", (NR>1?", ":""), $1, $2}')
FACTS=$W/facts.json
python3 - >"$FACTS" <<EOF
import json, subprocess
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
notes = []
emerg = $EMERG1 - $EMERG0
notes.append("mod_fcgid 'can't lock process table' / 'can't get pipe mutex' (EDEADLK from the fcntl mutexes; "
             "mod_fcgid then exits the Apache child with all its connections): %d during the measured runs." % emerg)
notes.append("The load generator runs on the same %s cores as Apache, the FastCGI programs and PostgreSQL. "
             "Before the runs, with the stack idle, the rest of the machine kept %s cores busy (other work on a "
             "shared machine); the CPU table shows it per run as 'other processes'." % (sh("nproc"), "$BACKGROUND"))
notes.append("queryInstance picks random ids among the seeded ones (1 id, or 100 consecutive ids); newInstance "
             "uses a new orderId and businessId per request (the rows it adds are deleted after each run, so "
             "every query run sees $SEED instances); authSync adds new users (new user names) per request to "
             "one tenant and app.")
notes.append("The 1,000,000-instance table was filled in %s s (generate_series, order trigger off for the bulk "
             "insert, then VACUUM ANALYZE and CHECKPOINT); %s rows, %s with indexes. Plan of the queryInstance "
             "statement for 2 ids: \`%s\`" % ("$BIG_SEED_S", "$BIG_COUNT", "$BIG_SIZE",
             "; ".join(l.strip() for l in open("$W/plan.txt") if l.strip())))
if "$(sed -n 's/^[[:space:]]*apig_ak[[:space:]]*=[[:space:]]*//p' "$CONF" | head -n 1)":
    notes.append("Query Order is configured (apig_ak, the fake gateway at $GW_URL): after answering a "
                 "newInstance, the same FastCGI process calls Query Order over HTTPS before it takes the next "
                 "request, as in production.")
facts = {
    "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    "cpu_model": sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1"),
    "cores": sh("nproc"),
    "kernel": sh("uname -sr"),
    "memory": sh("free -h | awk '/^Mem:/ {print \$2}'"),
    "postgres": "PostgreSQL " + sh("psql -X -tA -c 'SHOW server_version'"),
    "apache": sh("apache2 -v | head -n 1 | sed 's/^Server version: //'"),
    "fcgid": "mod_fcgid " + (sh("dpkg-query -W -f='\${Version}' libapache2-mod-fcgid") or "?"),
    "load": "bench/load.c, closed loop $CONNS connections; open loop $OPEN_CONNS connections",
    "code": open("$W/code.txt").read().strip(),
    "binaries": "copied from build/ into $BUILD at the start; the stack ran those",
    "rounds": $ROUNDS, "seconds": $SECS, "conns": $CONNS,
    "login_codes": $LOGIN_CODES, "login_conns": $LOGIN_CONNS,
    "rss": json.loads('''$RSS'''),
    "slow": json.load(open("$W/slow.json")),
    "procs": ", ".join("%s %d" % (k.replace("fcgi:", ""), v) for k, v in sorted(json.loads('''$PROCS''').items())),
    "fcgid_settings": "$FCGID",
    "usage": {"records": $PENDING, "seconds": $PUSH_S, "batches": "$GW_BATCHES", "accepted": "$GW_RECORDS",
              "left": "$LEFT", "exit": $PUSH_RC, "duplicates": "$GW_DUPS",
              "ok": $PUSH_RC == 0 and int("$SENT") == $PENDING and int("$GW_RECORDS") == $PENDING},
    "notes": notes,
    "floor": [json.loads(l) for l in open("$FLOOR/runs.jsonl")],
}
print(json.dumps(facts))
EOF
python3 "$HELPER" report "$RUNS" "$FACTS" "$OUT"
say "done in $(( $(date +%s) - T0 )) s; results in ${OUT#"$REPO"/}; raw runs in ${RUNS#"$REPO"/}"
