import type { Database } from 'better-sqlite3';
import type { CannedAnswerStore, DraftStore } from '../core/ports.js';
import type { CannedAnswer, DraftAttachment } from '../core/types.js';

const CANNED = 'id, queue_id AS queueId, name, body, updated_at AS updatedAt';
const DRAFT = 'id, agent_id AS agentId, ticket_id AS ticketId, filename, content_type AS contentType, size, created_at AS createdAt';

/** SQLite implementation of {@link CannedAnswerStore}. */
export function createCannedAnswerRepository(db: Database): CannedAnswerStore {
  const all = db.prepare(`SELECT ${CANNED} FROM canned_answers ORDER BY queue_id IS NOT NULL, queue_id, name COLLATE NOCASE, id`);
  const forQueue = db.prepare(`SELECT ${CANNED} FROM canned_answers WHERE queue_id = ? OR queue_id IS NULL ORDER BY name COLLATE NOCASE, id`);
  const byId = db.prepare(`SELECT ${CANNED} FROM canned_answers WHERE id = ?`);
  const insert = db.prepare(`INSERT INTO canned_answers (queue_id, name, body, created_at, updated_at) VALUES (@queueId, @name, @body, @now, @now) RETURNING ${CANNED}`);
  const update = db.prepare(`UPDATE canned_answers SET queue_id = @queueId, name = @name, body = @body, updated_at = @now WHERE id = @id RETURNING ${CANNED}`);
  const remove = db.prepare('DELETE FROM canned_answers WHERE id = ?');
  return {
    async list(queueId) {
      return (queueId === undefined ? all.all() : forQueue.all(queueId)) as CannedAnswer[];
    },
    async find(id) {
      return (byId.get(id) as CannedAnswer | undefined) ?? null;
    },
    async save(input, now) {
      const params = { id: input.id ?? null, queueId: input.queueId, name: input.name, body: input.body, now };
      return (input.id === undefined ? insert.all(params) : update.all(params))[0] as CannedAnswer;
    },
    async remove(id) {
      return remove.run(id).changes > 0;
    },
  };
}

/** SQLite implementation of {@link DraftStore}. */
export function createDraftRepository(db: Database): DraftStore {
  const insert = db.prepare(
    `INSERT INTO draft_attachments (agent_id, ticket_id, filename, content_type, size, content, created_at)
     VALUES (@agentId, @ticketId, @filename, @contentType, @size, @content, @now) RETURNING ${DRAFT}`,
  );
  const list = db.prepare(`SELECT ${DRAFT} FROM draft_attachments WHERE agent_id = ? AND ticket_id = ? ORDER BY id`);
  const bytes = db.prepare('SELECT coalesce(sum(size), 0) FROM draft_attachments WHERE agent_id = ? AND ticket_id = ?').pluck();
  const remove = db.prepare('DELETE FROM draft_attachments WHERE id = ? AND agent_id = ?');
  const purge = db.prepare('DELETE FROM draft_attachments WHERE created_at < ?');
  return {
    async add(agentId, ticketId, file, now) {
      return insert.all({ agentId, ticketId, filename: file.filename, contentType: file.contentType, size: file.size, content: file.content, now })[0] as DraftAttachment;
    },
    async list(agentId, ticketId) {
      return list.all(agentId, ticketId) as DraftAttachment[];
    },
    async bytes(agentId, ticketId) {
      return bytes.get(agentId, ticketId) as number;
    },
    async remove(id, agentId) {
      return remove.run(id, agentId).changes > 0;
    },
    async purgeOlderThan(before) {
      return purge.run(before).changes;
    },
  };
}
