-- 021: the probe mark (020) in 013's counted rows.
--
-- 013 counts calls that name no instance and no order in one row per minute;
-- the probe mark is part of that row's key, so that a probe's refused calls
-- are counted apart from real ones and keep their mark. The five-argument
-- koogate_bookkeeping of 012 (the signed timestamp) calls the four-argument
-- form, which 020 replaced to store the mark, so both forms store it.
-- A migration of its own: a database may have applied 020 before 013.
DROP INDEX inbound_call_aggregate;
CREATE UNIQUE INDEX inbound_call_aggregate
    ON inbound_call (minute, program, activity, verdict, http_status, result_code, remote_addr, probe) NULLS NOT DISTINCT
 WHERE aggregated;

CREATE OR REPLACE FUNCTION koogate_count_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbound_call AS c (at, minute, program, activity, verdict, http_status, result_code, duration_ms,
                                   remote_addr, probe, calls, aggregated)
    VALUES (NEW.at, date_trunc('minute', NEW.at), NEW.program, NEW.activity, NEW.verdict, NEW.http_status,
            NEW.result_code, NEW.duration_ms, NEW.remote_addr, NEW.probe, 1, true)
    ON CONFLICT (minute, program, activity, verdict, http_status, result_code, remote_addr, probe) WHERE aggregated
    DO UPDATE SET calls = c.calls + 1, at = GREATEST(c.at, EXCLUDED.at),
                  duration_ms = GREATEST(c.duration_ms, EXCLUDED.duration_ms);
    RETURN NULL;               -- counted instead of stored
END $$;
