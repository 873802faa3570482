-- Replying like a helpdesk (#17): Cc kept apart from To (reply-all answers both), a signature per
-- queue, canned answers managed by admins (for one queue, or every queue when queue_id is NULL),
-- and files an agent attached to a reply not sent yet (kept per agent and ticket, not per session,
-- so a login in between loses none of them).
ALTER TABLE articles ADD COLUMN cc_addr TEXT;
ALTER TABLE queues ADD COLUMN signature TEXT;

CREATE TABLE canned_answers (
  id         INTEGER PRIMARY KEY,
  queue_id   INTEGER REFERENCES queues (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX canned_answers_queue ON canned_answers (queue_id, name);

CREATE TABLE draft_attachments (
  id           INTEGER PRIMARY KEY,
  agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  ticket_id    INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  content      BLOB NOT NULL,
  created_at   TEXT NOT NULL
);
CREATE INDEX draft_attachments_owner ON draft_attachments (agent_id, ticket_id, id);
CREATE INDEX draft_attachments_age ON draft_attachments (created_at);
