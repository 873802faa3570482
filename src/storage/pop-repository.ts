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
    // Most calls have no dismissal: a read (no write lock, beside the call path's writes) decides.
    async restore(agentId, callId) {
      if (await db.first(q.selectFrom('pop_dismissals').select('call_id').where('agent_id', '=', agentId).where('call_id', '=', callId))) {
        await db.run(q.deleteFrom('pop_dismissals').where('agent_id', '=', agentId).where('call_id', '=', callId));
      }
    },
    async forget(callId) {
      if (await db.first(anyFor({ callId }))) await db.run(q.deleteFrom('pop_dismissals').where('call_id', '=', callId));
    },
  };
}
