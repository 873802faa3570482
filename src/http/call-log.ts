// The caller log (`/calls`): every call in and out of the queues an agent may see — missed ones
// marked, seen or not per agent — with its ticket, a phone ticket for it, and a call back.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Hotline } from '../app.js';
import { NotFoundError } from '../core/errors.js';
import type { CallLogEntry, Customer } from '../core/types.js';
import { requireAgent } from './auth.js';
import { clickToDial } from './dialing.js';
import { page, seenChoice } from './page-helpers.js';
import type { Locale } from './locale.js';
import { localeOf } from './locale.js';
import { ADMIN_PAGE_SIZE, numberedPage } from './paging.js';
import type { WebPbx } from './ports.js';
import { CallLogQuery, CallsSeenForm, EmptyForm, IdParams } from './schemas.js';
import type { Views } from './views.js';

/** How long a call lasted, as people say it: "1:05", "12 s"; null while it runs or when it is not known. */
export function duration(from: string | null, to: string | null): string | null {
  if (!from || !to) return null;
  const s = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const OUTCOMES = new Set(['answered', 'abandoned', 'fallback', 'operator', 'not-reached', 'voicemail']);

/** A call as a row of the log, with the customers its number belongs to (among those the agent may see). */
async function rowOf(hotline: Pick<Hotline, 'directory' | 'agents'>, agentId: number, c: CallLogEntry, locale: Locale) {
  const number = c.direction === 'out' ? c.calleeNumber : c.callerNumber;
  // The number in whatever form Asterisk gave it, matched in any written form (0…, +49…, spaces, slashes).
  const customers: Customer[] = await hotline.directory.visibleCustomers(await hotline.directory.findCustomersByPhone(number), agentId);
  const missed = c.direction === 'in' && c.answeredBy === null && c.endedAt !== null;
  return {
    ...c,
    number,
    customers,
    missed,
    when: locale.time(c.startedAt),
    duration: duration(c.answeredAt ?? c.startedAt, c.endedAt),
    outcomeText: c.endedAt === null && c.answeredBy === null && c.direction === 'in' ? locale.t('calls.outcome.inProgress') : OUTCOMES.has(c.outcome ?? '') ? locale.t(`calls.outcome.${c.outcome}`) : (c.outcome ?? '-'),
    rungNames: c.agentsRung.length ? (await Promise.all(c.agentsRung.map(async (id) => (await hotline.agents.findById(id))?.name ?? locale.t('calls.agent', { id })))).join(', ') : '-',
  };
}

/** What the call log uses of the core. */
export type CallLogServices = Pick<Hotline, 'agents' | 'calls' | 'clock' | 'config' | 'directory' | 'settings' | 'tickets'>;

export async function callLogPages(app: FastifyInstance, opts: { hotline: CallLogServices; views: Views; pbx?: WebPbx }): Promise<void> {
  const { hotline, views } = opts;

  app.get('/calls', { schema: { querystring: CallLogQuery } }, async (request, reply) => {
    const agent = requireAgent(request);
    const q = request.query as z.output<typeof CallLogQuery>;
    const locale = localeOf(request);
    const filter = { mine: q.show === 'mine', missed: q.show === 'missed' };
    const { total, unseen } = await hotline.calls.countLog(agent.id, filter);
    const pager = numberedPage(q.page, total, new URLSearchParams(q.show ? { show: q.show } : {}));
    const calls = await Promise.all((await hotline.calls.log(agent.id, { ...filter, limit: ADMIN_PAGE_SIZE, offset: pager.offset })).map((c) => rowOf(hotline, agent.id, c, locale)));
    return page(views, request, reply, 'calls', { title: locale.t('calls.title'), calls, pager, unseen, show: q.show ?? '' });
  });

  app.post('/calls/seen', { schema: { body: CallsSeenForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const b = request.body as z.output<typeof CallsSeenForm>;
    await hotline.calls.markSeen(agent.id, seenChoice(b, 'choose calls to mark as seen'));
    return reply.redirect(`/calls${b.show ? `?show=${b.show}&` : '?'}done=calls-seen`, 303);
  });

  // Call back: the number of a call the agent may see, when it is on file for a customer the agent may see.
  app.post<{ Params: { id: string } }>('/calls/:id/dial', { schema: { params: IdParams, body: EmptyForm } }, async (request, reply) => {
    const agent = requireAgent(request);
    const [found] = await hotline.calls.log(agent.id, { id: Number(request.params.id), limit: 1, offset: 0 });
    if (!found) throw new NotFoundError(`no call ${request.params.id}`);
    const number = found.direction === 'out' ? found.calleeNumber : found.callerNumber;
    const customers = await hotline.directory.visibleCustomers(await hotline.directory.findCustomersByPhone(number), agent.id);
    const ticket = found.ticketId !== null ? await hotline.tickets.findById(found.ticketId) : null;
    await clickToDial(hotline, opts.pbx, request.log, {
      agent,
      raw: number ?? '',
      allowed: customers.flatMap((c) => c.phones),
      ticket: ticket && (await hotline.directory.access(agent.id, ticket.queueId)) === 'rw' ? ticket : null,
      queueId: found.queueId,
      refusal: 'is not on file for a customer you may see: add it to the customer first (an admin can allow other numbers on the security page)',
    });
    return reply.redirect('/calls?done=dialing', 303);
  });
}
