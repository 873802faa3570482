// `npm run bench`: runs every benchmark and rewrites bench/RESULTS.md with the figures and the machine.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { fanOut } from './fanout.js';
import type { IvrRun, LoadModel, Stats } from './ivr-pops.js';
import { ivrBench, websocketFloor } from './ivr-pops.js';
import type { FloorRun, MailRun } from './mail.js';
import { webLoadBench, webLoadSection } from './web-load.js';
import { listsBench, listsSection } from './lists.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LEVELS = (process.env.BENCH_LEVELS ?? '1,50,200,500').split(',').map(Number);
// Levels also measured with every caller keying at once (the worst case).
const BURST = (process.env.BENCH_BURST ?? '200').split(',').map(Number);
const MAIL = Number(process.env.BENCH_MAIL ?? 10_000);
// Deliveries under way at once in the second in-process measurement (as from several SMTP connections).
const MAIL_CONCURRENCY = Number(process.env.BENCH_MAIL_CONCURRENCY ?? 8);
const FANOUT = Number(process.env.BENCH_FANOUT ?? 1000);
const ms = (v: number) => v.toFixed(2);
const row = (label: string, s: Stats) => `| ${label} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} |`;
/** Medians of several runs, per percentile: the machine is noisy. */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mergeStats = (all: Stats[]): Stats => ({
  n: all.reduce((a, s) => a + s.n, 0),
  p50: median(all.map((s) => s.p50)),
  p95: median(all.map((s) => s.p95)),
  p99: median(all.map((s) => s.p99)),
  max: Math.max(...all.map((s) => s.max)),
});

/** One mail benchmark in a fresh process (see mail-child.ts). */
async function inChild(kind: 'in-process' | 'smtp' | 'floor', count: number, concurrency = 1): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./mail-child.ts', import.meta.url)), kind, String(count), String(concurrency)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`mail benchmark ${kind} exited with ${String(code)}`);
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const floor = await websocketFloor();
console.log('websocket floor', floor);
const results: Array<{ level: number; model: LoadModel; runs: IvrRun[] }> = [];
for (const level of LEVELS) {
  const bench = await ivrBench(level);
  try {
    // One round to warm up (JIT, connection pools) — a service that has been running a while.
    await bench.run('paced');
    for (const model of ['paced', 'burst'] as const) {
      if (model === 'burst' && !BURST.includes(level)) continue;
      const runs: IvrRun[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await bench.run(model);
        console.log(`N=${level} ${model} run ${i + 1}: decision p99 ${ms(r.decision.p99)} ms, pop p99 ${ms(r.pop.p99)} ms, errors ${r.errors}, misrouted ${r.misrouted}, peak in IVR ${r.peakInIvr}, Hotline CPU ${ms(r.cpuMsPerCall)} ms/call, generator lag p99 ${ms(r.generatorLagP99)} ms, max ${ms(r.generatorLagMax)} ms`);
        runs.push(r);
      }
      results.push({ level, model, runs });
    }
  } finally {
    await bench.close();
  }
}

const mailRuns: Array<{ inProcess: MailRun; concurrent: MailRun; floor: number; floorCpu: number; smtp: MailRun }> = [];
for (let i = 0; i < RUNS; i++) {
  const run = (await inChild('in-process', MAIL)) as MailRun;
  const concurrent = (await inChild('in-process', MAIL, MAIL_CONCURRENCY)) as MailRun;
  const parser = (await inChild('floor', MAIL)) as FloorRun;
  const smtp = (await inChild('smtp', MAIL)) as MailRun;
  console.log(`mail run ${i + 1}: in-process ${run.perSecond.toFixed(0)}/s, ${MAIL_CONCURRENCY} at once ${concurrent.perSecond.toFixed(0)}/s (floor ${parser.perSecond.toFixed(0)}/s), SMTP ${smtp.perSecond.toFixed(0)}/s, peak RSS ${run.peakRssMb.toFixed(0)} / ${concurrent.peakRssMb.toFixed(0)} / ${smtp.peakRssMb.toFixed(0)} MB`);
  mailRuns.push({ inProcess: run, concurrent, floor: parser.perSecond, floorCpu: parser.cpuMsPerMessage, smtp });
}
const fanRuns = [];
for (let i = 0; i < RUNS; i++) {
  const r = await fanOut(FANOUT, 2000);
  console.log(`fan-out run ${i + 1}: p99 ${ms(r.latency.p99)} ms, wrong socket ${r.wrongSocket}`);
  fanRuns.push(r);
}

