import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './hotline.js';
import { freePort } from './ports.js';
import { untilReady } from './spawn-ready.js';

const BIN = '/usr/lib/postgresql/15/bin';

/** Whether Debian's PostgreSQL 15 server is here (`.ci/run` installs it). */
export const postgresAvailable = (): boolean => existsSync(join(BIN, 'postgres'));

/** PostgreSQL refuses to run as root: a root test run starts it as the `postgres` user (or `nobody`). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      return { uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })) };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

export interface Postgres {
  /** The server's maintenance database, as the superuser `hotline`. */
  url: string;
  /** The postmaster's process id (its backends are its children). */
  pid: number;
  /** A new, empty database on this server; its URL. */
  createDatabase(): Promise<string>;
  /** The same database over the server's Unix socket (as a PostgreSQL on the same machine is reached) instead of loopback TCP. */
  overSocket(databaseUrl: string): string;
  /** Every server process stopped where it is (SIGSTOP): connections stay open, nothing answers — a hung server. */
  freeze(): void;
  /** …and running again (SIGCONT). */
  thaw(): void;
  stop(): Promise<void>;
}

let databases = 0;

/**
 * A PostgreSQL 15 for one test file: started before its tests where Debian's server is installed (else
 * `absent` is printed), stopped after them. The getter gives undefined where there is none.
 */
export function postgresForFile(absent: string, options: { when?: boolean } = {}): () => Postgres | undefined {
  let server: Postgres | undefined;
  beforeAll(async () => {
    if (options.when === false) return;
    if (postgresAvailable()) server = await startPostgres();
    else console.warn(absent);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => server;
}

/**
 * A throw-away PostgreSQL 15 cluster in a temp dir on a free loopback port (trust authentication,
 * no fsync: nothing here must outlive the test run). Started when the log says it accepts connections.
 */
export async function startPostgres(): Promise<Postgres> {
  if (!postgresAvailable()) throw new Error(`${BIN}/postgres is missing: apt-get install postgresql-15 (.ci/run does)`);
  const { dir, cleanup } = tempDir('hl-pg-');
  const user = serverUser();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const spawnOptions = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C.UTF-8' } };
  execFileSync(join(BIN, 'initdb'), ['-D', data, '-U', 'hotline', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...spawnOptions, stdio: 'pipe' });
  const port = await freePort();
  const child = spawn(
    join(BIN, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { exited } = await untilReady(child, /database system is ready to accept connections/, 'postgres');
  const url = `postgres://hotline@127.0.0.1:${port}/postgres`;
  // The postmaster and its children (one backend per connection, the writers): found afresh each time.
  const signalAll = (signal: NodeJS.Signals) => {
    let children: number[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    } catch {
      // none
    }
    for (const pid of [child.pid!, ...children]) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile
      }
    }
  };
  return {
    url,
    pid: child.pid!,
    overSocket: (databaseUrl: string) => {
      const u = new URL(databaseUrl);
      return `postgres://${u.username}@localhost/${u.pathname.slice(1)}?host=${encodeURIComponent(dir)}&port=${port}`;
    },
    async createDatabase() {
      const name = `hl_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://hotline@127.0.0.1:${port}/${name}`;
    },
    freeze() {
      signalAll('SIGSTOP');
    },
    thaw() {
      signalAll('SIGCONT');
    },
    async stop() {
      signalAll('SIGCONT');
      // Fast shutdown: open connections are closed, nothing waits for clients.
      child.kill('SIGINT');
      await exited;
      cleanup();
    },
  };
}
