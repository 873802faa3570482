import type { LeaseStore } from './ports.js';

export interface LeaseKeeperOptions {
  store: LeaseStore;
  /** This instance (config `instanceId`). */
  holder: string;
  /** The leases to take and keep while this keeper runs. */
  names: string[];
  now?: () => number;
  /** How long a lease lasts without renewal: after that, another instance takes the work over. */
  ttlMs?: number;
  /** How often leases are renewed (and free ones taken). */
  renewMs?: number;
  onError?: (error: unknown) => void;
  /** Told when a lease is won or lost. */
  onChange?: (name: string, held: boolean) => void;
}

/**
 * Keeps leases in the database for the background work of one instance: each piece of work runs only
 * while `held(name)`, so with several instances on one database exactly one does it at a time, and
 * when its holder dies another takes it over within `ttlMs`. A lease whose renewal fails (a locked or
 * unreachable database) counts as held only until it would expire, a little before the others may take it.
 */
export function createLeaseKeeper(options: LeaseKeeperOptions) {
  const { store, holder, names } = options;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 30_000;
  const renewMs = options.renewMs ?? 10_000;
  // Name → until when it is surely ours (its expiry less a margin for clocks and a slow renewal).
  const until = new Map<string, number>();
  const margin = Math.min(5000, ttlMs / 4);
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | null = null;
  let stopped = false;

  const held = (name: string) => (until.get(name) ?? 0) > now();

  async function renewOnce(): Promise<void> {
    for (const name of names) {
      if (stopped) return;
      const before = held(name);
      const at = now();
      try {
        if (await store.take(name, holder, at, at + ttlMs)) until.set(name, at + ttlMs - margin);
        else until.delete(name);
      } catch (error) {
        options.onError?.(error);
      }
      const after = held(name);
      if (after !== before) options.onChange?.(name, after);
    }
  }

  function renew(): Promise<void> {
    renewing ??= renewOnce().finally(() => (renewing = null));
    return renewing;
  }

  return {
    /** Takes what it can at once, then renews every `renewMs`. */
    async start(): Promise<void> {
      await renew();
      timer = setInterval(() => void renew(), renewMs);
      timer.unref();
    },
    held,
    /** Renews now (tests, and after a change that must not wait for the timer). */
    renew,
    /** Stops renewing and gives up what it holds, so another instance takes the work over at once. */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await renewing;
      for (const name of names) {
        if (!until.has(name)) continue;
        until.delete(name);
        await store.release(name, holder).catch((error: unknown) => options.onError?.(error));
      }
    },
  };
}

export type LeaseKeeper = ReturnType<typeof createLeaseKeeper>;
