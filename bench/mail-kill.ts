// The kill run: 2,000 messages arrive at the built `hotline serve` over 8, 10 and 12 SMTP connections
// (one run each); once a share of them is acknowledged the process is killed with SIGKILL and started
// again on the same data folder, as a supervisor would. The senders behave like MTAs: a message whose
// 250 never came is delivered again once the listener answers. Then, per run: how many messages were
// acknowledged, stored, filed, filed twice, lost, and how many got more than one auto-reply.
//   npm run bench:mail-kill        (builds dist/ first)
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import type { ServeProcess } from '../test/helpers/serve.js';
import { startServe } from '../test/helpers/serve.js';
import { tempDir } from '../test/helpers/hotline.js';

const MESSAGES = 2000;

/**
 * Message `i` of run `run`: every tenth carries 40 small files and every hundredth 900, so that filing
 * writes many rows in one transaction and falls behind what SMTP accepts.
 */
function message(run: number, i: number): Buffer {
  const count = i % 100 === 0 ? 900 : i % 10 === 0 ? 40 : 0;
  const files =
    count > 0
      ? Array.from({ length: count }, (_, f) => `--b\r\nContent-Type: text/plain; name="log-${f}.txt"\r\nContent-Disposition: attachment; filename="log-${f}.txt"\r\n\r\n${`line ${f} of message ${i}\r\n`.repeat(30)}`).join('\r\n') + '\r\n'
      : '';
  return Buffer.from(
    `From: Customer ${i} <c${i}@customer.example>\r\nTo: support@hotline.example\r\nSubject: Printer ${run}-${i}\r\nMessage-ID: <kill-${run}-${i}@customer.example>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${'The printer prints blank pages again. '.repeat(20)}\r\n${files}--b--\r\n`,
  );
}

/** Resolves as soon as a ticket with this title is committed (looked for on every turn of the loop). */
async function ticketAppears(dir: string, title: string): Promise<void> {
  const db = new Database(join(dir, 'data', 'hotline.db'), { readonly: true, fileMustExist: true });
  const find = db.prepare('SELECT 1 FROM tickets WHERE title = ?').pluck();
  try {
    while (!find.get(title)) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    db.close();
  }
}

