import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TicketState } from '../../src/core/types.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness, pathOf } from '../helpers/web.js';

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
    // The pages say where they are, and offer the way back.
    const first = await alice.get(`/tickets?queue=${w.queues.support.id}`);
    expect(first.body).toContain('Tickets 1–50 of 121');
    expect(first.body).not.toContain('rel="prev"');
    const nextLink = /<a href="([^"]+)" rel="next">/.exec(first.body)![1]!.replaceAll('&amp;', '&');
    const second = await alice.get(nextLink);
    expect(second.body).toContain('Tickets 51–100 of 121');
    expect(second.body).toContain('First</a>');
    const back = await alice.get(/<a href="([^"]+)" rel="prev">/.exec(second.body)![1]!.replaceAll('&amp;', '&'));
    expect([...back.body.matchAll(/<td><a href="\/tickets\/(\d+)">/g)].map((m) => m[1])).toEqual(pages[0]);
    expect(back.body).toContain('Tickets 1–50 of 121');
    const last = await alice.get(/<a href="([^"]+)">Last/.exec(first.body)![1]!.replaceAll('&amp;', '&'));
    expect([...last.body.matchAll(/<td><a href="\/tickets\/(\d+)">/g)].map((m) => m[1])).toEqual(all.slice(-50));
    expect(last.body).toContain('Tickets 72–121 of 121');
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
    const res = await alice.get('/tickets?after=yesterday');
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
      return /<tr>\s*<td><input[^>]*><\/td>\s*<td><a href="\/tickets\/(\d+)">[^<]*<\/a><\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>/.exec(body)?.slice(1, 8) ?? [];
    };
    expect(await row()).toEqual([tickets.support.ttn, 'Printer on fire', 'new', '3', 'Support', '-', 'Carl Customer']);
    expect(await row()).toEqual([tickets.support.ttn, 'Printer on fire', 'new', '3', 'Support', '-', 'Carl Customer']);
    // Another process on the same file (the CLI, a second Hotline, a script): its own connection.
    const other = new Database(hotline.config.database);
    try {
      other.pragma('busy_timeout = 2000');
      other.prepare('UPDATE tickets SET title = ? WHERE id = ?').run('Printer still on fire', tickets.support.id);
      expect((await row())[1]).toBe('Printer still on fire');
      other.prepare('UPDATE tickets SET owner_id = ?, state = ? WHERE id = ?').run(agents.alice.id, 'open', tickets.support.id);
      expect((await row()).slice(2, 6)).toEqual(['open', '3', 'Support', 'Alice']);
      other.prepare('UPDATE agents SET name = ? WHERE id = ?').run('Alice A.', agents.alice.id);
      expect((await row())[5]).toBe('Alice A.');
      other.prepare('UPDATE queues SET name = ? WHERE id = ?').run('First line', queues.support.id);
      expect((await row())[4]).toBe('First line');
      other.prepare('UPDATE customers SET name = ? WHERE id = ?').run('Carl C.', customer.id);
      expect((await row())[6]).toBe('Carl C.');
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
      expect(res.headers['x-total-count']).toBe('31');
      url = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1] ?? null;
    }
    expect(seen).toHaveLength(31);
    expect(new Set(seen).size).toBe(31);
    for (const bad of ['limit=-1', 'limit=0', 'limit=501', 'limit=1e3', 'offset=20', 'before=x', 'after=x', 'sort=age', 'direction=up', `after=${Buffer.from('[1,2,3]').toString('base64url')}`]) {
      const res = await alice.get(`/api/v1/tickets?${bad}`);
      expect(res.statusCode, bad).toBe(400);
    }
  });
});

