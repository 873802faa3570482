/** Domain types shared by the core, storage and adapters. Times are ISO 8601 strings in UTC. */

export type Role = 'agent' | 'admin';
export type Access = 'ro' | 'rw';
export type TicketState = 'new' | 'open' | 'pending' | 'closed';
export type ArticleKind = 'email-in' | 'email-out' | 'phone' | 'note' | 'call';

export const TICKET_STATES: readonly TicketState[] = ['new', 'open', 'pending', 'closed'];
export const ARTICLE_KINDS: readonly ArticleKind[] = ['email-in', 'email-out', 'phone', 'note', 'call'];

export interface Agent {
  id: number;
  login: string;
  name: string;
  email: string | null;
  role: Role;
  /** What Asterisk dials to ring the agent, e.g. `PJSIP/201`. */
  dialString: string | null;
  /** Device-state interface watched for availability, e.g. `PJSIP/201`. */
  deviceInterface: string | null;
  language: string;
  active: boolean;
  /** Marked away by the agent: calls go to the queue instead. */
  away: boolean;
  /** Notices are mailed to the agent's address too. */
  notifyByEmail: boolean;
  /** The agent's time zone (IANA), null for the site's. */
  timeZone: string | null;
  createdAt: string;
}

export interface Queue {
  id: number;
  name: string;
  email: string | null;
  /** The queue → extension map entry: what the dialplan dials for this queue's calls. */
  dialTarget: string | null;
  /** The Asterisk queue (queues.conf) that takes this queue's calls. */
  asteriskQueue: string | null;
  isDefault: boolean;
  /** A follow-up to a closed ticket reopens it, or opens a new ticket linked to it. */
  reopenPolicy: 'reopen' | 'new-ticket';
  /** Auto-reply text per language (`{ttn}`, `{subject}`, `{name}`, `{queue}` are filled in); null = built-in. */
  autoReply: Record<string, string> | null;
  /** Put under agents' replies from this queue (`{agent}`, `{queue}` … filled in); null for none. */
  signature: string | null;
  /** A caller nobody answered within this many seconds may leave a message (null: the caller waits on). */
  voicemailAfterSeconds: number | null;
  /** Business hours (hours.ts, e.g. `Mon-Fri 08:00-17:00`); outside them callers may leave a message. Null: always open. */
  openHours: string | null;
  /** Dates (`2026-12-24`) the queue is closed all day. */
  holidays: string[];
  createdAt: string;
}

export interface Customer {
  id: number;
  name: string;
  language: string | null;
  emails: string[];
  /** Normalised, E.164 where possible. */
  phones: string[];
  createdAt: string;
}

export interface Ticket {
  id: number;
  ttn: string;
  title: string;
  queueId: number;
  state: TicketState;
  /** 1 (very low) to 5 (very high). */
  priority: number;
  ownerId: number | null;
  customerId: number | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** The ticket this one follows up (a mail to a closed ticket whose queue opens a new one). */
  linkedTicketId: number | null;
  /** A pending ticket's reminder: at this time it becomes open again and its owner is told. */
  pendingUntil: string | null;
}

export interface Article {
  id: number;
  ticketId: number;
  kind: ArticleKind;
  from: string | null;
  to: string | null;
  /** Cc of a mail (in or out), apart from To so that reply-all can answer both. */
  cc?: string | null;
  subject: string | null;
  text: string;
  /** Sanitised HTML; never raw HTML from a sender. */
  html: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  /** An incoming mail's Reply-To address, where answers go instead of `from`. */
  replyTo: string | null;
  authorAgentId: number | null;
  createdAt: string;
  /** For mail Hotline sends (kind `email-out`), where its sending stands; null for other articles. */
  delivery?: Delivery | null;
}

/**
 * Where an outgoing mail stands: `queued` (not tried yet), `retrying` (tried and failed, tried again
 * at `nextAttemptAt`), `sent` (the relay took it), `failed` (given up after its attempts), `bounced`
 * (sent, then a permanent failure was reported).
 */
export interface Delivery {
  state: 'queued' | 'retrying' | 'sent' | 'failed' | 'bounced';
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  sentAt: string | null;
}

/** How a change came about: an agent (pages, API) or Hotline itself (filing mail, the IVR, a pending reminder, the CLI). */
export type ChangeVia = 'agent' | 'mail' | 'phone' | 'reminder' | 'system';

/** Who made a change, for the ticket's history. */
export interface ChangedBy {
  via: ChangeVia;
  agentId: number | null;
}

