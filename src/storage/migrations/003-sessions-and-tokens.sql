-- Browser sessions and API tokens. Only SHA-256 hashes of the secrets are stored,
-- so a copy of the database does not let anyone log in.

CREATE TABLE sessions (
  token_hash  TEXT PRIMARY KEY,
  agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  csrf_token  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_agent ON sessions (agent_id);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  last_used_at TEXT
);
