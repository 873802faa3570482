import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DuplicateTtnError } from '../../src/core/errors.js';
import { createLoginLimiter, TooManyAttemptsError } from '../../src/core/login-limiter.js';
import type { ListCursor } from '../../src/core/ports.js';
import { sortKeyOf, TICKET_SORTS } from '../../src/core/ports.js';
import { createAgentRepository } from '../../src/storage/agent-repository.js';
import { cachedAgentStore, cachedApiTokenStore, cachedQueueStore, cachedSessionStore, cachedSettingsStore } from '../../src/storage/cached-stores.js';
import { listenForChanges } from '../../src/storage/change-feed.js';
import { createAttachmentRepository } from '../../src/storage/attachment-repository.js';
import { createCustomerRepository } from '../../src/storage/customer-repository.js';
import { createLoginFailureRepository } from '../../src/storage/login-failure-repository.js';
import type { FilingPlan, FilingResult } from '../../src/storage/mail-repository.js';
import { createMailRepository } from '../../src/storage/mail-repository.js';
import { createNoticeRepository } from '../../src/storage/notice-repository.js';
import { createCannedAnswerRepository, createDraftRepository } from '../../src/storage/reply-repository.js';
import { createTextOverrideRepository } from '../../src/storage/text-repository.js';
import { createTicketRepository } from '../../src/storage/ticket-repository.js';
import { createCallRepository } from '../../src/storage/call-repository.js';
import { loadMigrations, openDatabase } from '../../src/storage/database.js';
import type { Sql } from '../../src/storage/engine.js';
import { sqliteEngine } from '../../src/storage/engine.js';
import { createLeaseRepository } from '../../src/storage/lease-repository.js';
import { createPopStateRepository } from '../../src/storage/pop-repository.js';
import { loadPostgresMigrations, migratePostgres, openPostgres } from '../../src/storage/postgres.js';
import { createQueueRepository } from '../../src/storage/queue-repository.js';
import { createSavedFilterRepository } from '../../src/storage/saved-filter-repository.js';
import { createApiTokenRepository, createSessionRepository } from '../../src/storage/session-repository.js';
import { createCounterRepository, createSettingsRepository } from '../../src/storage/settings-repository.js';
import { tempDir } from '../helpers/hotline.js';
import { postgresAvailable, postgresForFile } from '../helpers/postgres.js';

/**
 * One contract for the repositories, run against both engines: the SQLite file and PostgreSQL 15
 * (Debian's, started here in a temp dir on a free port). Each test gets a new database.
 */
const server = postgresForFile('storage contract: PostgreSQL 15 is not installed (apt-get install postgresql-15; .ci/run does) — its half of the contract is SKIPPED');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const engines: Array<[string, () => Promise<Sql>]> = [
  [
    'sqlite',
    async () => {
      const { dir, cleanup } = tempDir('hl-contract-');
      const db = openDatabase(join(dir, 'hotline.db'));
      cleanups.push(cleanup, () => void db.close());
      return sqliteEngine(db);
    },
  ],
  [
    'postgres',
    async () => {
      const engine = await openPostgres(await server()!.createDatabase());
      cleanups.push(() => engine.close());
      return engine;
    },
  ],
];

const NOW = '2026-12-05T10:00:00.000Z';

async function world(db: Sql) {
  const agents = createAgentRepository(db);
  const queues = createQueueRepository(db);
  const admin = await agents.create({ login: 'Admin', name: 'Ada Admin', passwordHash: 'x', role: 'admin' }, NOW);
  const anna = await agents.create({ login: 'anna', name: 'Anna', passwordHash: 'x', role: 'agent', dialString: 'PJSIP/201' }, NOW);
  const bob = await agents.create({ login: 'bob', name: 'Bob', passwordHash: 'x', role: 'agent' }, NOW);
  const first = await queues.create({ name: 'First level', email: 'Help@Example.com', isDefault: true }, NOW);
  const billing = await queues.create({ name: 'Billing' }, NOW);
  await queues.setAccess(anna.id, first.id, 'rw');
  await queues.setAccess(bob.id, billing.id, 'ro');
  return { agents, queues, admin, anna, bob, first, billing };
}

