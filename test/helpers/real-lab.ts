import { join } from 'node:path';
import pino from 'pino';
import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import { createHotline } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Agent } from '../../src/core/types.js';
import { tempDir } from './hotline.js';
import type { AmiEvent, RealAsterisk, RealCall } from './real-asterisk.js';
import { amiObserver, callerSim, startAsterisk } from './real-asterisk.js';
import type { ServeProcess } from './serve.js';
import { startServe } from './serve.js';

/** A pop or other `call.*` event an agent's socket received, with the moment it arrived. */
export interface AgentEvent {
  event: string;
  payload: Record<string, unknown>;
  at: number;
}

/** The TTN of the ticket a pop carries, if any. */
export const ttnOf = (payload: Record<string, unknown>): string | undefined => (payload.ticket as { ttn: string } | null)?.ttn;

/** IVR timings for the lab: short, so that scenarios that wait for silence do not take long. */
const LAB_SETTINGS = {
  HOTLINE_SMTP_ENABLED: 'false',
  HOTLINE_IVR_FIRST_DIGIT_TIMEOUT_MS: '4000',
  HOTLINE_IVR_INTER_DIGIT_TIMEOUT_MS: '3000',
  HOTLINE_RING_TIMEOUT_SECONDS: '5',
  HOTLINE_LOG_LEVEL: 'info',
  // The lab's few caller numbers reach many tickets, as a switchboard's would: the guessing limits
  // (tested on the fake PBX) are raised so that they do not decide these routes.
  HOTLINE_IVR_TICKETS_PER_CALLER: '1000',
  HOTLINE_IVR_UNKNOWN_PER_CALLER: '1000',
};

/**
 * A real Asterisk with the lab's dialplan and queues, a real `hotline serve` connected to it, a
 * caller simulator, an AMI observer, and the lab's people: alice (201, answers), bob (202, busy),
 * carol (203, billing, answers), dave (204, billing, never answers), erin (205, the default queue
 * support), frank (206, answers; a Local/ dial string and no device-state interface).
 */
