import type { RawBuilder, Selectable } from 'kysely';
import { sql } from 'kysely';
import { NotFoundError } from '../core/errors.js';
import type { CallChange, CallLogFilter, CallStore } from '../core/ports.js';
import type { Call, CallOutcome } from '../core/types.js';
import type { Query, Sql } from './engine.js';
import { param, prepared } from './engine.js';
import type { Schema } from './schema.js';
import type { ArticleRow, TicketRow } from './ticket-repository.js';
import { toArticle, toTicket } from './ticket-repository.js';

/** A call's row, as the schema (schema.ts) has it. */
export type CallRow = Selectable<Schema['calls']>;

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
  voicemailArticleId: r.voicemail_article_id,
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
  voicemailArticleId: 'voicemail_article_id',
};

// The queue a call belongs to: where it was routed, else its ticket's, else the default queue (a
// caller who hung up in the menu): whoever may see that queue may see the call.
const CALL_QUEUE = sql`coalesce(c.queue_id, t.queue_id, (SELECT id FROM queues WHERE is_default = 1))`;
const visible = (agentId: number) => sql`(EXISTS (SELECT 1 FROM agents x WHERE x.id = ${agentId} AND x.role = 'admin')
  OR ${CALL_QUEUE} IN (SELECT queue_id FROM queue_permissions WHERE agent_id = ${agentId})
  OR c.dialled_by = ${agentId})`;
/** The call `c` rang the agent (its `agents_rung`, a JSON array, holds the id). */
export const rung = (db: Sql, agentId: number): RawBuilder<unknown> =>
  db.dialect === 'sqlite'
    ? sql`EXISTS (SELECT 1 FROM json_each(c.agents_rung) WHERE value = ${agentId})`
    : sql`(c.agents_rung::jsonb @> jsonb_build_array(${agentId}::integer))`;
const mine = (db: Sql, agentId: number) => sql`(c.answered_by = ${agentId} OR c.dialled_by = ${agentId} OR t.owner_id = ${agentId} OR ${rung(db, agentId)})`;
const MISSED = sql`(c.direction = 'in' AND c.answered_by IS NULL AND c.ended_at IS NOT NULL)`;
const seen = (agentId: number) => sql`(EXISTS (SELECT 1 FROM call_seen s WHERE s.agent_id = ${agentId} AND s.call_id = c.id)
  OR c.started_at <= coalesce((SELECT calls_seen_until FROM agents WHERE id = ${agentId}), ''))`;

// A call's end: answered, or a message left, else abandoned.
const END_OUTCOME = sql<CallOutcome>`CASE WHEN answered_by IS NOT NULL THEN 'answered' WHEN voicemail_article_id IS NOT NULL THEN 'voicemail' ELSE 'abandoned' END`;
// What a call's `call` article tells of it but its end (call-service.ts `describe`): column, and the
// call's field (agents_rung compared as JSON, whatever its spacing).
const TOLD: Array<[string, keyof Call]> = [
  ['caller_number', 'callerNumber'],
  ['caller_name', 'callerName'],
  ['digits', 'digits'],
  ['unverified', 'unverified'],
  ['route', 'route'],
  ['target', 'target'],
  ['queue_id', 'queueId'],
  ['reason', 'reason'],
  ['agents_rung', 'agentsRung'],
  ['answered_by', 'answeredBy'],
  ['answered_at', 'answeredAt'],
  ['started_at', 'startedAt'],
  ['ivr_done_at', 'ivrDoneAt'],
];
const TOLD_NOW = sql`jsonb_build_object(${sql.join(TOLD.map(([column]) => sql`${sql.lit(column)}::text, ${column === 'agents_rung' ? sql`agents_rung::jsonb` : sql.ref(column)}`))})`;
const told = (call: Call): string => JSON.stringify(Object.fromEntries(TOLD.map(([column, field]) => [column, field === 'unverified' ? (call.unverified ? 1 : 0) : call[field]])));

