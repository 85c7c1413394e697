-- 012: hardening (issue 13).
--
-- 1. Sessions end in the transaction that withdraws access. Triggers, so that
--    every path that withdraws access (authSync, tenantSync, applicationSync,
--    freeze, expiry, release, a vendor's own SQL) ends the sessions with it:
--      a user revoked (flag 3), deleted (flag 0) or disabled (enable=false)
--          -> that user's sessions for that instance, tenant and app;
--      a tenant deleted (tenantSync flag 0)   -> every session of the tenant;
--      an app's credentials deleted           -> every session of that app;
--      an instance frozen or released         -> every session of the instance.
-- 2. Usage values must be finite: numeric accepts 'NaN', and 'NaN' passes
--    koogate_usage_add's "<= 0" (NaN sorts above every number in PostgreSQL).
--    ('Infinity' does not fit numeric(16, 4) and was refused already.)
-- 3. Nonces across a database crash: the claim commits asynchronously (009),
--    so a crash can forget the last claims. A new five-argument
--    koogate_bookkeeping also takes the request's signed timestamp and
--    refuses, after a crash and while a forgotten claim could still be inside
--    its window, any request signed before the database started: such a
--    request may have been claimed before the crash. Requests signed after
--    the start cannot have been. The four-argument form (010) stays for
--    nodes not yet upgraded.
-- 4. V1 ordering: V1 has no nonce and a day-long age limit, so a V1 call read
--    from a log could be replayed after a later one. The latest V1 timeStamp
--    that changed an instance is kept; an older state-changing V1 call is
--    refused. A retry of the same call carries the same timeStamp and passes.

-- 1. sessions ----------------------------------------------------------------
CREATE INDEX session_by_instance ON session (instance_id);

-- TG_ARGV[0]: what was withdrawn, 'user', 'app', 'tenant' or 'instance'; the
-- sessions that match it on every key it has end.
CREATE FUNCTION koogate_end_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o jsonb := to_jsonb(OLD);
    scope text := TG_ARGV[0];
BEGIN
    DELETE FROM session s
     WHERE s.instance_id = o ->> 'instance_id'
       AND (scope = 'instance' OR s.tenant_id = o ->> 'tenant_id')
       AND (scope IN ('instance', 'tenant') OR s.app_id = o ->> 'app_id')
       AND (scope <> 'user' OR s.user_name = o ->> 'user_name');
    RETURN NULL;
END $$;

CREATE TRIGGER tenant_user_withdrawn AFTER UPDATE ON tenant_user FOR EACH ROW
    WHEN (OLD.state = 'granted' AND OLD.enabled AND (NEW.state <> 'granted' OR NOT NEW.enabled))
    EXECUTE FUNCTION koogate_end_sessions('user');
CREATE TRIGGER tenant_user_removed AFTER DELETE ON tenant_user FOR EACH ROW
    EXECUTE FUNCTION koogate_end_sessions('user');
CREATE TRIGGER tenant_app_withdrawn AFTER UPDATE ON tenant_app FOR EACH ROW
    WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION koogate_end_sessions('app');
CREATE TRIGGER tenant_app_removed AFTER DELETE ON tenant_app FOR EACH ROW
    EXECUTE FUNCTION koogate_end_sessions('app');
CREATE TRIGGER tenant_withdrawn AFTER UPDATE ON tenant FOR EACH ROW
    WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION koogate_end_sessions('tenant');
CREATE TRIGGER tenant_removed AFTER DELETE ON tenant FOR EACH ROW
    EXECUTE FUNCTION koogate_end_sessions('tenant');
CREATE TRIGGER instance_withdrawn AFTER UPDATE OF status ON instance FOR EACH ROW
    WHEN (NEW.status IN ('frozen', 'released') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION koogate_end_sessions('instance');

-- 2. finite usage values -------------------------------------------------------
-- On the table, so that koogate_usage_add (006) and a vendor's own INSERT are
-- both covered; class 22 like the function's own refusals (answered 400).
CREATE FUNCTION koogate_usage_finite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.usage_value = 'NaN' THEN
        RAISE EXCEPTION 'usage value must be a finite number greater than 0 with at most 4 decimals'
            USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER usage_record_finite BEFORE INSERT OR UPDATE OF usage_value ON usage_record FOR EACH ROW
    EXECUTE FUNCTION koogate_usage_finite();

-- 3. nonces across a crash -----------------------------------------------------
-- p_ts: the request's signed timestamp, ms since the epoch (NULL: as the
-- four-argument form). Only after a crash: recovery ends with a checkpoint
-- taken after the start, a clean shutdown leaves one from before it (the
-- control file keeps whole seconds; a clean restart within the same second
-- counts as a crash, which only refuses what a crash would). And only while
-- now() is within p_ttl of the start: an older claim's nonce has expired.
CREATE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json, p_ts bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := pg_postmaster_start_time();
    fresh boolean;
BEGIN
    fresh := koogate_bookkeeping(p_family, p_nonce, p_ttl, p_calls);
    IF fresh AND p_ts IS NOT NULL AND now() < started + make_interval(secs => p_ttl)
       AND p_ts < floor(extract(epoch FROM started) * 1000) THEN
        IF (pg_control_checkpoint()).checkpoint_time >= date_trunc('second', started) THEN
            RETURN false;
        END IF;
    END IF;
    RETURN fresh;
END $$;

-- 4. V1 ordering -----------------------------------------------------------------
CREATE TABLE v1_last_change (
    instance_id text PRIMARY KEY,
    last_ts     text NOT NULL   -- V1 timeStamp yyyyMMddHHmmssSSS: text order is time order
);

-- True when p_ts is not older than the last V1 change of the instance (or
-- the instance is unknown: the handler answers that); records p_ts.
CREATE FUNCTION koogate_v1_in_order(p_instance text, p_ts text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF p_ts !~ '^[0-9]{17}$' THEN
        RETURN false;
    END IF;
    INSERT INTO v1_last_change AS o (instance_id, last_ts)
    SELECT p_instance, p_ts WHERE EXISTS (SELECT 1 FROM instance WHERE instance_id = p_instance)
    ON CONFLICT (instance_id) DO UPDATE SET last_ts = EXCLUDED.last_ts WHERE o.last_ts <= EXCLUDED.last_ts;
    IF FOUND THEN
        RETURN true;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM v1_last_change WHERE instance_id = p_instance);
END $$;
