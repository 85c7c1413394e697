# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# tools/stack/postgres.sh — sourced by tools/stack.sh: the private PostgreSQL cluster in $VAR/pg (never the
# system cluster), its role and database `koogate`.

pg_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then printf '%s\n' "$PG_BINDIR"; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then printf '%s\n' "$d"; return; fi
    d=$(command -v initdb 2>/dev/null || true)
    [ -n "$d" ] && { dirname "$d"; return; }
    die "PostgreSQL server binaries (initdb, pg_ctl) not found; run tools/deps.sh"
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
    # The nonce rule after a crash (sql/012) reads "the last checkpoint is not older than the start" as
    # "crash recovery ran"; the control file keeps whole seconds, so a start in the same second as the
    # previous shutdown checkpoint (initdb's, or a quick restart's) reads as a crash and refuses
    # requests signed before the start for nonce_ttl. Harmless in production (only requests signed
    # before the start), but fixtures send deliberately old timestamps: start in the next second.
    sleep "$(awk -v ns="$(date +%N)" 'BEGIN { printf "%.3f", 1 - ns / 1e9 }')"
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
