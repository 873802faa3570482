import type { Database } from 'better-sqlite3';
import { DuplicateTtnError, NotFoundError } from '../core/errors.js';
import type { ArticleStart, NewTicketRecord, TicketChange, TicketFilter, TicketListItem, TicketStore } from '../core/ports.js';
import { ARTICLE_START_CHARS, MAX_LIST_LIMIT } from '../core/ports.js';
import type { Article, ArticleInput, Delivery, Ticket, TicketState } from '../core/types.js';
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
  reply_to: string | null;
  author_agent_id: number | null;
  created_at: string;
  delivery_status?: string | null;
  // Joined from the article's outbox row, where there is one (see `articlesOf`).
  out_status?: 'pending' | 'sent' | 'failed' | null;
  out_attempts?: number | null;
  out_last_error?: string | null;
  out_next_attempt_at?: string | null;
  out_sent_at?: string | null;
}

function deliveryOf(r: ArticleRow): Delivery | null {
  if (r.kind !== 'email-out' || !r.out_status) return null;
  const attempts = r.out_attempts ?? 0;
  const state = r.out_status === 'failed' ? 'failed' : r.out_status === 'sent' ? (r.delivery_status === 'failed' ? 'bounced' : 'sent') : attempts > 0 ? 'retrying' : 'queued';
  return { state, attempts, lastError: r.out_last_error ?? null, nextAttemptAt: r.out_status === 'pending' ? (r.out_next_attempt_at ?? null) : null, sentAt: r.out_sent_at ?? null };
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
  replyTo: r.reply_to,
  authorAgentId: r.author_agent_id,
  createdAt: r.created_at,
  delivery: deliveryOf(r),
});

/** A {@link TicketListItem} as SQLite's json_object arguments, over `l` (tickets) and the joined q, a, c. */
const LIST_ITEM_JSON = `'id', l.id, 'ttn', l.ttn, 'title', l.title, 'queueId', l.queue_id, 'state', l.state, 'priority', l.priority,
  'ownerId', l.owner_id, 'customerId', l.customer_id, 'createdAt', l.created_at, 'updatedAt', l.updated_at, 'closedAt', l.closed_at,
  'queueName', q.name, 'ownerName', a.name, 'customerName', c.name`;

// Lists kept in memory per connection (a 50-row page is about 15 KB).
const LIST_CACHE_ENTRIES = 256;

// Beyond this many visible queues a list is one query over all of them instead of a range per queue.
const PER_QUEUE_RANGES = 64;

// Queues an agent may see: admins see every queue, agents those with a permission row.
const VISIBLE_QUEUES = `
  SELECT q.id FROM queues q, agents a WHERE a.id = @agentId AND a.role = 'admin'
  UNION SELECT p.queue_id FROM queue_permissions p WHERE p.agent_id = @agentId`;

/**
 * The ticket writes as plain synchronous steps, for use inside one transaction: the repository's
 * own (one per call) and a use case's that writes several things at once (filing a mail).
 */
