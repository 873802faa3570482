import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../core/errors.js';
import type { ListCursor, TicketListItem } from '../core/ports.js';
import type { Views } from './views.js';

/** Messages for `?done=` after a form succeeded (codes, so no text from the URL reaches the page). */
const NOTICES: Record<string, string> = {
  'note-added': 'Note added.',
  'reply-queued': 'Reply queued for sending.',
  'file-attached': 'File attached to your reply (it is sent with the reply).',
  'file-removed': 'File removed from your reply.',
  reprocessed: 'Message processed again.',
  'prompt-saved': 'Prompt converted and saved; the next call hears it.',
  'prompt-reverted': 'Prompt set back to the default.',
  'language-added': 'Language added; its prompts play in English until you upload them.',
  'language-exists': 'That language is there already; nothing was added.',
  'ticket-updated': 'Ticket updated.',
  'filter-saved': 'Filter saved: it is listed above the tickets and on the queues page.',
  'filter-deleted': 'Saved filter deleted.',
  'notices-seen': 'Marked as seen.',
  'calls-seen': 'Calls marked as seen.',
  'settings-saved': 'Your settings are saved.',
  'now-away': 'You are away: calls for your tickets go to their queue until you are back.',
  'now-available': 'You are available: calls for your tickets ring your phone again.',
  'password-changed': 'Your password is changed. Every other session of yours has ended; this one goes on.',
  'agent-saved': 'Agent saved.',
  'queue-saved': 'Queue saved.',
  'canned-saved': 'Canned answer saved.',
  'canned-deleted': 'Canned answer deleted.',
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
    unseenNotices: request.unseenNotices,
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
  return tickets.map((t) => ({ ...t, created: displayTime(t.createdAt), updated: displayTime(t.updatedAt) }));
}

/** A list position as it goes in a URL: base64url of the JSON `[...key, id]` (see sortKeyOf). */
export const cursorParam = (c: ListCursor): string => Buffer.from(JSON.stringify([...c.key, c.id])).toString('base64url');

/**
 * The list position in `query[name]` (as {@link cursorParam} made it), for a sort whose key has
 * `keyLength` values; undefined when absent. A position that is not one answers 400.
 */
export function cursorField(query: unknown, name: string, keyLength: number): ListCursor | undefined {
  const v = field(query, name);
  if (!v) return undefined;
  const bad = () => new ValidationError(`${name}: not a list position: follow the page links`);
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(values) || values.length !== keyLength + 1) throw bad();
  const id = values.at(-1);
  const key = values.slice(0, -1);
  if (!Number.isSafeInteger(id) || (id as number) < 1) throw bad();
  if (!key.every((k) => (typeof k === 'string' && k.length <= 400) || (typeof k === 'number' && Number.isFinite(k)))) throw bad();
  return { key: key as Array<string | number>, id: id as number };
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
