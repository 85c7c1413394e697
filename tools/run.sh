#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tools/run.sh — `make run`: start koogate behind Apache on 127.0.0.1:$PORT (default 8080) with a
# private PostgreSQL in ./var, print the production URL, the basic access key and a ready-to-paste
# signed curl example, then wait. Ctrl-C (or `make stop` from another terminal) stops everything.
#
# Environment: PORT (default 8080), SERVER (apache|apache-fcgid|lighttpd, default apache: mod_proxy_fcgi),
# VAR (default <repo>/var).
# tools/run.sh --banner prints the text for the stack already running in $VAR, and returns.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-8080}
SERVER=${SERVER:-apache}
VAR=${VAR:-$REPO/var}

stopping=0
stop_stack() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo
    echo "run.sh: stopping the stack"
    "$REPO/tools/stack.sh" stop --var "$VAR" || true
}
# --banner: only print what follows for a stack already running in $VAR (the fixtures check it).
banner_only=0
[ "${1:-}" = --banner ] && banner_only=1
if [ "$banner_only" = 0 ]; then
    trap 'stop_stack; exit 0' INT TERM
    trap 'stop_stack' EXIT
    "$REPO/tools/stack.sh" start --server "$SERVER" --port "$PORT" --var "$VAR"
fi
# shellcheck disable=SC1091
. "$VAR/stack.env"

cat <<EOF

koogate is running ($KOOGATE_SERVER)
  production URL   $KOOGATE_URL
  basic access key $KOOGATE_BASIC_KEY
  Kit access key   $KOOGATE_KIT_KEY
  configuration    $KOOGATE_CONFIG
  error log        $KOOGATE_ERROR_LOG
  database         psql "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"
  status page      $KOOGATE_STATUS_URL
                   user $KOOGATE_STATUS_USER, password $KOOGATE_STATUS_PASSWORD

In another terminal, '. $VAR/stack.env' sets all of the above (KOOGATE_CONFIG and KOOGATE_URL for
build/koogate included); then follow the README's tour: build/koogate status, build/koogate simulate ...

A signed V2 newInstance (paste into a shell; the body is already in canonical form: sorted keys,
compact, no nulls; the signature is only valid for 60 s, so sign right before sending):

KEY='$KOOGATE_BASIC_KEY'
URL='$KOOGATE_URL'
ORDER="CS\$(date +%s)"; BIZ=\$(cat /proc/sys/kernel/random/uuid)
BODY='{"activity":"newInstance","businessId":"'\$BIZ'","orderId":"'\$ORDER'","orderLineId":"'\$ORDER'-000001","testFlag":"1"}'
TS=\$(date +%s%3N); NONCE=\$(openssl rand -hex 32 | tr a-f A-F)
INNER=\$(printf %s "\$BODY" | openssl dgst -sha256 -hmac "\$KEY" -r | cut -d' ' -f1)
SIG=\$(printf %s "\$KEY\$NONCE\$TS\$INNER" | openssl dgst -sha256 -hmac "\$KEY" -r | cut -d' ' -f1 | tr a-f A-F)
curl -sS -i -X POST "\$URL?signature=\$SIG&timestamp=\$TS&nonce=\$NONCE" \\
     -H 'Accept: application/json' -H 'Content-Type: application/json;charset=utf8' --data-binary "\$BODY"

Check the answer's Body-Sign:  printf %s '<response body>' | openssl dgst -sha256 -hmac "\$KEY" -binary | base64
Stop with Ctrl-C here, or 'make stop' from another terminal.
EOF

[ "$banner_only" = 1 ] && exit 0

# Wait until interrupted, or until the web server goes away (e.g. `make stop`).
pidfile=$KOOGATE_PIDFILE
while :; do
    sleep 2 &
    wait $! || true
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || [ ! -f "$VAR/stack.env" ]; then
        echo "run.sh: the web server is gone (stopped elsewhere?)"
        break
    fi
done
