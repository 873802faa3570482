import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Compilable, CompiledQuery, RawBuilder } from 'kysely';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import type { Db } from './database.js';
import type { WriteGuard } from './db-health.js';
import type { Schema } from './schema.js';
import type { WriteTurn } from './write-turns.js';
import { holdWriteTurn } from './write-turns.js';

/**
 * One set of queries for both engines. Repositories build their queries with Kysely — its query
 * builder, or its `sql` template where SQL says it more plainly — in the engine's dialect, and run
 * them here: on SQLite through better-sqlite3's prepared statements (cached by their text, run at
 * once, as before), on PostgreSQL through a node-postgres pool. Kysely only compiles; it executes
 * nothing (`DummyDriver`), so the SQLite side keeps its own write turns, write guard and
 * `BEGIN IMMEDIATE`, which Kysely's own SQLite driver has no place for.
 *
 * Rows look alike on both engines: PostgreSQL's bigint and numeric (counts, sums) come back as
 * numbers and its booleans as 1/0, as SQLite gives them; booleans passed in are stored as 1/0.
 */
export type Dialect = 'sqlite' | 'postgres';

export type Query<R> = Compilable<R> | RawBuilder<R> | CompiledQuery<R>;

export interface Sql {
  readonly dialect: Dialect;
  /** Builds queries in this engine's dialect; it runs none itself. */
  readonly q: Kysely<Schema>;
  all<R>(query: Query<R>): Promise<R[]>;
  first<R>(query: Query<R>): Promise<R | undefined>;
  /** Runs a statement; how many rows it changed (or returned, for one with RETURNING). */
  run(query: Query<unknown>): Promise<number>;
  /**
   * Runs `body` in one transaction: all of it or, when it throws, none. Transactions take turns, as
   * SQLite's `BEGIN IMMEDIATE` makes them (on PostgreSQL an advisory lock held until the commit), so
   * a check and the write that depends on it see no other transaction in between. Inside, use `tx`.
   */
  transaction<T>(body: (tx: Sql) => Promise<T>): Promise<T>;
}

/** A Kysely that builds and compiles queries in `dialect` and runs none. */
export function compilerFor(dialect: Dialect): Kysely<Schema> {
  return new Kysely<Schema>({
    dialect:
      dialect === 'sqlite'
        ? { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() }
        : { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() },
  });
}

const isCompiled = <R>(query: Query<R>): query is CompiledQuery<R> => 'sql' in query && 'parameters' in query;
const isRaw = <R>(query: Query<R>): query is RawBuilder<R> => (query as { isRawBuilder?: boolean }).isRawBuilder === true;

export function compile<R>(q: Kysely<Schema>, query: Query<R>): CompiledQuery<R> {
  if (isCompiled(query)) return query;
  return isRaw(query) ? query.compile(q) : (query as Compilable<R>).compile();
}

const PARAM = Symbol('param');
type ParamSlot = { [PARAM]: string };
const isParam = (value: unknown): value is ParamSlot => typeof value === 'object' && value !== null && PARAM in value;

/** A place for a value in a query built once by {@link prepared}: filled from the values it is run with. */
export const param = <T = never>(name: string): T => ({ [PARAM]: name }) as unknown as T;

/**
 * A query of a fixed shape, built and compiled once, then run with new values for its {@link param}s:
 * for the call path's frequent queries, which otherwise build their Kysely tree and SQL text anew each
 * time (measured on SQLite: about a seventh of the call path's CPU went there and to looking the text up).
 */
export function prepared<R, P extends Record<string, unknown>>(db: Sql, build: (q: Kysely<Schema>) => Query<R>): (values: P) => CompiledQuery<R> {
  const shared = preparedQuery<R, P>(build);
  return (values) => shared(db, values);
}

/** The same for code that runs on several engines or transactions (a module's constant): compiled once per dialect. */
export function preparedQuery<R, P extends Record<string, unknown>>(build: (q: Kysely<Schema>) => Query<R>): (db: Sql, values: P) => CompiledQuery<R> {
  const byDialect = new Map<Dialect, { compiled: CompiledQuery<R>; slots: Array<string | null>; statement: string }>();
  return (db, values) => {
    let done = byDialect.get(db.dialect);
    if (!done) {
      const compiled = compile(db.q, build(db.q));
      // Named by its text: the same name is always the same statement, in every process.
      const statement = `h${createHash('sha1').update(compiled.sql).digest('hex').slice(0, 20)}`;
      done = { compiled, slots: compiled.parameters.map((p) => (isParam(p) ? p[PARAM] : null)), statement };
      byDialect.set(db.dialect, done);
    }
    const { compiled, slots, statement } = done;
    return { ...compiled, parameters: slots.map((name, i) => (name === null ? compiled.parameters[i] : values[name])), [STATEMENT]: statement } as CompiledQuery<R>;
  };
}

