import type { Hotline } from '../app.js';
import type { ArticleStart } from '../core/ports.js';
import { POP_ARTICLES } from '../core/ports.js';
import type { Call, Queue, Ticket } from '../core/types.js';

/** What an agent's screen shows for a call. */
export interface PopPayload {
  callId: number;
  caller: { number: string | null; name: string | null };
  reason: Call['reason'];
  unverified: boolean;
  ticket: { ttn: string; title: string; state: string; url: string } | null;
  queue: { id: number; name: string } | null;
  customer: { id: number; name: string; emails: string[]; phones: string[] } | null;
  /** The last three articles, in short. */
  lastArticles: Array<{ kind: string; from: string | null; subject: string | null; excerpt: string; createdAt: string }>;
  /** Set when the caller's number is not on file for the ticket's customer. */
  warning: string | null;
  /** The warning as a text of the agent's language (pops.js: `pops.<key>` with these values). */
  warningKey: 'notOnFile' | 'unknownNumberWarning' | null;
  warningValues: Record<string, string> | null;
  /** For calls without a ticket: who the number belongs to, their open tickets, and a prefilled phone-ticket form. */
  lookup: {
    customers: Array<{ id: number; name: string }>;
    openTickets: Array<{ ttn: string; title: string; state: string; url: string; queueId: number }>;
    newTicketUrl: string;
  } | null;
}

const excerpt = (text: string) => (text.length > 160 ? `${text.slice(0, 157)}…` : text).replace(/\s+/g, ' ').trim();

/**
 * Builds the pop for a call: the ticket in short, or the caller-ID lookup when there is no ticket.
 * `latest`: the ticket's last articles where the caller's lookup read them already.
 */
export async function buildPop(hotline: Pick<Hotline, 'directory' | 'tickets'>, call: Call, ticket: Ticket | null, routedQueue: Queue | null, latest?: ArticleStart[]): Promise<PopPayload> {
  const callerE164 = hotline.directory.normalisePhone(call.callerNumber);
  const base = {
    callId: call.id,
    caller: { number: call.callerNumber, name: call.callerName },
    reason: call.reason,
    unverified: call.unverified,
  };
  if (ticket) {
    const [queue, customer, articles] = await Promise.all([
      hotline.directory.findQueue(ticket.queueId),
      ticket.customerId !== null ? hotline.directory.findCustomer(ticket.customerId) : null,
      latest ?? hotline.tickets.latestArticles(ticket.id, POP_ARTICLES),
    ]);
    let warning: string | null = null;
    let warningValues: Record<string, string> | null = null;
    if (customer && !(callerE164 && customer.phones.includes(callerE164))) {
      warning = `The caller's number ${call.callerNumber ?? '(withheld)'} is not on file for ${customer.name}.`;
      warningValues = { number: call.callerNumber ?? '', name: customer.name };
    }
    return {
      ...base,
      ticket: { ttn: ticket.ttn, title: ticket.title, state: ticket.state, url: `/tickets/${ticket.ttn}` },
      queue: queue ? { id: queue.id, name: queue.name } : null,
      customer: customer ? { id: customer.id, name: customer.name, emails: customer.emails, phones: customer.phones } : null,
      lastArticles: articles.map((a) => ({ kind: a.kind, from: a.from, subject: a.subject, excerpt: excerpt(a.textStart), createdAt: a.createdAt })),
      warning,
      warningKey: warning ? 'notOnFile' : null,
      warningValues,
      lookup: null,
    };
  }
  const customers = await hotline.directory.findCustomersByPhone(call.callerNumber);
  const openTickets = [];
  for (const c of customers) {
    openTickets.push(...(await hotline.tickets.listAll({ customerId: c.id, state: 'any-open', limit: 10 })));
  }
  return {
    ...base,
    ticket: null,
    queue: routedQueue ? { id: routedQueue.id, name: routedQueue.name } : null,
    customer: customers[0] ? { id: customers[0].id, name: customers[0].name, emails: customers[0].emails, phones: customers[0].phones } : null,
    lastArticles: [],
    warning: customers.length === 0 && call.callerNumber ? `No customer on file for ${call.callerNumber}.` : null,
    warningKey: customers.length === 0 && call.callerNumber ? 'unknownNumberWarning' : null,
    warningValues: customers.length === 0 && call.callerNumber ? { number: call.callerNumber } : null,
    lookup: {
      customers: customers.map((c) => ({ id: c.id, name: c.name })),
      openTickets: openTickets.map((t) => ({ ttn: t.ttn, title: t.title, state: t.state, url: `/tickets/${t.ttn}`, queueId: t.queueId })),
      newTicketUrl: `/tickets/new?call=${call.id}`,
    },
  };
}
