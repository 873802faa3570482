// The shape of every route's input — params, query string and body — as zod schemas. Fastify runs
// them before the route (see `validatorCompiler` below): input that does not fit is answered 400
// with the field and the reason, and never reaches a handler that could fail on it with a 500.
// The tests import these to build good and bad input for each route.
import { LANGUAGES } from '../i18n/i18n.js';
import { isTimeZone } from '../i18n/time.js';
import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { TICKET_STATES } from '../core/types.js';
import { MAX_LIST_LIMIT, TICKET_SORTS } from '../core/ports.js';
import { MAX_REPLAY_CHARS } from './form-replay.js';

/** The same limits wherever a value is entered: the form, the API, create and update. */
export const LIMITS = {
  title: 300,
  text: 1_000_000,
  name: 200,
  email: 320,
  phone: 64,
  login: 64,
  /** scrypt takes its time over any length: a long "password" must not cost more. */
  password: 1024,
  search: 200,
  addresses: 4000,
  subject: 998,
  dialString: 200,
  autoReply: 20_000,
  token: 200,
} as const;

const text = (max: number) => z.string().trim().max(max, `at most ${max} characters`);
/** A form field: a trimmed string, '' when absent. */
const formText = (max: number) => text(max).optional().default('');
/** A form's id field: digits (kept as text for the page code), or '' for none. */
const formId = z.union([z.literal(''), z.string().trim().regex(/^\d{1,15}$/, 'must be a whole number')]).optional().default('');
const csrf = z.string().max(200).optional();
const flag = z.enum(['', '0', '1', 'on'], { error: 'must be 1 or empty' }).optional().default('');
/** Every page's `?done=` notice code. */
const done = z.string().max(40).optional();

/** A ticket number in a URL: letters, digits and dashes (a site's own generator may use letters). */
export const TtnParams = z.object({ ttn: z.string().regex(/^[\w-]{1,40}$/, 'is not a ticket number') });
export const IdParams = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be a whole number') });
export const TokenParams = IdParams.extend({ token: z.string().regex(/^\d{1,15}$/, 'must be a whole number') });
const promptName = z.string().regex(/^[\w-]{1,64}$/, 'letters, digits, - and _ only');
export const PromptParams = z.object({ lang: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, 'is not a language code'), name: promptName });
export const PromptFileParams = z.object({ lang: PromptParams.shape.lang, file: z.string().regex(/^[\w-]{1,64}(\.wav)?$/, 'is not a prompt file') });

/** A page that takes no query but `?done=`. */
export const PageQuery = z.object({ done });
/** A form with nothing but its CSRF token (logout, revoke, revert …). */
export const EmptyForm = z.object({ _csrf: csrf }).optional();

/** A language Hotline speaks, for the login page's choice (else Accept-Language decides). */
const uiLanguage = z.enum(['', ...LANGUAGES], { error: `must be one of ${LANGUAGES.join(', ')}` }).optional().default('');
/** An IANA time zone Node knows, or '' for the site's. */
const timeZone = z.string().max(64).refine((v) => v === '' || isTimeZone(v), 'is not a time zone (like Europe/Berlin)').optional().default('');
export const LoginQuery = z.object({ next: z.string().max(2000).optional(), lang: uiLanguage, done });
export const LoginForm = z.object({ login: formText(LIMITS.login), password: z.string().max(LIMITS.password, `at most ${LIMITS.password} characters`).optional().default(''), next: formText(2000), form: z.string().max(2 * MAX_REPLAY_CHARS).optional(), _csrf: csrf });

