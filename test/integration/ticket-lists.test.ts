import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TicketState } from '../../src/core/types.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';

let w: WebHarness;
beforeEach(async () => {
  w = await webHarness();
});
afterEach(async () => w.close());

/** `count` tickets in a queue straight into the table, with `sameTime` of them sharing one updated_at. */
function insertTickets(queueId: number, count: number, options: { state?: (i: number) => TicketState; sameTime?: number; prefix?: string } = {}) {
  const insert = w.hotline.db.prepare(
    "INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES (@ttn, @title, @queueId, @state, 3, @at, @at)",
  );
  const prefix = options.prefix ?? String(queueId);
  w.hotline.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      // Several tickets at the same instant: the id must break the tie, or a page would skip or repeat them.
      const minute = options.sameTime && i < options.sameTime ? 0 : i;
      const at = new Date(Date.UTC(2025, 0, 1) + minute * 60_000).toISOString();
      insert.run({ ttn: `9${prefix}${String(i).padStart(6, '0')}`, title: `${prefix} #${i}`, queueId, state: options.state?.(i) ?? 'open', at });
    }
  })();
}

/** Follows the "Older tickets" links from `url`; returns every TTN listed, page by page. */
async function walkPages(agent: Awaited<ReturnType<WebHarness['login']>>, url: string) {
  const pages: string[][] = [];
  let next: string | null = url;
  while (next) {
    const res = await agent.get(next);
    expect(res.statusCode, next).toBe(200);
    pages.push([...res.body.matchAll(/<td><a href="\/tickets\/(\d+)">/g)].map((m) => m[1]!));
    next = /<a href="([^"]+)" rel="next">/.exec(res.body)?.[1]?.replaceAll('&amp;', '&') ?? null;
    expect(pages.length).toBeLessThan(20);
  }
  return pages;
}

