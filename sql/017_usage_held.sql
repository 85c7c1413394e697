-- 017: usage refused for the vendor's configuration is held, not rejected.
-- MKT.0154 (illegal token: a wrong usage_key), MKT.0150/0151 and the API
-- Gateway AK/SK refusals say nothing about the records: they are kept in state
-- 'held' (a person has to fix the configuration) and sent again once it has
-- changed, or when `koogate usage requeue` says so. held_config is the
-- fingerprint of the push configuration they were refused under (a truncated
-- SHA-256, never a key). Records refused for their content stay 'rejected'.

ALTER TABLE usage_record DROP CONSTRAINT usage_record_state_check;
ALTER TABLE usage_record ADD CONSTRAINT usage_record_state_check
    CHECK (state IN ('pending', 'sent', 'rejected', 'expired', 'held'));
ALTER TABLE usage_record ADD COLUMN held_config text;
CREATE INDEX usage_held ON usage_record (id) WHERE state = 'held';
