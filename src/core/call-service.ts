import { NotFoundError } from './errors.js';
import type { EventBus } from './events.js';
import type { AgentStore, ArticleStart, CallLogFilter, CallStore, QueueStore } from './ports.js';
import type { RouteDecision } from './routing.js';
import type { Clock, TicketService } from './ticket-service.js';
import type { Call, CallReason, Ticket } from './types.js';

export interface CallServiceDeps {
  calls: CallStore;
  tickets: TicketService;
  agents: Pick<AgentStore, 'findById'>;
  queues: Pick<QueueStore, 'findById' | 'access'>;
  events: EventBus;
  clock: Clock;
  /** This instance (config `instanceId`): recorded on the calls it takes. */
  instance?: string;
  /** Told of work after a call event that failed (the call itself goes on). */
  onError?: (error: unknown, what: string) => void;
}

/** Call records: what happened to every call, from the IVR to hang-up, and the `call.*` events. */
export function createCallService(deps: CallServiceDeps) {
  const { calls, events, clock } = deps;
  const now = () => clock.now().toISOString();

  async function agentLabel(id: number | null): Promise<string> {
    if (id === null) return '-';
    const agent = await deps.agents.findById(id);
    return agent ? `${agent.name} (${agent.login})` : `agent ${id}`;
  }

  /** The call as a `call` article for the ticket, in words an agent reads: all but its outcome, which ends the text. */
  async function describeUpToOutcome(call: Call, endedAt: string | null): Promise<string> {
    const queue = call.queueId ? await deps.queues.findById(call.queueId) : null;
    const lines = [
      `Call from ${call.callerNumber ?? 'unknown number'}${call.callerName ? ` (${call.callerName})` : ''}`,
      `Keyed: ${call.digits || '-'}${call.unverified ? ' (unverified)' : ''}`,
      `Route: ${call.route ?? '-'}${call.target ? ` ${call.target}` : ''}${queue ? `, queue ${queue.name}` : ''}${call.reason ? ` — ${call.reason}` : ''}`,
      `Agents rung: ${call.agentsRung.length ? (await Promise.all(call.agentsRung.map(agentLabel))).join(', ') : '-'}`,
      `Answered by: ${await agentLabel(call.answeredBy)}${call.answeredAt ? ` at ${call.answeredAt}` : ''}`,
      `Started ${call.startedAt}, IVR done ${call.ivrDoneAt ?? '-'}, ended ${endedAt ?? '-'}`,
      `Outcome: `,
    ];
    return lines.join('\n');
  }
  const describe = async (call: Call): Promise<string> => `${await describeUpToOutcome(call, call.endedAt)}${call.outcome ?? '-'}`;

  // The call records this process wrote last, of calls not ended: at the end, their article is written
  // with the end in one statement where the store can (PostgreSQL: a round trip less a call).
  const known = new Map<number, Call>();
  const keep = (call: Call): Call => {
    if (call.endedAt !== null) known.delete(call.id);
    else {
      // Calls taken over by another instance never end here: at worst the oldest are forgotten.
      if (known.size >= 10_000) known.delete(known.keys().next().value!);
      known.set(call.id, call);
    }
    return call;
  };
  const kept = async (call: Promise<Call>): Promise<Call> => keep(await call);

  return {
    /** A caller entered the IVR. Idempotent per channel (a recovered channel keeps its record). */
    started: (input: { channelId: string; linkedId?: string | null; callerNumber: string | null; callerName: string | null; language: string | null }) =>
      kept(calls.create({ ...input, startedAt: now(), instance: deps.instance ?? null })),

    findByChannel: (channelId: string) => calls.findByChannel(channelId),

    /** An agent's click-to-dial is placed: recorded as a call out (it ends once its outcome is known). */
    placed: (input: { channelId: string; agentId: number; from: string | null; number: string; ticketId: number | null; queueId: number | null }) =>
      calls.create({ channelId: input.channelId, callerNumber: input.from, callerName: null, language: null, startedAt: now(), direction: 'out', dialledBy: input.agentId, calleeNumber: input.number, ticketId: input.ticketId, queueId: input.queueId }),
    /** A call out's outcome: the number answered, or not. */
    reached: (id: number, answered: boolean) => calls.update(id, answered ? { outcome: 'answered', answeredAt: now() } : { outcome: 'not-reached', endedAt: now() }),

    /** The caller log (see {@link CallStore.log}). */
    log: (agentId: number, filter: CallLogFilter) => calls.log(agentId, filter),
    countLog: (agentId: number, filter: Omit<CallLogFilter, 'limit' | 'offset'>) => calls.countLog(agentId, filter),
    markSeen: (agentId: number, which: { ids: number[] } | 'all') => calls.markSeen(agentId, which === 'all' ? { until: now() } : which),
    /** Calls whose end was not recorded (still running — or ended while Hotline could not see it). */
    open: () => calls.open(),
    findById: (id: number) => calls.findById(id),
    /** Open calls of instances that died (see {@link CallStore.lost}). */
    lost: () => calls.lost(deps.instance ?? '', clock.now().getTime()),
    /** Takes over a call of an instance that died; null when another instance did first. */
    adopt: (call: Call) => (call.instance && deps.instance ? calls.adopt(call.id, call.instance, deps.instance) : Promise.resolve(null)),
    forTicket: (ticketId: number) => calls.forTicket(ticketId),

    digits: (id: number, digits: string) => kept(calls.update(id, { digits })),
    /** The caller left a message, now the article `articleId` (see pbx/voicemail.ts): the call's outcome is `voicemail`. */
    leftVoicemail: (id: number, articleId: number) => kept(calls.update(id, { voicemailArticleId: articleId, outcome: 'voicemail' })),
    /** A call whose instance died in the IVR: the dialplan sent it to the default queue, unverified. */
    recovered: (id: number) => kept(calls.update(id, { reason: 'recovered', unverified: true, outcome: 'fallback', ivrDoneAt: now() })),

    /**
     * A phone ticket made for a call that had none: the call goes on it. Its `call` article is
     * written here if the call has ended already, else when it ends (whichever of the two comes
     * second sees the other's write, so it is written once). False when the call has a ticket.
     */
    async linkTicket(id: number, ticketId: number): Promise<boolean> {
      const call = await calls.linkTicket(id, ticketId);
      if (!call) return false;
      if (call.endedAt) await deps.tickets.addArticle(ticketId, { kind: 'call', from: call.callerNumber, subject: `Call ${call.outcome}`, text: await describe(call) });
      return true;
    },

    /** The route is chosen: recorded (with the digits keyed last, when not written yet), then `call.routed` is delivered (awaited: the screen-pop goes out before Asterisk rings anyone). */
    async routed(id: number, input: { decision: RouteDecision; reason: CallReason; ticket: Ticket | null; latest?: ArticleStart[]; unverified: boolean; digits?: string }): Promise<Call> {
      const { decision, reason, ticket, latest, unverified } = input;
      const call = await kept(calls.update(id, {
        digits: input.digits,
        ticketId: ticket?.id ?? null,
        route: decision.route,
        target: decision.agentTarget ?? decision.queue?.asteriskQueue ?? decision.queue?.dialTarget ?? null,
        queueId: decision.queue?.id ?? null,
        reason,
        unverified,
        outcome: reason === 'operator' ? 'operator' : reason === 'ticket' || reason === 'new-ticket' ? null : 'fallback',
        ivrDoneAt: now(),
      }));
      await events.deliver('call.routed', { call, ticket, latest, agentId: decision.agentId, queue: decision.queue });
      return call;
    },

    async ringing(id: number, agentId: number): Promise<Call> {
      const call = await calls.rang(id, agentId);
      if (!call) throw new NotFoundError(`no call with id ${id}`);
      keep(call);
      events.publish('call.ringing', { call, agentId });
      return call;
    },

    async missed(id: number, agentId: number, status: string): Promise<void> {
      const call = await calls.findById(id);
      if (call) events.publish('call.missed', { call, agentId, status });
    },

    async answered(id: number, agentId: number): Promise<Call> {
      // Answered once: whoever comes second (another leg's event, a repeated one) finds it taken.
      const call = await calls.answeredBy(id, agentId, now());
      if (!call) {
        const taken = await calls.findById(id);
        if (!taken) throw new NotFoundError(`no call with id ${id}`);
        return taken;
      }
      keep(call);
      events.publish('call.answered', { call, agentId });
      // A ticket the caller opened with # is the answering agent's, where they may see its queue.
      if (call.reason === 'new-ticket' && call.ticketId !== null) {
        const ticketId = call.ticketId;
        void (async () => {
          const ticket = await deps.tickets.findById(ticketId);
          if (ticket && ticket.ownerId === null && (await deps.queues.access(agentId, ticket.queueId)) !== null) await deps.tickets.change(ticketId, { ownerId: agentId }, 'system', 'phone');
        })().catch((error: unknown) => deps.onError?.(error, 'giving the ticket opened with # to the agent who answered'));
      }
      return call;
    },

    /** The caller hung up: the record is closed and, where there is a ticket, shown on it as a `call` article. */
    async ended(id: number): Promise<Call | null> {
      const at = now();
      const before = known.get(id);
      known.delete(id);
      if (before && calls.endWithArticle) {
        const done = await calls.endWithArticle(id, at, before, await describeUpToOutcome(before, at));
        if (done) {
          if (done.added) events.publish('article.added', done.added);
          events.publish('call.ended', { call: done.call });
          return done.call;
        }
        // Ended already, or changed since this process wrote it (another process): as below.
      }
      const call = await calls.end(id, at);
      // Ended already (here, or by another instance): its article is written once.
      if (!call) return calls.findById(id);
      if (call.ticketId !== null) {
        await deps.tickets.addArticle(call.ticketId, {
          kind: 'call',
          from: call.callerNumber,
          subject: `Call ${call.outcome}`,
          text: await describe(call),
        });
      }
      events.publish('call.ended', { call });
      return call;
    },
  };
}

export type CallService = ReturnType<typeof createCallService>;
