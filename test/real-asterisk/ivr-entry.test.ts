import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab } from '../helpers/real-lab.js';
import { mistyped, unknownTtn } from '../helpers/ttn.js';
import { fetchLogin, sessionCookie } from '../helpers/login.js';

const bundle = realAsteriskTier('ivr-entry');

describe.skipIf(!bundle)('touch-tone entry and click-to-dial on a real Asterisk 22', () => {
  let lab: RealLab;
  beforeAll(async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);


  it.each([
    ['a wrong check digit', 'invalid', (ttn: string) => mistyped(ttn)],
    ['an unknown ticket number', 'unknown', () => unknownTtn()],
  ])('sends a caller who keys %s three times to the default queue, unverified', async (_what, reason, wrong) => {
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const call = await lab.dialIn();
    await call.keys(`${wrong(ticket.ttn)}#${wrong(ticket.ttn)}#${wrong(ticket.ttn)}#`);
    await lab.queueJoin(call.ivrId, 'support', 30_000);
    await lab.answeredBy(call.ivrId, 'Local/205@phones');
    expect(await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).toMatchObject({ reason, unverified: true, route: 'queue', answeredBy: lab.agents.erin.id, ticketId: null });
    await call.hangup();
  }, 60_000);

  it('starts over on *, and puts a caller through to the operator on 0', async () => {
    const { alice } = lab.agents;
    const ticket = await lab.ticket(lab.queues.billing.id, alice);
    const restart = await lab.dialIn();
    await restart.keys(`999*${ticket.ttn}#`);
    await lab.answeredBy(restart.ivrId, 'Local/201@phones');
    expect(await lab.callRecord(restart.ivrId, (c) => c.answeredBy !== null)).toMatchObject({ ticketId: ticket.id, answeredBy: alice.id });
    await restart.hangup();

    const operator = await lab.dialIn();
    await operator.keys('0#');
    await lab.queueJoin(operator.ivrId, 'support', 30_000);
    expect(await lab.callRecord(operator.ivrId, (c) => c.route !== null)).toMatchObject({ reason: 'operator', route: 'queue' });
    await operator.hangup();
  }, 60_000);

  it('opens a new ticket on # alone, reads its number back and puts the caller through to the default queue', async () => {
    const call = await lab.dialIn({ number: '0891112222' });
    await call.keys('#');
    await lab.queueJoin(call.ivrId, 'support', 60_000);
    const record = await lab.callRecord(call.ivrId, (c) => c.route !== null);
    expect(record).toMatchObject({ reason: 'new-ticket', route: 'queue' });
    const ticket = await lab.hotline.tickets.findById(record.ticketId!);
    expect(ticket?.title).toContain('0891112222');
    // Read back digit by digit with Asterisk's own digit sounds, before the queue.
    const log = lab.asterisk.fullLog();
    const played = [...log.matchAll(/Playing '([^']*digits\/\d)[.']/g)].map((m) => m[1]!.slice(-1));
    expect(new Set(played)).toEqual(new Set(ticket!.ttn));
    await call.hangup();
  }, 90_000);

  it('plays a German caller the German prompts, and no prompt is missing', async () => {
    const before = lab.asterisk.fullLog().length;
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const call = await lab.dialIn({ exten: '5049' });
    await call.keys(`${ticket.ttn}#`);
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    await call.hangup();
    const log = lab.asterisk.fullLog().slice(before);
    expect(log).toMatch(/Playing '[^']*\/prompts\/de\/enter-ttn\.[a-z0-9]+' \(language 'de'\)/);
    expect(log).toMatch(/Playing '[^']*\/prompts\/de\/connecting-agent\.[a-z0-9]+' \(language 'de'\)/);
    expect(log).not.toMatch(/does not exist|Unable to open|File .* not found/i);
  }, 60_000);

  it.each([
    ['answers', '030 111', "connected: the customer answered"],
    ['is busy', '030 222', "the customer's line was busy"],
  ])('click-to-dial rings the agent, then a customer who %s, and logs that truly on the ticket', async (_what, phone, outcome) => {
    const { alice } = lab.agents;
    const customer = await lab.hotline.directory.createCustomer({ name: 'Callback Customer', phones: [phone] });
    const ticket = (await lab.hotline.tickets.create({ queueId: lab.queues.billing.id, title: 'Please call back', customerId: customer.id, article: { kind: 'note', text: '' } })).ticket;
    const cookie = sessionCookie((await fetchLogin(lab.serve.url, 'alice', 'password123')).headers.get('set-cookie'));
    const pageHtml = await (await fetch(`${lab.serve.url}/tickets/${ticket.ttn}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(pageHtml)![1]!;
    const number = lab.hotline.directory.normalisePhone(phone)!;
    const res = await fetch(`${lab.serve.url}/tickets/${ticket.ttn}/dial`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: csrf, phone: number }), redirect: 'manual' });
    expect(res.status).toBe(303);
    // The agent's phone first, then the customer's number through the site's outbound context.
    await lab.ami.waitFor((e) => e.Event === 'DialBegin' && (e.DestChannel ?? '').startsWith(`Local/${number.slice(1)}@lab-customers-`), 'the customer dialled');
    const deadline = Date.now() + 30_000;
    let last: string | undefined;
    while (Date.now() < deadline) {
      last = (await lab.hotline.tickets.articles(ticket.id)).find((a) => a.subject === 'Click-to-dial')?.text;
      if (last) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last).toBe(`Alice called ${number} from ${alice.dialString}: ${outcome}`);
  }, 60_000);
  it('puts a caller over the guessing limit through to the default queue, unverified, without looking up the number they key next', async () => {
    await lab.serve.stop('SIGTERM');
    await lab.startHotline(undefined, undefined, { HOTLINE_IVR_UNKNOWN_PER_CALLER: '1' });
    try {
      const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
      const call = await lab.dialIn({ number: '0305555555' });
      // One unknown number is the limit here: the right one keyed next is not looked up.
      await call.keys(`${unknownTtn()}#${ticket.ttn}#`);
      await lab.queueJoin(call.ivrId, 'support', 30_000);
      await lab.answeredBy(call.ivrId, 'Local/205@phones');
      expect(await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).toMatchObject({ reason: 'limited', unverified: true, route: 'queue', answeredBy: lab.agents.erin.id, ticketId: null });
      await call.hangup();
    } finally {
      await lab.serve.stop('SIGTERM');
      await lab.startHotline();
    }
  }, 90_000);
});
