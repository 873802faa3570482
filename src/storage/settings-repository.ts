import type { Database } from 'better-sqlite3';
import type { CounterStore, SettingsStore } from '../core/ports.js';

/** SQLite implementation of {@link SettingsStore}: JSON values by key. */
export function createSettingsRepository(db: Database): SettingsStore {
  const get = db.prepare('SELECT value FROM settings WHERE key = ?').pluck();
  const set = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  return {
    async get<T>(key: string) {
      const value = get.get(key) as string | undefined;
      return value === undefined ? undefined : (JSON.parse(value) as T);
    },
    async set(key, value) {
      set.run(key, JSON.stringify(value));
    },
  };
}

/** SQLite implementation of {@link CounterStore}: one statement, so atomic across processes sharing the file. */
export function createCounterRepository(db: Database): CounterStore {
  const next = db
    .prepare('INSERT INTO ttn_counters (key, value) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value')
    .pluck();
  return {
    async next(key) {
      return next.all(key)[0] as number;
    },
  };
}
