-- Several Hotline instances on one database (#19): leases name who does a piece of background work
-- (the outbox, the IMAP poller …) and which instances are alive (`instance:<id>`), each until its
-- expiry (ms since the epoch); a call records the instance that took it, so that another adopts it
-- when that instance dies.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
ALTER TABLE calls ADD COLUMN instance TEXT;
CREATE INDEX calls_open ON calls (instance) WHERE ended_at IS NULL;
