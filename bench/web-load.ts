// Calls while the web UI is under load. One Hotline (`hotline serve`) with 200 ticket owners and 20,000
// more tickets; wrk (Debian package `wrk`, a separate process) plays the agents' browsers, loading the
// ticket list as fast as the answers come. Measured in one run: the IVR decision of 200 paced calls
// without and with 1,000 parallel list clients, and the list page's throughput on its own.
// `npm run bench:web` runs this part alone and puts its section into RESULTS.md.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { IvrRun, Stats } from './ivr-pops.js';
import { ivrBench, stats } from './ivr-pops.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CALLS = Number(process.env.BENCH_WEB_CALLS ?? 200);
const TICKETS = Number(process.env.BENCH_WEB_TICKETS ?? 20_000);
const CLIENTS = Number(process.env.BENCH_WEB_CLIENTS ?? 1000);

export interface WrkResult {
  requests: number;
  perSecond: number;
  latency: { p50: number; p90: number; p99: number };
  /** Answers other than 2xx/3xx (503 past the web queue's bound, say). */
  non2xx: number;
  /** Connections refused, reset, or answers slower than wrk's timeout. */
  socketErrors: number;
}

const hasWrk = () => spawnSync('wrk', ['--version']).error === undefined;

function parseMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
}

function parseWrk(out: string): WrkResult {
  const pct = (p: string) => parseMs(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    latency: { p50: pct('50'), p90: pct('90'), p99: pct('99') },
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((a, n) => a + Number(n), 0) : 0,
  };
}

/** wrk on `url` with `connections`; runs until `stop()` (SIGINT: wrk then prints its figures) or `seconds`; `script`: a wrk Lua script. */
function wrk(url: string, cookie: string, connections: number, seconds: number, script?: string) {
  const child = spawn(...normalPriority('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency', '-H', `Cookie: ${cookie}`, ...(script ? ['-s', script] : []), url]), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<WrkResult>((resolve, reject) =>
    child.once('exit', (code, signal) => (code === 0 || signal === 'SIGINT' || out.includes('Requests/sec') ? resolve(parseWrk(out)) : reject(new Error(`wrk exited ${code ?? signal}: ${out}`)))),
  );
  return { done, stop: () => child.kill('SIGINT') };
}

