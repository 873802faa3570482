import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import pino from 'pino';
import UTIF from 'utif2';
import { describe, expect, it } from 'vitest';
import { startMail } from '../../src/mail/mail.js';
import { createMailWorker, MailThreadClosedError } from '../../src/mail/mail-worker.js';
import { mailTestScope } from '../helpers/mail.js';

const log = pino({ level: 'silent' });
const { cleanups, harness } = mailTestScope();

/** About `mb` megabytes of plain text: seconds for mailparser. */
const huge = (mb: number) => Buffer.from(`From: carl@customer.example\r\nSubject: Huge\r\n\r\n${`${'y'.repeat(76)}\r\n`.repeat(Math.ceil((mb * 2 ** 20) / 78))}`);

/** More MIME parts than mailparser allows: it throws that from a timer, outside its promise. */
const manyParts = (n: number) =>
  Buffer.from(
    `From: Mallory <mallory@customer.example>\r\nTo: support@hotline.example\r\nSubject: Many parts\r\nMessage-ID: <many-parts@customer.example>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${Array.from({ length: n }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('')}--b--\r\n`,
  );

describe('the mail thread', () => {
  it('parses, sanitises the HTML and hands attachments back as Buffers', async () => {
    const worker = createMailWorker({ log });
    cleanups.push(() => worker.close());
    const mail = await worker.read(
      Buffer.from(
        'From: Carl <carl@customer.example>\r\nSubject: Hi\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p onclick="steal()">Hello<script>alert(1)</script></p>\r\n--b\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n',
      ),
    );
    expect(mail.from).toEqual({ address: 'carl@customer.example', name: 'Carl' });
    expect(mail.html).toBe('<p>Hello</p>');
    expect(Buffer.isBuffer(mail.attachments[0]!.content)).toBe(true);
    expect(mail.attachments[0]!.content.toString()).toBe('%PDF-');
  });

  it('previews a fax as PNG, and does not try to draw a TIFF that claims to be enormous', async () => {
    const worker = createMailWorker({ log });
    cleanups.push(() => worker.close());
    const white = new Uint8Array(4 * 3 * 4).fill(255);
    const part = (name: string, bytes: ArrayBuffer) =>
      `--b\r\nContent-Type: image/tiff; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(bytes).toString('base64')}\r\n`;
    const mail = await worker.read(
      Buffer.from(
        `From: fax@customer.example\r\nSubject: Faxes\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${part('fax.tif', UTIF.encodeImage(white, 4, 3))}${part('bomb.tif', UTIF.encodeImage(white, 4, 3, { t256: [20_000], t257: [20_000] } as unknown as UTIF.IFD))}--b--\r\n`,
      ),
    );
    expect(mail.attachments.map((a) => [a.filename, a.preview ? a.preview.subarray(1, 4).toString() : null])).toEqual([
      ['fax.tif', 'PNG'],
      ['bomb.tif', null],
    ]);
  });

  it('fails only the job that outlives its deadline; a new thread does the ones behind it', async () => {
    const worker = createMailWorker({ log, deadlineMs: 300 });
    cleanups.push(() => worker.close());
    const slow = worker.read(huge(60));
    const next = worker.read(Buffer.from('Subject: Small\r\n\r\nHello.\r\n'));
    await expect(slow).rejects.toThrow(/gave up after 0.3 s/);
    expect((await next).subject).toBe('Small');
  });

  it('keeps a message that crashes mailparser flagged, and goes on filing the next one', async () => {
    // On the main thread this message would stop the whole service, calls and all.
    const m = await harness();
    await m.transport.sendMail({ envelope: { from: 'mallory@customer.example', to: ['support@hotline.example'] }, raw: manyParts(1100) });
    await m.transport.sendMail({ from: 'Carl <carl@customer.example>', to: 'support@hotline.example', subject: 'Still there?', text: 'Hello.' });
    await expect.poll(() => m.ticketCount(), { timeout: 15_000 }).toBe(1);
    expect((await m.hotline.tickets.listAll({})).map((t) => t.title)).toEqual(['Still there?']);
    await expect.poll(async () => (await m.mail.repo.listRaw('failed')).map((r) => [r.outcome, r.error]), { timeout: 15_000 }).toEqual([['unreadable', 'cannot parse: Max allowed child nodes exceeded']]);
    // Kept whole, for an admin to look at.
    const [flagged] = await m.mail.repo.listRaw('failed');
    expect((await m.mail.repo.rawBytes(flagged!.id))!.equals(manyParts(1100))).toBe(true);
  });
});

