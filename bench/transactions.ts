// `npm run bench:transactions` (#19): what the one write lock costs as instances are added. Writes of
// several statements (a ticket and its first article, a mail filed with its auto-reply) run in a
// transaction that takes turns with every other such transaction — SQLite's BEGIN IMMEDIATE, and on
// PostgreSQL an advisory lock (src/storage/postgres.ts) that keeps the same guarantees for the same
// queries. Single statements (a call's record, a lease, a claim) do not take it. Here: tickets created
// (with their first article and history) for a few seconds by 1, 4 and 16 writers at once on PostgreSQL,
// each writer with connections of its own as an instance's would be; and by one on the SQLite file.
import pino from 'pino';
import { createHotline } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { tempDir } from '../test/helpers/hotline.js';
import { startPostgres } from '../test/helpers/postgres.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const log = pino({ level: 'silent' });

async function measure(engine: 'sqlite' | 'postgres', writers: number, databaseUrl: string) {
  const { dir, cleanup } = tempDir('hotline-bench-tx-');
  // One Hotline per writer (its own connections), all on one database; the first makes the queue.
  const hotlines = [];
  for (let i = 0; i < writers; i++) hotlines.push(await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, databaseUrl, logLevel: 'silent' } }), { log }));
  const queue = (await hotlines[0]!.directory.defaultQueue()) ?? (await hotlines[0]!.directory.createQueue({ name: 'Raw', isDefault: true }));
  const times: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    hotlines.map(async (h) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await h.tickets.create({ queueId: queue.id, title: 'bench', article: { kind: 'note', text: 'bench' } });
        times.push(performance.now() - t0);
      }
    }),
  );
  for (const h of hotlines) await h.close();
  cleanup();
  times.sort((a, b) => a - b);
  const p = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  console.log(`${engine.padEnd(8)} ${String(writers).padStart(2)} writers: ${(times.length / SECONDS).toFixed(0).padStart(5)} tickets/s, each p50 ${p(0.5).toFixed(1)} p99 ${p(0.99).toFixed(1)} ms`);
  return times.length / SECONDS;
}

const postgres = await startPostgres();
try {
  // The SQLite file: one writer (several connections in one thread would wait for each other's locks on
  // the thread they all need; the service has one connection per thread, and SQLite is for one machine).
  await measure('sqlite', 1, '');
  for (const writers of [1, 4, 16]) await measure('postgres', writers, await postgres.createDatabase());
} finally {
  await postgres.stop();
}
