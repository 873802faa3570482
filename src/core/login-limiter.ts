/** Logins over the limit: says when to try again. */
export class TooManyAttemptsError extends Error {
  override name = 'TooManyAttemptsError';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many failed logins for this account from your address. Try again in ${waitText(retryAfterSeconds)}.`);
  }
}

const waitText = (seconds: number): string => {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 120 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.ceil(s / 60)} minutes`;
};

export interface LoginLimits {
  /** Failed logins allowed for one login from one address before each further try must wait. */
  perLoginAndAddress: number;
  /** Failed logins allowed from one address (any logins) before each further try must wait. */
  perAddress: number;
  /** The first wait; it doubles with each further failure, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this (since the last one) are forgotten. */
  forgetAfterMs: number;
}

export const LOGIN_LIMITS: LoginLimits = { perLoginAndAddress: 5, perAddress: 20, baseDelayMs: 1000, maxDelayMs: 15 * 60 * 1000, forgetAfterMs: 60 * 60 * 1000 };

interface Entry {
  failures: number;
  /** No try before this moment (ms). */
  notBefore: number;
  lastAt: number;
}

/** One limited pair or address, as admins see it. */
export interface LoginLock {
  key: string;
  kind: 'login' | 'address';
  login: string | null;
  address: string;
  failures: number;
  /** ISO time of the next allowed try, null when one may try now. */
  waitUntil: string | null;
}

/**
 * Failed logins per login+address and per address, counted when the try starts — before the
 * password is checked, in the same turn of the event loop as the check of the limit — so that
 * tries sent in parallel are counted as they come, not after their hashes. Past the allowance, each
 * further try must wait a delay that doubles (1 s, 2 s, 4 s … 15 min): a slow guesser, never a lock
 * someone elsewhere could put on the account's owner (the pair includes the address). A try that
 * turns out right is taken back from the address's count and clears its pair.
 */
export function createLoginLimiter(now: () => number, limits: Partial<LoginLimits> = {}) {
  const l = { ...LOGIN_LIMITS, ...limits };
  const entries = new Map<string, Entry>();
  const pairKey = (login: string, address: string) => `login:${login.toLowerCase()}|${address}`;
  const addressKey = (address: string) => `address:${address}`;

  const live = (key: string, t: number): Entry | undefined => {
    const e = entries.get(key);
    if (e && t - e.lastAt > l.forgetAfterMs) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const delay = (over: number) => Math.min(l.maxDelayMs, l.baseDelayMs * 2 ** Math.min(30, over - 1));
  const count = (key: string, allowed: number, t: number) => {
    const e = live(key, t) ?? { failures: 0, notBefore: 0, lastAt: t };
    e.failures++;
    e.lastAt = t;
    if (e.failures >= allowed) e.notBefore = t + delay(e.failures - allowed + 1);
    entries.set(key, e);
  };
  const sweep = (t: number) => {
    if (entries.size < 10_000) return;
    for (const key of entries.keys()) live(key, t);
  };

  return {
    /**
     * Starts a try: throws TooManyAttemptsError when it must wait, else counts it as failed until
     * `succeeded` says otherwise. Synchronous on purpose: nothing can come between check and count.
     */
    begin(login: string, address: string): { succeeded(): void } {
      const t = now();
      sweep(t);
      const keys: Array<[string, number]> = [
        [pairKey(login, address), l.perLoginAndAddress],
        [addressKey(address), l.perAddress],
      ];
      const wait = Math.max(0, ...keys.map(([k]) => (live(k, t)?.notBefore ?? 0) - t));
      if (wait > 0) throw new TooManyAttemptsError(wait / 1000);
      for (const [k, allowed] of keys) count(k, allowed, t);
      return {
        succeeded() {
          entries.delete(keys[0]![0]);
          const a = entries.get(keys[1]![0]);
          if (a) {
            a.failures = Math.max(0, a.failures - 1);
            if (a.failures < l.perAddress) a.notBefore = 0;
            if (a.failures === 0) entries.delete(keys[1]![0]);
          }
        },
      };
    },
    /** Pairs and addresses with failures on record, most failures first. */
    list(): LoginLock[] {
      const t = now();
      const out: LoginLock[] = [];
      for (const [key, e] of entries) {
        if (!live(key, t)) continue;
        const pair = /^login:(.*)\|(.*)$/.exec(key);
        out.push({
          key,
          kind: pair ? 'login' : 'address',
          login: pair ? pair[1]! : null,
          address: pair ? pair[2]! : key.slice('address:'.length),
          failures: e.failures,
          waitUntil: e.notBefore > t ? new Date(e.notBefore).toISOString() : null,
        });
      }
      return out.sort((a, b) => b.failures - a.failures);
    },
    /** Clears one entry (`key` from `list`), or every entry of a login name; returns how many. */
    clear(which: { key: string } | { login: string }): number {
      if ('key' in which) return entries.delete(which.key) ? 1 : 0;
      let n = 0;
      const prefix = `login:${which.login.toLowerCase()}|`;
      for (const key of [...entries.keys()]) if (key.startsWith(prefix) && entries.delete(key)) n++;
      return n;
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
