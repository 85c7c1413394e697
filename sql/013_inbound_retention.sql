-- 013: inbound_call stays bounded (issue 13).
--
-- Every call, refused ones included, used to add one row, and nothing removed
-- them: a flood of junk requests filled the disk at the rate it arrived.
-- * Calls that name no instance and no order (every request refused before
--   its signature verified, unknown paths, login pages, ...) are now counted
--   per minute, program, activity, verdict, HTTP status, result code and
--   source address: one row with `calls` = N instead of N rows. Calls of an
--   instance or an order keep their own row, as before.
-- * koogate_prune(days) removes, besides expired nonces, login states and
--   sessions (what the FastCGI programs pruned inline), inbound_call rows
--   older than `call_retention_days` (default 90; 0 keeps them), a bounded
--   number per call. The programs call it now and then after an answer.
-- CREATE OR REPLACE of koogate_bookkeeping (the four-argument form of 010).

ALTER TABLE inbound_call ADD COLUMN calls integer NOT NULL DEFAULT 1,
                         ADD COLUMN aggregated boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX inbound_call_aggregate
    ON inbound_call (at, program, activity, verdict, http_status, result_code, remote_addr) NULLS NOT DISTINCT
 WHERE aggregated;

CREATE OR REPLACE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF current_setting('koogate.events_written', true) <> '' THEN
        PERFORM pg_notify('koogate_event', id)
           FROM unnest(string_to_array(current_setting('koogate.events_written'), ',')) AS id;
        PERFORM set_config('koogate.events_written', '', false);
    END IF;
    IF p_calls IS NOT NULL THEN
        WITH r AS (
            SELECT * FROM json_to_recordset(p_calls) AS r(at double precision, program text, activity text,
                   verdict text, http_status smallint, result_code text, duration_ms real,
                   instance_id text, order_id text, remote_addr text)),
        one AS (
            INSERT INTO inbound_call (at, program, activity, verdict, http_status, result_code, duration_ms,
                                      instance_id, order_id, remote_addr)
            SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code,
                   r.duration_ms, r.instance_id, r.order_id, r.remote_addr
              FROM r WHERE r.instance_id IS NOT NULL OR r.order_id IS NOT NULL)
        INSERT INTO inbound_call AS c (at, program, activity, verdict, http_status, result_code, duration_ms,
                                       remote_addr, calls, aggregated)
        SELECT date_trunc('minute', to_timestamp(r.at)), r.program, r.activity, r.verdict, r.http_status,
               r.result_code, max(r.duration_ms), r.remote_addr, count(*), true
          FROM r WHERE r.instance_id IS NULL AND r.order_id IS NULL
         GROUP BY 1, 2, 3, 4, 5, 6, 8
        ON CONFLICT (at, program, activity, verdict, http_status, result_code, remote_addr) WHERE aggregated
        DO UPDATE SET calls = c.calls + EXCLUDED.calls, duration_ms = GREATEST(c.duration_ms, EXCLUDED.duration_ms);
    END IF;
    IF p_nonce IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN koogate_claim_nonce(p_family, p_nonce, p_ttl);
END $$;

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
