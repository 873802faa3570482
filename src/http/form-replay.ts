// Work is never lost: a form sent after the session ended (logged out in another tab, expired), with
// a token that went out of date, or with a mistake, comes back filled in — after a new login, or
// with the error next to the field — instead of an error page that forgets what was typed.
import type { FastifyRequest } from 'fastify';

/** A form's fields as they came, in order (a field sent several times, such as ticked tickets, several times). */
export type FormFields = Array<[string, string]>;

/** Fields never echoed back into a page (secrets), nor kept (the old token). */
const SECRET = /^(_csrf|password|.*password.*|secret|token)$/i;
/** Forms that are not carried over (logging in and out have their own pages; uploads are not form fields). */
const NOT_REPLAYED = new Set(['/login', '/logout']);
/** Most text a login page carries for a form (a long note or reply is kept whole; more is an attack). */
export const MAX_REPLAY_CHARS = 1_100_000;

/**
 * Whether the browser says the form was on one of Hotline's own pages: Sec-Fetch-Site (every current
 * browser), else Origin, else Referer (text browsers send only that). A form another site made must
 * never come back as the agent's own, ready to send: so without any of these, it does not.
 */
function fromOwnPage(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  for (const header of [request.headers.origin, request.headers.referer]) {
    if (header === undefined || header === 'null') continue;
    try {
      // Both as URLs, so that a default port written or not compares equal.
      return new URL(header).host === new URL(`${request.protocol}://${request.headers.host ?? ''}`).host;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * The fields of a page form worth giving back, or null where there is nothing to give back: not a
 * form post, an upload, the login itself, or a form not sent from Hotline's own pages.
 */
export function replayableForm(request: FastifyRequest): { action: string; fields: FormFields } | null {
  if (request.method !== 'POST' || request.url.startsWith('/api/') || request.isMultipart()) return null;
  const path = request.url.split('?')[0] ?? '';
  if (NOT_REPLAYED.has(path) || !/^\/[\w\-./]*$/.test(path)) return null;
  if (!fromOwnPage(request)) return null;
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const fields: FormFields = [];
  let size = 0;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (SECRET.test(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== 'string' && typeof v !== 'number') continue;
      fields.push([name, String(v)]);
      size += name.length + String(v).length;
    }
  }
  if (fields.length === 0 || size > MAX_REPLAY_CHARS) return null;
  return { action: request.url, fields };
}

/** The form field an error message is about (`body.title: at most 300 characters`, `ownerId: …`), if it names one. */
export function fieldOf(message: string, fields: FormFields): string | null {
  const m = /^(?:body\.)?([\w-]+)(?:\.\d+)?: /.exec(message);
  return m && fields.some(([name]) => name === m[1]) ? m[1]! : null;
}

/** The carried form as it travels through the login page: JSON in one hidden field. */
export const packForm = (form: { action: string; fields: FormFields }): string => JSON.stringify(form);

/** The carried form from the login page's hidden field; null when it is not one (it came back from the browser: checked again). */
export function unpackForm(packed: unknown): { action: string; fields: FormFields } | null {
  if (typeof packed !== 'string' || packed.length === 0 || packed.length > MAX_REPLAY_CHARS * 2) return null;
  try {
    const form = JSON.parse(packed) as { action?: unknown; fields?: unknown };
    if (typeof form.action !== 'string' || !/^\/(?!\/)[\w\-./?=&%]*$/.test(form.action) || NOT_REPLAYED.has(form.action.split('?')[0]!)) return null;
    if (!Array.isArray(form.fields) || !form.fields.every((f) => Array.isArray(f) && f.length === 2 && typeof f[0] === 'string' && typeof f[1] === 'string' && !SECRET.test(f[0]))) return null;
    return { action: form.action, fields: form.fields as FormFields };
  } catch {
    return null;
  }
}

/** How the form page shows a field: a text area for text, a line for short values, hidden for ids and lists' selections. */
export function fieldView(name: string, value: string): { kind: 'area' | 'line' | 'hidden'; label: string } {
  const LABELS: Record<string, string> = { text: 'Text', title: 'Title', to: 'To', cc: 'Cc', bcc: 'Bcc', subject: 'Subject', name: 'Name', email: 'E-mail', phone: 'Phone', customerName: 'Customer name', state: 'State', priority: 'Priority', pendingUntil: 'Pending until' };
  const label = LABELS[name];
  if (!label) return { kind: 'hidden', label: name };
  return { kind: name === 'text' || value.includes('\n') ? 'area' : 'line', label };
}
