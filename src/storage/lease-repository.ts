import { sql } from 'kysely';
import type { LeaseStore } from '../core/ports.js';
import type { Sql } from './engine.js';

/** {@link LeaseStore} on either engine: one statement each, so two instances cannot both take a lease. */
export function createLeaseRepository(db: Sql): LeaseStore {
  const { q } = db;
  return {
    // The row comes back only when the insert or the update happened: the lease is the holder's now.
    take: async (name, holder, now, expiresAt) =>
      (
        await db.all(
          q
            .insertInto('leases')
            .values({ name, holder, expires_at: expiresAt })
            .onConflict((c) =>
              c
                .column('name')
                .doUpdateSet({ holder: (e) => e.ref('excluded.holder'), expires_at: (e) => e.ref('excluded.expires_at') })
                .where((e) => e.or([e('leases.holder', '=', e.ref('excluded.holder')), e('leases.expires_at', '<=', now)])),
            )
            .returning('holder'),
        )
      ).length > 0,
    release: async (name, holder) => {
      await db.run(q.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder));
    },
    live: async (prefix, now) =>
      db.all(
        q
          .selectFrom('leases')
          .select(['name', 'holder', 'expires_at as expiresAt'])
          .where(sql<string>`substr(name, 1, ${prefix.length})`, '=', prefix)
          .where('expires_at', '>', now)
          .orderBy('name'),
      ),
  };
}
