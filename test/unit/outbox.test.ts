import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createOutbox } from '../../src/mail/outbox.js';
import type { MailRepository, OutboxItem } from '../../src/storage/mail-repository.js';
import { tempDir } from '../helpers/hotline.js';

/** An outbox table that can be closed under the sender, as a stopping service closes its database. */
function table(items: OutboxItem[]) {
  let open = true;
  const calls: string[] = [];
  const guard = <T>(name: string, value: T): T => {
    calls.push(name);
    if (!open) throw new TypeError('The database connection is not open');
    return value;
  };
  const repo = {
    claimNext: () => guard('claimNext', items.shift() ?? null),
    markSent: () => guard('markSent', undefined),
    markRetry: () => guard('markRetry', undefined),
    setDelivery: () => guard('setDelivery', undefined),
  } as unknown as MailRepository;
  return { repo, calls, close: () => (open = false) };
}

const item = (id: number): OutboxItem => ({ id, articleId: null, envelopeFrom: 'a@example.org', envelopeTo: ['b@example.org'], raw: Buffer.from('Subject: x\r\n\r\nhi\r\n'), attempts: 0 }) as unknown as OutboxItem;

describe('outbox', () => {
  it('never rejects when its database goes away, and runs nothing after stop', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = table([item(1)]);
      const outbox = createOutbox({ repo: t.repo, clock: { now: () => new Date() }, log: pino({ level: 'silent' }), options: { relayUrl: '', dataDir: dir } });
      const first = outbox.flush();
      // A second request while the first runs asks for one more run after it.
      const second = outbox.flush();
      t.close();
      await expect(first).resolves.toBe(0);
      await expect(second).resolves.toBe(0);
      await outbox.stop();
      const seen = t.calls.length;
      await expect(outbox.flush()).resolves.toBe(0);
      expect(t.calls.length).toBe(seen);
    } finally {
      cleanup();
    }
  });
});
