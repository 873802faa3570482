-- A sender claims a message before sending it (who, and until when), so that two processes
-- sending from the same outbox (`hotline serve` and `hotline ingest` flushing, say) never send
-- the same message. A claim that runs out (its sender died mid-send) makes the message due again.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
