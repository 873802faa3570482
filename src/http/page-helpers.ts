import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Hotline } from '../app.js';
import type { Ticket } from '../core/types.js';
import type { Views } from './views.js';

/** Messages for `?done=` after a form succeeded (codes, so no text from the URL reaches the page). */
const NOTICES: Record<string, string> = {
  'note-added': 'Note added.',
  'reply-stored': 'Reply stored on the ticket.',
  'reply-queued': 'Reply queued for sending.',
  reprocessed: 'Message processed again.',
  'prompt-saved': 'Prompt converted and saved; the next call hears it.',
  'prompt-reverted': 'Prompt set back to the default.',
  'language-added': 'Language added; its prompts play in English until you upload them.',
  'ticket-updated': 'Ticket updated.',
  'agent-saved': 'Agent saved.',
  'queue-saved': 'Queue saved.',
  'permissions-saved': 'Permissions saved.',
  'customer-saved': 'Customer saved.',
  'ttn-saved': 'Ticket-number settings saved; they apply to new tickets.',
  'token-revoked': 'API token revoked.',
  dialing: 'Calling: your phone rings first, then the customer is dialled. The call is logged on the ticket.',
};

/** Renders a page inside the layout with what every page needs (agent, CSRF token, notice). */
export function page(views: Views, request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status = 200) {
  const done = (request.query as Record<string, string> | undefined)?.done;
  const html = views.render(template, {
    me: request.agent,
    time: displayTime,
    csrf: request.session?.csrfToken ?? '',
    notice: done ? NOTICES[done] : undefined,
    ...data,
  });
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** `2026-11-28T18:56:16.448Z` → `2026-11-28 18:56 UTC`: readable, and the same in every browser. */
export function displayTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '-';
}

/** Ticket rows for lists: names instead of ids. */
export async function ticketRows(hotline: Hotline, tickets: Ticket[]) {
  const queues = new Map((await hotline.directory.listQueues()).map((q) => [q.id, q.name]));
  const agents = new Map((await hotline.agents.list()).map((a) => [a.id, a.name]));
  const customers = new Map<number, string>();
  for (const t of tickets) {
    if (t.customerId !== null && !customers.has(t.customerId)) customers.set(t.customerId, (await hotline.directory.findCustomer(t.customerId))?.name ?? '');
  }
  return tickets.map((t) => ({
    ...t,
    queueName: queues.get(t.queueId) ?? '',
    ownerName: t.ownerId !== null ? agents.get(t.ownerId) : null,
    customerName: t.customerId !== null ? customers.get(t.customerId) : null,
    updated: displayTime(t.updatedAt),
  }));
}

/** A form field as a trimmed string ('' when absent). */
export function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v.trim() : '';
}

/** A form field as a positive integer id, or null. */
export function idField(body: unknown, name: string): number | null {
  const v = field(body, name);
  return /^\d+$/.test(v) ? Number(v) : null;
}