describe.each(engines)('repositories on %s', (engine, open) => {
  const maybe = engine === 'postgres' && !postgresAvailable() ? it.skip : it;

  maybe('settings keep JSON by key; counters count once per call, also all at once', async () => {
    const db = await open();
    const settings = createSettingsRepository(db);
    expect(await settings.get('ttn')).toBeUndefined();
    await settings.set('ttn', { prefix: 'HL', digits: 6 });
    await settings.set('ttn', { prefix: 'TT', digits: 7 });
    expect(await settings.get('ttn')).toEqual({ prefix: 'TT', digits: 7 });
    const counters = createCounterRepository(db);
    const values = await Promise.all(Array.from({ length: 50 }, () => counters.next('day:20261205')));
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await counters.next('day:20261206')).toBe(1);
  });

  maybe('leases: one holder at a time, taken over once expired, listed while alive', async () => {
    const db = await open();
    const leases = createLeaseRepository(db);
    const takes = await Promise.all(['a', 'b', 'c'].map((holder) => leases.take('outbox', holder, 1000, 31_000)));
    expect(takes.filter(Boolean)).toHaveLength(1);
    const holder = ['a', 'b', 'c'][takes.indexOf(true)]!;
    const other = holder === 'a' ? 'b' : 'a';
    expect(await leases.take('outbox', holder, 2000, 32_000)).toBe(true);
    expect(await leases.take('outbox', other, 31_999, 61_999)).toBe(false);
    expect(await leases.take('outbox', other, 32_000, 62_000)).toBe(true);
    await leases.take('instance:x', 'x', 1000, 5000);
    await leases.take('instance:y', 'y', 1000, 9000);
    expect(await leases.live('instance:', 6000)).toEqual([{ name: 'instance:y', holder: 'y', expiresAt: 9000 }]);
    await leases.release('outbox', holder);
    expect((await leases.live('outbox', 40_000))[0]?.holder).toBe(other);
    await leases.release('outbox', other);
    expect(await leases.live('outbox', 40_000)).toEqual([]);
  });

  maybe('agents: logins found whatever their case, changes returned, admins counted', async () => {
    const db = await open();
    const { agents, anna } = await world(db);
    expect((await agents.findByLogin('ADMIN'))?.name).toBe('Ada Admin');
    expect((await agents.findByLogin('Anna'))?.id).toBe(anna.id);
    await expect(agents.create({ login: 'ANNA', name: 'Other', passwordHash: 'x', role: 'agent' }, NOW)).rejects.toThrow();
    expect(anna).toMatchObject({ deviceInterface: 'PJSIP/201', active: true, away: false, language: 'en' });
    const changed = await agents.update(anna.id, { away: true, timeZone: 'Europe/Vienna', language: 'de' });
    expect(changed).toMatchObject({ away: true, timeZone: 'Europe/Vienna', language: 'de' });
    expect(await agents.passwordHash(anna.id)).toBe('x');
    expect((await agents.list()).map((a) => a.login)).toEqual(['Admin', 'anna', 'bob']);
    expect(await agents.countAdmins()).toBe(1);
    await expect(agents.update(9999, { name: 'nobody' })).rejects.toThrow(/no agent/);
  });

  maybe('queues: one default, found by address whatever its case, access per agent (admins everywhere)', async () => {
    const db = await open();
    const { queues, admin, anna, bob, first, billing } = await world(db);
    expect((await queues.findDefault())?.id).toBe(first.id);
    expect((await queues.findByEmail('help@example.COM'))?.id).toBe(first.id);
    expect((await queues.findByName('billing'))?.id).toBe(billing.id);
    // Made default at once from two sides: still exactly one default queue.
    await Promise.all([queues.update(billing.id, { isDefault: true }), ...Array.from({ length: 8 }, (_, i) => queues.create({ name: `Night ${i}`, isDefault: true }, NOW))]);
    expect((await queues.list()).filter((x) => x.isDefault)).toHaveLength(1);
    expect(await queues.access(anna.id, first.id)).toBe('rw');
    expect(await queues.access(anna.id, billing.id)).toBeNull();
    expect(await queues.access(admin.id, billing.id)).toBe('rw');
    expect(await queues.access(bob.id, 9999)).toBeNull();
    expect((await queues.visible(bob.id)).map((x) => [x.name, x.access])).toEqual([['Billing', 'ro']]);
    expect(await queues.agentsSeeing([first.id])).toEqual([admin.id, anna.id]);
    await queues.setAccess(bob.id, billing.id, 'rw');
    expect(await queues.access(bob.id, billing.id)).toBe('rw');
    await queues.setAccess(bob.id, billing.id, null);
    expect(await queues.visible(bob.id)).toEqual([]);
    const renamed = await queues.update(billing.id, { autoReply: { en: 'Thanks', de: 'Danke' }, reopenPolicy: 'new-ticket' });
    expect(renamed).toMatchObject({ autoReply: { en: 'Thanks', de: 'Danke' }, reopenPolicy: 'new-ticket' });
  });

  maybe('sessions, API tokens and saved filters', async () => {
    const db = await open();
    const { anna } = await world(db);
    const sessions = createSessionRepository(db);
    await sessions.create('h1', { agentId: anna.id, csrfToken: 'c', expiresAt: '2026-12-06T00:00:00.000Z' }, NOW);
    await sessions.create('h2', { agentId: anna.id, csrfToken: 'd', expiresAt: '2026-12-04T00:00:00.000Z' }, NOW);
    await sessions.deleteExpired(NOW);
    expect(await sessions.find('h1')).toEqual({ agentId: anna.id, csrfToken: 'c', expiresAt: '2026-12-06T00:00:00.000Z' });
    expect(await sessions.find('h2')).toBeNull();
    await sessions.deleteForAgent(anna.id);
    expect(await sessions.find('h1')).toBeNull();
    const tokens = createApiTokenRepository(db);
    const { id } = await tokens.create(anna.id, { name: 'crm', tokenHash: 't1', scope: 'ro', expiresAt: null }, NOW);
    await tokens.touch(id, NOW);
    expect(await tokens.find('t1')).toEqual({ id, agentId: anna.id, scope: 'ro', expiresAt: null, lastUsedAt: NOW });
    expect(await tokens.list(anna.id)).toEqual([{ id, name: 'crm', scope: 'ro', createdAt: NOW, lastUsedAt: NOW, expiresAt: null }]);
    const filters = createSavedFilterRepository(db);
    await filters.save(anna.id, 'open', 'state=open', NOW);
    const replaced = await filters.save(anna.id, 'open', 'state=any-open', NOW);
    await filters.save(anna.id, 'Mine', 'owner=me', NOW);
    expect(await filters.list(anna.id)).toEqual([
      { id: expect.any(Number), name: 'Mine', query: 'owner=me' },
      { id: replaced.id, name: 'open', query: 'state=any-open' },
    ]);
    expect(await filters.remove(replaced.id, anna.id + 1)).toBe(false);
    expect(await filters.remove(replaced.id, anna.id)).toBe(true);
  });

  maybe('calls: created once per channel, ended once, lost calls adopted by one instance, logs per permission', async () => {
    const db = await open();
    const { anna, bob, admin, first, billing } = await world(db);
    const calls = createCallRepository(db);
    const started = { callerNumber: '+4930123', callerName: 'Carla', language: 'de', startedAt: NOW, instance: 'a' };
    const [c1, again] = await Promise.all([calls.create({ channelId: 'ch-1', ...started }), calls.create({ channelId: 'ch-1', ...started })]);
    expect(again.id).toBe(c1.id);
    const routed = await calls.update(c1.id, { route: 'queue', queueId: first.id, agentsRung: [anna.id], unverified: true, digits: '123' });
    expect(routed).toMatchObject({ route: 'queue', queueId: first.id, agentsRung: [anna.id], unverified: true, direction: 'in', instance: 'a' });
    expect((await calls.findByChannel('ch-1'))?.id).toBe(c1.id);
    // Rung and answered in one statement each: an agent is listed once, however often rung; the first answer counts.
    expect((await calls.rang(c1.id, bob.id))?.agentsRung).toEqual([anna.id, bob.id]);
    expect((await calls.rang(c1.id, bob.id))?.agentsRung).toEqual([anna.id, bob.id]);
    const answers = await Promise.all([calls.answeredBy(c1.id, bob.id, NOW), calls.answeredBy(c1.id, admin.id, NOW)]);
    expect(answers.filter(Boolean)).toHaveLength(1);
    const winner = answers.find(Boolean)!;
    expect(winner).toMatchObject({ answeredAt: NOW, outcome: 'answered' });
    expect(winner.agentsRung).toEqual(winner.answeredBy === bob.id ? [anna.id, bob.id] : [anna.id, bob.id, admin.id]);
    expect(await calls.rang(999_999, bob.id)).toBeNull();
    await calls.update(c1.id, { answeredBy: null, answeredAt: null, outcome: null, agentsRung: [anna.id] });
    // Ended from two instances at once: one closes it.
    const ends = await Promise.all([calls.end(c1.id, NOW), calls.end(c1.id, NOW)]);
    expect(ends.filter(Boolean)).toHaveLength(1);
    expect(ends.find(Boolean)?.outcome).toBe('abandoned');

    // A call of instance b, which is not alive: lost; adopted by exactly one of two survivors.
    const c2 = await calls.create({ channelId: 'ch-2', ...started, instance: 'b', startedAt: '2026-12-05T10:01:00.000Z' });
    await calls.update(c2.id, { queueId: billing.id, route: 'queue' });
    const leases = createLeaseRepository(db);
    await leases.take('instance:a', 'a', 1000, 60_000);
    await leases.take('instance:c', 'c', 1000, 60_000);
    expect((await calls.lost('a', 2000)).map((c) => c.id)).toEqual([c2.id]);
    const adopted = await Promise.all([calls.adopt(c2.id, 'b', 'a'), calls.adopt(c2.id, 'b', 'c')]);
    expect(adopted.filter(Boolean)).toHaveLength(1);
    expect(await calls.lost('a', 2000)).toEqual([]);
    expect((await calls.open()).map((c) => c.id)).toEqual([c2.id]);

    // The caller log: Anna sees her queue's call (she was rung; missed), Bob his, the admin both.
    const page = { limit: 50, offset: 0 };
    expect((await calls.log(anna.id, page)).map((c) => [c.id, c.queueName, c.seen])).toEqual([[c1.id, 'First level', false]]);
    expect((await calls.log(anna.id, { ...page, mine: true, missed: true })).map((c) => c.id)).toEqual([c1.id]);
    await createQueueRepository(db).setAccess(bob.id, billing.id, 'ro');
    expect((await calls.log(bob.id, page)).map((c) => c.id)).toEqual([c2.id]);
    expect((await calls.log(admin.id, page)).map((c) => c.id)).toEqual([c2.id, c1.id]);
    expect(await calls.countLog(admin.id, {})).toEqual({ total: 2, unseen: 2 });
    await calls.markSeen(admin.id, { ids: [c1.id, c1.id] });
    expect(await calls.countLog(admin.id, {})).toEqual({ total: 2, unseen: 1 });
    await calls.markSeen(admin.id, { until: '2026-12-05T10:02:00.000Z' });
    expect(await calls.countLog(admin.id, {})).toEqual({ total: 2, unseen: 0 });

    // A ticket is put on a call once.
    const ticket = await db.all(db.q.insertInto('tickets').values({ ttn: 'T1', title: 't', queue_id: first.id, created_at: NOW, updated_at: NOW }).returning('id'));
    const links = await Promise.all([calls.linkTicket(c2.id, ticket[0]!.id), calls.linkTicket(c2.id, ticket[0]!.id)]);
    expect(links.filter(Boolean)).toHaveLength(1);
    expect((await calls.forTicket(ticket[0]!.id)).map((c) => c.id)).toEqual([c2.id]);
    await expect(calls.update(9999, { digits: '1' })).rejects.toThrow(/no call/);
  });

  maybe('calls: ended with their article in one statement where the engine can, only while as the caller last wrote them', async () => {
    const db = await open();
    const { anna, bob, first } = await world(db);
    const calls = createCallRepository(db);
    // Only PostgreSQL has it (a round trip less a call); SQLite ends and adds the article apart, in-process.
    expect(typeof calls.endWithArticle).toBe(engine === 'postgres' ? 'function' : 'undefined');
    if (!calls.endWithArticle) return;
    const tickets = createTicketRepository(db);
    const { ticket } = await tickets.create({ ttn: 'E1', title: 'ends', queueId: first.id, state: 'new', priority: 3, ownerId: null, customerId: null, now: NOW, article: { kind: 'note', text: 'x' } });
    const start = async (channelId: string) => {
      const call = await calls.create({ channelId, callerNumber: '+4930123', callerName: null, language: 'en', startedAt: NOW });
      await calls.update(call.id, { ticketId: ticket.id, route: 'agent', queueId: first.id, digits: 'E1', unverified: true });
      return (await calls.rang(call.id, anna.id))!;
    };
    const at = '2026-12-05T10:05:00.000Z';

    // As last written: ended, its article on the ticket (the outcome from the end), the ticket touched.
    const one = await start('e-1');
    const answered = (await calls.answeredBy(one.id, anna.id, NOW))!;
    const done = await calls.endWithArticle(one.id, at, answered, 'Call from +4930123\nOutcome: ');
    expect(done?.call).toMatchObject({ id: one.id, endedAt: at, outcome: 'answered' });
    expect(done?.added?.article).toMatchObject({ ticketId: ticket.id, kind: 'call', from: '+4930123', subject: 'Call answered', text: 'Call from +4930123\nOutcome: answered', createdAt: at });
    expect(done?.added?.ticket).toMatchObject({ id: ticket.id, updatedAt: at });
    expect((await tickets.articles(ticket.id)).map((a) => a.kind)).toEqual(['note', 'call']);
    // Ended already: nothing more.
    expect(await calls.endWithArticle(one.id, at, done!.call, 'again ')).toBeNull();

    // Changed since (another agent was rung, in another process): nothing written, the call still open.
    const two = await start('e-2');
    await calls.rang(two.id, bob.id);
    expect(await calls.endWithArticle(two.id, at, two, 'stale ')).toBeNull();
    expect((await calls.findById(two.id))?.endedAt).toBeNull();
    expect(await tickets.articles(ticket.id)).toHaveLength(2);
    // Without a ticket: ended, no article.
    const three = await calls.create({ channelId: 'e-3', callerNumber: null, callerName: null, language: 'en', startedAt: NOW });
    expect(await calls.endWithArticle(three.id, at, three, 'none ')).toMatchObject({ call: { outcome: 'abandoned' }, added: null });
  });

  maybe('pop state: running calls an agent was rung for, dismissals kept until answered after them or ended', async () => {
    const db = await open();
    const { anna, bob } = await world(db);
    const calls = createCallRepository(db);
    const pops = createPopStateRepository(db);
    const at = (minute: number) => `2026-12-05T10:${String(minute).padStart(2, '0')}:00.000Z`;
    const c1 = await calls.create({ channelId: 'p-1', callerNumber: null, callerName: null, language: null, startedAt: NOW });
    const c2 = await calls.create({ channelId: 'p-2', callerNumber: null, callerName: null, language: null, startedAt: NOW });
    await calls.update(c1.id, { agentsRung: [bob.id, anna.id] });
    await calls.rang(c2.id, anna.id);
    expect((await pops.runningCallsOf(anna.id)).map((c) => c.id)).toEqual([c1.id, c2.id]);
    expect((await pops.runningCallsOf(bob.id)).map((c) => c.id)).toEqual([c1.id]);
    await pops.dismiss(anna.id, [c1.id, c2.id, c1.id], at(1));
    await pops.dismiss(bob.id, [c2.id], at(1));
    expect(await pops.dismissed(anna.id)).toEqual(new Set([c1.id, c2.id]));
    // Anna answers c2 after dismissing it: the pop is hers again; Bob's dismissal holds.
    await calls.answeredBy(c2.id, anna.id, at(2));
    expect(await pops.dismissed(anna.id)).toEqual(new Set([c1.id]));
    expect(await pops.dismissed(bob.id)).toEqual(new Set([c2.id]));
    // Dismissed again while talking: the later time counts.
    await pops.dismiss(anna.id, [c2.id], at(3));
    expect(await pops.dismissed(anna.id)).toEqual(new Set([c1.id, c2.id]));
    // An ended call's dismissals no longer count, and the sweep drops them (only them).
    await calls.end(c1.id, at(4));
    expect(await pops.dismissed(anna.id)).toEqual(new Set([c2.id]));
    expect(await pops.sweep()).toBe(1);
    expect(await pops.sweep()).toBe(0);
    expect(await db.all(db.q.selectFrom('pop_dismissals').select(['agent_id', 'call_id']).orderBy('agent_id'))).toHaveLength(2);
    // An ended call's pop cannot be dismissed (nothing to keep).
    await pops.dismiss(bob.id, [c1.id], at(5));
    expect(await pops.dismissed(bob.id)).toEqual(new Set([c2.id]));
  });

  maybe('customers: found by address whatever its case and by number, searched by any part, visible through their tickets', async () => {
    const db = await open();
    const { anna, bob, first } = await world(db);
    const customers = createCustomerRepository(db);
    const carla = await customers.create({ name: 'Carla Client', emails: ['Carla@Customer.example', 'c2@customer.example'], phones: ['+4930123456', '+4930123456'] }, NOW);
    expect(carla).toMatchObject({ emails: ['Carla@Customer.example', 'c2@customer.example'], phones: ['+4930123456'] });
    await customers.create({ name: 'Dora 100%_sure', phones: ['+4930999'] }, NOW);
    expect((await customers.findByEmail('carla@CUSTOMER.example'))?.id).toBe(carla.id);
    expect((await customers.findByPhone('+4930123456')).map((c) => c.name)).toEqual(['Carla Client']);
    expect((await customers.search('client', 10)).map((c) => c.name)).toEqual(['Carla Client']);
    expect((await customers.search('C2@', 10)).map((c) => c.name)).toEqual(['Carla Client']);
    expect((await customers.search('0%_', 10)).map((c) => c.name)).toEqual(['Dora 100%_sure']);
    expect(await customers.count('')).toBe(2);
    await customers.setLanguage(carla.id, 'de');
    await customers.addPhone(carla.id, '+4930777');
    expect(await customers.findById(carla.id)).toMatchObject({ language: 'de', phones: ['+4930123456', '+4930777'] });
    await db.run(db.q.insertInto('tickets').values({ ttn: 'C1', title: 't', queue_id: first.id, customer_id: carla.id, created_at: NOW, updated_at: NOW }));
    expect(await customers.visibleTo(carla.id, anna.id)).toBe(true);
    expect(await customers.visibleTo(carla.id, bob.id)).toBe(false);
  });

  maybe('tickets: created with history, a taken TTN refused, lists paged in every order over the agent’s queues only', async () => {
    const db = await open();
    const { anna, bob, first, billing } = await world(db);
    const tickets = createTicketRepository(db);
    const at = (i: number) => `2026-12-05T10:${String(i).padStart(2, '0')}:00.000Z`;
    const made = [];
    for (let i = 0; i < 12; i++) {
      const { ticket } = await tickets.create({ ttn: `T${100 + i}`, title: i === 3 ? 'Printer on fire' : `Ticket ${i}`, queueId: i % 3 === 0 ? billing.id : first.id, state: i % 4 === 0 ? 'closed' : 'new', priority: 1 + (i % 5), ownerId: i % 2 ? anna.id : null, customerId: null, now: at(i), article: { kind: 'note', text: i === 5 ? 'the toner smells' : 'x' } });
      made.push(ticket);
    }
    await expect(tickets.create({ ttn: 'T100', title: 'again', queueId: first.id, state: 'new', priority: 3, ownerId: null, customerId: null, now: at(30), article: { kind: 'note', text: 'x' } })).rejects.toBeInstanceOf(DuplicateTtnError);
    expect((await tickets.findByTtn('T105'))?.id).toBe(made[5]!.id);
    const changed = await tickets.update(made[1]!.id, { state: 'closed', ownerId: bob.id, queueId: billing.id }, at(40), { via: 'agent', agentId: anna.id });
    expect(changed).toMatchObject({ state: 'closed', closedAt: at(40), ownerId: bob.id, queueId: billing.id });
    expect((await tickets.history(made[1]!.id)).map((h) => [h.field, h.oldLabel, h.newLabel])).toEqual([
      ['created', null, 'First level'],
      ['state', 'new', 'closed'],
      ['owner', 'Anna', 'Bob'],
      ['queue', 'First level', 'Billing'],
    ]);
    // Anna sees the First level queue: 7 tickets (8 made there, one moved away).
    const all = await tickets.listVisible(anna.id, { limit: 500 });
    expect(all).toHaveLength(7);
    expect(all.every((t) => t.queueName === 'First level')).toBe(true);
    expect(await tickets.countMatching(anna.id, {})).toBe(7);
    expect(await tickets.countMatching(anna.id, { state: 'any-open' })).toBe(all.filter((t) => t.state !== 'closed').length);
    for (const sort of TICKET_SORTS) {
      for (const direction of ['asc', 'desc'] as const) {
        const whole = await tickets.listVisible(anna.id, { sort, direction, limit: 500 });
        const pages: number[] = [];
        let after: ListCursor | undefined;
        for (;;) {
          const page = await tickets.listVisible(anna.id, { sort, direction, limit: 3, after });
          pages.push(...page.map((t) => t.id));
          if (page.length < 3) break;
          const last = page.at(-1)!;
          after = { key: sortKeyOf(last, sort), id: last.id };
        }
        expect(pages, `${sort} ${direction}`).toEqual(whole.map((t) => t.id));
        const back = await tickets.listVisible(anna.id, { sort, direction, limit: 3, before: 'end' });
        expect(back.map((t) => t.id), `${sort} ${direction} last page`).toEqual(whole.slice(-3).map((t) => t.id));
      }
    }
    expect((await tickets.listVisible(anna.id, { search: 'printer' })).map((t) => t.ttn)).toEqual([]);
    expect((await tickets.listVisible(anna.id, { search: 'TONER' })).map((t) => t.ttn)).toEqual(['T105']);
    expect((await tickets.listVisible(anna.id, { search: 't10' })).map((t) => t.ttn).sort()).toEqual(['T102', 'T104', 'T105', 'T107', 'T108']);
    expect(await tickets.countMatching(anna.id, { search: 'toner' })).toBe(1);
    expect((await tickets.listAll({ search: 'printer' })).map((t) => t.ttn)).toEqual(['T103']);
    const counts = await tickets.countVisible(anna.id);
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(7);
    // A ticket's articles, newest first in short for a pop.
    await tickets.addArticle(made[5]!.id, { kind: 'email-in', from: 'carla@customer.example', subject: 'Re: toner', text: 'y'.repeat(1000) }, at(50));
    expect((await tickets.articles(made[5]!.id)).map((a) => a.kind)).toEqual(['note', 'email-in']);
    const [latest] = await tickets.latestArticles(made[5]!.id, 1);
    expect(latest).toMatchObject({ kind: 'email-in', from: 'carla@customer.example', subject: 'Re: toner' });
    expect(latest!.textStart).toHaveLength(400);
    // The ticket a caller keyed, read with those articles (one statement on PostgreSQL): the same
    // ticket and the same articles as read apart, a call's own record left out, in order.
    await tickets.addArticle(made[5]!.id, { kind: 'call', from: '+4930123', subject: 'Call answered', text: 'Call from +4930123' }, at(51));
    const forCall = await tickets.findForCall('T105', 3);
    expect(forCall?.ticket).toEqual(await tickets.findById(made[5]!.id));
    expect(forCall?.latest).toEqual(await tickets.latestArticles(made[5]!.id, 3));
    expect(forCall?.latest.map((a) => a.kind)).toEqual(['email-in', 'note']);
    expect((await tickets.findForCall('T105', 1))?.latest).toHaveLength(1);
    expect(await tickets.findForCall('T999', 3)).toBeNull();
  });

  maybe('tickets: a reminder due is woken once, however many instances look at once', async () => {
    const db = await open();
    const { first } = await world(db);
    const tickets = createTicketRepository(db);
    const { ticket } = await tickets.create({ ttn: 'W1', title: 'wait', queueId: first.id, state: 'pending', priority: 3, ownerId: null, customerId: null, now: NOW, article: { kind: 'note', text: 'x' } });
    await tickets.update(ticket.id, { pendingUntil: '2026-12-05T11:00:00.000Z' }, NOW, { via: 'system', agentId: null });
    const woken = await Promise.all(Array.from({ length: 5 }, () => tickets.wakeDue('2026-12-05T11:00:00.000Z', 10)));
    expect(woken.flat().map((w) => [w.before.state, w.ticket.state, w.ticket.pendingUntil])).toEqual([['pending', 'open', null]]);
  });

  maybe('notices, watchers, canned answers, draft files and attachments', async () => {
    const db = await open();
    const { anna, first, billing } = await world(db);
    const notices = createNoticeRepository(db);
    const [n1, n2] = await notices.add([
      { agentId: anna.id, kind: 'assigned', ticketId: null, text: 'one', mail: true },
      { agentId: anna.id, kind: 'reminder', ticketId: null, text: 'two', mail: false },
    ], NOW);
    expect(await notices.count(anna.id)).toEqual({ total: 2, unseen: 2 });
    expect((await notices.list(anna.id, 10, 0)).map((n) => n.text)).toEqual(['two', 'one']);
    expect((await notices.toMail(10)).map((n) => [n.text, n.agentName])).toEqual([['one', 'Anna']]);
    expect(await notices.markSeen(anna.id, { ids: [n1!.id] }, NOW)).toBe(1);
    expect(await notices.markSeen(anna.id, 'all', NOW)).toBe(1);
    expect((await notices.after(n1!.id, 10)).map((n) => n.id)).toEqual([n2!.id]);
    expect(await notices.newestId()).toBe(n2!.id);
    await notices.setWatched(anna.id, [billing.id, first.id, first.id]);
    expect(await notices.watched(anna.id)).toEqual([first.id, billing.id].sort((a, b) => a - b));
    expect(await notices.watchers(first.id)).toEqual([anna.id]);
    const canned = createCannedAnswerRepository(db);
    await canned.save({ queueId: null, name: 'thanks', body: 'Thank you' }, NOW);
    const hello = await canned.save({ queueId: first.id, name: 'Hello', body: 'Hi' }, NOW);
    await canned.save({ queueId: billing.id, name: 'Invoice', body: 'See invoice' }, NOW);
    expect((await canned.list(first.id)).map((c) => c.name)).toEqual(['Hello', 'thanks']);
    expect((await canned.list()).map((c) => c.name)).toEqual(['Hello', 'Invoice', 'thanks']);
    expect(await canned.save({ id: hello.id, queueId: first.id, name: 'Hello', body: 'Hello there' }, NOW)).toMatchObject({ id: hello.id, body: 'Hello there' });
    const { ticket, article } = await createTicketRepository(db).create({ ttn: 'F1', title: 'files', queueId: first.id, state: 'new', priority: 3, ownerId: null, customerId: null, now: NOW, article: { kind: 'note', text: 'x' } });
    const drafts = createDraftRepository(db);
    const bytes = Buffer.from([0, 1, 2, 255]);
    const draft = await drafts.add(anna.id, ticket.id, { filename: 'a.bin', contentType: 'application/octet-stream', content: bytes, size: 4 }, NOW);
    expect(await drafts.bytes(anna.id, ticket.id)).toBe(4);
    expect(await drafts.purgeOlderThan('2026-12-06T00:00:00.000Z')).toBe(1);
    expect(await drafts.remove(draft.id, anna.id)).toBe(false);
    const attachments = createAttachmentRepository(db);
    const file = await attachments.add(article.id, { filename: 'b.bin', contentType: 'application/octet-stream', content: bytes, sha256: 'abc', size: 4 });
    expect(await attachments.find(file.id)).toMatchObject({ filename: 'b.bin', ticketId: ticket.id, articleId: article.id, contentType: 'application/octet-stream' });
    expect((await attachments.content(file.id))?.equals(bytes)).toBe(true);
    expect((await attachments.forTicket(ticket.id)).map((a) => a.id)).toEqual([file.id]);
    const texts = createTextOverrideRepository(db);
    await texts.save('de', 'x', 'eins', NOW);
    await texts.save('de', 'x', 'zwei', NOW);
    await texts.save('en', 'y', 'one', NOW);
    await texts.save('en', 'y', '', NOW);
    expect(await texts.all()).toEqual([{ lang: 'de', key: 'x', text: 'zwei' }]);
  });

  maybe('failed logins: tries sent at once are counted one after another, so no more than the allowance pass', async () => {
    const db = await open();
    const limiter = createLoginLimiter(() => 1000, { perLoginAndAddress: 5 }, createLoginFailureRepository(db));
    const tries = await Promise.allSettled(Array.from({ length: 20 }, () => limiter.begin('anna', '10.0.0.1')));
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(5);
    expect(tries.filter((t) => t.status === 'rejected').every((t) => (t as PromiseRejectedResult).reason instanceof TooManyAttemptsError)).toBe(true);
  });

  maybe('mail: stored once per content, filed once, each outbox message claimed by one sender', async () => {
    const db = await open();
    const { first } = await world(db);
    const mail = createMailRepository(db);
    const input = (sha256: string, contentKey: string | null) => ({ source: 'smtp', envelopeFrom: 'c@customer.example', envelopeTo: ['help@example.com'], messageId: '<m1@customer.example>', sha256, contentKey, raw: Buffer.from(`Subject: ${sha256}\r\n\r\nhi\r\n`), now: NOW });
    const stored = await Promise.all([mail.storeRaw(input('s1', 'k1')), mail.storeRaw(input('s1', 'k1'))]);
    expect(stored.map((s) => s.duplicate).sort()).toEqual([false, true]);
    expect(stored[0]!.id).toBe(stored[1]!.id);
    const redelivered = await mail.storeRaw(input('s2', 'k1'));
    expect(redelivered.duplicate).toBe(true);
    expect(await mail.raw(redelivered.id)).toMatchObject({ status: 'duplicate', envelopeTo: ['help@example.com'] });
    expect((await mail.rawBytes(stored[0]!.id))?.toString()).toContain('Subject: s1');
    expect(await mail.unfiled(NOW)).toEqual([stored[0]!.id]);
    const plan = (rawId: number, ttn: string): FilingPlan => ({
      rawId,
      ticket: { create: { ttn, title: 'hi', queueId: first.id, state: 'new', priority: 3, ownerId: null, customerId: null, now: NOW } },
      articles: [
        { article: { kind: 'email-in', text: 'hi', messageId: '<m1@customer.example>' }, attachments: [{ filename: 'f.txt', contentType: 'text/plain', content: Buffer.from('f'), sha256: 'f', size: 1 }] },
        { article: { kind: 'email-out', text: 'got it' }, attachments: [], outbox: { kind: 'auto-reply', envelopeFrom: 'help@example.com', envelopeTo: ['c@customer.example'], messageId: '<r1@example.com>', raw: Buffer.from('r') }, limit: { to: 'c@customer.example', since: '2026-12-04T10:00:00.000Z', max: 1 } },
      ],
      outcome: { outcome: 'ticket', messageId: '<m1@customer.example>' },
      now: NOW,
    });
    // Filed by two processes at once (each with its own TTN): one files it, the other finds it filed.
    const results = await Promise.all([mail.commit(plan(stored[0]!.id, 'M1')), mail.commit(plan(stored[0]!.id, 'M2'))]);
    expect(results.filter((r) => r.filed)).toHaveLength(1);
    const filed = results.find((r) => r.filed) as Extract<FilingResult, { filed: true }>;
    expect(await mail.raw(stored[0]!.id)).toMatchObject({ status: 'done', outcome: 'ticket', ticketId: filed.ticket.id });
    expect(await mail.ticketForMessageIds(['<x@y>', '<m1@customer.example>'])).toBe(filed.ticket.id);
    expect(await mail.autoRepliesSince('c@customer.example', '2026-12-04T10:00:00.000Z')).toBe(1);
    expect(await mail.outboxCounts()).toEqual({ pending: 1 });
    // More to send; eight senders at once: each message goes to exactly one of them.
    for (let i = 0; i < 39; i++) await mail.enqueue({ articleId: null, kind: 'agent-reply', envelopeFrom: 'help@example.com', envelopeTo: ['c@customer.example'], messageId: `<o${i}@example.com>`, raw: Buffer.from('o'), now: NOW });
    const claimed: number[] = [];
    const claims = await Promise.all(Array.from({ length: 8 * 40 }, (_, i) => mail.claimNext(`sender-${i % 8}`, NOW, '2026-12-05T10:10:00.000Z')));
    for (const item of claims) if (item) claimed.push(item.id);
    for (let item = await mail.claimNext('late', NOW, '2026-12-05T10:10:00.000Z'); item; item = await mail.claimNext('late', NOW, '2026-12-05T10:10:00.000Z')) claimed.push(item.id);
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed).size).toBe(40);
    for (const id of claimed) await mail.markSent(id, NOW);
    expect(await mail.outboxCounts()).toEqual({ sent: 40 });
    await mail.markRaw(redelivered.id, { status: 'failed', outcome: 'error', error: 'boom', now: NOW });
    expect((await mail.listFlagged(0, 10)).map((r) => r.id)).toEqual([redelivered.id]);
    expect(await mail.countFlagged()).toBe(1);
    expect(await mail.rawCounts()).toEqual({ done: 1, failed: 1 });
  });

  maybe('a failed transaction leaves nothing behind', async () => {
    const db = await open();
    const queues = createQueueRepository(db);
    await queues.create({ name: 'Taken' }, NOW);
    await expect(queues.create({ name: 'taken', isDefault: true }, NOW)).rejects.toThrow();
    await queues.create({ name: 'Other', isDefault: true }, NOW);
    expect((await queues.list()).map((x) => [x.name, x.isDefault])).toEqual([
      ['Other', true],
      ['Taken', false],
    ]);
  });
});

