#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/install/run.sh — koogate as installed, not as built: `make install DESTDIR=<tmp>` (default
# PREFIX=/usr/local), then
#   * the installed layout, `koogate --version/--help/-h`, the man pages and the example configuration
#     carry every key of lib/config.c, and the README table is checked against lib/config.c
#     (tools/docgen.py --check, which must also fail on a README missing a key);
#   * the README's "Deploying" blocks `configure`, `migrate` and `status-password` (tests/deploy_steps.py),
#     with the Debian paths rewritten to the installed ones (build/install-paths.sed, then DESTDIR);
#   * Apache started from the installed files only: conf-available/koogate.conf (server-wide part) and
#     the installed site-own-cert.conf virtual host on a free port with a throwaway CA, serving the
#     installed programs; site-acme.conf (mod_md) passes `apache2 -t` the same way;
#   * `koogate simulate lifecycle` and `simulate kit` over HTTPS with the installed koogate;
#   * the status page: before the password file exists it explains how to make it (403, not 500 or a
#     password prompt), on Apache and lighttpd; after the documented step 401 without and 200 with it;
#   * log_file reopened on SIGHUP (logrotate's postrotate), every program logging its version at start;
#   * `make uninstall` removes everything but the configuration.
# PostgreSQL (and the fake KooGallery gateway) come from a tools/stack.sh stack; the installed programs
# use their own database in it. Ends with "N passed, N failed".
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/koogate-install.XXXXXX")
chmod 0755 "$T"
D="$T/root"
STACK="$T/stack"
PASSED=0 FAILED=0
HTTPD_PID=""

