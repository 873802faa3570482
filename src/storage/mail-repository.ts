import { sql } from 'kysely';
import type { NewTicketRecord, TicketChange } from '../core/ports.js';
import type { Article, ArticleInput, AttachmentInput, Ticket } from '../core/types.js';
import { crashPoint } from '../crash-point.js';
import { insertAttachment } from './attachment-repository.js';
import type { Sql } from './engine.js';
import { ticketWrites } from './ticket-repository.js';

export interface RawMessage {
  id: number;
  source: string;
  envelopeFrom: string | null;
  envelopeTo: string[];
  messageId: string | null;
  sha256: string;
  size: number;
  status: 'new' | 'done' | 'failed' | 'duplicate';
  outcome: string | null;
  error: string | null;
  ticketId: number | null;
  receivedAt: string;
  processedAt: string | null;
}

interface RawRow {
  id: number;
  source: string;
  envelope_from: string | null;
  envelope_to: string;
  message_id: string | null;
  sha256: string;
  size: number;
  status: RawMessage['status'];
  outcome: string | null;
  error: string | null;
  ticket_id: number | null;
  received_at: string;
  processed_at: string | null;
}

const toRaw = (r: RawRow): RawMessage => ({
  id: r.id,
  source: r.source,
  envelopeFrom: r.envelope_from,
  envelopeTo: JSON.parse(r.envelope_to) as string[],
  messageId: r.message_id,
  sha256: r.sha256,
  size: r.size,
  status: r.status,
  outcome: r.outcome,
  error: r.error,
  ticketId: r.ticket_id,
  receivedAt: r.received_at,
  processedAt: r.processed_at,
});

export interface OutboxItem {
  id: number;
  articleId: number | null;
  kind: 'auto-reply' | 'agent-reply' | 'notice';
  envelopeFrom: string;
  envelopeTo: string[];
  messageId: string;
  raw: Buffer;
  attempts: number;
}

/** A message as received, to be stored before anything else happens to it. */
export interface RawInput {
  source: string;
  envelopeFrom: string | null;
  envelopeTo: string[];
  messageId: string | null;
  sha256: string;
  /** Equal for deliveries of one message by different routes (see contentKey); null: only equal bytes repeat. */
  contentKey?: string | null;
  raw: Buffer;
  now: string;
}

export interface StoredRaw {
  id: number;
  duplicate: boolean;
}

/** A message queued for sending with its article. */
export interface PlannedOutbox {
  kind: OutboxItem['kind'];
  envelopeFrom: string;
  envelopeTo: string[];
  messageId: string;
  raw: Buffer;
}

/** An article to write, with its files and the mail that goes out with it. */
export interface PlannedArticle {
  article: ArticleInput;
  attachments: Array<AttachmentInput & { sha256: string; size: number }>;
  outbox?: PlannedOutbox;
  /**
   * An auto-reply: left out (article and mail) when `to` already had `max` auto-replies since
   * `since`, counted under the write lock, so messages filed at once cannot pass the limit together.
   */
  limit?: { to: string; since: string; max: number };
}

/**
 * Everything one use case writes ("file this mail", "reply"), decided beforehand (parsed,
 * composed, TTN taken), committed by {@link MailRepository.commit} in one transaction.
 */
export interface FilingPlan {
  /** The stored message being filed: written only while it is not filed yet. Null: an agent's reply. */
  rawId: number | null;
  ticket: { id: number } | { create: Omit<NewTicketRecord, 'article'> };
  /** Applied to that ticket after its articles (a follow-up reopens, a new ticket links the closed one). */
  change?: TicketChange;
  articles: PlannedArticle[];
  /** A delivery report's verdict on the article it reports on. */
  delivery?: { articleId: number; status: 'failed' };
  /** What the stored message is marked as. */
  outcome?: { outcome: string; messageId: string | null };
  /** Files an agent attached for this reply, gone once it is written. */
  deleteDrafts?: number[];
  now: string;
}

