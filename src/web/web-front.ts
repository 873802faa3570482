import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Worker } from 'node:worker_threads';
import type { Hotline } from '../app.js';
import type { HttpTimeouts } from '../http/server.js';
import { createHttpServer, limitConnectionsPerAddress } from '../http/server.js';
import { localPbx } from '../http/ports.js';
import type { WebMail } from '../http/ports.js';
import type { Pbx } from '../pbx/pbx.js';
import { backoffDelay } from '../pbx/with-timeout.js';
import type { RealtimeOptions } from '../realtime/realtime.js';
import { attachRealtime } from '../realtime/realtime.js';
import { clientConnectionBudget } from '../fd-budget.js';
import { BACKGROUND_NICE, startModuleThread } from '../thread.js';
import type { FromWeb, ServiceCall, ToWeb } from './protocol.js';
import { toWire } from './protocol.js';
import type { WebThreadData } from './web-thread.js';

/** How much the web thread may take on, and how long a request may wait for it. */
export interface WebFrontLimits {
  /** Requests handed to the thread at once; the rest wait here, in order. */
  inFlight: number;
  /** Requests waiting beyond that; more are answered 503 at once. */
  queued: number;
  /** A request that waited this long for the thread is answered 503 instead. */
  waitMs: number;
  /** A thread with requests that has said nothing for this long is stopped and started again. */
  hangMs: number;
  /** The web thread's nice value (Linux); 0: the process's own. */
  nice: number;
}

export const WEB_FRONT_LIMITS: WebFrontLimits = { inFlight: 16, queued: 4096, waitMs: 10_000, hangMs: 20_000, nice: BACKGROUND_NICE };

// Hop-by-hop headers of the thread's (simulated) response: this connection sets its own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

interface Job {
  id: number;
  req: IncomingMessage;
  res: ServerResponse;
  queuedAt: number;
  /** The body is being forwarded to the thread (it asked for it). */
  reading: boolean;
}

/**
 * `hotline serve`'s HTTP side. The main thread runs the call path (ARI/AMI events, IVR decisions)
 * and the socket.io screen-pops, and only accepts HTTP here: every other request is handed to the
 * web thread (pages, API, /healthz), a bounded number at a time, so however many agents load lists,
 * the main thread does a few microseconds of work per request and nothing more. Past the bounds a
 * request is answered `503` with `Retry-After`. A web thread that dies or hangs is started again;
 * calls and pops go on meanwhile.
 */