ok()   { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
check() { local name=$1; shift; if "$@" >"$T/check.out" 2>&1; then ok "$name"; else fail "$name"; tail -n 20 "$T/check.out"; fi; }

cleanup() {
    if [ -s "$T/apache/httpd.pid" ]; then
        apache2 -f "$T/httpd.conf" -k stop >/dev/null 2>&1 || true
        for _ in $(seq 1 50); do [ -e "$T/apache/httpd.pid" ] || break; sleep 0.1; done
    fi
    tools/stack.sh stop --var "$STACK" >/dev/null 2>&1 || true
    if [ "${KOOGATE_TEST_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

two_free_ports() {
    python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}
summary() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

# ---------------------------------------------------------------- make install
if ! make --no-print-directory install DESTDIR="$D" >"$T/install.log" 2>&1; then
    tail -n 30 "$T/install.log"; fail "make install DESTDIR=$D"; summary
fi
ok "make install DESTDIR=<tmp>"
P="$D/usr/local"
BIN="$P/bin/koogate"
LIBEXEC="$P/libexec/koogate"
ETC="$P/etc/koogate"
SHARE="$P/share/koogate"

missing=()
for f in bin/koogate libexec/koogate/produce libexec/koogate/tenantSync libexec/koogate/status libexec/koogate/metrics \
         share/koogate/prometheus/koogate-alerts.yml \
         share/koogate/sql/001_core.sql share/koogate/apache/koogate-vhost.conf share/koogate/apache/site-acme.conf \
         share/koogate/apache/site-own-cert.conf share/koogate/lighttpd/50-koogate.conf share/koogate/koogate.conf.example \
         etc/apache2/conf-available/koogate.conf etc/logrotate.d/koogate etc/koogate/koogate.conf \
         lib/systemd/system/koogate-worker.service share/man/man8/koogate.8 share/man/man5/koogate.conf.5 \
         share/doc/koogate/LICENSE share/doc/koogate/protocol.md; do
    [ -e "$P/$f" ] || missing+=("$f")
done
if [ "${#missing[@]}" -eq 0 ]; then ok "installed layout"; else fail "installed layout: missing ${missing[*]}"; fi
# Every installed text file names installed paths only: no source tree, no Debian path left unrewritten.
bad=$(grep -rlE "/opt/koogate|$REPO|/usr/libexec/koogate|/usr/share/koogate|/usr/bin/koogate|[^l]/etc/koogate" \
      "$P/etc" "$P/share/koogate" "$P/lib/systemd" "$P/share/man" 2>/dev/null | grep -v '\.sql$' || true)
if [ -z "$bad" ]; then ok "installed files name the installed paths"; else fail "paths not rewritten in: $bad"; grep -nE "/opt/koogate|/usr/libexec/koogate|/usr/share/koogate|/usr/bin/koogate|[^l]/etc/koogate" $bad | head; fi
grep -q "^ExecStart=/usr/local/bin/koogate worker" "$P/lib/systemd/system/koogate-worker.service" \
    && grep -q "^WorkingDirectory=" "$P/lib/systemd/system/koogate-worker.service" \
    && ok "systemd unit: installed koogate, WorkingDirectory" || fail "systemd unit paths"

version=$(cat VERSION)
check "koogate --version prints $version" bash -c "[ \"\$('$BIN' --version)\" = 'koogate $version' ]"
check "koogate --help exits 0 with the commands" bash -c "'$BIN' --help | grep -q '^  migrate'"
check "koogate -h exits 0" "$BIN" -h
check "koogate --help migrate shows the installed default" bash -c "'$BIN' --help migrate | grep -q 'share/koogate/sql'"
check "koogate with an unknown command exits 2" bash -c "'$BIN' nonsense >/dev/null 2>&1; [ \$? = 2 ]"

# make run installs only what running needs; make test adds the test tools.
check "make run installs the run profile only (no lighttpd, Chromium, clang, Node)" bash -c \
    "make -n run | grep -qx 'tools/deps.sh run' && ! tools/deps.sh --list run | grep -qE '^(lighttpd|chromium|clang|nodejs|npm|valgrind)$' \
     && tools/deps.sh --list run | grep -qx libapache2-mod-fcgid && tools/deps.sh --list test | grep -qx chromium"

# ---------------------------------------------------------------- documentation vs lib/config.c
check "README configuration table = lib/config.c keys (docgen --check)" python3 tools/docgen.py --check
sed '/^| `usage_info` |/d' README.md >"$T/README-missing-key.md"
check "docgen --check fails on a README without usage_info" \
    bash -c "! KOOGATE_DOCGEN_README='$T/README-missing-key.md' python3 tools/docgen.py --check"
keys=$(python3 -c 'import sys; sys.path.insert(0, "tools"); import docgen; print(" ".join(docgen.config_c_keys()))')
nokey=()
for k in $keys; do
    grep -q "^\\\\fB$k\\\\fR\|\\\\fB$k\\\\fR" "$P/share/man/man5/koogate.conf.5" || nokey+=("koogate.conf.5:$k")
    grep -qE "^#?$k = " "$SHARE/koogate.conf.example" || nokey+=("example:$k")
done
if [ "${#nokey[@]}" -eq 0 ]; then ok "koogate.conf(5) and the example configuration document every key ($(wc -w <<<"$keys"))"
else fail "keys missing: ${nokey[*]}"; fi
nocmd=()
for c in $("$BIN" help | sed -n 's/^  \([a-z-]*\).*/\1/p'); do
    grep -qF "\fBkoogate\fR $c" "$P/share/man/man8/koogate.8" || nocmd+=("$c")
done
if [ "${#nocmd[@]}" -eq 0 ]; then ok "koogate(8) documents every command"; else fail "koogate(8) lacks: ${nocmd[*]}"; fi
if command -v man >/dev/null 2>&1; then
    check "man pages render without warnings" bash -c "! { MANWIDTH=100 man --warnings -l '$P/share/man/man8/koogate.8' '$P/share/man/man5/koogate.conf.5' 2>&1 >/dev/null | grep .; }"
fi

# ---------------------------------------------------------------- the repository stands alone
cited=$(git grep -ohwE 'D[0-9]{1,2}' -- lib cgi-bin tools sql apache-conf README.md tests/unit tests/*.py tests/runner | sort -u)
unresolved=()
for d in $cited; do grep -q "^### $d\. " doc/protocol.md || unresolved+=("$d"); done
if [ "${#unresolved[@]}" -eq 0 ] && [ -n "$cited" ]; then ok "every decision cited in code and README ($(wc -w <<<"$cited")) is in doc/protocol.md"
else fail "decisions cited but not in doc/protocol.md: ${unresolved[*]}"; fi
# The pattern is split so that this file does not match it itself.
check "no file cites the protocol reference outside the repository" bash -c "! git grep -n 'shared''/spec'"
nospdx=$(git ls-files '*.c' '*.h' '*.sh' '*.py' '*.mjs' | while read -r f; do head -3 "$f" | grep -q 'SPDX-License-Identifier: ISC' || echo "$f"; done)
if [ -z "$nospdx" ] && [ -f LICENSE ]; then ok "LICENSE and an SPDX header in every source file"; else fail "no SPDX header: $nospdx"; fi

# ---------------------------------------------------------------- PostgreSQL and the fake gateway
if ! tools/stack.sh start --server apache --var "$STACK" >"$T/stack.log" 2>&1; then
    tail -n 20 "$T/stack.log"; fail "test stack (PostgreSQL) did not start"; summary
fi
# shellcheck disable=SC1091
. "$STACK/stack.env"
psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres -c 'CREATE DATABASE koogate_installed OWNER koogate' \
    && ok "database for the installed programs" || fail "CREATE DATABASE"

# ---------------------------------------------------------------- the README's steps, installed paths
# Debian paths -> this install's paths (the sed make install wrote) -> under DESTDIR; `koogate` -> $BIN.
# under_destdir [FILE]: every installed path (/usr/local/...) that starts a word, moved under DESTDIR.
under_destdir() { sed -e "s#\(^\|[^A-Za-z0-9_/.-]\)/usr/local/#\1$D/usr/local/#g" "$@"; }
readme_step() {  # readme_step NAME: the README block NAME, rewritten for this install
    python3 tests/deploy_steps.py "$1" | sed -f build/install-paths.sed | under_destdir \
        | sed -e "s#\(^\| \)koogate #\1$BIN #g"
}
run_step() {  # run_step NAME [STDIN]
    local script="$T/step-$1.sh"
    { echo 'set -eu'; echo "DOMAIN=localhost"; echo "BASIC_KEY=$KOOGATE_BASIC_KEY"; echo "KIT_KEY=$KOOGATE_KIT_KEY"
      # The fake gateway's APIG credentials (the stack's), set by the README's configure step.
      echo "APIG_AK=$(sed -n 's/^apig_ak *= *//p' "$STACK/koogate.conf")"
      echo "APIG_SK=$(sed -n 's/^apig_sk *= *//p' "$STACK/koogate.conf")"
      readme_step "$1"; } >"$script" || return 1
    printf '%s\n' "${2:-}" | bash "$script"
}
check "README step 'configure' (keys, master key, RSA key)" run_step configure
CONF="$ETC/koogate.conf"
# What differs from a real server: the database is the stack's, Query Order and the usage push go to the
# fake gateway, outbound TLS trusts the throwaway CAs, and the programs log to a file (SIGHUP test).
mkdir -p "$T/log" "$T/tls"
chown www-data "$T/log"
{
    echo "db = host=$PGHOST port=$PGPORT dbname=koogate_installed user=koogate"
    echo "mkt_url = $KOOGATE_FAKE_URL"
    echo "mkt_fallback_url = $KOOGATE_FAKE_FALLBACK_URL"
    echo "ca_file = $T/tls/trust.pem"
    echo "log_file = $T/log/koogate.log"
} >>"$CONF"
check "configuration: group www-data, mode 0640, keys set" bash -c \
    "[ \"\$(stat -c %a:%G '$CONF')\" = 640:www-data ] && grep -q '^basic_keys = $KOOGATE_BASIC_KEY' '$CONF' && grep -qE '^master_key = [0-9a-f]{64}$' '$CONF' && grep -qE '^apig_sk = .+' '$CONF'"
check "README step 'migrate' (from $SHARE/sql)" run_step migrate
check "migrations applied from the installed directory" bash -c \
    "[ \$(psql -XtA -U koogate -d koogate_installed -c 'SELECT count(*) FROM schema_migrations') = \$(ls '$SHARE/sql' | wc -l) ]"

# ---------------------------------------------------------------- HTTPS Apache from the installed files
# A throwaway CA and a certificate for localhost, placed where site-own-cert.conf expects them.
( umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "$T/tls/ca.key" \
      -out "$T/tls/ca.pem" -subj "/CN=koogate install-test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ETC/tls-privkey.pem" \
      -out "$T/tls/server.csr" -subj "/CN=localhost"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost" >"$T/tls/server.ext"
  openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" -CAcreateserial \
      -days 2 -extfile "$T/tls/server.ext" -out "$T/tls/server.pem" ) >"$T/tls/openssl.log" 2>&1 \
    || { cat "$T/tls/openssl.log"; fail "throwaway CA"; summary; }
mkdir -p "$ETC/tls"
mv "$ETC/tls-privkey.pem" "$ETC/tls/privkey.pem"
cat "$T/tls/server.pem" "$T/tls/ca.pem" >"$ETC/tls/fullchain.pem"
cat "$T/tls/ca.pem" "$KOOGATE_FAKE_CA" >"$T/tls/trust.pem"
chmod a+r "$T/tls/trust.pem"

read -r HTTPS_PORT HTTP_PORT < <(two_free_ports)
MODDIR=/usr/lib/apache2/modules
mkdir -p "$T/apache/run" "$T/apache/fcgid" "$T/apache/htdocs" "$T/apache/md"
chown -R www-data "$T/apache/fcgid"
# site_conf SITE: the installed virtual host on the test's ports (the only edit: addresses).
site_conf() {
    sed -e "s/saas\.example\.com/localhost/g" -e "s/\*:443/127.0.0.1:$HTTPS_PORT/" -e "s/\*:80/127.0.0.1:$HTTP_PORT/" \
        -e "s#https://localhost/#https://localhost:$HTTPS_PORT/#" "$SHARE/apache/$1" | under_destdir
}
write_httpd_conf() {  # write_httpd_conf SITE [proxy]: with proxy, mod_proxy_fcgi and koogate-proxy.conf
    local handler="fcgid" proxy=""
    if [ "${2:-}" = proxy ]; then
        handler="proxy proxy_fcgi"
        # The installed file, its socket directory moved into the test's.
        sed "s#/run/koogate#$T/sock#" "$P/etc/apache2/conf-available/koogate-proxy.conf" >"$T/koogate-proxy.conf"
        proxy="Include \"$T/koogate-proxy.conf\""
    fi
    cat >"$T/httpd.conf" <<EOF
ServerRoot "$T/apache"
ServerName localhost
Listen 127.0.0.1:$HTTPS_PORT https
Listen 127.0.0.1:$HTTP_PORT
$(for m in mpm_event authz_core authz_user authn_core authn_file auth_basic alias rewrite $handler socache_shmcb ssl md; do echo "LoadModule ${m}_module $MODDIR/mod_$m.so"; done)
User www-data
Group www-data
PidFile "$T/apache/httpd.pid"
DefaultRuntimeDir "$T/apache/run"
ErrorLog "$T/log/apache-error.log"
LogLevel warn
MDStoreDir "$T/apache/md"
<IfModule fcgid_module>
    FcgidIPCDir "$T/apache/fcgid"
    FcgidProcessTableFile "$T/apache/fcgid/shm"
</IfModule>
DocumentRoot "$T/apache/htdocs"
# What Debian's /etc/apache2/envvars defines for the site files (their CustomLog).
Define APACHE_LOG_DIR "$T/log"
# The installed paths under DESTDIR (on a real server conf-available/koogate.conf's defaults hold).
Define KOOGATE_BUILD "$LIBEXEC"
Define KOOGATE_CONFIG "$CONF"
Define KOOGATE_STATUS_USERS "$ETC/status.htpasswd"
$proxy
Include "$P/etc/apache2/conf-available/koogate.conf"
Include "$T/site.conf"
EOF
    site_conf "$1" >"$T/site.conf"
}
write_httpd_conf site-acme.conf
check "site-acme.conf (mod_md, the default) passes apache2 -t" apache2 -t -f "$T/httpd.conf"
write_httpd_conf site-own-cert.conf
check "site-own-cert.conf passes apache2 -t" apache2 -t -f "$T/httpd.conf"
grep -q "Include $P/share/koogate/apache/koogate-vhost.conf" "$T/site.conf" \
    && ok "the site includes the installed routing snippet" || fail "site does not include the installed koogate-vhost.conf"
if ! apache2 -f "$T/httpd.conf" -k start; then
    tail -n 20 "$T/log/apache-error.log"; fail "Apache from the installed files did not start"; summary
fi
BASE="https://localhost:$HTTPS_PORT"
CURL=(curl -sS --cacert "$T/tls/ca.pem" --max-time 10)
code=000
for _ in $(seq 1 100); do
    code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/saasproduce" 2>/dev/null || true)
    case "$code" in 000|5??) sleep 0.2 ;; *) break ;; esac
done
case "$code" in 000|5??) fail "HTTPS $BASE/saasproduce answers $code"; tail -n 20 "$T/log/apache-error.log" "$T/log/koogate.log" ;;
                *) ok "HTTPS $BASE/saasproduce answers (HTTP $code)" ;; esac
