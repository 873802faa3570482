import { io } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PopHarness } from '../helpers/pops.js';
import { popHarness } from '../helpers/pops.js';

let h: PopHarness;
/** How long a test waits for an event it expects, on a busy machine: bounded, not the default second. */
const EVENT = { timeout: 15_000 };
beforeEach(async () => {
  h = await popHarness();
});
afterEach(async () => h.close());

describe('screen-pops', () => {
  it('adds nothing to an agent\'s socket for each check of the credential before a pop (a listener a check was a leak)', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const alice = await h.connect('alice');
    const onServer = () => [...h.server.realtime.io.of('/').sockets.values()].find((s) => (s.data.agent as { id: number }).id === h.agents.alice.id)!;
    const listeners: number[] = [];
    for (let i = 1; i <= 3; i++) {
      // The checks forgotten, as the sweep every 15 s does; the next pop checks the credential again.
      await h.server.realtime.revalidate();
      const call = await h.call(`${ticket.ttn}#`);
      await expect.poll(() => alice.events().filter((e) => e === 'call.incoming').length, { timeout: 15_000 }).toBe(i);
      listeners.push(onServer().listenerCount('disconnect'));
      call.hangup();
    }
    expect(listeners).toEqual([listeners[0], listeners[0], listeners[0]]);
  });

  it('puts the ticket on the owner\'s screen before the owner\'s phone is dialled, and on no other screen', async () => {
    await h.hotline.directory.createCustomer({ name: 'Carl', phones: ['+49 30 1234567'] }).then((c) => h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Printer on fire', ownerId: h.agents.alice.id, customerId: c.id, article: { kind: 'email-in', subject: 'Help', text: 'It smokes.' } }));
    const ticket = (await h.hotline.tickets.listAll({ search: 'Printer on fire' }))[0]!;
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    const carol = await h.connect('carol');
    const call = await h.call(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    await expect.poll(() => alice.events()).toContain('call.answered');

    const incoming = alice.received.find((r) => r.event === 'call.incoming')!;
    expect(incoming.dialBeginsSoFar).toBe(0);
    expect(incoming.payload).toMatchObject({
      ticket: { ttn: ticket.ttn, title: 'Printer on fire', state: 'new', url: `/tickets/${ticket.ttn}` },
      queue: { name: 'Billing' },
      customer: { name: 'Carl' },
      caller: { number: '0301234567' },
      warning: null,
    });
    expect((incoming.payload.lastArticles as Array<{ excerpt: string }>)[0]!.excerpt).toBe('It smokes.');
    call.hangup();
    await expect.poll(() => alice.events()).toContain('call.ended');
    expect(bob.received).toEqual([]);
    expect(carol.received).toEqual([]);
  });

  it('shows the newest three articles of a long history, newest first, each in short', async () => {
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Long story', ownerId: h.agents.alice.id, article: { kind: 'email-in', subject: 'First', text: 'The beginning.' } });
    for (let i = 2; i <= 40; i++) await h.hotline.tickets.addArticle(ticket.id, { kind: 'email-in', subject: `Mail ${i}`, text: `Mail number ${i}.\n\n${'Quoted history. '.repeat(5000)}` });
    const alice = await h.connect('alice');
    await h.call(`${ticket.ttn}#`);
    await expect.poll(() => alice.events()).toContain('call.incoming');
    const shown = alice.received.find((r) => r.event === 'call.incoming')!.payload.lastArticles as Array<{ subject: string; excerpt: string }>;
    expect(shown.map((a) => a.subject)).toEqual(['Mail 40', 'Mail 39', 'Mail 38']);
    expect(shown[0]!.excerpt).toBe(`Mail number 40. ${'Quoted history. '.repeat(10).slice(0, 157 - 'Mail number 40.\n\n'.length)}`.trim() + '…');
  });

  it('warns when the caller\'s number is not on file for the ticket\'s customer', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Dora', phones: ['+49 89 999999'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'x', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'note', text: '' } });
    const alice = await h.connect('alice');
    await h.call(`${ticket.ttn}#`, '0301234567');
    await expect.poll(() => alice.events()).toContain('call.incoming');
    expect(alice.received[0]!.payload.warning).toBe("The caller's number 0301234567 is not on file for Dora.");
  });

  it('owner busy: the answering queue member gets call.answered, the owner and the other members call.withdrawn', async () => {
    const ticket = await h.ticket(h.queues.support.id, h.agents.bob.id);
    h.fake.phones.set('Local/201@phones', 'noanswer');
    h.fake.phones.set('Local/202@phones', 'busy');
    // support rings 201 (alice, no answer) and 202 (bob, busy); let carol answer it as a third member.
    await h.hotline.directory.setAccess(h.agents.carol.id, h.queues.support.id, 'rw');
    const { LAB_QUEUES } = await import('../helpers/pbx.js');
    LAB_QUEUES!.support!.push({ iface: 'Local/203@phones/n', name: 'Agent 203', stateInterface: 'Custom:agent203' });
    try {
      const alice = await h.connect('alice');
      const bob = await h.connect('bob');
      const carol = await h.connect('carol');
      const call = await h.call(`${ticket.ttn}#`);
      await call.waitFor('answered Local/203@phones/n');
      await expect.poll(() => carol.events()).toContain('call.answered');
      // The owner: popped at decision time, rung (DialBegin), withdrawn when busy; rung again as a queue member, withdrawn again.
      expect(bob.events().slice(0, 3)).toEqual(['call.incoming', 'call.ringing', 'call.withdrawn']);
      expect(bob.received[2]!.payload.reason).toMatch(/busy/);
      await expect.poll(() => bob.events().at(-1)).toBe('call.withdrawn');
      expect(bob.events()).not.toContain('call.answered');
      await expect.poll(() => alice.events()).toEqual(['call.ringing', 'call.withdrawn']);
      expect(alice.received[1]!.payload.reason).toBe('answered by Carol');
      expect(carol.events()).toEqual(['call.ringing', 'call.answered']);
      expect(carol.received[1]!.payload).toMatchObject({ ticket: { ttn: ticket.ttn } });
    } finally {
      LAB_QUEUES!.support!.pop();
    }
  });

  it('gives an agent without access to the queue nothing, even when their phone is a member', async () => {
    // Operator call: the default queue (support) rings alice (201) and bob (202); bob may not see Support.
    await h.hotline.directory.setAccess(h.agents.bob.id, h.queues.support.id, null);
    h.fake.phones.set('Local/202@phones', 'noanswer');
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    const call = await h.call('0#');
    await call.waitFor('answered Local/201@phones/n');
    await expect.poll(() => alice.events()).toContain('call.answered');
    call.hangup();
    await expect.poll(() => alice.events()).toContain('call.ended');
    expect(bob.received).toEqual([]);
  });

  it('pops the caller-ID lookup for a call without a ticket: customer, open tickets, a prefilled phone ticket', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Erik', phones: ['+49 30 1234567'] });
    const open = (await h.hotline.tickets.create({ queueId: h.queues.support.id, title: 'Open one', customerId: customer.id, article: { kind: 'note', text: '' } })).ticket;
    const hidden = (await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Billing one', customerId: customer.id, article: { kind: 'note', text: '' } })).ticket;
    await h.hotline.directory.setAccess(h.agents.alice.id, h.queues.billing.id, null);
    const alice = await h.connect('alice');
    await h.call('0#', '030 1234567');
    await expect.poll(() => alice.events()).toContain('call.ringing');
    const pop = alice.received.find((r) => r.event === 'call.ringing')!.payload as { callId: number; ticket: unknown; lookup: { customers: Array<{ name: string }>; openTickets: Array<{ ttn: string }>; newTicketUrl: string } };
    expect(pop.ticket).toBeNull();
    expect(pop.lookup.customers.map((c) => c.name)).toEqual(['Erik']);
    expect(pop.lookup.openTickets.map((t) => t.ttn)).toEqual([open.ttn]);
    expect(pop.lookup.openTickets.map((t) => t.ttn)).not.toContain(hidden.ttn);
    expect(pop.lookup.newTicketUrl).toBe(`/tickets/new?call=${pop.callId}`);
  });

  it('shows an operator call\'s caller known only to another queue as a stranger: no name, no tickets', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Bertha Billing', emails: ['bertha@example.org'], phones: ['+49 30 1234567'] });
    await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Billing one', customerId: customer.id, article: { kind: 'note', text: '' } });
    await h.hotline.directory.setAccess(h.agents.alice.id, h.queues.billing.id, null);
    const alice = await h.connect('alice');
    await h.call('0#', '030 1234567');
    await expect.poll(() => alice.events()).toContain('call.ringing');
    const pop = alice.received.find((r) => r.event === 'call.ringing')!.payload;
    expect(JSON.stringify(pop)).not.toContain('Bertha');
    expect(JSON.stringify(pop)).not.toContain('bertha@example.org');
    expect(pop).toMatchObject({ customer: null, lookup: { customers: [], openTickets: [] } });
  });

  it('withdraws a running call\'s pop from an agent whose access to its queue is taken away, and ends the socket of one whose password is reset', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    h.fake.phones.set('Local/201@phones', 'noanswer');
    const alice = await h.connect('alice');
    const bob = await h.connect('bob');
    const bobEnded = new Promise<string>((resolve) => bob.socket.on('disconnect', (reason) => resolve(reason)));
    await h.call(`${ticket.ttn}#`);
    await expect.poll(() => alice.events()).toContain('call.incoming');
    await h.hotline.directory.setAccess(h.agents.alice.id, h.queues.billing.id, null);
    await expect.poll(() => alice.events()).toContain('call.withdrawn');
    expect(alice.received.find((r) => r.event === 'call.withdrawn')!.payload.reason).toBe('you may no longer see this call');
    expect(alice.socket.connected).toBe(true);
    await h.hotline.agents.setPassword(h.agents.bob.id, 'a new password');
    await h.hotline.auth.endSessions(h.agents.bob.id);
    expect(await bobEnded).toBe('io server disconnect');
  });

  it('shows a running call\'s pop again after a reconnect', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    h.fake.phones.set('Local/201@phones', 'noanswer');
    const cookie = await h.cookieFor('alice');
    const first = await h.connect('alice', cookie);
    const call = await h.call(`${ticket.ttn}#`);
    await expect.poll(() => first.events()).toContain('call.incoming');
    first.socket.disconnect();
    const again = await h.connect('alice', cookie);
    await expect.poll(() => again.events()).toContain('call.incoming');
    expect(again.received[0]!.payload).toMatchObject({ ticket: { ttn: ticket.ttn } });
    call.hangup();
    await expect.poll(() => again.events()).toContain('call.ended');
    const later = await h.connect('alice', cookie);
    // A replay would come first on the socket: once the pop of a new call has arrived, none came.
    h.fake.phones.set('Local/201@phones', 'answer');
    const next = await h.ticket(h.queues.billing.id, h.agents.alice.id, 'Next call');
    const nextCall = await h.call(`${next.ttn}#`);
    await expect.poll(() => later.events()).toContain('call.incoming');
    expect(later.received[0]!.payload).toMatchObject({ ticket: { ttn: next.ttn } });
    nextCall.hangup();
  });


  it('gives a pop dismissed while the phone rang back once the agent answers that call; dismissed while talking, it stays dismissed', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    h.fake.phones.set('Local/201@phones', 'noanswer');
    const cookie = await h.cookieFor('alice');
    const first = await h.connect('alice', cookie);
    const call = await h.call(`${ticket.ttn}#`);
    await expect.poll(() => first.events(), EVENT).toContain('call.incoming');
    const record = await h.callRecord(call.id);
    first.socket.emit('pop.dismiss', { callId: record.id });
    await expect.poll(() => h.hotline.popState.dismissed(h.agents.alice.id), EVENT).toEqual(new Set([record.id]));
    // Answered (on a phone of hers, say): the dismissal from before no longer counts, and a page
    // opened now shows the call as hers.
    await h.hotline.calls.answered(record.id, h.agents.alice.id);
    expect(await h.hotline.popState.dismissed(h.agents.alice.id)).toEqual(new Set());
    const again = await h.connect('alice', cookie);
    await expect.poll(() => again.events(), EVENT).toContain('call.answered');
    expect(again.received[0]!.payload).toMatchObject({ ticket: { ttn: ticket.ttn } });
    // Dismissed while talking, it stays dismissed.
    again.socket.emit('pop.dismiss', { callId: record.id });
    await expect.poll(() => h.hotline.popState.dismissed(h.agents.alice.id), EVENT).toEqual(new Set([record.id]));
    call.hangup();
    await expect.poll(() => h.hotline.popState.dismissed(h.agents.alice.id), EVENT).toEqual(new Set());
  });
  it('closes a call that ended while AMI was away: the record gets its end and the pop is withdrawn, not shown again', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const alice = await h.connect('alice');
    const call = await h.call(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    await expect.poll(() => alice.events()).toContain('call.answered');
    await h.fake.ami.close();
    await expect.poll(() => h.pbx.status().ami).not.toBe('connected');
    // The caller hangs up; the Hangup event goes nowhere.
    call.hangup();
    await h.fake.ami.listen();
    await expect.poll(() => h.pbx.status().ami).toBe('connected');
    const ended = await h.callRecord(call.id, (c) => c.endedAt !== null);
    expect(ended.answeredBy).toBe(h.agents.alice.id);
    await expect.poll(() => alice.events()).toContain('call.ended');
    expect(h.server.realtime.pendingCalls()).toBe(0);
  });

  it('gets pops again on a page whose connection the service closed by restarting', async () => {
    const cookie = await h.cookieFor('alice');
    const port = Number(new URL(h.base).port);
    const { io } = await import('socket.io-client');
    const page = io(h.base, { extraHeaders: { cookie }, transports: ['websocket'], forceNew: true, reconnectionDelayMax: 200 });
    const pops: string[] = [];
    page.on('call.incoming', (p: { ticket: { ttn: string } }, ack: (x: string) => void) => {
      pops.push(p.ticket.ttn);
      ack('shown');
    });
    try {
      await new Promise<void>((resolve) => page.once('connect', () => resolve()));
      const lost = new Promise<string>((resolve) => page.once('disconnect', resolve));
      await h.restartServer(port);
      // Closed by the server going away, not "io server disconnect" (after which a client never reconnects).
      expect(await lost).toBe('transport close');
      await new Promise<void>((resolve) => (page.connected ? resolve() : page.once('connect', () => resolve())));
      const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id, 'After restart');
      const call = await h.call(`${ticket.ttn}#`);
      await expect.poll(() => pops).toContain(ticket.ttn);
      call.hangup();
    } finally {
      page.disconnect();
    }
  });

  it('refuses sockets without a session and from other sites', async () => {
    const anonymous = io(h.base, { transports: ['websocket'], reconnection: false, forceNew: true });
    const error = await new Promise<Error>((resolve) => anonymous.once('connect_error', resolve));
    expect(error.message).toMatch(/unauthorized/);
    anonymous.disconnect();
    const cookie = await h.cookieFor('alice');
    const foreign = io(h.base, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie, origin: 'https://evil.example' } });
    await expect(
      new Promise<void>((resolve, reject) => {
        foreign.once('connect', () => resolve());
        foreign.once('connect_error', reject);
      }),
    ).rejects.toBeTruthy();
    foreign.disconnect();
  });
});

