// IVR decision and screen-pop latency. Hotline runs as its own process — the real `hotline serve`
// from dist/ — so the figures are Hotline's alone; this process plays everybody else: Asterisk (the
// fake, over real sockets), the callers keying their TTNs, and each owner's browser (a socket.io
// client that acknowledges the pop). Per call: final DTMF sent → `continue` received by the fake
// (decision), and → `call.incoming` at the owner's socket (pop). Floor: a bare websocket round trip.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { createHotline as CreateHotline } from '../src/app.js';
import type { loadConfig as LoadConfig } from '../src/config.js';
import type { FakeCall } from '../test/fake-asterisk/fake-asterisk.js';
import { createFakeAsterisk } from '../test/fake-asterisk/fake-asterisk.js';
import { tempDir } from '../test/helpers/hotline.js';
import { LAB_QUEUES } from '../test/helpers/pbx.js';

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1) ?? NaN };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Loopback websocket echo round trips: the floor no pop can beat. */
export async function websocketFloor(samples = 2000): Promise<Stats> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  const port = (wss.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r) => ws.once('open', r));
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send('x');
    });
    times.push(performance.now() - t0);
  }
  ws.close();
  await new Promise((r) => wss.close(r));
  return stats(times);
}

/**
 * How the callers behave. `paced`: calls arrive spread over `rampMs` and each caller keys at a
 * human pace (150–250 ms between digits), so all N are in the IVR together while their last
 * digits fall at different moments. `burst`: every caller keys the whole number at once, 10 ms
 * apart — N decisions due in the same instant, the worst case.
 */
export type LoadModel = 'paced' | 'burst';

export interface IvrRun {
  concurrency: number;
  model: LoadModel;
  decision: Stats;
  /** Every decision's time (ms), for percentiles over several rounds together. */
  decisions: number[];
  pop: Stats;
  /** Calls without a `continue`, or whose pop never reached the owner. */
  errors: number;
  /** Calls continued with another ticket's TTN or target. */
  misrouted: number;
  /** Most calls in the IVR at one moment (between StasisStart and `continue`). */
  peakInIvr: number;
  /** Hotline's CPU time (user + system) per call, from /proc. */
  cpuMsPerCall: number;
  /** p99 event-loop delay of this process (fake Asterisk and browsers): how late it may notice what Hotline sent. */
  generatorLagP99: number;
  /** Its longest stall. */
  generatorLagMax: number;
  /** CPU use of Hotline and of this process over the round, in % of one core. */
  hotlineCpuPct: number;
  generatorCpuPct: number;
}

/** A seeded PRNG (mulberry32): the same pacing in every run. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Once `hotline serve` (the child) has said where it listens and how its mail is: its address, and its
 * SMTP port (0 when off).
 */
