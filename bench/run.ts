// `npm run bench`: runs every benchmark and rewrites bench/RESULTS.md with the figures and the machine.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { IvrRun, Stats } from './ivr-pops.js';
import { ivrRun, websocketFloor } from './ivr-pops.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LEVELS = (process.env.BENCH_LEVELS ?? '1,50,200').split(',').map(Number);
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
writeFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
process.exit(0);
