// Two `hotline serve` on one PostgreSQL database (#19; a SQLite file where PostgreSQL is not installed): mail sent to both SMTP listeners is filed once each, the
// outbox (under a lease) sends each auto-reply once, a ticket made on one instance is listed by the
// other at once, and when the instance sending the outbox is killed the other takes it over.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { fetchLogin, sessionCookie } from '../helpers/login.js';
import { testRelay } from '../helpers/mail.js';
import { postgresForFile } from '../helpers/postgres.js';
import type { ServeProcess } from '../helpers/serve.js';
import { deadPort, startServe } from '../helpers/serve.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const server = postgresForFile('two instances: PostgreSQL 15 is not installed (apt-get install postgresql-15); they share a SQLite file instead');

describe('two instances on one database', () => {
  it('file mail sent to either once, send each auto-reply once, list each other’s tickets, and take the outbox over from a killed one', async () => {
    const received: string[] = [];
    const relay = await testRelay((raw) => {
      received.push(/^Subject: (.+)$/im.exec(raw.toString())?.[1]?.trim() ?? '');
    });
    cleanups.push(() => relay.close());
    const pbx = await deadPort();
    cleanups.push(() => pbx.close());
    const postgres = server();
    const dir = mkdtempSync(join(tmpdir(), 'hl-two-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = {
      HOTLINE_DATA_DIR: join(dir, 'data'),
      HOTLINE_DATABASE_URL: postgres ? await postgres.createDatabase() : '',
      HOTLINE_RELAY_URL: `smtp://127.0.0.1:${relay.port}`,
      HOTLINE_ARI_URL: `http://127.0.0.1:${pbx.port}`,
      HOTLINE_AMI_PORT: String(pbx.port),
      HOTLINE_LEASE_SECONDS: '6',
      HOTLINE_AUTO_REPLY_LIMIT: '100',
    };
    const start = async (id: string) => {
      const serve = await startServe(dir, { ...env, HOTLINE_INSTANCE_ID: id });
      cleanups.push(() => serve.stop('SIGKILL'));
      const smtpPort = Number((await serve.waitForOutput(/SMTP listening on [\d.]+:(\d+)/))[1]);
      return { serve, smtpPort };
    };
    const a = await start('inst-a');
    // The first start creates the admin and prints the password once.
    const password = (await a.serve.waitForOutput(/password "([^"]+)"/))[1]!;
    const b = await start('inst-b');
    // An API token for the lists, from the shared database.
    const hotline = await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: env.HOTLINE_DATA_DIR, databaseUrl: env.HOTLINE_DATABASE_URL, logLevel: 'silent' } }), { log: pino({ level: 'silent' }) });
    cleanups.push(() => hotline.close());
    const admin = (await hotline.agents.list()).find((x) => x.role === 'admin')!;
    const token = await hotline.auth.createApiToken(admin.id, 'two instances');
    const titles = async (serve: ServeProcess) => ((await (await fetch(`${serve.url}/api/v1/tickets?limit=500`, { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ title: string }>).map((t) => t.title).sort();

    const send = async (to: { smtpPort: number }, subjects: string[]) => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: to.smtpPort, secure: false, ignoreTLS: true });
      try {
        for (const subject of subjects) await transport.sendMail({ from: `${subject.replace(/\W/g, '')}@customer.example`, to: 'support@hotline.example', subject, text: 'Hello.' });
      } finally {
        transport.close();
      }
    };
    const toA = Array.from({ length: 8 }, (_, i) => `to A ${i}`);
    const toB = Array.from({ length: 8 }, (_, i) => `to B ${i}`);
    await Promise.all([send(a, toA), send(b, toB)]);
    const all = [...toA, ...toB].sort();
    // Both list every ticket, whichever instance filed it. (Filing runs at a lower priority than calls:
    // on a busy machine 16 messages took over 10 s; the bound is for a hang.)
    await expect.poll(() => titles(b.serve), { timeout: 60_000 }).toEqual(all);
    expect(await titles(a.serve)).toEqual(all);
    // One auto-reply each, sent once between the two.
    await expect.poll(() => received.length, { timeout: 60_000 }).toBe(16);
    expect(received.map((s) => s.replace(/^\[Ticket#\d+\] /, '')).sort()).toEqual(all);

    // The admin's overview on B lists both instances, this one marked, and who does what.
    const cookie = sessionCookie((await fetchLogin(b.serve.url, 'admin', password)).headers.get('set-cookie'));
    const overview = (await (await fetch(`${b.serve.url}/admin`, { headers: { cookie } })).text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(overview).toContain('inst-b (this one)');
    expect(overview).toMatch(/inst-a( \(this one\))? — does: [^;]*outbox|inst-b \(this one\) — does: [^;]*outbox/);
    expect(overview).toContain('Pops this instance only (no redisUrl)');
    if (postgres) expect(overview).toMatch(/Database ok \(PostgreSQL 127\.0\.0\.1:\d+\/hl_/);

    // The outbox's holder is killed; mail still comes in to the other, and its reply goes out once the lease has run out.
    const holder = await hotline.leases.live('outbox', Date.now()).then((l) => l[0]?.holder);
    expect(['inst-a', 'inst-b']).toContain(holder);
    const [dead, alive] = holder === 'inst-a' ? [a, b] : [b, a];
    await dead.serve.stop('SIGKILL');
    const killedAt = Date.now();
    await send(alive, ['after the kill']);
    const deadline = Date.now() + 40_000;
    while (!received.some((s) => s.endsWith('after the kill')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    console.info(`[two instances] the outbox's holder killed: the other sent the next reply ${((Date.now() - killedAt) / 1000).toFixed(1)} s later (lease 6 s)`);
    expect(received.filter((s) => s.endsWith('after the kill'))).toHaveLength(1);
    expect(received).toHaveLength(17);
  }, 120_000);
});