describe('sorting, filters, totals', () => {
  /** 90 tickets with many ties: 3 priorities, 3 states, 3 owners (one nobody), creation and update times shared by several. */
  function insertVaried() {
    const { support } = w.queues;
    const owners = [w.agents.alice.id, null, w.agents.admin.id];
    const insert = w.hotline.db.prepare(
      'INSERT INTO tickets (ttn, title, queue_id, state, priority, owner_id, created_at, updated_at) VALUES (@ttn, @title, @queueId, @state, @priority, @ownerId, @createdAt, @updatedAt)',
    );
    w.hotline.db.transaction(() => {
      for (let i = 0; i < 90; i++) {
        const at = (minutes: number) => new Date(Date.UTC(2025, 0, 1) + minutes * 60_000).toISOString();
        insert.run({
          ttn: `7${String((i * 37) % 90).padStart(5, '0')}`,
          title: `Varied ${i}`,
          queueId: support.id,
          state: ['new', 'open', 'pending'][i % 3],
          priority: [1, 3, 5][Math.floor(i / 3) % 3],
          ownerId: owners[Math.floor(i / 9) % 3],
          createdAt: at(Math.floor(i / 4)),
          updatedAt: at(100 + Math.floor(i / 5)),
        });
      }
    })();
  }

  async function walk(agent: Awaited<ReturnType<WebHarness['login']>>, url: string, rel: 'next' | 'prev') {
    const seen: string[][] = [];
    let next: string | null = url;
    while (next) {
      const res = await agent.get(next);
      expect(res.statusCode, next).toBe(200);
      seen.push([...res.body.matchAll(/<td><a href="\/tickets\/(\d+)">/g)].map((m) => m[1]!));
      next = new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(res.body)?.[1]?.replaceAll('&amp;', '&') ?? null;
      expect(seen.length).toBeLessThan(10);
    }
    return rel === 'next' ? seen.flat() : seen.reverse().flat();
  }

  it('sorts by each column both ways, each ticket once, forward from the first page and back from the last', async () => {
    insertVaried();
    const root = await w.login('root');
    const owner = "coalesce((SELECT name FROM agents WHERE id = t.owner_id), '')";
    const rank = "CASE t.state WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3 ELSE 4 END";
    const orders: Record<string, string[]> = { updated: ['t.updated_at'], created: ['t.created_at'], ttn: ['t.ttn'], priority: ['t.priority', 't.updated_at'], state: [rank, 't.updated_at'], owner: [owner, 't.updated_at'] };
    for (const [sort, columns] of Object.entries(orders)) {
      for (const dir of ['asc', 'desc']) {
        const expected = w.hotline.db
          .prepare(`SELECT ttn FROM tickets t WHERE queue_id = ? AND state <> 'closed' ORDER BY ${[...columns, 't.id'].map((c) => `${c} ${dir}`).join(', ')}`)
          .pluck()
          .all(w.queues.support.id);
        const url = `/tickets?queue=${w.queues.support.id}&sort=${sort}&dir=${dir}`;
        expect(await walk(root, url, 'next'), `${sort} ${dir}`).toEqual(expected);
        const last = /<a href="([^"]+)">Last/.exec((await root.get(url)).body)![1]!.replaceAll('&amp;', '&');
        expect(await walk(root, last, 'prev'), `${sort} ${dir} backwards`).toEqual(expected);
      }
    }
    // The heading of the sorted column says so, and links to the other direction.
    const page = (await root.get(`/tickets?queue=${w.queues.support.id}&sort=priority&dir=desc`)).body;
    expect(page).toMatch(/<th aria-sort="descending"><a href="\/tickets\?[^"]*sort=priority&amp;dir=asc">Priority ▼<\/a><\/th>/);
  });

  it('gives the total of every filter, and a search says it looks in all states', async () => {
    insertVaried();
    const root = await w.login('root');
    const alice = await w.login('alice');
    const total = async (agent: typeof root, url: string) => {
      const body = (await agent.get(url)).body;
      return Number(/ of (\d+)<\/p>|<p class="list-count" role="status">(\d+) tickets/.exec(body)?.slice(1).find(Boolean) ?? (body.includes('No tickets.') ? 0 : NaN));
    };
    const count = (where: string, ...args: unknown[]) => w.hotline.db.prepare(`SELECT count(*) FROM tickets WHERE ${where}`).pluck().get(...args) as number;
    expect(await total(root, '/tickets')).toBe(count("state <> 'closed'"));
    expect(await total(root, '/tickets?owner=none')).toBe(count("owner_id IS NULL AND state <> 'closed'"));
    expect(await total(alice, '/tickets?owner=me')).toBe(count("owner_id = ? AND state <> 'closed'", w.agents.alice.id));
    expect(await total(root, '/tickets?priority=5&state=pending')).toBe(count("priority = 5 AND state = 'pending'"));
    expect(await total(root, `/tickets?owner=${w.agents.admin.id}&state=all`)).toBe(count('owner_id = ?', w.agents.admin.id));
    expect(await total(root, '/tickets?q=Varied 1')).toBe(count("title LIKE 'Varied 1%'"));
    // Bob sees Billing only: its one ticket, whatever Support holds.
    expect(await total(await w.login('bob'), '/tickets?state=all')).toBe(1);
    // A closed ticket found by a search: the state filter says "all", not "open ones".
    await w.hotline.tickets.change(w.tickets.support.id, { state: 'closed' }, 'system');
    const found = (await root.get('/tickets?q=Printer')).body;
    expect(found).toMatch(/<option value="all" selected>all<\/option>/);
    expect(found).not.toMatch(/value="open-ones" selected/);
    expect(found).toContain(`/tickets/${w.tickets.support.ttn}`);
  });

  it('changes the selected tickets at once, each with the agent\'s own rights, and says which were refused and why', async () => {
    const { hotline, queues, agents, tickets } = w;
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await hotline.tickets.create({ queueId: queues.support.id, title: `Bulk ${i}`, article: { kind: 'note', text: '' } })).ticket);
    const alice = await w.login('alice');
    const list = (await alice.get('/tickets')).body;
    expect(list).toContain('name="ttn" value="' + made[0]!.ttn + '"');
    const send = (payload: string) => w.server.inject({ method: 'POST', url: '/tickets/bulk', headers: { cookie: alice.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload });
    const ttns = [...made.map((t) => t.ttn), tickets.billing.ttn].map((t) => `ttn=${t}`).join('&');
    const res = await send(`_csrf=${alice.csrf}&${ttns}&state=pending&priority=5&ownerId=${agents.alice.id}&back=${encodeURIComponent('/tickets?state=all')}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('3 tickets changed, 1 not.');
    expect(res.body).toContain(`${tickets.billing.ttn}</a>: no ticket ${tickets.billing.ttn}`);
    expect(res.body).toContain('href="/tickets?state=all"');
    for (const t of made) expect(await hotline.tickets.findById(t.id)).toMatchObject({ state: 'pending', priority: 5, ownerId: agents.alice.id });
    expect((await hotline.tickets.findById(tickets.billing.id))!.state).toBe('new');
    // An owner who cannot see Support is refused for each ticket, nothing changed.
    const owner = await send(`_csrf=${alice.csrf}&${made.map((t) => `ttn=${t.ttn}`).join('&')}&ownerId=${agents.bob.id}`);
    expect(owner.body).toContain('0 tickets changed, 3 not.');
    expect(owner.body).toContain(`cannot see queue &quot;Support&quot;`);
    // Bob reads Billing only: refused as read-only.
    const bob = await w.login('bob');
    const ro = await w.server.inject({ method: 'POST', url: '/tickets/bulk', headers: { cookie: bob.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${bob.csrf}&ttn=${tickets.billing.ttn}&state=closed` });
    expect(ro.body).toContain('read-only access');
    // Nothing chosen, nothing selected, a forged form: no change.
    expect((await send(`_csrf=${alice.csrf}&${ttns}`)).statusCode).toBe(400);
    expect((await send(`_csrf=${alice.csrf}&state=open`)).statusCode).toBe(400);
    expect((await send(`${ttns}&state=open`)).statusCode).toBe(403);
    // A back link elsewhere is not followed.
    expect((await send(`_csrf=${alice.csrf}&ttn=${made[0]!.ttn}&state=open&back=${encodeURIComponent('https://evil.example/')}`)).body).toContain('href="/tickets"');
  });

  it('saves a filter by name for its agent only, lists it, and deletes it', async () => {
    const alice = await w.login('alice');
    const bob = await w.login('bob');
    const saved = await alice.post('/filters', { name: 'Urgent pending', query: 'state=pending&priority=5&sort=created&dir=asc&after=abc&junk=1' });
    expect(saved.statusCode).toBe(303);
    expect(pathOf(saved.headers.location)).toBe('/tickets?state=pending&priority=5&sort=created&dir=asc&done=filter-saved');
    const queues = (await alice.get('/queues')).body;
    expect(queues).toContain('<a href="/tickets?state=pending&amp;priority=5&amp;sort=created&amp;dir=asc">Urgent pending</a>');
    expect((await alice.get('/tickets')).body).toContain('>Urgent pending</a>');
    expect((await bob.get('/queues')).body).not.toContain('Urgent pending');
    const id = /action="\/filters\/(\d+)\/delete"/.exec(queues)![1]!;
    expect((await bob.post(`/filters/${id}/delete`)).statusCode).toBe(404);
    expect((await alice.post('/filters', { name: 'Bad', query: 'state=nope' })).statusCode).toBe(400);
    expect((await alice.post(`/filters/${id}/delete`)).statusCode).toBe(303);
    expect((await alice.get('/queues')).body).not.toContain('Urgent pending');
  });

  it('sorts and totals the API, with links to the previous, first and last pages', async () => {
    insertVaried();
    const root = await w.login('root');
    const first = await root.get('/api/v1/tickets?limit=20&sort=priority&direction=desc&state=open-ones');
    expect(first.headers['x-total-count']).toBe('92');
    const items = first.json() as Array<{ priority: number }>;
    expect(items[0]!.priority).toBe(5);
    const link = String(first.headers.link);
    expect(link).toMatch(/rel="next"/);
    expect(link).toMatch(/rel="last"/);
    expect(link).not.toMatch(/rel="prev"/);
    const next = await root.get(/<([^>]+)>; rel="next"/.exec(link)![1]!);
    expect(String(next.headers.link)).toMatch(/rel="prev"/);
    const last = await root.get(/<([^>]+)>; rel="last"/.exec(link)![1]!);
    expect((last.json() as unknown[]).length).toBe(20);
    expect((last.json() as Array<{ priority: number }>).at(-1)!.priority).toBe(1);
  });
});

