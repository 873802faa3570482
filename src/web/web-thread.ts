// The web thread: agent and admin pages, the JSON API and /healthz, on a connection of its own to the
// same SQLite file (WAL). The main thread accepts the HTTP connections and hands each request over
// (see web-front.ts); rendering a list or counting tickets here never makes a call wait there.
import type { Article } from '../core/types.js';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { createHotline } from '../app.js';
import type { Config } from '../config.js';
import { buildApp } from '../http/server.js';
import type { HttpTimeouts } from '../http/server.js';
import type { WebMail, WebPbx } from '../http/ports.js';
import type { DialOutcome, OriginateRequest } from '../pbx/pbx.js';
import type { FromWeb, ServiceCall, ToWeb } from './protocol.js';
import type { Reply } from './protocol.js';
import { createReplies } from './protocol.js';
import { asBuffer, lowerThreadPriority } from '../thread.js';

export interface WebThreadData {
  config: Config;
  timeouts?: Partial<HttpTimeouts>;
  /** The thread's scheduling priority (nice value, Linux); 0 leaves it as the process's. */
  nice: number;
  /** The service's write turns (the call path writes first). */
  writeTurns: SharedArrayBuffer | null;
}

// A write here may wait for a lock longer than one on the main thread may: it stalls only pages.
const WEB_BUSY_TIMEOUT_MS = 2000;

if (!parentPort) throw new Error('web-thread.ts runs as a worker thread of `hotline serve`');
const port = parentPort;
const data = workerData as WebThreadData;
const post = (message: FromWeb, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

/** Calls into the main thread's services; a call that has a second answer (click-to-dial's outcome) gets `later`. */
function serviceCalls() {
  let next = 0;
  const answers = createReplies();
  const laters = createReplies();
  return {
    call(method: ServiceCall, args: unknown[] = [], withLater = false): { answer: Promise<unknown>; later?: Promise<unknown> } {
      const call = ++next;
      const answer = answers.expect(call);
      const later = withLater ? laters.expect(call) : undefined;
      post({ type: 'call', call, method, args });
      return { answer, later };
    },
    result(reply: Reply): void {
      // A call that failed has no second answer.
      if (reply.error) laters.forget(reply.call);
      answers.settle(reply);
    },
    later: (reply: Reply) => laters.settle(reply),
  };
}

/** A request body that arrives as the route reads it: nothing is read from the client before a route asks. */
class BodyStream extends Readable {
  constructor(private readonly id: number) {
    super();
  }
  override _read(): void {
    post({ type: 'pull', id: this.id });
  }
}

lowerThreadPriority(data.nice);
const services = serviceCalls();
const ask = async (method: ServiceCall, ...args: unknown[]) => services.call(method, args).answer;
const pbx: WebPbx = {
  status: () => ask('pbx.status') as ReturnType<WebPbx['status']>,
  async originate(request: OriginateRequest) {
    const { answer, later } = services.call('pbx.originate', [request], true);
    await answer;
    return { result: later as Promise<DialOutcome> };
  },
};
const mail: WebMail = {
  status: () => ask('mail.status') as Promise<string>,
  counts: () => ask('mail.counts') as ReturnType<WebMail['counts']>,
  flagged: () => ask('mail.flagged') as ReturnType<WebMail['flagged']>,
  rawBytes: async (id) => {
    const bytes = (await ask('mail.rawBytes', id)) as Uint8Array | null;
    return bytes && asBuffer(bytes);
  },
  reprocess: (id) => ask('mail.reprocess', id) as Promise<boolean>,
  reply: (ticket, agent, input) => ask('mail.reply', ticket, agent, input) as Promise<Article>,
};

const hotline = await createHotline(data.config, { busyTimeoutMs: WEB_BUSY_TIMEOUT_MS, installPrompts: false, writeTurns: data.writeTurns ? { shared: data.writeTurns, role: 'background' } : undefined });
const app = await buildApp(hotline, {
  pbx,
  mail,
  timeouts: data.timeouts,
  templatesDir: data.config.templatesDir || undefined,
  settingsChanged: async () => void (await ask('ttn.reload')),
});
await app.ready();
const bodies = new Map<number, BodyStream>();

async function handle(m: Extract<ToWeb, { type: 'request' }>): Promise<void> {
  const body = m.body ? new BodyStream(m.id) : undefined;
  if (body) bodies.set(m.id, body);
  try {
    const res = await app.inject({ method: m.method as 'GET', url: m.url, headers: m.headers, remoteAddress: m.remoteAddress, payloadAsStream: true, ...(body ? { payload: body } : {}) });
    // The body is gathered once into memory of its own and handed over, not copied again by postMessage.
    const chunks: Buffer[] = [];
    for await (const chunk of res.stream()) chunks.push(chunk as Buffer);
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    post({ type: 'response', id: m.id, status: res.statusCode, headers: res.headers, body: out }, [out.buffer]);
  } catch (error) {
    hotline.log.error({ err: error, url: m.url }, 'the web thread could not answer a request');
    post({ type: 'response', id: m.id, status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from('Something went wrong on the server; it has been logged.') });
  } finally {
    bodies.delete(m.id);
    body?.destroy();
  }
}

port.on('message', (m: ToWeb) => {
  switch (m.type) {
    case 'request':
      void handle(m);
      break;
    case 'chunk':
      bodies.get(m.id)?.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      break;
    case 'end':
      bodies.get(m.id)?.push(null);
      break;
    case 'aborted':
      bodies.get(m.id)?.destroy(new Error('the client went away before sending the whole request'));
      break;
    case 'result':
      services.result(m);
      break;
    case 'later':
      services.later(m);
      break;
    case 'stop':
      void app.close().finally(() => {
        hotline.close();
        port.close();
      });
      break;
  }
});
post({ type: 'ready' });
