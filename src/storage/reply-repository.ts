import { sql } from 'kysely';
import type { CannedAnswerStore, DraftStore } from '../core/ports.js';
import type { CannedAnswer, DraftAttachment } from '../core/types.js';
import type { Sql } from './engine.js';

const CANNED = ['id', 'queue_id as queueId', 'name', 'body', 'updated_at as updatedAt'] as const;
const DRAFT = ['id', 'agent_id as agentId', 'ticket_id as ticketId', 'filename', 'content_type as contentType', 'size', 'created_at as createdAt'] as const;

/** {@link CannedAnswerStore} on either engine. */
export function createCannedAnswerRepository(db: Sql): CannedAnswerStore {
  const { q } = db;
  const answers = () => q.selectFrom('canned_answers').select(CANNED);
  return {
    async list(queueId) {
      // Every queue's first (by queue), then those for all queues; by name whatever its case.
      return queueId === undefined
        ? db.all(answers().orderBy(sql`queue_id IS NULL`).orderBy('queue_id').orderBy(sql`lower(name)`).orderBy('id'))
        : db.all(answers().where((e) => e.or([e('queue_id', '=', queueId), e('queue_id', 'is', null)])).orderBy(sql`lower(name)`).orderBy('id'));
    },
    find: async (id) => (await db.first(answers().where('id', '=', id))) ?? null,
    async save(input, now) {
      const [row] =
        input.id === undefined
          ? await db.all(q.insertInto('canned_answers').values({ queue_id: input.queueId, name: input.name, body: input.body, created_at: now, updated_at: now }).returning(CANNED))
          : await db.all(q.updateTable('canned_answers').set({ queue_id: input.queueId, name: input.name, body: input.body, updated_at: now }).where('id', '=', input.id).returning(CANNED));
      return row as CannedAnswer;
    },
    remove: async (id) => (await db.run(q.deleteFrom('canned_answers').where('id', '=', id))) > 0,
  };
}

/** {@link DraftStore} on either engine. */
export function createDraftRepository(db: Sql): DraftStore {
  const { q } = db;
  return {
    add: async (agentId, ticketId, file, now) =>
      (
        await db.all(
          q
            .insertInto('draft_attachments')
            .values({ agent_id: agentId, ticket_id: ticketId, filename: file.filename, content_type: file.contentType, size: file.size, content: file.content, created_at: now })
            .returning(DRAFT),
        )
      )[0] as DraftAttachment,
    list: (agentId, ticketId) => db.all(q.selectFrom('draft_attachments').select(DRAFT).where('agent_id', '=', agentId).where('ticket_id', '=', ticketId).orderBy('id')),
    bytes: async (agentId, ticketId) =>
      (await db.first(q.selectFrom('draft_attachments').select(sql<number>`coalesce(sum(size), 0)`.as('n')).where('agent_id', '=', agentId).where('ticket_id', '=', ticketId)))!.n,
    remove: async (id, agentId) => (await db.run(q.deleteFrom('draft_attachments').where('id', '=', id).where('agent_id', '=', agentId))) > 0,
    purgeOlderThan: (before) => db.run(q.deleteFrom('draft_attachments').where('created_at', '<', before)),
  };
}
