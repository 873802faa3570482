import type { Database } from 'better-sqlite3';
import type { Entry, LoginFailureStore } from '../core/login-limiter.js';

interface Row {
  key: string;
  failures: number;
  not_before: number;
  last_at: number;
}
const toEntry = (r: Row): Entry => ({ failures: r.failures, notBefore: r.not_before, lastAt: r.last_at });

/**
 * SQLite implementation of {@link LoginFailureStore}: a try's check and count run in one IMMEDIATE
 * transaction, so tries sent at once to several processes or instances are counted one after another.
 */
export function createLoginFailureRepository(db: Database): LoginFailureStore {
  const get = db.prepare('SELECT * FROM login_failures WHERE key = ?');
  const set = db.prepare(
    'INSERT INTO login_failures (key, failures, not_before, last_at) VALUES (@key, @failures, @notBefore, @lastAt) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, not_before = excluded.not_before, last_at = excluded.last_at',
  );
  const remove = db.prepare('DELETE FROM login_failures WHERE key = ?');
  const all = db.prepare('SELECT * FROM login_failures ORDER BY key');
  const prune = db.prepare('DELETE FROM login_failures WHERE last_at < ?');
  return {
    get: (key) => {
      const row = get.get(key) as Row | undefined;
      return row ? toEntry(row) : undefined;
    },
    set: (key, entry) => void set.run({ key, ...entry }),
    delete: (key) => remove.run(key).changes > 0,
    all: () => (all.all() as Row[]).map((r) => [r.key, toEntry(r)]),
    prune: (before) => void prune.run(before),
    atomically: <T>(fn: () => T): T => db.transaction(fn).immediate(),
  };
}
