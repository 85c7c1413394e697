-- 025: the newInstance and queryInstance paths, made cheaper for PostgreSQL
-- without changing what they store or when it is durable.
--
-- Measured per request on the newInstance statements (cluster CPU and WAL
-- per transaction, pgbench, alternating runs; README "Performance"):
--   1. (Kept: instance_status, the index on a four-value column. It adds
--      about 65 bytes of WAL per new instance and no CPU the measurement
--      could tell from noise, and the status page's count by status reads
--      it instead of the table: 111 ms instead of 296 ms at 390,000 rows.)
--   2. The order row of a new instance is written by the statement that
--      creates the instance (cgi-bin/produce/instance.c), in the same
--      statement and transaction, instead of by a PL/pgSQL row trigger: the
--      same row, without a function call per insert.
--   3. koogate_bookkeeping (010, 020, 022, 024) was three nested PL/pgSQL calls
--      (the signed-timestamp form, the audit form, the nonce claim); it is
--      now one, with the same answers and arguments: the audit rows as 024
--      stores them (test_flag), and 022's replay floor (crash or promotion)
--      deciding after a fresh claim. The four-argument form stays as 024 made it.
--   4. koogate_usage_info (014) was a set-returning SQL function that the
--      planner inlines into queryInstance's statement: the statement could
--      then not keep a generic plan and was planned at every call (about
--      0.5 ms, more than the query itself). As PL/pgSQL it keeps its own
--      cached plan and answers at once for instances that are not
--      usage-billed.
--   5. The NOTIFY of the events a FastCGI process wrote (010) was sent by the
--      very next bookkeeping call, so nearly every claim under load was a
--      notifying commit, and PostgreSQL serialises those behind one
--      database-wide lock (newInstance, 16 connections: 20-28 % more
--      requests per second without it). A claim now sends them once they
--      are 100 ms old, all of them in one transaction; a call that only
--      writes audit rows (the process is idle, 50 ms after its last answer)
--      sends them at once. Every event is still announced with its own id.

DROP TRIGGER instance_order_on_create ON instance;
DROP FUNCTION instance_order_on_create();

CREATE OR REPLACE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json, p_ts bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    -- Nonces and audit rows: a lost one costs at most a request the replay
    -- floor below refuses (sql/009, sql/022); no need to wait for the WAL flush.
    PERFORM set_config('synchronous_commit', 'off', true);
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
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- 022: within one window after a crash or a promotion, a request signed
    -- before it may carry a nonce the database forgot.
    RETURN p_ts IS NULL OR NOT koogate_below_replay_floor(p_ts, p_ttl);
END $$;

-- 010's trigger function, which also notes when the oldest unannounced event
-- of the session was written.
CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('koogate.notify_later', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('koogate_event', NEW.id::text);
    ELSIF COALESCE(current_setting('koogate.events_written', true), '') = '' THEN
        PERFORM set_config('koogate.events_since', extract(epoch FROM clock_timestamp())::text, false);
        PERFORM set_config('koogate.events_written', NEW.id::text, false);
    ELSE
        PERFORM set_config('koogate.events_written', current_setting('koogate.events_written') || ',' || NEW.id, false);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION koogate_usage_info(i instance, p_on_demand text[], p_package text[], p_window integer,
                                              OUT usage_value text, OUT statistical_time text)
RETURNS SETOF record LANGUAGE plpgsql STABLE ROWS 1 AS $$
DECLARE
    kind text := koogate_usage_kind(i, p_on_demand, p_package);
BEGIN
    IF kind IS NULL THEN
        RETURN;
    END IF;
    -- Two statements, not one with an OR: each uses its own index.
    IF kind = 'package' THEN
        RETURN QUERY
        SELECT trim_scale(COALESCE(sum(r.usage_value), 0))::text,
               to_char(COALESCE(max(r.end_time), now()) AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')
          FROM usage_record r
         WHERE r.relate_pkg_instance = i.instance_id AND r.state <> 'rejected';
    ELSE
        RETURN QUERY
        SELECT trim_scale(COALESCE(sum(r.usage_value) FILTER (WHERE r.end_time >
                   to_timestamp(floor(extract(epoch FROM now()) / p_window) * p_window)), 0))::text,
               to_char(COALESCE(max(r.end_time), now()) AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')
          FROM usage_record r
         WHERE r.instance_id = i.instance_id AND r.state <> 'rejected';
    END IF;
END $$;
