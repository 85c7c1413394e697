#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/package/run.sh — `make test-package`: the Debian package on a clean Debian 12 root.
#   1. `make deb` (dpkg-buildpackage -us -uc -b) and lintian: no errors;
#   2. a clean Debian 12 root made by mmdebstrap from Debian's own mirror (cached as a tarball in
#      var/package-cache/bookworm/, rebuilt when older than a week);
#   3. in that root, the README's "Deploying" blocks in order (tests/deploy_steps.py), as root:
#      install (apt-get from the mirror, the .deb), database (the system PostgreSQL cluster), configure,
#      migrate, status-password, apache-acme, apache-own-cert and check (`koogate simulate lifecycle`,
#      `simulate kit` and the status page over HTTPS on port 443). Only `services` (systemctl) is left
#      out: the root has no systemd. What stands in for the machine around it: a policy-rc.d while
#      packages install (no services start outside the root), PostgreSQL started with pg_ctlcluster
#      (systemd would), the domain in /etc/hosts, a throwaway CA in the root's trust store and its
#      certificate in /etc/koogate/tls/ ("a certificate you bring"). Everything after the install runs
#      in private network, PID and mount namespaces, so ports 80, 443 and 5432 are the root's own and
#      every process ends with the test.
#   4. the conffile survives a reinstall with the administrator's changes, and purge keeps the database.
# Ends with "N passed, N failed". Needs root, mmdebstrap, debhelper and lintian (tools/deps.sh package).
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
if [ ! -x "$CACHE/usr/bin/apt-get" ] || [ -n "$(find "$CACHE" -maxdepth 0 -mtime +7)" ]; then
    rm -rf "$CACHE" "$CACHE.tmp"
    if ! mmdebstrap --variant=apt --format=directory --include=ca-certificates,curl,iproute2 bookworm "$CACHE.tmp" \
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
step_script() {  # step_script NAME...: the settings a real server would set, then the README blocks
    { echo 'set -e'; echo 'export DEBIAN_FRONTEND=noninteractive'
      echo "DOMAIN=$DOMAIN"; echo "EMAIL=admin@$DOMAIN"
      echo "BASIC_KEY=$(openssl rand -hex 16)"; echo "KIT_KEY=$(openssl rand -hex 16)"
      # What systemd would do on a real server: the cluster runs (the namespace starts empty).
      # Stopped cleanly at the end of each step, so the next namespace starts them afresh.
      echo 'pg_ctlcluster 15 main start'
      echo 'if [ -e /etc/apache2/sites-enabled/koogate.conf ]; then apache2ctl start'
      echo '    for i in $(seq 1 50); do curl -sk -o /dev/null https://127.0.0.1/ && break; sleep 0.2; done; fi'
      echo 'trap "apache2ctl stop >/dev/null 2>&1 || true; pg_ctlcluster 15 main stop -m fast || true" EXIT'
      python3 tests/deploy_steps.py "$@"; } >"$T/step.sh"
}
grep -q "$(python3 tests/deploy_steps.py --list | tr '\n' ' ')" <<<"settings install database configure migrate status-password apache-acme apache-own-cert services check " \
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

for step in database configure migrate status-password apache-acme apache-own-cert check; do
    step_script "$step"
    if in_root "$T/step.sh" "$STATUS_PW" >"$T/$step.log" 2>&1; then ok "README step '$step'"
    else fail "README step '$step'"; tail -n 30 "$T/$step.log"; tail -n 10 "$ROOT/var/log/apache2/error.log" 2>/dev/null; fi
done
grep -E '^[0-9]+ passed, [0-9]+ failed|status page: ok' "$T/check.log" | sed 's/^/     /'
grep -q 'status page: ok' "$T/check.log" && ok "status page over HTTPS with the documented password" || fail "status page"

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
