import type { Hotline } from '../app.js';
import type { HttpTimeouts } from '../http/server.js';
import { createHttpServer, limitConnectionsPerAddress } from '../http/server.js';
import type { RealtimeOptions, RealtimeServices } from './realtime.js';
import { attachRealtime } from './realtime.js';

/**
 * The agents' screen-pop sockets (socket.io) on an HTTP server that listens nowhere itself. With the
 * `web` role the web process hands it the sockets that ask for socket.io (web-front.ts); a `bridge`
 * without `web` has no sockets of its own, and its pops reach the web instances' through Redis.
 * Anything else that reaches the server is not for it.
 */
export function startPopHost(hotline: RealtimeServices & Pick<Hotline, 'config'>, options: { timeouts?: Partial<HttpTimeouts>; realtime?: RealtimeOptions } = {}) {
  const server = createHttpServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('Not found');
  }, options.timeouts);
  limitConnectionsPerAddress(server, hotline.config.httpMaxConnectionsPerAddress);
  const realtime = attachRealtime(server, hotline, options.realtime);
  return {
    server,
    realtime,
    async close(): Promise<void> {
      await realtime.close();
      server.closeAllConnections();
    },
  };
}

export type PopHost = ReturnType<typeof startPopHost>;
