import type { ArticleStart } from './ports.js';
import type { Article, Call, ChangeVia, Notice, Queue, Ticket } from './types.js';

/** Domain events, published only after the transaction that caused them has committed. */
export interface DomainEvents {
  'ticket.created': { ticket: Ticket; article: Article };
  'article.added': { ticket: Ticket; article: Article };
  'ticket.changed': { ticket: Ticket; before: Ticket; byAgentId: number | null; via?: ChangeVia };
  /** The IVR chose a route; published before the call is handed back to Asterisk, so before any phone rings. */
  /** `latest`: the ticket's articles for the pop, when read with the ticket (else the pop reads them). */
  'call.routed': { call: Call; ticket: Ticket | null; latest?: ArticleStart[]; agentId: number | null; queue: Queue | null };
  /** An agent's phone rings for the call (owner dialled, or queue member called). */
  'call.ringing': { call: Call; agentId: number };
  /** An agent's phone stopped ringing without answering (busy, no answer, another member answered). */
  'call.missed': { call: Call; agentId: number; status: string };
  'call.answered': { call: Call; agentId: number };
  'call.ended': { call: Call };
  /** Notices were written (in this process): the agents' sockets are told. */
  'notice.created': { notices: Notice[] };
  /** An agent's access may have shrunk (logout, sessions ended, token revoked, deactivated, role or permissions changed): open sockets are checked again. */
  'access.changed': { agentId: number };
}

export type EventName = keyof DomainEvents;
export type Handler<K extends EventName> = (payload: DomainEvents[K]) => void | Promise<void>;

/** Publish/subscribe between the core and its subscribers (realtime, mail). */
export interface EventBus {
  on<K extends EventName>(name: K, handler: Handler<K>): () => void;
  publish<K extends EventName>(name: K, payload: DomainEvents[K]): void;
  /** Publishes and waits for every handler to finish (handlers bound their own waits); failures are reported, not thrown. */
  deliver<K extends EventName>(name: K, payload: DomainEvents[K]): Promise<void>;
  /** Resolves once every handler started so far has finished (a short-lived process waits for this before it closes the database). */
  idle(): Promise<void>;
}

/**
 * An in-process bus. A failing subscriber is reported through `onError` and never
 * undoes the committed change or stops the other subscribers.
 */
export function createEventBus(onError: (name: string, error: unknown) => void = () => {}): EventBus {
  const handlers = new Map<EventName, Set<Handler<never>>>();
  const running = new Set<Promise<void>>();
  return {
    on(name, handler) {
      let set = handlers.get(name);
      if (!set) handlers.set(name, (set = new Set()));
      set.add(handler as Handler<never>);
      return () => set.delete(handler as Handler<never>);
    },
    publish(name, payload) {
      void run(name, payload);
    },
    deliver: (name, payload) => run(name, payload),
    async idle() {
      // Handlers may publish further events: wait until none is left.
      while (running.size) await Promise.all(running);
    },
  };

  async function run<K extends EventName>(name: K, payload: DomainEvents[K]): Promise<void> {
    const pending: Array<Promise<void>> = [];
    for (const handler of handlers.get(name) ?? []) {
      try {
        const result = (handler as Handler<K>)(payload);
        if (result instanceof Promise) pending.push(result.catch((error) => onError(name, error)));
      } catch (error) {
        onError(name, error);
      }
    }
    if (pending.length === 0) return;
    const all = Promise.all(pending).then(() => undefined);
    running.add(all);
    try {
      await all;
    } finally {
      running.delete(all);
    }
  }
}
