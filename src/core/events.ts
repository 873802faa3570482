import type { Article, Ticket } from './types.js';

/** Domain events, published only after the transaction that caused them has committed. */
export interface DomainEvents {
  'ticket.created': { ticket: Ticket; article: Article };
  'article.added': { ticket: Ticket; article: Article };
  'ticket.changed': { ticket: Ticket; before: Ticket; byAgentId: number | null };
}

export type EventName = keyof DomainEvents;
export type Handler<K extends EventName> = (payload: DomainEvents[K]) => void | Promise<void>;

/** Publish/subscribe between the core and its subscribers (realtime, mail). */
export interface EventBus {
  on<K extends EventName>(name: K, handler: Handler<K>): () => void;
  publish<K extends EventName>(name: K, payload: DomainEvents[K]): void;
}

/**
 * An in-process bus. A failing subscriber is reported through `onError` and never
 * undoes the committed change or stops the other subscribers.
 */
export function createEventBus(onError: (name: string, error: unknown) => void = () => {}): EventBus {
  const handlers = new Map<EventName, Set<Handler<never>>>();
  return {
    on(name, handler) {
      let set = handlers.get(name);
      if (!set) handlers.set(name, (set = new Set()));
      set.add(handler as Handler<never>);
      return () => set.delete(handler as Handler<never>);
    },
    publish(name, payload) {
      for (const handler of handlers.get(name) ?? []) {
        try {
          const result = (handler as Handler<typeof name>)(payload);
          if (result instanceof Promise) result.catch((error) => onError(name, error));
        } catch (error) {
          onError(name, error);
        }
      }
    },
  };
}