const lines = [
  '# Benchmark results',
  '',
  `Recorded ${new Date().toISOString()} by \`npm run bench\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  `Each figure is the median over ${RUNS} runs of that percentile (max: the largest seen); times in milliseconds.`,
  '',
  '## IVR decision and screen-pop latency',
  '',
  'Hotline runs as its own process: the real `hotline serve` from `dist/`, on a fresh SQLite file. The benchmark process',
  "plays everybody else over real sockets: Asterisk (the fake: ARI HTTP + websocket, AMI TCP), the callers, and each ticket",
  "owner's browser (a socket.io client that acknowledges the pop as `pops.js` does). N agents each own one ticket; N calls",
  'each key one of those TTNs (no `#`: entry ends at the usual length). Decision: final DTMF sent by the fake → `continue`',
  "received by the fake. Pop: final DTMF → `call.incoming` at the owner's socket. The decision includes the owner's",
  'acknowledgement of the pop (the pop is on screen before the phone rings), so pop < decision.',
  '',
  'Load: *paced* — the N calls arrive over 3 s and every caller keys at a human pace (150–250 ms between digits), so',
  '(see "peak in IVR") all N are in the IVR together while their last digits fall at different moments. *burst* — all N',
  'callers key their whole number at once, 10 ms between digits: N decisions due in the same instant, the worst case.',
  'Each level starts with one unrecorded warm-up round.',
  '',
  '| measure | samples | p50 | p95 | p99 | max |',
  '| --- | --- | --- | --- | --- | --- |',
  row('floor: bare websocket round trip (loopback)', floor),
];
for (const { level, model, runs } of results) {
  lines.push(row(`decision, N=${level} ${model}`, mergeStats(runs.map((r) => r.decision))));
  lines.push(row(`pop, N=${level} ${model}`, mergeStats(runs.map((r) => r.pop))));
}
lines.push(
  '',
  '| N, load | errors (all runs) | misrouted (all runs) | peak in IVR | Hotline CPU per call (ms) | benchmark process lag p99 / max (ms) |',
  '| --- | --- | --- | --- | --- | --- |',
);
for (const { level, model, runs } of results) {
  lines.push(
    `| ${level} ${model} | ${runs.reduce((a, r) => a + r.errors, 0)} | ${runs.reduce((a, r) => a + r.misrouted, 0)} | ${median(runs.map((r) => r.peakInIvr))} | ${ms(median(runs.map((r) => r.cpuMsPerCall)))} | ${ms(median(runs.map((r) => r.generatorLagP99)))} / ${ms(Math.max(...runs.map((r) => r.generatorLagMax)))} |`,
  );
}
const clean = [...new Set(results.map((r) => r.level))].filter((level) => results.filter((r) => r.level === level).every(({ runs }) => runs.every((r) => r.errors === 0 && r.misrouted === 0)));
lines.push('', `Largest N handled with no misrouted or dropped call: ${clean.length ? Math.max(...clean) : 'none'}.`, '');
lines.push(
  "An error is a call without `continue`, or whose pop never reached the owner's socket. The benchmark process's own",
  'event-loop lag is shown because it is how late the fake can notice what Hotline sent; Hotline CPU per call is read',
  'from /proc for the whole round (IVR, pop, hand-off, AMI events) divided by N.',
  '',
);

