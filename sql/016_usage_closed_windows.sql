-- 016: usage goes into windows that have begun, and is pushed only once they
-- have closed (usage-and-open-api.md §2.5.1, D40). A window pushed early spends
-- its metering_sn, so usage recorded into it later could never be billed; a
-- window that begins in the future is a clock or caller mistake.
--
-- A trigger rather than a new check in koogate_usage_add: it holds for every
-- path that writes a window (the SQL function, `koogate usage add`,
-- POST /koogate/usage, and a direct INSERT), and it leaves that function alone.
-- The push side is `end_time <= now()` in the push's batch query.

CREATE FUNCTION koogate_usage_window_begun() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.begin_time > now() THEN
        RAISE EXCEPTION 'instance %: window % to % begins in the future; record usage once it has begun',
            NEW.instance_id, NEW.begin_time, NEW.end_time USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER usage_window_begun BEFORE INSERT OR UPDATE OF begin_time, end_time ON usage_record
    FOR EACH ROW EXECUTE FUNCTION koogate_usage_window_begun();
