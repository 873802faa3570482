import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../core/errors.js';
import type { ListCursor, TicketListItem } from '../core/ports.js';
import type { Views } from './views.js';
import type { Locale } from './locale.js';
import { localeOf } from './locale.js';
import { flatten } from '../i18n/i18n.js';

/** The `?done=` codes a form's redirect may carry: each is a text `done.<code>` (no text from the URL reaches the page). */
export const DONE_CODES = new Set([
  'note-added',
  'reply-queued',
  'file-attached',
  'file-removed',
  'reprocessed',
  'prompt-saved',
  'prompt-reverted',
  'language-added',
  'language-exists',
  'ticket-updated',
  'filter-saved',
  'filter-deleted',
  'notices-seen',
  'calls-seen',
  'settings-saved',
  'now-away',
  'now-available',
  'password-changed',
  'agent-saved',
  'queue-saved',
  'canned-saved',
  'canned-deleted',
  'permissions-saved',
  'customer-saved',
  'ttn-saved',
  'token-revoked',
  'security-saved',
  'logins-cleared',
  'dialing',
  'text-saved',
]);

/** Renders a page inside the layout with what every page needs (agent, CSRF token, notice). */
export function page(views: Views, request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status = 200) {
  const done = (request.query as Record<string, string> | undefined)?.done;
  const locale = localeOf(request);
  const html = views.render(template, {
    me: request.agent,
    unseenNotices: request.unseenNotices,
    ...localeData(locale),
    csrf: request.session?.csrfToken ?? '',
    notice: done && DONE_CODES.has(done) ? locale.t(`done.${done}`) : undefined,
    ...data,
  });
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** What every template gets to speak the reader's language: texts, language, zone, times. */
export function localeData(locale: Locale) {
  return {
    t: locale.t,
    lang: locale.lang,
    timeZone: locale.timeZone,
    time: locale.time,
    /** The time, and how long ago where that helps: `05.12.2026 14:03 (vor 5 Minuten)`. */
    when: (iso: string | null | undefined) => whenText(locale, iso),
    // The pops' texts, for pops.js (JSON inside <script>: `<` escaped so no text can close the element).
    popTexts: JSON.stringify(flatten(locale.t('pops', { returnObjects: true }) as Record<string, unknown>)).replace(/</g, '\\u003c'),
  };
}

/** A time with its relative form where that helps. */
export function whenText(locale: Locale, iso: string | null | undefined): string {
  const ago = locale.ago(iso);
  return ago ? `${locale.time(iso)} (${ago})` : locale.time(iso);
}

/** Ticket rows for lists, with the times as the reader's pages show them. */
export function ticketRows(tickets: readonly TicketListItem[], locale: Locale) {
  return tickets.map((t) => ({ ...t, created: locale.time(t.createdAt), updated: locale.time(t.updatedAt) }));
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

/** What a "mark seen" form chose (notices, calls): all, or the ticked ids; none ticked says `nothing`. */
export function seenChoice(body: { id?: string | string[]; all?: string }, nothing: string): 'all' | { ids: number[] } {
  if (body.all) return 'all';
  const ids = body.id === undefined ? [] : [body.id].flat().map(Number);
  if (ids.length === 0) throw new ValidationError(nothing);
  return { ids };
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
