import { execFile } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/hotline.js';
import { BIN } from '../helpers/serve.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ATTACHMENTS = 200;

/** A customer's message with many attachments: filing it writes hundreds of rows. */
function bigMessage(): string {
  const parts = Array.from(
    { length: ATTACHMENTS },
    (_, i) => `--b\r\nContent-Type: application/octet-stream; name="log-${i}.txt"\r\nContent-Disposition: attachment; filename="log-${i}.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`line ${i}\n`.repeat(20)).toString('base64')}\r\n`,
  ).join('');
  return `From: Carl <carl@customer.example>\r\nTo: support@hotline.example\r\nSubject: Printer logs\r\nMessage-ID: <logs-1@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe logs.\r\n${parts}--b--\r\n`;
}

/** `hotline ingest` as the MTA runs it, killed at `crashAt` when given; its exit code, or the signal that ended it. */
function ingest(dir: string, raw: string, crashAt?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH, HOTLINE_DATA_DIR: join(dir, 'data'), HOTLINE_LOG_LEVEL: 'warn', ...(crashAt ? { HOTLINE_CRASH_AT: crashAt } : {}) };
    const child = execFile(process.execPath, [BIN, 'ingest'], { cwd: dir, env }, () => {});
    child.on('exit', (code, signal) => resolve(signal ?? code ?? -1));
    child.stdin!.end(raw);
  });
}

/** What is in the database: the tickets, their articles and files, the outbox, the stored messages. */
async function contents(dir: string) {
  const hotline = await createHotline(loadConfig({ env: { HOTLINE_DATA_DIR: join(dir, 'data') }, cwd: dir }), { log: pino({ level: 'silent' }) });
  try {
    const q = (sql: string) => hotline.db.prepare(sql).pluck().get() as number;
    return {
      tickets: q('SELECT count(*) FROM tickets'),
      customerMails: q("SELECT count(*) FROM articles WHERE kind = 'email-in'"),
      attachments: q('SELECT count(*) FROM attachments'),
      autoReplies: q("SELECT count(*) FROM articles WHERE kind = 'email-out'"),
      outbox: q('SELECT count(*) FROM outbox'),
      stored: hotline.db.prepare('SELECT status FROM raw_messages ORDER BY id').pluck().all(),
    };
  } finally {
    hotline.close();
  }
}

describe('filing a message when the process is killed at each step', () => {
  // Each point: where the process dies; then the MTA delivers the message again (it never heard "OK").
  for (const point of ['mail.stored', 'mail.ttn', 'mail.filing', 'mail.filed']) {
    it(`files it once, whole, with one auto-reply, after a kill at ${point}`, async () => {
      const { dir, cleanup } = tempDir('hotline-crash-');
      cleanups.push(cleanup);
      const raw = bigMessage();
      expect(await ingest(dir, raw, point)).toBe('SIGKILL');
      const afterKill = await contents(dir);
      // Inside the transaction nothing is kept but the stored message; after its commit, all of it.
      expect(afterKill).toMatchObject(point === 'mail.filed' ? { tickets: 1, attachments: ATTACHMENTS, outbox: 1 } : { tickets: 0, attachments: 0, outbox: 0, stored: ['new'] });
      expect(await ingest(dir, raw)).toBe(0);
      expect(await contents(dir)).toEqual({ tickets: 1, customerMails: 1, attachments: ATTACHMENTS, autoReplies: 1, outbox: 1, stored: ['done'] });
    });
  }

  it('files it once when two processes file the same stored message at the same moment', async () => {
    const { dir, cleanup } = tempDir('hotline-crash-');
    cleanups.push(cleanup);
    const raw = bigMessage();
    expect(await ingest(dir, raw, 'mail.stored')).toBe('SIGKILL');
    // Two redeliveries at once: both find it stored and unfiled, both file it; one transaction wins.
    expect(await Promise.all([ingest(dir, raw), ingest(dir, raw), ingest(dir, raw)])).toEqual([0, 0, 0]);
    expect(await contents(dir)).toEqual({ tickets: 1, customerMails: 1, attachments: ATTACHMENTS, autoReplies: 1, outbox: 1, stored: ['done'] });
  });
});