const STATEMENT = Symbol('statement');

/**
 * The name of a query built by {@link prepared}: on PostgreSQL it runs as a named statement, parsed
 * once per connection (then only bound and run: measured about half the client's CPU of a query sent
 * with its text each time, and less of the server's).
 */
export const statementName = (query: CompiledQuery<unknown>): string | undefined => (query as { [STATEMENT]?: string })[STATEMENT];

/** A value as both engines store it: booleans as 1/0, undefined as NULL. */
export const bindable = (value: unknown): unknown => (typeof value === 'boolean' ? Number(value) : value === undefined ? null : value);

/** A unique or primary key constraint refused the write, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

export interface SqliteEngineOptions {
  /** Writes outside transactions go through the write guard (fail fast while another process holds the lock, remembered for `/healthz`)… */
  writes?: WriteGuard;
  /** …and take the call path's write turn (see write-turns.ts). */
  turn?: WriteTurn;
}

/**
 * SQLite: statements prepared once per text and run at once. A transaction holds the connection:
 * queries from elsewhere wait until it commits (its body runs in microtasks only, as nothing in it waits for I/O).
 */
export type SqliteEngine = Sql & {
  /** The same engine, its writes outside transactions guarded and taking turns (the call path's). */
  withWrites(options: SqliteEngineOptions): Sql;
};

export function sqliteEngine(db: Db): SqliteEngine {
  const q = compilerFor('sqlite');
  const statements = new Map<string, Statement>();
  const prepare = (text: string): Statement => {
    let statement = statements.get(text);
    if (!statement) statements.set(text, (statement = db.prepare(text)));
    return statement;
  };
  const execute = (statement: Statement, c: CompiledQuery<unknown>): { rows: unknown[]; changes: number } => {
    const params = c.parameters.map(bindable);
    // A statement with RETURNING is read with all(): get() would stop before SQLite commits it (see database.ts).
    if (statement.reader) {
      const rows = statement.all(...params);
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: statement.run(...params).changes };
  };
  let open: Promise<void> | null = null;
  const direct = (guarded: boolean, { writes, turn }: SqliteEngineOptions = {}): Sql => {
    const run = async (query: Query<unknown>) => {
      if (guarded) while (open) await open;
      const c = compile(q, query);
      const statement = prepare(c.sql);
      if (guarded && (writes || turn) && !statement.readonly) {
        const write = () => (writes ? writes.run(() => execute(statement, c)) : execute(statement, c));
        return turn ? turn(write) : write();
      }
      return execute(statement, c);
    };
    const self: Sql = {
      dialect: 'sqlite',
      q,
      all: async <R>(query: Query<R>) => (await run(query)).rows as R[],
      first: async <R>(query: Query<R>) => (await run(query)).rows[0] as R | undefined,
      run: async (query) => (await run(query)).changes,
      async transaction<T>(body: (tx: Sql) => Promise<T>): Promise<T> {
        if (!guarded) return body(self);
        while (open) await open;
        let done!: () => void;
        open = new Promise((resolve) => (done = resolve));
        // The whole transaction in one write turn among the service's threads (write-turns.ts).
        const release = holdWriteTurn(db);
        try {
          if (writes) writes.run(() => db.exec('BEGIN IMMEDIATE'));
          else db.exec('BEGIN IMMEDIATE');
          try {
            const result = await body(inside);
            db.exec('COMMIT');
            return result;
          } catch (error) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw error;
          }
        } finally {
          release();
          open = null;
          done();
        }
      },
    };
    return self;
  };
  const inside = direct(false);
  return Object.assign(direct(true), { withWrites: (options: SqliteEngineOptions) => direct(true, options) });
}

/** `%text%` for {@link contains}, its wildcards taken literally. */
export const likePattern = (text: string): string => `%${text.trim().replace(/[%_\\]/g, '\\$&')}%`;

/** `expression` contains the pattern's text, ignoring case (SQLite's LIKE does for ASCII; PostgreSQL needs ILIKE). */
export const contains = (db: Sql, expression: RawBuilder<unknown>, pattern: string): RawBuilder<boolean> =>
  db.dialect === 'sqlite' ? sql<boolean>`${expression} LIKE ${pattern} ESCAPE '\\'` : sql<boolean>`${expression} ILIKE ${pattern} ESCAPE '\\'`;