check "port 80 only redirects to HTTPS" bash -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1:$HTTP_PORT/saasproduce)\" = '301 https://localhost:$HTTPS_PORT/saasproduce' ]"
check "TLS below 1.2 is refused" bash -c "! ${CURL[*]} --tls-max 1.1 -o /dev/null '$BASE/saasproduce'"

# ---------------------------------------------------------------- the status page
"${CURL[@]}" -o "$T/status-missing.html" -w '%{http_code}' "$BASE/koogate/status" >"$T/status-missing.code" 2>&1
check "status page without a password file: 403 naming the htpasswd step" bash -c \
    "[ \"\$(cat '$T/status-missing.code')\" = 403 ] && grep -q 'htpasswd -cB $ETC/status.htpasswd' '$T/status-missing.html'"
STATUS_PW=$(openssl rand -hex 12)
check "README step 'status-password'" run_step status-password "$STATUS_PW"
apache2 -f "$T/httpd.conf" -k graceful
sleep 1.5
check "status page: 401 without the password" bash -c "[ \"\$(${CURL[*]} -o /dev/null -w '%{http_code}' '$BASE/koogate/status')\" = 401 ]"
check "status page: 200 with the documented user and password" bash -c \
    "[ \"\$(${CURL[*]} -u 'oncall:$STATUS_PW' -o '$T/status.html' -w '%{http_code}' '$BASE/koogate/status')\" = 200 ] && grep -qi 'instances' '$T/status.html'"
