import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tempDir } from './hotline.js';
import { freePort } from './ports.js';
import { untilReady } from './spawn-ready.js';

const REDIS_SERVER = '/usr/bin/redis-server';

/** Whether Debian's redis-server is here (`.ci/run` installs it). */
export const redisAvailable = (): boolean => existsSync(REDIS_SERVER);

/** A throw-away Redis on a free loopback port, nothing kept on disk. */
export async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  if (!redisAvailable()) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`);
  const { dir, cleanup } = tempDir('hl-redis-');
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited } = await untilReady(child, /Ready to accept connections/, 'redis-server', 15_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      cleanup();
    },
  };
}
