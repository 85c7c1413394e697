# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# tools/stack/common.sh — sourced by tools/stack.sh: the programs of a stack, running commands as the
# PostgreSQL or web server user, free ports, processes by pid, templates. Uses die/note, IS_ROOT, PG_OS_USER,
# WEB_USER from tools/stack.sh.

# The programs a stack serves, from tools/stack/programs (the one list; bench/ reads it too).
PROGRAM_NAMES=() KIT_NAMES=() KOOGATE_NAMES=()
while read -r name route _; do
    case "$name" in ''|'#'*) continue ;; esac
    PROGRAM_NAMES+=("$name")
    case "$route" in
        kit) KIT_NAMES+=("$name") ;;          # /saasproduce/produceAPI[/v2]/<name>
        koogate) KOOGATE_NAMES+=("$name") ;;  # /koogate/<name>
    esac
done <"$REPO/tools/stack/programs"
unset name route

as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi; }
as_web() { if [ "$IS_ROOT" = 1 ]; then runuser -u "$WEB_USER" -- "$@"; else "$@"; fi; }

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

# stop_pidfile NAME PIDFILE PATTERN SECONDS [COMMAND...]: stops the process named in PIDFILE if its command
# line matches *PATTERN* (a reused pid is left alone), by COMMAND (SIGTERM if it fails) or SIGTERM; SIGKILL
# when it is still there after SECONDS. Removes the pid file.
stop_pidfile() {
    local name=$1 pidfile=$2 pattern=$3 secs=$4 pid
    shift 4
    [ -f "$pidfile" ] || return 0
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    if pid_alive "$pid" && [[ "$(cmdline_of "$pid")" == *"$pattern"* ]]; then
        note "stopping $name (pid $pid)"
        if [ $# -gt 0 ]; then
            "$@" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
        else
            kill -TERM "$pid" 2>/dev/null || true
        fi
        wait_gone "$pid" "$secs" || { note "$name did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$pidfile"
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