/** What changed: a ticket's fields, its creation, and links between tickets. */
export type HistoryField = 'created' | 'state' | 'owner' | 'queue' | 'priority' | 'title' | 'link' | 'linked-from' | 'customer' | 'pending-until';

/** One change in a ticket's history. Values as stored (ids as text), labels as shown at the time (names). */
export interface HistoryEntry {
  id: number;
  ticketId: number;
  at: string;
  via: ChangeVia;
  agentId: number | null;
  /** The agent's name now (null: Hotline itself, or the agent was removed). */
  agentName: string | null;
  field: HistoryField;
  oldValue: string | null;
  newValue: string | null;
  oldLabel: string | null;
  newLabel: string | null;
}

/** A new article, before storage gives it an id. */
export interface ArticleInput {
  kind: ArticleKind;
  from?: string | null;
  to?: string | null;
  cc?: string | null;
  replyTo?: string | null;
  subject?: string | null;
  text: string;
  html?: string | null;
  messageId?: string | null;
  inReplyTo?: string | null;
  authorAgentId?: number | null;
  /** Message-IDs of the mail's References header, for matching replies to it. */
  references?: string[];
  /** The stored raw message an incoming mail article was made from. */
  rawMessageId?: number | null;
}

/** Why a call went where it did. */
/** … `limited`: the caller's number (or all callers) keyed too many unknown ticket numbers, or opened too many tickets. */
export type CallReason = 'ticket' | 'operator' | 'invalid' | 'unknown' | 'no-input' | 'new-ticket' | 'recovered' | 'error' | 'limited';
/** … `not-reached`: a call out whose number did not answer (busy, no answer, not dialled). */
export type CallOutcome = 'answered' | 'abandoned' | 'fallback' | 'operator' | 'not-reached' | 'voicemail';

/** A phone call through the hotline, from the IVR to hang-up. */
export interface Call {
  id: number;
  /** ARI channel id = AMI Uniqueid of the caller's channel. */
  channelId: string;
  /** In: a caller through the hotline; out: an agent's click-to-dial. */
  direction: 'in' | 'out';
  /** Out: the agent who placed it, and the number dialled. */
  dialledBy: number | null;
  calleeNumber: string | null;
  linkedId: string | null;
  callerNumber: string | null;
  callerName: string | null;
  language: string | null;
  digits: string;
  ticketId: number | null;
  route: 'agent' | 'queue' | 'voicemail' | null;
  target: string | null;
  queueId: number | null;
  reason: CallReason | null;
  unverified: boolean;
  agentsRung: number[];
  answeredBy: number | null;
  /** Final: answered or abandoned; while the call runs: fallback / operator when the IVR ended there. */
  outcome: CallOutcome | null;
  startedAt: string;
  ivrDoneAt: string | null;
  answeredAt: string | null;
  endedAt: string | null;
  /** The Hotline instance that took the call (config `instanceId`); null for calls out and older records. */
  instance: string | null;
  /** The article the caller's message became (voicemail), if they left one. */
  voicemailArticleId: number | null;
}

/** A text admins prepared for replies, for one queue or (queueId null) every queue. */
export interface CannedAnswer {
  id: number;
  queueId: number | null;
  name: string;
  /** With placeholders: {customer}, {ttn}, {title}, {agent}, {queue}. */
  body: string;
  updatedAt: string;
}

export type NoticeKind = 'assigned' | 'customer-reply' | 'new-ticket' | 'reminder';

/** Something an agent is told about a ticket. */
export interface Notice {
  id: number;
  agentId: number;
  kind: NoticeKind;
  ticketId: number | null;
  /** The ticket's number, for links (null when it is gone). */
  ttn: string | null;
  text: string;
  createdAt: string;
  seenAt: string | null;
}

/** A file an agent attached to a reply not sent yet. */
export interface DraftAttachment {
  id: number;
  agentId: number;
  ticketId: number;
  filename: string;
  contentType: string;
  size: number;
  createdAt: string;
}

/** A call as the caller log lists it, with the names it needs and whether this agent has seen it. */
export interface CallLogEntry extends Call {
  ttn: string | null;
  queueName: string | null;
  answeredByName: string | null;
  dialledByName: string | null;
  seen: boolean;
}

/** A file on an article (mail attachment, fax image). */
export interface Attachment {
  id: number;
  articleId: number;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Content-ID for inline images referenced as `cid:` in mail HTML. */
  contentId: string | null;
}

export interface AttachmentInput {
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string | null;
}
