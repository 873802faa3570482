// The agents' daily work in lynx, driven as a person types (#17: "everything stays usable in w3m and
// lynx, plain forms"): a list sorted and paged by its links, tickets changed in bulk, a reply to a
// chosen mail, a note typed while the session ended, notices marked seen.
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import type { LynxProfile } from '../helpers/lynx.js';
import { LynxKeys, lynxProfile } from '../helpers/lynx.js';
import type { WebHarness } from '../helpers/web.js';
import { webHarness } from '../helpers/web.js';
import type { MailHarness } from '../helpers/mail.js';
import { mailHarness } from '../helpers/mail.js';
import { fetchLogin, loginFormToken, sessionCookie } from '../helpers/login.js';

let w: WebHarness | undefined;
let m: MailHarness | undefined;
let mailServer: FastifyInstance | undefined;
let lynx: LynxProfile | undefined;
afterEach(async () => {
  lynx?.close();
  await mailServer?.close();
  await w?.close();
  await m?.close();
  w = m = mailServer = lynx = undefined;
});

/** Logs in with lynx's form, as typed. */
async function logIn(profile: LynxProfile, base: string, login: string, password: string) {
  const keys = new LynxKeys(await profile.source(`${base}/login`));
  keys.to((a) => a.name === 'login').type(login).to((a) => a.name === 'password').type(password).to((a) => a.label === 'Log in').enter();
  await profile.visit(`${base}/login`, keys);
  expect(await profile.dump(`${base}/queues`)).toContain(`Log out ${login}`);
}

/** The page that gives a form back after a login, as the server makes it for `fields` sent to `action` without a session. */
async function injectCarried(h: WebHarness, action: string, fields: Record<string, string>): Promise<string> {
  const sent = await h.server.inject({ method: 'POST', url: action, headers: { referer: `http://localhost${action}` }, payload: fields });
  const form = /name="form" value="([^"]*)"/.exec(sent.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#39;', "'");
  const token = loginFormToken(sent.body, sent.headers['set-cookie'] as string[]);
  const back = await h.server.inject({ method: 'POST', url: '/login', headers: { cookie: token.cookie }, payload: { login: 'bob', password: 'bob-password', _csrf: token.token, form } });
  return back.body;
}

