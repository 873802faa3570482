import type { Access, Agent, Article, ArticleInput, Attachment, AttachmentInput, CannedAnswer, Call, CallLogEntry, ChangedBy, Customer, DraftAttachment, HistoryEntry, Notice, NoticeKind, Queue, Role, Ticket, TicketState } from './types.js';

/**
 * Storage interfaces the core talks to. They return Promises so that a
 * PostgreSQL implementation can replace SQLite without touching the core;
 * the SQLite one resolves at once.
 */

export interface NewTicketRecord {
  ttn: string;
  title: string;
  queueId: number;
  state: TicketState;
  priority: number;
  ownerId: number | null;
  customerId: number | null;
  now: string;
  article: ArticleInput;
  /** Who creates it, for its history (default: Hotline itself). */
  by?: ChangedBy;
}

/** What a ticket list can be sorted by. */
export const TICKET_SORTS = ['updated', 'created', 'ttn', 'priority', 'state', 'owner'] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];
export type SortDirection = 'asc' | 'desc';

export interface TicketFilter {
  queueId?: number;
  state?: TicketState | 'any-open';
  /** An owner's tickets; null: tickets nobody owns. */
  ownerId?: number | null;
  customerId?: number;
  priority?: number;
  /** TTN prefix, customer name/e-mail/phone, title or article text. */
  search?: string;
  /** Default `updated`; ties are broken by the last update, then the ticket id, in the same direction. */
  sort?: TicketSort;
  /** Default `desc` (newest, highest, last first). */
  direction?: SortDirection;
  /** At most this many (capped at {@link MAX_LIST_LIMIT}). */
  limit?: number;
  /** The next page: only tickets after this position in the list's order. */
  after?: ListCursor;
  /** The previous page: only tickets before this position, still returned in the list's order; `end`: the last page. */
  before?: ListCursor | 'end';
}

/** A position in a sorted list: the sort key of a ticket (see {@link sortKeyOf}) and its id. */
export interface ListCursor {
  key: Array<string | number>;
  id: number;
}

/** Order of states when sorting by state: the work still to do first. */
export const STATE_RANK: Record<TicketState, number> = { new: 1, open: 2, pending: 3, closed: 4 };

/** A listed ticket's position under `sort`: the values the list is ordered by, before the id. */
export function sortKeyOf(t: TicketListItem, sort: TicketSort = 'updated'): Array<string | number> {
  switch (sort) {
    case 'updated':
      return [t.updatedAt];
    case 'created':
      return [t.createdAt];
    case 'ttn':
      return [t.ttn];
    case 'priority':
      return [t.priority, t.updatedAt];
    case 'state':
      return [STATE_RANK[t.state], t.updatedAt];
    case 'owner':
      return [t.ownerName ?? '', t.updatedAt];
  }
}

/** How many values a sort's key has (see {@link sortKeyOf}). */
export const SORT_KEY_LENGTH: Record<TicketSort, number> = { updated: 1, created: 1, ttn: 1, priority: 2, state: 2, owner: 2 };

/** The most tickets one list call returns. */
export const MAX_LIST_LIMIT = 500;

/** A ticket as lists show it: with the names of its queue, owner and customer. */
export type TicketListItem = Ticket & { queueName: string; ownerName: string | null; customerName: string | null };

export interface TicketChange {
  state?: TicketState;
  ownerId?: number | null;
  queueId?: number;
  title?: string;
  priority?: number;
  linkedTicketId?: number | null;
  customerId?: number | null;
  /** A reminder for a pending ticket (ISO time), or null for none. */
  pendingUntil?: string | null;
}

export interface TicketStore {
  /** Inserts the ticket and its first article in one transaction; throws DuplicateTtnError when the TTN is taken. */
  create(record: NewTicketRecord): Promise<{ ticket: Ticket; article: Article }>;
  findById(id: number): Promise<Ticket | null>;
  findByTtn(ttn: string): Promise<Ticket | null>;
  /** Tickets in queues the agent may see (admins see all); the permission filter is part of the query. */
  listVisible(agentId: number, filter: TicketFilter): Promise<readonly TicketListItem[]>;
  /** Every ticket matching the filter, without a permission filter: for the system (pops, mail), never for an agent's listing. */
  listAll(filter: TicketFilter): Promise<readonly TicketListItem[]>;
  /** Counts per queue and state, over the queues the agent may see. */
  countVisible(agentId: number): Promise<Array<{ queueId: number; state: TicketState; count: number }>>;
  /** How many tickets the agent may see match the filter (its sort and position aside). */
  countMatching(agentId: number, filter: TicketFilter): Promise<number>;
  /** Changes the ticket and records what changed in its history, in one transaction. */
  update(id: number, change: TicketChange, now: string, by: ChangedBy): Promise<Ticket>;
  /** The ticket's history, oldest first. */
  history(ticketId: number): Promise<HistoryEntry[]>;
  /** Pending tickets whose reminder is due (at most `limit`): opened again, their reminder cleared, in one transaction. */
  wakeDue(now: string, limit: number): Promise<Array<{ before: Ticket; ticket: Ticket }>>;
  addArticle(ticketId: number, article: ArticleInput, now: string): Promise<{ ticket: Ticket; article: Article }>;
  articles(ticketId: number): Promise<Article[]>;
  /**
   * The newest `limit` articles but the call records, newest first, with only the start of their
   * text: what a screen-pop shows (what the customer wrote, not Hotline's logs of earlier calls),
   * however long the ticket's history.
   */
  latestArticles(ticketId: number, limit: number): Promise<ArticleStart[]>;
  /** The ticket a caller keyed, with its {@link latestArticles} for the pop: read together, before the call is routed. */
  findForCall(ttn: string, articles: number): Promise<TicketForCall | null>;
}

