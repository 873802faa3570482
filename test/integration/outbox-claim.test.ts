import { execFile } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createOutbox } from '../../src/mail/outbox.js';
import { tempDir } from '../helpers/hotline.js';
import { testRelay } from '../helpers/mail.js';
import { BIN } from '../helpers/serve.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A relay that takes its time over each message (as a real one does) and records every Message-ID it was given. */
async function slowRelay() {
  const received: string[] = [];
  const relay = await testRelay(async (raw) => {
    received.push(/^Message-ID: (.+)$/im.exec(raw.toString())?.[1]?.trim() ?? '(none)');
    await new Promise((resolve) => setTimeout(resolve, 15));
  });
  cleanups.push(() => relay.close());
  return { url: `smtp://127.0.0.1:${relay.port}`, received };
}

describe('the outbox shared by several processes', () => {
  it('sends each message once while `hotline ingest` processes and the service all send from it at the same time', async () => {
    const relay = await slowRelay();
    const { dir, cleanup } = tempDir('hotline-outbox-');
    cleanups.push(cleanup);
    const env = { HOTLINE_DATA_DIR: join(dir, 'data'), HOTLINE_RELAY_URL: relay.url, HOTLINE_LOG_LEVEL: 'warn' };
    const hotline = await createHotline(loadConfig({ env, cwd: dir }), { log: pino({ level: 'silent' }) });
    cleanups.push(() => hotline.close());
    await hotline.directory.createQueue({ name: 'Support', email: 'support@hotline.example', isDefault: true });
    const repo = hotline.mailStore;
    const queued = Array.from({ length: 40 }, (_, i) => `<reply-${i}@hotline.example>`);
    const now = new Date().toISOString();
    for (const id of queued) {
      await repo.enqueue({ articleId: null, kind: 'agent-reply', envelopeFrom: 'support@hotline.example', envelopeTo: ['carl@customer.example'], messageId: id, raw: Buffer.from(`Message-ID: ${id}\r\nSubject: Re: printer\r\n\r\nHello.\r\n`), now });
    }

    // Three MTA deliveries through `hotline ingest` (each files its message, then sends what is due) …
    const ingest = (n: number) =>
      new Promise<number>((resolve) => {
        const child = execFile(process.execPath, [BIN, 'ingest'], { cwd: dir, env: { PATH: process.env.PATH, ...env } }, (error) => resolve(error ? (error as { code: number }).code : 0));
        child.stdin!.end(`From: dora${n}@customer.example\r\nTo: support@hotline.example\r\nSubject: new ${n}\r\nMessage-ID: <new-${n}@customer.example>\r\n\r\nHello.\r\n`);
      });
    // … and the service's own outbox, all at once.
    const service = createOutbox({ repo, clock: { now: () => new Date() }, log: pino({ level: 'silent' }), options: { relayUrl: relay.url, dataDir: join(dir, 'data') } });
    cleanups.push(() => service.stop());
    const sending = (async () => {
      let sent = 0;
      for (let i = 0; i < 20; i++) sent += await service.flush();
      return sent;
    })();
    expect(await Promise.all([ingest(1), ingest(2), ingest(3)])).toEqual([0, 0, 0]);
    await sending;
    await service.flush();

    // 40 replies and the 3 auto-replies to the new tickets: each given to the relay exactly once.
    const counts = new Map<string, number>();
    for (const id of relay.received) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    for (const id of queued) expect(counts.get(id), id).toBe(1);
    expect(relay.received).toHaveLength(43);
    expect(hotline.db.prepare("SELECT status, count(*) AS n FROM outbox GROUP BY status").all()).toEqual([{ status: 'sent', n: 43 }]);
  });

  it('gives a message another sender claimed to no one else until the claim runs out (its sender died mid-send)', async () => {
    const { dir, cleanup } = tempDir('hotline-outbox-');
    cleanups.push(cleanup);
    const hotline = await createHotline(loadConfig({ env: { HOTLINE_DATA_DIR: join(dir, 'data') }, cwd: dir }), { log: pino({ level: 'silent' }) });
    cleanups.push(() => hotline.close());
    const repo = hotline.mailStore;
    const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes)).toISOString();
    const id = await repo.enqueue({ articleId: null, kind: 'agent-reply', envelopeFrom: 'a@hotline.example', envelopeTo: ['b@customer.example'], messageId: '<x@hotline.example>', raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), now: at(0) });
    expect((await repo.claimNext('first', at(1), at(11)))?.id).toBe(id);
    expect(await repo.claimNext('second', at(2), at(12))).toBeNull();
    expect(await repo.claimNext('second', at(10), at(20))).toBeNull();
    // The first sender never came back: once its claim ran out the message is due again.
    expect((await repo.claimNext('second', at(11), at(21)))?.id).toBe(id);
    await repo.markSent(id, at(12));
    expect(await repo.claimNext('third', at(30), at(40))).toBeNull();
  });
});