describe('mail stored but not yet filed', () => {
  it('is filed at the next start when the service stopped in between, once, also while hotline ingest files it too', async () => {
    const m = await harness({ smtpEnabled: false });
    const store = (raw: Buffer, minutesAgo: number) =>
      m.mail.repo.storeRaw({
        source: 'smtp',
        envelopeFrom: 'carl@customer.example',
        envelopeTo: ['support@hotline.example'],
        messageId: null,
        sha256: createHash('sha256').update(raw).digest('hex'),
        raw,
        now: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      });
    await store(m.message({ From: 'carl@customer.example', Subject: 'Left behind' }), 5);
    const fresh = await store(m.message({ From: 'dora@customer.example', Subject: 'Being filed by hotline ingest' }), 0);
    expect(m.ticketCount()).toBe(0);

    // The start files everything stored; the other filer of the fresh one runs at the same moment.
    const other = m.mail.pipeline.process(fresh.id);
    const again = await startMail(m.hotline, m.hotline.config, { listen: true });
    cleanups.push(() => again.close());
    await other;
    await expect.poll(() => m.mail.repo.rawCounts(), { timeout: 15_000 }).toEqual({ done: 2 });
    expect((await m.hotline.tickets.listAll({})).map((t) => t.title).sort()).toEqual(['Being filed by hotline ingest', 'Left behind']);
    expect(m.hotline.db.prepare("SELECT count(*) FROM articles WHERE kind = 'email-out'").pluck().get()).toBe(2);
  });

  it('is left unfiled, not flagged, when the service stops while it is being read, and filed at the next start', async () => {
    const m = await harness({ smtpEnabled: false });
    const first = await startMail(m.hotline, m.hotline.config, { listen: false });
    const { id } = await first.pipeline.store(huge(20), { source: 'smtp', from: 'carl@customer.example', to: ['support@hotline.example'] });
    const filing = first.pipeline.process(id).catch((error: unknown) => error);
    await first.close();
    expect(await filing).toBeInstanceOf(MailThreadClosedError);
    expect((await m.mail.repo.raw(id))!.status).toBe('new');

    m.hotline.db.prepare('UPDATE raw_messages SET received_at = ? WHERE id = ?').run(new Date(Date.now() - 120_000).toISOString(), id);
    const next = await startMail(m.hotline, m.hotline.config, { listen: true });
    cleanups.push(() => next.close());
    await expect.poll(async () => (await m.mail.repo.raw(id))!.status, { timeout: 15_000 }).toBe('done');
    expect((await m.hotline.tickets.listAll({})).map((t) => t.title)).toEqual(['Huge']);
  });
});

describe('a flood of mail', () => {
  it('is answered as it is stored, and filed a few messages at a time, every one', async () => {
    const m = await harness();
    const pipeline = m.mail.pipeline;
    const process = pipeline.process;
    let running = 0;
    let most = 0;
    pipeline.process = async (id) => {
      most = Math.max(most, ++running);
      try {
        return await process(id);
      } finally {
        running--;
      }
    };
    const pool = nodemailer.createTransport({ host: '127.0.0.1', port: m.mail.smtpPort()!, pool: true, maxConnections: 5, ignoreTLS: true });
    cleanups.push(() => pool.close());
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool.sendMail({ from: `c${i}@customer.example`, to: 'support@hotline.example', subject: `Flood ${i}`, text: 'x'.repeat(20_000) })));
    await expect.poll(() => m.mail.repo.rawCounts(), { timeout: 30_000 }).toEqual({ done: 40 });
    expect(m.ticketCount()).toBe(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
  });
});

describe('storing', () => {
  it('stores messages that arrive together, each with its own id and bytes, and knows a repeat among them', async () => {
    const m = await harness({ smtpEnabled: false });
    const envelope = { source: 'smtp' as const, from: null, to: ['support@hotline.example'] };
    const a = m.message({ From: 'a@customer.example', Subject: 'A' });
    const b = m.message({ From: 'b@customer.example', Subject: 'B' });
    const stored = await Promise.all([m.mail.pipeline.store(a, envelope), m.mail.pipeline.store(b, envelope), m.mail.pipeline.store(a, envelope)]);
    expect(stored[0]!.duplicate).toBe(false);
    expect(stored[1]!.duplicate).toBe(false);
    expect(stored[0]!.id).not.toBe(stored[1]!.id);
    expect(stored[2]).toEqual({ id: stored[0]!.id, duplicate: true });
    expect((await m.mail.repo.rawBytes(stored[1]!.id))!.equals(b)).toBe(true);
  });
});
