#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/run.sh — what `make test` runs after the build:
#   1. the C unit tests (`make unit`);
#   2. for each web server (apache = Apache + mod_proxy_fcgi as the README deploys it, apache-fcgid =
#      Apache + mod_fcgid, then lighttpd): a fresh stack in var/test-<server>
#      (tools/stack.sh start, with usage_info = 1), a second "variant" node of the same server on the
#      same database in var/test-<server>-variant (basic key `xxxxxxx`, v1_max_age = 0, usage_info = 0:
#      the published V1-A request of security.md §11 verifies there), the data fixtures
#      (tests/fixture_runner.py --variant-env), stack stop;
#   3. ... the installed koogate (tests/install/run.sh: make install DESTDIR=<tmp>, HTTPS Apache), ...
# Stacks are always stopped on exit. On failures the web server's error log tail is printed.
# Ends with one overall line "N passed, N failed"; exit status 0 only if nothing failed.
#
# Environment:
#   TEST_SERVERS="apache apache-fcgid lighttpd"   servers to test (default all three)
#   KOOGATE_BUILD_DIR=build          directory with the binaries (e.g. build/sanitize)
#   KOOGATE_TEST_KEEP=1              leave the last stacks running (and var/test-* in place) for debugging
# Extra arguments are passed to the fixture runner (e.g. --only happy -v).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
SERVERS=${TEST_SERVERS:-apache apache-fcgid lighttpd}
BUILD=${KOOGATE_BUILD_DIR:-$REPO/build}
RUNNER_ARGS=("$@")

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
STARTED=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/koogate-test.XXXXXX")