export function startWebFront(hotline: Hotline, services: { pbx: Pbx; mail: WebMail; settingsChanged?: () => void }, options: { timeouts?: Partial<HttpTimeouts>; limits?: Partial<WebFrontLimits>; realtime?: RealtimeOptions } = {}) {
  const limits = { ...WEB_FRONT_LIMITS, ...options.limits };
  const log = hotline.log;
  const pbx = localPbx(services.pbx);
  const { mail } = services;
  const queue: Job[] = [];
  const inFlight = new Map<number, Job>();
  let nextId = 0;
  let thread: Worker | null = null;
  let ready = false;
  let lastHeard = Date.now();
  let restarts = 0;
  let closing = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | null = null;
  let everReady = false;
  let started!: { resolve(): void; reject(error: Error): void };
  const firstStart = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
  firstStart.catch(() => {});

  const server = createHttpServer((req, res) => accept(req, res), options.timeouts);
  limitConnectionsPerAddress(server, hotline.config.httpMaxConnectionsPerAddress);
  // However many clients come, they leave the call path its file descriptors.
  const budget = clientConnectionBudget();
  if (budget) server.maxConnections = budget.web;
  const realtime = attachRealtime(server, hotline, options.realtime);

  function unavailable(job: Pick<Job, 'req' | 'res'>, why: string): void {
    const { req, res } = job;
    if (res.headersSent || res.destroyed) return;
    const api = req.url?.startsWith('/api/') || req.url === '/healthz';
    res.writeHead(503, { 'retry-after': '1', 'content-type': api ? 'application/json' : 'text/html; charset=utf-8', 'cache-control': 'no-store', ...(req.complete ? {} : { connection: 'close' }) });
    res.end(api ? JSON.stringify({ status: 'error', error: why }) : `<!doctype html><title>Busy — Hotline</title><p>${why} Please try again in a moment.</p>`);
  }

  function accept(req: IncomingMessage, res: ServerResponse): void {
    if (closing) return unavailable({ req, res }, 'Hotline is stopping.');
    if (queue.length >= limits.queued) return unavailable({ req, res }, 'Hotline is busy.');
    const job: Job = { id: ++nextId, req, res, queuedAt: Date.now(), reading: false };
    // Health checks go first: a monitor must not see a busy page queue as a dead service.
    if (req.url === '/healthz') queue.unshift(job);
    else queue.push(job);
    res.once('close', () => {
      if (inFlight.has(job.id) && job.reading && !req.complete) send({ type: 'aborted', id: job.id });
    });
    pump();
  }

  function send(message: ToWeb): void {
    thread?.postMessage(message);
  }

  function pump(): void {
    while (ready && inFlight.size < limits.inFlight && queue.length > 0) {
      const job = queue.shift()!;
      if (job.res.destroyed) continue;
      if (Date.now() - job.queuedAt > limits.waitMs) {
        unavailable(job, 'Hotline is busy.');
        continue;
      }
      inFlight.set(job.id, job);
      const { req } = job;
      const body = req.method !== 'GET' && req.method !== 'HEAD' && ((req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined);
      if (inFlight.size === 1) lastHeard = Date.now();
      send({ type: 'request', id: job.id, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '', body });
    }
  }

  /** The thread asked for more of a body: one chunk per ask, so an upload nobody reads is not read. */
  function pull(job: Job): void {
    const { req } = job;
    if (!job.reading) {
      job.reading = true;
      req.on('data', (chunk: Buffer) => {
        req.pause();
        send({ type: 'chunk', id: job.id, data: chunk });
      });
      req.once('end', () => send({ type: 'end', id: job.id }));
      req.once('error', () => send({ type: 'aborted', id: job.id }));
    }
    req.resume();
  }

  function respond(m: Extract<FromWeb, { type: 'response' }>): void {
    const job = inFlight.get(m.id);
    if (!job) return;
    inFlight.delete(m.id);
    const { req, res } = job;
    if (!res.destroyed && !res.headersSent) {
      const headers: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(m.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
      // A body the route did not read stays unread: the connection cannot carry another request.
      if (!req.complete) headers.connection = 'close';
      res.writeHead(m.status, headers);
      res.end(Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength));
    }
    pump();
  }

  const serviceCalls: Record<ServiceCall, (...args: never[]) => unknown> = {
    'pbx.status': () => pbx.status(),
    // Answered twice, in serve() below.
    'pbx.originate': () => undefined,
    'mail.status': () => mail.status(),
    'mail.counts': () => mail.counts(),
    'mail.flagged': () => mail.flagged(),
    'mail.rawBytes': (id: number) => mail.rawBytes(id),
    'mail.reprocess': (id: number) => mail.reprocess(id),
    'mail.reply': (...args: Parameters<typeof mail.reply>) => mail.reply(...args),
    'ttn.reload': async () => {
      await hotline.ttn.load();
      services.settingsChanged?.();
    },
  };

  async function serve(m: Extract<FromWeb, { type: 'call' }>): Promise<void> {
    try {
      if (m.method === 'pbx.originate') {
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

  function start(): void {
    const data: WebThreadData = { config: hotline.config, timeouts: options.timeouts, nice: limits.nice, writeTurns: hotline.writeTurns };
    const w = startModuleThread(import.meta.url, 'web-thread', data);
    thread = w;
    ready = false;
    w.on('message', (m: FromWeb) => {
      if (thread !== w) return;
      lastHeard = Date.now();
      switch (m.type) {
        case 'ready':
          ready = true;
          everReady = true;
          restarts = 0;
          started.resolve();
          pump();
          break;
        case 'response':
          respond(m);
          break;
        case 'pull': {
          const job = inFlight.get(m.id);
          if (job) pull(job);
          break;
        }
        case 'call':
          void serve(m);
          break;
      }
    });
    w.on('error', (error) => lost(w, error));
    w.on('exit', (code) => lost(w, new Error(`the web thread stopped (exit code ${code})`)));
  }

  /** The thread died (or was stopped as hung): what it had is answered 503, and a new one starts. */
  function lost(w: Worker, error: Error): void {
    if (thread !== w) return;
    thread = null;
    ready = false;
    void w.terminate();
    for (const job of inFlight.values()) unavailable(job, 'The web pages are restarting.');
    inFlight.clear();
    if (closing) return;
    // A thread that never came up (its database cannot be opened, say) will not come up by retrying.
    if (!everReady && restarts >= 2) {
      started.reject(error);
      return;
    }
    const delay = backoffDelay(restarts++, 5000);
    log.error({ err: error.message, restartInMs: delay }, 'the web thread stopped; calls go on, and the pages start again');
    restartTimer = setTimeout(start, delay);
  }

  // Requests left waiting too long, and a thread that stopped answering.
  const watchdog = setInterval(() => {
    while (queue.length > 0 && Date.now() - queue[0]!.queuedAt > limits.waitMs) unavailable(queue.shift()!, 'Hotline is busy.');
    if (thread && inFlight.size > 0 && Date.now() - lastHeard > limits.hangMs) {
      log.error({ inFlight: inFlight.size }, `the web thread answered nothing for ${limits.hangMs / 1000} s; starting it again`);
      lost(thread, new Error('the web thread hung'));
    }
  }, 1000);
  watchdog.unref();

  start();

  return {
    server,
    realtime,
    /** Resolves once the web thread can answer; rejects with why it could not start. */
    ready: () => firstStart,
    async listen(host: string, port: number): Promise<string> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address();
      return typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
    },
    /** Stops taking requests, answers what waits with 503, stops the web thread. */
    close(): Promise<void> {
      stopped ??= (async () => {
        closing = true;
        clearInterval(watchdog);
        clearTimeout(restartTimer);
        for (const job of queue.splice(0)) unavailable(job, 'Hotline is stopping.');
        await realtime.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const w = thread;
        if (w) {
          const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
          send({ type: 'stop' });
          const timer = setTimeout(() => void w.terminate(), 3000);
          await exited;
          clearTimeout(timer);
        }
        server.closeAllConnections();
        await closed;
      })();
      return stopped;
    },
  };
}

export type WebFront = ReturnType<typeof startWebFront>;
