# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# tools/stack/fake.sh — sourced by tools/stack.sh: the fake KooGallery gateway (tests/fakes/koogallery.py)
# and its throwaway test CA in $VAR/fake.

# Query Order and the usage push go to tests/fakes/koogallery.py (see the header). The CA and the
# certificate are made once per $VAR: other tests may bundle the CA into their own ca_file.
make_fake_certs() {
    [ -s "$FAKEDIR/ca.pem" ] && [ -s "$FAKEDIR/server.pem" ] && [ -s "$FAKEDIR/server.key" ] && return 0
    local ext="$FAKEDIR/server.ext"
    ( umask 077
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
          -keyout "$FAKEDIR/ca.key" -out "$FAKEDIR/ca.pem" -subj "/CN=koogate throwaway test CA" \
          -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
          -keyout "$FAKEDIR/server.key" -out "$FAKEDIR/server.csr" -subj "/CN=127.0.0.1"
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
          "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$ext"
      openssl x509 -req -in "$FAKEDIR/server.csr" -CA "$FAKEDIR/ca.pem" -CAkey "$FAKEDIR/ca.key" \
          -CAcreateserial -days 30 -extfile "$ext" -out "$FAKEDIR/server.pem"
    ) >"$LOGDIR/fake-certs.log" 2>&1 || { cat "$LOGDIR/fake-certs.log" >&2; die "openssl could not make the test certificates"; }
    rm -f "$FAKEDIR/server.csr" "$FAKEDIR/ca.key"     # nothing else is ever signed with this CA
    chmod 0644 "$FAKEDIR/ca.pem" "$FAKEDIR/server.pem"
}

FAKE_URL="" FAKE_FALLBACK_URL="" FAKE_CA=""
start_fake() {
    local script="$REPO/tests/fakes/koogallery.py" port ak sk basic ca pid
    if [ "${KOOGATE_NO_FAKE:-0}" = 1 ] || [ ! -f "$script" ] || ! grep -q 'written by tools/stack.sh' "$CONF"; then
        return 0
    fi
    mkdir -p "$FAKEDIR"
    chmod 0755 "$FAKEDIR"     # the FastCGI user reads ca.pem
    make_fake_certs
    ak=$(conf_value apig_ak); sk=$(conf_value apig_sk)
    if [ -z "$ak" ] || [ -z "$sk" ]; then
        ak=$(openssl rand -hex 10 | tr a-f A-F); sk=$(openssl rand -hex 20)
        conf_set apig_ak "$ak"; conf_set apig_sk "$sk"
    fi
    [ -n "$(conf_value usage_token)" ] || conf_set usage_token "$(openssl rand -hex 24)"
    # Keep a ca_file that someone else set (it may be a bundle holding this CA too); set ours otherwise.
    ca=$(conf_value ca_file)
    if [ -z "$ca" ] || [ ! -f "$ca" ]; then conf_set ca_file "$FAKEDIR/ca.pem"; fi
    basic=$(conf_value basic_keys); basic=${basic%%,*}; basic=${basic// /}
    # The same port as last time if it is free (a restart keeps the URLs), else a free one.
    port=$(cat "$FAKEDIR/port" 2>/dev/null || true)
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ! port_is_free "$port"; then port=$(free_ports 1); fi
    echo "$port" >"$FAKEDIR/port"
    # Secrets through that process's environment only: argv is public (ps).
    KOOGALLERY_SK=$sk KOOGALLERY_USAGE_KEY=$basic \
        setsid python3 "$script" --port "$port" --cert "$FAKEDIR/server.pem" --key "$FAKEDIR/server.key" \
        --ak "$ak" </dev/null >"$LOGDIR/koogallery.log" 2>&1 &
    pid=$!
    echo "$pid" >"$FAKEDIR/koogallery.pid"
    local code=000
    for _ in $(seq 1 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$FAKEDIR/ca.pem" \
               "https://127.0.0.1:$port/_usage" || true)
        [ "$code" = 200 ] && break
        pid_alive "$pid" || break
        sleep 0.1
    done
    [ "$code" = 200 ] || { tail -n 20 "$LOGDIR/koogallery.log" >&2; die "the fake KooGallery gateway did not start"; }
    FAKE_URL="https://127.0.0.1:$port"
    FAKE_FALLBACK_URL="https://localhost:$port"
    FAKE_CA="$FAKEDIR/ca.pem"
    conf_set mkt_url "$FAKE_URL"
    conf_set mkt_fallback_url "$FAKE_FALLBACK_URL"
    note "fake KooGallery gateway on $FAKE_URL (pid $pid)"
}

stop_fake() { stop_pidfile "the fake KooGallery gateway" "$FAKEDIR/koogallery.pid" koogallery.py 5; }
