// `npm run bench:instances` (#19): the same calls, the same agents, on three set-ups —
//   sqlite: one Hotline on the SQLite file (the embedded default);
//   pg:     one Hotline on PostgreSQL 15, pops through Redis;
//   pg2:    two Hotlines on one PostgreSQL and one Redis, calls spread over both;
//   sqlite2 (asked for by BENCH_SETUPS only): a second, identical SQLite set-up — how far two set-ups
//           that do the same work differ on this machine, against which to read the others' ratios.
// The set-ups are started side by side; after a warm-up round each, they take turns for ROUNDS rounds
// each of N callers keying their TTNs at a human pace, on the fake Asterisk (one Stasis app per
// instance). Half the owners' browsers are on the other instance than the call (pg2), so their pops
// cross Redis. Reported per set-up: the IVR decision (last key →
// `continue`) and the pop (last key → the owner's socket) p50/p99, and the CPU per call of each part:
// each Hotline (its process tree: the service, its mail thread, its pages' process), PostgreSQL (the
// postmaster and its backends), Redis. The machine has 2 cores and is shared: ratios from one run.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { createHotline } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { FakeCall } from '../test/fake-asterisk/fake-asterisk.js';
import { createFakeAsterisk } from '../test/fake-asterisk/fake-asterisk.js';
import { tempDir } from '../test/helpers/hotline.js';
import { LAB_QUEUES } from '../test/helpers/pbx.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import type { Stats } from './ivr-pops.js';
import { listeningOn, prng, scoreCalls, stats } from './ivr-pops.js';

const N = Number(process.env.BENCH_CALLS ?? 120);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const BIN = new URL('../bin/hotline.js', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system, ms) of a process and all its descendants, from /proc. */
function treeCpuMs(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      return;
    }
    let children: string[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(p)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      // none
    }
    for (const c of children) visit(Number(c));
  };
  visit(pid);
  return total;
}

// sqlite2: a second SQLite set-up, the same as the first: how far two identical set-ups differ here (the noise).
type Setup = 'sqlite' | 'sqlite2' | 'pg' | 'pg2';
const onSqlite = (setup: Setup) => setup === 'sqlite' || setup === 'sqlite2';

interface Result {
  setup: Setup;
  decision: Stats;
  pop: Stats;
  errors: number;
  misrouted: number;
  /** CPU ms per call: each Hotline, PostgreSQL, Redis. */
  cpu: { hotline: number[]; postgres: number | null; redis: number | null };
}

interface Running {
  setup: Setup;
  /** One round of N calls: what the callers saw, and each part's CPU ms over the round. */
  round(seed: number): Promise<{ decision: number[]; pop: number[]; errors: number; misrouted: number; cpu: { hotline: number[]; postgres: number; redis: number } }>;
  stop(): Promise<void>;
}

