import type { Database } from 'better-sqlite3';
import { DuplicateTtnError, NotFoundError } from '../core/errors.js';
import type { ArticleStart, NewTicketRecord, TicketChange, TicketFilter, TicketListItem, TicketSort, TicketStore } from '../core/ports.js';
import { ARTICLE_START_CHARS, MAX_LIST_LIMIT } from '../core/ports.js';
import type { Article, ArticleInput, ChangedBy, Delivery, HistoryEntry, HistoryField, Ticket, TicketState } from '../core/types.js';
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
  linked_ticket_id: number | null;
  pending_until: string | null;
}

interface ArticleRow {
  id: number;
  ticket_id: number;
  kind: Article['kind'];
  from_addr: string | null;
  to_addr: string | null;
  cc_addr: string | null;
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
  linkedTicketId: r.linked_ticket_id,
  pendingUntil: r.pending_until,
});

const toArticle = (r: ArticleRow): Article => ({
  id: r.id,
  ticketId: r.ticket_id,
  kind: r.kind,
  from: r.from_addr,
  to: r.to_addr,
  cc: r.cc_addr,
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

/** Hotline itself, where no agent made a change. */
const SYSTEM: ChangedBy = { via: 'system', agentId: null };

/** A {@link TicketListItem} as SQLite's json_object arguments, over `l` (tickets) and the joined q, a, c. */
const LIST_ITEM_JSON = `'id', l.id, 'ttn', l.ttn, 'title', l.title, 'queueId', l.queue_id, 'state', l.state, 'priority', l.priority,
  'ownerId', l.owner_id, 'customerId', l.customer_id, 'createdAt', l.created_at, 'updatedAt', l.updated_at, 'closedAt', l.closed_at,
  'linkedTicketId', l.linked_ticket_id, 'pendingUntil', l.pending_until,
  'queueName', q.name, 'ownerName', a.name, 'customerName', c.name`;

// Lists kept in memory per connection (a 50-row page is about 15 KB).
const LIST_CACHE_ENTRIES = 256;

// Beyond this many visible queues a list is one query over all of them instead of a range per queue.
const PER_QUEUE_RANGES = 64;

/** The columns each sort orders by (before the ticket id), as SQL over `t` (tickets). */
const SORT_KEYS: Record<TicketSort, Array<{ expression: string }>> = {
  updated: [{ expression: 't.updated_at' }],
  created: [{ expression: 't.created_at' }],
  ttn: [{ expression: 't.ttn' }],
  priority: [{ expression: 't.priority' }, { expression: 't.updated_at' }],
  // STATE_RANK in ports.ts.
  state: [{ expression: "CASE t.state WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END" }, { expression: 't.updated_at' }],
  owner: [{ expression: "coalesce((SELECT name FROM agents WHERE id = t.owner_id), '')" }, { expression: 't.updated_at' }],
};

// Sorts with an index per queue (migrations 006, 013): a page is a merge of per-queue ranges.
const PER_QUEUE_SORTS = new Set<TicketSort>(['updated', 'created', 'priority']);

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
    `INSERT INTO articles (ticket_id, kind, from_addr, to_addr, cc_addr, reply_to, subject, body_text, body_html, message_id, in_reply_to, author_agent_id, references_header, raw_message_id, created_at)
     VALUES (@ticketId, @kind, @from, @to, @cc, @replyTo, @subject, @text, @html, @messageId, @inReplyTo, @authorAgentId, @references, @rawMessageId, @now) RETURNING *`,
  );
  const statement = createStatementCache(db);
  const byId = db.prepare('SELECT * FROM tickets WHERE id = ?');
  const touch = db.prepare('UPDATE tickets SET updated_at = ? WHERE id = ? RETURNING *');
  const insertHistory = db.prepare(
    `INSERT INTO ticket_history (ticket_id, at, via, agent_id, field, old_value, new_value, old_label, new_label)
     VALUES (@ticketId, @at, @via, @agentId, @field, @oldValue, @newValue, @oldLabel, @newLabel)`,
  );
  const agentName = db.prepare('SELECT name FROM agents WHERE id = ?').pluck();
  const queueName = db.prepare('SELECT name FROM queues WHERE id = ?').pluck();
  const customerName = db.prepare('SELECT name FROM customers WHERE id = ?').pluck();
  const ttnOf = db.prepare('SELECT ttn FROM tickets WHERE id = ?').pluck();

  /** A ticket's field as history keeps it: the value as text, and its name where it is an id. */
  const LABELS: Partial<Record<HistoryField, (v: number) => unknown>> = {
    created: (v) => queueName.get(v),
    owner: (v) => agentName.get(v),
    queue: (v) => queueName.get(v),
    customer: (v) => customerName.get(v),
    link: (v) => ttnOf.get(v),
  };
  const recorded = (field: HistoryField, value: unknown): { value: string | null; label: string | null } => {
    if (value === null || value === undefined) return { value: null, label: null };
    const label = LABELS[field]?.(value as number);
    return { value: String(value), label: label === undefined ? String(value) : String(label ?? value) };
  };
  const record = (ticketId: number, at: string, by: ChangedBy, field: HistoryField, oldValue: unknown, newValue: unknown) => {
    const o = recorded(field, oldValue);
    const n = recorded(field, newValue);
    insertHistory.run({ ticketId, at, via: by.via, agentId: by.agentId, field, oldValue: o.value, newValue: n.value, oldLabel: o.label, newLabel: n.label });
  };
  // The columns a change may touch, and the history field each is recorded as.
  const CHANGED: Array<[keyof TicketRow, HistoryField]> = [
    ['state', 'state'],
    ['owner_id', 'owner'],
    ['queue_id', 'queue'],
    ['priority', 'priority'],
    ['title', 'title'],
    ['customer_id', 'customer'],
    ['pending_until', 'pending-until'],
  ];

  const articleParams = (ticketId: number, a: ArticleInput, now: string) => ({
    ticketId,
    kind: a.kind,
    from: a.from ?? null,
    to: a.to ?? null,
    cc: a.cc ?? null,
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
    /** Inserts a ticket, and its creation into its history; a taken TTN throws {@link DuplicateTtnError}. */
    insertTicket(r: Omit<NewTicketRecord, 'article'>): Ticket {
      try {
        const { by, ...fields } = r;
        const ticket = toTicket(insertTicket.all(fields)[0] as TicketRow);
        record(ticket.id, r.now, by ?? SYSTEM, 'created', null, ticket.queueId);
        return ticket;
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
    /** Changes the ticket and records each field that changed in its history (call inside a transaction). */
    update(id: number, change: TicketChange, now: string, by: ChangedBy = SYSTEM): Ticket {
      const before = byId.get(id) as TicketRow | undefined;
      if (!before) throw new NotFoundError(`no ticket with id ${id}`);
      const sets: string[] = ['updated_at = @now'];
      const params: Record<string, unknown> = { id, now };
      const columns: Record<keyof TicketChange, string> = { state: 'state', ownerId: 'owner_id', queueId: 'queue_id', title: 'title', priority: 'priority', linkedTicketId: 'linked_ticket_id', customerId: 'customer_id', pendingUntil: 'pending_until' };
      for (const [key, column] of Object.entries(columns) as Array<[keyof TicketChange, string]>) {
        if (change[key] !== undefined) {
          sets.push(`${column} = @${key}`);
          params[key] = change[key];
        }
      }
      if (change.state !== undefined) sets.push(`closed_at = CASE WHEN @state = 'closed' THEN coalesce(closed_at, @now) ELSE NULL END`);
      const row = statement(`UPDATE tickets SET ${sets.join(', ')} WHERE id = @id RETURNING *`).all(params)[0] as TicketRow | undefined;
      if (!row) throw new NotFoundError(`no ticket with id ${id}`);
      for (const [column, field] of CHANGED) if (row[column] !== before[column]) record(id, now, by, field, before[column], row[column]);
      if (row.linked_ticket_id !== before.linked_ticket_id) {
        record(id, now, by, 'link', before.linked_ticket_id, row.linked_ticket_id);
        if (row.linked_ticket_id !== null) record(row.linked_ticket_id, now, by, 'linked-from', null, row.ttn);
      }
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
     FROM articles WHERE ticket_id = ? AND kind <> 'call' ORDER BY id DESC LIMIT ?`,
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

  const update = db.transaction((id: number, change: TicketChange, now: string, by: ChangedBy) => writes.update(id, change, now, by));
  const duePending = db.prepare("SELECT * FROM tickets WHERE pending_until IS NOT NULL AND pending_until <= ? AND state = 'pending' ORDER BY pending_until LIMIT ?");
  // Checked and changed under the write lock: of several processes waking tickets, one wakes each.
  const wakeDue = db.transaction((now: string, limit: number) =>
    (duePending.all(now, limit) as TicketRow[]).map((row) => ({ before: toTicket(row), ticket: writes.update(row.id, { state: 'open', pendingUntil: null }, now, { via: 'reminder', agentId: null }) })),
  );
  const historyOf = db.prepare(
    `SELECT h.id, h.ticket_id AS ticketId, h.at, h.via, h.agent_id AS agentId, a.name AS agentName, h.field,
       h.old_value AS oldValue, h.new_value AS newValue, h.old_label AS oldLabel, h.new_label AS newLabel
     FROM ticket_history h LEFT JOIN agents a ON a.id = h.agent_id WHERE h.ticket_id = ? ORDER BY h.id`,
  );

  const addArticle = db.transaction((ticketId: number, a: ArticleInput, now: string) => {
    const ticket = writes.touch(ticketId, now);
    return { ticket, article: writes.insertArticle(ticketId, a, now) };
  });

  const allQueueIds = db.prepare('SELECT id FROM queues ORDER BY id').pluck();
  // Bumped by triggers (migration 007) with every change a list shows.
  const generation = db.prepare('SELECT n FROM list_generation WHERE id = 1').pluck();
  // Recent lists and counts (least recently used first), each with the generation it was read at.
  const listCache = new Map<string, { at: number; value: unknown }>();
  const allCounts = db.prepare('SELECT queue_id AS queueId, state, n FROM ticket_counts WHERE n > 0');
  const visibleQueueIds = db.prepare(`SELECT id FROM (${VISIBLE_QUEUES}) ORDER BY id`).pluck();

  /** The filter's conditions on `t` (tickets), without the queues and the position; fills `params`. */
  function conditions(filter: TicketFilter, params: Record<string, unknown>): string[] {
    const where: string[] = [];
    if (filter.state === 'any-open') where.push("t.state <> 'closed'");
    else if (filter.state !== undefined) {
      where.push('t.state = @state');
      params.state = filter.state;
    }
    if (filter.ownerId === null) where.push('t.owner_id IS NULL');
    else if (filter.ownerId !== undefined) {
      where.push('t.owner_id = @ownerId');
      params.ownerId = filter.ownerId;
    }
    if (filter.customerId !== undefined) {
      where.push('t.customer_id = @customerId');
      params.customerId = filter.customerId;
    }
    if (filter.priority !== undefined) {
      where.push('t.priority = @priority');
      params.priority = filter.priority;
    }
    const s = filter.search?.trim();
    if (s) {
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
    return where;
  }

  /** The queues a list covers: those the agent may see (all for the system), narrowed to the filter's. */
  function queuesOf(agentId: number | null, filter: TicketFilter): number[] {
    const queues = (agentId === null ? allQueueIds.all() : visibleQueueIds.all({ agentId })) as number[];
    return filter.queueId === undefined ? queues : queues.filter((id) => id === filter.queueId);
  }

  /** Serves `sql` from memory while nothing a list shows has changed since it was read (see migration 007). */
  function kept<T>(sql: string, params: Record<string, unknown>, read: () => T): T {
    // The number is read before the rows, so rows read after a change are never kept under the number before it.
    const key = `${sql}\n${JSON.stringify(params)}`;
    const at = generation.get() as number;
    const hit = listCache.get(key);
    if (hit && hit.at === at) {
      listCache.delete(key);
      listCache.set(key, hit);
      return hit.value as T;
    }
    const value = read();
    listCache.delete(key);
    listCache.set(key, { at, value });
    if (listCache.size > LIST_CACHE_ENTRIES) listCache.delete(listCache.keys().next().value!);
    return value;
  }

  /**
   * A page of a list in the filter's order, after or before a position (keyset paging: a page costs
   * its rows and the index steps to its position, not an offset's). Sorted by the last update and
   * not narrowed to an owner, customer, priority or search, it is one indexed range per queue
   * (queue, [state,] updated_at, id), merged by SQLite in that order: a page reads its rows, not the
   * queues. So are lists by age and by priority (migration 013); by TTN, state or owner, SQLite
   * sorts the tickets that match.
   */
  async function list(agentId: number | null, filter: TicketFilter): Promise<readonly TicketListItem[]> {
    const queues = queuesOf(agentId, filter);
    if (queues.length === 0) return [];
    const sort = filter.sort ?? 'updated';
    const keys = SORT_KEYS[sort];
    const limit = Math.max(1, Math.min(Math.floor(filter.limit ?? 100), MAX_LIST_LIMIT));
    const params: Record<string, unknown> = { limit };
    const where = conditions(filter, params);
    const direction = filter.direction ?? 'desc';
    // A previous page is read backwards from its position, then put in the list's order.
    const backwards = filter.before !== undefined;
    const readDirection = backwards === (direction === 'desc') ? 'ASC' : 'DESC';
    const position = backwards ? (filter.before === 'end' ? undefined : filter.before) : filter.after;
    if (position) {
      if (position.key.length !== keys.length) throw new Error(`a position in a list by ${sort} has ${keys.length} values`);
      position.key.forEach((v, i) => (params[`k${i}`] = v));
      params.kid = position.id;
      where.push(`(${keys.map((k) => k.expression).join(', ')}, t.id) ${readDirection === 'DESC' ? '<' : '>'} (${keys.map((_, i) => `@k${i}`).join(', ')}, @kid)`);
    }
    const columns = keys.map((k, i) => `${k.expression} AS k${i}`).join(', ');
    const order = (prefix: string) => [...keys.map((_, i) => `${prefix}k${i}`), `${prefix}id`].map((c) => `${c} ${readDirection}`).join(', ');
    const perQueue = PER_QUEUE_SORTS.has(sort) && filter.ownerId === undefined && filter.customerId === undefined && filter.priority === undefined && !filter.search?.trim() && queues.length <= PER_QUEUE_RANGES;
    let rows: string;
    if (perQueue) {
      rows = queues
        .map((id, i) => {
          params[`q${i}`] = id;
          return `SELECT t.*, ${columns} FROM tickets t WHERE ${[`t.queue_id = @q${i}`, ...where].join(' AND ')}`;
        })
        .join(' UNION ALL ');
    } else {
      queues.forEach((id, i) => (params[`q${i}`] = id));
      where.unshift(`t.queue_id IN (${queues.map((_, i) => `@q${i}`).join(', ')})`);
      rows = `SELECT t.*, ${columns} FROM tickets t WHERE ${where.join(' AND ')}`;
    }
    // SQLite hands the page over as one JSON text (the list's shape, made here): for 50 rows that is
    // several times faster than better-sqlite3 building 700 JavaScript values one by one. The ranges
    // are merged in index order and read lazily: the LIMIT stops every one of them.
    const listOrder = [...keys.map((_, i) => `l.k${i}`), 'l.id'].map((c) => `${c} ${direction.toUpperCase()}`).join(', ');
    const sql = `SELECT json_group_array(json_object(${LIST_ITEM_JSON}) ORDER BY ${listOrder})
      FROM (${rows} ORDER BY ${order('')} LIMIT @limit) l
      JOIN queues q ON q.id = l.queue_id LEFT JOIN agents a ON a.id = l.owner_id LEFT JOIN customers c ON c.id = l.customer_id`;
    return kept(sql, params, () => {
      const items = JSON.parse(statement(sql).pluck().get(params) as string) as TicketListItem[];
      for (const item of items) Object.freeze(item);
      return Object.freeze(items);
    });
  }

  /**
   * How many tickets match: from the per-queue counts (migration 006) when the filter is queues and
   * states only, else counted over the same conditions (and kept like the lists).
   */
  function countMatching(agentId: number | null, filter: TicketFilter): number {
    const queues = new Set(queuesOf(agentId, filter));
    if (queues.size === 0) return 0;
    if (filter.ownerId === undefined && filter.customerId === undefined && filter.priority === undefined && !filter.search?.trim()) {
      let n = 0;
      for (const row of allCounts.all() as Array<{ queueId: number; state: TicketState; n: number }>) {
        if (!queues.has(row.queueId)) continue;
        if (filter.state === 'any-open' ? row.state === 'closed' : filter.state !== undefined && row.state !== filter.state) continue;
        n += row.n;
      }
      return n;
    }
    const params: Record<string, unknown> = {};
    const where = conditions(filter, params);
    [...queues].forEach((id, i) => (params[`q${i}`] = id));
    where.unshift(`t.queue_id IN (${[...queues].map((_, i) => `@q${i}`).join(', ')})`);
    const sql = `SELECT count(*) FROM tickets t WHERE ${where.join(' AND ')}`;
    return kept(sql, params, () => statement(sql).pluck().get(params) as number);
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
    async countMatching(agentId, filter) {
      return countMatching(agentId, filter);
    },
    listAll: (filter) => list(null, filter),
    async countVisible(agentId) {
      return counts.all({ agentId }) as Array<{ queueId: number; state: TicketState; count: number }>;
    },
    async update(id, change: TicketChange, now, by) {
      return update.immediate(id, change, now, by);
    },
    async wakeDue(now, limit) {
      return wakeDue.immediate(now, limit);
    },
    async history(ticketId) {
      return historyOf.all(ticketId) as HistoryEntry[];
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
