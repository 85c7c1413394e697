#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/package/run.sh — `make test-package`: the Debian package on a clean Debian 12 root.
#   1. `make deb` (dpkg-buildpackage -us -uc -b) and lintian: no errors;
#   2. a clean Debian 12 root made by mmdebstrap from Debian's own mirror (cached as a tarball in
#      var/package-cache/bookworm/, rebuilt when older than a week);
#   3. in that root, the README's "Deploying" blocks in order (tests/deploy_steps.py), as root:
#      install (apt-get from the mirror, the .deb), database (the system PostgreSQL cluster), configure,
#      migrate, status-password, apache-acme and apache-own-cert in a chroot; then the root is booted
#      with systemd-nspawn (its own systemd as PID 1, private network) and `services` (systemctl enable
#      --now of koogate-fcgi.target, the timers and the worker) and check (`koogate simulate lifecycle`,
#      `simulate kit` and the status page over HTTPS on port 443 through mod_proxy_fcgi, Apache and
#      PostgreSQL started by systemd) run in it. The programs' units: every program active, produce with
#      its drop-in's 8 workers under one supervisor as www-data, a killed worker replaced, a killed
#      program restarted by systemd, the target stopped and started, all of it again after a reboot.
#      There every unit the package ships passes `systemd-analyze verify` and is named by the README's
#      `services` block (or triggered by a timer it names); the worker runs as its User= and
#      acknowledges the simulator's events; each timer's service runs to success and the orders timer
#      fires by itself; the worker stops cleanly; the cron file's jobs run as their user.
#      What stands in for the machine around it: a policy-rc.d while packages install in the chroot (no
#      services start outside the root), PostgreSQL started with pg_ctlcluster in the chroot steps
#      (systemd does it once booted), the domain in /etc/hosts, a throwaway CA in the root's trust
#      store and its certificate in /etc/koogate/tls/ ("a certificate you bring"). Everything after the
#      install runs in private network, PID and mount namespaces, so ports 80, 443 and 5432 are the
#      root's own and every process ends with the test.
#   4. the conffile survives a reinstall with the administrator's changes, and purge keeps the database.
# Ends with "N passed, N failed". Needs root, mmdebstrap, systemd-nspawn, debhelper and lintian
# (tools/deps.sh package).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
PASSED=0 FAILED=0
ok()   { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
summary() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

[ "$(id -u)" = 0 ] || { echo "tests/package/run.sh: needs root (mmdebstrap, chroot)"; fail "not root"; summary; }
T=$(mktemp -d "${TMPDIR:-/tmp}/koogate-package.XXXXXX")
ROOT="$T/root"
cleanup() {
    # The namespaces are gone with their last process; only the directory is left.
    if [ "${KOOGATE_TEST_KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 1. build and lintian
if make --no-print-directory deb >"$T/deb.log" 2>&1; then ok "make deb (dpkg-buildpackage -us -uc -b)"
else tail -n 40 "$T/deb.log"; fail "make deb"; summary; fi
DEB=$(ls build/deb/koogate_*_amd64.deb | head -n 1)
lintian --tag-display-limit 0 build/deb/koogate_*.changes >"$T/lintian.log" 2>&1
if grep -q '^E: ' "$T/lintian.log"; then fail "lintian reports errors"; grep '^E: ' "$T/lintian.log"
else ok "lintian: no errors ($(grep -c '^W: ' "$T/lintian.log") warnings)"; sed -n 's/^/     /; /W: /p' "$T/lintian.log"; fi

# ---------------------------------------------------------------- 2. a clean Debian 12 root
CACHE="$REPO/var/package-cache/bookworm"
mkdir -p "$(dirname "$CACHE")"
# systemd and dbus: the root is booted for the `services` step, as a real server would be.
if [ ! -x "$CACHE/usr/bin/apt-get" ] || [ ! -x "$CACHE/lib/systemd/systemd" ] || [ -n "$(find "$CACHE" -maxdepth 0 -mtime +7)" ]; then
    rm -rf "$CACHE" "$CACHE.tmp"
    if ! mmdebstrap --variant=apt --format=directory --include=ca-certificates,curl,iproute2,systemd,systemd-sysv,dbus \
            bookworm "$CACHE.tmp" \
            http://deb.debian.org/debian >"$T/mmdebstrap.log" 2>&1; then
        tail -n 30 "$T/mmdebstrap.log"; fail "mmdebstrap bookworm"; summary
    fi
    mv "$CACHE.tmp" "$CACHE"
fi
cp -a "$CACHE" "$ROOT" && ok "clean Debian 12 root (mmdebstrap, Debian's mirror; a fresh copy)" \
    || { fail "copying the root"; summary; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$DEB" "$ROOT/root/"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod 0755 "$ROOT/usr/sbin/policy-rc.d"

# in_root [--net] SCRIPT [STDIN]: runs SCRIPT in the root, in its own mount and PID namespaces and,
# unless --net, its own network namespace (loopback only).
in_root() {
    local net=(--net)
    if [ "$1" = --net ]; then net=(); shift; fi
    local script=$1 input=${2:-}
    cp "$script" "$ROOT/root/step.sh"
    printf '%s\n' "$input" | unshare --mount --pid --fork "${net[@]}" -- bash -c '
        set -e
        R=$1
        mount --make-rprivate /
        mount --rbind /dev "$R/dev"
        mount -t proc proc "$R/proc"
        mount -t tmpfs tmpfs "$R/run"
        mkdir -p "$R/run/lock" "$R/run/apache2"
        # What systemd-tmpfiles would make: PostgreSQL'"'"'s socket directory (else pg_ctlcluster uses /tmp).
        exec chroot "$R" /bin/bash -c "ip link set lo up 2>/dev/null || true
            if getent passwd postgres >/dev/null; then install -d -o postgres -g postgres -m 2775 /run/postgresql; fi
            cd /root; bash /root/step.sh"' _ "$ROOT"
}

# ---------------------------------------------------------------- 3. the README's steps
DOMAIN=koogate.test
STATUS_PW=$(openssl rand -hex 12)
SETTINGS="DOMAIN EMAIL BASIC_KEY KIT_KEY APIG_AK APIG_SK"
settings() {  # the values of the README's `settings` block, as a real server would set them
    echo 'set -e'; echo 'export DEBIAN_FRONTEND=noninteractive'
    echo "DOMAIN=$DOMAIN"; echo "EMAIL=admin@$DOMAIN"
    echo "BASIC_KEY=$(openssl rand -hex 16)"; echo "KIT_KEY=$(openssl rand -hex 16)"
    echo "APIG_AK=$(openssl rand -hex 10 | tr a-f A-F)"; echo "APIG_SK=$(openssl rand -hex 20)"
}
[ "$(python3 tests/deploy_steps.py settings | sed -n 's/^\([A-Z_]*\)=.*/\1/p' | tr '\n' ' ')" = "$SETTINGS " ] \
    && ok "README settings are the ones this test sets ($SETTINGS)" \
    || fail "README settings changed: $(python3 tests/deploy_steps.py settings | sed -n 's/=.*//p' | tr '\n' ' ')"
step_script() {  # step_script NAME...: the settings, then the README blocks, in a chroot
    { settings
      # What systemd would do on a real server: the cluster runs (the namespace starts empty).
      # Stopped cleanly at the end of each step, so the next namespace starts them afresh.
      echo 'pg_ctlcluster 15 main start'
      echo 'if [ -e /etc/apache2/sites-enabled/koogate.conf ]; then apache2ctl start'
      echo '    for i in $(seq 1 50); do curl -sk -o /dev/null https://127.0.0.1/ && break; sleep 0.2; done; fi'
      echo 'trap "apache2ctl stop >/dev/null 2>&1 || true; pg_ctlcluster 15 main stop -m fast || true" EXIT'
      python3 tests/deploy_steps.py "$@"; } >"$T/step.sh"
}
grep -qx "$(python3 tests/deploy_steps.py --list | tr '\n' ' ')" <<<"settings install database configure migrate status-password apache-acme apache-own-cert services check " \
    && ok "README steps are the ones this test knows" || fail "README steps changed: $(python3 tests/deploy_steps.py --list | tr '\n' ' ')"

# install: with the network (apt-get from Debian's mirror); policy-rc.d keeps services from starting.
{ echo 'set -e'; echo 'export DEBIAN_FRONTEND=noninteractive'; echo 'apt-get update -qq'
  python3 tests/deploy_steps.py install; } >"$T/step.sh"
# Downloaded packages are kept between runs (the root itself is copied fresh every time).
mkdir -p "$CACHE-archives"
cp "$CACHE-archives/"*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true
if in_root --net "$T/step.sh" >"$T/install.log" 2>&1; then ok "README step 'install' (apt-get install postgresql apache2 ./koogate_*.deb)"
else tail -n 30 "$T/install.log"; fail "README step 'install'"; summary; fi
cp -n "$ROOT/var/cache/apt/archives/"*.deb "$CACHE-archives/" 2>/dev/null || true
# From here on the root has no network: name look-ups fail at once instead of timing out.
echo "nameserver 127.0.0.1" >"$ROOT/etc/resolv.conf"
[ "$(stat -c %a:%G "$ROOT/etc/koogate/koogate.conf")" = 640:www-data ] && ok "/etc/koogate/koogate.conf: 0640, group www-data" \
    || fail "/etc/koogate/koogate.conf is $(stat -c %a:%G "$ROOT/etc/koogate/koogate.conf")"
grep -qx /etc/koogate/koogate.conf "$ROOT/var/lib/dpkg/info/koogate.conffiles" && ok "koogate.conf is a conffile" || fail "not a conffile"
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/koogate-worker.service" ] && ok "no unit enabled before configuration" \
    || fail "the package enabled koogate-worker"

# The certificate "you bring": a throwaway CA, trusted in the root like a public one.
( umask 077; mkdir -p "$ROOT/etc/koogate/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "$T/ca.key" -out "$T/ca.pem" \
      -subj "/CN=koogate package-test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$ROOT/etc/koogate/tls/privkey.pem" \
      -out "$T/server.csr" -subj "/CN=$DOMAIN"
  printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$DOMAIN" >"$T/server.ext"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/server.ext" \
      -out "$T/server.pem" ) >"$T/ca.log" 2>&1 || { cat "$T/ca.log"; fail "throwaway CA"; }
cat "$T/server.pem" "$T/ca.pem" >"$ROOT/etc/koogate/tls/fullchain.pem"
install -m 0644 "$T/ca.pem" "$ROOT/usr/local/share/ca-certificates/koogate-test.crt"
chroot "$ROOT" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates"
echo "127.0.0.1 $DOMAIN" >>"$ROOT/etc/hosts"

for step in database configure migrate status-password apache-acme apache-own-cert; do
    step_script "$step"
    if in_root "$T/step.sh" "$STATUS_PW" >"$T/$step.log" 2>&1; then ok "README step '$step'"
    else fail "README step '$step'"; tail -n 30 "$T/$step.log"; tail -n 10 "$ROOT/var/log/apache2/error.log" 2>/dev/null; fi
done

# ---------------------------------------------------------------- 3b. the booted server
# The root boots with its own systemd (nothing of the machine around it: a private network, no
# policy-rc.d); PostgreSQL and Apache start as the packages enabled them. Commands enter it with
# nsenter (no machined needed).
rm -f "$ROOT/usr/sbin/policy-rc.d"
NSPAWN= INIT=
booted() {  # booted SCRIPT [STDIN]: SCRIPT as root in the booted root, with a clean environment
    printf '%s\n' "${2:-}" | nsenter --target "$INIT" --all -- \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root bash -c "cd /root && $1"
}
shutdown_booted() {
    [ -n "$NSPAWN" ] || return 0
    kill -TERM "$NSPAWN" 2>/dev/null  # nspawn asks the container's systemd to power off
    for _ in $(seq 1 300); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
    wait "$NSPAWN" 2>/dev/null || true
    NSPAWN= INIT=
}
boot_root() {  # boot_root: boots the root and waits until systemd says "running"; false otherwise
    systemd-nspawn --quiet --boot --directory="$ROOT" --register=no --keep-unit --private-network \
        --console=read-only >>"$T/boot.log" 2>&1 &
    NSPAWN=$!
    for _ in $(seq 1 100); do INIT=$(pgrep -P "$NSPAWN" -x systemd) && break; sleep 0.2; done
    # systemctl can connect once systemd has made its private socket.
    for _ in $(seq 1 100); do [ -n "$INIT" ] && booted 'test -S /run/systemd/private' && break; sleep 0.2; done
    state=$( [ -n "$INIT" ] && booted 'timeout 120 systemctl is-system-running --wait' 2>&1)
    [ "$state" = running ] && return 0
    tail -n 20 "$T/boot.log"
    [ -n "$INIT" ] && booted 'systemctl --failed --no-pager; journalctl -b --no-pager -p warning | tail -n 30'
    return 1
}
trap 'shutdown_booted; cleanup' EXIT
if boot_root; then ok "the root boots with systemd-nspawn (systemd as PID 1, state: running)"
else fail "booting the root with systemd-nspawn: '${state:-no systemd}'"; summary; fi
# The units the package ships, and the README's block that starts them.
mapfile -t UNITS < <(booted "dpkg -L koogate | grep -E '^/(usr/)?lib/systemd/system/[^/]+\\.(service|timer|socket|target)\$'")
python3 tests/deploy_steps.py services >"$T/services.sh"
unnamed=()
for u in "${UNITS[@]}"; do
    n=$(basename "$u")
    # A service a shipped timer starts is named through its timer.
    if [ "${n%.service}" != "$n" ] && [ -e "$ROOT${u%.service}.timer" ]; then n="${n%.service}.timer"; fi
    # A template (koogate-fcgi@.service, @.socket) is named through its target (koogate-fcgi.target).
    case "$n" in *@.*) n="${n%%@.*}.target" ;; esac
    grep -qw -- "$n" "$T/services.sh" || unnamed+=("$(basename "$u")")
done
if [ "${#UNITS[@]}" -ge 5 ] && [ "${#unnamed[@]}" -eq 0 ]; then ok "the README's services block names every shipped unit (${#UNITS[@]}, or its timer)"
else fail "shipped units the README's services block leaves out: ${unnamed[*]} (of ${UNITS[*]})"; fi
check_booted() {  # check_booted NAME SCRIPT
    if booted "$2" >"$T/booted.out" 2>&1; then ok "$1"; else fail "$1"; tail -n 20 "$T/booted.out"; fi
}
# Templates are verified as the instance the target starts first (produce).
check_booted "systemd-analyze verify: every shipped unit" "systemd-analyze verify ${UNITS[*]//@./@produce.} 2>&1 | tee /dev/stderr | grep -q . && exit 1; true"

for step in services check; do
    { settings; python3 tests/deploy_steps.py "$step"; } >"$ROOT/root/step.sh"
    if booted 'bash /root/step.sh' "$STATUS_PW" >"$T/$step.log" 2>&1; then ok "README step '$step' (booted)"
    else fail "README step '$step' (booted)"; tail -n 30 "$T/$step.log"; booted 'journalctl -b --no-pager -u "koogate*" -u apache2 | tail -n 30'; fi
done
grep -E '^[0-9]+ passed, [0-9]+ failed|status page: ok' "$T/check.log" | sed 's/^/     /'
grep -q 'status page: ok' "$T/check.log" && ok "status page over HTTPS with the documented password" || fail "status page"

TIMERS="koogate-orders.timer koogate-usage-push.timer"
# The programs behind mod_proxy_fcgi (koogate-fcgi.target): each one a supervisor as www-data with its
# workers, systemd starting a program again when it dies, and every worker gone when it stops.
check_booted "koogate-fcgi.target: every program active, produce with the drop-in's 8 workers" '
    wants=$(systemctl show -p Wants --value koogate-fcgi.target)
    [ "$(wc -w <<<"$wants")" -ge 10 ] || exit 1
    [ "$(systemctl is-active $wants | sort -u)" = active ] || exit 1
    main=$(systemctl show -p MainPID --value koogate-fcgi@produce)
    [ "$(stat -c %U /proc/$main)" = www-data ] && [ "$(pgrep -c -P "$main")" = 8 ] || exit 1
    journalctl -b --no-pager -u koogate-fcgi@produce | grep -q "supervisor: 8 produce workers"'
check_booted "koogate-fcgi@produce: a killed worker is replaced, a killed program restarted by systemd" '
    main=$(systemctl show -p MainPID --value koogate-fcgi@produce)
    kill -KILL "$(pgrep -P "$main" | head -n 1)"
    for i in $(seq 1 30); do [ "$(pgrep -c -P "$main")" = 8 ] && break; sleep 0.1; done
    [ "$(pgrep -c -P "$main")" = 8 ] || exit 1
    kill -KILL "$main"
    for i in $(seq 1 50); do
        now=$(systemctl show -p MainPID --value koogate-fcgi@produce)
        [ "$now" != 0 ] && [ "$now" != "$main" ] && [ "$(pgrep -c -P "$now")" = 8 ] && break; sleep 0.2; done
    [ "$now" != "$main" ] && [ "$(pgrep -c -u www-data -f "^/usr/libexec/koogate/produce$")" = 9 ] || exit 1
    runuser -u www-data -- env KOOGATE_CONFIG=/etc/koogate/koogate.conf koogate simulate lifecycle \
        --url https://'"$DOMAIN"'/saasproduce >/dev/null'
check_booted "systemctl stop koogate-fcgi.target stops every program; start brings them back" '
    systemctl stop koogate-fcgi.target
    for i in $(seq 1 50); do pgrep -f "^/usr/libexec/koogate/" >/dev/null || break; sleep 0.1; done
    ! pgrep -f "^/usr/libexec/koogate/" || exit 1
    [ "$(systemctl show -p Result --value koogate-fcgi@produce)" = success ] || exit 1
    systemctl start koogate-fcgi.target
    runuser -u www-data -- env KOOGATE_CONFIG=/etc/koogate/koogate.conf koogate simulate kit \
        --url https://'"$DOMAIN"'/saasproduce >/dev/null'
check_booted "timers and worker enabled and active" \
    "[ \"\$(systemctl is-enabled $TIMERS koogate-worker.service | sort -u)\" = enabled ] && [ \"\$(systemctl is-active $TIMERS koogate-worker.service | sort -u)\" = active ]"
check_booted "the worker runs as www-data and acknowledges the simulator's events" '
    [ "$(stat -c %U "/proc/$(systemctl show -p MainPID --value koogate-worker)")" = www-data ] || exit 1
    journalctl -b --no-pager -u koogate-worker | grep -q "starting, koogate" || exit 1
    q() { runuser -u www-data -- psql -XtAd koogate -c "$1"; }
    for i in $(seq 1 50); do
        [ "$(q "SELECT count(*) FROM event WHERE delivered_at IS NULL")" = 0 ] && break; sleep 0.2; done
    [ "$(q "SELECT count(*) FROM event WHERE delivered_at IS NULL")" = 0 ] \
        && [ "$(q "SELECT count(*) FROM event WHERE skipped LIKE '"'"'test event%'"'"'")" -gt 0 ]'
for svc in koogate-orders.service koogate-usage-push.service; do
    check_booted "$svc (what its timer starts) runs to success" \
        "systemctl start $svc && [ \"\$(systemctl show -p Result --value $svc)\" = success ] && journalctl -b --no-pager -u $svc | tail -n 5"
done
check_booted "koogate-orders.timer fires by itself" '
    for i in $(seq 1 120); do
        [ "$(systemctl show -p LastTriggerUSecMonotonic --value koogate-orders.timer)" != 0 ] && exit 0; sleep 1; done
    exit 1'
check_booted "the worker stops cleanly (SIGTERM)" \
    "systemctl stop koogate-worker && [ \"\$(systemctl show -p Result --value koogate-worker)\" = success ] && journalctl -b --no-pager -u koogate-worker | grep -q stopping"
# Hosts without systemd: the cron file's jobs, each run as cron would (its user, its environment).
check_booted "the cron file's jobs run as their user" '
    f=/usr/share/koogate/koogate.cron; env=(); n=0
    while read -r line; do
        case "$line" in "#"*|"") continue ;; [A-Z]*=*) env+=("$line"); continue ;; esac
        read -r _ _ _ _ _ user cmd <<<"$line"
        runuser -u "$user" -- env -i PATH=/usr/bin:/bin "${env[@]}" sh -c "$cmd" || exit 1
        n=$((n + 1))
    done <"$f"
    [ "$n" -ge 2 ]'
# Enabled means started at boot.
shutdown_booted
if boot_root; then
    check_booted "after a reboot the worker, the timers and the programs run again" \
        "[ \"\$(systemctl is-active $TIMERS koogate-worker.service koogate-fcgi.target koogate-fcgi@produce.service | sort -u)\" = active ]"
    check_booted "after a reboot Apache serves the marketplace's calls (koogate simulate lifecycle)" \
        "runuser -u www-data -- env KOOGATE_CONFIG=/etc/koogate/koogate.conf koogate simulate lifecycle --url https://$DOMAIN/saasproduce >/dev/null"
else fail "rebooting the root: '${state:-no systemd}'"; fi
shutdown_booted

# ---------------------------------------------------------------- 4. upgrades keep the configuration
cp "$ROOT/etc/koogate/koogate.conf" "$T/conf.before"
{ echo 'set -e'; echo 'export DEBIAN_FRONTEND=noninteractive'
  echo 'dpkg --force-confold -i /root/koogate_*.deb >/dev/null'; } >"$T/step.sh"
in_root "$T/step.sh" >"$T/reinstall.log" 2>&1 && cmp -s "$T/conf.before" "$ROOT/etc/koogate/koogate.conf" \
    && [ "$(stat -c %a:%G "$ROOT/etc/koogate/koogate.conf")" = 640:www-data ] \
    && ok "reinstall keeps the edited configuration (and its mode)" || { fail "reinstall changed the configuration"; tail "$T/reinstall.log"; }
{ echo 'set -e'; echo 'pg_ctlcluster 15 main start'; echo 'trap "pg_ctlcluster 15 main stop -m fast" EXIT'
  echo 'dpkg --purge koogate >/dev/null'
  echo 'runuser -u postgres -- psql -XtAc "SELECT count(*) FROM pg_database WHERE datname = '"'koogate'"'"'; } >"$T/step.sh"
out=$(in_root "$T/step.sh" 2>&1)
[ "$(tail -n 1 <<<"$out")" = 1 ] && [ ! -e "$ROOT/etc/koogate/koogate.conf" ] \
    && ok "purge removes the configuration and leaves the database" || { fail "purge"; echo "$out" | tail; }

summary
