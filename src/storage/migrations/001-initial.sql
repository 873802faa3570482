-- Hotline schema, version 1. Times are ISO 8601 UTC text; booleans are 0/1.

CREATE TABLE agents (
  id               INTEGER PRIMARY KEY,
  login            TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name             TEXT NOT NULL,
  email            TEXT,
  password_hash    TEXT NOT NULL,
  role             TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'admin')),
  dial_string      TEXT,            -- what Asterisk dials, e.g. PJSIP/201
  device_interface TEXT,            -- device state watched for availability, e.g. PJSIP/201
  language         TEXT NOT NULL DEFAULT 'en',
  active           INTEGER NOT NULL DEFAULT 1,
  away             INTEGER NOT NULL DEFAULT 0,
  created_at       TEXT NOT NULL
);

CREATE TABLE queues (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE COLLATE NOCASE,
  email          TEXT UNIQUE COLLATE NOCASE,
  dial_target    TEXT,              -- the queue -> extension map entry
  asterisk_queue TEXT,              -- queues.conf name
  is_default     INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL
);
-- At most one default queue.
CREATE UNIQUE INDEX queues_one_default ON queues (is_default) WHERE is_default = 1;

CREATE TABLE queue_permissions (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
  access   TEXT NOT NULL CHECK (access IN ('ro', 'rw')),
  PRIMARY KEY (agent_id, queue_id)
) WITHOUT ROWID;

CREATE TABLE customers (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  language   TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE customer_emails (
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  email       TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE INDEX customer_emails_customer ON customer_emails (customer_id);

CREATE TABLE customer_phones (
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  phone       TEXT NOT NULL,        -- normalised (E.164 where possible)
  PRIMARY KEY (phone, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);

CREATE TABLE tickets (
  id          INTEGER PRIMARY KEY,
  ttn         TEXT NOT NULL UNIQUE,
  title       TEXT NOT NULL,
  queue_id    INTEGER NOT NULL REFERENCES queues (id),
  state       TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'open', 'pending', 'closed')),
  priority    INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  owner_id    INTEGER REFERENCES agents (id),
  customer_id INTEGER REFERENCES customers (id),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  closed_at   TEXT
);
CREATE INDEX tickets_queue_state ON tickets (queue_id, state);
CREATE INDEX tickets_owner ON tickets (owner_id);
CREATE INDEX tickets_customer ON tickets (customer_id);

CREATE TABLE articles (
  id              INTEGER PRIMARY KEY,
  ticket_id       INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('email-in', 'email-out', 'phone', 'note', 'call')),
  from_addr       TEXT,
  to_addr         TEXT,
  subject         TEXT,
  body_text       TEXT NOT NULL DEFAULT '',
  body_html       TEXT,              -- sanitised; raw HTML from senders is never stored here
  message_id      TEXT,
  in_reply_to     TEXT,
  author_agent_id INTEGER REFERENCES agents (id),
  created_at      TEXT NOT NULL
);
CREATE INDEX articles_ticket ON articles (ticket_id, id);
CREATE INDEX articles_message_id ON articles (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE attachments (
  id           INTEGER PRIMARY KEY,
  article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  sha256       TEXT NOT NULL,
  content_id   TEXT,                 -- for inline images referenced as cid:
  content      BLOB NOT NULL
);
CREATE INDEX attachments_article ON attachments (article_id);

CREATE TABLE calls (
  id            INTEGER PRIMARY KEY,
  channel_id    TEXT NOT NULL UNIQUE, -- ARI channel id = AMI Uniqueid
  linked_id     TEXT,
  caller_number TEXT,
  caller_name   TEXT,
  digits        TEXT NOT NULL DEFAULT '',
  ticket_id     INTEGER REFERENCES tickets (id),
  route         TEXT,                 -- agent | queue | default
  target        TEXT,
  queue_id      INTEGER REFERENCES queues (id),
  agents_rung   TEXT NOT NULL DEFAULT '[]', -- JSON array of agent ids
  answered_by   INTEGER REFERENCES agents (id),
  unverified    INTEGER NOT NULL DEFAULT 0,
  outcome       TEXT,                 -- answered | abandoned | fallback | operator
  started_at    TEXT NOT NULL,
  ivr_done_at   TEXT,
  answered_at   TEXT,
  ended_at      TEXT
);
CREATE INDEX calls_ticket ON calls (ticket_id);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL               -- JSON
) WITHOUT ROWID;

CREATE TABLE ttn_counters (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
