import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Logger } from '../logger.js';

/**
 * socket.io's Redis adapter (the socket.io project's own, @socket.io/redis-adapter), so that every
 * instance's `io.to(room).emit(…)` — pops and their acknowledgements too — reaches the agents'
 * sockets on all instances. Redis being away must not touch calls: the publishing client keeps no
 * queue while disconnected (a pop then reaches only this instance's sockets, at once, instead of all
 * of them late), and its refused commands are caught here — the adapter and socket.io leave their
 * promises unhandled, and an unhandled rejection would end the process. Both clients reconnect by themselves.
 */
export function redisAdapter(url: string, log: Logger) {
  const reconnectStrategy = (retries: number) => Math.min(100 * 2 ** retries, 5000);
  // `unix:///run/redis/redis-server.sock`: a Redis on this machine over its Unix socket.
  const where = url.startsWith('unix:') ? { socket: { path: decodeURIComponent(new URL(url).pathname) } } : { url, socket: {} };
  const pub = createClient({ url: where.url, disableOfflineQueue: true, socket: { ...where.socket, connectTimeout: 2000, reconnectStrategy } });
  // Subscriptions wait for the connection (they are made once, when the adapter is created).
  const sub = pub.duplicate({ disableOfflineQueue: false });
  let lastError = '';
  for (const [name, client] of [['publisher', pub], ['subscriber', sub]] as const) {
    client.on('error', (error: Error) => {
      if (error.message !== lastError) log.warn({ err: error.message, client: name }, 'Redis: pops reach only the sockets of this instance until it is back');
      lastError = error.message;
    });
    client.on('ready', () => {
      lastError = '';
      log.info({ client: name }, 'Redis connected: pops reach the agents of every instance');
    });
    void client.connect().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'Redis: first connection failed; retrying'));
  }
  const publisher = new Proxy(pub, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      // socket.io counts the servers (PUBSUB NUMSUB) before an emit that waits for acknowledgements,
      // and leaves that promise unhandled too: while Redis is away, this server is the only one.
      if (property === 'sendCommand') {
        return (args: string[], ...rest: unknown[]) =>
          (target.sendCommand as (...a: unknown[]) => Promise<unknown>)(args, ...rest).catch((error: unknown) => {
            if (args[0] === 'PUBSUB' && args[1] === 'NUMSUB') return [args[2], 1];
            throw error;
          });
      }
      if (property === 'publish') {
        return (...args: Parameters<typeof target.publish>) =>
          target.publish(...args).catch((error: unknown) => {
            log.debug({ err: (error as Error).message }, 'Redis publish refused');
            return 0;
          });
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    adapter: createAdapter(publisher, sub, { key: 'hotline', requestsTimeout: 2000 }),
    /** In words, for /healthz. */
    state: (): string => (pub.isReady && sub.isReady ? 'Redis ready' : `Redis ${lastError ? `unreachable (${lastError})` : 'connecting'}: pops reach only agents connected to this instance`),
    ready: () => pub.isReady && sub.isReady,
    close(): void {
      // At once, connected or not (a reconnecting client would otherwise go on trying).
      for (const client of [pub, sub]) {
        try {
          client.destroy();
        } catch {
          // closed already
        }
      }
    },
  };
}

export type RedisAdapter = ReturnType<typeof redisAdapter>;
