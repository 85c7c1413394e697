-- 024: metrics (issue 16, /koogate/metrics).
--
-- Call counters are read from inbound_call, which every web node already
-- writes (010); nothing is added to the per-call write except one boolean
-- (2 below). They must survive 013's pruning and stay monotonic, and a
-- scrape must not read 90 days of rows. So a scrape first *folds*: the
-- calls of settled rows are added to call_total, once, and only the rows
-- not yet folded are read live. A counter = call_total + the unfolded rows.
-- The fold and the rows it folds commit together, and a prune deletes only
-- what is folded (3), so any snapshot sees each call exactly once.
--
-- Which rows are folded (call_fold): every row with id <= done_id, except
-- counted rows (013: aggregated, one per minute and key, still growing) whose
-- minute >= done_minute. Ids are taken from the sequence before a row's
-- transaction commits, so a fold may not take an id range while a writer of
-- that range could still commit: a scrape notes the sequence's last value
-- (next_id), a later one the transactions then running (next_xmax, a snapshot's
-- xmax, taken seconds after next_id: the writer of any id <= next_id has its
-- xid by then), and a fold takes ids up to next_id once every transaction
-- older than next_xmax has ended. A counted row is folded once its minute is
-- 2 minutes older than next_id's time (rows are written at most ~1 s after
-- the call; a web node whose clock is that far behind fails every V2
-- timestamp check anyway). What can be missed: calls a process could not
-- write for minutes (the database down) and that then land in a counted row
-- already folded.
--
-- 2. Dialing tests (拨测) are signed calls with testFlag "1" (D19): inbound_call
--    keeps the flag (test_flag), so that a failing dialing test can be told
--    from a failing order. koogate_bookkeeping (the four-argument form of 010,
--    last replaced by 020 for the probe mark) is replaced only to store it;
--    012's five-argument form calls it. Test calls keep their own row (they
--    are signed: never a flood), so 013/021's count trigger is recreated to
--    leave them alone; koogate_count_call itself is unchanged.
-- 3. koogate_prune (013) becomes koogate_prune_expired; the new koogate_prune
--    calls it, folds (whatever the retention), and deletes only folded calls.

-- 2. the test flag ------------------------------------------------------------
ALTER TABLE inbound_call ADD COLUMN test_flag boolean NOT NULL DEFAULT false;

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
    RETURN koogate_claim_nonce(p_family, p_nonce, p_ttl);
END $$;

DROP TRIGGER inbound_call_count ON inbound_call;
CREATE TRIGGER inbound_call_count BEFORE INSERT ON inbound_call FOR EACH ROW
    WHEN (NEW.instance_id IS NULL AND NEW.order_id IS NULL AND NOT NEW.aggregated AND NOT NEW.test_flag)
    EXECUTE FUNCTION koogate_count_call();

-- 1. the fold -----------------------------------------------------------------
-- Latency buckets (upper bounds, ms) of koogate_call_duration_seconds; the
-- marketplace waits 5 s. A counted row keeps only its slowest call (013), so
-- all its calls are placed in that call's bucket: never faster than they were.
CREATE FUNCTION koogate_call_buckets() RETURNS real[] LANGUAGE sql IMMUTABLE
AS $$ SELECT '{5,10,25,50,100,250,500,1000,2500,5000}'::real[] $$;
-- The bounds negated, ascending: width_bucket(-d, this) is how many bounds a
-- call of d ms is within (d <= bound). Both are folded to constants when planned.
CREATE FUNCTION koogate_call_buckets_neg() RETURNS real[] LANGUAGE sql IMMUTABLE
AS $$ SELECT array_agg(-b ORDER BY -b) FROM unnest(koogate_call_buckets()) AS b $$;

CREATE FUNCTION koogate_array_add(a bigint[], b bigint[]) RETURNS bigint[] LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i) $$;
CREATE AGGREGATE koogate_array_sum(bigint[]) (SFUNC = koogate_array_add, STYPE = bigint[]);

CREATE TABLE call_total (
    program     text NOT NULL,
    activity    text NOT NULL,
    verdict     text NOT NULL,
    result_code text NOT NULL,
    test_flag   boolean NOT NULL,
    probe       text NOT NULL,
    calls       bigint NOT NULL,
    ms          double precision NOT NULL,   -- sum of durations
    le          bigint[] NOT NULL,           -- calls at or under each koogate_call_buckets() bound
    PRIMARY KEY (program, activity, verdict, result_code, test_flag, probe)
);

CREATE TABLE call_fold (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    done_id     bigint NOT NULL,
    done_minute timestamptz NOT NULL,
    next_id     bigint,
    next_at     timestamptz,
    next_xmax   xid8
);

