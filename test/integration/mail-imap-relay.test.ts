import { ImapFlow } from 'imapflow';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createOutbox, retryDelayMs } from '../../src/mail/outbox.js';
import { startImapPoller } from '../../src/mail/imap-poller.js';
import { startDovecot } from '../helpers/dovecot.js';
import { fixedClock } from '../helpers/hotline.js';
import { mailTestScope, testRelay } from '../helpers/mail.js';

const log = pino({ level: 'silent' });
const { cleanups, harness } = mailTestScope();

describe('IMAP polling against a real Dovecot', () => {
  it('files unseen messages, flags them \\Seen only after they are stored, and leaves seen ones alone', async () => {
    const dovecot = await startDovecot();
    cleanups.push(() => dovecot.stop());
    const m = await harness();
    const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: 'support', pass: 'secret' }, logger: false });
    await client.connect();
    cleanups.push(() => client.logout().then(() => undefined, () => undefined));
    await client.append('INBOX', m.message({ From: 'Eve <eve@customer.example>', To: 'support@hotline.example', Subject: 'From the mailbox' }, 'Polled, not pushed.'));
    await client.append('INBOX', m.message({ From: 'old@customer.example', Subject: 'already read' }), ['\\Seen']);

    const stored: number[] = [];
    const poller = startImapPoller({
      url: dovecot.url('support'),
      intervalMs: 60_000,
      doneMailbox: '',
      log,
      store: (raw, envelope) => m.mail.pipeline.store(raw, envelope),
      onStored: (id) => stored.push(id),
    });
    cleanups.push(() => poller.stop());
    await expect.poll(() => stored.length, { timeout: 10_000 }).toBe(1);
    expect(await m.mail.pipeline.process(stored[0]!)).toBe('ticket');
    expect((await m.hotline.tickets.listAll({})).map((t) => t.title)).toEqual(['From the mailbox']);
    const lock = await client.getMailboxLock('INBOX');
    try {
      const unseen = await client.search({ seen: false });
      expect(unseen).toEqual([]);
    } finally {
      lock.release();
    }
    expect(await poller.pollOnce()).toBe(0);
  });

  it('keeps retrying while the mailbox refuses the login, and says so', async () => {
    const poller = startImapPoller({ url: 'imap://nobody:wrong@127.0.0.1:1/INBOX', intervalMs: 60_000, doneMailbox: '', log, store: async () => ({ id: 0, duplicate: false }), onStored: () => {} });
    cleanups.push(() => poller.stop());
    await expect.poll(() => poller.status(), { timeout: 10_000 }).toMatch(/^error: /);
  });
});

describe('outbox through a relay', () => {
  it('retries with backoff until the relay takes the message, and sends the exact stored bytes', async () => {
    const m = await harness();
    let refuse = true;
    const received: Buffer[] = [];
    const relay = await testRelay((raw) => {
      if (refuse) throw Object.assign(new Error('try later'), { responseCode: 451 });
      received.push(raw);
    });
    cleanups.push(() => relay.close());
    const port = relay.port;
    const clock = fixedClock('2026-11-28T10:00:00Z');
    const repo = m.hotline.mailStore;
    const outbox = createOutbox({ repo, clock, log, options: { relayUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, dataDir: m.hotline.dir } });
    cleanups.push(() => outbox.stop());
    const raw = Buffer.from('From: support@hotline.example\r\nTo: carl@customer.example\r\nSubject: [Ticket#1] x\r\nMessage-ID: <out-1@hotline.example>\r\n\r\nHello\r\n');
    await repo.enqueue({ articleId: null, kind: 'agent-reply', envelopeFrom: 'support@hotline.example', envelopeTo: ['carl@customer.example'], messageId: '<out-1@hotline.example>', raw, now: clock.now().toISOString() });

    expect(await outbox.flush()).toBe(0);
    expect(await repo.outboxCounts()).toEqual({ pending: 1 });
    refuse = false;
    // Not yet due: the first retry waits a minute.
    expect(await outbox.flush()).toBe(0);
    clock.set(new Date(clock.now().getTime() + retryDelayMs(0)).toISOString());
    expect(await outbox.flush()).toBe(1);
    expect(await repo.outboxCounts()).toEqual({ sent: 1 });
    expect(received).toHaveLength(1);
    expect(received[0]!.toString()).toContain('Message-ID: <out-1@hotline.example>');
    expect(received[0]!.toString()).toContain('Hello');
  });
});

describe('where an outgoing mail stands, on its article', () => {
  /** Hotline sending through a real relay that answers as `answer` says; the ticket page of one auto-replied message. */
  async function ticketWithAutoReply(answer: () => number) {
    const relay = await testRelay(() => {
      const code = answer();
      if (code !== 250) throw Object.assign(new Error(code === 451 ? 'greylisted, try later' : 'mailbox unknown'), { responseCode: code });
    });
    cleanups.push(() => relay.close());
    const m = await harness({ relayUrl: `smtp://127.0.0.1:${relay.port}?ignoreTLS=true` });
    expect((await m.ingest(m.message({ From: 'Carl <carl@customer.example>', To: 'support@hotline.example', Subject: 'Printer' }))).outcome).toBe('ticket');
    const [ticket] = await m.hotline.tickets.listAll({});
    const pages = await m.adminPages();
    const delivery = async () => /<p class="meta delivery[^"]*">([^<]*)</.exec((await pages.get(`/tickets/${ticket!.ttn}`)).body)?.[1];
    return { m, ticket: ticket!, delivery };
  }

  it('says a mail the relay put off is not sent yet, with the reason and the next attempt, then that it was sent', async () => {
    let code = 451;
    const { m, ticket, delivery } = await ticketWithAutoReply(() => code);
    await m.mail.outbox.flush();
    expect(await delivery()).toMatch(/^Delivery: not sent yet, 1 attempt failed: .*greylisted, try later.*\. Next attempt \d{4}-\d\d-\d\d \d\d:\d\d\.$/);
    const [article] = (await m.hotline.tickets.articles(ticket.id)).filter((a) => a.kind === 'email-out');
    expect(article!.delivery).toMatchObject({ state: 'retrying', attempts: 1 });
    // A minute later the relay takes it.
    code = 250;
    m.hotline.db.prepare("UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z'").run();
    expect(await m.mail.outbox.flush()).toBe(1);
    expect(await delivery()).toMatch(/^Delivery: sent \d{4}-\d\d-\d\d \d\d:\d\d\.$/);
    const api = JSON.parse((await (await m.adminPages()).get(`/api/v1/tickets/${ticket.ttn}`)).body) as { articles: Array<{ kind: string; delivery: unknown }> };
    expect(api.articles.find((a) => a.kind === 'email-out')!.delivery).toMatchObject({ state: 'sent', attempts: 2, lastError: null });
  });

  it('gives up at once on a mail the relay refuses for good, and says so', async () => {
    const { m, delivery } = await ticketWithAutoReply(() => 550);
    await m.mail.outbox.flush();
    expect(await delivery()).toMatch(/^Delivery: gave up after 1 attempt: .*mailbox unknown/);
    expect(m.hotline.db.prepare('SELECT status, attempts FROM outbox').get()).toEqual({ status: 'failed', attempts: 1 });
  });
});
