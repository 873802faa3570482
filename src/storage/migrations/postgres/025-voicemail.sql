-- Voicemail (see the SQLite step of the same number).
ALTER TABLE queues ADD COLUMN voicemail_after_seconds integer;
ALTER TABLE queues ADD COLUMN open_hours text;
ALTER TABLE queues ADD COLUMN holidays text;
ALTER TABLE calls ADD COLUMN voicemail_article_id integer REFERENCES articles (id) ON DELETE SET NULL;
