// The caller log (#18 item 3): every call in and out of the agent's queues, missed ones marked, seen
// per agent, matched to customers in any number format; a ticket, a phone ticket, a call back from it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PopHarness } from '../helpers/pops.js';
import { popHarness } from '../helpers/pops.js';

let h: PopHarness;
beforeEach(async () => {
  h = await popHarness();
});
afterEach(async () => h.close());

async function pages(login: string) {
  const cookie = await h.cookieFor(login);
  const get = async (url: string) => (await fetch(`${h.base}${url}`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await get('/queues'))![1]!;
  const post = (url: string, form: Record<string, string | string[]>) => {
    const body = new URLSearchParams({ _csrf: csrf });
    for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) body.append(k, x);
    return fetch(`${h.base}${url}`, { method: 'POST', headers: { cookie }, body, redirect: 'manual' });
  };
  return { get, post };
}

/** The log's rows as text: number and customer, TTN, outcome. */
const rows = (html: string) =>
  [...html.matchAll(/<tr class="([^"]*)">([\s\S]*?)<\/tr>/g)].map((m) => ({
    missed: m[1]!.includes('missed'),
    unseen: m[1]!.includes('unseen'),
    text: m[2]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim(),
  }));

describe('the caller log', () => {
  it('lists the calls of my queues with their customer, marks the missed, and keeps seen per agent', async () => {
    const customer = await h.hotline.directory.createCustomer({ name: 'Greta', phones: ['+49 30 2222222'] });
    const ticket = (await h.hotline.tickets.create({ queueId: h.queues.support.id, title: 'Scanner', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'note', text: '' } })).ticket;
    const billingTicket = (await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'Invoice', ownerId: h.agents.carol.id, article: { kind: 'note', text: '' } })).ticket;
    // Greta calls about her ticket (in any written form of her number): Alice answers.
    const answered = await h.call(`${ticket.ttn}#`, '030/222 22 22');
    await answered.waitFor('answered Local/201@phones');
    answered.hangup();
    await h.callRecord(answered.id, (c) => c.endedAt !== null);
    // A caller who hangs up in the menu: missed.
    const lost = h.fake.placeCall({ number: '0309999999' });
    await lost.waitFor('stasis-start');
    lost.hangup();
    await h.callRecord(lost.id, (c) => c.endedAt !== null);
    // Billing's call, which Alice may not see.
    await h.hotline.directory.setAccess(h.agents.alice.id, h.queues.billing.id, null);
    const other = await h.call(`${billingTicket.ttn}#`, '0301111111');
    await other.waitFor('answered Local/203@phones');
    other.hangup();
    await h.callRecord(other.id, (c) => c.endedAt !== null);

    const alice = await pages('alice');
    const log = rows(await alice.get('/calls'));
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ missed: true, unseen: true });
    expect(log[0]!.text).toContain('0309999999');
    expect(log[0]!.text).toContain('MISSED');
    expect(log[1]!.text).toMatch(/030\/222 22 22 \(Caller\) Greta/);
    expect(log[1]!.text).toContain(ticket.ttn);
    expect(log[1]!.text).toContain('Alice');
    expect(log.some((r) => r.text.includes('0301111111'))).toBe(false);
    // Filters.
    expect(rows(await alice.get('/calls?show=missed')).map((r) => r.missed)).toEqual([true]);
    expect(rows(await alice.get('/calls?show=mine'))).toHaveLength(1);
    // Seen: one, then all; for Alice only.
    const page = await alice.get('/calls');
    const first = /name="id" value="(\d+)"/.exec(page)![1]!;
    await alice.post('/calls/seen', { id: first });
    expect(rows(await alice.get('/calls')).map((r) => r.unseen)).toEqual([false, true]);
    await alice.post('/calls/seen', { all: '1' });
    expect(rows(await alice.get('/calls')).map((r) => r.unseen)).toEqual([false, false]);
    const bob = await pages('bob');
    expect(rows(await bob.get('/calls')).every((r) => r.unseen)).toBe(true);
    // Carol (Billing) sees Billing's call.
    expect(rows(await (await pages('carol')).get('/calls')).some((r) => r.text.includes('0301111111'))).toBe(true);
  });

  it('calls back a number on file for a customer, logs calls out, and refuses a number nobody has on file', async () => {
    // Hugo is a customer of Support (a customer is known to the agents of queues holding one of his tickets).
    const hugo = await h.hotline.directory.createCustomer({ name: 'Hugo', phones: ['+49 30 3333333'] });
    await h.hotline.tickets.create({ queueId: h.queues.support.id, title: 'Modem', customerId: hugo.id, article: { kind: 'note', text: '' } });
    const known = h.fake.placeCall({ number: '030 3333333' });
    await known.waitFor('stasis-start');
    known.hangup();
    await h.callRecord(known.id, (c) => c.endedAt !== null);
    const stranger = h.fake.placeCall({ number: '0900 123456' });
    await stranger.waitFor('stasis-start');
    stranger.hangup();
    await h.callRecord(stranger.id, (c) => c.endedAt !== null);
    const alice = await pages('alice');
    const html = await alice.get('/calls');
    const callBack = /action="\/calls\/(\d+)\/dial"><input type="hidden" name="_csrf" value="[^"]+"><button type="submit">Call back 030 3333333/.exec(html)![1]!;
    expect(html).not.toContain('Call back 0900 123456');
    const res = await alice.post(`/calls/${callBack}/dial`, {});
    expect(res.status).toBe(303);
    await expect.poll(async () => rows(await alice.get('/calls'))[0]!.text).toMatch(/out, by Alice .*\+49303333333 Hugo/);
    // Asking for the stranger's call back anyway: refused, nothing dialled.
    const strangerId = (await h.hotline.calls.findByChannel(stranger.id))!.id;
    const refused = await alice.post(`/calls/${strangerId}/dial`, {});
    expect(refused.status).toBe(403);
  });
});
