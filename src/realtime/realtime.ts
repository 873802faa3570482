import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Socket } from 'socket.io';
import type { Hotline } from '../app.js';
import type { Credential } from '../core/auth-service.js';
import type { Agent, Call } from '../core/types.js';
import { SESSION_COOKIE } from '../http/auth.js';
import type { PopPayload } from './pop-payload.js';
import { buildPop } from './pop-payload.js';
import { redisAdapter } from './redis.js';

/** Where an agent stands with a call's pop. */
type PopStatus = 'incoming' | 'ringing' | 'answered';

interface PendingCall {
  payload: PopPayload;
  agents: Map<number, PopStatus>;
  /** Agents who dismissed this call's pop: it is not shown to them again on a reload or reconnect. */
  dismissed: Set<number>;
}

export interface RealtimeOptions {
  /** How long the IVR waits for the owner's browser to confirm the pop before the phone rings. */
  popAckTimeoutMs?: number;
  /** How often every socket's credential and permissions are checked again (changes made by the CLI, expiries). */
  revalidateEveryMs?: number;
  /** How often the database is checked for notices written by other processes. */
  noticeCheckMs?: number;
}

const EVENT_FOR: Record<PopStatus, string> = { incoming: 'call.incoming', ringing: 'call.ringing', answered: 'call.answered' };

/** `a=1; hotline_session=xyz` → `xyz`. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * A browser's websocket must come from Hotline's own pages: the session cookie would
 * otherwise let any site open a socket in the agent's name (cross-site websocket hijacking).
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Screen-pops over socket.io: sockets authenticate with the agent's session (or an API
 * token), join `agent:<id>` and `queue:<id>` rooms, and receive `call.*` events for calls
 * routed or ringing to them — only for queues they may see. Pops of running calls are held
 * so that a reload or reconnect shows them again. Everything goes out through `io.to(room)`.
 */
/** How long a check of an agent's credential or queue access is taken as still true (see mayHear). */
const CHECKED_MS = 1000;

/** What the pop sockets use of the core. */
export type RealtimeServices = Pick<Hotline, 'config' | 'log' | 'auth' | 'agents' | 'tickets' | 'directory' | 'notices' | 'events' | 'popState' | 'clock'>;

