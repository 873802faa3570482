-- The e-mail channel: raw messages stored before they are acknowledged, the outbox, and
-- what follow-up matching and bounces need on articles and queues.

CREATE TABLE raw_messages (
  id             INTEGER PRIMARY KEY,
  source         TEXT NOT NULL,                -- smtp | pipe | imap | test
  envelope_from  TEXT,
  envelope_to    TEXT NOT NULL DEFAULT '[]',   -- JSON array
  message_id     TEXT,
  sha256         TEXT NOT NULL UNIQUE,
  size           INTEGER NOT NULL,
  raw            BLOB NOT NULL,
  -- new: stored, not yet processed; done: became a ticket/follow-up/bounce; failed: kept and flagged
  status         TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done', 'failed', 'duplicate')),
  outcome        TEXT,                         -- ticket | follow-up | bounce | duplicate | (failure reason)
  error          TEXT,
  ticket_id      INTEGER REFERENCES tickets (id),
  received_at    TEXT NOT NULL,
  processed_at   TEXT
);
CREATE INDEX raw_messages_status ON raw_messages (status);
CREATE INDEX raw_messages_message_id ON raw_messages (message_id) WHERE message_id IS NOT NULL;

ALTER TABLE articles ADD COLUMN references_header TEXT;
-- For outgoing mail: sent | failed (bounced or gave up); NULL for everything else.
ALTER TABLE articles ADD COLUMN delivery_status TEXT;
ALTER TABLE articles ADD COLUMN raw_message_id INTEGER REFERENCES raw_messages (id);

-- A follow-up to a closed ticket: reopen it, or open a new ticket linked to the old one.
ALTER TABLE queues ADD COLUMN reopen_policy TEXT NOT NULL DEFAULT 'reopen' CHECK (reopen_policy IN ('reopen', 'new-ticket'));
-- Auto-reply text per language, JSON {"en": "...", "de": "..."}; NULL = the built-in text.
ALTER TABLE queues ADD COLUMN auto_reply TEXT;
ALTER TABLE tickets ADD COLUMN linked_ticket_id INTEGER REFERENCES tickets (id);

CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  article_id      INTEGER REFERENCES articles (id),
  kind            TEXT NOT NULL CHECK (kind IN ('auto-reply', 'agent-reply')),
  envelope_from   TEXT NOT NULL,
  envelope_to     TEXT NOT NULL,               -- JSON array
  message_id      TEXT NOT NULL,
  raw             BLOB NOT NULL,               -- the complete message, built once at enqueue
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT,
  created_at      TEXT NOT NULL,
  sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (kind, envelope_to, created_at);
