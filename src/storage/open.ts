import { mkdirSync } from 'node:fs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Db } from './database.js';
import { openDatabase } from './database.js';
import { createWriteGuard, databaseProblems } from './db-health.js';
import type { Sql } from './engine.js';
import { sqliteEngine } from './engine.js';
import type { Durability } from './mail-repository.js';
import { openPostgres } from './postgres.js';
import type { ChangeFeed } from './change-feed.js';
import { listenForChanges, noChangeFeed } from './change-feed.js';
import { walSync } from './wal-sync.js';
import type { WriteRole } from './write-turns.js';
import { noWriteTurn, takeWriteTurns } from './write-turns.js';

/** The database a Hotline runs on: the SQLite file (the embedded default) or PostgreSQL (`databaseUrl`). */
export interface Storage {
  engine: 'sqlite' | 'postgres';
  /** Where, for the log: the file, or PostgreSQL's host and database (no password). */
  where: string;
  /** What every repository runs its queries on. */
  sql: Sql;
  /** The same, for the call path's writes (on SQLite: guarded, and first in the write turns). */
  callPath: Sql;
  /** Whether agents, queues, permissions and settings kept in memory are current (PostgreSQL's NOTIFY; none on SQLite). */
  changes: ChangeFeed;
  /** What makes a stored mail durable before its sender is told. */
  durability: Durability;
  /** The SQLite connection (its write turns, tests); null on PostgreSQL. */
  db: Db | null;
  /** What keeps the database from being written, in words; empty when it can be. Synchronous: the call path asks it. */
  problems(): string[];
  close(): Promise<void>;
}

export interface StorageOptions {
  busyTimeoutMs?: number;
  writeTurns?: { shared: SharedArrayBuffer; role: WriteRole };
  log: Logger;
}

/** How often PostgreSQL's health is looked at (the call path reads the last answer, never waits for one). */
const PG_PROBE_MS = 2000;
/** The call path's deadlines on PostgreSQL: for a query, and for a connection. */
const CALL_PATH_QUERY_MS = 1000;
const CALL_PATH_CONNECT_MS = 1000;
/** A probe not answered within this long counts as a problem (the server is stuck or unreachable). */
const PG_PROBE_DEADLINE_MS = 1500;

export async function openStorage(config: Config, options: StorageOptions): Promise<Storage> {
  return config.databaseUrl ? openPostgresStorage(config.databaseUrl, options) : openSqliteStorage(config, options);
}

function openSqliteStorage(config: Config, options: StorageOptions): Storage {
  // The data folder may be entered but not listed by others: Asterisk must reach the prompts in it
  // (prompts/ is world-readable audio), while the database and the outbox inside are the service's own.
  if (config.database !== ':memory:') mkdirSync(config.dataDir, { recursive: true, mode: 0o711 });
  const db = openDatabase(config.database, undefined, { busyTimeoutMs: options.busyTimeoutMs });
  const turn = options.writeTurns ? takeWriteTurns(db, options.writeTurns.shared, options.writeTurns.role) : noWriteTurn;
  const writes = createWriteGuard();
  const sql = sqliteEngine(db);
  return {
    engine: 'sqlite',
    where: config.database,
    sql,
    callPath: sql.withWrites({ writes, turn }),
    changes: noChangeFeed,
    durability: walSync(db),
    db,
    problems: () => databaseProblems(db, writes),
    async close() {
      if (db.open) db.close();
    },
  };
}

async function openPostgresStorage(url: string, options: StorageOptions): Promise<Storage> {
  const parsed = new URL(url);
  // `?host=/run/postgresql` (a Unix socket's folder) and `?port=` stand above the URL's host and port, as for libpq.
  const host = parsed.searchParams.get('host') ?? parsed.hostname;
  const where = `PostgreSQL ${host}:${parsed.searchParams.get('port') ?? (parsed.port || 5432)}${parsed.pathname}`;
  const onError = (error: Error) => options.log.warn({ err: error.message }, 'a PostgreSQL connection failed; the pool opens another');
  const engine = await openPostgres(url, { onError });
  // The call path's own few connections, with short deadlines: a server that hangs or is gone costs a
  // caller about a second (then the default queue), never the dialplan guard's wait, and pages and
  // mail, however busy, cannot take the connections calls need.
  const callPath = await openPostgres(url, { max: 4, queryTimeoutMs: CALL_PATH_QUERY_MS, connectTimeoutMs: CALL_PATH_CONNECT_MS, migrate: false, onError });
  const changes = listenForChanges(url, options.log);
  let problems: string[] = [];
  let probing = false;
  const probe = async () => {
    if (probing) return;
    probing = true;
    let deadline: NodeJS.Timeout | undefined;
    try {
      const row = await Promise.race([
        engine.pool.query<{ writable: number }>("SELECT (NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off')::int AS writable"),
        new Promise<never>((_, reject) => (deadline = setTimeout(() => reject(new Error(`no answer within ${PG_PROBE_DEADLINE_MS} ms`)), PG_PROBE_DEADLINE_MS))),
      ]);
      problems = row.rows[0]?.writable === 1 ? [] : ['read-only: the PostgreSQL server takes no writes (a standby, or read-only by setting)'];
    } catch (error) {
      // Unreachable is unreadable: the pages cannot work (/healthz says error); calls are still routed.
      problems = [`cannot be read: PostgreSQL does not answer (${(error as Error).message})`];
    } finally {
      clearTimeout(deadline);
      probing = false;
    }
  };
  await probe();
  let closing: Promise<void> | undefined;
  const timer = setInterval(() => void probe(), PG_PROBE_MS);
  timer.unref();
  return {
    engine: 'postgres',
    where,
    sql: engine,
    callPath,
    changes,
    durability: { sync: async () => undefined, close: async () => undefined },
    db: null,
    problems: () => problems,
    // Once, however many of its users ask (a test's dispose and the service's stop, say).
    close() {
      clearInterval(timer);
      closing ??= Promise.all([changes.close(), engine.close(), callPath.close()]).then(() => undefined);
      return closing;
    },
  };
}
