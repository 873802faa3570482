import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLeaseKeeper } from '../../src/core/leases.js';
import { startMail } from '../../src/mail/mail.js';
import { openDatabase } from '../../src/storage/database.js';
import { sqliteEngine } from '../../src/storage/engine.js';
import { createLeaseRepository } from '../../src/storage/lease-repository.js';
import { tempDir } from '../helpers/hotline.js';
import { testRelay } from '../helpers/mail.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('leases on one database file', () => {
  it('give each piece of work to one holder; another takes it when it is given up or runs out', async () => {
    const { dir, cleanup } = tempDir('hotline-leases-');
    cleanups.push(cleanup);
    const file = join(dir, 'hotline.db');
    // Two instances: two connections to one file, and a clock the test moves.
    const [dbA, dbB] = [openDatabase(file), openDatabase(file)];
    cleanups.push(() => { dbA.close(); }, () => { dbB.close(); });
    let now = 1_000_000;
    const keeper = (db: typeof dbA, holder: string) => createLeaseKeeper({ store: createLeaseRepository(sqliteEngine(db)), holder, names: ['outbox', 'imap'], now: () => now, ttlMs: 30_000, renewMs: 10_000 });
    const a = keeper(dbA, 'a');
    const b = keeper(dbB, 'b');
    await a.start();
    await b.start();
    cleanups.push(() => a.stop(), () => b.stop());
    expect([a.held('outbox'), a.held('imap'), b.held('outbox'), b.held('imap')]).toEqual([true, true, false, false]);

    // Given up (a graceful stop): the other takes it at its next renewal.
    await a.stop();
    expect(a.held('outbox')).toBe(false);
    await b.renew();
    expect([b.held('outbox'), b.held('imap')]).toEqual([true, true]);

    // Run out: b stops renewing (hangs, or died); a takes over only once b's lease has expired, and
    // b stops counting on it a little before then.
    const a2 = keeper(dbA, 'a');
    await a2.start();
    cleanups.push(() => a2.stop());
    expect(a2.held('outbox')).toBe(false);
    now += 26_000;
    expect(b.held('outbox')).toBe(false);
    await a2.renew();
    expect(a2.held('outbox')).toBe(false);
    now += 5_000;
    await a2.renew();
    expect([a2.held('outbox'), a2.held('imap')]).toEqual([true, true]);
    // b, back, finds it taken.
    await b.renew();
    expect(b.held('outbox')).toBe(false);
  });

  it('let one of two instances on one database send the outbox, and the other once the first stops', async () => {
    const sent: string[] = [];
    const relay = await testRelay((raw) => {
      sent.push(/^Subject: (.+)$/im.exec(raw.toString())?.[1]?.trim() ?? '');
    });
    cleanups.push(() => relay.close());
    const { dir, cleanup } = tempDir('hotline-leases-');
    cleanups.push(cleanup);
    const instance = async (id: string) => {
      const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: join(dir, 'data'), instanceId: id, relayUrl: `smtp://127.0.0.1:${relay.port}`, smtpEnabled: false, logLevel: 'silent' } });
      const hotline = await createHotline(config, { log: pino({ level: 'silent' }) });
      const mail = await startMail(hotline, config, { listen: true });
      return { hotline, mail };
    };
    const a = await instance('a');
    const b = await instance('b');
    cleanups.push(() => a.hotline.close(), () => b.hotline.close(), () => a.mail.close(), () => b.mail.close());
    expect([a.mail.leases?.held('outbox'), b.mail.leases?.held('outbox')]).toEqual([true, false]);

    const enqueue = (subject: string) =>
      a.mail.repo.enqueue({ articleId: null, kind: 'agent-reply', envelopeFrom: 'support@hotline.example', envelopeTo: ['carl@customer.example'], messageId: `<${subject}@hotline.example>`, raw: Buffer.from(`Subject: ${subject}\r\n\r\nHello.\r\n`), now: new Date().toISOString() });
    enqueue('first');
    expect(await b.mail.outbox.flush()).toBe(0);
    expect(await a.mail.outbox.flush()).toBe(1);
    expect(sent).toEqual(['first']);

    // A stops (and gives its leases up): B sends from then on.
    await a.mail.close();
    await b.mail.leases?.renew();
    expect(b.mail.leases?.held('outbox')).toBe(true);
    enqueue('second');
    expect(await b.mail.outbox.flush()).toBe(1);
    expect(sent).toEqual(['first', 'second']);
  });

  it('read settings again that another instance changed: the TTN format and the texts', async () => {
    const { dir, cleanup } = tempDir('hotline-settings-');
    cleanups.push(cleanup);
    const instance = (id: string) => createHotline(loadConfig({ env: {}, cwd: dir, overrides: { dataDir: join(dir, 'data'), instanceId: id, logLevel: 'silent' } }), { log: pino({ level: 'silent' }) });
    const a = await instance('a');
    const b = await instance('b');
    cleanups.push(() => a.close(), () => b.close());
    b.watchSettings(20);
    expect(b.ttn.current().generator).toBe('date-checksum');
    await a.ttn.configure({ generator: 'random' });
    await a.texts.save('en', 'mail.autoReply', 'We have your message: {{ttn}}', new Date().toISOString());
    await a.markSettingsChanged();
    await expect.poll(() => b.ttn.current().generator).toBe('random');
    expect(b.i18n.t('en')('mail.autoReply', { ttn: '42' })).toBe('We have your message: 42');
  });
});