export function listeningOn(child: ChildProcess): Promise<{ base: string; smtpPort: number }> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`hotline serve exited (${code}): ${out}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m && /Mail: /.test(out)) resolve({ base: m[1]!, smtpPort: Number(/SMTP listening on [\d.]+:(\d+)/.exec(out)?.[1] ?? 0) });
    });
  });
}

/** A round's calls scored: each caller's last key → `continue` (decision) and → the owner's pop; misrouted calls; calls without either. */
export function scoreCalls(calls: FakeCall[], owners: Array<{ id: number; dial: string; ttn: string }>, popAt: Map<string, number>) {
  const decision: number[] = [];
  const pop: number[] = [];
  let errors = 0;
  let misrouted = 0;
  calls.forEach((c, i) => {
    const owner = owners[i]!;
    const last = c.timeOf('dtmf');
    const cont = c.timeOf('continue');
    if (last === undefined || cont === undefined) return;
    decision.push(cont - last);
    const p = popAt.get(`${owner.id}:${owner.ttn}`);
    if (p === undefined) errors++;
    else pop.push(p - last);
    if (c.vars.get('HOTLINE_TARGET') !== owner.dial || c.vars.get('HOTLINE_TTN') !== owner.ttn) misrouted++;
  });
  return { decision, pop, errors, misrouted };
}

/** This process's CPU time (user + system, every thread) since `since`, in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Hotline's CPU time so far (user + system, ms), read from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * The Hotline build measured: this checkout's, or BENCH_HOTLINE_ROOT's (another checkout, built, e.g. an
 * earlier commit in a git worktree, for a before/after in one run). Seeding uses the same build, so the
 * database has the schema that build expects.
 */
const ROOT = process.env.BENCH_HOTLINE_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const BIN = `${ROOT}/bin/hotline.js`;
const built = async () => ({
  createHotline: ((await import(`${ROOT}/dist/app.js`)) as { createHotline: typeof CreateHotline }).createHotline,
  loadConfig: ((await import(`${ROOT}/dist/config.js`)) as { loadConfig: typeof LoadConfig }).loadConfig,
});

export interface BenchOptions {
  /** Tickets besides the owners' (for list pages at scale), spread over both queues, a quarter closed. */
  tickets?: number;
  /** The SMTP listener on (a free port), for mail floods beside the calls. */
  smtp?: boolean;
}

/**
 * A Hotline process with N agents (each owning one Billing ticket, each with an open browser),
 * connected to a fake Asterisk in this process. `run()` places one round of N calls.
 */
export async function ivrBench(concurrency: number, options: BenchOptions = {}) {
  const { createHotline, loadConfig } = await built();
  const fake = createFakeAsterisk({ queues: LAB_QUEUES, timing: { playbackMs: 3000, ringMs: 50 } });
  await fake.start();
  const { dir, cleanup } = tempDir('hotline-bench-');
  const env = {
    HOTLINE_DATA_DIR: dir,
    HOTLINE_HTTP_PORT: '0',
    HOTLINE_SMTP_ENABLED: options.smtp ? 'true' : 'false',
    HOTLINE_SMTP_PORT: '0',
    // Flooding senders come from loopback too.
    HOTLINE_SMTP_MAX_CONNECTIONS_PER_ADDRESS: '1000',
    HOTLINE_ARI_URL: fake.ariUrl,
    HOTLINE_AMI_PORT: String(fake.amiPort),
    HOTLINE_LOG_LEVEL: 'warn',
    // Every simulated agent's browser connects from loopback: more than one address's default share.
    HOTLINE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
  };

  // Seeded before the service starts, on the same file. Agents are inserted directly: hashing
  // hundreds of passwords measures nothing here; their browsers authenticate with API tokens.
  const seedHotline = await createHotline(loadConfig({ env, cwd: dir }), { log: pino({ level: 'silent' }) });
  await seedHotline.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
  const billing = await seedHotline.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing' });
  const insert = seedHotline.db.prepare("INSERT INTO agents (login, name, password_hash, role, dial_string, device_interface, created_at) VALUES (?, ?, 'none', 'agent', ?, ?, ?) RETURNING id").pluck();
  const owners: Array<{ id: number; dial: string; token: string; ttn: string }> = [];
  for (let i = 0; i < concurrency; i++) {
    const dial = `PJSIP/9${String(i).padStart(3, '0')}`;
    const id = insert.get(`bench${i}`, `Bench ${i}`, dial, dial, new Date().toISOString()) as number;
    await seedHotline.directory.setAccess(id, billing.id, 'rw');
    const { ticket } = await seedHotline.tickets.create({ queueId: billing.id, title: `bench ${i}`, ownerId: id, article: { kind: 'note', text: 'bench' } });
    owners.push({ id, dial, token: await seedHotline.auth.createApiToken(id, 'bench'), ttn: ticket.ttn });
    fake.setDeviceState(dial, 'NOT_INUSE');
    fake.phones.set(dial, 'answer');
  }
  // An agent who sees both queues, logged in, for list pages over the extra tickets.
  await seedHotline.agents.create({ login: 'lister', name: 'Lister', role: 'agent', password: 'lister-password' });
  const lister = (await seedHotline.agents.findByLogin('lister'))!;
  const support = (await seedHotline.directory.defaultQueue())!;
  for (const q of [support, billing]) await seedHotline.directory.setAccess(lister.id, q.id, 'rw');
  const session = await seedHotline.auth.login('lister', 'lister-password', '127.0.0.1');
  if (options.tickets) {
    const ticket = seedHotline.db.prepare(
      "INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES (?, ?, ?, ?, 3, ?, ?)",
    );
    const start = Date.now() - options.tickets * 60_000;
    seedHotline.db.transaction(() => {
      for (let i = 0; i < options.tickets!; i++) {
        const at = new Date(start + i * 60_000).toISOString();
        ticket.run(`8${String(i).padStart(12, '0')}`, `Seeded ticket ${i}: printer offline again`, i % 2 ? support.id : billing.id, ['new', 'open', 'pending', 'closed'][i % 4], at, at);
      }
    })();
  }
  seedHotline.close();

  // BENCH_PROFILE=<dir>: Hotline writes a CPU profile there when it stops (open it in Chrome's DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  // BENCH_HOTLINE_FLAGS: more node flags for Hotline, e.g. --trace-gc.
  profile.push(...(process.env.BENCH_HOTLINE_FLAGS?.split(' ').filter(Boolean) ?? []));
  // BENCH_HOTLINE_NICE=-5: Hotline runs at that nice value (as a site's systemd unit would set it with Nice=).
  const nice = process.env.BENCH_HOTLINE_NICE ? ['nice', '-n', process.env.BENCH_HOTLINE_NICE] : [];
  const [command, ...args] = [...nice, process.execPath, ...profile, BIN, 'serve'];
  const child: ChildProcess = spawn(command!, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const { base, smtpPort } = await listeningOn(child);
  for (let deadline = Date.now() + 20_000; ; await sleep(50)) {
    const health = (await (await fetch(`${base}/healthz`)).json()) as { pbx?: { ari: string; ami: string } };
    if (health.pbx?.ari === 'connected' && health.pbx.ami === 'connected') break;
    if (Date.now() > deadline) throw new Error(`Hotline never connected to the fake Asterisk: ${JSON.stringify(health)}`);
  }
  await fake.waitForApp();

  // The owners' browsers: one socket each, acknowledging pops as pops.js does.
  const popAt = new Map<string, number>();
  const sockets: Socket[] = owners.map((o) => {
    const socket = io(base, { auth: { token: o.token }, transports: ['websocket'], forceNew: true, reconnection: false });
    socket.on('call.incoming', (pop: { ticket: { ttn: string } | null }, ack?: () => void) => {
      if (pop.ticket) popAt.set(`${o.id}:${pop.ticket.ttn}`, performance.now());
      ack?.();
    });
    return socket;
  });
  await Promise.all(sockets.map((s) => (s.connected ? Promise.resolve() : new Promise<void>((r) => s.once('connect', () => r())))));
  await sleep(500);

  return {
    /** Where an agent's browser loads pages, with the lister's session cookie. */
    web: { base, cookie: `hotline_session=${session!.token}`, smtpPort },
    async run(model: LoadModel): Promise<IvrRun> {
      popAt.clear();
      const random = prng(concurrency);
      const cpuBefore = cpuMs(child.pid!);
      const ownBefore = process.cpuUsage();
      const startedAt = performance.now();
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      let inIvr = 0;
      let peakInIvr = 0;
      const rampMs = 3000;
      const calls: FakeCall[] = [];
      const keyed = owners.map(async (owner, i) => {
        if (model === 'paced') await sleep((rampMs * i) / concurrency);
        // Callers of their own (one number reaching many tickets is what the guessing limits stop).
        const call = fake.placeCall({ number: `030${String(1_000_000 + i)}` });
        calls[i] = call;
        await call.waitFor('stasis-start', 30_000);
        inIvr++;
        peakInIvr = Math.max(peakInIvr, inIvr);
        void call.waitFor('continue', 60_000).then(
          () => inIvr--,
          () => inIvr--,
        );
        if (model === 'burst') return;
        await sleep(300);
        for (const digit of owner.ttn) {
          await call.press(digit, 0);
          await sleep(150 + 100 * random());
        }
      });
      await Promise.all(keyed);
      if (model === 'burst') await Promise.all(calls.map((c, i) => c.press(owners[i]!.ttn, 10)));

      let errors = 0;
      await Promise.all(calls.map((c) => c.waitFor('continue', 30_000).catch(() => errors++)));
      lag.disable();
      const elapsed = performance.now() - startedAt;
      const generatorCpuPct = (100 * cpuMsSince(ownBefore)) / elapsed;
      const hotlineCpuPct = (100 * (cpuMs(child.pid!) - cpuBefore)) / elapsed;
      await sleep(500);
      const cpuMsPerCall = (cpuMs(child.pid!) - cpuBefore) / concurrency;
      const scored = scoreCalls(calls, owners, popAt);
      const { decision, pop, misrouted } = scored;
      errors += scored.errors;
      // BENCH_TRACE=1: the six slowest decisions of the round, each as its call's timeline after the
      // last digit (ms), with the moment its pop reached the owner's socket.
      if (process.env.BENCH_TRACE) {
        const slowest = calls.map((c, i) => ({ c, owner: owners[i]!, d: (c.timeOf('continue') ?? 0) - (c.timeOf('dtmf') ?? 0) })).sort((a, b) => b.d - a.d).slice(0, 6);
        for (const { c, owner, d } of slowest) {
          const last = c.timeOf('dtmf')!;
          const after = c.log.slice(c.log.findLastIndex((l) => l.startsWith('dtmf')));
          const p = popAt.get(`${owner.id}:${owner.ttn}`);
          console.error(`decision ${d.toFixed(1)}, pop ${p === undefined ? '-' : (p - last).toFixed(1)}: ${after.map((l) => `${l.slice(0, 24)} @${(c.timeOf(l)! - last).toFixed(1)}`).join(' | ')}`);
        }
      }
      for (const c of calls) c.hangup();
      await sleep(1000);
      return { concurrency, model, decision: stats(decision), decisions: decision, pop: stats(pop), errors, misrouted, peakInIvr, cpuMsPerCall, generatorLagP99: lag.percentile(99) / 1e6, generatorLagMax: lag.max / 1e6, hotlineCpuPct, generatorCpuPct };
    },
    async close(): Promise<void> {
      for (const s of sockets) s.disconnect();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await fake.stop();
      cleanup();
    },
  };
}
