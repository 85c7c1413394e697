#!/usr/bin/env bash
# tools/stack.sh — run a private koogate stack: PostgreSQL cluster + web server + FastCGI programs.
#
#   tools/stack.sh start  [--server apache|lighttpd] [--port N] [--var DIR] [--build DIR] [--db-from DIR]
#                         [--set KEY=VALUE ...]
#   tools/stack.sh stop   [--var DIR]
#   tools/stack.sh status [--var DIR]
#
#   --server   web server (default apache)
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
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT_NAMES=(tenantSync applicationSync authSync singleOrgSync allOrgSync)
LOGIN_NAMES=(login callback session logout cas-login cas-callback)
# Other programs under /koogate/ (Apache: apache-conf/koogate.conf; lighttpd: rendered below).
OTHER_NAMES=(usage status)
PROGRAM_NAMES=(produce hello "${KIT_NAMES[@]}" "${LOGIN_NAMES[@]}" "${OTHER_NAMES[@]}")

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
case "$SERVER" in apache|lighttpd) ;; *) die "--server must be apache or lighttpd" ;; esac
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

as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi; }
as_web() { if [ "$IS_ROOT" = 1 ]; then runuser -u "$WEB_USER" -- "$@"; else "$@"; fi; }

pg_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then printf '%s\n' "$PG_BINDIR"; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then printf '%s\n' "$d"; return; fi
    d=$(command -v initdb 2>/dev/null || true)
    [ -n "$d" ] && { dirname "$d"; return; }
    die "PostgreSQL server binaries (initdb, pg_ctl) not found; run tools/deps.sh"
}

# Print N distinct free TCP ports on 127.0.0.1 (the sockets are held open until all are chosen).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}
port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