const listState = z.enum([...TICKET_STATES, 'all', ''], { error: `must be one of ${TICKET_STATES.join(', ')} or all` }).optional();
const pageNumber = z.string().regex(/^\d{1,9}$/, 'must be a page number').optional();
/** Ids ticked in a form: one, or several under the same name. */
const idList = z.union([z.string().regex(/^\d{1,15}$/, 'must be a whole number'), z.array(z.string().regex(/^\d{1,15}$/, 'must be a whole number')).max(500, 'at most 500 at once')]).optional();
/** A list position as the page links carry it (see cursorParam). */
const cursor = z.string().max(1200, 'not a list position: follow the page links').regex(/^[\w-]+$/, 'not a list position: follow the page links');
const sortParam = z.enum([...TICKET_SORTS, ''], { error: `must be one of ${TICKET_SORTS.join(', ')}` }).optional();
const directionParam = z.enum(['', 'asc', 'desc'], { error: 'must be asc or desc' }).optional();
const ownerParam = z.union([z.enum(['', 'me', 'none']), z.string().regex(/^\d{1,15}$/)], { error: 'must be me, none or an agent id' }).optional();
const priorityParam = z.enum(['', '1', '2', '3', '4', '5'], { error: 'must be 1 to 5' }).optional();
/** A ticket list's filter and order, as the list page and saved filters keep them in the URL. */
export const TicketListFilter = z.object({ queue: formId, mine: z.string().max(5).optional(), state: listState, owner: ownerParam, priority: priorityParam, q: text(LIMITS.search).optional(), sort: sortParam, dir: directionParam });
export const TicketListQuery = TicketListFilter.extend({ after: cursor.optional(), before: z.union([z.literal('end'), cursor]).optional(), at: z.string().regex(/^\d{1,9}$/, 'must be a whole number').optional(), done });
/** Several tickets changed at once from a list: the tickets ticked, and what to set (empty: unchanged). */
export const BulkForm = z.object({
  ttn: z.union([z.string().regex(/^[\w-]{1,40}$/, 'is not a ticket number'), z.array(z.string().regex(/^[\w-]{1,40}$/, 'is not a ticket number')).max(500, 'at most 500 tickets at once')]).optional(),
  state: z.enum([...TICKET_STATES, ''], { error: `must be one of ${TICKET_STATES.join(', ')}` }).optional().default(''),
  ownerId: z.union([z.enum(['', 'none']), z.string().regex(/^\d{1,15}$/)], { error: 'must be none or an agent id' }).optional().default(''),
  queueId: formId,
  priority: priorityParam,
  back: z.string().max(4000).optional().default(''),
  _csrf: csrf,
});
export const CallLogQuery = z.object({ show: z.enum(['', 'mine', 'missed'], { error: 'must be mine or missed' }).optional(), page: pageNumber, done });
export const CallsSeenForm = z.object({ id: idList, all: flag, show: z.enum(['', 'mine', 'missed']).optional().default(''), _csrf: csrf });
export const NoticesSeenForm = z.object({ id: idList, all: flag, _csrf: csrf });
export const SettingsForm = z.object({ notifyByEmail: flag, watch: idList, language: uiLanguage, timeZone, _csrf: csrf });
export const AwayForm = z.object({ away: z.enum(['0', '1'], { error: 'must be 0 or 1' }), _csrf: csrf });
export const OwnPasswordForm = z.object({
  current: z.string().max(LIMITS.password, `at most ${LIMITS.password} characters`).optional().default(''),
  password: z.string().max(LIMITS.password, `at most ${LIMITS.password} characters`).optional().default(''),
  repeat: z.string().max(LIMITS.password, `at most ${LIMITS.password} characters`).optional().default(''),
  _csrf: csrf,
});
export const SavedFilterForm = z.object({ name: formText(LIMITS.name), query: z.string().max(4000).optional().default(''), _csrf: csrf });
export const NewTicketQuery = z.object({ lookup: text(LIMITS.email).optional(), phone: text(LIMITS.phone).optional(), call: z.string().regex(/^\d{1,15}$/, 'must be a call id').optional(), done });
export const NewTicketForm = z.object({
  callId: formId,
  queueId: formId,
  customerId: formId,
  customerName: formText(LIMITS.name),
  phone: formText(LIMITS.phone),
  email: formText(LIMITS.email),
  title: formText(LIMITS.title),
  text: formText(LIMITS.text),
  _csrf: csrf,
});
export const NoteForm = z.object({ text: formText(LIMITS.text), _csrf: csrf });
export const ReplyForm = z.object({
  to: formText(LIMITS.addresses),
  cc: formText(LIMITS.addresses),
  bcc: formText(LIMITS.addresses),
  subject: formText(LIMITS.subject),
  text: formText(LIMITS.text),
  mode: z.enum(['', 'reply', 'reply-all', 'forward'], { error: 'must be reply, reply-all or forward' }).optional().default(''),
  /** The article answered or forwarded (its mail is what the reply is threaded on). */
  article: formId,
  /** Files attached for this reply (drafts), and files of the ticket sent along (a forward). */
  attach: idList,
  forward: idList,
  _csrf: csrf,
});
/** The ticket page: a reply, reply-all or forward of an article, with a canned answer. */
export const TicketPageQuery = z.object({
  compose: z.enum(['reply', 'reply-all', 'forward'], { error: 'must be reply, reply-all or forward' }).optional(),
  article: z.string().regex(/^\d{1,15}$/, 'must be an article id').optional(),
  canned: z.string().regex(/^\d{1,15}$/, 'must be a canned answer id').optional(),
  done,
});
/** A file attached to a reply: the form's token comes in the URL (its body is read by the route itself). */
export const DraftUploadQuery = z.object({ _csrf: csrf, compose: TicketPageQuery.shape.compose, article: TicketPageQuery.shape.article, canned: TicketPageQuery.shape.canned });
export const DraftParams = z.object({ ttn: TtnParams.shape.ttn, id: IdParams.shape.id });
export const DraftDeleteForm = z.object({ compose: z.enum(['', 'reply', 'reply-all', 'forward']).optional().default(''), article: formId, _csrf: csrf });
/** A date and time as a datetime-local field sends it (2026-12-24T09:00), or an ISO time. */
const dateTime = z.string().trim().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)?$/, 'must be a date and time like 2026-12-24T09:00');
export const UpdateForm = z.object({
  state: z.enum([...TICKET_STATES, ''], { error: `unknown state: must be one of ${TICKET_STATES.join(', ')}` }).optional().default(''),
  ownerId: formId,
  queueId: formId,
  priority: priorityParam,
  title: formText(LIMITS.title),
  pendingUntil: z.union([z.literal(''), dateTime]).optional().default(''),
  _csrf: csrf,
});
export const DialForm = z.object({ phone: formText(LIMITS.phone), _csrf: csrf });
export const AttachmentQuery = z.object({ download: z.string().max(5).optional() });