const med = (f: (r: (typeof mailRuns)[number]) => number) => median(mailRuns.map(f));
lines.push(
  '## Mail ingest',
  '',
  `${MAIL} generated messages (half new, half follow-ups by TTN; 2–50 KB; every tenth with a 16 KB attachment), through the`,
  'built service (`dist/`). In-process: the pipeline from raw bytes — stored and on disk (fdatasync of the WAL, shared by',
  'messages arriving together), parsed on the mail thread, filed as a ticket or follow-up with attachments, auto-reply',
  `composed and sent to the outbox — one message at a time, and ${MAIL_CONCURRENCY} at once (as from several SMTP connections or an IMAP`,
  'batch). SMTP: the same count sent by a pooled nodemailer transport (4 connections) to the listener, until every message',
  'is filed. Floor: mailparser alone on the same messages, one at a time on one thread. Each measurement runs in a fresh',
  'process, so its peak RSS is its own. CPU per message: user + system time of the whole process (main thread, mail',
  "thread, V8's garbage collector and compiler threads, libuv's thread pool; the benchmark's own message generation",
  'included) over the measured messages; for mailparser alone, the time of the parse calls.',
  '',
  '| measure | one at a time | ' + `${MAIL_CONCURRENCY} at once |`,
  '| --- | --- | --- |',
  `| in-process messages/s | ${med((r) => r.inProcess.perSecond).toFixed(0)} | ${med((r) => r.concurrent.perSecond).toFixed(0)} |`,
  `| in-process / floor (mailparser alone: ${med((r) => r.floor).toFixed(0)} messages/s) | ${(100 * med((r) => r.inProcess.perSecond / r.floor)).toFixed(0)} % | ${(100 * med((r) => r.concurrent.perSecond / r.floor)).toFixed(0)} % |`,
  `| in-process CPU per message, every thread (mailparser alone: ${ms(med((r) => r.floorCpu))} ms) | ${ms(med((r) => r.inProcess.cpuMsPerMessage ?? NaN))} ms | ${ms(med((r) => r.concurrent.cpuMsPerMessage ?? NaN))} ms |`,
  `| in-process per message p50 / p99 (ms) | ${ms(med((r) => r.inProcess.perMessage.p50))} / ${ms(med((r) => r.inProcess.perMessage.p99))} | ${ms(med((r) => r.concurrent.perMessage.p50))} / ${ms(med((r) => r.concurrent.perMessage.p99))} |`,
  `| in-process peak RSS | ${med((r) => r.inProcess.peakRssMb).toFixed(0)} MB | ${med((r) => r.concurrent.peakRssMb).toFixed(0)} MB |`,
  `| outcomes (last run) | ${JSON.stringify(mailRuns.at(-1)?.inProcess.outcomes)} | ${JSON.stringify(mailRuns.at(-1)?.concurrent.outcomes)} |`,
  '',
  '| SMTP (4 connections) | |',
  '| --- | --- |',
  `| messages/s | ${med((r) => r.smtp.perSecond).toFixed(0)} |`,
  `| per message (send to 250) p50 / p99 | ${ms(med((r) => r.smtp.perMessage.p50))} / ${ms(med((r) => r.smtp.perMessage.p99))} ms |`,
  `| peak RSS | ${med((r) => r.smtp.peakRssMb).toFixed(0)} MB |`,
  '',
  '## Screen-pop fan-out',
  '',
  `${FANOUT} connected agent sockets (socket.io clients over websockets, in the same process); 2,000 pops, each to one agent's room.`,
  '',
  '| measure | samples | p50 | p95 | p99 | max |',
  '| --- | --- | --- | --- | --- | --- |',
  row(`pop to one agent of ${FANOUT}`, mergeStats(fanRuns.map((r) => r.latency))),
  '',
  `Pops delivered to a wrong socket: ${fanRuns.reduce((a, r) => a + r.wrongSocket, 0)}.`,
  '',
);
lines.push('<!-- web-load -->', ...webLoadSection(await webLoadBench()), '<!-- /web-load -->');
lines.push('<!-- lists -->', ...listsSection(await listsBench()), '<!-- /lists -->');