describe('lynx', () => {
  it('sorts the ticket list by a heading, pages on with Next, and changes the tickets ticked there', async () => {
    w = await webHarness();
    const base = await w.server.listen({ host: '127.0.0.1', port: 0 });
    const insert = w.hotline.db.prepare("INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?)");
    for (let i = 0; i < 60; i++) insert.run(`8${String(i).padStart(6, '0')}`, `Lynx ${i}`, w.queues.support.id, 1 + (i % 5), '2025-01-01T00:00:00.000Z', new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString());
    lynx = lynxProfile();
    await logIn(lynx, base, 'alice', 'alice-password');
    const list = `${base}/tickets?queue=${w.queues.support.id}`;
    // The Priority heading, then Next: the second page of the list by priority, highest first.
    const keys = new LynxKeys(await lynx.source(list)).to((a) => a.label.startsWith('Priority') && a.href.includes('sort=priority')).enter();
    const sorted = `${base}/tickets?queue=${w.queues.support.id}&sort=priority&dir=desc`;
    keys.page(await lynx.source(sorted)).to((a) => a.label.startsWith('Next')).enter();
    const secondUrl = `${base}${(await import('../helpers/lynx.js')).anchorsOf(await lynx.source(sorted)).find((a) => a.label.startsWith('Next'))!.href}`;
    const second = await lynx.source(secondUrl);
    expect(second).toContain('Tickets 51–61 of 61');
    // Tick the first two tickets there, choose "closed", change them.
    const ticked = [...second.matchAll(/name="ttn" value="(\d+)"/g)].slice(0, 2).map((x) => x[1]!);
    keys.page(second).to((a) => a.name === 'ttn' && a.value === ticked[0]).enter().to((a) => a.name === 'ttn' && a.value === ticked[1]).enter();
    keys.to((a) => a.tag === 'select' && a.name === 'state', 1).enter().choose(4).to((a) => a.label === 'Change selected').enter();
    const screen = await lynx.visit(list, keys);
    // Every redirect names the whole address: lynx does not stop to complain about one.
    expect(screen).not.toContain('Location URL is not absolute');
    for (const ttn of ticked) expect((await w.hotline.tickets.findByTtn(ttn))!.state).toBe('closed');
    // Those two were the lowest priorities of the second page.
    expect(ticked.map((t) => Number(t.slice(1)) % 5)).toEqual([0, 0]);
    expect((await w.hotline.db.prepare("SELECT count(*) FROM tickets WHERE state = 'closed'").pluck().get())).toBe(2);
  });

  it('replies to a chosen mail: its Reply link, the quote under what is typed, sent', async () => {
    m = await mailHarness();
    const { agent } = await m.hotline.agents.create({ login: 'alice', name: 'Alice', role: 'agent', password: 'password123' });
    await m.hotline.directory.setAccess(agent.id, m.queues.support.id, 'rw');
    await m.ingest(m.message({ From: 'Carl <carl@customer.example>', To: 'support@hotline.example', Subject: 'Printer on fire' }, 'It smokes.'));
    const [ticket] = await m.hotline.tickets.listAll({});
    mailServer = await buildServer(m.hotline, { mail: m.mail });
    const base = await mailServer.listen({ host: '127.0.0.1', port: 0 });
    lynx = lynxProfile();
    await logIn(lynx, base, 'alice', 'password123');
    const url = `${base}/tickets/${ticket!.ttn}`;
    const keys = new LynxKeys(await lynx.source(url)).to((a) => a.label === 'Reply').enter();
    const article = (await m.hotline.tickets.articles(ticket!.id)).find((a) => a.kind === 'email-in')!;
    keys.page(await lynx.source(`${url}?compose=reply&article=${article.id}`), 'compose').to((a) => a.form.endsWith('/reply') && a.name === 'text' && a.line === 2).type('We are on it.').to((a) => a.label === 'Send reply').enter();
    await lynx.visit(url, keys);
    const sent = (await m.sent()).find((s) => s.mail.text.includes('We are on it.'))!;
    expect(sent.mail.to).toEqual(['carl@customer.example']);
    expect(sent.mail.inReplyTo).toBe(article.messageId);
    expect(sent.mail.text).toMatch(/^Hello Carl,\n\nWe are on it\.\n[\s\S]*wrote:\n> It smokes\./);
  });

  it('works in German: the login page’s link to German, its German labels, a note added from the German ticket page', async () => {
    w = await webHarness();
    await w.hotline.agents.update(w.agents.alice.id, { language: 'de' });
    const base = await w.server.listen({ host: '127.0.0.1', port: 0 });
    lynx = lynxProfile();
    const keys = new LynxKeys(await lynx.source(`${base}/login`)).to((a) => a.label === 'Deutsch').enter();
    const german = await lynx.source(`${base}/login?lang=de`);
    expect(german).toContain('<html lang="de">');
    keys.page(german).to((a) => a.name === 'login').type('alice').to((a) => a.name === 'password').type('alice-password').to((a) => a.label === 'Anmelden').enter();
    await lynx.visit(`${base}/login`, keys);
    const queues = await lynx.dump(`${base}/queues`);
    expect(queues).toContain('Abmelden (alice)');
    expect(queues).toContain('Tickets ohne Besitzer');
    const url = `${base}/tickets/${w.tickets.support.ttn}`;
    const note = new LynxKeys(await lynx.source(url)).to((a) => a.tag === 'textarea' && a.name === 'text' && a.form.endsWith('/notes')).type('Toner getauscht.').to((a) => a.label === 'Notiz hinzufügen').enter();
    const after = await lynx.visit(url, note);
    expect(after).toContain('Notiz hinzugefügt.');
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).map((a) => a.text)).toContain('Toner getauscht.');
  });

  it('keeps a note typed while the session ended: after logging in again it is there, sent with one key', async () => {
    w = await webHarness();
    const url = `/tickets/${w.tickets.support.ttn}`;
    // The session ends just after the ticket page was served (an admin's reset, a logout in another
    // window): the note is typed on a page whose session is gone by the time it is sent.
    let ended = false;
    w.server.addHook('onResponse', async (request) => {
      if (!ended && request.method === 'GET' && request.url === url && request.agent) {
        ended = true;
        await w!.hotline.auth.endSessions(request.agent.id);
      }
    });
    const base = await w.server.listen({ host: '127.0.0.1', port: 0 });
    lynx = lynxProfile();
    await logIn(lynx, base, 'alice', 'alice-password');
    const page = await (await fetch(`${base}/login`)).text().then(async () => {
      // The page as lynx gets it, logged in (a second session, so that lynx's own is the one that ends).
      const cookie = sessionCookie((await fetchLogin(base, 'alice', 'alice-password')).headers.get('set-cookie'));
      return (await fetch(`${base}${url}?done=`, { headers: { cookie } })).text();
    });
    const keys = new LynxKeys(page).to((a) => a.tag === 'textarea' && a.name === 'text').type('Toner replaced.').to((a) => a.label === 'Add note').enter();
    // The login page, carrying the note; logging in gives the page that has it, with its Send button.
    keys.page(await (await fetch(`${base}/login`)).text()).to((a) => a.name === 'login').type('alice').to((a) => a.name === 'password').type('alice-password').to((a) => a.label === 'Log in').enter();
    // What that page looks like, asked for the same way by another client (its links and fields, in order).
    keys.page(await injectCarried(w, `${url}/notes`, { text: 'Toner replaced.' })).to((a) => a.label === 'Send').enter();
    await lynx.visit(`${base}${url}`, keys);
    expect(ended).toBe(true);
    expect((await w.hotline.tickets.articles(w.tickets.support.id)).map((a) => [a.kind, a.text])).toEqual([['email-in', 'It smokes.'], ['note', 'Toner replaced.']]);
  });
});
