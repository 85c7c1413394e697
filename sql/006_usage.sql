-- 006: pay-per-use usage (usage-and-open-api.md §2, D9, D36, D40): what the
-- vendor records, and what was pushed to KooGallery.

CREATE TABLE usage_record (
    id                  bigserial PRIMARY KEY,
    instance_id         text NOT NULL REFERENCES instance (instance_id),
    meter               text NOT NULL DEFAULT '',   -- the vendor's own name for what was counted
    begin_time          timestamptz NOT NULL,
    end_time            timestamptz NOT NULL,
    usage_value         numeric(16, 4) NOT NULL CHECK (usage_value > 0),
    relate_pkg_instance text,
    metering_sn         text NOT NULL UNIQUE,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'rejected', 'expired')),
    attempts            integer NOT NULL DEFAULT 0,
    next_at             timestamptz NOT NULL DEFAULT now(),
    last_error          text,
    pushed_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (end_time > begin_time),
    UNIQUE (instance_id, begin_time, end_time, meter)
);
CREATE INDEX usage_pending ON usage_record (next_at, id) WHERE state = 'pending';

-- D9 / MSN-1: hex(SHA256(instance|begin|end[|relate_pkg_instance])), times in
-- yyyyMMdd'T'HHmmss'Z'; a named meter is appended so windows of two meters differ.
CREATE FUNCTION koogate_metering_sn(p_instance text, p_begin timestamptz, p_end timestamptz,
                                    p_pkg text, p_meter text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(
        p_instance || '|' || to_char(p_begin AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')
                   || '|' || to_char(p_end AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')
                   || COALESCE('|' || NULLIF(p_pkg, ''), '')
                   || COALESCE('|meter=' || NULLIF(p_meter, ''), ''), 'UTF8')), 'hex');
$$;

-- Records usage of a pay-per-use instance for one UTC window. The same
-- (instance, window, meter) twice is an error, unless p_correct replaces a
-- value that has not been pushed yet. Returns the metering_sn.
CREATE FUNCTION koogate_usage_add(p_instance text, p_begin timestamptz, p_end timestamptz,
                                  p_value numeric, p_meter text DEFAULT '', p_pkg text DEFAULT NULL,
                                  p_correct boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    sn text;
    existing usage_record;
BEGIN
    IF p_value IS NULL OR p_value <= 0 OR p_value <> round(p_value, 4) THEN
        RAISE EXCEPTION 'usage value must be greater than 0 with at most 4 decimals' USING ERRCODE = '22023';
    END IF;
    IF p_end <= p_begin THEN
        RAISE EXCEPTION 'the window must end after it begins' USING ERRCODE = '22023';
    END IF;
    IF p_begin < now() - interval '21 days' THEN
        RAISE EXCEPTION 'instance %: window % is more than 21 days old; KooGallery refuses it (MKT.9004)',
            p_instance, p_begin USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM instance WHERE instance_id = p_instance) THEN
        RAISE EXCEPTION 'instance % does not exist', p_instance USING ERRCODE = '22023';
    END IF;
    sn := koogate_metering_sn(p_instance, p_begin, p_end, p_pkg, COALESCE(p_meter, ''));
    SELECT * INTO existing FROM usage_record
     WHERE instance_id = p_instance AND begin_time = p_begin AND end_time = p_end
       AND meter = COALESCE(p_meter, '') FOR UPDATE;
    IF FOUND THEN
        IF NOT p_correct THEN
            RAISE EXCEPTION 'instance %: usage for % to % (meter "%") is already recorded; correct it explicitly',
                p_instance, p_begin, p_end, COALESCE(p_meter, '') USING ERRCODE = '23505';
        END IF;
        IF existing.state <> 'pending' THEN
            RAISE EXCEPTION 'instance %: usage for % to % was already %; it cannot be corrected',
                p_instance, p_begin, p_end, existing.state USING ERRCODE = '22023';
        END IF;
        UPDATE usage_record SET usage_value = p_value, relate_pkg_instance = NULLIF(p_pkg, ''),
                                metering_sn = sn, updated_at = now()
         WHERE id = existing.id;
    ELSE
        INSERT INTO usage_record (instance_id, meter, begin_time, end_time, usage_value,
                                  relate_pkg_instance, metering_sn)
        VALUES (p_instance, COALESCE(p_meter, ''), p_begin, p_end, p_value, NULLIF(p_pkg, ''), sn);
    END IF;
    RETURN sn;
END $$;
