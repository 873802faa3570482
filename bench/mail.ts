// Mail ingest throughput: generated messages (half new, half follow-ups by TTN; 2–50 KB; every
// tenth with an attachment) through the in-process pipeline and through SMTP over loopback.
// Floor, in the same run: mailparser alone on the same messages.
import { performance } from 'node:perf_hooks';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type { Stats } from './ivr-pops.js';
import { cpuMsSince, stats } from './ivr-pops.js';
import pino from 'pino';
import type { ConfigInput } from '../src/config.js';
import { tempDir } from '../test/helpers/hotline.js';

export interface MailRun {
  messages: number;
  perSecond: number;
  perMessage: Stats;
  peakRssMb: number;
  outcomes: Record<string, number>;
  /** CPU time of the whole process (every thread: main, mail thread, GC, thread pool) per message; in-process runs only. */
  cpuMsPerMessage?: number;
}

/** The floor: mailparser's throughput, and its CPU time per message (parsing only). */
export interface FloorRun {
  perSecond: number;
  cpuMsPerMessage: number;
}

const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. ';

/** A message of about `kb` kilobytes; `ttn` makes it a follow-up. */
export function makeMessage(i: number, kb: number, ttn: string | null, attachment: boolean): Buffer {
  const body = filler.repeat(Math.ceil((kb * 1024) / filler.length)).slice(0, kb * 1024);
  const boundary = `b${i}`;
  const headers = [
    `From: Customer ${i % 500} <customer${i % 500}@customer.example>`,
    'To: support@hotline.example',
    `Subject: ${ttn ? `Re: [Ticket#${ttn}] ` : ''}Request number ${i}`,
    `Message-ID: <bench-${i}@customer.example>`,
    `Date: ${new Date(Date.UTC(2026, 10, 28, 9, 0, i % 60)).toUTCString()}`,
    'MIME-Version: 1.0',
  ];
  if (!attachment) return Buffer.from(`${headers.join('\r\n')}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`);
  const file = Buffer.alloc(16 * 1024, i % 251).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    `${headers.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n--${boundary}\r\nContent-Type: application/pdf; name="doc${i}.pdf"\r\nContent-Disposition: attachment; filename="doc${i}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${file}\r\n--${boundary}--\r\n`,
  );
}

/** Sizes 2–50 KB, spread evenly and reproducibly. */
const sizeOf = (i: number) => 2 + ((i * 37) % 49);

/** Message `i` of a run; made when needed, so the benchmark's own memory does not count as the service's. */
const messageAt = (i: number, ttn: string | null) => makeMessage(i, sizeOf(i), ttn, i % 10 === 0);

/**
 * The built service (dist/, as `npm start` runs it) with its e-mail channel, on a fresh SQLite file:
 * so the memory and the mail thread measured are the service's, not tsx's.
 */
async function builtService(overrides: ConfigInput) {
  const dist = new URL('../dist/', import.meta.url);
  const { createHotline } = (await import(new URL('app.js', dist).href)) as typeof import('../src/app.js');
  const { loadConfig } = (await import(new URL('config.js', dist).href)) as typeof import('../src/config.js');
  const { startMail } = (await import(new URL('mail/mail.js', dist).href)) as typeof import('../src/mail/mail.js');
  const { dir, cleanup } = tempDir('hotline-bench-');
  const config = loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, logLevel: 'silent', smtpPort: 0, mailFrom: 'hotline@hotline.example', ...overrides } });
  const hotline = await createHotline(config, { log: pino({ level: 'silent' }) });
  await hotline.directory.createQueue({ name: 'Support', email: 'support@hotline.example', isDefault: true });
  const mail = await startMail(hotline, config, { listen: true });
  return {
    hotline,
    mail,
    ingest: (raw: Buffer) => mail.pipeline.ingest(raw, { source: 'test', from: null, to: ['support@hotline.example'] }),
    async close() {
      await mail.close();
      hotline.close();
      cleanup();
    },
  };
}

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage().rss) / 2 ** 20) };
}

/** The floor: mailparser alone, on the same messages (follow-ups with a TTN of the same shape). */
export async function parserFloor(count: number): Promise<FloorRun> {
  let parsing = 0;
  let cpu = 0;
  for (let i = 0; i < count; i++) {
    const m = messageAt(i, i < count / 2 ? null : '20261128000019');
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await simpleParser(m, { skipImageLinks: true, skipTextToHtml: true });
    cpu += cpuMsSince(c0);
    parsing += performance.now() - t0;
  }
  return { perSecond: count / (parsing / 1000), cpuMsPerMessage: cpu / count };
}

/**
 * In-process: half new tickets, then half follow-ups to them (by TTN in the subject), with
 * `concurrency` deliveries under way at once (as from several SMTP connections or an IMAP batch).
 */
export async function inProcess(count: number, concurrency = 1): Promise<MailRun> {
  const h = await builtService({ smtpEnabled: false });
  try {
    // One unrecorded message first: the mail thread starts (a service that has been running a while).
    await h.ingest(makeMessage(-1, 2, null, false));
    const half = Math.floor(count / 2);
    const times: number[] = [];
    const outcomes: Record<string, number> = {};
    const rss = rssSampler();
    let ttns: string[] = [];
    let next = 0;
    const lane = async (end: number) => {
      while (next < end) {
        const i = next++;
        const m = messageAt(i, i < half ? null : ttns[(i - half) % ttns.length]!);
        const s = performance.now();
        const { outcome } = await h.ingest(m);
        times.push(performance.now() - s);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    };
    /** Wall time for messages up to `end`, including sending the auto-replies they caused. */
    const phase = async (end: number) => {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: concurrency }, () => lane(end)));
      await h.mail.outbox.flush();
      return performance.now() - t0;
    };
    const cpu0 = process.cpuUsage();
    let took = await phase(half);
    // The TTNs the follow-ups quote (looked up outside the timed phases).
    ttns = h.hotline.db.prepare("SELECT ttn FROM tickets WHERE title LIKE 'Request number %' ORDER BY id").pluck().all() as string[];
    took += await phase(count);
    const cpuMsPerMessage = cpuMsSince(cpu0) / count;
    return { messages: count, perSecond: count / (took / 1000), perMessage: stats(times), peakRssMb: rss.stop(), outcomes, cpuMsPerMessage };
  } finally {
    await h.close();
  }
}

/** Over SMTP on loopback: a pooled nodemailer transport, the listener storing and the pipeline filing. */
export async function overSmtp(count: number): Promise<MailRun> {
  const h = await builtService({});
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.mail.smtpPort()!, pool: true, maxConnections: 4, ignoreTLS: true });
  try {
    const times: number[] = [];
    const rss = rssSampler();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < count) {
          const i = next++;
          const raw = messageAt(i, null);
          const s = performance.now();
          await transport.sendMail({ envelope: { from: `customer${i % 500}@customer.example`, to: ['support@hotline.example'] }, raw });
          times.push(performance.now() - s);
        }
      }),
    );
    // Acknowledged means stored; wait until every stored message is also filed.
    while ((h.hotline.db.prepare("SELECT count(*) FROM raw_messages WHERE status = 'new'").pluck().get() as number) > 0) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    const outcomes = Object.fromEntries((h.hotline.db.prepare('SELECT outcome, count(*) AS n FROM raw_messages GROUP BY outcome').all() as Array<{ outcome: string; n: number }>).map((r) => [r.outcome, r.n]));
    return { messages: count, perSecond: count / seconds, perMessage: stats(times), peakRssMb: rss.stop(), outcomes };
  } finally {
    transport.close();
    await h.close();
  }
}
