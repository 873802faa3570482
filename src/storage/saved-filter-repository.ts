import { sql } from 'kysely';
import type { SavedFilterStore } from '../core/ports.js';
import type { Sql } from './engine.js';

/** {@link SavedFilterStore} on either engine. */
export function createSavedFilterRepository(db: Sql): SavedFilterStore {
  const { q } = db;
  return {
    list: async (agentId) => db.all(q.selectFrom('saved_filters').select(['id', 'name', 'query']).where('agent_id', '=', agentId).orderBy(sql`lower(name)`).orderBy('id')),
    // Saving under a name already taken replaces that filter.
    save: async (agentId, name, query, now) =>
      (
        await db.all(
          q
            .insertInto('saved_filters')
            .values({ agent_id: agentId, name, query, created_at: now })
            .onConflict((c) => c.columns(['agent_id', 'name']).doUpdateSet({ query: (e) => e.ref('excluded.query') }))
            .returning(['id', 'name', 'query']),
        )
      )[0]!,
    remove: async (id, agentId) => (await db.run(q.deleteFrom('saved_filters').where('id', '=', id).where('agent_id', '=', agentId))) > 0,
  };
}
