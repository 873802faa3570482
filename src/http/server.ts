import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import helmet from 'helmet';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fileURLToPath } from 'node:url';
import type { Hotline } from '../app.js';
import { TooManyAttemptsError } from '../core/login-limiter.js';
import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { Mail } from '../mail/mail.js';
import type { Pbx } from '../pbx/pbx.js';
import { PbxTimeoutError, PbxUnavailableError } from '../pbx/with-timeout.js';
import { createConnectionLimit } from '../connection-limit.js';
import { lingerBeforeClosing } from './linger.js';
import { fieldOf, packForm, replayableForm } from './form-replay.js';
import { DatabaseBusyError, isWriteRefused } from '../storage/db-health.js';
import { ThreadUnavailableError } from '../web/protocol.js';
import { adminPages } from './admin-pages.js';
import type { AdminServices } from './admin-pages.js';
import type { AgentPageServices } from './agent-pages.js';
import type { ApiServices } from './api.js';
import type { CallLogServices } from './call-log.js';
import type { WebMail, WebPbx } from './ports.js';
import { localMail, localPbx } from './ports.js';
import { agentPages, renderLogin, resubmitView } from './agent-pages.js';
import { localeData, page } from './page-helpers.js';
import { LANG_COOKIE, localeFor, localeOf } from './locale.js';
import { translateMessage } from './messages.js';
import { apiRoutes } from './api.js';
import { callLogPages } from './call-log.js';
import type { RealtimeOptions, RealtimeServices } from '../realtime/realtime.js';
import { attachRealtime } from '../realtime/realtime.js';
import { AdminOnlyError, authPlugin, CsrfError, NotLoggedInError, SESSION_COOKIE } from './auth.js';
import { createViews } from './views.js';
import { validatorCompiler } from './schemas.js';

const STATIC_DIR = fileURLToPath(new URL('../../web/static/', import.meta.url));

declare module 'fastify' {
  interface FastifyInstance {
    /** socket.io screen-pops on the same server. */
    realtime: import('../realtime/realtime.js').Realtime;
    /** Every route's method and URL pattern (the tests send each one bad input). */
    routeList: ReadonlyArray<{ method: string; url: string }>;
  }
}

/** Domain and auth errors → HTTP status and a sentence for the user. */
function statusOf(error: unknown): number {
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ValidationError) return 400;
  if (error instanceof ForbiddenError || error instanceof CsrfError || error instanceof AdminOnlyError) return 403;
  if (error instanceof ConflictError) return 409;
  if (error instanceof NotLoggedInError) return 401;
  if (error instanceof TooManyAttemptsError) return 429;
  if (error instanceof PbxUnavailableError || error instanceof PbxTimeoutError || error instanceof ThreadUnavailableError || error instanceof ServiceUnavailableError) return 503;
  // The database cannot take the write now (locked by another process, full, read-only): try again later.
  if (isWriteRefused(error)) return 503;
  const status = (error as FastifyError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

/** `trustedProxies` as fastify's `trustProxy`: the list, or false for none. */
export function trustedProxies(setting: string): string[] | false {
  const list = setting.split(',').map((s) => s.trim()).filter(Boolean);
  return list.length ? list : false;
}

/** Deadlines for HTTP clients, in ms: headers, the whole request, an idle keep-alive, any idle socket. */
export const HTTP_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 10_000, idleMs: 60_000 };
export type HttpTimeouts = typeof HTTP_TIMEOUTS;

/**
 * An HTTP server that slow or greedy clients cannot hold sockets on for ever (nor the file
 * descriptors calls need). Node checks these deadlines every `connectionsCheckingInterval`.
 */
export function createHttpServer(handler: RequestListener, timeouts: Partial<HttpTimeouts> = {}): Server {
  const limits = { ...HTTP_TIMEOUTS, ...timeouts };
  const server = createServer(
    { requestTimeout: limits.requestMs, headersTimeout: limits.headersMs, keepAliveTimeout: limits.keepAliveMs, connectionsCheckingInterval: Math.min(1000, limits.headersMs) },
    handler,
  );
  server.setTimeout(limits.idleMs);
  return server;
}