describe('ticket lists', () => {
  it('pages a queue newest first, 50 at a time, each ticket once — also when many share one time', async () => {
    insertTickets(w.queues.support.id, 120, { sameTime: 70 });
    const alice = await w.login('alice');
    const pages = await walkPages(alice, `/tickets?queue=${w.queues.support.id}`);
    expect(pages.map((p) => p.length)).toEqual([50, 50, 21]);
    const all = pages.flat();
    expect(new Set(all).size).toBe(121);
    const order = w.hotline.db
      .prepare("SELECT ttn FROM tickets WHERE queue_id = ? AND state <> 'closed' ORDER BY updated_at DESC, id DESC")
      .pluck()
      .all(w.queues.support.id);
    expect(all).toEqual(order);
    // The second page offers the way back to the newest.
    const second = await alice.get(`/tickets?queue=${w.queues.support.id}&before=${encodeURIComponent('2025-01-01T00:50:00.000Z_1')}`);
    expect(second.body).toContain('Newest</a>');
  });

  it('keeps the filter while paging and never lists a queue the agent may not see', async () => {
    insertTickets(w.queues.support.id, 60, { state: (i) => (i % 2 ? 'pending' : 'closed'), prefix: '1' });
    insertTickets(w.queues.billing.id, 60, { prefix: '2' });
    const alice = await w.login('alice');
    const pending = (await walkPages(alice, '/tickets?state=pending')).flat();
    expect(pending).toHaveLength(30);
    expect(pending.every((ttn) => ttn.startsWith('91'))).toBe(true);
    const open = (await walkPages(alice, '/tickets')).flat();
    // Open ones: the seeded ticket ("new") and the 30 pending; none closed, none of Billing.
    expect(open).toHaveLength(31);
    const bob = await w.login('bob');
    const billing = (await walkPages(bob, '/tickets')).flat();
    expect(billing).toHaveLength(61);
    expect(billing.some((ttn) => ttn.startsWith('91'))).toBe(false);
  });

  it('refuses a malformed page position with a message instead of a wrong page', async () => {
    const alice = await w.login('alice');
    const res = await alice.get('/tickets?before=yesterday');
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('list position');
  });

  it('counts per queue and state follow every create, state change and move', async () => {
    const { hotline, queues } = w;
    const counts = async () =>
      Object.fromEntries((await hotline.tickets.countVisible(w.agents.admin.id)).map((c) => [`${c.queueId === queues.support.id ? 'support' : 'billing'}:${c.state}`, c.count]));
    expect(await counts()).toEqual({ 'support:new': 1, 'billing:new': 1 });
    const { ticket } = await hotline.tickets.create({ queueId: queues.support.id, title: 'Another', article: { kind: 'note', text: '' } });
    await hotline.tickets.change(ticket.id, { state: 'open' }, 'system');
    await hotline.tickets.addArticle(ticket.id, { kind: 'note', text: 'touch only' });
    expect(await counts()).toEqual({ 'support:new': 1, 'support:open': 1, 'billing:new': 1 });
    await hotline.tickets.change(ticket.id, { queueId: queues.billing.id, state: 'closed' }, 'system');
    expect(await counts()).toEqual({ 'support:new': 1, 'billing:new': 1, 'billing:closed': 1 });
    // The page shows the same figures.
    const root = await w.login('root');
    expect((await root.get('/queues')).body).toMatch(/state=closed">1<\/a>/);
  });

  it('shows every change at once although an unchanged list is served from memory — also a change written by another process', async () => {
    const { hotline, queues, agents, customer, tickets } = w;
    const alice = await w.login('alice');
    const row = async () => {
      const body = (await alice.get('/tickets')).body;
      return /<tr>\s*<td><a href="\/tickets\/(\d+)">[^<]*<\/a><\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>/.exec(body)?.slice(1, 7) ?? [];
    };
    expect(await row()).toEqual([tickets.support.ttn, 'Printer on fire', 'new', 'Support', '-', 'Carl Customer']);
    expect(await row()).toEqual([tickets.support.ttn, 'Printer on fire', 'new', 'Support', '-', 'Carl Customer']);
    // Another process on the same file (the CLI, a second Hotline, a script): its own connection.
    const other = new Database(hotline.config.database);
    try {
      other.pragma('busy_timeout = 2000');
      other.prepare('UPDATE tickets SET title = ? WHERE id = ?').run('Printer still on fire', tickets.support.id);
      expect((await row())[1]).toBe('Printer still on fire');
      other.prepare('UPDATE tickets SET owner_id = ?, state = ? WHERE id = ?').run(agents.alice.id, 'open', tickets.support.id);
      expect((await row()).slice(2, 5)).toEqual(['open', 'Support', 'Alice']);
      other.prepare('UPDATE agents SET name = ? WHERE id = ?').run('Alice A.', agents.alice.id);
      expect((await row())[4]).toBe('Alice A.');
      other.prepare('UPDATE queues SET name = ? WHERE id = ?').run('First line', queues.support.id);
      expect((await row())[3]).toBe('First line');
      other.prepare('UPDATE customers SET name = ? WHERE id = ?').run('Carl C.', customer.id);
      expect((await row())[5]).toBe('Carl C.');
      other.prepare("INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES ('9100000001', 'Brand new', ?, 'new', 3, ?, ?)").run(queues.support.id, '2999-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z');
      expect((await row()).slice(0, 2)).toEqual(['9100000001', 'Brand new']);
      other.prepare('DELETE FROM tickets WHERE ttn = ?').run('9100000001');
      expect((await row())[0]).toBe(tickets.support.ttn);
    } finally {
      other.close();
    }
    // And through the service, on the page's own connection.
    await hotline.tickets.change(tickets.support.id, { state: 'closed' }, 'system');
    expect(await row()).toEqual([]);
  });

  it('pages the API with a Link header and checks limit', async () => {
    insertTickets(w.queues.support.id, 30);
    const alice = await w.login('alice');
    const seen: string[] = [];
    let url: string | null = '/api/v1/tickets?limit=12';
    while (url) {
      const res = await alice.get(url);
      expect(res.statusCode).toBe(200);
      seen.push(...(res.json() as Array<{ ttn: string; queueName: string }>).map((t) => t.ttn));
      url = /^<([^>]+)>; rel="next"$/.exec(String(res.headers.link ?? ''))?.[1] ?? null;
    }
    expect(seen).toHaveLength(31);
    expect(new Set(seen).size).toBe(31);
    for (const bad of ['limit=-1', 'limit=0', 'limit=501', 'limit=1e3', 'offset=20', 'before=x']) {
      const res = await alice.get(`/api/v1/tickets?${bad}`);
      expect(res.statusCode, bad).toBe(400);
    }
  });
});
