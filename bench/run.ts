// `npm run bench`: runs every benchmark and rewrites bench/RESULTS.md with the figures and the machine.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fanOut } from './fanout.js';
import type { IvrRun, Stats } from './ivr-pops.js';
import { ivrRun, websocketFloor } from './ivr-pops.js';
import type { MailRun } from './mail.js';
import { inProcess, overSmtp, parserFloor } from './mail.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LEVELS = (process.env.BENCH_LEVELS ?? '1,50,200').split(',').map(Number);
const MAIL = Number(process.env.BENCH_MAIL ?? 10_000);
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

const floor = await websocketFloor();
console.log('websocket floor', floor);
const results: Array<{ level: number; runs: IvrRun[] }> = [];
for (const level of LEVELS) {
  const runs: IvrRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await ivrRun(level);
    console.log(`N=${level} run ${i + 1}: decision p99 ${ms(r.decision.p99)} ms, pop p99 ${ms(r.pop.p99)} ms, errors ${r.errors}, misrouted ${r.misrouted}`);
    runs.push(r);
  }
  results.push({ level, runs });
}

const mailRuns: Array<{ inProcess: MailRun; floor: number; smtp: MailRun }> = [];
for (let i = 0; i < RUNS; i++) {
  const run = await inProcess(MAIL);
  const floorRate = await parserFloor(MAIL);
  const smtp = await overSmtp(MAIL);
  console.log(`mail run ${i + 1}: in-process ${run.perSecond.toFixed(0)}/s (floor ${floorRate.toFixed(0)}/s), SMTP ${smtp.perSecond.toFixed(0)}/s, peak RSS ${run.peakRssMb.toFixed(0)} / ${smtp.peakRssMb.toFixed(0)} MB`);
  mailRuns.push({ inProcess: run, floor: floorRate, smtp });
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
  'N concurrent calls through the fake Asterisk over real sockets (ARI HTTP + websocket, AMI TCP), each keying a valid',
  'TTN (no `#`: entry ends at the usual length). Decision: final DTMF sent by the fake → `continue` received by the fake.',
  "Pop: final DTMF → `call.incoming` at the owner's socket.io client. The decision includes waiting for the owner's",
  'browser to acknowledge the pop (the pop must be on screen before the phone rings), so pop < decision.',
  '',
  '| measure | samples | p50 | p95 | p99 | max |',
  '| --- | --- | --- | --- | --- | --- |',
  row('floor: bare websocket round trip (loopback)', floor),
];
for (const { level, runs } of results) {
  lines.push(row(`decision, N=${level}`, mergeStats(runs.map((r) => r.decision))));
  lines.push(row(`pop, N=${level}`, mergeStats(runs.map((r) => r.pop))));
}
lines.push('', '| N | errors (all runs) | misrouted (all runs) |', '| --- | --- | --- |');
for (const { level, runs } of results) lines.push(`| ${level} | ${runs.reduce((a, r) => a + r.errors, 0)} | ${runs.reduce((a, r) => a + r.misrouted, 0)} |`);
const clean = results.filter(({ runs }) => runs.every((r) => r.errors === 0 && r.misrouted === 0)).map((r) => r.level);
lines.push('', `Largest N handled with no misrouted or dropped call: ${clean.length ? Math.max(...clean) : 'none'}.`, '');
lines.push(
  'The fake Asterisk, the socket.io clients and Hotline share one Node process (and the 2 cores) here, so at N ≥ 50 the',
  "figures include the fake's and the clients' own work. A late pop (counted as an error) reached the owner's socket after",
  'the IVR had stopped waiting for its acknowledgement (300 ms); such calls still rang the right phone.',
  '',
);

const med = (f: (r: (typeof mailRuns)[number]) => number) => median(mailRuns.map(f));
lines.push(
  '## Mail ingest',
  '',
  `${MAIL} generated messages (half new, half follow-ups by TTN; 2–50 KB; every tenth with a 16 KB attachment). In-process:`,
  'the pipeline from raw bytes (fsynced store, parse, ticket or follow-up, attachments, auto-reply to the outbox). SMTP: the',
  'same count sent by a pooled nodemailer transport (4 connections) to the listener, until every message is filed. Floor:',
  'mailparser alone on the in-process messages.',
  '',
  '| measure | value (median of runs) |',
  '| --- | --- |',
  `| in-process messages/s | ${med((r) => r.inProcess.perSecond).toFixed(0)} |`,
  `| floor: mailparser alone, messages/s | ${med((r) => r.floor).toFixed(0)} |`,
  `| in-process / floor | ${(100 * med((r) => r.inProcess.perSecond / r.floor)).toFixed(0)} % |`,
  `| in-process per message p50 / p99 | ${ms(med((r) => r.inProcess.perMessage.p50))} / ${ms(med((r) => r.inProcess.perMessage.p99))} ms |`,
  `| in-process peak RSS | ${med((r) => r.inProcess.peakRssMb).toFixed(0)} MB |`,
  `| SMTP messages/s | ${med((r) => r.smtp.perSecond).toFixed(0)} |`,
  `| SMTP per message (send to 250) p50 / p99 | ${ms(med((r) => r.smtp.perMessage.p50))} / ${ms(med((r) => r.smtp.perMessage.p99))} ms |`,
  `| SMTP peak RSS | ${med((r) => r.smtp.peakRssMb).toFixed(0)} MB |`,
  `| outcomes (last run, in-process) | ${JSON.stringify(mailRuns.at(-1)?.inProcess.outcomes)} |`,
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
writeFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
process.exit(0);
