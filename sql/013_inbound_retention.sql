-- 013: inbound_call stays bounded (issue 13).
--
-- Every call, refused ones included, used to add one row, and nothing removed
-- them: a flood of junk requests filled the disk at the rate it arrived.
-- * Calls that name no instance and no order (every request refused before
--   its signature verified, unknown paths, login pages, ...) are counted per
--   minute, program, activity, verdict, HTTP status, result code and source
--   address: one row with `calls` = N instead of N rows. A trigger, so that
--   every writer (koogate_bookkeeping of 010, koogate_audit of 009 on nodes
--   not yet upgraded) counts the same way. Calls of an instance or an order
--   keep their own row, as before.
-- * koogate_prune(days) removes, besides expired nonces, login states and
--   sessions (what the FastCGI programs pruned inline), inbound_call rows
--   older than `call_retention_days` (default 90; 0 keeps them), a bounded
--   number per call. The programs call it now and then after an answer.

-- An aggregated row: `minute` is its bucket, `at` its latest call.
ALTER TABLE inbound_call ADD COLUMN calls integer NOT NULL DEFAULT 1,
                         ADD COLUMN aggregated boolean NOT NULL DEFAULT false,
                         ADD COLUMN minute timestamptz;
CREATE UNIQUE INDEX inbound_call_aggregate
    ON inbound_call (minute, program, activity, verdict, http_status, result_code, remote_addr) NULLS NOT DISTINCT
 WHERE aggregated;

CREATE FUNCTION koogate_count_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbound_call AS c (at, minute, program, activity, verdict, http_status, result_code, duration_ms,
                                   remote_addr, calls, aggregated)
    VALUES (NEW.at, date_trunc('minute', NEW.at), NEW.program, NEW.activity, NEW.verdict, NEW.http_status,
            NEW.result_code, NEW.duration_ms, NEW.remote_addr, 1, true)
    ON CONFLICT (minute, program, activity, verdict, http_status, result_code, remote_addr) WHERE aggregated
    DO UPDATE SET calls = c.calls + 1, at = GREATEST(c.at, EXCLUDED.at),
                  duration_ms = GREATEST(c.duration_ms, EXCLUDED.duration_ms);
    RETURN NULL;               -- counted instead of stored
END $$;

CREATE TRIGGER inbound_call_count BEFORE INSERT ON inbound_call FOR EACH ROW
    WHEN (NEW.instance_id IS NULL AND NEW.order_id IS NULL AND NOT NEW.aggregated)
    EXECUTE FUNCTION koogate_count_call();

-- Housekeeping, a bounded amount each call (1000 rows of each kind).
CREATE FUNCTION koogate_prune(p_call_days integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    DELETE FROM nonce WHERE ctid IN (SELECT ctid FROM nonce WHERE expires_at < now() LIMIT 1000);
    DELETE FROM login_state WHERE ctid IN
        (SELECT ctid FROM login_state WHERE expires_at < now() - interval '1 hour' LIMIT 1000);
    DELETE FROM session WHERE ctid IN (SELECT ctid FROM session WHERE expires_at < now()
        OR last_seen_at + make_interval(secs => idle_seconds) < now() LIMIT 1000);
    IF p_call_days > 0 THEN
        DELETE FROM inbound_call WHERE ctid IN (SELECT ctid FROM inbound_call
             WHERE at < now() - make_interval(days => p_call_days) LIMIT 1000);
    END IF;
END $$;
