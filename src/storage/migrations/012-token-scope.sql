-- API tokens may be read-only and may expire.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'rw' CHECK (scope IN ('rw', 'ro'));
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
