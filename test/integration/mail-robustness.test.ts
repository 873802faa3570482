import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startSmtpListener } from '../../src/mail/smtp-listener.js';
import { mailTestScope } from '../helpers/mail.js';
import { tempDir } from '../helpers/hotline.js';

const CORPUS = fileURLToPath(new URL('../../../shared/mail-corpus/znuny/', import.meta.url));
/** The sample corpus is beside the project only where ../shared is (not in a newcomer's clone). */
const HAVE_CORPUS = existsSync(CORPUS);
if (!HAVE_CORPUS) console.warn(`mail-robustness: no sample corpus at ${CORPUS}; its test is skipped`);
const BIN = fileURLToPath(new URL('../../bin/hotline.js', import.meta.url));
const { cleanups, harness } = mailTestScope();

describe('the sample corpus', () => {
  it.skipIf(!HAVE_CORPUS)('ingests every message without a crash: each a ticket, a follow-up or a flagged raw message, none lost', async () => {
    const m = await harness();
    const files = ['PostMaster', 'EmailParser'].flatMap((dir) => readdirSync(join(CORPUS, dir)).map((f) => join(CORPUS, dir, f)));
    expect(files).toHaveLength(35);
    const outcomes: Record<string, number> = {};
    for (const file of files) {
      const { outcome } = await m.ingest(readFileSync(file));
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const rows = m.hotline.db.prepare('SELECT status, outcome, count(*) AS n FROM raw_messages GROUP BY status, outcome ORDER BY status, outcome').all();
    // Every file stored once, and filed or flagged. No two of them are one message delivered twice:
    // the 24 that share a Message-ID with another differ in sender, subject, recipients, headers or
    // body (they were written as separate test cases), so none is dropped as a repeat.
    expect(m.hotline.db.prepare('SELECT count(*) FROM raw_messages').pluck().get()).toBe(35);
    expect(rows).toEqual([
      { status: 'done', outcome: 'ticket', n: 32 },
      { status: 'failed', outcome: 'bounce', n: 3 },
    ]);
    expect(outcomes).toEqual({ ticket: 32, failed: 3 });
    expect(m.ticketCount()).toBe(32);
    // The bounces (Postfix delivery reports for mail we never sent) opened nothing and got no auto-reply.
    const sentTo = (await m.sent()).map((s) => s.mail.to[0]);
    expect(sentTo).not.toContain('irgendwas@invalid.invalid');
    // Non-ASCII subjects survived.
    const titles = (await m.hotline.tickets.listAll({ limit: 100 })).map((t) => t.title);
    expect(titles).toEqual(expect.arrayContaining(['UTF-8 Test äöü 顧客コンタクト管理', 'NOT REGEX ÜÄÖ']));
  });

  it('keeps a flagged message for admins, who may file it anyway', async () => {
    const m = await harness();
    const raw = m.message({ From: 'carl@customer.example', Subject: 'twice', 'Message-ID': '<same@customer.example>' });
    await m.ingest(raw);
    const again = await m.ingest(Buffer.concat([Buffer.from('Received: from elsewhere\r\n'), raw]));
    expect(again.outcome).toBe('duplicate');
    const pages = await m.adminPages();
    const page = await pages.get('/admin/mail');
    expect(page.body).toContain(`the same message (Message-ID and content) as message #`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const raw2 = await pages.get(`/admin/mail/${again.id}/raw`);
    expect(raw2.rawPayload.toString()).toContain('Received: from elsewhere');
    await pages.post(`/admin/mail/${again.id}/reprocess`, { _csrf: csrf });
    expect(m.ticketCount()).toBe(2);
  });
});

describe('durability', () => {
  it('answers 4xx when the message cannot be stored, and loses nothing when the sender retries', async () => {
    const m = await harness({ smtpEnabled: false });
    let failNext = true;
    const stored: number[] = [];
    const listener = await startSmtpListener({
      host: '127.0.0.1',
      port: 0,
      maxBytes: 1 << 20,
      domains: [],
      log: pino({ level: 'silent' }),
      store: (raw, envelope) => {
        if (failNext) {
          failNext = false;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        return m.mail.pipeline.store(raw, envelope);
      },
      onStored: (id) => {
        stored.push(id);
        void m.mail.pipeline.process(id);
      },
    });
    cleanups.push(() => listener.close());
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: listener.port, ignoreTLS: true });
    cleanups.push(() => transport.close());
    const message = { from: 'carl@customer.example', to: 'support@hotline.example', subject: 'Important', text: 'Please do not lose me.', messageId: '<keep-me@customer.example>' };
    const first = await transport.sendMail(message).catch((error: Error & { responseCode?: number }) => error);
    expect((first as { responseCode?: number }).responseCode).toBe(451);
    expect(m.hotline.db.prepare('SELECT count(*) FROM raw_messages').pluck().get()).toBe(0);
    const retry = await transport.sendMail(message);
    expect(retry.response).toMatch(/^250/);
    await expect.poll(() => m.ticketCount()).toBe(1);
    expect(stored).toHaveLength(1);
  });

  it('hotline ingest exits 0 once the message is stored, and 75 when storage is unavailable', async () => {
    const { dir, cleanup } = tempDir('hotline-ingest-');
    cleanups.push(cleanup);
    const run = (env: Record<string, string>, input: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [BIN, 'ingest'], { cwd: dir, env: { PATH: process.env.PATH, ...env } }, (error, _out, stderr) =>
          resolve({ code: error ? (error as { code: number }).code : 0, stderr }),
        );
        child.stdin!.end(input);
      });
    const message = 'From: carl@customer.example\r\nTo: support@hotline.example\r\nSubject: via the pipe\r\nMessage-ID: <pipe-1@customer.example>\r\n\r\nHello from the MTA.\r\n';
    expect(await run({}, message)).toMatchObject({ code: 0, stderr: '' });
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'data', 'hotline.db'));
    expect(db.prepare("SELECT t.title FROM tickets t JOIN raw_messages r ON r.ticket_id = t.id WHERE r.source = 'pipe'").pluck().get()).toBe('via the pipe');
    db.close();
    expect(readdirSync(join(dir, 'data', 'outbox')).filter((f) => f.endsWith('.eml'))).toHaveLength(1);

    // A database in a folder nobody may write to: the MTA must keep the message and retry.
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    cleanups.push(() => chmodSync(locked, 0o700));
    const denied = await run({ HOTLINE_DATA_DIR: join(locked, 'data') }, message);
    if (process.getuid?.() === 0) {
      // root ignores permissions: make the database path a folder instead.
      mkdirSync(join(dir, 'notafile.db'));
      const asRoot = await run({ HOTLINE_DATABASE: join(dir, 'notafile.db') }, message);
      expect(asRoot.code).toBe(75);
      expect(asRoot.stderr).toMatch(/try again later/);
    } else {
      expect(denied.code).toBe(75);
    }
  });
});