const role = z.enum(['', 'agent', 'admin'], { error: 'must be agent or admin' }).optional().default('');
const language = z.union([z.literal(''), z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, 'is not a language code')]).optional().default('');
export const NewAgentForm = z.object({
  login: formText(LIMITS.login),
  name: formText(LIMITS.name),
  email: formText(LIMITS.email),
  role,
  dialString: formText(LIMITS.dialString),
  deviceInterface: formText(LIMITS.dialString),
  language,
  password: z.string().max(LIMITS.password).optional().default(''),
  _csrf: csrf,
});
export const AgentForm = z.object({
  name: formText(LIMITS.name),
  email: formText(LIMITS.email),
  role,
  dialString: formText(LIMITS.dialString),
  deviceInterface: formText(LIMITS.dialString),
  language,
  timeZone,
  active: flag,
  away: flag,
  _csrf: csrf,
});
export const TextsQuery = z.object({ lang: uiLanguage, q: z.string().max(200).optional().default(''), changed: flag, page: pageNumber, done });
export const TextForm = z.object({
  lang: z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')}` }),
  key: z.string().min(1).max(200).regex(/^[\w.-]+$/, 'is not a text key'),
  text: z.string().max(4000, 'at most 4000 characters').optional().default(''),
  reset: flag,
  back: z.string().max(2000).optional().default(''),
  _csrf: csrf,
});
export const PasswordForm = z.object({ password: z.string().max(LIMITS.password).optional().default(''), _csrf: csrf });
export const TokenForm = z.object({
  name: formText(LIMITS.name),
  scope: z.enum(['', 'rw', 'ro'], { error: 'must be rw or ro' }).optional().default(''),
  expiresInDays: z.union([z.literal(''), z.string().trim().regex(/^\d{1,4}$/, 'must be a number of days')]).optional().default(''),
  _csrf: csrf,
});
export const QueueForm = z.object({
  name: formText(LIMITS.name),
  email: formText(LIMITS.email),
  dialTarget: formText(LIMITS.dialString),
  asteriskQueue: formText(LIMITS.dialString),
  isDefault: flag,
  reopenPolicy: z.enum(['', 'reopen', 'new-ticket'], { error: 'must be "reopen" or "new-ticket"' }).optional().default(''),
  autoReplyEn: text(LIMITS.autoReply).optional(),
  autoReplyDe: text(LIMITS.autoReply).optional(),
  signature: text(LIMITS.autoReply).optional(),
  voicemailAfter: z.union([z.literal(''), z.string().trim().regex(/^\d{1,4}$/, 'must be a number of seconds')]).optional(),
  openHours: text(LIMITS.autoReply).optional(),
  holidays: text(LIMITS.autoReply).optional(),
  _csrf: csrf,
});
export const CannedForm = z.object({ queueId: formId, name: formText(LIMITS.name), body: formText(LIMITS.autoReply), _csrf: csrf });
export const PermissionsForm = z.record(z.string().max(40), z.string().max(200));
/** A numbered page of an admin list. */
export const ListPageQuery = z.object({ page: pageNumber, done });
export const CustomerQuery = z.object({ q: text(LIMITS.search).optional(), page: pageNumber, done });
export const CustomerForm = z.object({ name: formText(LIMITS.name), email: formText(LIMITS.email), phone: formText(LIMITS.phone), _csrf: csrf });
export const CustomerLanguageForm = z.object({ language: uiLanguage, _csrf: csrf });
export const LanguageForm = z.object({ lang: formText(20), _csrf: csrf });
export const TtnForm = z.object({ generator: formText(100), checkDigit: formText(100), systemId: formText(20), _csrf: csrf });
export const SecurityForm = z.object({ verifyCallerNumber: flag, dialPatterns: formText(20_000), _csrf: csrf });
export const ClearLoginForm = z
  .object({ key: text(LIMITS.login + 100).optional(), login: text(LIMITS.login).optional(), _csrf: csrf })
  .refine((b) => !!b.key || !!b.login, { message: 'say which failed logins to clear (key or login)' });