/**
 * A cap on the connections one address may hold open: beyond it, new ones are closed at once.
 * Returns `handedOver(socket)`: a connection given to another process no longer counts here.
 */
export function limitConnectionsPerAddress(server: Server, max: number): (socket: Socket) => void {
  const connections = createConnectionLimit(max);
  const counted = new WeakSet<Socket>();
  const release = (socket: Socket) => {
    if (counted.delete(socket)) connections.release(socket.remoteAddress ?? '');
  };
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (!connections.admit(address)) {
      socket.destroy();
      return;
    }
    counted.add(socket);
    socket.once('close', () => release(socket));
  });
  return release;
}

/**
 * Helmet's security headers, worked out once. (@fastify/helmet runs \`helmet()\` afresh for every
 * request, parsing the CSP each time: 14 % of a page's time here.) A route may still replace one,
 * as attachments do with their own CSP.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        fontSrc: ["'self'"],
        // Plain HTTP on loopback is the embedded default: upgrading would break it.
        upgradeInsecureRequests: null,
      },
    },
    // Helmet's HSTS would pin TLS on a plain-HTTP loopback install; the TLS front end sets it.
    strictTransportSecurity: false,
  })({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return headers;
}

/** What the pages and the API use besides the core: the bridge and the e-mail channel, as ports. */
export interface AppParts {
  /** Shorter HTTP deadlines (tests). */
  timeouts?: Partial<HttpTimeouts>;
  pbx?: WebPbx;
  mail?: WebMail;
  /** A folder with templates replacing the built-in ones of the same name. */
  templatesDir?: string;
  /** Settings others keep in memory changed (the TTN scheme): tell them. */
  settingsChanged?: () => Promise<void>;
}

export interface ServerParts extends Omit<AppParts, 'pbx' | 'mail'> {
  pbx?: Pbx;
  /** The e-mail channel: agent replies go to its outbox, its status shows on the admin page. */
  mail?: Mail;
  realtime?: RealtimeOptions;
}

/**
 * Everything on one thread, listening itself: pages, API, `/healthz` and the socket.io screen-pops
 * (tests, the demo). The service splits it: the pages on a thread of their own (`src/web/`).
 */
export async function buildServer(hotline: WebAppServices & RealtimeServices, parts: ServerParts = {}) {
  const app = await buildWebApp(hotline, { ...parts, pbx: parts.pbx && localPbx(parts.pbx), mail: parts.mail && localMail(parts.mail) });
  limitConnectionsPerAddress(app.server, hotline.config.httpMaxConnectionsPerAddress);
  const realtime = attachRealtime(app.server, hotline, parts.realtime);
  app.decorate('realtime', realtime);
  app.addHook('preClose', async () => realtime.close());
  return app;
}

/** What the pages, the API and `/healthz` use of the core. */
export type WebAppServices = AgentPageServices & AdminServices & ApiServices & CallLogServices & Pick<Hotline, 'auth' | 'clock' | 'config' | 'database' | 'databaseProblems' | 'i18n' | 'log' | 'notices'>;

