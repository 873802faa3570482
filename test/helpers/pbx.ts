import pino from 'pino';
import type { Hotline } from '../../src/app.js';
import { pbxOptionsFrom } from '../../src/app.js';
import type { ConfigInput } from '../../src/config.js';
import type { Pbx } from '../../src/pbx/pbx.js';
import { startPbx } from '../../src/pbx/pbx.js';
import type { FakeAsterisk, FakeAsteriskOptions } from '../fake-asterisk/fake-asterisk.js';
import { createFakeAsterisk } from '../fake-asterisk/fake-asterisk.js';
import { testHotline } from './hotline.js';

/** The lab's queues.conf (shared/asterisk/lab-config): support = 201, 202; billing = 203. */
export const LAB_QUEUES: FakeAsteriskOptions['queues'] = {
  support: [
    { iface: 'Local/201@phones/n', name: 'Agent 201', stateInterface: 'Custom:agent201' },
    { iface: 'Local/202@phones/n', name: 'Agent 202', stateInterface: 'Custom:agent202' },
  ],
  billing: [{ iface: 'Local/203@phones/n', name: 'Agent 203', stateInterface: 'Custom:agent203' }],
};

/**
 * Hotline with its Asterisk bridge connected to a fake Asterisk over real sockets,
 * seeded like the lab: queues Support (default) and Billing, agents alice (201), bob (202), carol (203).
 */
export async function pbxHarness(options: { fake?: FakeAsteriskOptions; config?: ConfigInput; busyTimeoutMs?: number } = {}) {
  const fake: FakeAsterisk = createFakeAsterisk({
    queues: LAB_QUEUES,
    phones: { 'Local/201@phones': 'answer', 'Local/202@phones': 'busy', 'Local/203@phones': 'answer' },
    // As dialplan/README.md tells sites to configure their queues.
    ringInUse: { support: false, billing: false },
    ...options.fake,
  });
  await fake.start();
  const hotline = await testHotline({
    busyTimeoutMs: options.busyTimeoutMs,
    config: {
      ariUrl: fake.ariUrl,
      amiPort: fake.amiPort,
      ivrFirstDigitTimeoutMs: 1000,
      ivrInterDigitTimeoutMs: 600,
      ...options.config,
    },
  });
  const support = await hotline.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
  const billing = await hotline.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing' });
  const agent = async (login: string, ext: string) =>
    (await hotline.agents.create({ login, name: login[0]!.toUpperCase() + login.slice(1), role: 'agent', password: 'password123', dialString: `Local/${ext}@phones`, deviceInterface: `Custom:agent${ext}` })).agent;
  const alice = await agent('alice', '201');
  const bob = await agent('bob', '202');
  const carol = await agent('carol', '203');
  for (const a of [alice, bob]) await hotline.directory.setAccess(a.id, support.id, 'rw');
  for (const a of [alice, bob, carol]) await hotline.directory.setAccess(a.id, billing.id, 'rw');
  for (const ext of ['201', '202', '203']) fake.setDeviceState(`Custom:agent${ext}`, 'NOT_INUSE');

  const log = pino({ level: process.env.HOTLINE_TEST_LOG ?? 'silent' });
  const options_ = { ...pbxOptionsFrom(hotline.config, hotline.prompts), requestTimeoutMs: 2000, maxBackoffMs: 500 };
  let pbx: Pbx = startPbx(hotline, options_, log);

  const harness = {
    fake,
    hotline,
    queues: { support, billing },
    agents: { alice, bob, carol },
    get pbx() {
      return pbx;
    },
    /** Waits until ARI and AMI are connected and the initial lists are loaded. */
    async ready(): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!(pbx.status().ari === 'connected' && pbx.status().ami === 'connected' && pbx.presence.deviceState('Custom:agent201'))) {
        if (Date.now() > deadline) throw new Error(`PBX not ready: ${JSON.stringify(pbx.status())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await fake.waitForApp();
    },
    /** Stops the bridge (the service is down), or starts it again. */
    async stopPbx(): Promise<void> {
      await pbx.close();
      await fake.waitForApp('hotline', false);
    },
    async restartPbx(): Promise<void> {
      pbx = startPbx(hotline, options_, log);
      await harness.ready();
    },
    /** A ticket in `queue`, owned by `owner`. */
    async ticket(queueId: number, ownerId: number | null = null, title = 'Printer on fire') {
      return (await hotline.tickets.create({ queueId, title, ownerId, article: { kind: 'note', text: title } })).ticket;
    },
    /** The call record of a fake call, once `until` holds. */
    async callRecord(channelId: string, until: (c: NonNullable<Awaited<ReturnType<typeof hotline.calls.findByChannel>>>) => boolean = () => true) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const call = await hotline.calls.findByChannel(channelId);
        if (call && until(call)) return call;
        if (Date.now() > deadline) throw new Error(`call record for ${channelId} never matched; last: ${JSON.stringify(call)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close(): Promise<void> {
      await pbx.close();
      await fake.stop();
      hotline.dispose();
    },
  };
  await harness.ready();
  return harness;
}

export type PbxHarness = Awaited<ReturnType<typeof pbxHarness>>;
