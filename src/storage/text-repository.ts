import type { Database } from 'better-sqlite3';

/** The texts admins reworded, per language and key (see src/i18n). */
export function createTextOverrideRepository(db: Database) {
  const all = db.prepare('SELECT lang, key, text FROM text_overrides ORDER BY lang, key');
  const upsert = db.prepare('INSERT INTO text_overrides (lang, key, text, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (lang, key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at');
  const remove = db.prepare('DELETE FROM text_overrides WHERE lang = ? AND key = ?');
  return {
    all: () => all.all() as Array<{ lang: string; key: string; text: string }>,
    /** Sets a key's wording; an empty text goes back to the shipped one. */
    save(lang: string, key: string, text: string, now: string): void {
      if (text) upsert.run(lang, key, text, now);
      else remove.run(lang, key);
    },
  };
}
