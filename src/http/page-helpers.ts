import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../core/errors.js';
import type { ListCursor, TicketListItem } from '../core/ports.js';
import type { Views } from './views.js';

/** Messages for `?done=` after a form succeeded (codes, so no text from the URL reaches the page). */
const NOTICES: Record<string, string> = {
  'note-added': 'Note added.',
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
  'security-saved': 'Security settings saved.',
  'logins-cleared': 'Failed logins cleared: the next try is allowed at once.',
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

/** Ticket rows for lists, with the time as pages show it. */
export function ticketRows(tickets: readonly TicketListItem[]) {
  return tickets.map((t) => ({ ...t, updated: displayTime(t.updatedAt) }));
}

/** `before=2026-11-28T18:56:16.448Z_123`: where the previous page of a newest-first list ended. */
export function cursorField(query: unknown, name = 'before'): ListCursor | undefined {
  const v = field(query, name);
  if (!v) return undefined;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z)_(\d{1,15})$/.exec(v);
  if (!m) throw new ValidationError(`"${name}" must be a list position like 2026-11-28T18:56:16.448Z_123, as the "older" link gives`);
  return { updatedAt: m[1]!, id: Number(m[2]) };
}

/** The cursor for the page after one ending with `last`. */
export const cursorOf = (last: { updatedAt: string; id: number }): string => `${last.updatedAt}_${last.id}`;

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
