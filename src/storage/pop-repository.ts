import type { Database } from 'better-sqlite3';
import type { PopStateStore } from '../core/ports.js';
import type { CallRow } from './call-repository.js';
import { RUNG, toCall } from './call-repository.js';

/**
 * SQLite implementation of {@link PopStateStore}: which running calls an agent was rung for or
 * answered (whichever instance took them), and which of their pops the agent dismissed.
 */
export function createPopStateRepository(db: Database): PopStateStore {
  const involving = db.prepare(`SELECT * FROM calls c WHERE ended_at IS NULL AND direction = 'in' AND (answered_by = @agentId OR ${RUNG}) ORDER BY id`);
  const dismissed = db.prepare('SELECT call_id FROM pop_dismissals WHERE agent_id = ?').pluck();
  const dismiss = db.prepare('INSERT INTO pop_dismissals (agent_id, call_id) SELECT @agentId, id FROM calls WHERE id = @callId AND ended_at IS NULL ON CONFLICT DO NOTHING');
  // Most calls have no dismissal: a read (no write lock, beside the call path's writes) decides.
  const dismissedBy = db.prepare('SELECT 1 FROM pop_dismissals WHERE agent_id = ? AND call_id = ?').pluck();
  const anyFor = db.prepare('SELECT 1 FROM pop_dismissals WHERE call_id = ? LIMIT 1').pluck();
  const restore = db.prepare('DELETE FROM pop_dismissals WHERE agent_id = ? AND call_id = ?');
  const forget = db.prepare('DELETE FROM pop_dismissals WHERE call_id = ?');
  return {
    runningCallsOf: async (agentId) => (involving.all({ agentId }) as CallRow[]).map(toCall),
    dismissed: async (agentId) => new Set(dismissed.all(agentId) as number[]),
    async dismiss(agentId, callIds) {
      for (const callId of callIds) dismiss.run({ agentId, callId });
    },
    async restore(agentId, callId) {
      if (dismissedBy.get(agentId, callId)) restore.run(agentId, callId);
    },
    async forget(callId) {
      if (anyFor.get(callId)) forget.run(callId);
    },
  };
}
