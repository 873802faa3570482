import type { Entry, LoginFailureOps, LoginFailureStore } from '../core/login-limiter.js';
import type { Sql } from './engine.js';

const toEntry = (r: { failures: number; not_before: number; last_at: number }): Entry => ({ failures: r.failures, notBefore: r.not_before, lastAt: r.last_at });

/**
 * {@link LoginFailureStore} on either engine: a try's check and count run in one transaction, so
 * tries sent at once to several processes or instances are counted one after another.
 */
export function createLoginFailureRepository(db: Sql): LoginFailureStore {
  const { q } = db;
  const opsOn = (on: Sql): LoginFailureOps => ({
    get: async (key) => {
      const row = await on.first(q.selectFrom('login_failures').selectAll().where('key', '=', key));
      return row ? toEntry(row) : undefined;
    },
    async set(key, e) {
      await on.run(
        q
          .insertInto('login_failures')
          .values({ key, failures: e.failures, not_before: e.notBefore, last_at: e.lastAt })
          .onConflict((c) => c.column('key').doUpdateSet({ failures: (x) => x.ref('excluded.failures'), not_before: (x) => x.ref('excluded.not_before'), last_at: (x) => x.ref('excluded.last_at') })),
      );
    },
    delete: async (key) => (await on.run(q.deleteFrom('login_failures').where('key', '=', key))) > 0,
  });
  return {
    ...opsOn(db),
    all: async () => (await db.all(q.selectFrom('login_failures').selectAll().orderBy('key'))).map((r) => [r.key, toEntry(r)]),
    async prune(before) {
      await db.run(q.deleteFrom('login_failures').where('last_at', '<', before));
    },
    atomically: (fn) => db.transaction((tx) => fn(opsOn(tx))),
  };
}