describe('phone tickets from a call', () => {
  /** The agent's pages, logged in. */
  async function pages(login: string) {
    const cookie = await h.cookieFor(login);
    const get = (url: string) => fetch(`${h.base}${url}`, { headers: { cookie }, redirect: 'manual' });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await get('/queues')).text())![1]!;
    const post = (url: string, form: Record<string, string>) => fetch(`${h.base}${url}`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: csrf, ...form }), redirect: 'manual' });
    return { get, post };
  }

  it('made from a pop: the call\'s queue and number are chosen, the answering agent owns it, and the call goes on it with its record', async () => {
    // Billing is renamed to come first: the form must choose the call's queue, not the first in the list.
    await h.hotline.directory.updateQueue(h.queues.billing.id, { name: 'Accounts' });
    const customer = await h.hotline.directory.createCustomer({ name: 'Erik', phones: ['+49 30 1234567'] });
    await h.hotline.tickets.create({ queueId: h.queues.support.id, title: 'Earlier one', customerId: customer.id, article: { kind: 'note', text: '' } });
    const alice = await h.connect('alice');
    const call = await h.call('0#', '030 1234567');
    await call.waitFor('answered Local/201@phones/n');
    await expect.poll(() => alice.events()).toContain('call.answered');
    const pop = alice.received.find((r) => r.event === 'call.answered')!.payload as { callId: number; lookup: { newTicketUrl: string } };
    const web = await pages('alice');
    const form = await (await web.get(pop.lookup.newTicketUrl)).text();
    expect(form).toMatch(new RegExp(`<option value="${h.queues.support.id}" selected>Support</option>`));
    expect(form).toContain('<option value="' + customer.id + '" selected>Erik</option>');
    expect(form).toContain('name="phone" value="030 1234567"');
    const made = await web.post('/tickets/new', { callId: String(pop.callId), queueId: String(h.queues.support.id), customerId: String(customer.id), phone: '030 1234567', title: 'Asked about the invoice', text: 'Wants a copy.' });
    expect(made.status).toBe(303);
    const ttn = made.headers.get('location')!.split('/').pop()!;
    const ticket = (await h.hotline.tickets.findByTtn(ttn))!;
    expect(ticket).toMatchObject({ queueId: h.queues.support.id, ownerId: h.agents.alice.id, customerId: customer.id });
    expect((await h.hotline.calls.findById(pop.callId))!.ticketId).toBe(ticket.id);
    // The call's record comes to the ticket when the caller hangs up.
    call.hangup();
    await expect.poll(async () => (await h.hotline.tickets.articles(ticket.id)).map((a) => a.kind), { timeout: 10_000 }).toEqual(['phone', 'call']);
    expect((await h.hotline.tickets.articles(ticket.id))[1]!.text).toContain('Answered by: Alice (alice)');
  });

  it('takes a call that has ended already, once; another agent who neither took the call nor sees its queue cannot', async () => {
    const alice = await h.connect('alice');
    const call = await h.call('0#', '030 7654321');
    await call.waitFor('answered Local/201@phones/n');
    await expect.poll(() => alice.events()).toContain('call.answered');
    const callId = (alice.received.find((r) => r.event === 'call.answered')!.payload as { callId: number }).callId;
    call.hangup();
    await expect.poll(async () => (await h.hotline.calls.findById(callId))!.endedAt).not.toBeNull();
    const web = await pages('alice');
    const made = await web.post('/tickets/new', { callId: String(callId), queueId: String(h.queues.support.id), phone: '030 7654321', customerName: 'Unknown caller', title: 'Called back later' });
    const ticket = (await h.hotline.tickets.findByTtn(made.headers.get('location')!.split('/').pop()!))!;
    expect((await h.hotline.tickets.articles(ticket.id)).map((a) => a.kind)).toEqual(['phone', 'call']);
    // A second phone ticket for the same call does not take it again.
    const again = await web.post('/tickets/new', { callId: String(callId), queueId: String(h.queues.support.id), phone: '030 7654321', title: 'Twice' });
    const second = (await h.hotline.tickets.findByTtn(again.headers.get('location')!.split('/').pop()!))!;
    expect((await h.hotline.tickets.articles(second.id)).map((a) => a.kind)).toEqual(['phone']);
    expect((await h.hotline.calls.findById(callId))!.ticketId).toBe(ticket.id);
    // Carol was not rung and may not see Support: the call does not exist for her.
    await h.hotline.directory.setAccess(h.agents.carol.id, h.queues.support.id, null);
    expect((await (await pages('carol')).get(`/tickets/new?call=${callId}`)).status).toBe(404);
  });

  it('gives a ticket the caller opened with # to the agent who answered', async () => {
    const call = await h.call('#', '030 5555555');
    await call.waitFor('answered Local/201@phones/n');
    const record = await h.callRecord(call.id, (c) => c.answeredBy !== null);
    expect(record.reason).toBe('new-ticket');
    await expect.poll(async () => (await h.hotline.tickets.findById(record.ticketId!))!.ownerId).toBe(h.agents.alice.id);
    expect((await h.hotline.tickets.history(record.ticketId!)).map((e) => `${e.via} ${e.field} ${e.newLabel}`)).toEqual(['phone created Support', 'phone owner Alice']);
  });
});