export interface TicketForCall {
  ticket: Ticket;
  latest: ArticleStart[];
}

/** An article in short: its first {@link ARTICLE_START_CHARS} characters of text. */
export type ArticleStart = Pick<Article, 'kind' | 'from' | 'subject' | 'createdAt'> & { textStart: string };
export const ARTICLE_START_CHARS = 400;
/** How many of a ticket's articles its screen-pop shows. */
export const POP_ARTICLES = 3;

export interface CounterStore {
  /** Atomically increments `key` (starting at 1) and returns the new value, across processes. */
  next(key: string): Promise<number>;
}

export interface SettingsStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

export interface NewAgent {
  login: string;
  name: string;
  email?: string | null;
  passwordHash: string;
  role: Role;
  dialString?: string | null;
  deviceInterface?: string | null;
  language?: string;
}

export interface AgentStore {
  create(agent: NewAgent, now: string): Promise<Agent>;
  findById(id: number): Promise<Agent | null>;
  findByLogin(login: string): Promise<Agent | null>;
  passwordHash(id: number): Promise<string | null>;
  list(): Promise<Agent[]>;
  update(id: number, change: Partial<Omit<NewAgent, 'login'>> & { active?: boolean; away?: boolean; notifyByEmail?: boolean; timeZone?: string | null }): Promise<Agent>;
  countAdmins(): Promise<number>;
}

export interface NewQueue {
  name: string;
  email?: string | null;
  dialTarget?: string | null;
  asteriskQueue?: string | null;
  isDefault?: boolean;
  reopenPolicy?: 'reopen' | 'new-ticket';
  autoReply?: Record<string, string> | null;
  signature?: string | null;
  voicemailAfterSeconds?: number | null;
  openHours?: string | null;
  holidays?: string[];
}

export interface QueueStore {
  create(queue: NewQueue, now: string): Promise<Queue>;
  findById(id: number): Promise<Queue | null>;
  findByName(name: string): Promise<Queue | null>;
  findByEmail(email: string): Promise<Queue | null>;
  findDefault(): Promise<Queue | null>;
  list(): Promise<Queue[]>;
  update(id: number, change: Partial<NewQueue>): Promise<Queue>;
  /** The agent's access to the queue; admins get `rw` everywhere. */
  access(agentId: number, queueId: number): Promise<Access | null>;
  setAccess(agentId: number, queueId: number, access: Access | null): Promise<void>;
  /** Queues the agent may see, with the access level. */
  visible(agentId: number): Promise<Array<Queue & { access: Access }>>;
  /** Active agents who may see at least one of these queues (admins see every queue), by name. */
  agentsSeeing(queueIds: number[]): Promise<number[]>;
}

export interface NewCustomer {
  name: string;
  language?: string | null;
  emails?: string[];
  phones?: string[];
}

export interface CustomerStore {
  create(customer: NewCustomer, now: string): Promise<Customer>;
  findById(id: number): Promise<Customer | null>;
  findByEmail(email: string): Promise<Customer | null>;
  /** Customers with this normalised number (a number may be shared, e.g. a switchboard). */
  findByPhone(phone: string): Promise<Customer[]>;
  addEmail(id: number, email: string): Promise<void>;
  addPhone(id: number, phone: string): Promise<void>;
  /** The language to write to the customer in (auto-replies); null: found from each mail. */
  setLanguage(id: number, language: string | null): Promise<void>;
  /** Customers whose name, e-mail or phone contains `search` (all when empty), by name. */
  search(search: string, limit: number, offset?: number): Promise<Customer[]>;
  /** How many customers `search` would find without a limit. */
  count(search: string): Promise<number>;
  /** Whether the agent is an admin, or may see a queue holding one of the customer's tickets. */
  visibleTo(customerId: number, agentId: number): Promise<boolean>;
}

