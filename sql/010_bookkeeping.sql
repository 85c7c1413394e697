-- 010: one bookkeeping call per request. The nonce claim of a request and the
-- audit rows of the calls a process answered before it travel together, in one
-- asynchronous-commit transaction (see 009), instead of one transaction each.
-- Audit rows carry the time they were answered, since they are written later
-- (at most about a second, or the next request of the same process).
-- p_nonce NULL: only the audit rows (a process flushing them when idle); the
-- answer is then NULL.
--
-- NOTIFY moves out of the state-changing transactions of the FastCGI programs.
-- A transaction that notifies holds a database-wide lock from its commit until
-- the end of it (PostgreSQL serialises notifying commits), so every
-- synchronous commit of a new event waited for the previous one's WAL flush:
-- group commit never happened (pgbench, the newInstance statements, 16
-- clients: about half the rate with the trigger's NOTIFY than without). A
-- session with koogate.notify_later = on (the FastCGI programs' connections)
-- only notes the ids of the events it wrote; its next bookkeeping call, made
-- right after the answer, sends the same NOTIFY koogate_event, '<event id>' in
-- its own asynchronous-commit transaction. The note is a session setting made
-- in the event's transaction, so it is gone if that rolls back. A lost NOTIFY
-- (a crash in between) costs the worker at most its 5 s poll.

CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('koogate.notify_later', true) = 'on' THEN
        PERFORM set_config('koogate.events_written',
                           concat_ws(',', NULLIF(current_setting('koogate.events_written', true), ''), NEW.id), false);
    ELSE
        PERFORM pg_notify('koogate_event', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json)
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
                                  instance_id, order_id, remote_addr)
        SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code,
               r.duration_ms, r.instance_id, r.order_id, r.remote_addr
          FROM json_to_recordset(p_calls) AS r(at double precision, program text, activity text,
               verdict text, http_status smallint, result_code text, duration_ms real,
               instance_id text, order_id text, remote_addr text);
    END IF;
    IF p_nonce IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN koogate_claim_nonce(p_family, p_nonce, p_ttl);
END $$;

-- 009's koogate_audit stays: web nodes still running the previous build call
-- it until they are upgraded.
