import type { FastifyInstance } from 'fastify';
import type { Hotline } from '../app.js';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { TicketChange, TicketFilter } from '../core/ports.js';
import { MAX_LIST_LIMIT } from '../core/ports.js';
import type { TicketState } from '../core/types.js';
import { TICKET_STATES } from '../core/types.js';
import { sendAttachment } from './agent-pages.js';
import { requireAgent } from './auth.js';
import { cursorField, cursorOf } from './page-helpers.js';
import type { WebMail } from './ports.js';
import { z } from 'zod';

const addressList = z.string().max(4000).optional();
/** `POST /api/v1/tickets/:ttn/articles`: a note, or a reply sent by mail. */
const NewArticle = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('note'), text: z.string({ error: 'text is required' }).trim().min(1, 'text is required').max(1_000_000) }).strict(),
  z
    .object({ kind: z.literal('email-out'), to: z.string({ error: 'an address is required for a reply' }).trim().min(1, 'an address is required for a reply').max(4000), cc: addressList, bcc: addressList, subject: z.string().max(998).optional(), text: z.string({ error: 'text is required' }).trim().min(1, 'text is required').max(1_000_000) })
    .strict(),
]);

/** The 400 text for a body that does not match its schema: each problem with where it is. */
export function schemaProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/**
 * The JSON API (`/api/v1`), for integrations: the same actions as the pages, through the same
 * permission-checked core calls. Authenticated by `Authorization: Bearer <API token>` or the session cookie
 * (then unsafe methods need `X-CSRF-Token`).
 */
export async function apiRoutes(app: FastifyInstance, opts: { hotline: Hotline; mail?: WebMail }): Promise<void> {
  const { hotline } = opts;
  const actorOf = (request: import('fastify').FastifyRequest) => ({ agentId: requireAgent(request).id });
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);

  app.get('/api/v1/me', async (request) => {
    const agent = requireAgent(request);
    return { id: agent.id, login: agent.login, name: agent.name, role: agent.role };
  });

  app.get('/api/v1/queues', async (request) => {
    const agent = requireAgent(request);
    const counts = await hotline.tickets.countVisible(agent.id);
    return (await hotline.directory.visibleQueues(agent.id)).map((q) => ({
      id: q.id,
      name: q.name,
      access: q.access,
      counts: Object.fromEntries(TICKET_STATES.map((s) => [s, counts.find((c) => c.queueId === q.id && c.state === s)?.count ?? 0])),
    }));
  });

  // Newest first, a page at a time: the `Link: <…>; rel="next"` header (RFC 8288) points at the next page.
  app.get('/api/v1/tickets', async (request, reply) => {
    const agent = requireAgent(request);
    const q = request.query as Record<string, string>;
    if (q.offset !== undefined) throw new ValidationError('offset is not supported: follow the Link header\'s rel="next" (before=…) to page');
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new ValidationError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
    const filter: TicketFilter = { limit: limit + 1, before: cursorField(q) };
    if (q.queue) filter.queueId = Number(q.queue);
    if (q.state) {
      if (!(TICKET_STATES as readonly string[]).includes(q.state)) throw new ValidationError(`state must be one of ${TICKET_STATES.join(', ')}`);
      filter.state = q.state as TicketState;
    }
    if (q.mine) filter.ownerId = agent.id;
    if (q.q) filter.search = q.q;
    const found = await hotline.tickets.listVisible(agent.id, filter);
    const tickets = found.slice(0, limit);
    if (found.length > limit) {
      const next = new URLSearchParams({ ...q, before: cursorOf(tickets.at(-1)!) });
      void reply.header('link', `</api/v1/tickets?${next.toString()}>; rel="next"`);
    }
    return tickets;
  });

  app.get<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn', async (request) => {
    const actor = actorOf(request);
    const { ticket, articles, access } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const attachments = await hotline.tickets.attachments(ticket.ttn, actor);
    return { ticket, access, articles, attachments, calls: await hotline.calls.forTicket(ticket.id) };
  });

  app.post('/api/v1/tickets', async (request, reply) => {
    const actor = actorOf(request);
    const b = (request.body ?? {}) as Record<string, unknown>;
    const queueId = Number(b.queueId);
    if (!Number.isInteger(queueId)) throw new ValidationError('queueId is required');
    let customerId = typeof b.customerId === 'number' ? b.customerId : null;
    const phone = str(b.phone);
    const email = str(b.email);
    if (customerId === null) customerId = (await hotline.directory.findOrCreateCustomer({ name: str(b.customerName), email, phone }))?.id ?? null;
    const { ticket, article } = await hotline.tickets.create(
      { queueId, title: str(b.title) ?? '', customerId, article: { kind: 'phone', from: phone ?? email ?? null, text: str(b.text) ?? '', authorAgentId: actor.agentId } },
      actor,
    );
    return reply.code(201).send({ ticket, article });
  });

  app.post<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn/articles', async (request, reply) => {
    const actor = actorOf(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const body = NewArticle.safeParse({ kind: 'note', ...((request.body ?? {}) as object) });
    if (!body.success) throw new ValidationError(schemaProblems(body.error));
    const b = body.data;
    if (b.kind === 'note') {
      const { article } = await hotline.tickets.addArticle(ticket.id, { kind: 'note', text: b.text, authorAgentId: actor.agentId }, actor);
      return reply.code(201).send(article);
    }
    // The same use case as the reply form: addresses parsed, the outbox row written with the article.
    if (!opts.mail) throw new ServiceUnavailableError('mail is not running here: a reply cannot be sent');
    const agent = requireAgent(request);
    const article = await opts.mail.reply(ticket, agent, { to: b.to, cc: b.cc, bcc: b.bcc, subject: b.subject ?? '', text: b.text });
    return reply.code(201).send(article);
  });

  app.patch<{ Params: { ttn: string } }>('/api/v1/tickets/:ttn', async (request) => {
    const actor = actorOf(request);
    const { ticket } = await hotline.tickets.getVisible(request.params.ttn, actor);
    const b = (request.body ?? {}) as Record<string, unknown>;
    const change: TicketChange = {};
    if (b.state !== undefined) change.state = b.state as TicketState;
    if (b.ownerId !== undefined) change.ownerId = b.ownerId === null ? null : Number(b.ownerId);
    if (b.queueId !== undefined) change.queueId = Number(b.queueId);
    if (b.priority !== undefined) change.priority = Number(b.priority);
    if (b.title !== undefined) change.title = String(b.title);
    return hotline.tickets.change(ticket.id, change, actor);
  });

  app.get<{ Params: { id: string } }>('/api/v1/attachments/:id', async (request, reply) => {
    const actor = actorOf(request);
    if (!/^\d+$/.test(request.params.id)) throw new NotFoundError('no such attachment');
    const { attachment, content } = await hotline.tickets.attachmentForActor(Number(request.params.id), actor);
    sendAttachment(reply, attachment, content, true);
    return reply;
  });
}
