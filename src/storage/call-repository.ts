import type { Database } from 'better-sqlite3';
import { NotFoundError } from '../core/errors.js';
import type { CallChange, CallLogFilter, CallStore } from '../core/ports.js';
import type { Call } from '../core/types.js';
import type { WriteGuard } from './db-health.js';
import { createWriteGuard } from './db-health.js';
import { createStatementCache } from './statement-cache.js';
import type { WriteTurn } from './write-turns.js';
import { noWriteTurn } from './write-turns.js';

export interface CallRow {
  id: number;
  channel_id: string;
  direction: Call['direction'];
  dialled_by: number | null;
  callee_number: string | null;
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
  instance: string | null;
}

export const toCall = (r: CallRow): Call => ({
  id: r.id,
  channelId: r.channel_id,
  direction: r.direction,
  dialledBy: r.dialled_by,
  calleeNumber: r.callee_number,
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
  instance: r.instance,
});

const COLUMNS: Record<keyof CallChange, string> = {
  direction: 'direction',
  dialledBy: 'dialled_by',
  calleeNumber: 'callee_number',
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

// The queue a call belongs to: where it was routed, else its ticket's, else the default queue (a
// caller who hung up in the menu): whoever may see that queue may see the call.
const CALL_QUEUE = 'coalesce(c.queue_id, t.queue_id, (SELECT id FROM queues WHERE is_default = 1))';
const VISIBLE = `(EXISTS (SELECT 1 FROM agents x WHERE x.id = @agentId AND x.role = 'admin')
  OR ${CALL_QUEUE} IN (SELECT queue_id FROM queue_permissions WHERE agent_id = @agentId)
  OR c.dialled_by = @agentId)`;
/** The call `c` rang the agent `@agentId`. */
export const RUNG = 'EXISTS (SELECT 1 FROM json_each(c.agents_rung) WHERE value = @agentId)';
const MINE = `(c.answered_by = @agentId OR c.dialled_by = @agentId OR t.owner_id = @agentId OR ${RUNG})`;
const MISSED = "(c.direction = 'in' AND c.answered_by IS NULL AND c.ended_at IS NOT NULL)";
const SEEN = `(EXISTS (SELECT 1 FROM call_seen s WHERE s.agent_id = @agentId AND s.call_id = c.id)
  OR c.started_at <= coalesce((SELECT calls_seen_until FROM agents WHERE id = @agentId), ''))`;

/** SQLite implementation of {@link CallStore}. */
export function createCallRepository(db: Database, writes: WriteGuard = createWriteGuard(), turn: WriteTurn = noWriteTurn): CallStore {
  const insert = db.prepare(
    `INSERT INTO calls (channel_id, linked_id, caller_number, caller_name, language, started_at, direction, dialled_by, callee_number, ticket_id, queue_id, instance)
     VALUES (@channelId, @linkedId, @callerNumber, @callerName, @language, @startedAt, @direction, @dialledBy, @calleeNumber, @ticketId, @queueId, @instance)
     ON CONFLICT (channel_id) DO UPDATE SET channel_id = channel_id RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM calls WHERE id = ?');
  const byChannel = db.prepare('SELECT * FROM calls WHERE channel_id = ?');
  const forTicket = db.prepare('SELECT * FROM calls WHERE ticket_id = ? ORDER BY id');
  // Calls through the hotline only: a call out has no channel of Hotline's to look for after an outage.
  const open = db.prepare("SELECT * FROM calls WHERE ended_at IS NULL AND direction = 'in' ORDER BY id");
  // Only one instance closes a call (and writes its article): the first whose update finds it open.
  const end = db.prepare(
    "UPDATE calls SET ended_at = @at, outcome = CASE WHEN answered_by IS NOT NULL THEN 'answered' ELSE 'abandoned' END WHERE id = @id AND ended_at IS NULL RETURNING *",
  );
  // Open calls of instances that are no longer alive (no unexpired `instance:` lease).
  const lost = db.prepare(
    `SELECT * FROM calls c WHERE ended_at IS NULL AND direction = 'in' AND instance IS NOT NULL AND instance <> @me
       AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = 'instance:' || c.instance AND l.expires_at > @now) ORDER BY id`,
  );
  const adopt = db.prepare('UPDATE calls SET instance = @to WHERE id = @id AND instance = @from AND ended_at IS NULL RETURNING *');
  const link = db.prepare('UPDATE calls SET ticket_id = ? WHERE id = ? AND ticket_id IS NULL RETURNING *');
  const statement = createStatementCache(db);
  const logWhere = (filter: Omit<CallLogFilter, 'limit' | 'offset'>) =>
    [VISIBLE, ...(filter.mine ? [MINE] : []), ...(filter.missed ? [MISSED] : []), ...(filter.id !== undefined ? ['c.id = @id'] : [])].join(' AND ');
  const seenOne = db.prepare('INSERT OR IGNORE INTO call_seen (agent_id, call_id) VALUES (?, ?)');
  const seenUntil = db.prepare('UPDATE agents SET calls_seen_until = ? WHERE id = ?');
  const seenSome = db.transaction((agentId: number, ids: number[]) => {
    for (const id of ids) seenOne.run(agentId, id);
  });

  return {
    async create(call) {
      // The call path's most frequent writes: while a background write finishes, other calls go on.
      return toCall((await turn(() => writes.run(() => insert.all({ linkedId: null, direction: 'in', dialledBy: null, calleeNumber: null, ticketId: null, queueId: null, instance: null, ...call })[0]))) as CallRow);
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
    async end(id, at) {
      const row = (await turn(() => writes.run(() => end.all({ id, at })[0]))) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    lost: async (me, now) => (lost.all({ me, now }) as CallRow[]).map(toCall),
    async adopt(id, from, to) {
      const row = (await turn(() => writes.run(() => adopt.all({ id, from, to })[0]))) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    async log(agentId, filter) {
      const rows = statement(
        `SELECT c.*, t.ttn, (SELECT name FROM queues WHERE id = ${CALL_QUEUE}) AS queue_name,
           (SELECT name FROM agents WHERE id = c.answered_by) AS answered_by_name, (SELECT name FROM agents WHERE id = c.dialled_by) AS dialled_by_name,
           ${SEEN} AS seen
         FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
         WHERE ${logWhere(filter)} ORDER BY c.started_at DESC, c.id DESC LIMIT @limit OFFSET @offset`,
      ).all({ agentId, limit: filter.limit, offset: filter.offset, ...(filter.id !== undefined ? { id: filter.id } : {}) }) as Array<CallRow & { ttn: string | null; queue_name: string | null; answered_by_name: string | null; dialled_by_name: string | null; seen: number }>;
      return rows.map((r) => ({ ...toCall(r), ttn: r.ttn, queueName: r.queue_name, answeredByName: r.answered_by_name, dialledByName: r.dialled_by_name, seen: r.seen === 1 }));
    },
    async countLog(agentId, filter) {
      const row = statement(`SELECT count(*) AS total, coalesce(sum(NOT ${SEEN}), 0) AS unseen FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id WHERE ${logWhere(filter)}`).get({ agentId, ...(filter.id !== undefined ? { id: filter.id } : {}) }) as { total: number; unseen: number };
      return row;
    },
    async markSeen(agentId, which) {
      if ('until' in which) seenUntil.run(which.until, agentId);
      else seenSome.immediate(agentId, which.ids);
    },
    async linkTicket(id, ticketId) {
      const row = link.all(ticketId, id)[0] as CallRow | undefined;
      return row ? toCall(row) : null;
    },
  };
}
