-- 022: nonces across a promotion (issue 18), and one usage window.
--
-- 1. The nonce claims commit asynchronously (009). Even with a synchronous
--    standby a claim reaches it only with the next synchronous commit or the
--    WAL writer's next flush, so a failover can forget the last claims, as a
--    crash can. 012's crash rule does not see a promotion: the promoted
--    standby's postmaster started long before. So each timeline keeps the
--    time of the first claim made on it (a promotion always starts a new
--    one), and for one nonce window after it, requests signed before it are
--    refused, as after a crash. That time is later than the promotion, which
--    is later than every claim the old primary could have made, so nothing
--    forgotten gets through; the cost is that the requests already signed
--    when the new primary took its first claim are refused too (the
--    marketplace retries them, signed anew).
--    The timeline is read from the WAL insert position: pg_control_checkpoint()
--    moves to the new timeline only when the promotion's (spread) checkpoint
--    ends, and the history files need superuser rights.
--    012's crash rule is the same kind of floor (the start, after a crash),
--    so both live in one function, koogate_below_replay_floor; the
--    five-argument koogate_bookkeeping of 012 is replaced by one that only
--    calls it after a fresh claim. The crash rule is unchanged, except that
--    a session decides once whether the start followed a crash.
-- 2. The usage window of an "at" time (POST /koogate/usage and
--    `koogate usage add --at`), written once.

-- 1. nonces across a promotion ---------------------------------------------------
CREATE TABLE timeline_start (
    timeline    text PRIMARY KEY,        -- 8 hex digits, as in WAL file names
    first_claim timestamptz NOT NULL     -- -infinity: the timeline this schema was made on
);
-- Migrations run on the primary; its present timeline needs no window.
INSERT INTO timeline_start VALUES (substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8), '-infinity');

-- True when a request signed at p_ts (ms since the epoch) must be refused:
-- signed before the floor, and within p_ttl of it. The floor is the later of
-- the database's start, if it followed a crash (012: recovery ends with a
-- checkpoint taken after the start, a clean shutdown leaves one from before
-- it; the control file keeps whole seconds), and the first claim on this
-- timeline. Called after a successful claim, so on a primary, whose start
-- and timeline never change while a session lasts: the floor is kept in the
-- session (koogate.replay_floor, ms; 0: none) and the per-request cost is
-- one setting read and one comparison. A session setting made in a
-- transaction that rolls back is gone with it.
CREATE FUNCTION koogate_below_replay_floor(p_ts bigint, p_ttl integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    floor_ms bigint := NULLIF(current_setting('koogate.replay_floor', true), '')::bigint;
    started timestamptz;
    tl text;
    since timestamptz;
BEGIN
    IF floor_ms IS NULL THEN
        tl := substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8);
        INSERT INTO timeline_start (timeline, first_claim) VALUES (tl, now()) ON CONFLICT DO NOTHING;
        SELECT first_claim INTO since FROM timeline_start WHERE timeline = tl;
        started := pg_postmaster_start_time();
        IF (pg_control_checkpoint()).checkpoint_time >= date_trunc('second', started) THEN
            since := GREATEST(since, started);
        END IF;
        floor_ms := CASE WHEN isfinite(since) THEN floor(extract(epoch FROM since) * 1000) ELSE 0 END;
        PERFORM set_config('koogate.replay_floor', floor_ms::text, false);
    END IF;
    IF p_ts >= floor_ms THEN
        RETURN false;
    END IF;
    RETURN now() < to_timestamp(floor_ms / 1000.0) + make_interval(secs => p_ttl);
END $$;

-- 012's function, with its crash rule moved into the one above.
CREATE OR REPLACE FUNCTION koogate_bookkeeping(p_family text, p_nonce text, p_ttl integer, p_calls json, p_ts bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    fresh boolean := koogate_bookkeeping(p_family, p_nonce, p_ttl, p_calls);
BEGIN
    IF fresh AND p_ts IS NOT NULL THEN
        RETURN NOT koogate_below_replay_floor(p_ts, p_ttl);
    END IF;
    RETURN fresh;
END $$;

-- 2. the usage window --------------------------------------------------------------
-- [begin, end): p_begin and p_end when given, else the p_window-second window
-- (UTC, from the epoch) that contains p_at.
CREATE FUNCTION koogate_usage_window(p_at timestamptz, p_begin timestamptz, p_end timestamptz, p_window integer,
                                     OUT w_begin timestamptz, OUT w_end timestamptz)
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(p_begin, to_timestamp(floor(extract(epoch FROM p_at) / p_window) * p_window)),
           COALESCE(p_end, to_timestamp(floor(extract(epoch FROM p_at) / p_window) * p_window + p_window))
$$;
