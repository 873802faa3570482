// Fan-out: many connected agent sockets; pops sent to single agents (io.to('agent:<id>')).
// Per pop: emit on the server → received by that agent's socket.io client.
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { buildServer } from '../src/http/server.js';
import { testHotline } from '../test/helpers/hotline.js';
import type { Stats } from './ivr-pops.js';
import { stats } from './ivr-pops.js';

export async function fanOut(agents: number, pops: number): Promise<{ agents: number; pops: number; latency: Stats; wrongSocket: number }> {
  // Every simulated browser connects from loopback: more than one address's default share.
  const hotline = await testHotline({ config: { logLevel: 'silent', httpMaxConnectionsPerAddress: 100_000 } });
  const server = await buildServer(hotline);
  const base = await server.listen({ host: '127.0.0.1', port: 0 });
  const sockets: Socket[] = [];
  try {
    const ids: number[] = [];
    // Sockets authenticate with API tokens: the same path as a session, without logging in 1,000 times.
    // Agents inserted directly (no password hashing: 1,000 scrypt hashes would take a minute and measure nothing here).
    const insert = hotline.db.prepare("INSERT INTO agents (login, name, password_hash, role, created_at) VALUES (?, ?, 'none', 'agent', ?) RETURNING id").pluck();
    for (let i = 0; i < agents; i++) {
      const agent = { id: insert.get(`fan${i}`, `Fan ${i}`, new Date().toISOString()) as number };
      const token = await hotline.auth.createApiToken(agent.id, 'bench');
      const socket = io(base, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.push(socket);
      ids.push(agent.id);
    }
    await Promise.all(sockets.map((s) => (s.connected ? Promise.resolve() : new Promise<void>((r) => s.once('connect', () => r())))));
    await new Promise((r) => setTimeout(r, 500));
    const latency: number[] = [];
    let wrongSocket = 0;
    sockets.forEach((s, i) =>
      s.on('call.incoming', (p: { agentId: number; sentAt: number }) => {
        if (p.agentId !== ids[i]) wrongSocket++;
        else latency.push(performance.now() - p.sentAt);
      }),
    );
    for (let n = 0; n < pops; n++) {
      const agentId = ids[(n * 7919) % ids.length]!;
      server.realtime.io.to(`agent:${agentId}`).emit('call.incoming', { agentId, sentAt: performance.now() });
      if (n % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const deadline = Date.now() + 10_000;
    while (latency.length + wrongSocket < pops && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return { agents, pops, latency: stats(latency), wrongSocket };
  } finally {
    for (const s of sockets) s.disconnect();
    await server.close();
    hotline.dispose();
  }
}