/** bench/mail-flood.ts in its own process, sending over 8 connections until stopped. */
function mailFlood(port: number) {
  const child = spawn(...normalPriority(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./mail-flood.ts', import.meta.url)), String(port), '8']), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<{ sent: number; seconds: number }>((resolve) => child.once('exit', () => resolve(JSON.parse(out.trim() || '{"sent":0,"seconds":1}'))));
  return {
    stop: () => {
      child.kill('SIGINT');
      return done;
    },
  };
}

export interface WebLoadResult {
  unloaded: IvrRun[];
  loaded: Array<{ ivr: IvrRun; load: WrkResult }>;
  /** Rounds while a separate process floods the SMTP listener. */
  mailed: Array<{ ivr: IvrRun; perSecond: number }>;
  page: WrkResult;
  /** The list page when no two requests ask for the same page (every one read from the database and rendered). */
  unshared: WrkResult;
  api: WrkResult;
  /** The benchmark's own process (fake Asterisk, browsers) ran ahead of the load generators (nice -5). */
  generatorAhead: boolean;
}

// Each request a different older page (`before=` a different minute each time): no list is read twice.
const UNSHARED_PAGES = fileURLToPath(new URL('./unshared-pages.lua', import.meta.url));

/** `command args` at the normal priority (nice 0), whatever this process's is. */
function normalPriority(command: string, args: string[]): [string, string[]] {
  const own = getPriority();
  return own === 0 ? [command, args] : ['nice', ['-n', String(-own), command, ...args]];
}

/** Raises this thread's priority to `nice`; false where that is not allowed. */
function raisePriority(nice: number): boolean {
  try {
    setPriority(nice);
    return true;
  } catch {
    return false;
  }
}

export async function webLoadBench(): Promise<WebLoadResult | null> {
  if (!hasWrk()) {
    console.log('web load: skipped — wrk is not installed (Debian package wrk)');
    return null;
  }
  // This process plays Asterisk (the fake) and the agents' browsers. A real Asterisk is a separate,
  // often real-time process (`asterisk -p`); here the load generators would slow the stand-in itself
  // and count that as Hotline's time. So it runs ahead of them (nice -5, where allowed); Hotline and
  // the load generators keep the normal priority.
  const bench = await ivrBench(CALLS, { tickets: TICKETS, smtp: true });
  // BENCH_WEB_ELSEWHERE=1: the list clients load a second Hotline process instead, with no calls: the
  // machine is as busy, but the calls' Hotline does none of the web work (how much is CPU alone).
  const other = process.env.BENCH_WEB_ELSEWHERE ? await ivrBench(1, { tickets: TICKETS }) : null;
  const ahead = raisePriority(-5);
  const { base, cookie, smtpPort } = other ? { ...other.web, smtpPort: bench.web.smtpPort } : bench.web;
  const page = `${base}/tickets`;
  try {
    await bench.run('paced');
    const unloaded: IvrRun[] = [];
    const loaded: WebLoadResult['loaded'] = [];
    const mailed: WebLoadResult['mailed'] = [];
    // Alternating, so both see the same machine.
    for (let i = 0; i < RUNS; i++) {
      const quiet = await bench.run('paced');
      unloaded.push(quiet);
      const load = wrk(page, cookie, CLIENTS, 300);
      // The load settles (all connections open, the web queue full) before the calls come.
      await new Promise((r) => setTimeout(r, 3000));
      const ivr = await bench.run('paced');
      load.stop();
      const figures = await load.done;
      loaded.push({ ivr, load: figures });
      const flood = mailFlood(smtpPort);
      await new Promise((r) => setTimeout(r, 3000));
      const duringMail = await bench.run('paced');
      const mail = await flood.stop();
      mailed.push({ ivr: duringMail, perSecond: mail.sent / mail.seconds });
      console.log(`mail run ${i + 1}: decision p99 ${duringMail.decision.p99.toFixed(2)} ms during ${(mail.sent / mail.seconds).toFixed(0)} messages/s; errors ${duringMail.errors}, misrouted ${duringMail.misrouted}; generator lag p99 ${duringMail.generatorLagP99.toFixed(1)} ms`);
      console.log(`lag run ${i + 1}: generator event-loop lag p99 ${quiet.generatorLagP99.toFixed(1)} ms quiet, ${ivr.generatorLagP99.toFixed(1)} ms beside the web load`);
      console.log(
        `web run ${i + 1}: decision p99 ${quiet.decision.p99.toFixed(2)} ms unloaded, ${ivr.decision.p99.toFixed(2)} ms with ${CLIENTS} list clients (${figures.perSecond.toFixed(0)} pages/s, p99 ${figures.latency.p99.toFixed(0)} ms, non-2xx ${figures.non2xx}, socket errors ${figures.socketErrors}); errors ${ivr.errors}, misrouted ${ivr.misrouted}`,
      );
    }
    const pageAlone = wrk(page, cookie, 50, 10);
    const pageFigures = await pageAlone.done;
    const unshared = await wrk(page, cookie, 50, 10, UNSHARED_PAGES).done;
    const api = wrk(`${base}/api/v1/tickets?limit=50`, cookie, 50, 10);
    const apiFigures = await api.done;
    console.log(`list page alone: ${pageFigures.perSecond.toFixed(0)}/s (p99 ${pageFigures.latency.p99} ms); every request another page: ${unshared.perSecond.toFixed(0)}/s; API limit=50: ${apiFigures.perSecond.toFixed(0)}/s`);
    return { unloaded, loaded, mailed, page: pageFigures, unshared, api: apiFigures, generatorAhead: ahead };
  } finally {
    await bench.close();
    await other?.close();
    // Back to normal for whatever this process runs next (and the processes it starts).
    if (ahead) setPriority(0);
  }
}

const ms = (v: number) => v.toFixed(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p = (stats: Stats[], k: keyof Stats) => median(stats.map((s) => s[k]));

/** The section for RESULTS.md. */
export function webLoadSection(r: WebLoadResult | null): string[] {
  const lines = ['## Calls while the web UI is under load', ''];
  if (!r) return [...lines, 'Not measured in this run: wrk (Debian package `wrk`) is not installed.', ''];
  const quiet = r.unloaded.map((x) => x.decision);
  const busy = r.loaded.map((x) => x.ivr.decision);
  const mail = r.mailed.map((x) => x.ivr.decision);
  const mailRatio = p(mail, 'p99') / p(quiet, 'p99');
  const ratio = p(busy, 'p99') / p(quiet, 'p99');
  const rate = median(r.loaded.map((x) => x.load.perSecond));
  // A round's p99 rests on its two slowest of 200 decisions; all rounds' decisions together on ten or more.
  const pooled = (runs: IvrRun[]) => stats(runs.flatMap((x) => x.decisions));
  const [quietAll, busyAll, mailAll] = [pooled(r.unloaded), pooled(r.loaded.map((x) => x.ivr)), pooled(r.mailed.map((x) => x.ivr))];
  const pooledRatio = busyAll.p99 / quietAll.p99;
  const pooledMailRatio = mailAll.p99 / quietAll.p99;
  lines.push(
    `One \`hotline serve\` with ${CALLS} ticket owners and ${TICKETS.toLocaleString('en')} more tickets (both queues, a quarter closed). wrk, a`,
    `separate process, plays the agents' browsers: ${CLIENTS} connections each loading the ticket list (\`/tickets\`, the open`,
    'ones of both queues, 50 rows) again as soon as the last answer came, for the whole round. The calls are the paced',
    `round of the table above (N=${CALLS}); rounds without and with the load alternate, ${RUNS} of each. Figures: medians over`,
    'the rounds ("all together": every decision of that kind of round in one sample); max: the largest seen. A third kind of round has no web load but a separate process sending new-ticket',
    'mail (2 KB, each filed as a ticket with an auto-reply) over 8 SMTP connections as fast as it is accepted.',
    'The load generators (wrk, the mail sender) run on the same two cores at normal priority, as Hotline does: they take CPU',
    `from the calls too. ${r.generatorAhead ? "The benchmark's own process (the fake Asterisk and the agents' browsers) runs at nice -5, as a real Asterisk often runs with `asterisk -p`, so that the load does not slow the stand-in for Asterisk and count that as Hotline's time." : "The benchmark's own process could not be given a higher priority in this run (not root): the load slows the fake Asterisk too, and that counts in the figures."}`,
    'A list read again unchanged is served from memory (it changes with any ticket written); the "different page" row',
    'asks for a different older page every time, so every answer is read from the database and rendered.',
    '',
    '| measure | p50 | p95 | p99 | max |',
    '| --- | --- | --- | --- | --- |',
    `| decision, no web load | ${ms(p(quiet, 'p50'))} | ${ms(p(quiet, 'p95'))} | ${ms(p(quiet, 'p99'))} | ${ms(Math.max(...quiet.map((s) => s.max)))} |`,
    `| decision, no web load, all ${quietAll.n} together | ${ms(quietAll.p50)} | ${ms(quietAll.p95)} | ${ms(quietAll.p99)} | ${ms(quietAll.max)} |`,
    `| decision, ${CLIENTS} list clients | ${ms(p(busy, 'p50'))} | ${ms(p(busy, 'p95'))} | ${ms(p(busy, 'p99'))} | ${ms(Math.max(...busy.map((s) => s.max)))} |`,
    `| decision, ${CLIENTS} list clients, all ${busyAll.n} together | ${ms(busyAll.p50)} | ${ms(busyAll.p95)} | ${ms(busyAll.p99)} | ${ms(busyAll.max)} |`,
    `| pop, ${CLIENTS} list clients | ${ms(p(r.loaded.map((x) => x.ivr.pop), 'p50'))} | ${ms(p(r.loaded.map((x) => x.ivr.pop), 'p95'))} | ${ms(p(r.loaded.map((x) => x.ivr.pop), 'p99'))} | ${ms(Math.max(...r.loaded.map((x) => x.ivr.pop.max)))} |`,
    `| decision, SMTP flood (${median(r.mailed.map((x) => x.perSecond)).toFixed(0)} messages/s) | ${ms(p(mail, 'p50'))} | ${ms(p(mail, 'p95'))} | ${ms(p(mail, 'p99'))} | ${ms(Math.max(...mail.map((s) => s.max)))} |`,
    `| decision, SMTP flood, all ${mailAll.n} together | ${ms(mailAll.p50)} | ${ms(mailAll.p95)} | ${ms(mailAll.p99)} | ${ms(mailAll.max)} |`,
    '',
    '| web load | pages/s | page p50 / p90 / p99 (ms) | non-2xx | socket errors | calls: errors / misrouted |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.loaded.map(
      (x, i) =>
        `| round ${i + 1}, ${CLIENTS} clients | ${x.load.perSecond.toFixed(0)} | ${x.load.latency.p50.toFixed(0)} / ${x.load.latency.p90.toFixed(0)} / ${x.load.latency.p99.toFixed(0)} | ${x.load.non2xx} | ${x.load.socketErrors} | ${x.ivr.errors} / ${x.ivr.misrouted} |`,
    ),
    `| list page alone, 50 clients, 10 s | ${r.page.perSecond.toFixed(0)} | ${r.page.latency.p50.toFixed(1)} / ${r.page.latency.p90.toFixed(1)} / ${r.page.latency.p99.toFixed(1)} | ${r.page.non2xx} | ${r.page.socketErrors} | – |`,
    `| list page alone, each request a different page (none served from memory), 50 clients, 10 s | ${r.unshared.perSecond.toFixed(0)} | ${r.unshared.latency.p50.toFixed(1)} / ${r.unshared.latency.p90.toFixed(1)} / ${r.unshared.latency.p99.toFixed(1)} | ${r.unshared.non2xx} | ${r.unshared.socketErrors} | – |`,
    `| API \`/api/v1/tickets?limit=50\` alone, 50 clients, 10 s | ${r.api.perSecond.toFixed(0)} | ${r.api.latency.p50.toFixed(1)} / ${r.api.latency.p90.toFixed(1)} / ${r.api.latency.p99.toFixed(1)} | ${r.api.non2xx} | ${r.api.socketErrors} | – |`,
    '',
    '| target | this run | |',
    '| --- | --- | --- |',
    `| decision p99 with ${CLIENTS} list clients ≤ 2 × without | ${ms(p(busy, 'p99'))} vs ${ms(p(quiet, 'p99'))} ms (${ratio.toFixed(2)} ×) | ${ratio <= 2 ? 'met' : '**missed**'} |`,
    `| the same, p99 of all ${busyAll.n} decisions of the rounds together | ${ms(busyAll.p99)} vs ${ms(quietAll.p99)} ms (${pooledRatio.toFixed(2)} ×) | ${pooledRatio <= 2 ? 'met' : '**missed**'} |`,
    `| decision p99 during an SMTP flood ≤ 2 × without | ${ms(p(mail, 'p99'))} vs ${ms(p(quiet, 'p99'))} ms (${mailRatio.toFixed(2)} ×) | ${mailRatio <= 2 ? 'met' : '**missed**'} |`,
    `| the same, p99 of all ${mailAll.n} decisions of the rounds together | ${ms(mailAll.p99)} vs ${ms(quietAll.p99)} ms (${pooledMailRatio.toFixed(2)} ×) | ${pooledMailRatio <= 2 ? 'met' : '**missed**'} |`,
    `| 50-row list page ≥ 1,000 pages/s at ${TICKETS.toLocaleString('en')} tickets | ${r.page.perSecond.toFixed(0)} alone, ${rate.toFixed(0)} beside the calls | ${r.page.perSecond >= 1000 ? 'met' : '**missed**'} |`,
    '',
  );
  return lines;
}

const START = '<!-- web-load -->';
const END = '<!-- /web-load -->';

/** RESULTS.md with this part's section replaced (or added before the targets). */
export function spliceSection(results: string, section: string[]): string {
  const block = `${START}\n${section.join('\n')}\n${END}`;
  const at = results.indexOf(START);
  if (at >= 0) return results.slice(0, at) + block + results.slice(results.indexOf(END) + END.length);
  const notes = results.indexOf('\n## Targets');
  return notes >= 0 ? `${results.slice(0, notes)}\n${block}\n${results.slice(notes)}` : `${results}\n${block}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('./RESULTS.md', import.meta.url);
  const section = webLoadSection(await webLoadBench());
  writeFileSync(file, spliceSection(readFileSync(file, 'utf8'), section));
  console.log(section.join('\n'));
  process.exit(0);
}
