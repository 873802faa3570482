import { afterEach, describe, expect, it } from 'vitest';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import { fixedClock } from '../helpers/hotline.js';

let w: WebHarness;
afterEach(async () => w.close());

/** The ticket page's timeline, entry by entry: "who: what". */
const timeline = (body: string) =>
  [...(/<aside class="history"[\s\S]*?<\/aside>/.exec(body)?.[0] ?? '').matchAll(/<li><span class="when">[^<]*<\/span> <span class="who">([^<]*)<\/span>: ([^<]*)<\/li>/g)].map((m) => `${m[1]}: ${m[2]!.replaceAll('&quot;', '"').replaceAll('&gt;', '>')}`);

describe('ticket history', () => {
  it('records every change with who made it and how — on the page and in the API — and keeps the names of the time', async () => {
    w = await webHarness();
    const { hotline, tickets, agents, queues } = w;
    const ttn = tickets.support.ttn;
    await hotline.directory.setAccess(agents.bob.id, queues.support.id, 'rw');
    const alice = await w.login('alice');
    const update = (fields: Record<string, string>) => alice.post(`/tickets/${ttn}/update`, { state: 'new', ownerId: '', queueId: String(queues.support.id), priority: '3', title: 'Printer on fire', ...fields });
    expect((await update({ state: 'open', ownerId: String(agents.alice.id) })).statusCode).toBe(303);
    expect((await update({ state: 'open', ownerId: String(agents.alice.id), priority: '5', title: 'Printer still on fire' })).statusCode).toBe(303);
    // Bob, through the API, hands it to himself.
    const token = await hotline.auth.createApiToken(agents.bob.id, 'test');
    expect((await w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${ttn}`, headers: { authorization: `Bearer ${token}` }, payload: { ownerId: agents.bob.id } })).statusCode).toBe(200);
    // Nothing changed: nothing recorded.
    expect((await update({ state: 'open', ownerId: String(agents.bob.id), priority: '5', title: 'Printer still on fire' })).statusCode).toBe(303);
    await hotline.directory.updateQueue(queues.support.id, { name: 'First line' });
    const page = (await alice.get(`/tickets/${ttn}`)).body;
    expect(timeline(page)).toEqual([
      'Hotline: Created in queue Support',
      'Alice: State: new → open',
      'Alice: Owner: nobody → Alice',
      'Alice: Priority: 3 → 5',
      'Alice: Title: “Printer on fire” → “Printer still on fire”',
      'Bob: Owner: Alice → Bob',
    ]);
    const api = (await w.server.inject({ url: `/api/v1/tickets/${ttn}/history`, headers: { authorization: `Bearer ${token}` } })).json() as Array<{ field: string; via: string; agentName: string | null; oldValue: string | null; newValue: string | null }>;
    expect(api.map((h) => [h.field, h.via, h.agentName, h.oldValue, h.newValue])).toEqual([
      ['created', 'system', null, null, String(queues.support.id)],
      ['state', 'agent', 'Alice', 'new', 'open'],
      ['owner', 'agent', 'Alice', null, String(agents.alice.id)],
      ['priority', 'agent', 'Alice', '3', '5'],
      ['title', 'agent', 'Alice', 'Printer on fire', 'Printer still on fire'],
      ['owner', 'agent', 'Bob', String(agents.alice.id), String(agents.bob.id)],
    ]);
    // Another agent without access to the queue: no history either.
    const carol = await hotline.auth.createApiToken(agents.carol.id, 'test');
    expect((await w.server.inject({ url: `/api/v1/tickets/${ttn}/history`, headers: { authorization: `Bearer ${carol}` } })).statusCode).toBe(404);
    expect(((await w.server.inject({ url: `/api/v1/tickets/${ttn}`, headers: { authorization: `Bearer ${token}` } })).json() as { history: unknown[] }).history).toHaveLength(6);
  });

  it('writes the history in the transaction of the change: when it cannot be written, the change is not made either', async () => {
    w = await webHarness();
    const { hotline, tickets } = w;
    hotline.db.exec("CREATE TRIGGER refuse_history BEFORE INSERT ON ticket_history WHEN new.field = 'state' BEGIN SELECT RAISE(ABORT, 'history refused'); END");
    await expect(hotline.tickets.change(tickets.support.id, { state: 'open', priority: 4 }, 'system')).rejects.toThrow('history refused');
    expect(await hotline.tickets.findById(tickets.support.id)).toMatchObject({ state: 'new', priority: 3 });
    expect((await hotline.tickets.history(tickets.support.id)).map((h) => h.field)).toEqual(['created']);
  });

  it('brings a pending ticket back when its reminder is due — not before — and drops the reminder when the state changes', async () => {
    const clock = fixedClock('2026-12-05T10:00:00.000Z');
    w = await webHarness({ clock });
    const { hotline, tickets, agents, queues } = w;
    const ttn = tickets.support.ttn;
    let alice = await w.login('alice');
    const form = { ownerId: String(agents.alice.id), queueId: String(queues.support.id), priority: '3', title: 'Printer on fire' };
    expect((await alice.post(`/tickets/${ttn}/update`, { ...form, state: 'pending', pendingUntil: '2026-12-07T09:00' })).statusCode).toBe(303);
    expect(await hotline.tickets.findById(tickets.support.id)).toMatchObject({ state: 'pending', pendingUntil: '2026-12-07T09:00:00.000Z' });
    expect((await alice.get(`/tickets/${ttn}`)).body).toContain('<dt>Reminder</dt><dd>2026-12-07 09:00</dd>');
    clock.set('2026-12-07T08:59:59.000Z');
    expect(await hotline.tickets.wakeDue()).toEqual([]);
    clock.set('2026-12-07T09:00:00.000Z');
    const woken = await hotline.tickets.wakeDue();
    expect(woken.map((t) => [t.ttn, t.state, t.pendingUntil])).toEqual([[ttn, 'open', null]]);
    // Woken once: a second sweep (another process) finds nothing.
    expect(await hotline.tickets.wakeDue()).toEqual([]);
    // (Two days on, the session from before has ended.)
    alice = await w.login('alice');
    expect(timeline((await alice.get(`/tickets/${ttn}`)).body).slice(-5)).toEqual([
      'Alice: State: new → pending',
      'Alice: Owner: nobody → Alice',
      'Alice: Reminder set for 2026-12-07 09:00',
      'Reminder: State: pending → open',
      'Reminder: Reminder for 2026-12-07 09:00 removed',
    ]);
    // A reminder left in the form is dropped with any other state.
    await alice.post(`/tickets/${ttn}/update`, { ...form, state: 'pending', pendingUntil: '2026-12-09T09:00' });
    await alice.post(`/tickets/${ttn}/update`, { ...form, state: 'closed', pendingUntil: '2026-12-09T09:00' });
    expect(await hotline.tickets.findById(tickets.support.id)).toMatchObject({ state: 'closed', pendingUntil: null });
    clock.set('2026-12-10T00:00:00.000Z');
    expect(await hotline.tickets.wakeDue()).toEqual([]);
    // The API: a reminder makes the ticket pending; with another state it is refused.
    const token = await hotline.auth.createApiToken(agents.alice.id, 'test');
    const patch = (payload: object) => w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${ttn}`, headers: { authorization: `Bearer ${token}` }, payload });
    expect((await patch({ pendingUntil: '2026-12-11T08:00:00Z' })).json()).toMatchObject({ state: 'pending', pendingUntil: '2026-12-11T08:00:00.000Z' });
    expect((await patch({ pendingUntil: '2026-12-11T08:00:00Z', state: 'open' })).statusCode).toBe(400);
    expect((await patch({ pendingUntil: 'tomorrow' })).statusCode).toBe(400);
  });
});