/** The prompt upload's form token comes in the URL: its body is read by the route itself. */
export const UploadQuery = z.object({ _csrf: csrf });

// The JSON API.
const apiId = z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive').max(Number.MAX_SAFE_INTEGER);
export const ApiTicketsQuery = z.object({
  limit: z.string().regex(/^\d{1,4}$/, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`).transform(Number).refine((n) => n >= 1 && n <= MAX_LIST_LIMIT, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`).optional(),
  offset: z.never({ error: 'offset is not supported: follow the Link header\'s rel="next" (after=…) to page' }).optional(),
  after: cursor.optional(),
  before: z.union([z.literal('end'), cursor]).optional(),
  queue: z.string().regex(/^\d{1,15}$/, 'must be a whole number').optional(),
  state: z.enum([...TICKET_STATES, 'open-ones', 'all'], { error: `must be one of ${TICKET_STATES.join(', ')}, open-ones or all` }).optional(),
  mine: z.string().max(5).optional(),
  owner: ownerParam,
  priority: priorityParam,
  q: text(LIMITS.search).optional(),
  sort: sortParam,
  direction: directionParam,
});
export const ApiNewTicket = z
  .object({
    queueId: apiId,
    title: text(LIMITS.title).min(1, 'a ticket needs a title'),
    text: text(LIMITS.text).optional(),
    customerId: apiId.nullable().optional(),
    customerName: text(LIMITS.name).optional(),
    phone: text(LIMITS.phone).optional(),
    email: text(LIMITS.email).optional(),
  })
  .strict();
export const ApiTicketChange = z
  .object({
    state: z.enum(TICKET_STATES, { error: `must be one of ${TICKET_STATES.join(', ')}` }).optional(),
    ownerId: apiId.nullable().optional(),
    queueId: apiId.optional(),
    priority: z.number().int().min(1, 'priority must be 1 to 5').max(5, 'priority must be 1 to 5').optional(),
    title: text(LIMITS.title).min(1, 'a ticket needs a title').optional(),
    pendingUntil: dateTime.nullable().optional(),
  })
  .strict();
const addressList = text(LIMITS.addresses).optional();
/** `POST /api/v1/tickets/:ttn/articles`: a note (the default kind), or a reply sent by mail. */
export const ApiNewArticle = z.preprocess(
  (b) => (b && typeof b === 'object' && !Array.isArray(b) && !('kind' in b) ? { kind: 'note', ...b } : b),
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('note'), text: z.string({ error: 'text is required' }).trim().min(1, 'text is required').max(LIMITS.text) }).strict(),
    z
      .object({
        kind: z.literal('email-out'),
        to: z.string({ error: 'an address is required for a reply' }).trim().min(1, 'an address is required for a reply').max(LIMITS.addresses),
        cc: addressList,
        bcc: addressList,
        subject: z.string().max(LIMITS.subject).optional(),
        text: z.string({ error: 'text is required' }).trim().min(1, 'text is required').max(LIMITS.text),
        mode: z.enum(['reply', 'reply-all', 'forward']).optional(),
        /** The article answered (the reply is threaded on its mail). */
        articleId: apiId.optional(),
        /** Files of the ticket to send along. */
        attachmentIds: z.array(apiId).max(100).optional(),
      })
      .strict(),
  ]),
);

/** The 400 text for input that does not match its schema: each problem with where it is. */
export function schemaProblems(error: z.ZodError, where = ''): string {
  return error.issues
    .map((i) => {
      const path = [where, ...i.path.map(String)].filter(Boolean).join('.');
      return `${path || 'input'}: ${i.message}`;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws ValidationError (400) saying what is wrong. */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(schemaProblems(result.error, where));
  return result.data;
}

const PARTS: Record<string, string> = { body: 'body', querystring: 'query', params: 'url', headers: 'headers' };

/** Fastify's validator for the zod schemas routes declare: 400 with the field and reason. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data);
    return result.success ? { value: result.data } : { error: new ValidationError(schemaProblems(result.error, PARTS[httpPart ?? ''] ?? '')) };
  };
