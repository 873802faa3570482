import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import { NotFoundError } from '../core/errors.js';
import type { NewQueue, QueueStore } from '../core/ports.js';
import type { Access, Queue } from '../core/types.js';
import type { Query, Sql } from './engine.js';
import { param, prepared } from './engine.js';
import type { Schema } from './schema.js';

/** A queue's row, as the schema (schema.ts) has it. */
type QueueRow = Selectable<Schema['queues']>;

const toQueue = (r: QueueRow): Queue => ({
  id: r.id,
  name: r.name,
  email: r.email,
  dialTarget: r.dial_target,
  asteriskQueue: r.asterisk_queue,
  isDefault: r.is_default === 1,
  reopenPolicy: r.reopen_policy,
  autoReply: r.auto_reply ? (JSON.parse(r.auto_reply) as Record<string, string>) : null,
  signature: r.signature,
  voicemailAfterSeconds: r.voicemail_after_seconds,
  openHours: r.open_hours,
  holidays: r.holidays ? (JSON.parse(r.holidays) as string[]) : [],
  createdAt: r.created_at,
});

const COLUMNS = { name: 'name', email: 'email', dialTarget: 'dial_target', asteriskQueue: 'asterisk_queue', isDefault: 'is_default', reopenPolicy: 'reopen_policy', autoReply: 'auto_reply', signature: 'signature', voicemailAfterSeconds: 'voicemail_after_seconds', openHours: 'open_hours', holidays: 'holidays' } as const;

/** {@link QueueStore} on either engine, including agent ↔ queue permissions. */
export function createQueueRepository(db: Sql): QueueStore {
  const { q } = db;
  const one = async (query: Query<QueueRow>): Promise<Queue | null> => {
    const row = await db.first(query);
    return row ? toQueue(row) : null;
  };
  const queues = () => q.selectFrom('queues').selectAll();
  // The call path's questions, built once.
  const byId = prepared<QueueRow, { id: number }>(db, () => queues().where('id', '=', param('id')));
  const byDefault = prepared<QueueRow, Record<string, never>>(db, () => queues().where('is_default', '=', 1));
  const accessOf = prepared<{ access: Access | null }, { agentId: number; queueId: number }>(
    db,
    () => sql<{ access: Access | null }>`SELECT CASE WHEN a.role = 'admin' THEN 'rw' ELSE p.access END AS access
      FROM agents a LEFT JOIN queue_permissions p ON p.agent_id = a.id AND p.queue_id = ${param('queueId')}
      WHERE a.id = ${param('agentId')} AND a.active = 1 AND EXISTS (SELECT 1 FROM queues WHERE id = ${param('queueId')})`,
  );
  const visibleTo = prepared<QueueRow & { access: Access }, { agentId: number }>(
    db,
    () => sql<QueueRow & { access: Access }>`SELECT q.*, CASE WHEN a.role = 'admin' THEN 'rw' ELSE p.access END AS access
      FROM queues q JOIN agents a ON a.id = ${param('agentId')} AND a.active = 1
      LEFT JOIN queue_permissions p ON p.queue_id = q.id AND p.agent_id = a.id
      WHERE a.role = 'admin' OR p.access IS NOT NULL ORDER BY q.name`,
  );
  // At most one default queue (a unique index): the old one stops being it in the same transaction.
  const clearDefault = (tx: Sql) => tx.run(q.updateTable('queues').set({ is_default: 0 }).where('is_default', '=', 1));
  return {
    create: (queue, now) =>
      db.transaction(async (tx) => {
        if (queue.isDefault) await clearDefault(tx);
        const [row] = await tx.all(
          q
            .insertInto('queues')
            .values({
              name: queue.name,
              email: queue.email ?? null,
              dial_target: queue.dialTarget ?? null,
              asterisk_queue: queue.asteriskQueue ?? null,
              is_default: queue.isDefault ? 1 : 0,
              reopen_policy: queue.reopenPolicy ?? 'reopen',
              auto_reply: queue.autoReply ? JSON.stringify(queue.autoReply) : null,
              signature: queue.signature ?? null,
              voicemail_after_seconds: queue.voicemailAfterSeconds ?? null,
              open_hours: queue.openHours ?? null,
              holidays: queue.holidays?.length ? JSON.stringify(queue.holidays) : null,
              created_at: now,
            })
            .returningAll(),
        );
        return toQueue(row!);
      }),
    findById: (id) => one(byId({ id })),
    findByName: (name) => one(queues().where('name', '=', name)),
    findByEmail: (email) => one(queues().where('email', '=', email)),
    findDefault: () => one(byDefault({})),
    list: async () => (await db.all(queues().orderBy('name'))).map(toQueue),
    update: (id, change) =>
      db.transaction(async (tx) => {
        const values: Record<string, unknown> = {};
        for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof NewQueue, string]>) {
          const value = change[key];
          if (value !== undefined) values[column] = value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
        }
        if (change.isDefault) await clearDefault(tx);
        const [row] = Object.keys(values).length
          ? await tx.all(q.updateTable('queues').set(values).where('id', '=', id).returningAll())
          : await tx.all(queues().where('id', '=', id));
        if (!row) throw new NotFoundError(`no queue with id ${id}`);
        return toQueue(row);
      }),
    async access(agentId, queueId) {
      const row = await db.first(accessOf({ agentId, queueId }));
      return row?.access ?? null;
    },
    async setAccess(agentId, queueId, level) {
      if (level === null) await db.run(q.deleteFrom('queue_permissions').where('agent_id', '=', agentId).where('queue_id', '=', queueId));
      else {
        await db.run(
          q
            .insertInto('queue_permissions')
            .values({ agent_id: agentId, queue_id: queueId, access: level })
            .onConflict((c) => c.columns(['agent_id', 'queue_id']).doUpdateSet({ access: (e) => e.ref('excluded.access') })),
        );
      }
    },
    // Active agents who may see at least one of the queues (admins see all), in one query.
    async agentsSeeing(queueIds) {
      if (queueIds.length === 0) return [];
      const rows = await db.all(
        q
          .selectFrom('agents as a')
          .select('a.id')
          .where('a.active', '=', 1)
          .where((e) => e.or([e('a.role', '=', 'admin'), e.exists(e.selectFrom('queue_permissions as p').select('p.agent_id').whereRef('p.agent_id', '=', 'a.id').where('p.queue_id', 'in', queueIds))]))
          .orderBy('a.name')
          .orderBy('a.id'),
      );
      return rows.map((r) => r.id);
    },
    async visible(agentId) {
      const rows = await db.all(visibleTo({ agentId }));
      return rows.map((r) => ({ ...toQueue(r), access: r.access }));
    },
  };
}
