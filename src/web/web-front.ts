import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import inject from 'light-my-request';
import type { Hotline } from '../app.js';
import type { HttpTimeouts } from '../http/server.js';
import { localPbx } from '../http/ports.js';
import type { WebMail } from '../http/ports.js';
import type { Pbx } from '../pbx/pbx.js';
import { backoffDelay, PbxUnavailableError } from '../pbx/with-timeout.js';
import type { PopHost } from '../realtime/pop-host.js';
import { clientConnectionBudget } from '../fd-budget.js';
import { BACKGROUND_NICE } from '../thread.js';
import type { FromWeb, ServiceCall, ToWeb } from './protocol.js';
import { fromWire, toWire } from './protocol.js';
import type { WebProcessData } from './web-process.js';

/** How the web process runs. */
export interface WebFrontLimits {
  /** A web process that has not said it is alive for this long is stopped and started again. */
  hangMs: number;
  /** The web process's nice value (Linux); 0: this process's own. */
  nice: number;
}

export const WEB_FRONT_LIMITS: WebFrontLimits = { hangMs: 20_000, nice: BACKGROUND_NICE };

/**
 * `hotline serve`'s HTTP side. The pages, the API and `/healthz` run in a process of their own (the
 * web process, web-process.ts), which owns the HTTP port and every page connection: however many
 * agents load lists, this process — the call path: ARI/AMI events, IVR decisions, screen-pops —
 * parses no request and writes no page. (Handing requests over from here, as a thread did before,
 * still cost this event loop a read, a parse and a write per page: at 3,000 pages/s the decision
 * p99 went to 2–3 × its quiet value, against 1.2–1.5 × when the same load ran in another process.)
 * A connection whose first request is for socket.io is handed to this process, so a pop goes from
 * the call path to the agent's browser without another process in between. A web process that dies
 * or stops answering is started again; calls and pops go on meanwhile.
 */
