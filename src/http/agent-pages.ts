import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FormFields } from './form-replay.js';
import { fieldView, packForm, unpackForm } from './form-replay.js';
import type { Hotline } from '../app.js';
import { randomBytes } from 'node:crypto';
import { sameSecret } from '../core/auth-service.js';
import { TooManyAttemptsError } from '../core/login-limiter.js';
import { ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { TicketChange, TicketListItem, TicketSort } from '../core/ports.js';
import type { z } from 'zod';
import { filterQuery, headingDirection, listFilter, listPage } from './ticket-list.js';
import { historyLines } from './history-view.js';
import { clickToDial } from './dialing.js';
import { ADMIN_PAGE_SIZE, numberedPage } from './paging.js';
import { composeForm } from './compose.js';
import type { Agent, Article, Attachment, Delivery, TicketState } from '../core/types.js';
import { LOGIN_COOKIE, requireAgent, setSessionCookie, SESSION_COOKIE } from './auth.js';
import { field, idField, page, seenChoice, ticketRows } from './page-helpers.js';
import type { Locale } from './locale.js';
import { LANG_COOKIE, localeOf, mailWords, waitText, zoneChoices } from './locale.js';
import { translateMessage } from './messages.js';
import { utcToZonedInput, zonedToUtc } from '../i18n/time.js';
import type { WebMail, WebPbx } from './ports.js';
import { sanitizeMailHtml } from './sanitize.js';
import type { Views } from './views.js';
import { AttachmentQuery, BulkForm, DialForm, EmptyForm, IdParams, LoginForm, LoginQuery, NewTicketForm, NewTicketQuery, NoteForm, PageQuery, ListPageQuery, NoticesSeenForm, SettingsForm, AwayForm, OwnPasswordForm, ReplyForm, SavedFilterForm, TicketListFilter, TicketListQuery, TicketPageQuery, TtnParams, UpdateForm, DraftUploadQuery, DraftParams, DraftDeleteForm } from './schemas.js';

/** Where an outgoing mail stands, in a sentence for its article. */
function deliveryText(d: Delivery, locale: Locale): string {
  const { t } = locale;
  const error = d.lastError ? `: ${d.lastError.slice(0, 200)}` : '';
  const tries = t('delivery.attempts', { count: d.attempts });
  switch (d.state) {
    case 'queued':
      return t('delivery.queued');
    case 'retrying':
      return t('delivery.retrying', { tries, error, next: locale.time(d.nextAttemptAt) });
    case 'sent':
      return t('delivery.sent', { time: locale.time(d.sentAt) });
    case 'bounced':
      return t('delivery.bounced', { time: locale.time(d.sentAt) });
    case 'failed':
      return t('delivery.failed', { count: d.attempts, error });
  }
}

/** Raster images browsers show, by every type senders label them with → the type they are served as. */
const INLINE_IMAGES: Record<string, string> = {
  'image/png': 'image/png', 'image/x-png': 'image/png', 'image/apng': 'image/apng',
  'image/jpeg': 'image/jpeg', 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg',
  'image/gif': 'image/gif', 'image/webp': 'image/webp', 'image/avif': 'image/avif',
  'image/bmp': 'image/bmp', 'image/x-bmp': 'image/bmp', 'image/x-ms-bmp': 'image/bmp',
};
/** Sound browsers play in an <audio> element (voicemail is stored as WAV), by the types it comes labelled with. */
const INLINE_AUDIO: Record<string, string> = { 'audio/wav': 'audio/wav', 'audio/x-wav': 'audio/wav', 'audio/wave': 'audio/wav', 'audio/vnd.wave': 'audio/wav' };
const baseType = (contentType: string) => contentType.toLowerCase().split(';')[0]!.trim();
const inlineType = (contentType: string): string | null => INLINE_IMAGES[baseType(contentType)] ?? INLINE_AUDIO[baseType(contentType)] ?? null;
const isAudio = (contentType: string): boolean => INLINE_AUDIO[baseType(contentType)] !== undefined;

/** Files attached to one reply: how many per upload, how large each, how much in all. */
const MAX_DRAFT_FILES = 10;
const MAX_DRAFT_FILE_BYTES = 20 * 1024 * 1024;
const MAX_DRAFT_TOTAL_BYTES = 25 * 1024 * 1024;

/** `compose=…&article=…&` for a link back to the reply being written. */
const composeQuery = (compose: string | undefined, article: string | undefined): string =>
  [compose ? `compose=${encodeURIComponent(compose)}` : '', article ? `article=${encodeURIComponent(article)}` : ''].filter(Boolean).map((p) => `${p}&`).join('');

/** Tickets per list page. */
const PAGE_SIZE = 50;

/** Only same-site paths for `next`, so the login form cannot be used to send someone elsewhere. */
const safeNext = (next: string) => (/^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : '/queues');

/**
 * The login page. Its form carries a token that must match a cookie only Hotline's own pages set
 * (login CSRF: another site cannot log a browser in to an account of its choosing).
 */
export function renderLogin(views: Views, request: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>, status = 200) {
  let token = request.cookies[LOGIN_COOKIE];
  if (!token || !/^[\w-]{43}$/.test(token)) {
    token = randomBytes(32).toString('base64url');
    void reply.setCookie(LOGIN_COOKIE, token, { path: '/login', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', maxAge: 2 * 60 * 60 });
  }
  const lang = (request.query as { lang?: string } | undefined)?.lang;
  // A language chosen on the login page stays for the login's answers (else Accept-Language decides).
  if (lang) void reply.setCookie(LANG_COOKIE, lang, { path: '/', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: 365 * 24 * 3600 });
  return page(views, request, reply, 'login', { title: localeOf(request).t('login.title'), loginToken: token, ...data }, status);
}

/** What the page that gives a form back shows: its fields, the error, and where to go instead. */
export function resubmitView(form: { action: string; fields: FormFields }, message: string, errorField: string | null) {
  return {
    message,
    action: form.action,
    fields: form.fields.map(([name, value]) => ({ name, value, ...fieldView(name, value), error: name === errorField })),
    back: /^\/tickets\/[\w-]+\//.test(form.action) ? form.action.replace(/^(\/tickets\/[\w-]+)\/.*$/, '$1') : '/queues',
  };
}

/** The list page's columns (their texts `list.col.<key>`), and the sort each heading links to. */
const LIST_COLUMNS: Array<{ key: string; sort: TicketSort | null }> = [
  { key: 'ttn', sort: 'ttn' },
  { key: 'title', sort: null },
  { key: 'state', sort: 'state' },
  { key: 'priority', sort: 'priority' },
  { key: 'queue', sort: null },
  { key: 'owner', sort: 'owner' },
  { key: 'customer', sort: null },
  { key: 'age', sort: 'created' },
  { key: 'updated', sort: 'updated' },
];

/** Active agents who may see at least one of these queues: whom a list can be filtered by, and tickets given to. */
async function ownersOfQueues(hotline: Pick<Hotline, 'directory' | 'agents'>, queueIds: number[]) {
  const ids = await hotline.directory.agentsSeeing(queueIds);
  const agents = new Map((await hotline.agents.list()).map((a) => [a.id, a]));
  return ids.map((id) => agents.get(id)!).filter(Boolean);
}

/** The active agents who may see a queue (and so own its tickets). */
async function ownersFor(hotline: Pick<Hotline, 'directory'>, agents: readonly import('../core/types.js').Agent[], queueId: number) {
  const out = [];
  for (const a of agents) if (a.active && (await hotline.directory.access(a.id, queueId)) !== null) out.push(a);
  return out;
}

/** What the agents' pages use of the core. */
export type AgentPageServices = Pick<Hotline, 'agents' | 'auth' | 'calls' | 'cannedAnswers' | 'clock' | 'config' | 'directory' | 'drafts' | 'notices' | 'savedFilters' | 'settings' | 'tickets'>;

/** Login, queues, ticket lists and views, notes, replies, changes, phone tickets, attachments. */
export async function agentPages(app: FastifyInstance, opts: { hotline: AgentPageServices; views: Views; pbx?: WebPbx; mail?: WebMail }): Promise<void> {
  const { hotline, views } = opts;
  const owners = (agents: readonly import('../core/types.js').Agent[], queueId: number) => ownersFor(hotline, agents, queueId);
  // Ticket lists' rows as the page shows them (per language and zone), for as long as the repository keeps the list.
  const renderedLists = new WeakMap<readonly TicketListItem[], Map<string, string>>();

  app.get('/', { schema: { querystring: PageQuery } }, async (request, reply) => reply.redirect(request.agent ? '/queues' : '/login'));

  const loginPage = (request: FastifyRequest, reply: FastifyReply, data: Record<string, unknown>, status = 200) => renderLogin(views, request, reply, data, status);

  app.get('/login', { schema: { querystring: LoginQuery } }, async (request, reply) => loginPage(request, reply, { next: (request.query as Record<string, string>).next ?? '' }));

  app.post('/login', { config: { csrf: false }, schema: { body: LoginForm } }, async (request, reply) => {
    const login = field(request.body, 'login');
    const password = (request.body as Record<string, unknown> | undefined)?.password;
    const next = safeNext(field(request.body, 'next'));
    // A form the session ended under, carried through this login (see form-replay.ts).
    const carried = unpackForm((request.body as Record<string, unknown> | undefined)?.form);
    const again = { login, next, form: carried ? packForm(carried) : '' };
    const cookie = request.cookies[LOGIN_COOKIE];
    if (!cookie || !sameSecret(cookie, (request.body as Record<string, unknown> | undefined)?._csrf)) {
      return loginPage(request, reply, { error: localeOf(request).t('login.expired'), ...again }, 403);
    }
    try {
      const result = typeof password === 'string' && login ? await hotline.auth.login(login, password, request.ip) : null;
      if (!result) return loginPage(request, reply, { error: localeOf(request).t('login.wrong'), ...again }, 401);
      setSessionCookie(request, reply, result.token);
      // Back to what the agent was sending, filled in, with the new session's token: one click sends it.
      if (carried) {
        request.agent = result.session.agent;
        const { t } = localeOf(request);
        return page(views, request, reply, 'resubmit', { title: t('resubmit.again'), me: result.session.agent, csrf: result.session.csrfToken, ...resubmitView(carried, t('resubmit.loggedInAgain'), null) });
      }
      return reply.redirect(next, 303);
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        reply.header('Retry-After', Math.ceil(error.retryAfterSeconds));
        return loginPage(request, reply, { error: localeOf(request).t('login.tooMany', { wait: waitText(localeOf(request), error.retryAfterSeconds) }), ...again }, 429);
      }
      throw error;
    }
  });

  app.post('/logout', { schema: { body: EmptyForm } }, async (request, reply) => {
    await hotline.auth.logout(request.cookies[SESSION_COOKIE]);
    setSessionCookie(request, reply, null);
    return reply.redirect('/login', 303);
  });

  app.get('/queues', { schema: { querystring: PageQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const [queues, counts] = await Promise.all([hotline.directory.visibleQueues(agent.id), hotline.tickets.countVisible(agent.id)]);
    const rows = queues.map((q) => {
      const c: Record<TicketState, number> = { new: 0, open: 0, pending: 0, closed: 0 };
      for (const n of counts) if (n.queueId === q.id) c[n.state] = n.count;
      return { ...q, counts: c };
    });
    return page(views, request, reply, 'queues', { title: localeOf(request).t('queues.title'), queues: rows, saved: await hotline.savedFilters.list(agent.id) });
  });

  app.get('/tickets', { schema: { querystring: TicketListQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const query = request.query as z.output<typeof TicketListQuery>;
    const { filter, state, owner } = listFilter(query, agent.id);
    const visible = await hotline.directory.visibleQueues(agent.id);
    const locale = localeOf(request);
    const { t } = locale;
    let heading = t('list.heading.all');
    if (filter.queueId !== undefined) {
      const queue = visible.find((q) => q.id === filter.queueId);
      if (!queue) throw new NotFoundError(`no queue ${filter.queueId}`);
      heading = t('list.heading.queue', { name: queue.name });
    }
    if (owner === 'me') heading = t('list.heading.mine');
    if (filter.search) heading = t('list.heading.search', { search: filter.search });
    const keep = filterQuery(query);
    const result = await listPage(hotline, agent.id, filter, query, keep, PAGE_SIZE);
    // A search for a complete TTN goes straight to the ticket.
    if (filter.search && result.total === 1 && result.items[0]!.ttn === filter.search) return reply.redirect(`/tickets/${filter.search}`, 303);
    // A list read again unchanged is the same array (the repository keeps it): so are its rows' HTML.
    let tables = renderedLists.get(result.items);
    if (!tables) renderedLists.set(result.items, (tables = new Map()));
    const as = `${locale.lang} ${locale.timeZone}`;
    let table = tables.get(as);
    if (table === undefined) {
      table = views.render('ticket-table', { tickets: ticketRows(result.items, locale), t });
      tables.set(as, table);
    }
    const sort = filter.sort ?? 'updated';
    const direction = filter.direction ?? 'desc';
    const columns = LIST_COLUMNS.map((c) => {
      const label = t(`list.col.${c.key}`);
      if (!c.sort) return { label, sort: null, sorted: false, href: '' };
      const q = new URLSearchParams(keep);
      q.set('sort', c.sort);
      q.set('dir', headingDirection(c.sort, sort, direction));
      return { label, sort: c.sort, sorted: c.sort === sort, href: q.toString() };
    });
    const [owners, saved] = await Promise.all([ownersOfQueues(hotline, visible.filter((q) => filter.queueId === undefined || q.id === filter.queueId).map((q) => q.id)), hotline.savedFilters.list(agent.id)]);
    return page(views, request, reply, 'tickets', {
      title: heading,
      heading,
      table,
      count: result.items.length,
      total: result.total,
      from: result.from,
      links: result.links,
      columns,
      queues: visible,
      writableQueues: visible.filter((q) => q.access === 'rw'),
      owners,
      saved,
      filter: { queue: filter.queueId ?? null, state, owner, priority: query.priority ?? '', sort, dir: direction },
      q: filter.search ?? '',
      filterQuery: keep.toString(),
      self: `/tickets?${new URLSearchParams(Object.entries(query).filter(([k, v]) => k !== 'done' && typeof v === 'string' && v) as Array<[string, string]>).toString()}`,
    });
  });

  app.post('/tickets/bulk', { schema: { body: BulkForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof BulkForm>;
    const ttns = [...new Set(b.ttn === undefined ? [] : Array.isArray(b.ttn) ? b.ttn : [b.ttn])];
    if (ttns.length === 0) throw new ValidationError('select at least one ticket');
    const change: TicketChange = {};
    if (b.state) change.state = b.state as TicketState;
    if (b.ownerId) change.ownerId = b.ownerId === 'none' ? null : Number(b.ownerId);
    if (b.queueId) change.queueId = Number(b.queueId);
    if (b.priority) change.priority = Number(b.priority);
    if (Object.keys(change).length === 0) throw new ValidationError('choose what to change (state, owner, queue or priority)');
    // Each ticket on its own, with the agent's rights on it: one refused does not stop the others.
    const changed: string[] = [];
    const refused: Array<{ ttn: string; reason: string }> = [];
    for (const ttn of ttns) {
      try {
        const ticket = await hotline.tickets.findByTtn(ttn);
        if (!ticket) throw new NotFoundError(`no ticket ${ttn}`);
        // Checks the agent's write access to this ticket (a ticket of a queue they cannot see is "no ticket").
        await hotline.tickets.change(ticket.id, change, { agentId: agent.id });
        changed.push(ttn);
      } catch (error) {
        if (!(error instanceof NotFoundError || error instanceof ForbiddenError || error instanceof ValidationError)) throw error;
        refused.push({ ttn, reason: error.message });
      }
    }
    const back = /^\/tickets(\?[^#]*)?$/.test(b.back) ? b.back : '/tickets';
    const { t, lang } = localeOf(request);
    return page(views, request, reply, 'bulk-result', { title: t('bulk.title'), changed, refused: refused.map((r) => ({ ...r, reason: translateMessage(lang, r.reason) })), back });
  });

  app.get('/notices', { schema: { querystring: ListPageQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const { total, unseen } = await hotline.notices.count(agent.id);
    const pager = numberedPage((request.query as { page?: string }).page, total);
    const notices = await hotline.notices.list(agent.id, ADMIN_PAGE_SIZE, pager.offset);
    return page(views, request, reply, 'notices', { title: localeOf(request).t('notices.title'), notices, pager, unseen });
  });

  app.post('/notices/seen', { schema: { body: NoticesSeenForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof NoticesSeenForm>;
    await hotline.notices.markSeen(agent.id, seenChoice(b, 'choose notices to mark as seen'));
    return reply.redirect('/notices?done=notices-seen', 303);
  });

  app.get('/settings', { schema: { querystring: PageQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const [queues, watched] = await Promise.all([hotline.directory.visibleQueues(agent.id), hotline.notices.watched(agent.id)]);
    return page(views, request, reply, 'settings', { title: localeOf(request).t('settings.title'), queues, watched, agent: await hotline.agents.findById(agent.id), ...zoneChoices(hotline, localeOf(request)) });
  });

  app.post('/settings', { schema: { body: SettingsForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof SettingsForm>;
    const visible = new Set((await hotline.directory.visibleQueues(agent.id)).map((q) => q.id));
    const watch = (b.watch === undefined ? [] : [b.watch].flat().map(Number)).filter((id) => visible.has(id));
    const byEmail = b.notifyByEmail === '1';
    if (byEmail && !agent.email) throw new ValidationError('notifyByEmail: you have no e-mail address on file; ask an admin to enter it');
    await hotline.agents.update(agent.id, { notifyByEmail: byEmail, ...(b.language ? { language: b.language } : {}), timeZone: b.timeZone || null });
    await hotline.notices.setWatched(agent.id, watch);
    return reply.redirect('/settings?done=settings-saved', 303);
  });

  app.post('/settings/away', { schema: { body: AwayForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const away = (request.body as z.output<typeof AwayForm>).away === '1';
    // Routing reads it at every call: calls for this agent's tickets go to the queue from now on (or ring again).
    await hotline.agents.update(agent.id, { away });
    return reply.redirect(`/settings?done=${away ? 'now-away' : 'now-available'}`, 303);
  });

  app.post('/settings/password', { schema: { body: OwnPasswordForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof OwnPasswordForm>;
    if (b.password !== b.repeat) throw new ValidationError('repeat: the two new passwords differ');
    try {
      const result = await hotline.auth.changePassword(agent, b.current, b.password, request.ip);
      if (!result) throw new ValidationError('current: that is not your current password');
      setSessionCookie(request, reply, result.token);
      return reply.redirect('/settings?done=password-changed', 303);
    } catch (error) {
      if (error instanceof TooManyAttemptsError) {
        reply.header('Retry-After', Math.ceil(error.retryAfterSeconds));
        throw new ValidationError(`current: ${error.message}`);
      }
      throw error;
    }
  });

  app.post('/filters', { schema: { body: SavedFilterForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof SavedFilterForm>;
    if (!b.name) throw new ValidationError('name: give the filter a name');
    // Kept as the list page would read it: only the filter and order, checked by the list's own schema.
    const parsed = TicketListFilter.safeParse(Object.fromEntries(new URLSearchParams(b.query)));
    if (!parsed.success) throw new ValidationError(`query: ${parsed.error.issues[0]?.message ?? 'not a ticket-list filter'}`);
    const query = filterQuery(parsed.data).toString();
    await hotline.savedFilters.save(agent.id, b.name, query, new Date().toISOString());
    return reply.redirect(`/tickets?${query}${query ? '&' : ''}done=filter-saved`, 303);
  });

  app.post<{ Params: { id: string } }>('/filters/:id/delete', { schema: { params: IdParams, body: EmptyForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    if (!(await hotline.savedFilters.remove(Number(request.params.id), agent.id))) throw new NotFoundError('no such saved filter');
    return reply.redirect('/queues?done=filter-deleted', 303);
  });

  /** A call the agent may make a phone ticket for: one they were rung for or answered, or of a queue they may see. */
  async function callFor(agent: Agent, callId: string | undefined) {
    if (!callId) return null;
    const call = await hotline.calls.findById(Number(callId));
    if (!call) throw new NotFoundError(`no call ${callId}`);
    const mine = call.answeredBy === agent.id || call.agentsRung.includes(agent.id);
    const ofMyQueue = call.queueId !== null && (await hotline.directory.access(agent.id, call.queueId)) !== null;
    if (!mine && !ofMyQueue && agent.role !== 'admin') throw new NotFoundError(`no call ${callId}`);
    return call;
  }

  app.get('/tickets/new', { schema: { querystring: NewTicketQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const query = request.query as z.output<typeof NewTicketQuery>;
    const call = await callFor(agent, query.call);
    const lookup = (query.lookup ?? query.phone ?? call?.callerNumber ?? '').trim();
    let matches: Awaited<ReturnType<typeof hotline.directory.findCustomersByPhone>> = [];
    if (lookup) {
      const byEmail = lookup.includes('@') ? await hotline.directory.findCustomerByEmail(lookup) : null;
      matches = await hotline.directory.visibleCustomers(byEmail ? [byEmail] : await hotline.directory.findCustomersByPhone(lookup), agent.id);
    }
    const writableQueues = (await hotline.directory.visibleQueues(agent.id)).filter((q) => q.access === 'rw');
    // The call's queue first; else the default queue, where calls without a choice go.
    const defaultQueue = await hotline.directory.defaultQueue();
    const queueId = [call?.queueId, defaultQueue?.id].find((id) => id != null && writableQueues.some((q) => q.id === id)) ?? writableQueues[0]?.id ?? null;
    return page(views, request, reply, 'phone-ticket', {
      title: localeOf(request).t('phone.title'),
      lookup,
      matches,
      writableQueues,
      queueId,
      call: call ? { id: call.id, number: call.callerNumber, startedAt: call.startedAt, linked: call.ticketId !== null } : null,
      phone: lookup.includes('@') ? '' : lookup,
      email: lookup.includes('@') ? lookup : '',
    });
  });

  app.post('/tickets/new', { schema: { body: NewTicketForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const body = request.body as z.output<typeof NewTicketForm>;
    const queueId = idField(body, 'queueId');
    if (queueId === null) throw new ValidationError('choose a queue');
    const call = await callFor(agent, body.callId || undefined);
    const phone = field(body, 'phone');
    const email = field(body, 'email');
    // Only a customer the agent may see is attached (by id, or by the number or address entered).
    const customerId = await hotline.directory.customerForTicket(agent.id, { customerId: idField(body, 'customerId'), name: field(body, 'customerName'), email, phone });
    const { ticket } = await hotline.tickets.create(
      { queueId, title: field(body, 'title'), customerId, ownerId: agent.id, state: 'open', article: { kind: 'phone', from: phone || email || null, text: field(body, 'text'), authorAgentId: agent.id } },
      { agentId: agent.id },
    );
    // The call it was made for goes on it, with its call record as an article.
    if (call) await hotline.calls.linkTicket(call.id, ticket.id);
    return reply.redirect(`/tickets/${ticket.ttn}`, 303);
  });

  app.get<{ Params: { ttn: string } }>('/tickets/:ttn', { schema: { params: TtnParams, querystring: TicketPageQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const { ttn } = request.params;
    const query = request.query as z.output<typeof TicketPageQuery>;
    const locale = localeOf(request);
    const actor = { agentId: agent.id };
    const { ticket, articles, access } = await hotline.tickets.getVisible(ttn, actor);
    const attachments = await hotline.tickets.attachments(ttn, actor);
    const [queue, owner, customer, allAgents, visible, canned, drafts, queues] = await Promise.all([
      hotline.directory.findQueue(ticket.queueId),
      ticket.ownerId !== null ? hotline.agents.findById(ticket.ownerId) : null,
      ticket.customerId !== null ? hotline.directory.findCustomer(ticket.customerId) : null,
      hotline.agents.list(),
      hotline.directory.visibleQueues(agent.id),
      hotline.cannedAnswers.list(ticket.queueId),
      hotline.drafts.list(agent.id, ticket.id),
      hotline.directory.listQueues(),
    ]);
    // Opening the ticket is seeing what there was to tell about it.
    await hotline.notices.markSeen(agent.id, { ticketId: ticket.id });
    const answered = query.article ? (articles.find((a) => a.id === Number(query.article)) ?? null) : null;
    if (query.article && !answered) throw new NotFoundError(`no article ${query.article} on ticket ${ttn}`);
    const chosenCanned = query.canned ? (canned.find((c) => c.id === Number(query.canned)) ?? null) : null;
    const compose = composeForm({
      mode: query.compose ?? 'reply',
      article: answered,
      articles,
      attachments,
      ticket,
      queue,
      customer,
      agentName: agent.name,
      canned: chosenCanned,
      ownAddresses: [hotline.config.mailFrom, ...queues.map((q) => q.email).filter((e): e is string => !!e)],
      // The customer's language where known (the mail goes to them), else the agent's.
      words: mailWords(locale, customer?.language),
    });
    const byArticle = new Map<number, Attachment[]>();
    for (const a of attachments) byArticle.set(a.articleId, [...(byArticle.get(a.articleId) ?? []), a]);
    const view = articles.map((a) => {
      const files = byArticle.get(a.id) ?? [];
      const cid = new Map(files.filter((f) => f.contentId).map((f) => [f.contentId!.replace(/^<|>$/g, ''), `/attachments/${f.id}`]));
      return {
        ...a,
        deliveryText: a.delivery ? deliveryText(a.delivery, locale) : null,
        // Sanitised again at display: whatever was stored, nothing from a sender runs here.
        html: a.html ? sanitizeMailHtml(a.html, (c) => cid.get(c)) : null,
        attachments: files.map((f) => ({ ...f, inline: inlineType(f.contentType) !== null, audio: isAudio(f.contentType) })),
      };
    });
    return page(views, request, reply, 'ticket', {
      title: locale.t('ticket.heading', { ttn: ticket.ttn }),
      ticket,
      // The reminder as the agent's datetime-local field shows it: in the agent's zone.
      pendingUntilInput: utcToZonedInput(ticket.pendingUntil, locale.timeZone),
      articles: view,
      access,
      queueName: queue?.name ?? '',
      ownerName: owner?.name ?? null,
      customer,
      // Only agents who can see the ticket's queue can own it.
      agents: await owners(allAgents, ticket.queueId),
      writableQueues: visible.filter((q) => q.access === 'rw'),
      compose,
      composing: query.compose !== undefined || query.canned !== undefined,
      canned,
      cannedId: chosenCanned?.id ?? null,
      drafts,
      history: historyLines(await hotline.tickets.history(ticket.id), locale),
    });
  });

  app.post<{ Params: { ttn: string } }>('/tickets/:ttn/notes', { schema: { params: TtnParams, body: NoteForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, { agentId: agent.id });
    const text = field(request.body, 'text');
    if (!text) throw new ValidationError('a note needs some text');
    await hotline.tickets.addArticle(ticket.id, { kind: 'note', text, from: agent.name, authorAgentId: agent.id }, { agentId: agent.id });
    return reply.redirect(`/tickets/${ticket.ttn}?done=note-added`, 303);
  });

  app.post<{ Params: { ttn: string } }>('/tickets/:ttn/reply', { schema: { params: TtnParams, body: ReplyForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const ticket = await hotline.tickets.findByTtn(request.params.ttn);
    if (!ticket) throw new NotFoundError(`no ticket ${request.params.ttn}`);
    const b = request.body as z.output<typeof ReplyForm>;
    const ids = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat().map(Number));
    const input = { to: b.to, cc: b.cc, bcc: b.bcc, subject: b.subject, text: b.text, mode: b.mode || 'reply', articleId: b.article ? Number(b.article) : null, draftIds: ids(b.attach), attachmentIds: ids(b.forward) } as const;
    if (!opts.mail) throw new ServiceUnavailableError('mail is not running here: the reply cannot be sent; nothing was stored');
    // One use case with the API: the agent's write access, the addresses, the TTN subject, the files, the outbox row with the article.
    await opts.mail.reply(ticket, agent, input);
    return reply.redirect(`/tickets/${ticket.ttn}?done=reply-queued`, 303);
  });

  // Files for a reply not sent yet: uploaded one form at a time (the reply's own form stays plain, so
  // that what is typed there survives anything), kept per agent and ticket until sent or removed.
  app.post<{ Params: { ttn: string } }>('/tickets/:ttn/drafts', { schema: { params: TtnParams, querystring: DraftUploadQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const ticket = await hotline.tickets.findByTtn(request.params.ttn);
    if (!ticket) throw new NotFoundError(`no ticket ${request.params.ttn}`);
    await hotline.tickets.requireAccess({ agentId: agent.id }, ticket, 'rw');
    if (!request.isMultipart()) throw new ValidationError('choose a file to attach');
    let stored = 0;
    for await (const part of request.files({ limits: { files: MAX_DRAFT_FILES, fileSize: MAX_DRAFT_FILE_BYTES } })) {
      if (part.fieldname !== 'file' || !part.filename) {
        part.file.resume();
        continue;
      }
      // Over the size: the multipart plugin answers 413.
      const content = await part.toBuffer();
      if ((await hotline.drafts.bytes(agent.id, ticket.id)) + content.length > MAX_DRAFT_TOTAL_BYTES) {
        throw new ValidationError(`file: the files for one reply may hold ${MAX_DRAFT_TOTAL_BYTES / (1024 * 1024)} MB in all; remove one first`);
      }
      await hotline.drafts.add(agent.id, ticket.id, { filename: part.filename.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200), contentType: /^[\w.+-]+\/[\w.+-]+$/.test(part.mimetype) ? part.mimetype : 'application/octet-stream', content, size: content.length }, new Date().toISOString());
      stored++;
    }
    if (stored === 0) throw new ValidationError('choose a file to attach');
    const q = request.query as z.output<typeof DraftUploadQuery>;
    return reply.redirect(`/tickets/${ticket.ttn}?${composeQuery(q.compose, q.article)}${q.canned ? `canned=${q.canned}&` : ''}done=file-attached#compose`, 303);
  });

  app.post<{ Params: { ttn: string; id: string } }>('/tickets/:ttn/drafts/:id/delete', { schema: { params: DraftParams, body: DraftDeleteForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    if (!(await hotline.drafts.remove(Number(request.params.id), agent.id))) throw new NotFoundError('no such file');
    const b = request.body as z.output<typeof DraftDeleteForm>;
    return reply.redirect(`/tickets/${request.params.ttn}?${composeQuery(b.compose || undefined, b.article || undefined)}done=file-removed#compose`, 303);
  });

  app.post<{ Params: { ttn: string } }>('/tickets/:ttn/update', { schema: { params: TtnParams, body: UpdateForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, { agentId: agent.id });
    const b = request.body as z.output<typeof UpdateForm>;
    const ownerRaw = b.ownerId;
    const change: TicketChange = {
      state: b.state ? (b.state as TicketState) : undefined,
      ownerId: ownerRaw === '' ? null : Number(ownerRaw),
      queueId: b.queueId ? Number(b.queueId) : undefined,
      priority: b.priority ? Number(b.priority) : undefined,
      title: b.title && b.title !== ticket.title ? b.title : undefined,
    };
    // The reminder field belongs to "pending": with another state it is dropped, whatever it holds.
    // The agent's field holds a wall-clock time in the agent's zone; one with a zone (an API client's) is taken as it is.
    if ((b.state || ticket.state) === 'pending') change.pendingUntil = b.pendingUntil ? (/(Z|[+-]\d\d:\d\d)$/.test(b.pendingUntil) ? b.pendingUntil : zonedToUtc(b.pendingUntil, localeOf(request).timeZone)) : null;
    await hotline.tickets.change(ticket.id, change, { agentId: agent.id });
    return reply.redirect(`/tickets/${ticket.ttn}?done=ticket-updated`, 303);
  });

  app.post<{ Params: { ttn: string } }>('/tickets/:ttn/dial', { schema: { params: TtnParams, body: DialForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const actor = { agentId: agent.id };
    const { ticket, access } = await hotline.tickets.getVisible(request.params.ttn, actor);
    if (access !== 'rw') throw new ForbiddenError(`read-only access to the queue of ticket ${ticket.ttn}`);
    const customer = ticket.customerId !== null ? await hotline.directory.findCustomer(ticket.customerId) : null;
    await clickToDial(hotline, opts.pbx, request.log, {
      agent,
      raw: field(request.body, 'phone'),
      allowed: customer?.phones ?? [],
      ticket,
      queueId: ticket.queueId,
      refusal: "is not on file for this ticket's customer: add it to the customer first (an admin can allow other numbers on the security page)",
    });
    return reply.redirect(`/tickets/${ticket.ttn}?done=dialing`, 303);
  });

  app.get<{ Params: { id: string } }>('/attachments/:id', { schema: { params: IdParams, querystring: AttachmentQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    if (!/^\d+$/.test(request.params.id)) throw new NotFoundError('no such attachment');
    const { attachment, content } = await hotline.tickets.attachmentForActor(Number(request.params.id), { agentId: agent.id });
    sendAttachment(reply, attachment, content, (request.query as Record<string, string>).download !== undefined);
    return reply;
  });
}

/**
 * Sends a stored file: common raster images and WAV sound inline with their own type, everything else
 * (HTML, SVG, PDF, executables…) as a download with a neutral type, so nothing from a sender renders as a page.
 */
export function sendAttachment(reply: import('fastify').FastifyReply, attachment: Attachment, content: Buffer, forceDownload: boolean): void {
  const image = inlineType(attachment.contentType);
  const inline = !forceDownload && image !== null;
  const ascii = attachment.filename.replace(/[^\w.\- ]/g, '_').slice(0, 150) || 'attachment';
  reply
    .header('Content-Type', inline ? image! : 'application/octet-stream')
    .header('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(attachment.filename)}`)
    .header('Content-Security-Policy', "default-src 'none'; sandbox")
    .header('Cache-Control', 'private, no-store')
    .send(content);
}
