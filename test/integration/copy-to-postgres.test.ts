import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/hotline.js';
import { postgresAvailable, startPostgres } from '../helpers/postgres.js';
import type { Postgres } from '../helpers/postgres.js';
import { BIN } from '../helpers/serve.js';

const exec = promisify(execFile);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

if (!postgresAvailable()) console.warn('copy-to-postgres: SKIPPED — postgresql-15 is missing (apt-get install postgresql-15; .ci/run installs it)');

/** The real `hotline` binary in `dir`; never rejects. */
async function hotline(dir: string, args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH, HOTLINE_DATA_DIR: dir } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const open = (dir: string, databaseUrl = '') => createHotline(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, databaseUrl, timeZone: 'UTC' } }), { log: pino({ level: 'silent' }) });

describe('hotline copy-to-postgres', () => {
  it.runIf(postgresAvailable())('moves a helpdesk from its SQLite file into PostgreSQL whole, and refuses a database in use', async () => {
    const { dir, cleanup } = tempDir('hotline-copy-');
    cleanups.push(cleanup);
    const postgres: Postgres = await startPostgres();
    cleanups.push(() => postgres.stop());

    // A helpdesk on SQLite: agents, queues with access, a customer, tickets with articles, a file, a
    // ticket linked to a later one, a call, a token, and the TTN counter.
    const before = await open(dir);
    const support = await before.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
    const billing = await before.directory.createQueue({ name: 'Billing', email: 'billing@hotline.example' });
    const { agent: anna } = await before.agents.create({ login: 'anna', name: 'Anna', role: 'agent', password: 'correct horse 1' });
    await before.directory.setAccess(anna.id, billing.id, 'rw');
    const carla = (await before.directory.findOrCreateCustomer({ email: 'carla@customer.example', phone: '0301234567', name: 'Carla' }))!;
    const first = await before.tickets.create({ queueId: billing.id, title: 'Toner', ownerId: anna.id, customerId: carla.id, article: { kind: 'email-in', from: 'carla@customer.example', subject: 'Toner', text: 'Empty again.' } });
    const later = await before.tickets.create({ queueId: billing.id, title: 'Toner, again', article: { kind: 'note', text: 'Same as before.' } });
    await before.tickets.change(first.ticket.id, { linkedTicketId: later.ticket.id, state: 'open' });
    const file = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const attached = await before.tickets.attach(first.article.id, { filename: 'scan.bin', contentType: 'application/octet-stream', content: file });
    const call = await before.calls.started({ channelId: 'ch-1', callerNumber: '0301234567', callerName: 'Carla', language: 'en' });
    await before.calls.linkTicket(call.id, first.ticket.id);
    await before.calls.ended(call.id);
    const token = await before.auth.createApiToken(anna.id, 'copy');
    const byState = (rows: Array<{ queueId: number; state: string; count: number }>) => [...rows].sort((a, b) => a.queueId - b.queueId || a.state.localeCompare(b.state));
    const counts = byState(await before.tickets.countVisible(anna.id));
    const articles = await before.tickets.articles(first.ticket.id);
    await before.close();

    const url = await postgres.createDatabase();
    const copied = await hotline(dir, ['copy-to-postgres', url]);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    expect(copied.stdout).toMatch(/^ {2}tickets: 2$/m);
    expect(copied.stdout).toMatch(/^ {2}attachments: 1$/m);
    expect(copied.stdout).toMatch(/copied \d+ rows in \d+ tables; start Hotline with databaseUrl/);

    // On PostgreSQL: the same tickets, articles, file, links, counts, call and credentials.
    const after = await open(dir, url);
    cleanups.push(() => after.close());
    expect(after.database.engine).toBe('postgres');
    const moved = (await after.tickets.findByTtn(first.ticket.ttn))!;
    expect(moved).toMatchObject({ id: first.ticket.id, title: 'Toner', ownerId: anna.id, customerId: carla.id, linkedTicketId: later.ticket.id, state: 'open' });
    expect(await after.tickets.articles(first.ticket.id)).toEqual(articles);
    const { attachment, content } = await after.tickets.attachmentForActor(attached.id, 'system');
    expect(attachment).toMatchObject({ filename: 'scan.bin', size: file.length });
    expect(Buffer.compare(content, file)).toBe(0);
    expect(byState(await after.tickets.countVisible(anna.id))).toEqual(counts);
    expect((await after.calls.forTicket(first.ticket.id)).map((c) => c.outcome)).toEqual(['abandoned']);
    expect((await after.auth.login('anna', 'correct horse 1', '192.0.2.1'))?.session.agent.id).toBe(anna.id);
    expect((await after.auth.apiAgent(token))?.id).toBe(anna.id);
    expect((await after.directory.findQueue(support.id))?.isDefault).toBe(true);
    // What is made next takes new ids and the next number of the day.
    const next = await after.tickets.create({ queueId: billing.id, title: 'New on PostgreSQL', article: { kind: 'note', text: 'x' } });
    expect(next.ticket.id).toBeGreaterThan(later.ticket.id);
    expect(next.article.id).toBeGreaterThan(articles.at(-1)!.id);
    expect(next.ticket.ttn).not.toBe(later.ticket.ttn);

    // Copied once: a second copy into the same database is refused and changes nothing there.
    const again = await hotline(dir, ['copy-to-postgres', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the target database has \d+ row\(s\) in agents already; copy into an empty database \(nothing was copied\)/);
    expect((await after.tickets.listAll({ limit: 10 })).map((t) => t.title).sort()).toEqual(['New on PostgreSQL', 'Toner', 'Toner, again']);
    // Without a target: how to call it.
    expect((await hotline(dir, ['copy-to-postgres'])).stderr).toMatch(/copy-to-postgres needs the target database/);
  });
});
