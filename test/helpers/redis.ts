import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tempDir } from './hotline.js';
import { freePort } from './ports.js';
import { untilReady } from './spawn-ready.js';

const REDIS_SERVER = '/usr/bin/redis-server';

/** Whether Debian's redis-server is here (`.ci/run` installs it). */
export const redisAvailable = (): boolean => existsSync(REDIS_SERVER);

/** A throw-away Redis on a free loopback port, nothing kept on disk. */
export async function startRedis(): Promise<{ url: string; socketUrl: string; pid: number; stop(): Promise<void> }> {
  if (!redisAvailable()) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`);
  const { dir, cleanup } = tempDir('hl-redis-');
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--unixsocket', `${dir}/redis.sock`, '--unixsocketperm', '700', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited } = await untilReady(child, /Ready to accept connections/, 'redis-server', 15_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    /** The same server over its Unix socket. */
    socketUrl: `unix://${dir}/redis.sock`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
}
