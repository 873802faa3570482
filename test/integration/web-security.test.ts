import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebHarness } from '../helpers/web.js';
import { pathOf, webHarness } from '../helpers/web.js';
import { injectLogin } from '../helpers/login.js';

let w: WebHarness;
beforeEach(async () => {
  w = await webHarness();
});
afterEach(async () => w.close());

async function attach(ticketId: number, filename: string, contentType: string, content: string) {
  const articles = await w.hotline.tickets.articles(ticketId);
  return w.hotline.tickets.attach(articles[0]!.id, { filename, contentType, content: Buffer.from(content) });
}

describe('login and sessions', () => {
  it('sends anonymous visitors to the login page and answers the API with 401', async () => {
    const page = await w.server.inject(`/tickets/${w.tickets.support.ttn}`);
    expect(page.statusCode).toBe(303);
    expect(pathOf(page.headers.location)).toBe(`/login?next=${encodeURIComponent(`/tickets/${w.tickets.support.ttn}`)}`);
    const api = await w.server.inject('/api/v1/queues');
    expect(api.statusCode).toBe(401);
    expect(api.json()).toEqual({ error: 'log in first' });
  });

  it('says clearly that a password is wrong, and sets an httpOnly SameSite cookie on success', async () => {
    const wrong = await injectLogin(w.server, 'alice', 'nope');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('Wrong login or password.');
    const right = await injectLogin(w.server, 'alice', 'alice-password');
    expect(right.statusCode).toBe(303);
    expect(String(right.headers['set-cookie'])).toMatch(/hotline_session=[\w-]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Lax/);
  });

  it('believes X-Forwarded-Proto only from a proxy the site trusts', async () => {
    const untrusted = await injectLogin(w.server, 'alice', 'alice-password', { 'x-forwarded-proto': 'https' });
    expect(String(untrusted.headers['set-cookie'])).not.toContain('Secure');
    const proxied = await webHarness({ config: { trustedProxies: '127.0.0.1' } });
    try {
      const res = await injectLogin(proxied.server, 'alice', 'alice-password', { 'x-forwarded-proto': 'https' });
      expect(String(res.headers['set-cookie'])).toContain('Secure');
    } finally {
      await proxied.close();
    }
  });

  it('makes failed logins for one account from one address wait, says so once, and leaves other accounts alone', async () => {
    // A first wait of 10 minutes, so that a slow machine cannot let it pass before the next try.
    const slow = await webHarness({ config: { loginFirstWaitSeconds: 600 } });
    try {
      for (let i = 0; i < 5; i++) expect((await injectLogin(slow.server, 'alice', `guess${i}`)).statusCode).toBe(401);
      const waiting = await injectLogin(slow.server, 'alice', 'alice-password');
      expect(waiting.statusCode).toBe(429);
      expect(waiting.body.match(/Too many failed logins/g)).toHaveLength(1);
      expect(waiting.body).toContain('Try again in 10 minutes.');
      expect(Number(waiting.headers['retry-after'])).toBeGreaterThan(590);
      expect((await injectLogin(slow.server, 'bob', 'bob-password')).statusCode).toBe(303);
    } finally {
      await slow.close();
    }
  });

  it('ends the session on logout', async () => {
    const alice = await w.login('alice');
    expect((await alice.post('/logout')).statusCode).toBe(303);
    expect((await alice.get('/queues')).statusCode).toBe(303);
  });

  it('ends every session of an agent an admin deactivates', async () => {
    const alice = await w.login('alice');
    const root = await w.login('root');
    const res = await root.post(`/admin/agents/${w.agents.alice.id}`, { name: 'Alice', role: 'agent', language: 'en' });
    expect(res.statusCode).toBe(303);
    expect((await alice.get('/queues')).statusCode).toBe(303);
    expect((await injectLogin(w.server, 'alice', 'alice-password')).statusCode).toBe(401);
  });
});

