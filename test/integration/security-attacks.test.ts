// The attack run of issue #16, each break as a test: it failed before the fix and passes after.
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { injectLogin, loginFormToken } from '../helpers/login.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';
import { LIMITS } from '../../src/http/schemas.js';

let w: WebHarness;
const sockets: Socket[] = [];
beforeEach(async () => {
  // A first wait of 10 minutes: on a busy machine no try of a burst may come after a 1 s wait passed.
  w = await webHarness({ config: { loginFirstWaitSeconds: 600 } });
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.disconnect();
  await w.close();
});

const api = (token: string) => ({ authorization: `Bearer ${token}` });

describe('logins', () => {
  it('counts 150 wrong passwords sent at once before checking them: 5 are checked, the rest and then the right one wait; the owner elsewhere logs in', async () => {
    const form = await w.server.inject('/login');
    const { token, cookie } = loginFormToken(form.body, form.headers['set-cookie'] as string[]);
    const attempt = (password: string, remoteAddress = '127.0.0.1') => w.server.inject({ method: 'POST', url: '/login', remoteAddress, headers: { cookie }, payload: { login: 'alice', password, _csrf: token } });
    const answers = await Promise.all([...Array.from({ length: 149 }, (_, i) => attempt(`guess${i}`)), attempt('alice-password')]);
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(145);
    expect(statuses.at(-1)).toBe(429);
    // Alice at her own desk is not locked out by someone else's guessing.
    expect((await attempt('alice-password', '10.1.2.3')).statusCode).toBe(303);
  });

  it('does not let a client pick the address its failures count against (X-Forwarded-For)', async () => {
    const form = await w.server.inject('/login');
    const { token, cookie } = loginFormToken(form.body, form.headers['set-cookie'] as string[]);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await w.server.inject({ method: 'POST', url: '/login', headers: { cookie, 'x-forwarded-for': `198.51.100.${i}` }, payload: { login: `nobody${i}`, password: 'x', _csrf: token } });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
  });

  it('shows admins who is waiting, and lets them clear it', async () => {
    for (let i = 0; i < 5; i++) await injectLogin(w.server, 'alice', `guess${i}`);
    expect((await injectLogin(w.server, 'alice', 'alice-password')).statusCode).toBe(429);
    const root = await w.login('root');
    const page = await root.get('/admin/security');
    expect(page.body).toContain('<td>alice</td>');
    const key = /name="key" value="(login:alice\|[^"]+)"/.exec(page.body)![1]!;
    expect((await root.post('/admin/security/logins/clear', { key })).statusCode).toBe(303);
    expect((await injectLogin(w.server, 'alice', 'alice-password')).statusCode).toBe(303);
  });

  it('refuses a login form that did not come from Hotline (login CSRF)', async () => {
    const forged = await w.server.inject({ method: 'POST', url: '/login', payload: { login: 'alice', password: 'alice-password' } });
    expect(forged.statusCode).toBe(403);
    expect(String(forged.headers['set-cookie'] ?? '')).not.toContain('hotline_session');
    const form = await w.server.inject('/login');
    const { cookie } = loginFormToken(form.body, form.headers['set-cookie'] as string[]);
    const wrongToken = await w.server.inject({ method: 'POST', url: '/login', headers: { cookie }, payload: { login: 'alice', password: 'alice-password', _csrf: 'x'.repeat(43) } });
    expect(wrongToken.statusCode).toBe(403);
  });
});