export type FilingResult =
  | { filed: true; ticket: Ticket; before: Ticket | null; articles: Article[]; outboxIds: number[]; skipped: string[] }
  /** The message was filed already (another process, an earlier run that stopped after its commit). */
  | { filed: false; outcome: string | null; ticketId: number | null };

const RAW_COLUMNS = sql`id, source, envelope_from, envelope_to, message_id, sha256, size, status, outcome, error, ticket_id, received_at, processed_at`;
const OUTBOX_ITEM = sql`id, article_id AS "articleId", kind, envelope_from AS "envelopeFrom", envelope_to AS "envelopeTo", message_id AS "messageId", raw, attempts`;

/** Changes filing makes are recorded in a ticket's history as made by mail. */
const BY_MAIL = { via: 'mail', agentId: null } as const;

/** Makes commits durable before a sender is told "250 OK" (SQLite: the WAL synced, see wal-sync.ts; PostgreSQL: a commit is). */
export interface Durability {
  sync(): Promise<void>;
  close(): Promise<void>;
}

const committedIsDurable: Durability = { sync: async () => undefined, close: async () => undefined };

/** Raw messages, the outbox, and the mail details of articles, on either engine. */
export function createMailRepository(db: Sql, durability: Durability = committedIsDurable) {
  const { q } = db;
  const toOutboxItem = (row: Omit<OutboxItem, 'envelopeTo'> & { envelopeTo: string }): OutboxItem => ({ ...row, envelopeTo: JSON.parse(row.envelopeTo) as string[] });
  const insertOutbox = async (tx: Sql, item: PlannedOutbox & { articleId: number | null; now: string }): Promise<number> =>
    (
      await tx.all(
        q
          .insertInto('outbox')
          .values({ article_id: item.articleId, kind: item.kind, envelope_from: item.envelopeFrom, envelope_to: JSON.stringify(item.envelopeTo), message_id: item.messageId, raw: item.raw, next_attempt_at: item.now, created_at: item.now })
          .returning('id'),
      )
    )[0]!.id;
  const autoRepliesTo = async (tx: Sql, to: string, since: string): Promise<number> =>
    (await tx.first(q.selectFrom('outbox').select((e) => e.fn.countAll<number>().as('n')).where('kind', '=', 'auto-reply').where('envelope_to', '=', JSON.stringify([to])).where('created_at', '>=', since)))!.n;
  const markRaw = (id: number, r: { status: RawMessage['status']; outcome: string | null; error?: string | null; ticketId?: number | null; messageId?: string | null; now: string }) =>
    // A message another filer has filed meanwhile stays filed: only the unfiled are flagged.
    q
      .updateTable('raw_messages')
      .set({ status: r.status, outcome: r.outcome, error: r.error ?? null, ticket_id: r.ticketId ?? null, message_id: sql`coalesce(${r.messageId ?? null}, message_id)`, processed_at: r.now })
      .where('id', '=', id)
      .where('status', '<>', 'done');
  const files = async (query: ReturnType<typeof sql<{ id: number; filename: string; contentType: string; content: Buffer }>>) => (await db.first(query)) ?? null;
  const counts = async (table: 'raw_messages' | 'outbox'): Promise<Record<string, number>> =>
    Object.fromEntries((await db.all(sql<{ status: string; n: number }>`SELECT status, count(*) AS n FROM ${sql.table(table)} GROUP BY status`)).map((r) => [r.status, r.n]));

  return {
    /**
     * Stores the raw bytes, on disk before it resolves (the sender is told "250 OK" only after it).
     * Resolves to the id, and whether identical bytes were already stored; rejects when they could
     * not be stored or synced (a message committed but not synced is filed by `unfiled` later, and
     * the sender's retry is recognised as the same bytes).
     */
    async storeRaw(input: RawInput): Promise<StoredRaw> {
      const stored = await db.transaction(async (tx): Promise<StoredRaw> => {
        const values = {
          source: input.source,
          envelope_from: input.envelopeFrom,
          envelope_to: JSON.stringify(input.envelopeTo),
          message_id: input.messageId,
          sha256: input.sha256,
          size: input.raw.length,
          received_at: input.now,
        };
        // Identical bytes, or the same message by another route (the content key): nothing is inserted.
        const [row] = await tx.all(q.insertInto('raw_messages').values({ ...values, content_key: input.contentKey ?? null }).onConflict((c) => c.doNothing()).returning('id'));
        if (row) {
          await tx.run(q.insertInto('raw_message_contents').values({ id: row.id, raw: input.raw }));
          return { id: row.id, duplicate: false };
        }
        const same = await tx.first(q.selectFrom('raw_messages').select('id').where('sha256', '=', input.sha256));
        if (same) return { id: same.id, duplicate: true };
        const first = (await tx.first(q.selectFrom('raw_messages').select('id').where('content_key', '=', input.contentKey ?? null)))!.id;
        // A redelivery by another route: kept (for admins, who may file it anyway), already flagged.
        const [kept] = await tx.all(
          q
            .insertInto('raw_messages')
            .values({ ...values, status: 'duplicate', outcome: 'duplicate', error: `the same message (Message-ID and content) as message #${first}, by another route`, processed_at: input.now })
            .returning('id'),
        );
        await tx.run(q.insertInto('raw_message_contents').values({ id: kept!.id, raw: input.raw }));
        return { id: kept!.id, duplicate: true };
      });
      // On disk before the sender is told: messages arriving together share one fdatasync, off the event loop.
      await durability.sync();
      return stored;
    },
    /** Lets go of the WAL file (the service is stopping). */
    close: () => durability.close(),
    raw: async (id: number): Promise<RawMessage | null> => {
      const row = await db.first(sql<RawRow>`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE id = ${id}`);
      return row ? toRaw(row) : null;
    },
    rawBytes: async (id: number): Promise<Buffer | null> => (await db.first(q.selectFrom('raw_message_contents').select('raw').where('id', '=', id)))?.raw ?? null,
    async markRaw(id: number, r: Parameters<typeof markRaw>[1]): Promise<void> {
      await db.run(markRaw(id, r));
    },
    /** Stored before `before` and still not filed (oldest first). */
    unfiled: async (before: string, limit = 500): Promise<number[]> =>
      (await db.all(q.selectFrom('raw_messages').select('id').where('status', '=', 'new').where('received_at', '<=', before).orderBy('id').limit(limit))).map((r) => r.id),
    listRaw: async (status: RawMessage['status'], limit = 200): Promise<RawMessage[]> =>
      (await db.all(sql<RawRow>`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE status = ${status} ORDER BY id DESC LIMIT ${limit}`)).map(toRaw),
    /** Messages that could not be filed, and repeats, newest first. */
    listFlagged: async (offset: number, limit: number): Promise<RawMessage[]> =>
      (await db.all(sql<RawRow>`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE status IN ('failed', 'duplicate') ORDER BY id DESC LIMIT ${limit} OFFSET ${offset}`)).map(toRaw),
    countFlagged: async (): Promise<number> => (await db.first(q.selectFrom('raw_messages').select((e) => e.fn.countAll<number>().as('n')).where('status', 'in', ['failed', 'duplicate'])))!.n,
    rawCounts: () => counts('raw_messages'),
    /** The ticket an article with one of these Message-IDs belongs to (newest first). */
    async ticketForMessageIds(ids: string[]): Promise<number | null> {
      if (ids.length === 0) return null;
      return (await db.first(q.selectFrom('articles').select('ticket_id').where('message_id', 'in', ids).orderBy('id', 'desc').limit(1)))?.ticket_id ?? null;
    },
    articleForMessageId: async (id: string): Promise<{ articleId: number; ticketId: number } | null> =>
      (await db.first(q.selectFrom('articles').select(['id as articleId', 'ticket_id as ticketId']).where('message_id', '=', id).orderBy('id', 'desc').limit(1))) ?? null,
    /** Files an agent attached for a reply on this ticket (their own only); null for an id that is not one. */
    draftFiles: (ids: number[], agentId: number, ticketId: number) =>
      Promise.all(ids.map((id) => files(sql`SELECT id, filename, content_type AS "contentType", content FROM draft_attachments WHERE id = ${id} AND agent_id = ${agentId} AND ticket_id = ${ticketId}`))),
    /** Files of the ticket's articles (sent along with a forward); null for an id that is not one of them. */
    ticketFiles: (ids: number[], ticketId: number) =>
      Promise.all(ids.map((id) => files(sql`SELECT f.id, f.filename, f.content_type AS "contentType", f.content FROM attachments f JOIN articles a ON a.id = f.article_id WHERE f.id = ${id} AND a.ticket_id = ${ticketId}`))),
    /** The customer's last mail on the ticket (its Message-ID and References), for threading a reply on it. */
    async lastIncoming(ticketId: number): Promise<{ messageId: string; references: string[] } | null> {
      const row = await db.first(
        q.selectFrom('articles').select(['message_id', 'references_header']).where('ticket_id', '=', ticketId).where('kind', '=', 'email-in').where('message_id', 'is not', null).orderBy('id', 'desc').limit(1),
      );
      return row ? { messageId: row.message_id!, references: row.references_header?.split(/\s+/).filter(Boolean) ?? [] } : null;
    },
    /** An article's References (the Message-IDs of the mails before it), for threading a reply on it. */
    referencesOf: async (articleId: number): Promise<string[]> =>
      ((await db.first(q.selectFrom('articles').select('references_header').where('id', '=', articleId)))?.references_header ?? '').split(/\s+/).filter(Boolean),
    async setDelivery(articleId: number, status: 'sent' | 'failed'): Promise<void> {
      await db.run(q.updateTable('articles').set({ delivery_status: status }).where('id', '=', articleId));
    },
    delivery: async (articleId: number): Promise<string | null> => (await db.first(q.selectFrom('articles').select('delivery_status').where('id', '=', articleId)))?.delivery_status ?? null,
    enqueue: (item: { articleId: number | null; kind: OutboxItem['kind']; envelopeFrom: string; envelopeTo: string[]; messageId: string; raw: Buffer; now: string }): Promise<number> => insertOutbox(db, item),
    /**
     * A notice's mail, queued once: the notice is marked mailed and its mail queued in one
     * transaction, only while it is not marked (another process may have mailed it meanwhile).
     */
    enqueueNotice: (noticeId: number, item: { envelopeFrom: string; envelopeTo: string[]; messageId: string; raw: Buffer; now: string } | null): Promise<boolean> =>
      db.transaction(async (tx) => {
        if ((await tx.run(q.updateTable('notices').set({ mailed_at: item?.now ?? new Date().toISOString() }).where('id', '=', noticeId).where('mailed_at', 'is', null))) === 0) return false;
        if (item) await insertOutbox(tx, { ...item, articleId: null, kind: 'notice' });
        return true;
      }),
    /** The oldest message due now that no other sender holds, claimed for `owner` until `until`; null when none is. */
    async claimNext(owner: string, now: string, until: string): Promise<OutboxItem | null> {
      // One statement: the row is chosen and claimed at once, so no other sender can take it too. The
      // conditions are checked again on the row itself: on PostgreSQL a sender that waited for another's
      // claim of the same row finds it taken (and others skip rows being claimed).
      const due = sql`status = 'pending' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until <= ${now})`;
      const [row] = await db.all(
        sql<Omit<OutboxItem, 'envelopeTo'> & { envelopeTo: string }>`UPDATE outbox SET claimed_by = ${owner}, claimed_until = ${until}
          WHERE id = (SELECT id FROM outbox WHERE ${due} ORDER BY id LIMIT 1${db.dialect === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``}) AND ${due}
          RETURNING ${OUTBOX_ITEM}`,
      );
      return row ? toOutboxItem(row) : null;
    },
    /**
     * Writes a plan in one transaction (under the write lock from its start): all of it or, when
     * anything fails or the process dies, none of it. A stored message already filed is left as it is.
     */
    async commit(plan: FilingPlan): Promise<FilingResult> {
      const result = await db.transaction(async (tx): Promise<FilingResult> => {
        if (plan.rawId !== null) {
          const raw = await tx.first(q.selectFrom('raw_messages').select(['status', 'outcome', 'ticket_id']).where('id', '=', plan.rawId));
          if (!raw) throw new Error(`no raw message ${plan.rawId}`);
          // Idempotent on the stored message: whoever commits first files it, the others find it done.
          if (raw.status === 'done') return { filed: false, outcome: raw.outcome, ticketId: raw.ticket_id };
        }
        const tickets = ticketWrites(tx);
        let ticket: Ticket;
        let before: Ticket | null = null;
        if ('create' in plan.ticket) ticket = await tickets.insertTicket({ ...plan.ticket.create, by: BY_MAIL });
        else {
          before = await tickets.findById(plan.ticket.id);
          ticket = await tickets.touch(plan.ticket.id, plan.now);
        }
        const written: Article[] = [];
        const outboxIds: number[] = [];
        const skipped: string[] = [];
        for (const p of plan.articles) {
          if (p.limit && (await autoRepliesTo(tx, p.limit.to, p.limit.since)) >= p.limit.max) {
            skipped.push(`${p.limit.to} had ${p.limit.max} auto-replies in 24 hours`);
            continue;
          }
          const article = await tickets.insertArticle(ticket.id, p.article, plan.now);
          written.push(article);
          for (const a of p.attachments) {
            await insertAttachment(tx, article.id, a);
            crashPoint('mail.filing');
          }
          if (p.outbox) outboxIds.push(await insertOutbox(tx, { ...p.outbox, articleId: article.id, now: plan.now }));
        }
        if (plan.change) ticket = await tickets.update(ticket.id, plan.change, plan.now, BY_MAIL);
        if (plan.delivery) await tx.run(q.updateTable('articles').set({ delivery_status: plan.delivery.status }).where('id', '=', plan.delivery.articleId));
        if (plan.deleteDrafts?.length) await tx.run(q.deleteFrom('draft_attachments').where('id', 'in', plan.deleteDrafts));
        if (plan.rawId !== null && plan.outcome) {
          await tx.run(markRaw(plan.rawId, { status: 'done', outcome: plan.outcome.outcome, error: null, ticketId: ticket.id, messageId: plan.outcome.messageId, now: plan.now }));
        }
        return { filed: true, ticket, before, articles: written, outboxIds, skipped };
      });
      crashPoint('mail.filed');
      return result;
    },
    async markSent(id: number, now: string): Promise<void> {
      await db.run(q.updateTable('outbox').set({ status: 'sent', sent_at: now, attempts: sql`attempts + 1`, last_error: null, claimed_by: null, claimed_until: null }).where('id', '=', id));
    },
    async markRetry(id: number, nextAttemptAt: string, error: string, giveUp: boolean): Promise<void> {
      await db.run(
        q.updateTable('outbox').set({ attempts: sql`attempts + 1`, next_attempt_at: nextAttemptAt, last_error: error, status: giveUp ? 'failed' : 'pending', claimed_by: null, claimed_until: null }).where('id', '=', id),
      );
    },
    autoRepliesSince: (to: string, since: string): Promise<number> => autoRepliesTo(db, to, since),
    outboxCounts: () => counts('outbox'),
  };
}

export type MailRepository = ReturnType<typeof createMailRepository>;
