import type { ExpressionBuilder } from 'kysely';
import { sql } from 'kysely';
import type { Schema } from './schema.js';
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
  // A dismissal counts while its call runs, unless the agent answered the call after dismissing it
  // (the agent talks to the caller: the pop is theirs again). Nothing is written on an answer.
  const dismissedBy = prepared<{ call_id: number }, { agentId: number }>(
    db,
    () => sql<{ call_id: number }>`SELECT d.call_id FROM pop_dismissals d JOIN calls c ON c.id = d.call_id
      WHERE d.agent_id = ${param('agentId')} AND c.ended_at IS NULL
        AND NOT (c.answered_by IS NOT NULL AND c.answered_by = d.agent_id AND (d.dismissed_at IS NULL OR c.answered_at IS NULL OR d.dismissed_at < c.answered_at))`,
  );
  // The dismissal's call has ended.
  const ofEndedCall = (eb: ExpressionBuilder<Schema, 'pop_dismissals'>) => eb.exists(eb.selectFrom('calls').select('id').whereRef('calls.id', '=', 'pop_dismissals.call_id').where('ended_at', 'is not', null));
  const anyEnded = prepared<{ call_id: number }, Record<string, never>>(db, () => q.selectFrom('pop_dismissals').select('call_id').where(ofEndedCall).limit(1));
  return {
    runningCallsOf: async (agentId) => (await db.all(running({ agentId }))).map(toCall),
    dismissed: async (agentId) => new Set((await db.all(dismissedBy({ agentId }))).map((r) => r.call_id)),
    async dismiss(agentId, callIds, at) {
      for (const callId of callIds) {
        await db.run(
          q
            .insertInto('pop_dismissals')
            .columns(['agent_id', 'call_id', 'dismissed_at'])
            .expression(
              q.selectFrom('calls').select([sql<number>`cast(${agentId} AS integer)`.as('agent_id'), 'id', sql<string>`cast(${at} AS text)`.as('dismissed_at')]).where('id', '=', callId).where('ended_at', 'is', null),
            )
            // Dismissed again (after answering): the later time counts.
            .onConflict((c) => c.columns(['agent_id', 'call_id']).doUpdateSet({ dismissed_at: (eb) => eb.ref('excluded.dismissed_at') })),
        );
      }
    },
    // Not on a call's way: a read first (on SQLite no write lock beside the call path's writes), then
    // one delete for all ended calls' dismissals.
    async sweep() {
      if (!(await db.first(anyEnded({})))) return 0;
      return db.run(q.deleteFrom('pop_dismissals').where(ofEndedCall));
    },
  };
}
