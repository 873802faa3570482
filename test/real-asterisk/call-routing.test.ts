import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/core/ttn/check-digit.js';
import type { RealCall } from '../helpers/real-asterisk.js';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab } from '../helpers/real-lab.js';

const bundle = realAsteriskTier('call-routing');

/** The right TTN with its last digit off by one: a wrong check digit. */
const mistyped = (ttn: string) => ttn.slice(0, -1) + String((Number(ttn.at(-1)) + 1) % 10);
/** A TTN with a right check digit that no ticket has. */
const unknownTtn = () => `2000010100${String(Math.floor(Math.random() * 900) + 100)}`.replace(/^(\d+)$/, (p) => p + luhnCheckDigit.compute(p));
const ttnOf = (p: Record<string, unknown>) => (p.ticket as { ttn: string } | null)?.ttn;

describe.skipIf(!bundle)('calls on a real Asterisk 22', () => {
  let lab: RealLab;
  beforeAll(async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  /** A caller who dials in and waits for the IVR to answer. */
  async function dialIn(options: { number?: string; exten?: string } = {}): Promise<RealCall> {
    const call = await lab.caller.place(options);
    await call.answered();
    return call;
  }

  it('puts the ticket on the owner\'s screen before her phone rings, then she answers', async () => {
    const { alice } = lab.agents;
    const page = await lab.agentSocket(alice);
    const other = await lab.agentSocket(lab.agents.erin);
    const ticket = await lab.ticket(lab.queues.billing.id, alice);
    const call = await dialIn({ number: '0301234567' });
    await call.keys(`${ticket.ttn}#`);
    const dial = await lab.ami.waitFor((e) => e.Event === 'DialBegin' && e.Uniqueid === call.ivrId, 'DialBegin to the owner');
    expect(dial.DestChannel).toMatch(/^Local\/201@phones-/);
    const pop = await page.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
    expect(pop.at).toBeLessThan(dial.at);
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    const record = await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null);
    expect(record).toMatchObject({ ticketId: ticket.id, route: 'agent', answeredBy: alice.id, digits: ticket.ttn, callerNumber: '0301234567', unverified: false });
    await call.hangup();
    expect((await lab.callRecord(call.ivrId, (c) => c.endedAt !== null)).outcome).toBe('answered');
    expect(other.received.filter((r) => r.payload.callId === record.id)).toEqual([]);
  }, 60_000);

  it.each([
    ['busy', 'bob', async () => {}, async () => {}],
    ['in use', 'alice', () => lab.asterisk.cli('devstate change Custom:agent201 INUSE'), () => lab.asterisk.cli('devstate change Custom:agent201 NOT_INUSE')],
    [
      'paused',
      'alice',
      async () => {
        lab.ami.send({ Action: 'QueuePause', Queue: 'sales', Interface: 'Local/201@phones/n', Paused: 'true' });
        await lab.ami.waitFor((e) => e.Event === 'QueueMemberPause' && e.Paused === '1', 'alice paused');
      },
      async () => {
        lab.ami.send({ Action: 'QueuePause', Queue: 'sales', Interface: 'Local/201@phones/n', Paused: 'false' });
        await lab.ami.waitFor((e) => e.Event === 'QueueMemberPause' && e.Paused === '0', 'alice unpaused');
      },
    ],
    ['not answering', 'dave', async () => {}, async () => {}],
  ] as const)('sends the call to the ticket\'s queue when the owner is %s: the member who answers gets the pop, the others are withdrawn', async (_state, ownerLogin, before, after) => {
    const owner = lab.agents[ownerLogin];
    const { carol, dave } = lab.agents;
    const carolPage = await lab.agentSocket(carol);
    const davePage = ownerLogin === 'dave' ? null : await lab.agentSocket(dave);
    const ownerPage = await lab.agentSocket(owner);
    await before();
    try {
      const ticket = await lab.ticket(lab.queues.billing.id, owner);
      const call = await dialIn({ number: '0407654321' });
      await call.keys(`${ticket.ttn}#`);
      await lab.queueJoin(call.ivrId, 'billing', 30_000);
      await lab.answeredBy(call.ivrId, 'Local/203@phones');
      const record = await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null);
      expect(record).toMatchObject({ ticketId: ticket.id, answeredBy: carol.id });
      expect((await carolPage.waitFor('call.answered', (p) => p.callId === record.id)).payload).toMatchObject({ ticket: { ttn: ticket.ttn } });
      // Dave's phone rang too (ringall) and never answered: his pop is withdrawn once Carol answers.
      const daveRang = davePage ?? ownerPage;
      await daveRang.waitFor('call.ringing', (p) => p.callId === record.id);
      await daveRang.waitFor('call.withdrawn', (p) => p.callId === record.id);
      if (ownerLogin === 'bob' || ownerLogin === 'dave') {
        // The owner was rung first: his pop came before his phone rang, and was withdrawn.
        await ownerPage.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
        await ownerPage.waitFor('call.withdrawn', (p) => p.callId === record.id);
        expect(record.route).toBe('agent');
      } else {
        // Busy in a call or paused: never rung.
        expect(record.route).toBe('queue');
        expect(lab.ami.events.some((e) => e.Event === 'DialBegin' && e.Uniqueid === call.ivrId && (e.DestChannel ?? '').startsWith('Local/201@phones-'))).toBe(false);
      }
      await call.hangup();
    } finally {
      await after();
    }
  }, 60_000);

  it('rings an owner who has only a Local/ dial string and no device-state interface', async () => {
    const { frank } = lab.agents;
    const page = await lab.agentSocket(frank);
    const ticket = await lab.ticket(lab.queues.billing.id, frank);
    const call = await dialIn();
    await call.keys(`${ticket.ttn}#`);
    await page.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
    await lab.answeredBy(call.ivrId, 'Local/206@phones');
    expect((await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).answeredBy).toBe(frank.id);
    await call.hangup();
  }, 60_000);

  it.each([
    ['a wrong check digit', 'invalid', (ttn: string) => mistyped(ttn)],
    ['an unknown ticket number', 'unknown', () => unknownTtn()],
  ])('sends a caller who keys %s three times to the default queue, unverified', async (_what, reason, wrong) => {
    const ticket = await lab.ticket(lab.queues.billing.id, lab.agents.alice);
    const call = await dialIn();
    await call.keys(`${wrong(ticket.ttn)}#${wrong(ticket.ttn)}#${wrong(ticket.ttn)}#`);
    await lab.queueJoin(call.ivrId, 'support', 30_000);
    await lab.answeredBy(call.ivrId, 'Local/205@phones');
    expect(await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).toMatchObject({ reason, unverified: true, route: 'queue', answeredBy: lab.agents.erin.id, ticketId: null });
    await call.hangup();
  }, 60_000);

  it('starts over on *, and puts a caller through to the operator on 0', async () => {
    const { alice } = lab.agents;
    const ticket = await lab.ticket(lab.queues.billing.id, alice);
    const restart = await dialIn();
    await restart.keys(`999*${ticket.ttn}#`);
    await lab.answeredBy(restart.ivrId, 'Local/201@phones');
    expect(await lab.callRecord(restart.ivrId, (c) => c.answeredBy !== null)).toMatchObject({ ticketId: ticket.id, answeredBy: alice.id });
    await restart.hangup();

    const operator = await dialIn();
    await operator.keys('0#');
    await lab.queueJoin(operator.ivrId, 'support', 30_000);
    expect(await lab.callRecord(operator.ivrId, (c) => c.route !== null)).toMatchObject({ reason: 'operator', route: 'queue' });
    await operator.hangup();
  }, 60_000);

  it('opens a new ticket on # alone, reads its number back and puts the caller through to the default queue', async () => {
    const call = await dialIn({ number: '0891112222' });
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
    const call = await dialIn({ exten: '5049' });
    await call.keys(`${ticket.ttn}#`);
    await lab.answeredBy(call.ivrId, 'Local/201@phones');
    await call.hangup();
    const log = lab.asterisk.fullLog().slice(before);
    expect(log).toMatch(/Playing '[^']*\/prompts\/de\/enter-ttn\.[a-z0-9]+' \(language 'de'\)/);
    expect(log).toMatch(/Playing '[^']*\/prompts\/de\/connecting-agent\.[a-z0-9]+' \(language 'de'\)/);
    expect(log).not.toMatch(/does not exist|Unable to open|File .* not found/i);
  }, 60_000);

  it('routes 20 calls at once, each to its owner, each pop to that owner only', async () => {
    const { alice, frank } = lab.agents;
    const pages = { alice: await lab.agentSocket(alice), frank: await lab.agentSocket(frank) };
    const tickets = await Promise.all(Array.from({ length: 20 }, (_, i) => lab.ticket(lab.queues.billing.id, i % 2 ? frank : alice, `Parallel ${i}`)));
    const calls = await Promise.all(tickets.map(() => lab.caller.place()));
    await Promise.all(calls.map((c) => c.answered(30_000)));
    await Promise.all(calls.map((c, i) => c.keys(`${tickets[i]!.ttn}#`)));
    await Promise.all(calls.map((c, i) => lab.answeredBy(c.ivrId, i % 2 ? 'Local/206@phones' : 'Local/201@phones', 60_000)));
    for (const [i, c] of calls.entries()) {
      const owner = i % 2 ? 'frank' : 'alice';
      const record = await lab.callRecord(c.ivrId, (r) => r.answeredBy !== null);
      expect(record).toMatchObject({ ticketId: tickets[i]!.id, answeredBy: lab.agents[owner].id });
      expect(pages[owner].received.filter((r) => r.event === 'call.incoming' && ttnOf(r.payload) === tickets[i]!.ttn)).toHaveLength(1);
      expect(pages[owner === 'alice' ? 'frank' : 'alice'].received.some((r) => r.payload.callId === record.id)).toBe(false);
    }
    await Promise.all(calls.map((c) => c.hangup()));
  }, 120_000);

  it.each([
    ['answers', '030 111', "connected: the customer answered"],
    ['is busy', '030 222', "the customer's line was busy"],
  ])('click-to-dial rings the agent, then a customer who %s, and logs that truly on the ticket', async (_what, phone, outcome) => {
    const { alice } = lab.agents;
    const customer = await lab.hotline.directory.createCustomer({ name: 'Callback Customer', phones: [phone] });
    const ticket = (await lab.hotline.tickets.create({ queueId: lab.queues.billing.id, title: 'Please call back', customerId: customer.id, article: { kind: 'note', text: '' } })).ticket;
    const login = await fetch(`${lab.serve.url}/login`, { method: 'POST', body: new URLSearchParams({ login: 'alice', password: 'password123' }), redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
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
});
