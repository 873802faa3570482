import type { FastifyInstance } from 'fastify';
import type { Hotline } from '../app.js';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.js';
import type { TicketChange } from '../core/ports.js';
import { TICKET_STATES } from '../core/types.js';
import { sendAttachment } from './agent-pages.js';
import { requireAgent } from './auth.js';
import { listFilter, listPage } from './ticket-list.js';
import type { WebMail } from './ports.js';
import type { z } from 'zod';
import { ApiNewArticle, ApiNewTicket, ApiTicketChange, ApiTicketsQuery, IdParams, PageQuery, TtnParams } from './schemas.js';

/** What the JSON API uses of the core. */
export type ApiServices = Pick<Hotline, 'calls' | 'directory' | 'tickets' | 'clock' | 'config'>;

/**
 * The JSON API (`/api/v1`), for integrations: the same actions as the pages, through the same
 * permission-checked core calls. Authenticated by `Authorization: Bearer <API token>` or the session cookie
 * (then unsafe methods need `X-CSRF-Token`).
 */
export async function apiRoutes(app: FastifyInstance, opts: { hotline: ApiServices; mail?: WebMail }): Promise<void> {
  const { hotline } = opts;
  const actorOf = (request: import('fastify').FastifyRequest) => ({ agentId: requireAgent(request).id });
  app.get('/api/v1/me', { schema: { querystring: PageQuery } }, async (request) => {
    const agent = requireAgent(request);
    return { id: agent.id, login: agent.login, name: agent.name, role: agent.role };
  });

  app.get('/api/v1/queues', { schema: { querystring: PageQuery } }, async (request) => {
    const agent = requireAgent(request);
    const counts = await hotline.tickets.countVisible(agent.id);
    return (await hotline.directory.visibleQueues(agent.id)).map((q) => ({
      id: q.id,
      name: q.name,
      access: q.access,
      counts: Object.fromEntries(TICKET_STATES.map((s) => [s, counts.find((c) => c.queueId === q.id && c.state === s)?.count ?? 0])),
    }));
  });

  // A page at a time, newest first unless `sort`/`direction` say otherwise: `Link` (RFC 8288) points at
  // the next, previous, first and last pages; `X-Total-Count` says how many match in all.
  app.get('/api/v1/tickets', { schema: { querystring: ApiTicketsQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const q = request.query as z.output<typeof ApiTicketsQuery>;
    const limit = q.limit ?? 100;
    // Without a state the API lists every state (as it always has); the pages show the open ones.
    const params = { queue: q.queue, mine: q.mine, state: q.state ?? 'all', owner: q.owner, priority: q.priority, q: q.q, sort: q.sort, dir: q.direction };
    const { filter } = listFilter(params, agent.id);
    const keep = new URLSearchParams(Object.entries({ ...q, limit: q.limit, after: undefined, before: undefined }).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)] as [string, string]));
    const result = await listPage(hotline, agent.id, filter, { after: q.after, before: q.before }, keep, limit);
    const links = Object.entries({ next: result.links.next, prev: result.links.previous, first: result.links.first, last: result.links.last })
      .filter(([, v]) => v !== null)
      .map(([rel, v]) => `</api/v1/tickets?${v}>; rel="${rel}"`);
    if (links.length) void reply.header('link', links.join(', '));
    void reply.header('x-total-count', String(result.total));
    return result.items;
  });

  app.get<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn', { schema: { params: TtnParams, querystring: PageQuery } }, async (request) => {
    const actor = actorOf(request);
    const { ticket, articles, access } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const attachments = await hotline.tickets.attachments(ticket.ttn, actor);
    return { ticket, access, articles, attachments, calls: await hotline.calls.forTicket(ticket.id), history: await hotline.tickets.history(ticket.id) };
  });

  app.get<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn/history', { schema: { params: TtnParams, querystring: PageQuery } }, async (request) => {
    const actor = actorOf(request);
    const ticket = await hotline.tickets.findByTtn(request.params.ttn);
    if (!ticket) throw new NotFoundError(`no ticket ${request.params.ttn}`);
    await hotline.tickets.requireAccess(actor, ticket, 'ro');
    return hotline.tickets.history(ticket.id);
  });

  app.post('/api/v1/tickets', { schema: { body: ApiNewTicket } }, async (request, reply) => {
    const actor = actorOf(request);
    const b = request.body as z.output<typeof ApiNewTicket>;
    const customerId = await hotline.directory.customerForTicket(actor.agentId, { customerId: b.customerId ?? null, name: b.customerName, email: b.email, phone: b.phone });
    const { ticket, article } = await hotline.tickets.create(
      { queueId: b.queueId, title: b.title, customerId, article: { kind: 'phone', from: b.phone || b.email || null, text: b.text ?? '', authorAgentId: actor.agentId } },
      actor,
    );
    return reply.code(201).send({ ticket, article });
  });

  app.post<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn/articles', { schema: { params: TtnParams, body: ApiNewArticle } }, async (request, reply) => {
    const actor = actorOf(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const b = request.body as z.output<typeof ApiNewArticle>;
    if (b.kind === 'note') {
      const { article } = await hotline.tickets.addArticle(ticket.id, { kind: 'note', text: b.text, authorAgentId: actor.agentId }, actor);
      return reply.code(201).send(article);
    }
    // The same use case as the reply form: addresses parsed, the outbox row written with the article.
    if (!opts.mail) throw new ServiceUnavailableError('mail is not running here: a reply cannot be sent');
    const agent = requireAgent(request);
    const article = await opts.mail.reply(ticket, agent, { to: b.to, cc: b.cc, bcc: b.bcc, subject: b.subject ?? '', text: b.text, mode: b.mode, articleId: b.articleId ?? null, attachmentIds: b.attachmentIds });
    return reply.code(201).send(article);
  });

  app.patch<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn', { schema: { params: TtnParams, body: ApiTicketChange } }, async (request) => {
    const actor = actorOf(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const change: TicketChange = request.body as z.output<typeof ApiTicketChange>;
    return hotline.tickets.change(ticket.id, change, actor);
  });

  app.get<{ Params: { id: string } }>('/api/v1/attachments/:id', { schema: { params: IdParams, querystring: PageQuery } }, async (request, reply) => {
    const actor = actorOf(request);
    const { attachment, content } = await hotline.tickets.attachmentForActor(Number(request.params.id), actor);
    sendAttachment(reply, attachment, content, true);
    return reply;
  });
}
