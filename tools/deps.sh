#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tools/deps.sh — make sure the Debian packages needed to build, run or test koogate are installed.
#
#   tools/deps.sh [run|test|package]            check, and install what is missing (root, or via sudo)
#   tools/deps.sh --check [run|test|package]    only check; exit 1 and print the install command
#   tools/deps.sh --list [run|test|package]     print the profile's packages
#
# run (`make run`): building and running the stack. test (the default; `make test`): also lighttpd,
# Chromium, clang, valgrind and Node for the test suites. package (`make deb`, `make test-package`):
# also the Debian packaging tools, mmdebstrap and systemd-nspawn (systemd-container).
#
# Fast path: one dpkg-query call when everything is already installed.
set -euo pipefail

RUN_PACKAGES=(
    build-essential gcc make pkg-config
    libfcgi-dev libjson-c-dev libpq-dev libssl-dev libcurl4-openssl-dev
    postgresql
    apache2 apache2-utils libapache2-mod-fcgid
    openssl python3 curl ca-certificates
)
TEST_PACKAGES=(
    lighttpd valgrind man-db python3-yaml
    chromium fonts-wqy-microhei
    clang libclang-rt-14-dev
)
PACKAGE_PACKAGES=(dpkg-dev debhelper fakeroot lintian mmdebstrap systemd-container)

check_only=0 profile=test
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        --list) check_only=2 ;;
        run|test|package) profile=$arg ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
PACKAGES=("${RUN_PACKAGES[@]}")
case "$profile" in
    test) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
    package) PACKAGES+=("${PACKAGE_PACKAGES[@]}") ;;
esac

missing_packages() {
    local out
    # Unknown packages make dpkg-query exit non-zero; their lines are simply absent.
    out=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    local p
    for p in "${PACKAGES[@]}"; do
        grep -qx "$p installed" <<<"$out" || printf '%s\n' "$p"
    done
}

if [ "$check_only" = 2 ]; then printf '%s\n' "${PACKAGES[@]}"; exit 0; fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
    echo "deps.sh: install the equivalents of: ${PACKAGES[*]}" >&2
    exit 1
fi

# The browser test drives Chromium with playwright-core from npm, which needs Node.js >= 20. A machine
# that has node (e.g. from NodeSource) keeps it; Debian's own nodejs/npm are added only when none is there.
if [ "$profile" = test ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
    PACKAGES+=(nodejs npm)
fi

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -eq 0 ]; then
    exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${MISSING[*]}"
echo "deps.sh: missing packages: ${MISSING[*]}" >&2
if [ "$check_only" = 1 ]; then
    echo "deps.sh: install them with:  sudo sh -c '$cmd'" >&2
    exit 1
fi

if [ "$(id -u)" = 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
else
    echo "deps.sh: not root and sudo is unavailable (or needs a password). Run as root:" >&2
    echo "    sudo sh -c '$cmd'" >&2
    exit 1
fi

# Note: on a machine with a service manager, Debian's postgresql/apache2/lighttpd packages start their
# system services. koogate does not use them: tools/stack.sh runs private instances on free ports.
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${MISSING[@]}"

mapfile -t STILL < <(missing_packages)
if [ "${#STILL[@]}" -ne 0 ]; then
    echo "deps.sh: still missing after install: ${STILL[*]}" >&2
    exit 1
fi
echo "deps.sh: installed ${MISSING[*]}"