export function attachRealtime(httpServer: HttpServer, hotline: RealtimeServices, options: RealtimeOptions = {}) {
  const ackTimeout = options.popAckTimeoutMs ?? 300;
  const log = hotline.log;
  // Several instances: every emit to a room reaches that room's sockets on all of them (redis.ts).
  const redis = hotline.config.redisUrl ? redisAdapter(hotline.config.redisUrl, log) : null;
  const io = new Server(httpServer, {
    serveClient: true,
    allowRequest: (req, callback) => callback(null, sameOrigin(req)),
    ...(redis ? { adapter: redis.adapter } : {}),
  });
  // Calls this instance routed or followed, with the agents shown their pops. What every instance
  // must agree on — who was rung for or answered a running call, and who dismissed its pop — is in
  // the database (hotline.popState): an agent connected to another instance sees the same pops.
  const pending = new Map<number, PendingCall>();
  /** Checks an agent's sockets (all without an id) again, here and, through Redis, on the other instances. */
  const revalidateEverywhere = async (agentId?: number): Promise<void> => {
    if (redis) io.serverSideEmit('hotline:revalidate', agentId ?? null);
    await revalidate(agentId);
  };
  if (redis) io.on('hotline:revalidate', (agentId: number | null) => void revalidate(agentId ?? undefined).catch((error: unknown) => log.warn({ err: error }, 'checking sockets again failed')));

  io.use((socket, next) => {
    const token = typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : undefined;
    const session = cookieValue(socket.handshake.headers.cookie, SESSION_COOKIE);
    const resolve = token ? hotline.auth.apiAgent(token) : hotline.auth.session(session).then((s) => s?.agent ?? null);
    resolve.then(
      (agent) => {
        if (!agent) return next(new Error('unauthorized: log in first'));
        socket.data.agent = agent;
        // Checked again whenever the agent's access may have shrunk: a socket outlives its handshake.
        socket.data.credential = (token ? { apiToken: token } : { session: session ?? '' }) satisfies Credential;
        next();
      },
      (error: unknown) => next(error instanceof Error ? error : new Error(String(error))),
    );
  });

  io.on('connection', (socket: Socket) => {
    const agent = socket.data.agent as Agent;
    socket.once('disconnect', () => allowedAt.delete(socket.id));
    void socket.join(`agent:${agent.id}`);
    void hotline.directory.visibleQueues(agent.id).then((queues) => {
      for (const q of queues) void socket.join(`queue:${q.id}`);
    });
    // Calls still running: show their pops again (page load, reconnect, another tab) — not those dismissed.
    void replay(socket, agent.id).catch((error: unknown) => log.warn({ err: error, agent: agent.id }, 'showing running calls again failed'));
    // Dismissal is remembered in the database, for every tab and page of the agent on every instance;
    // what comes from the browser is checked (only the agent's own running calls).
    socket.on('pop.dismiss', (message: unknown) => {
      const callId = (message as { callId?: unknown } | null)?.callId;
      if (typeof callId !== 'number' || !Number.isSafeInteger(callId)) return;
      void dismiss(socket, agent.id, [callId]).catch((error: unknown) => log.warn({ err: error, agent: agent.id }, 'dismissing a pop failed'));
    });
    socket.on('pop.dismissAll', () => void dismiss(socket, agent.id, 'all').catch((error: unknown) => log.warn({ err: error, agent: agent.id }, 'dismissing pops failed')));
  });

  /**
   * The agent dismissed these calls' pops (or all of theirs): only calls shown to them here or running
   * for them anywhere; kept for every instance, and the agent's other tabs (anywhere) drop them.
   */
  async function dismiss(socket: Socket, agentId: number, which: number[] | 'all'): Promise<void> {
    const theirs = new Set([...pending].filter(([, call]) => call.agents.has(agentId)).map(([id]) => id));
    for (const call of await hotline.popState.runningCallsOf(agentId)) theirs.add(call.id);
    const mine = which === 'all' ? [...theirs] : which.filter((id) => theirs.has(id));
    if (mine.length === 0) return;
    for (const id of mine) pending.get(id)?.dismissed.add(agentId);
    try {
      await hotline.popState.dismiss(agentId, mine, hotline.clock.now().toISOString());
    } catch (error) {
      log.warn({ err: (error as Error).message, agent: agentId }, 'a dismissal could not be kept; it holds for this instance');
    }
    for (const callId of mine) socket.to(`agent:${agentId}`).emit('pop.dismissed', { callId });
  }

  /** Shows the socket's agent the pops of running calls they were shown, rung for or answered — taken by any instance — and did not dismiss. */
  async function replay(socket: Socket, agentId: number): Promise<void> {
    const dismissed = await hotline.popState.dismissed(agentId).catch(() => new Set<number>());
    for (const [callId, call] of pending) {
      const status = call.agents.get(agentId);
      if (status && !call.dismissed.has(agentId) && !dismissed.has(callId)) socket.emit(EVENT_FOR[status], await forAgent(call.payload, agentId));
    }
    for (const call of await hotline.popState.runningCallsOf(agentId)) {
      if (pending.has(call.id) || dismissed.has(call.id)) continue;
      const payload = await popOf(call);
      if (!(await mayHear(agentId, payload.ticket ? payload.queue?.id : call.queueId))) continue;
      socket.emit(EVENT_FOR[call.answeredBy === agentId ? 'answered' : 'ringing'], await forAgent(payload, agentId));
    }
  }

  // What was checked a moment ago is not asked of the database again for each event of a call (on
  // PostgreSQL every question is a round trip): answers are kept for CHECKED_MS, and forgotten at
  // once for an agent whose access changed (here, or on another instance: `revalidate`).
  const heard = new Map<string, { at: number; yes: boolean }>();
  const allowedAt = new Map<string, number>();
  const forget = (agentId?: number) => {
    if (agentId === undefined) {
      heard.clear();
      allowedAt.clear();
      return;
    }
    for (const key of heard.keys()) if (key.startsWith(`${agentId}:`)) heard.delete(key);
    for (const socket of socketsOf(agentId)) allowedAt.delete(socket.id);
  };
  async function mayHear(agentId: number, queueId: number | null | undefined): Promise<boolean> {
    const key = `${agentId}:${queueId ?? ''}`;
    const kept = heard.get(key);
    if (kept && Date.now() - kept.at < CHECKED_MS) return kept.yes;
    const yes = queueId == null ? (await hotline.agents.findById(agentId))?.role === 'admin' : (await hotline.directory.access(agentId, queueId)) !== null;
    if (heard.size > 10_000) heard.clear();
    heard.set(key, { at: Date.now(), yes });
    return yes;
  }

  /** The payload as one agent may see it: the caller-ID lookup lists only tickets in that agent's queues. */
  async function forAgent(payload: PopPayload, agentId: number): Promise<PopPayload> {
    if (!payload.lookup) return payload;
    const visible = new Set((await hotline.directory.visibleQueues(agentId)).map((q) => q.id));
    // A caller known only to other queues is a stranger here: neither their name nor their tickets.
    const customers = await hotline.directory.visibleCustomers(payload.lookup.customers, agentId);
    const customer = payload.customer && customers.some((c) => c.id === payload.customer!.id) ? payload.customer : null;
    const hidden = payload.lookup.customers.length > 0 && customers.length === 0;
    return {
      ...payload,
      customer,
      warning: hidden ? null : payload.warning,
      warningKey: hidden ? null : payload.warningKey,
      warningValues: hidden ? null : payload.warningValues,
      lookup: { ...payload.lookup, customers, openTickets: payload.lookup.openTickets.filter((t) => visible.has(t.queueId)) },
    };
  }

  /** The agent's sockets in this process. */
  const socketsOf = (agentId?: number): Socket[] => [...io.of('/').sockets.values()].filter((s) => agentId === undefined || (s.data.agent as Agent).id === agentId);

  /**
   * Checks the agent's sockets (all sockets without an id) against what their credential still
   * allows: a logged-out, expired or revoked credential, or a deactivated agent, ends the socket at
   * once; a role or permission change moves it to the queues the agent may see now, and withdraws
   * pops of calls in queues the agent may no longer see.
   */
  async function revalidate(agentId?: number): Promise<void> {
    forget(agentId);
    for (const socket of socketsOf(agentId)) {
      const was = socket.data.agent as Agent;
      const now = await hotline.auth.stillValid(socket.data.credential as Credential);
      if (!now || now.id !== was.id) {
        socket.emit('access.ended', { reason: 'Your session has ended (logged out, password changed, deactivated or token revoked). Log in again for call pops.' });
        socket.disconnect(true);
        continue;
      }
      socket.data.agent = now;
      const queues = new Set((await hotline.directory.visibleQueues(now.id)).map((q) => `queue:${q.id}`));
      for (const room of socket.rooms) if (room.startsWith('queue:') && !queues.has(room)) void socket.leave(room);
      for (const room of queues) if (!socket.rooms.has(room)) void socket.join(room);
    }
    for (const [callId, p] of pending) {
      for (const [id] of p.agents) {
        if (agentId !== undefined && id !== agentId) continue;
        if (socketsOf(id).length > 0 && (await mayHear(id, p.payload.queue?.id))) continue;
        p.agents.delete(id);
        io.to(`agent:${id}`).emit('call.withdrawn', { callId, reason: 'you may no longer see this call', code: 'access' });
      }
    }
  }

  /** Sockets of the agent whose credential no longer holds are ended before anything is sent to them. */
  async function stillAllowed(agentId: number): Promise<void> {
    for (const socket of socketsOf(agentId)) {
      if (Date.now() - (allowedAt.get(socket.id) ?? -Infinity) < CHECKED_MS) continue;
      if (await hotline.auth.stillValid(socket.data.credential as Credential)) {
        // Dropped when the socket goes (its listener is added once, on 'connection').
        allowedAt.set(socket.id, Date.now());
      } else {
        socket.emit('access.ended', { reason: 'Your session has ended. Log in again for call pops.' });
        socket.disconnect(true);
      }
    }
  }

  async function send(agentId: number, event: string, payload: unknown, waitForAck = false): Promise<void> {
    // A pop carries ticket and customer details: the agent's credential is checked again before it goes
    // out (at most CHECKED_MS before; a change of access anywhere is acted on at once by `revalidate`).
    if (event !== 'call.withdrawn' && event !== 'call.ended') await stillAllowed(agentId);
    const room = io.to(`agent:${agentId}`);
    if (!waitForAck) {
      room.emit(event, payload);
      return;
    }
    try {
      await room.timeout(ackTimeout).emitWithAck(event, payload);
    } catch {
      // No browser confirmed in time (not connected, or slow): the call must not wait longer.
    }
  }

  async function pendingFor(call: Call): Promise<PendingCall> {
    let p = pending.get(call.id);
    if (!p) {
      p = { payload: await popOf(call), agents: new Map(), dismissed: new Set() };
      pending.set(call.id, p);
    }
    return p;
  }

  /** The pop of a call from its record: its ticket and queue read again. */
  async function popOf(call: Call): Promise<PopPayload> {
    const ticket = call.ticketId !== null ? await hotline.tickets.findById(call.ticketId) : null;
    const queue = call.queueId !== null ? await hotline.directory.findQueue(call.queueId) : null;
    return buildPop(hotline, call, ticket, queue);
  }

  async function withdrawOthers(p: PendingCall, except: number, reason: { reason: string; code: string; name?: string }, callId: number): Promise<void> {
    for (const [agentId] of p.agents) {
      if (agentId === except) continue;
      p.agents.delete(agentId);
      await send(agentId, 'call.withdrawn', { callId, ...reason });
    }
  }

  // Access changed elsewhere (the CLI, an expiry): every socket is checked again now and then.
  const sweep = setInterval(() => {
    void revalidate().catch((error: unknown) => log.warn({ err: error }, 'checking sockets again failed'));
    void hotline.popState.sweep().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'dismissals of ended calls not dropped'));
  }, options.revalidateEveryMs ?? 15_000);
  sweep.unref();

  // Notices (notice-service.ts) are written by whichever process made the change; this one pushes new
  // ones to their agents' sockets: at once when told (here, or by the pages' process), and checks
  // every second for the rest (mail filed on its thread, `hotline ingest`, the CLI).
  let delivered: number | null = null;
  let delivering: Promise<void> | null = null;
  let again = false;
  async function deliverNotices(): Promise<void> {
    if (delivering) {
      again = true;
      return delivering;
    }
    delivering = (async () => {
      do {
        again = false;
        if (delivered === null) delivered = await hotline.notices.newestId();
        for (let batch = await hotline.notices.after(delivered, 500); batch.length; batch = await hotline.notices.after(delivered, 500)) {
          for (const notice of batch) {
            delivered = notice.id;
            if (socketsOf(notice.agentId).length === 0) continue;
            // Told only while the agent may still see the ticket's queue.
            const ticket = notice.ticketId !== null ? await hotline.tickets.findById(notice.ticketId) : null;
            if (ticket && !(await mayHear(notice.agentId, ticket.queueId))) continue;
            const { unseen } = await hotline.notices.count(notice.agentId);
            io.to(`agent:${notice.agentId}`).emit('notice', { id: notice.id, kind: notice.kind, text: notice.text, url: notice.ttn ? `/tickets/${notice.ttn}` : '/notices', createdAt: notice.createdAt, unseen });
          }
        }
      } while (again);
    })().finally(() => (delivering = null));
    return delivering;
  }
  const noticeSweep = setInterval(() => void deliverNotices().catch((error: unknown) => log.warn({ err: error }, 'pushing notices failed')), options.noticeCheckMs ?? 1000);
  noticeSweep.unref();
  void deliverNotices().catch(() => undefined);

  // A call's events are handled in the order they came, each once the one before has done its reads:
  // an answer and the cancel of the other members' legs, a moment apart, must not overtake each other
  // (the database answers in its own time, on PostgreSQL over the network).
  const order = new Map<number, Promise<unknown>>();
  function inOrder<T>(callId: number, work: () => Promise<T>): Promise<T> {
    const run = (order.get(callId) ?? Promise.resolve()).then(work);
    const tail = run.catch(() => undefined);
    order.set(callId, tail);
    void tail.then(() => {
      if (order.get(callId) === tail) order.delete(callId);
    });
    return run;
  }

  const handlers = [
    hotline.events.on('notice.created', () => deliverNotices()),
    hotline.events.on('access.changed', ({ agentId }) => revalidateEverywhere(agentId)),
    hotline.events.on('call.routed', ({ call, ticket, latest, agentId, queue }) => inOrder(call.id, async () => {
      const payload = await buildPop(hotline, call, ticket, queue, latest);
      const p: PendingCall = { payload, agents: new Map(), dismissed: new Set() };
      pending.set(call.id, p);
      if (agentId !== null && (await mayHear(agentId, ticket?.queueId ?? queue?.id))) {
        p.agents.set(agentId, 'incoming');
        // Awaited by the IVR: the pop is on the owner's screen before the phone rings.
        await send(agentId, 'call.incoming', await forAgent(payload, agentId), true);
      }
    })),
    hotline.events.on('call.ringing', ({ call, agentId }) => inOrder(call.id, async () => {
      const p = await pendingFor(call);
      const status = p.agents.get(agentId);
      if (status) {
        await send(agentId, 'call.ringing', { callId: call.id, update: true });
        return;
      }
      if (!(await mayHear(agentId, p.payload.ticket ? p.payload.queue?.id : call.queueId))) return;
      p.agents.set(agentId, 'ringing');
      await send(agentId, 'call.ringing', await forAgent(p.payload, agentId));
    })),
    hotline.events.on('call.answered', ({ call, agentId }) => inOrder(call.id, async () => {
      const p = await pendingFor(call);
      const agent = await hotline.agents.findById(agentId);
      await withdrawOthers(p, agentId, agent ? { reason: `answered by ${agent.name}`, code: 'answeredBy', name: agent.name } : { reason: 'answered by another agent', code: 'answeredByOther' }, call.id);
      if (!(await mayHear(agentId, p.payload.ticket ? p.payload.queue?.id : call.queueId))) return;
      // The agent talks to the caller now: the pop is theirs again, whatever was dismissed while it rang
      // (the stored dismissal, older than the answer, no longer counts: nothing to write).
      p.dismissed.delete(agentId);
      p.agents.set(agentId, 'answered');
      await send(agentId, 'call.answered', await forAgent(p.payload, agentId));
    })),
    hotline.events.on('call.missed', ({ call, agentId, status }) => inOrder(call.id, async () => {
      const p = pending.get(call.id);
      if (!p?.agents.has(agentId)) return;
      p.agents.delete(agentId);
      const code = status === 'BUSY' ? 'busy' : status === 'CANCEL' ? 'elsewhere' : 'notAnswered';
      const reason = code === 'busy' ? 'your phone was busy; the call went to the queue' : code === 'elsewhere' ? 'answered elsewhere' : 'not answered; the call went to the queue';
      await send(agentId, 'call.withdrawn', { callId: call.id, reason, code });
    })),
    hotline.events.on('call.ended', ({ call }) => inOrder(call.id, async () => {
      const p = pending.get(call.id);
      pending.delete(call.id);
      // Its stored dismissals no longer count; the sweep below drops them, not a write per hang-up.
      for (const [agentId] of p?.agents ?? []) await send(agentId, 'call.ended', { callId: call.id, outcome: call.outcome });
    })),
  ];

  return {
    io,
    /** Calls whose pops are held. */
    pendingCalls: () => pending.size,
    /**
     * Stops listening to events and closes every connection; the HTTP server is closed by its owner.
     * The connections are closed at the transport, not with socket.io's server-side disconnect: after
     * that a client never reconnects, and agent pages would miss every pop once the service is back.
     */
    /** Checks an agent's open sockets again now, on every instance (access changed in another process: the pages'). */
    revalidate: revalidateEverywhere,
    /** Where pops reach, in words: this instance only, or every instance through Redis. */
    popsStatus: (): string => (redis ? redis.state() : 'this instance only (no redisUrl)'),
    popsDegraded: (): boolean => redis !== null && !redis.ready(),
    /** Pushes notices written since the last push (another process wrote some). */
    deliverNotices,
    close(): void {
      clearInterval(sweep);
      clearInterval(noticeSweep);
      for (const off of handlers) off();
      io.engine.close();
      redis?.close();
    },
  };
}

export type Realtime = ReturnType<typeof attachRealtime>;
