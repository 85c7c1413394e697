#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tools/stack.sh — run a private koogate stack: PostgreSQL cluster + web server + FastCGI programs.
#
#   tools/stack.sh start  [--server apache|apache-fcgid|lighttpd] [--port N] [--var DIR] [--build DIR] [--db-from DIR]
#                         [--set KEY=VALUE ...]
#   tools/stack.sh stop   [--var DIR]
#   tools/stack.sh status [--var DIR]
#
#   --server   web server (default apache): apache = Apache + mod_proxy_fcgi, the programs started on
#              sockets as koogate-fcgi@.socket starts them (the README's deployment); apache-fcgid =
#              Apache + mod_fcgid; lighttpd = lighttpd + mod_fastcgi
#   --port     HTTP port on 127.0.0.1 (default: a free port)
#   --var      state directory (default: <repo>/var); everything the stack writes lives there
#   --build    directory holding produce, koogate, hello, ... (default: <repo>/build)
#   --db-from  the --var of a running stack: use its PostgreSQL and a copy of its koogate.conf (same
#              keys) instead of a private cluster, e.g. for a second web node behind a balancer
#   --set      write KEY = VALUE into koogate.conf at every start (repeatable), e.g. a second node
#              with other settings: --db-from var/a --var var/b --set v1_max_age=0
#
# start: creates a private PostgreSQL cluster in $VAR/pg (never the system cluster) listening on a
# unix socket in $VAR/run and on 127.0.0.1:<free port>; creates role and database `koogate`; writes
# $VAR/koogate.conf if absent (fresh random keys); runs `koogate migrate`; renders the web server
# configuration from apache-conf/ into $VAR; starts the server; waits until the production URL
# answers; writes $VAR/stack.env (shell-sourceable). Leftovers of a previous run in $VAR (stale pid
# files, a still-running postmaster or web server) are stopped/cleaned first.
# Fake KooGallery gateway (tests/fakes/koogallery.py; not with --db-from, not for a koogate.conf that
# stack.sh did not write, not with KOOGATE_NO_FAKE=1): a throwaway test CA and a certificate for
# 127.0.0.1 and localhost in $VAR/fake (made once, kept), the fake on a free HTTPS port with the usage
# key = the basic key, and mkt_url (https://127.0.0.1:P), mkt_fallback_url (https://localhost:P: the
# same fake under the other name), apig_ak/apig_sk, ca_file and usage_token in koogate.conf.
# stop: stops the web server, its FastCGI programs, the fake gateway and PostgreSQL; safe to call
# repeatedly.
#
# As root, PostgreSQL runs as `postgres` and the web server's workers as `www-data`; otherwise
# everything runs as the calling user. Several stacks with different --var can run at once.
# Environment: KOOGATE_SQL_DIR=DIR runs `koogate migrate --sql DIR`; KOOGATE_SKIP_MIGRATE=1 skips
# `koogate migrate` (debugging the stack itself only).
# This file is the command line and the order of the steps; the steps are in tools/stack/*.sh
# (common, config, postgres, fake, web), the programs a stack serves in tools/stack/programs.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/stack/common.sh
. "$REPO/tools/stack/common.sh"
# shellcheck source=tools/stack/config.sh
. "$REPO/tools/stack/config.sh"
# shellcheck source=tools/stack/postgres.sh
. "$REPO/tools/stack/postgres.sh"
# shellcheck source=tools/stack/fake.sh
. "$REPO/tools/stack/fake.sh"
# shellcheck source=tools/stack/web.sh
. "$REPO/tools/stack/web.sh"

die()  { echo "stack.sh: $*" >&2; exit 1; }
note() { echo "stack.sh: $*" >&2; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

CMD=${1:-}
[ -n "$CMD" ] || { usage; exit 2; }
shift
SERVER=apache
PORT=""
VAR="$REPO/var"
BUILD="$REPO/build"
DB_FROM=""
SETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --server) SERVER=${2:?--server needs a value}; shift 2 ;;
        --server=*) SERVER=${1#*=}; shift ;;
        --port) PORT=${2:?--port needs a value}; shift 2 ;;
        --port=*) PORT=${1#*=}; shift ;;
        --var) VAR=${2:?--var needs a value}; shift 2 ;;
        --var=*) VAR=${1#*=}; shift ;;
        --build) BUILD=${2:?--build needs a value}; shift 2 ;;
        --build=*) BUILD=${1#*=}; shift ;;
        --db-from) DB_FROM=${2:?--db-from needs a value}; shift 2 ;;
        --db-from=*) DB_FROM=${1#*=}; shift ;;
        --set) SETS+=("${2:?--set needs KEY=VALUE}"); shift 2 ;;
        --set=*) SETS+=("${1#*=}"); shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