describe('ending access ends sockets', () => {
  async function socketOf(options: { cookie?: string; token?: string }) {
    const base = `http://127.0.0.1:${(w.server.server.address() as AddressInfo).port}`;
    const socket = io(base, { ...(options.token ? { auth: { token: options.token } } : { extraHeaders: { cookie: options.cookie! } }), transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const ended = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    const told = new Promise<string>((resolve) => socket.on('access.ended', (e: { reason: string }) => resolve(e.reason)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return { ended, told };
  }
  beforeEach(async () => {
    await w.server.listen({ host: '127.0.0.1', port: 0 });
  });

  it('on logout, on deactivation and on token revocation, at once', async () => {
    const alice = await w.login('alice');
    const other = await w.login('alice');
    const loggedOut = await socketOf({ cookie: alice.cookie });
    const stays = await socketOf({ cookie: other.cookie });
    await alice.post('/logout');
    expect(await loggedOut.ended).toBe('io server disconnect');
    expect(await loggedOut.told).toContain('session has ended');

    const token = await w.hotline.auth.createApiToken(w.agents.bob.id, 'crm');
    const bob = await socketOf({ token });
    const { id } = (await w.hotline.auth.apiTokens(w.agents.bob.id))[0]!;
    const root = await w.login('root');
    await root.post(`/admin/agents/${w.agents.bob.id}/tokens/${id}/revoke`);
    expect(await bob.ended).toBe('io server disconnect');

    await root.post(`/admin/agents/${w.agents.alice.id}`, { name: 'Alice', role: 'agent', language: 'en' });
    expect(await stays.ended).toBe('io server disconnect');
  });
});

describe('customers stay in their queues', () => {
  it('does not show or attach a customer known only to another queue; unknown ids are 400, not 500', async () => {
    // Dora is a customer of Billing only; alice works Support.
    const dora = await w.hotline.directory.createCustomer({ name: 'Dora Billing', emails: ['dora@example.org'], phones: ['+49 30 9999999'] });
    await w.hotline.tickets.create({ queueId: w.queues.billing.id, title: 'Invoice', customerId: dora.id, article: { kind: 'note', text: 'x' } });
    const alice = await w.login('alice');
    const lookup = await alice.get('/tickets/new?lookup=030%209999999');
    expect(lookup.body).not.toContain('Dora Billing');
    const token = await w.hotline.auth.createApiToken(w.agents.alice.id, 'test');
    const attach = await w.server.inject({ method: 'POST', url: '/api/v1/tickets', headers: api(token), payload: { queueId: w.queues.support.id, title: 'Hi', customerId: dora.id } });
    expect(attach.statusCode).toBe(400);
    expect(attach.json().error).toContain('no customer');
    const unknown = await w.server.inject({ method: 'POST', url: '/api/v1/tickets', headers: api(token), payload: { queueId: w.queues.support.id, title: 'Hi', customerId: 99999 } });
    expect(unknown.statusCode).toBe(400);
    // Her own customer is still found and attached.
    expect((await alice.get('/tickets/new?lookup=0171%202345678')).body).toContain('Carl Customer');
    const own = await w.server.inject({ method: 'POST', url: '/api/v1/tickets', headers: api(token), payload: { queueId: w.queues.support.id, title: 'Hi', customerId: w.customer.id } });
    expect(own.statusCode).toBe(201);
  });
});

describe('owners can see their tickets', () => {
  it('refuses an owner who cannot see the queue, lists only those who can, and clears the owner on a move to a queue they cannot see', async () => {
    const root = await w.hotline.auth.createApiToken(w.agents.admin.id, 'test');
    const patch = (payload: object) => w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${w.tickets.support.ttn}`, headers: api(root), payload });
    const carol = await patch({ ownerId: w.agents.carol.id });
    expect(carol.statusCode).toBe(400);
    expect(carol.json().error).toContain('cannot see queue');
    expect((await patch({ ownerId: 999 })).statusCode).toBe(400);
    expect((await patch({ ownerId: w.agents.alice.id })).statusCode).toBe(200);
    const page = await (await w.login('root')).get(`/tickets/${w.tickets.support.ttn}`);
    expect(page.body).toContain('>Alice<');
    expect(page.body).not.toContain('>Carol<');
    // Billing is not alice's: the moved ticket is nobody's, and her phone is not rung for it.
    const moved = await patch({ queueId: w.queues.billing.id });
    expect(moved.json()).toMatchObject({ queueId: w.queues.billing.id, ownerId: null });
  });
});

describe('inputs checked by schema', () => {
  it('answers 400 with the field for what used to be cast, capped or a 500', async () => {
    const token = await w.hotline.auth.createApiToken(w.agents.admin.id, 'test');
    const get = (url: string) => w.server.inject({ url, headers: api(token) });
    for (const url of ['/api/v1/tickets?limit=-1', '/api/v1/tickets?limit=10000', '/api/v1/tickets?offset=1e20', '/api/v1/tickets?queue=abc', '/api/v1/tickets?state=nope']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
    }
    expect((await get('/api/v1/tickets?limit=-1')).json().error).toMatch(/^query\.limit: /);
    const ttn = w.tickets.support.ttn;
    const patch = (payload: object) => w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${ttn}`, headers: api(token), payload });
    // (1 MB and more: 413, the body limit.)
    const huge = await patch({ title: 'x'.repeat(512 * 1024) });
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error).toBe(`body.title: at most ${LIMITS.title} characters`);
    expect((await patch({ title: 'x'.repeat(LIMITS.title + 1) })).statusCode).toBe(400);
    const create = await w.server.inject({ method: 'POST', url: '/api/v1/tickets', headers: api(token), payload: { queueId: w.queues.support.id, title: 'x'.repeat(LIMITS.title + 1) } });
    expect(create.statusCode).toBe(400);
    expect((await patch({ priority: '3' })).statusCode).toBe(400);
    expect((await patch({ surprise: 1 })).statusCode).toBe(400);
    expect((await w.hotline.tickets.findByTtn(ttn))!.title).toBe('Printer on fire');
  });

  it('never answers 500 to hostile input on any page or API route', async () => {
    const root = await w.login('root');
    const token = await w.hotline.auth.createApiToken(w.agents.admin.id, 'test');
    const urls = w.server.routeList.map((r) => ({ method: r.method, path: r.url }));
    expect(urls.filter((u) => u.method !== 'HEAD').length).toBeGreaterThan(40);
    const hostile = ['-1', '1e20', '99999', 'x'.repeat(5000), '../../etc/passwd', "' OR 1=1 --", '\r\nX: y', '%00', '[]', '{}'];
    // Path parameters both hostile and real (so that the body reaches the handler), bodies as strings and as JSON numbers.
    const real: Record<string, string> = { ttn: w.tickets.support.ttn, id: String(w.agents.alice.id), token: '1', lang: 'en', name: 'goodbye', file: 'goodbye.wav' };
    let sent = 0;
    for (const { method, path } of urls) {
      if (method === 'HEAD' || path.startsWith('/static') || path.startsWith('/socket.io')) continue;
      for (const bad of hostile) {
        const query = `?${['limit', 'queue', 'before', 'after', 'q', 'state', 'sort', 'dir', 'owner', 'priority', 'page'].map((k) => `${k}=${encodeURIComponent(bad)}`).join('&')}`;
        for (const [withRealParams, url] of [path.replace(/:\w+/g, encodeURIComponent(bad)) + query, path.replace(/:(\w+)/g, (_, p: string) => real[p] ?? '1') + query].entries()) {
          const asNumber = Number(bad);
          const fields = ['queueId', 'ownerId', 'customerId', 'priority', 'state', 'title', 'text', 'phone', 'to', 'kind', 'ttn', 'query', 'name', 'back'];
          const single = !withRealParams || !['-1', '1e20', '99999', '[]'].includes(bad) ? [] : fields.flatMap((f) => [{ [f]: bad, _csrf: root.csrf }, ...(Number.isFinite(asNumber) ? [{ [f]: asNumber }] : [])]);
          const payloads = [{ queueId: bad, title: bad, ownerId: bad, customerId: bad, state: bad, text: bad, phone: bad, priority: bad, _csrf: root.csrf }, ...single];
          for (const payload of method === 'GET' ? [undefined] : payloads) {
            // Pages with the session; the API both ways (a token, or the session with its CSRF header).
            for (const headers of path.startsWith('/api/') ? [{ cookie: root.cookie, 'x-csrf-token': root.csrf }, api(token)] : [{ cookie: root.cookie, 'x-csrf-token': root.csrf }]) {
              const res = await w.server.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });
              sent++;
              expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)?.slice(0, 200)}: ${res.body.slice(0, 300)}`).not.toBe(500);
            }
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(1000);
  });
});

describe('API tokens', () => {
  it('may be read-only, and expire', async () => {
    const ro = await w.hotline.auth.createApiToken(w.agents.alice.id, 'dashboard', { scope: 'ro' });
    expect((await w.server.inject({ url: '/api/v1/tickets', headers: api(ro) })).statusCode).toBe(200);
    const write = await w.server.inject({ method: 'POST', url: `/api/v1/tickets/${w.tickets.support.ttn}/articles`, headers: api(ro), payload: { text: 'sneaky' } });
    expect(write.statusCode).toBe(403);
    expect(write.json().error).toBe('this API token may only read');
    const expired = await w.hotline.auth.createApiToken(w.agents.alice.id, 'old', { expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect((await w.server.inject({ url: '/api/v1/me', headers: api(expired) })).statusCode).toBe(401);
    // An admin makes one on the agent's page.
    const root = await w.login('root');
    const made = await root.post(`/admin/agents/${w.agents.alice.id}/tokens`, { name: 'report', scope: 'ro', expiresInDays: '7' });
    expect(made.body).toMatch(/read-only API token for alice, valid until \d{4}-\d\d-\d\d: hl_/);
  });
});

describe('guessing ticket numbers by phone', () => {
  let h: PbxHarness;
  beforeEach(async () => {
    h = await pbxHarness();
    await h.ready();
  });
  afterEach(async () => h.close());

  async function keys(number: string, digits: string[]) {
    const call = h.fake.placeCall({ number });
    await call.waitFor('stasis-start');
    for (const d of digits) await call.press(`${d}#`);
    await call.waitFor('continue');
    return call;
  }

  it('stops looking up a caller who keyed 5 unknown numbers: even the right one then goes to the default queue, unverified; other callers are still put through', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const unknown = await Promise.all(Array.from({ length: 5 }, () => h.hotline.ttn.next(new Date())));
    await keys('0309876543', unknown.slice(0, 3));
    await keys('0309876543', unknown.slice(3, 5));
    const lucky = await keys('0309876543', [ticket.ttn]);
    expect(lucky.vars.get('HOTLINE_ROUTE')).toBe('queue');
    expect(lucky.vars.get('HOTLINE_UNVERIFIED')).toBe('1');
    expect(await h.callRecord(lucky.id, (c) => c.reason !== null)).toMatchObject({ reason: 'limited', ticketId: null });
    expect(h.pbx.status().guessing.limitedCallers.map((c) => c.caller)).toEqual(['0309876543']);
    const owner = await keys('0301111111', [ticket.ttn]);
    expect(owner.vars.get('HOTLINE_ROUTE')).toBe('agent');
    expect(owner.vars.get('HOTLINE_UNVERIFIED')).toBe('0');
  });

  it('lets one caller number reach 3 of the day\'s 13 tickets in 15 calls (the attack run: all 13), keying them in order', async () => {
    const tickets = [];
    for (let i = 0; i < 13; i++) tickets.push(await h.ticket(h.queues.billing.id, h.agents.alice.id, `Day ticket ${i}`));
    const reasons: string[] = [];
    for (let i = 0; i < 15; i++) {
      const call = await keys('0303333333', [tickets[i % 13]!.ttn]);
      reasons.push((await h.callRecord(call.id, (c) => c.reason !== null)).reason!);
    }
    expect(reasons.filter((r) => r === 'ticket')).toHaveLength(3);
    expect(reasons.slice(3).every((r) => r === 'limited')).toBe(true);
  });

  it('does not ring an owner who may no longer see the ticket\'s queue: the queue takes the call', async () => {
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    await h.hotline.directory.setAccess(h.agents.alice.id, h.queues.billing.id, null);
    const call = await keys('0304444444', [ticket.ttn]);
    expect(call.vars.get('HOTLINE_ROUTE')).toBe('queue');
    expect(call.vars.get('HOTLINE_QUEUE')).toBe('billing');
  });

  it('opens at most 3 tickets with # per caller number', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const call = h.fake.placeCall({ number: '0302222222' });
      await call.waitFor('stasis-start');
      await call.press('#');
      await call.waitFor('continue');
      made.push((await h.callRecord(call.id, (c) => c.reason !== null)).reason!);
    }
    expect(made).toEqual(['new-ticket', 'new-ticket', 'new-ticket', 'limited', 'limited']);
  });
});

