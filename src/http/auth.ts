import '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Session } from '../core/auth-service.js';
import { ForbiddenError } from '../core/errors.js';
import type { Agent } from '../core/types.js';

export const SESSION_COOKIE = 'hotline_session';
/** The login form's CSRF cookie (double submit: the form carries the same value). */
export const LOGIN_COOKIE = 'hotline_login';

declare module 'fastify' {
  interface FastifyRequest {
    /** The browser session, when the request carries a valid session cookie. */
    session: Session | null;
    /** The agent making the request (session or API token); null when anonymous. */
    agent: Agent | null;
    /** Notices the agent has not seen, for the pages' menu (0 for the API). */
    unseenNotices: number;
  }
}

/** Thrown by the guards; the error handler turns it into a redirect (pages) or 401 (API). */
export class NotLoggedInError extends Error {
  override name = 'NotLoggedInError';
}

/** A form or API call without the session's CSRF token. */
export class CsrfError extends Error {
  override name = 'CsrfError';
}

/** Admin pages and actions for agents without the admin role. */
export class AdminOnlyError extends Error {
  override name = 'AdminOnlyError';
}

/**
 * Resolves the session cookie or `Authorization: Bearer <API token>` on every request.
 * Unsafe requests authenticated by cookie must carry the session's CSRF token
 * (`_csrf` form field or `X-CSRF-Token` header); API tokens are not sent by browsers on their own, so they need none.
 */
export async function authPlugin(app: FastifyInstance, opts: { auth: AuthService; unseenNotices?: (agentId: number) => Promise<number> }): Promise<void> {
  const { auth } = opts;
  app.decorateRequest('session', null);
  app.decorateRequest('agent', null);
  app.decorateRequest('unseenNotices', 0);

  app.addHook('preHandler', async (request, reply) => {
    const bearer = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer) {
      const access = await auth.apiAccess(bearer);
      request.agent = access?.agent ?? null;
      if (access?.scope === 'ro' && !['GET', 'HEAD', 'OPTIONS'].includes(request.method)) throw new ForbiddenError('this API token may only read');
      return;
    }
    request.session = await auth.session(request.cookies[SESSION_COOKIE]);
    request.agent = request.session?.agent ?? null;
    // The cookie lasts as long as the session, which slides with use: an agent at work is not logged
    // out 12 hours after logging in (the cookie's lifetime was set once, at login).
    if (request.session) setSessionCookie(request, reply, request.cookies[SESSION_COOKIE]!, request.session.secondsLeft);
    // The menu says how many notices wait (pages only: one indexed count).
    if (request.session && request.method === 'GET' && opts.unseenNotices) request.unseenNotices = await opts.unseenNotices(request.session.agent.id);
    const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
    if (unsafe && request.session && request.routeOptions.config?.csrf !== false) {
      // A multipart form's body is read only after this check: its token comes in the form's URL.
      const fromUrl = request.isMultipart() ? (request.query as Record<string, unknown> | undefined)?._csrf : undefined;
      const submitted = (request.body as Record<string, unknown> | undefined)?._csrf ?? request.headers['x-csrf-token'] ?? fromUrl;
      if (!auth.csrfValid(request.session, submitted)) throw new CsrfError('the form is out of date or did not come from Hotline; reload the page and try again');
    }
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false for the few unsafe routes that need no CSRF token (login itself). */
    csrf?: boolean;
  }
}

/** The logged-in agent, or NotLoggedInError. */
export function requireAgent(request: FastifyRequest): Agent {
  if (!request.agent) throw new NotLoggedInError('log in first');
  return request.agent;
}

/** The logged-in admin, or AdminOnlyError. */
export function requireAdmin(request: FastifyRequest): Agent {
  const agent = requireAgent(request);
  if (agent.role !== 'admin') throw new AdminOnlyError('this page is for admins');
  return agent;
}

/** Sets the session cookie: httpOnly, SameSite=Lax, Secure when the request came over TLS. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string | null, maxAgeSeconds = 12 * 60 * 60): void {
  const secure = request.protocol === 'https';
  if (token === null) reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure });
  else reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure, maxAge: maxAgeSeconds });
}
