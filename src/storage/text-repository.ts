import type { Sql } from './engine.js';

/** The texts admins reworded, per language and key (see src/i18n), on either engine. */
export function createTextOverrideRepository(db: Sql) {
  const { q } = db;
  return {
    all: (): Promise<Array<{ lang: string; key: string; text: string }>> => db.all(q.selectFrom('text_overrides').select(['lang', 'key', 'text']).orderBy('lang').orderBy('key')),
    /** Sets a key's wording; an empty text goes back to the shipped one. */
    async save(lang: string, key: string, text: string, now: string): Promise<void> {
      if (text) {
        await db.run(
          q
            .insertInto('text_overrides')
            .values({ lang, key, text, updated_at: now })
            .onConflict((c) => c.columns(['lang', 'key']).doUpdateSet({ text: (e) => e.ref('excluded.text'), updated_at: (e) => e.ref('excluded.updated_at') })),
        );
      } else await db.run(q.deleteFrom('text_overrides').where('lang', '=', lang).where('key', '=', key));
    },
  };
}
