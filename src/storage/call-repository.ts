import type { Database } from 'better-sqlite3';
import { NotFoundError } from '../core/errors.js';
import type { CallChange, CallStore } from '../core/ports.js';
import type { Call } from '../core/types.js';
import type { WriteGuard } from './db-health.js';
import { createWriteGuard } from './db-health.js';
import { createStatementCache } from './statement-cache.js';
import type { WriteTurn } from './write-turns.js';
import { noWriteTurn } from './write-turns.js';

interface CallRow {
  id: number;
  channel_id: string;
  linked_id: string | null;
  caller_number: string | null;
  caller_name: string | null;
  language: string | null;
  digits: string;
  ticket_id: number | null;
  route: Call['route'];
  target: string | null;
  queue_id: number | null;
  reason: Call['reason'];
  unverified: number;
  agents_rung: string;
  answered_by: number | null;
  outcome: Call['outcome'];
  started_at: string;
  ivr_done_at: string | null;
  answered_at: string | null;
  ended_at: string | null;
}

const toCall = (r: CallRow): Call => ({
  id: r.id,
  channelId: r.channel_id,
  linkedId: r.linked_id,
  callerNumber: r.caller_number,
  callerName: r.caller_name,
  language: r.language,
  digits: r.digits,
  ticketId: r.ticket_id,
  route: r.route,
  target: r.target,
  queueId: r.queue_id,
  reason: r.reason,
  unverified: r.unverified === 1,
  agentsRung: JSON.parse(r.agents_rung) as number[],
  answeredBy: r.answered_by,
  outcome: r.outcome,
  startedAt: r.started_at,
  ivrDoneAt: r.ivr_done_at,
  answeredAt: r.answered_at,
  endedAt: r.ended_at,
});

const COLUMNS: Record<keyof CallChange, string> = {
  linkedId: 'linked_id',
  callerNumber: 'caller_number',
  callerName: 'caller_name',
  language: 'language',
  digits: 'digits',
  ticketId: 'ticket_id',
  route: 'route',
  target: 'target',
  queueId: 'queue_id',
  reason: 'reason',
  unverified: 'unverified',
  agentsRung: 'agents_rung',
  answeredBy: 'answered_by',
  outcome: 'outcome',
  ivrDoneAt: 'ivr_done_at',
  answeredAt: 'answered_at',
  endedAt: 'ended_at',
};

/** SQLite implementation of {@link CallStore}. */
export function createCallRepository(db: Database, writes: WriteGuard = createWriteGuard(), turn: WriteTurn = noWriteTurn): CallStore {
  const insert = db.prepare(
    `INSERT INTO calls (channel_id, linked_id, caller_number, caller_name, language, started_at)
     VALUES (@channelId, @linkedId, @callerNumber, @callerName, @language, @startedAt)
     ON CONFLICT (channel_id) DO UPDATE SET channel_id = channel_id RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM calls WHERE id = ?');
  const byChannel = db.prepare('SELECT * FROM calls WHERE channel_id = ?');
  const forTicket = db.prepare('SELECT * FROM calls WHERE ticket_id = ? ORDER BY id');
  const open = db.prepare('SELECT * FROM calls WHERE ended_at IS NULL ORDER BY id');
  const link = db.prepare('UPDATE calls SET ticket_id = ? WHERE id = ? AND ticket_id IS NULL RETURNING *');
  const statement = createStatementCache(db);

  return {
    async create(call) {
      // The call path's most frequent writes: while a background write finishes, other calls go on.
      return toCall((await turn(() => writes.run(() => insert.all({ linkedId: null, ...call })[0]))) as CallRow);
    },
    async update(id, change) {
      const keys = (Object.keys(change) as Array<keyof CallChange>).filter((k) => change[k] !== undefined).sort();
      const sql = `UPDATE calls SET ${keys.map((k) => `${COLUMNS[k]} = @${k}`).join(', ') || 'id = id'} WHERE id = @id RETURNING *`;
      const params: Record<string, unknown> = { id };
      for (const k of keys) {
        const v = change[k];
        params[k] = k === 'agentsRung' ? JSON.stringify(v) : typeof v === 'boolean' ? Number(v) : v;
      }
      const row = (await turn(() => writes.run(() => statement(sql).all(params)[0]))) as CallRow | undefined;
      if (!row) throw new NotFoundError(`no call with id ${id}`);
      return toCall(row);
    },
    findById: async (id) => {
      const row = byId.get(id) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    findByChannel: async (channelId) => {
      const row = byChannel.get(channelId) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    forTicket: async (ticketId) => (forTicket.all(ticketId) as CallRow[]).map(toCall),
    open: async () => (open.all() as CallRow[]).map(toCall),
    async linkTicket(id, ticketId) {
      const row = link.all(ticketId, id)[0] as CallRow | undefined;
      return row ? toCall(row) : null;
    },
  };
}