async function run(n: number, connections: number, killAfter: number) {
  const { dir, cleanup } = tempDir('hotline-kill-');
  const env = { HOTLINE_DATA_DIR: join(dir, 'data'), HOTLINE_ARI_URL: 'http://127.0.0.1:1', HOTLINE_AMI_PORT: '1' };
  let serve: ServeProcess;
  let port = 0;
  let up: Promise<void> = Promise.resolve();
  const start = async () => {
    serve = await startServe(dir, env);
    port = Number((await serve.waitForOutput(/SMTP listening on [\d.]+:(\d+)/))[1]);
  };
  await start();

  const queue = Array.from({ length: MESSAGES }, (_, i) => i);
  const acknowledged = new Set<number>();
  const attempts = new Map<number, number>();
  let killedAt = -1;
  let inFlightAtKill = 0;
  const inFlight = new Set<number>();
  let atKill: Array<{ status: string; n: number }> = [];
  let unfiled: string[] = [];

  let ackedAtKill = 0;
  const kill = () => {
    ackedAtKill = acknowledged.size;
    inFlightAtKill = inFlight.size;
    serve.child.kill('SIGKILL');
    up = serve.exited.then(() => {
      // What the killed process left: messages stored (and acknowledged) but not yet filed.
      const db = new Database(join(dir, 'data', 'hotline.db'), { fileMustExist: true });
      atKill = db.prepare('SELECT status, count(*) AS n FROM raw_messages GROUP BY status').all() as Array<{ status: string; n: number }>;
      unfiled = db.prepare("SELECT message_id FROM raw_messages WHERE status = 'new'").pluck().all() as string[];
      db.close();
      return start();
    });
  };

  async function sender(): Promise<void> {
    for (;;) {
      await up;
      const i = queue.shift();
      if (i === undefined) {
        if (acknowledged.size === MESSAGES) return;
        // Another sender's message may still come back to the queue after a failed attempt.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (inFlight.size === 0 && queue.length === 0) return;
        continue;
      }
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, connectionTimeout: 10_000, socketTimeout: 30_000 });
      inFlight.add(i);
      attempts.set(i, (attempts.get(i) ?? 0) + 1);
      try {
        await transport.sendMail({ envelope: { from: `c${i}@customer.example`, to: ['support@hotline.example'] }, raw: message(n, i) });
        acknowledged.add(i);
        // The kill comes with a 900-file message: run 1 right after its 250 (stored, not yet filed),
        // run 2 the moment its ticket is in the database, run 3 50 ms after that (were filing several
        // commits, in the middle of its files).
        if (acknowledged.size >= killAfter && i % 100 === 0 && killedAt < 0) {
          killedAt = acknowledged.size;
          if (n === 1) kill();
          else void ticketAppears(dir, `Printer ${n}-${i}`).then(() => (n === 3 ? new Promise((resolve) => setTimeout(resolve, 50)) : undefined)).then(kill);
        }
      } catch {
        queue.push(i); // no 250: the MTA delivers it again later
      } finally {
        inFlight.delete(i);
        transport.close();
      }
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, () => sender()));

  // Every stored message filed or flagged (the restart's resume pass included).
  const db = new Database(join(dir, 'data', 'hotline.db'), { readonly: true, fileMustExist: true });
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  for (;;) {
    if (count("SELECT count(*) FROM raw_messages WHERE status = 'new'") === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const ours = "message_id LIKE '<kill-%'";
  const result = {
    run: n,
    connections,
    killedAfter: ackedAtKill,
    inFlightAtKill,
    unfiledAtKill: atKill.find((r) => r.status === 'new')?.n ?? 0,
    filedAtKill: atKill.find((r) => r.status === 'done')?.n ?? 0,
    unfiledMessages: unfiled,
    deliveredAgain: [...attempts.values()].filter((a) => a > 1).length,
    acknowledged: acknowledged.size,
    stored: count(`SELECT count(DISTINCT message_id) FROM raw_messages WHERE ${ours}`),
    storedRows: count(`SELECT count(*) FROM raw_messages WHERE ${ours}`),
    filed: count(`SELECT count(DISTINCT message_id) FROM articles WHERE kind = 'email-in' AND ${ours}`),
    doubled: count(`SELECT count(*) FROM (SELECT message_id FROM articles WHERE kind = 'email-in' AND ${ours} GROUP BY message_id HAVING count(*) > 1)`),
    tickets: count('SELECT count(*) FROM tickets'),
    lost: MESSAGES - count(`SELECT count(DISTINCT message_id) FROM articles WHERE kind = 'email-in' AND ${ours}`),
    autoReplies: count("SELECT count(*) FROM outbox WHERE kind = 'auto-reply'"),
    ticketsWithTwoAutoReplies: count("SELECT count(*) FROM (SELECT a.ticket_id FROM outbox o JOIN articles a ON a.id = o.article_id WHERE o.kind = 'auto-reply' GROUP BY a.ticket_id HAVING count(*) > 1)"),
    attachments: count('SELECT count(*) FROM attachments'),
    seconds: Math.round(seconds),
  };
  db.close();
  await serve!.stop('SIGKILL');
  cleanup();
  return result;
}

const results = [];
for (const [i, connections] of [8, 10, 12].entries()) {
  results.push(await run(i + 1, connections, [700, 1000, 1300][i]!));
  console.error(JSON.stringify(results.at(-1)));
}
console.log('| run | connections | acknowledged at the kill | filed / stored unfiled at the kill | in flight at the kill | delivered again | acknowledged | stored | filed | doubled | lost | tickets | auto-replies | tickets with 2 auto-replies | attachments |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results)
  console.log(`| ${r.run} | ${r.connections} | ${r.killedAfter} | ${r.filedAtKill} / ${r.unfiledAtKill} | ${r.inFlightAtKill} | ${r.deliveredAgain} | ${r.acknowledged} | ${r.stored} | ${r.filed} | ${r.doubled} | ${r.lost} | ${r.tickets} | ${r.autoReplies} | ${r.ticketsWithTwoAutoReplies} | ${r.attachments} |`);
