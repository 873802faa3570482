import { sql } from 'kysely';
import type { NoticeStore } from '../core/ports.js';
import type { Notice } from '../core/types.js';
import type { Sql } from './engine.js';

const NOTICE = sql`n.id, n.agent_id AS "agentId", n.kind, n.ticket_id AS "ticketId", t.ttn, n.text, n.created_at AS "createdAt", n.seen_at AS "seenAt"`;
const FROM = sql`FROM notices n LEFT JOIN tickets t ON t.id = n.ticket_id`;

/** {@link NoticeStore} on either engine. */
export function createNoticeRepository(db: Sql): NoticeStore {
  const { q } = db;
  const count = async (query: ReturnType<typeof q.selectFrom<'notices'>>) => (await db.first(query.select((e) => e.fn.countAll<number>().as('n'))))!.n;
  return {
    async add(rows, now) {
      if (rows.length === 0) return [];
      return db.transaction(async (tx) => {
        const notices: Notice[] = [];
        for (const r of rows) {
          const [{ id }] = (await tx.all(
            q.insertInto('notices').values({ agent_id: r.agentId, kind: r.kind, ticket_id: r.ticketId, text: r.text, created_at: now, mail_wanted: r.mail ? 1 : 0 }).returning('id'),
          )) as [{ id: number }];
          notices.push((await tx.first(sql<Notice>`SELECT ${NOTICE} ${FROM} WHERE n.id = ${id}`))!);
        }
        return notices;
      });
    },
    list: (agentId, limit, offset) => db.all(sql<Notice>`SELECT ${NOTICE} ${FROM} WHERE n.agent_id = ${agentId} ORDER BY n.id DESC LIMIT ${limit} OFFSET ${offset}`),
    count: async (agentId) => ({
      total: await count(q.selectFrom('notices').where('agent_id', '=', agentId)),
      unseen: await count(q.selectFrom('notices').where('agent_id', '=', agentId).where('seen_at', 'is', null)),
    }),
    async markSeen(agentId, which, now) {
      const unseen = q.updateTable('notices').set({ seen_at: now }).where('agent_id', '=', agentId).where('seen_at', 'is', null);
      if (which === 'all') return db.run(unseen);
      if ('ticketId' in which) {
        // Asked on every view of a ticket: read first, so that a view writes (and locks) only when there is something to mark.
        const any = await db.first(q.selectFrom('notices').select('id').where('agent_id', '=', agentId).where('ticket_id', '=', which.ticketId).where('seen_at', 'is', null).limit(1));
        return any ? db.run(unseen.where('ticket_id', '=', which.ticketId)) : 0;
      }
      return which.ids.length ? db.run(unseen.where('id', 'in', which.ids)) : 0;
    },
    after: (id, limit) => db.all(sql<Notice>`SELECT ${NOTICE} ${FROM} WHERE n.id > ${id} ORDER BY n.id LIMIT ${limit}`),
    newestId: async () => (await db.first(q.selectFrom('notices').select(sql<number>`coalesce(max(id), 0)`.as('n'))))!.n,
    toMail: (limit) =>
      db.all(
        sql<Notice & { email: string | null; agentName: string; agentLanguage: string }>`SELECT ${NOTICE}, a.email, a.name AS "agentName", a.language AS "agentLanguage"
          ${FROM} JOIN agents a ON a.id = n.agent_id WHERE n.mail_wanted = 1 AND n.mailed_at IS NULL ORDER BY n.id LIMIT ${limit}`,
      ),
    watchers: async (queueId) => (await db.all(q.selectFrom('queue_watchers').select('agent_id').where('queue_id', '=', queueId))).map((r) => r.agent_id),
    watched: async (agentId) => (await db.all(q.selectFrom('queue_watchers').select('queue_id').where('agent_id', '=', agentId).orderBy('queue_id'))).map((r) => r.queue_id),
    async setWatched(agentId, queueIds) {
      await db.transaction(async (tx) => {
        await tx.run(q.deleteFrom('queue_watchers').where('agent_id', '=', agentId));
        if (queueIds.length) await tx.run(q.insertInto('queue_watchers').values(queueIds.map((queueId) => ({ agent_id: agentId, queue_id: queueId }))).onConflict((c) => c.doNothing()));
      });
    },
  };
}
