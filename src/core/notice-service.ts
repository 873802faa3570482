import type { EventBus } from './events.js';
import type { AgentStore, NoticeStore, QueueStore } from './ports.js';
import type { Clock } from './ticket-service.js';
import type { Notice, NoticeKind, Ticket } from './types.js';

export interface NoticeServiceDeps {
  notices: NoticeStore;
  agents: Pick<AgentStore, 'findById'>;
  queues: Pick<QueueStore, 'access'>;
  events: EventBus;
  clock: Clock;
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

  async function write(candidates: Array<{ agentId: number; kind: NoticeKind; ticket: Ticket; text: string }>): Promise<Notice[]> {
    const rows = [];
    for (const c of candidates) {
      const agent = await deps.agents.findById(c.agentId);
      if (!agent?.active) continue;
      // Nobody is told of a ticket they may not see.
      if ((await deps.queues.access(c.agentId, c.ticket.queueId)) === null) continue;
      rows.push({ agentId: c.agentId, kind: c.kind, ticketId: c.ticket.id, text: c.text, mail: agent.notifyByEmail && !!agent.email });
    }
    const written = await notices.add(rows, clock.now().toISOString());
    if (written.length) events.publish('notice.created', { notices: written });
    return written;
  }

  const title = (t: Ticket) => `${t.ttn} “${t.title}”`;
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
          const source = article.kind === 'email-in' ? `by mail from ${article.from ?? 'an unknown sender'}` : article.kind === 'phone' ? 'by phone' : 'in Hotline';
          await write(watchers.map((agentId) => ({ agentId, kind: 'new-ticket' as const, ticket, text: `New ticket ${title(ticket)}, ${source}.` })));
        })(),
      ),
    ),
    events.on('ticket.changed', ({ ticket, before, byAgentId, via }) =>
      guard(
        (async () => {
          const out: Parameters<typeof write>[0] = [];
          if (ticket.ownerId !== null && ticket.ownerId !== before.ownerId && ticket.ownerId !== byAgentId) {
            const by = (await name(byAgentId)) ?? (via === 'phone' ? 'answering the call' : 'Hotline');
            out.push({ agentId: ticket.ownerId, kind: 'assigned', ticket, text: `Ticket ${title(ticket)} is yours now (${by}).` });
          }
          if (via === 'reminder' && ticket.ownerId !== null) out.push({ agentId: ticket.ownerId, kind: 'reminder', ticket, text: `Reminder: ticket ${title(ticket)} is due; it is open again.` });
          await write(out);
        })(),
      ),
    ),
    events.on('article.added', ({ ticket, article }) =>
      guard(
        (async () => {
          if (article.kind !== 'email-in' || ticket.ownerId === null) return;
          await write([{ agentId: ticket.ownerId, kind: 'customer-reply', ticket, text: `${article.from ?? 'The customer'} wrote on ticket ${title(ticket)}${article.subject ? `: ${article.subject}` : ''}.` }]);
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
    /** Stops listening to events. */
    close(): void {
      for (const off of handlers) off();
    },
  };
}

export type NoticeService = ReturnType<typeof createNoticeService>;