export function createTicketWrites(db: Database) {
  const insertTicket = db.prepare(
    `INSERT INTO tickets (ttn, title, queue_id, state, priority, owner_id, customer_id, created_at, updated_at)
     VALUES (@ttn, @title, @queueId, @state, @priority, @ownerId, @customerId, @now, @now) RETURNING *`,
  );
  const insertArticle = db.prepare(
    `INSERT INTO articles (ticket_id, kind, from_addr, to_addr, reply_to, subject, body_text, body_html, message_id, in_reply_to, author_agent_id, references_header, raw_message_id, created_at)
     VALUES (@ticketId, @kind, @from, @to, @replyTo, @subject, @text, @html, @messageId, @inReplyTo, @authorAgentId, @references, @rawMessageId, @now) RETURNING *`,
  );
  const statement = createStatementCache(db);
  const byId = db.prepare('SELECT * FROM tickets WHERE id = ?');
  const touch = db.prepare('UPDATE tickets SET updated_at = ? WHERE id = ? RETURNING *');

  const articleParams = (ticketId: number, a: ArticleInput, now: string) => ({
    ticketId,
    kind: a.kind,
    from: a.from ?? null,
    to: a.to ?? null,
    replyTo: a.replyTo ?? null,
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

  return {
    /** Inserts a ticket; a taken TTN throws {@link DuplicateTtnError}. */
    insertTicket(r: Omit<NewTicketRecord, 'article'>): Ticket {
      try {
        return toTicket(insertTicket.all(r)[0] as TicketRow);
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && String(error).includes('tickets.ttn')) {
          throw new DuplicateTtnError(`TTN ${r.ttn} is taken`);
        }
        throw error;
      }
    },
    insertArticle: (ticketId: number, a: ArticleInput, now: string): Article => toArticle(insertArticle.all(articleParams(ticketId, a, now))[0] as ArticleRow),
    /** Marks the ticket changed now (a new article); NotFoundError when there is no such ticket. */
    touch(ticketId: number, now: string): Ticket {
      const row = touch.all(now, ticketId)[0] as TicketRow | undefined;
      if (!row) throw new NotFoundError(`no ticket with id ${ticketId}`);
      return toTicket(row);
    },
    findById: (id: number): Ticket | null => {
      const row = byId.get(id) as TicketRow | undefined;
      return row ? toTicket(row) : null;
    },
    update(id: number, change: TicketChange, now: string): Ticket {
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
  };
}

export type TicketWrites = ReturnType<typeof createTicketWrites>;

/** SQLite implementation of {@link TicketStore}. */
export function createTicketRepository(db: Database): TicketStore {
  const writes = createTicketWrites(db);
  const statement = createStatementCache(db);
  const byTtn = db.prepare('SELECT * FROM tickets WHERE ttn = ?');
  const articlesOf = db.prepare(
    `SELECT a.*, o.status AS out_status, o.attempts AS out_attempts, o.last_error AS out_last_error, o.next_attempt_at AS out_next_attempt_at, o.sent_at AS out_sent_at
     FROM articles a LEFT JOIN outbox o ON o.id = (SELECT max(id) FROM outbox WHERE article_id = a.id)
     WHERE a.ticket_id = ? ORDER BY a.id`,
  );
  const latestOf = db.prepare(
    `SELECT kind, from_addr AS "from", subject, substr(body_text, 1, ${ARTICLE_START_CHARS}) AS textStart, created_at AS createdAt
     FROM articles WHERE ticket_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const counts = db.prepare(
    `SELECT queue_id AS queueId, state, n AS count FROM ticket_counts
     WHERE queue_id IN (${VISIBLE_QUEUES}) AND n > 0`,
  );

  const create = db.transaction((r: NewTicketRecord) => {
    const { article: first, ...fields } = r;
    const ticket = writes.insertTicket(fields);
    return { ticket, article: writes.insertArticle(ticket.id, first, r.now) };
  });

  const addArticle = db.transaction((ticketId: number, a: ArticleInput, now: string) => {
    const ticket = writes.touch(ticketId, now);
    return { ticket, article: writes.insertArticle(ticketId, a, now) };
  });

  const allQueueIds = db.prepare('SELECT id FROM queues ORDER BY id').pluck();
  // Bumped by triggers (migration 007) with every change a list shows.
  const generation = db.prepare('SELECT n FROM list_generation WHERE id = 1').pluck();
  // Recent lists (least recently used first), each with the generation it was read at.
  const listCache = new Map<string, { at: number; items: readonly TicketListItem[] }>();
  const visibleQueueIds = db.prepare(`SELECT id FROM (${VISIBLE_QUEUES}) ORDER BY id`).pluck();

  /**
   * A page of a newest-first list. Without an owner, customer or search filter it is one indexed
   * range per queue (queue, [state,] updated_at, id), merged by SQLite in that order: a page costs
   * its rows, not the size of the queues. With one of those filters, the
   * owner's or customer's index (or, for a search, a scan) over the visible queues.
   */
  async function list(agentId: number | null, filter: TicketFilter): Promise<readonly TicketListItem[]> {
    let queues = (agentId === null ? allQueueIds.all() : visibleQueueIds.all({ agentId })) as number[];
    if (filter.queueId !== undefined) queues = queues.filter((id) => id === filter.queueId);
    if (queues.length === 0) return [];
    const limit = Math.max(1, Math.min(Math.floor(filter.limit ?? 100), MAX_LIST_LIMIT));
    const params: Record<string, unknown> = { limit };
    const where: string[] = [];
    if (filter.state === 'any-open') where.push("t.state <> 'closed'");
    else if (filter.state !== undefined) {
      where.push('t.state = @state');
      params.state = filter.state;
    }
    if (filter.before) {
      where.push('(t.updated_at, t.id) < (@beforeAt, @beforeId)');
      params.beforeAt = filter.before.updatedAt;
      params.beforeId = filter.before.id;
    }
    const perQueue = filter.ownerId === undefined && filter.customerId === undefined && !filter.search?.trim() && queues.length <= PER_QUEUE_RANGES;
    let rows: string;
    if (perQueue) {
      rows = queues
        .map((id, i) => {
          params[`q${i}`] = id;
          return `SELECT t.* FROM tickets t WHERE ${[`t.queue_id = @q${i}`, ...where].join(' AND ')}`;
        })
        .join(' UNION ALL ');
    } else {
      queues.forEach((id, i) => (params[`q${i}`] = id));
      where.unshift(`t.queue_id IN (${queues.map((_, i) => `@q${i}`).join(', ')})`);
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
      rows = `SELECT t.* FROM tickets t WHERE ${where.join(' AND ')}`;
    }
    // SQLite hands the page over as one JSON text (the list's shape, made here): for 50 rows that is
    // several times faster than better-sqlite3 building 700 JavaScript values one by one. The ranges
    // are merged in index order and read lazily: the LIMIT stops every one of them.
    const sql = `SELECT json_group_array(json_object(${LIST_ITEM_JSON}))
      FROM (${rows} ORDER BY updated_at DESC, id DESC LIMIT @limit) l
      JOIN queues q ON q.id = l.queue_id LEFT JOIN agents a ON a.id = l.owner_id LEFT JOIN customers c ON c.id = l.customer_id`;
    // The same list at the same generation is the same list: served again from memory. The number is
    // read before the rows, so rows read after a change are never kept under the number before it.
    const key = `${sql}\n${JSON.stringify(params)}`;
    const at = generation.get() as number;
    const kept = listCache.get(key);
    if (kept && kept.at === at) {
      listCache.delete(key);
      listCache.set(key, kept);
      return kept.items;
    }
    const items = JSON.parse(statement(sql).pluck().get(params) as string) as TicketListItem[];
    // An aggregate's input order is SQLite's choice: put it back (sorting 50 rows here is cheaper than there).
    items.sort((a, b) => (a.updatedAt === b.updatedAt ? b.id - a.id : a.updatedAt < b.updatedAt ? 1 : -1));
    for (const item of items) Object.freeze(item);
    const list = Object.freeze(items);
    listCache.delete(key);
    listCache.set(key, { at, items: list });
    if (listCache.size > LIST_CACHE_ENTRIES) listCache.delete(listCache.keys().next().value!);
    return list;
  }

  return {
    async create(record) {
      return create.immediate(record);
    },
    async findById(id) {
      return writes.findById(id);
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
      return writes.update(id, change, now);
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
