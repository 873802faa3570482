-- Notifications (#17): what an agent is told — a ticket assigned to them, their customer's reply, a
-- new ticket in a queue they watch, a reminder that came due — kept until seen, and mailed to
-- agents who asked for that. Written by whichever process made the change; the main process pushes
-- new ones to the agent's sockets.
CREATE TABLE notices (
  id          INTEGER PRIMARY KEY,
  agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  kind        TEXT NOT NULL CHECK (kind IN ('assigned', 'customer-reply', 'new-ticket', 'reminder')),
  ticket_id   INTEGER REFERENCES tickets (id) ON DELETE CASCADE,
  text        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  seen_at     TEXT,
  mail_wanted INTEGER NOT NULL DEFAULT 0,
  mailed_at   TEXT
);
CREATE INDEX notices_agent ON notices (agent_id, id);
CREATE INDEX notices_unseen ON notices (agent_id, ticket_id) WHERE seen_at IS NULL;
CREATE INDEX notices_to_mail ON notices (id) WHERE mail_wanted = 1 AND mailed_at IS NULL;

-- An agent's choices: notices by e-mail too, and which queues' new tickets they are told of.
ALTER TABLE agents ADD COLUMN notify_by_email INTEGER NOT NULL DEFAULT 0;
CREATE TABLE queue_watchers (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
  PRIMARY KEY (queue_id, agent_id)
) WITHOUT ROWID;

-- Notices go out through the outbox too: its kinds are a CHECK, which SQLite changes only by
-- building the table anew.
CREATE TABLE outbox_new (
  id              INTEGER PRIMARY KEY,
  article_id      INTEGER REFERENCES articles (id),
  kind            TEXT NOT NULL CHECK (kind IN ('auto-reply', 'agent-reply', 'notice')),
  envelope_from   TEXT NOT NULL,
  envelope_to     TEXT NOT NULL,               -- JSON array
  message_id      TEXT NOT NULL,
  raw             BLOB NOT NULL,               -- the complete message, built once at enqueue
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  sent_at         TEXT,
  claimed_by      TEXT,
  claimed_until   TEXT
);
INSERT INTO outbox_new (id, article_id, kind, envelope_from, envelope_to, message_id, raw, status, attempts, next_attempt_at, last_error, created_at, sent_at, claimed_by, claimed_until)
  SELECT id, article_id, kind, envelope_from, envelope_to, message_id, raw, status, attempts, next_attempt_at, last_error, created_at, sent_at, claimed_by, claimed_until FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (kind, envelope_to, created_at);
CREATE INDEX outbox_article ON outbox (article_id);
