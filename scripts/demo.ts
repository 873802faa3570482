// `npm run demo`: Hotline with a simulated Asterisk and sample data, so a newcomer sees a
// screen-pop within minutes of cloning, with no PBX. Not for production: data lives in ./data-demo.
import { rmSync } from 'node:fs';
import { createHotline, pbxOptionsFrom } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { buildServer } from '../src/http/server.js';
import { requireAgent } from '../src/http/auth.js';
import { field, page, ticketRows } from '../src/http/page-helpers.js';
import { localeOf } from '../src/http/locale.js';
import { createViews } from '../src/http/views.js';
import { PageQuery } from '../src/http/schemas.js';
import { z } from 'zod';

/** What the demo's call button sends. */
const DemoCallForm = z.object({ digits: z.string().trim().regex(/^[0-9*#]{1,40}$/, 'keys 0-9, * and # only'), _csrf: z.string().max(200).optional() });
import { startMail } from '../src/mail/mail.js';
import { startPbx } from '../src/pbx/pbx.js';
import { createFakeAsterisk } from '../test/fake-asterisk/fake-asterisk.js';
import type { FakeCall } from '../test/fake-asterisk/fake-asterisk.js';

const DATA = './data-demo';
rmSync(DATA, { recursive: true, force: true });

const fake = createFakeAsterisk({
  queues: {
    support: [
      { iface: 'PJSIP/201', name: 'Alice', stateInterface: 'PJSIP/201' },
      { iface: 'PJSIP/202', name: 'Bob', stateInterface: 'PJSIP/202' },
    ],
    billing: [{ iface: 'PJSIP/202', name: 'Bob', stateInterface: 'PJSIP/202' }],
  },
  phones: { 'PJSIP/201': 'answer', 'PJSIP/202': 'answer' },
  // Slow enough to watch: prompts take a second, phones ring four seconds.
  timing: { playbackMs: 1000, ringMs: 4000, secondMs: 1000 },
});
await fake.start();
fake.setDeviceState('PJSIP/201', 'NOT_INUSE');
fake.setDeviceState('PJSIP/202', 'NOT_INUSE');

// The demo's three simulated callers key ticket after ticket: the per-caller guessing limits are raised for them.
const config = loadConfig({ overrides: { dataDir: DATA, ariUrl: fake.ariUrl, amiPort: fake.amiPort, smtpPort: 0, logLevel: 'warn', ivrTicketsPerCaller: 1000, ivrUnknownPerCaller: 1000 } });
const hotline = await createHotline(config);
const support = await hotline.directory.createQueue({ name: 'Support', asteriskQueue: 'support', email: 'support@hotline.example', isDefault: true });
const billing = await hotline.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing', email: 'billing@hotline.example' });
await hotline.agents.create({ login: 'admin', name: 'Demo Admin', role: 'admin', password: 'demo-admin' });
const alice = (await hotline.agents.create({ login: 'alice', name: 'Alice Agent', role: 'agent', password: 'demo-alice', dialString: 'PJSIP/201' })).agent;
const bob = (await hotline.agents.create({ login: 'bob', name: 'Bob Agent', role: 'agent', password: 'demo-bob', dialString: 'PJSIP/202' })).agent;
for (const q of [support, billing]) {
  await hotline.directory.setAccess(alice.id, q.id, 'rw');
  await hotline.directory.setAccess(bob.id, q.id, 'rw');
}
const carl = await hotline.directory.createCustomer({ name: 'Carl Customer', emails: ['carl@example.org'], phones: ['+49 30 1234567'] });
const dora = await hotline.directory.createCustomer({ name: 'Dora Debtor', emails: ['dora@example.org'], phones: ['+49 89 7654321'] });
const seed = [
  { queueId: support.id, title: 'Printer on fire', ownerId: alice.id, customerId: carl.id, text: 'The office printer smokes when printing duplex.' },
  { queueId: support.id, title: 'VPN drops every hour', ownerId: bob.id, customerId: carl.id, text: 'Since the update the VPN disconnects hourly.' },
  { queueId: billing.id, title: 'Invoice charged twice', ownerId: alice.id, customerId: dora.id, text: 'Invoice 2026-118 appears twice on my card.' },
];
for (const t of seed) {
  await hotline.tickets.create({ queueId: t.queueId, title: t.title, ownerId: t.ownerId, customerId: t.customerId, article: { kind: 'email-in', from: 'customer', subject: t.title, text: t.text } });
}

const pbx = startPbx(hotline, pbxOptionsFrom(config, hotline.prompts));
const mail = await startMail(hotline, config, { listen: true });
const server = await buildServer(hotline, { pbx, mail });
const views = createViews();
const calls: string[] = [];
const callers = ['030 1234567', '089 7654321', '040 5550100'];

server.get('/demo', { schema: { querystring: PageQuery } }, async (request, reply) => {
  requireAgent(request);
  const tickets = ticketRows(await hotline.tickets.listAll({ state: 'any-open', limit: 50 }), localeOf(request));
  return page(views, request, reply, 'demo', { title: localeOf(request).t('demo.title'), tickets, calls });
});
server.post('/demo/call', { schema: { body: DemoCallForm } }, async (request, reply) => {
  requireAgent(request);
  const digits = field(request.body, 'digits');
  const number = callers[calls.length % callers.length]!;
  const call: FakeCall = fake.placeCall({ number, name: 'Demo Caller' });
  calls.unshift(`${new Date().toLocaleTimeString()}: ${number} keys ${digits}`);
  void call.waitFor('stasis-start').then(() => call.press(digits, 150));
  // Simulated callers hang up after a minute.
  setTimeout(() => call.hangup(), 60_000).unref();
  return reply.redirect('/demo', 303);
});

const address = await server.listen({ host: config.httpHost, port: config.httpPort });
console.log(`
Hotline demo at ${address}/demo  (simulated Asterisk: ARI ${fake.ariUrl}, AMI port ${fake.amiPort})

  Log in as   alice / demo-alice   (agent; owns "Printer on fire" and "Invoice charged twice")
              bob   / demo-bob     (agent)
              admin / demo-admin   (admin)

Mail to support@hotline.example via SMTP on 127.0.0.1:${mail.smtpPort()} opens tickets; replies land in ${mail.outbox.folder}.
Open ${address}/demo as alice and press "Call with this TTN" next to one of her tickets:
the ticket pops up on her page before her simulated phone rings. Ctrl-C stops the demo.
`);

const stop = async () => {
  await server.close();
  await mail.close();
  await pbx.close();
  await fake.stop();
  hotline.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