cleanup() {
    local v
    if [ "${KOOGATE_TEST_KEEP:-0}" != 1 ]; then
        for v in "${STARTED[@]}"; do
            tools/stack.sh stop --var "$v" >/dev/null 2>&1 || true
        done
    else
        for v in "${STARTED[@]}"; do echo "tests/run.sh: KOOGATE_TEST_KEEP=1, leaving the stack in $v running (tools/stack.sh stop --var $v)"; done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "tests/run.sh: interrupted" >&2; exit 130' INT TERM

# tally NAME OUTPUT-FILE EXIT-STATUS: adds the last "N passed, N failed" line of the output.
tally() {
    local name=$1 out=$2 rc=$3 line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        p=0; f=1
        echo "FAIL $name: no summary line (exit status $rc)"
    else
        p=${line%% passed*}
        f=${line#*, }; f=${f%% failed}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "FAIL $name: exit status $rc"
            f=1
        fi
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    SUMMARY+=("$(printf '%-22s %s passed, %s failed' "$name" "$p" "$f")")
    return 0
}

section() { printf '\n==== %s ====\n' "$*"; }

# ---------------------------------------------------------------- 1. unit tests
section "unit tests (make unit)"
MAKE_ARGS=()
[ -n "${KOOGATE_BUILD_DIR:-}" ] && MAKE_ARGS=(B="$KOOGATE_BUILD_DIR")
make --no-print-directory unit "${MAKE_ARGS[@]}" 2>&1 | tee "$TMP/unit.out"
tally "unit" "$TMP/unit.out" "${PIPESTATUS[0]}"

# ---------------------------------------------------------------- 2. fixtures per web server
for server in $SERVERS; do
    var="$REPO/var/test-$server"
    section "fixtures against $server ($var)"
    tools/stack.sh stop --var "$var" >/dev/null 2>&1 || true
    rm -rf "$var"
    STARTED+=("$var")
    t0=$(date +%s)
    if ! tools/stack.sh start --server "$server" --var "$var" --build "$BUILD" --set usage_info=1 \
            --set usage_on_demand_products=KGV1ONDEMAND 2>&1 | tee "$TMP/start-$server.out"; then
        :
    fi
    if [ ! -f "$var/stack.env" ]; then
        echo "FAIL $server: the stack did not start"
        for log in "$var/log/migrate.log" "$var/log/$server-configtest.log" "$var/log/$server-error.log" "$var/log/postgres.log"; do
            [ -s "$log" ] && { echo "---- tail of $log"; tail -n 25 "$log"; }
        done
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        SUMMARY+=("$(printf '%-22s %s' "fixtures/$server" "stack did not start")")
        continue
    fi
    # The variant node: same server, same database, other settings (fixtures with "requires": ["variant"]).
    variant="$var-variant"
    tools/stack.sh stop --var "$variant" >/dev/null 2>&1 || true
    rm -rf "$variant"
    STARTED+=("$variant")
    VARIANT_ARGS=()
    # The variant is half-way through a rotation of the app credential's key pair: a new key first, the
    # main node's key second (kit_key_rotation.json).
    rotated="$var/rsa_rotated.pem"
    "$BUILD/koogate" keygen --out "$rotated" >/dev/null 2>&1 && chgrp --reference="$var/koogate.conf" "$rotated" &&
        chmod 0640 "$rotated"
    if tools/stack.sh start --server "$server" --var "$variant" --build "$BUILD" --db-from "$var" \
            --set basic_keys=xxxxxxx --set v1_max_age=0 --set usage_info=0 \
            --set "rsa_private_key=$rotated, $var/rsa_private_key.pem" >"$TMP/start-$server-variant.out" 2>&1; then
        VARIANT_ARGS=(--variant-env "$variant/stack.env")
    else
        echo "FAIL $server: the variant node did not start (its fixtures are skipped)"
        tail -n 20 "$TMP/start-$server-variant.out"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    python3 tests/fixture_runner.py --env "$var/stack.env" ${VARIANT_ARGS[@]+"${VARIANT_ARGS[@]}"} "${RUNNER_ARGS[@]}" 2>&1 \
        | tee "$TMP/fixtures-$server.out"
    rc=${PIPESTATUS[0]}
    # The variant shares this stack's PostgreSQL: stop it before anything restarts the stack.
    if [ "${KOOGATE_TEST_KEEP:-0}" != 1 ]; then
        tools/stack.sh stop --var "$variant" >/dev/null 2>&1 || true
    fi
    tally "fixtures/$server" "$TMP/fixtures-$server.out" "$rc"
    if [ "$rc" -ne 0 ]; then
        # shellcheck disable=SC1091
        errlog=$(. "$var/stack.env"; echo "$KOOGATE_ERROR_LOG")
        echo "---- tail of $errlog"
        tail -n 60 "$errlog" 2>/dev/null || true
    fi
    # The on-call status page in headless Chromium (HTTP authentication, sections, escaping).
    section "status page against $server"
    [ -d tests/browser/node_modules ] || (cd tests/browser && npm ci --silent --no-audit --no-fund) 2>&1 | tail -n 5
    ( set -a; . "$var/stack.env"; set +a; SCREENSHOT_DIR="$var/screenshots" node tests/browser/status.mjs ) 2>&1 \
        | tee "$TMP/status-$server.out"
    tally "status-page/$server" "$TMP/status-$server.out" "${PIPESTATUS[0]}"
    # End-to-end login in headless Chromium with the fake IdP (restarts this stack once).
    section "browser login against $server"
    python3 tests/browser/run.py --env "$var/stack.env" 2>&1 | tee "$TMP/browser-$server.out"
    rc=${PIPESTATUS[0]}
    tally "browser/$server" "$TMP/browser-$server.out" "$rc"
    if [ "$rc" -ne 0 ]; then
        errlog=$(. "$var/stack.env" 2>/dev/null; echo "${KOOGATE_ERROR_LOG:-}")
        [ -n "$errlog" ] && { echo "---- tail of $errlog"; tail -n 60 "$errlog" 2>/dev/null || true; }
        echo "---- tail of $var/browser/idp.log"; tail -n 20 "$var/browser/idp.log" 2>/dev/null || true
    fi
    if [ "${KOOGATE_TEST_KEEP:-0}" != 1 ]; then
        tools/stack.sh stop --var "$var" 2>&1 | sed 's/^/    /'
    fi
    echo "($server: $(( $(date +%s) - t0 )) s)"
done

# ---------------------------------------------------------------- 3. the fake IdP and the fixture runner check themselves
section "fake identity provider self-test"
python3 tests/fakes/idp.py --selftest 2>&1 | tee "$TMP/idp-selftest.out"
tally "idp-selftest" "$TMP/idp-selftest.out" "${PIPESTATUS[0]}"
section "fixture runner self-test (tests/runner/test_runner.py)"
python3 tests/runner/test_runner.py 2>&1 | tee "$TMP/runner-selftest.out"
tally "runner-selftest" "$TMP/runner-selftest.out" "${PIPESTATUS[0]}"

# ---------------------------------------------------------------- 3b. sanitizers and valgrind
# The whole fixture suite against the ASan/UBSan build under the real Apache (mod_proxy_fcgi, so the
# supervisor of lib/app/listen.c runs under the sanitizers too): zero reports allowed.
section "fixtures against the ASan/UBSan build (Apache)"
san="$REPO/var/test-sanitize"
tools/stack.sh stop --var "$san" >/dev/null 2>&1 || true
rm -rf "$san"
STARTED+=("$san")
if make --no-print-directory sanitize >"$TMP/sanitize-build.out" 2>&1 &&
   tools/stack.sh start --server apache --var "$san" --build "$REPO/build/sanitize" >"$TMP/start-sanitize.out" 2>&1; then
    python3 tests/fixture_runner.py --env "$san/stack.env" "${RUNNER_ARGS[@]}" 2>&1 | tee "$TMP/sanitize.out"
    rc=${PIPESTATUS[0]}
    errlog=$(. "$san/stack.env"; echo "$KOOGATE_ERROR_LOG")
    reports=$(grep -c -E "AddressSanitizer|LeakSanitizer|runtime error:" "$errlog" || true)
    echo "sanitizer reports in $errlog: $reports"
    if [ "$reports" != 0 ]; then
        grep -E -A20 "AddressSanitizer|LeakSanitizer|runtime error:" "$errlog" | head -n 60
        rc=1
        echo "FAIL sanitizer reports: $reports"
    fi
    tally "fixtures/asan-apache" "$TMP/sanitize.out" "$rc"
    if [ "${KOOGATE_TEST_KEEP:-0}" != 1 ]; then
        tools/stack.sh stop --var "$san" 2>&1 | sed 's/^/    /'
    fi
else
    tail -n 20 "$TMP/sanitize-build.out" "$TMP/start-sanitize.out"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    SUMMARY+=("$(printf '%-22s %s' "fixtures/asan-apache" "the sanitizer stack did not start")")
fi

section "unit tests under valgrind"
make --no-print-directory valgrind "${MAKE_ARGS[@]}" 2>&1 | tee "$TMP/valgrind.out"
rc=${PIPESTATUS[0]}
printf '%s passed, %s failed\n' "$(grep -c '^ok valgrind' "$TMP/valgrind.out")" "$(grep -c '^FAIL valgrind' "$TMP/valgrind.out")" >>"$TMP/valgrind.out"
tally "valgrind" "$TMP/valgrind.out" "$rc"

# ---------------------------------------------------------------- 3c. the installed koogate
# make install DESTDIR=<tmp>, Apache over HTTPS from the installed files, the README's deploying steps,
# the simulator, the status page, log reopening, make uninstall (tests/install/run.sh).
section "installed (make install DESTDIR, HTTPS; tests/install)"
tests/install/run.sh 2>&1 | tee "$TMP/install.out"
tally "install" "$TMP/install.out" "${PIPESTATUS[0]}"

# ---------------------------------------------------------------- 4. faults and two web nodes
section "faults and two nodes (tests/faults)"
tests/faults/run.sh --build "$BUILD" 2>&1 | tee "$TMP/faults.out"
tally "faults" "$TMP/faults.out" "${PIPESTATUS[0]}"

# ---------------------------------------------------------------- 5. fuzz regressions
# Every fuzz target once over its corpus and the saved regressions (needs clang; a short pass).
section "fuzz regressions (tests/fuzz/run.sh --regress)"
tests/fuzz/run.sh --regress 2>&1 | tee "$TMP/fuzz.out"
tally "fuzz-regress" "$TMP/fuzz.out" "${PIPESTATUS[0]}"

# ---------------------------------------------------------------- summary
section "summary"
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
