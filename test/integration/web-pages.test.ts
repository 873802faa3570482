import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebHarness } from '../helpers/web.js';
import { pathOf, webHarness } from '../helpers/web.js';
import { injectLogin } from '../helpers/login.js';

let w: WebHarness;
beforeEach(async () => {
  w = await webHarness();
});
afterEach(async () => w.close());

describe('agent pages', () => {
  it('shows permitted queues with counts per state', async () => {
    const alice = await w.login('alice');
    const page = (await alice.get('/queues')).body;
    expect(page).toContain('>Support</a>');
    expect(page).not.toContain('>Billing</a>');
    expect(page).toMatch(/state=new">1<\/a>/);
  });

  it('lists a queue, finds a ticket by TTN, customer phone and text, and opens it', async () => {
    const alice = await w.login('alice');
    const ttn = w.tickets.support.ttn;
    expect((await alice.get(`/tickets?queue=${w.queues.support.id}`)).body).toContain(`/tickets/${ttn}`);
    const direct = await alice.get(`/tickets?q=${ttn}`);
    expect(direct.statusCode).toBe(303);
    expect(pathOf(direct.headers.location)).toBe(`/tickets/${ttn}`);
    for (const q of ['171 2345678', 'smokes', 'Carl']) expect((await alice.get(`/tickets?q=${encodeURIComponent(q)}`)).body, q).toContain(`/tickets/${ttn}`);
    const view = (await alice.get(`/tickets/${ttn}`)).body;
    expect(view).toContain(`Ticket#${ttn} — Printer on fire`);
    expect(view).toContain('It smokes.');
    expect(view).toContain('carl@example.org');
  });

  it('adds a note, refuses a reply while mail is not running (nothing stored), and changes state, owner and queue', async () => {
    const alice = await w.login('alice');
    await w.hotline.directory.setAccess(w.agents.alice.id, w.queues.billing.id, 'rw');
    const ttn = w.tickets.support.ttn;
    expect(pathOf((await alice.post(`/tickets/${ttn}/notes`, { text: 'Called back, toner replaced.' })).headers.location)).toBe(`/tickets/${ttn}?done=note-added`);
    // Stored but never sent would be worse: the agent believes the customer has the answer.
    const refused = await alice.post(`/tickets/${ttn}/reply`, { to: 'carl@example.org', subject: 'About your printer', text: 'Fixed.' });
    expect(refused.statusCode).toBe(503);
    expect(refused.body).toContain('mail is not running here');
    await alice.post(`/tickets/${ttn}/update`, { state: 'pending', ownerId: String(w.agents.alice.id), queueId: String(w.queues.billing.id) });
    const articles = await w.hotline.tickets.articles(w.tickets.support.id);
    expect(articles.map((a) => [a.kind, a.text])).toEqual([
      ['email-in', 'It smokes.'],
      ['note', 'Called back, toner replaced.'],
    ]);
    expect(await w.hotline.tickets.findByTtn(ttn)).toMatchObject({ state: 'pending', ownerId: w.agents.alice.id, queueId: w.queues.billing.id });
    expect((await alice.get(`/tickets/${ttn}?done=ticket-updated`)).body).toContain('Ticket updated.');
  });

  it('creates a phone ticket for a customer found by phone number in another format', async () => {
    const alice = await w.login('alice');
    const form = (await alice.get('/tickets/new?lookup=0171%20234%2056%2078')).body;
    expect(form).toContain('Carl Customer');
    const res = await alice.post('/tickets/new', { customerId: String(w.customer.id), queueId: String(w.queues.support.id), title: 'Modem blinks', text: 'Red light since Monday.' });
    expect(res.statusCode).toBe(303);
    const ttn = /\/tickets\/(\d+)$/.exec(res.headers.location as string)![1]!;
    expect(await w.hotline.tickets.findByTtn(ttn)).toMatchObject({ title: 'Modem blinks', customerId: w.customer.id, ownerId: w.agents.alice.id, state: 'open' });
    const created = await alice.post('/tickets/new', { queueId: String(w.queues.support.id), title: 'New caller', phone: '030 9876543', customerName: 'Nina New' });
    const newTtn = /\/tickets\/(\d+)$/.exec(created.headers.location as string)![1]!;
    const customerId = (await w.hotline.tickets.findByTtn(newTtn))!.customerId!;
    expect(await w.hotline.directory.findCustomer(customerId)).toMatchObject({ name: 'Nina New', phones: ['+49309876543'] });
  });

  it('answers a bad form with a clear message and no change', async () => {
    const alice = await w.login('alice');
    const res = await alice.post('/tickets/new', { queueId: String(w.queues.support.id), title: '   ' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('a ticket needs a title');
    const bad = await alice.post(`/tickets/${w.tickets.support.ttn}/update`, { state: 'exploded' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('unknown state');
  });
});

describe('admin pages', () => {
  it('creates an agent with a generated password shown once, who can then log in', async () => {
    const root = await w.login('root');
    const res = await root.post('/admin/agents', { login: 'dave', name: 'Dave', role: 'agent', dialString: 'PJSIP/204', deviceInterface: 'PJSIP/204', language: 'de' });
    const password = /created with password (\S+) — shown once/.exec(res.body)?.[1];
    expect(password).toBeDefined();
    expect(await w.hotline.agents.findByLogin('dave')).toMatchObject({ dialString: 'PJSIP/204', language: 'de', role: 'agent' });
    expect((await injectLogin(w.server, 'dave', password!)).statusCode).toBe(303);
    const dup = await root.post('/admin/agents', { login: 'dave', name: 'Dave 2' });
    expect(dup.statusCode).toBe(409);
    expect(dup.body).toContain('login &quot;dave&quot; is taken');
  });

  it('maps a queue to an extension, makes another queue the default, and sets permissions', async () => {
    const root = await w.login('root');
    await root.post(`/admin/queues/${w.queues.billing.id}`, { name: 'Billing', email: 'billing@hotline.example', asteriskQueue: '', dialTarget: 'PJSIP/600', isDefault: '1' });
    expect(await w.hotline.directory.findQueue(w.queues.billing.id)).toMatchObject({ dialTarget: 'PJSIP/600', asteriskQueue: null, email: 'billing@hotline.example', isDefault: true });
    await root.post(`/admin/queues/${w.queues.billing.id}`, { name: 'Billing', email: 'billing@hotline.example', dialTarget: 'PJSIP/600', reopenPolicy: 'new-ticket', autoReplyEn: 'Ticket {ttn} is open.', autoReplyDe: '' });
    expect(await w.hotline.directory.findQueue(w.queues.billing.id)).toMatchObject({ reopenPolicy: 'new-ticket', autoReply: { en: 'Ticket {ttn} is open.' } });
    expect((await w.hotline.directory.findQueue(w.queues.support.id))?.isDefault).toBe(false);
    await root.post('/admin/permissions', { [`p_${w.agents.carol.id}_${w.queues.billing.id}`]: 'rw', [`p_${w.agents.alice.id}_${w.queues.support.id}`]: 'none' });
    expect(await w.hotline.directory.access(w.agents.carol.id, w.queues.billing.id)).toBe('rw');
    expect(await w.hotline.directory.access(w.agents.alice.id, w.queues.support.id)).toBeNull();
    const matrix = (await root.get('/admin/permissions')).body;
    expect(matrix).toMatch(new RegExp(`name="p_${w.agents.carol.id}_${w.queues.billing.id}">[^]*?<option value="rw" selected>`));
  });

  it('sets a queue\'s voicemail: after how long, business hours and holidays, refusing what it cannot read', async () => {
    const root = await w.login('root');
    const base = { name: 'Billing', email: '', asteriskQueue: 'billing', dialTarget: '' };
    const saved = await root.post(`/admin/queues/${w.queues.billing.id}`, { ...base, voicemailAfter: '45', openHours: 'mon-fri 8:00-17:00; sat 09:00-12:00', holidays: '2026-12-26\n2026-12-24' });
    expect(saved.statusCode).toBe(303);
    expect(await w.hotline.directory.findQueue(w.queues.billing.id)).toMatchObject({ voicemailAfterSeconds: 45, openHours: 'Mon-Fri 08:00-17:00; Sat 09:00-12:00', holidays: ['2026-12-24', '2026-12-26'] });
    const page = (await root.get('/admin/queues')).body;
    expect(page).toContain('value="Mon-Fri 08:00-17:00; Sat 09:00-12:00"');
    expect(page).toContain('2026-12-24\n2026-12-26</textarea>');
    for (const [fields, message] of [
      [{ voicemailAfter: '2' }, /between 5 and 3600 seconds/],
      [{ voicemailAfter: 'soon' }, /must be a number of seconds/],
      [{ openHours: 'Mon-Fry 08:00-17:00' }, /Fry.{1,8} in .{1,8}Mon-Fry 08:00-17:00.{1,8} is not a weekday/],
      [{ holidays: '24.12.2026' }, /24\.12\.2026.{1,8} is not a date/],
    ] as const) {
      const refused = await root.post(`/admin/queues/${w.queues.billing.id}`, Object.assign({ ...base, voicemailAfter: '45', openHours: '', holidays: '' }, fields));
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toMatch(message);
    }
    // Nothing of a refused form was kept; emptied, the queue has no voicemail.
    expect((await w.hotline.directory.findQueue(w.queues.billing.id))?.voicemailAfterSeconds).toBe(45);
    await root.post(`/admin/queues/${w.queues.billing.id}`, { ...base, voicemailAfter: '', openHours: '', holidays: '' });
    expect(await w.hotline.directory.findQueue(w.queues.billing.id)).toMatchObject({ voicemailAfterSeconds: null, openHours: null, holidays: [] });
  });

  it('adds customers and their numbers, switches the TTN generator, and shows the PBX status', async () => {
    const root = await w.login('root');
    await root.post('/admin/customers', { name: 'Erin', email: 'erin@example.org', phone: '0221 555 01' });
    const erin = await w.hotline.directory.findCustomerByEmail('erin@example.org');
    expect(erin?.phones).toEqual(['+4922155501']);
    await root.post(`/admin/customers/${erin!.id}`, { phone: '+1 555 0100' });
    expect((await w.hotline.directory.findCustomer(erin!.id))?.phones).toContain('+15550100');
    await root.post('/admin/ttn', { generator: 'random', checkDigit: 'damm', systemId: '10' });
    const { ticket } = await w.hotline.tickets.create({ queueId: w.queues.support.id, title: 'x', article: { kind: 'note', text: '' } });
    expect(ticket.ttn).not.toMatch(/^\d{8}0000/);
    expect(w.hotline.ttn.checker().isValidTtn(w.tickets.support.ttn)).toBe(true);
    expect((await root.get('/admin')).body).toMatch(/Asterisk ARI \(IVR\)<\/th><td>not started/);
  });
});

describe('JSON API', () => {
  it('creates a phone ticket, adds a note and closes it with an API token', async () => {
    const token = await w.hotline.auth.createApiToken(w.agents.alice.id, 'crm');
    const headers = { authorization: `Bearer ${token}` };
    const created = await w.server.inject({ method: 'POST', url: '/api/v1/tickets', headers, payload: { queueId: w.queues.support.id, title: 'From the CRM', phone: '+49 171 2345678', text: 'Callback wanted' } });
    expect(created.statusCode).toBe(201);
    const { ticket } = created.json() as { ticket: { ttn: string; customerId: number } };
    expect(ticket.customerId).toBe(w.customer.id);
    expect((await w.server.inject({ method: 'POST', url: `/api/v1/tickets/${ticket.ttn}/articles`, headers, payload: { text: 'done' } })).statusCode).toBe(201);
    const patched = await w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${ticket.ttn}`, headers, payload: { state: 'closed' } });
    expect(patched.json()).toMatchObject({ state: 'closed' });
    const full = (await w.server.inject({ url: `/api/v1/tickets/${ticket.ttn}`, headers })).json() as { articles: Array<{ text: string }> };
    expect(full.articles.map((a) => a.text)).toEqual(['Callback wanted', 'done']);
    expect((await w.server.inject({ url: '/api/v1/me', headers })).json()).toMatchObject({ login: 'alice' });
  });
});
