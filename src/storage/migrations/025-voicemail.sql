-- Voicemail (#20): a queue may take a message when nobody answers within a set time, and outside its
-- business hours (site time zone) or on its holidays; a call keeps the article its message became.
ALTER TABLE queues ADD COLUMN voicemail_after_seconds INTEGER;
ALTER TABLE queues ADD COLUMN open_hours TEXT;
ALTER TABLE queues ADD COLUMN holidays TEXT;
ALTER TABLE calls ADD COLUMN voicemail_article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL;