describe('click-to-dial', () => {
  async function dial(login: string, ttn: string, phone: string) {
    const cookie = await h.cookieFor(login);
    const page = await (await fetch(`${h.base}/tickets/${ttn}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    expect(page).toContain(`Call ${phone}`);
    return fetch(`${h.base}/tickets/${ttn}/dial`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: csrf, phone }), redirect: 'manual' });
  }

  it('rings the agent\'s phone, dials the customer, and logs the call on the ticket', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Fay', phones: ['0171 2345678'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Callback', customerId: customer.id, article: { kind: 'note', text: '' } });
    const res = await dial('alice', ticket.ttn, '+491712345678');
    expect(res.status).toBe(303);
    expect(h.fake.originated.at(-1)).toMatchObject({ channel: 'Local/201@phones', context: 'hotline-dial', exten: '+491712345678' });
    await expect.poll(async () => (await h.hotline.tickets.articles(ticket.id)).at(-1)?.text).toBe('Alice called +491712345678 from Local/201@phones: connected: the customer answered');
  });

  it('logs a busy customer line as busy, not as connected', async () => {
    h.fake.phones.set('+4940999', 'busy');
    const customer = await h.hotline.directory.createCustomer({ name: 'Hal', phones: ['040 999'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Callback', customerId: customer.id, article: { kind: 'note', text: '' } });
    expect((await dial('alice', ticket.ttn, '+4940999')).status).toBe(303);
    await expect.poll(async () => (await h.hotline.tickets.articles(ticket.id)).at(-1)?.text).toBe("Alice called +4940999 from Local/201@phones: the customer's line was busy");
  });

  it('says clearly when the phone is busy or the PBX is away', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Gil', phones: ['+49 30 555'] });
    const { ticket } = await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Callback', customerId: customer.id, article: { kind: 'note', text: '' } });
    expect((await dial('bob', ticket.ttn, '+4930555')).status).toBe(303);
    await expect.poll(async () => (await h.hotline.tickets.articles(ticket.id)).at(-1)?.text).toMatch(/^Bob called \+4930555 from Local\/202@phones: failed — .*the phone is busy/);
    await h.fake.stop();
    await expect.poll(() => h.pbx.status().ami).not.toBe('connected');
    const refused = await dial('alice', ticket.ttn, '+4930555');
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain('The phone system did not place the call');
    expect((await h.hotline.tickets.articles(ticket.id)).at(-1)?.text).toMatch(/^Alice called \+4930555 .*: refused — /);
    await h.fake.start();
  });
});