case "$SERVER" in apache|apache-fcgid|lighttpd) ;; *) die "--server must be apache, apache-fcgid or lighttpd" ;; esac
if [ -n "$PORT" ] && ! [[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]]; then
    die "--port must be a number between 1 and 65535"
fi
for kv in ${SETS[@]+"${SETS[@]}"}; do
    [[ "$kv" =~ ^[a-z_0-9]+=[^$'\n']*$ ]] || die "--set expects KEY=VALUE, got: $kv"
done

# Absolute paths without requiring them to exist.
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
VAR=$(abspath "$VAR"); VAR=${VAR%/}
BUILD=$(abspath "$BUILD"); BUILD=${BUILD%/}
[ -d "$BUILD" ] && BUILD=$(cd "$BUILD" && pwd -P)
[ -d "$VAR" ] && VAR=$(cd "$VAR" && pwd -P)
if [ -n "$DB_FROM" ]; then
    [ -f "$DB_FROM/stack.env" ] || die "--db-from $DB_FROM: no running stack there ($DB_FROM/stack.env missing)"
    DB_FROM=$(cd "$DB_FROM" && pwd -P)
fi

CONF="$VAR/koogate.conf"
ENVFILE="$VAR/stack.env"
PGDATA="$VAR/pg"
SOCKDIR="$VAR/run"
LOGDIR="$VAR/log"
FAKEDIR="$VAR/fake"

if [ "$(id -u)" = 0 ]; then
    IS_ROOT=1; WEB_USER=www-data; WEB_GROUP=www-data; PG_OS_USER=postgres
    getent passwd "$WEB_USER" >/dev/null || die "user $WEB_USER does not exist (install apache2)"
    getent passwd "$PG_OS_USER" >/dev/null || die "user $PG_OS_USER does not exist (install postgresql)"
else
    IS_ROOT=0; WEB_USER=$(id -un); WEB_GROUP=$(id -gn); PG_OS_USER=$WEB_USER
fi


do_stop() {
    if [ ! -d "$VAR" ]; then note "nothing to stop ($VAR does not exist)"; return 0; fi
    stop_web
    stop_fake
    stop_pg
    rm -f "$ENVFILE"
}

# ---------------------------------------------------------------- status
do_status() {
    local rc=0 pid
    if [ -f "$ENVFILE" ]; then
        # shellcheck disable=SC1090
        ( . "$ENVFILE"; echo "url:        $KOOGATE_URL"; echo "server:     $KOOGATE_SERVER"; echo "config:     $KOOGATE_CONFIG"; echo "error log:  $KOOGATE_ERROR_LOG" )
    else
        echo "stack:      not started ($ENVFILE missing)"; rc=3
    fi
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
    if pid_alive "$pid" && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" = "$PGDATA" ]; then
        echo "postgresql: running (pid $pid, port $(sed -n 4p "$PGDATA/postmaster.pid"))"
    else
        echo "postgresql: stopped"; rc=3
    fi
    local any=0 f
    for f in "$VAR/apache/httpd.pid" "$VAR/lighttpd/lighttpd.pid"; do
        pid=$(head -n 1 "$f" 2>/dev/null || true)
        if pid_alive "$pid"; then echo "web server: running ($(basename "$f" .pid), pid $pid)"; any=1; fi
    done
    [ "$any" = 1 ] || { echo "web server: stopped"; rc=3; }
    if [ -f "$ENVFILE" ] && [ "$any" = 1 ]; then
        local code
        # shellcheck disable=SC1090
        code=$( . "$ENVFILE"; curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'X-Koogate-Probe: readiness' "$KOOGATE_URL" || true)
        echo "probe:      GET /saasproduce -> HTTP $code"
    fi
    return $rc
}

