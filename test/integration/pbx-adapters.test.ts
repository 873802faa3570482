import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AmiActionError, connectAmi } from '../../src/pbx/ami.js';
import { connectAri } from '../../src/pbx/ari.js';
import { PbxTimeoutError, PbxUnavailableError } from '../../src/pbx/with-timeout.js';
import { createFakeAsterisk } from '../fake-asterisk/fake-asterisk.js';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';

const log = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An AMI server that accepts the login and then never answers anything: a hung Asterisk. */
async function silentAmi(): Promise<Server> {
  const server = createServer((socket) => {
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (data) => {
      const id = /ActionID: (\S+)/i.exec(String(data))?.[1];
      if (/Action: login/i.test(String(data))) socket.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

describe('AMI adapter', () => {
  it('fails an action at once with a clear error while AMI is not connected', async () => {
    const ami = connectAmi({ host: '127.0.0.1', port: 1, user: 'x', secret: 'y', log, maxBackoffMs: 200, onEvent() {}, onConnected() {} });
    cleanups.push(() => ami.close());
    const started = Date.now();
    await expect(ami.action({ action: 'Ping' })).rejects.toThrow(PbxUnavailableError);
    await expect(ami.action({ action: 'Ping' })).rejects.toThrow(/AMI Ping: AMI is (connecting|reconnecting)/);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('times out an action Asterisk never answers', async () => {
    const server = await silentAmi();
    let connected = false;
    const ami = connectAmi({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'x', secret: 'y', log, actionTimeoutMs: 300, onEvent() {}, onConnected: () => (connected = true) });
    cleanups.push(() => ami.close());
    await expect.poll(() => connected).toBe(true);
    await expect(ami.action({ action: 'Ping' })).rejects.toThrow(PbxTimeoutError);
  });

  it('keeps retrying after a refused login and logs in once the secret is right', async () => {
    const fake = createFakeAsterisk({ amiSecret: 'right' });
    await fake.start();
    cleanups.push(() => fake.stop());
    const ami = connectAmi({ host: '127.0.0.1', port: fake.amiPort, user: 'hotline', secret: 'wrong', log, maxBackoffMs: 100, onEvent() {}, onConnected() {} });
    cleanups.push(() => ami.close());
    // Refused, and tried again: still not connected.
    await expect.poll(() => fake.ami.frames.filter((f) => f.dir === 'out' && /^Action: Login/im.test(f.raw)).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(ami.state()).not.toBe('connected');
    const good = connectAmi({ host: '127.0.0.1', port: fake.amiPort, user: 'hotline', secret: 'right', log, onEvent() {}, onConnected() {} });
    cleanups.push(() => good.close());
    await expect.poll(() => good.state()).toBe('connected');
    expect(await good.action({ action: 'Ping' })).toMatchObject({ response: 'Success', ping: 'Pong' });
    await expect(good.action({ action: 'NoSuchThing' })).rejects.toThrow(AmiActionError);
  });
});

describe('AMI keep-alive', () => {
  it('takes an AMI connection that went silent for dead and connects again', async () => {
    const fake = createFakeAsterisk();
    await fake.start();
    cleanups.push(() => fake.stop());
    const ami = connectAmi({ host: '127.0.0.1', port: fake.amiPort, user: 'hotline', secret: 'hotline', log, maxBackoffMs: 100, keepAliveMs: 100, onEvent() {}, onConnected() {} });
    cleanups.push(() => ami.close());
    await expect.poll(() => ami.state()).toBe('connected');
    const logins = () => fake.ami.frames.filter((f) => f.dir === 'out' && /^Action: Login/im.test(f.raw)).length;
    expect(logins()).toBe(1);
    // Connected as far as TCP knows, but nothing comes back any more.
    fake.ami.silence();
    await expect.poll(logins).toBe(2);
    await expect.poll(() => ami.state()).toBe('connected');
    expect(await ami.action({ action: 'Ping' })).toMatchObject({ response: 'Success' });
  });
});

describe('ARI adapter', () => {
  it('fails REST calls fast while Asterisk is unreachable and connects once it is up', async () => {
    const fake = createFakeAsterisk();
    await fake.start();
    const url = fake.ariUrl;
    await fake.stop();
    cleanups.push(() => fake.stop());
    let connectedCount = 0;
    const ari = connectAri({ url, user: 'hotline', password: 'hotline', app: 'hotline', log, maxBackoffMs: 200, requestTimeoutMs: 1000, onEvent() {}, onConnected: () => connectedCount++ });
    cleanups.push(() => ari.close());
    await expect(ari.answer('x')).rejects.toThrow(PbxUnavailableError);
    // It has failed and is trying again before Asterisk comes up.
    await expect.poll(() => ari.state(), { timeout: 10_000 }).toBe('reconnecting');
    await fake.start();
    await expect.poll(() => ari.state(), { timeout: 8000 }).toBe('connected');
    expect(connectedCount).toBe(1);
    await expect(ari.answer('no-such-channel')).rejects.toThrow(/Channel not found/);
  });

  it('refuses a control character in any value at the edge, before Asterisk sees the request', async () => {
    const fake = createFakeAsterisk();
    await fake.start();
    cleanups.push(() => fake.stop());
    const ari = connectAri({ url: fake.ariUrl, user: 'hotline', password: 'hotline', app: 'hotline', log, maxBackoffMs: 200, requestTimeoutMs: 1000, onEvent() {}, onConnected() {} });
    cleanups.push(() => ari.close());
    await expect.poll(() => ari.state(), { timeout: 8000 }).toBe('connected');
    const call = fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    for (const value of ['1234\r\nHOTLINE_ROUTE=agent', 'a\u0000b', 'tab\there']) {
      await expect(ari.setVariable(call.id, 'HOTLINE_TTN', value)).rejects.toThrow(/control characters/);
      await expect(ari.continueInDialplan(call.id, 'hotline-route', value)).rejects.toThrow(/control characters/);
    }
    await expect(ari.answer('chan\nnel')).rejects.toThrow(/control characters/);
    expect(call.vars.has('HOTLINE_TTN')).toBe(false);
    expect(call.log.some((l) => l.startsWith('continue'))).toBe(false);
    // Plain values still go through.
    await ari.setVariable(call.id, 'HOTLINE_TTN', '1234');
    expect(call.vars.get('HOTLINE_TTN')).toBe('1234');
  });
});

describe('the service with the fake PBX', () => {
  let h: PbxHarness;
  afterEach(async () => h?.close());

  it('survives an ARI event type it has no model for, and keeps routing calls', async () => {
    h = await pbxHarness();
    h.fake.ari.emit('hotline', { type: 'ChannelTransferRequested', whatever: 1 });
    h.fake.ari.emit('hotline', { notEvenAType: true });
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
  });

  it('originates a call for click-to-dial and reports a refusal in words', async () => {
    h = await pbxHarness();
    const ok = await (await h.pbx.originate({ channel: 'Local/201@phones', context: 'hotline-dial', exten: '+491712345678' })).result;
    expect(ok).toEqual({ status: 'ANSWER', connected: true, text: 'connected: the customer answered' });
    expect(h.fake.originated.at(-1)).toMatchObject({ channel: 'Local/201@phones', exten: '+491712345678' });
    const busy = await h.pbx.originate({ channel: 'Local/202@phones', context: 'hotline-dial', exten: '123' });
    await expect(busy.result).rejects.toThrow(/could not place the call to Local\/202@phones: the phone is busy \(reason 5\)/);
    await h.fake.stop();
    await expect.poll(() => h.pbx.status().ami).not.toBe('connected');
    await expect(h.pbx.originate({ channel: 'Local/201@phones', context: 'hotline-dial', exten: '123' })).rejects.toThrow(/AMI is/);
    await h.fake.start();
  });
});
