import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { CompiledQuery } from 'kysely';
import type { Query, Sql } from './engine.js';
import { bindable, compile, compilerFor, statementName } from './engine.js';
import { loadMigrations } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/postgres/', import.meta.url));

/** bigint and numeric (counts, sums, ms times) as numbers, booleans as 1/0: rows as SQLite gives them. */
const PARSERS: Record<number, (value: string) => unknown> = { 20: Number, 1700: Number, 16: (value) => (value === 't' ? 1 : 0) };
const types = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => PARSERS[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser };

// Transactions take turns on this advisory lock (see Sql.transaction); migrations on the one below.
const WRITE_LOCK = 0x486f746c; // "Hotl"
const MIGRATION_LOCK = 0x486f7469; // "Hoti"

/** A PostgreSQL migration: a `baseline` is the whole schema at its version, for a database still empty. */
interface PgMigration {
  version: number;
  name: string;
  baseline: boolean;
  sql: string;
}

export function loadPostgresMigrations(dir = MIGRATIONS_DIR): PgMigration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+-[\w-]+\.sql$/.test(f))
    .map((f) => ({ version: Number.parseInt(f, 10), name: f, baseline: /-baseline\.sql$/.test(f), sql: readFileSync(`${dir}/${f}`, 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Brings the schema up to the version this Hotline knows — the same number as the SQLite file's
 * (`user_version`): every migration exists in both forms. All in one transaction under an advisory
 * lock: instances starting together wait for the first, then find the schema current.
 */
export async function migratePostgres(pool: pg.Pool, migrations = loadPostgresMigrations(), latest = loadMigrations().length): Promise<number> {
  const newest = migrations.at(-1)?.version ?? 0;
  if (newest !== latest) throw new Error(`PostgreSQL migrations reach version ${newest}, SQLite's ${latest}: every migration needs both forms`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const current = ((await client.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]?.version ?? 0) as number;
    if (current > latest) {
      throw new Error(`the database has schema version ${current}, newer than this Hotline knows (${latest}); upgrade Hotline or restore a backup — nothing was changed`);
    }
    let version = current;
    if (version === 0) {
      const baseline = migrations.filter((m) => m.baseline).at(-1);
      if (!baseline) throw new Error('no PostgreSQL baseline schema');
      await client.query(baseline.sql);
      version = baseline.version;
    }
    for (const m of migrations.filter((x) => x.version > version && !x.baseline)) {
      await client.query(m.sql);
      version = m.version;
    }
    await client.query('DELETE FROM schema_version');
    await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export type PostgresEngine = Sql & {
  readonly pool: pg.Pool;
  close(): Promise<void>;
};

/**
 * Opens a pool on `url`, brings the schema up to date and returns the engine. A connection that
 * fails later is the pool's to replace; an idle client's error is logged by `onError`, not thrown.
 */
export async function openPostgres(url: string, options: PoolOptions = {}): Promise<PostgresEngine> {
  const pool = postgresPool(url, options);
  try {
    if (options.migrate !== false) await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return postgresEngine(pool);
}

export interface PoolOptions {
  max?: number;
  /** A query not answered within this long fails (the client gives up; the server stops it too). Default 30 s. */
  queryTimeoutMs?: number;
  /** No connection within this long: the query fails. Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * How long a connection may sit idle before it is closed (default 5 minutes). pg's own default, 10 s,
   * made the first calls after a quiet spell open new connections — each a new server process, its
   * start and the statements parsed again — on the call path.
   */
  idleMs?: number;
  /** Bring the schema up to date first (default); false for a second pool on a database already migrated. */
  migrate?: boolean;
  onError?: (error: Error) => void;
}

function postgresPool(url: string, options: PoolOptions): pg.Pool {
  const queryTimeoutMs = options.queryTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    idleTimeoutMillis: options.idleMs ?? 300_000,
    types,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // The client's deadline, and the server's a little sooner, so that a stuck query is stopped there too.
    query_timeout: queryTimeoutMs,
    statement_timeout: Math.max(100, queryTimeoutMs - 100),
  });
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

export function postgresEngine(pool: pg.Pool): PostgresEngine {
  const q = compilerFor('postgres');
  const unnamed = new Set<string>();
  const on = (client: pg.Pool | pg.PoolClient): Sql => {
    const run = async (query: Query<unknown>) => {
      const c: CompiledQuery<unknown> = compile(q, query);
      const values = c.parameters.map(bindable);
      const name = statementName(c);
      if (!name || unnamed.has(name)) return client.query({ text: c.sql, values });
      try {
        return await client.query({ name, text: c.sql, values });
      } catch (error) {
        // A table this statement reads changed shape since a connection parsed it (another instance
        // migrated the schema: "cached plan must not change result type"). It runs with its text from
        // now on; the next start names it again.
        if ((error as { code?: string }).code !== '0A000') throw error;
        unnamed.add(name);
        return client.query({ text: c.sql, values });
      }
    };
    const self: Sql = {
      dialect: 'postgres',
      q,
      all: async <R>(query: Query<R>) => (await run(query)).rows as R[],
      first: async <R>(query: Query<R>) => (await run(query)).rows[0] as R | undefined,
      run: async (query) => (await run(query)).rowCount ?? 0,
      async transaction<T>(body: (tx: Sql) => Promise<T>): Promise<T> {
        if (client !== pool) return body(self);
        const tx = await pool.connect();
        let broken = false;
        try {
          await tx.query('BEGIN');
          await tx.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
          const result = await body(on(tx));
          await tx.query('COMMIT');
          return result;
        } catch (error) {
          // A connection that cannot even roll back is closed rather than handed to the next transaction.
          await tx.query('ROLLBACK').catch(() => (broken = true));
          throw error;
        } finally {
          tx.release(broken);
        }
      },
    };
    return self;
  };
  return Object.assign(on(pool), { pool, close: () => pool.end() });
}
