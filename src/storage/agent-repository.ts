import type { Database } from 'better-sqlite3';
import { NotFoundError } from '../core/errors.js';
import type { AgentStore } from '../core/ports.js';
import type { Agent, Role } from '../core/types.js';
import { createStatementCache } from './statement-cache.js';

interface AgentRow {
  id: number;
  login: string;
  name: string;
  email: string | null;
  role: Role;
  dial_string: string | null;
  device_interface: string | null;
  language: string;
  active: number;
  away: number;
  notify_by_email: number;
  time_zone: string | null;
  created_at: string;
}

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

/** SQLite implementation of {@link AgentStore}. */
export function createAgentRepository(db: Database): AgentStore {
  const insert = db.prepare(
    `INSERT INTO agents (login, name, email, password_hash, role, dial_string, device_interface, language, created_at)
     VALUES (@login, @name, @email, @passwordHash, @role, @dialString, @deviceInterface, @language, @now) RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM agents WHERE id = ?');
  const byLogin = db.prepare('SELECT * FROM agents WHERE login = ?');
  const hash = db.prepare('SELECT password_hash FROM agents WHERE id = ?').pluck();
  const all = db.prepare('SELECT * FROM agents ORDER BY login');
  const statement = createStatementCache(db);
  const admins = db.prepare("SELECT count(*) FROM agents WHERE role = 'admin' AND active = 1").pluck();

  return {
    async create(a, now) {
      const row = insert.all({
        login: a.login,
        name: a.name,
        email: a.email ?? null,
        passwordHash: a.passwordHash,
        role: a.role,
        dialString: a.dialString ?? null,
        deviceInterface: a.deviceInterface ?? a.dialString ?? null,
        language: a.language ?? 'en',
        now,
      })[0] as AgentRow;
      return toAgent(row);
    },
    async findById(id) {
      const row = byId.get(id) as AgentRow | undefined;
      return row ? toAgent(row) : null;
    },
    async findByLogin(login) {
      const row = byLogin.get(login) as AgentRow | undefined;
      return row ? toAgent(row) : null;
    },
    async passwordHash(id) {
      return (hash.get(id) as string | undefined) ?? null;
    },
    async list() {
      return (all.all() as AgentRow[]).map(toAgent);
    },
    async update(id, change) {
      const sets: string[] = [];
      const params: Record<string, unknown> = { id };
      for (const [key, column] of Object.entries(COLUMNS) as Array<[keyof typeof COLUMNS, string]>) {
        const value = change[key];
        if (value !== undefined) {
          sets.push(`${column} = @${key}`);
          params[key] = typeof value === 'boolean' ? Number(value) : value;
        }
      }
      const row = (sets.length
        ? statement(`UPDATE agents SET ${sets.join(', ')} WHERE id = @id RETURNING *`).all(params)[0]
        : byId.get(id)) as AgentRow | undefined;
      if (!row) throw new NotFoundError(`no agent with id ${id}`);
      return toAgent(row);
    },
    async countAdmins() {
      return admins.get() as number;
    },
  };
}
