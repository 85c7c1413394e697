-- 005: buyer login (login.md): one-time OAuth states, local sessions. Only
-- hashes of the browser-held secrets are stored; tokens are sealed.

CREATE TABLE login_state (
    state_hash    text PRIMARY KEY,       -- hex SHA-256 of the state value
    browser_hash  text NOT NULL,          -- hex SHA-256 of the kg_login cookie it is bound to
    instance_id   text NOT NULL,
    tenant_id     text NOT NULL,
    redirect_uri  text NOT NULL,
    next_url      text,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX login_state_expires ON login_state (expires_at);

CREATE TABLE session (
    id_hash          text PRIMARY KEY,    -- hex SHA-256 of the kg_session cookie value
    kind             text NOT NULL CHECK (kind IN ('oauth', 'cas')),
    instance_id      text NOT NULL,
    tenant_id        text NOT NULL,
    tenant_code      text,
    domain_name      text NOT NULL,
    app_id           text NOT NULL,
    user_name        text NOT NULL,
    name             text,
    role             text,
    org_code         text,
    access_token     bytea,               -- sealed
    refresh_token    bytea,               -- sealed
    token_expires_at timestamptz,
    token_lifetime   integer,             -- seconds, as issued
    idle_seconds     integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL -- absolute end
);
CREATE INDEX session_expires ON session (expires_at);
CREATE INDEX session_by_user ON session (tenant_id, user_name);

-- For a vendor's backend: who is logged in with this cookie value? Returns no
-- row for an unknown, idle or expired session; a hit counts as activity.
CREATE FUNCTION koogate_session(p_cookie text)
RETURNS TABLE (user_name text, name text, role text, tenant_id text, tenant_code text, org_code text,
               instance_id text, expires_at timestamptz)
LANGUAGE sql AS $$
    UPDATE session s SET last_seen_at = now()
     WHERE s.id_hash = encode(sha256(convert_to(p_cookie, 'UTF8')), 'hex')
       AND s.expires_at > now() AND s.last_seen_at + make_interval(secs => s.idle_seconds) > now()
    RETURNING s.user_name, s.name, s.role, s.tenant_id, s.tenant_code, s.org_code, s.instance_id,
              s.expires_at;
$$;
