/** What admins see of the limits on ticket numbers keyed on the phone. */
export interface GuessingStatus {
  perCaller: number;
  total: number;
  ticketsPerCaller: number;
  newTicketsPerCaller: number;
  windowMinutes: number;
  failuresInWindow: number;
  /** All callers together are over the limit: no look-ups until the window has passed. */
  totalLimited: boolean;
  limitedCallers: Array<{ caller: string; failures: number; tickets: number; created: number; until: string }>;
}

export interface GuessLimits {
  /** Unknown ticket numbers one caller number may key in the window. */
  perCaller: number;
  /** Unknown ticket numbers all callers together may key in the window. */
  total: number;
  /**
   * Different tickets one caller number may be put through for in the window: with numbers that
   * follow each other (date + counter), guesses are hits, not failures.
   */
  ticketsPerCaller: number;
  /** Tickets one caller number may open with `#` in the window. */
  newTicketsPerCaller: number;
  windowMs: number;
}

export const GUESS_LIMITS: GuessLimits = { perCaller: 5, total: 60, ticketsPerCaller: 3, newTicketsPerCaller: 3, windowMs: 15 * 60 * 1000 };

/**
 * Limits on guessing ticket numbers by phone: unknown numbers keyed per caller number and by all
 * callers together, different tickets reached per caller number, and tickets opened with `#` per
 * caller number, each in a sliding window. In
 * memory, on the call path: a caller over a limit is not looked up (nor is a ticket opened) and goes
 * to the default queue, unverified — a human still answers. Callers without a number share one count.
 */
export function createGuessLimits(now: () => number, limits: Partial<GuessLimits> = {}) {
  const l = { ...GUESS_LIMITS, ...limits };
  const failures = new Map<string, number[]>();
  const created = new Map<string, number[]>();
  /** Tickets found per caller: when each was first found, by ticket id. */
  const found = new Map<string, Map<number, number>>();
  const foundRecently = (k: string, t: number): Map<number, number> => {
    const m = found.get(k) ?? new Map<number, number>();
    for (const [id, at] of m) if (t - at >= l.windowMs) m.delete(id);
    if (m.size) found.set(k, m);
    else found.delete(k);
    return m;
  };
  let all: number[] = [];
  const key = (caller: string | null) => caller || 'anonymous';
  const recent = (list: number[] | undefined, t: number) => (list ?? []).filter((at) => t - at < l.windowMs);
  const prune = (map: Map<string, number[]>, k: string, t: number) => {
    const list = recent(map.get(k), t);
    if (list.length) map.set(k, list);
    else map.delete(k);
    return list;
  };
  const sweep = (t: number) => {
    all = recent(all, t);
    if (failures.size + created.size < 5000) return;
    for (const k of [...failures.keys()]) prune(failures, k, t);
    for (const k of [...created.keys()]) prune(created, k, t);
    for (const k of [...found.keys()]) foundRecently(k, t);
  };

  return {
    /** May this caller have a ticket number looked up now? */
    mayLookUp(caller: string | null): boolean {
      const t = now();
      sweep(t);
      return all.length < l.total && prune(failures, key(caller), t).length < l.perCaller && foundRecently(key(caller), t).size < l.ticketsPerCaller;
    },
    /** A look-up found this ticket. */
    found(caller: string | null, ticketId: number): void {
      const t = now();
      const m = foundRecently(key(caller), t);
      if (!m.has(ticketId)) m.set(ticketId, t);
      found.set(key(caller), m);
    },
    /** A look-up found no ticket. */
    failed(caller: string | null): void {
      const t = now();
      all.push(t);
      failures.set(key(caller), [...prune(failures, key(caller), t), t]);
    },
    /** May this caller open a ticket with `#` now? Counts it when so. */
    mayCreate(caller: string | null): boolean {
      const t = now();
      const list = prune(created, key(caller), t);
      if (list.length >= l.newTicketsPerCaller) return false;
      created.set(key(caller), [...list, t]);
      return true;
    },
    status(): GuessingStatus {
      const t = now();
      sweep(t);
      const callers = new Set([...failures.keys(), ...created.keys(), ...found.keys()]);
      const limitedCallers: GuessingStatus['limitedCallers'] = [];
      for (const caller of callers) {
        const f = prune(failures, caller, t);
        const c = prune(created, caller, t);
        const tickets = [...foundRecently(caller, t).values()].sort((a, b) => a - b);
        const over = [
          f.length >= l.perCaller ? f[f.length - l.perCaller]! : null,
          c.length >= l.newTicketsPerCaller ? c[c.length - l.newTicketsPerCaller]! : null,
          tickets.length >= l.ticketsPerCaller ? tickets[tickets.length - l.ticketsPerCaller]! : null,
        ].filter((x): x is number => x !== null);
        if (over.length) limitedCallers.push({ caller, failures: f.length, tickets: tickets.length, created: c.length, until: new Date(Math.max(...over) + l.windowMs).toISOString() });
      }
      return {
        perCaller: l.perCaller,
        total: l.total,
        ticketsPerCaller: l.ticketsPerCaller,
        newTicketsPerCaller: l.newTicketsPerCaller,
        windowMinutes: Math.round(l.windowMs / 60_000),
        failuresInWindow: all.length,
        totalLimited: all.length >= l.total,
        limitedCallers,
      };
    },
  };
}

export type GuessLimiter = ReturnType<typeof createGuessLimits>;
