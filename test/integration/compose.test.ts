// The composition root (#19, part 0): `buildApp(config)` starts what `services` names, each part a
// fastify plugin that stops its part again; a part that cannot start stops the parts started before it.
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHotline } from '../../src/app.js';
import { buildApp } from '../../src/compose.js';
import type { ConfigInput } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/hotline.js';
import { deadPort, freePort } from '../helpers/ports.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const silent = pino({ level: 'silent' });

async function setup(overrides: ConfigInput) {
  const { dir, cleanup } = tempDir('hl-compose-');
  cleanups.push(cleanup);
  const pbx = await deadPort();
  cleanups.push(() => pbx.close());
  return loadConfig({ env: {}, cwd: dir, overrides: { dataDir: join(dir, 'data'), instanceId: 'root-test', ariUrl: `http://127.0.0.1:${pbx.port}`, amiPort: pbx.port, httpPort: 0, smtpPort: 0, logLevel: 'silent', ...overrides } });
}

/** Whether something accepts connections on the port. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** The instances the database says are alive. */
async function aliveInstances(config: ReturnType<typeof loadConfig>): Promise<string[]> {
  const hotline = await createHotline(config, { log: silent, installPrompts: false });
  try {
    return (await hotline.leases.live('instance:', Date.now())).map((l) => l.holder);
  } finally {
    await hotline.close();
  }
}

describe('buildApp', () => {
  it('starts only the parts `services` names, and app.close() stops each of them', async () => {
    const config = await setup({ services: 'mail' });
    const app = await buildApp(config, { log: silent });
    expect({ web: app.webFront, pbx: app.pbx, pops: app.popHost }).toEqual({ web: null, pbx: null, pops: null });
    const smtpPort = app.mailChannel!.smtpPort()!;
    expect(await accepts(smtpPort)).toBe(true);
    // Alive for the other instances, whatever its roles.
    expect(await aliveInstances(config)).toEqual(['root-test']);
    await app.close();
    expect(await accepts(smtpPort)).toBe(false);
    // Given up on the way out: other instances need not wait for it to run out.
    expect(await aliveInstances(config)).toEqual([]);
  });

  it('stops the parts that started when a later one cannot, and says why', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const smtpPort = await freePort();
    const config = await setup({ services: 'web,mail', httpPort: (taken.address() as AddressInfo).port, smtpPort });
    await expect(buildApp(config, { log: silent })).rejects.toThrow(/cannot start the web UI on 127.0.0.1:\d+: the port is already in use/);
    // The mail part had started (it comes before the web): it is stopped again, and so is the core.
    expect(await accepts(smtpPort)).toBe(false);
    expect(await aliveInstances(config)).toEqual([]);
  });

  it('refuses a role it does not know, naming the setting', () => {
    expect(() => loadConfig({ env: { HOTLINE_SERVICES: 'web,voicemail' }, cwd: '/' })).toThrow(/services \(from HOTLINE_SERVICES\): unknown service "voicemail": choose from web, bridge, mail/);
  });
});