async function start(setup: Setup): Promise<Running> {
  const instances = setup === 'pg2' ? 2 : 1;
  const apps = instances === 2 ? ['hotline-a', 'hotline-b'] : ['hotline'];
  const fake = createFakeAsterisk({ queues: LAB_QUEUES, timing: { playbackMs: 3000, ringMs: 50 } });
  await fake.start();
  const { dir, cleanup } = tempDir('hotline-bench-inst-');
  const postgres = onSqlite(setup) ? null : await startPostgres();
  const redis = onSqlite(setup) ? null : await startRedis();
  // Over the server's Unix socket, as a PostgreSQL on the same machine is reached (Debian's default);
  // BENCH_PG_TCP=1: over loopback TCP, where each of a call's round trips also pays the kernel's TCP
  // path on both ends in the sender's system call (writev was a fifth of Hotline's busy time).
  const tcpUrl = postgres ? await postgres.createDatabase() : '';
  const databaseUrl = postgres && !process.env.BENCH_PG_TCP ? postgres.overSocket(tcpUrl) : tcpUrl;
  const env = {
    HOTLINE_DATA_DIR: dir,
    HOTLINE_DATABASE_URL: databaseUrl,
    // Redis too over its Unix socket (BENCH_PG_TCP=1: both over loopback TCP).
    HOTLINE_REDIS_URL: redis ? (process.env.BENCH_PG_TCP ? redis.url : redis.socketUrl) : '',
    HOTLINE_HTTP_PORT: '0',
    HOTLINE_SMTP_ENABLED: 'false',
    HOTLINE_ARI_URL: fake.ariUrl,
    HOTLINE_AMI_PORT: String(fake.amiPort),
    HOTLINE_LOG_LEVEL: 'warn',
    HOTLINE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
  };

  // Seeded before the services start. Agents are inserted directly (hashing N passwords measures
  // nothing here); their browsers authenticate with API tokens.
  const seed = await createHotline(loadConfig({ env, cwd: dir }), { log: pino({ level: 'silent' }) });
  await seed.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
  const billing = await seed.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing' });
  const owners: Array<{ id: number; dial: string; token: string; ttn: string }> = [];
  for (let i = 0; i < N; i++) {
    const dial = `PJSIP/9${String(i).padStart(3, '0')}`;
    const [row] = await seed.sql.all(
      seed.sql.q.insertInto('agents').values({ login: `bench${i}`, name: `Bench ${i}`, password_hash: 'none', role: 'agent', dial_string: dial, device_interface: dial, email: null, created_at: new Date().toISOString() }).returning('id'),
    );
    const id = row!.id;
    await seed.directory.setAccess(id, billing.id, 'rw');
    const { ticket } = await seed.tickets.create({ queueId: billing.id, title: `bench ${i}`, ownerId: id, article: { kind: 'note', text: 'bench' } });
    owners.push({ id, dial, token: await seed.auth.createApiToken(id, 'bench'), ttn: ticket.ttn });
    fake.setDeviceState(dial, 'NOT_INUSE');
    fake.phones.set(dial, 'answer');
  }
  await seed.close();

  const children: ChildProcess[] = [];
  const bases: string[] = [];
  for (let k = 0; k < instances; k++) {
    // BENCH_HOTLINE_FLAGS: node flags for each Hotline, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    const flags = process.env.BENCH_HOTLINE_FLAGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...flags, BIN, 'serve'], {
      env: { ...process.env, ...env, HOTLINE_INSTANCE_ID: `bench-${k}`, HOTLINE_ARI_APP: apps[k]! },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    bases.push((await listeningOn(child)).base);
  }
  for (const base of bases) {
    for (let deadline = Date.now() + 30_000; ; await sleep(50)) {
      const health = (await (await fetch(`${base}/healthz`)).json()) as { pbx?: { ari: string; ami: string; pops?: string } };
      if (health.pbx?.ari === 'connected' && health.pbx.ami === 'connected' && (!redis || health.pbx.pops === 'Redis ready')) break;
      if (Date.now() > deadline) throw new Error(`Hotline at ${base} not ready: ${JSON.stringify(health)}`);
    }
  }
  for (const app of apps) await fake.waitForApp(app);

  // Owner i's browser is on instance i % instances; call i goes to instance ⌊i/2⌋ % instances: with
  // two instances, half the pops are for calls the other instance took.
  const popAt = new Map<string, number>();
  const sockets: Socket[] = owners.map((o, i) => {
    const socket = io(bases[i % instances]!, { auth: { token: o.token }, transports: ['websocket'], forceNew: true, reconnection: false });
    socket.on('call.incoming', (pop: { ticket: { ttn: string } | null }, ack?: () => void) => {
      if (pop.ticket) popAt.set(`${o.id}:${pop.ticket.ttn}`, performance.now());
      ack?.();
    });
    return socket;
  });
  await Promise.all(sockets.map((s) => (s.connected ? Promise.resolve() : new Promise<void>((r) => s.once('connect', () => r())))));
  await sleep(500);

  const pids = { hotline: children.map((c) => c.pid!), postgres: postgres?.pid ?? null, redis: redis?.pid ?? null };
  const cpuNow = () => ({ hotline: pids.hotline.map(treeCpuMs), postgres: pids.postgres ? treeCpuMs(pids.postgres) : 0, redis: pids.redis ? treeCpuMs(pids.redis) : 0 });

  async function calls(seedValue: number) {
    popAt.clear();
    const random = prng(seedValue);
    const calls: FakeCall[] = [];
    await Promise.all(
      owners.map(async (owner, i) => {
        await sleep((3000 * i) / N);
        const call = fake.placeCall({ number: `030${String(1_000_000 + i)}`, app: apps[Math.floor(i / 2) % instances] });
        calls[i] = call;
        await call.waitFor('stasis-start', 30_000);
        await sleep(300);
        for (const digit of owner.ttn) {
          await call.press(digit, 0);
          await sleep(150 + 100 * random());
        }
      }),
    );
    let errors = 0;
    await Promise.all(calls.map((c) => c.waitFor('continue', 30_000).catch(() => errors++)));
    await sleep(500);
    const scored = scoreCalls(calls, owners, popAt);
    for (const c of calls) c.hangup();
    await sleep(1500);
    return { ...scored, errors: scored.errors + errors };
  }

  return {
    setup,
    async round(seedValue) {
      const before = cpuNow();
      const result = await calls(seedValue);
      const after = cpuNow();
      return {
        ...result,
        cpu: { hotline: after.hotline.map((ms, k) => ms - before.hotline[k]!), postgres: after.postgres - before.postgres, redis: after.redis - before.redis },
      };
    },
    async stop() {
      for (const s of sockets) s.disconnect();
      for (const child of children) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await fake.stop();
      await redis?.stop();
      await postgres?.stop();
      cleanup();
    },
  };
}