export type CallChange = Partial<Omit<Call, 'id' | 'channelId' | 'startedAt' | 'instance'>>;

/** Which calls a caller log shows: the agent's own, or all of the agent's queues; only missed ones; a page of them. */
export interface CallLogFilter {
  mine?: boolean;
  missed?: boolean;
  /** Just this call (if the agent may see it). */
  id?: number;
  limit: number;
  offset: number;
}

export interface CallStore {
  /** A call starts: one through the hotline (`in`, the default), or an agent's click-to-dial (`out`). */
  create(call: {
    channelId: string;
    linkedId?: string | null;
    callerNumber: string | null;
    callerName: string | null;
    language: string | null;
    startedAt: string;
    direction?: 'in' | 'out';
    dialledBy?: number | null;
    calleeNumber?: string | null;
    ticketId?: number | null;
    queueId?: number | null;
    /** The instance taking the call. */
    instance?: string | null;
  }): Promise<Call>;
  /** The calls the agent may see (their queues', their tickets', those they were rung for, answered or placed), newest first. */
  log(agentId: number, filter: CallLogFilter): Promise<CallLogEntry[]>;
  countLog(agentId: number, filter: Omit<CallLogFilter, 'limit' | 'offset'>): Promise<{ total: number; unseen: number }>;
  /** Marks calls seen for the agent: some, or every call started until now. */
  markSeen(agentId: number, which: { ids: number[] } | { until: string }): Promise<void>;
  update(id: number, change: CallChange): Promise<Call>;
  /** The agent was rung for the call: added to `agentsRung` once, in one statement; null when there is no such call. */
  rang(id: number, agentId: number): Promise<Call | null>;
  /** The agent answered: recorded (and added to `agentsRung`) in one statement if nobody had; null when somebody had, or there is no such call. */
  answeredBy(id: number, agentId: number, at: string): Promise<Call | null>;
  findById(id: number): Promise<Call | null>;
  findByChannel(channelId: string): Promise<Call | null>;
  /** Calls on a ticket, oldest first. */
  forTicket(ticketId: number): Promise<Call[]>;
  /** Calls not ended yet, oldest first. */
  open(): Promise<Call[]>;
  /** Ends the call at `at` (answered, else abandoned) unless it has ended already; the call, or null when another closed it first. */
  end(id: number, at: string): Promise<Call | null>;
  /**
   * PostgreSQL only (a round trip less a call): {@link end}s the call, where it still is as `expected`
   * in all its `call` article tells, and adds that article to its ticket (if it has one) in the same
   * statement — `text`, then the outcome the end gives (`Outcome: answered`); subject `Call <outcome>`.
   * Null, and nothing written, when the call has ended already or changed since (then `end` it).
   */
  endWithArticle?(id: number, at: string, expected: Call, text: string): Promise<{ call: Call; added: { ticket: Ticket; article: Article } | null } | null>;
  /** Calls in that are open while the instance that took them is not alive (its `instance:` lease expired), apart from `me`'s. */
  lost(me: string, now: number): Promise<Call[]>;
  /** Makes the call `to`'s if it is still `from`'s and open (one instance adopts it); the call, or null. */
  adopt(id: number, from: string, to: string): Promise<Call | null>;
  /** Puts a call without a ticket on this ticket (one statement); null when it has a ticket already. */
  linkTicket(id: number, ticketId: number): Promise<Call | null>;
}

export interface SessionRecord {
  agentId: number;
  csrfToken: string;
  expiresAt: string;
}

export interface SessionStore {
  create(tokenHash: string, record: SessionRecord, now: string): Promise<void>;
  find(tokenHash: string): Promise<SessionRecord | null>;
  touch(tokenHash: string, expiresAt: string): Promise<void>;
  delete(tokenHash: string): Promise<void>;
  deleteForAgent(agentId: number): Promise<void>;
  deleteExpired(now: string): Promise<void>;
}

/** What an API token may do: everything its agent may (`rw`), or only read (`ro`). */
export type TokenScope = 'rw' | 'ro';

