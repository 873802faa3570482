import type { Database } from 'better-sqlite3';
import type { NewTicketRecord, TicketChange } from '../core/ports.js';
import type { Article, ArticleInput, AttachmentInput, Ticket } from '../core/types.js';
import { crashPoint } from '../crash-point.js';
import { createAttachmentWrites } from './attachment-repository.js';
import { createStatementCache } from './statement-cache.js';
import { createTicketWrites } from './ticket-repository.js';
import { walSync } from './wal-sync.js';

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

const RAW_COLUMNS = 'id, source, envelope_from, envelope_to, message_id, sha256, size, status, outcome, error, ticket_id, received_at, processed_at';

/** Raw messages, the outbox, and the mail details of articles, in SQLite. */
/** Changes filing makes are recorded in a ticket's history as made by mail. */
const BY_MAIL = { via: 'mail', agentId: null } as const;

export function createMailRepository(db: Database) {
  const statement = createStatementCache(db);
  const articleForMessageId = db.prepare('SELECT id AS articleId, ticket_id AS ticketId FROM articles WHERE message_id = ? ORDER BY id DESC LIMIT 1');
  // Identical bytes, or the same message by another route (the content key): nothing is inserted.
  const insertRaw = db.prepare(
    `INSERT INTO raw_messages (source, envelope_from, envelope_to, message_id, sha256, content_key, size, received_at)
     VALUES (@source, @envelopeFrom, @envelopeTo, @messageId, @sha256, @contentKey, @size, @now)
     ON CONFLICT DO NOTHING RETURNING id`,
  );
  // A redelivery by another route: kept (for admins, who may file it anyway), already flagged.
  const insertRedelivery = db.prepare(
    `INSERT INTO raw_messages (source, envelope_from, envelope_to, message_id, sha256, size, received_at, status, outcome, error, processed_at)
     VALUES (@source, @envelopeFrom, @envelopeTo, @messageId, @sha256, @size, @now, 'duplicate', 'duplicate', @error, @now) RETURNING id`,
  );
  const insertContents = db.prepare('INSERT INTO raw_message_contents (id, raw) VALUES (?, ?)');
  const bySha = db.prepare('SELECT id FROM raw_messages WHERE sha256 = ?').pluck();
  const byContentKey = db.prepare('SELECT id FROM raw_messages WHERE content_key = ?').pluck();
  const rawById = db.prepare(`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE id = ?`);
  const rawBytes = db.prepare('SELECT raw FROM raw_message_contents WHERE id = ?').pluck();
  const insertMessage = db.transaction((input: RawInput): StoredRaw => {
    const values = { ...input, contentKey: input.contentKey ?? null, envelopeTo: JSON.stringify(input.envelopeTo), size: input.raw.length };
    const row = insertRaw.all(values)[0] as { id: number } | undefined;
    if (row) {
      insertContents.run(row.id, input.raw);
      return { id: row.id, duplicate: false };
    }
    const same = bySha.get(input.sha256) as number | undefined;
    if (same !== undefined) return { id: same, duplicate: true };
    const first = byContentKey.get(input.contentKey) as number;
    const kept = (insertRedelivery.all({ ...values, error: `the same message (Message-ID and content) as message #${first}, by another route` })[0] as { id: number }).id;
    insertContents.run(kept, input.raw);
    return { id: kept, duplicate: true };
  });
  const wal = walSync(db);
  const markRaw = db.prepare(
    // A message another filer has filed meanwhile stays filed: only the unfiled are flagged.
    "UPDATE raw_messages SET status = @status, outcome = @outcome, error = @error, ticket_id = @ticketId, message_id = coalesce(@messageId, message_id), processed_at = @now WHERE id = @id AND status <> 'done'",
  );
  const unfiled = db.prepare("SELECT id FROM raw_messages WHERE status = 'new' AND received_at <= ? ORDER BY id LIMIT ?").pluck();
  const listRaw = db.prepare(`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE status = ? ORDER BY id DESC LIMIT ?`);
  const countRaw = db.prepare('SELECT status, count(*) AS n FROM raw_messages GROUP BY status');
  const listFlagged = db.prepare(`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE status IN ('failed', 'duplicate') ORDER BY id DESC LIMIT ? OFFSET ?`);
  const countFlagged = db.prepare("SELECT count(*) FROM raw_messages WHERE status IN ('failed', 'duplicate')").pluck();
  const setDelivery = db.prepare('UPDATE articles SET delivery_status = ? WHERE id = ?');
  const deliveryOf = db.prepare('SELECT delivery_status FROM articles WHERE id = ?').pluck();
  const insertOutbox = db.prepare(
    `INSERT INTO outbox (article_id, kind, envelope_from, envelope_to, message_id, raw, next_attempt_at, created_at)
     VALUES (@articleId, @kind, @envelopeFrom, @envelopeTo, @messageId, @raw, @now, @now) RETURNING id`,
  );
  // One statement: the row is chosen and claimed under the write lock, so no other sender can take it too.
  const claim = db.prepare(
    `UPDATE outbox SET claimed_by = @owner, claimed_until = @until
     WHERE id = (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now) ORDER BY id LIMIT 1)
     RETURNING id, article_id AS articleId, kind, envelope_from AS envelopeFrom, envelope_to AS envelopeTo, message_id AS messageId, raw, attempts`,
  );
  const sent = db.prepare("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE id = ?");
  const retry = db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, status = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?');
  const lastIncoming = db.prepare(
    "SELECT message_id AS messageId, references_header AS refs FROM articles WHERE ticket_id = ? AND kind = 'email-in' AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
  );
  const rawStatus = db.prepare('SELECT status, outcome, ticket_id AS ticketId FROM raw_messages WHERE id = ?');
  const tickets = createTicketWrites(db);
  const attachments = createAttachmentWrites(db);
  const commit = db.transaction((plan: FilingPlan): FilingResult => {
    if (plan.rawId !== null) {
      const raw = rawStatus.get(plan.rawId) as { status: RawMessage['status']; outcome: string | null; ticketId: number | null } | undefined;
      if (!raw) throw new Error(`no raw message ${plan.rawId}`);
      // Idempotent on the stored message: whoever commits first files it, the others find it done.
      if (raw.status === 'done') return { filed: false, outcome: raw.outcome, ticketId: raw.ticketId };
    }
    let ticket: Ticket;
    let before: Ticket | null = null;
    if ('create' in plan.ticket) ticket = tickets.insertTicket({ ...plan.ticket.create, by: BY_MAIL });
    else {
      before = tickets.findById(plan.ticket.id);
      ticket = tickets.touch(plan.ticket.id, plan.now);
    }
    const written: Article[] = [];
    const outboxIds: number[] = [];
    const skipped: string[] = [];
    for (const p of plan.articles) {
      if (p.limit && (autoRepliesTo.get(JSON.stringify([p.limit.to]), p.limit.since) as number) >= p.limit.max) {
        skipped.push(`${p.limit.to} had ${p.limit.max} auto-replies in 24 hours`);
        continue;
      }
      const article = tickets.insertArticle(ticket.id, p.article, plan.now);
      written.push(article);
      for (const a of p.attachments) {
        attachments.insert(article.id, a);
        crashPoint('mail.filing');
      }
      if (p.outbox) outboxIds.push((insertOutbox.all({ ...p.outbox, articleId: article.id, envelopeTo: JSON.stringify(p.outbox.envelopeTo), now: plan.now })[0] as { id: number }).id);
    }
    if (plan.change) ticket = tickets.update(ticket.id, plan.change, plan.now, BY_MAIL);
    if (plan.delivery) setDelivery.run(plan.delivery.status, plan.delivery.articleId);
    for (const id of plan.deleteDrafts ?? []) deleteDraft.run(id);
    if (plan.rawId !== null && plan.outcome) {
      markRaw.run({ id: plan.rawId, status: 'done', outcome: plan.outcome.outcome, error: null, ticketId: ticket.id, messageId: plan.outcome.messageId, now: plan.now });
    }
    return { filed: true, ticket, before, articles: written, outboxIds, skipped };
  });
  const autoRepliesTo = db.prepare("SELECT count(*) FROM outbox WHERE kind = 'auto-reply' AND envelope_to = ? AND created_at >= ?").pluck();
  const deleteDraft = db.prepare('DELETE FROM draft_attachments WHERE id = ?');
  const markNoticeMailed = db.prepare('UPDATE notices SET mailed_at = ? WHERE id = ? AND mailed_at IS NULL');
  const referencesOf = db.prepare('SELECT references_header FROM articles WHERE id = ?').pluck();
  const draftFile = db.prepare('SELECT id, filename, content_type AS contentType, content FROM draft_attachments WHERE id = ? AND agent_id = ? AND ticket_id = ?');
  const ticketFile = db.prepare(
    'SELECT f.id, f.filename, f.content_type AS contentType, f.content FROM attachments f JOIN articles a ON a.id = f.article_id WHERE f.id = ? AND a.ticket_id = ?',
  );
  const outboxCounts = db.prepare('SELECT status, count(*) AS n FROM outbox GROUP BY status');

  return {
    /**
     * Stores the raw bytes, on disk before it resolves (the sender is told "250 OK" only after it).
     * Resolves to the id, and whether identical bytes were already stored; rejects when they could
     * not be stored or synced (a message committed but not synced is filed by `unfiled` later, and
     * the sender's retry is recognised as the same bytes).
     */
    async storeRaw(input: RawInput): Promise<StoredRaw> {
      const stored = insertMessage.immediate(input);
      // On disk before the sender is told: messages arriving together share one fdatasync, off the event loop.
      await wal.sync();
      return stored;
    },
    /** Lets go of the WAL file (the service is stopping). */
    close: () => wal.close(),
    raw: (id: number): RawMessage | null => {
      const row = rawById.get(id) as RawRow | undefined;
      return row ? toRaw(row) : null;
    },
    rawBytes: (id: number): Buffer | null => (rawBytes.get(id) as Buffer | undefined) ?? null,
    markRaw(id: number, r: { status: RawMessage['status']; outcome: string | null; error?: string | null; ticketId?: number | null; messageId?: string | null; now: string }): void {
      markRaw.run({ id, status: r.status, outcome: r.outcome, error: r.error ?? null, ticketId: r.ticketId ?? null, messageId: r.messageId ?? null, now: r.now });
    },
    /** Stored before `before` and still not filed (oldest first). */
    unfiled: (before: string, limit = 500): number[] => unfiled.all(before, limit) as number[],
    listRaw: (status: RawMessage['status'], limit = 200): RawMessage[] => (listRaw.all(status, limit) as RawRow[]).map(toRaw),
    /** Messages that could not be filed, and repeats, newest first. */
    listFlagged: (offset: number, limit: number): RawMessage[] => (listFlagged.all(limit, offset) as RawRow[]).map(toRaw),
    countFlagged: (): number => countFlagged.get() as number,
    rawCounts: (): Record<string, number> => Object.fromEntries((countRaw.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n])),
    /** The ticket an article with one of these Message-IDs belongs to (newest first). */
    ticketForMessageIds(ids: string[]): number | null {
      if (ids.length === 0) return null;
      const row = statement(`SELECT ticket_id FROM articles WHERE message_id IN (${ids.map(() => '?').join(',')}) ORDER BY id DESC LIMIT 1`)
        .pluck()
        .get(...ids) as number | undefined;
      return row ?? null;
    },
    articleForMessageId(id: string): { articleId: number; ticketId: number } | null {
      return (articleForMessageId.get(id) as { articleId: number; ticketId: number } | undefined) ?? null;
    },
    /** Files an agent attached for a reply on this ticket (their own only); null for an id that is not one. */
    draftFiles: (ids: number[], agentId: number, ticketId: number) =>
      ids.map((id) => (draftFile.get(id, agentId, ticketId) as { id: number; filename: string; contentType: string; content: Buffer } | undefined) ?? null),
    /** Files of the ticket's articles (sent along with a forward); null for an id that is not one of them. */
    ticketFiles: (ids: number[], ticketId: number) =>
      ids.map((id) => (ticketFile.get(id, ticketId) as { id: number; filename: string; contentType: string; content: Buffer } | undefined) ?? null),
    /** The customer's last mail on the ticket (its Message-ID and References), for threading a reply on it. */
    lastIncoming(ticketId: number): { messageId: string; references: string[] } | null {
      const row = lastIncoming.get(ticketId) as { messageId: string; refs: string | null } | undefined;
      return row ? { messageId: row.messageId, references: row.refs?.split(/\s+/).filter(Boolean) ?? [] } : null;
    },
    /** An article's References (the Message-IDs of the mails before it), for threading a reply on it. */
    referencesOf: (articleId: number): string[] => ((referencesOf.get(articleId) as string | null | undefined) ?? '').split(/\s+/).filter(Boolean),
    setDelivery: (articleId: number, status: 'sent' | 'failed') => void setDelivery.run(status, articleId),
    delivery: (articleId: number): string | null => (deliveryOf.get(articleId) as string | null | undefined) ?? null,
    enqueue(item: { articleId: number | null; kind: OutboxItem['kind']; envelopeFrom: string; envelopeTo: string[]; messageId: string; raw: Buffer; now: string }): number {
      return (insertOutbox.all({ ...item, envelopeTo: JSON.stringify(item.envelopeTo) })[0] as { id: number }).id;
    },
    /**
     * A notice's mail, queued once: the notice is marked mailed and its mail queued in one
     * transaction, only while it is not marked (another process may have mailed it meanwhile).
     */
    enqueueNotice: db.transaction((noticeId: number, item: { envelopeFrom: string; envelopeTo: string[]; messageId: string; raw: Buffer; now: string } | null): boolean => {
      if (markNoticeMailed.run(item?.now ?? new Date().toISOString(), noticeId).changes === 0) return false;
      if (item) insertOutbox.all({ ...item, articleId: null, kind: 'notice', envelopeTo: JSON.stringify(item.envelopeTo) });
      return true;
    }),
    /** The oldest message due now that no other sender holds, claimed for `owner` until `until`; null when none is. */
    claimNext(owner: string, now: string, until: string): OutboxItem | null {
      const [row] = claim.all({ owner, now, until }) as Array<Omit<OutboxItem, 'envelopeTo'> & { envelopeTo: string }>;
      return row ? { ...row, envelopeTo: JSON.parse(row.envelopeTo) as string[] } : null;
    },
    /**
     * Writes a plan in one transaction (under the write lock from its start): all of it or, when
     * anything fails or the process dies, none of it. A stored message already filed is left as it is.
     */
    commit(plan: FilingPlan): FilingResult {
      const result = commit.immediate(plan);
      crashPoint('mail.filed');
      return result;
    },
    markSent: (id: number, now: string) => void sent.run(now, id),
    markRetry: (id: number, nextAttemptAt: string, error: string, giveUp: boolean) => void retry.run(nextAttemptAt, error, giveUp ? 'failed' : 'pending', id),
    autoRepliesSince: (to: string, since: string): number => autoRepliesTo.get(JSON.stringify([to]), since) as number,
    outboxCounts: (): Record<string, number> => Object.fromEntries((outboxCounts.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n])),
  };
}

export type MailRepository = ReturnType<typeof createMailRepository>;
