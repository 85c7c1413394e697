-- 020: the operator's day. `koogate worker` starts from "now" on its first start (history is not
-- replayed unless asked), and an event it acknowledged without running
-- anything (no command for its kind, test traffic, before the first start)
-- says so in `skipped` instead of posing as an error in last_error.
CREATE TABLE worker_state (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    started_at  timestamptz NOT NULL DEFAULT now(),  -- the first start
    from_id     bigint NOT NULL                      -- events with id <= from_id were history then
);
ALTER TABLE event ADD COLUMN skipped text;
-- Rows written before this migration by the worker: the same meaning.
UPDATE event SET skipped = last_error, last_error = NULL
 WHERE delivered_at IS NOT NULL
   AND last_error IN ('no command configured for this kind', 'test event: not provisioned (D19)');

-- Calls from `koogate simulate` and health probes carry X-Koogate-Probe; the
-- mark is kept so that their deliberate failures are shown apart from real
-- ones. koogate_bookkeeping (010) is replaced only to store it.
ALTER TABLE inbound_call ADD COLUMN probe text;

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
        INSERT INTO inbound_call (at, program, activity, verdict, http_status, result_code, duration_ms,
                                  instance_id, order_id, remote_addr, probe)
        SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code,
               r.duration_ms, r.instance_id, r.order_id, r.remote_addr, r.probe
          FROM json_to_recordset(p_calls) AS r(at double precision, program text, activity text,
               verdict text, http_status smallint, result_code text, duration_ms real,
               instance_id text, order_id text, remote_addr text, probe text);
    END IF;
    IF p_nonce IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN koogate_claim_nonce(p_family, p_nonce, p_ttl);
END $$;
