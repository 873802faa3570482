import { sql } from 'kysely';
import type { PopStateStore } from '../core/ports.js';
import type { Sql } from './engine.js';
import { param, prepared } from './engine.js';
import type { CallRow } from './call-repository.js';
import { rung, toCall } from './call-repository.js';

/**
 * {@link PopStateStore} on either engine: which running calls an agent was rung for or answered
 * (whichever instance took them), and which of their pops the agent dismissed.
 */
export function createPopStateRepository(db: Sql): PopStateStore {
  const { q } = db;
  // Asked for every page socket that connects and every call that ends: built once.
  const running = prepared<CallRow, { agentId: number }>(
    db,
    () => sql<CallRow>`SELECT * FROM calls c WHERE ended_at IS NULL AND direction = 'in' AND (answered_by = ${param('agentId')} OR ${rung(db, param('agentId'))}) ORDER BY id`,
  );
  const dismissedBy = prepared<{ call_id: number }, { agentId: number }>(db, () => q.selectFrom('pop_dismissals').select('call_id').where('agent_id', '=', param('agentId')));
  const anyFor = prepared<{ call_id: number }, { callId: number }>(db, () => q.selectFrom('pop_dismissals').select('call_id').where('call_id', '=', param('callId')).limit(1));
  return {
    runningCallsOf: async (agentId) => (await db.all(running({ agentId }))).map(toCall),
    dismissed: async (agentId) => new Set((await db.all(dismissedBy({ agentId }))).map((r) => r.call_id)),
    async dismiss(agentId, callIds) {
      for (const callId of callIds) {
        await db.run(
          q
            .insertInto('pop_dismissals')
            .columns(['agent_id', 'call_id'])
            .expression(q.selectFrom('calls').select([sql<number>`cast(${agentId} AS integer)`.as('agent_id'), 'id']).where('id', '=', callId).where('ended_at', 'is', null))
            .onConflict((c) => c.doNothing()),
        );
      }
    },
    // Most calls have no dismissal. On SQLite a read (no write lock, beside the call path's writes)
    // decides whether to delete; on PostgreSQL a delete that finds nothing locks nothing, and the read
    // would be a round trip more.
    async restore(agentId, callId) {
      const one = q.deleteFrom('pop_dismissals').where('agent_id', '=', agentId).where('call_id', '=', callId);
      if (db.dialect === 'postgres') await db.run(one);
      else if (await db.first(q.selectFrom('pop_dismissals').select('call_id').where('agent_id', '=', agentId).where('call_id', '=', callId))) await db.run(one);
    },
    async forget(callId) {
      const all = q.deleteFrom('pop_dismissals').where('call_id', '=', callId);
      if (db.dialect === 'postgres') await db.run(all);
      else if (await db.first(anyFor({ callId }))) await db.run(all);
    },
  };
}
