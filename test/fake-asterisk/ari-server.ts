import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

/** A REST request after routing: path below `/ari`, query and JSON body merged into `params`. */
export interface AriRequest {
  method: string;
  path: string;
  params: Record<string, string>;
}

/**
 * The answer to a request; or, for a request Asterisk runs on the channel's own thread, the
 * moment it gets its turn (`after`) and what it does then (`run`): such requests wait behind a
 * prompt that is playing, and are answered only once they ran.
 */
/** `raw`: bytes sent as they are (a recording's file), with `contentType`. */
type AriAnswer = { status: number; body?: unknown; raw?: Buffer; contentType?: string };
export type AriReply = AriAnswer | { after: Promise<void>; run(): AriAnswer };
export type AriHandler = (request: AriRequest) => AriReply;
/**
 * How an overloaded or lossy Asterisk treats a request: `delayMs` / `until` answer late (the
 * request takes effect at once, as a reply lost in a queue), `drop` neither carries it out nor ever answers.
 */
/** `status`: Asterisk refuses the request with this status (the request is not carried out). */
export type AriFault = { delayMs?: number; until?: Promise<unknown>; drop?: boolean; status?: number } | undefined;

/**
 * ARI over HTTP and a websocket, as Asterisk serves it: swagger files by name (basePath
 * rewritten from the Host header), basic auth, `/ari/events?app=…&api_key=user:pass`.
 */
export function createAriServer(options: { apiDocs: Map<string, string>; user: string; password: string; keepAlive?: boolean; onRequest: AriHandler; onAppsChanged(): void }) {
  const docs = options.apiDocs;
  const sockets = new Set<Socket>();
  const clients = new Map<WebSocket, string[]>();
  /** Every request carried out, with `replied` set once its answer has been sent. */
  const exchanges: Array<{ method: string; path: string; params: Record<string, string>; status: number; replied: boolean }> = [];
  const wss = new WebSocketServer({ noServer: true });
  let server: Server | null = null;
  let port = 0;
  let fault: (request: AriRequest) => AriFault = () => undefined;

  const authorised = (header: string | undefined, apiKey: string | null): boolean => {
    const expected = `${options.user}:${options.password}`;
    if (apiKey !== null) return decodeURIComponent(apiKey) === expected;
    if (!header?.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString('utf8') === expected;
  };

  function send(res: ServerResponse, status: number, body?: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (!url.pathname.startsWith('/ari/')) return send(res, 404, { message: 'Not found' });
    const path = url.pathname.slice(4);
    const doc = /^\/api-docs\/([\w]+\.json)$/.exec(path);
    if (doc && req.method === 'GET') {
      const text = docs.get(doc[1]!);
      if (!text) return send(res, 404, { message: 'Not found' });
      // Asterisk rewrites basePath from the request's Host header.
      const body = text.replace(/"basePath":"[^"]*"/, `"basePath":"http://${req.headers.host}/ari"`);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (!authorised(req.headers.authorization, url.searchParams.get('api_key'))) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="Asterisk REST Interface"', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'Authentication required' }));
      return;
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (raw.trim()) {
      try {
        const body = JSON.parse(raw) as Record<string, unknown>;
        for (const [k, v] of Object.entries(body)) if (typeof v !== 'object') params[k] = String(v);
      } catch {
        return send(res, 400, { message: 'Invalid JSON body' });
      }
    }
    const request = { method: req.method ?? 'GET', path, params };
    const trouble = fault(request);
    if (trouble?.drop) return;
    if (trouble?.status) return send(res, trouble.status, { message: 'refused by a fault the test set' });
    const answer = options.onRequest(request);
    const reply = 'after' in answer ? await answer.after.then(() => answer.run()) : answer;
    const exchange = { ...request, status: reply.status, replied: false };
    exchanges.push(exchange);
    if (trouble?.delayMs) await new Promise((r) => setTimeout(r, trouble.delayMs));
    if (trouble?.until) await trouble.until;
    if (reply.raw) {
      res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'application/octet-stream', 'Content-Length': reply.raw.length });
      res.end(reply.raw);
    } else send(res, reply.status, reply.body);
    exchange.replied = true;
  }

  function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const apps = (url.searchParams.get('app') ?? '').split(',').filter(Boolean);
    if (url.pathname !== '/ari/events' || !authorised(req.headers.authorization, url.searchParams.get('api_key')) || apps.length === 0) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.set(ws, apps);
      ws.on('close', () => {
        clients.delete(ws);
        options.onAppsChanged();
      });
      ws.on('error', () => {});
      options.onAppsChanged();
    });
  }

  return {
    exchanges,
    port: () => port,
    url: () => `http://127.0.0.1:${port}`,
    /** Decides, per request, whether it is answered late or lost (see AriFault); `undefined` for none. */
    setFault(next: ((request: AriRequest) => AriFault) | undefined): void {
      fault = next ?? (() => undefined);
    },
    /** Apps with a websocket open, i.e. registered Stasis applications. */
    registeredApps(): Set<string> {
      return new Set([...clients.values()].flat());
    },
    /** Sends a message as it is (not JSON, `null`, a malformed event…) to the websockets subscribed to `app`. */
    emitRaw(app: string, data: string | Buffer): void {
      for (const [ws, apps] of clients) if (apps.includes(app) && ws.readyState === ws.OPEN) ws.send(data);
    },
    /** Sends an event to the websockets subscribed to `app`. */
    emit(app: string, event: Record<string, unknown>): void {
      const text = JSON.stringify({ ...event, asterisk_id: '02:fc:00:00:00:01', application: app });
      for (const [ws, apps] of clients) if (apps.includes(app) && ws.readyState === ws.OPEN) ws.send(text);
    },
    async listen(): Promise<void> {
      server = createServer((req, res) => {
        if (options.keepAlive === false) res.setHeader('connection', 'close');
        handle(req, res).catch(() => send(res, 500, { message: 'Internal error' }));
      });
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.on('upgrade', upgrade);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
      port = (server.address() as AddressInfo).port;
    },
    async close(): Promise<void> {
      for (const ws of clients.keys()) ws.terminate();
      clients.clear();
      for (const s of sockets) s.destroy();
      sockets.clear();
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
