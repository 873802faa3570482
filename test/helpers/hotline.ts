import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Hotline } from '../../src/app.js';
import { createHotline } from '../../src/app.js';
import type { ConfigInput } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/core/ticket-service.js';
import type { Postgres } from './postgres.js';
import { startPostgres } from './postgres.js';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'hotline-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clock that stays where it is set. */
export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (next) => (now = new Date(next)) };
}

/** With HOTLINE_TEST_POSTGRES=1, one PostgreSQL 15 per test worker, started when first asked for. */
let postgres: Promise<Postgres> | undefined;
const onPostgres = process.env.HOTLINE_TEST_POSTGRES === '1';

/**
 * A Hotline on a real SQLite file in a temporary folder; `close()` removes it. With
 * HOTLINE_TEST_POSTGRES=1 it runs on a new PostgreSQL database instead (tests that look at the SQLite
 * file itself then fail: a way to try the suite on PostgreSQL, not part of `npm test`).
 */
export async function testHotline(options: { clock?: Clock; config?: ConfigInput; busyTimeoutMs?: number } = {}): Promise<Hotline & { dir: string; dispose(): void }> {
  const { dir, cleanup } = tempDir();
  if (onPostgres && !postgres) {
    postgres = startPostgres();
    // The worker's server goes when the worker does (a fast shutdown; its temp folder stays).
    void postgres.then((server) => process.once('exit', () => process.kill(server.pid, 'SIGINT')));
  }
  const databaseUrl = onPostgres && !options.config?.databaseUrl ? await (await postgres!).createDatabase() : undefined;
  const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent', timeZone: 'UTC', ...(databaseUrl ? { databaseUrl } : {}), ...options.config } });
  const hotline = await createHotline(config, { clock: options.clock, log: pino({ level: 'silent' }), busyTimeoutMs: options.busyTimeoutMs });
  return {
    ...hotline,
    dir,
    dispose() {
      hotline.close();
      cleanup();
    },
  };
}

let counter = 0;
/** Test data with overrides: a queue, an agent with access, a customer. */
export async function seed(hotline: Hotline) {
  const n = ++counter;
  const queue = await hotline.directory.createQueue({ name: `Support ${n}`, email: `support${n}@example.com`, dialTarget: 'Local/support@queues', asteriskQueue: 'support' });
  const other = await hotline.directory.createQueue({ name: `Billing ${n}`, asteriskQueue: 'billing' });
  const { agent } = await hotline.agents.create({ login: `alice${n}`, name: 'Alice', role: 'agent', password: 'correct horse', dialString: 'PJSIP/201' });
  await hotline.directory.setAccess(agent.id, queue.id, 'rw');
  const customer = await hotline.directory.createCustomer({ name: 'Carol Customer', emails: [`carol${n}@example.org`], phones: ['+49 171 2345678'] });
  return { queue, other, agent, customer };
}