/** The agent and admin pages, the JSON API and `/healthz`, as a fastify app. */
export async function buildWebApp(hotline: WebAppServices, parts: AppParts = {}) {
  const app = Fastify({
    loggerInstance: hotline.log as FastifyBaseLogger,
    // Forwarded headers only from the proxies the site names: otherwise any client could claim another address.
    trustProxy: trustedProxies(hotline.config.trustedProxies),
    bodyLimit: 1024 * 1024,
    serverFactory: (handler) => createHttpServer(handler, parts.timeouts),
  });
  const views = createViews(parts.templatesDir);
  app.decorate('localeOf', (request: FastifyRequest) =>
    localeFor(hotline.i18n, hotline.config.timeZone, request.agent ?? null, { query: (request.query as { lang?: string } | undefined)?.lang, cookie: request.cookies?.[LANG_COOKIE], acceptLanguage: request.headers['accept-language'] }, () => hotline.clock.now()),
  );
  // Every route declares the shape of its input (schemas.ts); a route without would take input unchecked.
  app.setValidatorCompiler(validatorCompiler);
  const routeList: Array<{ method: string; url: string }> = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeList.push({ method, url: route.url });
    if (route.url.startsWith('/static/') || route.method === 'HEAD' || route.url === '/healthz') return;
    const s = route.schema ?? {};
    const missing = [route.url.includes(':') && !s.params ? 'params' : null, !s.querystring && !s.body ? 'querystring or body' : null].filter(Boolean);
    if (missing.length) throw new Error(`route ${String(route.method)} ${route.url} declares no schema for its ${missing.join(' and ')}`);
  });

  const security = securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(security);
    done();
  });
  // A body the route did not read (an upload to a page that takes none, or before the login) is not
  // drained into memory to keep the connection: it is closed after the answer, and a moment later,
  // so that the sender reads the answer before the close (linger.ts).
  app.addHook('onSend', (request, reply, payload, done) => {
    // Redirects name the whole address: lynx stops at every relative one ("Location URL is not absolute").
    const location = reply.getHeader('location');
    if (typeof location === 'string' && /^\/(?!\/)/.test(location) && request.host) void reply.header('location', `${request.protocol}://${request.host}${location}`);
    if (request.raw.complete === false) {
      void reply.header('connection', 'close');
      lingerBeforeClosing(request.raw.socket);
    }
    done(null, payload);
  });
  await app.register(cookie);
  await app.register(formbody);
  // Uploads (IVR prompts): a multipart body is not read until the one route that takes files asks
  // for it (`request.file()`), after the login and the CSRF token (in the form's URL) are checked —
  // so no route parses an upload for someone who is not allowed to send it.
  await app.register(multipart, { limits: { fileSize: 20 * 1024 * 1024, files: 1, fields: 10, parts: 11 } });
  await app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/static/' });
  // Not registered as an encapsulated plugin: its hook must run for every route.
  await authPlugin(app, { auth: hotline.auth, unseenNotices: async (agentId) => (await hotline.notices.count(agentId)).unseen });

  app.setErrorHandler(async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const status = statusOf(error);
    const storage = status === 503 && !(error instanceof PbxUnavailableError || error instanceof PbxTimeoutError || error instanceof ThreadUnavailableError || error instanceof ServiceUnavailableError);
    const message =
      status === 500 ? 'Something went wrong on the server; it has been logged.' : storage ? 'The database cannot take changes right now (busy, full or read-only); please try again shortly. Nothing was changed.' : (error as Error).message;
    if (storage) {
      request.log.warn({ err: error }, 'write refused by the database');
      void reply.header('retry-after', '5');
    }
    if (status === 500) request.log.error({ err: error }, 'request failed');
    if (request.url.startsWith('/api/')) return reply.code(status).send({ error: message });
    const locale = localeOf(request);
    const { t } = locale;
    const shown = status === 500 ? t('error.server') : storage ? t('error.storage') : translateMessage(locale.lang, message);
    // A form that could not be taken comes back filled in (form-replay.ts): after a new login when
    // the session had ended, else at once with the error beside its field.
    const form = replayableForm(request);
    if (error instanceof NotLoggedInError) {
      // 200, not 401: text browsers (lynx) stop at a 401 to ask whether to show its page at all.
      if (form) return renderLogin(views, request, reply, { error: t('login.sessionEnded'), next: '/queues', form: packForm(form) }, 200);
      return reply.redirect(`/login?next=${encodeURIComponent(request.method === 'GET' ? request.url : '/queues')}`, 303);
    }
    // Input refused by its schema is refused before the session is looked at: look now, to give the form back.
    if (form && !request.session && !request.headers.authorization) {
      request.session = await hotline.auth.session(request.cookies[SESSION_COOKIE]).catch(() => null);
      request.agent = request.session?.agent ?? null;
    }
    if (form && request.session && (error instanceof CsrfError || status === 400 || status === 403 || status === 409 || status === 503)) {
      // Languages may differ from here on: the agent's, now the session is known.
      const own = localeOf(request);
      const text = error instanceof CsrfError ? own.t('resubmit.earlierSession') : own.t('resubmit.notSavedBecause', { message: status === 500 ? own.t('error.server') : storage ? own.t('error.storage') : translateMessage(own.lang, message) });
      return page(views, request, reply, 'resubmit', { title: own.t('resubmit.notSaved'), ...resubmitView(form, text, fieldOf(message, form.fields)) }, status);
    }
    const html = views.render('error', { me: request.agent, csrf: request.session?.csrfToken ?? '', ...localeData(locale), title: status === 404 ? t('error.notFound') : t('error.sorry'), message: shown });
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  });
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/api/')) return reply.code(404).send({ error: 'no such endpoint' });
    const { t } = localeOf(request);
    const html = views.render('error', { me: request.agent, csrf: request.session?.csrfToken ?? '', ...localeData(localeOf(request)), title: t('error.notFound'), message: t('error.noPage', { url: request.url }) });
    return reply.code(404).type('text/html; charset=utf-8').send(html);
  });

  // The probe takes the write lock for an instant: however often /healthz is asked, at most once a
  // second, so that asking cannot make the call path's writes wait.
  let probed: { at: number; problems: string[] } | null = null;
  const databaseProblems = (): string[] => {
    if (!probed || Date.now() - probed.at >= 1000) probed = { at: Date.now(), problems: hotline.databaseProblems() };
    return probed.problems;
  };
  const dbStatus = (): string => {
    const problems = databaseProblems();
    return problems.length === 0 ? 'ok' : problems.join('; ');
  };

  app.get('/healthz', async (_request, reply) => {
    const problems = databaseProblems();
    const [pbx, mail] = await Promise.all([parts.pbx?.status(), parts.mail?.counts()]);
    // The service is useful without the PBX (mail, web), and callers still reach the dialplan's
    // fallback queue: a PBX that is away degrades the status but is not a failure of the service.
    // A database that cannot be read is a failure; one that cannot be written (full, read-only,
    // locked) degrades: calls are still routed, their records are what is lost.
    const unreadable = problems.some((p) => p.startsWith('cannot be read'));
    const pbxUp = !pbx || (pbx.ari === 'connected' && pbx.ami === 'connected');
    const reasons = [...problems.map((p) => `database: ${p}`), ...(pbxUp ? [] : [`PBX: ARI ${pbx?.ari}, AMI ${pbx?.ami}`]), ...(pbx?.popsDegraded ? [`pops: ${pbx.pops}`] : [])];
    const status = unreadable ? 'error' : reasons.length ? 'degraded' : 'ok';
    return reply.code(unreadable ? 503 : 200).send({ status, ...(reasons.length ? { reasons } : {}), db: problems.length ? problems.join('; ') : 'ok', dbEngine: hotline.database.engine, ...(pbx ? { pbx } : {}), ...(mail ? { mail } : {}) });
  });

  await app.register(agentPages, { hotline, views, pbx: parts.pbx, mail: parts.mail });
  await app.register(callLogPages, { hotline, views, pbx: parts.pbx });
  await app.register(adminPages, {
    hotline,
    views,
    mail: parts.mail,
    settingsChanged: parts.settingsChanged,
    status: async () => {
      const [pbx, mail] = await Promise.all([parts.pbx?.status(), parts.mail?.status()]);
      // An instance without the bridge (`services`) says where it is rather than "not started".
      const away = hotline.config.services.includes('bridge') ? 'not started' : 'in the instances with the bridge (not this one)';
      return { db: `${dbStatus()} (${hotline.database.where})`, ari: pbx?.ari ?? away, ami: pbx?.ami ?? away, activeIvrCalls: pbx?.activeIvrCalls ?? '-', mail: mail ?? 'not started', limitedCallers: pbx?.guessing.limitedCallers.length ?? 0, pops: pbx?.pops };
    },
    guessing: async () => (await parts.pbx?.status())?.guessing,
  });
  await app.register(apiRoutes, { hotline, mail: parts.mail });
  return app;
}
