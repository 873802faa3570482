-- The caller log (#18): calls out (click-to-dial) beside calls in, who placed them and to what
-- number, and which calls each agent has seen. "All seen" is one moment per agent (calls started
-- before it are seen) rather than a row per call.
ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out'));
ALTER TABLE calls ADD COLUMN dialled_by INTEGER REFERENCES agents (id);
ALTER TABLE calls ADD COLUMN callee_number TEXT;
CREATE INDEX calls_started ON calls (started_at, id);
CREATE INDEX calls_queue_started ON calls (queue_id, started_at, id);
CREATE TABLE call_seen (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  call_id  INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  PRIMARY KEY (agent_id, call_id)
) WITHOUT ROWID;
ALTER TABLE agents ADD COLUMN calls_seen_until TEXT;