# ---------------------------------------------------------------- start
do_start() {
    local p
    for p in produce koogate; do
        [ -x "$BUILD/$p" ] || die "$BUILD/$p is missing; run 'make all' first"
    done
    command -v psql >/dev/null || die "psql not found; run tools/deps.sh"
    command -v openssl >/dev/null || die "openssl not found; run tools/deps.sh"
    command -v curl >/dev/null || die "curl not found; run tools/deps.sh"

    mkdir -p "$VAR"
    VAR=$(cd "$VAR" && pwd -P)
    CONF="$VAR/koogate.conf"; ENVFILE="$VAR/stack.env"; PGDATA="$VAR/pg"; SOCKDIR="$VAR/run"; LOGDIR="$VAR/log"

    # Leftovers of a previous (possibly killed) run in this directory.
    stop_web
    stop_fake
    # From here on, a failure stops whatever was started.
    trap 'rc=$?; if [ "$rc" != 0 ]; then note "start failed; stopping what was started"; stop_web >/dev/null 2>&1 || true; stop_fake >/dev/null 2>&1 || true; stop_pg >/dev/null 2>&1 || true; fi' EXIT
    stop_pg
    rm -f "$ENVFILE"

    mkdir -p "$SOCKDIR" "$LOGDIR"
    chmod 0751 "$VAR"
    chmod 0755 "$LOGDIR"
    if [ "$IS_ROOT" = 1 ]; then
        # The socket directory: postgres writes its socket there, the web server user connects.
        chown "$PG_OS_USER:$WEB_GROUP" "$SOCKDIR"; chmod 0750 "$SOCKDIR"
        ensure_traversable "$PG_OS_USER" "$VAR"
        ensure_traversable "$WEB_USER" "$VAR"
        ensure_traversable "$WEB_USER" "$BUILD"
        local prog
        for prog in "${PROGRAM_NAMES[@]}"; do
            [ -f "$BUILD/$prog" ] || continue
            if ! runuser -u "$WEB_USER" -- test -x "$BUILD/$prog"; then
                note "making $BUILD/$prog readable and executable for $WEB_USER (a+rx)"
                chmod a+rx "$BUILD/$prog"
            fi
        done
        runuser -u "$WEB_USER" -- test -x "$BUILD/produce" || die "$WEB_USER cannot execute $BUILD/produce"
    else
        chmod 0700 "$SOCKDIR"
    fi

    local ports pgport
    if [ -n "$DB_FROM" ]; then
        # Share the other stack's database and keys.
        [ "$DB_FROM" != "$VAR" ] || die "--db-from must name another stack's directory"
        pgport=$( . "$DB_FROM/stack.env"; echo "$PGPORT")
        SOCKDIR=$( . "$DB_FROM/stack.env"; echo "$PGHOST")
        if [ ! -f "$CONF" ]; then cp "$DB_FROM/koogate.conf" "$CONF"; fi
        chmod 0640 "$CONF"; [ "$IS_ROOT" = 1 ] && chown root:"$WEB_GROUP" "$CONF"
        # The other stack's PostgreSQL may have moved to another port since the copy was made.
        local srcdb
        srcdb=$(CONF="$DB_FROM/koogate.conf" conf_value db)
        [ -z "$srcdb" ] || conf_set db "$srcdb"
    fi
    local newpg
    if [ -n "$PORT" ]; then
        port_is_free "$PORT" || die "port $PORT on 127.0.0.1 is in use"
        WEB_PORT=$PORT
        newpg=$(free_ports 2 | tr ' ' '\n' | grep -vx "$PORT" | head -n 1)
    else
        ports=$(free_ports 2)
        WEB_PORT=${ports%% *}; newpg=${ports##* }
    fi
    [ -n "$DB_FROM" ] || pgport=$newpg

    if [ -z "$DB_FROM" ]; then
        start_pg "$pgport"
        write_config "$pgport"
    fi

    if [ "${KOOGATE_SKIP_MIGRATE:-0}" != 1 ]; then
        local migrate=("$BUILD/koogate" migrate)
        [ -n "${KOOGATE_SQL_DIR:-}" ] && migrate+=(--sql "$KOOGATE_SQL_DIR")
        KOOGATE_CONFIG="$CONF" "${migrate[@]}" >"$LOGDIR/migrate.log" 2>&1 \
            || { cat "$LOGDIR/migrate.log" >&2; die "koogate migrate failed"; }
    else
        note "KOOGATE_SKIP_MIGRATE=1: not running koogate migrate"
    fi

    if [ -z "$DB_FROM" ]; then
        start_fake
    elif [ -f "$DB_FROM/stack.env" ]; then
        # A second node talks to the first node's fake (its koogate.conf is a copy).
        FAKE_URL=$( . "$DB_FROM/stack.env"; echo "${KOOGATE_FAKE_URL:-}")
        FAKE_FALLBACK_URL=$( . "$DB_FROM/stack.env"; echo "${KOOGATE_FAKE_FALLBACK_URL:-}")
        FAKE_CA=$( . "$DB_FROM/stack.env"; echo "${KOOGATE_FAKE_CA:-}")
    fi
    local kv
    for kv in ${SETS[@]+"${SETS[@]}"}; do conf_set "${kv%%=*}" "${kv#*=}"; done

    ERROR_LOG="" ACCESS_LOG="" PIDFILE=""
    # The status page sits behind HTTP authentication: one user, a fresh password per stack.
    STATUS_USER=admin
    if [ ! -s "$VAR/status.password" ]; then
        ( umask 077; openssl rand -hex 12 >"$VAR/status.password" )
    fi
    STATUS_PASSWORD=$(<"$VAR/status.password")
    htpasswd -bcB "$VAR/status.htpasswd" "$STATUS_USER" "$STATUS_PASSWORD" >/dev/null 2>&1 \
        || die "htpasswd failed (apache2-utils)"
    chmod 0640 "$VAR/status.htpasswd"
    [ "$IS_ROOT" = 1 ] && chgrp "$WEB_GROUP" "$VAR/status.htpasswd"

    case "$SERVER" in
        apache|apache-fcgid) start_apache ;;
        lighttpd) start_lighttpd ;;
    esac

    local base="http://127.0.0.1:$WEB_PORT" url code="000"
    url="$base/saasproduce"
    for _ in $(seq 1 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'X-Koogate-Probe: readiness' "$url" || true)
        case "$code" in 000|5??) sleep 0.2 ;; *) break ;; esac
    done
    case "$code" in
        000|5??)
            note "the production URL $url does not answer (last HTTP status $code); error log tail:"
            tail -n 30 "$ERROR_LOG" >&2 2>/dev/null || true
            die "start failed" ;;
    esac

    local basic kit
    basic=$(conf_value basic_keys); basic=${basic%%,*}; basic=${basic// /}
    kit=$(conf_value kit_keys); kit=${kit%%,*}; kit=${kit// /}
    ( umask 077
      {
        echo "# written by tools/stack.sh start; source it: . $ENVFILE"
        printf 'export KOOGATE_URL=%q\n' "$url"
        printf 'export KOOGATE_BASE=%q\n' "$base"
        printf 'export KOOGATE_BASIC_KEY=%q\n' "$basic"
        printf 'export KOOGATE_KIT_KEY=%q\n' "$kit"
        printf 'export KOOGATE_CONFIG=%q\n' "$CONF"
        printf 'export PGHOST=%q\n' "$SOCKDIR"
        printf 'export PGPORT=%q\n' "$pgport"
        printf 'export PGDATABASE=koogate\n'
        printf 'export PGUSER=koogate\n'
        printf 'export KOOGATE_SERVER=%q\n' "$SERVER"
        printf 'export KOOGATE_ERROR_LOG=%q\n' "$ERROR_LOG"
        printf 'export KOOGATE_ACCESS_LOG=%q\n' "$ACCESS_LOG"
        printf 'export KOOGATE_VAR=%q\n' "$VAR"
        printf 'export KOOGATE_BUILD=%q\n' "$BUILD"
        printf 'export KOOGATE_PIDFILE=%q\n' "$PIDFILE"
        printf 'export KOOGATE_STATUS_URL=%q\n' "$base/koogate/status"
        printf 'export KOOGATE_STATUS_USER=%q\n' "$STATUS_USER"
        printf 'export KOOGATE_STATUS_PASSWORD=%q\n' "$STATUS_PASSWORD"
        if [ -n "$FAKE_URL" ]; then
            printf 'export KOOGATE_FAKE_URL=%q\n' "$FAKE_URL"
            printf 'export KOOGATE_FAKE_FALLBACK_URL=%q\n' "$FAKE_FALLBACK_URL"
            printf 'export KOOGATE_FAKE_CA=%q\n' "$FAKE_CA"
        fi
      } >"$ENVFILE.tmp"
      mv "$ENVFILE.tmp" "$ENVFILE" )
    trap - EXIT
    note "$SERVER on $url (HTTP $code for GET), PostgreSQL on $SOCKDIR / 127.0.0.1:$pgport; env: $ENVFILE"
}

case "$CMD" in
    start)  do_start ;;
    stop)   do_stop ;;
    status) do_status ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
esac