describe('PostgreSQL schema', () => {
  const maybe = postgresAvailable() ? it : it.skip;

  maybe('has the same version as the SQLite file; instances migrating at once wait for one another', async () => {
    expect(loadPostgresMigrations().at(-1)?.version).toBe(loadMigrations().length);
    const url = await server()!.createDatabase();
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    cleanups.push(() => Promise.all(pools.map((p) => p.end())).then(() => undefined));
    expect(await Promise.all(pools.map((p) => migratePostgres(p)))).toEqual([21, 21, 21].map(() => loadMigrations().length));
    const { rows } = await pools[0]!.query('SELECT version FROM schema_version');
    expect(rows).toEqual([{ version: loadMigrations().length }]);
  });

  maybe('runs the call path\'s queries as named statements, and goes on when another instance changed a table under them', async () => {
    const url = await server()!.createDatabase();
    const engine = await openPostgres(url, { max: 1 });
    cleanups.push(() => engine.close());
    const calls = createCallRepository(engine);
    const call = await calls.create({ channelId: 'n-1', callerNumber: '030', callerName: null, language: null, startedAt: NOW });
    expect((await calls.findById(call.id))?.channelId).toBe('n-1');
    const { rows } = await engine.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements');
    // The pool's one connection is the one asked: it holds the statements it parsed.
    expect(rows[0]!.n).toBeGreaterThanOrEqual(2);
    // A newer instance adds a column: `SELECT *` parsed before now returns another shape.
    const other = new pg.Pool({ connectionString: url });
    cleanups.push(() => other.end());
    await other.query('ALTER TABLE calls ADD COLUMN later_column text');
    expect((await calls.findById(call.id))?.channelId).toBe('n-1');
    expect((await calls.findById(call.id))?.channelId).toBe('n-1');
  });

  maybe('refuses a database newer than the code and leaves it unchanged', async () => {
    const url = await server()!.createDatabase();
    const pool = new pg.Pool({ connectionString: url });
    cleanups.push(() => pool.end());
    await migratePostgres(pool);
    await pool.query('UPDATE schema_version SET version = 99');
    await expect(migratePostgres(pool)).rejects.toThrow(/schema version 99, newer than this Hotline knows .*nothing was changed/);
    expect((await pool.query('SELECT version FROM schema_version')).rows).toEqual([{ version: 99 }]);
  });
});