# ---------------------------------------------------------------- process helpers (by pid only)
is_zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
pid_alive() { [ -n "${1:-}" ] && [ "$1" -gt 0 ] 2>/dev/null && kill -0 "$1" 2>/dev/null; }
cmdline_of() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null || true; }
# Wait up to $2 seconds for pid $1 to exit.
wait_gone() {
    local pid=$1 n=$(( $2 * 10 ))
    while pid_alive "$pid" && ! is_zombie "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    ! pid_alive "$pid" || is_zombie "$pid"
}
# Pids of web server processes started with this stack's config file.
server_pids() {
    local pid args
    ps -eo pid=,args= 2>/dev/null | while read -r pid args; do
        [ "$pid" = "$$" ] && continue
        case "$args " in
            *apache2*" -f $VAR/httpd.conf "*|*lighttpd*" -f $VAR/lighttpd.conf "*) echo "$pid" ;;
        esac
    done
    return 0
}
# Pids of koogate FastCGI programs that belong to this stack (KOOGATE_CONFIG=$CONF in their environment).
program_pids() {
    local pid comm
    ps -eo pid=,comm= 2>/dev/null | while read -r pid comm; do
        case " ${PROGRAM_NAMES[*]} " in *" $comm "*) ;; *) continue ;; esac
        { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "KOOGATE_CONFIG=$CONF" && echo "$pid"
    done
    return 0
}
# Pids of postgres processes whose working directory is this stack's data directory.
postgres_pids() {
    local pid comm
    ps -eo pid=,comm= 2>/dev/null | while read -r pid comm; do
        case "$comm" in postgres|postmaster) ;; *) continue ;; esac
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" = "$PGDATA" ] && echo "$pid"
    done
    return 0
}
kill_pids() {  # kill_pids SIGNAL pid...
    local sig=$1; shift
    local p
    for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
}
terminate() {  # terminate pid... : TERM, wait up to 2 s for all of them, then KILL the rest
    [ $# -gt 0 ] || return 0
    kill_pids TERM "$@"
    local p n=20 left
    while [ "$n" -gt 0 ]; do
        left=""
        for p in "$@"; do pid_alive "$p" && ! is_zombie "$p" && left="$left $p"; done
        [ -n "$left" ] || return 0
        sleep 0.1; n=$((n - 1))
    done
    note "still running after SIGTERM, sending SIGKILL:$left"
    kill_pids KILL $left
}

# ---------------------------------------------------------------- stop
stop_web() {
    local pidfile pid
    # Apache
    pidfile="$VAR/apache/httpd.pid"
    if [ -f "$pidfile" ]; then
        pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
        if pid_alive "$pid" && [[ "$(cmdline_of "$pid")" == *apache2* ]]; then
            note "stopping apache (pid $pid)"
            if [ -f "$VAR/httpd.conf" ]; then
                apache2 -f "$VAR/httpd.conf" -k stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
            else
                kill -TERM "$pid" 2>/dev/null || true
            fi
            wait_gone "$pid" 20 || { note "apache did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
        fi
        rm -f "$pidfile"
    fi
    # lighttpd
    pidfile="$VAR/lighttpd/lighttpd.pid"
    if [ -f "$pidfile" ]; then
        pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
        if pid_alive "$pid" && [[ "$(cmdline_of "$pid")" == *lighttpd* ]]; then
            note "stopping lighttpd (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            wait_gone "$pid" 20 || { note "lighttpd did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
        fi
        rm -f "$pidfile"
    fi
    # Leftovers: orphaned server children of a killed parent, FastCGI programs of this stack.
    local left
    left=$(server_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "terminating leftover web server processes: $left"; terminate $left; fi
    left=$(program_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "terminating leftover FastCGI programs: $left"; terminate $left; fi
    rm -f "$VAR/apache/fcgid/"*.sock 2>/dev/null || true
    rm -f "$VAR/lighttpd/sock/"*.sock* 2>/dev/null || true
}

stop_pg() {
    [ -d "$PGDATA" ] || return 0
    local bindir pid
    bindir=$(pg_bindir)
    if [ -f "$PGDATA/postmaster.pid" ]; then
        pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
        if pid_alive "$pid" && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" = "$PGDATA" ]; then
            note "stopping postgresql (pid $pid)"
            as_pg "$bindir/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 || {
                note "pg_ctl stop failed; sending SIGQUIT"
                kill -QUIT "$pid" 2>/dev/null || true
                wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
            }
            wait_gone "$pid" 10 || true
        fi
    fi
    local left
    left=$(postgres_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "killing leftover postgres processes: $left"; kill_pids KILL $left; sleep 0.5; fi
    # A postmaster.pid whose process is gone is stale; postgres would mostly cope, but not when the pid
    # has been reused by an unrelated process.
    if [ -f "$PGDATA/postmaster.pid" ]; then
        pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
        if ! pid_alive "$pid" || [ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" != "$PGDATA" ]; then
            rm -f "$PGDATA/postmaster.pid"
        fi
    fi
    rm -f "$SOCKDIR"/.s.PGSQL.* 2>/dev/null || true
}

# The fake KooGallery gateway of this stack (pid file in $FAKEDIR, checked against its command line).
stop_fake() {
    local pidfile="$FAKEDIR/koogallery.pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    if pid_alive "$pid" && [[ "$(cmdline_of "$pid")" == *koogallery.py* ]]; then
        note "stopping the fake KooGallery gateway (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

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
        code=$( . "$ENVFILE"; curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$KOOGATE_URL" || true)
        echo "probe:      GET /saasproduce -> HTTP $code"
    fi
    return $rc
}

# ---------------------------------------------------------------- start
# Make sure $1 (a user) can traverse every directory on the way to $2, adding o+x where needed.
ensure_traversable() {
    local user=$1 path=$2 d=""
    runuser -u "$user" -- test -x "$path" 2>/dev/null && return 0
    local IFS=/ part
    for part in $path; do
        [ -n "$part" ] || continue
        d="$d/$part"
        [ -d "$d" ] || break
        if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
            note "granting others traverse permission (o+x) on $d so that $user can reach $path"
            chmod o+x "$d"
        fi
    done
}

write_config() {
    local pgport=$1
    if [ -f "$CONF" ]; then
        # Keep keys; only follow the PostgreSQL port if the db line points at this stack's socket.
        if grep -qE "^[[:space:]]*db[[:space:]]*=.*host=$SOCKDIR( |$)" "$CONF"; then
            sed -i -E "s|^([[:space:]]*db[[:space:]]*=.*host=$SOCKDIR port=)[0-9]+|\1$pgport|" "$CONF"
        fi
    else
        local basic kit master
        basic=$(openssl rand -hex 16)
        kit=$(openssl rand -hex 16)
        master=$(openssl rand -hex 32)
        [ "$basic" != "$kit" ] || die "openssl rand returned the same key twice"
        ( umask 077
          cat >"$CONF.tmp" <<EOF
# koogate configuration, written by tools/stack.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ).
# Holds secrets: keep it mode 0640, group of the web server user.
db = host=$SOCKDIR port=$pgport dbname=koogate user=koogate
# Basic-interface access key(s), comma-separated (seller console > key management, 基础接口).
basic_keys = $basic
# Kit (联营SaaS同步接口) access key(s); must differ from the basic keys.
kit_keys = $kit
# 64 hex chars: seals secrets at rest (AES-256-GCM).
master_key = $master
provision_mode = auto
app_front_end_url = https://app.example.com/login?instance={instanceId}
app_admin_url = https://app.example.com/admin
app_memo = initial account
EOF
          mv "$CONF.tmp" "$CONF" )
    fi
    # applicationSync decrypts clientSecret with an RSA private key (koogate keygen); give stack-written
    # configurations one.
    if ! grep -qE '^[[:space:]]*rsa_private_key[[:space:]]*=' "$CONF" && grep -q 'written by tools/stack.sh' "$CONF" \
        && [ -x "$BUILD/koogate" ] && "$BUILD/koogate" help keygen >/dev/null 2>&1; then
        local pem="$VAR/rsa_private_key.pem"
        [ -f "$pem" ] || "$BUILD/koogate" keygen --out "$pem" >"$VAR/rsa_public_key.b64" 2>"$LOGDIR/keygen.log" \
            || { cat "$LOGDIR/keygen.log" >&2; die "koogate keygen failed"; }
        chmod 0640 "$pem"
        if [ "$IS_ROOT" = 1 ]; then chown root:"$WEB_GROUP" "$pem"; fi
        printf '# RSA private key for applicationSync clientSecret (public key: %s)\nrsa_private_key = %s\n' \
            "$VAR/rsa_public_key.b64" "$pem" >>"$CONF"
    fi
    chmod 0640 "$CONF"
    if [ "$IS_ROOT" = 1 ]; then chown root:"$WEB_GROUP" "$CONF"; fi
}

conf_value() {  # conf_value KEY : first value of KEY in $CONF
    sed -n -E "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\1/p" "$CONF" | head -n 1
}
# conf_set KEY VALUE : replaces the KEY line of $CONF (dropping repeats: the last one would win) or
# appends one; rewrites the file in place, so its mode and owner stay.
conf_set() {
    local tmp
    tmp=$(KEY=$1 VALUE=$2 awk '
        BEGIN { k = ENVIRON["KEY"]; v = ENVIRON["VALUE"]; done = 0 }
        $0 ~ "^[[:space:]]*" k "[[:space:]]*=" { if (!done) print k " = " v; done = 1; next }
        { print }
        END { if (!done) print k " = " v }' "$CONF") || die "cannot rewrite $CONF"
    printf '%s\n' "$tmp" >"$CONF"
}

# ---------------------------------------------------------------- fake KooGallery gateway
# Query Order and the usage push go to tests/fakes/koogallery.py (see the header). The CA and the
# certificate are made once per $VAR: other tests may bundle the CA into their own ca_file.
make_fake_certs() {
    [ -s "$FAKEDIR/ca.pem" ] && [ -s "$FAKEDIR/server.pem" ] && [ -s "$FAKEDIR/server.key" ] && return 0
    local ext="$FAKEDIR/server.ext"
    ( umask 077
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
          -keyout "$FAKEDIR/ca.key" -out "$FAKEDIR/ca.pem" -subj "/CN=koogate throwaway test CA" \
          -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
          -keyout "$FAKEDIR/server.key" -out "$FAKEDIR/server.csr" -subj "/CN=127.0.0.1"
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
          "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$ext"
      openssl x509 -req -in "$FAKEDIR/server.csr" -CA "$FAKEDIR/ca.pem" -CAkey "$FAKEDIR/ca.key" \
          -CAcreateserial -days 30 -extfile "$ext" -out "$FAKEDIR/server.pem"
    ) >"$LOGDIR/fake-certs.log" 2>&1 || { cat "$LOGDIR/fake-certs.log" >&2; die "openssl could not make the test certificates"; }
    rm -f "$FAKEDIR/server.csr" "$FAKEDIR/ca.key"     # nothing else is ever signed with this CA
    chmod 0644 "$FAKEDIR/ca.pem" "$FAKEDIR/server.pem"
}

FAKE_URL="" FAKE_FALLBACK_URL="" FAKE_CA=""
start_fake() {
    local script="$REPO/tests/fakes/koogallery.py" port ak sk basic ca pid
    if [ "${KOOGATE_NO_FAKE:-0}" = 1 ] || [ ! -f "$script" ] || ! grep -q 'written by tools/stack.sh' "$CONF"; then
        return 0
    fi
    mkdir -p "$FAKEDIR"
    chmod 0755 "$FAKEDIR"     # the FastCGI user reads ca.pem
    make_fake_certs
    ak=$(conf_value apig_ak); sk=$(conf_value apig_sk)
    if [ -z "$ak" ] || [ -z "$sk" ]; then
        ak=$(openssl rand -hex 10 | tr a-f A-F); sk=$(openssl rand -hex 20)
        conf_set apig_ak "$ak"; conf_set apig_sk "$sk"
    fi
    [ -n "$(conf_value usage_token)" ] || conf_set usage_token "$(openssl rand -hex 24)"
    # Keep a ca_file that someone else set (it may be a bundle holding this CA too); set ours otherwise.
    ca=$(conf_value ca_file)
    if [ -z "$ca" ] || [ ! -f "$ca" ]; then conf_set ca_file "$FAKEDIR/ca.pem"; fi
    basic=$(conf_value basic_keys); basic=${basic%%,*}; basic=${basic// /}
    # The same port as last time if it is free (a restart keeps the URLs), else a free one.
    port=$(cat "$FAKEDIR/port" 2>/dev/null || true)
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ! port_is_free "$port"; then port=$(free_ports 1); fi
    echo "$port" >"$FAKEDIR/port"
    # Secrets through that process's environment only: argv is public (ps).
    KOOGALLERY_SK=$sk KOOGALLERY_USAGE_KEY=$basic \
        setsid python3 "$script" --port "$port" --cert "$FAKEDIR/server.pem" --key "$FAKEDIR/server.key" \
        --ak "$ak" </dev/null >"$LOGDIR/koogallery.log" 2>&1 &
    pid=$!
    echo "$pid" >"$FAKEDIR/koogallery.pid"
    local code=000
    for _ in $(seq 1 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$FAKEDIR/ca.pem" \
               "https://127.0.0.1:$port/_usage" || true)
        [ "$code" = 200 ] && break
        pid_alive "$pid" || break
        sleep 0.1
    done
    [ "$code" = 200 ] || { tail -n 20 "$LOGDIR/koogallery.log" >&2; die "the fake KooGallery gateway did not start"; }
    FAKE_URL="https://127.0.0.1:$port"
    FAKE_FALLBACK_URL="https://localhost:$port"
    FAKE_CA="$FAKEDIR/ca.pem"
    conf_set mkt_url "$FAKE_URL"
    conf_set mkt_fallback_url "$FAKE_FALLBACK_URL"
    note "fake KooGallery gateway on $FAKE_URL (pid $pid)"
}

start_pg() {
    local pgport=$1 bindir
    bindir=$(pg_bindir)
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        rm -rf "$PGDATA"
        mkdir -p "$PGDATA"
        [ "$IS_ROOT" = 1 ] && chown "$PG_OS_USER": "$PGDATA"
        chmod 0700 "$PGDATA"
        note "initialising PostgreSQL cluster in $PGDATA"
        as_pg "$bindir/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$LOGDIR/initdb.log" 2>&1 \
            || { cat "$LOGDIR/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'koogate-stack.conf'" >>"$PGDATA/postgresql.conf"
    fi
    local major
    major=$(cat "$PGDATA/PG_VERSION")
    "$bindir/postgres" --version | grep -q " $major\." || die "$PGDATA is a PostgreSQL $major cluster but $bindir is $("$bindir/postgres" --version); remove $PGDATA"
    cat >"$PGDATA/koogate-stack.conf" <<EOF
# written by tools/stack.sh at every start
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$SOCKDIR'
unix_socket_permissions = 0777
max_connections = 200
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    [ "$IS_ROOT" = 1 ] && chown "$PG_OS_USER": "$PGDATA/koogate-stack.conf"
    touch "$LOGDIR/postgres.log"
    [ "$IS_ROOT" = 1 ] && chown "$PG_OS_USER": "$LOGDIR/postgres.log"
    as_pg "$bindir/pg_ctl" -D "$PGDATA" -l "$LOGDIR/postgres.log" -w -t 60 start >/dev/null \
        || { tail -n 30 "$LOGDIR/postgres.log" >&2; die "PostgreSQL did not start"; }

    local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$pgport" -U postgres -d postgres -tA)
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'koogate'")" != 1 ]; then
        "${psql[@]}" -c "CREATE ROLE koogate LOGIN" >/dev/null
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'koogate'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE koogate OWNER koogate ENCODING 'UTF8' TEMPLATE template0" >/dev/null
    fi
}

render() {  # render TEMPLATE OUTPUT NAME=VALUE...
    local tpl=$1 out=$2 s kv
    shift 2
    s=$(<"$tpl")
    for kv in "$@"; do
        s=${s//"@${kv%%=*}@"/"${kv#*=}"}
    done
    if [[ "$s" =~ @[A-Z_]+@ ]]; then die "unrendered placeholder ${BASH_REMATCH[0]} in $tpl"; fi
    printf '%s\n' "$s" >"$out.tmp"
    mv "$out.tmp" "$out"
}

apache_moddir() {
    local d
    for d in /usr/lib/apache2/modules /usr/lib64/httpd/modules /usr/lib/httpd/modules; do
        [ -f "$d/mod_mpm_event.so" ] && { echo "$d"; return; }
    done
    die "Apache modules directory not found; run tools/deps.sh"
}

start_apache() {
    command -v apache2 >/dev/null || die "apache2 not found; run tools/deps.sh"
    local moddir ug=""
    moddir=$(apache_moddir)
    [ -f "$moddir/mod_fcgid.so" ] || die "mod_fcgid not found in $moddir; install libapache2-mod-fcgid"
    [ "$IS_ROOT" = 1 ] && ug=$(printf 'User %s\nGroup %s' "$WEB_USER" "$WEB_GROUP")
    mkdir -p "$VAR/apache/run" "$VAR/apache/fcgid" "$VAR/apache/htdocs"
    chmod 0755 "$VAR/apache" "$VAR/apache/run" "$VAR/apache/htdocs"
    rm -rf "${VAR:?}/apache/fcgid/"* "$VAR/apache/run/"*
    if [ "$IS_ROOT" = 1 ]; then chown "$WEB_USER:$WEB_GROUP" "$VAR/apache/fcgid"; fi
    chmod 0750 "$VAR/apache/fcgid"
    render "$REPO/apache-conf/httpd-standalone.conf.in" "$VAR/httpd.conf" \
        "VAR=$VAR" "PORT=$WEB_PORT" "BUILD=$BUILD" "CONFIG=$CONF" "REPO=$REPO" \
        "APACHE_MODDIR=$moddir" "USER_GROUP=$ug"
    apache2 -f "$VAR/httpd.conf" -t >"$LOGDIR/apache-configtest.log" 2>&1 \
        || { cat "$LOGDIR/apache-configtest.log" >&2; die "apache configuration test failed ($VAR/httpd.conf)"; }
    # Logs 0640: access lines name instances and sources (apache opens them as root).
    touch "$LOGDIR/apache-access.log" "$LOGDIR/apache-error.log"
    chmod 0640 "$LOGDIR/apache-access.log" "$LOGDIR/apache-error.log"
    ( umask 027; exec apache2 -f "$VAR/httpd.conf" -k start ) \
        || { tail -n 20 "$LOGDIR/apache-error.log" >&2 2>/dev/null; die "apache did not start"; }
    ERROR_LOG="$LOGDIR/apache-error.log"
    PIDFILE="$VAR/apache/httpd.pid"
}

start_lighttpd() {
    command -v lighttpd >/dev/null || die "lighttpd not found; run tools/deps.sh"
    local ug="" kit="" login="" hello="" name procs=${KOOGATE_FCGI_PROCS:-4}
    [ "$IS_ROOT" = 1 ] && ug=$(printf 'server.username  = "%s"\nserver.groupname = "%s"' "$WEB_USER" "$WEB_GROUP")
    mkdir -p "$VAR/lighttpd/sock" "$VAR/lighttpd/tmp" "$VAR/lighttpd/htdocs"
    chmod 0755 "$VAR/lighttpd" "$VAR/lighttpd/htdocs"
    rm -rf "${VAR:?}/lighttpd/sock/"* "$VAR/lighttpd/tmp/"*
    # lighttpd opens the program's directory (to chdir there) after dropping privileges.
    if [ "$IS_ROOT" = 1 ] && ! runuser -u "$WEB_USER" -- test -r "$BUILD"; then
        note "making $BUILD readable for $WEB_USER (o+rx); lighttpd opens the programs' directory"
        chmod o+rx "$BUILD"
    fi
    # lighttpd opens its logs after dropping privileges.
    touch "$LOGDIR/lighttpd-error.log" "$LOGDIR/lighttpd-access.log"
    if [ "$IS_ROOT" = 1 ]; then
        chown "$WEB_USER:$WEB_GROUP" "$VAR/lighttpd/sock" "$VAR/lighttpd/tmp" \
            "$LOGDIR/lighttpd-error.log" "$LOGDIR/lighttpd-access.log"
    fi
    chmod 0750 "$VAR/lighttpd/sock" "$VAR/lighttpd/tmp"
    chmod 0640 "$LOGDIR/lighttpd-error.log" "$LOGDIR/lighttpd-access.log"
    fcgi_block() {  # fcgi_block URL-KEY PROGRAM
        printf '    fastcgi.server = ( "%s" => ((\n' "$1"
        printf '        "bin-path"        => "%s",\n' "$BUILD/$2"
        printf '        "socket"          => "%s",\n' "$VAR/lighttpd/sock/$2.sock"
        printf '        "check-local"     => "disable",\n'
        printf '        "max-procs"       => %s,\n' "$3"
        # GNUTLS_NO_IMPLICIT_INIT: as in apache-conf/koogate.conf and lighttpd.conf.in.
        printf '        "bin-environment" => ( "KOOGATE_CONFIG" => "%s", "KOOGATE_LOG_FILE" => "%s", "GNUTLS_NO_IMPLICIT_INIT" => "1" ),\n' \
            "$CONF" "$LOGDIR/lighttpd-error.log"
        printf '        "bin-copy-environment" => ( "PATH", "TZ", "LANG" ),\n'
        printf '    )) )\n'
    }
    for name in "${KIT_NAMES[@]}"; do
        [ -x "$BUILD/$name" ] || continue
        kit+=$(printf '$HTTP["url"] =~ "^/saasproduce/produceAPI/(v2/)?%s$" {\n%s\n}\nelse ' "$name" "$(fcgi_block "/saasproduce" "$name" 2)")
    done
    for name in "${LOGIN_NAMES[@]}" "${OTHER_NAMES[@]}"; do
        [ -x "$BUILD/$name" ] || continue
        login+=$(printf '$HTTP["url"] == "/koogate/%s" {\n%s\n}\n' "$name" "$(fcgi_block "/koogate/$name" "$name" 2)")
        login+=$'\n'
    done
    if [ -x "$BUILD/hello" ]; then
        hello=$(printf '$HTTP["url"] == "/hello" {\n%s\n}' "$(fcgi_block "/hello" hello "$procs")")
    fi
    render "$REPO/apache-conf/lighttpd.conf.in" "$VAR/lighttpd.conf" \
        "VAR=$VAR" "PORT=$WEB_PORT" "BUILD=$BUILD" "CONFIG=$CONF" "REPO=$REPO" \
        "USER_GROUP=$ug" "KIT_ROUTES=$kit" "LOGIN_ROUTES=$login" "HELLO_ROUTE=$hello" "FCGI_PROCS=$procs"
    lighttpd -tt -f "$VAR/lighttpd.conf" >"$LOGDIR/lighttpd-configtest.log" 2>&1 \
        || { cat "$LOGDIR/lighttpd-configtest.log" >&2; die "lighttpd configuration test failed ($VAR/lighttpd.conf)"; }
    lighttpd -f "$VAR/lighttpd.conf" \
        || { tail -n 20 "$LOGDIR/lighttpd-error.log" >&2 2>/dev/null; die "lighttpd did not start"; }
    ERROR_LOG="$LOGDIR/lighttpd-error.log"
    PIDFILE="$VAR/lighttpd/lighttpd.pid"
}

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

    ERROR_LOG="" PIDFILE=""
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
        apache) start_apache ;;
        lighttpd) start_lighttpd ;;
    esac

    local base="http://127.0.0.1:$WEB_PORT" url code="000"
    url="$base/saasproduce"
    for _ in $(seq 1 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)
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
