-- 020: `koogate worker` starts from "now" on its first start (history is not
-- replayed unless asked), and an event it acknowledged without running
-- anything (no command for its kind, test traffic, before the first start)
-- says so in `skipped` instead of posing as an error in last_error.
CREATE TABLE worker_state (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    started_at  timestamptz NOT NULL DEFAULT now(),  -- the first start
    from_id     bigint NOT NULL                      -- events with id <= from_id were history then
);
ALTER TABLE event ADD COLUMN skipped text;
-- Rows written before this migration by the worker: the same meaning.
UPDATE event SET skipped = last_error, last_error = NULL
 WHERE delivered_at IS NOT NULL
   AND last_error IN ('no command configured for this kind', 'test event: not provisioned (D19)');
