// Roles started apart (#19, part 0: `services`): one `hotline serve` runs only the web, another only
// the bridge and the mail, on one SQLite file and one Redis. The caller reaches the owner through the
// bridge instance and the pop reaches the owner's socket on the web instance before the phone rings;
// mail goes in at the mail instance and shows on the web's pages; an agent's reply written on the web
// instance is sent by the mail instance; each instance opens only what its roles need.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { io } from 'socket.io-client';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';
import { fetchLogin, sessionCookie } from '../helpers/login.js';
import { testRelay } from '../helpers/mail.js';
import { redisAvailable, startRedis } from '../helpers/redis.js';
import { deadPort, startServe } from '../helpers/serve.js';

let h: PbxHarness | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

if (!redisAvailable()) console.warn('roles: SKIPPED — redis-server is missing (apt-get install redis-server; .ci/run installs it)');

describe('web, bridge and mail started apart', () => {
  it.runIf(redisAvailable())('routes the call and pops the owner on the web instance, files mail there, and sends a reply written there', async () => {
    h = await pbxHarness();
    // The caller is a customer on file (whom the call log offers to call back).
    const customer = await h.hotline.directory.findOrCreateCustomer({ phone: '0301234567' });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Split roles', ownerId: h.agents.alice.id, customerId: customer!.id, article: { kind: 'note', text: 'Split roles' } });
    const token = await h.hotline.auth.createApiToken(h.agents.alice.id, 'roles');
    await h.stopPbx();
    h.hotline.close();
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const received: string[] = [];
    const relay = await testRelay((raw) => void received.push(raw.toString()));
    cleanups.push(() => relay.close());
    // The web instance is given an Asterisk that counts who comes: it must not come.
    const pbxTrap = await deadPort();
    cleanups.push(() => pbxTrap.close());
    // The bridge reaches Redis over its Unix socket, the web instance over TCP: the pops cross all the same.
    const shared = { HOTLINE_DATA_DIR: h.hotline.dir, HOTLINE_REDIS_URL: redis.url, HOTLINE_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, HOTLINE_LEASE_SECONDS: '6' };

    const bridge = await startServe(
      h.hotline.dir,
      { ...shared, HOTLINE_REDIS_URL: redis.socketUrl, HOTLINE_SERVICES: 'bridge,mail', HOTLINE_INSTANCE_ID: 'calls', HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort) },
      undefined,
      undefined,
      { ready: /Hotline running without the web \(services bridge, mail/ },
    );
    cleanups.push(() => bridge.stop('SIGKILL'));
    const web = await startServe(h.hotline.dir, { ...shared, HOTLINE_SERVICES: 'web', HOTLINE_INSTANCE_ID: 'pages', HOTLINE_ARI_URL: `http://127.0.0.1:${pbxTrap.port}`, HOTLINE_AMI_PORT: String(pbxTrap.port) });
    cleanups.push(() => web.stop('SIGKILL'));
    expect(web.output()).toMatch(/services web\)/);
    const smtpPort = Number((await bridge.waitForOutput(/SMTP listening on [\d.]+:(\d+)/))[1]);
    await h.fake.waitForApp('hotline', true);

    // Alice's screen is on the web instance; the call is taken by the bridge instance.
    const pops: Array<{ ttn: string; at: number }> = [];
    const alice = io(web.url, { auth: { token }, transports: ['websocket'], forceNew: true });
    cleanups.push(() => alice.close());
    alice.on('call.incoming', (pop: { ticket: { ttn: string } | null }, ack?: () => void) => {
      pops.push({ ttn: pop.ticket?.ttn ?? '', at: performance.now() });
      ack?.();
    });
    await new Promise<void>((resolve) => alice.once('connect', () => resolve()));
    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
    expect(pops.map((p) => p.ttn)).toContain(ticket.ttn);
    // On her screen before her phone rang.
    expect(pops.find((p) => p.ttn === ticket.ttn)!.at).toBeLessThan(call.timeOf('dial Local/201')!);
    call.hangup();

    // Each instance opened only its own: the web neither ARI nor AMI, nor SMTP; the bridge no HTTP port.
    expect(pbxTrap.connections()).toBe(0);
    expect(web.output()).not.toMatch(/SMTP listening/);
    expect(bridge.output()).not.toMatch(/listening on http/);
    const health = (await (await fetch(`${web.url}/healthz`)).json()) as { status: string; pbx?: unknown };
    expect(health).toMatchObject({ status: 'ok' });
    expect(health.pbx).toBeUndefined();
    // The admin's overview on the web instance: both instances alive, and the PBX somewhere else.
    const adminPassword = (await bridge.waitForOutput(/created admin login "admin" with password "([^"]+)"/))[1]!;
    const admin = sessionCookie((await fetchLogin(web.url, 'admin', adminPassword)).headers.getSetCookie());
    const overview = (await (await fetch(`${web.url}/admin`, { headers: { cookie: admin } })).text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(overview).toContain('pages (this one)');
    expect(overview).toMatch(/\bcalls — does: [^;]*outbox/);
    expect(overview).toContain('in the instances with the bridge (not this one)');

    // Mail to the mail instance becomes a ticket the web instance lists at once.
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'dora@customer.example', to: 'support@hotline.example', subject: 'Split printer', text: 'It prints nothing.' });
    transport.close();
    const listed = async () => ((await (await fetch(`${web.url}/api/v1/tickets?limit=100`, { headers: { authorization: `Bearer ${token}` } })).json()) as Array<{ ttn: string; title: string }>).find((t) => t.title === 'Split printer');
    await expect.poll(listed).toBeTruthy();
    const mailed = (await listed())!;
    await expect.poll(() => received.filter((m) => /Subject: \[Ticket#\d+\] Split printer/.test(m)).length).toBe(1);

    // Alice answers on the web instance's page: queued there, sent by the mail instance.
    const cookie = sessionCookie((await fetchLogin(web.url, 'alice', 'password123')).headers.getSetCookie());
    const page = await (await fetch(`${web.url}/tickets/${mailed.ttn}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const sent = await fetch(`${web.url}/tickets/${mailed.ttn}/reply`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, to: 'dora@customer.example', subject: `Re: [Ticket#${mailed.ttn}] Split printer`, text: 'Please switch it off and on.' }),
    });
    expect(sent.status).toBe(303);
    await expect.poll(() => received.filter((m) => m.includes('Please switch it off and on.')).length).toBe(1);

    // Calling the caller back needs the bridge, which is not in this instance: said so, nothing dialled.
    const log = await (await fetch(`${web.url}/calls`, { headers: { cookie } })).text();
    const callBack = /action="\/calls\/(\d+)\/dial"><input type="hidden" name="_csrf" value="([^"]+)"/.exec(log)!;
    const dial = await fetch(`${web.url}/calls/${callBack[1]}/dial`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: callBack[2]! }),
    });
    expect(dial.status).toBe(503);
    expect(await dial.text()).toMatch(/placed by the Hotline instances with the bridge/);
  });
});
