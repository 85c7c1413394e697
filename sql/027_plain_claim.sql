-- 027: the nonce claim and the event notes without a PL/pgSQL call per request.
--
-- Until now every request ran koogate_bookkeeping (PL/pgSQL: the audit rows,
-- the NOTIFY batching, the nonce claim, then koogate_below_replay_floor, a
-- second PL/pgSQL frame), and every event row fired event_notify (a PL/pgSQL
-- AFTER ROW trigger, which also re-reads the row at the end of the
-- statement). The claim is now one plain statement that the programs prepare
-- (lib/app/audit.c), built from the SQL functions below, which PostgreSQL
-- inlines into it: no function call is left on the common path. The answers,
-- the arguments and what is stored are the same; PL/pgSQL only runs for the
-- rare steps (a session's first claim computes its replay floor, a request
-- signed before it is judged, a refusal raises KG001, a due NOTIFY).
--
-- Measured with pgbench on the newInstance statements (16 clients, synchronous
-- commit, alternating runs; README "Performance"): 2-6 % less PostgreSQL CPU
-- per new order, about 5 % per claim.

-- 1. The replay floor of sql/022: a session keeps its floor in koogate.replay_floor
-- once koogate_below_replay_floor has computed it. A request signed at or after
-- the floor is in time without a call; the function still decides for a
-- session's first claim and for a request signed before the floor.
CREATE FUNCTION koogate_claim_in_time(p_ts bigint, p_ttl integer) RETURNS boolean LANGUAGE sql AS $$
    SELECT p_ts IS NULL
        OR p_ts >= NULLIF(current_setting('koogate.replay_floor', true), '')::bigint    -- NULL until known
        OR NOT koogate_below_replay_floor(p_ts, p_ttl)
$$;

-- The in-write claim's refusal (sql/026): an error, so that the write it
-- travels with never happens.
CREATE FUNCTION koogate_claim_refused() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'nonce already used, or signed before the last crash or failover' USING ERRCODE = 'KG001';
END $$;

-- 2. Events. A session with koogate.notify_later = on (the FastCGI programs')
-- notes the ids of the events it writes in koogate.events_written (and when
-- the first was written in koogate.events_since), and announces them later
-- (sql/010, sql/025). The note is now written by the statement that inserts
-- the event (RETURNING koogate_event_written(id): the three places that write
-- events, below and in cgi-bin/produce/instance.c), and the trigger only runs
-- for the other sessions, which NOTIFY at once as before. A session setting
-- made in a transaction that rolls back is gone with it. One expression, so
-- that PostgreSQL inlines it: the inner set_config (since, when the list is
-- empty) is evaluated before the outer one, and contributes no text.
CREATE FUNCTION koogate_event_written(p_id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN current_setting('koogate.notify_later', true) = 'on' THEN
           set_config('koogate.events_written',
                      CASE WHEN COALESCE(current_setting('koogate.events_written', true), '') = ''
                           THEN left(set_config('koogate.events_since',
                                                extract(epoch FROM clock_timestamp())::text, false), 0) || p_id
                           ELSE current_setting('koogate.events_written', true) || ',' || p_id END, false) END
$$;

CREATE FUNCTION koogate_announce() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pg_notify('koogate_event', id)
       FROM unnest(string_to_array(current_setting('koogate.events_written', true), ',')) AS id;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('koogate.events_written', '', false);
    RETURN n;
END $$;

-- When the noted events are announced (sql/025's rule): by a call that only
-- writes audit rows (p_idle: the process is idle), or once the oldest is
-- 100 ms old. Every event is announced with its own id.
CREATE FUNCTION koogate_announce_due(p_idle boolean) RETURNS integer LANGUAGE sql AS $$
    SELECT CASE WHEN current_setting('koogate.events_written', true) <> ''
                 AND (p_idle OR extract(epoch FROM clock_timestamp())
                      - COALESCE(NULLIF(current_setting('koogate.events_since', true), '')::double precision, 0) >= 0.1)
           THEN koogate_announce() END
$$;

CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('koogate_event', NEW.id::text);
    RETURN NULL;
END $$;
DROP TRIGGER event_notify ON event;
CREATE TRIGGER event_notify AFTER INSERT ON event FOR EACH ROW
    WHEN (current_setting('koogate.notify_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION event_notify();

CREATE OR REPLACE FUNCTION koogate_event(p_kind text, i instance, p_order text, p_line text, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO event (kind, instance_id, order_id, order_line_id, test_flag, detail)
    VALUES (p_kind, i.instance_id, p_order, p_line, i.test_flag, p_detail)
    RETURNING koogate_event_written(id);
$$;

CREATE OR REPLACE FUNCTION koogate_kit_event(p_kind text, p_instance text, p_tenant text, p_test boolean, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO event (kind, instance_id, tenant_id, test_flag, detail)
    VALUES (p_kind, NULLIF(p_instance, ''), p_tenant, p_test, p_detail)
    RETURNING koogate_event_written(id);
$$;

-- 3. koogate_bookkeeping (sql/026) stays for the programs of the previous
-- release, which keep running until they are restarted after this migration:
-- their claims and announcements work as before (the notes keep their form);
-- only the events their own create statement writes are no longer noted, so
-- the worker finds those by its 5 s poll instead of a NOTIFY.