describe('CSRF', () => {
  it('rejects a forged form (no token, or a token of another session) and changes nothing', async () => {
    const alice = await w.login('alice');
    const bob = await w.login('bob');
    const before = (await w.hotline.tickets.articles(w.tickets.support.id)).length;
    const noToken = await alice.post(`/tickets/${w.tickets.support.ttn}/notes`, { text: 'forged' }, false);
    expect(noToken.statusCode).toBe(403);
    expect(noToken.body).toContain('did not come from Hotline');
    const otherToken = await alice.post(`/tickets/${w.tickets.support.ttn}/notes`, { text: 'forged', _csrf: bob.csrf }, false);
    expect(otherToken.statusCode).toBe(403);
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).length).toBe(before);
    expect((await alice.post(`/tickets/${w.tickets.support.ttn}/notes`, { text: 'real' })).statusCode).toBe(303);
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).length).toBe(before + 1);
  });

  it('asks cookie-authenticated API writes for the X-CSRF-Token header', async () => {
    const alice = await w.login('alice');
    const url = `/api/v1/tickets/${w.tickets.support.ttn}/articles`;
    const forged = await w.server.inject({ method: 'POST', url, headers: { cookie: alice.cookie }, payload: { text: 'x' } });
    expect(forged.statusCode).toBe(403);
    const ok = await w.server.inject({ method: 'POST', url, headers: { cookie: alice.cookie, 'x-csrf-token': alice.csrf }, payload: { text: 'x' } });
    expect(ok.statusCode).toBe(201);
  });
});

describe('permissions on every path', () => {
  it('gives an agent without access to a queue 404 for its tickets on pages, API and attachments', async () => {
    const file = await attach(w.tickets.billing.id, 'invoice.pdf', 'application/pdf', '%PDF-1.4');
    const alice = await w.login('alice');
    const token = await w.hotline.auth.createApiToken(w.agents.alice.id, 'test');
    const ttn = w.tickets.billing.ttn;
    expect((await alice.get(`/tickets/${ttn}`)).statusCode).toBe(404);
    expect((await alice.get(`/attachments/${file.id}`)).statusCode).toBe(404);
    expect((await alice.post(`/tickets/${ttn}/notes`, { text: 'x' })).statusCode).toBe(404);
    expect((await alice.post(`/tickets/${ttn}/update`, { state: 'closed' })).statusCode).toBe(404);
    expect((await alice.get(`/tickets?queue=${w.queues.billing.id}`)).statusCode).toBe(404);
    const list = await alice.get(`/tickets?q=${encodeURIComponent('Invoice')}`);
    expect(list.body).not.toContain(ttn);
    const auth = { authorization: `Bearer ${token}` };
    expect((await w.server.inject({ url: `/api/v1/tickets/${ttn}`, headers: auth })).statusCode).toBe(404);
    expect((await w.server.inject({ url: `/api/v1/attachments/${file.id}`, headers: auth })).statusCode).toBe(404);
    expect((await w.server.inject({ method: 'PATCH', url: `/api/v1/tickets/${ttn}`, headers: auth, payload: { state: 'closed' } })).statusCode).toBe(404);
    const apiList = (await w.server.inject({ url: '/api/v1/tickets?state=new', headers: auth })).json() as Array<{ ttn: string }>;
    expect(apiList.map((t) => t.ttn)).toEqual([w.tickets.support.ttn]);
    expect((await w.hotline.tickets.findByTtn(ttn))?.state).toBe('new');
  });

  it('lets a read-only agent read but not write, on pages and the API', async () => {
    const bob = await w.login('bob');
    const ttn = w.tickets.billing.ttn;
    const view = await bob.get(`/tickets/${ttn}`);
    expect(view.statusCode).toBe(200);
    expect(view.body).toContain('read-only access');
    expect(view.body).not.toContain('Add a note');
    expect((await bob.post(`/tickets/${ttn}/notes`, { text: 'x' })).statusCode).toBe(403);
    const token = await w.hotline.auth.createApiToken(w.agents.bob.id, 'test');
    const res = await w.server.inject({ method: 'POST', url: `/api/v1/tickets/${ttn}/articles`, headers: { authorization: `Bearer ${token}` }, payload: { text: 'x' } });
    expect(res.statusCode).toBe(403);
  });

  it('shows an agent with no queue nothing, and admin pages only to admins', async () => {
    const carol = await w.login('carol');
    expect((await carol.get('/queues')).body).toContain('You may not see any queue yet');
    expect((await carol.get(`/tickets/${w.tickets.support.ttn}`)).statusCode).toBe(404);
    expect((await carol.get('/admin/agents')).statusCode).toBe(403);
    expect((await carol.post('/admin/queues', { name: 'Sneaky' })).statusCode).toBe(403);
    expect(await w.hotline.directory.findQueueByName('Sneaky')).toBeNull();
    const root = await w.login('root');
    expect((await root.get(`/tickets/${w.tickets.billing.ttn}`)).statusCode).toBe(200);
  });

  it('refuses an unknown or revoked API token', async () => {
    expect((await w.server.inject({ url: '/api/v1/queues', headers: { authorization: 'Bearer hl_nope' } })).statusCode).toBe(401);
  });
});

