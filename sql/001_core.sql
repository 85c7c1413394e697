-- 001: instances, the event outbox, nonces and the inbound-call audit log.

CREATE TABLE instance (
    instance_id      text PRIMARY KEY,
    generation       smallint NOT NULL CHECK (generation IN (1, 2)),
    order_id         text NOT NULL,
    order_line_id    text NOT NULL DEFAULT '',
    product_id       text NOT NULL DEFAULT '',
    business_id      text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'active', 'frozen', 'released')),
    test_flag        boolean NOT NULL DEFAULT false,
    expire_time      timestamptz,
    app_front_end_url text,
    app_admin_url    text,
    app_user_name    text,
    app_password     bytea,          -- sealed with the master key (AES-256-GCM), never plaintext
    app_memo         text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Idempotency keys: V2 per order line, V1 per (order, product). Test traffic never
-- collides with production rows.
CREATE UNIQUE INDEX instance_v2_order ON instance (order_id, order_line_id, test_flag) WHERE generation = 2;
CREATE UNIQUE INDEX instance_v1_order ON instance (order_id, product_id, test_flag) WHERE generation = 1;
CREATE INDEX instance_status ON instance (status);

-- The outbox: every state change writes one row in the same transaction, and
-- the trigger announces it to listeners (the provisioning worker).
CREATE TABLE event (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    kind          text NOT NULL,
    instance_id   text,
    order_id      text,
    order_line_id text,
    test_flag     boolean NOT NULL DEFAULT false,
    detail        jsonb NOT NULL DEFAULT '{}',
    delivered_at  timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);
CREATE INDEX event_instance ON event (instance_id, id);
CREATE INDEX event_undelivered ON event (id) WHERE delivered_at IS NULL;

CREATE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('koogate_event', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER event_notify AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_notify();

-- Replay protection: (key family, nonce) seen within the time window.
CREATE TABLE nonce (
    family     text NOT NULL,
    nonce      text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (family, nonce)
);
CREATE INDEX nonce_expires ON nonce (expires_at);

-- One row per inbound call; secrets are never stored here.
CREATE TABLE inbound_call (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    program      text NOT NULL,
    activity     text,
    verdict      text NOT NULL,
    http_status  smallint NOT NULL,
    result_code  text,
    duration_ms  real NOT NULL,
    instance_id  text,
    order_id     text,
    remote_addr  text
);
CREATE INDEX inbound_call_at ON inbound_call (at);