// Rounds in turn (sqlite, pg, pg2, sqlite, pg, …): the load of this shared machine, which drifts over
// minutes, weighs on each alike. Per round, a set-up's ratio to the SQLite round just before it.
const setups = (process.env.BENCH_SETUPS?.split(',') as Setup[] | undefined) ?? ['sqlite', 'pg', 'pg2'];
const running: Running[] = [];
try {
  for (const setup of setups) running.push(await start(setup));
  for (const r of running) await r.round(1); // warm-up
  const totals = new Map(setups.map((setup) => [setup, { decision: [] as number[], pop: [] as number[], errors: 0, misrouted: 0, hotline: [] as number[], postgres: 0, redis: 0 }]));
  const ratios = new Map<Setup, number[]>(setups.map((setup) => [setup, []]));
  for (let k = 0; k < ROUNDS; k++) {
    let sqliteRound: number | null = null;
    for (const r of running) {
      const result = await r.round(100 + k);
      const t = totals.get(r.setup)!;
      t.decision.push(...result.decision);
      t.pop.push(...result.pop);
      t.errors += result.errors;
      t.misrouted += result.misrouted;
      t.hotline = result.cpu.hotline.map((ms, i) => (t.hotline[i] ?? 0) + ms);
      t.postgres += result.cpu.postgres;
      t.redis += result.cpu.redis;
      const hotline = result.cpu.hotline.reduce((a, b) => a + b, 0);
      console.log(`round ${k + 1} ${r.setup.padEnd(6)} CPU ms/call: Hotline ${(hotline / N).toFixed(2)}, PostgreSQL ${(result.cpu.postgres / N).toFixed(2)}, Redis ${(result.cpu.redis / N).toFixed(2)}`);
      if (r.setup === 'sqlite') sqliteRound = hotline;
      else if (sqliteRound) ratios.get(r.setup)!.push(hotline / sqliteRound);
    }
  }
  const results: Result[] = setups.map((setup) => {
    const t = totals.get(setup)!;
    const calls = N * ROUNDS;
    return {
      setup,
      decision: stats(t.decision),
      pop: stats(t.pop),
      errors: t.errors,
      misrouted: t.misrouted,
      cpu: { hotline: t.hotline.map((ms) => ms / calls), postgres: onSqlite(setup) ? null : t.postgres / calls, redis: onSqlite(setup) ? null : t.redis / calls },
    };
  });
  const f = (x: number | null) => (x === null ? '–' : x.toFixed(2));
  for (const result of results) {
    console.log(
      `${result.setup.padEnd(6)} decision p50 ${result.decision.p50.toFixed(1)} p99 ${result.decision.p99.toFixed(1)} ms | pop p50 ${result.pop.p50.toFixed(1)} p99 ${result.pop.p99.toFixed(1)} ms | ` +
        `CPU ms/call: Hotline ${result.cpu.hotline.map(f).join(' + ')}, PostgreSQL ${f(result.cpu.postgres)}, Redis ${f(result.cpu.redis)} | errors ${result.errors}, misrouted ${result.misrouted}`,
    );
  }
  const sqlite = results.find((r) => r.setup === 'sqlite');
  for (const r of results) {
    if (!sqlite || r === sqlite) continue;
    const hotline = r.cpu.hotline.reduce((a, b) => a + b, 0);
    const base = sqlite.cpu.hotline[0]!;
    const perRound = ratios.get(r.setup)!;
    console.log(
      `${r.setup}: Hotline CPU per call ${(hotline / base).toFixed(2)}× SQLite's (round by round: ${perRound.map((x) => x.toFixed(2)).join(', ')}; median ${stats(perRound).p50.toFixed(2)}); ` +
        `with PostgreSQL and Redis ${((hotline + (r.cpu.postgres ?? 0) + (r.cpu.redis ?? 0)) / base).toFixed(2)}×; decision p99 ${(r.decision.p99 / sqlite.decision.p99).toFixed(2)}×`,
    );
  }
  console.log(`RESULT ${JSON.stringify({ results, ratios: Object.fromEntries(ratios) })}`);
} finally {
  for (const r of running) await r.stop();
}