-- The calls of the rows with lo_id < id <= hi_id, and of the counted rows with
-- id <= lo_id and minute >= lo_minute, less the counted rows with minute >=
-- hi_minute: what a fold from (lo_id, lo_minute) to (hi_id, hi_minute) takes;
-- with hi = (maximum, infinity), what is not folded yet. Rows are first
-- grouped with their bucket, so the arrays are built per group, not per row.
-- No JIT: its compilation costs seconds and the estimates (call_fold is never
-- analysed) would ask for it.
CREATE FUNCTION koogate_call_sums(lo_id bigint, hi_id bigint, lo_minute timestamptz, hi_minute timestamptz)
RETURNS TABLE (program text, activity text, verdict text, result_code text, test_flag boolean, probe text,
               calls bigint, ms double precision, le bigint[])
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT g.program, g.activity, g.verdict, g.result_code, g.test_flag, g.probe, sum(g.calls)::bigint, sum(g.ms),
           koogate_array_sum(array_fill(0::bigint, ARRAY[cardinality(koogate_call_buckets()) - g.w])
                             || array_fill(g.calls, ARRAY[g.w]))
      FROM (SELECT r.program, COALESCE(r.activity, '') AS activity, r.verdict, COALESCE(r.result_code, '') AS result_code,
                   r.test_flag, COALESCE(r.probe, '') AS probe,
                   width_bucket(-r.duration_ms, koogate_call_buckets_neg()) AS w,
                   sum(r.calls)::bigint AS calls, sum(r.duration_ms::double precision * r.calls) AS ms
              FROM (SELECT * FROM inbound_call WHERE id > lo_id AND id <= hi_id
                    UNION ALL
                    SELECT * FROM inbound_call WHERE aggregated AND minute >= lo_minute AND id <= lo_id) AS r
             WHERE NOT (r.aggregated AND r.minute >= hi_minute)
             GROUP BY 1, 2, 3, 4, 5, 6, 7) AS g
     GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- Every call so far, by label set: one statement, so one snapshot.
CREATE FUNCTION koogate_call_counts()
RETURNS TABLE (program text, activity text, verdict text, result_code text, test_flag boolean, probe text,
               calls bigint, ms double precision, le bigint[])
LANGUAGE sql STABLE SET jit = off AS $$
    SELECT a.program, a.activity, a.verdict, a.result_code, a.test_flag, a.probe,
           sum(a.calls)::bigint, sum(a.ms), koogate_array_sum(a.le)
      FROM (SELECT t.program, t.activity, t.verdict, t.result_code, t.test_flag, t.probe, t.calls, t.ms, t.le
              FROM call_total t
            UNION ALL
            SELECT s.* FROM call_fold f,
                   koogate_call_sums(f.done_id, 9223372036854775807, f.done_minute, 'infinity') AS s) AS a
     GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- Run by every scrape before it reads, and by koogate_prune (every 256 calls
-- of a process): folds what has settled and notes the next candidate, so the
-- unfolded rows stay few whether or not anything scrapes. Each row is folded
-- once. One folder at a time; another caller meanwhile skips (its read stays
-- exact: a fold does not change the sums).
CREATE FUNCTION koogate_call_fold() RETURNS void LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    f call_fold;
    snap pg_snapshot := pg_current_snapshot();
    hi_id bigint;
    hi_minute timestamptz;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF NOT pg_try_advisory_xact_lock(hashtext('koogate_call_fold')) THEN
        RETURN;
    END IF;
    SELECT * INTO f FROM call_fold;
    IF f.next_xmax IS NOT NULL AND pg_snapshot_xmin(snap) >= f.next_xmax THEN
        -- At most 50,000 ids at a time: every call stays well inside the statement timeout.
        hi_id := LEAST(f.next_id, f.done_id + 50000);
        hi_minute := GREATEST(f.done_minute, date_trunc('minute', f.next_at) - interval '2 minutes');
        INSERT INTO call_total AS t
        SELECT * FROM koogate_call_sums(f.done_id, hi_id, f.done_minute, hi_minute)
        ON CONFLICT (program, activity, verdict, result_code, test_flag, probe)
        DO UPDATE SET calls = t.calls + EXCLUDED.calls, ms = t.ms + EXCLUDED.ms,
                      le = koogate_array_add(t.le, EXCLUDED.le);
        UPDATE call_fold SET done_id = hi_id, done_minute = hi_minute;
        IF hi_id = f.next_id THEN
            UPDATE call_fold SET next_id = (SELECT last_value FROM inbound_call_id_seq), next_at = now(), next_xmax = NULL;
        END IF;
    ELSIF f.next_id IS NOT NULL AND f.next_xmax IS NULL AND f.next_at < now() - interval '1 second' THEN
        UPDATE call_fold SET next_xmax = pg_snapshot_xmax(snap);
    ELSIF f.next_id IS NULL THEN
        UPDATE call_fold SET next_id = (SELECT last_value FROM inbound_call_id_seq), next_at = now();
    END IF;
END $$;

-- Existing calls are folded now (a migration runs once, with no statement
-- timeout), except counted rows of the last minutes, which may still grow;
-- calls answered while it runs may be missed.
INSERT INTO call_fold (done_id, done_minute)
SELECT COALESCE(max(id), 0), date_trunc('minute', now()) - interval '2 minutes' FROM inbound_call;
INSERT INTO call_total
SELECT s.* FROM call_fold f, koogate_call_sums(0, f.done_id, '-infinity', f.done_minute) AS s;

-- 3. pruning keeps the counts ---------------------------------------------------
-- 013's koogate_prune stays for nonces, login states and sessions (called with
-- 0 days, it deletes no calls); the calls are deleted here, folded ones only.
ALTER FUNCTION koogate_prune(integer) RENAME TO koogate_prune_expired;

CREATE FUNCTION koogate_prune(p_call_days integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM koogate_prune_expired(0);
    PERFORM koogate_call_fold();
    IF p_call_days > 0 THEN
        DELETE FROM inbound_call WHERE ctid IN (SELECT i.ctid FROM inbound_call i, call_fold f
             WHERE i.at < now() - make_interval(days => p_call_days)
               AND i.id <= f.done_id AND NOT (i.aggregated AND i.minute >= f.done_minute) LIMIT 1000);
    END IF;
END $$;
