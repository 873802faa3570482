import { sql } from 'kysely';
import type { AttachmentStore } from '../core/ports.js';
import type { Attachment, AttachmentInput } from '../core/types.js';
import type { Sql } from './engine.js';

const COLUMNS = sql`a.id, a.article_id AS "articleId", a.filename, a.content_type AS "contentType", a.size, a.sha256, a.content_id AS "contentId"`;

/** Stores a file on an article (inside the caller's transaction, when `db` is one). */
export async function insertAttachment(db: Sql, articleId: number, a: AttachmentInput & { sha256: string; size: number }): Promise<Attachment> {
  const [row] = await db.all(
    db.q
      .insertInto('attachments')
      .values({ article_id: articleId, filename: a.filename, content_type: a.contentType, size: a.size, sha256: a.sha256, content_id: a.contentId ?? null, content: a.content })
      .returning(['id', 'article_id as articleId', 'filename', 'content_type as contentType', 'size', 'sha256', 'content_id as contentId']),
  );
  return row as Attachment;
}

/** {@link AttachmentStore} on either engine; contents are BLOBs (bytea) in the database. */
export function createAttachmentRepository(db: Sql): AttachmentStore {
  return {
    add: (articleId, a) => insertAttachment(db, articleId, a),
    forTicket: (ticketId) => db.all(sql<Attachment>`SELECT ${COLUMNS} FROM attachments a JOIN articles r ON r.id = a.article_id WHERE r.ticket_id = ${ticketId} ORDER BY a.id`),
    find: async (id) =>
      (await db.first(sql<Attachment & { ticketId: number }>`SELECT ${COLUMNS}, r.ticket_id AS "ticketId" FROM attachments a JOIN articles r ON r.id = a.article_id WHERE a.id = ${id}`)) ?? null,
    content: async (id) => (await db.first(db.q.selectFrom('attachments').select('content').where('id', '=', id)))?.content ?? null,
  };
}
