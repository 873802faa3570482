import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { AgentStore, NewAgent } from './ports.js';
import { generatePassword, hashPassword, verifyPassword } from './password.js';
import type { EventBus } from './events.js';
import type { Clock } from './ticket-service.js';
import type { Agent, Role } from './types.js';

export interface CreateAgentInput extends Omit<NewAgent, 'passwordHash'> {
  /** Generated (and returned once) when omitted. */
  password?: string;
}

const LOGIN = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,63}$/;
const MIN_PASSWORD = 8;

function checkRole(role: string): asserts role is Role {
  if (role !== 'agent' && role !== 'admin') throw new ValidationError(`role must be "agent" or "admin", got "${role}"`);
}

/** Agents and admins: accounts, passwords, phones. */
export function createAgentService(deps: { agents: AgentStore; clock: Clock; events?: EventBus }) {
  const { agents, clock } = deps;
  return {
    /** Creates an agent; returns the password so a generated one can be shown once. */
    async create(input: CreateAgentInput): Promise<{ agent: Agent; password: string }> {
      if (!LOGIN.test(input.login)) throw new ValidationError(`login "${input.login}" must be 1-64 letters, digits or . _ @ -`);
      if (!input.name.trim()) throw new ValidationError('an agent needs a name');
      checkRole(input.role);
      if (await agents.findByLogin(input.login)) throw new ConflictError(`login "${input.login}" is taken`);
      for (const [name, value] of [['dial string', input.dialString], ['device interface', input.deviceInterface]] as const) {
        if (value && /[\x00-\x1f\x7f]/.test(value)) throw new ValidationError(`the ${name} must not contain control characters or line breaks`);
      }
      const password = input.password ?? generatePassword();
      if (password.length < MIN_PASSWORD) throw new ValidationError(`a password needs at least ${MIN_PASSWORD} characters`);
      const { password: _omit, ...rest } = input;
      const agent = await agents.create({ ...rest, passwordHash: await hashPassword(password) }, clock.now().toISOString());
      return { agent, password };
    },

    /** The agent when login and password match an active account, else null (same answer for every failure). */
    async authenticate(login: string, password: string): Promise<Agent | null> {
      const agent = await agents.findByLogin(login);
      const hash = agent ? await agents.passwordHash(agent.id) : null;
      // Verify against a dummy hash for unknown logins so timing does not reveal which logins exist.
      const ok = await verifyPassword(password, hash ?? DUMMY_HASH);
      return agent && hash && ok && agent.active ? agent : null;
    },

    async setPassword(id: number, password: string): Promise<void> {
      if (password.length < MIN_PASSWORD) throw new ValidationError(`a password needs at least ${MIN_PASSWORD} characters`);
      await agents.update(id, { passwordHash: await hashPassword(password) });
    },

    async update(id: number, change: Partial<Omit<NewAgent, 'login' | 'passwordHash'>> & { active?: boolean; away?: boolean; notifyByEmail?: boolean; timeZone?: string | null }): Promise<Agent> {
      const before = await agents.findById(id);
      if (!before) throw new NotFoundError(`no agent with id ${id}`);
      if (change.role !== undefined) checkRole(change.role);
      for (const [name, value] of [['dial string', change.dialString], ['device interface', change.deviceInterface]] as const) {
        // They go into AMI actions and the dialplan: a line break there would start another action.
        if (value && /[\x00-\x1f\x7f]/.test(value)) throw new ValidationError(`the ${name} must not contain control characters or line breaks`);
      }
      const agent = await agents.update(id, change);
      if (agent.role !== before.role || agent.active !== before.active) deps.events?.publish('access.changed', { agentId: id });
      return agent;
    },

    findById: (id: number) => agents.findById(id),
    findByLogin: (login: string) => agents.findByLogin(login),
    list: () => agents.list(),
    hasAdmin: async () => (await agents.countAdmins()) > 0,
  };
}

export type AgentService = ReturnType<typeof createAgentService>;

// scrypt hash of a random password nobody knows; only used to spend the same time on unknown logins.
const DUMMY_HASH = 'scrypt$32768$8$1$2W8b0h8yqkXk3H7mJ1Zb0w==$3b2mYQ4Yl0n8bXK2c1bJ2m2cQm9tN8q2cM6p7r1s2tU=';