check "metrics: 401 without the password, 200 in the Prometheus text format with it" bash -c \
    "[ \"\$(${CURL[*]} -o /dev/null -w '%{http_code}' '$BASE/koogate/metrics')\" = 401 ] && [ \"\$(${CURL[*]} -u 'oncall:$STATUS_PW' -o '$T/metrics.txt' -w '%{http_code} %{content_type}' '$BASE/koogate/metrics')\" = '200 text/plain; version=0.0.4; charset=utf-8' ] && grep -qx 'koogate_database_up 1' '$T/metrics.txt'"

# ---------------------------------------------------------------- the simulator over HTTPS
sim() { runuser -u www-data -- env KOOGATE_CONFIG="$CONF" "$BIN" simulate "$@" --url "$BASE/saasproduce"; }
check "koogate simulate lifecycle over HTTPS (installed koogate)" sim lifecycle
grep -E '^[0-9]+ passed' "$T/check.out" | sed 's/^/     /'
check "koogate simulate lifecycle --v1 over HTTPS" sim lifecycle --v1
check "koogate simulate kit over HTTPS" sim kit
grep -E '^[0-9]+ passed' "$T/check.out" | sed 's/^/     /'

# ---------------------------------------------------------------- lighttpd from the installed file
# The installed 50-koogate.conf (mod_openssl on the HTTPS port, port 80 redirects) inside a minimal
# lighttpd server configuration; only addresses and the DESTDIR prefix are edited.
if command -v lighttpd >/dev/null 2>&1 && [ -e /usr/lib/lighttpd/mod_openssl.so ]; then
    read -r L_HTTPS L_HTTP < <(two_free_ports)
    mkdir -p "$T/lighttpd/sock" "$T/lighttpd/htdocs" "$T/lighttpd/tmp" "$P/var/log/koogate"
    chown www-data "$T/lighttpd/sock" "$T/lighttpd/tmp" "$P/var/log/koogate"
    touch "$T/log/lighttpd-error.log"; chown www-data "$T/log/lighttpd-error.log"
    sed -e "s#\"/run/lighttpd/#\"$T/lighttpd/sock/#g" -e "s#\":443\"#\"127.0.0.1:$L_HTTPS\"#" \
        "$SHARE/lighttpd/50-koogate.conf" | under_destdir >"$T/lighttpd-site.conf"
    cat >"$T/lighttpd.conf" <<EOF
