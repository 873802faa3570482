import type { Database } from 'better-sqlite3';
import { createStatementCache } from './statement-cache.js';
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
  kind: 'auto-reply' | 'agent-reply';
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

const RAW_COLUMNS = 'id, source, envelope_from, envelope_to, message_id, sha256, size, status, outcome, error, ticket_id, received_at, processed_at';

/** Raw messages, the outbox, and the mail details of articles, in SQLite. */
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
    'UPDATE raw_messages SET status = @status, outcome = @outcome, error = @error, ticket_id = @ticketId, message_id = coalesce(@messageId, message_id), processed_at = @now WHERE id = @id',
  );
  const unfiled = db.prepare("SELECT id FROM raw_messages WHERE status = 'new' AND received_at <= ? ORDER BY id LIMIT ?").pluck();
  const listRaw = db.prepare(`SELECT ${RAW_COLUMNS} FROM raw_messages WHERE status = ? ORDER BY id DESC LIMIT ?`);
  const countRaw = db.prepare('SELECT status, count(*) AS n FROM raw_messages GROUP BY status');
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
  const autoRepliesTo = db.prepare("SELECT count(*) FROM outbox WHERE kind = 'auto-reply' AND envelope_to = ? AND created_at >= ?").pluck();
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
    setDelivery: (articleId: number, status: 'sent' | 'failed') => void setDelivery.run(status, articleId),
    delivery: (articleId: number): string | null => (deliveryOf.get(articleId) as string | null | undefined) ?? null,
    enqueue(item: { articleId: number | null; kind: OutboxItem['kind']; envelopeFrom: string; envelopeTo: string[]; messageId: string; raw: Buffer; now: string }): number {
      return (insertOutbox.all({ ...item, envelopeTo: JSON.stringify(item.envelopeTo) })[0] as { id: number }).id;
    },
    /** The oldest message due now that no other sender holds, claimed for `owner` until `until`; null when none is. */
    claimNext(owner: string, now: string, until: string): OutboxItem | null {
      const [row] = claim.all({ owner, now, until }) as Array<Omit<OutboxItem, 'envelopeTo'> & { envelopeTo: string }>;
      return row ? { ...row, envelopeTo: JSON.parse(row.envelopeTo) as string[] } : null;
    },
    markSent: (id: number, now: string) => void sent.run(now, id),
    markRetry: (id: number, nextAttemptAt: string, error: string, giveUp: boolean) => void retry.run(nextAttemptAt, error, giveUp ? 'failed' : 'pending', id),
    autoRepliesSince: (to: string, since: string): number => autoRepliesTo.get(JSON.stringify([to]), since) as number,
    outboxCounts: (): Record<string, number> => Object.fromEntries((outboxCounts.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n])),
  };
}

export type MailRepository = ReturnType<typeof createMailRepository>;
