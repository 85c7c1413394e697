-- 002: the instance lifecycle (renew, freeze, release, upgrade), order
-- details from Query Order, and the vendor's provisioning hand-off.
-- Each marketplace call is one call of one function below: one statement,
-- one transaction, the change and its event together.

ALTER TABLE instance
    ADD COLUMN frozen_reason   text CHECK (frozen_reason IN ('expired', 'violation')),
    ADD COLUMN expire_time_raw text,
    ADD COLUMN released_at     timestamptz,
    ADD COLUMN customer_id     text,
    ADD COLUMN customer_name   text,
    ADD COLUMN user_id         text,
    ADD COLUMN user_name       text,
    ADD COLUMN mobile_phone    bytea,      -- sealed
    ADD COLUMN email           bytea,      -- sealed
    ADD COLUMN sku_code        text,
    ADD COLUMN charging_mode   text,
    ADD COLUMN period_type     text,
    ADD COLUMN period_number   integer,
    ADD COLUMN trial           boolean,
    ADD COLUMN amount          text,
    ADD COLUMN extend_params   jsonb,
    ADD COLUMN params          jsonb,      -- every V1 parameter as received (D42)
    ADD COLUMN order_info      jsonb;      -- the last Query Order answer for the instance

-- Every order that touched an instance, keyed as the marketplace retries it.
CREATE TABLE instance_order (
    instance_id     text NOT NULL REFERENCES instance (instance_id),
    order_id        text NOT NULL,
    order_line_id   text NOT NULL DEFAULT '',
    kind            text NOT NULL,   -- new, RENEWAL, TRIAL_TO_FORMAL, ..., upgrade, release
    product_id      text,
    sku_code        text,
    amount          text,
    expire_time     timestamptz,
    test_flag       boolean NOT NULL DEFAULT false,
    at              timestamptz NOT NULL DEFAULT now(),
    -- Query Order enrichment, done after the answer (D10)
    fetch_state     text NOT NULL DEFAULT 'none' CHECK (fetch_state IN ('none', 'pending', 'done', 'failed')),
    fetch_attempts  integer NOT NULL DEFAULT 0,
    fetch_next_at   timestamptz,
    fetch_error     text,
    order_info      jsonb,
    PRIMARY KEY (instance_id, order_id, order_line_id, kind)
);
CREATE INDEX instance_order_fetch ON instance_order (fetch_next_at) WHERE fetch_state = 'pending';

-- newInstance records its order too, so every order is in one place.
CREATE FUNCTION instance_order_on_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, product_id, test_flag,
                                fetch_state, fetch_next_at)
    VALUES (NEW.instance_id, NEW.order_id, NEW.order_line_id, 'new', NULLIF(NEW.product_id, ''),
            NEW.test_flag,
            CASE WHEN NEW.generation = 2 THEN 'pending' ELSE 'none' END,
            CASE WHEN NEW.generation = 2 THEN now() END);
    RETURN NULL;
END $$;
CREATE TRIGGER instance_order_on_create AFTER INSERT ON instance
    FOR EACH ROW EXECUTE FUNCTION instance_order_on_create();

