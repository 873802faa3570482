-- German and English (#18): each agent's time zone (empty: the site's, `timeZone`), and the texts
-- admins reworded, per language and key (over those shipped in web/locales).
ALTER TABLE agents ADD COLUMN time_zone TEXT;
CREATE TABLE text_overrides (
  lang       TEXT NOT NULL,
  key        TEXT NOT NULL,
  text       TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (lang, key)
) WITHOUT ROWID;
