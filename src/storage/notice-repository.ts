import type { Database } from 'better-sqlite3';
import type { NoticeStore } from '../core/ports.js';
import type { Notice } from '../core/types.js';

const NOTICE = `n.id, n.agent_id AS agentId, n.kind, n.ticket_id AS ticketId, t.ttn, n.text, n.created_at AS createdAt, n.seen_at AS seenAt`;
const FROM = 'FROM notices n LEFT JOIN tickets t ON t.id = n.ticket_id';

/** SQLite implementation of {@link NoticeStore}. */
export function createNoticeRepository(db: Database): NoticeStore {
  const insert = db.prepare(
    `INSERT INTO notices (agent_id, kind, ticket_id, text, created_at, mail_wanted) VALUES (@agentId, @kind, @ticketId, @text, @now, @mail) RETURNING id`,
  );
  const byId = db.prepare(`SELECT ${NOTICE} ${FROM} WHERE n.id = ?`);
  const add = db.transaction((rows: Parameters<NoticeStore['add']>[0], now: string) =>
    rows.map((r) => byId.get((insert.all({ agentId: r.agentId, kind: r.kind, ticketId: r.ticketId, text: r.text, now, mail: r.mail ? 1 : 0 })[0] as { id: number }).id) as Notice),
  );
  const list = db.prepare(`SELECT ${NOTICE} ${FROM} WHERE n.agent_id = ? ORDER BY n.id DESC LIMIT ? OFFSET ?`);
  const total = db.prepare('SELECT count(*) FROM notices WHERE agent_id = ?').pluck();
  const unseen = db.prepare('SELECT count(*) FROM notices WHERE agent_id = ? AND seen_at IS NULL').pluck();
  const seenAll = db.prepare('UPDATE notices SET seen_at = ? WHERE agent_id = ? AND seen_at IS NULL');
  const seenTicket = db.prepare('UPDATE notices SET seen_at = ? WHERE agent_id = ? AND ticket_id = ? AND seen_at IS NULL');
  // Asked on every view of a ticket: read first, so that a view writes (and locks) only when there is something to mark.
  const unseenOfTicket = db.prepare('SELECT EXISTS (SELECT 1 FROM notices WHERE agent_id = ? AND ticket_id = ? AND seen_at IS NULL)').pluck();
  const seenOne = db.prepare('UPDATE notices SET seen_at = ? WHERE agent_id = ? AND id = ? AND seen_at IS NULL');
  const after = db.prepare(`SELECT ${NOTICE} ${FROM} WHERE n.id > ? ORDER BY n.id LIMIT ?`);
  const newest = db.prepare('SELECT coalesce(max(id), 0) FROM notices').pluck();
  const toMail = db.prepare(
    `SELECT ${NOTICE}, a.email, a.name AS agentName, a.language AS agentLanguage ${FROM} JOIN agents a ON a.id = n.agent_id WHERE n.mail_wanted = 1 AND n.mailed_at IS NULL ORDER BY n.id LIMIT ?`,
  );
  const watchers = db.prepare('SELECT agent_id FROM queue_watchers WHERE queue_id = ?').pluck();
  const watched = db.prepare('SELECT queue_id FROM queue_watchers WHERE agent_id = ? ORDER BY queue_id').pluck();
  const unwatchAll = db.prepare('DELETE FROM queue_watchers WHERE agent_id = ?');
  const watch = db.prepare('INSERT OR IGNORE INTO queue_watchers (agent_id, queue_id) VALUES (?, ?)');
  const setWatched = db.transaction((agentId: number, queueIds: number[]) => {
    unwatchAll.run(agentId);
    for (const q of queueIds) watch.run(agentId, q);
  });
  return {
    async add(rows, now) {
      return rows.length ? add.immediate(rows, now) : [];
    },
    async list(agentId, limit, offset) {
      return list.all(agentId, limit, offset) as Notice[];
    },
    async count(agentId) {
      return { total: total.get(agentId) as number, unseen: unseen.get(agentId) as number };
    },
    async markSeen(agentId, which, now) {
      if (which === 'all') return seenAll.run(now, agentId).changes;
      if ('ticketId' in which) return unseenOfTicket.get(agentId, which.ticketId) ? seenTicket.run(now, agentId, which.ticketId).changes : 0;
      let n = 0;
      for (const id of which.ids) n += seenOne.run(now, agentId, id).changes;
      return n;
    },
    async after(id, limit) {
      return after.all(id, limit) as Notice[];
    },
    async newestId() {
      return newest.get() as number;
    },
    async toMail(limit) {
      return toMail.all(limit) as Array<Notice & { email: string | null; agentName: string; agentLanguage: string }>;
    },
    async watchers(queueId) {
      return watchers.all(queueId) as number[];
    },
    async watched(agentId) {
      return watched.all(agentId) as number[];
    },
    async setWatched(agentId, queueIds) {
      setWatched.immediate(agentId, queueIds);
    },
  };
}
