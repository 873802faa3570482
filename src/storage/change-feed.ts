import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * Whether what a process keeps in memory of agents, queues, permissions and settings is still what
 * the database holds: `generation()` moves whenever they may have changed anywhere, and is null while
 * nobody can tell (then nothing may be kept). Read by the caches in cached-stores.ts.
 */
export interface ChangeFeed {
  generation(): number | null;
  /** This process changed them: what it keeps is dropped at once (the database's word comes later). */
  bump(): void;
  close(): Promise<void>;
}

/** The SQLite file: nothing is kept in memory (a read there costs a function call, not a round trip). */
export const noChangeFeed: ChangeFeed = { generation: () => null, bump: () => undefined, close: async () => undefined };

/** How long a lost LISTEN connection waits before the next try, at most. */
const RECONNECT_MAX_MS = 10_000;

/**
 * PostgreSQL's `NOTIFY hotline_directory`, sent by triggers at the commit of every change to agents,
 * queues, permissions or settings (migration 022), on a connection of its own that only listens.
 * While that connection is down the generation is null — every read goes to the database — and a new
 * connection starts a new generation, so that nothing kept from before the gap is believed.
 */
export function listenForChanges(url: string, log: Logger): ChangeFeed {
  let generation: number | null = null;
  let counter = 0;
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const lost = (c: pg.Client, error?: Error) => {
    if (client !== c) return;
    client = null;
    generation = null;
    void c.end().catch(() => undefined);
    if (closed) return;
    const delay = Math.min(RECONNECT_MAX_MS, 250 * 2 ** failures++);
    log.warn({ err: error?.message, retryInMs: delay }, 'the PostgreSQL change feed is down: agents, queues and settings are read from the database each time until it is back');
    retry = setTimeout(connect, delay);
  };

  function connect(): void {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 5000 });
    client = c;
    c.on('notification', () => {
      if (generation !== null) generation = ++counter;
    });
    c.on('error', (error) => lost(c, error));
    c.on('end', () => lost(c));
    c.connect()
      .then(() => c.query('LISTEN hotline_directory'))
      .then(() => {
        if (client !== c) return;
        failures = 0;
        generation = ++counter;
      })
      .catch((error: Error) => lost(c, error));
  }
  connect();

  return {
    generation: () => generation,
    bump() {
      if (generation !== null) generation = ++counter;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      generation = null;
      await c?.end().catch(() => undefined);
    },
  };
}
