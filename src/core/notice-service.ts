import type { EventBus } from './events.js';
import type { AgentStore, NoticeStore, QueueStore } from './ports.js';
import type { Clock } from './ticket-service.js';
import type { Notice, NoticeKind, Ticket } from './types.js';

/** Texts in one language (an i18next `t`): `(key, values) → text`. */
export type Texts = (key: string, values?: Record<string, unknown>) => string;

export interface NoticeServiceDeps {
  notices: NoticeStore;
  agents: Pick<AgentStore, 'findById'>;
  queues: Pick<QueueStore, 'access' | 'agentsSeeing'>;
  events: EventBus;
  clock: Clock;
  /** The texts of an agent's language (`language` as the agent set it). */
  texts: (language: string) => Texts;
  /** Told of notices that could not be written (the change they are about stands). */
  onError?: (error: unknown) => void;
}

/**
 * Notifications: an agent is told when a ticket is given to them (by someone else), when the customer
 * of a ticket they own writes, when a reminder of theirs comes due, and — if they watch its queue —
 * when a new ticket arrives. Only about tickets in queues the agent may see. Written after the change
 * committed (from its event), then published as `notice.created` for the agent's sockets.
 */
export function createNoticeService(deps: NoticeServiceDeps) {
  const { notices, events, clock } = deps;

  /** A notice is written in its agent's language. */
  async function write(candidates: Array<{ agentId: number; kind: NoticeKind; ticket: Ticket; text: (t: Texts) => string }>): Promise<Notice[]> {
    const rows = [];
    for (const c of candidates) {
      const agent = await deps.agents.findById(c.agentId);
      if (!agent?.active) continue;
      // Nobody is told of a ticket they may not see.
      if ((await deps.queues.access(c.agentId, c.ticket.queueId)) === null) continue;
      rows.push({ agentId: c.agentId, kind: c.kind, ticketId: c.ticket.id, text: c.text(deps.texts(agent.language)), mail: agent.notifyByEmail && !!agent.email });
    }
    const written = await notices.add(rows, clock.now().toISOString());
    if (written.length) events.publish('notice.created', { notices: written });
    return written;
  }

  const title = (t: Texts, ticket: Ticket) => t('notice.ticket', { ttn: ticket.ttn, title: ticket.title });
  const name = async (agentId: number | null) => (agentId === null ? null : ((await deps.agents.findById(agentId))?.name ?? null));
  const guard = (promise: Promise<unknown>): Promise<void> => promise.then(
    () => undefined,
    (error: unknown) => deps.onError?.(error),
  );

  const handlers = [
    events.on('ticket.created', ({ ticket, article }) =>
      guard(
        (async () => {
          const watchers = (await notices.watchers(ticket.queueId)).filter((id) => id !== article.authorAgentId);
          const source = (t: Texts) => (article.kind === 'email-in' ? t('notice.source.mail', { from: article.from ?? t('notice.source.unknownSender') }) : article.kind === 'phone' ? t('notice.source.phone') : t('notice.source.hotline'));
          await write(watchers.map((agentId) => ({ agentId, kind: 'new-ticket' as const, ticket, text: (t: Texts) => t('notice.newTicket', { ticket: title(t, ticket), source: source(t) }) })));
        })(),
      ),
    ),
    events.on('ticket.changed', ({ ticket, before, byAgentId, via }) =>
      guard(
        (async () => {
          const out: Parameters<typeof write>[0] = [];
          if (ticket.ownerId !== null && ticket.ownerId !== before.ownerId && ticket.ownerId !== byAgentId) {
            const byName = await name(byAgentId);
            const by = (t: Texts) => byName ?? (via === 'phone' ? t('notice.by.phone') : t('notice.by.hotline'));
            out.push({ agentId: ticket.ownerId, kind: 'assigned', ticket, text: (t) => t('notice.assigned', { ticket: title(t, ticket), by: by(t) }) });
          }
          if (via === 'reminder' && ticket.ownerId !== null) out.push({ agentId: ticket.ownerId, kind: 'reminder', ticket, text: (t) => t('notice.reminder', { ticket: title(t, ticket) }) });
          await write(out);
        })(),
      ),
    ),
    events.on('article.added', ({ ticket, article }) =>
      guard(
        (async () => {
          if (article.kind !== 'email-in' || ticket.ownerId === null) return;
          const values = (t: Texts) => ({ from: article.from ?? t('notice.theCustomer'), ticket: title(t, ticket), subject: article.subject });
          await write([{ agentId: ticket.ownerId, kind: 'customer-reply', ticket, text: (t) => t(article.subject ? 'notice.customerReplySubject' : 'notice.customerReply', values(t)) }]);
        })(),
      ),
    ),
  ];

  return {
    list: (agentId: number, limit: number, offset: number) => notices.list(agentId, limit, offset),
    count: (agentId: number) => notices.count(agentId),
    markSeen: (agentId: number, which: Parameters<NoticeStore['markSeen']>[1]) => notices.markSeen(agentId, which, clock.now().toISOString()),
    after: (id: number, limit: number) => notices.after(id, limit),
    newestId: () => notices.newestId(),
    watched: (agentId: number) => notices.watched(agentId),
    setWatched: (agentId: number, queueIds: number[]) => notices.setWatched(agentId, queueIds),
    toMail: (limit: number) => notices.toMail(limit),
    /** A caller left a message on the ticket (voicemail): every agent who may see its queue is told. */
    async voicemail(ticket: Ticket, from: string, duration: string): Promise<Notice[]> {
      const agentIds = await deps.queues.agentsSeeing([ticket.queueId]);
      return write(agentIds.map((agentId) => ({ agentId, kind: 'customer-reply' as const, ticket, text: (t: Texts) => t('notice.voicemail', { from, ticket: title(t, ticket), duration }) })));
    },
    /** Stops listening to events. */
    close(): void {
      for (const off of handlers) off();
    },
  };
}

export type NoticeService = ReturnType<typeof createNoticeService>;