/** A benchmark script run alone; what it prints on stdout (markdown). */
async function script(name: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(name, import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${name} exited with ${String(code)}`);
  return out.trim();
}
lines.push(
  '## Mail: SIGKILL during a flood',
  '',
  '2,000 messages to the built `hotline serve` over 8, 10 and 12 SMTP connections (one run each; every tenth message with',
  '40 files, every hundredth with 900). The process is killed with SIGKILL as a 900-file message comes in — run 1 right',
  'after its 250, run 2 the moment its ticket is committed, run 3 50 ms after that — and started again on the same data',
  'folder; the senders deliver again what was never acknowledged, as MTAs do. Counted once every stored message is filed.',
  '',
  await script('./mail-kill.ts'),
  '',
  '## Mail: decoding, field by field',
  '',
  'Each message sent over SMTP to a fresh Hotline; what it stored (the article\'s sender, name, subject and text, its files)',
  'compared with what a careful reader expects (`test/helpers/mail-corpus.ts`; charset: nothing shown is garbled). The',
  'generated corpus knows what it wrote; the shared one has reviewed expectations in `test/mail-corpus/znuny-expected.json`.',
  await script('./mail-corpus.ts'),
  '',
);
// The targets (2-core machine), against this run's medians.
const at200 = results.find((r) => r.level === 200 && r.model === 'paced');
const decision200 = at200 ? mergeStats(at200.runs.map((r) => r.decision)).p99 : NaN;
const pop200 = at200 ? mergeStats(at200.runs.map((r) => r.pop)).p99 : NaN;
const mailRate = med((r) => r.inProcess.perSecond);
const mailShare = med((r) => r.inProcess.perSecond / r.floor);
const mailRateAtOnce = med((r) => r.concurrent.perSecond);
const mailShareAtOnce = med((r) => r.concurrent.perSecond / r.floor);
const mailRss = Math.max(med((r) => r.inProcess.peakRssMb), med((r) => r.concurrent.peakRssMb), med((r) => r.smtp.peakRssMb));
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
lines.push(
  '## Targets',
  '',
  '| target | this run | |',
  '| --- | --- | --- |',
  `| decision p99 ≤ 10 ms at 200 concurrent calls (paced) | ${ms(decision200)} ms | ${verdict(decision200 <= 10)} |`,
  `| pop p99 ≤ 25 ms (200 concurrent calls, paced) | ${ms(pop200)} ms | ${verdict(pop200 <= 25)} |`,
  `| in-process ingest ≥ 500 messages/s, one at a time | ${mailRate.toFixed(0)} | ${verdict(mailRate >= 500)} |`,
  `| in-process ingest ≥ 500 messages/s, ${MAIL_CONCURRENCY} at once | ${mailRateAtOnce.toFixed(0)} | ${verdict(mailRateAtOnce >= 500)} |`,
  `| in-process ingest ≥ 50 % of mailparser alone, one at a time | ${(100 * mailShare).toFixed(0)} % | ${verdict(mailShare >= 0.5)} |`,
  `| in-process ingest ≥ 50 % of mailparser alone, ${MAIL_CONCURRENCY} at once | ${(100 * mailShareAtOnce).toFixed(0)} % | ${verdict(mailShareAtOnce >= 0.5)} |`,
  `| peak RSS ≤ 400 MB for ${MAIL} messages | ${mailRss.toFixed(0)} MB | ${verdict(mailRss <= 400)} |`,
  '',
  readFileSync(new URL('./NOTES.md', import.meta.url), 'utf8'),
);
writeFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
process.exit(0);
