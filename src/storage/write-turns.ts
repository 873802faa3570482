import type { Database, Statement, Transaction } from 'better-sqlite3';

/**
 * Write turns between the threads of one `hotline serve`, which share the SQLite file (WAL: one
 * writer at a time). SQLite's own waiting is unfair and coarse: a writer that finds the lock taken
 * sleeps 1, 2, 5, 10 … ms and tries again, and a thread that writes often (mail filing a flood:
 * several short transactions a message) takes the lock again and again meanwhile. The call path's
 * writes then sat on the event loop for tens of milliseconds at a time.
 *
 * So inside the process the call path goes first: a background thread (web pages, mail) starts a
 * write only while no call-path write waits or runs, and the call path waits — on an Atomics
 * counter, woken the moment the background write commits — only for a write already under way.
 * Other processes (the CLI, `hotline ingest`, a backup) still meet SQLite's busy timeout.
 */

/** The memory the threads share: [0] call-path writes waiting or under way, [1] background writes under way. */
export const createWriteTurns = (): SharedArrayBuffer => new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);

const CALL_PATH = 0;
const BACKGROUND = 1;
/** The longest the call path waits for a background write before leaving it to SQLite's busy handling. */
const CALL_PATH_WAIT_MS = 100;
/** A background thread looks again after this long even if it was not woken. */
const BACKGROUND_RECHECK_MS = 20;

export type WriteRole = 'call-path' | 'background';

/**
 * Runs a write in the call path's turn without holding the event loop while it waits: where a
 * background write is under way, the wait is `Atomics.waitAsync`, so other calls' events, pops and
 * requests go on meanwhile. The write itself (`write`, synchronous) runs once no background write
 * does; background threads start none while it waits. Elsewhere (no turns taken, or a background
 * thread) it just runs the write.
 */
export type WriteTurn = <T>(write: () => T) => Promise<T>;

export const noWriteTurn: WriteTurn = async (write) => write();

const holders = new WeakMap<Database, () => () => void>();

/** Takes `db`'s write turn until the returned function is called (nothing to take where no turns are taken). */
export function holdWriteTurn(db: Database): () => void {
  return holders.get(db)?.() ?? (() => undefined);
}

/**
 * Makes every write on `db` take its turn: statements that change the database and transactions,
 * prepared from now on (so before the repositories are built). Reads are left alone: WAL readers
 * never wait for writers.
 */
export function takeWriteTurns(db: Database, shared: SharedArrayBuffer, role: WriteRole): WriteTurn {
  const turns = new Int32Array(shared);
  const enter =
    role === 'call-path'
      ? () => {
          Atomics.add(turns, CALL_PATH, 1);
          const until = Date.now() + CALL_PATH_WAIT_MS;
          for (let busy = Atomics.load(turns, BACKGROUND); busy !== 0; busy = Atomics.load(turns, BACKGROUND)) {
            const left = until - Date.now();
            if (left <= 0) break;
            Atomics.wait(turns, BACKGROUND, busy, left);
          }
        }
      : () => {
          for (;;) {
            // Announce first, then look: of two threads doing this at once, at least one sees the other.
            Atomics.add(turns, BACKGROUND, 1);
            if (Atomics.load(turns, CALL_PATH) === 0) return;
            Atomics.sub(turns, BACKGROUND, 1);
            Atomics.notify(turns, BACKGROUND);
            for (let waiting = Atomics.load(turns, CALL_PATH); waiting !== 0; waiting = Atomics.load(turns, CALL_PATH)) Atomics.wait(turns, CALL_PATH, waiting, BACKGROUND_RECHECK_MS);
          }
        };
  const slot = role === 'call-path' ? CALL_PATH : BACKGROUND;
  const leave = () => {
    Atomics.sub(turns, slot, 1);
    Atomics.notify(turns, slot);
  };
  // A statement inside a transaction runs in the transaction's turn.
  let depth = 0;
  // A transaction run step by step (storage/engine.ts: BEGIN, its statements over a few microtasks,
  // COMMIT) holds one turn from its start to its end.
  holders.set(db, () => {
    if (depth++ === 0) enter();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--depth === 0) leave();
    };
  });
  function inTurn<A extends unknown[], R>(fn: (...args: A) => R, self: unknown): (...args: A) => R {
    return (...args: A): R => {
      if (depth++ === 0) enter();
      try {
        return fn.apply(self, args);
      } finally {
        if (--depth === 0) leave();
      }
    };
  }

  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    return statement.readonly ? statement : inTurns(statement);
  }) as typeof db.prepare;

  function inTurns(statement: Statement): Statement {
    const run = inTurn(statement.run, statement);
    const get = inTurn(statement.get, statement);
    const all = inTurn(statement.all, statement);
    const proxy: Statement = new Proxy(statement, {
      get(target, property) {
        if (property === 'run') return run;
        if (property === 'get') return get;
        if (property === 'all') return all;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        // pluck(), raw(), bind() … return the statement itself: hand back the one that takes turns.
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result === target ? proxy : result;
        };
      },
    });
    return proxy;
  }

  const transaction = db.transaction.bind(db);
  db.transaction = (<F extends (...args: never[]) => unknown>(fn: F): Transaction<F> => {
    const plain = transaction(fn);
    const wrapped = inTurn(plain, null) as unknown as Transaction<F>;
    for (const kind of ['deferred', 'immediate', 'exclusive'] as const) (wrapped as unknown as Record<string, unknown>)[kind] = inTurn(plain[kind], null);
    (wrapped as unknown as Record<string, unknown>).default = wrapped;
    return wrapped;
  }) as typeof db.transaction;

  const exec = inTurn(db.exec.bind(db), null);
  db.exec = ((source: string) => {
    exec(source);
    return db;
  }) as typeof db.exec;

  if (role !== 'call-path') return noWriteTurn;
  return async <T>(write: () => T): Promise<T> => {
    // Announced first, as enter() does: from now on no background write starts.
    Atomics.add(turns, CALL_PATH, 1);
    try {
      const until = Date.now() + CALL_PATH_WAIT_MS;
      for (let busy = Atomics.load(turns, BACKGROUND); busy !== 0; busy = Atomics.load(turns, BACKGROUND)) {
        const left = until - Date.now();
        if (left <= 0) break;
        const waiting = Atomics.waitAsync(turns, BACKGROUND, busy, left);
        if (waiting.async) await waiting.value;
      }
      // The statements inside run in this turn (they do not announce themselves again).
      depth++;
      try {
        return write();
      } finally {
        depth--;
      }
    } finally {
      Atomics.sub(turns, CALL_PATH, 1);
      Atomics.notify(turns, CALL_PATH);
    }
  };
}
