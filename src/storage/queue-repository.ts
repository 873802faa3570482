import type { Database } from 'better-sqlite3';
import { NotFoundError } from '../core/errors.js';
import type { NewQueue, QueueStore } from '../core/ports.js';
import type { Access, Queue } from '../core/types.js';
import { createStatementCache } from './statement-cache.js';

interface QueueRow {
  id: number;
  name: string;
  email: string | null;
  dial_target: string | null;
  asterisk_queue: string | null;
  is_default: number;
  reopen_policy: Queue['reopenPolicy'];
  auto_reply: string | null;
  signature: string | null;
  created_at: string;
}

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
  createdAt: r.created_at,
});

/** SQLite implementation of {@link QueueStore}, including agent ↔ queue permissions. */
export function createQueueRepository(db: Database): QueueStore {
  const statement = createStatementCache(db);
  const insert = db.prepare(
    `INSERT INTO queues (name, email, dial_target, asterisk_queue, is_default, reopen_policy, auto_reply, signature, created_at)
     VALUES (@name, @email, @dialTarget, @asteriskQueue, @isDefault, @reopenPolicy, @autoReply, @signature, @now) RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM queues WHERE id = ?');
  const byName = db.prepare('SELECT * FROM queues WHERE name = ?');
  const byEmail = db.prepare('SELECT * FROM queues WHERE email = ?');
  const byDefault = db.prepare('SELECT * FROM queues WHERE is_default = 1');
  const all = db.prepare('SELECT * FROM queues ORDER BY name');
  const clearDefault = db.prepare('UPDATE queues SET is_default = 0 WHERE is_default = 1');
  const access = db
    .prepare(
      `SELECT CASE WHEN a.role = 'admin' THEN 'rw' ELSE p.access END
       FROM agents a LEFT JOIN queue_permissions p ON p.agent_id = a.id AND p.queue_id = @queueId
       WHERE a.id = @agentId AND a.active = 1 AND EXISTS (SELECT 1 FROM queues WHERE id = @queueId)`,
    )
    .pluck();
  const upsertAccess = db.prepare(
    `INSERT INTO queue_permissions (agent_id, queue_id, access) VALUES (?, ?, ?)
     ON CONFLICT (agent_id, queue_id) DO UPDATE SET access = excluded.access`,
  );
  const deleteAccess = db.prepare('DELETE FROM queue_permissions WHERE agent_id = ? AND queue_id = ?');
  const visible = db.prepare(
    `SELECT q.*, CASE WHEN a.role = 'admin' THEN 'rw' ELSE p.access END AS access
     FROM queues q JOIN agents a ON a.id = @agentId AND a.active = 1
     LEFT JOIN queue_permissions p ON p.queue_id = q.id AND p.agent_id = a.id
     WHERE a.role = 'admin' OR p.access IS NOT NULL ORDER BY q.name`,
  );

  const create = db.transaction((q: NewQueue, now: string) => {
    if (q.isDefault) clearDefault.run();
    return toQueue(
      insert.all({
        name: q.name,
        email: q.email ?? null,
        dialTarget: q.dialTarget ?? null,
        asteriskQueue: q.asteriskQueue ?? null,
        isDefault: q.isDefault ? 1 : 0,
        reopenPolicy: q.reopenPolicy ?? 'reopen',
        autoReply: q.autoReply ? JSON.stringify(q.autoReply) : null,
        signature: q.signature ?? null,
        now,
      })[0] as QueueRow,
    );
  });

  const update = db.transaction((id: number, change: Partial<NewQueue>) => {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id };
    const columns = { name: 'name', email: 'email', dialTarget: 'dial_target', asteriskQueue: 'asterisk_queue', isDefault: 'is_default', reopenPolicy: 'reopen_policy', autoReply: 'auto_reply', signature: 'signature' } as const;
    for (const [key, column] of Object.entries(columns) as Array<[keyof NewQueue, string]>) {
      const value = change[key];
      if (value !== undefined) {
        sets.push(`${column} = @${key}`);
        params[key] = typeof value === 'boolean' ? Number(value) : value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
      }
    }
    if (change.isDefault) clearDefault.run();
    const row = (sets.length ? db.prepare(`UPDATE queues SET ${sets.join(', ')} WHERE id = @id RETURNING *`).all(params)[0] : byId.get(id)) as
      | QueueRow
      | undefined;
    if (!row) throw new NotFoundError(`no queue with id ${id}`);
    return toQueue(row);
  });

  const one = (row: unknown) => (row ? toQueue(row as QueueRow) : null);
  // Active agents who may see at least one of the queues (admins see all), in one query.
  const seeing = (count: number) =>
    statement(
      `SELECT a.id FROM agents a WHERE a.active = 1 AND (a.role = 'admin' OR EXISTS (SELECT 1 FROM queue_permissions p WHERE p.agent_id = a.id AND p.queue_id IN (${Array(count).fill('?').join(', ')}))) ORDER BY a.name, a.id`,
    ).pluck();
  return {
    async create(q, now) {
      return create.immediate(q, now);
    },
    findById: async (id) => one(byId.get(id)),
    findByName: async (name) => one(byName.get(name)),
    findByEmail: async (email) => one(byEmail.get(email)),
    findDefault: async () => one(byDefault.get()),
    list: async () => (all.all() as QueueRow[]).map(toQueue),
    async update(id, change) {
      return update.immediate(id, change);
    },
    async access(agentId, queueId) {
      return (access.get({ agentId, queueId }) as Access | null | undefined) ?? null;
    },
    async setAccess(agentId, queueId, level) {
      if (level === null) deleteAccess.run(agentId, queueId);
      else upsertAccess.run(agentId, queueId, level);
    },
    async agentsSeeing(queueIds) {
      return queueIds.length ? (seeing(queueIds.length).all(...queueIds) as number[]) : [];
    },
    async visible(agentId) {
      return (visible.all({ agentId }) as Array<QueueRow & { access: Access }>).map((r) => ({ ...toQueue(r), access: r.access }));
    },
  };
}
