import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** A numbered, forward-only migration (`NNN-name.sql`). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this version of Hotline, in order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => /^\d+-[\w-]+\.sql$/.test(f))
    .map((f) => ({ version: Number.parseInt(f, 10), name: f, sql: readFileSync(`${dir}/${f}`, 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3… without gaps; found ${m.name} at position ${i + 1}`);
  });
  return migrations;
}

/**
 * Statements with `RETURNING` are read with `.all()` throughout, never `.get()`: `.get()` stops at
 * the first row, before SQLite has finished the statement and committed it, so a commit that fails
 * (a full disk) would hand back a row that was never stored.
 *
 * Opens (creating if needed) the SQLite file, sets the connection's PRAGMAs
 * and brings the schema up to date.
 *
 * @param file a path, or `:memory:` for tests
 */
export function openDatabase(file: string, migrations: Migration[] = loadMigrations(), options: { busyTimeoutMs?: number } = {}): Db {
  if (file !== ':memory:') {
    // Tickets, customers and sessions: readable by the service's user only. SQLite gives the WAL
    // and shared-memory files the database file's permissions.
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(file, 'wx', 0o600));
    } catch (error) {
      // There already: left as it is (a file this user may only read is opened read-only below).
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const db = new Database(file);
  try {
    // The one place the connection is tuned:
    // - WAL lets agents' page loads read while mail or the IVR writes.
    db.pragma('journal_mode = WAL');
    // - synchronous=NORMAL is durable across process crashes in WAL mode (only a power cut can lose the last commits).
    db.pragma('synchronous = NORMAL');
    // - SQLite does not enforce foreign keys unless asked, per connection.
    db.pragma('foreign_keys = ON');
    // - Several processes (service, `hotline ingest` from the MTA, CLI) share the file: wait for a lock
    //   rather than fail — 5 s for the start-up and for the CLI; the service then waits only briefly
    //   (`busyTimeoutMs`): the driver waits on the event loop, where calls must not wait with it.
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    if (options.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies pending migrations, each in its own transaction; refuses a database newer than the code. */
export function migrate(db: Db, migrations: Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length;
  if (current > latest) {
    throw new Error(
      `the database ${db.name} has schema version ${current}, newer than this Hotline knows (${latest}); ` +
        'upgrade Hotline or restore a backup — nothing was changed',
    );
  }
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