describe('dialing', () => {
  it('click-to-dial calls only the numbers on file for the ticket\'s customer, or those an admin allowed', async () => {
    const alice = await w.login('alice');
    const page = await alice.get(`/tickets/${w.tickets.support.ttn}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const dial = (phone: string) => w.server.inject({ method: 'POST', url: `/tickets/${w.tickets.support.ttn}/dial`, headers: { cookie: alice.cookie }, payload: { _csrf: csrf, phone } });
    const premium = await dial('0900 1234567');
    expect(premium.statusCode).toBe(403);
    expect(premium.body).toContain('is not on file for this ticket');
    expect((await dial('+882 1234567')).statusCode).toBe(403);
    // Carl's own number passes this check (alice has no phone set up: the next check says so).
    expect((await dial('0171 2345678')).body).toContain('your phone is not set up');
    const root = await w.login('root');
    expect((await root.post('/admin/security', { dialPatterns: '+49900*\nbad' })).statusCode).toBe(400);
    expect((await root.post('/admin/security', { dialPatterns: '+49900*' })).statusCode).toBe(303);
    expect((await dial('0900 1234567')).body).toContain('your phone is not set up');
  });

  it('refuses a line break in a dial string, and at the AMI edge never sends one', async () => {
    const root = await w.login('root');
    const saved = await root.post(`/admin/agents/${w.agents.alice.id}`, { name: 'Alice', role: 'agent', language: 'en', active: '1', dialString: 'Local/201@phones\r\nAction: Command' });
    expect(saved.statusCode).toBe(400);
    expect((await w.hotline.agents.findById(w.agents.alice.id))!.dialString).toBeNull();
    const h = await pbxHarness();
    try {
      await h.ready();
      await expect(h.pbx.originate({ channel: 'Local/201@phones\r\nAction: Command\r\nCommand: core stop now', context: 'hotline-dial', exten: '100' })).rejects.toThrow(/control characters/);
      expect(h.fake.ami.frames.some((f) => f.dir === 'in' && /Command: core stop/.test(f.raw))).toBe(false);
    } finally {
      await h.close();
    }
  });
});

describe('caller verification', () => {
  it('routes a caller whose number is not on file for the ticket\'s customer as unverified, once an admin turns it on', async () => {
    const h = await pbxHarness();
    try {
      await h.ready();
      const customer = await h.hotline.directory.createCustomer({ name: 'Known', phones: ['0301234567'] });
      const ticket = (await h.hotline.tickets.create({ queueId: h.queues.billing.id, title: 'x', ownerId: h.agents.alice.id, customerId: customer.id, article: { kind: 'note', text: 'x' } })).ticket;
      await h.hotline.settings.set('security', { verifyCallerNumber: true, dialPatterns: [] });
      const call = async (number: string) => {
        const c = h.fake.placeCall({ number });
        await c.waitFor('stasis-start');
        await c.press(`${ticket.ttn}#`);
        await c.waitFor('continue');
        return c.vars.get('HOTLINE_UNVERIFIED');
      };
      expect(await call('0309999999')).toBe('1');
      expect(await call('0301234567')).toBe('0');
    } finally {
      await h.close();
    }
  });
});
