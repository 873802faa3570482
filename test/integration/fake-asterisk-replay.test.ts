import ari from 'ari-client';
import type { AriClient } from 'ari-client';
import AsteriskManager from 'asterisk-manager';
import type { Manager } from 'asterisk-manager';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeAsterisk, PhoneBehaviour } from '../fake-asterisk/fake-asterisk.js';
import { createFakeAsterisk } from '../fake-asterisk/fake-asterisk.js';
import { LAB_QUEUES } from '../helpers/pbx.js';

/**
 * Holds the fake Asterisk to the recordings of a real Asterisk 22 (shared/asterisk):
 * the same REST calls, made with the real ari-client, must produce the same ARI
 * events, and the call the same AMI events, in the same order, with the same field names.
 */

const TRACE_DIR = new URL('../../../shared/asterisk/', import.meta.url);
/** The recordings are beside the project only where ../shared is (not in a newcomer's clone). */
const HAVE_RECORDINGS = existsSync(new URL('ami-trace.jsonl', TRACE_DIR));
if (!HAVE_RECORDINGS) console.warn('fake-asterisk-replay: ../shared/asterisk is not here; the replay against the real recordings is skipped');

/** The real swagger files: ari-client's own event handling (used here) needs a model for every event type. */
function realApiDocs(): Map<string, string> {
  const dir = new URL('api-docs/', TRACE_DIR);
  return new Map(readdirSync(dir).map((file) => [file, readFileSync(new URL(file, dir), 'utf8')]));
}
const RELEVANT_AMI = new Set(['DialBegin', 'DialEnd', 'QueueCallerJoin', 'AgentCalled', 'QueueCallerLeave', 'AgentConnect', 'AgentComplete', 'BridgeEnter', 'Hangup']);

function fields(raw: string): Array<[string, string]> {
  return raw
    .split('\r\n')
    .filter(Boolean)
    .map((line) => {
      const i = line.indexOf(':');
      return [line.slice(0, i), line.slice(i + 1).trim()] as [string, string];
    });
}

interface Recorded {
  ami: string[][];
  ariTypes: string[];
  ariKeys: Map<string, string[]>;
}

