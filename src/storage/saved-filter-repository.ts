import type { Database } from 'better-sqlite3';
import type { SavedFilter, SavedFilterStore } from '../core/ports.js';

/** SQLite implementation of {@link SavedFilterStore}. */
export function createSavedFilterRepository(db: Database): SavedFilterStore {
  const list = db.prepare('SELECT id, name, query FROM saved_filters WHERE agent_id = ? ORDER BY name COLLATE NOCASE, id');
  // Saving under a name already taken replaces that filter.
  const save = db.prepare(
    `INSERT INTO saved_filters (agent_id, name, query, created_at) VALUES (@agentId, @name, @query, @now)
     ON CONFLICT (agent_id, name) DO UPDATE SET query = excluded.query RETURNING id, name, query`,
  );
  const remove = db.prepare('DELETE FROM saved_filters WHERE id = ? AND agent_id = ?');
  return {
    async list(agentId) {
      return list.all(agentId) as SavedFilter[];
    },
    async save(agentId, name, query, now) {
      return save.all({ agentId, name, query, now })[0] as SavedFilter;
    },
    async remove(id, agentId) {
      return remove.run(id, agentId).changes > 0;
    },
  };
}