export async function realLab(bundle: string, options: { dataDir?: string; databaseUrl?: string } = {}) {
  const asterisk: RealAsterisk = await startAsterisk(bundle);
  const { dir, cleanup } = tempDir('hl-lab-');
  // Another data folder: on a small file system, say.
  const dataDir = options.dataDir ?? join(dir, 'data');
  const databaseUrl = options.databaseUrl ?? '';
  const hotline = await createHotline(loadConfig({ env: {}, cwd: dir, overrides: { dataDir, databaseUrl, logLevel: 'silent' } }), { log: pino({ level: 'silent' }) });
  const support = await hotline.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
  const billing = await hotline.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing' });
  const person = async (login: string, ext: string, stateInterface = true) =>
    (
      await hotline.agents.create({
        login,
        name: login[0]!.toUpperCase() + login.slice(1),
        role: 'agent',
        password: 'password123',
        dialString: `Local/${ext}@phones`,
        deviceInterface: stateInterface ? `Custom:agent${ext}` : null,
      })
    ).agent;
  const agents = {
    alice: await person('alice', '201'),
    bob: await person('bob', '202'),
    carol: await person('carol', '203'),
    dave: await person('dave', '204'),
    erin: await person('erin', '205'),
    frank: await person('frank', '206', false),
  };
  for (const a of Object.values(agents)) for (const q of [support, billing]) await hotline.directory.setAccess(a.id, q.id, 'rw');
  // Custom: device states start UNKNOWN; the lab's agents are at their desks.
  for (const ext of ['201', '202', '203', '204', '205']) await asterisk.cli(`devstate change Custom:agent${ext} NOT_INUSE`);

  let ami = await amiObserver(asterisk.amiPort);
  let caller = await callerSim(asterisk.ariUrl);
  const env = { HOTLINE_DATA_DIR: dataDir, HOTLINE_DATABASE_URL: databaseUrl, HOTLINE_ARI_URL: asterisk.ariUrl, HOTLINE_AMI_PORT: String(asterisk.amiPort), ...LAB_SETTINGS };
  let serve: ServeProcess | null = null;
  const others: ServeProcess[] = [];
  const sockets: Socket[] = [];
  const healthzOf = async (url: string, test: (h: { status: string; pbx?: { ari: string; ami: string } }) => boolean, what: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const h = (await (await fetch(`${url}/healthz`)).json()) as { status: string; pbx?: { ari: string; ami: string } };
        last = h;
        if (test(h)) return h;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last /healthz: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const lab = {
    asterisk,
    hotline,
    get ami() {
      return ami;
    },
    get caller() {
      return caller;
    },
    /** Opens the AMI observer and the caller simulator again (after Asterisk restarted). */
    async reconnect(): Promise<void> {
      caller.close();
      ami.close();
      ami = await amiObserver(asterisk.amiPort);
      caller = await callerSim(asterisk.ariUrl);
    },
    dir,
    dataDir,
    queues: { support, billing },
    agents,
    get serve(): ServeProcess {
      if (!serve) throw new Error('hotline serve is not running');
      return serve;
    },
    /** Starts `hotline serve` (on `port`, e.g. the last one's, or a free one; as `user`; with other HOTLINE_* `settings`) and waits until it has ARI and AMI. */
    async startHotline(port?: number, user?: { uid: number; gid: number }, settings: Record<string, string> = {}): Promise<ServeProcess> {
      serve = await startServe(dir, { ...env, ...settings, ...(port ? { HOTLINE_HTTP_PORT: String(port) } : {}) }, 60_000, user);
      await lab.healthz((h) => h.pbx?.ari === 'connected' && h.pbx.ami === 'connected', 'Hotline connected to Asterisk');
      return serve;
    },
    /**
     * Starts another `hotline serve` on the same data folder and database (another instance: give it
     * its own HOTLINE_INSTANCE_ID and HOTLINE_ARI_APP in `settings`) and waits until it has ARI and AMI.
     */
    async startAnother(settings: Record<string, string>): Promise<ServeProcess> {
      const other = await startServe(dir, { ...env, ...settings }, 60_000);
      others.push(other);
      await healthzOf(other.url, (h) => h.pbx?.ari === 'connected' && h.pbx.ami === 'connected', 'the other instance connected to Asterisk');
      return other;
    },
    /** Resolves with `/healthz` once `test` holds for it (asked every 100 ms, at most `timeoutMs`). */
    healthz: (test: (h: { status: string; pbx?: { ari: string; ami: string } }) => boolean, what: string, timeoutMs = 30_000) => healthzOf(lab.serve.url, test, what, timeoutMs),
    /** The same, of another instance (`startAnother`). */
    healthzOf,
    /** A caller who dials in (5000, or 5049 as a German caller) and waits for the IVR to answer. */
    async dialIn(options: { number?: string; exten?: string } = {}): Promise<RealCall> {
      const call = await caller.place(options);
      await call.answered();
      return call;
    },
    /** A ticket in `queueId` owned by `owner`. */
    async ticket(queueId: number, owner: Agent | null, title = 'Printer on fire') {
      return (await hotline.tickets.create({ queueId, title, ownerId: owner?.id ?? null, article: { kind: 'note', text: title } })).ticket;
    },
    /** An agent's page socket (API token; to `url`, another instance, or this lab's `hotline serve`); every `call.*` event is recorded and `call.incoming` acknowledged as pops.js does. */
    async agentSocket(agent: Agent, options: { reconnection?: boolean; url?: string } = {}) {
      const token = await hotline.auth.createApiToken(agent.id, 'real-asterisk test');
      const socket = io(options.url ?? lab.serve.url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: options.reconnection ?? false, reconnectionDelayMax: 500 });
      sockets.push(socket);
      const received: AgentEvent[] = [];
      const listeners = new Set<() => void>();
      socket.onAny((event: string, payload: Record<string, unknown>, ack?: (x: string) => void) => {
        received.push({ event, payload, at: performance.now() });
        if (typeof ack === 'function') ack('shown');
        for (const l of listeners) l();
      });
      // socket.io's own connect timeout covers only the transport: a namespace that never answers, or
      // a transport that closes first, would leave this waiting for ever.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${agent.login}'s socket did not connect within 15 s`)), 15_000);
        socket.once('connect', () => (clearTimeout(timer), resolve()));
        socket.once('connect_error', (error) => (clearTimeout(timer), reject(error)));
        socket.once('disconnect', (reason) => (clearTimeout(timer), reject(new Error(`${agent.login}'s socket closed before it connected: ${reason}`))));
      });
      return {
        socket,
        received,
        /** Resolves with the first event named `event` whose payload passes `test`. */
        waitFor(event: string, test: (p: Record<string, unknown>) => boolean = () => true, timeoutMs = 20_000): Promise<AgentEvent> {
          const match = (r: AgentEvent) => r.event === event && test(r.payload);
          const found = received.find(match);
          if (found) return Promise.resolve(found);
          return new Promise((resolve, reject) => {
            const check = () => {
              const hit = received.find(match);
              if (!hit) return;
              clearTimeout(timer);
              listeners.delete(check);
              resolve(hit);
            };
            const timer = setTimeout(() => {
              listeners.delete(check);
              reject(new Error(`${agent.login} got no ${event} within ${timeoutMs} ms; got: ${received.map((r) => r.event).join(', ')}`));
            }, timeoutMs);
            listeners.add(check);
          });
        },
      };
    },
    /** The call record Hotline keeps for the IVR leg `ivrId`, once `until` holds (read from the database file). */
    async callRecord(ivrId: string, until: (c: NonNullable<Awaited<ReturnType<typeof hotline.calls.findByChannel>>>) => boolean, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const call = await hotline.calls.findByChannel(ivrId);
        if (call && until(call)) return call;
        if (Date.now() > deadline) throw new Error(`call record of ${ivrId} never matched within ${timeoutMs} ms; last: ${JSON.stringify(call)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** The AMI event of `ivrId` joining a queue. */
    queueJoin: (ivrId: string, queue: string, timeoutMs?: number): Promise<AmiEvent> =>
      ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.Uniqueid === ivrId && e.Queue === queue, `${ivrId} joining queue ${queue}`, timeoutMs),
    /** The AMI event of the member `iface` (e.g. `Local/203@phones`) answering the call `ivrId`. */
    answeredBy: (ivrId: string, member: string, timeoutMs?: number): Promise<AmiEvent> =>
      ami.waitFor((e) => e.Event === 'DialEnd' && e.Uniqueid === ivrId && e.DialStatus === 'ANSWER' && (e.DestChannel ?? '').startsWith(`${member}-`), `${member} answering ${ivrId}`, timeoutMs),
    async close(): Promise<void> {
      for (const s of sockets) s.disconnect();
      caller.close();
      ami.close();
      await serve?.stop('SIGKILL');
      for (const other of others) await other.stop('SIGKILL');
      await asterisk.dispose();
      await hotline.close();
      cleanup();
    },
  };
  return lab;
}

export type RealLab = Awaited<ReturnType<typeof realLab>>;
