import { DuplicateTtnError, ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import type { EventBus } from './events.js';
import { createHash } from 'node:crypto';
import type { AttachmentStore, QueueStore, TicketChange, TicketFilter, TicketForCall, TicketListItem, TicketStore } from './ports.js';
import { POP_ARTICLES } from './ports.js';
import type { TtnService } from './ttn/ttn-service.js';
import type { Access, Article, ArticleInput, Attachment, AttachmentInput, ChangedBy, ChangeVia, HistoryEntry, Ticket, TicketState } from './types.js';
import { ARTICLE_KINDS, TICKET_STATES } from './types.js';

/** A source of the current time; injected so tests can fix it. */
export interface Clock {
  now(): Date;
}

export interface TicketServiceDeps {
  tickets: TicketStore;
  attachments: AttachmentStore;
  queues: QueueStore;
  ttn: TtnService;
  events: EventBus;
  clock: Clock;
}

export interface CreateTicketInput {
  queueId: number;
  title: string;
  customerId?: number | null;
  ownerId?: number | null;
  priority?: number;
  state?: TicketState;
  article: ArticleInput;
}

/** Who acts: an agent (permission-checked) or the system itself (mail, IVR, CLI). */
export type Actor = { agentId: number } | 'system';

/** New numbers tried for one ticket before giving up (random numbers can collide). */
export const MAX_TTN_ATTEMPTS = 20;
const MAX_TITLE = 300;

/** A ticket's title as stored: trimmed, at most {@link MAX_TITLE} characters. */
export const ticketTitle = (text: string): string => text.trim().slice(0, MAX_TITLE);

/** A file as it is stored: with its hash and size. */
export const storedFile = (file: AttachmentInput): AttachmentInput & { sha256: string; size: number } => ({
  ...file,
  sha256: createHash('sha256').update(file.content).digest('hex'),
  size: file.content.length,
});

/** Who made a change, as the ticket's history records it. */
export const changedBy = (actor: Actor, via: ChangeVia = 'system'): ChangedBy => (actor === 'system' ? { via, agentId: null } : { via: 'agent', agentId: actor.agentId });

/**
 * A reminder belongs to a pending ticket: setting one makes the ticket pending, and any other state
 * drops it. An ISO time is required.
 */
function withPendingRule(before: Ticket, change: TicketChange): TicketChange {
  if (change.pendingUntil != null) {
    if (Number.isNaN(Date.parse(change.pendingUntil)) || !/^\d{4}-\d\d-\d\dT/.test(change.pendingUntil)) throw new ValidationError('pendingUntil: must be a date and time, e.g. 2026-12-24T09:00:00Z');
    if (change.state !== undefined && change.state !== 'pending') throw new ValidationError('pendingUntil: a reminder is for a pending ticket; choose the state "pending"');
    // A time without a zone is UTC here (the pages say so), not the server's local time.
    const iso = /(Z|[+-]\d\d:\d\d)$/.test(change.pendingUntil) ? change.pendingUntil : `${change.pendingUntil}Z`;
    if (Number.isNaN(Date.parse(iso))) throw new ValidationError('pendingUntil: must be a date and time, e.g. 2026-12-24T09:00:00Z');
    return { ...change, state: 'pending', pendingUntil: new Date(iso).toISOString() };
  }
  const state = change.state ?? before.state;
  if (state !== 'pending' && before.pendingUntil !== null && change.pendingUntil === undefined) return { ...change, pendingUntil: null };
  return change;
}

/** Tickets and their articles: creation with a fresh TTN, follow-ups, state/owner/queue changes, permission-filtered reads. */
export function createTicketService(deps: TicketServiceDeps) {
  const { tickets, queues, ttn, events, clock } = deps;
  const nowIso = () => clock.now().toISOString();

  async function requireAccess(actor: Actor, ticket: Ticket, needed: Access): Promise<void> {
    if (actor === 'system') return;
    const access = await queues.access(actor.agentId, ticket.queueId);
    // Tickets in queues the agent may not see do not exist for that agent.
    if (access === null) throw new NotFoundError(`no ticket ${ticket.ttn}`);
    if (needed === 'rw' && access !== 'rw') throw new ForbiddenError(`read-only access to the queue of ticket ${ticket.ttn}`);
  }

  /** An owner must be able to see the ticket's queue: else callers keying its number reach someone who cannot open it. */
  async function checkOwner(ownerId: number, queue: { id: number; name: string }): Promise<void> {
    if ((await queues.access(ownerId, queue.id)) === null) throw new ValidationError(`ownerId: agent ${ownerId} cannot see queue "${queue.name}" (or does not exist)`);
  }

  function checkArticle(article: ArticleInput): void {
    if (!ARTICLE_KINDS.includes(article.kind)) throw new ValidationError(`unknown article kind "${article.kind}"`);
    if (typeof article.text !== 'string') throw new ValidationError('article text is required');
  }

  async function load(id: number): Promise<Ticket> {
    const ticket = await tickets.findById(id);
    if (!ticket) throw new NotFoundError(`no ticket with id ${id}`);
    return ticket;
  }

  /** The ticket with this TTN if `actor` may see it, else NotFoundError. */
  async function getVisible(number: string, actor: Actor): Promise<{ ticket: Ticket; articles: Article[]; access: Access }> {
    const ticket = await tickets.findByTtn(number);
    if (!ticket) throw new NotFoundError(`no ticket ${number}`);
    await requireAccess(actor, ticket, 'ro');
    const access = actor === 'system' ? 'rw' : ((await queues.access(actor.agentId, ticket.queueId)) ?? 'ro');
    return { ticket, articles: await tickets.articles(ticket.id), access };
  }

  return {
    /** Creates a ticket with a new TTN and its first article; publishes `ticket.created` after commit. */
    async create(input: CreateTicketInput, actor: Actor = 'system', via: ChangeVia = 'system'): Promise<{ ticket: Ticket; article: Article }> {
      const title = ticketTitle(input.title);
      if (!title) throw new ValidationError('a ticket needs a title');
      const queue = await queues.findById(input.queueId);
      if (!queue) throw new NotFoundError(`no queue with id ${input.queueId}`);
      if (actor !== 'system') {
        const access = await queues.access(actor.agentId, queue.id);
        if (access !== 'rw') throw new ForbiddenError(`no write access to queue "${queue.name}"`);
      }
      const priority = input.priority ?? 3;
      if (!Number.isInteger(priority) || priority < 1 || priority > 5) throw new ValidationError('priority must be 1 to 5');
      const state = input.state ?? 'new';
      if (!TICKET_STATES.includes(state)) throw new ValidationError(`unknown state "${state}"`);
      checkArticle(input.article);
      if (input.ownerId != null) await checkOwner(input.ownerId, queue);
      for (let attempt = 1; ; attempt++) {
        const now = clock.now();
        const number = await ttn.next(now);
        try {
          const created = await tickets.create({
            ttn: number,
            title,
            queueId: queue.id,
            state,
            priority,
            ownerId: input.ownerId ?? null,
            customerId: input.customerId ?? null,
            now: now.toISOString(),
            article: input.article,
            by: changedBy(actor, via),
          });
          events.publish('ticket.created', created);
          return created;
        } catch (error) {
          // Random numbers can collide, and a counter may be behind numbers imported from elsewhere.
          if (error instanceof DuplicateTtnError && attempt < MAX_TTN_ATTEMPTS) continue;
          throw error;
        }
      }
    },

    /** Adds an article (note, mail, phone, call) to a ticket; publishes `article.added` after commit. */
    async addArticle(ticketId: number, article: ArticleInput, actor: Actor = 'system'): Promise<{ ticket: Ticket; article: Article }> {
      checkArticle(article);
      // Hotline itself may write on any ticket (a call's article as the call ends): no read first; a
      // ticket that does not exist is refused by the write all the same.
      if (actor !== 'system') await requireAccess(actor, await load(ticketId), 'rw');
      const added = await tickets.addArticle(ticketId, article, nowIso());
      events.publish('article.added', added);
      return added;
    },

    /**
     * Changes state, owner, queue, title, priority or the pending reminder, recording each in the
     * ticket's history with who did it (`via` says how Hotline itself came to, for the system);
     * publishes `ticket.changed` after commit.
     */
    async change(ticketId: number, change: TicketChange, actor: Actor = 'system', via: ChangeVia = 'system'): Promise<Ticket> {
      const before = await load(ticketId);
      await requireAccess(actor, before, 'rw');
      if (change.state !== undefined && !TICKET_STATES.includes(change.state)) throw new ValidationError(`unknown state "${change.state}"`);
      if (change.priority !== undefined && (!Number.isInteger(change.priority) || change.priority < 1 || change.priority > 5)) {
        throw new ValidationError('priority must be 1 to 5');
      }
      if (change.title !== undefined && !change.title.trim()) throw new ValidationError('a ticket needs a title');
      let queue = { id: before.queueId, name: '' };
      if (change.queueId !== undefined && change.queueId !== before.queueId) {
        const target = await queues.findById(change.queueId);
        if (!target) throw new NotFoundError(`no queue with id ${change.queueId}`);
        if (actor !== 'system' && (await queues.access(actor.agentId, target.id)) !== 'rw') {
          throw new ForbiddenError(`no write access to queue "${target.name}"`);
        }
        queue = target;
        // Moved to a queue its owner cannot see: the ticket is nobody's there.
        if (change.ownerId === undefined && before.ownerId !== null && (await queues.access(before.ownerId, target.id)) === null) change = { ...change, ownerId: null };
      }
      if (change.ownerId != null && change.ownerId !== before.ownerId) {
        if (!queue.name) queue = (await queues.findById(queue.id)) ?? queue;
        await checkOwner(change.ownerId, queue);
      }
      change = withPendingRule(before, change);
      const ticket = await tickets.update(ticketId, change, nowIso(), changedBy(actor, via));
      events.publish('ticket.changed', { ticket, before, byAgentId: actor === 'system' ? null : actor.agentId, via: actor === 'system' ? via : 'agent' });
      return ticket;
    },

    /** Brings back the pending tickets whose reminder is due: open again, each change in its history; publishes `ticket.changed` for each. */
    async wakeDue(limit = 100): Promise<Ticket[]> {
      const woken = await tickets.wakeDue(nowIso(), limit);
      for (const { before, ticket } of woken) events.publish('ticket.changed', { ticket, before, byAgentId: null, via: 'reminder' });
      return woken.map((w) => w.ticket);
    },

    /** The ticket with this id, without permission checks (system use). */
    findById: (id: number): Promise<Ticket | null> => tickets.findById(id),

    /** The ticket with this TTN, without permission checks (IVR, mail). */
    findByTtn: (number: string): Promise<Ticket | null> => tickets.findByTtn(number),

    getVisible,
    /** Throws unless `actor` may read (`ro`) or write (`rw`) the ticket; a ticket in a queue the agent cannot see is NotFound. */
    requireAccess,
    /** Stores a file on an article (hashing it), e.g. a mail attachment or a fax image. */
    async attach(articleId: number, file: AttachmentInput): Promise<Attachment> {
      return deps.attachments.add(articleId, storedFile(file));
    },
    /** Attachments of a ticket the actor may see. */
    async attachments(ttn: string, actor: Actor): Promise<Attachment[]> {
      // Only the permission check: the articles getVisible would load are not needed here.
      const ticket = await tickets.findByTtn(ttn);
      if (!ticket) throw new NotFoundError(`no ticket ${ttn}`);
      await requireAccess(actor, ticket, 'ro');
      return deps.attachments.forTicket(ticket.id);
    },
    /** An attachment with its content, if the actor may see its ticket (else NotFoundError, as if it did not exist). */
    async attachmentForActor(id: number, actor: Actor): Promise<{ attachment: Attachment; content: Buffer }> {
      const found = await deps.attachments.find(id);
      const ticket = found ? await tickets.findById(found.ticketId) : null;
      if (!found || !ticket) throw new NotFoundError(`no attachment ${id}`);
      try {
        await requireAccess(actor, ticket, 'ro');
      } catch {
        throw new NotFoundError(`no attachment ${id}`);
      }
      const content = await deps.attachments.content(id);
      if (!content) throw new NotFoundError(`no attachment ${id}`);
      return { attachment: found, content };
    },

    /** Tickets the agent may see, filtered. */
    listVisible: (agentId: number, filter: TicketFilter = {}): Promise<readonly TicketListItem[]> => tickets.listVisible(agentId, filter),
    countVisible: (agentId: number) => tickets.countVisible(agentId),
    /** How many tickets the agent may see match the filter. */
    countVisibleMatching: (agentId: number, filter: TicketFilter) => tickets.countMatching(agentId, filter),
    /** Tickets matching the filter in any queue: for system use (the caller-ID lookup); filter per agent before showing. */
    listAll: (filter: TicketFilter): Promise<readonly TicketListItem[]> => tickets.listAll(filter),
    articles: (ticketId: number): Promise<Article[]> => tickets.articles(ticketId),
    /** The ticket's history, oldest first (no permission check: read it with the ticket). */
    history: (ticketId: number): Promise<HistoryEntry[]> => tickets.history(ticketId),
    latestArticles: (ticketId: number, limit: number) => tickets.latestArticles(ticketId, limit),
    /** The ticket a caller keyed, with the articles its pop shows (no permission check: Hotline routes the call). */
    findForCall: (ttn: string): Promise<TicketForCall | null> => tickets.findForCall(ttn, POP_ARTICLES),
  };
}

export type TicketService = ReturnType<typeof createTicketService>;