/** {@link CallStore} on either engine. Pass the call path's engine (`withWrites`): its writes are guarded and go first. */
export function createCallRepository(db: Sql): CallStore {
  const { q } = db;
  const one = async (query: Query<CallRow>): Promise<Call | null> => {
    const [row] = await db.all(query);
    return row ? toCall(row) : null;
  };
  const many = async (query: Query<CallRow>): Promise<Call[]> => (await db.all(query)).map(toCall);
  const calls = () => q.selectFrom('calls').selectAll();
  // The call path's statements, built once (an update: once for each set of columns it changes).
  const NEW = ['channel_id', 'linked_id', 'caller_number', 'caller_name', 'language', 'started_at', 'direction', 'dialled_by', 'callee_number', 'ticket_id', 'queue_id', 'instance'] as const;
  const insert = prepared<CallRow, Record<(typeof NEW)[number], unknown>>(
    db,
    () =>
      q
        .insertInto('calls')
        .values(Object.fromEntries(NEW.map((k) => [k, param(k)])) as never)
        // Created again for the same channel (a retried start): the call as it is.
        .onConflict((c) => c.column('channel_id').doUpdateSet({ channel_id: (e) => e.ref('excluded.channel_id') }))
        .returningAll(),
  );
  const byId = prepared<CallRow, { id: number }>(db, () => calls().where('id', '=', param('id')));
  const byChannel = prepared<CallRow, { channelId: string }>(db, () => calls().where('channel_id', '=', param('channelId')));
  // Only one instance closes a call (and writes its article): the first whose update finds it open.
  const endOpen = prepared<CallRow, { id: number; at: string }>(
    db,
    () =>
      q
        .updateTable('calls')
        .set({ ended_at: param('at'), outcome: END_OUTCOME })
        .where('id', '=', param('id'))
        .where('ended_at', 'is', null)
        .returningAll(),
  );
  // The agent added to the call's `agents_rung` (a JSON array as text) unless there already: in the
  // statement, so that ringing and answering need not read the row first (a round trip on PostgreSQL).
  const withAgent = (agent: unknown) =>
    db.dialect === 'sqlite'
      ? sql<string>`CASE WHEN EXISTS (SELECT 1 FROM json_each(agents_rung) WHERE value = ${agent}) THEN agents_rung ELSE json_insert(agents_rung, '$[#]', ${agent}) END`
      : sql<string>`CASE WHEN agents_rung::jsonb @> jsonb_build_array(${agent}::integer) THEN agents_rung ELSE (agents_rung::jsonb || jsonb_build_array(${agent}::integer))::text END`;
  const rang = prepared<CallRow, { id: number; agentId: number }>(db, () => q.updateTable('calls').set({ agents_rung: withAgent(param('agentId')) }).where('id', '=', param('id')).returningAll());
  const answered = prepared<CallRow, { id: number; agentId: number; at: string }>(db, () =>
    q
      .updateTable('calls')
      .set({ answered_by: param('agentId'), answered_at: param('at'), outcome: 'answered', agents_rung: withAgent(param('agentId')) })
      .where('id', '=', param('id'))
      .where('answered_by', 'is', null)
      .returningAll(),
  );
  // PostgreSQL: the end and the call's article in one statement (see CallStore.endWithArticle).
  const endWithArticle = prepared<{ call: CallRow | null; article: ArticleRow | null; ticket: TicketRow | null }, { id: number; at: string; expected: string; text: string }>(
    db,
    () => sql`WITH c AS (UPDATE calls SET ended_at = ${param('at')}, outcome = ${END_OUTCOME}
        WHERE id = ${param('id')} AND ended_at IS NULL AND ${TOLD_NOW} = ${param('expected')}::jsonb RETURNING *),
      a AS (INSERT INTO articles (ticket_id, kind, from_addr, subject, body_text, created_at)
        SELECT ticket_id, 'call', caller_number, 'Call ' || outcome, ${param('text')} || outcome, ${param('at')} FROM c WHERE ticket_id IS NOT NULL RETURNING *),
      t AS (UPDATE tickets SET updated_at = ${param('at')} WHERE id = (SELECT ticket_id FROM a) RETURNING *)
      SELECT (SELECT row_to_json(c) FROM c) AS call, (SELECT row_to_json(a) FROM a) AS article, (SELECT row_to_json(t) FROM t) AS ticket`,
  );
  const updates = new Map<string, (values: Record<string, unknown>) => Query<CallRow>>();
  const updateOf = (columns: string[]) => {
    const key = columns.join(',');
    let update = updates.get(key);
    if (!update) {
      update = prepared<CallRow, Record<string, unknown>>(
        db,
        () => q.updateTable('calls').set(Object.fromEntries((columns.length ? columns : ['id']).map((c) => [c, c === 'id' && !columns.length ? sql`id` : param(c)]))).where('id', '=', param('__id')).returningAll(),
      );
      updates.set(key, update);
    }
    return update;
  };
  const logWhere = (agentId: number, filter: Omit<CallLogFilter, 'limit' | 'offset'>) =>
    sql.join([visible(agentId), ...(filter.mine ? [mine(db, agentId)] : []), ...(filter.missed ? [MISSED] : []), ...(filter.id !== undefined ? [sql`c.id = ${filter.id}`] : [])], sql` AND `);

  return {
    async create(call) {
      // The call path's most frequent writes: while a background write finishes, other calls go on.
      const row = await one(
        insert({
          channel_id: call.channelId,
          linked_id: call.linkedId ?? null,
          caller_number: call.callerNumber,
          caller_name: call.callerName,
          language: call.language,
          started_at: call.startedAt,
          direction: call.direction ?? 'in',
          dialled_by: call.dialledBy ?? null,
          callee_number: call.calleeNumber ?? null,
          ticket_id: call.ticketId ?? null,
          queue_id: call.queueId ?? null,
          instance: call.instance ?? null,
        }),
      );
      return row!;
    },
    async update(id, change) {
      const keys = (Object.keys(change) as Array<keyof CallChange>).filter((k) => change[k] !== undefined).sort();
      const values: Record<string, unknown> = { __id: id };
      for (const k of keys) {
        const v = change[k];
        values[COLUMNS[k]] = k === 'agentsRung' ? JSON.stringify(v) : v;
      }
      const call = await one(updateOf(keys.map((k) => COLUMNS[k]))(values));
      if (!call) throw new NotFoundError(`no call with id ${id}`);
      return call;
    },
    rang: (id, agentId) => one(rang({ id, agentId })),
    answeredBy: (id, agentId, at) => one(answered({ id, agentId, at })),
    findById: (id) => one(byId({ id })),
    findByChannel: (channelId) => one(byChannel({ channelId })),
    forTicket: (ticketId) => many(calls().where('ticket_id', '=', ticketId).orderBy('id')),
    // Calls through the hotline only: a call out has no channel of Hotline's to look for after an outage.
    open: () => many(calls().where('ended_at', 'is', null).where('direction', '=', 'in').orderBy('id')),
    end: (id, at) => one(endOpen({ id, at })),
    ...(db.dialect === 'postgres'
      ? {
          async endWithArticle(id: number, at: string, expected: Call, text: string) {
            const [row] = await db.all(endWithArticle({ id, at, expected: told(expected), text }));
            if (!row?.call) return null;
            return { call: toCall(row.call), added: row.article && row.ticket ? { ticket: toTicket(row.ticket), article: toArticle(row.article) } : null };
          },
        }
      : {}),
    // Open calls of instances that are no longer alive (no unexpired `instance:` lease).
    lost: (me, now) =>
      many(
        sql<CallRow>`SELECT * FROM calls c WHERE ended_at IS NULL AND direction = 'in' AND instance IS NOT NULL AND instance <> ${me}
          AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.name = 'instance:' || c.instance AND l.expires_at > ${now}) ORDER BY id`,
      ),
    adopt: (id, from, to) =>
      one(q.updateTable('calls').set({ instance: to }).where('id', '=', id).where('instance', '=', from).where('ended_at', 'is', null).returningAll()),
    async log(agentId, filter) {
      const rows = await db.all(
        sql<CallRow & { ttn: string | null; queue_name: string | null; answered_by_name: string | null; dialled_by_name: string | null; seen: number }>`
          SELECT c.*, t.ttn, (SELECT name FROM queues WHERE id = ${CALL_QUEUE}) AS queue_name,
            (SELECT name FROM agents WHERE id = c.answered_by) AS answered_by_name, (SELECT name FROM agents WHERE id = c.dialled_by) AS dialled_by_name,
            ${seen(agentId)} AS seen
          FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id
          WHERE ${logWhere(agentId, filter)} ORDER BY c.started_at DESC, c.id DESC LIMIT ${filter.limit} OFFSET ${filter.offset}`,
      );
      return rows.map((r) => ({ ...toCall(r), ttn: r.ttn, queueName: r.queue_name, answeredByName: r.answered_by_name, dialledByName: r.dialled_by_name, seen: r.seen === 1 }));
    },
    async countLog(agentId, filter) {
      const row = await db.first(
        sql<{ total: number; unseen: number }>`SELECT count(*) AS total, coalesce(sum(CASE WHEN ${seen(agentId)} THEN 0 ELSE 1 END), 0) AS unseen
          FROM calls c LEFT JOIN tickets t ON t.id = c.ticket_id WHERE ${logWhere(agentId, filter)}`,
      );
      return row!;
    },
    async markSeen(agentId, which) {
      if ('until' in which) await db.run(q.updateTable('agents').set({ calls_seen_until: which.until }).where('id', '=', agentId));
      else if (which.ids.length > 0) await db.run(q.insertInto('call_seen').values(which.ids.map((id) => ({ agent_id: agentId, call_id: id }))).onConflict((c) => c.doNothing()));
    },
    linkTicket: (id, ticketId) => one(q.updateTable('calls').set({ ticket_id: ticketId }).where('id', '=', id).where('ticket_id', 'is', null).returningAll()),
  };
}