describe('mail HTML and attachments render inert', () => {
  it('strips script, event handlers, javascript: links, styles and remote images, keeping the text', async () => {
    const evil = [
      '<p>Hello <b>agent</b></p>',
      '<script>alert(1)</script>',
      '<img src="x" onerror="alert(2)">',
      '<a href="javascript:alert(3)">click</a>',
      '<a href="https://example.org/ok" onclick="alert(4)">fine link</a>',
      '<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:url(https://evil.example/x)">overlay</div>',
      '<style>body{display:none}</style>',
      '<iframe src="https://evil.example"></iframe>',
      '<svg><script>alert(5)</script></svg>',
      '<img src="https://tracker.example/pixel.gif" alt="pixel">',
      '<form action="https://evil.example"><input name="password"></form>',
    ].join('\n');
    await w.hotline.tickets.addArticle(w.tickets.support.id, { kind: 'email-in', from: 'evil@example.org', text: 'fallback text', html: evil });
    const alice = await w.login('alice');
    const page = (await alice.get(`/tickets/${w.tickets.support.ttn}`)).body;
    const mail = page.slice(page.indexOf('<div class="mail-html">'), page.indexOf('</div>', page.indexOf('<div class="mail-html">') + 25) + 6);
    expect(mail).toContain('Hello <b>agent</b>');
    expect(mail).toContain('fine link');
    expect(page).not.toMatch(/<script>alert|onerror|onclick|javascript:|<iframe|<style>|style="|tracker\.example|evil\.example|<form action="https/);
    expect(page).toContain('[image: pixel]');
    expect(page).toContain('rel="noopener noreferrer nofollow"');
  });

  it('shows inline cid: images from the mail itself, and images as figures', async () => {
    const { article } = await w.hotline.tickets.addArticle(w.tickets.support.id, { kind: 'email-in', text: 'fax', html: '<p>see <img src="cid:logo@x" alt="logo"></p>' });
    const png = await w.hotline.tickets.attach(article.id, { filename: 'logo.png', contentType: 'image/png', content: Buffer.from('png'), contentId: '<logo@x>' });
    const alice = await w.login('alice');
    const page = (await alice.get(`/tickets/${w.tickets.support.ttn}`)).body;
    expect(page).toMatch(new RegExp(`<img src="/attachments/${png.id}" alt="logo" ?/?>`));
    expect(page).toContain(`<figure><img src="/attachments/${png.id}" alt="logo.png">`);
    const image = await alice.get(`/attachments/${png.id}`);
    expect(image.headers['content-type']).toBe('image/png');
    expect(image.headers['content-disposition']).toMatch(/^inline/);
  });

  it('serves HTML and SVG attachments only as downloads with a neutral type', async () => {
    const html = await attach(w.tickets.support.id, 'page.html', 'text/html', '<script>alert(1)</script>');
    const svg = await attach(w.tickets.support.id, 'x".svg', 'image/svg+xml', '<svg onload="alert(1)"/>');
    const alice = await w.login('alice');
    for (const file of [html, svg]) {
      const res = await alice.get(`/attachments/${file.id}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="[\w. -]+"; filename\*=UTF-8''/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain('sandbox');
    }
  });

  it('sends a CSP that forbids inline script on every page', async () => {
    const res = await w.server.inject('/login');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('escapes customer text everywhere it is shown', async () => {
    await w.hotline.tickets.create({ queueId: w.queues.support.id, title: '<img src=x onerror=alert(1)>', article: { kind: 'email-in', text: '<script>alert(1)</script>' } });
    const alice = await w.login('alice');
    const list = (await alice.get(`/tickets?queue=${w.queues.support.id}`)).body;
    expect(list).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(list).not.toContain('<img src=x');
  });
});

describe('templates', () => {
  it('uses a template from the configured folder in place of the built-in one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-templates-'));
    writeFileSync(join(dir, 'login.eta'), "<% layout('layout', it) %><h1>ACME Support login</h1><form method=\"post\" action=\"/login\"></form>");
    const custom = await webHarness({ templatesDir: dir });
    try {
      const page = await custom.server.inject('/login');
      expect(page.body).toContain('ACME Support login');
      expect(page.body).toContain('<link rel="stylesheet" href="/static/hotline.css">');
    } finally {
      await custom.close();
    }
  });
});
