-- Every change of a ticket — created, state, owner, queue, priority, title, links — with who made it
-- and how, written in the same transaction as the change itself (ticket-repository.ts). Values are
-- kept as they were (ids), with their names at the time (labels), so a later rename does not
-- rewrite history.
CREATE TABLE ticket_history (
  id        INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  at        TEXT NOT NULL,
  -- agent: an agent on a page or the API; mail, phone, reminder, system: Hotline itself.
  via       TEXT NOT NULL CHECK (via IN ('agent', 'mail', 'phone', 'reminder', 'system')),
  agent_id  INTEGER REFERENCES agents (id) ON DELETE SET NULL,
  field     TEXT NOT NULL CHECK (field IN ('created', 'state', 'owner', 'queue', 'priority', 'title', 'link', 'linked-from', 'customer', 'pending-until')),
  old_value TEXT,
  new_value TEXT,
  old_label TEXT,
  new_label TEXT
);
CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);

-- "Pending until": a pending ticket with a reminder comes back (state open, the owner told) at this
-- time. The partial index holds only the tickets waiting for one.
ALTER TABLE tickets ADD COLUMN pending_until TEXT;
CREATE INDEX tickets_pending_until ON tickets (pending_until) WHERE pending_until IS NOT NULL;
