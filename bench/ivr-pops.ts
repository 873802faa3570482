// IVR decision and screen-pop latency: N concurrent calls through the fake Asterisk over real
// sockets, each keying a valid TTN of a ticket whose owner has a socket.io client connected.
// Per call: final DTMF sent → `continue` received by the fake (decision), and → `call.incoming`
// at the owner's socket (pop). Floor: a bare websocket round trip on loopback, in the same run.
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { pbxHarness } from '../test/helpers/pbx.js';
import { buildServer } from '../src/http/server.js';
import type { FakeCall } from '../test/fake-asterisk/fake-asterisk.js';
import type { Agent, Ticket } from '../src/core/types.js';

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

export interface IvrRun {
  concurrency: number;
  decision: Stats;
  pop: Stats;
  errors: number;
  misrouted: number;
}

/** One run at `concurrency` calls; agents and tickets are made once per harness. */
export async function ivrRun(concurrency: number): Promise<IvrRun> {
  const h = await pbxHarness({ fake: { timing: { playbackMs: 50, ringMs: 50 } }, config: { logLevel: 'silent' } });
  const server = await buildServer(h.hotline, { pbx: h.pbx });
  const base = await server.listen({ host: '127.0.0.1', port: 0 });
  const sockets: Socket[] = [];
  try {
    const owners: Agent[] = [];
    for (let i = 0; i < concurrency; i++) {
      const { agent } = await h.hotline.agents.create({ login: `bench${i}`, name: `Bench ${i}`, role: 'agent', password: 'password123', dialString: `PJSIP/9${i}`, deviceInterface: `PJSIP/9${i}` });
      await h.hotline.directory.setAccess(agent.id, h.queues.billing.id, 'rw');
      h.fake.setDeviceState(`PJSIP/9${i}`, 'NOT_INUSE');
      h.fake.phones.set(`PJSIP/9${i}`, 'answer');
      owners.push(agent);
    }
    await new Promise((r) => setTimeout(r, 200));
    const popAt = new Map<number, number>();
    const tickets: Ticket[] = [];
    for (const owner of owners) {
      const res = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ login: owner.login, password: 'password123' }), redirect: 'manual' });
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      const socket = io(base, { extraHeaders: { cookie }, transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.push(socket);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: `bench ${owner.login}`, ownerId: owner.id, article: { kind: 'note', text: '' } });
      tickets.push(ticket);
      socket.on('call.incoming', (pop: { ticket: { ttn: string } }, ack?: () => void) => {
        popAt.set(tickets.findIndex((t) => t.ttn === pop.ticket.ttn), performance.now());
        ack?.();
      });
    }
    const calls: FakeCall[] = tickets.map(() => h.fake.placeCall({ number: '0301234567' }));
    await Promise.all(calls.map((c) => c.waitFor('stasis-start', 30_000)));
    // Callers key their numbers at once (no #: entry ends at the usual length).
    await Promise.all(calls.map((c, i) => c.press(tickets[i]!.ttn, 10)));
    let errors = 0;
    await Promise.all(calls.map((c) => c.waitFor('continue', 30_000).catch(() => errors++)));
    await new Promise((r) => setTimeout(r, 500));
    const decision: number[] = [];
    const pop: number[] = [];
    let misrouted = 0;
    calls.forEach((c, i) => {
      const last = c.timeOf('dtmf');
      const cont = c.timeOf('continue');
      if (last === undefined || cont === undefined) return;
      decision.push(cont - last);
      const p = popAt.get(i);
      if (p === undefined) errors++;
      else pop.push(p - last);
      if (c.vars.get('HOTLINE_TARGET') !== owners[i]!.dialString || c.vars.get('HOTLINE_TTN') !== tickets[i]!.ttn) misrouted++;
    });
    for (const c of calls) c.hangup();
    return { concurrency, decision: stats(decision), pop: stats(pop), errors, misrouted };
  } finally {
    for (const s of sockets) s.disconnect();
    await server.close();
    await h.close();
  }
}
