-- The bytes of a raw message in a table of their own: marking a message processed (a few
-- columns) no longer rewrites its bytes, which can run to megabytes.
CREATE TABLE raw_message_contents (
  id  INTEGER PRIMARY KEY REFERENCES raw_messages (id),
  raw BLOB NOT NULL
);
INSERT INTO raw_message_contents (id, raw) SELECT id, raw FROM raw_messages;
ALTER TABLE raw_messages DROP COLUMN raw;