describe('agents, queues, settings and credentials kept in memory on PostgreSQL', () => {
  const maybe = postgresAvailable() ? it : it.skip;
  // A notification's way, on a busy machine: bounded, not the default second.
  const FEED = { timeout: 15_000 };
  const log = pino({ level: 'silent' });

  /** One process's view: its own pool, change feed and cached stores. */
  async function process_(url: string) {
    const engine = await openPostgres(url);
    const feed = listenForChanges(url, log);
    cleanups.push(() => feed.close(), () => engine.close());
    const agents = createAgentRepository(engine);
    const queues = createQueueRepository(engine);
    return {
      engine,
      feed,
      agents: cachedAgentStore(agents, feed),
      queues: cachedQueueStore(queues, feed),
      settings: cachedSettingsStore(createSettingsRepository(engine), feed),
      sessions: cachedSessionStore(createSessionRepository(engine), feed),
      tokens: cachedApiTokenStore(createApiTokenRepository(engine), feed),
    };
  }

  maybe('keeps a session or token found while it is far from its end; one ended in another process is refused within the notification\'s way', async () => {
    const url = await server()!.createDatabase();
    const a = await process_(url);
    const b = await process_(url);
    const { anna } = await world(a.engine);
    await expect.poll(() => a.feed.generation() !== null && b.feed.generation() !== null, FEED).toBe(true);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const soon = new Date(Date.now() + 30_000).toISOString();
    // Created in the other process after this one looked: a hash not found is not kept.
    expect(await a.sessions.find('s-far')).toBeNull();
    await b.sessions.create('s-far', { agentId: anna.id, csrfToken: 'c', expiresAt: later }, NOW);
    await b.sessions.create('s-soon', { agentId: anna.id, csrfToken: 'c', expiresAt: soon }, NOW);
    const token = await b.tokens.create(anna.id, { name: 'x', tokenHash: 't-1', scope: 'rw', expiresAt: null }, NOW);
    expect((await a.sessions.find('s-far'))?.agentId).toBe(anna.id);
    let queries = 0;
    const count = a.engine.pool.query.bind(a.engine.pool);
    a.engine.pool.query = ((...args: Parameters<typeof count>) => (queries++, count(...args))) as typeof count;
    const pass = async () => {
      queries = 0;
      expect((await a.sessions.find('s-far'))?.agentId).toBe(anna.id);
      expect((await a.tokens.find('t-1'))?.id).toBe(token.id);
      return queries;
    };
    await expect.poll(pass, FEED).toBe(0);
    // Near its end: read each time (extended elsewhere, it would be seen).
    queries = 0;
    await a.sessions.find('s-soon');
    await a.sessions.find('s-soon');
    expect(queries).toBe(2);
    // Logged out and revoked in the other process: refused here too.
    await b.sessions.delete('s-far');
    await b.tokens.delete(token.id, anna.id);
    await expect.poll(() => a.sessions.find('s-far'), FEED).toBeNull();
    await expect.poll(() => a.tokens.find('t-1'), FEED).toBeNull();
  });

  maybe('reads them once, and again as soon as another process changes them', async () => {
    const url = await server()!.createDatabase();
    const a = await process_(url);
    const b = await process_(url);
    const { anna, first, billing } = await world(a.engine);
    await expect.poll(() => a.feed.generation() !== null && b.feed.generation() !== null, FEED).toBe(true);
    // Kept: the same answers with no query sent (the feed's generation stands).
    let queries = 0;
    const count = a.engine.pool.query.bind(a.engine.pool);
    a.engine.pool.query = ((...args: Parameters<typeof count>) => (queries++, count(...args))) as typeof count;
    const pass = async () => {
      queries = 0;
      expect((await a.agents.findById(anna.id))?.dialString).toBe('PJSIP/201');
      expect(await a.queues.access(anna.id, first.id)).toBe('rw');
      expect((await a.queues.findDefault())?.id).toBe(first.id);
      return queries;
    };
    expect(await pass()).toBeGreaterThan(0);
    // (Once the notifications of world()'s own writes have come: they may still be on their way.)
    await expect.poll(pass, FEED).toBe(0);
    // A copy each time: changing what was read changes nothing kept.
    (await a.agents.findById(anna.id))!.dialString = 'PJSIP/999';
    expect((await a.agents.findById(anna.id))?.dialString).toBe('PJSIP/201');
    // Changed by another process (the pages', another instance's): seen within the notification's way.
    await b.agents.update(anna.id, { dialString: 'PJSIP/202', active: false });
    await b.queues.setAccess(anna.id, first.id, null);
    await b.queues.update(billing.id, { isDefault: true });
    await b.settings.set('security', { dialPatterns: ['+49*'] });
    await expect.poll(async () => (await a.agents.findById(anna.id))?.dialString, FEED).toBe('PJSIP/202');
    expect((await a.agents.findById(anna.id))?.active).toBe(false);
    await expect.poll(() => a.queues.access(anna.id, first.id), FEED).toBeNull();
    await expect.poll(async () => (await a.queues.findDefault())?.id, FEED).toBe(billing.id);
    await expect.poll(() => a.settings.get('security'), FEED).toEqual({ dialPatterns: ['+49*'] });
    // Changed here: seen at once, without waiting for the notification.
    await a.agents.update(anna.id, { dialString: 'PJSIP/203' });
    expect((await a.agents.findById(anna.id))?.dialString).toBe('PJSIP/203');
  });

  maybe('keeps nothing while it cannot hear of changes, and starts afresh when it can again', async () => {
    const url = await server()!.createDatabase();
    const a = await process_(url);
    const b = await process_(url);
    const { anna } = await world(a.engine);
    await expect.poll(() => a.feed.generation(), FEED).not.toBeNull();
    expect((await a.agents.findById(anna.id))?.name).toBe('Anna');
    // The listening connection is cut (a restarted server or proxy would do the same).
    await b.engine.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN hotline_directory' AND pid <> pg_backend_pid()");
    await expect.poll(() => a.feed.generation(), FEED).toBeNull();
    // Changed meanwhile, when no notification can reach it: read from the database, not from memory.
    await b.agents.update(anna.id, { name: 'Anna B.' });
    expect((await a.agents.findById(anna.id))?.name).toBe('Anna B.');
    // Listening again: a new generation, kept from here on.
    await expect.poll(() => a.feed.generation(), FEED).not.toBeNull();
    await b.agents.update(anna.id, { name: 'Anna C.' });
    await expect.poll(async () => (await a.agents.findById(anna.id))?.name, FEED).toBe('Anna C.');
  });
});
