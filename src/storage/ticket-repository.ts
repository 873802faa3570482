import type { RawBuilder, Selectable } from 'kysely';
import { sql } from 'kysely';
import { DuplicateTtnError, NotFoundError } from '../core/errors.js';
import type { ArticleStart, NewTicketRecord, TicketChange, TicketFilter, TicketListItem, TicketSort, TicketStore } from '../core/ports.js';
import { ARTICLE_START_CHARS, MAX_LIST_LIMIT } from '../core/ports.js';
import type { Article, ArticleInput, ChangedBy, Delivery, HistoryEntry, HistoryField, Ticket, TicketState } from '../core/types.js';
import type { Query, Sql } from './engine.js';
import type { Schema } from './schema.js';
import { contains, isUniqueViolation, param, preparedQuery } from './engine.js';

/** A ticket's row, as the schema (schema.ts) has it. */
export type TicketRow = Selectable<Schema['tickets']>;

export interface ArticleRow {
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

export const toArticle = (r: ArticleRow): Article => ({
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

/** A {@link TicketListItem} as JSON object arguments (SQLite's json_object, PostgreSQL's json_build_object), over `l` (tickets) and the joined q, a, c. */
const LIST_ITEM_JSON = sql`'id', l.id, 'ttn', l.ttn, 'title', l.title, 'queueId', l.queue_id, 'state', l.state, 'priority', l.priority,
  'ownerId', l.owner_id, 'customerId', l.customer_id, 'createdAt', l.created_at, 'updatedAt', l.updated_at, 'closedAt', l.closed_at,
  'linkedTicketId', l.linked_ticket_id, 'pendingUntil', l.pending_until,
  'queueName', q.name, 'ownerName', a.name, 'customerName', c.name`;

// Lists kept in memory per connection (a 50-row page is about 15 KB).
const LIST_CACHE_ENTRIES = 256;

// Beyond this many visible queues a list is one query over all of them instead of a range per queue.
const PER_QUEUE_RANGES = 64;

/** The columns each sort orders by (before the ticket id), as SQL over `t` (tickets). */
const SORT_KEYS: Record<TicketSort, RawBuilder<unknown>[]> = {
  updated: [sql`t.updated_at`],
  created: [sql`t.created_at`],
  ttn: [sql`t.ttn`],
  priority: [sql`t.priority`, sql`t.updated_at`],
  // STATE_RANK in ports.ts.
  state: [sql`CASE t.state WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END`, sql`t.updated_at`],
  owner: [sql`coalesce((SELECT name FROM agents WHERE id = t.owner_id), '')`, sql`t.updated_at`],
};

// Sorts with an index per queue (migrations 006, 013): a page is a merge of per-queue ranges.
const PER_QUEUE_SORTS = new Set<TicketSort>(['updated', 'created', 'priority']);

// Queues an agent may see: admins see every queue, agents those with a permission row.
const visibleQueues = (agentId: number) => sql`
  SELECT q.id FROM queues q, agents a WHERE a.id = ${agentId} AND a.role = 'admin'
  UNION SELECT p.queue_id FROM queue_permissions p WHERE p.agent_id = ${agentId}`;

const articleValues = (ticketId: number, a: ArticleInput, now: string) => ({
  ticket_id: ticketId,
  kind: a.kind,
  from_addr: a.from ?? null,
  to_addr: a.to ?? null,
  cc_addr: a.cc ?? null,
  reply_to: a.replyTo ?? null,
  subject: a.subject ?? null,
  body_text: a.text,
  body_html: a.html ?? null,
  message_id: a.messageId ?? null,
  in_reply_to: a.inReplyTo ?? null,
  author_agent_id: a.authorAgentId ?? null,
  references_header: a.references?.join(' ') || null,
  raw_message_id: a.rawMessageId ?? null,
  created_at: now,
});

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
const COLUMNS: Record<keyof TicketChange, keyof TicketRow> = { state: 'state', ownerId: 'owner_id', queueId: 'queue_id', title: 'title', priority: 'priority', linkedTicketId: 'linked_ticket_id', customerId: 'customer_id', pendingUntil: 'pending_until' };

// The call path's ticket queries (a lookup by TTN, a touch and an article for each call), built once.
const TICKET_BY_ID = preparedQuery<TicketRow, { id: number }>((q) => q.selectFrom('tickets').selectAll().where('id', '=', param('id')));
const TICKET_BY_TTN = preparedQuery<TicketRow, { ttn: string }>((q) => q.selectFrom('tickets').selectAll().where('ttn', '=', param('ttn')));
const TOUCH = preparedQuery<TicketRow, { id: number; now: string }>((q) => q.updateTable('tickets').set({ updated_at: param('now') }).where('id', '=', param('id')).returningAll());
const ARTICLE_KEYS = Object.keys(articleValues(0, { kind: 'note', text: '' }, '')) as Array<keyof ReturnType<typeof articleValues>>;
const INSERT_ARTICLE = preparedQuery<ArticleRow, ReturnType<typeof articleValues>>(
  (q) => q.insertInto('articles').values(Object.fromEntries(ARTICLE_KEYS.map((k) => [k, param(k)])) as unknown as ReturnType<typeof articleValues>).returningAll() as unknown as Query<ArticleRow>,
);
// PostgreSQL: the article added and its ticket touched in one statement (see `addArticle`).
const ADD_ARTICLE_PG = preparedQuery<{ ticket: TicketRow | null; article: ArticleRow | null }, ReturnType<typeof articleValues> & { now: string }>(
  () => sql`WITH a AS (INSERT INTO articles (${sql.join(ARTICLE_KEYS.map((k) => sql.ref(k)))}) VALUES (${sql.join(ARTICLE_KEYS.map((k) => sql`${param(k)}`))}) RETURNING *),
    t AS (UPDATE tickets SET updated_at = ${param('now')} WHERE id = (SELECT ticket_id FROM a) RETURNING *)
    SELECT (SELECT row_to_json(t) FROM t) AS ticket, (SELECT row_to_json(a) FROM a) AS article`,
);
// What a pop shows of a ticket's articles (see `latestArticles`), for the ticket `ticketId` names.
const latestOf = (ticketId: RawBuilder<unknown>) =>
  sql<ArticleStart>`SELECT kind, from_addr AS "from", subject, substr(body_text, 1, ${sql.raw(String(ARTICLE_START_CHARS))}) AS "textStart", created_at AS "createdAt"
    FROM articles WHERE ticket_id = ${ticketId} AND kind <> 'call' ORDER BY id DESC LIMIT ${param('limit')}`;
const LATEST = preparedQuery<ArticleStart, { ticketId: number; limit: number }>(() => latestOf(sql`${param('ticketId')}`));
// PostgreSQL: the ticket a caller keyed with those articles, in one statement (see `findForCall`).
const FOR_CALL_PG = preparedQuery<TicketRow & { latest: ArticleStart[] }, { ttn: string; limit: number }>(
  () => sql`SELECT t.*, (SELECT coalesce(json_agg(x), '[]') FROM (${latestOf(sql`t.id`)}) x) AS latest FROM tickets t WHERE t.ttn = ${param('ttn')}`,
);

/**
 * The ticket writes as steps on `db` — inside a transaction when `db` is one: the repository's own
 * (one per call) and a use case's that writes several things at once (filing a mail).
 */
export function ticketWrites(db: Sql) {
  const { q } = db;
  const byId = async (id: number) => db.first(TICKET_BY_ID(db, { id }));
  const nameOf = async (table: 'agents' | 'queues' | 'customers', id: number) => (await db.first(q.selectFrom(table).select('name').where('id', '=', id)))?.name;
  /** A ticket's field as history keeps it: the value as text, and its name where it is an id. */
  const LABELS: Partial<Record<HistoryField, (v: number) => Promise<unknown>>> = {
    created: (v) => nameOf('queues', v),
    owner: (v) => nameOf('agents', v),
    queue: (v) => nameOf('queues', v),
    customer: (v) => nameOf('customers', v),
    link: async (v) => (await db.first(q.selectFrom('tickets').select('ttn').where('id', '=', v)))?.ttn,
  };
  const recorded = async (field: HistoryField, value: unknown): Promise<{ value: string | null; label: string | null }> => {
    if (value === null || value === undefined) return { value: null, label: null };
    const label = await LABELS[field]?.(value as number);
    return { value: String(value), label: label === undefined ? String(value) : String(label ?? value) };
  };
  const record = async (ticketId: number, at: string, by: ChangedBy, field: HistoryField, oldValue: unknown, newValue: unknown) => {
    const o = await recorded(field, oldValue);
    const n = await recorded(field, newValue);
    await db.run(q.insertInto('ticket_history').values({ ticket_id: ticketId, at, via: by.via, agent_id: by.agentId, field, old_value: o.value, new_value: n.value, old_label: o.label, new_label: n.label }));
  };

  return {
    /** Inserts a ticket, and its creation into its history; a taken TTN throws {@link DuplicateTtnError}. */
    async insertTicket(r: Omit<NewTicketRecord, 'article'>): Promise<Ticket> {
      let row: TicketRow;
      try {
        [row] = (await db.all(
          q
            .insertInto('tickets')
            .values({ ttn: r.ttn, title: r.title, queue_id: r.queueId, state: r.state, priority: r.priority, owner_id: r.ownerId, customer_id: r.customerId, created_at: r.now, updated_at: r.now })
            .returningAll(),
        )) as [TicketRow];
      } catch (error) {
        if (isUniqueViolation(error) && (String(error).includes('tickets.ttn') || (error as { constraint?: string }).constraint === 'tickets_ttn_key')) {
          throw new DuplicateTtnError(`TTN ${r.ttn} is taken`);
        }
        throw error;
      }
      const ticket = toTicket(row);
      await record(ticket.id, r.now, r.by ?? SYSTEM, 'created', null, ticket.queueId);
      return ticket;
    },
    insertArticle: async (ticketId: number, a: ArticleInput, now: string): Promise<Article> => toArticle((await db.all(INSERT_ARTICLE(db, articleValues(ticketId, a, now))))[0]!),
    /** Marks the ticket changed now (a new article); NotFoundError when there is no such ticket. */
    async touch(ticketId: number, now: string): Promise<Ticket> {
      const [row] = await db.all(TOUCH(db, { id: ticketId, now }));
      if (!row) throw new NotFoundError(`no ticket with id ${ticketId}`);
      return toTicket(row);
    },
    findById: async (id: number): Promise<Ticket | null> => {
      const row = await byId(id);
      return row ? toTicket(row) : null;
    },
    /** Changes the ticket and records each field that changed in its history (call inside a transaction). */
    async update(id: number, change: TicketChange, now: string, by: ChangedBy = SYSTEM): Promise<Ticket> {
      const before = await byId(id);
      if (!before) throw new NotFoundError(`no ticket with id ${id}`);
      const values: Record<string, unknown> = { updated_at: now };
      for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof TicketChange, string]>) {
        if (change[key] !== undefined) values[column] = change[key];
      }
      if (change.state !== undefined) values.closed_at = change.state === 'closed' ? sql`coalesce(closed_at, ${now})` : null;
      const [row] = await db.all(q.updateTable('tickets').set(values).where('id', '=', id).returningAll());
      if (!row) throw new NotFoundError(`no ticket with id ${id}`);
      for (const [column, field] of CHANGED) if (row[column] !== before[column]) await record(id, now, by, field, before[column], row[column]);
      if (row.linked_ticket_id !== before.linked_ticket_id) {
        await record(id, now, by, 'link', before.linked_ticket_id, row.linked_ticket_id);
        if (row.linked_ticket_id !== null) await record(row.linked_ticket_id, now, by, 'linked-from', null, row.ttn);
      }
      return toTicket(row);
    },
  };
}

export type TicketWrites = ReturnType<typeof ticketWrites>;

/** {@link TicketStore} on either engine. */
export function createTicketRepository(db: Sql): TicketStore {
  const { q } = db;
  const writes = ticketWrites(db);
  const findByTtn = async (ttn: string): Promise<Ticket | null> => {
    const row = await db.first(TICKET_BY_TTN(db, { ttn }));
    return row ? toTicket(row) : null;
  };
  // Recent lists and counts (least recently used first), each with the generation it was read at.
  const listCache = new Map<string, { at: number; value: unknown }>();

  /** The filter's conditions on `t` (tickets), without the queues and the position. */
  function conditions(filter: TicketFilter): RawBuilder<unknown>[] {
    const where: RawBuilder<unknown>[] = [];
    if (filter.state === 'any-open') where.push(sql`t.state <> 'closed'`);
    else if (filter.state !== undefined) where.push(sql`t.state = ${filter.state}`);
    if (filter.ownerId === null) where.push(sql`t.owner_id IS NULL`);
    else if (filter.ownerId !== undefined) where.push(sql`t.owner_id = ${filter.ownerId}`);
    if (filter.customerId !== undefined) where.push(sql`t.customer_id = ${filter.customerId}`);
    if (filter.priority !== undefined) where.push(sql`t.priority = ${filter.priority}`);
    const s = filter.search?.trim();
    if (s) {
      const prefix = `${s.replace(/[%_\\]/g, '\\$&')}%`;
      const like = `%${s.replace(/[%_\\]/g, '\\$&')}%`;
      // A phone number in any format: compare its digits (without trunk/international zeros) with the stored E.164.
      const digits = /^[\d\s\-./()+]+$/.test(s) ? s.replace(/\D/g, '').replace(/^0+/, '') : '';
      const phoneLike = digits.length >= 3 ? `%${digits}%` : like;
      const has = (expression: RawBuilder<unknown>, pattern = like) => contains(db, expression, pattern);
      where.push(sql`(${has(sql`t.ttn`, prefix)} OR ${has(sql`t.title`)}
        OR t.customer_id IN (SELECT c.id FROM customers c WHERE ${has(sql`c.name`)}
          UNION SELECT customer_id FROM customer_emails WHERE ${has(sql`email`)}
          UNION SELECT customer_id FROM customer_phones WHERE ${has(sql`phone`)} OR ${has(sql`phone`, phoneLike)})
        OR t.id IN (SELECT ticket_id FROM articles WHERE ${has(sql`body_text`)} OR ${has(sql`subject`)}))`);
    }
    return where;
  }

  /** The queues a list covers: those the agent may see (all for the system), narrowed to the filter's. */
  async function queuesOf(agentId: number | null, filter: TicketFilter): Promise<number[]> {
    const rows = await db.all(agentId === null ? sql<{ id: number }>`SELECT id FROM queues ORDER BY id` : sql<{ id: number }>`SELECT id FROM (${visibleQueues(agentId)}) v ORDER BY id`);
    const queues = rows.map((r) => r.id);
    return filter.queueId === undefined ? queues : queues.filter((id) => id === filter.queueId);
  }

  /** Serves `query` from memory while nothing a list shows has changed since it was read (see migration 007). */
  async function kept<T>(query: RawBuilder<unknown>, read: (query: RawBuilder<unknown>) => Promise<T>): Promise<T> {
    // The number is read before the rows, so rows read after a change are never kept under the number before it.
    const compiled = query.compile(q);
    const key = `${compiled.sql}\n${JSON.stringify(compiled.parameters)}`;
    const at = (await db.first(q.selectFrom('list_generation').select('n').where('id', '=', 1)))!.n;
    const hit = listCache.get(key);
    if (hit && hit.at === at) {
      listCache.delete(key);
      listCache.set(key, hit);
      return hit.value as T;
    }
    const value = await read(query);
    listCache.delete(key);
    listCache.set(key, { at, value });
    if (listCache.size > LIST_CACHE_ENTRIES) listCache.delete(listCache.keys().next().value!);
    return value;
  }

  /**
   * A page of a list in the filter's order, after or before a position (keyset paging: a page costs
   * its rows and the index steps to its position, not an offset's). Sorted by the last update and
   * not narrowed to an owner, customer, priority or search, it is one indexed range per queue
   * (queue, [state,] updated_at, id), merged by the database in that order: a page reads its rows,
   * not the queues. So are lists by age and by priority (migration 013); by TTN, state or owner,
   * the database sorts the tickets that match.
   */
  async function list(agentId: number | null, filter: TicketFilter): Promise<readonly TicketListItem[]> {
    const queues = await queuesOf(agentId, filter);
    if (queues.length === 0) return [];
    const sort = filter.sort ?? 'updated';
    const keys = SORT_KEYS[sort];
    const limit = Math.max(1, Math.min(Math.floor(filter.limit ?? 100), MAX_LIST_LIMIT));
    const where = conditions(filter);
    const direction = filter.direction ?? 'desc';
    // A previous page is read backwards from its position, then put in the list's order.
    const backwards = filter.before !== undefined;
    const readDescending = backwards !== (direction === 'desc');
    const readDirection = sql.raw(readDescending ? 'DESC' : 'ASC');
    const position = backwards ? (filter.before === 'end' ? undefined : filter.before) : filter.after;
    if (position) {
      if (position.key.length !== keys.length) throw new Error(`a position in a list by ${sort} has ${keys.length} values`);
      const after = sql.raw(readDescending ? '<' : '>');
      where.push(sql`(${sql.join([...keys, sql`t.id`])}) ${after} (${sql.join([...position.key, position.id])})`);
    }
    const columns = sql.join(keys.map((k, i) => sql`${k} AS ${sql.raw(`k${i}`)}`));
    const order = sql.join([...keys.map((_, i) => sql.raw(`k${i}`)), sql.raw('id')].map((c) => sql`${c} ${readDirection}`));
    const perQueue = PER_QUEUE_SORTS.has(sort) && filter.ownerId === undefined && filter.customerId === undefined && filter.priority === undefined && !filter.search?.trim() && queues.length <= PER_QUEUE_RANGES;
    const rows = perQueue
      ? sql.join(
          queues.map((id) => sql`SELECT t.*, ${columns} FROM tickets t WHERE ${sql.join([sql`t.queue_id = ${id}`, ...where], sql` AND `)}`),
          sql` UNION ALL `,
        )
      : sql`SELECT t.*, ${columns} FROM tickets t WHERE ${sql.join([sql`t.queue_id IN (${sql.join(queues)})`, ...where], sql` AND `)}`;
    // The database hands the page over as one JSON text (the list's shape, made there): for 50 rows
    // that is several times faster than the driver building 700 JavaScript values one by one. The
    // ranges are merged in index order and read lazily: the LIMIT stops every one of them.
    const listOrder = sql.join([...keys.map((_, i) => sql.raw(`l.k${i}`)), sql.raw('l.id')].map((c) => sql`${c} ${sql.raw(direction.toUpperCase())}`));
    const page =
      db.dialect === 'sqlite'
        ? sql`json_group_array(json_object(${LIST_ITEM_JSON}) ORDER BY ${listOrder})`
        : sql`coalesce(json_agg(json_build_object(${LIST_ITEM_JSON}) ORDER BY ${listOrder}), '[]')::text`;
    const query = sql`SELECT ${page} AS page
      FROM (${rows} ORDER BY ${order} LIMIT ${limit}) l
      JOIN queues q ON q.id = l.queue_id LEFT JOIN agents a ON a.id = l.owner_id LEFT JOIN customers c ON c.id = l.customer_id`;
    return kept(query, async (built) => {
      const items = JSON.parse((await db.first(built as RawBuilder<{ page: string }>))!.page) as TicketListItem[];
      for (const item of items) Object.freeze(item);
      return Object.freeze(items);
    });
  }

  /**
   * How many tickets match: from the per-queue counts (migration 006) when the filter is queues and
   * states only, else counted over the same conditions (and kept like the lists).
   */
  async function countMatching(agentId: number | null, filter: TicketFilter): Promise<number> {
    const queues = new Set(await queuesOf(agentId, filter));
    if (queues.size === 0) return 0;
    if (filter.ownerId === undefined && filter.customerId === undefined && filter.priority === undefined && !filter.search?.trim()) {
      let n = 0;
      for (const row of await db.all(q.selectFrom('ticket_counts').select(['queue_id', 'state', 'n']).where('n', '>', 0))) {
        if (!queues.has(row.queue_id)) continue;
        if (filter.state === 'any-open' ? row.state === 'closed' : filter.state !== undefined && row.state !== filter.state) continue;
        n += row.n;
      }
      return n;
    }
    const query = sql`SELECT count(*) AS n FROM tickets t WHERE ${sql.join([sql`t.queue_id IN (${sql.join([...queues])})`, ...conditions(filter)], sql` AND `)}`;
    return kept(query, async (built) => (await db.first(built as RawBuilder<{ n: number }>))!.n);
  }

  return {
    create: (record) =>
      db.transaction(async (tx) => {
        const w = ticketWrites(tx);
        const { article: first, ...fields } = record;
        const ticket = await w.insertTicket(fields);
        return { ticket, article: await w.insertArticle(ticket.id, first, record.now) };
      }),
    findById: (id) => writes.findById(id),
    findByTtn,
    async findForCall(ttn, articles) {
      // On PostgreSQL a round trip less for every call that keys a number; SQLite reads in-process.
      if (db.dialect === 'postgres') {
        const row = await db.first(FOR_CALL_PG(db, { ttn, limit: articles }));
        if (!row) return null;
        const { latest, ...ticket } = row;
        return { ticket: toTicket(ticket), latest };
      }
      const ticket = await findByTtn(ttn);
      return ticket ? { ticket, latest: await db.all(LATEST(db, { ticketId: ticket.id, limit: articles })) } : null;
    },
    listVisible: (agentId, filter) => list(agentId, filter),
    countMatching: (agentId, filter) => countMatching(agentId, filter),
    listAll: (filter) => list(null, filter),
    countVisible: (agentId) =>
      db.all(sql<{ queueId: number; state: TicketState; count: number }>`SELECT queue_id AS "queueId", state, n AS count FROM ticket_counts WHERE queue_id IN (${visibleQueues(agentId)}) AND n > 0`),
    update: (id, change, now, by) => db.transaction((tx) => ticketWrites(tx).update(id, change, now, by)),
    // Checked and changed in one transaction: of several processes or instances waking tickets, one wakes each.
    wakeDue: (now, limit) =>
      db.transaction(async (tx) => {
        const due = await tx.all(
          q.selectFrom('tickets').selectAll().where('pending_until', 'is not', null).where('pending_until', '<=', now).where('state', '=', 'pending').orderBy('pending_until').limit(limit),
        );
        const w = ticketWrites(tx);
        const woken: Array<{ before: Ticket; ticket: Ticket }> = [];
        for (const row of due) woken.push({ before: toTicket(row), ticket: await w.update(row.id, { state: 'open', pendingUntil: null }, now, { via: 'reminder', agentId: null }) });
        return woken;
      }),
    history: (ticketId) =>
      db.all(
        sql<HistoryEntry>`SELECT h.id, h.ticket_id AS "ticketId", h.at, h.via, h.agent_id AS "agentId", a.name AS "agentName", h.field,
          h.old_value AS "oldValue", h.new_value AS "newValue", h.old_label AS "oldLabel", h.new_label AS "newLabel"
          FROM ticket_history h LEFT JOIN agents a ON a.id = h.agent_id WHERE h.ticket_id = ${ticketId} ORDER BY h.id`,
      ),
    addArticle: async (ticketId, article, now) => {
      // On PostgreSQL in one statement — the ticket touched and the article added, atomically — instead
      // of a transaction's five round trips (BEGIN, the write lock, two writes, COMMIT): a call ending
      // writes one on the call path. (SQLite has no writes inside WITH, and a write there costs no round trip.)
      if (db.dialect === 'postgres') {
        let row: { ticket: TicketRow | null; article: ArticleRow | null } | undefined;
        try {
          [row] = await db.all(ADD_ARTICLE_PG(db, { ...articleValues(ticketId, article, now), now }));
        } catch (error) {
          // The article's ticket does not exist (foreign key).
          if ((error as { code?: string }).code === '23503') throw new NotFoundError(`no ticket with id ${ticketId}`);
          throw error;
        }
        if (!row?.ticket || !row.article) throw new NotFoundError(`no ticket with id ${ticketId}`);
        return { ticket: toTicket(row.ticket), article: toArticle(row.article) };
      }
      return db.transaction(async (tx) => {
        const w = ticketWrites(tx);
        const ticket = await w.touch(ticketId, now);
        return { ticket, article: await w.insertArticle(ticketId, article, now) };
      });
    },
    articles: async (ticketId) =>
      (
        await db.all(
          sql<ArticleRow>`SELECT a.*, o.status AS out_status, o.attempts AS out_attempts, o.last_error AS out_last_error, o.next_attempt_at AS out_next_attempt_at, o.sent_at AS out_sent_at
            FROM articles a LEFT JOIN outbox o ON o.id = (SELECT max(id) FROM outbox WHERE article_id = a.id)
            WHERE a.ticket_id = ${ticketId} ORDER BY a.id`,
        )
      ).map(toArticle),
    latestArticles: (ticketId, limit) => db.all(LATEST(db, { ticketId, limit })),
  };
}