CREATE FUNCTION koogate_event(p_kind text, i instance, p_order text, p_line text, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO event (kind, instance_id, order_id, order_line_id, test_flag, detail)
    VALUES (p_kind, i.instance_id, p_order, p_line, i.test_flag, p_detail);
$$;

-- Locks the instance a call names. Result words shared by the functions:
-- 'ok', 'unknown' (never seen: 000003), 'test-noop' (a test call naming a
-- production instance changes nothing, D19).
CREATE FUNCTION koogate_lock(p_instance text, p_test boolean, OUT i instance, OUT verdict text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO i FROM instance WHERE instance_id = p_instance FOR UPDATE;
    IF NOT FOUND THEN
        verdict := 'unknown';
    ELSIF p_test AND NOT i.test_flag THEN
        verdict := 'test-noop';
    ELSE
        verdict := 'ok';
    END IF;
END $$;

-- A state an instance returns to when nothing blocks it.
CREATE FUNCTION koogate_ready_state(i instance) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN i.app_front_end_url IS NULL THEN 'pending' ELSE 'active' END;
$$;

-- refreshInstance (V2 with scene, V1 without): sets the expiry (an unknown
-- scene may come without one, D49); a renewal unfreezes an instance that was frozen because it expired (D51).
CREATE FUNCTION koogate_refresh(p_instance text, p_order text, p_line text, p_scene text,
                                p_product text, p_expire timestamptz, p_expire_raw text,
                                p_test boolean, p_fetch boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
    new_status text;
    new_reason text;
    recorded integer;
BEGIN
    SELECT * INTO l FROM koogate_lock(p_instance, p_test);
    IF l.verdict <> 'ok' THEN RETURN l.verdict; END IF;
    INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, product_id, expire_time,
                                test_flag, fetch_state, fetch_next_at)
    VALUES (p_instance, p_order, p_line, p_scene, NULLIF(p_product, ''), p_expire, p_test,
            CASE WHEN p_fetch THEN 'pending' ELSE 'none' END, CASE WHEN p_fetch THEN now() END)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS recorded = ROW_COUNT;
    new_status := (l.i).status;
    new_reason := (l.i).frozen_reason;
    IF new_status = 'frozen' AND new_reason = 'expired' AND p_expire > now() THEN
        new_status := koogate_ready_state(l.i);
        new_reason := NULL;
    END IF;
    UPDATE instance SET expire_time = COALESCE(p_expire, expire_time),
                        expire_time_raw = COALESCE(p_expire_raw, expire_time_raw),
                        product_id = COALESCE(NULLIF(p_product, ''), product_id),
                        status = new_status, frozen_reason = new_reason, updated_at = now()
     WHERE instance_id = p_instance;
    IF recorded > 0 OR (p_expire IS NOT NULL AND (l.i).expire_time IS DISTINCT FROM p_expire) OR new_status <> (l.i).status THEN
        PERFORM koogate_event('renewed', l.i, p_order, p_line,
            jsonb_build_object('scene', p_scene, 'expireTime', p_expire_raw, 'productId', p_product,
                               'unfrozen', new_status <> (l.i).status));
    END IF;
    RETURN 'ok';
END $$;

-- updateInstanceStatus / instanceStatus / expireInstance. p_freeze true
-- freezes; p_expired marks the freeze as an expiry (V1 expireInstance);
-- otherwise a freeze at or after the stored expiry counts as one (D51).
CREATE FUNCTION koogate_set_frozen(p_instance text, p_freeze boolean, p_expired boolean, p_test boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
    reason text;
BEGIN
    SELECT * INTO l FROM koogate_lock(p_instance, p_test);
    IF l.verdict <> 'ok' THEN RETURN l.verdict; END IF;
    IF (l.i).status = 'released' THEN
        RETURN 'ok';                       -- nothing left to freeze or unfreeze
    END IF;
    IF p_freeze AND (l.i).status <> 'frozen' THEN
        reason := CASE WHEN p_expired OR (l.i).expire_time <= now() THEN 'expired' ELSE 'violation' END;
        UPDATE instance SET status = 'frozen', frozen_reason = reason, updated_at = now()
         WHERE instance_id = p_instance;
        PERFORM koogate_event('frozen', l.i, NULL, NULL, jsonb_build_object('reason', reason));
    ELSIF NOT p_freeze AND (l.i).status = 'frozen' THEN
        UPDATE instance SET status = koogate_ready_state(l.i), frozen_reason = NULL, updated_at = now()
         WHERE instance_id = p_instance;
        PERFORM koogate_event('unfrozen', l.i, NULL, NULL, '{}');
    END IF;
    RETURN 'ok';
END $$;

-- releaseInstance: terminal; the row and its history stay for audit.
CREATE FUNCTION koogate_release(p_instance text, p_order text, p_line text, p_test boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
BEGIN
    SELECT * INTO l FROM koogate_lock(p_instance, p_test);
    IF l.verdict <> 'ok' THEN RETURN l.verdict; END IF;
    IF (l.i).status <> 'released' THEN
        UPDATE instance SET status = 'released', released_at = now(), updated_at = now()
         WHERE instance_id = p_instance;
        IF COALESCE(p_order, '') <> '' THEN
            INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, test_flag)
            VALUES (p_instance, p_order, COALESCE(p_line, ''), 'release', p_test)
            ON CONFLICT DO NOTHING;
        END IF;
        PERFORM koogate_event('released', l.i, p_order, p_line,
                              jsonb_build_object('previousStatus', (l.i).status));
    END IF;
    RETURN 'ok';
END $$;

-- upgradeInstance / upgrade: the upgrade order is recorded once; V2 reads the
-- new specification through Query Order, V1 carries it.
CREATE FUNCTION koogate_upgrade(p_instance text, p_order text, p_line text, p_product text,
                                p_sku text, p_amount text, p_test boolean, p_fetch boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
    recorded integer;
BEGIN
    SELECT * INTO l FROM koogate_lock(p_instance, p_test);
    IF l.verdict <> 'ok' THEN RETURN l.verdict; END IF;
    IF (l.i).status = 'released' THEN RETURN 'released'; END IF;
    INSERT INTO instance_order (instance_id, order_id, order_line_id, kind, product_id, sku_code,
                                amount, test_flag, fetch_state, fetch_next_at)
    VALUES (p_instance, p_order, COALESCE(p_line, ''), 'upgrade', NULLIF(p_product, ''),
            NULLIF(p_sku, ''), NULLIF(p_amount, ''), p_test,
            CASE WHEN p_fetch THEN 'pending' ELSE 'none' END, CASE WHEN p_fetch THEN now() END)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS recorded = ROW_COUNT;
    IF recorded > 0 THEN
        UPDATE instance SET product_id = COALESCE(NULLIF(p_product, ''), product_id),
                            sku_code = COALESCE(NULLIF(p_sku, ''), sku_code),
                            amount = COALESCE(NULLIF(p_amount, ''), amount), updated_at = now()
         WHERE instance_id = p_instance;
        PERFORM koogate_event('upgraded', l.i, p_order, p_line,
            jsonb_build_object('productId', p_product, 'skuCode', p_sku, 'amount', p_amount));
    END IF;
    RETURN 'ok';
END $$;

-- The vendor's hand-off: set what queryInstance returns and make the
-- instance ready. p_password is sealed with the master key (koogate seals
-- it: `koogate instance set-app-info`), or NULL for no password.
CREATE FUNCTION koogate_set_app_info(p_instance text, p_front_end_url text, p_admin_url text,
                                     p_user_name text, p_password bytea, p_memo text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l record;
BEGIN
    IF COALESCE(p_front_end_url, '') = '' OR length(p_front_end_url) > 512 THEN
        RAISE EXCEPTION 'frontEndUrl is required and at most 512 characters';
    END IF;
    IF octet_length(COALESCE(p_user_name, '')) > 31 THEN
        RAISE EXCEPTION 'userName is at most 31 bytes (D17)';
    END IF;
    SELECT * INTO l FROM koogate_lock(p_instance, true);
    IF (l.verdict = 'unknown') THEN RETURN 'unknown'; END IF;
    UPDATE instance SET app_front_end_url = p_front_end_url, app_admin_url = NULLIF(p_admin_url, ''),
                        app_user_name = NULLIF(p_user_name, ''), app_password = p_password,
                        app_memo = NULLIF(p_memo, ''),
                        status = CASE WHEN status = 'pending' THEN 'active' ELSE status END,
                        updated_at = now()
     WHERE instance_id = p_instance;
    PERFORM koogate_event('app-info-set', l.i, NULL, NULL,
                          jsonb_build_object('previousStatus', (l.i).status));
    RETURN 'ok';
END $$;
