import { sql } from 'kysely';
import type { CounterStore, SettingsStore } from '../core/ports.js';
import type { Sql } from './engine.js';
import { param, prepared } from './engine.js';

/** {@link SettingsStore} on either engine: JSON values by key. */
export function createSettingsRepository(db: Sql): SettingsStore {
  const { q } = db;
  const byKey = prepared<{ value: string }, { key: string }>(db, () => q.selectFrom('settings').select('value').where('key', '=', param('key')));
  return {
    async get<T>(key: string) {
      const row = await db.first(byKey({ key }));
      return row === undefined ? undefined : (JSON.parse(row.value) as T);
    },
    async set(key, value) {
      await db.run(
        q
          .insertInto('settings')
          .values({ key, value: JSON.stringify(value) })
          .onConflict((c) => c.column('key').doUpdateSet({ value: (e) => e.ref('excluded.value') })),
      );
    },
  };
}

/** {@link CounterStore} on either engine: one statement, so atomic across processes and instances. */
export function createCounterRepository(db: Sql): CounterStore {
  const { q } = db;
  return {
    async next(key) {
      const [row] = await db.all(
        q
          .insertInto('ttn_counters')
          .values({ key, value: 1 })
          .onConflict((c) => c.column('key').doUpdateSet({ value: sql`ttn_counters.value + 1` }))
          .returning('value'),
      );
      return row!.value;
    },
  };
}