export function startWebFront(
  hotline: Pick<Hotline, 'config' | 'log' | 'reloadSettings'>,
  services: { pops: PopHost; pbx?: Pbx; mail: WebMail; settingsChanged?: () => void },
  options: { timeouts?: Partial<HttpTimeouts>; limits?: Partial<WebFrontLimits> } = {},
) {
  const limits = { ...WEB_FRONT_LIMITS, ...options.limits };
  const log = hotline.log;
  const pbx = services.pbx && localPbx(services.pbx);
  const { mail } = services;
  let child: ChildProcess | null = null;
  let lastHeard = Date.now();
  let restarts = 0;
  let closing = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | null = null;
  let everListened = false;
  /** Where the pages listen: asked for by `listen`, then the port the first process got (a restart takes it again). */
  let where: { host: string; port: number } | null = null;
  let listening: { resolve(url: string): void; reject(error: Error): void } | null = null;

  // The screen-pop sockets (pop-host.ts), handed over by the web process.
  const { server, realtime } = services.pops;
  // However many agents' sockets come, they leave the call path its file descriptors.
  const budget = clientConnectionBudget();
  let sockets = 0;

  function adopt(socket: Socket, head: Uint8Array): void {
    if (closing || (budget && sockets >= budget.web)) {
      socket.destroy();
      return;
    }
    sockets++;
    socket.once('close', () => sockets--);
    socket.pause();
    socket.unshift(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
    server.emit('connection', socket);
    socket.resume();
  }

  /** A socket.io request that came on a connection of pages (the client script, long-polling): answered here, whole. */
  async function relayed(m: Extract<FromWeb, { type: 'relay' }>): Promise<void> {
    try {
      const dispatch = (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res);
      const res = await inject(dispatch, { method: m.method as 'GET', url: m.url, headers: m.headers, remoteAddress: m.remoteAddress, payload: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) });
      send({ type: 'relayed', id: m.id, status: res.statusCode, headers: res.headers, body: res.rawPayload });
    } catch (error) {
      send({ type: 'relayed', id: m.id, status: 500, headers: {}, body: new Uint8Array(0), error: toWire(error) });
    }
  }

  function send(message: ToWeb): void {
    if (!child?.connected) return;
    try {
      child.send(message);
    } catch {
      // Gone meanwhile: its exit starts a new one.
    }
  }

  const serviceCalls: Record<ServiceCall, (...args: never[]) => unknown> = {
    // Asked only where this instance has the bridge (the web process knows from `services`).
    'pbx.status': async () => ({ ...(await pbx!.status()), pops: realtime.popsStatus(), popsDegraded: realtime.popsDegraded() }),
    // Answered twice, in serve() below.
    'pbx.originate': () => undefined,
    'mail.status': () => mail.status(),
    'mail.counts': () => mail.counts(),
    'mail.flagged': (offset: number, limit: number) => mail.flagged(offset, limit),
    'mail.rawBytes': (id: number) => mail.rawBytes(id),
    'mail.reprocess': (id: number) => mail.reprocess(id),
    'mail.reply': (...args: Parameters<typeof mail.reply>) => mail.reply(...args),
    'realtime.revalidate': (agentId: number) => realtime.revalidate(agentId),
    'realtime.notices': () => realtime.deliverNotices(),
    // An admin changed settings on a page (another process): the TTN settings and the texts are read again.
    'settings.reload': async () => {
      await hotline.reloadSettings();
      services.settingsChanged?.();
    },
  };

  async function serve(m: Extract<FromWeb, { type: 'call' }>): Promise<void> {
    try {
      if (m.method === 'pbx.originate') {
        if (!pbx) throw new PbxUnavailableError('this instance has no bridge to the phone system');
        // Placed: the first answer; the customer's line: the second.
        const { result } = await pbx.originate(m.args[0] as Parameters<typeof pbx.originate>[0]);
        send({ type: 'result', call: m.call, value: true });
        result.then(
          (value) => send({ type: 'later', call: m.call, value }),
          (error: unknown) => send({ type: 'later', call: m.call, error: toWire(error) }),
        );
        return;
      }
      const handler = serviceCalls[m.method] as ((...args: unknown[]) => unknown) | undefined;
      if (!handler) throw new Error(`no such service call: ${String(m.method)}`);
      send({ type: 'result', call: m.call, value: await handler(...m.args) });
    } catch (error) {
      send({ type: 'result', call: m.call, error: toWire(error) });
    }
  }

  /** The web process, started: the built service runs the compiled `.js`; the sources (tests, benchmarks) the TypeScript through tsx. */
  function spawnWeb(): ChildProcess {
    const source = import.meta.url.endsWith('.ts');
    const module = new URL(`./web-process.${source ? 'ts' : 'js'}`, import.meta.url);
    const execArgv = [...process.execArgv, ...(source && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : [])];
    // At a lower priority from its first instruction on, with all of its threads (Linux: nice(1)).
    const nice = limits.nice > 0 && process.platform === 'linux';
    return fork(module, [], {
      serialization: 'advanced',
      ...(nice ? { execPath: 'nice', execArgv: ['-n', String(limits.nice), process.execPath, ...execArgv] } : { execArgv }),
    });
  }

  function start(): void {
    if (!where) return;
    const c = spawnWeb();
    child = c;
    lastHeard = Date.now();
    const data: WebProcessData = { config: hotline.config, timeouts: options.timeouts, host: where.host, port: where.port };
    c.send({ type: 'start', data } satisfies ToWeb);
    c.on('message', (m: FromWeb, handle?: unknown) => {
      if (child !== c) {
        if (handle) (handle as Socket).destroy();
        return;
      }
      lastHeard = Date.now();
      switch (m.type) {
        case 'listening': {
          everListened = true;
          restarts = 0;
          where = { host: where!.host, port: m.port };
          const host = m.family === 'IPv6' ? `[${m.address}]` : m.address;
          listening?.resolve(`http://${host}:${m.port}`);
          listening = null;
          break;
        }
        case 'failed': {
          const error = fromWire(m.error);
          if (!everListened) {
            listening?.reject(error);
            listening = null;
          }
          break;
        }
        case 'socket':
          if (handle) adopt(handle as Socket, m.head);
          break;
        case 'relay':
          void relayed(m);
          break;
        case 'call':
          void serve(m);
          break;
        case 'alive':
          break;
      }
    });
    c.on('error', (error) => lost(c, error));
    c.on('exit', (code, signal) => lost(c, new Error(`the web process stopped (${signal ?? `exit code ${code}`})`)));
  }

  /** The process died (or was stopped as hung): a new one starts; the pops' sockets stay here meanwhile. */
  function lost(c: ChildProcess, error: Error): void {
    if (child !== c) return;
    child = null;
    c.kill('SIGKILL');
    if (closing) return;
    // A process that never listened (its database cannot be opened, its port is taken) will not by retrying.
    if (!everListened) {
      listening?.reject(error);
      listening = null;
      return;
    }
    const delay = backoffDelay(restarts++, 5000);
    log.error({ err: error.message, restartInMs: delay }, 'the web process stopped; calls and pops go on, and the pages start again');
    restartTimer = setTimeout(start, delay);
  }

  // A process that stopped saying it is alive.
  const watchdog = setInterval(() => {
    if (child && everListened && Date.now() - lastHeard > limits.hangMs) {
      log.error(`the web process said nothing for ${limits.hangMs / 1000} s; starting it again`);
      lost(child, new Error('the web process hung'));
    }
  }, 1000);
  watchdog.unref();

  return {
    /** Starts the web process listening on `host:port`; resolves with its URL once it does, rejects with why it could not. */
    listen(host: string, port: number): Promise<string> {
      where = { host, port };
      const url = new Promise<string>((resolve, reject) => (listening = { resolve, reject }));
      start();
      return url;
    },
    /** Stops the web process (it closes its port and finishes what it serves); the pops' sockets are the pop host's. */
    close(): Promise<void> {
      stopped ??= (async () => {
        closing = true;
        clearInterval(watchdog);
        clearTimeout(restartTimer);
        const c = child;
        if (c && c.exitCode === null && c.signalCode === null) {
          const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
          send({ type: 'stop' });
          const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        child = null;
      })();
      return stopped;
    },
  };
}

export type WebFront = ReturnType<typeof startWebFront>;