/** Per scenario: AMI frames of the caller's channel in the route/IVR contexts, and the `hotline` app's ARI events. */
function recorded(): Map<string, Recorded> {
  const out = new Map<string, Recorded>();
  let current: Recorded | undefined;
  for (const line of readFileSync(new URL('ami-trace.jsonl', TRACE_DIR), 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { dir: string; raw: string; name?: string };
    if (o.dir === 'mark') out.set(o.name!, (current = { ami: [], ariTypes: [], ariKeys: new Map() }));
    else if (current && o.dir === 'in') {
      const f = fields(o.raw);
      const get = (k: string) => f.find(([key]) => key === k)?.[1];
      if (RELEVANT_AMI.has(get('Event') ?? '') && /^hotline-(route|ivr)$/.test(get('Context') ?? '') && get('Channel')?.endsWith(';2')) current.ami.push(f.map(([k]) => k).concat(`=${get('Event')}:${get('DialStatus') ?? ''}`));
    }
  }
  let scenario: Recorded | undefined;
  for (const line of readFileSync(new URL('ari-trace.jsonl', TRACE_DIR), 'utf8').split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { kind: string; name?: string; app?: string; event?: Record<string, unknown> };
    if (o.kind === 'scenario') scenario = out.get(o.name!);
    else if (scenario && o.kind === 'event' && o.app === 'hotline') {
      const type = o.event!.type as string;
      scenario.ariTypes.push(type);
      if (!scenario.ariKeys.has(type)) scenario.ariKeys.set(type, Object.keys(o.event!).sort());
    }
  }
  return out;
}

/** Event name + status sequence, with repeats of the same frame collapsed (Local channels may double a DialEnd). */
const sequence = (frames: string[][]) => frames.map((f) => f.at(-1)!).filter((e, i, all) => e !== all[i - 1]);
const keyOrder = (frames: string[][], event: string) => frames.find((f) => f.at(-1)!.startsWith(`=${event}:`))?.slice(0, -1);

let fake: FakeAsterisk | undefined;
let client: AriClient | undefined;
let manager: Manager | undefined;
afterEach(async () => {
  // stop() throws for a client whose websocket was never started.
  if (client?._ws) client.stop();
  client = undefined;
  manager?.disconnect();
  manager = undefined;
  await fake?.stop();
});

/** A fake with the real asterisk-manager logged in, so AMI events are written (and recorded). */
async function fakeWith(phones: Record<string, PhoneBehaviour>, real = true) {
  fake = createFakeAsterisk({ queues: LAB_QUEUES, phones, defaultQueue: 'support', ...(real ? { apiDocs: realApiDocs() } : {}) });
  await fake.start();
  const m = AsteriskManager(null, '127.0.0.1', 'hotline', 'hotline', true);
  manager = m;
  m.on('error', () => {});
  await new Promise<void>((resolve) => m.connect(fake!.amiPort, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve, reject) => m.login((error) => (error ? reject(new Error('AMI login failed')) : resolve())));
  return fake;
}

function fakeAmi(f: FakeAsterisk, uniqueid: string): string[][] {
  return f.ami.frames
    .filter((fr) => fr.dir === 'in')
    .map((fr) => fields(fr.raw))
    .filter((fl) => RELEVANT_AMI.has(fl.find(([k]) => k === 'Event')?.[1] ?? '') && fl.find(([k]) => k === 'Uniqueid')?.[1] === uniqueid)
    .map((fl) => fl.map(([k]) => k).concat(`=${fl.find(([k]) => k === 'Event')![1]}:${fl.find(([k]) => k === 'DialStatus')?.[1] ?? ''}`));
}

/** The recorded ARI exchange of scenarios 1 and 2, made with the real ari-client. */
async function replayIvr(f: FakeAsterisk, digits: string, target: string, queue: string) {
  client = await ari.connect(f.ariUrl, 'hotline', 'hotline');
  const events: Array<Record<string, unknown>> = [];
  client.on('*', (event: Record<string, unknown>) => events.push(event));
  await client.start('hotline');
  const waitEvent = async (type: string, count = 1) => {
    await expect.poll(() => events.filter((e) => e.type === type).length, { timeout: 5000 }).toBeGreaterThanOrEqual(count);
  };
  const call = f.placeCall({ number: '0301234567', name: 'Alice Caller' });
  await waitEvent('StasisStart');
  const channelId = call.id;
  await client.channels.answer!({ channelId });
  await client.channels.play!({ channelId, media: 'sound:hello-world' });
  await waitEvent('PlaybackFinished');
  await call.press(digits, 10);
  await waitEvent('ChannelDtmfReceived', digits.length);
  expect(await client.channels.getChannelVar!({ channelId, variable: 'CALLERID(num)' })).toEqual({ value: '0301234567' });
  await client.channels.setChannelVar!({ channelId, variable: 'HOTLINE_TARGET', value: target });
  await client.channels.setChannelVar!({ channelId, variable: 'HOTLINE_QUEUE', value: queue });
  await client.channels.continueInDialplan!({ channelId, context: 'hotline-route', extension: 'agent', priority: 1 });
  await waitEvent('StasisEnd');
  await call.waitFor('answered');
  call.hangup();
  await call.waitFor('hangup');
  return { call, events };
}

describe.skipIf(!HAVE_RECORDINGS)('fake Asterisk against the real recordings', () => {
  const scenarios = HAVE_RECORDINGS ? recorded() : new Map<string, Recorded>();

  it.each([
    ['owner-answers', '20261128000017#', 'Local/201@phones', 'support'],
    ['owner-busy-queue-answers', '20261128000025#', 'Local/202@phones', 'billing'],
  ])('replays %s with the same ARI and AMI events', async (name, digits, target, queue) => {
    const real = scenarios.get(name)!;
    const f = await fakeWith({ 'Local/201@phones': 'answer', 'Local/202@phones': 'busy', 'Local/203@phones': 'answer' });
    const { call, events } = await replayIvr(f, digits, target, queue);

    expect(events.map((e) => e.type)).toEqual(real.ariTypes);
    for (const event of events) expect(Object.keys(event).sort(), String(event.type)).toEqual(real.ariKeys.get(event.type as string));

    const ami = fakeAmi(f, call.id);
    expect(sequence(ami)).toEqual(sequence(real.ami));
    for (const event of new Set(sequence(real.ami).map((e) => e.slice(1, e.indexOf(':'))))) {
      expect(keyOrder(ami, event), event).toEqual(keyOrder(real.ami, event));
    }
  });

  it('replays stasis-app-not-registered: STASISSTATUS=FAILED sends the caller to the default queue, ringall', async () => {
    const real = scenarios.get('stasis-app-not-registered')!;
    const f = await fakeWith({ 'Local/201@phones': 'answer', 'Local/202@phones': 'noanswer', 'Local/203@phones': 'answer' });
    const call = f.placeCall({ number: '0891112222', name: 'Carol' });
    await call.waitFor('answered');
    call.hangup();
    await call.waitFor('hangup');
    expect(call.vars.get('STASISSTATUS')).toBe('FAILED');
    const ami = fakeAmi(f, call.id);
    expect(sequence(ami)).toEqual(sequence(real.ami));
    expect(keyOrder(ami, 'AgentConnect')).toEqual(keyOrder(real.ami, 'AgentConnect'));
  });

});

describe('fake Asterisk ARI description', () => {
  it('serves its own swagger files with basePath rewritten to the address asked for, and the real client loads them', async () => {
    const f = await fakeWith({}, false);
    const resources = (await (await fetch(`${f.ariUrl}/ari/api-docs/resources.json`)).json()) as { basePath: string; apis: Array<{ path: string }> };
    expect(resources.basePath).toBe(`${f.ariUrl}/ari`);
    expect(resources.apis.map((a) => a.path)).toEqual(expect.arrayContaining(['/api-docs/channels.{format}', '/api-docs/events.{format}', '/api-docs/applications.{format}']));
    const channels = (await (await fetch(`${f.ariUrl}/ari/api-docs/channels.json`)).json()) as { basePath: string };
    expect(channels.basePath).toBe(`${f.ariUrl}/ari`);
    client = await ari.connect(f.ariUrl, 'hotline', 'hotline');
    expect(typeof client.channels.continueInDialplan).toBe('function');
    const unauthorised = await fetch(`${f.ariUrl}/ari/channels/does-not-exist`);
    expect(unauthorised.status).toBe(401);
    const missing = await fetch(`${f.ariUrl}/ari/channels/does-not-exist`, { headers: { Authorization: `Basic ${Buffer.from('hotline:hotline').toString('base64')}` } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Channel not found' });
  });
});
