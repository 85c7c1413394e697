-- 026: what a new order costs PostgreSQL, once more (after 025).
--
-- 1. The nonce claim of a request whose first statement writes commits in
-- that statement's transaction (lib/io/db.c): one commit per newInstance
-- instead of two. Until now the claim always committed alone (asynchronously,
-- sql/009), and the write after it synchronously in a transaction of its own.
--
-- koogate_bookkeeping gains p_in_write. False: as 025 made it (the claim and
-- the audit rows commit on their own, without waiting for the WAL flush).
-- True: it runs first in the write's transaction, which commits as the write
-- does (synchronously), and a claim that fails (the nonce is taken, or the
-- request was signed before the replay floor of sql/022) raises SQLSTATE
-- KG001 instead of answering false, so that the write it travels with never
-- happens. The five-argument form is replaced by this one (p_in_write
-- defaults to false, so a call with five arguments means what it meant), and
-- the four-argument form of 024 (no timestamp; the programs no longer send it)
-- now calls it, so that the audit insert and the NOTIFY batching have one body.
--
-- 2. instance_order's foreign key to instance goes: every statement that
-- writes an order row has just written or locked its instance (the create of
-- cgi-bin/produce/instance.c, koogate_lock in 002), and instances are never
-- deleted; the check was a row trigger and an index probe per order row.
--
-- 3. instance_status goes: no statement selects instances by status; the
-- counts by status (status page, `koogate status`) read every row either way.
--
-- Measured with pgbench on the newInstance statements (16 clients, alternating
-- runs; README "Performance"): 1 saves about 0.1 ms of PostgreSQL CPU per
-- request, 2 and 3 together about 0.1 ms more.

ALTER TABLE instance_order DROP CONSTRAINT instance_order_instance_id_fkey;
DROP INDEX instance_status;

DROP FUNCTION koogate_bookkeeping(text, text, integer, json, bigint);

CREATE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json, p_ts bigint,
                                    p_in_write boolean DEFAULT false)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT p_in_write THEN
        -- Nonces and audit rows: a lost one costs at most a request the replay
        -- floor below refuses (sql/009, sql/022); no need to wait for the WAL flush.
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    IF current_setting('koogate.events_written', true) <> ''
       AND (p_nonce IS NULL OR extract(epoch FROM clock_timestamp())
            - COALESCE(NULLIF(current_setting('koogate.events_since', true), '')::double precision, 0) >= 0.1) THEN
        PERFORM pg_notify('koogate_event', id)
           FROM unnest(string_to_array(current_setting('koogate.events_written'), ',')) AS id;
        PERFORM set_config('koogate.events_written', '', false);
    END IF;
    IF p_calls IS NOT NULL THEN
        INSERT INTO inbound_call (at, program, activity, verdict, http_status, result_code, duration_ms,
                                  instance_id, order_id, remote_addr, probe, test_flag)
        SELECT to_timestamp(r.at), r.program, r.activity, r.verdict, r.http_status, r.result_code,
               r.duration_ms, r.instance_id, r.order_id, r.remote_addr, r.probe, COALESCE(r.test, false)
          FROM json_to_recordset(p_calls) AS r(at double precision, program text, activity text,
               verdict text, http_status smallint, result_code text, duration_ms real,
               instance_id text, order_id text, remote_addr text, probe text, test boolean);
    END IF;
    IF p_nonce IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO nonce AS n (family, nonce, expires_at)
    VALUES (p_family, p_nonce, now() + make_interval(secs => p_ttl))
    ON CONFLICT (family, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
     WHERE n.expires_at < now();
    -- 022: within one window after a crash or a promotion, a request signed
    -- before it may carry a nonce the database forgot.
    IF FOUND AND (p_ts IS NULL OR NOT koogate_below_replay_floor(p_ts, p_ttl)) THEN
        RETURN true;
    END IF;
    IF p_in_write THEN
        RAISE EXCEPTION 'nonce already used, or signed before the last crash or failover'
              USING ERRCODE = 'KG001';
    END IF;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json)
RETURNS boolean LANGUAGE sql AS $$
    SELECT koogate_bookkeeping(p_family, p_nonce, p_ttl, p_calls, NULL::bigint, false)
$$;
