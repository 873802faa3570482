import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realAsteriskTier } from '../helpers/real-asterisk.js';
import type { RealLab } from '../helpers/real-lab.js';
import { realLab, ttnOf } from '../helpers/real-lab.js';

const bundle = realAsteriskTier('call-routing');

describe.skipIf(!bundle)('calls routed on a real Asterisk 22', () => {
  let lab: RealLab;
  beforeAll(async () => {
    lab = await realLab(bundle!);
    await lab.startHotline();
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);


  it('puts the ticket on the owner\'s screen before her phone rings, then she answers', async () => {
    const { alice } = lab.agents;
    const page = await lab.agentSocket(alice);
    const other = await lab.agentSocket(lab.agents.erin);
    const ticket = await lab.ticket(lab.queues.billing.id, alice);
    const call = await lab.dialIn({ number: '0301234567' });
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
      const call = await lab.dialIn({ number: '0407654321' });
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
    const call = await lab.dialIn();
    await call.keys(`${ticket.ttn}#`);
    await page.waitFor('call.incoming', (p) => ttnOf(p) === ticket.ttn);
    await lab.answeredBy(call.ivrId, 'Local/206@phones');
    expect((await lab.callRecord(call.ivrId, (c) => c.answeredBy !== null)).answeredBy).toBe(frank.id);
    await call.hangup();
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
});