export interface ApiTokenRecord {
  id: number;
  name: string;
  scope: TokenScope;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface ApiTokenStore {
  create(agentId: number, input: { name: string; tokenHash: string; scope: TokenScope; expiresAt: string | null }, now: string): Promise<{ id: number }>;
  /** The token for a hash (not checked for expiry). */
  find(tokenHash: string): Promise<{ id: number; agentId: number; scope: TokenScope; expiresAt: string | null; lastUsedAt: string | null } | null>;
  /** Records a use. */
  touch(id: number, now: string): Promise<void>;
  list(agentId: number): Promise<ApiTokenRecord[]>;
  delete(id: number, agentId: number): Promise<void>;
}

/** A ticket-list filter an agent saved: its name and the list's query string. */
export interface SavedFilter {
  id: number;
  name: string;
  query: string;
}

export interface SavedFilterStore {
  list(agentId: number): Promise<SavedFilter[]>;
  /** Saves under `name`, replacing the agent's filter of that name. */
  save(agentId: number, name: string, query: string, now: string): Promise<SavedFilter>;
  /** Removes one of the agent's own filters; false when there is none with that id. */
  remove(id: number, agentId: number): Promise<boolean>;
}

export interface NoticeStore {
  /** Writes notices (one transaction); `mail` marks those to be mailed as well. */
  add(notices: Array<{ agentId: number; kind: NoticeKind; ticketId: number | null; text: string; mail: boolean }>, now: string): Promise<Notice[]>;
  /** The agent's notices, newest first, a page at a time; how many, and how many not seen. */
  list(agentId: number, limit: number, offset: number): Promise<Notice[]>;
  count(agentId: number): Promise<{ total: number; unseen: number }>;
  /** Marks seen: the given notices, those of a ticket, or all of the agent's. Returns how many. */
  markSeen(agentId: number, which: { ids: number[] } | { ticketId: number } | 'all', now: string): Promise<number>;
  /** Notices after `id`, oldest first (for pushing new ones to sockets), and the newest id now. */
  after(id: number, limit: number): Promise<Notice[]>;
  newestId(): Promise<number>;
  /** Notices to be mailed and not mailed yet, with the agent's address. */
  toMail(limit: number): Promise<Array<Notice & { email: string | null; agentName: string; agentLanguage: string }>>;
  /** Who watches a queue's new tickets. */
  watchers(queueId: number): Promise<number[]>;
  watched(agentId: number): Promise<number[]>;
  setWatched(agentId: number, queueIds: number[]): Promise<void>;
}

export interface CannedAnswerStore {
  /** Every canned answer (admins), by queue then name; with `queueId`, that queue's and those for every queue. */
  list(queueId?: number): Promise<CannedAnswer[]>;
  find(id: number): Promise<CannedAnswer | null>;
  save(input: { id?: number; queueId: number | null; name: string; body: string }, now: string): Promise<CannedAnswer>;
  remove(id: number): Promise<boolean>;
}

export interface DraftStore {
  add(agentId: number, ticketId: number, file: AttachmentInput & { size: number }, now: string): Promise<DraftAttachment>;
  /** The agent's files waiting for a reply on the ticket, oldest first, without their content. */
  list(agentId: number, ticketId: number): Promise<DraftAttachment[]>;
  /** How many bytes the agent has waiting on the ticket. */
  bytes(agentId: number, ticketId: number): Promise<number>;
  remove(id: number, agentId: number): Promise<boolean>;
  /** Drops files older than `before` (replies never sent). */
  purgeOlderThan(before: string): Promise<number>;
}

export interface AttachmentStore {
  add(articleId: number, attachment: AttachmentInput & { sha256: string; size: number }): Promise<Attachment>;
  /** Attachments of every article of a ticket, without their content. */
  forTicket(ticketId: number): Promise<Attachment[]>;
  /** Metadata and the ticket it belongs to. */
  find(id: number): Promise<(Attachment & { ticketId: number }) | null>;
  content(id: number): Promise<Buffer | null>;
}

/**
 * Leases in the database: which instance does a piece of background work, and which instances are
 * alive. Times are the holder's clock in ms; instances on several machines need their clocks in step
 * (NTP) to well within a lease's length.
 */
export interface LeaseStore {
  /** Takes the lease for `holder` until `expiresAt` if it is free, expired or already its own; true when it holds it now. */
  take(name: string, holder: string, now: number, expiresAt: number): Promise<boolean>;
  /** Gives the lease up (only the holder's). */
  release(name: string, holder: string): Promise<void>;
  /** Holders of the unexpired leases whose name starts with `prefix`. */
  live(prefix: string, now: number): Promise<Array<{ name: string; holder: string; expiresAt: number }>>;
}

/** The state of agents' pops that every instance must agree on (see realtime.ts). */
export interface PopStateStore {
  /** Running calls the agent was rung for or answered, oldest first. */
  runningCallsOf(agentId: number): Promise<Call[]>;
  /**
   * Running calls whose pop the agent dismissed — not those the agent answered after dismissing them
   * (talking to the caller, the pop is theirs again).
   */
  dismissed(agentId: number): Promise<Set<number>>;
  /** The agent dismissed these calls' pops at `at` (running calls only). */
  dismiss(agentId: number, callIds: number[], at: string): Promise<void>;
  /** Drops the dismissals of ended calls (of no more use); how many. */
  sweep(): Promise<number>;
}
