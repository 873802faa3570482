import type { Database } from 'better-sqlite3';
import { DuplicateTtnError, NotFoundError } from '../core/errors.js';
import type { ArticleStart, TicketChange, TicketFilter, TicketStore } from '../core/ports.js';
import { ARTICLE_START_CHARS } from '../core/ports.js';
import type { Article, ArticleInput, Ticket, TicketState } from '../core/types.js';
import { createStatementCache } from './statement-cache.js';

interface TicketRow {
  id: number;
  ttn: string;
  title: string;
  queue_id: number;
  state: TicketState;
  priority: number;
  owner_id: number | null;
  customer_id: number | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

interface ArticleRow {
  id: number;
  ticket_id: number;
  kind: Article['kind'];
  from_addr: string | null;
  to_addr: string | null;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  message_id: string | null;
  in_reply_to: string | null;
  author_agent_id: number | null;
  created_at: string;
}

export const toTicket = (r: TicketRow): Ticket => ({
  id: r.id,
  ttn: r.ttn,
  title: r.title,
  queueId: r.queue_id,
  state: r.state,
  priority: r.priority,
  ownerId: r.owner_id,
  customerId: r.customer_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  closedAt: r.closed_at,
});

const toArticle = (r: ArticleRow): Article => ({
  id: r.id,
  ticketId: r.ticket_id,
  kind: r.kind,
  from: r.from_addr,
  to: r.to_addr,
  subject: r.subject,
  text: r.body_text,
  html: r.body_html,
  messageId: r.message_id,
  inReplyTo: r.in_reply_to,
  authorAgentId: r.author_agent_id,
  createdAt: r.created_at,
});

// Queues an agent may see: admins see every queue, agents those with a permission row.
const VISIBLE_QUEUES = `
  SELECT q.id FROM queues q, agents a WHERE a.id = @agentId AND a.role = 'admin'
  UNION SELECT p.queue_id FROM queue_permissions p WHERE p.agent_id = @agentId`;

/** SQLite implementation of {@link TicketStore}. */
export function createTicketRepository(db: Database): TicketStore {
  const insertTicket = db.prepare(
    `INSERT INTO tickets (ttn, title, queue_id, state, priority, owner_id, customer_id, created_at, updated_at)
     VALUES (@ttn, @title, @queueId, @state, @priority, @ownerId, @customerId, @now, @now) RETURNING *`,
  );
  const insertArticle = db.prepare(
    `INSERT INTO articles (ticket_id, kind, from_addr, to_addr, subject, body_text, body_html, message_id, in_reply_to, author_agent_id, references_header, raw_message_id, created_at)
     VALUES (@ticketId, @kind, @from, @to, @subject, @text, @html, @messageId, @inReplyTo, @authorAgentId, @references, @rawMessageId, @now) RETURNING *`,
  );
  const statement = createStatementCache(db);
  const byId = db.prepare('SELECT * FROM tickets WHERE id = ?');
  const byTtn = db.prepare('SELECT * FROM tickets WHERE ttn = ?');
  const touch = db.prepare('UPDATE tickets SET updated_at = ? WHERE id = ? RETURNING *');
  const articlesOf = db.prepare('SELECT * FROM articles WHERE ticket_id = ? ORDER BY id');
  const latestOf = db.prepare(
    `SELECT kind, from_addr AS "from", subject, substr(body_text, 1, ${ARTICLE_START_CHARS}) AS textStart, created_at AS createdAt
     FROM articles WHERE ticket_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const counts = db.prepare(
    `SELECT queue_id AS queueId, state, count(*) AS count FROM tickets
     WHERE queue_id IN (${VISIBLE_QUEUES}) GROUP BY queue_id, state`,
  );

  const articleParams = (ticketId: number, a: ArticleInput, now: string) => ({
    ticketId,
    kind: a.kind,
    from: a.from ?? null,
    to: a.to ?? null,
    subject: a.subject ?? null,
    text: a.text,
    html: a.html ?? null,
    messageId: a.messageId ?? null,
    inReplyTo: a.inReplyTo ?? null,
    authorAgentId: a.authorAgentId ?? null,
    references: a.references?.join(' ') || null,
    rawMessageId: a.rawMessageId ?? null,
    now,
  });

  const create = db.transaction((r: Parameters<TicketStore['create']>[0]) => {
    const { article: first, ...fields } = r;
    const ticket = toTicket(insertTicket.all(fields)[0] as TicketRow);
    const article = toArticle(insertArticle.all(articleParams(ticket.id, first, r.now))[0] as ArticleRow);
    return { ticket, article };
  });

  const addArticle = db.transaction((ticketId: number, a: ArticleInput, now: string) => {
    const row = touch.all(now, ticketId)[0] as TicketRow | undefined;
    if (!row) throw new NotFoundError(`no ticket with id ${ticketId}`);
    return { ticket: toTicket(row), article: toArticle(insertArticle.all(articleParams(ticketId, a, now))[0] as ArticleRow) };
  });

  async function list(agentId: number | null, filter: TicketFilter): Promise<Ticket[]> {
    const where = agentId === null ? ['1 = 1'] : [`t.queue_id IN (${VISIBLE_QUEUES})`];
    const params: Record<string, unknown> = { ...(agentId === null ? {} : { agentId }), limit: Math.min(filter.limit ?? 100, 1000), offset: filter.offset ?? 0 };
    if (filter.queueId !== undefined) {
      where.push('t.queue_id = @queueId');
      params.queueId = filter.queueId;
    }
    if (filter.state === 'any-open') where.push("t.state <> 'closed'");
    else if (filter.state !== undefined) {
      where.push('t.state = @state');
      params.state = filter.state;
    }
    if (filter.ownerId !== undefined) {
      where.push('t.owner_id = @ownerId');
      params.ownerId = filter.ownerId;
    }
    if (filter.customerId !== undefined) {
      where.push('t.customer_id = @customerId');
      params.customerId = filter.customerId;
    }
    if (filter.search?.trim()) {
      const s = filter.search.trim();
      params.prefix = `${s.replace(/[%_\\]/g, '\\$&')}%`;
      params.like = `%${s.replace(/[%_\\]/g, '\\$&')}%`;
      // A phone number in any format: compare its digits (without trunk/international zeros) with the stored E.164.
      const digits = /^[\d\s\-./()+]+$/.test(s) ? s.replace(/\D/g, '').replace(/^0+/, '') : '';
      params.phoneLike = digits.length >= 3 ? `%${digits}%` : params.like;
      where.push(`(t.ttn LIKE @prefix ESCAPE '\\' OR t.title LIKE @like ESCAPE '\\'
        OR t.customer_id IN (SELECT c.id FROM customers c WHERE c.name LIKE @like ESCAPE '\\'
          UNION SELECT customer_id FROM customer_emails WHERE email LIKE @like ESCAPE '\\'
          UNION SELECT customer_id FROM customer_phones WHERE phone LIKE @like ESCAPE '\\' OR phone LIKE @phoneLike ESCAPE '\\')
        OR t.id IN (SELECT ticket_id FROM articles WHERE body_text LIKE @like ESCAPE '\\' OR subject LIKE @like ESCAPE '\\'))`);
    }
    const rows = statement(`SELECT t.* FROM tickets t WHERE ${where.join(' AND ')} ORDER BY t.updated_at DESC, t.id DESC LIMIT @limit OFFSET @offset`).all(params) as TicketRow[];
    return rows.map(toTicket);
  }

  return {
    async create(record) {
      try {
        return create.immediate(record);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && String(error).includes('tickets.ttn')) {
          throw new DuplicateTtnError(`TTN ${record.ttn} is taken`);
        }
        throw error;
      }
    },
    async findById(id) {
      const row = byId.get(id) as TicketRow | undefined;
      return row ? toTicket(row) : null;
    },
    async findByTtn(ttn) {
      const row = byTtn.get(ttn) as TicketRow | undefined;
      return row ? toTicket(row) : null;
    },
    listVisible: (agentId, filter) => list(agentId, filter),
    listAll: (filter) => list(null, filter),
    async countVisible(agentId) {
      return counts.all({ agentId }) as Array<{ queueId: number; state: TicketState; count: number }>;
    },
    async update(id, change: TicketChange, now) {
      const sets: string[] = ['updated_at = @now'];
      const params: Record<string, unknown> = { id, now };
      const columns: Record<keyof TicketChange, string> = { state: 'state', ownerId: 'owner_id', queueId: 'queue_id', title: 'title', priority: 'priority', linkedTicketId: 'linked_ticket_id' };
      for (const [key, column] of Object.entries(columns) as Array<[keyof TicketChange, string]>) {
        if (change[key] !== undefined) {
          sets.push(`${column} = @${key}`);
          params[key] = change[key];
        }
      }
      if (change.state !== undefined) sets.push(`closed_at = CASE WHEN @state = 'closed' THEN coalesce(closed_at, @now) ELSE NULL END`);
      const row = statement(`UPDATE tickets SET ${sets.join(', ')} WHERE id = @id RETURNING *`).all(params)[0] as TicketRow | undefined;
      if (!row) throw new NotFoundError(`no ticket with id ${id}`);
      return toTicket(row);
    },
    async addArticle(ticketId, article, now) {
      return addArticle.immediate(ticketId, article, now);
    },
    async articles(ticketId) {
      return (articlesOf.all(ticketId) as ArticleRow[]).map(toArticle);
    },
    async latestArticles(ticketId, limit) {
      return latestOf.all(ticketId, limit) as ArticleStart[];
    },
  };
}
