// Notifications (#17 item 4): told in-app over the agent's own socket and, when chosen, by e-mail —
// a ticket given to you, your customer's reply, a reminder due, a new ticket in a watched queue —
// only about queues you may see.
import { afterEach, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import pino from 'pino';
import { createHotline } from '../../src/app.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import { fixedClock } from '../helpers/hotline.js';
import type { MailHarness } from '../helpers/mail.js';
import { mailHarness } from '../helpers/mail.js';

let w: WebHarness | undefined;
let m: MailHarness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await w?.close();
  await m?.close();
  w = undefined;
  m = undefined;
});

interface Told {
  id: number;
  kind: string;
  text: string;
  url: string;
  unseen: number;
}

/** The agent's browser socket, collecting the notices it is told. */
async function listen(base: string, cookie: string) {
  const socket = io(base, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  const told: Told[] = [];
  socket.on('notice', (n: Told) => told.push(n));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return told;
}

async function served(options: Parameters<typeof webHarness>[0] = {}) {
  w = await webHarness(options);
  const base = await w.server.listen({ host: '127.0.0.1', port: 0 });
  return { w, base };
}

describe('notices', () => {
  it('tell the agent a ticket was given them — on their socket only, not when they took it themselves — and list it until seen', async () => {
    const { w, base } = await served();
    const { hotline, tickets, agents, queues } = w;
    await hotline.directory.setAccess(agents.bob.id, queues.support.id, 'rw');
    const alice = await w.login('alice');
    const bob = await w.login('bob');
    const aliceTold = await listen(base, alice.cookie);
    const bobTold = await listen(base, bob.cookie);
    // Bob gives it to Alice on the page.
    const form = { state: 'open', queueId: String(queues.support.id), priority: '3', title: 'Printer on fire' };
    expect((await bob.post(`/tickets/${tickets.support.ttn}/update`, { ...form, ownerId: String(agents.alice.id) })).statusCode).toBe(303);
    await expect.poll(() => aliceTold.map((n) => n.text)).toEqual([`Ticket ${tickets.support.ttn} “Printer on fire” is yours now (Bob).`]);
    expect(aliceTold[0]).toMatchObject({ kind: 'assigned', url: `/tickets/${tickets.support.ttn}`, unseen: 1 });
    // Alice gives it to herself again after Bob took it: Bob is told, Alice not.
    await bob.post(`/tickets/${tickets.support.ttn}/update`, { ...form, ownerId: String(agents.bob.id) });
    await alice.post(`/tickets/${tickets.support.ttn}/update`, { ...form, ownerId: String(agents.alice.id) });
    await expect.poll(() => bobTold.length).toBe(0);
    expect(aliceTold).toHaveLength(1);
    // The menu and the list say so; opening the ticket is seeing it.
    expect((await alice.get('/queues')).body).toContain('Notices (<span id="notices-unseen">1</span> new)');
    expect((await alice.get('/notices')).body).toContain('is yours now (Bob).');
    await alice.get(`/tickets/${tickets.support.ttn}`);
    expect((await alice.get('/queues')).body).not.toContain('notices-unseen');
  });

  it('tell the owner their customer wrote, and nobody who may not see the queue', async () => {
    const { w, base } = await served();
    const { hotline, tickets, agents, queues } = w;
    await hotline.tickets.change(tickets.support.id, { ownerId: agents.alice.id }, 'system');
    const alice = await w.login('alice');
    const told = await listen(base, alice.cookie);
    await hotline.tickets.addArticle(tickets.support.id, { kind: 'email-in', from: 'Carl <carl@example.org>', subject: 'Still smoking', text: 'Help!' });
    await expect.poll(() => told.map((n) => [n.kind, n.text])).toEqual([['customer-reply', `Carl <carl@example.org> wrote on ticket ${tickets.support.ttn} “Printer on fire”: Still smoking.`]]);
    // A note is not the customer writing.
    await hotline.tickets.addArticle(tickets.support.id, { kind: 'note', text: 'internal' });
    // Her access is taken away: nothing more about that queue.
    await hotline.directory.setAccess(agents.alice.id, queues.support.id, null);
    await hotline.tickets.addArticle(tickets.support.id, { kind: 'email-in', from: 'carl@example.org', text: 'Anyone?' });
    await hotline.events.idle();
    // (Her first notice: the ticket was given to her before the socket connected.)
    expect((await hotline.notices.list(agents.alice.id, 10, 0)).map((n) => n.kind)).toEqual(['customer-reply', 'assigned']);
  });

  it('tell agents who watch a queue of its new tickets (not the agent who made it), and owners of their reminders', async () => {
    const clock = fixedClock('2026-12-05T09:00:00.000Z');
    const { w, base } = await served({ clock });
    const { hotline, agents, queues } = w;
    await hotline.directory.setAccess(agents.bob.id, queues.support.id, 'ro');
    const alice = await w.login('alice');
    const bob = await w.login('bob');
    expect((await bob.post('/settings', { watch: String(queues.support.id) })).statusCode).toBe(303);
    expect((await alice.post('/settings', { watch: String(queues.support.id) })).statusCode).toBe(303);
    const bobTold = await listen(base, bob.cookie);
    const aliceTold = await listen(base, alice.cookie);
    // Alice opens a phone ticket: Bob is told, Alice (who made it) not.
    const made = await alice.post('/tickets/new', { queueId: String(queues.support.id), customerName: 'Erin', phone: '0221 555 01', title: 'Router down' });
    const ttn = made.headers.location!.split('/').pop()!;
    await expect.poll(() => bobTold.map((n) => [n.kind, n.text])).toEqual([['new-ticket', `New ticket ${ttn} “Router down”, by phone.`]]);
    // Mail to Billing, which Bob does not watch: nothing.
    await hotline.tickets.create({ queueId: queues.billing.id, title: 'Invoice', article: { kind: 'email-in', from: 'x@example.org', text: '' } });
    // Alice's reminder comes due.
    const ticket = (await hotline.tickets.findByTtn(ttn))!;
    await hotline.tickets.change(ticket.id, { pendingUntil: '2026-12-05T12:00:00Z' }, { agentId: agents.alice.id });
    clock.set('2026-12-05T12:00:00.000Z');
    await hotline.tickets.wakeDue();
    await expect.poll(() => aliceTold.map((n) => n.kind)).toEqual(['reminder']);
    expect(bobTold).toHaveLength(1);
    expect((await bob.get('/settings')).body).toMatch(new RegExp(`name="watch" value="${queues.support.id}" checked`));
  });

  it('reach the socket also when another process wrote them (the CLI, hotline ingest)', async () => {
    const { w, base } = await served();
    const alice = await w.login('alice');
    const told = await listen(base, alice.cookie);
    // A second Hotline on the same file, as `hotline ticket create` or `hotline ingest` would be.
    const other = await createHotline(w.hotline.config, { log: pino({ level: 'silent' }) });
    try {
      await other.tickets.change(w.tickets.support.id, { ownerId: w.agents.alice.id }, 'system');
      await other.events.idle();
    } finally {
      other.close();
    }
    await expect.poll(() => told.map((n) => n.kind), { timeout: 10_000 }).toEqual(['assigned']);
  });

  it('are marked seen one by one or all at once', async () => {
    const { w } = await served();
    const { hotline, tickets, agents } = w;
    for (const t of [tickets.support]) await hotline.tickets.change(t.id, { ownerId: agents.alice.id }, 'system');
    await hotline.tickets.addArticle(tickets.support.id, { kind: 'email-in', from: 'carl@example.org', text: 'a' });
    await hotline.tickets.addArticle(tickets.support.id, { kind: 'email-in', from: 'carl@example.org', text: 'b' });
    const alice = await w.login('alice');
    await expect.poll(async () => (await hotline.notices.count(agents.alice.id)).unseen).toBe(3);
    const page = (await alice.get('/notices')).body;
    const first = /name="id" value="(\d+)"/.exec(page)![1]!;
    await alice.post('/notices/seen', { id: first });
    expect((await hotline.notices.count(agents.alice.id)).unseen).toBe(2);
    expect((await alice.get('/notices')).body).toContain('Mark all 2 as seen');
    await alice.post('/notices/seen', { all: '1' });
    expect(await hotline.notices.count(agents.alice.id)).toEqual({ total: 3, unseen: 0 });
    // Someone else's notice cannot be marked by her.
    const bobNotice = await hotline.notices.list(agents.alice.id, 1, 0);
    const bob = await w.login('bob');
    await bob.post('/notices/seen', { id: String(bobNotice[0]!.id) });
    expect((await hotline.notices.list(agents.alice.id, 1, 0))[0]!.seenAt).not.toBeNull();
  });
});

describe('notices by e-mail', () => {
  it('mail each notice once to an agent who chose it, with a link to the ticket, marked auto-generated; not to others', async () => {
    m = await mailHarness({ publicUrl: 'https://hotline.example.com/' });
    const { agent: alice } = await m.hotline.agents.create({ login: 'alice', name: 'Alice', role: 'agent', password: 'password123', email: 'alice@hotline.example' });
    const { agent: bob } = await m.hotline.agents.create({ login: 'bob', name: 'Bob', role: 'agent', password: 'password123', email: 'bob@hotline.example' });
    for (const a of [alice, bob]) await m.hotline.directory.setAccess(a.id, m.queues.support.id, 'rw');
    await m.hotline.agents.update(alice.id, { notifyByEmail: true });
    const a = (await m.hotline.tickets.create({ queueId: m.queues.support.id, title: 'Printer', article: { kind: 'note', text: '' } })).ticket;
    const b = (await m.hotline.tickets.create({ queueId: m.queues.support.id, title: 'Scanner', article: { kind: 'note', text: '' } })).ticket;
    await m.hotline.tickets.change(a.id, { ownerId: alice.id }, 'system');
    await m.hotline.tickets.change(b.id, { ownerId: bob.id }, 'system');
    await expect.poll(async () => (await m!.sent()).filter((s) => s.mail.to.includes('alice@hotline.example')).length).toBe(1);
    await m.mail.pipeline.mailNotices();
    const sent = (await m.sent()).filter((s) => s.mail.to.includes('alice@hotline.example') || s.mail.to.includes('bob@hotline.example'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.mail.subject).toBe(`[Ticket#${a.ttn}] Ticket ${a.ttn} “Printer” is yours now (Hotline).`);
    expect(sent[0]!.mail.text).toContain(`https://hotline.example.com/tickets/${a.ttn}`);
    expect(sent[0]!.mail.headers.get('auto-submitted')).toBe('auto-generated');
  });
});
