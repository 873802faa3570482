// The web process: agent and admin pages, the JSON API and /healthz, on a connection of its own to
// the same SQLite file (WAL). It owns the HTTP port and every page connection: parsing requests,
// rendering lists and writing answers happen here, on other cores and at a lower priority than the
// call path, never on the event loop that answers Asterisk (see web-front.ts). A connection whose
// first request is for socket.io is handed, still unanswered, to the main process, which holds the
// agents' screen-pop sockets beside the call path.
import type { Article } from '../core/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHotline } from '../app.js';
import type { Config } from '../config.js';
import { buildWebApp, HTTP_TIMEOUTS, limitConnectionsPerAddress } from '../http/server.js';
import type { HttpTimeouts } from '../http/server.js';
import type { WebMail, WebPbx } from '../http/ports.js';
import type { DialOutcome, OriginateRequest } from '../pbx/pbx.js';
import { clientConnectionBudget } from '../fd-budget.js';
import type { FromWeb, ServiceCall, ToWeb } from './protocol.js';
import type { Reply } from './protocol.js';
import { createReplies, isRealtimeRequest, peekRequest, RELAY_MAX_BODY_BYTES, toWire } from './protocol.js';
import { asBuffer } from '../thread.js';

export interface WebProcessData {
  config: Config;
  timeouts?: Partial<HttpTimeouts>;
  host: string;
  port: number;
}

// A write here may wait for a lock longer than one on the call path may: it stalls only pages.
const WEB_BUSY_TIMEOUT_MS = 2000;
/** How often the process tells the main process it is alive (the main process restarts a silent one). */
export const WEB_ALIVE_MS = 1000;

if (!process.send) throw new Error('web-process.ts runs as a child process of `hotline serve`');
/** False: the main process is gone. (send's own false only says that messages queue, as handles do until acknowledged.) */
const post = (message: FromWeb, handle?: Socket): boolean => {
  if (!process.connected) return false;
  try {
    process.send!(message, handle as never);
    return true;
  } catch {
    return false;
  }
};
// The main process is gone (even killed): so is the service. Nothing may keep its port.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal, or a service manager stopping the whole group, signals this process too:
// the main process decides (it sends `stop`, or goes away), so that the pages are not reported
// lost and started again on the way down.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

/** Calls into the main process's services; a call that has a second answer (click-to-dial's outcome) gets `later`. */
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

const data = await new Promise<WebProcessData>((resolve) => {
  process.once('message', (m: ToWeb) => {
    if (m.type === 'start') resolve(m.data as WebProcessData);
  });
});

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
  flagged: (offset, limit) => ask('mail.flagged', offset, limit) as ReturnType<WebMail['flagged']>,
  rawBytes: async (id) => {
    const bytes = (await ask('mail.rawBytes', id)) as Uint8Array | null;
    return bytes && asBuffer(bytes);
  },
  reprocess: (id) => ask('mail.reprocess', id) as Promise<boolean>,
  reply: (ticket, agent, input) => ask('mail.reply', ticket, agent, input) as Promise<Article>,
};

const hotline = await createHotline(data.config, { busyTimeoutMs: WEB_BUSY_TIMEOUT_MS, installPrompts: false });
// Settings changed by another instance (this one's are told at once).
hotline.watchSettings();
const app = await buildWebApp(hotline, {
  // The bridge runs in this instance's main process, or (`services` without `bridge`) in other instances.
  pbx: data.config.services.includes('bridge') ? pbx : undefined,
  mail,
  timeouts: data.timeouts,
  templatesDir: data.config.templatesDir || undefined,
  settingsChanged: async () => void (await ask('settings.reload')),
});
await app.ready();
const server = app.server;
// Logouts, revoked tokens, deactivations and permission changes happen here; the sockets they end are the main process's.
hotline.events.on('access.changed', async ({ agentId }) => void (await ask('realtime.revalidate', agentId).catch(() => undefined)));
// Notices written here (a ticket given to someone on a page) reach their sockets at once, not at the next check.
hotline.events.on('notice.created', async () => void (await ask('realtime.notices').catch(() => undefined)));
const timeouts = { ...HTTP_TIMEOUTS, ...data.timeouts };

// socket.io requests that come on a connection of pages (the client script, or the long-polling
// fallback on a browser's kept-alive connection) are relayed to the main process whole.
const relays = createReplies();
let nextRelay = 0;
async function relay(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > RELAY_MAX_BODY_BYTES) {
        res.writeHead(413, { connection: 'close' }).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const id = ++nextRelay;
    const answer = relays.expect(id);
    post({ type: 'relay', id, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '', body: Buffer.concat(chunks) });
    const { status, headers, body } = (await answer) as { status: number; headers: Record<string, string | string[]>; body: Uint8Array };
    delete headers['transfer-encoding'];
    delete headers.connection;
    delete headers['keep-alive'];
    res.writeHead(status, headers).end(asBuffer(body));
  } catch (error) {
    if (!res.headersSent) res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' }).end('The screen-pop service is not available right now.');
    hotline.log.warn({ err: (error as Error).message, url: req.url }, 'a socket.io request could not be relayed');
  }
}
const pages = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
server.removeAllListeners('request');
server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  if (isRealtimeRequest(req.url)) void relay(req, res);
  else for (const listener of pages) listener.call(server, req, res);
});

// Each new connection: its first request's head is read here before anything parses it. Pages stay;
// a socket.io connection goes to the main process with the bytes read so far. The head must come
// within the header deadline, as on any connection.
const parse = server.listeners('connection') as Array<(socket: Socket) => void>;
server.removeAllListeners('connection');
const handedOver = limitConnectionsPerAddress(server, hotline.config.httpMaxConnectionsPerAddress);
const budget = clientConnectionBudget();
if (budget) server.maxConnections = budget.web;
(server as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
server.on('connection', (socket: Socket) => {
  if (socket.destroyed) return;
  peekRequest(socket, timeouts.headersMs, (head) => {
    if (head === null) return socket.destroy();
    // Only a websocket: any other connection may carry page requests after its first (a browser
    // keeps it alive), and those are this process's. socket.io's script and long-polling are relayed.
    if (isRealtimeRequest(head.path) && head.method === 'GET' && head.websocket) {
      // Sent, the socket here never closes (its handle goes): it counts against the address over there.
      if (post({ type: 'socket', head: head.bytes }, socket)) return handedOver(socket);
      return socket.destroy();
    }
    socket.unshift(head.bytes);
    for (const listener of parse) listener.call(server, socket);
    // Paused to look: the parser takes over from the bytes read so far.
    socket.resume();
  });
});

process.on('message', (m: ToWeb) => {
  switch (m.type) {
    case 'result':
      services.result(m);
      break;
    case 'later':
      services.later(m);
      break;
    case 'relayed':
      relays.settle({ call: m.id, value: m.error ? undefined : m, error: m.error });
      break;
    case 'stop':
      void app
        .close()
        .then(() => hotline.close())
        .finally(() => process.exit(0));
      break;
    default:
      break;
  }
});

try {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(data.port, data.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
} catch (error) {
  post({ type: 'failed', error: toWire(error) });
  await hotline.close().catch(() => undefined);
  process.exit(1);
}
const address = server.address();
post({ type: 'listening', port: typeof address === 'object' && address ? address.port : data.port, family: typeof address === 'object' && address ? address.family : 'IPv4', address: typeof address === 'object' && address ? address.address : data.host });
setInterval(() => post({ type: 'alive' }), WEB_ALIVE_MS).unref();
