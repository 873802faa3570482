import type { Selectable } from 'kysely';
import { NotFoundError } from '../core/errors.js';
import type { AgentStore } from '../core/ports.js';
import type { Agent } from '../core/types.js';
import type { Query, Sql } from './engine.js';
import { param, prepared } from './engine.js';
import type { Schema } from './schema.js';

/** An agent's row, as the schema (schema.ts) has it. */
type AgentRow = Selectable<Schema['agents']>;

const toAgent = (r: AgentRow): Agent => ({
  id: r.id,
  login: r.login,
  name: r.name,
  email: r.email,
  role: r.role,
  dialString: r.dial_string,
  deviceInterface: r.device_interface,
  language: r.language,
  active: r.active === 1,
  away: r.away === 1,
  notifyByEmail: r.notify_by_email === 1,
  timeZone: r.time_zone,
  createdAt: r.created_at,
});

const COLUMNS = {
  name: 'name',
  email: 'email',
  passwordHash: 'password_hash',
  role: 'role',
  dialString: 'dial_string',
  deviceInterface: 'device_interface',
  language: 'language',
  active: 'active',
  away: 'away',
  notifyByEmail: 'notify_by_email',
  timeZone: 'time_zone',
} as const;

/** {@link AgentStore} on either engine. */
export function createAgentRepository(db: Sql): AgentStore {
  const { q } = db;
  const one = async (query: Query<AgentRow>): Promise<Agent | null> => {
    const row = await db.first(query);
    return row ? toAgent(row) : null;
  };
  const agents = () => q.selectFrom('agents').selectAll();
  // Asked several times for every call (the owner, the pop's agents): built once.
  const byId = prepared<AgentRow, { id: number }>(db, () => agents().where('id', '=', param('id')));

  return {
    async create(a, now) {
      const [row] = await db.all(
        q
          .insertInto('agents')
          .values({
            login: a.login,
            name: a.name,
            email: a.email ?? null,
            password_hash: a.passwordHash,
            role: a.role,
            dial_string: a.dialString ?? null,
            device_interface: a.deviceInterface ?? a.dialString ?? null,
            language: a.language ?? 'en',
            created_at: now,
          })
          .returningAll(),
      );
      return toAgent(row!);
    },
    findById: (id) => one(byId({ id })),
    findByLogin: (login) => one(agents().where('login', '=', login)),
    passwordHash: async (id) => (await db.first(q.selectFrom('agents').select('password_hash').where('id', '=', id)))?.password_hash ?? null,
    list: async () => (await db.all(agents().orderBy('login'))).map(toAgent),
    async update(id, change) {
      const values: Record<string, unknown> = {};
      for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof typeof COLUMNS, string]>) {
        if (change[key] !== undefined) values[column] = change[key];
      }
      const agent = Object.keys(values).length
        ? await one(q.updateTable('agents').set(values).where('id', '=', id).returningAll())
        : await one(agents().where('id', '=', id));
      if (!agent) throw new NotFoundError(`no agent with id ${id}`);
      return agent;
    },
    countAdmins: async () => (await db.first(q.selectFrom('agents').select((e) => e.fn.countAll<number>().as('n')).where('role', '=', 'admin').where('active', '=', 1)))!.n,
  };
}
