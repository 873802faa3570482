import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AgentService } from './agent-service.js';
import type { EventBus } from './events.js';
import type { LoginFailureStore, LoginLimits } from './login-limiter.js';
import { createLoginLimiter } from './login-limiter.js';
import type { ApiTokenStore, SessionStore, TokenScope } from './ports.js';
import type { Clock } from './ticket-service.js';
import type { Agent } from './types.js';

/** A logged-in browser session. */
export interface Session {
  agent: Agent;
  csrfToken: string;
  /** When the session ends unless used again (it slides on use), and how many seconds that is from now. */
  expiresAt: string;
  secondsLeft: number;
}

export { TooManyAttemptsError } from './login-limiter.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secret = () => randomBytes(32).toString('base64url');
const IDLE_MS = 12 * 60 * 60 * 1000;

/** What a socket or request authenticated with, to check again later (a socket outlives its handshake). */
export type Credential = { session: string } | { apiToken: string };

/** An agent as an API token lets them act: `ro` tokens may only read. */
export interface ApiAccess {
  agent: Agent;
  scope: TokenScope;
}

/**
 * Sessions (random tokens, stored hashed, sliding 12 h), API tokens (optionally read-only and
 * expiring), and limits on failed logins (see login-limiter.ts). Ending access (logout, sessions
 * ended, a token revoked) publishes `access.changed`, so that open sockets are checked again.
 */
export function createAuthService(deps: { agents: AgentService; sessions: SessionStore; tokens: ApiTokenStore; clock: Clock; events?: EventBus; limits?: Partial<LoginLimits>; loginFailures?: LoginFailureStore }) {
  const { agents, sessions, tokens, clock } = deps;
  const limiter = createLoginLimiter(() => clock.now().getTime(), deps.limits, deps.loginFailures);
  const changed = (agentId: number) => deps.events?.publish('access.changed', { agentId });

  async function resolveAgent(agentId: number): Promise<Agent | null> {
    const agent = await agents.findById(agentId);
    return agent?.active ? agent : null;
  }

  async function openSession(agent: Agent): Promise<{ token: string; session: Session }> {
    const now = clock.now().getTime();
    const token = secret();
    const csrfToken = secret();
    const expiresAt = new Date(now + IDLE_MS).toISOString();
    await sessions.create(sha256(token), { agentId: agent.id, csrfToken, expiresAt }, new Date(now).toISOString());
    return { token, session: { agent, csrfToken, expiresAt, secondsLeft: IDLE_MS / 1000 } };
  }

  async function sessionOf(token: string | undefined, extend: boolean): Promise<Session | null> {
    if (!token) return null;
    const hash = sha256(token);
    const record = await sessions.find(hash);
    const now = clock.now().getTime();
    if (!record || Date.parse(record.expiresAt) < now) return null;
    const agent = await resolveAgent(record.agentId);
    if (!agent) return null;
    // Extend at most once a minute, not on every request.
    let expiresAt = record.expiresAt;
    if (extend && Date.parse(record.expiresAt) - now < IDLE_MS - 60_000) {
      expiresAt = new Date(now + IDLE_MS).toISOString();
      await sessions.touch(hash, expiresAt);
    }
    return { agent, csrfToken: record.csrfToken, expiresAt, secondsLeft: Math.max(1, Math.floor((Date.parse(expiresAt) - now) / 1000)) };
  }

  async function tokenAccess(token: string, record: boolean): Promise<ApiAccess | null> {
    const found = await tokens.find(sha256(token));
    const now = clock.now();
    if (!found || (found.expiresAt !== null && Date.parse(found.expiresAt) <= now.getTime())) return null;
    const agent = await resolveAgent(found.agentId);
    if (!agent) return null;
    // Its last use, to the minute: not a write on every request (writes wait for the call path's).
    if (record && (found.lastUsedAt === null || now.getTime() - Date.parse(found.lastUsedAt) >= 60_000)) await tokens.touch(found.id, now.toISOString());
    return { agent, scope: found.scope };
  }

  return {
    /**
     * Checks the password within the limits and opens a session; null for a wrong login or password.
     * The try is counted before the password is checked (TooManyAttemptsError when it must wait).
     */
    async login(login: string, password: string, address: string): Promise<{ token: string; session: Session } | null> {
      const attempt = await limiter.begin(login, address);
      const agent = await agents.authenticate(login, password);
      if (!agent) return null;
      await attempt.succeeded();
      return openSession(agent);
    },

    /**
     * An agent changes their own password: the current one is checked within the login limits (a
     * stolen session cannot guess it), every session ends (other browsers, sockets), and this
     * browser gets a new one. Null when the current password is wrong.
     */
    async changePassword(agent: Agent, current: string, next: string, address: string): Promise<{ token: string; session: Session } | null> {
      const attempt = await limiter.begin(agent.login, address);
      if (!(await agents.authenticate(agent.login, current))) return null;
      await attempt.succeeded();
      await agents.setPassword(agent.id, next);
      await sessions.deleteForAgent(agent.id);
      changed(agent.id);
      return openSession(agent);
    },
    /** Logins and addresses with failed tries on record (for admins). */
    loginLocks: () => limiter.list(),
    /** Clears failed tries: one entry, or all of a login name. */
    clearLoginLocks: (which: { key: string } | { login: string }) => limiter.clear(which),

    /** The session for a cookie token, extended on use; null when unknown, expired, or the agent deactivated. */
    session: (token: string | undefined): Promise<Session | null> => sessionOf(token, true),

    /** The agent a credential still stands for (nothing is extended or recorded), or null. */
    async stillValid(credential: Credential): Promise<Agent | null> {
      if ('session' in credential) return (await sessionOf(credential.session, false))?.agent ?? null;
      return (await tokenAccess(credential.apiToken, false))?.agent ?? null;
    },

    async logout(token: string | undefined): Promise<void> {
      if (!token) return;
      const hash = sha256(token);
      const record = await sessions.find(hash);
      await sessions.delete(hash);
      if (record) changed(record.agentId);
    },

    /** Ends every session of an agent (deactivated, password reset). */
    async endSessions(agentId: number): Promise<void> {
      await sessions.deleteForAgent(agentId);
      changed(agentId);
    },

    /** Constant-time comparison of a submitted CSRF token with the session's. */
    csrfValid(session: Session, submitted: unknown): boolean {
      return sameSecret(session.csrfToken, submitted);
    },

    /** A new API token for the agent; the secret is returned once and stored hashed. */
    async createApiToken(agentId: number, name: string, options: { scope?: TokenScope; expiresAt?: string | null } = {}): Promise<string> {
      const token = `hl_${secret()}`;
      await tokens.create(agentId, { name: name.trim() || 'token', tokenHash: sha256(token), scope: options.scope ?? 'rw', expiresAt: options.expiresAt ?? null }, clock.now().toISOString());
      return token;
    },
    /** The agent and scope of a valid, unexpired token of an active agent; its use is recorded (to the minute). */
    apiAccess: (token: string): Promise<ApiAccess | null> => tokenAccess(token, true),
    async apiAgent(token: string): Promise<Agent | null> {
      return (await tokenAccess(token, true))?.agent ?? null;
    },
    apiTokens: (agentId: number) => tokens.list(agentId),
    async revokeApiToken(id: number, agentId: number): Promise<void> {
      await tokens.delete(id, agentId);
      changed(agentId);
    },
    purgeExpired: () => sessions.deleteExpired(clock.now().toISOString()),
  };
}

/** Constant-time comparison of two secrets (false for anything but a string). */
export function sameSecret(expected: string, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(submitted);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type AuthService = ReturnType<typeof createAuthService>;
