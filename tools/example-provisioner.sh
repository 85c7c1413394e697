#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# An example vendor provisioner: it takes koogate's events in order and acts on them.
# Replace the three provision_* functions with calls into your product.
#
#   KOOGATE_CONFIG=/etc/koogate/koogate.conf PGHOST=... PGDATABASE=koogate tools/example-provisioner.sh [--once]
#   worker_on_created = tools/example-provisioner.sh --event     (in koogate.conf, for `koogate worker`)
#
# With --event it is a command for `koogate worker`: the event arrives as JSON on stdin, the kind in
# $KOOGATE_EVENT_KIND, and the app info of a created instance goes back on stdout.
#
# Events are handled in id order and marked delivered after the action succeeded; a failed action
# records attempts/last_error and is retried on the next pass (at least once delivery: make the
# actions idempotent, keyed by the event id). One provisioner runs at a time (flock); `koogate
# worker` is the multi-node version. Debugging traffic (test_flag) is acknowledged without
# provisioning anything (D19).
set -euo pipefail
KOOGATE=${KOOGATE:-$(dirname "$0")/../build/koogate}
APP_URL=${APP_URL:-https://app.example.com}

provision_new() {       # instance_id -> create the tenant in your product, then hand back the app info
    local id=$1 password
    password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
    printf '%s\n' "$password" | "$KOOGATE" instance set-app-info "$id" \
        --front-end-url "$APP_URL/t/$id" --admin-url "$APP_URL/t/$id/admin" \
        --user-name "admin" --password-stdin --memo "initial administrator" >/dev/null
}
provision_state() { echo "instance $1: $2 (suspend, resume or extend access in the product)"; }
provision_release() { echo "instance $1: released (schedule the data deletion)"; }

handle() {              # id kind instance_id test_flag
    [ "$4" = t ] && return 0
    case "$2" in
        created)                       provision_new "$3" ;;
        frozen|unfrozen|renewed|upgraded) provision_state "$3" "$2" ;;
        released)                      provision_release "$3" ;;
        *) ;;                          # order-fetched, app-info-set: nothing to do
    esac
}

pass() {
    local rows id kind instance test
    # The oldest undelivered event: act, then mark it delivered or record the failure.
    while :; do
        rows=$(psql -XqAt -F ' ' -v ON_ERROR_STOP=1 -c \
            "SELECT id, kind, instance_id, test_flag FROM event
              WHERE delivered_at IS NULL AND attempts < 10 ORDER BY id LIMIT 1") || return 1
        [ -n "$rows" ] || return 0
        read -r id kind instance test <<<"$rows"
        if out=$(handle "$id" "$kind" "$instance" "$test" 2>&1); then
            psql -XqAt -c "UPDATE event SET delivered_at = now(), attempts = attempts + 1 WHERE id = $id" >/dev/null
            [ -z "$out" ] || echo "$out"
        else
            psql -XqAt -v err="$out" -c "UPDATE event SET attempts = attempts + 1, last_error = :'err' WHERE id = $id" >/dev/null
            echo "event $id ($kind $instance) failed: $out" >&2
        fi
    done
}

if [ "${1:-}" = --event ]; then
    cat >/dev/null                                   # the event JSON (idempotencyKey, instance, detail)
    id=$(printf '%s' "${KOOGATE_INSTANCE_ID:-}" | sed 's/["\\]/\\&/g')
    case "${KOOGATE_EVENT_KIND:-}" in
        created)
            password=$(openssl rand -base64 18 | tr -d '/+=' | cut -c1-20)
            printf '{"appInfo":{"frontEndUrl":"%s/t/%s","adminUrl":"%s/t/%s/admin","userName":"admin","password":"%s","memo":"initial administrator"}}\n' \
                "$APP_URL" "$id" "$APP_URL" "$id" "$password" ;;
        *) echo "instance $id: $KOOGATE_EVENT_KIND" >&2 ;;
    esac
    exit 0
fi

exec 9>"${TMPDIR:-/tmp}/koogate-provisioner.lock"
flock -n 9 || { echo "another provisioner is running" >&2; exit 1; }
if [ "${1:-}" = --once ]; then pass; exit; fi
while :; do pass || true; sleep 2; done
