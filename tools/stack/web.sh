# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# tools/stack/web.sh — sourced by tools/stack.sh: Apache + mod_proxy_fcgi (the programs started here
# the way koogate-fcgi@.socket starts them), Apache + mod_fcgid and lighttpd + mod_fastcgi with the
# FastCGI programs of tools/stack/programs, and stopping them (and any leftovers of this stack).

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

stop_apache() {
    local cmd=()
    [ -f "$VAR/httpd.conf" ] && cmd=(apache2 -f "$VAR/httpd.conf" -k stop)
    stop_pidfile apache "$VAR/apache/httpd.pid" apache2 20 ${cmd[@]+"${cmd[@]}"}
}
stop_lighttpd() { stop_pidfile lighttpd "$VAR/lighttpd/lighttpd.pid" lighttpd 20; }

stop_web() {
    stop_apache
    stop_lighttpd
    stop_fcgi_programs
    local left
    left=$(server_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "terminating leftover web server processes: $left"; terminate $left; fi
    left=$(program_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "terminating leftover FastCGI programs: $left"; terminate $left; fi
    rm -f "$VAR/apache/fcgid/"*.sock "$VAR/apache/sock/"*.sock 2>/dev/null || true
    rm -f "$VAR/lighttpd/sock/"*.sock* 2>/dev/null || true
}

apache_moddir() {
    local d
    for d in /usr/lib/apache2/modules /usr/lib64/httpd/modules /usr/lib/httpd/modules; do
        [ -f "$d/mod_mpm_event.so" ] && { echo "$d"; return; }
    done
    die "Apache modules directory not found; run tools/deps.sh"
}

# Processes per program. Behind mod_proxy_fcgi (apache) what the shipped units give it: KOOGATE_PROCESSES
# of koogate-fcgi@.service, or of its drop-in for the program (tools/systemd; produce: 8). Under lighttpd
# what apache-conf/lighttpd-koogate.conf gives it: produce 4, the others 2. hello (not a unit) 4.
# KOOGATE_FCGI_PROCS overrides produce's and hello's (benchmarks).
unit_procs() {
    sed -n 's/^Environment=KOOGATE_PROCESSES=//p' "$REPO/tools/systemd/koogate-fcgi@.service" \
        "$REPO/tools/systemd/koogate-fcgi@$1.service.d/"*.conf 2>/dev/null | tail -n 1
}
fcgi_procs() {
    case "$1" in produce|hello) [ -n "${KOOGATE_FCGI_PROCS:-}" ] && { echo "$KOOGATE_FCGI_PROCS"; return; } ;; esac
    if [ "$SERVER" = apache ] && [ "$1" != hello ]; then unit_procs "$1"; return; fi
    case "$1" in produce|hello) echo 4 ;; *) echo 2 ;; esac
}

# apache: each program on $VAR/apache/sock/<name>.sock, started as systemd starts it in
# production (tools/systemd/koogate-fcgi@.socket and .service): tools/stack/fcgi-listen.py binds the socket
# and passes it with LISTEN_FDS, in the service's environment, and the program supervises
# KOOGATE_PROCESSES workers on it. Their log lines go to the stack's error log, as mod_fcgid's do.
start_fcgi_programs() {
    local name dir="$VAR/apache/sock" user=() listen
    listen=$(<"$REPO/tools/stack/fcgi-listen.py")
    mkdir -p "$dir"
    rm -f "$dir/"*.sock
    if [ "$IS_ROOT" = 1 ]; then
        chown "$WEB_USER:$WEB_GROUP" "$dir"
        user=(setpriv --reuid="$WEB_USER" --regid="$WEB_GROUP" --init-groups)
    fi
    chmod 0750 "$dir"
    for name in "${PROGRAM_NAMES[@]}"; do
        [ -x "$BUILD/$name" ] || continue
        ( umask 007
          exec ${user[@]+"${user[@]}"} env -i PATH="$PATH" LANG="${LANG:-C.UTF-8}" KOOGATE_CONFIG="$CONF" \
              GNUTLS_NO_IMPLICIT_INIT=1 KOOGATE_PROCESSES="$(fcgi_procs "$name")" \
              python3 -c "$listen" "$dir/$name.sock" "$BUILD/$name" ) </dev/null >>"$LOGDIR/apache-error.log" 2>&1 &
    done
}
stop_fcgi_programs() {
    local left
    [ -d "$VAR/apache/sock" ] || return 0
    left=$(program_pids | tr '\n' ' ')
    if [ -n "${left// /}" ]; then note "stopping the FastCGI programs"; terminate $left; fi
}

