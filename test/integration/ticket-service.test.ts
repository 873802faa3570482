import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError } from '../../src/core/errors.js';
import { fixedClock, seed, testHotline } from '../helpers/hotline.js';

const disposers: Array<() => void> = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

async function setup() {
  const clock = fixedClock('2026-11-28T09:30:00Z');
  const hotline = await testHotline({ clock });
  disposers.push(hotline.dispose);
  return { hotline, clock, ...(await seed(hotline)) };
}

describe('ticket service', () => {
  it('creates a ticket with today\'s TTN and its first article, and publishes ticket.created after commit', async () => {
    const { hotline, queue, customer } = await setup();
    const seen: Array<{ ttn: string; inDb: boolean }> = [];
    hotline.events.on('ticket.created', ({ ticket }) => {
      seen.push({ ttn: ticket.ttn, inDb: hotline.db.prepare('SELECT 1 FROM tickets WHERE ttn = ?').get(ticket.ttn) !== undefined });
    });
    const { ticket, article } = await hotline.tickets.create({
      queueId: queue.id,
      title: 'Printer on fire',
      customerId: customer.id,
      article: { kind: 'phone', text: 'It smokes.' },
    });
    expect(ticket.ttn).toBe('20261128000019');
    expect(hotline.ttn.checker().isValidTtn(ticket.ttn)).toBe(true);
    expect(article).toMatchObject({ ticketId: ticket.id, kind: 'phone', text: 'It smokes.' });
    expect(seen).toEqual([{ ttn: ticket.ttn, inDb: true }]);
    const second = await hotline.tickets.create({ queueId: queue.id, title: 'Second', article: { kind: 'note', text: '' } });
    expect(second.ticket.ttn.slice(0, 13)).toBe('2026112800002');
  });

  it('adds articles in order and changes state, stamping closed_at', async () => {
    const { hotline, queue, clock } = await setup();
    const { ticket } = await hotline.tickets.create({ queueId: queue.id, title: 'T', article: { kind: 'email-in', text: 'first', from: 'c@example.org' } });
    clock.set('2026-11-28T10:00:00Z');
    await hotline.tickets.addArticle(ticket.id, { kind: 'note', text: 'second' });
    const closed = await hotline.tickets.change(ticket.id, { state: 'closed' });
    expect(closed).toMatchObject({ state: 'closed', closedAt: '2026-11-28T10:00:00.000Z', updatedAt: '2026-11-28T10:00:00.000Z' });
    const reopened = await hotline.tickets.change(ticket.id, { state: 'open' });
    expect(reopened.closedAt).toBeNull();
    expect((await hotline.tickets.articles(ticket.id)).map((a) => a.text)).toEqual(['first', 'second']);
  });

  it('shows an agent only tickets in queues they may see, in lists, counts and lookups', async () => {
    const { hotline, queue, other, agent } = await setup();
    const mine = await hotline.tickets.create({ queueId: queue.id, title: 'visible', article: { kind: 'note', text: 'x' } });
    const hidden = await hotline.tickets.create({ queueId: other.id, title: 'hidden', article: { kind: 'note', text: 'secret words' } });
    const actor = { agentId: agent.id };

    expect((await hotline.tickets.listVisible(agent.id)).map((t) => t.title)).toEqual(['visible']);
    expect(await hotline.tickets.listVisible(agent.id, { search: 'secret' })).toEqual([]);
    expect(await hotline.tickets.countVisible(agent.id)).toEqual([{ queueId: queue.id, state: 'new', count: 1 }]);
    await expect(hotline.tickets.getVisible(hidden.ticket.ttn, actor)).rejects.toThrow(NotFoundError);
    await expect(hotline.tickets.addArticle(hidden.ticket.id, { kind: 'note', text: 'x' }, actor)).rejects.toThrow(NotFoundError);
    await expect(hotline.tickets.change(mine.ticket.id, { queueId: other.id }, actor)).rejects.toThrow(ForbiddenError);

    await hotline.directory.setAccess(agent.id, other.id, 'ro');
    expect((await hotline.tickets.getVisible(hidden.ticket.ttn, actor)).access).toBe('ro');
    await expect(hotline.tickets.addArticle(hidden.ticket.id, { kind: 'note', text: 'x' }, actor)).rejects.toThrow(ForbiddenError);

    const { agent: admin } = await hotline.agents.create({ login: `root${agent.id}`, name: 'Root', role: 'admin', password: 'long enough' });
    expect(await hotline.tickets.listVisible(admin.id)).toHaveLength(2);
  });

  it('searches by TTN prefix, customer phone and article text', async () => {
    const { hotline, queue, agent, customer } = await setup();
    const { ticket } = await hotline.tickets.create({ queueId: queue.id, title: 'Modem', customerId: customer.id, article: { kind: 'phone', text: 'blinking lights' } });
    await hotline.tickets.create({ queueId: queue.id, title: 'Other', article: { kind: 'phone', text: 'nothing' } });
    for (const search of [ticket.ttn, ticket.ttn.slice(0, 12), '1712345678', 'blinking', 'Carol']) {
      const found = await hotline.tickets.listVisible(agent.id, { search });
      expect(found.map((t) => t.ttn), search).toContain(ticket.ttn);
    }
    expect((await hotline.tickets.listVisible(agent.id, { search: 'blinking' })).map((t) => t.title)).toEqual(['Modem']);
    expect(await hotline.tickets.listVisible(agent.id, { search: '100%_' })).toEqual([]);
  });

  it('finds customers by phone in any format and by e-mail in any case', async () => {
    const { hotline, customer } = await setup();
    expect((await hotline.directory.findCustomersByPhone('0171 234 56 78')).map((c) => c.id)).toEqual([customer.id]);
    expect((await hotline.directory.findCustomersByPhone('anonymous'))).toEqual([]);
    expect((await hotline.directory.findCustomerByEmail(customer.emails[0]!.toUpperCase()))?.id).toBe(customer.id);
  });

  it('authenticates with the right password only, and not for a deactivated agent', async () => {
    const { hotline, agent } = await setup();
    expect((await hotline.agents.authenticate(agent.login, 'correct horse'))?.id).toBe(agent.id);
    expect(await hotline.agents.authenticate(agent.login, 'wrong horse')).toBeNull();
    expect(await hotline.agents.authenticate('nobody', 'correct horse')).toBeNull();
    await hotline.agents.update(agent.id, { active: false });
    expect(await hotline.agents.authenticate(agent.login, 'correct horse')).toBeNull();
  });
});
