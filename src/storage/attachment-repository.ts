import type { Database } from 'better-sqlite3';
import type { AttachmentStore } from '../core/ports.js';
import type { Attachment, AttachmentInput } from '../core/types.js';

const COLUMNS = 'a.id, a.article_id AS articleId, a.filename, a.content_type AS contentType, a.size, a.sha256, a.content_id AS contentId';

/** Storing a file on an article as a plain synchronous step, for use inside one transaction. */
export function createAttachmentWrites(db: Database) {
  const insert = db.prepare(
    `INSERT INTO attachments (article_id, filename, content_type, size, sha256, content_id, content)
     VALUES (@articleId, @filename, @contentType, @size, @sha256, @contentId, @content)
     RETURNING id, article_id AS articleId, filename, content_type AS contentType, size, sha256, content_id AS contentId`,
  );
  return {
    insert: (articleId: number, a: AttachmentInput & { sha256: string; size: number }): Attachment =>
      insert.all({ articleId, filename: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256, contentId: a.contentId ?? null, content: a.content })[0] as Attachment,
  };
}

/** SQLite implementation of {@link AttachmentStore}; contents are BLOBs in the same file. */
export function createAttachmentRepository(db: Database): AttachmentStore {
  const writes = createAttachmentWrites(db);
  const forTicket = db.prepare(`SELECT ${COLUMNS} FROM attachments a JOIN articles r ON r.id = a.article_id WHERE r.ticket_id = ? ORDER BY a.id`);
  const find = db.prepare(`SELECT ${COLUMNS}, r.ticket_id AS ticketId FROM attachments a JOIN articles r ON r.id = a.article_id WHERE a.id = ?`);
  const content = db.prepare('SELECT content FROM attachments WHERE id = ?').pluck();
  return {
    add: async (articleId, a) => writes.insert(articleId, a),
    forTicket: async (ticketId) => forTicket.all(ticketId) as Attachment[],
    find: async (id) => (find.get(id) as (Attachment & { ticketId: number }) | undefined) ?? null,
    content: async (id) => (content.get(id) as Buffer | undefined) ?? null,
  };
}
