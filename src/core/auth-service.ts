import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AgentService } from './agent-service.js';
import type { ApiTokenStore, SessionStore } from './ports.js';
import type { Clock } from './ticket-service.js';
import type { Agent } from './types.js';

/** A logged-in browser session. */
export interface Session {
  agent: Agent;
  csrfToken: string;
}

export interface LoginLimits {
  /** Failed logins allowed per login name (any address) in the window. */
  perLogin: number;
  /** Failed logins allowed per client address in the window. */
  perAddress: number;
  windowMs: number;
}

/** Logins over the limit: says when to try again. */
export class TooManyAttemptsError extends Error {
  override name = 'TooManyAttemptsError';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed logins; try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s)`);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secret = () => randomBytes(32).toString('base64url');
const IDLE_MS = 12 * 60 * 60 * 1000;

/**
 * Sessions (random tokens, stored hashed, sliding 12 h), API tokens, and a limit on
 * failed logins per login name and per address.
 */
export function createAuthService(deps: { agents: AgentService; sessions: SessionStore; tokens: ApiTokenStore; clock: Clock; limits?: Partial<LoginLimits> }) {
  const { agents, sessions, tokens, clock } = deps;
  const limits: LoginLimits = { perLogin: 5, perAddress: 20, windowMs: 15 * 60 * 1000, ...deps.limits };
  const failures = new Map<string, number[]>();

  const recent = (key: string, now: number): number[] => {
    const list = (failures.get(key) ?? []).filter((t) => now - t < limits.windowMs);
    if (list.length) failures.set(key, list);
    else failures.delete(key);
    return list;
  };
  const checkLimit = (key: string, max: number, now: number): void => {
    const list = recent(key, now);
    if (list.length >= max) throw new TooManyAttemptsError((list[0]! + limits.windowMs - now) / 1000);
  };

  async function resolveAgent(agentId: number): Promise<Agent | null> {
    const agent = await agents.findById(agentId);
    return agent?.active ? agent : null;
  }

  return {
    /** Checks the password (within the limits) and opens a session; null for a wrong login or password. */
    async login(login: string, password: string, address: string): Promise<{ token: string; session: Session } | null> {
      const now = clock.now().getTime();
      const loginKey = `login:${login.toLowerCase()}`;
      const addressKey = `address:${address}`;
      checkLimit(loginKey, limits.perLogin, now);
      checkLimit(addressKey, limits.perAddress, now);
      const agent = await agents.authenticate(login, password);
      if (!agent) {
        for (const key of [loginKey, addressKey]) failures.set(key, [...recent(key, now), now]);
        return null;
      }
      failures.delete(loginKey);
      const token = secret();
      const csrfToken = secret();
      await sessions.create(sha256(token), { agentId: agent.id, csrfToken, expiresAt: new Date(now + IDLE_MS).toISOString() }, new Date(now).toISOString());
      return { token, session: { agent, csrfToken } };
    },

    /** The session for a cookie token, extended on use; null when unknown, expired, or the agent deactivated. */
    async session(token: string | undefined): Promise<Session | null> {
      if (!token) return null;
      const hash = sha256(token);
      const record = await sessions.find(hash);
      const now = clock.now().getTime();
      if (!record || Date.parse(record.expiresAt) < now) return null;
      const agent = await resolveAgent(record.agentId);
      if (!agent) return null;
      // Extend at most once a minute, not on every request.
      if (Date.parse(record.expiresAt) - now < IDLE_MS - 60_000) await sessions.touch(hash, new Date(now + IDLE_MS).toISOString());
      return { agent, csrfToken: record.csrfToken };
    },

    async logout(token: string | undefined): Promise<void> {
      if (token) await sessions.delete(sha256(token));
    },

    /** Ends every session of an agent (deactivated, password reset). */
    endSessions: (agentId: number) => sessions.deleteForAgent(agentId),

    /** Constant-time comparison of a submitted CSRF token with the session's. */
    csrfValid(session: Session, submitted: unknown): boolean {
      if (typeof submitted !== 'string') return false;
      const a = Buffer.from(submitted);
      const b = Buffer.from(session.csrfToken);
      return a.length === b.length && timingSafeEqual(a, b);
    },

    /** A new API token for the agent; the secret is returned once and stored hashed. */
    async createApiToken(agentId: number, name: string): Promise<string> {
      const token = `hl_${secret()}`;
      await tokens.create(agentId, name.trim() || 'token', sha256(token), clock.now().toISOString());
      return token;
    },
    async apiAgent(token: string): Promise<Agent | null> {
      const agentId = await tokens.use(sha256(token), clock.now().toISOString());
      return agentId === null ? null : resolveAgent(agentId);
    },
    apiTokens: (agentId: number) => tokens.list(agentId),
    revokeApiToken: (id: number, agentId: number) => tokens.delete(id, agentId),
    purgeExpired: () => sessions.deleteExpired(clock.now().toISOString()),
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
