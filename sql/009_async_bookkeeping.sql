-- 009: the nonce check and the audit row commit without waiting for the WAL
-- flush. Both are bookkeeping written on every call, including reads such as
-- queryInstance; waiting for an fsync each time made them the dominant cost.
-- A crash can lose at most the last fraction of a second of them (a nonce lost
-- that way could be replayed only inside its 60 s window, across a database
-- crash). State changes (instances, Kit data, usage) keep synchronous commits.
-- set_config(..., true) inside the function lasts until the end of the
-- statement's own transaction, so it covers exactly this call's commit.

CREATE FUNCTION koogate_claim_nonce(p_family text, p_nonce text, p_ttl integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    fresh integer;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO nonce (family, nonce, expires_at)
    VALUES (p_family, p_nonce, now() + make_interval(secs => p_ttl))
    ON CONFLICT (family, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
     WHERE nonce.expires_at < now();
    GET DIAGNOSTICS fresh = ROW_COUNT;
    RETURN fresh = 1;
END $$;

CREATE FUNCTION koogate_audit(p_program text, p_activity text, p_verdict text, p_status smallint,
                              p_result text, p_ms real, p_instance text, p_order text, p_remote text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO inbound_call (program, activity, verdict, http_status, result_code, duration_ms,
                              instance_id, order_id, remote_addr)
    VALUES (p_program, p_activity, p_verdict, p_status, p_result, p_ms, p_instance, p_order, p_remote);
END $$;
