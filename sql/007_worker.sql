-- 007: delivery bookkeeping for `koogate worker`: when an undelivered event
-- may be tried next (a lease while a worker holds it, back-off after a failure).
ALTER TABLE event ADD COLUMN next_at timestamptz NOT NULL DEFAULT now();
DROP INDEX event_undelivered;
CREATE INDEX event_due ON event (next_at, id) WHERE delivered_at IS NULL;
