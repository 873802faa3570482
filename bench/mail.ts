// Mail ingest throughput: generated messages (half new, half follow-ups by TTN; 2–50 KB; every
// tenth with an attachment) through the in-process pipeline and through SMTP over loopback.
// Floor, in the same run: mailparser alone on the same messages.
import { performance } from 'node:perf_hooks';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type { Stats } from './ivr-pops.js';
import { stats } from './ivr-pops.js';
import { mailHarness } from '../test/helpers/mail.js';

export interface MailRun {
  messages: number;
  perSecond: number;
  perMessage: Stats;
  peakRssMb: number;
  outcomes: Record<string, number>;
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

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage().rss) / 2 ** 20) };
}

/** The floor: mailparser alone, on the same messages (follow-ups with a TTN of the same shape). */
export async function parserFloor(count: number): Promise<number> {
  let parsing = 0;
  for (let i = 0; i < count; i++) {
    const m = messageAt(i, i < count / 2 ? null : '20261128000019');
    const t0 = performance.now();
    await simpleParser(m, { skipImageLinks: true, skipTextToHtml: true });
    parsing += performance.now() - t0;
  }
  return count / (parsing / 1000);
}

/** In-process: half new tickets, then half follow-ups to them (by TTN in the subject). */
export async function inProcess(count: number): Promise<MailRun> {
  const h = await mailHarness({ smtpEnabled: false, logLevel: 'silent' });
  try {
    const half = Math.floor(count / 2);
    const times: number[] = [];
    const outcomes: Record<string, number> = {};
    const rss = rssSampler();
    let busy = 0;
    const ttns: string[] = [];
    for (let i = 0; i < half; i++) {
      const m = messageAt(i, null);
      const s = performance.now();
      const { id, outcome } = await h.ingest(m);
      const took = performance.now() - s;
      times.push(took);
      busy += took;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      ttns.push((await h.hotline.tickets.findById(h.mail.repo.raw(id)!.ticketId!))!.ttn);
    }
    for (let i = half; i < count; i++) {
      const m = messageAt(i, ttns[(i - half) % ttns.length]!);
      const s = performance.now();
      const { outcome } = await h.ingest(m);
      const took = performance.now() - s;
      times.push(took);
      busy += took;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    // Throughput over the time spent ingesting (message generation and the TTN lookups above excluded).
    return { messages: count, perSecond: count / (busy / 1000), perMessage: stats(times), peakRssMb: rss.stop(), outcomes };
  } finally {
    await h.close();
  }
}

/** Over SMTP on loopback: a pooled nodemailer transport, the listener storing and the pipeline filing. */
export async function overSmtp(count: number): Promise<MailRun> {
  const h = await mailHarness({ logLevel: 'silent' });
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