describe('admin lists', () => {
  /** Follows rel="next" from `url`, returning the rows' first cells and the count lines seen. */
  async function walkNumbered(agent: Awaited<ReturnType<WebHarness['login']>>, url: string, cell: RegExp) {
    const rows: string[] = [];
    const counts: string[] = [];
    let next: string | null = url;
    while (next) {
      const body: string = (await agent.get(next)).body;
      counts.push(/<p class="list-count" role="status">([^<]*)</.exec(body)?.[1] ?? '');
      rows.push(...[...body.matchAll(cell)].map((m) => m[1]!));
      next = /<a href="([^"]+)" rel="next">/.exec(body)?.[1]?.replaceAll('&amp;', '&') ?? null;
      expect(counts.length).toBeLessThan(20);
    }
    return { rows, counts };
  }

  it('pages customers (all 500, and a search), and agents, with their totals: nothing left out', async () => {
    const insert = w.hotline.db.prepare("INSERT INTO customers (name, created_at) VALUES (?, '2025-01-01T00:00:00.000Z')");
    w.hotline.db.transaction(() => {
      for (let i = 0; i < 499; i++) insert.run(`Kunde ${String(i).padStart(3, '0')}`);
    })();
    const agent = w.hotline.db.prepare("INSERT INTO agents (login, name, password_hash, created_at) VALUES (?, ?, 'x', '2025-01-01T00:00:00.000Z')");
    for (let i = 0; i < 60; i++) agent.run(`agent${i}`, `Agent ${i}`);
    const root = await w.login('root');
    const customers = await walkNumbered(root, '/admin/customers', /<tr><td>([^<]*)<\/td>/g);
    expect(customers.rows).toHaveLength(500);
    expect(new Set(customers.rows).size).toBe(500);
    expect(customers.counts[0]).toBe('Customers 1–50 of 500 (page 1 of 10)');
    expect(customers.counts.at(-1)).toBe('Customers 451–500 of 500 (page 10 of 10)');
    const some = await walkNumbered(root, '/admin/customers?q=Kunde%201', /<tr><td>([^<]*)<\/td>/g);
    expect(some.rows).toHaveLength(100);
    expect(some.counts[0]).toBe('Customers 1–50 of 100 (page 1 of 2)');
    const agents = await walkNumbered(root, '/admin/agents', /<tr><td><a href="\/admin\/agents\/\d+">([^<]*)<\/a>/g);
    expect(agents.rows).toHaveLength(64);
    expect(agents.counts[0]).toBe('Agents 1–50 of 64 (page 1 of 2)');
    expect((await root.get('/admin/customers?page=abc')).statusCode).toBe(400);
    // Past the end: the last page.
    expect((await root.get('/admin/customers?page=99')).body).toContain('Customers 451–500 of 500');
  });
});
