# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# tools/stack/config.sh — sourced by tools/stack.sh: the stack's koogate.conf (fresh keys on the first
# start, kept afterwards) and reading or setting one key of it.

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
