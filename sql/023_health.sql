-- 023: the on-call verdict. One classification of inbound calls and one list
-- of findings, so that the status page, `koogate status` and monitoring agree.
-- Only new functions; nothing existing is replaced.

-- What a call was, for a person: 'ok'; 'failed' (this side or a service it
-- depends on did not do its job: database, no answer, internal error, IdP);
-- 'refused' (the caller's request was wrong: signature, timestamp, replay,
-- parameters, unknown ids, paths); 'probe' (a marked probe that did not
-- succeed, usually on purpose: koogate simulate, health checks).
CREATE FUNCTION koogate_call_kind(p_verdict text, p_http integer, p_result text, p_probe text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_verdict = 'ok' AND p_http < 400 AND (p_result IS NULL OR p_result = '000000') THEN 'ok'
        WHEN p_probe IS NOT NULL THEN 'probe'
        WHEN p_verdict IN ('db-error', 'no-answer', 'error', 'upstream') OR p_http >= 500
             OR p_result IN ('000004', '000005') THEN 'failed'
        ELSE 'refused'
    END
$$;

-- Findings, worst first: level 'red' (act now) or 'amber' (look soon), the
-- area (a section of the status page) and a sentence. No rows: green.
-- Calls count over the last p_minutes; backlogs by their age.
CREATE FUNCTION koogate_health(p_minutes integer DEFAULT 15)
RETURNS TABLE (level text, area text, reason text) LANGUAGE sql STABLE AS $$
    WITH ev AS (
        SELECT count(*) FILTER (WHERE last_error IS NOT NULL AND at < now() - interval '30 minutes') AS stuck,
               count(*) FILTER (WHERE last_error IS NOT NULL AND at >= now() - interval '30 minutes') AS retrying,
               count(*) FILTER (WHERE last_error IS NULL AND at < now() - interval '10 minutes') AS waiting,
               min(at) FILTER (WHERE last_error IS NOT NULL) AS oldest_failing,
               min(at) FILTER (WHERE last_error IS NULL) AS oldest_waiting
          FROM event WHERE delivered_at IS NULL
    ), od AS (
        SELECT count(*) FILTER (WHERE fetch_state = 'failed' AND at > now() - interval '7 days') AS gave_up,
               count(*) FILTER (WHERE fetch_state = 'pending' AND at < now() - interval '1 hour') AS late,
               min(at) FILTER (WHERE fetch_state = 'pending') AS oldest
          FROM instance_order WHERE fetch_state IN ('pending', 'failed') AND NOT test_flag
    ), us AS (
        SELECT count(*) FILTER (WHERE state = 'held') AS held,
               count(*) FILTER (WHERE state IN ('rejected', 'expired') AND updated_at > now() - interval '7 days') AS refused,
               count(*) FILTER (WHERE state = 'pending' AND end_time < now() - interval '1 hour') AS late,
               min(end_time) FILTER (WHERE state = 'pending') AS oldest
          FROM usage_record WHERE state IN ('held', 'rejected', 'expired', 'pending')
    ), calls AS (
        SELECT COALESCE(sum(calls) FILTER (WHERE k = 'failed'), 0) AS failed,
               COALESCE(sum(calls) FILTER (WHERE k = 'refused' AND verdict IN ('bad-signature', 'stale', 'replay')), 0)
                   AS auth_refused
          FROM (SELECT koogate_call_kind(verdict, http_status, result_code, probe) AS k, verdict, calls
                  FROM inbound_call WHERE at > now() - make_interval(mins => p_minutes)) c
    ), f(level, area, reason, n) AS (
        SELECT 'red', 'events', stuck || ' event(s) failing for over 30 minutes (oldest written '
               || to_char(oldest_failing AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC): the provisioning command keeps failing', stuck FROM ev
        UNION ALL
        SELECT 'red', 'calls', failed || ' call(s) failed in the last ' || p_minutes || ' minutes (database, internal error or identity service; not the caller''s fault)', failed FROM calls
        UNION ALL
        SELECT 'red', 'usage', held || ' usage record(s) held: KooGallery refused the push configuration', held FROM us
        UNION ALL
        SELECT 'amber', 'events', retrying || ' event(s) failing, being retried', retrying FROM ev
        UNION ALL
        SELECT 'amber', 'events', waiting || ' event(s) waiting over 10 minutes for the worker (oldest written '
               || to_char(oldest_waiting AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC): is koogate worker running?', waiting
          FROM ev WHERE EXISTS (SELECT 1 FROM worker_state)
        UNION ALL
        SELECT 'amber', 'calls', auth_refused || ' call(s) refused in the last ' || p_minutes || ' minutes for a bad signature, timestamp or replay: a wrong key or clock?', auth_refused FROM calls
        UNION ALL
        SELECT 'amber', 'orders', gave_up || ' order fetch(es) gave up in the last 7 days: customer details missing', gave_up FROM od
        UNION ALL
        SELECT 'amber', 'orders', late || ' order fetch(es) pending for over an hour (oldest '
               || to_char(oldest AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC): is koogate orders fetch running?', late FROM od
        UNION ALL
        SELECT 'amber', 'usage', refused || ' usage record(s) rejected or expired in the last 7 days', refused FROM us
        UNION ALL
        SELECT 'amber', 'usage', late || ' usage record(s) of windows closed over an hour ago not pushed (oldest ended '
               || to_char(oldest AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC): is koogate usage push running?', late FROM us
    )
    SELECT level, area, reason FROM f WHERE n > 0 ORDER BY level = 'amber', area
$$;
