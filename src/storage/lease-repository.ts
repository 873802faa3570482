import type { Database } from 'better-sqlite3';
import type { LeaseStore } from '../core/ports.js';

/** SQLite implementation of {@link LeaseStore}: one statement each, so two instances cannot both take a lease. */
export function createLeaseRepository(db: Database): LeaseStore {
  // The row comes back only when the insert or the update happened: the lease is the holder's now.
  const take = db.prepare(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= @now
     RETURNING holder`,
  );
  const release = db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?');
  const live = db.prepare("SELECT name, holder, expires_at AS expiresAt FROM leases WHERE substr(name, 1, length(@prefix)) = @prefix AND expires_at > @now ORDER BY name");
  return {
    take: async (name, holder, now, expiresAt) => take.all({ name, holder, now, expiresAt }).length > 0,
    release: async (name, holder) => {
      release.run(name, holder);
    },
    live: async (prefix, now) => live.all({ prefix, now }) as Array<{ name: string; holder: string; expiresAt: number }>,
  };
}
