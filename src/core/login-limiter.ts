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

export interface Entry {
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
 * Where the counts live: in memory (one process), or in the database (src/storage/login-failure-repository.ts),
 * where every process and instance on it counts together and a restart forgets nothing. `atomically`
 * runs a check and its count with nothing of another process's between them.
 */
/** Reads and writes of the counts. */
export interface LoginFailureOps {
  get(key: string): Promise<Entry | undefined>;
  set(key: string, entry: Entry): Promise<void>;
  delete(key: string): Promise<boolean>;
}

/**
 * Where the counts live: in memory (one process), or in the database (src/storage/login-failure-repository.ts),
 * where every process and instance on it counts together and a restart forgets nothing.
 */
export interface LoginFailureStore extends LoginFailureOps {
  /** Every entry (for the admins' list). */
  all(): Promise<Array<[string, Entry]>>;
  /** Drops entries whose last failure is older than `before` (ms). */
  prune(before: number): Promise<void>;
  /** Runs a check and its count with no other try's reads or writes between them (a transaction in the database). */
  atomically<T>(fn: (ops: LoginFailureOps) => Promise<T>): Promise<T>;
}

/** The counts in this process's memory; tries take turns. */
export function memoryLoginFailures(): LoginFailureStore {
  const entries = new Map<string, Entry>();
  let turn: Promise<unknown> = Promise.resolve();
  const ops: LoginFailureOps = {
    get: async (key) => entries.get(key),
    set: async (key, entry) => void entries.set(key, entry),
    delete: async (key) => entries.delete(key),
  };
  return {
    ...ops,
    all: async () => [...entries],
    async prune(before) {
      for (const [key, e] of entries) if (e.lastAt < before) entries.delete(key);
    },
    atomically<T>(fn: (o: LoginFailureOps) => Promise<T>): Promise<T> {
      const run = turn.then(() => fn(ops));
      turn = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * Failed logins per login+address and per address, counted when the try starts — before the
 * password is checked, in one step with the check of the limit — so that tries sent in parallel
 * (to one process or to several instances) are counted as they come, not after their hashes. Past
 * the allowance, each further try must wait a delay that doubles (1 s, 2 s, 4 s … 15 min): a slow
 * guesser, never a lock someone elsewhere could put on the account's owner (the pair includes the
 * address). A try that turns out right is taken back from the address's count and clears its pair.
 */
export function createLoginLimiter(now: () => number, limits: Partial<LoginLimits> = {}, store: LoginFailureStore = memoryLoginFailures()) {
  const l = { ...LOGIN_LIMITS, ...limits };
  const pairKey = (login: string, address: string) => `login:${login.toLowerCase()}|${address}`;
  const addressKey = (address: string) => `address:${address}`;
  let prunedAt = -Infinity;

  const live = async (ops: LoginFailureOps, key: string, t: number): Promise<Entry | undefined> => {
    const e = await ops.get(key);
    if (e && t - e.lastAt > l.forgetAfterMs) {
      await ops.delete(key);
      return undefined;
    }
    return e;
  };
  const delay = (over: number) => Math.min(l.maxDelayMs, l.baseDelayMs * 2 ** Math.min(30, over - 1));
  const count = async (ops: LoginFailureOps, key: string, allowed: number, t: number) => {
    const e = (await live(ops, key, t)) ?? { failures: 0, notBefore: 0, lastAt: t };
    e.failures++;
    e.lastAt = t;
    if (e.failures >= allowed) e.notBefore = t + delay(e.failures - allowed + 1);
    await ops.set(key, e);
  };

  return {
    /**
     * Starts a try: throws TooManyAttemptsError when it must wait, else counts it as failed until
     * `succeeded` says otherwise. Check and count are one step (`atomically`): nothing comes between them.
     */
    async begin(login: string, address: string): Promise<{ succeeded(): Promise<void> }> {
      const t = now();
      if (t - prunedAt > 60_000) {
        prunedAt = t;
        await store.prune(t - l.forgetAfterMs);
      }
      const keys: Array<[string, number]> = [
        [pairKey(login, address), l.perLoginAndAddress],
        [addressKey(address), l.perAddress],
      ];
      await store.atomically(async (ops) => {
        let wait = 0;
        for (const [k] of keys) wait = Math.max(wait, ((await live(ops, k, t))?.notBefore ?? 0) - t);
        if (wait > 0) throw new TooManyAttemptsError(wait / 1000);
        for (const [k, allowed] of keys) await count(ops, k, allowed, t);
      });
      return {
        succeeded: () =>
          store.atomically(async (ops) => {
            await ops.delete(keys[0]![0]);
            const a = await ops.get(keys[1]![0]);
            if (!a) return;
            a.failures = Math.max(0, a.failures - 1);
            if (a.failures < l.perAddress) a.notBefore = 0;
            if (a.failures === 0) await ops.delete(keys[1]![0]);
            else await ops.set(keys[1]![0], a);
          }),
      };
    },
    /** Pairs and addresses with failures on record, most failures first. */
    async list(): Promise<LoginLock[]> {
      const t = now();
      const out: LoginLock[] = [];
      for (const [key, e] of await store.all()) {
        if (t - e.lastAt > l.forgetAfterMs) continue;
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
    async clear(which: { key: string } | { login: string }): Promise<number> {
      if ('key' in which) return (await store.delete(which.key)) ? 1 : 0;
      let n = 0;
      const prefix = `login:${which.login.toLowerCase()}|`;
      for (const [key] of await store.all()) if (key.startsWith(prefix) && (await store.delete(key))) n++;
      return n;
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