server.modules = ( "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $L_HTTP
server.document-root = "$T/lighttpd/htdocs"
server.pid-file = "$T/lighttpd/lighttpd.pid"
server.errorlog = "$T/log/lighttpd-error.log"
server.upload-dirs = ( "$T/lighttpd/tmp" )
server.username = "www-data"
server.groupname = "www-data"
include "$T/lighttpd-site.conf"
EOF
    check "lighttpd: the installed 50-koogate.conf passes lighttpd -tt" lighttpd -tt -f "$T/lighttpd.conf"
    LBASE="https://localhost:$L_HTTPS"
    lighttpd_start() {
        lighttpd -f "$T/lighttpd.conf" 2>"$T/lighttpd-start.log" || return 1
        for _ in $(seq 1 50); do "${CURL[@]}" -o /dev/null "$LBASE/saasproduce" 2>/dev/null && break; sleep 0.2; done
    }
    lighttpd_stop() {  # and wait until it is gone: the next start needs the ports
        local pid; pid=$(cat "$T/lighttpd/lighttpd.pid" 2>/dev/null) || return 0
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$T/lighttpd/lighttpd.pid"
    }
    # Started once without the password file (lighttpd looks for it when it starts, as Apache does).
    mv "$ETC/status.htpasswd" "$T/status.htpasswd.aside"
    if lighttpd_start; then
        "${CURL[@]}" -o "$T/l-status-missing.html" -w '%{http_code}' "$LBASE/koogate/status" >"$T/l-status-missing.code" 2>&1
        lighttpd_stop
        check "lighttpd: status page without a password file: 403 naming the htpasswd step" bash -c \
            "[ \"\$(cat '$T/l-status-missing.code')\" = 403 ] && grep -q 'htpasswd -cB /usr/local/etc/koogate/status.htpasswd' '$T/l-status-missing.html'"
    else
        fail "lighttpd without the password file did not start"; cat "$T/lighttpd-start.log"
    fi
    mv "$T/status.htpasswd.aside" "$ETC/status.htpasswd"
    if lighttpd_start; then
        check "lighttpd: port 80 only redirects to HTTPS" bash -c \
            "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$L_HTTP/saasproduce)\" = 308 ]"
        check "lighttpd: koogate simulate lifecycle over HTTPS" \
            runuser -u www-data -- env KOOGATE_CONFIG="$CONF" "$BIN" simulate lifecycle --mode period --url "$LBASE/saasproduce"
        check "lighttpd: status page 401 without, 200 with the password" bash -c \
            "[ \"\$(${CURL[*]} -o /dev/null -w '%{http_code}' '$LBASE/koogate/status')\" = 401 ] && [ \"\$(${CURL[*]} -u 'oncall:$STATUS_PW' -o /dev/null -w '%{http_code}' '$LBASE/koogate/status')\" = 200 ]"
        check "lighttpd: metrics 401 without, 200 with the password" bash -c \
            "[ \"\$(${CURL[*]} -o /dev/null -w '%{http_code}' '$LBASE/koogate/metrics')\" = 401 ] && [ \"\$(${CURL[*]} -u 'oncall:$STATUS_PW' -o /dev/null -w '%{http_code}' '$LBASE/koogate/metrics')\" = 200 ]"
        lighttpd_stop
    else
        fail "lighttpd from the installed file did not start"; cat "$T/lighttpd-start.log"; tail -n 20 "$T/log/lighttpd-error.log"
    fi
else
    fail "lighttpd with mod_openssl is not installed (tools/deps.sh test)"
fi

# ---------------------------------------------------------------- logging: version at start, SIGHUP
check "every program logs its version at start" grep -q "\[produce [0-9]*\]: starting, koogate $version" "$T/log/koogate.log"
mv "$T/log/koogate.log" "$T/log/koogate.log.1"
# logrotate's postrotate, aimed at this test's programs only (their path is under $T).
grep -qF "pkill -HUP -f '^/usr/local/libexec/koogate/'" "$P/etc/logrotate.d/koogate" \
    && ok "logrotate file signals the installed programs" || fail "logrotate postrotate"
pkill -HUP -f "^$LIBEXEC/" || true
sleep 0.5
"${CURL[@]}" -o /dev/null "$BASE/saasproduce?activity=none" || true
"${CURL[@]}" -o /dev/null "$BASE/saasproduce?activity=none" || true
sleep 0.3
check "log_file reopened after SIGHUP (a new file gets the next lines)" bash -c \
    "grep -q ' produce activity=' '$T/log/koogate.log' && ! grep -q 'activity=none' '$T/log/koogate.log.1'"

apache2 -f "$T/httpd.conf" -k stop
for _ in $(seq 1 50); do [ -e "$T/apache/httpd.pid" ] || break; sleep 0.1; done

# ---------------------------------------------------------------- Apache + mod_proxy_fcgi, the README's default
# The installed koogate-proxy.conf, and every program the installed koogate-fcgi.target wants, started as
# the installed koogate-fcgi@.service says (its ExecStart, its Environment lines and the drop-ins'), each
# on its socket as koogate-fcgi@.socket makes it (tools/stack/fcgi-listen.py: LISTEN_FDS). The package
# test (make test-package) runs the same units under a real systemd.
UNITDIR="$P/lib/systemd/system"
mkdir -p "$T/sock"; chown www-data:www-data "$T/sock"; chmod 0750 "$T/sock"
unit_env() {  # the Environment= assignments of the service, then of its drop-ins (later ones win)
    sed -n 's/^Environment=//p' "$UNITDIR/koogate-fcgi@.service" "$UNITDIR/koogate-fcgi@$1.service.d/"*.conf 2>/dev/null \
        | under_destdir
}
mapfile -t FCGI_PROGRAMS < <(sed -n 's/^Wants=//p' "$UNITDIR/koogate-fcgi.target" | tr ' ' '\n' | sed -n 's/^koogate-fcgi@\(.*\)\.service$/\1/p')
missing=()
for prog in "${FCGI_PROGRAMS[@]}"; do [ -x "$LIBEXEC/$prog" ] || missing+=("$prog"); done
for f in "$LIBEXEC"/*; do
    case " ${FCGI_PROGRAMS[*]} " in *" $(basename "$f") "*) ;; *) missing+=("target lacks $(basename "$f")") ;; esac
done
if [ "${#missing[@]}" -eq 0 ] && [ "${#FCGI_PROGRAMS[@]}" -ge 10 ]; then ok "koogate-fcgi.target wants every installed program (${#FCGI_PROGRAMS[@]})"
else fail "koogate-fcgi.target and the installed programs differ: ${missing[*]}"; fi
listen=$(<tools/stack/fcgi-listen.py)
for prog in "${FCGI_PROGRAMS[@]}"; do
    exe=$(sed -n 's/^ExecStart=//p' "$UNITDIR/koogate-fcgi@.service" | sed "s/%i/$prog/g" | under_destdir)
    mapfile -t envs < <(unit_env "$prog")
    ( umask 007
      exec setpriv --reuid=www-data --regid=www-data --init-groups env -i PATH=/usr/bin:/bin "${envs[@]}" \
          python3 -c "$listen" "$T/sock/$prog.sock" "$exe" ) </dev/null >>"$T/log/programs-stderr.log" 2>&1 &
done
write_httpd_conf site-own-cert.conf proxy
check "site-own-cert.conf with koogate-proxy.conf (mod_proxy_fcgi) passes apache2 -t" apache2 -t -f "$T/httpd.conf"
if apache2 -f "$T/httpd.conf" -k start; then
    for _ in $(seq 1 100); do
        code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$BASE/saasproduce" 2>/dev/null || true)
        case "$code" in 000|5??) sleep 0.2 ;; *) break ;; esac
    done
    check "mod_proxy_fcgi: produce runs the drop-in's 8 workers under one supervisor" bash -c \
        "[ \$(pgrep -u www-data -f '^$LIBEXEC/produce\$' | wc -l) = 9 ] && grep -q '\[produce [0-9]*\]: supervisor: 8 produce workers' '$T/log/koogate.log'"
    check "mod_proxy_fcgi: koogate simulate lifecycle over HTTPS" sim lifecycle
    check "mod_proxy_fcgi: koogate simulate kit over HTTPS" sim kit
    check "mod_proxy_fcgi: status page 401 without, 200 with the password" bash -c \
        "[ \"\$(${CURL[*]} -o /dev/null -w '%{http_code}' '$BASE/koogate/status')\" = 401 ] && [ \"\$(${CURL[*]} -u 'oncall:$STATUS_PW' -o /dev/null -w '%{http_code}' '$BASE/koogate/status')\" = 200 ]"
    apache2 -f "$T/httpd.conf" -k stop
    for _ in $(seq 1 50); do [ -e "$T/apache/httpd.pid" ] || break; sleep 0.1; done
else
    fail "Apache with mod_proxy_fcgi from the installed files did not start"; tail -n 20 "$T/log/apache-error.log"
fi
pkill -TERM -u www-data -f "^$LIBEXEC/" || true
for _ in $(seq 1 50); do pgrep -f "^$LIBEXEC/" >/dev/null || break; sleep 0.1; done
check "the supervised programs stop on SIGTERM" bash -c "! pgrep -f '^$LIBEXEC/'"

# ---------------------------------------------------------------- make uninstall
make --no-print-directory uninstall DESTDIR="$D" >"$T/uninstall.log" 2>&1 || { tail "$T/uninstall.log"; fail "make uninstall"; }
left=$(cd "$D" && find . -type f | grep -vE '^\./usr/local/(etc/koogate|var/log/koogate)/' || true)
if [ -z "$left" ] && [ -f "$CONF" ]; then ok "make uninstall leaves only the configuration, keys and logs"
else fail "make uninstall left: $left"; fi

summary