start_apache() {
    command -v apache2 >/dev/null || die "apache2 not found; run tools/deps.sh"
    local moddir ug="" handler
    moddir=$(apache_moddir)
    if [ "$SERVER" = apache ]; then
        [ -f "$moddir/mod_proxy_fcgi.so" ] || die "mod_proxy_fcgi not found in $moddir"
        handler=$(printf 'LoadModule proxy_module      %s/mod_proxy.so\nLoadModule proxy_fcgi_module %s/mod_proxy_fcgi.so\nDefine KOOGATE_SOCKETS "%s"' \
            "$moddir" "$moddir" "$VAR/apache/sock")
    else
        [ -f "$moddir/mod_fcgid.so" ] || die "mod_fcgid not found in $moddir; install libapache2-mod-fcgid"
        handler="LoadModule fcgid_module      $moddir/mod_fcgid.so"
    fi
    [ "$IS_ROOT" = 1 ] && ug=$(printf 'User %s\nGroup %s' "$WEB_USER" "$WEB_GROUP")
    mkdir -p "$VAR/apache/run" "$VAR/apache/fcgid" "$VAR/apache/htdocs"
    chmod 0755 "$VAR/apache" "$VAR/apache/run" "$VAR/apache/htdocs"
    rm -rf "${VAR:?}/apache/fcgid/"* "$VAR/apache/run/"*
    if [ "$IS_ROOT" = 1 ]; then chown "$WEB_USER:$WEB_GROUP" "$VAR/apache/fcgid"; fi
    chmod 0750 "$VAR/apache/fcgid"
    render "$REPO/apache-conf/httpd-standalone.conf.in" "$VAR/httpd.conf" \
        "VAR=$VAR" "PORT=$WEB_PORT" "BUILD=$BUILD" "CONFIG=$CONF" "REPO=$REPO" \
        "APACHE_MODDIR=$moddir" "USER_GROUP=$ug" "HANDLER=$handler"
    apache2 -f "$VAR/httpd.conf" -t >"$LOGDIR/apache-configtest.log" 2>&1 \
        || { cat "$LOGDIR/apache-configtest.log" >&2; die "apache configuration test failed ($VAR/httpd.conf)"; }
    # Logs 0640: access lines name instances and sources (apache opens them as root).
    touch "$LOGDIR/apache-access.log" "$LOGDIR/apache-error.log"
    chmod 0640 "$LOGDIR/apache-access.log" "$LOGDIR/apache-error.log"
    [ "$SERVER" = apache ] && start_fcgi_programs
    ( umask 027; exec apache2 -f "$VAR/httpd.conf" -k start ) \
        || { tail -n 20 "$LOGDIR/apache-error.log" >&2 2>/dev/null; die "apache did not start"; }
    ERROR_LOG="$LOGDIR/apache-error.log"
    ACCESS_LOG="$LOGDIR/apache-access.log"
    PIDFILE="$VAR/apache/httpd.pid"
}

start_lighttpd() {
    command -v lighttpd >/dev/null || die "lighttpd not found; run tools/deps.sh"
    local ug="" kit="" login="" hello="" name procs
    procs=$(fcgi_procs produce)
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
    for name in "${KOOGATE_NAMES[@]}"; do
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
    ACCESS_LOG="$LOGDIR/lighttpd-access.log"
    PIDFILE="$VAR/lighttpd/lighttpd.pid"
}
